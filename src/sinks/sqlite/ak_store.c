/* ak_store.c - published tables in per-namespace SQLite files.
 *
 * A replace builds the new contents in a scratch table, then in the same
 * transaction drops the old table, renames the scratch one into place and
 * builds the indexes, so the swap is atomic for readers (WAL mode).
 */
#include "ak_store.h"

#include "ak_alloc.h"
#include "ak_buf.h"
#include "ak_sqlite.h"
#include "ak_time.h"

#include <stdio.h>
#include <string.h>

int ak__mkdir_p(const char *path, ak_err_t *err);

struct ak_store {
    sqlite3 *db;
    char *path;
};

static const char *sqlite_type(ak_type_t t)
{
    switch (t) {
    case AK_FLOAT:
    case AK_DOUBLE: return "REAL";
    case AK_TEXT:
    case AK_INTERVAL:
    case AK_NULL: return "TEXT";
    default: return "INTEGER";
    }
}

int ak_store_open(const char *home, const char *ns, ak_store_t **out, ak_err_t *err)
{
    *out = NULL;
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/serving", home);
    if (ak__mkdir_p(dir, err))
        return -1;
    snprintf(path, sizeof path, "%s/%s.db", dir, ns);
    ak_store_t *s = ak_calloc(1, sizeof *s);
    if (!s || !(s->path = ak_strdup(path))) {
        ak_free(s);
        return ak_err_nomem(err);
    }
    if (ak_db_open(path, &s->db, err) ||
        ak_db_exec(s->db,
                   "CREATE TABLE IF NOT EXISTS _akili_tables (name TEXT PRIMARY KEY, columns TEXT NOT NULL, "
                   "version TEXT, run_id INTEGER, rows INTEGER, updated_us INTEGER, inputs TEXT, commit_seq INTEGER, "
                   "logs TEXT)",
                   err)) {
        ak_store_close(s);
        return -1;
    }
    /* stores written by earlier versions gain the columns added since */
    static const char *const added[][2] = {{"inputs", "TEXT"}, {"commit_seq", "INTEGER"}, {"logs", "TEXT"}};
    for (size_t i = 0; i < sizeof added / sizeof added[0]; i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT %s FROM _akili_tables LIMIT 0", added[i][0]);
        sqlite3_stmt *probe = NULL;
        bool has = sqlite3_prepare_v2(s->db, sql, -1, &probe, NULL) == SQLITE_OK;
        sqlite3_finalize(probe);
        snprintf(sql, sizeof sql, "ALTER TABLE _akili_tables ADD COLUMN %s %s", added[i][0], added[i][1]);
        if (!has && ak_db_exec(s->db, sql, err)) {
            ak_store_close(s);
            return -1;
        }
    }
    *out = s;
    return 0;
}

void ak_store_close(ak_store_t *s)
{
    if (!s)
        return;
    ak_db_close(s->db);
    ak_free(s->path);
    ak_free(s);
}

static void q(ak_buf_t *b, const char *ident)
{
    char t[512];
    ak_db_quote_ident(ident, t, sizeof t);
    ak_buf_puts(b, t);
}

/* Quoted identifiers separated by ", ". */
static void q_cols(ak_buf_t *b, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        if (i)
            ak_buf_puts(b, ", ");
        q(b, names[i]);
    }
}

static int bind_val(sqlite3_stmt *st, int k, const ak_val_t *v)
{
    switch (v->type) {
    case AK_NULL: return sqlite3_bind_null(st, k);
    case AK_TEXT: return sqlite3_bind_text64(st, k, v->s ? v->s : "", v->n, SQLITE_STATIC, SQLITE_UTF8);
    case AK_FLOAT:
    case AK_DOUBLE: return sqlite3_bind_double(st, k, v->d);
    case AK_INTERVAL: {
        ak_buf_t b = AK_BUF_INIT;
        ak_val_to_text(v, &b);
        int rc = sqlite3_bind_text(st, k, b.data ? b.data : "", -1, SQLITE_TRANSIENT);
        ak_buf_free(&b);
        return rc;
    }
    default: return sqlite3_bind_int64(st, k, v->i);
    }
}

