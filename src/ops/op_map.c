/* op_map.c - FILTER, PROJECT and TRIM chains, one row at a time.
 *
 * A chain of row-local nodes is one operator: each changed input row runs
 * through the chain and, if it survives the filters, goes out with its
 * weight.  When an expression reads the clock the output also changes as
 * time passes:
 *   - a temporal filter, `WHERE col >= NOW() - INTERVAL ...` (any of < <=
 *     > >=, with other clock-free conditions ANDed), keeps the rows that pass
 *     the clock-free part in an index ordered by col; when the clock moves
 *     only the rows between the old and the new bound change, and only
 *     those are visited;
 *   - anything else keeps every input row and re-evaluates all of them at
 *     the old and the new time when the clock moves.
 */
#include "ak_op.h"

#include "ak_alloc.h"
#include "ak_mset.h"

#include <string.h>

typedef struct map {
    ak_op_t op;
    const ak_plan_t *const *nodes;
    const bool *const *needs;
    int n;
    int width;               /* widest row in the chain */
    ak_val_t *buf[2];
    ak_pack_t pack;          /* input columns kept when clocked */
    ak_kbag_t *rows;         /* input rows, when clocked */
    ak_val_t *tmp;
    /* temporal filter: col <op> bound, plus clock-free conjuncts */
    bool temporal;
    int tcol;                /* input column */
    int tpos;                /* its position in the packed row */
    ak_cmp_op_t top;         /* with the column on the left */
    const ak_expr_t *tbound; /* reads the clock, no columns */
    const ak_expr_t *statics[32];
    int nstatic;
    ak_mset_t index;         /* (col value, entry id) */
    uint64_t visited;        /* rows visited because the clock moved */
} map_t;

/* Runs row through the chain; *out points at the result or NULL (filtered). */
static int run(map_t *m, ak_opcx_t *cx, const ak_val_t *row, const ak_val_t **out)
{
    const ak_val_t *cur = row;
    int which = 0;
    for (int i = 0; i < m->n; i++) {
        const ak_plan_t *p = m->nodes[i];
        switch (p->kind) {
        case P_FILTER: {
            int t = ak_expr_true(p->pred, cur, &cx->x.cx);
            if (t < 0)
                return -1;
            if (!t) {
                *out = NULL;
                return 0;
            }
            break;
        }
        case P_PROJECT: {
            ak_val_t *dst = m->buf[which];
            const bool *need = m->needs[i];
            for (int k = 0; k < p->ncols; k++) {
                if (need && !need[k])
                    dst[k] = ak_v_null();
                else if (ak_op_eval(cx, p->exprs[k], cur, &dst[k]))
                    return -1;
            }
            cur = dst;
            which ^= 1;
            break;
        }
        case P_TRIM: break; /* the first ncols columns: nothing to move */
        default: return ak_errf(cx->err, AK_E_INTERNAL, "map: unexpected plan node %d", p->kind);
        }
    }
    *out = cur;
    return 0;
}

static int emit(map_t *m, ak_opcx_t *cx, const ak_val_t *row, int64_t w)
{
    const ak_val_t *o;
    if (run(m, cx, row, &o))
        return -1;
    if (o && ak_delta_add(&m->op.out, o, w))
        return ak_err_nomem(cx->err);
    return 0;
}

/* ---- temporal filters ---- */

static bool passes(ak_cmp_op_t op, const ak_val_t *v, const ak_val_t *bound)
{
    if (v->type == AK_NULL || bound->type == AK_NULL)
        return false;
    int c = ak_val_cmp(v, bound);
    switch (op) {
    case AK_CMP_LT: return c < 0;
    case AK_CMP_LE: return c <= 0;
    case AK_CMP_GT: return c > 0;
    case AK_CMP_GE: return c >= 0;
    default: return false;
    }
}

typedef struct cross {
    map_t *m;
    ak_opcx_t *cx;
    ak_val_t b0, b1, hi;
    bool all;
    int rc;
} cross_t;

