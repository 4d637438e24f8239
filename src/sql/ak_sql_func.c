/* ak_sql_func.c - scalar functions: type rules (bind) and evaluation.
 *
 * Date/time functions follow DuckDB: DATEDIFF counts unit boundaries,
 * DATE_TRUNC returns TIMESTAMP, EXTRACT returns BIGINT (EPOCH a DOUBLE).
 * CURRENT_TIMESTAMP()/NOW()/CURRENT_DATE() read the statement's clock, which
 * the caller pins (AKILI_NOW) so checks over historical data are repeatable.
 * Text functions count characters in UTF-8 and case-fold ASCII only.
 */
#include "ak_sql_plan.h"

#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>

static int bind_err(ak_expr_t *e, ak_err_t *err, const char *msg)
{
    return ak_errf(err, AK_E_BIND, "%s(): %s", e->fn->name, msg);
}

ak_type_t ak__common_type(ak_type_t a, ak_type_t b);
ak_type_t ak__common_type(ak_type_t a, ak_type_t b)
{
    if (a == b)
        return a;
    if (a == AK_NULL)
        return b;
    if (b == AK_NULL)
        return a;
    if (ak_type_is_numeric(a) && ak_type_is_numeric(b)) {
        if (a == AK_DOUBLE || b == AK_DOUBLE)
            return AK_DOUBLE;
        return AK_FLOAT; /* INT with FLOAT */
    }
    if (ak_type_is_temporal(a) && ak_type_is_temporal(b))
        return AK_TIMESTAMP;
    return AK_TYPE__COUNT; /* incompatible */
}

/* Replaces a constant TEXT argument by its cast to `to` at bind time, or
 * wraps any other argument in a runtime cast. */
static int coerce_arg(ak_expr_t *e, int i, ak_type_t to, ak_arena_t *a, ak_err_t *err)
{
    ak_expr_t *x = e->args[i];
    if (x->type == to)
        return 0;
    if (x->type == AK_NULL) {
        x->type = to;
        return 0;
    }
    if (!ak_cast_allowed(x->type, to))
        return ak_errf(err, AK_E_BIND, "%s(): argument %d is %s, expected %s", e->fn->name, i + 1,
                       ak_type_name(x->type), ak_type_name(to));
    if (x->kind == EX_CONST) {
        ak_val_t v;
        if (ak_cast_value(&x->val, to, a, &v, err))
            return ak_err_prefix(err, "%s() argument %d", e->fn->name, i + 1);
        x->val = v;
        x->type = to;
        return 0;
    }
    e->args[i] = ak_expr_cast(a, x, to);
    return e->args[i] ? 0 : ak_err_nomem(err);
}

static int const_unit(ak_expr_t *e, int i, ak_err_t *err, bool extract)
{
    ak_expr_t *u = e->args[i];
    if (u->kind != EX_CONST || u->type != AK_TEXT)
        return bind_err(e, err, "the unit must be a string literal such as 'minute'");
    e->unit = ak_tunit_parse(u->val.s, u->val.n);
    if (e->unit == AK_TU_INVALID || (!extract && e->unit >= AK_TU_DOW))
        return ak_errf(err, AK_E_BIND, "%s(): unknown unit '%.*s' (use microsecond, millisecond, second, minute, hour, day, week, month, quarter, year, decade, century or millennium)",
                       e->fn->name, (int)u->val.n, u->val.s);
    return 0;
}

static int temporal_arg(ak_expr_t *e, int i, ak_arena_t *a, ak_err_t *err)
{
    ak_type_t t = e->args[i]->type;
    if (t == AK_TIMESTAMP)
        return 0;
    if (t == AK_DATE || t == AK_TEXT || t == AK_NULL)
        return coerce_arg(e, i, AK_TIMESTAMP, a, err);
    return ak_errf(err, AK_E_BIND, "%s(): argument %d is %s, expected TIMESTAMP or DATE", e->fn->name, i + 1,
                   ak_type_name(t));
}

/* ---- date and time ------------------------------------------------------- */

static int bind_datediff(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    if (const_unit(e, 0, err, false) || temporal_arg(e, 1, a, err) || temporal_arg(e, 2, a, err))
        return -1;
    e->type = AK_INT;
    return 0;
}

static int ev_datediff(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    *out = ak_v_int(ak_ts_diff(e->unit, v[1].i, v[2].i));
    return 0;
}

