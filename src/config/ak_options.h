/* ak_options.h - option tables: every setting declared once.
 *
 * A manifest section or a connector declares its settings in a const table
 * of ak_option_t (name, type, default, help, flags).  From that one table
 * come: validation of a config map (unknown keys with "did you mean", wrong
 * types, missing required keys, all with FILE:LINE:COL), the typed reads with
 * defaults, redacted display of secrets, and the Markdown reference in
 * docs/CONFIGURATION.md.  Tables can live anywhere; nothing is registered.
 *
 *     static const ak_option_t kafka_opts[] = {
 *         {"brokers", AK_OPT_STRING_LIST, NULL, "Bootstrap servers.", AK_OPT_REQUIRED},
 *         {"sasl_password", AK_OPT_STRING, NULL, "SASL password.", AK_OPT_SECRET | AK_OPT_ENV},
 *         {"timeout", AK_OPT_DURATION, "30s", "Connect timeout."},
 *         {"librdkafka.", AK_OPT_STRING, NULL, "Passed to librdkafka.", AK_OPT_PASSTHROUGH_PREFIX},
 *     };
 *     ak_optset_t s = AK_OPTSET(kafka_opts, root, "connection `production-events`");
 *     if (ak_optset_validate(&s, err)) ...
 *     if (ak_opt_str(&s, "sasl_password", &pw, err)) ...   // resolves ${ENV}
 *
 * A YAML null (`key:` with nothing, `~`, `null`) counts as absent.
 */
#ifndef AK_OPTIONS_H
#define AK_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_buf.h"
#include "ak_cfg.h"
#include "ak_error.h"

typedef enum ak_opt_type {
    AK_OPT_STRING = 1,   /* any scalar */
    AK_OPT_IDENT,        /* [a-z_][a-z0-9_]*: it becomes a SQL identifier */
    AK_OPT_INT,          /* whole number, within [min, max] when min < max */
    AK_OPT_NUMBER,       /* decimal number */
    AK_OPT_BOOL,         /* true/false (yes/no, on/off) */
    AK_OPT_ENUM,         /* one of `choices` ("cdc|incremental|full|append") */
    AK_OPT_DURATION,     /* "90s", "5m", "1h", bare number = seconds */
    AK_OPT_MEMORY,       /* "512Mi", "4Gi", "1G", bare number = bytes */
    AK_OPT_CRON,         /* 5-field cron or @daily etc. */
    AK_OPT_DATATYPE,     /* a column type: string, integer, timestamp, ... */
    AK_OPT_STRING_LIST,  /* a list of scalars */
    AK_OPT_NAMES,        /* a scalar or a list of scalars */
    AK_OPT_MAP,          /* a map, checked against its own table by the caller */
    AK_OPT_LIST,         /* a list, items checked by the caller */
    AK_OPT_ANY,          /* anything, unchecked */
} ak_opt_type_t;

#define AK_OPT_REQUIRED 0x01u           /* must be given (and not null) */
#define AK_OPT_SECRET 0x02u             /* never displayed except as ${NAME} */
#define AK_OPT_PASSTHROUGH_PREFIX 0x04u /* `name` is a prefix ("librdkafka."): any
                                           key starting with it is accepted */
#define AK_OPT_ENV 0x08u                /* may contain ${NAME}; resolved by ak_opt_* reads,
                                           type-checked after resolution */
#define AK_OPT_NONEMPTY 0x10u           /* lists: at least one item; strings: not "" */

typedef struct ak_option {
    const char *name;
    ak_opt_type_t type;
    const char *default_value; /* text, parsed like a value; lists comma-separated; NULL = none */
    const char *help;          /* one or two sentences, Markdown allowed */
    unsigned flags;
    const char *choices;       /* AK_OPT_ENUM: "a|b|c" */
    int64_t min, max;          /* AK_OPT_INT: inclusive range when min < max */
} ak_option_t;

/* A table, the map being read against it, and what the map is, for messages
 * ("input `clickstream`", "connection `production-events`"). */
