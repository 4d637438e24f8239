/* ak_catalog.c - the catalog database: schema, migrations and accessors.
 *
 * Schema changes bump SCHEMA_VERSION and add a step to `migrate`; an older
 * akili refuses a newer catalog instead of corrupting it.
 */
#include "ak_catalog.h"

#include "ak_alloc.h"
#include "ak_sqlite.h"
#include "ak_time.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_VERSION 3

struct ak_catalog {
    sqlite3 *db;
    char *home;
};

static const char *const schema_v1 =
    "CREATE TABLE IF NOT EXISTS connections ("
    "  name TEXT PRIMARY KEY, type TEXT NOT NULL, config TEXT NOT NULL,"
    "  created_us INTEGER NOT NULL, updated_us INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS products ("
    "  name TEXT PRIMARY KEY, namespace TEXT NOT NULL, archetype TEXT,"
    "  active_version TEXT, created_us INTEGER NOT NULL, deployed_us INTEGER);"
    "CREATE TABLE IF NOT EXISTS versions ("
    "  product TEXT NOT NULL REFERENCES products(name) ON DELETE CASCADE,"
    "  version TEXT NOT NULL, created_us INTEGER NOT NULL, PRIMARY KEY (product, version));"
    "CREATE TABLE IF NOT EXISTS version_files ("
    "  product TEXT NOT NULL, version TEXT NOT NULL, name TEXT NOT NULL, content BLOB NOT NULL,"
    "  PRIMARY KEY (product, version, name),"
    "  FOREIGN KEY (product, version) REFERENCES versions(product, version) ON DELETE CASCADE);"
    "CREATE TABLE IF NOT EXISTS deployments ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, product TEXT NOT NULL, version TEXT NOT NULL,"
    "  source_dir TEXT, deployed_us INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS runs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, product TEXT NOT NULL, version TEXT NOT NULL,"
    "  trigger TEXT NOT NULL, status INTEGER NOT NULL, pid INTEGER,"
    "  started_us INTEGER NOT NULL, finished_us INTEGER,"
    "  batches INTEGER NOT NULL DEFAULT 0, records_in INTEGER NOT NULL DEFAULT 0,"
    "  deadletters INTEGER NOT NULL DEFAULT 0, rows_out INTEGER NOT NULL DEFAULT 0,"
    "  published INTEGER NOT NULL DEFAULT 0, last_publish_us INTEGER, message TEXT);"
    "CREATE INDEX IF NOT EXISTS runs_by_product ON runs(product, id);"
    "CREATE TABLE IF NOT EXISTS quality_results ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, product TEXT NOT NULL, run_id INTEGER NOT NULL,"
    "  check_name TEXT NOT NULL, severity TEXT NOT NULL, value REAL, threshold REAL NOT NULL,"
    "  passed INTEGER NOT NULL, target TEXT NOT NULL, message TEXT, at_us INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS quality_by_product ON quality_results(product, check_name, id);"
    "CREATE TABLE IF NOT EXISTS positions ("
    "  product TEXT NOT NULL, input TEXT NOT NULL, position TEXT, log_bytes INTEGER NOT NULL DEFAULT 0,"
    "  fingerprint TEXT, updated_us INTEGER NOT NULL, PRIMARY KEY (product, input));"
    "CREATE TABLE IF NOT EXISTS deadletters ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, product TEXT NOT NULL, run_id INTEGER NOT NULL,"
    "  input TEXT NOT NULL, position TEXT, reason TEXT NOT NULL, raw BLOB, at_us INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS deadletters_by_product ON deadletters(product, id);";

static int mkdir_p(const char *path, ak_err_t *err)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n >= sizeof tmp)
        return ak_errf(err, AK_E_USAGE, "path too long: %s", path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return ak_errf(err, AK_E_IO, "cannot create directory %s: %s", tmp, strerror(errno));
            tmp[i] = c;
        }
    }
    return 0;
}

