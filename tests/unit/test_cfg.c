/* test_cfg.c - the config tree (positions, syntax errors, duplicates),
 * typed reads, option tables (validation messages, defaults, env
 * resolution, redaction, Markdown), suggestions and ${ENV} references. */
#include "ak_alloc.h"
#include "ak_cfg.h"
#include "ak_envref.h"
#include "ak_options.h"
#include "ak_suggest.h"
#include "ak_test.h"

static ak_err_t err;

static ak_cfg_doc_t *parse(const char *file, const char *text)
{
    ak_cfg_doc_t *d = NULL;
    if (ak_cfg_parse(file, text, strlen(text), &d, &err)) {
        fprintf(stderr, "  parse %s: %s\n", file, err.msg);
        ak__failed_checks++;
    }
    return d;
}

/* The error message of parsing text, or "(ok)". */
static const char *parse_err(const char *file, const char *text)
{
    ak_cfg_doc_t *d = NULL;
    if (ak_cfg_parse(file, text, strlen(text), &d, &err) == 0) {
        ak_cfg_free(d);
        return "(ok)";
    }
    AK_CHECK(d == NULL);
    return err.msg;
}

AK_TEST(tree_and_positions)
{
    ak_cfg_doc_t *d = parse("a.yaml", "# c\nproduct:\n  name: x\n  tags:\n    - 'one'\n    - \"two\"\n"
                                      "  sql: |\n    SELECT 1\n    FROM t\n  folded: >\n    a\n    b\n  empty:\n");
    const ak_cfg_node_t *r = ak_cfg_root(d);
    AK_CHECK(r && r->kind == AK_CFG_MAP && r->n == 1);
    const ak_cfg_node_t *p = ak_cfg_get(r, "product");
    AK_CHECK_EQ_INT(p->line, 3);
    AK_CHECK_EQ_INT(p->col, 3);
    AK_CHECK_STR(p->file, "a.yaml");
    const ak_cfg_node_t *name = ak_cfg_get(p, "name");
    AK_CHECK_STR(name->text, "x");
    AK_CHECK(!name->quoted && name->style == AK_CFG_PLAIN);
    AK_CHECK_EQ_INT(name->line, 3);
    AK_CHECK_EQ_INT(name->col, 9);
    const ak_cfg_node_t *tags = ak_cfg_get(p, "tags");
    AK_CHECK(tags->kind == AK_CFG_SEQ && tags->n == 2);
    AK_CHECK_STR(tags->items[0]->text, "one");
    AK_CHECK(tags->items[0]->quoted && tags->items[0]->style == AK_CFG_SINGLE);
    AK_CHECK(tags->items[1]->style == AK_CFG_DOUBLE);
    AK_CHECK_EQ_INT(tags->items[1]->line, 6);
    AK_CHECK_EQ_INT(tags->items[1]->col, 7);
    AK_CHECK_STR(ak_cfg_get(p, "sql")->text, "SELECT 1\nFROM t\n");
    AK_CHECK(ak_cfg_get(p, "sql")->style == AK_CFG_LITERAL);
    AK_CHECK_STR(ak_cfg_get(p, "folded")->text, "a b\n");
    AK_CHECK(ak_cfg_is_null(ak_cfg_get(p, "empty")));
    AK_CHECK(ak_cfg_get(p, "empty") != NULL);
    AK_CHECK(ak_cfg_get(p, "nope") == NULL);
    AK_CHECK_STR(p->pairs[1].key->text, "tags"); /* document order */
    ak_cfg_free(d);
    ak_cfg_free(NULL);
}

AK_TEST(json_config_string)
{
    ak_cfg_doc_t *d = parse("--config", "{\"brokers\": [\"b:9092\", \"c:9092\"], \"security_protocol\": \"SASL_SSL\","
                                        "\"port\":5432}");
    const ak_cfg_node_t *r = ak_cfg_root(d);
    AK_CHECK(r->kind == AK_CFG_MAP && r->n == 3);
    AK_CHECK_EQ_INT(ak_cfg_get(r, "brokers")->n, 2);
    AK_CHECK_STR(ak_cfg_get(r, "brokers")->items[1]->text, "c:9092");
    AK_CHECK_STR(ak_cfg_get(r, "security_protocol")->text, "SASL_SSL");
    int64_t port = 0;
    AK_CHECK_EQ_INT(ak_cfg_int(ak_cfg_get(r, "port"), "port", &port, &err), 0);
    AK_CHECK_EQ_INT(port, 5432);
    ak_cfg_free(d);
    AK_CHECK_STR(parse_err("--config", "{\"a\": 1,, }"),
                 "--config:1:9: invalid YAML: did not find expected node content (while parsing a flow node at "
                 "line 1, column 9)");
    AK_CHECK_STR(parse_err("--config", "{\"a\": 1, \"a\": 2}"),
                 "--config:1:10: duplicate key `a` (first given at line 1, column 2)");
}

