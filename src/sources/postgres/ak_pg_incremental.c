/* ak_pg_incremental.c - `strategy: incremental` on a PostgreSQL table.
 *
 * A sync reads, in one REPEATABLE READ transaction (one snapshot), the rows
 * whose cursor_field is at or past the last cursor value handed out, in
 * (cursor, primary key) order through a server-side cursor, a page per
 * FETCH.  Rows sharing a cursor value are never split across syncs by an
 * offset: the position keeps the last row's cursor and key.  A new sync
 * starts again at that cursor value, but of the rows with exactly that
 * value it re-reads only those after the last key or written by a
 * transaction the previous snapshot did not see.
 *
 * Late commits: a transaction that wrote an older cursor value but was
 * still running when a sync took its snapshot is invisible to that sync,
 * and later syncs start past its cursor value.  So the position keeps the
 * snapshot's in-progress transaction ids (pg_current_snapshot()), and the
 * next sync whose snapshot no longer sees them running first reads the
 * rows those transactions wrote (`xmin = ANY(...)`); one still running is
 * kept for the sync after.  Re-reading a row is harmless: the input is
 * keyed, and an unchanged row is an unchanged upsert.
 *
 * Position (compact JSON): {"c": last cursor text, "k": [its key texts],
 * "m": the snapshot's xmax, "x": [transaction ids to look for]}.  A sync cut
 * short (a crash, a lost connection) is simply started again from it.
 * Hard deletes are not seen (that is what `strategy: cdc` is for); rows
 * whose cursor is NULL are not read.
 */
#include "ak_pg.h"

#include "ak_alloc.h"
#include "ak_log.h"
#include "ak_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct strv {
    char **v;
    size_t n, cap;
} strv_t;

typedef struct inc_src {
    ak_pg_base_t b;
    PGconn *k;
    ak_pg_table_t t;
    int cursor;            /* schema index of cursor_field */
    /* the position */
    char *c;               /* cursor text of the last row handed out; NULL: none yet */
    strv_t pk;             /* its key texts */
    char *m;               /* xmax of the snapshot (c, pk) were read in */
    strv_t x;              /* transactions running then (xid8 texts) */
    /* the sync under way */
    int phase;             /* 0 none, 1 late rows, 2 rows by cursor */
    strv_t sx;             /* its snapshot's running transactions */
    char *sm;              /* its snapshot's xmax */
    bool took_effect;      /* it handed out a record: the position is its */
    bool synced;           /* a sync ran to its end (a drain stops there) */
    int64_t sync_at;       /* when the last sync began (monotonic µs) */
    uint64_t rowno;
} inc_src_t;

static void strv_clear(strv_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        ak_free(s->v[i]);
    s->n = 0;
}

static void strv_free(strv_t *s)
{
    strv_clear(s);
    ak_free(s->v);
    s->v = NULL;
    s->cap = 0;
}

static bool strv_has(const strv_t *s, const char *v)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], v) == 0)
            return true;
    return false;
}

static int strv_push(strv_t *s, const char *v, size_t n)
{
    if (AK_GROW(s->v, s->cap, s->n + 1))
        return -1;
    if (!(s->v[s->n] = ak_strndup(v, n)))
        return -1;
    s->n++;
    return 0;
}

static int strv_copy(strv_t *dst, const strv_t *src)
{
    strv_clear(dst);
    for (size_t i = 0; i < src->n; i++)
        if (strv_push(dst, src->v[i], strlen(src->v[i])))
            return -1;
    return 0;
}

/* "{1,2,3}": xid8 texts as 32-bit xids, the type of a row's xmin. */
static void xid_array(const strv_t *s, const strv_t *minus, ak_buf_t *b)
{
    ak_buf_putc(b, '{');
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (minus && strv_has(minus, s->v[i]))
            continue;
        ak_buf_printf(b, "%s%" PRIu64, k++ ? "," : "", (uint64_t)strtoull(s->v[i], NULL, 10) & 0xffffffffu);
    }
    ak_buf_putc(b, '}');
}

