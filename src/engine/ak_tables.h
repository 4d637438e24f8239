/* ak_tables.h - name resolution for published tables: `namespace.product`
 * (or a bare product name when unique) maps to the product's table in the
 * embedded serving store.  Used by `akili query`, by quality checks that
 * read other products, and by the SLA report.  Scans push simple
 * comparisons down to SQLite so lookups by key use the indexes.
 */
#ifndef AK_TABLES_H
#define AK_TABLES_H

#include <stdbool.h>

#include "ak_catalog.h"
#include "ak_sql.h"
#include "ak_store.h"

typedef struct ak_tables ak_tables_t;

/* candidate: resolve a product's table to its blocked candidate when there
 * is one (`akili query --candidate`). */
int ak_tables_new(ak_catalog_t *cat, bool candidate, ak_tables_t **out, ak_err_t *err);
void ak_tables_free(ak_tables_t *t);
/* An ak_sql_resolve_fn for ctx = ak_tables_t*. */
int ak_tables_resolve(void *ctx, ak_sql_name_kind_t kind, const char *schema, const char *name, ak_sql_table_t *out,
                      ak_err_t *err);

#endif
