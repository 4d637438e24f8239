/* ak_ser.c - binary values: a type byte, then the payload (zigzag varints
 * for integers, little-endian doubles, length-prefixed text). */
#include "ak_ser.h"

#include "ak_arena.h"

#include <string.h>

void ak_ser_f64(ak_buf_t *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    ak_buf_put_u64le(b, u);
}

void ak_ser_val(ak_buf_t *b, const ak_val_t *v)
{
    ak_buf_putc(b, (char)v->type);
    switch ((ak_type_t)v->type) {
    case AK_NULL:
    case AK_TYPE__COUNT:
        break;
    case AK_BOOL:
        ak_buf_putc(b, (char)(v->i != 0));
        break;
    case AK_INT:
    case AK_DATE:
    case AK_TIMESTAMP:
        ak_buf_put_svarint(b, v->i);
        break;
    case AK_FLOAT:
    case AK_DOUBLE:
        ak_ser_f64(b, v->d);
        break;
    case AK_TEXT:
        ak_buf_put_uvarint(b, v->n);
        ak_buf_put(b, v->s, v->n);
        break;
    case AK_INTERVAL:
        ak_buf_put_svarint(b, (int32_t)v->n);
        ak_buf_put_svarint(b, v->i);
        break;
    }
}

void ak_ser_row(ak_buf_t *b, const ak_val_t *row, int n)
{
    for (int i = 0; i < n; i++)
        ak_ser_val(b, &row[i]);
}

uint8_t ak_rd_u8(ak_rd_t *r)
{
    if (r->p >= r->end) {
        r->bad = true;
        return 0;
    }
    return *r->p++;
}

uint64_t ak_rd_uvar(ak_rd_t *r)
{
    uint64_t v = 0;
    size_t k = r->bad ? 0 : ak_get_uvarint(r->p, (size_t)(r->end - r->p), &v);
    if (!k) {
        r->bad = true;
        return 0;
    }
    r->p += k;
    return v;
}

int64_t ak_rd_svar(ak_rd_t *r)
{
    int64_t v = 0;
    size_t k = r->bad ? 0 : ak_get_svarint(r->p, (size_t)(r->end - r->p), &v);
    if (!k) {
        r->bad = true;
        return 0;
    }
    r->p += k;
    return v;
}

const void *ak_rd_bytes(ak_rd_t *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const void *p = r->p;
    r->p += n;
    return p;
}

double ak_rd_f64(ak_rd_t *r)
{
    const uint8_t *p = ak_rd_bytes(r, 8);
    if (!p)
        return 0;
    uint64_t u = ak_le_get64(p);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

void ak_rd_val(ak_rd_t *r, ak_val_t *v)
{
    *v = ak_v_null();
    uint8_t t = ak_rd_u8(r);
    switch (t) {
    case AK_NULL:
        break;
    case AK_BOOL:
        *v = ak_v_bool(ak_rd_u8(r) != 0);
        break;
    case AK_INT:
    case AK_DATE:
    case AK_TIMESTAMP:
        v->i = ak_rd_svar(r);
        v->type = t;
        break;
    case AK_FLOAT:
    case AK_DOUBLE:
        v->d = ak_rd_f64(r);
        v->type = t;
        break;
    case AK_TEXT: {
        uint64_t n = ak_rd_uvar(r);
        const char *s = n > UINT32_MAX ? NULL : ak_rd_bytes(r, (size_t)n);
        if (!s) {
            r->bad = true;
            break;
        }
        *v = ak_v_text(s, (size_t)n);
        break;
    }
    case AK_INTERVAL: {
        int64_t m = ak_rd_svar(r);
        *v = ak_v_interval((int32_t)m, ak_rd_svar(r));
        break;
    }
    default:
        r->bad = true;
    }
    if (r->bad)
        *v = ak_v_null();
}

void ak_rd_row(ak_rd_t *r, ak_val_t *row, int n)
{
    for (int i = 0; i < n; i++)
        ak_rd_val(r, &row[i]);
}

int ak_ser_arena_text(void *arena, ak_val_t *v)
{
    if (v->type != AK_TEXT)
        return 0;
    char *s = ak_arena_strndup(arena, v->s, v->n);
    if (!s)
        return -1;
    v->s = s;
    return 0;
}
