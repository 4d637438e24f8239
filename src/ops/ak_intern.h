/* ak_intern.h - a pool of strings that live as long as the flow.
 *
 * Strings an operator computes (LOWER(x), a CAST to text, a CASE picking a
 * constant) are interned here before they enter a delta, so state can keep
 * rows without owning bytes.  Equal strings are stored once; nothing is
 * freed before the pool (the flow's state already holds every input row
 * for the flow's life, so the pool grows no faster than the inputs).
 */
#ifndef AK_INTERN_H
#define AK_INTERN_H

#include <stddef.h>

#include "ak_arena.h"
#include "ak_hidx.h"
#include "ak_value.h"

typedef struct ak_intern {
    ak_arena_t arena;
    ak_hidx_t idx;
    ak_val_t *strs;
    size_t n, cap;
} ak_intern_t;

void ak_intern_init(ak_intern_t *p);
void ak_intern_free(ak_intern_t *p);
/* Makes a TEXT value point at the pool's copy; other values are unchanged.
 * -1 on OOM. */
int ak_intern(ak_intern_t *p, ak_val_t *v);
size_t ak_intern_bytes(const ak_intern_t *p);

#endif
