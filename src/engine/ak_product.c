/* ak_product.c - loading a product's runtime, validating and recording a
 * deployment, explaining its plan, resetting what it consumed. */
#include "ak_dataflow.h"

#include "ak_alloc.h"
#include "ak_cfg.h"
#include "ak_ckpt.h"
#include "ak_log.h"
#include "ak_prefetch.h"
#include "ak_quality.h"
#include "ak_time.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int ak__mkdir_p(const char *path, ak_err_t *err);

void ak__product_dir(const ak_catalog_t *cat, const char *product, char *out, size_t cap)
{
    snprintf(out, cap, "%s/products/%s", ak_catalog_home(cat), product);
}

int ak_engine_now(int64_t *now_us, ak_err_t *err)
{
    const char *bad;
    int64_t t = ak_now_us(&bad);
    if (t < 0 && bad)
        return ak_errf(err, AK_E_CONFIG,
                       "AKILI_NOW=`%s` is not an ISO-8601 time (expected e.g. 2026-11-18T12:00:00Z)", bad);
    *now_us = t;
    return 0;
}

int ak__product_resolve(void *ctx, ak_sql_name_kind_t kind, const char *schema, const char *name,
                        ak_sql_table_t *out, ak_err_t *err)
{
    ak_product_rt_t *rt = ctx;
    if (kind == AK_SQL_REF) {
        for (size_t i = 0; i < rt->nin; i++) {
            ak_input_rt_t *in = &rt->in[i];
            if (strcmp(in->def->name, name) != 0)
                continue;
            if (rt->shape_only || !in->table) {
                out->ncols = in->empty->ncols;
                out->names = (const char *const *)in->empty->names;
                out->types = in->empty->types;
                out->rel = in->empty;
                return 0;
            }
            const ak_rel_t *r;
            if (ak_table_rel(in->table, &r, err))
                return -1;
            out->ncols = r->ncols;
            out->names = (const char *const *)r->names;
            out->types = r->types;
            out->rel = r;
            return 0;
        }
        return 1;
    }
    if (kind == AK_SQL_TABLE && rt->tables)
        return ak_tables_resolve(rt->tables, kind, schema, name, out, err);
    return 1;
}

ak_sql_env_t ak__product_env(ak_product_rt_t *rt)
{
    ak_sql_env_t e = {ak__product_resolve, rt, rt->now_us, rt->m->transform.file, rt->m->transform.line};
    return e;
}

void ak__product_free(ak_product_rt_t *rt)
{
    ak_sql_stmt_free(rt->transform);
    for (size_t i = 0; i < rt->nin; i++) {
        ak_input_rt_t *in = &rt->in[i];
        ak_prefetch_stop(in->pf); /* before the source it reads */
        if (in->src && in->ops && in->ops->close)
            in->ops->close(in->src);
        ak_cfg_free(in->conn_doc);
        ak_cat_conn_free(&in->conn_rec);
        ak_free(in->log_path);
        ak_inlog_close(in->log);
        ak_table_free(in->table);
        ak_free(in->keep);
        ak_rel_free(in->empty);
        ak_free(in->position);
        ak_free(in->pending);
    }
    ak_free(rt->in);
    ak_tables_free(rt->tables);
    ak_manifest_free(rt->m);
    ak_cat_product_free(&rt->prod);
    ak_free(rt->version);
    memset(rt, 0, sizeof *rt);
}

