/* ak_store.h - the embedded serving store: published tables in SQLite.
 *
 * One database per namespace, $AKILI_HOME/serving/<namespace>.db, so a
 * product's output `analytics.user_sessions` is table `user_sessions` there
 * (attachable in sqlite3 as schema `analytics`).  A candidate that quality
 * gates blocked is kept as `<name>__candidate` for inspection.  Column types
 * are recorded in `_akili_tables`; timestamps are stored as INTEGER
 * microseconds since the epoch (UTC), dates as INTEGER days, so range
 * predicates use the indexes.
 *
 * Publishing replaces a table's contents in one transaction: readers see the
 * old version or the new one, never a mix.  Not thread-safe per handle.
 */
#ifndef AK_STORE_H
#define AK_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "ak_arena.h"
#include "ak_error.h"
#include "ak_sql.h"

typedef struct ak_store ak_store_t;

typedef struct ak_store_index {
    const char *const *columns;
    int ncolumns;
    bool unique;
} ak_store_index_t;

typedef struct ak_store_table {
    int ncols;
    char **names;
    ak_type_t *types;
    char *version;
    int64_t run_id;
    int64_t rows;
    int64_t updated_us;
    char *inputs;        /* {"input": position, ...}: what the rows reflect (NULL: unknown) */
    int64_t commit_seq;  /* the writer's commit number (0: none recorded) */
    char *logs;          /* the writer's input log lengths at that commit (NULL: none) */
} ak_store_table_t;

int ak_store_open(const char *home, const char *ns, ak_store_t **out, ak_err_t *err);
void ak_store_close(ak_store_t *s);

/* Changes to one table in one transaction: readers see all of them or none.
 * With `replace` the rows go to a scratch table that takes the table's place
 * (with its indexes) at commit; otherwise they change the table in place
 * (created if absent).  Rows are addressed by SQLite rowid. */
typedef struct ak_store_tx ak_store_tx_t;
int ak_store_begin(ak_store_t *s, const char *name, int ncols, const char *const *names, const ak_type_t *types,
                   const ak_store_index_t *idx, int nidx, bool replace, ak_store_tx_t **out, ak_err_t *err);
int ak_store_tx_insert(ak_store_tx_t *t, const ak_val_t *row, int64_t *rowid, ak_err_t *err);
/* old (may be NULL): the row it replaces, so only changed columns are
 * written (and only the indexes on them touched). */
int ak_store_tx_update(ak_store_tx_t *t, int64_t rowid, const ak_val_t *row, const ak_val_t *old, ak_err_t *err);
int ak_store_tx_delete(ak_store_tx_t *t, int64_t rowid, ak_err_t *err);
/* Reads a row back (strings in a); 1 if there is no such rowid. */
int ak_store_tx_read(ak_store_tx_t *t, int64_t rowid, ak_val_t *row, ak_arena_t *a, ak_err_t *err);
/* Copies every row of table `from` (same columns), keeping rowids. */
int ak_store_tx_copy(ak_store_tx_t *t, const char *from, ak_err_t *err);
/* Commits, recording the table's version, run, row count and the input
 * positions its contents reflect (JSON, may be NULL); frees t. */
/* Records, with the commit, the writer's commit number and input log
 * lengths (what a restart compares with its checkpoint). */
int ak_store_tx_mark(ak_store_tx_t *t, int64_t commit_seq, const char *logs, ak_err_t *err);
int ak_store_tx_commit(ak_store_tx_t *t, const char *version, int64_t run_id, int64_t rows, const char *inputs,
                       ak_err_t *err);
void ak_store_tx_abort(ak_store_tx_t *t);

/* Replaces table `name` with the rows of rel (atomically), with indexes. */
int ak_store_replace(ak_store_t *s, const char *name, const ak_rel_t *rel, const ak_store_index_t *idx, int nidx,
                     const char *version, int64_t run_id, ak_err_t *err);
int ak_store_drop(ak_store_t *s, const char *name, ak_err_t *err);
/* Table metadata; returns 1 (not an error) when the table does not exist. */
/* Every row of a table with its rowid (values valid during the call). */
int ak_store_each_row(ak_store_t *s, const char *name, int ncols, const char *const *names, const ak_type_t *types,
                      int (*fn)(void *ctx, int64_t rowid, const ak_val_t *row, ak_err_t *err), void *ctx, ak_err_t *err);
int ak_store_info(ak_store_t *s, const char *name, ak_store_table_t *out, ak_err_t *err);
void ak_store_info_free(ak_store_table_t *t);
/* Rows of `name` satisfying the predicates (columns by index in info). */
int ak_store_scan(ak_store_t *s, const char *name, const ak_store_table_t *info, const ak_sql_pred_t *preds, int npreds,
                  ak_rel_t **out, ak_err_t *err);

#endif
