/* ak_parquet_int.h - what the Parquet writer and reader share: the format's
 * enum values (parquet.thrift), the RLE/bit-packed hybrid and the codecs. */
#ifndef AK_PARQUET_INT_H
#define AK_PARQUET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_buf.h"
#include "ak_error.h"

/* parquet.thrift enums */
enum { PQ_BOOLEAN = 0, PQ_INT32 = 1, PQ_INT64 = 2, PQ_INT96 = 3, PQ_FLOAT = 4, PQ_DOUBLE = 5,
       PQ_BYTE_ARRAY = 6, PQ_FIXED_LEN_BYTE_ARRAY = 7 };
enum { PQ_CT_UTF8 = 0, PQ_CT_ENUM = 4, PQ_CT_DECIMAL = 5, PQ_CT_DATE = 6, PQ_CT_TIMESTAMP_MILLIS = 9,
       PQ_CT_TIMESTAMP_MICROS = 10, PQ_CT_UINT_8 = 11, PQ_CT_UINT_64 = 14, PQ_CT_INT_8 = 15,
       PQ_CT_INT_64 = 18, PQ_CT_JSON = 19 };
enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };
enum { PQ_ENC_PLAIN = 0, PQ_ENC_PLAIN_DICTIONARY = 2, PQ_ENC_RLE = 3, PQ_ENC_BIT_PACKED = 4,
       PQ_ENC_RLE_DICTIONARY = 8 };
enum { PQ_CODEC_UNCOMPRESSED = 0, PQ_CODEC_SNAPPY = 1, PQ_CODEC_ZSTD = 6 };
enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3 };
/* LogicalType union members */
enum { PQ_LT_STRING = 1, PQ_LT_ENUM = 4, PQ_LT_DATE = 6, PQ_LT_TIMESTAMP = 8, PQ_LT_INTEGER = 10,
       PQ_LT_JSON = 12 };

#define PQ_MAGIC "PAR1"
/* The largest page (header excluded) either side writes or accepts: bounds
 * what a hostile header can make the reader allocate. */
#define PQ_MAX_PAGE (256u << 20)

/* Bits needed for values 0..max (at least 1: some readers dislike 0). */
static inline int ak_pq_bit_width(uint32_t max)
{
    int w = 1;
    while (w < 32 && (max >> w))
        w++;
    return w;
}

/* RLE/bit-packed hybrid of n values of bw bits (no length prefix); values
 * come from v8 or v32, whichever is not NULL. */
void ak_pq_hyb_encode(ak_buf_t *out, const uint8_t *v8, const uint32_t *v32, size_t n, int bw);
/* PLAIN booleans: bit-packed, least significant bit first. */
void ak_pq_put_bools(ak_buf_t *out, const uint8_t *v, size_t n);

/* Decoder of a hybrid run sequence over p[0..n). */
typedef struct ak_pq_hyb {
    const uint8_t *p, *end;
    int bw;
    uint32_t rle_left, rle_val;
    uint32_t bp_left, bp_idx; /* values left in a bit-packed run, next index */
    const uint8_t *bp;        /* the run's bytes */
} ak_pq_hyb_t;

void ak_pq_hyb_init(ak_pq_hyb_t *h, const uint8_t *p, size_t n, int bw);
/* The next value; -1 when the runs are exhausted or malformed. */
int ak_pq_hyb_next(ak_pq_hyb_t *h, uint32_t *v);

/* Compression of one page into out (appended); the codec context (zstd) is
 * created on first use and freed by ak_pq_codec_free. */
typedef struct ak_pq_codec_ctx {
    void *zc, *zd;
} ak_pq_codec_ctx_t;
int ak_pq_compress(ak_pq_codec_ctx_t *c, int codec, int level, const void *src, size_t n, ak_buf_t *out,
                   ak_err_t *err);
/* Decompresses src into exactly dst_n bytes at dst; AK_E_CORRUPT otherwise. */
int ak_pq_decompress(ak_pq_codec_ctx_t *c, int codec, const void *src, size_t n, void *dst, size_t dst_n,
                     ak_err_t *err);
void ak_pq_codec_free(ak_pq_codec_ctx_t *c);

#endif
