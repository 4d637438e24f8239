/* ak_json_decode.c - one-pass NDJSON / Debezium decoder (see the header for
 * what it accepts and produces).
 *
 * How it goes fast: the line is walked once; keys are looked up in a tiny
 * hash table built from the schema (length + first 8 bytes, verified), and
 * every value whose key is not a column is skipped by a syntax-checking
 * scanner that finds string ends 16 bytes at a time (SSE2, or SWAR; that
 * layer is ak_json_scan.c).  No DOM,
 * no allocation per field: values are written into per-decoder "images"
 * (value arrays) and only a decoded record is copied into the batch, with one
 * arena allocation for all its strings.
 *
 * How it stays right: the format (plain row, envelope, Connect wrapper) is
 * known only at the end of the object, so the decoder fills every candidate
 * image at once (the row's top-level columns, `before`, `after`, and those of
 * a `payload`) and picks at the end.  A value that does not fit its column
 * does not stop the walk: its image remembers the column and the value's
 * offset, and if that image is the one chosen, the value is decoded again to
 * write the message.  Syntax errors stop at once: the line is not JSON
 * whatever it was meant to be.
 *
 * What it does not do: check the content of skipped values (their UTF-8,
 * their surrogate pairs, their numbers' range); only their syntax.
 */
#include "ak_json_decode.h"

#include "ak_alloc.h"
#include "ak_convert.h"
#include "ak_json_scan.h"
#include "ak_time.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SCHEMA_DEPTH 8       /* nesting walked inside a Connect schema */
#define SCHEMA_CACHE_MAX (1u << 16)

enum { SP_NONE, SP_OP, SP_BEFORE, SP_AFTER, SP_TS_MS, SP_SCHEMA, SP_PAYLOAD };
enum { K_NONE, K_NULL, K_OBJ, K_OTHER };    /* what a special key held */
enum { TS_NONE, TS_INT, TS_BAD };
enum { U_NONE, U_S, U_MS, U_US, U_NS, U_DAYS }; /* epoch unit of a number */
enum { V_OK = 0, V_SYNTAX = -1, V_DATA = -2 };

typedef struct kent {
    uint64_t w;        /* first <= 8 bytes of the name, zero padded */
    uint64_t w2;       /* names of 9..16 bytes: their last 8 bytes */
    const char *name;
    uint32_t len;
    int16_t col;       /* schema column, or -1 */
    int16_t next;      /* chain in the hash table, or -1 */
    uint8_t special;   /* SP_* */
} kent_t;

/* A candidate record: values, which keys were present, which failed. */
typedef struct img {
    ak_val_t *v;
    uint32_t *eoff;    /* offset in the line of a value that did not fit */
    uint64_t present;
    uint64_t emask;
} img_t;

typedef struct frame {
    img_t row, before, after;
    uint8_t op, before_kind, after_kind, ts_kind, schema_kind, payload_kind;
    bool payload_early; /* payload decoded before the schema was seen */
    int64_t ts_ms;
    size_t payload_off;
} frame_t;

struct ak_json_decoder {
    const ak_schema_t *schema;
    int ncols;
    bool keyed, borrow, have_hints;
    uint64_t key_mask, req_mask;
    int tbits;
    int16_t *slots;
    int nents;
    kent_t ents[AK_MAX_COLUMNS + 8];
    uint8_t hint[AK_MAX_COLUMNS];     /* epoch units from this line's schema */
    char *sch_cache;                  /* the last Connect schema's bytes */
    size_t sch_len, sch_cap;
    uint8_t sch_hint[AK_MAX_COLUMNS];
    char *scratch;                    /* unescaped strings of this line */
    size_t scap, slen;
    const char *base;                 /* the line, for byte offsets */
    frame_t fr[2];                    /* [0] the line, [1] a Connect payload */
    ak_val_t *vals;
    uint32_t *offs;
};

/* ---- key lookup ---------------------------------------------------------- */

static inline uint64_t load_key_word(const char *k, size_t len, const char *end)
{
    uint64_t w = 0;
    if (end - k >= 8) {
        memcpy(&w, k, 8);
        if (len < 8) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            w &= (UINT64_C(1) << (8 * len)) - 1;
#else
            w &= ~(UINT64_MAX >> (8 * len));
#endif
        }
    } else {
        memcpy(&w, k, len < 8 ? len : 8);
    }
    return w;
}

static inline unsigned key_hash(uint64_t w, size_t len, int bits)
{
    return (unsigned)(((w ^ (len * UINT64_C(0x9E3779B97F4A7C15))) * UINT64_C(0xFF51AFD7ED558CCD)) >> (64 - bits));
}

static inline const kent_t *lookup(const ak_json_decoder_t *d, const char *k, size_t len, const char *end)
{
    uint64_t w = load_key_word(k, len, end);
    int i = d->slots[key_hash(w, len, d->tbits)];
    while (i >= 0) {
        const kent_t *e = &d->ents[i];
        if (e->w == w && e->len == len) {
            if (len <= 8)
                return e;
            if (len <= 16) {
                uint64_t w2;
                memcpy(&w2, k + len - 8, 8);
                if (w2 == e->w2)
                    return e;
            } else if (memcmp(e->name + 8, k + 8, len - 8) == 0) {
                return e;
            }
        }
        i = e->next;
    }
    return NULL;
}