/* Connections, fingerprints and empty shapes of every input. */
static int load_inputs(ak_product_rt_t *rt, bool need_connections, ak_err_t *err)
{
    const ak_manifest_t *m = rt->m;
    rt->nin = m->n_inputs;
    rt->in = ak_calloc(m->n_inputs ? m->n_inputs : 1, sizeof *rt->in);
    if (!rt->in)
        return ak_err_nomem(err);
    for (size_t i = 0; i < m->n_inputs; i++) {
        ak_input_rt_t *in = &rt->in[i];
        const ak_input_t *d = &m->inputs[i];
        in->def = d;
        ak_err_t e2;
        if (ak_cat_conn_get(rt->cat, d->connection, &in->conn_rec, &e2)) {
            if (e2.code == AK_E_NOTFOUND)
                return ak_errf(err, AK_E_CONFIG,
                               "%s:%d:%d: input `%s` uses connection `%s`, which does not exist (create it with "
                               "`akili connection create --name %s --connector-type TYPE --config '{...}'`)",
                               d->loc.file, d->loc.line, d->loc.col, d->name, d->connection, d->connection);
            *err = e2;
            return -1;
        }
        if (need_connections &&
            ak_conn_load(in->conn_rec.name, in->conn_rec.type, in->conn_rec.config, &in->conn, &in->conn_doc, &in->ops,
                         err))
            return ak_err_prefix(err, "input `%s`", d->name);
        in->conn.product = rt->prod.name;
        uint64_t fp = ak_fp_str(0, in->conn_rec.name);
        fp = ak_fp_str(fp, in->conn_rec.type);
        fp = ak_fp_str(fp, in->conn_rec.config);
        fp = ak_fp_str(fp, d->resource);
        fp = ak_fp_int(fp, d->strategy);
        fp = ak_fp_str(fp, d->cursor_field);
        for (int c = 0; c < d->schema.n; c++) {
            fp = ak_fp_str(fp, d->schema.cols[c].name);
            fp = ak_fp_int(fp, d->schema.cols[c].type);
            fp = ak_fp_int(fp, d->schema.cols[c].key * 2 + d->schema.cols[c].required);
        }
        in->fingerprint = fp;
        snprintf(in->fp_text, sizeof in->fp_text, "%016llx", (unsigned long long)fp);
        const char *names[AK_MAX_COLUMNS];
        ak_type_t types[AK_MAX_COLUMNS];
        for (int c = 0; c < d->schema.n; c++) {
            names[c] = d->schema.cols[c].name;
            types[c] = d->schema.cols[c].type;
        }
        in->empty = ak_rel_new(d->schema.n, names, types);
        in->keep = ak_calloc((size_t)(d->schema.n ? d->schema.n : 1), sizeof *in->keep);
        if (!in->empty || !in->keep)
            return ak_err_nomem(err);
    }
    return 0;
}

typedef struct check_shape {
    ak_product_rt_t *rt;
    const ak_rel_t *shape;
} check_shape_t;

static int check_resolve(void *ctx, ak_sql_name_kind_t kind, const char *schema, const char *name, ak_sql_table_t *out,
                         ak_err_t *err)
{
    check_shape_t *cs = ctx;
    if (kind == AK_SQL_THIS) {
        out->ncols = cs->shape->ncols;
        out->names = (const char *const *)cs->shape->names;
        out->types = cs->shape->types;
        out->rel = cs->shape;
        return 0;
    }
    return ak__product_resolve(cs->rt, kind, schema, name, out, err);
}

