/* ak_flow.c - stepping a statement's operator graph, or re-evaluating it. */
#include "ak_flow.h"

#include "ak_alloc.h"
#include "ak_graph.h"
#include "ak_ser.h"
#include "ak_sql_plan.h"
#include "ak_time.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct ak_flow {
    ak_sql_stmt_t *st;
    ak_flow_input_t *in;
    size_t nin;
    ak_op_t **src;           /* per input: its source operator (NULL: not read) */
    bool *reads;
    ak_sql_resolve_fn resolve_other;
    void *resolve_ctx;
    ak_graph_t g;
    bool graph;
    char why[300];
    ak_intern_t strs;
    ak_opcx_t cx;
    ak_err_t cx_err;
    int64_t last_now;
    bool first;
    bool pushed;
    bool clock;              /* the statement reads the clock */
    /* the result's columns */
    int ncols;
    char **names;
    ak_type_t *types;
    int *map;                /* result column -> SQL column */
    bool same;               /* the SQL's columns as they are */
    ak_val_t *row;
    ak_delta_t changes;
    ak_kbag_t *prev;         /* whole re-evaluation: the previous result */
    ak_kbag_t *result;       /* keep_result */
    ak_flow_stats_t stats;
    ak_op_t *compactor;      /* the session operator armed for compaction, or NULL */
};

static int resolve(void *ctx, ak_sql_name_kind_t kind, const char *schema, const char *name, ak_sql_table_t *out,
                   ak_err_t *err)
{
    ak_flow_t *f = ctx;
    for (size_t i = 0; i < f->nin; i++) {
        const ak_flow_input_t *in = &f->in[i];
        if (in->kind != kind)
            continue;
        if (kind == AK_SQL_THIS || (!schema && name && strcasecmp(name, in->name) == 0)) {
            *out = in->table;
            return 0;
        }
    }
    if (!f->resolve_other)
        return 1;
    return f->resolve_other(f->resolve_ctx, kind, schema, name, out, err);
}

static ak_op_t *source_for(void *ctx, const ak_plan_t *scan, const ak_sql_scan_info_t *info, char *why, size_t cap,
                           ak_err_t *err)
{
    ak_flow_t *f = ctx;
    for (size_t i = 0; info && i < f->nin; i++) {
        const ak_flow_input_t *in = &f->in[i];
        if (in->kind != info->kind)
            continue;
        if (info->kind != AK_SQL_THIS && (info->schema || strcasecmp(info->name, in->name) != 0))
            continue;
        if (scan->ncols != in->table.ncols) {
            snprintf(why, cap, "input `%s` is scanned with another shape", in->name);
            return NULL;
        }
        if (!f->src[i] && !(f->src[i] = ak_op_source_new(scan, in->name, err)))
            return NULL;
        f->reads[i] = true;
        return f->src[i];
    }
    snprintf(why, cap, "it reads `%s%s%s`, which is not an input of this product", info && info->schema ? info->schema : "",
             info && info->schema ? "." : "", info && info->name ? info->name : "?");
    return NULL;
}

static int set_columns(ak_flow_t *f, const ak_flow_opts_t *o, ak_err_t *err)
{
    int n = o->ncols ? o->ncols : ak_sql_stmt_ncols(f->st);
    f->ncols = n;
    f->names = ak_calloc((size_t)(n + 1), sizeof *f->names);
    f->types = ak_calloc((size_t)(n + 1), sizeof *f->types);
    f->map = ak_calloc((size_t)(n + 1), sizeof *f->map);
    f->row = ak_calloc((size_t)(n + 1), sizeof *f->row);
    if (!f->names || !f->types || !f->map || !f->row)
        return ak_err_nomem(err);
    f->same = n == ak_sql_stmt_ncols(f->st);
    for (int i = 0; i < n; i++) {
        const char *name = o->ncols ? o->names[i] : ak_sql_stmt_name(f->st, i);
        f->map[i] = i;
        if (o->ncols) {
            f->map[i] = -1;
            for (int k = 0; k < ak_sql_stmt_ncols(f->st); k++)
                if (strcasecmp(ak_sql_stmt_name(f->st, k), name) == 0) {
                    f->map[i] = k;
                    break;
                }
            if (f->map[i] < 0)
                return ak_errf(err, AK_E_CONFIG, "the transform does not produce output column `%s`", name);
        }
        f->types[i] = o->ncols ? o->types[i] : ak_sql_stmt_type(f->st, i);
        if (!(f->names[i] = ak_strdup(name)))
            return ak_err_nomem(err);
        f->same = f->same && f->map[i] == i && f->types[i] == ak_sql_stmt_type(f->st, i);
    }
    return 0;
}

