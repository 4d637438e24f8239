/* cmd_connection.c - `akili connection create|test|list|show|delete`. */
#include "ak_cli.h"

#include "ak_alloc.h"
#include "ak_cfg.h"
#include "ak_out.h"
#include "ak_source.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) > 100)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
            return false;
    return true;
}

static void types_help(void)
{
    size_t n;
    const ak_source_ops_t *const *all = ak_source_all(&n);
    printf("\nconnector types:\n");
    for (size_t i = 0; i < n; i++)
        printf("  %-10s %s%s\n", all[i]->name, all[i]->summary, all[i]->built ? "" : " (not built yet)");
    printf("\nconfig keys per type are listed in docs/CONFIGURATION.md; values may be ${ENV_VAR} references,\n"
           "resolved when used and never printed.\n");
}

static int create(ak_cli_t *c, int argc, char **argv)
{
    static const ak_argopt_t opts[] = {
        {"name", "NAME", "connection name (letters, digits, - _ .)"},
        {"connector-type", "TYPE", "file, generator, redpanda, kafka, postgres or nats"},
        {"config", "JSON", "connection settings as a JSON object, e.g. '{\"path\": \"data/\"}'"},
    };
    ak_args_t a;
    if (ak_args_parse(&a, opts, 3, argc, argv, "connection create"))
        return 2;
    if (a.help) {
        printf("usage: akili connection create --name NAME --connector-type TYPE --config JSON\n\n"
               "Registers a connection that inputs refer to by name.\n\n");
        ak_args_print(opts, 3);
        types_help();
        return 0;
    }
    const char *name = ak_args_get(&a, "name"), *type = ak_args_get(&a, "connector-type"),
               *config = ak_args_get(&a, "config");
    if (!name || !type)
        return ak_usage_error("connection create", "--name and --connector-type are required");
    if (a.npos)
        return ak_usage_error("connection create", "unexpected argument `%s`", a.pos[0]);
    if (!valid_name(name))
        return ak_usage_error("connection create", "invalid connection name `%s` (use letters, digits, - _ .)", name);
    if (!config)
        config = "{}";
    ak_conn_t conn;
    ak_cfg_doc_t *doc;
    const ak_source_ops_t *ops;
    ak_err_t err;
    if (ak_conn_load(name, type, config, &conn, &doc, &ops, &err))
        return ak_cli_fail(&err);
    ak_cfg_free(doc);
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    if (ak_cat_conn_create(cat, name, ops->name, config, &err))
        return ak_cli_fail(&err);
    printf("connection `%s` created (%s)\n", name, ops->name);
    if (!ops->built)
        printf("note: the `%s` connector is not built yet in this version: `akili connection test %s` and runs that "
               "use it will fail until it is\n",
               ops->name, name);
    return 0;
}

static int load(ak_cli_t *c, const char *name, ak_conn_rec_t *rec, ak_conn_t *conn, ak_cfg_doc_t **doc,
                const ak_source_ops_t **ops, ak_err_t *err)
{
    ak_catalog_t *cat;
    if (ak_cli_catalog(c, &cat))
        return ak_errf(err, AK_E_IO, "cannot open the catalog");
    if (ak_cat_conn_get(cat, name, rec, err))
        return -1;
    if (ak_conn_load(rec->name, rec->type, rec->config, conn, doc, ops, err)) {
        ak_cat_conn_free(rec);
        return -1;
    }
    return 0;
}

static int test(ak_cli_t *c, int argc, char **argv)
{
    ak_args_t a;
    if (ak_args_parse(&a, NULL, 0, argc, argv, "connection test"))
        return 2;
    if (a.help) {
        printf("usage: akili connection test NAME\n\nConnects and reports what it found, or exactly what is wrong.\n"
               "Exit code 1 when the connection does not work.\n\n");
        ak_args_print(NULL, 0);
        return 0;
    }
    if (a.npos != 1)
        return ak_usage_error("connection test", "expected one connection name");
    ak_conn_rec_t rec;
    ak_conn_t conn;
    ak_cfg_doc_t *doc;
    const ak_source_ops_t *ops;
    ak_err_t err;
    if (load(c, a.pos[0], &rec, &conn, &doc, &ops, &err))
        return ak_cli_fail(&err);
    ak_buf_t report = AK_BUF_INIT;
    int rc = ops->test(&conn, &report, &err);
    if (rc == 0)
        printf("connection `%s` (%s): ok: %s\n", rec.name, rec.type, report.data ? report.data : "");
    else
        fprintf(stderr, "akili: connection `%s` (%s) failed: %s\n", rec.name, rec.type, err.msg);
    ak_buf_free(&report);
    ak_cfg_free(doc);
    ak_cat_conn_free(&rec);
    return rc ? 1 : 0;
}

