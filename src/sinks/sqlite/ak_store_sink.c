/* ak_store_sink.c - publishing changes to a serving table by rowid. */
#include "ak_store_sink.h"

#include "ak_alloc.h"
#include "ak_hidx.h"
#include "ak_io.h"
#include "ak_kbag.h"
#include "ak_log.h"
#include "ak_thread.h"
#include "ak_time.h"

#include <pthread.h>
#include <string.h>

struct ak_store_sink {
    ak_store_sink_opts_t o;
    char *name;
    bool published;          /* the table holds what this sink published */
    /* published rows: hash of the row -> slot (rowid) */
    ak_hidx_t map;
    int64_t *rowid;
    uint64_t *hash;
    uint32_t nslots, cap_slots;
    uint32_t *free;
    size_t nfree, cap_free;
    int64_t rows;
    ak_kbag_t *pending;      /* staged changes, netted */
    int64_t staged;
    int64_t commit;          /* publishes recorded in the table (its commit number) */
    ak_lake_sink_t *lake;    /* the lake table following this one (owned; NULL: none) */
    ak_arena_t scratch;
    ak_arena_t loaded;       /* strings of staged rows loaded from a checkpoint */
    /* a publish on the publisher thread: it owns everything above but
     * `pending` and `staged` until settle() joins it */
    bool running, done;      /* started; finished and not collected yet */
    bool threaded;           /* running on its own thread (to join) */
    pthread_t th;
    ak_kbag_t *inflight;     /* the changes it publishes */
    int64_t inflight_staged, rows_after;
    size_t bytes_before;
    char *job_version, *job_inputs, *job_logs;
    int64_t job_run, job_horizon;
    int64_t horizon;         /* the retention horizon of what is staged (INT64_MIN: none) */
    int job_rc;
    ak_err_t job_err;
    ak_store_sink_report_t job_rep;
};

static void settle(ak_store_sink_t *s);

int ak_store_sink_new(const ak_store_sink_opts_t *o, ak_store_sink_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_store_sink_t *s = ak_calloc(1, sizeof *s);
    if (!s)
        return ak_err_nomem(err);
    s->o = *o;
    s->horizon = INT64_MIN;
    ak_arena_init(&s->scratch, 16 * 1024);
    ak_arena_init(&s->loaded, 16 * 1024);
    if (!(s->name = ak_strdup(o->name)) || !(s->pending = ak_kbag_new(0, o->ncols))) {
        ak_store_sink_free(s);
        return ak_err_nomem(err);
    }
    s->o.name = s->name;
    *out = s;
    return 0;
}

void ak_store_sink_free(ak_store_sink_t *s)
{
    if (!s)
        return;
    settle(s);
    ak_hidx_free(&s->map);
    ak_free(s->rowid);
    ak_free(s->hash);
    ak_free(s->free);
    ak_kbag_free(s->pending);
    ak_lake_sink_free(s->lake);
    ak_arena_free(&s->scratch);
    ak_arena_free(&s->loaded);
    ak_free(s->name);
    ak_free(s);
}

int ak_store_sink_stage(ak_store_sink_t *s, const ak_delta_t *d, ak_err_t *err)
{
    if (!d->n)
        return 0;
    uint32_t g = ak_kbag_group(s->pending, NULL, true);
    if (g == AK_KBAG_OOM)
        return ak_err_nomem(err);
    for (size_t i = 0; i < d->n; i++) {
        uint32_t e;
        if (ak_kbag_add(s->pending, g, ak_delta_row(d, i), d->w[i], &e))
            return ak_err_nomem(err);
        s->staged += d->w[i] > 0 ? d->w[i] : -d->w[i];
        if (!ak_kbag_size(s->pending, g) && (g = ak_kbag_group(s->pending, NULL, true)) == AK_KBAG_OOM)
            return ak_err_nomem(err);
    }
    return 0;
}

bool ak_store_sink_pending(const ak_store_sink_t *s) { return !s->published || ak_kbag_total(s->pending) || ak_kbag_ngroups(s->pending); }
int64_t ak_store_sink_staged(const ak_store_sink_t *s) { return s->staged; }
int64_t ak_store_sink_rows(const ak_store_sink_t *s)
{
    if (s->running)
        return s->rows_after + ak_kbag_total(s->pending);
    return (s->published ? s->rows : 0) + ak_kbag_total(s->pending);
}

/* ---- the rowid map ---- */