int ak_flow_new(const ak_flow_opts_t *o, const ak_flow_input_t *inputs, size_t ninputs, ak_flow_t **out,
                ak_err_t *err)
{
    *out = NULL;
    ak_flow_t *f = ak_calloc(1, sizeof *f);
    if (!f)
        return ak_err_nomem(err);
    f->nin = ninputs;
    f->first = true;
    f->resolve_other = o->resolve_other;
    f->resolve_ctx = o->resolve_ctx;
    ak_intern_init(&f->strs);
    ak_arena_init(&f->cx.x.arena, 64 * 1024);
    ak_delta_init(&f->changes, 0);
    f->in = ak_calloc(ninputs + 1, sizeof *f->in);
    f->src = ak_calloc(ninputs + 1, sizeof *f->src);
    f->reads = ak_calloc(ninputs + 1, sizeof *f->reads);
    if (!f->in || !f->src || !f->reads) {
        ak_flow_free(f);
        return ak_err_nomem(err);
    }
    memcpy(f->in, inputs, sizeof *inputs * ninputs);
    ak_sql_env_t env = {resolve, f, 0, o->origin ? o->origin : "transform", o->line_base ? o->line_base : 1};
    if (ak_sql_prepare(o->sql, strlen(o->sql), &env, &f->st, err) || set_columns(f, o, err)) {
        ak_flow_free(f);
        return -1;
    }
    ak_delta_init(&f->changes, f->ncols);
    f->clock = ak_plan_reads_clock(f->st);
    int rc = 1;
    if (o->no_graph)
        snprintf(f->why, sizeof f->why, "incremental evaluation is off");
    else
        rc = ak_graph_build(f->st, source_for, f, &f->g, f->why, sizeof f->why, err);
    if (rc < 0) {
        ak_flow_free(f);
        return -1;
    }
    f->graph = rc == 0;
    if (!f->graph) {
        /* re-evaluated whole: every input the statement scans is read */
        for (size_t i = 0; i < ninputs; i++) {
            ak_op_free(f->src[i]);
            f->src[i] = NULL;
            f->reads[i] = false;
        }
        const ak_sql_scan_info_t *scans;
        int ns;
        ak_sql_stmt_scans(f->st, &scans, &ns);
        for (int s = 0; s < ns; s++)
            for (size_t i = 0; i < ninputs; i++)
                if (scans[s].kind == inputs[i].kind &&
                    (scans[s].kind == AK_SQL_THIS || (!scans[s].schema && strcasecmp(scans[s].name, inputs[i].name) == 0)))
                    f->reads[i] = true;
        if (!(f->prev = ak_kbag_new(0, f->ncols))) {
            ak_flow_free(f);
            return ak_err_nomem(err);
        }
    }
    if (o->keep_result && !(f->result = ak_kbag_new(0, f->ncols))) {
        ak_flow_free(f);
        return ak_err_nomem(err);
    }
    f->cx.strs = &f->strs;
    f->cx.err = &f->cx_err;
    f->cx.x.st = f->st;
    f->cx.x.err = &f->cx_err;
    f->cx.x.cx.arena = &f->cx.x.arena;
    f->cx.x.cx.err = &f->cx_err;
    f->cx.x.cx.exec = &f->cx.x;
    *out = f;
    return 0;
}

void ak_flow_free(ak_flow_t *f)
{
    if (!f)
        return;
    ak_graph_free(&f->g);
    for (size_t i = 0; f->src && i < f->nin; i++)
        ak_op_free(f->src[i]);
    ak_free(f->src);
    ak_free(f->reads);
    ak_free(f->in);
    ak_sql_stmt_free(f->st);
    for (int i = 0; f->names && i < f->ncols; i++)
        ak_free(f->names[i]);
    ak_free(f->names);
    ak_free(f->types);
    ak_free(f->map);
    ak_free(f->row);
    ak_delta_free(&f->changes);
    ak_kbag_free(f->prev);
    ak_kbag_free(f->result);
    ak_arena_free(&f->cx.x.arena);
    ak_free(f->cx.x.cache);
    ak_intern_free(&f->strs);
    ak_free(f);
}

