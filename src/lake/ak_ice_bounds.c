/* ak_ice_bounds.c - Iceberg types, partition transforms and the spec's
 * single-value binary serialization (lower/upper bounds, partition summary
 * bounds), plus the random ids the table layer hands out.
 *
 * Serialization (Iceberg spec, appendix D): boolean one byte 0/1; int and
 * date 4 bytes little-endian; long, timestamp(tz) 8 bytes little-endian;
 * float/double IEEE 754 little-endian; string its UTF-8 bytes, no length.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "ak_alloc.h"
#include "ak_ice_int.h"
#include "ak_time.h"

static const char *const itype_names[] = {"", "boolean", "int", "long", "float", "double",
                                          "date", "timestamptz", "timestamp", "string"};

ak_itype_t ak__ice_itype_of(ak_type_t t)
{
    switch (t) {
    case AK_BOOL: return AK_IT_BOOLEAN;
    case AK_INT: return AK_IT_LONG;
    case AK_FLOAT: return AK_IT_FLOAT;
    case AK_DOUBLE: return AK_IT_DOUBLE;
    case AK_TEXT: return AK_IT_STRING;
    case AK_DATE: return AK_IT_DATE;
    case AK_TIMESTAMP: return AK_IT_TIMESTAMPTZ;
    default: return AK_IT_NONE;
    }
}

ak_itype_t ak__ice_itype_parse(const char *s)
{
    for (int i = 1; i < (int)(sizeof itype_names / sizeof itype_names[0]); i++)
        if (strcmp(s, itype_names[i]) == 0)
            return (ak_itype_t)i;
    return AK_IT_NONE;
}

const char *ak__ice_itype_name(ak_itype_t t)
{
    return (unsigned)t < sizeof itype_names / sizeof itype_names[0] ? itype_names[t] : "";
}

static const char *const tr_names[] = {"identity", "year", "month", "day", "hour"};

const char *ak__ice_tr_name(ak_ice_tr_t tr) { return tr_names[tr]; }

int ak__ice_tr_parse(const char *s, ak_ice_tr_t *tr)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(s, tr_names[i]) == 0) {
            *tr = (ak_ice_tr_t)i;
            return 0;
        }
    return -1;
}

ak_itype_t ak__ice_part_type(const ak_ice_table_t *t, const ak_ice_pfield_t *p)
{
    switch (p->tr) {
    case AK_TR_IDENTITY: return t->fields[p->src].type;
    case AK_TR_DAY: return AK_IT_DATE;
    default: return AK_IT_INT;
    }
}

int ak__ice_transform(ak_ice_tr_t tr, ak_itype_t src, const ak_val_t *v, ak_val_t *out, ak_err_t *err)
{
    if (v->type == AK_NULL) {
        *out = ak_v_null();
        return 0;
    }
    if (tr == AK_TR_IDENTITY)
        return ak__ice_coerce(src, v, out, err);
    int64_t us;
    if (!ak_val_time_us(v, &us))
        return ak_errf(err, AK_E_TYPE, "a %s partition needs a date or timestamp value, got %s", tr_names[tr],
                       ak_type_name((ak_type_t)v->type));
    int64_t days = ak_floordiv(us, AK_US_PER_DAY), y;
    unsigned m, d;
    switch (tr) {
    case AK_TR_DAY: *out = ak_v_date(days); return 0;
    case AK_TR_HOUR: *out = ak_v_int(ak_floordiv(us, AK_US_PER_HOUR)); return 0;
    case AK_TR_MONTH: ak_civil_from_days(days, &y, &m, &d); *out = ak_v_int((y - 1970) * 12 + (int64_t)m - 1); return 0;
    case AK_TR_YEAR: ak_civil_from_days(days, &y, &m, &d); *out = ak_v_int(y - 1970); return 0;
    default: return ak_errf(err, AK_E_INTERNAL, "unknown partition transform");
    }
}

int ak__ice_coerce(ak_itype_t t, const ak_val_t *v, ak_val_t *out, ak_err_t *err)
{
    if (v->type == AK_NULL) {
        *out = *v;
        return 0;
    }
    bool ok = false;
    *out = *v;
    switch (t) {
    case AK_IT_BOOLEAN: ok = v->type == AK_BOOL; break;
    case AK_IT_INT:
    case AK_IT_LONG: ok = v->type == AK_INT; break;
    case AK_IT_FLOAT:
    case AK_IT_DOUBLE:
        if (v->type == AK_INT)
            *out = ak_v_double((double)v->i);
        ok = v->type == AK_INT || v->type == AK_DOUBLE || v->type == AK_FLOAT;
        if (ok && t == AK_IT_FLOAT)
            *out = ak_v_float(out->d);
        break;
    case AK_IT_DATE:
        if (v->type == AK_TIMESTAMP)
            *out = ak_v_date(ak_floordiv(v->i, AK_US_PER_DAY));
        ok = v->type == AK_DATE || v->type == AK_TIMESTAMP || v->type == AK_INT;
        out->type = AK_DATE;
        break;
    case AK_IT_TIMESTAMP:
    case AK_IT_TIMESTAMPTZ:
        if (v->type == AK_DATE)
            *out = ak_v_ts(v->i * AK_US_PER_DAY);
        ok = v->type == AK_TIMESTAMP || v->type == AK_DATE || v->type == AK_INT;
        out->type = AK_TIMESTAMP;
        break;
    case AK_IT_STRING: ok = v->type == AK_TEXT; break;
    default: break;
    }
    if (!ok)
        return ak_errf(err, AK_E_TYPE, "a %s value cannot be stored as Iceberg %s", ak_type_name((ak_type_t)v->type),
                       ak__ice_itype_name(t));
    return 0;
}

int ak__ice_bound_put(ak_itype_t t, const ak_val_t *v, ak_buf_t *out, ak_err_t *err)
{
    ak_val_t c;
    if (v->type == AK_NULL)
        return ak_errf(err, AK_E_USAGE, "a bound cannot be NULL");
    if (ak__ice_coerce(t, v, &c, err))
        return -1;
    switch (t) {
    case AK_IT_BOOLEAN: ak_buf_putc(out, c.i ? 1 : 0); break;
    case AK_IT_INT:
    case AK_IT_DATE:
        if (c.i < INT32_MIN || c.i > INT32_MAX)
            return ak_errf(err, AK_E_RANGE, "%lld does not fit Iceberg %s", (long long)c.i, ak__ice_itype_name(t));
        ak_buf_put_u32le(out, (uint32_t)(int32_t)c.i);
        break;
    case AK_IT_LONG:
    case AK_IT_TIMESTAMP:
    case AK_IT_TIMESTAMPTZ: ak_buf_put_u64le(out, (uint64_t)c.i); break;
    case AK_IT_FLOAT: {
        float f = (float)c.d;
        uint32_t u;
        memcpy(&u, &f, 4);
        ak_buf_put_u32le(out, u);
        break;
    }
    case AK_IT_DOUBLE: {
        uint64_t u;
        memcpy(&u, &c.d, 8);
        ak_buf_put_u64le(out, u);
        break;
    }
    case AK_IT_STRING: ak_buf_put(out, c.s, c.n); break;
    default: return ak_errf(err, AK_E_UNSUPPORTED, "no bound serialization for this type");
    }
    return out->oom ? ak_err_nomem(err) : 0;
}

int ak__ice_bound_get(ak_itype_t t, const uint8_t *p, size_t n, ak_val_t *out, ak_err_t *err)
{
    size_t want = 0;
    switch (t) {
    case AK_IT_BOOLEAN: want = 1; break;
    case AK_IT_INT:
    case AK_IT_DATE:
    case AK_IT_FLOAT: want = 4; break;
    case AK_IT_LONG:
    case AK_IT_TIMESTAMP:
    case AK_IT_TIMESTAMPTZ:
    case AK_IT_DOUBLE: want = 8; break;
    case AK_IT_STRING: *out = ak_v_text((const char *)p, n); return 0;
    default: return ak_errf(err, AK_E_UNSUPPORTED, "no bound serialization for this type");
    }
    if (n != want)
        return ak_errf(err, AK_E_CORRUPT, "a %s bound has %zu bytes, expected %zu", ak__ice_itype_name(t), n, want);
    switch (t) {
    case AK_IT_BOOLEAN: *out = ak_v_bool(p[0] != 0); break;
    case AK_IT_INT: *out = ak_v_int((int32_t)ak_le_get32(p)); break;
    case AK_IT_DATE: *out = ak_v_date((int32_t)ak_le_get32(p)); break;
    case AK_IT_LONG: *out = ak_v_int((int64_t)ak_le_get64(p)); break;
    case AK_IT_TIMESTAMP:
    case AK_IT_TIMESTAMPTZ: *out = ak_v_ts((int64_t)ak_le_get64(p)); break;
    case AK_IT_FLOAT: {
        uint32_t u = ak_le_get32(p);
        float f;
        memcpy(&f, &u, 4);
        *out = ak_v_float(f);
        break;
    }
    default: {
        uint64_t u = ak_le_get64(p);
        double d;
        memcpy(&d, &u, 8);
        *out = ak_v_double(d);
        break;
    }
    }
    return 0;
}

/* Hive-style escaping of a path segment: keeps [A-Za-z0-9._-]. */
static void put_escaped(ak_buf_t *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
            c == '-')
            ak_buf_putc(out, (char)c);
        else
            ak_buf_printf(out, "%%%02X", c);
    }
}

