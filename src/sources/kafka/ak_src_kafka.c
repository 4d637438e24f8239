/* ak_src_kafka.c - the `kafka` and `redpanda` connectors (one
 * implementation, librdkafka): an input reads one topic.
 *
 * Every partition of the topic is assigned by hand (no group rebalances) at
 * the offset akili's checkpoint holds, so akili's catalog, not the group,
 * decides where reading resumes.  The consumer group only mirrors it:
 * ops->commit, called once a checkpoint is durable, commits the same
 * offsets (enable.auto.commit=false), so tools that watch the group's lag
 * see akili's.  Values are Debezium envelopes (with or without the Connect
 * schema/payload wrapper) or plain JSON rows, decoded by ak_json_decode;
 * undecodable ones go to the dead letters.  A tombstone (NULL value) after a
 * Debezium delete is skipped; on a keyed input of plain rows it deletes the
 * row its key names.
 *
 * A drained poll (`run start --once`) reads up to the high watermarks seen
 * at its first poll: a partition is done at its watermark or at its end
 * (partition EOF), so empty partitions, compaction gaps and transaction
 * markers never make it wait.  Continuous polls return what is there, after
 * waiting ~100 ms when nothing is, and look for new partitions every 10 s.
 * Brokers that cannot be reached are a retriable error naming them; bad
 * credentials, a missing topic or an unknown property are not.
 */
#include "ak_source.h"

#include "ak_alloc.h"
#include "ak_cfg.h"
#include "ak_envref.h"
#include "ak_json_decode.h"
#include "ak_kafka_int.h"
#include "ak_log.h"
#include "ak_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#define BATCH           4096                 /* messages per consume call */
#define META_TIMEOUT_MS 10000                /* a first metadata request, `connection test` */
#define STEP_MS         1000                 /* metadata attempts within it, errors served between */
#define WAIT_MS         100                  /* a continuous poll with nothing waits this long */
#define REFRESH_US      (10 * AK_US_PER_SEC) /* new partitions are looked for this often */
#define STALL_US        (20 * AK_US_PER_SEC) /* a drain without progress for this long is an error */
#define CLOSE_WAIT_MS   5000                 /* outstanding offset commits, at close */

static const ak_option_t kafka_opts[] = {
    {"brokers", AK_OPT_NAMES, NULL, "Bootstrap brokers, `host:port`.", AK_OPT_REQUIRED | AK_OPT_NONEMPTY | AK_OPT_ENV},
    {"security_protocol", AK_OPT_ENUM, "PLAINTEXT", "How to reach the brokers.", 0,
     "PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL"},
    {"sasl_mechanism", AK_OPT_ENUM, NULL, "SASL mechanism.", 0, "PLAIN|SCRAM-SHA-256|SCRAM-SHA-512|OAUTHBEARER"},
    {"sasl_username", AK_OPT_STRING, NULL, "SASL user name.", AK_OPT_ENV},
    {"sasl_password", AK_OPT_STRING, NULL, "SASL password; write `${ENV_VAR}`.", AK_OPT_ENV | AK_OPT_SECRET},
    {"group_id", AK_OPT_STRING, NULL, "Consumer group (default: `akili-<product>`).", AK_OPT_ENV},
    {"librdkafka.", AK_OPT_STRING, NULL, "Any other librdkafka property, passed through.",
     AK_OPT_PASSTHROUGH_PREFIX | AK_OPT_ENV},
};

/* The input's `options:` map. */
static const ak_option_t input_opts[] = {
    {"start", AK_OPT_ENUM, "earliest",
     "Where a partition without a position starts: `earliest` (everything the topic still holds) or `latest` "
     "(only messages produced from the first run on).",
     0, "earliest|latest"},
};

typedef struct kpart {
    int64_t next;      /* next offset to hand out; -1 until known */
    int64_t target;    /* drain: the high watermark at the first poll */
    bool done;         /* drain: reached target or the partition's end */
    bool after_delete; /* the last message was a Debezium delete: its tombstone is skipped */
} kpart_t;

typedef struct kafka_src {
    const ak_input_t *in;
    char tag[300];
    char *brokers; /* as tried, for messages */
    char *group;
    bool latest; /* input option start: latest */
    bool keyed;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;  /* the consumer's queue (errors too) */
    rd_kafka_queue_t *cq; /* offset commit results */
    int commits_out;      /* commits not answered yet */
    ak_json_decoder_t *jd;
    kpart_t *parts;
    int64_t *offs; /* [nparts] scratch for the position text */
    int32_t nparts;
    bool ready;   /* assigned */
    bool drained; /* drain: every partition done */
    bool down;    /* all brokers were reported down: check before reading on */
    int64_t refresh_at;
    int64_t progress_at; /* last time a drain moved */
    /* the first error reported by librdkafka's callbacks since the last poll */
    rd_kafka_resp_err_t cb_err;
    bool cb_major;
    char cb_msg[800];
    char cb_detail[400];
    rd_kafka_message_t *msgs[BATCH];
    ak_buf_t scratch;
} kafka_src_t;

