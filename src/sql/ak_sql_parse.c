/* ak_sql_parse.c - the SQL parser's tokens, helpers and expressions.
 *
 * Grammar covered: WITH (CTEs), SELECT [DISTINCT] items FROM joins WHERE
 * GROUP BY [ALL] HAVING QUALIFY WINDOW, UNION/EXCEPT/INTERSECT [ALL], ORDER
 * BY, LIMIT/OFFSET, and expressions with Postgres/DuckDB precedence
 * (OR < AND < NOT < comparison/IS/LIKE/BETWEEN/IN < || < + - < * / // % <
 * unary < ::).  The source is tokenised up front for easy lookahead.
 * Binding (names, types) is not done here.
 */
#include "ak_sql_parse_int.h"

#include "ak_alloc.h"
#include "ak_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const reserved[] = {
    "select", "from", "where", "group", "by", "having", "order", "limit", "offset", "union",
    "except", "intersect", "join", "on", "using", "left", "right", "full", "inner", "outer",
    "cross", "natural", "as", "and", "or", "not", "is", "null", "in", "between", "like", "ilike",
    "case", "when", "then", "else", "end", "with", "distinct", "all", "qualify", "window",
    "over", "partition", "filter", "true", "false", "asc", "desc", "exists", "cast", "nulls",
    "rows", "range", "groups", "unbounded", "preceding", "following", "current", "escape",
    NULL,
};

bool ak__p_is_reserved(const ak_tok_t *t)
{
    if (t->kind != TK_IDENT)
        return false;
    for (int i = 0; reserved[i]; i++)
        if (ak_tok_is(t, reserved[i]))
            return true;
    return false;
}

ak_tok_t *ak__p_cur(parser_t *p) { return &p->toks[p->i]; }
ak_tok_t *ak__p_peek(parser_t *p, size_t k) { return &p->toks[p->i + k < p->ntoks ? p->i + k : p->ntoks - 1]; }
void ak__p_adv(parser_t *p) { if (p->i + 1 < p->ntoks) p->i++; }
size_t ak__p_prev_end(parser_t *p)
{
    if (p->i == 0)
        return 0;
    ak_tok_t *t = &p->toks[p->i - 1];
    /* strings/quoted identifiers: t->p is inside the quotes */
    if (t->kind == TK_STRING || t->kind == TK_QIDENT)
        return (size_t)(t->p - p->src) + t->n + 1;
    if (t->kind == TK_TEMPLATE)
        return t->off; /* not used for spans */
    return t->off + t->n;
}

int ak__p_fail(parser_t *p, size_t off, const char *fmt, ...)
{
    if (p->err->code != AK_E_OK)
        return -1; /* keep the first error */
    va_list ap;
    va_start(ap, fmt);
    ak_verrf(p->err, AK_E_PARSE, fmt, ap);
    va_end(ap);
    p->err_off = off;
    return -1;
}

void ak__p_tok_desc(const ak_tok_t *t, char *buf, size_t cap)
{
    if (t->kind == TK_EOF)
        snprintf(buf, cap, "end of input");
    else if (t->kind == TK_STRING)
        snprintf(buf, cap, "string '%.*s'", (int)(t->n > 40 ? 40 : t->n), t->p);
    else
        snprintf(buf, cap, "`%.*s`", (int)(t->n > 40 ? 40 : t->n), t->p);
}

int ak__p_expected(parser_t *p, const char *what)
{
    char d[64];
    ak__p_tok_desc(ak__p_cur(p), d, sizeof d);
    return ak__p_fail(p, ak__p_cur(p)->off, "expected %s, found %s", what, d);
}