static int ev_datesub(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    /* elapsed whole units, truncated toward zero */
    (void)cx;
    int64_t a = v[1].i, b = v[2].i;
    int64_t unit_us = 0;
    switch (e->unit) {
    case AK_TU_MICROSECOND: unit_us = 1; break;
    case AK_TU_MILLISECOND: unit_us = 1000; break;
    case AK_TU_SECOND: unit_us = AK_US_PER_SEC; break;
    case AK_TU_MINUTE: unit_us = AK_US_PER_MIN; break;
    case AK_TU_HOUR: unit_us = AK_US_PER_HOUR; break;
    case AK_TU_DAY: unit_us = AK_US_PER_DAY; break;
    case AK_TU_WEEK: unit_us = 7 * AK_US_PER_DAY; break;
    default: {
        /* calendar units: whole months elapsed */
        int64_t months = ak_ts_diff(AK_TU_MONTH, a, b);
        if (months > 0 && ak_ts_add(a, (int32_t)months, 0) > b)
            months--;
        else if (months < 0 && ak_ts_add(a, (int32_t)months, 0) < b)
            months++;
        int64_t div = e->unit == AK_TU_QUARTER ? 3 : e->unit == AK_TU_YEAR ? 12 : e->unit == AK_TU_DECADE ? 120
                    : e->unit == AK_TU_CENTURY ? 1200 : e->unit == AK_TU_MILLENNIUM ? 12000 : 1;
        *out = ak_v_int(months / div);
        return 0;
    }
    }
    *out = ak_v_int((b - a) / unit_us);
    return 0;
}

static int bind_datetrunc(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    if (const_unit(e, 0, err, false) || temporal_arg(e, 1, a, err))
        return -1;
    e->type = AK_TIMESTAMP;
    return 0;
}

static int ev_datetrunc(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    *out = ak_v_ts(ak_ts_trunc(e->unit, v[1].i));
    return 0;
}

static int bind_datepart(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    if (const_unit(e, 0, err, true) || temporal_arg(e, 1, a, err))
        return -1;
    e->type = e->unit == AK_TU_EPOCH ? AK_DOUBLE : AK_INT;
    return 0;
}

static int ev_datepart(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    if (e->unit == AK_TU_EPOCH)
        *out = ak_v_double(ak_ts_epoch(v[1].i));
    else
        *out = ak_v_int(ak_ts_extract(e->unit, v[1].i));
    return 0;
}

/* year(ts), month(ts), ...: the unit comes from the function's name */
static int bind_part_named(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    const char *n = e->fn->name;
    e->unit = strcmp(n, "dayofweek") == 0 ? AK_TU_DOW
            : strcmp(n, "dayofyear") == 0 ? AK_TU_DOY
            : strcmp(n, "epoch") == 0 ? AK_TU_EPOCH
            : ak_tunit_parse(n, strlen(n));
    if (temporal_arg(e, 0, a, err))
        return -1;
    e->type = e->unit == AK_TU_EPOCH ? AK_DOUBLE : AK_INT;
    return 0;
}

static int ev_part_named(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    if (e->unit == AK_TU_EPOCH)
        *out = ak_v_double(ak_ts_epoch(v[0].i));
    else
        *out = ak_v_int(ak_ts_extract(e->unit, v[0].i));
    return 0;
}

static int bind_now(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    (void)a;
    if (e->nargs == 1 && e->args[0]->type != AK_INT)
        return bind_err(e, err, "the optional argument is a precision (an integer)");
    e->type = AK_TIMESTAMP;
    return 0;
}

static int ev_now(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)e;
    (void)v;
    *out = ak_v_ts(cx->now_us);
    return 0;
}

static int bind_today(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    (void)a;
    (void)err;
    e->type = AK_DATE;
    return 0;
}

static int ev_today(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)e;
    (void)v;
    *out = ak_v_date(ak_floordiv(cx->now_us, AK_US_PER_DAY));
    return 0;
}

static int bind_to_date(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    if (coerce_arg(e, 0, AK_DATE, a, err))
        return -1;
    e->type = AK_DATE;
    return 0;
}

static int ev_identity(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)e;
    (void)cx;
    *out = v[0];
    return 0;
}

static int bind_epoch_ms(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    /* epoch_ms(TIMESTAMP) -> BIGINT ms; epoch_ms(BIGINT) -> TIMESTAMP */
    if (e->args[0]->type == AK_INT) {
        e->type = AK_TIMESTAMP;
        e->op = 1;
        return 0;
    }
    if (temporal_arg(e, 0, a, err))
        return -1;
    e->type = AK_INT;
    return 0;
}

static int ev_epoch_ms(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    if (e->op == 1) {
        int64_t r;
        if (__builtin_mul_overflow(v[0].i, 1000, &r))
            return ak_errf(cx->err, AK_E_RANGE, "epoch_ms(%lld) is out of range", (long long)v[0].i);
        *out = ak_v_ts(r);
    } else {
        *out = ak_v_int(ak_floordiv(v[0].i, 1000));
    }
    return 0;
}

static int bind_epoch_us(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    if (temporal_arg(e, 0, a, err))
        return -1;
    e->type = AK_INT;
    return 0;
}

static int ev_epoch_us(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)e;
    (void)cx;
    *out = ak_v_int(v[0].i);
    return 0;
}

static int bind_to_timestamp(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    if (coerce_arg(e, 0, AK_DOUBLE, a, err))
        return -1;
    e->type = AK_TIMESTAMP;
    return 0;
}

static int ev_to_timestamp(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)e;
    double us = v[0].d * 1e6;
    if (!(fabs(us) < 9.2e18))
        return ak_errf(cx->err, AK_E_RANGE, "to_timestamp(%g) is out of range", v[0].d);
    *out = ak_v_ts((int64_t)llround(us));
    return 0;
}

