/* op_map.c - FILTER, PROJECT and TRIM chains, one row at a time.
 *
 * A chain of row-local nodes is one operator: each changed input row runs
 * through the chain and, if it survives the filters, goes out with its
 * weight.  When an expression reads the clock (WHERE t >= NOW() - ...),
 * the output also changes as time passes, so the operator keeps its input
 * rows and, when the clock has moved, re-evaluates them at the old and the
 * new time and emits the difference.
 */
#include "ak_op.h"

#include "ak_alloc.h"

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

static int map_step(ak_op_t *op, ak_opcx_t *cx)
{
    map_t *m = (map_t *)op;
    const ak_delta_t *in = &op->in[0]->out;
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
}

static size_t map_bytes(const ak_op_t *op)
{
    const map_t *m = (const map_t *)op;
    return m->rows ? ak_kbag_bytes(m->rows) : 0;
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
    if (m->rows)
        ak_buf_puts(out, "; reads the clock: keeps its input and re-evaluates it when the time moves");
}

static const ak_op_vt_t map_vt = {"map", map_step, map_destroy, map_bytes, map_describe};

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
    }
    return &m->op;
nomem:
    ak_err_nomem(err);
    ak_op_free(&m->op);
    return NULL;
}
