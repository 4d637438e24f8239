/* ak_ice_commit.c - one snapshot: new manifests for the added files,
 * rewritten manifests where files are removed, the parent's other
 * manifests carried forward unchanged (merged into one once there are
 * AK_ICE_MERGE_MIN of a kind, so a long history does not make every
 * snapshot list hundreds of manifests), a manifest list, the summary, and
 * the new metadata version through the catalog.  Nothing a reader can see
 * changes until the catalog swap; files written for a commit that fails are
 * removed again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ak_alloc.h"
#include "ak_ice_int.h"
#include "ak_time.h"

typedef struct {
    ak_ice_table_t *t;
    ak_err_t *err;
    ak_arena_t ar;
    int64_t snap_id, seq;
    ak_ice_mfile_t *out;           /* manifests of the new list */
    size_t nout, cap;
    char **written;                /* files to unlink if the commit fails */
    size_t nwritten, wcap;
    ak_ice_stats_t *st;
    /* summary counters */
    int64_t add_data, add_rows, add_size, add_del, add_eq, add_pos, add_eq_rows, add_pos_rows;
    int64_t rm_data, rm_rows, rm_size, rm_del, rm_eq, rm_pos, rm_eq_rows, rm_pos_rows;
} cctx_t;

static int push_out(cctx_t *c, const ak_ice_mfile_t *m)
{
    if (c->nout == c->cap && AK_GROW(c->out, c->cap, c->nout + 1))
        return ak_err_nomem(c->err);
    c->out[c->nout++] = *m;
    return 0;
}

static int track(cctx_t *c, const char *path)
{
    if (c->nwritten == c->wcap && AK_GROW(c->written, c->wcap, c->nwritten + 1))
        return ak_err_nomem(c->err);
    if (!(c->written[c->nwritten] = ak_strdup(path)))
        return ak_err_nomem(c->err);
    c->nwritten++;
    return 0;
}

static int write_manifest(cctx_t *c, int content, ak_ice_entry_t *const *e, size_t n)
{
    char u[37], path[AK_ICE_MAX_PATH + 80];
    ak__ice_uuid(u);
    snprintf(path, sizeof path, "%s/metadata/%s-m%zu.avro", c->t->dir, u, c->nwritten);
    ak_ice_mfile_t mf;
    if (track(c, path) ||
        ak__ice_manifest_write(c->t, content, e, n, c->snap_id, c->seq, path, &c->ar, &mf, c->err) ||
        push_out(c, &mf))
        return -1;
    c->st->manifest_bytes += mf.length;
    c->st->manifests_written++;
    return 0;
}

/* "file:///abs" for a path given relative to the table, absolute or as a URI. */
static char *to_uri(cctx_t *c, const char *p)
{
    if (strncmp(p, "file://", 7) == 0 || strstr(p, "://"))
        return ak_arena_strdup(&c->ar, p);
    if (p[0] == '/')
        return ak_arena_sprintf(&c->ar, "file://%s", p);
    return ak_arena_sprintf(&c->ar, "file://%s/%s", c->t->dir, p);
}

static int count_removed(cctx_t *c, const ak_ice_entry_t *e)
{
    switch (e->content) {
    case AK_ICE_DATA: c->rm_data++, c->rm_rows += e->rows; break;
    case AK_ICE_POS_DELETES: c->rm_del++, c->rm_pos++, c->rm_pos_rows += e->rows; break;
    default: c->rm_del++, c->rm_eq++, c->rm_eq_rows += e->rows; break;
    }
    c->rm_size += e->bytes;
    return 0;
}

