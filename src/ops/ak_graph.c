/* ak_graph.c - operator selection for a bound plan. */
#include "ak_graph.h"

#include "ak_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_NODES 512

typedef struct builder {
    ak_sql_stmt_t *st;
    ak_graph_t *g;
    ak_graph_source_fn source;
    void *ctx;
    ak_err_t *err;
    char *why;
    size_t whycap;
    /* every plan node reachable, with what its consumers read and its operator */
    const ak_plan_t *nodes[MAX_NODES];
    bool *need[MAX_NODES];
    ak_op_t *op[MAX_NODES];
    int nnodes;
    bool unsupported;
} builder_t;

static int refuse(builder_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(builder_t *b, const char *fmt, ...)
{
    if (!b->unsupported) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->why, b->whycap, fmt, ap);
        va_end(ap);
    }
    b->unsupported = true;
    return 1;
}

static int node_id(const builder_t *b, const ak_plan_t *p)
{
    for (int i = 0; i < b->nnodes; i++)
        if (b->nodes[i] == p)
            return i;
    return -1;
}

static bool has_subquery_any(const ak_plan_t *p)
{
    if (p->pred && ak_expr_has_subquery(p->pred))
        return true;
    if (p->residual && ak_expr_has_subquery(p->residual))
        return true;
    for (int i = 0; p->kind == P_PROJECT && i < p->ncols; i++)
        if (ak_expr_has_subquery(p->exprs[i]))
            return true;
    for (int i = 0; i < p->nkeys; i++)
        if (ak_expr_has_subquery(p->lkeys[i]) || ak_expr_has_subquery(p->rkeys[i]))
            return true;
    for (int i = 0; i < p->ngroups; i++)
        if (ak_expr_has_subquery(p->groups[i]))
            return true;
    for (int a = 0; a < p->naggs; a++) {
        for (int k = 0; k < p->aggs[a].nargs; k++)
            if (ak_expr_has_subquery(p->aggs[a].args[k]))
                return true;
        if (ak_expr_has_subquery(p->aggs[a].filter))
            return true;
    }
    for (int i = 0; i < p->npart; i++)
        if (ak_expr_has_subquery(p->part[i]))
            return true;
    for (int i = 0; i < p->nord; i++)
        if (ak_expr_has_subquery(p->ord[i].expr))
            return true;
    for (int w = 0; w < p->nwins; w++)
        for (int k = 0; k < p->wins[w].agg.nargs; k++)
            if (ak_expr_has_subquery(p->wins[w].agg.args[k]))
                return true;
    for (int i = 0; i < p->nkeys_sort; i++)
        if (ak_expr_has_subquery(p->keys[i].expr))
            return true;
    return false;
}

/* Collects every node (CTE bodies once), parents before children. */
static int collect(builder_t *b, const ak_plan_t *p)
{
    if (!p || node_id(b, p) >= 0)
        return 0;
    if (b->nnodes == MAX_NODES)
        return refuse(b, "the plan has more than %d operators", MAX_NODES);
    int id = b->nnodes++;
    b->nodes[id] = p;
    b->need[id] = ak_arena_zalloc(&b->g->arena, sizeof(bool) * (size_t)(p->ncols + 1));
    if (!b->need[id])
        return ak_err_nomem(b->err);
    if (has_subquery_any(p))
        refuse(b, "a subquery inside an expression");
    if (p->kind == P_CTE) {
        int rc = collect(b, b->st->ctes[p->cte].plan);
        if (rc)
            return rc;
    }
    int rc = collect(b, p->child);
    return rc ? rc : collect(b, p->right);
}

static bool *need_of(builder_t *b, const ak_plan_t *p) { return b->need[node_id(b, p)]; }

static bool mark(bool *dst, int i)
{
    if (dst[i])
        return false;
    dst[i] = true;
    return true;
}

static bool mark_expr(bool *dst, int n, const ak_expr_t *e)
{
    if (!e)
        return false;
    bool ch = false;
    if (e->kind == EX_COL && e->col >= 0 && e->col < n)
        ch |= mark(dst, e->col);
    for (int i = 0; i < e->nargs; i++)
        ch |= mark_expr(dst, n, e->args[i]);
    return ch;
}

