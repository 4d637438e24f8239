/* test_lake_sink.c - the lake sink's snapshots, read back by ak_lake_read. */
#include "ak_test.h"

#include "ak_alloc.h"
#include "ak_iceberg.h"
#include "ak_lake_sink.h"
#include "ak_parquet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A table's location (the strings are not freed) */
#define LOC(w, n, t) (&(ak_lake_loc_t){.warehouse = (char *)(w), .ns = (char *)(n), .name = (char *)(t)})

static char g_root[256];

static const char *root(void)
{
    if (!g_root[0]) {
        snprintf(g_root, sizeof g_root, "/tmp/ak_lake_XXXXXX");
        if (!mkdtemp(g_root))
            abort();
    }
    return g_root;
}

static const char *const NAMES[] = {"user_id", "session_start", "country", "views"};
static const ak_type_t TYPES[] = {AK_TEXT, AK_TIMESTAMP, AK_TEXT, AK_INT};
static const char *const PKEY[] = {"session_start_date", "country"};

static ak_lake_sink_t *open_sink(const char *name)
{
    ak_lake_sink_opts_t o = {LOC(root(), "analytics", name), 4, NAMES, TYPES, PKEY, 2};
    ak_lake_sink_t *l = NULL;
    ak_err_t err;
    if (ak_lake_sink_open(&o, &l, &err))
        fprintf(stderr, "open: %s\n", err.msg);
    return l;
}

static void row(ak_val_t *r, const char *u, int64_t day, const char *c, int64_t v)
{
    r[0] = ak_v_text(u, strlen(u));
    r[1] = ak_v_ts(day * 86400000000LL + 3600000000LL);
    r[2] = c ? ak_v_text(c, strlen(c)) : ak_v_null();
    r[3] = ak_v_int(v);
}

/* Copies of (u, v) in the table as read back. */
static int64_t count(const char *name, const char *u, int64_t v, int64_t *total)
{
    ak_rel_t *r = NULL;
    ak_err_t err;
    if (ak_lake_read(LOC(root(), "analytics", name), -1, 4, NAMES, TYPES, &r, &err)) {
        fprintf(stderr, "read: %s\n", err.msg);
        return -1;
    }
    int64_t n = 0;
    for (size_t i = 0; i < r->nrows; i++) {
        const ak_val_t *x = ak_rel_row(r, i);
        if (x[0].n == strlen(u) && memcmp(x[0].s, u, x[0].n) == 0 && x[3].i == v)
            n++;
    }
    *total = (int64_t)r->nrows;
    ak_rel_free(r);
    return n;
}

