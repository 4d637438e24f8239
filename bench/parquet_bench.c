/* parquet_bench.c - write throughput of the Parquet writer.
 *
 * Built by `make build/release/parquet_bench`; run:
 *   build/release/parquet_bench [ROWS] [DIR]
 *
 * Makes ROWS (1,000,000) flagship-like rows in memory first - 12 columns:
 * 7 strings (event type, country and device of low cardinality; event id,
 * user id, session id and page URL of high cardinality), 2 timestamps, 3
 * integers, a few NULLs - then writes them with zstd, snappy and no
 * compression and prints rows/s, MB/s (of the rows' raw bytes: strings'
 * length + 8 per number) and the file size, by wall clock.  Timing covers
 * ak_pq_write_row for every row and ak_pq_writer_finish (footer, fsync,
 * rename).
 */
#include "ak_alloc.h"
#include "ak_arena.h"
#include "ak_parquet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NC 12

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

int main(int argc, char **argv)
{
    long rows = argc > 1 ? atol(argv[1]) : 1000000;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    ak_pq_col_t cols[NC] = {
        {"event_id", AK_TEXT, true, 1},    {"user_id", AK_TEXT, true, 2},      {"session_id", AK_TEXT, false, 3},
        {"page_url", AK_TEXT, false, 4},   {"event_type", AK_TEXT, true, 5},   {"country", AK_TEXT, false, 6},
        {"device", AK_TEXT, false, 7},     {"event_time", AK_TIMESTAMP, true, 8},
        {"ingest_time", AK_TIMESTAMP, false, 9}, {"amount_cents", AK_INT, false, 10},
        {"quantity", AK_INT, false, 11},   {"seq", AK_INT, true, 12},
    };
    static const char *types[] = {"page_view", "click", "add_to_cart", "purchase", "search", "login", "logout", "scroll"};
    static const char *countries[] = {"US", "DE", "FR", "GB", "JP", "BR", "IN", "CA", "AU", "ES", "IT", "NL", "SE",
                                      "MX", "KR", "PL", "CH", "AT", "BE", "DK", "NO", "FI", "IE", "PT", "NZ", "SG",
                                      "ZA", "AR", "CL", "CO"};
    static const char *devices[] = {"desktop", "mobile", "tablet", "tv"};
    ak_arena_t a;
    ak_arena_init(&a, 1 << 20);
    ak_val_t *data = ak_malloc((size_t)rows * NC * sizeof *data);
    if (!data)
        return 1;
    uint64_t s = 0x9e3779b97f4a7c15;
    double raw = 0;
    int64_t t0 = INT64_C(1767225600000000); /* 2026-01-01 */
    for (long r = 0; r < rows; r++) {
        ak_val_t *v = &data[r * NC];
        char buf[128];
        int n;
        uint64_t x = rnd(&s);
        n = snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-%04llx-%012llx", (unsigned long long)(x >> 32),
                     (unsigned long long)(x & 0xffff), (unsigned long long)(r & 0xfff),
                     (unsigned long long)((x >> 16) & 0xffff), (unsigned long long)(rnd(&s) & 0xffffffffffffULL));
        v[0] = ak_v_text(ak_arena_strndup(&a, buf, (size_t)n), (size_t)n);
        n = snprintf(buf, sizeof buf, "user-%06llu", (unsigned long long)(rnd(&s) % 200000));
        v[1] = ak_v_text(ak_arena_strndup(&a, buf, (size_t)n), (size_t)n);
        n = snprintf(buf, sizeof buf, "%016llx", (unsigned long long)rnd(&s));
        v[2] = rnd(&s) % 50 == 0 ? ak_v_null() : ak_v_text(ak_arena_strndup(&a, buf, (size_t)n), (size_t)n);
        n = snprintf(buf, sizeof buf, "https://shop.example.com/products/%llu?ref=%llu",
                     (unsigned long long)(rnd(&s) % 50000), (unsigned long long)(rnd(&s) % 1000));
        v[3] = rnd(&s) % 20 == 0 ? ak_v_null() : ak_v_text(ak_arena_strndup(&a, buf, (size_t)n), (size_t)n);
        const char *t = types[rnd(&s) % 8], *c = countries[rnd(&s) % 30], *d = devices[rnd(&s) % 4];
        v[4] = ak_v_text(t, strlen(t));
        v[5] = rnd(&s) % 100 == 0 ? ak_v_null() : ak_v_text(c, strlen(c));
        v[6] = ak_v_text(d, strlen(d));
        int64_t et = t0 + r * 1000 + (int64_t)(rnd(&s) % 5000000);
        v[7] = ak_v_ts(et);
        v[8] = rnd(&s) % 100 == 0 ? ak_v_null() : ak_v_ts(et + (int64_t)(rnd(&s) % 2000000));
        v[9] = t[0] == 'p' && t[1] == 'u' ? ak_v_int((int64_t)(rnd(&s) % 50000)) : ak_v_null();
        v[10] = ak_v_int((int64_t)(rnd(&s) % 5) + 1);
        v[11] = ak_v_int(r);
        for (int k = 0; k < NC; k++)
            raw += v[k].type == AK_TEXT ? v[k].n : v[k].type == AK_NULL ? 0 : 8;
    }
    const char *names[] = {"zstd", "snappy", "uncompressed"};
    for (int codec = 0; codec < 3; codec++) {
        char path[512];
        snprintf(path, sizeof path, "%s/parquet_bench_%s.parquet", dir, names[codec]);
        ak_pq_opts_t o = {.codec = (ak_pq_codec_t)codec};
        ak_pq_writer_t *w;
        ak_err_t err;
        double b = now();
        if (ak_pq_writer_open(path, cols, NC, &o, &w, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        for (long r = 0; r < rows; r++)
            if (ak_pq_write_row(w, &data[r * NC], &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
        ak_pq_stats_t st;
        if (ak_pq_writer_finish(w, &st, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double e = now() - b;
        printf("%-12s %ld rows in %.2f s: %.0f rows/s, %.1f MB/s of raw data (%.1f MB), file %.1f MB, %d row group(s)\n",
               names[codec], rows, e, (double)rows / e, raw / e / 1e6, raw / 1e6, (double)st.file_bytes / 1e6,
               st.nrow_groups);
        ak_pq_stats_free(&st);
    }
    ak_free(data);
    ak_arena_free(&a);
    return 0;
}
