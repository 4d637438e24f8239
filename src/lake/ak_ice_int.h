/* ak_ice_int.h - what the Iceberg files (ak_ice_*.c) share; not for other
 * modules. */
#ifndef AK_ICE_INT_H
#define AK_ICE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_arena.h"
#include "ak_buf.h"
#include "ak_error.h"
#include "ak_iceberg.h"

#define AK_ICE_MAX_PATH 4096
#define AK_ICE_MAX_FIELDS 1024
#define AK_ICE_PART_BASE 1000      /* first partition field id, as the spec's writers use */
#define AK_ICE_MLOG_MAX 100        /* previous metadata files listed (older ones deleted) */
#define AK_ICE_MERGE_MIN 8         /* carried manifests of a kind merged into one from this count */

/* Iceberg primitive types this layer writes and reads. */
typedef enum {
    AK_IT_NONE = 0, AK_IT_BOOLEAN, AK_IT_INT, AK_IT_LONG, AK_IT_FLOAT, AK_IT_DOUBLE,
    AK_IT_DATE, AK_IT_TIMESTAMPTZ, AK_IT_TIMESTAMP, AK_IT_STRING
} ak_itype_t;

typedef enum { AK_TR_IDENTITY = 0, AK_TR_YEAR, AK_TR_MONTH, AK_TR_DAY, AK_TR_HOUR } ak_ice_tr_t;

typedef struct ak_ice_field {
    int32_t id;
    char *name;
    ak_itype_t type;
    bool required;
} ak_ice_field_t;

typedef struct ak_ice_pfield {
    int32_t source_id, field_id;
    char *name;
    ak_ice_tr_t tr;
    int src;                       /* index in t->fields */
} ak_ice_pfield_t;

typedef struct ak_ice_kv {
    char *k, *v;
} ak_ice_kv_t;

typedef struct ak_ice_snap {
    int64_t id, parent, seq, ts_ms; /* parent -1: none */
    int32_t schema_id;
    char *list;                    /* manifest list URI */
    ak_ice_kv_t *sum;              /* summary, "operation" first */
    size_t nsum;
} ak_ice_snap_t;

typedef struct ak_ice_mlog {
    int64_t ts_ms;
    char *file;                    /* URI */
} ak_ice_mlog_t;

struct ak_ice_table {
    char *dir, *location;          /* /abs/wh/ns/t and file:///abs/wh/ns/t */
    char *catalog_db, *catalog_name, *ns, *name;
    char uuid[40];
    int64_t version;               /* N of the current metadata file */
    char *meta_file;               /* its absolute local path */
    int64_t last_seq, last_updated_ms;
    int32_t last_column_id, schema_id, spec_id, last_partition_id, sort_order_id;
    ak_ice_field_t *fields;
    int nfields;
    int *colmap;                   /* opened schema column -> field index */
    int ncols;
    ak_ice_pfield_t *pf;
    int npf;
    int32_t *sort_ids;
    int nsort;
    ak_ice_kv_t *props;
    size_t nprops;
    int64_t current;               /* -1: none */
    ak_ice_snap_t *snaps;
    size_t nsnaps;
    int64_t *slog_ts, *slog_id;    /* snapshot-log */
    size_t nslog;
    ak_ice_mlog_t *mlog;
    size_t nmlog;
};

/* A manifest entry (status 0 existing, 1 added, 2 deleted). */
typedef struct ak_ice_entry {
    int status;
    int64_t snapshot_id, seq, file_seq;
    ak_ice_content_t content;
    const char *path;              /* URI */
    int64_t rows, bytes;
    ak_val_t *part;                /* npf values */
    int ncols;
    ak_ice_colstat_t *cols;
    int32_t *eq_ids;
    int neq;
    int32_t sort_order_id;         /* -1: none */
} ak_ice_entry_t;

/* Entries read from manifests; strings and arrays live in the arena. */
typedef struct ak_ice_entries {
    ak_arena_t ar;
    ak_ice_entry_t *e;
    size_t n, cap;
} ak_ice_entries_t;

typedef struct ak_ice_psum {
    bool contains_null;
    int contains_nan;              /* -1: unknown (null) */
    bool has_lo, has_hi;
    uint8_t *lo, *hi;
    size_t nlo, nhi;
} ak_ice_psum_t;

/* A manifest_file record of a manifest list. */
typedef struct ak_ice_mfile {
    char *path;
    int64_t length;
    int32_t spec_id;
    int content;                   /* 0 data, 1 deletes */
    int64_t seq, min_seq, added_snapshot_id;
    int32_t added_files, existing_files, deleted_files;
    int64_t added_rows, existing_rows, deleted_rows;
    ak_ice_psum_t *parts;          /* npart, or NULL when absent */
    int npart;
} ak_ice_mfile_t;

