/* ak_lake_maint.c - keeping a lake table small: compaction of the small
 * files of a partition (with its delete files applied) and snapshot
 * expiry on a schedule.
 *
 * A publish per micro-batch leaves one small data file per partition it
 * touched, and an equality-delete file per partition it changed; readers
 * then open many files and match every delete.  Compaction rewrites a
 * partition that gathered compact_files such files into one data file
 * sorted by the table's sort order: when the partition has delete files,
 * all its data files are rewritten (a delete may apply to any of them) and
 * the delete files leave with them.  The rows do not change, so the
 * `replace` snapshot carries the akili.* mark of the snapshot it follows.
 * A budget of bytes read per call bounds the publisher's pause; the next
 * publish takes the partitions left.
 */
#include "ak_lake_int.h"

#include "ak_alloc.h"
#include "ak_delta.h"
#include "ak_io.h"
#include "ak_log.h"
#include "ak_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* input read per call, at most (one partition at least): scattered changes
 * add a file to every partition they touch, so a call must be able to
 * take many partitions to keep up */
#define AK_LAKE_COMPACT_BYTES (256LL << 20)
#define AK_LAKE_KEEP_METADATA 10            /* previous metadata files kept by expiry */

/* The live files of one partition. */
typedef struct pgroup {
    const ak_val_t *part;
    size_t *idx;                  /* into the scan */
    size_t n, cap;
    int small, dels;
    int64_t bytes;
} pgroup_t;

typedef struct groups {
    pgroup_t *g;
    size_t n, cap;
    ak_hidx_t h;
} groups_t;

static void groups_free(groups_t *gs)
{
    for (size_t i = 0; i < gs->n; i++)
        ak_free(gs->g[i].idx);
    ak_free(gs->g);
    ak_hidx_free(&gs->h);
}

static int group_files(const ak_lake_sink_t *l, const ak_ice_scan_t *sc, groups_t *gs, ak_err_t *err)
{
    for (size_t i = 0; i < ak_ice_scan_count(sc); i++) {
        const ak_ice_live_t *f = ak_ice_scan_file(sc, i);
        uint64_t h = ak_row_hash(f->f.partition, l->npart);
        pgroup_t *g = NULL;
        for (size_t k = ak_hidx_first(&gs->h, h); ak_hidx_more(&gs->h, k) && !g; k = ak_hidx_next(&gs->h, k))
            if (gs->h.h[k] == h && gs->h.v[k] != AK_HIDX_DEAD &&
                ak_row_eq(gs->g[gs->h.v[k]].part, f->f.partition, l->npart))
                g = &gs->g[gs->h.v[k]];
        if (!g) {
            if (AK_GROW(gs->g, gs->cap, gs->n + 1) || ak_hidx_insert(&gs->h, h, (uint32_t)gs->n))
                return ak_err_nomem(err);
            g = &gs->g[gs->n++];
            memset(g, 0, sizeof *g);
            g->part = f->f.partition;
        }
        if (AK_GROW(g->idx, g->cap, g->n + 1))
            return ak_err_nomem(err);
        g->idx[g->n++] = i;
        if (f->f.content == AK_ICE_DATA)
            g->small += f->f.bytes < l->maint.target_file_bytes;
        else
            g->dels++;
        g->bytes += f->f.bytes;
    }
    return 0;
}

static int by_files_desc(const void *a, const void *b)
{
    const pgroup_t *x = *(pgroup_t *const *)a, *y = *(pgroup_t *const *)b;
    int nx = x->small + x->dels, ny = y->small + y->dels;
    return (nx < ny) - (nx > ny);
}

/* Row order of the table's sort order: ascending, NULLs first. */
typedef struct sortctx {
    const ak_rel_t *r;
    const int *cols;
    int n;
} sortctx_t;

static int by_sort_key(const void *a, const void *b, void *ctx)
{
    const sortctx_t *c = ctx;
    const ak_val_t *x = ak_rel_row(c->r, *(const size_t *)a), *y = ak_rel_row(c->r, *(const size_t *)b);
    for (int i = 0; i < c->n; i++) {
        const ak_val_t *u = &x[c->cols[i]], *v = &y[c->cols[i]];
        bool un = u->type == AK_NULL, vn = v->type == AK_NULL;
        int d = un || vn ? (int)vn - (int)un : ak_val_cmp(u, v);
        if (d)
            return d;
    }
    return 0;
}

