/* ak_dataflow.h - a product's transform, quality gate and serving sink,
 * wired to its input tables (internal to the engine).
 *
 * The input tables' listeners push every change into the transform's flow
 * and into the checks that read that input; a step of the dataflow steps
 * the transform, stages its changes in the sink and feeds them to the
 * checks as {{ this }} (cut at the retention horizon first, when the
 * output has one, so that expired rows leave every store).  The run decides, from the checks, whether to
 * publish what is staged.
 */
#ifndef AK_DATAFLOW_H
#define AK_DATAFLOW_H

#include "ak_engine_int.h"
#include "ak_flow.h"
#include "ak_gate.h"
#include "ak_retain.h"
#include "ak_store_sink.h"

typedef struct ak_dataflow {
    ak_product_rt_t *rt;
    ak_flow_t *flow;
    ak_gate_t *gate;
    ak_store_sink_t *sink;       /* set by the run (NULL for explain) */
    ak_flow_input_t *fin;
    struct ak_df_listener *lc;
    ak_store_index_t idx[16];
    int nidx;
    int key[AK_MAX_COLUMNS * 4];
    int nkey;
    bool key_declared;           /* output.primary_key, not derived */
    int64_t changes;             /* rows changed by the last step */
    ak_retain_t *retain;         /* output.retention (NULL: kept forever) */
    int retain_col;
    bool *wm_input;              /* per input: its cursor is the event time retention counts from */
    const char *retain_off;      /* why a declared retention is not applied, or NULL */
    /* state compaction behind the retention horizon (see ak_flow_compaction) */
    int compact_input;           /* the input compacted, or -1 */
    char compact_why[200];       /* when retention is applied but nothing compacts: why */
    bool compact_hold;           /* not now (a rebuild replays history first) */
    bool compacted;              /* compacted_to is set */
    int64_t compacted_to;        /* the horizon of the last compaction step */
    uint64_t compactions;
} ak_dataflow_t;

/* Compaction steps run when the horizon moved this far since the last. */
#define AK_COMPACT_EVERY_US (3600 * AK_US_PER_SEC)

/* Builds the flows over the runtime's tables (which must exist) and hooks
 * the tables' listeners. */
int ak__dataflow_new(ak_product_rt_t *rt, ak_dataflow_t *df, ak_err_t *err);
void ak__dataflow_free(ak_dataflow_t *df);
/* Opens the sink for the product's serving table. */
int ak__dataflow_sink(ak_dataflow_t *df, ak_store_t *store, ak_err_t *err);
/* One step: transform, staging, checks brought up to date. */
int ak__dataflow_step(ak_dataflow_t *df, int64_t now_us, ak_err_t *err);
/* Whether a step has something to do (changes, or a clock that moved). */
bool ak__dataflow_dirty(const ak_dataflow_t *df, int64_t now_us);
bool ak__dataflow_clocked(const ak_dataflow_t *df);
void ak__dataflow_explain(const ak_dataflow_t *df, ak_buf_t *out);
size_t ak__dataflow_state_bytes(const ak_dataflow_t *df);

#endif
