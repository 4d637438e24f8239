/* ak_nats.h - the NATS JetStream connector's shared pieces (internal to
 * src/sources/nats): its connection config, connecting with libnats,
 * turning libnats failures into errors a user can act on, and the NATS
 * subject patterns.
 *
 * Secrets (password, token, credentials inside a URL) never reach a
 * message: every error text built here is scrubbed, and URLs are shown
 * without their user info.
 */
#ifndef AK_NATS_H
#define AK_NATS_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>

#include "ak_source.h"

typedef struct ak_nats_cfg {
    char *url;          /* as configured (may hold user info: never shown) */
    char *url_shown;    /* the same without user info */
    char *stream;
    char *durable;      /* NULL if not given */
    char *user, *password, *token;
    char **subjects;    /* one block; n_subjects 0: every subject of the stream */
    size_t n_subjects;
} ak_nats_cfg_t;

int ak_nats_cfg_load(const ak_conn_t *c, ak_nats_cfg_t *cfg, ak_err_t *err);
void ak_nats_cfg_free(ak_nats_cfg_t *cfg);

/* Connects; `reconnect`: keep reconnecting after a loss (runs), else give
 * up at once (`connection test`).  Fails with the URL tried and the cause. */
int ak_nats_connect(const ak_nats_cfg_t *cfg, const char *client_name, bool reconnect, natsConnection **nc,
                    jsCtx **js, ak_err_t *err);

/* The stream's info, or an error that lists the streams that exist (or
 * says JetStream is off). */
int ak_nats_stream_info(const ak_nats_cfg_t *cfg, jsCtx *js, jsStreamInfo **si, ak_err_t *err);

/* err from a failed libnats call: "<what>: <libnats's reason>", scrubbed;
 * retriable when the failure is the connection's (lost, timed out). */
int ak_nats_fail(const ak_nats_cfg_t *cfg, ak_err_t *err, natsStatus s, jsErrCode jerr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Whether a status means the connection (not the request) failed. */
bool ak_nats_transient(natsStatus s);

/* -1 with a retriable error if the connection is not up right now. */
int ak_nats_check_up(const ak_nats_cfg_t *cfg, natsConnection *nc, ak_err_t *err);

/* Replaces the secrets of cfg and any URL user info in msg (in place). */
void ak_nats_scrub(const ak_nats_cfg_t *cfg, char *msg, size_t cap);

/* NATS subjects: `subject` (concrete) matches pattern `pat` (`*` one
 * token, `>` the rest); pattern `a` lies within pattern `b` (every subject
 * a matches, b matches). */
bool ak_nats_subject_match(const char *pat, const char *subject);
bool ak_nats_subject_within(const char *a, const char *b);

/* `connection test`. */
int ak_nats_test(const ak_conn_t *c, ak_buf_t *report, ak_err_t *err);

#endif
