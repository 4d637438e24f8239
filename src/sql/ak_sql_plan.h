/* ak_sql_plan.h - bound expressions and plan operators (internal to src/sql
 * and the planner of incremental operators).
 *
 * The binder turns the parse tree into a tree of plan nodes whose
 * expressions refer to columns of their input row by index and carry their
 * result type.  The executor evaluates the tree bottom-up, materialising each
 * operator's output as an ak_rel_t.  Everything here lives in the
 * statement's arena, except cached subquery results (freed with the
 * statement).
 */
#ifndef AK_SQL_PLAN_H
#define AK_SQL_PLAN_H

#include "ak_sql.h"
#include "ak_sql_ast.h"
#include "ak_time.h"

typedef struct ak_plan ak_plan_t;
typedef struct ak_expr ak_expr_t;
typedef struct ak_eval ak_eval_t;

typedef enum ak_expr_kind {
    EX_CONST,
    EX_COL,
    EX_NOT,
    EX_AND,
    EX_OR,
    EX_CMP,       /* op: ak_cmp_op_t */
    EX_ARITH,     /* op: '+', '-', '*', '/', 'D', '%' */
    EX_NEG,
    EX_CONCAT,
    EX_ISNULL,    /* negated: IS NOT NULL */
    EX_DISTINCT,  /* IS DISTINCT FROM; negated: IS NOT DISTINCT FROM */
    EX_IN_LIST,   /* args[0] IN (args[1..]) */
    EX_IN_SUBQ,   /* args[0] IN (subquery) */
    EX_EXISTS,
    EX_SUBQ,      /* scalar subquery */
    EX_LIKE,      /* op 1: ILIKE */
    EX_CASE,      /* args: (when, then)* [else]; has_else */
    EX_CAST,
    EX_FUNC,
    EX_AGG,       /* binder-internal: an aggregate call not yet rewritten */
    EX_WIN,       /* binder-internal: a window call not yet rewritten */
} ak_expr_kind_t;

typedef int (*ak_fn_eval_t)(const ak_expr_t *e, ak_val_t *args, ak_eval_t *cx, ak_val_t *out);

typedef struct ak_func {
    const char *name;
    int min_args, max_args;          /* max -1: variadic */
    /* Checks argument types, may insert casts into e->args, sets e->type. */
    int (*bind)(ak_expr_t *e, ak_arena_t *a, ak_err_t *err);
    ak_fn_eval_t eval;
    bool strict;                     /* any NULL argument -> NULL, eval not called */
    bool is_volatile;                /* reads the clock */
} ak_func_t;

struct ak_expr {
    ak_expr_kind_t kind;
    ak_type_t type;
    int op;
    bool negated;
    bool has_else;
    bool try_cast;
    int col;                /* EX_COL */
    ak_val_t val;           /* EX_CONST */
    ak_expr_t **args;
    int nargs;
    const ak_func_t *fn;    /* EX_FUNC */
    ak_tunit_t unit;        /* date functions whose unit argument is constant */
    ak_plan_t *subq;        /* EX_SUBQ, EX_IN_SUBQ, EX_EXISTS */
    int ref;                /* EX_AGG / EX_WIN: index of the call */
    size_t off, end;        /* source span */
};

typedef struct ak_sortkey {
    ak_expr_t *expr;
    bool desc;
    bool nulls_first;
} ak_sortkey_t;

typedef enum ak_agg_fn {
    AGG_COUNT_STAR,
    AGG_COUNT,
    AGG_SUM,
    AGG_AVG,
    AGG_MIN,
    AGG_MAX,
    AGG_ANY_VALUE,
    AGG_FIRST,
    AGG_LAST,
    AGG_ARG_MIN,
    AGG_ARG_MAX,
    AGG_STRING_AGG,
    AGG_BOOL_AND,
    AGG_BOOL_OR,
    AGG_VAR_SAMP,
    AGG_VAR_POP,
    AGG_STDDEV_SAMP,
    AGG_STDDEV_POP,
    AGG__COUNT,
} ak_agg_fn_t;

