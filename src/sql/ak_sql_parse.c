/* ak_sql_parse.c - recursive-descent parser for SELECT statements.
 *
 * Grammar covered: WITH (CTEs), SELECT [DISTINCT] items FROM joins WHERE
 * GROUP BY [ALL] HAVING QUALIFY WINDOW, UNION/EXCEPT/INTERSECT [ALL], ORDER
 * BY, LIMIT/OFFSET, and expressions with Postgres/DuckDB precedence
 * (OR < AND < NOT < comparison/IS/LIKE/BETWEEN/IN < || < + - < * / // % <
 * unary < ::).  The source is tokenised up front for easy lookahead.
 * Binding (names, types) is not done here.
 */
#include "ak_sql_ast.h"
#include "ak_sql_lex.h"

#include "ak_alloc.h"
#include "ak_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct parser {
    const char *src;
    ak_tok_t *toks;
    size_t ntoks, i;
    ak_arena_t *a;
    ak_err_t *err;
    size_t err_off;
    int depth;
} parser_t;

static const char *const reserved[] = {
    "select", "from", "where", "group", "by", "having", "order", "limit", "offset", "union",
    "except", "intersect", "join", "on", "using", "left", "right", "full", "inner", "outer",
    "cross", "natural", "as", "and", "or", "not", "is", "null", "in", "between", "like", "ilike",
    "case", "when", "then", "else", "end", "with", "distinct", "all", "qualify", "window",
    "over", "partition", "filter", "true", "false", "asc", "desc", "exists", "cast", "nulls",
    "rows", "range", "groups", "unbounded", "preceding", "following", "current", "escape",
    NULL,
};

static bool is_reserved(const ak_tok_t *t)
{
    if (t->kind != TK_IDENT)
        return false;
    for (int i = 0; reserved[i]; i++)
        if (ak_tok_is(t, reserved[i]))
            return true;
    return false;
}

static ak_tok_t *cur(parser_t *p) { return &p->toks[p->i]; }
static ak_tok_t *peek(parser_t *p, size_t k) { return &p->toks[p->i + k < p->ntoks ? p->i + k : p->ntoks - 1]; }
static void adv(parser_t *p) { if (p->i + 1 < p->ntoks) p->i++; }
static size_t prev_end(parser_t *p)
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

static int fail(parser_t *p, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser_t *p, size_t off, const char *fmt, ...)
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

static void tok_desc(const ak_tok_t *t, char *buf, size_t cap)
{
    if (t->kind == TK_EOF)
        snprintf(buf, cap, "end of input");
    else if (t->kind == TK_STRING)
        snprintf(buf, cap, "string '%.*s'", (int)(t->n > 40 ? 40 : t->n), t->p);
    else
        snprintf(buf, cap, "`%.*s`", (int)(t->n > 40 ? 40 : t->n), t->p);
}

static int expected(parser_t *p, const char *what)
{
    char d[64];
    tok_desc(cur(p), d, sizeof d);
    return fail(p, cur(p)->off, "expected %s, found %s", what, d);
}

static bool kw(parser_t *p, const char *w) { return ak_tok_is(cur(p), w); }
static bool accept_kw(parser_t *p, const char *w)
{
    if (kw(p, w)) {
        adv(p);
        return true;
    }
    return false;
}
static int expect_kw(parser_t *p, const char *w)
{
    if (accept_kw(p, w))
        return 0;
    char what[64];
    snprintf(what, sizeof what, "`%s`", w);
    for (char *c = what; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    return expected(p, what);
}
static bool accept(parser_t *p, ak_tok_kind_t k)
{
    if (cur(p)->kind == k) {
        adv(p);
        return true;
    }
    return false;
}
static int expect(parser_t *p, ak_tok_kind_t k, const char *what)
{
    return accept(p, k) ? 0 : expected(p, what);
}

static char *tok_str(parser_t *p, const ak_tok_t *t)
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
static const char *ident(parser_t *p, const char *what)
{
    ak_tok_t *t = cur(p);
    if (t->kind == TK_QIDENT || (t->kind == TK_IDENT && !is_reserved(t))) {
        const char *s = tok_str(p, t);
        if (!s) {
            ak_err_nomem(p->err);
            return NULL;
        }
        adv(p);
        return s;
    }
    expected(p, what);
    return NULL;
}

static ak_ast_t *node(parser_t *p, ak_ast_kind_t k, size_t off)
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

/* Growable pointer list in the arena (copied on growth; old copies are waste
 * the arena frees at the end). */
typedef struct plist {
    void **v;
    int n, cap;
} plist_t;

static int plist_push(parser_t *p, plist_t *l, void *x)
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

static ak_ast_t *parse_expr(parser_t *p);
static ak_query_ast_t *parse_query(parser_t *p);
static ak_window_ast_t *parse_window_spec(parser_t *p);

/* ---- types -------------------------------------------------------------- */

static int parse_type(parser_t *p, ak_type_t *out)
{
    ak_tok_t *t = cur(p);
    if (t->kind != TK_IDENT && t->kind != TK_QIDENT)
        return expected(p, "a type name");
    size_t off = t->off;
    ak_type_t ty = ak_type_parse(t->p, t->n);
    bool is_double = ak_tok_is(t, "double"), is_ts = ak_tok_is(t, "timestamp");
    if (ty == AK_NULL)
        return fail(p, off, "unknown type `%.*s` (known: VARCHAR, BIGINT, INTEGER, DOUBLE, FLOAT, BOOLEAN, DATE, TIMESTAMP, INTERVAL)",
                    (int)t->n, t->p);
    adv(p);
    if (is_double)
        accept_kw(p, "precision");
    if (is_ts && kw(p, "with")) {
        adv(p);
        if (expect_kw(p, "time") || expect_kw(p, "zone"))
            return -1;
    } else if (is_ts && kw(p, "without")) {
        adv(p);
        if (expect_kw(p, "time") || expect_kw(p, "zone"))
            return -1;
    }
    if (accept(p, TK_LPAREN)) { /* VARCHAR(10), DECIMAL(18,3): parameters ignored */
        while (cur(p)->kind == TK_INTEGER || cur(p)->kind == TK_COMMA)
            adv(p);
        if (expect(p, TK_RPAREN, "`)`"))
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
            return fail(p, off, "cannot read interval '%s' (expected e.g. '24 hours' or '1 day 2 hours')", s);
        c = e;
        while (*c == ' ')
            c++;
        const char *u0 = c;
        while ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))
            c++;
        ak_tunit_t u = u0 == c ? unit_after : ak_tunit_parse(u0, (size_t)(c - u0));
        if (u == AK_TU_INVALID) {
            if (u0 == c)
                return fail(p, off, "interval '%s' needs a unit (e.g. '%s hours')", s, s);
            return fail(p, off, "unknown interval unit `%.*s`", (int)(c - u0), u0);
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
        default: return fail(p, off, "`%s` is not an interval unit", ak_tunit_name(u));
        }
        any = true;
    }
    if (!any)
        return fail(p, off, "empty interval");
    *out = ak_v_interval(months, us);
    return 0;
}

