/* ak_sql_bind.c - from parse tree to typed plan.
 *
 * For each SELECT: FROM (tables, CTEs, subqueries, joins with equi-keys
 * extracted from ON/USING) -> WHERE -> GROUP BY/aggregates -> HAVING ->
 * windows -> QUALIFY -> projection -> DISTINCT -> ORDER BY (which may use
 * output aliases, ordinals or input expressions, the latter carried as
 * hidden columns and trimmed after the sort).
 *
 * Aggregated queries are bound in two steps: expressions are first bound
 * against the FROM scope (aggregate calls become placeholders), then
 * rewritten top-down so that any subtree equal to a GROUP BY expression, and
 * every aggregate call, refers to a column of the aggregate's output.  What
 * remains referring to the FROM scope is a "must appear in GROUP BY" error.
 */
#include "ak_sql_plan.h"

#include "ak_alloc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct scol {
    const char *qual;
    const char *name;
    ak_type_t type;
    int idx;
    bool hidden; /* a USING column's second copy: not in * nor unqualified lookups */
    bool *used;  /* the base table's usage flag for this column, or NULL */
} scol_t;

typedef struct scope {
    scol_t *cols;
    int n;
} scope_t;

typedef struct binder {
    ak_sql_stmt_t *st;
    ak_arena_t *a;
    ak_err_t *err;
    size_t err_off;
    struct {
        const char *name;
        int slot;
    } *ctes; /* visible CTEs, innermost last */
    int nctes, cap_ctes;
    const scope_t *outer[16]; /* enclosing query scopes, for correlation errors */
    int nouter;
} binder_t;

/* Calls collected while binding one SELECT's expressions. */
typedef struct winspec {
    ak_expr_t **part;
    int npart;
    ak_sortkey_t *ord;
    int nord;
} winspec_t;

typedef struct ectx {
    const scope_t *scope;
    bool allow_agg;
    bool allow_win;
    const char *clause;
    const ak_select_ast_t *sel;
    ak_aggcall_t *aggs;
    int naggs, cap_aggs;
    ak_wincall_t *wins;
    winspec_t *specs; /* one per window call */
    int nwins, cap_wins;
} ectx_t;

static int bfail(binder_t *b, size_t off, ak_code_t code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int bfail(binder_t *b, size_t off, ak_code_t code, const char *fmt, ...)
{
    if (b->err->code != AK_E_OK)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    ak_verrf(b->err, code, fmt, ap);
    va_end(ap);
    b->err_off = off;
    return -1;
}

static int nomem(binder_t *b) { return ak_err_nomem(b->err); }

ak_type_t ak__common_type(ak_type_t a, ak_type_t b);
ak_plan_t *ak__bind_query_for_subq(binder_t *b, const ak_query_ast_t *q);

static ak_plan_t *bind_query(binder_t *b, const ak_query_ast_t *q);
static ak_expr_t *bind_expr(binder_t *b, ectx_t *c, const ak_ast_t *x);

static char *span_text(binder_t *b, size_t off, size_t end)
{
    const char *s = b->st->sql;
    if (end > b->st->len)
        end = b->st->len;
    if (end <= off)
        return ak_arena_strdup(b->a, "?");
    /* collapse whitespace runs so multi-line expressions name well */
    char *d = ak_arena_alloc_bytes(b->a, end - off + 1);
    if (!d)
        return NULL;
    size_t k = 0;
    bool sp = false;
    for (size_t i = off; i < end; i++) {
        if (isspace((unsigned char)s[i])) {
            sp = true;
            continue;
        }
        if (sp && k)
            d[k++] = ' ';
        sp = false;
        d[k++] = s[i];
    }
    d[k] = '\0';
    return d;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t m = prev[j] + 1;
            if (cur[j - 1] + 1 < m)
                m = cur[j - 1] + 1;
            if (prev[j - 1] + cost < m)
                m = prev[j - 1] + cost;
            cur[j] = m;
        }
        memcpy(prev, cur, sizeof(size_t) * (lb + 1));
    }
    return prev[lb];
}

/* ---- plan construction helpers ------------------------------------------ */

static ak_plan_t *plan_new(binder_t *b, ak_plan_kind_t k, int ncols)
{
    ak_plan_t *p = ak_arena_zalloc(b->a, sizeof *p);
    if (!p)
        return NULL;
    p->kind = k;
    p->ncols = ncols;
    p->limit = -1;
    p->names = ak_arena_zalloc(b->a, sizeof *p->names * (size_t)(ncols ? ncols : 1));
    p->types = ak_arena_zalloc(b->a, sizeof *p->types * (size_t)(ncols ? ncols : 1));
    if (!p->names || !p->types)
        return NULL;
    return p;
}

static void copy_cols(ak_plan_t *dst, int at, const ak_plan_t *src)
{
    for (int i = 0; i < src->ncols; i++) {
        dst->names[at + i] = src->names[i];
        dst->types[at + i] = src->types[i];
    }
}

static ak_expr_t *col_ref(binder_t *b, int idx, ak_type_t t)
{
    ak_expr_t *e = ak_expr_new(b->a, EX_COL, t);
    if (e)
        e->col = idx;
    return e;
}

static scope_t scope_from_plan(binder_t *b, const ak_plan_t *p, const char *qual)
{
    scope_t s = {ak_arena_zalloc(b->a, sizeof(scol_t) * (size_t)(p->ncols ? p->ncols : 1)), p->ncols};
    if (!s.cols) {
        s.n = -1;
        return s;
    }
    for (int i = 0; i < p->ncols; i++)
        s.cols[i] = (scol_t){qual, p->names[i], p->types[i], i, false, NULL};
    return s;
}

/* ---- name resolution ----------------------------------------------------- */

static int lookup_col(binder_t *b, const scope_t *s, const ak_ast_t *x, const scol_t **out)
{
    const scol_t *hit = NULL;
    int nhits = 0;
    bool qual_seen = false;
    for (int i = 0; i < s->n; i++) {
        const scol_t *c = &s->cols[i];
        if (x->qual) {
            if (!c->qual || strcasecmp(c->qual, x->qual) != 0)
                continue;
            qual_seen = true;
        } else if (c->hidden) {
            continue;
        }
        if (strcasecmp(c->name, x->name) == 0) {
            if (!hit || hit->idx != c->idx)
                nhits++;
            hit = c;
        }
    }
    if (nhits == 1) {
        if (hit->used)
            *hit->used = true;
        *out = hit;
        return 0;
    }
    if (nhits > 1)
        return bfail(b, x->off, AK_E_BIND, "column reference `%s` is ambiguous; qualify it with a table alias", x->name);
    /* not found: correlated? */
    for (int k = b->nouter - 1; k >= 0; k--) {
        for (int i = 0; i < b->outer[k]->n; i++)
            if (strcasecmp(b->outer[k]->cols[i].name, x->name) == 0 &&
                (!x->qual || (b->outer[k]->cols[i].qual && strcasecmp(b->outer[k]->cols[i].qual, x->qual) == 0)))
                return bfail(b, x->off, AK_E_UNSUPPORTED,
                             "column `%s` refers to an outer query; correlated subqueries are not supported (rewrite as a JOIN)",
                             x->name);
    }
    if (x->qual && !qual_seen)
        return bfail(b, x->off, AK_E_BIND, "no table or alias `%s` in this query's FROM clause", x->qual);
    const char *best = NULL;
    size_t bd = 99;
    for (int i = 0; i < s->n; i++) {
        size_t d = edit_distance(s->cols[i].name, x->name);
        if (d < bd) {
            bd = d;
            best = s->cols[i].name;
        }
    }
    if (best && bd <= 2 && bd < strlen(x->name))
        return bfail(b, x->off, AK_E_BIND, "column `%s%s%s` not found; did you mean `%s`?", x->qual ? x->qual : "",
                     x->qual ? "." : "", x->name, best);
    return bfail(b, x->off, AK_E_BIND, "column `%s%s%s` not found", x->qual ? x->qual : "", x->qual ? "." : "", x->name);
}

/* ---- coercion ------------------------------------------------------------ */

static int fold_cast_const(binder_t *b, ak_expr_t *x, ak_type_t to, size_t off)
{
    ak_val_t v;
    ak_err_t e2;
    ak_err_clear(&e2);
    if (ak_cast_value(&x->val, to, b->a, &v, &e2))
        return bfail(b, off, AK_E_TYPE, "%s", e2.msg);
    x->val = v;
    x->type = to;
    return 0;
}

/* Makes l and r comparable (for =, <, IN, BETWEEN, CASE operand). */
static int coerce_pair(binder_t *b, ak_expr_t **l, ak_expr_t **r, size_t off, const char *what)
{
    ak_type_t tl = (*l)->type, tr = (*r)->type;
    if (tl == tr || tl == AK_NULL || tr == AK_NULL)
        return 0;
    if (ak_type_is_numeric(tl) && ak_type_is_numeric(tr))
        return 0;
    if (ak_type_is_temporal(tl) && ak_type_is_temporal(tr))
        return 0;
    for (int side = 0; side < 2; side++) {
        ak_expr_t **t = side ? r : l, **o = side ? l : r;
        if ((*t)->type != AK_TEXT)
            continue;
        ak_type_t to = (*o)->type;
        if (!ak_cast_allowed(AK_TEXT, to))
            break;
        if ((*t)->kind == EX_CONST)
            return fold_cast_const(b, *t, to, (*t)->off ? (*t)->off : off);
        *t = ak_expr_cast(b->a, *t, to);
        return *t ? 0 : nomem(b);
    }
    return bfail(b, off, AK_E_TYPE, "cannot %s %s and %s; cast one side (e.g. x::%s)", what, ak_type_name(tl),
                 ak_type_name(tr), ak_type_name(tl));
}

static int coerce_to(binder_t *b, ak_expr_t **x, ak_type_t to, size_t off)
{
    if ((*x)->type == to)
        return 0;
    if ((*x)->type == AK_NULL) {
        (*x)->type = to;
        return 0;
    }
    if (!ak_cast_allowed((*x)->type, to))
        return bfail(b, off, AK_E_TYPE, "cannot convert %s to %s", ak_type_name((*x)->type), ak_type_name(to));
    if ((*x)->kind == EX_CONST)
        return fold_cast_const(b, *x, to, off);
    *x = ak_expr_cast(b->a, *x, to);
    return *x ? 0 : nomem(b);
}

static int require_bool(binder_t *b, ak_expr_t **x, size_t off, const char *where)
{
    if ((*x)->type == AK_BOOL || (*x)->type == AK_NULL) {
        (*x)->type = AK_BOOL;
        return 0;
    }
    return bfail(b, off, AK_E_TYPE, "%s must be a boolean condition, got %s", where, ak_type_name((*x)->type));
}

/* ---- expressions --------------------------------------------------------- */

