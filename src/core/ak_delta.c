/* ak_delta.c - weighted row batches. */
#include "ak_delta.h"

#include "ak_alloc.h"

#include <string.h>

void ak_delta_init(ak_delta_t *d, int ncols)
{
    memset(d, 0, sizeof *d);
    d->ncols = ncols;
    d->consolidated = true;
}

void ak_delta_free(ak_delta_t *d)
{
    ak_free(d->v);
    ak_free(d->w);
    d->v = NULL;
    d->w = NULL;
    d->n = d->cap = 0;
}

static int reserve(ak_delta_t *d, size_t n)
{
    if (n <= d->cap)
        return 0;
    size_t nc = d->cap ? d->cap : 64;
    while (nc < n)
        nc *= 2;
    size_t w = (size_t)(d->ncols ? d->ncols : 1);
    ak_val_t *nv = ak_realloc(d->v, sizeof *nv * w * nc);
    if (!nv)
        return -1;
    d->v = nv;
    int64_t *nw = ak_realloc(d->w, sizeof *nw * nc);
    if (!nw)
        return -1;
    d->w = nw;
    d->cap = nc;
    return 0;
}

ak_val_t *ak_delta_push(ak_delta_t *d, int64_t w)
{
    if (d->n == d->cap && reserve(d, d->n + 1))
        return NULL;
    d->w[d->n] = w;
    d->consolidated = false;
    return d->v + d->n++ * (size_t)d->ncols;
}

int ak_delta_add(ak_delta_t *d, const ak_val_t *row, int64_t w)
{
    ak_val_t *o = ak_delta_push(d, w);
    if (!o)
        return -1;
    memcpy(o, row, sizeof *o * (size_t)d->ncols);
    return 0;
}

int ak_delta_append(ak_delta_t *d, const ak_delta_t *src, int64_t sign)
{
    if (!src->n)
        return 0;
    if (reserve(d, d->n + src->n))
        return -1;
    memcpy(d->v + d->n * (size_t)d->ncols, src->v, sizeof *d->v * src->n * (size_t)d->ncols);
    for (size_t i = 0; i < src->n; i++)
        d->w[d->n + i] = src->w[i] * sign;
    d->n += src->n;
    d->consolidated = false;
    return 0;
}

uint64_t ak_row_hash(const ak_val_t *row, int ncols)
{
    uint64_t h = 0x6a09e667f3bcc909ULL;
    for (int i = 0; i < ncols; i++)
        h = ak_hash_mix(h, ak_val_hash(&row[i], 0x5be0cd19));
    return h;
}

bool ak_row_eq(const ak_val_t *a, const ak_val_t *b, int ncols)
{
    for (int i = 0; i < ncols; i++)
        if (!ak_val_eq_group(&a[i], &b[i]))
            return false;
    return true;
}

int ak_val_total_cmp(const ak_val_t *a, const ak_val_t *b)
{
    bool na = a->type == AK_NULL, nb = b->type == AK_NULL;
    if (na || nb)
        return na == nb ? 0 : (na ? 1 : -1);
    bool comparable = a->type == b->type || (ak_type_is_numeric(a->type) && ak_type_is_numeric(b->type)) ||
                      (ak_type_is_temporal(a->type) && ak_type_is_temporal(b->type));
    if (!comparable)
        return a->type < b->type ? -1 : 1;
    return ak_val_cmp(a, b);
}

int ak_row_cmp(const ak_val_t *a, const ak_val_t *b, int ncols)
{
    for (int i = 0; i < ncols; i++) {
        int c = ak_val_total_cmp(&a[i], &b[i]);
        if (c)
            return c;
    }
    return 0;
}

int ak_delta_consolidate(ak_delta_t *d)
{
    if (d->consolidated)
        return 0;
    int nc = d->ncols;
    if (d->n < 2) {
        if (d->n == 1 && d->w[0] == 0)
            d->n = 0;
        d->consolidated = true;
        return 0;
    }
    ak_hidx_t h;
    if (ak_hidx_init(&h, d->n))
        return -1;
    size_t out = 0;
    for (size_t i = 0; i < d->n; i++) {
        ak_val_t *row = ak_delta_row(d, i);
        uint64_t hv = ak_row_hash(row, nc);
        size_t found = SIZE_MAX;
        for (size_t s = ak_hidx_first(&h, hv); ak_hidx_more(&h, s); s = ak_hidx_next(&h, s))
            if (h.h[s] == hv && ak_row_eq(ak_delta_row(d, h.v[s]), row, nc)) {
                found = h.v[s];
                break;
            }
        if (found != SIZE_MAX) {
            d->w[found] += d->w[i];
            continue;
        }
        if (out != i) {
            memcpy(ak_delta_row(d, out), row, sizeof *row * (size_t)nc);
            d->w[out] = d->w[i];
        }
        if (ak_hidx_insert(&h, hv, (uint32_t)out)) {
            ak_hidx_free(&h);
            return -1;
        }
        out++;
    }
    ak_hidx_free(&h);
    size_t w = 0;
    for (size_t i = 0; i < out; i++) {
        if (!d->w[i])
            continue;
        if (w != i) {
            memcpy(ak_delta_row(d, w), ak_delta_row(d, i), sizeof(ak_val_t) * (size_t)nc);
            d->w[w] = d->w[i];
        }
        w++;
    }
    d->n = w;
    d->consolidated = true;
    return 0;
}

size_t ak_delta_bytes(const ak_delta_t *d)
{
    return d->cap * ((size_t)(d->ncols ? d->ncols : 1) * sizeof(ak_val_t) + sizeof(int64_t));
}
