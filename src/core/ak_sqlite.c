/* ak_sqlite.c - SQLite helpers. */
#include "ak_sqlite.h"

#include "ak_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ak_db_fail(sqlite3 *db, ak_err_t *err, const char *what)
{
    int code = db ? sqlite3_errcode(db) : SQLITE_ERROR;
    ak_code_t c = code == SQLITE_NOMEM ? AK_E_NOMEM : code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? AK_E_CORRUPT : AK_E_IO;
    ak_errf(err, c, "%s: %s", what, db ? sqlite3_errmsg(db) : "cannot open database");
    if (err)
        err->retriable = code == SQLITE_BUSY || code == SQLITE_LOCKED;
    return -1;
}

int ak_db_open(const char *path, sqlite3 **out, ak_err_t *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ak_errf(err, AK_E_IO, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -1;
    }
    /* a writer waits this long for another's lock before the error (which
     * the run retries with backoff); AKILI_SQLITE_BUSY_MS shortens it in tests */
    const char *busy = getenv("AKILI_SQLITE_BUSY_MS");
    sqlite3_busy_timeout(db, busy && *busy ? atoi(busy) : 10000);
    if (ak_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", err)) {
        ak_err_prefix(err, "opening %s", path);
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

void ak_db_close(sqlite3 *db)
{
    if (db)
        sqlite3_close_v2(db);
}

int ak_db_exec(sqlite3 *db, const char *sql, ak_err_t *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int code = sqlite3_errcode(db);
        ak_errf(err, code == SQLITE_NOMEM ? AK_E_NOMEM : AK_E_IO, "%s", msg ? msg : sqlite3_errmsg(db));
        if (err)
            err->retriable = code == SQLITE_BUSY || code == SQLITE_LOCKED;
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int ak_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, ak_err_t *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return ak_db_fail(db, err, "preparing a statement");
    return 0;
}

void ak_db_quote_ident(const char *name, char *out, size_t cap)
{
    size_t k = 0;
    if (cap < 3) {
        if (cap)
            out[0] = '\0';
        return;
    }
    out[k++] = '"';
    for (const char *p = name; *p && k + 3 < cap; p++) {
        if (*p == '"')
            out[k++] = '"';
        out[k++] = *p;
    }
    out[k++] = '"';
    out[k] = '\0';
}

char *ak_db_col_text(sqlite3_stmt *st, int i, bool *oom)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    const unsigned char *t = sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);
    char *d = ak_strndup(t ? (const char *)t : "", (size_t)n);
    if (!d)
        *oom = true;
    return d;
}
