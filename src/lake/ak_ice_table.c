/* ak_ice_table.c - opening (creating or loading) a table, its partition
 * values and data paths, and reading a snapshot's live files. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ak_alloc.h"
#include "ak_ice_int.h"
#include "ak_manifest.h"
#include "ak_time.h"

static int mkdirs(const char *path, ak_err_t *err)
{
    char p[AK_ICE_MAX_PATH];
    size_t n = strlen(path);
    if (n >= sizeof p)
        return ak_errf(err, AK_E_USAGE, "path too long: %.100s...", path);
    memcpy(p, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return ak_errf(err, AK_E_IO, "cannot create directory %s: %s", p, strerror(errno));
        p[i] = c;
    }
    return 0;
}

static int check_name(const char *what, const char *s, ak_err_t *err)
{
    if (!s || !*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strchr(s, '/') || strlen(s) > 255)
        return ak_errf(err, AK_E_USAGE, "Iceberg %s `%.100s` is not a valid name (non-empty, no `/`)", what,
                       s ? s : "");
    return 0;
}

void ak_ice_close(ak_ice_table_t *t)
{
    if (!t)
        return;
    ak__ice_table_clear(t);
    ak_free(t->dir);
    ak_free(t->catalog_db);
    ak_free(t->catalog_name);
    ak_free(t->ns);
    ak_free(t->name);
    ak_free(t->meta_file);
    ak_free(t->colmap);
    ak_free(t);
}

const ak_ice_snap_t *ak__ice_find_snap(const ak_ice_table_t *t, int64_t id)
{
    for (size_t i = 0; i < t->nsnaps; i++)
        if (t->snaps[i].id == id)
            return &t->snaps[i];
    return NULL;
}

static int find_field(const ak_ice_table_t *t, const char *name)
{
    for (int i = 0; i < t->nfields; i++)
        if (strcmp(t->fields[i].name, name) == 0)
            return i;
    return -1;
}

/* The spec partition_key asks for, as (field index, transform, name). */
typedef struct {
    int src;
    ak_ice_tr_t tr;
    char name[300];
} want_pf_t;

static int want_spec(const ak_ice_table_t *t, const ak_ice_opts_t *o, want_pf_t *w, ak_err_t *err)
{
    for (size_t i = 0; i < o->n_partition_key; i++) {
        const char *k = o->partition_key[i];
        int f = find_field(t, k);
        w[i].tr = AK_TR_IDENTITY;
        if (f < 0) {
            size_t base = 0;
            ak_tunit_t u = ak_partition_derived(k, &base);
            char col[256];
            if (u != AK_TU_INVALID && base < sizeof col) {
                memcpy(col, k, base);
                col[base] = '\0';
                f = find_field(t, col);
                ak_itype_t ty = f >= 0 ? t->fields[f].type : AK_IT_NONE;
                if (ty != AK_IT_DATE && ty != AK_IT_TIMESTAMP && ty != AK_IT_TIMESTAMPTZ)
                    f = -1;
                w[i].tr = u == AK_TU_DAY ? AK_TR_DAY : u == AK_TU_HOUR ? AK_TR_HOUR
                          : u == AK_TU_MONTH ? AK_TR_MONTH : AK_TR_YEAR;
                static const char *const sfx[] = {"", "_year", "_month", "_day", "_hour"};
                snprintf(w[i].name, sizeof w[i].name, "%s%s", col, sfx[w[i].tr]);
            }
        } else {
            snprintf(w[i].name, sizeof w[i].name, "%s", k);
        }
        if (f < 0)
            return ak_errf(err, AK_E_USAGE, "partition key `%.100s` is neither a column nor `<column>_date` (or _day, "
                                            "_hour, _month, _year) of a date or timestamp column", k);
        w[i].src = f;
    }
    return 0;
}

