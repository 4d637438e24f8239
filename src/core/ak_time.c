/* ak_time.c - calendar arithmetic, ISO-8601 parsing/formatting, DATEDIFF,
 * DATE_TRUNC and EXTRACT on integer microseconds.  No libc time zone code is
 * involved: everything is UTC and proleptic Gregorian. */
#include "ak_time.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t ak_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void ak_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

static const struct {
    const char *name;
    ak_tunit_t unit;
} unit_names[] = {
    {"microsecond", AK_TU_MICROSECOND}, {"microseconds", AK_TU_MICROSECOND},
    {"us", AK_TU_MICROSECOND},          {"usec", AK_TU_MICROSECOND},
    {"usecs", AK_TU_MICROSECOND},       {"millisecond", AK_TU_MILLISECOND},
    {"milliseconds", AK_TU_MILLISECOND}, {"ms", AK_TU_MILLISECOND},
    {"msec", AK_TU_MILLISECOND},        {"msecs", AK_TU_MILLISECOND},
    {"second", AK_TU_SECOND},           {"seconds", AK_TU_SECOND},
    {"s", AK_TU_SECOND},                {"sec", AK_TU_SECOND},
    {"secs", AK_TU_SECOND},             {"minute", AK_TU_MINUTE},
    {"minutes", AK_TU_MINUTE},          {"m", AK_TU_MINUTE},
    {"min", AK_TU_MINUTE},              {"mins", AK_TU_MINUTE},
    {"hour", AK_TU_HOUR},               {"hours", AK_TU_HOUR},
    {"h", AK_TU_HOUR},                  {"hr", AK_TU_HOUR},
    {"hrs", AK_TU_HOUR},                {"day", AK_TU_DAY},
    {"days", AK_TU_DAY},                {"d", AK_TU_DAY},
    {"dayofmonth", AK_TU_DAY},          {"week", AK_TU_WEEK},
    {"weeks", AK_TU_WEEK},              {"w", AK_TU_WEEK},
    {"weekofyear", AK_TU_WEEK},         {"month", AK_TU_MONTH},
    {"months", AK_TU_MONTH},            {"mon", AK_TU_MONTH},
    {"mons", AK_TU_MONTH},              {"quarter", AK_TU_QUARTER},
    {"quarters", AK_TU_QUARTER},        {"year", AK_TU_YEAR},
    {"years", AK_TU_YEAR},              {"y", AK_TU_YEAR},
    {"yr", AK_TU_YEAR},                 {"yrs", AK_TU_YEAR},
    {"decade", AK_TU_DECADE},           {"decades", AK_TU_DECADE},
    {"dec", AK_TU_DECADE},              {"decs", AK_TU_DECADE},
    {"century", AK_TU_CENTURY},         {"centuries", AK_TU_CENTURY},
    {"cent", AK_TU_CENTURY},            {"c", AK_TU_CENTURY},
    {"millennium", AK_TU_MILLENNIUM},   {"millennia", AK_TU_MILLENNIUM},
    {"mil", AK_TU_MILLENNIUM},          {"dow", AK_TU_DOW},
    {"dayofweek", AK_TU_DOW},           {"weekday", AK_TU_DOW},
    {"isodow", AK_TU_ISODOW},           {"doy", AK_TU_DOY},
    {"dayofyear", AK_TU_DOY},           {"epoch", AK_TU_EPOCH},
    {"isoyear", AK_TU_ISOYEAR},
};

ak_tunit_t ak_tunit_parse(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof unit_names / sizeof unit_names[0]; i++)
        if (strlen(unit_names[i].name) == n && strncasecmp(unit_names[i].name, s, n) == 0)
            return unit_names[i].unit;
    return AK_TU_INVALID;
}

const char *ak_tunit_name(ak_tunit_t u)
{
    for (size_t i = 0; i < sizeof unit_names / sizeof unit_names[0]; i++)
        if (unit_names[i].unit == u)
            return unit_names[i].name;
    return "?";
}

