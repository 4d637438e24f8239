/* ak_ice_meta.c - the table metadata JSON (Iceberg spec v2): written whole
 * for each version, read back with every field checked, since a metadata
 * file may come from another engine or be damaged. */
#include <inttypes.h>
#include <string.h>

#include "ak_alloc.h"
#include "ak_ice_int.h"

const char *ak__ice_local(const char *uri)
{
    return strncmp(uri, "file://", 7) == 0 ? uri + 7 : uri;
}

void ak__ice_snap_free(ak_ice_snap_t *s)
{
    ak_free(s->list);
    for (size_t i = 0; i < s->nsum; i++) {
        ak_free(s->sum[i].k);
        ak_free(s->sum[i].v);
    }
    ak_free(s->sum);
    memset(s, 0, sizeof *s);
}

const char *ak__ice_snap_sum(const ak_ice_snap_t *s, const char *key)
{
    for (size_t i = 0; i < s->nsum; i++)
        if (strcmp(s->sum[i].k, key) == 0)
            return s->sum[i].v;
    return NULL;
}

/* Frees what metadata reading fills (not the table's identity: dir,
 * catalog, names, colmap). */
void ak__ice_table_clear(ak_ice_table_t *t)
{
    for (int i = 0; i < t->nfields; i++)
        ak_free(t->fields[i].name);
    ak_free(t->fields);
    for (int i = 0; i < t->npf; i++)
        ak_free(t->pf[i].name);
    ak_free(t->pf);
    ak_free(t->sort_ids);
    for (size_t i = 0; i < t->nprops; i++) {
        ak_free(t->props[i].k);
        ak_free(t->props[i].v);
    }
    ak_free(t->props);
    for (size_t i = 0; i < t->nsnaps; i++)
        ak__ice_snap_free(&t->snaps[i]);
    ak_free(t->snaps);
    ak_free(t->slog_ts);
    ak_free(t->slog_id);
    for (size_t i = 0; i < t->nmlog; i++)
        ak_free(t->mlog[i].file);
    ak_free(t->mlog);
    ak_free(t->location);
    t->location = NULL;
    t->fields = NULL;
    t->pf = NULL;
    t->sort_ids = NULL;
    t->props = NULL;
    t->snaps = NULL;
    t->slog_ts = t->slog_id = NULL;
    t->mlog = NULL;
    t->nfields = t->npf = t->nsort = 0;
    t->nprops = t->nsnaps = t->nslog = t->nmlog = 0;
}

static void put_str(ak_buf_t *b, const char *s) { ak_buf_put_json_str(b, s, strlen(s)); }

