/* ak_value.c - comparison, hashing and text rendering of values. */
#include "ak_value.h"

#include "ak_time.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[AK_TYPE__COUNT] = {
    [AK_NULL] = "NULL",      [AK_BOOL] = "BOOLEAN",     [AK_INT] = "BIGINT",
    [AK_FLOAT] = "FLOAT",    [AK_DOUBLE] = "DOUBLE",    [AK_TEXT] = "VARCHAR",
    [AK_DATE] = "DATE",      [AK_TIMESTAMP] = "TIMESTAMP", [AK_INTERVAL] = "INTERVAL",
};

const char *ak_type_name(ak_type_t t) { return t < AK_TYPE__COUNT ? type_names[t] : "?"; }

ak_type_t ak_type_parse(const char *s, size_t n)
{
    static const struct {
        const char *name;
        ak_type_t t;
    } names[] = {
        {"string", AK_TEXT},      {"text", AK_TEXT},           {"varchar", AK_TEXT},
        {"char", AK_TEXT},        {"bpchar", AK_TEXT},         {"uuid", AK_TEXT},
        {"json", AK_TEXT},        {"int", AK_INT},             {"integer", AK_INT},
        {"bigint", AK_INT},       {"smallint", AK_INT},        {"tinyint", AK_INT},
        {"long", AK_INT},         {"int2", AK_INT},            {"int4", AK_INT},
        {"int8", AK_INT},         {"hugeint", AK_INT},         {"ubigint", AK_INT},
        {"uinteger", AK_INT},     {"float", AK_FLOAT},         {"real", AK_FLOAT},
        {"float4", AK_FLOAT},     {"double", AK_DOUBLE},       {"float8", AK_DOUBLE},
        {"decimal", AK_DOUBLE},   {"numeric", AK_DOUBLE},      {"number", AK_DOUBLE},
        {"bool", AK_BOOL},        {"boolean", AK_BOOL},        {"date", AK_DATE},
        {"timestamp", AK_TIMESTAMP}, {"datetime", AK_TIMESTAMP}, {"timestamptz", AK_TIMESTAMP},
        {"timestamp_us", AK_TIMESTAMP}, {"timestamp_ms", AK_TIMESTAMP},
        {"interval", AK_INTERVAL},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && strncasecmp(names[i].name, s, n) == 0)
            return names[i].t;
    return AK_NULL;
}

static int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }
static int cmp_f64(double a, double b)
{
    /* NaN sorts above everything, equal to itself (DuckDB's total order) */
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}

static double num(const ak_val_t *v) { return v->type == AK_INT ? (double)v->i : v->d; }

/* Compares an int64 with a double exactly (no rounding of large ints). */
static int cmp_int_double(int64_t i, double d)
{
    if (isnan(d))
        return -1;
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    double t = trunc(d);
    int64_t di = (int64_t)t;
    if (i != di)
        return i < di ? -1 : 1;
    return t < d ? -1 : (t > d ? 1 : 0);
}

int ak_val_cmp(const ak_val_t *a, const ak_val_t *b)
{
    if (a->type == b->type) {
        switch (a->type) {
        case AK_TEXT: {
            uint32_t n = a->n < b->n ? a->n : b->n;
            int c = n ? memcmp(a->s, b->s, n) : 0;
            return c ? (c < 0 ? -1 : 1) : cmp_i64(a->n, b->n);
        }
        case AK_FLOAT:
        case AK_DOUBLE: return cmp_f64(a->d, b->d);
        case AK_INTERVAL: {
            /* normalise months as 30 days, as SQL engines order intervals */
            int64_t x = a->i + (int64_t)(int32_t)a->n * 30 * AK_US_PER_DAY;
            int64_t y = b->i + (int64_t)(int32_t)b->n * 30 * AK_US_PER_DAY;
            return cmp_i64(x, y);
        }
        default: return cmp_i64(a->i, b->i);
        }
    }
    if (a->type == AK_INT && (b->type == AK_DOUBLE || b->type == AK_FLOAT))
        return cmp_int_double(a->i, b->d);
    if (b->type == AK_INT && (a->type == AK_DOUBLE || a->type == AK_FLOAT))
        return -cmp_int_double(b->i, a->d);
    if (ak_type_is_numeric(a->type) && ak_type_is_numeric(b->type))
        return cmp_f64(num(a), num(b));
    if (a->type == AK_DATE && b->type == AK_TIMESTAMP)
        return cmp_i64(a->i * AK_US_PER_DAY, b->i);
    if (a->type == AK_TIMESTAMP && b->type == AK_DATE)
        return cmp_i64(a->i, b->i * AK_US_PER_DAY);
    if (a->type == AK_NULL || b->type == AK_NULL)
        return (a->type != AK_NULL) - (b->type != AK_NULL);
    /* incomparable types (the binder prevents this): order by type tag */
    return cmp_i64(a->type, b->type);
}

