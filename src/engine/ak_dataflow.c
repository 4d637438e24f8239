/* ak_dataflow.c - wiring a product's flows to its tables and sink. */
#include "ak_dataflow.h"

#include "ak_alloc.h"
#include "ak_io.h"
#include "ak_log.h"
#include "ak_parquet.h"
#include "ak_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ak_df_listener {
    ak_dataflow_t *df;
    size_t input;
};

static int on_change(void *ctx, const ak_val_t *old_row, const ak_val_t *new_row, ak_err_t *err)
{
    struct ak_df_listener *l = ctx;
    ak_dataflow_t *df = l->df;
    if (old_row && (ak_flow_push(df->flow, l->input, old_row, -1, err) ||
                    (df->gate && ak_gate_push(df->gate, l->input, old_row, -1, err))))
        return -1;
    if (new_row && (ak_flow_push(df->flow, l->input, new_row, 1, err) ||
                    (df->gate && ak_gate_push(df->gate, l->input, new_row, 1, err))))
        return -1;
    return 0;
}

static int sync_table(void *ctx, ak_err_t *err)
{
    const ak_rel_t *r;
    return ak_table_rel(ctx, &r, err);
}

/* {{ this }} for checks re-evaluated whole: the published rows plus what is
 * staged. */
static int scan_this(void *ctx, const ak_sql_pred_t *preds, int npreds, ak_rel_t **out, ak_err_t *err)
{
    ak_dataflow_t *df = ctx;
    (void)preds;
    (void)npreds;
    if (!df->sink)
        return ak_errf(err, AK_E_INTERNAL, "the candidate is not available");
    return ak_store_sink_snapshot(df->sink, out, err);
}

static int temporal_col(const ak_dataflow_t *df, const char *name, size_t n)
{
    int nc = ak_flow_ncols(df->flow);
    for (int c = 0; c < nc; c++)
        if (strlen(ak_flow_names(df->flow)[c]) == n && strncasecmp(ak_flow_names(df->flow)[c], name, n) == 0)
            return ak_type_is_temporal(ak_flow_types(df->flow)[c]) ? c : -2;
    return -1;
}

/* output.retention: which column's age counts, and from which event time. */
static int setup_retention(ak_dataflow_t *df, ak_err_t *err)
{
    const ak_product_rt_t *rt = df->rt;
    const ak_output_t *o = &rt->m->output;
    if (!o->has_retention)
        return 0;
    if (o->retention_policy != AK_RETENTION_DELETE) {
        df->retain_off = "`policy: archive` keeps every row in the serving store (archiving is done by the lake)";
        return 0;
    }
    int col = -1;
    if (o->retention_column) {
        col = temporal_col(df, o->retention_column, strlen(o->retention_column));
        if (col < 0)
            return ak_errf(err, AK_E_CONFIG, "output.retention.column `%s` is %s of the result", o->retention_column,
                           col == -1 ? "not a column" : "not a date or timestamp column");
    }
    /* a `<column>_date` (_day, _hour, ...) partition names it; else the first timestamp */
    for (size_t k = 0; col < 0 && k < o->n_partition_key; k++) {
        size_t base;
        if (ak_partition_derived(o->partition_key[k].name, &base) != AK_TU_INVALID &&
            (col = temporal_col(df, o->partition_key[k].name, base)) < 0)
            col = -1;
    }
    for (int c = 0; col < 0 && c < ak_flow_ncols(df->flow); c++)
        if (ak_flow_types(df->flow)[c] == AK_TIMESTAMP)
            col = c;
    for (int c = 0; col < 0 && c < ak_flow_ncols(df->flow); c++)
        if (ak_flow_types(df->flow)[c] == AK_DATE)
            col = c;
    if (col < 0) {
        df->retain_off = "the result has no date or timestamp column to measure age by";
        return 0;
    }
    if (!(df->wm_input = ak_calloc(rt->nin + 1, sizeof *df->wm_input)))
        return ak_err_nomem(err);
    bool from_output = true;
    for (size_t i = 0; i < rt->nin; i++) {
        const ak_input_t *d = rt->in[i].def;
        if (d->strategy == AK_STRATEGY_INCREMENTAL || !d->cursor_field)
            continue;
        for (int c = 0; c < d->schema.n; c++)
            if (strcasecmp(d->schema.cols[c].name, d->cursor_field) == 0 && ak_type_is_temporal(d->schema.cols[c].type))
                df->wm_input[i] = true;
        from_output &= !df->wm_input[i];
    }
    df->retain_col = col;
    return ak_retain_new(ak_flow_ncols(df->flow), col, o->retention_days * AK_US_PER_DAY, from_output,
                         &df->retain, err);
}

