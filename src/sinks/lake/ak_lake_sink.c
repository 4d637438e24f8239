/* ak_lake_sink.c - publishing changes as Iceberg snapshots of Parquet data
 * and equality-delete files. */
#include "ak_lake_int.h"
#include "ak_lake_sink.h"

#include "ak_alloc.h"
#include "ak_arena.h"
#include "ak_buf.h"
#include "ak_delta.h"
#include "ak_hidx.h"
#include "ak_iceberg.h"
#include "ak_log.h"
#include "ak_time.h"
#include "ak_io.h"
#include "ak_parquet.h"
#include "ak_record.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void free_cols(ak_lake_sink_t *l)
{
    for (int i = 0; l->names && i < l->ncols; i++)
        ak_free(l->names[i]);
    ak_free(l->names);
    ak_free(l->types);
    ak_free(l->pcols);
    ak_free(l->ids);
    ak_free(l->pv);
    ak_free(l->conv);
    ak_free(l->sort_cols);
}

int ak_lake_sink_open(const ak_lake_sink_opts_t *o, ak_lake_sink_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_lake_sink_t *l = ak_calloc(1, sizeof *l);
    if (!l)
        return ak_err_nomem(err);
    ak_arena_init(&l->ar, 16 * 1024);
    l->ncols = o->ncols;
    l->tpart = -1;
    l->horizon = l->dropped_to = INT64_MIN;
    l->codec = o->codec;
    l->maint = o->maint;
    ak_schema_t sc = {0};
    int rc = -1;
    l->names = ak_calloc((size_t)o->ncols + 1, sizeof *l->names);
    l->types = ak_calloc((size_t)o->ncols + 1, sizeof *l->types);
    l->pcols = ak_calloc((size_t)o->ncols + 1, sizeof *l->pcols);
    l->ids = ak_calloc((size_t)o->ncols + 1, sizeof *l->ids);
    l->conv = ak_calloc((size_t)o->ncols + 1, sizeof *l->conv);
    l->sort_cols = ak_calloc(o->n_sort_key + 1, sizeof *l->sort_cols);
    if (!l->names || !l->types || !l->pcols || !l->ids || !l->conv || !l->sort_cols)
        goto nomem;
    for (int i = 0; i < o->ncols; i++) {
        if (!(l->names[i] = ak_strdup(o->names[i])))
            goto nomem;
        l->types[i] = o->types[i];
        if (ak_schema_add(&sc, o->names[i], o->types[i], false, false))
            goto nomem;
    }
    const ak_lake_loc_t *lc = o->loc;
    ak_ice_opts_t io = {.warehouse = lc->warehouse,
                        .ns = lc->ns,
                        .name = lc->name,
                        .catalog_db = lc->catalog_db,
                        .catalog_name = lc->catalog_name,
                        .schema = &sc,
                        .partition_key = o->partition_key,
                        .n_partition_key = o->n_partition_key,
                        .sort_key = o->sort_key,
                        .n_sort_key = o->n_sort_key};
    if (ak_ice_open(&io, &l->t, err)) {
        ak_err_prefix(err, "lake table %s.%s", lc->ns, lc->name);
        goto done;
    }
    l->npart = ak_ice_npartition(l->t);
    if (!(l->pv = ak_calloc((size_t)l->npart + 1, sizeof *l->pv)))
        goto nomem;
    for (int i = 0; i < o->ncols; i++) {
        l->ids[i] = ak_ice_field_id(l->t, i);
        l->pcols[i] = (ak_pq_col_t){l->names[i], o->types[i], false, l->ids[i]};
        if (o->retention_column && strcmp(o->retention_column, o->names[i]) == 0)
            l->tpart = ak_ice_time_partition(l->t, i);
        for (size_t k = 0; k < o->n_sort_key; k++)
            if (strcmp(o->sort_key[k], o->names[i]) == 0) {
                l->sort_cols[k] = i;
                l->nsort++;
            }
    }
    if ((size_t)l->nsort != o->n_sort_key)
        l->nsort = 0; /* (the table layer refused an unknown column already) */
    /* the product's run holds its lock: no other writer has files in flight */
    ak_ice_stats_t st;
    ak_err_t oe;
    if (ak_ice_remove_orphans(l->t, ak_wall_us() / 1000, &st, &oe))
        ak_log_warn("lake", "%s: looking for files a crash left: %s", ak_ice_dir(l->t), oe.msg);
    else if (st.files_deleted)
        ak_log_info("lake", "%s: removed %lld files no snapshot refers to (left by an interrupted write)",
                    ak_ice_dir(l->t), (long long)st.files_deleted);
    rc = 0;
    goto done;
nomem:
    ak_err_nomem(err);
done:
    ak_schema_free(&sc);
    if (rc) {
        ak_lake_sink_free(l);
        return -1;
    }
    *out = l;
    return 0;
}

