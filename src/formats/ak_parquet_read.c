/* ak_parquet_read.c - the Parquet reader: footer, row groups, pages, rows.
 *
 * Nothing in the file is trusted: offsets and sizes are checked against the
 * file and the enclosing structure before use, page sizes are capped
 * (PQ_MAX_PAGE), counts against the bytes that must hold them.  One row
 * group's column chunks are held at a time, one page per column decoded.
 */
#include "ak_parquet.h"
#include "ak_parquet_int.h"

#include "ak_alloc.h"
#include "ak_convert.h"
#include "ak_io.h"
#include "ak_thrift.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { TS_MICROS, TS_MILLIS, TS_NANOS };

typedef struct pq_rchunk { /* a column chunk, as the footer describes it */
    int codec;
    int64_t start, len, num_values, nulls, nans, bytes;
    bool has_nulls, has_nans, has_min, has_max;
    const uint8_t *mn, *mx; /* into the footer */
    size_t mn_n, mx_n;
} pq_rchunk_t;

typedef struct pq_rcol {
    ak_pq_col_t def; /* name owned */
    int ptype;
    int ts_unit;
    /* the current chunk */
    const uint8_t *chunk;
    uint8_t *chunk_own; /* when read from a file */
    size_t chunk_len, pos;
    int codec;
    int64_t rows_left; /* in this row group */
    bool seen_data;
    /* dictionary */
    uint8_t *dict_buf;
    ak_val_t *dict;
    uint32_t ndict;
    bool has_dict;
    /* the current data page */
    uint8_t *page;
    size_t page_cap;
    int64_t page_left;
    ak_pq_hyb_t defs, idx;
    bool dict_enc;
    const uint8_t *vp, *vend;
    uint32_t bool_bit;
} pq_rcol_t;

struct ak_pq_file {
    int fd;
    const uint8_t *mem;
    uint64_t size;
    char *name;
    uint8_t *footer;
    size_t footer_len;
    int ncols;
    pq_rcol_t *cols;
    ak_pq_col_t *pub; /* the schema as returned by ak_pq_cols */
    int64_t num_rows;
    int nrg;
    int64_t *rg_rows;
    pq_rchunk_t *chunks; /* nrg x ncols */
    int rg;              /* the row group being read; -1 before the first */
    int64_t rg_left;
    ak_pq_codec_ctx_t cc;
};

static int corrupt(const ak_pq_file_t *f, ak_err_t *err, const char *what)
{
    return ak_errf(err, AK_E_CORRUPT, "%s: not a valid Parquet file: %s", f->name, what);
}

static int unsupported(const ak_pq_file_t *f, ak_err_t *err, const char *what)
{
    return ak_errf(err, AK_E_UNSUPPORTED, "%s: %s is not supported (flat files of plain and dictionary "
                   "encoded v1 pages only)", f->name, what);
}

static int read_at(ak_pq_file_t *f, uint64_t off, size_t n, uint8_t *dst, ak_err_t *err)
{
    if (off > f->size || n > f->size - off)
        return corrupt(f, err, "a range beyond the end of the file");
    if (f->mem) {
        if (n)
            memcpy(dst, f->mem + off, n);
        return 0;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = ak_io_pread(f->fd, dst + got, n - got, off + got);
        if (r < 0)
            return ak_errf(err, AK_E_IO, "cannot read %s: %s", f->name, strerror(errno));
        if (r == 0)
            return corrupt(f, err, "the file is shorter than it was");
        got += (size_t)r;
    }
    return 0;
}

/* ---- the footer ---- */

typedef struct pq_selem {
    int32_t type, repetition, num_children, converted, field_id;
    bool has_type, has_rep, has_children, has_name;
    int lt;                 /* LogicalType member, 0 none */
    int lt_unit;            /* TIMESTAMP/TIME unit */
    int lt_bits;            /* INTEGER */
    bool lt_signed;
    const uint8_t *name;
    size_t name_n;
} pq_selem_t;

static int parse_logical(ak_tr_t *r, pq_selem_t *e)
{
    int16_t id;
    uint8_t t;
    int rc;
    if (ak_tr_struct_begin(r))
        return -1;
    while ((rc = ak_tr_field(r, &id, &t)) == 1) {
        if (t != AK_TT_STRUCT) {
            if (ak_tr_skip(r, t))
                return -1;
            continue;
        }
        e->lt = id;
        if (ak_tr_struct_begin(r))
            return -1;
        int16_t id2;
        uint8_t t2;
        while ((rc = ak_tr_field(r, &id2, &t2)) == 1) {
            int32_t v;
            bool b;
            if ((id == PQ_LT_TIMESTAMP || id == 7) && id2 == 2 && t2 == AK_TT_STRUCT) {
                /* TimeUnit union: the member's id is the unit */
                int16_t id3;
                uint8_t t3;
                if (ak_tr_struct_begin(r))
                    return -1;
                while ((rc = ak_tr_field(r, &id3, &t3)) == 1) {
                    e->lt_unit = id3;
                    if (ak_tr_skip(r, t3))
                        return -1;
                }
                if (rc < 0)
                    return -1;
            } else if (id == PQ_LT_INTEGER && id2 == 1 && !ak_tr_i32(r, t2, &v)) {
                e->lt_bits = v;
            } else if (id == PQ_LT_INTEGER && id2 == 2 && !ak_tr_bool(r, t2, &b)) {
                e->lt_signed = b;
            } else if (r->why || ak_tr_skip(r, t2)) {
                return -1;
            }
        }
        if (rc < 0)
            return -1;
    }
    return rc;
}

