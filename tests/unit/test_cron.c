/* test_cron.c - cron parsing (with exact error texts and positions), next
 * firing times in UTC, and durations. */
#include "ak_cron.h"
#include "ak_test.h"
#include "ak_time.h"

static int64_t ts(const char *s)
{
    int64_t us = 0;
    if (ak_ts_parse(s, strlen(s), &us) != 0) {
        fprintf(stderr, "  cannot parse %s\n", s);
        ak__failed_checks++;
    }
    return us;
}

static const char *fmt(int64_t us)
{
    static char b[4][AK_TS_BUF];
    static int k;
    char *o = b[k++ % 4];
    if (us == -1) /* "none": a firing time is a whole minute, never -1 */
        return "(none)";
    ak_ts_format(us, o);
    return o;
}

/* Next firing of expr after `after`, formatted. */
static const char *next(const char *expr, const char *after)
{
    ak_cron_t c;
    ak_err_t err;
    if (ak_cron_parse(expr, &c, &err)) {
        fprintf(stderr, "  %s: %s\n", expr, err.msg);
        ak__failed_checks++;
        return "(error)";
    }
    return fmt(ak_cron_next(&c, ts(after)));
}

/* The error text and offset for a bad expression. */
static const char *bad(const char *expr, size_t *off)
{
    static ak_err_t err;
    ak_cron_t c;
    size_t o = 999;
    if (ak_cron_parse_at(expr, &c, &o, &err) == 0)
        return "(parsed)";
    AK_CHECK_EQ_INT(err.code, AK_E_CONFIG);
    if (off)
        *off = o;
    return err.msg;
}

AK_TEST(every_five_minutes)
{
    AK_CHECK_STR(next("*/5 * * * *", "2026-11-01T10:02:30Z"), "2026-11-01T10:05:00Z");
    AK_CHECK_STR(next("*/5 * * * *", "2026-11-01T10:05:00Z"), "2026-11-01T10:10:00Z"); /* strictly after */
    AK_CHECK_STR(next("*/5 * * * *", "2026-11-01T10:04:59.999999Z"), "2026-11-01T10:05:00Z");
    AK_CHECK_STR(next("*/5 * * * *", "2026-12-31T23:57:00Z"), "2027-01-01T00:00:00Z");
}

AK_TEST(hourly_daily_weekly_monthly_yearly)
{
    AK_CHECK_STR(next("0 * * * *", "2026-11-01T10:00:00Z"), "2026-11-01T11:00:00Z");
    AK_CHECK_STR(next("0 * * * *", "2026-11-01T10:59:59Z"), "2026-11-01T11:00:00Z");
    AK_CHECK_STR(next("0 * * * *", "2026-11-01T23:30:00Z"), "2026-11-02T00:00:00Z");
    AK_CHECK_STR(next("@hourly", "2026-11-01T10:00:00Z"), "2026-11-01T11:00:00Z");
    AK_CHECK_STR(next("@daily", "2026-11-01T10:00:00Z"), "2026-11-02T00:00:00Z");
    AK_CHECK_STR(next("@midnight", "2026-11-30T00:00:00Z"), "2026-12-01T00:00:00Z");
    AK_CHECK_STR(next("@weekly", "2026-11-01T00:00:00Z"), "2026-11-08T00:00:00Z"); /* Sundays */
    AK_CHECK_STR(next("@weekly", "2026-10-31T23:59:59Z"), "2026-11-01T00:00:00Z");
    AK_CHECK_STR(next("@monthly", "2026-11-15T08:00:00Z"), "2026-12-01T00:00:00Z");
    AK_CHECK_STR(next("@yearly", "2026-11-15T08:00:00Z"), "2027-01-01T00:00:00Z");
    AK_CHECK_STR(next("@annually", "2026-01-01T00:00:00Z"), "2027-01-01T00:00:00Z");
    AK_CHECK_STR(next("  @DAILY  ", "2026-11-01T10:00:00Z"), "2026-11-02T00:00:00Z");
}

