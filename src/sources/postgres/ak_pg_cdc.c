/* ak_pg_cdc.c - `strategy: cdc` on a PostgreSQL table: logical replication.
 *
 * Setup (on the first poll, again after a lost connection): wal_level and
 * the REPLICATION privilege are checked, the publication is created when
 * missing, and the slot is looked at.  Without a position (or with one
 * from an interrupted snapshot, or when the slot is gone) the table is read
 * whole first: the slot is (re)created with EXPORT_SNAPSHOT on a
 * replication connection, the table is read in that snapshot, one TRUNCATE
 * record ahead of its rows, and streaming starts at the slot's consistent
 * point.  Then START_REPLICATION streams pgoutput (protocol 1), decoded by
 * ak_pgoutput.c into CDC records.
 *
 * The position is the end LSN of the last transaction whose changes were
 * all handed out, plus how many changes of the next one were (`skip`), so a
 * large transaction can be handed out in batches and a restart neither
 * repeats nor loses one of its changes: the server resends from the
 * position and the first `skip` changes are passed over.  The slot's
 * confirmed position (a standby status update) only moves in commit, to a
 * position the engine made durable.
 */
#include "ak_pg.h"
#include "ak_pgoutput.h"

#include "ak_alloc.h"
#include "ak_log.h"
#include "ak_time.h"

#include <ctype.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_EVERY_US (10 * AK_US_PER_SEC)
#define DRAIN_SILENCE_US (120 * AK_US_PER_SEC) /* a --once run gives up when the server says nothing this long */

enum { ST_SETUP, ST_SNAPSHOT, ST_STREAM };

typedef struct cdc_src {
    ak_pg_base_t b;
    char slot[64], pub[64];
    PGconn *k;                /* setup and the snapshot */
    PGconn *rk;               /* replication: slot creation, streaming */
    ak_pg_table_t t;
    ak_pgo_t *dec;
    int state;
    bool need_snapshot;       /* no position, or an interrupted snapshot */
    bool truncate_due;        /* the snapshot's TRUNCATE record is still to hand out */
    /* the position: everything up to lsn, plus `skip` changes of the next transaction */
    ak_lsn_t lsn;
    uint64_t skip;
    ak_lsn_t consistent;      /* the snapshot's consistent point */
    ak_lsn_t acked;           /* what the engine made durable (commit) */
    /* the stream */
    uint32_t relid;           /* our table's relation id in this stream (0: not described yet) */
    int att_of[AK_MAX_COLUMNS]; /* schema column -> relation attribute, -1 if absent */
    bool in_txn;
    uint64_t txn_seen;        /* our changes seen in the current transaction */
    uint64_t skip_left;       /* changes to pass over in the first transaction after a (re)start */
    int64_t status_at;        /* when the last status update went out (monotonic µs) */
    /* --once */
    bool target_set, done;
    ak_lsn_t target;
    uint64_t rowno;
} cdc_src_t;

/* ---- names ---- */

/* akili_<product>_<input>: lowercase, [a-z0-9_], at most 63 bytes. */
static void default_name(const char *product, const char *input, char *out)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "akili_%s_%s", product ? product : "akili", input);
    size_t n = 0;
    for (const char *p = tmp; *p && n < 63; p++) {
        unsigned char ch = (unsigned char)tolower((unsigned char)*p);
        out[n++] = (char)(isalnum(ch) || ch == '_' ? ch : '_');
    }
    out[n] = '\0';
}

/* ---- position ---- */

static char *cdc_position(ak_source_t *src)
{
    cdc_src_t *s = (cdc_src_t *)src;
    ak_buf_t b = AK_BUF_INIT;
    char l[24];
    if (s->need_snapshot || s->state == ST_SNAPSHOT)
        ak_buf_printf(&b, "{\"snapshot\":true,\"slot\":\"%s\"}", s->slot);
    else if (s->skip)
        ak_buf_printf(&b, "{\"lsn\":\"%s\",\"skip\":%" PRIu64 "}", ak_lsn_format(s->lsn, l), s->skip);
    else
        ak_buf_printf(&b, "{\"lsn\":\"%s\"}", ak_lsn_format(s->lsn, l));
    if (b.oom) {
        ak_buf_free(&b);
        return NULL;
    }
    return ak_buf_steal(&b);
}

/* Reads a position: 1 streaming from *lsn (+ *skip), 0 a snapshot is due,
 * -1 unreadable. */