int ak__mkdir_p(const char *path, ak_err_t *err);
int ak__mkdir_p(const char *path, ak_err_t *err) { return mkdir_p(path, err); }

static int user_version(sqlite3 *db, int *v, ak_err_t *err)
{
    sqlite3_stmt *st;
    if (ak_db_prepare(db, "PRAGMA user_version", &st, err))
        return -1;
    *v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return 0;
}

static int migrate(sqlite3 *db, const char *path, ak_err_t *err)
{
    int v;
    if (user_version(db, &v, err))
        return -1;
    if (v > SCHEMA_VERSION)
        return ak_errf(err, AK_E_STATE,
                       "%s was written by a newer akili (catalog schema %d, this build knows %d); upgrade akili", path,
                       v, SCHEMA_VERSION);
    if (v == SCHEMA_VERSION)
        return 0;
    if (ak_db_exec(db, "BEGIN IMMEDIATE", err))
        return -1;
    if (user_version(db, &v, err))
        goto fail;
    if (v < 1 && ak_db_exec(db, schema_v1, err))
        goto fail;
    /* 2: dead letters can be queued for another read */
    if (v < 2 && ak_db_exec(db, "ALTER TABLE deadletters ADD COLUMN replay INTEGER NOT NULL DEFAULT 0", err))
        goto fail;
    /* 3: a CSV line's dead letter keeps its file's header, to be read again */
    if (v < 3 && ak_db_exec(db, "ALTER TABLE deadletters ADD COLUMN header BLOB", err))
        goto fail;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", SCHEMA_VERSION);
    if (ak_db_exec(db, sql, err) || ak_db_exec(db, "COMMIT", err))
        goto fail;
    return 0;
fail:
    ak_db_exec(db, "ROLLBACK", NULL);
    return -1;
}

int ak_catalog_open(const char *home, ak_catalog_t **out, ak_err_t *err)
{
    *out = NULL;
    if (mkdir_p(home, err))
        return -1;
    ak_catalog_t *c = ak_calloc(1, sizeof *c);
    if (!c || !(c->home = ak_strdup(home))) {
        ak_free(c);
        return ak_err_nomem(err);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/catalog.db", home);
    if (ak_db_open(path, &c->db, err) || migrate(c->db, path, err)) {
        ak_catalog_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

void ak_catalog_close(ak_catalog_t *c)
{
    if (!c)
        return;
    ak_db_close(c->db);
    ak_free(c->home);
    ak_free(c);
}

const char *ak_catalog_home(const ak_catalog_t *c) { return c->home; }
sqlite3 *ak_catalog_db(ak_catalog_t *c) { return c->db; }

int ak_catalog_begin(ak_catalog_t *c, ak_err_t *err) { return ak_db_exec(c->db, "BEGIN IMMEDIATE", err); }
int ak_catalog_commit(ak_catalog_t *c, ak_err_t *err) { return ak_db_exec(c->db, "COMMIT", err); }
void ak_catalog_rollback(ak_catalog_t *c) { ak_db_exec(c->db, "ROLLBACK", NULL); }

/* Statement helper: prepare, bind text/int args described by a format
 * ('s' text, 'i' int64, 'b' blob+len, 'd' double, 'n' null), run to
 * completion (for writes). */
static int run(ak_catalog_t *c, sqlite3_stmt **keep, ak_err_t *err, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st;
    if (ak_db_prepare(c->db, sql, &st, err))
        return -1;
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt && fmt[i]; i++) {
        int k = i + 1;
        switch (fmt[i]) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (s)
                sqlite3_bind_text(st, k, s, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(st, k);
            break;
        }
        case 'i': sqlite3_bind_int64(st, k, va_arg(ap, int64_t)); break;
        case 'd': sqlite3_bind_double(st, k, va_arg(ap, double)); break;
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            sqlite3_bind_blob64(st, k, p ? p : "", n, SQLITE_TRANSIENT);
            break;
        }
        case 'B': { /* a blob, NULL when the pointer is */
            const void *p = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            if (p)
                sqlite3_bind_blob64(st, k, p, n, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(st, k);
            break;
        }
        default: sqlite3_bind_null(st, k); break;
        }
    }
    va_end(ap);
    if (keep) {
        *keep = st;
        return 0;
    }
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        int ext = sqlite3_extended_errcode(c->db);
        if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
            ak_errf(err, AK_E_EXISTS, "already exists");
        else
            ak_db_fail(c->db, err, "catalog");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

static char *col(sqlite3_stmt *st, int i, bool *oom) { return ak_db_col_text(st, i, oom); }

/* ---- connections ---- */

int ak_cat_conn_create(ak_catalog_t *c, const char *name, const char *type, const char *config, ak_err_t *err)
{
    int64_t now = ak_wall_us();
    if (run(c, NULL, err, "INSERT INTO connections(name, type, config, created_us, updated_us) VALUES (?,?,?,?,?)",
            "sssii", name, type, config, now, now)) {
        if (err && err->code == AK_E_EXISTS)
            ak_errf(err, AK_E_EXISTS, "connection `%s` already exists (delete it first with `akili connection delete %s`)",
                    name, name);
        return -1;
    }
    return 0;
}

static int conn_row(sqlite3_stmt *st, ak_conn_rec_t *r)
{
    bool oom = false;
    r->name = col(st, 0, &oom);
    r->type = col(st, 1, &oom);
    r->config = col(st, 2, &oom);
    r->created_us = sqlite3_column_int64(st, 3);
    r->updated_us = sqlite3_column_int64(st, 4);
    return oom ? -1 : 0;
}

int ak_cat_conn_get(ak_catalog_t *c, const char *name, ak_conn_rec_t *out, ak_err_t *err)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    if (run(c, &st, err, "SELECT name, type, config, created_us, updated_us FROM connections WHERE name = ?", "s", name))
        return -1;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return ak_db_fail(c->db, err, "reading connections");
        return ak_errf(err, AK_E_NOTFOUND, "no connection named `%s` (see `akili connection list`)", name);
    }
    int r = conn_row(st, out);
    sqlite3_finalize(st);
    if (r) {
        ak_cat_conn_free(out);
        return ak_err_nomem(err);
    }
    return 0;
}