/* One indexed row between the bounds: out at the old time, in at the new. */
static int cross_one(void *ctx, const ak_val_t *t, int64_t n)
{
    cross_t *c = ctx;
    map_t *m = c->m;
    (void)n;
    if (!c->all && ak_val_cmp(&t[0], &c->hi) > 0)
        return 1; /* past the range */
    m->visited++;
    bool before = passes(m->top, &t[0], &c->b0), after = passes(m->top, &t[0], &c->b1);
    if (before == after)
        return 0;
    uint32_t e = (uint32_t)t[1].i;
    ak_unpack(&m->pack, ak_kbag_row(m->rows, e), m->tmp);
    int64_t cnt = ak_kbag_count(m->rows, e);
    c->cx->x.cx.now_us = before ? c->cx->prev_now_us : c->cx->now_us;
    int rc = emit(m, c->cx, m->tmp, before ? -cnt : cnt);
    c->cx->x.cx.now_us = c->cx->now_us;
    if (rc) {
        c->rc = -1;
        return -1;
    }
    return 0;
}

static int temporal_clock(map_t *m, ak_opcx_t *cx)
{
    cross_t c = {m, cx, {{0}}, {{0}}, {{0}}, false, 0};
    cx->x.cx.now_us = cx->prev_now_us;
    int rc = ak_op_eval(cx, m->tbound, m->tmp, &c.b0);
    cx->x.cx.now_us = cx->now_us;
    if (rc || ak_op_eval(cx, m->tbound, m->tmp, &c.b1))
        return -1;
    if (c.b0.type == AK_NULL && c.b1.type == AK_NULL)
        return 0;
    ak_val_t from[2];
    if (c.b0.type == AK_NULL || c.b1.type == AK_NULL) {
        c.all = true; /* everything passes on one side only */
        if (ak_mset_each(&m->index, 2, NULL, cross_one, &c) < 0)
            return -1;
        return c.rc;
    }
    int k = ak_val_cmp(&c.b0, &c.b1);
    if (k == 0)
        return 0; /* the bound did not move (CURRENT_DATE within a day) */
    from[0] = k < 0 ? c.b0 : c.b1;
    from[1] = ak_v_int(INT64_MIN);
    c.hi = k < 0 ? c.b1 : c.b0;
    if (ak_mset_each(&m->index, 2, from, cross_one, &c) < 0)
        return -1;
    return c.rc;
}

/* Keeps (or forgets) a row that passes the clock-free conditions. */
static int temporal_keep(map_t *m, ak_opcx_t *cx, const ak_val_t *row, int64_t w)
{
    for (int i = 0; i < m->nstatic; i++) {
        int t = ak_expr_true(m->statics[i], row, &cx->x.cx);
        if (t <= 0)
            return t;
    }
    if (row[m->tcol].type == AK_NULL)
        return 0;
    ak_pack(&m->pack, row, m->tmp);
    uint32_t g = ak_kbag_group(m->rows, NULL, true), e;
    if (g == AK_KBAG_OOM)
        return ak_err_nomem(cx->err);
    bool existed = ak_kbag_find(m->rows, g, m->tmp) != UINT32_MAX;
    uint32_t before = existed ? ak_kbag_find(m->rows, g, m->tmp) : UINT32_MAX;
    if (ak_kbag_add(m->rows, g, m->tmp, w, &e))
        return ak_err_nomem(cx->err);
    ak_val_t key[2];
    key[0] = row[m->tcol];
    if (!existed && e != UINT32_MAX) {
        key[1] = ak_v_int(e);
        if (ak_mset_add(&m->index, key, 2, 1))
            return ak_err_nomem(cx->err);
    } else if (existed && e == UINT32_MAX) {
        key[1] = ak_v_int(before);
        if (ak_mset_add(&m->index, key, 2, -1))
            return ak_err_nomem(cx->err);
    }
    return 0;
}