static int bind_strftime(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    if (temporal_arg(e, 0, a, err) || coerce_arg(e, 1, AK_TEXT, a, err))
        return -1;
    e->type = AK_TEXT;
    return 0;
}

static int ev_strftime(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)e;
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    int64_t us = v[0].i;
    ak_buf_t b = AK_BUF_INIT;
    const char *f = v[1].s;
    for (uint32_t i = 0; i < v[1].n; i++) {
        if (f[i] != '%' || i + 1 >= v[1].n) {
            ak_buf_putc(&b, f[i]);
            continue;
        }
        char c = f[++i];
        switch (c) {
        case 'Y': ak_buf_printf(&b, "%04lld", (long long)ak_ts_extract(AK_TU_YEAR, us)); break;
        case 'y': ak_buf_printf(&b, "%02lld", (long long)(ak_ts_extract(AK_TU_YEAR, us) % 100)); break;
        case 'm': ak_buf_printf(&b, "%02lld", (long long)ak_ts_extract(AK_TU_MONTH, us)); break;
        case 'd': ak_buf_printf(&b, "%02lld", (long long)ak_ts_extract(AK_TU_DAY, us)); break;
        case 'H': ak_buf_printf(&b, "%02lld", (long long)ak_ts_extract(AK_TU_HOUR, us)); break;
        case 'M': ak_buf_printf(&b, "%02lld", (long long)ak_ts_extract(AK_TU_MINUTE, us)); break;
        case 'S': ak_buf_printf(&b, "%02lld", (long long)ak_ts_extract(AK_TU_SECOND, us)); break;
        case 'f': ak_buf_printf(&b, "%06lld", (long long)(ak_floordiv(us, 1) - ak_floordiv(us, AK_US_PER_SEC) * AK_US_PER_SEC)); break;
        case 'j': ak_buf_printf(&b, "%03lld", (long long)ak_ts_extract(AK_TU_DOY, us)); break;
        case 'b': ak_buf_puts(&b, mon[ak_ts_extract(AK_TU_MONTH, us) - 1]); break;
        case 'a': ak_buf_puts(&b, wd[ak_ts_extract(AK_TU_DOW, us)]); break;
        case 'u': ak_buf_printf(&b, "%lld", (long long)ak_ts_extract(AK_TU_ISODOW, us)); break;
        case 'w': ak_buf_printf(&b, "%lld", (long long)ak_ts_extract(AK_TU_DOW, us)); break;
        case '%': ak_buf_putc(&b, '%'); break;
        default: ak_buf_putc(&b, '%'); ak_buf_putc(&b, c); break;
        }
    }
    char *s = b.oom ? NULL : ak_arena_strndup(cx->arena, b.data ? b.data : "", b.len);
    size_t n = b.len;
    ak_buf_free(&b);
    if (!s)
        return ak_err_nomem(cx->err);
    *out = ak_v_text(s, n);
    return 0;
}

/* ---- NULL handling and choice -------------------------------------------- */

static int bind_common(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    ak_type_t t = AK_NULL;
    for (int i = 0; i < e->nargs; i++) {
        ak_type_t at = e->args[i]->type;
        ak_type_t c = ak__common_type(t, at);
        if (c == AK_TYPE__COUNT) {
            /* a TEXT literal may join another type */
            if (at == AK_TEXT && e->args[i]->kind == EX_CONST)
                continue;
            if (t == AK_TEXT) {
                bool all_const = true;
                for (int j = 0; j < i; j++)
                    if (e->args[j]->type == AK_TEXT && e->args[j]->kind != EX_CONST)
                        all_const = false;
                if (all_const) {
                    t = at;
                    continue;
                }
            }
            return ak_errf(err, AK_E_BIND, "%s(): arguments of types %s and %s cannot be combined", e->fn->name,
                           ak_type_name(t), ak_type_name(at));
        }
        t = c;
    }
    for (int i = 0; i < e->nargs; i++)
        if (coerce_arg(e, i, t == AK_NULL ? AK_NULL : t, a, err))
            return -1;
    e->type = t;
    return 0;
}

static int ev_coalesce(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    for (int i = 0; i < e->nargs; i++)
        if (v[i].type != AK_NULL) {
            *out = v[i];
            return 0;
        }
    *out = ak_v_null();
    return 0;
}

static int ev_nullif(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)e;
    (void)cx;
    if (v[0].type != AK_NULL && v[1].type != AK_NULL && ak_val_cmp(&v[0], &v[1]) == 0)
        *out = ak_v_null();
    else
        *out = v[0];
    return 0;
}

static int ev_greatest(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    bool least = strcmp(e->fn->name, "least") == 0;
    *out = ak_v_null();
    for (int i = 0; i < e->nargs; i++) {
        if (v[i].type == AK_NULL)
            continue;
        if (out->type == AK_NULL || (least ? ak_val_cmp(&v[i], out) < 0 : ak_val_cmp(&v[i], out) > 0))
            *out = v[i];
    }
    return 0;
}

/* ---- text ---------------------------------------------------------------- */

