/* ak_restore.c - a product's serving table rebuilt from its lake table.
 *
 * The lake snapshot of a publish carries the mark the serving table records
 * with it (commit number, version, input positions, log lengths), so a
 * serving table written from the snapshot is, to the next run, that publish
 * itself: the restart logic (ak_state.c) then uses a checkpoint at or
 * before its commit, or rebuilds the state from the input logs.
 */
#include "ak_engine_int.h"

#include "ak_alloc.h"
#include "ak_iceberg.h"
#include "ak_lake_sink.h"
#include "ak_time.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The snapshot to restore and the index of the newest one at or before it
 * that carries a commit number (-1: none).  akili's tables are linear, so
 * the snapshot list (oldest first) is the ancestry. */
static int pick(const ak_ice_table_t *t, int64_t want, int64_t *id, long *marked, ak_err_t *err)
{
    size_t n = ak_ice_snapshot_count(t);
    long at = -1;
    for (size_t i = 0; i < n; i++)
        if (ak_ice_snapshot_id(t, i) == (want < 0 ? ak_ice_current_snapshot(t) : want))
            at = (long)i;
    if (at < 0)
        return want < 0 ? ak_errf(err, AK_E_NOTFOUND, "the lake table has no snapshot yet: nothing to restore")
                        : ak_errf(err, AK_E_NOTFOUND, "the lake table has no snapshot %lld (expired?); `akili lake "
                                                      "snapshots` lists them", (long long)want);
    *id = ak_ice_snapshot_id(t, (size_t)at);
    *marked = -1;
    for (long i = at; i >= 0 && *marked < 0; i--)
        if (ak_ice_snapshot_prop(t, ak_ice_snapshot_id(t, (size_t)i), AK_LAKE_SEQ_PROP))
            *marked = i;
    return 0;
}

int ak_engine_lake_restore(ak_catalog_t *cat, const char *product, int64_t snapshot_id, bool force,
                           ak_restore_report_t *rep, ak_err_t *err)
{
    memset(rep, 0, sizeof *rep);
    rep->previous = -1;
    int64_t t0 = ak_mono_us();
    ak_manifest_t *m = NULL;
    char *version = NULL, *vcopy = NULL, *icopy = NULL, *lcopy = NULL;
    ak_ice_table_t *t = NULL;
    ak_lake_loc_t loc = {0};
    ak_store_t *store = NULL;
    ak_store_tx_t *tx = NULL;
    ak_rel_t *rows = NULL;
    ak_store_table_t info = {0};
    int lockfd = -1, rc = -1;
    if (ak_engine_manifest(cat, product, &m, &version, err))
        goto done;
    if (m->output.format != AK_OUTPUT_ICEBERG) {
        ak_errf(err, AK_E_USAGE, "product `%s` does not publish to the lake (its output.format is not iceberg)",
                product);
        goto done;
    }
    if (ak__product_lock(cat, product, &lockfd, err))
        goto done;
    const char *ns = m->product.namespace, *name = m->product.name;
    if (ak_lake_locate(&m->output, ak_catalog_home(cat), ns, name, &loc, err) || ak_lake_open(&loc, &t, err))
        goto done;
    long mk = -1;
    if (pick(t, snapshot_id, &rep->snapshot_id, &mk, err)) {
        ak_err_prefix(err, "lake table %s", ak_ice_dir(t));
        goto done;
    }
    /* the mark, copied: the handle's strings last until its next change */
    if (mk >= 0) {
        int64_t mid = ak_ice_snapshot_id(t, (size_t)mk);
        const char *c = ak_ice_snapshot_prop(t, mid, AK_LAKE_SEQ_PROP);
        const char *v = ak_ice_snapshot_prop(t, mid, AK_LAKE_VERSION_PROP);
        const char *in = ak_ice_snapshot_prop(t, mid, AK_LAKE_INPUTS_PROP);
        const char *lg = ak_ice_snapshot_prop(t, mid, AK_LAKE_LOGS_PROP);
        rep->commit = strtoll(c, NULL, 10);
        rep->marked = rep->commit > 0;
        if ((v && !(vcopy = ak_strdup(v))) || (in && !(icopy = ak_strdup(in))) || (lg && !(lcopy = ak_strdup(lg)))) {
            ak_err_nomem(err);
            goto done;
        }
    }
    if (ak_lake_read(&loc, rep->snapshot_id, 0, NULL, NULL, &rows, err))
        goto done;
    if (ak_store_open(ak_catalog_home(cat), ns, &store, err))
        goto done;
    int have = ak_store_info(store, name, &info, err);
    if (have < 0)
        goto done;
    if (have == 0) {
        rep->previous = info.commit_seq;
        if (!force && info.commit_seq > rep->commit) {
            ak_errf(err, AK_E_STATE,
                    "the serving table %s.%s is at commit %lld, newer than the lake snapshot's (%lld): restoring would "
                    "roll published rows back; add --force to do it anyway",
                    ns, name, (long long)info.commit_seq, (long long)rep->commit);
            goto done;
        }
    }
    ak_store_index_t idx[16];
    int nidx = ak__serving_indexes(m, (const char *const *)rows->names, rows->ncols, idx, 16);
    if (ak_store_begin(store, name, rows->ncols, (const char *const *)rows->names, rows->types, idx, nidx, true, &tx,
                       err))
        goto done;
    for (size_t i = 0; i < rows->nrows; i++) {
        int64_t rowid;
        if (ak_store_tx_insert(tx, ak_rel_row(rows, i), &rowid, err))
            goto done;
    }
    rep->rows = (int64_t)rows->nrows;
    /* without a mark the table has no commit number: the next run rebuilds
     * its state from the logs and replaces the table whole */
    if (rep->marked && ak_store_tx_mark(tx, rep->commit, lcopy, err))
        goto done;
    ak_store_tx_t *ctx = tx;
    tx = NULL;
    if (ak_store_tx_commit(ctx, vcopy ? vcopy : version, 0, rep->rows, icopy, err))
        goto done;
    rc = 0;
done:
    if (tx)
        ak_store_tx_abort(tx);
    ak_store_info_free(&info);
    ak_store_close(store);
    ak_rel_free(rows);
    ak_ice_close(t);
    if (lockfd >= 0)
        close(lockfd);
    ak_manifest_free(m);
    ak_free(version);
    ak_lake_loc_free(&loc);
    ak_free(vcopy);
    ak_free(icopy);
    ak_free(lcopy);
    rep->us = ak_mono_us() - t0;
    return rc;
}