AK_TEST(lists_ranges_steps_names)
{
    AK_CHECK_STR(next("15,45 9-17/4 * * *", "2026-11-01T09:20:00Z"), "2026-11-01T09:45:00Z");
    AK_CHECK_STR(next("15,45 9-17/4 * * *", "2026-11-01T09:45:00Z"), "2026-11-01T13:15:00Z");
    AK_CHECK_STR(next("15,45 9-17/4 * * *", "2026-11-01T17:45:00Z"), "2026-11-02T09:15:00Z");
    AK_CHECK_STR(next("0 9 * * mon-fri", "2026-11-01T00:00:00Z"), "2026-11-02T09:00:00Z");
    AK_CHECK_STR(next("0 9 * * MON-FRI", "2026-11-06T09:00:00Z"), "2026-11-09T09:00:00Z");
    AK_CHECK_STR(next("0 0 1 jan,Jul *", "2026-11-01T00:00:00Z"), "2027-01-01T00:00:00Z");
    AK_CHECK_STR(next("0 0 1 JAN,JUL *", "2027-01-01T00:00:00Z"), "2027-07-01T00:00:00Z");
    AK_CHECK_STR(next("30 23 31 12 *", "2026-12-31T23:30:00Z"), "2027-12-31T23:30:00Z");
    AK_CHECK_STR(next("0 0 * * 7", "2026-11-01T00:00:00Z"), "2026-11-08T00:00:00Z"); /* 7 = Sunday */
    AK_CHECK_STR(next("0 0 * * 5-7", "2026-11-02T00:00:00Z"), "2026-11-06T00:00:00Z");
    AK_CHECK_STR(next("10/20 * * * *", "2026-11-01T10:31:00Z"), "2026-11-01T10:50:00Z");
    AK_CHECK_STR(next("0 0 29 2 *", "2026-03-01T00:00:00Z"), "2028-02-29T00:00:00Z");
    AK_CHECK_STR(next("0 0 31 * *", "2026-11-01T00:00:00Z"), "2026-12-31T00:00:00Z");
    AK_CHECK_STR(next("0\t0  *\t* *", "2026-11-01T10:00:00Z"), "2026-11-02T00:00:00Z");
}

AK_TEST(day_of_month_or_day_of_week)
{
    /* both restricted: the 10th OR any Friday */
    AK_CHECK_STR(next("0 0 10 * 5", "2026-11-01T12:00:00Z"), "2026-11-06T00:00:00Z");
    AK_CHECK_STR(next("0 0 10 * 5", "2026-11-06T00:00:00Z"), "2026-11-10T00:00:00Z");
    AK_CHECK_STR(next("0 0 10 * 5", "2026-11-10T00:00:00Z"), "2026-11-13T00:00:00Z");
    /* day of month starts with '*': odd days AND Mondays (Nov 2 is even) */
    AK_CHECK_STR(next("0 0 */2 * 1", "2026-11-01T00:00:00Z"), "2026-11-09T00:00:00Z");
    /* day of week '*': only the 13th */
    AK_CHECK_STR(next("0 0 13 * *", "2026-11-01T00:00:00Z"), "2026-11-13T00:00:00Z");
}

AK_TEST(parsed_fields)
{
    ak_cron_t c;
    ak_err_t err;
    AK_CHECK_EQ_INT(ak_cron_parse("*/15 0 1,15 * 1-5", &c, &err), 0);
    AK_CHECK(c.minutes == ((UINT64_C(1) << 0) | (UINT64_C(1) << 15) | (UINT64_C(1) << 30) | (UINT64_C(1) << 45)));
    AK_CHECK_EQ_INT(c.hours, 1);
    AK_CHECK_EQ_INT(c.mdays, (1u << 1) | (1u << 15));
    AK_CHECK_EQ_INT(c.months, 0x1FFE);
    AK_CHECK_EQ_INT(c.wdays, 0x3E);
    AK_CHECK(!c.mday_star && !c.wday_star);
}