static int bind_text_args(ak_expr_t *e, ak_arena_t *a, ak_err_t *err, ak_type_t result)
{
    for (int i = 0; i < e->nargs; i++)
        if (coerce_arg(e, i, AK_TEXT, a, err))
            return -1;
    e->type = result;
    return 0;
}

static int bind_text_to_text(ak_expr_t *e, ak_arena_t *a, ak_err_t *err) { return bind_text_args(e, a, err, AK_TEXT); }
static int bind_text_to_int(ak_expr_t *e, ak_arena_t *a, ak_err_t *err) { return bind_text_args(e, a, err, AK_INT); }
static int bind_text_to_bool(ak_expr_t *e, ak_arena_t *a, ak_err_t *err) { return bind_text_args(e, a, err, AK_BOOL); }

static int out_text(ak_eval_t *cx, const char *s, size_t n, ak_val_t *out)
{
    char *d = ak_arena_strndup(cx->arena, s, n);
    if (!d)
        return ak_err_nomem(cx->err);
    *out = ak_v_text(d, n);
    return 0;
}

static size_t utf8_len(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            k++;
    return k;
}

/* byte offset of the k-th character (0-based), or n */
static size_t utf8_off(const char *s, size_t n, size_t k)
{
    size_t i = 0;
    while (i < n && k) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        k--;
    }
    return i;
}

static int ev_case(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    bool up = strcmp(e->fn->name, "upper") == 0 || strcmp(e->fn->name, "ucase") == 0;
    char *d = ak_arena_alloc_bytes(cx->arena, (size_t)v[0].n + 1);
    if (!d)
        return ak_err_nomem(cx->err);
    for (uint32_t i = 0; i < v[0].n; i++)
        d[i] = (char)(up ? toupper((unsigned char)v[0].s[i]) : tolower((unsigned char)v[0].s[i]));
    d[v[0].n] = '\0';
    *out = ak_v_text(d, v[0].n);
    return 0;
}

static int ev_length(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    bool bytes = strcmp(e->fn->name, "octet_length") == 0 || strcmp(e->fn->name, "strlen") == 0;
    *out = ak_v_int((int64_t)(bytes ? v[0].n : utf8_len(v[0].s, v[0].n)));
    return 0;
}

static int bind_substr(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    if (coerce_arg(e, 0, AK_TEXT, a, err) || coerce_arg(e, 1, AK_INT, a, err) ||
        (e->nargs > 2 && coerce_arg(e, 2, AK_INT, a, err)))
        return -1;
    e->type = AK_TEXT;
    return 0;
}

static int ev_substr(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    int64_t len_chars = (int64_t)utf8_len(v[0].s, v[0].n);
    int64_t start = v[1].i, count = e->nargs > 2 ? v[2].i : INT64_MAX / 4;
    if (start < 0)
        start = len_chars + start + 1;
    int64_t from = start, to;
    if (count < 0)
        return ak_errf(cx->err, AK_E_EVAL, "substring: negative length");
    to = from + count; /* exclusive, 1-based */
    if (from < 1)
        from = 1;
    if (to > len_chars + 1)
        to = len_chars + 1;
    if (to <= from)
        return out_text(cx, "", 0, out);
    size_t b0 = utf8_off(v[0].s, v[0].n, (size_t)(from - 1));
    size_t b1 = utf8_off(v[0].s, v[0].n, (size_t)(to - 1));
    *out = ak_v_text(v[0].s + b0, b1 - b0);
    return 0;
}

static int ev_trim(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    const char *chars = e->nargs > 1 ? v[1].s : " ";
    size_t nc = e->nargs > 1 ? v[1].n : 1;
    bool left = strcmp(e->fn->name, "rtrim") != 0, right = strcmp(e->fn->name, "ltrim") != 0;
    size_t a = 0, b = v[0].n;
    while (left && a < b && memchr(chars, v[0].s[a], nc))
        a++;
    while (right && b > a && memchr(chars, v[0].s[b - 1], nc))
        b--;
    *out = ak_v_text(v[0].s + a, b - a);
    return 0;
}

static int bind_concat(ak_expr_t *e, ak_arena_t *a, ak_err_t *err) { return bind_text_args(e, a, err, AK_TEXT); }

static int ev_concat(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    bool ws = strcmp(e->fn->name, "concat_ws") == 0;
    if (ws && v[0].type == AK_NULL) {
        *out = ak_v_null();
        return 0;
    }
    ak_buf_t b = AK_BUF_INIT;
    bool first = true;
    for (int i = ws ? 1 : 0; i < e->nargs; i++) {
        if (v[i].type == AK_NULL)
            continue;
        if (ws && !first)
            ak_buf_put(&b, v[0].s, v[0].n);
        ak_buf_put(&b, v[i].s, v[i].n);
        first = false;
    }
    int rc = b.oom ? ak_err_nomem(cx->err) : out_text(cx, b.data ? b.data : "", b.len, out);
    ak_buf_free(&b);
    return rc;
}