int ak__product_bind_shape(ak_product_rt_t *rt, ak_err_t *err)
{
    rt->shape_only = true;
    ak_sql_env_t env = ak__product_env(rt);
    ak_sql_stmt_t *st;
    int rc = ak_sql_prepare(rt->m->transform.sql, strlen(rt->m->transform.sql), &env, &st, err);
    rt->shape_only = false;
    if (rc)
        return -1;
    const ak_sql_scan_info_t *si;
    int n;
    ak_sql_stmt_scans(st, &si, &n);
    for (int k = 0; k < n; k++) {
        if (si[k].kind != AK_SQL_REF)
            continue;
        for (size_t i = 0; i < rt->nin; i++)
            if (strcmp(rt->in[i].def->name, si[k].name) == 0)
                for (int c = 0; c < si[k].ncols && c < rt->in[i].def->schema.n; c++)
                    rt->in[i].keep[c] |= si[k].used[c];
    }
    /* the quality checks' {{ ref() }} reads count too; {{ this }} is the output */
    int nout = rt->m->output.n_schema ? (int)rt->m->output.n_schema : ak_sql_stmt_ncols(st);
    const char *names[AK_MAX_COLUMNS * 4];
    ak_type_t types[AK_MAX_COLUMNS * 4];
    for (int i = 0; i < nout && i < AK_MAX_COLUMNS * 4; i++) {
        names[i] = rt->m->output.n_schema ? rt->m->output.schema[i].name : ak_sql_stmt_name(st, i);
        types[i] = rt->m->output.n_schema ? rt->m->output.schema[i].type : ak_sql_stmt_type(st, i);
    }
    ak_rel_t *shape = ak_rel_new(nout, names, types);
    ak_sql_stmt_free(st);
    if (!shape)
        return ak_err_nomem(err);
    check_shape_t cs = {rt, shape};
    for (size_t q = 0; q < rt->m->quality.n_checks; q++) {
        const ak_check_t *c = &rt->m->quality.checks[q];
        ak_sql_env_t ce = {check_resolve, &cs, rt->now_us, c->sql_loc.file, c->sql_loc.line};
        ak_sql_stmt_t *cst;
        ak_err_t e2;
        rt->shape_only = true;
        int crc = ak_sql_prepare(c->sql, strlen(c->sql), &ce, &cst, &e2);
        rt->shape_only = false;
        if (crc)
            continue; /* reported when the check runs (or at deploy) */
        ak_sql_stmt_scans(cst, &si, &n);
        for (int k = 0; k < n; k++) {
            if (si[k].kind != AK_SQL_REF)
                continue;
            for (size_t i = 0; i < rt->nin; i++)
                if (strcmp(rt->in[i].def->name, si[k].name) == 0)
                    for (int col = 0; col < si[k].ncols && col < rt->in[i].def->schema.n; col++)
                        rt->in[i].keep[col] |= si[k].used[col];
        }
        ak_sql_stmt_free(cst);
    }
    ak_rel_free(shape);
    return 0;
}

static int load_common(ak_product_rt_t *rt, bool need_connections, ak_err_t *err)
{
    if (ak_engine_now(&rt->now_us, err) || load_inputs(rt, need_connections, err) ||
        ak_tables_new(rt->cat, false, &rt->tables, err))
        return -1;
    return 0;
}

int ak_engine_manifest(ak_catalog_t *cat, const char *product, ak_manifest_t **out, char **version, ak_err_t *err)
{
    *out = NULL;
    ak_product_rec_t p;
    if (ak_cat_product_get(cat, product, &p, err))
        return -1;
    if (!p.active_version) {
        ak_cat_product_free(&p);
        return ak_errf(err, AK_E_STATE, "product `%s` has no deployed version yet (deploy it with `akili product deploy %s --version 1.0.0`)",
                       product, product);
    }
    ak_file_rec_t *files = NULL;
    size_t n = 0;
    int rc = ak_cat_version_files(cat, product, p.active_version, &files, &n, err);
    if (rc == 0) {
        ak_mfile_t *mf = ak_calloc(n ? n : 1, sizeof *mf);
        if (!mf) {
            rc = ak_err_nomem(err);
        } else {
            for (size_t i = 0; i < n; i++)
                mf[i] = (ak_mfile_t){files[i].name, files[i].text, files[i].len};
            rc = ak_manifest_load_files(mf, n, out, err);
            ak_free(mf);
        }
    }
    ak_cat_files_free(files, n);
    if (rc == 0 && version) {
        *version = ak_strdup(p.active_version);
        if (!*version) {
            ak_manifest_free(*out);
            *out = NULL;
            rc = ak_err_nomem(err);
        }
    }
    ak_cat_product_free(&p);
    return rc;
}

int ak__product_load(ak_catalog_t *cat, const char *product, ak_product_rt_t *rt, ak_err_t *err)
{
    memset(rt, 0, sizeof *rt);
    rt->cat = cat;
    if (ak_cat_product_get(cat, product, &rt->prod, err) ||
        ak_engine_manifest(cat, product, &rt->m, &rt->version, err) || load_common(rt, true, err) ||
        ak__product_bind_shape(rt, err)) {
        ak__product_free(rt);
        return -1;
    }
    return 0;
}

int ak__product_from_manifest(ak_catalog_t *cat, ak_manifest_t *m, ak_product_rt_t *rt, ak_err_t *err)
{
    memset(rt, 0, sizeof *rt);
    rt->cat = cat;
    rt->m = m;
    if (load_common(rt, true, err)) {
        rt->m = NULL;
        ak__product_free(rt);
        return -1;
    }
    return 0;
}

