/* ak_quality.c - running quality checks over a candidate relation. */
#include "ak_quality.h"

#include "ak_alloc.h"

#include <math.h>
#include <string.h>

typedef struct qenv {
    const ak_sql_env_t *base;
    const ak_rel_t *this_rel;
} qenv_t;

static int resolve(void *ctx, ak_sql_name_kind_t kind, const char *schema, const char *name, ak_sql_table_t *out,
                   ak_err_t *err)
{
    qenv_t *q = ctx;
    if (kind == AK_SQL_THIS) {
        out->ncols = q->this_rel->ncols;
        out->names = (const char *const *)q->this_rel->names;
        out->types = q->this_rel->types;
        out->rel = q->this_rel;
        return 0;
    }
    if (!q->base || !q->base->resolve)
        return 1;
    return q->base->resolve(q->base->resolve_ctx, kind, schema, name, out, err);
}

static ak_sql_env_t check_env(qenv_t *q, const ak_check_t *c)
{
    ak_sql_env_t e = {resolve, q, q->base ? q->base->now_us : 0, c->sql_loc.file, c->sql_loc.line};
    return e;
}

void ak_check_result_value(ak_check_result_t *r, const ak_val_t *v)
{
    switch (v->type) {
    case AK_NULL: break;
    case AK_INT:
    case AK_BOOL:
        r->has_value = true;
        r->value = (double)v->i;
        break;
    case AK_FLOAT:
    case AK_DOUBLE:
        r->has_value = !isnan(v->d);
        r->value = v->d;
        break;
    default:
        r->error = ak_strdup("the check's query must return a number (a count, a difference, ...)");
        break;
    }
}

int ak_quality_run(const ak_manifest_t *m, const ak_rel_t *candidate, const ak_sql_env_t *env,
                   ak_check_result_t *results, bool *blocked, ak_err_t *err)
{
    qenv_t q = {env, candidate};
    *blocked = false;
    for (size_t i = 0; i < m->quality.n_checks; i++) {
        const ak_check_t *c = &m->quality.checks[i];
        ak_check_result_t *r = &results[i];
        memset(r, 0, sizeof *r);
        r->check = c;
        ak_sql_env_t e = check_env(&q, c);
        ak_rel_t *out = NULL;
        ak_err_t ce;
        if (ak_sql_query(c->sql, strlen(c->sql), &e, &out, &ce)) {
            if (ce.code == AK_E_NOMEM)
                return ak_err_nomem(err);
            r->error = ak_strdup(ce.msg);
            if (!r->error)
                return ak_err_nomem(err);
        } else if (out->ncols < 1) {
            r->error = ak_strdup("the check's query returns no column");
        } else if (out->nrows > 0) {
            ak_check_result_value(r, &out->v[0]);
        }
        ak_rel_free(out);
        r->passed = !r->error && (!r->has_value || r->value <= c->threshold);
        if (!r->passed && c->severity == AK_SEVERITY_CRITICAL)
            *blocked = true;
    }
    return 0;
}

void ak_quality_results_free(ak_check_result_t *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        ak_free(r[i].error);
        r[i].error = NULL;
    }
}

int ak_quality_validate(const ak_manifest_t *m, const ak_rel_t *shape, const ak_sql_env_t *env, ak_err_t *err)
{
    qenv_t q = {env, shape};
    for (size_t i = 0; i < m->quality.n_checks; i++) {
        const ak_check_t *c = &m->quality.checks[i];
        ak_sql_env_t e = check_env(&q, c);
        ak_sql_stmt_t *st;
        if (ak_sql_prepare(c->sql, strlen(c->sql), &e, &st, err))
            return ak_err_prefix(err, "quality check `%s`", c->name);
        int bad = ak_sql_stmt_ncols(st) < 1;
        ak_type_t t = bad ? AK_NULL : ak_sql_stmt_type(st, 0);
        ak_sql_stmt_free(st);
        if (bad || !(ak_type_is_numeric(t) || t == AK_BOOL || t == AK_NULL))
            return ak_errf(err, AK_E_CONFIG, "%s:%d: quality check `%s` must return a number, its query returns %s",
                           c->loc.file, c->loc.line, c->name, bad ? "no column" : ak_type_name(t));
    }
    return 0;
}
