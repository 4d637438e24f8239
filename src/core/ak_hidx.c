/* ak_hidx.c - open-addressing hash index with linear probing. */
#include "ak_hidx.h"

#include "ak_alloc.h"

#include <string.h>

static int alloc_slots(ak_hidx_t *t, size_t cap)
{
    t->h = ak_malloc(sizeof *t->h * cap);
    t->v = ak_malloc(sizeof *t->v * cap);
    if (!t->h || !t->v) {
        ak_free(t->h);
        ak_free(t->v);
        t->h = NULL;
        t->v = NULL;
        return -1;
    }
    memset(t->v, 0xff, sizeof *t->v * cap);
    t->mask = cap - 1;
    t->used = t->live = 0;
    return 0;
}

int ak_hidx_init(ak_hidx_t *t, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2 && cap < ((size_t)1 << 40))
        cap <<= 1;
    return alloc_slots(t, cap);
}

void ak_hidx_free(ak_hidx_t *t)
{
    ak_free(t->h);
    ak_free(t->v);
    memset(t, 0, sizeof *t);
}

static int rehash(ak_hidx_t *t, size_t cap)
{
    ak_hidx_t n;
    if (alloc_slots(&n, cap))
        return -1;
    for (size_t s = 0; t->v && s <= t->mask; s++) {
        if (t->v[s] == AK_HIDX_EMPTY || t->v[s] == AK_HIDX_DEAD)
            continue;
        size_t k = ak_hidx_first(&n, t->h[s]);
        while (n.v[k] != AK_HIDX_EMPTY)
            k = ak_hidx_next(&n, k);
        n.h[k] = t->h[s];
        n.v[k] = t->v[s];
        n.used++;
        n.live++;
    }
    ak_hidx_free(t);
    *t = n;
    return 0;
}

int ak_hidx_insert(ak_hidx_t *t, uint64_t h, uint32_t id)
{
    if (!t->v && ak_hidx_init(t, 8))
        return -1;
    if ((t->used + 1) * 4 > (t->mask + 1) * 3) {
        size_t cap = t->mask + 1;
        if (t->live * 2 >= cap)
            cap *= 2; /* mostly live: grow; mostly dead: rebuild in place */
        if (rehash(t, cap))
            return -1;
    }
    size_t s = ak_hidx_first(t, h);
    while (t->v[s] != AK_HIDX_EMPTY)
        s = ak_hidx_next(t, s);
    t->h[s] = h;
    t->v[s] = id;
    t->used++;
    t->live++;
    return 0;
}

bool ak_hidx_remove(ak_hidx_t *t, uint64_t h, uint32_t id)
{
    for (size_t s = ak_hidx_first(t, h); ak_hidx_more(t, s); s = ak_hidx_next(t, s))
        if (t->h[s] == h && t->v[s] == id) {
            t->v[s] = AK_HIDX_DEAD;
            t->live--;
            return true;
        }
    return false;
}

size_t ak_hidx_bytes(const ak_hidx_t *t)
{
    return t->v ? (t->mask + 1) * (sizeof *t->h + sizeof *t->v) : 0;
}
