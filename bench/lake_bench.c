/* lake_bench.c - the lake sink's throughput on flagship sessions.
 *
 * Built by `make build/release/lake_bench`; run:
 *   build/release/lake_bench [SESSIONS] [PUBLISHES] [DIR]
 *
 * Makes SESSIONS (1,000,000) rows of the flagship output (12 columns: user,
 * name, account type, country - 20 values and 5% NULL -, session number,
 * start and end over 90 days, duration, page views, landing and exit page,
 * referrer) in memory, then, by wall clock:
 *   1. publishes them as one snapshot (day(session_start) x country
 *      partitions, zstd; then snappy and none into other tables);
 *   2. PUBLISHES (100) publishes each changing 1% of the sessions (the old
 *      row deleted, the new one added; 10% move to another day or country),
 *      each followed by maintenance as the serving sink does it (compaction
 *      of partitions with 8 small files, expiry to 5 snapshots);
 *   3. maintenance until it has nothing left to do;
 *   4. reads the table back (ak_lake_read) and checks the row count.
 * Raw bytes count strings' lengths and 8 per number, as parquet_bench does.
 */
#include "ak_alloc.h"
#include "ak_arena.h"
#include "ak_lake_sink.h"
#include "ak_parquet.h"
#include "ak_time.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* A table's location (the strings are not freed) */
#define LOC(w, n, t) (&(ak_lake_loc_t){.warehouse = (char *)(w), .ns = (char *)(n), .name = (char *)(t)})

#define NC 12
#define DAY_US 86400000000LL

static const char *const NAMES[NC] = {"user_id", "username", "account_type", "country", "session_num",
                                      "session_start", "session_end", "session_duration_seconds", "page_views",
                                      "landing_page", "exit_page", "entry_referrer"};
static const ak_type_t TYPES[NC] = {AK_TEXT, AK_TEXT, AK_TEXT, AK_TEXT, AK_INT, AK_TIMESTAMP,
                                    AK_TIMESTAMP, AK_INT, AK_INT, AK_TEXT, AK_TEXT, AK_TEXT};
static const char *const COUNTRIES[] = {"US", "DE", "FR", "GB", "JP", "BR", "IN", "CA", "AU", "ES",
                                        "IT", "NL", "SE", "MX", "KR", "PL", "KE", "NG", "ZA", "AR"};
static const char *const ACCOUNTS[] = {"free", "pro", "enterprise"};

static double now(void) { return (double)ak_mono_us() / 1e6; }

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

typedef struct gen {
    ak_arena_t a;
    uint64_t s;
    double raw;
} gen_t;

static ak_val_t text(gen_t *g, const char *buf, int n) { return ak_v_text(ak_arena_strndup(&g->a, buf, (size_t)n), (size_t)n); }

/* Session i of user u (day and country may be moved by the caller). */
static void make(gen_t *g, ak_val_t *v, long u, long num, int day, const char *country)
{
    char buf[96];
    int n = snprintf(buf, sizeof buf, "user-%06ld", u);
    v[0] = text(g, buf, n);
    n = snprintf(buf, sizeof buf, "name_%ld", u);
    v[1] = text(g, buf, n);
    v[2] = ak_v_text(ACCOUNTS[u % 3], strlen(ACCOUNTS[u % 3]));
    v[3] = country ? ak_v_text(country, strlen(country)) : ak_v_null();
    v[4] = ak_v_int(num);
    int64_t start = INT64_C(1767225600000000) + day * DAY_US + (int64_t)(rnd(&g->s) % (uint64_t)DAY_US);
    int64_t dur = (int64_t)(rnd(&g->s) % 3600);
    v[5] = ak_v_ts(start);
    v[6] = ak_v_ts(start + dur * 1000000);
    v[7] = ak_v_int(dur);
    v[8] = ak_v_int((int64_t)(rnd(&g->s) % 40) + 1);
    n = snprintf(buf, sizeof buf, "https://shop.example.com/p/%llu", (unsigned long long)(rnd(&g->s) % 5000));
    v[9] = text(g, buf, n);
    n = snprintf(buf, sizeof buf, "https://shop.example.com/p/%llu", (unsigned long long)(rnd(&g->s) % 5000));
    v[10] = text(g, buf, n);
    n = snprintf(buf, sizeof buf, "https://ref%llu.example.org/", (unsigned long long)(rnd(&g->s) % 300));
    v[11] = rnd(&g->s) % 4 == 0 ? ak_v_null() : text(g, buf, n);
}

