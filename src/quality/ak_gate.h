/* ak_gate.h - quality checks kept up to date with the candidate.
 *
 * Each check's SQL becomes a flow (ak_flow.h) whose {{ this }} input is fed
 * the transform's changes, and whose {{ ref() }} inputs get the same input
 * changes the transform gets.  A check like
 *   SELECT COUNT(*) FROM {{ this }} WHERE user_id IS NULL
 * then costs what the micro-batch changed, not the size of the table;
 * checks the operator graph cannot take are re-evaluated whole over a
 * snapshot of the candidate.  A check whose SQL cannot run fails (with why),
 * as in ak_quality.h.
 */
#ifndef AK_GATE_H
#define AK_GATE_H

#include "ak_flow.h"
#include "ak_manifest.h"
#include "ak_quality.h"

typedef struct ak_gate ak_gate_t;

/* inputs: the product's inputs ({{ ref() }}), as given to the transform's
 * flow; this_table: the candidate's shape, with a scan for whole
 * re-evaluation. */
int ak_gate_new(const ak_manifest_t *m, const ak_flow_input_t *inputs, size_t ninputs, const ak_sql_table_t *this_table,
                ak_sql_resolve_fn resolve_other, void *resolve_ctx, ak_gate_t **out, ak_err_t *err);
void ak_gate_free(ak_gate_t *g);
int ak_gate_push(ak_gate_t *g, size_t input, const ak_val_t *row, int64_t w, ak_err_t *err);
/* The candidate's changes. */
/* Whether some check reads input i itself (not only {{ this }}). */
bool ak_gate_reads(const ak_gate_t *g, size_t input);
int ak_gate_push_this(ak_gate_t *g, const ak_delta_t *d, ak_err_t *err);
/* Brings every check up to date (without evaluating results). */
int ak_gate_advance(ak_gate_t *g, int64_t now_us, ak_err_t *err);
/* Steps and fills results (m->quality.n_checks entries, freed with
 * ak_quality_results_free); *blocked when a critical check failed. */
int ak_gate_run(ak_gate_t *g, int64_t now_us, ak_check_result_t *results, bool *blocked, ak_err_t *err);
/* Whether a check reads the clock (results may change with no new data). */
bool ak_gate_clocked(const ak_gate_t *g);
void ak_gate_explain(const ak_gate_t *g, ak_buf_t *out);
size_t ak_gate_state_bytes(const ak_gate_t *g);
/* Checkpoints, as ak_flow_save/saved/load: the checks' flows, and which
 * checks broke while running (a broken check takes no more changes). */
uint32_t ak_gate_sections(const ak_gate_t *g);
int ak_gate_save(ak_gate_t *g, bool full, const ak_state_out_t *out, uint32_t base, ak_err_t *err);
void ak_gate_saved(ak_gate_t *g);
int ak_gate_load(ak_gate_t *g, uint32_t rel, const void *key, size_t kn, const void *val, size_t vn, ak_err_t *err);

#endif