typedef struct ak_aggcall {
    ak_agg_fn_t fn;
    bool distinct;
    ak_expr_t **args;        /* bound over the aggregate's input row */
    int nargs;
    ak_expr_t *filter;       /* FILTER (WHERE ...) or NULL */
    ak_type_t type;          /* result type */
    const char *text;        /* as written, for plans ("min(s.event_time)") */
} ak_aggcall_t;

typedef enum ak_win_fn {
    WIN_AGG,                 /* an aggregate over the frame (agg.fn) */
    WIN_ROW_NUMBER,
    WIN_RANK,
    WIN_DENSE_RANK,
    WIN_PERCENT_RANK,
    WIN_CUME_DIST,
    WIN_NTILE,
    WIN_LAG,
    WIN_LEAD,
    WIN_FIRST_VALUE,
    WIN_LAST_VALUE,
    WIN_NTH_VALUE,
} ak_win_fn_t;

typedef struct ak_frame {
    ak_frame_unit_t unit;    /* FRAME_DEFAULT: RANGE UNBOUNDED PRECEDING..CURRENT ROW with ORDER BY, whole partition without */
    ak_bound_kind_t start_kind, end_kind;
    ak_expr_t *start_off, *end_off;  /* constants */
} ak_frame_t;

typedef struct ak_wincall {
    ak_win_fn_t fn;
    ak_aggcall_t agg;        /* WIN_AGG: fn, distinct, args, filter, type; other fns: args, type */
    bool ignore_nulls;
    ak_frame_t frame;
} ak_wincall_t;

typedef enum ak_plan_kind {
    P_SCAN,
    P_ONE_ROW,   /* SELECT without FROM: one row, no columns */
    P_FILTER,
    P_PROJECT,
    P_JOIN,
    P_AGG,
    P_WINDOW,
    P_SORT,
    P_LIMIT,
    P_DISTINCT,
    P_SETOP,
    P_CTE,
    P_TRIM,      /* keep the first ncols columns (drops hidden sort columns) */
} ak_plan_kind_t;

struct ak_plan {
    ak_plan_kind_t kind;
    int ncols;
    char **names;
    ak_type_t *types;
    ak_plan_t *child, *right;
    /* SCAN */
    int scan;                /* index in the statement's scan infos */
    ak_sql_table_t table;
    const char *table_name;
    ak_sql_pred_t *preds;
    int npreds;
    /* FILTER */
    ak_expr_t *pred;
    /* PROJECT */
    ak_expr_t **exprs;
    /* JOIN */
    ak_join_type_t join;
    int nkeys;
    ak_expr_t **lkeys, **rkeys;
    ak_expr_t *residual;     /* over the combined row (left cols, then right cols) */
    /* AGG: output = groups, then aggregates */
    int ngroups;
    ak_expr_t **groups;
    int naggs;
    ak_aggcall_t *aggs;
    bool scalar_agg;         /* no GROUP BY: exactly one output row */
    /* WINDOW: output = child columns, then one per call */
    int npart;
    ak_expr_t **part;
    int nord;
    ak_sortkey_t *ord;
    int nwins;
    ak_wincall_t *wins;
    /* SORT */
    int nkeys_sort;
    ak_sortkey_t *keys;
    /* LIMIT */
    int64_t limit, offset;   /* limit -1: none */
    /* SETOP */
    ak_setop_kind_t setop;
    bool all;
    /* CTE */
    int cte;
};

/* Evaluation context shared by every expression of one execution. */
struct ak_eval {
    ak_arena_t *arena;       /* strings produced by expressions */
    ak_err_t *err;
    int64_t now_us;
    struct ak_exec *exec;    /* for subqueries */
};

/* ---- expressions (ak_sql_expr.c) ---- */
int ak_expr_eval(const ak_expr_t *e, const ak_val_t *row, ak_eval_t *cx, ak_val_t *out);
/* Truth value of a predicate: NULL counts as false. -1 on error. */
int ak_expr_true(const ak_expr_t *e, const ak_val_t *row, ak_eval_t *cx);
int ak_cast_value(const ak_val_t *in, ak_type_t to, ak_arena_t *arena, ak_val_t *out, ak_err_t *err);
bool ak_cast_allowed(ak_type_t from, ak_type_t to);
ak_expr_t *ak_expr_new(ak_arena_t *a, ak_expr_kind_t k, ak_type_t t);
ak_expr_t *ak_expr_cast(ak_arena_t *a, ak_expr_t *x, ak_type_t to);
bool ak_expr_equal(const ak_expr_t *a, const ak_expr_t *b);
void ak_expr_explain(const ak_expr_t *e, const ak_plan_t *input, ak_buf_t *out);
int ak_like_match(const char *s, size_t n, const char *pat, size_t pn, bool icase);

