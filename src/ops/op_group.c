/* op_group.c - GROUP BY with aggregates that stay exact under retraction.
 *
 * Each group keeps, per aggregate, what its value can be rebuilt from
 * when rows leave as well as arrive:
 *   COUNT            a count;
 *   SUM, AVG         a count and an exact 128-bit integer sum, or a
 *                    compensated floating sum;
 *   MIN, MAX,        the multiset of the argument's values (sorted, with
 *   COUNT/SUM/AVG    counts), so deleting the current minimum finds the next
 *   (DISTINCT),      one and a distinct count is the number of entries;
 *   BOOL_AND/OR
 *   anything else    the multiset of argument tuples, folded again by the
 *                    batch engine's own aggregate code when the group changes.
 * Calls with the same argument and filter share one multiset.  Final values
 * go through the batch engine's ak_agg_final, so they are the same numbers.
 * A changed group retracts its old output row and emits the new one; rows
 * that did not change cancel out.
 */
#include "ak_op.h"

#include "ak_mset.h"

#include "ak_alloc.h"
#include "ak_dirty.h"
#include "ak_ser.h"

#include <math.h>
#include <string.h>

enum { S_COUNT, S_ISUM, S_DSUM, S_MSET };

typedef struct slot {
    int kind;
    const ak_aggcall_t *call;    /* the first call using it (args, filter) */
    int width;                   /* S_MSET: values per tuple */
    bool nulls;                  /* S_MSET: keep tuples whose first value is NULL */
    size_t off;                  /* offset in a group's state block */
} slot_t;

typedef struct isum {
    int64_t count;
    __int128 sum;
} isum_t;

typedef struct dsum {
    int64_t count;
    double sum, comp;
} dsum_t;

typedef enum fin { F_COUNT, F_SUM, F_MIN, F_MAX, F_DCOUNT, F_FOLD } fin_t;

typedef struct aggmap {
    int slot;
    fin_t fin;
} aggmap_t;

typedef struct group {
    uint32_t key;                /* offset of the key in keys[] */
    int64_t rows;
    uint32_t step;               /* last step that touched it */
    uint32_t old;                /* index of its old output in the step's list */
} group_t;

typedef struct grp {
    ak_op_t op;
    int ng, na;
    slot_t *slots;
    int nslots;
    aggmap_t *map;
    size_t block;                /* bytes of state per group */
    ak_hidx_t idx;
    group_t *g;
    ak_val_t *keys;              /* ng per group */
    uint8_t *state;              /* block per group */
    uint32_t n, cap;
    uint32_t *free;
    uint32_t nfree;
    size_t cap_free;
    size_t live;
    size_t mset_bytes;           /* every group's multisets, kept as they change */
    uint32_t stepno;
    /* per step: touched groups with their old output (or none) */
    uint32_t *touched;
    ak_val_t *olds;              /* ncols per touched group */
    bool *had_old;
    size_t ntouched, cap_touched;
    ak_val_t *key, *args, *newrow;
    bool scalar_done;
    /* checkpoints: what changed since the last one (once tracking) */
    ak_dirty_t dirty;            /* groups */
    ak_buf_t mlog;               /* uvar length + key, slot, tuple, per multiset change */
    /* restore: a group's records come together, so the last group's key
     * bytes find it again without interning and hashing (once per record) */
    ak_buf_t load_key;
    uint32_t load_g;
} grp_t;

/* ---- groups ---- */

static uint8_t *gstate(grp_t *s, uint32_t g) { return s->state + (size_t)g * s->block; }
static ak_val_t *gkey(grp_t *s, uint32_t g) { return s->keys + (size_t)g * (size_t)(s->ng ? s->ng : 1); }

static void group_release(grp_t *s, uint32_t g)
{
    if (g == s->load_g)
        s->load_g = UINT32_MAX;
    uint8_t *st = gstate(s, g);
    for (int i = 0; i < s->nslots; i++)
        if (s->slots[i].kind == S_MSET) {
            ak_mset_t *m = (ak_mset_t *)(st + s->slots[i].off);
            s->mset_bytes -= ak_mset_bytes(m, s->slots[i].width);
            ak_mset_free(m);
        }
}

static uint32_t find_group(grp_t *s, const ak_val_t *key, uint64_t h)
{
    for (size_t k = ak_hidx_first(&s->idx, h); ak_hidx_more(&s->idx, k); k = ak_hidx_next(&s->idx, k)) {
        if (s->idx.h[k] != h || s->idx.v[k] == AK_HIDX_DEAD)
            continue;
        uint32_t g = s->idx.v[k];
        if (ak_row_eq(gkey(s, g), key, s->ng))
            return g;
    }
    return UINT32_MAX;
}

