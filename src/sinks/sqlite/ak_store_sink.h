/* ak_store_sink.h - a product's published table, kept up to date by changes.
 *
 * The sink remembers which SQLite rowid holds each row it published, so a
 * change (a row retracted, a row added) becomes a DELETE, an INSERT, or,
 * when a retracted and an added row share the output's key, an UPDATE in
 * place (the session that grew, the window whose count moved).  Changes
 * are staged (accumulated, netted) and published together in one
 * transaction; while quality gates hold them back they keep accumulating,
 * so nothing is lost and nothing is applied twice.  The first publish of a
 * sink replaces the table's contents whole.  Not thread-safe (a publish
 * may run on a thread of its own: ak_store_sink_publish_async).
 */
#ifndef AK_STORE_SINK_H
#define AK_STORE_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "ak_delta.h"
#include "ak_lake_sink.h"
#include "ak_ser.h"
#include "ak_store.h"

typedef struct ak_store_sink ak_store_sink_t;

typedef struct ak_store_sink_opts {
    ak_store_t *store;
    const char *name;                 /* the table */
    int ncols;
    const char *const *names;
    const ak_type_t *types;
    const ak_store_index_t *idx;      /* built when the table is (re)created */
    int nidx;
    const int *key;                   /* the output's key columns (may be none) */
    int nkey;
} ak_store_sink_opts_t;

typedef struct ak_store_sink_report {
    int64_t inserted, updated, deleted, rows;
    bool replaced;
} ak_store_sink_report_t;

int ak_store_sink_new(const ak_store_sink_opts_t *o, ak_store_sink_t **out, ak_err_t *err);
void ak_store_sink_free(ak_store_sink_t *s);
/* A lake table that follows the serving table (the sink takes it): each
 * publish, once committed, is committed to the lake as one snapshot with
 * the same commit number.  A lake that is not at the serving table's
 * number (a crash or a failure between the two) is caught up by the next
 * publish, or by ak_store_sink_adopt at a restart; a lake failure never
 * fails the serving publish (it is logged). */
void ak_store_sink_set_lake(ak_store_sink_t *s, ak_lake_sink_t *lake);
/* The output retention's horizon as of the changes staged so far: the
 * serving table keeps no row before it (the lake drops whole partitions
 * before it by metadata). */
void ak_store_sink_horizon(ak_store_sink_t *s, int64_t horizon_us);
/* Accumulates changes (rows must stay valid until published). */
int ak_store_sink_stage(ak_store_sink_t *s, const ak_delta_t *d, ak_err_t *err);
/* Something to publish: staged changes, or nothing published yet. */
bool ak_store_sink_pending(const ak_store_sink_t *s);
int64_t ak_store_sink_staged(const ak_store_sink_t *s);
/* Rows the table would hold with the staged changes published. */
int64_t ak_store_sink_rows(const ak_store_sink_t *s);
/* Applies everything staged in one transaction, recording the input
 * positions (JSON) the table then reflects, the sink's next commit number
 * and `logs` (the caller's input log lengths). */
int ak_store_sink_publish(ak_store_sink_t *s, const char *version, int64_t run_id, const char *inputs,
                          const char *logs, ak_store_sink_report_t *rep, ak_err_t *err);
/* The same on a thread, so the engine reads and transforms the next batch
 * meanwhile: what is staged now is published; changes staged from now on
 * wait for the next publish.  Until it is collected, the sink may be given
 * changes (stage) and asked pending/staged/rows/bytes; any other call
 * first waits for the publish.  ak_store_sink_collect waits and returns its
 * result (*had: there was one to collect); after a failure its changes are
 * staged again, so the next publish, with the next positions, carries them. */
int ak_store_sink_publish_async(ak_store_sink_t *s, const char *version, int64_t run_id, const char *inputs,
                                const char *logs, ak_err_t *err);
int ak_store_sink_collect(ak_store_sink_t *s, bool *had, ak_store_sink_report_t *rep, ak_err_t *err);
bool ak_store_sink_busy(const ak_store_sink_t *s);
/* Writes what the table would hold if the staged changes were published to
 * table `name` (replacing it), without publishing them. */
int ak_store_sink_preview(ak_store_sink_t *s, const char *name, const char *version, int64_t run_id,
                          const char *inputs, int64_t *rows, ak_err_t *err);
/* The published rows plus the staged changes, as a relation (strings in
 * the relation's arena or the flow's). */
int ak_store_sink_snapshot(ak_store_sink_t *s, ak_rel_t **out, ak_err_t *err);
size_t ak_store_sink_bytes(const ak_store_sink_t *s);

/* Restarts.  The commit number of the last publish (0: none). */
int64_t ak_store_sink_commit(ak_store_sink_t *s);
/* The table a previous run published: its commit number and the `logs`
 * recorded with it (the caller's).  Returns 1 when there is no such table
 * (or it has other columns, or no commit number): the first publish then
 * replaces it whole. */
int ak_store_sink_table(ak_store_sink_t *s, int64_t *commit, char **logs, ak_err_t *err);
/* Takes that table over as published by this sink (which row is where). */
int ak_store_sink_adopt(ak_store_sink_t *s, ak_err_t *err);
/* Forgets what is staged (a restart found it published already). */
int ak_store_sink_discard(ak_store_sink_t *s, ak_err_t *err);
/* Checkpoints of what is staged: records of one section (always whole). */
int ak_store_sink_save(ak_store_sink_t *s, const ak_state_out_t *out, ak_err_t *err);
int ak_store_sink_load(ak_store_sink_t *s, const void *key, size_t kn, const void *val, size_t vn, ak_err_t *err);

#endif
