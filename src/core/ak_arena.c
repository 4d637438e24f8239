/* ak_arena.c - chunked bump allocator. */
#include "ak_arena.h"

#include "ak_alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct ak_arena_chunk {
    ak_arena_chunk_t *next;
    size_t size; /* bytes in data[] */
    size_t pos;  /* next free byte */
    _Alignas(16) unsigned char data[];
};

void ak_arena_init(ak_arena_t *a, size_t chunk_size)
{
    a->head = NULL;
    a->spare = NULL;
    a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
    a->used = 0;
    a->reserved = 0;
}

void ak_arena_free(ak_arena_t *a)
{
    for (int list = 0; list < 2; list++) {
        ak_arena_chunk_t *c = list ? a->spare : a->head;
        while (c) {
            ak_arena_chunk_t *n = c->next;
            ak_free(c);
            c = n;
        }
    }
    a->head = NULL;
    a->spare = NULL;
    a->used = 0;
    a->reserved = 0;
}

void ak_arena_reset(ak_arena_t *a)
{
    ak_arena_chunk_t *c = a->head;
    while (c) {
        ak_arena_chunk_t *n = c->next;
        if (c->size == a->chunk_size) {
            c->pos = 0;
            c->next = a->spare;
            a->spare = c;
        } else {
            a->reserved -= c->size;
            ak_free(c);
        }
        c = n;
    }
    a->head = NULL;
    a->used = 0;
}

static void *take(ak_arena_t *a, size_t n, size_t align)
{
    ak_arena_chunk_t *c = a->head;
    if (c) {
        size_t p = (c->pos + align - 1) & ~(align - 1);
        if (p <= c->size && n <= c->size - p) {
            c->pos = p + n;
            a->used += n;
            return c->data + p;
        }
    }
    size_t sz = a->chunk_size;
    if (n > sz / 4) {
        /* big request: its own chunk, linked behind the current one so the
         * current chunk's free space stays usable */
        if (n > SIZE_MAX - sizeof(ak_arena_chunk_t))
            return NULL;
        ak_arena_chunk_t *b = ak_malloc(sizeof *b + n);
        if (!b)
            return NULL;
        b->size = n;
        b->pos = n;
        if (c) {
            b->next = c->next;
            c->next = b;
        } else {
            b->next = NULL;
            a->head = b;
        }
        a->used += n;
        a->reserved += n;
        return b->data;
    }
    ak_arena_chunk_t *nc = a->spare;
    if (nc) {
        a->spare = nc->next;
    } else {
        nc = ak_malloc(sizeof *nc + sz);
        if (!nc)
            return NULL;
        nc->size = sz;
        a->reserved += sz;
    }
    nc->pos = n;
    nc->next = c;
    a->head = nc;
    a->used += n;
    return nc->data;
}

void *ak_arena_alloc(ak_arena_t *a, size_t n) { return take(a, n, 8); }
void *ak_arena_alloc_bytes(ak_arena_t *a, size_t n) { return take(a, n, 1); }

void *ak_arena_zalloc(ak_arena_t *a, size_t n)
{
    void *p = take(a, n, 8);
    if (p)
        memset(p, 0, n);
    return p;
}

char *ak_arena_strndup(ak_arena_t *a, const char *s, size_t n)
{
    char *d = take(a, n + 1, 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *ak_arena_strdup(ak_arena_t *a, const char *s)
{
    return ak_arena_strndup(a, s, strlen(s));
}

char *ak_arena_sprintf(ak_arena_t *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *d = n >= 0 ? take(a, (size_t)n + 1, 1) : NULL;
    if (d)
        vsnprintf(d, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return d;
}
