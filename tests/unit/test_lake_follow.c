/* test_lake_follow.c - a serving sink with a lake table following it: after
 * every publish (here or on the publisher thread) the lake holds the
 * table's rows as a multiset (a row with copies left after a delete is
 * added again) at the table's commit number; a lake left behind (publishes
 * it did not see) is caught up by adopt, and one already there is left
 * alone. */
#include "ak_test.h"

#include "ak_alloc.h"
#include "ak_iceberg.h"
#include "ak_lake_sink.h"
#include "ak_store_sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A table's location (the strings are not freed) */
#define LOC(w, n, t) (&(ak_lake_loc_t){.warehouse = (char *)(w), .ns = (char *)(n), .name = (char *)(t)})

static char g_root[256];

static const char *root(void)
{
    if (!g_root[0]) {
        snprintf(g_root, sizeof g_root, "/tmp/ak_lakef_XXXXXX");
        if (!mkdtemp(g_root))
            abort();
    }
    return g_root;
}

static const char *const NAMES[] = {"k", "v", "at"};
static const ak_type_t TYPES[] = {AK_INT, AK_TEXT, AK_TIMESTAMP};
static const char *const PKEY[] = {"at_day"};

static ak_lake_sink_t *lake(void)
{
    char wh[300];
    snprintf(wh, sizeof wh, "%s/lake", root());
    ak_lake_sink_opts_t o = {LOC(wh, "ns", "t"), 3, NAMES, TYPES, PKEY, 1};
    ak_lake_sink_t *l = NULL;
    ak_err_t err;
    if (ak_lake_sink_open(&o, &l, &err))
        fprintf(stderr, "lake: %s\n", err.msg);
    return l;
}

static ak_store_sink_t *sink(ak_store_t *st, bool with_lake)
{
    ak_store_sink_opts_t o = {st, "t", 3, NAMES, TYPES, NULL, 0, NULL, 0};
    ak_store_sink_t *s = NULL;
    ak_err_t err;
    AK_CHECK_EQ_INT(ak_store_sink_new(&o, &s, &err), 0);
    if (s && with_lake)
        ak_store_sink_set_lake(s, lake());
    return s;
}

static void put(ak_delta_t *d, int64_t k, const char *v, int64_t w)
{
    ak_val_t row[3] = {ak_v_int(k), ak_v_text(v, strlen(v)), ak_v_ts(k * 40000000000LL)};
    AK_CHECK_EQ_INT(ak_delta_add(d, row, w), 0);
}

static void stage(ak_store_sink_t *s, ak_delta_t *d)
{
    ak_err_t err;
    AK_CHECK_EQ_INT(ak_store_sink_stage(s, d, &err), 0);
}

static int cmp_rows(const void *a, const void *b) { return ak_row_cmp(a, b, 3); }

/* The lake's rows equal the serving table's (sorted multisets), and the
 * lake is at the sink's commit number. */
static void lake_is_table(ak_store_sink_t *s, int64_t want_rows)
{
    ak_err_t err;
    ak_rel_t *srv = NULL, *lk = NULL;
    char wh[300];
    snprintf(wh, sizeof wh, "%s/lake", root());
    AK_CHECK_EQ_INT(ak_store_sink_snapshot(s, &srv, &err), 0);
    AK_CHECK_EQ_INT(ak_lake_read(LOC(wh, "ns", "t"), -1, 3, NAMES, TYPES, &lk, &err), 0);
    if (!srv || !lk) {
        ak_rel_free(srv);
        ak_rel_free(lk);
        return;
    }
    AK_CHECK_EQ_INT((int64_t)srv->nrows, want_rows);
    AK_CHECK_EQ_INT((int64_t)lk->nrows, (int64_t)srv->nrows);
    if (lk->nrows == srv->nrows) {
        qsort(srv->v, srv->nrows, sizeof(ak_val_t) * 3, cmp_rows);
        qsort(lk->v, lk->nrows, sizeof(ak_val_t) * 3, cmp_rows);
        for (size_t i = 0; i < lk->nrows; i++)
            AK_CHECK(ak_row_eq(ak_rel_row(lk, i), ak_rel_row(srv, i), 3));
    }
    ak_rel_free(srv);
    ak_rel_free(lk);
    ak_lake_sink_t *l = lake();
    if (l)
        AK_CHECK_EQ_INT(ak_lake_sink_commit(l), ak_store_sink_commit(s));
    ak_lake_sink_free(l);
}

