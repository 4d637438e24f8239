/* ak_kafka_pos.c - the Kafka connector's position text, and the DELETE a
 * tombstone's key stands for. */
#include "ak_kafka_int.h"

#include "ak_alloc.h"
#include "ak_cfg.h"
#include "ak_json_scan.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTITIONS 100000 /* Kafka's own limit is far lower; a bound against a corrupt position */

void ak__kpos_free(ak_kpos_t *p)
{
    ak_free(p->topic);
    ak_free(p->off);
    *p = (ak_kpos_t){0};
}

int ak__kpos_parse(const char *text, ak_kpos_t *out, ak_err_t *err)
{
    *out = (ak_kpos_t){0};
    ak_cfg_doc_t *doc;
    if (ak_cfg_parse("position", text, strlen(text), &doc, err))
        return ak_errf(err, AK_E_CORRUPT, "unreadable Kafka position `%.200s`", text);
    const ak_cfg_node_t *root = ak_cfg_root(doc),
                        *t = root && root->kind == AK_CFG_MAP ? ak_cfg_get(root, "topic") : NULL,
                        *o = root && root->kind == AK_CFG_MAP ? ak_cfg_get(root, "offsets") : NULL;
    int rc = 0;
    if (!t || t->kind != AK_CFG_SCALAR || !o || o->kind != AK_CFG_MAP) {
        rc = ak_errf(err, AK_E_CORRUPT,
                     "unreadable Kafka position `%.200s` (expected {\"topic\": ..., \"offsets\": {...}})", text);
        goto out;
    }
    int32_t n = 0;
    for (size_t i = 0; i < o->n; i++) {
        int64_t p;
        if (ak_parse_int(o->pairs[i].key->text, &p) || p < 0 || p >= MAX_PARTITIONS) {
            rc = ak_errf(err, AK_E_CORRUPT, "Kafka position `%.200s`: `%.40s` is not a partition number", text,
                         o->pairs[i].key->text);
            goto out;
        }
        if (p + 1 > n)
            n = (int32_t)p + 1;
    }
    if (!(out->topic = ak_strdup(t->text)) || !(out->off = ak_malloc(sizeof *out->off * (size_t)(n ? n : 1)))) {
        rc = ak_err_nomem(err);
        goto out;
    }
    out->n = n;
    for (int32_t i = 0; i < n; i++)
        out->off[i] = -1;
    for (size_t i = 0; i < o->n; i++) {
        int64_t p, v;
        ak_parse_int(o->pairs[i].key->text, &p);
        if (o->pairs[i].value->kind != AK_CFG_SCALAR || ak_parse_int(o->pairs[i].value->text, &v) || v < 0) {
            rc = ak_errf(err, AK_E_CORRUPT, "Kafka position `%.200s`: partition %" PRId64 " has no valid offset", text,
                         p);
            goto out;
        }
        out->off[p] = v;
    }
out:
    ak_cfg_free(doc);
    if (rc)
        ak__kpos_free(out);
    return rc;
}

void ak__kpos_write(ak_buf_t *b, const char *topic, const int64_t *off, int32_t n)
{
    ak_buf_puts(b, "{\"topic\":");
    ak_buf_put_json_str(b, topic, strlen(topic));
    ak_buf_puts(b, ",\"offsets\":{");
    bool first = true;
    for (int32_t i = 0; i < n; i++) {
        if (off[i] < 0)
            continue;
        ak_buf_printf(b, "%s\"%" PRId32 "\":%" PRId64, first ? "" : ",", i, off[i]);
        first = false;
    }
    ak_buf_puts(b, "}}");
}

/* The value of top-level key `name` in the object [p, end), as a span;
 * false if absent or the text is not an object. */