static int ev_replace(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)e;
    if (v[1].n == 0) {
        *out = v[0];
        return 0;
    }
    ak_buf_t b = AK_BUF_INIT;
    const char *s = v[0].s;
    size_t n = v[0].n, i = 0;
    while (i < n) {
        if (i + v[1].n <= n && memcmp(s + i, v[1].s, v[1].n) == 0) {
            ak_buf_put(&b, v[2].s, v[2].n);
            i += v[1].n;
        } else {
            ak_buf_putc(&b, s[i++]);
        }
    }
    int rc = b.oom ? ak_err_nomem(cx->err) : out_text(cx, b.data ? b.data : "", b.len, out);
    ak_buf_free(&b);
    return rc;
}

static int ev_starts_with(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    const char *n = e->fn->name;
    bool r;
    if (strcmp(n, "ends_with") == 0 || strcmp(n, "suffix") == 0)
        r = v[1].n <= v[0].n && memcmp(v[0].s + v[0].n - v[1].n, v[1].s, v[1].n) == 0;
    else if (strcmp(n, "contains") == 0)
        r = v[1].n == 0 || memmem(v[0].s, v[0].n, v[1].s, v[1].n) != NULL;
    else
        r = v[1].n <= v[0].n && memcmp(v[0].s, v[1].s, v[1].n) == 0;
    *out = ak_v_bool(r);
    return 0;
}

static int ev_strpos(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)e;
    (void)cx;
    if (v[1].n == 0) {
        *out = ak_v_int(1);
        return 0;
    }
    const char *p = memmem(v[0].s, v[0].n, v[1].s, v[1].n);
    *out = ak_v_int(p ? (int64_t)utf8_len(v[0].s, (size_t)(p - v[0].s)) + 1 : 0);
    return 0;
}

static int bind_left(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    if (coerce_arg(e, 0, AK_TEXT, a, err) || coerce_arg(e, 1, AK_INT, a, err))
        return -1;
    e->type = AK_TEXT;
    return 0;
}

static int ev_left(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    size_t len = utf8_len(v[0].s, v[0].n);
    int64_t k = v[1].i;
    size_t take = k >= 0 ? (size_t)(k > (int64_t)len ? (int64_t)len : k)
                         : (size_t)(-k > (int64_t)len ? 0 : (int64_t)len + k);
    if (strcmp(e->fn->name, "left") == 0) {
        *out = ak_v_text(v[0].s, utf8_off(v[0].s, v[0].n, take));
    } else {
        size_t b = utf8_off(v[0].s, v[0].n, len - take);
        *out = ak_v_text(v[0].s + b, v[0].n - b);
    }
    return 0;
}

static int bind_split_part(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    if (coerce_arg(e, 0, AK_TEXT, a, err) || coerce_arg(e, 1, AK_TEXT, a, err) || coerce_arg(e, 2, AK_INT, a, err))
        return -1;
    e->type = AK_TEXT;
    return 0;
}

static int ev_split_part(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)e;
    (void)cx;
    int64_t idx = v[2].i;
    const char *s = v[0].s, *end = s + v[0].n;
    if (idx < 1 || v[1].n == 0) {
        *out = idx == 1 ? v[0] : ak_v_text("", 0);
        return 0;
    }
    for (int64_t k = 1;; k++) {
        const char *p = memmem(s, (size_t)(end - s), v[1].s, v[1].n);
        const char *stop = p ? p : end;
        if (k == idx) {
            *out = ak_v_text(s, (size_t)(stop - s));
            return 0;
        }
        if (!p)
            break;
        s = p + v[1].n;
    }
    *out = ak_v_text("", 0);
    return 0;
}

static int ev_reverse(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)e;
    char *d = ak_arena_alloc_bytes(cx->arena, (size_t)v[0].n + 1);
    if (!d)
        return ak_err_nomem(cx->err);
    size_t n = v[0].n, i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && ((unsigned char)v[0].s[j] & 0xC0) == 0x80)
            j++;
        memcpy(d + (n - j), v[0].s + i, j - i);
        i = j;
    }
    d[n] = '\0';
    *out = ak_v_text(d, n);
    return 0;
}

static int bind_repeat(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    if (coerce_arg(e, 0, AK_TEXT, a, err) || coerce_arg(e, 1, AK_INT, a, err))
        return -1;
    e->type = AK_TEXT;
    return 0;
}

static int ev_repeat(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)e;
    int64_t k = v[1].i < 0 ? 0 : v[1].i;
    if (k && v[0].n && (uint64_t)k > (64u << 20) / v[0].n)
        return ak_errf(cx->err, AK_E_RANGE, "repeat(): result would exceed 64 MiB");
    size_t n = (size_t)k * v[0].n;
    char *d = ak_arena_alloc_bytes(cx->arena, n + 1);
    if (!d)
        return ak_err_nomem(cx->err);
    for (int64_t i = 0; i < k; i++)
        memcpy(d + (size_t)i * v[0].n, v[0].s, v[0].n);
    d[n] = '\0';
    *out = ak_v_text(d, n);
    return 0;
}

