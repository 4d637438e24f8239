/* ak_manifest_sections.c - the manifest sections: their option tables and
 * the loaders that turn validated config maps into ak_manifest_t fields.
 *
 * Each loader validates a map against its table first (unknown keys, types,
 * required keys) and then reads it with the table's defaults, so a key, its
 * type and its default are written once, here.  Cross-references (primary
 * keys and cursors naming columns, index columns naming output columns) are
 * checked here too.  File handling and the top level live in ak_manifest.c.
 */
#include "ak_manifest_int.h"

#include "ak_alloc.h"
#include "ak_suggest.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- option tables ---- */

const ak_option_t ak__section_opts[] = {
    {"product", AK_OPT_MAP, NULL, "Identity of the data product.", AK_OPT_REQUIRED},
    {"inputs", AK_OPT_LIST, NULL, "The input ports: where records come from and their columns.",
     AK_OPT_REQUIRED | AK_OPT_NONEMPTY},
    {"transform", AK_OPT_MAP, NULL,
     "The transform SQL, when it is not simply the file `transform.sql` next to the manifests."},
    {"output", AK_OPT_MAP, NULL, "The published table: format, partitioning, retention, schema.",
     AK_OPT_REQUIRED},
    {"quality", AK_OPT_MAP, NULL, "Quality checks run against each candidate result before it is published."},
    {"serving", AK_OPT_MAP, NULL, "Stores that serve the result to queries."},
    {"compute", AK_OPT_MAP, NULL, "When and with what resources the product runs."},
};
const size_t ak__n_section_opts = sizeof ak__section_opts / sizeof ak__section_opts[0];

static const ak_option_t product_opts[] = {
    {"name", AK_OPT_IDENT, NULL,
     "Product name. With `namespace` it names the published table (`namespace.name`).", AK_OPT_REQUIRED},
    {"namespace", AK_OPT_IDENT, NULL, "Namespace (SQL schema) the product is published in.", AK_OPT_REQUIRED},
    {"version", AK_OPT_STRING, NULL, "Version of this definition, e.g. `1.0.0` (quote it in YAML)."},
    {"archetype", AK_OPT_STRING, NULL,
     "What kind of product this is, e.g. `source` (built from raw inputs) or `aggregate`."},
    {"description", AK_OPT_STRING, NULL, "What the product contains, for people."},
    {"owner", AK_OPT_STRING, NULL, "Owning team or person, e.g. an e-mail address."},
    {"tags", AK_OPT_STRING_LIST, NULL, "Free-form labels."},
};

static const ak_option_t input_opts[] = {
    {"name", AK_OPT_IDENT, NULL, "Input name; the transform reads it as `{{ ref('NAME') }}`.", AK_OPT_REQUIRED},
    {"kind", AK_OPT_STRING, "source", "What the input is; `source` reads an external system."},
    {"connection", AK_OPT_STRING, NULL, "Name of a connection registered with `akili connection create`.",
     AK_OPT_REQUIRED | AK_OPT_NONEMPTY},
    {"resource", AK_OPT_STRING, NULL,
     "What to read through the connection: a topic, a table (`schema.table`), a subject or a path.",
     AK_OPT_REQUIRED | AK_OPT_NONEMPTY},
    {"description", AK_OPT_STRING, NULL, "What the input holds, for people."},
    {"strategy", AK_OPT_ENUM, "append",
     "How records arrive: `append` (each record is a new row), `cdc` (change events: inserts, updates and "
     "deletes, e.g. Debezium), `incremental` (rows whose `cursor_field` advanced since the last read; needs "
     "`cursor_field`), `full` (the whole resource each time, replacing what was read before).",
     0, "append|cdc|incremental|full"},
    {"cursor_field", AK_OPT_STRING, NULL,
     "Column whose growing value marks new or changed rows (`incremental`) or the event time of a stream. "
     "One of `columns`; if it is not listed but is named like a timestamp or date (`updated_at`), it is read "
     "as an extra last column of that type."},
    {"schedule", AK_OPT_CRON, NULL, "When to poll the input (cron, UTC). Absent: on every run."},
    {"format", AK_OPT_ENUM, "auto",
     "Encoding of the records; `auto` lets the connector decide from the resource and the content.", 0,
     "auto|ndjson|csv|debezium"},
    {"primary_key", AK_OPT_NAMES, NULL,
     "Column or columns identifying a row. A keyed input is a table: the latest row per key is kept, and "
     "key columns are required. Each must be one of `columns`. An `incremental` input without one is keyed "
     "by `id`, else its first `*_id` column, else its first column."},
    {"columns", AK_OPT_LIST, NULL,
     "The columns to read, in order: each a bare name or a map (see `inputs[].columns[]`). Without an "
     "explicit type a column is a timestamp if its name ends in `_at`, `_time` or `_ts` or is `timestamp` or "
     "`time`; a date if it ends in `_date` or is `date`; otherwise a string.",
     AK_OPT_REQUIRED | AK_OPT_NONEMPTY},
    {"options", AK_OPT_MAP, NULL,
     "Connector-specific settings for this input, checked by the connection's connector."},
};

static const ak_option_t column_opts[] = {
    {"name", AK_OPT_STRING, NULL, "Column name (unique within the input, ignoring case).",
     AK_OPT_REQUIRED | AK_OPT_NONEMPTY},
    {"type", AK_OPT_DATATYPE, NULL, "Column type; inferred from the name when absent (see `columns`)."},
    {"required", AK_OPT_BOOL, "false",
     "A record without this column (or with NULL) is rejected to the dead-letter store."},
    {"description", AK_OPT_STRING, NULL, "What the column holds, for people."},
};

static const ak_option_t transform_opts[] = {
    {"sql", AK_OPT_STRING, NULL, "The transform SQL inline (use a `|` block to keep its lines).",
     AK_OPT_NONEMPTY},
    {"sql_file", AK_OPT_STRING, NULL,
     "Name of the product file holding the SQL. Default: `transform.sql`.", AK_OPT_NONEMPTY},
    {"description", AK_OPT_STRING, NULL, "What the transform computes, for people."},
};

