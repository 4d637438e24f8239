/* test_csv.c - CSV framing (quotes, CRLF, embedded newlines, incomplete
 * records), header mapping, NULL vs "", field counts, conversions, a gen.py
 * file decoded as CSV and as NDJSON with the same result, and allocation
 * failures. */
#include "ak_alloc.h"
#include "ak_csv.h"
#include "ak_json_decode.h"
#include "ak_test.h"

#include <stdlib.h>
#include <unistd.h>

static size_t rl(const char *s, bool eof) { return ak_csv_record_len(s, strlen(s), eof); }

AK_TEST(record_len)
{
    AK_CHECK_EQ_INT(rl("a,b\nc,d\n", false), 4);
    AK_CHECK_EQ_INT(rl("a,b\r\nc", false), 5);
    AK_CHECK_EQ_INT(rl("\n", false), 1);
    AK_CHECK_EQ_INT(rl("\"a,b\",c\nx", false), 8);
    AK_CHECK_EQ_INT(rl("\"a\nb\",c\nx", false), 8);
    AK_CHECK_EQ_INT(rl("\"a\r\nb\"\r\nx", false), 8);
    AK_CHECK_EQ_INT(rl("\"a\"\"b\",c\n", false), 9);
    AK_CHECK_EQ_INT(rl("\"a\"\"\nb\",c\n", false), 10);
    AK_CHECK_EQ_INT(rl("x,\"a\nb\"\n", false), 8);
    AK_CHECK_EQ_INT(rl("x,\"\"\n", false), 5);
    /* incomplete unless at EOF */
    AK_CHECK_EQ_INT(rl("\"abc", false), 0);
    AK_CHECK_EQ_INT(rl("\"abc", true), 4);
    AK_CHECK_EQ_INT(rl("\"ab\nc", false), 0);
    AK_CHECK_EQ_INT(rl("a,b", false), 0);
    AK_CHECK_EQ_INT(rl("a,b", true), 3);
    AK_CHECK_EQ_INT(rl("\"ab\"", false), 0); /* could still become "ab""... */
    AK_CHECK_EQ_INT(rl("\"ab\"", true), 4);
    AK_CHECK_EQ_INT(rl("\"ab\"\n", false), 5);
    AK_CHECK_EQ_INT(rl("", true), 0);
    AK_CHECK_EQ_INT(rl("", false), 0);
    /* a quote that does not start a field does not open one */
    AK_CHECK_EQ_INT(rl("ab\"c\nd", false), 5);
    AK_CHECK_EQ_INT(rl("a,b\"c,\"d\ne\"\nf", false), 12);
    /* long records cross the 16-byte blocks */
    char big[300];
    memset(big, 'x', sizeof big);
    big[0] = '"';
    big[200] = '\n';
    big[250] = '"';
    big[251] = '\n';
    AK_CHECK_EQ_INT(ak_csv_record_len(big, sizeof big, false), 252);
}

typedef struct fx {
    ak_schema_t s;
    ak_csv_decoder_t *d;
    ak_batch_t b;
    ak_err_t err;
} fx_t;

enum { C_ID, C_NAME, C_SCORE, C_OK, C_TS, C_MISSING };
#define BIT(c) (UINT64_C(1) << (c))

static int fx_init(fx_t *f, const char *header, bool req_id)
{
    memset(f, 0, sizeof *f);
    ak_schema_add(&f->s, "id", AK_INT, req_id, true);
    ak_schema_add(&f->s, "name", AK_TEXT, false, false);
    ak_schema_add(&f->s, "score", AK_DOUBLE, false, false);
    ak_schema_add(&f->s, "ok", AK_BOOL, false, false);
    ak_schema_add(&f->s, "ts", AK_TIMESTAMP, false, false);
    ak_schema_add(&f->s, "missing", AK_TEXT, false, false);
    ak_batch_init(&f->b, &f->s);
    return ak_csv_decoder_new(&f->s, header, strlen(header), &f->d, &f->err);
}

static void fx_free(fx_t *f)
{
    ak_csv_decoder_free(f->d);
    ak_batch_free(&f->b);
    ak_schema_free(&f->s);
}

static int dec(fx_t *f, const char *rec)
{
    ak_err_clear(&f->err);
    return ak_csv_decode(f->d, rec, strlen(rec), 5, &f->b, &f->err);
}

