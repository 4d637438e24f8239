/* test_time.c - timestamps, dates, DATEDIFF/DATE_TRUNC/EXTRACT semantics
 * (expected values were read off DuckDB 1.5.6). */
#include "ak_test.h"
#include "ak_time.h"
#include "ak_value.h"

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
    static char b[AK_TS_BUF];
    ak_ts_format(us, b);
    return b;
}

AK_TEST(parse_and_format)
{
    AK_CHECK_EQ_INT(ts("1970-01-01T00:00:00Z"), 0);
    AK_CHECK_EQ_INT(ts("2026-11-01T00:00:00Z"), INT64_C(1793491200000000));
    AK_CHECK_STR(fmt(ts("2026-11-01T10:00:00.123Z")), "2026-11-01T10:00:00.123Z");
    AK_CHECK_STR(fmt(ts("2026-11-01 10:00:00")), "2026-11-01T10:00:00Z");
    AK_CHECK_STR(fmt(ts("2026-11-01 10:00")), "2026-11-01T10:00:00Z");
    AK_CHECK_STR(fmt(ts("2026-11-01")), "2026-11-01T00:00:00Z");
    AK_CHECK_STR(fmt(ts("2026-11-01T10:00:00.1234567Z")), "2026-11-01T10:00:00.123456Z");
    AK_CHECK_STR(fmt(ts("2026-11-01T10:00:00+02:00")), "2026-11-01T08:00:00Z");
    AK_CHECK_STR(fmt(ts("2026-11-01T10:00:00.5-0130")), "2026-11-01T11:30:00.500Z");
    AK_CHECK_STR(fmt(ts("1969-12-31T23:59:59.999999Z")), "1969-12-31T23:59:59.999999Z");
    int64_t x;
    AK_CHECK(ak_ts_parse("2026-02-30", 10, &x) != 0);
    AK_CHECK(ak_ts_parse("2026-11-01T25:00:00", 19, &x) != 0);
    AK_CHECK(ak_ts_parse("not a time", 10, &x) != 0);
    AK_CHECK(ak_ts_parse("2026-11-01T10:00:00Zjunk", 24, &x) != 0);
    AK_CHECK(ak_ts_parse("2024-02-29", 10, &x) == 0);
}

AK_TEST(datediff_counts_boundaries)
{
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_MINUTE, ts("2026-11-01 10:00:59"), ts("2026-11-01 10:31:00")), 31);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_MINUTE, ts("2026-11-01 10:00:00"), ts("2026-11-01 10:30:59.999")), 30);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_MINUTE, ts("2026-11-01 10:29:59.999"), ts("2026-11-01 11:00:00")), 31);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_MINUTE, ts("2026-11-01 10:31:00"), ts("2026-11-01 10:00:59")), -31);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_SECOND, ts("2026-11-01 10:00:00.900"), ts("2026-11-01 10:00:01.100")), 1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_SECOND, ts("2026-11-01 10:00:01.100"), ts("2026-11-01 10:00:00.900")), -1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_HOUR, ts("2026-11-01 10:59:59"), ts("2026-11-01 11:00:00")), 1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_DAY, ts("2026-11-01 23:59:59"), ts("2026-11-02 00:00:00")), 1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_MILLISECOND, ts("2026-11-01 10:00:00.0009"), ts("2026-11-01 10:00:00.0011")), 1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_MINUTE, ts("1969-12-31 23:58:30"), ts("1969-12-31 23:59:10")), 1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_WEEK, ts("2026-11-01 10:00:00"), ts("2026-11-09 00:00:00")), 1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_WEEK, ts("2026-11-02"), ts("2026-11-08")), 0);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_WEEK, ts("2026-11-01 23:00"), ts("2026-11-08 01:00")), 1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_WEEK, ts("2026-11-15"), ts("2026-11-01")), -2);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_WEEK, ts("2026-11-08"), ts("2026-11-02")), 0);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_MONTH, ts("2026-01-31"), ts("2026-02-01")), 1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_MONTH, ts("2026-03-01"), ts("2026-01-31")), -2);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_QUARTER, ts("2026-03-31"), ts("2026-04-01")), 1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_YEAR, ts("2026-12-31"), ts("2027-01-01")), 1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_DECADE, ts("2019-12-31"), ts("2020-01-01")), 1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_CENTURY, ts("1999-12-31"), ts("2000-01-01")), 1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_MILLENNIUM, ts("1999-12-31"), ts("2000-01-01")), 1);
    AK_CHECK_EQ_INT(ak_ts_diff(AK_TU_DAY, ts("1969-12-31 23:00:00"), ts("1970-01-01 01:00:00")), 1);
}