static const ak_option_t output_opts[] = {
    {"format", AK_OPT_ENUM, "table",
     "How the result is stored: `table` (the embedded store), `iceberg` (an Apache Iceberg table in the "
     "warehouse) or `parquet` (Parquet files).",
     0, "table|iceberg|parquet"},
    {"partition_key", AK_OPT_NAMES, NULL,
     "Partitioning of the lake table: output columns, or `<column>_date` (also `_day`, `_hour`, `_month`, "
     "`_year`) of a date or timestamp column."},
    {"retention", AK_OPT_MAP, NULL, "How long published data is kept (see `output.retention`)."},
    {"primary_key", AK_OPT_NAMES, NULL,
     "Output column(s) identifying a row, for upserts into serving stores. Each must be in `schema`."},
    {"warehouse", AK_OPT_STRING, NULL,
     "The warehouse folder of the Iceberg table (`format: iceberg`): a path or a `file://` URI; the table is "
     "`<warehouse>/<namespace>/<product>`. Default: `$AKILI_HOME/lake`."},
    {"schema", AK_OPT_LIST, NULL, "The published columns, in order (see `output.schema[]`)."},
    {"lake", AK_OPT_MAP, NULL, "How the Iceberg table is written and maintained (see `output.lake`)."},
};

static const ak_option_t lake_opts[] = {
    {"compression", AK_OPT_ENUM, "zstd", "Parquet compression of data and delete files: `zstd`, `snappy` or `none`.", 0,
     "zstd|snappy|none"},
    {"compaction", AK_OPT_BOOL, "true",
     "After a publish, rewrite the partitions that gathered `compact_files` small files into one file each, with "
     "their delete files applied (a `replace` snapshot; the rows do not change). Up to 256 MiB of files read per "
     "publish, on the publishing thread."},
    {"compact_files", AK_OPT_INT, "8",
     "How many files (data files below `target_file_size`, and delete files) a partition gathers before it is "
     "rewritten.",
     0, NULL, 2, 100000},
    {"target_file_size", AK_OPT_MEMORY, "128Mi", "Data files at least this large are left alone by compaction."},
    {"snapshot_retention", AK_OPT_DURATION, "10m",
     "Snapshots older than this expire: they leave the metadata and the files only they used are deleted. Readers "
     "of an older snapshot must finish within this time. Bare numbers are seconds."},
    {"keep_snapshots", AK_OPT_INT, "10", "Snapshots always kept, however old (the newest ones).", 0, NULL, 1, 1000000},
    {"expire_interval", AK_OPT_DURATION, "1m", "How often snapshot expiry runs (after a publish). Bare numbers are "
                                               "seconds."},
    {"catalog", AK_OPT_ENUM, "file",
     "Where the table's current metadata file is recorded: `file` (`metadata/v<N>.metadata.json` and "
     "`version-hint.text`, the file-system catalog layout) or `sqlite` (a row of the JDBC catalog's "
     "`iceberg_tables` table in a SQLite database). A table is always opened through the catalog it was "
     "created with.",
     0, "file|sqlite"},
    {"catalog_db", AK_OPT_STRING, NULL,
     "The SQLite catalog's database (`catalog: sqlite`): a path, a `file://` URI or a `jdbc:sqlite:` URI. "
     "Default: `<warehouse>/catalog.db`."},
    {"catalog_name", AK_OPT_STRING, "akili", "The table's `catalog_name` in `iceberg_tables` (`catalog: sqlite`)."},
};

static const ak_option_t retention_opts[] = {
    {"days", AK_OPT_INT, NULL, "Age in days after which data is removed.", AK_OPT_REQUIRED, NULL, 1, 36500},
    {"policy", AK_OPT_ENUM, "delete", "What happens to expired data: `delete` it or `archive` it.", 0,
     "delete|archive"},
    {"column", AK_OPT_STRING, NULL,
     "The date or timestamp output column whose age counts. Default: the column a `<column>_date` partition key "
     "names, else the first timestamp column. Age is measured from the newest event time consumed (the stream "
     "inputs' `cursor_field`), so replaying history keeps what a live run would.",
     AK_OPT_NONEMPTY},
};

static const ak_option_t out_column_opts[] = {
    {"name", AK_OPT_STRING, NULL, "Column name, as the transform's SELECT produces it.",
     AK_OPT_REQUIRED | AK_OPT_NONEMPTY},
    {"type", AK_OPT_DATATYPE, NULL, "Column type.", AK_OPT_REQUIRED},
    {"description", AK_OPT_STRING, NULL, "What the column holds, for people."},
};

static const ak_option_t quality_opts[] = {
    {"checks", AK_OPT_LIST, NULL, "The checks (see `quality.checks[]`)."},
};

static const ak_option_t check_opts[] = {
    {"name", AK_OPT_STRING, NULL, "Check name, unique within the product.", AK_OPT_REQUIRED | AK_OPT_NONEMPTY},
    {"sql", AK_OPT_STRING, NULL,
     "A query returning one number; `{{ this }}` is the candidate result. The check fails when the number "
     "is above `threshold`.",
     AK_OPT_REQUIRED | AK_OPT_NONEMPTY},
    {"severity", AK_OPT_ENUM, "critical",
     "`critical`: a failure blocks publishing the candidate; `warning`: a failure is only recorded.", 0,
     "critical|warning"},
    {"threshold", AK_OPT_NUMBER, "0", "Largest value of the query's result that still passes."},
    {"description", AK_OPT_STRING, NULL, "What the check guards, for people."},
};

static const ak_option_t serving_opts[] = {
    {"modes", AK_OPT_LIST, NULL, "One entry per way the result is served (see `serving.modes[]`)."},
};

static const ak_option_t mode_opts[] = {
    {"intent", AK_OPT_ENUM, NULL,
     "`analytics`: an analytical store for dashboards and aggregate queries; `lookup`: a row store for "
     "fast reads by key.",
     AK_OPT_REQUIRED, "analytics|lookup"},
    {"config", AK_OPT_MAP, NULL, "Store settings (see `serving.modes[].config`)."},
};

static const ak_option_t mode_config_opts[] = {
    {"engine", AK_OPT_STRING, NULL,
     "Store to use, e.g. `starrocks` or `postgresql`. Absent: the embedded store."},
    {"materialized", AK_OPT_BOOL, "false", "Keep a materialized copy of the result in the store."},
    {"refresh_interval", AK_OPT_DURATION, NULL, "How often the store is refreshed. Absent: after each publish."},
    {"cache_ttl", AK_OPT_DURATION, NULL, "How long query results may be cached. Absent: no caching."},
    {"indexes", AK_OPT_LIST, NULL, "Indexes to create (see `serving.modes[].config.indexes[]`)."},
};