AK_TEST(errors_are_precise)
{
    size_t off = 0;
    AK_CHECK_STR(bad("*/5 * * 13 *", &off), "invalid cron schedule `*/5 * * 13 *`: month `13` is out of range 1-12");
    AK_CHECK_EQ_INT(off, 8);
    AK_CHECK_STR(bad("60 * * * *", &off), "invalid cron schedule `60 * * * *`: minute `60` is out of range 0-59");
    AK_CHECK_EQ_INT(off, 0);
    AK_CHECK_STR(bad("* * *", &off),
                 "invalid cron schedule `* * *`: expected 5 fields (minute hour day-of-month month day-of-week), got 3");
    AK_CHECK_EQ_INT(off, 5);
    AK_CHECK_STR(bad("* * * * * *", &off),
                 "invalid cron schedule `* * * * * *`: expected 5 fields (minute hour day-of-month month "
                 "day-of-week), got more");
    AK_CHECK_EQ_INT(off, 10);
    AK_CHECK_STR(bad("*/0 * * * *", &off), "invalid cron schedule `*/0 * * * *`: a step must be at least 1");
    AK_CHECK_EQ_INT(off, 2);
    AK_CHECK_STR(bad("0 17-9 * * *", &off), "invalid cron schedule `0 17-9 * * *`: hour range `17-9` goes backwards");
    AK_CHECK_EQ_INT(off, 2);
    AK_CHECK_STR(bad("0 0 1 JNA *", &off),
                 "invalid cron schedule `0 0 1 JNA *`: unknown month name `JNA`; did you mean `JAN`?");
    AK_CHECK_EQ_INT(off, 6);
    AK_CHECK_STR(bad("0 0 * * xyz", NULL),
                 "invalid cron schedule `0 0 * * xyz`: unknown day of week name `xyz` (expected SUN-SAT)");
    AK_CHECK_STR(bad("a * * * *", NULL), "invalid cron schedule `a * * * *`: minute must be a number, got `a`");
    AK_CHECK_STR(bad("5x * * * *", &off), "invalid cron schedule `5x * * * *`: unexpected `x` in the minute field");
    AK_CHECK_EQ_INT(off, 1);
    AK_CHECK_STR(bad("1, * * * *", NULL),
                 "invalid cron schedule `1, * * * *`: minute field ends where a value was expected");
    AK_CHECK_STR(bad("0 0 30 2 *", NULL),
                 "invalid cron schedule `0 0 30 2 *`: it never fires (no selected month has the selected days)");
    AK_CHECK_STR(bad("@reboot", NULL),
                 "invalid cron schedule `@reboot`: unknown shorthand `@reboot` (expected @yearly, @monthly, "
                 "@weekly, @daily or @hourly)");
    AK_CHECK_STR(bad("@daily 5", &off), "invalid cron schedule `@daily 5`: nothing may follow `@daily`");
    AK_CHECK_EQ_INT(off, 7);
    AK_CHECK_STR(bad("", NULL),
                 "invalid cron schedule ``: expected 5 fields (minute hour day-of-month month day-of-week), got 0");
    /* 30 February never exists, but OR-ed with a weekday it still fires */
    ak_cron_t c;
    AK_CHECK_EQ_INT(ak_cron_parse("0 0 30 2 1", &c, NULL), 0);
}

AK_TEST(next_out_of_range)
{
    ak_cron_t c;
    AK_CHECK_EQ_INT(ak_cron_parse("* * * * *", &c, NULL), 0);
    AK_CHECK_EQ_INT(ak_cron_next(&c, INT64_MAX), -1);
    AK_CHECK_EQ_INT(ak_cron_next(&c, INT64_MIN), -1);
    AK_CHECK_STR(fmt(ak_cron_next(&c, -1)), "1970-01-01T00:00:00Z");
    AK_CHECK_STR(fmt(ak_cron_next(&c, ts("1969-12-31T23:58:30Z"))), "1969-12-31T23:59:00Z");
}