/* Reads exactly `w` digits. */
static bool digits(const char *s, size_t n, size_t *i, int w, int64_t *out)
{
    int64_t v = 0;
    for (int k = 0; k < w; k++) {
        if (*i >= n || !isdigit((unsigned char)s[*i]))
            return false;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return true;
}

static bool parse_date_part(const char *s, size_t n, size_t *i, int64_t *days)
{
    int64_t y, mo, d;
    if (!digits(s, n, i, 4, &y) || *i >= n || s[*i] != '-')
        return false;
    (*i)++;
    if (!digits(s, n, i, 2, &mo) || *i >= n || s[*i] != '-')
        return false;
    (*i)++;
    if (!digits(s, n, i, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo))
        return false;
    *days = ak_days_from_civil(y, (unsigned)mo, (unsigned)d);
    return true;
}

int ak_ts_parse(const char *s, size_t n, int64_t *us)
{
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    int64_t days, hh = 0, mi = 0, ss = 0, frac = 0;
    if (!parse_date_part(s, n, &i, &days))
        return -1;
    if (i < n && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
        i++;
        if (!digits(s, n, &i, 2, &hh) || i >= n || s[i] != ':')
            return -1;
        i++;
        if (!digits(s, n, &i, 2, &mi))
            return -1;
        if (i < n && s[i] == ':') {
            i++;
            if (!digits(s, n, &i, 2, &ss))
                return -1;
            if (i < n && (s[i] == '.' || s[i] == ',')) {
                i++;
                int nd = 0;
                while (i < n && isdigit((unsigned char)s[i])) {
                    if (nd < 6)
                        frac = frac * 10 + (s[i] - '0');
                    nd++;
                    i++;
                }
                if (nd == 0)
                    return -1;
                for (; nd < 6; nd++)
                    frac *= 10;
            }
        }
        if (hh > 23 || mi > 59 || ss > 59)
            return -1;
    }
    int64_t off = 0;
    if (i < n && s[i] == ' ')
        i++;
    if (i < n) {
        if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
            i++;
        } else if (n - i == 3 && strncasecmp(s + i, "UTC", 3) == 0) {
            i += 3;
        } else if (s[i] == '+' || s[i] == '-') {
            int sign = s[i++] == '-' ? -1 : 1;
            int64_t oh, om = 0;
            if (!digits(s, n, &i, 2, &oh))
                return -1;
            if (i < n && s[i] == ':')
                i++;
            if (i < n && !digits(s, n, &i, 2, &om))
                return -1;
            if (oh > 18 || om > 59)
                return -1;
            off = sign * (oh * 3600 + om * 60) * AK_US_PER_SEC;
        } else {
            return -1;
        }
    }
    if (i != n)
        return -1;
    *us = days * AK_US_PER_DAY + ((hh * 60 + mi) * 60 + ss) * AK_US_PER_SEC + frac - off;
    return 0;
}

int ak_date_parse(const char *s, size_t n, int64_t *days)
{
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    size_t start = i;
    if (!parse_date_part(s, n, &i, days))
        return -1;
    if (i == n)
        return 0;
    /* a full timestamp is accepted; its date part is taken as written */
    int64_t us;
    return ak_ts_parse(s + start, n - start, &us);
}

static size_t put_date(int64_t days, char *o)
{
    int64_t y;
    unsigned m, d;
    ak_civil_from_days(days, &y, &m, &d);
    size_t k = 0;
    if (y < 0 || y > 9999) {
        /* rare: print as many digits as needed */
        char tmp[24];
        int len = 0;
        int64_t ay = y < 0 ? -y : y;
        do {
            tmp[len++] = (char)('0' + ay % 10);
            ay /= 10;
        } while (ay);
        while (len < 4)
            tmp[len++] = '0';
        if (y < 0)
            o[k++] = '-';
        while (len)
            o[k++] = tmp[--len];
    } else {
        o[k++] = (char)('0' + y / 1000);
        o[k++] = (char)('0' + y / 100 % 10);
        o[k++] = (char)('0' + y / 10 % 10);
        o[k++] = (char)('0' + y % 10);
    }
    o[k++] = '-';
    o[k++] = (char)('0' + m / 10);
    o[k++] = (char)('0' + m % 10);
    o[k++] = '-';
    o[k++] = (char)('0' + d / 10);
    o[k++] = (char)('0' + d % 10);
    return k;
}

size_t ak_date_format(int64_t days, char *out)
{
    size_t k = put_date(days, out);
    out[k] = '\0';
    return k;
}

