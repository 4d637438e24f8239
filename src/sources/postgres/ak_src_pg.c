/* ak_src_pg.c - the `postgres` connector: settings, connecting, errors,
 * the input's table, rows to records, `connection test`, and the ops that
 * hand an input to its strategy (ak_pg_incremental.c or ak_pg_cdc.c).
 *
 * Config: host, port, database, user, password (write `${ENV}`), sslmode,
 * and for `strategy: cdc` the slot and publication (default
 * `akili_<product>_<input>`).  An input's resource is its table
 * (`schema.table` or `table`, found through the search path); its columns
 * are what is read, each a column of the table.
 */
#include "ak_pg.h"

#include "ak_alloc.h"
#include "ak_convert.h"
#include "ak_log.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ak_option_t postgres_opts[] = {
    {"host", AK_OPT_STRING, "localhost", "Server host name or address.", AK_OPT_ENV},
    {"port", AK_OPT_INT, "5432", "Server port.", AK_OPT_ENV, NULL, 1, 65535},
    {"database", AK_OPT_STRING, NULL, "Database name.", AK_OPT_REQUIRED | AK_OPT_ENV},
    {"user", AK_OPT_STRING, NULL, "User name.", AK_OPT_ENV},
    {"password", AK_OPT_STRING, NULL, "Password; write `${ENV_VAR}`.", AK_OPT_ENV | AK_OPT_SECRET},
    {"sslmode", AK_OPT_ENUM, "prefer", "libpq sslmode.", 0, "disable|allow|prefer|require|verify-ca|verify-full"},
    {"slot", AK_OPT_IDENT, NULL, "Replication slot for `strategy: cdc` (created when missing).", 0},
    {"publication", AK_OPT_IDENT, NULL, "Publication for `strategy: cdc` (created when missing).", 0},
};

/* An input's `options:` for this connector. */
static const ak_option_t input_opts[] = {
    {"slot", AK_OPT_IDENT, NULL,
     "`cdc`: the replication slot of this input (default: the connection's `slot`, else `akili_<product>_<input>`).", 0},
    {"publication", AK_OPT_IDENT, NULL,
     "`cdc`: the publication of this input (default: the connection's `publication`, else "
     "`akili_<product>_<input>`).", 0},
    {"page_size", AK_OPT_INT, NULL, "Rows fetched per query page (default: the engine's batch size).", 0, NULL, 1,
     1000000},
    {"interval", AK_OPT_DURATION, "1s", "`incremental`: a continuous run syncs at most this often.", 0},
};

/* ---- settings ---- */

void ak_pg_conf_free(ak_pg_conf_t *c)
{
    ak_free(c->host);
    ak_free(c->database);
    ak_free(c->user);
    if (c->password) /* not left behind in freed memory */
        memset(c->password, 0, strlen(c->password));
    ak_free(c->password);
    ak_free(c->sslmode);
    ak_free(c->slot);
    ak_free(c->publication);
    memset(c, 0, sizeof *c);
}

int ak_pg_conf_load(const ak_conn_t *c, ak_pg_conf_t *o, ak_err_t *err)
{
    memset(o, 0, sizeof *o);
    if (ak_opt_str(&c->opts, "host", &o->host, err) || ak_opt_int(&c->opts, "port", &o->port, err) ||
        ak_opt_str(&c->opts, "database", &o->database, err) || ak_opt_str(&c->opts, "user", &o->user, err) ||
        ak_opt_str(&c->opts, "password", &o->password, err) || ak_opt_str(&c->opts, "sslmode", &o->sslmode, err) ||
        ak_opt_str(&c->opts, "slot", &o->slot, err) || ak_opt_str(&c->opts, "publication", &o->publication, err)) {
        ak_pg_conf_free(o);
        return -1;
    }
    return 0;
}

void ak_pg_in_opts_free(ak_pg_in_opts_t *o)
{
    ak_free(o->slot);
    ak_free(o->publication);
    memset(o, 0, sizeof *o);
}

int ak_pg_in_opts_load(const ak_input_t *in, ak_pg_in_opts_t *o, ak_err_t *err)
{
    memset(o, 0, sizeof *o);
    char what[200];
    snprintf(what, sizeof what, "the options of input `%s`", in->name);
    ak_optset_t s = AK_OPTSET(input_opts, in->options, what);
    if (ak_optset_validate(&s, err) || ak_opt_str(&s, "slot", &o->slot, err) ||
        ak_opt_str(&s, "publication", &o->publication, err) || ak_opt_int(&s, "page_size", &o->page_size, err) ||
        ak_opt_duration(&s, "interval", &o->interval_us, err)) {
        ak_pg_in_opts_free(o);
        return -1;
    }
    return 0;
}

