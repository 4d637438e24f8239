/* ak_engine_int.h - the runtime of one product, shared by the engine's
 * files (loading and validation in ak_product.c, the run loop in ak_run.c). */
#ifndef AK_ENGINE_INT_H
#define AK_ENGINE_INT_H

#include "ak_engine.h"
#include "ak_inlog.h"
#include "ak_source.h"
#include "ak_sql.h"
#include "ak_store.h"
#include "ak_table.h"
#include "ak_tables.h"

typedef struct ak_input_rt {
    const ak_input_t *def;
    ak_conn_rec_t conn_rec;
    ak_conn_t conn;
    ak_cfg_doc_t *conn_doc;
    const ak_source_ops_t *ops;
    ak_source_t *src;
    struct ak_prefetch *pf;  /* reads src ahead (started by the first read) */
    uint64_t fingerprint;
    char fp_text[32];
    char *log_path;
    ak_inlog_t *log;
    ak_table_t *table;
    bool *keep;              /* [schema.n] columns the transform uses */
    ak_rel_t *empty;         /* the input's shape, for binding */
    char *position;          /* committed */
    char *pending;           /* after the last poll */
    int64_t records, dead;   /* in this run */
    bool dirty;              /* records since the last evaluation */
} ak_input_rt_t;

typedef struct ak_product_rt {
    ak_catalog_t *cat;
    ak_product_rec_t prod;
    char *version;
    ak_manifest_t *m;
    ak_input_rt_t *in;
    size_t nin;
    ak_tables_t *tables;     /* other products' published tables */
    ak_sql_stmt_t *transform;
    int64_t now_us;
    bool shape_only;         /* resolve inputs to their empty shapes */
    uint64_t rebuilds;       /* state rebuilt from the logs by a change behind compacted state */
} ak_product_rt_t;

/* Loads the product's active version: manifest, connections, shapes. */
int ak__product_load(ak_catalog_t *cat, const char *product, ak_product_rt_t *rt, ak_err_t *err);
/* Loads a manifest (for deploy validation) into a runtime without catalog
 * product state. */
int ak__product_from_manifest(ak_catalog_t *cat, ak_manifest_t *m, ak_product_rt_t *rt, ak_err_t *err);
void ak__product_free(ak_product_rt_t *rt);
/* Binds the transform against the inputs' full shapes and records which
 * columns each input must keep. */
int ak__product_bind_shape(ak_product_rt_t *rt, ak_err_t *err);
/* The resolver over inputs (tables or shapes) and published tables. */
int ak__product_resolve(void *ctx, ak_sql_name_kind_t kind, const char *schema, const char *name,
                        ak_sql_table_t *out, ak_err_t *err);
ak_sql_env_t ak__product_env(ak_product_rt_t *rt);
/* Casts and orders the transform's result to output.schema (in place:
 * returns a new relation and frees the old). */
int ak__conform(const ak_manifest_t *m, ak_rel_t **rel, ak_err_t *err);
/* Path helpers under $AKILI_HOME/products/<name>. */
void ak__product_dir(const ak_catalog_t *cat, const char *product, char *out, size_t cap);
/* Takes the product's run lock (held until *fd is closed, even if this
 * fails: close a non-negative *fd); AK_E_STATE while a run holds it. */
int ak__product_lock(ak_catalog_t *cat, const char *product, int *fd, ak_err_t *err);
/* The serving store's indexes of a product whose output columns are
 * names[nc]: the declared ones, and the key (or first column) for lookups.
 * At most cap; returns how many. */
int ak__serving_indexes(const ak_manifest_t *m, const char *const *names, int nc, ak_store_index_t *idx, int cap);

#endif