static int parse_selem(ak_tr_t *r, pq_selem_t *e)
{
    memset(e, 0, sizeof *e);
    e->converted = -1;
    int16_t id;
    uint8_t t;
    int rc;
    if (ak_tr_struct_begin(r))
        return -1;
    while ((rc = ak_tr_field(r, &id, &t)) == 1) {
        int ok = -1;
        switch (id) {
        case 1: ok = ak_tr_i32(r, t, &e->type); e->has_type = true; break;
        case 3: ok = ak_tr_i32(r, t, &e->repetition); e->has_rep = true; break;
        case 4: ok = ak_tr_binary(r, t, &e->name, &e->name_n); e->has_name = true; break;
        case 5: ok = ak_tr_i32(r, t, &e->num_children); e->has_children = true; break;
        case 6: ok = ak_tr_i32(r, t, &e->converted); break;
        case 9: ok = ak_tr_i32(r, t, &e->field_id); break;
        case 10: ok = t == AK_TT_STRUCT ? parse_logical(r, e) : ak_tr_skip(r, t); break;
        default: ok = ak_tr_skip(r, t);
        }
        if (ok)
            return -1;
    }
    return rc;
}

/* The akili type of a leaf, or -1 with err. */
static int map_type(ak_pq_file_t *f, const pq_selem_t *e, pq_rcol_t *c, ak_err_t *err)
{
    char what[200];
    int ct = e->converted, lt = e->lt;
    c->ptype = e->type;
    switch (e->type) {
    case PQ_BOOLEAN:
        c->def.type = AK_BOOL;
        return 0;
    case PQ_INT32:
        if (lt == PQ_LT_DATE || ct == PQ_CT_DATE) {
            c->def.type = AK_DATE;
            return 0;
        }
        if ((lt == 0 || (lt == PQ_LT_INTEGER && (e->lt_signed || e->lt_bits < 32)))
            && (ct < 0 || (ct >= PQ_CT_INT_8 && ct <= PQ_CT_INT_8 + 2) || (ct >= PQ_CT_UINT_8 && ct <= PQ_CT_UINT_8 + 1))) {
            c->def.type = AK_INT;
            return 0;
        }
        break;
    case PQ_INT64:
        if (lt == PQ_LT_TIMESTAMP || ct == PQ_CT_TIMESTAMP_MICROS || ct == PQ_CT_TIMESTAMP_MILLIS) {
            c->def.type = AK_TIMESTAMP;
            c->ts_unit = lt == PQ_LT_TIMESTAMP ? (e->lt_unit == 1 ? TS_MILLIS : e->lt_unit == 3 ? TS_NANOS : TS_MICROS)
                                              : (ct == PQ_CT_TIMESTAMP_MILLIS ? TS_MILLIS : TS_MICROS);
            if (lt == PQ_LT_TIMESTAMP && (e->lt_unit < 1 || e->lt_unit > 3))
                break;
            return 0;
        }
        if ((lt == 0 || (lt == PQ_LT_INTEGER && e->lt_signed)) && (ct < 0 || ct == PQ_CT_INT_64)) {
            c->def.type = AK_INT;
            return 0;
        }
        break;
    case PQ_FLOAT:
        if (lt || ct >= 0)
            break;
        c->def.type = AK_FLOAT;
        return 0;
    case PQ_DOUBLE:
        if (lt || ct >= 0)
            break;
        c->def.type = AK_DOUBLE;
        return 0;
    case PQ_BYTE_ARRAY:
        if (lt == PQ_LT_STRING || lt == PQ_LT_ENUM || lt == PQ_LT_JSON || ct == PQ_CT_UTF8 || ct == PQ_CT_ENUM
            || ct == PQ_CT_JSON) {
            c->def.type = AK_TEXT;
            return 0;
        }
        snprintf(what, sizeof what, "column %s: BYTE_ARRAY without a STRING annotation (binary)", c->def.name);
        return unsupported(f, err, what);
    default:
        break;
    }
    snprintf(what, sizeof what, "column %s: physical type %d with logical type %d / converted type %d",
             c->def.name, e->type, lt, ct);
    return unsupported(f, err, what);
}