bool ak__p_kw(parser_t *p, const char *w) { return ak_tok_is(ak__p_cur(p), w); }
bool ak__p_accept_kw(parser_t *p, const char *w)
{
    if (ak__p_kw(p, w)) {
        ak__p_adv(p);
        return true;
    }
    return false;
}
int ak__p_expect_kw(parser_t *p, const char *w)
{
    if (ak__p_accept_kw(p, w))
        return 0;
    char what[64];
    snprintf(what, sizeof what, "`%s`", w);
    for (char *c = what; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    return ak__p_expected(p, what);
}
bool ak__p_accept(parser_t *p, ak_tok_kind_t k)
{
    if (ak__p_cur(p)->kind == k) {
        ak__p_adv(p);
        return true;
    }
    return false;
}
int ak__p_expect(parser_t *p, ak_tok_kind_t k, const char *what)
{
    return ak__p_accept(p, k) ? 0 : ak__p_expected(p, what);
}

char *ak__p_tok_str(parser_t *p, const ak_tok_t *t)
{
    /* unescape '' / "" */
    char *d = ak_arena_alloc_bytes(p->a, t->n + 1);
    if (!d)
        return NULL;
    size_t k = 0;
    char q = t->kind == TK_STRING ? '\'' : '"';
    for (size_t i = 0; i < t->n; i++) {
        d[k++] = t->p[i];
        if ((t->kind == TK_STRING || t->kind == TK_QIDENT) && t->p[i] == q && i + 1 < t->n && t->p[i + 1] == q)
            i++;
    }
    d[k] = '\0';
    return d;
}

/* An identifier (bare or quoted); bare words are kept as written. */
const char *ak__p_ident(parser_t *p, const char *what)
{
    ak_tok_t *t = ak__p_cur(p);
    if (t->kind == TK_QIDENT || (t->kind == TK_IDENT && !ak__p_is_reserved(t))) {
        const char *s = ak__p_tok_str(p, t);
        if (!s) {
            ak_err_nomem(p->err);
            return NULL;
        }
        ak__p_adv(p);
        return s;
    }
    ak__p_expected(p, what);
    return NULL;
}

ak_ast_t *ak__p_node(parser_t *p, ak_ast_kind_t k, size_t off)
{
    ak_ast_t *n = ak_arena_zalloc(p->a, sizeof *n);
    if (!n) {
        ak_err_nomem(p->err);
        return NULL;
    }
    n->kind = k;
    n->off = off;
    n->end = off;
    return n;
}

/* A node with the given children (copied into the arena). */
ak_ast_t *ak__p_node_with(parser_t *p, ak_ast_kind_t k, size_t off, ak_ast_t *const *kids, int n)
{
    ak_ast_t *x = ak__p_node(p, k, off);
    if (!x)
        return NULL;
    x->args = ak_arena_alloc(p->a, sizeof *x->args * (size_t)(n ? n : 1));
    if (!x->args) {
        ak_err_nomem(p->err);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        x->args[i] = kids[i];
    x->nargs = n;
    return x;
}

int ak__p_plist_push(parser_t *p, plist_t *l, void *x)
{
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 4;
        void **nv = ak_arena_alloc(p->a, sizeof *nv * (size_t)nc);
        if (!nv)
            return ak_err_nomem(p->err);
        if (l->n)
            memcpy(nv, l->v, sizeof *nv * (size_t)l->n);
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = x;
    return 0;
}


/* ---- types -------------------------------------------------------------- */

int ak__p_parse_type(parser_t *p, ak_type_t *out)
{
    ak_tok_t *t = ak__p_cur(p);
    if (t->kind != TK_IDENT && t->kind != TK_QIDENT)
        return ak__p_expected(p, "a type name");
    size_t off = t->off;
    ak_type_t ty = ak_type_parse(t->p, t->n);
    bool is_double = ak_tok_is(t, "double"), is_ts = ak_tok_is(t, "timestamp");
    if (ty == AK_NULL)
        return ak__p_fail(p, off, "unknown type `%.*s` (known: VARCHAR, BIGINT, INTEGER, DOUBLE, FLOAT, BOOLEAN, DATE, TIMESTAMP, INTERVAL)",
                    (int)t->n, t->p);
    ak__p_adv(p);
    if (is_double)
        ak__p_accept_kw(p, "precision");
    if (is_ts && ak__p_kw(p, "with")) {
        ak__p_adv(p);
        if (ak__p_expect_kw(p, "time") || ak__p_expect_kw(p, "zone"))
            return -1;
    } else if (is_ts && ak__p_kw(p, "without")) {
        ak__p_adv(p);
        if (ak__p_expect_kw(p, "time") || ak__p_expect_kw(p, "zone"))
            return -1;
    }
    if (ak__p_accept(p, TK_LPAREN)) { /* VARCHAR(10), DECIMAL(18,3): parameters ignored */
        while (ak__p_cur(p)->kind == TK_INTEGER || ak__p_cur(p)->kind == TK_COMMA)
            ak__p_adv(p);
        if (ak__p_expect(p, TK_RPAREN, "`)`"))
            return -1;
    }
    *out = ty;
    return 0;
}

/* ---- literals ------------------------------------------------------------ */

static int interval_from_text(parser_t *p, size_t off, const char *s, ak_tunit_t unit_after, ak_val_t *out)
{
    /* '24 hours', '1 day 2 hours', '30' (with a unit after the literal), '-1 month' */
    int32_t months = 0;
    int64_t us = 0;
    const char *c = s;
    bool any = false;
    while (*c) {
        while (*c == ' ')
            c++;
        if (!*c)
            break;
        char *e;
        errno = 0;
        double num = strtod(c, &e);
        if (e == c || errno)
            return ak__p_fail(p, off, "cannot read interval '%s' (expected e.g. '24 hours' or '1 day 2 hours')", s);
        c = e;
        while (*c == ' ')
            c++;
        const char *u0 = c;
        while ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))
            c++;
        ak_tunit_t u = u0 == c ? unit_after : ak_tunit_parse(u0, (size_t)(c - u0));
        if (u == AK_TU_INVALID) {
            if (u0 == c)
                return ak__p_fail(p, off, "interval '%s' needs a unit (e.g. '%s hours')", s, s);
            return ak__p_fail(p, off, "unknown interval unit `%.*s`", (int)(c - u0), u0);
        }
        switch (u) {
        case AK_TU_MICROSECOND: us += (int64_t)num; break;
        case AK_TU_MILLISECOND: us += (int64_t)(num * 1000); break;
        case AK_TU_SECOND: us += (int64_t)(num * 1e6); break;
        case AK_TU_MINUTE: us += (int64_t)(num * 6e7); break;
        case AK_TU_HOUR: us += (int64_t)(num * 3.6e9); break;
        case AK_TU_DAY: us += (int64_t)(num * 8.64e10); break;
        case AK_TU_WEEK: us += (int64_t)(num * 7 * 8.64e10); break;
        case AK_TU_MONTH: months += (int32_t)num; break;
        case AK_TU_QUARTER: months += (int32_t)(num * 3); break;
        case AK_TU_YEAR: months += (int32_t)(num * 12); break;
        case AK_TU_DECADE: months += (int32_t)(num * 120); break;
        case AK_TU_CENTURY: months += (int32_t)(num * 1200); break;
        case AK_TU_MILLENNIUM: months += (int32_t)(num * 12000); break;
        default: return ak__p_fail(p, off, "`%s` is not an interval unit", ak_tunit_name(u));
        }
        any = true;
    }
    if (!any)
        return ak__p_fail(p, off, "empty interval");
    *out = ak_v_interval(months, us);
    return 0;
}

