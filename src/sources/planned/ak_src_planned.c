/* ak_src_planned.c - connectors whose configuration akili already knows
 * (so `akili connection create` validates it) but which are not built yet:
 * Kafka/Redpanda and PostgreSQL.  Using one fails with a
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

static const ak_option_t kafka_opts[] = {
    {"brokers", AK_OPT_NAMES, NULL, "Bootstrap brokers, `host:port`.", AK_OPT_REQUIRED | AK_OPT_NONEMPTY | AK_OPT_ENV},
    {"security_protocol", AK_OPT_ENUM, "PLAINTEXT", "How to reach the brokers.", 0, "PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL"},
    {"sasl_mechanism", AK_OPT_ENUM, NULL, "SASL mechanism.", 0, "PLAIN|SCRAM-SHA-256|SCRAM-SHA-512|OAUTHBEARER"},
    {"sasl_username", AK_OPT_STRING, NULL, "SASL user name.", AK_OPT_ENV},
    {"sasl_password", AK_OPT_STRING, NULL, "SASL password; write `${ENV_VAR}`.", AK_OPT_ENV | AK_OPT_SECRET},
    {"group_id", AK_OPT_STRING, NULL, "Consumer group (default: `akili-<product>`).", AK_OPT_ENV},
    {"librdkafka.", AK_OPT_STRING, NULL, "Any other librdkafka property, passed through.", AK_OPT_PASSTHROUGH_PREFIX | AK_OPT_ENV},
};

static const ak_option_t postgres_opts[] = {
    {"host", AK_OPT_STRING, "localhost", "Server host name or address.", AK_OPT_ENV},
    {"port", AK_OPT_INT, "5432", "Server port.", AK_OPT_ENV, NULL, 1, 65535},
    {"database", AK_OPT_STRING, NULL, "Database name.", AK_OPT_REQUIRED | AK_OPT_ENV},
    {"user", AK_OPT_STRING, NULL, "User name.", AK_OPT_ENV},
    {"password", AK_OPT_STRING, NULL, "Password; write `${ENV_VAR}`.", AK_OPT_ENV | AK_OPT_SECRET},
    {"sslmode", AK_OPT_ENUM, "prefer", "libpq sslmode.", 0, "disable|allow|prefer|require|verify-ca|verify-full"},
    {"slot", AK_OPT_IDENT, NULL, "Replication slot for `strategy: cdc` (created when missing).", 0},
    {"publication", AK_OPT_IDENT, NULL, "Publication for `strategy: cdc` (created when missing).", 0},
};


PLANNED(ak_source_kafka, "kafka", "Apache Kafka topics (Debezium JSON or plain rows)", kafka_opts)
PLANNED(ak_source_redpanda, "redpanda", "Redpanda topics (Kafka protocol)", kafka_opts)
PLANNED(ak_source_postgres, "postgres", "PostgreSQL tables: incremental by cursor, or CDC by logical replication", postgres_opts)