static int parse_schema(ak_pq_file_t *f, ak_tr_t *r, uint8_t t, ak_err_t *err)
{
    uint8_t et;
    uint32_t n;
    if (ak_tr_list(r, t, &et, &n) || et != AK_TT_STRUCT)
        return corrupt(f, err, "bad schema list");
    if (n < 1)
        return corrupt(f, err, "empty schema");
    pq_selem_t root;
    if (parse_selem(r, &root))
        return corrupt(f, err, r->why ? r->why : "bad schema element");
    if (!root.has_children || root.num_children != (int32_t)n - 1)
        return unsupported(f, err, "a nested schema (groups, lists, maps)");
    if (n - 1 > 32767)
        return unsupported(f, err, "more than 32767 columns");
    f->cols = ak_calloc(n, sizeof *f->cols);
    f->pub = ak_calloc(n, sizeof *f->pub);
    if (!f->cols || !f->pub)
        return ak_err_nomem(err);
    for (uint32_t i = 0; i + 1 < n; i++) {
        pq_selem_t e;
        if (parse_selem(r, &e))
            return corrupt(f, err, r->why ? r->why : "bad schema element");
        pq_rcol_t *c = &f->cols[i];
        if (!e.has_name)
            return corrupt(f, err, "a schema element without a name");
        if (!(c->def.name = ak_strndup((const char *)e.name, e.name_n)))
            return ak_err_nomem(err);
        f->ncols = (int)i + 1;
        if ((e.has_children && e.num_children > 0) || !e.has_type)
            return unsupported(f, err, "a nested schema (groups, lists, maps)");
        if (!e.has_rep || (e.repetition != PQ_REQUIRED && e.repetition != PQ_OPTIONAL))
            return unsupported(f, err, "a repeated column");
        c->def.required = e.repetition == PQ_REQUIRED;
        c->def.field_id = e.field_id;
        if (map_type(f, &e, c, err))
            return -1;
        f->pub[i] = c->def;
    }
    return 0;
}

static int parse_stats(ak_tr_t *r, pq_rchunk_t *k)
{
    int16_t id;
    uint8_t t;
    int rc;
    if (ak_tr_struct_begin(r))
        return -1;
    while ((rc = ak_tr_field(r, &id, &t)) == 1) {
        int ok;
        switch (id) {
        case 3: ok = ak_tr_i64(r, t, &k->nulls); k->has_nulls = true; break;
        case 5: ok = ak_tr_binary(r, t, &k->mx, &k->mx_n); k->has_max = true; break;
        case 6: ok = ak_tr_binary(r, t, &k->mn, &k->mn_n); k->has_min = true; break;
        case 9: ok = ak_tr_i64(r, t, &k->nans); k->has_nans = true; break;
        default: ok = ak_tr_skip(r, t);
        }
        if (ok)
            return -1;
    }
    return rc;
}

static int parse_colmeta(ak_pq_file_t *f, ak_tr_t *r, const pq_rcol_t *c, pq_rchunk_t *k, ak_err_t *err)
{
    int16_t id;
    uint8_t t;
    int rc;
    int32_t type = -1;
    int64_t data_off = -1, dict_off = -1;
    bool path_ok = false, has_codec = false, has_nv = false, has_size = false;
    if (ak_tr_struct_begin(r))
        return corrupt(f, err, r->why);
    while ((rc = ak_tr_field(r, &id, &t)) == 1) {
        int ok;
        switch (id) {
        case 1: ok = ak_tr_i32(r, t, &type); break;
        case 3: {
            uint8_t et;
            uint32_t n;
            const uint8_t *p;
            size_t len;
            ok = ak_tr_list(r, t, &et, &n);
            if (!ok && (n != 1 || et != AK_TT_BINARY))
                return unsupported(f, err, "a nested column path");
            if (!ok && !(ok = ak_tr_binary(r, et, &p, &len)))
                path_ok = len == strlen(c->def.name) && memcmp(p, c->def.name, len) == 0;
            break;
        }
        case 4: ok = ak_tr_i32(r, t, &k->codec); has_codec = true; break;
        case 5: ok = ak_tr_i64(r, t, &k->num_values); has_nv = true; break;
        case 7: ok = ak_tr_i64(r, t, &k->bytes); has_size = true; break;
        case 9: ok = ak_tr_i64(r, t, &data_off); break;
        case 11: ok = ak_tr_i64(r, t, &dict_off); break;
        case 12: ok = t == AK_TT_STRUCT ? parse_stats(r, k) : ak_tr_skip(r, t); break;
        default: ok = ak_tr_skip(r, t);
        }
        if (ok)
            return corrupt(f, err, r->why ? r->why : "bad column metadata");
    }
    if (rc < 0)
        return corrupt(f, err, r->why);
    if (!path_ok || type != c->ptype || !has_codec || !has_nv || !has_size || data_off < 0)
        return corrupt(f, err, "column metadata that does not match the schema");
    if (k->codec != PQ_CODEC_UNCOMPRESSED && k->codec != PQ_CODEC_SNAPPY && k->codec != PQ_CODEC_ZSTD) {
        char what[100];
        snprintf(what, sizeof what, "compression codec %d (only uncompressed, snappy and zstd are)", k->codec);
        return unsupported(f, err, what);
    }
    /* 0 is not a dictionary page (the file starts with its magic): some
     * writers leave it so when there is none */
    k->start = dict_off > 0 && dict_off < data_off ? dict_off : data_off;
    k->len = k->bytes;
    uint64_t data_end = f->size - 8 - f->footer_len;
    if (k->start < 4 || k->len < 0 || (uint64_t)k->start > data_end || (uint64_t)k->len > data_end - (uint64_t)k->start)
        return corrupt(f, err, "a column chunk outside the file's data");
    return 0;
}

