/* ak_manifest.h - a data product's manifests, loaded into typed structs.
 *
 * A product is a set of files: YAML manifests (`*.yaml`, `*.yml`) holding the
 * top-level sections `product`, `inputs`, `transform`, `output`, `quality`,
 * `serving` and `compute` (each at most once across all files; `product`,
 * `inputs` and `output` required), plus SQL files (`*.sql`).  The transform
 * SQL is `transform.sql`, or `transform: {sql: ...}` inline, or
 * `transform: {sql_file: NAME}` naming one of the files.  The keys of every
 * section, with types and defaults, are in docs/CONFIGURATION.md (generated
 * from the option tables by ak_manifest_doc).
 *
 * Loading from a directory reads the files (sorted by name) and loads them
 * from memory, so a version stored in the catalog as its files loads exactly
 * as it did from disk.  Every error is AK_E_CONFIG (or AK_E_NOMEM / AK_E_IO)
 * with FILE:LINE:COL and what was expected; nothing is returned then.
 *
 * A loaded manifest is immutable and may be read from several threads.
 */
#ifndef AK_MANIFEST_H
#define AK_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_buf.h"
#include "ak_cfg.h"
#include "ak_cron.h"
#include "ak_error.h"
#include "ak_record.h"
#include "ak_time.h"

/* One file of a product (borrowed by the loader, which copies it). */
typedef struct ak_mfile {
    const char *name;  /* "inputs.yaml", "transform.sql": a name, no directory */
    const char *text;
    size_t len;
} ak_mfile_t;

/* Where something was declared; `file` points into the manifest. */
typedef struct ak_loc {
    const char *file;
    int line, col;
} ak_loc_t;

typedef struct ak_product {
    char *name;         /* [a-z_][a-z0-9_]* */
    char *namespace;    /* [a-z_][a-z0-9_]* */
    char *version;      /* NULL if absent */
    char *archetype;    /* NULL if absent */
    char *description;  /* NULL if absent */
    char *owner;        /* NULL if absent */
    char **tags;
    size_t n_tags;
    ak_loc_t loc;
} ak_product_t;

/* Enum values are in the order of the choices in the option tables. */
typedef enum ak_strategy {
    AK_STRATEGY_APPEND = 0,   /* every record is an insert */
    AK_STRATEGY_CDC,          /* change events: insert/update/delete */
    AK_STRATEGY_INCREMENTAL,  /* rows whose cursor_field advanced */
    AK_STRATEGY_FULL,         /* everything, each run */
} ak_strategy_t;

typedef enum ak_input_format {
    AK_FORMAT_AUTO = 0,
    AK_FORMAT_NDJSON,
    AK_FORMAT_CSV,
    AK_FORMAT_DEBEZIUM,
} ak_input_format_t;

typedef struct ak_input {
    char *name;              /* [a-z_][a-z0-9_]*, unique; `{{ ref('name') }}` */
    char *kind;              /* "source" by default */
    char *connection;
    char *resource;          /* topic, table, subject or path */
    char *description;       /* NULL if absent */
    ak_strategy_t strategy;  /* append by default */
    char *cursor_field;      /* NULL if absent; else a column */
    char *schedule;          /* NULL if absent */
    ak_cron_t cron;          /* parsed schedule, when schedule != NULL */
    ak_input_format_t format;
    char **primary_key;      /* column names, in the order given */
    size_t n_primary_key;
    bool primary_key_inferred; /* not declared: chosen for an incremental input */
    ak_schema_t schema;      /* the columns: type given or inferred; key = in
                                primary_key; required = given or key */
    char **column_doc;       /* [schema.n] description, or NULL */
    ak_loc_t *column_loc;    /* [schema.n] */
    const ak_cfg_node_t *options; /* `options:` map for the connector, or NULL */
    ak_loc_t loc;
} ak_input_t;

