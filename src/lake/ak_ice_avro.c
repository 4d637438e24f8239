/* ak_ice_avro.c - manifests and manifest lists: Avro object container files
 * with the Iceberg v2 schemas (field names and field-ids as the spec gives
 * them) and the file metadata keys readers expect.
 *
 * Records are encoded and decoded by libavro (generic values); the container
 * framing (magic, metadata map, sync markers, blocks) is written and parsed
 * here because libavro's file writer cannot add metadata keys, and because
 * container bytes read from disk must be bounded before anything trusts a
 * length in them.  Codec: null (deflate-compressed files from other writers
 * are refused with a message).
 */
#include <avro.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ak_alloc.h"
#include "ak_ice_int.h"
#include "ak_io.h"
#include "ak_time.h"

#define AVRO_MAX_FILE (1u << 30)   /* refuse metadata files above 1 GiB */

void ak__ice_entries_init(ak_ice_entries_t *es)
{
    memset(es, 0, sizeof *es);
    ak_arena_init(&es->ar, 64 * 1024);
}

void ak__ice_entries_free(ak_ice_entries_t *es)
{
    ak_free(es->e);
    ak_arena_free(&es->ar);
    memset(es, 0, sizeof *es);
}

/* ---- schemas */

static void avro_type(ak_buf_t *b, ak_itype_t t)
{
    switch (t) {
    case AK_IT_DATE: ak_buf_puts(b, "{\"type\": \"int\", \"logicalType\": \"date\"}"); break;
    case AK_IT_TIMESTAMPTZ:
        ak_buf_puts(b, "{\"type\": \"long\", \"logicalType\": \"timestamp-micros\", \"adjust-to-utc\": true}");
        break;
    case AK_IT_TIMESTAMP:
        ak_buf_puts(b, "{\"type\": \"long\", \"logicalType\": \"timestamp-micros\", \"adjust-to-utc\": false}");
        break;
    default: ak_buf_printf(b, "\"%s\"", ak__ice_itype_name(t)); break;
    }
}

static void map_field(ak_buf_t *b, const char *name, int id, int kid, int vid, const char *vt)
{
    ak_buf_printf(b, ", {\"name\": \"%s\", \"type\": [\"null\", {\"type\": \"array\", \"items\": {\"type\": \"record\", "
                     "\"name\": \"k%d_v%d\", \"fields\": [{\"name\": \"key\", \"type\": \"int\", \"field-id\": %d}, "
                     "{\"name\": \"value\", \"type\": \"%s\", \"field-id\": %d}]}, \"logicalType\": \"map\"}], "
                     "\"default\": null, \"field-id\": %d}",
                  name, kid, vid, kid, vt, vid, id);
}

static void entry_schema(const ak_ice_table_t *t, ak_buf_t *b)
{
    ak_buf_puts(b, "{\"type\": \"record\", \"name\": \"manifest_entry\", \"fields\": ["
                   "{\"name\": \"status\", \"type\": \"int\", \"field-id\": 0}, "
                   "{\"name\": \"snapshot_id\", \"type\": [\"null\", \"long\"], \"default\": null, \"field-id\": 1}, "
                   "{\"name\": \"sequence_number\", \"type\": [\"null\", \"long\"], \"default\": null, \"field-id\": 3}, "
                   "{\"name\": \"file_sequence_number\", \"type\": [\"null\", \"long\"], \"default\": null, "
                   "\"field-id\": 4}, "
                   "{\"name\": \"data_file\", \"type\": {\"type\": \"record\", \"name\": \"r2\", \"fields\": ["
                   "{\"name\": \"content\", \"type\": \"int\", \"field-id\": 134}, "
                   "{\"name\": \"file_path\", \"type\": \"string\", \"field-id\": 100}, "
                   "{\"name\": \"file_format\", \"type\": \"string\", \"field-id\": 101}, "
                   "{\"name\": \"partition\", \"type\": {\"type\": \"record\", \"name\": \"r102\", \"fields\": [");
    for (int i = 0; i < t->npf; i++) {
        ak_buf_puts(b, i ? ", {\"name\": \"" : "{\"name\": \"");
        ak__ice_avro_name(t->pf[i].name, b);
        ak_buf_puts(b, "\", \"type\": [\"null\", ");
        avro_type(b, ak__ice_part_type(t, &t->pf[i]));
        ak_buf_printf(b, "], \"default\": null, \"field-id\": %d}", t->pf[i].field_id);
    }
    ak_buf_puts(b, "]}, \"field-id\": 102}, "
                   "{\"name\": \"record_count\", \"type\": \"long\", \"field-id\": 103}, "
                   "{\"name\": \"file_size_in_bytes\", \"type\": \"long\", \"field-id\": 104}");
    map_field(b, "column_sizes", 108, 117, 118, "long");
    map_field(b, "value_counts", 109, 119, 120, "long");
    map_field(b, "null_value_counts", 110, 121, 122, "long");
    map_field(b, "nan_value_counts", 137, 138, 139, "long");
    map_field(b, "lower_bounds", 125, 126, 127, "bytes");
    map_field(b, "upper_bounds", 128, 129, 130, "bytes");
    ak_buf_puts(b, ", {\"name\": \"key_metadata\", \"type\": [\"null\", \"bytes\"], \"default\": null, \"field-id\": 131}"
                   ", {\"name\": \"split_offsets\", \"type\": [\"null\", {\"type\": \"array\", \"items\": \"long\", "
                   "\"element-id\": 133}], \"default\": null, \"field-id\": 132}"
                   ", {\"name\": \"equality_ids\", \"type\": [\"null\", {\"type\": \"array\", \"items\": \"int\", "
                   "\"element-id\": 136}], \"default\": null, \"field-id\": 135}"
                   ", {\"name\": \"sort_order_id\", \"type\": [\"null\", \"int\"], \"default\": null, \"field-id\": 140}"
                   "]}, \"field-id\": 2}]}");
}

static const char LIST_SCHEMA[] =
    "{\"type\": \"record\", \"name\": \"manifest_file\", \"fields\": ["
    "{\"name\": \"manifest_path\", \"type\": \"string\", \"field-id\": 500}, "
    "{\"name\": \"manifest_length\", \"type\": \"long\", \"field-id\": 501}, "
    "{\"name\": \"partition_spec_id\", \"type\": \"int\", \"field-id\": 502}, "
    "{\"name\": \"content\", \"type\": \"int\", \"field-id\": 517}, "
    "{\"name\": \"sequence_number\", \"type\": \"long\", \"field-id\": 515}, "
    "{\"name\": \"min_sequence_number\", \"type\": \"long\", \"field-id\": 516}, "
    "{\"name\": \"added_snapshot_id\", \"type\": \"long\", \"field-id\": 503}, "
    "{\"name\": \"added_files_count\", \"type\": \"int\", \"field-id\": 504}, "
    "{\"name\": \"existing_files_count\", \"type\": \"int\", \"field-id\": 505}, "
    "{\"name\": \"deleted_files_count\", \"type\": \"int\", \"field-id\": 506}, "
    "{\"name\": \"added_rows_count\", \"type\": \"long\", \"field-id\": 512}, "
    "{\"name\": \"existing_rows_count\", \"type\": \"long\", \"field-id\": 513}, "
    "{\"name\": \"deleted_rows_count\", \"type\": \"long\", \"field-id\": 514}, "
    "{\"name\": \"partitions\", \"type\": [\"null\", {\"type\": \"array\", \"items\": {\"type\": \"record\", "
    "\"name\": \"r508\", \"fields\": ["
    "{\"name\": \"contains_null\", \"type\": \"boolean\", \"field-id\": 509}, "
    "{\"name\": \"contains_nan\", \"type\": [\"null\", \"boolean\"], \"default\": null, \"field-id\": 518}, "
    "{\"name\": \"lower_bound\", \"type\": [\"null\", \"bytes\"], \"default\": null, \"field-id\": 510}, "
    "{\"name\": \"upper_bound\", \"type\": [\"null\", \"bytes\"], \"default\": null, \"field-id\": 511}]}, "
    "\"element-id\": 508}], \"default\": null, \"field-id\": 507}, "
    "{\"name\": \"key_metadata\", \"type\": [\"null\", \"bytes\"], \"default\": null, \"field-id\": 519}]}";