static int parse_row_group(ak_pq_file_t *f, ak_tr_t *r, int g, ak_err_t *err)
{
    int16_t id;
    uint8_t t;
    int rc;
    bool has_cols = false, has_rows = false;
    if (ak_tr_struct_begin(r))
        return corrupt(f, err, r->why);
    while ((rc = ak_tr_field(r, &id, &t)) == 1) {
        if (id == 1) {
            uint8_t et;
            uint32_t n;
            if (ak_tr_list(r, t, &et, &n) || et != AK_TT_STRUCT || n != (uint32_t)f->ncols)
                return corrupt(f, err, "a row group whose columns do not match the schema");
            for (int c = 0; c < f->ncols; c++) {
                pq_rchunk_t *k = &f->chunks[(size_t)g * (size_t)f->ncols + (size_t)c];
                bool has_meta = false;
                int16_t cid;
                uint8_t ct;
                if (ak_tr_struct_begin(r))
                    return corrupt(f, err, r->why);
                while ((rc = ak_tr_field(r, &cid, &ct)) == 1) {
                    if (cid == 1)
                        return unsupported(f, err, "column data in another file");
                    if (cid == 8 || cid == 9)
                        return unsupported(f, err, "an encrypted column");
                    if (cid == 3 && ct == AK_TT_STRUCT) {
                        if (parse_colmeta(f, r, &f->cols[c], k, err))
                            return -1;
                        has_meta = true;
                    } else if (ak_tr_skip(r, ct)) {
                        return corrupt(f, err, r->why);
                    }
                }
                if (rc < 0 || !has_meta)
                    return corrupt(f, err, r->why ? r->why : "a column chunk without metadata");
            }
            has_cols = true;
        } else if (id == 3) {
            if (ak_tr_i64(r, t, &f->rg_rows[g]))
                return corrupt(f, err, r->why);
            has_rows = true;
        } else if (ak_tr_skip(r, t)) {
            return corrupt(f, err, r->why);
        }
    }
    if (rc < 0)
        return corrupt(f, err, r->why);
    if (!has_cols || !has_rows || f->rg_rows[g] < 0)
        return corrupt(f, err, "a row group without columns or row count");
    for (int c = 0; c < f->ncols; c++)
        if (f->chunks[(size_t)g * (size_t)f->ncols + (size_t)c].num_values != f->rg_rows[g])
            return corrupt(f, err, "a column chunk whose value count is not the row group's row count");
    return 0;
}

static int parse_footer(ak_pq_file_t *f, ak_err_t *err)
{
    ak_tr_t r;
    ak_tr_init(&r, f->footer, f->footer_len);
    int16_t id;
    uint8_t t;
    int rc;
    bool has_schema = false, has_rows = false, has_rgs = false;
    while ((rc = ak_tr_field(&r, &id, &t)) == 1) {
        if (id == 2 && !has_schema) {
            if (parse_schema(f, &r, t, err))
                return -1;
            has_schema = true;
        } else if (id == 3) {
            if (ak_tr_i64(&r, t, &f->num_rows))
                return corrupt(f, err, r.why);
            has_rows = true;
        } else if (id == 4 && has_schema && !has_rgs) {
            uint8_t et;
            uint32_t n;
            if (ak_tr_list(&r, t, &et, &n) || et != AK_TT_STRUCT)
                return corrupt(f, err, r.why ? r.why : "bad row group list");
            f->rg_rows = ak_calloc(n + 1, sizeof *f->rg_rows);
            f->chunks = ak_calloc((size_t)n * (size_t)f->ncols + 1, sizeof *f->chunks);
            if (!f->rg_rows || !f->chunks)
                return ak_err_nomem(err);
            for (uint32_t g = 0; g < n; g++)
                if (parse_row_group(f, &r, (int)g, err))
                    return -1;
            f->nrg = (int)n;
            has_rgs = true;
        } else if (id == 8) {
            return unsupported(f, err, "an encrypted file");
        } else if (ak_tr_skip(&r, t)) {
            return corrupt(f, err, r.why);
        }
    }
    if (rc < 0)
        return corrupt(f, err, r.why);
    if (!has_schema || !has_rows || !has_rgs)
        return corrupt(f, err, "the footer lacks the schema, the row count or the row groups");
    int64_t sum = 0;
    for (int g = 0; g < f->nrg; g++) {
        if (f->rg_rows[g] > INT64_MAX - sum)
            return corrupt(f, err, "row counts overflow");
        sum += f->rg_rows[g];
    }
    if (sum != f->num_rows)
        return corrupt(f, err, "the row groups' rows do not add up to the file's");
    return 0;
}

