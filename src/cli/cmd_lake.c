/* cmd_lake.c - `akili lake`: reading a product's Iceberg table. */
#include "ak_cli.h"

#include "ak_alloc.h"
#include "ak_engine.h"
#include "ak_iceberg.h"
#include "ak_lake_sink.h"
#include "ak_manifest.h"
#include "ak_out.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where product NAME's lake table is.  NAME may be NAMESPACE.PRODUCT. */
static int locate(ak_cli_t *c, const char *cmd, const char *arg, ak_lake_loc_t *loc)
{
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    const char *dot = strchr(arg, '.');
    const char *product = dot ? dot + 1 : arg;
    ak_manifest_t *m = NULL;
    char *version = NULL;
    ak_err_t err;
    if (ak_engine_manifest(cat, product, &m, &version, &err))
        return ak_cli_fail(&err);
    rc = 0;
    if (m->output.format != AK_OUTPUT_ICEBERG) {
        fprintf(stderr, "akili: %s: product `%s` does not publish to the lake (its output.format is not iceberg)\n",
                cmd, product);
        rc = 1;
    } else if (ak_lake_locate(&m->output, ak_catalog_home(cat), m->product.namespace, m->product.name, loc, &err)) {
        rc = ak_cli_fail(&err);
    }
    ak_manifest_free(m);
    ak_free(version);
    return rc;
}

/* --snapshot ID: -1 when absent, -2 when malformed. */
static int64_t snapshot_arg(const ak_args_t *a)
{
    const char *sv = ak_args_get(a, "snapshot");
    if (!sv)
        return -1;
    char *end;
    long long v = strtoll(sv, &end, 10);
    return !*sv || *end || v < 0 ? -2 : v;
}

static int cmd_scan(ak_cli_t *c, int argc, char **argv)
{
    static const ak_argopt_t opts[] = {
        {"snapshot", "ID", "read this snapshot (default: the current one)"},
        {"format", "FMT", "table (default), csv (RFC 4180) or json (one object per line)"},
    };
    ak_args_t a;
    if (ak_args_parse(&a, opts, 2, argc, argv, "lake scan"))
        return 2;
    if (a.help) {
        printf("usage: akili lake scan NAME [--snapshot ID] [--format table|csv|json]\n\n"
               "Prints the rows of product NAME's Iceberg table (output.format: iceberg), read from its live\n"
               "Parquet data files with the equality deletes of later snapshots applied, as `akili query`\n"
               "prints the serving table.\n\n");
        ak_args_print(opts, 2);
        return 0;
    }
    if (a.npos != 1)
        return ak_usage_error("lake scan", "expected one product name");
    ak_fmt_t fmt = AK_FMT_TABLE;
    const char *f = ak_args_get(&a, "format");
    if (f && ak_out_format(f, &fmt))
        return ak_usage_error("lake scan", "unknown --format `%s` (table, csv or json)", f);
    int64_t snap = snapshot_arg(&a);
    if (snap == -2)
        return ak_usage_error("lake scan", "--snapshot wants a snapshot id (a number), not `%s`",
                              ak_args_get(&a, "snapshot"));
    ak_lake_loc_t loc = {0};
    int rc = locate(c, "lake scan", a.pos[0], &loc);
    if (rc == 0) {
        ak_err_t err;
        ak_rel_t *r;
        if (ak_lake_read(&loc, snap, 0, NULL, NULL, &r, &err)) {
            rc = ak_cli_fail(&err);
        } else {
            ak_out_rel(stdout, r, fmt);
            ak_rel_free(r);
            rc = fflush(stdout) == 0 ? 0 : 1;
        }
    }
    ak_lake_loc_free(&loc);
    return rc;
}