static uint32_t new_group(grp_t *s, const ak_val_t *key, uint64_t h)
{
    uint32_t g;
    if (s->nfree) {
        g = s->free[--s->nfree];
    } else {
        if (s->n == s->cap) {
            uint32_t nc = s->cap ? s->cap * 2 : 256;
            group_t *ng = ak_realloc(s->g, sizeof *ng * nc);
            if (!ng)
                return UINT32_MAX;
            s->g = ng;
            ak_val_t *nk = ak_realloc(s->keys, sizeof *nk * nc * (size_t)(s->ng ? s->ng : 1));
            if (!nk)
                return UINT32_MAX;
            s->keys = nk;
            uint8_t *nst = ak_realloc(s->state, s->block * nc);
            if (!nst)
                return UINT32_MAX;
            s->state = nst;
            s->cap = nc;
        }
        g = s->n++;
    }
    if (ak_hidx_insert(&s->idx, h, g))
        return UINT32_MAX;
    memset(&s->g[g], 0, sizeof s->g[g]);
    s->g[g].step = UINT32_MAX;
    if (s->ng)
        memcpy(gkey(s, g), key, sizeof *key * (size_t)s->ng);
    memset(gstate(s, g), 0, s->block);
    s->live++;
    return g;
}

static void note_dropped(grp_t *s, uint32_t g);

static void drop_group(grp_t *s, uint32_t g, uint64_t h)
{
    note_dropped(s, g);
    group_release(s, g);
    ak_hidx_remove(&s->idx, h, g);
    s->live--;
    if (!AK_GROW(s->free, s->cap_free, s->nfree + 1))
        s->free[s->nfree++] = g;
}

/* ---- final values ---- */

typedef struct fold_ctx {
    const ak_aggcall_t *c;
    ak_aggstate_t st;
    ak_eval_t *cx;
} fold_ctx_t;

static int fold_one(void *ctx, const ak_val_t *t, int64_t n)
{
    fold_ctx_t *f = ctx;
    for (int64_t r = 0; r < (f->c->distinct ? 1 : n); r++)
        if (ak_agg_step(f->c, &f->st, t, f->cx))
            return -1;
    return 0;
}

/* Folds the group's tuples in order with the batch engine's aggregate. */
static int fold(ak_opcx_t *cx, const ak_aggcall_t *c, const ak_mset_t *m, int w, ak_val_t *out)
{
    fold_ctx_t f = {c, {0}, &cx->x.cx};
    ak_agg_init(c, &f.st);
    int rc = ak_mset_each(m, w, NULL, fold_one, &f);
    if (rc == 0)
        rc = ak_agg_final(c, &f.st, &cx->x.cx, out);
    ak_agg_release(&f.st);
    if (rc == 0 && out->type == AK_TEXT && ak_intern(cx->strs, out))
        rc = ak_err_nomem(cx->err);
    return rc ? -1 : 0;
}

/* The output row of group g (keys, then aggregates). */
static int output(grp_t *s, ak_opcx_t *cx, uint32_t g, ak_val_t *row)
{
    const ak_plan_t *p = s->op.plan;
    const bool *need = s->op.need;
    for (int k = 0; k < s->ng; k++)
        row[k] = gkey(s, g)[k];
    uint8_t *st = gstate(s, g);
    for (int a = 0; a < s->na; a++) {
        ak_val_t *o = &row[s->ng + a];
        if (need && !need[s->ng + a]) {
            *o = ak_v_null();
            continue;
        }
        const ak_aggcall_t *c = &p->aggs[a];
        const slot_t *sl = &s->slots[s->map[a].slot];
        void *ss = st + sl->off;
        ak_aggstate_t as;
        ak_agg_init(c, &as);
        switch (s->map[a].fin) {
        case F_COUNT: *o = ak_v_int(*(int64_t *)ss); break;
        case F_SUM:
            if (sl->kind == S_ISUM) {
                as.count = ((isum_t *)ss)->count;
                as.isum = ((isum_t *)ss)->sum;
            } else {
                as.count = ((dsum_t *)ss)->count;
                as.dsum = ((dsum_t *)ss)->sum + ((dsum_t *)ss)->comp;
            }
            if (ak_agg_final(c, &as, &cx->x.cx, o))
                return -1;
            break;
        case F_MIN:
        case F_MAX: {
            const ak_val_t *v = s->map[a].fin == F_MIN ? ak_mset_first(ss, sl->width) : ak_mset_last(ss, sl->width);
            *o = v ? *v : ak_v_null();
            break;
        }
        case F_DCOUNT: *o = ak_v_int(ak_mset_distinct(ss)); break;
        case F_FOLD:
            if (fold(cx, c, ss, sl->width, o))
                return -1;
            break;
        }
    }
    return 0;
}

