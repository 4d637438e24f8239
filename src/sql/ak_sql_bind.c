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
#include "ak_sql_bind_int.h"

#include "ak_alloc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int ak__b_fail(binder_t *b, size_t off, ak_code_t code, const char *fmt, ...)
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

int ak__b_nomem(binder_t *b) { return ak_err_nomem(b->err); }



char *ak__b_span_text(binder_t *b, size_t off, size_t end)
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
                return ak__b_nomem(rw->b);
            r->off = e->off;
            r->end = e->end;
            *pe = r;
            return 0;
        }
    switch (e->kind) {
    case EX_AGG: {
        ak_expr_t *r = col_ref(rw->b, rw->ngroups + e->ref, e->type);
        if (!r)
            return ak__b_nomem(rw->b);
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
        return ak__b_fail(rw->b, e->off, AK_E_BIND,
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
        ak__b_nomem(b);
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
            ak__b_nomem(b);
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
        ak__b_fail(b, off, AK_E_BIND, "table `%s` has no columns", display);
        return NULL;
    }
    ak_plan_t *p = plan_new(b, P_SCAN, t->ncols);
    if (!p) {
        ak__b_nomem(b);
        return NULL;
    }
    p->table = *t;
    p->table_name = ak_arena_strdup(b->a, display);
    ak_sql_stmt_t *st = b->st;
    if (st->nscans == st->cap_scans) {
        int nc = st->cap_scans ? st->cap_scans * 2 : 8;
        ak_sql_scan_info_t *nv = ak_arena_alloc(b->a, sizeof *nv * (size_t)nc);
        if (!nv) {
            ak__b_nomem(b);
            return NULL;
        }
        if (st->nscans)
            memcpy(nv, st->scans, sizeof *nv * (size_t)st->nscans);
        st->scans = nv;
        st->cap_scans = nc;
    }
    bool *used = ak_arena_zalloc(b->a, sizeof *used * (size_t)t->ncols);
    if (!used) {
        ak__b_nomem(b);
        return NULL;
    }
    st->scans[st->nscans++] = (ak_sql_scan_info_t){AK_SQL_TABLE, NULL, p->table_name, t->ncols, used};
    p->scan = st->nscans - 1;
    for (int i = 0; i < t->ncols; i++) {
        p->names[i] = ak_arena_strdup(b->a, t->names[i]);
        p->types[i] = t->types[i];
        if (!p->names[i]) {
            ak__b_nomem(b);
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
        return *name ? 0 : ak__b_nomem(b);
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
                return *name ? 0 : ak__b_nomem(b);
            }
        }
    }
    return ak__b_fail(b, f->off, AK_E_BIND, "unknown template {{ %.*s }}; expected {{ ref('input_name') }} or {{ this }}",
                 (int)n, s);
}

