/* ak_time.h - timestamps and dates as integers, with DuckDB's semantics.
 *
 * A timestamp is int64 microseconds since 1970-01-01T00:00:00Z (UTC, no
 * zone); a date is days since 1970-01-01.  Parsing accepts ISO-8601 with 'T'
 * or ' ', 0-9 fractional digits (truncated to microseconds) and an optional
 * 'Z' / '+HH:MM' / '-HHMM' / '+HH' offset, which is applied (the value is
 * converted to UTC).  Formatting is ISO-8601 UTC with 'Z' and the fraction in
 * groups of three digits only as far as the value needs.
 *
 * DATEDIFF counts unit boundaries crossed (floor of each side, then subtract),
 * as DuckDB and Snowflake do; weeks are whole 7-day spans of the day count.
 */
#ifndef AK_TIME_H
#define AK_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AK_US_PER_SEC INT64_C(1000000)
#define AK_US_PER_MIN INT64_C(60000000)
#define AK_US_PER_HOUR INT64_C(3600000000)
#define AK_US_PER_DAY INT64_C(86400000000)

typedef enum ak_tunit {
    AK_TU_INVALID = 0,
    AK_TU_MICROSECOND,
    AK_TU_MILLISECOND,
    AK_TU_SECOND,
    AK_TU_MINUTE,
    AK_TU_HOUR,
    AK_TU_DAY,
    AK_TU_WEEK,
    AK_TU_MONTH,
    AK_TU_QUARTER,
    AK_TU_YEAR,
    AK_TU_DECADE,
    AK_TU_CENTURY,
    AK_TU_MILLENNIUM,
    /* EXTRACT-only fields */
    AK_TU_DOW,
    AK_TU_ISODOW,
    AK_TU_DOY,
    AK_TU_EPOCH,
    AK_TU_ISOYEAR,
} ak_tunit_t;

/* Unit names as DuckDB accepts them ("minute", "minutes", "min", "m", ...),
 * case-insensitive.  AK_TU_INVALID if unknown. */
ak_tunit_t ak_tunit_parse(const char *s, size_t n);
const char *ak_tunit_name(ak_tunit_t u);

/* Civil calendar (proleptic Gregorian). */
int64_t ak_days_from_civil(int64_t y, unsigned m, unsigned d);
void ak_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
static inline int64_t ak_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Parsing: 0 on success, -1 if s[0..n) is not a valid timestamp/date. */
int ak_ts_parse(const char *s, size_t n, int64_t *us);
int ak_date_parse(const char *s, size_t n, int64_t *days);

/* Formatting into out (at least AK_TS_BUF bytes); returns the length. */
#define AK_TS_BUF 40
size_t ak_ts_format(int64_t us, char *out);
size_t ak_date_format(int64_t days, char *out);

/* Truncate a timestamp to the start of its unit (week starts on Monday). */
int64_t ak_ts_trunc(ak_tunit_t u, int64_t us);
/* Boundaries of `u` crossed going from a to b. */
int64_t ak_ts_diff(ak_tunit_t u, int64_t a, int64_t b);
/* EXTRACT(field FROM ts); EPOCH is returned by ak_ts_epoch. */
int64_t ak_ts_extract(ak_tunit_t u, int64_t us);
double ak_ts_epoch(int64_t us);

/* Add months (clamping the day to the month's end) and microseconds. */
int64_t ak_ts_add(int64_t us, int32_t months, int64_t micros);

/* The clock that NOW()/CURRENT_TIMESTAMP() read: AKILI_NOW (ISO-8601) if set,
 * else the wall clock.  ak_now_us returns -1 and sets *bad to the value if
 * AKILI_NOW cannot be parsed. */
int64_t ak_now_us(const char **bad);
int64_t ak_wall_us(void);
int64_t ak_mono_us(void);

#endif
