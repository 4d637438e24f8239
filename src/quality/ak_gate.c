/* ak_gate.c - incremental quality checks. */
#include "ak_gate.h"

#include "ak_alloc.h"
#include "ak_buf.h"

#include <stdio.h>
#include <string.h>

typedef struct check {
    const ak_check_t *def;
    ak_flow_t *flow;
    char *broken;            /* why it cannot run (owned), or NULL */
} check_t;

struct ak_gate {
    const ak_manifest_t *m;
    check_t *c;
    size_t n;
    size_t ninputs;          /* inputs are 0..ninputs-1, {{ this }} is ninputs */
};

int ak_gate_new(const ak_manifest_t *m, const ak_flow_input_t *inputs, size_t ninputs, const ak_sql_table_t *this_table,
                ak_sql_resolve_fn resolve_other, void *resolve_ctx, ak_gate_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_gate_t *g = ak_calloc(1, sizeof *g);
    size_t nc = m->quality.n_checks;
    ak_flow_input_t *in = ak_calloc(ninputs + 1, sizeof *in);
    if (!g || !in || !(g->c = ak_calloc(nc ? nc : 1, sizeof *g->c))) {
        ak_free(g);
        ak_free(in);
        return ak_err_nomem(err);
    }
    g->m = m;
    g->n = nc;
    g->ninputs = ninputs;
    memcpy(in, inputs, sizeof *in * ninputs);
    in[ninputs] = (ak_flow_input_t){AK_SQL_THIS, "this", *this_table, NULL, NULL};
    for (size_t i = 0; i < nc; i++) {
        const ak_check_t *c = &m->quality.checks[i];
        g->c[i].def = c;
        ak_flow_opts_t o = {.sql = c->sql, .origin = c->sql_loc.file, .line_base = c->sql_loc.line,
                            .resolve_other = resolve_other, .resolve_ctx = resolve_ctx, .keep_result = true};
        ak_err_t ce;
        if (ak_flow_new(&o, in, ninputs + 1, &g->c[i].flow, &ce)) {
            if (ce.code == AK_E_NOMEM) {
                ak_free(in);
                ak_gate_free(g);
                return ak_err_nomem(err);
            }
            if (!(g->c[i].broken = ak_strdup(ce.msg))) {
                ak_free(in);
                ak_gate_free(g);
                return ak_err_nomem(err);
            }
        } else if (ak_flow_ncols(g->c[i].flow) < 1) {
            g->c[i].broken = ak_strdup("the check's query returns no column");
        }
    }
    ak_free(in);
    *out = g;
    return 0;
}

void ak_gate_free(ak_gate_t *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        ak_flow_free(g->c[i].flow);
        ak_free(g->c[i].broken);
    }
    ak_free(g->c);
    ak_free(g);
}

int ak_gate_push(ak_gate_t *g, size_t input, const ak_val_t *row, int64_t w, ak_err_t *err)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->c[i].flow && !g->c[i].broken && ak_flow_push(g->c[i].flow, input, row, w, err))
            return -1;
    return 0;
}

bool ak_gate_reads(const ak_gate_t *g, size_t input)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->c[i].flow && ak_flow_reads(g->c[i].flow, input))
            return true;
    return false;
}

int ak_gate_push_this(ak_gate_t *g, const ak_delta_t *d, ak_err_t *err)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->c[i].flow && !g->c[i].broken && ak_flow_push_delta(g->c[i].flow, g->ninputs, d, err))
            return -1;
    return 0;
}

/* Steps one check; a failure of the check's SQL breaks that check only. */
static int step_one(check_t *c, int64_t now_us, ak_err_t *err)
{
    if (!c->flow || c->broken)
        return 0;
    ak_err_t ce;
    if (ak_flow_step(c->flow, now_us, &ce) == 0)
        return 0;
    if (ce.code == AK_E_NOMEM)
        return ak_err_nomem(err);
    c->broken = ak_strdup(ce.msg);
    return c->broken ? 0 : ak_err_nomem(err);
}

int ak_gate_advance(ak_gate_t *g, int64_t now_us, ak_err_t *err)
{
    for (size_t i = 0; i < g->n; i++)
        if (step_one(&g->c[i], now_us, err))
            return -1;
    return 0;
}