/* ---- writing */

typedef struct {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t rec;
    bool have_rec;
    ak_buf_t body;                 /* the encoded records */
    size_t count;
    ak_err_t *err;
} aw_t;

static int avfail(ak_err_t *err, const char *what)
{
    return ak_errf(err, AK_E_INTERNAL, "Avro %s: %s", what, avro_strerror());
}

static int aw_init(aw_t *w, const char *schema_json, size_t n, ak_err_t *err)
{
    memset(w, 0, sizeof *w);
    w->err = err;
    if (avro_schema_from_json_length(schema_json, n, &w->schema))
        return avfail(err, "schema");
    if (!(w->iface = avro_generic_class_from_schema(w->schema)))
        return avfail(err, "class");
    if (avro_generic_value_new(w->iface, &w->rec))
        return avfail(err, "value");
    w->have_rec = true;
    return 0;
}

static void aw_free(aw_t *w)
{
    if (w->have_rec)
        avro_value_decref(&w->rec);
    if (w->iface)
        avro_value_iface_decref(w->iface);
    if (w->schema)
        avro_schema_decref(w->schema);
    ak_buf_free(&w->body);
}

static int aw_append(aw_t *w)
{
    size_t size = 0;
    if (avro_value_sizeof(&w->rec, &size))
        return avfail(w->err, "sizeof");
    if (ak_buf_reserve(&w->body, size))
        return ak_err_nomem(w->err);
    avro_writer_t wr = avro_writer_memory(w->body.data + w->body.len, (int64_t)size);
    if (!wr)
        return avfail(w->err, "writer");
    int rc = avro_value_write(wr, &w->rec);
    avro_writer_free(wr);
    if (rc)
        return avfail(w->err, "write");
    w->body.len += size;
    w->count++;
    return 0;
}

static void put_avro_str(ak_buf_t *b, const char *s, size_t n)
{
    ak_buf_put_svarint(b, (int64_t)n);
    ak_buf_put(b, s, n);
}

/* The container: header with metadata pairs (NULL-ended), one block. */
static int aw_finish(aw_t *w, const char *schema_json, const char *const *meta, const char *path, int64_t *len)
{
    ak_buf_t f = AK_BUF_INIT;
    uint8_t sync[16];
    if (ak__ice_random(sync, sizeof sync))
        for (int i = 0; i < 16; i++)
            sync[i] = (uint8_t)(ak_hash_u64((uint64_t)ak_wall_us() + (uint64_t)i) & 0xFF);
    size_t npairs = 2;
    for (size_t i = 0; meta[i]; i += 2)
        npairs++;
    ak_buf_put(&f, "Obj\x01", 4);
    ak_buf_put_svarint(&f, (int64_t)npairs);
    put_avro_str(&f, "avro.schema", 11);
    put_avro_str(&f, schema_json, strlen(schema_json));
    put_avro_str(&f, "avro.codec", 10);
    put_avro_str(&f, "null", 4);
    for (size_t i = 0; meta[i]; i += 2) {
        put_avro_str(&f, meta[i], strlen(meta[i]));
        put_avro_str(&f, meta[i + 1], strlen(meta[i + 1]));
    }
    ak_buf_put_svarint(&f, 0);
    ak_buf_put(&f, sync, 16);
    if (w->count) {
        ak_buf_put_svarint(&f, (int64_t)w->count);
        ak_buf_put_svarint(&f, (int64_t)w->body.len);
        ak_buf_put(&f, w->body.data, w->body.len);
        ak_buf_put(&f, sync, 16);
    }
    int rc = f.oom ? ak_err_nomem(w->err) : ak_io_write_file_atomic(path, f.data, f.len, w->err);
    if (!rc)
        *len = (int64_t)f.len;
    ak_buf_free(&f);
    return rc;
}

#define FIELD(parent, name, out)                                                                            \
    do {                                                                                                    \
        if (avro_value_get_by_name((parent), (name), (out), NULL))                                          \
            return avfail(err, "field " name);                                                              \
    } while (0)

static int set_opt_long(avro_value_t *rec, const char *name, bool present, int64_t v, ak_err_t *err)
{
    avro_value_t u, br;
    if (avro_value_get_by_name(rec, name, &u, NULL) || avro_value_set_branch(&u, present, &br))
        return avfail(err, name);
    if (!present)
        return avro_value_set_null(&br) ? avfail(err, name) : 0;
    if (avro_value_get_type(&br) == AVRO_INT32)
        return avro_value_set_int(&br, (int32_t)v) ? avfail(err, name) : 0;
    return avro_value_set_long(&br, v) ? avfail(err, name) : 0;
}

/* One of the id -> value maps (an array of key/value records). */
static int set_map(avro_value_t *df, const char *name, const ak_ice_entry_t *e, int which,
                   const ak_ice_table_t *t, ak_buf_t *tmp, ak_err_t *err)
{
    avro_value_t u, arr, el, k, v;
    int n = 0;
    for (int i = 0; i < e->ncols; i++)
        n += which < 3 || e->cols[i].has_bounds;
    if (avro_value_get_by_name(df, name, &u, NULL) || avro_value_set_branch(&u, n > 0, &arr))
        return avfail(err, name);
    if (n == 0)
        return avro_value_set_null(&arr) ? avfail(err, name) : 0;
    for (int i = 0; i < e->ncols; i++) {
        const ak_ice_colstat_t *c = &e->cols[i];
        if (which >= 3 && !c->has_bounds)
            continue;
        if (avro_value_append(&arr, &el, NULL) || avro_value_get_by_name(&el, "key", &k, NULL) ||
            avro_value_get_by_name(&el, "value", &v, NULL) || avro_value_set_int(&k, c->field_id))
            return avfail(err, name);
        int rc = 0;
        switch (which) {
        case 0: rc = avro_value_set_long(&v, c->bytes); break;
        case 1: rc = avro_value_set_long(&v, c->values); break;
        case 2: rc = avro_value_set_long(&v, c->nulls); break;
        default: {
            ak_itype_t ty = AK_IT_NONE;
            for (int f = 0; f < t->nfields; f++)
                if (t->fields[f].id == c->field_id)
                    ty = t->fields[f].type;
            ak_buf_clear(tmp);
            if (ak__ice_bound_put(ty, which == 3 ? &c->min : &c->max, tmp, err))
                return ak_err_prefix(err, "bound of field %d", c->field_id);
            rc = avro_value_set_bytes(&v, tmp->data ? tmp->data : (void *)"", tmp->len);
        }
        }
        if (rc)
            return avfail(err, name);
    }
    return 0;
}

