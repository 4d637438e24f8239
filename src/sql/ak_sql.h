/* ak_sql.h - akili's SQL engine: parse, bind, plan and run a SELECT.
 *
 * The engine evaluates a query as a batch over in-memory relations (the
 * transform's inputs, a candidate table, a stored table scanned with pushed
 * down predicates).  It is the reference for the correctness contract, runs
 * quality checks and `akili query`, and is the fallback for transform shapes
 * that have no native incremental operator.  Semantics follow DuckDB: NULLS
 * LAST, bytewise text order, `/` is floating division, DATEDIFF counts
 * boundaries, RANGE frames include peers.
 *
 * Lifetime: a statement (ak_sql_stmt_t) borrows the tables its resolver
 * returned until it is freed; a result relation owns all of its strings.
 * Not thread-safe per statement; distinct statements may run concurrently.
 */
#ifndef AK_SQL_H
#define AK_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_arena.h"
#include "ak_buf.h"
#include "ak_error.h"
#include "ak_value.h"

/* A materialised relation: nrows x ncols values, row-major. */
typedef struct ak_rel {
    int ncols;
    char **names;        /* owned */
    ak_type_t *types;    /* owned */
    size_t nrows, cap;
    ak_val_t *v;         /* owned; row r is v + r * ncols */
    ak_arena_t arena;    /* strings owned by this relation */
} ak_rel_t;

ak_rel_t *ak_rel_new(int ncols, const char *const *names, const ak_type_t *types);
void ak_rel_free(ak_rel_t *r);
/* Appends one row of NULLs and returns it; NULL on OOM. */
ak_val_t *ak_rel_push(ak_rel_t *r);
/* Appends n rows the caller fills completely (not initialised); NULL on OOM. */
ak_val_t *ak_rel_push_n(ak_rel_t *r, size_t n);
int ak_rel_reserve(ak_rel_t *r, size_t rows);
static inline ak_val_t *ak_rel_row(const ak_rel_t *r, size_t i) { return r->v + i * (size_t)r->ncols; }
/* Copies every TEXT value's bytes into r's own arena (after this, r no
 * longer refers to memory owned by others). */
int ak_rel_own_strings(ak_rel_t *r);
int ak_rel_find(const ak_rel_t *r, const char *name); /* case-insensitive; -1 */

/* A comparison pushed down to a stored table's scan: column <op> constant. */
typedef enum ak_cmp_op { AK_CMP_EQ, AK_CMP_NE, AK_CMP_LT, AK_CMP_LE, AK_CMP_GT, AK_CMP_GE } ak_cmp_op_t;
typedef struct ak_sql_pred {
    int col;
    ak_cmp_op_t op;
    ak_val_t value;  /* already of the column's type; never NULL */
} ak_sql_pred_t;

/* What a table name resolves to.  Either `rel` (rows in memory, borrowed) or
 * `scan` (called at execution with the predicates that can be pushed down;
 * it must return every row satisfying them, and may return more). */
typedef struct ak_sql_table {
    int ncols;
    const char *const *names;
    const ak_type_t *types;
    const ak_rel_t *rel;
    int (*scan)(void *ctx, const ak_sql_pred_t *preds, int npreds, ak_rel_t **out, ak_err_t *err);
    void *ctx;
} ak_sql_table_t;

/* Table resolution: `schema` may be NULL.  For {{ ref('x') }} the resolver is
 * called with kind AK_SQL_REF and name "x"; for {{ this }} with AK_SQL_THIS.
 * Return 0 with *out filled, 1 if there is no such table, -1 on error. */
typedef enum ak_sql_name_kind { AK_SQL_TABLE, AK_SQL_REF, AK_SQL_THIS } ak_sql_name_kind_t;
typedef int (*ak_sql_resolve_fn)(void *ctx, ak_sql_name_kind_t kind, const char *schema, const char *name,
                                 ak_sql_table_t *out, ak_err_t *err);

typedef struct ak_sql_env {
    ak_sql_resolve_fn resolve;
    void *resolve_ctx;
    int64_t now_us;       /* what CURRENT_TIMESTAMP/NOW() return */
    const char *origin;   /* for error messages: file name or "query" */
    int line_base;        /* line of origin where the SQL text starts (1-based) */
} ak_sql_env_t;

typedef struct ak_sql_stmt ak_sql_stmt_t;

/* Parses and binds one SELECT (WITH ... allowed).  Errors carry
 * "origin:line:col: message".  On failure *out is NULL. */
int ak_sql_prepare(const char *sql, size_t len, const ak_sql_env_t *env, ak_sql_stmt_t **out, ak_err_t *err);
void ak_sql_stmt_free(ak_sql_stmt_t *st);
int ak_sql_stmt_ncols(const ak_sql_stmt_t *st);
const char *ak_sql_stmt_name(const ak_sql_stmt_t *st, int i);
ak_type_t ak_sql_stmt_type(const ak_sql_stmt_t *st, int i);
/* Sets the clock CURRENT_TIMESTAMP/NOW() read at the next execution. */
void ak_sql_stmt_set_now(ak_sql_stmt_t *st, int64_t now_us);
/* Runs the statement; the result owns its strings.  May be called again. */
int ak_sql_execute(ak_sql_stmt_t *st, ak_rel_t **out, ak_err_t *err);
/* The tables a statement reads and which of their columns it uses (any
 * reference, including through `*`).  Valid while the statement lives. */
typedef struct ak_sql_scan_info {
    ak_sql_name_kind_t kind;
    const char *schema;  /* NULL if unqualified */
    const char *name;
    int ncols;
    const bool *used;
} ak_sql_scan_info_t;
int ak_sql_stmt_scans(const ak_sql_stmt_t *st, const ak_sql_scan_info_t **out, int *n);

/* The plan as indented text, one operator per line. */
void ak_sql_explain(const ak_sql_stmt_t *st, ak_buf_t *out);

/* Convenience: prepare + execute + free. */
int ak_sql_query(const char *sql, size_t len, const ak_sql_env_t *env, ak_rel_t **out, ak_err_t *err);

/* Casts a value to a type with SQL semantics (text parsing, numeric
 * narrowing with range checks, timestamp <-> date).  Strings produced go to
 * `arena`.  NULL stays NULL. */
int ak_sql_cast(const ak_val_t *in, ak_type_t to, ak_arena_t *arena, ak_val_t *out, ak_err_t *err);

#endif
