/* ak_thrift.c - Thrift compact protocol writer and bounded reader. */
#include "ak_thrift.h"

#include <string.h>

static inline uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t unzigzag(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }

/* ---- writer ---- */

void ak_tw_init(ak_tw_t *w, ak_buf_t *b)
{
    w->b = b;
    w->depth = 0;
    w->last[0] = 0;
}

void ak_tw_field(ak_tw_t *w, int16_t id, uint8_t type)
{
    int16_t *last = &w->last[w->depth];
    int delta = id - *last;
    if (delta > 0 && delta <= 15) {
        ak_buf_putc(w->b, (char)(delta << 4 | type));
    } else {
        ak_buf_putc(w->b, (char)type);
        ak_buf_put_uvarint(w->b, zigzag(id));
    }
    *last = id;
}

void ak_tw_put_i32(ak_tw_t *w, int32_t v) { ak_buf_put_uvarint(w->b, zigzag(v)); }
void ak_tw_put_i64(ak_tw_t *w, int64_t v) { ak_buf_put_uvarint(w->b, zigzag(v)); }

void ak_tw_put_binary(ak_tw_t *w, const void *p, size_t n)
{
    ak_buf_put_uvarint(w->b, n);
    ak_buf_put(w->b, p, n);
}

void ak_tw_i32(ak_tw_t *w, int16_t id, int32_t v)
{
    ak_tw_field(w, id, AK_TT_I32);
    ak_tw_put_i32(w, v);
}

void ak_tw_i64(ak_tw_t *w, int16_t id, int64_t v)
{
    ak_tw_field(w, id, AK_TT_I64);
    ak_tw_put_i64(w, v);
}

void ak_tw_bool(ak_tw_t *w, int16_t id, bool v) { ak_tw_field(w, id, v ? AK_TT_TRUE : AK_TT_FALSE); }

void ak_tw_binary(ak_tw_t *w, int16_t id, const void *p, size_t n)
{
    ak_tw_field(w, id, AK_TT_BINARY);
    ak_tw_put_binary(w, p, n);
}

void ak_tw_string(ak_tw_t *w, int16_t id, const char *s) { ak_tw_binary(w, id, s, strlen(s)); }

void ak_tw_struct_begin(ak_tw_t *w, int16_t id)
{
    if (id >= 0)
        ak_tw_field(w, id, AK_TT_STRUCT);
    if (w->depth + 1 >= AK_THRIFT_MAX_DEPTH) { /* a bug in the caller: make the output unusable */
        w->b->oom = true;
        return;
    }
    w->last[++w->depth] = 0;
}

void ak_tw_struct_end(ak_tw_t *w)
{
    ak_buf_putc(w->b, AK_TT_STOP);
    if (w->depth > 0)
        w->depth--;
}

void ak_tw_list_begin(ak_tw_t *w, int16_t id, uint8_t elem_type, uint32_t n)
{
    ak_tw_field(w, id, AK_TT_LIST);
    if (n < 15) {
        ak_buf_putc(w->b, (char)(n << 4 | elem_type));
    } else {
        ak_buf_putc(w->b, (char)(0xf0 | elem_type));
        ak_buf_put_uvarint(w->b, n);
    }
}

/* ---- reader ---- */

static int bad(ak_tr_t *r, const char *why)
{
    if (!r->why)
        r->why = why;
    r->p = r->end; /* nothing more is read after a failure */
    return -1;
}

void ak_tr_init(ak_tr_t *r, const void *p, size_t n)
{
    r->p = p;
    r->end = r->p + n;
    r->depth = 0;
    r->last[0] = 0;
    r->why = NULL;
}

static int get_uvarint(ak_tr_t *r, int max_bytes, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; i++) {
        if (r->p >= r->end)
            return bad(r, "truncated varint");
        uint8_t c = *r->p++;
        if (i == 9 && c > 1)
            return bad(r, "varint overflows 64 bits");
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return bad(r, "varint too long");
}

static int get_svarint(ak_tr_t *r, int max_bytes, int64_t lo, int64_t hi, int64_t *out)
{
    uint64_t u;
    if (get_uvarint(r, max_bytes, &u))
        return -1;
    int64_t v = unzigzag(u);
    if (v < lo || v > hi)
        return bad(r, "integer out of range");
    *out = v;
    return 0;
}

static bool valid_type(uint8_t t) { return t >= AK_TT_TRUE && t <= AK_TT_STRUCT; }

int ak_tr_field(ak_tr_t *r, int16_t *id, uint8_t *type)
{
    if (r->depth < 0)
        return bad(r, "read past the end of the message");
    if (r->p >= r->end)
        return bad(r, "truncated struct");
    uint8_t b = *r->p++;
    uint8_t t = b & 0x0f;
    if (t == AK_TT_STOP) {
        r->depth--;
        return 0;
    }
    if (!valid_type(t))
        return bad(r, "unknown field type");
    int64_t fid;
    if (b >> 4) {
        fid = r->last[r->depth] + (b >> 4);
        if (fid > INT16_MAX)
            return bad(r, "field id out of range");
    } else if (get_svarint(r, 3, INT16_MIN, INT16_MAX, &fid)) {
        return -1;
    }
    r->last[r->depth] = (int16_t)fid;
    *id = (int16_t)fid;
    *type = t;
    return 1;
}

int ak_tr_struct_begin(ak_tr_t *r)
{
    if (r->depth + 1 >= AK_THRIFT_MAX_DEPTH)
        return bad(r, "structs nested too deeply");
    r->last[++r->depth] = 0;
    return 0;
}