/* ---- functions (ak_sql_func.c) ---- */
const ak_func_t *ak_func_lookup(const char *name);
bool ak_is_aggregate_name(const char *name, ak_agg_fn_t *fn);
bool ak_is_window_only_name(const char *name, ak_win_fn_t *fn);

/* ---- aggregates (ak_sql_agg.c) ---- */
typedef struct ak_aggstate {
    int64_t count;
    union {
        __int128 isum;
        double dsum;
    };
    double m2;               /* variance: running M2 (Welford), dsum holds the mean */
    ak_val_t v;              /* MIN/MAX/ANY/FIRST/LAST value, ARG_* result */
    ak_val_t key;            /* ARG_MIN/ARG_MAX ordering key */
    ak_buf_t *buf;           /* STRING_AGG */
    bool seen;
} ak_aggstate_t;

int ak_agg_bind(ak_aggcall_t *call, ak_arena_t *a, ak_err_t *err);
void ak_agg_init(const ak_aggcall_t *call, ak_aggstate_t *st);
/* args are the evaluated arguments; values must stay valid (arena strings). */
int ak_agg_step(const ak_aggcall_t *call, ak_aggstate_t *st, const ak_val_t *args, ak_eval_t *cx);
int ak_agg_final(const ak_aggcall_t *call, const ak_aggstate_t *st, ak_eval_t *cx, ak_val_t *out);
void ak_agg_release(ak_aggstate_t *st);
const char *ak_agg_name(ak_agg_fn_t fn);
const char *ak_win_name(ak_win_fn_t fn);

/* ---- binding (ak_sql_bind.c) ---- */
typedef struct ak_sql_cte_slot {
    const char *name;
    ak_plan_t *plan;
    ak_rel_t *result;        /* materialised on first use during execution */
} ak_sql_cte_slot_t;

struct ak_sql_stmt {
    ak_arena_t arena;
    const char *sql;         /* copy, NUL-terminated */
    size_t len;
    ak_sql_env_t env;
    ak_query_ast_t *ast;
    ak_plan_t *root;
    ak_sql_cte_slot_t *ctes;
    int nctes, cap_ctes;
    ak_expr_t **subqs;       /* subquery expressions, for cache release */
    int nsubqs, cap_subqs;
    ak_sql_scan_info_t *scans; /* tables read, with used-column flags */
    int nscans, cap_scans;
};

int ak_sql_bind(ak_sql_stmt_t *st, size_t *err_off, ak_err_t *err);

/* ---- execution (ak_sql_exec.c, ak_sql_window.c) ---- */
struct ak_subq_cache {
    ak_rel_t *rel;
};

typedef struct ak_exec {
    ak_sql_stmt_t *st;
    ak_arena_t arena;        /* strings of intermediate results */
    ak_eval_t cx;
    ak_err_t *err;
    /* cached subquery results, by expression */
    struct ak_subq_cache *cache;
    int ncache, cap_cache;
    /* scanned tables own their strings: they live until the execution ends */
    ak_rel_t **keep;
    size_t nkeep, cap_keep;
} ak_exec_t;

int ak_exec_plan(ak_exec_t *x, const ak_plan_t *p, ak_rel_t **out, bool *owned);
int ak_exec_window(ak_exec_t *x, const ak_plan_t *p, const ak_rel_t *in, ak_rel_t *out);
int ak_exec_subquery(ak_exec_t *x, const ak_expr_t *e, const ak_rel_t **res);
/* Sorting rows of a relation by keys evaluated per row. */
int ak_sort_rows(ak_exec_t *x, const ak_rel_t *in, const ak_sortkey_t *keys, int nkeys, size_t *perm);

#endif