typedef struct ak_optset {
    const ak_option_t *opts;
    size_t n;
    const ak_cfg_node_t *map;  /* NULL: nothing given, every option at its default */
    const char *what;
} ak_optset_t;

#define AK_OPTSET(table, map_, what_) \
    ((ak_optset_t){(table), sizeof(table) / sizeof((table)[0]), (map_), (what_)})

/* Checks a map against a table: it must be a map (or absent/null, which is
 * like an empty map), every key known (else "FILE:L:C: unknown key `x` in
 * WHAT; did you mean `y`?"), every value of its option's type, every required
 * option given.  0, or -1 with AK_E_CONFIG and the first problem. */
int ak_options_validate(const ak_option_t *opts, size_t n, const ak_cfg_node_t *map, const char *what,
                        ak_err_t *err);
int ak_optset_validate(const ak_optset_t *s, ak_err_t *err);

/* Checks a table itself (for unit tests): unique names, help present, every
 * default parses as its type, enum choices and defaults consistent.
 * AK_E_INTERNAL naming the bad entry. */
int ak_options_check_table(const ak_option_t *opts, size_t n, ak_err_t *err);

/* The option `name` in the table (prefix options match keys starting with
 * their name); NULL if none. */
const ak_option_t *ak_options_find(const ak_option_t *opts, size_t n, const char *name);

/* Whether `name` was given a non-null value. */
bool ak_opt_given(const ak_optset_t *s, const char *name);
/* The raw text of a scalar option (the given value, else the table's
 * default), borrowed, not env-resolved; NULL if neither.  *node (if not NULL)
 * gets the value node, or NULL when the default was used. */
const char *ak_opt_raw(const ak_optset_t *s, const char *name, const ak_cfg_node_t **node);

/* Typed reads of option `name` (it must be in the table; a name missing from
 * the table is a programming error and asserts).  The value is the given one,
 * else the default; with neither, *out is set to NULL / 0 / false / empty and
 * 0 is returned.  AK_OPT_ENV values are resolved first (a missing variable
 * fails naming it and `what`; resolved text is never put in a message).
 * Returned strings and lists are new allocations for the caller: ak_free(*out)
 * (a list is one block).  On error *out is untouched. */
int ak_opt_str(const ak_optset_t *s, const char *name, char **out, ak_err_t *err);
int ak_opt_int(const ak_optset_t *s, const char *name, int64_t *out, ak_err_t *err);
int ak_opt_double(const ak_optset_t *s, const char *name, double *out, ak_err_t *err);
int ak_opt_bool(const ak_optset_t *s, const char *name, bool *out, ak_err_t *err);
int ak_opt_duration(const ak_optset_t *s, const char *name, int64_t *us, ak_err_t *err);
int ak_opt_memory(const ak_optset_t *s, const char *name, int64_t *bytes, ak_err_t *err);
/* AK_OPT_ENUM: index of the value in `choices` (0-based); -1 when absent with
 * no default. */
int ak_opt_enum(const ak_optset_t *s, const char *name, int *index, ak_err_t *err);
int ak_opt_strlist(const ak_optset_t *s, const char *name, char ***out, size_t *n, ak_err_t *err);

/* The map as a JSON object for display: secret options (AK_OPT_SECRET or a
 * secret-looking key) are redacted with ak_env_redact; nothing is resolved.
 * Scalars that read as numbers or booleans are written bare. */
void ak_options_to_json(const ak_optset_t *s, ak_buf_t *out);

/* Markdown reference table of the options (key, type, default, description). */
void ak_options_markdown(const ak_option_t *opts, size_t n, ak_buf_t *out);

/* The column type names AK_OPT_DATATYPE accepts in messages and docs, and a
 * "did you mean" for an unknown one (NULL if nothing is close). */
const char *ak_datatype_suggest(const char *name);

/* "[a-z_][a-z0-9_]*", at most 63 characters. */
bool ak_is_ident(const char *s);

#endif
