/* ak_csv.c - RFC 4180 framing and decoding (see ak_csv.h for the rules).
 *
 * One pass per record: each field's end is found 16 bytes at a time (SSE2,
 * else bytewise), only fields that map to a schema column are converted, and
 * a field without doubled quotes is used in place.  Values are staged in the
 * decoder and copied into the batch only when the whole record is good, with
 * one arena allocation for all its strings.
 */
#include "ak_csv.h"

#include "ak_alloc.h"
#include "ak_convert.h"

#include <string.h>
#include <strings.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

struct ak_csv_decoder {
    const ak_schema_t *schema;
    int ncols;
    int nfields;
    int16_t *field_col; /* header field -> column, or -1 */
    uint64_t mapped;    /* columns that the header has */
    uint64_t req_mask;
    ak_val_t *v;        /* staged values of the record being decoded */
    char *scratch;      /* fields with doubled quotes, unescaped */
    size_t scap;
};

/* First byte in [p, end) equal to a, b or c; end if none. */
static inline const char *find3(const char *p, const char *end, char a, char b, char c)
{
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)), _mm_cmpeq_epi8(x, vc));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && *p != a && *p != b && *p != c)
        p++;
    return p;
}

size_t ak_csv_record_len(const char *p, size_t n, bool at_eof)
{
    const char *s = p, *end = p + n;
    while (s < end) {
        const char *q = find3(s, end, '"', '\n', '\n');
        if (q >= end)
            break;
        if (*q == '\n')
            return (size_t)(q - p) + 1;
        if (q != p && q[-1] != ',') { /* a stray quote: data, rejected later */
            s = q + 1;
            continue;
        }
        /* a quoted field: find its closing quote */
        s = q + 1;
        for (;;) {
            q = memchr(s, '"', (size_t)(end - s));
            if (!q)
                return at_eof ? n : 0;
            if (q + 1 < end && q[1] == '"') {
                s = q + 2;
                continue;
            }
            if (q + 1 >= end && !at_eof)
                return 0; /* `"` then more data could still be `""` */
            s = q + 1;
            break;
        }
    }
    return at_eof ? n : 0;
}

/* A field: its bytes (in place or unescaped into out), and where it ended. */
typedef struct field {
    const char *s;
    size_t n;
    bool quoted;
    const char *next; /* the `,` after it, or end */
} field_t;

/* Parses the field at p; 0, or -1 with err (idx: 1-based field number). */
static int parse_field(const char *p, const char *base, const char *end, char *out, int idx, field_t *f, ak_err_t *err)
{
    if (p < end && *p == '"') {
        const char *s = p + 1, *q;
        size_t o = 0;
        bool esc = false;
        for (;;) {
            q = memchr(s, '"', (size_t)(end - s));
            if (!q)
                return ak_errf(err, AK_E_PARSE, "field %d: quoted field starting at byte %zu is not closed", idx,
                               (size_t)(p - base));
            if (q + 1 < end && q[1] == '"') {
                if (out) {
                    memcpy(out + o, s, (size_t)(q - s) + 1);
                    o += (size_t)(q - s) + 1;
                }
                esc = true;
                s = q + 2;
                continue;
            }
            break;
        }
        if (esc) {
            if (out) {
                memcpy(out + o, s, (size_t)(q - s));
                o += (size_t)(q - s);
            }
            f->s = out;
            f->n = o;
        } else {
            f->s = p + 1;
            f->n = (size_t)(q - p - 1);
        }
        f->quoted = true;
        f->next = q + 1;
        if (f->next < end && *f->next != ',') {
            unsigned char c = (unsigned char)*f->next;
            if (c > ' ' && c < 0x7F)
                return ak_errf(err, AK_E_PARSE, "field %d: unexpected `%c` after the closing quote at byte %zu", idx,
                               c, (size_t)(f->next - base));
            return ak_errf(err, AK_E_PARSE, "field %d: unexpected byte 0x%02X after the closing quote at byte %zu",
                           idx, c, (size_t)(f->next - base));
        }
        return 0;
    }
    const char *q = find3(p, end, ',', '"', ',');
    if (q < end && *q == '"')
        return ak_errf(err, AK_E_PARSE,
                       "field %d: a quote at byte %zu inside an unquoted field (quote the whole field and double "
                       "the quote)",
                       idx, (size_t)(q - base));
    f->s = p;
    f->n = (size_t)(q - p);
    f->quoted = false;
    f->next = q;
    return 0;
}

