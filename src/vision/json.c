/* JSON for the vision pipeline: a bounded DOM parser (labels in metadata,
 * expected.json of `lens verify`) and a string buffer for writing results.
 * RFC 8259, strict: no comments, no trailing commas, no NaN. Everything
 * read is hostile: depth, length and item counts are bounded and every
 * error names the text and the byte offset. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vision/vision_internal.h"

typedef struct jparser {
    const char *s;
    size_t pos, len;
    const char *what;
} jparser;

static lens_status jerr(jparser *p, const char *msg) {
    return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: invalid JSON at byte %zu: %s", p->what, p->pos, msg);
}

static void skip_ws(jparser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool read_hex4(jparser *p, uint32_t *out) {
    if (p->len - p->pos < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[p->pos + i]);
        if (h < 0) return false;
        v = v * 16 + (uint32_t)h;
    }
    p->pos += 4;
    *out = v;
    return true;
}

static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At the opening quote. The decoded string is never longer than the raw one
 * (every escape is at least as long as what it produces). */
static lens_status parse_string(jparser *p, char **out) {
    p->pos++;
    size_t start = p->pos, end = start;
    while (end < p->len && p->s[end] != '"') end += (p->s[end] == '\\') ? 2 : 1;
    if (end >= p->len) return jerr(p, "unterminated string");
    char *o = lens_malloc(end - start + 1);
    if (!o) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory", p->what);
    size_t n = 0;
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20) {
            lens_free(o);
            return jerr(p, "control character in a string");
        }
        if (c != '\\') {
            o[n++] = (char)c;
            p->pos++;
            continue;
        }
        p->pos++;
        char e = p->s[p->pos++];
        switch (e) {
        case '"': o[n++] = '"'; break;
        case '\\': o[n++] = '\\'; break;
        case '/': o[n++] = '/'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (!read_hex4(p, &cp)) {
                lens_free(o);
                return jerr(p, "bad \\u escape");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (p->pos + 2 > end || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                    lens_free(o);
                    return jerr(p, "unpaired surrogate");
                }
                p->pos += 2;
                if (!read_hex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                    lens_free(o);
                    return jerr(p, "unpaired surrogate");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                lens_free(o);
                return jerr(p, "unpaired surrogate");
            }
            if (cp == 0) {
                lens_free(o);
                return jerr(p, "NUL character in a string");
            }
            n += put_utf8(o + n, cp);
            break;
        }
        default:
            lens_free(o);
            p->pos--;
            return jerr(p, "unknown escape");
        }
    }
    p->pos = end + 1;
    o[n] = '\0';
    *out = o;
    return LENS_OK;
}

static lens_status parse_number(jparser *p, double *out) {
    size_t i = p->pos;
    if (i < p->len && p->s[i] == '-') i++;
    if (i >= p->len || p->s[i] < '0' || p->s[i] > '9') return jerr(p, "expected a value");
    if (p->s[i] == '0') i++;
    else
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') i++;
    if (i < p->len && p->s[i] == '.') {
        i++;
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9') return jerr(p, "bad number");
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9') return jerr(p, "bad number");
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') i++;
    }
    char buf[64];
    size_t n = i - p->pos;
    if (n >= sizeof buf) return jerr(p, "number too long");
    memcpy(buf, p->s + p->pos, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    if (!isfinite(*out)) return jerr(p, "number out of range");
    p->pos = i;
    return LENS_OK;
}

static lens_status parse_value(jparser *p, vjson *v, int depth);

/* Append a value to a growing items array (and a key for objects). */
static lens_status push_item(jparser *p, vjson *v, size_t *cap, char *key) {
    if (v->count == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        vjson *ni = lens_realloc(v->items, nc * sizeof *ni);
        if (!ni) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory", p->what);
        v->items = ni;
        if (v->type == VJSON_OBJECT) {
            char **nk = lens_realloc(v->keys, nc * sizeof *nk);
            if (!nk) return lens_error(LENS_STATUS_OUT_OF_MEMORY, "%s: out of memory", p->what);
            v->keys = nk;
        }
        *cap = nc;
    }
    memset(&v->items[v->count], 0, sizeof v->items[0]);
    if (v->type == VJSON_OBJECT) v->keys[v->count] = key;
    v->count++;
    return LENS_OK;
}

static lens_status parse_container(jparser *p, vjson *v, int depth) {
    bool obj = p->s[p->pos] == '{';
    char close = obj ? '}' : ']';
    v->type = obj ? VJSON_OBJECT : VJSON_ARRAY;
    if (depth >= VJSON_MAX_DEPTH) return jerr(p, "nested too deeply");
    p->pos++;
    size_t cap = 0;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return LENS_OK;
    }
    for (;;) {
        skip_ws(p);
        char *key = NULL;
        if (obj) {
            if (p->pos >= p->len || p->s[p->pos] != '"') return jerr(p, "expected a key string");
            LENS_TRY(parse_string(p, &key));
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                lens_free(key);
                return jerr(p, "expected ':'");
            }
            p->pos++;
        }
        lens_status st = push_item(p, v, &cap, key);
        if (st != LENS_OK) {
            lens_free(key);
            return st;
        }
        LENS_TRY(parse_value(p, &v->items[v->count - 1], depth + 1));
        skip_ws(p);
        if (p->pos >= p->len) return jerr(p, obj ? "unterminated object" : "unterminated array");
        char c = p->s[p->pos++];
        if (c == close) return LENS_OK;
        if (c != ',') {
            p->pos--;
            return jerr(p, "expected ',' or a closing bracket");
        }
    }
}