static int encode_entry(aw_t *w, const ak_ice_table_t *t, const ak_ice_entry_t *e, ak_buf_t *tmp)
{
    ak_err_t *err = w->err;
    avro_value_t *r = &w->rec, f, df, part, u, br;
    avro_value_reset(r);
    FIELD(r, "status", &f);
    if (avro_value_set_int(&f, e->status))
        return avfail(err, "status");
    if (set_opt_long(r, "snapshot_id", true, e->snapshot_id, err) ||
        set_opt_long(r, "sequence_number", true, e->seq, err) ||
        set_opt_long(r, "file_sequence_number", true, e->file_seq, err))
        return -1;
    FIELD(r, "data_file", &df);
    FIELD(&df, "content", &f);
    if (avro_value_set_int(&f, (int)e->content))
        return avfail(err, "content");
    FIELD(&df, "file_path", &f);
    if (avro_value_set_string(&f, e->path))
        return avfail(err, "file_path");
    FIELD(&df, "file_format", &f);
    if (avro_value_set_string(&f, "PARQUET"))
        return avfail(err, "file_format");
    FIELD(&df, "partition", &part);
    for (int i = 0; i < t->npf; i++) {
        const ak_val_t *v = &e->part[i];
        if (avro_value_get_by_index(&part, (size_t)i, &u, NULL) ||
            avro_value_set_branch(&u, v->type != AK_NULL, &br))
            return avfail(err, "partition");
        ak_itype_t pt = ak__ice_part_type(t, &t->pf[i]);
        int rc = v->type == AK_NULL ? avro_value_set_null(&br) : 0;
        if (v->type != AK_NULL) {
            switch (pt) {
            case AK_IT_STRING: {
                /* a string value needs a terminated copy */
                char *s = ak_strndup(v->s, v->n);
                if (!s)
                    return ak_err_nomem(err);
                rc = avro_value_set_string(&br, s);
                ak_free(s);
                break;
            }
            case AK_IT_BOOLEAN: rc = avro_value_set_boolean(&br, v->i != 0); break;
            case AK_IT_INT:
            case AK_IT_DATE: rc = avro_value_set_int(&br, (int32_t)v->i); break;
            case AK_IT_FLOAT: rc = avro_value_set_float(&br, (float)v->d); break;
            case AK_IT_DOUBLE: rc = avro_value_set_double(&br, v->d); break;
            default: rc = avro_value_set_long(&br, v->i); break;
            }
        }
        if (rc)
            return avfail(err, "partition value");
    }
    FIELD(&df, "record_count", &f);
    if (avro_value_set_long(&f, e->rows))
        return avfail(err, "record_count");
    FIELD(&df, "file_size_in_bytes", &f);
    if (avro_value_set_long(&f, e->bytes))
        return avfail(err, "file_size_in_bytes");
    if (set_map(&df, "column_sizes", e, 0, t, tmp, err) || set_map(&df, "value_counts", e, 1, t, tmp, err) ||
        set_map(&df, "null_value_counts", e, 2, t, tmp, err) || set_map(&df, "lower_bounds", e, 3, t, tmp, err) ||
        set_map(&df, "upper_bounds", e, 4, t, tmp, err))
        return -1;
    static const char *const null_fields[] = {"nan_value_counts", "key_metadata", "split_offsets"};
    for (size_t i = 0; i < 3; i++) {
        if (avro_value_get_by_name(&df, null_fields[i], &u, NULL) || avro_value_set_branch(&u, 0, &br) || avro_value_set_null(&br))
            return avfail(err, null_fields[i]);
    }
    FIELD(&df, "equality_ids", &u);
    if (avro_value_set_branch(&u, e->neq > 0, &br))
        return avfail(err, "equality_ids");
    if (e->neq == 0) {
        if (avro_value_set_null(&br))
            return avfail(err, "equality_ids");
    }
    for (int i = 0; i < e->neq; i++) {
        avro_value_t el;
        if (avro_value_append(&br, &el, NULL) || avro_value_set_int(&el, e->eq_ids[i]))
            return avfail(err, "equality_ids");
    }
    if (set_opt_long(&df, "sort_order_id", e->sort_order_id >= 0, e->sort_order_id, err))
        return -1;
    return aw_append(w);
}

/* Partition summaries of a manifest's live entries. */
static int summarize(const ak_ice_table_t *t, ak_ice_entry_t *const *e, size_t n, ak_arena_t *ar, ak_ice_mfile_t *mf,
                     ak_err_t *err)
{
    mf->npart = t->npf;
    mf->parts = t->npf ? ak_arena_zalloc(ar, (size_t)t->npf * sizeof *mf->parts) : NULL;
    if (t->npf && !mf->parts)
        return ak_err_nomem(err);
    ak_buf_t tmp = AK_BUF_INIT;
    int rc = 0;
    for (int p = 0; p < t->npf && !rc; p++) {
        ak_ice_psum_t *s = &mf->parts[p];
        ak_itype_t pt = ak__ice_part_type(t, &t->pf[p]);
        const ak_val_t *lo = NULL, *hi = NULL;
        s->contains_nan = pt == AK_IT_FLOAT || pt == AK_IT_DOUBLE ? 0 : -1;
        for (size_t i = 0; i < n; i++) {
            const ak_val_t *v = &e[i]->part[p];
            if (e[i]->status == 2)
                continue;
            if (v->type == AK_NULL) {
                s->contains_null = true;
                continue;
            }
            if ((v->type == AK_DOUBLE || v->type == AK_FLOAT) && v->d != v->d) {
                s->contains_nan = 1;
                continue;
            }
            if (!lo || ak_val_cmp(v, lo) < 0)
                lo = v;
            if (!hi || ak_val_cmp(v, hi) > 0)
                hi = v;
        }
        for (int k = 0; k < 2 && lo && !rc; k++) {
            ak_buf_clear(&tmp);
            if (ak__ice_bound_put(pt, k ? hi : lo, &tmp, err)) {
                rc = -1;
                break;
            }
            uint8_t *copy = ak_arena_alloc_bytes(ar, tmp.len + 1);
            if (!copy) {
                rc = ak_err_nomem(err);
                break;
            }
            memcpy(copy, tmp.data, tmp.len);
            if (k) {
                s->has_hi = true, s->hi = copy, s->nhi = tmp.len;
            } else {
                s->has_lo = true, s->lo = copy, s->nlo = tmp.len;
            }
        }
    }
    ak_buf_free(&tmp);
    return rc;
}

static void schema_json(const ak_ice_table_t *t, ak_buf_t *b)
{
    ak_buf_printf(b, "{\"type\": \"struct\", \"schema-id\": %d, \"fields\": [", t->schema_id);
    for (int i = 0; i < t->nfields; i++) {
        ak_buf_printf(b, "%s{\"id\": %d, \"name\": ", i ? ", " : "", t->fields[i].id);
        ak_buf_put_json_str(b, t->fields[i].name, strlen(t->fields[i].name));
        ak_buf_printf(b, ", \"required\": %s, \"type\": \"%s\"}", t->fields[i].required ? "true" : "false",
                      ak__ice_itype_name(t->fields[i].type));
    }
    ak_buf_puts(b, "]}");
}

