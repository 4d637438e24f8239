/* op_join.c - equi-joins (INNER, LEFT, RIGHT, FULL), symmetric.
 *
 * Both sides are kept, grouped by the join key.  A change on one side is
 * joined with the other side's rows of the same key, so its cost is the
 * size of that key's group: a profile update re-emits exactly the events of
 * that user.  For outer joins every kept row counts its matches (with
 * multiplicity); when that count moves between zero and non-zero the row's
 * NULL-extended version is retracted or emitted.  Right-side changes are
 * processed first, against the old left side, then left-side changes
 * against the new right side: d(L x R) = L x dR + dL x (R + dR).
 * Rows whose key has a NULL never match and are not kept.
 */
#include "ak_op.h"

#include "ak_alloc.h"

#include <string.h>

typedef struct side {
    ak_pack_t pack;
    ak_kbag_t *bag;
    ak_expr_t **keys;
    bool outer;              /* unmatched rows of this side appear NULL-extended */
    int ncols;
} side_t;

typedef struct join {
    ak_op_t op;
    side_t s[2];             /* 0 left, 1 right */
    int nk;
    const ak_expr_t *residual;
    ak_val_t *key, *row, *mine, *other;
} join_t;

/* Builds the combined row: side `self` from `a`, the other side from `b`
 * (NULL: NULL-extended). */
static void combine(join_t *j, int self, const ak_val_t *a, const ak_val_t *b)
{
    int nl = j->s[0].ncols;
    ak_val_t *l = j->row, *r = j->row + nl;
    const ak_val_t *lv = self == 0 ? a : b, *rv = self == 0 ? b : a;
    if (lv)
        memcpy(l, lv, sizeof *l * (size_t)nl);
    else
        for (int i = 0; i < nl; i++)
            l[i] = ak_v_null();
    if (rv)
        memcpy(r, rv, sizeof *r * (size_t)j->s[1].ncols);
    else
        for (int i = 0; i < j->s[1].ncols; i++)
            r[i] = ak_v_null();
}

static int emit(join_t *j, ak_opcx_t *cx, int64_t w)
{
    return ak_delta_add(&j->op.out, j->row, w) ? ak_err_nomem(cx->err) : 0;
}

/* One changed row of side `self` with weight w. */
static int apply(join_t *j, ak_opcx_t *cx, int self, const ak_val_t *row, int64_t w)
{
    side_t *me = &j->s[self], *ot = &j->s[1 - self];
    bool null = false;
    for (int k = 0; k < j->nk; k++) {
        if (ak_op_eval(cx, me->keys[k], row, &j->key[k]))
            return -1;
        null |= j->key[k].type == AK_NULL;
    }
    if (null) {
        if (!me->outer)
            return 0;
        combine(j, self, row, NULL);
        return emit(j, cx, w);
    }
    uint32_t og = ak_kbag_group(ot->bag, j->key, false);
    size_t n = og == UINT32_MAX ? 0 : ak_kbag_size(ot->bag, og);
    const uint32_t *ents = n ? ak_kbag_entries(ot->bag, og) : NULL;
    int64_t matches = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t e = ents[i];
        ak_unpack(&ot->pack, ak_kbag_row(ot->bag, e), j->other);
        combine(j, self, row, j->other);
        if (j->residual) {
            int t = ak_expr_true(j->residual, j->row, &cx->x.cx);
            if (t < 0)
                return -1;
            if (!t)
                continue;
        }
        int64_t c = ak_kbag_count(ot->bag, e);
        if (emit(j, cx, w * c))
            return -1;
        matches += c;
        if (ot->outer) {
            int64_t *m = ak_kbag_aux(ot->bag, e), old = *m;
            *m += w;
            if ((old == 0) != (*m == 0)) {
                combine(j, 1 - self, j->other, NULL);
                if (emit(j, cx, old == 0 ? -c : c))
                    return -1;
            }
        }
    }
    if (me->outer && matches == 0) {
        combine(j, self, row, NULL);
        if (emit(j, cx, w))
            return -1;
    }
    uint32_t g = ak_kbag_group(me->bag, j->key, true), e;
    if (g == AK_KBAG_OOM)
        return ak_err_nomem(cx->err);
    ak_pack(&me->pack, row, j->mine);
    if (ak_kbag_add(me->bag, g, j->mine, w, &e))
        return ak_err_nomem(cx->err);
    if (e != UINT32_MAX)
        *ak_kbag_aux(me->bag, e) = matches;
    return 0;
}

