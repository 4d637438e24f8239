/* ak_convert.c - text to typed values (see ak_convert.h for the rules).
 *
 * Integers are read exactly from their decimal digits (no detour through
 * double), so "9223372036854775807" and "9.223372036854775807e18" are both
 * exact and one more is an overflow.  Doubles take Clinger's fast path when
 * the digits fit in 2^53 and the power of ten is exact, else strtod on a NUL-
 * terminated copy (after our own grammar check, so strtod's locale, hex and
 * "nan(...)" extensions never apply).
 */
#include "ak_convert.h"

#include "ak_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static bool is_digit(unsigned char c) { return (unsigned)(c - '0') < 10; }

static void trim(const char **s, size_t *n)
{
    const char *p = *s;
    size_t k = *n;
    while (k && is_space((unsigned char)*p))
        p++, k--;
    while (k && is_space((unsigned char)p[k - 1]))
        k--;
    *s = p;
    *n = k;
}

/* The parts of a decimal literal: [sign] int [. frac] [e [sign] exp]. */
typedef struct dec {
    bool neg;
    const char *ip, *fp; /* integer and fraction digits */
    size_t in, fn;
    long exp;            /* clamped to +-1e6: enough to tell zero/overflow */
} dec_t;

static bool split_decimal(const char *s, size_t n, dec_t *d)
{
    size_t i = 0;
    d->neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        d->neg = s[i++] == '-';
    d->ip = s + i;
    while (i < n && is_digit((unsigned char)s[i]))
        i++;
    d->in = (size_t)(s + i - d->ip);
    d->fp = s + i;
    d->fn = 0;
    if (i < n && s[i] == '.') {
        i++;
        d->fp = s + i;
        while (i < n && is_digit((unsigned char)s[i]))
            i++;
        d->fn = (size_t)(s + i - d->fp);
    }
    if (d->in + d->fn == 0)
        return false;
    d->exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i >= n || !is_digit((unsigned char)s[i]))
            return false;
        while (i < n && is_digit((unsigned char)s[i])) {
            if (d->exp < 1000000)
                d->exp = d->exp * 10 + (s[i] - '0');
            i++;
        }
        if (eneg)
            d->exp = -d->exp;
    }
    return i == n;
}

/* Digit k of the concatenated integer+fraction digits. */
static int dig(const dec_t *d, size_t k) { return k < d->in ? d->ip[k] - '0' : d->fp[k - d->in] - '0'; }

static int int_from_dec(const dec_t *d, int64_t *out)
{
    size_t nd = d->in + d->fn, lead = 0;
    while (lead < nd && dig(d, lead) == 0)
        lead++;
    if (lead == nd) {
        *out = 0;
        return AK_CONV_OK;
    }
    /* value = 0.D[lead..nd) * 10^point, with a nonzero first digit */
    long point = (long)d->in - (long)lead + d->exp;
    if (point <= 0)
        return AK_CONV_FRACTION;
    for (size_t k = lead + (size_t)point; k < nd; k++)
        if (dig(d, k) != 0)
            return AK_CONV_FRACTION;
    if (point > 19)
        return AK_CONV_RANGE;
    uint64_t v = 0;
    for (long k = 0; k < point; k++) {
        size_t idx = lead + (size_t)k;
        unsigned dd = idx < nd ? (unsigned)dig(d, idx) : 0;
        if (v > (UINT64_MAX - dd) / 10)
            return AK_CONV_RANGE;
        v = v * 10 + dd;
    }
    uint64_t lim = d->neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (v > lim)
        return AK_CONV_RANGE;
    *out = d->neg ? (int64_t)(0 - v) : (int64_t)v;
    return AK_CONV_OK;
}