/* One partition's rewrite: its rows into one new file (none if every row
 * is deleted); the files it replaces appended to rm. */
typedef struct rewrite {
    char *rel;
    ak_pq_stats_t st;
    const ak_val_t *part;
    ak_ice_colstat_t *cs;
} rewrite_t;

static int rewrite_partition(ak_lake_sink_t *l, const ak_ice_scan_t *sc, const pgroup_t *g, rewrite_t *out,
                             const char **rm, size_t *nrm, ak_lake_maint_report_t *rep, ak_err_t *err)
{
    const ak_ice_live_t **sel = ak_calloc(g->n + 1, sizeof *sel);
    ak_rel_t *r = ak_rel_new(l->ncols, (const char *const *)l->names, l->types);
    size_t *order = NULL, nsel = 0;
    ak_pq_writer_t *w = NULL;
    ak_buf_t rel = AK_BUF_INIT;
    int rc = -1;
    if (!sel || !r) {
        ak_err_nomem(err);
        goto done;
    }
    for (size_t i = 0; i < g->n; i++) {
        const ak_ice_live_t *f = ak_ice_scan_file(sc, g->idx[i]);
        /* with delete files, every data file goes (a delete may match any) */
        if (g->dels || f->f.bytes < l->maint.target_file_bytes)
            sel[nsel++] = f;
    }
    if (ak__lake_read_files(sel, nsel, r, err))
        goto done;
    out->part = g->part;
    if (r->nrows) {
        if (!(order = ak_calloc(r->nrows, sizeof *order))) {
            ak_err_nomem(err);
            goto done;
        }
        for (size_t i = 0; i < r->nrows; i++)
            order[i] = i;
        if (l->nsort) {
            sortctx_t c = {r, l->sort_cols, l->nsort};
            qsort_r(order, r->nrows, sizeof *order, by_sort_key, &c);
        }
        if (ak_ice_data_path(l->t, g->part, &rel, err))
            goto done;
        if (rel.oom || !(out->rel = ak_strdup(rel.data))) {
            ak_err_nomem(err);
            goto done;
        }
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", ak_ice_dir(l->t), out->rel);
        ak_pq_opts_t po = {.codec = (ak_pq_codec_t)l->codec};
        if (ak__lake_make_parent(path, err) || ak_pq_writer_open(path, l->pcols, l->ncols, &po, &w, err))
            goto done;
        for (size_t i = 0; i < r->nrows; i++)
            if (ak_pq_write_row(w, ak_rel_row(r, order[i]), err))
                goto done;
        ak_pq_writer_t *fw = w;
        w = NULL;
        if (ak_pq_writer_finish(fw, &out->st, err))
            goto done;
        rep->files_out++;
        rep->bytes_out += out->st.file_bytes;
    }
    for (size_t i = 0; i < nsel; i++) {
        rm[(*nrm)++] = sel[i]->f.path;
        rep->bytes_in += sel[i]->f.bytes;
    }
    rep->files_in += (int64_t)nsel;
    rep->rows += (int64_t)r->nrows;
    rep->partitions++;
    rc = 0;
done:
    if (w)
        ak_pq_writer_abort(w);
    ak_buf_free(&rel);
    ak_free(order);
    ak_free(sel);
    ak_rel_free(r);
    return rc;
}

static void rewrites_free(ak_lake_sink_t *l, rewrite_t *rw, size_t n, bool committed)
{
    for (size_t i = 0; i < n; i++) {
        if (rw[i].rel && !committed) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", ak_ice_dir(l->t), rw[i].rel);
            unlink(path);
        }
        ak_free(rw[i].rel);
        ak_free(rw[i].cs);
        ak_pq_stats_free(&rw[i].st);
    }
    ak_free(rw);
}

