/* ak_catalog.h - akili's own state under $AKILI_HOME: a SQLite database of
 * connections, products, their versions (the manifest files as deployed),
 * deployments, runs, quality results, source positions and dead letters.
 *
 * One ak_catalog_t per process; not thread-safe.  Every function returns 0
 * or -1 with err set (AK_E_NOTFOUND / AK_E_EXISTS / AK_E_IO ...).  Strings
 * returned in structs are owned by the struct and freed by its _free.
 * Several processes may use one home: SQLite's WAL and busy timeout keep
 * them consistent.
 */
#ifndef AK_CATALOG_H
#define AK_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_error.h"

typedef struct sqlite3 sqlite3;
typedef struct ak_catalog ak_catalog_t;

/* Opens (creating if needed) the catalog in `home` (a directory, created). */
int ak_catalog_open(const char *home, ak_catalog_t **out, ak_err_t *err);
void ak_catalog_close(ak_catalog_t *c);
const char *ak_catalog_home(const ak_catalog_t *c);
sqlite3 *ak_catalog_db(ak_catalog_t *c);

int ak_catalog_begin(ak_catalog_t *c, ak_err_t *err);
int ak_catalog_commit(ak_catalog_t *c, ak_err_t *err);
void ak_catalog_rollback(ak_catalog_t *c);

/* ---- connections ---- */
typedef struct ak_conn_rec {
    char *name;
    char *type;
    char *config;      /* JSON as given; ${ENV} references unresolved */
    int64_t created_us, updated_us;
} ak_conn_rec_t;

int ak_cat_conn_create(ak_catalog_t *c, const char *name, const char *type, const char *config, ak_err_t *err);
int ak_cat_conn_get(ak_catalog_t *c, const char *name, ak_conn_rec_t *out, ak_err_t *err);
int ak_cat_conn_list(ak_catalog_t *c, ak_conn_rec_t **out, size_t *n, ak_err_t *err);
int ak_cat_conn_delete(ak_catalog_t *c, const char *name, ak_err_t *err);
void ak_cat_conn_free(ak_conn_rec_t *r);
void ak_cat_conn_free_list(ak_conn_rec_t *v, size_t n);

/* ---- products, versions, deployments ---- */
typedef struct ak_product_rec {
    char *name;
    char *namespace_;
    char *archetype;
    char *active_version;  /* NULL if never deployed */
    int64_t created_us;
    int64_t deployed_us;   /* 0 if never deployed */
} ak_product_rec_t;

int ak_cat_product_create(ak_catalog_t *c, const char *name, const char *ns, const char *archetype, ak_err_t *err);
int ak_cat_product_get(ak_catalog_t *c, const char *name, ak_product_rec_t *out, ak_err_t *err);
/* Finds the product publishing `ns.name` (ns may be NULL: unique by name). */
int ak_cat_product_by_table(ak_catalog_t *c, const char *ns, const char *name, ak_product_rec_t *out, ak_err_t *err);
int ak_cat_product_list(ak_catalog_t *c, ak_product_rec_t **out, size_t *n, ak_err_t *err);
void ak_cat_product_free(ak_product_rec_t *r);
void ak_cat_product_free_list(ak_product_rec_t *v, size_t n);

typedef struct ak_file_rec {
    char *name;
    char *text;
    size_t len;
} ak_file_rec_t;

/* Stores a version's files.  Storing the same version again with identical
 * files is a no-op; with different files it is AK_E_EXISTS. */
int ak_cat_version_store(ak_catalog_t *c, const char *product, const char *version, const ak_file_rec_t *files,
                         size_t n, ak_err_t *err);
int ak_cat_version_files(ak_catalog_t *c, const char *product, const char *version, ak_file_rec_t **files,
                         size_t *n, ak_err_t *err);
void ak_cat_files_free(ak_file_rec_t *v, size_t n);
/* Records a deployment and makes `version` the product's active one. */
int ak_cat_deploy(ak_catalog_t *c, const char *product, const char *version, const char *source_dir, ak_err_t *err);

/* ---- runs ---- */
typedef enum ak_run_status {
    AK_RUN_RUNNING = 0,
    AK_RUN_SUCCEEDED,
    AK_RUN_BLOCKED,   /* a critical quality check failed: nothing published */
    AK_RUN_FAILED,
    AK_RUN_STOPPED,   /* a continuous run stopped by a signal */
} ak_run_status_t;
const char *ak_run_status_name(ak_run_status_t s);

