/* ak_sqlite.h - small helpers over SQLite shared by the catalog and the
 * embedded serving store: opening with our pragmas, one-shot statements and
 * SQLite errors turned into ak_err_t messages. */
#ifndef AK_SQLITE_H
#define AK_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "ak_error.h"

/* Opens (creating) a database file in WAL mode with a busy timeout. */
int ak_db_open(const char *path, sqlite3 **out, ak_err_t *err);
void ak_db_close(sqlite3 *db);
/* Runs one or more statements without results. */
int ak_db_exec(sqlite3 *db, const char *sql, ak_err_t *err);
int ak_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, ak_err_t *err);
/* Sets err from the connection's last error, with context. */
int ak_db_fail(sqlite3 *db, ak_err_t *err, const char *what);
/* Quotes an identifier for SQL text: "name" with quotes doubled. */
void ak_db_quote_ident(const char *name, char *out, size_t cap);
/* Duplicates column i of a result row (NULL for SQL NULL), or sets *oom. */
char *ak_db_col_text(sqlite3_stmt *st, int i, bool *oom);

#endif