static int open_common(ak_pq_file_t *f, ak_err_t *err)
{
    f->rg = -1;
    uint8_t tail[8], head[4];
    if (f->size < 12)
        return corrupt(f, err, "too short");
    if (read_at(f, 0, 4, head, err) || read_at(f, f->size - 8, 8, tail, err))
        return -1;
    if (memcmp(tail + 4, "PARE", 4) == 0)
        return unsupported(f, err, "an encrypted file");
    if (memcmp(head, PQ_MAGIC, 4) || memcmp(tail + 4, PQ_MAGIC, 4))
        return corrupt(f, err, "no PAR1 magic at its start and end");
    f->footer_len = ak_le_get32(tail);
    if (f->footer_len > f->size - 12)
        return corrupt(f, err, "a footer longer than the file");
    if (!(f->footer = ak_malloc(f->footer_len + 1)))
        return ak_err_nomem(err);
    if (read_at(f, f->size - 8 - f->footer_len, f->footer_len, f->footer, err))
        return -1;
    return parse_footer(f, err);
}

int ak_pq_open_mem(const void *p, size_t n, ak_pq_file_t **fp, ak_err_t *err)
{
    *fp = NULL;
    ak_pq_file_t *f = ak_calloc(1, sizeof *f);
    if (!f || !(f->name = ak_strdup("(memory)"))) {
        ak_free(f);
        return ak_err_nomem(err);
    }
    f->fd = -1;
    f->mem = p ? p : (const uint8_t *)"";
    f->size = n;
    if (open_common(f, err)) {
        ak_pq_close(f);
        return -1;
    }
    *fp = f;
    return 0;
}

int ak_pq_open(const char *path, ak_pq_file_t **fp, ak_err_t *err)
{
    *fp = NULL;
    ak_pq_file_t *f = ak_calloc(1, sizeof *f);
    if (!f || !(f->name = ak_strdup(path))) {
        ak_free(f);
        return ak_err_nomem(err);
    }
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (f->fd < 0 || fstat(f->fd, &sb)) {
        ak_errf(err, errno == ENOENT ? AK_E_NOTFOUND : AK_E_IO, "cannot open %s: %s", path, strerror(errno));
        ak_pq_close(f);
        return -1;
    }
    f->size = (uint64_t)sb.st_size;
    if (open_common(f, err)) {
        ak_pq_close(f);
        return -1;
    }
    *fp = f;
    return 0;
}

static void col_release_chunk(pq_rcol_t *c)
{
    ak_free(c->chunk_own);
    c->chunk_own = NULL;
    c->chunk = NULL;
    ak_free(c->dict_buf);
    ak_free(c->dict);
    c->dict_buf = NULL;
    c->dict = NULL;
    c->ndict = 0;
    c->has_dict = false;
}

void ak_pq_close(ak_pq_file_t *f)
{
    if (!f)
        return;
    for (int i = 0; f->cols && i < f->ncols; i++) {
        col_release_chunk(&f->cols[i]);
        ak_free(f->cols[i].page);
        ak_free((char *)f->cols[i].def.name);
    }
    ak_free(f->cols);
    ak_free(f->pub);
    ak_free(f->rg_rows);
    ak_free(f->chunks);
    ak_free(f->footer);
    ak_pq_codec_free(&f->cc);
    if (f->fd >= 0)
        close(f->fd);
    ak_free(f->name);
    ak_free(f);
}

int ak_pq_ncols(const ak_pq_file_t *f) { return f->ncols; }
const ak_pq_col_t *ak_pq_cols(const ak_pq_file_t *f) { return f->pub; }
int64_t ak_pq_num_rows(const ak_pq_file_t *f) { return f->num_rows; }
int ak_pq_num_row_groups(const ak_pq_file_t *f) { return f->nrg; }

/* ---- values ---- */

/* One PLAIN value at *p (advanced); -1 if it does not fit or is invalid. */
static int decode_plain(const pq_rcol_t *c, const uint8_t **pp, const uint8_t *end, ak_val_t *v)
{
    const uint8_t *p = *pp;
    size_t left = (size_t)(end - p);
    switch (c->ptype) {
    case PQ_INT32:
        if (left < 4)
            return -1;
        *v = c->def.type == AK_DATE ? ak_v_date((int32_t)ak_le_get32(p)) : ak_v_int((int32_t)ak_le_get32(p));
        *pp = p + 4;
        return 0;
    case PQ_INT64: {
        if (left < 8)
            return -1;
        int64_t x = (int64_t)ak_le_get64(p);
        *pp = p + 8;
        if (c->def.type != AK_TIMESTAMP) {
            *v = ak_v_int(x);
            return 0;
        }
        if (c->ts_unit == TS_MILLIS) {
            if (x > INT64_MAX / 1000 || x < INT64_MIN / 1000)
                return -1;
            x *= 1000;
        } else if (c->ts_unit == TS_NANOS) {
            x = x / 1000 - (x % 1000 < 0); /* floor */
        }
        *v = ak_v_ts(x);
        return 0;
    }
    case PQ_FLOAT: {
        if (left < 4)
            return -1;
        uint32_t u = ak_le_get32(p);
        float fl;
        memcpy(&fl, &u, 4);
        *v = ak_v_float(fl);
        *pp = p + 4;
        return 0;
    }
    case PQ_DOUBLE: {
        if (left < 8)
            return -1;
        uint64_t u = ak_le_get64(p);
        double d;
        memcpy(&d, &u, 8);
        *v = ak_v_double(d);
        *pp = p + 8;
        return 0;
    }
    case PQ_BYTE_ARRAY: {
        if (left < 4)
            return -1;
        uint32_t n = ak_le_get32(p);
        if (n > left - 4 || !ak_utf8_valid((const char *)p + 4, n))
            return -1;
        *v = ak_v_text(n ? (const char *)p + 4 : "", n);
        *pp = p + 4 + n;
        return 0;
    }
    default:
        return -1;
    }
}