int ak__conform(const ak_manifest_t *m, ak_rel_t **relp, ak_err_t *err)
{
    const ak_output_t *o = &m->output;
    ak_rel_t *rel = *relp;
    if (!o->n_schema)
        return 0;
    int map[AK_MAX_COLUMNS * 4];
    if (o->n_schema > sizeof map / sizeof map[0])
        return ak_errf(err, AK_E_UNSUPPORTED, "output.schema has too many columns");
    const char *names[AK_MAX_COLUMNS * 4];
    ak_type_t types[AK_MAX_COLUMNS * 4];
    bool same = (size_t)rel->ncols == o->n_schema;
    for (size_t i = 0; i < o->n_schema; i++) {
        map[i] = ak_rel_find(rel, o->schema[i].name);
        if (map[i] < 0)
            return ak_errf(err, AK_E_CONFIG, "the transform does not produce output column `%s`", o->schema[i].name);
        names[i] = o->schema[i].name;
        types[i] = o->schema[i].type;
        same = same && map[i] == (int)i && rel->types[i] == types[i] && strcmp(rel->names[i], names[i]) == 0;
    }
    if (same)
        return 0;
    ak_rel_t *out = ak_rel_new((int)o->n_schema, names, types);
    if (!out || ak_rel_reserve(out, rel->nrows)) {
        ak_rel_free(out);
        return ak_err_nomem(err);
    }
    for (size_t r = 0; r < rel->nrows; r++) {
        const ak_val_t *src = ak_rel_row(rel, r);
        ak_val_t *dst = ak_rel_push(out);
        for (size_t i = 0; i < o->n_schema; i++) {
            const ak_val_t *v = &src[map[i]];
            if (v->type == AK_NULL || v->type == types[i]) {
                dst[i] = *v;
            } else if (ak_sql_cast(v, types[i], &out->arena, &dst[i], err)) {
                ak_rel_free(out);
                return ak_err_prefix(err, "output column `%s`", names[i]);
            }
        }
    }
    /* strings still point into the old relation's arena: take them over */
    if (ak_rel_own_strings(out)) {
        ak_rel_free(out);
        return ak_err_nomem(err);
    }
    ak_rel_free(rel);
    *relp = out;
    return 0;
}

/* Checks the transform's result shape against output.schema. */
static int check_output(const ak_manifest_t *m, ak_sql_stmt_t *st, ak_err_t *err)
{
    const ak_output_t *o = &m->output;
    int n = ak_sql_stmt_ncols(st);
    for (int i = 0; i < n; i++)
        for (int k = i + 1; k < n; k++)
            if (strcasecmp(ak_sql_stmt_name(st, i), ak_sql_stmt_name(st, k)) == 0)
                return ak_errf(err, AK_E_CONFIG, "%s: the transform returns two columns named `%s`; alias one of them",
                               m->transform.file, ak_sql_stmt_name(st, i));
    if (!o->n_schema)
        return 0;
    for (size_t i = 0; i < o->n_schema; i++) {
        const ak_out_column_t *c = &o->schema[i];
        int k = -1;
        for (int j = 0; j < n && k < 0; j++)
            if (strcasecmp(ak_sql_stmt_name(st, j), c->name) == 0)
                k = j;
        if (k < 0)
            return ak_errf(err, AK_E_CONFIG, "%s:%d:%d: output column `%s` is not produced by the transform (it returns %d columns)",
                           c->loc.file, c->loc.line, c->loc.col, c->name, n);
        ak_type_t t = ak_sql_stmt_type(st, k);
        bool ok = t == c->type || t == AK_NULL || (ak_type_is_numeric(t) && ak_type_is_numeric(c->type)) ||
                  (ak_type_is_temporal(t) && ak_type_is_temporal(c->type)) || c->type == AK_TEXT;
        if (!ok)
            return ak_errf(err, AK_E_CONFIG, "%s:%d:%d: output column `%s` is declared %s but the transform produces %s",
                           c->loc.file, c->loc.line, c->loc.col, c->name, ak_type_name(c->type), ak_type_name(t));
    }
    for (int j = 0; j < n; j++) {
        bool found = false;
        for (size_t i = 0; i < o->n_schema && !found; i++)
            found = strcasecmp(ak_sql_stmt_name(st, j), o->schema[i].name) == 0;
        if (!found)
            return ak_errf(err, AK_E_CONFIG,
                           "%s: the transform returns column `%s`, which output.schema does not declare (add it there or "
                           "leave it out of the SELECT)",
                           m->transform.file, ak_sql_stmt_name(st, j));
    }
    return 0;
}