static bool match_word(jparser *p, const char *w) {
    size_t n = strlen(w);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0) return false;
    p->pos += n;
    return true;
}

static lens_status parse_value(jparser *p, vjson *v, int depth) {
    skip_ws(p);
    if (p->pos >= p->len) return jerr(p, "unexpected end");
    char c = p->s[p->pos];
    if (c == '{' || c == '[') return parse_container(p, v, depth);
    if (c == '"') {
        v->type = VJSON_STRING;
        return parse_string(p, &v->string);
    }
    if (match_word(p, "true")) {
        v->type = VJSON_BOOL;
        v->boolean = true;
        return LENS_OK;
    }
    if (match_word(p, "false")) {
        v->type = VJSON_BOOL;
        return LENS_OK;
    }
    if (match_word(p, "null")) {
        v->type = VJSON_NULL;
        return LENS_OK;
    }
    v->type = VJSON_NUMBER;
    return parse_number(p, &v->number);
}

lens_status vjson_parse(const char *text, size_t len, const char *what, vjson *out) {
    memset(out, 0, sizeof *out);
    if (!text) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: no text", what);
    if (len > VJSON_MAX_BYTES)
        return lens_error(LENS_STATUS_LIMIT_EXCEEDED, "%s: JSON of %zu bytes is over the limit of %u", what, len,
                          VJSON_MAX_BYTES);
    if (memchr(text, '\0', len)) return lens_error(LENS_STATUS_INVALID_ARGUMENT, "%s: NUL byte in JSON", what);
    jparser p = {text, 0, len, what};
    lens_status st = parse_value(&p, out, 0);
    if (st == LENS_OK) {
        skip_ws(&p);
        if (p.pos != p.len) st = jerr(&p, "text after the value");
    }
    if (st != LENS_OK) vjson_free(out);
    return st;
}

void vjson_free(vjson *v) {
    if (!v) return;
    for (size_t i = 0; i < v->count; i++) {
        vjson_free(&v->items[i]);
        if (v->keys) lens_free(v->keys[i]);
    }
    lens_free(v->items);
    lens_free(v->keys);
    lens_free(v->string);
    memset(v, 0, sizeof *v);
}

const vjson *vjson_get(const vjson *obj, const char *key) {
    if (!obj || obj->type != VJSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (obj->keys[i] && !strcmp(obj->keys[i], key)) return &obj->items[i];
    return NULL;
}

/* ---- writing ---------------------------------------------------------------- */

static bool vbuf_reserve(vbuf *b, size_t extra) {
    if (b->failed) return false;
    size_t need;
    if (lens_add_ovf_size(b->len, extra + 1, &need)) {
        b->failed = true;
        return false;
    }
    if (need <= b->cap) return true;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < need) nc *= 2;
    char *nd = lens_realloc(b->data, nc);
    if (!nd) {
        b->failed = true;
        return false;
    }
    b->data = nd;
    b->cap = nc;
    return true;
}

void vbuf_put(vbuf *b, const char *s) {
    size_t n = strlen(s);
    if (!vbuf_reserve(b, n)) return;
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
}

void vbuf_printf(vbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof tmp) {
        vbuf_put(b, tmp);
        return;
    }
    if (!vbuf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void vbuf_json_string(vbuf *b, const char *s) {
    vbuf_put(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char tmp[8];
        switch (*p) {
        case '"': vbuf_put(b, "\\\""); break;
        case '\\': vbuf_put(b, "\\\\"); break;
        case '\n': vbuf_put(b, "\\n"); break;
        case '\r': vbuf_put(b, "\\r"); break;
        case '\t': vbuf_put(b, "\\t"); break;
        default:
            if (*p < 0x20) {
                snprintf(tmp, sizeof tmp, "\\u%04x", *p);
            } else {
                tmp[0] = (char)*p;
                tmp[1] = '\0';
            }
            vbuf_put(b, tmp);
        }
    }
    vbuf_put(b, "\"");
}

void vbuf_json_number(vbuf *b, double v) {
    if (!isfinite(v)) vbuf_put(b, "null");
    else vbuf_printf(b, "%.7g", v);
}

lens_status vbuf_finish(vbuf *b, char **out) {
    *out = NULL;
    if (b->failed || !vbuf_reserve(b, 0)) {
        lens_free(b->data);
        memset(b, 0, sizeof *b);
        return lens_error(LENS_STATUS_OUT_OF_MEMORY, "out of memory writing JSON");
    }
    b->data[b->len] = '\0';
    *out = b->data;
    memset(b, 0, sizeof *b);
    return LENS_OK;
}