static int map_add(ak_store_sink_t *s, uint64_t h, int64_t rowid)
{
    uint32_t slot;
    if (s->nfree) {
        slot = s->free[--s->nfree];
    } else {
        if (s->nslots == s->cap_slots) {
            uint32_t nc = s->cap_slots ? s->cap_slots * 2 : 1024;
            int64_t *nr = ak_realloc(s->rowid, sizeof *nr * nc);
            if (!nr)
                return -1;
            s->rowid = nr;
            uint64_t *nh = ak_realloc(s->hash, sizeof *nh * nc);
            if (!nh)
                return -1;
            s->hash = nh;
            s->cap_slots = nc;
        }
        slot = s->nslots++;
    }
    s->rowid[slot] = rowid;
    s->hash[slot] = h;
    return ak_hidx_insert(&s->map, h, slot);
}

static void map_remove(ak_store_sink_t *s, uint32_t slot)
{
    ak_hidx_remove(&s->map, s->hash[slot], slot);
    if (!AK_GROW(s->free, s->cap_free, s->nfree + 1))
        s->free[s->nfree++] = slot;
}

/* Slots already claimed by a preview (a set: hash of the slot -> slot). */
static bool used(const ak_hidx_t *taken, uint32_t slot)
{
    if (!taken)
        return false;
    uint64_t h = ak_hash_u64(slot);
    for (size_t k = ak_hidx_first(taken, h); ak_hidx_more(taken, k); k = ak_hidx_next(taken, k))
        if (taken->h[k] == h && taken->v[k] == slot)
            return true;
    return false;
}

/* The slot of a published row equal to `row`, skipping slots in `taken`;
 * UINT32_MAX if none. */
static int find_slot(ak_store_sink_t *s, ak_store_tx_t *tx, const ak_val_t *row, uint64_t h, const ak_hidx_t *taken,
                     uint32_t *out, ak_err_t *err)
{
    uint32_t cand[8];
    int nc = 0;
    bool more = false;
    for (size_t k = ak_hidx_first(&s->map, h); ak_hidx_more(&s->map, k); k = ak_hidx_next(&s->map, k)) {
        if (s->map.h[k] != h || s->map.v[k] == AK_HIDX_DEAD || used(taken, s->map.v[k]))
            continue;
        if (nc < 8)
            cand[nc++] = s->map.v[k];
        else
            more = true;
    }
    *out = UINT32_MAX;
    if (nc == 1 && !more) {
        *out = cand[0]; /* the only row with this 64-bit hash */
        return 0;
    }
    /* duplicates (or a hash collision): read back and compare */
    ak_val_t *tmp = ak_arena_alloc(&s->scratch, sizeof *tmp * (size_t)(s->o.ncols + 1));
    if (!tmp)
        return ak_err_nomem(err);
    for (size_t k = ak_hidx_first(&s->map, h); ak_hidx_more(&s->map, k); k = ak_hidx_next(&s->map, k)) {
        if (s->map.h[k] != h || s->map.v[k] == AK_HIDX_DEAD || used(taken, s->map.v[k]))
            continue;
        int rc = ak_store_tx_read(tx, s->rowid[s->map.v[k]], tmp, &s->scratch, err);
        if (rc < 0)
            return -1;
        if (rc == 0 && ak_row_eq(tmp, row, s->o.ncols)) {
            *out = s->map.v[k];
            return 0;
        }
    }
    return 0;
}

static uint64_t key_hash(const ak_store_sink_t *s, const ak_val_t *row)
{
    uint64_t h = 0x243f6a8885a308d3ULL;
    for (int i = 0; i < s->o.nkey; i++)
        h = ak_hash_mix(h, ak_val_hash(&row[s->o.key[i]], 7));
    return h;
}

static bool key_eq(const ak_store_sink_t *s, const ak_val_t *a, const ak_val_t *b)
{
    for (int i = 0; i < s->o.nkey; i++)
        if (!ak_val_eq_group(&a[s->o.key[i]], &b[s->o.key[i]]))
            return false;
    return true;
}

typedef struct gone {
    const ak_val_t *row;
    int64_t rowid;
    bool reused;
} gone_t;

