/* ak_lake_int.h - what the lake sink's files share; not for other modules. */
#ifndef AK_LAKE_INT_H
#define AK_LAKE_INT_H

#include "ak_arena.h"
#include "ak_hidx.h"
#include "ak_iceberg.h"
#include "ak_lake_sink.h"
#include "ak_parquet.h"

/* One Parquet file being written: the data or the deletes of a partition. */
typedef struct lfile {
    bool del;
    ak_val_t *part;           /* npart values (TEXT in the batch arena) */
    uint64_t h;
    char *rel;                /* "data/..." */
    ak_pq_writer_t *w;
    ak_pq_stats_t st;
    int64_t rows;
} lfile_t;

struct ak_lake_sink {
    ak_ice_table_t *t;
    int ncols, npart;
    char **names;
    ak_type_t *types;
    ak_pq_col_t *pcols;
    int32_t *ids;
    /* the snapshot being built */
    bool open, replace;
    lfile_t *files;
    size_t nfiles, cap_files;
    ak_hidx_t byp;            /* hash of (kind, partition) -> file */
    ak_arena_t ar;
    ak_val_t *pv, *conv;      /* scratch: partition values, a converted row */
    int64_t inserted, deleted;
    /* retention by metadata: deletes in partitions wholly before the
     * horizon are not written; those partitions' files leave instead */
    int tpart;                /* time partition of the retention column (-1: none) */
    int64_t horizon;          /* INT64_MIN: none for this snapshot */
    int64_t skipped;          /* deletes not written for that reason */
    int64_t dropped_to;       /* the horizon partitions were last dropped at */
    /* codec, sort key (columns), maintenance */
    int codec;
    int *sort_cols;
    int nsort;
    ak_lake_maint_t maint;
    int64_t last_expire_us;
};


/* The rows of an open table at a snapshot (-1: the current one); see
 * ak_lake_read. */
int ak__lake_read_table(ak_ice_table_t *t, int64_t snapshot_id, int ncols, const char *const *names,
                        const ak_type_t *types, ak_rel_t **out, ak_err_t *err);

/* The rows of live files into r (r's columns, matched by name): data files
 * minus the rows equality deletes of later sequence numbers match. */
int ak__lake_read_files(const ak_ice_live_t *const *files, size_t n, ak_rel_t *r, ak_err_t *err);
/* Creates the folders of a file path's parent. */
int ak__lake_make_parent(const char *path, ak_err_t *err);
/* The akili.* summary properties of the current snapshot (copies), as
 * pairs for a maintenance commit; *n pairs.  Free with ak__lake_props_free. */
int ak__lake_props(const ak_lake_sink_t *l, char **props, size_t *n, ak_err_t *err);
void ak__lake_props_free(char **props, size_t n);

#endif
