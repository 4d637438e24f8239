/* cmd_state.c - `akili state inspect`: what a product's run keeps in memory,
 * as of its last checkpoint. */
#include "ak_cli.h"

#include "ak_cfg.h"
#include "ak_engine.h"
#include "ak_out.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *scalar(const ak_cfg_node_t *map, const char *key)
{
    const ak_cfg_node_t *v = map ? ak_cfg_get(map, key) : NULL;
    return v && v->kind == AK_CFG_SCALAR ? v->text : NULL;
}

static void mb(char *buf, size_t cap, const char *bytes)
{
    double b = bytes ? strtod(bytes, NULL) : 0;
    if (b < 1024 * 1024)
        snprintf(buf, cap, "%.1f KB", b / 1024.0);
    else
        snprintf(buf, cap, "%.1f MB", b / 1048576.0);
}

static int print_table(const char *name, const ak_buf_t *json)
{
    ak_cfg_doc_t *doc;
    ak_err_t err;
    if (ak_cfg_parse("state.json", json->data, json->len, &doc, &err))
        return ak_cli_fail(&err);
    const ak_cfg_node_t *root = ak_cfg_root(doc);
    const ak_cfg_node_t *hs = ak_cfg_get(root, "holders");
    const char *taken = scalar(root, "taken_us");
    char when[64] = "?", disk[32], total[32];
    if (taken)
        ak_out_time(strtoll(taken, NULL, 10), when, sizeof when);
    mb(disk, sizeof disk, scalar(root, "disk_bytes"));
    double sum = 0;
    const char *head[] = {"HOLDER", "MEMORY", "KEYS", "OLDEST KEY"};
    ak_grid_t g;
    ak_grid_init(&g, 4, head);
    for (size_t i = 0; hs && hs->kind == AK_CFG_SEQ && i < hs->n; i++) {
        const ak_cfg_node_t *h = hs->items[i];
        char mem[32];
        mb(mem, sizeof mem, scalar(h, "bytes"));
        sum += strtod(scalar(h, "bytes") ? scalar(h, "bytes") : "0", NULL);
        const char *keys = scalar(h, "keys");
        ak_grid_add(&g, scalar(h, "name"), mem, keys && strcmp(keys, "0") ? keys : NULL, scalar(h, "oldest"));
    }
    snprintf(total, sizeof total, "%.1f MB", sum / 1048576.0);
    printf("state of `%s` (version %s) at checkpoint %s, %s: %s in memory, %s on disk in %s segment%s\n\n", name,
           scalar(root, "version") ? scalar(root, "version") : "?", scalar(root, "checkpoint") ? scalar(root, "checkpoint") : "?",
           when, total, disk, scalar(root, "segments") ? scalar(root, "segments") : "?",
           scalar(root, "segments") && strcmp(scalar(root, "segments"), "1") == 0 ? "" : "s");
    ak_grid_print(stdout, &g);
    ak_grid_free(&g);
    ak_cfg_free(doc);
    return 0;
}

static int inspect(ak_cli_t *c, int argc, char **argv)
{
    static const ak_argopt_t opts[] = {
        {"format", "FMT", "table (default) or json"},
    };
    ak_args_t a;
    if (ak_args_parse(&a, opts, 1, argc, argv, "state inspect"))
        return 2;
    if (a.help) {
        printf("usage: akili state inspect NAME [--format table|json]\n\n"
               "What a run of the product keeps, as of its last checkpoint (one is taken every\n"
               "compute.checkpoint_interval and when a run stops): for each input table, operator of the\n"
               "transform, the quality checks and the serving sink, its size in memory, how many keys it\n"
               "holds, and its oldest key (the one whose newest row is oldest).\n\n");
        ak_args_print(opts, 1);
        return 0;
    }
    if (a.npos != 1)
        return ak_usage_error("state inspect", "expected one product name");
    const char *name = a.pos[0];
    const char *fmt = ak_args_get(&a, "format");
    bool json = fmt && strcmp(fmt, "json") == 0;
    if (fmt && !json && strcmp(fmt, "table") != 0)
        return ak_usage_error("state inspect", "--format is table or json");
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_buf_t b = AK_BUF_INIT;
    ak_err_t err;
    rc = ak_engine_state_report(cat, name, &b, &err);
    if (rc < 0) {
        ak_buf_free(&b);
        return ak_cli_fail(&err);
    }
    if (rc == 1) {
        printf("`%s` has no state yet: it appears with the first checkpoint of a run (`akili run start %s`)\n", name,
               name);
        rc = 0;
    } else if (json) {
        fwrite(b.data, 1, b.len, stdout);
    } else {
        rc = print_table(name, &b);
    }
    ak_buf_free(&b);
    return rc;
}

int ak_cmd_state(ak_cli_t *c, int argc, char **argv)
{
    static const ak_subcmd_t subs[] = {
        {"inspect", inspect, "state size per operator and the oldest key"},
    };
    return ak_cli_dispatch(c, "state", "What a product's runs keep in memory and checkpoint.", subs, 1, argc, argv);
}
