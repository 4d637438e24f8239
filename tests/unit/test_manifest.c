/* test_manifest.c - loading products: the flagship example's facts, memory
 * vs disk, every class of manifest error with its exact text and position,
 * allocation failures, and the generated docs/CONFIGURATION.md. */
#include "ak_alloc.h"
#include "ak_manifest.h"
#include "ak_test.h"

#include <dirent.h>

#define EXAMPLE "examples/user_sessions"

static ak_err_t err;

/* The example's files, read once. */
static ak_mfile_t ex[16];
static size_t n_ex;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc((size_t)n + 1);
    if (fread(t, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    t[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return t;
}

static int cmp_mfile(const void *a, const void *b)
{
    return strcmp(((const ak_mfile_t *)a)->name, ((const ak_mfile_t *)b)->name);
}

static void read_example(void)
{
    if (n_ex)
        return;
    DIR *d = opendir(EXAMPLE);
    struct dirent *de;
    AK_CHECK(d != NULL);
    while (d && (de = readdir(d)) && n_ex < 16) {
        if (de->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", EXAMPLE, de->d_name);
        size_t len;
        char *t = slurp(path, &len);
        ex[n_ex++] = (ak_mfile_t){strdup(de->d_name), t, len};
    }
    if (d)
        closedir(d);
    qsort(ex, n_ex, sizeof ex[0], cmp_mfile);
}

/* Loads the example with one file replaced (text), removed (text NULL) or
 * added (a name not in the example).  Returns "(ok)" or the error. */
static const char *load_variant(const char *name, const char *text, ak_manifest_t **out)
{
    ak_mfile_t files[17];
    size_t n = 0;
    bool seen = false;
    read_example();
    for (size_t i = 0; i < n_ex; i++) {
        if (name && strcmp(ex[i].name, name) == 0) {
            seen = true;
            if (text)
                files[n++] = (ak_mfile_t){name, text, strlen(text)};
        } else {
            files[n++] = ex[i];
        }
    }
    if (name && !seen && text)
        files[n++] = (ak_mfile_t){name, text, strlen(text)};
    ak_manifest_t *m = NULL;
    int rc = ak_manifest_load_files(files, n, &m, &err);
    if (rc) {
        AK_CHECK(m == NULL);
        AK_CHECK(err.code == AK_E_CONFIG);
    }
    if (out)
        *out = m;
    else
        ak_manifest_free(m);
    return rc ? err.msg : "(ok)";
}

/* The example file `name` with the first `from` replaced by `to`, loaded. */
static const char *subst(const char *name, const char *from, const char *to)
{
    static char buf[8192];
    read_example();
    for (size_t i = 0; i < n_ex; i++) {
        if (strcmp(ex[i].name, name) != 0)
            continue;
        const char *at = strstr(ex[i].text, from);
        if (!at) {
            fprintf(stderr, "  `%s` not in %s\n", from, name);
            ak__failed_checks++;
            return "(no such text)";
        }
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - ex[i].text), ex[i].text, to, at + strlen(from));
        return load_variant(name, buf, NULL);
    }
    return "(no such file)";
}

AK_TEST(example_loads_with_the_seed_facts)
{
    ak_manifest_t *m = NULL;
    AK_CHECK_EQ_INT(ak_manifest_load_dir(EXAMPLE, &m, &err), 0);
    if (!m) {
        fprintf(stderr, "  %s\n", err.msg);
        ak__failed_checks++;
        return;
    }
    AK_CHECK_STR(m->product.name, "user_sessions");
    AK_CHECK_STR(m->product.namespace, "analytics");
    AK_CHECK_STR(m->product.version, "1.0.0");
    AK_CHECK_STR(m->product.archetype, "source");
    AK_CHECK_STR(m->product.owner, "analytics-team@example.com");
    AK_CHECK_STR(m->product.description, "Sessionizes raw clickstream events into user sessions. Streams from the "
                                         "production clickstream topic via CDC. Sessions are defined by a 30-minute "
                                         "inactivity window.\n");
    AK_CHECK_EQ_INT(m->product.n_tags, 4);
    AK_CHECK_STR(m->product.tags[3], "real-time");

    AK_CHECK_EQ_INT(m->n_inputs, 2);
    const ak_input_t *cs = ak_manifest_input(m, "clickstream"), *up = ak_manifest_input(m, "user_profiles");
    AK_CHECK(cs && up && ak_manifest_input(m, "nope") == NULL);
    AK_CHECK_STR(cs->connection, "production-events");
    AK_CHECK_STR(cs->resource, "clickstream.page-views");
    AK_CHECK_STR(cs->kind, "source");
    AK_CHECK_EQ_INT(cs->strategy, AK_STRATEGY_CDC);
    AK_CHECK_EQ_INT(cs->format, AK_FORMAT_AUTO);
    AK_CHECK_STR(cs->cursor_field, "event_time");
    AK_CHECK_STR(cs->schedule, "*/5 * * * *");
    AK_CHECK(cs->cron.minutes == 0x84210842108421ULL);
    AK_CHECK_EQ_INT(cs->schema.n, 8);
    AK_CHECK(!ak_schema_keyed(&cs->schema));
    for (int i = 0; i < cs->schema.n; i++) {
        const ak_column_t *c = &cs->schema.cols[i];
        AK_CHECK_EQ_INT(c->type, strcmp(c->name, "event_time") == 0 ? AK_TIMESTAMP : AK_TEXT);
        AK_CHECK(!c->required && !c->key);
    }
    AK_CHECK_STR(cs->schema.cols[0].name, "event_id");
    AK_CHECK_EQ_INT(cs->column_loc[0].line, 11);
    AK_CHECK_EQ_INT(cs->column_loc[0].col, 9);
    AK_CHECK_STR(cs->column_loc[0].file, "inputs.yaml");
    AK_CHECK_EQ_INT(cs->loc.line, 3);
    AK_CHECK_EQ_INT(cs->loc.col, 5);

    AK_CHECK_EQ_INT(up->strategy, AK_STRATEGY_INCREMENTAL);
    AK_CHECK_STR(up->schedule, "0 * * * *");
    AK_CHECK_EQ_INT(up->n_primary_key, 1);
    AK_CHECK_STR(up->primary_key[0], "user_id");
    /* 5 declared columns plus the cursor `updated_at`, read as a last column */
    AK_CHECK_EQ_INT(up->schema.n, 6);
    int k = ak_schema_find(&up->schema, "user_id", 7);
    AK_CHECK(k == 0 && up->schema.cols[k].key && up->schema.cols[k].required);
    AK_CHECK_EQ_INT(up->schema.cols[k].type, AK_TEXT);
    k = ak_schema_find(&up->schema, "signup_date", 11);
    AK_CHECK(k >= 0 && up->schema.cols[k].type == AK_DATE && !up->schema.cols[k].key);
    k = ak_schema_find(&up->schema, "updated_at", 10);
    AK_CHECK(k == 5 && up->schema.cols[k].type == AK_TIMESTAMP && !up->schema.cols[k].required);
    AK_CHECK_EQ_INT(up->column_loc[5].line, 24);
    AK_CHECK_EQ_INT(up->schema.cols[ak_schema_find(&up->schema, "username", 8)].type, AK_TEXT);
    AK_CHECK_EQ_INT(up->schema.cols[ak_schema_find(&up->schema, "country", 7)].type, AK_TEXT);

    AK_CHECK_STR(m->transform.file, "transform.sql");
    AK_CHECK_EQ_INT(m->transform.line, 1);
    AK_CHECK(strncmp(m->transform.sql, "-- Sessionize clickstream events\n-- A session ends after 30 minutes of "
                                       "inactivity\nWITH ordered_events AS (\n", 99) == 0);
    AK_CHECK(strstr(m->transform.sql, "FROM {{ ref('clickstream') }} e\n") != NULL);
    AK_CHECK(strstr(m->transform.sql, "LEFT JOIN {{ ref('user_profiles') }} u ON s.user_id = u.user_id\n") != NULL);

    const ak_output_t *o = &m->output;
    AK_CHECK_EQ_INT(o->format, AK_OUTPUT_ICEBERG);
    AK_CHECK_EQ_INT(o->n_schema, 12);
    AK_CHECK_STR(o->schema[0].name, "user_id");
    AK_CHECK_EQ_INT(o->schema[4].type, AK_INT);
    AK_CHECK_EQ_INT(o->schema[5].type, AK_TIMESTAMP);
    AK_CHECK_STR(o->schema[11].name, "entry_referrer");
    AK_CHECK_STR(o->schema[11].description, "Referrer URL for session entry");
    AK_CHECK(o->has_retention && o->retention_days == 90 && o->retention_policy == AK_RETENTION_DELETE);
    AK_CHECK_EQ_INT(o->n_partition_key, 2);
    AK_CHECK_STR(o->partition_key[0].name, "session_start_date");
    AK_CHECK_EQ_INT(o->partition_key[0].column, 5);
    AK_CHECK_EQ_INT(o->partition_key[0].unit, AK_TU_DAY);
    AK_CHECK_EQ_INT(o->partition_key[1].column, 3);
    AK_CHECK_EQ_INT(o->partition_key[1].unit, AK_TU_INVALID);
    AK_CHECK(o->warehouse == NULL && o->n_primary_key == 0);

    AK_CHECK_EQ_INT(m->quality.n_checks, 5);
    static const char *const names[] = {"no_null_users", "positive_duration", "reasonable_page_views", "freshness",
                                        "session_count_anomaly"};
    static const ak_severity_t sev[] = {AK_SEVERITY_CRITICAL, AK_SEVERITY_CRITICAL, AK_SEVERITY_WARNING,
                                        AK_SEVERITY_CRITICAL, AK_SEVERITY_WARNING};
    static const double thr[] = {0, 0, 0, 15, 0};
    for (size_t i = 0; i < 5 && i < m->quality.n_checks; i++) {
        AK_CHECK_STR(m->quality.checks[i].name, names[i]);
        AK_CHECK_EQ_INT(m->quality.checks[i].severity, sev[i]);
        AK_CHECK(m->quality.checks[i].threshold == thr[i]);
    }
    const ak_check_t *an = &m->quality.checks[4];
    AK_CHECK(strstr(an->sql, "EXTRACT(HOUR FROM CURRENT_TIMESTAMP())") != NULL);
    AK_CHECK_STR(an->sql, "SELECT CASE WHEN COUNT(*) < 100 AND EXTRACT(HOUR FROM CURRENT_TIMESTAMP()) BETWEEN 8 AND "
                          "22 THEN 1 ELSE 0 END FROM {{ this }} WHERE session_start >= CURRENT_DATE()\n");
    AK_CHECK_EQ_INT(an->sql_loc.line, 26);
    AK_CHECK_EQ_INT(an->sql_loc.col, 9);
    AK_CHECK_EQ_INT(m->quality.checks[0].sql_loc.line, 5);
    AK_CHECK_EQ_INT(m->quality.checks[0].sql_loc.col, 13);
    AK_CHECK_STR(m->quality.checks[3].sql,
                 "SELECT DATEDIFF('minute', MAX(session_end), CURRENT_TIMESTAMP()) FROM {{ this }}");

    AK_CHECK_EQ_INT(m->serving.n_modes, 2);
    const ak_serving_mode_t *a = &m->serving.modes[0], *l = &m->serving.modes[1];
    AK_CHECK(a->intent == AK_INTENT_ANALYTICS && a->materialized);
    AK_CHECK_STR(a->engine, "starrocks");
    AK_CHECK_EQ_INT(a->refresh_interval_us, 5 * AK_US_PER_MIN);
    AK_CHECK_EQ_INT(a->n_indexes, 1);
    AK_CHECK_EQ_INT(a->indexes[0].type, AK_INDEX_SORT_KEY);
    AK_CHECK_EQ_INT(a->indexes[0].n_columns, 2);
    AK_CHECK_STR(a->indexes[0].columns[1], "country");
    AK_CHECK(l->intent == AK_INTENT_LOOKUP && !l->materialized && l->n_indexes == 0);
    AK_CHECK_STR(l->engine, "postgresql");
    AK_CHECK_EQ_INT(l->cache_ttl_us, AK_US_PER_MIN);

    const ak_compute_t *c = &m->compute;
    AK_CHECK_STR(c->engine, "dagster");
    AK_CHECK_STR(c->schedule, "*/5 * * * *");
    AK_CHECK_EQ_INT(c->timeout_s, 240);
    AK_CHECK_EQ_INT(c->retries, 3);
    AK_CHECK_STR(c->cpu, "2");
    AK_CHECK(c->cpu_cores == 2.0);
    AK_CHECK_EQ_INT(c->memory_bytes, INT64_C(4) << 30);
    AK_CHECK_EQ_INT(c->n_tags, 2);
    ak_manifest_t *m2 = NULL;
    AK_CHECK_STR(load_variant("compute.yaml", "compute:\n  resources: {cpu: 500m}\n", &m2), "(ok)");
    AK_CHECK(m2 && m2->compute.cpu_cores == 0.5);
    ak_manifest_free(m2);
    AK_CHECK_STR(c->tags[1], "high-priority");

    ak_schema_t os = {0, NULL};
    AK_CHECK_EQ_INT(ak_manifest_output_schema(m, &os, &err), 0);
    AK_CHECK_EQ_INT(os.n, 12);
    AK_CHECK_EQ_INT(os.cols[7].type, AK_INT);
    ak_schema_free(&os);
    ak_manifest_free(m);
    ak_manifest_free(NULL);
}

AK_TEST(memory_equals_disk)
{
    ak_manifest_t *disk = NULL, *mem = NULL;
    read_example();
    AK_CHECK_EQ_INT(ak_manifest_load_dir(EXAMPLE, &disk, &err), 0);
    AK_CHECK_EQ_INT(ak_manifest_load_files(ex, n_ex, &mem, &err), 0);
    if (!disk || !mem)
        return;
    ak_buf_t a = AK_BUF_INIT, b = AK_BUF_INIT;
    ak_manifest_dump(disk, &a);
    ak_manifest_dump(mem, &b);
    AK_CHECK(!a.oom && a.len > 1000);
    AK_CHECK_STR(a.data, b.data);
    size_t n1, n2;
    const ak_mfile_t *f1 = ak_manifest_files(disk, &n1), *f2 = ak_manifest_files(mem, &n2);
    AK_CHECK_EQ_INT(n1, 7);
    AK_CHECK_EQ_INT(n1, n2);
    for (size_t i = 0; i < n1 && i < n2; i++) {
        AK_CHECK_STR(f1[i].name, f2[i].name);
        AK_CHECK(f1[i].len == f2[i].len && memcmp(f1[i].text, f2[i].text, f1[i].len) == 0);
    }
    AK_CHECK_STR(f1[0].name, "compute.yaml");
    AK_CHECK_STR(f1[6].name, "transform.sql");
    /* the stored files load to the same manifest again */
    ak_manifest_t *again = NULL;
    AK_CHECK_EQ_INT(ak_manifest_load_files(f1, n1, &again, &err), 0);
    ak_buf_t c = AK_BUF_INIT;
    if (again)
        ak_manifest_dump(again, &c);
    AK_CHECK_STR(a.data, c.data);
    ak_buf_free(&a);
    ak_buf_free(&b);
    ak_buf_free(&c);
    ak_manifest_free(again);
    ak_manifest_free(disk);
    ak_manifest_free(mem);
}

AK_TEST(unknown_keys_suggest)
{
    AK_CHECK_STR(subst("inputs.yaml", "cursor_field: event_time", "cursor_feild: event_time"),
                 "inputs.yaml:8:5: unknown key `cursor_feild` in input `clickstream`; did you mean `cursor_field`?");
    AK_CHECK_STR(subst("compute.yaml", "  retries: 3", "  retires: 3"),
                 "compute.yaml:9:3: unknown key `retires` in compute; did you mean `retries`?");
    AK_CHECK_STR(subst("output.yaml", "output:", "ouput:"),
                 "output.yaml:2:1: unknown key `ouput` in the manifest; did you mean `output`?");
    AK_CHECK_STR(subst("serving.yaml", "        materialized: true", "        materialised: true"),
                 "serving.yaml:7:9: unknown key `materialised` in the config of serving mode #1; did you mean "
                 "`materialized`?");
    AK_CHECK_STR(subst("quality.yaml", "      threshold: 15", "      treshold: 15"),
                 "quality.yaml:22:7: unknown key `treshold` in quality check `freshness`; did you mean `threshold`?");
    AK_CHECK_STR(subst("product.yaml", "  owner:", "  colour:"),
                 "product.yaml:11:3: unknown key `colour` in product (known keys: name, namespace, version, "
                 "archetype, description, owner, tags)");
}

AK_TEST(sections_once_and_required)
{
    AK_CHECK_STR(load_variant("more.yml", "inputs:\n  - name: x\n", NULL),
                 "more.yml:1:1: section `inputs` is already given at inputs.yaml:2:1; each section may appear once "
                 "across the product's files");
    AK_CHECK_STR(load_variant("output.yaml", NULL, NULL),
                 "missing required section `output` (not in compute.yaml, inputs.yaml, product.yaml, quality.yaml, "
                 "serving.yaml)");
    AK_CHECK_STR(load_variant("product.yaml", "product:\n", NULL), "product.yaml:1:1: section `product` is empty");
    AK_CHECK_STR(load_variant("transform.sql", NULL, NULL),
                 "missing the transform SQL: add a `transform.sql` file, or a `transform` section with `sql` or "
                 "`sql_file`");
    ak_mfile_t none[1];
    ak_manifest_t *m = NULL;
    AK_CHECK_EQ_INT(ak_manifest_load_files(none, 0, &m, &err), -1);
    AK_CHECK(m == NULL);
    AK_CHECK_STR(err.msg, "no manifest files: a product needs YAML files (.yaml or .yml) with the sections product, "
                          "inputs and output");
    AK_CHECK_STR(load_variant("notes.txt", "hello", NULL),
                 "`notes.txt`: a product's files are YAML manifests (.yaml, .yml) and SQL (.sql)");
    AK_CHECK_STR(load_variant("extra.yaml", "- a\n- b\n", NULL),
                 "extra.yaml:1:1: a manifest file must be a map of sections (product, inputs, transform, output, "
                 "quality, serving, compute), got a list");
    AK_CHECK_STR(load_variant("extra.yaml", "# nothing here yet\n", NULL), "(ok)");
    AK_CHECK_STR(load_variant("inputs.yaml", "# x\ninputs: {a: b}\n", NULL), "inputs.yaml:2:9: `inputs` must be a list, got a map");
}

AK_TEST(yaml_errors_point_at_the_text)
{
    AK_CHECK_STR(subst("inputs.yaml", "    kind: source\n    connection: production-events",
                       "    kind: source\n     connection: production-events"),
                 "inputs.yaml:5:16: invalid YAML: mapping values are not allowed in this context");
    AK_CHECK_STR(subst("output.yaml", "  retention:\n", "  retention:\n  retention:\n"),
                 "output.yaml:8:3: duplicate key `retention` (first given at line 7, column 3)");
}

AK_TEST(typed_values_are_checked)
{
    AK_CHECK_STR(subst("inputs.yaml", "schedule: \"*/5 * * * *\"", "schedule: \"*/5 * * 13 *\""),
                 "inputs.yaml:9:24: `schedule`: invalid cron schedule `*/5 * * 13 *`: month `13` is out of range 1-12");
    AK_CHECK_STR(subst("compute.yaml", "schedule: \"*/5 * * * *\"", "schedule: 0 25 * * *"),
                 "compute.yaml:4:15: `schedule`: invalid cron schedule `0 25 * * *`: hour `25` is out of range 0-23");
    AK_CHECK_STR(subst("compute.yaml", "timeout: 240", "timeout: abc"),
                 "compute.yaml:8:12: `timeout` must be a whole number of seconds or a duration like `90s`, `5m`, "
                 "`1h`, got `abc`");
    AK_CHECK_STR(subst("compute.yaml", "timeout: 240", "timeout: 0"), "compute.yaml:8:12: `timeout` must be at least 1 second");
    AK_CHECK_STR(subst("compute.yaml", "retries: 3", "retries: -1"),
                 "compute.yaml:9:12: `retries` must be a whole number from 0 to 100, got `-1`");
    AK_CHECK_STR(subst("compute.yaml", "memory: 4Gi", "memory: 4 gigs"),
                 "compute.yaml:7:13: `memory` must be a size like `512Mi`, `4Gi` or `1G`, got `4 gigs`");
    AK_CHECK_STR(subst("output.yaml", "name: exit_page", "name: Landing_Page"),
                 "output.yaml:41:7: output column `Landing_Page` is declared twice (first at line 38)");
    AK_CHECK_STR(load_variant("t.yaml", "transform:\n  sql_file: product.yaml\n", NULL),
                 "t.yaml:2:13: `sql_file` must name a `.sql` file, got `product.yaml`");
    AK_CHECK_STR(subst("inputs.yaml", "  - name: user_profiles", "  - 42\n  - name: user_profiles"),
                 "inputs.yaml:19:5: each input must be a map with `name`, `connection`, `resource` and `columns`, got `42`");
    AK_CHECK_STR(subst("compute.yaml", "cpu: \"2\"", "cpu: two"),
                 "compute.yaml:6:10: `cpu` must be a number of cores like `2`, `0.5` or `500m`, got `two`");
    AK_CHECK_STR(subst("inputs.yaml", "strategy: cdc", "strategy: cdk"),
                 "inputs.yaml:7:15: `strategy` must be one of `append`, `cdc`, `incremental` or `full`, got `cdk`; "
                 "did you mean `cdc`?");
    AK_CHECK_STR(subst("output.yaml", "type: integer", "type: integr"),
                 "output.yaml:24:13: `type` must be a column type (string, integer, bigint, double, boolean, date, "
                 "timestamp, interval), got `integr`; did you mean `integer`?");
    AK_CHECK_STR(subst("serving.yaml", "materialized: true", "materialized: sometimes"),
                 "serving.yaml:7:23: `materialized` must be true or false, got `sometimes`");
    AK_CHECK_STR(subst("serving.yaml", "refresh_interval: \"5m\"", "refresh_interval: \"5 minutes\""),
                 "serving.yaml:8:27: `refresh_interval` must be a whole number of seconds or a duration like `90s`, "
                 "`5m`, `1h`, got `5 minutes`");
    AK_CHECK_STR(subst("quality.yaml", "threshold: 15", "threshold: fifteen"),
                 "quality.yaml:22:18: `threshold` must be a number, got `fifteen`");
    AK_CHECK_STR(subst("output.yaml", "days: 90", "days: 0"),
                 "output.yaml:8:11: `days` must be a whole number from 1 to 36500, got `0`");
    AK_CHECK_STR(subst("product.yaml", "name: user_sessions", "name: User-Sessions"),
                 "product.yaml:3:9: `name` must be a lowercase identifier (letters a-z, digits and `_`, not starting "
                 "with a digit, at most 63 characters; it becomes a SQL name), got `User-Sessions`");
    AK_CHECK_STR(subst("product.yaml", "namespace: analytics", "namespace: 1analytics"),
                 "product.yaml:4:14: `namespace` must be a lowercase identifier (letters a-z, digits and `_`, not "
                 "starting with a digit, at most 63 characters; it becomes a SQL name), got `1analytics`");
    AK_CHECK_STR(subst("product.yaml", "  tags:\n", "  tags: streaming\n  x:\n"),
                 "product.yaml:12:9: `tags` must be a list of strings, got `streaming`");
}

AK_TEST(columns_and_keys)
{
    AK_CHECK_STR(subst("inputs.yaml", "    columns:\n      - event_id", "    columns: event_id\n    x:\n      - event_id"),
                 "inputs.yaml:10:14: `columns` of input `clickstream`: expected a list of column names or maps, got "
                 "a scalar");
    AK_CHECK_STR(subst("inputs.yaml", "      - event_id\n", "      - [event_id]\n"),
                 "inputs.yaml:11:9: each column of input `clickstream` must be a name or a map with `name` and "
                 "`type`, got a list");
    AK_CHECK_STR(subst("inputs.yaml", "      - session_id\n", "      - session_id\n      - Event_ID\n"),
                 "inputs.yaml:19:9: column `Event_ID` of input `clickstream` is declared twice (first at line 11)");
    AK_CHECK_STR(subst("inputs.yaml", "      - event_id\n", "      - \"\"\n"),
                 "inputs.yaml:11:9: column #1 of input `clickstream` has an empty name");
    AK_CHECK_STR(subst("inputs.yaml", "      - event_id\n", "      - {name: event_id, type: strin}\n"),
                 "inputs.yaml:11:32: `type` must be a column type (string, integer, bigint, double, boolean, date, "
                 "timestamp, interval), got `strin`; did you mean `string`?");
    AK_CHECK_STR(subst("inputs.yaml", "      - event_id\n", "      - {nme: event_id}\n"),
                 "inputs.yaml:11:10: unknown key `nme` in column #1 of input `clickstream`; did you mean `name`?");
    AK_CHECK_STR(subst("inputs.yaml", "primary_key: user_id", "primary_key: usr_id"),
                 "inputs.yaml:26:18: primary key column `usr_id` is not a column of input `user_profiles`; did you "
                 "mean `user_id`?");
    AK_CHECK_STR(subst("inputs.yaml", "primary_key: user_id", "primary_key: [user_id, user_id]"),
                 "inputs.yaml:26:28: primary key column `user_id` of input `user_profiles` is listed twice");
    AK_CHECK_STR(subst("inputs.yaml", "cursor_field: event_time", "cursor_field: event_tme"),
                 "inputs.yaml:8:19: cursor_field `event_tme` is not a column of input `clickstream`; did you mean "
                 "`event_time`?");
    AK_CHECK_STR(subst("inputs.yaml", "cursor_field: event_time", "cursor_field: sequence"),
                 "inputs.yaml:8:19: cursor_field `sequence` is not a column of input `clickstream`");
    AK_CHECK_STR(subst("inputs.yaml", "    cursor_field: updated_at\n", ""),
                 "inputs.yaml:19:5: input `user_profiles` uses strategy `incremental`, which needs `cursor_field`");
    AK_CHECK_STR(subst("inputs.yaml", "  - name: user_profiles", "  - name: clickstream"),
                 "inputs.yaml:19:11: input `clickstream` is declared twice (first at inputs.yaml:3:5)");
    AK_CHECK_STR(subst("inputs.yaml", "    connection: production-db\n", ""),
                 "inputs.yaml:19:5: missing required key `connection` in input `user_profiles`");
    AK_CHECK_STR(subst("inputs.yaml", "columns:\n      - user_id\n      - username\n      - account_type\n      - "
                                      "signup_date\n      - country\n", "columns: []\n"),
                 "inputs.yaml:27:14: `columns` must have at least one entry, got an empty list");
    AK_CHECK_STR(subst("output.yaml", "    - session_start_date\n", "    - session_start_day\n    - session_end_hour\n    - exit_page_date\n"),
                 "output.yaml:7:7: partition key `exit_page_date` is neither an output column nor `<column>_date` (or "
                 "_day, _hour, _month, _year) of a date or timestamp output column");
    AK_CHECK_STR(subst("output.yaml", "  retention:", "  lake:\n    catalog_db: /x/c.db\n  retention:"),
                 "output.yaml:8:17: output.lake.catalog_db is for `catalog: sqlite`");
    AK_CHECK_STR(subst("output.yaml", "  retention:", "  lake:\n    catalog: jdbc\n  retention:"),
                 "output.yaml:8:14: `catalog` must be one of `file` or `sqlite`, got `jdbc`");
    AK_CHECK_STR(subst("serving.yaml", "[session_start, country]", "[session_start, contry]"),
                 "serving.yaml:10:38: index column `contry` is not an output column; did you mean `country`?");
    AK_CHECK_STR(subst("output.yaml", "  retention:", "  primary_key: [user_id, sesion_num]\n  retention:"),
                 "output.yaml:7:26: primary key column `sesion_num` is not an output column; did you mean "
                 "`session_num`?");
    AK_CHECK_STR(subst("quality.yaml", "name: positive_duration", "name: no_null_users"),
                 "quality.yaml:9:13: quality check `no_null_users` is declared twice (first at line 4)");
}

/* A whole product in one file, with column maps and an inline transform. */
static const char one_file[] =
    "product: {name: p, namespace: n}\n"
    "inputs:\n"
    "  - name: events\n"
    "    connection: local\n"
    "    resource: data/events.ndjson\n"
    "    format: ndjson\n"
    "    primary_key: [id, seq]\n"
    "    options: {follow: true}\n"
    "    columns:\n"
    "      - name: id\n"
    "        type: bigint\n"
    "      - {name: seq, type: int, description: \"per-id sequence\"}\n"
    "      - name: amount\n"
    "        type: decimal\n"
    "        required: true\n"
    "      - time\n"
    "      - name: created_at\n"
    "        type: string\n"
    "transform:\n"
    "  description: totals\n"
    "  sql: |\n"
    "\n"
    "    SELECT id, SUM(amount) AS total\n"
    "    FROM {{ ref('events') }}\n"
    "    GROUP BY id\n"
    "output:\n"
    "  primary_key: id\n"
    "  schema:\n"
    "    - {name: id, type: bigint}\n"
    "    - {name: total, type: double}\n";

AK_TEST(single_file_product)
{
    ak_mfile_t f = {"product.yml", one_file, sizeof one_file - 1};
    ak_manifest_t *m = NULL;
    AK_CHECK_EQ_INT(ak_manifest_load_files(&f, 1, &m, &err), 0);
    if (!m) {
        fprintf(stderr, "  %s\n", err.msg);
        ak__failed_checks++;
        return;
    }
    const ak_input_t *in = &m->inputs[0];
    AK_CHECK_EQ_INT(in->strategy, AK_STRATEGY_APPEND);
    AK_CHECK_EQ_INT(in->format, AK_FORMAT_NDJSON);
    AK_CHECK(in->schedule == NULL && in->cursor_field == NULL);
    AK_CHECK_EQ_INT(in->schema.n, 5);
    AK_CHECK(in->schema.cols[0].type == AK_INT && in->schema.cols[0].key && in->schema.cols[0].required);
    AK_CHECK(in->schema.cols[1].type == AK_INT && in->schema.cols[1].key);
    AK_CHECK(in->schema.cols[2].type == AK_DOUBLE && in->schema.cols[2].required && !in->schema.cols[2].key);
    AK_CHECK(in->schema.cols[3].type == AK_TIMESTAMP && !in->schema.cols[3].required);
    AK_CHECK(in->schema.cols[4].type == AK_TEXT); /* explicit type beats the name */
    AK_CHECK_STR(in->column_doc[1], "per-id sequence");
    AK_CHECK(in->column_doc[0] == NULL);
    AK_CHECK(in->options && in->options->kind == AK_CFG_MAP);
    AK_CHECK_STR(ak_cfg_get(in->options, "follow")->text, "true");
    /* a literal block keeps its leading blank line: the SQL starts on the line after `|` */
    AK_CHECK_STR(m->transform.sql, "\nSELECT id, SUM(amount) AS total\nFROM {{ ref('events') }}\nGROUP BY id\n");
    AK_CHECK_STR(m->transform.file, "product.yml");
    AK_CHECK_EQ_INT(m->transform.line, 22);
    AK_CHECK_EQ_INT(m->transform.col, 5);
    AK_CHECK_STR(m->transform.description, "totals");
    AK_CHECK_EQ_INT(m->output.format, AK_OUTPUT_TABLE);
    AK_CHECK(!m->output.has_retention && m->output.n_partition_key == 0);
    AK_CHECK_EQ_INT(m->output.n_primary_key, 1);
    AK_CHECK(m->quality.n_checks == 0 && m->serving.n_modes == 0);
    /* compute defaults */
    AK_CHECK_EQ_INT(m->compute.timeout_s, 3600);
    AK_CHECK_EQ_INT(m->compute.retries, 3);
    AK_CHECK(m->compute.engine == NULL && m->compute.schedule == NULL && m->compute.cpu == NULL);
    ak_schema_t os = {0, NULL};
    AK_CHECK_EQ_INT(ak_manifest_output_schema(m, &os, &err), 0);
    AK_CHECK(os.n == 2 && os.cols[0].key && os.cols[0].required && !os.cols[1].key);
    ak_schema_free(&os);
    ak_manifest_free(m);
}

AK_TEST(transform_sources)
{
    AK_CHECK_STR(load_variant("transform.yaml", "transform:\n  sql: SELECT 1\n", NULL),
                 "transform.yaml:2:8: the transform SQL is given twice: inline here and in `transform.sql`; keep one");
    AK_CHECK_STR(load_variant("transform.yaml", "transform:\n  sql_file: sessions.sql\n", NULL),
                 "transform.yaml:2:13: `sql_file` names `sessions.sql`, which is not one of the product's files (put "
                 "it next to the manifests)");
    AK_CHECK_STR(load_variant("transform.yaml", "transform:\n  sql_file: transform.sql\n  sql: x\n", NULL),
                 "transform.yaml:2:13: give the transform as `sql` or as `sql_file`, not both");
    AK_CHECK_STR(load_variant("transform.sql", "  \n\n", NULL), "transform.sql:1:1: the transform SQL is empty");
    /* sql_file naming another file */
    ak_mfile_t files[3] = {
        {"a.yaml", "product: {name: p, namespace: n}\noutput: {}\ntransform:\n  sql_file: t.sql\n", 0},
        {"b.yaml", "inputs:\n  - {name: i, connection: c, resource: r, columns: [x]}\n", 0},
        {"t.sql", "SELECT x FROM {{ ref('i') }}", 0},
    };
    for (int i = 0; i < 3; i++)
        files[i].len = strlen(files[i].text);
    ak_manifest_t *m = NULL;
    AK_CHECK_EQ_INT(ak_manifest_load_files(files, 3, &m, &err), 0);
    if (m) {
        AK_CHECK_STR(m->transform.sql, "SELECT x FROM {{ ref('i') }}");
        AK_CHECK_STR(m->transform.file, "t.sql");
        AK_CHECK_EQ_INT(m->output.n_schema, 0);
    }
    ak_manifest_free(m);
    files[2].name = "t.yaml";
    AK_CHECK_EQ_INT(ak_manifest_load_files(files, 3, &m, &err), -1);
    AK_CHECK_STR(err.msg, "t.yaml:1:1: a manifest file must be a map of sections (product, inputs, transform, "
                          "output, quality, serving, compute), got a scalar");
    files[2] = (ak_mfile_t){"b.yaml", "x: 1\n", 5};
    AK_CHECK_EQ_INT(ak_manifest_load_files(files, 3, &m, &err), -1);
    AK_CHECK_STR(err.msg, "`b.yaml` is given twice");
}

AK_TEST(enum_values_follow_the_tables)
{
    static const char *const strategies[] = {"append", "cdc", "incremental", "full"};
    for (int i = 0; i < 4; i++) {
        char to[64];
        snprintf(to, sizeof to, "strategy: %s", strategies[i]);
        ak_manifest_t *m = NULL;
        static char buf[8192];
        read_example();
        const char *t = NULL;
        for (size_t k = 0; k < n_ex; k++)
            if (strcmp(ex[k].name, "inputs.yaml") == 0)
                t = ex[k].text;
        const char *at = strstr(t, "strategy: cdc");
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - t), t, to, at + strlen("strategy: cdc"));
        AK_CHECK_STR(load_variant("inputs.yaml", buf, &m), "(ok)");
        if (m)
            AK_CHECK_STR(ak_strategy_name(m->inputs[0].strategy), strategies[i]);
        ak_manifest_free(m);
    }
    AK_CHECK_STR(ak_input_format_name(AK_FORMAT_DEBEZIUM), "debezium");
    AK_CHECK_STR(ak_output_format_name(AK_OUTPUT_PARQUET), "parquet");
    AK_CHECK_STR(ak_severity_name(AK_SEVERITY_WARNING), "warning");
    AK_CHECK_STR(ak_intent_name(AK_INTENT_LOOKUP), "lookup");
    AK_CHECK_STR(ak_index_type_name(AK_INDEX_UNIQUE), "unique");
    AK_CHECK_STR(ak_strategy_name((ak_strategy_t)42), "?");
    AK_CHECK_EQ_INT(ak_manifest_check_tables(&err), 0);
}

