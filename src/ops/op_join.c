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
 *
 * When the left input can list its rows by the join key (a session window
 * keyed by user, say), the left side is not kept at all: left changes are
 * joined with the old right side, and for a key whose right side changed
 * the left rows are listed from the producer and re-joined, old right side
 * against new: d(L x R) = dL x R + L' x R' - L' x R (INNER and LEFT).
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
    bool pull;               /* the left side is listed from its producer */
    int *lcols;              /* pull: the left key columns */
    ak_val_t *old_rows;      /* pull: the right rows of a key before the change */
    int64_t *old_cnt;
    size_t nold, cap_old;
    uint64_t listed;         /* pull: left rows listed */
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

/* ---- pull mode ---- */

/* Emits w times the LEFT/INNER join of left row l with the right rows given
 * (packed, with counts). */
static int join_rows(join_t *j, ak_opcx_t *cx, const ak_val_t *l, const ak_val_t *rows, const int64_t *cnt, size_t n,
                     int64_t w)
{
    side_t *rs = &j->s[1];
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        ak_unpack(&rs->pack, rows + i * (size_t)rs->pack.n, j->other);
        combine(j, 0, l, j->other);
        if (j->residual) {
            int t = ak_expr_true(j->residual, j->row, &cx->x.cx);
            if (t < 0)
                return -1;
            if (!t)
                continue;
        }
        any = true;
        if (emit(j, cx, w * cnt[i]))
            return -1;
    }
    if (!any && j->s[0].outer) {
        combine(j, 0, l, NULL);
        if (emit(j, cx, w))
            return -1;
    }
    return 0;
}

/* The right rows of group g (packed) into old_rows/old_cnt, or none. */
static int snapshot_right(join_t *j, uint32_t g, ak_val_t **rows, int64_t **cnt, size_t *n)
{
    side_t *rs = &j->s[1];
    size_t m = g == UINT32_MAX ? 0 : ak_kbag_size(rs->bag, g);
    size_t w = (size_t)(rs->pack.n ? rs->pack.n : 1);
    if (m > j->cap_old) {
        size_t nc = m * 2;
        ak_val_t *nr = ak_realloc(j->old_rows, sizeof *nr * nc * w);
        if (!nr)
            return -1;
        j->old_rows = nr;
        int64_t *ncnt = ak_realloc(j->old_cnt, sizeof *ncnt * nc);
        if (!ncnt)
            return -1;
        j->old_cnt = ncnt;
        j->cap_old = nc;
    }
    for (size_t i = 0; i < m; i++) {
        uint32_t e = ak_kbag_entries(rs->bag, g)[i];
        memcpy(j->old_rows + i * w, ak_kbag_row(rs->bag, e), sizeof(ak_val_t) * (size_t)rs->pack.n);
        j->old_cnt[i] = ak_kbag_count(rs->bag, e);
    }
    *rows = j->old_rows;
    *cnt = j->old_cnt;
    *n = m;
    return 0;
}

typedef struct relist {
    join_t *j;
    ak_opcx_t *cx;
    const ak_val_t *newr;    /* the key's right rows now, packed */
    const int64_t *newc;
    size_t nnew;
} relist_t;

static int relist_one(void *ctx, const ak_val_t *l, int64_t w)
{
    relist_t *r = ctx;
    join_t *j = r->j;
    j->listed++;
    if (join_rows(j, r->cx, l, j->old_rows, j->old_cnt, j->nold, -w) ||
        join_rows(j, r->cx, l, r->newr, r->newc, r->nnew, w))
        return -1;
    return 0;
}