typedef struct ak_run_rec {
    int64_t id;
    char *product;
    char *version;
    char *trigger;        /* "once", "continuous" */
    ak_run_status_t status;
    int64_t started_us, finished_us;
    int64_t batches;
    int64_t records_in;
    int64_t deadletters;
    int64_t rows_out;
    int64_t published;    /* batches published */
    int64_t last_publish_us;
    char *message;
} ak_run_rec_t;

int ak_cat_run_begin(ak_catalog_t *c, const char *product, const char *version, const char *trigger, int64_t *id,
                     ak_err_t *err);
int ak_cat_run_update(ak_catalog_t *c, const ak_run_rec_t *r, ak_err_t *err);
int ak_cat_run_list(ak_catalog_t *c, const char *product, int limit, ak_run_rec_t **out, size_t *n, ak_err_t *err);
/* Runs left "running" by a process that died are marked failed. */
int ak_cat_run_reap(ak_catalog_t *c, const char *product, ak_err_t *err);
void ak_cat_run_free_list(ak_run_rec_t *v, size_t n);

/* ---- quality ---- */
typedef struct ak_quality_rec {
    int64_t run_id;
    char *check;
    char *severity;
    bool has_value;
    double value;
    double threshold;
    bool passed;
    char *target;         /* "candidate" */
    char *message;        /* an evaluation error, or NULL */
    int64_t at_us;
} ak_quality_rec_t;

int ak_cat_quality_add(ak_catalog_t *c, const char *product, const ak_quality_rec_t *q, ak_err_t *err);
/* The most recent result of every check of the product. */
int ak_cat_quality_latest(ak_catalog_t *c, const char *product, ak_quality_rec_t **out, size_t *n, ak_err_t *err);
void ak_cat_quality_free_list(ak_quality_rec_t *v, size_t n);

/* ---- source positions ---- */
typedef struct ak_position_rec {
    char *position;       /* source-defined text (JSON), NULL: from the start */
    int64_t log_bytes;    /* committed length of the input's change log */
    char *fingerprint;    /* of what the log holds (connection, resource, schema) */
} ak_position_rec_t;

int ak_cat_position_get(ak_catalog_t *c, const char *product, const char *input, ak_position_rec_t *out, ak_err_t *err);
int ak_cat_position_set(ak_catalog_t *c, const char *product, const char *input, const ak_position_rec_t *p, ak_err_t *err);
int ak_cat_position_reset(ak_catalog_t *c, const char *product, ak_err_t *err);
void ak_cat_position_free(ak_position_rec_t *p);

/* ---- dead letters ---- */
typedef struct ak_deadletter_rec {
    int64_t id, run_id;
    char *input;
    char *position;
    char *reason;
    char *raw;
    size_t raw_len;
    int64_t at_us;
    bool queued;         /* waiting to be read again */
    char *header;        /* a CSV line's header (NULL otherwise) */
    size_t header_len;
} ak_deadletter_rec_t;

/* A dead letter to add (borrowed strings). */
typedef struct ak_cat_deadletter {
    const char *input, *position, *reason;
    const char *raw;
    size_t raw_len;
    const char *header;  /* what reading it again needs: a CSV line's header, or NULL */
    size_t header_len;
} ak_cat_deadletter_t;

int ak_cat_deadletter_add(ak_catalog_t *c, const char *product, int64_t run_id, const ak_cat_deadletter_t *d,
                          ak_err_t *err);
int ak_cat_deadletter_list(ak_catalog_t *c, const char *product, int limit, ak_deadletter_rec_t **out, size_t *n,
                           ak_err_t *err);
int ak_cat_deadletter_count(ak_catalog_t *c, const char *product, int64_t *n, ak_err_t *err);
/* Replays: `deadletter replay` queues one (id) or all (id 0); a run reads
 * the queued ones again and, in its commit, removes each (reason NULL) or
 * records why it still fails and takes it off the queue. */
int ak_cat_deadletter_queue(ak_catalog_t *c, const char *product, int64_t id, int64_t *queued, ak_err_t *err);
int ak_cat_deadletter_queued(ak_catalog_t *c, const char *product, int limit, ak_deadletter_rec_t **out, size_t *n,
                             ak_err_t *err);
int ak_cat_deadletter_done(ak_catalog_t *c, int64_t id, const char *reason, ak_err_t *err);
void ak_cat_deadletter_free_list(ak_deadletter_rec_t *v, size_t n);

#endif
