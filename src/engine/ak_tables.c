/* ak_tables.c - published-table resolver over the catalog and the stores. */
#include "ak_tables.h"

#include "ak_alloc.h"

#include <stdio.h>
#include <string.h>

typedef struct tab {
    char *table;          /* table name in the store */
    ak_store_t *store;    /* borrowed from the store list */
    ak_store_table_t info;
} tab_t;

typedef struct scan_ctx {
    ak_store_t *store;
    const char *table;
    const ak_store_table_t *info;
} scan_ctx_t;

struct ak_tables {
    ak_catalog_t *cat;
    bool candidate;
    struct {
        char *ns;
        ak_store_t *st;
    } stores[16];
    int nstores;
    tab_t *tabs[64];
    scan_ctx_t scans[64];
    int ntabs;
};

int ak_tables_new(ak_catalog_t *cat, bool candidate, ak_tables_t **out, ak_err_t *err)
{
    *out = ak_calloc(1, sizeof **out);
    if (!*out)
        return ak_err_nomem(err);
    (*out)->cat = cat;
    (*out)->candidate = candidate;
    return 0;
}

void ak_tables_free(ak_tables_t *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->ntabs; i++) {
        ak_free(t->tabs[i]->table);
        ak_store_info_free(&t->tabs[i]->info);
        ak_free(t->tabs[i]);
    }
    for (int i = 0; i < t->nstores; i++) {
        ak_store_close(t->stores[i].st);
        ak_free(t->stores[i].ns);
    }
    ak_free(t);
}

static ak_store_t *store_for(ak_tables_t *t, const char *ns, ak_err_t *err)
{
    for (int i = 0; i < t->nstores; i++)
        if (strcmp(t->stores[i].ns, ns) == 0)
            return t->stores[i].st;
    if (t->nstores == 16) {
        ak_errf(err, AK_E_UNSUPPORTED, "a query may read tables of at most 16 namespaces");
        return NULL;
    }
    ak_store_t *s;
    if (ak_store_open(ak_catalog_home(t->cat), ns, &s, err))
        return NULL;
    t->stores[t->nstores].ns = ak_strdup(ns);
    if (!t->stores[t->nstores].ns) {
        ak_store_close(s);
        ak_err_nomem(err);
        return NULL;
    }
    t->stores[t->nstores++].st = s;
    return s;
}

static int scan(void *ctx, const ak_sql_pred_t *preds, int npreds, ak_rel_t **out, ak_err_t *err)
{
    scan_ctx_t *c = ctx;
    return ak_store_scan(c->store, c->table, c->info, preds, npreds, out, err);
}

int ak_tables_resolve(void *ctx, ak_sql_name_kind_t kind, const char *schema, const char *name, ak_sql_table_t *out,
                      ak_err_t *err)
{
    ak_tables_t *t = ctx;
    if (kind != AK_SQL_TABLE)
        return 1;
    ak_product_rec_t p;
    ak_err_t e2;
    if (ak_cat_product_by_table(t->cat, schema, name, &p, &e2)) {
        if (e2.code == AK_E_NOTFOUND)
            return 1;
        *err = e2;
        return -1;
    }
    if (t->ntabs == 64) {
        ak_cat_product_free(&p);
        return ak_errf(err, AK_E_UNSUPPORTED, "a query may read at most 64 tables");
    }
    ak_store_t *st = store_for(t, p.namespace_, err);
    if (!st) {
        ak_cat_product_free(&p);
        return -1;
    }
    tab_t *tb = ak_calloc(1, sizeof *tb);
    if (!tb) {
        ak_cat_product_free(&p);
        return ak_err_nomem(err);
    }
    char cand[300];
    snprintf(cand, sizeof cand, "%s__candidate", p.name);
    int rc = 1;
    if (t->candidate)
        rc = ak_store_info(st, cand, &tb->info, err);
    if (rc == 0) {
        tb->table = ak_strdup(cand);
    } else if (rc == 1) {
        rc = ak_store_info(st, p.name, &tb->info, err);
        if (rc == 1) {
            ak_errf(err, AK_E_NOTFOUND,
                    "table `%s.%s` has not been published yet (run the product: `akili run start %s --once`%s)",
                    p.namespace_, p.name, p.name,
                    t->candidate ? "" : "; a blocked candidate can be read with `akili query --candidate`");
            rc = -1;
        }
        if (rc == 0)
            tb->table = ak_strdup(p.name);
    }
    ak_cat_product_free(&p);
    if (rc != 0 || !tb->table) {
        ak_store_info_free(&tb->info);
        ak_free(tb->table);
        ak_free(tb);
        return rc == 0 ? ak_err_nomem(err) : -1;
    }
    tb->store = st;
    int k = t->ntabs++;
    t->tabs[k] = tb;
    t->scans[k] = (scan_ctx_t){st, tb->table, &tb->info};
    out->ncols = tb->info.ncols;
    out->names = (const char *const *)tb->info.names;
    out->types = tb->info.types;
    out->rel = NULL;
    out->scan = scan;
    out->ctx = &t->scans[k];
    return 0;
}
