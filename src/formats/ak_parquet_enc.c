/* ak_parquet_enc.c - the RLE/bit-packed hybrid, PLAIN booleans and the page
 * codecs (zstd, snappy), shared by the Parquet writer and reader. */
#include "ak_parquet_int.h"

#include <snappy-c.h>
#include <string.h>
#include <zstd.h>

/* ---- RLE / bit-packed hybrid ---- */

static inline uint32_t val_at(const uint8_t *v8, const uint32_t *v32, size_t i) { return v8 ? v8[i] : v32[i]; }

/* A bit-packed run of groups of 8 values (the last group padded with 0). */
static void put_bitpacked(ak_buf_t *out, const uint8_t *v8, const uint32_t *v32, size_t from, size_t n, int bw)
{
    size_t groups = (n + 7) / 8;
    ak_buf_put_uvarint(out, groups << 1 | 1);
    size_t nbytes = groups * (size_t)bw;
    if (ak_buf_reserve(out, nbytes))
        return;
    uint8_t *p = (uint8_t *)out->data + out->len;
    memset(p, 0, nbytes);
    uint64_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < groups * 8; i++) {
        uint64_t v = i < n ? val_at(v8, v32, from + i) : 0;
        acc |= v << bits;
        bits += bw;
        while (bits >= 8) {
            p[o++] = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    out->len += nbytes;
    out->data[out->len] = '\0';
}

static void put_rle(ak_buf_t *out, uint32_t v, size_t count, int bw)
{
    ak_buf_put_uvarint(out, (uint64_t)count << 1);
    for (int b = 0; b < (bw + 7) / 8; b++)
        ak_buf_putc(out, (char)(v >> (8 * b)));
}

void ak_pq_hyb_encode(ak_buf_t *out, const uint8_t *v8, const uint32_t *v32, size_t n, int bw)
{
    size_t lit_from = 0, lit_n = 0; /* pending literal values */
    size_t i = 0;
    while (i < n) {
        uint32_t v = val_at(v8, v32, i);
        size_t run = 1;
        while (i + run < n && val_at(v8, v32, i + run) == v)
            run++;
        /* a repeated run only where the literals so far fill whole groups
         * of 8 (a bit-packed run cannot end mid-group except at the end) */
        if (run >= 8 && lit_n % 8 == 0) {
            if (lit_n)
                put_bitpacked(out, v8, v32, lit_from, lit_n, bw);
            put_rle(out, v, run, bw);
            i += run;
            lit_n = 0;
            lit_from = i;
            continue;
        }
        size_t take = run >= 8 ? 8 - lit_n % 8 : run; /* realign, then take the rest as a run */
        lit_n += take;
        i += take;
    }
    if (lit_n)
        put_bitpacked(out, v8, v32, lit_from, lit_n, bw);
}

void ak_pq_put_bools(ak_buf_t *out, const uint8_t *v, size_t n)
{
    size_t nbytes = (n + 7) / 8;
    if (ak_buf_reserve(out, nbytes))
        return;
    uint8_t *p = (uint8_t *)out->data + out->len;
    memset(p, 0, nbytes);
    for (size_t i = 0; i < n; i++)
        p[i >> 3] |= (uint8_t)((v[i] & 1) << (i & 7));
    out->len += nbytes;
    out->data[out->len] = '\0';
}

void ak_pq_hyb_init(ak_pq_hyb_t *h, const uint8_t *p, size_t n, int bw)
{
    memset(h, 0, sizeof *h);
    h->p = p;
    h->end = p + n;
    h->bw = bw;
}

int ak_pq_hyb_next(ak_pq_hyb_t *h, uint32_t *v)
{
    if (h->rle_left) {
        h->rle_left--;
        *v = h->rle_val;
        return 0;
    }
    if (h->bp_left) {
        size_t bit = (size_t)h->bp_idx * (size_t)h->bw;
        const uint8_t *q = h->bp + bit / 8;
        int shift = (int)(bit % 8);
        uint64_t acc = 0;
        int nb = (shift + h->bw + 7) / 8; /* within the run: checked at its header */
        for (int b = 0; b < nb; b++)
            acc |= (uint64_t)q[b] << (8 * b);
        *v = (uint32_t)((acc >> shift) & ((UINT64_C(1) << h->bw) - 1));
        h->bp_idx++;
        h->bp_left--;
        return 0;
    }
    /* a new run */
    uint64_t hdr;
    size_t used = h->p < h->end ? ak_get_uvarint(h->p, (size_t)(h->end - h->p), &hdr) : 0;
    if (!used || hdr > UINT32_MAX)
        return -1;
    h->p += used;
    if (hdr & 1) {
        uint64_t groups = hdr >> 1;
        uint64_t nbytes = groups * (uint64_t)h->bw;
        if (!groups || nbytes > (uint64_t)(h->end - h->p))
            return -1;
        h->bp = h->p;
        h->bp_idx = 0;
        h->bp_left = (uint32_t)(groups * 8);
        h->p += nbytes;
    } else {
        uint32_t count = (uint32_t)(hdr >> 1);
        int nb = (h->bw + 7) / 8;
        if (!count || (size_t)(h->end - h->p) < (size_t)nb)
            return -1;
        uint32_t val = 0;
        for (int b = 0; b < nb; b++)
            val |= (uint32_t)h->p[b] << (8 * b);
        h->p += nb;
        if (h->bw < 32 && (val >> h->bw))
            return -1;
        h->rle_val = val;
        h->rle_left = count;
    }
    return ak_pq_hyb_next(h, v);
}

/* ---- codecs ---- */

int ak_pq_compress(ak_pq_codec_ctx_t *c, int codec, int level, const void *src, size_t n, ak_buf_t *out,
                   ak_err_t *err)
{
    if (codec == PQ_CODEC_UNCOMPRESSED) {
        ak_buf_put(out, src, n);
        return out->oom ? ak_err_nomem(err) : 0;
    }
    if (codec == PQ_CODEC_SNAPPY) {
        size_t cap = snappy_max_compressed_length(n);
        if (ak_buf_reserve(out, cap))
            return ak_err_nomem(err);
        size_t len = cap;
        if (snappy_compress(src, n, out->data + out->len, &len) != SNAPPY_OK)
            return ak_errf(err, AK_E_INTERNAL, "snappy compression of a %zu-byte page failed", n);
        out->len += len;
        out->data[out->len] = '\0';
        return 0;
    }
    if (!c->zc && !(c->zc = ZSTD_createCCtx()))
        return ak_err_nomem(err);
    size_t cap = ZSTD_compressBound(n);
    if (ak_buf_reserve(out, cap))
        return ak_err_nomem(err);
    size_t len = ZSTD_compressCCtx(c->zc, out->data + out->len, cap, src, n, level);
    if (ZSTD_isError(len))
        return ak_errf(err, AK_E_INTERNAL, "zstd compression of a %zu-byte page failed: %s", n,
                       ZSTD_getErrorName(len));
    out->len += len;
    out->data[out->len] = '\0';
    return 0;
}

int ak_pq_decompress(ak_pq_codec_ctx_t *c, int codec, const void *src, size_t n, void *dst, size_t dst_n,
                     ak_err_t *err)
{
    if (codec == PQ_CODEC_UNCOMPRESSED) {
        if (n != dst_n)
            return ak_errf(err, AK_E_CORRUPT, "uncompressed page of %zu bytes says it has %zu", n, dst_n);
        if (n)
            memcpy(dst, src, n);
        return 0;
    }
    if (codec == PQ_CODEC_SNAPPY) {
        size_t len;
        if (snappy_uncompressed_length(src, n, &len) != SNAPPY_OK || len != dst_n)
            return ak_errf(err, AK_E_CORRUPT, "snappy page does not hold the %zu bytes its header says", dst_n);
        if (snappy_uncompress(src, n, dst, &len) != SNAPPY_OK || len != dst_n)
            return ak_errf(err, AK_E_CORRUPT, "snappy page does not decompress");
        return 0;
    }
    if (codec != PQ_CODEC_ZSTD)
        return ak_errf(err, AK_E_UNSUPPORTED, "compression codec %d is not supported (only uncompressed, "
                       "snappy and zstd are)", codec);
    unsigned long long fcs = ZSTD_getFrameContentSize(src, n);
    if (fcs == ZSTD_CONTENTSIZE_ERROR || (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs > dst_n))
        return ak_errf(err, AK_E_CORRUPT, "zstd page does not hold the %zu bytes its header says", dst_n);
    if (!c->zd && !(c->zd = ZSTD_createDCtx()))
        return ak_err_nomem(err);
    size_t len = ZSTD_decompressDCtx(c->zd, dst, dst_n, src, n);
    if (ZSTD_isError(len) || len != dst_n)
        return ak_errf(err, AK_E_CORRUPT, "zstd page does not decompress to the %zu bytes its header says%s%s",
                       dst_n, ZSTD_isError(len) ? ": " : "", ZSTD_isError(len) ? ZSTD_getErrorName(len) : "");
    return 0;
}

void ak_pq_codec_free(ak_pq_codec_ctx_t *c)
{
    ZSTD_freeCCtx(c->zc);
    ZSTD_freeDCtx(c->zd);
    c->zc = c->zd = NULL;
}