static int publish_full(ak_store_sink_t *s, ak_kbag_t *bag, ak_store_tx_t *tx, ak_store_sink_report_t *rep,
                        ak_err_t *err)
{
    uint32_t g = ak_kbag_group(bag, NULL, false);
    size_t n = g == UINT32_MAX ? 0 : ak_kbag_size(bag, g);
    ak_hidx_free(&s->map);
    s->nslots = 0;
    s->nfree = 0;
    s->rows = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t e = ak_kbag_entries(bag, g)[i];
        const ak_val_t *row = ak_kbag_row(bag, e);
        int64_t c = ak_kbag_count(bag, e);
        if (c < 0)
            return ak_errf(err, AK_E_INTERNAL, "serving table `%s`: a row is retracted before it was published",
                           s->name);
        uint64_t h = ak_row_hash(row, s->o.ncols);
        for (; c > 0; c--) {
            int64_t rowid;
            if (ak_store_tx_insert(tx, row, &rowid, err))
                return -1;
            if (map_add(s, h, rowid))
                return ak_err_nomem(err);
            s->rows++;
            rep->inserted++;
        }
    }
    rep->replaced = true;
    return 0;
}

static int publish_changes(ak_store_sink_t *s, ak_kbag_t *bag, ak_store_tx_t *tx, ak_store_sink_report_t *rep,
                           ak_err_t *err)
{
    uint32_t g = ak_kbag_group(bag, NULL, false);
    size_t n = g == UINT32_MAX ? 0 : ak_kbag_size(bag, g);
    gone_t *gone = NULL;
    size_t ngone = 0, cap_gone = 0;
    ak_hidx_t byk = {0};
    int rc = -1;
    /* retractions first: which rowids go (out of the map at once, so a
     * duplicate row finds the next copy) */
    for (size_t i = 0; i < n; i++) {
        uint32_t e = ak_kbag_entries(bag, g)[i];
        const ak_val_t *row = ak_kbag_row(bag, e);
        int64_t c = ak_kbag_count(bag, e);
        uint64_t h = ak_row_hash(row, s->o.ncols);
        for (; c < 0; c++) {
            uint32_t slot;
            if (find_slot(s, tx, row, h, NULL, &slot, err))
                goto done;
            if (slot == UINT32_MAX) {
                ak_errf(err, AK_E_STATE,
                        "serving table `%s` no longer holds a row akili published (was it changed by hand?); "
                        "`akili run reset` rebuilds it",
                        s->name);
                goto done;
            }
            if (AK_GROW(gone, cap_gone, ngone + 1))
                goto nomem;
            gone[ngone++] = (gone_t){row, s->rowid[slot], false};
            map_remove(s, slot);
            if (s->o.nkey && ak_hidx_insert(&byk, key_hash(s, row), (uint32_t)(ngone - 1)))
                goto nomem;
        }
    }
    /* additions: an update in place when a retracted row had the same key */
    for (size_t i = 0; i < n; i++) {
        uint32_t e = ak_kbag_entries(bag, g)[i];
        const ak_val_t *row = ak_kbag_row(bag, e);
        uint64_t h = ak_row_hash(row, s->o.ncols);
        for (int64_t c = ak_kbag_count(bag, e); c > 0; c--) {
            gone_t *match = NULL;
            if (s->o.nkey) {
                uint64_t kh = key_hash(s, row);
                for (size_t k = ak_hidx_first(&byk, kh); ak_hidx_more(&byk, k) && !match; k = ak_hidx_next(&byk, k))
                    if (byk.h[k] == kh && byk.v[k] != AK_HIDX_DEAD && !gone[byk.v[k]].reused &&
                        key_eq(s, gone[byk.v[k]].row, row))
                        match = &gone[byk.v[k]];
            }
            int64_t rowid;
            if (match) {
                rowid = match->rowid;
                if (ak_store_tx_update(tx, rowid, row, match->row, err))
                    goto done;
                match->reused = true;
                rep->updated++;
            } else {
                if (ak_store_tx_insert(tx, row, &rowid, err))
                    goto done;
                s->rows++;
                rep->inserted++;
            }
            if (map_add(s, h, rowid))
                goto nomem;
        }
    }
    for (size_t i = 0; i < ngone; i++) {
        if (gone[i].reused)
            continue;
        if (ak_store_tx_delete(tx, gone[i].rowid, err))
            goto done;
        s->rows--;
        rep->deleted++;
    }
    rc = 0;
    goto done;
nomem:
    ak_err_nomem(err);
done:
    ak_free(gone);
    ak_hidx_free(&byk);
    return rc;
}

/* After a failed publish of changes: the table rolled back, but the rowid
 * map may be half updated; it is read again from the table so that a retry
 * (the staged changes are kept) starts from the truth.  Returns -1. */