static int map_step(ak_op_t *op, ak_opcx_t *cx)
{
    map_t *m = (map_t *)op;
    const ak_delta_t *in = &op->in[0]->out;
    if (m->temporal) {
        if (cx->clock_moved && !cx->first && temporal_clock(m, cx))
            return -1;
        for (size_t i = 0; i < in->n; i++) {
            const ak_val_t *row = ak_delta_row(in, i);
            if (temporal_keep(m, cx, row, in->w[i]) < 0 || emit(m, cx, row, in->w[i]))
                return -1;
        }
        return 0;
    }
    if (m->rows && cx->clock_moved && !cx->first && ak_kbag_ngroups(m->rows)) {
        /* every kept row at the old time out, at the new time in */
        uint32_t g = ak_kbag_group(m->rows, NULL, false);
        size_t n = g == UINT32_MAX ? 0 : ak_kbag_size(m->rows, g);
        const uint32_t *ents = n ? ak_kbag_entries(m->rows, g) : NULL;
        for (size_t i = 0; i < n; i++) {
            ak_unpack(&m->pack, ak_kbag_row(m->rows, ents[i]), m->tmp);
            int64_t c = ak_kbag_count(m->rows, ents[i]);
            cx->x.cx.now_us = cx->prev_now_us;
            int rc = emit(m, cx, m->tmp, -c);
            cx->x.cx.now_us = cx->now_us;
            if (rc || emit(m, cx, m->tmp, c))
                return -1;
        }
    }
    uint32_t g = UINT32_MAX;
    for (size_t i = 0; i < in->n; i++) {
        const ak_val_t *row = ak_delta_row(in, i);
        if (m->rows) {
            ak_pack(&m->pack, row, m->tmp);
            uint32_t e;
            if (g == UINT32_MAX && (g = ak_kbag_group(m->rows, NULL, true)) == AK_KBAG_OOM)
                return ak_err_nomem(cx->err);
            if (ak_kbag_add(m->rows, g, m->tmp, in->w[i], &e))
                return ak_err_nomem(cx->err);
            if (ak_kbag_size(m->rows, g) == 0)
                g = UINT32_MAX; /* the group went away with its last row */
        }
        if (emit(m, cx, row, in->w[i]))
            return -1;
    }
    return 0;
}

static void map_destroy(ak_op_t *op)
{
    map_t *m = (map_t *)op;
    ak_free(m->buf[0]);
    ak_free(m->buf[1]);
    ak_free(m->tmp);
    ak_pack_fini(&m->pack);
    ak_kbag_free(m->rows);
    ak_mset_free(&m->index);
}

static size_t map_bytes(const ak_op_t *op)
{
    const map_t *m = (const map_t *)op;
    return (m->rows ? ak_kbag_bytes(m->rows) : 0) + ak_mset_bytes(&m->index, 2);
}

static void map_describe(const ak_op_t *op, ak_buf_t *out)
{
    const map_t *m = (const map_t *)op;
    int nf = 0, np = 0;
    for (int i = 0; i < m->n; i++) {
        nf += m->nodes[i]->kind == P_FILTER;
        np += m->nodes[i]->kind == P_PROJECT;
    }
    if (nf && np)
        ak_buf_puts(out, "filter and projection, row by row");
    else if (nf)
        ak_buf_puts(out, "filter, row by row");
    else
        ak_buf_puts(out, "projection, row by row");
    if (m->temporal)
        ak_buf_printf(out, "; a temporal filter on `%s`: rows are indexed by it and only those the moving bound "
                           "crosses are visited (%zu rows kept, %llu visited)",
                      m->op.in[0]->names[m->tcol], ak_kbag_ngroups(m->rows) ? ak_kbag_size(m->rows, 0) : 0,
                      (unsigned long long)m->visited);
    else if (m->rows)
        ak_buf_puts(out, "; reads the clock: keeps its input and re-evaluates it when the time moves");
}

static void conjuncts(const ak_expr_t *e, const ak_expr_t **out, int *n, int cap)
{
    if (e->kind == EX_AND) {
        for (int i = 0; i < e->nargs; i++)
            conjuncts(e->args[i], out, n, cap);
        return;
    }
    if (*n < cap)
        out[*n] = e;
    (*n)++;
}