static bool member(const char *p, const char *end, const char *name, const char **vs, const char **ve)
{
    ak_err_t e;
    const char *base = p;
    p = ak__json_ws(p, end);
    if (p >= end || *p != '{')
        return false;
    p = ak__json_ws(p + 1, end);
    size_t nl = strlen(name);
    bool found = false;
    while (p < end && *p == '"') {
        bool esc = false;
        const char *q = ak__json_str_end(base, p, end, &esc, &e);
        if (!q)
            return false;
        bool match = !esc && (size_t)(q - p - 1) == nl && memcmp(p + 1, name, nl) == 0;
        p = ak__json_ws(q + 1, end);
        if (p >= end || *p != ':')
            return false;
        p = ak__json_ws(p + 1, end);
        const char *v = p;
        p = ak__json_skip_value(base, p, end, &e);
        if (!p)
            return false;
        if (match) {
            *vs = v;
            *ve = p;
            found = true; /* the last one wins, as in the decoder */
        }
        p = ak__json_ws(p, end);
        if (p < end && *p == ',')
            p = ak__json_ws(p + 1, end);
        else
            break;
    }
    return found && p < end && *p == '}';
}

/* Whether [p, end) is exactly one JSON string or number (surrounding
 * whitespace allowed). */
static bool bare_scalar(const char *p, const char *end)
{
    ak_err_t e;
    p = ak__json_ws(p, end);
    while (end > p && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\r' || end[-1] == '\t'))
        end--;
    if (p >= end)
        return false;
    const char *q;
    if (*p == '"') {
        bool esc = false;
        q = ak__json_str_end(p, p, end, &esc, &e);
        return q && q + 1 == end;
    }
    ak__jnum_t nm;
    q = ak__json_scan_number(p, end, &nm);
    return q == end;
}

int ak__kafka_key_delete(ak_json_decoder_t *jd, const ak_schema_t *schema, const char *key, size_t n, uint64_t pos,
                         ak_buf_t *scratch, ak_batch_t *out, ak_err_t *err)
{
    const char *end = key + n, *p = ak__json_ws(key, end);
    int nkey = 0, keycol = -1;
    for (int i = 0; i < schema->n; i++)
        if (schema->cols[i].key) {
            nkey++;
            keycol = i;
        }
    ak_buf_clear(scratch);
    ak_buf_puts(scratch, "{\"op\":\"d\",\"before\":");
    const char *vs, *ve;
    if (p < end && *p == '{') {
        /* a Connect wrapper holds the key columns in its payload */
        const char *ss, *se;
        if (member(p, end, "schema", &ss, &se) && member(p, end, "payload", &vs, &ve))
            ak_buf_put(scratch, vs, (size_t)(ve - vs));
        else
            ak_buf_put(scratch, key, n);
    } else if (nkey == 1) {
        ak_buf_putc(scratch, '{');
        const char *name = schema->cols[keycol].name;
        ak_buf_put_json_str(scratch, name, strlen(name));
        ak_buf_putc(scratch, ':');
        if (bare_scalar(key, end))
            ak_buf_put(scratch, key, n);
        else
            ak_buf_put_json_str(scratch, key, n); /* raw text: the key itself */
        ak_buf_putc(scratch, '}');
    } else {
        return ak_errf(err, AK_E_PARSE,
                       "a tombstone's key must be a JSON object giving the %d primary-key columns (got `%.60s`)", nkey,
                       key);
    }
    ak_buf_putc(scratch, '}');
    if (scratch->oom)
        return ak_err_nomem(err);
    size_t before = out->n;
    int r = ak_json_decode(jd, scratch->data, scratch->len, pos, out, err);
    if (r < 0)
        return ak_err_prefix(err, "the tombstone's key");
    if (r == 0 || out->n != before + 1 || out->recs[before].op != AK_OP_DELETE) {
        while (out->n > before)
            ak_batch_pop(out);
        return ak_errf(err, AK_E_PARSE, "the tombstone's key gives no row to delete");
    }
    /* a plain-row topic's delete, not a change event */
    out->recs[before].flags = 0;
    out->recs[before].ts_ms = 0;
    return 1;
}