static int remap(ak_store_sink_t *s, ak_err_t *err)
{
    ak_err_t e2;
    if (ak_store_sink_adopt(s, &e2) == 0)
        return -1;
    if (err)
        err->retriable = false;
    return ak_err_prefix(err, "serving table `%s` cannot be read again after a failed publish (%s)", s->name, e2.msg);
}

/* ---- the lake table following this one ---- */

void ak_store_sink_horizon(ak_store_sink_t *s, int64_t horizon_us) { s->horizon = horizon_us; }

void ak_store_sink_set_lake(ak_store_sink_t *s, ak_lake_sink_t *lake)
{
    settle(s);
    ak_lake_sink_free(s->lake);
    s->lake = lake;
}

static void lake_warn(ak_store_sink_t *s, const ak_err_t *e)
{
    ak_log_warn(s->name, "the lake table %s is behind the serving table (%s); the next publish or restart catches it up",
                ak_lake_sink_dir(s->lake), e->msg);
}

/* Copies of `row` the table holds once the transaction's changes are in
 * (the rowid map is up to date by then). */
static int copies_left(ak_store_sink_t *s, ak_store_tx_t *tx, const ak_val_t *row, int64_t *n, ak_err_t *err)
{
    uint64_t h = ak_row_hash(row, s->o.ncols);
    *n = 0;
    ak_val_t *tmp = NULL;
    for (size_t k = ak_hidx_first(&s->map, h); ak_hidx_more(&s->map, k); k = ak_hidx_next(&s->map, k)) {
        if (s->map.h[k] != h || s->map.v[k] == AK_HIDX_DEAD)
            continue;
        if (!tmp && !(tmp = ak_arena_alloc(&s->scratch, sizeof *tmp * (size_t)(s->o.ncols + 1))))
            return ak_err_nomem(err);
        int rc = ak_store_tx_read(tx, s->rowid[s->map.v[k]], tmp, &s->scratch, err);
        if (rc < 0)
            return -1;
        if (rc == 0 && ak_row_eq(tmp, row, s->o.ncols))
            (*n)++;
    }
    return 0;
}

/* Writes the lake files of a publish's changes (an equality delete takes
 * every copy of a row: the copies left are added again). */
static int lake_stage(ak_store_sink_t *s, ak_kbag_t *bag, bool full, int64_t horizon, ak_store_tx_t *tx,
                      ak_err_t *err)
{
    if (ak_lake_sink_begin(s->lake, full, err))
        return -1;
    ak_lake_sink_horizon(s->lake, horizon);
    uint32_t g = ak_kbag_group(bag, NULL, false);
    size_t n = g == UINT32_MAX ? 0 : ak_kbag_size(bag, g);
    for (size_t i = 0; i < n; i++) {
        uint32_t e = ak_kbag_entries(bag, g)[i];
        const ak_val_t *row = ak_kbag_row(bag, e);
        int64_t c = ak_kbag_count(bag, e), left = 0;
        if (ak_lake_sink_put(s->lake, row, c, err) || (c < 0 && copies_left(s, tx, row, &left, err)) ||
            (left && ak_lake_sink_put(s->lake, row, left, err)))
            return -1;
    }
    return 0;
}

/* Brings a lake that is not at the table's commit number to the table's
 * rows: one snapshot of the difference, marked m (NULL: the mark the
 * serving table records). */
