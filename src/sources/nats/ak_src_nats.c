/* ak_src_nats.c - the `nats` connector: NATS JetStream subjects carrying
 * Debezium envelopes (or plain JSON rows).
 *
 * Config {"url", "stream", "subjects": [...], "durable", "user"/"password"
 * or "token"}.  Each input reads the stream through its own durable pull
 * consumer (AckPolicy all, a long ack wait), created when missing.  The
 * input's `resource` says which messages are its own:
 *
 *   a subject or subject prefix   `cdc.payments` (when a configured subject
 *                                 lies within it, or it has a wildcard): the
 *                                 messages on `cdc.payments` and
 *                                 `cdc.payments.>`;
 *   a table                       `payments` or `public.payments`: the
 *                                 envelopes whose source.table (and
 *                                 source.schema, or source.db) match.
 *
 * Messages of other tables or subjects are skipped; messages that cannot be
 * decoded are dead letters.  nats-server 2.9 gives a consumer one filter
 * subject: when the input's messages lie within exactly one pattern it is
 * the consumer's filter, otherwise the consumer reads the whole stream and
 * the subjects are matched here.
 *
 * The position is the stream sequence of the last message handed out.
 * Messages are acknowledged only in commit, once akili's checkpoint holds
 * them: one AckAll of the newest message at or below the committed
 * sequence.  Redeliveries at or below the position are skipped.  The
 * consumer's delivery sequence must grow by one per delivery (this input is
 * its only reader): a gap means deliveries were lost on the way (a
 * connection cut while a batch was in flight), and the consumer is
 * recreated to start after the committed sequence, so nothing is lost and
 * nothing is applied twice.  The same happens at open when the server-side
 * consumer is behind, ahead of, or unlike what the checkpoint needs.
 */
#include "ak_nats.h"

#include "ak_alloc.h"
#include "ak_cfg.h"
#include "ak_json_decode.h"
#include "ak_log.h"
#include "ak_time.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_WAIT_MS 100         /* a continuous run's poll with nothing new returns after this */
#define DRAIN_WAIT_MS 250         /* a --once run's wait before asking the consumer what is left */
#define DRAIN_STALL_US (15 * AK_US_PER_SEC)
#define DUP_STREAK_US AK_US_PER_SEC /* fetching only redeliveries this long: stop and let acks catch up */
#define MAX_FETCH 4096
#define NS_PER_US 1000

static const ak_option_t nats_opts[] = {
    {"url", AK_OPT_STRING, "nats://127.0.0.1:4222", "Server URL (several: comma-separated).", AK_OPT_ENV},
    {"stream", AK_OPT_STRING, NULL, "JetStream stream name.", AK_OPT_REQUIRED},
    {"subjects", AK_OPT_NAMES, NULL, "Subjects to consume (wildcards allowed).", AK_OPT_NONEMPTY},
    {"durable", AK_OPT_STRING, NULL, "Durable consumer name.", 0},
    {"user", AK_OPT_STRING, NULL, "User name.", AK_OPT_ENV},
    {"password", AK_OPT_STRING, NULL, "Password; write `${ENV_VAR}`.", AK_OPT_ENV | AK_OPT_SECRET},
    {"token", AK_OPT_STRING, NULL, "Auth token; write `${ENV_VAR}`.", AK_OPT_ENV | AK_OPT_SECRET},
};

/* per-input `options:` */
static const ak_option_t input_opts[] = {
    {"durable", AK_OPT_STRING, NULL,
     "Durable consumer of this input (default: the connection's `durable` + `_` + the input name, else "
     "`akili_<product>_<input>`).",
     0},
    {"ack_wait", AK_OPT_DURATION, "30m",
     "How long the server waits for an acknowledgement before delivering a message again (acks follow akili's "
     "checkpoints).",
     0},
    {"match", AK_OPT_ENUM, "auto",
     "How the resource picks messages: `subject` (a subject, subject prefix or pattern), `table` (`table` or "
     "`schema.table` against the envelope's source), or `auto`: a subject when it has wildcards or overlaps the "
     "connection's `subjects`, else a table.",
     0, "auto|subject|table"},
    {"max_ack_pending", AK_OPT_INT, "1000000",
     "Most messages handed out and not yet acknowledged; a `--once` run reads at most this many.", 0, NULL, 1,
     1000000000},
};

typedef enum res_kind { RES_SUBJECT, RES_TABLE } res_kind_t;

typedef struct retained {
    uint64_t seq;
    char *reply;  /* the ack subject of the newest message of a poll */
} retained_t;