static const ak_option_t index_opts[] = {
    {"columns", AK_OPT_NAMES, NULL, "Indexed output columns, in order.", AK_OPT_REQUIRED | AK_OPT_NONEMPTY},
    {"type", AK_OPT_ENUM, "index", "`sort_key` (the table's sort order), `index` or `unique`.", 0,
     "sort_key|index|unique"},
};

static const ak_option_t compute_opts[] = {
    {"engine", AK_OPT_STRING, NULL, "Orchestrator that triggers runs, e.g. `dagster`. Absent: akili's own scheduler."},
    {"schedule", AK_OPT_CRON, NULL, "When the product runs (cron, UTC). Absent: only when started by hand."},
    {"resources", AK_OPT_MAP, NULL, "Resources a run may use (see `compute.resources`)."},
    {"timeout", AK_OPT_DURATION, "3600", "Longest a run may take; bare numbers are seconds."},
    {"retries", AK_OPT_INT, "3",
     "How many times in a row a transient source or sink error (a lost connection, a locked store) is retried, "
     "with backoff (1 s, 2 s, 4 s, ... up to 30 s) inside `timeout`, before the run fails.",
     0, NULL, 0, 100},
    {"checkpoint_interval", AK_OPT_DURATION, "10",
     "How often a continuous run makes its state durable (and always when it stops); bare numbers are seconds. "
     "A restart replays the input logs from the last checkpoint."},
    {"allowed_lateness", AK_OPT_DURATION, "0",
     "How late (in event time, behind the newest event consumed) an event may arrive and still be applied from "
     "memory when the output has a `retention` with `policy: delete`: state for sessions older than the retention "
     "period, or than this if longer, is compacted away, and a change that reaches it is applied by rebuilding the "
     "state from the input logs (exact, but it rereads the whole history). Bare numbers are seconds."},
    {"tags", AK_OPT_STRING_LIST, NULL, "Free-form labels for the runs."},
};

static const ak_option_t resources_opts[] = {
    {"cpu", AK_OPT_STRING, NULL, "CPU cores: a number (`2`, `0.5`) or millicores (`500m`)."},
    {"memory", AK_OPT_MEMORY, NULL, "Memory limit, e.g. `4Gi`, `512Mi`."},
};

#define TABLE(path, intro, t) {path, intro, t, sizeof t / sizeof t[0]}
const ak__mtable_t ak__manifest_tables[] = {
    TABLE("product", "Who the product is. Required.", product_opts),
    TABLE("inputs[]", "Each entry of the `inputs` list is one input port. At least one is required.", input_opts),
    TABLE("inputs[].columns[]",
          "An entry of `columns` is a bare column name (`- event_time`) or a map with these keys.", column_opts),
    TABLE("transform",
          "Optional. Without it the SQL is read from `transform.sql`. Give `sql` or `sql_file`, not both.",
          transform_opts),
    TABLE("output",
          "The published result. Required.\n\n"
          "With `format: iceberg` every publish of the serving table is also committed as one snapshot of an "
          "Iceberg v2 table: inserted rows in new zstd Parquet data files (one per partition touched), deleted "
          "rows as equality-delete files on all output columns, the serving table's commit number in the "
          "snapshot summary (`akili.commit-seq`). `akili lake scan NAME` prints the table's rows, "
          "`akili lake snapshots NAME` its snapshots and `akili lake restore NAME` rebuilds the serving table from it.",
          output_opts),
    TABLE("output.retention",
          "Optional. With `policy: delete` rows older than `days` leave the serving table; in the Iceberg table "
          "(`format: iceberg`) a partition of `<column>_date` (or `_day`, `_hour`, `_month`, `_year`) of the "
          "retention column that lies wholly before the horizon is dropped by metadata alone (its files leave "
          "the snapshot; nothing is rewritten), other expired rows become equality deletes.",
          retention_opts),
    TABLE("output.lake", "Optional; every key has a default. Used with `format: iceberg`.", lake_opts),
    TABLE("output.schema[]", "One entry per published column.", out_column_opts),
    TABLE("quality", "Optional.", quality_opts),
    TABLE("quality.checks[]", "One entry per check.", check_opts),
    TABLE("serving", "Optional.", serving_opts),
    TABLE("serving.modes[]", "One entry per serving store.", mode_opts),
    TABLE("serving.modes[].config", "Optional.", mode_config_opts),
    TABLE("serving.modes[].config.indexes[]", "One entry per index.", index_opts),
    TABLE("compute", "Optional; every key has a default.", compute_opts),
    TABLE("compute.resources", "Optional.", resources_opts),
};
const size_t ak__n_manifest_tables = sizeof ak__manifest_tables / sizeof ak__manifest_tables[0];

/* ---- reading helpers ---- */

static void loc_of(const ak_cfg_node_t *n, ak_loc_t *l)
{
    l->file = n ? n->file : NULL;
    l->line = n ? n->line : 0;
    l->col = n ? n->col : 0;
}

static int sdup(ak__mctx_t *c, const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = ak_arena_strdup(c->a, s);
    return *out ? 0 : ak_err_nomem(c->err);
}

static int opt_str(ak__mctx_t *c, const ak_optset_t *s, const char *name, char **out)
{
    return sdup(c, ak_opt_raw(s, name, NULL), out);
}

static void *arr_new(ak__mctx_t *c, size_t n, size_t size)
{
    return ak_arena_zalloc(c->a, n ? n * size : 1);
}

/* A validated STRING_LIST / NAMES option into an arena array (empty if absent). */
static int opt_list(ak__mctx_t *c, const ak_optset_t *s, const char *name, char ***out, size_t *n)
{
    const ak_cfg_node_t *v;
    ak_opt_raw(s, name, &v);
    size_t cnt = !v ? 0 : v->kind == AK_CFG_SEQ ? v->n : 1;
    char **arr = arr_new(c, cnt, sizeof *arr);
    if (!arr)
        return ak_err_nomem(c->err);
    for (size_t i = 0; i < cnt; i++)
        if (sdup(c, v->kind == AK_CFG_SEQ ? v->items[i]->text : v->text, &arr[i]))
            return -1;
    *out = arr;
    *n = cnt;
    return 0;
}

/* The node of list item i of a NAMES/STRING_LIST option, for positions. */
static const ak_cfg_node_t *list_item(const ak_optset_t *s, const char *name, size_t i)
{
    const ak_cfg_node_t *v;
    ak_opt_raw(s, name, &v);
    return v && v->kind == AK_CFG_SEQ ? v->items[i] : v;
}

