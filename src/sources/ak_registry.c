/* ak_registry.c - the one place that lists connectors, and connection
 * config loading (JSON text -> validated option set). */
#include "ak_source.h"

#include "ak_cfg.h"

#include <stdio.h>
#include <string.h>

static const ak_source_ops_t *const all[] = {
    &ak_source_file, &ak_source_generator, &ak_source_redpanda, &ak_source_kafka, &ak_source_postgres, &ak_source_nats,
};

const ak_source_ops_t *const *ak_source_all(size_t *n)
{
    *n = sizeof all / sizeof all[0];
    return all;
}

const ak_source_ops_t *ak_source_find(const char *type)
{
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, type) == 0 && all[i]->abi_version == AK_SOURCE_ABI)
            return all[i];
    return NULL;
}

int ak_conn_load(const char *name, const char *type, const char *config_json, ak_conn_t *c, ak_cfg_doc_t **doc,
                 const ak_source_ops_t **ops, ak_err_t *err)
{
    *doc = NULL;
    const ak_source_ops_t *o = ak_source_find(type);
    if (!o) {
        char known[256] = "";
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
            strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, all[i]->name, sizeof known - strlen(known) - 1);
        }
        return ak_errf(err, AK_E_USAGE, "unknown connector type `%s` (known: %s)", type, known);
    }
    if (ak_cfg_parse("--config", config_json, strlen(config_json), doc, err))
        return -1;
    const ak_cfg_node_t *root = ak_cfg_root(*doc);
    if (root && root->kind != AK_CFG_MAP) {
        ak_cfg_free(*doc);
        *doc = NULL;
        return ak_errf(err, AK_E_CONFIG, "--config must be a JSON object such as '{\"path\": \"data/\"}'");
    }
    static char what[200];
    snprintf(what, sizeof what, "connection `%s` (%s)", name, type);
    c->name = name;
    c->type = o->name;
    c->product = NULL;
    c->opts = (ak_optset_t){o->options, o->n_options, root, what};
    if (ak_optset_validate(&c->opts, err)) {
        ak_cfg_free(*doc);
        *doc = NULL;
        return -1;
    }
    *ops = o;
    return 0;
}