void ak_lake_sink_free(ak_lake_sink_t *l)
{
    if (!l)
        return;
    ak_lake_sink_abort(l);
    ak_ice_close(l->t);
    free_cols(l);
    ak_arena_free(&l->ar);
    ak_free(l);
}

const char *ak_lake_sink_dir(const ak_lake_sink_t *l) { return ak_ice_dir(l->t); }

/* A configured path: a file:// URI (or jdbc:sqlite:file:...) as a path. */
static char *path_of(const char *configured)
{
    if (strncmp(configured, "jdbc:sqlite:", 12) == 0) {
        configured += 12;
        if (strncmp(configured, "file:", 5) == 0 && strncmp(configured, "file://", 7) != 0)
            configured += 5;
    }
    if (strncmp(configured, "file://", 7) == 0)
        configured += 7;
    size_t n = strcspn(configured, "?"); /* JDBC URI parameters */
    char *p = ak_malloc(n + 1);
    if (p) {
        memcpy(p, configured, n);
        p[n] = '\0';
    }
    return p;
}

static char *joined(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = ak_malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

int ak_lake_locate(const ak_output_t *o, const char *home, const char *ns, const char *name, ak_lake_loc_t *out,
                   ak_err_t *err)
{
    memset(out, 0, sizeof *out);
    out->warehouse = o->warehouse ? path_of(o->warehouse) : joined(home, "lake");
    out->ns = ak_strdup(ns);
    out->name = ak_strdup(name);
    bool ok = out->warehouse && out->ns && out->name;
    if (ok && o->lake.sqlite_catalog) {
        out->catalog_db = o->lake.catalog_db ? path_of(o->lake.catalog_db) : joined(out->warehouse, "catalog.db");
        out->catalog_name = ak_strdup(o->lake.catalog_name ? o->lake.catalog_name : "akili");
        ok = out->catalog_db && out->catalog_name;
        if (ok && !*out->catalog_db) {
            ak_lake_loc_free(out);
            return ak_errf(err, AK_E_USAGE, "output.lake.catalog_db `%s` names no file", o->lake.catalog_db);
        }
    }
    if (!ok) {
        ak_lake_loc_free(out);
        return ak_err_nomem(err);
    }
    return 0;
}

void ak_lake_loc_free(ak_lake_loc_t *l)
{
    ak_free(l->warehouse);
    ak_free(l->catalog_db);
    ak_free(l->catalog_name);
    ak_free(l->ns);
    ak_free(l->name);
    memset(l, 0, sizeof *l);
}

int64_t ak_lake_sink_commit(const ak_lake_sink_t *l)
{
    /* the newest snapshot that has one (maintenance snapshots carry none) */
    for (size_t i = ak_ice_snapshot_count(l->t); i-- > 0;) {
        const char *v = ak_ice_snapshot_prop(l->t, ak_ice_snapshot_id(l->t, i), AK_LAKE_SEQ_PROP);
        if (v)
            return strtoll(v, NULL, 10);
    }
    return 0;
}

/* ---- one snapshot ---- */

void ak_lake_sink_abort(ak_lake_sink_t *l)
{
    for (size_t i = 0; i < l->nfiles; i++) {
        if (l->files[i].w)
            ak_pq_writer_abort(l->files[i].w);
        else if (l->files[i].rel) {
            /* finished but not committed: nothing refers to it */
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", ak_ice_dir(l->t), l->files[i].rel);
            unlink(path);
        }
        ak_pq_stats_free(&l->files[i].st);
        ak_free(l->files[i].rel);
    }
    ak_free(l->files);
    l->files = NULL;
    l->nfiles = l->cap_files = 0;
    ak_hidx_free(&l->byp);
    ak_arena_reset(&l->ar);
    l->open = false;
}

int ak_lake_sink_begin(ak_lake_sink_t *l, bool replace, ak_err_t *err)
{
    ak_lake_sink_abort(l);
    l->open = true;
    l->replace = replace;
    l->inserted = l->deleted = l->skipped = 0;
    l->horizon = INT64_MIN;
    (void)err;
    return 0;
}

/* The row with values of the column types (the flow may give an INT to a
 * DOUBLE column). */
static const ak_val_t *conform(ak_lake_sink_t *l, const ak_val_t *row)
{
    for (int i = 0; i < l->ncols; i++) {
        ak_val_t v = row[i];
        if (v.type == AK_INT && (l->types[i] == AK_DOUBLE))
            v = ak_v_double((double)v.i);
        else if (v.type == AK_INT && l->types[i] == AK_FLOAT)
            v = ak_v_float((double)v.i);
        else if ((v.type == AK_DOUBLE || v.type == AK_FLOAT) && l->types[i] == AK_FLOAT)
            v = ak_v_float(v.d);
        else if (v.type == AK_FLOAT && l->types[i] == AK_DOUBLE)
            v.type = AK_DOUBLE;
        l->conv[i] = v;
    }
    return l->conv;
}

int ak__lake_make_parent(const char *path, ak_err_t *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s", path);
    char *last = strrchr(tmp, '/');
    if (!last)
        return 0;
    *last = 0;
    for (char *p = tmp + 1;; p++) {
        bool end = *p == 0;
        if (*p == '/' || end) {
            *p = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST)
                return ak_errf(err, AK_E_IO, "cannot create folder %s: %s", tmp, strerror(errno));
            if (end)
                return 0;
            *p = '/';
        }
    }
}