static ak_ast_t *parse_interval(parser_t *p, size_t off)
{
    /* INTERVAL '24 hours' | INTERVAL '1' DAY | INTERVAL 30 MINUTE | INTERVAL (expr) unit */
    ak_ast_t *n = ak__p_node(p, AST_LIT, off);
    if (!n)
        return NULL;
    const char *text;
    ak_tok_t *t = ak__p_cur(p);
    if (t->kind == TK_STRING) {
        text = ak__p_tok_str(p, t);
    } else if (t->kind == TK_INTEGER || t->kind == TK_NUMBER) {
        text = ak_arena_strndup(p->a, t->p, t->n);
    } else {
        ak__p_expected(p, "an interval literal such as '24 hours'");
        return NULL;
    }
    if (!text) {
        ak_err_nomem(p->err);
        return NULL;
    }
    ak__p_adv(p);
    ak_tunit_t unit = AK_TU_INVALID;
    if (ak__p_cur(p)->kind == TK_IDENT) {
        ak_tunit_t u = ak_tunit_parse(ak__p_cur(p)->p, ak__p_cur(p)->n);
        if (u != AK_TU_INVALID && u < AK_TU_DOW) {
            unit = u;
            ak__p_adv(p);
        }
    }
    if (interval_from_text(p, off, text, unit, &n->lit))
        return NULL;
    n->end = ak__p_prev_end(p);
    return n;
}

/* ---- primary expressions ------------------------------------------------- */