/* ---- step ---- */

static void note_dirty(grp_t *s, uint32_t g);

static int touch(grp_t *s, ak_opcx_t *cx, uint32_t g, bool existed)
{
    group_t *gr = &s->g[g];
    if (gr->step == s->stepno)
        return 0;
    gr->step = s->stepno;
    note_dirty(s, g);
    int nc = s->op.ncols;
    if (s->ntouched == s->cap_touched) {
        size_t nc2 = s->cap_touched ? s->cap_touched * 2 : 64;
        uint32_t *nt = ak_realloc(s->touched, sizeof *nt * nc2);
        if (!nt)
            return ak_err_nomem(cx->err);
        s->touched = nt;
        ak_val_t *no = ak_realloc(s->olds, sizeof *no * nc2 * (size_t)(nc ? nc : 1));
        if (!no)
            return ak_err_nomem(cx->err);
        s->olds = no;
        bool *nh = ak_realloc(s->had_old, sizeof *nh * nc2);
        if (!nh)
            return ak_err_nomem(cx->err);
        s->had_old = nh;
        s->cap_touched = nc2;
    }
    size_t t = s->ntouched++;
    gr->old = (uint32_t)t;
    s->touched[t] = g;
    s->had_old[t] = existed;
    if (existed && output(s, cx, g, s->olds + t * (size_t)nc))
        return -1;
    return 0;
}

static int update(grp_t *s, ak_opcx_t *cx, uint32_t g, const ak_val_t *row, int64_t w)
{
    const ak_plan_t *p = s->op.plan;
    uint8_t *st = gstate(s, g);
    s->g[g].rows += w;
    for (int i = 0; i < s->nslots; i++) {
        const slot_t *sl = &s->slots[i];
        const ak_aggcall_t *c = sl->call;
        void *ss = st + sl->off;
        if (c && c->filter) {
            int t = ak_expr_true(c->filter, row, &cx->x.cx);
            if (t < 0)
                return -1;
            if (!t)
                continue;
        }
        if (!c || c->fn == AGG_COUNT_STAR) {
            *(int64_t *)ss += w;
            continue;
        }
        int nargs = sl->kind == S_MSET ? sl->width : 1;
        for (int k = 0; k < nargs; k++)
            if (ak_op_eval(cx, c->args[k], row, &s->args[k]))
                return -1;
        const ak_val_t *x = &s->args[0];
        switch (sl->kind) {
        case S_COUNT:
            if (x->type != AK_NULL)
                *(int64_t *)ss += w;
            break;
        case S_ISUM:
            if (x->type != AK_NULL) {
                ((isum_t *)ss)->count += w;
                ((isum_t *)ss)->sum += (__int128)x->i * w;
            }
            break;
        case S_DSUM:
            if (x->type != AK_NULL) {
                dsum_t *d = ss;
                d->count += w;
                if (d->count == 0) {
                    d->sum = d->comp = 0; /* empty again: exactly zero, whatever rounding did */
                    break;
                }
                double v = (x->type == AK_INT ? (double)x->i : x->d) * (double)w;
                double t = d->sum + v; /* Neumaier's compensated sum */
                if (fabs(d->sum) >= fabs(v))
                    d->comp += (d->sum - t) + v;
                else
                    d->comp += (v - t) + d->sum;
                d->sum = t;
            }
            break;
        case S_MSET:
            if (x->type == AK_NULL && !sl->nulls)
                break;
            size_t before = ak_mset_bytes(ss, sl->width);
            if (ak_mset_add(ss, s->args, sl->width, w))
                return ak_err_nomem(cx->err);
            if (s->dirty.track) {
                ak_buf_t k = AK_BUF_INIT;
                ak_ser_row(&k, gkey(s, g), s->ng);
                ak_buf_putc(&k, (char)(sl - s->slots));
                ak_ser_row(&k, s->args, sl->width);
                ak_buf_put_uvarint(&s->mlog, k.len);
                ak_buf_put(&s->mlog, k.data, k.len);
                s->dirty.lost |= k.oom || s->mlog.oom;
                ak_buf_free(&k);
            }
            s->mset_bytes += ak_mset_bytes(ss, sl->width) - before;
            break;
        }
    }
    (void)p;
    return 0;
}