typedef struct ak_transform {
    char *sql;
    const char *file;        /* "transform.sql" or the YAML file */
    int line, col;           /* where the SQL text starts in that file */
    char *description;       /* NULL if absent */
} ak_transform_t;

typedef enum ak_output_format { AK_OUTPUT_TABLE = 0, AK_OUTPUT_ICEBERG, AK_OUTPUT_PARQUET } ak_output_format_t;
typedef enum ak_retention_policy { AK_RETENTION_DELETE = 0, AK_RETENTION_ARCHIVE } ak_retention_policy_t;

typedef struct ak_out_column {
    char *name;
    ak_type_t type;
    char *description;       /* NULL if absent */
    ak_loc_t loc;
} ak_out_column_t;

/* A partition key: a column, or `<column>_date|_day|_hour|_month|_year` of a
 * date/timestamp column (the value truncated to that unit). */
typedef struct ak_partition {
    char *name;              /* as written */
    int column;              /* index in output.schema; -1 if there is no schema */
    ak_tunit_t unit;         /* AK_TU_INVALID: the column itself; else DAY/HOUR/MONTH/YEAR */
    ak_loc_t loc;
} ak_partition_t;

/* A `<column>_date` (_day, _hour, _month, _year) partition name: its unit,
 * and in *base_len the length of <column>; AK_TU_INVALID for other names. */
ak_tunit_t ak_partition_derived(const char *name, size_t *base_len);

/* output.lake: how the Iceberg table is written and kept (format: iceberg). */
typedef enum ak_lake_codec { AK_LAKE_ZSTD = 0, AK_LAKE_SNAPPY, AK_LAKE_UNCOMPRESSED } ak_lake_codec_t;
typedef struct ak_lake_cfg {
    ak_lake_codec_t codec;
    bool compaction;
    int64_t compact_files;       /* files in a partition that get it rewritten */
    int64_t target_file_bytes;   /* files below this are small */
    int64_t snapshot_age_us;     /* older snapshots expire */
    int64_t keep_snapshots;      /* ... but this many are always kept */
    int64_t expire_every_us;     /* how often expiry runs */
    bool sqlite_catalog;         /* a SQLite (JDBC layout) catalog, else the file-system one */
    char *catalog_db;            /* its database as written (NULL: <warehouse>/catalog.db) */
    char *catalog_name;          /* iceberg_tables.catalog_name */
} ak_lake_cfg_t;

typedef struct ak_output {
    ak_output_format_t format;
    ak_lake_cfg_t lake;
    ak_partition_t *partition_key;
    size_t n_partition_key;
    bool has_retention;
    int64_t retention_days;
    ak_retention_policy_t retention_policy;
    char *retention_column;  /* the column whose age counts (NULL: derived) */
    char **primary_key;
    size_t n_primary_key;
    char *warehouse;         /* NULL if absent */
    ak_out_column_t *schema; /* may be empty */
    size_t n_schema;
    ak_loc_t loc;
} ak_output_t;

typedef enum ak_severity { AK_SEVERITY_CRITICAL = 0, AK_SEVERITY_WARNING } ak_severity_t;

/* A check's SQL yields one number; the check fails when it is above the
 * threshold.  A failing critical check blocks publishing. */
typedef struct ak_check {
    char *name;              /* unique */
    char *sql;               /* with `{{ this }}` for the candidate table */
    ak_severity_t severity;
    double threshold;
    char *description;      /* NULL if absent */
    ak_loc_t loc;            /* the check's map */
    ak_loc_t sql_loc;        /* where the SQL text starts */
} ak_check_t;

typedef enum ak_intent { AK_INTENT_ANALYTICS = 0, AK_INTENT_LOOKUP } ak_intent_t;
typedef enum ak_index_type { AK_INDEX_SORT_KEY = 0, AK_INDEX_INDEX, AK_INDEX_UNIQUE } ak_index_type_t;

typedef struct ak_index {
    char **columns;
    size_t n_columns;
    ak_index_type_t type;
    ak_loc_t loc;
} ak_index_t;

