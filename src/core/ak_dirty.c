/* ak_dirty.c - change tracking for incremental checkpoints. */
#include "ak_dirty.h"

#include "ak_alloc.h"

#include <string.h>

void ak_dirty_free(ak_dirty_t *d)
{
    ak_free(d->bits);
    ak_free(d->ids);
    ak_buf_free(&d->dropped);
    memset(d, 0, sizeof *d);
}

void ak_dirty_mark(ak_dirty_t *d, uint32_t id)
{
    if (!d->track)
        return;
    size_t w = id / 64;
    if (w >= d->cap_bits) {
        size_t nc = d->cap_bits ? d->cap_bits : 16;
        while (nc <= w)
            nc *= 2;
        uint64_t *nb = ak_realloc(d->bits, nc * sizeof *nb);
        if (!nb) {
            d->lost = true;
            return;
        }
        memset(nb + d->cap_bits, 0, (nc - d->cap_bits) * sizeof *nb);
        d->bits = nb;
        d->cap_bits = nc;
    }
    uint64_t bit = UINT64_C(1) << (id % 64);
    if (d->bits[w] & bit)
        return;
    if (AK_GROW(d->ids, d->cap, d->n + 1)) {
        d->lost = true;
        return;
    }
    d->bits[w] |= bit;
    d->ids[d->n++] = id;
}

void ak_dirty_drop(ak_dirty_t *d, uint32_t id, const void *key, size_t kn)
{
    if (!d->track)
        return;
    ak_buf_put_uvarint(&d->dropped, kn);
    ak_buf_put(&d->dropped, key, kn);
    d->lost |= d->dropped.oom;
    if (id / 64 < d->cap_bits)
        d->bits[id / 64] &= ~(UINT64_C(1) << (id % 64));
}

int ak_dirty_each(ak_dirty_t *d, int (*fn)(void *ctx, uint32_t id), void *ctx)
{
    /* visiting clears a slot's bit, so a second listing is skipped; the
     * list is compacted to the slots visited and their bits set again */
    int rc = 0;
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        uint32_t id = d->ids[i];
        if (!ak_dirty_has(d, id))
            continue;
        d->bits[id / 64] &= ~(UINT64_C(1) << (id % 64));
        d->ids[k++] = id;
        if (rc == 0)
            rc = fn(ctx, id);
    }
    d->n = k;
    for (size_t i = 0; i < k; i++)
        d->bits[d->ids[i] / 64] |= UINT64_C(1) << (d->ids[i] % 64);
    return rc;
}

int ak_dirty_each_dropped(const ak_dirty_t *d, int (*fn)(void *ctx, const uint8_t *key, size_t kn), void *ctx)
{
    const uint8_t *p = (const uint8_t *)d->dropped.data, *end = p + d->dropped.len;
    while (p < end) {
        uint64_t n = 0;
        size_t used = ak_get_uvarint(p, (size_t)(end - p), &n);
        if (!used || n > (uint64_t)(end - p - used))
            return -1;
        int rc = fn(ctx, p + used, (size_t)n);
        if (rc)
            return rc;
        p += used + n;
    }
    return 0;
}

void ak_dirty_saved(ak_dirty_t *d)
{
    for (size_t i = 0; i < d->n; i++)
        d->bits[d->ids[i] / 64] &= ~(UINT64_C(1) << (d->ids[i] % 64));
    d->n = 0;
    ak_buf_clear(&d->dropped);
    d->dropped.oom = false;
    d->lost = false;
}