/* ---- typed values ------------------------------------------------------- */

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int num_double(const ak__jnum_t *nm, double *out)
{
    if (nm->nd <= 19 && nm->mant <= (UINT64_C(1) << 53) && nm->exp10 >= -22 && nm->exp10 <= 22) {
        double v = (double)nm->mant;
        v = nm->exp10 < 0 ? v / pow10_tab[-nm->exp10] : v * pow10_tab[nm->exp10];
        *out = nm->neg ? -v : v;
        return AK_CONV_OK;
    }
    return ak_conv_double(nm->s, (size_t)(nm->e - nm->s), out);
}

static int num_int(const ak__jnum_t *nm, int64_t *out)
{
    if (nm->is_int && nm->nd <= 18) {
        *out = nm->neg ? -(int64_t)nm->mant : (int64_t)nm->mant;
        return AK_CONV_OK;
    }
    return ak_conv_int64(nm->s, (size_t)(nm->e - nm->s), out);
}

/* A number as an epoch instant in `unit` (U_NONE: by magnitude) -> us. */
static int num_epoch_us(const ak__jnum_t *nm, int unit, int64_t *us)
{
    int64_t v;
    int rc = num_int(nm, &v);
    if (rc == AK_CONV_OK) {
        if (unit == U_NONE) {
            uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
            unit = a < UINT64_C(100000000000) ? U_S : a < UINT64_C(100000000000000) ? U_MS
                 : a < UINT64_C(100000000000000000) ? U_US : U_NS;
        }
        switch (unit) {
        case U_S: return __builtin_mul_overflow(v, AK_US_PER_SEC, us) ? AK_CONV_RANGE : AK_CONV_OK;
        case U_MS: return __builtin_mul_overflow(v, INT64_C(1000), us) ? AK_CONV_RANGE : AK_CONV_OK;
        case U_US: *us = v; return AK_CONV_OK;
        default: *us = ak_floordiv(v, 1000); return AK_CONV_OK;
        }
    }
    double x;
    if ((rc = num_double(nm, &x)) != AK_CONV_OK)
        return rc;
    if (unit == U_NONE) {
        double a = fabs(x);
        unit = a < 1e11 ? U_S : a < 1e14 ? U_MS : a < 1e17 ? U_US : U_NS;
    }
    double f = unit == U_S ? 1e6 : unit == U_MS ? 1e3 : unit == U_US ? 1.0 : 1e-3;
    double r = floor(x * f);
    if (!(r >= -9.2e18 && r <= 9.2e18))
        return AK_CONV_RANGE;
    *us = (int64_t)r;
    return AK_CONV_OK;
}

static int num_to_val(const ak_column_t *col, int unit, const ak__jnum_t *nm, ak_val_t *out)
{
    int rc;
    switch (col->type) {
    case AK_INT: {
        int64_t i;
        if ((rc = num_int(nm, &i)) == 0)
            *out = ak_v_int(i);
        return rc;
    }
    case AK_DOUBLE:
    case AK_FLOAT: {
        double x;
        if ((rc = num_double(nm, &x)) != 0)
            return rc;
        if (col->type == AK_FLOAT) {
            if (!isfinite((float)x))
                return AK_CONV_RANGE;
            *out = ak_v_float(x);
        } else {
            *out = ak_v_double(x);
        }
        return AK_CONV_OK;
    }
    case AK_TEXT:
        *out = ak_v_text(nm->s, (size_t)(nm->e - nm->s));
        return AK_CONV_OK;
    case AK_BOOL:
        if (nm->is_int && nm->nd <= 1 && nm->mant <= 1 && !(nm->neg && nm->mant)) {
            *out = ak_v_bool(nm->mant == 1);
            return AK_CONV_OK;
        }
        return AK_CONV_SYNTAX;
    case AK_TIMESTAMP: {
        int64_t us;
        if ((rc = num_epoch_us(nm, unit == U_DAYS ? U_NONE : unit, &us)) == 0)
            *out = ak_v_ts(us);
        return rc;
    }
    case AK_DATE: {
        int64_t v;
        if (unit == U_NONE || unit == U_DAYS) {
            if ((rc = num_int(nm, &v)) != 0)
                return rc;
            if (v > INT64_MAX / AK_US_PER_DAY || v < INT64_MIN / AK_US_PER_DAY)
                return AK_CONV_RANGE;
            *out = ak_v_date(v);
            return AK_CONV_OK;
        }
        if ((rc = num_epoch_us(nm, unit, &v)) == 0)
            *out = ak_v_date(ak_floordiv(v, AK_US_PER_DAY));
        return rc;
    }
    default:
        return AK_CONV_SYNTAX;
    }
}

/* Decodes the value at p into column `ci`.  V_OK, V_SYNTAX (err set) or
 * V_DATA (err set only if `explain`); *pnext is the value's end unless
 * V_SYNTAX.  `hint` gives epoch units (NULL: by magnitude). */