static int create_meta(ak_ice_table_t *t, const ak_ice_opts_t *o, ak_err_t *err)
{
    const ak_schema_t *s = o->schema;
    if (s->n <= 0 || s->n > AK_ICE_MAX_FIELDS)
        return ak_errf(err, AK_E_USAGE, "an Iceberg table needs 1 to %d columns", AK_ICE_MAX_FIELDS);
    t->fields = ak_calloc((size_t)s->n, sizeof *t->fields);
    t->location = ak_malloc(strlen(t->dir) + 8);
    if (!t->fields || !t->location)
        return ak_err_nomem(err);
    sprintf(t->location, "file://%s", t->dir);
    for (int i = 0; i < s->n; i++) {
        ak_ice_field_t *f = &t->fields[i];
        f->id = i + 1;
        f->required = s->cols[i].required;
        if ((f->type = ak__ice_itype_of(s->cols[i].type)) == AK_IT_NONE)
            return ak_errf(err, AK_E_TYPE, "column `%.100s`: %s has no Iceberg type", s->cols[i].name,
                           ak_type_name(s->cols[i].type));
        if (find_field(t, s->cols[i].name) >= 0)
            return ak_errf(err, AK_E_USAGE, "column `%.100s` appears twice", s->cols[i].name);
        if (!(f->name = ak_strdup(s->cols[i].name)))
            return ak_err_nomem(err);
        t->nfields++;
    }
    t->last_column_id = s->n;
    want_pf_t *w = ak_calloc(o->n_partition_key + 1, sizeof *w);
    t->pf = ak_calloc(o->n_partition_key + 1, sizeof *t->pf);
    t->sort_ids = ak_calloc(o->n_sort_key + 1, sizeof *t->sort_ids);
    t->props = ak_calloc(1, sizeof *t->props);
    if (!w || !t->pf || !t->sort_ids || !t->props) {
        ak_free(w);
        return ak_err_nomem(err);
    }
    int rc = want_spec(t, o, w, err);
    for (size_t i = 0; !rc && i < o->n_partition_key; i++) {
        ak_ice_pfield_t *p = &t->pf[i];
        p->src = w[i].src;
        p->source_id = t->fields[p->src].id;
        p->field_id = AK_ICE_PART_BASE + (int32_t)i;
        p->tr = w[i].tr;
        for (size_t k = 0; k < i; k++)
            if (strcmp(t->pf[k].name, w[i].name) == 0)
                rc = ak_errf(err, AK_E_USAGE, "partition key `%.100s` appears twice", o->partition_key[i]);
        if (!rc && !(p->name = ak_strdup(w[i].name)))
            rc = ak_err_nomem(err);
        if (!rc)
            t->npf++;
    }
    ak_free(w);
    if (rc)
        return -1;
    t->last_partition_id = AK_ICE_PART_BASE - 1 + t->npf;
    for (size_t i = 0; i < o->n_sort_key; i++) {
        int f = find_field(t, o->sort_key[i]);
        if (f < 0)
            return ak_errf(err, AK_E_USAGE, "sort key `%.100s` is not a column", o->sort_key[i]);
        t->sort_ids[t->nsort++] = t->fields[f].id;
    }
    t->sort_order_id = t->nsort ? 1 : 0;
    if (!(t->props[0].k = ak_strdup("write.format.default")) || !(t->props[0].v = ak_strdup("parquet"))) {
        ak_free(t->props[0].k);
        t->props[0].k = NULL;
        return ak_err_nomem(err);
    }
    t->nprops = 1;
    ak__ice_uuid(t->uuid);
    t->last_updated_ms = ak_wall_us() / 1000;
    t->current = -1;
    return 0;
}

/* Maps the caller's columns onto the loaded schema and checks the spec. */
static int match_schema(ak_ice_table_t *t, const ak_ice_opts_t *o, ak_err_t *err)
{
    const ak_schema_t *s = o->schema;
    for (int i = 0; i < s->n; i++) {
        int f = find_field(t, s->cols[i].name);
        if (f < 0)
            return ak_errf(err, AK_E_UNSUPPORTED, "column `%.100s` is not in Iceberg table %s.%s (adding columns to an "
                                                  "existing table is not supported)", s->cols[i].name, t->ns, t->name);
        if (t->fields[f].type != ak__ice_itype_of(s->cols[i].type))
            return ak_errf(err, AK_E_TYPE, "column `%.100s` is %s in Iceberg table %s.%s, not %s", s->cols[i].name,
                           ak__ice_itype_name(t->fields[f].type), t->ns, t->name, ak_type_name(s->cols[i].type));
        t->colmap[i] = f;
    }
    want_pf_t *w = ak_calloc(o->n_partition_key + 1, sizeof *w);
    if (!w)
        return ak_err_nomem(err);
    int rc = want_spec(t, o, w, err);
    bool same = !rc && (size_t)t->npf == o->n_partition_key;
    for (int i = 0; same && i < t->npf; i++)
        same = t->pf[i].src == w[i].src && t->pf[i].tr == w[i].tr;
    ak_free(w);
    if (!rc && !same)
        rc = ak_errf(err, AK_E_UNSUPPORTED, "Iceberg table %s.%s is partitioned differently from partition_key "
                                            "(changing a table's partitioning is not supported)", t->ns, t->name);
    return rc;
}

/* A table the catalog does not know must not be created over metadata
 * another catalog committed there: opening it would take that table's
 * files for orphans. */