/* Pushes node p's needs to its children; returns whether anything changed. */
static bool propagate(builder_t *b, const ak_plan_t *p)
{
    const bool *need = need_of(b, p);
    bool ch = false;
    const ak_plan_t *c = p->child;
    bool *cn = c ? need_of(b, c) : NULL;
    int cw = c ? c->ncols : 0;
    switch (p->kind) {
    case P_SCAN:
    case P_ONE_ROW: break;
    case P_CTE: {
        const ak_plan_t *body = b->st->ctes[p->cte].plan;
        bool *bn = need_of(b, body);
        for (int i = 0; i < p->ncols && i < body->ncols; i++)
            if (need[i])
                ch |= mark(bn, i);
        break;
    }
    case P_FILTER:
        for (int i = 0; i < cw; i++)
            if (i < p->ncols && need[i])
                ch |= mark(cn, i);
        ch |= mark_expr(cn, cw, p->pred);
        break;
    case P_PROJECT:
        for (int i = 0; i < p->ncols; i++)
            if (need[i])
                ch |= mark_expr(cn, cw, p->exprs[i]);
        break;
    case P_TRIM:
    case P_SORT:
    case P_LIMIT:
        for (int i = 0; i < p->ncols && i < cw; i++)
            if (need[i] || p->kind == P_LIMIT)
                ch |= mark(cn, i);
        for (int k = 0; k < p->nkeys_sort; k++)
            ch |= mark_expr(cn, cw, p->keys[k].expr);
        break;
    case P_JOIN: {
        bool *rn = need_of(b, p->right);
        int nl = cw, nr = p->right->ncols;
        for (int i = 0; i < nl; i++)
            if (need[i])
                ch |= mark(cn, i);
        for (int i = 0; i < nr; i++)
            if (need[nl + i])
                ch |= mark(rn, i);
        for (int k = 0; k < p->nkeys; k++) {
            ch |= mark_expr(cn, nl, p->lkeys[k]);
            ch |= mark_expr(rn, nr, p->rkeys[k]);
        }
        if (p->residual) {
            bool tmp[1024] = {0};
            if (nl + nr > 1024)
                break;
            mark_expr(tmp, nl + nr, p->residual);
            for (int i = 0; i < nl; i++)
                if (tmp[i])
                    ch |= mark(cn, i);
            for (int i = 0; i < nr; i++)
                if (tmp[nl + i])
                    ch |= mark(rn, i);
        }
        break;
    }
    case P_AGG:
        for (int k = 0; k < p->ngroups; k++)
            ch |= mark_expr(cn, cw, p->groups[k]);
        for (int a = 0; a < p->naggs; a++) {
            for (int k = 0; k < p->aggs[a].nargs; k++)
                ch |= mark_expr(cn, cw, p->aggs[a].args[k]);
            ch |= mark_expr(cn, cw, p->aggs[a].filter);
        }
        break;
    case P_WINDOW:
        for (int i = 0; i < cw; i++)
            if (need[i])
                ch |= mark(cn, i);
        for (int k = 0; k < p->npart; k++)
            ch |= mark_expr(cn, cw, p->part[k]);
        for (int k = 0; k < p->nord; k++)
            ch |= mark_expr(cn, cw, p->ord[k].expr);
        for (int w = 0; w < p->nwins; w++) {
            for (int k = 0; k < p->wins[w].agg.nargs; k++)
                ch |= mark_expr(cn, cw, p->wins[w].agg.args[k]);
            ch |= mark_expr(cn, cw, p->wins[w].agg.filter);
        }
        break;
    case P_DISTINCT:
        for (int i = 0; i < cw; i++)
            ch |= mark(cn, i);
        break;
    case P_SETOP:
        for (int i = 0; i < cw; i++)
            ch |= mark(cn, i);
        for (int i = 0; i < p->right->ncols; i++)
            ch |= mark(need_of(b, p->right), i);
        break;
    }
    return ch;
}

