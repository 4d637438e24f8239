/* test_catalog.c - the catalog: connections, products, immutable versions,
 * runs (and reaping runs whose process died), quality results, positions
 * and dead letters, and reopening an existing catalog. */
#include "ak_test.h"

#include "ak_catalog.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char home[64];

static ak_catalog_t *open_cat(void)
{
    ak_catalog_t *c = NULL;
    ak_err_t err;
    if (ak_catalog_open(home, &c, &err)) {
        fprintf(stderr, "  open: %s\n", err.msg);
        ak__failed_checks++;
    }
    return c;
}

AK_TEST(connections_and_products)
{
    ak_catalog_t *c = open_cat();
    ak_err_t err;
    AK_CHECK(ak_cat_conn_create(c, "events", "file", "{\"path\": \"x\"}", &err) == 0);
    AK_CHECK(ak_cat_conn_create(c, "events", "file", "{}", &err) != 0 && err.code == AK_E_EXISTS);
    AK_CHECK(strstr(err.msg, "already exists") != NULL);
    ak_conn_rec_t r;
    AK_CHECK(ak_cat_conn_get(c, "events", &r, &err) == 0);
    AK_CHECK_STR(r.config, "{\"path\": \"x\"}");
    ak_cat_conn_free(&r);
    AK_CHECK(ak_cat_conn_get(c, "nope", &r, &err) != 0 && err.code == AK_E_NOTFOUND);
    AK_CHECK(ak_cat_product_create(c, "sessions", "analytics", "source", &err) == 0);
    ak_product_rec_t p;
    AK_CHECK(ak_cat_product_by_table(c, "analytics", "sessions", &p, &err) == 0 && !p.active_version);
    ak_cat_product_free(&p);
    AK_CHECK(ak_cat_product_by_table(c, "other", "sessions", &p, &err) != 0 && err.code == AK_E_NOTFOUND);
    ak_file_rec_t f[2] = {{(char *)"a.yaml", (char *)"x: 1\n", 5}, {(char *)"t.sql", (char *)"SELECT 1", 8}};
    AK_CHECK(ak_cat_version_store(c, "sessions", "1.0.0", f, 2, &err) == 0);
    AK_CHECK(ak_cat_version_store(c, "sessions", "1.0.0", f, 2, &err) == 0); /* identical: no-op */
    f[1].text = (char *)"SELECT 2";
    AK_CHECK(ak_cat_version_store(c, "sessions", "1.0.0", f, 2, &err) != 0 && err.code == AK_E_EXISTS);
    AK_CHECK(ak_cat_deploy(c, "sessions", "1.0.0", "/dir", &err) == 0);
    AK_CHECK(ak_cat_product_get(c, "sessions", &p, &err) == 0);
    AK_CHECK_STR(p.active_version, "1.0.0");
    ak_cat_product_free(&p);
    ak_file_rec_t *got;
    size_t n;
    AK_CHECK(ak_cat_version_files(c, "sessions", "1.0.0", &got, &n, &err) == 0 && n == 2);
    AK_CHECK_STR(got[1].text, "SELECT 1");
    ak_cat_files_free(got, n);
    ak_catalog_close(c);
}

