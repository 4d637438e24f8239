/* test_state.c - input change logs (framing, committed length, torn tails,
 * corruption, fingerprints) and input tables (keys, cursor rule, CDC order,
 * keyless deletes by column subset, truncate, compaction). */
#include "ak_test.h"

#include "ak_alloc.h"
#include "ak_inlog.h"
#include "ak_table.h"

#include <fcntl.h>
#include <unistd.h>

static ak_schema_t schema(bool keyed)
{
    ak_schema_t s = {0};
    ak_schema_add(&s, "id", AK_TEXT, keyed, keyed);
    ak_schema_add(&s, "v", AK_INT, false, false);
    ak_schema_add(&s, "t", AK_TIMESTAMP, false, false);
    ak_schema_add(&s, "note", AK_TEXT, false, false);
    return s;
}

static void add(ak_batch_t *b, ak_op_t op, const char *id, int64_t v, int64_t t, uint64_t present, uint8_t flags)
{
    ak_rec_t *r = ak_batch_add(b, op, 0);
    r->flags = flags;
    r->present = present;
    if (id) {
        char *s = ak_arena_strdup(&b->arena, id);
        r->v[0] = ak_v_text(s, strlen(s));
    }
    if (v != INT64_MIN)
        r->v[1] = ak_v_int(v);
    if (t)
        r->v[2] = ak_v_ts(t);
    r->v[3] = ak_v_text("n", 1);
}

/* id|v rows of the table, sorted, as text */
static const char *dump(ak_table_t *t)
{
    static char out[4096];
    const ak_rel_t *r;
    ak_err_t err;
    if (ak_table_rel(t, &r, &err))
        return "ERROR";
    char rows[64][64];
    int n = 0;
    for (size_t i = 0; i < r->nrows && n < 64; i++) {
        const ak_val_t *row = ak_rel_row(r, i);
        snprintf(rows[n++], 64, "%.*s=%lld", (int)row[0].n, row[0].s, (long long)(row[1].type == AK_NULL ? -1 : row[1].i));
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(rows[i], rows[j]) > 0) {
                char tmp[64];
                memcpy(tmp, rows[i], 64);
                memcpy(rows[i], rows[j], 64);
                memcpy(rows[j], tmp, 64);
            }
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        strcat(out, rows[i]);
        strcat(out, " ");
    }
    return out;
}

AK_TEST(keyed_table_cursor_rule_and_cdc_order)
{
    ak_schema_t s = schema(true);
    bool keep[4] = {true, true, true, false};
    ak_table_t *t;
    ak_err_t err;
    AK_CHECK(ak_table_new(&s, keep, 2, true, &t, &err) == 0);
    ak_batch_t b;
    ak_batch_init(&b, &s);
    add(&b, AK_OP_UPSERT, "a", 1, 100, 0xf, 0);
    add(&b, AK_OP_UPSERT, "b", 1, 100, 0xf, 0);
    add(&b, AK_OP_UPSERT, "a", 2, 200, 0xf, 0);  /* newer cursor: replaces */
    add(&b, AK_OP_UPSERT, "a", 3, 150, 0xf, 0);  /* older cursor: ignored */
    add(&b, AK_OP_UPSERT, "b", 5, 50, 0xf, AK_REC_CDC); /* CDC: log order wins */
    add(&b, AK_OP_UPSERT, "c", 7, 0, 0xf, 0);    /* NULL cursor */
    add(&b, AK_OP_UPSERT, "c", 8, 10, 0xf, 0);   /* NULL on one side: later wins */
    AK_CHECK(ak_table_apply(t, &b, &err) == 0);
    AK_CHECK_STR(dump(t), "a=2 b=5 c=8 ");
    AK_CHECK_EQ_INT(ak_table_stats(t)->ignored_older, 1);
    ak_batch_clear(&b);
    add(&b, AK_OP_DELETE, "b", INT64_MIN, 0, 0x1, AK_REC_CDC);
    add(&b, AK_OP_DELETE, "zz", INT64_MIN, 0, 0x1, AK_REC_CDC);
    AK_CHECK(ak_table_apply(t, &b, &err) == 0);
    AK_CHECK_STR(dump(t), "a=2 c=8 ");
    AK_CHECK_EQ_INT(ak_table_stats(t)->deletes_unmatched, 1);
    AK_CHECK_EQ_INT(ak_table_rows(t), 2);
    ak_batch_clear(&b);
    add(&b, AK_OP_TRUNCATE, NULL, INT64_MIN, 0, 0, AK_REC_CDC);
    add(&b, AK_OP_UPSERT, "d", 1, 1, 0xf, 0);
    AK_CHECK(ak_table_apply(t, &b, &err) == 0);
    AK_CHECK_STR(dump(t), "d=1 ");
    ak_batch_free(&b);
    ak_table_free(t);
    ak_schema_free(&s);
}

