/* ak_delta.h - changes exchanged between incremental operators.
 *
 * A delta is a batch of rows with integer weights: +1 a row added, -1 a row
 * removed (an update is the pair: -old, +new).  Rows are full width; values
 * are "stable": TEXT points at bytes that outlive the flow's step (an input
 * table's interned strings, the flow's intern pool, the statement's
 * constants), so operators keep rows in their state without copying bytes.
 * Consolidation merges equal rows and drops zero weights, so a consumer sees
 * each distinct row once with its net weight.
 */
#ifndef AK_DELTA_H
#define AK_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_hidx.h"
#include "ak_value.h"

typedef struct ak_delta {
    int ncols;
    size_t n, cap;
    ak_val_t *v;        /* n rows of ncols */
    int64_t *w;
    bool consolidated;
} ak_delta_t;

void ak_delta_init(ak_delta_t *d, int ncols);
void ak_delta_free(ak_delta_t *d);
static inline void ak_delta_clear(ak_delta_t *d)
{
    d->n = 0;
    d->consolidated = true;
}
static inline ak_val_t *ak_delta_row(const ak_delta_t *d, size_t i) { return d->v + i * (size_t)d->ncols; }
/* Appends a row to fill (uninitialised) with weight w; NULL on OOM. */
ak_val_t *ak_delta_push(ak_delta_t *d, int64_t w);
int ak_delta_add(ak_delta_t *d, const ak_val_t *row, int64_t w);
/* Appends every row of src with its weight times `sign`. */
int ak_delta_append(ak_delta_t *d, const ak_delta_t *src, int64_t sign);
/* Merges equal rows (summing weights) and drops those that cancel.  -1 on OOM. */
int ak_delta_consolidate(ak_delta_t *d);
size_t ak_delta_bytes(const ak_delta_t *d);

/* Row identity: equality as GROUP BY sees it (NULL equals NULL) and a hash
 * consistent with it. */
uint64_t ak_row_hash(const ak_val_t *row, int ncols);
bool ak_row_eq(const ak_val_t *a, const ak_val_t *b, int ncols);
/* A total order on rows (NULLs last, then by ak_val_cmp per column; values
 * of different types order by type tag): how operators break ties so that
 * their output is a function of their input multiset. */
int ak_row_cmp(const ak_val_t *a, const ak_val_t *b, int ncols);
int ak_val_total_cmp(const ak_val_t *a, const ak_val_t *b);

#endif