const char *ak_pg_where(const ak_pg_conf_t *c, char *buf, size_t cap)
{
    const char *h = c->host && *c->host ? c->host : "localhost";
    snprintf(buf, cap, strchr(h, ':') ? "[%s]:%" PRId64 : "%s:%" PRId64, h, c->port);
    return buf;
}

char *ak_pg_ident(const char *name)
{
    ak_buf_t b = AK_BUF_INIT;
    ak_buf_putc(&b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            ak_buf_putc(&b, '"');
        ak_buf_putc(&b, *p);
    }
    ak_buf_putc(&b, '"');
    if (b.oom) {
        ak_buf_free(&b);
        return NULL;
    }
    return ak_buf_steal(&b);
}

/* libpq's message on one line, without its trailing newline. */
static void one_line(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = in ? in : ""; *p && n + 1 < cap; p++) {
        char ch = *p == '\n' || *p == '\t' || *p == '\r' ? ' ' : *p;
        if (ch == ' ' && (n == 0 || out[n - 1] == ' '))
            continue;
        out[n++] = ch;
    }
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

/* ---- connecting ---- */

int ak_pg_connect(const ak_pg_conf_t *c, bool replication, PGconn **out, ak_err_t *err)
{
    *out = NULL;
    char port[24], where[300];
    snprintf(port, sizeof port, "%" PRId64, c->port);
    const char *keys[16], *vals[16];
    int n = 0;
#define KV(k, v)                                                                                                       \
    do {                                                                                                               \
        const char *v_ = (v);                                                                                          \
        if (v_) {                                                                                                      \
            keys[n] = (k);                                                                                             \
            vals[n++] = v_;                                                                                            \
        }                                                                                                              \
    } while (0)
    KV("host", c->host);
    KV("port", port);
    KV("dbname", c->database);
    KV("user", c->user);
    KV("password", c->password);
    KV("sslmode", c->sslmode);
    KV("connect_timeout", "10");
    KV("application_name", "akili");
    KV("client_encoding", "UTF8");
    /* text values that akili's converters read back exactly */
    KV("options", "-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=3 -c IntervalStyle=iso_8601");
    if (replication)
        KV("replication", "database");
#undef KV
    keys[n] = vals[n] = NULL;
    PGconn *k = PQconnectdbParams(keys, vals, 0);
    if (!k)
        return ak_err_nomem(err);
    if (PQstatus(k) == CONNECTION_OK) {
        *out = k;
        return 0;
    }
    char msg[700];
    one_line(PQerrorMessage(k), msg, sizeof msg);
    PQfinish(k);
    ak_pg_where(c, where, sizeof where);
    const char *user = c->user ? c->user : "(default user)";
    if (strstr(msg, "password authentication failed") || strstr(msg, "no password supplied") ||
        strstr(msg, "authentication failed"))
        return ak_errf(err, AK_E_CONNECT,
                       "PostgreSQL at %s refused user `%s`: bad credentials (%s). Check the connection's `user` and "
                       "`password` (and the environment variable the password refers to)",
                       where, user, msg);
    if (strstr(msg, "must be superuser or replication role") || strstr(msg, "permission denied to start WAL sender"))
        return ak_errf(err, AK_E_CONNECT,
                       "user `%s` may not open a replication connection to PostgreSQL at %s (%s); `strategy: cdc` "
                       "needs the REPLICATION privilege: ALTER ROLE %s REPLICATION",
                       user, where, msg, user);
    if (strstr(msg, "does not exist"))
        return ak_errf(err, AK_E_NOTFOUND, "PostgreSQL at %s: %s", where, msg);
    if (strstr(msg, "pg_hba.conf"))
        return ak_errf(err, AK_E_CONNECT, "PostgreSQL at %s does not accept this client (%s): add a pg_hba.conf entry "
                       "for it%s", where, msg, replication ? " (replication connections included)" : "");
    ak_errf(err, AK_E_CONNECT, "cannot reach PostgreSQL at %s%s: %s", where,
            replication ? " (replication connection)" : "", msg);
    /* unreachable, starting up, shutting down, too many clients: may pass */
    err->retriable = true;
    return -1;
}