typedef struct ak_serving_mode {
    ak_intent_t intent;
    char *engine;            /* NULL: the embedded store */
    bool materialized;
    int64_t refresh_interval_us; /* 0 if absent */
    int64_t cache_ttl_us;    /* 0 if absent */
    ak_index_t *indexes;
    size_t n_indexes;
    ak_loc_t loc;
} ak_serving_mode_t;

typedef struct ak_compute {
    char *engine;            /* NULL: the built-in scheduler */
    char *schedule;          /* NULL if absent */
    ak_cron_t cron;          /* when schedule != NULL */
    char *cpu;               /* as written ("2", "500m"); NULL if absent */
    double cpu_cores;        /* 0 if absent */
    int64_t memory_bytes;    /* 0 if absent */
    int64_t timeout_s;       /* 3600 by default */
    int64_t retries;         /* 0 by default */
    int64_t checkpoint_us;   /* 10 s by default */
    int64_t lateness_us;     /* compute.allowed_lateness (0 by default) */
    char **tags;
    size_t n_tags;
    ak_loc_t loc;
} ak_compute_t;

typedef struct ak_manifest_priv ak_manifest_priv_t;

typedef struct ak_manifest {
    ak_product_t product;
    ak_input_t *inputs;
    size_t n_inputs;
    ak_transform_t transform;
    ak_output_t output;
    struct {
        ak_check_t *checks;
        size_t n_checks;
    } quality;               /* empty if the section is absent */
    struct {
        ak_serving_mode_t *modes;
        size_t n_modes;
    } serving;               /* empty if the section is absent */
    ak_compute_t compute;    /* defaults if the section is absent */
    ak_manifest_priv_t *priv;
} ak_manifest_t;

/* Loads a product from files in memory (copied; the caller keeps its own).
 * On success *out is a new manifest (ak_manifest_free); on error *out is
 * NULL and err names the file, line and column. */
int ak_manifest_load_files(const ak_mfile_t *files, size_t n, ak_manifest_t **out, ak_err_t *err);
/* Reads dir's *.yaml, *.yml and *.sql files (not hidden ones, not
 * subdirectories), sorted by name, and loads them with
 * ak_manifest_load_files.  File names in messages are the bare names. */
int ak_manifest_load_dir(const char *dir, ak_manifest_t **out, ak_err_t *err);
void ak_manifest_free(ak_manifest_t *m);  /* NULL is a no-op */

/* The files the manifest was loaded from, in load order, owned by the
 * manifest: what the catalog stores for a deployed version. */
const ak_mfile_t *ak_manifest_files(const ak_manifest_t *m, size_t *n);

/* The input called name, or NULL. */
const ak_input_t *ak_manifest_input(const ak_manifest_t *m, const char *name);
/* The declared output schema as an ak_schema_t (key = output.primary_key,
 * required = key).  *out must be empty; ak_schema_free it after. */
int ak_manifest_output_schema(const ak_manifest_t *m, ak_schema_t *out, ak_err_t *err);

/* Every field as `path: value` lines, one per line, in a fixed order (for
 * `akili product show`, debugging and tests: equal dumps, equal manifests). */
void ak_manifest_dump(const ak_manifest_t *m, ak_buf_t *out);

/* The Markdown reference of all manifest sections: docs/CONFIGURATION.md. */
void ak_manifest_doc(ak_buf_t *out);
/* Checks every manifest option table with ak_options_check_table. */
int ak_manifest_check_tables(ak_err_t *err);

const char *ak_strategy_name(ak_strategy_t s);
const char *ak_input_format_name(ak_input_format_t f);
const char *ak_output_format_name(ak_output_format_t f);
const char *ak_severity_name(ak_severity_t s);
const char *ak_intent_name(ak_intent_t i);
const char *ak_index_type_name(ak_index_type_t t);

#endif