/* An added file as a manifest entry, its values copied into the arena. */
static int make_entry(cctx_t *c, const ak_ice_file_t *f, ak_ice_entry_t *e)
{
    ak_ice_table_t *t = c->t;
    memset(e, 0, sizeof *e);
    if ((unsigned)f->content > 2 || !f->path || !*f->path || f->rows < 0 || f->bytes < 0 || f->ncols < 0 ||
        (f->ncols && !f->cols) || (t->npf && !f->partition))
        return ak_errf(c->err, AK_E_USAGE, "an added file needs content 0-2, a path, rows and bytes >= 0%s",
                       t->npf ? " and partition values" : "");
    if (f->content == AK_ICE_EQ_DELETES && (f->n_equality <= 0 || !f->equality_ids))
        return ak_errf(c->err, AK_E_USAGE, "equality delete file %s needs equality_ids", f->path);
    e->status = 1;
    e->snapshot_id = c->snap_id;
    e->seq = e->file_seq = c->seq;
    e->content = f->content;
    e->rows = f->rows;
    e->bytes = f->bytes;
    e->sort_order_id = f->content != AK_ICE_DATA ? -1 : f->sorted ? t->sort_order_id : 0;
    if (!(e->path = to_uri(c, f->path)))
        return ak_err_nomem(c->err);
    e->part = ak_arena_zalloc(&c->ar, (size_t)(t->npf ? t->npf : 1) * sizeof *e->part);
    e->cols = ak_arena_zalloc(&c->ar, (size_t)(f->ncols ? f->ncols : 1) * sizeof *e->cols);
    if (!e->part || !e->cols)
        return ak_err_nomem(c->err);
    for (int i = 0; i < t->npf; i++) {
        if (ak__ice_coerce(ak__ice_part_type(t, &t->pf[i]), &f->partition[i], &e->part[i], c->err))
            return ak_err_prefix(c->err, "%s: partition `%s`", f->path, t->pf[i].name);
        if (e->part[i].type == AK_TEXT) {
            char *s = ak_arena_strndup(&c->ar, e->part[i].s, e->part[i].n);
            if (!s)
                return ak_err_nomem(c->err);
            e->part[i].s = s;
        }
    }
    for (int i = 0; i < f->ncols; i++) {
        ak_ice_colstat_t *o = &e->cols[i];
        *o = f->cols[i];
        int fi = -1;
        for (int k = 0; k < t->nfields; k++)
            if (t->fields[k].id == o->field_id)
                fi = k;
        if (fi < 0)
            return ak_errf(c->err, AK_E_USAGE, "%s: statistics for field id %d, which the table does not have",
                           f->path, o->field_id);
        if (o->has_bounds && (o->min.type == AK_NULL || o->max.type == AK_NULL))
            o->has_bounds = false;
        for (int k = 0; k < 2 && o->has_bounds; k++) {
            ak_val_t *v = k ? &o->max : &o->min;
            if (ak__ice_coerce(t->fields[fi].type, v, v, c->err))
                return ak_err_prefix(c->err, "%s: bound of `%s`", f->path, t->fields[fi].name);
            if (v->type == AK_TEXT && !(v->s = ak_arena_strndup(&c->ar, v->s, v->n)))
                return ak_err_nomem(c->err);
        }
    }
    e->ncols = f->ncols;
    if (f->n_equality > 0) {
        e->eq_ids = ak_arena_alloc(&c->ar, (size_t)f->n_equality * sizeof *e->eq_ids);
        if (!e->eq_ids)
            return ak_err_nomem(c->err);
        for (int i = 0; i < f->n_equality; i++) {
            bool known = false;
            for (int k = 0; k < t->nfields; k++)
                known |= t->fields[k].id == f->equality_ids[i];
            if (!known)
                return ak_errf(c->err, AK_E_USAGE, "%s: equality id %d is not a field of the table", f->path,
                               f->equality_ids[i]);
            e->eq_ids[i] = f->equality_ids[i];
        }
        e->neq = f->n_equality;
    }
    switch (f->content) {
    case AK_ICE_DATA: c->add_data++, c->add_rows += f->rows; break;
    case AK_ICE_POS_DELETES: c->add_del++, c->add_pos++, c->add_pos_rows += f->rows; break;
    default: c->add_del++, c->add_eq++, c->add_eq_rows += f->rows; break;
    }
    c->add_size += f->bytes;
    return 0;
}