static int file_for(ak_lake_sink_t *l, bool del, const ak_val_t *row, lfile_t **out, ak_err_t *err)
{
    if (ak_ice_partition_of(l->t, row, l->pv, err))
        return -1;
    uint64_t h = ak_hash_mix(del ? 0x5bd1e995u : 0x27d4eb2fu, ak_row_hash(l->pv, l->npart));
    for (size_t k = ak_hidx_first(&l->byp, h); ak_hidx_more(&l->byp, k); k = ak_hidx_next(&l->byp, k)) {
        if (l->byp.h[k] != h || l->byp.v[k] == AK_HIDX_DEAD)
            continue;
        lfile_t *f = &l->files[l->byp.v[k]];
        if (f->del == del && ak_row_eq(f->part, l->pv, l->npart)) {
            *out = f;
            return 0;
        }
    }
    if (AK_GROW(l->files, l->cap_files, l->nfiles + 1))
        return ak_err_nomem(err);
    lfile_t *f = &l->files[l->nfiles];
    memset(f, 0, sizeof *f);
    f->del = del;
    f->h = h;
    if (!(f->part = ak_arena_alloc(&l->ar, sizeof *f->part * (size_t)(l->npart + 1))))
        return ak_err_nomem(err);
    for (int i = 0; i < l->npart; i++) {
        f->part[i] = l->pv[i];
        if (l->pv[i].type == AK_TEXT && !(f->part[i].s = ak_arena_strndup(&l->ar, l->pv[i].s, l->pv[i].n)))
            return ak_err_nomem(err);
    }
    ak_buf_t rel = AK_BUF_INIT;
    if (ak_ice_data_path(l->t, f->part, &rel, err)) {
        ak_buf_free(&rel);
        return -1;
    }
    if (del) {
        /* data/<part>/<uuid>.parquet -> data/<part>/del-<uuid>.parquet */
        const char *slash = strrchr(rel.data, '/');
        ak_buf_t d = AK_BUF_INIT;
        ak_buf_put(&d, rel.data, (size_t)(slash + 1 - rel.data));
        ak_buf_printf(&d, "del-%s", slash + 1);
        ak_buf_free(&rel);
        rel = d;
    }
    if (rel.oom || !rel.data || !(f->rel = ak_strdup(rel.data))) {
        ak_buf_free(&rel);
        return ak_err_nomem(err);
    }
    ak_buf_free(&rel);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", ak_ice_dir(l->t), f->rel);
    ak_pq_opts_t po = {.codec = (ak_pq_codec_t)l->codec};
    l->nfiles++;
    if (ak__lake_make_parent(path, err) || ak_pq_writer_open(path, l->pcols, l->ncols, &po, &f->w, err))
        return ak_err_prefix(err, "lake table %s", ak_ice_dir(l->t));
    if (ak_hidx_insert(&l->byp, h, (uint32_t)(l->nfiles - 1)))
        return ak_err_nomem(err);
    *out = f;
    return 0;
}

