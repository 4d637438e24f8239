/* op_window.c - window functions, recomputed per partition.
 *
 * Any window the session operator does not cover lands here: the input is
 * kept grouped by the PARTITION BY key, and a partition that changes is
 * evaluated again by the SQL engine's window code, before and after the
 * change, and the difference goes out.  Rows are handed over in a fixed
 * order (by value), so ties are broken the same way every time.  The cost
 * of a change is the size of its partition; without PARTITION BY that is
 * the whole input.
 */
#include "ak_op.h"

#include "ak_alloc.h"

#include <stdlib.h>
#include <string.h>

typedef struct win {
    ak_op_t op;
    ak_pack_t pack;
    ak_kbag_t *bag;
    ak_rel_t *rel;           /* scratch: one partition's rows */
    ak_rel_t *res;
    ak_val_t *key, *row;
    uint32_t *touched;
    size_t ntouched, cap_touched;
    uint32_t *order;
    size_t cap_order;
} win_t;

static const ak_kbag_t *sort_bag;
static int sort_width;
static int cmp_ent(const void *a, const void *b)
{
    return ak_row_cmp(ak_kbag_row(sort_bag, *(const uint32_t *)a), ak_kbag_row(sort_bag, *(const uint32_t *)b),
                      sort_width);
}

/* Evaluates partition g and emits its rows with weight w. */
static int eval_part(win_t *s, ak_opcx_t *cx, uint32_t g, int64_t w)
{
    size_t n = ak_kbag_size(s->bag, g);
    if (!n)
        return 0;
    if (n > s->cap_order) {
        ak_free(s->order);
        s->cap_order = n * 2;
        if (!(s->order = ak_malloc(sizeof *s->order * s->cap_order)))
            return ak_err_nomem(cx->err);
    }
    memcpy(s->order, ak_kbag_entries(s->bag, g), sizeof *s->order * n);
    sort_bag = s->bag;
    sort_width = s->pack.n;
    qsort(s->order, n, sizeof *s->order, cmp_ent);
    s->rel->nrows = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t c = ak_kbag_count(s->bag, s->order[i]);
        for (int64_t r = 0; r < c; r++) {
            ak_val_t *o = ak_rel_push_n(s->rel, 1);
            if (!o)
                return ak_err_nomem(cx->err);
            ak_unpack(&s->pack, ak_kbag_row(s->bag, s->order[i]), o);
        }
    }
    s->res->nrows = 0;
    if (ak_exec_window(&cx->x, s->op.plan, s->rel, s->res))
        return -1;
    int nc = s->op.ncols;
    for (size_t r = 0; r < s->res->nrows; r++) {
        ak_val_t *o = ak_rel_row(s->res, r);
        for (int c = s->pack.width; c < nc; c++)
            if (o[c].type == AK_TEXT && ak_intern(cx->strs, &o[c]))
                return ak_err_nomem(cx->err);
        if (ak_delta_add(&s->op.out, o, w))
            return ak_err_nomem(cx->err);
    }
    return 0;
}

static int window_step(ak_op_t *op, ak_opcx_t *cx)
{
    win_t *s = (win_t *)op;
    const ak_plan_t *p = op->plan;
    const ak_delta_t *in = &op->in[0]->out;
    s->ntouched = 0;
    for (size_t i = 0; i < in->n; i++) {
        const ak_val_t *row = ak_delta_row(in, i);
        for (int k = 0; k < p->npart; k++)
            if (ak_op_eval(cx, p->part[k], row, &s->key[k]))
                return -1;
        uint32_t g = ak_kbag_group(s->bag, s->key, true);
        if (g == AK_KBAG_OOM)
            return ak_err_nomem(cx->err);
        bool seen = false;
        for (size_t t = 0; t < s->ntouched && !seen; t++)
            seen = s->touched[t] == g;
        if (!seen) {
            /* the partition's old rows go out before it changes */
            if (eval_part(s, cx, g, -1))
                return -1;
            if (AK_GROW(s->touched, s->cap_touched, s->ntouched + 1))
                return ak_err_nomem(cx->err);
            s->touched[s->ntouched++] = g;
        }
        ak_pack(&s->pack, row, s->row);
        uint32_t e;
        if (ak_kbag_add(s->bag, g, s->row, in->w[i], &e))
            return ak_err_nomem(cx->err);
        if (ak_kbag_size(s->bag, g) == 0) {
            /* emptied (and possibly reused later in this step): forget it */
            for (size_t t = 0; t < s->ntouched; t++)
                if (s->touched[t] == g)
                    s->touched[t] = UINT32_MAX;
        }
    }
    for (size_t t = 0; t < s->ntouched; t++)
        if (s->touched[t] != UINT32_MAX && eval_part(s, cx, s->touched[t], 1))
            return -1;
    return 0;
}