static int group_step(ak_op_t *op, ak_opcx_t *cx)
{
    grp_t *s = (grp_t *)op;
    const ak_plan_t *p = op->plan;
    const ak_delta_t *in = &op->in[0]->out;
    int nc = op->ncols;
    s->stepno++;
    s->ntouched = 0;
    if (p->scalar_agg && !s->scalar_done) {
        /* the single group exists from the start, empty: it emits once */
        uint32_t g = new_group(s, NULL, ak_row_hash(NULL, 0));
        if (g == UINT32_MAX || touch(s, cx, g, false))
            return ak_err_nomem(cx->err);
        s->scalar_done = true;
    }
    for (size_t i = 0; i < in->n; i++) {
        const ak_val_t *row = ak_delta_row(in, i);
        for (int k = 0; k < s->ng; k++)
            if (ak_op_eval(cx, p->groups[k], row, &s->key[k]))
                return -1;
        uint64_t h = ak_row_hash(s->key, s->ng);
        uint32_t g = find_group(s, s->key, h);
        bool existed = g != UINT32_MAX;
        if (!existed && (g = new_group(s, s->key, h)) == UINT32_MAX)
            return ak_err_nomem(cx->err);
        if (touch(s, cx, g, existed) || update(s, cx, g, row, in->w[i]))
            return -1;
    }
    for (size_t t = 0; t < s->ntouched; t++) {
        uint32_t g = s->touched[t];
        const ak_val_t *old = s->had_old[t] ? s->olds + t * (size_t)nc : NULL;
        bool alive = s->g[g].rows > 0 || p->scalar_agg;
        if (alive && output(s, cx, g, s->newrow))
            return -1;
        if (old && alive && ak_row_eq(old, s->newrow, nc))
            continue;
        if (old && ak_delta_add(&op->out, old, -1))
            return ak_err_nomem(cx->err);
        if (alive && ak_delta_add(&op->out, s->newrow, 1))
            return ak_err_nomem(cx->err);
        if (!alive)
            drop_group(s, g, ak_row_hash(gkey(s, g), s->ng));
    }
    return 0;
}

static void group_destroy(ak_op_t *op)
{
    grp_t *s = (grp_t *)op;
    for (uint32_t g = 0; g < s->n; g++)
        group_release(s, g); /* freed groups hold zeroed multisets */
    ak_free(s->slots);
    ak_free(s->map);
    ak_hidx_free(&s->idx);
    ak_free(s->g);
    ak_free(s->keys);
    ak_free(s->state);
    ak_free(s->free);
    ak_free(s->touched);
    ak_free(s->olds);
    ak_free(s->had_old);
    ak_free(s->key);
    ak_free(s->args);
    ak_free(s->newrow);
    ak_dirty_free(&s->dirty);
    ak_buf_free(&s->mlog);
    ak_buf_free(&s->load_key);
}

static size_t group_bytes(const ak_op_t *op)
{
    const grp_t *s = (const grp_t *)op;
    return ak_hidx_bytes(&s->idx) +
           (size_t)s->cap * (sizeof(group_t) + s->block + sizeof(ak_val_t) * (size_t)(s->ng ? s->ng : 1)) +
           s->mset_bytes;
}

static bool time_bucket(const ak_expr_t *e)
{
    return e && e->kind == EX_FUNC && e->fn && (strcmp(e->fn->name, "date_trunc") == 0 ||
                                                strcmp(e->fn->name, "time_bucket") == 0);
}

static void group_describe(const ak_op_t *op, ak_buf_t *out)
{
    const grp_t *s = (const grp_t *)op;
    const ak_plan_t *p = op->plan;
    int nm = 0, nf = 0;
    for (int a = 0; a < s->na; a++)
        nf += s->map[a].fin == F_FOLD;
    for (int i = 0; i < s->nslots; i++)
        nm += s->slots[i].kind == S_MSET;
    if (p->scalar_agg) {
        ak_buf_printf(out, "aggregate over all rows (%d aggregate%s)", s->na, s->na == 1 ? "" : "s");
    } else {
        bool tumbling = false;
        for (int k = 0; k < s->ng; k++)
            tumbling |= time_bucket(p->groups[k]);
        ak_buf_puts(out, tumbling ? "tumbling windows: group by " : "group by ");
        for (int k = 0; k < s->ng; k++) {
            if (k)
                ak_buf_puts(out, ", ");
            ak_expr_explain(p->groups[k], p->child, out);
        }
        ak_buf_printf(out, "; %zu groups, %d aggregate%s", s->live, s->na, s->na == 1 ? "" : "s");
    }
    if (nm)
        ak_buf_printf(out, "; %d value multiset%s per group keep MIN/MAX/DISTINCT exact under retraction", nm,
                      nm == 1 ? "" : "s");
    if (nf)
        ak_buf_printf(out, "; %d aggregate%s refolded from the group's values when it changes", nf,
                      nf == 1 ? "" : "s");
}