size_t ak_ts_format(int64_t us, char *o)
{
    int64_t days = ak_floordiv(us, AK_US_PER_DAY);
    int64_t rem = us - days * AK_US_PER_DAY;
    size_t k = put_date(days, o);
    int64_t secs = rem / AK_US_PER_SEC, frac = rem % AK_US_PER_SEC;
    int hh = (int)(secs / 3600), mi = (int)(secs / 60 % 60), ss = (int)(secs % 60);
    o[k++] = 'T';
    o[k++] = (char)('0' + hh / 10);
    o[k++] = (char)('0' + hh % 10);
    o[k++] = ':';
    o[k++] = (char)('0' + mi / 10);
    o[k++] = (char)('0' + mi % 10);
    o[k++] = ':';
    o[k++] = (char)('0' + ss / 10);
    o[k++] = (char)('0' + ss % 10);
    if (frac) {
        int nd = frac % 1000 ? 6 : 3;
        int64_t f = nd == 6 ? frac : frac / 1000;
        o[k++] = '.';
        for (int i = nd - 1; i >= 0; i--) {
            o[k + (size_t)i] = (char)('0' + f % 10);
            f /= 10;
        }
        k += (size_t)nd;
    }
    o[k++] = 'Z';
    o[k] = '\0';
    return k;
}

static int64_t fixed_unit_us(ak_tunit_t u)
{
    switch (u) {
    case AK_TU_MICROSECOND: return 1;
    case AK_TU_MILLISECOND: return 1000;
    case AK_TU_SECOND: return AK_US_PER_SEC;
    case AK_TU_MINUTE: return AK_US_PER_MIN;
    case AK_TU_HOUR: return AK_US_PER_HOUR;
    case AK_TU_DAY: return AK_US_PER_DAY;
    default: return 0;
    }
}

/* Years are divided towards -inf for decade/century/millennium numbering. */
static int64_t year_bucket(int64_t y, int64_t span) { return ak_floordiv(y, span); }

int64_t ak_ts_trunc(ak_tunit_t u, int64_t us)
{
    int64_t f = fixed_unit_us(u);
    if (f)
        return ak_floordiv(us, f) * f;
    int64_t days = ak_floordiv(us, AK_US_PER_DAY), y;
    unsigned m, d;
    switch (u) {
    case AK_TU_WEEK: {
        /* 1970-01-01 was a Thursday; Monday-based weeks */
        int64_t dow = ((days % 7) + 7 + 3) % 7; /* 0 = Monday */
        return (days - dow) * AK_US_PER_DAY;
    }
    case AK_TU_MONTH:
        ak_civil_from_days(days, &y, &m, &d);
        return ak_days_from_civil(y, m, 1) * AK_US_PER_DAY;
    case AK_TU_QUARTER:
        ak_civil_from_days(days, &y, &m, &d);
        return ak_days_from_civil(y, (m - 1) / 3 * 3 + 1, 1) * AK_US_PER_DAY;
    case AK_TU_YEAR:
        ak_civil_from_days(days, &y, &m, &d);
        return ak_days_from_civil(y, 1, 1) * AK_US_PER_DAY;
    case AK_TU_DECADE:
        ak_civil_from_days(days, &y, &m, &d);
        return ak_days_from_civil(year_bucket(y, 10) * 10, 1, 1) * AK_US_PER_DAY;
    case AK_TU_CENTURY:
        ak_civil_from_days(days, &y, &m, &d);
        return ak_days_from_civil(year_bucket(y, 100) * 100, 1, 1) * AK_US_PER_DAY;
    case AK_TU_MILLENNIUM:
        ak_civil_from_days(days, &y, &m, &d);
        return ak_days_from_civil(year_bucket(y, 1000) * 1000, 1, 1) * AK_US_PER_DAY;
    default:
        return us;
    }
}

int64_t ak_ts_diff(ak_tunit_t u, int64_t a, int64_t b)
{
    int64_t f = fixed_unit_us(u);
    if (f)
        return ak_floordiv(b, f) - ak_floordiv(a, f);
    int64_t da = ak_floordiv(a, AK_US_PER_DAY), db = ak_floordiv(b, AK_US_PER_DAY);
    if (u == AK_TU_WEEK)
        return (db - da) / 7; /* DuckDB: whole 7-day spans of the day count */
    int64_t ya, yb;
    unsigned ma, mb, dd;
    ak_civil_from_days(da, &ya, &ma, &dd);
    ak_civil_from_days(db, &yb, &mb, &dd);
    switch (u) {
    case AK_TU_MONTH: return (yb * 12 + mb) - (ya * 12 + ma);
    case AK_TU_QUARTER: return (yb * 4 + (mb - 1) / 3) - (ya * 4 + (ma - 1) / 3);
    case AK_TU_YEAR: return yb - ya;
    case AK_TU_DECADE: return year_bucket(yb, 10) - year_bucket(ya, 10);
    case AK_TU_CENTURY: return year_bucket(yb, 100) - year_bucket(ya, 100);
    case AK_TU_MILLENNIUM: return year_bucket(yb, 1000) - year_bucket(ya, 1000);
    default: return 0;
    }
}