static int add_op(builder_t *b, ak_op_t *op)
{
    if (!op)
        return -1;
    if (AK_GROW(b->g->ops, b->g->cap, b->g->nops + 1)) {
        ak_op_free(op);
        return ak_err_nomem(b->err);
    }
    op->id = (int)b->g->nops + 1;
    b->g->ops[b->g->nops++] = op;
    return 0;
}

static ak_op_t *build(builder_t *b, const ak_plan_t *p);

/* ---- session windows ---- */

static bool running_sum(const ak_wincall_t *w)
{
    if (w->fn != WIN_AGG || w->agg.distinct || w->agg.filter)
        return false;
    if (w->agg.fn == AGG_SUM) {
        if (w->agg.nargs != 1 || w->agg.args[0]->type != AK_INT)
            return false;
    } else if (w->agg.fn != AGG_COUNT && w->agg.fn != AGG_COUNT_STAR) {
        return false;
    }
    const ak_frame_t *f = &w->frame;
    if (f->unit == FRAME_DEFAULT)
        return true;
    return (f->unit == FRAME_ROWS || f->unit == FRAME_RANGE) && f->start_kind == BOUND_UNBOUNDED_PRECEDING &&
           f->end_kind == BOUND_CURRENT_ROW;
}

static bool plain_lag(const ak_wincall_t *w)
{
    if (w->fn != WIN_LAG || w->ignore_nulls)
        return false;
    const ak_aggcall_t *a = &w->agg;
    if (a->nargs >= 2 && !(a->args[1]->kind == EX_CONST && a->args[1]->val.type == AK_INT && a->args[1]->val.i == 1))
        return false;
    if (a->nargs >= 3 && !(a->args[2]->kind == EX_CONST && a->args[2]->val.type == AK_NULL))
        return false;
    return a->nargs >= 1;
}

/* Follows column `col` of node p down the chain of projections to w1's
 * output; -1 if it is computed on the way. */
static int trace(builder_t *b, const ak_plan_t *p, const ak_plan_t *w1, int col)
{
    while (p != w1) {
        if (p->kind == P_PROJECT) {
            const ak_expr_t *e = p->exprs[col];
            if (e->kind != EX_COL)
                return -1;
            col = e->col;
            p = p->child;
        } else if (p->kind == P_TRIM) {
            p = p->child;
        } else if (p->kind == P_CTE) {
            p = b->st->ctes[p->cte].plan;
        } else {
            return -1;
        }
    }
    return col;
}