static bool no_columns(const ak_expr_t *e)
{
    if (e->kind == EX_COL || e->subq)
        return false;
    for (int i = 0; i < e->nargs; i++)
        if (!no_columns(e->args[i]))
            return false;
    return true;
}

/* Recognises `col <op> clock-expression` ANDed with clock-free conditions
 * in the first node, with nothing else reading the clock. */
static void find_temporal(map_t *m, const ak_plan_t *const *nodes, int n)
{
    if (nodes[0]->kind != P_FILTER)
        return;
    for (int i = 1; i < n; i++) {
        const ak_plan_t *p = nodes[i];
        if (p->kind == P_FILTER && ak_expr_volatile(p->pred))
            return;
        for (int k = 0; p->kind == P_PROJECT && k < p->ncols; k++)
            if (ak_expr_volatile(p->exprs[k]))
                return;
    }
    const ak_expr_t *c[34];
    int nc = 0;
    conjuncts(nodes[0]->pred, c, &nc, 34);
    if (nc > 33)
        return;
    const ak_expr_t *t = NULL;
    m->nstatic = 0;
    for (int i = 0; i < nc; i++) {
        if (!ak_expr_volatile(c[i])) {
            m->statics[m->nstatic++] = c[i];
            continue;
        }
        if (t || c[i]->kind != EX_CMP)
            return;
        t = c[i];
    }
    if (!t)
        return;
    ak_cmp_op_t op = (ak_cmp_op_t)t->op;
    const ak_expr_t *col = t->args[0], *bound = t->args[1];
    if (col->kind != EX_COL) {
        col = t->args[1];
        bound = t->args[0];
        /* b < col is col > b */
        op = op == AK_CMP_LT ? AK_CMP_GT : op == AK_CMP_LE ? AK_CMP_GE : op == AK_CMP_GT ? AK_CMP_LT
           : op == AK_CMP_GE ? AK_CMP_LE : op;
    }
    if (col->kind != EX_COL || !no_columns(bound) || ak_expr_volatile(col) ||
        !(op == AK_CMP_LT || op == AK_CMP_LE || op == AK_CMP_GT || op == AK_CMP_GE))
        return;
    m->tpos = -1;
    for (int i = 0; i < m->pack.n; i++)
        if (m->pack.cols[i] == col->col)
            m->tpos = i;
    if (m->tpos < 0)
        return;
    m->temporal = true;
    m->tcol = col->col;
    m->top = op;
    m->tbound = bound;
}

/* Output columns back to input columns through the chain (projections
 * that pass them through); false if one is computed. */
static bool map_cols(const map_t *m, const int *cols, int n, int *in)
{
    for (int j = 0; j < n; j++) {
        int c = cols[j];
        for (int i = m->n - 1; i >= 0 && c >= 0; i--) {
            const ak_plan_t *p = m->nodes[i];
            if (p->kind == P_PROJECT)
                c = p->exprs[c]->kind == EX_COL ? p->exprs[c]->col : -1;
        }
        if (c < 0)
            return false;
        in[j] = c;
    }
    return true;
}

static bool map_can_list(const ak_op_t *op, const int *cols, int n)
{
    const map_t *m = (const map_t *)op;
    int in[64];
    const ak_op_t *src = op->in[0];
    return !m->rows && n <= 64 && map_cols(m, cols, n, in) && src->vt->can_list && src->vt->list &&
           src->vt->can_list(src, in, n);
}

typedef struct fwd {
    map_t *m;
    ak_opcx_t *cx;
    ak_list_fn fn;
    void *ctx;
} fwd_t;

static int forward(void *ctx, const ak_val_t *row, int64_t w)
{
    fwd_t *f = ctx;
    const ak_val_t *o;
    if (run(f->m, f->cx, row, &o))
        return -1;
    return o ? f->fn(f->ctx, o, w) : 0;
}

