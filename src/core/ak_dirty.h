/* ak_dirty.h - what changed in keyed state since the last checkpoint.
 *
 * State holders number their keys (slots); mark says a slot changed, drop
 * that the key in a slot went away (its serialised key is kept, since the
 * slot may be reused before the checkpoint).  Tracking starts with the
 * first (whole) checkpoint; until then nothing is recorded.  If a change
 * cannot be recorded (no memory) `lost` is set and the next checkpoint must
 * be whole.  After a durable checkpoint, ak_dirty_saved forgets it all.
 */
#ifndef AK_DIRTY_H
#define AK_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_buf.h"

typedef struct ak_dirty {
    bool track, lost;
    uint64_t *bits;          /* per slot: listed in ids[] */
    size_t cap_bits;
    uint32_t *ids;
    size_t n, cap;
    ak_buf_t dropped;        /* uvar length + key, per key gone */
} ak_dirty_t;

void ak_dirty_free(ak_dirty_t *d);
void ak_dirty_mark(ak_dirty_t *d, uint32_t id);
void ak_dirty_drop(ak_dirty_t *d, uint32_t id, const void *key, size_t kn);
static inline bool ak_dirty_has(const ak_dirty_t *d, uint32_t id)
{
    return id / 64 < d->cap_bits && (d->bits[id / 64] >> (id % 64) & 1);
}
/* Calls fn once for every slot marked and not dropped since (a slot reused
 * may have been listed twice), in the order first marked; stops calling at
 * the first non-zero, which is returned.  The marks stay until saved. */
int ak_dirty_each(ak_dirty_t *d, int (*fn)(void *ctx, uint32_t id), void *ctx);
/* Calls fn for every key dropped, in order; stops at the first non-zero. */
int ak_dirty_each_dropped(const ak_dirty_t *d, int (*fn)(void *ctx, const uint8_t *key, size_t kn), void *ctx);
void ak_dirty_saved(ak_dirty_t *d);

#endif