static ak_ast_t *parse_case(parser_t *p, size_t off)
{
    ak_ast_t *n = ak__p_node(p, AST_CASE, off);
    if (!n)
        return NULL;
    plist_t args = {0};
    if (!ak__p_kw(p, "when")) {
        ak_ast_t *operand = ak__p_parse_expr(p);
        if (!operand || ak__p_plist_push(p, &args, operand))
            return NULL;
        n->has_operand = true;
    }
    if (!ak__p_kw(p, "when")) {
        ak__p_expected(p, "`WHEN`");
        return NULL;
    }
    while (ak__p_accept_kw(p, "when")) {
        ak_ast_t *w = ak__p_parse_expr(p);
        if (!w || ak__p_expect_kw(p, "then"))
            return NULL;
        ak_ast_t *th = ak__p_parse_expr(p);
        if (!th || ak__p_plist_push(p, &args, w) || ak__p_plist_push(p, &args, th))
            return NULL;
    }
    if (ak__p_accept_kw(p, "else")) {
        ak_ast_t *e = ak__p_parse_expr(p);
        if (!e || ak__p_plist_push(p, &args, e))
            return NULL;
        n->has_else = true;
    }
    if (ak__p_expect_kw(p, "end"))
        return NULL;
    n->args = (ak_ast_t **)args.v;
    n->nargs = args.n;
    n->end = ak__p_prev_end(p);
    return n;
}

static ak_ast_t *parse_func(parser_t *p, const char *name, size_t off)
{
    /* cur is just past `(` */
    ak_ast_t *n = ak__p_node(p, AST_FUNC, off);
    if (!n)
        return NULL;
    n->name = name;
    plist_t args = {0};
    if (ak__p_cur(p)->kind == TK_STAR) {
        ak__p_adv(p);
        n->star = true;
    } else if (ak__p_cur(p)->kind != TK_RPAREN) {
        if (ak__p_accept_kw(p, "distinct"))
            n->distinct = true;
        else
            ak__p_accept_kw(p, "all");
        for (;;) {
            ak_ast_t *a = ak__p_parse_expr(p);
            if (!a || ak__p_plist_push(p, &args, a))
                return NULL;
            if (!ak__p_accept(p, TK_COMMA))
                break;
        }
        if (ak__p_kw(p, "order")) {
            /* STRING_AGG(x, ',' ORDER BY y) is not supported: say so */
            ak__p_fail(p, ak__p_cur(p)->off, "ORDER BY inside an aggregate call is not supported");
            return NULL;
        }
        if (ak__p_kw(p, "ignore") && ak_tok_is(ak__p_peek(p, 1), "nulls")) {
            ak__p_adv(p);
            ak__p_adv(p);
            n->ignore_nulls = true;
        }
    }
    if (ak__p_expect(p, TK_RPAREN, "`)` to close the function call"))
        return NULL;
    n->args = (ak_ast_t **)args.v;
    n->nargs = args.n;
    if (ak__p_kw(p, "ignore") && ak_tok_is(ak__p_peek(p, 1), "nulls")) {
        ak__p_adv(p);
        ak__p_adv(p);
        n->ignore_nulls = true;
    } else if (ak__p_kw(p, "respect") && ak_tok_is(ak__p_peek(p, 1), "nulls")) {
        ak__p_adv(p);
        ak__p_adv(p);
    }
    if (ak__p_accept_kw(p, "filter")) {
        if (ak__p_expect(p, TK_LPAREN, "`(` after FILTER") || ak__p_expect_kw(p, "where"))
            return NULL;
        n->filter = ak__p_parse_expr(p);
        if (!n->filter || ak__p_expect(p, TK_RPAREN, "`)` to close FILTER"))
            return NULL;
    }
    if (ak__p_accept_kw(p, "over")) {
        if (ak__p_cur(p)->kind == TK_LPAREN) {
            ak__p_adv(p);
            n->over = ak__p_parse_window_spec(p);
            if (!n->over || ak__p_expect(p, TK_RPAREN, "`)` to close the window"))
                return NULL;
        } else {
            n->over_name = ak__p_ident(p, "a window name or `(`");
            if (!n->over_name)
                return NULL;
        }
    }
    n->end = ak__p_prev_end(p);
    return n;
}

static ak_ast_t *func_node(parser_t *p, const char *name, size_t off, ak_ast_t **args, int nargs)
{
    ak_ast_t *n = ak__p_node_with(p, AST_FUNC, off, args, nargs);
    if (n) {
        n->name = name;
        n->end = ak__p_prev_end(p);
    }
    return n;
}

static ak_ast_t *lit_node(parser_t *p, size_t off, ak_val_t v)
{
    ak_ast_t *n = ak__p_node(p, AST_LIT, off);
    if (n) {
        n->lit = v;
        n->end = ak__p_prev_end(p);
    }
    return n;
}

