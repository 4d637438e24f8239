/* ak_envref.h - `${NAME}` environment references in configuration values.
 *
 * Connection configs keep secrets out of the catalog by naming environment
 * variables: `"sasl_password": "${KAFKA_PASSWORD}"`.  The raw text is what is
 * stored and shown; the variable is read only when the value is used.
 *
 * Syntax: `${NAME}` with NAME = [A-Za-z_][A-Za-z0-9_]*; `$${` is a literal
 * `${`; any other `$` is literal.  An unterminated `${` or a bad name is an
 * error.  This module never puts a resolved value into an error message.
 */
#ifndef AK_ENVREF_H
#define AK_ENVREF_H

#include <stdbool.h>

#include "ak_error.h"

/* True if raw contains at least one `${NAME}` reference (escapes excluded). */
bool ak_env_has_refs(const char *raw);

/* Checks the reference syntax without reading the environment.  `context`
 * (e.g. "connection `production-events`, key `sasl_password`") starts the
 * error message.  0 or -1 (AK_E_CONFIG). */
int ak_env_check(const char *raw, const char *context, ak_err_t *err);

/* Substitutes every reference from the environment.  On success *out is a
 * new string the caller ak_free()s.  A missing variable fails with AK_E_CONFIG
 * naming the variable and the context; on any failure *out is NULL. */
int ak_env_resolve(const char *raw, char **out, const char *context, ak_err_t *err);

/* Whether a key names a secret by convention: it contains password, passwd,
 * secret, token, api_key/apikey, credential or private_key (any case). */
bool ak_env_key_is_secret(const char *key);

/* Display form of a value.  Non-secret values (secret false and the key not
 * secret-looking) come back unchanged; in secret ones every reference stays
 * as `${NAME}` and every literal run becomes `****`, so "${PW}" shows as
 * "${PW}" and "hunter2" as "****".  *out is a new string (ak_free); NULL and
 * -1 only on allocation failure.  `key` may be NULL. */
int ak_env_redact(const char *raw, const char *key, bool secret, char **out, ak_err_t *err);

#endif