static int lake_catch_up(ak_store_sink_t *s, const ak_lake_mark_t *m, ak_err_t *err)
{
    ak_store_table_t ti = {0};
    ak_lake_mark_t tm = {.commit = s->commit};
    if (!m) {
        if (ak_store_info(s->o.store, s->name, &ti, err) < 0)
            return -1;
        tm.version = ti.version;
        tm.inputs = ti.inputs;
        tm.logs = ti.logs;
        m = &tm;
    }
    ak_rel_t *lr = NULL, *sr = NULL;
    ak_kbag_t *net = ak_kbag_new(0, s->o.ncols), *srv = ak_kbag_new(0, s->o.ncols);
    ak_store_table_t info = {.ncols = s->o.ncols, .names = (char **)s->o.names, .types = (ak_type_t *)s->o.types};
    int rc = -1;
    if (!net || !srv) {
        ak_err_nomem(err);
        goto done;
    }
    if (ak_lake_sink_rows(s->lake, &lr, err) || ak_store_scan(s->o.store, s->name, &info, NULL, 0, &sr, err))
        goto done;
    uint32_t e;
    for (size_t i = 0; i < sr->nrows; i++) {
        uint32_t g = ak_kbag_group(net, NULL, true), g2 = ak_kbag_group(srv, NULL, true);
        if (g == AK_KBAG_OOM || g2 == AK_KBAG_OOM || ak_kbag_add(net, g, ak_rel_row(sr, i), 1, &e) ||
            ak_kbag_add(srv, g2, ak_rel_row(sr, i), 1, &e))
            goto nomem;
    }
    for (size_t i = 0; i < lr->nrows; i++) {
        uint32_t g = ak_kbag_group(net, NULL, true);
        if (g == AK_KBAG_OOM || ak_kbag_add(net, g, ak_rel_row(lr, i), -1, &e))
            goto nomem;
    }
    if (ak_lake_sink_begin(s->lake, false, err))
        goto done;
    uint32_t g = ak_kbag_group(net, NULL, false), g2 = ak_kbag_group(srv, NULL, false);
    size_t n = g == UINT32_MAX ? 0 : ak_kbag_size(net, g);
    for (size_t i = 0; i < n; i++) {
        uint32_t en = ak_kbag_entries(net, g)[i];
        const ak_val_t *row = ak_kbag_row(net, en);
        int64_t c = ak_kbag_count(net, en), left = 0;
        if (c < 0 && g2 != UINT32_MAX && (e = ak_kbag_find(srv, g2, row)) != UINT32_MAX)
            left = ak_kbag_count(srv, e);
        if (ak_lake_sink_put(s->lake, row, c, err) || (left && ak_lake_sink_put(s->lake, row, left, err)))
            goto done;
    }
    ak_lake_report_t rep;
    if (ak_lake_sink_finish(s->lake, m, &rep, err))
        goto done;
    ak_log_info(s->name, "lake table %s caught up with the serving table (commit %lld: %lld rows added, %lld deleted)",
                ak_lake_sink_dir(s->lake), (long long)s->commit, (long long)rep.inserted, (long long)rep.deleted);
    rc = 0;
    goto done;
nomem:
    ak_err_nomem(err);
done:
    if (rc)
        ak_lake_sink_abort(s->lake);
    ak_rel_free(lr);
    ak_rel_free(sr);
    ak_kbag_free(net);
    ak_kbag_free(srv);
    ak_store_info_free(&ti);
    return rc;
}

/* After a serving commit (marked m; NULL: read the table's mark): the
 * lake snapshot of the same changes, or a catch-up when the lake was not
 * at the previous number. */
static void lake_follow(ak_store_sink_t *s, const ak_lake_mark_t *m, bool staged, int64_t stage_us)
{
    ak_err_t e;
    ak_lake_report_t rep;
    int64_t t0 = ak_mono_us();
    if (staged ? ak_lake_sink_finish(s->lake, m, &rep, &e)
               : (ak_lake_sink_commit(s->lake) != s->commit && lake_catch_up(s, m, &e))) {
        lake_warn(s, &e);
        return;
    }
    if (staged)
        ak_log_debug("lake", "%s: snapshot of commit %lld: %lld rows added, %lld deleted, %lld files, %.2f MB, "
                     "%lld expired rows and %lld files dropped by retention; files written in %.1f ms, committed "
                     "in %.1f ms",
                     s->name, (long long)s->commit, (long long)rep.inserted, (long long)rep.deleted,
                     (long long)rep.files, (double)rep.bytes / 1048576.0, (long long)rep.expired_rows,
                     (long long)rep.dropped_files, (double)stage_us / 1e3, (double)(ak_mono_us() - t0) / 1e3);
    /* maintenance failures leave the table as it was: the next publish retries */
    ak_lake_maint_report_t mr;
    if (ak_lake_sink_maintain(s->lake, ak_wall_us(), &mr, &e))
        ak_log_warn(s->name, "%s", e.msg);
    else if (mr.partitions || mr.snapshots_expired)
        ak_log_debug("lake", "%s: compacted %d partitions (%lld files, %.2f MB -> %lld files, %.2f MB, %lld rows) "
                     "in %.1f ms; expired %lld snapshots (%lld files deleted) in %.1f ms",
                     s->name, mr.partitions, (long long)mr.files_in, (double)mr.bytes_in / 1048576.0,
                     (long long)mr.files_out, (double)mr.bytes_out / 1048576.0, (long long)mr.rows,
                     (double)mr.compact_us / 1e3, (long long)mr.snapshots_expired, (long long)mr.files_deleted,
                     (double)mr.expire_us / 1e3);
}