bool ak_flow_reads(const ak_flow_t *f, size_t input) { return input < f->nin && f->reads[input]; }

int ak_flow_push(ak_flow_t *f, size_t input, const ak_val_t *row, int64_t w, ak_err_t *err)
{
    if (input >= f->nin || !f->reads[input] || w == 0)
        return 0;
    f->pushed = true;
    if (f->src[input] && ak_op_source_push(f->src[input], row, w))
        return ak_err_nomem(err);
    return 0;
}

int ak_flow_push_delta(ak_flow_t *f, size_t input, const ak_delta_t *d, ak_err_t *err)
{
    for (size_t i = 0; i < d->n; i++)
        if (ak_flow_push(f, input, ak_delta_row(d, i), d->w[i], err))
            return -1;
    return 0;
}

bool ak_flow_dirty(const ak_flow_t *f, int64_t now_us)
{
    return f->first || f->pushed || (f->clock && now_us != f->last_now);
}

/* Casts and orders one SQL result row into f->row. */
static int conform(ak_flow_t *f, const ak_val_t *src, const ak_val_t **out, ak_err_t *err)
{
    if (f->same) {
        *out = src;
        return 0;
    }
    for (int i = 0; i < f->ncols; i++) {
        const ak_val_t *v = &src[f->map[i]];
        if (v->type == AK_NULL || v->type == f->types[i]) {
            f->row[i] = *v;
            continue;
        }
        if (ak_sql_cast(v, f->types[i], &f->cx.x.arena, &f->row[i], err))
            return ak_err_prefix(err, "output column `%s`", f->names[i]);
        if (ak_intern(&f->strs, &f->row[i]))
            return ak_err_nomem(err);
    }
    *out = f->row;
    return 0;
}

static int step_graph(ak_flow_t *f, ak_err_t *err)
{
    ak_opcx_t *cx = &f->cx;
    for (size_t i = 0; i < f->nin; i++)
        if (f->src[i] && ak_op_step(f->src[i], cx))
            goto fail;
    for (size_t k = 0; k < f->g.nops; k++) {
        ak_op_t *op = f->g.ops[k];
        bool run = cx->first || (op->clocked && cx->clock_moved) || (cx->compacting && op->vt->compact);
        for (int i = 0; i < op->nin && !run; i++)
            run = op->in[i]->out.n > 0;
        if (!run) {
            ak_delta_clear(&op->out);
            continue;
        }
        if (ak_op_step(op, cx))
            goto fail;
    }
    const ak_delta_t *d = &f->g.root->out;
    for (size_t r = 0; r < d->n; r++) {
        const ak_val_t *row;
        if (conform(f, ak_delta_row(d, r), &row, err) || ak_delta_add(&f->changes, row, d->w[r]))
            return err->code ? -1 : ak_err_nomem(err);
    }
    /* a source that was not stepped in a graph would hold its rows: clear */
    for (size_t i = 0; i < f->nin; i++)
        if (f->src[i])
            ak_delta_clear(&f->src[i]->out);
    return 0;
fail:
    *err = f->cx_err;
    return -1;
}

static int step_whole(ak_flow_t *f, ak_err_t *err)
{
    for (size_t i = 0; i < f->nin; i++)
        if (f->reads[i] && f->in[i].sync && f->in[i].sync(f->in[i].sync_ctx, err))
            return -1;
    ak_sql_stmt_set_now(f->st, f->cx.now_us);
    ak_rel_t *res;
    if (ak_sql_execute(f->st, &res, err))
        return -1;
    uint32_t g = ak_kbag_group(f->prev, NULL, false);
    size_t n = g == UINT32_MAX ? 0 : ak_kbag_size(f->prev, g);
    for (size_t i = 0; i < n; i++) {
        uint32_t e = ak_kbag_entries(f->prev, g)[i];
        if (ak_delta_add(&f->changes, ak_kbag_row(f->prev, e), -ak_kbag_count(f->prev, e)))
            goto nomem;
    }
    /* emptied in place (not replaced), so checkpoints see the removals */
    if (ak_kbag_clear(f->prev) || (g = ak_kbag_group(f->prev, NULL, true)) == AK_KBAG_OOM)
        goto nomem;
    for (size_t r = 0; r < res->nrows; r++) {
        ak_val_t *src = ak_rel_row(res, r);
        for (int c = 0; c < res->ncols; c++)
            if (ak_intern(&f->strs, &src[c]))
                goto nomem;
        const ak_val_t *row;
        uint32_t e;
        if (conform(f, src, &row, err)) {
            ak_rel_free(res);
            return -1;
        }
        if (ak_kbag_add(f->prev, g, row, 1, &e) || ak_delta_add(&f->changes, row, 1))
            goto nomem;
    }
    ak_rel_free(res);
    return 0;
nomem:
    ak_rel_free(res);
    return ak_err_nomem(err);
}

