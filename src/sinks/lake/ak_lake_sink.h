/* ak_lake_sink.h - a product's output as an Iceberg v2 table that follows
 * the serving table publish by publish.
 *
 * Each publish of the serving table becomes one snapshot of the lake table
 * <warehouse>/<namespace>/<product>: inserted rows go to new zstd Parquet
 * data files (one per partition touched), deleted rows to equality-delete
 * files on all output columns (the exact old row, in the old row's
 * partition).  An equality delete removes every copy of a row, so a row
 * that stays in the table with fewer copies is deleted and added again
 * with the copies left.  A table replaced whole (a rebuild) becomes a
 * snapshot that removes every live file and adds the whole table.
 *
 * Every snapshot's summary carries the serving table's commit number
 * (`akili.commit-seq`).  The serving table is the truth and is committed
 * first; the lake snapshot follows.  A lake whose number is not the serving
 * table's (a crash or a failure in between) is caught up by one snapshot
 * holding the difference; a lake already at the number is left alone, so
 * the lake never misses nor doubles a publish.
 *
 * Not thread-safe: used by the serving sink's publisher only.
 */
#ifndef AK_LAKE_SINK_H
#define AK_LAKE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_error.h"
#include "ak_manifest.h"
#include "ak_sql.h"
#include "ak_value.h"

typedef struct ak_lake_sink ak_lake_sink_t;
struct ak_ice_table;

/* Keeping the table small: after a snapshot, partitions that gathered
 * compact_files small files (below target_file_bytes; delete files count)
 * are rewritten into one sorted file with their deletes applied, a few
 * per call; every expire_every_us, snapshots older than snapshot_age_us
 * expire, the newest keep_snapshots excepted (keep_snapshots 0: never). */
typedef struct ak_lake_maint {
    bool compaction;
    int64_t compact_files, target_file_bytes;
    int64_t snapshot_age_us, keep_snapshots, expire_every_us;
} ak_lake_maint_t;

/* Where a product's lake table is: <warehouse>/<ns>/<name>, its current
 * metadata recorded by the file-system catalog (catalog_db NULL) or in a
 * SQLite catalog's iceberg_tables.  All owned (ak_lake_loc_free). */
typedef struct ak_lake_loc {
    char *warehouse, *catalog_db, *catalog_name, *ns, *name;
} ak_lake_loc_t;

/* From output.warehouse and output.lake's catalog keys: the warehouse
 * defaults to <home>/lake, a SQLite catalog's database to
 * <warehouse>/catalog.db (file:// and jdbc:sqlite: prefixes are taken off). */
int ak_lake_locate(const ak_output_t *o, const char *home, const char *ns, const char *name, ak_lake_loc_t *out,
                   ak_err_t *err);
void ak_lake_loc_free(ak_lake_loc_t *l);

typedef struct ak_lake_sink_opts {
    const ak_lake_loc_t *loc;
    int ncols;
    const char *const *names;
    const ak_type_t *types;
    const char *const *partition_key; /* output.partition_key as written */
    size_t n_partition_key;
    const char *const *sort_key;      /* the table's sort order (columns, ascending) */
    size_t n_sort_key;
    int codec;                        /* ak_pq_codec_t (0: zstd) */
    const char *retention_column;     /* output retention's column (NULL: none) */
    ak_lake_maint_t maint;
} ak_lake_sink_opts_t;

typedef struct ak_lake_report {
    int64_t snapshot_id;              /* -1: none committed */
    int64_t inserted, deleted;        /* rows written to data / delete files */
    int64_t files, bytes;             /* Parquet files and their bytes */
    int64_t expired_rows, dropped_files; /* retention: deletes not written, files dropped */
    bool replaced;
} ak_lake_report_t;

/* Creates the table if absent (or checks its columns). */
int ak_lake_sink_open(const ak_lake_sink_opts_t *o, ak_lake_sink_t **out, ak_err_t *err);
void ak_lake_sink_free(ak_lake_sink_t *l);
const char *ak_lake_sink_dir(const ak_lake_sink_t *l);

/* The commit number of the newest snapshot that has one (0: none). */
int64_t ak_lake_sink_commit(const ak_lake_sink_t *l);

/* What a snapshot records of the serving publish it follows, in its
 * summary (`akili.commit-seq`, `akili.version`, `akili.inputs`,
 * `akili.logs`): enough to rebuild the serving table from the lake and
 * have a restart carry on from it. */
typedef struct ak_lake_mark {
    int64_t commit;                   /* the serving table's commit number */
    const char *version;              /* product version (NULL: none) */
    const char *inputs;               /* input positions, JSON (NULL: none) */
    const char *logs;                 /* the engine's input log lengths (NULL: none) */
} ak_lake_mark_t;

#define AK_LAKE_SEQ_PROP "akili.commit-seq"
#define AK_LAKE_VERSION_PROP "akili.version"
#define AK_LAKE_INPUTS_PROP "akili.inputs"
#define AK_LAKE_LOGS_PROP "akili.logs"

/* One snapshot: begin, then rows (w > 0: w copies added; w < 0: the row
 * deleted, every copy), then finish with the serving publish's mark, or
 * abort.  replace: the snapshot removes every live file first. */
int ak_lake_sink_begin(ak_lake_sink_t *l, bool replace, ak_err_t *err);
int ak_lake_sink_put(ak_lake_sink_t *l, const ak_val_t *row, int64_t w, ak_err_t *err);
/* Retention for the snapshot begun (after begin): the serving table keeps
 * no row whose retention column is before horizon_us, so a delete in a
 * partition of that column wholly before it is not written and the
 * snapshot drops those partitions' files instead (metadata only). */
void ak_lake_sink_horizon(ak_lake_sink_t *l, int64_t horizon_us);
int ak_lake_sink_finish(ak_lake_sink_t *l, const ak_lake_mark_t *m, ak_lake_report_t *rep, ak_err_t *err);
void ak_lake_sink_abort(ak_lake_sink_t *l);

/* Maintenance after a snapshot (see ak_lake_maint_t), at wall time now_us. */
typedef struct ak_lake_maint_report {
    int partitions;                   /* rewritten */
    int64_t files_in, files_out, bytes_in, bytes_out, rows;
    int64_t snapshots_expired, files_deleted;
    int64_t compact_us, expire_us;
} ak_lake_maint_report_t;
int ak_lake_sink_maintain(ak_lake_sink_t *l, int64_t now_us, ak_lake_maint_report_t *rep, ak_err_t *err);

/* Catching up: the table's rows (at the current snapshot) as a relation
 * with the sink's columns. */
int ak_lake_sink_rows(ak_lake_sink_t *l, ak_rel_t **out, ak_err_t *err);

/* The rows of a lake table at a snapshot (-1: the current one), reading
 * the live data files and applying the equality deletes of later sequence
 * numbers; columns matched by name to names/types (names NULL: the
 * table's columns).  A table that does not exist is AK_E_NOTFOUND. */
int ak_lake_read(const ak_lake_loc_t *loc, int64_t snapshot_id, int ncols, const char *const *names,
                 const ak_type_t *types, ak_rel_t **out, ak_err_t *err);

/* Opens the table for reading (NULL schema: as it is). */
int ak_lake_open(const ak_lake_loc_t *loc, struct ak_ice_table **out, ak_err_t *err);

#endif