int ak_cat_conn_list(ak_catalog_t *c, ak_conn_rec_t **out, size_t *n, ak_err_t *err)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    if (run(c, &st, err, "SELECT name, type, config, created_us, updated_us FROM connections ORDER BY name", NULL))
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (AK_GROW(*out, cap, *n + 1) || conn_row(st, &(*out)[*n])) {
            if (*out && *n < cap)
                ak_cat_conn_free(&(*out)[*n]);
            sqlite3_finalize(st);
            ak_cat_conn_free_list(*out, *n);
            *out = NULL;
            *n = 0;
            return ak_err_nomem(err);
        }
        (*n)++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : ak_db_fail(c->db, err, "listing connections");
}

int ak_cat_conn_delete(ak_catalog_t *c, const char *name, ak_err_t *err)
{
    if (run(c, NULL, err, "DELETE FROM connections WHERE name = ?", "s", name))
        return -1;
    if (sqlite3_changes(c->db) == 0)
        return ak_errf(err, AK_E_NOTFOUND, "no connection named `%s`", name);
    return 0;
}

void ak_cat_conn_free(ak_conn_rec_t *r)
{
    if (!r)
        return;
    ak_free(r->name);
    ak_free(r->type);
    ak_free(r->config);
    memset(r, 0, sizeof *r);
}

void ak_cat_conn_free_list(ak_conn_rec_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ak_cat_conn_free(&v[i]);
    ak_free(v);
}

/* ---- products ---- */

int ak_cat_product_create(ak_catalog_t *c, const char *name, const char *ns, const char *archetype, ak_err_t *err)
{
    if (run(c, NULL, err, "INSERT INTO products(name, namespace, archetype, created_us) VALUES (?,?,?,?)", "sssi", name,
            ns, archetype, ak_wall_us())) {
        if (err && err->code == AK_E_EXISTS)
            ak_errf(err, AK_E_EXISTS, "product `%s` already exists", name);
        return -1;
    }
    return 0;
}

