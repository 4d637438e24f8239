/* ak_json_scan.c - JSON syntax primitives (see ak_json_scan.h): string
 * ends and escapes, numbers, and an iterative skipper for any value. */
#include "ak_json_scan.h"

#include <stdio.h>
#include <string.h>

static inline unsigned hex4(const char *s)
{
    return (unsigned)(ak__json_hexv((unsigned char)s[0]) << 12 | ak__json_hexv((unsigned char)s[1]) << 8 |
                      ak__json_hexv((unsigned char)s[2]) << 4 | ak__json_hexv((unsigned char)s[3]));
}

int ak__json_syn(const char *base, ak_err_t *err, const char *at, const char *end, const char *what)
{
    size_t off = (size_t)(at - base);
    if (at >= end)
        return ak_errf(err, AK_E_PARSE, "unexpected end of line at byte %zu: %s", off, what);
    unsigned char c = (unsigned char)*at;
    if (c > ' ' && c < 0x7F)
        return ak_errf(err, AK_E_PARSE, "%s at byte %zu (found `%c`)", what, off, c);
    return ak_errf(err, AK_E_PARSE, "%s at byte %zu (found byte 0x%02X)", what, off, c);
}

/* The same without naming the byte found (when `what` already does). */
int ak__json_syn_at(const char *base, ak_err_t *err, const char *at, const char *end, const char *what)
{
    size_t off = (size_t)(at - base);
    if (at >= end)
        return ak_errf(err, AK_E_PARSE, "unexpected end of line at byte %zu: %s", off, what);
    return ak_errf(err, AK_E_PARSE, "%s at byte %zu", what, off);
}

int ak__json_bad_value(const char *base, ak_err_t *err, const char *p, const char *end)
{
    bool num = p < end && (*p == '-' || (unsigned)(*p - '0') <= 9);
    return ak__json_syn(base, err, p, end, num ? "invalid number" : "expected a JSON value");
}

const char *ak__json_str_end_slow(const char *base, const char *open, const char *p, const char *end, bool *esc,
                                  unsigned *hi, ak_err_t *err)
{
    for (;;) {
        if (p >= end) {
            char what[64];
            snprintf(what, sizeof what, "unterminated string starting at byte %zu", (size_t)(open - base));
            ak__json_syn_at(base, err, end, end, what);
            return NULL;
        }
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p;
        if (c == '\\') {
            *esc = true;
            if (end - p < 2) {
                ak__json_syn_at(base, err, end, end, "unterminated escape in a string");
                return NULL;
            }
            switch (p[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                p = ak__json_find_special(p + 2, end, hi);
                continue;
            case 'u':
                if (end - p >= 6 && (ak__json_hexv((unsigned char)p[2]) | ak__json_hexv((unsigned char)p[3]) |
                                     ak__json_hexv((unsigned char)p[4]) | ak__json_hexv((unsigned char)p[5])) >= 0) {
                    p = ak__json_find_special(p + 6, end, hi);
                    continue;
                }
                ak__json_syn_at(base, err, p, end, "invalid \\u escape (need 4 hex digits)");
                return NULL;
            default: {
                char what[64];
                unsigned char e = (unsigned char)p[1];
                if (e > ' ' && e < 0x7F)
                    snprintf(what, sizeof what, "invalid escape `\\%c` in a string", e);
                else
                    snprintf(what, sizeof what, "invalid escape (backslash, byte 0x%02X) in a string", e);
                ak__json_syn_at(base, err, p, end, what);
                return NULL;
            }
            }
        }
        char what[80];
        snprintf(what, sizeof what, "control character 0x%02X in a string (must be escaped as \\u%04X)", c, c);
        ak__json_syn_at(base, err, p, end, what);
        return NULL;
    }
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Unescapes the (syntax-checked) string body [s, e) into out, which has room
 * for e - s bytes.  Returns the length, or -1 at an unpaired surrogate
 * (*bad then points at its backslash). */
long ak__json_unescape(const char *s, const char *e, char *out, const char **bad)
{
    char *o = out;
    while (s < e) {
        const char *b = memchr(s, '\\', (size_t)(e - s));
        if (!b)
            b = e;
        memcpy(o, s, (size_t)(b - s));
        o += b - s;
        if (b >= e)
            break;
        char c = b[1];
        s = b + 2;
        switch (c) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp = hex4(s);
            s += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (e - s >= 6 && s[0] == '\\' && s[1] == 'u' && (lo = hex4(s + 2)) >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    s += 6;
                } else {
                    *bad = b;
                    return -1;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                *bad = b;
                return -1;
            }
            o += put_utf8(o, cp);
            break;
        }
        default: *o++ = c; break; /* " \ / */
        }
    }
    return o - out;
}

/* ---- numbers and skipping ----------------------------------------------- */