static ak_ast_t *parse_interval(parser_t *p, size_t off)
{
    /* INTERVAL '24 hours' | INTERVAL '1' DAY | INTERVAL 30 MINUTE | INTERVAL (expr) unit */
    ak_ast_t *n = node(p, AST_LIT, off);
    if (!n)
        return NULL;
    const char *text;
    ak_tok_t *t = cur(p);
    if (t->kind == TK_STRING) {
        text = tok_str(p, t);
    } else if (t->kind == TK_INTEGER || t->kind == TK_NUMBER) {
        text = ak_arena_strndup(p->a, t->p, t->n);
    } else {
        expected(p, "an interval literal such as '24 hours'");
        return NULL;
    }
    if (!text) {
        ak_err_nomem(p->err);
        return NULL;
    }
    adv(p);
    ak_tunit_t unit = AK_TU_INVALID;
    if (cur(p)->kind == TK_IDENT) {
        ak_tunit_t u = ak_tunit_parse(cur(p)->p, cur(p)->n);
        if (u != AK_TU_INVALID && u < AK_TU_DOW) {
            unit = u;
            adv(p);
        }
    }
    if (interval_from_text(p, off, text, unit, &n->lit))
        return NULL;
    n->end = prev_end(p);
    return n;
}

/* ---- primary expressions ------------------------------------------------- */

static ak_ast_t *parse_case(parser_t *p, size_t off)
{
    ak_ast_t *n = node(p, AST_CASE, off);
    if (!n)
        return NULL;
    plist_t args = {0};
    if (!kw(p, "when")) {
        ak_ast_t *operand = parse_expr(p);
        if (!operand || plist_push(p, &args, operand))
            return NULL;
        n->has_operand = true;
    }
    if (!kw(p, "when")) {
        expected(p, "`WHEN`");
        return NULL;
    }
    while (accept_kw(p, "when")) {
        ak_ast_t *w = parse_expr(p);
        if (!w || expect_kw(p, "then"))
            return NULL;
        ak_ast_t *th = parse_expr(p);
        if (!th || plist_push(p, &args, w) || plist_push(p, &args, th))
            return NULL;
    }
    if (accept_kw(p, "else")) {
        ak_ast_t *e = parse_expr(p);
        if (!e || plist_push(p, &args, e))
            return NULL;
        n->has_else = true;
    }
    if (expect_kw(p, "end"))
        return NULL;
    n->args = (ak_ast_t **)args.v;
    n->nargs = args.n;
    n->end = prev_end(p);
    return n;
}

static ak_ast_t *parse_func(parser_t *p, const char *name, size_t off)
{
    /* cur is just past `(` */
    ak_ast_t *n = node(p, AST_FUNC, off);
    if (!n)
        return NULL;
    n->name = name;
    plist_t args = {0};
    if (cur(p)->kind == TK_STAR) {
        adv(p);
        n->star = true;
    } else if (cur(p)->kind != TK_RPAREN) {
        if (accept_kw(p, "distinct"))
            n->distinct = true;
        else
            accept_kw(p, "all");
        for (;;) {
            ak_ast_t *a = parse_expr(p);
            if (!a || plist_push(p, &args, a))
                return NULL;
            if (!accept(p, TK_COMMA))
                break;
        }
        if (kw(p, "order")) {
            /* STRING_AGG(x, ',' ORDER BY y) is not supported: say so */
            fail(p, cur(p)->off, "ORDER BY inside an aggregate call is not supported");
            return NULL;
        }
        if (kw(p, "ignore") && ak_tok_is(peek(p, 1), "nulls")) {
            adv(p);
            adv(p);
            n->ignore_nulls = true;
        }
    }
    if (expect(p, TK_RPAREN, "`)` to close the function call"))
        return NULL;
    n->args = (ak_ast_t **)args.v;
    n->nargs = args.n;
    if (kw(p, "ignore") && ak_tok_is(peek(p, 1), "nulls")) {
        adv(p);
        adv(p);
        n->ignore_nulls = true;
    } else if (kw(p, "respect") && ak_tok_is(peek(p, 1), "nulls")) {
        adv(p);
        adv(p);
    }
    if (accept_kw(p, "filter")) {
        if (expect(p, TK_LPAREN, "`(` after FILTER") || expect_kw(p, "where"))
            return NULL;
        n->filter = parse_expr(p);
        if (!n->filter || expect(p, TK_RPAREN, "`)` to close FILTER"))
            return NULL;
    }
    if (accept_kw(p, "over")) {
        if (cur(p)->kind == TK_LPAREN) {
            adv(p);
            n->over = parse_window_spec(p);
            if (!n->over || expect(p, TK_RPAREN, "`)` to close the window"))
                return NULL;
        } else {
            n->over_name = ident(p, "a window name or `(`");
            if (!n->over_name)
                return NULL;
        }
    }
    n->end = prev_end(p);
    return n;
}

static ak_ast_t *func_node(parser_t *p, const char *name, size_t off, ak_ast_t **args, int nargs)
{
    ak_ast_t *n = node(p, AST_FUNC, off);
    if (!n)
        return NULL;
    n->name = name;
    n->args = ak_arena_alloc(p->a, sizeof *args * (size_t)(nargs ? nargs : 1));
    if (!n->args) {
        ak_err_nomem(p->err);
        return NULL;
    }
    memcpy(n->args, args, sizeof *args * (size_t)nargs);
    n->nargs = nargs;
    n->end = prev_end(p);
    return n;
}

