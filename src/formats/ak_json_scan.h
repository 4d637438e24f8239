/* ak_json_scan.h - JSON syntax primitives for the decoders in src/formats
 * (internal: ak__ names, not for other modules).
 *
 * Finding a string's end 16 bytes at a time, unescaping, checking a number's
 * syntax and skipping any value (iteratively, so no input can exhaust the
 * stack).  Errors say what was expected and the byte offset from `base`, the
 * start of the line: "expected `:` after key at byte 37".  Nothing here
 * allocates or builds a value: the decoder decides what to keep.
 */
#ifndef AK_JSON_SCAN_H
#define AK_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ak_error.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define AK__JSON_MAX_DEPTH 1024 /* nesting of any value */

/* Syntax error at `at` (end of line if at >= end), naming the byte found. */
int ak__json_syn(const char *base, ak_err_t *err, const char *at, const char *end, const char *what);
/* The same without naming the byte (when `what` already does). */
int ak__json_syn_at(const char *base, ak_err_t *err, const char *at, const char *end, const char *what);
/* At p, where a value failed to scan: "invalid number" or "expected a JSON
 * value". */
int ak__json_bad_value(const char *base, ak_err_t *err, const char *p, const char *end);

static inline const char *ak__json_ws(const char *p, const char *end)
{
    while (p < end && (unsigned char)*p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

static inline int ak__json_hexv(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* First byte in [p, end) that is a quote, a backslash or a control char;
 * *hi gets a nonzero value if a byte >= 0x80 comes before it. */
static inline const char *ak__json_find_special(const char *p, const char *end, unsigned *hi)
{
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), c1f = _mm_set1_epi8(0x1F);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, bs)),
                                 _mm_cmpeq_epi8(_mm_min_epu8(x, c1f), x));
        unsigned mask = (unsigned)_mm_movemask_epi8(m), h = (unsigned)_mm_movemask_epi8(x);
        if (mask) {
            *hi |= h & (mask ^ (mask - 1)); /* bytes up to the first special one */
            return p + __builtin_ctz(mask);
        }
        *hi |= h;
        p += 16;
    }
#else
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t a = w ^ (ones * '"'), b = w ^ (ones * '\\');
        uint64_t t = ((a - ones) & ~a) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w);
        if (t & high)
            break;
        *hi |= (unsigned)((w & high) != 0);
        p += 8;
    }
#endif
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\' || c < 0x20)
            return p;
        *hi |= c & 0x80;
        p++;
    }
    return end;
}

/* The rest of a string from p, its first special byte: escapes, errors. */
const char *ak__json_str_end_slow(const char *base, const char *open, const char *p, const char *end, bool *esc,
                                  unsigned *hi, ak_err_t *err);

/* `open` is a string's opening quote.  Returns its closing quote, or NULL
 * with err set (unterminated, bad escape, control character).  *esc is set
 * if the string holds a backslash, *hi (nonzero) if a byte >= 0x80. */
static inline const char *ak__json_str_end_hi(const char *base, const char *open, const char *end, bool *esc,
                                              unsigned *hi, ak_err_t *err)
{
    const char *p = ak__json_find_special(open + 1, end, hi);
    if (p < end && *p == '"')
        return p;
    return ak__json_str_end_slow(base, open, p, end, esc, hi, err);
}

static inline const char *ak__json_str_end(const char *base, const char *open, const char *end, bool *esc,
                                           ak_err_t *err)
{
    unsigned hi = 0;
    return ak__json_str_end_hi(base, open, end, esc, &hi, err);
}

/* Unescapes the syntax-checked string body [s, e) into out, which has room
 * for e - s bytes.  Returns the length, or -1 at an unpaired surrogate
 * (*bad then points at its backslash). */
long ak__json_unescape(const char *s, const char *e, char *out, const char **bad);

/* A number's syntax and, when it has at most 19 significant digits, its
 * value as mant * 10^exp10. */
typedef struct ak__jnum {
    const char *s, *e;
    uint64_t mant;
    int nd;     /* significant digits, capped at 20 */
    int exp10;
    bool neg, is_int;
} ak__jnum_t;

/* Checks JSON number syntax at p; returns its end, or NULL. */
const char *ak__json_scan_number(const char *p, const char *end, ak__jnum_t *nm);

/* Skips the value at p (syntax-checked); returns its end, or NULL with err
 * set. */
const char *ak__json_skip_value(const char *base, const char *p, const char *end, ak_err_t *err);
/* The same for an object or array at p. */
const char *ak__json_skip_composite(const char *base, const char *p, const char *end, ak_err_t *err);

#endif
