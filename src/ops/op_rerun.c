/* op_rerun.c - nodes without an incremental form (ORDER BY ... LIMIT):
 * the operator keeps its input and, when it changes, runs the nodes again
 * over all of it with the SQL engine and emits the difference from the
 * previous result.  Correct for anything; the cost is the whole input. */
#include "ak_op.h"

#include "ak_alloc.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define MAX_CHAIN 8

typedef struct rerun {
    ak_op_t op;
    ak_kbag_t *in_rows, *out_rows;
    ak_plan_t nodes[MAX_CHAIN];  /* copies, bottom's child replaced by `scan` */
    int n;
    ak_plan_t scan;
    ak_rel_t *rel;
    char why[200];
} rerun_t;

static const ak_kbag_t *sort_bag;
static int sort_width;
static int cmp_ent(const void *a, const void *b)
{
    return ak_row_cmp(ak_kbag_row(sort_bag, *(const uint32_t *)a), ak_kbag_row(sort_bag, *(const uint32_t *)b),
                      sort_width);
}

static int rerun_step(ak_op_t *op, ak_opcx_t *cx)
{
    rerun_t *s = (rerun_t *)op;
    const ak_delta_t *in = &op->in[0]->out;
    if (!in->n && !cx->first && !(op->clocked && cx->clock_moved))
        return 0;
    uint32_t g = ak_kbag_group(s->in_rows, NULL, true);
    if (g == AK_KBAG_OOM)
        return ak_err_nomem(cx->err);
    for (size_t i = 0; i < in->n; i++) {
        uint32_t e;
        if (ak_kbag_add(s->in_rows, g, ak_delta_row(in, i), in->w[i], &e))
            return ak_err_nomem(cx->err);
    }
    g = ak_kbag_group(s->in_rows, NULL, true);
    if (g == AK_KBAG_OOM)
        return ak_err_nomem(cx->err);
    size_t n = ak_kbag_size(s->in_rows, g);
    uint32_t *order = ak_malloc(sizeof *order * (n ? n : 1));
    if (!order)
        return ak_err_nomem(cx->err);
    if (n)
        memcpy(order, ak_kbag_entries(s->in_rows, g), sizeof *order * n);
    sort_bag = s->in_rows;
    sort_width = s->scan.ncols;
    qsort(order, n, sizeof *order, cmp_ent);
    s->rel->nrows = 0;
    for (size_t i = 0; i < n; i++)
        for (int64_t c = ak_kbag_count(s->in_rows, order[i]); c > 0; c--) {
            ak_val_t *o = ak_rel_push_n(s->rel, 1);
            if (!o) {
                ak_free(order);
                return ak_err_nomem(cx->err);
            }
            memcpy(o, ak_kbag_row(s->in_rows, order[i]), sizeof *o * (size_t)s->scan.ncols);
        }
    ak_free(order);
    ak_rel_t *res;
    bool owned;
    if (ak_exec_plan(&cx->x, &s->nodes[s->n - 1], &res, &owned))
        return -1;
    /* old result out, new result in */
    uint32_t og = ak_kbag_group(s->out_rows, NULL, false);
    size_t on = og == UINT32_MAX ? 0 : ak_kbag_size(s->out_rows, og);
    for (size_t i = 0; i < on; i++) {
        uint32_t e = ak_kbag_entries(s->out_rows, og)[i];
        if (ak_delta_add(&op->out, ak_kbag_row(s->out_rows, e), -ak_kbag_count(s->out_rows, e)))
            goto nomem;
    }
    /* emptied in place (not replaced), so checkpoints see the removals */
    if (ak_kbag_clear(s->out_rows))
        goto nomem;
    og = ak_kbag_group(s->out_rows, NULL, true);
    if (og == AK_KBAG_OOM)
        goto nomem;
    for (size_t r = 0; r < res->nrows; r++) {
        ak_val_t *row = ak_rel_row(res, r);
        uint32_t e;
        for (int c = 0; c < op->ncols; c++)
            if (row[c].type == AK_TEXT && ak_intern(cx->strs, &row[c]))
                goto nomem;
        if (ak_kbag_add(s->out_rows, og, row, 1, &e) || ak_delta_add(&op->out, row, 1))
            goto nomem;
    }
    if (owned)
        ak_rel_free(res);
    return 0;
nomem:
    if (owned)
        ak_rel_free(res);
    return ak_err_nomem(cx->err);
}