static char *redacted(const ak_conn_rec_t *rec)
{
    ak_conn_t conn;
    ak_cfg_doc_t *doc;
    const ak_source_ops_t *ops;
    ak_err_t err;
    if (ak_conn_load(rec->name, rec->type, rec->config, &conn, &doc, &ops, &err))
        return ak_strdup("(unreadable config)");
    ak_buf_t b = AK_BUF_INIT;
    ak_options_to_json(&conn.opts, &b);
    ak_cfg_free(doc);
    return ak_buf_steal(&b);
}

static int list(ak_cli_t *c, int argc, char **argv)
{
    ak_args_t a;
    if (ak_args_parse(&a, NULL, 0, argc, argv, "connection list"))
        return 2;
    if (a.help) {
        printf("usage: akili connection list\n\nLists connections; secrets show as ${ENV} references or ****.\n\n");
        ak_args_print(NULL, 0);
        return 0;
    }
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_conn_rec_t *v;
    size_t n;
    ak_err_t err;
    if (ak_cat_conn_list(cat, &v, &n, &err))
        return ak_cli_fail(&err);
    const char *head[] = {"NAME", "TYPE", "CREATED", "CONFIG"};
    ak_grid_t g;
    ak_grid_init(&g, 4, head);
    for (size_t i = 0; i < n; i++) {
        char t[64];
        char *cfg = redacted(&v[i]);
        ak_grid_add(&g, v[i].name, v[i].type, ak_out_time(v[i].created_us, t, sizeof t), cfg);
        ak_free(cfg);
    }
    if (n)
        ak_grid_print(stdout, &g);
    else
        printf("no connections yet (create one with `akili connection create --name NAME --connector-type file --config '{\"path\": \"data\"}'`)\n");
    ak_grid_free(&g);
    ak_cat_conn_free_list(v, n);
    return 0;
}

static int show(ak_cli_t *c, int argc, char **argv)
{
    ak_args_t a;
    if (ak_args_parse(&a, NULL, 0, argc, argv, "connection show"))
        return 2;
    if (a.help) {
        printf("usage: akili connection show NAME\n\nShows a connection's type and (redacted) settings.\n\n");
        ak_args_print(NULL, 0);
        return 0;
    }
    if (a.npos != 1)
        return ak_usage_error("connection show", "expected one connection name");
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_conn_rec_t rec;
    ak_err_t err;
    if (ak_cat_conn_get(cat, a.pos[0], &rec, &err))
        return ak_cli_fail(&err);
    const ak_source_ops_t *ops = ak_source_find(rec.type);
    char t[64];
    char *cfg = redacted(&rec);
    printf("name:      %s\ntype:      %s%s\ncreated:   %s\nconfig:    %s\n", rec.name, rec.type,
           ops && !ops->built ? " (not built yet)" : "", ak_out_time(rec.created_us, t, sizeof t), cfg);
    ak_free(cfg);
    ak_cat_conn_free(&rec);
    return 0;
}

static int del(ak_cli_t *c, int argc, char **argv)
{
    ak_args_t a;
    if (ak_args_parse(&a, NULL, 0, argc, argv, "connection delete"))
        return 2;
    if (a.help) {
        printf("usage: akili connection delete NAME\n\nRemoves a connection.  Products whose inputs use it cannot run "
               "until it is created again.\n\n");
        ak_args_print(NULL, 0);
        return 0;
    }
    if (a.npos != 1)
        return ak_usage_error("connection delete", "expected one connection name");
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_err_t err;
    if (ak_cat_conn_delete(cat, a.pos[0], &err))
        return ak_cli_fail(&err);
    printf("connection `%s` deleted\n", a.pos[0]);
    return 0;
}

int ak_cmd_connection(ak_cli_t *c, int argc, char **argv)
{
    static const ak_subcmd_t subs[] = {
        {"create", create, "register a connection"},
        {"test", test, "check that a connection works"},
        {"list", list, "list connections"},
        {"show", show, "show one connection"},
        {"delete", del, "remove a connection"},
    };
    return ak_cli_dispatch(c, "connection", "Connections tell inputs where their data comes from.", subs, 5, argc, argv);
}