void ak_lake_sink_horizon(ak_lake_sink_t *l, int64_t horizon_us) { l->horizon = horizon_us; }

int ak_lake_sink_put(ak_lake_sink_t *l, const ak_val_t *row, int64_t w, ak_err_t *err)
{
    if (!l->open)
        return ak_errf(err, AK_E_INTERNAL, "lake sink: a row outside a snapshot");
    if (w == 0)
        return 0;
    const ak_val_t *r = conform(l, row);
    if (w < 0 && l->tpart >= 0 && l->horizon != INT64_MIN && !l->replace) {
        if (ak_ice_partition_of(l->t, r, l->pv, err))
            return -1;
        if (ak_ice_partition_before(l->t, l->tpart, l->pv, l->horizon)) {
            l->skipped++; /* its partition's files leave in finish */
            return 0;
        }
    }
    lfile_t *f;
    if (file_for(l, w < 0, r, &f, err))
        return -1;
    /* a delete matches every copy: written once */
    for (int64_t c = w < 0 ? 1 : w; c > 0; c--) {
        if (ak_pq_write_row(f->w, r, err))
            return ak_err_prefix(err, "lake table %s", ak_ice_dir(l->t));
        f->rows++;
    }
    if (w < 0)
        l->deleted++;
    else
        l->inserted += w;
    return 0;
}