/* Reads the chunk of column ci in row group g. */
static int load_chunk(ak_pq_file_t *f, int ci, int g, ak_err_t *err)
{
    pq_rcol_t *c = &f->cols[ci];
    const pq_rchunk_t *k = &f->chunks[(size_t)g * (size_t)f->ncols + (size_t)ci];
    col_release_chunk(c);
    if (f->mem) {
        c->chunk = f->mem + k->start;
    } else {
        if (!(c->chunk_own = ak_malloc((size_t)k->len + 1)))
            return ak_err_nomem(err);
        if (read_at(f, (uint64_t)k->start, (size_t)k->len, c->chunk_own, err))
            return -1;
        c->chunk = c->chunk_own;
    }
    c->chunk_len = (size_t)k->len;
    c->pos = 0;
    c->codec = k->codec;
    c->rows_left = f->rg_rows[g];
    c->page_left = 0;
    c->seen_data = false;
    return 0;
}

static int col_corrupt(ak_pq_file_t *f, const pq_rcol_t *c, ak_err_t *err, const char *what)
{
    char m[300];
    snprintf(m, sizeof m, "column %s: %s", c->def.name, what);
    return corrupt(f, err, m);
}

static int load_dict(ak_pq_file_t *f, pq_rcol_t *c, int32_t n, size_t usize, ak_err_t *err)
{
    if (c->has_dict || c->seen_data)
        return col_corrupt(f, c, err, "a second dictionary, or one after data pages");
    if (c->ptype == PQ_BOOLEAN)
        return unsupported(f, err, "a dictionary-encoded BOOLEAN column");
    if (n < 0 || (size_t)n > usize)
        return col_corrupt(f, c, err, "a dictionary larger than its page");
    c->dict_buf = c->page; /* the decompressed page becomes the dictionary */
    c->page = NULL;
    c->page_cap = 0;
    if (!(c->dict = ak_malloc(((size_t)n + 1) * sizeof *c->dict)))
        return ak_err_nomem(err);
    const uint8_t *p = c->dict_buf, *end = c->dict_buf + usize;
    for (int32_t i = 0; i < n; i++)
        if (decode_plain(c, &p, end, &c->dict[i]))
            return col_corrupt(f, c, err, "a dictionary entry that does not fit or is not UTF-8");
    c->ndict = (uint32_t)n;
    c->has_dict = true;
    return 0;
}