/* ---- transactions ---- */

struct ak_store_tx {
    ak_store_t *s;
    char *name;              /* the table written (a scratch table when replacing) */
    char *final;             /* the table's name */
    bool replace;
    int ncols;
    char **names;
    ak_type_t *types;
    ak_buf_t cols;           /* "name TYPE,..." for _akili_tables */
    const ak_store_index_t *idx;
    int nidx;
    sqlite3_stmt *ins, *upd, *del, *get;
    /* updates of some columns only (the others and their indexes untouched) */
    struct {
        uint64_t mask;
        sqlite3_stmt *st;
    } part[8];
    int npart, next_part;
    int64_t commit_seq;      /* recorded with the commit (0: none) */
    char *logs;
};

static void tx_free(ak_store_tx_t *t)
{
    if (!t)
        return;
    ak_free(t->logs);
    for (int i = 0; i < t->npart; i++)
        sqlite3_finalize(t->part[i].st);
    sqlite3_finalize(t->ins);
    sqlite3_finalize(t->upd);
    sqlite3_finalize(t->del);
    sqlite3_finalize(t->get);
    for (int i = 0; t->names && i < t->ncols; i++)
        ak_free(t->names[i]);
    ak_free(t->names);
    ak_free(t->types);
    ak_free(t->name);
    ak_free(t->final);
    ak_buf_free(&t->cols);
    ak_free(t);
}

/* Prepares the statement built in sql (and frees sql). */
static int prepare_sql(sqlite3 *db, ak_buf_t *sql, sqlite3_stmt **st, ak_err_t *err)
{
    int rc = sql->oom ? ak_err_nomem(err) : ak_db_prepare(db, sql->data, st, err);
    ak_buf_free(sql);
    return rc;
}

/* Prepares one of the statements a transaction uses, on first use. */
static int tx_stmt(ak_store_tx_t *t, sqlite3_stmt **st, char kind, ak_err_t *err)
{
    if (*st)
        return 0;
    ak_buf_t sql = AK_BUF_INIT;
    switch (kind) {
    case 'i':
        ak_buf_puts(&sql, "INSERT INTO ");
        q(&sql, t->name);
        ak_buf_puts(&sql, " VALUES (");
        for (int i = 0; i < t->ncols; i++)
            ak_buf_puts(&sql, i ? ",?" : "?");
        ak_buf_puts(&sql, ")");
        break;
    case 'u':
        ak_buf_puts(&sql, "UPDATE ");
        q(&sql, t->name);
        ak_buf_puts(&sql, " SET ");
        for (int i = 0; i < t->ncols; i++) {
            if (i)
                ak_buf_puts(&sql, ", ");
            q(&sql, t->names[i]);
            ak_buf_puts(&sql, " = ?");
        }
        ak_buf_puts(&sql, " WHERE rowid = ?");
        break;
    case 'd':
        ak_buf_puts(&sql, "DELETE FROM ");
        q(&sql, t->name);
        ak_buf_puts(&sql, " WHERE rowid = ?");
        break;
    default:
        ak_buf_puts(&sql, "SELECT ");
        q_cols(&sql, (const char *const *)t->names, t->ncols);
        ak_buf_puts(&sql, " FROM ");
        q(&sql, t->name);
        ak_buf_puts(&sql, " WHERE rowid = ?");
        break;
    }
    return prepare_sql(t->s->db, &sql, st, err);
}

