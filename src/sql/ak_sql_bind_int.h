/* ak_sql_bind_int.h - the binder's shared state: scopes, the binder and
 * the per-SELECT expression context.  Expression binding is in
 * ak_sql_bind_expr.c, FROM/SELECT/query planning in ak_sql_bind.c.
 * Internal to src/sql. */
#ifndef AK_SQL_BIND_INT_H
#define AK_SQL_BIND_INT_H

#include "ak_sql_plan.h"

typedef struct scol {
    const char *qual;
    const char *name;
    ak_type_t type;
    int idx;
    bool hidden; /* a USING column's second copy: not in * nor unqualified lookups */
    bool *used;  /* the base table's usage flag for this column, or NULL */
} scol_t;

typedef struct scope {
    scol_t *cols;
    int n;
} scope_t;

typedef struct binder {
    ak_sql_stmt_t *st;
    ak_arena_t *a;
    ak_err_t *err;
    size_t err_off;
    struct {
        const char *name;
        int slot;
    } *ctes; /* visible CTEs, innermost last */
    int nctes, cap_ctes;
    const scope_t *outer[16]; /* enclosing query scopes, for correlation errors */
    int nouter;
} binder_t;

/* Calls collected while binding one SELECT's expressions. */
typedef struct winspec {
    ak_expr_t **part;
    int npart;
    ak_sortkey_t *ord;
    int nord;
} winspec_t;

typedef struct ectx {
    const scope_t *scope;
    bool allow_agg;
    bool allow_win;
    const char *clause;
    const ak_select_ast_t *sel;
    ak_aggcall_t *aggs;
    int naggs, cap_aggs;
    ak_wincall_t *wins;
    winspec_t *specs; /* one per window call */
    int nwins, cap_wins;
} ectx_t;

ak_type_t ak__common_type(ak_type_t a, ak_type_t b);
int ak__b_fail(binder_t *b, size_t off, ak_code_t code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int ak__b_nomem(binder_t *b);
char *ak__b_span_text(binder_t *b, size_t off, size_t end);
ak_expr_t *ak__b_bind_expr(binder_t *b, ectx_t *c, const ak_ast_t *x);
ak_plan_t *ak__b_bind_query(binder_t *b, const ak_query_ast_t *q);
int ak__b_coerce_pair(binder_t *b, ak_expr_t **l, ak_expr_t **r, size_t off, const char *what);
int ak__b_coerce_to(binder_t *b, ak_expr_t **x, ak_type_t to, size_t off);
int ak__b_require_bool(binder_t *b, ak_expr_t **x, size_t off, const char *where);

#endif