static ak_rec_t *one(fx_t *f, const char *rec)
{
    ak_batch_clear(&f->b);
    int rc = dec(f, rec);
    if (rc != 1 || f->b.n != 1) {
        fprintf(stderr, "  decoding %s: rc %d: %s\n", rec, rc, f->err.msg);
        ak__failed_checks++;
        static ak_val_t nulls[8];
        static ak_rec_t none = {.v = nulls};
        return &none;
    }
    return &f->b.recs[0];
}

static const char *txt(const ak_rec_t *r, int c)
{
    static char buf[1024];
    if (r->v[c].type != AK_TEXT)
        return "(not text)";
    memcpy(buf, r->v[c].s, r->v[c].n);
    buf[r->v[c].n] = '\0';
    return buf;
}

#define CHECK_ERR(f, rec, text)                                                                                        \
    do {                                                                                                               \
        size_t n0_ = (f)->b.n;                                                                                         \
        AK_CHECK_EQ_INT(dec((f), (rec)), -1);                                                                          \
        AK_CHECK_STR((f)->err.msg, (text));                                                                            \
        AK_CHECK_EQ_INT((f)->b.n, n0_);                                                                                \
    } while (0)

#define HEADER "id,name,extra,score,ok,ts\n"

AK_TEST(decode_rows)
{
    fx_t f;
    AK_CHECK_EQ_INT(fx_init(&f, HEADER, false), 0);
    AK_CHECK_EQ_INT(ak_csv_field_count(f.d), 6);
    ak_rec_t *r = one(&f, "1,alice,zzz,1.5,true,2026-11-01T10:00:00.123Z\n");
    AK_CHECK(r->op == AK_OP_UPSERT && r->pos == 5 && r->flags == 0);
    AK_CHECK(r->present == (BIT(C_ID) | BIT(C_NAME) | BIT(C_SCORE) | BIT(C_OK) | BIT(C_TS)));
    AK_CHECK(r->v[C_ID].type == AK_INT && r->v[C_ID].i == 1);
    AK_CHECK_STR(txt(r, C_NAME), "alice");
    AK_CHECK(r->v[C_SCORE].d == 1.5 && r->v[C_OK].i == 1);
    AK_CHECK(r->v[C_TS].type == AK_TIMESTAMP && r->v[C_TS].i == INT64_C(1793527200123000));
    AK_CHECK(r->v[C_MISSING].type == AK_NULL);
    /* empty unquoted = NULL (still present), "" = empty string */
    r = one(&f, "2,,zzz,,,\n");
    AK_CHECK(r->v[C_NAME].type == AK_NULL && r->v[C_SCORE].type == AK_NULL && r->v[C_TS].type == AK_NULL);
    AK_CHECK(r->present & BIT(C_NAME));
    r = one(&f, "3,\"\",x,1,t,2026-11-01\r\n");
    AK_CHECK(r->v[C_NAME].type == AK_TEXT && r->v[C_NAME].n == 0);
    AK_CHECK(r->v[C_TS].i == INT64_C(1793491200000000));
    /* quoting: commas, doubled quotes, line breaks */
    r = one(&f, "4,\"a,b\"\"c\nd\",\"x,y\",1,f,2026-11-01\n");
    AK_CHECK_STR(txt(r, C_NAME), "a,b\"c\nd");
    AK_CHECK(r->v[C_OK].i == 0);
    r = one(&f, "\"5\",\"\"\"\",x,\"2\",\"no\",\"2026-11-01T00:00:00Z\"");
    AK_CHECK(r->v[C_ID].i == 5 && r->v[C_SCORE].d == 2.0);
    AK_CHECK_STR(txt(r, C_NAME), "\"");
    /* spaces are data for text, trimmed for numbers */
    r = one(&f, " 6 , a ,x, 2.5 , yes ,\n");
    AK_CHECK(r->v[C_ID].i == 6 && r->v[C_SCORE].d == 2.5 && r->v[C_OK].i == 1);
    AK_CHECK_STR(txt(r, C_NAME), " a ");
    /* a CR inside a field is data */
    AK_CHECK_STR(txt(one(&f, "7,a\rb,x,,,\n"), C_NAME), "a\rb");
    /* blank records are skipped */
    AK_CHECK_EQ_INT(dec(&f, "\n"), 0);
    AK_CHECK_EQ_INT(dec(&f, "\r\n"), 0);
    AK_CHECK_EQ_INT(dec(&f, ""), 0);
    /* strings are copied into the batch */
    char rec[] = "8,hello,x,,,\n";
    ak_batch_clear(&f.b);
    AK_CHECK_EQ_INT(ak_csv_decode(f.d, rec, strlen(rec), 0, &f.b, &f.err), 1);
    memset(rec, 'Z', strlen(rec));
    AK_CHECK_STR(txt(&f.b.recs[0], C_NAME), "hello");
    fx_free(&f);
}

