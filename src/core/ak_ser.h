/* ak_ser.h - a compact binary encoding of values and rows, for state that
 * goes to disk (checkpoints).
 *
 * Writing appends to an ak_buf_t (which records allocation failure itself).
 * Reading never trusts its input: every get is bounds-checked, and a short
 * or malformed input sets `bad` and yields zeros, so a caller decodes a
 * whole record and checks once.  TEXT values read point into the input.
 */
#ifndef AK_SER_H
#define AK_SER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_buf.h"
#include "ak_error.h"
#include "ak_value.h"

void ak_ser_val(ak_buf_t *b, const ak_val_t *v);
void ak_ser_row(ak_buf_t *b, const ak_val_t *row, int n);
void ak_ser_f64(ak_buf_t *b, double d);

typedef struct ak_rd {
    const uint8_t *p, *end;
    bool bad;
} ak_rd_t;

static inline void ak_rd_init(ak_rd_t *r, const void *p, size_t n)
{
    r->p = p;
    r->end = r->p + n;
    r->bad = false;
}
static inline bool ak_rd_done(const ak_rd_t *r) { return r->p == r->end; }
uint8_t ak_rd_u8(ak_rd_t *r);
uint64_t ak_rd_uvar(ak_rd_t *r);
int64_t ak_rd_svar(ak_rd_t *r);
double ak_rd_f64(ak_rd_t *r);
/* n bytes in place (NULL and `bad` when fewer remain). */
const void *ak_rd_bytes(ak_rd_t *r, size_t n);
void ak_rd_val(ak_rd_t *r, ak_val_t *v);
void ak_rd_row(ak_rd_t *r, ak_val_t *row, int n);

/* Where saved state goes: records (key -> value) of one section; del ends
 * a key saved before; clear ends every key saved before that starts with
 * `prefix` (a holder writing itself whole into an incremental checkpoint).
 * Keys start with a tag byte naming the container. */
typedef struct ak_state_out {
    int (*put)(void *ctx, uint32_t section, const void *key, size_t kn, const void *val, size_t vn, ak_err_t *err);
    int (*del)(void *ctx, uint32_t section, const void *key, size_t kn, ak_err_t *err);
    int (*clear)(void *ctx, uint32_t section, const void *prefix, size_t pn, ak_err_t *err);
    void *ctx;
    uint32_t section;
} ak_state_out_t;
static inline int ak_state_put(const ak_state_out_t *o, const void *k, size_t kn, const void *v, size_t vn,
                               ak_err_t *err)
{
    return o->put(o->ctx, o->section, k, kn, v, vn, err);
}
static inline int ak_state_del(const ak_state_out_t *o, const void *k, size_t kn, ak_err_t *err)
{
    return o->del(o->ctx, o->section, k, kn, err);
}
static inline int ak_state_clear(const ak_state_out_t *o, const void *prefix, size_t pn, ak_err_t *err)
{
    return o->clear(o->ctx, o->section, prefix, pn, err);
}
/* The same output, another section. */
static inline ak_state_out_t ak_state_at(const ak_state_out_t *o, uint32_t section)
{
    ak_state_out_t x = *o;
    x.section = section;
    return x;
}
/* Makes a TEXT value read from saved state point at lasting bytes. */
typedef int (*ak_ser_intern_fn)(void *ctx, ak_val_t *v);
/* An ak_ser_intern_fn that copies TEXT into the ak_arena_t *ctx. */
int ak_ser_arena_text(void *arena, ak_val_t *v);

#endif