#define PRODUCT_COLS "name, namespace, archetype, active_version, created_us, deployed_us"

static int product_row(sqlite3_stmt *st, ak_product_rec_t *r)
{
    bool oom = false;
    r->name = col(st, 0, &oom);
    r->namespace_ = col(st, 1, &oom);
    r->archetype = col(st, 2, &oom);
    r->active_version = col(st, 3, &oom);
    r->created_us = sqlite3_column_int64(st, 4);
    r->deployed_us = sqlite3_column_int64(st, 5);
    return oom ? -1 : 0;
}

static int product_one(ak_catalog_t *c, sqlite3_stmt *st, ak_product_rec_t *out, ak_err_t *err, const char *missing)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return ak_db_fail(c->db, err, "reading products");
        return ak_errf(err, AK_E_NOTFOUND, "%s", missing);
    }
    int r = product_row(st, out);
    sqlite3_finalize(st);
    if (r) {
        ak_cat_product_free(out);
        return ak_err_nomem(err);
    }
    return 0;
}

int ak_cat_product_get(ak_catalog_t *c, const char *name, ak_product_rec_t *out, ak_err_t *err)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    if (run(c, &st, err, "SELECT " PRODUCT_COLS " FROM products WHERE name = ?", "s", name))
        return -1;
    char msg[300];
    snprintf(msg, sizeof msg, "no product named `%s` (create it with `akili product create --name %s ...`)", name, name);
    return product_one(c, st, out, err, msg);
}

int ak_cat_product_by_table(ak_catalog_t *c, const char *ns, const char *name, ak_product_rec_t *out, ak_err_t *err)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    char msg[300];
    if (ns) {
        if (run(c, &st, err, "SELECT " PRODUCT_COLS " FROM products WHERE name = ? AND namespace = ?", "ss", name, ns))
            return -1;
        snprintf(msg, sizeof msg, "no table `%s.%s` (no product `%s` in namespace `%s`)", ns, name, name, ns);
        return product_one(c, st, out, err, msg);
    }
    if (run(c, &st, err, "SELECT " PRODUCT_COLS " FROM products WHERE name = ?", "s", name))
        return -1;
    snprintf(msg, sizeof msg, "no table `%s`", name);
    return product_one(c, st, out, err, msg);
}

int ak_cat_product_list(ak_catalog_t *c, ak_product_rec_t **out, size_t *n, ak_err_t *err)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    if (run(c, &st, err, "SELECT " PRODUCT_COLS " FROM products ORDER BY namespace, name", NULL))
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (AK_GROW(*out, cap, *n + 1) || product_row(st, &(*out)[*n])) {
            if (*out && *n < cap)
                ak_cat_product_free(&(*out)[*n]);
            sqlite3_finalize(st);
            ak_cat_product_free_list(*out, *n);
            *out = NULL;
            *n = 0;
            return ak_err_nomem(err);
        }
        (*n)++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : ak_db_fail(c->db, err, "listing products");
}

void ak_cat_product_free(ak_product_rec_t *r)
{
    if (!r)
        return;
    ak_free(r->name);
    ak_free(r->namespace_);
    ak_free(r->archetype);
    ak_free(r->active_version);
    memset(r, 0, sizeof *r);
}

void ak_cat_product_free_list(ak_product_rec_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ak_cat_product_free(&v[i]);
    ak_free(v);
}

/* ---- versions ---- */