/* The candidate's shape (empty relation) for binding checks. */
static ak_rel_t *output_shape(const ak_manifest_t *m, ak_sql_stmt_t *st)
{
    const char *names[AK_MAX_COLUMNS * 4];
    ak_type_t types[AK_MAX_COLUMNS * 4];
    int n;
    if (m->output.n_schema) {
        n = (int)m->output.n_schema;
        for (int i = 0; i < n; i++) {
            names[i] = m->output.schema[i].name;
            types[i] = m->output.schema[i].type;
        }
    } else {
        n = ak_sql_stmt_ncols(st);
        if (n > AK_MAX_COLUMNS * 4)
            n = AK_MAX_COLUMNS * 4;
        for (int i = 0; i < n; i++) {
            names[i] = ak_sql_stmt_name(st, i);
            types[i] = ak_sql_stmt_type(st, i);
        }
    }
    return ak_rel_new(n, names, types);
}

static int validate(ak_product_rt_t *rt, ak_buf_t *report, ak_err_t *err)
{
    const ak_manifest_t *m = rt->m;
    rt->shape_only = true;
    ak_sql_env_t env = ak__product_env(rt);
    ak_sql_stmt_t *st = NULL;
    ak_rel_t *shape = NULL;
    int rc = -1;
    if (ak_sql_prepare(m->transform.sql, strlen(m->transform.sql), &env, &st, err) || check_output(m, st, err))
        goto done;
    if (!(shape = output_shape(m, st))) {
        ak_err_nomem(err);
        goto done;
    }
    if (ak_quality_validate(m, shape, &env, err))
        goto done;
    for (size_t i = 0; i < m->serving.n_modes; i++)
        for (size_t k = 0; k < m->serving.modes[i].n_indexes; k++) {
            const ak_index_t *ix = &m->serving.modes[i].indexes[k];
            for (size_t c = 0; c < ix->n_columns; c++)
                if (ak_rel_find(shape, ix->columns[c]) < 0) {
                    ak_errf(err, AK_E_CONFIG, "%s:%d:%d: index column `%s` is not an output column", ix->loc.file,
                            ix->loc.line, ix->loc.col, ix->columns[c]);
                    goto done;
                }
        }
    for (size_t i = 0; i < m->output.n_partition_key; i++) {
        const ak_partition_t *pk = &m->output.partition_key[i];
        const char *col = pk->column >= 0 && (size_t)pk->column < m->output.n_schema ? m->output.schema[pk->column].name : pk->name;
        if (pk->column < 0 && ak_rel_find(shape, col) < 0) {
            ak_errf(err, AK_E_CONFIG, "%s:%d:%d: partition key `%s` is not an output column", pk->loc.file, pk->loc.line,
                    pk->loc.col, pk->name);
            goto done;
        }
    }
    if (report) {
        ak_buf_printf(report, "  %zu input%s:", m->n_inputs, m->n_inputs == 1 ? "" : "s");
        for (size_t i = 0; i < rt->nin; i++)
            ak_buf_printf(report, " %s (%s `%s`, %s)", rt->in[i].def->name, rt->in[i].conn_rec.type,
                          rt->in[i].conn_rec.name, ak_strategy_name(rt->in[i].def->strategy));
        ak_buf_printf(report, "\n  output: %s.%s, %d columns; %zu quality check%s\n", m->product.namespace,
                      m->product.name, shape->ncols, m->quality.n_checks, m->quality.n_checks == 1 ? "" : "s");
        for (size_t i = 0; i < rt->nin; i++)
            if (rt->in[i].def->primary_key_inferred)
                ak_buf_printf(report, "  note: input `%s` declares no primary_key; it is keyed by `%s` (declare "
                                      "primary_key to choose another)\n",
                              rt->in[i].def->name, rt->in[i].def->primary_key[0]);
        for (size_t i = 0; i < rt->nin; i++)
            if (!rt->in[i].ops->built)
                ak_buf_printf(report, "  note: connection `%s` is of type `%s`, which is not built yet: runs will fail until it is\n",
                              rt->in[i].conn_rec.name, rt->in[i].conn_rec.type);
    }
    rc = 0;
done:
    rt->shape_only = false;
    ak_sql_stmt_free(st);
    ak_rel_free(shape);
    return rc;
}

