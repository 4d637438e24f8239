/* test_parquet.c - the Parquet writer and reader: round trips of every type
 * with NULLs and extremes over every codec, page and row-group layout and
 * dictionary/PLAIN choice; statistics against the data; truncated and
 * corrupted files.  With AK_PQ_EXPORT_DIR set, the `export` test writes
 * files and their expected rows/statistics as JSON for the independent
 * readers (tests/lake/test_parquet.py); with AK_PQ_CORPUS_DIR set, small
 * files for the fuzzer's seed corpus. */
#include "ak_alloc.h"
#include "ak_arena.h"
#include "ak_buf.h"
#include "ak_parquet.h"
#include "ak_test.h"
#include "ak_thrift.h"

#include <math.h>
#include <sys/stat.h>

static char scratch[256];

static void scratch_init(void)
{
    if (!scratch[0]) {
        snprintf(scratch, sizeof scratch, "/tmp/ak_test_parquet.%d", (int)getpid());
        mkdir(scratch, 0755);
    }
}

static const char *tpath(const char *name)
{
    static char p[512];
    scratch_init();
    snprintf(p, sizeof p, "%s/%s", scratch, name);
    return p;
}

/* ---- data ---- */

static const ak_type_t all_types[] = {AK_BOOL, AK_INT, AK_FLOAT, AK_DOUBLE, AK_TEXT, AK_DATE, AK_TIMESTAMP};
#define NTYPES 7

typedef struct dataset {
    int ncols;
    ak_pq_col_t cols[32];
    char names[32][16];
    int64_t nrows;
    ak_val_t *rows; /* nrows x ncols */
    ak_arena_t arena;
} dataset_t;

static const char *pool[] = {"", "a", "b", "abc", "z", "\xc3\xa9t\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80",
                             "hello world", "A", "\x7f", "emoji \xf0\x9f\x8e\x89 end"};

/* Extremes other engines can represent too (DuckDB keeps the int32/int64
 * ends of DATE and TIMESTAMP for infinities): for the exported files. */
static bool portable;

static ak_val_t gen_value(dataset_t *d, ak_type_t t, uint64_t *rng, int card)
{
    uint64_t r = ak_test_xorshift(rng);
    int pick = (int)(r % 16);
    switch (t) {
    case AK_BOOL: return ak_v_bool(r >> 20 & 1);
    case AK_INT:
        if (pick == 0) return ak_v_int(INT64_MIN);
        if (pick == 1) return ak_v_int(INT64_MAX);
        if (pick == 2) return ak_v_int(0);
        if (pick == 3) return ak_v_int(-1);
        return ak_v_int(card ? (int64_t)(r >> 8) % card : (int64_t)(r >> 3) - (INT64_C(1) << 59));
    case AK_FLOAT:
        if (pick == 0) return ak_v_float(INFINITY);
        if (pick == 1) return ak_v_float(-INFINITY);
        if (pick == 2) return ak_v_float(-0.0);
        if (pick == 3) return ak_v_float(NAN);
        if (pick == 4) return ak_v_float(3.4028234663852886e38);
        return ak_v_float(((double)(int64_t)(r >> 11) - 4e15) / 1e6);
    case AK_DOUBLE:
        if (pick == 0) return ak_v_double(-INFINITY);
        if (pick == 1) return ak_v_double(1.7976931348623157e308);
        if (pick == 2) return ak_v_double(0.0);
        if (pick == 3) return ak_v_double(NAN);
        if (pick == 4) return ak_v_double(4.9e-324);
        return ak_v_double(((double)(int64_t)(r >> 11) - 4e15) / 1e3);
    case AK_TEXT: {
        if (card || pick < 8) {
            const char *s = pool[(r >> 8) % (sizeof pool / sizeof *pool)];
            if (card > (int)(sizeof pool / sizeof *pool)) {
                char *b = ak_arena_sprintf(&d->arena, "val-%d", (int)((r >> 8) % (uint64_t)card));
                return ak_v_text(b, strlen(b));
            }
            return ak_v_text(s, strlen(s));
        }
        size_t n = (r >> 8) % 40;
        char *b = ak_arena_alloc_bytes(&d->arena, n + 1);
        for (size_t i = 0; i < n; i++)
            b[i] = (char)(0x20 + ak_test_xorshift(rng) % 95);
        return ak_v_text(b, n);
    }
    case AK_DATE:
        if (pick == 0) return ak_v_date(portable ? -719162 : INT32_MIN); /* 0001-01-01 */
        if (pick == 1) return ak_v_date(portable ? 2932896 : INT32_MAX);  /* 9999-12-31 */
        return ak_v_date((int64_t)(r >> 8) % 80000 - 40000); /* before and after 1970 */
    case AK_TIMESTAMP:
        if (pick == 0) return ak_v_ts(portable ? INT64_C(253402300799999999) : INT64_MIN + 1);
        if (pick == 1) return ak_v_ts(-1);
        if (pick == 2) return ak_v_ts(INT64_C(-62135596800000000)); /* 0001-01-01 */
        return ak_v_ts((int64_t)(r >> 10) % INT64_C(8000000000000000) - INT64_C(4000000000000000));
    default: return ak_v_null();
    }
}