AK_TEST(runs_positions_quality_deadletters)
{
    ak_catalog_t *c = open_cat();
    ak_err_t err;
    int64_t id;
    AK_CHECK(ak_cat_run_begin(c, "sessions", "1.0.0", "once", &id, &err) == 0);
    ak_catalog_begin(c, &err);
    ak_position_rec_t pos = {(char *)"{\"offset\": 10}", 123, (char *)"fp"};
    AK_CHECK(ak_cat_position_set(c, "sessions", "clicks", &pos, &err) == 0);
    ak_cat_deadletter_t add = {"clicks", "f line 2", "bad json", "{x", 2, NULL, 0};
    AK_CHECK(ak_cat_deadletter_add(c, "sessions", id, &add, &err) == 0);
    ak_cat_deadletter_t csv = {"clicks", "f.csv line 3", "expected 2 fields", "a,b,c", 5, "x,y", 3};
    AK_CHECK(ak_cat_deadletter_add(c, "sessions", id, &csv, &err) == 0);
    AK_CHECK(ak_catalog_commit(c, &err) == 0);
    /* a transaction that is rolled back leaves nothing */
    ak_catalog_begin(c, &err);
    ak_position_rec_t pos2 = {(char *)"{\"offset\": 99}", 999, (char *)"fp"};
    AK_CHECK(ak_cat_position_set(c, "sessions", "clicks", &pos2, &err) == 0);
    ak_catalog_rollback(c);
    ak_position_rec_t got;
    AK_CHECK(ak_cat_position_get(c, "sessions", "clicks", &got, &err) == 0);
    AK_CHECK_STR(got.position, "{\"offset\": 10}");
    AK_CHECK_EQ_INT(got.log_bytes, 123);
    ak_cat_position_free(&got);
    ak_quality_rec_t q = {id, (char *)"no_nulls", (char *)"critical", true, 3, 0, false, (char *)"candidate", NULL, 1};
    AK_CHECK(ak_cat_quality_add(c, "sessions", &q, &err) == 0);
    q.value = 0;
    q.passed = true;
    q.at_us = 2;
    AK_CHECK(ak_cat_quality_add(c, "sessions", &q, &err) == 0);
    ak_quality_rec_t *qs;
    size_t nq;
    AK_CHECK(ak_cat_quality_latest(c, "sessions", &qs, &nq, &err) == 0 && nq == 1 && qs[0].passed);
    ak_cat_quality_free_list(qs, nq);
    int64_t ndl;
    AK_CHECK(ak_cat_deadletter_count(c, "sessions", &ndl, &err) == 0 && ndl == 2);
    ak_deadletter_rec_t *dl;
    size_t nd;
    AK_CHECK(ak_cat_deadletter_list(c, "sessions", 10, &dl, &nd, &err) == 0 && nd == 2 && dl[0].raw_len == 2);
    /* the header comes back with a CSV line, none with a JSON one */
    AK_CHECK(!dl[0].header && dl[1].header && dl[1].header_len == 3 && memcmp(dl[1].header, "x,y", 3) == 0);
    ak_cat_deadletter_free_list(dl, nd);
    /* a run whose process is gone is reaped as failed */
    ak_run_rec_t *runs;
    size_t nr;
    AK_CHECK(ak_cat_run_reap(c, "sessions", &err) == 0);
    AK_CHECK(ak_cat_run_list(c, "sessions", 5, &runs, &nr, &err) == 0 && nr == 1);
    AK_CHECK_EQ_INT(runs[0].status, AK_RUN_FAILED); /* our own pid: reaped (no longer running) */
    ak_cat_run_free_list(runs, nr);
    ak_catalog_close(c);
}

/* A catalog written by the previous schema (2: dead letters without their
 * CSV header) is migrated on open, its dead letters kept. */
AK_TEST(older_catalog_is_migrated)
{
    ak_catalog_t *c = open_cat();
    ak_err_t err;
    ak_cat_deadletter_t add = {"clicks", "f line 9", "bad json", "{y", 2, NULL, 0};
    AK_CHECK(ak_cat_deadletter_add(c, "old", 1, &add, &err) == 0);
    ak_catalog_close(c);
    char path[128];
    snprintf(path, sizeof path, "%s/catalog.db", home);
    sqlite3 *db;
    AK_CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    AK_CHECK(sqlite3_exec(db, "ALTER TABLE deadletters DROP COLUMN header; PRAGMA user_version=2", NULL, NULL, NULL) ==
             SQLITE_OK);
    sqlite3_close(db);
    c = open_cat();
    ak_cat_deadletter_t csv = {"clicks", "g.csv line 2", "expected 2 fields", "a", 1, "x,y", 3};
    AK_CHECK(ak_cat_deadletter_add(c, "old", 1, &csv, &err) == 0);
    ak_deadletter_rec_t *dl;
    size_t nd;
    AK_CHECK(ak_cat_deadletter_list(c, "old", 10, &dl, &nd, &err) == 0 && nd == 2);
    AK_CHECK(nd == 2 && !dl[0].header && dl[0].raw_len == 2 && dl[1].header && dl[1].header_len == 3);
    ak_cat_deadletter_free_list(dl, nd);
    ak_catalog_close(c);
}

int main(void)
{
    snprintf(home, sizeof home, "/tmp/akili-test-catalog-%d", (int)getpid());
    int rc = ak_test_main();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", home);
    if (system(cmd) != 0)
        return 1;
    return rc;
}