static int read_position(const char *pos, ak_lsn_t *lsn, uint64_t *skip, ak_err_t *err)
{
    ak_cfg_doc_t *doc;
    if (ak_cfg_parse("position", pos, strlen(pos), &doc, err))
        return -1;
    const ak_cfg_node_t *root = ak_cfg_root(doc);
    const ak_cfg_node_t *l = root && root->kind == AK_CFG_MAP ? ak_cfg_get(root, "lsn") : NULL,
                        *k = root && root->kind == AK_CFG_MAP ? ak_cfg_get(root, "skip") : NULL;
    int rc = 0;
    int64_t sk = 0;
    if (l) {
        if (l->kind != AK_CFG_SCALAR || ak_lsn_parse(l->text, lsn) || (k && (ak_cfg_int(k, "skip", &sk, err) || sk < 0)))
            rc = -1;
        else
            rc = 1;
        *skip = (uint64_t)sk;
    } else if (!root || root->kind != AK_CFG_MAP) {
        rc = -1;
    }
    ak_cfg_free(doc);
    return rc;
}

/* ---- connections ---- */

static void drop_stream(cdc_src_t *s)
{
    PQfinish(s->rk);
    s->rk = NULL;
}

/* Back to setup after a failure: a snapshot cut short is done again. */
static void reset(cdc_src_t *s)
{
    drop_stream(s);
    PQfinish(s->k);
    s->k = NULL;
    if (s->state == ST_SNAPSHOT)
        s->need_snapshot = true;
    s->state = ST_SETUP;
    s->in_txn = false;
    s->relid = 0;
}

static ak_poll_rc_t fail(cdc_src_t *s, ak_err_t *err)
{
    if (err->retriable)
        reset(s);
    return AK_POLL_ERROR;
}

static int send_status(cdc_src_t *s, bool reply, ak_err_t *err)
{
    if (!s->rk || s->state != ST_STREAM)
        return 0;
    uint8_t m[AK_PGO_STATUS_LEN];
    ak_pgo_status(m, s->acked, s->acked, ak_wall_us(), reply);
    if (PQputCopyData(s->rk, (const char *)m, sizeof m) <= 0 || PQflush(s->rk))
        return ak_pg_fail(s->rk, NULL, &s->b.conf, "sending a replication status update", err); /* retriable */
    s->status_at = ak_mono_us();
    return 0;
}

static void end_stream(cdc_src_t *s)
{
    if (!s->rk)
        return;
    if (s->state == ST_STREAM && PQstatus(s->rk) == CONNECTION_OK) {
        /* the last acknowledgement, then an orderly end of the stream */
        ak_err_t e;
        if (send_status(s, false, &e) == 0 && PQputCopyEnd(s->rk, NULL) == 1 && PQflush(s->rk) == 0) {
            int64_t until = ak_mono_us() + 2 * AK_US_PER_SEC;
            for (;;) {
                char *buf = NULL;
                int n = PQgetCopyData(s->rk, &buf, 1);
                if (buf)
                    PQfreemem(buf);
                if (n < 0 || ak_mono_us() > until)
                    break;
                if (n == 0) {
                    struct pollfd pf = {PQsocket(s->rk), POLLIN, 0};
                    if (poll(&pf, 1, 100) < 0 || !PQconsumeInput(s->rk))
                        break;
                }
            }
            PGresult *r;
            while ((r = PQgetResult(s->rk)) && ak_mono_us() < until)
                PQclear(r);
            PQclear(r);
        }
    }
    drop_stream(s);
}

static void cdc_close(ak_source_t *src)
{
    cdc_src_t *s = (cdc_src_t *)src;
    if (!s)
        return;
    end_stream(s);
    PQfinish(s->k);
    ak_pg_table_free(&s->t);
    ak_pgo_free(s->dec);
    ak_pg_base_free(&s->b);
    ak_free(s);
}

static int cdc_commit(ak_source_t *src, const char *position, ak_err_t *err)
{
    cdc_src_t *s = (cdc_src_t *)src;
    ak_lsn_t lsn = 0;
    uint64_t skip = 0;
    if (read_position(position, &lsn, &skip, err) != 1)
        return 0; /* a snapshot position: nothing to acknowledge yet */
    if (lsn <= s->acked)
        return 0;
    s->acked = lsn;
    if (send_status(s, false, err)) {
        reset(s);
        return -1;
    }
    return 0;
}

