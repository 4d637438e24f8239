/* op_source.c - the rows of an input table, and the one row of SELECT
 * without FROM.  A table's listener pushes its changes between steps; the
 * step hands them on. */
#include "ak_op.h"

#include "ak_alloc.h"

#include <stdio.h>

typedef struct source {
    ak_op_t op;
    ak_delta_t pending;
    char name[128];
    bool emitted;            /* one-row: the row went out */
} source_t;

static int source_step(ak_op_t *op, ak_opcx_t *cx)
{
    source_t *s = (source_t *)op;
    (void)cx;
    ak_delta_t t = op->out;
    op->out = s->pending;
    s->pending = t;
    ak_delta_clear(&s->pending);
    return 0;
}

static void source_destroy(ak_op_t *op) { ak_delta_free(&((source_t *)op)->pending); }
static size_t source_bytes(const ak_op_t *op) { return ak_delta_bytes(&((const source_t *)op)->pending); }
static void source_describe(const ak_op_t *op, ak_buf_t *out)
{
    ak_buf_printf(out, "changes of input `%s`", ((const source_t *)op)->name);
}

static const ak_op_vt_t source_vt = {"source", source_step, source_destroy, source_bytes, source_describe};

ak_op_t *ak_op_source_new(const ak_plan_t *scan, const char *name, ak_err_t *err)
{
    source_t *s = ak_calloc(1, sizeof *s);
    if (!s) {
        ak_err_nomem(err);
        return NULL;
    }
    ak_op_init(&s->op, &source_vt, scan, NULL, err);
    ak_delta_init(&s->pending, scan->ncols);
    snprintf(s->name, sizeof s->name, "%s", name);
    return &s->op;
}

int ak_op_source_push(ak_op_t *op, const ak_val_t *row, int64_t w)
{
    return ak_delta_add(&((source_t *)op)->pending, row, w);
}

static int one_row_step(ak_op_t *op, ak_opcx_t *cx)
{
    source_t *s = (source_t *)op;
    if (s->emitted)
        return 0;
    s->emitted = true;
    return ak_delta_push(&op->out, 1) ? 0 : ak_err_nomem(cx->err);
}

static size_t one_row_bytes(const ak_op_t *op)
{
    (void)op;
    return 0;
}
static void one_row_describe(const ak_op_t *op, ak_buf_t *out)
{
    (void)op;
    ak_buf_puts(out, "one row (SELECT without FROM)");
}

static const ak_op_vt_t one_row_vt = {"values", one_row_step, source_destroy, one_row_bytes, one_row_describe};

ak_op_t *ak_op_one_row_new(const ak_plan_t *p, ak_err_t *err)
{
    source_t *s = ak_calloc(1, sizeof *s);
    if (!s) {
        ak_err_nomem(err);
        return NULL;
    }
    ak_op_init(&s->op, &one_row_vt, p, NULL, err);
    ak_delta_init(&s->pending, p->ncols);
    return &s->op;
}
