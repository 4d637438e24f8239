/* ak_sql_expr.c - evaluation of bound expressions over one row, casts, LIKE,
 * structural equality (for GROUP BY matching) and plan-text rendering.
 *
 * NULL semantics are SQL's three-valued logic.  Arithmetic follows DuckDB:
 * integer overflow is an error, `/` divides as floating point (1/0 is
 * Infinity), `//` and `%` by zero give NULL.
 */
#include "ak_sql_plan.h"

#include "ak_alloc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

ak_expr_t *ak_expr_new(ak_arena_t *a, ak_expr_kind_t k, ak_type_t t)
{
    ak_expr_t *e = ak_arena_zalloc(a, sizeof *e);
    if (e) {
        e->kind = k;
        e->type = t;
    }
    return e;
}

ak_expr_t *ak_expr_cast(ak_arena_t *a, ak_expr_t *x, ak_type_t to)
{
    if (!x || x->type == to)
        return x;
    ak_expr_t *c = ak_expr_new(a, EX_CAST, to);
    if (!c)
        return NULL;
    c->args = ak_arena_alloc(a, sizeof *c->args);
    if (!c->args)
        return NULL;
    c->args[0] = x;
    c->nargs = 1;
    c->off = x->off;
    c->end = x->end;
    return c;
}

/* ---- casts --------------------------------------------------------------- */

bool ak_cast_allowed(ak_type_t from, ak_type_t to)
{
    if (from == to || from == AK_NULL || to == AK_TEXT || from == AK_TEXT)
        return true;
    if (ak_type_is_numeric(from) && (ak_type_is_numeric(to) || to == AK_BOOL))
        return true;
    if (from == AK_BOOL && ak_type_is_numeric(to))
        return true;
    if (ak_type_is_temporal(from) && ak_type_is_temporal(to))
        return true;
    return false;
}

static int trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
    return 0;
}

static int text_to_double(const char *s, size_t n, double *out)
{
    trim(&s, &n);
    char buf[128];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *e;
    errno = 0;
    double d = strtod(buf, &e);
    if (e != buf + n)
        return -1;
    *out = d;
    return 0;
}

static int double_to_int(double d, int64_t *out)
{
    if (isnan(d))
        return -1;
    double r = round(d); /* half away from zero, as DuckDB */
    if (r >= 9223372036854775808.0 || r < -9223372036854775808.0)
        return -1;
    *out = (int64_t)r;
    return 0;
}

static int text_to_int(const char *s, size_t n, int64_t *out)
{
    trim(&s, &n);
    if (n == 0)
        return -1;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return -1;
    uint64_t v = 0;
    size_t j = i;
    for (; j < n && isdigit((unsigned char)s[j]); j++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s[j] - '0');
    }
    if (j == n) {
        if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
            return -1;
        *out = neg ? (int64_t)(0 - v) : (int64_t)v;
        return 0;
    }
    double d;
    if (text_to_double(s, n, &d))
        return -1;
    return double_to_int(d, out);
}