static void inc_close(ak_source_t *src)
{
    inc_src_t *s = (inc_src_t *)src;
    if (!s)
        return;
    PQfinish(s->k);
    ak_pg_table_free(&s->t);
    ak_free(s->c);
    ak_free(s->m);
    ak_free(s->sm);
    strv_free(&s->pk);
    strv_free(&s->x);
    strv_free(&s->sx);
    ak_pg_base_free(&s->b);
    ak_free(s);
}

static char *inc_position(ak_source_t *src)
{
    inc_src_t *s = (inc_src_t *)src;
    ak_buf_t b = AK_BUF_INIT;
    ak_buf_putc(&b, '{');
    if (s->c) {
        ak_buf_puts(&b, "\"c\":");
        ak_buf_put_json_str(&b, s->c, strlen(s->c));
        ak_buf_puts(&b, ",\"k\":[");
        for (size_t i = 0; i < s->pk.n; i++) {
            if (i)
                ak_buf_putc(&b, ',');
            ak_buf_put_json_str(&b, s->pk.v[i], strlen(s->pk.v[i]));
        }
        ak_buf_puts(&b, "],");
    }
    if (s->m)
        ak_buf_printf(&b, "\"m\":\"%s\",", s->m);
    ak_buf_puts(&b, "\"x\":[");
    for (size_t i = 0; i < s->x.n; i++)
        ak_buf_printf(&b, "%s\"%s\"", i ? "," : "", s->x.v[i]);
    ak_buf_puts(&b, "]}");
    if (b.oom) {
        ak_buf_free(&b);
        return NULL;
    }
    return ak_buf_steal(&b);
}

static int inc_commit(ak_source_t *src, const char *position, ak_err_t *err)
{
    (void)src;
    (void)position;
    (void)err;
    return 0; /* nothing to acknowledge: the position is the whole state */
}