static int add_scope(binder_t *b, scope_t *dst, const scope_t *src, int offset)
{
    scol_t *nc = ak_arena_alloc(b->a, sizeof *nc * (size_t)(dst->n + src->n + 1));
    if (!nc)
        return ak__b_nomem(b);
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
                return ak__b_nomem(b);
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
    return j->residual ? 0 : ak__b_nomem(b);
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
        ak__b_nomem(b);
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
            ak__b_nomem(b);
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
            ak__b_fail(b, f->off, AK_E_BIND, "USING column `%s` must exist on both sides of the join", using_cols[u]);
            return NULL;
        }
        if (lc->used)
            *lc->used = true;
        if (rc->used)
            *rc->used = true;
        ak_expr_t *le = col_ref(b, lc->idx, lc->type), *re = col_ref(b, rc->idx + l->ncols, rc->type);
        ak_expr_t *eq = ak_expr_new(b->a, EX_CMP, AK_BOOL);
        if (!le || !re || !eq || !(eq->args = ak_arena_alloc(b->a, sizeof(void *) * 2))) {
            ak__b_nomem(b);
            return NULL;
        }
        if (ak__b_coerce_pair(b, &le, &re, f->off, "join on"))
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
        ak_expr_t *on = ak__b_bind_expr(b, &c, f->on);
        if (!on || ak__b_require_bool(b, &on, f->on->off, "a JOIN condition"))
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
        p = ak__b_bind_query(b, f->subq);
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
                ak__b_fail(b, f->off, AK_E_BIND, "{{ this }} can only be used in a quality check");
            else
                ak__b_fail(b, f->off, AK_E_BIND, "{{ ref('%s') }}: no input named `%s` is declared", name, name);
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
                ak__b_nomem(b);
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
                    ak__b_fail(b, f->off, AK_E_NOTFOUND, "table `%s.%s` not found", f->schema, f->name);
                else
                    ak__b_fail(b, f->off, AK_E_NOTFOUND, "table `%s` not found", f->name);
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
            ak__b_fail(b, f->off, AK_E_BIND, "%d column aliases given for a table with %d columns", f->ncol_aliases, p->ncols);
            return NULL;
        }
        /* renaming changes names only: copy the name array so CTE plans are untouched */
        char **nn = ak_arena_alloc(b->a, sizeof *nn * (size_t)p->ncols);
        if (!nn) {
            ak__b_nomem(b);
            return NULL;
        }
        memcpy(nn, p->names, sizeof *nn * (size_t)p->ncols);
        for (int i = 0; i < f->ncol_aliases; i++)
            nn[i] = (char *)f->col_aliases[i];
        p->names = nn;
    }
    *scope = scope_from_plan(b, p, qual);
    if (scope->n < 0) {
        ak__b_nomem(b);
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
            ak__b_nomem(b);
    }
    if (!p)
        return NULL;
    if (sel->where) {
        ectx_t c = {.scope = &s, .clause = "WHERE", .sel = sel};
        ak_expr_t *w = ak__b_bind_expr(b, &c, sel->where);
        if (!w || ak__b_require_bool(b, &w, sel->where->off, "WHERE"))
            return NULL;
        if (p->kind == P_SCAN && p->table.scan)
            pushdown(b, p, w);
        ak_plan_t *fp = plan_new(b, P_FILTER, p->ncols);
        if (!fp) {
            ak__b_nomem(b);
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
        ak__b_nomem(b);
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
                               : ak__b_span_text(b, it->expr->off, it->expr->end);
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
                    ak__b_nomem(b);
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
            ak__b_fail(b, it->off, AK_E_BIND, "no table or alias `%s` in this query's FROM clause", it->star_qual);
            return NULL;
        }
        if (!added && !sel->from) {
            ak__b_fail(b, it->off, AK_E_BIND, "SELECT * needs a FROM clause");
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
            if (!(items[i].expr = ak__b_bind_expr(b, &c, items[i].ast)))
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
        ak__b_nomem(b);
        return NULL;
    }
    for (int i = 0; i < norder; i++) {
        const ak_ast_t *ox = order[i].expr;
        ord_item[i] = -1;
        if (ox->kind == AST_LIT && ox->lit.type == AK_INT) {
            if (ox->lit.i < 1 || ox->lit.i > nitems) {
                ak__b_fail(b, ox->off, AK_E_BIND, "ORDER BY position %lld is not in the select list (1..%d)",
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
        if (!(ord_expr[i] = ak__b_bind_expr(b, &c, ox)))
            return NULL;
    }
    /* GROUP BY */
    ak_expr_t *having = NULL, *qualify = NULL;
    if (aggregated) {
        int ng = sel->group_all ? nitems : sel->ngroup;
        ak_expr_t **groups = ak_arena_alloc(b->a, sizeof *groups * (size_t)(ng ? ng : 1));
        char **gnames = ak_arena_alloc(b->a, sizeof *gnames * (size_t)(ng ? ng : 1));
        if (!groups || !gnames) {
            ak__b_nomem(b);
            return NULL;
        }
        ectx_t gc = {.scope = &s, .clause = "GROUP BY", .sel = sel};
        int n = 0;
        if (sel->group_all) {
            for (int i = 0; i < nitems; i++) {
                if (items[i].ast && ast_has_agg(items[i].ast))
                    continue;
                if (items[i].ast) {
                    if (!(groups[n] = ak__b_bind_expr(b, &gc, items[i].ast)))
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
                        ak__b_fail(b, gx->off, AK_E_BIND, "GROUP BY position %lld is not in the select list (1..%d)",
                              (long long)gx->lit.i, nitems);
                        return NULL;
                    }
                    use = items[gx->lit.i - 1].ast;
                    if (!use)
                        star_item = (int)gx->lit.i - 1;
                    if (use && ast_has_agg(use)) {
                        ak__b_fail(b, gx->off, AK_E_BIND, "GROUP BY position %lld refers to an aggregate", (long long)gx->lit.i);
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
                } else if (!(groups[n] = ak__b_bind_expr(b, &gc, use))) {
                    return NULL;
                }
                gnames[n++] = gx->kind == AST_LIT && gx->lit.type == AK_INT ? (char *)items[gx->lit.i - 1].name
                              : gx->kind == AST_COL ? (char *)gx->name
                                                    : ak__b_span_text(b, gx->off, gx->end);
            }
        }
        ng = n;
        if (sel->having) {
            c.clause = "HAVING";
            bool saved = c.allow_win;
            c.allow_win = false;
            having = ak__b_bind_expr(b, &c, sel->having);
            c.allow_win = saved;
            if (!having || ak__b_require_bool(b, &having, sel->having->off, "HAVING"))
                return NULL;
        }
        if (sel->qualify) {
            c.clause = "QUALIFY";
            qualify = ak__b_bind_expr(b, &c, sel->qualify);
            if (!qualify || ak__b_require_bool(b, &qualify, sel->qualify->off, "QUALIFY"))
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
            ak__b_nomem(b);
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
                ak__b_nomem(b);
                return NULL;
            }
            copy_cols(fp, 0, p);
            fp->child = p;
            fp->pred = having;
            p = fp;
        }
    } else {
        if (sel->having) {
            ak__b_fail(b, sel->having->off, AK_E_BIND, "HAVING needs GROUP BY or an aggregate");
            return NULL;
        }
        if (sel->qualify) {
            c.clause = "QUALIFY";
            qualify = ak__b_bind_expr(b, &c, sel->qualify);
            if (!qualify || ak__b_require_bool(b, &qualify, sel->qualify->off, "QUALIFY"))
                return NULL;
        }
    }
    /* windows */
    if (c.nwins) {
        int *win_col = ak_arena_alloc(b->a, sizeof *win_col * (size_t)c.nwins);
        if (!win_col) {
            ak__b_nomem(b);
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
            ak__b_fail(b, sel->qualify->off, AK_E_BIND, "QUALIFY needs a window function");
            return NULL;
        }
        ak_plan_t *fp = plan_new(b, P_FILTER, p->ncols);
        if (!fp) {
            ak__b_nomem(b);
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
        ak__b_fail(b, sel->off, AK_E_BIND, "with SELECT DISTINCT, ORDER BY expressions must appear in the select list");
        return NULL;
    }
    ak_plan_t *pr = plan_new(b, P_PROJECT, nitems + nhidden);
    if (!pr || !(pr->exprs = ak_arena_alloc(b->a, sizeof *pr->exprs * (size_t)(nitems + nhidden + 1)))) {
        ak__b_nomem(b);
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
            ak__b_nomem(b);
            return NULL;
        }
        copy_cols(d, 0, p);
        d->child = p;
        p = d;
    }
    if (norder) {
        ak_plan_t *so = plan_new(b, P_SORT, p->ncols);
        if (!so || !(so->keys = ak_arena_alloc(b->a, sizeof *so->keys * (size_t)norder))) {
            ak__b_nomem(b);
            return NULL;
        }
        copy_cols(so, 0, p);
        so->child = p;
        so->nkeys_sort = norder;
        for (int i = 0; i < norder; i++) {
            so->keys[i].expr = col_ref(b, ord_item[i], p->types[ord_item[i]]);
            if (!so->keys[i].expr) {
                ak__b_nomem(b);
                return NULL;
            }
            so->keys[i].desc = order[i].desc;
            so->keys[i].nulls_first = order[i].nulls_first == 1;
        }
        p = so;
        if (nhidden) {
            ak_plan_t *t = plan_new(b, P_TRIM, nitems);
            if (!t) {
                ak__b_nomem(b);
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
            ak_plan_t *p = ak__b_bind_query(b, body->nested);
            if (p && norder) {
                ak__b_fail(b, order[0].expr->off, AK_E_INTERNAL, "ORDER BY on a parenthesised query is handled above");
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
        ak__b_fail(b, 0, AK_E_BIND, "each side of %s must have the same number of columns (%d and %d)",
              body->op == SETOP_UNION ? "UNION" : body->op == SETOP_EXCEPT ? "EXCEPT" : "INTERSECT", l->ncols, r->ncols);
        return NULL;
    }
    ak_plan_t *sp = plan_new(b, P_SETOP, l->ncols);
    if (!sp) {
        ak__b_nomem(b);
        return NULL;
    }
    copy_cols(sp, 0, l);
    /* unify column types with casting projections where they differ */
    bool need[2] = {false, false};
    for (int i = 0; i < l->ncols; i++) {
        ak_type_t t = ak__common_type(l->types[i], r->types[i]);
        if (t == AK_TYPE__COUNT) {
            ak__b_fail(b, 0, AK_E_TYPE, "column %d of the set operation has types %s and %s", i + 1,
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
            ak__b_nomem(b);
            return NULL;
        }
        pr->child = in;
        for (int i = 0; i < in->ncols; i++) {
            ak_expr_t *cref = col_ref(b, i, in->types[i]);
            if (!cref || ak__b_coerce_to(b, &cref, sp->types[i], 0))
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
    ak_expr_t *e = ak__b_bind_expr(b, &c, x);
    if (!e)
        return -1;
    if (e->kind != EX_CONST || e->type != AK_INT || e->val.i < 0)
        return ak__b_fail(b, x->off, AK_E_BIND, "%s must be a non-negative integer constant", what);
    *out = e->val.i;
    return 0;
}

ak_plan_t *ak__b_bind_query(binder_t *b, const ak_query_ast_t *q)
{
    int saved_ctes = b->nctes;
    for (int i = 0; i < q->nctes; i++) {
        const ak_cte_ast_t *cte = &q->ctes[i];
        ak_plan_t *cp = ak__b_bind_query(b, cte->query);
        if (!cp)
            return NULL;
        if (cte->ncol_aliases) {
            if (cte->ncol_aliases > cp->ncols) {
                ak__b_fail(b, cte->off, AK_E_BIND, "WITH %s names %d columns but its query returns %d", cte->name,
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
                ak__b_nomem(b);
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
                ak__b_nomem(b);
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
            ak__b_nomem(b);
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
                ak__b_fail(b, ox->off, AK_E_BIND, "ORDER BY on a set operation must name a result column or position");
                return NULL;
            }
            so->keys[i].expr = col_ref(b, col, p->types[col]);
            if (!so->keys[i].expr) {
                ak__b_nomem(b);
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
            ak__b_nomem(b);
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
    st->root = ak__b_bind_query(&b, st->ast);
    if (!st->root) {
        if (err->code == AK_E_OK)
            ak_err_nomem(err);
        *err_off = b.err_off;
        return -1;
    }
    return 0;
}