/* "input `clickstream`" when the map has a usable name, else "input #2". */
static const char *what_of(const ak_cfg_node_t *map, const char *kind, size_t i, char *buf, size_t cap)
{
    const ak_cfg_node_t *n = ak_cfg_get(map, "name");
    if (n && n->kind == AK_CFG_SCALAR && n->len > 0 && n->len <= 64 && !memchr(n->text, '\n', n->len))
        snprintf(buf, cap, "%s `%s`", kind, n->text);
    else
        snprintf(buf, cap, "%s #%zu", kind, i + 1);
    return buf;
}

/* The start of a SQL scalar's text in its file: after the quote, or, for a
 * `|`/`>` block, the line after the indicator (blank lines there are part of
 * the text) at the block's indentation. */
static void text_loc(ak__mctx_t *c, const ak_cfg_node_t *v, ak_loc_t *l)
{
    loc_of(v, l);
    if (v->style == AK_CFG_SINGLE || v->style == AK_CFG_DOUBLE) {
        l->col++;
        return;
    }
    if (v->style != AK_CFG_LITERAL && v->style != AK_CFG_FOLDED)
        return;
    const ak_mfile_t *f = NULL;
    for (size_t i = 0; i < c->m->priv->n_files; i++)
        if (strcmp(c->m->priv->files[i].name, v->file) == 0)
            f = &c->m->priv->files[i];
    l->line = v->line + 1;
    l->col = 1;
    if (!f)
        return;
    size_t p = 0;
    for (int line = 1; line < l->line && p < f->len; p++)
        line += f->text[p] == '\n';
    /* the indentation of the first non-blank line */
    while (p < f->len) {
        size_t q = p;
        while (q < f->len && f->text[q] == ' ')
            q++;
        if (q < f->len && f->text[q] != '\n' && f->text[q] != '\r') {
            l->col = (int)(q - p) + 1;
            return;
        }
        while (p < f->len && f->text[p] != '\n')
            p++;
        p++;
    }
}

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* Type of a column declared without one, from its name. */
static ak_type_t infer_type(const char *name)
{
    if (ends_with_ci(name, "_at") || ends_with_ci(name, "_time") || ends_with_ci(name, "_ts") ||
        strcasecmp(name, "timestamp") == 0 || strcasecmp(name, "time") == 0)
        return AK_TIMESTAMP;
    if (ends_with_ci(name, "_date") || strcasecmp(name, "date") == 0)
        return AK_DATE;
    return AK_TEXT;
}

/* Suggests one of the schema's column names for a misspelt one. */
static const char *suggest_column(const ak_schema_t *s, const char *name)
{
    ak_suggest_t sg;
    ak_suggest_init(&sg, name);
    for (int i = 0; i < s->n; i++)
        ak_suggest_add(&sg, s->cols[i].name);
    return ak_suggest_result(&sg);
}

static int not_a_column(ak__mctx_t *c, const ak_cfg_node_t *at, const char *role, const char *name,
                        const char *of, const ak_schema_t *s)
{
    const char *sug = suggest_column(s, name);
    if (sug)
        return ak_cfg_errf(c->err, at, "%s `%.100s` is not a column of %s; did you mean `%s`?", role, name, of, sug);
    return ak_cfg_errf(c->err, at, "%s `%.100s` is not a column of %s", role, name, of);
}

/* ---- product ---- */

int ak__load_product(ak__mctx_t *c, const ak_cfg_node_t *v)
{
    ak_product_t *p = &c->m->product;
    ak_optset_t s = AK_OPTSET(product_opts, v, "product");
    if (ak_optset_validate(&s, c->err))
        return -1;
    loc_of(v, &p->loc);
    if (opt_str(c, &s, "name", &p->name) || opt_str(c, &s, "namespace", &p->namespace) ||
        opt_str(c, &s, "version", &p->version) || opt_str(c, &s, "archetype", &p->archetype) ||
        opt_str(c, &s, "description", &p->description) || opt_str(c, &s, "owner", &p->owner) ||
        opt_list(c, &s, "tags", &p->tags, &p->n_tags))
        return -1;
    return 0;
}

/* ---- inputs ---- */

static int load_column(ak__mctx_t *c, ak_input_t *in, const ak_cfg_node_t *item, size_t i, const char *of)
{
    char what[200], gotbuf[128];
    const char *name, *desc = NULL;
    ak_type_t type = AK_NULL;
    bool required = false;
    if (item->kind == AK_CFG_SCALAR && !ak_cfg_is_null(item)) {
        name = item->text;
    } else if (item->kind == AK_CFG_MAP) {
        snprintf(what, sizeof what, "column #%zu of %s", i + 1, of);
        ak_optset_t s = AK_OPTSET(column_opts, item, what);
        if (ak_optset_validate(&s, c->err) || ak_opt_bool(&s, "required", &required, c->err))
            return -1;
        name = ak_opt_raw(&s, "name", NULL);
        desc = ak_opt_raw(&s, "description", NULL);
        const char *t = ak_opt_raw(&s, "type", NULL);
        if (t)
            type = ak_type_parse(t, strlen(t));
    } else {
        return ak_cfg_errf(c->err, item, "each column of %s must be a name or a map with `name` and `type`, %s", of,
                           ak_cfg_got(item, "", gotbuf, sizeof gotbuf));
    }
    if (!*name)
        return ak_cfg_errf(c->err, item, "column #%zu of %s has an empty name", i + 1, of);
    for (int k = 0; k < in->schema.n; k++)
        if (strcasecmp(in->schema.cols[k].name, name) == 0)
            return ak_cfg_errf(c->err, item, "column `%.100s` of %s is declared twice (first at line %d)", name, of,
                               in->column_loc[k].line);
    if (type == AK_NULL)
        type = infer_type(name);
    if (ak_schema_add(&in->schema, name, type, required, false))
        return ak_err_nomem(c->err);
    loc_of(item, &in->column_loc[in->schema.n - 1]);
    return sdup(c, desc, &in->column_doc[in->schema.n - 1]);
}

/* A cursor_field that is not among `columns` but is named like a time
 * (`updated_at`) is read as an extra, last column: the cursor must be read to
 * be tracked, and the flagship example relies on it.  Anything else (or a
 * near miss of a declared column) is an error. */
