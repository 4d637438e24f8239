/* ak_mset.h - an ordered multiset of tuples with counts.
 *
 * What a MIN/MAX needs to stay exact under retraction, a COUNT(DISTINCT)
 * needs to count, and an ordered index needs for range scans.  Tuples of w
 * values order by ak_row_cmp.  Small sets are one sorted array; past a few
 * hundred entries the set becomes a list of sorted buckets, so inserts and
 * removals stay cheap however large a group grows.  Values are stored as
 * given (TEXT bytes must outlive the set).  A zeroed ak_mset_t is empty.
 */
#ifndef AK_MSET_H
#define AK_MSET_H

#include <stddef.h>
#include <stdint.h>

#include "ak_value.h"

typedef struct ak_mset {
    void *p;                 /* small: entries; large: bucket list */
    uint32_t n;              /* distinct tuples */
    uint32_t cap;            /* small: capacity; UINT32_MAX: bucketed */
} ak_mset_t;

/* Adds c copies of tuple t (c < 0 removes; a count reaching 0 drops the
 * tuple, and counts may go negative in between).  -1 on OOM. */
int ak_mset_add(ak_mset_t *m, const ak_val_t *t, int w, int64_t c);
void ak_mset_free(ak_mset_t *m);
static inline uint32_t ak_mset_distinct(const ak_mset_t *m) { return m->n; }
/* Smallest / largest tuple, NULL when empty. */
const ak_val_t *ak_mset_first(const ak_mset_t *m, int w);
const ak_val_t *ak_mset_last(const ak_mset_t *m, int w);
/* Calls fn for every tuple >= from (from NULL: all) in order, with its
 * count, until fn returns non-zero (which is then returned). */
typedef int (*ak_mset_fn)(void *ctx, const ak_val_t *t, int64_t c);
int ak_mset_each(const ak_mset_t *m, int w, const ak_val_t *from, ak_mset_fn fn, void *ctx);
size_t ak_mset_bytes(const ak_mset_t *m, int w);
/* The count of tuple t (0 when absent). */
int64_t ak_mset_count(const ak_mset_t *m, int w, const ak_val_t *t);

#endif
