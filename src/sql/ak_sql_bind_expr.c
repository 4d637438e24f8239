/* ak_sql_bind_expr.c - binding expressions: names to columns, types and
 * implicit casts (a TEXT literal next to a timestamp becomes a timestamp),
 * function and operator typing, aggregate and window calls (collected in the
 * SELECT's context for the planner), and subqueries. */
#include "ak_sql_bind_int.h"

#include "ak_alloc.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
        return ak__b_fail(b, x->off, AK_E_BIND, "column reference `%s` is ambiguous; qualify it with a table alias", x->name);
    /* not found: correlated? */
    for (int k = b->nouter - 1; k >= 0; k--) {
        for (int i = 0; i < b->outer[k]->n; i++)
            if (strcasecmp(b->outer[k]->cols[i].name, x->name) == 0 &&
                (!x->qual || (b->outer[k]->cols[i].qual && strcasecmp(b->outer[k]->cols[i].qual, x->qual) == 0)))
                return ak__b_fail(b, x->off, AK_E_UNSUPPORTED,
                             "column `%s` refers to an outer query; correlated subqueries are not supported (rewrite as a JOIN)",
                             x->name);
    }
    if (x->qual && !qual_seen)
        return ak__b_fail(b, x->off, AK_E_BIND, "no table or alias `%s` in this query's FROM clause", x->qual);
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
        return ak__b_fail(b, x->off, AK_E_BIND, "column `%s%s%s` not found; did you mean `%s`?", x->qual ? x->qual : "",
                     x->qual ? "." : "", x->name, best);
    return ak__b_fail(b, x->off, AK_E_BIND, "column `%s%s%s` not found", x->qual ? x->qual : "", x->qual ? "." : "", x->name);
}

/* ---- coercion ------------------------------------------------------------ */

static int fold_cast_const(binder_t *b, ak_expr_t *x, ak_type_t to, size_t off)
{
    ak_val_t v;
    ak_err_t e2;
    ak_err_clear(&e2);
    if (ak_cast_value(&x->val, to, b->a, &v, &e2))
        return ak__b_fail(b, off, AK_E_TYPE, "%s", e2.msg);
    x->val = v;
    x->type = to;
    return 0;
}

/* Makes l and r comparable (for =, <, IN, BETWEEN, CASE operand). */
int ak__b_coerce_pair(binder_t *b, ak_expr_t **l, ak_expr_t **r, size_t off, const char *what)
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
        return *t ? 0 : ak__b_nomem(b);
    }
    return ak__b_fail(b, off, AK_E_TYPE, "cannot %s %s and %s; cast one side (e.g. x::%s)", what, ak_type_name(tl),
                 ak_type_name(tr), ak_type_name(tl));
}

int ak__b_coerce_to(binder_t *b, ak_expr_t **x, ak_type_t to, size_t off)
{
    if ((*x)->type == to)
        return 0;
    if ((*x)->type == AK_NULL) {
        (*x)->type = to;
        return 0;
    }
    if (!ak_cast_allowed((*x)->type, to))
        return ak__b_fail(b, off, AK_E_TYPE, "cannot convert %s to %s", ak_type_name((*x)->type), ak_type_name(to));
    if ((*x)->kind == EX_CONST)
        return fold_cast_const(b, *x, to, off);
    *x = ak_expr_cast(b->a, *x, to);
    return *x ? 0 : ak__b_nomem(b);
}

int ak__b_require_bool(binder_t *b, ak_expr_t **x, size_t off, const char *where)
{
    if ((*x)->type == AK_BOOL || (*x)->type == AK_NULL) {
        (*x)->type = AK_BOOL;
        return 0;
    }
    return ak__b_fail(b, off, AK_E_TYPE, "%s must be a boolean condition, got %s", where, ak_type_name((*x)->type));
}

/* ---- expressions --------------------------------------------------------- */