static void window_destroy(ak_op_t *op)
{
    win_t *s = (win_t *)op;
    ak_pack_fini(&s->pack);
    ak_kbag_free(s->bag);
    ak_rel_free(s->rel);
    ak_rel_free(s->res);
    ak_free(s->key);
    ak_free(s->row);
    ak_free(s->touched);
    ak_free(s->order);
}

static size_t window_bytes(const ak_op_t *op) { return ak_kbag_bytes(((const win_t *)op)->bag); }

static void window_describe(const ak_op_t *op, ak_buf_t *out)
{
    const win_t *s = (const win_t *)op;
    const ak_plan_t *p = op->plan;
    ak_buf_puts(out, "window functions (");
    for (int i = 0; i < p->nwins; i++)
        ak_buf_printf(out, "%s%s", i ? ", " : "",
                      p->wins[i].fn == WIN_AGG ? ak_agg_name(p->wins[i].agg.fn) : ak_win_name(p->wins[i].fn));
    if (p->npart)
        ak_buf_printf(out, ") recomputed per partition of %d key%s, %zu partitions", p->npart, p->npart == 1 ? "" : "s",
                      ak_kbag_ngroups(s->bag));
    else
        ak_buf_puts(out, ") without PARTITION BY: recomputed over the whole input on every change");
}

static int window_save(ak_op_t *op, bool full, const ak_state_out_t *out, ak_err_t *err)
{
    return ak_op_bags_save(&((win_t *)op)->bag, 1, full, out, err);
}
static void window_saved(ak_op_t *op) { ak_op_bags_saved(&((win_t *)op)->bag, 1); }
static int window_load(ak_op_t *op, ak_opcx_t *cx, const void *k, size_t kn, const void *v, size_t vn)
{
    return ak_op_bags_load(&((win_t *)op)->bag, 1, cx, k, kn, v, vn, NULL);
}

static const ak_op_vt_t window_vt = {"window", window_step, window_destroy, window_bytes, window_describe, NULL, NULL,
                                     NULL, window_save, window_saved, window_load};

ak_op_t *ak_op_window_new(ak_op_t *in, const ak_plan_t *p, const bool *need, const bool *inneed, ak_err_t *err)
{
    win_t *s = ak_calloc(1, sizeof *s);
    if (!s) {
        ak_err_nomem(err);
        return NULL;
    }
    ak_op_init(&s->op, &window_vt, p, need, err);
    s->op.in[0] = in;
    s->op.nin = 1;
    if (ak_pack_init(&s->pack, inneed, in->ncols) || !(s->bag = ak_kbag_new(p->npart, s->pack.n)) ||
        !(s->rel = ak_op_rel(p->child)) || !(s->res = ak_op_rel(p)) ||
        !(s->key = ak_malloc(sizeof(ak_val_t) * (size_t)(p->npart + 1))) ||
        !(s->row = ak_malloc(sizeof(ak_val_t) * (size_t)(in->ncols + 1)))) {
        ak_err_nomem(err);
        ak_op_free(&s->op);
        return NULL;
    }
    return &s->op;
}