/* One transaction applying `bag` (the caller forgets it on success). */
static int publish_bag(ak_store_sink_t *s, ak_kbag_t *bag, const char *version, int64_t run_id, const char *inputs,
                       const char *logs, int64_t horizon, ak_store_sink_report_t *rep, ak_err_t *err)
{
    memset(rep, 0, sizeof *rep);
    ak_store_tx_t *tx;
    bool full = !s->published;
    if (ak_store_begin(s->o.store, s->name, s->o.ncols, s->o.names, s->o.types, s->o.idx, s->o.nidx, full, &tx, err))
        return -1;
    int64_t rows_before = s->rows;
    int rc = full ? publish_full(s, bag, tx, rep, err) : publish_changes(s, bag, tx, rep, err);
    /* the lake's files are written while the transaction is open (copies
     * left are read from it); a lake not at our number is caught up after */
    bool staged = false;
    int64_t stage_us = ak_mono_us();
    if (rc == 0 && s->lake && (full || ak_lake_sink_commit(s->lake) == s->commit)) {
        ak_err_t le;
        staged = lake_stage(s, bag, full, horizon, tx, &le) == 0;
        stage_us = ak_mono_us() - stage_us;
        if (!staged) {
            ak_lake_sink_abort(s->lake);
            lake_warn(s, &le);
        }
    }
    ak_arena_reset(&s->scratch);
    if (rc == 0 && (rc = ak_store_tx_mark(tx, s->commit + 1, logs, err)) == 0) {
        ak_io_crash_point("sink-commit");
        rc = ak_store_tx_commit(tx, version, run_id, s->rows, inputs, err);
    } else {
        ak_store_tx_abort(tx);
    }
    if (rc) {
        if (s->lake)
            ak_lake_sink_abort(s->lake);
        s->rows = rows_before;
        return full ? -1 : remap(s, err);
    }
    ak_io_crash_point("sink-committed");
    s->commit++;
    s->published = true;
    rep->rows = s->rows;
    if (s->lake)
        lake_follow(s, &(ak_lake_mark_t){s->commit, version, inputs, logs}, staged, stage_us);
    return 0;
}

int ak_store_sink_publish(ak_store_sink_t *s, const char *version, int64_t run_id, const char *inputs,
                          const char *logs, ak_store_sink_report_t *rep, ak_err_t *err)
{
    settle(s);
    if (publish_bag(s, s->pending, version, run_id, inputs, logs, s->horizon, rep, err))
        return -1;
    return ak_store_sink_discard(s, err);
}

/* ---- publishing on a thread ---- */

static void *publisher_main(void *arg)
{
    ak_store_sink_t *s = arg;
    s->job_rc = publish_bag(s, s->inflight, s->job_version, s->job_run, s->job_inputs, s->job_logs, s->job_horizon,
                            &s->job_rep, &s->job_err);
    return NULL;
}

static void free_job(ak_store_sink_t *s)
{
    ak_free(s->job_version);
    ak_free(s->job_inputs);
    ak_free(s->job_logs);
    s->job_version = s->job_inputs = s->job_logs = NULL;
}

/* Joins a running publish.  Its changes are forgotten when it committed;
 * after a failure they are staged again, under the ones staged since (a
 * multiset: the order of the two does not matter). */
static void settle(ak_store_sink_t *s)
{
    if (!s->running)
        return;
    if (s->threaded)
        pthread_join(s->th, NULL);
    s->running = false;
    s->done = true;
    free_job(s);
    if (s->job_rc == 0) {
        ak_kbag_free(s->inflight);
        s->inflight = NULL;
        return;
    }
    uint32_t g = ak_kbag_group(s->pending, NULL, false), gi = ak_kbag_group(s->inflight, NULL, true);
    size_t n = g == UINT32_MAX ? 0 : ak_kbag_size(s->pending, g);
    for (size_t i = 0; i < n && gi != AK_KBAG_OOM; i++) {
        uint32_t e = ak_kbag_entries(s->pending, g)[i], eid;
        if (ak_kbag_add(s->inflight, gi, ak_kbag_row(s->pending, e), ak_kbag_count(s->pending, e), &eid)) {
            gi = AK_KBAG_OOM;
            break;
        }
        /* (entries of g stay valid: entries are per bag) */
    }
    if (gi == AK_KBAG_OOM) {
        /* the changes cannot be kept together: the run must fail, and the
         * next one rebuilds from the logs what this one did not publish */
        s->job_err.retriable = false;
        ak_err_nomem(&s->job_err);
        ak_kbag_free(s->inflight);
    } else {
        ak_kbag_free(s->pending);
        s->pending = s->inflight;
        s->staged += s->inflight_staged;
    }
    s->inflight = NULL;
}