static size_t group_keys(const ak_op_t *op) { return ((const grp_t *)op)->live; }

/* ---- checkpoints ----
 * A group is a record 0 | key -> rows, then per slot its count, sum or
 * compensated sum; each tuple of a multiset is its own record
 * 1 | key | slot | tuple -> count, so a checkpoint writes the tuples that
 * changed, not whole multisets (a COUNT(DISTINCT) over everything is one
 * group with every value). */

static void note_dirty(grp_t *s, uint32_t g) { ak_dirty_mark(&s->dirty, g); }

static void note_dropped(grp_t *s, uint32_t g)
{
    if (!s->dirty.track)
        return;
    ak_buf_t k = AK_BUF_INIT;
    ak_ser_row(&k, gkey(s, g), s->ng);
    ak_dirty_drop(&s->dirty, g, k.data, k.len);
    s->dirty.lost |= k.oom;
    ak_buf_free(&k);
}

static int put_group(grp_t *s, uint32_t g, ak_buf_t *k, ak_buf_t *v, const ak_state_out_t *out, ak_err_t *err)
{
    ak_buf_clear(k);
    ak_buf_clear(v);
    ak_buf_putc(k, 0);
    ak_ser_row(k, gkey(s, g), s->ng);
    ak_buf_put_svarint(v, s->g[g].rows);
    const uint8_t *st = gstate(s, g);
    for (int i = 0; i < s->nslots; i++) {
        const void *ss = st + s->slots[i].off;
        switch (s->slots[i].kind) {
        case S_COUNT:
            ak_buf_put_svarint(v, *(const int64_t *)ss);
            break;
        case S_ISUM: {
            const isum_t *x = ss;
            ak_buf_put_svarint(v, x->count);
            ak_buf_put_u64le(v, (uint64_t)x->sum);
            ak_buf_put_u64le(v, (uint64_t)((unsigned __int128)x->sum >> 64));
            break;
        }
        case S_DSUM: {
            const dsum_t *x = ss;
            ak_buf_put_svarint(v, x->count);
            ak_ser_f64(v, x->sum);
            ak_ser_f64(v, x->comp);
            break;
        }
        }
    }
    if (k->oom || v->oom)
        return ak_err_nomem(err);
    return ak_state_put(out, k->data, k->len, v->data, v->len, err);
}

typedef struct tuple_out {
    grp_t *s;
    uint32_t g;
    int slot;
    size_t prefix;               /* bytes of k kept between tuples */
    ak_buf_t *k, *v;
    const ak_state_out_t *out;
    ak_err_t *err;
} tuple_out_t;

/* A multiset tuple's record: 1 | group key | slot | tuple -> count.  The
 * caller leaves k holding 1 | group key | slot (prefix bytes), so a group's
 * key is serialized once, not once per tuple. */
static int put_tuple(void *ctx, const ak_val_t *t, int64_t c)
{
    tuple_out_t *x = ctx;
    x->k->len = x->prefix;
    ak_buf_clear(x->v);
    ak_ser_row(x->k, t, x->s->slots[x->slot].width);
    ak_buf_put_svarint(x->v, c);
    if (x->k->oom || x->v->oom)
        return ak_err_nomem(x->err);
    return ak_state_put(x->out, x->k->data, x->k->len, x->v->data, x->v->len, x->err) ? -1 : 0;
}

/* The current count of a logged tuple (key | slot | tuple), as a record. */
static int put_logged(grp_t *s, const uint8_t *p, size_t n, ak_buf_t *k, ak_buf_t *v, const ak_state_out_t *out,
                      ak_err_t *err)
{
    ak_rd_t r;
    ak_rd_init(&r, p, n);
    ak_rd_row(&r, s->key, s->ng);
    int slot = ak_rd_u8(&r);
    ak_rd_row(&r, s->args, slot < s->nslots ? s->slots[slot].width : 0);
    if (r.bad || slot >= s->nslots)
        return ak_errf(err, AK_E_INTERNAL, "aggregate: a logged change cannot be read back");
    uint32_t g = find_group(s, s->key, ak_row_hash(s->key, s->ng));
    int64_t c = g == UINT32_MAX ? 0
                                : ak_mset_count((const ak_mset_t *)(gstate(s, g) + s->slots[slot].off),
                                                s->slots[slot].width, s->args);
    ak_buf_clear(k);
    ak_buf_putc(k, 1);
    ak_buf_put(k, p, n);
    if (k->oom)
        return ak_err_nomem(err);
    if (!c)
        return ak_state_del(out, k->data, k->len, err);
    ak_buf_clear(v);
    ak_buf_put_svarint(v, c);
    return v->oom ? ak_err_nomem(err) : ak_state_put(out, k->data, k->len, v->data, v->len, err);
}