/* ------------------------------------------------------------ configuration */

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* librdkafka reports failures through errors too: its own lines are for --debug kafka */
    ak_log_debug("kafka", "librdkafka %d %s: %s", level, fac, buf);
}

static bool auth_error(rd_kafka_resp_err_t e);

/* Keeps the error that matters most since the last look (refused
 * credentials, every broker down) and the last broker failure's text,
 * which says why ("Connection refused"). */
static void note_error(kafka_src_t *s, rd_kafka_resp_err_t e, const char *reason)
{
    ak_log_debug("kafka", "librdkafka error %s: %s", rd_kafka_err2name(e), reason);
    if (e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__RESOLVE)
        snprintf(s->cb_detail, sizeof s->cb_detail, "%s", reason);
    bool major = e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || e == RD_KAFKA_RESP_ERR__FATAL || auth_error(e);
    if (!s->cb_err || (major && !s->cb_major)) {
        s->cb_err = e;
        s->cb_major = major;
        if (e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && s->cb_detail[0])
            snprintf(s->cb_msg, sizeof s->cb_msg, "%s (%.300s)", reason, s->cb_detail);
        else
            snprintf(s->cb_msg, sizeof s->cb_msg, "%s", reason);
    }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    if (opaque)
        note_error(opaque, (rd_kafka_resp_err_t)err, reason);
}

static void forget_errors(kafka_src_t *s)
{
    s->cb_err = 0;
    s->cb_major = false;
}

static int conf_set(rd_kafka_conf_t *conf, const ak_conn_t *c, const char *key, const char *val, bool secret,
                    ak_err_t *err)
{
    char es[512];
    rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, key, val, es, sizeof es);
    if (r == RD_KAFKA_CONF_OK)
        return 0;
    if (r == RD_KAFKA_CONF_UNKNOWN)
        return ak_errf(err, AK_E_CONFIG,
                       "connection `%s`: librdkafka has no property `%s` (see the librdkafka CONFIGURATION.md of "
                       "version %s for the names; write them as `librdkafka.<property>`)",
                       c->name, key, rd_kafka_version_str());
    /* librdkafka's message quotes the value: not for secrets */
    return ak_errf(err, AK_E_CONFIG, "connection `%s`: invalid value for librdkafka property `%s`%s%s", c->name, key,
                   secret ? "" : ": ", secret ? "" : es);
}

/* Comma-joined brokers (references resolved). */
static int brokers_of(const ak_conn_t *c, char **out, ak_err_t *err)
{
    char **v = NULL;
    size_t n = 0;
    if (ak_opt_strlist(&c->opts, "brokers", &v, &n, err))
        return -1;
    ak_buf_t b = AK_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *r = NULL;
        char ctx[200];
        snprintf(ctx, sizeof ctx, "connection `%s`, key `brokers`", c->name);
        if (ak_env_resolve(v[i], &r, ctx, err)) {
            rc = -1;
            break;
        }
        ak_buf_printf(&b, "%s%s", i ? "," : "", r);
        ak_free(r);
    }
    ak_free(v);
    if (rc == 0 && b.oom)
        rc = ak_err_nomem(err);
    if (rc) {
        ak_buf_free(&b);
        return -1;
    }
    *out = ak_buf_steal(&b);
    return 0;
}

/* A consumer configured from the connection: the connector's settings
 * first, then every `librdkafka.` key, which may override them. */
