/* ak_pg.h - what the postgres connector's files share (internal).
 *
 * ak_src_pg.c: the connection's settings, connecting, errors a user can act
 * on, the input's table and columns, rows to records, `connection test`,
 * and the ops table that hands each input to its strategy:
 * ak_pg_incremental.c (`strategy: incremental`, by cursor) or ak_pg_cdc.c
 * (`strategy: cdc`, logical replication decoded by ak_pgoutput.c).
 *
 * Sessions run with TimeZone UTC and DateStyle ISO, so libpq's text values
 * read back with the project's converters (ak_convert.h) and timestamps
 * carry an explicit offset.
 */
#ifndef AK_PG_H
#define AK_PG_H

#include <libpq-fe.h>

#include "ak_source.h"

typedef struct ak_pg_conf {
    char *host, *database, *user, *password, *sslmode;
    char *slot, *publication;  /* the connection's, NULL if not given */
    int64_t port;
} ak_pg_conf_t;

int ak_pg_conf_load(const ak_conn_t *c, ak_pg_conf_t *out, ak_err_t *err);
void ak_pg_conf_free(ak_pg_conf_t *c);

/* Connects (a walsender for logical replication when `replication`).
 * Unreachable server, a server starting or stopping: AK_E_CONNECT,
 * retriable.  Bad credentials, missing database or role, refused by
 * pg_hba.conf: not retriable.  The message names host:port and the user,
 * never the password. */
int ak_pg_connect(const ak_pg_conf_t *c, bool replication, PGconn **out, ak_err_t *err);

/* Fills err from a failed statement (r may be NULL: the connection's
 * message) and returns -1.  A lost connection, a server shutting down and
 * the like are retriable (the connection is then unusable: close it). */
int ak_pg_fail(PGconn *k, const PGresult *r, const ak_pg_conf_t *c, const char *what, ak_err_t *err);
/* Runs sql (text parameters, text results); the result, or NULL with err
 * filled (the result status had to be `want`). */
PGresult *ak_pg_exec(PGconn *k, const ak_pg_conf_t *c, const char *sql, int nparams, const char *const *params,
                     ExecStatusType want, const char *what, ak_err_t *err);
/* "host:port" for messages. */
const char *ak_pg_where(const ak_pg_conf_t *c, char *buf, size_t cap);

/* The input's table: found, every column of the input in it. */
typedef struct ak_pg_table {
    char *nspname, *relname;   /* as in the catalog */
    char *qname;               /* "nsp"."rel", quoted */
    char *select_list;         /* the input's columns, quoted, in schema order */
    uint32_t oid;
    char replident;            /* pg_class.relreplident */
    char *types[AK_MAX_COLUMNS]; /* each schema column's SQL type (format_type) */
    char *key_cols;            /* the primary key columns, quoted, comma separated */
    char *key_types[AK_MAX_COLUMNS];
    int key_idx[AK_MAX_COLUMNS]; /* schema index of each key column */
    int nkey;
} ak_pg_table_t;

int ak_pg_table_resolve(PGconn *k, const ak_pg_conf_t *c, const ak_input_t *in, ak_pg_table_t *t, ak_err_t *err);
void ak_pg_table_free(ak_pg_table_t *t);

/* Per-input options (`options:` of the input). */
typedef struct ak_pg_in_opts {
    char *slot, *publication;  /* NULL if not given */
    int64_t page_size;         /* rows a query hands out at a time (0: the engine's batch) */
    int64_t interval_us;       /* incremental: at most one sync this often */
} ak_pg_in_opts_t;

int ak_pg_in_opts_load(const ak_input_t *in, ak_pg_in_opts_t *o, ak_err_t *err);
void ak_pg_in_opts_free(ak_pg_in_opts_t *o);

/* One row in text form: for schema column i, vals[i]/lens[i], NULL when
 * nulls[i]; columns whose bit is clear in `present` are absent (left NULL,
 * their present bit clear).  Appends a record of op with flags, or, if a
 * value does not convert (or a required column is NULL or absent), sends
 * the row to the dead letters as JSON (a plain row; `envelope`: a Debezium
 * envelope, so replaying it keeps the operation) and appends nothing.
 * 1 appended, 0 dead-lettered, -1 fatal. */
typedef struct ak_pg_row {
    const char *vals[AK_MAX_COLUMNS];
    int lens[AK_MAX_COLUMNS];
    bool nulls[AK_MAX_COLUMNS];
    uint64_t present;
} ak_pg_row_t;

int ak_pg_emit(const ak_input_t *in, ak_batch_t *out, ak_op_t op, uint8_t flags, const ak_pg_row_t *row, uint64_t pos,
               bool envelope, const char *where, ak_dead_fn dead, void *dead_ctx, ak_err_t *err);

/* The source as the strategies implement it. */
typedef struct ak_pg_vt {
    ak_poll_rc_t (*poll)(ak_source_t *s, ak_batch_t *out, size_t max, bool drain, ak_dead_fn dead, void *dead_ctx,
                         ak_err_t *err);
    char *(*position)(ak_source_t *s);
    int (*commit)(ak_source_t *s, const char *position, ak_err_t *err);
    void (*close)(ak_source_t *s);
} ak_pg_vt_t;

/* Every source starts with this. */
typedef struct ak_pg_base {
    const ak_pg_vt_t *vt;
    const ak_input_t *in;
    ak_pg_conf_t conf;
    ak_pg_in_opts_t opts;
    char tag[200];             /* product/input, for logs */
} ak_pg_base_t;

int ak_pg_inc_open(const ak_conn_t *c, const ak_input_t *in, const char *position, ak_source_t **out, ak_err_t *err);
int ak_pg_cdc_open(const ak_conn_t *c, const ak_input_t *in, const char *position, ak_source_t **out, ak_err_t *err);

/* Fills the shared part (settings, options); the caller frees it with
 * ak_pg_base_free on failure and in close. */
int ak_pg_base_init(ak_pg_base_t *b, const ak_pg_vt_t *vt, const ak_conn_t *c, const ak_input_t *in, ak_err_t *err);
void ak_pg_base_free(ak_pg_base_t *b);

/* A quoted identifier (NULL on OOM; ak_free it). */
char *ak_pg_ident(const char *name);

#endif