/* Reads page headers until a data page is set up in c. */
static int next_page(ak_pq_file_t *f, pq_rcol_t *c, ak_err_t *err)
{
    for (;;) {
        if (c->pos >= c->chunk_len)
            return col_corrupt(f, c, err, "fewer values than the row group has rows");
        ak_tr_t r;
        ak_tr_init(&r, c->chunk + c->pos, c->chunk_len - c->pos);
        int16_t id;
        uint8_t t;
        int rc;
        int32_t type = -1, usize = -1, csize = -1, nvals = -1, enc = -1, denc = -1, dict_n = -1;
        bool v2 = false;
        while ((rc = ak_tr_field(&r, &id, &t)) == 1) {
            int ok;
            if (id == 1)
                ok = ak_tr_i32(&r, t, &type);
            else if (id == 2)
                ok = ak_tr_i32(&r, t, &usize);
            else if (id == 3)
                ok = ak_tr_i32(&r, t, &csize);
            else if ((id == 5 || id == 7) && t == AK_TT_STRUCT) {
                int16_t hid;
                uint8_t ht;
                ok = ak_tr_struct_begin(&r);
                while (!ok && (rc = ak_tr_field(&r, &hid, &ht)) == 1) {
                    if (hid == 1)
                        ok = ak_tr_i32(&r, ht, id == 5 ? &nvals : &dict_n);
                    else if (hid == 2)
                        ok = ak_tr_i32(&r, ht, &enc);
                    else if (hid == 3 && id == 5)
                        ok = ak_tr_i32(&r, ht, &denc);
                    else
                        ok = ak_tr_skip(&r, ht);
                }
                if (rc < 0)
                    ok = -1;
            } else {
                v2 |= id == 8;
                ok = ak_tr_skip(&r, t);
            }
            if (ok)
                return col_corrupt(f, c, err, r.why ? r.why : "a bad page header");
        }
        if (rc < 0)
            return col_corrupt(f, c, err, r.why ? r.why : "a bad page header");
        size_t hlen = ak_tr_pos(&r, c->chunk + c->pos);
        if (usize < 0 || csize < 0 || (size_t)usize > PQ_MAX_PAGE
            || (size_t)csize > c->chunk_len - c->pos - hlen)
            return col_corrupt(f, c, err, "a page whose sizes do not fit its column chunk");
        const uint8_t *body = c->chunk + c->pos + hlen;
        c->pos += hlen + (size_t)csize;
        if (type == PQ_PAGE_DATA_V2 || v2)
            return unsupported(f, err, "a v2 data page");
        if (type == PQ_PAGE_INDEX)
            continue;
        if (type != PQ_PAGE_DATA && type != PQ_PAGE_DICTIONARY)
            return col_corrupt(f, c, err, "an unknown page type");
        if (type == PQ_PAGE_DATA && nvals < 0)
            return col_corrupt(f, c, err, "a data page without its header");
        if (type == PQ_PAGE_DICTIONARY && dict_n < 0)
            return col_corrupt(f, c, err, "a dictionary page without its header");
        if ((size_t)usize + 1 > c->page_cap) {
            ak_free(c->page);
            c->page_cap = 0;
            if (!(c->page = ak_malloc((size_t)usize + 1)))
                return ak_err_nomem(err);
            c->page_cap = (size_t)usize + 1;
        }
        if (ak_pq_decompress(&f->cc, c->codec, body, (size_t)csize, c->page, (size_t)usize, err))
            return ak_err_prefix(err, "%s: column %s", f->name, c->def.name);
        if (type == PQ_PAGE_DICTIONARY) {
            if (enc != PQ_ENC_PLAIN && enc != PQ_ENC_PLAIN_DICTIONARY)
                return unsupported(f, err, "a dictionary page not PLAIN-encoded");
            if (load_dict(f, c, dict_n, (size_t)usize, err))
                return -1;
            continue;
        }
        c->seen_data = true;
        if (nvals > c->rows_left)
            return col_corrupt(f, c, err, "more values than the row group has rows");
        if (nvals == 0)
            continue;
        const uint8_t *p = c->page, *end = c->page + usize;
        if (!c->def.required) {
            if (denc != PQ_ENC_RLE)
                return unsupported(f, err, "definition levels not RLE-encoded");
            if (end - p < 4 || ak_le_get32(p) > (size_t)(end - p - 4))
                return col_corrupt(f, c, err, "definition levels longer than their page");
            uint32_t dl = ak_le_get32(p);
            ak_pq_hyb_init(&c->defs, p + 4, dl, 1);
            p += 4 + dl;
        }
        if (enc == PQ_ENC_PLAIN) {
            c->dict_enc = false;
            c->vp = p;
            c->vend = end;
            c->bool_bit = 0;
        } else if (enc == PQ_ENC_RLE_DICTIONARY || enc == PQ_ENC_PLAIN_DICTIONARY) {
            if (!c->has_dict)
                return col_corrupt(f, c, err, "a dictionary-encoded page without a dictionary");
            if (p >= end || *p > 32)
                return col_corrupt(f, c, err, "a bad dictionary index width");
            c->dict_enc = true;
            ak_pq_hyb_init(&c->idx, p + 1, (size_t)(end - p - 1), *p);
        } else {
            char what[100];
            snprintf(what, sizeof what, "value encoding %d (e.g. DELTA_BINARY_PACKED)", enc);
            return unsupported(f, err, what);
        }
        c->page_left = nvals;
        return 0;
    }
}

static int next_value(ak_pq_file_t *f, pq_rcol_t *c, ak_val_t *v, ak_err_t *err)
{
    if (!c->page_left && next_page(f, c, err))
        return -1;
    c->page_left--;
    c->rows_left--;
    if (!c->def.required) {
        uint32_t lvl;
        if (ak_pq_hyb_next(&c->defs, &lvl) || lvl > 1)
            return col_corrupt(f, c, err, "bad definition levels");
        if (!lvl) {
            *v = ak_v_null();
            return 0;
        }
    }
    if (c->dict_enc) {
        uint32_t k;
        if (ak_pq_hyb_next(&c->idx, &k) || k >= c->ndict)
            return col_corrupt(f, c, err, "bad dictionary indexes");
        *v = c->dict[k];
        return 0;
    }
    if (c->ptype == PQ_BOOLEAN) {
        if ((size_t)(c->vend - c->vp) * 8 <= c->bool_bit)
            return col_corrupt(f, c, err, "fewer values than its page says");
        *v = ak_v_bool(c->vp[c->bool_bit >> 3] >> (c->bool_bit & 7) & 1);
        c->bool_bit++;
        return 0;
    }
    if (decode_plain(c, &c->vp, c->vend, v))
        return col_corrupt(f, c, err, "a value that does not fit its page or is not UTF-8");
    return 0;
}