AK_TEST(syntax_errors_have_positions)
{
    AK_CHECK_STR(parse_err("inputs.yaml", "inputs:\n  - name: x\n    kind: source\n     bad: y\n"),
                 "inputs.yaml:4:9: invalid YAML: mapping values are not allowed in this context");
    AK_CHECK_STR(parse_err("a.yaml", "a: [1, 2\n"),
                 "a.yaml:2:1: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence at "
                 "line 1, column 4)");
    AK_CHECK_STR(parse_err("a.yaml", "a:\n\tb: 1\n"),
                 "a.yaml:2:1: invalid YAML: found character that cannot start any token (while scanning for the "
                 "next token at line 2, column 1)");
    AK_CHECK_STR(parse_err("a.yaml", "x: 1\ny: \"\xff\"\n"), "a.yaml:2:5: invalid YAML: invalid leading UTF-8 octet");
    AK_CHECK_STR(parse_err("a.yaml", "a: 1\nb:\n  c: 1\n  c: 2\n"),
                 "a.yaml:4:3: duplicate key `c` (first given at line 3, column 3)");
    AK_CHECK_STR(parse_err("a.yaml", "a: &x 1\nb: *x\n"),
                 "a.yaml:2:4: YAML aliases (`*x`) are not supported; repeat the value instead");
    AK_CHECK_STR(parse_err("a.yaml", "a: \"x\\0y\"\n"), "a.yaml:1:4: NUL character in value (not allowed in configuration)");
    AK_CHECK_STR(parse_err("a.yaml", "a: 1\n---\nb: 2\n"),
                 "a.yaml:2:1: a second YAML document (`---`); put one document per file");
    AK_CHECK_STR(parse_err("a.yaml", "? [a, b]\n: 1\n"), "a.yaml:1:3: a map key must be a plain name, not a list");
    char deep[400] = "";
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    AK_CHECK_STR(parse_err("a.yaml", deep), "a.yaml:1:65: nested deeper than 64 levels");
    /* empty documents have no root */
    ak_cfg_doc_t *d = parse("e.yaml", "# only a comment\n");
    AK_CHECK(ak_cfg_root(d) == NULL);
    ak_cfg_free(d);
    d = parse("e.yaml", "");
    AK_CHECK(ak_cfg_root(d) == NULL);
    ak_cfg_free(d);
}

