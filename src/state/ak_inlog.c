/* ak_inlog.c - input change logs on disk.
 *
 * Layout: a 32-byte header ("AKINLOG1", format version, column count,
 * fingerprint, header CRC) followed by frames [u32 length][u32 crc32c][payload].
 * A payload is one record: op (0x80: AK_REC_CDC, 0x40: AK_REC_MERGE), present mask, then per column a type tag and
 * the value (varints for integers/times, 8 bytes for doubles, length-prefixed
 * bytes for text).
 */
#include "ak_inlog.h"

#include "ak_alloc.h"
#include "ak_awrite.h"
#include "ak_buf.h"
#include "ak_crc32c.h"
#include "ak_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "AKINLOG1"
#define FORMAT 1
#define HDR 32
#define FLUSH_AT (4u << 20)

struct ak_inlog {
    int fd;
    char *path;
    const ak_schema_t *schema;
    uint64_t len;      /* bytes in the file + buffered */
    uint64_t synced;   /* durable length */
    ak_buf_t buf;      /* frames not yet written */
    ak_buf_t rec;      /* one record being encoded */
    ak_awriter_t *aw;  /* large appends (a load) written while the next is decoded */
};

uint64_t ak_fp_str(uint64_t h, const char *s)
{
    if (!h)
        h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)(s ? s : "\x01"); *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL;
}

uint64_t ak_fp_int(uint64_t h, int64_t v)
{
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)v);
    return ak_fp_str(h, t);
}

int ak_inlog_remove(const char *path, ak_err_t *err)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return ak_errf(err, AK_E_IO, "cannot remove %s: %s", path, strerror(errno));
    return 0;
}

int ak_inlog_open(const char *path, const ak_schema_t *schema, uint64_t fingerprint, uint64_t committed,
                  ak_inlog_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_inlog_t *l = ak_calloc(1, sizeof *l);
    if (!l || !(l->path = ak_strdup(path))) {
        ak_free(l);
        return ak_err_nomem(err);
    }
    l->schema = schema;
    l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l->fd < 0) {
        ak_errf(err, AK_E_IO, "cannot open input log %s: %s", path, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(l->fd, &sb) != 0) {
        ak_errf(err, AK_E_IO, "cannot stat %s: %s", path, strerror(errno));
        goto fail;
    }
    uint8_t h[HDR];
    if (sb.st_size == 0 || committed == 0) {
        /* new (or never committed): start afresh */
        if (ftruncate(l->fd, 0) != 0) {
            ak_errf(err, AK_E_IO, "cannot truncate %s: %s", path, strerror(errno));
            goto fail;
        }
        memset(h, 0, sizeof h);
        memcpy(h, MAGIC, 8);
        ak_le_put32(h + 8, FORMAT);
        ak_le_put32(h + 12, (uint32_t)schema->n);
        ak_le_put64(h + 16, fingerprint);
        ak_le_put32(h + 24, ak_crc32c(0, h, 24));
        if (ak_io_write_all(l->fd, h, HDR) || ak_io_fsync(l->fd)) {
            ak_errf(err, AK_E_IO, "cannot write %s: %s", path, strerror(errno));
            goto fail;
        }
        l->len = l->synced = HDR;
        *out = l;
        return 0;
    }
    if ((uint64_t)sb.st_size < committed) {
        ak_errf(err, AK_E_CORRUPT,
                "input log %s is shorter (%lld bytes) than its committed length (%llu); it was truncated or replaced. "
                "Run `akili run reset` for this product to re-read its inputs from the start",
                path, (long long)sb.st_size, (unsigned long long)committed);
        goto fail;
    }
    if (pread(l->fd, h, HDR, 0) != HDR || memcmp(h, MAGIC, 8) != 0 || ak_le_get32(h + 24) != ak_crc32c(0, h, 24)) {
        ak_errf(err, AK_E_CORRUPT, "%s is not an akili input log (bad header)", path);
        goto fail;
    }
    if (ak_le_get32(h + 8) != FORMAT) {
        ak_errf(err, AK_E_STATE, "%s has log format %u; this akili reads format %d", path, ak_le_get32(h + 8), FORMAT);
        goto fail;
    }
    if (ak_le_get64(h + 16) != fingerprint || ak_le_get32(h + 12) != (uint32_t)schema->n) {
        ak_errf(err, AK_E_STATE, "%s holds records of a different input definition", path);
        goto fail;
    }
    if ((uint64_t)sb.st_size > committed && ftruncate(l->fd, (off_t)committed) != 0) {
        ak_errf(err, AK_E_IO, "cannot cut the uncommitted tail of %s: %s", path, strerror(errno));
        goto fail;
    }
    if (lseek(l->fd, (off_t)committed, SEEK_SET) < 0) {
        ak_errf(err, AK_E_IO, "cannot seek %s: %s", path, strerror(errno));
        goto fail;
    }
    l->len = l->synced = committed;
    *out = l;
    return 0;
fail:
    ak_inlog_close(l);
    return -1;
}