static ak_ast_t *parse_primary(parser_t *p)
{
    ak_tok_t *t = ak__p_cur(p);
    size_t off = t->off;
    if (++p->depth > 200) {
        ak__p_fail(p, off, "expression nested too deeply");
        return NULL;
    }
    ak_ast_t *r = NULL;
    switch (t->kind) {
    case TK_INTEGER: {
        errno = 0;
        char buf[64];
        size_t n = t->n < 63 ? t->n : 63;
        memcpy(buf, t->p, n);
        buf[n] = '\0';
        long long v = strtoll(buf, NULL, 10);
        ak__p_adv(p);
        r = errno == ERANGE ? lit_node(p, off, ak_v_double(strtod(buf, NULL))) : lit_node(p, off, ak_v_int(v));
        break;
    }
    case TK_NUMBER: {
        char buf[64];
        size_t n = t->n < 63 ? t->n : 63;
        memcpy(buf, t->p, n);
        buf[n] = '\0';
        ak__p_adv(p);
        r = lit_node(p, off, ak_v_double(strtod(buf, NULL)));
        break;
    }
    case TK_STRING: {
        char *s = ak__p_tok_str(p, t);
        if (!s) {
            ak_err_nomem(p->err);
            break;
        }
        ak__p_adv(p);
        r = lit_node(p, off, ak_v_text(s, strlen(s)));
        break;
    }
    case TK_LPAREN:
        ak__p_adv(p);
        if (ak__p_kw(p, "select") || ak__p_kw(p, "with")) {
            r = ak__p_node(p, AST_SUBQ, off);
            if (!r || !(r->subq = ak__p_parse_query(p)) || ak__p_expect(p, TK_RPAREN, "`)` to close the subquery")) {
                r = NULL;
                break;
            }
            r->end = ak__p_prev_end(p);
        } else {
            r = ak__p_parse_expr(p);
            if (r && ak__p_expect(p, TK_RPAREN, "`)`"))
                r = NULL;
            if (r) {
                /* keep the parentheses in the span so names read naturally */
                r->off = off;
                r->end = ak__p_prev_end(p);
            }
        }
        break;
    case TK_TEMPLATE:
        ak__p_fail(p, off, "a {{ template }} can only stand where a table is expected");
        break;
    case TK_STAR:
        ak__p_fail(p, off, "`*` is only allowed in the select list or COUNT(*)");
        break;
    case TK_QIDENT:
    case TK_IDENT: {
        if (t->kind == TK_IDENT) {
            if (ak_tok_is(t, "null")) { ak__p_adv(p); r = lit_node(p, off, ak_v_null()); break; }
            if (ak_tok_is(t, "true")) { ak__p_adv(p); r = lit_node(p, off, ak_v_bool(true)); break; }
            if (ak_tok_is(t, "false")) { ak__p_adv(p); r = lit_node(p, off, ak_v_bool(false)); break; }
            if (ak_tok_is(t, "case")) { ak__p_adv(p); r = parse_case(p, off); break; }
            if (ak_tok_is(t, "exists") && ak__p_peek(p, 1)->kind == TK_LPAREN) {
                ak__p_adv(p);
                ak__p_adv(p);
                r = ak__p_node(p, AST_EXISTS, off);
                if (!r || !(r->subq = ak__p_parse_query(p)) || ak__p_expect(p, TK_RPAREN, "`)`")) {
                    r = NULL;
                    break;
                }
                r->end = ak__p_prev_end(p);
                break;
            }
            if ((ak_tok_is(t, "cast") || ak_tok_is(t, "try_cast")) && ak__p_peek(p, 1)->kind == TK_LPAREN) {
                bool try_cast = ak_tok_is(t, "try_cast");
                ak__p_adv(p);
                ak__p_adv(p);
                ak_ast_t *x = ak__p_parse_expr(p);
                r = x ? ak__p_node_with(p, AST_CAST, off, &x, 1) : NULL;
                if (!r || ak__p_expect_kw(p, "as") || ak__p_parse_type(p, &r->cast_type) || ak__p_expect(p, TK_RPAREN, "`)`")) {
                    r = NULL;
                    break;
                }
                r->try_cast = try_cast;
                r->end = ak__p_prev_end(p);
                break;
            }
            if (ak_tok_is(t, "extract") && ak__p_peek(p, 1)->kind == TK_LPAREN) {
                ak__p_adv(p);
                ak__p_adv(p);
                ak_tok_t *f = ak__p_cur(p);
                if (f->kind != TK_IDENT && f->kind != TK_STRING) {
                    ak__p_expected(p, "a field such as HOUR");
                    break;
                }
                ak_ast_t *field = lit_node(p, f->off, ak_v_text(ak_arena_strndup(p->a, f->p, f->n), f->n));
                ak__p_adv(p);
                if (!field || ak__p_expect_kw(p, "from"))
                    break;
                ak_ast_t *x = ak__p_parse_expr(p);
                if (!x || ak__p_expect(p, TK_RPAREN, "`)`"))
                    break;
                ak_ast_t *args[2] = {field, x};
                r = func_node(p, "date_part", off, args, 2);
                break;
            }
            if ((ak_tok_is(t, "timestamp") || ak_tok_is(t, "date") || ak_tok_is(t, "timestamptz")) &&
                ak__p_peek(p, 1)->kind == TK_STRING) {
                bool is_date = ak_tok_is(t, "date");
                ak__p_adv(p);
                ak_tok_t *s = ak__p_cur(p);
                char *txt = ak__p_tok_str(p, s);
                ak__p_adv(p);
                if (!txt) {
                    ak_err_nomem(p->err);
                    break;
                }
                int64_t v;
                if (is_date ? ak_date_parse(txt, strlen(txt), &v) : ak_ts_parse(txt, strlen(txt), &v)) {
                    ak__p_fail(p, s->off, "cannot read '%s' as %s", txt, is_date ? "DATE" : "TIMESTAMP");
                    break;
                }
                r = lit_node(p, off, is_date ? ak_v_date(v) : ak_v_ts(v));
                break;
            }
            if (ak_tok_is(t, "interval") && (ak__p_peek(p, 1)->kind == TK_STRING || ak__p_peek(p, 1)->kind == TK_INTEGER ||
                                              ak__p_peek(p, 1)->kind == TK_NUMBER)) {
                ak__p_adv(p);
                r = parse_interval(p, off);
                break;
            }
            if ((ak_tok_is(t, "current_timestamp") || ak_tok_is(t, "current_date") ||
                 ak_tok_is(t, "localtimestamp") || ak_tok_is(t, "current_time")) &&
                ak__p_peek(p, 1)->kind != TK_LPAREN) {
                const char *nm = ak_arena_strndup(p->a, t->p, t->n);
                ak__p_adv(p);
                r = nm ? func_node(p, nm, off, NULL, 0) : NULL;
                break;
            }
            if (ak__p_is_reserved(t)) {
                char d[64];
                ak__p_tok_desc(t, d, sizeof d);
                ak__p_fail(p, off, "expected an expression, found %s", d);
                break;
            }
        }
        const char *name = ak__p_tok_str(p, t);
        if (!name) {
            ak_err_nomem(p->err);
            break;
        }
        ak__p_adv(p);
        if (t->kind == TK_IDENT && ak__p_cur(p)->kind == TK_LPAREN) {
            ak__p_adv(p);
            r = parse_func(p, name, off);
            break;
        }
        if (ak__p_cur(p)->kind == TK_DOT) {
            ak__p_adv(p);
            if (ak__p_cur(p)->kind == TK_STAR) {
                ak__p_fail(p, ak__p_cur(p)->off, "`%s.*` is only allowed in the select list", name);
                break;
            }
            const char *col = ak__p_ident(p, "a column name after `.`");
            if (!col)
                break;
            r = ak__p_node(p, AST_COL, off);
            if (r) {
                r->qual = name;
                r->name = col;
                r->end = ak__p_prev_end(p);
            }
            break;
        }
        r = ak__p_node(p, AST_COL, off);
        if (r) {
            r->name = name;
            r->end = ak__p_prev_end(p);
        }
        break;
    }
    default: {
        char d[64];
        ak__p_tok_desc(t, d, sizeof d);
        ak__p_fail(p, off, "expected an expression, found %s", d);
        break;
    }
    }
    p->depth--;
    return r;
}