static int foreign_metadata(const ak_ice_table_t *t, ak_err_t *err)
{
    char md[AK_ICE_MAX_PATH];
    snprintf(md, sizeof md, "%s/metadata", t->dir);
    DIR *d = opendir(md);
    struct dirent *de;
    const char *found = NULL;
    while (d && !found && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] != '.' && n > 14 && strcmp(de->d_name + n - 14, ".metadata.json") == 0)
            found = de->d_name;
    }
    int rc = 0;
    if (found) {
        char by[AK_ICE_MAX_PATH + 64];
        if (t->catalog_db)
            snprintf(by, sizeof by, "the SQLite catalog %s (catalog_name `%s`)", t->catalog_db, t->catalog_name);
        else
            snprintf(by, sizeof by, "the file-system catalog (no v<N>.metadata.json)");
        rc = ak_errf(err, AK_E_STATE,
                     "%s holds metadata of a table that %s does not record (%s: committed through another catalog); "
                     "set output.lake.catalog (catalog_db, catalog_name) to the catalog that has it, or move the "
                     "folder away",
                     md, by, found);
    }
    if (d)
        closedir(d);
    return rc;
}

int ak_ice_open(const ak_ice_opts_t *o, ak_ice_table_t **out, ak_err_t *err)
{
    *out = NULL;
    if (!o->warehouse || check_name("namespace", o->ns, err) || check_name("table name", o->name, err))
        return o->warehouse ? -1 : ak_errf(err, AK_E_USAGE, "an Iceberg table needs a warehouse folder");
    if (o->schema && o->schema->n > AK_ICE_MAX_FIELDS)
        return ak_errf(err, AK_E_USAGE, "too many columns");
    ak_ice_table_t *t = ak_calloc(1, sizeof *t);
    if (!t)
        return ak_err_nomem(err);
    t->current = -1;
    char real[PATH_MAX];
    int rc = -1;
    if (mkdirs(o->warehouse, err))
        goto out;
    if (!realpath(o->warehouse, real)) {
        ak_errf(err, AK_E_IO, "cannot resolve warehouse %s: %s", o->warehouse, strerror(errno));
        goto out;
    }
    size_t dl = strlen(real) + strlen(o->ns) + strlen(o->name) + 3;
    if (dl + 64 > AK_ICE_MAX_PATH) {
        ak_errf(err, AK_E_USAGE, "warehouse path too long");
        goto out;
    }
    t->dir = ak_malloc(dl);
    t->ns = ak_strdup(o->ns);
    t->name = ak_strdup(o->name);
    t->catalog_name = ak_strdup(o->catalog_name ? o->catalog_name : "akili");
    t->catalog_db = o->catalog_db ? ak_strdup(o->catalog_db) : NULL;
    t->colmap = ak_calloc(o->schema ? (size_t)o->schema->n + 1 : 1, sizeof *t->colmap);
    if (!t->dir || !t->ns || !t->name || !t->catalog_name || (o->catalog_db && !t->catalog_db) || !t->colmap) {
        ak_err_nomem(err);
        goto out;
    }
    sprintf(t->dir, "%s/%s/%s", real, o->ns, o->name);
    char sub[AK_ICE_MAX_PATH];
    snprintf(sub, sizeof sub, "%s/metadata", t->dir);
    if (mkdirs(sub, err))
        goto out;
    snprintf(sub, sizeof sub, "%s/data", t->dir);
    if (mkdirs(sub, err))
        goto out;
    if (ak__ice_reload(t, err) == 0) {
        if (o->schema && match_schema(t, o, err))
            goto out;
    } else if (err->code == AK_E_NOTFOUND && o->schema) {
        ak_err_clear(err);
        if (foreign_metadata(t, err) || create_meta(t, o, err))
            goto out;
        for (int i = 0; i < o->schema->n; i++)
            t->colmap[i] = i;
        if (ak__ice_publish(t, NULL, err))
            goto out;
    } else {
        goto out;
    }
    t->ncols = o->schema ? o->schema->n : 0;
    rc = 0;
out:
    if (rc)
        ak_ice_close(t);
    else
        *out = t;
    return rc;
}

const char *ak_ice_dir(const ak_ice_table_t *t) { return t->dir; }
int64_t ak_ice_current_snapshot(const ak_ice_table_t *t) { return t->current; }
const char *ak_ice_metadata_file(const ak_ice_table_t *t) { return t->meta_file; }
int ak_ice_npartition(const ak_ice_table_t *t) { return t->npf; }
size_t ak_ice_snapshot_count(const ak_ice_table_t *t) { return t->nsnaps; }
int64_t ak_ice_snapshot_id(const ak_ice_table_t *t, size_t i) { return i < t->nsnaps ? t->snaps[i].id : -1; }
int64_t ak_ice_snapshot_time_ms(const ak_ice_table_t *t, size_t i) { return i < t->nsnaps ? t->snaps[i].ts_ms : -1; }

