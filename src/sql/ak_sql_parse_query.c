/* ak_sql_parse_query.c - statements: WITH, SELECT (items, FROM and joins,
 * WHERE, GROUP BY, HAVING, WINDOW, QUALIFY), set operations, ORDER BY and
 * LIMIT, and the parser's entry point.  Expressions are in ak_sql_parse.c. */
#include "ak_sql_parse_int.h"

#include "ak_alloc.h"

#include <stdio.h>
#include <string.h>

/* ---- ORDER BY, windows --------------------------------------------------- */

int ak__p_parse_order_list(parser_t *p, ak_order_ast_t **out, int *nout)
{
    int cap = 4, n = 0;
    ak_order_ast_t *v = ak_arena_alloc(p->a, sizeof *v * (size_t)cap);
    if (!v)
        return ak_err_nomem(p->err);
    for (;;) {
        ak_ast_t *e = ak__p_parse_expr(p);
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
        if (ak__p_accept_kw(p, "desc"))
            o->desc = true;
        else
            ak__p_accept_kw(p, "asc");
        if (ak__p_accept_kw(p, "nulls")) {
            if (ak__p_accept_kw(p, "first"))
                o->nulls_first = 1;
            else if (ak__p_accept_kw(p, "last"))
                o->nulls_first = 0;
            else
                return ak__p_expected(p, "FIRST or LAST after NULLS");
        }
        if (!ak__p_accept(p, TK_COMMA))
            break;
    }
    *out = v;
    *nout = n;
    return 0;
}

/* `( name, name, ... )`: the opening parenthesis must come next. */
static int parse_ident_list(parser_t *p, const char *after, const char ***out, int *n)
{
    char what[64];
    snprintf(what, sizeof what, "`(` after %s", after);
    if (ak__p_expect(p, TK_LPAREN, what))
        return -1;
    plist_t l = {0};
    for (;;) {
        const char *c = ak__p_ident(p, "a column name");
        if (!c || ak__p_plist_push(p, &l, (void *)c))
            return -1;
        if (!ak__p_accept(p, TK_COMMA))
            break;
    }
    if (ak__p_expect(p, TK_RPAREN, "`)`"))
        return -1;
    *out = (const char **)l.v;
    *n = l.n;
    return 0;
}

static int parse_bound(parser_t *p, ak_frame_bound_t *b)
{
    if (ak__p_accept_kw(p, "unbounded")) {
        if (ak__p_accept_kw(p, "preceding"))
            b->kind = BOUND_UNBOUNDED_PRECEDING;
        else if (ak__p_accept_kw(p, "following"))
            b->kind = BOUND_UNBOUNDED_FOLLOWING;
        else
            return ak__p_expected(p, "PRECEDING or FOLLOWING");
        return 0;
    }
    if (ak__p_accept_kw(p, "current")) {
        b->kind = BOUND_CURRENT_ROW;
        return ak__p_expect_kw(p, "row");
    }
    b->offset = ak__p_parse_add(p);
    if (!b->offset)
        return -1;
    if (ak__p_accept_kw(p, "preceding"))
        b->kind = BOUND_PRECEDING;
    else if (ak__p_accept_kw(p, "following"))
        b->kind = BOUND_FOLLOWING;
    else
        return ak__p_expected(p, "PRECEDING or FOLLOWING");
    return 0;
}

