/* ak_sql_stmt.c - the public face of the SQL engine: prepare (parse + bind),
 * execute, explain.  Turns byte offsets into "origin:line:col" messages. */
#include "ak_sql_plan.h"
#include "ak_sql_lex.h"

#include "ak_alloc.h"

#include <string.h>

static int positioned(const ak_sql_env_t *env, const char *sql, size_t off, ak_err_t *err)
{
    int line, col;
    ak_lex_position(sql, off, &line, &col);
    const char *origin = env && env->origin ? env->origin : "query";
    int base = env && env->line_base > 0 ? env->line_base : 1;
    return ak_err_prefix(err, "%s:%d:%d", origin, line + base - 1, col);
}

void ak_sql_stmt_free(ak_sql_stmt_t *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->nctes; i++)
        ak_rel_free(st->ctes[i].result);
    ak_arena_free(&st->arena);
    ak_free(st);
}

int ak_sql_prepare(const char *sql, size_t len, const ak_sql_env_t *env, ak_sql_stmt_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_sql_stmt_t *st = ak_calloc(1, sizeof *st);
    if (!st)
        return ak_err_nomem(err);
    ak_arena_init(&st->arena, 32 * 1024);
    if (env)
        st->env = *env;
    char *copy = ak_arena_strndup(&st->arena, sql, len);
    if (!copy) {
        ak_sql_stmt_free(st);
        return ak_err_nomem(err);
    }
    st->sql = copy;
    st->len = len;
    size_t off = 0;
    if (ak_sql_parse(copy, len, &st->arena, &st->ast, &off, err) || ak_sql_bind(st, &off, err)) {
        if (err->code != AK_E_NOMEM)
            positioned(env, copy, off, err);
        ak_sql_stmt_free(st);
        return -1;
    }
    *out = st;
    return 0;
}

int ak_sql_stmt_scans(const ak_sql_stmt_t *st, const ak_sql_scan_info_t **out, int *n)
{
    *out = st->scans;
    *n = st->nscans;
    return 0;
}

void ak_sql_stmt_set_now(ak_sql_stmt_t *st, int64_t now_us) { st->env.now_us = now_us; }

int ak_sql_stmt_ncols(const ak_sql_stmt_t *st) { return st->root->ncols; }
const char *ak_sql_stmt_name(const ak_sql_stmt_t *st, int i) { return st->root->names[i]; }
ak_type_t ak_sql_stmt_type(const ak_sql_stmt_t *st, int i) { return st->root->types[i]; }

int ak_sql_execute(ak_sql_stmt_t *st, ak_rel_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_err_clear(err);
    ak_exec_t x;
    memset(&x, 0, sizeof x);
    x.st = st;
    x.err = err;
    ak_arena_init(&x.arena, 256 * 1024);
    x.cx.arena = &x.arena;
    x.cx.err = err;
    x.cx.now_us = st->env.now_us;
    x.cx.exec = &x;
    ak_rel_t *r = NULL;
    bool owned = false;
    int rc = ak_exec_plan(&x, st->root, &r, &owned);
    if (rc == 0 && !owned) {
        /* the result is a borrowed table: copy it so the caller owns it */
        ak_rel_t *cp = ak_rel_new(r->ncols, (const char *const *)st->root->names, st->root->types);
        if (!cp || ak_rel_reserve(cp, r->nrows)) {
            ak_rel_free(cp);
            rc = ak_err_nomem(err);
        } else {
            for (size_t i = 0; i < r->nrows; i++)
                memcpy(ak_rel_push(cp), ak_rel_row(r, i), sizeof(ak_val_t) * (size_t)r->ncols);
            r = cp;
        }
    }
    if (rc == 0) {
        /* names and types as bound (a TRIM may show fewer columns) */
        if (ak_rel_own_strings(r)) {
            ak_rel_free(r);
            r = NULL;
            rc = ak_err_nomem(err);
        }
    }
    for (int i = 0; i < st->nctes; i++) {
        ak_rel_free(st->ctes[i].result);
        st->ctes[i].result = NULL;
    }
    for (int i = 0; x.cache && i < x.ncache; i++)
        ak_rel_free(x.cache[i].rel);
    ak_free(x.cache);
    for (size_t i = 0; i < x.nkeep; i++)
        ak_rel_free(x.keep[i]);
    ak_free(x.keep);
    ak_arena_free(&x.arena);
    if (rc)
        return -1;
    *out = r;
    return 0;
}