static int decode_value(ak_json_decoder_t *d, int ci, const uint8_t *hint, const char *p, const char *end,
                        const char **pnext, ak_val_t *out, ak_err_t *err, bool explain)
{
    const ak_column_t *col = &d->schema->cols[ci];
    int rc;
    if (p >= end) {
        ak__json_syn(d->base, err, p, end, "expected a JSON value");
        return V_SYNTAX;
    }
    switch (*p) {
    case '"': {
        bool esc = false;
        unsigned hi = 0;
        const char *q = ak__json_str_end_hi(d->base, p, end, &esc, &hi, err);
        if (!q)
            return V_SYNTAX;
        *pnext = q + 1;
        const char *s = p + 1;
        size_t n = (size_t)(q - s);
        if (esc) {
            const char *bad = NULL;
            char *o = d->scratch + d->slen;
            long m = ak__json_unescape(s, q, o, &bad);
            if (m < 0) {
                if (explain)
                    ak_errf(err, AK_E_TYPE, "column `%s`: unpaired UTF-16 surrogate `%.6s` in a string at byte %zu",
                            col->name, bad, (size_t)(bad - d->base));
                return V_DATA;
            }
            d->slen += (size_t)m;
            s = o;
            n = (size_t)m;
        }
        if (col->type == AK_TEXT) {
            if (hi && !ak_utf8_valid(s, n)) /* escapes only ever add valid UTF-8 */
                goto fail_conv_syntax;
            *out = ak_v_text(s, n);
            return V_OK;
        }
        if (col->type == AK_TIMESTAMP) {
            int64_t us;
            if (ak_ts_parse_fast(s, n, &us) != 0)
                goto fail_conv_syntax;
            *out = ak_v_ts(us);
            return V_OK;
        }
        if ((rc = ak_convert_text(col->type, s, n, out)) == 0)
            return V_OK;
        if (explain)
            ak_convert_fail(col, rc, s, n, err);
        return V_DATA;
    fail_conv_syntax:
        if (explain)
            ak_convert_fail(col, AK_CONV_SYNTAX, s, n, err);
        return V_DATA;
    }
    case '{':
    case '[': {
        const char *e = ak__json_skip_composite(d->base, p, end, err);
        if (!e)
            return V_SYNTAX;
        *pnext = e;
        if (col->type == AK_TEXT && ak_utf8_valid(p, (size_t)(e - p))) {
            *out = ak_v_text(p, (size_t)(e - p));
            return V_OK;
        }
        if (explain) {
            if (col->type == AK_TEXT)
                ak_convert_fail(col, AK_CONV_SYNTAX, p, (size_t)(e - p), err);
            else
                ak_errf(err, AK_E_TYPE, "column `%s`: cannot read a JSON %s as %s", col->name,
                        *p == '{' ? "object" : "array", ak_type_name(col->type));
        }
        return V_DATA;
    }
    case 'n':
        if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            *pnext = p + 4;
            *out = ak_v_null();
            return V_OK;
        }
        break;
    case 't':
    case 'f': {
        bool t = *p == 't';
        size_t len = t ? 4 : 5;
        if ((size_t)(end - p) < len || memcmp(p, t ? "true" : "false", len) != 0)
            break;
        *pnext = p + len;
        if (col->type == AK_BOOL) {
            *out = ak_v_bool(t);
            return V_OK;
        }
        if (col->type == AK_TEXT) {
            *out = ak_v_text(p, len);
            return V_OK;
        }
        if (explain)
            ak_errf(err, AK_E_TYPE, "column `%s`: cannot read `%s` as %s", col->name, t ? "true" : "false",
                    ak_type_name(col->type));
        return V_DATA;
    }
    default: {
        ak__jnum_t nm;
        const char *e = ak__json_scan_number(p, end, &nm);
        if (!e) {
            ak__json_bad_value(d->base, err, p, end);
            return V_SYNTAX;
        }
        *pnext = e;
        if ((rc = num_to_val(col, hint ? hint[ci] : U_NONE, &nm, out)) == 0)
            return V_OK;
        if (explain)
            ak_convert_fail(col, rc, p, (size_t)(e - p), err);
        return V_DATA;
    }
    }
    ak__json_syn(d->base, err, p, end, "invalid literal (expected true, false or null)");
    return V_SYNTAX;
}

/* ---- objects ------------------------------------------------------------ */

/* Reads a key at p (a quote expected); returns the position after `:` and
 * whitespace and sets *ent (NULL if not a known name), or NULL on error. */
static const char *read_key(ak_json_decoder_t *d, const char *p, const char *end, bool first, const kent_t **ent,
                            ak_err_t *err)
{
    if (p >= end || *p != '"') {
        ak__json_syn(d->base, err, p, end, first ? "expected a string key or `}`" : "expected a string key after `,`");
        return NULL;
    }
    bool esc = false;
    const char *q = ak__json_str_end(d->base, p, end, &esc, err);
    if (!q)
        return NULL;
    if (!esc) {
        *ent = lookup(d, p + 1, (size_t)(q - p - 1), end);
    } else {
        /* rare: compare the unescaped key, in scratch space given back after */
        const char *bad;
        char *o = d->scratch + d->slen;
        long m = ak__json_unescape(p + 1, q, o, &bad);
        *ent = m < 0 ? NULL : lookup(d, o, (size_t)m, d->scratch + d->scap);
    }
    p = ak__json_ws(q + 1, end);
    if (p >= end || *p != ':') {
        ak__json_syn(d->base, err, p, end, "expected `:` after key");
        return NULL;
    }
    return ak__json_ws(p + 1, end);
}

/* After a member value: `,` (returns after it, *more) or `}` (after it). */
static const char *next_member(ak_json_decoder_t *d, const char *p, const char *end, bool *more, ak_err_t *err)
{
    p = ak__json_ws(p, end);
    if (p < end && *p == ',') {
        *more = true;
        return ak__json_ws(p + 1, end);
    }
    if (p < end && *p == '}') {
        *more = false;
        return p + 1;
    }
    ak__json_syn(d->base, err, p, end, "expected `,` or `}` after value");
    return NULL;
}