/* Checks JSON number syntax at p; returns its end or NULL. */
const char *ak__json_scan_number(const char *p, const char *end, ak__jnum_t *nm)
{
    nm->s = p;
    nm->neg = false;
    nm->mant = 0;
    nm->nd = 0;
    nm->exp10 = 0;
    nm->is_int = true;
    if (p < end && *p == '-') {
        nm->neg = true;
        p++;
    }
    if (p >= end || (unsigned)(*p - '0') > 9)
        return NULL;
    if (*p == '0') {
        p++;
        if (p < end && (unsigned)(*p - '0') <= 9)
            return NULL; /* leading zero */
    } else {
        while (p < end && (unsigned)(*p - '0') <= 9) {
            if (nm->nd < 19)
                nm->mant = nm->mant * 10 + (uint64_t)(*p - '0');
            else
                nm->exp10++;
            if (nm->nd < 20)
                nm->nd++;
            p++;
        }
    }
    if (p < end && *p == '.') {
        p++;
        nm->is_int = false;
        if (p >= end || (unsigned)(*p - '0') > 9)
            return NULL;
        while (p < end && (unsigned)(*p - '0') <= 9) {
            if (nm->nd < 19) {
                if (nm->nd || *p != '0')
                    nm->nd++;
                nm->mant = nm->mant * 10 + (uint64_t)(*p - '0');
                nm->exp10--;
            } else {
                nm->nd = 20;
            }
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        nm->is_int = false;
        bool eneg = false;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= end || (unsigned)(*p - '0') > 9)
            return NULL;
        int ex = 0;
        while (p < end && (unsigned)(*p - '0') <= 9) {
            if (ex < 100000)
                ex = ex * 10 + (*p - '0');
            p++;
        }
        nm->exp10 += eneg ? -ex : ex;
    }
    nm->e = p;
    return p;
}

/* Skips an object or array at p (syntax-checked, iteratively). */
const char *ak__json_skip_composite(const char *base, const char *p, const char *end, ak_err_t *err)
{
    uint64_t stack[AK__JSON_MAX_DEPTH / 64]; /* bit set: object */
    int depth = 0;
    bool obj;
open:
    if (depth >= AK__JSON_MAX_DEPTH) {
        char what[64];
        snprintf(what, sizeof what, "JSON nested deeper than %d levels", AK__JSON_MAX_DEPTH);
        ak__json_syn(base, err, p, end, what);
        return NULL;
    }
    obj = *p == '{';
    if (obj)
        stack[depth / 64] |= UINT64_C(1) << (depth % 64);
    else
        stack[depth / 64] &= ~(UINT64_C(1) << (depth % 64));
    depth++;
    p = ak__json_ws(p + 1, end);
    if (p < end && *p == (obj ? '}' : ']')) {
        p++;
        goto closed;
    }
    if (!obj)
        goto value;
    if (p >= end || *p != '"') {
        ak__json_syn(base, err, p, end, "expected a string key or `}`");
        return NULL;
    }
key: {
    bool esc = false;
    const char *q = ak__json_str_end(base, p, end, &esc, err);
    if (!q)
        return NULL;
    p = ak__json_ws(q + 1, end);
    if (p >= end || *p != ':') {
        ak__json_syn(base, err, p, end, "expected `:` after key");
        return NULL;
    }
    p = ak__json_ws(p + 1, end);
}
value:
    if (p >= end) {
        ak__json_syn(base, err, p, end, "expected a JSON value");
        return NULL;
    }
    switch (*p) {
    case '{':
    case '[':
        goto open;
    case '"': {
        bool esc = false;
        const char *q = ak__json_str_end(base, p, end, &esc, err);
        if (!q)
            return NULL;
        p = q + 1;
        break;
    }
    case 't':
        if (end - p < 4 || memcmp(p, "true", 4) != 0)
            goto bad_lit;
        p += 4;
        break;
    case 'f':
        if (end - p < 5 || memcmp(p, "false", 5) != 0)
            goto bad_lit;
        p += 5;
        break;
    case 'n':
        if (end - p < 4 || memcmp(p, "null", 4) != 0)
            goto bad_lit;
        p += 4;
        break;
    default: {
        ak__jnum_t nm;
        const char *e = ak__json_scan_number(p, end, &nm);
        if (!e) {
            ak__json_bad_value(base, err, p, end);
            return NULL;
        }
        p = e;
    }
    }
after:
    p = ak__json_ws(p, end);
    obj = (stack[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1;
    if (p < end && *p == ',') {
        p = ak__json_ws(p + 1, end);
        if (!obj)
            goto value;
        if (p >= end || *p != '"') {
            ak__json_syn(base, err, p, end, "expected a string key after `,`");
            return NULL;
        }
        goto key;
    }
    if (p < end && *p == (obj ? '}' : ']')) {
        p++;
        goto closed;
    }
    ak__json_syn(base, err, p, end, obj ? "expected `,` or `}` after value" : "expected `,` or `]` after value");
    return NULL;
closed:
    if (--depth == 0)
        return p;
    goto after;
bad_lit:
    ak__json_syn(base, err, p, end, "invalid literal (expected true, false or null)");
    return NULL;
}

const char *ak__json_skip_value(const char *base, const char *p, const char *end, ak_err_t *err)
{
    if (p >= end) {
        ak__json_syn(base, err, p, end, "expected a JSON value");
        return NULL;
    }
    switch (*p) {
    case '"': {
        bool esc = false;
        const char *q = ak__json_str_end(base, p, end, &esc, err);
        return q ? q + 1 : NULL;
    }
    case '{':
    case '[':
        return ak__json_skip_composite(base, p, end, err);
    case 't':
        if (end - p >= 4 && memcmp(p, "true", 4) == 0)
            return p + 4;
        break;
    case 'f':
        if (end - p >= 5 && memcmp(p, "false", 5) == 0)
            return p + 5;
        break;
    case 'n':
        if (end - p >= 4 && memcmp(p, "null", 4) == 0)
            return p + 4;
        break;
    default: {
        ak__jnum_t nm;
        const char *e = ak__json_scan_number(p, end, &nm);
        if (e)
            return e;
        ak__json_bad_value(base, err, p, end);
        return NULL;
    }
    }
    ak__json_syn(base, err, p, end, "invalid literal (expected true, false or null)");
    return NULL;
}