static ak_op_t *try_session(builder_t *b, const ak_plan_t *w2, char *why, size_t cap)
{
    if (w2->nord < 1 || w2->nwins < 1 || w2->nwins > 8) {
        snprintf(why, cap, "not a session pattern (needs ORDER BY and up to 8 running sums)");
        return NULL;
    }
    for (int i = 0; i < w2->nwins; i++)
        if (!running_sum(&w2->wins[i])) {
            snprintf(why, cap, "not a session pattern (%s is not a running SUM/COUNT of an integer)",
                     w2->wins[i].fn == WIN_AGG ? ak_agg_name(w2->wins[i].agg.fn) : ak_win_name(w2->wins[i].fn));
            return NULL;
        }
    for (int i = 1; i < w2->nwins; i++)
        if (w2->wins[i].frame.unit != w2->wins[0].frame.unit) {
            snprintf(why, cap, "not a session pattern (running sums with different frames)");
            return NULL;
        }
    /* down through projections and CTE references to the LAG window */
    const ak_plan_t *chain_top_down[32];
    int nchain = 0;
    const ak_plan_t *p = w2->child;
    for (;;) {
        if (p->kind == P_PROJECT || p->kind == P_TRIM) {
            if (nchain == 32)
                break;
            chain_top_down[nchain++] = p;
            p = p->child;
        } else if (p->kind == P_CTE) {
            p = b->st->ctes[p->cte].plan;
        } else {
            break;
        }
    }
    const ak_plan_t *w1 = p;
    if (w1->kind != P_WINDOW || w1->nwins != 1 || !plain_lag(&w1->wins[0])) {
        snprintf(why, cap, "not a session pattern (the running sum is not over a LAG window)");
        return NULL;
    }
    for (int i = 0; i < nchain; i++) {
        const ak_plan_t *c = chain_top_down[i];
        for (int k = 0; c->kind == P_PROJECT && k < c->ncols; k++)
            if (ak_expr_volatile(c->exprs[k])) {
                snprintf(why, cap, "not a session pattern (the new-session test reads the clock)");
                return NULL;
            }
    }
    if (w1->npart != w2->npart || w1->nord != w2->nord) {
        snprintf(why, cap, "not a session pattern (LAG and the running sum use different windows)");
        return NULL;
    }
    int n0 = w1->child->ncols;
    for (int i = 0; i < w1->npart + w1->nord; i++) {
        const ak_expr_t *e1 = i < w1->npart ? w1->part[i] : w1->ord[i - w1->npart].expr;
        const ak_expr_t *e2 = i < w2->npart ? w2->part[i] : w2->ord[i - w2->npart].expr;
        if (e1->kind != EX_COL || e2->kind != EX_COL || trace(b, w2->child, w1, e2->col) != e1->col ||
            e1->col >= n0) {
            snprintf(why, cap, "not a session pattern (LAG and the running sum use different windows)");
            return NULL;
        }
        if (i >= w1->npart) {
            const ak_sortkey_t *k1 = &w1->ord[i - w1->npart], *k2 = &w2->ord[i - w2->npart];
            if (k1->desc != k2->desc || k1->nulls_first != k2->nulls_first) {
                snprintf(why, cap, "not a session pattern (the windows sort differently)");
                return NULL;
            }
        }
    }
    ak_op_t *in = build(b, w1->child);
    if (!in)
        return NULL;
    const ak_plan_t **chain = ak_arena_alloc(&b->g->arena, sizeof *chain * (size_t)(nchain + 1));
    const bool **needs = ak_arena_alloc(&b->g->arena, sizeof *needs * (size_t)(nchain + 1));
    if (!chain || !needs) {
        ak_err_nomem(b->err);
        return NULL;
    }
    for (int i = 0; i < nchain; i++) {
        chain[i] = chain_top_down[nchain - 1 - i];
        needs[i] = need_of(b, chain[i]);
    }
    ak_op_t *op = ak_op_session_new(in, w1, chain, needs, nchain, w2, need_of(b, w2), need_of(b, w1->child), b->err);
    if (op && add_op(b, op))
        return NULL;
    return op;
}

/* ---- dispatch ---- */

static ak_op_t *build_map(builder_t *b, const ak_plan_t *top)
{
    const ak_plan_t *chain_top_down[64];
    int n = 0;
    const ak_plan_t *p = top;
    while (n < 64 && (p->kind == P_FILTER || p->kind == P_PROJECT || p->kind == P_TRIM ||
                      (p->kind == P_SORT && p != top))) {
        chain_top_down[n++] = p;
        p = p->child;
    }
    ak_op_t *in = build(b, p);
    if (!in)
        return NULL;
    const ak_plan_t **nodes = ak_arena_alloc(&b->g->arena, sizeof *nodes * (size_t)n);
    const bool **needs = ak_arena_alloc(&b->g->arena, sizeof *needs * (size_t)n);
    if (!nodes || !needs) {
        ak_err_nomem(b->err);
        return NULL;
    }
    int k = 0;
    for (int i = n - 1; i >= 0; i--) {
        if (chain_top_down[i]->kind == P_SORT)
            continue; /* a sort in the middle changes nothing for a multiset */
        nodes[k] = chain_top_down[i];
        needs[k] = need_of(b, chain_top_down[i]);
        k++;
    }
    if (k == 0)
        return in;
    ak_op_t *op = ak_op_map_new(in, nodes, needs, k, need_of(b, p), b->err);
    return op && add_op(b, op) == 0 ? op : NULL;
}

