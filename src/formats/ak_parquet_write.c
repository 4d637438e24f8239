/* ak_parquet_write.c - the Parquet writer: one row group buffered in
 * columnar form, flushed as column chunks of v1 pages, then the footer. */
#include "ak_parquet.h"
#include "ak_parquet_int.h"

#include "ak_alloc.h"
#include "ak_io.h"
#include "ak_thrift.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DICT_MAX_ENTRIES 65536
#define DICT_MAX_BYTES (1u << 20)

/* Running min/max of one column (row group or file). */
typedef struct pq_bounds {
    bool has;
    ak_val_t mn, mx;      /* TEXT: point into the buffers below */
    ak_buf_t mn_s, mx_s;
} pq_bounds_t;

typedef struct pq_wcol {
    ak_pq_col_t def; /* name owned */
    int ptype;
    int width; /* PLAIN bytes per value; 0 for BYTE_ARRAY; 1 for BOOLEAN (bit-packed on output) */

    /* the buffered row group */
    uint8_t *defs; /* optional columns: 1 present, 0 NULL, per row */
    size_t defs_cap;
    ak_buf_t plain; /* PLAIN values when not dictionary-encoded */
    bool dict_on;
    ak_buf_t dict;      /* PLAIN distinct values: the dictionary page */
    uint32_t *dict_off; /* where entry k starts in dict */
    size_t dict_off_cap;
    uint32_t ndict;
    uint32_t *slots; /* open addressing: entry + 1, 0 empty */
    uint32_t nslots;
    uint32_t *idx; /* dictionary index per non-NULL value */
    size_t idx_cap;
    size_t nvals; /* non-NULL values in the row group */
    int64_t nulls, nans;
    pq_bounds_t rg;

    /* the whole file */
    int64_t f_values, f_nulls, f_nans, f_bytes;
    pq_bounds_t file;
} pq_wcol_t;

struct ak_pq_writer {
    char *path, *tmp;
    int fd;
    bool broken; /* an I/O or allocation failure: only abort is left */
    ak_pq_opts_t o;
    int codec; /* parquet.thrift value */
    int ncols;
    pq_wcol_t *cols;
    int64_t rg_rows, rows;
    uint64_t off; /* bytes written so far */
    ak_buf_t rgs; /* the RowGroup structs of the footer, back to back */
    int nrg;
    int64_t *rg_offsets;
    size_t rg_offsets_cap;
    ak_buf_t page, comp, hdr, out; /* scratch for flushing */
    ak_pq_codec_ctx_t cc;
};

/* ---- bounds ---- */

