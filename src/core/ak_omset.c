/* ak_omset.c - ordered multiset as a list of sorted buckets.
 *
 * Each bucket holds up to BMAX distinct values in order with their counts,
 * and its total; buckets are ordered too.  A search finds the bucket by
 * binary search over the buckets' first values, then within it.
 */
#include "ak_omset.h"

#include "ak_alloc.h"

#include <string.h>

#define BMAX 256

typedef struct entry {
    ak_val_t v;
    int64_t n;
} entry_t;

typedef struct bucket {
    entry_t *e;
    int n;
    int64_t total;
} bucket_t;

struct ak_omset {
    bucket_t *b;
    size_t nb, cap;
    int64_t total;
    size_t bytes;
};

ak_omset_t *ak_omset_new(void) { return ak_calloc(1, sizeof(ak_omset_t)); }

static void free_val(ak_omset_t *s, ak_val_t *v)
{
    if (v->type == AK_TEXT && v->n) {
        s->bytes -= v->n;
        ak_free((void *)v->s);
    }
}

void ak_omset_free(ak_omset_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nb; i++) {
        for (int k = 0; k < s->b[i].n; k++)
            free_val(s, &s->b[i].e[k].v);
        ak_free(s->b[i].e);
    }
    ak_free(s->b);
    ak_free(s);
}

/* First bucket whose first value is > v, minus one (the bucket v belongs in). */
static size_t find_bucket(const ak_omset_t *s, const ak_val_t *v)
{
    size_t lo = 0, hi = s->nb;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ak_val_cmp(&s->b[mid].e[0].v, v) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

/* Position of the first entry >= v in bucket b. */
static int find_in(const bucket_t *b, const ak_val_t *v, bool *exact)
{
    int lo = 0, hi = b->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (ak_val_cmp(&b->e[mid].v, v) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *exact = lo < b->n && ak_val_cmp(&b->e[lo].v, v) == 0;
    return lo;
}

static int copy_val(ak_omset_t *s, const ak_val_t *v, ak_val_t *out)
{
    *out = *v;
    if (v->type == AK_TEXT && v->n) {
        char *d = ak_memdup(v->s, v->n);
        if (!d)
            return -1;
        out->s = d;
        s->bytes += v->n;
    }
    return 0;
}

static int new_bucket(ak_omset_t *s, size_t at)
{
    if (AK_GROW(s->b, s->cap, s->nb + 1))
        return -1;
    memmove(&s->b[at + 1], &s->b[at], sizeof *s->b * (s->nb - at));
    memset(&s->b[at], 0, sizeof *s->b);
    s->b[at].e = ak_malloc(sizeof(entry_t) * BMAX);
    if (!s->b[at].e) {
        memmove(&s->b[at], &s->b[at + 1], sizeof *s->b * (s->nb - at));
        return -1;
    }
    s->nb++;
    s->bytes += sizeof(entry_t) * BMAX + sizeof(bucket_t);
    return 0;
}

int ak_omset_add(ak_omset_t *s, const ak_val_t *v, int64_t count)
{
    if (v->type == AK_NULL || count == 0)
        return 0;
    if (s->nb == 0) {
        if (count < 0)
            return 1;
        if (new_bucket(s, 0))
            return -1;
    }
    size_t bi = find_bucket(s, v);
    bucket_t *b = &s->b[bi];
    bool exact;
    int pos = find_in(b, v, &exact);
    if (exact) {
        entry_t *e = &b->e[pos];
        int clamped = 0;
        if (e->n + count < 0) {
            count = -e->n;
            clamped = 1;
        }
        e->n += count;
        b->total += count;
        s->total += count;
        if (e->n == 0) {
            free_val(s, &e->v);
            memmove(&b->e[pos], &b->e[pos + 1], sizeof(entry_t) * (size_t)(b->n - pos - 1));
            b->n--;
            if (b->n == 0) {
                ak_free(b->e);
                s->bytes -= sizeof(entry_t) * BMAX + sizeof(bucket_t);
                memmove(&s->b[bi], &s->b[bi + 1], sizeof *s->b * (s->nb - bi - 1));
                s->nb--;
            }
        }
        return clamped;
    }
    if (count < 0)
        return 1;
    if (b->n == BMAX) {
        /* split the full bucket in two halves */
        if (new_bucket(s, bi + 1))
            return -1;
        b = &s->b[bi];
        bucket_t *nb = &s->b[bi + 1];
        int half = BMAX / 2;
        memcpy(nb->e, &b->e[half], sizeof(entry_t) * (size_t)(BMAX - half));
        nb->n = BMAX - half;
        b->n = half;
        nb->total = 0;
        for (int k = 0; k < nb->n; k++)
            nb->total += nb->e[k].n;
        b->total -= nb->total;
        if (pos > half) {
            b = nb;
            pos -= half;
        } else if (pos == half && ak_val_cmp(v, &nb->e[0].v) > 0) {
            b = nb;
            pos = 0;
        }
    }
    ak_val_t cv;
    if (copy_val(s, v, &cv))
        return -1;
    memmove(&b->e[pos + 1], &b->e[pos], sizeof(entry_t) * (size_t)(b->n - pos));
    b->e[pos].v = cv;
    b->e[pos].n = count;
    b->n++;
    b->total += count;
    s->total += count;
    return 0;
}

int64_t ak_omset_total(const ak_omset_t *s) { return s->total; }

bool ak_omset_min(const ak_omset_t *s, ak_val_t *out)
{
    if (!s->nb)
        return false;
    *out = s->b[0].e[0].v;
    return true;
}

bool ak_omset_max(const ak_omset_t *s, ak_val_t *out)
{
    if (!s->nb)
        return false;
    const bucket_t *b = &s->b[s->nb - 1];
    *out = b->e[b->n - 1].v;
    return true;
}

/* Values strictly below the bound, and equal to it. */
static void below_equal(const ak_omset_t *s, const ak_val_t *x, int64_t *below, int64_t *equal)
{
    *below = *equal = 0;
    if (!s->nb)
        return;
    size_t bi = find_bucket(s, x);
    for (size_t i = 0; i < bi; i++)
        *below += s->b[i].total;
    const bucket_t *b = &s->b[bi];
    bool exact;
    int pos = find_in(b, x, &exact);
    for (int k = 0; k < pos; k++)
        *below += b->e[k].n;
    if (exact)
        *equal = b->e[pos].n;
}

int64_t ak_omset_count(const ak_omset_t *s, int op, const ak_val_t *bound)
{
    int64_t lt, eq;
    below_equal(s, bound, &lt, &eq);
    switch (op) {
    case 0: return eq;
    case 1: return s->total - eq;
    case 2: return lt;
    case 3: return lt + eq;
    case 4: return s->total - lt - eq;
    default: return s->total - lt;
    }
}

size_t ak_omset_bytes(const ak_omset_t *s) { return s ? s->bytes + s->cap * sizeof(bucket_t) + sizeof *s : 0; }