AK_TEST(typed_reads)
{
    ak_cfg_doc_t *d = parse("c.yaml", "timeout: abc\nn: 12\nq: \"7\"\nneg: -3\nbig: 9223372036854775808\n"
                                      "b: yes\nx: 1.5e3\nmem: 4Gi\nm2: 1.5G\nm3: 64KiB\nd: 5m\nl: [a, b]\none: a\n"
                                      "api_key: hunter2\nlong: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
    const ak_cfg_node_t *r = ak_cfg_root(d);
    int64_t i = 0;
    bool b = false;
    double x = 0;
    AK_CHECK_EQ_INT(ak_cfg_int(ak_cfg_get(r, "n"), "n", &i, &err), 0);
    AK_CHECK_EQ_INT(i, 12);
    AK_CHECK_EQ_INT(ak_cfg_int(ak_cfg_get(r, "q"), "q", &i, &err), 0);
    AK_CHECK_EQ_INT(i, 7);
    AK_CHECK_EQ_INT(ak_cfg_int(ak_cfg_get(r, "neg"), "neg", &i, &err), 0);
    AK_CHECK_EQ_INT(i, -3);
    AK_CHECK_EQ_INT(ak_cfg_int(ak_cfg_get(r, "big"), "big", &i, &err), -1);
    AK_CHECK_EQ_INT(ak_cfg_duration(ak_cfg_get(r, "timeout"), "timeout", &i, &err), -1);
    AK_CHECK_STR(err.msg, "c.yaml:1:10: `timeout` must be a whole number of seconds or a duration like `90s`, `5m`, "
                          "`1h`, got `abc`");
    AK_CHECK_EQ_INT(ak_cfg_int(ak_cfg_get(r, "timeout"), "timeout", &i, &err), -1);
    AK_CHECK_STR(err.msg, "c.yaml:1:10: `timeout` must be a whole number, got `abc`");
    AK_CHECK_EQ_INT(ak_cfg_int(ak_cfg_get(r, "l"), "l", &i, &err), -1);
    AK_CHECK_STR(err.msg, "c.yaml:12:4: `l` must be a whole number, got a list");
    AK_CHECK_EQ_INT(ak_cfg_bool(ak_cfg_get(r, "b"), "b", &b, &err), 0);
    AK_CHECK(b);
    AK_CHECK_EQ_INT(ak_cfg_double(ak_cfg_get(r, "x"), "x", &x, &err), 0);
    AK_CHECK(x == 1500.0);
    AK_CHECK_EQ_INT(ak_cfg_memory(ak_cfg_get(r, "mem"), "mem", &i, &err), 0);
    AK_CHECK_EQ_INT(i, INT64_C(4) << 30);
    AK_CHECK_EQ_INT(ak_cfg_memory(ak_cfg_get(r, "m2"), "m2", &i, &err), 0);
    AK_CHECK_EQ_INT(i, 1500000000);
    AK_CHECK_EQ_INT(ak_cfg_memory(ak_cfg_get(r, "m3"), "m3", &i, &err), 0);
    AK_CHECK_EQ_INT(i, 65536);
    AK_CHECK_EQ_INT(ak_cfg_memory(ak_cfg_get(r, "b"), "b", &i, &err), -1);
    AK_CHECK_STR(err.msg, "c.yaml:6:4: `b` must be a size like `512Mi`, `4Gi` or `1G`, got `yes`");
    AK_CHECK_EQ_INT(ak_cfg_duration(ak_cfg_get(r, "d"), "d", &i, &err), 0);
    AK_CHECK_EQ_INT(i, INT64_C(300000000));
    /* secret-looking keys are not echoed */
    AK_CHECK_EQ_INT(ak_cfg_int(ak_cfg_get(r, "api_key"), "api_key", &i, &err), -1);
    AK_CHECK_STR(err.msg, "c.yaml:14:10: `api_key` must be a whole number, got a value (not shown: `api_key` is secret)");
    AK_CHECK(!strstr(err.msg, "hunter2"));
    /* long values are shortened */
    AK_CHECK_EQ_INT(ak_cfg_int(ak_cfg_get(r, "long"), "long", &i, &err), -1);
    AK_CHECK(strstr(err.msg, "...`") != NULL && strlen(err.msg) < 140);
    char **list = NULL;
    size_t n = 0;
    AK_CHECK_EQ_INT(ak_cfg_strlist(ak_cfg_get(r, "l"), "l", false, &list, &n, &err), 0);
    AK_CHECK_EQ_INT(n, 2);
    AK_CHECK_STR(list[1], "b");
    AK_CHECK(list[2] == NULL);
    ak_free(list);
    AK_CHECK_EQ_INT(ak_cfg_strlist(ak_cfg_get(r, "one"), "one", false, &list, &n, &err), -1);
    AK_CHECK_STR(err.msg, "c.yaml:13:6: `one` must be a list of strings, got `a`");
    AK_CHECK_EQ_INT(ak_cfg_strlist(ak_cfg_get(r, "one"), "one", true, &list, &n, &err), 0);
    AK_CHECK_EQ_INT(n, 1);
    AK_CHECK_STR(list[0], "a");
    ak_free(list);
    ak_cfg_free(d);
}

AK_TEST(scalar_parsers)
{
    int64_t v;
    bool b;
    double d;
    AK_CHECK(ak_parse_int("-9223372036854775808", &v) == 0 && v == INT64_MIN);
    AK_CHECK(ak_parse_int("9223372036854775807", &v) == 0 && v == INT64_MAX);
    AK_CHECK(ak_parse_int("9223372036854775808", &v) == -1);
    AK_CHECK(ak_parse_int("", &v) == -1 && ak_parse_int("-", &v) == -1 && ak_parse_int("1.0", &v) == -1);
    AK_CHECK(ak_parse_bool("Off", &b) == 0 && !b);
    AK_CHECK(ak_parse_bool("TRUE", &b) == 0 && b);
    AK_CHECK(ak_parse_bool("1", &b) == -1);
    AK_CHECK(ak_parse_double("nan", &d) == -1 && ak_parse_double("inf", &d) == -1 && ak_parse_double("0x10", &d) == -1);
    AK_CHECK(ak_parse_double("1e999", &d) == -1 && ak_parse_double(".", &d) == -1);
    AK_CHECK(ak_parse_double("-2.5", &d) == 0 && d == -2.5);
    AK_CHECK(ak_parse_memory("512Mi", &v, NULL) == 0 && v == INT64_C(512) << 20);
    AK_CHECK(ak_parse_memory("1024", &v, NULL) == 0 && v == 1024);
    AK_CHECK(ak_parse_memory("2k", &v, NULL) == 0 && v == 2000);
    AK_CHECK(ak_parse_memory("1.5Gi", &v, NULL) == 0 && v == INT64_C(3) << 29);
    AK_CHECK(ak_parse_memory("8Ei", &v, NULL) == -1);
    AK_CHECK(ak_parse_memory("4 Gi", &v, NULL) == -1 && ak_parse_memory("Gi", &v, NULL) == -1);
    AK_CHECK(ak_parse_memory("4gi", &v, &err) == -1);
    AK_CHECK_STR(err.msg, "invalid size `4gi`: expected a number with an optional unit such as `512Mi`, `4Gi`, `1G` or `1024`");
}

AK_TEST(suggestions)
{
    static const char *const keys[] = {"name", "kind", "connection", "resource", "strategy", "cursor_field",
                                       "schedule", "columns"};
    AK_CHECK_STR(ak_suggest("cursor_feild", keys, 8), "cursor_field");
    AK_CHECK_STR(ak_suggest("shedule", keys, 8), "schedule");
    AK_CHECK_STR(ak_suggest("Columns", keys, 8), "columns");
    AK_CHECK_STR(ak_suggest("cursor-field", keys, 8), "cursor_field");
    AK_CHECK_STR(ak_suggest("conection", keys, 8), "connection");
    AK_CHECK(ak_suggest("x", keys, 8) == NULL);
    AK_CHECK(ak_suggest("format", keys, 8) == NULL);
    AK_CHECK(ak_suggest("brokers", keys, 8) == NULL);
    AK_CHECK_EQ_INT(ak_edit_distance("ab", 2, "ba", 2), 1);
    AK_CHECK_EQ_INT(ak_edit_distance("kitten", 6, "sitting", 7), 3);
    AK_CHECK_EQ_INT(ak_edit_distance("", 0, "abc", 3), 3);
    char big[100];
    memset(big, 'a', sizeof big);
    AK_CHECK(ak_edit_distance(big, sizeof big, "a", 1) == SIZE_MAX);
}

/* A connector-like table, defined away from the config module. */
static const ak_option_t kafka_opts[] = {
    {"brokers", AK_OPT_STRING_LIST, NULL, "Bootstrap servers, `host:port`.", AK_OPT_REQUIRED | AK_OPT_NONEMPTY},
    {"security_protocol", AK_OPT_ENUM, "PLAINTEXT", "How to talk to the brokers.", 0,
     "PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL"},
    {"sasl_username", AK_OPT_STRING, NULL, "SASL user.", AK_OPT_ENV},
    {"sasl_password", AK_OPT_STRING, NULL, "SASL password.", AK_OPT_SECRET | AK_OPT_ENV},
    {"port", AK_OPT_INT, "9092", "Default port.", AK_OPT_ENV, NULL, 1, 65535},
    {"timeout", AK_OPT_DURATION, "30s", "Connect timeout."},
    {"batch", AK_OPT_MEMORY, "1Mi", "Batch size."},
    {"linger", AK_OPT_NUMBER, "0.5", "Seconds to wait."},
    {"idempotent", AK_OPT_BOOL, "true", "Exactly-once producer."},
    {"schedule", AK_OPT_CRON, NULL, "When to poll."},
    {"column_type", AK_OPT_DATATYPE, NULL, "Type of the key."},
    {"table", AK_OPT_IDENT, NULL, "Target table."},
    {"librdkafka.", AK_OPT_STRING, NULL, "Passed to librdkafka as is.", AK_OPT_PASSTHROUGH_PREFIX},
};

static int validate(const char *json, const char **msg)
{
    ak_cfg_doc_t *d = parse("--config", json);
    int rc = ak_options_validate(kafka_opts, sizeof kafka_opts / sizeof kafka_opts[0], ak_cfg_root(d),
                                 "connection `production-events`", &err);
    *msg = rc ? err.msg : "(ok)";
    ak_cfg_free(d);
    return rc;
}

AK_TEST(option_validation_messages)
{
    const char *m;
    AK_CHECK_EQ_INT(ak_options_check_table(kafka_opts, sizeof kafka_opts / sizeof kafka_opts[0], &err), 0);
    validate("{\"brokers\": [\"b:9092\"], \"security_protocol\": \"SASL_SSL\", \"librdkafka.acks\": \"all\"}", &m);
    AK_CHECK_STR(m, "(ok)");
    validate("{\"brokerz\": [\"b:9092\"]}", &m);
    AK_CHECK_STR(m, "--config:1:2: unknown key `brokerz` in connection `production-events`; did you mean `brokers`?");
    validate("{\"brokers\": [\"b\"], \"zzz\": 1}", &m);
    AK_CHECK_STR(m, "--config:1:20: unknown key `zzz` in connection `production-events` (known keys: brokers, "
                    "security_protocol, sasl_username, sasl_password, port, timeout, batch, linger, idempotent, "
                    "schedule, column_type, table, librdkafka.*)");
    validate("{\"security_protocol\": \"SSL\"}", &m);
    AK_CHECK_STR(m, "--config:1:1: missing required key `brokers` in connection `production-events`");
    validate("{\"brokers\": []}", &m);
    AK_CHECK_STR(m, "--config:1:13: `brokers` must list at least one name, got an empty list");
    validate("{\"brokers\": \"b:9092\"}", &m);
    AK_CHECK_STR(m, "--config:1:13: `brokers` must be a list of strings, got `b:9092`");
    validate("{\"brokers\": null}", &m);
    AK_CHECK_STR(m, "--config:1:13: `brokers` in connection `production-events` is required but has no value");
    validate("{\"brokers\": [\"b\"], \"security_protocol\": \"SASL_SLL\"}", &m);
    AK_CHECK_STR(m, "--config:1:41: `security_protocol` must be one of `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or "
                    "`SASL_SSL`, got `SASL_SLL`; did you mean `SASL_SSL`?");
    validate("{\"brokers\": [\"b\"], \"port\": 70000}", &m);
    AK_CHECK_STR(m, "--config:1:28: `port` must be a whole number from 1 to 65535, got `70000`");
    validate("{\"brokers\": [\"b\"], \"timeout\": \"soon\"}", &m);
    AK_CHECK_STR(m, "--config:1:31: `timeout` must be a whole number of seconds or a duration like `90s`, `5m`, "
                    "`1h`, got `soon`");
    validate("{\"brokers\": [\"b\"], \"idempotent\": \"maybe\"}", &m);
    AK_CHECK_STR(m, "--config:1:34: `idempotent` must be true or false, got `maybe`");
    validate("{\"brokers\": [\"b\"], \"schedule\": \"*/5 * * 13 *\"}", &m);
    AK_CHECK_STR(m, "--config:1:41: `schedule`: invalid cron schedule `*/5 * * 13 *`: month `13` is out of range 1-12");
    validate("{\"brokers\": [\"b\"], \"column_type\": \"strng\"}", &m);
    AK_CHECK_STR(m, "--config:1:35: `column_type` must be a column type (string, integer, bigint, double, boolean, "
                    "date, timestamp, interval), got `strng`; did you mean `string`?");
    validate("{\"brokers\": [\"b\"], \"table\": \"Sessions\"}", &m);
    AK_CHECK(strstr(m, "--config:1:29: `table` must be a lowercase identifier") == m);
    validate("{\"brokers\": [\"b\"], \"sasl_password\": [\"x\"]}", &m);
    AK_CHECK_STR(m, "--config:1:37: `sasl_password` must be a string, got a list");
    validate("{\"brokers\": [\"b\"], \"port\": \"${KAFKA_PORT}\"}", &m); /* typed when resolved */
    AK_CHECK_STR(m, "(ok)");
    validate("{\"brokers\": [\"b\"], \"sasl_password\": \"${KAFKA PASSWORD}\"}", &m);
    AK_CHECK_STR(m, "--config:1:37: connection `production-events`, key `sasl_password`: invalid environment "
                    "reference at character 1: variable names may contain only letters, digits and `_` (write "
                    "`$${` for a literal `${`)");
    validate("[1, 2]", &m);
    AK_CHECK_STR(m, "--config:1:1: connection `production-events` must be a map of settings, got a list");
}

AK_TEST(option_reads_with_defaults_and_env)
{
    ak_cfg_doc_t *d = parse("--config", "{\"brokers\": [\"b:9092\"], \"sasl_username\": \"svc-${AK_TEST_USER}\", "
                                        "\"sasl_password\": \"${AK_TEST_PW}\", \"port\": \"${AK_TEST_PORT}\", "
                                        "\"security_protocol\": \"SASL_SSL\"}");
    ak_optset_t s = AK_OPTSET(kafka_opts, ak_cfg_root(d), "connection `production-events`");
    AK_CHECK_EQ_INT(ak_optset_validate(&s, &err), 0);
    setenv("AK_TEST_USER", "akili", 1);
    setenv("AK_TEST_PW", "s3cr3t-value", 1);
    setenv("AK_TEST_PORT", "not-a-port", 1);
    unsetenv("AK_TEST_MISSING");
    char *str = NULL;
    AK_CHECK_EQ_INT(ak_opt_str(&s, "sasl_username", &str, &err), 0);
    AK_CHECK_STR(str, "svc-akili");
    ak_free(str);
    AK_CHECK_EQ_INT(ak_opt_str(&s, "sasl_password", &str, &err), 0);
    AK_CHECK_STR(str, "s3cr3t-value");
    ak_free(str);
    int64_t i = -1;
    AK_CHECK_EQ_INT(ak_opt_int(&s, "port", &i, &err), -1);
    AK_CHECK_STR(err.msg, "--config:1:107: `port` must be a whole number from 1 to 65535 (after substituting "
                          "environment variables; value not shown)");
    setenv("AK_TEST_PORT", "9093", 1);
    AK_CHECK_EQ_INT(ak_opt_int(&s, "port", &i, &err), 0);
    AK_CHECK_EQ_INT(i, 9093);
    unsetenv("AK_TEST_PW");
    AK_CHECK_EQ_INT(ak_opt_str(&s, "sasl_password", &str, &err), -1);
    AK_CHECK_STR(err.msg, "--config:1:82: connection `production-events`, key `sasl_password`: environment variable "
                          "`AK_TEST_PW` is not set");
    /* defaults from the table */
    int e = -1;
    AK_CHECK_EQ_INT(ak_opt_enum(&s, "security_protocol", &e, &err), 0);
    AK_CHECK_EQ_INT(e, 3);
    AK_CHECK_EQ_INT(ak_opt_duration(&s, "timeout", &i, &err), 0);
    AK_CHECK_EQ_INT(i, INT64_C(30000000));
    AK_CHECK_EQ_INT(ak_opt_memory(&s, "batch", &i, &err), 0);
    AK_CHECK_EQ_INT(i, 1 << 20);
    double x = 0;
    AK_CHECK_EQ_INT(ak_opt_double(&s, "linger", &x, &err), 0);
    AK_CHECK(x == 0.5);
    bool b = false;
    AK_CHECK_EQ_INT(ak_opt_bool(&s, "idempotent", &b, &err), 0);
    AK_CHECK(b);
    AK_CHECK_EQ_INT(ak_opt_str(&s, "table", &str, &err), 0);
    AK_CHECK(str == NULL);
    AK_CHECK(!ak_opt_given(&s, "table") && ak_opt_given(&s, "brokers"));
    char **list = NULL;
    size_t n = 0;
    AK_CHECK_EQ_INT(ak_opt_strlist(&s, "brokers", &list, &n, &err), 0);
    AK_CHECK(n == 1 && strcmp(list[0], "b:9092") == 0);
    ak_free(list);
    /* display: secrets redacted, nothing resolved */
    ak_buf_t out = AK_BUF_INIT;
    ak_options_to_json(&s, &out);
    AK_CHECK_STR(out.data, "{\"brokers\": [\"b:9092\"], \"sasl_username\": \"svc-${AK_TEST_USER}\", \"sasl_password\": "
                           "\"${AK_TEST_PW}\", \"port\": \"${AK_TEST_PORT}\", \"security_protocol\": \"SASL_SSL\"}");
    ak_buf_free(&out);
    ak_cfg_free(d);
    unsetenv("AK_TEST_USER");
    unsetenv("AK_TEST_PORT");
}

AK_TEST(option_json_redacts_literal_secrets)
{
    ak_cfg_doc_t *d = parse("--config", "{\"brokers\": [\"b\"], \"sasl_password\": \"hunter2\", \"port\": 9092, "
                                        "\"idempotent\": true, \"librdkafka.ssl.key.password\": \"pw\", "
                                        "\"linger\": .5, \"table\": \"007\", \"extra\": {\"a\": [1, null]}}");
    ak_optset_t s = AK_OPTSET(kafka_opts, ak_cfg_root(d), "connection `x`");
    ak_buf_t out = AK_BUF_INIT;
    ak_options_to_json(&s, &out);
    AK_CHECK_STR(out.data, "{\"brokers\": [\"b\"], \"sasl_password\": \"****\", \"port\": 9092, \"idempotent\": true, "
                           "\"librdkafka.ssl.key.password\": \"****\", \"linger\": 0.5, \"table\": \"007\", "
                           "\"extra\": {\"a\": [1, null]}}");
    ak_buf_free(&out);
    ak_cfg_free(d);
}

AK_TEST(more_reads)
{
    static const ak_option_t t[] = {
        {"hosts", AK_OPT_STRING_LIST, "a:1,b:2", "Hosts."},
        {"none", AK_OPT_STRING_LIST, NULL, "Nothing."},
        {"dsn", AK_OPT_STRING, NULL, "Connection string.", AK_OPT_SECRET},
        {"n", AK_OPT_INT, NULL, "A number.", AK_OPT_SECRET},
    };
    ak_cfg_doc_t *d = parse("x.yaml", "dsn: [a]\nn: abc\nname: x\nlist: [a, [b]]\n");
    const ak_cfg_node_t *r = ak_cfg_root(d);
    ak_optset_t s = AK_OPTSET(t, NULL, "x");
    char **list = NULL;
    size_t n = 9;
    AK_CHECK_EQ_INT(ak_opt_strlist(&s, "hosts", &list, &n, &err), 0);
    AK_CHECK(n == 2 && strcmp(list[0], "a:1") == 0 && strcmp(list[1], "b:2") == 0 && list[2] == NULL);
    ak_free(list);
    AK_CHECK_EQ_INT(ak_opt_strlist(&s, "none", &list, &n, &err), 0);
    AK_CHECK(n == 0 && list[0] == NULL);
    ak_free(list);
    s.map = r;
    s.n = 4;
    AK_CHECK_EQ_INT(ak_options_validate(t, 3, r, "x", &err), -1); /* `n`, `name` unknown to the short table */
    AK_CHECK_STR(err.msg, "x.yaml:1:6: `dsn` must be a string, got a list");
    int64_t i;
    AK_CHECK_EQ_INT(ak_opt_int(&s, "n", &i, &err), -1);
    AK_CHECK_STR(err.msg, "x.yaml:2:4: `n` must be a whole number, got something else (value not shown: it is secret)");
    const char *str = NULL;
    AK_CHECK_EQ_INT(ak_cfg_str(ak_cfg_get(r, "name"), "name", &str, &err), 0);
    AK_CHECK_STR(str, "x");
    AK_CHECK_EQ_INT(ak_cfg_str(ak_cfg_get(r, "nope"), "nope", &str, &err), -1);
    AK_CHECK_STR(err.msg, "`nope` must be a string, got nothing");
    AK_CHECK_EQ_INT(ak_cfg_strlist(ak_cfg_get(r, "list"), "list", false, &list, &n, &err), -1);
    AK_CHECK_STR(err.msg, "x.yaml:4:11: `list` must be a list of strings, but item 2 is a list");
    AK_CHECK_STR(ak_cfg_file(d), "x.yaml");
    ak_cfg_free(d);
    d = parse("x.yaml", "~\n");
    AK_CHECK(ak_cfg_root(d) == NULL);
    ak_cfg_free(d);
}

AK_TEST(table_checks_catch_mistakes)
{
    static const ak_option_t dup[] = {{"a", AK_OPT_STRING, NULL, "x"}, {"a", AK_OPT_INT, NULL, "y"}};
    static const ak_option_t bad_default[] = {{"t", AK_OPT_DURATION, "soon", "x"}};
    static const ak_option_t bad_enum[] = {{"e", AK_OPT_ENUM, "c", "x", 0, "a|b"}};
    static const ak_option_t no_help[] = {{"e", AK_OPT_STRING, NULL, NULL}};
    AK_CHECK_EQ_INT(ak_options_check_table(dup, 2, &err), -1);
    AK_CHECK_STR(err.msg, "option `a` is declared twice");
    AK_CHECK_EQ_INT(ak_options_check_table(bad_default, 1, &err), -1);
    AK_CHECK_STR(err.msg, "option `t`: default `soon` is not valid");
    AK_CHECK_EQ_INT(ak_options_check_table(bad_enum, 1, &err), -1);
    AK_CHECK_EQ_INT(ak_options_check_table(no_help, 1, &err), -1);
    AK_CHECK_EQ_INT(err.code, AK_E_INTERNAL);
}

AK_TEST(markdown_table)
{
    ak_buf_t out = AK_BUF_INIT;
    ak_options_markdown(kafka_opts, 4, &out);
    AK_CHECK_STR(out.data,
                 "| key | type | default | description |\n|---|---|---|---|\n"
                 "| `brokers` | list of strings | **required** | Bootstrap servers, `host:port`. |\n"
                 "| `security_protocol` | `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL` | `PLAINTEXT` | How to "
                 "talk to the brokers. |\n"
                 "| `sasl_username` | string | - | SASL user. May use `${ENV_VAR}` references. |\n"
                 "| `sasl_password` | string | - | SASL password. Secret: never displayed. May use `${ENV_VAR}` "
                 "references. |\n");
    ak_buf_free(&out);
}

static const char *resolve(const char *raw)
{
    static char buf[AK_ERR_MSG_MAX + 8];
    char *out = (char *)"unchanged";
    if (ak_env_resolve(raw, &out, "connection `production-events`, key `sasl_password`", &err)) {
        AK_CHECK(out == NULL);
        snprintf(buf, sizeof buf, "ERR %s", err.msg);
        return buf;
    }
    snprintf(buf, sizeof buf, "%s", out);
    ak_free(out);
    return buf;
}

AK_TEST(env_references)
{
    setenv("AK_T_PW", "pa$$word", 1);
    setenv("AK_T_EMPTY", "", 1);
    unsetenv("AK_T_MISSING");
    AK_CHECK_STR(resolve("${AK_T_PW}"), "pa$$word");
    AK_CHECK_STR(resolve("x-${AK_T_PW}-${AK_T_EMPTY}-y"), "x-pa$$word--y");
    AK_CHECK_STR(resolve("$${AK_T_PW}"), "${AK_T_PW}");
    AK_CHECK_STR(resolve("cost: $5, $$ and $"), "cost: $5, $$ and $");
    AK_CHECK_STR(resolve("$$${AK_T_PW}"), "$${AK_T_PW}");
    AK_CHECK_STR(resolve(""), "");
    AK_CHECK_STR(resolve("${AK_T_MISSING}"), "ERR connection `production-events`, key `sasl_password`: environment "
                                             "variable `AK_T_MISSING` is not set");
    /* the error never contains a resolved value */
    AK_CHECK_STR(resolve("${AK_T_PW}${AK_T_MISSING}"), "ERR connection `production-events`, key `sasl_password`: "
                                                       "environment variable `AK_T_MISSING` is not set");
    AK_CHECK_STR(resolve("abc${"), "ERR connection `production-events`, key `sasl_password`: invalid environment "
                                   "reference at character 4: a variable name must start with a letter or `_` (write "
                                   "`$${` for a literal `${`)");
    AK_CHECK_STR(resolve("${}"), "ERR connection `production-events`, key `sasl_password`: invalid environment "
                                 "reference at character 1: empty variable name in `${}` (write `$${` for a literal "
                                 "`${`)");
    AK_CHECK_STR(resolve("${AK_T_PW"), "ERR connection `production-events`, key `sasl_password`: invalid environment "
                                       "reference at character 1: unterminated `${` (missing `}`) (write `$${` for a "
                                       "literal `${`)");
    AK_CHECK(ak_env_has_refs("a${B}c"));
    AK_CHECK(!ak_env_has_refs("a$${B}c"));
    AK_CHECK(!ak_env_has_refs("plain"));
    AK_CHECK_EQ_INT(ak_env_check("${OK_1}", "ctx", &err), 0);
    AK_CHECK_EQ_INT(ak_env_check("${1X}", "ctx", &err), -1);
    unsetenv("AK_T_PW");
    unsetenv("AK_T_EMPTY");
}

static const char *redact(const char *raw, const char *key, bool secret)
{
    static char buf[256];
    char *out = NULL;
    AK_CHECK_EQ_INT(ak_env_redact(raw, key, secret, &out, &err), 0);
    snprintf(buf, sizeof buf, "%s", out ? out : "(null)");
    ak_free(out);
    return buf;
}

AK_TEST(redaction)
{
    AK_CHECK_STR(redact("${KAFKA_PASSWORD}", "sasl_password", false), "${KAFKA_PASSWORD}");
    AK_CHECK_STR(redact("hunter2", "sasl_password", false), "****");
    AK_CHECK_STR(redact("hunter2", "password", false), "****");
    AK_CHECK_STR(redact("hunter2", "aws_secret_access_key", false), "****");
    AK_CHECK_STR(redact("hunter2", "API_KEY", false), "****");
    AK_CHECK_STR(redact("abc", "token", false), "****");
    AK_CHECK_STR(redact("user:${PW}@host", "dsn", true), "****${PW}****");
    AK_CHECK_STR(redact("$${PW}", "password", false), "****");
    AK_CHECK_STR(redact("${A}${B}", "password", false), "${A}${B}");
    AK_CHECK_STR(redact("hunter2", "username", false), "hunter2");
    AK_CHECK_STR(redact("broker:9092", "brokers", false), "broker:9092");
    AK_CHECK_STR(redact("${bad", "password", false), "****");
    AK_CHECK(ak_env_key_is_secret("sasl_password") && ak_env_key_is_secret("private_key_pem") &&
             ak_env_key_is_secret("GitHubToken") && !ak_env_key_is_secret("brokers") && !ak_env_key_is_secret(NULL));
}

AK_TEST(allocation_failures_are_clean)
{
    const char *text = "a:\n  b: [1, 2, {c: d}]\n  e: \"f\"\n";
    int failed = 0, ok = 0;
    for (uint64_t n = 1; n < 60; n++) {
        ak_cfg_doc_t *d = NULL;
        ak_alloc_fail_at(n);
        int rc = ak_cfg_parse("a.yaml", text, strlen(text), &d, &err);
        ak_alloc_fail_at(0);
        if (rc == 0) {
            ok++;
            ak_cfg_free(d);
        } else {
            failed++;
            AK_CHECK_EQ_INT(err.code, AK_E_NOMEM);
            AK_CHECK(d == NULL);
        }
    }
    AK_CHECK(failed > 0 && ok > 0);
    for (uint64_t n = 1; n < 4; n++) {
        char *out = NULL;
        setenv("AK_T_X", "value", 1);
        ak_alloc_fail_at(n);
        int rc = ak_env_resolve("a-${AK_T_X}-b", &out, "ctx", &err);
        ak_alloc_fail_at(0);
        AK_CHECK(rc == 0 ? out != NULL : (out == NULL && err.code == AK_E_NOMEM));
        ak_free(out);
    }
}

int main(void) { return ak_test_main(); }
