/* ak_table.h - the current rows of one input, kept in memory.
 *
 * Change records are applied in order: for an input with a primary key an
 * UPSERT replaces the row with the same key (for `strategy: incremental`
 * only when its cursor is not older than the stored row's: a newer
 * updated_at wins; a NULL cursor on either side, or a CDC event, applies in
 * arrival order), a DELETE removes it (an UPSERT flagged AK_REC_MERGE
 * changes only the columns it carries); for a keyless input an UPSERT adds
 * a row and a DELETE removes one row equal to the record on the columns it
 * carries.  Only the columns the transform needs are materialised ("kept");
 * the rest of each record lives in the input's change log.
 *
 * Not thread-safe.  The relation returned by ak_table_rel stays valid until
 * the next apply.
 */
#ifndef AK_TABLE_H
#define AK_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_buf.h"
#include "ak_error.h"
#include "ak_record.h"
#include "ak_ser.h"
#include "ak_sql.h"

typedef struct ak_table ak_table_t;

typedef struct ak_table_stats {
    uint64_t upserts, deletes, ignored_older, deletes_unmatched, truncates;
} ak_table_stats_t;

/* keep[i]: materialise schema column i (key and cursor columns are kept
 * regardless).  cursor: schema index of the cursor column or -1;
 * newer_wins: apply the cursor rule to keyed upserts. */
int ak_table_new(const ak_schema_t *schema, const bool *keep, int cursor, bool newer_wins, ak_table_t **out,
                 ak_err_t *err);
void ak_table_free(ak_table_t *t);

int ak_table_apply(ak_table_t *t, const ak_batch_t *b, ak_err_t *err);
/* The live rows as a relation of the kept columns (compacting first).  The
 * relation object stays the same for the table's life, so a prepared plan
 * may hold it; call this again after applying changes before reading it. */
int ak_table_rel(ak_table_t *t, const ak_rel_t **out, ak_err_t *err);
size_t ak_table_rows(const ak_table_t *t);
size_t ak_table_bytes(const ak_table_t *t);
const ak_table_stats_t *ak_table_stats(const ak_table_t *t);

/* Effective changes, as they are applied: (NULL, new) for an added row,
 * (old, new) for a keyed row replaced, (old, NULL) for a removed one.  Rows
 * are the kept columns; `old` is valid during the call only. */
typedef int (*ak_table_listener_t)(void *ctx, const ak_val_t *old_row, const ak_val_t *new_row, ak_err_t *err);
void ak_table_set_listener(ak_table_t *t, ak_table_listener_t fn, void *ctx);

/* Grouping by a partition key computed from a row of kept columns: rows of
 * one key can then be listed without scanning the table.  The key function
 * returns 0, or -1 with err.  Setting it indexes the rows already there. */
typedef int (*ak_table_keyfn_t)(void *ctx, const ak_val_t *row, ak_val_t *key, ak_err_t *err);
int ak_table_set_grouping(ak_table_t *t, ak_table_keyfn_t fn, void *ctx, ak_err_t *err);
/* Live rows whose key equals `key`: *rows points at n row indexes into the
 * table's relation (valid until the next apply or compaction). */
int ak_table_group(ak_table_t *t, const ak_val_t *key, const uint32_t **rows, size_t *n, ak_err_t *err);
/* The relation rows live in, without compacting (dead rows are never listed
 * by ak_table_group). */
const ak_rel_t *ak_table_rows_rel(const ak_table_t *t);

/* Checkpoints: each live row is one record, key = a row number stable for
 * the table's life (compaction moves rows), value = the kept columns.
 * save writes every row (full) or the rows changed since ak_table_saved,
 * which the caller calls once the checkpoint is durable; load restores one
 * row (no listener is told: the operators restore their own state). */
int ak_table_save(ak_table_t *t, bool full, const ak_state_out_t *out, ak_err_t *err);
void ak_table_saved(ak_table_t *t);
int ak_table_load(ak_table_t *t, const void *key, size_t kn, const void *val, size_t vn, ak_err_t *err);

/* Compaction of a keyless input: drops (without telling the listener) the
 * rows whose DATE/TIMESTAMP cursor is older than before_us.  From then on a
 * record older than that, or a delete that matches no row, fails apply with
 * AK_E_BEHIND: it may concern a dropped row.  The horizon is checkpointed. */
int ak_table_forget(ak_table_t *t, int64_t before_us, ak_err_t *err);

/* The newest DATE/TIMESTAMP cursor value of any record applied since the
 * table was made (as µs; not kept in checkpoints): the input's event time. */
bool ak_table_newest(const ak_table_t *t, int64_t *us);
/* Describes the live row with the oldest cursor value (its key, if any);
 * false without a cursor column or rows. */
bool ak_table_oldest(const ak_table_t *t, ak_buf_t *out);

/* The kept columns (names and types, in schema order). */
int ak_table_ncols(const ak_table_t *t);
const char *const *ak_table_names(const ak_table_t *t);
const ak_type_t *ak_table_types(const ak_table_t *t);

#endif