int ak__ice_meta_write(const ak_ice_table_t *t, ak_buf_t *b)
{
    ak_buf_printf(b, "{\n  \"format-version\": 2,\n  \"table-uuid\": \"%s\",\n  \"location\": ", t->uuid);
    put_str(b, t->location);
    ak_buf_printf(b, ",\n  \"last-sequence-number\": %" PRId64 ",\n  \"last-updated-ms\": %" PRId64
                     ",\n  \"last-column-id\": %d,\n  \"current-schema-id\": %d,\n",
                  t->last_seq, t->last_updated_ms, t->last_column_id, t->schema_id);
    ak_buf_printf(b, "  \"schemas\": [{\"type\": \"struct\", \"schema-id\": %d, \"fields\": [", t->schema_id);
    for (int i = 0; i < t->nfields; i++) {
        const ak_ice_field_t *f = &t->fields[i];
        ak_buf_printf(b, "%s\n    {\"id\": %d, \"name\": ", i ? "," : "", f->id);
        put_str(b, f->name);
        ak_buf_printf(b, ", \"required\": %s, \"type\": \"%s\"}", f->required ? "true" : "false",
                      ak__ice_itype_name(f->type));
    }
    ak_buf_printf(b, "]}],\n  \"default-spec-id\": %d,\n  \"partition-specs\": [{\"spec-id\": %d, \"fields\": [",
                  t->spec_id, t->spec_id);
    for (int i = 0; i < t->npf; i++) {
        const ak_ice_pfield_t *p = &t->pf[i];
        ak_buf_puts(b, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
        put_str(b, p->name);
        ak_buf_printf(b, ", \"transform\": \"%s\", \"source-id\": %d, \"field-id\": %d}", ak__ice_tr_name(p->tr),
                      p->source_id, p->field_id);
    }
    ak_buf_printf(b, "]}],\n  \"last-partition-id\": %d,\n  \"default-sort-order-id\": %d,\n"
                     "  \"sort-orders\": [{\"order-id\": 0, \"fields\": []}",
                  t->last_partition_id, t->sort_order_id);
    if (t->nsort) {
        ak_buf_puts(b, ", {\"order-id\": 1, \"fields\": [");
        for (int i = 0; i < t->nsort; i++)
            ak_buf_printf(b, "%s{\"transform\": \"identity\", \"source-id\": %d, \"direction\": \"asc\", "
                             "\"null-order\": \"nulls-first\"}",
                          i ? ", " : "", t->sort_ids[i]);
        ak_buf_puts(b, "]}");
    }
    ak_buf_puts(b, "],\n  \"properties\": {");
    for (size_t i = 0; i < t->nprops; i++) {
        ak_buf_puts(b, i ? ", " : "");
        put_str(b, t->props[i].k);
        ak_buf_puts(b, ": ");
        put_str(b, t->props[i].v);
    }
    ak_buf_printf(b, "},\n  \"current-snapshot-id\": %" PRId64 ",\n  \"refs\": {", t->current);
    if (t->current >= 0)
        ak_buf_printf(b, "\"main\": {\"snapshot-id\": %" PRId64 ", \"type\": \"branch\"}", t->current);
    ak_buf_puts(b, "},\n  \"snapshots\": [");
    for (size_t i = 0; i < t->nsnaps; i++) {
        const ak_ice_snap_t *s = &t->snaps[i];
        ak_buf_printf(b, "%s\n    {\"sequence-number\": %" PRId64 ", \"snapshot-id\": %" PRId64, i ? "," : "", s->seq,
                      s->id);
        if (s->parent >= 0)
            ak_buf_printf(b, ", \"parent-snapshot-id\": %" PRId64, s->parent);
        ak_buf_printf(b, ", \"timestamp-ms\": %" PRId64 ", \"summary\": {", s->ts_ms);
        for (size_t k = 0; k < s->nsum; k++) {
            ak_buf_puts(b, k ? ", " : "");
            put_str(b, s->sum[k].k);
            ak_buf_puts(b, ": ");
            put_str(b, s->sum[k].v);
        }
        ak_buf_puts(b, "}, \"manifest-list\": ");
        put_str(b, s->list);
        ak_buf_printf(b, ", \"schema-id\": %d}", s->schema_id);
    }
    ak_buf_puts(b, "],\n  \"statistics\": [],\n  \"snapshot-log\": [");
    for (size_t i = 0; i < t->nslog; i++)
        ak_buf_printf(b, "%s\n    {\"timestamp-ms\": %" PRId64 ", \"snapshot-id\": %" PRId64 "}", i ? "," : "",
                      t->slog_ts[i], t->slog_id[i]);
    ak_buf_puts(b, "],\n  \"metadata-log\": [");
    for (size_t i = 0; i < t->nmlog; i++) {
        ak_buf_printf(b, "%s\n    {\"timestamp-ms\": %" PRId64 ", \"metadata-file\": ", i ? "," : "", t->mlog[i].ts_ms);
        put_str(b, t->mlog[i].file);
        ak_buf_putc(b, '}');
    }
    ak_buf_puts(b, "]\n}\n");
    return b->oom ? -1 : 0;
}

/* ---- reading */

typedef struct {
    ak_ice_table_t *t;
    ak_err_t *err;
} rctx_t;

static int bad(rctx_t *c, const char *what)
{
    return ak_errf(c->err, AK_E_CORRUPT, "table metadata: %s", what);
}

static int get_i64(rctx_t *c, const ak_jv_t *o, const char *k, int64_t *out)
{
    if (!ak__jint(ak__jget(o, k), out))
        return ak_errf(c->err, AK_E_CORRUPT, "table metadata: `%s` is missing or not an integer", k);
    return 0;
}

static int get_i32(rctx_t *c, const ak_jv_t *o, const char *k, int32_t *out)
{
    int64_t v;
    if (get_i64(c, o, k, &v))
        return -1;
    if (v < INT32_MIN || v > INT32_MAX)
        return ak_errf(c->err, AK_E_CORRUPT, "table metadata: `%s` is out of range", k);
    *out = (int32_t)v;
    return 0;
}

static const char *get_str(rctx_t *c, const ak_jv_t *o, const char *k)
{
    const ak_jv_t *v = ak__jget(o, k);
    if (!v || v->type != AK_J_STR) {
        ak_errf(c->err, AK_E_CORRUPT, "table metadata: `%s` is missing or not a string", k);
        return NULL;
    }
    return v->s;
}

static const ak_jv_t *get_arr(rctx_t *c, const ak_jv_t *o, const char *k, bool required)
{
    const ak_jv_t *v = ak__jget(o, k);
    if ((!v && !required) || (v && v->type == AK_J_ARR))
        return v;
    ak_errf(c->err, AK_E_CORRUPT, "table metadata: `%s` is missing or not an array", k);
    return NULL;
}

static int dup_into(rctx_t *c, char **dst, const char *s)
{
    *dst = ak_strdup(s);
    return *dst ? 0 : ak_err_nomem(c->err);
}

static int read_schema(rctx_t *c, const ak_jv_t *root)
{
    ak_ice_table_t *t = c->t;
    const ak_jv_t *schemas = get_arr(c, root, "schemas", true);
    if (!schemas || get_i32(c, root, "current-schema-id", &t->schema_id))
        return -1;
    const ak_jv_t *sc = NULL;
    for (size_t i = 0; i < schemas->n; i++) {
        int64_t id;
        if (ak__jint(ak__jget(&schemas->items[i], "schema-id"), &id) && id == t->schema_id)
            sc = &schemas->items[i];
    }
    if (!sc)
        return bad(c, "the current schema is not among `schemas`");
    const ak_jv_t *fields = get_arr(c, sc, "fields", true);
    if (!fields)
        return -1;
    if (fields->n > AK_ICE_MAX_FIELDS)
        return bad(c, "too many fields");
    t->fields = ak_calloc(fields->n ? fields->n : 1, sizeof *t->fields);
    if (!t->fields)
        return ak_err_nomem(c->err);
    for (size_t i = 0; i < fields->n; i++) {
        const ak_jv_t *f = &fields->items[i];
        ak_ice_field_t *o = &t->fields[t->nfields];
        const ak_jv_t *ty = ak__jget(f, "type"), *rq = ak__jget(f, "required");
        const char *name = get_str(c, f, "name");
        if (!name || get_i32(c, f, "id", &o->id))
            return -1;
        if (!ty || ty->type != AK_J_STR || (o->type = ak__ice_itype_parse(ty->s)) == AK_IT_NONE)
            return ak_errf(c->err, AK_E_UNSUPPORTED,
                           "table metadata: field `%.100s` has a type this reader does not support", name);
        o->required = rq && rq->type == AK_J_BOOL && rq->b;
        if (dup_into(c, &o->name, name))
            return -1;
        t->nfields++;
        for (int k = 0; k < t->nfields - 1; k++)
            if (t->fields[k].id == o->id)
                return bad(c, "two fields share an id");
    }
    return 0;
}

static int field_index(const ak_ice_table_t *t, int32_t id)
{
    for (int i = 0; i < t->nfields; i++)
        if (t->fields[i].id == id)
            return i;
    return -1;
}

static int read_spec(rctx_t *c, const ak_jv_t *root)
{
    ak_ice_table_t *t = c->t;
    const ak_jv_t *specs = get_arr(c, root, "partition-specs", true);
    if (!specs || get_i32(c, root, "default-spec-id", &t->spec_id) ||
        get_i32(c, root, "last-partition-id", &t->last_partition_id))
        return -1;
    const ak_jv_t *sp = NULL;
    for (size_t i = 0; i < specs->n; i++) {
        int64_t id;
        if (ak__jint(ak__jget(&specs->items[i], "spec-id"), &id) && id == t->spec_id)
            sp = &specs->items[i];
    }
    if (!sp)
        return bad(c, "the default partition spec is not among `partition-specs`");
    const ak_jv_t *fields = get_arr(c, sp, "fields", true);
    if (!fields)
        return -1;
    if (fields->n > AK_ICE_MAX_FIELDS)
        return bad(c, "too many partition fields");
    t->pf = ak_calloc(fields->n ? fields->n : 1, sizeof *t->pf);
    if (!t->pf)
        return ak_err_nomem(c->err);
    for (size_t i = 0; i < fields->n; i++) {
        const ak_jv_t *f = &fields->items[i];
        ak_ice_pfield_t *p = &t->pf[t->npf];
        const char *name = get_str(c, f, "name"), *tr = name ? get_str(c, f, "transform") : NULL;
        if (!tr || get_i32(c, f, "source-id", &p->source_id) || get_i32(c, f, "field-id", &p->field_id))
            return -1;
        if (ak__ice_tr_parse(tr, &p->tr))
            return ak_errf(c->err, AK_E_UNSUPPORTED, "table metadata: partition transform `%.60s` is not supported", tr);
        if ((p->src = field_index(t, p->source_id)) < 0)
            return bad(c, "a partition field's source is not in the schema");
        ak_itype_t st = t->fields[p->src].type;
        if (p->tr != AK_TR_IDENTITY && st != AK_IT_DATE && st != AK_IT_TIMESTAMP && st != AK_IT_TIMESTAMPTZ)
            return bad(c, "a time partition transform on a column that is not a date or timestamp");
        if (dup_into(c, &p->name, name))
            return -1;
        t->npf++;
    }
    return 0;
}

static int read_sort(rctx_t *c, const ak_jv_t *root)
{
    ak_ice_table_t *t = c->t;
    const ak_jv_t *orders = get_arr(c, root, "sort-orders", false);
    if (get_i32(c, root, "default-sort-order-id", &t->sort_order_id))
        t->sort_order_id = 0;
    for (size_t i = 0; orders && i < orders->n; i++) {
        int64_t id;
        if (!ak__jint(ak__jget(&orders->items[i], "order-id"), &id) || id != t->sort_order_id)
            continue;
        const ak_jv_t *f = get_arr(c, &orders->items[i], "fields", true);
        if (!f)
            return -1;
        t->sort_ids = ak_calloc(f->n ? f->n : 1, sizeof *t->sort_ids);
        if (!t->sort_ids)
            return ak_err_nomem(c->err);
        for (size_t k = 0; k < f->n; k++)
            if (get_i32(c, &f->items[k], "source-id", &t->sort_ids[t->nsort++]))
                return -1;
    }
    ak_err_clear(c->err);
    return 0;
}

static int read_kvs(rctx_t *c, const ak_jv_t *o, ak_ice_kv_t **out, size_t *n)
{
    if (!o || o->type != AK_J_OBJ)
        return 0;
    *out = ak_calloc(o->n ? o->n : 1, sizeof **out);
    if (!*out)
        return ak_err_nomem(c->err);
    for (size_t i = 0; i < o->n; i++) {
        if (o->items[i].type != AK_J_STR)
            continue; /* summaries and properties are strings; skip anything else */
        ak_ice_kv_t *kv = &(*out)[*n];
        if (dup_into(c, &kv->k, o->keys[i]) || dup_into(c, &kv->v, o->items[i].s)) {
            ak_free(kv->k);
            kv->k = NULL;
            return -1;
        }
        (*n)++;
    }
    return 0;
}

static int read_snaps(rctx_t *c, const ak_jv_t *root)
{
    ak_ice_table_t *t = c->t;
    const ak_jv_t *snaps = get_arr(c, root, "snapshots", false);
    if (!snaps && c->err->code)
        return -1;
    size_t n = snaps ? snaps->n : 0;
    t->snaps = ak_calloc(n ? n : 1, sizeof *t->snaps);
    if (!t->snaps)
        return ak_err_nomem(c->err);
    for (size_t i = 0; i < n; i++) {
        const ak_jv_t *s = &snaps->items[i];
        ak_ice_snap_t *o = &t->snaps[t->nsnaps];
        const ak_jv_t *sum = ak__jget(s, "summary");
        const char *list = get_str(c, s, "manifest-list");
        if (!list)
            return ak_errf(c->err, AK_E_UNSUPPORTED,
                           "table metadata: a snapshot without `manifest-list` (v1 inline manifests) is not supported");
        if (get_i64(c, s, "snapshot-id", &o->id) || get_i64(c, s, "timestamp-ms", &o->ts_ms) ||
            get_i64(c, s, "sequence-number", &o->seq))
            return -1;
        if (!ak__jint(ak__jget(s, "parent-snapshot-id"), &o->parent))
            o->parent = -1;
        int64_t sid = t->schema_id;
        ak__jint(ak__jget(s, "schema-id"), &sid);
        o->schema_id = (int32_t)sid;
        t->nsnaps++;
        if (dup_into(c, &o->list, list) || read_kvs(c, sum, &o->sum, &o->nsum))
            return -1;
        if (!ak__ice_snap_sum(o, "operation"))
            return bad(c, "a snapshot summary has no `operation`");
        if (o->seq > t->last_seq)
            return bad(c, "a snapshot's sequence number is above last-sequence-number");
    }
    const ak_jv_t *log = get_arr(c, root, "snapshot-log", false);
    n = log ? log->n : 0;
    t->slog_ts = ak_calloc(n + 1, sizeof *t->slog_ts);
    t->slog_id = ak_calloc(n + 1, sizeof *t->slog_id);
    if (!t->slog_ts || !t->slog_id)
        return ak_err_nomem(c->err);
    for (size_t i = 0; i < n; i++, t->nslog++)
        if (get_i64(c, &log->items[i], "timestamp-ms", &t->slog_ts[i]) ||
            get_i64(c, &log->items[i], "snapshot-id", &t->slog_id[i]))
            return -1;
    log = get_arr(c, root, "metadata-log", false);
    n = log ? log->n : 0;
    t->mlog = ak_calloc(n + 1, sizeof *t->mlog);
    if (!t->mlog)
        return ak_err_nomem(c->err);
    for (size_t i = 0; i < n; i++) {
        const char *f = get_str(c, &log->items[i], "metadata-file");
        if (!f || get_i64(c, &log->items[i], "timestamp-ms", &t->mlog[i].ts_ms) || dup_into(c, &t->mlog[i].file, f))
            return -1;
        t->nmlog++;
    }
    return 0;
}

int ak__ice_meta_read(ak_ice_table_t *t, const char *json, size_t n, ak_err_t *err)
{
    ak__ice_table_clear(t);
    ak_arena_t ar;
    ak_arena_init(&ar, 64 * 1024);
    ak_jv_t *root;
    rctx_t c = {t, err};
    int rc = -1;
    int64_t fv;
    ak_err_clear(err);
    if (ak__json_parse(&ar, json, n, &root, err))
        goto out;
    if (root->type != AK_J_OBJ) {
        bad(&c, "not a JSON object");
        goto out;
    }
    if (get_i64(&c, root, "format-version", &fv))
        goto out;
    if (fv != 2) {
        ak_errf(err, AK_E_UNSUPPORTED, "table metadata: format-version %lld is not supported (only 2)", (long long)fv);
        goto out;
    }
    const char *uuid = get_str(&c, root, "table-uuid"), *loc = uuid ? get_str(&c, root, "location") : NULL;
    if (!loc)
        goto out;
    if (strlen(uuid) >= sizeof t->uuid) {
        bad(&c, "table-uuid is too long");
        goto out;
    }
    strcpy(t->uuid, uuid);
    if (dup_into(&c, &t->location, loc) || get_i64(&c, root, "last-sequence-number", &t->last_seq) ||
        get_i64(&c, root, "last-updated-ms", &t->last_updated_ms) ||
        get_i32(&c, root, "last-column-id", &t->last_column_id) || read_schema(&c, root) || read_spec(&c, root) ||
        read_sort(&c, root) || read_kvs(&c, ak__jget(root, "properties"), &t->props, &t->nprops) ||
        read_snaps(&c, root))
        goto out;
    /* the main branch, else current-snapshot-id */
    const ak_jv_t *main_ref = ak__jget(ak__jget(root, "refs"), "main");
    if (!ak__jint(ak__jget(main_ref, "snapshot-id"), &t->current) &&
        !ak__jint(ak__jget(root, "current-snapshot-id"), &t->current))
        t->current = -1;
    if (t->current >= 0 && !ak__ice_find_snap(t, t->current)) {
        bad(&c, "the current snapshot is not among `snapshots`");
        goto out;
    }
    for (int i = 0; i < t->nfields; i++)
        if (t->fields[i].id > t->last_column_id) {
            bad(&c, "a field id is above last-column-id");
            goto out;
        }
    rc = 0;
out:
    ak_arena_free(&ar);
    if (rc)
        ak__ice_table_clear(t);
    return rc;
}
