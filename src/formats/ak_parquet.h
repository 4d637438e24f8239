/* ak_parquet.h - flat Parquet files: a writer, and a reader for what it
 * writes.
 *
 * Types (as the Iceberg spec maps them): BOOL -> BOOLEAN; INT -> INT64;
 * FLOAT -> FLOAT; DOUBLE -> DOUBLE; TEXT -> BYTE_ARRAY STRING (UTF8);
 * DATE -> INT32 DATE; TIMESTAMP -> INT64 TIMESTAMP(UTC, MICROS).  Every
 * column carries its field id.  Optional columns get definition levels,
 * required ones none.  Pages are v1 data pages, PLAIN or dictionary-encoded
 * (a PLAIN dictionary page and RLE_DICTIONARY data pages; a column chunk
 * whose dictionary grows past 64k entries or 1 MiB, or whose values are
 * mostly distinct, is written PLAIN instead), compressed with zstd (the
 * default), snappy, or not at all.  Column chunks carry null_count,
 * min_value/max_value (strings compared as unsigned bytes; NaN ignored;
 * none when every value is NULL or NaN).
 *
 * The writer keeps one row group in columnar form in memory and flushes it
 * when it reaches row_group_rows or row_group_bytes; the file is written
 * under a temporary name (path + ".tmp") and renamed into place by
 * ak_pq_writer_finish after an fsync, so a reader never sees half a file.
 *
 * The reader takes flat files of the types above (INT32/INT16/INT8 and
 * TIMESTAMP in millis or nanos too; PLAIN, PLAIN_DICTIONARY and
 * RLE_DICTIONARY; v1 data pages; uncompressed, snappy, zstd) and refuses the
 * rest with a message naming what it does not support.  It trusts nothing
 * in the file: a truncated or corrupt file is an error (AK_E_CORRUPT).
 *
 * Neither is thread-safe; one writer or reader per thread.
 */
#ifndef AK_PARQUET_H
#define AK_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_error.h"
#include "ak_value.h"

typedef enum { AK_PQ_ZSTD = 0, AK_PQ_SNAPPY, AK_PQ_UNCOMPRESSED } ak_pq_codec_t;

typedef struct ak_pq_col {
    const char *name;
    ak_type_t type;   /* BOOL, INT, FLOAT, DOUBLE, TEXT, DATE, TIMESTAMP */
    bool required;    /* no NULLs: no definition levels */
    int32_t field_id; /* > 0: written as the SchemaElement's field_id */
} ak_pq_col_t;

/* Zero fields take the defaults. */
typedef struct ak_pq_opts {
    ak_pq_codec_t codec;    /* default zstd */
    int zstd_level;         /* default 3 */
    int64_t row_group_rows; /* default 1,048,576 */
    size_t row_group_bytes; /* buffered bytes that end a row group; default 128 MiB */
    size_t page_bytes;      /* uncompressed page size aimed at; default 1 MiB */
    bool no_dictionary;     /* PLAIN only */
} ak_pq_opts_t;

/* Per column, over the whole file.  values counts NULLs too (Iceberg's
 * value_counts); bytes is the compressed size of the column's chunks.
 * has_bounds is false when there is no non-NULL, non-NaN value; min/max
 * have the column's type and TEXT bounds point at bytes the stats own. */
typedef struct ak_pq_colstat {
    int32_t field_id;
    int64_t values, nulls, nans, bytes;
    bool has_bounds;
    ak_val_t min, max;
} ak_pq_colstat_t;

typedef struct ak_pq_stats {
    int64_t rows, file_bytes;
    int ncols;
    ak_pq_colstat_t *cols;
    int64_t *row_group_offsets; /* file offset of each row group's first page */
    int nrow_groups;
} ak_pq_stats_t;

void ak_pq_stats_free(ak_pq_stats_t *st);

/* ---- writer ---- */

typedef struct ak_pq_writer ak_pq_writer_t;

/* Creates path + ".tmp" and writes the header.  The column descriptions are
 * copied. */
int ak_pq_writer_open(const char *path, const ak_pq_col_t *cols, int ncols, const ak_pq_opts_t *o,
                      ak_pq_writer_t **w, ak_err_t *err);
/* Appends one row: row[i] is NULL or of cols[i].type (TEXT must be UTF-8 is
 * the caller's promise; its bytes are copied).  A value of the wrong type,
 * a NULL in a required column or a DATE outside int32 is AK_E_TYPE/RANGE
 * and leaves the writer usable; an I/O failure makes it unusable (only
 * abort is left). */
int ak_pq_write_row(ak_pq_writer_t *w, const ak_val_t *row, ak_err_t *err);
/* Flushes, writes the footer, fsyncs, renames into place and syncs the
 * directory; fills st (if not NULL; free with ak_pq_stats_free).  Frees w
 * whatever the outcome (on failure the temporary file is removed). */
int ak_pq_writer_finish(ak_pq_writer_t *w, ak_pq_stats_t *st, ak_err_t *err);
/* Frees w and removes the temporary file. */
void ak_pq_writer_abort(ak_pq_writer_t *w);

/* ---- reader ---- */

typedef struct ak_pq_file ak_pq_file_t;

int ak_pq_open(const char *path, ak_pq_file_t **f, ak_err_t *err);
/* The same from bytes in memory (borrowed: they must outlive f). */
int ak_pq_open_mem(const void *p, size_t n, ak_pq_file_t **f, ak_err_t *err);
void ak_pq_close(ak_pq_file_t *f);

/* Schema: names (owned by f), types, required, field ids (0: none). */
int ak_pq_ncols(const ak_pq_file_t *f);
const ak_pq_col_t *ak_pq_cols(const ak_pq_file_t *f);
int64_t ak_pq_num_rows(const ak_pq_file_t *f);
int ak_pq_num_row_groups(const ak_pq_file_t *f);
/* Column statistics from the footer, summed over row groups (as the writer
 * reports them; `nans` is -1 when the file does not say). */
int ak_pq_file_stats(const ak_pq_file_t *f, ak_pq_stats_t *st, ak_err_t *err);

/* The next row into row[0..ncols): *eof true after the last one.  TEXT
 * values point into f and stay valid until the next call. */
int ak_pq_next_row(ak_pq_file_t *f, ak_val_t *row, bool *eof, ak_err_t *err);

#endif