static void img_set(img_t *im, int c, int r, size_t off)
{
    uint64_t bit = UINT64_C(1) << c;
    im->present |= bit;
    if (r == V_DATA) {
        im->emask |= bit;
        im->eoff[c] = (uint32_t)off;
    } else {
        im->emask &= ~bit;
    }
}

/* Decodes the object at p into image im (columns only). */
static const char *decode_img(ak_json_decoder_t *d, img_t *im, const uint8_t *hint, const char *p, const char *end,
                              ak_err_t *err)
{
    im->present = 0;
    im->emask = 0;
    p = ak__json_ws(p + 1, end);
    if (p < end && *p == '}')
        return p + 1;
    bool more = true, first = true;
    while (more) {
        const kent_t *ent = NULL;
        if (!(p = read_key(d, p, end, first, &ent, err)))
            return NULL;
        first = false;
        if (ent && ent->col >= 0) {
            const char *v = p;
            int r = decode_value(d, ent->col, hint, v, end, &p, &im->v[ent->col], err, false);
            if (r == V_SYNTAX)
                return NULL;
            img_set(im, ent->col, r, (size_t)(v - d->base));
        } else if (!(p = ak__json_skip_value(d->base, p, end, err))) {
            return NULL;
        }
        if (!(p = next_member(d, p, end, &more, err)))
            return NULL;
    }
    return p;
}

static void frame_reset(frame_t *f)
{
    f->row.present = f->row.emask = 0;
    f->before.present = f->before.emask = 0;
    f->after.present = f->after.emask = 0;
    f->op = 0;
    f->before_kind = f->after_kind = f->schema_kind = f->payload_kind = K_NONE;
    f->ts_kind = TS_NONE;
    f->ts_ms = 0;
    f->payload_early = false;
    f->payload_off = 0;
}

static const char *parse_connect_schema(ak_json_decoder_t *d, const char *p, const char *end, ak_err_t *err);
static const char *decode_frame(ak_json_decoder_t *d, int level, const char *p, const char *end, ak_err_t *err);

/* A special key's value: op, before/after, ts_ms, schema, payload. */
static const char *special_value(ak_json_decoder_t *d, frame_t *f, int level, int sp, const char *p,
                                 const char *end, ak_err_t *err)
{
    const uint8_t *hint = level == 1 && d->have_hints ? d->hint : NULL;
    if (p >= end)
        return ak__json_skip_value(d->base, p, end, err);
    switch (sp) {
    case SP_OP: {
        f->op = 0;
        if (*p != '"')
            break;
        bool esc = false;
        const char *q = ak__json_str_end(d->base, p, end, &esc, err);
        if (!q)
            return NULL;
        char buf[16];
        const char *s = p + 1, *bad;
        long n = q - s;
        if (esc) {
            n = n < (long)sizeof buf ? ak__json_unescape(s, q, buf, &bad) : -1;
            s = buf;
        }
        if (n == 1 && s[0] && strchr("crudt", s[0]))
            f->op = (uint8_t)s[0];
        return q + 1;
    }
    case SP_BEFORE:
    case SP_AFTER: {
        uint8_t *kind = sp == SP_BEFORE ? &f->before_kind : &f->after_kind;
        if (*p == '{') {
            *kind = K_OBJ;
            return decode_img(d, sp == SP_BEFORE ? &f->before : &f->after, hint, p, end, err);
        }
        *kind = (end - p >= 4 && memcmp(p, "null", 4) == 0) ? K_NULL : K_OTHER;
        break;
    }
    case SP_TS_MS: {
        ak__jnum_t nm;
        int64_t v;
        if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            f->ts_kind = TS_NONE;
            f->ts_ms = 0;
        } else if (ak__json_scan_number(p, end, &nm) && num_int(&nm, &v) == 0) {
            f->ts_kind = TS_INT;
            f->ts_ms = v;
        } else {
            f->ts_kind = TS_BAD;
        }
        break;
    }
    case SP_SCHEMA:
        if (*p == '{') {
            f->schema_kind = K_OBJ;
            if (f->payload_kind == K_OBJ)
                f->payload_early = true;
            return parse_connect_schema(d, p, end, err);
        }
        f->schema_kind = (end - p >= 4 && memcmp(p, "null", 4) == 0) ? K_NULL : K_OTHER;
        break;
    case SP_PAYLOAD:
        if (*p == '{') {
            f->payload_kind = K_OBJ;
            f->payload_early = false;
            f->payload_off = (size_t)(p - d->base);
            return decode_frame(d, 1, p, end, err);
        }
        f->payload_kind = (end - p >= 4 && memcmp(p, "null", 4) == 0) ? K_NULL : K_OTHER;
        break;
    }
    return ak__json_skip_value(d->base, p, end, err);
}