int ak_pq_next_row(ak_pq_file_t *f, ak_val_t *row, bool *eof, ak_err_t *err)
{
    *eof = false;
    while (f->rg_left == 0) {
        if (f->rg + 1 >= f->nrg) {
            *eof = true;
            return 0;
        }
        f->rg++;
        for (int i = 0; i < f->ncols; i++)
            if (load_chunk(f, i, f->rg, err))
                return -1;
        f->rg_left = f->rg_rows[f->rg];
    }
    for (int i = 0; i < f->ncols; i++)
        if (next_value(f, &f->cols[i], &row[i], err))
            return -1;
    f->rg_left--;
    return 0;
}

/* ---- statistics from the footer ---- */

static int stat_val(const pq_rcol_t *c, const uint8_t *p, size_t n, ak_val_t *v)
{
    uint8_t tmp[8];
    const uint8_t *q;
    if (c->ptype == PQ_BYTE_ARRAY) {
        if (!ak_utf8_valid((const char *)p, n))
            return -1;
        *v = ak_v_text((const char *)p, n);
        return 0;
    }
    if (c->ptype == PQ_BOOLEAN) {
        if (n != 1 || p[0] > 1)
            return -1;
        *v = ak_v_bool(p[0]);
        return 0;
    }
    size_t w = c->ptype == PQ_INT32 || c->ptype == PQ_FLOAT ? 4 : 8;
    if (n != w)
        return -1;
    memcpy(tmp, p, n);
    q = tmp;
    return decode_plain(c, &q, tmp + n, v);
}

static int vcmp(const ak_val_t *a, const ak_val_t *b)
{
    if (a->type == AK_TEXT) {
        int r = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
        return r ? r : (a->n > b->n) - (a->n < b->n);
    }
    if (a->type == AK_FLOAT || a->type == AK_DOUBLE)
        return (a->d > b->d) - (a->d < b->d);
    return (a->i > b->i) - (a->i < b->i);
}

int ak_pq_file_stats(const ak_pq_file_t *f, ak_pq_stats_t *st, ak_err_t *err)
{
    memset(st, 0, sizeof *st);
    st->cols = ak_calloc((size_t)f->ncols + 1, sizeof *st->cols);
    st->row_group_offsets = ak_calloc((size_t)f->nrg + 1, sizeof *st->row_group_offsets);
    if (!st->cols || !st->row_group_offsets) {
        ak_pq_stats_free(st);
        return ak_err_nomem(err);
    }
    st->ncols = f->ncols;
    st->nrow_groups = f->nrg;
    st->rows = f->num_rows;
    st->file_bytes = (int64_t)f->size;
    for (int g = 0; g < f->nrg; g++) {
        int64_t lo = INT64_MAX;
        for (int i = 0; i < f->ncols; i++)
            if (f->chunks[(size_t)g * (size_t)f->ncols + (size_t)i].start < lo)
                lo = f->chunks[(size_t)g * (size_t)f->ncols + (size_t)i].start;
        st->row_group_offsets[g] = lo;
    }
    for (int i = 0; i < f->ncols; i++) {
        const pq_rcol_t *c = &f->cols[i];
        ak_pq_colstat_t *s = &st->cols[i];
        bool fl = c->ptype == PQ_FLOAT || c->ptype == PQ_DOUBLE, known = true, has = false;
        ak_val_t lo = ak_v_null(), hi = ak_v_null(); /* point into the footer until copied */
        s->field_id = c->def.field_id;
        s->nans = 0;
        for (int g = 0; g < f->nrg; g++) {
            const pq_rchunk_t *k = &f->chunks[(size_t)g * (size_t)f->ncols + (size_t)i];
            s->values += k->num_values;
            s->bytes += k->bytes;
            if (s->nulls >= 0)
                s->nulls = k->has_nulls ? s->nulls + k->nulls : -1;
            if (fl && s->nans >= 0)
                s->nans = k->has_nans ? s->nans + k->nans : -1;
            ak_val_t mn, mx;
            if (k->has_min && k->has_max) {
                if (stat_val(c, k->mn, k->mn_n, &mn) || stat_val(c, k->mx, k->mx_n, &mx)) {
                    ak_pq_stats_free(st);
                    return col_corrupt((ak_pq_file_t *)f, c, err, "statistics that do not decode");
                }
                if (!has || vcmp(&mn, &lo) < 0)
                    lo = mn;
                if (!has || vcmp(&mx, &hi) > 0)
                    hi = mx;
                has = true;
            } else if (!(k->has_nulls && (k->nulls + (fl && k->has_nans ? k->nans : 0)) == k->num_values)) {
                known = false; /* values whose bounds the file does not give */
            }
        }
        if (!has || !known)
            continue;
        if (c->ptype == PQ_BYTE_ARRAY) { /* the stats own their strings */
            char *a = ak_malloc(lo.n + 1), *b = ak_malloc(hi.n + 1);
            if (!a || !b) {
                ak_free(a);
                ak_free(b);
                ak_pq_stats_free(st);
                return ak_err_nomem(err);
            }
            memcpy(a, lo.s, lo.n);
            a[lo.n] = '\0';
            memcpy(b, hi.s, hi.n);
            b[hi.n] = '\0';
            lo.s = a;
            hi.s = b;
        }
        s->min = lo;
        s->max = hi;
        s->has_bounds = true;
    }
    return 0;
}
