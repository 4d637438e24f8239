/* test_convert.c - text to typed values: integers, doubles, booleans, dates,
 * timestamps (fast path against ak_ts_parse), UTF-8, error messages. */
#include "ak_convert.h"
#include "ak_test.h"
#include "ak_time.h"

#include <math.h>

static int pint(const char *s, int64_t *v) { return ak_conv_int64(s, strlen(s), v); }
static int pdbl(const char *s, double *v) { return ak_conv_double(s, strlen(s), v); }

AK_TEST(int64_rules)
{
    int64_t v = 0;
    AK_CHECK_EQ_INT(pint("42", &v), AK_CONV_OK);
    AK_CHECK_EQ_INT(v, 42);
    AK_CHECK_EQ_INT(pint("  -17 \t", &v), AK_CONV_OK);
    AK_CHECK_EQ_INT(v, -17);
    AK_CHECK_EQ_INT(pint("+5", &v), AK_CONV_OK);
    AK_CHECK_EQ_INT(v, 5);
    AK_CHECK_EQ_INT(pint("9223372036854775807", &v), AK_CONV_OK);
    AK_CHECK_EQ_INT(v, INT64_MAX);
    AK_CHECK_EQ_INT(pint("-9223372036854775808", &v), AK_CONV_OK);
    AK_CHECK(v == INT64_MIN);
    AK_CHECK_EQ_INT(pint("9223372036854775808", &v), AK_CONV_RANGE);
    AK_CHECK_EQ_INT(pint("-9223372036854775809", &v), AK_CONV_RANGE);
    AK_CHECK_EQ_INT(pint("99999999999999999999999", &v), AK_CONV_RANGE);
    /* exactly integral decimal forms are accepted, others are not */
    AK_CHECK_EQ_INT(pint("1.0", &v), AK_CONV_OK);
    AK_CHECK_EQ_INT(v, 1);
    AK_CHECK_EQ_INT(pint("1e3", &v), AK_CONV_OK);
    AK_CHECK_EQ_INT(v, 1000);
    AK_CHECK_EQ_INT(pint("2.50e1", &v), AK_CONV_OK);
    AK_CHECK_EQ_INT(v, 25);
    AK_CHECK_EQ_INT(pint("12500e-2", &v), AK_CONV_OK);
    AK_CHECK_EQ_INT(v, 125);
    AK_CHECK_EQ_INT(pint("0.000e5", &v), AK_CONV_OK);
    AK_CHECK_EQ_INT(v, 0);
    AK_CHECK_EQ_INT(pint("9.223372036854775807e18", &v), AK_CONV_OK);
    AK_CHECK_EQ_INT(v, INT64_MAX);
    AK_CHECK_EQ_INT(pint("1.5", &v), AK_CONV_FRACTION);
    AK_CHECK_EQ_INT(pint("0.5", &v), AK_CONV_FRACTION);
    AK_CHECK_EQ_INT(pint("1e-1", &v), AK_CONV_FRACTION);
    AK_CHECK_EQ_INT(pint("1e19", &v), AK_CONV_RANGE);
    AK_CHECK_EQ_INT(pint("1e999999999999", &v), AK_CONV_RANGE);
    AK_CHECK_EQ_INT(pint("0e999999999999", &v), AK_CONV_OK);
    AK_CHECK_EQ_INT(pint("", &v), AK_CONV_SYNTAX);
    AK_CHECK_EQ_INT(pint("  ", &v), AK_CONV_SYNTAX);
    AK_CHECK_EQ_INT(pint("-", &v), AK_CONV_SYNTAX);
    AK_CHECK_EQ_INT(pint("1 2", &v), AK_CONV_SYNTAX);
    AK_CHECK_EQ_INT(pint("0x10", &v), AK_CONV_SYNTAX);
    AK_CHECK_EQ_INT(pint("12abc", &v), AK_CONV_SYNTAX);
    AK_CHECK_EQ_INT(pint("1e", &v), AK_CONV_SYNTAX);
    AK_CHECK_EQ_INT(pint(".", &v), AK_CONV_SYNTAX);
}