ak_window_ast_t *ak__p_parse_window_spec(parser_t *p)
{
    ak_window_ast_t *w = ak_arena_zalloc(p->a, sizeof *w);
    if (!w) {
        ak_err_nomem(p->err);
        return NULL;
    }
    w->off = ak__p_cur(p)->off;
    if (ak__p_cur(p)->kind == TK_IDENT && !ak__p_is_reserved(ak__p_cur(p)) && !ak__p_kw(p, "partition") && !ak__p_kw(p, "order")) {
        w->base = ak__p_ident(p, "a window name");
        if (!w->base)
            return NULL;
    }
    if (ak__p_accept_kw(p, "partition")) {
        if (ak__p_expect_kw(p, "by"))
            return NULL;
        plist_t l = {0};
        for (;;) {
            ak_ast_t *e = ak__p_parse_expr(p);
            if (!e || ak__p_plist_push(p, &l, e))
                return NULL;
            if (!ak__p_accept(p, TK_COMMA))
                break;
        }
        w->partition = (ak_ast_t **)l.v;
        w->npartition = l.n;
    }
    if (ak__p_accept_kw(p, "order")) {
        if (ak__p_expect_kw(p, "by") || ak__p_parse_order_list(p, &w->order, &w->norder))
            return NULL;
    }
    if (ak__p_kw(p, "rows") || ak__p_kw(p, "range") || ak__p_kw(p, "groups")) {
        w->unit = ak__p_kw(p, "rows") ? FRAME_ROWS : ak__p_kw(p, "range") ? FRAME_RANGE : FRAME_GROUPS;
        ak__p_adv(p);
        if (ak__p_accept_kw(p, "between")) {
            if (parse_bound(p, &w->start) || ak__p_expect_kw(p, "and") || parse_bound(p, &w->end))
                return NULL;
        } else {
            if (parse_bound(p, &w->start))
                return NULL;
            w->end.kind = BOUND_CURRENT_ROW;
        }
        if (ak__p_kw(p, "exclude")) {
            ak__p_fail(p, ak__p_cur(p)->off, "EXCLUDE in window frames is not supported");
            return NULL;
        }
    }
    return w;
}

/* ---- FROM ---------------------------------------------------------------- */

static int parse_alias(parser_t *p, const char **alias, const char ***cols, int *ncols)
{
    bool as = ak__p_accept_kw(p, "as");
    ak_tok_t *t = ak__p_cur(p);
    if (t->kind == TK_QIDENT || (t->kind == TK_IDENT && !ak__p_is_reserved(t))) {
        *alias = ak__p_ident(p, "an alias");
        if (!*alias)
            return -1;
    } else if (as) {
        return ak__p_expected(p, "an alias after AS");
    }
    if (*alias && cols && ak__p_cur(p)->kind == TK_LPAREN)
        return parse_ident_list(p, "the alias", cols, ncols);
    return 0;
}