int ak_store_begin(ak_store_t *s, const char *name, int ncols, const char *const *names, const ak_type_t *types,
                   const ak_store_index_t *idx, int nidx, bool replace, ak_store_tx_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_store_tx_t *t = ak_calloc(1, sizeof *t);
    if (!t)
        return ak_err_nomem(err);
    char tmp_name[300];
    snprintf(tmp_name, sizeof tmp_name, "__akili_new_%s", name);
    t->s = s;
    t->replace = replace;
    t->ncols = ncols;
    t->idx = idx;
    t->nidx = nidx;
    t->name = ak_strdup(replace ? tmp_name : name);
    t->final = ak_strdup(name);
    t->names = ak_calloc((size_t)(ncols + 1), sizeof *t->names);
    t->types = ak_calloc((size_t)(ncols + 1), sizeof *t->types);
    if (!t->name || !t->final || !t->names || !t->types) {
        tx_free(t);
        return ak_err_nomem(err);
    }
    for (int i = 0; i < ncols; i++) {
        if (!(t->names[i] = ak_strdup(names[i]))) {
            tx_free(t);
            return ak_err_nomem(err);
        }
        t->types[i] = types[i];
        ak_buf_printf(&t->cols, "%s%s %s", i ? "," : "", names[i], ak_type_name(types[i]));
    }
    /* changes land all over a large table: with SQLite's 2 MB page cache
     * the transaction spills pages to the WAL and reads them back (+10-15%
     * sustained ingestion); a whole table is written in order and needs
     * no more, so its publish does not grow the process by the difference */
    if (ak_db_exec(s->db, replace ? "PRAGMA cache_size=-2000" : "PRAGMA cache_size=-65536", err) ||
        ak_db_exec(s->db, "BEGIN IMMEDIATE", err)) {
        tx_free(t);
        return -1;
    }
    ak_buf_t sql = AK_BUF_INIT;
    if (replace) {
        ak_buf_puts(&sql, "DROP TABLE IF EXISTS ");
        q(&sql, t->name);
        ak_buf_puts(&sql, "; ");
    }
    ak_buf_puts(&sql, "CREATE TABLE IF NOT EXISTS ");
    q(&sql, t->name);
    ak_buf_puts(&sql, " (");
    for (int i = 0; i < ncols; i++) {
        if (i)
            ak_buf_puts(&sql, ", ");
        q(&sql, names[i]);
        ak_buf_printf(&sql, " %s", sqlite_type(types[i]));
    }
    ak_buf_puts(&sql, ")");
    int rc = (sql.oom || t->cols.oom) ? ak_err_nomem(err) : ak_db_exec(s->db, sql.data, err);
    ak_buf_free(&sql);
    if (rc) {
        ak_db_exec(s->db, "ROLLBACK", NULL);
        tx_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

int ak_store_tx_insert(ak_store_tx_t *t, const ak_val_t *row, int64_t *rowid, ak_err_t *err)
{
    if (tx_stmt(t, &t->ins, 'i', err))
        return -1;
    for (int i = 0; i < t->ncols; i++)
        bind_val(t->ins, i + 1, &row[i]);
    int rc = sqlite3_step(t->ins);
    sqlite3_reset(t->ins);
    if (rc != SQLITE_DONE)
        return ak_db_fail(t->s->db, err, "writing the serving table");
    if (rowid)
        *rowid = sqlite3_last_insert_rowid(t->s->db);
    return 0;
}

/* UPDATE ... SET the columns in mask ... WHERE rowid = ?, prepared once per
 * transaction and mask. */
static sqlite3_stmt *part_stmt(ak_store_tx_t *t, uint64_t mask, ak_err_t *err)
{
    for (int i = 0; i < t->npart; i++)
        if (t->part[i].mask == mask)
            return t->part[i].st;
    ak_buf_t sql = AK_BUF_INIT;
    ak_buf_puts(&sql, "UPDATE ");
    q(&sql, t->name);
    ak_buf_puts(&sql, " SET ");
    int k = 0;
    for (int c = 0; c < t->ncols; c++)
        if (mask >> c & 1) {
            if (k++)
                ak_buf_puts(&sql, ", ");
            q(&sql, t->names[c]);
            ak_buf_puts(&sql, " = ?");
        }
    ak_buf_puts(&sql, " WHERE rowid = ?");
    sqlite3_stmt *st = NULL;
    if (prepare_sql(t->s->db, &sql, &st, err))
        return NULL;
    int slot = t->npart < 8 ? t->npart++ : t->next_part++ % 8;
    if (t->part[slot].st)
        sqlite3_finalize(t->part[slot].st);
    t->part[slot].mask = mask;
    t->part[slot].st = st;
    return st;
}

int ak_store_tx_update(ak_store_tx_t *t, int64_t rowid, const ak_val_t *row, const ak_val_t *old, ak_err_t *err)
{
    sqlite3_stmt *st;
    uint64_t mask = 0;
    if (old && t->ncols <= 64) {
        for (int c = 0; c < t->ncols; c++)
            if (!(row[c].type == old[c].type && ak_val_eq_group(&row[c], &old[c])))
                mask |= UINT64_C(1) << c;
        if (!mask)
            return 0; /* nothing changed */
    }
    if (mask && mask != (t->ncols == 64 ? ~UINT64_C(0) : (UINT64_C(1) << t->ncols) - 1)) {
        if (!(st = part_stmt(t, mask, err)))
            return -1;
        int k = 1;
        for (int c = 0; c < t->ncols; c++)
            if (mask >> c & 1)
                bind_val(st, k++, &row[c]);
        sqlite3_bind_int64(st, k, rowid);
    } else {
        if (tx_stmt(t, &t->upd, 'u', err))
            return -1;
        st = t->upd;
        for (int i = 0; i < t->ncols; i++)
            bind_val(st, i + 1, &row[i]);
        sqlite3_bind_int64(st, t->ncols + 1, rowid);
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : ak_db_fail(t->s->db, err, "updating the serving table");
}

int ak_store_tx_delete(ak_store_tx_t *t, int64_t rowid, ak_err_t *err)
{
    if (tx_stmt(t, &t->del, 'd', err))
        return -1;
    sqlite3_bind_int64(t->del, 1, rowid);
    int rc = sqlite3_step(t->del);
    sqlite3_reset(t->del);
    return rc == SQLITE_DONE ? 0 : ak_db_fail(t->s->db, err, "deleting from the serving table");
}

/* Reads the row stored under rowid, converted as ak_store_scan would. */
static int read_row(sqlite3_stmt *st, int off, int ncols, const ak_type_t *types, ak_val_t *row, ak_arena_t *a,
                    ak_err_t *err);

int ak_store_tx_read(ak_store_tx_t *t, int64_t rowid, ak_val_t *row, ak_arena_t *a, ak_err_t *err)
{
    if (tx_stmt(t, &t->get, 'g', err))
        return -1;
    sqlite3_bind_int64(t->get, 1, rowid);
    int rc = sqlite3_step(t->get);
    int out = 1;
    if (rc == SQLITE_ROW)
        out = read_row(t->get, 0, t->ncols, t->types, row, a, err);
    else if (rc != SQLITE_DONE)
        out = ak_db_fail(t->s->db, err, "reading the serving table");
    sqlite3_reset(t->get);
    return out;
}

int ak_store_tx_copy(ak_store_tx_t *t, const char *from, ak_err_t *err)
{
    ak_buf_t sql = AK_BUF_INIT;
    ak_buf_puts(&sql, "INSERT INTO ");
    q(&sql, t->name);
    ak_buf_puts(&sql, t->ncols ? " (rowid, " : " (rowid");
    q_cols(&sql, (const char *const *)t->names, t->ncols);
    ak_buf_puts(&sql, t->ncols ? ") SELECT rowid, " : ") SELECT rowid");
    q_cols(&sql, (const char *const *)t->names, t->ncols);
    ak_buf_puts(&sql, " FROM ");
    q(&sql, from);
    int rc = sql.oom ? ak_err_nomem(err) : ak_db_exec(t->s->db, sql.data, err);
    ak_buf_free(&sql);
    return rc;
}

int ak_store_tx_mark(ak_store_tx_t *t, int64_t commit_seq, const char *logs, ak_err_t *err)
{
    ak_free(t->logs);
    t->logs = NULL;
    t->commit_seq = commit_seq;
    if (logs && !(t->logs = ak_strdup(logs)))
        return ak_err_nomem(err);
    return 0;
}

int ak_store_tx_commit(ak_store_tx_t *t, const char *version, int64_t run_id, int64_t rows, const char *inputs,
                       ak_err_t *err)
{
    ak_store_t *s = t->s;
    sqlite3_stmt *meta = NULL;
    ak_buf_t sql = AK_BUF_INIT;
    int rc = -1;
    if (t->replace) {
        ak_buf_puts(&sql, "DROP TABLE IF EXISTS ");
        q(&sql, t->final);
        ak_buf_puts(&sql, "; ALTER TABLE ");
        q(&sql, t->name);
        ak_buf_puts(&sql, " RENAME TO ");
        q(&sql, t->final);
        ak_buf_puts(&sql, ";");
        for (int k = 0; k < t->nidx; k++) {
            char iname[400];
            snprintf(iname, sizeof iname, "%s__idx%d", t->final, k + 1);
            ak_buf_printf(&sql, " CREATE %sINDEX ", t->idx[k].unique ? "UNIQUE " : "");
            q(&sql, iname);
            ak_buf_puts(&sql, " ON ");
            q(&sql, t->final);
            ak_buf_puts(&sql, " (");
            for (int c = 0; c < t->idx[k].ncolumns; c++) {
                if (c)
                    ak_buf_puts(&sql, ", ");
                q(&sql, t->idx[k].columns[c]);
            }
            ak_buf_puts(&sql, ");");
        }
        if (sql.oom) {
            ak_err_nomem(err);
            goto done;
        }
        /* statements on the scratch table must go before it is renamed */
        for (int i = 0; i < t->npart; i++)
            sqlite3_finalize(t->part[i].st);
        t->npart = 0;
        sqlite3_finalize(t->ins);
        sqlite3_finalize(t->upd);
        sqlite3_finalize(t->del);
        sqlite3_finalize(t->get);
        t->ins = t->upd = t->del = t->get = NULL;
        if (ak_db_exec(s->db, sql.data, err))
            goto done;
    }
    if (ak_db_prepare(s->db,
                      "INSERT OR REPLACE INTO _akili_tables(name, columns, version, run_id, rows, updated_us, inputs, "
                      "commit_seq, logs) VALUES (?,?,?,?,?,?,?,?,?)",
                      &meta, err))
        goto done;
    if (t->commit_seq)
        sqlite3_bind_int64(meta, 8, t->commit_seq);
    if (t->logs)
        sqlite3_bind_text(meta, 9, t->logs, -1, SQLITE_STATIC);
    if (inputs)
        sqlite3_bind_text(meta, 7, inputs, -1, SQLITE_STATIC);
    sqlite3_bind_text(meta, 1, t->final, -1, SQLITE_STATIC);
    sqlite3_bind_text(meta, 2, t->cols.data ? t->cols.data : "", -1, SQLITE_STATIC);
    if (version)
        sqlite3_bind_text(meta, 3, version, -1, SQLITE_STATIC);
    sqlite3_bind_int64(meta, 4, run_id);
    sqlite3_bind_int64(meta, 5, rows);
    sqlite3_bind_int64(meta, 6, ak_wall_us());
    if (sqlite3_step(meta) != SQLITE_DONE) {
        ak_db_fail(s->db, err, "recording the table");
        goto done;
    }
    if (ak_db_exec(s->db, "COMMIT", err))
        goto done;
    rc = 0;
done:
    sqlite3_finalize(meta);
    ak_buf_free(&sql);
    if (rc)
        ak_db_exec(s->db, "ROLLBACK", NULL);
    tx_free(t);
    return rc;
}

void ak_store_tx_abort(ak_store_tx_t *t)
{
    if (!t)
        return;
    ak_db_exec(t->s->db, "ROLLBACK", NULL);
    tx_free(t);
}

int ak_store_replace(ak_store_t *s, const char *name, const ak_rel_t *rel, const ak_store_index_t *idx, int nidx,
                     const char *version, int64_t run_id, ak_err_t *err)
{
    ak_store_tx_t *t;
    if (ak_store_begin(s, name, rel->ncols, (const char *const *)rel->names, rel->types, idx, nidx, true, &t, err))
        return -1;
    for (size_t r = 0; r < rel->nrows; r++)
        if (ak_store_tx_insert(t, ak_rel_row(rel, r), NULL, err)) {
            ak_store_tx_abort(t);
            return -1;
        }
    return ak_store_tx_commit(t, version, run_id, (int64_t)rel->nrows, NULL, err);
}

int ak_store_drop(ak_store_t *s, const char *name, ak_err_t *err)
{
    ak_buf_t sql = AK_BUF_INIT;
    ak_buf_puts(&sql, "BEGIN IMMEDIATE; DROP TABLE IF EXISTS ");
    q(&sql, name);
    ak_buf_puts(&sql, "; DELETE FROM _akili_tables WHERE name = ");
    char lit[600];
    size_t k = 0;
    lit[k++] = '\'';
    for (const char *p = name; *p && k < sizeof lit - 3; p++) {
        if (*p == '\'')
            lit[k++] = '\'';
        lit[k++] = *p;
    }
    lit[k++] = '\'';
    lit[k] = '\0';
    ak_buf_puts(&sql, lit);
    ak_buf_puts(&sql, "; COMMIT;");
    int rc = sql.oom ? ak_err_nomem(err) : ak_db_exec(s->db, sql.data, err);
    if (rc)
        ak_db_exec(s->db, "ROLLBACK", NULL);
    ak_buf_free(&sql);
    return rc;
}

void ak_store_info_free(ak_store_table_t *t)
{
    for (int i = 0; t->names && i < t->ncols; i++)
        ak_free(t->names[i]);
    ak_free(t->names);
    ak_free(t->types);
    ak_free(t->version);
    ak_free(t->inputs);
    ak_free(t->logs);
    memset(t, 0, sizeof *t);
}

int ak_store_info(ak_store_t *s, const char *name, ak_store_table_t *out, ak_err_t *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    if (ak_db_prepare(s->db,
                      "SELECT columns, version, run_id, rows, updated_us, inputs, commit_seq, logs FROM _akili_tables "
                      "WHERE name = ?", &st,
                      err))
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        sqlite3_finalize(st);
        return r == SQLITE_DONE ? 1 : ak_db_fail(s->db, err, "reading table metadata");
    }
    bool oom = false;
    char *cols = ak_db_col_text(st, 0, &oom);
    out->version = ak_db_col_text(st, 1, &oom);
    out->run_id = sqlite3_column_int64(st, 2);
    out->rows = sqlite3_column_int64(st, 3);
    out->updated_us = sqlite3_column_int64(st, 4);
    out->inputs = ak_db_col_text(st, 5, &oom);
    out->commit_seq = sqlite3_column_int64(st, 6);
    out->logs = ak_db_col_text(st, 7, &oom);
    sqlite3_finalize(st);
    int n = cols && *cols ? 1 : 0;
    for (char *p = cols; p && *p; p++)
        n += *p == ',';
    out->names = ak_calloc((size_t)(n ? n : 1), sizeof *out->names);
    out->types = ak_calloc((size_t)(n ? n : 1), sizeof *out->types);
    if (oom || !out->names || !out->types)
        goto nomem;
    char *save = NULL;
    for (char *tok = cols ? strtok_r(cols, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
        char *sp = strrchr(tok, ' ');
        if (!sp)
            continue;
        *sp = '\0';
        out->names[out->ncols] = ak_strdup(tok);
        if (!out->names[out->ncols])
            goto nomem;
        out->types[out->ncols] = ak_type_parse(sp + 1, strlen(sp + 1));
        if (out->types[out->ncols] == AK_NULL)
            out->types[out->ncols] = AK_TEXT;
        out->ncols++;
    }
    ak_free(cols);
    return 0;
nomem:
    ak_free(cols);
    ak_store_info_free(out);
    return ak_err_nomem(err);
}

int ak_store_scan(ak_store_t *s, const char *name, const ak_store_table_t *info, const ak_sql_pred_t *preds, int npreds,
                  ak_rel_t **out, ak_err_t *err)
{
    static const char *const ops[] = {"=", "<>", "<", "<=", ">", ">="};
    *out = NULL;
    ak_buf_t sql = AK_BUF_INIT;
    ak_buf_puts(&sql, "SELECT ");
    q_cols(&sql, (const char *const *)info->names, info->ncols);
    ak_buf_puts(&sql, " FROM ");
    q(&sql, name);
    for (int i = 0; i < npreds; i++) {
        ak_buf_puts(&sql, i ? " AND " : " WHERE ");
        q(&sql, info->names[preds[i].col]);
        ak_buf_printf(&sql, " %s ?", ops[preds[i].op]);
    }
    sqlite3_stmt *st;
    if (prepare_sql(s->db, &sql, &st, err))
        return -1;
    for (int i = 0; i < npreds; i++)
        bind_val(st, i + 1, &preds[i].value);
    ak_rel_t *r = ak_rel_new(info->ncols, (const char *const *)info->names, info->types);
    if (!r) {
        sqlite3_finalize(st);
        return ak_err_nomem(err);
    }
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        ak_val_t *row = ak_rel_push(r);
        if (!row || read_row(st, 0, info->ncols, info->types, row, &r->arena, err))
            goto nomem;
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) {
        ak_rel_free(r);
        return ak_db_fail(s->db, err, "reading the serving table");
    }
    *out = r;
    return 0;
nomem:
    sqlite3_finalize(st);
    ak_rel_free(r);
    return ak_err_nomem(err);
}

static int read_row(sqlite3_stmt *st, int off, int ncols, const ak_type_t *types, ak_val_t *row, ak_arena_t *a,
                    ak_err_t *err)
{
    for (int c = 0; c < ncols; c++) {
        int i = c + off; /* the statement's column */
        ak_val_t *out = &row[c];
        int ct = sqlite3_column_type(st, i);
        ak_type_t t = types[c];
        if (ct == SQLITE_NULL) {
            *out = ak_v_null();
            continue;
        }
        switch (t) {
        case AK_TEXT: {
            const char *txt = (const char *)sqlite3_column_text(st, i);
            int n = sqlite3_column_bytes(st, i);
            char *d = ak_arena_strndup(a, txt ? txt : "", (size_t)n);
            if (!d)
                return ak_err_nomem(err);
            *out = ak_v_text(d, (size_t)n);
            break;
        }
        case AK_FLOAT: *out = ak_v_float(sqlite3_column_double(st, i)); break;
        case AK_DOUBLE: *out = ak_v_double(sqlite3_column_double(st, i)); break;
        case AK_INTERVAL: {
            const char *txt = (const char *)sqlite3_column_text(st, i);
            ak_val_t tv = ak_v_text(txt ? txt : "", txt ? strlen(txt) : 0);
            if (ak_sql_cast(&tv, AK_INTERVAL, a, out, err))
                *out = ak_v_null();
            break;
        }
        default: {
            ak_val_t v = {{.i = sqlite3_column_int64(st, i)}, 0, (uint8_t)t};
            *out = v;
            break;
        }
        }
    }
    return 0;
}

int ak_store_each_row(ak_store_t *s, const char *name, int ncols, const char *const *names, const ak_type_t *types,
                      int (*fn)(void *ctx, int64_t rowid, const ak_val_t *row, ak_err_t *err), void *ctx, ak_err_t *err)
{
    ak_buf_t sql = AK_BUF_INIT;
    ak_buf_puts(&sql, ncols ? "SELECT rowid, " : "SELECT rowid");
    q_cols(&sql, names, ncols);
    ak_buf_puts(&sql, " FROM ");
    q(&sql, name);
    sqlite3_stmt *st;
    int rc = prepare_sql(s->db, &sql, &st, err);
    if (rc)
        return -1;
    ak_val_t *row = ak_calloc((size_t)ncols + 1, sizeof *row);
    ak_arena_t a;
    ak_arena_init(&a, 16 * 1024);
    int step = SQLITE_DONE;
    if (!row)
        rc = ak_err_nomem(err);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        ak_arena_reset(&a);
        rc = read_row(st, 1, ncols, types, row, &a, err);
        if (rc == 0)
            rc = fn(ctx, sqlite3_column_int64(st, 0), row, err);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = ak_db_fail(s->db, err, "reading the serving table");
    sqlite3_finalize(st);
    ak_free(row);
    ak_arena_free(&a);
    return rc;
}