static int map_list(ak_op_t *op, ak_opcx_t *cx, const int *cols, const ak_val_t *key, int n, ak_list_fn fn, void *ctx)
{
    map_t *m = (map_t *)op;
    int in[64];
    if (n > 64 || m->rows || !map_cols(m, cols, n, in) || !op->in[0]->vt->list)
        return 1;
    fwd_t f = {m, cx, fn, ctx};
    return op->in[0]->vt->list(op->in[0], cx, in, key, n, forward, &f);
}

static int map_save(ak_op_t *op, bool full, const ak_state_out_t *out, ak_err_t *err)
{
    return ak_op_bags_save(&((map_t *)op)->rows, 1, full, out, err);
}
static void map_saved(ak_op_t *op) { ak_op_bags_saved(&((map_t *)op)->rows, 1); }
static int map_load(ak_op_t *op, ak_opcx_t *cx, const void *k, size_t kn, const void *v, size_t vn)
{
    map_t *m = (map_t *)op;
    uint32_t e;
    if (ak_op_bags_load(&m->rows, 1, cx, k, kn, v, vn, &e))
        return -1;
    if (!m->temporal || e == UINT32_MAX)
        return 0;
    /* the temporal index follows the rows (a row is loaded once) */
    ak_val_t key[2] = {ak_kbag_row(m->rows, e)[m->tpos], ak_v_int(e)};
    return ak_mset_add(&m->index, key, 2, 1) ? ak_err_nomem(cx->err) : 0;
}

/* Columns a projection passes through, down the chain. */
static bool map_origin(const ak_op_t *op, int col, int *in, int *in_col, int *how)
{
    const map_t *m = (const map_t *)op;
    for (int i = m->n - 1; i >= 0; i--) {
        const ak_plan_t *p = m->nodes[i];
        if (p->kind == P_PROJECT) {
            if (col >= p->ncols || p->exprs[col]->kind != EX_COL)
                return false;
            col = p->exprs[col]->col;
        } else if (p->kind != P_FILTER && p->kind != P_TRIM) {
            return false;
        }
    }
    *in = 0;
    *in_col = col;
    *how = AK_ORIGIN_SAME;
    return true;
}

static const ak_op_vt_t map_vt = {"map",      map_step, map_destroy, map_bytes, map_describe, map_can_list,
                                  map_list,   NULL,     map_save,    map_saved, map_load,     NULL,
                                  map_origin, NULL};

ak_op_t *ak_op_map_new(ak_op_t *in, const ak_plan_t *const *nodes, const bool *const *needs, int n, const bool *inneed,
                       ak_err_t *err)
{
    map_t *m = ak_calloc(1, sizeof *m);
    if (!m) {
        ak_err_nomem(err);
        return NULL;
    }
    ak_op_init(&m->op, &map_vt, nodes[n - 1], needs[n - 1], err);
    m->op.in[0] = in;
    m->op.nin = 1;
    m->nodes = nodes;
    m->needs = needs;
    m->n = n;
    m->width = in->ncols;
    bool clocked = false;
    for (int i = 0; i < n; i++) {
        const ak_plan_t *p = nodes[i];
        if (p->ncols > m->width)
            m->width = p->ncols;
        if (p->kind == P_FILTER)
            clocked |= ak_expr_volatile(p->pred);
        if (p->kind == P_PROJECT)
            for (int k = 0; k < p->ncols; k++)
                clocked |= ak_expr_volatile(p->exprs[k]);
    }
    size_t w = (size_t)(m->width ? m->width : 1);
    m->buf[0] = ak_malloc(sizeof(ak_val_t) * w);
    m->buf[1] = ak_malloc(sizeof(ak_val_t) * w);
    m->tmp = ak_malloc(sizeof(ak_val_t) * w);
    if (!m->buf[0] || !m->buf[1] || !m->tmp || ak_pack_init(&m->pack, inneed, in->ncols))
        goto nomem;
    if (clocked) {
        m->op.clocked = true;
        if (!(m->rows = ak_kbag_new(0, m->pack.n)))
            goto nomem;
        find_temporal(m, nodes, n);
    }
    return &m->op;
nomem:
    ak_err_nomem(err);
    ak_op_free(&m->op);
    return NULL;
}