AK_TEST(double_rules)
{
    double d = 0;
    AK_CHECK_EQ_INT(pdbl("0.1", &d), AK_CONV_OK);
    AK_CHECK(d == 0.1);
    AK_CHECK_EQ_INT(pdbl(" -2.5e3 ", &d), AK_CONV_OK);
    AK_CHECK(d == -2500.0);
    AK_CHECK_EQ_INT(pdbl(".5", &d), AK_CONV_OK);
    AK_CHECK(d == 0.5);
    AK_CHECK_EQ_INT(pdbl("5.", &d), AK_CONV_OK);
    AK_CHECK(d == 5.0);
    AK_CHECK_EQ_INT(pdbl("1.7976931348623157e308", &d), AK_CONV_OK);
    AK_CHECK(d == 1.7976931348623157e308);
    AK_CHECK_EQ_INT(pdbl("4.9e-324", &d), AK_CONV_OK);
    AK_CHECK(d > 0 && d < 1e-323);
    AK_CHECK_EQ_INT(pdbl("1e-400", &d), AK_CONV_OK);
    AK_CHECK(d == 0.0);
    AK_CHECK_EQ_INT(pdbl("123456789012345678901234567890", &d), AK_CONV_OK);
    AK_CHECK(d == 123456789012345678901234567890.0);
    AK_CHECK_EQ_INT(pdbl("0.30000000000000004", &d), AK_CONV_OK);
    AK_CHECK(d == 0.30000000000000004);
    AK_CHECK_EQ_INT(pdbl("inf", &d), AK_CONV_OK);
    AK_CHECK(isinf(d) && d > 0);
    AK_CHECK_EQ_INT(pdbl("-Infinity", &d), AK_CONV_OK);
    AK_CHECK(isinf(d) && d < 0);
    AK_CHECK_EQ_INT(pdbl("NaN", &d), AK_CONV_OK);
    AK_CHECK(isnan(d));
    AK_CHECK_EQ_INT(pdbl("1e400", &d), AK_CONV_RANGE);
    AK_CHECK_EQ_INT(pdbl("0x1p3", &d), AK_CONV_SYNTAX);
    AK_CHECK_EQ_INT(pdbl("nan(1)", &d), AK_CONV_SYNTAX);
    AK_CHECK_EQ_INT(pdbl("1,5", &d), AK_CONV_SYNTAX);
    AK_CHECK_EQ_INT(pdbl("", &d), AK_CONV_SYNTAX);
    AK_CHECK_EQ_INT(pdbl("e5", &d), AK_CONV_SYNTAX);
    /* every fast-path answer equals strtod's */
    const char *cases[] = {"1.2345", "9007199254740993", "1e22", "1e23", "123.456e-7", "0.000001", "-0.0"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        AK_CHECK_EQ_INT(pdbl(cases[i], &d), AK_CONV_OK);
        AK_CHECK(d == strtod(cases[i], NULL));
    }
    ak_val_t v;
    AK_CHECK_EQ_INT(ak_convert_text(AK_FLOAT, "1e39", 4, &v), AK_CONV_RANGE);
    AK_CHECK_EQ_INT(ak_convert_text(AK_FLOAT, "0.1", 3, &v), AK_CONV_OK);
    AK_CHECK(v.type == AK_FLOAT && v.d == (double)0.1f);
}

AK_TEST(bool_rules)
{
    const char *t[] = {"true", "TRUE", "t", "T", "1", "yes", "Yes", " true "};
    const char *f[] = {"false", "False", "f", "0", "no", "NO"};
    const char *bad[] = {"", "2", "on", "y", "truth", "-1"};
    bool b;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        AK_CHECK_EQ_INT(ak_conv_bool(t[i], strlen(t[i]), &b), AK_CONV_OK);
        AK_CHECK(b);
    }
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        AK_CHECK_EQ_INT(ak_conv_bool(f[i], strlen(f[i]), &b), AK_CONV_OK);
        AK_CHECK(!b);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        AK_CHECK_EQ_INT(ak_conv_bool(bad[i], strlen(bad[i]), &b), AK_CONV_SYNTAX);
}

AK_TEST(temporal)
{
    ak_val_t v;
    AK_CHECK_EQ_INT(ak_convert_text(AK_DATE, "2026-11-01", 10, &v), 0);
    AK_CHECK(v.type == AK_DATE && v.i == 20758);
    AK_CHECK_EQ_INT(ak_convert_text(AK_DATE, "2026-13-01", 10, &v), AK_CONV_SYNTAX);
    AK_CHECK_EQ_INT(ak_convert_text(AK_TIMESTAMP, "2026-11-01T10:00:00.123Z", 24, &v), 0);
    AK_CHECK(v.type == AK_TIMESTAMP && v.i == INT64_C(1793491200000000) + INT64_C(36000123000));
    AK_CHECK_EQ_INT(ak_convert_text(AK_TIMESTAMP, "2026-11-01 12:00:00+02:00", 25, &v), 0);
    AK_CHECK(v.i == INT64_C(1793491200000000) + INT64_C(36000000000));
}

/* The fast path must agree with ak_ts_parse on every 24-byte string of the
 * fast shape, valid or not. */