int ak_flow_step(ak_flow_t *f, int64_t now_us, ak_err_t *err)
{
    ak_delta_clear(&f->changes);
    if (!ak_flow_dirty(f, now_us))
        return 0;
    int64_t t0 = ak_mono_us();
    ak_opcx_t *cx = &f->cx;
    ak_arena_reset(&cx->x.arena);
    ak_err_clear(&f->cx_err);
    cx->now_us = now_us;
    cx->prev_now_us = f->last_now;
    cx->clock_moved = !f->first && now_us != f->last_now;
    cx->first = f->first;
    cx->x.cx.now_us = now_us;
    int rc = f->graph ? step_graph(f, err) : step_whole(f, err);
    if (rc)
        return -1;
    if (ak_delta_consolidate(&f->changes))
        return ak_err_nomem(err);
    if (f->result) {
        uint32_t g = ak_kbag_group(f->result, NULL, true), e;
        if (g == AK_KBAG_OOM)
            return ak_err_nomem(err);
        for (size_t i = 0; i < f->changes.n; i++) {
            if (ak_kbag_add(f->result, g, ak_delta_row(&f->changes, i), f->changes.w[i], &e))
                return ak_err_nomem(err);
            if (!ak_kbag_size(f->result, g) && (g = ak_kbag_group(f->result, NULL, true)) == AK_KBAG_OOM)
                return ak_err_nomem(err);
        }
    }
    f->first = false;
    f->pushed = false;
    f->last_now = now_us;
    f->stats.steps++;
    f->stats.rows_out += f->changes.n;
    f->stats.busy_us += ak_mono_us() - t0;
    return 0;
}

const ak_delta_t *ak_flow_changes(const ak_flow_t *f) { return &f->changes; }

/* ---- compaction ---- */

/* Follows column `col` of op down to operator `to`: true when it is to's
 * column *to_col passed through; *how becomes AK_ORIGIN_EXTREME when a
 * MIN or MAX is on the way. */
static bool trace(const ak_op_t *op, int col, const ak_op_t *to, int *to_col, int *how)
{
    *how = AK_ORIGIN_SAME;
    while (op != to) {
        int in, ic, h;
        if (!op->vt->origin || !op->vt->origin(op, col, &in, &ic, &h) || in >= op->nin)
            return false;
        if (h == AK_ORIGIN_EXTREME)
            *how = h;
        op = op->in[in];
        col = ic;
    }
    *to_col = col;
    return true;
}

/* The operator reading op (exactly one, through one input), or NULL. */
static ak_op_t *only_consumer(const ak_flow_t *f, const ak_op_t *op)
{
    ak_op_t *found = NULL;
    for (size_t k = 0; k < f->g.nops; k++)
        for (int i = 0; i < f->g.ops[k]->nin; i++)
            if (f->g.ops[k]->in[i] == op) {
                if (found)
                    return NULL;
                found = f->g.ops[k];
            }
    return found;
}