static ak_ast_t *parse_postfix(parser_t *p)
{
    ak_ast_t *x = parse_primary(p);
    while (x && ak__p_cur(p)->kind == TK_DCOLON) {
        ak__p_adv(p);
        ak_ast_t *c = ak__p_node_with(p, AST_CAST, x->off, &x, 1);
        if (!c || ak__p_parse_type(p, &c->cast_type))
            return NULL;
        c->end = ak__p_prev_end(p);
        x = c;
    }
    return x;
}

static ak_ast_t *binary(parser_t *p, ak_ast_kind_t k, int op, ak_ast_t *l, ak_ast_t *r)
{
    if (!l || !r)
        return NULL;
    ak_ast_t *kids[2] = {l, r};
    ak_ast_t *n = ak__p_node_with(p, k, l->off, kids, 2);
    if (!n)
        return NULL;
    n->op = op;
    n->end = r->end;
    return n;
}

static ak_ast_t *parse_unary(parser_t *p)
{
    if (ak__p_cur(p)->kind == TK_MINUS || ak__p_cur(p)->kind == TK_PLUS) {
        bool neg = ak__p_cur(p)->kind == TK_MINUS;
        size_t off = ak__p_cur(p)->off;
        ak__p_adv(p);
        ak_ast_t *x = parse_unary(p);
        if (!x || !neg)
            return x;
        if (x->kind == AST_LIT && x->lit.type == AK_INT && x->lit.i != INT64_MIN) {
            x->lit.i = -x->lit.i;
            x->off = off;
            return x;
        }
        if (x->kind == AST_LIT && x->lit.type == AK_DOUBLE) {
            x->lit.d = -x->lit.d;
            x->off = off;
            return x;
        }
        ak_ast_t *n = ak__p_node_with(p, AST_NEG, off, &x, 1);
        if (n)
            n->end = x->end;
        return n;
    }
    return parse_postfix(p);
}