AK_TEST(decode_errors)
{
    fx_t f;
    AK_CHECK_EQ_INT(fx_init(&f, HEADER, true), 0);
    CHECK_ERR(&f, "5,a,x,1,t\n", "expected 6 fields, got 5");
    CHECK_ERR(&f, "5,a,x,1,t,2026-11-01,extra\n", "expected 6 fields, got 7");
    CHECK_ERR(&f, "5,a,x,1,t,2026-11-01,\n", "expected 6 fields, got 7");
    CHECK_ERR(&f, "x,a,b,1,t,2026-11-01\n", "column `id`: cannot read `x` as BIGINT");
    AK_CHECK_EQ_INT(f.err.code, AK_E_TYPE);
    CHECK_ERR(&f, "1,a,b,1,t,2026-13-01\n", "column `ts`: cannot read `2026-13-01` as TIMESTAMP");
    CHECK_ERR(&f, "1.5,a,b,1,t,\n", "column `id`: cannot read `1.5` as BIGINT (not an integer)");
    CHECK_ERR(&f, "\"\",a,b,1,t,\n", "column `id`: cannot read `` as BIGINT");
    CHECK_ERR(&f, "1,a,b,1,maybe,\n", "column `ok`: cannot read `maybe` as BOOLEAN");
    CHECK_ERR(&f, "1,\xFF,b,1,t,\n", "column `name`: text `\\xFF` is not valid UTF-8");
    /* a wrong field count says more than a bad value */
    CHECK_ERR(&f, "x,a\n", "expected 6 fields, got 2");
    CHECK_ERR(&f, ",a,b,1,t,\n", "missing required field `id`");
    CHECK_ERR(&f, "6,a\"b,x,1,t,\n",
              "field 2: a quote at byte 3 inside an unquoted field (quote the whole field and double the quote)");
    CHECK_ERR(&f, "7,\"ab\"c,x,1,t,\n", "field 2: unexpected `c` after the closing quote at byte 6");
    CHECK_ERR(&f, "7,\"ab\" ,x,1,t,\n", "field 2: unexpected byte 0x20 after the closing quote at byte 6");
    CHECK_ERR(&f, "8,\"abc\n", "field 2: quoted field starting at byte 2 is not closed");
    CHECK_ERR(&f, "8,\"abc\"\"\n", "field 2: quoted field starting at byte 2 is not closed");
    AK_CHECK_EQ_INT(f.err.code, AK_E_PARSE);
    fx_free(&f);
}