static int pull_step(join_t *j, ak_opcx_t *cx)
{
    side_t *ls = &j->s[0], *rs = &j->s[1];
    const ak_delta_t *dl = &j->op.in[0]->out, *dr = &j->op.in[1]->out;
    /* left changes against the right side as it was */
    for (size_t i = 0; i < dl->n; i++) {
        const ak_val_t *l = ak_delta_row(dl, i);
        bool null = false;
        for (int k = 0; k < j->nk; k++) {
            if (ak_op_eval(cx, ls->keys[k], l, &j->key[k]))
                return -1;
            null |= j->key[k].type == AK_NULL;
        }
        uint32_t g = null ? UINT32_MAX : ak_kbag_group(rs->bag, j->key, false);
        ak_val_t *rows;
        int64_t *cnt;
        size_t n;
        if (snapshot_right(j, g, &rows, &cnt, &n))
            return ak_err_nomem(cx->err);
        if (join_rows(j, cx, l, rows, cnt, n, dl->w[i]))
            return -1;
    }
    /* right changes, key by key: the key's left rows re-joined, old against new */
    if (!dr->n)
        return 0;
    ak_kbag_t *keys = ak_kbag_new(j->nk, 1); /* key -> the indexes of its changes */
    if (!keys)
        return ak_err_nomem(cx->err);
    int rc = 0;
    for (size_t i = 0; i < dr->n && rc == 0; i++) {
        bool null = false;
        for (int k = 0; k < j->nk && rc == 0; k++) {
            rc = ak_op_eval(cx, rs->keys[k], ak_delta_row(dr, i), &j->key[k]);
            null |= j->key[k].type == AK_NULL;
        }
        if (rc || null)
            continue;
        uint32_t kg = ak_kbag_group(keys, j->key, true), e;
        ak_val_t idx = ak_v_int((int64_t)i);
        if (kg == AK_KBAG_OOM || ak_kbag_add(keys, kg, &idx, 1, &e))
            rc = ak_err_nomem(cx->err);
    }
    ak_val_t *nr = NULL;
    int64_t *nc = NULL;
    size_t cap_new = 0;
    for (uint32_t kg = 0; kg < ak_kbag_gcap(keys) && rc == 0; kg++) {
        size_t nch = ak_kbag_size(keys, kg);
        if (!nch)
            continue;
        const ak_val_t *key = ak_kbag_key(keys, kg);
        /* the key's right rows before, then its changes applied */
        uint32_t g = ak_kbag_group(rs->bag, key, false);
        ak_val_t *rows;
        int64_t *cnt;
        if (snapshot_right(j, g, &rows, &cnt, &j->nold)) {
            rc = ak_err_nomem(cx->err);
            break;
        }
        for (size_t q = 0; q < nch && rc == 0; q++) {
            size_t m = (size_t)ak_kbag_row(keys, ak_kbag_entries(keys, kg)[q])[0].i;
            uint32_t rg = ak_kbag_group(rs->bag, key, true), re;
            ak_pack(&rs->pack, ak_delta_row(dr, m), j->mine);
            if (rg == AK_KBAG_OOM || ak_kbag_add(rs->bag, rg, j->mine, dr->w[m], &re))
                rc = ak_err_nomem(cx->err);
        }
        if (rc)
            break;
        size_t w = (size_t)(rs->pack.n ? rs->pack.n : 1);
        uint32_t ng = ak_kbag_group(rs->bag, key, false);
        size_t nn = ng == UINT32_MAX ? 0 : ak_kbag_size(rs->bag, ng);
        if (nn > cap_new) {
            cap_new = nn * 2;
            ak_free(nr);
            ak_free(nc);
            nr = ak_malloc(sizeof *nr * cap_new * w);
            nc = ak_malloc(sizeof *nc * cap_new);
            if (!nr || !nc) {
                rc = ak_err_nomem(cx->err);
                break;
            }
        }
        for (size_t q = 0; q < nn; q++) {
            uint32_t en = ak_kbag_entries(rs->bag, ng)[q];
            memcpy(nr + q * w, ak_kbag_row(rs->bag, en), sizeof(ak_val_t) * (size_t)rs->pack.n);
            nc[q] = ak_kbag_count(rs->bag, en);
        }
        relist_t rl = {j, cx, nr, nc, nn};
        int lr = j->op.in[0]->vt->list(j->op.in[0], cx, j->lcols, key, j->nk, relist_one, &rl);
        if (lr < 0)
            rc = -1;
        else if (lr > 0)
            rc = ak_errf(cx->err, AK_E_INTERNAL, "join: the left input can no longer list its rows by key");
    }
    ak_free(nr);
    ak_free(nc);
    ak_kbag_free(keys);
    return rc;
}

