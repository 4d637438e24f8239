/* ak_mset.c - ordered multisets: a flat sorted array, or sorted buckets. */
#include "ak_mset.h"

#include "ak_alloc.h"
#include "ak_delta.h"

#include <string.h>

#define SMALL_MAX 256        /* entries before switching to buckets */
#define BMAX 256             /* entries per bucket (split beyond) */

/* A run of entries: w values then a count each, kept in two arrays. */
typedef struct run {
    ak_val_t *v;
    int64_t *c;
    uint32_t n, cap;
} run_t;

typedef struct blist {
    run_t *b;
    uint32_t nb, cap;
    size_t ents;             /* the buckets' capacities summed: ak_mset_bytes in O(1) */
} blist_t;

static int cmp(const ak_val_t *a, const ak_val_t *b, int w) { return ak_row_cmp(a, b, w); }

/* Position of t in r (found) or where it goes. */
static uint32_t seek(const run_t *r, const ak_val_t *t, int w, int *found)
{
    uint32_t lo = 0, hi = r->n;
    *found = 0;
    if (hi && cmp(r->v + (size_t)(hi - 1) * (size_t)w, t, w) < 0)
        return hi; /* appends are common */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = cmp(r->v + (size_t)mid * (size_t)w, t, w);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int run_reserve(run_t *r, uint32_t need, int w)
{
    if (need <= r->cap)
        return 0;
    uint32_t nc = r->cap ? r->cap * 2 : 2;
    while (nc < need)
        nc *= 2;
    ak_val_t *nv = ak_realloc(r->v, sizeof *nv * nc * (size_t)w);
    if (!nv)
        return -1;
    r->v = nv;
    int64_t *ncnt = ak_realloc(r->c, sizeof *ncnt * nc);
    if (!ncnt)
        return -1;
    r->c = ncnt;
    r->cap = nc;
    return 0;
}

/* Adds to a run; *delta gets the change in distinct tuples (-1, 0, 1). */
static int run_add(run_t *r, const ak_val_t *t, int w, int64_t c, int *delta)
{
    int found;
    uint32_t at = seek(r, t, w, &found);
    *delta = 0;
    if (found) {
        r->c[at] += c;
        if (r->c[at] == 0) {
            memmove(r->v + (size_t)at * (size_t)w, r->v + (size_t)(at + 1) * (size_t)w,
                    sizeof *r->v * (size_t)(r->n - at - 1) * (size_t)w);
            memmove(r->c + at, r->c + at + 1, sizeof *r->c * (r->n - at - 1));
            r->n--;
            *delta = -1;
        }
        return 0;
    }
    if (run_reserve(r, r->n + 1, w))
        return -1;
    memmove(r->v + (size_t)(at + 1) * (size_t)w, r->v + (size_t)at * (size_t)w,
            sizeof *r->v * (size_t)(r->n - at) * (size_t)w);
    memmove(r->c + at + 1, r->c + at, sizeof *r->c * (r->n - at));
    memcpy(r->v + (size_t)at * (size_t)w, t, sizeof *t * (size_t)w);
    r->c[at] = c;
    r->n++;
    *delta = 1;
    return 0;
}

static void run_free(run_t *r)
{
    ak_free(r->v);
    ak_free(r->c);
}

/* The bucket t belongs in: the last whose first tuple is <= t (or 0). */
static uint32_t find_bucket(const blist_t *l, const ak_val_t *t, int w)
{
    uint32_t lo = 0, hi = l->nb;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cmp(l->b[mid].v, t, w) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

/* Small sets: one block, cap tuples of w values, then cap counts. */
static run_t small_view(const ak_mset_t *m, int w)
{
    run_t r = {m->p, m->p ? (int64_t *)((ak_val_t *)m->p + (size_t)m->cap * (size_t)w) : NULL, m->n, m->cap};
    return r;
}

static int small_add(ak_mset_t *m, const ak_val_t *t, int w, int64_t c)
{
    run_t r = small_view(m, w);
    int found;
    uint32_t at = seek(&r, t, w, &found);
    if (found) {
        r.c[at] += c;
        if (r.c[at] == 0) {
            memmove(r.v + (size_t)at * (size_t)w, r.v + (size_t)(at + 1) * (size_t)w,
                    sizeof *r.v * (size_t)(r.n - at - 1) * (size_t)w);
            memmove(r.c + at, r.c + at + 1, sizeof *r.c * (r.n - at - 1));
            m->n--;
        }
        return 0;
    }
    if (m->n == m->cap) {
        uint32_t nc = m->cap ? m->cap * 2 : 2;
        size_t per = sizeof(ak_val_t) * (size_t)w + sizeof(int64_t);
        void *np = ak_realloc(m->p, per * nc);
        if (!np)
            return -1;
        /* the counts move up to their new place */
        memmove((ak_val_t *)np + (size_t)nc * (size_t)w, (ak_val_t *)np + (size_t)m->cap * (size_t)w,
                sizeof(int64_t) * m->n);
        m->p = np;
        m->cap = nc;
        r = small_view(m, w);
    }
    memmove(r.v + (size_t)(at + 1) * (size_t)w, r.v + (size_t)at * (size_t)w,
            sizeof *r.v * (size_t)(r.n - at) * (size_t)w);
    memmove(r.c + at + 1, r.c + at, sizeof *r.c * (r.n - at));
    memcpy(r.v + (size_t)at * (size_t)w, t, sizeof *t * (size_t)w);
    r.c[at] = c;
    m->n++;
    return 0;
}

static void blist_free(blist_t *l)
{
    for (uint32_t i = 0; i < l->nb; i++)
        run_free(&l->b[i]);
    ak_free(l->b);
    ak_free(l);
}

static int to_buckets(ak_mset_t *m, int w)
{
    blist_t *l = ak_calloc(1, sizeof *l);
    if (!l)
        return -1;
    run_t small = small_view(m, w);
    uint32_t n = m->n, nb = (n + BMAX / 2 - 1) / (BMAX / 2);
    l->b = ak_calloc(nb ? nb : 1, sizeof *l->b);
    if (!l->b) {
        ak_free(l);
        return -1;
    }
    l->cap = nb ? nb : 1;
    for (uint32_t i = 0; i < n; i += BMAX / 2) {
        uint32_t k = n - i < BMAX / 2 ? n - i : BMAX / 2;
        run_t *b = &l->b[l->nb++];
        if (run_reserve(b, BMAX, w)) {
            blist_free(l);
            return -1;
        }
        l->ents += b->cap;
        memcpy(b->v, small.v + (size_t)i * (size_t)w, sizeof *b->v * (size_t)k * (size_t)w);
        memcpy(b->c, small.c + i, sizeof *b->c * k);
        b->n = k;
    }
    ak_free(m->p);
    m->p = l;
    m->cap = UINT32_MAX;
    return 0;
}

int ak_mset_add(ak_mset_t *m, const ak_val_t *t, int w, int64_t c)
{
    if (c == 0)
        return 0;
    int delta;
    if (m->cap != UINT32_MAX) {
        if (small_add(m, t, w, c))
            return -1;
        return m->n > SMALL_MAX ? to_buckets(m, w) : 0;
    }
    blist_t *l = m->p;
    uint32_t bi = find_bucket(l, t, w);
    run_t *b = &l->b[bi];
    uint32_t had = b->cap;
    int rc = run_add(b, t, w, c, &delta);
    l->ents += b->cap - had;
    if (rc)
        return -1;
    m->n = (uint32_t)((int64_t)m->n + delta);
    if (b->n == 0 && l->nb > 1) {
        l->ents -= b->cap;
        run_free(b);
        memmove(&l->b[bi], &l->b[bi + 1], sizeof *l->b * (l->nb - bi - 1));
        l->nb--;
    } else if (b->n >= BMAX) {
        /* split in two halves */
        if (l->nb == l->cap) {
            uint32_t nc = l->cap * 2;
            run_t *nbk = ak_realloc(l->b, sizeof *nbk * nc);
            if (!nbk)
                return -1;
            l->b = nbk;
            l->cap = nc;
            b = &l->b[bi];
        }
        run_t nr = {0};
        uint32_t half = b->n / 2;
        if (run_reserve(&nr, BMAX, w))
            return -1;
        l->ents += nr.cap;
        memcpy(nr.v, b->v + (size_t)half * (size_t)w, sizeof *nr.v * (size_t)(b->n - half) * (size_t)w);
        memcpy(nr.c, b->c + half, sizeof *nr.c * (b->n - half));
        nr.n = b->n - half;
        b->n = half;
        memmove(&l->b[bi + 2], &l->b[bi + 1], sizeof *l->b * (l->nb - bi - 1));
        l->b[bi + 1] = nr;
        l->nb++;
    }
    return 0;
}

void ak_mset_free(ak_mset_t *m)
{
    if (!m->p)
        return;
    if (m->cap == UINT32_MAX)
        blist_free(m->p);
    else
        ak_free(m->p);
    memset(m, 0, sizeof *m);
}

const ak_val_t *ak_mset_first(const ak_mset_t *m, int w)
{
    (void)w;
    if (!m->n)
        return NULL;
    if (m->cap == UINT32_MAX)
        return ((blist_t *)m->p)->b[0].v;
    return m->p;
}

const ak_val_t *ak_mset_last(const ak_mset_t *m, int w)
{
    if (!m->n)
        return NULL;
    if (m->cap == UINT32_MAX) {
        const blist_t *l = m->p;
        const run_t *r = &l->b[l->nb - 1];
        return r->v + (size_t)(r->n - 1) * (size_t)w;
    }
    return (const ak_val_t *)m->p + (size_t)(m->n - 1) * (size_t)w;
}

int ak_mset_each(const ak_mset_t *m, int w, const ak_val_t *from, ak_mset_fn fn, void *ctx)
{
    if (!m->n)
        return 0;
    const run_t *runs;
    uint32_t nr, bi = 0;
    run_t small;
    if (m->cap == UINT32_MAX) {
        const blist_t *l = m->p;
        runs = l->b;
        nr = l->nb;
        if (from)
            bi = find_bucket(l, from, w);
    } else {
        small = small_view(m, w);
        runs = &small;
        nr = 1;
    }
    for (; bi < nr; bi++) {
        const run_t *r = &runs[bi];
        uint32_t i = 0;
        if (from) {
            int found;
            i = seek(r, from, w, &found);
            from = NULL;
        }
        for (; i < r->n; i++) {
            int rc = fn(ctx, r->v + (size_t)i * (size_t)w, r->c[i]);
            if (rc)
                return rc;
        }
    }
    return 0;
}

size_t ak_mset_bytes(const ak_mset_t *m, int w)
{
    if (!m->p)
        return 0;
    size_t per = sizeof(ak_val_t) * (size_t)w + sizeof(int64_t);
    if (m->cap == UINT32_MAX) {
        const blist_t *l = m->p;
        return sizeof *l + sizeof(run_t) * l->cap + per * l->ents;
    }
    return per * m->cap;
}

typedef struct count_ctx {
    const ak_val_t *t;
    int w;
    int64_t c;
} count_ctx_t;

static int count_first(void *ctx, const ak_val_t *t, int64_t c)
{
    count_ctx_t *x = ctx;
    if (ak_row_cmp(t, x->t, x->w) == 0)
        x->c = c;
    return 1;
}

int64_t ak_mset_count(const ak_mset_t *m, int w, const ak_val_t *t)
{
    count_ctx_t x = {t, w, 0};
    ak_mset_each(m, w, t, count_first, &x);
    return x.c;
}