typedef struct put_ctx {
    grp_t *s;
    ak_buf_t *k, *v;
    const ak_state_out_t *out;
    ak_err_t *err;
} put_ctx_t;

static int put_one(void *ctx, uint32_t g)
{
    put_ctx_t *c = ctx;
    return put_group(c->s, g, c->k, c->v, c->out, c->err);
}

typedef struct del_ctx {
    ak_buf_t *k;
    const ak_state_out_t *out;
    ak_err_t *err;
} del_ctx_t;

static int del_group(void *ctx, const uint8_t *key, size_t kn)
{
    del_ctx_t *d = ctx;
    ak_buf_clear(d->k);
    ak_buf_putc(d->k, 0);
    ak_buf_put(d->k, key, kn);
    return d->k->oom ? ak_err_nomem(d->err) : ak_state_del(d->out, d->k->data, d->k->len, d->err);
}

static int group_save(ak_op_t *op, bool full, const ak_state_out_t *out, ak_err_t *err)
{
    grp_t *s = (grp_t *)op;
    full |= !s->dirty.track || s->dirty.lost;
    s->dirty.track = true;
    ak_buf_t k = AK_BUF_INIT, v = AK_BUF_INIT;
    int rc = 0;
    if (full) {
        rc = ak_state_clear(out, NULL, 0, err);
        for (uint32_t g = 0; g < s->n && rc == 0; g++) {
            bool live = false;
            for (size_t q = ak_hidx_first(&s->idx, ak_row_hash(gkey(s, g), s->ng)); ak_hidx_more(&s->idx, q) && !live;
                 q = ak_hidx_next(&s->idx, q))
                live = s->idx.v[q] == g;
            if (!live)
                continue;
            rc = put_group(s, g, &k, &v, out, err);
            for (int i = 0; i < s->nslots && rc == 0; i++)
                if (s->slots[i].kind == S_MSET) {
                    ak_buf_clear(&k);
                    ak_buf_putc(&k, 1);
                    ak_ser_row(&k, gkey(s, g), s->ng);
                    ak_buf_putc(&k, (char)i);
                    tuple_out_t x = {s, g, i, k.len, &k, &v, out, err};
                    rc = k.oom ? ak_err_nomem(err)
                               : ak_mset_each((const ak_mset_t *)(gstate(s, g) + s->slots[i].off), s->slots[i].width,
                                              NULL, put_tuple, &x) ? -1 : 0;
                }
        }
    } else {
        del_ctx_t d = {&k, out, err};
        rc = ak_dirty_each_dropped(&s->dirty, del_group, &d);
        put_ctx_t pc = {s, &k, &v, out, err};
        if (rc == 0)
            rc = ak_dirty_each(&s->dirty, put_one, &pc);
        const uint8_t *p = (const uint8_t *)s->mlog.data, *end = p + s->mlog.len;
        while (p < end && rc == 0) {
            uint64_t n = 0;
            size_t used = ak_get_uvarint(p, (size_t)(end - p), &n);
            rc = put_logged(s, p + used, (size_t)n, &k, &v, out, err);
            p += used + n;
        }
    }
    ak_buf_free(&k);
    ak_buf_free(&v);
    return rc;
}

static void group_saved(ak_op_t *op)
{
    grp_t *s = (grp_t *)op;
    ak_dirty_saved(&s->dirty);
    ak_buf_clear(&s->mlog);
    s->mlog.oom = false;
}

