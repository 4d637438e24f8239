/* ak_hidx.h - an open-addressing hash index: 64-bit hash -> 32-bit id.
 *
 * It stores no keys: callers keep their rows elsewhere and compare the
 * candidates a probe yields (same hash) against their own key.  Duplicate
 * hashes and ids are allowed (a multimap), so it serves hash joins, GROUP BY
 * and keyed state alike.  Removal leaves a tombstone.  Not thread-safe.
 *
 *   for (size_t s = ak_hidx_first(t, h); ak_hidx_more(t, s); s = ak_hidx_next(t, s))
 *       if (t->h[s] == h && t->v[s] != AK_HIDX_DEAD) ... candidate t->v[s] ...
 */
#ifndef AK_HIDX_H
#define AK_HIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AK_HIDX_EMPTY UINT32_MAX
#define AK_HIDX_DEAD (UINT32_MAX - 1)

typedef struct ak_hidx {
    uint64_t *h;
    uint32_t *v;
    size_t mask;  /* capacity - 1 (capacity is a power of two) */
    size_t used;  /* live + dead slots */
    size_t live;
} ak_hidx_t;

int ak_hidx_init(ak_hidx_t *t, size_t expected);
void ak_hidx_free(ak_hidx_t *t);
/* Inserts (h, id); grows as needed.  -1 on allocation failure. */
int ak_hidx_insert(ak_hidx_t *t, uint64_t h, uint32_t id);
/* Removes one (h, id) entry; returns whether it was found. */
bool ak_hidx_remove(ak_hidx_t *t, uint64_t h, uint32_t id);
/* Bytes held, for memory metrics. */
size_t ak_hidx_bytes(const ak_hidx_t *t);

static inline size_t ak_hidx_first(const ak_hidx_t *t, uint64_t h) { return (size_t)(h ^ (h >> 29)) & t->mask; }
static inline bool ak_hidx_more(const ak_hidx_t *t, size_t s) { return t->v && t->v[s] != AK_HIDX_EMPTY; }
static inline size_t ak_hidx_next(const ak_hidx_t *t, size_t s) { return (s + 1) & t->mask; }

#endif