/* Every type twice (optional, required), plus low-cardinality text/int. */
static void dataset_make(dataset_t *d, int64_t nrows, uint64_t seed, int null_pct)
{
    memset(d, 0, sizeof *d);
    ak_arena_init(&d->arena, 1 << 16);
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < NTYPES; t++) {
            int c = d->ncols++;
            snprintf(d->names[c], sizeof d->names[c], "%s_%s", k ? "r" : "o", ak_type_name(all_types[t]));
            d->cols[c] = (ak_pq_col_t){d->names[c], all_types[t], k == 1, 100 + c};
        }
    snprintf(d->names[d->ncols], 16, "lowcard_s");
    d->cols[d->ncols] = (ak_pq_col_t){d->names[d->ncols], AK_TEXT, false, 7};
    d->ncols++;
    snprintf(d->names[d->ncols], 16, "lowcard_i");
    d->cols[d->ncols] = (ak_pq_col_t){d->names[d->ncols], AK_INT, true, 0};
    d->ncols++;
    d->nrows = nrows;
    d->rows = ak_calloc((size_t)(nrows ? nrows : 1) * (size_t)d->ncols, sizeof *d->rows);
    uint64_t rng = seed | 1;
    for (int64_t r = 0; r < nrows; r++)
        for (int c = 0; c < d->ncols; c++) {
            ak_val_t *v = &d->rows[r * d->ncols + c];
            if (!d->cols[c].required && (int)(ak_test_xorshift(&rng) % 100) < null_pct)
                *v = ak_v_null();
            else
                *v = gen_value(d, d->cols[c].type, &rng, c >= 2 * NTYPES ? 20 : 0);
        }
}

static void dataset_free(dataset_t *d)
{
    ak_free(d->rows);
    ak_arena_free(&d->arena);
}

static bool same_val(const ak_val_t *a, const ak_val_t *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case AK_NULL: return true;
    case AK_TEXT: return a->n == b->n && (a->n == 0 || memcmp(a->s, b->s, a->n) == 0);
    case AK_FLOAT:
    case AK_DOUBLE: return (isnan(a->d) && isnan(b->d)) || memcmp(&a->d, &b->d, sizeof a->d) == 0;
    default: return a->i == b->i;
    }
}

static int cmp_v(const ak_val_t *a, const ak_val_t *b)
{
    if (a->type == AK_TEXT) {
        int r = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
        return r ? (r > 0) - (r < 0) : (a->n > b->n) - (a->n < b->n);
    }
    if (a->type == AK_FLOAT || a->type == AK_DOUBLE)
        return (a->d > b->d) - (a->d < b->d);
    return (a->i > b->i) - (a->i < b->i);
}

/* The statistics the data says, for column c. */
static void expected_stat(const dataset_t *d, int c, ak_pq_colstat_t *s)
{
    memset(s, 0, sizeof *s);
    s->field_id = d->cols[c].field_id;
    s->values = d->nrows;
    for (int64_t r = 0; r < d->nrows; r++) {
        const ak_val_t *v = &d->rows[r * d->ncols + c];
        if (v->type == AK_NULL) {
            s->nulls++;
            continue;
        }
        if ((v->type == AK_FLOAT || v->type == AK_DOUBLE) && isnan(v->d)) {
            s->nans++;
            continue;
        }
        if (!s->has_bounds || cmp_v(v, &s->min) < 0)
            s->min = *v;
        if (!s->has_bounds || cmp_v(v, &s->max) > 0)
            s->max = *v;
        s->has_bounds = true;
    }
    if (s->has_bounds && (s->min.type == AK_FLOAT || s->min.type == AK_DOUBLE)) {
        if (s->min.d == 0)
            s->min.d = -0.0;
        if (s->max.d == 0)
            s->max.d = 0.0;
    }
}

static int check_stats(const dataset_t *d, const ak_pq_stats_t *st, bool from_footer)
{
    int bad = 0;
    if (st->ncols != d->ncols || st->rows != d->nrows)
        return 1;
    for (int c = 0; c < d->ncols; c++) {
        ak_pq_colstat_t e;
        expected_stat(d, c, &e);
        const ak_pq_colstat_t *s = &st->cols[c];
        bool fl = d->cols[c].type == AK_FLOAT || d->cols[c].type == AK_DOUBLE;
        if (s->field_id != e.field_id || s->values != e.values || s->nulls != e.nulls
            || (fl && s->nans != e.nans) || s->has_bounds != e.has_bounds || (d->nrows && s->bytes <= 0)
            || (e.has_bounds && (!same_val(&s->min, &e.min) || !same_val(&s->max, &e.max)))) {
            fprintf(stderr, "  stats of column %s differ (%s)\n", d->cols[c].name, from_footer ? "footer" : "writer");
            bad++;
        }
    }
    return bad;
}

