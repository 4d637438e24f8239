/* ak_value.h - typed scalar values, the unit every layer exchanges.
 *
 * A value is 16 bytes: a payload, a 32-bit length/aux field and a type tag.
 * NULL is the tag AK_NULL whatever the column's type.  TEXT points at bytes
 * owned by someone else (an arena, a record batch); the value never owns
 * them.  Ordering is SQL's as DuckDB gives it: numbers by value across INT and
 * DOUBLE, text bytewise, dates and timestamps chronologically (a DATE
 * compares as its midnight).  NULLs are handled by the caller (sorts put
 * them last, comparisons yield NULL).
 */
#ifndef AK_VALUE_H
#define AK_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_buf.h"

typedef enum ak_type {
    AK_NULL = 0,  /* the NULL value / the type of a bare NULL literal */
    AK_BOOL,
    AK_INT,       /* int64 */
    AK_FLOAT,     /* float32 semantics, stored as double rounded to float */
    AK_DOUBLE,
    AK_TEXT,
    AK_DATE,      /* days since 1970-01-01 in i */
    AK_TIMESTAMP, /* microseconds since epoch, UTC, in i */
    AK_INTERVAL,  /* microseconds in i, months in n (as int32) */
    AK_TYPE__COUNT
} ak_type_t;

typedef struct ak_val {
    union {
        int64_t i;
        double d;
        const char *s;
    };
    uint32_t n;  /* TEXT: byte length; INTERVAL: months */
    uint8_t type;
} ak_val_t;

static inline ak_val_t ak_v_null(void) { ak_val_t v = {{0}, 0, AK_NULL}; return v; }
static inline ak_val_t ak_v_bool(bool b) { ak_val_t v = {{.i = b}, 0, AK_BOOL}; return v; }
static inline ak_val_t ak_v_int(int64_t i) { ak_val_t v = {{.i = i}, 0, AK_INT}; return v; }
static inline ak_val_t ak_v_double(double d) { ak_val_t v = {{.d = d}, 0, AK_DOUBLE}; return v; }
static inline ak_val_t ak_v_float(double d) { ak_val_t v = {{.d = (double)(float)d}, 0, AK_FLOAT}; return v; }
static inline ak_val_t ak_v_text(const char *s, size_t n) { ak_val_t v = {{.s = s}, (uint32_t)n, AK_TEXT}; return v; }
static inline ak_val_t ak_v_ts(int64_t us) { ak_val_t v = {{.i = us}, 0, AK_TIMESTAMP}; return v; }
static inline ak_val_t ak_v_date(int64_t days) { ak_val_t v = {{.i = days}, 0, AK_DATE}; return v; }
static inline ak_val_t ak_v_interval(int32_t months, int64_t us)
{
    ak_val_t v = {{.i = us}, (uint32_t)months, AK_INTERVAL};
    return v;
}
static inline bool ak_v_is_null(const ak_val_t *v) { return v->type == AK_NULL; }

/* SQL name of a type ("VARCHAR", "BIGINT", ...). */
const char *ak_type_name(ak_type_t t);
/* Parses a SQL or manifest type name: string/text/varchar, int/integer/bigint/
 * smallint/tinyint/long, float/real, double/decimal/numeric, bool/boolean,
 * date, timestamp/datetime/timestamptz, interval.  AK_NULL if unknown. */
ak_type_t ak_type_parse(const char *s, size_t n);
static inline bool ak_type_is_numeric(ak_type_t t) { return t == AK_INT || t == AK_FLOAT || t == AK_DOUBLE; }
static inline bool ak_type_is_temporal(ak_type_t t) { return t == AK_DATE || t == AK_TIMESTAMP; }

/* Three-way comparison of two non-NULL values of comparable types. */
int ak_val_cmp(const ak_val_t *a, const ak_val_t *b);
/* Equality for grouping/joining: NULL equals NULL here. */
bool ak_val_eq_group(const ak_val_t *a, const ak_val_t *b);
/* Hash consistent with ak_val_eq_group (INT 1 and DOUBLE 1.0 hash alike). */
uint64_t ak_val_hash(const ak_val_t *v, uint64_t seed);

/* Text for display/CSV/JSON: numbers shortest-roundtrip, timestamps ISO-8601
 * UTC ("2026-11-01T10:00:00.123Z"), booleans true/false.  NULL appends
 * nothing (callers decide how NULL looks). */
void ak_val_to_text(const ak_val_t *v, ak_buf_t *out);
/* A DATE (at its midnight) or TIMESTAMP as µs since the epoch; false for
 * any other value, NULL included. */
bool ak_val_time_us(const ak_val_t *v, int64_t *us);
/* Shortest decimal that reads back as the same double, laid out as
 * Python's repr ("0.1", "2.0", "1e+16"). */
size_t ak_fmt_double(double d, char *out, size_t cap);
/* The same digits laid out as JavaScript's Number#toString ("2", "0.1",
 * "1e+21"), for JSON output; NaN/Infinity are not representable: "null". */
size_t ak_fmt_double_js(double d, char *out, size_t cap);

/* Hash primitives. */
uint64_t ak_hash_bytes(const void *p, size_t n, uint64_t seed);
static inline uint64_t ak_hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}
static inline uint64_t ak_hash_mix(uint64_t h, uint64_t v) { return ak_hash_u64(h ^ (v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2))); }

#endif