static ak_poll_rc_t cdc_poll(ak_source_t *src, ak_batch_t *out, size_t max, bool drain, ak_dead_fn dead, void *ctx,
                             ak_err_t *err);

static const ak_pg_vt_t cdc_vt = {cdc_poll, cdc_position, cdc_commit, cdc_close};

int ak_pg_cdc_open(const ak_conn_t *c, const ak_input_t *in, const char *position, ak_source_t **out, ak_err_t *err)
{
    *out = NULL;
    cdc_src_t *s = ak_calloc(1, sizeof *s);
    if (!s)
        return ak_err_nomem(err);
    if (ak_pg_base_init(&s->b, &cdc_vt, c, in, err)) {
        ak_free(s);
        return -1;
    }
    const char *slot = s->b.opts.slot ? s->b.opts.slot : s->b.conf.slot;
    const char *pub = s->b.opts.publication ? s->b.opts.publication : s->b.conf.publication;
    if (slot)
        snprintf(s->slot, sizeof s->slot, "%s", slot);
    else
        default_name(c->product, in->name, s->slot);
    if (pub)
        snprintf(s->pub, sizeof s->pub, "%s", pub);
    else
        default_name(c->product, in->name, s->pub);
    if (ak_pgo_new(&s->dec, err))
        goto fail;
    s->need_snapshot = true;
    if (position && *position) {
        int r = read_position(position, &s->lsn, &s->skip, err);
        if (r < 0) {
            ak_errf(err, AK_E_CORRUPT, "input `%s`: unreadable postgres cdc position `%s` (`akili run reset` reads the "
                    "table again from a new snapshot)", in->name, position);
            goto fail;
        }
        if (r == 1) {
            s->need_snapshot = false;
            s->acked = s->lsn; /* it was committed: the slot may be told */
        } else {
            ak_log_info(s->b.tag, "the table's initial snapshot was interrupted: reading it again");
        }
    }
    *out = (ak_source_t *)s;
    return 0;
fail:
    cdc_close((ak_source_t *)s);
    return -1;
}

/* ---- setup ---- */

static PGresult *q(cdc_src_t *s, PGconn *k, const char *sql, int np, const char *const *p, ExecStatusType want,
                   const char *what, ak_err_t *err)
{
    return ak_pg_exec(k, &s->b.conf, sql, np, p, want, what, err);
}

static int cmd(cdc_src_t *s, PGconn *k, const char *sql, int np, const char *const *p, const char *what, ak_err_t *err)
{
    PGresult *r = q(s, k, sql, np, p, PGRES_COMMAND_OK, what, err);
    PQclear(r);
    return r ? 0 : -1;
}

static int check_server(cdc_src_t *s, ak_err_t *err)
{
    char where[300];
    ak_pg_where(&s->b.conf, where, sizeof where);
    PGresult *r = q(s, s->k,
                    "SELECT current_setting('wal_level'), (SELECT rolreplication OR rolsuper FROM pg_roles WHERE "
                    "rolname = current_user), current_user, EXISTS (SELECT 1 FROM pg_index WHERE indrelid = "
                    "to_regclass($1) AND indisprimary)",
                    1, (const char *const[]){s->t.qname}, PGRES_TUPLES_OK, "checking the server for logical replication",
                    err);
    if (!r)
        return -1;
    int rc = 0;
    if (strcmp(PQgetvalue(r, 0, 0), "logical") != 0)
        rc = ak_errf(err, AK_E_CONFIG,
                     "PostgreSQL at %s has wal_level `%s`; `strategy: cdc` needs `logical`: run ALTER "
                     "SYSTEM SET wal_level = logical (or set it in postgresql.conf) and restart the server",
                     where, PQgetvalue(r, 0, 0));
    else if (PQgetvalue(r, 0, 1)[0] != 't')
        rc = ak_errf(err, AK_E_CONFIG,
                     "user `%s` lacks the REPLICATION privilege that `strategy: cdc` needs: ALTER ROLE %s "
                     "REPLICATION (as a superuser)",
                     PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 2));
    else if (s->t.replident == 'n' || (s->t.replident == 'd' && PQgetvalue(r, 0, 3)[0] != 't'))
        rc = ak_errf(err, AK_E_CONFIG,
                     "table %s has no replica identity (no primary key, or REPLICA IDENTITY NOTHING): "
                     "its updates and deletes cannot be replicated, and would fail once the table is published. Add a "
                     "primary key, or ALTER TABLE %s REPLICA IDENTITY FULL",
                     s->t.qname, s->t.qname);
    else if (!ak_schema_keyed(&s->b.in->schema) && s->t.replident != 'f')
        ak_log_warn(s->b.tag, "input `%s` has no primary_key and table %s has no REPLICA IDENTITY FULL: updates and "
                    "deletes cannot find the rows they change (ALTER TABLE %s REPLICA IDENTITY FULL)",
                    s->b.in->name, s->t.qname, s->t.qname);
    PQclear(r);
    return rc;
}

