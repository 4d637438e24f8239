/* ak_engine.h - running data products: deploy (validate + record a
 * version), run (ingest -> transform -> quality gates -> publish) and
 * explain.
 *
 * A run works in micro-batches.  Each one polls every input until it is
 * idle (or for a bounded time), appends the new change records to the
 * input's log and applies them to its in-memory table, makes the logs
 * durable and commits the source positions (with the dead letters) in one
 * catalog transaction, and only then steps the transform's operators with
 * the changes (ak_dataflow.h), runs the quality checks on the changed
 * candidate and publishes the changes when no critical check fails.  A
 * crash anywhere loses nothing: the next run replays the committed logs
 * through the operators and publishes the result whole.
 */
#ifndef AK_ENGINE_H
#define AK_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "ak_buf.h"
#include "ak_catalog.h"
#include "ak_error.h"
#include "ak_manifest.h"

typedef struct ak_engine_opts {
    bool once;              /* drain what is there, evaluate, exit */
    int64_t interval_us;    /* continuous: how long to wait when idle before polling again (default 20 ms) */
    int64_t max_batches;    /* continuous: stop after this many evaluated batches (0: until signalled) */
    size_t batch_records;   /* records per poll call (default 4096) */
    bool progress;          /* print progress lines to stderr */
    int64_t checkpoint_us;  /* how often state is checkpointed (0: compute.checkpoint_interval) */
} ak_engine_opts_t;

typedef struct ak_run_summary {
    int64_t run_id;
    ak_run_status_t status;
    int64_t batches, records_in, deadletters, rows_out, published;
    char message[1024];
} ak_run_summary_t;

/* Runs the product's active version.  Returns 0 when the run itself worked
 * (even if quality gates blocked publishing: see sum->status), -1 when it
 * failed (err says why; the run is recorded as failed). */
int ak_engine_run(ak_catalog_t *cat, const char *product, const ak_engine_opts_t *o, ak_run_summary_t *sum,
                  ak_err_t *err);
/* Asks running loops to finish their micro-batch and stop (signal-safe). */
void ak_engine_request_stop(void);
bool ak_engine_stop_requested(void);

/* Validates the manifests in `dir` against the catalog (connections exist,
 * the SQL binds, the output schema matches, checks bind) and records them as
 * `version`, the product's active one.  A human summary goes to report. */
int ak_engine_deploy(ak_catalog_t *cat, const char *product, const char *version, const char *dir, ak_buf_t *report,
                     ak_err_t *err);

/* The active version's manifest. */
int ak_engine_manifest(ak_catalog_t *cat, const char *product, ak_manifest_t **out, char **version, ak_err_t *err);

/* Plan of the product's transform and how each part runs. */
int ak_engine_explain(ak_catalog_t *cat, const char *product, ak_buf_t *out, ak_err_t *err);

/* Forgets what the product consumed: logs and positions (the next run reads
 * every input from the start).  Published tables stay until that run. */
int ak_engine_reset(ak_catalog_t *cat, const char *product, ak_err_t *err);

/* The state report written with the product's last checkpoint (JSON:
 * checkpoint number, time, size on disk, and per holder its bytes, keys
 * and oldest key) into out; 1 when there is no checkpoint yet. */
int ak_engine_state_report(ak_catalog_t *cat, const char *product, ak_buf_t *out, ak_err_t *err);

/* Rebuilds the product's serving table from its Iceberg table (output.format:
 * iceberg) at snapshot_id (-1: the current one), in one transaction, with
 * the serving publish mark the snapshot carries (akili.commit-seq, version,
 * inputs, logs; a maintenance snapshot's, or one without, takes its
 * newest ancestor's), so the next run carries on from it as from its own
 * publish: a checkpoint at or before that commit is used, else the state
 * is rebuilt from the input logs.  Refused while a run holds the product,
 * and (unless force) when the serving table is at a newer commit. */
typedef struct ak_restore_report {
    int64_t snapshot_id, commit, rows, us;
    int64_t previous;        /* the serving table's commit before (-1: no table) */
    bool marked;             /* a serving mark was found */
} ak_restore_report_t;
int ak_engine_lake_restore(ak_catalog_t *cat, const char *product, int64_t snapshot_id, bool force,
                           ak_restore_report_t *rep, ak_err_t *err);

/* The clock for CURRENT_TIMESTAMP (AKILI_NOW or the wall clock). */
int ak_engine_now(int64_t *now_us, ak_err_t *err);

#endif
