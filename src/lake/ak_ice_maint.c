/* ak_ice_maint.c - table maintenance: expiring snapshots (and deleting the
 * files only they used) and retention by dropping whole partitions through
 * metadata alone.
 *
 * Files are deleted only after the metadata that no longer references them
 * is committed, and only inside the table's own folder: a crash leaves at
 * worst unreferenced files, never a reference to a missing one.
 */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ak_alloc.h"
#include "ak_ice_int.h"
#include "ak_time.h"

/* Adds the list, manifests and live files of a snapshot to the sets
 * (files: all entries if all_entries, else only live ones). */
static int collect(const ak_ice_table_t *t, const ak_ice_snap_t *s, ak_ice_sset_t *lists, ak_ice_sset_t *mans,
                   ak_ice_sset_t *files, bool all_entries, bool lenient, ak_err_t *err)
{
    ak_arena_t ar;
    ak_arena_init(&ar, 16 * 1024);
    ak_ice_mfile_t *mf = NULL;
    size_t n = 0;
    int rc = ak__ice_sset_add(lists, s->list) ? ak_err_nomem(err) : 0;
    if (!rc && ak__ice_list_read(s->list, &ar, &mf, &n, err)) {
        /* a list already gone (an expiry cut short) has nothing left to free */
        rc = lenient && err->code == AK_E_IO ? 0 : -1;
        n = 0;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        if (ak__ice_sset_has(mans, mf[i].path))
            continue; /* shared with a snapshot already walked */
        if (ak__ice_sset_add(mans, mf[i].path)) {
            rc = ak_err_nomem(err);
            break;
        }
        ak_ice_entries_t es;
        ak__ice_entries_init(&es);
        if (ak__ice_manifest_read(t, mf[i].path, &es, err))
            rc = lenient && err->code == AK_E_IO ? 0 : -1;
        for (size_t k = 0; !rc && k < es.n; k++)
            if ((all_entries || es.e[k].status != 2) && ak__ice_sset_add(files, es.e[k].path))
                rc = ak_err_nomem(err);
        ak__ice_entries_free(&es);
    }
    ak_free(mf);
    ak_arena_free(&ar);
    if (!rc)
        ak_err_clear(err);
    return rc;
}

static bool in_table(const ak_ice_table_t *t, const char *uri)
{
    const char *p = ak__ice_local(uri);
    size_t n = strlen(t->dir);
    return p != uri && strncmp(p, t->dir, n) == 0 && p[n] == '/' && !strstr(p + n, "/../");
}

static int64_t unlink_unreferenced(const ak_ice_table_t *t, const ak_ice_sset_t *cand, const ak_ice_sset_t *live)
{
    int64_t n = 0;
    for (size_t i = 0; i < cand->cap; i++) {
        const char *u = cand->slot[i];
        if (u && !ak__ice_sset_has(live, u) && in_table(t, u) && unlink(ak__ice_local(u)) == 0)
            n++;
    }
    return n;
}