/* The parent's manifests: rewritten where a file is removed, else carried. */
static int handle_parent(cctx_t *c, ak_ice_mfile_t *pm, size_t npm, ak_ice_sset_t *rm, ak_ice_sset_t *found,
                         ak_ice_mfile_t **carry, size_t *ncarry)
{
    for (size_t i = 0; i < npm; i++) {
        ak_ice_mfile_t *m = &pm[i];
        if (m->added_files + m->existing_files == 0)
            continue; /* nothing live any more: dropped from the list */
        if (m->spec_id != c->t->spec_id)
            return ak_errf(c->err, AK_E_UNSUPPORTED, "manifest %s uses partition spec %d; only the table's spec %d "
                                                     "is supported", m->path, m->spec_id, c->t->spec_id);
        if (rm->n == 0) {
            carry[(*ncarry)++] = m;
            continue;
        }
        ak_ice_entries_t es;
        ak__ice_entries_init(&es);
        int rc = ak__ice_manifest_read(c->t, m->path, &es, c->err);
        bool hit = false;
        for (size_t k = 0; !rc && k < es.n; k++)
            hit |= es.e[k].status != 2 && ak__ice_sset_has(rm, es.e[k].path);
        if (!rc && !hit) {
            carry[(*ncarry)++] = m;
        } else if (!rc) {
            ak_ice_entry_t **keep = ak_calloc(es.n + 1, sizeof *keep);
            size_t nk = 0;
            if (!keep)
                rc = ak_err_nomem(c->err);
            for (size_t k = 0; !rc && k < es.n; k++) {
                ak_ice_entry_t *e = &es.e[k];
                if (e->status == 2)
                    continue; /* deleted in an earlier snapshot */
                if (ak__ice_sset_has(rm, e->path)) {
                    e->status = 2;
                    e->snapshot_id = c->snap_id;
                    count_removed(c, e);
                    if (ak__ice_sset_add(found, e->path))
                        rc = ak_err_nomem(c->err);
                } else {
                    e->status = 0;
                }
                keep[nk++] = e;
            }
            if (!rc)
                rc = write_manifest(c, m->content, keep, nk);
            ak_free(keep);
        }
        ak__ice_entries_free(&es);
        if (rc)
            return -1;
    }
    return 0;
}

/* Merges the carried manifests of one content kind when there are many. */
static int merge_carried(cctx_t *c, ak_ice_mfile_t **carry, size_t ncarry, int content)
{
    size_t n = 0;
    for (size_t i = 0; i < ncarry; i++)
        n += carry[i]->content == content;
    if (n < AK_ICE_MERGE_MIN) {
        for (size_t i = 0; i < ncarry; i++)
            if (carry[i]->content == content) {
                if (push_out(c, carry[i]))
                    return -1;
                c->st->manifests_carried++;
            }
        return 0;
    }
    ak_ice_entries_t es;
    ak__ice_entries_init(&es);
    int rc = 0;
    for (size_t i = 0; i < ncarry && !rc; i++)
        if (carry[i]->content == content)
            rc = ak__ice_manifest_read(c->t, carry[i]->path, &es, c->err);
    ak_ice_entry_t **live = rc ? NULL : ak_calloc(es.n + 1, sizeof *live);
    size_t nl = 0;
    if (!rc && !live)
        rc = ak_err_nomem(c->err);
    for (size_t k = 0; !rc && k < es.n; k++)
        if (es.e[k].status != 2) {
            es.e[k].status = 0;
            live[nl++] = &es.e[k];
        }
    if (!rc)
        rc = write_manifest(c, content, live, nl);
    ak_free(live);
    ak__ice_entries_free(&es);
    return rc;
}

static int64_t parent_total(const ak_ice_table_t *t, const char *key, bool *known)
{
    const ak_ice_snap_t *p = t->current >= 0 ? ak__ice_find_snap(t, t->current) : NULL;
    if (!p)
        return 0;
    const char *v = ak__ice_snap_sum(p, key);
    long long x;
    char tail;
    if (v && sscanf(v, "%lld%c", &x, &tail) == 1)
        return x;
    *known = false;
    return 0;
}