static int ensure_publication(cdc_src_t *s, ak_err_t *err)
{
    const char *p[3] = {s->pub, s->t.nspname, s->t.relname};
    PGresult *r = q(s, s->k,
                    "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1), EXISTS (SELECT 1 FROM "
                    "pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3)",
                    3, p, PGRES_TUPLES_OK, "looking up the publication", err);
    if (!r)
        return -1;
    bool exists = PQgetvalue(r, 0, 0)[0] == 't', has = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    if (has)
        return 0;
    char sql[600];
    if (exists)
        snprintf(sql, sizeof sql, "ALTER PUBLICATION \"%s\" ADD TABLE %s", s->pub, s->t.qname);
    else
        snprintf(sql, sizeof sql, "CREATE PUBLICATION \"%s\" FOR TABLE %s", s->pub, s->t.qname);
    r = PQexec(s->k, sql);
    if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
        PQclear(r);
        ak_log_info(s->b.tag, "%s", sql);
        return 0;
    }
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state && strcmp(state, "42501") == 0) {
        char where[300];
        ak_errf(err, AK_E_CONFIG,
                "user `%s` may not publish table %s at %s (only its owner may): run `%s` as the table's "
                "owner, or give the input's connection the owner's role",
                s->b.conf.user ? s->b.conf.user : "?", s->t.qname,
                ak_pg_where(&s->b.conf, where, sizeof where), sql);
        PQclear(r);
        return -1;
    }
    ak_pg_fail(s->k, r, &s->b.conf, exists ? "adding the table to the publication" : "creating the publication", err);
    PQclear(r);
    return -1;
}

/* The slot: 1 there (usable), 0 absent; -1 error. */
static int look_at_slot(cdc_src_t *s, ak_err_t *err)
{
    const char *p[1] = {s->slot};
    PGresult *r = q(s, s->k,
                    "SELECT active, coalesce(active_pid, 0), plugin, database, current_database() FROM "
                    "pg_replication_slots WHERE slot_name = $1",
                    1, p, PGRES_TUPLES_OK, "looking up the replication slot", err);
    if (!r)
        return -1;
    int rc = PQntuples(r) ? 1 : 0;
    if (rc && strcmp(PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4)) != 0)
        rc = ak_errf(err, AK_E_CONFIG, "replication slot `%s` belongs to database `%s`, not `%s`: give the "
                     "input another `slot`", s->slot, PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4));
    else if (rc && strcmp(PQgetvalue(r, 0, 2), "pgoutput") != 0)
        rc = ak_errf(err, AK_E_CONFIG, "replication slot `%s` uses plugin `%s`; akili reads `pgoutput`: "
                     "give the input another `slot`", s->slot, PQgetvalue(r, 0, 2));
    else if (rc && PQgetvalue(r, 0, 0)[0] == 't') {
        ak_errf(err, AK_E_CONNECT, "replication slot `%s` is in use by server process %s (another run or "
                "client reading it; each cdc input needs its own slot)", s->slot, PQgetvalue(r, 0, 1));
        err->retriable = true; /* a connection that just died may still hold it for a moment */
        rc = -1;
    }
    PQclear(r);
    return rc;
}

static void map_relation(cdc_src_t *s, const ak_pgo_rel_t *rel)
{
    const ak_schema_t *sc = &s->b.in->schema;
    for (int i = 0; i < sc->n; i++) {
        s->att_of[i] = -1;
        for (int a = 0; a < rel->natts && s->att_of[i] < 0; a++)
            if (strcmp(rel->atts[a].name, sc->cols[i].name) == 0)
                s->att_of[i] = a;
        for (int a = 0; a < rel->natts && s->att_of[i] < 0; a++)
            if (strcasecmp(rel->atts[a].name, sc->cols[i].name) == 0)
                s->att_of[i] = a;
    }
}

/* Creates the slot with an exported snapshot and opens a cursor over the
 * table in that snapshot. */