int ak_cat_version_files(ak_catalog_t *c, const char *product, const char *version, ak_file_rec_t **files, size_t *n,
                         ak_err_t *err)
{
    sqlite3_stmt *st;
    *files = NULL;
    *n = 0;
    size_t cap = 0;
    if (run(c, &st, err, "SELECT name, content FROM version_files WHERE product = ? AND version = ? ORDER BY name", "ss",
            product, version))
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (AK_GROW(*files, cap, *n + 1))
            goto nomem;
        ak_file_rec_t *f = &(*files)[*n];
        bool oom = false;
        f->name = col(st, 0, &oom);
        int len = sqlite3_column_bytes(st, 1);
        const void *blob = sqlite3_column_blob(st, 1);
        f->text = ak_malloc((size_t)len + 1);
        if (oom || !f->text) {
            ak_free(f->name);
            ak_free(f->text);
            goto nomem;
        }
        if (len)
            memcpy(f->text, blob, (size_t)len);
        f->text[len] = '\0';
        f->len = (size_t)len;
        (*n)++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return ak_db_fail(c->db, err, "reading version files");
    if (*n == 0)
        return ak_errf(err, AK_E_NOTFOUND, "product `%s` has no version `%s`", product, version);
    return 0;
nomem:
    sqlite3_finalize(st);
    ak_cat_files_free(*files, *n);
    *files = NULL;
    *n = 0;
    return ak_err_nomem(err);
}

void ak_cat_files_free(ak_file_rec_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ak_free(v[i].name);
        ak_free(v[i].text);
    }
    ak_free(v);
}

int ak_cat_version_store(ak_catalog_t *c, const char *product, const char *version, const ak_file_rec_t *files,
                         size_t n, ak_err_t *err)
{
    ak_file_rec_t *old = NULL;
    size_t nold = 0;
    ak_err_t e2;
    if (ak_cat_version_files(c, product, version, &old, &nold, &e2) == 0) {
        bool same = nold == n;
        for (size_t i = 0; same && i < n; i++) {
            /* both lists are sorted by name */
            same = strcmp(old[i].name, files[i].name) == 0 && old[i].len == files[i].len &&
                   memcmp(old[i].text, files[i].text, files[i].len) == 0;
        }
        ak_cat_files_free(old, nold);
        if (same)
            return 0;
        return ak_errf(err, AK_E_EXISTS,
                       "version %s of `%s` was already deployed with different manifests; give this one a new version",
                       version, product);
    }
    if (e2.code != AK_E_NOTFOUND) {
        *err = e2;
        return -1;
    }
    if (run(c, NULL, err, "INSERT INTO versions(product, version, created_us) VALUES (?,?,?)", "ssi", product, version,
            ak_wall_us()))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (run(c, NULL, err, "INSERT INTO version_files(product, version, name, content) VALUES (?,?,?,?)", "sssb",
                product, version, files[i].name, files[i].text, files[i].len))
            return -1;
    return 0;
}

int ak_cat_deploy(ak_catalog_t *c, const char *product, const char *version, const char *source_dir, ak_err_t *err)
{
    int64_t now = ak_wall_us();
    if (run(c, NULL, err, "INSERT INTO deployments(product, version, source_dir, deployed_us) VALUES (?,?,?,?)", "sssi",
            product, version, source_dir, now))
        return -1;
    return run(c, NULL, err, "UPDATE products SET active_version = ?, deployed_us = ? WHERE name = ?", "sis", version,
               now, product);
}

/* ---- runs ---- */

const char *ak_run_status_name(ak_run_status_t s)
{
    static const char *const n[] = {"running", "succeeded", "blocked", "failed", "stopped"};
    return (unsigned)s < 5 ? n[s] : "?";
}

int ak_cat_run_begin(ak_catalog_t *c, const char *product, const char *version, const char *trigger, int64_t *id,
                     ak_err_t *err)
{
    if (run(c, NULL, err, "INSERT INTO runs(product, version, trigger, status, pid, started_us) VALUES (?,?,?,0,?,?)",
            "sssii", product, version, trigger, (int64_t)getpid(), ak_wall_us()))
        return -1;
    *id = sqlite3_last_insert_rowid(c->db);
    return 0;
}