static int group_load(ak_op_t *op, ak_opcx_t *cx, const void *key, size_t kn, const void *val, size_t vn)
{
    grp_t *s = (grp_t *)op;
    s->dirty.track = true;
    ak_rd_t r, rv;
    ak_rd_init(&r, key, kn);
    ak_rd_init(&rv, val, vn);
    uint8_t tag = ak_rd_u8(&r);
    const uint8_t *k0 = r.p;
    ak_rd_row(&r, s->key, s->ng);
    size_t kb = r.bad ? 0 : (size_t)(r.p - k0);
    uint32_t g = UINT32_MAX;
    if (!r.bad && s->load_key.len == kb && s->load_g != UINT32_MAX && memcmp(s->load_key.data, k0, kb) == 0) {
        g = s->load_g;
    } else if (!r.bad) {
        for (int i = 0; i < s->ng; i++)
            if (ak_op_intern_cb(cx->strs, &s->key[i]))
                return ak_err_nomem(cx->err);
        uint64_t h = ak_row_hash(s->key, s->ng);
        g = find_group(s, s->key, h);
        if (g == UINT32_MAX && (g = new_group(s, s->key, h)) == UINT32_MAX)
            return ak_err_nomem(cx->err);
        ak_buf_clear(&s->load_key);
        ak_buf_put(&s->load_key, k0, kb);
        s->load_g = s->load_key.oom ? UINT32_MAX : g;
    }
    if (s->ng == 0)
        s->scalar_done = true;
    uint8_t *st = r.bad ? NULL : gstate(s, g);
    if (tag == 0 && st) {
        s->g[g].rows = ak_rd_svar(&rv);
        for (int i = 0; i < s->nslots; i++) {
            void *ss = st + s->slots[i].off;
            switch (s->slots[i].kind) {
            case S_COUNT:
                *(int64_t *)ss = ak_rd_svar(&rv);
                break;
            case S_ISUM: {
                isum_t *x = ss;
                x->count = ak_rd_svar(&rv);
                const uint8_t *b = ak_rd_bytes(&rv, 16);
                x->sum = b ? (__int128)((unsigned __int128)ak_le_get64(b + 8) << 64 | ak_le_get64(b)) : 0;
                break;
            }
            case S_DSUM: {
                dsum_t *x = ss;
                x->count = ak_rd_svar(&rv);
                x->sum = ak_rd_f64(&rv);
                x->comp = ak_rd_f64(&rv);
                break;
            }
            }
        }
    } else if (tag == 1 && st) {
        int slot = ak_rd_u8(&r);
        if (slot >= s->nslots || s->slots[slot].kind != S_MSET)
            return ak_errf(cx->err, AK_E_CORRUPT, "checkpoint: an aggregate record names no multiset");
        ak_rd_row(&r, s->args, s->slots[slot].width);
        for (int i = 0; i < s->slots[slot].width; i++)
            if (ak_op_intern_cb(cx->strs, &s->args[i]))
                return ak_err_nomem(cx->err);
        int64_t c = ak_rd_svar(&rv);
        ak_mset_t *m = (ak_mset_t *)(st + s->slots[slot].off);
        size_t before = ak_mset_bytes(m, s->slots[slot].width);
        if (!r.bad && !rv.bad && ak_mset_add(m, s->args, s->slots[slot].width, c))
            return ak_err_nomem(cx->err);
        s->mset_bytes += ak_mset_bytes(m, s->slots[slot].width) - before;
    } else {
        r.bad = true;
    }
    if (r.bad || rv.bad || !ak_rd_done(&r) || !ak_rd_done(&rv))
        return ak_errf(cx->err, AK_E_CORRUPT, "checkpoint: malformed aggregate record");
    return 0;
}

/* Group keys pass through; MIN and MAX of a column are one of its values. */
static bool group_origin(const ak_op_t *op, int col, int *in, int *in_col, int *how)
{
    const ak_plan_t *p = op->plan;
    const ak_expr_t *e;
    if (col < p->ngroups) {
        e = p->groups[col];
        *how = AK_ORIGIN_SAME;
    } else if (col < p->ngroups + p->naggs) {
        const ak_aggcall_t *a = &p->aggs[col - p->ngroups];
        if ((a->fn != AGG_MIN && a->fn != AGG_MAX) || a->nargs != 1)
            return false;
        e = a->args[0];
        *how = AK_ORIGIN_EXTREME;
    } else {
        return false;
    }
    if (e->kind != EX_COL)
        return false;
    *in = 0;
    *in_col = e->col;
    return true;
}

static const ak_op_vt_t group_vt = {"aggregate", group_step,   group_destroy, group_bytes, group_describe, NULL,
                                    NULL,        group_keys,   group_save,    group_saved, group_load,     NULL,
                                    group_origin, NULL};

static bool same_args(const ak_aggcall_t *a, const ak_aggcall_t *b, int width)
{
    if (a->nargs < width || b->nargs < width)
        return false;
    for (int k = 0; k < width; k++)
        if (!ak_expr_equal(a->args[k], b->args[k]))
            return false;
    if ((a->filter == NULL) != (b->filter == NULL))
        return false;
    return !a->filter || ak_expr_equal(a->filter, b->filter);
}

