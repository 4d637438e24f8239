/* cmd_run.c - `akili run start|list|reset`, `akili governance quality|sla`
 * and `akili deadletter list`. */
#include "ak_cli.h"

#include "ak_alloc.h"
#include "ak_engine.h"
#include "ak_out.h"
#include "ak_quality.h"
#include "ak_tables.h"
#include "ak_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int one_product(ak_args_t *a, const char *cmd, const char **name)
{
    if (a->npos != 1)
        return ak_usage_error(cmd, "expected one product name");
    *name = a->pos[0];
    return 0;
}

static int start(ak_cli_t *c, int argc, char **argv)
{
    static const ak_argopt_t opts[] = {
        {"once", NULL, "read what the sources have now, publish, and exit"},
        {"interval", "SECONDS", "how long an idle continuous run waits before polling again (default 0.02)"},
        {"batches", "N", "stop a continuous run after N evaluated micro-batches"},
        {"checkpoint-interval", "SECONDS", "how often state is made durable (default: compute.checkpoint_interval, 10)"},
    };
    ak_args_t a;
    if (ak_args_parse(&a, opts, 4, argc, argv, "run start"))
        return 2;
    if (a.help) {
        printf("usage: akili run start NAME [--once] [--interval SECONDS] [--batches N] [--checkpoint-interval SECONDS]\n\n"
               "Runs the product's deployed version.  Without --once it follows its sources until stopped\n"
               "(Ctrl-C or SIGTERM finish the current micro-batch and exit 0; a second signal exits at once).\n"
               "Each micro-batch reads what is new, applies it incrementally to the transform's operators\n"
               "(its cost follows what changed, not everything read so far), runs the quality checks on the\n"
               "changed candidate and publishes the changes in one transaction unless a critical check fails;\n"
               "held changes are published with the first micro-batch that passes.  `akili explain NAME`\n"
               "shows the operators.  AKILI_NO_INCREMENTAL=1 re-evaluates the whole SQL instead (for checks).\n"
               "State (input tables, operators, held changes) is checkpointed every checkpoint interval and\n"
               "when the run stops; a restart, even after kill -9, restores it and replays the input logs from\n"
               "there, and the serving table ends as if the run had never stopped.\n"
               "Exit code 1 when the run fails or its last batch was blocked by a quality gate.\n\n");
        ak_args_print(opts, 4);
        return 0;
    }
    const char *name = NULL;
    if (one_product(&a, "run start", &name))
        return 2;
    ak_engine_opts_t o = {0};
    o.once = ak_args_flag(&a, "once");
    o.progress = !c->quiet;
    const char *iv = ak_args_get(&a, "interval"), *nb = ak_args_get(&a, "batches");
    const char *ci = ak_args_get(&a, "checkpoint-interval");
    if (ci) {
        char *e;
        double s = strtod(ci, &e);
        if (*e || s < 0.01)
            return ak_usage_error("run start", "--checkpoint-interval needs at least 0.01 seconds, got `%s`", ci);
        o.checkpoint_us = (int64_t)(s * 1e6);
    }
    if (iv) {
        char *e;
        double s = strtod(iv, &e);
        if (*e || s <= 0)
            return ak_usage_error("run start", "--interval needs a positive number of seconds, got `%s`", iv);
        o.interval_us = (int64_t)(s * 1e6);
    }
    if (nb) {
        char *e;
        long long v = strtoll(nb, &e, 10);
        if (*e || v <= 0)
            return ak_usage_error("run start", "--batches needs a positive integer, got `%s`", nb);
        o.max_batches = v;
    }
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_run_summary_t s;
    ak_err_t err;
    int64_t t0 = ak_mono_us();
    if (ak_engine_run(cat, name, &o, &s, &err)) {
        if (s.run_id)
            fprintf(stderr, "akili: run #%" PRId64 " of %s failed\n", s.run_id, name);
        return ak_cli_fail(&err);
    }
    double secs = (double)(ak_mono_us() - t0) / 1e6;
    printf("run #%" PRId64 " %s in %.2f s: %" PRId64 " record%s read, %" PRId64 " dead letter%s, %" PRId64
           " rows in the %s table (%" PRId64 " batch%s, %" PRId64 " published)\n",
           s.run_id, ak_run_status_name(s.status), secs, s.records_in, s.records_in == 1 ? "" : "s", s.deadletters,
           s.deadletters == 1 ? "" : "s", s.rows_out, s.status == AK_RUN_BLOCKED ? "candidate" : "published",
           s.batches, s.batches == 1 ? "" : "es", s.published);
    if (s.message[0])
        printf("%s\n", s.message);
    return s.status == AK_RUN_BLOCKED ? 1 : 0;
}

