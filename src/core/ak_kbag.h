/* ak_kbag.h - keyed multisets of rows.
 *
 * Rows (with a count and a spare per-row integer) grouped by a key; the
 * rows of a group can be listed and a row found by value.  Used by joins,
 * windows, DISTINCT, every operator that recomputes from its input, and
 * the sinks' staged changes.  Not thread-safe.
 */
#ifndef AK_KBAG_H
#define AK_KBAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_ser.h"
#include "ak_value.h"

typedef struct ak_kbag ak_kbag_t;
ak_kbag_t *ak_kbag_new(int nkey, int nrow);
void ak_kbag_free(ak_kbag_t *b);
#define AK_KBAG_OOM (UINT32_MAX - 1)
/* The group of `key` (created when `create`); UINT32_MAX if absent,
 * AK_KBAG_OOM when it could not be created. */
uint32_t ak_kbag_group(ak_kbag_t *b, const ak_val_t *key, bool create);
const ak_val_t *ak_kbag_key(const ak_kbag_t *b, uint32_t g);
/* Entries of a group (ids valid until the next add). */
size_t ak_kbag_size(const ak_kbag_t *b, uint32_t g);
const uint32_t *ak_kbag_entries(const ak_kbag_t *b, uint32_t g);
/* Adds w copies of row (packed, nrow values) to group g.  *eid gets the
 * entry; when its count reaches 0 the entry is removed (and *eid is
 * UINT32_MAX).  -1 on OOM. */
int ak_kbag_add(ak_kbag_t *b, uint32_t g, const ak_val_t *row, int64_t w, uint32_t *eid);
/* The entry equal to row in group g, or UINT32_MAX. */
uint32_t ak_kbag_find(ak_kbag_t *b, uint32_t g, const ak_val_t *row);
const ak_val_t *ak_kbag_row(const ak_kbag_t *b, uint32_t e);
int64_t ak_kbag_count(const ak_kbag_t *b, uint32_t e);
int64_t *ak_kbag_aux(ak_kbag_t *b, uint32_t e);
/* Removes every row one by one (so a checkpoint sees the removals), or -1
 * on OOM. */
int ak_kbag_clear(ak_kbag_t *b);
/* Total rows (with multiplicity) and groups. */
int64_t ak_kbag_total(const ak_kbag_t *b);
size_t ak_kbag_ngroups(const ak_kbag_t *b);
/* Every live group id, for a full pass: iterate g in [0, ak_kbag_gcap) and
 * skip those with size 0. */
uint32_t ak_kbag_gcap(const ak_kbag_t *b);
size_t ak_kbag_bytes(const ak_kbag_t *b);

/* Checkpoints: one record per row, key = `tag`, group key, row; value =
 * count, aux.  The first ak_kbag_save (always whole) or ak_kbag_load makes
 * the bag remember what changes (rows added, removed, an aux taken for
 * writing), so later saves write only that; ak_kbag_saved forgets it once
 * the checkpoint is durable (after a failed one it is written again).
 * ak_kbag_load restores one record; *eid (may be NULL) gets its entry. */
int ak_kbag_save(ak_kbag_t *b, uint8_t tag, bool full, const ak_state_out_t *out, ak_err_t *err);
void ak_kbag_saved(ak_kbag_t *b);
int ak_kbag_load(ak_kbag_t *b, const void *key, size_t kn, const void *val, size_t vn, ak_ser_intern_fn intern,
                 void *ictx, uint32_t *eid, ak_err_t *err);

#endif