/* Decodes a line's object (level 0) or a Connect payload (level 1). */
static const char *decode_frame(ak_json_decoder_t *d, int level, const char *p, const char *end, ak_err_t *err)
{
    frame_t *f = &d->fr[level];
    frame_reset(f);
    img_t *row = &f->row;
    const uint8_t *hint = level == 1 && d->have_hints ? d->hint : NULL;
    p = ak__json_ws(p + 1, end);
    if (p < end && *p == '}')
        return p + 1;
    bool more = true, first = true;
    while (more) {
        const kent_t *ent = NULL;
        if (!(p = read_key(d, p, end, first, &ent, err)))
            return NULL;
        first = false;
        if (!ent) {
            if (!(p = ak__json_skip_value(d->base, p, end, err)))
                return NULL;
        } else if (ent->special == SP_NONE || (level == 1 && ent->special >= SP_SCHEMA)) {
            if (ent->col >= 0) {
                const char *v = p;
                int r = decode_value(d, ent->col, hint, v, end, &p, &row->v[ent->col], err, false);
                if (r == V_SYNTAX)
                    return NULL;
                img_set(row, ent->col, r, (size_t)(v - d->base));
            } else if (!(p = ak__json_skip_value(d->base, p, end, err))) {
                return NULL;
            }
        } else {
            const char *v = p;
            if (!(p = special_value(d, f, level, ent->special, v, end, err)))
                return NULL;
            if (ent->col >= 0) { /* a column that shares a special name */
                const char *e2;
                int r = decode_value(d, ent->col, hint, v, end, &e2, &row->v[ent->col], err, false);
                if (r == V_SYNTAX)
                    return NULL;
                img_set(row, ent->col, r, (size_t)(v - d->base));
            }
        }
        if (!(p = next_member(d, p, end, &more, err)))
            return NULL;
    }
    return p;
}

/* ---- Connect schema: epoch units by field name ---------------------------- */

static int unit_of_name(const char *s, size_t n)
{
    static const struct {
        const char *name;
        int unit;
    } names[] = {
        {"io.debezium.time.Timestamp", U_MS},
        {"io.debezium.time.MicroTimestamp", U_US},
        {"io.debezium.time.NanoTimestamp", U_NS},
        {"org.apache.kafka.connect.data.Timestamp", U_MS},
        {"io.debezium.time.Date", U_DAYS},
        {"org.apache.kafka.connect.data.Date", U_DAYS},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && memcmp(names[i].name, s, n) == 0)
            return names[i].unit;
    return U_NONE;
}

/* Reads a string value at p into [*s, *s + *n) (unescaped into scratch). */
static const char *schema_str(ak_json_decoder_t *d, const char *p, const char *end, const char **s, size_t *n,
                              ak_err_t *err)
{
    bool esc = false;
    const char *q = ak__json_str_end(d->base, p, end, &esc, err);
    if (!q)
        return NULL;
    *s = p + 1;
    *n = (size_t)(q - p - 1);
    if (esc) {
        const char *bad;
        char *o = d->scratch + d->slen;
        long m = ak__json_unescape(p + 1, q, o, &bad);
        if (m < 0) {
            *n = 0;
        } else {
            d->slen += (size_t)m;
            *s = o;
            *n = (size_t)m;
        }
    }
    return q + 1;
}

/* One schema object: a field {"field":..,"name":..,"fields":[...]}. */
static const char *schema_obj(ak_json_decoder_t *d, const char *p, const char *end, int depth, ak_err_t *err)
{
    const char *fname = NULL, *lname = NULL;
    size_t fn = 0, ln = 0;
    p = ak__json_ws(p + 1, end);
    bool more = !(p < end && *p == '}'), first = true;
    if (!more)
        p++;
    while (more) {
        if (p >= end || *p != '"') {
            ak__json_syn(d->base, err, p, end,
                         first ? "expected a string key or `}`" : "expected a string key after `,`");
            return NULL;
        }
        first = false;
        const char *ks;
        size_t kn;
        if (!(p = schema_str(d, p, end, &ks, &kn, err)))
            return NULL;
        p = ak__json_ws(p, end);
        if (p >= end || *p != ':') {
            ak__json_syn(d->base, err, p, end, "expected `:` after key");
            return NULL;
        }
        p = ak__json_ws(p + 1, end);
        if (p < end && *p == '"' && kn == 5 && memcmp(ks, "field", 5) == 0) {
            p = schema_str(d, p, end, &fname, &fn, err);
        } else if (p < end && *p == '"' && kn == 4 && memcmp(ks, "name", 4) == 0) {
            p = schema_str(d, p, end, &lname, &ln, err);
        } else if (p < end && *p == '[' && kn == 6 && memcmp(ks, "fields", 6) == 0 && depth < SCHEMA_DEPTH) {
            p = ak__json_ws(p + 1, end);
            bool amore = !(p < end && *p == ']');
            if (!amore)
                p++;
            while (amore && p) {
                if (p < end && *p == '{')
                    p = schema_obj(d, p, end, depth + 1, err);
                else
                    p = ak__json_skip_value(d->base, p, end, err);
                if (!p)
                    return NULL;
                p = ak__json_ws(p, end);
                if (p < end && *p == ',') {
                    p = ak__json_ws(p + 1, end);
                } else if (p < end && *p == ']') {
                    p++;
                    amore = false;
                } else {
                    ak__json_syn(d->base, err, p, end, "expected `,` or `]` after value");
                    return NULL;
                }
            }
        } else {
            p = ak__json_skip_value(d->base, p, end, err);
        }
        if (!p || !(p = next_member(d, p, end, &more, err)))
            return NULL;
    }
    if (fname && lname) {
        const kent_t *e = lookup(d, fname, fn, fname + fn);
        int u = unit_of_name(lname, ln);
        if (e && e->col >= 0 && u != U_NONE)
            d->hint[e->col] = (uint8_t)u;
    }
    return p;
}