void ak_inlog_close(ak_inlog_t *l)
{
    if (!l)
        return;
    ak_awriter_stop(l->aw);
    if (l->fd >= 0)
        close(l->fd);
    ak_free(l->path);
    ak_buf_free(&l->buf);
    ak_buf_free(&l->rec);
    ak_free(l);
}

uint64_t ak_inlog_length(const ak_inlog_t *l) { return l->len; }

static void encode_value(ak_buf_t *b, const ak_val_t *v)
{
    ak_buf_putc(b, (char)v->type);
    switch (v->type) {
    case AK_NULL: break;
    case AK_BOOL:
    case AK_INT:
    case AK_DATE:
    case AK_TIMESTAMP: ak_buf_put_svarint(b, v->i); break;
    case AK_FLOAT:
    case AK_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->d, 8);
        ak_buf_put_u64le(b, bits);
        break;
    }
    case AK_TEXT:
        ak_buf_put_uvarint(b, v->n);
        ak_buf_put(b, v->s, v->n);
        break;
    case AK_INTERVAL:
        ak_buf_put_svarint(b, v->i);
        ak_buf_put_svarint(b, (int32_t)v->n);
        break;
    default: break;
    }
}

/* Writes what is buffered: by the writer thread once one is running (a
 * full buffer starts it), directly otherwise. */
static int flush(ak_inlog_t *l, bool full, ak_err_t *err)
{
    if (!l->buf.len)
        return 0;
    if (full && !l->aw && ak_awriter_start(l->fd, l->path, &l->aw, err))
        return -1;
    if (l->aw)
        return ak_awriter_put(l->aw, NULL, 0, &l->buf, err);
    if (ak_io_write_all(l->fd, l->buf.data, l->buf.len))
        return ak_errf(err, AK_E_IO, "cannot write input log %s: %s", l->path, strerror(errno));
    ak_buf_clear(&l->buf);
    return 0;
}

int ak_inlog_encode(const ak_schema_t *schema, const ak_batch_t *b, ak_buf_t *out, ak_err_t *err)
{
    for (size_t i = 0; i < b->n; i++) {
        const ak_rec_t *r = &b->recs[i];
        /* the frame's header is filled in once its record is */
        size_t at = out->len;
        ak_buf_put(out, "\0\0\0\0\0\0\0\0", 8);
        ak_buf_putc(out, (char)(r->op | (r->flags & AK_REC_CDC ? 0x80 : 0) | (r->flags & AK_REC_MERGE ? 0x40 : 0)));
        ak_buf_put_uvarint(out, r->present);
        for (int c = 0; c < schema->n; c++)
            encode_value(out, &r->v[c]);
        if (out->oom)
            return ak_err_nomem(err);
        uint8_t *fh = (uint8_t *)out->data + at;
        size_t n = out->len - at - 8;
        ak_le_put32(fh, (uint32_t)n);
        ak_le_put32(fh + 4, ak_crc32c(0, fh + 8, n));
    }
    return 0;
}

int ak_inlog_append_encoded(ak_inlog_t *l, const void *p, size_t n, ak_err_t *err)
{
    ak_buf_put(&l->buf, p, n);
    if (l->buf.oom)
        return ak_err_nomem(err);
    l->len += n;
    if (l->buf.len >= FLUSH_AT && flush(l, true, err))
        return -1;
    return 0;
}

int ak_inlog_append(ak_inlog_t *l, const ak_batch_t *b, ak_err_t *err)
{
    ak_buf_clear(&l->rec);
    if (ak_inlog_encode(l->schema, b, &l->rec, err))
        return -1;
    return ak_inlog_append_encoded(l, l->rec.data, l->rec.len, err);
}

int ak_inlog_sync(ak_inlog_t *l, uint64_t *len, ak_err_t *err)
{
    if (flush(l, false, err) || (l->aw && ak_awriter_drain(l->aw, err)))
        return -1;
    if (l->synced != l->len && ak_io_fdatasync(l->fd) != 0)
        return ak_errf(err, AK_E_IO, "cannot sync input log %s: %s", l->path, strerror(errno));
    l->synced = l->len;
    *len = l->len;
    return 0;
}