AK_TEST(append_delete_readd_and_commit_numbers)
{
    ak_lake_sink_t *l = open_sink("t1");
    AK_CHECK(l != NULL);
    if (!l)
        return;
    ak_err_t err;
    ak_lake_report_t rep;
    ak_val_t r[4];
    AK_CHECK_EQ_INT(ak_lake_sink_commit(l), 0);
    AK_CHECK_EQ_INT(ak_lake_sink_begin(l, false, &err), 0);
    row(r, "a", 20000, "KE", 1);
    AK_CHECK_EQ_INT(ak_lake_sink_put(l, r, 2, &err), 0); /* two copies */
    row(r, "b", 20001, NULL, 5);
    AK_CHECK_EQ_INT(ak_lake_sink_put(l, r, 1, &err), 0);
    AK_CHECK_EQ_INT(ak_lake_sink_finish(l, &(ak_lake_mark_t){.commit = 1}, &rep, &err), 0);
    AK_CHECK_EQ_INT(rep.files, 2);
    AK_CHECK_EQ_INT(rep.inserted, 3);
    AK_CHECK_EQ_INT(ak_lake_sink_commit(l), 1);
    int64_t total = 0;
    AK_CHECK_EQ_INT(count("t1", "a", 1, &total), 2);
    AK_CHECK_EQ_INT(total, 3);

    /* one copy of a goes: the delete takes both, one is added again; b
     * moves to another partition */
    AK_CHECK_EQ_INT(ak_lake_sink_begin(l, false, &err), 0);
    row(r, "a", 20000, "KE", 1);
    AK_CHECK_EQ_INT(ak_lake_sink_put(l, r, -1, &err), 0);
    AK_CHECK_EQ_INT(ak_lake_sink_put(l, r, 1, &err), 0);
    row(r, "b", 20001, NULL, 5);
    AK_CHECK_EQ_INT(ak_lake_sink_put(l, r, -1, &err), 0);
    row(r, "b", 20002, "DE", 6);
    AK_CHECK_EQ_INT(ak_lake_sink_put(l, r, 1, &err), 0);
    AK_CHECK_EQ_INT(ak_lake_sink_finish(l, &(ak_lake_mark_t){.commit = 2}, &rep, &err), 0);
    AK_CHECK_EQ_INT(rep.deleted, 2);
    AK_CHECK_EQ_INT(count("t1", "a", 1, &total), 1);
    AK_CHECK_EQ_INT(count("t1", "b", 5, &total), 0);
    AK_CHECK_EQ_INT(count("t1", "b", 6, &total), 1);
    AK_CHECK_EQ_INT(total, 2);

    /* a publish that changed nothing still records its number */
    AK_CHECK_EQ_INT(ak_lake_sink_begin(l, false, &err), 0);
    AK_CHECK_EQ_INT(ak_lake_sink_finish(l, &(ak_lake_mark_t){.commit = 3}, &rep, &err), 0);
    AK_CHECK(rep.snapshot_id >= 0);
    AK_CHECK_EQ_INT(ak_lake_sink_commit(l), 3);
    AK_CHECK_EQ_INT(count("t1", "a", 1, &total), 1);

    /* replaced whole */
    AK_CHECK_EQ_INT(ak_lake_sink_begin(l, true, &err), 0);
    row(r, "c", 20003, "US", 9);
    AK_CHECK_EQ_INT(ak_lake_sink_put(l, r, 1, &err), 0);
    AK_CHECK_EQ_INT(ak_lake_sink_finish(l, &(ak_lake_mark_t){.commit = 4}, &rep, &err), 0);
    AK_CHECK(rep.replaced);
    AK_CHECK_EQ_INT(count("t1", "c", 9, &total), 1);
    AK_CHECK_EQ_INT(total, 1);
    ak_lake_sink_free(l);

    /* a new handle sees the number; an aborted snapshot leaves nothing */
    l = open_sink("t1");
    AK_CHECK(l != NULL);
    if (!l)
        return;
    AK_CHECK_EQ_INT(ak_lake_sink_commit(l), 4);
    AK_CHECK_EQ_INT(ak_lake_sink_begin(l, false, &err), 0);
    AK_CHECK_EQ_INT(ak_lake_sink_put(l, r, 1, &err), 0);
    ak_lake_sink_abort(l);
    AK_CHECK_EQ_INT(count("t1", "c", 9, &total), 1);
    ak_lake_sink_free(l);
}

/* A sink compacting partitions of 3 files, sorted by (session_start, views),
 * dropping partitions of session_start before the horizon. */
static ak_lake_sink_t *open_maint_sink(const char *name)
{
    static const char *const SORT[] = {"session_start", "views"};
    ak_lake_sink_opts_t o = {.loc = LOC(root(), "analytics", name),
                             .ncols = 4,
                             .names = NAMES,
                             .types = TYPES,
                             .partition_key = PKEY,
                             .n_partition_key = 2,
                             .sort_key = SORT,
                             .n_sort_key = 2,
                             .codec = AK_PQ_SNAPPY,
                             .retention_column = "session_start",
                             .maint = {true, 3, 1 << 20, 0, 2, 0}};
    ak_lake_sink_t *l = NULL;
    ak_err_t err;
    if (ak_lake_sink_open(&o, &l, &err))
        fprintf(stderr, "open: %s\n", err.msg);
    return l;
}