/* Compaction of the one stream input whose event time retention counts
 * from, when the flow can prove it invisible and nothing else (a check)
 * reads that input's rows. */
static void setup_compaction(ak_dataflow_t *df)
{
    df->compact_input = -1;
    if (!df->retain || !df->wm_input)
        return;
    const ak_product_rt_t *rt = df->rt;
    snprintf(df->compact_why, sizeof df->compact_why, "no stream input has a timestamp cursor");
    for (size_t i = 0; i < rt->nin; i++) {
        const ak_input_t *d = rt->in[i].def;
        if (!df->wm_input[i])
            continue;
        bool keyed = false;
        for (int c = 0; c < d->schema.n; c++)
            keyed |= d->schema.cols[c].key;
        if (keyed) {
            snprintf(df->compact_why, sizeof df->compact_why, "input `%s` has a primary key", d->name);
            continue;
        }
        if (ak_gate_reads(df->gate, i)) {
            snprintf(df->compact_why, sizeof df->compact_why, "a quality check reads input `%s`", d->name);
            continue;
        }
        const ak_table_t *t = rt->in[i].table;
        int col = -1;
        for (int c = 0; c < ak_table_ncols(t); c++)
            if (strcasecmp(ak_table_names(t)[c], d->cursor_field) == 0)
                col = c;
        if (col >= 0 && ak_flow_compaction(df->flow, i, col, df->retain_col, df->compact_why, sizeof df->compact_why)) {
            df->compact_input = (int)i;
            df->compact_why[0] = '\0';
            return;
        }
    }
}

int ak__dataflow_new(ak_product_rt_t *rt, ak_dataflow_t *df, ak_err_t *err)
{
    memset(df, 0, sizeof *df);
    df->rt = rt;
    const ak_manifest_t *m = rt->m;
    df->fin = ak_calloc(rt->nin + 1, sizeof *df->fin);
    df->lc = ak_calloc(rt->nin + 1, sizeof *df->lc);
    if (!df->fin || !df->lc)
        return ak_err_nomem(err);
    for (size_t i = 0; i < rt->nin; i++) {
        ak_table_t *t = rt->in[i].table;
        df->fin[i] = (ak_flow_input_t){AK_SQL_REF,
                                       rt->in[i].def->name,
                                       {ak_table_ncols(t), ak_table_names(t), ak_table_types(t), ak_table_rows_rel(t),
                                        NULL, NULL},
                                       sync_table,
                                       t};
    }
    const char *names[AK_MAX_COLUMNS * 4];
    ak_type_t types[AK_MAX_COLUMNS * 4];
    size_t nout = m->output.n_schema;
    for (size_t i = 0; i < nout && i < AK_MAX_COLUMNS * 4; i++) {
        names[i] = m->output.schema[i].name;
        types[i] = m->output.schema[i].type;
    }
    ak_flow_opts_t o = {.sql = m->transform.sql,
                        .origin = m->transform.file,
                        .line_base = m->transform.line,
                        .resolve_other = rt->tables ? ak_tables_resolve : NULL,
                        .resolve_ctx = rt->tables,
                        .ncols = (int)nout,
                        .names = names,
                        .types = types,
                        .no_graph = getenv("AKILI_NO_INCREMENTAL") && *getenv("AKILI_NO_INCREMENTAL")};
    if (ak_flow_new(&o, df->fin, rt->nin, &df->flow, err))
        return ak_err_prefix(err, "%s", m->transform.file ? m->transform.file : "transform");
    /* the key rows are replaced by: declared, or the GROUP BY's */
    int nc = ak_flow_ncols(df->flow);
    const char *const *on = ak_flow_names(df->flow);
    for (size_t k = 0; k < m->output.n_primary_key; k++)
        for (int c = 0; c < nc; c++)
            if (strcasecmp(on[c], m->output.primary_key[k]) == 0)
                df->key[df->nkey++] = c;
    if (df->nkey && df->nkey == (int)m->output.n_primary_key)
        df->key_declared = true;
    else
        df->nkey = ak_flow_key(df->flow, df->key);
    if (setup_retention(df, err))
        return -1;
    ak_sql_table_t this_t = {nc, on, ak_flow_types(df->flow), NULL, scan_this, df};
    if (ak_gate_new(m, df->fin, rt->nin, &this_t, rt->tables ? ak_tables_resolve : NULL, rt->tables, &df->gate, err))
        return -1;
    setup_compaction(df);
    for (size_t i = 0; i < rt->nin; i++) {
        df->lc[i] = (struct ak_df_listener){df, i};
        ak_table_set_listener(rt->in[i].table, on_change, &df->lc[i]);
    }
    df->nidx = ak__serving_indexes(m, on, nc, df->idx, 16);
    return 0;
}