static int begin_snapshot(cdc_src_t *s, ak_err_t *err)
{
    int there = look_at_slot(s, err);
    if (there < 0)
        return -1;
    const char *p[1] = {s->slot};
    if (there) {
        ak_log_warn(s->b.tag, "dropping replication slot `%s` to take the table's snapshot again", s->slot);
        PGresult *r = q(s, s->k, "SELECT pg_drop_replication_slot($1)", 1, p, PGRES_TUPLES_OK,
                        "dropping the replication slot", err);
        if (!r)
            return -1;
        PQclear(r);
    }
    if (ak_pg_connect(&s->b.conf, true, &s->rk, err))
        return -1;
    char sql[300];
    snprintf(sql, sizeof sql, "CREATE_REPLICATION_SLOT \"%s\" LOGICAL pgoutput EXPORT_SNAPSHOT", s->slot);
    PGresult *r = q(s, s->rk, sql, 0, NULL, PGRES_TUPLES_OK, "creating the replication slot", err);
    if (!r)
        return -1;
    if (PQntuples(r) != 1 || PQnfields(r) < 3 || ak_lsn_parse(PQgetvalue(r, 0, 1), &s->consistent)) {
        PQclear(r);
        return ak_errf(err, AK_E_CORRUPT, "unexpected answer to CREATE_REPLICATION_SLOT");
    }
    char snap[128];
    snprintf(snap, sizeof snap, "%s", PQgetvalue(r, 0, 2));
    PQclear(r);
    char what[300];
    snprintf(what, sizeof what, "reading the snapshot of table %s", s->t.qname);
    if (cmd(s, s->k, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, what, err))
        return -1;
    /* SET TRANSACTION SNAPSHOT takes no parameter: the name is quoted */
    char *lit = PQescapeLiteral(s->k, snap, strlen(snap));
    if (!lit)
        return ak_err_nomem(err);
    snprintf(sql, sizeof sql, "SET TRANSACTION SNAPSHOT %s", lit);
    PQfreemem(lit);
    if (cmd(s, s->k, sql, 0, NULL, what, err))
        return -1;
    ak_buf_t d = AK_BUF_INIT;
    ak_buf_printf(&d, "DECLARE akili_snap NO SCROLL CURSOR FOR SELECT %s FROM %s", s->t.select_list, s->t.qname);
    int rc = d.oom ? ak_err_nomem(err) : cmd(s, s->k, d.data, 0, NULL, what, err);
    ak_buf_free(&d);
    if (rc)
        return -1;
    /* the snapshot is imported: the slot's connection is no longer needed */
    drop_stream(s);
    s->state = ST_SNAPSHOT;
    s->need_snapshot = false;
    s->truncate_due = true;
    s->lsn = 0;
    s->skip = 0;
    char l[24];
    ak_log_info(s->b.tag, "replication slot `%s` created at %s; reading table %s in its snapshot", s->slot,
                ak_lsn_format(s->consistent, l), s->t.qname);
    return 0;
}

static int start_stream(cdc_src_t *s, ak_err_t *err)
{
    if (!s->rk && ak_pg_connect(&s->b.conf, true, &s->rk, err))
        return -1;
    char sql[400], l[24];
    snprintf(sql, sizeof sql,
             "START_REPLICATION SLOT \"%s\" LOGICAL %s (proto_version '1', publication_names '\"%s\"')", s->slot,
             ak_lsn_format(s->lsn, l), s->pub);
    PGresult *r = q(s, s->rk, sql, 0, NULL, PGRES_COPY_BOTH, "starting logical replication", err);
    if (!r)
        return -1;
    PQclear(r);
    s->state = ST_STREAM;
    s->in_txn = false;
    s->relid = 0;
    s->skip_left = s->skip;
    s->status_at = ak_mono_us();
    /* the setup connection is not needed while streaming */
    PQfinish(s->k);
    s->k = NULL;
    return 0;
}

