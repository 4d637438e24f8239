/* ak_lake_read.c - the rows of an Iceberg table: live data files minus the
 * rows that equality deletes of later sequence numbers match. */
#include "ak_lake_int.h"
#include "ak_lake_sink.h"

#include "ak_alloc.h"
#include "ak_arena.h"
#include "ak_delta.h"
#include "ak_hidx.h"
#include "ak_iceberg.h"
#include "ak_parquet.h"

#include <string.h>

typedef struct delrow {
    const ak_val_t *row;
    int64_t seq;                  /* the newest delete's data sequence number */
} delrow_t;

/* The deleted row equal to `row` (one entry per distinct row), or NULL. */
static delrow_t *find_del(const ak_hidx_t *dh, delrow_t *dels, const ak_val_t *row, int ncols, uint64_t h)
{
    for (size_t k = ak_hidx_first(dh, h); ak_hidx_more(dh, k); k = ak_hidx_next(dh, k))
        if (dh->h[k] == h && dh->v[k] != AK_HIDX_DEAD && ak_row_eq(dels[dh->v[k]].row, row, ncols))
            return &dels[dh->v[k]];
    return NULL;
}

typedef struct rctx {
    int ncols;
    const char *const *names;
    const ak_type_t *types;
    ak_val_t *row;                /* a file row mapped to the columns */
    int *map;                     /* file column -> our column (-1: unused) */
    ak_val_t *frow;
} rctx_t;

/* Opens a Parquet file and maps its columns to ours by name. */
static int open_file(rctx_t *c, const char *path, ak_pq_file_t **f, ak_err_t *err)
{
    if (ak_pq_open(path, f, err))
        return -1;
    int n = ak_pq_ncols(*f);
    const ak_pq_col_t *pc = ak_pq_cols(*f);
    ak_free(c->map);
    ak_free(c->frow);
    c->map = ak_calloc((size_t)n + 1, sizeof *c->map);
    c->frow = ak_calloc((size_t)n + 1, sizeof *c->frow);
    if (!c->map || !c->frow)
        return ak_err_nomem(err);
    for (int i = 0; i < n; i++) {
        c->map[i] = -1;
        for (int k = 0; k < c->ncols; k++)
            if (strcmp(pc[i].name, c->names[k]) == 0)
                c->map[i] = k;
    }
    return 0;
}

/* The next row of f as our columns (NULL where the file has none). */
static int next_row(rctx_t *c, ak_pq_file_t *f, bool *eof, ak_err_t *err)
{
    if (ak_pq_next_row(f, c->frow, eof, err) || *eof)
        return *eof ? 0 : -1;
    for (int k = 0; k < c->ncols; k++)
        c->row[k] = ak_v_null();
    for (int i = 0; i < ak_pq_ncols(f); i++)
        if (c->map[i] >= 0)
            c->row[c->map[i]] = c->frow[i];
    return 0;
}

static int copy_row(ak_arena_t *a, ak_val_t *dst, const ak_val_t *src, int n)
{
    memcpy(dst, src, sizeof *dst * (size_t)n);
    for (int k = 0; k < n; k++)
        if (src[k].type == AK_TEXT && src[k].n && !(dst[k].s = ak_arena_strndup(a, src[k].s, src[k].n)))
            return -1;
    return 0;
}

int ak__lake_read_files(const ak_ice_live_t *const *files, size_t nf, ak_rel_t *r, ak_err_t *err)
{
    int ncols = r->ncols;
    ak_pq_file_t *f = NULL;
    ak_arena_t ar;
    ak_arena_init(&ar, 64 * 1024);
    ak_hidx_t dh = {0};
    delrow_t *dels = NULL;
    size_t ndel = 0, cap_del = 0;
    rctx_t c = {ncols, (const char *const *)r->names, r->types, NULL, NULL, NULL};
    int rc = -1;
    if (!(c.row = ak_calloc((size_t)ncols + 1, sizeof *c.row)))
        goto nomem;
    /* equality deletes first (on every column: what the lake sink writes) */
    for (size_t i = 0; i < nf; i++) {
        const ak_ice_live_t *lf = files[i];
        if (lf->f.content != AK_ICE_EQ_DELETES)
            continue;
        if (open_file(&c, lf->f.path, &f, err))
            goto done;
        for (;;) {
            bool eof;
            if (next_row(&c, f, &eof, err))
                goto done;
            if (eof)
                break;
            uint64_t h = ak_row_hash(c.row, ncols);
            delrow_t *d = find_del(&dh, dels, c.row, ncols, h);
            if (d) {
                if (lf->seq > d->seq)
                    d->seq = lf->seq;
                continue;
            }
            ak_val_t *cp = ak_arena_alloc(&ar, sizeof *cp * (size_t)ncols + 1);
            if (!cp || copy_row(&ar, cp, c.row, ncols) || AK_GROW(dels, cap_del, ndel + 1) ||
                ak_hidx_insert(&dh, h, (uint32_t)ndel))
                goto nomem;
            dels[ndel++] = (delrow_t){cp, lf->seq};
        }
        ak_pq_close(f);
        f = NULL;
    }
    for (size_t i = 0; i < nf; i++) {
        const ak_ice_live_t *lf = files[i];
        if (lf->f.content == AK_ICE_POS_DELETES) {
            ak_errf(err, AK_E_UNSUPPORTED, "%s is a position delete file, which this reader does not apply",
                    lf->f.path);
            goto done;
        }
        if (lf->f.content != AK_ICE_DATA)
            continue;
        if (open_file(&c, lf->f.path, &f, err))
            goto done;
        for (;;) {
            bool eof;
            if (next_row(&c, f, &eof, err))
                goto done;
            if (eof)
                break;
            const delrow_t *d = ndel ? find_del(&dh, dels, c.row, ncols, ak_row_hash(c.row, ncols)) : NULL;
            if (d && d->seq > lf->seq)
                continue; /* deleted by a later snapshot's equality delete */
            ak_val_t *o = ak_rel_push_n(r, 1);
            if (!o || copy_row(&r->arena, o, c.row, ncols))
                goto nomem;
        }
        ak_pq_close(f);
        f = NULL;
    }
    rc = 0;
    goto done;
nomem:
    ak_err_nomem(err);
done:
    ak_pq_close(f);
    ak_hidx_free(&dh);
    ak_free(dels);
    ak_arena_free(&ar);
    ak_free(c.row);
    ak_free(c.map);
    ak_free(c.frow);
    return rc;
}