static int compact(ak_lake_sink_t *l, ak_lake_maint_report_t *rep, ak_err_t *err)
{
    if (ak_ice_current_snapshot(l->t) < 0)
        return 0;
    ak_ice_scan_t *sc = NULL;
    groups_t gs = {0};
    pgroup_t **cand = NULL;
    rewrite_t *rw = NULL;
    ak_ice_file_t *add = NULL;
    const char **rm = NULL;
    char *props[8];
    size_t np = 0, ncand = 0, nrw = 0, nrm = 0, nadd = 0;
    bool committed = false;
    int rc = -1;
    if (ak_ice_scan(l->t, -1, &sc, err) || group_files(l, sc, &gs, err))
        goto done;
    if (!(cand = ak_calloc(gs.n + 1, sizeof *cand)))
        goto nomem;
    for (size_t i = 0; i < gs.n; i++)
        if (gs.g[i].small + gs.g[i].dels >= l->maint.compact_files)
            cand[ncand++] = &gs.g[i];
    if (!ncand) {
        rc = 0;
        goto done;
    }
    qsort(cand, ncand, sizeof *cand, by_files_desc);
    if (!(rw = ak_calloc(ncand + 1, sizeof *rw)) || !(rm = ak_calloc(ak_ice_scan_count(sc) + 1, sizeof *rm)))
        goto nomem;
    int64_t budget = 0;
    for (size_t i = 0; i < ncand; i++) {
        if (nrw && budget + cand[i]->bytes > AK_LAKE_COMPACT_BYTES)
            break;
        budget += cand[i]->bytes;
        if (rewrite_partition(l, sc, cand[i], &rw[nrw++], rm, &nrm, rep, err))
            goto done;
    }
    if (!(add = ak_calloc(nrw + 1, sizeof *add)))
        goto nomem;
    for (size_t i = 0; i < nrw; i++) {
        if (!rw[i].rel)
            continue; /* every row was deleted: the files just leave */
        const ak_pq_stats_t *st = &rw[i].st;
        if (!(rw[i].cs = ak_calloc((size_t)st->ncols + 1, sizeof *rw[i].cs)))
            goto nomem;
        for (int k = 0; k < st->ncols; k++) {
            const ak_pq_colstat_t *p = &st->cols[k];
            rw[i].cs[k] = (ak_ice_colstat_t){p->field_id, p->values, p->nulls, p->bytes, p->has_bounds, p->min, p->max};
        }
        add[nadd++] = (ak_ice_file_t){.content = AK_ICE_DATA,
                                      .path = rw[i].rel,
                                      .rows = st->rows,
                                      .bytes = st->file_bytes,
                                      .partition = rw[i].part,
                                      .ncols = st->ncols < l->ncols ? st->ncols : l->ncols,
                                      .cols = rw[i].cs,
                                      .sorted = l->nsort > 0};
    }
    if (ak__lake_props(l, props, &np, err))
        goto done;
    ak_ice_commit_t cm = {.op = AK_ICE_OP_REPLACE,
                          .add = add,
                          .n_add = nadd,
                          .remove = rm,
                          .n_remove = nrm,
                          .props = (const char *const *)props,
                          .n_props = np};
    ak_io_crash_point("lake-compact");
    ak_ice_stats_t st;
    if (ak_ice_commit(l->t, &cm, &st, err))
        goto done;
    committed = true;
    rc = 0;
    goto done;
nomem:
    ak_err_nomem(err);
done:
    ak__lake_props_free(props, np);
    rewrites_free(l, rw, nrw, committed);
    ak_free(add);
    ak_free(rm);
    ak_free(cand);
    groups_free(&gs);
    ak_ice_scan_free(sc);
    return rc;
}

int ak_lake_sink_maintain(ak_lake_sink_t *l, int64_t now_us, ak_lake_maint_report_t *rep, ak_err_t *err)
{
    memset(rep, 0, sizeof *rep);
    const ak_lake_maint_t *m = &l->maint;
    int64_t t0 = ak_mono_us();
    if (m->compaction && m->compact_files >= 2 && compact(l, rep, err))
        return ak_err_prefix(err, "lake table %s: compaction", ak_ice_dir(l->t));
    int64_t t1 = ak_mono_us();
    rep->compact_us = t1 - t0;
    if (m->keep_snapshots > 0 && now_us - l->last_expire_us >= m->expire_every_us) {
        ak_ice_stats_t st;
        int64_t older = (now_us - m->snapshot_age_us) / 1000;
        int keep = m->keep_snapshots > INT32_MAX ? INT32_MAX : (int)m->keep_snapshots;
        if (ak_ice_expire(l->t, older, keep, AK_LAKE_KEEP_METADATA, &st, err))
            return ak_err_prefix(err, "lake table %s: expiring snapshots", ak_ice_dir(l->t));
        l->last_expire_us = now_us;
        rep->snapshots_expired = st.snapshots_expired;
        rep->files_deleted = st.files_deleted;
    }
    rep->expire_us = ak_mono_us() - t1;
    return 0;
}
