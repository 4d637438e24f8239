/* fuzz_manifest.c - libFuzzer target for the configuration layer.
 *
 * The input is used three ways: as one manifest file of an otherwise valid
 * product (the built-in files whose sections it defines are left out, so a
 * corpus of the example's files reaches every section loader), as a
 * `--config` connection string validated and read against a connector-like
 * option table, and as a cron / duration / size / ${ENV} string.  Every
 * path must either succeed or fail with an error message; ASan/UBSan and
 * the leak checker catch the rest.
 */
#include "ak_alloc.h"
#include "ak_cfg.h"
#include "ak_cron.h"
#include "ak_envref.h"
#include "ak_manifest.h"
#include "ak_options.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const ak_mfile_t base[] = {
    {"compute.yaml", "compute:\n  schedule: \"*/5 * * * *\"\n  resources: {cpu: \"2\", memory: 4Gi}\n  timeout: 240\n"
                     "  retries: 3\n", 0},
    {"inputs.yaml", "inputs:\n  - name: clickstream\n    connection: production-events\n    resource: clicks\n"
                    "    strategy: cdc\n    cursor_field: event_time\n    columns: [event_id, user_id, event_time]\n"
                    "  - name: user_profiles\n    connection: db\n    resource: public.users\n    strategy: incremental\n"
                    "    cursor_field: updated_at\n    primary_key: user_id\n    columns: [user_id, country]\n", 0},
    {"output.yaml", "output:\n  format: iceberg\n  partition_key: [session_start_date, country]\n  retention: {days: 90}\n"
                    "  schema:\n    - {name: user_id, type: string}\n    - {name: country, type: string}\n"
                    "    - {name: session_start, type: timestamp}\n", 0},
    {"product.yaml", "product:\n  name: user_sessions\n  namespace: analytics\n", 0},
    {"quality.yaml", "quality:\n  checks:\n    - name: no_null_users\n      sql: >\n        SELECT COUNT(*)\n"
                     "        FROM {{ this }}\n      threshold: 0\n", 0},
    {"serving.yaml", "serving:\n  modes:\n    - intent: analytics\n      config:\n        refresh_interval: 5m\n"
                     "        indexes: [{columns: [session_start, country], type: sort_key}]\n", 0},
    {"transform.sql", "SELECT user_id FROM {{ ref('clickstream') }}\n", 0},
};
#define N_BASE (sizeof base / sizeof base[0])

static const ak_option_t conn_opts[] = {
    {"brokers", AK_OPT_STRING_LIST, NULL, "Servers.", AK_OPT_REQUIRED | AK_OPT_NONEMPTY},
    {"security_protocol", AK_OPT_ENUM, "PLAINTEXT", "Protocol.", 0, "PLAINTEXT|SSL|SASL_SSL"},
    {"sasl_password", AK_OPT_STRING, NULL, "Password.", AK_OPT_SECRET | AK_OPT_ENV},
    {"port", AK_OPT_INT, "9092", "Port.", AK_OPT_ENV, NULL, 1, 65535},
    {"timeout", AK_OPT_DURATION, "30s", "Timeout."},
    {"buffer", AK_OPT_MEMORY, "1Mi", "Buffer."},
    {"ratio", AK_OPT_NUMBER, "0.5", "Ratio."},
    {"tls", AK_OPT_BOOL, "false", "TLS."},
    {"poll", AK_OPT_CRON, NULL, "Poll."},
    {"key_type", AK_OPT_DATATYPE, NULL, "Type."},
    {"table", AK_OPT_IDENT, NULL, "Table."},
    {"keys", AK_OPT_NAMES, NULL, "Keys."},
    {"extra", AK_OPT_MAP, NULL, "Extra."},
    {"items", AK_OPT_LIST, NULL, "Items."},
    {"rdkafka.", AK_OPT_STRING, NULL, "Passthrough.", AK_OPT_PASSTHROUGH_PREFIX},
};

/* Does the text define top-level section `name` (at the start of a line)? */
static int defines(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (strncmp(p, name, n) == 0 && p[n] == ':')
            return 1;
    }
    return 0;
}