int ak_flow_compaction(ak_flow_t *f, size_t input, int in_col, int out_col, char *why, size_t whycap)
{
#define NOPE(...) return snprintf(why, whycap, __VA_ARGS__), 0
    if (!f->graph)
        NOPE("the transform is re-evaluated whole");
    const ak_op_t *src = input < f->nin ? f->src[input] : NULL;
    ak_op_t *s = src ? only_consumer(f, src) : NULL;
    ak_session_info_t si;
    if (!s || !ak_op_session_info(s, &si) || si.ord_in_col != in_col)
        NOPE("only a session window over the input, ordered by its cursor, is compacted");
    /* every operator from the session window to the result passes its
     * rows on one by one, and every GROUP BY keeps sessions apart */
    for (const ak_op_t *op = s; op != f->g.root;) {
        const ak_op_t *next = only_consumer(f, op);
        if (!next)
            NOPE("the session window's rows are read by more than one operator");
        op = next;
        if (op->plan->kind != P_AGG)
            continue;
        bool seen[65] = {false}; /* the partition key columns, then the sum */
        for (int g = 0; g < op->plan->ngroups; g++) {
            int c, how;
            if (!trace(op, g, s, &c, &how) || how != AK_ORIGIN_SAME)
                continue;
            seen[si.npart] |= c == si.sum_col;
            for (int p = 0; p < si.npart; p++)
                seen[p] |= si.part_out[p] >= 0 && c == si.part_out[p];
        }
        bool all = true;
        for (int p = 0; p <= si.npart; p++)
            all &= seen[p];
        if (!all)
            NOPE("a GROUP BY after the session window does not group by its partition key and session number");
    }
    int c, how;
    int sql_col = f->same ? out_col : f->map[out_col];
    if (!trace(f->g.root, sql_col, src, &c, &how) || c != in_col)
        NOPE("the retention column is not the input's cursor column (or its MIN or MAX per session)");
    ak_op_session_arm(s);
    f->compactor = s;
    return 1;
#undef NOPE
}

int ak_flow_compact(ak_flow_t *f, int64_t horizon_us, ak_err_t *err)
{
    ak_delta_clear(&f->changes);
    if (!f->compactor || f->pushed)
        return 0;
    int64_t t0 = ak_mono_us();
    ak_opcx_t *cx = &f->cx;
    ak_arena_reset(&cx->x.arena);
    ak_err_clear(&f->cx_err);
    cx->clock_moved = false;
    cx->first = false;
    cx->compacting = true;
    cx->horizon_us = horizon_us;
    int rc = step_graph(f, err);
    cx->compacting = false;
    if (rc)
        return -1;
    if (ak_delta_consolidate(&f->changes))
        return ak_err_nomem(err);
    f->stats.busy_us += ak_mono_us() - t0;
    return 0;
}
int ak_flow_ncols(const ak_flow_t *f) { return f->ncols; }
const char *const *ak_flow_names(const ak_flow_t *f) { return (const char *const *)f->names; }
const ak_type_t *ak_flow_types(const ak_flow_t *f) { return f->types; }

int ak_flow_result(const ak_flow_t *f, ak_rel_t **out, ak_err_t *err)
{
    *out = NULL;
    if (!f->result)
        return ak_errf(err, AK_E_INTERNAL, "the flow does not keep its result");
    ak_rel_t *r = ak_rel_new(f->ncols, (const char *const *)f->names, f->types);
    if (!r)
        return ak_err_nomem(err);
    uint32_t g = ak_kbag_group(f->result, NULL, false);
    size_t n = g == UINT32_MAX ? 0 : ak_kbag_size(f->result, g);
    for (size_t i = 0; i < n; i++) {
        uint32_t e = ak_kbag_entries(f->result, g)[i];
        for (int64_t c = ak_kbag_count(f->result, e); c > 0; c--) {
            ak_val_t *o = ak_rel_push_n(r, 1);
            if (!o) {
                ak_rel_free(r);
                return ak_err_nomem(err);
            }
            memcpy(o, ak_kbag_row(f->result, e), sizeof *o * (size_t)f->ncols);
        }
    }
    *out = r;
    return 0;
}

bool ak_flow_clocked(const ak_flow_t *f) { return f->clock; }