typedef struct nats_src {
    const ak_input_t *in;
    ak_nats_cfg_t cfg;
    char tag[200];
    char *consumer;
    char *filter;          /* the consumer's filter subject, or NULL */
    res_kind_t kind;
    const char *res;       /* the input's resource */
    char *schema, *table;  /* RES_TABLE: schema may be NULL */
    bool check_subjects;   /* match subjects here (no single filter covers them) */
    int64_t ack_wait_ns, max_ack_pending;
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *sub;
    ak_json_decoder_t *jd;
    uint64_t pos;          /* stream sequence of the last message handed out */
    uint64_t committed;    /* the last position akili's checkpoint holds */
    uint64_t acked;        /* the last sequence acknowledged */
    uint64_t next_dseq;    /* the consumer's next delivery sequence */
    uint64_t drain_to;     /* the stream's last sequence at open */
    bool drained, resync;
    const char *resync_why; /* what made the consumer unusable, for the log */
    int64_t stall_since;
    retained_t *ret;
    size_t nret, cap_ret;
    uint64_t skipped_other, skipped_dup;
} nats_src_t;

/* ---------------------------------------------------------------- names */

static char *sanitize(const char *s)
{
    char *o = ak_strdup(s);
    for (char *p = o; p && *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            *p = '_';
    return o;
}

static int consumer_name(nats_src_t *s, const ak_conn_t *c, const ak_optset_t *io, ak_err_t *err)
{
    char *given = NULL;
    if (ak_opt_str(io, "durable", &given, err))
        return -1;
    char buf[512];
    if (given)
        snprintf(buf, sizeof buf, "%s", given);
    else if (s->cfg.durable)
        snprintf(buf, sizeof buf, "%s_%s", s->cfg.durable, s->in->name);
    else
        snprintf(buf, sizeof buf, "akili_%s_%s", c->product ? c->product : "akili", s->in->name);
    ak_free(given);
    if (!(s->consumer = sanitize(buf)))
        return ak_err_nomem(err);
    return 0;
}

/* Pattern p lies within resource r taken as a subject prefix (r, r.>) or,
 * with wildcards, as a pattern. */
static bool inside_res(const char *p, const char *r, bool wild)
{
    size_t n = strlen(r);
    return wild ? ak_nats_subject_within(p, r) : strcmp(p, r) == 0 || (strncmp(p, r, n) == 0 && p[n] == '.');
}

/* Resource r (as a subject prefix or pattern) is covered by pattern p. */
static bool covered_by(const char *r, const char *p, bool wild)
{
    if (wild)
        return ak_nats_subject_within(r, p);
    char buf[600];
    snprintf(buf, sizeof buf, "%s.>", r);
    return ak_nats_subject_match(p, r) || ak_nats_subject_within(buf, p);
}

/* The resource: a subject (prefix) or a table, and the consumer's filter:
 * one pattern when it alone holds the input's messages, else none (the
 * subjects are matched here). */
static int resolve(nats_src_t *s, int match, ak_err_t *err)
{
    const char *r = s->res;
    const ak_nats_cfg_t *cfg = &s->cfg;
    bool wild = strchr(r, '*') || strchr(r, '>');
    size_t inside = 0, covered = 0;
    const char *in_one = NULL;
    for (size_t i = 0; i < cfg->n_subjects; i++) {
        if (inside_res(cfg->subjects[i], r, wild)) {
            inside++;
            in_one = cfg->subjects[i];
        } else if (covered_by(r, cfg->subjects[i], wild)) {
            covered++;
        }
    }
    /* auto: a subject when it has wildcards or overlaps the subjects */
    bool subj = match == 1 || (match <= 0 && (wild || inside || covered));
    const char *only = NULL;
    if (subj) {
        s->kind = RES_SUBJECT;
        if (cfg->n_subjects && !inside && !covered)
            return ak_errf(err, AK_E_CONFIG,
                           "resource `%s` is none of the connection's subjects and lies within none of them", r);
        if (inside == 1 && !covered)
            only = in_one;
        else if (!inside && wild)
            only = r; /* a pattern narrower than the configured ones (or none configured) */
    } else {
        s->kind = RES_TABLE;
        const char *dot = strrchr(r, '.');
        if (dot) {
            s->schema = ak_strndup(r, (size_t)(dot - r));
            s->table = ak_strdup(dot + 1);
        } else {
            s->table = ak_strdup(r);
        }
        if (!s->table || (dot && !s->schema))
            return ak_err_nomem(err);
        if (!*s->table || (dot && !*s->schema))
            return ak_errf(err, AK_E_CONFIG, "resource `%s` is not `table` or `schema.table`", r);
        only = cfg->n_subjects == 1 ? cfg->subjects[0] : NULL;
    }
    if (only && !(s->filter = ak_strdup(only)))
        return ak_err_nomem(err);
    s->check_subjects = !only;
    return 0;
}

/* Whether a message on `subject` is this input's (before looking at it). */
static bool subject_ok(const nats_src_t *s, const char *subject)
{
    if (!s->check_subjects)
        return true;
    bool any = s->cfg.n_subjects == 0;
    for (size_t i = 0; i < s->cfg.n_subjects && !any; i++)
        any = ak_nats_subject_match(s->cfg.subjects[i], subject);
    if (!any)
        return false;
    if (s->kind == RES_TABLE)
        return true;
    const char *r = s->res;
    if (strchr(r, '*') || strchr(r, '>'))
        return ak_nats_subject_match(r, subject);
    size_t n = strlen(r);
    return strncmp(subject, r, n) == 0 && (subject[n] == '\0' || subject[n] == '.');
}

/* ---------------------------------------------------------------- envelope source */

typedef struct span {
    const char *p;
    size_t n;
} span_t;

typedef struct srcinfo {
    bool found;
    span_t table, schema, db;
} srcinfo_t;

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* After the closing quote of the string at p, or NULL. */
static const char *str_end(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* After any value at p (not validated: the decoder does that), or NULL. */
static const char *skip_value(const char *p, const char *e)
{
    if (p >= e)
        return NULL;
    if (*p == '"')
        return str_end(p, e);
    if (*p != '{' && *p != '[') {
        while (p < e && *p != ',' && *p != '}' && *p != ']')
            p++;
        return p;
    }
    int depth = 0;
    while (p < e) {
        if (*p == '"') {
            if (!(p = str_end(p, e)))
                return NULL;
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0)
            return p + 1;
        p++;
    }
    return NULL;
}

static bool key_is(span_t k, const char *name) { return k.n == strlen(name) && memcmp(k.p, name, k.n) == 0; }

/* Walks the object at p; level 0 the message, 1 a Connect payload, 2 the
 * `source` object.  Returns false on malformed input. */
static bool walk(const char *p, const char *e, int level, srcinfo_t *si)
{
    p = ws(p, e);
    if (p >= e || *p != '{')
        return false;
    p = ws(p + 1, e);
    if (p < e && *p == '}')
        return true;
    while (p < e) {
        if (*p != '"')
            return false;
        const char *ke = str_end(p, e);
        if (!ke)
            return false;
        span_t k = {p + 1, (size_t)(ke - p - 2)};
        p = ws(ke, e);
        if (p >= e || *p != ':')
            return false;
        p = ws(p + 1, e);
        const char *ve = skip_value(p, e);
        if (!ve)
            return false;
        if (level < 2 && *p == '{' && key_is(k, "source")) {
            si->found = true;
            walk(p, ve, 2, si);
        } else if (level == 0 && *p == '{' && key_is(k, "payload")) {
            walk(p, ve, 1, si);
        } else if (level == 2 && *p == '"') {
            span_t v = {p + 1, (size_t)(ve - p - 2)};
            if (key_is(k, "table"))
                si->table = v;
            else if (key_is(k, "schema"))
                si->schema = v;
            else if (key_is(k, "db"))
                si->db = v;
        }
        p = ws(ve, e);
        if (p < e && *p == ',')
            p = ws(p + 1, e);
        else
            return p < e && *p == '}';
    }
    return false;
}

static bool span_eq(span_t v, const char *s) { return v.p && v.n == strlen(s) && memcmp(v.p, s, v.n) == 0; }

/* ---------------------------------------------------------------- consumer */

static void drop_retained(nats_src_t *s, uint64_t upto)
{
    size_t k = 0;
    for (size_t i = 0; i < s->nret; i++) {
        if (s->ret[i].seq <= upto)
            ak_free(s->ret[i].reply);
        else
            s->ret[k++] = s->ret[i];
    }
    s->nret = k;
}

static void unsubscribe(nats_src_t *s)
{
    /* Destroy, not Unsubscribe: the durable consumer stays */
    natsSubscription_Destroy(s->sub);
    s->sub = NULL;
}

/* Whether the server-side consumer can be used as it is for a reader
 * whose checkpoint is at s->committed. */
static bool consumer_fits(const nats_src_t *s, const jsConsumerInfo *ci)
{
    const jsConsumerConfig *cc = ci->Config;
    if (!cc)
        return false;
    const char *f = cc->FilterSubject && *cc->FilterSubject ? cc->FilterSubject : NULL;
    if ((f == NULL) != (s->filter == NULL) || (f && strcmp(f, s->filter) != 0))
        return false;
    if (cc->AckPolicy != js_AckAll || cc->AckWait != s->ack_wait_ns || cc->MaxAckPending != s->max_ack_pending ||
        (cc->DeliverSubject && *cc->DeliverSubject))
        return false;
    if (ci->NumAckPending != 0)
        return false;
    return s->committed ? ci->Delivered.Stream == s->committed : ci->Delivered.Consumer == 0;
}

/* Creates (or recreates) the consumer to continue from s->committed. */
static int create_consumer(nats_src_t *s, bool exists, ak_err_t *err)
{
    jsErrCode jerr = 0;
    if (exists) {
        natsStatus d = js_DeleteConsumer(s->js, s->cfg.stream, s->consumer, NULL, &jerr);
        if (d != NATS_OK && jerr != JSConsumerNotFoundErr && d != NATS_NOT_FOUND)
            return ak_nats_fail(&s->cfg, err, d, jerr, "cannot replace consumer `%s` of stream `%s`",
                                s->consumer, s->cfg.stream);
        jerr = 0;
    }
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = s->consumer;
    cc.Description = "akili input";
    cc.AckPolicy = js_AckAll;
    cc.AckWait = s->ack_wait_ns;
    cc.MaxAckPending = s->max_ack_pending;
    cc.MaxDeliver = -1;
    cc.FilterSubject = s->filter;
    if (s->committed) {
        /* from the last message the checkpoint holds: it comes again, is
         * skipped, and acknowledging it puts the new consumer's ack floor
         * at the checkpoint */
        cc.DeliverPolicy = js_DeliverByStartSequence;
        cc.OptStartSeq = s->committed;
    } else {
        cc.DeliverPolicy = js_DeliverAll;
    }
    jsConsumerInfo *ci = NULL;
    natsStatus st = js_AddConsumer(&ci, s->js, s->cfg.stream, &cc, NULL, &jerr);
    if (st != NATS_OK)
        return ak_nats_fail(&s->cfg, err, st, jerr, "cannot create consumer `%s` on stream `%s`%s%s",
                            s->consumer, s->cfg.stream, s->filter ? " for subject " : "",
                            s->filter ? s->filter : "");
    jsConsumerInfo_Destroy(ci);
    s->next_dseq = 1;
    s->acked = 0;
    return 0;
}

static int subscribe(nats_src_t *s, ak_err_t *err)
{
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = s->cfg.stream;
    so.Consumer = s->consumer;
    jsErrCode jerr = 0;
    natsStatus st = js_PullSubscribe(&s->sub, s->js, NULL, s->consumer, NULL, &so, &jerr);
    if (st != NATS_OK) {
        s->sub = NULL;
        return ak_nats_fail(&s->cfg, err, st, jerr, "cannot read consumer `%s` of stream `%s`",
                            s->consumer, s->cfg.stream);
    }
    /* a backlog is fetched in large batches: let the subscription hold them */
    natsSubscription_SetPendingLimits(s->sub, -1, -1);
    return 0;
}

/* Binds to the consumer, creating or replacing it as the checkpoint needs. */
static int attach(nats_src_t *s, ak_err_t *err)
{
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus st = js_GetConsumerInfo(&ci, s->js, s->cfg.stream, s->consumer, NULL, &jerr);
    bool exists = st == NATS_OK;
    if (st != NATS_OK && st != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr)
        return ak_nats_fail(&s->cfg, err, st, jerr, "cannot read consumer `%s` of stream `%s`",
                            s->consumer, s->cfg.stream);
    if (exists && consumer_fits(s, ci)) {
        s->next_dseq = ci->Delivered.Consumer + 1;
        s->acked = ci->AckFloor.Stream;
        ak_log_debug(s->tag, "consumer `%s` resumes after stream sequence %" PRIu64, s->consumer, s->committed);
    } else {
        if (exists)
            ak_log_info(s->tag,
                        "consumer `%s` delivered up to stream sequence %" PRIu64 " (%" PRId64
                        " unacknowledged); the checkpoint is at %" PRIu64 ": recreating it to continue from there",
                        s->consumer, ci->Delivered.Stream, ci->NumAckPending, s->committed);
        if (create_consumer(s, exists, err)) {
            jsConsumerInfo_Destroy(ci);
            return -1;
        }
    }
    jsConsumerInfo_Destroy(ci);
    return subscribe(s, err);
}

/* After lost deliveries: start again from the checkpoint.  Messages up to
 * the position come again and are skipped (the newest of them is kept for
 * the next acknowledgement). */
static int resync(nats_src_t *s, ak_err_t *err)
{
    ak_log_warn(s->tag, "%s; recreating consumer `%s` to read again from stream sequence %" PRIu64,
                s->resync_why ? s->resync_why : "the consumer is out of step", s->consumer, s->committed);
    unsubscribe(s);
    drop_retained(s, UINT64_MAX); /* their ack subjects belong to the old consumer */
    if (create_consumer(s, true, err) || subscribe(s, err))
        return -1;
    s->resync = false;
    return 0;
}

/* ---------------------------------------------------------------- open / close */

static int parse_position(nats_src_t *s, const char *pos, ak_err_t *err)
{
    ak_cfg_doc_t *doc;
    if (ak_cfg_parse("position", pos, strlen(pos), &doc, err))
        return -1;
    const ak_cfg_node_t *root = ak_cfg_root(doc);
    const ak_cfg_node_t *st = root ? ak_cfg_get(root, "stream") : NULL, *sq = root ? ak_cfg_get(root, "seq") : NULL;
    int64_t seq = 0;
    int rc = 0;
    ak_err_t e2;
    if (!st || st->kind != AK_CFG_SCALAR || !sq || ak_cfg_int(sq, "seq", &seq, &e2) || seq < 0)
        rc = ak_errf(err, AK_E_CORRUPT, "unreadable NATS position `%s`", pos);
    else if (strcmp(st->text, s->cfg.stream) != 0)
        rc = ak_errf(err, AK_E_STATE,
                     "the checkpoint is a position in stream `%s`, but the connection now reads stream "
                     "`%s`; to read the new stream from its start use `akili run reset`",
                     st->text, s->cfg.stream);
    else
        s->pos = s->committed = (uint64_t)seq;
    ak_cfg_free(doc);
    return rc;
}

static void nats_close(ak_source_t *src)
{
    nats_src_t *s = (nats_src_t *)src;
    if (!s)
        return;
    if (s->skipped_other || s->skipped_dup)
        ak_log_debug(s->tag, "skipped %" PRIu64 " messages of other tables/subjects and %" PRIu64 " redeliveries",
                     s->skipped_other, s->skipped_dup);
    unsubscribe(s);
    jsCtx_Destroy(s->js);
    natsConnection_Destroy(s->nc);
    drop_retained(s, UINT64_MAX);
    ak_free(s->ret);
    ak_json_decoder_free(s->jd);
    ak_free(s->consumer);
    ak_free(s->filter);
    ak_free(s->schema);
    ak_free(s->table);
    ak_nats_cfg_free(&s->cfg);
    ak_free(s);
}

static int nats_open(const ak_conn_t *c, const ak_input_t *in, const char *position, ak_source_t **out,
                     ak_err_t *err)
{
    *out = NULL;
    nats_src_t *s = ak_calloc(1, sizeof *s);
    if (!s)
        return ak_err_nomem(err);
    s->in = in;
    s->res = in->resource && *in->resource ? in->resource : in->name;
    snprintf(s->tag, sizeof s->tag, "%s/%s", c->product ? c->product : "nats", in->name);
    char what[300];
    snprintf(what, sizeof what, "the `options` of input `%s` (nats)", in->name);
    ak_optset_t io = {input_opts, sizeof input_opts / sizeof input_opts[0], in->options, what};
    int64_t wait_us = 0;
    int match = 0;
    if (ak_optset_validate(&io, err) || ak_opt_duration(&io, "ack_wait", &wait_us, err) ||
        ak_opt_enum(&io, "match", &match, err) ||
        ak_opt_int(&io, "max_ack_pending", &s->max_ack_pending, err) || ak_nats_cfg_load(c, &s->cfg, err))
        goto fail;
    s->ack_wait_ns = (wait_us > 0 ? wait_us : 1800 * AK_US_PER_SEC) * NS_PER_US;
    if (consumer_name(s, c, &io, err) || resolve(s, match, err) || ak_json_decoder_new(&in->schema, &s->jd, err))
        goto fail;
    if (position && parse_position(s, position, err))
        goto fail;
    char client[300];
    snprintf(client, sizeof client, "akili %s", s->tag);
    if (ak_nats_connect(&s->cfg, client, true, &s->nc, &s->js, err))
        goto fail;
    jsStreamInfo *si = NULL;
    if (ak_nats_stream_info(&s->cfg, s->js, &si, err))
        goto fail;
    uint64_t first = si->State.FirstSeq, last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    if (s->pos > last) {
        ak_errf(err, AK_E_STATE,
                "the checkpoint is at sequence %" PRIu64 " of stream `%s`, but the stream ends at %" PRIu64
                ": it was recreated or purged. To read it again from its start use `akili run reset`",
                s->pos, s->cfg.stream, last);
        goto fail;
    }
    if (s->pos && first > s->pos + 1)
        ak_log_warn(s->tag, "stream `%s` no longer holds sequences %" PRIu64 "..%" PRIu64
                            " (removed by its limits before they were read); continuing at %" PRIu64,
                    s->cfg.stream, s->pos + 1, first - 1, first);
    s->drain_to = last;
    if (attach(s, err))
        goto fail;
    *out = (ak_source_t *)s;
    return 0;
fail:
    ak_err_prefix(err, "input `%s`", in->name);
    nats_close((ak_source_t *)s);
    return -1;
}

/* ---------------------------------------------------------------- poll */

static int dead_letter(nats_src_t *s, ak_dead_fn dead, void *ctx, uint64_t seq, const char *subject,
                       const char *reason, const char *raw, size_t n, ak_err_t *err)
{
    char pos[600];
    snprintf(pos, sizeof pos, "stream %s seq %" PRIu64 " (subject %s)", s->cfg.stream, seq, subject);
    ak_dead_t d = {pos, reason, raw, n, NULL, 0};
    return dead(ctx, &d, err);
}

/* Decodes one message of this input; -1 only when the run must stop. */
static int take(nats_src_t *s, natsMsg *m, uint64_t seq, ak_batch_t *out, ak_dead_fn dead, void *ctx,
                ak_err_t *err)
{
    const char *subject = natsMsg_GetSubject(m);
    const char *data = natsMsg_GetData(m);
    int len = natsMsg_GetDataLength(m);
    size_t n = len > 0 ? (size_t)len : 0;
    if (!data)
        data = "";
    if (!subject_ok(s, subject)) {
        s->skipped_other++;
        return 0;
    }
    srcinfo_t si = {0};
    if (s->kind == RES_TABLE) {
        walk(data, data + n, 0, &si);
        if (si.found) {
            bool ok = span_eq(si.table, s->table) &&
                      (!s->schema || span_eq(si.schema, s->schema) || (!si.schema.p && span_eq(si.db, s->schema)));
            if (!ok) {
                s->skipped_other++;
                return 0;
            }
        }
    }
    size_t before = out->n;
    ak_err_t e2;
    ak_err_clear(&e2);
    int r = ak_json_decode(s->jd, data, n, seq, out, &e2);
    if (r < 0 && e2.code == AK_E_NOMEM)
        return ak_err_nomem(err);
    if (r > 0 && s->kind == RES_TABLE && !si.found) {
        /* cannot tell whose it is: keep it rather than guess */
        while (out->n > before)
            ak_batch_pop(out);
        snprintf(e2.msg, sizeof e2.msg,
                 "no `source.table` in the message, so it cannot be matched to input `%s` (table `%s%s%s`); "
                 "give the input a subject as its resource to take every message on it",
                 s->in->name, s->schema ? s->schema : "", s->schema ? "." : "", s->table);
        r = -1;
    }
    if (r < 0)
        return dead_letter(s, dead, ctx, seq, subject, e2.msg, data, n, err);
    return 0;
}

static int retain(nats_src_t *s, uint64_t seq, const char *reply, ak_err_t *err)
{
    if (!reply || seq <= s->acked)
        return 0;
    if (AK_GROW(s->ret, s->cap_ret, s->nret + 1))
        return ak_err_nomem(err);
    if (!(s->ret[s->nret].reply = ak_strdup(reply)))
        return ak_err_nomem(err);
    s->ret[s->nret++].seq = seq;
    return 0;
}

static int ack_committed(nats_src_t *s, ak_err_t *err);

/* In a --once run with nothing delivered: is everything read? */
static int drain_check(nats_src_t *s, bool *done, ak_err_t *err)
{
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus st = js_GetConsumerInfo(&ci, s->js, s->cfg.stream, s->consumer, NULL, &jerr);
    if (st != NATS_OK) {
        if (st == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
            s->resync = true; /* deleted under us: recreate it */
            s->resync_why = "the consumer is gone";
            *done = false;
            return 0;
        }
        return ak_nats_fail(&s->cfg, err, st, jerr, "cannot read consumer `%s`", s->consumer);
    }
    *done = ci->NumPending == 0;
    if (!*done && ci->NumAckPending >= s->max_ack_pending) {
        ak_log_warn(s->tag,
                    "%" PRId64 " messages are out unacknowledged (the input's max_ack_pending); this run stops "
                    "here and the next one continues after it",
                    ci->NumAckPending);
        *done = true;
    }
    jsConsumerInfo_Destroy(ci);
    return 0;
}

static ak_poll_rc_t nats_poll(ak_source_t *src, ak_batch_t *out, size_t max, bool drain, ak_dead_fn dead,
                              void *ctx, ak_err_t *err)
{
    nats_src_t *s = (nats_src_t *)src;
    if (drain && s->drained)
        return AK_POLL_IDLE;
    if (drain && s->pos >= s->drain_to && s->acked >= s->committed) {
        s->drained = true;
        return AK_POLL_IDLE;
    }
    int batch = max > MAX_FETCH ? MAX_FETCH : max < 1 ? 1 : (int)max;
    int64_t dup_since = 0;
    for (;;) {
        if (ak_nats_check_up(&s->cfg, s->nc, err))
            return AK_POLL_ERROR;
        if ((s->resync || !s->sub) && (s->sub ? resync(s, err) : attach(s, err)))
            return AK_POLL_ERROR;
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus st = natsSubscription_Fetch(&list, s->sub, batch, drain ? DRAIN_WAIT_MS : FETCH_WAIT_MS, &jerr);
        if (st == NATS_TIMEOUT || (st == NATS_OK && list.Count == 0)) {
            natsMsgList_Destroy(&list);
            if (ak_nats_check_up(&s->cfg, s->nc, err))
                return AK_POLL_ERROR;
            if (!drain)
                return AK_POLL_IDLE;
            bool done = false;
            if (drain_check(s, &done, err))
                return AK_POLL_ERROR;
            if (done) {
                s->drained = true;
                return AK_POLL_IDLE;
            }
            int64_t now = ak_mono_us();
            if (!s->stall_since)
                s->stall_since = now;
            if (now - s->stall_since > DRAIN_STALL_US) {
                s->stall_since = 0;
                ak_errf(err, AK_E_CONNECT,
                        "consumer `%s` of stream `%s` reports messages pending but delivered none for %d s",
                        s->consumer, s->cfg.stream, (int)(DRAIN_STALL_US / AK_US_PER_SEC));
                err->retriable = true;
                return AK_POLL_ERROR;
            }
            continue;
        }
        if (st != NATS_OK) {
            natsMsgList_Destroy(&list);
            if (jerr == JSConsumerNotFoundErr || st == NATS_NOT_FOUND) {
                s->resync = true;
                s->resync_why = "the consumer is gone";
                continue;
            }
            ak_nats_fail(&s->cfg, err, st, jerr, "fetching from consumer `%s` of stream `%s`",
                         s->consumer, s->cfg.stream);
            err->retriable = true; /* the server or the connection; the consumer is recreated if needed */
            /* anything but a cut connection may mean the consumer is gone */
            if (!s->resync && st != NATS_CONNECTION_DISCONNECTED) {
                s->resync = true;
                s->resync_why = "fetching failed";
            }
            return AK_POLL_ERROR;
        }
        s->stall_since = 0;
        uint64_t top = 0, pos_before = s->pos;
        size_t n_before = out->n;
        const char *top_reply = NULL;
        bool caught_up = false;
        int rc = 0;
        for (int i = 0; i < list.Count && rc == 0; i++) {
            natsMsg *m = list.Msgs[i];
            jsMsgMetaData *md = NULL;
            if (natsMsg_GetMetaData(&md, m) != NATS_OK) {
                ak_log_warn(s->tag, "a message without JetStream metadata on %s was ignored", natsMsg_GetSubject(m));
                continue;
            }
            uint64_t dseq = md->Sequence.Consumer, seq = md->Sequence.Stream;
            caught_up = md->NumPending == 0;
            jsMsgMetaData_Destroy(md);
            if (dseq > s->next_dseq) {
                s->resync = true; /* deliveries were lost: the rest of this batch comes again */
                s->resync_why = "deliveries of the consumer were lost on the way (a connection cut, or another "
                                "reader of it)";
                break;
            }
            if (dseq < s->next_dseq)
                continue; /* a stale delivery */
            s->next_dseq = dseq + 1;
            if (seq > top) {
                top = seq;
                top_reply = natsMsg_GetReply(m);
            }
            if (seq <= s->pos) {
                s->skipped_dup++;
                continue;
            }
            s->pos = seq;
            rc = take(s, m, seq, out, dead, ctx, err);
        }
        if (rc == 0 && top)
            rc = retain(s, top, top_reply, err);
        int got = list.Count;
        natsMsgList_Destroy(&list);
        if (rc)
            return AK_POLL_ERROR;
        if (s->acked < s->committed) {
            /* redelivered after a (re)start and already in the checkpoint:
             * acknowledging them needs no new checkpoint */
            ak_err_t e2;
            if (ack_committed(s, &e2))
                ak_log_debug(s->tag, "%s (the next commit acknowledges it)", e2.msg);
        }
        if (drain && (s->pos >= s->drain_to || (caught_up && !s->resync))) {
            s->drained = true;
            return AK_POLL_IDLE;
        }
        /* only redeliveries: nothing to hand out, and a poll that moves
         * nothing reads as idle to the engine, so fetch on; but when they
         * keep coming (the ack wait is shorter than reading takes, and the
         * server sends what is due again before anything new), stop so the
         * engine checkpoints and the acknowledgements catch up */
        if (s->pos == pos_before && out->n == n_before) {
            int64_t now = ak_mono_us();
            if (!dup_since)
                dup_since = now;
            if (now - dup_since < DUP_STREAK_US)
                continue;
            if (drain) {
                ak_log_warn(s->tag, "messages are delivered again before this run can acknowledge them (the "
                                    "input's ack_wait is shorter than reading takes); this run stops here and the "
                                    "next one continues after it");
                s->drained = true;
            }
            return AK_POLL_IDLE;
        }
        return drain || s->resync || (got >= batch && !caught_up) ? AK_POLL_MORE : AK_POLL_IDLE;
    }
}

static char *nats_position(ak_source_t *src)
{
    nats_src_t *s = (nats_src_t *)src;
    ak_buf_t b = AK_BUF_INIT;
    ak_buf_puts(&b, "{\"stream\":");
    ak_buf_put_json_str(&b, s->cfg.stream, strlen(s->cfg.stream));
    ak_buf_printf(&b, ",\"seq\":%" PRIu64 "}", s->pos);
    if (b.oom) {
        ak_buf_free(&b);
        return NULL;
    }
    return ak_buf_steal(&b);
}

/* Acknowledges up to s->committed, which akili's checkpoint holds: one
 * AckAll of the newest message at or below it, confirmed by the server. */
static int ack_committed(nats_src_t *s, ak_err_t *err)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < s->nret; i++)
        if (s->ret[i].seq <= s->committed && (best == SIZE_MAX || s->ret[i].seq > s->ret[best].seq))
            best = i;
    if (best == SIZE_MAX || s->ret[best].seq <= s->acked) {
        drop_retained(s, s->committed);
        return 0;
    }
    if (ak_nats_check_up(&s->cfg, s->nc, err))
        return ak_err_prefix(err, "acknowledging up to stream sequence %" PRIu64, s->ret[best].seq);
    natsMsg *reply = NULL;
    natsStatus st = natsConnection_RequestString(&reply, s->nc, s->ret[best].reply, "+ACK", 5000);
    natsMsg_Destroy(reply);
    if (st != NATS_OK) {
        ak_nats_fail(&s->cfg, err, st, 0, "acknowledging stream sequence %" PRIu64 " to consumer `%s`",
                     s->ret[best].seq, s->consumer);
        err->retriable = true; /* the next commit acknowledges this too */
        return -1;
    }
    s->acked = s->ret[best].seq;
    drop_retained(s, s->committed);
    return 0;
}

static int nats_commit(ak_source_t *src, const char *position, ak_err_t *err)
{
    nats_src_t *s = (nats_src_t *)src;
    const char *p = strstr(position, "\"seq\":");
    uint64_t c = p ? strtoull(p + 6, NULL, 10) : 0;
    if (c > s->committed)
        s->committed = c;
    return ack_committed(s, err);
}

static int nats_test(const ak_conn_t *c, ak_buf_t *report, ak_err_t *err) { return ak_nats_test(c, report, err); }

const ak_source_ops_t ak_source_nats = {
    AK_SOURCE_ABI,
    "nats",
    "NATS JetStream subjects carrying Debezium envelopes",
    nats_opts,
    sizeof nats_opts / sizeof nats_opts[0],
    true,
    nats_test,
    nats_open,
    nats_poll,
    nats_position,
    nats_commit,
    nats_close,
};