static int cmp_text(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* a < b in the column's order (NaN never reaches here) */
static int cmp_val(int type, const ak_val_t *a, const ak_val_t *b)
{
    switch (type) {
    case AK_TEXT: return cmp_text(a->s, a->n, b->s, b->n);
    case AK_FLOAT:
    case AK_DOUBLE: return (a->d > b->d) - (a->d < b->d);
    default: return (a->i > b->i) - (a->i < b->i);
    }
}

static void set_bound(ak_val_t *dst, ak_buf_t *s, const ak_val_t *v)
{
    *dst = *v;
    if (v->type == AK_TEXT) {
        ak_buf_clear(s);
        ak_buf_put(s, v->s, v->n);
        dst->s = s->data ? s->data : "";
    }
}

static void bounds_add(pq_bounds_t *b, int type, const ak_val_t *v)
{
    if (!b->has) {
        set_bound(&b->mn, &b->mn_s, v);
        set_bound(&b->mx, &b->mx_s, v);
        b->has = true;
        return;
    }
    if (cmp_val(type, v, &b->mn) < 0)
        set_bound(&b->mn, &b->mn_s, v);
    if (cmp_val(type, v, &b->mx) > 0)
        set_bound(&b->mx, &b->mx_s, v);
}

static void bounds_free(pq_bounds_t *b)
{
    ak_buf_free(&b->mn_s);
    ak_buf_free(&b->mx_s);
    b->has = false;
}

/* The bounds as written: a zero minimum is -0.0 and a zero maximum +0.0,
 * as parquet.thrift asks of floating-point statistics. */
static ak_val_t bound_out(const ak_val_t *v, bool is_min)
{
    ak_val_t r = *v;
    if ((v->type == AK_FLOAT || v->type == AK_DOUBLE) && v->d == 0)
        r.d = is_min ? -0.0 : 0.0;
    return r;
}

/* PLAIN bytes of a non-NULL value (statistics and dictionary keys; no
 * length prefix for TEXT). */
static size_t plain_bytes(const pq_wcol_t *c, const ak_val_t *v, uint8_t tmp[8], const uint8_t **p)
{
    *p = tmp;
    switch (c->def.type) {
    case AK_TEXT: *p = (const uint8_t *)v->s; return v->n;
    case AK_BOOL: tmp[0] = v->i != 0; return 1;
    case AK_DATE: ak_le_put32(tmp, (uint32_t)(int32_t)v->i); return 4;
    case AK_FLOAT: {
        float f = (float)v->d;
        uint32_t u;
        memcpy(&u, &f, 4);
        ak_le_put32(tmp, u);
        return 4;
    }
    case AK_DOUBLE: {
        uint64_t u;
        memcpy(&u, &v->d, 8);
        ak_le_put64(tmp, u);
        return 8;
    }
    default: ak_le_put64(tmp, (uint64_t)v->i); return 8;
    }
}

/* ---- opening ---- */

static int col_setup(pq_wcol_t *c, const ak_pq_col_t *d, ak_err_t *err)
{
    switch (d->type) {
    case AK_BOOL: c->ptype = PQ_BOOLEAN; c->width = 1; break;
    case AK_INT:
    case AK_TIMESTAMP: c->ptype = PQ_INT64; c->width = 8; break;
    case AK_FLOAT: c->ptype = PQ_FLOAT; c->width = 4; break;
    case AK_DOUBLE: c->ptype = PQ_DOUBLE; c->width = 8; break;
    case AK_DATE: c->ptype = PQ_INT32; c->width = 4; break;
    case AK_TEXT: c->ptype = PQ_BYTE_ARRAY; c->width = 0; break;
    default:
        return ak_errf(err, AK_E_UNSUPPORTED, "column %s: type %s cannot be written to Parquet", d->name,
                       ak_type_name(d->type));
    }
    c->def = *d;
    if (!(c->def.name = ak_strdup(d->name)))
        return ak_err_nomem(err);
    return 0;
}

static void writer_free(ak_pq_writer_t *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->ncols; i++) {
        pq_wcol_t *c = &w->cols[i];
        ak_free((char *)c->def.name);
        ak_free(c->defs);
        ak_buf_free(&c->plain);
        ak_buf_free(&c->dict);
        ak_free(c->dict_off);
        ak_free(c->slots);
        ak_free(c->idx);
        bounds_free(&c->rg);
        bounds_free(&c->file);
    }
    ak_free(w->cols);
    ak_buf_free(&w->rgs);
    ak_free(w->rg_offsets);
    ak_buf_free(&w->page);
    ak_buf_free(&w->comp);
    ak_buf_free(&w->hdr);
    ak_buf_free(&w->out);
    ak_pq_codec_free(&w->cc);
    if (w->fd >= 0)
        close(w->fd);
    ak_free(w->path);
    ak_free(w->tmp);
    ak_free(w);
}

static void rg_reset(ak_pq_writer_t *w)
{
    for (int i = 0; i < w->ncols; i++) {
        pq_wcol_t *c = &w->cols[i];
        ak_buf_clear(&c->plain);
        ak_buf_clear(&c->dict);
        c->dict_on = !w->o.no_dictionary && c->ptype != PQ_BOOLEAN;
        c->ndict = 0;
        if (c->slots)
            memset(c->slots, 0, c->nslots * sizeof *c->slots);
        c->nvals = 0;
        c->nulls = c->nans = 0;
        c->rg.has = false;
    }
    w->rg_rows = 0;
}

