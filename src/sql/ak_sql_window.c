/* ak_sql_window.c - window functions over sorted partitions.
 *
 * Rows are sorted by (PARTITION BY, ORDER BY) once per window operator; all
 * calls sharing that specification are computed partition by partition.
 * Frames: without ORDER BY the whole partition; with ORDER BY and no frame
 * clause, RANGE UNBOUNDED PRECEDING .. CURRENT ROW, i.e. up to the last peer
 * (rows tied on every ORDER BY key), which is what makes a running SUM give
 * tied rows the same value.  Frames that start at UNBOUNDED PRECEDING are
 * accumulated incrementally; others are recomputed per row.
 */
#include "ak_sql_plan.h"

#include "ak_alloc.h"

#include <stdlib.h>
#include <string.h>

typedef struct wctx {
    ak_exec_t *x;
    const ak_plan_t *p;
    const ak_rel_t *in;
    ak_rel_t *out;
    const size_t *perm;   /* sorted position -> input row */
    ak_val_t *okeys;      /* ORDER BY keys per input row */
    int nord;
} wctx_t;

static bool peers(const wctx_t *w, size_t a, size_t b)
{
    const ak_val_t *ka = w->okeys + w->perm[a] * (size_t)w->nord, *kb = w->okeys + w->perm[b] * (size_t)w->nord;
    for (int i = 0; i < w->nord; i++)
        if (!ak_val_eq_group(&ka[i], &kb[i]))
            return false;
    return true;
}

/* Output rows are written in sorted order: position pos is output row pos. */
static ak_val_t *cell(wctx_t *w, size_t pos, int col) { return ak_rel_row(w->out, pos) + col; }

/* RANGE offset bound on the single ORDER BY key: first position in [ps,pe)
 * whose key is >= (or > when `after`) target, in the sort direction. */