static const char *parse_connect_schema(ak_json_decoder_t *d, const char *p, const char *end, ak_err_t *err)
{
    /* Connect sends the same schema with every message: a byte-identical
     * copy of the last one (a complete JSON value, so self-delimiting)
     * means the same units and the same end. */
    if (d->sch_len && (size_t)(end - p) >= d->sch_len && memcmp(p, d->sch_cache, d->sch_len) == 0) {
        memcpy(d->hint, d->sch_hint, sizeof d->hint);
        d->have_hints = true;
        return p + d->sch_len;
    }
    memset(d->hint, 0, sizeof d->hint);
    const char *e = schema_obj(d, p, end, 0, err);
    if (!e)
        return NULL;
    d->have_hints = true;
    size_t len = (size_t)(e - p);
    if (len <= SCHEMA_CACHE_MAX) {
        if (len > d->sch_cap) {
            char *nc = ak_realloc(d->sch_cache, len);
            if (!nc) { /* no cache this time: slower, not wrong */
                d->sch_len = 0;
                return e;
            }
            d->sch_cache = nc;
            d->sch_cap = len;
        }
        memcpy(d->sch_cache, p, len);
        d->sch_len = len;
        memcpy(d->sch_hint, d->hint, sizeof d->hint);
    }
    return e;
}

/* ---- from images to records ----------------------------------------------- */

static bool in_scratch(const ak_json_decoder_t *d, const char *s)
{
    return s >= d->scratch && s < d->scratch + d->scap;
}

/* Appends one record (values of im's present columns; im NULL: none).
 * Records from an envelope carry AK_REC_CDC: they apply in log order. */
static int commit(ak_json_decoder_t *d, ak_batch_t *b, ak_op_t op, const img_t *im, uint64_t pos, int64_t ts_ms,
                  uint8_t flags, ak_err_t *err)
{
    ak_rec_t *r = ak_batch_add(b, op, pos);
    if (!r)
        return ak_err_nomem(err);
    r->ts_ms = ts_ms;
    r->flags = flags;
    if (!im)
        return 0;
    r->present = im->present;
    size_t total = 0;
    for (uint64_t m = im->present; m; m &= m - 1) {
        int c = __builtin_ctzll(m);
        const ak_val_t *v = &im->v[c];
        r->v[c] = *v;
        if (v->type == AK_TEXT && (!d->borrow || in_scratch(d, v->s)))
            total += v->n;
    }
    if (total) {
        char *o = ak_arena_alloc_bytes(&b->arena, total);
        if (!o) {
            ak_batch_pop(b);
            return ak_err_nomem(err);
        }
        for (uint64_t m = im->present; m; m &= m - 1) {
            ak_val_t *v = &r->v[__builtin_ctzll(m)];
            if (v->type == AK_TEXT && (!d->borrow || in_scratch(d, v->s))) {
                memcpy(o, v->s, v->n);
                v->s = o;
                o += v->n;
            }
        }
    }
    return 0;
}

/* Writes the message for im's first failed value; returns -1. */
static int img_error(ak_json_decoder_t *d, const img_t *im, const uint8_t *hint, const char *end, const char *what,
                     ak_err_t *err)
{
    int best = -1;
    for (uint64_t m = im->emask; m; m &= m - 1) {
        int c = __builtin_ctzll(m);
        if (best < 0 || im->eoff[c] < im->eoff[best])
            best = c;
    }
    ak_val_t tmp;
    const char *e;
    d->slen = 0; /* every decoded value is abandoned now */
    ak_errf(err, AK_E_INTERNAL, "column `%s`: value could not be decoded", d->schema->cols[best].name);
    decode_value(d, best, hint, d->base + im->eoff[best], end, &e, &tmp, err, true);
    if (what)
        ak_err_prefix(err, "in `%s`", what);
    return -1;
}

static int check_required(const ak_json_decoder_t *d, const img_t *im, const char *what, ak_err_t *err)
{
    for (uint64_t m = d->req_mask; m; m &= m - 1) {
        int c = __builtin_ctzll(m);
        if (!(im->present >> c & 1) || im->v[c].type == AK_NULL) {
            if (what)
                return ak_errf(err, AK_E_TYPE, "missing required field `%s` in `%s`", d->schema->cols[c].name, what);
            return ak_errf(err, AK_E_TYPE, "missing required field `%s`", d->schema->cols[c].name);
        }
    }
    return 0;
}

/* Every key column present, non-NULL and decoded; else the first one that is not. */
static int missing_key(const ak_json_decoder_t *d, const img_t *im)
{
    for (uint64_t m = d->key_mask; m; m &= m - 1) {
        int c = __builtin_ctzll(m);
        if (!(im->present >> c & 1) || im->v[c].type == AK_NULL || (im->emask >> c & 1))
            return c;
    }
    return -1;
}

static bool keys_equal(const ak_json_decoder_t *d, const img_t *a, const img_t *b)
{
    for (uint64_t m = d->key_mask; m; m &= m - 1) {
        int c = __builtin_ctzll(m);
        bool pa = a->present >> c & 1, pb = b->present >> c & 1;
        ak_val_t na = ak_v_null();
        if (!ak_val_eq_group(pa ? &a->v[c] : &na, pb ? &b->v[c] : &na))
            return false;
    }
    return true;
}