int ak_engine_deploy(ak_catalog_t *cat, const char *product, const char *version, const char *dir, ak_buf_t *report,
                     ak_err_t *err)
{
    ak_product_rec_t p;
    if (ak_cat_product_get(cat, product, &p, err))
        return -1;
    ak_manifest_t *m = NULL;
    int rc = -1;
    if (ak_manifest_load_dir(dir, &m, err))
        goto out;
    if (strcmp(m->product.name, product) != 0) {
        ak_errf(err, AK_E_CONFIG, "%s:%d:%d: the manifests in %s are for product `%s`, not `%s`", m->product.loc.file,
                m->product.loc.line, m->product.loc.col, dir, m->product.name, product);
        goto out;
    }
    if (strcmp(m->product.namespace, p.namespace_) != 0) {
        ak_errf(err, AK_E_CONFIG, "%s:%d:%d: the manifests put `%s` in namespace `%s`, but it was created in `%s`",
                m->product.loc.file, m->product.loc.line, m->product.loc.col, product, m->product.namespace,
                p.namespace_);
        goto out;
    }
    if (m->product.version && strcmp(m->product.version, version) != 0)
        ak_log_warn(product, "deploying as version %s while product.version in the manifests says %s", version,
                    m->product.version);
    ak_product_rt_t rt;
    if (ak__product_from_manifest(cat, m, &rt, err))
        goto out;
    int v = validate(&rt, report, err);
    rt.m = NULL; /* still ours */
    ak__product_free(&rt);
    if (v)
        goto out;
    size_t nf;
    const ak_mfile_t *mf = ak_manifest_files(m, &nf);
    ak_file_rec_t *files = ak_calloc(nf ? nf : 1, sizeof *files);
    if (!files) {
        ak_err_nomem(err);
        goto out;
    }
    for (size_t i = 0; i < nf; i++)
        files[i] = (ak_file_rec_t){(char *)mf[i].name, (char *)mf[i].text, mf[i].len};
    if (ak_catalog_begin(cat, err)) {
        ak_free(files);
        goto out;
    }
    if (ak_cat_version_store(cat, product, version, files, nf, err) || ak_cat_deploy(cat, product, version, dir, err)) {
        ak_catalog_rollback(cat);
        ak_free(files);
        goto out;
    }
    ak_free(files);
    if (ak_catalog_commit(cat, err)) {
        ak_catalog_rollback(cat);
        goto out;
    }
    rc = 0;
out:
    ak_manifest_free(m);
    ak_cat_product_free(&p);
    return rc;
}

