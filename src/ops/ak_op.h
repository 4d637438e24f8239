/* ak_op.h - incremental operators (internal to src/ops).
 *
 * The flow turns a bound plan into a graph of operators, each stepping once
 * per micro-batch in topological order: it reads its inputs' deltas (this
 * step's changes of their outputs), updates its state and writes its own
 * output delta.  Every operator keeps the invariant that the sum of every
 * delta it has emitted equals its plan node evaluated as a batch over the
 * sum of its inputs' deltas, with ties among rows broken by a total order on
 * the rows themselves so that the result is a function of the input
 * multiset alone.
 *
 * Columns nobody downstream reads (`need` false) are not computed: they stay
 * NULL, and stored rows are packed without them.
 */
#ifndef AK_OP_H
#define AK_OP_H

#include "ak_buf.h"
#include "ak_delta.h"
#include "ak_kbag.h"
#include "ak_intern.h"
#include "ak_sql_plan.h"

typedef struct ak_op ak_op_t;

/* What one step gives every operator. */
typedef struct ak_opcx {
    ak_exec_t x;             /* x.cx evaluates expressions; x.arena is scratch, reset per step */
    ak_err_t *err;
    int64_t now_us, prev_now_us;
    bool clock_moved;        /* now_us differs from the last step's */
    bool first;              /* the flow's first step */
    ak_intern_t *strs;
    /* a compaction step (ak_flow_compact): operators armed for it forget
     * what is older than this (µs of the input's cursor column) */
    bool compacting;
    int64_t horizon_us;
} ak_opcx_t;

/* Receives one row of an operator's current output (see `list`). */
typedef int (*ak_list_fn)(void *ctx, const ak_val_t *row, int64_t w);

typedef struct ak_op_vt {
    const char *kind;
    int (*step)(ak_op_t *op, ak_opcx_t *cx);
    void (*destroy)(ak_op_t *op);
    size_t (*bytes)(const ak_op_t *op);
    /* One line: what the operator computes and over which key. */
    void (*describe)(const ak_op_t *op, ak_buf_t *out);
    /* Optional: the operator can list its current output rows whose
     * columns cols[0..n) equal a key (so a consumer need not keep a copy),
     * and does: fn for each such row, with its multiplicity. */
    bool (*can_list)(const ak_op_t *op, const int *cols, int n);
    int (*list)(ak_op_t *op, ak_opcx_t *cx, const int *cols, const ak_val_t *key, int n, ak_list_fn fn, void *ctx);
    /* Optional: how many keys (partitions, groups) the state is held for. */
    size_t (*keys)(const ak_op_t *op);
    /* Checkpoints (NULL for operators without state): save writes the
     * state as records of the operator's section, all of it (full) or what
     * changed since `saved` was last called, which the caller does once
     * the checkpoint is durable; load restores one record. */
    int (*save)(ak_op_t *op, bool full, const ak_state_out_t *out, ak_err_t *err);
    void (*saved)(ak_op_t *op);
    int (*load)(ak_op_t *op, ak_opcx_t *cx, const void *key, size_t kn, const void *val, size_t vn);
    /* Optional: describes the key whose newest row is the oldest (the
     * state that has waited longest for a change); false when none. */
    bool (*oldest)(const ak_op_t *op, ak_buf_t *out);
    /* Optional: where output column `col` comes from: input *in, column
     * *in_col, passed through as it is (AK_ORIGIN_SAME) or as the MIN or
     * MAX of that column over a group's rows (AK_ORIGIN_EXTREME); false
     * when it is computed (or a removed input row could change other rows,
     * as the NULL-extended rows of an outer join do). */
    bool (*origin)(const ak_op_t *op, int col, int *in, int *in_col, int *how);
    /* Optional: a compaction step (cx->compacting): retracts what is
     * settled behind cx->horizon_us, keeping what later changes need. */
    int (*compact)(ak_op_t *op, ak_opcx_t *cx);
} ak_op_vt_t;

enum { AK_ORIGIN_SAME = 1, AK_ORIGIN_EXTREME = 2 };

struct ak_op {
    const ak_op_vt_t *vt;
    int id;
    int ncols;
    const ak_type_t *types;
    char *const *names;
    const bool *need;        /* demanded output columns (NULL: all) */
    const ak_plan_t *plan;   /* the (top) plan node it implements */
    ak_op_t *in[2];
    int nin;
    ak_delta_t out;
    bool clocked;            /* the output depends on the clock */
    char *note;              /* owned: why this operator was picked, for explain */
    uint64_t rows_in, rows_out, steps;
    int64_t busy_us;
};

/* ---- helpers (ak_op.c) ---- */

