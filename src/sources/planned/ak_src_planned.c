/* ak_src_planned.c - connectors whose configuration akili already knows
 * (so `akili connection create` validates it) but which are not built yet:
 * NATS JetStream.  Using one fails with a
 * clear error instead of pretending to succeed. */
#include "ak_source.h"

static int not_built(const char *type, ak_err_t *err)
{
    return ak_errf(err, AK_E_NOTBUILT,
                   "the `%s` connector is not built yet in this version of akili: its connections can be created "
                   "and listed, but not tested or run. Use a `file` or `generator` connection for now",
                   type);
}

#define PLANNED(var, type_name, summary_text, table)                                                          \
    static int var##_test(const ak_conn_t *c, ak_buf_t *r, ak_err_t *e)                                        \
    {                                                                                                          \
        (void)c;                                                                                               \
        (void)r;                                                                                               \
        return not_built(type_name, e);                                                                        \
    }                                                                                                          \
    static int var##_open(const ak_conn_t *c, const ak_input_t *in, const char *p, ak_source_t **o, ak_err_t *e) \
    {                                                                                                          \
        (void)c;                                                                                               \
        (void)in;                                                                                              \
        (void)p;                                                                                               \
        *o = NULL;                                                                                             \
        return not_built(type_name, e);                                                                        \
    }                                                                                                          \
    const ak_source_ops_t var = {AK_SOURCE_ABI, type_name, summary_text, table,                                \
                                 sizeof table / sizeof table[0], false, var##_test, var##_open,                \
                                 NULL, NULL, NULL, NULL};

static const ak_option_t nats_opts[] = {
    {"url", AK_OPT_STRING, "nats://127.0.0.1:4222", "Server URL.", AK_OPT_ENV},
    {"stream", AK_OPT_STRING, NULL, "JetStream stream name.", AK_OPT_REQUIRED},
    {"subjects", AK_OPT_NAMES, NULL, "Subjects to consume (wildcards allowed).", AK_OPT_NONEMPTY},
    {"durable", AK_OPT_STRING, NULL, "Durable consumer name.", 0},
    {"user", AK_OPT_STRING, NULL, "User name.", AK_OPT_ENV},
    {"password", AK_OPT_STRING, NULL, "Password; write `${ENV_VAR}`.", AK_OPT_ENV | AK_OPT_SECRET},
    {"token", AK_OPT_STRING, NULL, "Auth token; write `${ENV_VAR}`.", AK_OPT_ENV | AK_OPT_SECRET},
};

PLANNED(ak_source_nats, "nats", "NATS JetStream subjects carrying Debezium envelopes", nats_opts)