static ak_ast_t *lit_node(parser_t *p, size_t off, ak_val_t v)
{
    ak_ast_t *n = node(p, AST_LIT, off);
    if (n) {
        n->lit = v;
        n->end = prev_end(p);
    }
    return n;
}

static ak_ast_t *parse_primary(parser_t *p)
{
    ak_tok_t *t = cur(p);
    size_t off = t->off;
    if (++p->depth > 200) {
        fail(p, off, "expression nested too deeply");
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
        adv(p);
        r = errno == ERANGE ? lit_node(p, off, ak_v_double(strtod(buf, NULL))) : lit_node(p, off, ak_v_int(v));
        break;
    }
    case TK_NUMBER: {
        char buf[64];
        size_t n = t->n < 63 ? t->n : 63;
        memcpy(buf, t->p, n);
        buf[n] = '\0';
        adv(p);
        r = lit_node(p, off, ak_v_double(strtod(buf, NULL)));
        break;
    }
    case TK_STRING: {
        char *s = tok_str(p, t);
        if (!s) {
            ak_err_nomem(p->err);
            break;
        }
        adv(p);
        r = lit_node(p, off, ak_v_text(s, strlen(s)));
        break;
    }
    case TK_LPAREN:
        adv(p);
        if (kw(p, "select") || kw(p, "with")) {
            r = node(p, AST_SUBQ, off);
            if (!r || !(r->subq = parse_query(p)) || expect(p, TK_RPAREN, "`)` to close the subquery")) {
                r = NULL;
                break;
            }
            r->end = prev_end(p);
        } else {
            r = parse_expr(p);
            if (r && expect(p, TK_RPAREN, "`)`"))
                r = NULL;
            if (r) {
                /* keep the parentheses in the span so names read naturally */
                r->off = off;
                r->end = prev_end(p);
            }
        }
        break;
    case TK_TEMPLATE:
        fail(p, off, "a {{ template }} can only stand where a table is expected");
        break;
    case TK_STAR:
        fail(p, off, "`*` is only allowed in the select list or COUNT(*)");
        break;
    case TK_QIDENT:
    case TK_IDENT: {
        if (t->kind == TK_IDENT) {
            if (ak_tok_is(t, "null")) { adv(p); r = lit_node(p, off, ak_v_null()); break; }
            if (ak_tok_is(t, "true")) { adv(p); r = lit_node(p, off, ak_v_bool(true)); break; }
            if (ak_tok_is(t, "false")) { adv(p); r = lit_node(p, off, ak_v_bool(false)); break; }
            if (ak_tok_is(t, "case")) { adv(p); r = parse_case(p, off); break; }
            if (ak_tok_is(t, "exists") && peek(p, 1)->kind == TK_LPAREN) {
                adv(p);
                adv(p);
                r = node(p, AST_EXISTS, off);
                if (!r || !(r->subq = parse_query(p)) || expect(p, TK_RPAREN, "`)`")) {
                    r = NULL;
                    break;
                }
                r->end = prev_end(p);
                break;
            }
            if ((ak_tok_is(t, "cast") || ak_tok_is(t, "try_cast")) && peek(p, 1)->kind == TK_LPAREN) {
                bool try_cast = ak_tok_is(t, "try_cast");
                adv(p);
                adv(p);
                r = node(p, AST_CAST, off);
                if (!r)
                    break;
                ak_ast_t *x = parse_expr(p);
                if (!x || expect_kw(p, "as") || parse_type(p, &r->cast_type) || expect(p, TK_RPAREN, "`)`")) {
                    r = NULL;
                    break;
                }
                r->args = ak_arena_alloc(p->a, sizeof *r->args);
                if (!r->args) {
                    ak_err_nomem(p->err);
                    r = NULL;
                    break;
                }
                r->args[0] = x;
                r->nargs = 1;
                r->try_cast = try_cast;
                r->end = prev_end(p);
                break;
            }
            if (ak_tok_is(t, "extract") && peek(p, 1)->kind == TK_LPAREN) {
                adv(p);
                adv(p);
                ak_tok_t *f = cur(p);
                if (f->kind != TK_IDENT && f->kind != TK_STRING) {
                    expected(p, "a field such as HOUR");
                    break;
                }
                ak_ast_t *field = lit_node(p, f->off, ak_v_text(ak_arena_strndup(p->a, f->p, f->n), f->n));
                adv(p);
                if (!field || expect_kw(p, "from"))
                    break;
                ak_ast_t *x = parse_expr(p);
                if (!x || expect(p, TK_RPAREN, "`)`"))
                    break;
                ak_ast_t *args[2] = {field, x};
                r = func_node(p, "date_part", off, args, 2);
                break;
            }
            if ((ak_tok_is(t, "timestamp") || ak_tok_is(t, "date") || ak_tok_is(t, "timestamptz")) &&
                peek(p, 1)->kind == TK_STRING) {
                bool is_date = ak_tok_is(t, "date");
                adv(p);
                ak_tok_t *s = cur(p);
                char *txt = tok_str(p, s);
                adv(p);
                if (!txt) {
                    ak_err_nomem(p->err);
                    break;
                }
                int64_t v;
                if (is_date ? ak_date_parse(txt, strlen(txt), &v) : ak_ts_parse(txt, strlen(txt), &v)) {
                    fail(p, s->off, "cannot read '%s' as %s", txt, is_date ? "DATE" : "TIMESTAMP");
                    break;
                }
                r = lit_node(p, off, is_date ? ak_v_date(v) : ak_v_ts(v));
                break;
            }
            if (ak_tok_is(t, "interval") && (peek(p, 1)->kind == TK_STRING || peek(p, 1)->kind == TK_INTEGER ||
                                              peek(p, 1)->kind == TK_NUMBER)) {
                adv(p);
                r = parse_interval(p, off);
                break;
            }
            if ((ak_tok_is(t, "current_timestamp") || ak_tok_is(t, "current_date") ||
                 ak_tok_is(t, "localtimestamp") || ak_tok_is(t, "current_time")) &&
                peek(p, 1)->kind != TK_LPAREN) {
                const char *nm = ak_arena_strndup(p->a, t->p, t->n);
                adv(p);
                r = nm ? func_node(p, nm, off, NULL, 0) : NULL;
                break;
            }
            if (is_reserved(t)) {
                char d[64];
                tok_desc(t, d, sizeof d);
                fail(p, off, "expected an expression, found %s", d);
                break;
            }
        }
        const char *name = tok_str(p, t);
        if (!name) {
            ak_err_nomem(p->err);
            break;
        }
        adv(p);
        if (t->kind == TK_IDENT && cur(p)->kind == TK_LPAREN) {
            adv(p);
            r = parse_func(p, name, off);
            break;
        }
        if (cur(p)->kind == TK_DOT) {
            adv(p);
            if (cur(p)->kind == TK_STAR) {
                fail(p, cur(p)->off, "`%s.*` is only allowed in the select list", name);
                break;
            }
            const char *col = ident(p, "a column name after `.`");
            if (!col)
                break;
            r = node(p, AST_COL, off);
            if (r) {
                r->qual = name;
                r->name = col;
                r->end = prev_end(p);
            }
            break;
        }
        r = node(p, AST_COL, off);
        if (r) {
            r->name = name;
            r->end = prev_end(p);
        }
        break;
    }
    default: {
        char d[64];
        tok_desc(t, d, sizeof d);
        fail(p, off, "expected an expression, found %s", d);
        break;
    }
    }
    p->depth--;
    return r;
}