int ak__serving_indexes(const ak_manifest_t *m, const char *const *names, int nc, ak_store_index_t *idx, int cap)
{
    int n = 0;
    for (size_t i = 0; i < m->serving.n_modes; i++)
        for (size_t k = 0; k < m->serving.modes[i].n_indexes && n < cap - 1; k++) {
            const ak_index_t *ix = &m->serving.modes[i].indexes[k];
            idx[n++] = (ak_store_index_t){(const char *const *)ix->columns, (int)ix->n_columns,
                                          ix->type == AK_INDEX_UNIQUE};
        }
    bool lookup = false;
    for (size_t i = 0; i < m->serving.n_modes; i++)
        lookup |= m->serving.modes[i].intent == AK_INTENT_LOOKUP;
    if (lookup && nc) {
        if (m->output.n_primary_key)
            idx[n++] = (ak_store_index_t){(const char *const *)m->output.primary_key, (int)m->output.n_primary_key,
                                          false};
        else
            idx[n++] = (ak_store_index_t){&names[0], 1, false};
    }
    return n;
}

void ak__dataflow_free(ak_dataflow_t *df)
{
    if (df->rt)
        for (size_t i = 0; i < df->rt->nin; i++)
            if (df->rt->in[i].table)
                ak_table_set_listener(df->rt->in[i].table, NULL, NULL);
    ak_store_sink_free(df->sink);
    ak_retain_free(df->retain);
    ak_free(df->wm_input);
    ak_gate_free(df->gate);
    ak_flow_free(df->flow);
    ak_free(df->fin);
    ak_free(df->lc);
    memset(df, 0, sizeof *df);
}

