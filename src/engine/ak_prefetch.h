/* ak_prefetch.h - a source read ahead by its own thread (internal to the engine).
 *
 * Decoding an input and encoding its log frames is a quarter of a load's
 * work; a thread per input does it while the engine applies the previous
 * batch and runs the operators, so the two use both cores.  Each batch
 * comes with the source's position after it, its dead letters and its
 * input-log frames, so the engine advances exactly what it applied: what
 * was read ahead but not taken when the run stops is read again next time
 * (the committed position is before it).
 *
 * The thread reads a few batches ahead, then waits.  When the source has
 * nothing new (idle) it waits until asked again, so a quiet source is
 * polled at the engine's pace, not in a loop.  After a poll error it waits
 * for the engine to decide (retry or fail).  The source's poll, position
 * and commit are called under one lock: a connector need not be
 * thread-safe.
 */
#ifndef AK_PREFETCH_H
#define AK_PREFETCH_H

#include "ak_source.h"

typedef struct ak_prefetch ak_prefetch_t;

typedef struct ak_fetched {
    ak_batch_t batch;
    ak_poll_rc_t rc;
    ak_err_t err;            /* rc == AK_POLL_ERROR */
    char *position;          /* the source's position after this batch (owned) */
    ak_dead_t *dead;         /* dead letters met while reading it (strings owned) */
    size_t ndead, cap_dead;
    ak_buf_t log;            /* the batch's input-log frames (ak_inlog_encode) */
} ak_fetched_t;

/* Starts reading `src` (not owned) `max` records a batch; `drain` as
 * ak_source_ops_t.poll's.  A batch without records is handed out only when
 * it moved the position (a tombstone, a blank line) or met dead letters. */
int ak_prefetch_start(const ak_source_ops_t *ops, ak_source_t *src, const ak_schema_t *schema, size_t max,
                      bool drain, ak_prefetch_t **out, ak_err_t *err);
/* The next batch, waiting for it; NULL when the source is idle (it is
 * polled again meanwhile).  Hand it back with ak_prefetch_done. */
ak_fetched_t *ak_prefetch_next(ak_prefetch_t *p);
void ak_prefetch_done(ak_prefetch_t *p, ak_fetched_t *f);
/* The source's acknowledgement, under the source's lock. */
int ak_prefetch_commit(ak_prefetch_t *p, const char *position, ak_err_t *err);
/* Stops the thread and frees what it read ahead; NULL is a no-op. */
void ak_prefetch_stop(ak_prefetch_t *p);

#endif