/* Common set-up; the caller fills the rest. */
int ak_op_init(ak_op_t *op, const ak_op_vt_t *vt, const ak_plan_t *p, const bool *need, ak_err_t *err);
void ak_op_fini(ak_op_t *op);
void ak_op_free(ak_op_t *op);
int ak_op_note(ak_op_t *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Evaluates e over row; TEXT results that are not a column or constant are
 * interned, so the value may enter a delta. */
int ak_op_eval(ak_opcx_t *cx, const ak_expr_t *e, const ak_val_t *row, ak_val_t *out);
/* True when e reads the clock, directly or through a function. */
bool ak_expr_volatile(const ak_expr_t *e);
/* True when e contains a subquery. */
bool ak_expr_has_subquery(const ak_expr_t *e);
/* Marks in `cols` (size ncols) every input column e reads. */
void ak_expr_cols(const ak_expr_t *e, bool *cols, int ncols);
/* Builds a relation header for a plan node's columns. */
ak_rel_t *ak_op_rel(const ak_plan_t *p);

/* Packing: the columns of a row an operator keeps in its state. */
typedef struct ak_pack {
    int width;               /* columns of a full row */
    int n;                   /* columns kept */
    int *cols;               /* kept column indexes (owned) */
} ak_pack_t;
int ak_pack_init(ak_pack_t *p, const bool *keep, int width);
void ak_pack_fini(ak_pack_t *p);
static inline void ak_pack(const ak_pack_t *p, const ak_val_t *row, ak_val_t *dst)
{
    for (int i = 0; i < p->n; i++)
        dst[i] = row[p->cols[i]];
}
static inline void ak_unpack(const ak_pack_t *p, const ak_val_t *src, ak_val_t *row)
{
    for (int i = 0; i < p->width; i++)
        row[i] = ak_v_null();
    for (int i = 0; i < p->n; i++)
        row[p->cols[i]] = src[i];
}

/* ---- operators ---- */

/* Rows of an input table (changes pushed by the table's listener). */
ak_op_t *ak_op_source_new(const ak_plan_t *scan, const char *name, ak_err_t *err);
int ak_op_source_push(ak_op_t *op, const ak_val_t *row, int64_t w);
/* The single empty row of SELECT without FROM. */
ak_op_t *ak_op_one_row_new(const ak_plan_t *p, ak_err_t *err);
/* A chain of row-local nodes (FILTER, PROJECT, TRIM) fused into one pass;
 * nodes[0] is the bottom.  Clock-dependent expressions make it keep its
 * input and re-evaluate when the clock moves. */
ak_op_t *ak_op_map_new(ak_op_t *in, const ak_plan_t *const *nodes, const bool *const *needs, int n, const bool *inneed,
                       ak_err_t *err);
/* pull_left: the left input can list its rows by the join key (can_list),
 * so they are not kept; INNER and LEFT joins only. */
ak_op_t *ak_op_join_new(ak_op_t *l, ak_op_t *r, const ak_plan_t *p, const bool *need, const bool *lneed,
                        const bool *rneed, bool pull_left, ak_err_t *err);
ak_op_t *ak_op_group_new(ak_op_t *in, const ak_plan_t *p, const bool *need, ak_err_t *err);
ak_op_t *ak_op_window_new(ak_op_t *in, const ak_plan_t *p, const bool *need, const bool *inneed, ak_err_t *err);
/* Session windows: w1 = LAG over (PARTITION BY k ORDER BY t), chain = the
 * row-local projections between, w2 = running SUM over the same window. */
ak_op_t *ak_op_session_new(ak_op_t *in, const ak_plan_t *w1, const ak_plan_t *const *chain,
                           const bool *const *chain_needs, int nchain, const ak_plan_t *w2, const bool *need,
                           const bool *inneed, ak_err_t *err);
/* What compaction needs to know of a session operator: the output
 * columns that pass its partition key through, its running sum's output
 * column, and the input column it orders by; false when it cannot compact
 * (not one ascending timestamp/date ORDER BY column, or more than one
 * running sum).  ak_op_session_arm makes its compaction steps forget. */
typedef struct ak_session_info {
    int npart;
    const int *part_out;     /* -1: the key column is not passed through */
    int sum_col;
    int ord_in_col;
} ak_session_info_t;
bool ak_op_session_info(const ak_op_t *op, ak_session_info_t *out);
void ak_op_session_arm(ak_op_t *op);
ak_op_t *ak_op_distinct_new(ak_op_t *in, const ak_plan_t *p, ak_err_t *err);
ak_op_t *ak_op_setop_new(ak_op_t *l, ak_op_t *r, const ak_plan_t *p, ak_err_t *err);
/* Single-input nodes without an incremental form (ORDER BY + LIMIT): the
 * chain of `depth` nodes ending at `top` runs again over the whole kept
 * input when it changes. */
ak_op_t *ak_op_rerun_new(ak_op_t *in, const ak_plan_t *top, int depth, const char *why, ak_err_t *err);

/* Checkpoints of operators whose state is keyed multisets: bag i is
 * saved with tag i (NULL bags are skipped). */
int ak_op_bags_save(ak_kbag_t *const *bags, int n, bool full, const ak_state_out_t *out, ak_err_t *err);
void ak_op_bags_saved(ak_kbag_t *const *bags, int n);
int ak_op_bags_load(ak_kbag_t *const *bags, int n, ak_opcx_t *cx, const void *key, size_t kn, const void *val,
                    size_t vn, uint32_t *eid);
/* Interns TEXT read from a checkpoint into the flow's pool (ctx). */
int ak_op_intern_cb(void *ctx, ak_val_t *v);

/* Steps an operator (timing and counters around vt->step). */
int ak_op_step(ak_op_t *op, ak_opcx_t *cx);

#endif