static int add_sum(ak_ice_snap_t *s, size_t *cap, const char *k, int64_t v, bool always)
{
    if (!always && v == 0)
        return 0;
    if (s->nsum == *cap && AK_GROW(s->sum, *cap, s->nsum + 1))
        return -1;
    char num[24];
    snprintf(num, sizeof num, "%" PRId64, v);
    ak_ice_kv_t *kv = &s->sum[s->nsum];
    kv->k = ak_strdup(k);
    kv->v = ak_strdup(num);
    if (!kv->k || !kv->v) {
        ak_free(kv->k);
        ak_free(kv->v);
        return -1;
    }
    s->nsum++;
    return 0;
}

static int build_summary(cctx_t *c, const ak_ice_commit_t *cm, ak_ice_snap_t *s, const char *op)
{
    size_t cap = 0;
    if (AK_GROW(s->sum, cap, 24))
        return -1;
    if (!(s->sum[0].k = ak_strdup("operation")) || !(s->sum[0].v = ak_strdup(op))) {
        ak_free(s->sum[0].k);
        return -1;
    }
    s->nsum = 1;
    struct { const char *k; int64_t v; } adds[] = {
        {"added-data-files", c->add_data}, {"added-records", c->add_rows}, {"added-files-size", c->add_size},
        {"added-delete-files", c->add_del}, {"added-equality-delete-files", c->add_eq},
        {"added-position-delete-files", c->add_pos}, {"added-equality-deletes", c->add_eq_rows},
        {"added-position-deletes", c->add_pos_rows}, {"deleted-data-files", c->rm_data},
        {"deleted-records", c->rm_rows}, {"removed-files-size", c->rm_size}, {"removed-delete-files", c->rm_del},
        {"removed-equality-delete-files", c->rm_eq}, {"removed-position-delete-files", c->rm_pos},
        {"removed-equality-deletes", c->rm_eq_rows}, {"removed-position-deletes", c->rm_pos_rows}};
    for (size_t i = 0; i < sizeof adds / sizeof adds[0]; i++)
        if (add_sum(s, &cap, adds[i].k, adds[i].v, false))
            return -1;
    struct { const char *k; int64_t d; } totals[] = {
        {"total-records", c->add_rows - c->rm_rows}, {"total-files-size", c->add_size - c->rm_size},
        {"total-data-files", c->add_data - c->rm_data}, {"total-delete-files", c->add_del - c->rm_del},
        {"total-position-deletes", c->add_pos_rows - c->rm_pos_rows},
        {"total-equality-deletes", c->add_eq_rows - c->rm_eq_rows}};
    for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++) {
        bool known = true;
        int64_t v = parent_total(c->t, totals[i].k, &known) + totals[i].d;
        if (known && add_sum(s, &cap, totals[i].k, v, true))
            return -1;
    }
    for (size_t i = 0; i + 1 < cm->n_props * 2; i += 2) {
        if (s->nsum == cap && AK_GROW(s->sum, cap, s->nsum + 1))
            return -1;
        ak_ice_kv_t *kv = &s->sum[s->nsum];
        kv->k = ak_strdup(cm->props[i]);
        kv->v = ak_strdup(cm->props[i + 1]);
        if (!kv->k || !kv->v) {
            ak_free(kv->k);
            ak_free(kv->v);
            return -1;
        }
        s->nsum++;
    }
    return 0;
}

static const char *op_name(const ak_ice_commit_t *cm, const cctx_t *c)
{
    switch (cm->op) {
    case AK_ICE_OP_APPEND: return "append";
    case AK_ICE_OP_OVERWRITE: return "overwrite";
    case AK_ICE_OP_DELETE: return "delete";
    case AK_ICE_OP_REPLACE: return "replace";
    default: break;
    }
    if (c->add_data && !c->add_del && !cm->n_remove)
        return "append";
    if (!c->add_data)
        return "delete";
    return "overwrite";
}