AK_TEST(load_dir_errors)
{
    ak_manifest_t *m = NULL;
    AK_CHECK_EQ_INT(ak_manifest_load_dir("examples/no_such_product", &m, &err), -1);
    AK_CHECK_EQ_INT(err.code, AK_E_IO);
    AK_CHECK_STR(err.msg, "cannot read the product directory `examples/no_such_product`: No such file or directory");
    AK_CHECK(m == NULL);
}

/* Every allocation of a load, made to fail in turn: each run fails cleanly
 * with AK_E_NOMEM or succeeds, and no byte stays allocated. */
static void fail_each_allocation(bool from_disk)
{
    read_example();
    size_t base = ak_alloc_live();
    uint64_t before = ak_alloc_count();
    ak_manifest_t *m = NULL;
    int rc = from_disk ? ak_manifest_load_dir(EXAMPLE, &m, &err) : ak_manifest_load_files(ex, n_ex, &m, &err);
    uint64_t total = ak_alloc_count() - before;
    AK_CHECK_EQ_INT(rc, 0);
    ak_manifest_free(m);
    AK_CHECK_EQ_INT(ak_alloc_live(), base);
    AK_CHECK(total > 50);
    int failures = 0;
    for (uint64_t n = 1; n <= total + 1; n++) {
        m = NULL;
        ak_err_clear(&err);
        ak_alloc_fail_at(n);
        rc = from_disk ? ak_manifest_load_dir(EXAMPLE, &m, &err) : ak_manifest_load_files(ex, n_ex, &m, &err);
        ak_alloc_fail_at(0);
        if (rc) {
            failures++;
            if (err.code != AK_E_NOMEM)
                fprintf(stderr, "  allocation %llu: %s\n", (unsigned long long)n, err.msg);
            AK_CHECK_EQ_INT(err.code, AK_E_NOMEM);
            AK_CHECK(m == NULL);
        } else {
            AK_CHECK(n == total + 1);
        }
        ak_manifest_free(m);
        if (ak_alloc_live() != base) {
            fprintf(stderr, "  allocation %llu: %zu bytes leaked\n", (unsigned long long)n, ak_alloc_live() - base);
            ak__failed_checks++;
        }
    }
    AK_CHECK_EQ_INT(failures, total);
}