static double raw_bytes(const ak_val_t *v)
{
    double b = 0;
    for (int k = 0; k < NC; k++)
        b += v[k].type == AK_TEXT ? v[k].n : v[k].type == AK_NULL ? 0 : 8;
    return b;
}

static const char *country_of(gen_t *g) { return rnd(&g->s) % 20 == 0 ? NULL : COUNTRIES[rnd(&g->s) % 20]; }

/* Files and bytes under a folder. */
static void du(const char *dir, long *files, double *bytes)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[4096];
        struct stat st;
        if (e->d_name[0] == '.' || snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p || lstat(p, &st))
            continue;
        if (S_ISDIR(st.st_mode))
            du(p, files, bytes);
        else {
            (*files)++;
            *bytes += (double)st.st_size;
        }
    }
    if (d)
        closedir(d);
}

static int fail(const ak_err_t *e)
{
    fprintf(stderr, "lake_bench: %s\n", e->msg);
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static ak_lake_sink_t *open_table(const char *dir, const char *name, int codec, ak_err_t *err)
{
    static const char *const PKEY[] = {"session_start_date", "country"};
    static const char *const SORT[] = {"session_start", "country"};
    ak_lake_sink_opts_t o = {.loc = LOC(dir, "bench", name),
                             .ncols = NC,
                             .names = NAMES,
                             .types = TYPES,
                             .partition_key = PKEY,
                             .n_partition_key = 2,
                             .sort_key = SORT,
                             .n_sort_key = 2,
                             .codec = codec,
                             .maint = {true, 8, 128 << 20, 0, 5, 0}};
    ak_lake_sink_t *l = NULL;
    return ak_lake_sink_open(&o, &l, err) ? NULL : l;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int npub = argc > 2 ? atoi(argv[2]) : 100;
    if (n < 100 || npub < 1 || npub > 10000)
        return 2;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", argc > 3 ? argv[3] : "/tmp/akili_lake_bench_XXXXXX");
    if (argc <= 3 && !mkdtemp(dir))
        return 1;
    gen_t g = {.s = 0x9e3779b97f4a7c15};
    ak_arena_init(&g.a, 1 << 20);
    ak_val_t *rows = ak_malloc((size_t)n * NC * sizeof *rows), *row2 = ak_malloc(NC * sizeof *row2);
    if (!rows || !row2)
        return 1;
    for (long i = 0; i < n; i++) {
        make(&g, &rows[i * NC], i / 5, i % 5 + 1, (int)(rnd(&g.s) % 90), country_of(&g));
        g.raw += raw_bytes(&rows[i * NC]);
    }
    ak_err_t err;
    ak_lake_report_t rep;
    static const char *const CODECS[] = {"zstd", "snappy", "none"};
    ak_lake_sink_t *l = NULL;
    for (int c = 2; c >= 0; c--) {
        ak_lake_sink_t *t = open_table(dir, CODECS[c], c, &err);
        double b = now();
        if (!t || ak_lake_sink_begin(t, false, &err))
            return fail(&err);
        for (long i = 0; i < n; i++)
            if (ak_lake_sink_put(t, &rows[i * NC], 1, &err))
                return fail(&err);
        if (ak_lake_sink_finish(t, &(ak_lake_mark_t){.commit = 1}, &rep, &err))
            return fail(&err);
        double e = now() - b;
        printf("publish %-6s %ld sessions in %.2f s: %.0f rows/s, %.1f MB/s raw (%.1f MB), %.1f MB/s written; "
               "%lld files, %.1f MB (%.1f bytes per session)\n",
               CODECS[c], n, e, (double)n / e, g.raw / e / 1e6, g.raw / 1e6, (double)rep.bytes / e / 1e6,
               (long long)rep.files, (double)rep.bytes / 1e6, (double)rep.bytes / (double)n);
        if (c)
            ak_lake_sink_free(t);
        else
            l = t;
    }
    /* publishes of 1% changes on the zstd table, each followed by maintenance */
    double *ms = ak_malloc(sizeof *ms * (size_t)npub), *mms = ak_malloc(sizeof *mms * (size_t)npub);
    long changed = n / 100, files = 0, compacted = 0;
    if (!ms || !mms)
        return 1;
    for (int k = 0; k < npub; k++) {
        double b = now();
        if (ak_lake_sink_begin(l, false, &err))
            return fail(&err);
        for (long j = 0; j < changed; j++) {
            long i = (j * 100 + k) % n; /* each session once per publish (changes are netted) */
            ak_val_t *v = &rows[i * NC];
            if (ak_lake_sink_put(l, v, -1, &err))
                return fail(&err);
            bool move = rnd(&g.s) % 10 == 0;
            int day = (int)((v[5].i - INT64_C(1767225600000000)) / DAY_US);
            const char *country = v[3].type == AK_NULL ? NULL : v[3].s;
            make(&g, row2, i / 5, i % 5 + 1, move && rnd(&g.s) % 2 ? (day + 1) % 90 : day,
                 move ? country_of(&g) : country);
            memcpy(v, row2, NC * sizeof *v);
            if (ak_lake_sink_put(l, v, 1, &err))
                return fail(&err);
        }
        if (ak_lake_sink_finish(l, &(ak_lake_mark_t){.commit = k + 2}, &rep, &err))
            return fail(&err);
        double m = now();
        ms[k] = (m - b) * 1e3;
        files += rep.files;
        ak_lake_maint_report_t mr;
        if (ak_lake_sink_maintain(l, ak_wall_us(), &mr, &err))
            return fail(&err);
        mms[k] = (now() - m) * 1e3;
        compacted += mr.partitions;
    }
    qsort(ms, (size_t)npub, sizeof *ms, cmp_double);
    qsort(mms, (size_t)npub, sizeof *mms, cmp_double);
    printf("%d publishes of %ld changed sessions (10%% moving partition): median %.1f ms, p95 %.1f ms, %.1f files "
           "each; maintenance after each: median %.1f ms, p95 %.1f ms, %ld partitions rewritten in all\n",
           npub, changed, ms[npub / 2], ms[npub * 95 / 100], (double)files / npub, mms[npub / 2], mms[npub * 95 / 100],
           compacted);
    ak_free(ms);
    ak_free(mms);
    char tdir[600];
    snprintf(tdir, sizeof tdir, "%s/bench/zstd", dir);
    long f0 = 0, f1 = 0;
    double b0 = 0, b1 = 0;
    du(tdir, &f0, &b0);
    double b = now();
    ak_lake_maint_report_t mr, tot = {0};
    int calls = 0;
    do {
        if (ak_lake_sink_maintain(l, ak_wall_us(), &mr, &err))
            return fail(&err);
        tot.partitions += mr.partitions;
        tot.files_in += mr.files_in;
        tot.files_out += mr.files_out;
        tot.bytes_in += mr.bytes_in;
        tot.bytes_out += mr.bytes_out;
        tot.snapshots_expired += mr.snapshots_expired;
        calls++;
    } while (mr.partitions && calls < 1000);
    double e = now() - b;
    du(tdir, &f1, &b1);
    printf("maintenance: %d calls in %.2f s: %d partitions rewritten (%lld files, %.1f MB -> %lld files, %.1f MB), "
           "%lld snapshots expired; table folder %ld files, %.1f MB -> %ld files, %.1f MB\n",
           calls, e, tot.partitions, (long long)tot.files_in, (double)tot.bytes_in / 1e6, (long long)tot.files_out,
           (double)tot.bytes_out / 1e6, (long long)tot.snapshots_expired, f0, b0 / 1e6, f1, b1 / 1e6);
    b = now();
    ak_rel_t *r = NULL;
    if (ak_lake_read(LOC(dir, "bench", "zstd"), -1, NC, NAMES, TYPES, &r, &err))
        return fail(&err);
    e = now() - b;
    printf("read back: %zu rows in %.2f s: %.0f rows/s\n", r->nrows, e, (double)r->nrows / e);
    int rc = (long)r->nrows == n ? 0 : 1;
    if (rc)
        printf("MISMATCH: %zu rows read, %ld expected\n", r->nrows, n);
    ak_rel_free(r);
    ak_lake_sink_free(l);
    ak_free(rows);
    ak_free(row2);
    ak_arena_free(&g.a);
    if (argc <= 3) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd))
            rc = 1;
    }
    return rc;
}