static void spec_json(const ak_ice_table_t *t, ak_buf_t *b)
{
    ak_buf_putc(b, '[');
    for (int i = 0; i < t->npf; i++) {
        ak_buf_puts(b, i ? ", {\"name\": " : "{\"name\": ");
        ak_buf_put_json_str(b, t->pf[i].name, strlen(t->pf[i].name));
        ak_buf_printf(b, ", \"transform\": \"%s\", \"source-id\": %d, \"field-id\": %d}", ak__ice_tr_name(t->pf[i].tr),
                      t->pf[i].source_id, t->pf[i].field_id);
    }
    ak_buf_putc(b, ']');
}

int ak__ice_manifest_write(const ak_ice_table_t *t, int content, ak_ice_entry_t *const *e, size_t n,
                           int64_t snapshot_id, int64_t seq, const char *path, ak_arena_t *ar, ak_ice_mfile_t *mf,
                           ak_err_t *err)
{
    ak_buf_t sch = AK_BUF_INIT, isch = AK_BUF_INIT, spec = AK_BUF_INIT, tmp = AK_BUF_INIT;
    char sid[24], specid[24];
    aw_t w;
    int rc = -1;
    entry_schema(t, &sch);
    schema_json(t, &isch);
    spec_json(t, &spec);
    snprintf(sid, sizeof sid, "%d", t->schema_id);
    snprintf(specid, sizeof specid, "%d", t->spec_id);
    memset(mf, 0, sizeof *mf);
    if (sch.oom || isch.oom || spec.oom) {
        ak_err_nomem(err);
        memset(&w, 0, sizeof w);
        goto out;
    }
    if (aw_init(&w, sch.data, sch.len, err))
        goto out;
    mf->min_seq = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (encode_entry(&w, t, e[i], &tmp))
            goto out;
        switch (e[i]->status) {
        case 0: mf->existing_files++, mf->existing_rows += e[i]->rows; break;
        case 1: mf->added_files++, mf->added_rows += e[i]->rows; break;
        default: mf->deleted_files++, mf->deleted_rows += e[i]->rows; break;
        }
        if (e[i]->status != 2 && e[i]->seq < mf->min_seq)
            mf->min_seq = e[i]->seq;
    }
    if (mf->min_seq == INT64_MAX)
        mf->min_seq = seq;
    const char *meta[] = {"schema", isch.data, "schema-id", sid, "partition-spec", spec.data, "partition-spec-id",
                          specid, "format-version", "2", "content", content ? "deletes" : "data", NULL};
    if (summarize(t, e, n, ar, mf, err) || aw_finish(&w, sch.data, meta, path, &mf->length))
        goto out;
    mf->path = ak_arena_sprintf(ar, "file://%s", path);
    if (!mf->path) {
        ak_err_nomem(err);
        goto out;
    }
    mf->spec_id = t->spec_id;
    mf->content = content;
    mf->seq = seq;
    mf->added_snapshot_id = snapshot_id;
    rc = 0;
out:
    aw_free(&w);
    ak_buf_free(&sch);
    ak_buf_free(&isch);
    ak_buf_free(&spec);
    ak_buf_free(&tmp);
    return rc;
}

static int set_opt_bytes(avro_value_t *rec, const char *name, bool present, const void *p, size_t n, ak_err_t *err)
{
    avro_value_t u, br;
    if (avro_value_get_by_name(rec, name, &u, NULL) || avro_value_set_branch(&u, present, &br))
        return avfail(err, name);
    int rc = present ? avro_value_set_bytes(&br, (void *)(p ? p : ""), n) : avro_value_set_null(&br);
    return rc ? avfail(err, name) : 0;
}

int ak__ice_list_write(const ak_ice_table_t *t, const ak_ice_snap_t *s, const ak_ice_mfile_t *mf, size_t n,
                       const char *path, int64_t *len, ak_err_t *err)
{
    aw_t w;
    int rc = -1;
    (void)t;
    if (aw_init(&w, LIST_SCHEMA, sizeof LIST_SCHEMA - 1, err))
        goto out;
    for (size_t i = 0; i < n; i++) {
        const ak_ice_mfile_t *m = &mf[i];
        avro_value_t *r = &w.rec, f, u, arr, el;
        avro_value_reset(r);
        struct { const char *name; int64_t v; bool is_int; } nums[] = {
            {"manifest_length", m->length, false}, {"partition_spec_id", m->spec_id, true},
            {"content", m->content, true}, {"sequence_number", m->seq, false},
            {"min_sequence_number", m->min_seq, false}, {"added_snapshot_id", m->added_snapshot_id, false},
            {"added_files_count", m->added_files, true}, {"existing_files_count", m->existing_files, true},
            {"deleted_files_count", m->deleted_files, true}, {"added_rows_count", m->added_rows, false},
            {"existing_rows_count", m->existing_rows, false}, {"deleted_rows_count", m->deleted_rows, false}};
        FIELD(r, "manifest_path", &f);
        if (avro_value_set_string(&f, m->path)) {
            avfail(err, "manifest_path");
            goto out;
        }
        for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
            if (avro_value_get_by_name(r, nums[k].name, &f, NULL) ||
                (nums[k].is_int ? avro_value_set_int(&f, (int32_t)nums[k].v) : avro_value_set_long(&f, nums[k].v))) {
                avfail(err, nums[k].name);
                goto out;
            }
        }
        if (avro_value_get_by_name(r, "partitions", &u, NULL) || avro_value_set_branch(&u, m->parts != NULL, &arr) ||
            (!m->parts && avro_value_set_null(&arr))) {
            avfail(err, "partitions");
            goto out;
        }
        for (int p = 0; m->parts && p < m->npart; p++) {
            const ak_ice_psum_t *ps = &m->parts[p];
            avro_value_t cn, nb;
            if (avro_value_append(&arr, &el, NULL) || avro_value_get_by_name(&el, "contains_null", &cn, NULL) ||
                avro_value_set_boolean(&cn, ps->contains_null) ||
                avro_value_get_by_name(&el, "contains_nan", &u, NULL) ||
                avro_value_set_branch(&u, ps->contains_nan >= 0, &nb) ||
                (ps->contains_nan >= 0 ? avro_value_set_boolean(&nb, ps->contains_nan > 0) : avro_value_set_null(&nb))) {
                avfail(err, "partitions");
                goto out;
            }
            if (set_opt_bytes(&el, "lower_bound", ps->has_lo, ps->lo, ps->nlo, err) ||
                set_opt_bytes(&el, "upper_bound", ps->has_hi, ps->hi, ps->nhi, err))
                goto out;
        }
        if (set_opt_bytes(r, "key_metadata", false, NULL, 0, err) || aw_append(&w))
            goto out;
    }
    char sid[24], pid[24], seq[24];
    snprintf(sid, sizeof sid, "%" PRId64, s->id);
    snprintf(seq, sizeof seq, "%" PRId64, s->seq);
    if (s->parent >= 0)
        snprintf(pid, sizeof pid, "%" PRId64, s->parent);
    else
        snprintf(pid, sizeof pid, "null");
    const char *meta[] = {"snapshot-id", sid, "parent-snapshot-id", pid, "sequence-number", seq,
                          "format-version", "2", NULL};
    rc = aw_finish(&w, LIST_SCHEMA, meta, path, len);