static int text_to_bool(const char *s, size_t n, bool *out)
{
    trim(&s, &n);
    static const char *const t[] = {"true", "t", "1", "yes", "y", "on"};
    static const char *const f[] = {"false", "f", "0", "no", "n", "off"};
    for (size_t i = 0; i < 6; i++) {
        if (strlen(t[i]) == n && strncasecmp(s, t[i], n) == 0) {
            *out = true;
            return 0;
        }
        if (strlen(f[i]) == n && strncasecmp(s, f[i], n) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int text_to_interval(const char *s, size_t n, ak_val_t *out)
{
    /* 'N unit [N unit ...]' */
    int32_t months = 0;
    int64_t us = 0;
    size_t i = 0;
    bool any = false;
    char buf[64];
    while (i < n) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i >= n)
            break;
        size_t j = i;
        while (j < n && (isdigit((unsigned char)s[j]) || s[j] == '.' || s[j] == '-' || s[j] == '+'))
            j++;
        if (j == i || j - i >= sizeof buf)
            return -1;
        memcpy(buf, s + i, j - i);
        buf[j - i] = '\0';
        double num = strtod(buf, NULL);
        while (j < n && isspace((unsigned char)s[j]))
            j++;
        size_t k = j;
        while (k < n && isalpha((unsigned char)s[k]))
            k++;
        ak_tunit_t u = ak_tunit_parse(s + j, k - j);
        switch (u) {
        case AK_TU_MICROSECOND: us += (int64_t)num; break;
        case AK_TU_MILLISECOND: us += (int64_t)(num * 1e3); break;
        case AK_TU_SECOND: us += (int64_t)(num * 1e6); break;
        case AK_TU_MINUTE: us += (int64_t)(num * 6e7); break;
        case AK_TU_HOUR: us += (int64_t)(num * 3.6e9); break;
        case AK_TU_DAY: us += (int64_t)(num * 8.64e10); break;
        case AK_TU_WEEK: us += (int64_t)(num * 6.048e11); break;
        case AK_TU_MONTH: months += (int32_t)num; break;
        case AK_TU_QUARTER: months += (int32_t)(num * 3); break;
        case AK_TU_YEAR: months += (int32_t)(num * 12); break;
        default: return -1;
        }
        any = true;
        i = k;
    }
    if (!any)
        return -1;
    *out = ak_v_interval(months, us);
    return 0;
}

int ak_cast_value(const ak_val_t *in, ak_type_t to, ak_arena_t *arena, ak_val_t *out, ak_err_t *err)
{
    ak_type_t from = (ak_type_t)in->type;
    if (from == AK_NULL || from == to) {
        *out = *in;
        return 0;
    }
    if (to == AK_TEXT) {
        ak_buf_t b = AK_BUF_INIT;
        ak_val_to_text(in, &b);
        if (b.oom) {
            ak_buf_free(&b);
            return ak_err_nomem(err);
        }
        char *s = ak_arena_strndup(arena, b.data ? b.data : "", b.len);
        size_t n = b.len;
        ak_buf_free(&b);
        if (!s)
            return ak_err_nomem(err);
        *out = ak_v_text(s, n);
        return 0;
    }
    switch (from) {
    case AK_TEXT: {
        const char *s = in->s;
        size_t n = in->n;
        switch (to) {
        case AK_INT: {
            int64_t v;
            if (text_to_int(s, n, &v) == 0) {
                *out = ak_v_int(v);
                return 0;
            }
            break;
        }
        case AK_DOUBLE:
        case AK_FLOAT: {
            double d;
            if (text_to_double(s, n, &d) == 0) {
                *out = to == AK_FLOAT ? ak_v_float(d) : ak_v_double(d);
                return 0;
            }
            break;
        }
        case AK_BOOL: {
            bool b;
            if (text_to_bool(s, n, &b) == 0) {
                *out = ak_v_bool(b);
                return 0;
            }
            break;
        }
        case AK_DATE: {
            int64_t d;
            if (ak_date_parse(s, n, &d) == 0) {
                *out = ak_v_date(d);
                return 0;
            }
            break;
        }
        case AK_TIMESTAMP: {
            int64_t t;
            if (ak_ts_parse(s, n, &t) == 0) {
                *out = ak_v_ts(t);
                return 0;
            }
            break;
        }
        case AK_INTERVAL:
            if (text_to_interval(s, n, out) == 0)
                return 0;
            break;
        default: break;
        }
        return ak_errf(err, AK_E_EVAL, "cannot convert '%.*s' to %s", (int)(n > 60 ? 60 : n), s, ak_type_name(to));
    }
    case AK_INT:
        if (to == AK_DOUBLE) { *out = ak_v_double((double)in->i); return 0; }
        if (to == AK_FLOAT) { *out = ak_v_float((double)in->i); return 0; }
        if (to == AK_BOOL) { *out = ak_v_bool(in->i != 0); return 0; }
        break;
    case AK_FLOAT:
    case AK_DOUBLE:
        if (to == AK_DOUBLE) { *out = ak_v_double(in->d); return 0; }
        if (to == AK_FLOAT) { *out = ak_v_float(in->d); return 0; }
        if (to == AK_BOOL) { *out = ak_v_bool(in->d != 0); return 0; }
        if (to == AK_INT) {
            int64_t v;
            if (double_to_int(in->d, &v))
                return ak_errf(err, AK_E_RANGE, "value %g is out of range for BIGINT", in->d);
            *out = ak_v_int(v);
            return 0;
        }
        break;
    case AK_BOOL:
        if (to == AK_INT) { *out = ak_v_int(in->i ? 1 : 0); return 0; }
        if (to == AK_DOUBLE) { *out = ak_v_double(in->i ? 1 : 0); return 0; }
        if (to == AK_FLOAT) { *out = ak_v_float(in->i ? 1 : 0); return 0; }
        break;
    case AK_DATE:
        if (to == AK_TIMESTAMP) { *out = ak_v_ts(in->i * AK_US_PER_DAY); return 0; }
        break;
    case AK_TIMESTAMP:
        if (to == AK_DATE) { *out = ak_v_date(ak_floordiv(in->i, AK_US_PER_DAY)); return 0; }
        break;
    default: break;
    }
    return ak_errf(err, AK_E_TYPE, "cannot cast %s to %s", ak_type_name(from), ak_type_name(to));
}

int ak_sql_cast(const ak_val_t *in, ak_type_t to, ak_arena_t *arena, ak_val_t *out, ak_err_t *err)
{
    return ak_cast_value(in, to, arena, out, err);
}

/* ---- LIKE ---------------------------------------------------------------- */

static inline unsigned char fold(unsigned char c, bool icase) { return icase ? (unsigned char)tolower(c) : c; }

int ak_like_match(const char *s, size_t n, const char *pat, size_t pn, bool icase)
{
    /* iterative matcher with backtracking to the last %; `_` matches one
     * UTF-8 character */
    size_t si = 0, pi = 0, star_p = (size_t)-1, star_s = 0;
    while (si < n) {
        if (pi < pn && pat[pi] == '%') {
            star_p = pi++;
            star_s = si;
            continue;
        }
        if (pi < pn && pat[pi] == '_') {
            pi++;
            si++;
            while (si < n && ((unsigned char)s[si] & 0xC0) == 0x80)
                si++;
            continue;
        }
        if (pi < pn && fold((unsigned char)pat[pi], icase) == fold((unsigned char)s[si], icase)) {
            pi++;
            si++;
            continue;
        }
        if (star_p != (size_t)-1) {
            pi = star_p + 1;
            si = ++star_s;
            continue;
        }
        return 0;
    }
    while (pi < pn && pat[pi] == '%')
        pi++;
    return pi == pn;
}

/* ---- arithmetic ---------------------------------------------------------- */

static int overflow(ak_eval_t *cx, const char *what, int64_t a, int64_t b)
{
    return ak_errf(cx->err, AK_E_RANGE, "overflow in %s of BIGINT (%" PRId64 " and %" PRId64 ")", what, a, b);
}

static double as_double(const ak_val_t *v) { return v->type == AK_INT ? (double)v->i : v->d; }

static int arith(const ak_expr_t *e, const ak_val_t *a, const ak_val_t *b, ak_eval_t *cx, ak_val_t *out)
{
    int op = e->op;
    ak_type_t ta = (ak_type_t)a->type, tb = (ak_type_t)b->type;
    if (ta == AK_INT && tb == AK_INT && e->type == AK_INT) {
        int64_t x = a->i, y = b->i, r;
        switch (op) {
        case '+': if (__builtin_add_overflow(x, y, &r)) return overflow(cx, "addition", x, y); break;
        case '-': if (__builtin_sub_overflow(x, y, &r)) return overflow(cx, "subtraction", x, y); break;
        case '*': if (__builtin_mul_overflow(x, y, &r)) return overflow(cx, "multiplication", x, y); break;
        case 'D':
            if (y == 0) { *out = ak_v_null(); return 0; }
            if (x == INT64_MIN && y == -1) return overflow(cx, "division", x, y);
            r = x / y;
            break;
        case '%':
            if (y == 0) { *out = ak_v_null(); return 0; }
            r = (y == -1) ? 0 : x % y;
            break;
        default: return ak_errf(cx->err, AK_E_INTERNAL, "bad integer operator");
        }
        *out = ak_v_int(r);
        return 0;
    }
    if (ak_type_is_numeric(ta) && ak_type_is_numeric(tb)) {
        double x = as_double(a), y = as_double(b), r;
        switch (op) {
        case '+': r = x + y; break;
        case '-': r = x - y; break;
        case '*': r = x * y; break;
        case '/': r = x / y; break;
        case 'D':
            if (y == 0) { *out = ak_v_null(); return 0; }
            r = trunc(x / y);
            break;
        case '%':
            if (y == 0) { *out = ak_v_null(); return 0; }
            r = fmod(x, y);
            break;
        default: return ak_errf(cx->err, AK_E_INTERNAL, "bad numeric operator");
        }
        *out = e->type == AK_FLOAT ? ak_v_float(r) : ak_v_double(r);
        return 0;
    }
    /* temporal arithmetic */
    if (ta == AK_TIMESTAMP && tb == AK_INTERVAL && (op == '+' || op == '-')) {
        int32_t m = (int32_t)b->n;
        *out = ak_v_ts(op == '+' ? ak_ts_add(a->i, m, b->i) : ak_ts_add(a->i, -m, -b->i));
        return 0;
    }
    if (ta == AK_INTERVAL && tb == AK_TIMESTAMP && op == '+') {
        *out = ak_v_ts(ak_ts_add(b->i, (int32_t)a->n, a->i));
        return 0;
    }
    if (ta == AK_DATE && tb == AK_INTERVAL && (op == '+' || op == '-')) {
        int32_t m = (int32_t)b->n;
        int64_t t = a->i * AK_US_PER_DAY;
        *out = ak_v_ts(op == '+' ? ak_ts_add(t, m, b->i) : ak_ts_add(t, -m, -b->i));
        return 0;
    }
    if (ta == AK_INTERVAL && tb == AK_DATE && op == '+') {
        *out = ak_v_ts(ak_ts_add(b->i * AK_US_PER_DAY, (int32_t)a->n, a->i));
        return 0;
    }
    if (ta == AK_TIMESTAMP && tb == AK_TIMESTAMP && op == '-') {
        *out = ak_v_interval(0, a->i - b->i);
        return 0;
    }
    if (ta == AK_DATE && tb == AK_DATE && op == '-') {
        *out = ak_v_int(a->i - b->i);
        return 0;
    }
    if (ta == AK_DATE && tb == AK_INT && (op == '+' || op == '-')) {
        *out = ak_v_date(op == '+' ? a->i + b->i : a->i - b->i);
        return 0;
    }
    if (ta == AK_INT && tb == AK_DATE && op == '+') {
        *out = ak_v_date(a->i + b->i);
        return 0;
    }
    if (ta == AK_INTERVAL && tb == AK_INTERVAL && (op == '+' || op == '-')) {
        int32_t m = op == '+' ? (int32_t)a->n + (int32_t)b->n : (int32_t)a->n - (int32_t)b->n;
        *out = ak_v_interval(m, op == '+' ? a->i + b->i : a->i - b->i);
        return 0;
    }
    if (ta == AK_INTERVAL && ak_type_is_numeric(tb) && (op == '*' || op == '/')) {
        double f = as_double(b);
        if (op == '/') {
            if (f == 0) { *out = ak_v_null(); return 0; }
            f = 1 / f;
        }
        *out = ak_v_interval((int32_t)((int32_t)a->n * f), (int64_t)((double)a->i * f));
        return 0;
    }
    if (ak_type_is_numeric(ta) && tb == AK_INTERVAL && op == '*') {
        double f = as_double(a);
        *out = ak_v_interval((int32_t)((int32_t)b->n * f), (int64_t)((double)b->i * f));
        return 0;
    }
    return ak_errf(cx->err, AK_E_TYPE, "no operator %c for %s and %s", op == 'D' ? '/' : op, ak_type_name(ta),
                   ak_type_name(tb));
}

/* ---- evaluation ---------------------------------------------------------- */

static bool cmp_result(int op, int c)
{
    switch (op) {
    case AK_CMP_EQ: return c == 0;
    case AK_CMP_NE: return c != 0;
    case AK_CMP_LT: return c < 0;
    case AK_CMP_LE: return c <= 0;
    case AK_CMP_GT: return c > 0;
    default: return c >= 0;
    }
}

int ak_expr_eval(const ak_expr_t *e, const ak_val_t *row, ak_eval_t *cx, ak_val_t *out)
{
    ak_val_t a, b;
    switch (e->kind) {
    case EX_CONST: *out = e->val; return 0;
    case EX_COL: *out = row[e->col]; return 0;
    case EX_NOT:
        if (ak_expr_eval(e->args[0], row, cx, &a))
            return -1;
        *out = a.type == AK_NULL ? a : ak_v_bool(!a.i);
        return 0;
    case EX_AND:
    case EX_OR: {
        bool is_and = e->kind == EX_AND;
        if (ak_expr_eval(e->args[0], row, cx, &a))
            return -1;
        if (a.type != AK_NULL && (bool)a.i != is_and) {
            *out = ak_v_bool(!is_and);
            return 0;
        }
        if (ak_expr_eval(e->args[1], row, cx, &b))
            return -1;
        if (b.type != AK_NULL && (bool)b.i != is_and) {
            *out = ak_v_bool(!is_and);
            return 0;
        }
        *out = (a.type == AK_NULL || b.type == AK_NULL) ? ak_v_null() : ak_v_bool(is_and);
        return 0;
    }
    case EX_CMP:
        if (ak_expr_eval(e->args[0], row, cx, &a) || ak_expr_eval(e->args[1], row, cx, &b))
            return -1;
        if (a.type == AK_NULL || b.type == AK_NULL)
            *out = ak_v_null();
        else
            *out = ak_v_bool(cmp_result(e->op, ak_val_cmp(&a, &b)));
        return 0;
    case EX_ARITH:
        if (ak_expr_eval(e->args[0], row, cx, &a) || ak_expr_eval(e->args[1], row, cx, &b))
            return -1;
        if (a.type == AK_NULL || b.type == AK_NULL) {
            *out = ak_v_null();
            return 0;
        }
        return arith(e, &a, &b, cx, out);
    case EX_NEG:
        if (ak_expr_eval(e->args[0], row, cx, &a))
            return -1;
        switch (a.type) {
        case AK_NULL: *out = a; return 0;
        case AK_INT:
            if (a.i == INT64_MIN)
                return overflow(cx, "negation", a.i, 0);
            *out = ak_v_int(-a.i);
            return 0;
        case AK_FLOAT:
        case AK_DOUBLE: *out = a; out->d = -a.d; return 0;
        case AK_INTERVAL: *out = ak_v_interval(-(int32_t)a.n, -a.i); return 0;
        default: return ak_errf(cx->err, AK_E_TYPE, "cannot negate %s", ak_type_name((ak_type_t)a.type));
        }
    case EX_CONCAT: {
        if (ak_expr_eval(e->args[0], row, cx, &a) || ak_expr_eval(e->args[1], row, cx, &b))
            return -1;
        if (a.type == AK_NULL || b.type == AK_NULL) {
            *out = ak_v_null();
            return 0;
        }
        char *s = ak_arena_alloc_bytes(cx->arena, (size_t)a.n + b.n + 1);
        if (!s)
            return ak_err_nomem(cx->err);
        if (a.n)
            memcpy(s, a.s, a.n);
        if (b.n)
            memcpy(s + a.n, b.s, b.n);
        s[a.n + b.n] = '\0';
        *out = ak_v_text(s, (size_t)a.n + b.n);
        return 0;
    }
    case EX_ISNULL:
        if (ak_expr_eval(e->args[0], row, cx, &a))
            return -1;
        *out = ak_v_bool((a.type == AK_NULL) != e->negated);
        return 0;
    case EX_DISTINCT: {
        if (ak_expr_eval(e->args[0], row, cx, &a) || ak_expr_eval(e->args[1], row, cx, &b))
            return -1;
        bool same = (a.type == AK_NULL || b.type == AK_NULL) ? a.type == b.type : ak_val_cmp(&a, &b) == 0;
        *out = ak_v_bool(e->negated ? same : !same);
        return 0;
    }
    case EX_IN_LIST: {
        if (ak_expr_eval(e->args[0], row, cx, &a))
            return -1;
        if (a.type == AK_NULL) {
            *out = a;
            return 0;
        }
        bool saw_null = false;
        for (int i = 1; i < e->nargs; i++) {
            if (ak_expr_eval(e->args[i], row, cx, &b))
                return -1;
            if (b.type == AK_NULL) {
                saw_null = true;
            } else if (ak_val_cmp(&a, &b) == 0) {
                *out = ak_v_bool(!e->negated);
                return 0;
            }
        }
        *out = saw_null ? ak_v_null() : ak_v_bool(e->negated);
        return 0;
    }
    case EX_IN_SUBQ:
    case EX_EXISTS:
    case EX_SUBQ: {
        const ak_rel_t *res;
        if (ak_exec_subquery(cx->exec, e, &res))
            return -1;
        if (e->kind == EX_EXISTS) {
            *out = ak_v_bool((res->nrows > 0) != e->negated);
            return 0;
        }
        if (e->kind == EX_SUBQ) {
            if (res->nrows > 1)
                return ak_errf(cx->err, AK_E_EVAL,
                               "more than one row returned by a subquery used as an expression");
            *out = res->nrows ? res->v[0] : ak_v_null();
            return 0;
        }
        if (ak_expr_eval(e->args[0], row, cx, &a))
            return -1;
        if (a.type == AK_NULL) {
            *out = res->nrows ? ak_v_null() : ak_v_bool(e->negated);
            return 0;
        }
        /* the subquery result was sorted by the executor: binary search */
        size_t lo = 0, hi = res->nrows;
        bool saw_null = res->nrows && res->v[(res->nrows - 1) * (size_t)res->ncols].type == AK_NULL;
        size_t nn = res->nrows;
        while (nn && res->v[(nn - 1) * (size_t)res->ncols].type == AK_NULL)
            nn--;
        hi = nn;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int c = ak_val_cmp(&res->v[mid * (size_t)res->ncols], &a);
            if (c == 0) {
                *out = ak_v_bool(!e->negated);
                return 0;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        *out = saw_null ? ak_v_null() : ak_v_bool(e->negated);
        return 0;
    }
    case EX_LIKE:
        if (ak_expr_eval(e->args[0], row, cx, &a) || ak_expr_eval(e->args[1], row, cx, &b))
            return -1;
        if (a.type == AK_NULL || b.type == AK_NULL) {
            *out = ak_v_null();
            return 0;
        }
        *out = ak_v_bool(ak_like_match(a.s, a.n, b.s, b.n, e->op == 1) != e->negated);
        return 0;
    case EX_CASE: {
        int pairs = (e->nargs - (e->has_else ? 1 : 0)) / 2;
        for (int i = 0; i < pairs; i++) {
            int t = ak_expr_true(e->args[2 * i], row, cx);
            if (t < 0)
                return -1;
            if (t)
                return ak_expr_eval(e->args[2 * i + 1], row, cx, out);
        }
        if (e->has_else)
            return ak_expr_eval(e->args[e->nargs - 1], row, cx, out);
        *out = ak_v_null();
        return 0;
    }
    case EX_CAST:
        if (ak_expr_eval(e->args[0], row, cx, &a))
            return -1;
        if (ak_cast_value(&a, e->type, cx->arena, out, cx->err)) {
            if (e->try_cast && cx->err->code != AK_E_NOMEM) {
                ak_err_clear(cx->err);
                *out = ak_v_null();
                return 0;
            }
            return -1;
        }
        return 0;
    case EX_FUNC: {
        ak_val_t argv[64];
        for (int i = 0; i < e->nargs; i++) {
            if (ak_expr_eval(e->args[i], row, cx, &argv[i]))
                return -1;
            if (e->fn->strict && argv[i].type == AK_NULL) {
                *out = ak_v_null();
                return 0;
            }
        }
        return e->fn->eval(e, argv, cx, out);
    }
    case EX_AGG:
    case EX_WIN:
        return ak_errf(cx->err, AK_E_INTERNAL, "unbound aggregate in expression");
    }
    return ak_errf(cx->err, AK_E_INTERNAL, "unknown expression kind %d", e->kind);
}

int ak_expr_true(const ak_expr_t *e, const ak_val_t *row, ak_eval_t *cx)
{
    ak_val_t v;
    if (ak_expr_eval(e, row, cx, &v))
        return -1;
    return v.type == AK_BOOL && v.i;
}

bool ak_expr_equal(const ak_expr_t *a, const ak_expr_t *b)
{
    if (a == b)
        return true;
    if (!a || !b || a->kind != b->kind || a->type != b->type || a->op != b->op || a->negated != b->negated ||
        a->nargs != b->nargs || a->has_else != b->has_else || a->fn != b->fn || a->try_cast != b->try_cast)
        return false;
    switch (a->kind) {
    case EX_CONST:
        if (a->val.type != b->val.type)
            return false;
        return a->val.type == AK_NULL || ak_val_eq_group(&a->val, &b->val);
    case EX_COL: return a->col == b->col;
    case EX_SUBQ:
    case EX_IN_SUBQ:
    case EX_EXISTS: return false; /* each subquery is its own */
    case EX_AGG:
    case EX_WIN:
        if (a->ref != b->ref)
            return false;
        break;
    default: break;
    }
    for (int i = 0; i < a->nargs; i++)
        if (!ak_expr_equal(a->args[i], b->args[i]))
            return false;
    return true;
}

/* ---- explain ------------------------------------------------------------- */

static const char *cmp_text[] = {"=", "<>", "<", "<=", ">", ">="};

void ak_expr_explain(const ak_expr_t *e, const ak_plan_t *in, ak_buf_t *o)
{
    switch (e->kind) {
    case EX_CONST:
        if (e->val.type == AK_NULL) {
            ak_buf_puts(o, "NULL");
        } else if (e->val.type == AK_TEXT) {
            ak_buf_putc(o, '\'');
            ak_val_to_text(&e->val, o);
            ak_buf_putc(o, '\'');
        } else {
            ak_val_to_text(&e->val, o);
        }
        return;
    case EX_COL:
        if (in && e->col < in->ncols && in->names && in->names[e->col])
            ak_buf_puts(o, in->names[e->col]);
        else
            ak_buf_printf(o, "#%d", e->col);
        return;
    case EX_NOT: ak_buf_puts(o, "NOT "); ak_expr_explain(e->args[0], in, o); return;
    case EX_NEG: ak_buf_puts(o, "-"); ak_expr_explain(e->args[0], in, o); return;
    case EX_AND:
    case EX_OR:
    case EX_CMP:
    case EX_ARITH:
    case EX_CONCAT:
    case EX_LIKE:
    case EX_DISTINCT: {
        const char *op = e->kind == EX_AND ? "AND" : e->kind == EX_OR ? "OR" : e->kind == EX_CONCAT ? "||"
                       : e->kind == EX_LIKE ? (e->op ? "ILIKE" : "LIKE")
                       : e->kind == EX_DISTINCT ? (e->negated ? "IS NOT DISTINCT FROM" : "IS DISTINCT FROM")
                       : e->kind == EX_CMP ? cmp_text[e->op] : NULL;
        char tmp[3] = {0};
        if (!op) {
            if (e->op == 'D') {
                op = "//";
            } else {
                tmp[0] = (char)e->op;
                op = tmp;
            }
        }
        ak_buf_putc(o, '(');
        ak_expr_explain(e->args[0], in, o);
        ak_buf_printf(o, " %s ", op);
        ak_expr_explain(e->args[1], in, o);
        ak_buf_putc(o, ')');
        return;
    }
    case EX_ISNULL:
        ak_expr_explain(e->args[0], in, o);
        ak_buf_puts(o, e->negated ? " IS NOT NULL" : " IS NULL");
        return;
    case EX_IN_LIST:
        ak_expr_explain(e->args[0], in, o);
        ak_buf_puts(o, e->negated ? " NOT IN (" : " IN (");
        for (int i = 1; i < e->nargs; i++) {
            if (i > 1)
                ak_buf_puts(o, ", ");
            ak_expr_explain(e->args[i], in, o);
        }
        ak_buf_putc(o, ')');
        return;
    case EX_IN_SUBQ: ak_expr_explain(e->args[0], in, o); ak_buf_puts(o, " IN (subquery)"); return;
    case EX_EXISTS: ak_buf_puts(o, "EXISTS (subquery)"); return;
    case EX_SUBQ: ak_buf_puts(o, "(subquery)"); return;
    case EX_CASE: {
        ak_buf_puts(o, "CASE");
        int pairs = (e->nargs - (e->has_else ? 1 : 0)) / 2;
        for (int i = 0; i < pairs; i++) {
            ak_buf_puts(o, " WHEN ");
            ak_expr_explain(e->args[2 * i], in, o);
            ak_buf_puts(o, " THEN ");
            ak_expr_explain(e->args[2 * i + 1], in, o);
        }
        if (e->has_else) {
            ak_buf_puts(o, " ELSE ");
            ak_expr_explain(e->args[e->nargs - 1], in, o);
        }
        ak_buf_puts(o, " END");
        return;
    }
    case EX_CAST:
        ak_expr_explain(e->args[0], in, o);
        ak_buf_printf(o, "::%s", ak_type_name(e->type));
        return;
    case EX_FUNC:
        ak_buf_printf(o, "%s(", e->fn->name);
        for (int i = 0; i < e->nargs; i++) {
            if (i)
                ak_buf_puts(o, ", ");
            ak_expr_explain(e->args[i], in, o);
        }
        ak_buf_putc(o, ')');
        return;
    case EX_AGG: ak_buf_printf(o, "agg#%d", e->ref); return;
    case EX_WIN: ak_buf_printf(o, "win#%d", e->ref); return;
    }
}
