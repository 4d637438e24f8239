/* ak_graph.h - from a bound plan to a graph of incremental operators.
 *
 * Walks the statement's plan (CTEs included, each built once), works out
 * which columns each node's consumers read, and picks an operator per node:
 * a fused session operator for the LAG / new-session test / running SUM
 * pattern, a group aggregate, a symmetric join, row-local maps, per-
 * partition window recomputation, counting set operations, and a rerun
 * operator for what has no incremental form (ORDER BY ... LIMIT).  Plans
 * that read something other than the flow's inputs, or use subqueries in
 * expressions, are refused with the reason (the flow then re-evaluates the
 * whole statement).
 */
#ifndef AK_GRAPH_H
#define AK_GRAPH_H

#include "ak_op.h"

typedef struct ak_graph {
    ak_op_t **ops;           /* topological: inputs first */
    size_t nops, cap;
    ak_op_t *root;
    /* owned by the graph: need arrays and chains live in this arena */
    ak_arena_t arena;
} ak_graph_t;

/* Returns the source operator for a table the plan scans (created once per
 * table by the caller), or NULL with *why set when the table is not an input. */
typedef ak_op_t *(*ak_graph_source_fn)(void *ctx, const ak_plan_t *scan, const ak_sql_scan_info_t *info,
                                       char *why, size_t whycap, ak_err_t *err);

/* 0: built; 1: not supported (why says what); -1: error. */
int ak_graph_build(ak_sql_stmt_t *st, ak_graph_source_fn source, void *ctx, ak_graph_t *g, char *why, size_t whycap,
                   ak_err_t *err);
/* Frees the operators the graph created (not the sources). */
void ak_graph_free(ak_graph_t *g);



/* Whether the statement reads the clock anywhere (subqueries included). */
bool ak_plan_reads_clock(const ak_sql_stmt_t *st);
#endif