out:
    aw_free(&w);
    return rc;
}

/* ---- reading */

typedef struct {
    uint8_t *file;
    size_t size;
    const uint8_t *p, *e;
    char *schema;                  /* avro.schema, NUL-terminated */
    char *content;                 /* Iceberg `content` key, or NULL */
    uint8_t sync[16];
    ak_err_t *err;
    const char *path;
} ar_t;

static int rd_fail(ar_t *r, const char *what)
{
    return ak_errf(r->err, AK_E_CORRUPT, "%s: not a valid Avro file (%s)", r->path, what);
}

/* A zigzag long at r->p; -1 (no message) if truncated. */
static int peek_long(ar_t *r, int64_t *out)
{
    uint64_t u = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->e)
            return -1;
        uint8_t b = *r->p++;
        u |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
            return 0;
        }
    }
    return -1;
}

static int rd_long(ar_t *r, int64_t *out)
{
    uint64_t u = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->e)
            return rd_fail(r, "truncated");
        uint8_t b = *r->p++;
        u |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
            return 0;
        }
    }
    return rd_fail(r, "varint too long");
}

static int rd_bytes(ar_t *r, const uint8_t **p, size_t *n)
{
    int64_t l;
    if (rd_long(r, &l))
        return -1;
    if (l < 0 || l > r->e - r->p)
        return rd_fail(r, "length past the end");
    *p = r->p;
    *n = (size_t)l;
    r->p += l;
    return 0;
}

static void rd_free(ar_t *r)
{
    ak_free(r->file);
    ak_free(r->schema);
    ak_free(r->content);
}