AK_TEST(compaction_applies_deletes_sorts_and_keeps_the_mark)
{
    ak_lake_sink_t *l = open_maint_sink("t3");
    AK_CHECK(l != NULL);
    if (!l)
        return;
    ak_err_t err;
    ak_lake_report_t rep;
    ak_lake_maint_report_t mr;
    ak_val_t r[4];
    /* four publishes into one partition: views 40, 30, 20, 10 added; 30
     * deleted again in the third; one row in another partition */
    int64_t views[] = {40, 30, 20, 10};
    for (int k = 0; k < 4; k++) {
        AK_CHECK_EQ_INT(ak_lake_sink_begin(l, false, &err), 0);
        row(r, "a", 20000, "KE", views[k]);
        AK_CHECK_EQ_INT(ak_lake_sink_put(l, r, 1, &err), 0);
        if (k == 2) {
            row(r, "a", 20000, "KE", 30);
            AK_CHECK_EQ_INT(ak_lake_sink_put(l, r, -1, &err), 0);
        }
        if (k == 0) {
            row(r, "b", 20001, "DE", 1);
            AK_CHECK_EQ_INT(ak_lake_sink_put(l, r, 1, &err), 0);
        }
        AK_CHECK_EQ_INT(ak_lake_sink_finish(l, &(ak_lake_mark_t){.commit = k + 1, .logs = "[7]"}, &rep, &err), 0);
    }
    AK_CHECK_EQ_INT(ak_lake_sink_maintain(l, 4000000000000000LL, &mr, &err), 0);
    AK_CHECK_EQ_INT(mr.partitions, 1);   /* KE: 4 data files and a delete file; DE: one file */
    AK_CHECK_EQ_INT(mr.files_in, 5);
    AK_CHECK_EQ_INT(mr.files_out, 1);
    AK_CHECK_EQ_INT(mr.rows, 3);
    AK_CHECK_EQ_INT(mr.snapshots_expired, 3); /* 5 snapshots, 2 kept */
    AK_CHECK_EQ_INT(ak_lake_sink_commit(l), 4);
    int64_t total = 0;
    AK_CHECK_EQ_INT(count("t3", "a", 30, &total), 0);
    AK_CHECK_EQ_INT(count("t3", "a", 10, &total), 1);
    AK_CHECK_EQ_INT(total, 4);

    /* the compacted file: sorted by views, recorded with the sort order */
    ak_ice_opts_t io = {.warehouse = root(), .ns = "analytics", .name = "t3"};
    ak_ice_table_t *t = NULL;
    ak_ice_scan_t *sc = NULL;
    AK_CHECK_EQ_INT(ak_ice_open(&io, &t, &err), 0);
    AK_CHECK_EQ_INT(ak_ice_scan(t, -1, &sc, &err), 0);
    AK_CHECK_EQ_INT(ak_ice_scan_count(sc), 2);
    AK_CHECK(ak_ice_snapshot_prop(t, -1, "akili.logs") && strcmp(ak_ice_snapshot_prop(t, -1, "akili.logs"), "[7]") == 0);
    for (size_t i = 0; i < ak_ice_scan_count(sc); i++) {
        const ak_ice_live_t *f = ak_ice_scan_file(sc, i);
        if (f->f.rows != 3)
            continue;
        ak_pq_file_t *pf = NULL;
        AK_CHECK_EQ_INT(ak_pq_open(f->f.path, &pf, &err), 0);
        int64_t want[] = {10, 20, 40}, k = 0;
        ak_val_t v[4];
        bool eof = false;
        while (pf && ak_pq_next_row(pf, v, &eof, &err) == 0 && !eof && k < 3)
            AK_CHECK_EQ_INT(v[3].i, want[k++]);
        AK_CHECK_EQ_INT(k, 3);
        ak_pq_close(pf);
    }
    ak_ice_scan_free(sc);

    /* retention: a delete in a partition wholly before the horizon is not
     * written; the partition's files leave instead */
    AK_CHECK_EQ_INT(ak_lake_sink_begin(l, false, &err), 0);
    ak_lake_sink_horizon(l, 20001LL * 86400000000LL);
    row(r, "a", 20000, "KE", 10);
    AK_CHECK_EQ_INT(ak_lake_sink_put(l, r, -1, &err), 0);
    AK_CHECK_EQ_INT(ak_lake_sink_finish(l, &(ak_lake_mark_t){.commit = 5}, &rep, &err), 0);
    AK_CHECK_EQ_INT(rep.files, 0);
    AK_CHECK_EQ_INT(rep.expired_rows, 1);
    AK_CHECK_EQ_INT(rep.dropped_files, 1);
    AK_CHECK_EQ_INT(count("t3", "a", 20, &total), 0);
    AK_CHECK_EQ_INT(total, 1); /* b, in day 20001, stays */
    ak_ice_close(t);
    ak_lake_sink_free(l);
}