static int make_conf(const ak_conn_t *c, const char *brokers, const char *group, void *opaque, rd_kafka_conf_t **out,
                     ak_err_t *err)
{
    static const char *const sec[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
    static const char *const mech[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"};
    static const char *const fixed[][2] = {
        {"client.id", "akili"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        {"auto.offset.reset", "earliest"},
        {"allow.auto.create.topics", "false"},
        {"fetch.wait.max.ms", "100"},    /* a quiet topic's news within ~100 ms */
        {"fetch.max.bytes", "67108864"}, /* large fetches while catching up */
        {"max.partition.fetch.bytes", "8388608"},
        {"queued.max.messages.kbytes", "131072"},
        {"log.connection.close", "false"},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf)
        return ak_err_nomem(err);
    char *user = NULL, *pw = NULL;
    int ps = 0, pm = -1;
    int rc = -1;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (conf_set(conf, c, fixed[i][0], fixed[i][1], false, err))
            goto out;
    if (conf_set(conf, c, "bootstrap.servers", brokers, false, err) || conf_set(conf, c, "group.id", group, false, err))
        goto out;
    if (ak_opt_enum(&c->opts, "security_protocol", &ps, err) || ak_opt_enum(&c->opts, "sasl_mechanism", &pm, err) ||
        ak_opt_str(&c->opts, "sasl_username", &user, err) || ak_opt_str(&c->opts, "sasl_password", &pw, err))
        goto out;
    if (ps >= 2 && pm < 0 && !ak_opt_given(&c->opts, "librdkafka.sasl.mechanisms")) {
        /* librdkafka would pick GSSAPI (Kerberos), which this build may lack */
        ak_errf(err, AK_E_CONFIG,
                "connection `%s`: security_protocol %s needs sasl_mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or "
                "OAUTHBEARER)",
                c->name, sec[ps]);
        goto out;
    }
    if (conf_set(conf, c, "security.protocol", sec[ps < 0 ? 0 : ps], false, err) ||
        (pm >= 0 && conf_set(conf, c, "sasl.mechanisms", mech[pm], false, err)) ||
        (user && conf_set(conf, c, "sasl.username", user, false, err)) ||
        (pw && conf_set(conf, c, "sasl.password", pw, true, err)))
        goto out;
    const ak_cfg_node_t *m = c->opts.map;
    for (size_t i = 0; m && m->kind == AK_CFG_MAP && i < m->n; i++) {
        const char *k = m->pairs[i].key->text;
        if (strncmp(k, "librdkafka.", 11) != 0 || ak_cfg_is_null(m->pairs[i].value))
            continue;
        char *v = NULL;
        if (ak_opt_str(&c->opts, k, &v, err))
            goto out;
        int r = conf_set(conf, c, k + 11, v ? v : "", ak_env_key_is_secret(k), err);
        ak_free(v);
        if (r)
            goto out;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, opaque);
    rc = 0;
out:
    if (pw) {
        memset(pw, 0, strlen(pw));
        ak_free(pw);
    }
    ak_free(user);
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    *out = conf;
    return 0;
}

static bool auth_error(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR__AUTHENTICATION || e == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED ||
           e == RD_KAFKA_RESP_ERR__SSL || e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
           e == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED || e == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED ||
           e == RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE || e == RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM;
}

/* An error librdkafka reported: 0 when it only means a broker connection
 * dropped (librdkafka reconnects by itself), else -1 with err. */
static int classify(rd_kafka_t *rk, rd_kafka_resp_err_t e, const char *msg, const char *brokers, ak_err_t *err)
{
    if (e == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t fe = rd_kafka_fatal_error(rk, buf, sizeof buf);
        ak_errf(err, AK_E_CONNECT, "fatal Kafka client error %s: %s", rd_kafka_err2name(fe), buf);
        err->retriable = false;
        return -1;
    }
    if (auth_error(e)) {
        ak_errf(err, AK_E_CONNECT,
                "the brokers (%s) refused the client: %s (%s); check security_protocol, sasl_mechanism, "
                "sasl_username and the password's variable",
                brokers, msg, rd_kafka_err2name(e));
        err->retriable = false; /* the same credentials fail the same way */
        return -1;
    }
    if (e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || e == RD_KAFKA_RESP_ERR__RESOLVE) {
        ak_errf(err, AK_E_CONNECT, "cannot reach the Kafka brokers (tried %s): %s", brokers, msg);
        err->retriable = true;
        return -1;
    }
    return 0;
}

/* The librdkafka handle: a consumer whose events are all served by polling
 * its consumer queue. */
static int make_handle(kafka_src_t *s, const ak_conn_t *c, const char *group, rd_kafka_t **rk, ak_err_t *err)
{
    rd_kafka_conf_t *conf = NULL;
    if (make_conf(c, s->brokers, group, s, &conf, err))
        return -1;
    char es[512];
    *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, es, sizeof es);
    if (!*rk) {
        rd_kafka_conf_destroy(conf);
        return ak_errf(err, AK_E_CONFIG, "connection `%s`: cannot create the Kafka client: %s", c->name, es);
    }
    return 0;
}

/* Serves librdkafka's events (errors) without taking messages: the test's
 * handle serves its main queue; a source's goes to its consumer queue,
 * which holds no messages before the assignment (afterwards poll sees the
 * errors with the messages). */
static void serve(kafka_src_t *s)
{
    if (!s->q) {
        rd_kafka_poll(s->rk, 0);
        return;
    }
    rd_kafka_message_t *m;
    while (!s->ready && (m = rd_kafka_consumer_poll(s->rk, 0))) {
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            note_error(s, m->err, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
    }
}

/* Metadata of `topic` (NULL: every topic) within timeout_ms, in steps so
 * that a report of every broker being down ends the wait early. */
static int metadata(kafka_src_t *s, rd_kafka_topic_t *t, int timeout_ms, const struct rd_kafka_metadata **md,
                    ak_err_t *err)
{
    int64_t end = ak_mono_us() + (int64_t)timeout_ms * 1000;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (;;) {
        int64_t left = (end - ak_mono_us()) / 1000;
        if (left <= 0)
            break;
        e = rd_kafka_metadata(s->rk, t ? 0 : 1, t, md, (int)(left < STEP_MS ? left : STEP_MS));
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        serve(s);
        if (s->cb_err) {
            rd_kafka_resp_err_t ce = s->cb_err;
            forget_errors(s);
            if (classify(s->rk, ce, s->cb_msg, s->brokers, err))
                return -1;
        }
        if (e != RD_KAFKA_RESP_ERR__TIMED_OUT && e != RD_KAFKA_RESP_ERR__TRANSPORT)
            break;
    }
    if (auth_error(e) || e == RD_KAFKA_RESP_ERR__FATAL)
        return classify(s->rk, e, rd_kafka_err2str(e), s->brokers, err);
    ak_errf(err, AK_E_CONNECT, "no answer from the Kafka brokers (tried %s) within %d s: %s%s%.300s%s", s->brokers,
            timeout_ms / 1000, rd_kafka_err2str(e), s->cb_detail[0] ? " (last: " : "", s->cb_detail,
            s->cb_detail[0] ? ")" : "");
    err->retriable = true;
    return -1;
}

/* "a (4 partitions), b (1 partition), ... (N topics)" */
static void list_topics(const struct rd_kafka_metadata *md, ak_buf_t *b, int most)
{
    int shown = 0, all = 0;
    for (int i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];
        if (t->err || t->topic[0] == '_')
            continue; /* internal topics (__consumer_offsets) */
        all++;
        if (shown < most) {
            ak_buf_printf(b, "%s%s (%d partition%s)", shown ? ", " : "", t->topic, t->partition_cnt,
                          t->partition_cnt == 1 ? "" : "s");
            shown++;
        }
    }
    if (!all)
        ak_buf_puts(b, "none");
    else if (all > shown)
        ak_buf_printf(b, ", ... (%d topics in all)", all);
}

/* ------------------------------------------------------------ connection test */

static int kafka_test(const ak_conn_t *c, ak_buf_t *report, ak_err_t *err)
{
    kafka_src_t s0 = {0}, *s = &s0;
    int rc = -1;
    const struct rd_kafka_metadata *md = NULL;
    char *group = NULL;
    if (brokers_of(c, &s->brokers, err) || ak_opt_str(&c->opts, "group_id", &group, err))
        goto out;
    if (make_handle(s, c, group ? group : "akili", &s->rk, err))
        goto out;
    if (metadata(s, NULL, META_TIMEOUT_MS, &md, err))
        goto out;
    ak_buf_printf(report, "%d broker%s (", md->broker_cnt, md->broker_cnt == 1 ? "" : "s");
    for (int i = 0; i < md->broker_cnt; i++)
        ak_buf_printf(report, "%s%" PRId32 " at %s:%d", i ? ", " : "", md->brokers[i].id, md->brokers[i].host,
                      md->brokers[i].port);
    ak_buf_puts(report, ")");
    char *cid = rd_kafka_clusterid(s->rk, 2000);
    if (cid) {
        ak_buf_printf(report, ", cluster id %s", cid);
        rd_kafka_mem_free(s->rk, cid);
    }
    ak_buf_printf(report, ", librdkafka %s; topics: ", rd_kafka_version_str());
    list_topics(md, report, 10);
    rc = 0;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (s->rk)
        rd_kafka_destroy_flags(s->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    ak_free(s->brokers);
    ak_free(group);
    return rc;
}

/* ------------------------------------------------------------ open / close */

static void kafka_close(ak_source_t *src)
{
    kafka_src_t *s = (kafka_src_t *)src;
    if (!s)
        return;
    if (s->rk) {
        /* the last checkpoint's commit should reach the group */
        int64_t end = ak_mono_us() + (int64_t)CLOSE_WAIT_MS * 1000;
        while (s->cq && s->commits_out > 0 && ak_mono_us() < end) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(s->cq, 100);
            if (ev) {
                if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT)
                    s->commits_out--;
                rd_kafka_event_destroy(ev);
            }
        }
        if (s->commits_out > 0)
            ak_log_warn(s->tag,
                        "the consumer group `%s` did not confirm the last offset commit within %d s; "
                        "akili's own checkpoint is unaffected",
                        s->group, CLOSE_WAIT_MS / 1000);
        if (s->ready)
            rd_kafka_assign(s->rk, NULL);
        if (s->q)
            rd_kafka_queue_destroy(s->q);
        if (s->cq)
            rd_kafka_queue_destroy(s->cq);
        rd_kafka_destroy_flags(s->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    ak_json_decoder_free(s->jd);
    ak_buf_free(&s->scratch);
    ak_free(s->parts);
    ak_free(s->offs);
    ak_free(s->brokers);
    ak_free(s->group);
    ak_free(s);
}

static int grow_parts(kafka_src_t *s, int32_t n, ak_err_t *err)
{
    if (n <= s->nparts)
        return 0;
    int64_t *o = ak_realloc(s->offs, sizeof *o * (size_t)n);
    if (!o)
        return ak_err_nomem(err);
    s->offs = o;
    kpart_t *p = ak_realloc(s->parts, sizeof *p * (size_t)n);
    if (!p)
        return ak_err_nomem(err);
    for (int32_t i = s->nparts; i < n; i++)
        p[i] = (kpart_t){.next = -1, .target = -1};
    s->parts = p;
    s->nparts = n;
    return 0;
}

static int kafka_open(const ak_conn_t *c, const ak_input_t *in, const char *position, ak_source_t **out, ak_err_t *err)
{
    *out = NULL;
    kafka_src_t *s = ak_calloc(1, sizeof *s);
    if (!s)
        return ak_err_nomem(err);
    s->in = in;
    snprintf(s->tag, sizeof s->tag, "%s/%s", c->product ? c->product : "kafka", in->name);
    s->keyed = ak_schema_keyed(&in->schema);
    char what[200];
    snprintf(what, sizeof what, "input `%s` options", in->name);
    int start = 0;
    ak_optset_t io = AK_OPTSET(input_opts, in->options, what);
    if (ak_optset_validate(&io, err) || ak_opt_enum(&io, "start", &start, err))
        goto fail;
    s->latest = start == 1;
    if (ak_opt_str(&c->opts, "group_id", &s->group, err) || brokers_of(c, &s->brokers, err))
        goto fail;
    if (!s->group) {
        char g[300];
        snprintf(g, sizeof g, "akili-%s", c->product ? c->product : "default");
        if (!(s->group = ak_strdup(g))) {
            ak_err_nomem(err);
            goto fail;
        }
    }
    if (position) {
        ak_kpos_t kp;
        if (ak__kpos_parse(position, &kp, err))
            goto fail;
        if (strcmp(kp.topic, in->resource) != 0) {
            ak_log_warn(s->tag, "the position is for topic `%s`, the input now reads `%s`: starting it afresh",
                        kp.topic, in->resource);
        } else if (grow_parts(s, kp.n, err)) {
            ak__kpos_free(&kp);
            goto fail;
        } else {
            for (int32_t i = 0; i < kp.n; i++)
                s->parts[i].next = kp.off[i];
        }
        ak__kpos_free(&kp);
    }
    if (ak_json_decoder_new(&in->schema, &s->jd, err) || make_handle(s, c, s->group, &s->rk, err))
        goto fail;
    rd_kafka_poll_set_consumer(s->rk);
    if (!(s->q = rd_kafka_queue_get_consumer(s->rk)) || !(s->cq = rd_kafka_queue_new(s->rk))) {
        ak_errf(err, AK_E_INTERNAL, "librdkafka gave no consumer queue");
        goto fail;
    }
    *out = (ak_source_t *)s;
    return 0;
fail:
    kafka_close((ak_source_t *)s);
    return -1;
}

/* ------------------------------------------------------------ assignment */

static int assign_all(kafka_src_t *s, ak_err_t *err)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(s->nparts);
    if (!l)
        return ak_err_nomem(err);
    for (int32_t i = 0; i < s->nparts; i++)
        rd_kafka_topic_partition_list_add(l, s->in->resource, i)->offset =
            s->parts[i].next >= 0 ? s->parts[i].next : RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t e = rd_kafka_assign(s->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        return ak_errf(err, AK_E_CONNECT, "cannot assign the partitions of `%s`: %s", s->in->resource,
                       rd_kafka_err2str(e));
    s->ready = true;
    return 0;
}

/* Partitions [from, n) start at their low (or, start: latest, high)
 * watermark; every one gets its drain target when `drain`. */
static int watermarks(kafka_src_t *s, int32_t from, bool drain, ak_err_t *err)
{
    for (int32_t i = 0; i < s->nparts; i++) {
        kpart_t *p = &s->parts[i];
        if (i < from && !drain)
            continue;
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(s->rk, s->in->resource, i, &lo, &hi, 5000);
        if (e) {
            ak_errf(err, AK_E_CONNECT, "cannot read the offsets of `%s` partition %" PRId32 " from %s: %s",
                    s->in->resource, i, s->brokers, rd_kafka_err2str(e));
            err->retriable = !auth_error(e);
            return -1;
        }
        if (p->next < 0) {
            p->next = s->latest ? hi : lo;
        } else if (p->next < lo) {
            ak_log_warn(s->tag,
                        "`%s` partition %" PRId32 ": offsets %" PRId64 " to %" PRId64
                        " were deleted by the topic's retention before akili read them",
                        s->in->resource, i, p->next, lo - 1);
            p->next = lo;
        } else if (p->next > hi) {
            ak_log_warn(s->tag,
                        "`%s` partition %" PRId32 ": akili's position %" PRId64 " is past the end (%" PRId64
                        "): was the topic re-created? Reading it from its start",
                        s->in->resource, i, p->next, hi);
            p->next = lo;
        }
        if (drain) {
            p->target = hi;
            p->done = p->next >= hi;
        }
    }
    return 0;
}

/* The topic's partition count; missing topic: not retriable, with the
 * topics that exist. */
static int partitions(kafka_src_t *s, int timeout_ms, int32_t *n, ak_err_t *err)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(s->rk, s->in->resource, NULL);
    if (!t)
        return ak_errf(err, AK_E_CONFIG, "`%s` is not a valid topic name", s->in->resource);
    const struct rd_kafka_metadata *md = NULL;
    int rc = metadata(s, t, timeout_ms, &md, err);
    rd_kafka_topic_destroy(t);
    if (rc)
        return -1;
    rd_kafka_resp_err_t e = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    *n = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
    rd_kafka_metadata_destroy(md);
    if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || (e == 0 && *n == 0)) {
        ak_buf_t b = AK_BUF_INIT;
        if (metadata(s, NULL, timeout_ms, &md, err) == 0) {
            list_topics(md, &b, 8);
            rd_kafka_metadata_destroy(md);
        }
        ak_errf(err, AK_E_NOTFOUND, "topic `%s` does not exist on the brokers (%s); topics there: %s", s->in->resource,
                s->brokers, b.data ? b.data : "(unknown)");
        ak_buf_free(&b);
        return -1;
    }
    if (e)
        return classify(s->rk, e, rd_kafka_err2str(e), s->brokers, err)
                   ? -1
                   : ak_errf(err, AK_E_CONNECT, "topic `%s`: %s", s->in->resource, rd_kafka_err2str(e));
    return 0;
}

static int setup(kafka_src_t *s, bool drain, ak_err_t *err)
{
    int32_t n;
    if (partitions(s, META_TIMEOUT_MS, &n, err))
        return -1;
    int32_t had = s->nparts;
    if (n < had)
        ak_log_warn(s->tag, "`%s` has %" PRId32 " partitions, fewer than the %" PRId32 " akili's position names",
                    s->in->resource, n, had);
    if (n < had)
        s->nparts = n;
    if (grow_parts(s, n, err) || watermarks(s, 0, drain, err))
        return -1;
    if (assign_all(s, err))
        return -1;
    s->refresh_at = ak_mono_us() + REFRESH_US;
    s->progress_at = ak_mono_us();
    ak_log_debug(s->tag, "reading `%s`: %" PRId32 " partitions from %s (group `%s`)", s->in->resource, s->nparts,
                 s->brokers, s->group);
    return 0;
}

/* A continuous run picks up partitions added to the topic. */
static void refresh(kafka_src_t *s)
{
    s->refresh_at = ak_mono_us() + REFRESH_US;
    ak_err_t e;
    ak_err_clear(&e);
    int32_t n;
    if (partitions(s, 2000, &n, &e)) {
        ak_log_debug(s->tag, "metadata refresh: %s", e.msg);
        return;
    }
    if (n <= s->nparts)
        return;
    int32_t from = s->nparts;
    if (grow_parts(s, n, &e) || watermarks(s, from, false, &e) || assign_all(s, &e)) {
        ak_log_warn(s->tag, "`%s` grew to %" PRId32 " partitions; taking them on failed (%s): tried again later",
                    s->in->resource, n, e.msg);
        s->nparts = from;
        return;
    }
    ak_log_info(s->tag, "`%s` grew to %" PRId32 " partitions; reading the new ones from their start", s->in->resource,
                n);
}

/* ------------------------------------------------------------ poll */

static bool all_done(const kafka_src_t *s)
{
    for (int32_t i = 0; i < s->nparts; i++)
        if (!s->parts[i].done)
            return false;
    return true;
}

static int dead_letter(const rd_kafka_message_t *m, const char *reason, bool key, ak_dead_fn dead, void *ctx,
                       ak_err_t *err)
{
    char pos[96];
    snprintf(pos, sizeof pos, "partition %" PRId32 " offset %" PRId64, m->partition, m->offset);
    ak_dead_t d = {pos, reason, key ? m->key : m->payload, key ? m->key_len : m->len, NULL, 0};
    return dead(ctx, &d, err);
}

/* One message into `out` (or the dead letters).  -1: fatal. */
static int take(kafka_src_t *s, const rd_kafka_message_t *m, kpart_t *p, ak_batch_t *out, ak_dead_fn dead, void *ctx,
                ak_err_t *err)
{
    ak_err_t de;
    ak_err_clear(&de);
    uint64_t pos = (uint64_t)m->offset;
    if (!m->payload) {
        /* a tombstone: after a Debezium delete (the row is gone already) or
         * on a keyless input there is nothing to do */
        bool skip = p->after_delete || !s->keyed;
        p->after_delete = false;
        if (skip)
            return 0;
        if (!m->key || !m->key_len)
            return dead_letter(m, "a tombstone (NULL value) without a key: no row to delete", false, dead, ctx, err);
        if (ak__kafka_key_delete(s->jd, &s->in->schema, m->key, m->key_len, pos, &s->scratch, out, &de) >= 0)
            return 0;
        if (de.code == AK_E_NOMEM)
            return ak_err_nomem(err);
        return dead_letter(m, de.msg, true, dead, ctx, err);
    }
    const char *v = m->payload;
    size_t n = m->len;
    while (n && (v[n - 1] == '\n' || v[n - 1] == '\r'))
        n--;
    size_t before = out->n;
    int r = ak_json_decode(s->jd, v, n, pos, out, &de);
    if (r < 0) {
        p->after_delete = false;
        if (de.code == AK_E_NOMEM)
            return ak_err_nomem(err);
        return dead_letter(m, de.msg, false, dead, ctx, err);
    }
    const ak_rec_t *last = out->n > before ? &out->recs[out->n - 1] : NULL;
    p->after_delete = last && last->op == AK_OP_DELETE && (last->flags & AK_REC_CDC);
    return 0;
}

/* What librdkafka reported through the error callback since the last look. */
static int callback_error(kafka_src_t *s, ak_err_t *err)
{
    if (!s->cb_err)
        return 0;
    rd_kafka_resp_err_t e = s->cb_err;
    forget_errors(s);
    if (classify(s->rk, e, s->cb_msg, s->brokers, err)) {
        s->down = err->retriable;
        return -1;
    }
    return 0;
}

/* A message carrying an error instead of data. */
/* *moved: the position moved (the engine sees a poll that moved nothing as
 * "nothing more", which for a drain means the end). */
static int message_error(kafka_src_t *s, const rd_kafka_message_t *m, bool *moved, ak_err_t *err)
{
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (m->partition < 0 || m->partition >= s->nparts)
            return 0;
        kpart_t *p = &s->parts[m->partition];
        /* everything before the end was delivered: skipped offsets
         * (transaction markers, compaction) move the position too */
        if (m->offset > p->next) {
            p->next = m->offset;
            *moved = true;
        }
        if (!p->done) {
            p->done = true;
            s->progress_at = ak_mono_us();
        }
        return 0;
    }
    const char *msg = rd_kafka_message_errstr(m);
    if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
        m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
        return ak_errf(err, AK_E_NOTFOUND, "topic `%s` on %s: %s (was the topic deleted?)", s->in->resource, s->brokers,
                       msg);
    note_error(s, m->err, msg); /* weighed with the callbacks' after the batch */
    return 0;
}

