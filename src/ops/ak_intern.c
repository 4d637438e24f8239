/* ak_intern.c - the flow's string pool. */
#include "ak_intern.h"

#include "ak_alloc.h"

#include <string.h>

void ak_intern_init(ak_intern_t *p)
{
    memset(p, 0, sizeof *p);
    ak_arena_init(&p->arena, 64 * 1024);
}

void ak_intern_free(ak_intern_t *p)
{
    ak_arena_free(&p->arena);
    ak_hidx_free(&p->idx);
    ak_free(p->strs);
    memset(p, 0, sizeof *p);
}

int ak_intern(ak_intern_t *p, ak_val_t *v)
{
    if (v->type != AK_TEXT)
        return 0;
    if (v->n == 0) {
        v->s = "";
        return 0;
    }
    uint64_t h = ak_hash_bytes(v->s, v->n, 0x1f83d9ab);
    for (size_t s = ak_hidx_first(&p->idx, h); ak_hidx_more(&p->idx, s); s = ak_hidx_next(&p->idx, s)) {
        if (p->idx.h[s] != h)
            continue;
        const ak_val_t *c = &p->strs[p->idx.v[s]];
        if (c->n == v->n && memcmp(c->s, v->s, v->n) == 0) {
            v->s = c->s;
            return 0;
        }
    }
    char *d = ak_arena_strndup(&p->arena, v->s, v->n);
    if (!d || AK_GROW(p->strs, p->cap, p->n + 1) || ak_hidx_insert(&p->idx, h, (uint32_t)p->n))
        return -1;
    v->s = d;
    p->strs[p->n++] = *v;
    return 0;
}

size_t ak_intern_bytes(const ak_intern_t *p)
{
    return p->arena.reserved + ak_hidx_bytes(&p->idx) + p->cap * sizeof(ak_val_t);
}