int ak_ice_expire(ak_ice_table_t *t, int64_t older_than_ms, int keep_last, int keep_metadata, ak_ice_stats_t *st,
                  ak_err_t *err)
{
    ak_ice_stats_t local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    st->snapshot_id = t->current;
    if (keep_last < 1)
        keep_last = 1;
    if (keep_metadata < 0)
        keep_metadata = 0;
    bool *keep = ak_calloc(t->nsnaps + 1, sizeof *keep);
    if (!keep)
        return ak_err_nomem(err);
    int64_t id = t->current;
    for (int k = 0; k < keep_last && id >= 0; k++) {
        const ak_ice_snap_t *s = ak__ice_find_snap(t, id);
        if (!s)
            break;
        keep[s - t->snaps] = true;
        id = s->parent;
    }
    size_t nexp = 0;
    for (size_t i = 0; i < t->nsnaps; i++) {
        keep[i] |= t->snaps[i].ts_ms >= older_than_ms;
        nexp += !keep[i];
    }
    if (nexp == 0 && t->nmlog <= (size_t)keep_metadata) {
        ak_free(keep);
        return 0;
    }
    ak_ice_sset_t llist = {0}, lman = {0}, lfile = {0}, clist = {0}, cman = {0}, cfile = {0};
    ak_ice_snap_t *ns = ak_calloc(t->nsnaps + 1, sizeof *ns);
    int64_t *lts = ak_calloc(t->nslog + 1, sizeof *lts), *lid = ak_calloc(t->nslog + 1, sizeof *lid);
    int rc = -1;
    if (!ns || !lts || !lid) {
        ak_err_nomem(err);
        goto out;
    }
    for (size_t i = 0; i < t->nsnaps; i++)
        if (keep[i] && collect(t, &t->snaps[i], &llist, &lman, &lfile, false, false, err))
            goto out;
    for (size_t i = 0; i < t->nsnaps; i++)
        if (!keep[i] && collect(t, &t->snaps[i], &clist, &cman, &cfile, true, true, err))
            goto out;
    /* the new metadata: kept snapshots, their log entries, the newest
     * metadata-log entries */
    ak_ice_snap_t *old_snaps = t->snaps;
    int64_t *old_lts = t->slog_ts, *old_lid = t->slog_id;
    size_t old_n = t->nsnaps, old_nl = t->nslog, nk = 0, nl = 0;
    for (size_t i = 0; i < t->nsnaps; i++)
        if (keep[i])
            ns[nk++] = t->snaps[i];
    for (size_t i = 0; i < t->nslog; i++)
        if (ak__ice_find_snap(t, t->slog_id[i]) && keep[ak__ice_find_snap(t, t->slog_id[i]) - t->snaps]) {
            lts[nl] = t->slog_ts[i];
            lid[nl++] = t->slog_id[i];
        }
    ak_ice_mlog_t *old_mlog = t->mlog;
    size_t old_nm = t->nmlog;
    t->snaps = ns;
    t->nsnaps = nk;
    t->slog_ts = lts;
    t->slog_id = lid;
    t->nslog = nl;
    /* an expiry is a metadata change: its own version, same snapshot; its
     * log names the version it replaces, trimmed to keep_metadata */
    int64_t old_ms = t->last_updated_ms, now = ak_wall_us() / 1000;
    t->last_updated_ms = now > old_ms ? now : old_ms + 1;
    size_t total = old_nm + (t->meta_file ? 1 : 0);
    ak_ice_mlog_t *all = ak_calloc(total + 1, sizeof *all);
    char *prev = t->meta_file ? ak_malloc(strlen(t->meta_file) + 8) : NULL;
    size_t drop = total > (size_t)keep_metadata ? total - (size_t)keep_metadata : 0;
    int prc = -1;
    if (all && (!t->meta_file || prev)) {
        memcpy(all, old_mlog, old_nm * sizeof *all);
        if (prev) {
            sprintf(prev, "file://%s", t->meta_file);
            all[old_nm].ts_ms = old_ms;
            all[old_nm].file = prev;
        }
        t->mlog = all + drop;
        t->nmlog = total - drop;
        prc = ak__ice_publish(t, &st->metadata_bytes, err);
    } else {
        ak_err_nomem(err);
    }
    if (prc) {
        ak_free(all);
        ak_free(prev);
        t->snaps = old_snaps;
        t->nsnaps = old_n;
        t->slog_ts = old_lts;
        t->slog_id = old_lid;
        t->nslog = old_nl;
        t->mlog = old_mlog;
        t->nmlog = old_nm;
        t->last_updated_ms = old_ms;
        goto out;
    }
    for (size_t i = 0; i < drop; i++) {
        if (in_table(t, all[i].file))
            st->files_deleted += unlink(ak__ice_local(all[i].file)) == 0;
        ak_free(all[i].file);
    }
    memmove(all, all + drop, (total - drop) * sizeof *all);
    t->mlog = all;
    ak_free(old_mlog);
    for (size_t i = 0; i < old_n; i++)
        if (!keep[i])
            ak__ice_snap_free(&old_snaps[i]);
    ak_free(old_snaps);
    ak_free(old_lts);
    ak_free(old_lid);
    ns = NULL;
    lts = lid = NULL;
    st->snapshots_expired = (int64_t)nexp;
    st->files_deleted += unlink_unreferenced(t, &cfile, &lfile);
    st->files_deleted += unlink_unreferenced(t, &cman, &lman);
    st->files_deleted += unlink_unreferenced(t, &clist, &llist);
    rc = 0;
out:
    ak_free(keep);
    ak_free(ns);
    ak_free(lts);
    ak_free(lid);
    ak__ice_sset_free(&llist);
    ak__ice_sset_free(&lman);
    ak__ice_sset_free(&lfile);
    ak__ice_sset_free(&clist);
    ak__ice_sset_free(&cman);
    ak__ice_sset_free(&cfile);
    return rc;
}

/* End (exclusive, µs) of the time range a partition value covers. */
static int64_t part_end_us(ak_ice_tr_t tr, ak_itype_t src, const ak_val_t *v)
{
    int64_t x = v->i;
    switch (tr) {
    case AK_TR_DAY: return (x + 1) * AK_US_PER_DAY;
    case AK_TR_HOUR: return (x + 1) * AK_US_PER_HOUR;
    case AK_TR_MONTH: {
        int64_t m = x + 1;
        return ak_days_from_civil(1970 + ak_floordiv(m, 12), (unsigned)(m - ak_floordiv(m, 12) * 12 + 1), 1) *
               AK_US_PER_DAY;
    }
    case AK_TR_YEAR: return ak_days_from_civil(1970 + x + 1, 1, 1) * AK_US_PER_DAY;
    default: return src == AK_IT_DATE ? (x + 1) * AK_US_PER_DAY : x + 1;
    }
}

int ak_ice_time_partition(const ak_ice_table_t *t, int col)
{
    if (col < 0 || col >= t->ncols)
        return -1;
    for (int i = 0; i < t->npf; i++) {
        if (t->pf[i].src != t->colmap[col])
            continue;
        ak_itype_t src = t->fields[t->pf[i].src].type;
        if (t->pf[i].tr != AK_TR_IDENTITY || src == AK_IT_DATE || src == AK_IT_TIMESTAMP || src == AK_IT_TIMESTAMPTZ)
            return i;
    }
    return -1;
}