static size_t snapshots(void)
{
    ak_lake_sink_t *l = lake();
    ak_err_t err;
    char wh[300];
    snprintf(wh, sizeof wh, "%s/lake", root());
    ak_ice_opts_t o = {.warehouse = wh, .ns = "ns", .name = "t"};
    ak_ice_table_t *t = NULL;
    size_t n = ak_ice_open(&o, &t, &err) == 0 ? ak_ice_snapshot_count(t) : 0;
    ak_ice_close(t);
    ak_lake_sink_free(l);
    return n;
}

AK_TEST(follows_publishes_duplicates_and_restarts)
{
    ak_store_t *st = NULL;
    ak_err_t err;
    AK_CHECK_EQ_INT(ak_store_open(root(), "ns", &st, &err), 0);
    if (!st)
        return;
    ak_store_sink_t *s = sink(st, true);
    ak_store_sink_report_t rep;
    ak_delta_t d;
    ak_delta_init(&d, 3);
    put(&d, 1, "a", 2); /* two copies */
    put(&d, 2, "b", 1);
    put(&d, 3, "c", 1);
    stage(s, &d);
    AK_CHECK_EQ_INT(ak_store_sink_publish(s, "v1", 1, NULL, NULL, &rep, &err), 0);
    lake_is_table(s, 4);

    /* one copy of a goes (the lake deletes both and adds one back), b
     * changes, c goes */
    ak_delta_clear(&d);
    put(&d, 1, "a", -1);
    put(&d, 2, "b", -1);
    put(&d, 2, "b2", 1);
    put(&d, 3, "c", -1);
    stage(s, &d);
    AK_CHECK_EQ_INT(ak_store_sink_publish(s, "v1", 2, NULL, NULL, &rep, &err), 0);
    lake_is_table(s, 2);

    /* on the publisher thread */
    ak_delta_clear(&d);
    put(&d, 4, "d", 3);
    put(&d, 1, "a", -1);
    stage(s, &d);
    AK_CHECK_EQ_INT(ak_store_sink_publish_async(s, "v1", 3, NULL, NULL, &err), 0);
    bool had = false;
    AK_CHECK_EQ_INT(ak_store_sink_collect(s, &had, &rep, &err), 0);
    AK_CHECK(had);
    lake_is_table(s, 4);
    AK_CHECK_EQ_INT(ak_store_sink_commit(s), 3);
    ak_store_sink_free(s);

    /* a restart with the lake at the table's number: nothing to do */
    size_t n0 = snapshots();
    s = sink(st, true);
    int64_t commit = 0;
    char *logs = NULL;
    AK_CHECK_EQ_INT(ak_store_sink_table(s, &commit, &logs, &err), 0);
    ak_free(logs);
    AK_CHECK_EQ_INT(ak_store_sink_adopt(s, &err), 0);
    AK_CHECK_EQ_INT((int64_t)snapshots(), (int64_t)n0);
    ak_store_sink_free(s);

    /* publishes the lake did not see (as after a crash between the two
     * commits), then a restart: one snapshot catches it up */
    s = sink(st, false);
    AK_CHECK_EQ_INT(ak_store_sink_table(s, &commit, &logs, &err), 0);
    ak_free(logs);
    AK_CHECK_EQ_INT(ak_store_sink_adopt(s, &err), 0);
    ak_delta_clear(&d);
    put(&d, 4, "d", -1);
    put(&d, 5, "e", 1);
    stage(s, &d);
    AK_CHECK_EQ_INT(ak_store_sink_publish(s, "v1", 4, NULL, NULL, &rep, &err), 0);
    ak_store_sink_free(s);
    AK_CHECK_EQ_INT((int64_t)snapshots(), (int64_t)n0);
    s = sink(st, true);
    AK_CHECK_EQ_INT(ak_store_sink_table(s, &commit, &logs, &err), 0);
    ak_free(logs);
    AK_CHECK_EQ_INT(commit, 4);
    AK_CHECK_EQ_INT(ak_store_sink_adopt(s, &err), 0);
    AK_CHECK_EQ_INT((int64_t)snapshots(), (int64_t)n0 + 1);
    lake_is_table(s, 4);

    /* the next publish follows on */
    ak_delta_clear(&d);
    put(&d, 6, "f", 1);
    stage(s, &d);
    AK_CHECK_EQ_INT(ak_store_sink_publish(s, "v1", 5, NULL, NULL, &rep, &err), 0);
    AK_CHECK_EQ_INT((int64_t)snapshots(), (int64_t)n0 + 2);
    lake_is_table(s, 5);
    ak_store_sink_free(s);
    ak_delta_free(&d);
    ak_store_close(st);
}

int main(void)
{
    int rc = ak_test_main();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root());
    if (system(cmd))
        return 1;
    return rc;
}
