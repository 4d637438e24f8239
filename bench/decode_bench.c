/* decode_bench.c - decode throughput of the NDJSON and CSV decoders.
 *
 * Built by `make build/release/decode_bench` (and `make bench`); run:
 *   build/release/decode_bench [--csv] [--all] [--borrow] [--batch N] [--keep-heap] [--reps N] FILE
 *
 * mmaps FILE and decodes every line into batches of N (4096) records with the
 * schema user_id, page_url, referrer_url (VARCHAR), event_time (TIMESTAMP),
 * or with --all the eight clickstream columns.  Prints the best of N runs in
 * MB/s and lines/s by wall clock and by the thread's CPU time (less
 * disturbed by other jobs on the machine), plus a checksum so the work
 * cannot be optimised away.
 * --keep-heap stops glibc from returning freed batch-arena chunks to the OS
 * (ak_arena_reset frees all chunks but one, so a batch bigger than one chunk
 * otherwise page-faults its memory in again on every batch).
 */
#include "ak_csv.h"
#include "ak_json_decode.h"
#include "ak_time.h"

#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    bool csv = false, all = false, borrow = false;
    int reps = 3, batch_size = 4096;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--csv"))
            csv = true;
        else if (!strcmp(argv[i], "--all"))
            all = true;
        else if (!strcmp(argv[i], "--borrow"))
            borrow = true;
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch_size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--keep-heap")) {
            /* glibc: never give freed arena chunks back to the OS */
            mallopt(M_MMAP_THRESHOLD, 64 << 20);
            mallopt(M_TRIM_THRESHOLD, 256 << 20);
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: decode_bench [--csv] [--all] [--borrow] [--batch N] [--keep-heap] [--reps N] FILE\n");
        return 2;
    }
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(path);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    const char *data = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (data == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    ak_schema_t schema = {0};
    if (all) {
        ak_schema_add(&schema, "event_id", AK_TEXT, false, false);
        ak_schema_add(&schema, "user_id", AK_TEXT, false, false);
        ak_schema_add(&schema, "page_url", AK_TEXT, false, false);
        ak_schema_add(&schema, "referrer_url", AK_TEXT, false, false);
        ak_schema_add(&schema, "user_agent", AK_TEXT, false, false);
        ak_schema_add(&schema, "ip_address", AK_TEXT, false, false);
        ak_schema_add(&schema, "event_time", AK_TIMESTAMP, true, false);
        ak_schema_add(&schema, "session_id", AK_TEXT, false, false);
    } else {
        ak_schema_add(&schema, "user_id", AK_TEXT, false, false);
        ak_schema_add(&schema, "page_url", AK_TEXT, false, false);
        ak_schema_add(&schema, "referrer_url", AK_TEXT, false, false);
        ak_schema_add(&schema, "event_time", AK_TIMESTAMP, true, false);
    }
    int tcol = ak_schema_find(&schema, "event_time", 10);
    ak_err_t err;
    ak_json_decoder_t *jd = NULL;
    ak_csv_decoder_t *cd = NULL;
    const char *body = data;
    size_t body_len = size;
    if (csv) {
        size_t hl = ak_csv_record_len(data, size, true);
        if (ak_csv_decoder_new(&schema, data, hl, &cd, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        body += hl;
        body_len -= hl;
    } else {
        if (ak_json_decoder_new(&schema, &jd, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        ak_json_decoder_set_borrow(jd, borrow);
    }
    ak_batch_t b;
    ak_batch_init(&b, &schema);
    double best = 1e30, best_cpu = 1e30;
    size_t lines = 0, bad = 0;
    uint64_t sum = 0;
    for (int r = 0; r < reps; r++) {
        lines = bad = 0;
        sum = 0;
        double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        const char *p = body, *end = body + body_len;
        while (p < end) {
            size_t len;
            int rc;
            if (csv) {
                len = ak_csv_record_len(p, (size_t)(end - p), true);
                rc = ak_csv_decode(cd, p, len, (uint64_t)(p - data), &b, &err);
            } else {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
                rc = ak_json_decode(jd, p, nl ? len - 1 : len, (uint64_t)(p - data), &b, &err);
            }
            if (rc < 0 && bad++ < 3)
                fprintf(stderr, "line %zu: %s\n", lines + 1, err.msg);
            lines++;
            p += len;
            if (b.n >= (size_t)batch_size) {
                for (size_t i = 0; i < b.n; i++)
                    sum += (uint64_t)b.recs[i].v[tcol].i + b.recs[i].v[0].n;
                ak_batch_clear(&b);
            }
        }
        for (size_t i = 0; i < b.n; i++)
            sum += (uint64_t)b.recs[i].v[tcol].i + b.recs[i].v[0].n;
        ak_batch_clear(&b);
        double t = clock_s(CLOCK_MONOTONIC) - t0, c = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
        if (t < best)
            best = t;
        if (c < best_cpu)
            best_cpu = c;
    }
    printf("%s %s%s: %zu lines, %zu bad, %.1f MB in %.3f s: %.0f MB/s, %.2f M lines/s; "
           "CPU %.3f s: %.0f MB/s (checksum %llu)\n",
           csv ? "csv" : "ndjson", all ? "8 columns" : "4 columns", borrow ? " borrow" : "", lines, bad,
           (double)size / 1e6, best, (double)size / 1e6 / best, (double)lines / 1e6 / best, best_cpu,
           (double)size / 1e6 / best_cpu, (unsigned long long)sum);
    ak_batch_free(&b);
    ak_json_decoder_free(jd);
    ak_csv_decoder_free(cd);
    ak_schema_free(&schema);
    munmap((void *)data, size);
    close(fd);
    return 0;
}