bool ak_ice_partition_before(const ak_ice_table_t *t, int pf, const ak_val_t *part, int64_t horizon_us)
{
    if (pf < 0 || pf >= t->npf || part[pf].type == AK_NULL)
        return false;
    return part_end_us(t->pf[pf].tr, t->fields[t->pf[pf].src].type, &part[pf]) <= horizon_us;
}

int ak_ice_drop_before(ak_ice_table_t *t, int64_t horizon_us, ak_ice_stats_t *st, ak_err_t *err)
{
    ak_ice_stats_t local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    st->snapshot_id = -1;
    int tp = -1;
    for (int i = 0; i < t->ncols && tp < 0; i++)
        tp = ak_ice_time_partition(t, i);
    for (int i = 0; i < t->npf && tp < 0; i++) {
        ak_itype_t src = t->fields[t->pf[i].src].type;
        if (t->pf[i].tr != AK_TR_IDENTITY || src == AK_IT_DATE || src == AK_IT_TIMESTAMP || src == AK_IT_TIMESTAMPTZ)
            tp = i;
    }
    if (tp < 0)
        return ak_errf(err, AK_E_USAGE, "table %s.%s has no date or timestamp partition: retention by dropping "
                                        "partitions needs one in partition_key", t->ns, t->name);
    if (t->current < 0)
        return 0;
    ak_ice_scan_t *sc;
    if (ak_ice_scan(t, -1, &sc, err))
        return -1;
    size_t n = ak_ice_scan_count(sc), nrm = 0;
    const char **rm = ak_calloc(n + 1, sizeof *rm);
    if (!rm) {
        ak_ice_scan_free(sc);
        return ak_err_nomem(err);
    }
    for (size_t i = 0; i < n; i++) {
        const ak_ice_live_t *l = ak_ice_scan_file(sc, i);
        if (ak_ice_partition_before(t, tp, l->f.partition, horizon_us))
            rm[nrm++] = l->uri;
    }
    int rc = 0;
    if (nrm) {
        ak_ice_commit_t c = {.op = AK_ICE_OP_DELETE, .remove = rm, .n_remove = nrm};
        rc = ak_ice_commit(t, &c, st, err);
    }
    ak_free(rm);
    ak_ice_scan_free(sc);
    return rc;
}

/* ---- orphans ---- */

typedef struct orphans {
    const ak_ice_table_t *t;
    const ak_ice_sset_t *lists, *mans, *files;
    int64_t older_than_ms, deleted;
    int depth;
} orphans_t;

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && memcmp(s + n - k, suf, k) == 0;
}

/* Walks a folder of the table (bounded depth: partition folders nest one
 * level per partition field), deleting unreferenced Parquet and Avro files. */
static void orphan_walk(orphans_t *o, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    char path[AK_ICE_MAX_PATH + 256], uri[AK_ICE_MAX_PATH + 264];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        int n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (n < 0 || (size_t)n >= sizeof path || lstat(path, &sb))
            continue;
        if (S_ISDIR(sb.st_mode)) {
            if (o->depth < AK_ICE_MAX_FIELDS) {
                o->depth++;
                orphan_walk(o, path);
                o->depth--;
            }
            continue;
        }
        bool pq = has_suffix(de->d_name, ".parquet"), av = has_suffix(de->d_name, ".avro");
        if (!S_ISREG(sb.st_mode) || (!pq && !av))
            continue;
        int64_t mtime_ms = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
        if (mtime_ms >= o->older_than_ms)
            continue;
        snprintf(uri, sizeof uri, "file://%s", path);
        if (ak__ice_sset_has(o->files, uri) || ak__ice_sset_has(o->lists, uri) || ak__ice_sset_has(o->mans, uri))
            continue;
        if (unlink(path) == 0)
            o->deleted++;
    }
    closedir(d);
}

int ak_ice_remove_orphans(ak_ice_table_t *t, int64_t older_than_ms, ak_ice_stats_t *st, ak_err_t *err)
{
    ak_ice_stats_t local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    st->snapshot_id = t->current;
    ak_ice_sset_t lists = {0}, mans = {0}, files = {0};
    int rc = 0;
    /* a snapshot whose files cannot be read keeps everything: nothing is
     * known to be unreferenced then */
    for (size_t i = 0; i < t->nsnaps && rc == 0; i++)
        rc = collect(t, &t->snaps[i], &lists, &mans, &files, false, false, err);
    if (rc == 0) {
        char dir[AK_ICE_MAX_PATH + 16];
        orphans_t o = {t, &lists, &mans, &files, older_than_ms, 0, 0};
        snprintf(dir, sizeof dir, "%s/data", t->dir);
        orphan_walk(&o, dir);
        snprintf(dir, sizeof dir, "%s/metadata", t->dir);
        orphan_walk(&o, dir);
        st->files_deleted = o.deleted;
    }
    ak__ice_sset_free(&lists);
    ak__ice_sset_free(&mans);
    ak__ice_sset_free(&files);
    return rc;
}