AK_TEST(header_mapping)
{
    fx_t f;
    /* required column absent from the header */
    AK_CHECK_EQ_INT(fx_init(&f, "name,score\n", true), -1);
    AK_CHECK_STR(f.err.msg, "the CSV header has no column `id`, which is required");
    AK_CHECK_EQ_INT(f.err.code, AK_E_CONFIG);
    fx_free(&f);
    AK_CHECK_EQ_INT(fx_init(&f, "id,name,id\n", false), -1);
    AK_CHECK_STR(f.err.msg, "column `id` appears twice in the CSV header");
    fx_free(&f);
    {
        ak_schema_t s = {0};
        ak_csv_decoder_t *d = NULL;
        ak_schema_add(&s, "a", AK_INT, false, false);
        ak_schema_add(&s, "a", AK_TEXT, false, false);
        AK_CHECK_EQ_INT(ak_csv_decoder_new(&s, "a", 1, &d, &f.err), -1);
        AK_CHECK_STR(f.err.msg, "column `a` appears twice in the schema");
        AK_CHECK(d == NULL);
        ak_schema_free(&s);
        ak_csv_decoder_free(NULL);
    }
    AK_CHECK_EQ_INT(fx_init(&f, "\r\n", false), -1);
    AK_CHECK_STR(f.err.msg, "the CSV header is empty");
    fx_free(&f);
    AK_CHECK_EQ_INT(fx_init(&f, "id,\"na\"me\n", false), -1);
    AK_CHECK_STR(f.err.msg, "CSV header: field 2: unexpected `m` after the closing quote at byte 7");
    fx_free(&f);
    /* BOM, quoted names, case-insensitive fallback, unknown columns */
    AK_CHECK_EQ_INT(fx_init(&f, "\xEF\xBB\xBF\"ID\",Name,\"x,y\",SCORE\r\n", false), 0);
    AK_CHECK_EQ_INT(ak_csv_field_count(f.d), 4);
    ak_rec_t *r = one(&f, "1,bob,q,2\r\n");
    AK_CHECK(r->v[C_ID].i == 1 && r->v[C_SCORE].d == 2.0);
    AK_CHECK_STR(txt(r, C_NAME), "bob");
    AK_CHECK(r->present == (BIT(C_ID) | BIT(C_NAME) | BIT(C_SCORE)));
    fx_free(&f);
    /* a single column; a trailing empty field */
    AK_CHECK_EQ_INT(fx_init(&f, "name", false), 0);
    AK_CHECK_STR(txt(one(&f, "\"\"\n"), C_NAME), "");
    AK_CHECK(one(&f, "x")->v[C_NAME].n == 1);
    fx_free(&f);
    AK_CHECK_EQ_INT(fx_init(&f, "id,name", false), 0);
    AK_CHECK(one(&f, "1,\n")->v[C_NAME].type == AK_NULL);
    fx_free(&f);
}

static const char *find_gen(void)
{
    const char *gens[] = {"tests/data/gen.py", "/work/shared/bench/gen.py"};
    for (size_t i = 0; i < 2; i++)
        if (access(gens[i], R_OK) == 0)
            return gens[i];
    return NULL;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    *n = fread(buf, 1, (size_t)sz, fp);
    fclose(fp);
    return buf;
}

/* The same 10,000 gen.py events as CSV and as NDJSON decode identically. */
AK_TEST(gen_file_csv_equals_ndjson)
{
    const char *gen = find_gen();
    if (!gen) {
        fprintf(stderr, "  gen_file: no gen.py found, skipped\n");
        return;
    }
    char dir[] = "/tmp/ak_test_csv_XXXXXX", cmd[512], path[300];
    if (!mkdtemp(dir))
        return;
    snprintf(cmd, sizeof cmd, "python3 %s --events 10000 --users 300 --seed 3 --out %s 2>/dev/null", gen, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "  gen_file: python3 unavailable, skipped\n");
        return;
    }
    const char *names[] = {"event_id", "user_id", "page_url", "referrer_url",
                           "user_agent", "ip_address", "event_time", "session_id"};
    ak_schema_t s = {0};
    for (int i = 0; i < 8; i++)
        ak_schema_add(&s, names[i], i == 6 ? AK_TIMESTAMP : AK_TEXT, i == 6, false);
    size_t cn = 0, jn = 0;
    snprintf(path, sizeof path, "%s/clickstream.csv", dir);
    char *csv = slurp(path, &cn);
    snprintf(path, sizeof path, "%s/clickstream.ndjson", dir);
    char *js = slurp(path, &jn);
    AK_CHECK(csv && js);
    ak_err_t err;
    ak_csv_decoder_t *cd = NULL;
    ak_json_decoder_t *jd = NULL;
    size_t hl = ak_csv_record_len(csv, cn, true);
    AK_CHECK_EQ_INT(ak_csv_decoder_new(&s, csv, hl, &cd, &err), 0);
    AK_CHECK_EQ_INT(ak_json_decoder_new(&s, &jd, &err), 0);
    ak_batch_t cb, jb;
    ak_batch_init(&cb, &s);
    ak_batch_init(&jb, &s);
    /* feed the CSV in pieces, as a reader with a small buffer would */
    size_t off = hl, joff = 0, diffs = 0;
    while (off < cn) {
        size_t avail = cn - off < 700 ? cn - off : 700;
        size_t len = ak_csv_record_len(csv + off, avail, off + avail == cn);
        if (len == 0)
            len = ak_csv_record_len(csv + off, cn - off, true);
        if (ak_csv_decode(cd, csv + off, len, off, &cb, &err) != 1)
            fprintf(stderr, "  csv at %zu: %s\n", off, err.msg);
        off += len;
    }
    while (joff < jn) {
        const char *nl = memchr(js + joff, '\n', jn - joff);
        size_t len = (size_t)(nl - (js + joff));
        if (ak_json_decode(jd, js + joff, len, joff, &jb, &err) != 1)
            fprintf(stderr, "  ndjson at %zu: %s\n", joff, err.msg);
        joff += len + 1;
    }
    AK_CHECK_EQ_INT(cb.n, 10000);
    AK_CHECK_EQ_INT(jb.n, 10000);
    size_t nulls = 0;
    for (size_t i = 0; i < cb.n && i < jb.n; i++) {
        for (int c = 0; c < 8; c++) {
            const ak_val_t *a = &cb.recs[i].v[c], *b = &jb.recs[i].v[c];
            nulls += a->type == AK_NULL;
            if (a->type != b->type || (a->type == AK_TEXT && (a->n != b->n || memcmp(a->s, b->s, a->n) != 0)) ||
                (a->type == AK_TIMESTAMP && a->i != b->i))
                diffs++;
        }
    }
    AK_CHECK_EQ_INT(diffs, 0);
    AK_CHECK(nulls > 1000); /* null referrers and sessions, compared too */
    ak_batch_free(&cb);
    ak_batch_free(&jb);
    ak_csv_decoder_free(cd);
    ak_json_decoder_free(jd);
    ak_schema_free(&s);
    free(csv);
    free(js);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "  could not remove %s\n", dir);
}