static int64_t dur(const char *s)
{
    int64_t us = -1;
    ak_err_t err;
    if (ak_parse_duration(s, &us, &err)) {
        fprintf(stderr, "  duration %s: %s\n", s, err.msg);
        ak__failed_checks++;
    }
    return us;
}

AK_TEST(durations)
{
    AK_CHECK_EQ_INT(dur("5m"), 5 * AK_US_PER_MIN);
    AK_CHECK_EQ_INT(dur("90s"), 90 * AK_US_PER_SEC);
    AK_CHECK_EQ_INT(dur("1h"), AK_US_PER_HOUR);
    AK_CHECK_EQ_INT(dur("240"), 240 * AK_US_PER_SEC);
    AK_CHECK_EQ_INT(dur("1h30m"), 90 * AK_US_PER_MIN);
    AK_CHECK_EQ_INT(dur("1.5h"), 90 * AK_US_PER_MIN);
    AK_CHECK_EQ_INT(dur("500ms"), 500000);
    AK_CHECK_EQ_INT(dur("2d"), 2 * AK_US_PER_DAY);
    AK_CHECK_EQ_INT(dur("1w"), 7 * AK_US_PER_DAY);
    AK_CHECK_EQ_INT(dur("0"), 0);
    AK_CHECK_EQ_INT(dur("250us"), 250);
    AK_CHECK_EQ_INT(dur("0.25s"), 250000);
    int64_t us = 42;
    ak_err_t err;
    AK_CHECK_EQ_INT(ak_parse_duration("abc", &us, &err), -1);
    AK_CHECK_STR(err.msg, "invalid duration `abc`: expected a whole number of seconds or a number with a unit "
                          "(us, ms, s, m, h, d, w) such as `90s`, `5m`, `1h30m`");
    AK_CHECK_EQ_INT(us, 42);
    AK_CHECK_EQ_INT(ak_parse_duration("", &us, NULL), -1);
    AK_CHECK_EQ_INT(ak_parse_duration("-5m", &us, NULL), -1);
    AK_CHECK_EQ_INT(ak_parse_duration("5 m", &us, NULL), -1);
    AK_CHECK_EQ_INT(ak_parse_duration("1h30", &us, NULL), -1);
    AK_CHECK_EQ_INT(ak_parse_duration("5M", &us, NULL), -1);
    AK_CHECK_EQ_INT(ak_parse_duration("5.m", &us, NULL), -1);
    AK_CHECK_EQ_INT(ak_parse_duration("99999999999999999999", &us, &err), -1);
    AK_CHECK_STR(err.msg, "duration `99999999999999999999` is too long");
    AK_CHECK_EQ_INT(ak_parse_duration("9999999999999999w", &us, &err), -1);
    AK_CHECK_STR(err.msg, "duration `9999999999999999w` is too long");
    AK_CHECK_EQ_INT(us, 42);
}

AK_TEST(format_duration)
{
    char b[AK_DURATION_BUF];
    ak_format_duration(0, b);
    AK_CHECK_STR(b, "0s");
    ak_format_duration(5 * AK_US_PER_MIN, b);
    AK_CHECK_STR(b, "5m");
    ak_format_duration(90 * AK_US_PER_MIN, b);
    AK_CHECK_STR(b, "1h30m");
    ak_format_duration(1500000, b);
    AK_CHECK_STR(b, "1s500ms");
    ak_format_duration(14 * AK_US_PER_DAY + 1, b);
    AK_CHECK_STR(b, "14d1us");
    ak_format_duration(INT64_MAX, b);
    AK_CHECK(strlen(b) > 0 && strlen(b) < AK_DURATION_BUF);
    int64_t back = 0;
    AK_CHECK_EQ_INT(ak_parse_duration(b, &back, NULL), 0);
    AK_CHECK_EQ_INT(back, INT64_MAX);
}

int main(void) { return ak_test_main(); }