static bool all_digits(const char *p)
{
    if (!*p)
        return false;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

static int parse_position(inc_src_t *s, const char *pos, ak_err_t *err)
{
    ak_cfg_doc_t *doc;
    if (ak_cfg_parse("position", pos, strlen(pos), &doc, err))
        return -1;
    const ak_cfg_node_t *root = ak_cfg_root(doc);
    int rc = 0;
    if (!root || root->kind != AK_CFG_MAP) {
        rc = -1;
        goto out;
    }
    const ak_cfg_node_t *c = ak_cfg_get(root, "c"), *k = ak_cfg_get(root, "k"), *m = ak_cfg_get(root, "m"),
                        *x = ak_cfg_get(root, "x");
    if (c && !ak_cfg_is_null(c)) {
        if (c->kind != AK_CFG_SCALAR || !k || k->kind != AK_CFG_SEQ || s->b.in->n_primary_key != k->n) {
            rc = -1;
            goto out;
        }
        if (!(s->c = ak_strdup(c->text)))
            goto nomem;
        for (size_t i = 0; i < k->n; i++) {
            if (k->items[i]->kind != AK_CFG_SCALAR) {
                rc = -1;
                goto out;
            }
            if (strv_push(&s->pk, k->items[i]->text, k->items[i]->len))
                goto nomem;
        }
    }
    if (m && m->kind == AK_CFG_SCALAR && all_digits(m->text) && !(s->m = ak_strdup(m->text)))
        goto nomem;
    if (x && x->kind == AK_CFG_SEQ)
        for (size_t i = 0; i < x->n; i++) {
            if (x->items[i]->kind != AK_CFG_SCALAR || !all_digits(x->items[i]->text)) {
                rc = -1;
                goto out;
            }
            if (strv_push(&s->x, x->items[i]->text, x->items[i]->len))
                goto nomem;
        }
out:
    ak_cfg_free(doc);
    if (rc)
        ak_errf(err, AK_E_CORRUPT, "input `%s`: unreadable postgres position `%s` (`akili run reset` reads the table "
                "again from the start)", s->b.in->name, pos);
    return rc;
nomem:
    ak_cfg_free(doc);
    return ak_err_nomem(err);
}

static ak_poll_rc_t inc_poll(ak_source_t *src, ak_batch_t *out, size_t max, bool drain, ak_dead_fn dead, void *ctx,
                             ak_err_t *err);

static const ak_pg_vt_t inc_vt = {inc_poll, inc_position, inc_commit, inc_close};

int ak_pg_inc_open(const ak_conn_t *c, const ak_input_t *in, const char *position, ak_source_t **out, ak_err_t *err)
{
    *out = NULL;
    inc_src_t *s = ak_calloc(1, sizeof *s);
    if (!s)
        return ak_err_nomem(err);
    if (ak_pg_base_init(&s->b, &inc_vt, c, in, err)) {
        ak_free(s);
        return -1;
    }
    s->cursor = ak_schema_find(&in->schema, in->cursor_field, strlen(in->cursor_field));
    if (s->cursor < 0 || in->n_primary_key == 0) {
        ak_errf(err, AK_E_CONFIG, "input `%s`: `strategy: incremental` on postgres needs cursor_field and a primary key",
                in->name);
        goto fail;
    }
    if (position && *position && parse_position(s, position, err))
        goto fail;
    *out = (ak_source_t *)s;
    return 0;
fail:
    inc_close((ak_source_t *)s);
    return -1;
}

/* Drops the connection after a failure: the sync under way is abandoned
 * (the position still says where to start again). */
static void disconnect(inc_src_t *s)
{
    PQfinish(s->k);
    s->k = NULL;
    s->phase = 0;
    s->took_effect = false;
}

static int connect_(inc_src_t *s, ak_err_t *err)
{
    if (ak_pg_connect(&s->b.conf, false, &s->k, err))
        return -1;
    ak_pg_table_free(&s->t);
    if (ak_pg_table_resolve(s->k, &s->b.conf, s->b.in, &s->t, err)) {
        disconnect(s);
        return -1;
    }
    return 0;
}

static int command(inc_src_t *s, const char *sql, int np, const char *const *p, const char *what, ak_err_t *err)
{
    PGresult *r = ak_pg_exec(s->k, &s->b.conf, sql, np, p, PGRES_COMMAND_OK, what, err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

static int set_str(char **dst, const char *v)
{
    char *n = ak_strdup(v);
    if (!n)
        return -1;
    ak_free(*dst);
    *dst = n;
    return 0;
}

/* Begins a sync: its snapshot, then the late rows (if any) or the rows by
 * cursor. */
static int begin_sync(inc_src_t *s, ak_err_t *err)
{
    char what[300];
    snprintf(what, sizeof what, "starting a sync of table %s", s->t.qname);
    if (command(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, what, err))
        return -1;
    PGresult *r = ak_pg_exec(s->k, &s->b.conf, "SELECT pg_current_snapshot()::text", 0, NULL, PGRES_TUPLES_OK, what,
                             err);
    if (!r)
        return -1;
    /* xmin:xmax:xip,xip,... */
    const char *snap = PQgetvalue(r, 0, 0);
    const char *c1 = strchr(snap, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    strv_clear(&s->sx);
    int rc = 0;
    if (!c2) {
        rc = ak_errf(err, AK_E_CORRUPT, "unexpected pg_current_snapshot() `%s`", snap);
    } else {
        char xmax[32];
        snprintf(xmax, sizeof xmax, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
        if (set_str(&s->sm, xmax))
            rc = ak_err_nomem(err);
        for (const char *p = c2 + 1; rc == 0 && *p;) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            if (n && strv_push(&s->sx, p, n))
                rc = ak_err_nomem(err);
            p += n + (e ? 1 : 0);
        }
    }
    PQclear(r);
    if (rc)
        return -1;
    s->took_effect = false;
    /* transactions that were running at the last snapshot and no longer are */
    ak_buf_t late = AK_BUF_INIT;
    xid_array(&s->x, &s->sx, &late);
    if (late.oom) {
        ak_buf_free(&late);
        return ak_err_nomem(err);
    }
    if (strcmp(late.data, "{}") == 0) {
        ak_buf_free(&late);
        s->phase = 2;
        return -2; /* no late rows to look for */
    }
    ak_buf_t q = AK_BUF_INIT;
    ak_buf_printf(&q, "DECLARE akili_late NO SCROLL CURSOR FOR SELECT %s FROM %s WHERE xmin = ANY($1::xid[])",
                  s->t.select_list, s->t.qname);
    const char *p[2] = {late.data, s->c};
    if (s->c) { /* rows at or past the cursor are read by cursor anyway */
        char *ci = ak_pg_ident(s->b.in->schema.cols[s->cursor].name);
        ak_buf_printf(&q, " AND %s < $2::%s", ci ? ci : "?", s->t.types[s->cursor]);
        ak_free(ci);
    }
    rc = q.oom ? ak_err_nomem(err) : command(s, q.data, s->c ? 2 : 1, p, what, err);
    ak_buf_free(&q);
    ak_buf_free(&late);
    if (rc == 0)
        s->phase = 1;
    return rc;
}

/* Opens the rows-by-cursor part of the sync. */
static int open_main(inc_src_t *s, ak_err_t *err)
{
    const ak_input_t *in = s->b.in;
    char *ci = ak_pg_ident(in->schema.cols[s->cursor].name);
    if (!ci)
        return ak_err_nomem(err);
    ak_buf_t q = AK_BUF_INIT, xs = AK_BUF_INIT;
    const char *p[AK_MAX_COLUMNS + 3];
    int np = 0;
    ak_buf_printf(&q, "DECLARE akili_rows NO SCROLL CURSOR FOR SELECT %s FROM %s WHERE ", s->t.select_list,
                  s->t.qname);
    char xm[32];
    if (!s->c) {
        ak_buf_printf(&q, "%s IS NOT NULL", ci);
    } else {
        /* past the last cursor value; at it: after the last key, or written
         * by a transaction the last snapshot did not see */
        p[np++] = s->c;
        ak_buf_printf(&q, "%s >= $1::%s AND (%s > $1::%s OR (%s) > (", ci, s->t.types[s->cursor], ci,
                      s->t.types[s->cursor], s->t.key_cols);
        for (int i = 0; i < s->t.nkey && (size_t)i < s->pk.n; i++) {
            p[np++] = s->pk.v[i];
            ak_buf_printf(&q, "%s$%d::%s", i ? ", " : "", np, s->t.key_types[i]);
        }
        ak_buf_puts(&q, ")");
        if (s->m) {
            xid_array(&s->x, NULL, &xs);
            p[np++] = xs.data ? xs.data : "{}";
            snprintf(xm, sizeof xm, "%" PRIu64, (uint64_t)strtoull(s->m, NULL, 10) & 0xffffffffu);
            p[np++] = xm;
            ak_buf_printf(&q, " OR xmin = ANY($%d::xid[]) OR age(xmin) <= age($%d::xid)", np - 1, np);
        } else {
            ak_buf_puts(&q, " OR true");
        }
        ak_buf_puts(&q, ")");
    }
    ak_buf_printf(&q, " ORDER BY %s, %s", ci, s->t.key_cols);
    char what[300];
    snprintf(what, sizeof what, "reading table %s", s->t.qname);
    int rc = q.oom || xs.oom ? ak_err_nomem(err) : command(s, q.data, np, p, what, err);
    ak_buf_free(&q);
    ak_buf_free(&xs);
    ak_free(ci);
    if (rc == 0)
        s->phase = 2;
    return rc;
}

/* The first record of a sync makes the position the sync's: its snapshot's
 * xmax, and the running transactions of both snapshots (the older ones'
 * late rows may not all be read yet). */
static int take_effect(inc_src_t *s)
{
    s->took_effect = true;
    if (set_str(&s->m, s->sm))
        return -1;
    for (size_t i = 0; i < s->sx.n; i++)
        if (!strv_has(&s->x, s->sx.v[i]) && strv_push(&s->x, s->sx.v[i], strlen(s->sx.v[i])))
            return -1;
    return 0;
}

static int end_sync(inc_src_t *s, ak_err_t *err)
{
    char what[300];
    snprintf(what, sizeof what, "ending a sync of table %s", s->t.qname);
    if (command(s, "COMMIT", 0, NULL, what, err))
        return -1;
    if (set_str(&s->m, s->sm) || strv_copy(&s->x, &s->sx))
        return ak_err_nomem(err);
    s->phase = 0;
    s->synced = true;
    return 0;
}

/* Hands out one fetched row; remembers it as the position's when it came by
 * cursor. */
static int row_out(inc_src_t *s, PGresult *r, int i, ak_batch_t *out, ak_dead_fn dead, void *ctx, ak_err_t *err)
{
    const ak_input_t *in = s->b.in;
    ak_pg_row_t row;
    int n = in->schema.n;
    row.present = n >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1;
    for (int c = 0; c < n; c++) {
        row.vals[c] = PQgetvalue(r, i, c);
        row.lens[c] = PQgetlength(r, i, c);
        row.nulls[c] = PQgetisnull(r, i, c);
    }
    char where[600];
    int w = snprintf(where, sizeof where, "%s", s->t.qname);
    for (int j = 0; j < s->t.nkey && w < (int)sizeof where; j++)
        w += snprintf(where + w, sizeof where - (size_t)w, "%s%s=%.100s", j ? ", " : " ",
                      in->schema.cols[s->t.key_idx[j]].name, PQgetvalue(r, i, s->t.key_idx[j]));
    if (ak_pg_emit(in, out, AK_OP_UPSERT, 0, &row, s->rowno++, false, where, dead, ctx, err) < 0)
        return -1;
    if (!s->took_effect && take_effect(s))
        return ak_err_nomem(err);
    if (s->phase != 2)
        return 0;
    if (set_str(&s->c, PQgetvalue(r, i, s->cursor)))
        return ak_err_nomem(err);
    strv_clear(&s->pk);
    for (int j = 0; j < s->t.nkey; j++) {
        int kc = s->t.key_idx[j];
        if (strv_push(&s->pk, PQgetvalue(r, i, kc), (size_t)PQgetlength(r, i, kc)))
            return ak_err_nomem(err);
    }
    return 0;
}

static ak_poll_rc_t fail(inc_src_t *s, ak_err_t *err)
{
    if (err->retriable)
        disconnect(s);
    return AK_POLL_ERROR;
}

static ak_poll_rc_t inc_poll(ak_source_t *src, ak_batch_t *out, size_t max, bool drain, ak_dead_fn dead, void *ctx,
                             ak_err_t *err)
{
    inc_src_t *s = (inc_src_t *)src;
    size_t start = out->n;
    if (s->phase == 0) {
        if (drain && s->synced)
            return AK_POLL_IDLE;
        int64_t now = ak_mono_us();
        if (!drain && s->sync_at && now - s->sync_at < s->b.opts.interval_us)
            return AK_POLL_IDLE;
        if (!s->k && connect_(s, err))
            return fail(s, err);
        s->sync_at = now;
        int rc = begin_sync(s, err);
        if (rc == -1 || (rc == -2 && open_main(s, err)))
            return fail(s, err);
    }
    size_t page = s->b.opts.page_size > 0 ? (size_t)s->b.opts.page_size : max;
    while (out->n - start < max) {
        size_t want = max - (out->n - start);
        if (want > page)
            want = page;
        char q[100], what[300];
        snprintf(q, sizeof q, "FETCH FORWARD %zu FROM %s", want, s->phase == 1 ? "akili_late" : "akili_rows");
        snprintf(what, sizeof what, "reading table %s", s->t.qname);
        PGresult *r = ak_pg_exec(s->k, &s->b.conf, q, 0, NULL, PGRES_TUPLES_OK, what, err);
        if (!r)
            return fail(s, err);
        int n = PQntuples(r);
        if (n && PQnfields(r) != s->b.in->schema.n) {
            ak_errf(err, AK_E_INTERNAL, "fetched %d columns, expected %d", PQnfields(r), s->b.in->schema.n);
            PQclear(r);
            return fail(s, err);
        }
        for (int i = 0; i < n; i++)
            if (row_out(s, r, i, out, dead, ctx, err)) {
                PQclear(r);
                return fail(s, err);
            }
        PQclear(r);
        if ((size_t)n < want) {
            if (s->phase == 1) {
                if (command(s, "CLOSE akili_late", 0, NULL, what, err) || open_main(s, err))
                    return fail(s, err);
                continue;
            }
            if (end_sync(s, err))
                return fail(s, err);
            return AK_POLL_IDLE;
        }
    }
    return AK_POLL_MORE;
}