static void duration(int64_t a, int64_t b, char *out, size_t cap)
{
    if (!a || !b) {
        snprintf(out, cap, "-");
        return;
    }
    double s = (double)(b - a) / 1e6;
    if (s < 60)
        snprintf(out, cap, "%.1fs", s);
    else if (s < 3600)
        snprintf(out, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(out, cap, "%dh%02dm", (int)s / 3600, (int)s / 60 % 60);
}

static int list(ak_cli_t *c, int argc, char **argv)
{
    static const ak_argopt_t opts[] = {{"limit", "N", "how many recent runs (default 20)"}};
    ak_args_t a;
    if (ak_args_parse(&a, opts, 1, argc, argv, "run list"))
        return 2;
    if (a.help) {
        printf("usage: akili run list NAME [--limit N]\n\nRecent runs, newest first, with records read, dead letters and rows published.\n\n");
        ak_args_print(opts, 1);
        return 0;
    }
    const char *name = NULL;
    if (one_product(&a, "run list", &name))
        return 2;
    int limit = ak_args_get(&a, "limit") ? atoi(ak_args_get(&a, "limit")) : 20;
    if (limit <= 0)
        return ak_usage_error("run list", "--limit needs a positive integer");
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_product_rec_t p;
    ak_err_t err;
    if (ak_cat_product_get(cat, name, &p, &err))
        return ak_cli_fail(&err);
    ak_cat_product_free(&p);
    ak_cat_run_reap(cat, name, &err);
    ak_run_rec_t *v;
    size_t n;
    if (ak_cat_run_list(cat, name, limit, &v, &n, &err))
        return ak_cli_fail(&err);
    const char *head[] = {"RUN", "STATUS", "TRIGGER", "VERSION", "STARTED", "DURATION", "RECORDS", "DEAD LETTERS",
                          "ROWS", "PUBLISHED", "MESSAGE"};
    ak_grid_t g;
    ak_grid_init(&g, 11, head);
    for (size_t i = 0; i < n; i++) {
        char id[32], t[64], d[32], rin[32], dl[32], rows[32], pub[32];
        snprintf(id, sizeof id, "#%" PRId64, v[i].id);
        duration(v[i].started_us, v[i].finished_us ? v[i].finished_us : (v[i].status == AK_RUN_RUNNING ? ak_wall_us() : 0),
                 d, sizeof d);
        snprintf(rin, sizeof rin, "%" PRId64, v[i].records_in);
        snprintf(dl, sizeof dl, "%" PRId64, v[i].deadletters);
        snprintf(rows, sizeof rows, "%" PRId64, v[i].rows_out);
        snprintf(pub, sizeof pub, "%" PRId64, v[i].published);
        ak_grid_add(&g, id, ak_run_status_name(v[i].status), v[i].trigger, v[i].version,
                    ak_out_time(v[i].started_us, t, sizeof t), d, rin, dl, rows, pub, v[i].message);
    }
    if (n)
        ak_grid_print(stdout, &g);
    else
        printf("no runs of `%s` yet (start one with `akili run start %s --once`)\n", name, name);
    ak_grid_free(&g);
    ak_cat_run_free_list(v, n);
    return 0;
}

static int reset(ak_cli_t *c, int argc, char **argv)
{
    ak_args_t a;
    if (ak_args_parse(&a, NULL, 0, argc, argv, "run reset"))
        return 2;
    if (a.help) {
        printf("usage: akili run reset NAME\n\nForgets what the product has read (its input logs and source positions): the next\n"
               "run reads every input again from the start.  The published table stays until that run.\n\n");
        ak_args_print(NULL, 0);
        return 0;
    }
    const char *name = NULL;
    if (one_product(&a, "run reset", &name))
        return 2;
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_err_t err;
    if (ak_engine_reset(cat, name, &err))
        return ak_cli_fail(&err);
    printf("`%s` will read its inputs from the start at its next run\n", name);
    return 0;
}

int ak_cmd_run(ak_cli_t *c, int argc, char **argv)
{
    static const ak_subcmd_t subs[] = {
        {"start", start, "run a product (once, or following its sources)"},
        {"list", list, "recent runs of a product"},
        {"reset", reset, "make the next run read its inputs from the start"},
    };
    return ak_cli_dispatch(c, "run", "Runs ingest new input, evaluate the transform, gate on quality and publish.", subs,
                           3, argc, argv);
}

/* ---- governance ---- */

static void fmt_num(bool has, double v, char *out, size_t cap)
{
    if (!has)
        snprintf(out, cap, "NULL");
    else
        ak_fmt_double(v, out, cap);
    size_t n = strlen(out);
    if (n > 2 && strcmp(out + n - 2, ".0") == 0)
        out[n - 2] = '\0';
}

static int quality(ak_cli_t *c, int argc, char **argv)
{
    ak_args_t a;
    if (ak_args_parse(&a, NULL, 0, argc, argv, "governance quality"))
        return 2;
    if (a.help) {
        printf("usage: akili governance quality NAME\n\nThe latest result of each quality check: its value, threshold and whether it passed.\n"
               "A failed critical check blocks publishing; a failed warning is recorded only.\n\n");
        ak_args_print(NULL, 0);
        return 0;
    }
    const char *name = NULL;
    if (one_product(&a, "governance quality", &name))
        return 2;
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_product_rec_t p;
    ak_err_t err;
    if (ak_cat_product_get(cat, name, &p, &err))
        return ak_cli_fail(&err);
    ak_cat_product_free(&p);
    ak_quality_rec_t *v;
    size_t n;
    if (ak_cat_quality_latest(cat, name, &v, &n, &err))
        return ak_cli_fail(&err);
    const char *head[] = {"CHECK", "SEVERITY", "VALUE", "THRESHOLD", "RESULT", "RUN", "CHECKED", "NOTE"};
    ak_grid_t g;
    ak_grid_init(&g, 8, head);
    for (size_t i = 0; i < n; i++) {
        char val[64], thr[64], run[32], t[64];
        fmt_num(v[i].has_value, v[i].value, val, sizeof val);
        fmt_num(true, v[i].threshold, thr, sizeof thr);
        snprintf(run, sizeof run, "#%" PRId64, v[i].run_id);
        bool critical = strcmp(v[i].severity, "critical") == 0;
        const char *res = v[i].passed ? "pass" : critical ? "FAIL (blocks publish)" : "warn";
        ak_grid_add(&g, v[i].check, v[i].severity, val, thr, res, run, ak_out_time(v[i].at_us, t, sizeof t),
                    v[i].message);
    }
    if (n)
        ak_grid_print(stdout, &g);
    else
        printf("no quality results for `%s` yet: they are recorded by each run\n", name);
    ak_grid_free(&g);
    ak_cat_quality_free_list(v, n);
    return 0;
}

/* {{ this }} = the published table, for evaluating checks now. */
typedef struct sla_env {
    ak_tables_t *tables;
} sla_env_t;

static int sla(ak_cli_t *c, int argc, char **argv)
{
    static const ak_argopt_t opts[] = {
        {"check", NULL, "exit with code 1 when freshness is breached or unknown (for monitoring)"},
    };
    ak_args_t a;
    if (ak_args_parse(&a, opts, 1, argc, argv, "governance sla"))
        return 2;
    if (a.help) {
        printf("usage: akili governance sla NAME [--check]\n\nFreshness of the published table against the product's freshness check (evaluated now,\n"
               "on the published table), the last publish, the schedule and recent run outcomes.\n\n");
        ak_args_print(opts, 1);
        return 0;
    }
    const char *name = NULL;
    if (one_product(&a, "governance sla", &name))
        return 2;
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_err_t err;
    ak_manifest_t *m;
    char *version = NULL;
    if (ak_engine_manifest(cat, name, &m, &version, &err))
        return ak_cli_fail(&err);
    int64_t now;
    if (ak_engine_now(&now, &err)) {
        ak_manifest_free(m);
        ak_free(version);
        return ak_cli_fail(&err);
    }
    char t[64], t2[64];
    printf("product:        %s.%s (version %s)\n", m->product.namespace, m->product.name, version);
    /* runs */
    ak_run_rec_t *runs = NULL;
    size_t nr = 0;
    ak_cat_run_reap(cat, name, &err);
    ak_cat_run_list(cat, name, 50, &runs, &nr, &err);
    int64_t last_pub = 0, last_pub_run = 0;
    int counts[5] = {0};
    for (size_t i = 0; i < nr; i++) {
        if (i < 20 && runs[i].status < 5)
            counts[runs[i].status]++;
        if (!last_pub && runs[i].last_publish_us) {
            last_pub = runs[i].last_publish_us;
            last_pub_run = runs[i].id;
        }
    }
    if (nr)
        printf("last run:       #%" PRId64 " %s, started %s\n", runs[0].id, ak_run_status_name(runs[0].status),
               ak_out_time(runs[0].started_us, t, sizeof t));
    else
        printf("last run:       none\n");
    if (last_pub)
        printf("last publish:   %s (run #%" PRId64 ", %.0f min ago)\n", ak_out_time(last_pub, t, sizeof t), last_pub_run,
               (double)(ak_wall_us() - last_pub) / 6e7);
    else
        printf("last publish:   never\n");
    /* freshness: the product's freshness check, on the published table, now */
    const ak_check_t *fresh = NULL;
    for (size_t i = 0; i < m->quality.n_checks && !fresh; i++)
        if (strcasestr(m->quality.checks[i].name, "fresh"))
            fresh = &m->quality.checks[i];
    int exit_code = 0;
    if (!fresh) {
        printf("freshness:      no freshness check declared (add a quality check named `freshness`)\n");
    } else if (!last_pub) {
        printf("freshness:      unknown: nothing published yet (threshold %g)\n", fresh->threshold);
        exit_code = 1;
    } else {
        ak_tables_t *tables = NULL;
        ak_sql_table_t tab;
        ak_rel_t *pub = NULL;
        memset(&tab, 0, sizeof tab);
        if (ak_tables_new(cat, false, &tables, &err) ||
            ak_tables_resolve(tables, AK_SQL_TABLE, m->product.namespace, m->product.name, &tab, &err) != 0 ||
            tab.scan(tab.ctx, NULL, 0, &pub, &err)) {
            printf("freshness:      cannot read the published table: %s\n", err.msg);
            exit_code = 1;
        } else {
            ak_manifest_t one = *m;
            one.quality.checks = (ak_check_t *)fresh;
            one.quality.n_checks = 1;
            ak_sql_env_t env = {ak_tables_resolve, tables, now, "sla", 1};
            ak_check_result_t res;
            bool blocked;
            if (ak_quality_run(&one, pub, &env, &res, &blocked, &err) == 0) {
                char val[64], unit[16] = "";
                fmt_num(res.has_value, res.value, val, sizeof val);
                if (strcasestr(fresh->sql, "'minute") || strcasestr(fresh->sql, "minute"))
                    snprintf(unit, sizeof unit, " min");
                else if (strcasestr(fresh->sql, "'hour"))
                    snprintf(unit, sizeof unit, " h");
                else if (strcasestr(fresh->sql, "'second"))
                    snprintf(unit, sizeof unit, " s");
                if (res.error)
                    printf("freshness:      check `%s` could not run: %s\n", fresh->name, res.error);
                else
                    printf("freshness:      %s%s behind now (threshold %g%s, check `%s`): %s\n", val, unit,
                           fresh->threshold, unit, fresh->name, res.passed ? "OK" : "BREACHED");
                if (!res.passed)
                    exit_code = 1;
                ak_quality_results_free(&res, 1);
            } else {
                printf("freshness:      %s\n", err.msg);
                exit_code = 1;
            }
        }
        ak_rel_free(pub);
        ak_tables_free(tables);
    }
    printf("clock:          %s%s\n", ak_out_time(now, t, sizeof t), getenv("AKILI_NOW") ? " (pinned by AKILI_NOW)" : "");
    if (m->compute.schedule) {
        int64_t next = ak_cron_next(&m->compute.cron, now);
        printf("schedule:       %s (next due %s)\n", m->compute.schedule, ak_out_time(next, t2, sizeof t2));
    }
    printf("compute:        timeout %" PRId64 " s, %" PRId64 " retr%s\n", m->compute.timeout_s, m->compute.retries,
           m->compute.retries == 1 ? "y" : "ies");
    printf("recent runs:    %d succeeded, %d blocked, %d failed, %d stopped, %d running (last %zu)\n",
           counts[AK_RUN_SUCCEEDED], counts[AK_RUN_BLOCKED], counts[AK_RUN_FAILED], counts[AK_RUN_STOPPED],
           counts[AK_RUN_RUNNING], nr < 20 ? nr : 20);
    ak_cat_run_free_list(runs, nr);
    ak_manifest_free(m);
    ak_free(version);
    return ak_args_flag(&a, "check") ? exit_code : 0;
}

int ak_cmd_governance(ak_cli_t *c, int argc, char **argv)
{
    static const ak_subcmd_t subs[] = {
        {"quality", quality, "latest quality check results"},
        {"sla", sla, "freshness and run health"},
    };
    return ak_cli_dispatch(c, "governance", "Quality gates and service levels of products.", subs, 2, argc, argv);
}

/* ---- dead letters ---- */

static int dl_list(ak_cli_t *c, int argc, char **argv)
{
    static const ak_argopt_t opts[] = {
        {"limit", "N", "at most N records (default 100)"},
        {"format", "FMT", "table (default) or json"},
    };
    ak_args_t a;
    if (ak_args_parse(&a, opts, 2, argc, argv, "deadletter list"))
        return 2;
    if (a.help) {
        printf("usage: akili deadletter list NAME [--limit N] [--format table|json]\n\n"
               "Records a run could not read: where they were, why, and their raw bytes (in JSON, a CSV\n"
               "line's file header too: it is read again with that header).\n\n");
        ak_args_print(opts, 2);
        return 0;
    }
    const char *name = NULL;
    if (one_product(&a, "deadletter list", &name))
        return 2;
    int limit = ak_args_get(&a, "limit") ? atoi(ak_args_get(&a, "limit")) : 100;
    const char *fmt = ak_args_get(&a, "format");
    bool json = fmt && strcmp(fmt, "json") == 0;
    if (fmt && !json && strcmp(fmt, "table") != 0)
        return ak_usage_error("deadletter list", "--format is table or json");
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_deadletter_rec_t *v;
    size_t n;
    ak_err_t err;
    if (ak_cat_deadletter_list(cat, name, limit > 0 ? limit : 100, &v, &n, &err))
        return ak_cli_fail(&err);
    if (json) {
        for (size_t i = 0; i < n; i++) {
            ak_buf_t b = AK_BUF_INIT;
            ak_buf_printf(&b, "{\"id\":%" PRId64 ",\"run\":%" PRId64 ",\"input\":", v[i].id, v[i].run_id);
            ak_buf_put_json_str(&b, v[i].input, strlen(v[i].input));
            ak_buf_puts(&b, ",\"position\":");
            ak_buf_put_json_str(&b, v[i].position ? v[i].position : "", v[i].position ? strlen(v[i].position) : 0);
            ak_buf_puts(&b, ",\"reason\":");
            ak_buf_put_json_str(&b, v[i].reason, strlen(v[i].reason));
            ak_buf_puts(&b, ",\"raw\":");
            ak_buf_put_json_str(&b, v[i].raw, v[i].raw_len);
            if (v[i].header) {
                ak_buf_puts(&b, ",\"header\":");
                ak_buf_put_json_str(&b, v[i].header, v[i].header_len);
            }
            ak_buf_puts(&b, "}\n");
            fputs(b.data ? b.data : "", stdout);
            ak_buf_free(&b);
        }
    } else {
        const char *head[] = {"ID", "RUN", "INPUT", "POSITION", "REASON", "RAW"};
        ak_grid_t g;
        ak_grid_init(&g, 6, head);
        for (size_t i = 0; i < n; i++) {
            char id[32], run[32], raw[64];
            snprintf(id, sizeof id, "%" PRId64, v[i].id);
            snprintf(run, sizeof run, "#%" PRId64, v[i].run_id);
            size_t k = 0;
            for (size_t j = 0; j < v[i].raw_len && k < 50; j++)
                raw[k++] = (unsigned char)v[i].raw[j] < 0x20 ? ' ' : v[i].raw[j];
            if (v[i].raw_len > 50) {
                memcpy(raw + k, "...", 3);
                k += 3;
            }
            raw[k] = '\0';
            ak_grid_add(&g, id, run, v[i].input, v[i].position, v[i].reason, raw);
        }
        if (n)
            ak_grid_print(stdout, &g);
        else
            printf("no dead letters for `%s`\n", name);
        ak_grid_free(&g);
    }
    ak_cat_deadletter_free_list(v, n);
    return 0;
}

static int dl_replay(ak_cli_t *c, int argc, char **argv)
{
    static const ak_argopt_t opts[] = {
        {"id", "ID", "only this dead letter (default: all of the product's)"},
    };
    ak_args_t a;
    if (ak_args_parse(&a, opts, 1, argc, argv, "deadletter replay"))
        return 2;
    if (a.help) {
        printf("usage: akili deadletter replay NAME [--id ID]\n\n"
               "Queues dead letters to be read again by the product's next micro-batch (a running continuous\n"
               "run picks them up within a second; otherwise the next `run start`), with the deployed\n"
               "version's input definitions (a CSV line with the header of the file it came from): a record that\n"
               "now decodes joins the input exactly once and leaves the dead letters; one that still fails stays,\n"
               "with the new reason.\n\n");
        ak_args_print(opts, 1);
        return 0;
    }
    const char *name = NULL;
    if (one_product(&a, "deadletter replay", &name))
        return 2;
    int64_t id = 0;
    const char *ids = ak_args_get(&a, "id");
    if (ids) {
        char *e;
        long long v = strtoll(ids, &e, 10);
        if (*e || v <= 0)
            return ak_usage_error("deadletter replay", "--id needs a dead letter's number, got `%s`", ids);
        id = v;
    }
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_err_t err;
    ak_product_rec_t prod;
    int64_t queued;
    if (ak_cat_product_get(cat, name, &prod, &err))
        return ak_cli_fail(&err);
    ak_cat_product_free(&prod);
    if (ak_cat_deadletter_queue(cat, name, id, &queued, &err))
        return ak_cli_fail(&err);
    if (!queued) {
        fprintf(stderr, "akili: error: %s\n", id ? "no dead letter with that id for this product" : "no dead letters");
        return 1;
    }
    printf("%" PRId64 " dead letter%s queued: the next micro-batch of `%s` reads %s again\n", queued,
           queued == 1 ? "" : "s", name, queued == 1 ? "it" : "them");
    return 0;
}

int ak_cmd_deadletter(ak_cli_t *c, int argc, char **argv)
{
    static const ak_subcmd_t subs[] = {
        {"list", dl_list, "records that could not be read"},
        {"replay", dl_replay, "read dead letters again with the deployed definitions"},
    };
    return ak_cli_dispatch(c, "deadletter", "Records that could not be decoded or typed are kept with the reason.", subs,
                           2, argc, argv);
}