static ak_ast_t *parse_postfix(parser_t *p)
{
    ak_ast_t *x = parse_primary(p);
    while (x && cur(p)->kind == TK_DCOLON) {
        adv(p);
        ak_ast_t *c = node(p, AST_CAST, x->off);
        if (!c || parse_type(p, &c->cast_type))
            return NULL;
        c->args = ak_arena_alloc(p->a, sizeof *c->args);
        if (!c->args) {
            ak_err_nomem(p->err);
            return NULL;
        }
        c->args[0] = x;
        c->nargs = 1;
        c->end = prev_end(p);
        x = c;
    }
    return x;
}

static ak_ast_t *binary(parser_t *p, ak_ast_kind_t k, int op, ak_ast_t *l, ak_ast_t *r)
{
    if (!l || !r)
        return NULL;
    ak_ast_t *n = node(p, k, l->off);
    if (!n)
        return NULL;
    n->op = op;
    n->args = ak_arena_alloc(p->a, sizeof *n->args * 2);
    if (!n->args) {
        ak_err_nomem(p->err);
        return NULL;
    }
    n->args[0] = l;
    n->args[1] = r;
    n->nargs = 2;
    n->end = r->end;
    return n;
}

static ak_ast_t *parse_unary(parser_t *p)
{
    if (cur(p)->kind == TK_MINUS || cur(p)->kind == TK_PLUS) {
        bool neg = cur(p)->kind == TK_MINUS;
        size_t off = cur(p)->off;
        adv(p);
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
        ak_ast_t *n = node(p, AST_NEG, off);
        if (!n)
            return NULL;
        n->args = ak_arena_alloc(p->a, sizeof *n->args);
        if (!n->args) {
            ak_err_nomem(p->err);
            return NULL;
        }
        n->args[0] = x;
        n->nargs = 1;
        n->end = x->end;
        return n;
    }
    return parse_postfix(p);
}

static ak_ast_t *parse_mul(parser_t *p)
{
    ak_ast_t *l = parse_unary(p);
    for (;;) {
        ak_tok_kind_t k = cur(p)->kind;
        int op = k == TK_STAR ? '*' : k == TK_SLASH ? '/' : k == TK_DSLASH ? 'D' : k == TK_PERCENT ? '%' : 0;
        if (!op || !l)
            return l;
        adv(p);
        l = binary(p, AST_ARITH, op, l, parse_unary(p));
    }
}

static ak_ast_t *parse_add(parser_t *p)
{
    ak_ast_t *l = parse_mul(p);
    for (;;) {
        ak_tok_kind_t k = cur(p)->kind;
        if (!l || (k != TK_PLUS && k != TK_MINUS))
            return l;
        adv(p);
        l = binary(p, AST_ARITH, k == TK_PLUS ? '+' : '-', l, parse_mul(p));
    }
}