static int bind_typeof(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    (void)a;
    (void)err;
    e->type = AK_TEXT;
    e->val = ak_v_text(ak_type_name(e->args[0]->type), strlen(ak_type_name(e->args[0]->type)));
    return 0;
}

static int ev_typeof(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)v;
    (void)cx;
    *out = e->val;
    return 0;
}

/* ---- math ---------------------------------------------------------------- */

static int bind_num_same(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    ak_type_t t = e->args[0]->type;
    if (t == AK_NULL)
        t = AK_DOUBLE;
    if (!ak_type_is_numeric(t))
        return bind_err(e, err, "expected a number");
    if (coerce_arg(e, 0, t, a, err))
        return -1;
    for (int i = 1; i < e->nargs; i++)
        if (coerce_arg(e, i, AK_INT, a, err))
            return -1;
    e->type = t;
    return 0;
}

static int bind_num_double(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    for (int i = 0; i < e->nargs; i++)
        if (coerce_arg(e, i, AK_DOUBLE, a, err))
            return -1;
    e->type = AK_DOUBLE;
    return 0;
}

static int ev_abs(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    if (e->type == AK_INT) {
        if (v[0].i == INT64_MIN)
            return ak_errf(cx->err, AK_E_RANGE, "abs() overflow");
        *out = ak_v_int(v[0].i < 0 ? -v[0].i : v[0].i);
    } else {
        *out = v[0];
        out->d = fabs(v[0].d);
    }
    return 0;
}

static int bind_sign(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    if (bind_num_same(e, a, err))
        return -1;
    e->type = AK_INT;
    e->op = e->args[0]->type == AK_INT;
    return 0;
}

static int ev_sign2(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    double d = e->op ? (double)v[0].i : v[0].d;
    *out = ak_v_int(d > 0 ? 1 : d < 0 ? -1 : 0);
    return 0;
}

static double round_half_away(double x) { return round(x); }

static int ev_round(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    int64_t digits = e->nargs > 1 ? v[1].i : 0;
    if (e->type == AK_INT) {
        if (digits >= 0) {
            *out = v[0];
            return 0;
        }
        int64_t p = 1;
        for (int64_t i = 0; i < -digits && p <= INT64_MAX / 10; i++)
            p *= 10;
        int64_t x = v[0].i, q = x / p, r = x % p;
        if (2 * (r < 0 ? -r : r) >= p)
            q += x < 0 ? -1 : 1;
        *out = ak_v_int(q * p);
        return 0;
    }
    double x = v[0].d, p = pow(10.0, (double)digits);
    double r = digits == 0 ? round_half_away(x) : round_half_away(x * p) / p;
    *out = e->type == AK_FLOAT ? ak_v_float(r) : ak_v_double(r);
    return 0;
}

static int ev_floor(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    if (e->type == AK_INT) {
        *out = v[0];
        return 0;
    }
    bool ceil_ = e->fn->name[0] == 'c';
    double r = ceil_ ? ceil(v[0].d) : floor(v[0].d);
    *out = e->type == AK_FLOAT ? ak_v_float(r) : ak_v_double(r);
    return 0;
}

static int ev_math1(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    const char *n = e->fn->name;
    double x = v[0].d, r;
    if (strcmp(n, "sqrt") == 0) {
        if (x < 0)
            return ak_errf(cx->err, AK_E_EVAL, "cannot take the square root of a negative number");
        r = sqrt(x);
    } else if (strcmp(n, "ln") == 0 || strcmp(n, "log10") == 0 || strcmp(n, "log2") == 0 || strcmp(n, "log") == 0) {
        if (x <= 0)
            return ak_errf(cx->err, AK_E_EVAL, "cannot take the logarithm of %s", x == 0 ? "zero" : "a negative number");
        r = n[1] == 'n' ? log(x) : strcmp(n, "log2") == 0 ? log2(x) : log10(x);
    } else if (strcmp(n, "exp") == 0) {
        r = exp(x);
    } else {
        r = pow(x, v[1].d);
    }
    *out = ak_v_double(r);
    return 0;
}

static int ev_pi(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)e;
    (void)v;
    (void)cx;
    *out = ak_v_double(M_PI);
    return 0;
}

static int bind_mod(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    ak_type_t t = ak__common_type(e->args[0]->type, e->args[1]->type);
    if (t == AK_NULL)
        t = AK_INT;
    if (!ak_type_is_numeric(t))
        return bind_err(e, err, "expected numbers");
    if (coerce_arg(e, 0, t, a, err) || coerce_arg(e, 1, t, a, err))
        return -1;
    e->type = t;
    return 0;
}

static int ev_mod(const ak_expr_t *e, ak_val_t *v, ak_eval_t *cx, ak_val_t *out)
{
    (void)cx;
    if (e->type == AK_INT) {
        if (v[1].i == 0) {
            *out = ak_v_null();
            return 0;
        }
        *out = ak_v_int(v[1].i == -1 ? 0 : v[0].i % v[1].i);
        return 0;
    }
    if (v[1].d == 0) {
        *out = ak_v_null();
        return 0;
    }
    *out = ak_v_double(fmod(v[0].d, v[1].d));
    return 0;
}