static ak_op_t *build(builder_t *b, const ak_plan_t *p)
{
    int id = node_id(b, p);
    if (id < 0) {
        ak_errf(b->err, AK_E_INTERNAL, "graph: unknown plan node");
        return NULL;
    }
    if (b->op[id])
        return b->op[id];
    ak_op_t *op = NULL;
    char why[200] = "";
    switch (p->kind) {
    case P_SCAN: {
        const ak_sql_scan_info_t *info = NULL;
        const ak_sql_scan_info_t *scans;
        int ns;
        ak_sql_stmt_scans(b->st, &scans, &ns);
        if (p->scan >= 0 && p->scan < ns)
            info = &scans[p->scan];
        op = b->source(b->ctx, p, info, why, sizeof why, b->err);
        if (!op && !b->err->code)
            refuse(b, "%s", why);
        b->op[id] = op;
        return op;
    }
    case P_ONE_ROW:
        op = ak_op_one_row_new(p, b->err);
        if (op && add_op(b, op))
            op = NULL;
        break;
    case P_CTE: op = build(b, b->st->ctes[p->cte].plan); break;
    case P_FILTER:
    case P_PROJECT:
    case P_TRIM: op = build_map(b, p); break;
    case P_SORT: op = build(b, p->child); break; /* order is not part of a table */
    case P_LIMIT: {
        int depth = p->child->kind == P_SORT ? 2 : 1;
        const ak_plan_t *below = depth == 2 ? p->child->child : p->child;
        ak_op_t *in = build(b, below);
        if (!in)
            return NULL;
        op = ak_op_rerun_new(in, p, depth, "LIMIT has no incremental form", b->err);
        if (op && add_op(b, op))
            op = NULL;
        break;
    }
    case P_JOIN: {
        ak_op_t *l = build(b, p->child), *r = l ? build(b, p->right) : NULL;
        if (!r)
            return NULL;
        /* a lookup join: the left side listed by key from its producer */
        bool pull = (p->join == JOIN_INNER || p->join == JOIN_LEFT) && p->nkeys > 0 && p->nkeys <= 64 &&
                    l->vt->can_list && l->vt->list;
        int lcols[64];
        for (int k = 0; pull && k < p->nkeys; k++) {
            pull = p->lkeys[k]->kind == EX_COL;
            lcols[k] = pull ? p->lkeys[k]->col : -1;
        }
        pull = pull && l->vt->can_list(l, lcols, p->nkeys);
        op = ak_op_join_new(l, r, p, need_of(b, p), need_of(b, p->child), need_of(b, p->right), pull, b->err);
        if (op && add_op(b, op))
            op = NULL;
        break;
    }
    case P_AGG: {
        ak_op_t *in = build(b, p->child);
        if (!in)
            return NULL;
        op = ak_op_group_new(in, p, need_of(b, p), b->err);
        if (op && add_op(b, op))
            op = NULL;
        break;
    }
    case P_WINDOW: {
        op = try_session(b, p, why, sizeof why);
        if (op || b->err->code)
            break;
        ak_op_t *in = build(b, p->child);
        if (!in)
            return NULL;
        op = ak_op_window_new(in, p, need_of(b, p), need_of(b, p->child), b->err);
        if (op && (add_op(b, op) || ak_op_note(op, "%s", why)))
            op = NULL;
        break;
    }
    case P_DISTINCT: {
        ak_op_t *in = build(b, p->child);
        if (!in)
            return NULL;
        op = ak_op_distinct_new(in, p, b->err);
        if (op && add_op(b, op))
            op = NULL;
        break;
    }
    case P_SETOP: {
        ak_op_t *l = build(b, p->child), *r = l ? build(b, p->right) : NULL;
        if (!r)
            return NULL;
        op = ak_op_setop_new(l, r, p, b->err);
        if (op && add_op(b, op))
            op = NULL;
        break;
    }
    }
    b->op[id] = op;
    return op;
}