static int add_slot(grp_t *s, int kind, const ak_aggcall_t *c, int width, bool nulls)
{
    for (int i = 0; i < s->nslots; i++) {
        slot_t *sl = &s->slots[i];
        if (sl->kind != kind || sl->width != width || sl->nulls != nulls)
            continue;
        if (!c && !sl->call)
            return i;
        if (c && sl->call && c->fn == AGG_COUNT_STAR && sl->call->fn == AGG_COUNT_STAR &&
            ((c->filter == NULL) == (sl->call->filter == NULL)) &&
            (!c->filter || ak_expr_equal(c->filter, sl->call->filter)))
            return i;
        if (c && sl->call && c->fn != AGG_COUNT_STAR && sl->call->fn != AGG_COUNT_STAR &&
            same_args(c, sl->call, width))
            return i;
    }
    slot_t *sl = &s->slots[s->nslots];
    sl->kind = kind;
    sl->call = c;
    sl->width = width;
    sl->nulls = nulls;
    return s->nslots++;
}

ak_op_t *ak_op_group_new(ak_op_t *in, const ak_plan_t *p, const bool *need, ak_err_t *err)
{
    grp_t *s = ak_calloc(1, sizeof *s);
    if (!s) {
        ak_err_nomem(err);
        return NULL;
    }
    ak_op_init(&s->op, &group_vt, p, need, err);
    s->load_g = UINT32_MAX;
    s->op.in[0] = in;
    s->op.nin = 1;
    s->ng = p->ngroups;
    s->na = p->naggs;
    int maxargs = 1;
    for (int a = 0; a < s->na; a++)
        if (p->aggs[a].nargs > maxargs)
            maxargs = p->aggs[a].nargs;
    s->slots = ak_calloc((size_t)(s->na + 1), sizeof *s->slots);
    s->map = ak_calloc((size_t)(s->na + 1), sizeof *s->map);
    s->key = ak_malloc(sizeof(ak_val_t) * (size_t)(s->ng + 1));
    s->args = ak_malloc(sizeof(ak_val_t) * (size_t)maxargs);
    s->newrow = ak_malloc(sizeof(ak_val_t) * (size_t)(p->ncols + 1));
    if (!s->slots || !s->map || !s->key || !s->args || !s->newrow)
        goto nomem;
    for (int a = 0; a < s->na; a++) {
        const ak_aggcall_t *c = &p->aggs[a];
        ak_type_t t = c->nargs ? c->args[0]->type : AK_NULL;
        aggmap_t *m = &s->map[a];
        bool simple = !c->distinct;
        switch (c->fn) {
        case AGG_COUNT_STAR:
            m->slot = add_slot(s, S_COUNT, c, 1, false);
            m->fin = F_COUNT;
            break;
        case AGG_COUNT:
            if (simple) {
                m->slot = add_slot(s, S_COUNT, c, 1, false);
                m->fin = F_COUNT;
            } else {
                m->slot = add_slot(s, S_MSET, c, 1, false);
                m->fin = F_DCOUNT;
            }
            break;
        case AGG_SUM:
        case AGG_AVG:
            if (simple && (t == AK_INT || t == AK_NULL)) {
                m->slot = add_slot(s, S_ISUM, c, 1, false);
                m->fin = F_SUM;
            } else if (simple && (t == AK_DOUBLE || t == AK_FLOAT)) {
                m->slot = add_slot(s, S_DSUM, c, 1, false);
                m->fin = F_SUM;
            } else {
                m->slot = add_slot(s, S_MSET, c, 1, false);
                m->fin = F_FOLD;
            }
            break;
        case AGG_MIN:
        case AGG_MAX:
        case AGG_BOOL_AND:
        case AGG_BOOL_OR:
            m->slot = add_slot(s, S_MSET, c, 1, false);
            m->fin = (c->fn == AGG_MIN || c->fn == AGG_BOOL_AND) ? F_MIN : F_MAX;
            break;
        default:
            /* order-sensitive or not invertible: keep the tuples, refold */
            m->slot = add_slot(s, S_MSET, c, c->nargs ? c->nargs : 1, true);
            m->fin = F_FOLD;
            break;
        }
    }
    size_t off = 0;
    for (int i = 0; i < s->nslots; i++) {
        size_t sz = s->slots[i].kind == S_COUNT ? sizeof(int64_t)
                  : s->slots[i].kind == S_ISUM  ? sizeof(isum_t)
                  : s->slots[i].kind == S_DSUM  ? sizeof(dsum_t)
                                                : sizeof(ak_mset_t);
        size_t al = s->slots[i].kind == S_ISUM ? 16 : 8;
        off = (off + al - 1) / al * al;
        s->slots[i].off = off;
        off += sz;
    }
    s->block = (off + 15) / 16 * 16;
    if (!s->block)
        s->block = 16;
    return &s->op;
nomem:
    ak_err_nomem(err);
    ak_op_free(&s->op);
    return NULL;
}
