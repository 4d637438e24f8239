/* ak_state.h - a product's state checkpoints (internal to the engine).
 *
 * What a run keeps in memory (the input tables, the transform's and the
 * checks' operators, what the serving sink holds back) is written to
 * $AKILI_HOME/products/<name>/checkpoints (ak_ckpt.h) with, as metadata,
 * the input log lengths it reflects and the serving table's commit number
 * at that moment.  Section layout: 1 + i input table i, then the sink's
 * staged changes, the transform's flow and the quality gate.
 *
 * A restart restores the newest checkpoint that fits the deployed product
 * (same plan fingerprint, logs at least as long) and replays the logs from
 * its lengths; if the serving table was published after the checkpoint,
 * the logs are replayed up to the lengths recorded with that publish and
 * what was staged is known to be published already.  Anything else (no
 * checkpoint, another version, a table behind the checkpoint) rebuilds the
 * state from the logs and replaces the table whole.
 */
#ifndef AK_STATE_H
#define AK_STATE_H

#include "ak_ckpt.h"
#include "ak_dataflow.h"

typedef struct ak_pstate ak_pstate_t;

int ak__state_open(ak_product_rt_t *rt, ak_dataflow_t *df, ak_pstate_t **out, ak_err_t *err);
void ak__state_close(ak_pstate_t *ps);

/* How a restart goes on: replay each input's log from[i] .. mid[i] (step,
 * then forget what is staged when `discard`), then mid[i] .. the end. */
typedef struct ak_restore {
    bool restored;           /* state came from a checkpoint */
    bool discard;            /* the table is already past the checkpoint */
    uint64_t *from, *mid;    /* per input (owned by the pstate) */
    uint64_t seq;            /* the checkpoint used */
    uint64_t bytes;          /* its size */
    int64_t us;              /* how long loading took */
    char why[300];           /* when not restored: why (empty: nothing to restore) */
} ak_restore_t;

/* Decides and loads (tables, operators, staged changes; the sink takes over
 * the table when the state is restored).  `committed[i]`: input i's
 * committed log length. */
int ak__state_restore(ak_pstate_t *ps, const uint64_t *committed, ak_restore_t *out, ak_err_t *err);

/* Writes a checkpoint of the current state, which reflects input logs of
 * lengths `lens` (whole or incremental, as the store decides). */
int ak__state_checkpoint(ak_pstate_t *ps, const uint64_t *lens, ak_ckpt_stats_t *st, ak_err_t *err);

/* The same in two halves, so a checkpoint costs little more than the
 * publish it follows: _start begins it and a thread serializes every holder
 * but the serving sink, which must stay untouched until _finish (only the
 * sink and the serving store may change meanwhile); _finish waits for the
 * thread, adds the sink, the metadata, and makes it durable.  _cancel drops
 * a started checkpoint (after a failure in between); a no-op otherwise. */
int ak__state_checkpoint_start(ak_pstate_t *ps, ak_err_t *err);
bool ak__state_checkpoint_started(const ak_pstate_t *ps);
int ak__state_checkpoint_finish(ak_pstate_t *ps, const uint64_t *lens, ak_ckpt_stats_t *st, ak_err_t *err);
void ak__state_checkpoint_cancel(ak_pstate_t *ps);

/* "len,len,..." of the inputs' logs, recorded with each publish. */
char *ak__state_logs_text(const uint64_t *lens, size_t n);

#endif