static int load_cursor(ak__mctx_t *c, ak_input_t *in, const ak_optset_t *s, const char *of)
{
    const ak_cfg_node_t *cf;
    const char *cursor = ak_opt_raw(s, "cursor_field", &cf);
    if (!cursor || ak_schema_find(&in->schema, cursor, strlen(cursor)) >= 0)
        return 0;
    ak_type_t t = infer_type(cursor);
    if (suggest_column(&in->schema, cursor) || !ak_type_is_temporal(t))
        return not_a_column(c, cf, "cursor_field", cursor, of, &in->schema);
    if (in->schema.n >= AK_MAX_COLUMNS)
        return ak_cfg_errf(c->err, cf, "cursor_field `%s` would be column %d of %s; at most %d are supported",
                           cursor, in->schema.n + 1, of, AK_MAX_COLUMNS);
    if (ak_schema_add(&in->schema, cursor, t, false, false))
        return ak_err_nomem(c->err);
    loc_of(cf, &in->column_loc[in->schema.n - 1]);
    return 0;
}

static int load_keys(ak__mctx_t *c, ak_input_t *in, const ak_optset_t *s, const char *of)
{
    if (load_cursor(c, in, s, of))
        return -1;
    if (opt_list(c, s, "primary_key", &in->primary_key, &in->n_primary_key))
        return -1;
    for (size_t i = 0; i < in->n_primary_key; i++) {
        const char *k = in->primary_key[i];
        int idx = ak_schema_find(&in->schema, k, strlen(k));
        if (idx < 0)
            return not_a_column(c, list_item(s, "primary_key", i), "primary key column", k, of, &in->schema);
        if (in->schema.cols[idx].key)
            return ak_cfg_errf(c->err, list_item(s, "primary_key", i), "primary key column `%s` of %s is listed twice",
                               k, of);
        in->schema.cols[idx].key = true;
        in->schema.cols[idx].required = true;
    }
    const ak_cfg_node_t *cf;
    const char *cursor = ak_opt_raw(s, "cursor_field", &cf);
    if (!cursor && in->strategy == AK_STRATEGY_INCREMENTAL)
        return ak_cfg_errf(c->err, s->map, "%s uses strategy `incremental`, which needs `cursor_field`", of);
    if (!in->n_primary_key && in->strategy == AK_STRATEGY_INCREMENTAL && in->schema.n) {
        /* an incrementally synced table without a declared key: its rows are
         * still identified by one, so take `id`, else the first `*_id`
         * column, else the first column (explain and deploy say which) */
        int pick = -1;
        for (int k = 0; k < in->schema.n && pick < 0; k++)
            if (strcmp(in->schema.cols[k].name, "id") == 0)
                pick = k;
        for (int k = 0; k < in->schema.n && pick < 0; k++) {
            size_t n = strlen(in->schema.cols[k].name);
            if (n > 3 && strcmp(in->schema.cols[k].name + n - 3, "_id") == 0)
                pick = k;
        }
        if (pick < 0)
            pick = 0;
        in->primary_key = ak_arena_alloc(c->a, sizeof *in->primary_key);
        if (!in->primary_key || !(in->primary_key[0] = ak_arena_strdup(c->a, in->schema.cols[pick].name)))
            return ak_err_nomem(c->err);
        in->n_primary_key = 1;
        in->primary_key_inferred = true;
        in->schema.cols[pick].key = true;
        in->schema.cols[pick].required = true;
    }
    return 0;
}

static int load_input(ak__mctx_t *c, ak_input_t *in, const ak_cfg_node_t *v, size_t i)
{
    char of[160], gotbuf[128];
    int e;
    if (v->kind != AK_CFG_MAP)
        return ak_cfg_errf(c->err, v, "each input must be a map with `name`, `connection`, `resource` and "
                           "`columns`, %s", ak_cfg_got(v, "", gotbuf, sizeof gotbuf));
    what_of(v, "input", i, of, sizeof of);
    const ak_cfg_node_t *cols = ak_cfg_get(v, "columns");
    if (cols && !ak_cfg_is_null(cols) && cols->kind != AK_CFG_SEQ)
        return ak_cfg_errf(c->err, cols, "`columns` of %s: expected a list of column names or maps, got %s", of,
                           ak_cfg_describe(cols));
    ak_optset_t s = AK_OPTSET(input_opts, v, of);
    if (ak_optset_validate(&s, c->err))
        return -1;
    loc_of(v, &in->loc);
    if (opt_str(c, &s, "name", &in->name) || opt_str(c, &s, "kind", &in->kind) ||
        opt_str(c, &s, "connection", &in->connection) || opt_str(c, &s, "resource", &in->resource) ||
        opt_str(c, &s, "description", &in->description) || opt_str(c, &s, "cursor_field", &in->cursor_field) ||
        opt_str(c, &s, "schedule", &in->schedule))
        return -1;
    for (size_t k = 0; k < i; k++)
        if (strcmp(c->m->inputs[k].name, in->name) == 0)
            return ak_cfg_errf(c->err, ak_cfg_get(v, "name"), "input `%s` is declared twice (first at %s:%d:%d)",
                               in->name, c->m->inputs[k].loc.file, c->m->inputs[k].loc.line, c->m->inputs[k].loc.col);
    if (ak_opt_enum(&s, "strategy", &e, c->err))
        return -1;
    in->strategy = (ak_strategy_t)e;
    if (ak_opt_enum(&s, "format", &e, c->err))
        return -1;
    in->format = (ak_input_format_t)e;
    if (in->schedule && ak_cron_parse(in->schedule, &in->cron, c->err))
        return -1;
    in->options = ak_cfg_get(v, "options");
    if (ak_cfg_is_null(in->options))
        in->options = NULL;
    if (cols->n > AK_MAX_COLUMNS)
        return ak_cfg_errf(c->err, cols, "%s declares %zu columns; at most %d are supported", of, cols->n,
                           AK_MAX_COLUMNS);
    in->column_doc = arr_new(c, cols->n + 1, sizeof *in->column_doc); /* + an implicit cursor */
    in->column_loc = arr_new(c, cols->n + 1, sizeof *in->column_loc);
    if (!in->column_doc || !in->column_loc)
        return ak_err_nomem(c->err);
    for (size_t k = 0; k < cols->n; k++)
        if (load_column(c, in, cols->items[k], k, of))
            return -1;
    return load_keys(c, in, &s, of);
}

int ak__load_inputs(ak__mctx_t *c, const ak_cfg_node_t *v)
{
    /* the top level checked that this is a non-empty list */
    c->m->inputs = arr_new(c, v->n, sizeof *c->m->inputs);
    if (!c->m->inputs)
        return ak_err_nomem(c->err);
    for (size_t i = 0; i < v->n; i++) {
        c->m->n_inputs = i + 1; /* so ak_manifest_free releases the schema built so far */
        if (load_input(c, &c->m->inputs[i], v->items[i], i))
            return -1;
    }
    return 0;
}