int ak_ice_ncolumns(const ak_ice_table_t *t) { return t->nfields; }
const char *ak_ice_column_name(const ak_ice_table_t *t, int i) { return i >= 0 && i < t->nfields ? t->fields[i].name : NULL; }

ak_type_t ak_ice_column_type(const ak_ice_table_t *t, int i)
{
    switch (i >= 0 && i < t->nfields ? t->fields[i].type : AK_IT_NONE) {
    case AK_IT_BOOLEAN: return AK_BOOL;
    case AK_IT_INT:
    case AK_IT_LONG: return AK_INT;
    case AK_IT_FLOAT: return AK_FLOAT;
    case AK_IT_DOUBLE: return AK_DOUBLE;
    case AK_IT_DATE: return AK_DATE;
    case AK_IT_TIMESTAMPTZ:
    case AK_IT_TIMESTAMP: return AK_TIMESTAMP;
    case AK_IT_STRING: return AK_TEXT;
    default: return AK_TYPE__COUNT;
    }
}

const char *ak_ice_snapshot_prop(const ak_ice_table_t *t, int64_t id, const char *key)
{
    const ak_ice_snap_t *s = ak__ice_find_snap(t, id < 0 ? t->current : id);
    return s ? ak__ice_snap_sum(s, key) : NULL;
}

int32_t ak_ice_field_id(const ak_ice_table_t *t, int col)
{
    return col >= 0 && col < t->ncols ? t->fields[t->colmap[col]].id : -1;
}

int ak_ice_partition_of(const ak_ice_table_t *t, const ak_val_t *row, ak_val_t *out, ak_err_t *err)
{
    if (t->npf && !t->ncols)
        return ak_errf(err, AK_E_USAGE, "partition values need the table opened with a schema");
    for (int i = 0; i < t->npf; i++) {
        const ak_ice_pfield_t *p = &t->pf[i];
        int col = -1;
        for (int c = 0; c < t->ncols && col < 0; c++)
            if (t->colmap[c] == p->src)
                col = c;
        if (col < 0)
            return ak_errf(err, AK_E_USAGE, "the partition source `%s` is not among the opened columns",
                           t->fields[p->src].name);
        if (ak__ice_transform(p->tr, t->fields[p->src].type, &row[col], &out[i], err))
            return ak_err_prefix(err, "partition `%s`", p->name);
    }
    return 0;
}

int ak_ice_data_path(const ak_ice_table_t *t, const ak_val_t *partition, ak_buf_t *rel, ak_err_t *err)
{
    char u[37];
    ak_buf_puts(rel, "data/");
    for (int i = 0; i < t->npf; i++) {
        ak_val_t v;
        if (ak__ice_coerce(ak__ice_part_type(t, &t->pf[i]), &partition[i], &v, err))
            return ak_err_prefix(err, "partition `%s`", t->pf[i].name);
        ak_buf_puts(rel, t->pf[i].name);
        ak_buf_putc(rel, '=');
        ak__ice_part_text(ak__ice_part_type(t, &t->pf[i]), t->pf[i].tr, &v, rel);
        ak_buf_putc(rel, '/');
    }
    ak__ice_uuid(u);
    ak_buf_printf(rel, "%s.parquet", u);
    return rel->oom ? ak_err_nomem(err) : 0;
}

/* ---- reading a snapshot */

int ak__ice_live_entries(const ak_ice_table_t *t, const ak_ice_snap_t *s, ak_ice_entries_t *es, ak_err_t *err)
{
    ak_ice_mfile_t *mf = NULL;
    size_t n = 0;
    if (ak__ice_list_read(s->list, &es->ar, &mf, &n, err))
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (mf[i].spec_id != t->spec_id) {
            rc = ak_errf(err, AK_E_UNSUPPORTED, "manifest %s uses partition spec %d; only the table's spec %d is "
                                                "supported", mf[i].path, mf[i].spec_id, t->spec_id);
            break;
        }
        size_t from = es->n;
        rc = ak__ice_manifest_read(t, mf[i].path, es, err);
        /* entries added without explicit sequence numbers inherit the manifest's */
        for (size_t k = from; !rc && k < es->n; k++) {
            ak_ice_entry_t *e = &es->e[k];
            if (e->seq < 0 && e->status == 1)
                e->seq = mf[i].seq;
            if (e->file_seq < 0 && e->status == 1)
                e->file_seq = mf[i].seq;
            if (e->snapshot_id < 0 && e->status == 1)
                e->snapshot_id = mf[i].added_snapshot_id;
            if (e->seq < 0)
                rc = ak_errf(err, AK_E_CORRUPT, "manifest %s: an existing entry has no sequence number", mf[i].path);
        }
    }
    ak_free(mf);
    if (rc)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < es->n; i++)
        if (es->e[i].status != 2)
            es->e[k++] = es->e[i];
    es->n = k;
    return 0;
}

