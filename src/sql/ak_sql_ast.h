/* ak_sql_ast.h - the parse tree of a SELECT statement.
 *
 * Nodes live in the statement's arena.  Every expression keeps the byte span
 * of its source text, used for error positions and for naming unaliased
 * result columns after what the user wrote ("COUNT(*)").
 */
#ifndef AK_SQL_AST_H
#define AK_SQL_AST_H

#include <stdbool.h>
#include <stddef.h>

#include "ak_arena.h"
#include "ak_error.h"
#include "ak_value.h"

typedef struct ak_query_ast ak_query_ast_t;
typedef struct ak_window_ast ak_window_ast_t;

typedef enum ak_ast_kind {
    AST_COL,        /* qual.name or name */
    AST_STAR,       /* * or qual.* (select list, COUNT(*)) */
    AST_LIT,        /* literal value (typed literals included) */
    AST_NEG,        /* -x */
    AST_NOT,
    AST_AND,
    AST_OR,
    AST_CMP,        /* op: ak_cmp_op_t */
    AST_ARITH,      /* op: '+', '-', '*', '/', 'D' (//), '%' */
    AST_CONCAT,     /* || */
    AST_ISNULL,     /* negated: IS NOT NULL */
    AST_DISTINCT,   /* IS [NOT] DISTINCT FROM; negated: IS NOT DISTINCT */
    AST_BETWEEN,    /* args: x, lo, hi; negated */
    AST_IN_LIST,    /* args: x, items...; negated */
    AST_IN_SUBQ,    /* args: x; subq; negated */
    AST_EXISTS,     /* subq; negated */
    AST_SUBQ,       /* scalar subquery */
    AST_LIKE,       /* args: x, pattern; op 1 = ILIKE; negated */
    AST_CASE,       /* args: [operand] (when, then)* [else]; has_operand, has_else */
    AST_CAST,       /* args: x; cast_type; try_cast */
    AST_FUNC,       /* name(args) [FILTER (WHERE f)] [OVER w] */
} ak_ast_kind_t;

typedef struct ak_ast {
    ak_ast_kind_t kind;
    int op;
    bool negated;
    size_t off, end;          /* source span [off, end) */
    const char *qual, *name;  /* COL, STAR, FUNC (name) */
    ak_val_t lit;             /* LIT */
    struct ak_ast **args;
    int nargs;
    bool has_operand, has_else;         /* CASE */
    ak_type_t cast_type;                /* CAST */
    bool try_cast;
    bool distinct, star;                /* FUNC: COUNT(DISTINCT x), COUNT(*) */
    struct ak_ast *filter;              /* FUNC: FILTER (WHERE ...) */
    ak_window_ast_t *over;              /* FUNC: OVER (...) */
    const char *over_name;              /* FUNC: OVER w */
    bool ignore_nulls;                  /* FUNC: IGNORE NULLS */
    ak_query_ast_t *subq;               /* SUBQ, IN_SUBQ, EXISTS */
} ak_ast_t;

typedef struct ak_order_ast {
    ak_ast_t *expr;
    bool desc;
    int nulls_first;  /* -1 default (NULLS LAST), 0 last, 1 first */
} ak_order_ast_t;

typedef enum ak_frame_unit { FRAME_DEFAULT = 0, FRAME_ROWS, FRAME_RANGE, FRAME_GROUPS } ak_frame_unit_t;
typedef enum ak_bound_kind {
    BOUND_UNBOUNDED_PRECEDING,
    BOUND_PRECEDING,
    BOUND_CURRENT_ROW,
    BOUND_FOLLOWING,
    BOUND_UNBOUNDED_FOLLOWING,
} ak_bound_kind_t;

typedef struct ak_frame_bound {
    ak_bound_kind_t kind;
    ak_ast_t *offset;  /* PRECEDING / FOLLOWING */
} ak_frame_bound_t;

struct ak_window_ast {
    const char *base;  /* WINDOW w AS (base ...) */
    ak_ast_t **partition;
    int npartition;
    ak_order_ast_t *order;
    int norder;
    ak_frame_unit_t unit;
    ak_frame_bound_t start, end;
    size_t off;
};

typedef struct ak_select_item {
    ak_ast_t *expr;       /* NULL for * / qual.* */
    const char *alias;
    const char *star_qual; /* qual of qual.*, or NULL for * */
    bool star;
    const char **exclude; /* * EXCLUDE (a, b) */
    int nexclude;
    size_t off;
} ak_select_item_t;

typedef enum ak_from_kind { FROM_TABLE, FROM_SUBQUERY, FROM_JOIN, FROM_TEMPLATE } ak_from_kind_t;
typedef enum ak_join_type { JOIN_INNER, JOIN_LEFT, JOIN_RIGHT, JOIN_FULL, JOIN_CROSS } ak_join_type_t;

typedef struct ak_from_ast {
    ak_from_kind_t kind;
    size_t off;
    const char *schema, *name;   /* TABLE */
    const char *alias;
    const char **col_aliases;    /* t(a, b, c) */
    int ncol_aliases;
    ak_query_ast_t *subq;        /* SUBQUERY */
    const char *tmpl;            /* TEMPLATE: inside of {{ }} */
    size_t tmpl_len;
    ak_join_type_t join;         /* JOIN */
    struct ak_from_ast *left, *right;
    ak_ast_t *on;
    const char **using_cols;
    int nusing;
    bool natural;
} ak_from_ast_t;

typedef struct ak_named_window {
    const char *name;
    ak_window_ast_t *spec;
} ak_named_window_t;

typedef struct ak_select_ast {
    bool distinct;
    ak_select_item_t *items;
    int nitems;
    ak_from_ast_t *from;         /* NULL: SELECT without FROM */
    ak_ast_t *where;
    ak_ast_t **group;
    int ngroup;
    bool group_all;
    bool has_group;              /* GROUP BY present (even GROUP BY ()) */
    ak_ast_t *having;
    ak_ast_t *qualify;
    ak_named_window_t *windows;
    int nwindows;
    size_t off;
} ak_select_ast_t;

typedef enum ak_setop_kind { SETOP_NONE, SETOP_UNION, SETOP_EXCEPT, SETOP_INTERSECT } ak_setop_kind_t;

typedef struct ak_body_ast {
    ak_setop_kind_t op;          /* NONE: a plain select (or parenthesised query) */
    bool all;
    struct ak_body_ast *left, *right;
    ak_select_ast_t *select;     /* op == NONE and not nested */
    ak_query_ast_t *nested;      /* op == NONE: ( query ) */
} ak_body_ast_t;

typedef struct ak_cte_ast {
    const char *name;
    const char **col_aliases;
    int ncol_aliases;
    ak_query_ast_t *query;
    size_t off;
} ak_cte_ast_t;

struct ak_query_ast {
    ak_cte_ast_t *ctes;
    int nctes;
    ak_body_ast_t *body;
    ak_order_ast_t *order;
    int norder;
    ak_ast_t *limit, *offset;
    size_t off;
};

/* Parses one statement (a trailing `;` is allowed).  On error, *err_off is
 * the byte offset the message refers to. */
int ak_sql_parse(const char *sql, size_t len, ak_arena_t *arena, ak_query_ast_t **out, size_t *err_off,
                 ak_err_t *err);

#endif