static void rerun_destroy(ak_op_t *op)
{
    rerun_t *s = (rerun_t *)op;
    ak_kbag_free(s->in_rows);
    ak_kbag_free(s->out_rows);
    ak_rel_free(s->rel);
}

static size_t rerun_bytes(const ak_op_t *op)
{
    const rerun_t *s = (const rerun_t *)op;
    return ak_kbag_bytes(s->in_rows) + ak_kbag_bytes(s->out_rows);
}

static void rerun_describe(const ak_op_t *op, ak_buf_t *out)
{
    ak_buf_printf(out, "recomputed over its whole input on every change (%s)", ((const rerun_t *)op)->why);
}

static int rerun_save(ak_op_t *op, bool full, const ak_state_out_t *out, ak_err_t *err)
{
    rerun_t *s = (rerun_t *)op;
    ak_kbag_t *bags[2] = {s->in_rows, s->out_rows};
    return ak_op_bags_save(bags, 2, full, out, err);
}
static void rerun_saved(ak_op_t *op)
{
    rerun_t *s = (rerun_t *)op;
    ak_kbag_t *bags[2] = {s->in_rows, s->out_rows};
    ak_op_bags_saved(bags, 2);
}
static int rerun_load(ak_op_t *op, ak_opcx_t *cx, const void *k, size_t kn, const void *v, size_t vn)
{
    rerun_t *s = (rerun_t *)op;
    ak_kbag_t *bags[2] = {s->in_rows, s->out_rows};
    return ak_op_bags_load(bags, 2, cx, k, kn, v, vn, NULL);
}

static const ak_op_vt_t rerun_vt = {"rerun", rerun_step, rerun_destroy, rerun_bytes, rerun_describe, NULL, NULL, NULL,
                                    rerun_save, rerun_saved, rerun_load};

ak_op_t *ak_op_rerun_new(ak_op_t *in, const ak_plan_t *top, int depth, const char *why, ak_err_t *err)
{
    rerun_t *s = ak_calloc(1, sizeof *s);
    if (!s) {
        ak_err_nomem(err);
        return NULL;
    }
    ak_op_init(&s->op, &rerun_vt, top, NULL, err);
    s->op.in[0] = in;
    s->op.nin = 1;
    snprintf(s->why, sizeof s->why, "%s", why);
    if (depth < 1 || depth > MAX_CHAIN) {
        ak_errf(err, AK_E_INTERNAL, "rerun: chain of %d nodes", depth);
        ak_op_free(&s->op);
        return NULL;
    }
    /* copy the chain top-down, then link bottom-up */
    const ak_plan_t *p = top;
    for (int i = depth - 1; i >= 0; i--, p = p->child)
        s->nodes[i] = *p;
    s->n = depth;
    for (int i = 1; i < depth; i++)
        s->nodes[i].child = &s->nodes[i - 1];
    const ak_plan_t *bottom_child = p; /* the child of the lowest node */
    s->scan = (ak_plan_t){.kind = P_SCAN, .ncols = bottom_child->ncols, .names = bottom_child->names,
                          .types = bottom_child->types};
    s->nodes[0].child = &s->scan;
    s->op.clocked = false;
    for (int i = 0; i < depth; i++)
        for (int k = 0; k < s->nodes[i].nkeys_sort; k++)
            s->op.clocked |= ak_expr_volatile(s->nodes[i].keys[k].expr);
    if (!(s->in_rows = ak_kbag_new(0, bottom_child->ncols)) || !(s->out_rows = ak_kbag_new(0, top->ncols)) ||
        !(s->rel = ak_op_rel(bottom_child))) {
        ak_err_nomem(err);
        ak_op_free(&s->op);
        return NULL;
    }
    s->scan.table.rel = s->rel;
    s->scan.table.ncols = s->rel->ncols;
    return &s->op;
}