AK_TEST(trunc_and_extract)
{
    AK_CHECK_STR(fmt(ak_ts_trunc(AK_TU_WEEK, ts("2026-11-01 10:00:00"))), "2026-10-26T00:00:00Z");
    AK_CHECK_STR(fmt(ak_ts_trunc(AK_TU_QUARTER, ts("2026-11-01 10:00:00"))), "2026-10-01T00:00:00Z");
    AK_CHECK_STR(fmt(ak_ts_trunc(AK_TU_MINUTE, ts("1969-12-31 23:59:30.5"))), "1969-12-31T23:59:00Z");
    AK_CHECK_STR(fmt(ak_ts_trunc(AK_TU_DECADE, ts("2026-11-01"))), "2020-01-01T00:00:00Z");
    AK_CHECK_STR(fmt(ak_ts_trunc(AK_TU_CENTURY, ts("2026-11-01"))), "2000-01-01T00:00:00Z");
    AK_CHECK_STR(fmt(ak_ts_trunc(AK_TU_YEAR, ts("1969-05-01"))), "1969-01-01T00:00:00Z");
    AK_CHECK_STR(fmt(ak_ts_trunc(AK_TU_WEEK, ts("1970-01-01"))), "1969-12-29T00:00:00Z");
    int64_t t = ts("2026-11-01 10:00:05.123456");
    AK_CHECK_EQ_INT(ak_ts_extract(AK_TU_SECOND, t), 5);
    AK_CHECK_EQ_INT(ak_ts_extract(AK_TU_MILLISECOND, t), 5123);
    AK_CHECK_EQ_INT(ak_ts_extract(AK_TU_MICROSECOND, t), 5123456);
    AK_CHECK_EQ_INT(ak_ts_extract(AK_TU_HOUR, t), 10);
    AK_CHECK_EQ_INT(ak_ts_extract(AK_TU_DOW, t), 0);
    AK_CHECK_EQ_INT(ak_ts_extract(AK_TU_ISODOW, t), 7);
    AK_CHECK_EQ_INT(ak_ts_extract(AK_TU_DOY, t), 305);
    AK_CHECK_EQ_INT(ak_ts_extract(AK_TU_WEEK, t), 44);
    AK_CHECK_EQ_INT(ak_ts_extract(AK_TU_QUARTER, t), 4);
    AK_CHECK(ak_ts_epoch(t) == 1793527205.123456);
}

AK_TEST(units_and_values)
{
    AK_CHECK_EQ_INT(ak_tunit_parse("MINUTE", 6), AK_TU_MINUTE);
    AK_CHECK_EQ_INT(ak_tunit_parse("mins", 4), AK_TU_MINUTE);
    AK_CHECK_EQ_INT(ak_tunit_parse("m", 1), AK_TU_MINUTE);
    AK_CHECK_EQ_INT(ak_tunit_parse("mi", 2), AK_TU_INVALID);
    AK_CHECK_EQ_INT(ak_tunit_parse("n", 1), AK_TU_INVALID);
    ak_val_t a = ak_v_text("abc", 3), b = ak_v_text("abd", 3), c = ak_v_text("ab", 2);
    AK_CHECK(ak_val_cmp(&a, &b) < 0);
    AK_CHECK(ak_val_cmp(&c, &a) < 0);
    ak_val_t up = ak_v_text("Z", 1), lo = ak_v_text("a", 1);
    AK_CHECK(ak_val_cmp(&up, &lo) < 0); /* bytewise */
    ak_val_t i1 = ak_v_int(1), d1 = ak_v_double(1.0), d15 = ak_v_double(1.5);
    AK_CHECK(ak_val_cmp(&i1, &d1) == 0);
    AK_CHECK(ak_val_eq_group(&i1, &d1));
    AK_CHECK(ak_val_hash(&i1, 7) == ak_val_hash(&d1, 7));
    AK_CHECK(ak_val_cmp(&i1, &d15) < 0);
    ak_val_t big = ak_v_int(INT64_C(9007199254740993)), bigd = ak_v_double(9007199254740992.0);
    AK_CHECK(ak_val_cmp(&big, &bigd) > 0);
    char buf[64];
    ak_fmt_double(0.1, buf, sizeof buf);
    AK_CHECK_STR(buf, "0.1");
    ak_fmt_double(2.0, buf, sizeof buf);
    AK_CHECK_STR(buf, "2.0");
    ak_fmt_double(1200.0, buf, sizeof buf);
    AK_CHECK_STR(buf, "1200.0");
    ak_fmt_double(1.0 / 3, buf, sizeof buf);
    AK_CHECK_STR(buf, "0.3333333333333333");
    ak_fmt_double(1e16, buf, sizeof buf);
    AK_CHECK_STR(buf, "1e+16");
    ak_fmt_double(123456789012345.6, buf, sizeof buf);
    AK_CHECK_STR(buf, "123456789012345.6");
    ak_fmt_double(0.0001, buf, sizeof buf);
    AK_CHECK_STR(buf, "0.0001");
    ak_fmt_double(0.00001234, buf, sizeof buf);
    AK_CHECK_STR(buf, "1.234e-05");
    ak_fmt_double(-2.5e-7, buf, sizeof buf);
    AK_CHECK_STR(buf, "-2.5e-07");
    ak_fmt_double(9223372036854775807.0, buf, sizeof buf);
    AK_CHECK_STR(buf, "9.223372036854776e+18");
    static const struct {
        double d;
        const char *js;
    } js[] = {{2.0, "2"}, {0.5, "0.5"}, {1200.0, "1200"}, {1e21, "1e+21"}, {1e20, "100000000000000000000"},
              {123.456, "123.456"}, {0.000001, "0.000001"}, {1e-7, "1e-7"}, {-1.5e-7, "-1.5e-7"},
              {1.6666666666666667, "1.6666666666666667"}, {-0.25, "-0.25"}, {0.1, "0.1"}, {12345.678e10, "123456780000000"},
              {9223372036854775807.0, "9223372036854776000"}, {1.25e22, "1.25e+22"}};
    for (size_t i = 0; i < sizeof js / sizeof js[0]; i++) {
        ak_fmt_double_js(js[i].d, buf, sizeof buf);
        AK_CHECK_STR(buf, js[i].js);
    }
    ak_buf_t o = AK_BUF_INIT;
    ak_val_t f = ak_v_float(2.0 / 3.0);
    ak_val_to_text(&f, &o);
    AK_CHECK_STR(o.data, "0.6666667");
    ak_buf_free(&o);
}

int main(void) { return ak_test_main(); }
