/* ak_inlog.h - the change log of one input: every record consumed, in order.
 *
 * It is what makes "the published table equals the SQL over everything
 * consumed so far" reproducible: the input's current rows are rebuilt by
 * replaying it.  Records (all of the input's declared columns) are appended
 * in checksummed frames; a run makes them durable with ak_inlog_sync and
 * records the returned length in the catalog together with the source
 * position, so bytes past that length (a run that crashed before committing)
 * are cut off when the log is opened again.
 *
 * Not thread-safe; one writer per log (the run holding the product).
 */
#ifndef AK_INLOG_H
#define AK_INLOG_H

#include <stdint.h>

#include "ak_buf.h"
#include "ak_error.h"
#include "ak_record.h"

typedef struct ak_inlog ak_inlog_t;

/* Opens path, creating it (with a header carrying `fingerprint`) when it does
 * not exist and committed == 0.  A log whose header fingerprint differs, or
 * that is shorter than `committed`, is an AK_E_CORRUPT / AK_E_STATE error. */
int ak_inlog_open(const char *path, const ak_schema_t *schema, uint64_t fingerprint, uint64_t committed,
                  ak_inlog_t **out, ak_err_t *err);
void ak_inlog_close(ak_inlog_t *l);
/* Removes the file (a reset). */
int ak_inlog_remove(const char *path, ak_err_t *err);

/* Buffers the batch's records. */
int ak_inlog_append(ak_inlog_t *l, const ak_batch_t *b, ak_err_t *err);
/* The same in two steps, so the encoding can run on another thread:
 * appends the batch's frames to `out` (touches no log), then buffers bytes
 * so encoded (for this log's schema). */
int ak_inlog_encode(const ak_schema_t *schema, const ak_batch_t *b, ak_buf_t *out, ak_err_t *err);
int ak_inlog_append_encoded(ak_inlog_t *l, const void *p, size_t n, ak_err_t *err);
/* Writes and fsyncs what was appended; *len is the durable length to commit. */
int ak_inlog_sync(ak_inlog_t *l, uint64_t *len, ak_err_t *err);
uint64_t ak_inlog_length(const ak_inlog_t *l);  /* bytes appended so far, synced or not */

/* Replays the committed records in order, `max` records per callback batch
 * (values and strings valid during the callback only). */
typedef int (*ak_inlog_fn)(void *ctx, const ak_batch_t *batch, ak_err_t *err);
int ak_inlog_replay(ak_inlog_t *l, size_t max, ak_inlog_fn fn, void *ctx, ak_err_t *err);
/* The same for the records between byte offsets `from` and `to` (lengths
 * returned by ak_inlog_sync; 0 and UINT64_MAX: the ends). */
int ak_inlog_replay_range(ak_inlog_t *l, uint64_t from, uint64_t to, size_t max, ak_inlog_fn fn, void *ctx,
                          ak_err_t *err);

/* Fingerprint helper: FNV-style mixing of strings and ints. */
uint64_t ak_fp_str(uint64_t h, const char *s);
uint64_t ak_fp_int(uint64_t h, int64_t v);

#endif