/* ---- transform ---- */

static const ak_mfile_t *find_file(ak__mctx_t *c, const char *name)
{
    for (size_t i = 0; i < c->m->priv->n_files; i++)
        if (strcmp(c->m->priv->files[i].name, name) == 0)
            return &c->m->priv->files[i];
    return NULL;
}

static int sql_from_file(ak__mctx_t *c, const ak_mfile_t *f, const ak_cfg_node_t *named_at)
{
    ak_transform_t *t = &c->m->transform;
    if (memchr(f->text, '\0', f->len))
        return ak_cfg_errf(c->err, named_at, "%s contains a NUL byte; the transform SQL must be text", f->name);
    if (sdup(c, f->text, &t->sql))
        return -1;
    t->file = f->name;
    t->line = 1;
    t->col = 1;
    return 0;
}

int ak__load_transform(ak__mctx_t *c, const ak_cfg_node_t *v)
{
    ak_transform_t *t = &c->m->transform;
    ak_optset_t s = AK_OPTSET(transform_opts, v, "transform");
    if (ak_optset_validate(&s, c->err) || opt_str(c, &s, "description", &t->description))
        return -1;
    const ak_cfg_node_t *sql_node, *file_node;
    const char *sql = ak_opt_raw(&s, "sql", &sql_node);
    const char *file = ak_opt_raw(&s, "sql_file", &file_node);
    const ak_mfile_t *dflt = find_file(c, "transform.sql");
    if (sql && file)
        return ak_cfg_errf(c->err, file_node, "give the transform as `sql` or as `sql_file`, not both");
    if (sql && dflt)
        return ak_cfg_errf(c->err, sql_node, "the transform SQL is given twice: inline here and in "
                           "`transform.sql`; keep one");
    if (sql) {
        ak_loc_t l;
        text_loc(c, sql_node, &l);
        t->file = sql_node->file;
        t->line = l.line;
        t->col = l.col;
        if (sdup(c, sql, &t->sql))
            return -1;
    } else if (file) {
        const ak_mfile_t *f = find_file(c, file);
        if (!f)
            return ak_cfg_errf(c->err, file_node, "`sql_file` names `%.100s`, which is not one of the product's files "
                               "(put it next to the manifests)", file);
        if (strlen(file) < 5 || strcmp(file + strlen(file) - 4, ".sql") != 0)
            return ak_cfg_errf(c->err, file_node, "`sql_file` must name a `.sql` file, got `%.100s`", file);
        if (sql_from_file(c, f, file_node))
            return -1;
    } else if (dflt) {
        if (sql_from_file(c, dflt, NULL))
            return -1;
    } else {
        return ak_cfg_errf(c->err, v, "missing the transform SQL: add a `transform.sql` file, or a `transform` "
                           "section with `sql` or `sql_file`");
    }
    if (strspn(t->sql, " \t\r\n") == strlen(t->sql))
        return ak_errf(c->err, AK_E_CONFIG, "%s:%d:%d: the transform SQL is empty", t->file, t->line, t->col);
    return 0;
}

/* ---- output ---- */

static int load_out_schema(ak__mctx_t *c, ak_output_t *o, const ak_cfg_node_t *list)
{
    char what[64];
    size_t n = list ? list->n : 0;
    o->schema = arr_new(c, n, sizeof *o->schema);
    if (!o->schema)
        return ak_err_nomem(c->err);
    for (size_t i = 0; i < n; i++) {
        const ak_cfg_node_t *item = list->items[i];
        ak_out_column_t *col = &o->schema[i];
        snprintf(what, sizeof what, "output schema column #%zu", i + 1);
        ak_optset_t s = AK_OPTSET(out_column_opts, item, what);
        if (ak_optset_validate(&s, c->err))
            return -1;
        const char *t = ak_opt_raw(&s, "type", NULL);
        col->type = ak_type_parse(t, strlen(t));
        loc_of(item, &col->loc);
        if (opt_str(c, &s, "name", &col->name) || opt_str(c, &s, "description", &col->description))
            return -1;
        for (size_t k = 0; k < i; k++)
            if (strcasecmp(o->schema[k].name, col->name) == 0)
                return ak_cfg_errf(c->err, item, "output column `%.100s` is declared twice (first at line %d)",
                                   col->name, o->schema[k].loc.line);
        o->n_schema = i + 1;
    }
    return 0;
}