int ak_cat_run_update(ak_catalog_t *c, const ak_run_rec_t *r, ak_err_t *err)
{
    return run(c, NULL, err,
               "UPDATE runs SET status = ?, finished_us = ?, batches = ?, records_in = ?, deadletters = ?, "
               "rows_out = ?, published = ?, last_publish_us = ?, message = ? WHERE id = ?",
               "iiiiiiiisi", (int64_t)r->status, r->finished_us, r->batches, r->records_in, r->deadletters, r->rows_out,
               r->published, r->last_publish_us, r->message, r->id);
}

int ak_cat_run_reap(ak_catalog_t *c, const char *product, ak_err_t *err)
{
    /* a running row whose process is gone died without finishing */
    sqlite3_stmt *st;
    if (run(c, &st, err, "SELECT id, pid FROM runs WHERE product = ? AND status = 0", "s", product))
        return -1;
    int64_t dead[64];
    int nd = 0;
    while (sqlite3_step(st) == SQLITE_ROW && nd < 64) {
        int64_t pid = sqlite3_column_int64(st, 1);
        if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH) || pid == getpid())
            dead[nd++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    for (int i = 0; i < nd; i++)
        if (run(c, NULL, err,
                "UPDATE runs SET status = 3, finished_us = ?, message = 'the process running it stopped without "
                "finishing (killed or crashed); the next run resumed from the last committed position' WHERE id = ?",
                "ii", ak_wall_us(), dead[i]))
            return -1;
    return 0;
}

int ak_cat_run_list(ak_catalog_t *c, const char *product, int limit, ak_run_rec_t **out, size_t *n, ak_err_t *err)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    if (run(c, &st, err,
            "SELECT id, product, version, trigger, status, started_us, finished_us, batches, records_in, deadletters, "
            "rows_out, published, last_publish_us, message FROM runs WHERE product = ? ORDER BY id DESC LIMIT ?",
            "si", product, (int64_t)limit))
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (AK_GROW(*out, cap, *n + 1))
            goto nomem;
        ak_run_rec_t *r = &(*out)[*n];
        memset(r, 0, sizeof *r);
        bool oom = false;
        r->id = sqlite3_column_int64(st, 0);
        r->product = col(st, 1, &oom);
        r->version = col(st, 2, &oom);
        r->trigger = col(st, 3, &oom);
        r->status = (ak_run_status_t)sqlite3_column_int(st, 4);
        r->started_us = sqlite3_column_int64(st, 5);
        r->finished_us = sqlite3_column_int64(st, 6);
        r->batches = sqlite3_column_int64(st, 7);
        r->records_in = sqlite3_column_int64(st, 8);
        r->deadletters = sqlite3_column_int64(st, 9);
        r->rows_out = sqlite3_column_int64(st, 10);
        r->published = sqlite3_column_int64(st, 11);
        r->last_publish_us = sqlite3_column_int64(st, 12);
        r->message = col(st, 13, &oom);
        (*n)++;
        if (oom)
            goto nomem;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : ak_db_fail(c->db, err, "listing runs");
nomem:
    sqlite3_finalize(st);
    ak_cat_run_free_list(*out, *n);
    *out = NULL;
    *n = 0;
    return ak_err_nomem(err);
}

void ak_cat_run_free_list(ak_run_rec_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ak_free(v[i].product);
        ak_free(v[i].version);
        ak_free(v[i].trigger);
        ak_free(v[i].message);
    }
    ak_free(v);
}

/* ---- quality ---- */

int ak_cat_quality_add(ak_catalog_t *c, const char *product, const ak_quality_rec_t *q, ak_err_t *err)
{
    sqlite3_stmt *st;
    if (run(c, &st, err,
            "INSERT INTO quality_results(product, run_id, check_name, severity, value, threshold, passed, target, "
            "message, at_us) VALUES (?,?,?,?,?,?,?,?,?,?)",
            "sissndissi", product, q->run_id, q->check, q->severity, q->threshold, (int64_t)q->passed, q->target,
            q->message, q->at_us))
        return -1;
    if (q->has_value)
        sqlite3_bind_double(st, 5, q->value);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : ak_db_fail(c->db, err, "recording a quality result");
}

