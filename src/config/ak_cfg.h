/* ak_cfg.h - configuration trees parsed from YAML (and JSON, its flow subset).
 *
 * A document becomes a tree of maps (ordered key/value pairs), lists and
 * scalars; every node knows its file and 1-based line and column so any later
 * error can point at the text.  Manifests and `--config '{...}'` connection
 * strings (parsed with file name "--config") go through the same code.
 *
 * What the parser rejects, with FILE:LINE:COL: YAML syntax errors (libyaml's
 * own wording), duplicate keys in a map, keys that are not scalars, aliases
 * (`*name`, which would let a small file expand without bound), NUL
 * characters in values, nesting deeper than AK_CFG_MAX_DEPTH and more than
 * one document per file.
 *
 * The typed readers (ak_cfg_int, ...) fail with AK_E_CONFIG and a message
 * like "compute.yaml:7:12: `timeout` must be a whole number of seconds or a
 * duration, got `abc`".  Values of secret-looking keys are not echoed.
 */
#ifndef AK_CFG_H
#define AK_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_error.h"

#define AK_CFG_MAX_DEPTH 64

typedef enum ak_cfg_kind { AK_CFG_SCALAR = 1, AK_CFG_MAP, AK_CFG_SEQ } ak_cfg_kind_t;

typedef enum ak_cfg_style {
    AK_CFG_PLAIN = 0,  /* bare word: `5m`, `true`, `` (empty = null) */
    AK_CFG_SINGLE,     /* 'text' */
    AK_CFG_DOUBLE,     /* "text" */
    AK_CFG_LITERAL,    /* |  block, newlines kept */
    AK_CFG_FOLDED,     /* >  block, newlines folded to spaces */
} ak_cfg_style_t;

typedef struct ak_cfg_node ak_cfg_node_t;

typedef struct ak_cfg_pair {
    ak_cfg_node_t *key;    /* always a scalar */
    ak_cfg_node_t *value;
} ak_cfg_pair_t;

struct ak_cfg_node {
    ak_cfg_kind_t kind;
    const char *file;      /* the document's file name */
    int line, col;         /* 1-based; of the value's first character (the
                              `|`/`>` indicator for block scalars) */
    /* AK_CFG_SCALAR */
    const char *text;      /* NUL-terminated, contains no NUL */
    size_t len;
    ak_cfg_style_t style;
    bool quoted;           /* any style but plain, or tagged !!str */
    /* AK_CFG_MAP: n pairs in document order; AK_CFG_SEQ: n items */
    size_t n;
    ak_cfg_pair_t *pairs;
    ak_cfg_node_t **items;
};

typedef struct ak_cfg_doc ak_cfg_doc_t;

/* Parses text[0..len) (need not be NUL-terminated).  `file` is copied and
 * used in node positions and messages.  On success *out owns every node; on
 * error *out is NULL and err says where and why (AK_E_CONFIG, or AK_E_NOMEM). */
int ak_cfg_parse(const char *file, const char *text, size_t len, ak_cfg_doc_t **out, ak_err_t *err);
void ak_cfg_free(ak_cfg_doc_t *doc);                    /* NULL is a no-op */
/* The root node; NULL for an empty document (only comments or blank). */
const ak_cfg_node_t *ak_cfg_root(const ak_cfg_doc_t *doc);
const char *ak_cfg_file(const ak_cfg_doc_t *doc);

/* Map lookup (exact key); NULL if map is NULL, not a map, or lacks the key. */
const ak_cfg_node_t *ak_cfg_get(const ak_cfg_node_t *map, const char *key);
const ak_cfg_pair_t *ak_cfg_get_pair(const ak_cfg_node_t *map, const char *key);
/* NULL, or a plain scalar `` / `~` / `null` / `Null` / `NULL`. */
bool ak_cfg_is_null(const ak_cfg_node_t *n);
/* "a map", "a list", "a scalar" or "nothing", for "got ..." messages. */
const char *ak_cfg_describe(const ak_cfg_node_t *n);

/* Sets err to AK_E_CONFIG with "FILE:LINE:COL: " + message (no position if
 * `at` is NULL) and returns -1. */
int ak_cfg_errf(ak_err_t *err, const ak_cfg_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The "got ..." part of a type error, for messages: "got `abc`" (one line,
 * shortened), "got a list", "got nothing", or, when `key` looks secret,
 * "got a value (not shown: ...)".  Writes into buf and returns it. */
const char *ak_cfg_got(const ak_cfg_node_t *v, const char *key, char *buf, size_t cap);

/* Typed reads of a value node; `key` names it in messages.  Each returns 0,
 * or -1 with err set and *out untouched.  Numbers and booleans may be quoted
 * (JSON configs often are).  A null value is "nothing" and fails. */
int ak_cfg_str(const ak_cfg_node_t *v, const char *key, const char **out, ak_err_t *err);
int ak_cfg_int(const ak_cfg_node_t *v, const char *key, int64_t *out, ak_err_t *err);
int ak_cfg_bool(const ak_cfg_node_t *v, const char *key, bool *out, ak_err_t *err);
int ak_cfg_double(const ak_cfg_node_t *v, const char *key, double *out, ak_err_t *err);
/* A duration (see ak_parse_duration): bare numbers are seconds. */
int ak_cfg_duration(const ak_cfg_node_t *v, const char *key, int64_t *us, ak_err_t *err);
/* A size in bytes (see ak_parse_memory). */
int ak_cfg_memory(const ak_cfg_node_t *v, const char *key, int64_t *bytes, ak_err_t *err);
/* A list of scalars (or, if one_ok, a single scalar as a one-item list).
 * *out is one ak_malloc block holding n pointers and the strings: release it
 * with a single ak_free(*out).  An empty list gives n == 0 and a valid *out. */
int ak_cfg_strlist(const ak_cfg_node_t *v, const char *key, bool one_ok, char ***out, size_t *n,
                   ak_err_t *err);
/* Only checks what ak_cfg_strlist would accept. */
int ak_cfg_check_strlist(const ak_cfg_node_t *v, const char *key, bool one_ok, ak_err_t *err);

/* Scalar text parsers shared with the option layer; 0 or -1 (no message). */
int ak_parse_int(const char *s, int64_t *out);       /* [+-]digits */
int ak_parse_bool(const char *s, bool *out);         /* true/false/yes/no/on/off, any case */
int ak_parse_double(const char *s, double *out);     /* decimal, optional exponent; finite */
/* Sizes: a number with an optional suffix, binary Ki Mi Gi Ti Pi Ei or
 * decimal k K M G T P E, optionally followed by B ("4Gi", "512Mi", "1.5G",
 * "64KiB", "1024").  0 or -1 (AK_E_CONFIG, quoting s). */
int ak_parse_memory(const char *s, int64_t *bytes, ak_err_t *err);

#endif
