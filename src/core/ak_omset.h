/* ak_omset.h - an ordered multiset of values with counts.
 *
 * What MIN/MAX need to stay exact when rows are retracted, and what a
 * predicate like `session_start >= CURRENT_DATE()` needs to be counted
 * without scanning: insert/remove in O(sqrt n), min/max in O(1), the number
 * of values at or above (below) a bound in O(sqrt n).  Values sort with
 * ak_val_cmp; NULLs are not stored (callers skip them, as SQL aggregates do).
 * TEXT values are copied.  Not thread-safe.
 */
#ifndef AK_OMSET_H
#define AK_OMSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_value.h"

typedef struct ak_omset ak_omset_t;

ak_omset_t *ak_omset_new(void);
void ak_omset_free(ak_omset_t *s);
/* Adds `count` copies (count may be negative to remove).  Removing more than
 * present clamps at zero and returns 1; -1 on allocation failure. */
int ak_omset_add(ak_omset_t *s, const ak_val_t *v, int64_t count);
int64_t ak_omset_total(const ak_omset_t *s);
/* Smallest / largest value; false when empty. */
bool ak_omset_min(const ak_omset_t *s, ak_val_t *out);
bool ak_omset_max(const ak_omset_t *s, ak_val_t *out);
/* How many values v satisfy `v <op> bound` (op: AK_CMP_* of ak_sql.h: 0 =, 1 <>,
 * 2 <, 3 <=, 4 >, 5 >=). */
int64_t ak_omset_count(const ak_omset_t *s, int op, const ak_val_t *bound);
size_t ak_omset_bytes(const ak_omset_t *s);

#endif
