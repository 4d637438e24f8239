/* ak_sql_agg.c - aggregate functions: result types, per-group state,
 * accumulation and final values.  Shared by GROUP BY and window frames.
 *
 * Integer SUM/AVG accumulate in 128 bits (exact, like DuckDB's HUGEINT);
 * a SUM that does not fit BIGINT is an error rather than a wrong number.
 * Floating sums are plain left-to-right additions, as DuckDB's.  DISTINCT is
 * handled by the caller, which feeds each distinct value once.
 */
#include "ak_sql_plan.h"

#include "ak_alloc.h"

#include <math.h>
#include <string.h>

int ak_agg_bind(ak_aggcall_t *c, ak_arena_t *a, ak_err_t *err)
{
    ak_type_t t = c->nargs ? c->args[0]->type : AK_NULL;
    const char *name = ak_agg_name(c->fn);
    int want = (c->fn == AGG_COUNT_STAR) ? 0
             : (c->fn == AGG_ARG_MIN || c->fn == AGG_ARG_MAX) ? 2
             : (c->fn == AGG_STRING_AGG) ? -1 : 1;
    if (want >= 0 && c->nargs != want)
        return ak_errf(err, AK_E_BIND, "%s() takes %d argument%s, got %d", name, want, want == 1 ? "" : "s", c->nargs);
    if (c->fn == AGG_STRING_AGG && (c->nargs < 1 || c->nargs > 2))
        return ak_errf(err, AK_E_BIND, "string_agg() takes 1 or 2 arguments");
    switch (c->fn) {
    case AGG_COUNT_STAR:
    case AGG_COUNT: c->type = AK_INT; return 0;
    case AGG_SUM:
        if (t == AK_INT || t == AK_BOOL || t == AK_NULL) {
            if (t == AK_BOOL && !(c->args[0] = ak_expr_cast(a, c->args[0], AK_INT)))
                return ak_err_nomem(err);
            c->type = AK_INT;
        } else if (t == AK_DOUBLE || t == AK_FLOAT) {
            c->type = AK_DOUBLE;
        } else {
            return ak_errf(err, AK_E_BIND, "sum() of %s is not supported (expected a number)", ak_type_name(t));
        }
        return 0;
    case AGG_AVG:
        if (!ak_type_is_numeric(t) && t != AK_NULL)
            return ak_errf(err, AK_E_BIND, "avg() of %s is not supported (expected a number)", ak_type_name(t));
        c->type = AK_DOUBLE;
        return 0;
    case AGG_MIN:
    case AGG_MAX:
    case AGG_ANY_VALUE:
    case AGG_FIRST:
    case AGG_LAST: c->type = t; return 0;
    case AGG_ARG_MIN:
    case AGG_ARG_MAX: c->type = t; return 0;
    case AGG_STRING_AGG:
        for (int i = 0; i < c->nargs; i++)
            if (c->args[i]->type != AK_TEXT && !(c->args[i] = ak_expr_cast(a, c->args[i], AK_TEXT)))
                return ak_err_nomem(err);
        c->type = AK_TEXT;
        return 0;
    case AGG_BOOL_AND:
    case AGG_BOOL_OR:
        if (t != AK_BOOL && t != AK_NULL)
            return ak_errf(err, AK_E_BIND, "%s() expects BOOLEAN, got %s", name, ak_type_name(t));
        c->type = AK_BOOL;
        return 0;
    case AGG_VAR_SAMP:
    case AGG_VAR_POP:
    case AGG_STDDEV_SAMP:
    case AGG_STDDEV_POP:
        if (!ak_type_is_numeric(t) && t != AK_NULL)
            return ak_errf(err, AK_E_BIND, "%s() expects a number, got %s", name, ak_type_name(t));
        c->type = AK_DOUBLE;
        return 0;
    default: return ak_errf(err, AK_E_INTERNAL, "unknown aggregate");
    }
}

void ak_agg_init(const ak_aggcall_t *c, ak_aggstate_t *st)
{
    (void)c;
    memset(st, 0, sizeof *st);
    st->v = ak_v_null();
    st->key = ak_v_null();
}

void ak_agg_release(ak_aggstate_t *st)
{
    if (st->buf) {
        ak_buf_free(st->buf);
        ak_free(st->buf);
        st->buf = NULL;
    }
}

static double num(const ak_val_t *v) { return v->type == AK_INT ? (double)v->i : v->d; }

