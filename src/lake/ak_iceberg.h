/* ak_iceberg.h - Apache Iceberg v2 tables in a local warehouse folder.
 *
 * A table lives at <warehouse>/<namespace>/<table>/ with metadata/ (metadata
 * JSON, Avro manifests and manifest lists) and data/ (Parquet files, written
 * by someone else: this layer only records them).  Its schema comes from an
 * akili schema (field ids 1..n, matched by name on later loads so they never
 * move), its partition spec from the product's `partition_key` (a column:
 * identity; `<col>_date`/`_day`, `_hour`, `_month`, `_year`: that transform
 * of a date/timestamp column), its sort order from a list of columns.
 *
 * Types: BOOL boolean, INT long, FLOAT float, DOUBLE double, TEXT string,
 * DATE date, TIMESTAMP timestamptz (microseconds, UTC: Parquet files must
 * mark them isAdjustedToUTC).  INTERVAL has no Iceberg type.
 *
 * Commits are atomic through a catalog: the file-system one (metadata/
 * v<N>.metadata.json linked into place only if absent, then
 * version-hint.text) or a SQLite file shaped like the Iceberg JDBC catalog's
 * `iceberg_tables` (an UPDATE guarded by the previous metadata location).  A
 * writer that loses a race gets AK_E_STATE with err->retriable set; the
 * table handle is then reloaded to the winner's state.
 *
 * Paths in metadata are absolute file:// URIs.  Snapshot ids stay below 2^53
 * so JavaScript readers parse them exactly.  Not thread-safe: one handle per
 * writer.
 */
#ifndef AK_ICEBERG_H
#define AK_ICEBERG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_buf.h"
#include "ak_error.h"
#include "ak_record.h"
#include "ak_value.h"

typedef struct ak_ice_table ak_ice_table_t;

typedef enum { AK_ICE_DATA = 0, AK_ICE_POS_DELETES = 1, AK_ICE_EQ_DELETES = 2 } ak_ice_content_t;

/* One column's statistics in a data or delete file. */
typedef struct ak_ice_colstat {
    int32_t field_id;
    int64_t values, nulls, bytes; /* value count (NULLs included), NULL count, compressed bytes */
    bool has_bounds;
    ak_val_t min, max;            /* of the column's type (TEXT borrowed) */
} ak_ice_colstat_t;

/* A file to record.  path: relative to the table folder ("data/...") or
 * absolute.  partition: one value per partition field, as
 * ak_ice_partition_of gives them.  Equality delete files name the columns
 * they match on (field ids). */
typedef struct ak_ice_file {
    ak_ice_content_t content;
    const char *path;
    int64_t rows, bytes;
    const ak_val_t *partition;
    int ncols;
    const ak_ice_colstat_t *cols;
    const int32_t *equality_ids;
    int n_equality;
    bool sorted;                  /* data file rows in the table's sort order (else recorded unsorted) */
} ak_ice_file_t;

typedef struct ak_ice_opts {
    const char *warehouse, *ns, *name;
    /* NULL: load an existing table as it is.  Else create it, or load it
     * and check the columns match by name and type (field ids kept). */
    const ak_schema_t *schema;
    const char *const *partition_key;
    size_t n_partition_key;
    const char *const *sort_key;  /* ascending, NULLs first */
    size_t n_sort_key;
    const char *catalog_db;       /* NULL: file-system catalog; else a SQLite file */
    const char *catalog_name;     /* SQLite catalog's catalog_name (default "akili") */
} ak_ice_opts_t;

int ak_ice_open(const ak_ice_opts_t *o, ak_ice_table_t **out, ak_err_t *err);
void ak_ice_close(ak_ice_table_t *t);

/* Absolute table folder, current snapshot id (-1 if none), metadata file. */
const char *ak_ice_dir(const ak_ice_table_t *t);
int64_t ak_ice_current_snapshot(const ak_ice_table_t *t);
const char *ak_ice_metadata_file(const ak_ice_table_t *t);
/* Field id of column `col` of the schema given to ak_ice_open (-1 if out
 * of range or the table was opened without a schema). */
int32_t ak_ice_field_id(const ak_ice_table_t *t, int col);
int ak_ice_npartition(const ak_ice_table_t *t);
/* The table's current schema: its columns' names and akili types
 * (AK_TYPE__COUNT for a type akili does not read). */
int ak_ice_ncolumns(const ak_ice_table_t *t);
const char *ak_ice_column_name(const ak_ice_table_t *t, int i);
ak_type_t ak_ice_column_type(const ak_ice_table_t *t, int i);

/* The partition values of a row (values in the order of the opened schema's
 * columns) into out[ak_ice_npartition]: identity: the value itself (TEXT
 * borrowed from row); day: a DATE; hour/month/year: an INT of hours/months/
 * years since 1970.  NULL source: NULL partition value. */