static int cmd_snapshots(ak_cli_t *c, int argc, char **argv)
{
    ak_args_t a;
    if (ak_args_parse(&a, NULL, 0, argc, argv, "lake snapshots"))
        return 2;
    if (a.help) {
        printf("usage: akili lake snapshots NAME\n\n"
               "Lists the snapshots of product NAME's Iceberg table, oldest first: id, time, operation, and the\n"
               "serving table's commit number it reflects (akili.commit-seq).\n\n");
        ak_args_print(NULL, 0);
        return 0;
    }
    if (a.npos != 1)
        return ak_usage_error("lake snapshots", "expected one product name");
    ak_lake_loc_t loc = {0};
    int rc = locate(c, "lake snapshots", a.pos[0], &loc);
    ak_ice_table_t *t = NULL;
    ak_err_t err;
    if (rc == 0 && ak_lake_open(&loc, &t, &err))
        rc = ak_cli_fail(&err);
    if (rc == 0) {
        printf("snapshot_id,time,operation,commit_seq,current\n");
        for (size_t i = 0; i < ak_ice_snapshot_count(t); i++) {
            int64_t id = ak_ice_snapshot_id(t, i);
            char tb[40];
            const char *op = ak_ice_snapshot_prop(t, id, "operation"),
                       *seq = ak_ice_snapshot_prop(t, id, "akili.commit-seq");
            printf("%" PRId64 ",%s,%s,%s,%s\n", id, ak_out_time(ak_ice_snapshot_time_ms(t, i) * 1000, tb, sizeof tb),
                   op ? op : "", seq ? seq : "", id == ak_ice_current_snapshot(t) ? "yes" : "");
        }
        rc = fflush(stdout) == 0 ? 0 : 1;
    }
    ak_ice_close(t);
    ak_lake_loc_free(&loc);
    return rc;
}

static int cmd_restore(ak_cli_t *c, int argc, char **argv)
{
    static const ak_argopt_t opts[] = {
        {"snapshot", "ID", "restore this snapshot (default: the current one)"},
        {"force", NULL, "also when the serving table is at a newer commit (rolls published rows back)"},
    };
    ak_args_t a;
    if (ak_args_parse(&a, opts, 2, argc, argv, "lake restore"))
        return 2;
    if (a.help) {
        printf("usage: akili lake restore NAME [--snapshot ID] [--force]\n\n"
               "Rebuilds product NAME's serving table (the embedded store) from its Iceberg table, in one\n"
               "transaction, with the commit number, input positions and log lengths the snapshot recorded: the\n"
               "next run carries on from it as from its own publish (its checkpoint is used when it is at or\n"
               "before that commit; otherwise the state is rebuilt from the input logs). For a lost or damaged\n"
               "serving store, or a new machine with the lake. Refused while a run of NAME is in progress.\n\n");
        ak_args_print(opts, 2);
        return 0;
    }
    if (a.npos != 1)
        return ak_usage_error("lake restore", "expected one product name");
    int64_t snap = snapshot_arg(&a);
    if (snap == -2)
        return ak_usage_error("lake restore", "--snapshot wants a snapshot id (a number), not `%s`",
                              ak_args_get(&a, "snapshot"));
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    const char *dot = strchr(a.pos[0], '.');
    const char *product = dot ? dot + 1 : a.pos[0];
    ak_restore_report_t rep;
    ak_err_t err;
    if (ak_engine_lake_restore(cat, product, snap, ak_args_flag(&a, "force"), &rep, &err)) {
        fprintf(stderr, "akili: lake restore: %s\n", err.msg);
        return 1;
    }
    printf("restored the serving table of `%s` from lake snapshot %" PRId64 ": %" PRId64 " rows in %.2f s\n", product,
           rep.snapshot_id, rep.rows, (double)rep.us / 1e6);
    if (rep.marked)
        printf("commit %" PRId64 " (the serving table was at %s%" PRId64 "); the next run carries on from there\n",
               rep.commit, rep.previous < 0 ? "none: " : "", rep.previous < 0 ? 0 : rep.previous);
    else
        printf("the snapshot carries no serving commit number: the next run rebuilds its state from the input logs\n");
    return 0;
}

int ak_cmd_lake(ak_cli_t *c, int argc, char **argv)
{
    static const ak_subcmd_t subs[] = {
        {"scan", cmd_scan, "print the rows of a product's Iceberg table"},
        {"snapshots", cmd_snapshots, "list the snapshots of a product's Iceberg table"},
        {"restore", cmd_restore, "rebuild a product's serving table from its Iceberg table"},
    };
    return ak_cli_dispatch(c, "lake", "A product with output.format: iceberg publishes each micro-batch to an Iceberg v2\n"
                                      "table in its warehouse (output.warehouse, default $AKILI_HOME/lake) as well.",
                           subs, 3, argc, argv);
}