int ak_sql_query(const char *sql, size_t len, const ak_sql_env_t *env, ak_rel_t **out, ak_err_t *err)
{
    ak_sql_stmt_t *st;
    if (ak_sql_prepare(sql, len, env, &st, err))
        return -1;
    int rc = ak_sql_execute(st, out, err);
    ak_sql_stmt_free(st);
    return rc;
}

/* ---- explain ------------------------------------------------------------- */

static void indent(ak_buf_t *o, int d)
{
    for (int i = 0; i < d; i++)
        ak_buf_puts(o, "  ");
}

static void explain_node(const ak_sql_stmt_t *st, const ak_plan_t *p, int d, ak_buf_t *o)
{
    static const char *const join_names[] = {"INNER", "LEFT", "RIGHT", "FULL", "CROSS"};
    const ak_plan_t *in = p->child;
    indent(o, d);
    switch (p->kind) {
    case P_SCAN:
        ak_buf_printf(o, "SCAN %s", p->table_name);
        for (int i = 0; i < p->npreds; i++) {
            static const char *const ops[] = {"=", "<>", "<", "<=", ">", ">="};
            ak_buf_printf(o, "%s%s %s ", i ? " AND " : " [pushed down: ", p->names[p->preds[i].col], ops[p->preds[i].op]);
            ak_val_to_text(&p->preds[i].value, o);
            if (i == p->npreds - 1)
                ak_buf_putc(o, ']');
        }
        break;
    case P_ONE_ROW: ak_buf_puts(o, "ONE ROW"); break;
    case P_FILTER: ak_buf_puts(o, "FILTER "); ak_expr_explain(p->pred, in, o); break;
    case P_PROJECT:
        ak_buf_puts(o, "PROJECT ");
        for (int i = 0; i < p->ncols; i++) {
            if (i)
                ak_buf_puts(o, ", ");
            ak_expr_explain(p->exprs[i], in, o);
            if (p->names[i] && p->names[i][0] && !(p->exprs[i]->kind == EX_COL && in &&
                                                   strcmp(in->names[p->exprs[i]->col], p->names[i]) == 0))
                ak_buf_printf(o, " AS %s", p->names[i]);
        }
        break;
    case P_JOIN: {
        ak_buf_printf(o, "%s JOIN", join_names[p->join]);
        if (p->nkeys) {
            ak_buf_puts(o, " (hash) ON ");
            for (int i = 0; i < p->nkeys; i++) {
                if (i)
                    ak_buf_puts(o, " AND ");
                ak_expr_explain(p->lkeys[i], p->child, o);
                ak_buf_puts(o, " = ");
                ak_expr_explain(p->rkeys[i], p->right, o);
            }
        }
        if (p->residual) {
            ak_buf_puts(o, p->nkeys ? " AND " : " (nested loop) ON ");
            ak_expr_explain(p->residual, p, o);
        }
        break;
    }
    case P_AGG:
        ak_buf_puts(o, p->ngroups ? "AGGREGATE BY " : "AGGREGATE");
        for (int i = 0; i < p->ngroups; i++) {
            if (i)
                ak_buf_puts(o, ", ");
            ak_expr_explain(p->groups[i], in, o);
        }
        ak_buf_puts(o, " COMPUTE ");
        for (int i = 0; i < p->naggs; i++) {
            const ak_aggcall_t *c = &p->aggs[i];
            if (i)
                ak_buf_puts(o, ", ");
            ak_buf_printf(o, "%s(%s", c->fn == AGG_COUNT_STAR ? "count" : ak_agg_name(c->fn), c->distinct ? "DISTINCT " : "");
            if (c->fn == AGG_COUNT_STAR)
                ak_buf_putc(o, '*');
            for (int k = 0; k < c->nargs; k++) {
                if (k)
                    ak_buf_puts(o, ", ");
                ak_expr_explain(c->args[k], in, o);
            }
            ak_buf_putc(o, ')');
        }
        break;
    case P_WINDOW:
        ak_buf_puts(o, "WINDOW ");
        for (int i = 0; i < p->nwins; i++) {
            const ak_wincall_t *c = &p->wins[i];
            if (i)
                ak_buf_puts(o, ", ");
            ak_buf_printf(o, "%s(", c->fn == WIN_AGG ? ak_agg_name(c->agg.fn) : ak_win_name(c->fn));
            for (int k = 0; k < c->agg.nargs; k++) {
                if (k)
                    ak_buf_puts(o, ", ");
                ak_expr_explain(c->agg.args[k], in, o);
            }
            ak_buf_putc(o, ')');
        }
        ak_buf_puts(o, " OVER (");
        if (p->npart) {
            ak_buf_puts(o, "PARTITION BY ");
            for (int i = 0; i < p->npart; i++) {
                if (i)
                    ak_buf_puts(o, ", ");
                ak_expr_explain(p->part[i], in, o);
            }
        }
        if (p->nord) {
            ak_buf_puts(o, p->npart ? " ORDER BY " : "ORDER BY ");
            for (int i = 0; i < p->nord; i++) {
                if (i)
                    ak_buf_puts(o, ", ");
                ak_expr_explain(p->ord[i].expr, in, o);
                if (p->ord[i].desc)
                    ak_buf_puts(o, " DESC");
            }
        }
        ak_buf_putc(o, ')');
        break;
    case P_SORT:
        ak_buf_puts(o, "SORT ");
        for (int i = 0; i < p->nkeys_sort; i++) {
            if (i)
                ak_buf_puts(o, ", ");
            ak_expr_explain(p->keys[i].expr, in, o);
            if (p->keys[i].desc)
                ak_buf_puts(o, " DESC");
            if (p->keys[i].nulls_first)
                ak_buf_puts(o, " NULLS FIRST");
        }
        break;
    case P_LIMIT:
        ak_buf_puts(o, "LIMIT");
        if (p->limit >= 0)
            ak_buf_printf(o, " %lld", (long long)p->limit);
        if (p->offset)
            ak_buf_printf(o, " OFFSET %lld", (long long)p->offset);
        break;
    case P_DISTINCT: ak_buf_puts(o, "DISTINCT"); break;
    case P_SETOP:
        ak_buf_printf(o, "%s%s", p->setop == SETOP_UNION ? "UNION" : p->setop == SETOP_EXCEPT ? "EXCEPT" : "INTERSECT",
                      p->all ? " ALL" : "");
        break;
    case P_CTE: ak_buf_printf(o, "CTE %s", st->ctes[p->cte].name); break;
    case P_TRIM: ak_buf_printf(o, "TRIM to %d columns", p->ncols); break;
    }
    ak_buf_putc(o, '\n');
    if (p->child)
        explain_node(st, p->child, d + 1, o);
    if (p->right)
        explain_node(st, p->right, d + 1, o);
}

void ak_sql_explain(const ak_sql_stmt_t *st, ak_buf_t *out)
{
    for (int i = 0; i < st->nctes; i++) {
        ak_buf_printf(out, "WITH %s AS\n", st->ctes[i].name);
        explain_node(st, st->ctes[i].plan, 1, out);
    }
    explain_node(st, st->root, 0, out);
}