static int join_step(ak_op_t *op, ak_opcx_t *cx)
{
    join_t *j = (join_t *)op;
    if (j->pull)
        return pull_step(j, cx);
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
    ak_free(j->lcols);
    ak_free(j->old_rows);
    ak_free(j->old_cnt);
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
    if (j->pull)
        ak_buf_printf(out, "%s lookup join on %d key%s: the right side kept by key (%zu keys), the left side listed "
                           "from its producer when a key's right rows change (%llu rows listed)",
                      t >= 0 && t < 5 ? names[t] : "?", j->nk, j->nk == 1 ? "" : "s", ak_kbag_ngroups(j->s[1].bag),
                      (unsigned long long)j->listed);
    else
        ak_buf_printf(out, "%s join on %d key%s, both sides kept by key (%zu left keys, %zu right keys)",
                      t >= 0 && t < 5 ? names[t] : "?", j->nk, j->nk == 1 ? "" : "s", ak_kbag_ngroups(j->s[0].bag),
                      ak_kbag_ngroups(j->s[1].bag));
}

static int join_save(ak_op_t *op, bool full, const ak_state_out_t *out, ak_err_t *err)
{
    join_t *j = (join_t *)op;
    ak_kbag_t *bags[2] = {j->s[0].bag, j->s[1].bag};
    return ak_op_bags_save(bags, 2, full, out, err);
}
static void join_saved(ak_op_t *op)
{
    join_t *j = (join_t *)op;
    ak_kbag_t *bags[2] = {j->s[0].bag, j->s[1].bag};
    ak_op_bags_saved(bags, 2);
}
static int join_load(ak_op_t *op, ak_opcx_t *cx, const void *k, size_t kn, const void *v, size_t vn)
{
    join_t *j = (join_t *)op;
    ak_kbag_t *bags[2] = {j->s[0].bag, j->s[1].bag};
    return ak_op_bags_load(bags, 2, cx, k, kn, v, vn, NULL);
}

/* Left columns, then right ones; a side whose rows, removed, would turn
 * rows of the other side into NULL-extended ones (an outer join's
 * optional side) is not a plain pass-through. */
static bool join_origin(const ak_op_t *op, int col, int *in, int *in_col, int *how)
{
    const join_t *j = (const join_t *)op;
    int side = col < j->s[0].ncols ? 0 : 1;
    if (col >= j->s[0].ncols + j->s[1].ncols || j->s[1 - side].outer)
        return false;
    *in = side;
    *in_col = side ? col - j->s[0].ncols : col;
    *how = AK_ORIGIN_SAME;
    return true;
}

static const ak_op_vt_t join_vt = {"join",      join_step,  join_destroy, join_bytes, join_describe,
                                   NULL,        NULL,       NULL,         join_save,  join_saved,
                                   join_load,   NULL,       join_origin,  NULL};

ak_op_t *ak_op_join_new(ak_op_t *l, ak_op_t *r, const ak_plan_t *p, const bool *need, const bool *lneed,
                        const bool *rneed, bool pull_left, ak_err_t *err)
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
    if (pull_left) {
        j->pull = true;
        if (!(j->lcols = ak_malloc(sizeof(int) * (size_t)(j->nk + 1)))) {
            ak_err_nomem(err);
            ak_op_free(&j->op);
            return NULL;
        }
        for (int k = 0; k < j->nk; k++)
            j->lcols[k] = p->lkeys[k]->col;
    }
    return &j->op;
}
