/* ak_retain.h - output retention: rows older than the horizon leave.
 *
 * Sits between a transform's changes and what consumes them (the serving
 * sink, the quality checks).  The horizon is the watermark minus the
 * retention period; the watermark is the newest event time consumed (the
 * inputs' cursor, given by the caller) or, without one, the newest value of
 * the retention column seen in the output.  It only moves forward.  A row
 * whose retention column is older than the horizon is not passed on, and
 * when the horizon moves past a row passed on earlier, its retraction is:
 * what comes out is always exactly the input's rows at or after the
 * horizon (rows with a NULL retention column are kept forever).  The rows
 * passed on are kept, bucketed by hour, to retract them when they expire;
 * that is state the size of the retained output.
 */
#ifndef AK_RETAIN_H
#define AK_RETAIN_H

#include "ak_delta.h"
#include <stdbool.h>
#include <stdint.h>

#include "ak_error.h"
#include "ak_ser.h"

typedef struct ak_retain ak_retain_t;

/* col: the retention column (TIMESTAMP or DATE) of rows of ncols;
 * from_output: the watermark is the column's newest value passed in (else
 * the caller gives it with ak_retain_watermark). */
int ak_retain_new(int ncols, int col, int64_t keep_us, bool from_output, ak_retain_t **out, ak_err_t *err);
void ak_retain_free(ak_retain_t *r);

/* Moves the watermark to at least wm_us (the newest event time consumed). */
void ak_retain_watermark(ak_retain_t *r, int64_t wm_us);
/* Filters one step's changes; *out (owned by r) is valid until the next
 * call. */
int ak_retain_apply(ak_retain_t *r, const ak_delta_t *d, const ak_delta_t **out, ak_err_t *err);

/* INT64_MIN until there is a watermark. */
int64_t ak_retain_horizon(const ak_retain_t *r);
int64_t ak_retain_expired(const ak_retain_t *r);  /* rows retracted on expiry so far */
size_t ak_retain_bytes(const ak_retain_t *r);
size_t ak_retain_rows(const ak_retain_t *r);

/* Checkpoints (see ak_kbag_save): the kept rows and the watermark. */
int ak_retain_save(ak_retain_t *r, bool full, const ak_state_out_t *out, ak_err_t *err);
void ak_retain_saved(ak_retain_t *r);
int ak_retain_load(ak_retain_t *r, const void *key, size_t kn, const void *val, size_t vn, ak_err_t *err);

#endif