static int rd_open(ar_t *r, const char *uri, ak_err_t *err)
{
    memset(r, 0, sizeof *r);
    r->err = err;
    r->path = ak__ice_local(uri);
    int fd = open(r->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return ak_errf(err, AK_E_IO, "cannot open %s: %s", r->path, strerror(errno));
    if (fstat(fd, &st) || st.st_size > AVRO_MAX_FILE) {
        close(fd);
        return ak_errf(err, AK_E_IO, "%s: cannot read (too large or unreadable)", r->path);
    }
    r->size = (size_t)st.st_size;
    r->file = ak_malloc(r->size ? r->size : 1);
    if (!r->file) {
        close(fd);
        return ak_err_nomem(err);
    }
    ssize_t got = r->size ? ak_io_pread(fd, r->file, r->size, 0) : 0;
    close(fd);
    if (got != (ssize_t)r->size)
        return ak_errf(err, AK_E_IO, "cannot read %s", r->path);
    r->p = r->file;
    r->e = r->file + r->size;
    if (r->size < 4 || memcmp(r->p, "Obj\x01", 4) != 0)
        return rd_fail(r, "no Avro magic");
    r->p += 4;
    for (;;) {
        int64_t cnt;
        if (rd_long(r, &cnt))
            return -1;
        if (cnt == 0)
            break;
        if (cnt < 0) {
            int64_t skip;
            if (rd_long(r, &skip))
                return -1;
            cnt = -cnt;
        }
        if (cnt > r->e - r->p)
            return rd_fail(r, "metadata count past the end");
        for (int64_t i = 0; i < cnt; i++) {
            const uint8_t *k, *v;
            size_t kn, vn;
            if (rd_bytes(r, &k, &kn) || rd_bytes(r, &v, &vn))
                return -1;
            char **dst = kn == 11 && memcmp(k, "avro.schema", 11) == 0 ? &r->schema
                         : kn == 7 && memcmp(k, "content", 7) == 0      ? &r->content
                                                                         : NULL;
            if (kn == 10 && memcmp(k, "avro.codec", 10) == 0 && !(vn == 4 && memcmp(v, "null", 4) == 0))
                return ak_errf(err, AK_E_UNSUPPORTED, "%s: Avro codec `%.*s` is not supported (only null)", r->path,
                               (int)(vn > 20 ? 20 : vn), (const char *)v);
            if (dst) {
                ak_free(*dst);
                if (!(*dst = ak_strndup((const char *)v, vn)))
                    return ak_err_nomem(err);
            }
        }
    }
    if (!r->schema)
        return rd_fail(r, "no avro.schema");
    if (r->e - r->p < 16)
        return rd_fail(r, "truncated header");
    memcpy(r->sync, r->p, 16);
    r->p += 16;
    return 0;
}

/* Checks that [*p, e) starts with a well-formed value of schema s: every
 * length inside the block, union branches in range, nesting bounded.
 * libavro's decoder then only sees bytes it can decode: on malformed input
 * it leaks and may try huge allocations. */
static int walk(avro_schema_t s, const uint8_t **p, const uint8_t *e, int depth)
{
    if (depth > 64)
        return -1;
    ar_t r = {.p = *p, .e = e};
    int64_t n;
    switch (avro_typeof(s)) {
    case AVRO_NULL: return 0;
    case AVRO_BOOLEAN:
        if (r.p >= e || *r.p > 1)
            return -1;
        *p = r.p + 1;
        return 0;
    case AVRO_INT32:
    case AVRO_INT64:
    case AVRO_ENUM:
        for (int i = 0; i < 10; i++)
            if (r.p < e && !(*r.p++ & 0x80)) {
                if (avro_typeof(s) == AVRO_ENUM) {
                    r.p = *p;
                    if (peek_long(&r, &n) || n < 0 || n >= avro_schema_enum_number_of_symbols(s))
                        return -1;
                }
                *p = r.p;
                return 0;
            }
        return -1;
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
        n = avro_typeof(s) == AVRO_FLOAT ? 4 : 8;
        if (e - r.p < n)
            return -1;
        *p = r.p + n;
        return 0;
    case AVRO_FIXED:
        n = avro_schema_fixed_size(s);
        if (n < 0 || e - r.p < n)
            return -1;
        *p = r.p + n;
        return 0;
    case AVRO_STRING:
    case AVRO_BYTES:
        if (peek_long(&r, &n) || n < 0 || n > e - r.p)
            return -1;
        *p = r.p + n;
        return 0;
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            if (walk(avro_schema_record_field_get_by_index(s, (int)i), p, e, depth + 1))
                return -1;
        return 0;
    case AVRO_UNION:
        if (peek_long(&r, &n) || n < 0 || (size_t)n >= avro_schema_union_size(s))
            return -1;
        *p = r.p;
        return walk(avro_schema_union_branch(s, (int)n), p, e, depth + 1);
    case AVRO_LINK: return walk(avro_schema_link_target(s), p, e, depth + 1);
    case AVRO_ARRAY:
    case AVRO_MAP: {
        bool map = avro_typeof(s) == AVRO_MAP;
        avro_schema_t items = map ? avro_schema_map_values(s) : avro_schema_array_items(s);
        int64_t total = 0;
        for (;;) {
            r.p = *p;
            if (peek_long(&r, &n))
                return -1;
            if (n == 0) {
                *p = r.p;
                return 0;
            }
            if (n < 0) {
                int64_t size;
                if (n == INT64_MIN || peek_long(&r, &size))
                    return -1;
                n = -n;
            }
            /* elements of zero bytes (nulls) could claim any count */
            total += n;
            if (total > (e - r.p) + 4096)
                return -1;
            *p = r.p;
            for (int64_t i = 0; i < n; i++) {
                if (map) {
                    ar_t k = {.p = *p, .e = e};
                    int64_t kl;
                    if (peek_long(&k, &kl) || kl < 0 || kl > e - k.p)
                        return -1;
                    *p = k.p + kl;
                }
                if (walk(items, p, e, depth + 1))
                    return -1;
            }
        }
    }
    default: return -1;
    }
}

/* Decodes every record of the file, calling fn on each. */
static int rd_each(ar_t *r, int (*fn)(avro_value_t *v, void *ctx), void *ctx)
{
    avro_schema_t schema = NULL;
    avro_value_iface_t *iface = NULL;
    avro_value_t val;
    bool have = false;
    int rc = -1;
    if (avro_schema_from_json_length(r->schema, strlen(r->schema), &schema)) {
        ak_errf(r->err, AK_E_CORRUPT, "%s: bad Avro schema: %s", r->path, avro_strerror());
        goto out;
    }
    if (!(iface = avro_generic_class_from_schema(schema)) || avro_generic_value_new(iface, &val)) {
        avfail(r->err, "class");
        goto out;
    }
    have = true;
    while (r->p < r->e) {
        int64_t cnt, size;
        if (rd_long(r, &cnt) || rd_long(r, &size))
            goto out;
        if (cnt < 0 || size < 0 || size > r->e - r->p || r->e - r->p - size < 16 || cnt > size) {
            rd_fail(r, "block past the end");
            goto out;
        }
        const uint8_t *q = r->p;
        for (int64_t i = 0; i < cnt; i++)
            if (walk(schema, &q, r->p + size, 0)) {
                rd_fail(r, "a record does not match the file's schema");
                goto out;
            }
        if (q != r->p + size) {
            rd_fail(r, "bytes after the block's records");
            goto out;
        }
        avro_reader_t rd = avro_reader_memory((const char *)r->p, size);
        if (!rd) {
            avfail(r->err, "reader");
            goto out;
        }
        for (int64_t i = 0; i < cnt; i++) {
            avro_value_reset(&val);
            if (avro_value_read(rd, &val)) {
                avro_reader_free(rd);
                ak_errf(r->err, AK_E_CORRUPT, "%s: bad Avro record: %s", r->path, avro_strerror());
                goto out;
            }
            if (fn(&val, ctx)) {
                avro_reader_free(rd);
                goto out;
            }
        }
        avro_reader_free(rd);
        r->p += size;
        if (memcmp(r->p, r->sync, 16) != 0) {
            rd_fail(r, "sync marker mismatch");
            goto out;
        }
        r->p += 16;
    }
    rc = 0;
out:
    if (have)
        avro_value_decref(&val);
    if (iface)
        avro_value_iface_decref(iface);
    if (schema)
        avro_schema_decref(schema);
    return rc;
}

/* Typed getters over a decoded record: a missing field or a wrong type is
 * corruption; an optional (union) field may be null. */
typedef struct {
    ak_err_t *err;
    const char *path;
    ak_arena_t *ar;
} gctx_t;

static int g_bad(gctx_t *g, const char *name)
{
    return ak_errf(g->err, AK_E_CORRUPT, "%s: field `%s` is missing or has the wrong type", g->path, name);
}

/* Unwraps a union; *present false for its null branch. */
static int g_unwrap(avro_value_t *v, avro_value_t *out, bool *present)
{
    if (avro_value_get_type(v) == AVRO_UNION) {
        if (avro_value_get_current_branch(v, out))
            return -1;
    } else {
        *out = *v;
    }
    *present = avro_value_get_type(out) != AVRO_NULL;
    return 0;
}

static int g_long(gctx_t *g, avro_value_t *rec, const char *name, bool optional, int64_t *out, bool *present)
{
    avro_value_t f, v;
    bool pr = false;
    if (avro_value_get_by_name(rec, name, &f, NULL)) {
        if (!optional)
            return g_bad(g, name);
        if (present)
            *present = false;
        return 0;
    }
    if (g_unwrap(&f, &v, &pr))
        return g_bad(g, name);
    if (present)
        *present = pr;
    if (!pr)
        return optional ? 0 : g_bad(g, name);
    int32_t i32;
    switch (avro_value_get_type(&v)) {
    case AVRO_INT32:
        if (avro_value_get_int(&v, &i32))
            return g_bad(g, name);
        *out = i32;
        return 0;
    case AVRO_INT64: return avro_value_get_long(&v, out) ? g_bad(g, name) : 0;
    default: return g_bad(g, name);
    }
}

static int g_str(gctx_t *g, avro_value_t *rec, const char *name, const char **out)
{
    avro_value_t f, v;
    bool pr;
    const char *s;
    size_t n;
    if (avro_value_get_by_name(rec, name, &f, NULL) || g_unwrap(&f, &v, &pr) || !pr ||
        avro_value_get_type(&v) != AVRO_STRING || avro_value_get_string(&v, &s, &n))
        return g_bad(g, name);
    *out = ak_arena_strndup(g->ar, s, n ? n - 1 : 0);
    return *out ? 0 : ak_err_nomem(g->err);
}

static int g_bytes(gctx_t *g, avro_value_t *v, const uint8_t **out, size_t *n)
{
    const void *p;
    if (avro_value_get_type(v) != AVRO_BYTES || avro_value_get_bytes(v, &p, n))
        return -1;
    uint8_t *c = ak_arena_alloc_bytes(g->ar, *n + 1);
    if (!c)
        return -1;
    memcpy(c, p, *n);
    *out = c;
    return 0;
}

/* ---- manifest entries */

typedef struct {
    gctx_t g;
    const ak_ice_table_t *t;
    ak_ice_entries_t *es;
} mctx_t;

static ak_ice_colstat_t *col_of(ak_ice_entry_t *e, int32_t id)
{
    for (int i = 0; i < e->ncols; i++)
        if (e->cols[i].field_id == id)
            return &e->cols[i];
    return NULL;
}

static int read_map(mctx_t *m, avro_value_t *df, const char *name, ak_ice_entry_t *e, int which)
{
    avro_value_t f, arr, el, k, v;
    bool pr;
    size_t n;
    if (avro_value_get_by_name(df, name, &f, NULL))
        return 0;
    if (g_unwrap(&f, &arr, &pr))
        return g_bad(&m->g, name);
    if (!pr)
        return 0;
    if (avro_value_get_type(&arr) != AVRO_ARRAY || avro_value_get_size(&arr, &n))
        return g_bad(&m->g, name);
    for (size_t i = 0; i < n; i++) {
        int32_t id;
        if (avro_value_get_by_index(&arr, i, &el, NULL) || avro_value_get_by_name(&el, "key", &k, NULL) ||
            avro_value_get_by_name(&el, "value", &v, NULL) || avro_value_get_int(&k, &id))
            return g_bad(&m->g, name);
        ak_ice_colstat_t *c = col_of(e, id);
        if (!c)
            continue; /* ids were gathered from column_sizes..upper_bounds beforehand */
        if (which < 3) {
            int64_t x;
            if (avro_value_get_long(&v, &x))
                return g_bad(&m->g, name);
            *(which == 0 ? &c->bytes : which == 1 ? &c->values : &c->nulls) = x;
            continue;
        }
        const uint8_t *b;
        size_t bn;
        ak_itype_t ty = AK_IT_NONE;
        for (int fi = 0; fi < m->t->nfields; fi++)
            if (m->t->fields[fi].id == id)
                ty = m->t->fields[fi].type;
        if (g_bytes(&m->g, &v, &b, &bn))
            return g_bad(&m->g, name);
        if (ty == AK_IT_NONE)
            continue; /* a column this schema no longer has */
        if (ak__ice_bound_get(ty, b, bn, which == 3 ? &c->min : &c->max, m->g.err))
            return ak_err_prefix(m->g.err, "%s: %s of field %d", m->g.path, name, id);
        c->has_bounds = true;
    }
    return 0;
}

/* Field ids named by any of the stat maps, to size the entry's columns. */
static int gather_ids(mctx_t *m, avro_value_t *df, ak_ice_entry_t *e)
{
    static const char *const maps[] = {"column_sizes", "value_counts", "null_value_counts", "lower_bounds",
                                       "upper_bounds"};
    int32_t ids[AK_ICE_MAX_FIELDS];
    int n = 0;
    for (size_t k = 0; k < 5; k++) {
        avro_value_t f, arr, el, key;
        bool pr;
        size_t cnt;
        if (avro_value_get_by_name(df, maps[k], &f, NULL))
            continue;
        if (g_unwrap(&f, &arr, &pr) || (pr && (avro_value_get_type(&arr) != AVRO_ARRAY ||
                                               avro_value_get_size(&arr, &cnt))))
            return g_bad(&m->g, maps[k]);
        for (size_t i = 0; pr && i < cnt; i++) {
            int32_t id;
            if (avro_value_get_by_index(&arr, i, &el, NULL) || avro_value_get_by_name(&el, "key", &key, NULL) ||
                avro_value_get_int(&key, &id))
                return g_bad(&m->g, maps[k]);
            bool seen = false;
            for (int j = 0; j < n && !seen; j++)
                seen = ids[j] == id;
            if (!seen) {
                if (n == AK_ICE_MAX_FIELDS)
                    return ak_errf(m->g.err, AK_E_CORRUPT, "%s: too many column statistics", m->g.path);
                ids[n++] = id;
            }
        }
    }
    e->cols = n ? ak_arena_zalloc(&m->es->ar, (size_t)n * sizeof *e->cols) : NULL;
    if (n && !e->cols)
        return ak_err_nomem(m->g.err);
    for (int i = 0; i < n; i++)
        e->cols[i].field_id = ids[i];
    e->ncols = n;
    return 0;
}

static int read_partition(mctx_t *m, avro_value_t *df, ak_ice_entry_t *e)
{
    avro_value_t part, u, v;
    size_t n;
    if (avro_value_get_by_name(df, "partition", &part, NULL) || avro_value_get_type(&part) != AVRO_RECORD ||
        avro_value_get_size(&part, &n) || n != (size_t)m->t->npf)
        return ak_errf(m->g.err, AK_E_CORRUPT, "%s: the partition struct does not match the table's partition spec",
                       m->g.path);
    e->part = ak_arena_zalloc(&m->es->ar, (n ? n : 1) * sizeof *e->part);
    if (!e->part)
        return ak_err_nomem(m->g.err);
    for (size_t i = 0; i < n; i++) {
        bool pr;
        ak_itype_t pt = ak__ice_part_type(m->t, &m->t->pf[i]);
        if (avro_value_get_by_index(&part, i, &u, NULL) || g_unwrap(&u, &v, &pr))
            return g_bad(&m->g, "partition");
        if (!pr)
            continue;
        int32_t i32;
        int64_t i64;
        int b;
        float f;
        double d;
        const char *s;
        size_t sn;
        int rc = -1;
        switch (pt) {
        case AK_IT_BOOLEAN: if (!(rc = avro_value_get_boolean(&v, &b))) e->part[i] = ak_v_bool(b); break;
        case AK_IT_INT: if (!(rc = avro_value_get_int(&v, &i32))) e->part[i] = ak_v_int(i32); break;
        case AK_IT_DATE: if (!(rc = avro_value_get_int(&v, &i32))) e->part[i] = ak_v_date(i32); break;
        case AK_IT_LONG: if (!(rc = avro_value_get_long(&v, &i64))) e->part[i] = ak_v_int(i64); break;
        case AK_IT_TIMESTAMP:
        case AK_IT_TIMESTAMPTZ: if (!(rc = avro_value_get_long(&v, &i64))) e->part[i] = ak_v_ts(i64); break;
        case AK_IT_FLOAT: if (!(rc = avro_value_get_float(&v, &f))) e->part[i] = ak_v_float(f); break;
        case AK_IT_DOUBLE: if (!(rc = avro_value_get_double(&v, &d))) e->part[i] = ak_v_double(d); break;
        case AK_IT_STRING:
            if (avro_value_get_type(&v) == AVRO_STRING && !(rc = avro_value_get_string(&v, &s, &sn))) {
                char *c = ak_arena_strndup(&m->es->ar, s, sn ? sn - 1 : 0);
                if (!c)
                    return ak_err_nomem(m->g.err);
                e->part[i] = ak_v_text(c, sn ? sn - 1 : 0);
            }
            break;
        default: break;
        }
        if (rc)
            return g_bad(&m->g, "partition");
    }
    return 0;
}

static int on_entry(avro_value_t *r, void *ctx)
{
    mctx_t *m = ctx;
    ak_ice_entries_t *es = m->es;
    if (es->n == es->cap && AK_GROW(es->e, es->cap, es->n + 1))
        return ak_err_nomem(m->g.err);
    ak_ice_entry_t *e = &es->e[es->n];
    memset(e, 0, sizeof *e);
    avro_value_t df, f, arr;
    int64_t x;
    bool pr;
    if (g_long(&m->g, r, "status", false, &x, NULL))
        return -1;
    if (x < 0 || x > 2)
        return ak_errf(m->g.err, AK_E_CORRUPT, "%s: manifest entry status %lld", m->g.path, (long long)x);
    e->status = (int)x;
    e->snapshot_id = e->seq = e->file_seq = -1;
    if (g_long(&m->g, r, "snapshot_id", true, &e->snapshot_id, NULL) ||
        g_long(&m->g, r, "sequence_number", true, &e->seq, NULL) ||
        g_long(&m->g, r, "file_sequence_number", true, &e->file_seq, NULL))
        return -1;
    if (avro_value_get_by_name(r, "data_file", &df, NULL) || avro_value_get_type(&df) != AVRO_RECORD)
        return g_bad(&m->g, "data_file");
    if (g_long(&m->g, &df, "content", true, &x, &pr))
        return -1;
    if (pr && (x < 0 || x > 2))
        return ak_errf(m->g.err, AK_E_CORRUPT, "%s: data file content %lld", m->g.path, (long long)x);
    e->content = pr ? (ak_ice_content_t)x : AK_ICE_DATA;
    const char *fmt;
    if (g_str(&m->g, &df, "file_path", &e->path) || g_str(&m->g, &df, "file_format", &fmt) ||
        g_long(&m->g, &df, "record_count", false, &e->rows, NULL) ||
        g_long(&m->g, &df, "file_size_in_bytes", false, &e->bytes, NULL) || read_partition(m, &df, e) ||
        gather_ids(m, &df, e) || read_map(m, &df, "column_sizes", e, 0) || read_map(m, &df, "value_counts", e, 1) ||
        read_map(m, &df, "null_value_counts", e, 2) || read_map(m, &df, "lower_bounds", e, 3) ||
        read_map(m, &df, "upper_bounds", e, 4))
        return -1;
    x = -1;
    if (g_long(&m->g, &df, "sort_order_id", true, &x, NULL))
        return -1;
    e->sort_order_id = (int32_t)x;
    if (!avro_value_get_by_name(&df, "equality_ids", &f, NULL)) {
        size_t n;
        if (g_unwrap(&f, &arr, &pr))
            return g_bad(&m->g, "equality_ids");
        if (pr) {
            if (avro_value_get_type(&arr) != AVRO_ARRAY || avro_value_get_size(&arr, &n) || n > AK_ICE_MAX_FIELDS)
                return g_bad(&m->g, "equality_ids");
            e->eq_ids = ak_arena_alloc(&es->ar, (n ? n : 1) * sizeof *e->eq_ids);
            if (!e->eq_ids)
                return ak_err_nomem(m->g.err);
            for (size_t i = 0; i < n; i++) {
                avro_value_t el;
                if (avro_value_get_by_index(&arr, i, &el, NULL) || avro_value_get_int(&el, &e->eq_ids[i]))
                    return g_bad(&m->g, "equality_ids");
            }
            e->neq = (int)n;
        }
    }
    if (strcmp(fmt, "PARQUET") != 0 && strcmp(fmt, "parquet") != 0)
        return ak_errf(m->g.err, AK_E_UNSUPPORTED, "%s: file format `%.20s` is not supported", m->g.path, fmt);
    es->n++;
    return 0;
}

int ak__ice_manifest_read(const ak_ice_table_t *t, const char *uri, ak_ice_entries_t *out, ak_err_t *err)
{
    ar_t r;
    size_t before = out->n;
    int rc = rd_open(&r, uri, err);
    mctx_t m = {{err, r.path, &out->ar}, t, out};
    if (!rc)
        rc = rd_each(&r, on_entry, &m);
    rd_free(&r);
    if (rc)
        out->n = before;
    return rc;
}

/* ---- manifest lists */

typedef struct {
    gctx_t g;
    ak_ice_mfile_t *mf;
    size_t n, cap;
} lctx_t;

static int on_mfile(avro_value_t *r, void *ctx)
{
    lctx_t *l = ctx;
    if (l->n == l->cap && AK_GROW(l->mf, l->cap, l->n + 1))
        return ak_err_nomem(l->g.err);
    ak_ice_mfile_t *m = &l->mf[l->n];
    memset(m, 0, sizeof *m);
    int64_t v[12] = {0};
    static const char *const names[] = {"manifest_length", "partition_spec_id", "content", "sequence_number",
                                        "min_sequence_number", "added_snapshot_id", "added_files_count",
                                        "existing_files_count", "deleted_files_count", "added_rows_count",
                                        "existing_rows_count", "deleted_rows_count"};
    const char *path;
    if (g_str(&l->g, r, "manifest_path", &path))
        return -1;
    m->path = (char *)path;
    for (int i = 0; i < 12; i++) {
        bool pr = true;
        /* v1 names of the counts */
        if (g_long(&l->g, r, names[i], i >= 2, &v[i], &pr))
            return -1;
        if (!pr && i >= 6 && i <= 8) {
            static const char *const v1[] = {"added_data_files_count", "existing_data_files_count",
                                             "deleted_data_files_count"};
            if (g_long(&l->g, r, v1[i - 6], true, &v[i], &pr))
                return -1;
        }
    }
    m->length = v[0];
    m->spec_id = (int32_t)v[1];
    m->content = (int)v[2];
    m->seq = v[3];
    m->min_seq = v[4];
    m->added_snapshot_id = v[5];
    m->added_files = (int32_t)v[6];
    m->existing_files = (int32_t)v[7];
    m->deleted_files = (int32_t)v[8];
    m->added_rows = v[9];
    m->existing_rows = v[10];
    m->deleted_rows = v[11];
    if (m->content < 0 || m->content > 1 || m->added_files < 0 || m->existing_files < 0 || m->deleted_files < 0)
        return ak_errf(l->g.err, AK_E_CORRUPT, "%s: a manifest_file record has impossible counts", l->g.path);
    avro_value_t f, arr, el, u, b;
    bool pr;
    size_t n;
    if (!avro_value_get_by_name(r, "partitions", &f, NULL) && !g_unwrap(&f, &arr, &pr) && pr) {
        if (avro_value_get_type(&arr) != AVRO_ARRAY || avro_value_get_size(&arr, &n) || n > AK_ICE_MAX_FIELDS)
            return g_bad(&l->g, "partitions");
        m->parts = ak_arena_zalloc(l->g.ar, (n ? n : 1) * sizeof *m->parts);
        if (!m->parts)
            return ak_err_nomem(l->g.err);
        m->npart = (int)n;
        for (size_t i = 0; i < n; i++) {
            ak_ice_psum_t *ps = &m->parts[i];
            int cn = 0;
            if (avro_value_get_by_index(&arr, i, &el, NULL) || avro_value_get_by_name(&el, "contains_null", &u, NULL) ||
                avro_value_get_boolean(&u, &cn))
                return g_bad(&l->g, "partitions");
            ps->contains_null = cn;
            ps->contains_nan = -1;
            if (!avro_value_get_by_name(&el, "contains_nan", &u, NULL) && !g_unwrap(&u, &b, &pr) && pr &&
                !avro_value_get_boolean(&b, &cn))
                ps->contains_nan = cn;
            if (!avro_value_get_by_name(&el, "lower_bound", &u, NULL) && !g_unwrap(&u, &b, &pr) && pr) {
                if (g_bytes(&l->g, &b, (const uint8_t **)&ps->lo, &ps->nlo))
                    return g_bad(&l->g, "lower_bound");
                ps->has_lo = true;
            }
            if (!avro_value_get_by_name(&el, "upper_bound", &u, NULL) && !g_unwrap(&u, &b, &pr) && pr) {
                if (g_bytes(&l->g, &b, (const uint8_t **)&ps->hi, &ps->nhi))
                    return g_bad(&l->g, "upper_bound");
                ps->has_hi = true;
            }
        }
    }
    l->n++;
    return 0;
}

int ak__ice_list_read(const char *uri, ak_arena_t *ar, ak_ice_mfile_t **out, size_t *n, ak_err_t *err)
{
    ar_t r;
    int rc = rd_open(&r, uri, err);
    lctx_t l = {{err, r.path, ar}, NULL, 0, 0};
    if (!rc)
        rc = rd_each(&r, on_mfile, &l);
    rd_free(&r);
    if (rc) {
        ak_free(l.mf);
        return -1;
    }
    *out = l.mf;
    *n = l.n;
    return 0;
}
