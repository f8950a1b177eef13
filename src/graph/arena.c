/* Bump allocator for model-lifetime data (names, attributes, small
 * tensors), plus releasable pieces for large tensor copies that the model
 * may free after load (see LENS_ARENA_PIECE_MIN in graph/ir.h). */
#include "graph/ir.h"

/* Header of a releasable piece; the data follows at the next 64 bytes. */
struct lens_arena_piece {
    lens_arena_piece *prev, *next;
    size_t size;
    _Alignas(64) unsigned char data[];
};

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

void *lens_arena_alloc_releasable(lens_arena *a, size_t size) {
    size_t total;
    if (lens_add_ovf_size(size ? size : 1, sizeof(lens_arena_piece), &total)) return NULL;
    lens_arena_piece *p = lens_aligned_alloc(total);
    if (!p) return NULL;
    p->size = size;
    p->prev = NULL;
    p->next = a->pieces;
    if (a->pieces) a->pieces->prev = p;
    a->pieces = p;
    a->n_pieces++;
    a->piece_bytes += size;
    return p->data;
}

void lens_arena_list_pieces(const lens_arena *a, void **out) {
    size_t i = 0;
    for (lens_arena_piece *q = a->pieces; q; q = q->next) out[i++] = q->data;
}

bool lens_arena_is_piece(const lens_arena *a, const void *p) {
    for (lens_arena_piece *q = a->pieces; q; q = q->next)
        if ((const void *)q->data == p) return true;
    return false;
}

void lens_arena_release(lens_arena *a, void *p) {
    lens_arena_piece *q = (lens_arena_piece *)(void *)((unsigned char *)p - offsetof(lens_arena_piece, data));
    if (q->prev) q->prev->next = q->next;
    else a->pieces = q->next;
    if (q->next) q->next->prev = q->prev;
    a->n_pieces--;
    a->piece_bytes -= q->size;
    lens_aligned_free(q);
}

void lens_arena_free(lens_arena *a) {
    lens_arena_block *b = a->head;
    while (b) {
        lens_arena_block *n = b->next;
        lens_aligned_free(b);
        b = n;
    }
    lens_arena_piece *q = a->pieces;
    while (q) {
        lens_arena_piece *n = q->next;
        lens_aligned_free(q);
        q = n;
    }
    a->head = NULL;
    a->used_total = 0;
    a->pieces = NULL;
    a->n_pieces = 0;
    a->piece_bytes = 0;
}
