/* ak_flow.h - a SQL statement kept up to date as its inputs change.
 *
 * A flow prepares the statement, builds its operator graph (ak_graph.h) and
 * then follows changes: the caller pushes every change of every input
 * (rows added with weight +1, removed with -1) and steps the flow once per
 * micro-batch; the step returns the changes of the statement's result, so
 * that the sum of all changes returned equals the statement evaluated as a
 * batch over the sum of all changes pushed.  Statements the graph cannot
 * take (subqueries in expressions, reads of tables that are not inputs) are
 * re-evaluated whole at each step that has changes, and the difference with
 * the previous result is returned instead: the same contract, at batch cost.
 *
 * Rows pushed must have the input's columns and stable strings (valid for
 * the flow's life).  Not thread-safe.
 */
#ifndef AK_FLOW_H
#define AK_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "ak_buf.h"
#include "ak_delta.h"
#include "ak_error.h"
#include "ak_ser.h"
#include "ak_sql.h"

typedef struct ak_flow ak_flow_t;

typedef struct ak_flow_input {
    ak_sql_name_kind_t kind;       /* AK_SQL_REF ({{ ref('name') }}) or AK_SQL_THIS */
    const char *name;
    ak_sql_table_t table;          /* the shape, and the rows when the statement is re-evaluated whole */
    int (*sync)(void *ctx, ak_err_t *err); /* called before such a re-evaluation (NULL: none) */
    void *sync_ctx;
} ak_flow_input_t;

typedef struct ak_flow_opts {
    const char *sql;
    const char *origin;            /* file name for error positions */
    int line_base;
    ak_sql_resolve_fn resolve_other; /* tables that are not inputs (published products) */
    void *resolve_ctx;
    /* the result's columns, by name, with casts (ncols 0: as the SQL returns them) */
    int ncols;
    const char *const *names;
    const ak_type_t *types;
    bool keep_result;              /* keep the whole current result (ak_flow_result) */
    bool no_graph;                 /* always re-evaluate whole (for tests and comparisons) */
} ak_flow_opts_t;

int ak_flow_new(const ak_flow_opts_t *o, const ak_flow_input_t *inputs, size_t ninputs, ak_flow_t **out,
                ak_err_t *err);
void ak_flow_free(ak_flow_t *f);

/* Whether the statement reads input i at all (changes of others are ignored). */
bool ak_flow_reads(const ak_flow_t *f, size_t input);
/* One change of input i: row (the input's columns) with weight w. */
int ak_flow_push(ak_flow_t *f, size_t input, const ak_val_t *row, int64_t w, ak_err_t *err);
int ak_flow_push_delta(ak_flow_t *f, size_t input, const ak_delta_t *d, ak_err_t *err);
/* Whether a step would do anything: changes pushed, the first step, or a
 * clock-dependent statement whose clock moved. */
bool ak_flow_dirty(const ak_flow_t *f, int64_t now_us);

/* Applies what was pushed; the result's changes are then in ak_flow_changes. */
int ak_flow_step(ak_flow_t *f, int64_t now_us, ak_err_t *err);
const ak_delta_t *ak_flow_changes(const ak_flow_t *f);

/* The result's columns. */
int ak_flow_ncols(const ak_flow_t *f);
const char *const *ak_flow_names(const ak_flow_t *f);
const ak_type_t *ak_flow_types(const ak_flow_t *f);
/* The whole current result (opts.keep_result); the relation is the
 * caller's (strings are the flow's: valid while it lives). */
int ak_flow_result(const ak_flow_t *f, ak_rel_t **out, ak_err_t *err);

/* Whether the result depends on the clock (NOW(), CURRENT_DATE, ...). */
bool ak_flow_clocked(const ak_flow_t *f);
/* The result's key, when the statement ends in a GROUP BY whose keys are
 * all output columns: their positions in *cols (room for ak_flow_ncols).
 * Returns the number of key columns, 0 when there is none. */
int ak_flow_key(const ak_flow_t *f, int *cols);

/* Incremental (a graph) or re-evaluated whole, and why. */
bool ak_flow_incremental(const ak_flow_t *f, const char **why);
/* Bytes of state (operators, interned strings, kept result). */
size_t ak_flow_state_bytes(const ak_flow_t *f);
/* The operators, one per line: "#id kind <- inputs: description". */
void ak_flow_explain(const ak_flow_t *f, ak_buf_t *out);
/* Per operator: rows in and out, time, state bytes; one line each. */
void ak_flow_report(const ak_flow_t *f, ak_buf_t *out);
/* Keys the state is held for: the partitions (or groups) of the first
 * keyed operator (users, for the session window); 0 if none. */
/* Appends, for each operator and the string pool, ",\n{...}": a JSON object
 * with its name, kind, bytes, keys, description and oldest key (state
 * inspect). */
void ak_flow_inspect(const ak_flow_t *f, ak_buf_t *json);
size_t ak_flow_keys(const ak_flow_t *f);
/* Checkpoints.  A flow's state takes ak_flow_sections() consecutive
 * sections from `base`: its own (the clock, the previous result of a
 * statement re-evaluated whole, the kept result) and one per operator.
 * ak_flow_save writes all of it (full) or what changed since ak_flow_saved,
 * which the caller calls once the checkpoint is durable; every change
 * pushed must have been stepped.  ak_flow_load restores one record of
 * section `base + rel` into a flow built from the same statement. */
uint32_t ak_flow_sections(const ak_flow_t *f);
int ak_flow_save(ak_flow_t *f, bool full, const ak_state_out_t *out, uint32_t base, ak_err_t *err);
void ak_flow_saved(ak_flow_t *f);
int ak_flow_load(ak_flow_t *f, uint32_t rel, const void *key, size_t kn, const void *val, size_t vn, ak_err_t *err);

/* State compaction.  ak_flow_compaction arms it when it cannot change
 * the result as cut by a retention horizon on result column out_col: input
 * `input` feeds only a session window ordered by its column in_col, and
 * every row the window's sessions produce is either passed on as it is or
 * aggregated per session, with out_col being in_col or its MIN/MAX.  Then
 * a row whose sessions all lie behind the horizon has out_col behind it
 * too.  Returns 1 when armed, 0 with why set when not.
 * ak_flow_compact is a step without input changes (call it right after a
 * step): the window retracts the sessions that ended before horizon_us
 * (keeping what later rows need), and the result's changes, which the
 * retention horizon must cut entirely, are in ak_flow_changes.  A later
 * change that reaches the compacted rows fails a step with AK_E_BEHIND. */
int ak_flow_compaction(ak_flow_t *f, size_t input, int in_col, int out_col, char *why, size_t whycap);
int ak_flow_compact(ak_flow_t *f, int64_t horizon_us, ak_err_t *err);

typedef struct ak_flow_stats {
    uint64_t steps, rows_in, rows_out;
    int64_t busy_us;
} ak_flow_stats_t;
void ak_flow_stats(const ak_flow_t *f, ak_flow_stats_t *out);

#endif