void ak__ice_part_text(ak_itype_t t, ak_ice_tr_t tr, const ak_val_t *v, ak_buf_t *out)
{
    char tmp[AK_TS_BUF];
    int64_t y;
    unsigned m, d;
    if (v->type == AK_NULL) {
        ak_buf_puts(out, "null");
        return;
    }
    switch (tr) {
    case AK_TR_DAY: ak_buf_put(out, tmp, ak_date_format(v->i, tmp)); return;
    case AK_TR_HOUR:
        ak_civil_from_days(ak_floordiv(v->i, 24), &y, &m, &d);
        ak_buf_printf(out, "%04lld-%02u-%02u-%02lld", (long long)y, m, d, (long long)(v->i - ak_floordiv(v->i, 24) * 24));
        return;
    case AK_TR_MONTH:
        ak_buf_printf(out, "%04lld-%02lld", (long long)(1970 + ak_floordiv(v->i, 12)),
                      (long long)(v->i - ak_floordiv(v->i, 12) * 12 + 1));
        return;
    case AK_TR_YEAR: ak_buf_printf(out, "%04lld", (long long)(1970 + v->i)); return;
    default: break;
    }
    ak_buf_t s = AK_BUF_INIT;
    if (t == AK_IT_DATE)
        ak_buf_put(&s, tmp, ak_date_format(v->i, tmp));
    else
        ak_val_to_text(v, &s);
    if (s.oom)
        out->oom = true;
    else
        put_escaped(out, s.data ? s.data : "", s.len);
    ak_buf_free(&s);
}