static int bind_zero(ak_expr_t *e, ak_arena_t *a, ak_err_t *err)
{
    (void)a;
    (void)err;
    e->type = AK_DOUBLE;
    return 0;
}

static const ak_func_t funcs[] = {
    {"datediff", 3, 3, bind_datediff, ev_datediff, true, false},
    {"date_diff", 3, 3, bind_datediff, ev_datediff, true, false},
    {"date_sub", 3, 3, bind_datediff, ev_datesub, true, false},
    {"date_trunc", 2, 2, bind_datetrunc, ev_datetrunc, true, false},
    {"datetrunc", 2, 2, bind_datetrunc, ev_datetrunc, true, false},
    {"date_part", 2, 2, bind_datepart, ev_datepart, true, false},
    {"datepart", 2, 2, bind_datepart, ev_datepart, true, false},
    {"year", 1, 1, bind_part_named, ev_part_named, true, false},
    {"quarter", 1, 1, bind_part_named, ev_part_named, true, false},
    {"month", 1, 1, bind_part_named, ev_part_named, true, false},
    {"week", 1, 1, bind_part_named, ev_part_named, true, false},
    {"day", 1, 1, bind_part_named, ev_part_named, true, false},
    {"hour", 1, 1, bind_part_named, ev_part_named, true, false},
    {"minute", 1, 1, bind_part_named, ev_part_named, true, false},
    {"second", 1, 1, bind_part_named, ev_part_named, true, false},
    {"dayofweek", 1, 1, bind_part_named, ev_part_named, true, false},
    {"dayofyear", 1, 1, bind_part_named, ev_part_named, true, false},
    {"epoch", 1, 1, bind_part_named, ev_part_named, true, false},
    {"epoch_ms", 1, 1, bind_epoch_ms, ev_epoch_ms, true, false},
    {"epoch_us", 1, 1, bind_epoch_us, ev_epoch_us, true, false},
    {"to_timestamp", 1, 1, bind_to_timestamp, ev_to_timestamp, true, false},
    {"strftime", 2, 2, bind_strftime, ev_strftime, true, false},
    {"current_timestamp", 0, 1, bind_now, ev_now, false, true},
    {"now", 0, 0, bind_now, ev_now, false, true},
    {"get_current_timestamp", 0, 0, bind_now, ev_now, false, true},
    {"transaction_timestamp", 0, 0, bind_now, ev_now, false, true},
    {"localtimestamp", 0, 0, bind_now, ev_now, false, true},
    {"current_date", 0, 0, bind_today, ev_today, false, true},
    {"today", 0, 0, bind_today, ev_today, false, true},
    {"date", 1, 1, bind_to_date, ev_identity, true, false},
    {"coalesce", 1, -1, bind_common, ev_coalesce, false, false},
    {"ifnull", 2, 2, bind_common, ev_coalesce, false, false},
    {"nullif", 2, 2, bind_common, ev_nullif, false, false},
    {"greatest", 1, -1, bind_common, ev_greatest, false, false},
    {"least", 1, -1, bind_common, ev_greatest, false, false},
    {"lower", 1, 1, bind_text_to_text, ev_case, true, false},
    {"lcase", 1, 1, bind_text_to_text, ev_case, true, false},
    {"upper", 1, 1, bind_text_to_text, ev_case, true, false},
    {"ucase", 1, 1, bind_text_to_text, ev_case, true, false},
    {"length", 1, 1, bind_text_to_int, ev_length, true, false},
    {"len", 1, 1, bind_text_to_int, ev_length, true, false},
    {"char_length", 1, 1, bind_text_to_int, ev_length, true, false},
    {"character_length", 1, 1, bind_text_to_int, ev_length, true, false},
    {"strlen", 1, 1, bind_text_to_int, ev_length, true, false},
    {"octet_length", 1, 1, bind_text_to_int, ev_length, true, false},
    {"substring", 2, 3, bind_substr, ev_substr, true, false},
    {"substr", 2, 3, bind_substr, ev_substr, true, false},
    {"trim", 1, 2, bind_text_to_text, ev_trim, true, false},
    {"ltrim", 1, 2, bind_text_to_text, ev_trim, true, false},
    {"rtrim", 1, 2, bind_text_to_text, ev_trim, true, false},
    {"concat", 1, -1, bind_concat, ev_concat, false, false},
    {"concat_ws", 2, -1, bind_concat, ev_concat, false, false},
    {"replace", 3, 3, bind_text_to_text, ev_replace, true, false},
    {"starts_with", 2, 2, bind_text_to_bool, ev_starts_with, true, false},
    {"prefix", 2, 2, bind_text_to_bool, ev_starts_with, true, false},
    {"ends_with", 2, 2, bind_text_to_bool, ev_starts_with, true, false},
    {"suffix", 2, 2, bind_text_to_bool, ev_starts_with, true, false},
    {"contains", 2, 2, bind_text_to_bool, ev_starts_with, true, false},
    {"strpos", 2, 2, bind_text_to_int, ev_strpos, true, false},
    {"instr", 2, 2, bind_text_to_int, ev_strpos, true, false},
    {"left", 2, 2, bind_left, ev_left, true, false},
    {"right", 2, 2, bind_left, ev_left, true, false},
    {"split_part", 3, 3, bind_split_part, ev_split_part, true, false},
    {"reverse", 1, 1, bind_text_to_text, ev_reverse, true, false},
    {"repeat", 2, 2, bind_repeat, ev_repeat, true, false},
    {"typeof", 1, 1, bind_typeof, ev_typeof, false, false},
    {"abs", 1, 1, bind_num_same, ev_abs, true, false},
    {"sign", 1, 1, bind_sign, ev_sign2, true, false},
    {"round", 1, 2, bind_num_same, ev_round, true, false},
    {"floor", 1, 1, bind_num_same, ev_floor, true, false},
    {"ceil", 1, 1, bind_num_same, ev_floor, true, false},
    {"ceiling", 1, 1, bind_num_same, ev_floor, true, false},
    {"sqrt", 1, 1, bind_num_double, ev_math1, true, false},
    {"ln", 1, 1, bind_num_double, ev_math1, true, false},
    {"log", 1, 1, bind_num_double, ev_math1, true, false},
    {"log10", 1, 1, bind_num_double, ev_math1, true, false},
    {"log2", 1, 1, bind_num_double, ev_math1, true, false},
    {"exp", 1, 1, bind_num_double, ev_math1, true, false},
    {"power", 2, 2, bind_num_double, ev_math1, true, false},
    {"pow", 2, 2, bind_num_double, ev_math1, true, false},
    {"mod", 2, 2, bind_mod, ev_mod, true, false},
    {"pi", 0, 0, bind_zero, ev_pi, false, false},
};

