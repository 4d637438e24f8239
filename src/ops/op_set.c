/* op_set.c - DISTINCT and set operations, by counting rows.
 *
 * Each distinct row keeps its multiplicity on each side; the output
 * multiplicity is a function of those counts (DISTINCT: 1 if present;
 * UNION: 1 if present on either side; INTERSECT ALL: the smaller count;
 * EXCEPT ALL: the difference, at least 0; ...), and a change emits the
 * difference between the function before and after.  UNION ALL passes both
 * sides through.
 */
#include "ak_op.h"

#include "ak_alloc.h"

typedef struct setop {
    ak_op_t op;
    ak_kbag_t *bag;          /* count = left + right, aux = right */
    int kind;                /* -1: DISTINCT, else ak_setop_kind_t */
    bool all;
} setop_t;

static int64_t f(const setop_t *s, int64_t l, int64_t r)
{
    if (s->kind < 0)
        return l > 0;
    switch ((ak_setop_kind_t)s->kind) {
    case SETOP_UNION: return l + r > 0;
    case SETOP_INTERSECT: return s->all ? (l < r ? l : r) : (l > 0 && r > 0);
    case SETOP_EXCEPT: return s->all ? (l > r ? l - r : 0) : (l > 0 && r == 0);
    default: return 0;
    }
    return 0;
}

static int apply(setop_t *s, ak_opcx_t *cx, const ak_val_t *row, int64_t w, bool right)
{
    uint32_t g = ak_kbag_group(s->bag, NULL, true);
    if (g == AK_KBAG_OOM)
        return ak_err_nomem(cx->err);
    uint32_t e = ak_kbag_find(s->bag, g, row);
    int64_t tot = e == UINT32_MAX ? 0 : ak_kbag_count(s->bag, e);
    int64_t r = e == UINT32_MAX ? 0 : *ak_kbag_aux(s->bag, e);
    int64_t l = tot - r;
    int64_t before = f(s, l, r);
    if (right)
        r += w;
    else
        l += w;
    int64_t after = f(s, l, r);
    if (ak_kbag_add(s->bag, g, row, w, &e))
        return ak_err_nomem(cx->err);
    if (e != UINT32_MAX)
        *ak_kbag_aux(s->bag, e) = r;
    if (after != before && ak_delta_add(&s->op.out, row, after - before))
        return ak_err_nomem(cx->err);
    return 0;
}

static int setop_step(ak_op_t *op, ak_opcx_t *cx)
{
    setop_t *s = (setop_t *)op;
    for (int side = 0; side < op->nin; side++) {
        const ak_delta_t *d = &op->in[side]->out;
        if (!s->bag) { /* UNION ALL */
            if (ak_delta_append(&op->out, d, 1))
                return ak_err_nomem(cx->err);
            continue;
        }
        for (size_t i = 0; i < d->n; i++)
            if (apply(s, cx, ak_delta_row(d, i), d->w[i], side == 1))
                return -1;
    }
    return 0;
}

static void setop_destroy(ak_op_t *op) { ak_kbag_free(((setop_t *)op)->bag); }
static size_t setop_bytes(const ak_op_t *op)
{
    const setop_t *s = (const setop_t *)op;
    return s->bag ? ak_kbag_bytes(s->bag) : 0;
}

static void setop_describe(const ak_op_t *op, ak_buf_t *out)
{
    const setop_t *s = (const setop_t *)op;
    if (s->kind < 0)
        ak_buf_puts(out, "DISTINCT: a count per distinct row");
    else if (!s->bag)
        ak_buf_puts(out, "UNION ALL: both sides pass through");
    else
        ak_buf_printf(out, "%s%s: counts per distinct row on each side",
                      s->kind == SETOP_UNION ? "UNION" : s->kind == SETOP_EXCEPT ? "EXCEPT" : "INTERSECT",
                      s->all ? " ALL" : "");
}

static int setop_save(ak_op_t *op, bool full, const ak_state_out_t *out, ak_err_t *err)
{
    return ak_op_bags_save(&((setop_t *)op)->bag, 1, full, out, err);
}
static void setop_saved(ak_op_t *op) { ak_op_bags_saved(&((setop_t *)op)->bag, 1); }
static int setop_load(ak_op_t *op, ak_opcx_t *cx, const void *k, size_t kn, const void *v, size_t vn)
{
    return ak_op_bags_load(&((setop_t *)op)->bag, 1, cx, k, kn, v, vn, NULL);
}

static const ak_op_vt_t setop_vt = {"set", setop_step, setop_destroy, setop_bytes, setop_describe, NULL, NULL, NULL,
                                    setop_save, setop_saved, setop_load};

static ak_op_t *make(ak_op_t *l, ak_op_t *r, const ak_plan_t *p, int kind, bool all, ak_err_t *err)
{
    setop_t *s = ak_calloc(1, sizeof *s);
    if (!s) {
        ak_err_nomem(err);
        return NULL;
    }
    ak_op_init(&s->op, &setop_vt, p, NULL, err);
    s->op.in[0] = l;
    s->op.in[1] = r;
    s->op.nin = r ? 2 : 1;
    s->kind = kind;
    s->all = all;
    if (!(kind == SETOP_UNION && all) && !(s->bag = ak_kbag_new(0, p->ncols))) {
        ak_err_nomem(err);
        ak_op_free(&s->op);
        return NULL;
    }
    return &s->op;
}

ak_op_t *ak_op_distinct_new(ak_op_t *in, const ak_plan_t *p, ak_err_t *err) { return make(in, NULL, p, -1, false, err); }

ak_op_t *ak_op_setop_new(ak_op_t *l, ak_op_t *r, const ak_plan_t *p, ak_err_t *err)
{
    return make(l, r, p, (int)p->setop, p->all, err);
}