int ak_ice_partition_of(const ak_ice_table_t *t, const ak_val_t *row, ak_val_t *out, ak_err_t *err);
/* "data/<a=x/b=y>/<uuid>.parquet" for a new file of that partition. */
int ak_ice_data_path(const ak_ice_table_t *t, const ak_val_t *partition, ak_buf_t *rel, ak_err_t *err);

typedef enum { AK_ICE_OP_AUTO = 0, AK_ICE_OP_APPEND, AK_ICE_OP_OVERWRITE, AK_ICE_OP_DELETE, AK_ICE_OP_REPLACE } ak_ice_op_t;

/* One snapshot.  AUTO: append if only data files are added, delete if
 * nothing is added but files are removed or delete files added, else
 * overwrite.  REPLACE: a rewrite (compaction) that keeps the rows.
 * remove: paths (as given when added, or absolute) of live files. */
typedef struct ak_ice_commit {
    ak_ice_op_t op;
    const ak_ice_file_t *add;
    size_t n_add;
    const char *const *remove;
    size_t n_remove;
    /* extra snapshot summary properties: n_props pairs key, value, ... */
    const char *const *props;
    size_t n_props;
} ak_ice_commit_t;

/* What a commit or expiry wrote and removed, in bytes and files. */
typedef struct ak_ice_stats {
    int64_t snapshot_id;          /* -1: nothing committed */
    int64_t manifest_bytes, list_bytes, metadata_bytes;
    int manifests_written, manifests_carried;
    int64_t files_deleted;        /* expiry: files unlinked */
    int64_t snapshots_expired;
} ak_ice_stats_t;

int ak_ice_commit(ak_ice_table_t *t, const ak_ice_commit_t *c, ak_ice_stats_t *st, ak_err_t *err);

/* Live files of a snapshot. */
typedef struct ak_ice_live {
    ak_ice_file_t f;               /* path: local absolute path */
    const char *uri;               /* as stored in the manifest */
    int64_t seq, file_seq, snapshot_id;
} ak_ice_live_t;

typedef struct ak_ice_scan ak_ice_scan_t;
/* snapshot_id -1: the current one (an empty scan if there is none). */
int ak_ice_scan(const ak_ice_table_t *t, int64_t snapshot_id, ak_ice_scan_t **out, ak_err_t *err);
size_t ak_ice_scan_count(const ak_ice_scan_t *s);
const ak_ice_live_t *ak_ice_scan_file(const ak_ice_scan_t *s, size_t i);
void ak_ice_scan_free(ak_ice_scan_t *s);

/* Snapshots of the table, oldest first. */
size_t ak_ice_snapshot_count(const ak_ice_table_t *t);
int64_t ak_ice_snapshot_id(const ak_ice_table_t *t, size_t i);
int64_t ak_ice_snapshot_time_ms(const ak_ice_table_t *t, size_t i);
/* A summary property of snapshot `id` (-1: the current one); NULL if
 * there is no such snapshot or property.  Valid until the next commit. */
const char *ak_ice_snapshot_prop(const ak_ice_table_t *t, int64_t id, const char *key);

/* Expires snapshots older than older_than_ms (epoch ms) except the last
 * keep_last of the current snapshot's history, keeps keep_metadata previous
 * metadata files, then deletes every file only expired snapshots used. */
int ak_ice_expire(ak_ice_table_t *t, int64_t older_than_ms, int keep_last, int keep_metadata, ak_ice_stats_t *st,
                  ak_err_t *err);
/* Retention by metadata only: a `delete` snapshot removing every file of the
 * partitions whose time partition value lies wholly before horizon_us (a
 * TIMESTAMP in µs).  Needs a time partition field; NULL partitions stay.
 * st->snapshot_id is -1 if nothing was old enough. */
int ak_ice_drop_before(ak_ice_table_t *t, int64_t horizon_us, ak_ice_stats_t *st, ak_err_t *err);
/* The partition field (index) that is a time of column `col` of the opened
 * schema (a day/hour/month/year transform, or identity of a date or
 * timestamp); -1 if none. */
int ak_ice_time_partition(const ak_ice_table_t *t, int col);
/* Whether partition values `part` (as ak_ice_partition_of gives them) lie
 * wholly before horizon_us on time partition field `pf` (NULL: never). */
bool ak_ice_partition_before(const ak_ice_table_t *t, int pf, const ak_val_t *part, int64_t horizon_us);
/* Deletes the files in the table's data/ and metadata/ folders that no
 * snapshot references (Parquet and Avro files a crash left between writing
 * them and committing, or between a commit and deleting what it replaced),
 * if last modified before older_than_ms.  Only for the table's one writer:
 * a file another writer has yet to commit would go too. */
int ak_ice_remove_orphans(ak_ice_table_t *t, int64_t older_than_ms, ak_ice_stats_t *st, ak_err_t *err);

#endif