int ak_store_sink_publish_async(ak_store_sink_t *s, const char *version, int64_t run_id, const char *inputs,
                                const char *logs, ak_err_t *err)
{
    settle(s);
    if (s->done)
        return ak_errf(err, AK_E_INTERNAL, "serving table `%s`: the previous publish was not collected", s->name);
    ak_kbag_t *fresh = ak_kbag_new(0, s->o.ncols);
    s->job_version = ak_strdup(version);
    s->job_inputs = ak_strdup(inputs); /* NULL stays NULL */
    s->job_logs = ak_strdup(logs);
    if (!fresh || !s->job_version || (inputs && !s->job_inputs) || (logs && !s->job_logs)) {
        ak_kbag_free(fresh);
        free_job(s);
        return ak_err_nomem(err);
    }
    s->bytes_before = ak_store_sink_bytes(s);
    s->inflight = s->pending;
    s->inflight_staged = s->staged;
    s->rows_after = (s->published ? s->rows : 0) + ak_kbag_total(s->inflight);
    s->pending = fresh;
    s->staged = 0;
    s->job_run = run_id;
    s->job_horizon = s->horizon;
    s->job_rc = 0;
    s->running = true;
    s->threaded = ak_thread_start(&s->th, publisher_main, s) == 0;
    if (!s->threaded) {
        publisher_main(s); /* no thread: publish here */
        settle(s);
    }
    return 0;
}

int ak_store_sink_collect(ak_store_sink_t *s, bool *had, ak_store_sink_report_t *rep, ak_err_t *err)
{
    settle(s);
    *had = s->done;
    if (!s->done)
        return 0;
    s->done = false;
    *rep = s->job_rep;
    if (s->job_rc) {
        *err = s->job_err;
        return -1;
    }
    return 0;
}

bool ak_store_sink_busy(const ak_store_sink_t *s) { return s->running; }

int ak_store_sink_preview(ak_store_sink_t *s, const char *name, const char *version, int64_t run_id,
                          const char *inputs, int64_t *rows, ak_err_t *err)
{
    settle(s);
    ak_store_tx_t *tx;
    if (ak_store_begin(s->o.store, name, s->o.ncols, s->o.names, s->o.types, NULL, 0, true, &tx, err))
        return -1;
    if (s->published && ak_store_tx_copy(tx, s->name, err)) {
        ak_store_tx_abort(tx);
        return -1;
    }
    int64_t n = s->published ? s->rows : 0;
    uint32_t g = ak_kbag_group(s->pending, NULL, false);
    size_t np = g == UINT32_MAX ? 0 : ak_kbag_size(s->pending, g);
    ak_hidx_t taken = {0};
    int rc = 0;
    for (size_t i = 0; i < np && rc == 0; i++) {
        uint32_t e = ak_kbag_entries(s->pending, g)[i];
        const ak_val_t *row = ak_kbag_row(s->pending, e);
        int64_t c = ak_kbag_count(s->pending, e);
        uint64_t h = ak_row_hash(row, s->o.ncols);
        for (; c > 0 && rc == 0; c--, n++)
            rc = ak_store_tx_insert(tx, row, NULL, err);
        for (; c < 0 && rc == 0 && s->published; c++, n--) {
            uint32_t slot;
            if ((rc = find_slot(s, tx, row, h, &taken, &slot, err)) || slot == UINT32_MAX)
                break;
            if (ak_hidx_insert(&taken, ak_hash_u64(slot), slot)) {
                rc = ak_err_nomem(err);
                break;
            }
            rc = ak_store_tx_delete(tx, s->rowid[slot], err);
        }
    }
    ak_hidx_free(&taken);
    ak_arena_reset(&s->scratch);
    if (rc) {
        ak_store_tx_abort(tx);
        return -1;
    }
    if (rows)
        *rows = n;
    return ak_store_tx_commit(tx, version, run_id, n, inputs, err);
}