int ak_ice_commit(ak_ice_table_t *t, const ak_ice_commit_t *cm, ak_ice_stats_t *st, ak_err_t *err)
{
    ak_ice_stats_t local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    st->snapshot_id = -1;
    /* (a commit of properties alone records that nothing changed) */
    if (cm->n_add == 0 && cm->n_remove == 0 && cm->n_props == 0)
        return ak_errf(err, AK_E_USAGE, "a commit needs files to add or remove");
    cctx_t c = {.t = t, .err = err, .st = st};
    ak_arena_init(&c.ar, 64 * 1024);
    c.snap_id = ak__ice_new_snapshot_id(t);
    c.seq = t->last_seq + 1;
    ak_ice_sset_t rm = {0}, found = {0}, added = {0};
    ak_ice_mfile_t *pm = NULL, **carry = NULL;
    size_t npm = 0, ncarry = 0;
    ak_ice_entry_t *adds = NULL, **data = NULL, **dels = NULL;
    size_t nd = 0, ndel = 0;
    int rc = -1;
    bool pushed = false;
    int64_t old_seq = t->last_seq, old_ms = t->last_updated_ms, old_cur = t->current;

    adds = ak_calloc(cm->n_add + 1, sizeof *adds);
    data = ak_calloc(cm->n_add + 1, sizeof *data);
    dels = ak_calloc(cm->n_add + 1, sizeof *dels);
    if (!adds || !data || !dels) {
        ak_err_nomem(err);
        goto out;
    }
    for (size_t i = 0; i < cm->n_add; i++) {
        if (make_entry(&c, &cm->add[i], &adds[i]))
            goto out;
        if (ak__ice_sset_has(&added, adds[i].path)) {
            ak_errf(err, AK_E_USAGE, "%s is added twice", adds[i].path);
            goto out;
        }
        if (ak__ice_sset_add(&added, adds[i].path)) {
            ak_err_nomem(err);
            goto out;
        }
        if (adds[i].content == AK_ICE_DATA)
            data[nd++] = &adds[i];
        else
            dels[ndel++] = &adds[i];
    }
    for (size_t i = 0; i < cm->n_remove; i++) {
        const char *u = cm->remove[i] ? to_uri(&c, cm->remove[i]) : NULL;
        if (!u || ak__ice_sset_add(&rm, u)) {
            cm->remove[i] ? ak_err_nomem(err) : ak_errf(err, AK_E_USAGE, "a removed path is NULL");
            goto out;
        }
    }
    /* new files first, as other writers order them */
    if ((nd && write_manifest(&c, 0, data, nd)) || (ndel && write_manifest(&c, 1, dels, ndel)))
        goto out;
    const ak_ice_snap_t *parent = t->current >= 0 ? ak__ice_find_snap(t, t->current) : NULL;
    if (parent && ak__ice_list_read(parent->list, &c.ar, &pm, &npm, err))
        goto out;
    carry = ak_calloc(npm + 1, sizeof *carry);
    if (!carry) {
        ak_err_nomem(err);
        goto out;
    }
    if (handle_parent(&c, pm, npm, &rm, &found, carry, &ncarry))
        goto out;
    if (found.n != rm.n) {
        for (size_t i = 0; i < rm.cap; i++)
            if (rm.slot[i] && !ak__ice_sset_has(&found, rm.slot[i])) {
                ak_errf(err, AK_E_NOTFOUND, "cannot remove %s: it is not a live file of the current snapshot; "
                                            "nothing was committed", rm.slot[i]);
                break;
            }
        goto out;
    }
    if (merge_carried(&c, carry, ncarry, 0) || merge_carried(&c, carry, ncarry, 1))
        goto out;

    /* the snapshot */
    ak_ice_snap_t s = {0};
    char u[37], lpath[AK_ICE_MAX_PATH + 100];
    ak__ice_uuid(u);
    snprintf(lpath, sizeof lpath, "%s/metadata/snap-%" PRId64 "-1-%s.avro", t->dir, c.snap_id, u);
    s.id = c.snap_id;
    s.parent = t->current;
    s.seq = c.seq;
    s.schema_id = t->schema_id;
    int64_t now = ak_wall_us() / 1000;
    s.ts_ms = now > t->last_updated_ms ? now : t->last_updated_ms + 1;
    s.list = ak_malloc(strlen(lpath) + 8);
    if (!s.list || build_summary(&c, cm, &s, op_name(cm, &c))) {
        ak__ice_snap_free(&s);
        ak_err_nomem(err);
        goto out;
    }
    sprintf(s.list, "file://%s", lpath);
    if (track(&c, lpath) || ak__ice_list_write(t, &s, c.out, c.nout, lpath, &st->list_bytes, err)) {
        ak__ice_snap_free(&s);
        goto out;
    }
    /* append snapshot, logs; undone below if the catalog refuses */
    ak_ice_snap_t *ns = ak_realloc(t->snaps, (t->nsnaps + 1) * sizeof *ns);
    int64_t *lt = ns ? ak_realloc(t->slog_ts, (t->nslog + 1) * sizeof *lt) : NULL;
    if (lt)
        t->slog_ts = lt;
    int64_t *li = lt ? ak_realloc(t->slog_id, (t->nslog + 1) * sizeof *li) : NULL;
    if (li)
        t->slog_id = li;
    ak_ice_mlog_t *ml = li ? ak_realloc(t->mlog, (t->nmlog + 1) * sizeof *ml) : NULL;
    if (ns)
        t->snaps = ns;
    if (ml)
        t->mlog = ml;
    char *prev = ml && t->meta_file ? ak_malloc(strlen(t->meta_file) + 8) : NULL;
    if (!ml || (t->meta_file && !prev)) {
        ak__ice_snap_free(&s);
        ak_free(prev);
        ak_err_nomem(err);
        goto out;
    }
    t->snaps[t->nsnaps++] = s;
    t->slog_ts[t->nslog] = s.ts_ms;
    t->slog_id[t->nslog++] = s.id;
    if (prev) {
        sprintf(prev, "file://%s", t->meta_file);
        t->mlog[t->nmlog].ts_ms = t->last_updated_ms;
        t->mlog[t->nmlog++].file = prev;
    }
    pushed = true;
    t->last_seq = c.seq;
    t->last_updated_ms = s.ts_ms;
    t->current = s.id;
    /* keep the metadata log bounded: the oldest entries go (files below) */
    size_t drop = t->nmlog > AK_ICE_MLOG_MAX ? t->nmlog - AK_ICE_MLOG_MAX : 0;
    ak_ice_mlog_t *saved = drop ? ak_memdup(t->mlog, drop * sizeof *saved) : NULL;
    if (drop && !saved) {
        ak_err_nomem(err);
        goto out;
    }
    if (drop) {
        memmove(t->mlog, t->mlog + drop, (t->nmlog - drop) * sizeof *t->mlog);
        t->nmlog -= drop;
    }
    if (ak__ice_publish(t, &st->metadata_bytes, err)) {
        if (drop) {
            memmove(t->mlog + drop, t->mlog, t->nmlog * sizeof *t->mlog);
            memcpy(t->mlog, saved, drop * sizeof *saved);
            t->nmlog += drop;
        }
        ak_free(saved);
        goto out;
    }
    for (size_t i = 0; i < drop; i++) {
        unlink(ak__ice_local(saved[i].file));
        ak_free(saved[i].file);
    }
    ak_free(saved);
    st->snapshot_id = s.id;
    rc = 0;
out:
    if (rc && pushed) {
        bool race = err->code == AK_E_STATE;
        ak__ice_snap_free(&t->snaps[--t->nsnaps]);
        t->nslog--;
        if (t->meta_file)
            ak_free(t->mlog[--t->nmlog].file);
        t->last_seq = old_seq;
        t->last_updated_ms = old_ms;
        t->current = old_cur;
        if (race) {
            /* another writer won: take its state so a retry builds on it */
            ak_err_t e2;
            if (ak__ice_reload(t, &e2))
                ak_err_prefix(err, "(reloading also failed: %s)", e2.msg);
        }
    }
    if (rc)
        for (size_t i = 0; i < c.nwritten; i++)
            unlink(c.written[i]);
    for (size_t i = 0; i < c.nwritten; i++)
        ak_free(c.written[i]);
    ak_free(c.written);
    ak_free(c.out);
    ak_free(pm);
    ak_free(carry);
    ak_free(adds);
    ak_free(data);
    ak_free(dels);
    ak__ice_sset_free(&rm);
    ak__ice_sset_free(&found);
    ak__ice_sset_free(&added);
    ak_arena_free(&c.ar);
    return rc;
}