int ak__ice_random(void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        ssize_t r = getrandom(b, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

void ak__ice_uuid(char out[37])
{
    uint8_t b[16] = {0};
    if (ak__ice_random(b, sizeof b)) {
        /* no entropy source: time and address still make a unique name */
        uint64_t x = (uint64_t)ak_wall_us() ^ (uint64_t)(uintptr_t)out, y = ak_hash_u64(x + (uint64_t)getpid());
        memcpy(b, &x, 8);
        memcpy(b + 8, &y, 8);
    }
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

int64_t ak__ice_new_snapshot_id(const ak_ice_table_t *t)
{
    for (;;) {
        uint64_t r = 0;
        if (ak__ice_random(&r, sizeof r))
            r = ak_hash_u64((uint64_t)ak_wall_us() + (uint64_t)t->nsnaps);
        /* below 2^53: JavaScript readers parse ids as doubles */
        int64_t id = (int64_t)(r & ((UINT64_C(1) << 53) - 1));
        if (id > 0 && !ak__ice_find_snap(t, id))
            return id;
    }
}

void ak__ice_avro_name(const char *s, ak_buf_t *out)
{
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool digit = c >= '0' && c <= '9';
        if (letter || (digit && i > 0))
            ak_buf_putc(out, (char)c);
        else if (digit)
            ak_buf_printf(out, "_%c", c);
        else
            ak_buf_printf(out, "_x%X", c);
    }
}