int ak_flow_key(const ak_flow_t *f, int *cols)
{
    /* follow the result's columns down to a GROUP BY */
    int n = ak_sql_stmt_ncols(f->st);
    int map[1024];
    if (n > 1024)
        return 0;
    for (int i = 0; i < n; i++)
        map[i] = i; /* map[result column] = column of the current node */
    const ak_plan_t *p = f->st->root;
    for (int depth = 0; p && depth < 64; depth++) {
        if (p->kind == P_AGG && !p->scalar_agg)
            break;
        if (p->kind == P_PROJECT) {
            for (int i = 0; i < n; i++)
                if (map[i] >= 0)
                    map[i] = p->exprs[map[i]]->kind == EX_COL ? p->exprs[map[i]]->col : -1;
            p = p->child;
        } else if (p->kind == P_TRIM || p->kind == P_FILTER || p->kind == P_SORT) {
            p = p->child;
        } else if (p->kind == P_CTE) {
            p = f->st->ctes[p->cte].plan;
        } else {
            return 0;
        }
    }
    if (!p || p->kind != P_AGG || p->scalar_agg)
        return 0;
    int nk = 0;
    for (int g = 0; g < p->ngroups; g++) {
        int found = -1;
        for (int i = 0; i < f->ncols && found < 0; i++)
            if (map[f->map[i]] == g)
                found = i;
        if (found < 0)
            return 0;
        cols[nk++] = found;
    }
    return nk;
}

bool ak_flow_incremental(const ak_flow_t *f, const char **why)
{
    if (why)
        *why = f->graph ? NULL : f->why;
    return f->graph;
}

size_t ak_flow_state_bytes(const ak_flow_t *f)
{
    size_t b = ak_intern_bytes(&f->strs);
    for (size_t k = 0; k < f->g.nops; k++)
        b += f->g.ops[k]->vt->bytes(f->g.ops[k]);
    if (f->prev)
        b += ak_kbag_bytes(f->prev);
    if (f->result)
        b += ak_kbag_bytes(f->result);
    return b;
}

static void op_ref(const ak_flow_t *f, const ak_op_t *op, ak_buf_t *out)
{
    for (size_t i = 0; i < f->nin; i++)
        if (f->src[i] == op) {
            ak_buf_printf(out, "input `%s`", f->in[i].name);
            return;
        }
    ak_buf_printf(out, "#%d", op->id);
}

void ak_flow_explain(const ak_flow_t *f, ak_buf_t *out)
{
    if (!f->graph) {
        ak_buf_printf(out, "whole statement re-evaluated on every change: %s\n", f->why);
        return;
    }
    for (size_t k = 0; k < f->g.nops; k++) {
        const ak_op_t *op = f->g.ops[k];
        ak_buf_printf(out, "#%d %s", op->id, op->vt->kind);
        for (int i = 0; i < op->nin; i++) {
            ak_buf_puts(out, i ? ", " : " <- ");
            op_ref(f, op->in[i], out);
        }
        ak_buf_puts(out, ": ");
        op->vt->describe(op, out);
        if (op->note && *op->note)
            ak_buf_printf(out, " [%s]", op->note);
        if (op == f->g.root)
            ak_buf_puts(out, " (result)");
        ak_buf_putc(out, '\n');
    }
}

void ak_flow_stats(const ak_flow_t *f, ak_flow_stats_t *out) { *out = f->stats; }

void ak_flow_report(const ak_flow_t *f, ak_buf_t *out)
{
    for (size_t k = 0; k < f->g.nops; k++) {
        const ak_op_t *op = f->g.ops[k];
        size_t bytes = op->vt->bytes(op);
        ak_buf_printf(out, "#%d %s: %llu rows in, %llu out, %.1f s, state %.1f MB", op->id, op->vt->kind,
                      (unsigned long long)op->rows_in, (unsigned long long)op->rows_out, (double)op->busy_us / 1e6,
                      (double)bytes / 1048576.0);
        size_t nk = op->vt->keys ? op->vt->keys(op) : 0;
        if (nk)
            ak_buf_printf(out, " (%zu keys, %.0f bytes each)", nk, (double)bytes / (double)nk);
        ak_buf_putc(out, '\n');
    }
    ak_buf_printf(out, "strings interned: %.1f MB\n", (double)ak_intern_bytes(&f->strs) / 1048576.0);
}