static ak_ast_t *parse_concat(parser_t *p)
{
    ak_ast_t *l = parse_add(p);
    while (l && cur(p)->kind == TK_CONCAT) {
        adv(p);
        l = binary(p, AST_CONCAT, 0, l, parse_add(p));
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
    ak_ast_t *l = parse_concat(p);
    while (l) {
        int op = cmp_op(cur(p)->kind);
        if (op >= 0) {
            adv(p);
            l = binary(p, AST_CMP, op, l, parse_concat(p));
            continue;
        }
        if (kw(p, "is")) {
            adv(p);
            bool neg = accept_kw(p, "not");
            if (accept_kw(p, "null")) {
                ak_ast_t *n = node(p, AST_ISNULL, l->off);
                if (!n)
                    return NULL;
                n->args = ak_arena_alloc(p->a, sizeof *n->args);
                if (!n->args) {
                    ak_err_nomem(p->err);
                    return NULL;
                }
                n->args[0] = l;
                n->nargs = 1;
                n->negated = neg;
                n->end = prev_end(p);
                l = n;
                continue;
            }
            if (accept_kw(p, "distinct")) {
                if (expect_kw(p, "from"))
                    return NULL;
                l = binary(p, AST_DISTINCT, 0, l, parse_concat(p));
                if (l)
                    l->negated = neg;
                continue;
            }
            if (kw(p, "true") || kw(p, "false")) {
                /* x IS [NOT] TRUE  ==  (x IS NOT DISTINCT FROM TRUE) */
                ak_ast_t *b = lit_node(p, cur(p)->off, ak_v_bool(kw(p, "true")));
                adv(p);
                l = binary(p, AST_DISTINCT, 0, l, b);
                if (l)
                    l->negated = !neg;
                continue;
            }
            expected(p, "NULL, DISTINCT FROM, TRUE or FALSE after IS");
            return NULL;
        }
        bool neg = false;
        size_t save = p->i;
        if (kw(p, "not") && (ak_tok_is(peek(p, 1), "between") || ak_tok_is(peek(p, 1), "in") ||
                             ak_tok_is(peek(p, 1), "like") || ak_tok_is(peek(p, 1), "ilike"))) {
            adv(p);
            neg = true;
        }
        if (accept_kw(p, "between")) {
            ak_ast_t *lo = parse_concat(p);
            if (!lo || expect_kw(p, "and"))
                return NULL;
            ak_ast_t *hi = parse_concat(p);
            if (!hi)
                return NULL;
            ak_ast_t *n = node(p, AST_BETWEEN, l->off);
            if (!n)
                return NULL;
            n->args = ak_arena_alloc(p->a, sizeof *n->args * 3);
            if (!n->args) {
                ak_err_nomem(p->err);
                return NULL;
            }
            n->args[0] = l;
            n->args[1] = lo;
            n->args[2] = hi;
            n->nargs = 3;
            n->negated = neg;
            n->end = hi->end;
            l = n;
            continue;
        }
        if (accept_kw(p, "like") || (kw(p, "ilike") && (adv(p), true))) {
            bool ilike = ak_tok_is(&p->toks[p->i - 1], "ilike");
            l = binary(p, AST_LIKE, ilike, l, parse_concat(p));
            if (l)
                l->negated = neg;
            if (l && accept_kw(p, "escape")) {
                fail(p, cur(p)->off, "LIKE ... ESCAPE is not supported");
                return NULL;
            }
            continue;
        }
        if (accept_kw(p, "in")) {
            if (expect(p, TK_LPAREN, "`(` after IN"))
                return NULL;
            if (kw(p, "select") || kw(p, "with")) {
                ak_ast_t *n = node(p, AST_IN_SUBQ, l->off);
                if (!n || !(n->subq = parse_query(p)) || expect(p, TK_RPAREN, "`)`"))
                    return NULL;
                n->args = ak_arena_alloc(p->a, sizeof *n->args);
                if (!n->args) {
                    ak_err_nomem(p->err);
                    return NULL;
                }
                n->args[0] = l;
                n->nargs = 1;
                n->negated = neg;
                n->end = prev_end(p);
                l = n;
                continue;
            }
            plist_t items = {0};
            if (plist_push(p, &items, l))
                return NULL;
            for (;;) {
                ak_ast_t *e = parse_expr(p);
                if (!e || plist_push(p, &items, e))
                    return NULL;
                if (!accept(p, TK_COMMA))
                    break;
            }
            if (expect(p, TK_RPAREN, "`)` to close the IN list"))
                return NULL;
            ak_ast_t *n = node(p, AST_IN_LIST, l->off);
            if (!n)
                return NULL;
            n->args = (ak_ast_t **)items.v;
            n->nargs = items.n;
            n->negated = neg;
            n->end = prev_end(p);
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
    if (kw(p, "not")) {
        size_t off = cur(p)->off;
        adv(p);
        ak_ast_t *x = parse_not(p);
        if (!x)
            return NULL;
        ak_ast_t *n = node(p, AST_NOT, off);
        if (!n)
            return NULL;
        n->args = ak_arena_alloc(p->a, sizeof *n->args);
        if (!n->args) {
            ak_err_nomem(p->err);
            return NULL;
        }
        n->args[0] = x;
        n->nargs = 1;
        n->end = x->end;
        return n;
    }
    return parse_cmp(p);
}

static ak_ast_t *parse_and(parser_t *p)
{
    ak_ast_t *l = parse_not(p);
    while (l && kw(p, "and")) {
        adv(p);
        l = binary(p, AST_AND, 0, l, parse_not(p));
    }
    return l;
}

static ak_ast_t *parse_expr(parser_t *p)
{
    if (++p->depth > 200) {
        fail(p, cur(p)->off, "expression nested too deeply");
        return NULL;
    }
    ak_ast_t *l = parse_and(p);
    while (l && kw(p, "or")) {
        adv(p);
        l = binary(p, AST_OR, 0, l, parse_and(p));
    }
    p->depth--;
    return l;
}

/* ---- ORDER BY, windows --------------------------------------------------- */

static int parse_order_list(parser_t *p, ak_order_ast_t **out, int *nout)
{
    int cap = 4, n = 0;
    ak_order_ast_t *v = ak_arena_alloc(p->a, sizeof *v * (size_t)cap);
    if (!v)
        return ak_err_nomem(p->err);
    for (;;) {
        ak_ast_t *e = parse_expr(p);
        if (!e)
            return -1;
        if (n == cap) {
            ak_order_ast_t *nv = ak_arena_alloc(p->a, sizeof *v * (size_t)cap * 2);
            if (!nv)
                return ak_err_nomem(p->err);
            memcpy(nv, v, sizeof *v * (size_t)n);
            v = nv;
            cap *= 2;
        }
        ak_order_ast_t *o = &v[n++];
        o->expr = e;
        o->desc = false;
        o->nulls_first = -1;
        if (accept_kw(p, "desc"))
            o->desc = true;
        else
            accept_kw(p, "asc");
        if (accept_kw(p, "nulls")) {
            if (accept_kw(p, "first"))
                o->nulls_first = 1;
            else if (accept_kw(p, "last"))
                o->nulls_first = 0;
            else
                return expected(p, "FIRST or LAST after NULLS");
        }
        if (!accept(p, TK_COMMA))
            break;
    }
    *out = v;
    *nout = n;
    return 0;
}

static int parse_bound(parser_t *p, ak_frame_bound_t *b)
{
    if (accept_kw(p, "unbounded")) {
        if (accept_kw(p, "preceding"))
            b->kind = BOUND_UNBOUNDED_PRECEDING;
        else if (accept_kw(p, "following"))
            b->kind = BOUND_UNBOUNDED_FOLLOWING;
        else
            return expected(p, "PRECEDING or FOLLOWING");
        return 0;
    }
    if (accept_kw(p, "current")) {
        b->kind = BOUND_CURRENT_ROW;
        return expect_kw(p, "row");
    }
    b->offset = parse_add(p);
    if (!b->offset)
        return -1;
    if (accept_kw(p, "preceding"))
        b->kind = BOUND_PRECEDING;
    else if (accept_kw(p, "following"))
        b->kind = BOUND_FOLLOWING;
    else
        return expected(p, "PRECEDING or FOLLOWING");
    return 0;
}

static ak_window_ast_t *parse_window_spec(parser_t *p)
{
    ak_window_ast_t *w = ak_arena_zalloc(p->a, sizeof *w);
    if (!w) {
        ak_err_nomem(p->err);
        return NULL;
    }
    w->off = cur(p)->off;
    if (cur(p)->kind == TK_IDENT && !is_reserved(cur(p)) && !kw(p, "partition") && !kw(p, "order")) {
        w->base = ident(p, "a window name");
        if (!w->base)
            return NULL;
    }
    if (accept_kw(p, "partition")) {
        if (expect_kw(p, "by"))
            return NULL;
        plist_t l = {0};
        for (;;) {
            ak_ast_t *e = parse_expr(p);
            if (!e || plist_push(p, &l, e))
                return NULL;
            if (!accept(p, TK_COMMA))
                break;
        }
        w->partition = (ak_ast_t **)l.v;
        w->npartition = l.n;
    }
    if (accept_kw(p, "order")) {
        if (expect_kw(p, "by") || parse_order_list(p, &w->order, &w->norder))
            return NULL;
    }
    if (kw(p, "rows") || kw(p, "range") || kw(p, "groups")) {
        w->unit = kw(p, "rows") ? FRAME_ROWS : kw(p, "range") ? FRAME_RANGE : FRAME_GROUPS;
        adv(p);
        if (accept_kw(p, "between")) {
            if (parse_bound(p, &w->start) || expect_kw(p, "and") || parse_bound(p, &w->end))
                return NULL;
        } else {
            if (parse_bound(p, &w->start))
                return NULL;
            w->end.kind = BOUND_CURRENT_ROW;
        }
        if (kw(p, "exclude")) {
            fail(p, cur(p)->off, "EXCLUDE in window frames is not supported");
            return NULL;
        }
    }
    return w;
}

/* ---- FROM ---------------------------------------------------------------- */

static int parse_alias(parser_t *p, const char **alias, const char ***cols, int *ncols)
{
    bool as = accept_kw(p, "as");
    ak_tok_t *t = cur(p);
    if (t->kind == TK_QIDENT || (t->kind == TK_IDENT && !is_reserved(t))) {
        *alias = ident(p, "an alias");
        if (!*alias)
            return -1;
    } else if (as) {
        return expected(p, "an alias after AS");
    }
    if (*alias && cols && cur(p)->kind == TK_LPAREN) {
        adv(p);
        plist_t l = {0};
        for (;;) {
            const char *c = ident(p, "a column alias");
            if (!c || plist_push(p, &l, (void *)c))
                return -1;
            if (!accept(p, TK_COMMA))
                break;
        }
        if (expect(p, TK_RPAREN, "`)`"))
            return -1;
        *cols = (const char **)l.v;
        *ncols = l.n;
    }
    return 0;
}

static ak_from_ast_t *parse_table_ref(parser_t *p)
{
    ak_from_ast_t *f = ak_arena_zalloc(p->a, sizeof *f);
    if (!f) {
        ak_err_nomem(p->err);
        return NULL;
    }
    ak_tok_t *t = cur(p);
    f->off = t->off;
    if (t->kind == TK_TEMPLATE) {
        f->kind = FROM_TEMPLATE;
        f->tmpl = t->p;
        f->tmpl_len = t->n;
        adv(p);
    } else if (t->kind == TK_LPAREN) {
        adv(p);
        if (kw(p, "select") || kw(p, "with")) {
            f->kind = FROM_SUBQUERY;
            f->subq = parse_query(p);
            if (!f->subq || expect(p, TK_RPAREN, "`)` to close the subquery"))
                return NULL;
        } else {
            fail(p, t->off, "parenthesised joins are not supported; remove the parentheses");
            return NULL;
        }
    } else {
        f->kind = FROM_TABLE;
        const char *a = ident(p, "a table name");
        if (!a)
            return NULL;
        if (accept(p, TK_DOT)) {
            f->schema = a;
            f->name = ident(p, "a table name after `.`");
            if (!f->name)
                return NULL;
        } else {
            f->name = a;
        }
    }
    if (parse_alias(p, &f->alias, &f->col_aliases, &f->ncol_aliases))
        return NULL;
    if (f->kind == FROM_SUBQUERY && !f->alias)
        f->alias = NULL; /* allowed (DuckDB allows unaliased subqueries) */
    return f;
}

static ak_from_ast_t *parse_from(parser_t *p)
{
    ak_from_ast_t *l = parse_table_ref(p);
    while (l) {
        ak_join_type_t jt;
        bool natural = false;
        size_t off = cur(p)->off;
        if (cur(p)->kind == TK_COMMA) {
            adv(p);
            jt = JOIN_CROSS;
        } else {
            if (accept_kw(p, "natural"))
                natural = true;
            if (accept_kw(p, "join") || (accept_kw(p, "inner") && !expect_kw(p, "join"))) {
                jt = JOIN_INNER;
            } else if (accept_kw(p, "left")) {
                accept_kw(p, "outer");
                if (expect_kw(p, "join"))
                    return NULL;
                jt = JOIN_LEFT;
            } else if (accept_kw(p, "right")) {
                accept_kw(p, "outer");
                if (expect_kw(p, "join"))
                    return NULL;
                jt = JOIN_RIGHT;
            } else if (accept_kw(p, "full")) {
                accept_kw(p, "outer");
                if (expect_kw(p, "join"))
                    return NULL;
                jt = JOIN_FULL;
            } else if (accept_kw(p, "cross")) {
                if (expect_kw(p, "join"))
                    return NULL;
                jt = JOIN_CROSS;
            } else {
                if (natural)
                    return expected(p, "JOIN after NATURAL"), NULL;
                if (p->err->code != AK_E_OK)
                    return NULL;
                return l;
            }
        }
        ak_from_ast_t *r = parse_table_ref(p);
        if (!r)
            return NULL;
        ak_from_ast_t *j = ak_arena_zalloc(p->a, sizeof *j);
        if (!j) {
            ak_err_nomem(p->err);
            return NULL;
        }
        j->kind = FROM_JOIN;
        j->off = off;
        j->join = jt;
        j->left = l;
        j->right = r;
        j->natural = natural;
        if (jt != JOIN_CROSS && !natural) {
            if (accept_kw(p, "on")) {
                j->on = parse_expr(p);
                if (!j->on)
                    return NULL;
            } else if (accept_kw(p, "using")) {
                if (expect(p, TK_LPAREN, "`(` after USING"))
                    return NULL;
                plist_t cols = {0};
                for (;;) {
                    const char *c = ident(p, "a column name");
                    if (!c || plist_push(p, &cols, (void *)c))
                        return NULL;
                    if (!accept(p, TK_COMMA))
                        break;
                }
                if (expect(p, TK_RPAREN, "`)`"))
                    return NULL;
                j->using_cols = (const char **)cols.v;
                j->nusing = cols.n;
            } else {
                expected(p, "ON or USING after the joined table");
                return NULL;
            }
        }
        l = j;
    }
    return l;
}

/* ---- SELECT -------------------------------------------------------------- */

static ak_select_ast_t *parse_select(parser_t *p)
{
    ak_select_ast_t *s = ak_arena_zalloc(p->a, sizeof *s);
    if (!s) {
        ak_err_nomem(p->err);
        return NULL;
    }
    s->off = cur(p)->off;
    if (expect_kw(p, "select"))
        return NULL;
    if (accept_kw(p, "distinct")) {
        s->distinct = true;
        if (kw(p, "on")) {
            fail(p, cur(p)->off, "DISTINCT ON is not supported");
            return NULL;
        }
    } else {
        accept_kw(p, "all");
    }
    int cap = 8;
    s->items = ak_arena_alloc(p->a, sizeof *s->items * (size_t)cap);
    if (!s->items) {
        ak_err_nomem(p->err);
        return NULL;
    }
    for (;;) {
        if (s->nitems == cap) {
            ak_select_item_t *ni = ak_arena_alloc(p->a, sizeof *ni * (size_t)cap * 2);
            if (!ni) {
                ak_err_nomem(p->err);
                return NULL;
            }
            memcpy(ni, s->items, sizeof *ni * (size_t)cap);
            s->items = ni;
            cap *= 2;
        }
        ak_select_item_t *it = &s->items[s->nitems];
        memset(it, 0, sizeof *it);
        it->off = cur(p)->off;
        ak_tok_t *t = cur(p);
        bool star = false;
        if (t->kind == TK_STAR) {
            adv(p);
            star = true;
        } else if ((t->kind == TK_IDENT || t->kind == TK_QIDENT) && peek(p, 1)->kind == TK_DOT &&
                   peek(p, 2)->kind == TK_STAR) {
            it->star_qual = tok_str(p, t);
            adv(p);
            adv(p);
            adv(p);
            star = true;
        }
        if (star) {
            it->star = true;
            if (accept_kw(p, "exclude")) {
                if (expect(p, TK_LPAREN, "`(` after EXCLUDE"))
                    return NULL;
                plist_t l = {0};
                for (;;) {
                    const char *c = ident(p, "a column name");
                    if (!c || plist_push(p, &l, (void *)c))
                        return NULL;
                    if (!accept(p, TK_COMMA))
                        break;
                }
                if (expect(p, TK_RPAREN, "`)`"))
                    return NULL;
                it->exclude = (const char **)l.v;
                it->nexclude = l.n;
            }
        } else {
            it->expr = parse_expr(p);
            if (!it->expr)
                return NULL;
            if (parse_alias(p, &it->alias, NULL, NULL))
                return NULL;
        }
        s->nitems++;
        if (!accept(p, TK_COMMA))
            break;
    }
    if (accept_kw(p, "from")) {
        s->from = parse_from(p);
        if (!s->from)
            return NULL;
    }
    if (accept_kw(p, "where")) {
        s->where = parse_expr(p);
        if (!s->where)
            return NULL;
    }
    if (accept_kw(p, "group")) {
        if (expect_kw(p, "by"))
            return NULL;
        s->has_group = true;
        if (accept_kw(p, "all")) {
            s->group_all = true;
        } else if (cur(p)->kind == TK_LPAREN && peek(p, 1)->kind == TK_RPAREN) {
            adv(p);
            adv(p);
        } else {
            plist_t l = {0};
            for (;;) {
                ak_ast_t *e = parse_expr(p);
                if (!e || plist_push(p, &l, e))
                    return NULL;
                if (!accept(p, TK_COMMA))
                    break;
            }
            s->group = (ak_ast_t **)l.v;
            s->ngroup = l.n;
        }
    }
    if (accept_kw(p, "having")) {
        s->having = parse_expr(p);
        if (!s->having)
            return NULL;
    }
    if (accept_kw(p, "window")) {
        plist_t l = {0};
        for (;;) {
            ak_named_window_t *nw = ak_arena_zalloc(p->a, sizeof *nw);
            if (!nw) {
                ak_err_nomem(p->err);
                return NULL;
            }
            nw->name = ident(p, "a window name");
            if (!nw->name || expect_kw(p, "as") || expect(p, TK_LPAREN, "`(`"))
                return NULL;
            nw->spec = parse_window_spec(p);
            if (!nw->spec || expect(p, TK_RPAREN, "`)`") || plist_push(p, &l, nw))
                return NULL;
            if (!accept(p, TK_COMMA))
                break;
        }
        s->nwindows = l.n;
        s->windows = ak_arena_alloc(p->a, sizeof *s->windows * (size_t)(l.n ? l.n : 1));
        if (!s->windows) {
            ak_err_nomem(p->err);
            return NULL;
        }
        for (int i = 0; i < l.n; i++)
            s->windows[i] = *(ak_named_window_t *)l.v[i];
    }
    if (accept_kw(p, "qualify")) {
        s->qualify = parse_expr(p);
        if (!s->qualify)
            return NULL;
    }
    return s;
}

static ak_body_ast_t *parse_body_term(parser_t *p)
{
    ak_body_ast_t *b = ak_arena_zalloc(p->a, sizeof *b);
    if (!b) {
        ak_err_nomem(p->err);
        return NULL;
    }
    if (cur(p)->kind == TK_LPAREN) {
        adv(p);
        b->nested = parse_query(p);
        if (!b->nested || expect(p, TK_RPAREN, "`)`"))
            return NULL;
        return b;
    }
    b->select = parse_select(p);
    return b->select ? b : NULL;
}

static ak_body_ast_t *parse_body(parser_t *p)
{
    /* INTERSECT binds tighter than UNION/EXCEPT */
    ak_body_ast_t *l = parse_body_term(p);
    while (l) {
        ak_setop_kind_t op;
        if (kw(p, "union"))
            op = SETOP_UNION;
        else if (kw(p, "except"))
            op = SETOP_EXCEPT;
        else if (kw(p, "intersect"))
            op = SETOP_INTERSECT;
        else
            return l;
        adv(p);
        bool all = accept_kw(p, "all");
        if (!all)
            accept_kw(p, "distinct");
        ak_body_ast_t *r = parse_body_term(p);
        if (!r)
            return NULL;
        if (op != SETOP_INTERSECT) {
            while (kw(p, "intersect")) {
                adv(p);
                bool a2 = accept_kw(p, "all");
                ak_body_ast_t *rr = parse_body_term(p);
                if (!rr)
                    return NULL;
                ak_body_ast_t *m = ak_arena_zalloc(p->a, sizeof *m);
                if (!m) {
                    ak_err_nomem(p->err);
                    return NULL;
                }
                m->op = SETOP_INTERSECT;
                m->all = a2;
                m->left = r;
                m->right = rr;
                r = m;
            }
        }
        ak_body_ast_t *m = ak_arena_zalloc(p->a, sizeof *m);
        if (!m) {
            ak_err_nomem(p->err);
            return NULL;
        }
        m->op = op;
        m->all = all;
        m->left = l;
        m->right = r;
        l = m;
    }
    return l;
}

static ak_query_ast_t *parse_query(parser_t *p)
{
    if (++p->depth > 100) {
        fail(p, cur(p)->off, "query nested too deeply");
        return NULL;
    }
    ak_query_ast_t *q = ak_arena_zalloc(p->a, sizeof *q);
    if (!q) {
        ak_err_nomem(p->err);
        return NULL;
    }
    q->off = cur(p)->off;
    if (accept_kw(p, "with")) {
        if (kw(p, "recursive")) {
            fail(p, cur(p)->off, "WITH RECURSIVE is not supported");
            return NULL;
        }
        plist_t l = {0};
        for (;;) {
            ak_cte_ast_t *c = ak_arena_zalloc(p->a, sizeof *c);
            if (!c) {
                ak_err_nomem(p->err);
                return NULL;
            }
            c->off = cur(p)->off;
            c->name = ident(p, "a name for the WITH query");
            if (!c->name)
                return NULL;
            if (cur(p)->kind == TK_LPAREN) {
                adv(p);
                plist_t cl = {0};
                for (;;) {
                    const char *cn = ident(p, "a column name");
                    if (!cn || plist_push(p, &cl, (void *)cn))
                        return NULL;
                    if (!accept(p, TK_COMMA))
                        break;
                }
                if (expect(p, TK_RPAREN, "`)`"))
                    return NULL;
                c->col_aliases = (const char **)cl.v;
                c->ncol_aliases = cl.n;
            }
            if (expect_kw(p, "as"))
                return NULL;
            if (kw(p, "materialized") || (kw(p, "not") && ak_tok_is(peek(p, 1), "materialized"))) {
                if (kw(p, "not"))
                    adv(p);
                adv(p);
            }
            if (expect(p, TK_LPAREN, "`(` after AS"))
                return NULL;
            c->query = parse_query(p);
            if (!c->query || expect(p, TK_RPAREN, "`)` to close the WITH query") || plist_push(p, &l, c))
                return NULL;
            if (!accept(p, TK_COMMA))
                break;
        }
        q->nctes = l.n;
        q->ctes = ak_arena_alloc(p->a, sizeof *q->ctes * (size_t)(l.n ? l.n : 1));
        if (!q->ctes) {
            ak_err_nomem(p->err);
            return NULL;
        }
        for (int i = 0; i < l.n; i++)
            q->ctes[i] = *(ak_cte_ast_t *)l.v[i];
    }
    q->body = parse_body(p);
    if (!q->body)
        return NULL;
    if (accept_kw(p, "order")) {
        if (expect_kw(p, "by") || parse_order_list(p, &q->order, &q->norder))
            return NULL;
    }
    for (int k = 0; k < 2; k++) {
        if (accept_kw(p, "limit")) {
            if (kw(p, "all")) {
                adv(p);
            } else {
                q->limit = parse_expr(p);
                if (!q->limit)
                    return NULL;
            }
        }
        if (accept_kw(p, "offset")) {
            q->offset = parse_expr(p);
            if (!q->offset)
                return NULL;
            accept_kw(p, "rows");
        }
    }
    p->depth--;
    return q;
}

int ak_sql_parse(const char *sql, size_t len, ak_arena_t *arena, ak_query_ast_t **out, size_t *err_off,
                 ak_err_t *err)
{
    parser_t p = {.src = sql, .a = arena, .err = err};
    ak_err_clear(err);
    ak_lexer_t lx;
    ak_lex_init(&lx, sql, len);
    size_t cap = 64;
    p.toks = ak_malloc(sizeof *p.toks * cap);
    if (!p.toks)
        return ak_err_nomem(err);
    for (;;) {
        if (p.ntoks == cap) {
            ak_tok_t *nt = ak_realloc(p.toks, sizeof *nt * cap * 2);
            if (!nt) {
                ak_free(p.toks);
                return ak_err_nomem(err);
            }
            p.toks = nt;
            cap *= 2;
        }
        ak_tok_t *t = &p.toks[p.ntoks];
        if (ak_lex_next(&lx, t, err_off, err)) {
            ak_free(p.toks);
            return -1;
        }
        p.ntoks++;
        if (t->kind == TK_EOF)
            break;
    }
    int rc = -1;
    if (cur(&p)->kind == TK_EOF) {
        fail(&p, 0, "empty query");
        goto done;
    }
    if (!kw(&p, "select") && !kw(&p, "with") && cur(&p)->kind != TK_LPAREN) {
        char d[64];
        tok_desc(cur(&p), d, sizeof d);
        fail(&p, cur(&p)->off, "expected SELECT or WITH, found %s (only queries are supported)", d);
        goto done;
    }
    ak_query_ast_t *q = parse_query(&p);
    if (!q)
        goto done;
    accept(&p, TK_SEMI);
    if (cur(&p)->kind != TK_EOF) {
        char d[64];
        tok_desc(cur(&p), d, sizeof d);
        fail(&p, cur(&p)->off, "unexpected %s after the end of the query", d);
        goto done;
    }
    *out = q;
    rc = 0;
done:
    if (rc && err->code == AK_E_OK)
        ak_err_nomem(err);
    if (rc)
        *err_off = p.err_off;
    ak_free(p.toks);
    return rc;
}