static int join_step(ak_op_t *op, ak_opcx_t *cx)
{
    join_t *j = (join_t *)op;
    for (int side = 1; side >= 0; side--) {
        const ak_delta_t *d = &op->in[side]->out;
        for (size_t i = 0; i < d->n; i++)
            if (apply(j, cx, side, ak_delta_row(d, i), d->w[i]))
                return -1;
    }
    return 0;
}

static void join_destroy(ak_op_t *op)
{
    join_t *j = (join_t *)op;
    for (int i = 0; i < 2; i++) {
        ak_kbag_free(j->s[i].bag);
        ak_pack_fini(&j->s[i].pack);
    }
    ak_free(j->key);
    ak_free(j->row);
    ak_free(j->mine);
    ak_free(j->other);
}

static size_t join_bytes(const ak_op_t *op)
{
    const join_t *j = (const join_t *)op;
    return ak_kbag_bytes(j->s[0].bag) + ak_kbag_bytes(j->s[1].bag);
}

static void join_describe(const ak_op_t *op, ak_buf_t *out)
{
    const join_t *j = (const join_t *)op;
    static const char *names[] = {"inner", "left", "right", "full", "cross"};
    int t = (int)op->plan->join;
    ak_buf_printf(out, "%s join on %d key%s, both sides kept by key (%zu left keys, %zu right keys)",
                  t >= 0 && t < 5 ? names[t] : "?", j->nk, j->nk == 1 ? "" : "s", ak_kbag_ngroups(j->s[0].bag),
                  ak_kbag_ngroups(j->s[1].bag));
}

static const ak_op_vt_t join_vt = {"join", join_step, join_destroy, join_bytes, join_describe};

ak_op_t *ak_op_join_new(ak_op_t *l, ak_op_t *r, const ak_plan_t *p, const bool *need, const bool *lneed,
                        const bool *rneed, ak_err_t *err)
{
    join_t *j = ak_calloc(1, sizeof *j);
    if (!j) {
        ak_err_nomem(err);
        return NULL;
    }
    ak_op_init(&j->op, &join_vt, p, need, err);
    j->op.in[0] = l;
    j->op.in[1] = r;
    j->op.nin = 2;
    j->nk = p->nkeys;
    j->residual = p->residual;
    j->s[0].keys = p->lkeys;
    j->s[1].keys = p->rkeys;
    j->s[0].ncols = l->ncols;
    j->s[1].ncols = r->ncols;
    j->s[0].outer = p->join == JOIN_LEFT || p->join == JOIN_FULL;
    j->s[1].outer = p->join == JOIN_RIGHT || p->join == JOIN_FULL;
    size_t wide = (size_t)(l->ncols + r->ncols + 1);
    j->key = ak_malloc(sizeof(ak_val_t) * (size_t)(j->nk + 1));
    j->row = ak_malloc(sizeof(ak_val_t) * wide);
    j->mine = ak_malloc(sizeof(ak_val_t) * wide);
    j->other = ak_malloc(sizeof(ak_val_t) * wide);
    if (!j->key || !j->row || !j->mine || !j->other || ak_pack_init(&j->s[0].pack, lneed, l->ncols) ||
        ak_pack_init(&j->s[1].pack, rneed, r->ncols) || !(j->s[0].bag = ak_kbag_new(j->nk, j->s[0].pack.n)) ||
        !(j->s[1].bag = ak_kbag_new(j->nk, j->s[1].pack.n))) {
        ak_err_nomem(err);
        ak_op_free(&j->op);
        return NULL;
    }
    return &j->op;
}