static int setup(cdc_src_t *s, bool drain, ak_err_t *err)
{
    if (!s->k && ak_pg_connect(&s->b.conf, false, &s->k, err))
        return -1;
    ak_pg_table_free(&s->t);
    if (ak_pg_table_resolve(s->k, &s->b.conf, s->b.in, &s->t, err) || check_server(s, err) ||
        ensure_publication(s, err))
        return -1;
    if (drain && !s->target_set) {
        PGresult *r = q(s, s->k, "SELECT pg_current_wal_lsn()", 0, NULL, PGRES_TUPLES_OK, "reading the WAL position",
                        err);
        if (!r)
            return -1;
        int bad = ak_lsn_parse(PQgetvalue(r, 0, 0), &s->target);
        PQclear(r);
        if (bad)
            return ak_errf(err, AK_E_CORRUPT, "unexpected pg_current_wal_lsn()");
        s->target_set = true;
    }
    if (!s->need_snapshot) {
        int there = look_at_slot(s, err);
        if (there < 0)
            return -1;
        if (!there) {
            ak_log_warn(s->b.tag, "replication slot `%s` is gone (dropped, or never created here): reading table %s "
                        "again from a new snapshot", s->slot, s->t.qname);
            s->need_snapshot = true;
        }
    }
    if (s->need_snapshot)
        return begin_snapshot(s, err);
    return start_stream(s, err);
}

/* ---- the snapshot ---- */

static int snapshot_rows(cdc_src_t *s, ak_batch_t *out, size_t max, ak_dead_fn dead, void *ctx, bool *end,
                         ak_err_t *err)
{
    *end = false;
    size_t start = out->n;
    const ak_input_t *in = s->b.in;
    if (s->truncate_due) {
        if (!ak_batch_add(out, AK_OP_TRUNCATE, s->rowno++))
            return ak_err_nomem(err);
        out->recs[out->n - 1].flags = AK_REC_CDC;
        s->truncate_due = false;
    }
    size_t page = s->b.opts.page_size > 0 ? (size_t)s->b.opts.page_size : max;
    char what[300];
    snprintf(what, sizeof what, "reading the snapshot of table %s", s->t.qname);
    while (out->n - start < max) {
        size_t want = max - (out->n - start);
        if (want > page)
            want = page;
        char sql[80];
        snprintf(sql, sizeof sql, "FETCH FORWARD %zu FROM akili_snap", want);
        PGresult *r = q(s, s->k, sql, 0, NULL, PGRES_TUPLES_OK, what, err);
        if (!r)
            return -1;
        int n = PQntuples(r);
        for (int i = 0; i < n; i++) {
            ak_pg_row_t row;
            row.present = in->schema.n >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << in->schema.n) - 1;
            for (int c = 0; c < in->schema.n; c++) {
                row.vals[c] = PQgetvalue(r, i, c);
                row.lens[c] = PQgetlength(r, i, c);
                row.nulls[c] = PQgetisnull(r, i, c);
            }
            char where[300];
            snprintf(where, sizeof where, "%s snapshot row %" PRIu64, s->t.qname, s->rowno);
            if (ak_pg_emit(in, out, AK_OP_UPSERT, AK_REC_CDC, &row, s->rowno++, true, where, dead, ctx, err) < 0) {
                PQclear(r);
                return -1;
            }
        }
        PQclear(r);
        if ((size_t)n < want) {
            if (cmd(s, s->k, "COMMIT", 0, NULL, what, err))
                return -1;
            *end = true;
            return 0;
        }
    }
    return 0;
}

/* ---- the stream ---- */

static void set_col(ak_pg_row_t *row, int i, const ak_pgo_col_t *c)
{
    row->present |= UINT64_C(1) << i;
    row->nulls[i] = c->kind == 'n';
    row->vals[i] = c->p ? c->p : "";
    row->lens[i] = (int)c->n;
}

/* A tuple as a row of the schema.  key_only: an old key tuple, whose other
 * columns are not sent.  A value the update left unchanged ('u') is taken
 * from `old` when that has it, else left absent and *merge set. */
static void tuple_row(const cdc_src_t *s, const ak_pgo_rel_t *rel, const ak_pgo_tuple_t *t, bool key_only,
                      const ak_pgo_tuple_t *old, ak_pg_row_t *row, bool *merge)
{
    row->present = 0;
    for (int i = 0; i < s->b.in->schema.n; i++) {
        row->nulls[i] = true;
        int a = s->att_of[i];
        if (a < 0 || a >= t->n || (key_only && !rel->atts[a].key))
            continue;
        const ak_pgo_col_t *c = &t->cols[a];
        if (c->kind == 'u') {
            if (old && a < old->n && old->cols[a].kind != 'u')
                set_col(row, i, &old->cols[a]);
            else if (merge)
                *merge = true;
            continue;
        }
        set_col(row, i, c);
    }
}