AK_TEST(read_missing_table_and_snapshot)
{
    ak_rel_t *r = NULL;
    ak_err_t err;
    AK_CHECK(ak_lake_read(LOC(root(), "analytics", "none"), -1, 0, NULL, NULL, &r, &err) != 0);
    AK_CHECK(r == NULL);
    ak_lake_sink_t *l = open_sink("t2");
    AK_CHECK(l != NULL);
    ak_lake_sink_free(l);
    AK_CHECK(ak_lake_read(LOC(root(), "analytics", "t2"), 12345, 0, NULL, NULL, &r, &err) != 0);
    AK_CHECK_EQ_INT(ak_lake_read(LOC(root(), "analytics", "t2"), -1, 0, NULL, NULL, &r, &err), 0);
    AK_CHECK(r && r->nrows == 0 && r->ncols == 4);
    ak_rel_free(r);
}

AK_TEST(locate_defaults_and_uris)
{
    ak_output_t o = {0};
    ak_lake_loc_t l;
    ak_err_t err;
    AK_CHECK_EQ_INT(ak_lake_locate(&o, "/h", "ns", "t", &l, &err), 0);
    AK_CHECK_STR(l.warehouse, "/h/lake");
    AK_CHECK_STR(l.ns, "ns");
    AK_CHECK_STR(l.name, "t");
    AK_CHECK(l.catalog_db == NULL && l.catalog_name == NULL);
    ak_lake_loc_free(&l);
    o.warehouse = (char *)"file:///x/y";
    o.lake.sqlite_catalog = true;
    AK_CHECK_EQ_INT(ak_lake_locate(&o, "/h", "ns", "t", &l, &err), 0);
    AK_CHECK_STR(l.warehouse, "/x/y");
    AK_CHECK_STR(l.catalog_db, "/x/y/catalog.db");
    AK_CHECK_STR(l.catalog_name, "akili");
    ak_lake_loc_free(&l);
    o.lake.catalog_db = (char *)"jdbc:sqlite:file:/c/cat.db?journal_mode=WAL";
    o.lake.catalog_name = (char *)"prod";
    AK_CHECK_EQ_INT(ak_lake_locate(&o, "/h", "ns", "t", &l, &err), 0);
    AK_CHECK_STR(l.catalog_db, "/c/cat.db");
    AK_CHECK_STR(l.catalog_name, "prod");
    ak_lake_loc_free(&l);
    o.lake.catalog_db = (char *)"jdbc:sqlite:rel/x.db";
    AK_CHECK_EQ_INT(ak_lake_locate(&o, "/h", "ns", "t", &l, &err), 0);
    AK_CHECK_STR(l.catalog_db, "rel/x.db");
    ak_lake_loc_free(&l);
    o.lake.catalog_db = (char *)"jdbc:sqlite:?x=1";
    AK_CHECK(ak_lake_locate(&o, "/h", "ns", "t", &l, &err) != 0 && err.code == AK_E_USAGE);
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