static ak_expr_t **bind_args(binder_t *b, ectx_t *c, ak_ast_t **args, int n)
{
    ak_expr_t **v = ak_arena_alloc(b->a, sizeof *v * (size_t)(n ? n : 1));
    if (!v) {
        nomem(b);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (!(v[i] = bind_expr(b, c, args[i])))
            return NULL;
    return v;
}

static ak_expr_t *mk(binder_t *b, ak_expr_kind_t k, ak_type_t t, const ak_ast_t *x)
{
    ak_expr_t *e = ak_expr_new(b->a, k, t);
    if (!e) {
        nomem(b);
        return NULL;
    }
    e->off = x->off;
    e->end = x->end;
    return e;
}

static ak_expr_t *bind_subquery(binder_t *b, ectx_t *c, const ak_ast_t *x, ak_expr_kind_t k)
{
    if (b->nouter >= 15) {
        bfail(b, x->off, AK_E_UNSUPPORTED, "subqueries nested too deeply");
        return NULL;
    }
    b->outer[b->nouter++] = c->scope;
    ak_plan_t *p = bind_query(b, x->subq);
    b->nouter--;
    if (!p)
        return NULL;
    if (k != EX_EXISTS && p->ncols != 1) {
        bfail(b, x->off, AK_E_BIND, "subquery must return exactly one column, it returns %d", p->ncols);
        return NULL;
    }
    ak_expr_t *e = mk(b, k, k == EX_SUBQ ? p->types[0] : AK_BOOL, x);
    if (!e)
        return NULL;
    e->subq = p;
    e->negated = x->negated;
    ak_sql_stmt_t *st = b->st;
    if (st->nsubqs == st->cap_subqs) {
        int nc = st->cap_subqs ? st->cap_subqs * 2 : 8;
        ak_expr_t **nv = ak_arena_alloc(b->a, sizeof *nv * (size_t)nc);
        if (!nv) {
            nomem(b);
            return NULL;
        }
        if (st->nsubqs)
            memcpy(nv, st->subqs, sizeof *nv * (size_t)st->nsubqs);
        st->subqs = nv;
        st->cap_subqs = nc;
    }
    st->subqs[st->nsubqs++] = e;
    e->ref = st->nsubqs - 1;
    if (k == EX_IN_SUBQ) {
        e->args = ak_arena_alloc(b->a, sizeof *e->args);
        if (!e->args) {
            nomem(b);
            return NULL;
        }
        e->nargs = 1;
        if (!(e->args[0] = bind_expr(b, c, x->args[0])))
            return NULL;
        ak_type_t tl = e->args[0]->type, tr = p->types[0];
        if (!(tl == tr || tl == AK_NULL || tr == AK_NULL || (ak_type_is_numeric(tl) && ak_type_is_numeric(tr)) ||
              (ak_type_is_temporal(tl) && ak_type_is_temporal(tr)))) {
            if (tl == AK_TEXT && e->args[0]->kind == EX_CONST) {
                if (fold_cast_const(b, e->args[0], tr, x->off))
                    return NULL;
            } else {
                bfail(b, x->off, AK_E_TYPE, "cannot compare %s with a subquery of %s", ak_type_name(tl),
                      ak_type_name(tr));
                return NULL;
            }
        }
    }
    return e;
}

static int bind_frame_offset(binder_t *b, ectx_t *c, ak_ast_t *x, ak_expr_t **out)
{
    if (!x) {
        *out = NULL;
        return 0;
    }
    ectx_t k = {.scope = c->scope, .clause = "a window frame", .sel = c->sel};
    ak_expr_t *e = bind_expr(b, &k, x);
    if (!e)
        return -1;
    if (e->kind != EX_CONST || e->val.type == AK_NULL)
        return bfail(b, x->off, AK_E_UNSUPPORTED, "window frame offsets must be constants");
    if ((e->val.type == AK_INT && e->val.i < 0) || (e->val.type == AK_DOUBLE && e->val.d < 0))
        return bfail(b, x->off, AK_E_BIND, "window frame offsets must not be negative");
    *out = e;
    return 0;
}

static const ak_window_ast_t *find_named_window(const ak_select_ast_t *sel, const char *name)
{
    for (int i = 0; sel && i < sel->nwindows; i++)
        if (strcasecmp(sel->windows[i].name, name) == 0)
            return sel->windows[i].spec;
    return NULL;
}

static ak_expr_t *bind_window_call(binder_t *b, ectx_t *c, const ak_ast_t *x)
{
    if (!c->allow_win) {
        bfail(b, x->off, AK_E_BIND, "window functions are not allowed in %s", c->clause);
        return NULL;
    }
    const ak_window_ast_t *w = x->over, *base = NULL;
    if (x->over_name) {
        w = find_named_window(c->sel, x->over_name);
        if (!w) {
            bfail(b, x->off, AK_E_BIND, "window `%s` is not defined in a WINDOW clause", x->over_name);
            return NULL;
        }
    }
    if (w->base) {
        base = find_named_window(c->sel, w->base);
        if (!base) {
            bfail(b, w->off, AK_E_BIND, "window `%s` is not defined in a WINDOW clause", w->base);
            return NULL;
        }
    }
    ak_wincall_t wc;
    memset(&wc, 0, sizeof wc);
    ak_agg_fn_t afn;
    ak_win_fn_t wfn;
    if (ak_is_window_only_name(x->name, &wfn)) {
        wc.fn = wfn;
    } else if (ak_is_aggregate_name(x->name, &afn)) {
        wc.fn = WIN_AGG;
        wc.agg.fn = (afn == AGG_COUNT && x->star) ? AGG_COUNT_STAR : afn;
        wc.agg.distinct = x->distinct;
    } else {
        bfail(b, x->off, AK_E_BIND, "%s() is not a window or aggregate function", x->name);
        return NULL;
    }
    if (x->star && !(wc.fn == WIN_AGG && wc.agg.fn == AGG_COUNT_STAR)) {
        bfail(b, x->off, AK_E_BIND, "%s(*) is not valid", x->name);
        return NULL;
    }
    /* arguments may contain aggregates (in aggregated queries) but no windows */
    bool saved = c->allow_win;
    c->allow_win = false;
    wc.agg.nargs = x->nargs;
    wc.agg.args = bind_args(b, c, x->args, x->nargs);
    if (!wc.agg.args) {
        c->allow_win = saved;
        return NULL;
    }
    if (x->filter) {
        if (!(wc.agg.filter = bind_expr(b, c, x->filter)) || require_bool(b, &wc.agg.filter, x->filter->off, "FILTER")) {
            c->allow_win = saved;
            return NULL;
        }
    }
    winspec_t spec = {0};
    const ak_window_ast_t *pw = base ? base : w;
    spec.npart = pw->npartition;
    spec.part = bind_args(b, c, pw->partition, pw->npartition);
    const ak_window_ast_t *ow = w->norder ? w : (base ? base : w);
    spec.nord = ow->norder;
    spec.ord = ak_arena_zalloc(b->a, sizeof *spec.ord * (size_t)(ow->norder ? ow->norder : 1));
    if (!spec.part || !spec.ord) {
        c->allow_win = saved;
        return NULL;
    }
    for (int i = 0; i < ow->norder; i++) {
        if (!(spec.ord[i].expr = bind_expr(b, c, ow->order[i].expr))) {
            c->allow_win = saved;
            return NULL;
        }
        spec.ord[i].desc = ow->order[i].desc;
        spec.ord[i].nulls_first = ow->order[i].nulls_first == 1;
    }
    c->allow_win = saved;
    const ak_window_ast_t *fw = w->unit != FRAME_DEFAULT ? w : (base ? base : w);
    wc.frame.unit = fw->unit;
    if (fw->unit != FRAME_DEFAULT) {
        wc.frame.start_kind = fw->start.kind;
        wc.frame.end_kind = fw->end.kind;
        if (bind_frame_offset(b, c, fw->start.offset, &wc.frame.start_off) ||
            bind_frame_offset(b, c, fw->end.offset, &wc.frame.end_off))
            return NULL;
        if (fw->start.kind == BOUND_UNBOUNDED_FOLLOWING || fw->end.kind == BOUND_UNBOUNDED_PRECEDING) {
            bfail(b, fw->off, AK_E_BIND, "invalid window frame bounds");
            return NULL;
        }
        if (fw->unit == FRAME_RANGE && (wc.frame.start_off || wc.frame.end_off) && spec.nord != 1) {
            bfail(b, fw->off, AK_E_BIND, "RANGE with an offset needs exactly one ORDER BY expression");
            return NULL;
        }
        if (fw->unit == FRAME_GROUPS) {
            bfail(b, fw->off, AK_E_UNSUPPORTED, "GROUPS frames are not supported; use ROWS or RANGE");
            return NULL;
        }
    }
    wc.ignore_nulls = x->ignore_nulls;
    wc.agg.text = span_text(b, x->off, x->end);
    /* types and argument checks */
    int na = wc.agg.nargs;
    switch (wc.fn) {
    case WIN_AGG:
        if (ak_agg_bind(&wc.agg, b->a, b->err)) {
            b->err_off = x->off;
            return NULL;
        }
        break;
    case WIN_ROW_NUMBER:
    case WIN_RANK:
    case WIN_DENSE_RANK:
    case WIN_PERCENT_RANK:
    case WIN_CUME_DIST:
        if (na) {
            bfail(b, x->off, AK_E_BIND, "%s() takes no arguments", x->name);
            return NULL;
        }
        wc.agg.type = (wc.fn == WIN_PERCENT_RANK || wc.fn == WIN_CUME_DIST) ? AK_DOUBLE : AK_INT;
        break;
    case WIN_NTILE:
        if (na != 1 || wc.agg.args[0]->kind != EX_CONST || wc.agg.args[0]->type != AK_INT || wc.agg.args[0]->val.i <= 0) {
            bfail(b, x->off, AK_E_BIND, "ntile() takes one positive integer constant");
            return NULL;
        }
        wc.agg.type = AK_INT;
        break;
    case WIN_LAG:
    case WIN_LEAD:
        if (na < 1 || na > 3) {
            bfail(b, x->off, AK_E_BIND, "%s() takes 1 to 3 arguments", x->name);
            return NULL;
        }
        if (na >= 2 && (wc.agg.args[1]->kind != EX_CONST || wc.agg.args[1]->type != AK_INT)) {
            bfail(b, x->off, AK_E_UNSUPPORTED, "the offset of %s() must be an integer constant", x->name);
            return NULL;
        }
        wc.agg.type = wc.agg.args[0]->type;
        if (na == 3) {
            ak_type_t ct = ak__common_type(wc.agg.type, wc.agg.args[2]->type);
            if (ct == AK_TYPE__COUNT) {
                if (wc.agg.args[2]->type == AK_TEXT && wc.agg.args[2]->kind == EX_CONST)
                    ct = wc.agg.type;
                else {
                    bfail(b, x->off, AK_E_TYPE, "the default of %s() has type %s, expected %s", x->name,
                          ak_type_name(wc.agg.args[2]->type), ak_type_name(wc.agg.type));
                    return NULL;
                }
            }
            if (coerce_to(b, &wc.agg.args[0], ct, x->off) || coerce_to(b, &wc.agg.args[2], ct, x->off))
                return NULL;
            wc.agg.type = ct;
        }
        break;
    case WIN_FIRST_VALUE:
    case WIN_LAST_VALUE:
        if (na != 1) {
            bfail(b, x->off, AK_E_BIND, "%s() takes one argument", x->name);
            return NULL;
        }
        wc.agg.type = wc.agg.args[0]->type;
        break;
    case WIN_NTH_VALUE:
        if (na != 2 || wc.agg.args[1]->kind != EX_CONST || wc.agg.args[1]->type != AK_INT || wc.agg.args[1]->val.i <= 0) {
            bfail(b, x->off, AK_E_BIND, "nth_value() takes an expression and a positive integer constant");
            return NULL;
        }
        wc.agg.type = wc.agg.args[0]->type;
        break;
    }
    if (c->nwins == c->cap_wins) {
        int nc = c->cap_wins ? c->cap_wins * 2 : 4;
        ak_wincall_t *nw = ak_arena_alloc(b->a, sizeof *nw * (size_t)nc);
        winspec_t *ns = ak_arena_alloc(b->a, sizeof *ns * (size_t)nc);
        if (!nw || !ns) {
            nomem(b);
            return NULL;
        }
        if (c->nwins) {
            memcpy(nw, c->wins, sizeof *nw * (size_t)c->nwins);
            memcpy(ns, c->specs, sizeof *ns * (size_t)c->nwins);
        }
        c->wins = nw;
        c->specs = ns;
        c->cap_wins = nc;
    }
    c->wins[c->nwins] = wc;
    c->specs[c->nwins] = spec;
    ak_expr_t *e = mk(b, EX_WIN, wc.agg.type, x);
    if (!e)
        return NULL;
    e->ref = c->nwins++;
    return e;
}

static ak_expr_t *bind_agg_call(binder_t *b, ectx_t *c, const ak_ast_t *x, ak_agg_fn_t fn)
{
    if (!c->allow_agg) {
        bfail(b, x->off, AK_E_BIND, "aggregate functions are not allowed in %s", c->clause);
        return NULL;
    }
    ak_aggcall_t call;
    memset(&call, 0, sizeof call);
    call.fn = (fn == AGG_COUNT && x->star) ? AGG_COUNT_STAR : fn;
    if (x->star && fn != AGG_COUNT) {
        bfail(b, x->off, AK_E_BIND, "%s(*) is not valid; only COUNT(*) is", x->name);
        return NULL;
    }
    call.distinct = x->distinct;
    call.text = span_text(b, x->off, x->end);
    ectx_t inner = *c;
    inner.allow_agg = false;
    inner.allow_win = false;
    inner.clause = "the arguments of an aggregate function";
    call.nargs = x->nargs;
    call.args = bind_args(b, &inner, x->args, x->nargs);
    if (!call.args)
        return NULL;
    if (x->filter) {
        call.filter = bind_expr(b, &inner, x->filter);
        if (!call.filter || require_bool(b, &call.filter, x->filter->off, "FILTER"))
            return NULL;
    }
    /* nested aggregates/windows inside were rejected via inner; keep lists */
    c->aggs = inner.aggs;
    c->naggs = inner.naggs;
    c->cap_aggs = inner.cap_aggs;
    if (ak_agg_bind(&call, b->a, b->err)) {
        b->err_off = x->off;
        return NULL;
    }
    int ref = -1;
    for (int i = 0; i < c->naggs && ref < 0; i++) {
        ak_aggcall_t *o = &c->aggs[i];
        if (o->fn != call.fn || o->distinct != call.distinct || o->nargs != call.nargs ||
            !ak_expr_equal(o->filter, call.filter))
            continue;
        bool same = true;
        for (int k = 0; k < call.nargs && same; k++)
            same = ak_expr_equal(o->args[k], call.args[k]);
        if (same)
            ref = i;
    }
    if (ref < 0) {
        if (c->naggs == c->cap_aggs) {
            int nc = c->cap_aggs ? c->cap_aggs * 2 : 8;
            ak_aggcall_t *nv = ak_arena_alloc(b->a, sizeof *nv * (size_t)nc);
            if (!nv) {
                nomem(b);
                return NULL;
            }
            if (c->naggs)
                memcpy(nv, c->aggs, sizeof *nv * (size_t)c->naggs);
            c->aggs = nv;
            c->cap_aggs = nc;
        }
        c->aggs[c->naggs] = call;
        ref = c->naggs++;
    }
    ak_expr_t *e = mk(b, EX_AGG, call.type, x);
    if (e)
        e->ref = ref;
    return e;
}

static ak_expr_t *bind_func(binder_t *b, ectx_t *c, const ak_ast_t *x)
{
    if (x->over || x->over_name)
        return bind_window_call(b, c, x);
    ak_agg_fn_t afn;
    if (ak_is_aggregate_name(x->name, &afn))
        return bind_agg_call(b, c, x, afn);
    if (ak_is_window_only_name(x->name, NULL)) {
        bfail(b, x->off, AK_E_BIND, "%s() needs an OVER (...) clause", x->name);
        return NULL;
    }
    if (x->filter || x->distinct || x->star) {
        bfail(b, x->off, AK_E_BIND, "%s() is not an aggregate function", x->name);
        return NULL;
    }
    const ak_func_t *fn = ak_func_lookup(x->name);
    if (!fn) {
        extern const char *ak__func_name_at(size_t i);
        const char *best = NULL;
        size_t bd = 99;
        for (size_t i = 0; ak__func_name_at(i); i++) {
            size_t d = edit_distance(ak__func_name_at(i), x->name);
            if (d < bd) {
                bd = d;
                best = ak__func_name_at(i);
            }
        }
        if (best && bd <= 2)
            bfail(b, x->off, AK_E_BIND, "unknown function %s(); did you mean %s()?", x->name, best);
        else
            bfail(b, x->off, AK_E_BIND, "unknown function %s()", x->name);
        return NULL;
    }
    if (x->nargs < fn->min_args || (fn->max_args >= 0 && x->nargs > fn->max_args) || x->nargs > 64) {
        if (fn->min_args == fn->max_args)
            bfail(b, x->off, AK_E_BIND, "%s() takes %d argument%s, got %d", fn->name, fn->min_args,
                  fn->min_args == 1 ? "" : "s", x->nargs);
        else
            bfail(b, x->off, AK_E_BIND, "%s() takes %d to %d arguments, got %d", fn->name, fn->min_args,
                  fn->max_args < 0 ? 64 : fn->max_args, x->nargs);
        return NULL;
    }
    ak_expr_t *e = mk(b, EX_FUNC, AK_NULL, x);
    if (!e)
        return NULL;
    e->fn = fn;
    e->nargs = x->nargs;
    e->args = bind_args(b, c, x->args, x->nargs);
    if (!e->args)
        return NULL;
    if (fn->bind(e, b->a, b->err)) {
        b->err_off = x->off;
        return NULL;
    }
    /* fold calls whose arguments are all constant (not the clock) */
    bool all_const = !fn->is_volatile;
    for (int i = 0; i < e->nargs && all_const; i++)
        all_const = e->args[i]->kind == EX_CONST;
    if (all_const && e->nargs) {
        ak_eval_t cx = {.arena = b->a, .err = b->err, .now_us = b->st->env.now_us};
        ak_val_t v;
        if (ak_expr_eval(e, NULL, &cx, &v)) {
            b->err_off = x->off;
            return NULL;
        }
        ak_expr_t *k = mk(b, EX_CONST, e->type, x);
        if (!k)
            return NULL;
        k->val = v;
        return k;
    }
    return e;
}

static ak_expr_t *bind_expr(binder_t *b, ectx_t *c, const ak_ast_t *x)
{
    ak_expr_t *e = NULL, *l, *r;
    switch (x->kind) {
    case AST_LIT:
        e = mk(b, EX_CONST, (ak_type_t)x->lit.type, x);
        if (e)
            e->val = x->lit;
        return e;
    case AST_COL: {
        const scol_t *sc = NULL;
        if (lookup_col(b, c->scope, x, &sc))
            return NULL;
        e = mk(b, EX_COL, sc->type, x);
        if (e)
            e->col = sc->idx;
        return e;
    }
    case AST_STAR:
        bfail(b, x->off, AK_E_BIND, "`*` is not allowed here");
        return NULL;
    case AST_NEG:
        if (!(l = bind_expr(b, c, x->args[0])))
            return NULL;
        if (!ak_type_is_numeric(l->type) && l->type != AK_INTERVAL && l->type != AK_NULL) {
            bfail(b, x->off, AK_E_TYPE, "cannot negate %s", ak_type_name(l->type));
            return NULL;
        }
        if (!(e = mk(b, EX_NEG, l->type, x)) || !(e->args = ak_arena_alloc(b->a, sizeof *e->args)))
            return NULL;
        e->args[0] = l;
        e->nargs = 1;
        return e;
    case AST_NOT:
        if (!(l = bind_expr(b, c, x->args[0])) || require_bool(b, &l, x->off, "the operand of NOT"))
            return NULL;
        if (!(e = mk(b, EX_NOT, AK_BOOL, x)) || !(e->args = ak_arena_alloc(b->a, sizeof *e->args)))
            return NULL;
        e->args[0] = l;
        e->nargs = 1;
        return e;
    case AST_AND:
    case AST_OR:
        if (!(l = bind_expr(b, c, x->args[0])) || !(r = bind_expr(b, c, x->args[1])) ||
            require_bool(b, &l, x->args[0]->off, x->kind == AST_AND ? "an operand of AND" : "an operand of OR") ||
            require_bool(b, &r, x->args[1]->off, x->kind == AST_AND ? "an operand of AND" : "an operand of OR"))
            return NULL;
        if (!(e = mk(b, x->kind == AST_AND ? EX_AND : EX_OR, AK_BOOL, x)) ||
            !(e->args = ak_arena_alloc(b->a, sizeof *e->args * 2)))
            return NULL;
        e->args[0] = l;
        e->args[1] = r;
        e->nargs = 2;
        return e;
    case AST_CMP:
    case AST_DISTINCT:
        if (!(l = bind_expr(b, c, x->args[0])) || !(r = bind_expr(b, c, x->args[1])) ||
            coerce_pair(b, &l, &r, x->off, "compare"))
            return NULL;
        if (!(e = mk(b, x->kind == AST_CMP ? EX_CMP : EX_DISTINCT, AK_BOOL, x)) ||
            !(e->args = ak_arena_alloc(b->a, sizeof *e->args * 2)))
            return NULL;
        e->op = x->op;
        e->negated = x->negated;
        e->args[0] = l;
        e->args[1] = r;
        e->nargs = 2;
        return e;
    case AST_ARITH: {
        if (!(l = bind_expr(b, c, x->args[0])) || !(r = bind_expr(b, c, x->args[1])))
            return NULL;
        /* a TEXT literal next to a temporal/interval/number takes its type */
        if (l->type == AK_TEXT && l->kind == EX_CONST && r->type != AK_TEXT && r->type != AK_NULL &&
            fold_cast_const(b, l, r->type == AK_TIMESTAMP && x->op == '-' ? AK_TIMESTAMP : r->type, x->off))
            return NULL;
        if (r->type == AK_TEXT && r->kind == EX_CONST && l->type != AK_TEXT && l->type != AK_NULL) {
            ak_type_t to = l->type;
            if (ak_type_is_temporal(l->type) && x->op != '-')
                to = AK_INTERVAL;
            else if (ak_type_is_temporal(l->type)) {
                /* ts - 'text': interval if it reads as one, else a timestamp */
                ak_val_t v;
                ak_err_t e2;
                to = ak_cast_value(&r->val, AK_INTERVAL, b->a, &v, &e2) == 0 ? AK_INTERVAL : l->type;
            }
            if (fold_cast_const(b, r, to, x->off))
                return NULL;
        }
        ak_type_t tl = l->type, tr = r->type, t;
        int op = x->op;
        if ((tl == AK_NULL || ak_type_is_numeric(tl)) && (tr == AK_NULL || ak_type_is_numeric(tr))) {
            if (tl == AK_NULL && tr == AK_NULL)
                t = AK_INT;
            else if (tl == AK_NULL)
                t = tr;
            else if (tr == AK_NULL)
                t = tl;
            else
                t = ak__common_type(tl, tr);
            if (op == '/' && t == AK_INT)
                t = AK_DOUBLE;
        } else if ((tl == AK_TIMESTAMP || tl == AK_DATE) && tr == AK_INTERVAL && (op == '+' || op == '-')) {
            t = AK_TIMESTAMP;
        } else if (tl == AK_INTERVAL && (tr == AK_TIMESTAMP || tr == AK_DATE) && op == '+') {
            t = AK_TIMESTAMP;
        } else if (tl == AK_TIMESTAMP && (tr == AK_TIMESTAMP || tr == AK_DATE) && op == '-') {
            if (coerce_to(b, &r, AK_TIMESTAMP, x->off))
                return NULL;
            t = AK_INTERVAL;
        } else if (tl == AK_DATE && tr == AK_TIMESTAMP && op == '-') {
            if (coerce_to(b, &l, AK_TIMESTAMP, x->off))
                return NULL;
            t = AK_INTERVAL;
        } else if (tl == AK_DATE && tr == AK_DATE && op == '-') {
            t = AK_INT;
        } else if (tl == AK_DATE && tr == AK_INT && (op == '+' || op == '-')) {
            t = AK_DATE;
        } else if (tl == AK_INT && tr == AK_DATE && op == '+') {
            t = AK_DATE;
        } else if (tl == AK_INTERVAL && tr == AK_INTERVAL && (op == '+' || op == '-')) {
            t = AK_INTERVAL;
        } else if (tl == AK_INTERVAL && ak_type_is_numeric(tr) && (op == '*' || op == '/')) {
            t = AK_INTERVAL;
        } else if (ak_type_is_numeric(tl) && tr == AK_INTERVAL && op == '*') {
            t = AK_INTERVAL;
        } else if ((tl == AK_NULL && tr != AK_TEXT) || (tr == AK_NULL && tl != AK_TEXT)) {
            t = tl == AK_NULL ? tr : tl;
        } else {
            char ops[3] = {(char)(op == 'D' ? '/' : op), op == 'D' ? '/' : 0, 0};
            bfail(b, x->off, AK_E_TYPE, "no operator %s for %s and %s", ops, ak_type_name(tl), ak_type_name(tr));
            return NULL;
        }
        if (!(e = mk(b, EX_ARITH, t, x)) || !(e->args = ak_arena_alloc(b->a, sizeof *e->args * 2)))
            return NULL;
        e->op = op;
        e->args[0] = l;
        e->args[1] = r;
        e->nargs = 2;
        return e;
    }
    case AST_CONCAT:
        if (!(l = bind_expr(b, c, x->args[0])) || !(r = bind_expr(b, c, x->args[1])) ||
            coerce_to(b, &l, AK_TEXT, x->off) || coerce_to(b, &r, AK_TEXT, x->off))
            return NULL;
        if (!(e = mk(b, EX_CONCAT, AK_TEXT, x)) || !(e->args = ak_arena_alloc(b->a, sizeof *e->args * 2)))
            return NULL;
        e->args[0] = l;
        e->args[1] = r;
        e->nargs = 2;
        return e;
    case AST_ISNULL:
        if (!(l = bind_expr(b, c, x->args[0])))
            return NULL;
        if (!(e = mk(b, EX_ISNULL, AK_BOOL, x)) || !(e->args = ak_arena_alloc(b->a, sizeof *e->args)))
            return NULL;
        e->negated = x->negated;
        e->args[0] = l;
        e->nargs = 1;
        return e;
    case AST_BETWEEN: {
        ak_expr_t *v = bind_expr(b, c, x->args[0]), *lo = v ? bind_expr(b, c, x->args[1]) : NULL,
                  *hi = lo ? bind_expr(b, c, x->args[2]) : NULL;
        if (!hi)
            return NULL;
        ak_expr_t *v2 = v;
        if (coerce_pair(b, &v, &lo, x->off, "compare") || coerce_pair(b, &v2, &hi, x->off, "compare"))
            return NULL;
        ak_expr_t *ge = mk(b, EX_CMP, AK_BOOL, x), *le = mk(b, EX_CMP, AK_BOOL, x), *an = mk(b, EX_AND, AK_BOOL, x);
        if (!ge || !le || !an || !(ge->args = ak_arena_alloc(b->a, sizeof(void *) * 2)) ||
            !(le->args = ak_arena_alloc(b->a, sizeof(void *) * 2)) || !(an->args = ak_arena_alloc(b->a, sizeof(void *) * 2)))
            return NULL;
        ge->op = AK_CMP_GE;
        ge->args[0] = v;
        ge->args[1] = lo;
        ge->nargs = 2;
        le->op = AK_CMP_LE;
        le->args[0] = v2;
        le->args[1] = hi;
        le->nargs = 2;
        an->args[0] = ge;
        an->args[1] = le;
        an->nargs = 2;
        if (!x->negated)
            return an;
        if (!(e = mk(b, EX_NOT, AK_BOOL, x)) || !(e->args = ak_arena_alloc(b->a, sizeof *e->args)))
            return NULL;
        e->args[0] = an;
        e->nargs = 1;
        return e;
    }
    case AST_IN_LIST: {
        ak_expr_t **args = bind_args(b, c, x->args, x->nargs);
        if (!args)
            return NULL;
        for (int i = 1; i < x->nargs; i++) {
            ak_expr_t *v = args[0];
            if (coerce_pair(b, &v, &args[i], x->args[i]->off, "compare"))
                return NULL;
            if (v != args[0]) {
                /* the probe itself needed a cast: cast it once for all */
                args[0] = v;
            }
        }
        if (!(e = mk(b, EX_IN_LIST, AK_BOOL, x)))
            return NULL;
        e->args = args;
        e->nargs = x->nargs;
        e->negated = x->negated;
        return e;
    }
    case AST_IN_SUBQ: return bind_subquery(b, c, x, EX_IN_SUBQ);
    case AST_EXISTS: return bind_subquery(b, c, x, EX_EXISTS);
    case AST_SUBQ: return bind_subquery(b, c, x, EX_SUBQ);
    case AST_LIKE:
        if (!(l = bind_expr(b, c, x->args[0])) || !(r = bind_expr(b, c, x->args[1])) ||
            coerce_to(b, &l, AK_TEXT, x->off) || coerce_to(b, &r, AK_TEXT, x->off))
            return NULL;
        if (!(e = mk(b, EX_LIKE, AK_BOOL, x)) || !(e->args = ak_arena_alloc(b->a, sizeof *e->args * 2)))
            return NULL;
        e->op = x->op;
        e->negated = x->negated;
        e->args[0] = l;
        e->args[1] = r;
        e->nargs = 2;
        return e;
    case AST_CASE: {
        int start = x->has_operand ? 1 : 0;
        int pairs = (x->nargs - start - (x->has_else ? 1 : 0)) / 2;
        int n = pairs * 2 + (x->has_else ? 1 : 0);
        if (!(e = mk(b, EX_CASE, AK_NULL, x)) || !(e->args = ak_arena_alloc(b->a, sizeof *e->args * (size_t)(n ? n : 1))))
            return NULL;
        e->nargs = n;
        e->has_else = x->has_else;
        ak_expr_t *operand = NULL;
        if (x->has_operand && !(operand = bind_expr(b, c, x->args[0])))
            return NULL;
        ak_type_t t = AK_NULL;
        for (int i = 0; i < pairs; i++) {
            const ak_ast_t *wa = x->args[start + 2 * i], *ta = x->args[start + 2 * i + 1];
            ak_expr_t *w = bind_expr(b, c, wa);
            if (!w)
                return NULL;
            if (operand) {
                ak_expr_t *o = operand, *eq = mk(b, EX_CMP, AK_BOOL, wa);
                if (!eq || coerce_pair(b, &o, &w, wa->off, "compare") || !(eq->args = ak_arena_alloc(b->a, sizeof(void *) * 2)))
                    return NULL;
                eq->op = AK_CMP_EQ;
                eq->args[0] = o;
                eq->args[1] = w;
                eq->nargs = 2;
                w = eq;
            } else if (require_bool(b, &w, wa->off, "a WHEN condition")) {
                return NULL;
            }
            e->args[2 * i] = w;
            if (!(e->args[2 * i + 1] = bind_expr(b, c, ta)))
                return NULL;
        }
        if (x->has_else && !(e->args[n - 1] = bind_expr(b, c, x->args[x->nargs - 1])))
            return NULL;
        /* result type: common type; TEXT literals adopt it */
        for (int i = 0; i < n; i++) {
            if (i < pairs * 2 && i % 2 == 0)
                continue;
            ak_expr_t *v = e->args[i];
            if (v->type == AK_TEXT && v->kind == EX_CONST && t != AK_NULL && t != AK_TEXT)
                continue;
            ak_type_t ct = ak__common_type(t, v->type);
            if (ct == AK_TYPE__COUNT) {
                if (t == AK_TEXT) {
                    bool lit = true;
                    for (int k = 0; k < i; k++)
                        if ((k >= pairs * 2 || k % 2) && e->args[k]->type == AK_TEXT && e->args[k]->kind != EX_CONST)
                            lit = false;
                    if (lit) {
                        t = v->type;
                        continue;
                    }
                }
                bfail(b, v->off, AK_E_TYPE, "CASE results have incompatible types %s and %s", ak_type_name(t),
                      ak_type_name(v->type));
                return NULL;
            }
            t = ct;
        }
        for (int i = 0; i < n; i++)
            if ((i >= pairs * 2 || i % 2) && coerce_to(b, &e->args[i], t, e->args[i]->off))
                return NULL;
        e->type = t;
        return e;
    }
    case AST_CAST:
        if (!(l = bind_expr(b, c, x->args[0])))
            return NULL;
        if (!ak_cast_allowed(l->type, x->cast_type)) {
            bfail(b, x->off, AK_E_TYPE, "cannot cast %s to %s", ak_type_name(l->type), ak_type_name(x->cast_type));
            return NULL;
        }
        if (l->kind == EX_CONST && !x->try_cast) {
            if (fold_cast_const(b, l, x->cast_type, x->off))
                return NULL;
            l->off = x->off;
            l->end = x->end;
            return l;
        }
        if (l->type == x->cast_type)
            return l;
        if (!(e = mk(b, EX_CAST, x->cast_type, x)) || !(e->args = ak_arena_alloc(b->a, sizeof *e->args)))
            return NULL;
        e->args[0] = l;
        e->nargs = 1;
        e->try_cast = x->try_cast;
        return e;
    case AST_FUNC: return bind_func(b, c, x);
    }
    bfail(b, x->off, AK_E_INTERNAL, "unhandled expression");
    return NULL;
}

/* ---- aggregate rewriting -------------------------------------------------- */

typedef struct rewrite {
    binder_t *b;
    ak_expr_t **groups;
    int ngroups;
    const scope_t *from_scope;
    ectx_t *c;
} rewrite_t;

static int rewrite_agg(rewrite_t *rw, ak_expr_t **pe);

static int rewrite_win_inner(rewrite_t *rw, int ref)
{
    ak_wincall_t *w = &rw->c->wins[ref];
    winspec_t *s = &rw->c->specs[ref];
    for (int i = 0; i < w->agg.nargs; i++)
        if (rewrite_agg(rw, &w->agg.args[i]))
            return -1;
    if (w->agg.filter && rewrite_agg(rw, &w->agg.filter))
        return -1;
    for (int i = 0; i < s->npart; i++)
        if (rewrite_agg(rw, &s->part[i]))
            return -1;
    for (int i = 0; i < s->nord; i++)
        if (rewrite_agg(rw, &s->ord[i].expr))
            return -1;
    return 0;
}

static int rewrite_agg(rewrite_t *rw, ak_expr_t **pe)
{
    ak_expr_t *e = *pe;
    for (int i = 0; i < rw->ngroups; i++)
        if (e->kind != EX_CONST && ak_expr_equal(e, rw->groups[i])) {
            ak_expr_t *r = col_ref(rw->b, i, e->type);
            if (!r)
                return nomem(rw->b);
            r->off = e->off;
            r->end = e->end;
            *pe = r;
            return 0;
        }
    switch (e->kind) {
    case EX_AGG: {
        ak_expr_t *r = col_ref(rw->b, rw->ngroups + e->ref, e->type);
        if (!r)
            return nomem(rw->b);
        r->off = e->off;
        r->end = e->end;
        *pe = r;
        return 0;
    }
    case EX_COL: {
        const char *name = "?";
        for (int i = 0; i < rw->from_scope->n; i++)
            if (rw->from_scope->cols[i].idx == e->col) {
                name = rw->from_scope->cols[i].name;
                break;
            }
        return bfail(rw->b, e->off, AK_E_BIND,
                     "column `%s` must appear in the GROUP BY clause or be used in an aggregate function", name);
    }
    case EX_WIN: return rewrite_win_inner(rw, e->ref);
    case EX_SUBQ:
    case EX_EXISTS: return 0;
    default:
        for (int i = 0; i < e->nargs; i++)
            if (rewrite_agg(rw, &e->args[i]))
                return -1;
        return 0;
    }
}

/* Replaces window placeholders by columns appended by the WINDOW operators. */
static void replace_wins(ak_expr_t **pe, const int *win_col, binder_t *b)
{
    ak_expr_t *e = *pe;
    if (e->kind == EX_WIN) {
        ak_expr_t *r = col_ref(b, win_col[e->ref], e->type);
        if (r) {
            r->off = e->off;
            r->end = e->end;
            *pe = r;
        }
        return;
    }
    if (e->kind == EX_SUBQ || e->kind == EX_EXISTS)
        return;
    for (int i = 0; i < e->nargs; i++)
        replace_wins(&e->args[i], win_col, b);
}

static bool spec_equal(const winspec_t *a, const winspec_t *b)
{
    if (a->npart != b->npart || a->nord != b->nord)
        return false;
    for (int i = 0; i < a->npart; i++)
        if (!ak_expr_equal(a->part[i], b->part[i]))
            return false;
    for (int i = 0; i < a->nord; i++)
        if (a->ord[i].desc != b->ord[i].desc || a->ord[i].nulls_first != b->ord[i].nulls_first ||
            !ak_expr_equal(a->ord[i].expr, b->ord[i].expr))
            return false;
    return true;
}

/* Builds WINDOW operators over `in` for every collected window call; fills
 * win_col[ref] with the output column of each call. */
static ak_plan_t *plan_windows(binder_t *b, ectx_t *c, ak_plan_t *in, int *win_col)
{
    bool *done = ak_arena_zalloc(b->a, sizeof *done * (size_t)(c->nwins ? c->nwins : 1));
    if (!done) {
        nomem(b);
        return NULL;
    }
    for (int i = 0; i < c->nwins; i++) {
        if (done[i])
            continue;
        int n = 0;
        for (int j = i; j < c->nwins; j++)
            if (!done[j] && spec_equal(&c->specs[i], &c->specs[j]))
                n++;
        ak_plan_t *w = plan_new(b, P_WINDOW, in->ncols + n);
        if (!w || !(w->wins = ak_arena_alloc(b->a, sizeof *w->wins * (size_t)n))) {
            nomem(b);
            return NULL;
        }
        copy_cols(w, 0, in);
        w->child = in;
        w->npart = c->specs[i].npart;
        w->part = c->specs[i].part;
        w->nord = c->specs[i].nord;
        w->ord = c->specs[i].ord;
        int k = 0;
        for (int j = i; j < c->nwins; j++) {
            if (done[j] || !spec_equal(&c->specs[i], &c->specs[j]))
                continue;
            done[j] = true;
            w->wins[k] = c->wins[j];
            w->names[in->ncols + k] = (char *)(c->wins[j].agg.text ? c->wins[j].agg.text
                                               : c->wins[j].fn == WIN_AGG ? ak_agg_name(c->wins[j].agg.fn)
                                                                          : ak_win_name(c->wins[j].fn));
            w->types[in->ncols + k] = c->wins[j].agg.type;
            win_col[j] = in->ncols + k;
            k++;
        }
        w->nwins = n;
        in = w;
    }
    return in;
}

static bool ast_has_agg(const ak_ast_t *x)
{
    if (!x)
        return false;
    if (x->kind == AST_FUNC && !x->over && !x->over_name && ak_is_aggregate_name(x->name, NULL))
        return true;
    if (x->kind == AST_SUBQ || x->kind == AST_EXISTS || x->kind == AST_IN_SUBQ) {
        return x->kind == AST_IN_SUBQ && ast_has_agg(x->args[0]);
    }
    for (int i = 0; i < x->nargs; i++)
        if (ast_has_agg(x->args[i]))
            return true;
    if (x->filter && ast_has_agg(x->filter))
        return true;
    if (x->over) {
        for (int i = 0; i < x->over->npartition; i++)
            if (ast_has_agg(x->over->partition[i]))
                return true;
        for (int i = 0; i < x->over->norder; i++)
            if (ast_has_agg(x->over->order[i].expr))
                return true;
    }
    return false;
}

/* ---- FROM ---------------------------------------------------------------- */

static int find_cte(binder_t *b, const char *name)
{
    for (int i = b->nctes - 1; i >= 0; i--)
        if (strcasecmp(b->ctes[i].name, name) == 0)
            return b->ctes[i].slot;
    return -1;
}

static ak_plan_t *scan_plan(binder_t *b, const ak_sql_table_t *t, const char *display, size_t off)
{
    if (t->ncols <= 0 || t->ncols > 4096) {
        bfail(b, off, AK_E_BIND, "table `%s` has no columns", display);
        return NULL;
    }
    ak_plan_t *p = plan_new(b, P_SCAN, t->ncols);
    if (!p) {
        nomem(b);
        return NULL;
    }
    p->table = *t;
    p->table_name = ak_arena_strdup(b->a, display);
    ak_sql_stmt_t *st = b->st;
    if (st->nscans == st->cap_scans) {
        int nc = st->cap_scans ? st->cap_scans * 2 : 8;
        ak_sql_scan_info_t *nv = ak_arena_alloc(b->a, sizeof *nv * (size_t)nc);
        if (!nv) {
            nomem(b);
            return NULL;
        }
        if (st->nscans)
            memcpy(nv, st->scans, sizeof *nv * (size_t)st->nscans);
        st->scans = nv;
        st->cap_scans = nc;
    }
    bool *used = ak_arena_zalloc(b->a, sizeof *used * (size_t)t->ncols);
    if (!used) {
        nomem(b);
        return NULL;
    }
    st->scans[st->nscans++] = (ak_sql_scan_info_t){AK_SQL_TABLE, NULL, p->table_name, t->ncols, used};
    p->scan = st->nscans - 1;
    for (int i = 0; i < t->ncols; i++) {
        p->names[i] = ak_arena_strdup(b->a, t->names[i]);
        p->types[i] = t->types[i];
        if (!p->names[i]) {
            nomem(b);
            return NULL;
        }
    }
    return p;
}

static int parse_template(binder_t *b, const ak_from_ast_t *f, ak_sql_name_kind_t *kind, char **name)
{
    const char *s = f->tmpl;
    size_t n = f->tmpl_len;
    if (n == 4 && strncmp(s, "this", 4) == 0) {
        *kind = AK_SQL_THIS;
        *name = ak_arena_strdup(b->a, "this");
        return *name ? 0 : nomem(b);
    }
    if (n > 5 && strncmp(s, "ref", 3) == 0) {
        size_t i = 3;
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i < n && s[i] == '(') {
            i++;
            while (i < n && isspace((unsigned char)s[i]))
                i++;
            char q = (i < n && (s[i] == '\'' || s[i] == '"')) ? s[i++] : 0;
            size_t st = i;
            while (i < n && (q ? s[i] != q : (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.')))
                i++;
            size_t en = i;
            if (q && i < n)
                i++;
            while (i < n && isspace((unsigned char)s[i]))
                i++;
            if (i < n && s[i] == ')' && i + 1 == n && en > st) {
                *kind = AK_SQL_REF;
                *name = ak_arena_strndup(b->a, s + st, en - st);
                return *name ? 0 : nomem(b);
            }
        }
    }
    return bfail(b, f->off, AK_E_BIND, "unknown template {{ %.*s }}; expected {{ ref('input_name') }} or {{ this }}",
                 (int)n, s);
}

static int add_scope(binder_t *b, scope_t *dst, const scope_t *src, int offset)
{
    scol_t *nc = ak_arena_alloc(b->a, sizeof *nc * (size_t)(dst->n + src->n + 1));
    if (!nc)
        return nomem(b);
    if (dst->n)
        memcpy(nc, dst->cols, sizeof *nc * (size_t)dst->n);
    for (int i = 0; i < src->n; i++) {
        nc[dst->n + i] = src->cols[i];
        nc[dst->n + i].idx += offset;
    }
    dst->cols = nc;
    dst->n += src->n;
    return 0;
}

static bool refs_only(const ak_expr_t *e, int lo, int hi, bool *any)
{
    if (e->kind == EX_COL) {
        *any = true;
        return e->col >= lo && e->col < hi;
    }
    if (e->kind == EX_SUBQ || e->kind == EX_EXISTS)
        return true;
    for (int i = 0; i < e->nargs; i++)
        if (!refs_only(e->args[i], lo, hi, any))
            return false;
    return true;
}

static void shift_cols(ak_expr_t *e, int by)
{
    if (e->kind == EX_COL) {
        e->col += by;
        return;
    }
    if (e->kind == EX_SUBQ || e->kind == EX_EXISTS)
        return;
    for (int i = 0; i < e->nargs; i++)
        shift_cols(e->args[i], by);
}

static ak_expr_t *and_of(binder_t *b, ak_expr_t *l, ak_expr_t *r)
{
    if (!l)
        return r;
    if (!r)
        return l;
    ak_expr_t *e = ak_expr_new(b->a, EX_AND, AK_BOOL);
    if (!e || !(e->args = ak_arena_alloc(b->a, sizeof *e->args * 2)))
        return NULL;
    e->args[0] = l;
    e->args[1] = r;
    e->nargs = 2;
    return e;
}

static int split_join_cond(binder_t *b, ak_plan_t *j, ak_expr_t *cond, int nleft)
{
    if (cond->kind == EX_AND) {
        return split_join_cond(b, j, cond->args[0], nleft) || split_join_cond(b, j, cond->args[1], nleft) ? -1 : 0;
    }
    if (cond->kind == EX_CMP && cond->op == AK_CMP_EQ) {
        ak_expr_t *l = cond->args[0], *r = cond->args[1];
        bool al = false, ar = false;
        int total = j->ncols;
        if (refs_only(l, 0, nleft, &al) && al && refs_only(r, nleft, total, &ar) && ar) {
            /* left key over the left row, right key over the right row */
        } else {
            al = ar = false;
            if (refs_only(r, 0, nleft, &al) && al && refs_only(l, nleft, total, &ar) && ar) {
                ak_expr_t *t = l;
                l = r;
                r = t;
            } else {
                goto residual;
            }
        }
        if (j->nkeys % 8 == 0) {
            ak_expr_t **nl = ak_arena_alloc(b->a, sizeof *nl * (size_t)(j->nkeys + 8));
            ak_expr_t **nr = ak_arena_alloc(b->a, sizeof *nr * (size_t)(j->nkeys + 8));
            if (!nl || !nr)
                return nomem(b);
            if (j->nkeys) {
                memcpy(nl, j->lkeys, sizeof *nl * (size_t)j->nkeys);
                memcpy(nr, j->rkeys, sizeof *nr * (size_t)j->nkeys);
            }
            j->lkeys = nl;
            j->rkeys = nr;
        }
        shift_cols(r, -nleft);
        /* hash equality needs one representation per value class */
        if (l->type != r->type && !(ak_type_is_numeric(l->type) && ak_type_is_numeric(r->type)) &&
            !(ak_type_is_temporal(l->type) && ak_type_is_temporal(r->type)) && l->type != AK_NULL && r->type != AK_NULL) {
            shift_cols(r, nleft);
            goto residual;
        }
        j->lkeys[j->nkeys] = l;
        j->rkeys[j->nkeys] = r;
        j->nkeys++;
        return 0;
    }
residual:
    j->residual = and_of(b, j->residual, cond);
    return j->residual ? 0 : nomem(b);
}

static ak_plan_t *bind_from(binder_t *b, const ak_from_ast_t *f, scope_t *scope);

static ak_plan_t *bind_join(binder_t *b, const ak_from_ast_t *f, scope_t *scope)
{
    scope_t ls = {0}, rs = {0};
    ak_plan_t *l = bind_from(b, f->left, &ls);
    if (!l)
        return NULL;
    ak_plan_t *r = bind_from(b, f->right, &rs);
    if (!r)
        return NULL;
    ak_plan_t *j = plan_new(b, P_JOIN, l->ncols + r->ncols);
    if (!j) {
        nomem(b);
        return NULL;
    }
    j->join = f->join;
    j->child = l;
    j->right = r;
    copy_cols(j, 0, l);
    copy_cols(j, l->ncols, r);
    scope_t s = {0};
    if (add_scope(b, &s, &ls, 0) || add_scope(b, &s, &rs, l->ncols))
        return NULL;
    const char **using_cols = f->using_cols;
    int nusing = f->nusing;
    if (f->natural) {
        using_cols = ak_arena_alloc(b->a, sizeof *using_cols * (size_t)(ls.n ? ls.n : 1));
        if (!using_cols) {
            nomem(b);
            return NULL;
        }
        nusing = 0;
        for (int i = 0; i < ls.n; i++)
            for (int k = 0; k < rs.n; k++)
                if (!ls.cols[i].hidden && !rs.cols[k].hidden && strcasecmp(ls.cols[i].name, rs.cols[k].name) == 0) {
                    using_cols[nusing++] = ls.cols[i].name;
                    break;
                }
    }
    ak_expr_t *cond = NULL;
    for (int u = 0; u < nusing; u++) {
        const scol_t *lc = NULL, *rc = NULL;
        for (int i = 0; i < ls.n; i++)
            if (!ls.cols[i].hidden && strcasecmp(ls.cols[i].name, using_cols[u]) == 0)
                lc = &ls.cols[i];
        for (int i = 0; i < rs.n; i++)
            if (!rs.cols[i].hidden && strcasecmp(rs.cols[i].name, using_cols[u]) == 0)
                rc = &rs.cols[i];
        if (!lc || !rc) {
            bfail(b, f->off, AK_E_BIND, "USING column `%s` must exist on both sides of the join", using_cols[u]);
            return NULL;
        }
        if (lc->used)
            *lc->used = true;
        if (rc->used)
            *rc->used = true;
        ak_expr_t *le = col_ref(b, lc->idx, lc->type), *re = col_ref(b, rc->idx + l->ncols, rc->type);
        ak_expr_t *eq = ak_expr_new(b->a, EX_CMP, AK_BOOL);
        if (!le || !re || !eq || !(eq->args = ak_arena_alloc(b->a, sizeof(void *) * 2))) {
            nomem(b);
            return NULL;
        }
        if (coerce_pair(b, &le, &re, f->off, "join on"))
            return NULL;
        eq->op = AK_CMP_EQ;
        eq->args[0] = le;
        eq->args[1] = re;
        eq->nargs = 2;
        cond = and_of(b, cond, eq);
        /* the merged column: the right copy is hidden (the left one for RIGHT joins) */
        for (int i = 0; i < s.n; i++) {
            bool is_right = s.cols[i].idx >= l->ncols;
            if (strcasecmp(s.cols[i].name, using_cols[u]) == 0 && !s.cols[i].hidden &&
                (f->join == JOIN_RIGHT ? !is_right : is_right)) {
                s.cols[i].hidden = true;
                break;
            }
        }
    }
    if (f->on) {
        ectx_t c = {.scope = &s, .clause = "a JOIN condition"};
        ak_expr_t *on = bind_expr(b, &c, f->on);
        if (!on || require_bool(b, &on, f->on->off, "a JOIN condition"))
            return NULL;
        cond = and_of(b, cond, on);
    }
    if (cond && split_join_cond(b, j, cond, l->ncols))
        return NULL;
    if (j->join == JOIN_CROSS && (j->nkeys || j->residual))
        j->join = JOIN_INNER;
    *scope = s;
    return j;
}

static ak_plan_t *bind_from(binder_t *b, const ak_from_ast_t *f, scope_t *scope)
{
    ak_plan_t *p = NULL;
    const char *qual = f->alias;
    switch (f->kind) {
    case FROM_JOIN: return bind_join(b, f, scope);
    case FROM_SUBQUERY:
        p = bind_query(b, f->subq);
        break;
    case FROM_TEMPLATE: {
        ak_sql_name_kind_t kind;
        char *name;
        if (parse_template(b, f, &kind, &name))
            return NULL;
        ak_sql_table_t t;
        memset(&t, 0, sizeof t);
        int rc = b->st->env.resolve ? b->st->env.resolve(b->st->env.resolve_ctx, kind, NULL, name, &t, b->err) : 1;
        if (rc < 0) {
            b->err_off = f->off;
            return NULL;
        }
        if (rc > 0) {
            if (kind == AK_SQL_THIS)
                bfail(b, f->off, AK_E_BIND, "{{ this }} can only be used in a quality check");
            else
                bfail(b, f->off, AK_E_BIND, "{{ ref('%s') }}: no input named `%s` is declared", name, name);
            return NULL;
        }
        p = scan_plan(b, &t, kind == AK_SQL_THIS ? "{{ this }}" : name, f->off);
        if (!qual)
            qual = kind == AK_SQL_THIS ? "this" : name;
        break;
    }
    case FROM_TABLE: {
        int slot = f->schema ? -1 : find_cte(b, f->name);
        if (slot >= 0) {
            const ak_plan_t *cp = b->st->ctes[slot].plan;
            p = plan_new(b, P_CTE, cp->ncols);
            if (!p) {
                nomem(b);
                return NULL;
            }
            p->cte = slot;
            copy_cols(p, 0, cp);
        } else {
            ak_sql_table_t t;
            memset(&t, 0, sizeof t);
            int rc = b->st->env.resolve
                         ? b->st->env.resolve(b->st->env.resolve_ctx, AK_SQL_TABLE, f->schema, f->name, &t, b->err)
                         : 1;
            if (rc < 0) {
                b->err_off = f->off;
                return NULL;
            }
            if (rc > 0) {
                if (f->schema)
                    bfail(b, f->off, AK_E_NOTFOUND, "table `%s.%s` not found", f->schema, f->name);
                else
                    bfail(b, f->off, AK_E_NOTFOUND, "table `%s` not found", f->name);
                return NULL;
            }
            char disp[256];
            snprintf(disp, sizeof disp, "%s%s%s", f->schema ? f->schema : "", f->schema ? "." : "", f->name);
            p = scan_plan(b, &t, disp, f->off);
        }
        if (!qual)
            qual = f->name;
        break;
    }
    }
    if (!p)
        return NULL;
    if (f->ncol_aliases) {
        if (f->ncol_aliases > p->ncols) {
            bfail(b, f->off, AK_E_BIND, "%d column aliases given for a table with %d columns", f->ncol_aliases, p->ncols);
            return NULL;
        }
        /* renaming changes names only: copy the name array so CTE plans are untouched */
        char **nn = ak_arena_alloc(b->a, sizeof *nn * (size_t)p->ncols);
        if (!nn) {
            nomem(b);
            return NULL;
        }
        memcpy(nn, p->names, sizeof *nn * (size_t)p->ncols);
        for (int i = 0; i < f->ncol_aliases; i++)
            nn[i] = (char *)f->col_aliases[i];
        p->names = nn;
    }
    *scope = scope_from_plan(b, p, qual);
    if (scope->n < 0) {
        nomem(b);
        return NULL;
    }
    if (p->kind == P_SCAN) {
        ak_sql_scan_info_t *si = &b->st->scans[p->scan];
        if (f->kind == FROM_TEMPLATE) {
            ak_sql_name_kind_t kind;
            char *nm;
            if (parse_template(b, f, &kind, &nm))
                return NULL;
            si->kind = kind;
            si->name = nm;
        } else {
            si->schema = f->schema;
            si->name = f->name;
        }
        for (int i = 0; i < scope->n; i++)
            scope->cols[i].used = (bool *)&si->used[i];
    }
    return p;
}

/* ---- SELECT -------------------------------------------------------------- */

typedef struct item {
    const ak_ast_t *ast;  /* NULL for star-expanded columns */
    int star_col;         /* index into the FROM scope for star items */
    const char *name;
    ak_expr_t *expr;
} item_t;

static void pushdown(binder_t *b, ak_plan_t *scan, ak_expr_t *pred)
{
    if (pred->kind == EX_AND) {
        pushdown(b, scan, pred->args[0]);
        pushdown(b, scan, pred->args[1]);
        return;
    }
    if (pred->kind != EX_CMP)
        return;
    ak_expr_t *l = pred->args[0], *r = pred->args[1];
    int op = pred->op;
    if (l->kind == EX_CONST && r->kind == EX_COL) {
        ak_expr_t *t = l;
        l = r;
        r = t;
        static const int flip[] = {AK_CMP_EQ, AK_CMP_NE, AK_CMP_GT, AK_CMP_GE, AK_CMP_LT, AK_CMP_LE};
        op = flip[op];
    }
    if (l->kind != EX_COL || r->kind != EX_CONST || r->val.type == AK_NULL || op == AK_CMP_NE)
        return;
    ak_val_t v = r->val;
    ak_type_t ct = scan->types[l->col];
    if (v.type != ct) {
        /* only exact representations are pushed (the scan compares natively) */
        if (!(ct == AK_TIMESTAMP && v.type == AK_DATE) && !(ct == AK_DOUBLE && v.type == AK_INT))
            return;
        if (ct == AK_TIMESTAMP)
            v = ak_v_ts(v.i * AK_US_PER_DAY);
        else
            v = ak_v_double((double)v.i);
    }
    ak_sql_pred_t *np = ak_arena_alloc(b->a, sizeof *np * (size_t)(scan->npreds + 1));
    if (!np)
        return;
    if (scan->npreds)
        memcpy(np, scan->preds, sizeof *np * (size_t)scan->npreds);
    np[scan->npreds] = (ak_sql_pred_t){l->col, (ak_cmp_op_t)op, v};
    scan->preds = np;
    scan->npreds++;
}

static ak_plan_t *bind_select(binder_t *b, const ak_select_ast_t *sel, const ak_order_ast_t *order, int norder)
{
    scope_t s = {0};
    ak_plan_t *p;
    if (sel->from) {
        p = bind_from(b, sel->from, &s);
    } else {
        p = plan_new(b, P_ONE_ROW, 0);
        if (!p)
            nomem(b);
    }
    if (!p)
        return NULL;
    if (sel->where) {
        ectx_t c = {.scope = &s, .clause = "WHERE", .sel = sel};
        ak_expr_t *w = bind_expr(b, &c, sel->where);
        if (!w || require_bool(b, &w, sel->where->off, "WHERE"))
            return NULL;
        if (p->kind == P_SCAN && p->table.scan)
            pushdown(b, p, w);
        ak_plan_t *fp = plan_new(b, P_FILTER, p->ncols);
        if (!fp) {
            nomem(b);
            return NULL;
        }
        copy_cols(fp, 0, p);
        fp->child = p;
        fp->pred = w;
        p = fp;
    }
    /* expand the select list */
    int cap = sel->nitems + s.n + 4, nitems = 0;
    item_t *items = ak_arena_zalloc(b->a, sizeof *items * (size_t)cap);
    if (!items) {
        nomem(b);
        return NULL;
    }
    for (int i = 0; i < sel->nitems; i++) {
        const ak_select_item_t *it = &sel->items[i];
        if (!it->star) {
            if (nitems == cap)
                return NULL;
            items[nitems].ast = it->expr;
            items[nitems].name = it->alias ? it->alias
                               : it->expr->kind == AST_COL ? it->expr->name
                               : span_text(b, it->expr->off, it->expr->end);
            nitems++;
            continue;
        }
        int added = 0;
        bool qual_seen = false;
        for (int k = 0; k < s.n; k++) {
            const scol_t *sc = &s.cols[k];
            if (it->star_qual) {
                if (!sc->qual || strcasecmp(sc->qual, it->star_qual) != 0)
                    continue;
                qual_seen = true;
            } else if (sc->hidden) {
                continue;
            }
            bool excluded = false;
            for (int x = 0; x < it->nexclude; x++)
                if (strcasecmp(it->exclude[x], sc->name) == 0)
                    excluded = true;
            if (excluded)
                continue;
            if (nitems == cap) {
                item_t *ni = ak_arena_zalloc(b->a, sizeof *ni * (size_t)cap * 2);
                if (!ni) {
                    nomem(b);
                    return NULL;
                }
                memcpy(ni, items, sizeof *ni * (size_t)nitems);
                items = ni;
                cap *= 2;
            }
            items[nitems].ast = NULL;
            items[nitems].star_col = k;
            items[nitems].name = sc->name;
            if (sc->used)
                *sc->used = true;
            nitems++;
            added++;
        }
        if (it->star_qual && !qual_seen) {
            bfail(b, it->off, AK_E_BIND, "no table or alias `%s` in this query's FROM clause", it->star_qual);
            return NULL;
        }
        if (!added && !sel->from) {
            bfail(b, it->off, AK_E_BIND, "SELECT * needs a FROM clause");
            return NULL;
        }
    }
    /* aggregated? */
    bool aggregated = sel->has_group || ast_has_agg(sel->having);
    for (int i = 0; i < nitems && !aggregated; i++)
        aggregated = ast_has_agg(items[i].ast);
    for (int i = 0; i < norder && !aggregated; i++)
        aggregated = ast_has_agg(order[i].expr);
    aggregated = aggregated || ast_has_agg(sel->qualify);

    ectx_t c = {.scope = &s, .allow_agg = aggregated, .allow_win = true, .clause = "SELECT", .sel = sel};
    /* bind select items raw */
    for (int i = 0; i < nitems; i++) {
        if (items[i].ast) {
            if (!(items[i].expr = bind_expr(b, &c, items[i].ast)))
                return NULL;
        } else {
            const scol_t *sc = &s.cols[items[i].star_col];
            if (!(items[i].expr = col_ref(b, sc->idx, sc->type)))
                return NULL;
        }
    }
    /* ORDER BY: output alias / ordinal / expression */
    int *ord_item = ak_arena_alloc(b->a, sizeof *ord_item * (size_t)(norder ? norder : 1));
    ak_expr_t **ord_expr = ak_arena_zalloc(b->a, sizeof *ord_expr * (size_t)(norder ? norder : 1));
    if (!ord_item || !ord_expr) {
        nomem(b);
        return NULL;
    }
    for (int i = 0; i < norder; i++) {
        const ak_ast_t *ox = order[i].expr;
        ord_item[i] = -1;
        if (ox->kind == AST_LIT && ox->lit.type == AK_INT) {
            if (ox->lit.i < 1 || ox->lit.i > nitems) {
                bfail(b, ox->off, AK_E_BIND, "ORDER BY position %lld is not in the select list (1..%d)",
                      (long long)ox->lit.i, nitems);
                return NULL;
            }
            ord_item[i] = (int)ox->lit.i - 1;
            continue;
        }
        if (ox->kind == AST_COL && !ox->qual) {
            for (int k = 0; k < nitems; k++)
                if (strcasecmp(items[k].name, ox->name) == 0) {
                    ord_item[i] = k;
                    break;
                }
            if (ord_item[i] >= 0)
                continue;
        }
        c.clause = "ORDER BY";
        if (!(ord_expr[i] = bind_expr(b, &c, ox)))
            return NULL;
    }
    /* GROUP BY */
    ak_expr_t *having = NULL, *qualify = NULL;
    if (aggregated) {
        int ng = sel->group_all ? nitems : sel->ngroup;
        ak_expr_t **groups = ak_arena_alloc(b->a, sizeof *groups * (size_t)(ng ? ng : 1));
        char **gnames = ak_arena_alloc(b->a, sizeof *gnames * (size_t)(ng ? ng : 1));
        if (!groups || !gnames) {
            nomem(b);
            return NULL;
        }
        ectx_t gc = {.scope = &s, .clause = "GROUP BY", .sel = sel};
        int n = 0;
        if (sel->group_all) {
            for (int i = 0; i < nitems; i++) {
                if (items[i].ast && ast_has_agg(items[i].ast))
                    continue;
                if (items[i].ast) {
                    if (!(groups[n] = bind_expr(b, &gc, items[i].ast)))
                        return NULL;
                } else {
                    groups[n] = items[i].expr;
                }
                gnames[n++] = (char *)items[i].name;
            }
        } else {
            for (int i = 0; i < sel->ngroup; i++) {
                const ak_ast_t *gx = sel->group[i];
                const ak_ast_t *use = gx;
                int star_item = -1;
                if (gx->kind == AST_LIT && gx->lit.type == AK_INT) {
                    if (gx->lit.i < 1 || gx->lit.i > nitems) {
                        bfail(b, gx->off, AK_E_BIND, "GROUP BY position %lld is not in the select list (1..%d)",
                              (long long)gx->lit.i, nitems);
                        return NULL;
                    }
                    use = items[gx->lit.i - 1].ast;
                    if (!use)
                        star_item = (int)gx->lit.i - 1;
                    if (use && ast_has_agg(use)) {
                        bfail(b, gx->off, AK_E_BIND, "GROUP BY position %lld refers to an aggregate", (long long)gx->lit.i);
                        return NULL;
                    }
                } else if (gx->kind == AST_COL && !gx->qual) {
                    /* an input column wins over an output alias of the same name */
                    bool is_col = false;
                    for (int k = 0; k < s.n; k++)
                        if (!s.cols[k].hidden && strcasecmp(s.cols[k].name, gx->name) == 0)
                            is_col = true;
                    if (!is_col)
                        for (int k = 0; k < nitems; k++)
                            if (strcasecmp(items[k].name, gx->name) == 0 && items[k].ast && !ast_has_agg(items[k].ast)) {
                                use = items[k].ast;
                                break;
                            }
                }
                if (star_item >= 0) {
                    groups[n] = items[star_item].expr;
                } else if (!(groups[n] = bind_expr(b, &gc, use))) {
                    return NULL;
                }
                gnames[n++] = gx->kind == AST_COL ? (char *)gx->name : span_text(b, gx->off, gx->end);
            }
        }
        ng = n;
        if (sel->having) {
            c.clause = "HAVING";
            bool saved = c.allow_win;
            c.allow_win = false;
            having = bind_expr(b, &c, sel->having);
            c.allow_win = saved;
            if (!having || require_bool(b, &having, sel->having->off, "HAVING"))
                return NULL;
        }
        if (sel->qualify) {
            c.clause = "QUALIFY";
            qualify = bind_expr(b, &c, sel->qualify);
            if (!qualify || require_bool(b, &qualify, sel->qualify->off, "QUALIFY"))
                return NULL;
        }
        rewrite_t rw = {b, groups, ng, &s, &c};
        for (int i = 0; i < nitems; i++)
            if (rewrite_agg(&rw, &items[i].expr))
                return NULL;
        for (int i = 0; i < norder; i++)
            if (ord_expr[i] && rewrite_agg(&rw, &ord_expr[i]))
                return NULL;
        if (having && rewrite_agg(&rw, &having))
            return NULL;
        if (qualify && rewrite_agg(&rw, &qualify))
            return NULL;
        ak_plan_t *ag = plan_new(b, P_AGG, ng + c.naggs);
        if (!ag) {
            nomem(b);
            return NULL;
        }
        ag->child = p;
        ag->ngroups = ng;
        ag->groups = groups;
        ag->naggs = c.naggs;
        ag->aggs = c.aggs;
        ag->scalar_agg = !sel->has_group;
        for (int i = 0; i < ng; i++) {
            ag->names[i] = gnames[i];
            ag->types[i] = groups[i]->type;
        }
        for (int i = 0; i < c.naggs; i++) {
            ag->names[ng + i] = (char *)(c.aggs[i].text ? c.aggs[i].text : ak_agg_name(c.aggs[i].fn));
            ag->types[ng + i] = c.aggs[i].type;
        }
        p = ag;
        if (having) {
            ak_plan_t *fp = plan_new(b, P_FILTER, p->ncols);
            if (!fp) {
                nomem(b);
                return NULL;
            }
            copy_cols(fp, 0, p);
            fp->child = p;
            fp->pred = having;
            p = fp;
        }
    } else {
        if (sel->having) {
            bfail(b, sel->having->off, AK_E_BIND, "HAVING needs GROUP BY or an aggregate");
            return NULL;
        }
        if (sel->qualify) {
            c.clause = "QUALIFY";
            qualify = bind_expr(b, &c, sel->qualify);
            if (!qualify || require_bool(b, &qualify, sel->qualify->off, "QUALIFY"))
                return NULL;
        }
    }
    /* windows */
    if (c.nwins) {
        int *win_col = ak_arena_alloc(b->a, sizeof *win_col * (size_t)c.nwins);
        if (!win_col) {
            nomem(b);
            return NULL;
        }
        p = plan_windows(b, &c, p, win_col);
        if (!p)
            return NULL;
        for (int i = 0; i < nitems; i++)
            replace_wins(&items[i].expr, win_col, b);
        for (int i = 0; i < norder; i++)
            if (ord_expr[i])
                replace_wins(&ord_expr[i], win_col, b);
        if (qualify)
            replace_wins(&qualify, win_col, b);
    }
    if (qualify) {
        if (!c.nwins) {
            bfail(b, sel->qualify->off, AK_E_BIND, "QUALIFY needs a window function");
            return NULL;
        }
        ak_plan_t *fp = plan_new(b, P_FILTER, p->ncols);
        if (!fp) {
            nomem(b);
            return NULL;
        }
        copy_cols(fp, 0, p);
        fp->child = p;
        fp->pred = qualify;
        p = fp;
    }
    /* hidden ORDER BY columns: reuse a select item when the expression is one */
    int nhidden = 0;
    for (int i = 0; i < norder; i++) {
        if (!ord_expr[i])
            continue;
        for (int k = 0; k < nitems; k++)
            if (ak_expr_equal(items[k].expr, ord_expr[i])) {
                ord_item[i] = k;
                break;
            }
        if (ord_item[i] < 0)
            ord_item[i] = nitems + nhidden++;
    }
    if (nhidden && sel->distinct) {
        bfail(b, sel->off, AK_E_BIND, "with SELECT DISTINCT, ORDER BY expressions must appear in the select list");
        return NULL;
    }
    ak_plan_t *pr = plan_new(b, P_PROJECT, nitems + nhidden);
    if (!pr || !(pr->exprs = ak_arena_alloc(b->a, sizeof *pr->exprs * (size_t)(nitems + nhidden + 1)))) {
        nomem(b);
        return NULL;
    }
    pr->child = p;
    for (int i = 0; i < nitems; i++) {
        pr->exprs[i] = items[i].expr;
        pr->names[i] = (char *)items[i].name;
        pr->types[i] = items[i].expr->type;
    }
    for (int i = 0; i < norder; i++)
        if (ord_expr[i] && ord_item[i] >= nitems) {
            pr->exprs[ord_item[i]] = ord_expr[i];
            pr->names[ord_item[i]] = "";
            pr->types[ord_item[i]] = ord_expr[i]->type;
        }
    p = pr;
    if (sel->distinct) {
        ak_plan_t *d = plan_new(b, P_DISTINCT, p->ncols);
        if (!d) {
            nomem(b);
            return NULL;
        }
        copy_cols(d, 0, p);
        d->child = p;
        p = d;
    }
    if (norder) {
        ak_plan_t *so = plan_new(b, P_SORT, p->ncols);
        if (!so || !(so->keys = ak_arena_alloc(b->a, sizeof *so->keys * (size_t)norder))) {
            nomem(b);
            return NULL;
        }
        copy_cols(so, 0, p);
        so->child = p;
        so->nkeys_sort = norder;
        for (int i = 0; i < norder; i++) {
            so->keys[i].expr = col_ref(b, ord_item[i], p->types[ord_item[i]]);
            if (!so->keys[i].expr) {
                nomem(b);
                return NULL;
            }
            so->keys[i].desc = order[i].desc;
            so->keys[i].nulls_first = order[i].nulls_first == 1;
        }
        p = so;
        if (nhidden) {
            ak_plan_t *t = plan_new(b, P_TRIM, nitems);
            if (!t) {
                nomem(b);
                return NULL;
            }
            for (int i = 0; i < nitems; i++) {
                t->names[i] = p->names[i];
                t->types[i] = p->types[i];
            }
            t->child = p;
            p = t;
        }
    }
    return p;
}

/* ---- queries -------------------------------------------------------------- */

static ak_plan_t *bind_body(binder_t *b, const ak_body_ast_t *body, const ak_order_ast_t *order, int norder)
{
    if (body->op == SETOP_NONE) {
        if (body->nested) {
            ak_plan_t *p = bind_query(b, body->nested);
            if (p && norder) {
                bfail(b, order[0].expr->off, AK_E_INTERNAL, "ORDER BY on a parenthesised query is handled above");
                return NULL;
            }
            return p;
        }
        return bind_select(b, body->select, order, norder);
    }
    ak_plan_t *l = bind_body(b, body->left, NULL, 0);
    if (!l)
        return NULL;
    ak_plan_t *r = bind_body(b, body->right, NULL, 0);
    if (!r)
        return NULL;
    if (l->ncols != r->ncols) {
        bfail(b, 0, AK_E_BIND, "each side of %s must have the same number of columns (%d and %d)",
              body->op == SETOP_UNION ? "UNION" : body->op == SETOP_EXCEPT ? "EXCEPT" : "INTERSECT", l->ncols, r->ncols);
        return NULL;
    }
    ak_plan_t *sp = plan_new(b, P_SETOP, l->ncols);
    if (!sp) {
        nomem(b);
        return NULL;
    }
    copy_cols(sp, 0, l);
    /* unify column types with casting projections where they differ */
    bool need[2] = {false, false};
    for (int i = 0; i < l->ncols; i++) {
        ak_type_t t = ak__common_type(l->types[i], r->types[i]);
        if (t == AK_TYPE__COUNT) {
            bfail(b, 0, AK_E_TYPE, "column %d of the set operation has types %s and %s", i + 1,
                  ak_type_name(l->types[i]), ak_type_name(r->types[i]));
            return NULL;
        }
        sp->types[i] = t;
        need[0] |= l->types[i] != t;
        need[1] |= r->types[i] != t;
    }
    ak_plan_t *sides[2] = {l, r};
    for (int k = 0; k < 2; k++) {
        if (!need[k])
            continue;
        ak_plan_t *in = sides[k];
        ak_plan_t *pr = plan_new(b, P_PROJECT, in->ncols);
        if (!pr || !(pr->exprs = ak_arena_alloc(b->a, sizeof *pr->exprs * (size_t)in->ncols))) {
            nomem(b);
            return NULL;
        }
        pr->child = in;
        for (int i = 0; i < in->ncols; i++) {
            ak_expr_t *cref = col_ref(b, i, in->types[i]);
            if (!cref || coerce_to(b, &cref, sp->types[i], 0))
                return NULL;
            pr->exprs[i] = cref;
            pr->names[i] = in->names[i];
            pr->types[i] = sp->types[i];
        }
        sides[k] = pr;
    }
    sp->child = sides[0];
    sp->right = sides[1];
    sp->setop = body->op;
    sp->all = body->all;
    return sp;
}

static int const_int(binder_t *b, const ak_ast_t *x, const char *what, int64_t *out)
{
    scope_t empty = {0};
    ectx_t c = {.scope = &empty, .clause = what};
    ak_expr_t *e = bind_expr(b, &c, x);
    if (!e)
        return -1;
    if (e->kind != EX_CONST || e->type != AK_INT || e->val.i < 0)
        return bfail(b, x->off, AK_E_BIND, "%s must be a non-negative integer constant", what);
    *out = e->val.i;
    return 0;
}

static ak_plan_t *bind_query(binder_t *b, const ak_query_ast_t *q)
{
    int saved_ctes = b->nctes;
    for (int i = 0; i < q->nctes; i++) {
        const ak_cte_ast_t *cte = &q->ctes[i];
        ak_plan_t *cp = bind_query(b, cte->query);
        if (!cp)
            return NULL;
        if (cte->ncol_aliases) {
            if (cte->ncol_aliases > cp->ncols) {
                bfail(b, cte->off, AK_E_BIND, "WITH %s names %d columns but its query returns %d", cte->name,
                      cte->ncol_aliases, cp->ncols);
                return NULL;
            }
            for (int k = 0; k < cte->ncol_aliases; k++)
                cp->names[k] = (char *)cte->col_aliases[k];
        }
        ak_sql_stmt_t *st = b->st;
        if (st->nctes == st->cap_ctes) {
            int nc = st->cap_ctes ? st->cap_ctes * 2 : 8;
            ak_sql_cte_slot_t *ns = ak_arena_zalloc(b->a, sizeof *ns * (size_t)nc);
            if (!ns) {
                nomem(b);
                return NULL;
            }
            if (st->nctes)
                memcpy(ns, st->ctes, sizeof *ns * (size_t)st->nctes);
            st->ctes = ns;
            st->cap_ctes = nc;
        }
        st->ctes[st->nctes] = (ak_sql_cte_slot_t){cte->name, cp, NULL};
        if (b->nctes == b->cap_ctes) {
            int nc = b->cap_ctes ? b->cap_ctes * 2 : 8;
            void *nv = ak_arena_alloc(b->a, sizeof *b->ctes * (size_t)nc);
            if (!nv) {
                nomem(b);
                return NULL;
            }
            if (b->nctes)
                memcpy(nv, b->ctes, sizeof *b->ctes * (size_t)b->nctes);
            b->ctes = nv;
            b->cap_ctes = nc;
        }
        b->ctes[b->nctes].name = cte->name;
        b->ctes[b->nctes].slot = st->nctes++;
        b->nctes++;
    }
    bool simple = q->body->op == SETOP_NONE && !q->body->nested;
    ak_plan_t *p = bind_body(b, q->body, simple ? q->order : NULL, simple ? q->norder : 0);
    if (!p)
        return NULL;
    if (!simple && q->norder) {
        /* ORDER BY over a set operation: output columns only */
        ak_plan_t *so = plan_new(b, P_SORT, p->ncols);
        if (!so || !(so->keys = ak_arena_alloc(b->a, sizeof *so->keys * (size_t)q->norder))) {
            nomem(b);
            return NULL;
        }
        copy_cols(so, 0, p);
        so->child = p;
        so->nkeys_sort = q->norder;
        for (int i = 0; i < q->norder; i++) {
            const ak_ast_t *ox = q->order[i].expr;
            int col = -1;
            if (ox->kind == AST_LIT && ox->lit.type == AK_INT && ox->lit.i >= 1 && ox->lit.i <= p->ncols)
                col = (int)ox->lit.i - 1;
            else if (ox->kind == AST_COL && !ox->qual)
                for (int k = 0; k < p->ncols && col < 0; k++)
                    if (strcasecmp(p->names[k], ox->name) == 0)
                        col = k;
            if (col < 0) {
                bfail(b, ox->off, AK_E_BIND, "ORDER BY on a set operation must name a result column or position");
                return NULL;
            }
            so->keys[i].expr = col_ref(b, col, p->types[col]);
            if (!so->keys[i].expr) {
                nomem(b);
                return NULL;
            }
            so->keys[i].desc = q->order[i].desc;
            so->keys[i].nulls_first = q->order[i].nulls_first == 1;
        }
        p = so;
    }
    if (q->limit || q->offset) {
        ak_plan_t *lp = plan_new(b, P_LIMIT, p->ncols);
        if (!lp) {
            nomem(b);
            return NULL;
        }
        copy_cols(lp, 0, p);
        lp->child = p;
        lp->limit = -1;
        if (q->limit && const_int(b, q->limit, "LIMIT", &lp->limit))
            return NULL;
        if (q->offset && const_int(b, q->offset, "OFFSET", &lp->offset))
            return NULL;
        p = lp;
    }
    b->nctes = saved_ctes;
    return p;
}

int ak_sql_bind(ak_sql_stmt_t *st, size_t *err_off, ak_err_t *err)
{
    binder_t b = {.st = st, .a = &st->arena, .err = err};
    ak_err_clear(err);
    st->root = bind_query(&b, st->ast);
    if (!st->root) {
        if (err->code == AK_E_OK)
            ak_err_nomem(err);
        *err_off = b.err_off;
        return -1;
    }
    return 0;
}