AK_TEST(allocation_failures)
{
    static char longrec[9000];
    memset(longrec, 'y', 8000);
    memcpy(longrec, "1,\"a\"\"", 6);
    strcpy(longrec + 8000, "\",x,1,t,\n");
    const char *recs[] = {"1,alice,zzz,1.5,true,2026-11-01T10:00:00.123Z\n", longrec, "2,\"b\"\"c\",x,,,\n", "\n"};
    const int want[] = {1, 1, 1, 0};
    int runs = 0, failures = 0;
    for (uint64_t nth = 1; nth < 10000; nth++) {
        fx_t f;
        memset(&f, 0, sizeof f);
        ak_schema_add(&f.s, "id", AK_INT, true, true);
        ak_schema_add(&f.s, "name", AK_TEXT, false, false);
        ak_schema_add(&f.s, "ts", AK_TIMESTAMP, false, false);
        ak_batch_init(&f.b, &f.s);
        uint64_t c0 = ak_alloc_count();
        ak_alloc_fail_at(nth);
        bool failed = false;
        if (ak_csv_decoder_new(&f.s, HEADER, strlen(HEADER), &f.d, &f.err) != 0) {
            AK_CHECK_EQ_INT(f.err.code, AK_E_NOMEM);
            AK_CHECK(f.d == NULL);
            failed = true;
        } else {
            for (size_t i = 0; i < sizeof recs / sizeof *recs; i++) {
                size_t n0 = f.b.n;
                int rc = ak_csv_decode(f.d, recs[i], strlen(recs[i]), i, &f.b, &f.err);
                if (rc < 0) {
                    AK_CHECK_EQ_INT(f.err.code, AK_E_NOMEM);
                    AK_CHECK_EQ_INT(f.b.n, n0);
                    failed = true;
                } else {
                    AK_CHECK_EQ_INT(rc, want[i]);
                    AK_CHECK_EQ_INT(f.b.n - n0, want[i]);
                }
            }
        }
        uint64_t used = ak_alloc_count() - c0;
        ak_alloc_fail_at(0);
        fx_free(&f);
        runs++;
        failures += failed;
        if (used < nth)
            break;
    }
    AK_CHECK(runs > 5);
    AK_CHECK(failures > 3);
    AK_CHECK_EQ_INT(ak_alloc_live(), 0);
}

int main(void) { return ak_test_main(); }