int ak_pq_writer_open(const char *path, const ak_pq_col_t *cols, int ncols, const ak_pq_opts_t *o,
                      ak_pq_writer_t **wp, ak_err_t *err)
{
    *wp = NULL;
    if (ncols <= 0 || ncols > 32767)
        return ak_errf(err, AK_E_USAGE, "%s: a Parquet file needs 1 to 32767 columns, not %d", path, ncols);
    ak_pq_writer_t *w = ak_calloc(1, sizeof *w);
    if (!w)
        return ak_err_nomem(err);
    w->fd = -1;
    if (o)
        w->o = *o;
    if (!w->o.zstd_level)
        w->o.zstd_level = 3;
    if (w->o.row_group_rows <= 0)
        w->o.row_group_rows = 1 << 20;
    if (!w->o.row_group_bytes)
        w->o.row_group_bytes = 128u << 20;
    if (!w->o.page_bytes)
        w->o.page_bytes = 1u << 20;
    if (w->o.page_bytes > PQ_MAX_PAGE / 2)
        w->o.page_bytes = PQ_MAX_PAGE / 2;
    switch (w->o.codec) {
    case AK_PQ_ZSTD: w->codec = PQ_CODEC_ZSTD; break;
    case AK_PQ_SNAPPY: w->codec = PQ_CODEC_SNAPPY; break;
    case AK_PQ_UNCOMPRESSED: w->codec = PQ_CODEC_UNCOMPRESSED; break;
    default:
        ak_free(w);
        return ak_errf(err, AK_E_USAGE, "%s: unknown Parquet codec %d", path, (int)w->o.codec);
    }
    if (!(w->cols = ak_calloc((size_t)ncols, sizeof *w->cols))) {
        ak_free(w);
        return ak_err_nomem(err);
    }
    for (int i = 0; i < ncols; i++) {
        for (int j = 0; j < i; j++)
            if (strcmp(cols[i].name, cols[j].name) == 0) {
                writer_free(w);
                return ak_errf(err, AK_E_USAGE, "%s: column %s appears twice", path, cols[i].name);
            }
        if (col_setup(&w->cols[i], &cols[i], err)) {
            writer_free(w);
            return -1;
        }
        w->ncols = i + 1;
    }
    rg_reset(w);
    size_t pl = strlen(path);
    w->path = ak_strdup(path);
    w->tmp = ak_malloc(pl + 5);
    if (!w->path || !w->tmp) {
        writer_free(w);
        return ak_err_nomem(err);
    }
    memcpy(w->tmp, path, pl);
    memcpy(w->tmp + pl, ".tmp", 5);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        ak_errf(err, AK_E_IO, "cannot create %s: %s", w->tmp, strerror(errno));
        writer_free(w);
        return -1;
    }
    if (ak_io_write_all(w->fd, PQ_MAGIC, 4)) {
        ak_errf(err, AK_E_IO, "cannot write %s: %s", w->tmp, strerror(errno));
        ak_pq_writer_abort(w);
        return -1;
    }
    w->off = 4;
    *wp = w;
    return 0;
}

/* ---- appending ---- */

static int dict_grow_table(pq_wcol_t *c)
{
    uint32_t n = c->nslots ? c->nslots * 2 : 1024;
    uint32_t *s = ak_calloc(n, sizeof *s);
    if (!s)
        return -1;
    for (uint32_t k = 0; k < c->ndict; k++) {
        const uint8_t *p = (const uint8_t *)c->dict.data + c->dict_off[k];
        size_t len = c->width ? (size_t)c->width : ak_le_get32(p);
        if (!c->width)
            p += 4;
        uint32_t h = (uint32_t)ak_hash_bytes(p, len, 0) & (n - 1);
        while (s[h])
            h = (h + 1) & (n - 1);
        s[h] = k + 1;
    }
    ak_free(c->slots);
    c->slots = s;
    c->nslots = n;
    return 0;
}

/* The dictionary is given up: the values so far become PLAIN. */
static void dict_to_plain(pq_wcol_t *c)
{
    for (size_t v = 0; v < c->nvals; v++) {
        const uint8_t *p = (const uint8_t *)c->dict.data + c->dict_off[c->idx[v]];
        size_t len = c->width ? (size_t)c->width : 4 + ak_le_get32(p);
        ak_buf_put(&c->plain, p, len);
    }
    c->dict_on = false;
}

/* Index of the value p[0..n) in the dictionary, added if new; -1 when the
 * dictionary is full (or memory ran out, which the buffers report). */
