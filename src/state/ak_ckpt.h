/* ak_ckpt.h - durable, incremental checkpoints of keyed state.
 *
 * A checkpoint is a set of records (section, key) -> value plus a caller's
 * metadata blob (source positions, sink commit ids).  It is stored as
 * immutable segment files and a manifest naming the segments it is made
 * of: a full checkpoint writes every record into one new segment; an
 * incremental one writes only the records put or deleted since the previous
 * checkpoint into a new segment and lists it after the previous ones (later
 * segments win).  So the bytes a checkpoint writes follow what changed;
 * the caller writes a full one when ak_ckpt_wants_full says the increments
 * have outgrown the base.  Before that, once the increments reach a quarter
 * of the first segment (or eight segments), a background thread merges the
 * segments so far into one, which a later checkpoint's manifest lists in
 * their place: whole rewrites leave the run's path (AKILI_NO_CKPT_MERGE=1
 * turns merging off).
 *
 * Durability: segments are written and fsynced, then the manifest is
 * written to a temporary file, fsynced and renamed, and the directory
 * fsynced.  Every frame carries a CRC-32C, the manifest one over itself,
 * and both a format number.  Loading takes the newest manifest whose every
 * segment checks out; a corrupt or half-written one is set aside (renamed
 * *.corrupt) with a log line saying so, and the previous one is used.  The
 * newest two checkpoints are kept.
 *
 * One writer per directory (the run holding the product's lock).
 */
#ifndef AK_CKPT_H
#define AK_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_error.h"
#include "ak_ser.h"

#define AK_CKPT_FORMAT 1

typedef struct ak_ckpt ak_ckpt_t;

/* Opens (creating) the checkpoint directory; `tag` prefixes log lines. */
int ak_ckpt_open(const char *dir, const char *tag, ak_ckpt_t **out, ak_err_t *err);
void ak_ckpt_close(ak_ckpt_t *c);

/* Removes every checkpoint file in dir (a reset); no directory is fine. */
int ak_ckpt_remove(const char *dir, ak_err_t *err);

/* ---- loading ---- */

typedef struct ak_ckpt_image ak_ckpt_image_t;
/* The newest valid checkpoint, or *out NULL when there is none.  Later
 * increments are based on it. */
int ak_ckpt_load(ak_ckpt_t *c, ak_ckpt_image_t **out, ak_err_t *err);
void ak_ckpt_image_free(ak_ckpt_image_t *img);
uint64_t ak_ckpt_image_seq(const ak_ckpt_image_t *img);
int64_t ak_ckpt_image_created_us(const ak_ckpt_image_t *img);
const void *ak_ckpt_image_meta(const ak_ckpt_image_t *img, size_t *n);
/* Live records (the newest value of each key, deletions applied), by
 * section in ascending order and, within a section, in the order written. */
typedef int (*ak_ckpt_rec_fn)(void *ctx, uint32_t section, const void *key, size_t kn, const void *val, size_t vn,
                              ak_err_t *err);
int ak_ckpt_image_each(const ak_ckpt_image_t *img, ak_ckpt_rec_fn fn, void *ctx, ak_err_t *err);
size_t ak_ckpt_image_records(const ak_ckpt_image_t *img);
uint64_t ak_ckpt_image_bytes(const ak_ckpt_image_t *img); /* segment bytes read */

/* ---- writing ---- */

/* Whether the next checkpoint should be full: there is none to build on,
 * or the increments together are larger than the base (or too many). */
bool ak_ckpt_wants_full(const ak_ckpt_t *c);
int ak_ckpt_begin(ak_ckpt_t *c, bool full, ak_err_t *err);
int ak_ckpt_put(ak_ckpt_t *c, uint32_t section, const void *key, size_t kn, const void *val, size_t vn,
                ak_err_t *err);
int ak_ckpt_del(ak_ckpt_t *c, uint32_t section, const void *key, size_t kn, ak_err_t *err);
/* Ends every record of `section` saved before whose key starts with prefix. */
int ak_ckpt_clear(ak_ckpt_t *c, uint32_t section, const void *prefix, size_t pn, ak_err_t *err);
/* Records of one section, as an ak_state_out_t (ak_ser.h). */
ak_state_out_t ak_ckpt_out(ak_ckpt_t *c, uint32_t section);

typedef struct ak_ckpt_stats {
    uint64_t seq;
    bool full;
    uint64_t records;        /* records written by this checkpoint */
    uint64_t bytes;          /* bytes written by it (segment + manifest) */
    uint64_t total_bytes;    /* bytes of every segment it is made of */
    int segments;
    int64_t us;              /* from begin to durable */
} ak_ckpt_stats_t;
int ak_ckpt_commit(ak_ckpt_t *c, const void *meta, size_t mn, ak_ckpt_stats_t *st, ak_err_t *err);
/* Drops a checkpoint being written (its segment is removed). */
void ak_ckpt_abort(ak_ckpt_t *c);

/* The manifest last committed or loaded: its number, and the bytes of its
 * segments (0 when none). */
uint64_t ak_ckpt_seq(const ak_ckpt_t *c);
/* Merged segments adopted into manifests since open. */
uint64_t ak_ckpt_merges(const ak_ckpt_t *c);
uint64_t ak_ckpt_total_bytes(const ak_ckpt_t *c);

#endif