int ak_store_sink_snapshot(ak_store_sink_t *s, ak_rel_t **out, ak_err_t *err)
{
    settle(s);
    *out = NULL;
    ak_rel_t *r = NULL;
    if (s->published) {
        ak_store_table_t info = {.ncols = s->o.ncols, .names = (char **)s->o.names, .types = (ak_type_t *)s->o.types};
        if (ak_store_scan(s->o.store, s->name, &info, NULL, 0, &r, err))
            return -1;
    } else if (!(r = ak_rel_new(s->o.ncols, s->o.names, s->o.types))) {
        return ak_err_nomem(err);
    }
    uint32_t g = ak_kbag_group(s->pending, NULL, false);
    size_t np = g == UINT32_MAX ? 0 : ak_kbag_size(s->pending, g);
    int nc = s->o.ncols;
    for (size_t i = 0; i < np; i++) {
        uint32_t e = ak_kbag_entries(s->pending, g)[i];
        const ak_val_t *row = ak_kbag_row(s->pending, e);
        for (int64_t c = ak_kbag_count(s->pending, e); c > 0; c--) {
            ak_val_t *o = ak_rel_push_n(r, 1);
            if (!o) {
                ak_rel_free(r);
                return ak_err_nomem(err);
            }
            memcpy(o, row, sizeof *o * (size_t)nc);
        }
        for (int64_t c = ak_kbag_count(s->pending, e); c < 0; c++)
            for (size_t k = 0; k < r->nrows; k++)
                if (ak_row_eq(ak_rel_row(r, k), row, nc)) {
                    memmove(ak_rel_row(r, k), ak_rel_row(r, r->nrows - 1), sizeof(ak_val_t) * (size_t)nc);
                    r->nrows--;
                    break;
                }
    }
    *out = r;
    return 0;
}

size_t ak_store_sink_bytes(const ak_store_sink_t *s)
{
    if (s->running)
        return s->bytes_before + ak_kbag_bytes(s->pending);
    return ak_hidx_bytes(&s->map) + (size_t)s->cap_slots * 16 + s->cap_free * 4 + ak_kbag_bytes(s->pending);
}

/* ---- restarts ---- */

int64_t ak_store_sink_commit(ak_store_sink_t *s)
{
    settle(s);
    return s->commit;
}

static int map_row(void *ctx, int64_t rowid, const ak_val_t *row, ak_err_t *err)
{
    ak_store_sink_t *s = ctx;
    if (map_add(s, ak_row_hash(row, s->o.ncols), rowid))
        return ak_err_nomem(err);
    s->rows++;
    return 0;
}

int ak_store_sink_table(ak_store_sink_t *s, int64_t *commit, char **logs, ak_err_t *err)
{
    settle(s);
    *commit = 0;
    *logs = NULL;
    ak_store_table_t info;
    int rc = ak_store_info(s->o.store, s->name, &info, err);
    if (rc)
        return rc;
    bool same = info.ncols == s->o.ncols && info.commit_seq > 0;
    for (int i = 0; same && i < s->o.ncols; i++)
        same = strcmp(info.names[i], s->o.names[i]) == 0 && info.types[i] == s->o.types[i];
    if (same) {
        /* commit numbers go on from the table's, whatever happens next */
        s->commit = *commit = info.commit_seq;
        *logs = info.logs;
        info.logs = NULL;
    }
    ak_store_info_free(&info);
    return same ? 0 : 1;
}

int ak_store_sink_adopt(ak_store_sink_t *s, ak_err_t *err)
{
    settle(s);
    ak_hidx_free(&s->map);
    s->nslots = 0;
    s->nfree = 0;
    s->rows = 0;
    if (ak_store_each_row(s->o.store, s->name, s->o.ncols, s->o.names, s->o.types, map_row, s, err))
        return -1;
    s->published = true;
    if (s->lake)
        lake_follow(s, NULL, false, 0); /* a restart after a crash between the two commits */
    return 0;
}

int ak_store_sink_discard(ak_store_sink_t *s, ak_err_t *err)
{
    ak_kbag_free(s->pending);
    s->staged = 0;
    return (s->pending = ak_kbag_new(0, s->o.ncols)) ? 0 : ak_err_nomem(err);
}

int ak_store_sink_save(ak_store_sink_t *s, const ak_state_out_t *out, ak_err_t *err)
{
    settle(s);
    /* what is staged is small (held back by a gate at most): always whole */
    return ak_kbag_save(s->pending, 0, true, out, err);
}

int ak_store_sink_load(ak_store_sink_t *s, const void *key, size_t kn, const void *val, size_t vn, ak_err_t *err)
{
    uint32_t e;
    if (ak_kbag_load(s->pending, key, kn, val, vn, ak_ser_arena_text, &s->loaded, &e, err))
        return -1;
    if (e != UINT32_MAX) {
        int64_t c = ak_kbag_count(s->pending, e);
        s->staged += c > 0 ? c : -c;
    }
    return 0;
}