static bool is_envelope(const frame_t *f)
{
    if (!f->op || f->before_kind == K_OTHER || f->after_kind == K_OTHER)
        return false;
    return f->before_kind != K_NONE || f->after_kind != K_NONE;
}

static int emit_upsert(ak_json_decoder_t *d, ak_batch_t *b, const img_t *im, const uint8_t *hint, const char *end,
                       const char *what, uint64_t pos, int64_t ts, uint8_t flags, ak_err_t *err)
{
    if (im->emask)
        return img_error(d, im, hint, end, what, err);
    if (check_required(d, im, what, err))
        return -1;
    return commit(d, b, AK_OP_UPSERT, im, pos, ts, flags, err);
}

static int emit_envelope(ak_json_decoder_t *d, ak_batch_t *b, frame_t *f, const uint8_t *hint, const char *end,
                         uint64_t pos, ak_err_t *err)
{
    if (f->ts_kind == TS_BAD)
        return ak_errf(err, AK_E_TYPE, "`ts_ms` of the change event is not an integer number of milliseconds");
    int64_t ts = f->ts_ms;
    char op = (char)f->op;
    switch (op) {
    case 'c':
    case 'r':
    case 'u':
        if (f->after_kind != K_OBJ)
            return ak_errf(err, AK_E_CORRUPT, "change event with op `%c` has no `after` image", op);
        break;
    case 'd':
        if (f->before_kind != K_OBJ)
            return ak_errf(err, AK_E_CORRUPT,
                           "delete event has no `before` image; set REPLICA IDENTITY to DEFAULT or FULL");
        break;
    default: /* 't' */
        return commit(d, b, AK_OP_TRUNCATE, NULL, pos, ts, AK_REC_CDC, err);
    }
    if (op == 'c' || op == 'r')
        return emit_upsert(d, b, &f->after, hint, end, "after", pos, ts, AK_REC_CDC, err);
    if (op == 'd') {
        int k = missing_key(d, &f->before);
        if (k >= 0 && (f->before.emask >> k & 1))
            return img_error(d, &f->before, hint, end, "before", err);
        if (k >= 0)
            return ak_errf(err, AK_E_CORRUPT, "delete event: `before` lacks the key column `%s`",
                           d->schema->cols[k].name);
        if (f->before.emask)
            return img_error(d, &f->before, hint, end, "before", err);
        return commit(d, b, AK_OP_DELETE, &f->before, pos, ts, AK_REC_CDC, err);
    }
    /* update */
    bool del_before;
    if (d->keyed) {
        int k = f->before_kind == K_OBJ ? missing_key(d, &f->before) : -1;
        if (f->before_kind == K_OBJ && k >= 0 && (f->before.emask >> k & 1))
            return img_error(d, &f->before, hint, end, "before", err);
        del_before = f->before_kind == K_OBJ && k < 0 && !keys_equal(d, &f->before, &f->after);
    } else {
        if (f->before_kind != K_OBJ)
            return ak_errf(err, AK_E_CONFIG,
                           "update without a `before` image on an input without primary_key; declare "
                           "primary_key or set REPLICA IDENTITY FULL");
        del_before = true;
    }
    if (f->after.emask)
        return img_error(d, &f->after, hint, end, "after", err);
    if (check_required(d, &f->after, "after", err))
        return -1;
    size_t n0 = b->n;
    if (del_before) {
        if (f->before.emask)
            return img_error(d, &f->before, hint, end, "before", err);
        if (commit(d, b, AK_OP_DELETE, &f->before, pos, ts, AK_REC_CDC, err))
            return -1;
    }
    if (commit(d, b, AK_OP_UPSERT, &f->after, pos, ts, AK_REC_CDC, err)) {
        while (b->n > n0)
            ak_batch_pop(b);
        return -1;
    }
    return 0;
}

/* ---- public --------------------------------------------------------------- */

static int add_ent(ak_json_decoder_t *d, const char *name, int col, int sp)
{
    size_t len = strlen(name);
    uint64_t w = 0;
    memcpy(&w, name, len < 8 ? len : 8);
    for (int i = 0; i < d->nents; i++)
        if (d->ents[i].len == len && memcmp(d->ents[i].name, name, len) == 0) {
            if (col >= 0 && d->ents[i].col < 0)
                d->ents[i].col = (int16_t)col;
            if (sp)
                d->ents[i].special = (uint8_t)sp;
            return 0; /* a column named like a special key: both roles */
        }
    kent_t *e = &d->ents[d->nents];
    e->w = w;
    e->w2 = 0;
    if (len > 8 && len <= 16)
        memcpy(&e->w2, name + len - 8, 8);
    e->name = name;
    e->len = (uint32_t)len;
    e->col = (int16_t)col;
    e->special = (uint8_t)sp;
    unsigned h = key_hash(w, len, d->tbits);
    e->next = d->slots[h];
    d->slots[h] = (int16_t)d->nents++;
    return 0;
}