int ak_tr_i32(ak_tr_t *r, uint8_t type, int32_t *v)
{
    int64_t x;
    if (type == AK_TT_BYTE) {
        if (r->p >= r->end)
            return bad(r, "truncated byte");
        *v = (int8_t)*r->p++;
        return 0;
    }
    if (type != AK_TT_I16 && type != AK_TT_I32)
        return bad(r, "expected an i32");
    if (get_svarint(r, 5, INT32_MIN, INT32_MAX, &x))
        return -1;
    *v = (int32_t)x;
    return 0;
}

int ak_tr_i64(ak_tr_t *r, uint8_t type, int64_t *v)
{
    if (type != AK_TT_I64) {
        int32_t x;
        if (ak_tr_i32(r, type, &x))
            return -1;
        *v = x;
        return 0;
    }
    return get_svarint(r, 10, INT64_MIN, INT64_MAX, v);
}

int ak_tr_bool(ak_tr_t *r, uint8_t type, bool *v)
{
    if (type != AK_TT_TRUE && type != AK_TT_FALSE)
        return bad(r, "expected a bool");
    *v = type == AK_TT_TRUE;
    return 0;
}

int ak_tr_bool_elem(ak_tr_t *r, bool *v)
{
    if (r->p >= r->end)
        return bad(r, "truncated bool");
    uint8_t b = *r->p++;
    if (b > 2)
        return bad(r, "invalid bool");
    *v = b == 1;
    return 0;
}

int ak_tr_binary(ak_tr_t *r, uint8_t type, const uint8_t **p, size_t *n)
{
    if (type != AK_TT_BINARY)
        return bad(r, "expected a binary");
    uint64_t len;
    if (get_uvarint(r, 10, &len))
        return -1;
    if (len > (uint64_t)(r->end - r->p))
        return bad(r, "binary longer than the input");
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

int ak_tr_list(ak_tr_t *r, uint8_t type, uint8_t *elem_type, uint32_t *n)
{
    if (type != AK_TT_LIST && type != AK_TT_SET)
        return bad(r, "expected a list");
    if (r->p >= r->end)
        return bad(r, "truncated list");
    uint8_t b = *r->p++;
    uint64_t size = b >> 4;
    if (size == 15 && get_uvarint(r, 5, &size))
        return -1;
    uint8_t et = b & 0x0f;
    if (!valid_type(et))
        return bad(r, "unknown list element type");
    /* every element takes at least one byte */
    if (size > (uint64_t)(r->end - r->p) || size > INT32_MAX)
        return bad(r, "list longer than the input");
    *elem_type = et;
    *n = (uint32_t)size;
    return 0;
}

static int skip_elem(ak_tr_t *r, uint8_t type)
{
    if (type == AK_TT_TRUE || type == AK_TT_FALSE) { /* a byte in containers */
        bool b;
        return ak_tr_bool_elem(r, &b);
    }
    return ak_tr_skip(r, type);
}

int ak_tr_skip(ak_tr_t *r, uint8_t type)
{
    uint64_t u;
    const uint8_t *p;
    size_t n;
    switch (type) {
    case AK_TT_TRUE:
    case AK_TT_FALSE:
        return 0;
    case AK_TT_BYTE:
        if (r->p >= r->end)
            return bad(r, "truncated byte");
        r->p++;
        return 0;
    case AK_TT_I16:
    case AK_TT_I32:
    case AK_TT_I64:
        return get_uvarint(r, 10, &u);
    case AK_TT_DOUBLE:
        if (r->end - r->p < 8)
            return bad(r, "truncated double");
        r->p += 8;
        return 0;
    case AK_TT_BINARY:
        return ak_tr_binary(r, type, &p, &n);
    case AK_TT_LIST:
    case AK_TT_SET: {
        uint8_t et;
        uint32_t cnt;
        if (ak_tr_list(r, type, &et, &cnt))
            return -1;
        if (r->depth + 1 >= AK_THRIFT_MAX_DEPTH)
            return bad(r, "containers nested too deeply");
        r->depth++; /* counts containers too, so nesting stays bounded */
        r->last[r->depth] = 0;
        for (uint32_t i = 0; i < cnt; i++)
            if (skip_elem(r, et)) {
                return -1;
            }
        r->depth--;
        return 0;
    }
    case AK_TT_MAP: {
        if (get_uvarint(r, 5, &u))
            return -1;
        if (u == 0)
            return 0;
        if (r->p >= r->end)
            return bad(r, "truncated map");
        uint8_t kv = *r->p++;
        uint8_t kt = kv >> 4, vt = kv & 0x0f;
        if (!valid_type(kt) || !valid_type(vt))
            return bad(r, "unknown map element type");
        if (u > (uint64_t)(r->end - r->p) / 2)
            return bad(r, "map longer than the input");
        if (r->depth + 1 >= AK_THRIFT_MAX_DEPTH)
            return bad(r, "containers nested too deeply");
        r->depth++;
        r->last[r->depth] = 0;
        for (uint64_t i = 0; i < u; i++)
            if (skip_elem(r, kt) || skip_elem(r, vt))
                return -1;
        r->depth--;
        return 0;
    }
    case AK_TT_STRUCT: {
        if (ak_tr_struct_begin(r))
            return -1;
        int16_t id;
        uint8_t t;
        int rc;
        while ((rc = ak_tr_field(r, &id, &t)) == 1)
            if (ak_tr_skip(r, t))
                return -1;
        return rc;
    }
    default:
        return bad(r, "unknown type");
    }
}