int ak_pg_fail(PGconn *k, const PGresult *r, const ak_pg_conf_t *c, const char *what, ak_err_t *err)
{
    char msg[700], where[300];
    one_line(r ? PQresultErrorMessage(r) : NULL, msg, sizeof msg);
    if (!msg[0])
        one_line(PQerrorMessage(k), msg, sizeof msg);
    if (!msg[0])
        snprintf(msg, sizeof msg, "no answer");
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    ak_pg_where(c, where, sizeof where);
    bool lost = PQstatus(k) == CONNECTION_BAD || !state || strncmp(state, "08", 2) == 0 ||
                strncmp(state, "57P", 3) == 0 || strncmp(state, "53", 2) == 0 || strcmp(state, "40001") == 0 ||
                strcmp(state, "40P01") == 0;
    if (lost) {
        ak_errf(err, AK_E_CONNECT, "PostgreSQL at %s: %s failed: %s", where, what, msg);
        err->retriable = true;
        return -1;
    }
    if (strcmp(state, "42501") == 0)
        return ak_errf(err, AK_E_CONNECT, "PostgreSQL at %s: %s: permission denied (%s)", where, what, msg);
    return ak_errf(err, strncmp(state, "42", 2) == 0 ? AK_E_NOTFOUND : AK_E_CONNECT, "PostgreSQL at %s: %s failed: %s",
                   where, what, msg);
}

PGresult *ak_pg_exec(PGconn *k, const ak_pg_conf_t *c, const char *sql, int nparams, const char *const *params,
                     ExecStatusType want, const char *what, ak_err_t *err)
{
    PGresult *r = nparams ? PQexecParams(k, sql, nparams, NULL, params, NULL, NULL, 0) : PQexec(k, sql);
    if (r && PQresultStatus(r) == want)
        return r;
    ak_pg_fail(k, r, c, what, err);
    PQclear(r);
    return NULL;
}

/* ---- the input's table ---- */

void ak_pg_table_free(ak_pg_table_t *t)
{
    ak_free(t->nspname);
    ak_free(t->relname);
    ak_free(t->qname);
    ak_free(t->select_list);
    ak_free(t->key_cols);
    for (int i = 0; i < AK_MAX_COLUMNS; i++) {
        ak_free(t->types[i]);
        ak_free(t->key_types[i]);
    }
    memset(t, 0, sizeof *t);
}

/* "a"."b" for resource a.b, or "b"; lowered: as an unquoted name would be. */
static char *regclass_text(const char *res, bool lower)
{
    char *copy = ak_strdup(res);
    if (!copy)
        return NULL;
    if (lower)
        for (char *p = copy; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    char *dot = strchr(copy, '.');
    char *out = NULL;
    if (dot) {
        *dot = '\0';
        char *a = ak_pg_ident(copy), *b = ak_pg_ident(dot + 1);
        if (a && b) {
            size_t n = strlen(a) + strlen(b) + 2;
            if ((out = ak_malloc(n)))
                snprintf(out, n, "%s.%s", a, b);
        }
        ak_free(a);
        ak_free(b);
    } else {
        out = ak_pg_ident(copy);
    }
    ak_free(copy);
    return out;
}

static int table_missing(PGconn *k, const ak_pg_conf_t *c, const ak_input_t *in, ak_err_t *err)
{
    char where[300];
    ak_pg_where(c, where, sizeof where);
    ak_buf_t b = AK_BUF_INIT;
    PGresult *r = PQexec(k, "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE "
                            "table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 LIMIT 21");
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK) {
        int n = PQntuples(r);
        for (int i = 0; i < n && i < 20; i++)
            ak_buf_printf(&b, "%s%s", i ? ", " : "", PQgetvalue(r, i, 0));
        if (n > 20)
            ak_buf_puts(&b, ", ...");
        if (!n)
            ak_buf_puts(&b, "none the user may see");
    }
    PQclear(r);
    ak_errf(err, AK_E_NOTFOUND, "table `%s` not found in database `%s` at %s (tables: %s)",
            in->resource, c->database, where, b.data && !b.oom ? b.data : "?");
    ak_buf_free(&b);
    return -1;
}