AK_TEST(keyless_table_multiset_and_subset_deletes)
{
    ak_schema_t s = schema(false);
    bool keep[4] = {true, true, false, false}; /* t and note are not kept */
    ak_table_t *t;
    ak_err_t err;
    AK_CHECK(ak_table_new(&s, keep, -1, false, &t, &err) == 0);
    ak_batch_t b;
    ak_batch_init(&b, &s);
    add(&b, AK_OP_UPSERT, "a", 1, 1, 0xf, 0);
    add(&b, AK_OP_UPSERT, "a", 1, 2, 0xf, 0); /* a duplicate on the kept columns */
    add(&b, AK_OP_UPSERT, "b", 2, 3, 0xf, 0);
    add(&b, AK_OP_UPSERT, "c", 3, 4, 0xf, 0);
    AK_CHECK(ak_table_apply(t, &b, &err) == 0);
    AK_CHECK_STR(dump(t), "a=1 a=1 b=2 c=3 ");
    ak_batch_clear(&b);
    add(&b, AK_OP_DELETE, "a", 1, 1, 0xf, AK_REC_CDC);          /* full image: one of the two goes */
    add(&b, AK_OP_DELETE, "b", INT64_MIN, 0, 0x1, AK_REC_CDC);  /* only id present: matches on id */
    add(&b, AK_OP_DELETE, "c", 99, 0, 0x3, AK_REC_CDC);         /* id+v do not match: nothing */
    AK_CHECK(ak_table_apply(t, &b, &err) == 0);
    AK_CHECK_STR(dump(t), "a=1 c=3 ");
    AK_CHECK_EQ_INT(ak_table_stats(t)->deletes, 2);
    AK_CHECK_EQ_INT(ak_table_stats(t)->deletes_unmatched, 1);
    /* the relation object is stable across compactions */
    const ak_rel_t *r1, *r2;
    AK_CHECK(ak_table_rel(t, &r1, &err) == 0);
    ak_batch_clear(&b);
    add(&b, AK_OP_DELETE, "a", 1, 0, 0x3, AK_REC_CDC);
    AK_CHECK(ak_table_apply(t, &b, &err) == 0);
    AK_CHECK(ak_table_rel(t, &r2, &err) == 0);
    AK_CHECK(r1 == r2 && r2->nrows == 1);
    ak_batch_free(&b);
    ak_table_free(t);
    ak_schema_free(&s);
}

/* Copies replayed records (values are only ints/times here, or text the
 * batch's arena copies). */
static int collect_cb(void *ctx, const ak_batch_t *b, ak_err_t *err)
{
    ak_batch_t *into = ctx;
    for (size_t i = 0; i < b->n; i++) {
        ak_rec_t *r = ak_batch_add(into, (ak_op_t)b->recs[i].op, 0);
        if (!r)
            return ak_err_nomem(err);
        r->flags = b->recs[i].flags;
        r->present = b->recs[i].present;
        for (int c = 0; c < into->schema->n; c++) {
            r->v[c] = b->recs[i].v[c];
            if (r->v[c].type == AK_TEXT)
                r->v[c].s = ak_arena_strndup(&into->arena, r->v[c].s, r->v[c].n);
        }
    }
    return 0;
}

/* A partial upsert (AK_REC_MERGE): the columns it does not carry keep the
 * stored row's values; a plain upsert replaces them; on a new key they are
 * NULL.  The flag and the present bits survive the input log. */