int ak_agg_step(const ak_aggcall_t *c, ak_aggstate_t *st, const ak_val_t *args, ak_eval_t *cx)
{
    const ak_val_t *x = &args[0];
    switch (c->fn) {
    case AGG_COUNT_STAR: st->count++; return 0;
    case AGG_COUNT: if (x->type != AK_NULL) st->count++; return 0;
    case AGG_SUM:
    case AGG_AVG:
        if (x->type == AK_NULL)
            return 0;
        if (c->args[0]->type == AK_INT)
            st->isum += x->i;
        else
            st->dsum += num(x);
        st->count++;
        return 0;
    case AGG_MIN:
    case AGG_MAX:
        if (x->type == AK_NULL)
            return 0;
        if (!st->seen || (c->fn == AGG_MIN ? ak_val_cmp(x, &st->v) < 0 : ak_val_cmp(x, &st->v) > 0))
            st->v = *x;
        st->seen = true;
        return 0;
    case AGG_ANY_VALUE:
        if (!st->seen && x->type != AK_NULL) {
            st->v = *x;
            st->seen = true;
        }
        return 0;
    case AGG_FIRST:
        if (!st->seen) {
            st->v = *x;
            st->seen = true;
        }
        return 0;
    case AGG_LAST: st->v = *x; st->seen = true; return 0;
    case AGG_ARG_MIN:
    case AGG_ARG_MAX: {
        const ak_val_t *k = &args[1];
        if (k->type == AK_NULL)
            return 0;
        if (!st->seen || (c->fn == AGG_ARG_MIN ? ak_val_cmp(k, &st->key) < 0 : ak_val_cmp(k, &st->key) > 0)) {
            st->key = *k;
            st->v = *x;
        }
        st->seen = true;
        return 0;
    }
    case AGG_STRING_AGG: {
        if (x->type == AK_NULL)
            return 0;
        if (!st->buf) {
            st->buf = ak_calloc(1, sizeof *st->buf);
            if (!st->buf)
                return ak_err_nomem(cx->err);
        } else if (c->nargs > 1) {
            if (args[1].type != AK_NULL)
                ak_buf_put(st->buf, args[1].s, args[1].n);
        } else {
            ak_buf_putc(st->buf, ',');
        }
        ak_buf_put(st->buf, x->s, x->n);
        st->seen = true;
        return st->buf->oom ? ak_err_nomem(cx->err) : 0;
    }
    case AGG_BOOL_AND:
    case AGG_BOOL_OR:
        if (x->type == AK_NULL)
            return 0;
        if (!st->seen)
            st->v = *x;
        else if (c->fn == AGG_BOOL_AND)
            st->v.i = st->v.i && x->i;
        else
            st->v.i = st->v.i || x->i;
        st->seen = true;
        return 0;
    case AGG_VAR_SAMP:
    case AGG_VAR_POP:
    case AGG_STDDEV_SAMP:
    case AGG_STDDEV_POP: {
        if (x->type == AK_NULL)
            return 0;
        double v = num(x);
        st->count++;
        double delta = v - st->dsum;
        st->dsum += delta / (double)st->count;
        st->m2 += delta * (v - st->dsum);
        return 0;
    }
    default: return ak_errf(cx->err, AK_E_INTERNAL, "unknown aggregate");
    }
}

int ak_agg_final(const ak_aggcall_t *c, const ak_aggstate_t *st, ak_eval_t *cx, ak_val_t *out)
{
    switch (c->fn) {
    case AGG_COUNT_STAR:
    case AGG_COUNT: *out = ak_v_int(st->count); return 0;
    case AGG_SUM:
        if (!st->count) {
            *out = ak_v_null();
        } else if (c->type == AK_INT) {
            if (st->isum > INT64_MAX || st->isum < INT64_MIN)
                return ak_errf(cx->err, AK_E_RANGE, "sum() exceeds the BIGINT range");
            *out = ak_v_int((int64_t)st->isum);
        } else {
            *out = ak_v_double(st->dsum);
        }
        return 0;
    case AGG_AVG:
        if (!st->count)
            *out = ak_v_null();
        else if (c->args[0]->type == AK_INT)
            *out = ak_v_double((double)st->isum / (double)st->count);
        else
            *out = ak_v_double(st->dsum / (double)st->count);
        return 0;
    case AGG_STRING_AGG:
        if (!st->buf) {
            *out = ak_v_null();
            return 0;
        } else {
            char *s = ak_arena_strndup(cx->arena, st->buf->data ? st->buf->data : "", st->buf->len);
            if (!s)
                return ak_err_nomem(cx->err);
            *out = ak_v_text(s, st->buf->len);
            return 0;
        }
    case AGG_VAR_SAMP:
    case AGG_STDDEV_SAMP:
        if (st->count < 2) {
            *out = ak_v_null();
            return 0;
        }
        *out = ak_v_double(c->fn == AGG_VAR_SAMP ? st->m2 / (double)(st->count - 1)
                                                 : sqrt(st->m2 / (double)(st->count - 1)));
        return 0;
    case AGG_VAR_POP:
    case AGG_STDDEV_POP:
        if (st->count < 1) {
            *out = ak_v_null();
            return 0;
        }
        *out = ak_v_double(c->fn == AGG_VAR_POP ? st->m2 / (double)st->count : sqrt(st->m2 / (double)st->count));
        return 0;
    default: *out = st->seen ? st->v : ak_v_null(); return 0;
    }
}