int ak_pg_table_resolve(PGconn *k, const ak_pg_conf_t *c, const ak_input_t *in, ak_pg_table_t *t, ak_err_t *err)
{
    memset(t, 0, sizeof *t);
    char what[300];
    snprintf(what, sizeof what, "looking up table `%s`", in->resource);
    PGresult *r = NULL;
    for (int lower = 0; lower < 2 && !t->oid; lower++) {
        char *rc = regclass_text(in->resource, lower);
        if (!rc)
            return ak_err_nomem(err);
        const char *p[1] = {rc};
        r = ak_pg_exec(k, c,
                       "SELECT c.oid, n.nspname, c.relname, c.relreplident, has_table_privilege(c.oid, 'SELECT') "
                       "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
                       1, p, PGRES_TUPLES_OK, what, err);
        ak_free(rc);
        if (!r)
            return -1;
        if (PQntuples(r) == 1) {
            t->oid = (uint32_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
            t->nspname = ak_strdup(PQgetvalue(r, 0, 1));
            t->relname = ak_strdup(PQgetvalue(r, 0, 2));
            t->replident = PQgetvalue(r, 0, 3)[0];
            bool may = PQgetvalue(r, 0, 4)[0] == 't';
            PQclear(r);
            char *a = ak_pg_ident(t->nspname ? t->nspname : ""), *b = ak_pg_ident(t->relname ? t->relname : "");
            if (a && b && (t->qname = ak_malloc(strlen(a) + strlen(b) + 2)))
                sprintf(t->qname, "%s.%s", a, b);
            ak_free(a);
            ak_free(b);
            if (!t->nspname || !t->relname || !t->qname) {
                ak_pg_table_free(t);
                return ak_err_nomem(err);
            }
            if (!may) {
                ak_errf(err, AK_E_CONNECT, "user `%s` may not read table %s (GRANT SELECT ON %s TO %s)",
                        c->user ? c->user : "?", t->qname, t->qname, c->user ? c->user : "...");
                ak_pg_table_free(t);
                return -1;
            }
            break;
        }
        PQclear(r);
    }
    if (!t->oid)
        return table_missing(k, c, in, err);
    /* the input's columns, matched by name (exactly, else ignoring case) */
    char oid[16];
    snprintf(oid, sizeof oid, "%" PRIu32, t->oid);
    const char *p[1] = {oid};
    r = ak_pg_exec(k, c,
                   "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::oid "
                   "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                   1, p, PGRES_TUPLES_OK, what, err);
    if (!r) {
        ak_pg_table_free(t);
        return -1;
    }
    int n = PQntuples(r);
    ak_buf_t sel = AK_BUF_INIT, missing = AK_BUF_INIT;
    const ak_schema_t *s = &in->schema;
    for (int i = 0; i < s->n; i++) {
        int at = -1;
        for (int j = 0; j < n && at < 0; j++)
            if (strcmp(PQgetvalue(r, j, 0), s->cols[i].name) == 0)
                at = j;
        for (int j = 0; j < n && at < 0; j++)
            if (strcasecmp(PQgetvalue(r, j, 0), s->cols[i].name) == 0)
                at = j;
        if (at < 0) {
            ak_buf_printf(&missing, "%s`%s`", missing.len ? ", " : "", s->cols[i].name);
            continue;
        }
        char *q = ak_pg_ident(PQgetvalue(r, at, 0));
        if (q)
            ak_buf_printf(&sel, "%s%s", sel.len ? ", " : "", q);
        ak_free(q);
        if (!q || !(t->types[i] = ak_strdup(PQgetvalue(r, at, 1))))
            sel.oom = true;
    }
    if (missing.len) {
        ak_buf_t have = AK_BUF_INIT;
        for (int j = 0; j < n; j++)
            ak_buf_printf(&have, "%s%s", j ? ", " : "", PQgetvalue(r, j, 0));
        ak_errf(err, AK_E_NOTFOUND, "table %s has no column %s (its columns: %s)", t->qname,
                missing.data && !missing.oom ? missing.data : "?", have.data && !have.oom ? have.data : "none");
        ak_buf_free(&have);
        ak_buf_free(&sel);
        ak_buf_free(&missing);
        PQclear(r);
        ak_pg_table_free(t);
        return -1;
    }
    ak_buf_free(&missing);
    /* the key, in the order primary_key gives it */
    ak_buf_t keys = AK_BUF_INIT;
    for (size_t j = 0; j < in->n_primary_key && j < AK_MAX_COLUMNS; j++) {
        int idx = ak_schema_find(s, in->primary_key[j], strlen(in->primary_key[j]));
        if (idx < 0)
            continue;
        int at = -1;
        for (int q = 0; q < n && at < 0; q++)
            if (strcasecmp(PQgetvalue(r, q, 0), s->cols[idx].name) == 0)
                at = q;
        char *qi = ak_pg_ident(at >= 0 ? PQgetvalue(r, at, 0) : s->cols[idx].name);
        if (qi)
            ak_buf_printf(&keys, "%s%s", keys.len ? ", " : "", qi);
        ak_free(qi);
        t->key_idx[t->nkey] = idx;
        if (!qi || !(t->key_types[t->nkey] = ak_strdup(t->types[idx])))
            keys.oom = true;
        t->nkey++;
    }
    PQclear(r);
    if (sel.oom || keys.oom || !(t->select_list = ak_buf_steal(&sel)) || (keys.len && !(t->key_cols = ak_buf_steal(&keys)))) {
        ak_buf_free(&sel);
        ak_buf_free(&keys);
        ak_pg_table_free(t);
        return ak_err_nomem(err);
    }
    ak_buf_free(&keys);
    return 0;
}

/* ---- rows to records ---- */

static void dead_json(const ak_input_t *in, const ak_pg_row_t *row, ak_op_t op, bool envelope, ak_buf_t *b)
{
    if (envelope)
        ak_buf_puts(b, op == AK_OP_DELETE ? "{\"op\":\"d\",\"before\":" : "{\"op\":\"c\",\"after\":");
    ak_buf_putc(b, '{');
    bool first = true;
    for (int i = 0; i < in->schema.n; i++) {
        if (!(row->present >> i & 1))
            continue;
        if (!first)
            ak_buf_putc(b, ',');
        first = false;
        ak_buf_put_json_str(b, in->schema.cols[i].name, strlen(in->schema.cols[i].name));
        ak_buf_putc(b, ':');
        if (row->nulls[i])
            ak_buf_puts(b, "null");
        else
            ak_buf_put_json_str(b, row->vals[i], (size_t)row->lens[i]);
    }
    ak_buf_putc(b, '}');
    if (envelope)
        ak_buf_putc(b, '}');
}

int ak_pg_emit(const ak_input_t *in, ak_batch_t *out, ak_op_t op, uint8_t flags, const ak_pg_row_t *row, uint64_t pos,
               bool envelope, const char *where, ak_dead_fn dead, void *dead_ctx, ak_err_t *err)
{
    const ak_schema_t *s = &in->schema;
    ak_rec_t *rec = ak_batch_add(out, op, pos);
    if (!rec)
        return ak_err_nomem(err);
    rec->flags = flags;
    rec->present = row->present;
    ak_err_t e2;
    ak_err_clear(&e2);
    int bad = 0;
    for (int i = 0; i < s->n && !bad; i++) {
        const ak_column_t *col = &s->cols[i];
        bool here = row->present >> i & 1;
        /* a delete needs its key; an upsert every required column */
        bool needed = op == AK_OP_DELETE ? col->key && ak_schema_keyed(s) : col->required;
        if (!here || row->nulls[i]) {
            rec->v[i] = ak_v_null();
            if (needed && !(flags & AK_REC_MERGE && !here)) {
                ak_errf(&e2, AK_E_TYPE, "missing required field `%s`", col->name);
                bad = 1;
            }
            continue;
        }
        const char *txt = row->vals[i];
        if (col->type == AK_TEXT && !(txt = ak_arena_strndup(&out->arena, txt, (size_t)row->lens[i]))) {
            ak_batch_pop(out);
            return ak_err_nomem(err);
        }
        if (ak_convert(col, txt, (size_t)row->lens[i], &rec->v[i], &e2))
            bad = 1;
    }
    if (!bad)
        return 1;
    ak_batch_pop(out);
    ak_buf_t raw = AK_BUF_INIT;
    dead_json(in, row, op, envelope, &raw);
    if (raw.oom) {
        ak_buf_free(&raw);
        return ak_err_nomem(err);
    }
    ak_dead_t d = {where, e2.msg, raw.data, raw.len, NULL, 0};
    int rc = dead(dead_ctx, &d, err);
    ak_buf_free(&raw);
    return rc ? -1 : 0;
}

/* ---- connection test ---- */

static int pg_test(const ak_conn_t *c, ak_buf_t *report, ak_err_t *err)
{
    ak_pg_conf_t conf;
    if (ak_pg_conf_load(c, &conf, err))
        return -1;
    PGconn *k = NULL;
    int rc = -1;
    char where[300];
    ak_pg_where(&conf, where, sizeof where);
    if (ak_pg_connect(&conf, false, &k, err))
        goto out;
    PGresult *r = ak_pg_exec(
        k, &conf,
        "SELECT current_setting('server_version'), current_setting('wal_level'), "
        "(SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user), "
        "(SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', "
        "'information_schema')), current_user, current_database()",
        0, NULL, PGRES_TUPLES_OK, "reading the server's settings", err);
    if (!r)
        goto out;
    const char *wal = PQgetvalue(r, 0, 1);
    bool repl = PQgetvalue(r, 0, 2)[0] == 't';
    ak_buf_printf(report, "PostgreSQL %s at %s, database `%s` as `%s`; wal_level %s", PQgetvalue(r, 0, 0), where,
                  PQgetvalue(r, 0, 5), PQgetvalue(r, 0, 4), wal);
    if (strcmp(wal, "logical") != 0)
        ak_buf_puts(report, " (`strategy: cdc` needs `logical`: ALTER SYSTEM SET wal_level = logical, then restart "
                            "the server; `incremental` works as is)");
    ak_buf_printf(report, "; user may replicate: %s%s; %s tables visible", repl ? "yes" : "no",
                  repl ? "" : " (`strategy: cdc` needs ALTER ROLE ... REPLICATION)", PQgetvalue(r, 0, 3));
    PQclear(r);
    rc = 0;
out:
    PQfinish(k);
    ak_pg_conf_free(&conf);
    return rc;
}

/* ---- the source: shared part and dispatch ---- */

int ak_pg_base_init(ak_pg_base_t *b, const ak_pg_vt_t *vt, const ak_conn_t *c, const ak_input_t *in, ak_err_t *err)
{
    b->vt = vt;
    b->in = in;
    snprintf(b->tag, sizeof b->tag, "%s/%s", c->product ? c->product : c->name, in->name);
    if (ak_pg_conf_load(c, &b->conf, err))
        return -1;
    if (ak_pg_in_opts_load(in, &b->opts, err)) {
        ak_pg_conf_free(&b->conf);
        return -1;
    }
    return 0;
}

void ak_pg_base_free(ak_pg_base_t *b)
{
    ak_pg_conf_free(&b->conf);
    ak_pg_in_opts_free(&b->opts);
}

static int pg_open(const ak_conn_t *c, const ak_input_t *in, const char *position, ak_source_t **out, ak_err_t *err)
{
    *out = NULL;
    if (in->strategy == AK_STRATEGY_INCREMENTAL)
        return ak_pg_inc_open(c, in, position, out, err);
    if (in->strategy == AK_STRATEGY_CDC)
        return ak_pg_cdc_open(c, in, position, out, err);
    return ak_errf(err, AK_E_CONFIG,
                   "input `%s`: a `postgres` connection reads a table with `strategy: incremental` (rows whose "
                   "cursor_field advanced) or `strategy: cdc` (logical replication), not `%s`",
                   in->name, ak_strategy_name(in->strategy));
}

static ak_poll_rc_t pg_poll(ak_source_t *s, ak_batch_t *out, size_t max, bool drain, ak_dead_fn dead, void *ctx,
                            ak_err_t *err)
{
    return ((ak_pg_base_t *)s)->vt->poll(s, out, max, drain, dead, ctx, err);
}

static char *pg_position(ak_source_t *s) { return ((ak_pg_base_t *)s)->vt->position(s); }

static int pg_commit(ak_source_t *s, const char *position, ak_err_t *err)
{
    return ((ak_pg_base_t *)s)->vt->commit(s, position, err);
}

static void pg_close(ak_source_t *s)
{
    if (s)
        ((ak_pg_base_t *)s)->vt->close(s);
}

const ak_source_ops_t ak_source_postgres = {
    AK_SOURCE_ABI,
    "postgres",
    "PostgreSQL tables: incremental by cursor, or CDC by logical replication",
    postgres_opts,
    sizeof postgres_opts / sizeof postgres_opts[0],
    true,
    pg_test,
    pg_open,
    pg_poll,
    pg_position,
    pg_commit,
    pg_close,
};