static ak_expr_t **bind_args(binder_t *b, ectx_t *c, ak_ast_t **args, int n)
{
    ak_expr_t **v = ak_arena_alloc(b->a, sizeof *v * (size_t)(n ? n : 1));
    if (!v) {
        ak__b_nomem(b);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (!(v[i] = ak__b_bind_expr(b, c, args[i])))
            return NULL;
    return v;
}

static ak_expr_t *mk(binder_t *b, ak_expr_kind_t k, ak_type_t t, const ak_ast_t *x)
{
    ak_expr_t *e = ak_expr_new(b->a, k, t);
    if (!e) {
        ak__b_nomem(b);
        return NULL;
    }
    e->off = x->off;
    e->end = x->end;
    return e;
}

static ak_expr_t *bind_subquery(binder_t *b, ectx_t *c, const ak_ast_t *x, ak_expr_kind_t k)
{
    if (b->nouter >= 15) {
        ak__b_fail(b, x->off, AK_E_UNSUPPORTED, "subqueries nested too deeply");
        return NULL;
    }
    b->outer[b->nouter++] = c->scope;
    ak_plan_t *p = ak__b_bind_query(b, x->subq);
    b->nouter--;
    if (!p)
        return NULL;
    if (k != EX_EXISTS && p->ncols != 1) {
        ak__b_fail(b, x->off, AK_E_BIND, "subquery must return exactly one column, it returns %d", p->ncols);
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
            ak__b_nomem(b);
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
            ak__b_nomem(b);
            return NULL;
        }
        e->nargs = 1;
        if (!(e->args[0] = ak__b_bind_expr(b, c, x->args[0])))
            return NULL;
        ak_type_t tl = e->args[0]->type, tr = p->types[0];
        if (!(tl == tr || tl == AK_NULL || tr == AK_NULL || (ak_type_is_numeric(tl) && ak_type_is_numeric(tr)) ||
              (ak_type_is_temporal(tl) && ak_type_is_temporal(tr)))) {
            if (tl == AK_TEXT && e->args[0]->kind == EX_CONST) {
                if (fold_cast_const(b, e->args[0], tr, x->off))
                    return NULL;
            } else {
                ak__b_fail(b, x->off, AK_E_TYPE, "cannot compare %s with a subquery of %s", ak_type_name(tl),
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
    ak_expr_t *e = ak__b_bind_expr(b, &k, x);
    if (!e)
        return -1;
    if (e->kind != EX_CONST || e->val.type == AK_NULL)
        return ak__b_fail(b, x->off, AK_E_UNSUPPORTED, "window frame offsets must be constants");
    if ((e->val.type == AK_INT && e->val.i < 0) || (e->val.type == AK_DOUBLE && e->val.d < 0))
        return ak__b_fail(b, x->off, AK_E_BIND, "window frame offsets must not be negative");
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
        ak__b_fail(b, x->off, AK_E_BIND, "window functions are not allowed in %s", c->clause);
        return NULL;
    }
    const ak_window_ast_t *w = x->over, *base = NULL;
    if (x->over_name) {
        w = find_named_window(c->sel, x->over_name);
        if (!w) {
            ak__b_fail(b, x->off, AK_E_BIND, "window `%s` is not defined in a WINDOW clause", x->over_name);
            return NULL;
        }
    }
    if (w->base) {
        base = find_named_window(c->sel, w->base);
        if (!base) {
            ak__b_fail(b, w->off, AK_E_BIND, "window `%s` is not defined in a WINDOW clause", w->base);
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
        ak__b_fail(b, x->off, AK_E_BIND, "%s() is not a window or aggregate function", x->name);
        return NULL;
    }
    if (x->star && !(wc.fn == WIN_AGG && wc.agg.fn == AGG_COUNT_STAR)) {
        ak__b_fail(b, x->off, AK_E_BIND, "%s(*) is not valid", x->name);
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
        if (!(wc.agg.filter = ak__b_bind_expr(b, c, x->filter)) || ak__b_require_bool(b, &wc.agg.filter, x->filter->off, "FILTER")) {
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
        if (!(spec.ord[i].expr = ak__b_bind_expr(b, c, ow->order[i].expr))) {
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
            ak__b_fail(b, fw->off, AK_E_BIND, "invalid window frame bounds");
            return NULL;
        }
        if (fw->unit == FRAME_RANGE && (wc.frame.start_off || wc.frame.end_off) && spec.nord != 1) {
            ak__b_fail(b, fw->off, AK_E_BIND, "RANGE with an offset needs exactly one ORDER BY expression");
            return NULL;
        }
        if (fw->unit == FRAME_GROUPS) {
            ak__b_fail(b, fw->off, AK_E_UNSUPPORTED, "GROUPS frames are not supported; use ROWS or RANGE");
            return NULL;
        }
    }
    wc.ignore_nulls = x->ignore_nulls;
    wc.agg.text = ak__b_span_text(b, x->off, x->end);
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
            ak__b_fail(b, x->off, AK_E_BIND, "%s() takes no arguments", x->name);
            return NULL;
        }
        wc.agg.type = (wc.fn == WIN_PERCENT_RANK || wc.fn == WIN_CUME_DIST) ? AK_DOUBLE : AK_INT;
        break;
    case WIN_NTILE:
        if (na != 1 || wc.agg.args[0]->kind != EX_CONST || wc.agg.args[0]->type != AK_INT || wc.agg.args[0]->val.i <= 0) {
            ak__b_fail(b, x->off, AK_E_BIND, "ntile() takes one positive integer constant");
            return NULL;
        }
        wc.agg.type = AK_INT;
        break;
    case WIN_LAG:
    case WIN_LEAD:
        if (na < 1 || na > 3) {
            ak__b_fail(b, x->off, AK_E_BIND, "%s() takes 1 to 3 arguments", x->name);
            return NULL;
        }
        if (na >= 2 && (wc.agg.args[1]->kind != EX_CONST || wc.agg.args[1]->type != AK_INT)) {
            ak__b_fail(b, x->off, AK_E_UNSUPPORTED, "the offset of %s() must be an integer constant", x->name);
            return NULL;
        }
        wc.agg.type = wc.agg.args[0]->type;
        if (na == 3) {
            ak_type_t ct = ak__common_type(wc.agg.type, wc.agg.args[2]->type);
            if (ct == AK_TYPE__COUNT) {
                if (wc.agg.args[2]->type == AK_TEXT && wc.agg.args[2]->kind == EX_CONST)
                    ct = wc.agg.type;
                else {
                    ak__b_fail(b, x->off, AK_E_TYPE, "the default of %s() has type %s, expected %s", x->name,
                          ak_type_name(wc.agg.args[2]->type), ak_type_name(wc.agg.type));
                    return NULL;
                }
            }
            if (ak__b_coerce_to(b, &wc.agg.args[0], ct, x->off) || ak__b_coerce_to(b, &wc.agg.args[2], ct, x->off))
                return NULL;
            wc.agg.type = ct;
        }
        break;
    case WIN_FIRST_VALUE:
    case WIN_LAST_VALUE:
        if (na != 1) {
            ak__b_fail(b, x->off, AK_E_BIND, "%s() takes one argument", x->name);
            return NULL;
        }
        wc.agg.type = wc.agg.args[0]->type;
        break;
    case WIN_NTH_VALUE:
        if (na != 2 || wc.agg.args[1]->kind != EX_CONST || wc.agg.args[1]->type != AK_INT || wc.agg.args[1]->val.i <= 0) {
            ak__b_fail(b, x->off, AK_E_BIND, "nth_value() takes an expression and a positive integer constant");
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
            ak__b_nomem(b);
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
        ak__b_fail(b, x->off, AK_E_BIND, "aggregate functions are not allowed in %s", c->clause);
        return NULL;
    }
    ak_aggcall_t call;
    memset(&call, 0, sizeof call);
    call.fn = (fn == AGG_COUNT && x->star) ? AGG_COUNT_STAR : fn;
    if (x->star && fn != AGG_COUNT) {
        ak__b_fail(b, x->off, AK_E_BIND, "%s(*) is not valid; only COUNT(*) is", x->name);
        return NULL;
    }
    call.distinct = x->distinct;
    call.text = ak__b_span_text(b, x->off, x->end);
    ectx_t inner = *c;
    inner.allow_agg = false;
    inner.allow_win = false;
    inner.clause = "the arguments of an aggregate function";
    call.nargs = x->nargs;
    call.args = bind_args(b, &inner, x->args, x->nargs);
    if (!call.args)
        return NULL;
    if (x->filter) {
        call.filter = ak__b_bind_expr(b, &inner, x->filter);
        if (!call.filter || ak__b_require_bool(b, &call.filter, x->filter->off, "FILTER"))
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
                ak__b_nomem(b);
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
        ak__b_fail(b, x->off, AK_E_BIND, "%s() needs an OVER (...) clause", x->name);
        return NULL;
    }
    if (x->filter || x->distinct || x->star) {
        ak__b_fail(b, x->off, AK_E_BIND, "%s() is not an aggregate function", x->name);
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
            ak__b_fail(b, x->off, AK_E_BIND, "unknown function %s(); did you mean %s()?", x->name, best);
        else
            ak__b_fail(b, x->off, AK_E_BIND, "unknown function %s()", x->name);
        return NULL;
    }
    if (x->nargs < fn->min_args || (fn->max_args >= 0 && x->nargs > fn->max_args) || x->nargs > 64) {
        if (fn->min_args == fn->max_args)
            ak__b_fail(b, x->off, AK_E_BIND, "%s() takes %d argument%s, got %d", fn->name, fn->min_args,
                  fn->min_args == 1 ? "" : "s", x->nargs);
        else
            ak__b_fail(b, x->off, AK_E_BIND, "%s() takes %d to %d arguments, got %d", fn->name, fn->min_args,
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

ak_expr_t *ak__b_bind_expr(binder_t *b, ectx_t *c, const ak_ast_t *x)
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
        ak__b_fail(b, x->off, AK_E_BIND, "`*` is not allowed here");
        return NULL;
    case AST_NEG:
        if (!(l = ak__b_bind_expr(b, c, x->args[0])))
            return NULL;
        if (!ak_type_is_numeric(l->type) && l->type != AK_INTERVAL && l->type != AK_NULL) {
            ak__b_fail(b, x->off, AK_E_TYPE, "cannot negate %s", ak_type_name(l->type));
            return NULL;
        }
        if (!(e = mk(b, EX_NEG, l->type, x)) || !(e->args = ak_arena_alloc(b->a, sizeof *e->args)))
            return NULL;
        e->args[0] = l;
        e->nargs = 1;
        return e;
    case AST_NOT:
        if (!(l = ak__b_bind_expr(b, c, x->args[0])) || ak__b_require_bool(b, &l, x->off, "the operand of NOT"))
            return NULL;
        if (!(e = mk(b, EX_NOT, AK_BOOL, x)) || !(e->args = ak_arena_alloc(b->a, sizeof *e->args)))
            return NULL;
        e->args[0] = l;
        e->nargs = 1;
        return e;
    case AST_AND:
    case AST_OR:
        if (!(l = ak__b_bind_expr(b, c, x->args[0])) || !(r = ak__b_bind_expr(b, c, x->args[1])) ||
            ak__b_require_bool(b, &l, x->args[0]->off, x->kind == AST_AND ? "an operand of AND" : "an operand of OR") ||
            ak__b_require_bool(b, &r, x->args[1]->off, x->kind == AST_AND ? "an operand of AND" : "an operand of OR"))
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
        if (!(l = ak__b_bind_expr(b, c, x->args[0])) || !(r = ak__b_bind_expr(b, c, x->args[1])) ||
            ak__b_coerce_pair(b, &l, &r, x->off, "compare"))
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
        if (!(l = ak__b_bind_expr(b, c, x->args[0])) || !(r = ak__b_bind_expr(b, c, x->args[1])))
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
            if (ak__b_coerce_to(b, &r, AK_TIMESTAMP, x->off))
                return NULL;
            t = AK_INTERVAL;
        } else if (tl == AK_DATE && tr == AK_TIMESTAMP && op == '-') {
            if (ak__b_coerce_to(b, &l, AK_TIMESTAMP, x->off))
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
            ak__b_fail(b, x->off, AK_E_TYPE, "no operator %s for %s and %s", ops, ak_type_name(tl), ak_type_name(tr));
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
        if (!(l = ak__b_bind_expr(b, c, x->args[0])) || !(r = ak__b_bind_expr(b, c, x->args[1])) ||
            ak__b_coerce_to(b, &l, AK_TEXT, x->off) || ak__b_coerce_to(b, &r, AK_TEXT, x->off))
            return NULL;
        if (!(e = mk(b, EX_CONCAT, AK_TEXT, x)) || !(e->args = ak_arena_alloc(b->a, sizeof *e->args * 2)))
            return NULL;
        e->args[0] = l;
        e->args[1] = r;
        e->nargs = 2;
        return e;
    case AST_ISNULL:
        if (!(l = ak__b_bind_expr(b, c, x->args[0])))
            return NULL;
        if (!(e = mk(b, EX_ISNULL, AK_BOOL, x)) || !(e->args = ak_arena_alloc(b->a, sizeof *e->args)))
            return NULL;
        e->negated = x->negated;
        e->args[0] = l;
        e->nargs = 1;
        return e;
    case AST_BETWEEN: {
        ak_expr_t *v = ak__b_bind_expr(b, c, x->args[0]), *lo = v ? ak__b_bind_expr(b, c, x->args[1]) : NULL,
                  *hi = lo ? ak__b_bind_expr(b, c, x->args[2]) : NULL;
        if (!hi)
            return NULL;
        ak_expr_t *v2 = v;
        if (ak__b_coerce_pair(b, &v, &lo, x->off, "compare") || ak__b_coerce_pair(b, &v2, &hi, x->off, "compare"))
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
            if (ak__b_coerce_pair(b, &v, &args[i], x->args[i]->off, "compare"))
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
        if (!(l = ak__b_bind_expr(b, c, x->args[0])) || !(r = ak__b_bind_expr(b, c, x->args[1])) ||
            ak__b_coerce_to(b, &l, AK_TEXT, x->off) || ak__b_coerce_to(b, &r, AK_TEXT, x->off))
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
        if (x->has_operand && !(operand = ak__b_bind_expr(b, c, x->args[0])))
            return NULL;
        ak_type_t t = AK_NULL;
        for (int i = 0; i < pairs; i++) {
            const ak_ast_t *wa = x->args[start + 2 * i], *ta = x->args[start + 2 * i + 1];
            ak_expr_t *w = ak__b_bind_expr(b, c, wa);
            if (!w)
                return NULL;
            if (operand) {
                ak_expr_t *o = operand, *eq = mk(b, EX_CMP, AK_BOOL, wa);
                if (!eq || ak__b_coerce_pair(b, &o, &w, wa->off, "compare") || !(eq->args = ak_arena_alloc(b->a, sizeof(void *) * 2)))
                    return NULL;
                eq->op = AK_CMP_EQ;
                eq->args[0] = o;
                eq->args[1] = w;
                eq->nargs = 2;
                w = eq;
            } else if (ak__b_require_bool(b, &w, wa->off, "a WHEN condition")) {
                return NULL;
            }
            e->args[2 * i] = w;
            if (!(e->args[2 * i + 1] = ak__b_bind_expr(b, c, ta)))
                return NULL;
        }
        if (x->has_else && !(e->args[n - 1] = ak__b_bind_expr(b, c, x->args[x->nargs - 1])))
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
                ak__b_fail(b, v->off, AK_E_TYPE, "CASE results have incompatible types %s and %s", ak_type_name(t),
                      ak_type_name(v->type));
                return NULL;
            }
            t = ct;
        }
        for (int i = 0; i < n; i++)
            if ((i >= pairs * 2 || i % 2) && ak__b_coerce_to(b, &e->args[i], t, e->args[i]->off))
                return NULL;
        e->type = t;
        return e;
    }
    case AST_CAST:
        if (!(l = ak__b_bind_expr(b, c, x->args[0])))
            return NULL;
        if (!ak_cast_allowed(l->type, x->cast_type)) {
            ak__b_fail(b, x->off, AK_E_TYPE, "cannot cast %s to %s", ak_type_name(l->type), ak_type_name(x->cast_type));
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
    ak__b_fail(b, x->off, AK_E_INTERNAL, "unhandled expression");
    return NULL;
}