int ak_lake_open(const ak_lake_loc_t *loc, ak_ice_table_t **out, ak_err_t *err)
{
    ak_ice_opts_t io = {.warehouse = loc->warehouse,
                        .ns = loc->ns,
                        .name = loc->name,
                        .catalog_db = loc->catalog_db,
                        .catalog_name = loc->catalog_name};
    if (ak_ice_open(&io, out, err))
        return ak_err_prefix(err, "lake table %s.%s", loc->ns, loc->name);
    return 0;
}

int ak_lake_read(const ak_lake_loc_t *loc, int64_t snapshot_id, int ncols, const char *const *names,
                 const ak_type_t *types, ak_rel_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_ice_table_t *t;
    if (ak_lake_open(loc, &t, err))
        return -1;
    int rc = ak__lake_read_table(t, snapshot_id, ncols, names, types, out, err);
    ak_ice_close(t);
    return rc;
}

int ak__lake_read_table(ak_ice_table_t *t, int64_t snapshot_id, int ncols, const char *const *names,
                        const ak_type_t *types, ak_rel_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_ice_scan_t *s = NULL;
    ak_rel_t *r = NULL;
    const char **tn = NULL;
    ak_type_t *tt = NULL;
    const ak_ice_live_t **files = NULL;
    int rc = -1;
    const char *dir = ak_ice_dir(t);
    if (snapshot_id >= 0 && ak_ice_current_snapshot(t) >= 0) {
        bool found = false;
        for (size_t i = 0; i < ak_ice_snapshot_count(t); i++)
            found |= ak_ice_snapshot_id(t, i) == snapshot_id;
        if (!found) {
            ak_errf(err, AK_E_NOTFOUND, "lake table %s has no snapshot %lld", dir, (long long)snapshot_id);
            goto done;
        }
    }
    if (ak_ice_scan(t, snapshot_id, &s, err))
        goto done;
    if (!names) {
        /* the table's own columns */
        ncols = ak_ice_ncolumns(t);
        if (!(tn = ak_calloc((size_t)ncols + 1, sizeof *tn)) || !(tt = ak_calloc((size_t)ncols + 1, sizeof *tt)))
            goto nomem;
        for (int i = 0; i < ncols; i++) {
            tn[i] = ak_ice_column_name(t, i);
            if ((tt[i] = ak_ice_column_type(t, i)) == AK_TYPE__COUNT) {
                ak_errf(err, AK_E_UNSUPPORTED, "lake table %s: column `%s` has a type akili does not read", dir,
                        tn[i]);
                goto done;
            }
        }
        names = tn;
        types = tt;
    }
    size_t nf = ak_ice_scan_count(s);
    if (!(r = ak_rel_new(ncols, names, types)) || !(files = ak_calloc(nf + 1, sizeof *files)))
        goto nomem;
    for (size_t i = 0; i < nf; i++)
        files[i] = ak_ice_scan_file(s, i);
    if (ak__lake_read_files(files, nf, r, err)) {
        ak_err_prefix(err, "lake table %s", dir);
        goto done;
    }
    *out = r;
    r = NULL;
    rc = 0;
    goto done;
nomem:
    ak_err_nomem(err);
done:
    ak_free(files);
    ak_rel_free(r);
    ak_ice_scan_free(s);
    ak_free(tn);
    ak_free(tt);
    return rc;
}