int ak_engine_explain(ak_catalog_t *cat, const char *product, ak_buf_t *out, ak_err_t *err)
{
    ak_product_rt_t rt;
    if (ak__product_load(cat, product, &rt, err))
        return -1;
    rt.shape_only = true;
    ak_sql_env_t env = ak__product_env(&rt);
    ak_sql_stmt_t *st;
    if (ak_sql_prepare(rt.m->transform.sql, strlen(rt.m->transform.sql), &env, &st, err)) {
        ak__product_free(&rt);
        return -1;
    }
    ak_buf_printf(out, "product %s.%s version %s\n\ninputs:\n", rt.m->product.namespace, rt.m->product.name, rt.version);
    for (size_t i = 0; i < rt.nin; i++) {
        const ak_input_rt_t *in = &rt.in[i];
        ak_buf_printf(out, "  %s: %s connection `%s`, resource `%s`, strategy %s, ", in->def->name, in->conn_rec.type,
                      in->conn_rec.name, in->def->resource, ak_strategy_name(in->def->strategy));
        if (in->def->n_primary_key) {
            ak_buf_puts(out, "keyed by");
            for (size_t k = 0; k < in->def->n_primary_key; k++)
                ak_buf_printf(out, "%s %s", k ? "," : "", in->def->primary_key[k]);
            ak_buf_puts(out, in->def->primary_key_inferred ? " (not declared: inferred; latest row per key)"
                                                           : " (latest row per key)");
        } else {
            ak_buf_puts(out, "keyless (every record is a row)");
        }
        ak_buf_puts(out, "\n    columns kept in state:");
        int kept = 0;
        for (int c = 0; c < in->def->schema.n; c++)
            if (in->keep[c] || in->def->schema.cols[c].key) {
                ak_buf_printf(out, " %s %s", in->def->schema.cols[c].name, ak_type_name(in->def->schema.cols[c].type));
                kept++;
            }
        ak_buf_printf(out, "%s\n", kept ? "" : " (none: the transform does not read this input)");
    }
    /* the operators a run would use, over empty tables of the same shape */
    ak_dataflow_t df;
    memset(&df, 0, sizeof df);
    int drc = 0;
    for (size_t i = 0; i < rt.nin && drc == 0; i++) {
        const ak_input_t *d = rt.in[i].def;
        int cursor = d->cursor_field ? ak_schema_find(&d->schema, d->cursor_field, strlen(d->cursor_field)) : -1;
        drc = ak_table_new(&d->schema, rt.in[i].keep, cursor, d->strategy == AK_STRATEGY_INCREMENTAL, &rt.in[i].table,
                           err);
    }
    if (drc || ak__dataflow_new(&rt, &df, err)) {
        ak__dataflow_free(&df);
        ak_sql_stmt_free(st);
        ak__product_free(&rt);
        return -1;
    }
    ak_buf_putc(out, '\n');
    ak__dataflow_explain(&df, out);
    ak__dataflow_free(&df);
    ak_buf_puts(out, "\nthe transform as a batch query (what every micro-batch's result equals):\n");
    ak_sql_explain(st, out);
    ak_buf_printf(out, "\npublish: embedded SQLite store, table %s.%s\n", rt.m->product.namespace, rt.m->product.name);
    ak_sql_stmt_free(st);
    ak__product_free(&rt);
    return 0;
}

int ak_engine_reset(ak_catalog_t *cat, const char *product, ak_err_t *err)
{
    ak_manifest_t *m;
    if (ak_engine_manifest(cat, product, &m, NULL, err))
        return -1;
    char dir[4096];
    ak__product_dir(cat, product, dir, sizeof dir);
    int rc = 0;
    for (size_t i = 0; i < m->n_inputs && rc == 0; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/inputs/%s.log", dir, m->inputs[i].name);
        rc = ak_inlog_remove(path, err);
    }
    if (rc == 0)
        rc = ak_cat_position_reset(cat, product, err);
    /* the state checkpoints reflect the logs just removed */
    char cdir[4200];
    snprintf(cdir, sizeof cdir, "%s/checkpoints", dir);
    if (rc == 0)
        rc = ak_ckpt_remove(cdir, err);
    snprintf(cdir, sizeof cdir, "%s/state.json", dir);
    if (rc == 0 && unlink(cdir) != 0 && errno != ENOENT)
        rc = ak_errf(err, AK_E_IO, "cannot remove %s: %s", cdir, strerror(errno));
    ak_manifest_free(m);
    return rc;
}

int ak_engine_state_report(ak_catalog_t *cat, const char *product, ak_buf_t *out, ak_err_t *err)
{
    ak_product_rec_t prod;
    if (ak_cat_product_get(cat, product, &prod, err))
        return -1;
    ak_cat_product_free(&prod);
    char dir[4096], path[4200];
    ak__product_dir(cat, product, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/state.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? 1 : ak_errf(err, AK_E_IO, "cannot open %s: %s", path, strerror(errno));
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ak_buf_put(out, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad)
        return ak_errf(err, AK_E_IO, "cannot read %s", path);
    return out->oom ? ak_err_nomem(err) : 0;
}