static int out_column(const ak_output_t *o, const char *name)
{
    for (size_t i = 0; i < o->n_schema; i++)
        if (strcmp(o->schema[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int out_not_a_column(ak__mctx_t *c, const ak_cfg_node_t *at, const char *role, const char *name)
{
    const ak_output_t *o = &c->m->output;
    ak_suggest_t sg;
    ak_suggest_init(&sg, name);
    for (size_t i = 0; i < o->n_schema; i++)
        ak_suggest_add(&sg, o->schema[i].name);
    if (ak_suggest_result(&sg))
        return ak_cfg_errf(c->err, at, "%s `%.100s` is not an output column; did you mean `%s`?", role, name,
                           ak_suggest_result(&sg));
    return ak_cfg_errf(c->err, at, "%s `%.100s` is not an output column (see `output.schema`)", role, name);
}

ak_tunit_t ak_partition_derived(const char *name, size_t *base_len)
{
    static const struct {
        const char *suffix;
        ak_tunit_t unit;
    } derived[] = {{"_date", AK_TU_DAY}, {"_day", AK_TU_DAY}, {"_hour", AK_TU_HOUR},
                   {"_month", AK_TU_MONTH}, {"_year", AK_TU_YEAR}};
    size_t len = strlen(name);
    for (size_t k = 0; k < sizeof derived / sizeof derived[0]; k++) {
        size_t sl = strlen(derived[k].suffix);
        if (len > sl && strcmp(name + len - sl, derived[k].suffix) == 0) {
            *base_len = len - sl;
            return derived[k].unit;
        }
    }
    return AK_TU_INVALID;
}

static int load_partitions(ak__mctx_t *c, ak_output_t *o, const ak_optset_t *s)
{
    char **names;
    size_t n;
    if (opt_list(c, s, "partition_key", &names, &n))
        return -1;
    o->partition_key = arr_new(c, n, sizeof *o->partition_key);
    if (!o->partition_key)
        return ak_err_nomem(c->err);
    o->n_partition_key = n;
    for (size_t i = 0; i < n; i++) {
        ak_partition_t *p = &o->partition_key[i];
        const ak_cfg_node_t *at = list_item(s, "partition_key", i);
        p->name = names[i];
        p->column = -1;
        p->unit = AK_TU_INVALID;
        loc_of(at, &p->loc);
        if (o->n_schema == 0)
            continue;
        p->column = out_column(o, p->name);
        size_t base;
        ak_tunit_t unit = p->column < 0 ? ak_partition_derived(p->name, &base) : AK_TU_INVALID;
        for (size_t j = 0; unit != AK_TU_INVALID && j < o->n_schema; j++)
            if (strlen(o->schema[j].name) == base && memcmp(o->schema[j].name, p->name, base) == 0 &&
                ak_type_is_temporal(o->schema[j].type)) {
                p->column = (int)j;
                p->unit = unit;
            }
        if (p->column < 0)
            return ak_cfg_errf(c->err, at, "partition key `%.100s` is neither an output column nor `<column>_date` "
                               "(or _day, _hour, _month, _year) of a date or timestamp output column", p->name);
    }
    return 0;
}

int ak__load_output(ak__mctx_t *c, const ak_cfg_node_t *v)
{
    ak_output_t *o = &c->m->output;
    ak_optset_t s = AK_OPTSET(output_opts, v, "output");
    int e;
    if (ak_optset_validate(&s, c->err))
        return -1;
    loc_of(v, &o->loc);
    if (ak_opt_enum(&s, "format", &e, c->err))
        return -1;
    o->format = (ak_output_format_t)e;
    const ak_cfg_node_t *ret = ak_cfg_get(v, "retention");
    if (!ak_cfg_is_null(ret)) {
        ak_optset_t r = AK_OPTSET(retention_opts, ret, "output retention");
        if (ak_optset_validate(&r, c->err) || ak_opt_int(&r, "days", &o->retention_days, c->err) ||
            ak_opt_enum(&r, "policy", &e, c->err) || opt_str(c, &r, "column", &o->retention_column))
            return -1;
        o->retention_policy = (ak_retention_policy_t)e;
        o->has_retention = true;
    }
    const ak_cfg_node_t *lk = ak_cfg_get(v, "lake");
    ak_optset_t l = AK_OPTSET(lake_opts, ak_cfg_is_null(lk) ? NULL : lk, "output lake");
    if (ak_optset_validate(&l, c->err) || ak_opt_enum(&l, "compression", &e, c->err) ||
        ak_opt_bool(&l, "compaction", &o->lake.compaction, c->err) ||
        ak_opt_int(&l, "compact_files", &o->lake.compact_files, c->err) ||
        ak_opt_memory(&l, "target_file_size", &o->lake.target_file_bytes, c->err) ||
        ak_opt_duration(&l, "snapshot_retention", &o->lake.snapshot_age_us, c->err) ||
        ak_opt_int(&l, "keep_snapshots", &o->lake.keep_snapshots, c->err) ||
        ak_opt_duration(&l, "expire_interval", &o->lake.expire_every_us, c->err))
        return -1;
    o->lake.codec = (ak_lake_codec_t)e;
    if (ak_opt_enum(&l, "catalog", &e, c->err) || opt_str(c, &l, "catalog_db", &o->lake.catalog_db) ||
        opt_str(c, &l, "catalog_name", &o->lake.catalog_name))
        return -1;
    o->lake.sqlite_catalog = e == 1;
    if (!o->lake.sqlite_catalog && o->lake.catalog_db)
        return ak_cfg_errf(c->err, list_item(&l, "catalog_db", 0), "output.lake.catalog_db is for `catalog: sqlite`");
    if (o->lake.catalog_name && (!*o->lake.catalog_name || strlen(o->lake.catalog_name) > 255))
        return ak_cfg_errf(c->err, list_item(&l, "catalog_name", 0), "output.lake.catalog_name wants 1 to 255 "
                           "characters");
    const ak_cfg_node_t *schema = ak_cfg_get(v, "schema");
    if (opt_str(c, &s, "warehouse", &o->warehouse) || load_out_schema(c, o, ak_cfg_is_null(schema) ? NULL : schema) ||
        load_partitions(c, o, &s) || opt_list(c, &s, "primary_key", &o->primary_key, &o->n_primary_key))
        return -1;
    for (size_t i = 0; i < o->n_primary_key && o->n_schema; i++)
        if (out_column(o, o->primary_key[i]) < 0)
            return out_not_a_column(c, list_item(&s, "primary_key", i), "primary key column", o->primary_key[i]);
    return 0;
}

/* ---- quality ---- */

int ak__load_quality(ak__mctx_t *c, const ak_cfg_node_t *v)
{
    char what[160];
    ak_optset_t s = AK_OPTSET(quality_opts, v, "quality");
    if (ak_optset_validate(&s, c->err))
        return -1;
    const ak_cfg_node_t *list = ak_cfg_get(v, "checks");
    size_t n = ak_cfg_is_null(list) ? 0 : list->n;
    c->m->quality.checks = arr_new(c, n, sizeof *c->m->quality.checks);
    if (!c->m->quality.checks)
        return ak_err_nomem(c->err);
    for (size_t i = 0; i < n; i++) {
        const ak_cfg_node_t *item = list->items[i];
        ak_check_t *ck = &c->m->quality.checks[i];
        int e;
        if (item->kind == AK_CFG_MAP)
            what_of(item, "quality check", i, what, sizeof what);
        else
            snprintf(what, sizeof what, "quality check #%zu", i + 1);
        ak_optset_t cs = AK_OPTSET(check_opts, item, what);
        const ak_cfg_node_t *sql_node;
        if (ak_optset_validate(&cs, c->err) || ak_opt_enum(&cs, "severity", &e, c->err) ||
            ak_opt_double(&cs, "threshold", &ck->threshold, c->err) || opt_str(c, &cs, "name", &ck->name) ||
            sdup(c, ak_opt_raw(&cs, "sql", &sql_node), &ck->sql) ||
            opt_str(c, &cs, "description", &ck->description))
            return -1;
        ck->severity = (ak_severity_t)e;
        loc_of(item, &ck->loc);
        text_loc(c, sql_node, &ck->sql_loc);
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->m->quality.checks[k].name, ck->name) == 0)
                return ak_cfg_errf(c->err, ak_cfg_get(item, "name"),
                                   "quality check `%s` is declared twice (first at line %d)", ck->name,
                                   c->m->quality.checks[k].loc.line);
        c->m->quality.n_checks = i + 1;
    }
    return 0;
}

/* ---- serving ---- */

static int load_indexes(ak__mctx_t *c, ak_serving_mode_t *md, const ak_cfg_node_t *list, const char *of)
{
    char what[200];
    size_t n = ak_cfg_is_null(list) ? 0 : list->n;
    md->indexes = arr_new(c, n, sizeof *md->indexes);
    if (!md->indexes)
        return ak_err_nomem(c->err);
    for (size_t i = 0; i < n; i++) {
        ak_index_t *ix = &md->indexes[i];
        int e;
        snprintf(what, sizeof what, "index #%zu of %s", i + 1, of);
        ak_optset_t s = AK_OPTSET(index_opts, list->items[i], what);
        if (ak_optset_validate(&s, c->err) || ak_opt_enum(&s, "type", &e, c->err) ||
            opt_list(c, &s, "columns", &ix->columns, &ix->n_columns))
            return -1;
        ix->type = (ak_index_type_t)e;
        loc_of(list->items[i], &ix->loc);
        for (size_t k = 0; k < ix->n_columns && c->m->output.n_schema; k++)
            if (out_column(&c->m->output, ix->columns[k]) < 0)
                return out_not_a_column(c, list_item(&s, "columns", k), "index column", ix->columns[k]);
        md->n_indexes = i + 1;
    }
    return 0;
}

int ak__load_serving(ak__mctx_t *c, const ak_cfg_node_t *v)
{
    char what[64], cwhat[80];
    ak_optset_t s = AK_OPTSET(serving_opts, v, "serving");
    if (ak_optset_validate(&s, c->err))
        return -1;
    const ak_cfg_node_t *list = ak_cfg_get(v, "modes");
    size_t n = ak_cfg_is_null(list) ? 0 : list->n;
    c->m->serving.modes = arr_new(c, n, sizeof *c->m->serving.modes);
    if (!c->m->serving.modes)
        return ak_err_nomem(c->err);
    for (size_t i = 0; i < n; i++) {
        ak_serving_mode_t *md = &c->m->serving.modes[i];
        int e;
        snprintf(what, sizeof what, "serving mode #%zu", i + 1);
        snprintf(cwhat, sizeof cwhat, "the config of serving mode #%zu", i + 1);
        ak_optset_t ms = AK_OPTSET(mode_opts, list->items[i], what);
        if (ak_optset_validate(&ms, c->err) || ak_opt_enum(&ms, "intent", &e, c->err))
            return -1;
        md->intent = (ak_intent_t)e;
        loc_of(list->items[i], &md->loc);
        const ak_cfg_node_t *cfg = ak_cfg_get(list->items[i], "config");
        ak_optset_t cs = AK_OPTSET(mode_config_opts, ak_cfg_is_null(cfg) ? NULL : cfg, cwhat);
        if (ak_optset_validate(&cs, c->err) || opt_str(c, &cs, "engine", &md->engine) ||
            ak_opt_bool(&cs, "materialized", &md->materialized, c->err) ||
            ak_opt_duration(&cs, "refresh_interval", &md->refresh_interval_us, c->err) ||
            ak_opt_duration(&cs, "cache_ttl", &md->cache_ttl_us, c->err) ||
            load_indexes(c, md, ak_cfg_is_null(cfg) ? NULL : ak_cfg_get(cfg, "indexes"), what))
            return -1;
        c->m->serving.n_modes = i + 1;
    }
    return 0;
}

/* ---- compute ---- */

/* "2", "0.5", "500m" -> cores. */
static int parse_cpu(const char *s, double *cores)
{
    size_t n = strlen(s);
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n + 1);
    double div = 1;
    if (buf[n - 1] == 'm') {
        buf[n - 1] = '\0';
        div = 1000;
    }
    if (ak_parse_double(buf, cores) || *cores <= 0)
        return -1;
    *cores /= div;
    return 0;
}

int ak__load_compute(ak__mctx_t *c, const ak_cfg_node_t *v)
{
    ak_compute_t *k = &c->m->compute;
    ak_optset_t s = AK_OPTSET(compute_opts, v, "compute");
    int64_t timeout_us;
    char gotbuf[128];
    if (ak_optset_validate(&s, c->err) || opt_str(c, &s, "engine", &k->engine) ||
        opt_str(c, &s, "schedule", &k->schedule) || ak_opt_duration(&s, "timeout", &timeout_us, c->err) ||
        ak_opt_int(&s, "retries", &k->retries, c->err) || opt_list(c, &s, "tags", &k->tags, &k->n_tags) ||
        ak_opt_duration(&s, "checkpoint_interval", &k->checkpoint_us, c->err) ||
        ak_opt_duration(&s, "allowed_lateness", &k->lateness_us, c->err))
        return -1;
    if (k->checkpoint_us < AK_US_PER_SEC / 10)
        return ak_cfg_errf(c->err, ak_cfg_get(v, "checkpoint_interval"),
                           "`checkpoint_interval` must be at least 0.1 seconds");
    loc_of(v, &k->loc);
    if (k->schedule && ak_cron_parse(k->schedule, &k->cron, c->err))
        return -1;
    if (timeout_us < AK_US_PER_SEC)
        return ak_cfg_errf(c->err, ak_cfg_get(v, "timeout"), "`timeout` must be at least 1 second");
    k->timeout_s = (timeout_us + AK_US_PER_SEC - 1) / AK_US_PER_SEC;
    const ak_cfg_node_t *res = ak_cfg_get(v, "resources");
    ak_optset_t rs = AK_OPTSET(resources_opts, ak_cfg_is_null(res) ? NULL : res, "compute resources");
    const ak_cfg_node_t *cpu_node;
    if (ak_optset_validate(&rs, c->err) || ak_opt_memory(&rs, "memory", &k->memory_bytes, c->err) ||
        sdup(c, ak_opt_raw(&rs, "cpu", &cpu_node), &k->cpu))
        return -1;
    if (k->cpu && parse_cpu(k->cpu, &k->cpu_cores))
        return ak_cfg_errf(c->err, cpu_node, "`cpu` must be a number of cores like `2`, `0.5` or `500m`, %s",
                           ak_cfg_got(cpu_node, "cpu", gotbuf, sizeof gotbuf));
    return 0;
}