/* The record's content: without its LF / CRLF terminator. */
static size_t content_len(const char *rec, size_t len)
{
    if (len && rec[len - 1] == '\n') {
        len--;
        if (len && rec[len - 1] == '\r')
            len--;
    }
    return len;
}

int ak_csv_field_count(const ak_csv_decoder_t *d) { return d->nfields; }

void ak_csv_decoder_free(ak_csv_decoder_t *d)
{
    if (!d)
        return;
    ak_free(d->field_col);
    ak_free(d->v);
    ak_free(d->scratch);
    ak_free(d);
}

int ak_csv_decoder_new(const ak_schema_t *schema, const char *header, size_t len, ak_csv_decoder_t **out,
                       ak_err_t *err)
{
    *out = NULL;
    if (schema->n < 0 || schema->n > AK_MAX_COLUMNS)
        return ak_errf(err, AK_E_USAGE, "a CSV input may have at most %d columns", AK_MAX_COLUMNS);
    for (int i = 0; i < schema->n; i++)
        if (schema->cols[i].type == AK_NULL || schema->cols[i].type >= AK_TYPE__COUNT)
            return ak_errf(err, AK_E_USAGE, "column `%s` has no type", schema->cols[i].name);
        else if (ak_schema_find(schema, schema->cols[i].name, strlen(schema->cols[i].name)) != i)
            return ak_errf(err, AK_E_USAGE, "column `%s` appears twice in the schema", schema->cols[i].name);
    if (len >= 3 && memcmp(header, "\xEF\xBB\xBF", 3) == 0) {
        header += 3;
        len -= 3;
    }
    len = content_len(header, len);
    if (len == 0)
        return ak_errf(err, AK_E_PARSE, "the CSV header is empty");
    ak_csv_decoder_t *d = ak_calloc(1, sizeof *d);
    char *tmp = NULL;
    if (!d || !(tmp = ak_malloc(len)) || !(d->v = ak_calloc((size_t)(schema->n ? schema->n : 1), sizeof *d->v)))
        goto nomem;
    d->schema = schema;
    d->ncols = schema->n;
    /* count the fields, then map them */
    const char *end = header + len, *p = header;
    field_t f;
    int nf = 0;
    for (;;) {
        if (parse_field(p, header, end, NULL, nf + 1, &f, err)) {
            ak_err_prefix(err, "CSV header");
            goto fail;
        }
        nf++;
        if (f.next >= end)
            break;
        p = f.next + 1;
    }
    if (!(d->field_col = ak_malloc(sizeof *d->field_col * (size_t)nf)))
        goto nomem;
    d->nfields = nf;
    p = header;
    for (int i = 0; i < nf; i++) {
        parse_field(p, header, end, tmp, i + 1, &f, err);
        int c = ak_schema_find(schema, f.s, f.n);
        if (c >= 0 && (d->mapped >> c & 1)) {
            ak_errf(err, AK_E_CONFIG, "column `%s` appears twice in the CSV header", schema->cols[c].name);
            goto fail;
        }
        d->field_col[i] = (int16_t)c;
        if (c >= 0)
            d->mapped |= UINT64_C(1) << c;
        p = f.next + 1;
    }
    /* second chance, case-insensitive, for names that matched nothing */
    p = header;
    for (int i = 0; i < nf; i++) {
        parse_field(p, header, end, tmp, i + 1, &f, err);
        p = f.next + 1;
        if (d->field_col[i] >= 0)
            continue;
        int match = -1, count = 0;
        for (int c = 0; c < schema->n; c++)
            if (!(d->mapped >> c & 1) && strlen(schema->cols[c].name) == f.n &&
                strncasecmp(schema->cols[c].name, f.s, f.n) == 0) {
                match = c;
                count++;
            }
        if (count == 1) {
            d->field_col[i] = (int16_t)match;
            d->mapped |= UINT64_C(1) << match;
        }
    }
    for (int c = 0; c < schema->n; c++) {
        if (schema->cols[c].required)
            d->req_mask |= UINT64_C(1) << c;
        if (schema->cols[c].required && !(d->mapped >> c & 1)) {
            ak_errf(err, AK_E_CONFIG, "the CSV header has no column `%s`, which is required", schema->cols[c].name);
            goto fail;
        }
    }
    ak_free(tmp);
    *out = d;
    return 0;
nomem:
    ak_err_nomem(err);
fail:
    ak_free(tmp);
    ak_csv_decoder_free(d);
    return -1;
}