AK_TEST(keyed_table_merge_keeps_absent_columns)
{
    ak_schema_t s = schema(true);
    bool keep[4] = {true, true, true, true};
    ak_table_t *t;
    ak_err_t err;
    AK_CHECK(ak_table_new(&s, keep, -1, false, &t, &err) == 0);
    ak_batch_t b;
    ak_batch_init(&b, &s);
    add(&b, AK_OP_UPSERT, "a", 1, 100, 0xf, AK_REC_CDC);
    add(&b, AK_OP_UPSERT, "a", INT64_MIN, 200, 0xd, AK_REC_CDC | AK_REC_MERGE); /* v not carried: stays 1 */
    add(&b, AK_OP_UPSERT, "b", INT64_MIN, 300, 0xd, AK_REC_CDC | AK_REC_MERGE); /* new key: v NULL */
    add(&b, AK_OP_UPSERT, "c", 5, 1, 0xf, AK_REC_CDC);
    add(&b, AK_OP_UPSERT, "c", INT64_MIN, 2, 0xd, AK_REC_CDC);                  /* no merge: v NULL */
    /* through the input log, then applied */
    char path[] = "/tmp/akili-test-inlog-merge-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    ak_inlog_t *l = NULL;
    uint64_t len;
    AK_CHECK(ak_inlog_open(path, &s, 9, 0, &l, &err) == 0);
    AK_CHECK(ak_inlog_append(l, &b, &err) == 0 && ak_inlog_sync(l, &len, &err) == 0);
    ak_inlog_close(l);
    AK_CHECK(ak_inlog_open(path, &s, 9, len, &l, &err) == 0);
    ak_batch_t got;
    ak_batch_init(&got, &s);
    AK_CHECK(ak_inlog_replay(l, 100, collect_cb, &got, &err) == 0);
    ak_inlog_close(l);
    unlink(path);
    AK_CHECK_EQ_INT(got.n, 5);
    for (size_t i = 0; i < got.n && i < b.n; i++) {
        AK_CHECK_EQ_INT(got.recs[i].flags, b.recs[i].flags);
        AK_CHECK_EQ_INT(got.recs[i].present, b.recs[i].present);
    }
    AK_CHECK(ak_table_apply(t, &got, &err) == 0);
    AK_CHECK_STR(dump(t), "a=1 b=-1 c=-1 ");
    /* the merged row took the new t */
    const ak_rel_t *r;
    AK_CHECK(ak_table_rel(t, &r, &err) == 0);
    for (size_t i = 0; i < r->nrows; i++) {
        const ak_val_t *row = ak_rel_row(r, i);
        if (row[0].n == 1 && row[0].s[0] == 'a')
            AK_CHECK_EQ_INT(row[2].i, 200);
    }
    ak_batch_free(&got);
    ak_batch_free(&b);
    ak_table_free(t);
    ak_schema_free(&s);
}

static int count_cb(void *ctx, const ak_batch_t *b, ak_err_t *err)
{
    (void)err;
    for (size_t i = 0; i < b->n; i++) {
        ((size_t *)ctx)[0]++;
        ((size_t *)ctx)[1] += b->recs[i].flags & AK_REC_CDC ? 1 : 0;
        ((size_t *)ctx)[2] += b->recs[i].op == AK_OP_DELETE ? 1 : 0;
    }
    return 0;
}

/* A new log at a fresh temporary path (filled in) for schema s. */
static ak_inlog_t *new_log(char *path, const ak_schema_t *s, uint64_t fp)
{
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    ak_err_t err;
    ak_inlog_t *l = NULL;
    AK_CHECK(ak_inlog_open(path, s, fp, 0, &l, &err) == 0);
    return l;
}

AK_TEST(inlog_commit_tail_and_corruption)
{
    char path[] = "/tmp/akili-test-inlog-XXXXXX";
    ak_schema_t s = schema(false);
    ak_err_t err;
    ak_inlog_t *l = new_log(path, &s, 42);
    int fd;
    ak_batch_t b;
    ak_batch_init(&b, &s);
    for (int i = 0; i < 1000; i++)
        add(&b, i % 10 ? AK_OP_UPSERT : AK_OP_DELETE, "row", i, i * 1000, 0xf, i % 3 ? 0 : AK_REC_CDC);
    uint64_t committed;
    AK_CHECK(ak_inlog_append(l, &b, &err) == 0 && ak_inlog_sync(l, &committed, &err) == 0);
    /* more appended and flushed, but never committed (a crashed run) */
    AK_CHECK(ak_inlog_append(l, &b, &err) == 0);
    uint64_t ignored;
    AK_CHECK(ak_inlog_sync(l, &ignored, &err) == 0 && ignored > committed);
    ak_inlog_close(l);
    AK_CHECK(ak_inlog_open(path, &s, 42, committed, &l, &err) == 0);
    size_t cnt[3] = {0, 0, 0};
    AK_CHECK(ak_inlog_replay(l, 100, count_cb, cnt, &err) == 0);
    AK_CHECK_EQ_INT(cnt[0], 1000); /* the uncommitted tail was cut */
    AK_CHECK_EQ_INT(cnt[1], 334);  /* the CDC flag survives */
    AK_CHECK_EQ_INT(cnt[2], 100);
    AK_CHECK_EQ_INT(ak_inlog_length(l), committed);
    ak_inlog_close(l);
    /* a different input definition is refused */
    AK_CHECK(ak_inlog_open(path, &s, 43, committed, &l, &err) != 0 && err.code == AK_E_STATE);
    /* a log shorter than committed is refused */
    AK_CHECK(ak_inlog_open(path, &s, 42, committed + 100, &l, &err) != 0 && err.code == AK_E_CORRUPT);
    /* a flipped byte is detected on replay */
    fd = open(path, O_RDWR);
    char c;
    AK_CHECK(pread(fd, &c, 1, 5000) == 1);
    c ^= 0x40;
    AK_CHECK(pwrite(fd, &c, 1, 5000) == 1);
    close(fd);
    AK_CHECK(ak_inlog_open(path, &s, 42, committed, &l, &err) == 0);
    memset(cnt, 0, sizeof cnt);
    AK_CHECK(ak_inlog_replay(l, 100, count_cb, cnt, &err) != 0 && err.code == AK_E_CORRUPT);
    AK_CHECK(strstr(err.msg, "damaged") != NULL);
    ak_inlog_close(l);
    ak_batch_free(&b);
    ak_schema_free(&s);
    unlink(path);
}