static void as_manifest(const char *text, size_t len)
{
    ak_mfile_t files[N_BASE + 1];
    size_t n = 0;
    for (size_t i = 0; i < N_BASE; i++) {
        char sect[32];
        const char *dot = strchr(base[i].name, '.');
        size_t sl = (size_t)(dot - base[i].name);
        memcpy(sect, base[i].name, sl);
        sect[sl] = '\0';
        if (defines(text, strcmp(sect, "transform") == 0 ? "transform" : sect))
            continue;
        files[n] = base[i];
        files[n].len = strlen(base[i].text);
        n++;
    }
    files[n++] = (ak_mfile_t){"fuzz.yaml", text, len};
    ak_manifest_t *m = NULL;
    ak_err_t err;
    if (ak_manifest_load_files(files, n, &m, &err) == 0) {
        ak_buf_t b = AK_BUF_INIT;
        ak_manifest_dump(m, &b);
        ak_buf_free(&b);
        ak_schema_t s = {0, NULL};
        if (ak_manifest_output_schema(m, &s, &err) == 0)
            ak_schema_free(&s);
        for (size_t i = 0; i < m->n_inputs; i++)
            if (m->inputs[i].schedule)
                (void)ak_cron_next(&m->inputs[i].cron, 0);
        ak_manifest_free(m);
    } else if (!err.msg[0]) {
        abort(); /* a failure must say why */
    }
}

static void as_config(const char *text, size_t len)
{
    ak_cfg_doc_t *d = NULL;
    ak_err_t err;
    if (ak_cfg_parse("--config", text, len, &d, &err)) {
        if (!err.msg[0])
            abort();
        return;
    }
    ak_optset_t s = AK_OPTSET(conn_opts, ak_cfg_root(d), "connection `fuzz`");
    ak_buf_t b = AK_BUF_INIT;
    ak_options_to_json(&s, &b);
    ak_buf_free(&b);
    if (ak_optset_validate(&s, &err) == 0) {
        char *str = NULL, **list = NULL;
        size_t n;
        int64_t i;
        double x;
        bool flag;
        int e;
        if (ak_opt_str(&s, "sasl_password", &str, &err) == 0)
            ak_free(str);
        if (ak_opt_strlist(&s, "brokers", &list, &n, &err) == 0)
            ak_free(list);
        if (ak_opt_strlist(&s, "keys", &list, &n, &err) == 0)
            ak_free(list);
        (void)ak_opt_int(&s, "port", &i, &err);
        (void)ak_opt_duration(&s, "timeout", &i, &err);
        (void)ak_opt_memory(&s, "buffer", &i, &err);
        (void)ak_opt_double(&s, "ratio", &x, &err);
        (void)ak_opt_bool(&s, "tls", &flag, &err);
        (void)ak_opt_enum(&s, "security_protocol", &e, &err);
    }
    ak_cfg_free(d);
}

static void as_string(const char *text)
{
    ak_cron_t c;
    ak_err_t err;
    size_t off;
    int64_t v;
    char *out = NULL;
    if (ak_cron_parse_at(text, &c, &off, &err) == 0) {
        int64_t t = ak_cron_next(&c, INT64_C(1793491200000000));
        if (t != -1 && ak_cron_next(&c, t) <= t)
            abort(); /* must move forward */
    } else if (off > strlen(text)) {
        abort();
    }
    if (ak_parse_duration(text, &v, &err) == 0) {
        char buf[AK_DURATION_BUF];
        int64_t back = -1;
        ak_format_duration(v, buf);
        if (ak_parse_duration(buf, &back, &err) || back != v)
            abort(); /* formatting round-trips */
    }
    (void)ak_parse_memory(text, &v, &err);
    if (ak_env_redact(text, "password", false, &out, &err) == 0)
        ak_free(out);
    if (ak_env_resolve(text, &out, "fuzz", &err) == 0)
        ak_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    as_manifest(text, size);
    as_config(text, size);
    if (size < 256)
        as_string(text);
    free(text);
    return 0;
}