int ak_conv_int64(const char *s, size_t n, int64_t *out)
{
    trim(&s, &n);
    /* fast path: plain digits that cannot overflow */
    size_t i = (n && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    if (n > i && n - i <= 18) {
        int64_t v = 0;
        size_t k = i;
        while (k < n && is_digit((unsigned char)s[k]))
            v = v * 10 + (s[k++] - '0');
        if (k == n) {
            *out = s[0] == '-' ? -v : v;
            return AK_CONV_OK;
        }
    }
    dec_t d;
    if (!split_decimal(s, n, &d))
        return AK_CONV_SYNTAX;
    return int_from_dec(&d, out);
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool ieq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

int ak_conv_double(const char *s, size_t n, double *out)
{
    trim(&s, &n);
    if (n == 0)
        return AK_CONV_SYNTAX;
    {
        const char *w = s;
        size_t k = n;
        bool neg = false;
        if (*w == '+' || *w == '-') {
            neg = *w == '-';
            w++, k--;
        }
        if (ieq(w, k, "inf") || ieq(w, k, "infinity")) {
            *out = neg ? -INFINITY : INFINITY;
            return AK_CONV_OK;
        }
        if (ieq(w, k, "nan")) {
            *out = NAN;
            return AK_CONV_OK;
        }
    }
    dec_t d;
    if (!split_decimal(s, n, &d))
        return AK_CONV_SYNTAX;
    /* Clinger's fast path */
    if (d.in + d.fn <= 19) {
        uint64_t m = 0;
        for (size_t k = 0; k < d.in + d.fn; k++)
            m = m * 10 + (uint64_t)dig(&d, k);
        long e = d.exp - (long)d.fn;
        if (m <= (UINT64_C(1) << 53) && e >= -22 && e <= 22) {
            double v = (double)m;
            v = e < 0 ? v / pow10_exact[-e] : v * pow10_exact[e];
            *out = d.neg ? -v : v;
            return AK_CONV_OK;
        }
        if (m == 0) {
            *out = d.neg ? -0.0 : 0.0;
            return AK_CONV_OK;
        }
    }
    char buf[1024];
    if (n >= sizeof buf) {
        return AK_CONV_RANGE; /* a 1 KB number literal: refused, not guessed */
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *endp;
    double v = strtod(buf, &endp);
    if (endp != buf + n)
        return AK_CONV_SYNTAX;
    if (isinf(v))
        return AK_CONV_RANGE;
    *out = v;
    return AK_CONV_OK;
}

int ak_conv_bool(const char *s, size_t n, bool *out)
{
    trim(&s, &n);
    static const char *const yes[] = {"true", "t", "1", "yes"};
    static const char *const no[] = {"false", "f", "0", "no"};
    for (size_t i = 0; i < 4; i++) {
        if (ieq(s, n, yes[i])) {
            *out = true;
            return AK_CONV_OK;
        }
        if (ieq(s, n, no[i])) {
            *out = false;
            return AK_CONV_OK;
        }
    }
    return AK_CONV_SYNTAX;
}

__attribute__((always_inline)) static inline int two(const char *s)
{
    unsigned a = (unsigned)(unsigned char)s[0] - '0', b = (unsigned)(unsigned char)s[1] - '0';
    return (a > 9 || b > 9) ? -1 : (int)(a * 10 + b);
}

int ak_ts_parse_fast(const char *s, size_t n, int64_t *us)
{
    if (n == 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' &&
        s[19] == '.' && s[23] == 'Z') {
        int y1 = two(s), y2 = two(s + 2), mo = two(s + 5), dd = two(s + 8), hh = two(s + 11),
            mi = two(s + 14), ss = two(s + 17), f1 = two(s + 20);
        unsigned f2 = (unsigned)(unsigned char)s[22] - '0';
        if ((y1 | y2 | mo | dd | hh | mi | ss | f1) >= 0 && f2 <= 9 && mo >= 1 && mo <= 12 &&
            dd >= 1 && hh <= 23 && mi <= 59 && ss <= 59) {
            static const unsigned char dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
            int y = y1 * 100 + y2;
            unsigned lim = dim[mo - 1] + (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
            if ((unsigned)dd <= lim) {
                int64_t days = ak_days_from_civil(y, (unsigned)mo, (unsigned)dd);
                *us = days * AK_US_PER_DAY + ((int64_t)(hh * 60 + mi) * 60 + ss) * AK_US_PER_SEC +
                      (int64_t)(f1 * 10 + (int)f2) * 1000;
                return 0;
            }
            return -1;
        }
    }
    return ak_ts_parse(s, n, us);
}

bool ak_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str, *e = s + n;
    while (s < e) {
        /* ASCII runs, 8 bytes at a time */
        while (e - s >= 8) {
            uint64_t w;
            memcpy(&w, s, 8);
            if (w & UINT64_C(0x8080808080808080))
                break;
            s += 8;
        }
        if (s >= e)
            break;
        unsigned c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(e - s) < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        s += len;
    }
    return true;
}

int ak_convert_text(ak_type_t t, const char *s, size_t n, ak_val_t *out)
{
    int rc;
    switch (t) {
    case AK_TEXT:
        if (!ak_utf8_valid(s, n))
            return AK_CONV_SYNTAX;
        *out = ak_v_text(s, n);
        return AK_CONV_OK;
    case AK_INT: {
        int64_t i;
        if ((rc = ak_conv_int64(s, n, &i)) == 0)
            *out = ak_v_int(i);
        return rc;
    }
    case AK_DOUBLE:
    case AK_FLOAT: {
        double d;
        if ((rc = ak_conv_double(s, n, &d)) != 0)
            return rc;
        if (t == AK_FLOAT) {
            if (isfinite(d) && !isfinite((float)d))
                return AK_CONV_RANGE;
            *out = ak_v_float(d);
        } else {
            *out = ak_v_double(d);
        }
        return AK_CONV_OK;
    }
    case AK_BOOL: {
        bool b;
        if ((rc = ak_conv_bool(s, n, &b)) == 0)
            *out = ak_v_bool(b);
        return rc;
    }
    case AK_DATE: {
        int64_t days;
        if (ak_date_parse(s, n, &days) != 0)
            return AK_CONV_SYNTAX;
        *out = ak_v_date(days);
        return AK_CONV_OK;
    }
    case AK_TIMESTAMP: {
        int64_t us;
        if (ak_ts_parse_fast(s, n, &us) != 0)
            return AK_CONV_SYNTAX;
        *out = ak_v_ts(us);
        return AK_CONV_OK;
    }
    default:
        return AK_CONV_SYNTAX;
    }
}

char *ak_quote_for_msg(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0, i = 0;
    if (cap < 8) {
        if (cap)
            out[0] = '\0';
        return out;
    }
    size_t lim = cap - 8 < 60 ? cap - 8 : 60;
    while (i < n && o < lim) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '`') {
            out[o++] = (char)c;
            i++;
            continue;
        }
        if (c >= 0x80) {
            /* keep well-formed multi-byte characters as they are */
            size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (len > 1 && i + len <= n && o + len <= lim && ak_utf8_valid(s + i, len)) {
                memcpy(out + o, s + i, len);
                o += len;
                i += len;
                continue;
            }
        }
        if (o + 4 > lim)
            break;
        snprintf(out + o, 5, "\\x%02X", c);
        o += 4;
        i++;
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

int ak_convert_fail(const ak_column_t *col, int rc, const char *s, size_t n, ak_err_t *err)
{
    char q[96];
    ak_quote_for_msg(q, sizeof q, s, n);
    const char *tn = ak_type_name(col->type);
    if (col->type == AK_TEXT)
        return ak_errf(err, AK_E_TYPE, "column `%s`: text `%s` is not valid UTF-8", col->name, q);
    if (col->type == AK_INTERVAL)
        return ak_errf(err, AK_E_UNSUPPORTED,
                       "column `%s`: INTERVAL values cannot be read from input data; declare the column "
                       "as VARCHAR or BIGINT",
                       col->name);
    if (rc == AK_CONV_FRACTION)
        return ak_errf(err, AK_E_TYPE, "column `%s`: cannot read `%s` as %s (not an integer)", col->name,
                       q, tn);
    if (rc == AK_CONV_RANGE)
        return ak_errf(err, AK_E_RANGE, "column `%s`: cannot read `%s` as %s (out of range)", col->name, q,
                       tn);
    return ak_errf(err, AK_E_TYPE, "column `%s`: cannot read `%s` as %s", col->name, q, tn);
}

int ak_convert(const ak_column_t *col, const char *s, size_t n, ak_val_t *out, ak_err_t *err)
{
    int rc = ak_convert_text(col->type, s, n, out);
    return rc == AK_CONV_OK ? 0 : ak_convert_fail(col, rc, s, n, err);
}
