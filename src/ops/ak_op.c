/* ak_op.c - what every incremental operator shares. */
#include "ak_op.h"

#include "ak_alloc.h"
#include "ak_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ak_op_init(ak_op_t *op, const ak_op_vt_t *vt, const ak_plan_t *p, const bool *need, ak_err_t *err)
{
    (void)err;
    op->vt = vt;
    op->plan = p;
    op->ncols = p->ncols;
    op->types = p->types;
    op->names = p->names;
    op->need = need;
    ak_delta_init(&op->out, p->ncols);
    return 0;
}

void ak_op_fini(ak_op_t *op)
{
    ak_delta_free(&op->out);
    ak_free(op->note);
    op->note = NULL;
}

void ak_op_free(ak_op_t *op)
{
    if (!op)
        return;
    if (op->vt && op->vt->destroy)
        op->vt->destroy(op);
    ak_op_fini(op);
    ak_free(op);
}

int ak_op_note(ak_op_t *op, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ak_free(op->note);
    op->note = ak_strdup(buf);
    return op->note ? 0 : -1;
}

int ak_op_eval(ak_opcx_t *cx, const ak_expr_t *e, const ak_val_t *row, ak_val_t *out)
{
    if (e->kind == EX_COL) {
        *out = row[e->col];
        return 0;
    }
    if (ak_expr_eval(e, row, &cx->x.cx, out))
        return -1;
    if (out->type == AK_TEXT && e->kind != EX_CONST && ak_intern(cx->strs, out))
        return ak_err_nomem(cx->err);
    return 0;
}

bool ak_expr_volatile(const ak_expr_t *e)
{
    if (!e)
        return false;
    if (e->kind == EX_FUNC && e->fn && e->fn->is_volatile)
        return true;
    for (int i = 0; i < e->nargs; i++)
        if (ak_expr_volatile(e->args[i]))
            return true;
    return false;
}

bool ak_expr_has_subquery(const ak_expr_t *e)
{
    if (!e)
        return false;
    if (e->kind == EX_SUBQ || e->kind == EX_IN_SUBQ || e->kind == EX_EXISTS)
        return true;
    for (int i = 0; i < e->nargs; i++)
        if (ak_expr_has_subquery(e->args[i]))
            return true;
    return false;
}

void ak_expr_cols(const ak_expr_t *e, bool *cols, int ncols)
{
    if (!e)
        return;
    if (e->kind == EX_COL && e->col >= 0 && e->col < ncols)
        cols[e->col] = true;
    for (int i = 0; i < e->nargs; i++)
        ak_expr_cols(e->args[i], cols, ncols);
}

ak_rel_t *ak_op_rel(const ak_plan_t *p) { return ak_rel_new(p->ncols, (const char *const *)p->names, p->types); }

int ak_pack_init(ak_pack_t *p, const bool *keep, int width)
{
    p->width = width;
    p->n = 0;
    p->cols = ak_malloc(sizeof *p->cols * (size_t)(width ? width : 1));
    if (!p->cols)
        return -1;
    for (int i = 0; i < width; i++)
        if (!keep || keep[i])
            p->cols[p->n++] = i;
    return 0;
}

void ak_pack_fini(ak_pack_t *p)
{
    ak_free(p->cols);
    p->cols = NULL;
}

int ak_op_step(ak_op_t *op, ak_opcx_t *cx)
{
    int64_t t0 = ak_mono_us();
    ak_delta_clear(&op->out);
    /* deltas are not consolidated between operators: each operator emits
     * its changes in an order that is valid applied one by one (a row is
     * retracted only after it was added), and every operator applies them
     * one by one */
    for (int i = 0; i < op->nin; i++)
        op->rows_in += op->in[i]->out.n;
    int rc = cx->compacting && op->vt->compact ? op->vt->compact(op, cx) : op->vt->step(op, cx);
    op->rows_out += op->out.n;
    op->steps++;
    op->busy_us += ak_mono_us() - t0;
    return rc;
}

int ak_op_bags_save(ak_kbag_t *const *bags, int n, bool full, const ak_state_out_t *out, ak_err_t *err)
{
    for (int i = 0; i < n; i++)
        if (bags[i] && ak_kbag_save(bags[i], (uint8_t)i, full, out, err))
            return -1;
    return 0;
}

void ak_op_bags_saved(ak_kbag_t *const *bags, int n)
{
    for (int i = 0; i < n; i++)
        if (bags[i])
            ak_kbag_saved(bags[i]);
}

int ak_op_intern_cb(void *ctx, ak_val_t *v) { return v->type == AK_TEXT ? ak_intern(ctx, v) : 0; }

int ak_op_bags_load(ak_kbag_t *const *bags, int n, ak_opcx_t *cx, const void *key, size_t kn, const void *val,
                    size_t vn, uint32_t *eid)
{
    uint8_t tag = kn ? *(const uint8_t *)key : 0xff;
    if (tag >= n || !bags[tag])
        return ak_errf(cx->err, AK_E_CORRUPT, "checkpoint: a record names no state of this operator");
    return ak_kbag_load(bags[tag], key, kn, val, vn, ak_op_intern_cb, cx->strs, eid, cx->err);
}