int ak_json_decoder_new(const ak_schema_t *schema, ak_json_decoder_t **out, ak_err_t *err)
{
    *out = NULL;
    if (schema->n < 0 || schema->n > AK_MAX_COLUMNS)
        return ak_errf(err, AK_E_USAGE, "a JSON input may have at most %d columns", AK_MAX_COLUMNS);
    for (int i = 0; i < schema->n; i++)
        if (schema->cols[i].type == AK_NULL || schema->cols[i].type >= AK_TYPE__COUNT)
            return ak_errf(err, AK_E_USAGE, "column `%s` has no type", schema->cols[i].name);
        else if (ak_schema_find(schema, schema->cols[i].name, strlen(schema->cols[i].name)) != i)
            return ak_errf(err, AK_E_USAGE, "column `%s` appears twice in the schema", schema->cols[i].name);
    ak_json_decoder_t *d = ak_calloc(1, sizeof *d);
    if (!d)
        return ak_err_nomem(err);
    d->schema = schema;
    d->ncols = schema->n;
    d->tbits = 7; /* 128 slots for at most 70 names: short chains */
    size_t nimg = 6 * (size_t)(schema->n ? schema->n : 1);
    d->slots = ak_malloc(sizeof *d->slots << d->tbits);
    d->vals = ak_calloc(nimg, sizeof *d->vals);
    d->offs = ak_calloc(nimg, sizeof *d->offs);
    if (!d->slots || !d->vals || !d->offs) {
        ak_json_decoder_free(d);
        return ak_err_nomem(err);
    }
    memset(d->slots, 0xFF, sizeof *d->slots << d->tbits);
    for (int i = 0; i < schema->n; i++) {
        const ak_column_t *c = &schema->cols[i];
        add_ent(d, c->name, i, SP_NONE);
        if (c->key)
            d->key_mask |= UINT64_C(1) << i;
        if (c->required)
            d->req_mask |= UINT64_C(1) << i;
    }
    d->keyed = d->key_mask != 0;
    add_ent(d, "op", -1, SP_OP);
    add_ent(d, "before", -1, SP_BEFORE);
    add_ent(d, "after", -1, SP_AFTER);
    add_ent(d, "ts_ms", -1, SP_TS_MS);
    add_ent(d, "schema", -1, SP_SCHEMA);
    add_ent(d, "payload", -1, SP_PAYLOAD);
    size_t nc = (size_t)(schema->n ? schema->n : 1);
    for (int l = 0; l < 2; l++) {
        img_t *ims[3] = {&d->fr[l].row, &d->fr[l].before, &d->fr[l].after};
        for (int k = 0; k < 3; k++) {
            ims[k]->v = d->vals + (size_t)(l * 3 + k) * nc;
            ims[k]->eoff = d->offs + (size_t)(l * 3 + k) * nc;
        }
    }
    *out = d;
    return 0;
}

void ak_json_decoder_free(ak_json_decoder_t *d)
{
    if (!d)
        return;
    ak_free(d->slots);
    ak_free(d->vals);
    ak_free(d->offs);
    ak_free(d->scratch);
    ak_free(d->sch_cache);
    ak_free(d);
}

void ak_json_decoder_set_borrow(ak_json_decoder_t *d, bool borrow) { d->borrow = borrow; }

int ak_json_decode(ak_json_decoder_t *d, const char *line, size_t n, uint64_t pos, ak_batch_t *batch, ak_err_t *err)
{
    if (!batch->schema || batch->schema->n != d->ncols)
        return ak_errf(err, AK_E_USAGE, "the batch's schema is not the decoder's");
    const char *p = line, *end = line + n;
    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a UTF-8 byte order mark, as editors write on line 1 */
    p = ak__json_ws(p, end);
    d->base = line;
    if (p == end)
        return 0;
    if (*p == 'n' && end - p >= 4 && memcmp(p, "null", 4) == 0 && ak__json_ws(p + 4, end) == end)
        return 0;
    if (*p != '{')
        return ak__json_syn(d->base, err, p, end, "expected a JSON object");
    if (n > UINT32_MAX) /* offsets and text lengths are 32-bit */
        return ak_errf(err, AK_E_PARSE, "a line of %zu bytes is longer than the 4 GiB limit", n);
    /* unescaped text is never longer than its source; a payload may be
     * decoded twice (schema after payload): 2n is always enough */
    if (d->scap < 2 * n + 64) {
        size_t cap = 2 * n + 64 > 4096 ? 2 * n + 64 : 4096;
        char *s = ak_realloc(d->scratch, cap);
        if (!s)
            return ak_err_nomem(err);
        d->scratch = s;
        d->scap = cap;
    }
    d->slen = 0;
    d->have_hints = false;
    frame_t *f = &d->fr[0];
    if (!(p = decode_frame(d, 0, p, end, err)))
        return -1;
    p = ak__json_ws(p, end);
    if (p != end)
        return ak__json_syn(d->base, err, p, end, "unexpected data after the JSON object");

    if (is_envelope(f))
        return emit_envelope(d, batch, f, NULL, end, pos, err) ? -1 : 1;
    if (f->schema_kind != K_NONE && (f->payload_kind == K_OBJ || f->payload_kind == K_NULL)) {
        if (f->payload_kind == K_NULL)
            return 0; /* Connect tombstone */
        if (f->payload_early && d->have_hints &&
            !decode_frame(d, 1, d->base + f->payload_off, end, err)) /* now with the schema's units */
            return -1;
        frame_t *g = &d->fr[1];
        const uint8_t *hint = d->have_hints ? d->hint : NULL;
        if (is_envelope(g))
            return emit_envelope(d, batch, g, hint, end, pos, err) ? -1 : 1;
        return emit_upsert(d, batch, &g->row, hint, end, NULL, pos, 0, 0, err) ? -1 : 1;
    }
    return emit_upsert(d, batch, &f->row, NULL, end, NULL, pos, 0, 0, err) ? -1 : 1;
}