bool ak_val_eq_group(const ak_val_t *a, const ak_val_t *b)
{
    if (a->type == AK_NULL || b->type == AK_NULL)
        return a->type == b->type;
    if (a->type == b->type) {
        switch (a->type) {
        case AK_TEXT: return a->n == b->n && (a->n == 0 || memcmp(a->s, b->s, a->n) == 0);
        case AK_FLOAT:
        case AK_DOUBLE: return cmp_f64(a->d, b->d) == 0;
        case AK_INTERVAL: return a->i == b->i && a->n == b->n;
        default: return a->i == b->i;
        }
    }
    return ak_val_cmp(a, b) == 0;
}

/* A small, fast 64-bit hash for byte strings (wyhash-style mixing). */
static inline uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint64_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t ak_hash_bytes(const void *data, size_t n, uint64_t seed)
{
    const uint8_t *p = data;
    const uint64_t k0 = UINT64_C(0xa0761d6478bd642f), k1 = UINT64_C(0xe7037ed1a0b428db),
                   k2 = UINT64_C(0x8ebc6af09c88c6e3);
    uint64_t h = seed ^ mum(seed ^ k0, k1) ^ n;
    uint64_t a, b;
    if (n <= 16) {
        if (n >= 4) {
            a = (rd32(p) << 32) | rd32(p + ((n >> 3) << 2));
            b = (rd32(p + n - 4) << 32) | rd32(p + n - 4 - ((n >> 3) << 2));
        } else if (n > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = n;
        while (i > 16) {
            h = mum(rd64(p) ^ k1, rd64(p + 8) ^ h);
            p += 16;
            i -= 16;
        }
        a = rd64(p + i - 16);
        b = rd64(p + i - 8);
    }
    return mum(k1 ^ n, mum(a ^ k1, b ^ h) ^ k2);
}

uint64_t ak_val_hash(const ak_val_t *v, uint64_t seed)
{
    switch (v->type) {
    case AK_NULL: return ak_hash_u64(seed ^ 0x6e756c6cu);
    case AK_TEXT: return ak_hash_bytes(v->s, v->n, seed);
    case AK_FLOAT:
    case AK_DOUBLE: {
        double d = v->d;
        if (d == trunc(d) && fabs(d) < 9.2e18)
            return ak_hash_u64(seed ^ (uint64_t)(int64_t)d); /* as the equal INT */
        if (d == 0)
            d = 0; /* -0.0 == 0.0 */
        uint64_t bits;
        memcpy(&bits, &d, 8);
        return ak_hash_u64(seed ^ bits ^ 0xd0u);
    }
    case AK_DATE: return ak_hash_u64(seed ^ (uint64_t)(v->i * AK_US_PER_DAY));
    case AK_INTERVAL: return ak_hash_u64(seed ^ (uint64_t)v->i ^ ((uint64_t)v->n << 40));
    default: return ak_hash_u64(seed ^ (uint64_t)v->i);
    }
}

size_t ak_fmt_double(double d, char *out, size_t cap)
{
    if (isnan(d))
        return (size_t)snprintf(out, cap, "nan");
    if (isinf(d))
        return (size_t)snprintf(out, cap, d < 0 ? "-inf" : "inf");
    if (d == 0)
        return (size_t)snprintf(out, cap, signbit(d) ? "-0.0" : "0.0");
    /* shortest significant digits that read back exactly, then laid out as
     * Python's repr does: fixed notation for exponents in [-4, 16) */
    char tmp[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    if (prec > 17)
        prec = 17;
    const char *e = strchr(tmp, 'e');
    int exp10 = e ? atoi(e + 1) : 0;
    if (exp10 >= -4 && exp10 < 16) {
        int decimals = prec - 1 - exp10;
        if (decimals < 1)
            decimals = 1;
        int n = snprintf(out, cap, "%.*f", decimals, d);
        /* %.Nf may show more digits than needed when decimals was forced to 1 */
        return (size_t)n;
    }
    /* scientific: mantissa digits without trailing zeros, exponent without padding */
    char mant[32];
    snprintf(mant, sizeof mant, "%.*s", (int)(e - tmp), tmp);
    return (size_t)snprintf(out, cap, "%se%s%02d", mant, exp10 < 0 ? "-" : "+", exp10 < 0 ? -exp10 : exp10);
}

size_t ak_fmt_double_js(double d, char *out, size_t cap)
{
    if (isnan(d) || isinf(d))
        return (size_t)snprintf(out, cap, "null");
    if (d == 0)
        return (size_t)snprintf(out, cap, "0");
    char tmp[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    if (prec > 17)
        prec = 17;
    /* digits without the point, and the decimal exponent n (value = 0.d1d2.. x 10^n) */
    char digits[32];
    int k = 0;
    bool neg = tmp[0] == '-';
    for (const char *p = tmp + neg; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    int n = atoi(strchr(tmp, 'e') + 1) + 1;
    size_t o = 0;
    if (neg && o + 1 < cap)
        out[o++] = '-';
    if (k <= n && n <= 21) {
        o += (size_t)snprintf(out + o, cap - o, "%s%0*d", digits, n - k, 0);
        /* %0*d with 0 width prints "0": trim it when no zeros are needed */
        if (n == k)
            out[--o] = '\0';
    } else if (0 < n && n <= 21) {
        o += (size_t)snprintf(out + o, cap - o, "%.*s.%s", n, digits, digits + n);
    } else if (-6 < n && n <= 0) {
        o += (size_t)snprintf(out + o, cap - o, "0.%0*d%s", -n, 0, digits);
        if (n == 0) {
            /* "0." + "" zeros: %0*d printed one '0' too many */
            memmove(out + o - k - 1, out + o - k, (size_t)k + 1);
            o--;
        }
    } else {
        int e = n - 1;
        if (k == 1)
            o += (size_t)snprintf(out + o, cap - o, "%se%c%d", digits, e < 0 ? '-' : '+', e < 0 ? -e : e);
        else
            o += (size_t)snprintf(out + o, cap - o, "%c.%se%c%d", digits[0], digits + 1, e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    return o;
}

bool ak_val_time_us(const ak_val_t *v, int64_t *us)
{
    if (v->type == AK_TIMESTAMP)
        *us = v->i;
    else if (v->type == AK_DATE)
        *us = v->i * AK_US_PER_DAY;
    else
        return false;
    return true;
}

void ak_val_to_text(const ak_val_t *v, ak_buf_t *out)
{
    char tmp[64];
    switch (v->type) {
    case AK_NULL: return;
    case AK_BOOL: ak_buf_puts(out, v->i ? "true" : "false"); return;
    case AK_INT: ak_buf_printf(out, "%" PRId64, v->i); return;
    case AK_FLOAT: {
        /* shortest text that reads back as the same float32 */
        float f = (float)v->d;
        for (int prec = 1; prec <= 9; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, (double)f);
            if (strtof(tmp, NULL) == f)
                break;
        }
        if (!strpbrk(tmp, ".enN"))
            strcat(tmp, ".0");
        ak_buf_puts(out, tmp);
        return;
    }
    case AK_DOUBLE: ak_fmt_double(v->d, tmp, sizeof tmp); ak_buf_puts(out, tmp); return;
    case AK_TEXT: ak_buf_put(out, v->s, v->n); return;
    case AK_DATE: ak_date_format(v->i, tmp); ak_buf_puts(out, tmp); return;
    case AK_TIMESTAMP: ak_ts_format(v->i, tmp); ak_buf_puts(out, tmp); return;
    case AK_INTERVAL: {
        int32_t months = (int32_t)v->n;
        int64_t us = v->i;
        bool any = false;
        if (months / 12) { ak_buf_printf(out, "%d year%s", months / 12, months / 12 == 1 ? "" : "s"); any = true; }
        if (months % 12) { ak_buf_printf(out, "%s%d month%s", any ? " " : "", months % 12, months % 12 == 1 ? "" : "s"); any = true; }
        int64_t days = us / AK_US_PER_DAY;
        us -= days * AK_US_PER_DAY;
        if (days) { ak_buf_printf(out, "%s%" PRId64 " day%s", any ? " " : "", days, days == 1 ? "" : "s"); any = true; }
        if (us || !any) {
            bool neg = us < 0;
            if (neg)
                us = -us;
            ak_buf_printf(out, "%s%s%02" PRId64 ":%02" PRId64 ":%02" PRId64, any ? " " : "", neg ? "-" : "",
                          us / AK_US_PER_HOUR, us / AK_US_PER_MIN % 60, us / AK_US_PER_SEC % 60);
            if (us % AK_US_PER_SEC) {
                /* as DuckDB prints it: trailing zeros of the fraction dropped */
                char frac[8];
                snprintf(frac, sizeof frac, "%06" PRId64, us % AK_US_PER_SEC);
                int k = 6;
                while (k > 1 && frac[k - 1] == '0')
                    k--;
                ak_buf_printf(out, ".%.*s", k, frac);
            }
        }
        return;
    }
    default: return;
    }
}