int ak_gate_run(ak_gate_t *g, int64_t now_us, ak_check_result_t *results, bool *blocked, ak_err_t *err)
{
    *blocked = false;
    for (size_t i = 0; i < g->n; i++) {
        check_t *c = &g->c[i];
        ak_check_result_t *r = &results[i];
        memset(r, 0, sizeof *r);
        r->check = c->def;
        if (step_one(c, now_us, err))
            return -1;
        if (c->broken) {
            if (!(r->error = ak_strdup(c->broken)))
                return ak_err_nomem(err);
        } else {
            ak_rel_t *res;
            if (ak_flow_result(c->flow, &res, err))
                return -1;
            /* one row is the norm; with several, the smallest, so the answer
             * does not depend on arrival order */
            const ak_val_t *v = NULL;
            for (size_t k = 0; k < res->nrows; k++)
                if (!v || ak_row_cmp(ak_rel_row(res, k), v, res->ncols) < 0)
                    v = ak_rel_row(res, k);
            if (v)
                ak_check_result_value(r, v);
            ak_rel_free(res);
        }
        r->passed = !r->error && (!r->has_value || r->value <= c->def->threshold);
        if (!r->passed && c->def->severity == AK_SEVERITY_CRITICAL)
            *blocked = true;
    }
    return 0;
}

bool ak_gate_clocked(const ak_gate_t *g)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->c[i].flow && !g->c[i].broken && ak_flow_clocked(g->c[i].flow))
            return true;
    return false;
}

void ak_gate_explain(const ak_gate_t *g, ak_buf_t *out)
{
    for (size_t i = 0; i < g->n; i++) {
        const check_t *c = &g->c[i];
        ak_buf_printf(out, "check `%s` (%s, threshold %g):\n", c->def->name, ak_severity_name(c->def->severity),
                      c->def->threshold);
        if (c->broken) {
            ak_buf_printf(out, "  cannot run: %s\n", c->broken);
            continue;
        }
        ak_buf_t tmp = AK_BUF_INIT;
        ak_flow_explain(c->flow, &tmp);
        ak_buf_put_indented(out, tmp.data, "  ");
        ak_buf_free(&tmp);
    }
}

size_t ak_gate_state_bytes(const ak_gate_t *g)
{
    size_t b = 0;
    for (size_t i = 0; i < g->n; i++)
        if (g->c[i].flow)
            b += ak_flow_state_bytes(g->c[i].flow);
    return b;
}

/* ---- checkpoints: section 0 lists broken checks (key: check index),
 * then each check's flow takes its sections in order ---- */

uint32_t ak_gate_sections(const ak_gate_t *g)
{
    uint32_t n = 1;
    for (size_t i = 0; i < g->n; i++)
        n += g->c[i].flow ? ak_flow_sections(g->c[i].flow) : 0;
    return n;
}

int ak_gate_save(ak_gate_t *g, bool full, const ak_state_out_t *out, uint32_t base, ak_err_t *err)
{
    ak_state_out_t own = ak_state_at(out, base);
    uint32_t next = base + 1;
    for (size_t i = 0; i < g->n; i++) {
        check_t *c = &g->c[i];
        if (!c->flow)
            continue;
        uint8_t key[4];
        ak_le_put32(key, (uint32_t)i);
        if (c->broken) {
            /* its state no longer follows the data: only why it broke */
            if (ak_state_put(&own, key, 4, c->broken, strlen(c->broken), err))
                return -1;
        } else if (ak_flow_save(c->flow, full, out, next, err)) {
            return -1;
        }
        next += ak_flow_sections(c->flow);
    }
    return 0;
}

void ak_gate_saved(ak_gate_t *g)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->c[i].flow && !g->c[i].broken)
            ak_flow_saved(g->c[i].flow);
}

int ak_gate_load(ak_gate_t *g, uint32_t rel, const void *key, size_t kn, const void *val, size_t vn, ak_err_t *err)
{
    if (rel == 0) {
        uint32_t i = kn == 4 ? ak_le_get32(key) : UINT32_MAX;
        if (i >= g->n || !g->c[i].flow)
            return ak_errf(err, AK_E_CORRUPT, "checkpoint: a record names no quality check");
        ak_free(g->c[i].broken);
        if (!(g->c[i].broken = ak_strndup(val, vn)))
            return ak_err_nomem(err);
        return 0;
    }
    uint32_t next = 1;
    for (size_t i = 0; i < g->n; i++) {
        check_t *c = &g->c[i];
        if (!c->flow)
            continue;
        uint32_t ns = ak_flow_sections(c->flow);
        if (rel < next + ns)
            return ak_flow_load(c->flow, rel - next, key, kn, val, vn, err);
        next += ns;
    }
    return ak_errf(err, AK_E_CORRUPT, "checkpoint: a record names no quality check");
}