/* Whether the update moved the row to another key (old and new key values differ). */
static bool key_moved(const cdc_src_t *s, const ak_pg_row_t *o, const ak_pg_row_t *n)
{
    const ak_schema_t *sc = &s->b.in->schema;
    for (int i = 0; i < sc->n; i++) {
        if (!sc->cols[i].key)
            continue;
        if (!(o->present >> i & 1) || !(n->present >> i & 1))
            return false; /* not known: the key tuple did not carry it */
        if (o->nulls[i] != n->nulls[i] ||
            (!o->nulls[i] && (o->lens[i] != n->lens[i] || memcmp(o->vals[i], n->vals[i], (size_t)o->lens[i]) != 0)))
            return true;
    }
    return false;
}

static int change(cdc_src_t *s, const ak_pgo_msg_t *m, ak_lsn_t at, ak_batch_t *out, ak_dead_fn dead, void *ctx,
                  ak_err_t *err)
{
    const ak_input_t *in = s->b.in;
    char where[120], l[24];
    snprintf(where, sizeof where, "%s lsn %s", s->t.qname, ak_lsn_format(at, l));
    uint64_t pos = s->rowno++;
    ak_pg_row_t nr, orow;
    bool merge = false;
    if (m->type == 'T') {
        if (!ak_batch_add(out, AK_OP_TRUNCATE, pos))
            return ak_err_nomem(err);
        out->recs[out->n - 1].flags = AK_REC_CDC;
        return 0;
    }
    bool keyed = ak_schema_keyed(&in->schema);
    const ak_pgo_tuple_t *old = m->old_kind ? &m->old_tup : NULL;
    if (old)
        tuple_row(s, m->rel, old, m->old_kind == 'K', NULL, &orow, NULL);
    if (m->type == 'D')
        return ak_pg_emit(in, out, AK_OP_DELETE, AK_REC_CDC, &orow, pos, true, where, dead, ctx, err) < 0 ? -1 : 0;
    tuple_row(s, m->rel, &m->new_tup, false, m->old_kind == 'O' ? old : NULL, &nr, &merge);
    /* an update of a keyless input, or one that moved its row to another
     * key, removes the old row first */
    if (m->type == 'U' && old && (!keyed || key_moved(s, &orow, &nr)) &&
        ak_pg_emit(in, out, AK_OP_DELETE, AK_REC_CDC, &orow, pos, true, where, dead, ctx, err) < 0)
        return -1;
    uint8_t flags = AK_REC_CDC | (merge ? AK_REC_MERGE : 0);
    return ak_pg_emit(in, out, AK_OP_UPSERT, flags, &nr, pos, true, where, dead, ctx, err) < 0 ? -1 : 0;
}

/* Whether a message is a change of our table (Truncate: among its relations). */
static bool ours(const cdc_src_t *s, const ak_pgo_msg_t *m)
{
    if (!s->relid)
        return false;
    if (m->type == 'T') {
        for (uint32_t i = 0; i < m->nrelids; i++)
            if (ak_pgo_truncate_relid(m, i) == s->relid)
                return true;
        return false;
    }
    return (m->type == 'I' || m->type == 'U' || m->type == 'D') && m->relid == s->relid;
}

/* One pgoutput message.  Returns -1 on error. */
static int message(cdc_src_t *s, const ak_pgo_frame_t *f, bool drain, ak_batch_t *out, ak_dead_fn dead, void *ctx,
                   ak_err_t *err)
{
    ak_pgo_msg_t m;
    if (ak_pgo_parse(s->dec, f->data, f->n, &m, err))
        return -1;
    switch (m.type) {
    case 'B':
        if (drain && m.lsn > s->target) {
            s->done = true; /* committed after the run began: the next run's */
            return 0;
        }
        s->in_txn = true;
        s->txn_seen = 0;
        return 0;
    case 'C':
        s->in_txn = false;
        s->lsn = m.end_lsn;
        s->skip = 0;
        s->skip_left = 0;
        if (drain && s->lsn >= s->target)
            s->done = true;
        return 0;
    case 'R':
        if (strcmp(m.rel->nspname, s->t.nspname) == 0 && strcmp(m.rel->relname, s->t.relname) == 0) {
            s->relid = m.relid;
            map_relation(s, m.rel);
        }
        return 0;
    default:
        break;
    }
    if (!ours(s, &m))
        return 0;
    s->txn_seen++;
    if (s->txn_seen <= s->skip_left)
        return 0; /* handed out before a restart */
    if (change(s, &m, f->wal_start, out, dead, ctx, err))
        return -1;
    s->skip = s->txn_seen;
    return 0;
}

