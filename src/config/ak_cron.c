/* ak_cron.c - 5-field cron parsing, next-fire computation, durations.
 *
 * The parser is a small hand-written scanner over one field at a time so an
 * error can point at the exact character; matching sets are bitmasks.
 */
#include "ak_cron.h"

#include "ak_suggest.h"
#include "ak_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct field_spec {
    const char *what;    /* "minute", ... for messages */
    unsigned lo, hi;     /* accepted numbers */
    const char *const *names; /* names[i] is value lo+i (NULL: numbers only) */
    unsigned n_names;
} field_spec_t;

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const wday_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

static const field_spec_t fields[5] = {
    {"minute", 0, 59, NULL, 0},
    {"hour", 0, 23, NULL, 0},
    {"day of month", 1, 31, NULL, 0},
    {"month", 1, 12, month_names, 12},
    {"day of week", 0, 7, wday_names, 7},
};

typedef struct cron_parser {
    const char *expr;
    const char *p;       /* cursor */
    const char *bad;     /* where the problem is */
    ak_err_t *err;
} cron_parser_t;

static int fail(cron_parser_t *cp, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(cron_parser_t *cp, const char *at, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    cp->bad = at;
    return ak_errf(cp->err, AK_E_CONFIG, "invalid cron schedule `%.200s`: %s", cp->expr, why);
}

static bool is_sep(char c) { return c == ' ' || c == '\t'; }
static bool at_item_end(char c) { return c == '\0' || is_sep(c) || c == ','; }

/* A number or (for month/weekday) a name; *v is the value. */
static int parse_value(cron_parser_t *cp, const field_spec_t *f, unsigned *v)
{
    const char *s = cp->p;
    if (*s >= '0' && *s <= '9') {
        unsigned long n = 0;
        while (*cp->p >= '0' && *cp->p <= '9') {
            if (n < 1000)
                n = n * 10 + (unsigned)(*cp->p - '0');
            cp->p++;
        }
        if (n < f->lo || n > f->hi)
            return fail(cp, s, "%s `%.*s` is out of range %u-%u", f->what, (int)(cp->p - s), s,
                        f->lo, f->hi);
        *v = (unsigned)n;
        return 0;
    }
    if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
        while ((*cp->p >= 'A' && *cp->p <= 'Z') || (*cp->p >= 'a' && *cp->p <= 'z'))
            cp->p++;
        size_t n = (size_t)(cp->p - s);
        if (!f->names)
            return fail(cp, s, "%s must be a number, got `%.*s`", f->what, (int)n, s);
        for (unsigned i = 0; i < f->n_names; i++)
            if (n == 3 && strncasecmp(s, f->names[i], 3) == 0) {
                *v = f->lo + i;
                return 0;
            }
        char word[AK_SUGGEST_MAX + 1];
        size_t wn = n < AK_SUGGEST_MAX ? n : AK_SUGGEST_MAX;
        memcpy(word, s, wn);
        word[wn] = '\0';
        for (size_t i = 0; i < wn; i++)
            if (word[i] >= 'a' && word[i] <= 'z')
                word[i] = (char)(word[i] - 'a' + 'A');
        const char *sug = ak_suggest(word, f->names, f->n_names);
        if (sug)
            return fail(cp, s, "unknown %s name `%.*s`; did you mean `%s`?", f->what, (int)n, s, sug);
        return fail(cp, s, "unknown %s name `%.*s` (expected %s-%s)", f->what, (int)n, s, f->names[0],
                    f->names[f->n_names - 1]);
    }
    if (*s == '\0' || is_sep(*s))
        return fail(cp, s, "%s field ends where a value was expected", f->what);
    return fail(cp, s, "unexpected `%c` in the %s field", *s, f->what);
}

/* One field: comma-separated items of `*`, `v`, `a-b`, each with `/step`. */
static int parse_field(cron_parser_t *cp, const field_spec_t *f, uint64_t *bits, bool *star)
{
    *bits = 0;
    *star = *cp->p == '*';
    for (;;) {
        const char *item = cp->p;
        unsigned lo, hi, step = 1;
        bool range = false;
        if (*cp->p == '*') {
            cp->p++;
            lo = f->lo;
            hi = f->hi == 7 ? 6 : f->hi;
            range = true;
        } else {
            if (parse_value(cp, f, &lo))
                return -1;
            hi = lo;
            if (*cp->p == '-') {
                cp->p++;
                if (parse_value(cp, f, &hi))
                    return -1;
                range = true;
                if (hi < lo && !(f->hi == 7 && hi == 0))
                    return fail(cp, item, "%s range `%.*s` goes backwards", f->what,
                                (int)(cp->p - item), item);
                if (f->hi == 7 && hi == 0 && lo > 0)
                    hi = 7; /* "5-0": Friday to Sunday */
            }
        }
        if (*cp->p == '/') {
            cp->p++;
            const char *s = cp->p;
            unsigned long n = 0;
            while (*cp->p >= '0' && *cp->p <= '9') {
                if (n < 1000)
                    n = n * 10 + (unsigned)(*cp->p - '0');
                cp->p++;
            }
            if (cp->p == s)
                return fail(cp, s, "a step `/` must be followed by a number");
            if (n == 0)
                return fail(cp, s, "a step must be at least 1");
            step = n > 100 ? 100 : (unsigned)n;
            if (!range)
                hi = f->hi == 7 ? 6 : f->hi; /* "5/15": from 5 to the end */
        }
        if (!at_item_end(*cp->p))
            return fail(cp, cp->p, "unexpected `%c` in the %s field", *cp->p, f->what);
        for (unsigned v = lo; v <= hi; v += step)
            *bits |= UINT64_C(1) << (f->hi == 7 && v == 7 ? 0 : v);
        if (*cp->p != ',')
            return 0;
        cp->p++;
    }
}

