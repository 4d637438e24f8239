/* ak_quality.h - quality checks: each check's SQL runs against the
 * candidate table ({{ this }}) and yields one number; a check fails when the
 * number is above its threshold (or the SQL cannot run).  A failing
 * `critical` check blocks publishing; a `warning` is only recorded.  A
 * check whose result is NULL or empty has nothing to object to: it passes.
 */
#ifndef AK_QUALITY_H
#define AK_QUALITY_H

#include <stdbool.h>
#include <stdint.h>

#include "ak_error.h"
#include "ak_manifest.h"
#include "ak_sql.h"

typedef struct ak_check_result {
    const ak_check_t *check;
    bool has_value;
    double value;
    bool passed;
    char *error;   /* why the check could not run, or NULL (owned) */
} ak_check_result_t;

/* Runs every check of m against `candidate`.  `env` resolves everything but
 * {{ this }} (inputs via {{ ref() }}, published tables by name) and gives the
 * clock.  results must have room for m->quality.n_checks entries.  Returns
 * -1 only for failures of akili itself (memory); a check that cannot run is
 * a failed result, not an error. */
int ak_quality_run(const ak_manifest_t *m, const ak_rel_t *candidate, const ak_sql_env_t *env,
                   ak_check_result_t *results, bool *blocked, ak_err_t *err);
void ak_quality_results_free(ak_check_result_t *r, size_t n);
/* Reads a check's value (NULL: nothing to object to; a number; anything
 * else: an error) into r. */
void ak_check_result_value(ak_check_result_t *r, const ak_val_t *v);

/* Binds every check against a table with these columns (deploy-time
 * validation); errors carry the check's file and line. */
int ak_quality_validate(const ak_manifest_t *m, const ak_rel_t *shape, const ak_sql_env_t *env, ak_err_t *err);

#endif
