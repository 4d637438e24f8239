/* test_sink.c - the serving sink publishing on its thread, against a model:
 * while a publish runs, new changes are staged for the next one; after it
 * the table holds exactly what was staged before it started; a publish that
 * fails (the store locked by another writer) stages its changes again, and
 * the next publish carries them.  Also under ThreadSanitizer. */
#include "ak_test.h"

#include "ak_store_sink.h"

#include <sqlite3.h>
#include <unistd.h>

#define KEYS 60
#define VALS 5

static const char *const names[] = {"k", "v"};
static const ak_type_t types[] = {AK_INT, AK_TEXT};
static const int key[] = {0};
static const char *const vals[VALS] = {"red", "green", "blue", "cyan", "plum"};

static int published[KEYS], staged[KEYS]; /* value index + 1; 0: no row */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static ak_val_t text(const char *s)
{
    ak_val_t v = ak_v_null();
    v.type = AK_TEXT;
    v.s = s;
    v.n = (uint32_t)strlen(s);
    return v;
}

/* Random upserts and deletes against `staged`, as changes. */
static void changes(ak_store_sink_t *s, int n)
{
    ak_delta_t d;
    ak_delta_init(&d, 2);
    for (int i = 0; i < n; i++) {
        int k = (int)(ak_test_xorshift(&rng) % KEYS), nv = (int)(ak_test_xorshift(&rng) % (VALS + 1));
        ak_val_t row[2] = {ak_v_int(k), ak_v_null()};
        if (staged[k]) {
            row[1] = text(vals[staged[k] - 1]);
            AK_CHECK(ak_delta_add(&d, row, -1) == 0);
        }
        staged[k] = nv;
        if (nv) {
            row[1] = text(vals[nv - 1]);
            AK_CHECK(ak_delta_add(&d, row, 1) == 0);
        }
    }
    ak_err_t err;
    AK_CHECK(ak_delta_consolidate(&d) == 0);
    AK_CHECK(ak_store_sink_stage(s, &d, &err) == 0);
    ak_delta_free(&d);
}

/* The table as read by another connection equals `want`. */
static void table_is(const char *db, const int *want)
{
    sqlite3 *c;
    AK_CHECK(sqlite3_open(db, &c) == SQLITE_OK);
    int got[KEYS] = {0};
    sqlite3_stmt *st;
    AK_CHECK(sqlite3_prepare_v2(c, "SELECT k, v FROM t", -1, &st, NULL) == SQLITE_OK);
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int k = sqlite3_column_int(st, 0);
        const char *v = (const char *)sqlite3_column_text(st, 1);
        for (int i = 0; i < VALS; i++)
            if (k >= 0 && k < KEYS && v && strcmp(v, vals[i]) == 0)
                got[k] = i + 1;
        rows++;
    }
    sqlite3_finalize(st);
    sqlite3_close(c);
    int n = 0;
    for (int k = 0; k < KEYS; k++) {
        n += want[k] != 0;
        AK_CHECK_EQ_INT(got[k], want[k]);
    }
    AK_CHECK_EQ_INT(rows, n);
}

static int64_t count(const int *m)
{
    int64_t n = 0;
    for (int k = 0; k < KEYS; k++)
        n += m[k] != 0;
    return n;
}

AK_TEST(publishes_on_its_thread_and_carries_failed_changes)
{
    char home[] = "/tmp/akili-test-sink-XXXXXX";
    AK_CHECK(mkdtemp(home) != NULL);
    setenv("AKILI_SQLITE_BUSY_MS", "30", 1);
    ak_err_t err;
    ak_store_t *store;
    AK_CHECK(ak_store_open(home, "ns", &store, &err) == 0);
    ak_store_sink_opts_t o = {store, "t", 2, names, types, NULL, 0, key, 1};
    ak_store_sink_t *s;
    AK_CHECK(ak_store_sink_new(&o, &s, &err) == 0);
    char db[300];
    snprintf(db, sizeof db, "%s/serving/ns.db", home);
    ak_store_sink_report_t rep;
    changes(s, 80);
    AK_CHECK(ak_store_sink_publish(s, "1", 1, "{}", "0", &rep, &err) == 0); /* the first: whole, waited for */
    memcpy(published, staged, sizeof published);
    table_is(db, published);
    int failures = 0;
    for (int round = 0; round < 40; round++) {
        changes(s, 1 + (int)(ak_test_xorshift(&rng) % 30));
        int before[KEYS];
        memcpy(before, staged, sizeof before);
        sqlite3 *locker = NULL;
        if (round % 10 == 7) { /* another writer holds the store: this publish fails */
            AK_CHECK(sqlite3_open(db, &locker) == SQLITE_OK);
            AK_CHECK(sqlite3_exec(locker, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
        }
        int64_t commit = ak_store_sink_commit(s);
        AK_CHECK(ak_store_sink_publish_async(s, "1", 1, "{}", "0", &err) == 0);
        AK_CHECK(ak_store_sink_busy(s) || locker);
        changes(s, 1 + (int)(ak_test_xorshift(&rng) % 30)); /* staged while it runs */
        AK_CHECK_EQ_INT(ak_store_sink_rows(s), count(staged));
        bool had;
        int rc = ak_store_sink_collect(s, &had, &rep, &err);
        AK_CHECK(had);
        if (locker) {
            AK_CHECK(rc == -1 && err.retriable);
            sqlite3_exec(locker, "ROLLBACK", NULL, NULL, NULL);
            sqlite3_close(locker);
            failures++;
            AK_CHECK_EQ_INT(ak_store_sink_commit(s), commit);
            table_is(db, published); /* nothing of it landed */
            /* the next publish carries both sets */
            AK_CHECK(ak_store_sink_publish(s, "1", 1, "{}", "0", &rep, &err) == 0);
            memcpy(published, staged, sizeof published);
        } else {
            AK_CHECK(rc == 0);
            AK_CHECK_EQ_INT(ak_store_sink_commit(s), commit + 1);
            memcpy(published, before, sizeof published);
        }
        table_is(db, published);
        AK_CHECK_EQ_INT(ak_store_sink_rows(s), count(staged));
        AK_CHECK(ak_store_sink_collect(s, &had, &rep, &err) == 0 && !had);
    }
    AK_CHECK_EQ_INT(failures, 4);
    /* freed while one runs: it is waited for */
    changes(s, 10);
    AK_CHECK(ak_store_sink_publish_async(s, "1", 1, "{}", "0", &err) == 0);
    ak_store_sink_free(s);
    ak_store_close(store);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", home);
    AK_CHECK(system(cmd) == 0);
}

int main(void) { return ak_test_main(); }