static int64_t dict_add(pq_wcol_t *c, const uint8_t *p, size_t n)
{
    if ((size_t)c->ndict * 2 >= c->nslots && dict_grow_table(c))
        return -1;
    uint32_t h = (uint32_t)ak_hash_bytes(p, n, 0) & (c->nslots - 1);
    for (;;) {
        uint32_t e = c->slots[h];
        if (!e)
            break;
        const uint8_t *q = (const uint8_t *)c->dict.data + c->dict_off[e - 1];
        if (c->width ? memcmp(q, p, n) == 0 : (ak_le_get32(q) == n && memcmp(q + 4, p, n) == 0))
            return e - 1;
        h = (h + 1) & (c->nslots - 1);
    }
    if (c->ndict >= DICT_MAX_ENTRIES || c->dict.len + n + 4 > DICT_MAX_BYTES)
        return -1;
    if (AK_GROW(c->dict_off, c->dict_off_cap, (size_t)c->ndict + 1))
        return -1;
    c->dict_off[c->ndict] = (uint32_t)c->dict.len;
    if (!c->width)
        ak_buf_put_u32le(&c->dict, (uint32_t)n);
    ak_buf_put(&c->dict, p, n);
    if (c->dict.oom)
        return -1;
    c->slots[h] = c->ndict + 1;
    return c->ndict++;
}

static int append_value(pq_wcol_t *c, const ak_val_t *v)
{
    uint8_t tmp[8];
    const uint8_t *p;
    size_t n = plain_bytes(c, v, tmp, &p);
    if (c->dict_on) {
        if (AK_GROW(c->idx, c->idx_cap, c->nvals + 1))
            return -1;
        int64_t k = dict_add(c, p, n);
        if (k >= 0) {
            c->idx[c->nvals++] = (uint32_t)k;
            return 0;
        }
        if (c->dict.oom)
            return -1;
        dict_to_plain(c);
    }
    if (!c->width)
        ak_buf_put_u32le(&c->plain, (uint32_t)n);
    ak_buf_put(&c->plain, p, n);
    c->nvals++;
    return c->plain.oom ? -1 : 0;
}

static int flush_row_group(ak_pq_writer_t *w, ak_err_t *err);

static size_t rg_bytes(const ak_pq_writer_t *w)
{
    size_t b = 0;
    for (int i = 0; i < w->ncols; i++) {
        const pq_wcol_t *c = &w->cols[i];
        b += c->plain.len + c->dict.len + (c->dict_on ? c->nvals * 4 : 0) + (size_t)w->rg_rows;
    }
    return b;
}

int ak_pq_write_row(ak_pq_writer_t *w, const ak_val_t *row, ak_err_t *err)
{
    if (w->broken)
        return ak_errf(err, AK_E_STATE, "%s: an earlier write failed; the file is abandoned", w->path);
    /* check the whole row first, so a bad row changes nothing */
    for (int i = 0; i < w->ncols; i++) {
        const pq_wcol_t *c = &w->cols[i];
        const ak_val_t *v = &row[i];
        if (v->type == AK_NULL) {
            if (c->def.required)
                return ak_errf(err, AK_E_TYPE, "%s: column %s is required but the row has NULL", w->path,
                               c->def.name);
            continue;
        }
        if (v->type != c->def.type)
            return ak_errf(err, AK_E_TYPE, "%s: column %s is %s but the row has a %s", w->path, c->def.name,
                           ak_type_name(c->def.type), ak_type_name((ak_type_t)v->type));
        if (v->type == AK_DATE && (v->i < INT32_MIN || v->i > INT32_MAX))
            return ak_errf(err, AK_E_RANGE, "%s: column %s: date %lld is outside Parquet's int32 days",
                           w->path, c->def.name, (long long)v->i);
    }
    for (int i = 0; i < w->ncols; i++) {
        pq_wcol_t *c = &w->cols[i];
        const ak_val_t *v = &row[i];
        bool present = v->type != AK_NULL;
        if (!c->def.required) {
            if ((size_t)w->rg_rows >= c->defs_cap && AK_GROW(c->defs, c->defs_cap, (size_t)w->rg_rows + 1))
                goto nomem;
            c->defs[w->rg_rows] = present;
        }
        if (!present) {
            c->nulls++;
            continue;
        }
        if (append_value(c, v))
            goto nomem;
        if ((v->type == AK_FLOAT || v->type == AK_DOUBLE) && isnan(v->d))
            c->nans++;
        else
            bounds_add(&c->rg, c->def.type, v);
    }
    w->rg_rows++;
    w->rows++;
    if (w->rg_rows >= w->o.row_group_rows || rg_bytes(w) >= w->o.row_group_bytes)
        return flush_row_group(w, err);
    return 0;
nomem:
    w->broken = true;
    return ak_err_nomem(err);
}

/* ---- flushing ---- */

static void put_stat_value(ak_tw_t *t, int16_t id, const pq_wcol_t *c, const ak_val_t *v)
{
    uint8_t tmp[8];
    const uint8_t *p;
    size_t n = plain_bytes(c, v, tmp, &p);
    ak_tw_binary(t, id, p, n);
}