static const struct {
    const char *name;
    const char *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
static unsigned days_in(int64_t y, unsigned m)
{
    static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* With the AND rule and a restricted day of month, some month must have one
 * of the days ("0 0 30 2 *" never fires). */
static bool can_fire(const ak_cron_t *c)
{
    if (c->mday_star || !c->wday_star)
        return true;
    static const unsigned maxd[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (unsigned m = 1; m <= 12; m++)
        if (c->months & (1u << m))
            for (unsigned d = 1; d <= maxd[m - 1]; d++)
                if (c->mdays & (1u << d))
                    return true;
    return false;
}

int ak_cron_parse_at(const char *expr, ak_cron_t *out, size_t *bad_offset, ak_err_t *err)
{
    cron_parser_t cp = {expr, expr, NULL, err};
    const char *s = expr;
    memset(out, 0, sizeof *out);
    while (is_sep(*s))
        s++;
    if (*s == '@') {
        const char *e = s;
        while (*e && !is_sep(*e))
            e++;
        const char *t = e;
        while (is_sep(*t))
            t++;
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
            if (strlen(macros[i].name) == (size_t)(e - s) && strncasecmp(s, macros[i].name, (size_t)(e - s)) == 0) {
                if (*t) {
                    fail(&cp, t, "nothing may follow `%s`", macros[i].name);
                    goto bad;
                }
                return ak_cron_parse_at(macros[i].expr, out, bad_offset, NULL);
            }
        fail(&cp, s, "unknown shorthand `%.*s` (expected @yearly, @monthly, @weekly, @daily or @hourly)",
             (int)(e - s > 40 ? 40 : e - s), s);
        goto bad;
    }
    cp.p = s;
    uint64_t bits[5];
    bool star[5];
    for (int i = 0; i < 5; i++) {
        while (is_sep(*cp.p))
            cp.p++;
        if (!*cp.p) {
            fail(&cp, cp.p, "expected 5 fields (minute hour day-of-month month day-of-week), got %d", i);
            goto bad;
        }
        if (parse_field(&cp, &fields[i], &bits[i], &star[i]))
            goto bad;
    }
    while (is_sep(*cp.p))
        cp.p++;
    if (*cp.p) {
        fail(&cp, cp.p, "expected 5 fields (minute hour day-of-month month day-of-week), got more");
        goto bad;
    }
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->mdays = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->wdays = (uint8_t)bits[4];
    out->mday_star = star[2];
    out->wday_star = star[4];
    if (!can_fire(out)) {
        fail(&cp, expr, "it never fires (no selected month has the selected days)");
        goto bad;
    }
    return 0;
bad:
    if (bad_offset)
        *bad_offset = (size_t)(cp.bad - expr);
    return -1;
}

int ak_cron_parse(const char *expr, ak_cron_t *out, ak_err_t *err)
{
    return ak_cron_parse_at(expr, out, NULL, err);
}

static bool day_matches(const ak_cron_t *c, int64_t days, unsigned d)
{
    int64_t w = days + 4; /* 1970-01-01 was a Thursday */
    unsigned wd = (unsigned)(w - ak_floordiv(w, 7) * 7);
    bool dm = (c->mdays >> d) & 1, wm = (c->wdays >> wd) & 1;
    return (c->mday_star || c->wday_star) ? (dm && wm) : (dm || wm);
}

int64_t ak_cron_next(const ak_cron_t *c, int64_t after_us)
{
    /* years 1..9000 keep every product below far from int64 overflow */
    static const int64_t min_us = INT64_C(-62135596800) * AK_US_PER_SEC;
    static const int64_t max_us = INT64_C(221845392000) * AK_US_PER_SEC;
    if (after_us < min_us || after_us > max_us || !c->minutes || !c->hours || !c->months)
        return -1;
    int64_t t = ak_floordiv(after_us, AK_US_PER_MIN) + 1; /* minutes since the epoch */
    int64_t days = ak_floordiv(t, 1440);
    unsigned mod = (unsigned)(t - days * 1440), hour = mod / 60, min = mod % 60;
    int64_t y;
    unsigned m, d;
    ak_civil_from_days(days, &y, &m, &d);
    int64_t limit = y + 30;
    for (;;) {
        if (y > limit)
            return -1;
        if (!((c->months >> m) & 1)) {
            d = 1, hour = 0, min = 0;
            if (++m > 12)
                m = 1, y++;
            continue;
        }
        days = ak_days_from_civil(y, m, d);
        if (!day_matches(c, days, d)) {
            hour = 0, min = 0;
            if (++d > days_in(y, m)) {
                d = 1;
                if (++m > 12)
                    m = 1, y++;
            }
            continue;
        }
        if (!((c->hours >> hour) & 1)) {
            min = 0;
            if (++hour > 23) {
                hour = 0;
                if (++d > days_in(y, m)) {
                    d = 1;
                    if (++m > 12)
                        m = 1, y++;
                }
            }
            continue;
        }
        if (!((c->minutes >> min) & 1)) {
            if (++min > 59) {
                min = 0;
                if (++hour > 23) {
                    hour = 0;
                    if (++d > days_in(y, m)) {
                        d = 1;
                        if (++m > 12)
                            m = 1, y++;
                    }
                }
            }
            continue;
        }
        return ((days * 24 + hour) * 60 + min) * AK_US_PER_MIN;
    }
}

/* ---- durations ---- */

static const struct {
    const char *name;
    int64_t us;
} dur_units[] = {
    {"us", 1}, {"ms", 1000}, {"s", AK_US_PER_SEC}, {"m", AK_US_PER_MIN},
    {"h", AK_US_PER_HOUR}, {"d", AK_US_PER_DAY}, {"w", 7 * AK_US_PER_DAY},
};

int ak_parse_duration(const char *s, int64_t *us, ak_err_t *err)
{
    const char *p = s;
    int64_t total = 0;
    bool any = false;
    while (*p == ' ')
        p++;
    if (!*p)
        goto bad;
    while (*p && *p != ' ') {
        if (!(*p >= '0' && *p <= '9'))
            goto bad;
        int64_t ip = 0, frac = 0, scale = 1;
        while (*p >= '0' && *p <= '9') {
            if (ip > INT64_MAX / 10 - 10)
                goto range;
            ip = ip * 10 + (*p++ - '0');
        }
        if (*p == '.') {
            p++;
            if (!(*p >= '0' && *p <= '9'))
                goto bad;
            while (*p >= '0' && *p <= '9') {
                if (scale < INT64_C(1000000000)) {
                    frac = frac * 10 + (*p - '0');
                    scale *= 10;
                }
                p++;
            }
        }
        int64_t unit = AK_US_PER_SEC;
        const char *u = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
            p++;
        if (p > u) {
            unit = 0;
            for (size_t i = 0; i < sizeof dur_units / sizeof dur_units[0]; i++)
                if (strlen(dur_units[i].name) == (size_t)(p - u) && strncmp(u, dur_units[i].name, (size_t)(p - u)) == 0)
                    unit = dur_units[i].us;
            if (!unit)
                goto bad;
        } else if (any) {
            goto bad; /* "1h30": the last number needs its unit too */
        }
        if (ip > INT64_MAX / unit)
            goto range;
        int64_t v = ip * unit;
        /* frac/scale of a unit, exactly when the unit allows it */
        int64_t fv = (unit % scale == 0) ? frac * (unit / scale) : (int64_t)((double)frac * (double)unit / (double)scale);
        if (v > INT64_MAX - fv || total > INT64_MAX - v - fv)
            goto range;
        total += v + fv;
        any = true;
    }
    while (*p == ' ')
        p++;
    if (*p)
        goto bad;
    *us = total;
    return 0;
bad:
    return ak_errf(err, AK_E_CONFIG,
                   "invalid duration `%.100s`: expected a whole number of seconds or a number with a unit "
                   "(us, ms, s, m, h, d, w) such as `90s`, `5m`, `1h30m`", s);
range:
    return ak_errf(err, AK_E_CONFIG, "duration `%.100s` is too long", s);
}

size_t ak_format_duration(int64_t us, char *out)
{
    size_t n = 0;
    if (us < 0) {
        out[n++] = '-';
        us = us == INT64_MIN ? INT64_MAX : -us;
    }
    if (us == 0) {
        memcpy(out + n, "0s", 3);
        return n + 2;
    }
    for (size_t i = sizeof dur_units / sizeof dur_units[0]; i-- > 0;) {
        if (dur_units[i].us == 7 * AK_US_PER_DAY)
            continue; /* "14d" reads better than "2w" */
        int64_t k = us / dur_units[i].us;
        if (k) {
            n += (size_t)snprintf(out + n, AK_DURATION_BUF - n, "%lld%s", (long long)k, dur_units[i].name);
            us -= k * dur_units[i].us;
        }
    }
    return n;
}