static ak_ast_t *parse_mul(parser_t *p)
{
    ak_ast_t *l = parse_unary(p);
    for (;;) {
        ak_tok_kind_t k = ak__p_cur(p)->kind;
        int op = k == TK_STAR ? '*' : k == TK_SLASH ? '/' : k == TK_DSLASH ? 'D' : k == TK_PERCENT ? '%' : 0;
        if (!op || !l)
            return l;
        ak__p_adv(p);
        l = binary(p, AST_ARITH, op, l, parse_unary(p));
    }
}

ak_ast_t *ak__p_parse_add(parser_t *p)
{
    ak_ast_t *l = parse_mul(p);
    for (;;) {
        ak_tok_kind_t k = ak__p_cur(p)->kind;
        if (!l || (k != TK_PLUS && k != TK_MINUS))
            return l;
        ak__p_adv(p);
        l = binary(p, AST_ARITH, k == TK_PLUS ? '+' : '-', l, parse_mul(p));
    }
}

ak_ast_t *ak__p_parse_concat(parser_t *p)
{
    ak_ast_t *l = ak__p_parse_add(p);
    while (l && ak__p_cur(p)->kind == TK_CONCAT) {
        ak__p_adv(p);
        l = binary(p, AST_CONCAT, 0, l, ak__p_parse_add(p));
    }
    return l;
}

static int cmp_op(ak_tok_kind_t k)
{
    switch (k) {
    case TK_EQ: return 0;
    case TK_NE: return 1;
    case TK_LT: return 2;
    case TK_LE: return 3;
    case TK_GT: return 4;
    case TK_GE: return 5;
    default: return -1;
    }
}