/* Writes one page (header + compressed body from w->page) to w->out. */
static int emit_page(ak_pq_writer_t *w, int type, int32_t nvalues, int encoding, int64_t *unc, int64_t *cmp,
                     ak_err_t *err)
{
    if (w->page.oom)
        return ak_err_nomem(err);
    if (w->page.len > PQ_MAX_PAGE)
        return ak_errf(err, AK_E_RANGE, "%s: a page of %zu bytes is too large", w->path, w->page.len);
    ak_buf_clear(&w->comp);
    if (ak_pq_compress(&w->cc, w->codec, w->o.zstd_level, w->page.data, w->page.len, &w->comp, err))
        return -1;
    ak_buf_clear(&w->hdr);
    ak_tw_t t;
    ak_tw_init(&t, &w->hdr);
    ak_tw_i32(&t, 1, type);
    ak_tw_i32(&t, 2, (int32_t)w->page.len);
    ak_tw_i32(&t, 3, (int32_t)w->comp.len);
    if (type == PQ_PAGE_DICTIONARY) {
        ak_tw_struct_begin(&t, 7);
        ak_tw_i32(&t, 1, nvalues);
        ak_tw_i32(&t, 2, PQ_ENC_PLAIN);
        ak_tw_struct_end(&t);
    } else {
        ak_tw_struct_begin(&t, 5);
        ak_tw_i32(&t, 1, nvalues);
        ak_tw_i32(&t, 2, encoding);
        ak_tw_i32(&t, 3, PQ_ENC_RLE);
        ak_tw_i32(&t, 4, PQ_ENC_RLE);
        ak_tw_struct_end(&t);
    }
    ak_tw_struct_end(&t);
    ak_buf_put(&w->out, w->hdr.data, w->hdr.len);
    ak_buf_put(&w->out, w->comp.data, w->comp.len);
    if (w->hdr.oom || w->out.oom)
        return ak_err_nomem(err);
    *unc += (int64_t)(w->hdr.len + w->page.len);
    *cmp += (int64_t)(w->hdr.len + w->comp.len);
    return 0;
}

/* Writes column c's chunk of the row group and appends its ColumnChunk to
 * the RowGroup being built in t. */
