/* ak_cron.h - cron schedules and durations.
 *
 * Schedules are classic 5-field cron: minute hour day-of-month month
 * day-of-week, each a `*`, a number, a range `a-b`, any of those with a step
 * `/n`, or a comma list of them; months and weekdays also by 3-letter name
 * (JAN-DEC, SUN-SAT, any case), weekday 7 is Sunday too.  Shorthands:
 * @yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly.
 * Days follow the standard (Vixie) rule: when both day fields are restricted
 * a day matches if EITHER matches; when one starts with `*` both must match.
 * Times are UTC, in integer microseconds since the epoch; a schedule fires at
 * second 0 of each matching minute.  Seconds fields, `L`, `W`, `#` and `?`
 * are not supported.
 */
#ifndef AK_CRON_H
#define AK_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_error.h"

typedef struct ak_cron {
    uint64_t minutes;   /* bit m set: minute m (0-59) */
    uint32_t hours;     /* bit h: hour h (0-23) */
    uint32_t mdays;     /* bit d: day of month d (1-31) */
    uint16_t months;    /* bit m: month m (1-12) */
    uint8_t wdays;      /* bit d: weekday d (0-6, 0 = Sunday) */
    bool mday_star;     /* the day-of-month field started with `*` */
    bool wday_star;     /* the day-of-week field started with `*` */
} ak_cron_t;

/* Parses expr into *out.  On error (AK_E_CONFIG) the message quotes the
 * expression and says what is wrong ("month `13` is out of range 1-12");
 * *out is unspecified.  A schedule that can never fire ("0 0 30 2 *") is an
 * error too. */
int ak_cron_parse(const char *expr, ak_cron_t *out, ak_err_t *err);
/* The same, also giving the byte offset in expr of the problem (for callers
 * that can turn it into a file column). */
int ak_cron_parse_at(const char *expr, ak_cron_t *out, size_t *bad_offset, ak_err_t *err);

/* The first firing time strictly after `after_us`; -1 if there is none within
 * the next 30 years or the time is outside years 1..9000. */
int64_t ak_cron_next(const ak_cron_t *c, int64_t after_us);

/* Durations: a non-negative number with an optional unit, or several in a
 * row: "240" (seconds), "90s", "5m", "1h30m", "1.5h", "500ms", "2d", "1w";
 * units us, ms, s, m, h, d, w.  On error (AK_E_CONFIG) the message quotes the
 * text; *us is untouched. */
int ak_parse_duration(const char *s, int64_t *us, ak_err_t *err);
/* Shortest exact rendering ("5m", "1h30m", "1s500ms", "0s") into out (at
 * least AK_DURATION_BUF bytes); returns the length. */
#define AK_DURATION_BUF 64
size_t ak_format_duration(int64_t us, char *out);

#endif