static ak_poll_rc_t kafka_poll(ak_source_t *src, ak_batch_t *out, size_t max, bool drain, ak_dead_fn dead, void *ctx,
                               ak_err_t *err)
{
    kafka_src_t *s = (kafka_src_t *)src;
    if (s->down) {
        /* every broker was reported down: look before waiting on them */
        int32_t n;
        if (partitions(s, 5000, &n, err)) {
            forget_errors(s);
            return AK_POLL_ERROR;
        }
        s->down = false;
        s->progress_at = ak_mono_us();
    }
    if (!s->ready && setup(s, drain, err))
        return AK_POLL_ERROR;
    if (!drain && ak_mono_us() >= s->refresh_at)
        refresh(s);
    if (drain && (s->drained || (s->drained = all_done(s))))
        return AK_POLL_IDLE;
    size_t start = out->n;
    bool moved = false, waited = false;
    for (;;) {
        size_t room = max > out->n - start ? max - (out->n - start) : 0;
        if (room == 0)
            return AK_POLL_MORE;
        size_t want = room < BATCH ? room : BATCH;
        int timeout = moved ? 0 : drain ? WAIT_MS : waited ? 0 : WAIT_MS;
        ssize_t got = rd_kafka_consume_batch_queue(s->q, timeout, s->msgs, want);
        waited |= timeout > 0;
        int rc = 0;
        for (ssize_t i = 0; i < got; i++) {
            rd_kafka_message_t *m = s->msgs[i];
            if (rc == 0) {
                if (m->err) {
                    rc = message_error(s, m, &moved, err);
                } else if (m->partition >= 0 && m->partition < s->nparts && m->offset >= s->parts[m->partition].next) {
                    kpart_t *p = &s->parts[m->partition];
                    rc = take(s, m, p, out, dead, ctx, err);
                    p->next = m->offset + 1;
                    if (drain && p->next >= p->target)
                        p->done = true;
                    moved = true;
                }
            }
            rd_kafka_message_destroy(m);
        }
        if (rc == 0)
            rc = callback_error(s, err);
        if (rc)
            return AK_POLL_ERROR;
        if (got < 0) {
            ak_errf(err, AK_E_CONNECT, "reading `%s`: %s", s->in->resource, rd_kafka_err2str(rd_kafka_last_error()));
            err->retriable = true;
            return AK_POLL_ERROR;
        }
        if (moved)
            s->progress_at = ak_mono_us();
        if (drain) {
            if ((s->drained = all_done(s)))
                return AK_POLL_IDLE;
            if (got < (ssize_t)want && moved)
                return AK_POLL_MORE;
            if (!moved && ak_mono_us() - s->progress_at > STALL_US) {
                ak_buf_t b = AK_BUF_INIT;
                int k = 0;
                for (int32_t i = 0; i < s->nparts && k < 8; i++)
                    if (!s->parts[i].done)
                        ak_buf_printf(&b, "%s%" PRId32 " at %" PRId64 " of %" PRId64, k++ ? ", " : "", i,
                                      s->parts[i].next, s->parts[i].target);
                ak_errf(err, AK_E_CONNECT, "`%s` on %s gave nothing for %d s before its end (partition %s)",
                        s->in->resource, s->brokers, (int)(STALL_US / AK_US_PER_SEC), b.data ? b.data : "?");
                ak_buf_free(&b);
                err->retriable = true;
                s->progress_at = ak_mono_us();
                return AK_POLL_ERROR;
            }
            continue;
        }
        if (got == (ssize_t)want)
            continue; /* more may be queued */
        if (moved || waited)
            return AK_POLL_IDLE;
    }
}