/* ---- ak_ice_bounds.c: types, transforms, single-value serialization */
ak_itype_t ak__ice_itype_of(ak_type_t t);
ak_itype_t ak__ice_itype_parse(const char *s);
const char *ak__ice_itype_name(ak_itype_t t);
/* The type a partition field's values have. */
ak_itype_t ak__ice_part_type(const ak_ice_table_t *t, const ak_ice_pfield_t *p);
const char *ak__ice_tr_name(ak_ice_tr_t tr);
int ak__ice_tr_parse(const char *s, ak_ice_tr_t *tr);
/* Applies a transform to a source value (NULL in, NULL out). */
int ak__ice_transform(ak_ice_tr_t tr, ak_itype_t src, const ak_val_t *v, ak_val_t *out, ak_err_t *err);
/* Checks / coerces v to the Iceberg type (INT for a double column, ...). */
int ak__ice_coerce(ak_itype_t t, const ak_val_t *v, ak_val_t *out, ak_err_t *err);
/* The spec's single-value binary serialization (appends to out). */
int ak__ice_bound_put(ak_itype_t t, const ak_val_t *v, ak_buf_t *out, ak_err_t *err);
/* Reverse; TEXT points into p. */
int ak__ice_bound_get(ak_itype_t t, const uint8_t *p, size_t n, ak_val_t *out, ak_err_t *err);
/* Partition value as text in a path ("2026-11-01", "KE"); NULL: "null". */
void ak__ice_part_text(ak_itype_t t, ak_ice_tr_t tr, const ak_val_t *v, ak_buf_t *out);
/* Random ids. */
int ak__ice_random(void *p, size_t n);
void ak__ice_uuid(char out[37]);
int64_t ak__ice_new_snapshot_id(const ak_ice_table_t *t);
/* Avro-compatible name for a field: letters, digits, _ (others as _xHH). */
void ak__ice_avro_name(const char *s, ak_buf_t *out);

/* ---- ak_ice_meta.c: metadata JSON */
int ak__ice_meta_write(const ak_ice_table_t *t, ak_buf_t *out);
/* Parses metadata JSON into t (fields of t are freed first). */
int ak__ice_meta_read(ak_ice_table_t *t, const char *json, size_t n, ak_err_t *err);
void ak__ice_table_clear(ak_ice_table_t *t);
void ak__ice_snap_free(ak_ice_snap_t *s);
const char *ak__ice_snap_sum(const ak_ice_snap_t *s, const char *key);
/* file:///x -> /x (other URIs unchanged). */
const char *ak__ice_local(const char *uri);

/* ---- ak_ice_avro.c: manifests and manifest lists */
int ak__ice_manifest_write(const ak_ice_table_t *t, int content, ak_ice_entry_t *const *e, size_t n,
                           int64_t snapshot_id, int64_t seq, const char *path, ak_arena_t *ar,
                           ak_ice_mfile_t *mf, ak_err_t *err);
int ak__ice_manifest_read(const ak_ice_table_t *t, const char *uri, ak_ice_entries_t *out, ak_err_t *err);
int ak__ice_list_write(const ak_ice_table_t *t, const ak_ice_snap_t *s, const ak_ice_mfile_t *mf, size_t n,
                       const char *path, int64_t *len, ak_err_t *err);
int ak__ice_list_read(const char *uri, ak_arena_t *ar, ak_ice_mfile_t **out, size_t *n, ak_err_t *err);
void ak__ice_entries_init(ak_ice_entries_t *es);
void ak__ice_entries_free(ak_ice_entries_t *es);

/* ---- ak_ice_commit.c */
/* Writes t's metadata as the version after t->version through the catalog;
 * on success t->version/meta_file name the new file and *bytes is its size.
 * A lost race is AK_E_STATE, retriable. */
int ak__ice_publish(ak_ice_table_t *t, int64_t *bytes, ak_err_t *err);
int ak__ice_reload(ak_ice_table_t *t, ak_err_t *err);
const ak_ice_snap_t *ak__ice_find_snap(const ak_ice_table_t *t, int64_t id);
/* Reads all live entries of a snapshot. */
int ak__ice_live_entries(const ak_ice_table_t *t, const ak_ice_snap_t *s, ak_ice_entries_t *es, ak_err_t *err);

/* A set of strings (paths), for reachability. */
typedef struct ak_ice_sset {
    char **slot;
    size_t cap, n;
} ak_ice_sset_t;
int ak__ice_sset_add(ak_ice_sset_t *s, const char *k);   /* 0 added/present, -1 oom */
bool ak__ice_sset_has(const ak_ice_sset_t *s, const char *k);
void ak__ice_sset_free(ak_ice_sset_t *s);

/* ---- ak_ice_json.c: a bounded JSON reader for metadata */
typedef enum { AK_J_NULL, AK_J_BOOL, AK_J_NUM, AK_J_STR, AK_J_ARR, AK_J_OBJ } ak_jtype_t;
typedef struct ak_jv {
    ak_jtype_t type;
    bool b;
    const char *s;                 /* STR: unescaped, NUL-ended; NUM: its text */
    size_t n;                      /* STR/NUM: length; ARR/OBJ: count */
    struct ak_jv *items;           /* ARR/OBJ values */
    const char **keys;             /* OBJ keys */
} ak_jv_t;
int ak__json_parse(ak_arena_t *ar, const char *p, size_t n, ak_jv_t **out, ak_err_t *err);
const ak_jv_t *ak__jget(const ak_jv_t *o, const char *key);
bool ak__jint(const ak_jv_t *v, int64_t *out);

#endif