int ak__dataflow_sink(ak_dataflow_t *df, ak_store_t *store, ak_err_t *err)
{
    ak_store_sink_opts_t so = {store,
                               df->rt->prod.name,
                               ak_flow_ncols(df->flow),
                               ak_flow_names(df->flow),
                               ak_flow_types(df->flow),
                               df->idx,
                               df->nidx,
                               df->key,
                               df->nkey};
    if (ak_store_sink_new(&so, &df->sink, err))
        return -1;
    const ak_output_t *o = &df->rt->m->output;
    if (o->format != AK_OUTPUT_ICEBERG)
        return 0;
    /* the lake table follows the serving one, publish by publish */
    ak_lake_loc_t loc;
    if (ak_lake_locate(o, ak_catalog_home(df->rt->cat), df->rt->prod.namespace_, df->rt->prod.name, &loc, err))
        return -1;
    const char **pk = ak_calloc(o->n_partition_key + 1, sizeof *pk);
    if (!pk) {
        ak_lake_loc_free(&loc);
        return ak_err_nomem(err);
    }
    for (size_t i = 0; i < o->n_partition_key; i++)
        pk[i] = o->partition_key[i].name;
    ak_lake_sink_opts_t lo = {.loc = &loc,
                              .ncols = so.ncols,
                              .names = so.names,
                              .types = so.types,
                              .partition_key = pk,
                              .n_partition_key = o->n_partition_key,
                              .codec = o->lake.codec == AK_LAKE_SNAPPY         ? AK_PQ_SNAPPY
                                       : o->lake.codec == AK_LAKE_UNCOMPRESSED ? AK_PQ_UNCOMPRESSED
                                                                               : AK_PQ_ZSTD,
                              .retention_column = df->retain ? so.names[df->retain_col] : NULL,
                              .maint = {o->lake.compaction, o->lake.compact_files, o->lake.target_file_bytes,
                                        o->lake.snapshot_age_us, o->lake.keep_snapshots, o->lake.expire_every_us}};
    /* the table's sort order: the serving sort key, where its columns are output columns */
    const ak_manifest_t *mf = df->rt->m;
    for (size_t i = 0; i < mf->serving.n_modes && !lo.n_sort_key; i++)
        for (size_t k = 0; k < mf->serving.modes[i].n_indexes && !lo.n_sort_key; k++) {
            const ak_index_t *ix = &mf->serving.modes[i].indexes[k];
            bool fits = ix->type == AK_INDEX_SORT_KEY && ix->n_columns > 0;
            for (size_t c = 0; c < ix->n_columns && fits; c++) {
                fits = false;
                for (int j = 0; j < so.ncols; j++)
                    fits |= strcmp(ix->columns[c], so.names[j]) == 0;
            }
            if (fits) {
                lo.sort_key = (const char *const *)ix->columns;
                lo.n_sort_key = ix->n_columns;
            }
        }
    ak_lake_sink_t *lake;
    ak_err_t le;
    if (ak_lake_sink_open(&lo, &lake, &le) == 0)
        ak_store_sink_set_lake(df->sink, lake);
    else /* the serving table is the truth: it goes on; a later run catches the lake up */
        ak_log_warn(df->rt->prod.name, "%s; this run publishes to the serving table only", le.msg);
    ak_lake_loc_free(&loc);
    ak_free(pk);
    return 0;
}

/* A compaction step once the horizon (the retention horizon, or the
 * newest event time minus compute.allowed_lateness when that is older) has
 * moved an hour: the session window retracts the sessions behind it, the
 * retention filter must cut every resulting change (checked: a change that
 * got through would be a row the state can no longer keep right), and the
 * input table drops its rows behind it. */
static int compact(ak_dataflow_t *df, ak_err_t *err)
{
    if (df->compact_input < 0 || df->compact_hold)
        return 0;
    int64_t h = ak_retain_horizon(df->retain), wm;
    ak_table_t *t = df->rt->in[df->compact_input].table;
    int64_t late = df->rt->m->compute.lateness_us;
    if (h == INT64_MIN || !ak_table_newest(t, &wm))
        return 0;
    if (late > 0 && wm - late < h)
        h = wm - late;
    if (df->compacted && h < df->compacted_to + AK_COMPACT_EVERY_US)
        return 0;
    const ak_delta_t *d;
    if (ak_flow_compact(df->flow, h, err) || ak_retain_apply(df->retain, ak_flow_changes(df->flow), &d, err))
        return ak_err_prefix(err, "compacting state");
    if (d->n)
        return ak_errf(err, AK_E_INTERNAL, "compacting state changed %zu result rows inside the retention period", d->n);
    ak_io_crash_point("compact");
    if (ak_table_forget(t, h, err))
        return -1;
    df->compacted = true;
    df->compacted_to = h;
    df->compactions++;
    return 0;
}

int ak__dataflow_step(ak_dataflow_t *df, int64_t now_us, ak_err_t *err)
{
    df->changes = 0;
    if (ak_flow_step(df->flow, now_us, err))
        return ak_err_prefix(err, "evaluating the transform");
    const ak_delta_t *d = ak_flow_changes(df->flow);
    if (df->retain) {
        for (size_t i = 0; i < df->rt->nin; i++) {
            int64_t us;
            if (df->wm_input[i] && ak_table_newest(df->rt->in[i].table, &us))
                ak_retain_watermark(df->retain, us);
        }
        if (ak_retain_apply(df->retain, d, &d, err))
            return ak_err_prefix(err, "output retention");
        if (df->sink)
            ak_store_sink_horizon(df->sink, ak_retain_horizon(df->retain));
    }
    df->changes = (int64_t)d->n;
    if (df->sink && ak_store_sink_stage(df->sink, d, err))
        return -1;
    if (ak_gate_push_this(df->gate, d, err) || ak_gate_advance(df->gate, now_us, err))
        return -1;
    return compact(df, err);
}