int ak_cat_quality_latest(ak_catalog_t *c, const char *product, ak_quality_rec_t **out, size_t *n, ak_err_t *err)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    if (run(c, &st, err,
            "SELECT q.run_id, q.check_name, q.severity, q.value, q.threshold, q.passed, q.target, q.message, q.at_us "
            "FROM quality_results q JOIN (SELECT check_name, MAX(id) AS id FROM quality_results WHERE product = ? "
            "GROUP BY check_name) m ON q.id = m.id ORDER BY q.id",
            "s", product))
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (AK_GROW(*out, cap, *n + 1))
            goto nomem;
        ak_quality_rec_t *q = &(*out)[*n];
        memset(q, 0, sizeof *q);
        bool oom = false;
        q->run_id = sqlite3_column_int64(st, 0);
        q->check = col(st, 1, &oom);
        q->severity = col(st, 2, &oom);
        q->has_value = sqlite3_column_type(st, 3) != SQLITE_NULL;
        q->value = sqlite3_column_double(st, 3);
        q->threshold = sqlite3_column_double(st, 4);
        q->passed = sqlite3_column_int(st, 5) != 0;
        q->target = col(st, 6, &oom);
        q->message = col(st, 7, &oom);
        q->at_us = sqlite3_column_int64(st, 8);
        (*n)++;
        if (oom)
            goto nomem;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : ak_db_fail(c->db, err, "reading quality results");
nomem:
    sqlite3_finalize(st);
    ak_cat_quality_free_list(*out, *n);
    *out = NULL;
    *n = 0;
    return ak_err_nomem(err);
}

void ak_cat_quality_free_list(ak_quality_rec_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ak_free(v[i].check);
        ak_free(v[i].severity);
        ak_free(v[i].target);
        ak_free(v[i].message);
    }
    ak_free(v);
}

/* ---- positions ---- */

int ak_cat_position_get(ak_catalog_t *c, const char *product, const char *input, ak_position_rec_t *out, ak_err_t *err)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    if (run(c, &st, err, "SELECT position, log_bytes, fingerprint FROM positions WHERE product = ? AND input = ?", "ss",
            product, input))
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bool oom = false;
        out->position = col(st, 0, &oom);
        out->log_bytes = sqlite3_column_int64(st, 1);
        out->fingerprint = col(st, 2, &oom);
        sqlite3_finalize(st);
        if (oom) {
            ak_cat_position_free(out);
            return ak_err_nomem(err);
        }
        return 0;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : ak_db_fail(c->db, err, "reading positions");
}

int ak_cat_position_set(ak_catalog_t *c, const char *product, const char *input, const ak_position_rec_t *p, ak_err_t *err)
{
    return run(c, NULL, err,
               "INSERT INTO positions(product, input, position, log_bytes, fingerprint, updated_us) VALUES (?,?,?,?,?,?) "
               "ON CONFLICT(product, input) DO UPDATE SET position = excluded.position, log_bytes = excluded.log_bytes, "
               "fingerprint = excluded.fingerprint, updated_us = excluded.updated_us",
               "sssisi", product, input, p->position, p->log_bytes, p->fingerprint, ak_wall_us());
}

int ak_cat_position_reset(ak_catalog_t *c, const char *product, ak_err_t *err)
{
    return run(c, NULL, err, "DELETE FROM positions WHERE product = ?", "s", product);
}

void ak_cat_position_free(ak_position_rec_t *p)
{
    ak_free(p->position);
    ak_free(p->fingerprint);
    memset(p, 0, sizeof *p);
}

/* ---- dead letters ---- */

int ak_cat_deadletter_add(ak_catalog_t *c, const char *product, int64_t run_id, const ak_cat_deadletter_t *d,
                          ak_err_t *err)
{
    return run(c, NULL, err,
               "INSERT INTO deadletters(product, run_id, input, position, reason, raw, at_us, header) "
               "VALUES (?,?,?,?,?,?,?,?)",
               "sisssbiB", product, run_id, d->input, d->position, d->reason, d->raw, d->raw_len, ak_wall_us(),
               d->header, d->header_len);
}