static int flush_column(ak_pq_writer_t *w, pq_wcol_t *c, ak_tw_t *t, int64_t *rg_unc, int64_t *rg_cmp,
                        ak_err_t *err)
{
    int64_t unc = 0, cmp = 0;
    uint64_t start = w->off;
    int64_t dict_off = -1;
    ak_buf_clear(&w->out);
    if (c->dict_on && c->ndict == 0) /* only NULLs: no (empty) dictionary page */
        c->dict_on = false;
    int bw = c->dict_on ? ak_pq_bit_width(c->ndict ? c->ndict - 1 : 0) : 0;
    if (c->dict_on) {
        ak_buf_clear(&w->page);
        ak_buf_put(&w->page, c->dict.data, c->dict.len);
        dict_off = (int64_t)start;
        if (emit_page(w, PQ_PAGE_DICTIONARY, (int32_t)c->ndict, PQ_ENC_PLAIN, &unc, &cmp, err))
            return -1;
    }
    uint64_t data_off = start + w->out.len;
    size_t rows = (size_t)w->rg_rows, r = 0, v = 0, boff = 0; /* row, value, byte in plain */
    const char *pl = c->plain.data;
    do {
        /* a page: rows r..r1, values v..v1, plain bytes boff..boff1 */
        size_t r1 = r, v1 = v, b1 = boff, est = 0;
        size_t cap = c->dict_on ? w->o.page_bytes * 8 : w->o.page_bytes; /* dictionary: bits */
        while (r1 < rows && est < cap) {
            bool present = c->def.required || c->defs[r1];
            r1++;
            est += !c->def.required; /* a bit of definition level: pages of NULLs end too */
            if (!present)
                continue;
            if (c->dict_on) {
                est += (size_t)bw;
            } else if (c->width) {
                est += (size_t)c->width;
                b1 += (size_t)c->width;
            } else {
                size_t len = 4 + ak_le_get32((const uint8_t *)pl + b1);
                est += len;
                b1 += len;
            }
            v1++;
        }
        ak_buf_clear(&w->page);
        if (!c->def.required) {
            size_t at = w->page.len;
            ak_buf_put_u32le(&w->page, 0);
            ak_pq_hyb_encode(&w->page, c->defs + r, NULL, r1 - r, 1);
            if (!w->page.oom)
                ak_le_put32((uint8_t *)w->page.data + at, (uint32_t)(w->page.len - at - 4));
        }
        int enc = PQ_ENC_PLAIN;
        if (c->dict_on) {
            enc = PQ_ENC_RLE_DICTIONARY;
            ak_buf_putc(&w->page, (char)bw);
            if (v1 > v)
                ak_pq_hyb_encode(&w->page, NULL, c->idx + v, v1 - v, bw);
        } else if (c->ptype == PQ_BOOLEAN) {
            if (v1 > v)
                ak_pq_put_bools(&w->page, (const uint8_t *)pl + boff, v1 - v);
        } else if (b1 > boff) {
            ak_buf_put(&w->page, pl + boff, b1 - boff);
        }
        if (emit_page(w, PQ_PAGE_DATA, (int32_t)(r1 - r), enc, &unc, &cmp, err))
            return -1;
        r = r1;
        v = v1;
        boff = b1;
    } while (r < rows);
    if (ak_io_write_all(w->fd, w->out.data, w->out.len)) {
        w->broken = true;
        return ak_errf(err, AK_E_IO, "cannot write %s: %s", w->tmp, strerror(errno));
    }
    w->off += w->out.len;

    /* ColumnChunk */
    ak_tw_struct_begin(t, -1);
    ak_tw_i64(t, 2, 0); /* file_offset: no metadata outside the footer */
    ak_tw_struct_begin(t, 3);
    ak_tw_i32(t, 1, c->ptype);
    bool opt = !c->def.required;
    uint32_t nenc = 1 + (c->dict_on || opt) + c->dict_on;
    ak_tw_list_begin(t, 2, AK_TT_I32, nenc);
    ak_tw_put_i32(t, PQ_ENC_PLAIN);
    if (c->dict_on || opt)
        ak_tw_put_i32(t, PQ_ENC_RLE);
    if (c->dict_on)
        ak_tw_put_i32(t, PQ_ENC_RLE_DICTIONARY);
    ak_tw_list_begin(t, 3, AK_TT_BINARY, 1);
    ak_tw_put_binary(t, c->def.name, strlen(c->def.name));
    ak_tw_i32(t, 4, w->codec);
    ak_tw_i64(t, 5, w->rg_rows);
    ak_tw_i64(t, 6, unc);
    ak_tw_i64(t, 7, cmp);
    ak_tw_i64(t, 9, (int64_t)data_off);
    if (dict_off >= 0)
        ak_tw_i64(t, 11, dict_off);
    ak_tw_struct_begin(t, 12);
    ak_tw_i64(t, 3, c->nulls);
    if (c->rg.has) {
        ak_val_t mx = bound_out(&c->rg.mx, false), mn = bound_out(&c->rg.mn, true);
        put_stat_value(t, 5, c, &mx);
        put_stat_value(t, 6, c, &mn);
    }
    if (c->ptype == PQ_FLOAT || c->ptype == PQ_DOUBLE)
        ak_tw_i64(t, 9, c->nans);
    ak_tw_struct_end(t); /* Statistics */
    ak_tw_struct_end(t); /* ColumnMetaData */
    ak_tw_struct_end(t); /* ColumnChunk */

    *rg_unc += unc;
    *rg_cmp += cmp;
    c->f_values += w->rg_rows;
    c->f_nulls += c->nulls;
    c->f_nans += c->nans;
    c->f_bytes += cmp;
    if (c->rg.has) {
        bounds_add(&c->file, c->def.type, &c->rg.mn);
        bounds_add(&c->file, c->def.type, &c->rg.mx);
    }
    return 0;
}