int ak_lake_sink_finish(ak_lake_sink_t *l, const ak_lake_mark_t *m, ak_lake_report_t *rep, ak_err_t *err)
{
    memset(rep, 0, sizeof *rep);
    rep->snapshot_id = -1;
    if (!l->open)
        return ak_errf(err, AK_E_INTERNAL, "lake sink: no snapshot begun");
    int rc = -1;
    ak_ice_file_t *add = ak_calloc(l->nfiles + 1, sizeof *add);
    ak_ice_colstat_t *cs = ak_calloc(l->nfiles * (size_t)l->ncols + 1, sizeof *cs);
    const char **rm = NULL;
    ak_ice_scan_t *live = NULL;
    bool has_del = false;
    if (!add || !cs) {
        ak_err_nomem(err);
        goto done;
    }
    for (size_t i = 0; i < l->nfiles; i++) {
        lfile_t *f = &l->files[i];
        ak_pq_writer_t *w = f->w;
        f->w = NULL;
        if (ak_pq_writer_finish(w, &f->st, err)) {
            ak_err_prefix(err, "lake table %s", ak_ice_dir(l->t));
            goto done;
        }
        ak_ice_colstat_t *c = cs + i * (size_t)l->ncols;
        for (int k = 0; k < l->ncols && k < f->st.ncols; k++) {
            const ak_pq_colstat_t *p = &f->st.cols[k];
            c[k] = (ak_ice_colstat_t){p->field_id, p->values, p->nulls, p->bytes, p->has_bounds, p->min, p->max};
        }
        add[i] = (ak_ice_file_t){.content = f->del ? AK_ICE_EQ_DELETES : AK_ICE_DATA,
                                 .path = f->rel,
                                 .rows = f->st.rows,
                                 .bytes = f->st.file_bytes,
                                 .partition = f->part,
                                 .ncols = f->st.ncols < l->ncols ? f->st.ncols : l->ncols,
                                 .cols = c,
                                 .equality_ids = f->del ? l->ids : NULL,
                                 .n_equality = f->del ? l->ncols : 0};
        has_del |= f->del;
        rep->files++;
        rep->bytes += f->st.file_bytes;
    }
    size_t nrm = 0;
    if (l->replace) {
        if (ak_ice_scan(l->t, -1, &live, err))
            goto done;
        nrm = ak_ice_scan_count(live);
        if (!(rm = ak_calloc(nrm + 1, sizeof *rm))) {
            ak_err_nomem(err);
            goto done;
        }
        for (size_t i = 0; i < nrm; i++)
            rm[i] = ak_ice_scan_file(live, i)->f.path;
    } else if (l->tpart >= 0 && l->horizon != INT64_MIN &&
               (l->skipped || l->dropped_to == INT64_MIN || l->horizon >= l->dropped_to + AK_US_PER_HOUR)) {
        /* retention: the partitions wholly before the horizon leave whole */
        if (ak_ice_scan(l->t, -1, &live, err))
            goto done;
        size_t n = ak_ice_scan_count(live);
        if (!(rm = ak_calloc(n + 1, sizeof *rm))) {
            ak_err_nomem(err);
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            const ak_ice_live_t *f = ak_ice_scan_file(live, i);
            if (ak_ice_partition_before(l->t, l->tpart, f->f.partition, l->horizon))
                rm[nrm++] = f->f.path;
        }
        rep->dropped_files = (int64_t)nrm;
    }
    rep->expired_rows = l->skipped;
    char seq[24];
    snprintf(seq, sizeof seq, "%" PRId64, m->commit);
    const char *props[8] = {AK_LAKE_SEQ_PROP, seq};
    size_t np = 2;
    const char *opt[] = {AK_LAKE_VERSION_PROP, m->version, AK_LAKE_INPUTS_PROP, m->inputs, AK_LAKE_LOGS_PROP, m->logs};
    for (size_t i = 0; i < 6; i += 2)
        if (opt[i + 1]) {
            props[np++] = opt[i];
            props[np++] = opt[i + 1];
        }
    ak_ice_op_t op = l->nfiles == 0 && nrm ? AK_ICE_OP_DELETE
                     : has_del || nrm     ? AK_ICE_OP_OVERWRITE
                                          : AK_ICE_OP_APPEND;
    ak_ice_commit_t cm = {.op = op,
                          .add = add,
                          .n_add = l->nfiles,
                          .remove = rm,
                          .n_remove = nrm,
                          .props = props,
                          .n_props = np / 2};
    /* the files are durable; the snapshot is not yet */
    ak_io_crash_point("lake-commit");
    ak_ice_stats_t st;
    if (ak_ice_commit(l->t, &cm, &st, err)) {
        ak_err_prefix(err, "lake table %s", ak_ice_dir(l->t));
        goto done;
    }
    rep->snapshot_id = st.snapshot_id;
    rep->inserted = l->inserted;
    rep->deleted = l->deleted;
    rep->replaced = l->replace;
    if (l->horizon != INT64_MIN && !l->replace && live)
        l->dropped_to = l->horizon;
    for (size_t i = 0; i < l->nfiles; i++) {
        ak_free(l->files[i].rel); /* committed: abort must not remove it */
        l->files[i].rel = NULL;
    }
    rc = 0;
done:
    ak_ice_scan_free(live);
    ak_free(rm);
    ak_free(add);
    ak_free(cs);
    ak_lake_sink_abort(l);
    return rc;
}

int ak_lake_sink_rows(ak_lake_sink_t *l, ak_rel_t **out, ak_err_t *err)
{
    return ak__lake_read_table(l->t, -1, l->ncols, (const char *const *)l->names, l->types, out, err);
}

int ak__lake_props(const ak_lake_sink_t *l, char **props, size_t *n, ak_err_t *err)
{
    static const char *const keys[] = {AK_LAKE_SEQ_PROP, AK_LAKE_VERSION_PROP, AK_LAKE_INPUTS_PROP, AK_LAKE_LOGS_PROP};
    *n = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = ak_ice_snapshot_prop(l->t, -1, keys[i]);
        if (!v)
            continue;
        props[2 * *n] = ak_strdup(keys[i]);
        props[2 * *n + 1] = ak_strdup(v);
        (*n)++;
        if (!props[2 * *n - 2] || !props[2 * *n - 1]) {
            ak__lake_props_free(props, *n);
            *n = 0;
            return ak_err_nomem(err);
        }
    }
    return 0;
}

void ak__lake_props_free(char **props, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++)
        ak_free(props[i]);
}
