/* cmd_query.c - `akili query` over published tables and `akili explain`. */
#include "ak_cli.h"

#include "ak_alloc.h"
#include "ak_buf.h"
#include "ak_engine.h"
#include "ak_out.h"
#include "ak_tables.h"

#include <stdio.h>
#include <string.h>

static int read_stdin(ak_buf_t *b)
{
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, stdin)) > 0)
        ak_buf_put(b, tmp, n);
    return b->oom ? -1 : 0;
}

int ak_cmd_query(ak_cli_t *c, int argc, char **argv)
{
    static const ak_argopt_t opts[] = {
        {"format", "FMT", "table (default), csv (RFC 4180) or json (one object per line)"},
        {"candidate", NULL, "read blocked candidates instead of published tables where there is one"},
        {"explain", NULL, "print the query plan instead of running it"},
    };
    ak_args_t a;
    if (ak_args_parse(&a, opts, 3, argc, argv, "query"))
        return 2;
    if (a.help) {
        printf("usage: akili query [--format table|csv|json] [--candidate] \"SQL\"   (or - to read the SQL from stdin)\n\n"
               "Runs a SELECT over published tables, named NAMESPACE.PRODUCT (e.g. analytics.user_sessions)\n"
               "or just PRODUCT.  CURRENT_TIMESTAMP()/NOW()/CURRENT_DATE() read AKILI_NOW when it is set.\n"
               "csv: header row, NULL is an empty unquoted field, the empty string is \"\".\n"
               "json: one object per line, NULL is null, timestamps are ISO-8601 UTC strings.\n\n");
        ak_args_print(opts, 3);
        return 0;
    }
    if (a.npos < 1)
        return ak_usage_error("query", "expected the SQL text (or - for stdin)");
    ak_fmt_t fmt = AK_FMT_TABLE;
    const char *f = ak_args_get(&a, "format");
    if (f && ak_out_format(f, &fmt))
        return ak_usage_error("query", "unknown --format `%s` (table, csv or json)", f);
    ak_buf_t sql = AK_BUF_INIT;
    if (a.npos == 1 && strcmp(a.pos[0], "-") == 0) {
        if (read_stdin(&sql)) {
            ak_buf_free(&sql);
            fprintf(stderr, "akili: out of memory\n");
            return 1;
        }
    } else {
        for (int i = 0; i < a.npos; i++) {
            if (i)
                ak_buf_putc(&sql, ' ');
            ak_buf_puts(&sql, a.pos[i]);
        }
    }
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc) {
        ak_buf_free(&sql);
        return rc;
    }
    ak_err_t err;
    ak_tables_t *tables = NULL;
    ak_sql_stmt_t *st = NULL;
    ak_rel_t *res = NULL;
    int64_t now;
    rc = 1;
    if (ak_engine_now(&now, &err) || ak_tables_new(cat, ak_args_flag(&a, "candidate"), &tables, &err)) {
        rc = ak_cli_fail(&err);
        goto done;
    }
    ak_sql_env_t env = {ak_tables_resolve, tables, now, "query", 1};
    if (ak_sql_prepare(sql.data ? sql.data : "", sql.len, &env, &st, &err)) {
        rc = ak_cli_fail(&err);
        goto done;
    }
    if (ak_args_flag(&a, "explain")) {
        ak_buf_t b = AK_BUF_INIT;
        ak_sql_explain(st, &b);
        fputs(b.data ? b.data : "", stdout);
        ak_buf_free(&b);
        rc = 0;
        goto done;
    }
    if (ak_sql_execute(st, &res, &err)) {
        rc = ak_cli_fail(&err);
        goto done;
    }
    ak_out_rel(stdout, res, fmt);
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    ak_rel_free(res);
    ak_sql_stmt_free(st);
    ak_tables_free(tables);
    ak_buf_free(&sql);
    return rc;
}

int ak_cmd_explain(ak_cli_t *c, int argc, char **argv)
{
    ak_args_t a;
    if (ak_args_parse(&a, NULL, 0, argc, argv, "explain"))
        return 2;
    if (a.help) {
        printf("usage: akili explain NAME\n\nShows the deployed product's inputs (and which of their columns are kept),\n"
               "the plan of its transform, its quality gates and where it publishes.\n"
               "For an ad-hoc query use `akili query --explain \"SQL\"`.\n\n");
        ak_args_print(NULL, 0);
        return 0;
    }
    if (a.npos != 1)
        return ak_usage_error("explain", "expected one product name");
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_err_t err;
    ak_buf_t b = AK_BUF_INIT;
    if (ak_engine_explain(cat, a.pos[0], &b, &err)) {
        ak_buf_free(&b);
        return ak_cli_fail(&err);
    }
    fputs(b.data ? b.data : "", stdout);
    ak_buf_free(&b);
    return 0;
}