static size_t range_seek(const wctx_t *w, size_t ps, size_t pe, const ak_val_t *target, bool desc, bool after)
{
    size_t lo = ps, hi = pe;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const ak_val_t *k = w->okeys + w->perm[mid] * (size_t)w->nord;
        int c;
        if (k->type == AK_NULL)
            c = 1; /* NULLs sort last */
        else
            c = ak_val_cmp(k, target) * (desc ? -1 : 1);
        bool go_right = after ? c <= 0 : c < 0;
        if (go_right)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int offset_value(wctx_t *w, const ak_val_t *key, const ak_expr_t *off, bool minus, ak_val_t *out)
{
    /* key +/- offset for RANGE frames (numbers, or timestamps with intervals) */
    ak_expr_t a = {.kind = EX_CONST, .type = (ak_type_t)key->type, .val = *key};
    ak_expr_t *args[2] = {&a, (ak_expr_t *)off};
    ak_expr_t e = {.kind = EX_ARITH, .op = minus ? '-' : '+', .args = args, .nargs = 2};
    e.type = ak_type_is_numeric((ak_type_t)key->type) && ak_type_is_numeric(off->type)
                 ? (key->type == AK_INT && off->type == AK_INT ? AK_INT : AK_DOUBLE)
                 : (ak_type_t)key->type;
    return ak_expr_eval(&e, NULL, &w->x->cx, out);
}

static int frame_of(wctx_t *w, const ak_wincall_t *c, size_t ps, size_t pe, size_t i, size_t peer_lo,
                    size_t peer_hi, size_t *fs, size_t *fe)
{
    const ak_frame_t *f = &c->frame;
    if (f->unit == FRAME_DEFAULT) {
        *fs = ps;
        *fe = w->nord ? peer_hi : pe;
        return 0;
    }
    for (int side = 0; side < 2; side++) {
        ak_bound_kind_t k = side ? f->end_kind : f->start_kind;
        const ak_expr_t *off = side ? f->end_off : f->start_off;
        size_t r;
        switch (k) {
        case BOUND_UNBOUNDED_PRECEDING: r = ps; break;
        case BOUND_UNBOUNDED_FOLLOWING: r = pe; break;
        case BOUND_CURRENT_ROW:
            r = f->unit == FRAME_ROWS ? (side ? i + 1 : i) : (side ? peer_hi : peer_lo);
            break;
        default: {
            bool prec = k == BOUND_PRECEDING;
            if (f->unit == FRAME_ROWS) {
                int64_t n = off->val.type == AK_INT ? off->val.i : (int64_t)off->val.d;
                int64_t pos = (int64_t)i + (prec ? -n : n) + (side ? 1 : 0);
                if (pos < (int64_t)ps)
                    pos = (int64_t)ps;
                if (pos > (int64_t)pe)
                    pos = (int64_t)pe;
                r = (size_t)pos;
            } else {
                const ak_val_t *key = w->okeys + w->perm[i] * (size_t)w->nord;
                if (key->type == AK_NULL) {
                    r = side ? peer_hi : peer_lo;
                    break;
                }
                bool desc = w->p->ord[0].desc;
                ak_val_t t;
                /* preceding moves against the sort direction */
                if (offset_value(w, key, off, prec != desc, &t))
                    return -1;
                r = range_seek(w, ps, pe, &t, desc, side == 1);
            }
            break;
        }
        }
        if (side)
            *fe = r;
        else
            *fs = r;
    }
    if (*fe < *fs)
        *fe = *fs;
    return 0;
}

static int cmp_vals(const void *a, const void *b)
{
    return ak_val_cmp((const ak_val_t *)a, (const ak_val_t *)b);
}

/* One aggregate over positions [fs, fe). */
static int agg_over(wctx_t *w, const ak_wincall_t *c, size_t fs, size_t fe, ak_val_t *out)
{
    ak_aggstate_t st;
    ak_agg_init(&c->agg, &st);
    ak_val_t args[8];
    ak_val_t *dvals = NULL;
    size_t nd = 0;
    int rc = -1;
    if (c->agg.distinct && fe > fs && !(dvals = ak_malloc(sizeof *dvals * (fe - fs))))
        return ak_err_nomem(w->x->err);
    for (size_t k = fs; k < fe; k++) {
        const ak_val_t *row = ak_rel_row(w->in, w->perm[k]);
        if (c->agg.filter) {
            int t = ak_expr_true(c->agg.filter, row, &w->x->cx);
            if (t < 0)
                goto done;
            if (!t)
                continue;
        }
        for (int a = 0; a < c->agg.nargs && a < 8; a++)
            if (ak_expr_eval(c->agg.args[a], row, &w->x->cx, &args[a]))
                goto done;
        if (c->agg.distinct) {
            if (args[0].type != AK_NULL)
                dvals[nd++] = args[0];
            continue;
        }
        if (ak_agg_step(&c->agg, &st, args, &w->x->cx))
            goto done;
    }
    if (c->agg.distinct) {
        qsort(dvals, nd, sizeof *dvals, cmp_vals);
        for (size_t k = 0; k < nd; k++)
            if ((k == 0 || ak_val_cmp(&dvals[k], &dvals[k - 1]) != 0) && ak_agg_step(&c->agg, &st, &dvals[k], &w->x->cx))
                goto done;
    }
    rc = ak_agg_final(&c->agg, &st, &w->x->cx, out);
done:
    ak_agg_release(&st);
    ak_free(dvals);
    return rc;
}

static int value_at(wctx_t *w, const ak_wincall_t *c, size_t pos, ak_val_t *out)
{
    return ak_expr_eval(c->agg.args[0], ak_rel_row(w->in, w->perm[pos]), &w->x->cx, out);
}

static int compute_call(wctx_t *w, const ak_wincall_t *c, int col, size_t ps, size_t pe)
{
    size_t n = pe - ps;
    /* cumulative aggregate frames: accumulate once over the partition */
    bool cumulative = c->fn == WIN_AGG && !c->agg.distinct &&
                      (c->frame.unit == FRAME_DEFAULT ? w->nord > 0
                                                      : c->frame.start_kind == BOUND_UNBOUNDED_PRECEDING);
    ak_aggstate_t st;
    size_t added = ps;
    if (cumulative)
        ak_agg_init(&c->agg, &st);
    ak_val_t whole;
    bool have_whole = false;
    size_t peer_lo = ps, peer_hi = ps;
    int64_t rank = 0, dense = 0;
    int rc = -1;
    for (size_t i = ps; i < pe; i++) {
        if (i >= peer_hi) {
            peer_lo = i;
            peer_hi = i + 1;
            while (peer_hi < pe && w->nord && peers(w, i, peer_hi))
                peer_hi++;
            if (!w->nord)
                peer_hi = pe;
            rank = (int64_t)(peer_lo - ps) + 1;
            dense++;
        }
        ak_val_t *o = cell(w, i, col);
        switch (c->fn) {
        case WIN_ROW_NUMBER: *o = ak_v_int((int64_t)(i - ps) + 1); break;
        case WIN_RANK: *o = ak_v_int(rank); break;
        case WIN_DENSE_RANK: *o = ak_v_int(dense); break;
        case WIN_PERCENT_RANK: *o = ak_v_double(n > 1 ? (double)(rank - 1) / (double)(n - 1) : 0.0); break;
        case WIN_CUME_DIST: *o = ak_v_double((double)(peer_hi - ps) / (double)n); break;
        case WIN_NTILE: {
            int64_t k = c->agg.args[0]->val.i, r = (int64_t)(i - ps);
            int64_t per = (int64_t)n / k, extra = (int64_t)n % k, bucket;
            if (per == 0)
                bucket = r + 1;
            else if (r < extra * (per + 1))
                bucket = r / (per + 1) + 1;
            else
                bucket = extra + (r - extra * (per + 1)) / per + 1;
            *o = ak_v_int(bucket);
            break;
        }
        case WIN_LAG:
        case WIN_LEAD: {
            int64_t off = c->agg.nargs > 1 ? c->agg.args[1]->val.i : 1;
            if (c->fn == WIN_LAG)
                off = -off;
            int64_t pos = (int64_t)i;
            bool found = false;
            if (c->ignore_nulls) {
                int64_t step = off < 0 ? -1 : 1, left = off < 0 ? -off : off;
                while (left > 0) {
                    pos += step;
                    if (pos < (int64_t)ps || pos >= (int64_t)pe)
                        break;
                    ak_val_t v;
                    if (value_at(w, c, (size_t)pos, &v))
                        goto done;
                    if (v.type != AK_NULL && --left == 0) {
                        *o = v;
                        found = true;
                    }
                }
                if (off == 0) {
                    if (value_at(w, c, i, o))
                        goto done;
                    found = true;
                }
            } else {
                pos += off;
                if (pos >= (int64_t)ps && pos < (int64_t)pe) {
                    if (value_at(w, c, (size_t)pos, o))
                        goto done;
                    found = true;
                }
            }
            if (!found) {
                if (c->agg.nargs > 2) {
                    if (ak_expr_eval(c->agg.args[2], ak_rel_row(w->in, w->perm[i]), &w->x->cx, o))
                        goto done;
                } else {
                    *o = ak_v_null();
                }
            }
            break;
        }
        case WIN_FIRST_VALUE:
        case WIN_LAST_VALUE:
        case WIN_NTH_VALUE: {
            size_t fs, fe;
            if (frame_of(w, c, ps, pe, i, peer_lo, peer_hi, &fs, &fe))
                goto done;
            *o = ak_v_null();
            if (c->fn == WIN_NTH_VALUE) {
                int64_t k = c->agg.args[1]->val.i;
                size_t seen = 0;
                for (size_t q = fs; q < fe; q++) {
                    ak_val_t v;
                    if (value_at(w, c, q, &v))
                        goto done;
                    if (c->ignore_nulls && v.type == AK_NULL)
                        continue;
                    if ((int64_t)++seen == k) {
                        *o = v;
                        break;
                    }
                }
            } else {
                bool first = c->fn == WIN_FIRST_VALUE;
                for (size_t q = 0; q < fe - fs; q++) {
                    size_t at = first ? fs + q : fe - 1 - q;
                    ak_val_t v;
                    if (value_at(w, c, at, &v))
                        goto done;
                    if (!c->ignore_nulls || v.type != AK_NULL) {
                        *o = v;
                        break;
                    }
                }
            }
            break;
        }
        case WIN_AGG: {
            size_t fs, fe;
            if (frame_of(w, c, ps, pe, i, peer_lo, peer_hi, &fs, &fe))
                goto done;
            if (cumulative) {
                ak_val_t args[8];
                for (; added < fe; added++) {
                    const ak_val_t *row = ak_rel_row(w->in, w->perm[added]);
                    if (c->agg.filter) {
                        int t = ak_expr_true(c->agg.filter, row, &w->x->cx);
                        if (t < 0)
                            goto done;
                        if (!t)
                            continue;
                    }
                    for (int a = 0; a < c->agg.nargs && a < 8; a++)
                        if (ak_expr_eval(c->agg.args[a], row, &w->x->cx, &args[a]))
                            goto done;
                    if (ak_agg_step(&c->agg, &st, args, &w->x->cx))
                        goto done;
                }
                if (ak_agg_final(&c->agg, &st, &w->x->cx, o))
                    goto done;
            } else if (fs == ps && fe == pe) {
                if (!have_whole) {
                    if (agg_over(w, c, fs, fe, &whole))
                        goto done;
                    have_whole = true;
                }
                *o = whole;
            } else if (agg_over(w, c, fs, fe, o)) {
                goto done;
            }
            break;
        }
        }
    }
    rc = 0;
done:
    if (cumulative)
        ak_agg_release(&st);
    return rc;
}

int ak_exec_window(ak_exec_t *x, const ak_plan_t *p, const ak_rel_t *in, ak_rel_t *out)
{
    size_t n = in->nrows;
    int nin = in->ncols, np = p->npart, no = p->nord;
    int rc = -1;
    size_t *perm = NULL;
    ak_val_t *keys = NULL, *okeys = NULL;
    ak_sortkey_t *spec = NULL;
    if (n == 0)
        return 0;
    perm = ak_malloc(sizeof *perm * n);
    spec = ak_malloc(sizeof *spec * (size_t)(np + no ? np + no : 1));
    okeys = ak_malloc(sizeof *okeys * n * (size_t)(no ? no : 1));
    keys = ak_malloc(sizeof *keys * n * (size_t)(np ? np : 1));
    if (!perm || !spec || !okeys || !keys) {
        ak_err_nomem(x->err);
        goto done;
    }
    for (int i = 0; i < np; i++)
        spec[i] = (ak_sortkey_t){p->part[i], false, false};
    for (int i = 0; i < no; i++)
        spec[np + i] = p->ord[i];
    if (ak_sort_rows(x, in, spec, np + no, perm))
        goto done;
    {
        /* rows go out in (partition, order) order, so a following window
         * with the same specification finds them sorted */
        ak_val_t *o = ak_rel_push_n(out, n);
        if (!o) {
            ak_err_nomem(x->err);
            goto done;
        }
        for (size_t i = 0; i < n; i++, o += out->ncols) {
            memcpy(o, ak_rel_row(in, perm[i]), sizeof(ak_val_t) * (size_t)nin);
            for (int c = nin; c < out->ncols; c++)
                o[c] = ak_v_null();
        }
    }
    for (size_t r = 0; r < n; r++) {
        const ak_val_t *row = ak_rel_row(in, r);
        for (int k = 0; k < np; k++)
            if (ak_expr_eval(p->part[k], row, &x->cx, &keys[r * (size_t)np + (size_t)k]))
                goto done;
        for (int k = 0; k < no; k++)
            if (ak_expr_eval(p->ord[k].expr, row, &x->cx, &okeys[r * (size_t)no + (size_t)k]))
                goto done;
    }
    wctx_t w = {x, p, in, out, perm, okeys, no};
    size_t ps = 0;
    while (ps < n) {
        size_t pe = ps + 1;
        while (pe < n) {
            const ak_val_t *a = keys + perm[ps] * (size_t)np, *b = keys + perm[pe] * (size_t)np;
            bool same = true;
            for (int k = 0; k < np && same; k++)
                same = ak_val_eq_group(&a[k], &b[k]);
            if (!same)
                break;
            pe++;
        }
        for (int c = 0; c < p->nwins; c++)
            if (compute_call(&w, &p->wins[c], nin + c, ps, pe))
                goto done;
        ps = pe;
    }
    rc = 0;
done:
    ak_free(perm);
    ak_free(spec);
    ak_free(okeys);
    ak_free(keys);
    return rc;
}