static ak_from_ast_t *parse_table_ref(parser_t *p)
{
    ak_from_ast_t *f = ak_arena_zalloc(p->a, sizeof *f);
    if (!f) {
        ak_err_nomem(p->err);
        return NULL;
    }
    ak_tok_t *t = ak__p_cur(p);
    f->off = t->off;
    if (t->kind == TK_TEMPLATE) {
        f->kind = FROM_TEMPLATE;
        f->tmpl = t->p;
        f->tmpl_len = t->n;
        ak__p_adv(p);
    } else if (t->kind == TK_LPAREN) {
        ak__p_adv(p);
        if (ak__p_kw(p, "select") || ak__p_kw(p, "with")) {
            f->kind = FROM_SUBQUERY;
            f->subq = ak__p_parse_query(p);
            if (!f->subq || ak__p_expect(p, TK_RPAREN, "`)` to close the subquery"))
                return NULL;
        } else {
            ak__p_fail(p, t->off, "parenthesised joins are not supported; remove the parentheses");
            return NULL;
        }
    } else {
        f->kind = FROM_TABLE;
        const char *a = ak__p_ident(p, "a table name");
        if (!a)
            return NULL;
        if (ak__p_accept(p, TK_DOT)) {
            f->schema = a;
            f->name = ak__p_ident(p, "a table name after `.`");
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
        size_t off = ak__p_cur(p)->off;
        if (ak__p_cur(p)->kind == TK_COMMA) {
            ak__p_adv(p);
            jt = JOIN_CROSS;
        } else {
            if (ak__p_accept_kw(p, "natural"))
                natural = true;
            if (ak__p_accept_kw(p, "join") || (ak__p_accept_kw(p, "inner") && !ak__p_expect_kw(p, "join"))) {
                jt = JOIN_INNER;
            } else if (ak__p_accept_kw(p, "left")) {
                ak__p_accept_kw(p, "outer");
                if (ak__p_expect_kw(p, "join"))
                    return NULL;
                jt = JOIN_LEFT;
            } else if (ak__p_accept_kw(p, "right")) {
                ak__p_accept_kw(p, "outer");
                if (ak__p_expect_kw(p, "join"))
                    return NULL;
                jt = JOIN_RIGHT;
            } else if (ak__p_accept_kw(p, "full")) {
                ak__p_accept_kw(p, "outer");
                if (ak__p_expect_kw(p, "join"))
                    return NULL;
                jt = JOIN_FULL;
            } else if (ak__p_accept_kw(p, "cross")) {
                if (ak__p_expect_kw(p, "join"))
                    return NULL;
                jt = JOIN_CROSS;
            } else {
                if (natural)
                    return ak__p_expected(p, "JOIN after NATURAL"), NULL;
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
            if (ak__p_accept_kw(p, "on")) {
                j->on = ak__p_parse_expr(p);
                if (!j->on)
                    return NULL;
            } else if (ak__p_accept_kw(p, "using")) {
                if (parse_ident_list(p, "USING", &j->using_cols, &j->nusing))
                    return NULL;
            } else {
                ak__p_expected(p, "ON or USING after the joined table");
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
    s->off = ak__p_cur(p)->off;
    if (ak__p_expect_kw(p, "select"))
        return NULL;
    if (ak__p_accept_kw(p, "distinct")) {
        s->distinct = true;
        if (ak__p_kw(p, "on")) {
            ak__p_fail(p, ak__p_cur(p)->off, "DISTINCT ON is not supported");
            return NULL;
        }
    } else {
        ak__p_accept_kw(p, "all");
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
        it->off = ak__p_cur(p)->off;
        ak_tok_t *t = ak__p_cur(p);
        bool star = false;
        if (t->kind == TK_STAR) {
            ak__p_adv(p);
            star = true;
        } else if ((t->kind == TK_IDENT || t->kind == TK_QIDENT) && ak__p_peek(p, 1)->kind == TK_DOT &&
                   ak__p_peek(p, 2)->kind == TK_STAR) {
            it->star_qual = ak__p_tok_str(p, t);
            ak__p_adv(p);
            ak__p_adv(p);
            ak__p_adv(p);
            star = true;
        }
        if (star) {
            it->star = true;
            if (ak__p_accept_kw(p, "exclude") && parse_ident_list(p, "EXCLUDE", &it->exclude, &it->nexclude))
                return NULL;
        } else {
            it->expr = ak__p_parse_expr(p);
            if (!it->expr)
                return NULL;
            if (parse_alias(p, &it->alias, NULL, NULL))
                return NULL;
        }
        s->nitems++;
        if (!ak__p_accept(p, TK_COMMA))
            break;
    }
    if (ak__p_accept_kw(p, "from")) {
        s->from = parse_from(p);
        if (!s->from)
            return NULL;
    }
    if (ak__p_accept_kw(p, "where")) {
        s->where = ak__p_parse_expr(p);
        if (!s->where)
            return NULL;
    }
    if (ak__p_accept_kw(p, "group")) {
        if (ak__p_expect_kw(p, "by"))
            return NULL;
        s->has_group = true;
        if (ak__p_accept_kw(p, "all")) {
            s->group_all = true;
        } else if (ak__p_cur(p)->kind == TK_LPAREN && ak__p_peek(p, 1)->kind == TK_RPAREN) {
            ak__p_adv(p);
            ak__p_adv(p);
        } else {
            plist_t l = {0};
            for (;;) {
                ak_ast_t *e = ak__p_parse_expr(p);
                if (!e || ak__p_plist_push(p, &l, e))
                    return NULL;
                if (!ak__p_accept(p, TK_COMMA))
                    break;
            }
            s->group = (ak_ast_t **)l.v;
            s->ngroup = l.n;
        }
    }
    if (ak__p_accept_kw(p, "having")) {
        s->having = ak__p_parse_expr(p);
        if (!s->having)
            return NULL;
    }
    if (ak__p_accept_kw(p, "window")) {
        plist_t l = {0};
        for (;;) {
            ak_named_window_t *nw = ak_arena_zalloc(p->a, sizeof *nw);
            if (!nw) {
                ak_err_nomem(p->err);
                return NULL;
            }
            nw->name = ak__p_ident(p, "a window name");
            if (!nw->name || ak__p_expect_kw(p, "as") || ak__p_expect(p, TK_LPAREN, "`(`"))
                return NULL;
            nw->spec = ak__p_parse_window_spec(p);
            if (!nw->spec || ak__p_expect(p, TK_RPAREN, "`)`") || ak__p_plist_push(p, &l, nw))
                return NULL;
            if (!ak__p_accept(p, TK_COMMA))
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
    if (ak__p_accept_kw(p, "qualify")) {
        s->qualify = ak__p_parse_expr(p);
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
    if (ak__p_cur(p)->kind == TK_LPAREN) {
        ak__p_adv(p);
        b->nested = ak__p_parse_query(p);
        if (!b->nested || ak__p_expect(p, TK_RPAREN, "`)`"))
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
        if (ak__p_kw(p, "union"))
            op = SETOP_UNION;
        else if (ak__p_kw(p, "except"))
            op = SETOP_EXCEPT;
        else if (ak__p_kw(p, "intersect"))
            op = SETOP_INTERSECT;
        else
            return l;
        ak__p_adv(p);
        bool all = ak__p_accept_kw(p, "all");
        if (!all)
            ak__p_accept_kw(p, "distinct");
        ak_body_ast_t *r = parse_body_term(p);
        if (!r)
            return NULL;
        if (op != SETOP_INTERSECT) {
            while (ak__p_kw(p, "intersect")) {
                ak__p_adv(p);
                bool a2 = ak__p_accept_kw(p, "all");
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

ak_query_ast_t *ak__p_parse_query(parser_t *p)
{
    if (++p->depth > 100) {
        ak__p_fail(p, ak__p_cur(p)->off, "query nested too deeply");
        return NULL;
    }
    ak_query_ast_t *q = ak_arena_zalloc(p->a, sizeof *q);
    if (!q) {
        ak_err_nomem(p->err);
        return NULL;
    }
    q->off = ak__p_cur(p)->off;
    if (ak__p_accept_kw(p, "with")) {
        if (ak__p_kw(p, "recursive")) {
            ak__p_fail(p, ak__p_cur(p)->off, "WITH RECURSIVE is not supported");
            return NULL;
        }
        plist_t l = {0};
        for (;;) {
            ak_cte_ast_t *c = ak_arena_zalloc(p->a, sizeof *c);
            if (!c) {
                ak_err_nomem(p->err);
                return NULL;
            }
            c->off = ak__p_cur(p)->off;
            c->name = ak__p_ident(p, "a name for the WITH query");
            if (!c->name)
                return NULL;
            if (ak__p_cur(p)->kind == TK_LPAREN && parse_ident_list(p, "the WITH name", &c->col_aliases, &c->ncol_aliases))
                return NULL;
            if (ak__p_expect_kw(p, "as"))
                return NULL;
            if (ak__p_kw(p, "materialized") || (ak__p_kw(p, "not") && ak_tok_is(ak__p_peek(p, 1), "materialized"))) {
                if (ak__p_kw(p, "not"))
                    ak__p_adv(p);
                ak__p_adv(p);
            }
            if (ak__p_expect(p, TK_LPAREN, "`(` after AS"))
                return NULL;
            c->query = ak__p_parse_query(p);
            if (!c->query || ak__p_expect(p, TK_RPAREN, "`)` to close the WITH query") || ak__p_plist_push(p, &l, c))
                return NULL;
            if (!ak__p_accept(p, TK_COMMA))
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
    if (ak__p_accept_kw(p, "order")) {
        if (ak__p_expect_kw(p, "by") || ak__p_parse_order_list(p, &q->order, &q->norder))
            return NULL;
    }
    for (int k = 0; k < 2; k++) {
        if (ak__p_accept_kw(p, "limit")) {
            if (ak__p_kw(p, "all")) {
                ak__p_adv(p);
            } else {
                q->limit = ak__p_parse_expr(p);
                if (!q->limit)
                    return NULL;
            }
        }
        if (ak__p_accept_kw(p, "offset")) {
            q->offset = ak__p_parse_expr(p);
            if (!q->offset)
                return NULL;
            ak__p_accept_kw(p, "rows");
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
    if (ak__p_cur(&p)->kind == TK_EOF) {
        ak__p_fail(&p, 0, "empty query");
        goto done;
    }
    if (!ak__p_kw(&p, "select") && !ak__p_kw(&p, "with") && ak__p_cur(&p)->kind != TK_LPAREN) {
        char d[64];
        ak__p_tok_desc(ak__p_cur(&p), d, sizeof d);
        ak__p_fail(&p, ak__p_cur(&p)->off, "expected SELECT or WITH, found %s (only queries are supported)", d);
        goto done;
    }
    ak_query_ast_t *q = ak__p_parse_query(&p);
    if (!q)
        goto done;
    ak__p_accept(&p, TK_SEMI);
    if (ak__p_cur(&p)->kind != TK_EOF) {
        char d[64];
        ak__p_tok_desc(ak__p_cur(&p), d, sizeof d);
        ak__p_fail(&p, ak__p_cur(&p)->off, "unexpected %s after the end of the query", d);
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