int ak_cat_deadletter_count(ak_catalog_t *c, const char *product, int64_t *n, ak_err_t *err)
{
    sqlite3_stmt *st;
    if (run(c, &st, err, "SELECT COUNT(*) FROM deadletters WHERE product = ?", "s", product))
        return -1;
    *n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return 0;
}

static int dl_list(ak_catalog_t *c, const char *product, int limit, bool queued, ak_deadletter_rec_t **out, size_t *n,
                   ak_err_t *err)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    if (run(c, &st, err,
            "SELECT id, run_id, input, position, reason, raw, at_us, replay, header FROM deadletters WHERE product = ? "
            "AND "
            "replay >= ? ORDER BY id LIMIT ?",
            "sii", product, (int64_t)queued, (int64_t)limit))
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (AK_GROW(*out, cap, *n + 1))
            goto nomem;
        ak_deadletter_rec_t *d = &(*out)[*n];
        memset(d, 0, sizeof *d);
        bool oom = false;
        d->id = sqlite3_column_int64(st, 0);
        d->run_id = sqlite3_column_int64(st, 1);
        d->input = col(st, 2, &oom);
        d->position = col(st, 3, &oom);
        d->reason = col(st, 4, &oom);
        d->raw_len = (size_t)sqlite3_column_bytes(st, 5);
        d->raw = ak_malloc(d->raw_len + 1);
        if (d->raw) {
            if (d->raw_len)
                memcpy(d->raw, sqlite3_column_blob(st, 5), d->raw_len);
            d->raw[d->raw_len] = '\0';
        }
        d->at_us = sqlite3_column_int64(st, 6);
        d->queued = sqlite3_column_int64(st, 7) != 0;
        if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
            d->header_len = (size_t)sqlite3_column_bytes(st, 8);
            d->header = ak_memdup(sqlite3_column_blob(st, 8), d->header_len);
            oom |= !d->header;
        }
        (*n)++;
        if (oom || !d->raw)
            goto nomem;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : ak_db_fail(c->db, err, "listing dead letters");
nomem:
    sqlite3_finalize(st);
    ak_cat_deadletter_free_list(*out, *n);
    *out = NULL;
    *n = 0;
    return ak_err_nomem(err);
}

int ak_cat_deadletter_list(ak_catalog_t *c, const char *product, int limit, ak_deadletter_rec_t **out, size_t *n,
                           ak_err_t *err)
{
    return dl_list(c, product, limit, false, out, n, err);
}

int ak_cat_deadletter_queued(ak_catalog_t *c, const char *product, int limit, ak_deadletter_rec_t **out, size_t *n,
                             ak_err_t *err)
{
    return dl_list(c, product, limit, true, out, n, err);
}

int ak_cat_deadletter_queue(ak_catalog_t *c, const char *product, int64_t id, int64_t *queued, ak_err_t *err)
{
    if (id ? run(c, NULL, err, "UPDATE deadletters SET replay = 1 WHERE product = ? AND id = ?", "si", product, id)
           : run(c, NULL, err, "UPDATE deadletters SET replay = 1 WHERE product = ?", "s", product))
        return -1;
    *queued = sqlite3_changes(c->db);
    return 0;
}

int ak_cat_deadletter_done(ak_catalog_t *c, int64_t id, const char *reason, ak_err_t *err)
{
    return reason ? run(c, NULL, err, "UPDATE deadletters SET replay = 0, reason = ? WHERE id = ?", "si", reason, id)
                  : run(c, NULL, err, "DELETE FROM deadletters WHERE id = ?", "i", id);
}

void ak_cat_deadletter_free_list(ak_deadletter_rec_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ak_free(v[i].input);
        ak_free(v[i].position);
        ak_free(v[i].reason);
        ak_free(v[i].raw);
        ak_free(v[i].header);
    }
    ak_free(v);
}