struct ak_ice_scan {
    ak_ice_entries_t es;
    ak_ice_live_t *live;
    size_t n;
};

int ak_ice_scan(const ak_ice_table_t *t, int64_t snapshot_id, ak_ice_scan_t **out, ak_err_t *err)
{
    *out = NULL;
    if (snapshot_id < 0)
        snapshot_id = t->current;
    const ak_ice_snap_t *s = snapshot_id >= 0 ? ak__ice_find_snap(t, snapshot_id) : NULL;
    if (snapshot_id >= 0 && !s)
        return ak_errf(err, AK_E_NOTFOUND, "snapshot %" PRId64 " is not in table %s.%s (expired?)", snapshot_id,
                       t->ns, t->name);
    ak_ice_scan_t *sc = ak_calloc(1, sizeof *sc);
    if (!sc)
        return ak_err_nomem(err);
    ak__ice_entries_init(&sc->es);
    if (s && ak__ice_live_entries(t, s, &sc->es, err)) {
        ak_ice_scan_free(sc);
        return -1;
    }
    sc->live = ak_calloc(sc->es.n + 1, sizeof *sc->live);
    if (!sc->live) {
        ak_ice_scan_free(sc);
        return ak_err_nomem(err);
    }
    for (size_t i = 0; i < sc->es.n; i++) {
        const ak_ice_entry_t *e = &sc->es.e[i];
        ak_ice_live_t *l = &sc->live[i];
        l->f.content = e->content;
        l->f.path = ak__ice_local(e->path);
        l->uri = e->path;
        l->f.rows = e->rows;
        l->f.bytes = e->bytes;
        l->f.partition = e->part;
        l->f.ncols = e->ncols;
        l->f.cols = e->cols;
        l->f.equality_ids = e->eq_ids;
        l->f.n_equality = e->neq;
        l->seq = e->seq;
        l->file_seq = e->file_seq;
        l->snapshot_id = e->snapshot_id;
    }
    sc->n = sc->es.n;
    *out = sc;
    return 0;
}

size_t ak_ice_scan_count(const ak_ice_scan_t *s) { return s ? s->n : 0; }
const ak_ice_live_t *ak_ice_scan_file(const ak_ice_scan_t *s, size_t i) { return i < s->n ? &s->live[i] : NULL; }

void ak_ice_scan_free(ak_ice_scan_t *s)
{
    if (!s)
        return;
    ak_free(s->live);
    ak__ice_entries_free(&s->es);
    ak_free(s);
}

/* ---- string sets */

int ak__ice_sset_add(ak_ice_sset_t *s, const char *k)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **slot = ak_calloc(cap, sizeof *slot);
        if (!slot)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slot[i])
                continue;
            size_t h = ak_hash_bytes(s->slot[i], strlen(s->slot[i]), 0) & (cap - 1);
            while (slot[h])
                h = (h + 1) & (cap - 1);
            slot[h] = s->slot[i];
        }
        ak_free(s->slot);
        s->slot = slot;
        s->cap = cap;
    }
    size_t h = ak_hash_bytes(k, strlen(k), 0) & (s->cap - 1);
    while (s->slot[h]) {
        if (strcmp(s->slot[h], k) == 0)
            return 0;
        h = (h + 1) & (s->cap - 1);
    }
    if (!(s->slot[h] = ak_strdup(k)))
        return -1;
    s->n++;
    return 0;
}

bool ak__ice_sset_has(const ak_ice_sset_t *s, const char *k)
{
    if (!s->cap)
        return false;
    size_t h = ak_hash_bytes(k, strlen(k), 0) & (s->cap - 1);
    while (s->slot[h]) {
        if (strcmp(s->slot[h], k) == 0)
            return true;
        h = (h + 1) & (s->cap - 1);
    }
    return false;
}

void ak__ice_sset_free(ak_ice_sset_t *s)
{
    for (size_t i = 0; i < s->cap; i++)
        ak_free(s->slot[i]);
    ak_free(s->slot);
    memset(s, 0, sizeof *s);
}