/* Appends large enough to go through the log's writer thread: every record
 * is replayed, in order, from what a sync made durable; a replay while more
 * is queued first waits for it. */
AK_TEST(inlog_large_appends_written_in_the_background)
{
    char path[] = "/tmp/akili-test-inlog-big-XXXXXX";
    ak_schema_t s = schema(false);
    ak_err_t err;
    ak_inlog_t *l = new_log(path, &s, 7);
    char id[300];
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = 0;
    ak_batch_t b;
    ak_batch_init(&b, &s);
    for (int i = 0; i < 1000; i++)
        add(&b, AK_OP_UPSERT, id, i, i * 1000, 0xf, 0);
    uint64_t committed = 0, len;
    for (int k = 0; k < 40; k++) { /* about 12 MB: the thread starts after the first 4 */
        AK_CHECK(ak_inlog_append(l, &b, &err) == 0);
        if (k == 24)
            AK_CHECK(ak_inlog_sync(l, &committed, &err) == 0);
    }
    size_t cnt[3] = {0, 0, 0};
    AK_CHECK(ak_inlog_replay_range(l, 0, committed, 1000, count_cb, cnt, &err) == 0);
    AK_CHECK_EQ_INT(cnt[0], 25000);
    AK_CHECK(ak_inlog_sync(l, &len, &err) == 0 && len > committed);
    ak_inlog_close(l);
    AK_CHECK(ak_inlog_open(path, &s, 7, len, &l, &err) == 0);
    memset(cnt, 0, sizeof cnt);
    AK_CHECK(ak_inlog_replay(l, 1000, count_cb, cnt, &err) == 0);
    AK_CHECK_EQ_INT(cnt[0], 40000);
    ak_inlog_close(l);
    ak_batch_free(&b);
    ak_schema_free(&s);
    unlink(path);
}

AK_TEST(allocation_failures_fail_cleanly)
{
    /* every allocation of building and filling a table may fail: each attempt
     * either succeeds or reports NOMEM, and nothing leaks (LSan checks) */
    ak_schema_t s = schema(true);
    ak_batch_t b;
    ak_batch_init(&b, &s);
    for (int i = 0; i < 200; i++) {
        char id[16];
        snprintf(id, sizeof id, "k%d", i % 50);
        add(&b, AK_OP_UPSERT, id, i, i, 0xf, 0);
    }
    int ok = 0, nomem = 0;
    for (uint64_t n = 1; n < 400; n++) {
        ak_alloc_fail_at(n);
        ak_table_t *t = NULL;
        ak_err_t err;
        int rc = ak_table_new(&s, NULL, 2, true, &t, &err);
        if (rc == 0)
            rc = ak_table_apply(t, &b, &err);
        ak_alloc_fail_at(0);
        if (rc == 0)
            ok++;
        else if (err.code == AK_E_NOMEM)
            nomem++;
        ak_table_free(t);
    }
    AK_CHECK(ok > 0 && nomem > 0);
    AK_CHECK_EQ_INT(ok + nomem, 399);
    ak_batch_free(&b);
    ak_schema_free(&s);
}

int main(void) { return ak_test_main(); }
