/* ak_source.h - what a connector implements to feed an input.
 *
 * A connector is a const table of operations registered in ak_registry.c;
 * the engine never knows which connector it drives.  A source instance
 * reads one input (a connection + a resource) from a position it was opened
 * at, hands out typed change records, and reports the position that covers
 * everything handed out so far.  Positions are opaque text (JSON) stored in
 * the catalog; `commit` is called only after a checkpoint covering that
 * position is durable (a Kafka offset commit, a NATS ack, a replication
 * slot advance), so a crash never loses acknowledged data.
 *
 * Records that cannot be decoded go to the dead-letter callback with their
 * raw bytes, position and reason; they are never dropped silently.
 */
#ifndef AK_SOURCE_H
#define AK_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "ak_buf.h"
#include "ak_error.h"
#include "ak_manifest.h"
#include "ak_options.h"
#include "ak_record.h"

#define AK_SOURCE_ABI 1

/* A connection as the connector sees it: its validated options. */
typedef struct ak_conn {
    const char *name;
    const char *type;
    ak_optset_t opts;       /* the connection's config against the connector's table */
    const char *product;    /* the product a run opens it for (default consumer group, slot
                               names); NULL for `connection test` */
} ak_conn_t;

typedef struct ak_source ak_source_t;  /* a connector's own instance type */

/* A record that could not be decoded: its raw bytes, where it was, why, and
 * what reading it again needs besides the bytes (a CSV line: the header of
 * its file; NULL otherwise). */
typedef struct ak_dead {
    const char *position, *reason;
    const char *raw;
    size_t n;
    const char *header;
    size_t header_n;
} ak_dead_t;

/* Dead-letter sink: 0, or -1 with err (the run then fails). */
typedef int (*ak_dead_fn)(void *ctx, const ak_dead_t *d, ak_err_t *err);

typedef enum ak_poll_rc {
    AK_POLL_ERROR = -1,
    AK_POLL_IDLE = 0,   /* nothing more right now (or, when draining, at all) */
    AK_POLL_MORE = 1,   /* stopped at `max`; more is waiting */
} ak_poll_rc_t;

typedef struct ak_source_ops {
    int abi_version;                /* AK_SOURCE_ABI */
    const char *name;               /* connector type: "file" */
    const char *summary;            /* one line for `--help` and docs */
    const ak_option_t *options;     /* the connection config keys */
    size_t n_options;
    bool built;                     /* false: accepted by `connection create`, refused at use */
    /* Connects and describes what it found (resources, versions) in report. */
    int (*test)(const ak_conn_t *c, ak_buf_t *report, ak_err_t *err);
    /* position NULL: from the beginning. */
    int (*open)(const ak_conn_t *c, const ak_input_t *in, const char *position, ak_source_t **out, ak_err_t *err);
    /* Appends up to `max` records.  `drain`: the caller wants everything up
     * to now (a `--once` run), so partial trailing data that will never be
     * completed is decoded or dead-lettered rather than waited for. */
    ak_poll_rc_t (*poll)(ak_source_t *s, ak_batch_t *out, size_t max, bool drain, ak_dead_fn dead, void *dead_ctx,
                         ak_err_t *err);
    /* The position after everything polled so far; NULL on OOM (owned by the caller). */
    char *(*position)(ak_source_t *s);
    int (*commit)(ak_source_t *s, const char *position, ak_err_t *err);
    void (*close)(ak_source_t *s);
} ak_source_ops_t;

const ak_source_ops_t *ak_source_find(const char *type);
const ak_source_ops_t *const *ak_source_all(size_t *n);

/* Parses and validates a connection's JSON config for its type.  On success
 * *doc owns the tree and c->opts points into it. */
int ak_conn_load(const char *name, const char *type, const char *config_json, ak_conn_t *c, ak_cfg_doc_t **doc,
                 const ak_source_ops_t **ops, ak_err_t *err);

/* The connectors. */
extern const ak_source_ops_t ak_source_file;
extern const ak_source_ops_t ak_source_generator;
extern const ak_source_ops_t ak_source_kafka;
extern const ak_source_ops_t ak_source_redpanda;
extern const ak_source_ops_t ak_source_postgres;
extern const ak_source_ops_t ak_source_nats;

#endif