static char *kafka_position(ak_source_t *src)
{
    kafka_src_t *s = (kafka_src_t *)src;
    ak_buf_t b = AK_BUF_INIT;
    for (int32_t i = 0; i < s->nparts; i++)
        s->offs[i] = s->parts[i].next;
    ak__kpos_write(&b, s->in->resource, s->offs, s->nparts);
    if (b.oom) {
        ak_buf_free(&b);
        return NULL;
    }
    return ak_buf_steal(&b);
}

/* Results of earlier commits: failures are logged (the next commit covers
 * them). */
static void commit_results(kafka_src_t *s, int timeout_ms)
{
    rd_kafka_event_t *ev;
    while (s->commits_out > 0 && (ev = rd_kafka_queue_poll(s->cq, timeout_ms))) {
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
            s->commits_out--;
            rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
            if (e)
                ak_log_warn(s->tag,
                            "committing offsets to the consumer group `%s` failed: %s; the next commit covers them",
                            s->group, rd_kafka_err2str(e));
        }
        rd_kafka_event_destroy(ev);
    }
}

static int kafka_commit(ak_source_t *src, const char *position, ak_err_t *err)
{
    kafka_src_t *s = (kafka_src_t *)src;
    commit_results(s, 0);
    ak_kpos_t kp;
    if (ak__kpos_parse(position, &kp, err))
        return -1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(kp.n ? kp.n : 1);
    if (!l) {
        ak__kpos_free(&kp);
        return ak_err_nomem(err);
    }
    for (int32_t i = 0; i < kp.n; i++)
        if (kp.off[i] >= 0)
            rd_kafka_topic_partition_list_add(l, kp.topic, i)->offset = kp.off[i];
    int rc = 0;
    if (l->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_commit_queue(s->rk, l, s->cq, NULL, NULL);
        if (e) {
            ak_errf(err, AK_E_CONNECT, "committing offsets to the consumer group `%s`: %s", s->group,
                    rd_kafka_err2str(e));
            err->retriable = true;
            rc = -1;
        } else {
            s->commits_out++;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    ak__kpos_free(&kp);
    return rc;
}

const ak_source_ops_t ak_source_kafka = {
    AK_SOURCE_ABI,
    "kafka",
    "Apache Kafka topics (Debezium JSON or plain rows)",
    kafka_opts,
    sizeof kafka_opts / sizeof kafka_opts[0],
    true,
    kafka_test,
    kafka_open,
    kafka_poll,
    kafka_position,
    kafka_commit,
    kafka_close,
};

const ak_source_ops_t ak_source_redpanda = {
    AK_SOURCE_ABI,
    "redpanda",
    "Redpanda topics (Kafka protocol)",
    kafka_opts,
    sizeof kafka_opts / sizeof kafka_opts[0],
    true,
    kafka_test,
    kafka_open,
    kafka_poll,
    kafka_position,
    kafka_commit,
    kafka_close,
};