AK_TEST(allocation_failures_from_memory) { fail_each_allocation(false); }
AK_TEST(allocation_failures_from_disk) { fail_each_allocation(true); }

AK_TEST(configuration_md_is_current)
{
    ak_buf_t doc = AK_BUF_INIT;
    ak_manifest_doc(&doc);
    AK_CHECK(!doc.oom && doc.len > 2000);
    size_t len = 0;
    char *committed = slurp("docs/CONFIGURATION.md", &len);
    bool same = committed && len == doc.len && memcmp(committed, doc.data, len) == 0;
    const char *regen = getenv("AKILI_REGEN_DOCS");
    if (!same && regen && strcmp(regen, "1") == 0) {
        FILE *f = fopen("docs/CONFIGURATION.md", "wb");
        AK_CHECK(f && fwrite(doc.data, 1, doc.len, f) == doc.len);
        if (f)
            fclose(f);
        fprintf(stderr, "  regenerated docs/CONFIGURATION.md\n");
    } else if (!same) {
        fprintf(stderr, "  docs/CONFIGURATION.md is stale: run AKILI_REGEN_DOCS=1 build/asan/tests/test_manifest "
                        "(from the repository root)\n");
        ak__failed_checks++;
    }
    free(committed);
    ak_buf_free(&doc);
}

int main(void) { return ak_test_main(); }
