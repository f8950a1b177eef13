/* Bump allocator for model-lifetime data (names, attributes, copied weights). */
#include "graph/ir.h"

struct lens_arena_block {
    lens_arena_block *next;
    size_t size, used;
    _Alignas(64) unsigned char data[];
};

void *lens_arena_alloc(lens_arena *a, size_t size) {
    size_t need = (size + 63) & ~(size_t)63;
    if (need < size) return NULL;
    lens_arena_block *b = a->head;
    if (!b || b->size - b->used < need) {
        size_t cap = need > (1u << 16) ? need : (1u << 16);
        size_t total;
        if (lens_add_ovf_size(cap, sizeof(lens_arena_block), &total)) return NULL;
        b = lens_aligned_alloc(total);
        if (!b) return NULL;
        b->size = cap;
        b->used = 0;
        if (need > (1u << 15) && a->head) {
            /* Big request: keep the current block for small ones. */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used_total += need;
    memset(p, 0, size);
    return p;
}

char *lens_arena_strndup(lens_arena *a, const char *s, size_t n) {
    char *d = lens_arena_alloc(a, n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *lens_arena_strdup(lens_arena *a, const char *s) { return lens_arena_strndup(a, s, strlen(s)); }

void lens_arena_free(lens_arena *a) {
    lens_arena_block *b = a->head;
    while (b) {
        lens_arena_block *n = b->next;
        lens_aligned_free(b);
        b = n;
    }
    a->head = NULL;
    a->used_total = 0;
}