static int flush_row_group(ak_pq_writer_t *w, ak_err_t *err)
{
    if (w->rg_rows == 0)
        return 0;
    if (w->nrg >= INT16_MAX) {
        w->broken = true;
        return ak_errf(err, AK_E_RANGE, "%s: more than %d row groups", w->path, INT16_MAX);
    }
    if (AK_GROW(w->rg_offsets, w->rg_offsets_cap, (size_t)w->nrg + 1)) {
        w->broken = true;
        return ak_err_nomem(err);
    }
    uint64_t rg_start = w->off;
    ak_tw_t t;
    ak_tw_init(&t, &w->rgs);
    ak_tw_list_begin(&t, 1, AK_TT_STRUCT, (uint32_t)w->ncols);
    int64_t unc = 0, cmp = 0;
    for (int i = 0; i < w->ncols; i++)
        if (flush_column(w, &w->cols[i], &t, &unc, &cmp, err)) {
            w->broken = true;
            return -1;
        }
    ak_tw_i64(&t, 2, unc);
    ak_tw_i64(&t, 3, w->rg_rows);
    ak_tw_i64(&t, 5, (int64_t)rg_start);
    ak_tw_i64(&t, 6, cmp);
    ak_tw_field(&t, 7, AK_TT_I16);
    ak_tw_put_i32(&t, w->nrg);
    ak_tw_struct_end(&t);
    if (w->rgs.oom) {
        w->broken = true;
        return ak_err_nomem(err);
    }
    w->rg_offsets[w->nrg++] = (int64_t)rg_start;
    rg_reset(w);
    return 0;
}

/* ---- the footer ---- */

static void put_schema(ak_tw_t *t, const ak_pq_writer_t *w)
{
    ak_tw_list_begin(t, 2, AK_TT_STRUCT, (uint32_t)w->ncols + 1);
    ak_tw_struct_begin(t, -1);
    ak_tw_string(t, 4, "schema");
    ak_tw_i32(t, 5, w->ncols);
    ak_tw_struct_end(t);
    for (int i = 0; i < w->ncols; i++) {
        const pq_wcol_t *c = &w->cols[i];
        ak_tw_struct_begin(t, -1);
        ak_tw_i32(t, 1, c->ptype);
        ak_tw_i32(t, 3, c->def.required ? PQ_REQUIRED : PQ_OPTIONAL);
        ak_tw_string(t, 4, c->def.name);
        int ct = c->def.type == AK_TEXT ? PQ_CT_UTF8 : c->def.type == AK_DATE ? PQ_CT_DATE
               : c->def.type == AK_TIMESTAMP ? PQ_CT_TIMESTAMP_MICROS : -1;
        if (ct >= 0)
            ak_tw_i32(t, 6, ct);
        if (c->def.field_id > 0)
            ak_tw_i32(t, 9, c->def.field_id);
        if (ct >= 0) {
            ak_tw_struct_begin(t, 10); /* LogicalType union */
            if (c->def.type == AK_TIMESTAMP) {
                ak_tw_struct_begin(t, PQ_LT_TIMESTAMP);
                ak_tw_bool(t, 1, true); /* isAdjustedToUTC */
                ak_tw_struct_begin(t, 2); /* TimeUnit */
                ak_tw_struct_begin(t, 2); /* MICROS */
                ak_tw_struct_end(t);
                ak_tw_struct_end(t);
                ak_tw_struct_end(t);
            } else {
                ak_tw_struct_begin(t, c->def.type == AK_TEXT ? PQ_LT_STRING : PQ_LT_DATE);
                ak_tw_struct_end(t);
            }
            ak_tw_struct_end(t);
        }
        ak_tw_struct_end(t);
    }
}

static int write_footer(ak_pq_writer_t *w, ak_err_t *err)
{
    ak_buf_clear(&w->out);
    ak_tw_t t;
    ak_tw_init(&t, &w->out);
    ak_tw_i32(&t, 1, 1);
    put_schema(&t, w);
    ak_tw_i64(&t, 3, w->rows);
    ak_tw_list_begin(&t, 4, AK_TT_STRUCT, (uint32_t)w->nrg);
    ak_buf_put(&w->out, w->rgs.data, w->rgs.len);
    ak_tw_string(&t, 6, "akili");
    ak_tw_list_begin(&t, 7, AK_TT_STRUCT, (uint32_t)w->ncols);
    for (int i = 0; i < w->ncols; i++) { /* ColumnOrder: TYPE_ORDER */
        ak_tw_struct_begin(&t, -1);
        ak_tw_struct_begin(&t, 1);
        ak_tw_struct_end(&t);
        ak_tw_struct_end(&t);
    }
    ak_tw_struct_end(&t);
    size_t flen = w->out.len;
    ak_buf_put_u32le(&w->out, (uint32_t)flen);
    ak_buf_put(&w->out, PQ_MAGIC, 4);
    if (w->out.oom)
        return ak_err_nomem(err);
    if (ak_io_write_all(w->fd, w->out.data, w->out.len))
        return ak_errf(err, AK_E_IO, "cannot write %s: %s", w->tmp, strerror(errno));
    w->off += w->out.len;
    return 0;
}