void ak_flow_inspect(const ak_flow_t *f, ak_buf_t *json)
{
    ak_buf_t t = AK_BUF_INIT;
    for (size_t k = 0; k < f->g.nops; k++) {
        const ak_op_t *op = f->g.ops[k];
        ak_buf_printf(json, ",\n{\"name\":\"#%d %s\",\"kind\":\"%s\",\"bytes\":%zu,\"keys\":%zu,\"what\":", op->id,
                      op->vt->kind, op->vt->kind, op->vt->bytes(op), op->vt->keys ? op->vt->keys(op) : 0);
        ak_buf_clear(&t);
        op->vt->describe(op, &t);
        ak_buf_put_json_str(json, t.data ? t.data : "", t.len);
        ak_buf_clear(&t);
        if (op->vt->oldest && op->vt->oldest(op, &t)) {
            ak_buf_puts(json, ",\"oldest\":");
            ak_buf_put_json_str(json, t.data ? t.data : "", t.len);
        }
        ak_buf_putc(json, '}');
    }
    ak_buf_printf(json, ",\n{\"name\":\"strings\",\"kind\":\"strings\",\"bytes\":%zu,\"keys\":0,"
                        "\"what\":\"text values shared by the operators\"}",
                  ak_intern_bytes(&f->strs));
    ak_buf_free(&t);
}

size_t ak_flow_keys(const ak_flow_t *f)
{
    /* the partitions of the first keyed operator: users, for sessions */
    for (size_t k = 0; k < f->g.nops; k++)
        if (f->g.ops[k]->vt->keys)
            return f->g.ops[k]->vt->keys(f->g.ops[k]);
    return 0;
}

/* ---- checkpoints ---- */

#define TAG_CLOCK 2 /* after the bags' tags: 0 the previous result, 1 the kept one */

uint32_t ak_flow_sections(const ak_flow_t *f) { return 1 + (uint32_t)f->g.nops; }

int ak_flow_save(ak_flow_t *f, bool full, const ak_state_out_t *out, uint32_t base, ak_err_t *err)
{
    if (f->pushed)
        return ak_errf(err, AK_E_INTERNAL, "a checkpoint of a flow with changes not stepped");
    ak_state_out_t own = ak_state_at(out, base);
    ak_kbag_t *bags[2] = {f->prev, f->result};
    if (ak_op_bags_save(bags, 2, full, &own, err))
        return -1;
    uint8_t key = TAG_CLOCK;
    ak_buf_t v = AK_BUF_INIT;
    ak_buf_put_svarint(&v, f->last_now);
    ak_buf_putc(&v, f->first ? 1 : 0);
    int rc = v.oom ? ak_err_nomem(err) : ak_state_put(&own, &key, 1, v.data, v.len, err);
    ak_buf_free(&v);
    for (size_t k = 0; k < f->g.nops && rc == 0; k++) {
        ak_op_t *op = f->g.ops[k];
        ak_state_out_t o = ak_state_at(out, base + 1 + (uint32_t)k);
        if (op->vt->save)
            rc = op->vt->save(op, full, &o, err);
    }
    return rc;
}

void ak_flow_saved(ak_flow_t *f)
{
    ak_kbag_t *bags[2] = {f->prev, f->result};
    ak_op_bags_saved(bags, 2);
    for (size_t k = 0; k < f->g.nops; k++)
        if (f->g.ops[k]->vt->saved)
            f->g.ops[k]->vt->saved(f->g.ops[k]);
}

int ak_flow_load(ak_flow_t *f, uint32_t rel, const void *key, size_t kn, const void *val, size_t vn, ak_err_t *err)
{
    ak_err_clear(&f->cx_err);
    if (rel == 0 && kn == 1 && *(const uint8_t *)key == TAG_CLOCK) {
        ak_rd_t r;
        ak_rd_init(&r, val, vn);
        int64_t now = ak_rd_svar(&r);
        uint8_t first = ak_rd_u8(&r);
        if (r.bad || !ak_rd_done(&r))
            return ak_errf(err, AK_E_CORRUPT, "checkpoint: malformed flow clock");
        f->last_now = now;
        f->first = first != 0;
        return 0;
    }
    int rc;
    if (rel == 0) {
        ak_kbag_t *bags[2] = {f->prev, f->result};
        rc = ak_op_bags_load(bags, 2, &f->cx, key, kn, val, vn, NULL);
    } else if (rel - 1 < f->g.nops && f->g.ops[rel - 1]->vt->load) {
        ak_op_t *op = f->g.ops[rel - 1];
        rc = op->vt->load(op, &f->cx, key, kn, val, vn);
    } else {
        return ak_errf(err, AK_E_CORRUPT, "checkpoint: a record names no operator of this statement");
    }
    if (rc)
        *err = f->cx_err;
    return rc;
}