bool ak__dataflow_dirty(const ak_dataflow_t *df, int64_t now_us) { return ak_flow_dirty(df->flow, now_us); }

bool ak__dataflow_clocked(const ak_dataflow_t *df) { return ak_flow_clocked(df->flow) || ak_gate_clocked(df->gate); }

void ak__dataflow_explain(const ak_dataflow_t *df, ak_buf_t *out)
{
    const char *why;
    if (ak_flow_incremental(df->flow, &why)) {
        ak_buf_puts(out, "transform: incremental; each micro-batch costs what its changes touch.\n"
                         "operators (inputs first):\n");
        ak_buf_t tmp = AK_BUF_INIT;
        ak_flow_explain(df->flow, &tmp);
        ak_buf_put_indented(out, tmp.data, "  ");
        ak_buf_free(&tmp);
    } else {
        ak_buf_printf(out, "transform: re-evaluated whole on every micro-batch with changes, because %s\n", why);
    }
    if (df->retain) {
        const ak_output_t *o = &df->rt->m->output;
        ak_buf_printf(out, "retention: rows whose `%s` is more than %lld days before ", ak_flow_names(df->flow)[df->retain_col],
                      (long long)o->retention_days);
        bool any = false;
        for (size_t i = 0; i < df->rt->nin; i++)
            if (df->wm_input[i]) {
                ak_buf_printf(out, "%s`%s.%s`", any ? " or " : "the newest ", df->rt->in[i].def->name,
                              df->rt->in[i].def->cursor_field);
                any = true;
            }
        if (!any)
            ak_buf_printf(out, "its newest value");
        ak_buf_puts(out, " consumed leave every store, and their state\n");
        if (df->compact_input >= 0) {
            const ak_input_t *d = df->rt->in[df->compact_input].def;
            int64_t late = df->rt->m->compute.lateness_us;
            ak_buf_printf(out, "state compaction: input `%s` and the session window drop sessions that ended before "
                               "the retention horizon", d->name);
            if (late > o->retention_days * AK_US_PER_DAY)
                ak_buf_printf(out, " (or %.0f hours before the newest `%s`: compute.allowed_lateness)",
                              (double)late / AK_US_PER_HOUR, d->cursor_field);
            ak_buf_puts(out, "; a change older than that rebuilds the state from the input logs\n");
        } else if (df->compact_why[0]) {
            ak_buf_printf(out, "state compaction: none (%s)\n", df->compact_why);
        }
    } else if (df->retain_off) {
        ak_buf_printf(out, "retention: not applied: %s\n", df->retain_off);
    }
    if (df->nkey) {
        ak_buf_puts(out, "changes reach the serving table as upserts and deletes by key (");
        for (int i = 0; i < df->nkey; i++)
            ak_buf_printf(out, "%s%s", i ? ", " : "", ak_flow_names(df->flow)[df->key[i]]);
        ak_buf_printf(out, "%s)\n", df->key_declared ? ", output.primary_key" : ", the GROUP BY keys");
    } else {
        ak_buf_puts(out, "changes reach the serving table as row inserts and deletes (the output has no key)\n");
    }
    ak_buf_puts(out, "\nquality gates (incremental over the candidate's changes where possible):\n");
    ak_gate_explain(df->gate, out);
}

size_t ak__dataflow_state_bytes(const ak_dataflow_t *df)
{
    return ak_flow_state_bytes(df->flow) + ak_gate_state_bytes(df->gate) + (df->retain ? ak_retain_bytes(df->retain) : 0) +
           (df->sink ? ak_store_sink_bytes(df->sink) : 0);
}