const ak_func_t *ak_func_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (strcasecmp(funcs[i].name, name) == 0)
            return &funcs[i];
    return NULL;
}

/* For "did you mean" hints. */
const char *ak__func_name_at(size_t i);
const char *ak__func_name_at(size_t i) { return i < sizeof funcs / sizeof funcs[0] ? funcs[i].name : NULL; }

static const struct {
    const char *name;
    ak_agg_fn_t fn;
} aggs[] = {
    {"count", AGG_COUNT},         {"sum", AGG_SUM},           {"avg", AGG_AVG},
    {"mean", AGG_AVG},            {"min", AGG_MIN},           {"max", AGG_MAX},
    {"any_value", AGG_ANY_VALUE}, {"first", AGG_FIRST},       {"last", AGG_LAST},
    {"arg_min", AGG_ARG_MIN},     {"argmin", AGG_ARG_MIN},    {"min_by", AGG_ARG_MIN},
    {"arg_max", AGG_ARG_MAX},     {"argmax", AGG_ARG_MAX},    {"max_by", AGG_ARG_MAX},
    {"string_agg", AGG_STRING_AGG}, {"listagg", AGG_STRING_AGG}, {"group_concat", AGG_STRING_AGG},
    {"bool_and", AGG_BOOL_AND},   {"bool_or", AGG_BOOL_OR},   {"every", AGG_BOOL_AND},
    {"var_samp", AGG_VAR_SAMP},   {"variance", AGG_VAR_SAMP}, {"var_pop", AGG_VAR_POP},
    {"stddev_samp", AGG_STDDEV_SAMP}, {"stddev", AGG_STDDEV_SAMP}, {"stddev_pop", AGG_STDDEV_POP},
};

bool ak_is_aggregate_name(const char *name, ak_agg_fn_t *fn)
{
    for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
        if (strcasecmp(aggs[i].name, name) == 0) {
            if (fn)
                *fn = aggs[i].fn;
            return true;
        }
    return false;
}

const char *ak_agg_name(ak_agg_fn_t fn)
{
    for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
        if (aggs[i].fn == fn)
            return aggs[i].name;
    return fn == AGG_COUNT_STAR ? "count_star" : "?";
}

static const struct {
    const char *name;
    ak_win_fn_t fn;
} wins[] = {
    {"row_number", WIN_ROW_NUMBER},   {"rank", WIN_RANK},           {"dense_rank", WIN_DENSE_RANK},
    {"percent_rank", WIN_PERCENT_RANK}, {"cume_dist", WIN_CUME_DIST}, {"ntile", WIN_NTILE},
    {"lag", WIN_LAG},                 {"lead", WIN_LEAD},           {"first_value", WIN_FIRST_VALUE},
    {"last_value", WIN_LAST_VALUE},   {"nth_value", WIN_NTH_VALUE},
};

bool ak_is_window_only_name(const char *name, ak_win_fn_t *fn)
{
    for (size_t i = 0; i < sizeof wins / sizeof wins[0]; i++)
        if (strcasecmp(wins[i].name, name) == 0) {
            if (fn)
                *fn = wins[i].fn;
            return true;
        }
    return false;
}

const char *ak_win_name(ak_win_fn_t fn)
{
    for (size_t i = 0; i < sizeof wins / sizeof wins[0]; i++)
        if (wins[i].fn == fn)
            return wins[i].name;
    return "aggregate";
}