int ak_graph_build(ak_sql_stmt_t *st, ak_graph_source_fn source, void *ctx, ak_graph_t *g, char *why, size_t whycap,
                   ak_err_t *err)
{
    memset(g, 0, sizeof *g);
    ak_arena_init(&g->arena, 16 * 1024);
    builder_t *b = ak_calloc(1, sizeof *b);
    if (!b)
        return ak_err_nomem(err);
    b->st = st;
    b->g = g;
    b->source = source;
    b->ctx = ctx;
    b->err = err;
    b->why = why;
    b->whycap = whycap;
    ak_err_clear(err);
    int rc = collect(b, st->root);
    if (rc < 0 || b->unsupported)
        goto done;
    bool *rn = need_of(b, st->root);
    for (int i = 0; i < st->root->ncols; i++)
        rn[i] = true;
    for (int pass = 0; pass < 64; pass++) {
        bool ch = false;
        for (int i = 0; i < b->nnodes; i++)
            ch |= propagate(b, b->nodes[i]);
        if (!ch)
            break;
    }
    g->root = build(b, st->root);
    if (!g->root)
        rc = b->unsupported ? 1 : -1;
done:
    if (rc == 0 && b->unsupported)
        rc = 1;
    if (rc)
        ak_graph_free(g);
    ak_free(b);
    return rc;
}

void ak_graph_free(ak_graph_t *g)
{
    for (size_t i = 0; i < g->nops; i++)
        ak_op_free(g->ops[i]);
    ak_free(g->ops);
    ak_arena_free(&g->arena);
    memset(g, 0, sizeof *g);
}

static bool expr_clock(const ak_expr_t *e, int depth);

static bool plan_clock(const ak_plan_t *p, const ak_sql_stmt_t *st, int depth)
{
    if (!p || depth > 64)
        return false;
    if (expr_clock(p->pred, depth) || expr_clock(p->residual, depth))
        return true;
    for (int i = 0; p->kind == P_PROJECT && i < p->ncols; i++)
        if (expr_clock(p->exprs[i], depth))
            return true;
    for (int i = 0; i < p->nkeys; i++)
        if (expr_clock(p->lkeys[i], depth) || expr_clock(p->rkeys[i], depth))
            return true;
    for (int i = 0; i < p->ngroups; i++)
        if (expr_clock(p->groups[i], depth))
            return true;
    for (int a = 0; a < p->naggs; a++) {
        for (int k = 0; k < p->aggs[a].nargs; k++)
            if (expr_clock(p->aggs[a].args[k], depth))
                return true;
        if (expr_clock(p->aggs[a].filter, depth))
            return true;
    }
    for (int i = 0; i < p->npart; i++)
        if (expr_clock(p->part[i], depth))
            return true;
    for (int i = 0; i < p->nord; i++)
        if (expr_clock(p->ord[i].expr, depth))
            return true;
    for (int w = 0; w < p->nwins; w++)
        for (int k = 0; k < p->wins[w].agg.nargs; k++)
            if (expr_clock(p->wins[w].agg.args[k], depth))
                return true;
    for (int i = 0; i < p->nkeys_sort; i++)
        if (expr_clock(p->keys[i].expr, depth))
            return true;
    if (p->kind == P_CTE && plan_clock(st->ctes[p->cte].plan, st, depth + 1))
        return true;
    return plan_clock(p->child, st, depth + 1) || plan_clock(p->right, st, depth + 1);
}

static const ak_sql_stmt_t *clock_st;

static bool expr_clock(const ak_expr_t *e, int depth)
{
    if (!e)
        return false;
    if (e->kind == EX_FUNC && e->fn && e->fn->is_volatile)
        return true;
    if (e->subq && plan_clock(e->subq, clock_st, depth + 1))
        return true;
    for (int i = 0; i < e->nargs; i++)
        if (expr_clock(e->args[i], depth))
            return true;
    return false;
}

bool ak_plan_reads_clock(const ak_sql_stmt_t *st)
{
    clock_st = st;
    return plan_clock(st->root, st, 0);
}