AK_TEST(ts_fast_path_agrees)
{
    uint64_t x = 88172645463325252u;
    char s[25];
    int agree = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int y = 1900 + (int)(x % 300), mo = (int)((x >> 9) % 14), dd = (int)((x >> 14) % 33),
            hh = (int)((x >> 20) % 26), mi = (int)((x >> 26) % 62), ss = (int)((x >> 32) % 62),
            ms = (int)((x >> 40) % 1000);
        snprintf(s, sizeof s, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, dd, hh, mi, ss, ms);
        if ((x >> 50) % 7 == 0)
            s[(x >> 53) % 24] = (char)('0' + (x >> 58) % 60); /* some garbage */
        int64_t a = 0, b = 0;
        int ra = ak_ts_parse_fast(s, 24, &a), rb = ak_ts_parse(s, 24, &b);
        if (ra == rb && (ra != 0 || a == b))
            agree++;
        else
            fprintf(stderr, "  disagree on %s: %d/%lld vs %d/%lld\n", s, ra, (long long)a, rb, (long long)b);
    }
    AK_CHECK_EQ_INT(agree, 200000);
    int64_t us;
    AK_CHECK_EQ_INT(ak_ts_parse_fast("2024-02-29T23:59:59.999Z", 24, &us), 0);
    AK_CHECK_EQ_INT(ak_ts_parse_fast("2023-02-29T00:00:00.000Z", 24, &us), -1);
    AK_CHECK_EQ_INT(ak_ts_parse_fast("2026-11-01T24:00:00.000Z", 24, &us), -1);
}

AK_TEST(utf8)
{
    AK_CHECK(ak_utf8_valid("plain ascii text, long enough for words", 39));
    AK_CHECK(ak_utf8_valid("caf\xC3\xA9", 5));
    AK_CHECK(ak_utf8_valid("\xF0\x9F\x98\x80", 4));
    AK_CHECK(ak_utf8_valid("\xEF\xBF\xBF", 3));
    AK_CHECK(!ak_utf8_valid("\xC3", 1));        /* truncated */
    AK_CHECK(!ak_utf8_valid("\xC0\xAF", 2));    /* overlong */
    AK_CHECK(!ak_utf8_valid("\xE0\x80\xAF", 3)); /* overlong */
    AK_CHECK(!ak_utf8_valid("\xED\xA0\x80", 3)); /* surrogate */
    AK_CHECK(!ak_utf8_valid("\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
    AK_CHECK(!ak_utf8_valid("\xFF", 1));
    AK_CHECK(!ak_utf8_valid("abcdefgh\x80", 9));
}

AK_TEST(messages)
{
    ak_column_t ts = {"event_time", AK_TIMESTAMP, false, false};
    ak_column_t n = {"n", AK_INT, false, false};
    ak_column_t t = {"t", AK_TEXT, false, false};
    ak_column_t iv = {"iv", AK_INTERVAL, false, false};
    ak_val_t v;
    ak_err_t err;
    AK_CHECK_EQ_INT(ak_convert(&ts, "2026-13-01", 10, &v, &err), -1);
    AK_CHECK_STR(err.msg, "column `event_time`: cannot read `2026-13-01` as TIMESTAMP");
    AK_CHECK_EQ_INT(err.code, AK_E_TYPE);
    AK_CHECK_EQ_INT(ak_convert(&n, "1.5", 3, &v, &err), -1);
    AK_CHECK_STR(err.msg, "column `n`: cannot read `1.5` as BIGINT (not an integer)");
    AK_CHECK_EQ_INT(ak_convert(&n, "1e30", 4, &v, &err), -1);
    AK_CHECK_STR(err.msg, "column `n`: cannot read `1e30` as BIGINT (out of range)");
    AK_CHECK_EQ_INT(err.code, AK_E_RANGE);
    AK_CHECK_EQ_INT(ak_convert(&t, "a\xFF", 2, &v, &err), -1);
    AK_CHECK_STR(err.msg, "column `t`: text `a\\xFF` is not valid UTF-8");
    AK_CHECK_EQ_INT(ak_convert(&iv, "1 day", 5, &v, &err), -1);
    AK_CHECK_EQ_INT(err.code, AK_E_UNSUPPORTED);
    AK_CHECK_EQ_INT(ak_convert(&t, "ok", 2, &v, &err), 0);
    AK_CHECK(v.type == AK_TEXT && v.n == 2);
    char q[96];
    char longs[200];
    memset(longs, 'x', sizeof longs);
    ak_quote_for_msg(q, sizeof q, longs, sizeof longs);
    AK_CHECK(strlen(q) == 63 && strcmp(q + 60, "...") == 0);
    ak_quote_for_msg(q, sizeof q, "a\nb`", 4);
    AK_CHECK_STR(q, "a\\x0Ab\\x60");
    ak_quote_for_msg(q, sizeof q, "caf\xC3\xA9", 5);
    AK_CHECK_STR(q, "caf\xC3\xA9");
}

int main(void) { return ak_test_main(); }