static int fill_stats(const ak_pq_writer_t *w, ak_pq_stats_t *st, ak_err_t *err)
{
    memset(st, 0, sizeof *st);
    st->rows = w->rows;
    st->file_bytes = (int64_t)w->off;
    st->cols = ak_calloc((size_t)w->ncols, sizeof *st->cols);
    st->row_group_offsets = ak_calloc((size_t)w->nrg + 1, sizeof *st->row_group_offsets);
    if (!st->cols || !st->row_group_offsets) {
        ak_pq_stats_free(st);
        return ak_err_nomem(err);
    }
    st->ncols = w->ncols;
    st->nrow_groups = w->nrg;
    if (w->nrg)
        memcpy(st->row_group_offsets, w->rg_offsets, (size_t)w->nrg * sizeof *st->row_group_offsets);
    for (int i = 0; i < w->ncols; i++) {
        const pq_wcol_t *c = &w->cols[i];
        ak_pq_colstat_t *s = &st->cols[i];
        s->field_id = c->def.field_id;
        s->values = c->f_values;
        s->nulls = c->f_nulls;
        s->nans = c->f_nans;
        s->bytes = c->f_bytes;
        s->has_bounds = c->file.has;
        if (!s->has_bounds)
            continue;
        s->min = bound_out(&c->file.mn, true);
        s->max = bound_out(&c->file.mx, false);
        if (c->def.type == AK_TEXT) {
            s->min.s = ak_memdup(c->file.mn.s, c->file.mn.n + 1);
            s->max.s = ak_memdup(c->file.mx.s, c->file.mx.n + 1);
            if (!s->min.s || !s->max.s) {
                ak_pq_stats_free(st);
                return ak_err_nomem(err);
            }
        }
    }
    return 0;
}

void ak_pq_stats_free(ak_pq_stats_t *st)
{
    if (!st)
        return;
    for (int i = 0; st->cols && i < st->ncols; i++) {
        ak_pq_colstat_t *s = &st->cols[i];
        if (s->min.type == AK_TEXT)
            ak_free((char *)s->min.s);
        if (s->max.type == AK_TEXT)
            ak_free((char *)s->max.s);
    }
    ak_free(st->cols);
    ak_free(st->row_group_offsets);
    memset(st, 0, sizeof *st);
}

int ak_pq_writer_finish(ak_pq_writer_t *w, ak_pq_stats_t *st, ak_err_t *err)
{
    if (st)
        memset(st, 0, sizeof *st);
    if (w->broken) {
        ak_errf(err, AK_E_STATE, "%s: an earlier write failed; the file is abandoned", w->path);
        goto fail;
    }
    if (flush_row_group(w, err) || write_footer(w, err))
        goto fail;
    if (ak_io_fsync(w->fd)) {
        ak_errf(err, AK_E_IO, "cannot sync %s: %s", w->tmp, strerror(errno));
        goto fail;
    }
    if (close(w->fd)) {
        w->fd = -1;
        ak_errf(err, AK_E_IO, "cannot close %s: %s", w->tmp, strerror(errno));
        goto fail;
    }
    w->fd = -1;
    if (rename(w->tmp, w->path)) {
        ak_errf(err, AK_E_IO, "cannot rename %s to %s: %s", w->tmp, w->path, strerror(errno));
        goto fail;
    }
    char *slash = strrchr(w->path, '/');
    if (slash == w->path) {
        if (ak_io_fsync_dir("/", err))
            goto fail_done;
    } else if (slash) {
        *slash = '\0';
        int rc = ak_io_fsync_dir(w->path, err);
        *slash = '/';
        if (rc)
            goto fail_done;
    } else if (ak_io_fsync_dir(".", err)) {
        goto fail_done;
    }
    if (st && fill_stats(w, st, err))
        goto fail_done;
    writer_free(w);
    return 0;
fail:
    ak_pq_writer_abort(w);
    return -1;
fail_done: /* the file is in place: a sync or stats failure does not remove it */
    writer_free(w);
    return -1;
}

void ak_pq_writer_abort(ak_pq_writer_t *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    if (w->tmp)
        unlink(w->tmp);
    writer_free(w);
}