static int write_dataset(const dataset_t *d, const char *path, const ak_pq_opts_t *o, ak_pq_stats_t *st)
{
    ak_pq_writer_t *w;
    ak_err_t err;
    if (ak_pq_writer_open(path, d->cols, d->ncols, o, &w, &err)) {
        fprintf(stderr, "  open: %s\n", err.msg);
        return -1;
    }
    for (int64_t r = 0; r < d->nrows; r++)
        if (ak_pq_write_row(w, &d->rows[r * d->ncols], &err)) {
            fprintf(stderr, "  write: %s\n", err.msg);
            ak_pq_writer_abort(w);
            return -1;
        }
    if (ak_pq_writer_finish(w, st, &err)) {
        fprintf(stderr, "  finish: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Reads the file back and compares schema, rows and footer statistics. */
static int verify_file(const dataset_t *d, const char *path, const ak_pq_stats_t *wst)
{
    ak_pq_file_t *f;
    ak_err_t err;
    if (ak_pq_open(path, &f, &err)) {
        fprintf(stderr, "  read open: %s\n", err.msg);
        return 1;
    }
    int bad = 0;
    if (ak_pq_ncols(f) != d->ncols || ak_pq_num_rows(f) != d->nrows)
        bad++;
    for (int c = 0; !bad && c < d->ncols; c++) {
        const ak_pq_col_t *pc = &ak_pq_cols(f)[c];
        if (strcmp(pc->name, d->cols[c].name) || pc->type != d->cols[c].type || pc->required != d->cols[c].required
            || pc->field_id != d->cols[c].field_id)
            bad++;
    }
    ak_val_t row[32];
    bool eof = false;
    int64_t r = 0;
    while (!bad) {
        if (ak_pq_next_row(f, row, &eof, &err)) {
            fprintf(stderr, "  read row %lld: %s\n", (long long)r, err.msg);
            bad++;
            break;
        }
        if (eof)
            break;
        if (r >= d->nrows) {
            bad++;
            break;
        }
        for (int c = 0; c < d->ncols; c++)
            if (!same_val(&row[c], &d->rows[r * d->ncols + c])) {
                fprintf(stderr, "  row %lld column %s differs\n", (long long)r, d->cols[c].name);
                bad++;
                break;
            }
        r++;
    }
    if (!bad && r != d->nrows)
        bad++;
    ak_pq_stats_t fst;
    if (ak_pq_file_stats(f, &fst, &err)) {
        bad++;
    } else {
        bad += check_stats(d, &fst, true);
        if (wst && (fst.nrow_groups != wst->nrow_groups || fst.file_bytes != wst->file_bytes))
            bad++;
        for (int g = 0; wst && g < fst.nrow_groups && g < wst->nrow_groups; g++)
            if (fst.row_group_offsets[g] != wst->row_group_offsets[g])
                bad++;
        for (int c = 0; wst && c < fst.ncols && c < wst->ncols; c++)
            if (fst.cols[c].bytes != wst->cols[c].bytes)
                bad++;
        ak_pq_stats_free(&fst);
    }
    ak_pq_close(f);
    return bad;
}

static off_t file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) ? -1 : sb.st_size;
}

/* ---- round trips ---- */

AK_TEST(round_trip_every_codec_and_layout)
{
    dataset_t d;
    dataset_make(&d, 3000, 42, 20);
    const struct {
        ak_pq_codec_t codec;
        int64_t rg_rows;
        size_t page;
        bool nodict;
    } cases[] = {
        {AK_PQ_ZSTD, 0, 0, false},          {AK_PQ_SNAPPY, 0, 0, false},       {AK_PQ_UNCOMPRESSED, 0, 0, false},
        {AK_PQ_ZSTD, 0, 0, true},           {AK_PQ_SNAPPY, 700, 256, false},   {AK_PQ_UNCOMPRESSED, 1, 0, false},
        {AK_PQ_ZSTD, 999, 100, true},       {AK_PQ_UNCOMPRESSED, 64, 1, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ak_pq_opts_t o = {.codec = cases[i].codec, .row_group_rows = cases[i].rg_rows, .page_bytes = cases[i].page,
                          .no_dictionary = cases[i].nodict};
        const char *p = tpath("rt.parquet");
        ak_pq_stats_t st;
        AK_CHECK(write_dataset(&d, p, &o, &st) == 0);
        AK_CHECK_EQ_INT(check_stats(&d, &st, false), 0);
        int64_t want_rg = cases[i].rg_rows ? (d.nrows + cases[i].rg_rows - 1) / cases[i].rg_rows : 1;
        AK_CHECK_EQ_INT(st.nrow_groups, want_rg);
        AK_CHECK_EQ_INT(st.file_bytes, file_size(p));
        for (int g = 1; g < st.nrow_groups; g++)
            AK_CHECK(st.row_group_offsets[g] > st.row_group_offsets[g - 1]);
        int bad = verify_file(&d, p, &st);
        if (bad)
            fprintf(stderr, "  case %zu failed\n", i);
        AK_CHECK_EQ_INT(bad, 0);
        ak_pq_stats_free(&st);
        AK_CHECK(access(tpath("rt.parquet.tmp"), F_OK) != 0);
    }
    dataset_free(&d);
}

AK_TEST(random_seeds_and_null_rates)
{
    for (uint64_t seed = 1; seed <= 12; seed++) {
        dataset_t d;
        int null_pct = (int)(seed * 9 % 101);
        dataset_make(&d, (int64_t)(seed * 97 % 700), seed * 7919, null_pct);
        ak_pq_opts_t o = {.codec = (ak_pq_codec_t)(seed % 3), .row_group_rows = (int64_t)(seed % 4) * 50,
                          .page_bytes = seed % 2 ? 64 : 0};
        ak_pq_stats_t st;
        const char *p = tpath("seed.parquet");
        AK_CHECK(write_dataset(&d, p, &o, &st) == 0);
        AK_CHECK_EQ_INT(check_stats(&d, &st, false), 0);
        AK_CHECK_EQ_INT(verify_file(&d, p, &st), 0);
        ak_pq_stats_free(&st);
        dataset_free(&d);
    }
}

AK_TEST(zero_rows)
{
    dataset_t d;
    dataset_make(&d, 0, 1, 0);
    ak_pq_stats_t st;
    const char *p = tpath("empty.parquet");
    AK_CHECK(write_dataset(&d, p, NULL, &st) == 0);
    AK_CHECK_EQ_INT(st.rows, 0);
    AK_CHECK_EQ_INT(st.nrow_groups, 0);
    for (int c = 0; c < st.ncols; c++)
        AK_CHECK(!st.cols[c].has_bounds && st.cols[c].values == 0);
    AK_CHECK_EQ_INT(verify_file(&d, p, &st), 0);
    ak_pq_stats_free(&st);
    dataset_free(&d);
}

/* Columns of only NULLs, only NaN, only zeros; unsigned string order. */
AK_TEST(statistics_edge_cases)
{
    ak_pq_col_t cols[] = {{"nulls", AK_TEXT, false, 1}, {"nan", AK_DOUBLE, false, 2}, {"zeros", AK_FLOAT, true, 3},
                          {"s", AK_TEXT, true, 4},      {"b", AK_BOOL, true, 5}};
    ak_pq_writer_t *w;
    ak_err_t err;
    const char *p = tpath("edge.parquet");
    AK_CHECK(ak_pq_writer_open(p, cols, 5, NULL, &w, &err) == 0);
    const char *strs[] = {"z", "\xc3\xa9", "a", "za"};
    for (int i = 0; i < 4; i++) {
        ak_val_t row[5] = {ak_v_null(), ak_v_double(NAN), ak_v_float(i % 2 ? -0.0 : 0.0),
                           ak_v_text(strs[i], strlen(strs[i])), ak_v_bool(true)};
        AK_CHECK(ak_pq_write_row(w, row, &err) == 0);
    }
    ak_pq_stats_t st;
    AK_CHECK(ak_pq_writer_finish(w, &st, &err) == 0);
    AK_CHECK(!st.cols[0].has_bounds && st.cols[0].nulls == 4);
    AK_CHECK(!st.cols[1].has_bounds && st.cols[1].nans == 4);
    AK_CHECK(st.cols[2].has_bounds && signbit(st.cols[2].min.d) && !signbit(st.cols[2].max.d));
    AK_CHECK(st.cols[3].min.n == 1 && st.cols[3].min.s[0] == 'a'); /* unsigned: é (0xc3) > z */
    AK_CHECK(st.cols[3].max.n == 2 && (uint8_t)st.cols[3].max.s[0] == 0xc3);
    AK_CHECK(st.cols[4].min.i == 1 && st.cols[4].max.i == 1);
    ak_pq_file_t *f;
    AK_CHECK(ak_pq_open(p, &f, &err) == 0);
    ak_pq_stats_t fs;
    AK_CHECK(ak_pq_file_stats(f, &fs, &err) == 0);
    AK_CHECK(!fs.cols[0].has_bounds && !fs.cols[1].has_bounds && fs.cols[1].nans == 4);
    AK_CHECK(signbit(fs.cols[2].min.d) && !signbit(fs.cols[2].max.d));
    AK_CHECK(fs.cols[3].max.n == 2 && memcmp(fs.cols[3].max.s, "\xc3\xa9", 2) == 0);
    ak_pq_stats_free(&fs);
    ak_pq_close(f);
    ak_pq_stats_free(&st);
}

/* Low-cardinality strings are dictionary-encoded (much smaller than
 * PLAIN); past 64k distinct values or 1 MiB the column falls back to PLAIN
 * and still reads back. */
AK_TEST(dictionary_and_fallback)
{
    ak_pq_col_t cols[] = {{"low", AK_TEXT, true, 1}, {"high", AK_TEXT, false, 2}, {"big", AK_TEXT, true, 3},
                          {"lowi", AK_INT, true, 4}};
    dataset_t d = {0};
    ak_arena_init(&d.arena, 1 << 20);
    d.ncols = 4;
    memcpy(d.cols, cols, sizeof cols);
    d.nrows = 150000;
    d.rows = ak_calloc((size_t)d.nrows * 4, sizeof *d.rows);
    uint64_t rng = 99;
    char *bigpool = ak_arena_alloc_bytes(&d.arena, 2000 * 700);
    memset(bigpool, 'x', 2000 * 700);
    for (int i = 0; i < 2000; i++)
        memcpy(bigpool + i * 700, (char[]){(char)('0' + i / 1000), (char)('0' + i / 100 % 10), (char)('0' + i / 10 % 10), (char)('0' + i % 10)}, 4);
    for (int64_t r = 0; r < d.nrows; r++) {
        const char *low[] = {"web", "mobile", "tablet"};
        const char *l = low[ak_test_xorshift(&rng) % 3];
        d.rows[r * 4] = ak_v_text(l, strlen(l));
        char *h = ak_arena_sprintf(&d.arena, "user-%lld", (long long)r);
        d.rows[r * 4 + 1] = r % 10 == 0 ? ak_v_null() : ak_v_text(h, strlen(h));
        /* 2,000 distinct values of 700 bytes: over 1 MiB of dictionary */
        d.rows[r * 4 + 2] = ak_v_text(bigpool + (ak_test_xorshift(&rng) % 2000) * 700, 700);
        d.rows[r * 4 + 3] = ak_v_int((int64_t)(ak_test_xorshift(&rng) % 5) * 1000000007);
    }
    ak_pq_opts_t o = {.codec = AK_PQ_UNCOMPRESSED, .row_group_rows = 100000};
    ak_pq_stats_t st, st2;
    AK_CHECK(write_dataset(&d, tpath("dict.parquet"), &o, &st) == 0);
    AK_CHECK_EQ_INT(verify_file(&d, tpath("dict.parquet"), &st), 0);
    AK_CHECK_EQ_INT(check_stats(&d, &st, false), 0);
    o.no_dictionary = true;
    AK_CHECK(write_dataset(&d, tpath("plain.parquet"), &o, &st2) == 0);
    AK_CHECK_EQ_INT(verify_file(&d, tpath("plain.parquet"), &st2), 0);
    /* dictionary: ~1 byte per row instead of ~10; high-cardinality and
     * big columns fall back to PLAIN: the same size either way */
    AK_CHECK(st.cols[0].bytes * 5 < st2.cols[0].bytes);
    AK_CHECK(st.cols[3].bytes * 5 < st2.cols[3].bytes);
    AK_CHECK(st.cols[1].bytes > st2.cols[1].bytes * 9 / 10 && st.cols[1].bytes < st2.cols[1].bytes * 11 / 10);
    AK_CHECK(st.cols[2].bytes > st2.cols[2].bytes * 9 / 10);
    ak_pq_stats_free(&st);
    ak_pq_stats_free(&st2);
    dataset_free(&d);
}

AK_TEST(bad_rows_and_abort)
{
    ak_pq_col_t cols[] = {{"id", AK_INT, true, 1}, {"name", AK_TEXT, false, 2}, {"d", AK_DATE, false, 3}};
    ak_pq_writer_t *w;
    ak_err_t err;
    const char *p = tpath("bad.parquet");
    unlink(p);
    AK_CHECK(ak_pq_writer_open(p, cols, 3, NULL, &w, &err) == 0);
    ak_val_t ok[3] = {ak_v_int(1), ak_v_text("x", 1), ak_v_null()};
    ak_val_t nullreq[3] = {ak_v_null(), ak_v_text("y", 1), ak_v_null()};
    ak_val_t wrong[3] = {ak_v_int(2), ak_v_int(5), ak_v_null()};
    ak_val_t bigdate[3] = {ak_v_int(3), ak_v_null(), ak_v_date(INT64_C(1) << 40)};
    AK_CHECK(ak_pq_write_row(w, ok, &err) == 0);
    AK_CHECK(ak_pq_write_row(w, nullreq, &err) == -1 && err.code == AK_E_TYPE && strstr(err.msg, "id"));
    AK_CHECK(ak_pq_write_row(w, wrong, &err) == -1 && err.code == AK_E_TYPE && strstr(err.msg, "name"));
    AK_CHECK(ak_pq_write_row(w, bigdate, &err) == -1 && err.code == AK_E_RANGE);
    AK_CHECK(access(p, F_OK) != 0); /* nothing in place before finish */
    ak_pq_stats_t st;
    AK_CHECK(ak_pq_writer_finish(w, &st, &err) == 0);
    AK_CHECK_EQ_INT(st.rows, 1); /* the bad rows left no trace */
    ak_pq_stats_free(&st);
    ak_pq_file_t *f;
    AK_CHECK(ak_pq_open(p, &f, &err) == 0);
    ak_val_t row[3];
    bool eof;
    AK_CHECK(ak_pq_next_row(f, row, &eof, &err) == 0 && !eof && row[0].i == 1 && row[1].n == 1 && row[2].type == AK_NULL);
    AK_CHECK(ak_pq_next_row(f, row, &eof, &err) == 0 && eof);
    ak_pq_close(f);

    AK_CHECK(ak_pq_writer_open(tpath("ab.parquet"), cols, 3, NULL, &w, &err) == 0);
    AK_CHECK(ak_pq_write_row(w, ok, &err) == 0);
    AK_CHECK(access(tpath("ab.parquet.tmp"), F_OK) == 0);
    ak_pq_writer_abort(w);
    AK_CHECK(access(tpath("ab.parquet.tmp"), F_OK) != 0 && access(tpath("ab.parquet"), F_OK) != 0);

    ak_pq_col_t iv[] = {{"i", AK_INTERVAL, false, 1}};
    AK_CHECK(ak_pq_writer_open(tpath("iv.parquet"), iv, 1, NULL, &w, &err) == -1 && err.code == AK_E_UNSUPPORTED);
    ak_pq_col_t dup[] = {{"a", AK_INT, false, 1}, {"a", AK_INT, false, 2}};
    AK_CHECK(ak_pq_writer_open(tpath("dup.parquet"), dup, 2, NULL, &w, &err) == -1);
    AK_CHECK(ak_pq_writer_open("/nonexistent-dir/x.parquet", cols, 3, NULL, &w, &err) == -1 && err.code == AK_E_IO);
}

/* ---- hostile input ---- */

static char *slurp(const char *p, size_t *n)
{
    FILE *fp = fopen(p, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc((size_t)sz + 1);
    *n = fread(b, 1, (size_t)sz, fp);
    fclose(fp);
    return b;
}

/* Opens and reads everything: 0 if the whole file read, -1 on a clean
 * error (code and message set). */
static int read_all_mem(const void *p, size_t n, int64_t *rows)
{
    ak_pq_file_t *f;
    ak_err_t err;
    ak_err_clear(&err);
    *rows = 0;
    if (ak_pq_open_mem(p, n, &f, &err))
        return err.code != AK_E_OK && err.msg[0] ? -1 : -2;
    ak_pq_stats_t st;
    if (ak_pq_file_stats(f, &st, &err) == 0)
        ak_pq_stats_free(&st);
    ak_val_t row[64];
    bool eof = false;
    int rc = 0;
    while (!eof) {
        if (ak_pq_next_row(f, row, &eof, &err)) {
            rc = err.code != AK_E_OK && err.msg[0] ? -1 : -2;
            break;
        }
        for (int c = 0; !eof && c < ak_pq_ncols(f); c++)
            if (row[c].type == AK_TEXT && row[c].n) /* touch every byte: ASan checks the bounds */
                *rows += (unsigned char)row[c].s[0] + (unsigned char)row[c].s[row[c].n - 1];
        if (!eof)
            (*rows)++;
    }
    ak_pq_close(f);
    return rc;
}

static void small_file(const char *p, ak_pq_codec_t codec, bool nodict)
{
    dataset_t d;
    dataset_make(&d, 40, 5, 30);
    ak_pq_opts_t o = {.codec = codec, .row_group_rows = 25, .page_bytes = 64, .no_dictionary = nodict};
    write_dataset(&d, p, &o, NULL);
    dataset_free(&d);
}

AK_TEST(every_prefix_and_corruption_fails_cleanly)
{
    for (int codec = 0; codec < 3; codec++) {
        const char *p = tpath("small.parquet");
        small_file(p, (ak_pq_codec_t)codec, codec == 1);
        size_t n;
        char *b = slurp(p, &n);
        AK_CHECK(b != NULL);
        if (!b)
            return;
        int64_t rows;
        AK_CHECK_EQ_INT(read_all_mem(b, n, &rows), 0);
        /* every prefix: the footer is gone, so each must fail, cleanly */
        for (size_t k = 0; k < n; k++) {
            char *pre = malloc(k ? k : 1); /* exact size: ASan catches an over-read */
            memcpy(pre, b, k);
            int rc = read_all_mem(pre, k, &rows);
            if (rc != -1)
                fprintf(stderr, "  prefix %zu: rc %d\n", k, rc);
            AK_CHECK(rc == -1);
            free(pre);
        }
        /* a truncated file on disk */
        FILE *fp = fopen(tpath("trunc.parquet"), "wb");
        fwrite(b, 1, n - 3, fp);
        fclose(fp);
        ak_pq_file_t *f;
        ak_err_t err;
        AK_CHECK(ak_pq_open(tpath("trunc.parquet"), &f, &err) == -1 && err.code == AK_E_CORRUPT);
        /* every byte flipped (footer and pages): an error or rows, never a crash */
        char *m = malloc(n);
        int errors = 0;
        for (size_t i = 0; i < n; i++)
            for (int x = 0; x < 3; x++) {
                static const uint8_t flips[] = {0x01, 0x80, 0xff};
                memcpy(m, b, n);
                m[i] = (char)(m[i] ^ flips[x]);
                int rc = read_all_mem(m, n, &rows);
                AK_CHECK(rc == 0 || rc == -1);
                errors += rc == -1;
            }
        AK_CHECK(errors > 0);
        /* footer length pointing anywhere */
        uint32_t lens[] = {0, 1, 7, (uint32_t)n - 12, (uint32_t)n - 11, (uint32_t)n, 0xffffffffu};
        for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
            memcpy(m, b, n);
            ak_le_put32((uint8_t *)m + n - 8, lens[i]);
            AK_CHECK(read_all_mem(m, n, &rows) == -1);
        }
        free(m);
        free(b);
    }
}

/* Hand-made footers: nested schemas, v2 pages and unknown codecs are
 * refused with a message naming them. */
static size_t wrap_footer(uint8_t *out, const ak_buf_t *footer)
{
    memcpy(out, "PAR1", 4);
    memcpy(out + 4, footer->data, footer->len);
    ak_le_put32(out + 4 + footer->len, (uint32_t)footer->len);
    memcpy(out + 8 + footer->len, "PAR1", 4);
    return footer->len + 12;
}

AK_TEST(unsupported_features_are_named)
{
    ak_buf_t b = AK_BUF_INIT;
    ak_tw_t t;
    ak_tw_init(&t, &b);
    ak_tw_i32(&t, 1, 1);
    ak_tw_list_begin(&t, 2, AK_TT_STRUCT, 3);
    ak_tw_struct_begin(&t, -1);
    ak_tw_string(&t, 4, "schema");
    ak_tw_i32(&t, 5, 1);
    ak_tw_struct_end(&t);
    ak_tw_struct_begin(&t, -1); /* a group: nested */
    ak_tw_i32(&t, 3, 1);
    ak_tw_string(&t, 4, "g");
    ak_tw_i32(&t, 5, 1);
    ak_tw_struct_end(&t);
    ak_tw_struct_begin(&t, -1);
    ak_tw_i32(&t, 1, 2);
    ak_tw_i32(&t, 3, 1);
    ak_tw_string(&t, 4, "x");
    ak_tw_struct_end(&t);
    ak_tw_i64(&t, 3, 0);
    ak_tw_list_begin(&t, 4, AK_TT_STRUCT, 0);
    ak_tw_struct_end(&t);
    uint8_t file[512];
    size_t n = wrap_footer(file, &b);
    ak_pq_file_t *f;
    ak_err_t err;
    AK_CHECK(ak_pq_open_mem(file, n, &f, &err) == -1 && err.code == AK_E_UNSUPPORTED && strstr(err.msg, "nested"));
    ak_buf_free(&b);

    /* a v2 data page in a file that is otherwise fine */
    const char *p = tpath("v2.parquet");
    ak_pq_col_t cols[] = {{"x", AK_INT, true, 1}};
    ak_pq_writer_t *w;
    ak_pq_opts_t o = {.codec = AK_PQ_UNCOMPRESSED, .no_dictionary = true};
    AK_CHECK(ak_pq_writer_open(p, cols, 1, &o, &w, &err) == 0);
    ak_val_t v = ak_v_int(7);
    AK_CHECK(ak_pq_write_row(w, &v, &err) == 0);
    AK_CHECK(ak_pq_writer_finish(w, NULL, &err) == 0);
    size_t fn;
    char *fb = slurp(p, &fn);
    /* the page header starts at 4 with field 1 (type) = DATA_PAGE: 0x15 0x00 */
    AK_CHECK((uint8_t)fb[4] == 0x15 && fb[5] == 0);
    fb[5] = 6; /* zigzag 3: DATA_PAGE_V2 */
    int64_t rows;
    AK_CHECK(ak_pq_open_mem(fb, fn, &f, &err) == 0);
    bool eof;
    ak_val_t row[1];
    AK_CHECK(ak_pq_next_row(f, row, &eof, &err) == -1 && err.code == AK_E_UNSUPPORTED && strstr(err.msg, "v2"));
    ak_pq_close(f);
    /* codec: ColumnMetaData field 4 after the type list; find "codec 0" by rewriting through the writer is
     * simpler: an unknown codec value in the footer (LZ4_RAW = 7) */
    fb[5] = 0;
    AK_CHECK(read_all_mem(fb, fn, &rows) == 0 && rows == 1);
    free(fb);
}

/* The Thrift reader: deltas, long ids, every type, skipping, limits. */
AK_TEST(thrift_round_trip_and_skip)
{
    ak_buf_t b = AK_BUF_INIT;
    ak_tw_t t;
    ak_tw_init(&t, &b);
    ak_tw_i32(&t, 1, -5);
    ak_tw_i64(&t, 2, INT64_MIN);
    ak_tw_bool(&t, 3, true);
    ak_tw_bool(&t, 4, false);
    ak_tw_binary(&t, 40, "hey", 3); /* delta > 15: long form */
    ak_tw_struct_begin(&t, 41);
    ak_tw_i32(&t, 1, 7);
    ak_tw_list_begin(&t, 2, AK_TT_I64, 20);
    for (int i = 0; i < 20; i++)
        ak_tw_put_i64(&t, i - 10);
    ak_tw_struct_end(&t);
    ak_tw_i32(&t, 30, INT32_MAX); /* negative delta: long form */
    ak_tw_struct_end(&t);
    AK_CHECK(!b.oom);

    ak_tr_t r;
    ak_tr_init(&r, b.data, b.len);
    int16_t id;
    uint8_t ty;
    int32_t i32;
    int64_t i64;
    bool bo;
    const uint8_t *p;
    size_t n;
    AK_CHECK(ak_tr_field(&r, &id, &ty) == 1 && id == 1 && ak_tr_i32(&r, ty, &i32) == 0 && i32 == -5);
    AK_CHECK(ak_tr_field(&r, &id, &ty) == 1 && id == 2 && ak_tr_i64(&r, ty, &i64) == 0 && i64 == INT64_MIN);
    AK_CHECK(ak_tr_field(&r, &id, &ty) == 1 && id == 3 && ak_tr_bool(&r, ty, &bo) == 0 && bo);
    AK_CHECK(ak_tr_field(&r, &id, &ty) == 1 && id == 4 && ak_tr_bool(&r, ty, &bo) == 0 && !bo);
    AK_CHECK(ak_tr_field(&r, &id, &ty) == 1 && id == 40 && ak_tr_binary(&r, ty, &p, &n) == 0 && n == 3);
    AK_CHECK(ak_tr_field(&r, &id, &ty) == 1 && id == 41 && ak_tr_skip(&r, ty) == 0);
    AK_CHECK(ak_tr_field(&r, &id, &ty) == 1 && id == 30 && ak_tr_i32(&r, ty, &i32) == 0 && i32 == INT32_MAX);
    AK_CHECK(ak_tr_field(&r, &id, &ty) == 0 && r.p == r.end);
    AK_CHECK(ak_tr_field(&r, &id, &ty) == -1); /* past the end of the message */
    /* every prefix fails somewhere, without reading past it */
    for (size_t k = 0; k < b.len; k++) {
        uint8_t *pre = malloc(k ? k : 1);
        memcpy(pre, b.data, k);
        ak_tr_init(&r, pre, k);
        AK_CHECK(ak_tr_skip(&r, AK_TT_STRUCT) == -1 && r.why);
        free(pre);
    }
    /* deep nesting is refused */
    uint8_t deep[200];
    memset(deep, 0x1c, sizeof deep); /* field +1, struct, repeatedly */
    ak_tr_init(&r, deep, sizeof deep);
    AK_CHECK(ak_tr_skip(&r, AK_TT_STRUCT) == -1);
    /* a list claiming more elements than bytes */
    uint8_t lst[] = {0xf5, 0xff, 0xff, 0xff, 0x0f};
    ak_tr_init(&r, lst, sizeof lst);
    uint8_t et;
    uint32_t cnt;
    AK_CHECK(ak_tr_list(&r, AK_TT_LIST, &et, &cnt) == -1);
    ak_buf_free(&b);
}

/* ---- files for the independent readers and the fuzzer ---- */

static void put_val_json(ak_buf_t *o, const ak_val_t *v)
{
    char tmp[64];
    switch (v->type) {
    case AK_NULL: ak_buf_puts(o, "null"); break;
    case AK_BOOL: ak_buf_puts(o, v->i ? "true" : "false"); break;
    case AK_TEXT: ak_buf_put_json_str(o, v->s, v->n); break;
    case AK_FLOAT:
    case AK_DOUBLE: {
        /* bits, so that -0, NaN and the last digit are all compared */
        uint64_t u;
        memcpy(&u, &v->d, 8);
        if (isnan(v->d))
            snprintf(tmp, sizeof tmp, "\"NaN\"");
        else
            snprintf(tmp, sizeof tmp, "\"%016llx\"", (unsigned long long)u);
        ak_buf_puts(o, tmp);
        break;
    }
    default: /* int64 as a string: JSON numbers lose digits past 2^53 */
        snprintf(tmp, sizeof tmp, "\"%lld\"", (long long)v->i);
        ak_buf_puts(o, tmp);
    }
}

static void export_one(const char *dir, const char *name, dataset_t *d, const ak_pq_opts_t *o, ak_buf_t *js,
                       bool first)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s.parquet", dir, name);
    ak_pq_stats_t st;
    if (write_dataset(d, p, o, &st)) {
        AK_CHECK(0);
        return;
    }
    ak_buf_printf(js, "%s\n{\"file\": \"%s\", \"row_groups\": %d, \"columns\": [", first ? "" : ",", p,
                  st.nrow_groups);
    for (int c = 0; c < d->ncols; c++)
        ak_buf_printf(js, "%s{\"name\": \"%s\", \"type\": \"%s\", \"required\": %s, \"field_id\": %d}", c ? ", " : "",
                      d->cols[c].name, ak_type_name(d->cols[c].type), d->cols[c].required ? "true" : "false",
                      d->cols[c].field_id);
    ak_buf_puts(js, "],\n \"rows\": [");
    for (int64_t r = 0; r < d->nrows; r++) {
        ak_buf_puts(js, r ? ",\n  [" : "\n  [");
        for (int c = 0; c < d->ncols; c++) {
            if (c)
                ak_buf_putc(js, ',');
            put_val_json(js, &d->rows[r * d->ncols + c]);
        }
        ak_buf_putc(js, ']');
    }
    ak_buf_puts(js, "]}");
    ak_pq_stats_free(&st);
}

AK_TEST(export)
{
    const char *dir = getenv("AK_PQ_EXPORT_DIR");
    const char *cdir = getenv("AK_PQ_CORPUS_DIR");
    if (cdir) {
        char p[600];
        for (int codec = 0; codec < 3; codec++) {
            snprintf(p, sizeof p, "%s/small-%d.parquet", cdir, codec);
            small_file(p, (ak_pq_codec_t)codec, codec == 1);
        }
    }
    if (!dir)
        return;
    ak_buf_t js = AK_BUF_INIT;
    ak_buf_puts(&js, "[");
    portable = true;
    const char *cn[] = {"zstd", "snappy", "none"};
    int k = 0;
    for (int codec = 0; codec < 3; codec++)
        for (int layout = 0; layout < 3; layout++) {
            dataset_t d;
            dataset_make(&d, layout == 2 ? 0 : 1500, (uint64_t)(codec * 3 + layout + 1), layout == 1 ? 60 : 15);
            ak_pq_opts_t o = {.codec = (ak_pq_codec_t)codec, .row_group_rows = layout == 1 ? 400 : 0,
                              .page_bytes = layout == 1 ? 500 : 0, .no_dictionary = layout == 1 && codec == 1};
            char name[64];
            snprintf(name, sizeof name, "%s-%s", cn[codec], layout == 0 ? "one" : layout == 1 ? "many" : "empty");
            export_one(dir, name, &d, &o, &js, k++ == 0);
            dataset_free(&d);
        }
    ak_buf_puts(&js, "\n]\n");
    portable = false;
    char p[600];
    snprintf(p, sizeof p, "%s/expected.json", dir);
    FILE *fp = fopen(p, "w");
    AK_CHECK(fp != NULL && !js.oom);
    if (fp) {
        fwrite(js.data, 1, js.len, fp);
        fclose(fp);
    }
    ak_buf_free(&js);
}

int main(void)
{
    int rc = ak_test_main_named("test_parquet");
    if (scratch[0])
        ak_test_rm_dir(scratch);
    return rc;
}
