/* sql_fixture.h - in-memory tables for SQL tests, built from a compact text
 * form: first line "name:TYPE,name:TYPE", then one row per line with fields
 * separated by '|' and NULL written as \N.  Results render the same way. */
#ifndef SQL_FIXTURE_H
#define SQL_FIXTURE_H

#include "ak_sql.h"
#include "ak_alloc.h"

#include <stdio.h>
#include <string.h>

typedef struct fx_table {
    const char *name;
    ak_rel_t *rel;
} fx_table_t;

typedef struct fx_db {
    fx_table_t t[8];
    int n;
    const char *this_table; /* what {{ this }} resolves to */
} fx_db_t;

static inline ak_rel_t *fx_rel(const char *spec)
{
    char names[32][64];
    ak_type_t types[32];
    const char *nl = strchr(spec, '\n');
    size_t hl = nl ? (size_t)(nl - spec) : strlen(spec);
    int nc = 0;
    size_t i = 0;
    while (i < hl && nc < 32) {
        size_t j = i;
        while (j < hl && spec[j] != ',')
            j++;
        const char *colon = memchr(spec + i, ':', j - i);
        size_t nlen = colon ? (size_t)(colon - (spec + i)) : j - i;
        snprintf(names[nc], sizeof names[nc], "%.*s", (int)nlen, spec + i);
        types[nc] = colon ? ak_type_parse(colon + 1, (size_t)(spec + j - colon - 1)) : AK_TEXT;
        nc++;
        i = j + 1;
    }
    const char *np[32];
    for (int k = 0; k < nc; k++)
        np[k] = names[k];
    ak_rel_t *r = ak_rel_new(nc, np, types);
    const char *p = nl ? nl + 1 : spec + hl;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t ll = e ? (size_t)(e - p) : strlen(p);
        if (ll) {
            ak_val_t *row = ak_rel_push(r);
            size_t a = 0;
            for (int k = 0; k < nc; k++) {
                size_t b = a;
                while (b < ll && p[b] != '|')
                    b++;
                if (!(b - a == 2 && p[a] == '\\' && p[a + 1] == 'N')) {
                    char *s = ak_arena_strndup(&r->arena, p + a, b - a);
                    ak_val_t t = ak_v_text(s, b - a), v;
                    ak_err_t err;
                    if (ak_sql_cast(&t, types[k], &r->arena, &v, &err) == 0)
                        row[k] = v;
                    else
                        fprintf(stderr, "fixture: %s\n", err.msg);
                }
                a = b + 1;
            }
        }
        if (!e)
            break;
        p = e + 1;
    }
    return r;
}

static inline int fx_resolve(void *ctx, ak_sql_name_kind_t kind, const char *schema, const char *name,
                             ak_sql_table_t *out, ak_err_t *err)
{
    (void)schema;
    (void)err;
    fx_db_t *db = ctx;
    const char *want = kind == AK_SQL_THIS ? db->this_table : name;
    if (!want)
        return 1;
    for (int i = 0; i < db->n; i++)
        if (strcmp(db->t[i].name, want) == 0) {
            ak_rel_t *r = db->t[i].rel;
            out->ncols = r->ncols;
            out->names = (const char *const *)r->names;
            out->types = r->types;
            out->rel = r;
            return 0;
        }
    return 1;
}

static inline void fx_add(fx_db_t *db, const char *name, const char *spec)
{
    db->t[db->n].name = name;
    db->t[db->n].rel = fx_rel(spec);
    db->n++;
}

static inline void fx_free(fx_db_t *db)
{
    for (int i = 0; i < db->n; i++)
        ak_rel_free(db->t[i].rel);
    db->n = 0;
}

/* Runs sql; returns the rows rendered "a|b\n" (static buffer), or "ERROR: msg". */
static inline const char *fx_run(fx_db_t *db, const char *sql, int64_t now_us)
{
    static char out[16384];
    ak_sql_env_t env = {fx_resolve, db, now_us, "test.sql", 1};
    ak_rel_t *r;
    ak_err_t err;
    if (ak_sql_query(sql, strlen(sql), &env, &r, &err)) {
        snprintf(out, sizeof out, "ERROR: %s", err.msg);
        return out;
    }
    ak_buf_t b = AK_BUF_INIT;
    for (size_t i = 0; i < r->nrows; i++) {
        for (int k = 0; k < r->ncols; k++) {
            if (k)
                ak_buf_putc(&b, '|');
            ak_val_t *v = ak_rel_row(r, i) + k;
            if (v->type == AK_NULL)
                ak_buf_puts(&b, "NULL");
            else
                ak_val_to_text(v, &b);
        }
        ak_buf_putc(&b, '\n');
    }
    snprintf(out, sizeof out, "%s", b.data ? b.data : "");
    ak_buf_free(&b);
    ak_rel_free(r);
    return out;
}

#endif