static ak_poll_rc_t lost(cdc_src_t *s, const char *how, ak_err_t *err)
{
    char what[500];
    snprintf(what, sizeof what, "logical replication %s", how);
    ak_pg_fail(s->rk, NULL, &s->b.conf, what, err); /* without a result: retriable */
    return fail(s, err);
}

static ak_poll_rc_t stream(cdc_src_t *s, ak_batch_t *out, size_t max, bool drain, ak_dead_fn dead, void *ctx,
                           ak_err_t *err)
{
    size_t start = out->n;
    int64_t quiet_since = ak_mono_us(), asked_at = 0;
    /* an update may make two records: stop one early */
    size_t room = max > 1 ? max - 1 : 1;
    while (!s->done && out->n - start < room) {
        char *buf = NULL;
        int n = PQgetCopyData(s->rk, &buf, 1);
        if (n == 0) {
            if (!PQconsumeInput(s->rk))
                return lost(s, "(reading)", err);
            n = PQgetCopyData(s->rk, &buf, 1);
        }
        if (n == 0) {
            int64_t now = ak_mono_us();
            if (now - s->status_at >= STATUS_EVERY_US && send_status(s, false, err))
                return fail(s, err);
            if (!drain)
                return AK_POLL_IDLE;
            /* a --once run waits for the server to pass the WAL position
             * it began at, asking where it is when it says nothing */
            if (now - quiet_since > DRAIN_SILENCE_US) {
                ak_errf(err, AK_E_CONNECT, "PostgreSQL sent nothing for %d s while reading up to %s",
                        (int)(DRAIN_SILENCE_US / AK_US_PER_SEC), "the run's start");
                err->retriable = true;
                return fail(s, err);
            }
            if (now - asked_at > 500000) {
                if (send_status(s, true, err))
                    return fail(s, err);
                asked_at = now;
            }
            struct pollfd pf = {PQsocket(s->rk), POLLIN, 0};
            (void)poll(&pf, 1, 200);
            continue;
        }
        if (n == -1) {
            PGresult *r = PQgetResult(s->rk);
            char msg[400];
            snprintf(msg, sizeof msg, "ended by the server (%.300s)", r ? PQresultErrorMessage(r) : "");
            for (char *c = msg; *c; c++)
                if (*c == '\n')
                    *c = ' ';
            PQclear(r);
            return lost(s, msg, err);
        }
        if (n < 0)
            return lost(s, "(receiving)", err);
        quiet_since = ak_mono_us();
        ak_pgo_frame_t f;
        int rc = ak_pgo_frame_parse((const uint8_t *)buf, (size_t)n, &f, err);
        if (rc == 0 && f.kind == 'k') {
            /* nothing of ours before wal_end is unsent: the position may follow it */
            if (!s->in_txn && !s->skip_left && f.wal_end > s->lsn)
                s->lsn = f.wal_end;
            if (drain && !s->in_txn && s->lsn >= s->target)
                s->done = true;
            if (f.reply)
                rc = send_status(s, false, err);
        } else if (rc == 0) {
            rc = message(s, &f, drain, out, dead, ctx, err);
        }
        PQfreemem(buf);
        if (rc)
            return err->retriable ? fail(s, err) : AK_POLL_ERROR;
    }
    if (s->done)
        return AK_POLL_IDLE;
    return AK_POLL_MORE;
}

static ak_poll_rc_t cdc_poll(ak_source_t *src, ak_batch_t *out, size_t max, bool drain, ak_dead_fn dead, void *ctx,
                             ak_err_t *err)
{
    cdc_src_t *s = (cdc_src_t *)src;
    if (s->done)
        return AK_POLL_IDLE;
    if (s->state == ST_SETUP && setup(s, drain, err))
        return fail(s, err);
    if (s->state == ST_SNAPSHOT) {
        bool end;
        if (snapshot_rows(s, out, max, dead, ctx, &end, err))
            return fail(s, err);
        if (!end)
            return AK_POLL_MORE;
        s->lsn = s->consistent;
        s->skip = 0;
        s->state = ST_SETUP;
        ak_log_info(s->b.tag, "snapshot of table %s read (%" PRIu64 " records); streaming changes", s->t.qname,
                    s->rowno);
        if (drain && s->lsn >= s->target) {
            s->done = true;
            return AK_POLL_IDLE;
        }
        return AK_POLL_MORE; /* the position moved: streaming starts on the next poll */
    }
    return stream(s, out, max, drain, dead, ctx, err);
}