int ak_csv_decode(ak_csv_decoder_t *d, const char *rec, size_t len, uint64_t pos, ak_batch_t *b, ak_err_t *err)
{
    if (!b->schema || b->schema->n != d->ncols)
        return ak_errf(err, AK_E_USAGE, "the batch's schema is not the decoder's");
    len = content_len(rec, len);
    if (len == 0)
        return 0;
    if (len > UINT32_MAX) /* text lengths are 32-bit */
        return ak_errf(err, AK_E_PARSE, "a record of %zu bytes is longer than the 4 GiB limit", len);
    if (d->scap < len) {
        size_t cap = len > 4096 ? len : 4096;
        char *s = ak_realloc(d->scratch, cap);
        if (!s)
            return ak_err_nomem(err);
        d->scratch = s;
        d->scap = cap;
    }
    const char *end = rec + len, *p = rec;
    char *out = d->scratch;
    bool bad = false;
    int fi = 0;
    for (;;) {
        field_t f;
        if (parse_field(p, rec, end, out, fi + 1, &f, err))
            return -1;
        if (fi < d->nfields && d->field_col[fi] >= 0 && !bad) {
            int c = d->field_col[fi];
            const ak_column_t *col = &d->schema->cols[c];
            if (f.s == out)
                out += f.n;
            if (f.n == 0 && !f.quoted) {
                d->v[c] = ak_v_null();
            } else {
                int rc = ak_convert_text(col->type, f.s, f.n, &d->v[c]);
                if (rc != AK_CONV_OK) {
                    ak_convert_fail(col, rc, f.s, f.n, err);
                    bad = true; /* unless the field count is wrong, which says more */
                }
            }
        }
        fi++;
        if (f.next >= end)
            break;
        p = f.next + 1;
    }
    if (fi != d->nfields)
        return ak_errf(err, AK_E_PARSE, "expected %d field%s, got %d", d->nfields, d->nfields == 1 ? "" : "s", fi);
    if (bad)
        return -1;
    for (uint64_t m = d->req_mask; m; m &= m - 1) {
        int c = __builtin_ctzll(m);
        if (d->v[c].type == AK_NULL)
            return ak_errf(err, AK_E_TYPE, "missing required field `%s`", d->schema->cols[c].name);
    }
    ak_rec_t *r = ak_batch_add(b, AK_OP_UPSERT, pos);
    if (!r)
        return ak_err_nomem(err);
    r->present = d->mapped;
    size_t total = 0;
    for (uint64_t m = d->mapped; m; m &= m - 1) {
        int c = __builtin_ctzll(m);
        r->v[c] = d->v[c];
        if (d->v[c].type == AK_TEXT)
            total += d->v[c].n;
    }
    if (total) {
        char *o = ak_arena_alloc_bytes(&b->arena, total);
        if (!o) {
            ak_batch_pop(b);
            return ak_err_nomem(err);
        }
        for (uint64_t m = d->mapped; m; m &= m - 1) {
            ak_val_t *v = &r->v[__builtin_ctzll(m)];
            if (v->type == AK_TEXT) {
                memcpy(o, v->s, v->n);
                v->s = o;
                o += v->n;
            }
        }
    }
    return 1;
}