static int decode_record(const uint8_t *p, size_t n, const ak_schema_t *s, ak_batch_t *b)
{
    size_t k = 0;
    if (n < 1)
        return -1;
    uint8_t op = p[k] & 0x3f, cdc = p[k] & 0x80, merge = p[k] & 0x40;
    k++;
    uint64_t present;
    size_t u = ak_get_uvarint(p + k, n - k, &present);
    if (!u || (op != AK_OP_UPSERT && op != AK_OP_DELETE && op != AK_OP_TRUNCATE))
        return -1;
    k += u;
    ak_rec_t *r = ak_batch_add(b, (ak_op_t)op, 0);
    if (!r)
        return -2;
    r->present = present;
    r->flags = (uint8_t)((cdc ? AK_REC_CDC : 0) | (merge ? AK_REC_MERGE : 0));
    for (int c = 0; c < s->n; c++) {
        if (k >= n)
            return -1;
        uint8_t t = p[k++];
        ak_val_t *v = &r->v[c];
        int64_t iv;
        switch (t) {
        case AK_NULL: *v = ak_v_null(); break;
        case AK_BOOL:
        case AK_INT:
        case AK_DATE:
        case AK_TIMESTAMP:
            if (!(u = ak_get_svarint(p + k, n - k, &iv)))
                return -1;
            k += u;
            v->i = iv;
            v->n = 0;
            v->type = t;
            break;
        case AK_FLOAT:
        case AK_DOUBLE: {
            if (n - k < 8)
                return -1;
            uint64_t bits = 0;
            for (int i = 7; i >= 0; i--)
                bits = bits << 8 | p[k + (size_t)i];
            memcpy(&v->d, &bits, 8);
            v->n = 0;
            v->type = t;
            k += 8;
            break;
        }
        case AK_TEXT: {
            uint64_t len;
            if (!(u = ak_get_uvarint(p + k, n - k, &len)) || len > n - k - u)
                return -1;
            k += u;
            char *s2 = ak_arena_strndup(&b->arena, (const char *)p + k, (size_t)len);
            if (!s2)
                return -2;
            *v = ak_v_text(s2, (size_t)len);
            k += (size_t)len;
            break;
        }
        case AK_INTERVAL: {
            int64_t m;
            if (!(u = ak_get_svarint(p + k, n - k, &iv)))
                return -1;
            k += u;
            if (!(u = ak_get_svarint(p + k, n - k, &m)))
                return -1;
            k += u;
            *v = ak_v_interval((int32_t)m, iv);
            break;
        }
        default: return -1;
        }
    }
    return k == n ? 0 : -1;
}

int ak_inlog_replay(ak_inlog_t *l, size_t max, ak_inlog_fn fn, void *ctx, ak_err_t *err)
{
    return ak_inlog_replay_range(l, 0, UINT64_MAX, max, fn, ctx, err);
}

int ak_inlog_replay_range(ak_inlog_t *l, uint64_t from, uint64_t to, size_t max, ak_inlog_fn fn, void *ctx,
                          ak_err_t *err)
{
    if (flush(l, false, err) || (l->aw && ak_awriter_drain(l->aw, err)))
        return -1;
    uint64_t end = to < l->synced ? to : l->synced, off = from > HDR ? from : HDR;
    if (from > end)
        return ak_errf(err, AK_E_STATE, "input log %s: cannot replay from byte %llu, it holds %llu", l->path,
                       (unsigned long long)off, (unsigned long long)end);
    size_t chunk = 8u << 20;
    uint8_t *buf = ak_malloc(chunk);
    ak_batch_t b;
    ak_batch_init(&b, l->schema);
    int rc = -1;
    if (!buf) {
        ak_err_nomem(err);
        goto done;
    }
    size_t have = 0, at = 0; /* bytes in buf, consumed */
    uint64_t buf_off = off;  /* file offset of buf[0] */
    while (off < end) {
        if (have - at < 8 || have - at < 8 + (size_t)ak_le_get32(buf + at)) {
            /* refill: keep the partial frame at the front */
            memmove(buf, buf + at, have - at);
            have -= at;
            buf_off += at;
            at = 0;
            size_t need = have >= 8 ? 8 + (size_t)ak_le_get32(buf) : 8;
            if (need > chunk) {
                uint8_t *nb = ak_realloc(buf, need);
                if (!nb) {
                    ak_err_nomem(err);
                    goto done;
                }
                buf = nb;
                chunk = need;
            }
            size_t want = chunk - have;
            if (want > end - (buf_off + have))
                want = (size_t)(end - (buf_off + have));
            ssize_t r = pread(l->fd, buf + have, want, (off_t)(buf_off + have));
            if (r < 0) {
                ak_errf(err, AK_E_IO, "cannot read %s: %s", l->path, strerror(errno));
                goto done;
            }
            have += (size_t)r;
            if (have < 8 || have < 8 + (size_t)ak_le_get32(buf)) {
                ak_errf(err, AK_E_CORRUPT, "input log %s ends inside a record at byte %llu", l->path,
                        (unsigned long long)off);
                goto done;
            }
        }
        uint32_t len = ak_le_get32(buf + at), crc = ak_le_get32(buf + at + 4);
        const uint8_t *payload = buf + at + 8;
        if (ak_crc32c(0, payload, len) != crc) {
            ak_errf(err, AK_E_CORRUPT,
                    "input log %s is damaged at byte %llu (checksum mismatch). Run `akili run reset` for this product "
                    "to rebuild it from the sources",
                    l->path, (unsigned long long)off);
            goto done;
        }
        int d = decode_record(payload, len, l->schema, &b);
        if (d == -2) {
            ak_err_nomem(err);
            goto done;
        }
        if (d) {
            ak_errf(err, AK_E_CORRUPT, "input log %s has an unreadable record at byte %llu", l->path,
                    (unsigned long long)off);
            goto done;
        }
        at += 8 + len;
        off += 8 + len;
        if (b.n >= max) {
            if (fn(ctx, &b, err))
                goto done;
            ak_batch_clear(&b);
        }
    }
    if (b.n && fn(ctx, &b, err))
        goto done;
    rc = 0;
done:
    ak_batch_free(&b);
    ak_free(buf);
    return rc;
}