static ak_ast_t *parse_cmp(parser_t *p)
{
    ak_ast_t *l = ak__p_parse_concat(p);
    while (l) {
        int op = cmp_op(ak__p_cur(p)->kind);
        if (op >= 0) {
            ak__p_adv(p);
            l = binary(p, AST_CMP, op, l, ak__p_parse_concat(p));
            continue;
        }
        if (ak__p_kw(p, "is")) {
            ak__p_adv(p);
            bool neg = ak__p_accept_kw(p, "not");
            if (ak__p_accept_kw(p, "null")) {
                ak_ast_t *n = ak__p_node_with(p, AST_ISNULL, l->off, &l, 1);
                if (!n)
                    return NULL;
                n->negated = neg;
                n->end = ak__p_prev_end(p);
                l = n;
                continue;
            }
            if (ak__p_accept_kw(p, "distinct")) {
                if (ak__p_expect_kw(p, "from"))
                    return NULL;
                l = binary(p, AST_DISTINCT, 0, l, ak__p_parse_concat(p));
                if (l)
                    l->negated = neg;
                continue;
            }
            if (ak__p_kw(p, "true") || ak__p_kw(p, "false")) {
                /* x IS [NOT] TRUE  ==  (x IS NOT DISTINCT FROM TRUE) */
                ak_ast_t *b = lit_node(p, ak__p_cur(p)->off, ak_v_bool(ak__p_kw(p, "true")));
                ak__p_adv(p);
                l = binary(p, AST_DISTINCT, 0, l, b);
                if (l)
                    l->negated = !neg;
                continue;
            }
            ak__p_expected(p, "NULL, DISTINCT FROM, TRUE or FALSE after IS");
            return NULL;
        }
        bool neg = false;
        size_t save = p->i;
        if (ak__p_kw(p, "not") && (ak_tok_is(ak__p_peek(p, 1), "between") || ak_tok_is(ak__p_peek(p, 1), "in") ||
                             ak_tok_is(ak__p_peek(p, 1), "like") || ak_tok_is(ak__p_peek(p, 1), "ilike"))) {
            ak__p_adv(p);
            neg = true;
        }
        if (ak__p_accept_kw(p, "between")) {
            ak_ast_t *lo = ak__p_parse_concat(p);
            if (!lo || ak__p_expect_kw(p, "and"))
                return NULL;
            ak_ast_t *hi = ak__p_parse_concat(p);
            if (!hi)
                return NULL;
            ak_ast_t *kids[3] = {l, lo, hi};
            ak_ast_t *n = ak__p_node_with(p, AST_BETWEEN, l->off, kids, 3);
            if (!n)
                return NULL;
            n->negated = neg;
            n->end = hi->end;
            l = n;
            continue;
        }
        if (ak__p_accept_kw(p, "like") || (ak__p_kw(p, "ilike") && (ak__p_adv(p), true))) {
            bool ilike = ak_tok_is(&p->toks[p->i - 1], "ilike");
            l = binary(p, AST_LIKE, ilike, l, ak__p_parse_concat(p));
            if (l)
                l->negated = neg;
            if (l && ak__p_accept_kw(p, "escape")) {
                ak__p_fail(p, ak__p_cur(p)->off, "LIKE ... ESCAPE is not supported");
                return NULL;
            }
            continue;
        }
        if (ak__p_accept_kw(p, "in")) {
            if (ak__p_expect(p, TK_LPAREN, "`(` after IN"))
                return NULL;
            if (ak__p_kw(p, "select") || ak__p_kw(p, "with")) {
                ak_ast_t *n = ak__p_node_with(p, AST_IN_SUBQ, l->off, &l, 1);
                if (!n || !(n->subq = ak__p_parse_query(p)) || ak__p_expect(p, TK_RPAREN, "`)`"))
                    return NULL;
                n->negated = neg;
                n->end = ak__p_prev_end(p);
                l = n;
                continue;
            }
            plist_t items = {0};
            if (ak__p_plist_push(p, &items, l))
                return NULL;
            for (;;) {
                ak_ast_t *e = ak__p_parse_expr(p);
                if (!e || ak__p_plist_push(p, &items, e))
                    return NULL;
                if (!ak__p_accept(p, TK_COMMA))
                    break;
            }
            if (ak__p_expect(p, TK_RPAREN, "`)` to close the IN list"))
                return NULL;
            ak_ast_t *n = ak__p_node(p, AST_IN_LIST, l->off);
            if (!n)
                return NULL;
            n->args = (ak_ast_t **)items.v;
            n->nargs = items.n;
            n->negated = neg;
            n->end = ak__p_prev_end(p);
            l = n;
            continue;
        }
        p->i = save;
        return l;
    }
    return l;
}

static ak_ast_t *parse_not(parser_t *p)
{
    if (ak__p_kw(p, "not")) {
        size_t off = ak__p_cur(p)->off;
        ak__p_adv(p);
        ak_ast_t *x = parse_not(p);
        if (!x)
            return NULL;
        ak_ast_t *n = ak__p_node_with(p, AST_NOT, off, &x, 1);
        if (n)
            n->end = x->end;
        return n;
    }
    return parse_cmp(p);
}

static ak_ast_t *parse_and(parser_t *p)
{
    ak_ast_t *l = parse_not(p);
    while (l && ak__p_kw(p, "and")) {
        ak__p_adv(p);
        l = binary(p, AST_AND, 0, l, parse_not(p));
    }
    return l;
}

ak_ast_t *ak__p_parse_expr(parser_t *p)
{
    if (++p->depth > 200) {
        ak__p_fail(p, ak__p_cur(p)->off, "expression nested too deeply");
        return NULL;
    }
    ak_ast_t *l = parse_and(p);
    while (l && ak__p_kw(p, "or")) {
        ak__p_adv(p);
        l = binary(p, AST_OR, 0, l, parse_and(p));
    }
    p->depth--;
    return l;
}