static int64_t iso_week_and_year(int64_t days, int64_t *isoyear)
{
    int64_t dow = ((days % 7) + 7 + 3) % 7; /* 0 = Monday */
    int64_t thursday = days - dow + 3;       /* the week's Thursday decides its year */
    int64_t y;
    unsigned m, d;
    ak_civil_from_days(thursday, &y, &m, &d);
    *isoyear = y;
    return (thursday - ak_days_from_civil(y, 1, 1)) / 7 + 1;
}

int64_t ak_ts_extract(ak_tunit_t u, int64_t us)
{
    int64_t days = ak_floordiv(us, AK_US_PER_DAY);
    int64_t rem = us - days * AK_US_PER_DAY, y, iy;
    unsigned m, d;
    ak_civil_from_days(days, &y, &m, &d);
    switch (u) {
    case AK_TU_MICROSECOND: return rem % AK_US_PER_MIN;
    case AK_TU_MILLISECOND: return rem % AK_US_PER_MIN / 1000;
    case AK_TU_SECOND: return rem / AK_US_PER_SEC % 60;
    case AK_TU_MINUTE: return rem / AK_US_PER_MIN % 60;
    case AK_TU_HOUR: return rem / AK_US_PER_HOUR;
    case AK_TU_DAY: return d;
    case AK_TU_WEEK: return iso_week_and_year(days, &iy);
    case AK_TU_ISOYEAR: iso_week_and_year(days, &iy); return iy;
    case AK_TU_MONTH: return m;
    case AK_TU_QUARTER: return (m - 1) / 3 + 1;
    case AK_TU_YEAR: return y;
    case AK_TU_DECADE: return ak_floordiv(y, 10);
    case AK_TU_CENTURY: return y > 0 ? (y - 1) / 100 + 1 : -((-y) / 100 + 1);
    case AK_TU_MILLENNIUM: return y > 0 ? (y - 1) / 1000 + 1 : -((-y) / 1000 + 1);
    case AK_TU_DOW: return ((days % 7) + 7 + 4) % 7; /* 0 = Sunday */
    case AK_TU_ISODOW: return ((days % 7) + 7 + 3) % 7 + 1;
    case AK_TU_DOY: return days - ak_days_from_civil(y, 1, 1) + 1;
    case AK_TU_EPOCH: return ak_floordiv(us, AK_US_PER_SEC);
    default: return 0;
    }
}

double ak_ts_epoch(int64_t us) { return (double)us / 1e6; }

int64_t ak_ts_add(int64_t us, int32_t months, int64_t micros)
{
    if (months) {
        int64_t days = ak_floordiv(us, AK_US_PER_DAY), rem = us - days * AK_US_PER_DAY, y;
        unsigned m, d;
        ak_civil_from_days(days, &y, &m, &d);
        int64_t total = y * 12 + (m - 1) + months;
        y = ak_floordiv(total, 12);
        m = (unsigned)(total - y * 12) + 1;
        unsigned dim = days_in_month(y, m);
        if (d > dim)
            d = dim;
        us = ak_days_from_civil(y, m, d) * AK_US_PER_DAY + rem;
    }
    return us + micros;
}

int64_t ak_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * AK_US_PER_SEC + ts.tv_nsec / 1000;
}

int64_t ak_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * AK_US_PER_SEC + ts.tv_nsec / 1000;
}

int64_t ak_now_us(const char **bad)
{
    const char *s = getenv("AKILI_NOW");
    if (bad)
        *bad = NULL;
    if (s && *s) {
        int64_t us;
        if (ak_ts_parse(s, strlen(s), &us) == 0)
            return us;
        if (bad)
            *bad = s;
        return -1;
    }
    return ak_wall_us();
}
