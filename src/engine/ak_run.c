/* ak_run.c - the run loop: ingest, commit, step, gate, publish.
 *
 * Ordering is what makes a crash harmless: records are appended to the
 * input logs and fsynced, then positions (with the logs' lengths) and dead
 * letters commit in one catalog transaction, and only then do sources get
 * their acknowledgement and does the dataflow step.  A crash before the
 * commit re-reads the same records; after it, the next run replays the logs
 * through the dataflow and publishes the result whole, so the published
 * table never misses or doubles a record.
 *
 * Within a run every micro-batch is incremental: the tables' changes flow
 * through the transform's operators, the changes of the result are staged
 * in the serving sink and fed to the quality checks, and when no critical
 * check fails everything staged is published in one transaction.  A
 * blocked micro-batch's changes stay staged until a later one passes.
 */
#include "ak_dataflow.h"
#include "ak_state.h"

#include "ak_alloc.h"
#include "ak_io.h"
#include "ak_csv.h"
#include "ak_json_decode.h"
#include "ak_log.h"
#include "ak_prefetch.h"
#include "ak_quality.h"
#include "ak_time.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

int ak__mkdir_p(const char *path, ak_err_t *err);

static volatile sig_atomic_t stop_flag;
void ak_engine_request_stop(void) { stop_flag = 1; }
bool ak_engine_stop_requested(void) { return stop_flag != 0; }

typedef struct dead {
    const char *input;
    char *pos, *reason, *raw, *header;
    size_t n, header_n;
} dead_t;

typedef struct run {
    ak_product_rt_t rt;
    ak_store_t *store;
    ak_dataflow_t df;
    ak_run_rec_t rec;
    const ak_engine_opts_t *o;
    dead_t *dead;
    size_t ndead, cap_dead;
    const char *cur_input;
    int64_t dead_logged;
    int lockfd;
    int64_t started_mono;
    int64_t deadline;        /* monotonic µs after which a --once run stops reading (0: none) */
    bool timed_out;
    bool any_blocked;
    bool candidate_written;  /* a held candidate is in <name>__candidate */
    int64_t candidate_us;    /* when it was last written */
    int64_t unstepped;       /* records applied to tables since the last step */
    int64_t now_us;
    int64_t last_step_now;
    int64_t batch_t0, commit_us; /* when the micro-batch's reading began; how long committing took */
    int64_t batch_records;       /* records read in the micro-batch */
    int64_t budget_us;           /* how long a continuous micro-batch may read */
    char *published_inputs;      /* the positions the serving table reflects */
    char *async_inputs;          /* those of the publish running on its thread */
    bool async_failed;           /* the last one failed: the next publish waits for its result */
    bool sync_publish;           /* AKILI_SYNC_PUBLISH=1: every publish waited for */
    ak_pstate_t *ps;             /* state checkpoints */
    ak_json_decoder_t **dec;     /* per input, for dead letters read again */
    struct replayed {
        int64_t id;
        char *reason;            /* why it still fails, or NULL: read */
    } *rep;
    size_t nrep, cap_rep;
    int64_t replay_check_us;
    uint64_t *lens;              /* per input: the committed log length (what the state reflects) */
    int64_t ckpt_every_us, last_ckpt_mono;
    bool unsaved;                /* evaluated since the last checkpoint */
    bool behind;                 /* the last read stopped on its budget */
    bool rebuild_due;            /* a change reached compacted state: rebuild once the logs are committed */
    char rebuild_why[AK_ERR_MSG_MAX];
    /* the quality results last recorded, to record only changes */
    ak_check_result_t *last;
    bool have_last;
    int64_t last_quality_us;
    char tag[200];
} run_t;

/* Large reads (a replay, a backlog) step the dataflow every so many records,
 * so operators work on batches that fit in cache and memory stays flat;
 * those steps only stage changes, the micro-batch publishes once.  The
 * operators' change buffers keep the capacity of the largest step: 16k
 * records cost 1.2% fewer instructions than 64k on the flagship product and
 * 75 MB less peak memory at 1M events (8k and 4k: more instructions). */
#define STEP_RECORDS 16384
#define CANDIDATE_EVERY_US (10 * AK_US_PER_SEC) /* a held candidate is rewritten at most this often */
#define QUALITY_EVERY_US (60 * AK_US_PER_SEC)   /* unchanged quality results are recorded this often */
#define CLOCK_EVERY_US AK_US_PER_SEC            /* clock-dependent results are refreshed this often */

static void sleep_us(int64_t us);
static int rebuild(struct run *r, ak_err_t *err);
static int collect(struct run *r, ak_err_t *err);

/* A transient failure (a lost connection, a locked store: err->retriable)
 * is retried with backoff, 1 s doubling up to 30 s, at most
 * compute.retries times in a row and never past the run's deadline.
 * Returns true when the caller should try again (err is cleared); false
 * leaves err saying why the run gives up. */
static bool retry(run_t *r, int *attempt, const char *what, ak_err_t *err)
{
    int64_t retries = r->rt.m->compute.retries;
    if (!err->retriable || stop_flag)
        return false;
    if (*attempt >= retries) {
        err->retriable = false;
        ak_err_prefix(err, "%s failed %d time%s in a row (compute.retries is %" PRId64 ")", what, *attempt + 1,
                      *attempt ? "s" : "", retries);
        return false;
    }
    int64_t wait = AK_US_PER_SEC << (*attempt < 5 ? *attempt : 5);
    if (wait > 30 * AK_US_PER_SEC)
        wait = 30 * AK_US_PER_SEC;
    if (r->deadline && ak_mono_us() + wait > r->deadline) {
        err->retriable = false;
        return ak_err_prefix(err, "%s failed and compute.timeout leaves no time to retry", what), false;
    }
    (*attempt)++;
    ak_log_warn(r->tag, "%s failed (%s); retry %d of %" PRId64 " in %.0f s", what, err->msg, *attempt, retries,
                (double)wait / 1e6);
    sleep_us(wait);
    if (stop_flag)
        return false;
    ak_err_clear(err);
    return true;
}

static void free_dead_one(dead_t *d)
{
    ak_free(d->pos);
    ak_free(d->reason);
    ak_free(d->raw);
    ak_free(d->header);
}

static int on_dead(void *ctx, const ak_dead_t *dl, ak_err_t *err)
{
    run_t *r = ctx;
    if (AK_GROW(r->dead, r->cap_dead, r->ndead + 1))
        return ak_err_nomem(err);
    dead_t *d = &r->dead[r->ndead];
    *d = (dead_t){.input = r->cur_input, .n = dl->n, .header_n = dl->header_n};
    d->pos = ak_strdup(dl->position);
    d->reason = ak_strdup(dl->reason);
    d->raw = ak_memdup(dl->raw, dl->n);
    if (dl->header)
        d->header = ak_memdup(dl->header, dl->header_n);
    if (!d->pos || !d->reason || !d->raw || (dl->header && !d->header)) {
        free_dead_one(d);
        return ak_err_nomem(err);
    }
    r->ndead++;
    if (r->dead_logged++ < 5) {
        char tag[300];
        snprintf(tag, sizeof tag, "%s/%s", r->rt.prod.name, r->cur_input);
        ak_log_warn(tag, "dead letter at %s: %s", dl->position, dl->reason);
    }
    return 0;
}

static void free_dead(run_t *r)
{
    for (size_t i = 0; i < r->ndead; i++)
        free_dead_one(&r->dead[i]);
    r->ndead = 0;
}

/* Opens logs and creates the (empty) tables; positions are read. */
static int new_table(ak_input_rt_t *in, ak_err_t *err)
{
    const ak_input_t *d = in->def;
    int cursor = d->cursor_field ? ak_schema_find(&d->schema, d->cursor_field, strlen(d->cursor_field)) : -1;
    if (ak_table_new(&d->schema, in->keep, cursor, d->strategy == AK_STRATEGY_INCREMENTAL, &in->table, err))
        return ak_err_prefix(err, "input `%s`", d->name);
    return 0;
}

static int open_logs(run_t *r, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    char dir[4096];
    ak__product_dir(rt->cat, rt->prod.name, dir, sizeof dir);
    char idir[4200];
    snprintf(idir, sizeof idir, "%s/inputs", dir);
    if (ak__mkdir_p(idir, err))
        return -1;
    for (size_t i = 0; i < rt->nin; i++) {
        ak_input_rt_t *in = &rt->in[i];
        const ak_input_t *d = in->def;
        char tag[300];
        snprintf(tag, sizeof tag, "%s/%s", rt->prod.name, d->name);
        if (!in->ops->built || !in->ops->open)
            return in->ops->open ? in->ops->open(&in->conn, d, NULL, &in->src, err)
                                 : ak_errf(err, AK_E_NOTBUILT, "connector `%s` is not built yet", in->ops->name);
        char path[4400];
        snprintf(path, sizeof path, "%s/%s.log", idir, d->name);
        if (!(in->log_path = ak_strdup(path)))
            return ak_err_nomem(err);
        ak_position_rec_t pos;
        if (ak_cat_position_get(rt->cat, rt->prod.name, d->name, &pos, err))
            return -1;
        if (pos.fingerprint && strcmp(pos.fingerprint, in->fp_text) != 0) {
            ak_log_info(tag, "the input's definition changed (connection, resource, strategy or columns): reading it "
                             "again from the start");
            ak_cat_position_free(&pos);
            if (ak_inlog_remove(path, err))
                return -1;
        }
        int rc = ak_inlog_open(path, &d->schema, in->fingerprint, (uint64_t)pos.log_bytes, &in->log, err);
        r->lens[i] = (uint64_t)pos.log_bytes;
        if (rc == 0 && pos.position && !(in->position = ak_strdup(pos.position)))
            rc = ak_err_nomem(err);
        ak_cat_position_free(&pos);
        if (rc)
            return -1;
        if (new_table(in, err))
            return -1;
    }
    return 0;
}

/* A change behind compacted state (AK_E_BEHIND) is not a failure: the state
 * is rebuilt from the logs once they hold it; everything else is. */
static int note_behind(run_t *r, ak_err_t *err)
{
    if (err->code != AK_E_BEHIND)
        return -1;
    if (!r->rebuild_due)
        snprintf(r->rebuild_why, sizeof r->rebuild_why, "%s", err->msg);
    r->rebuild_due = true;
    ak_err_clear(err);
    return 0;
}

/* Records read go to the tables, unless the state is rebuilt anyway. */
static int apply(run_t *r, ak_input_rt_t *in, const ak_batch_t *b, ak_err_t *err)
{
    if (r->rebuild_due || ak_table_apply(in->table, b, err) == 0)
        return 0;
    return note_behind(r, err);
}

typedef struct replay_ctx {
    run_t *r;
    ak_input_rt_t *in;
} replay_ctx_t;

/* Applies a chunk of the log and steps the dataflow, so changes do not pile
 * up in the operators' inputs. */
static int replay_cb(void *ctx, const ak_batch_t *b, ak_err_t *err)
{
    replay_ctx_t *c = ctx;
    if (ak_table_apply(c->in->table, b, err))
        return -1;
    c->r->unstepped += (int64_t)b->n;
    /* (a statement re-evaluated whole only runs when the micro-batch does) */
    if (c->r->unstepped < STEP_RECORDS || !ak_flow_incremental(c->r->df.flow, NULL))
        return 0;
    c->r->unstepped = 0;
    return ak__dataflow_step(&c->r->df, c->r->now_us, err);
}

static int replay_range(run_t *r, const uint64_t *from, const uint64_t *to, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    for (size_t i = 0; i < rt->nin; i++) {
        ak_input_rt_t *in = &rt->in[i];
        replay_ctx_t c = {r, in};
        if (ak_inlog_replay_range(in->log, from[i], to ? to[i] : UINT64_MAX, 16384, replay_cb, &c, err))
            return ak_err_prefix(err, "input `%s`", in->def->name);
    }
    return 0;
}

/* Restores the state from the newest checkpoint that fits and replays the
 * committed logs from there (or from the start), through the dataflow. */
static int replay(run_t *r, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    if (ak_engine_now(&r->now_us, err))
        return -1;
    ak_restore_t rs;
    if (ak__state_open(rt, &r->df, &r->ps, err) || ak__state_restore(r->ps, r->lens, &rs, err))
        return -1;
    if (rs.restored)
        ak_log_info(r->tag, "state restored from checkpoint %" PRIu64 " (%.1f MB in %.0f ms)%s", rs.seq,
                    (double)rs.bytes / 1048576.0, (double)rs.us / 1e3,
                    rs.discard ? "; the serving table was published after it" : "");
    else if (rs.why[0])
        ak_log_info(r->tag, "checkpoint not used: %s; rebuilding the state from the input logs", rs.why);
    int64_t t0 = ak_mono_us();
    if (replay_range(r, rs.from, rs.mid, err))
        return note_behind(r, err) || rebuild(r, err);
    if (rs.discard) {
        /* that much is in the table already */
        r->unstepped = 0;
        if (ak__dataflow_step(&r->df, r->now_us, err) || ak_store_sink_discard(r->df.sink, err))
            return note_behind(r, err) || rebuild(r, err);
    }
    if (replay_range(r, rs.mid, NULL, err))
        return note_behind(r, err) || rebuild(r, err);
    uint64_t bytes = 0;
    for (size_t i = 0; i < rt->nin; i++)
        bytes += r->lens[i] - rs.from[i];
    if (r->o->progress && bytes > (1u << 20))
        ak_log_info(r->tag, "replayed %.1f MB of input logs in %.1f s", (double)bytes / 1048576.0,
                    (double)(ak_mono_us() - t0) / 1e6);
    return 0;
}

/* Makes the state durable (whole or what changed since the last time). */
static int checkpoint(run_t *r, ak_err_t *err)
{
    ak_ckpt_stats_t st;
    if (ak__state_checkpoint(r->ps, r->lens, &st, err))
        return -1;
    r->unsaved = false;
    r->last_ckpt_mono = ak_mono_us();
    if (r->o->progress)
        ak_log_info(r->tag,
                    "checkpoint %" PRIu64 ": %s, %" PRIu64 " records, %.1f KB written in %.1f ms (state on disk %.1f "
                    "MB in %d segments)",
                    st.seq, st.full ? "whole" : "incremental", st.records, (double)st.bytes / 1024.0,
                    (double)st.us / 1e3, (double)st.total_bytes / 1048576.0, st.segments);
    return 0;
}

/* The exact path for a change behind compacted state: a new state from the
 * whole committed logs, with compaction held until they are replayed (a
 * compaction half-way would meet the same change again).  The serving sink
 * is new too, so the next publish replaces the table whole. */
static int rebuild(run_t *r, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    int64_t t0 = ak_mono_us();
    ak_log_warn(r->tag, "%s; rebuilding the state from the input logs (a longer compute.allowed_lateness keeps "
                        "more state in memory instead)", r->rebuild_why);
    r->rebuild_due = false;
    rt->rebuilds++;
    ak_err_t moot; /* a failed publish is moot: the table is replaced whole */
    if (collect(r, &moot))
        ak_err_clear(&moot);
    ak__state_close(r->ps);
    r->ps = NULL;
    ak__dataflow_free(&r->df);
    for (size_t i = 0; i < rt->nin; i++) {
        ak_table_free(rt->in[i].table);
        rt->in[i].table = NULL;
        if (new_table(&rt->in[i], err))
            return -1;
    }
    int64_t commit;
    char *logs = NULL;
    if (ak__dataflow_new(rt, &r->df, err) || ak__dataflow_sink(&r->df, r->store, err) ||
        ak__state_open(rt, &r->df, &r->ps, err) || ak_store_sink_table(r->df.sink, &commit, &logs, err) < 0)
        return -1;
    ak_free(logs); /* (the sink's commit numbers go on from the table's) */
    uint64_t *zero = ak_calloc(rt->nin + 1, sizeof *zero);
    if (!zero)
        return ak_err_nomem(err);
    r->df.compact_hold = true;
    r->unstepped = 0;
    ak_io_crash_point("rebuild");
    int rc = replay_range(r, zero, NULL, err);
    ak_free(zero);
    r->df.compact_hold = false;
    r->unsaved = true;
    if (rc == 0)
        ak_log_info(r->tag, "state rebuilt in %.1f s", (double)(ak_mono_us() - t0) / 1e6);
    return rc;
}

static int open_sources(run_t *r, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    for (size_t i = 0; i < rt->nin; i++) {
        ak_input_rt_t *in = &rt->in[i];
        if (in->ops->open(&in->conn, in->def, in->position, &in->src, err))
            return -1;
    }
    return 0;
}

static void free_replayed(run_t *r)
{
    for (size_t i = 0; i < r->nrep; i++)
        ak_free(r->rep[i].reason);
    r->nrep = 0;
}

/* Reads one queued dead letter again with its input's current definition:
 * what decodes joins this micro-batch, like records just polled. */
static int replay_one(run_t *r, const ak_deadletter_rec_t *d, int64_t *got, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    ak_input_rt_t *in = NULL;
    size_t i = 0;
    for (; i < rt->nin && !in; i++)
        if (strcmp(rt->in[i].def->name, d->input) == 0)
            in = &rt->in[i];
    char why[600] = "";
    if (!in) {
        snprintf(why, sizeof why, "read again: version %s has no input `%.100s`", rt->version, d->input);
    } else {
        i--;
        ak_batch_t b;
        ak_batch_init(&b, &in->def->schema);
        ak_err_t de;
        ak_err_clear(&de);
        int rc;
        if (d->header) {
            /* a CSV line: read with its file's header, mapped to this version's schema */
            ak_csv_decoder_t *cd;
            rc = ak_csv_decoder_new(&in->def->schema, d->header, d->header_len, &cd, &de);
            if (rc == 0)
                rc = ak_csv_decode(cd, d->raw, d->raw_len, 0, &b, &de);
            ak_csv_decoder_free(cd);
        } else {
            if (!r->dec[i] && ak_json_decoder_new(&in->def->schema, &r->dec[i], err))
                return -1;
            rc = ak_json_decode(r->dec[i], d->raw, d->raw_len, 0, &b, &de);
        }
        if (rc < 0 && de.code == AK_E_NOMEM) {
            ak_batch_free(&b);
            return ak_err_nomem(err);
        }
        if (rc < 0)
            snprintf(why, sizeof why, "read again: %.500s", de.msg);
        else if (b.n && (ak_inlog_append(in->log, &b, err) || apply(r, in, &b, err))) {
            ak_batch_free(&b);
            return -1;
        }
        in->dirty = true;
        in->records += (int64_t)b.n;
        r->unstepped += (int64_t)b.n;
        *got += (int64_t)b.n;
        ak_batch_free(&b);
    }
    if (AK_GROW(r->rep, r->cap_rep, r->nrep + 1))
        return ak_err_nomem(err);
    r->rep[r->nrep] = (struct replayed){d->id, NULL};
    if (*why && !(r->rep[r->nrep].reason = ak_strdup(why)))
        return ak_err_nomem(err);
    r->nrep++;
    return 0;
}

/* Dead letters queued by `akili deadletter replay` (looked for once a
 * second); they leave the queue with the micro-batch's commit. */
static int64_t replay_dead(run_t *r, ak_err_t *err)
{
    int64_t now = ak_mono_us();
    if (r->nrep || (r->replay_check_us && now - r->replay_check_us < AK_US_PER_SEC))
        return 0;
    r->replay_check_us = now;
    ak_deadletter_rec_t *v;
    size_t n;
    if (ak_cat_deadletter_queued(r->rt.cat, r->rt.prod.name, 10000, &v, &n, err))
        return -1;
    int64_t got = 0;
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++)
        rc = replay_one(r, &v[k], &got, err);
    ak_cat_deadletter_free_list(v, n);
    if (rc)
        return -1;
    if (n)
        ak_log_info(r->tag, "%zu dead letters read again: %" PRId64 " records", n, got);
    return got;
}

/* Polls every input until idle or the micro-batch budget is used; returns
 * the number of new records. */
static int64_t ingest(run_t *r, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    int64_t total = 0;
    size_t per_call = r->o->batch_records ? r->o->batch_records : 4096;
    int64_t started = ak_mono_us();
    r->budget_us = r->behind ? (r->budget_us < 5 * AK_US_PER_SEC ? r->budget_us * 2 : 10 * AK_US_PER_SEC) : 200000;
    r->behind = false;
    int64_t replayed = replay_dead(r, err);
    if (replayed < 0)
        return -1;
    total += replayed;
    /* tables (`strategy: incremental`) before streams: a join then meets
     * each profile before the events that look it up, instead of
     * re-emitting every joined event when the profile arrives later */
    for (size_t k = 0; k < 2 * rt->nin; k++) {
        size_t i = k % rt->nin;
        bool table = rt->in[i].def->strategy == AK_STRATEGY_INCREMENTAL;
        if ((k < rt->nin) != table)
            continue;
        ak_input_rt_t *in = &rt->in[i];
        if (!in->pf && ak_prefetch_start(in->ops, in->src, &in->def->schema, per_call, r->o->once, &in->pf, err))
            return -1;
        r->cur_input = in->def->name;
        int64_t got = 0;
        size_t dead_before = r->ndead;
        int attempt = 0;
        char *p = NULL; /* the position after the last batch taken */
        for (;;) {
            ak_fetched_t *f = ak_prefetch_next(in->pf);
            if (!f)
                break; /* nothing new */
            ak_poll_rc_t pr = f->rc;
            ak_free(p);
            p = f->position;
            f->position = NULL;
            int rc = 0;
            for (size_t d = 0; d < f->ndead && rc == 0; d++)
                rc = on_dead(r, &f->dead[d], err);
            /* what a failed poll handed out is kept: the position covers it */
            const ak_batch_t *b = &f->batch;
            if (rc == 0 && b->n &&
                (ak_inlog_append_encoded(in->log, f->log.data, f->log.len, err) || apply(r, in, b, err)))
                rc = -1;
            got += (int64_t)b->n;
            r->unstepped += (int64_t)b->n;
            ak_err_t perr = f->err;
            ak_prefetch_done(in->pf, f);
            if (rc) {
                ak_free(p);
                return -1;
            }
            if (pr == AK_POLL_ERROR) {
                *err = perr;
                bool transient = err->retriable;
                char what[300];
                snprintf(what, sizeof what, "reading input `%s`", in->def->name);
                if (retry(r, &attempt, what, err))
                    continue;
                if (stop_flag)
                    break; /* stopping: what was read commits as usual */
                ak_free(p);
                return transient ? -1 : ak_err_prefix(err, "input `%s`", in->def->name);
            }
            attempt = 0;
            if (r->unstepped >= STEP_RECORDS && ak_flow_incremental(r->df.flow, NULL) && !r->rebuild_due) {
                r->unstepped = 0;
                if (ak_engine_now(&r->now_us, err) ||
                    (ak__dataflow_step(&r->df, r->now_us, err) && note_behind(r, err))) {
                    ak_free(p);
                    return -1;
                }
            }
            if (pr == AK_POLL_IDLE || stop_flag)
                break;
            if (r->deadline && ak_mono_us() > r->deadline) {
                r->timed_out = true;
                break;
            }
            /* a continuous run keeps micro-batches short, so results stay
             * fresh; catching up on a backlog, each one may take twice as
             * long as the last (fewer, larger publishes), up to 10 s */
            if (!r->o->once && ak_mono_us() - started > r->budget_us) {
                r->behind = true;
                break;
            }
            if (r->o->progress && got % (1 << 20) < (int64_t)per_call)
                ak_log_info(r->tag, "%s: %" PRId64 " records read", in->def->name, got);
        }
        if (got) {
            const ak_table_stats_t *ts = ak_table_stats(in->table);
            char tag[300];
            snprintf(tag, sizeof tag, "%s/%s", rt->prod.name, in->def->name);
            ak_log_debug(tag, "%" PRId64 " records; state: %zu rows (upserts %" PRIu64 ", deletes %" PRIu64
                              ", older ignored %" PRIu64 ", unmatched deletes %" PRIu64 ")",
                         got, ak_table_rows(in->table), ts->upserts, ts->deletes, ts->ignored_older,
                         ts->deletes_unmatched);
        }
        in->records += got;
        in->dead += (int64_t)(r->ndead - dead_before);
        /* a position can move without records (a tombstone, a blank line):
         * that too is committed, and recorded with the published table */
        const char *last = in->pending ? in->pending : in->position;
        if (p && (got || r->ndead > dead_before || !last || strcmp(p, last) != 0)) {
            in->dirty = true;
            ak_free(in->pending);
            in->pending = p;
        } else {
            ak_free(p);
        }
        total += got + (int64_t)(r->ndead - dead_before);
    }
    return total;
}

/* Makes the logs durable and commits positions + dead letters together. */
static int commit(run_t *r, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    uint64_t *lens = r->lens;
    for (size_t i = 0; i < rt->nin; i++)
        if (ak_inlog_sync(rt->in[i].log, &lens[i], err))
            return -1;
    ak_io_crash_point("log-synced");
    if (ak_catalog_begin(rt->cat, err))
        return -1;
    for (size_t i = 0; i < rt->nin; i++) {
        ak_input_rt_t *in = &rt->in[i];
        if (!in->pending && !in->dirty)
            continue;
        ak_position_rec_t p = {in->pending ? in->pending : in->position, (int64_t)lens[i], in->fp_text};
        if (ak_cat_position_set(rt->cat, rt->prod.name, in->def->name, &p, err))
            goto fail;
    }
    for (size_t i = 0; i < r->ndead; i++) {
        dead_t *d = &r->dead[i];
        ak_cat_deadletter_t dl = {d->input, d->pos, d->reason, d->raw, d->n, d->header, d->header_n};
        if (ak_cat_deadletter_add(rt->cat, rt->prod.name, r->rec.id, &dl, err))
            goto fail;
    }
    r->rec.deadletters += (int64_t)r->ndead;
    for (size_t i = 0; i < r->nrep; i++)
        if (ak_cat_deadletter_done(rt->cat, r->rep[i].id, r->rep[i].reason, err))
            goto fail;
    if (ak_catalog_commit(rt->cat, err))
        goto fail;
    free_replayed(r);
    ak_io_crash_point("positions-committed");
    free_dead(r);
    for (size_t i = 0; i < rt->nin; i++) {
        ak_input_rt_t *in = &rt->in[i];
        if (in->pending) {
            ak_free(in->position);
            in->position = in->pending;
            in->pending = NULL;
            /* the checkpoint is durable: the source may now forget.  A
             * transient failure to say so is only late: the next
             * acknowledgement covers this position too */
            if (in->pf ? ak_prefetch_commit(in->pf, in->position, err) : in->ops->commit(in->src, in->position, err)) {
                if (!err->retriable)
                    return -1;
                ak_log_warn(r->tag, "input `%s`: acknowledging the source failed (%s); the next commit covers it",
                            in->def->name, err->msg);
                ak_err_clear(err);
            }
        }
    }
    return 0;
fail:
    ak_catalog_rollback(rt->cat);
    return -1;
}

static bool same_result(const ak_check_result_t *a, const ak_check_result_t *b)
{
    return a->passed == b->passed && a->has_value == b->has_value && (!a->has_value || a->value == b->value) &&
           (a->error == NULL) == (b->error == NULL);
}

/* Records the checks' results when they changed, or now and then. */
static int record_quality(run_t *r, const ak_check_result_t *res, size_t n, bool force, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    int64_t now = ak_wall_us();
    bool changed = !r->have_last;
    for (size_t i = 0; i < n && !changed; i++)
        changed = !same_result(&res[i], &r->last[i]);
    if (!changed && !force && now - r->last_quality_us < QUALITY_EVERY_US)
        return 0;
    if (ak_catalog_begin(rt->cat, err))
        return -1;
    for (size_t i = 0; i < n; i++) {
        ak_quality_rec_t q = {r->rec.id, (char *)res[i].check->name, (char *)ak_severity_name(res[i].check->severity),
                              res[i].has_value, res[i].value, res[i].check->threshold, res[i].passed,
                              (char *)"candidate", res[i].error, now};
        if (ak_cat_quality_add(rt->cat, rt->prod.name, &q, err)) {
            ak_catalog_rollback(rt->cat);
            return -1;
        }
    }
    if (ak_catalog_commit(rt->cat, err))
        return -1;
    ak_quality_results_free(r->last, n);
    for (size_t i = 0; i < n; i++) {
        r->last[i] = res[i];
        r->last[i].error = res[i].error ? ak_strdup(res[i].error) : NULL;
    }
    r->have_last = true;
    r->last_quality_us = now;
    return 0;
}

static void blocked_message(run_t *r, const ak_check_result_t *res, size_t nc)
{
    ak_buf_t msg = AK_BUF_INIT;
    ak_buf_puts(&msg, "publishing blocked by critical quality check");
    int nf = 0;
    for (size_t i = 0; i < nc; i++) {
        if (res[i].passed || res[i].check->severity != AK_SEVERITY_CRITICAL)
            continue;
        ak_buf_printf(&msg, "%s `%s`", nf++ ? "," : (nc > 1 ? "s" : ""), res[i].check->name);
        if (res[i].error)
            ak_buf_printf(&msg, " (could not run: %s)", res[i].error);
        else
            ak_buf_printf(&msg, " (value %g > threshold %g)", res[i].value, res[i].check->threshold);
    }
    ak_buf_printf(&msg,
                  "; the previous version stays published and the changes are held until a micro-batch passes; the "
                  "candidate (%" PRId64 " rows) can be read with `akili query --candidate`",
                  ak_store_sink_rows(r->df.sink));
    ak_free(r->rec.message);
    r->rec.message = msg.oom ? NULL : ak_buf_steal(&msg);
    ak_buf_free(&msg);
}

/* Operator state, for progress lines (operators keep their byte counts up
 * to date, so this does not walk the state). */
static size_t state_bytes(run_t *r) { return ak__dataflow_state_bytes(&r->df); }

/* The committed positions, {"input": position, ...}: what a publish reflects. */
static char *positions_json(run_t *r)
{
    ak_buf_t b = AK_BUF_INIT;
    ak_buf_putc(&b, '{');
    for (size_t i = 0; i < r->rt.nin; i++) {
        const ak_input_rt_t *in = &r->rt.in[i];
        if (i)
            ak_buf_puts(&b, ", ");
        ak_buf_put_json_str(&b, in->def->name, strlen(in->def->name));
        ak_buf_puts(&b, ": ");
        if (!in->position)
            ak_buf_puts(&b, "null");
        else if (in->position[0] == '{')
            ak_buf_puts(&b, in->position);
        else
            ak_buf_put_json_str(&b, in->position, strlen(in->position));
    }
    ak_buf_putc(&b, '}');
    if (b.oom) {
        ak_buf_free(&b);
        return NULL;
    }
    return ak_buf_steal(&b);
}

/* Waits for the publish running on its thread and records it.  A failed
 * one has its changes staged again, so the next publish (with the next
 * positions) carries them: a transient failure only warns and makes that
 * one wait for its result; any other fails the run. */
static int collect(run_t *r, ak_err_t *err)
{
    bool had;
    ak_store_sink_report_t rep;
    if (ak_store_sink_collect(r->df.sink, &had, &rep, err) == 0) {
        if (had) {
            r->rec.published++;
            r->rec.last_publish_us = ak_wall_us();
            ak_free(r->published_inputs);
            r->published_inputs = r->async_inputs;
            r->async_inputs = NULL;
        }
        return 0;
    }
    ak_free(r->async_inputs);
    r->async_inputs = NULL;
    if (!err->retriable)
        return ak_err_prefix(err, "publishing to the serving store");
    ak_log_warn(r->tag, "publishing to the serving store failed (%s); the next micro-batch publishes its changes",
                err->msg);
    ak_err_clear(err);
    r->async_failed = true;
    return 0;
}

/* One micro-batch after the commit: step, gate, publish or hold.  `ckpt`:
 * a checkpoint follows; it is begun before the publish, so its holders are
 * serialized on another core while the store is written. */
static int evaluate(run_t *r, bool last, bool ckpt, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    if (ak_engine_now(&r->now_us, err))
        return -1;
    int64_t t0 = ak_mono_us();
    /* the logs are committed: a change behind compacted state rebuilds now */
    if (!r->rebuild_due && ak__dataflow_step(&r->df, r->now_us, err) && note_behind(r, err))
        return -1;
    if (r->rebuild_due && (rebuild(r, err) || ak__dataflow_step(&r->df, r->now_us, err)))
        return -1;
    r->last_step_now = r->now_us;
    int64_t t1 = ak_mono_us();
    size_t nc = rt->m->quality.n_checks;
    ak_check_result_t *res = ak_calloc(nc ? nc : 1, sizeof *res);
    bool blocked = false;
    int rc = -1;
    char *inputs = positions_json(r);
    if (!res || !inputs) {
        ak_free(res);
        ak_free(inputs);
        return ak_err_nomem(err);
    }
    if (ak_gate_run(r->df.gate, r->now_us, res, &blocked, err) || record_quality(r, res, nc, last, err))
        goto done;
    r->rec.rows_out = ak_store_sink_rows(r->df.sink);
    r->rec.batches++;
    if (ckpt && ak__state_checkpoint_start(r->ps, err))
        goto done;
    int64_t t2 = ak_mono_us();
    ak_store_sink_report_t rep = {0};
    char cname[300];
    snprintf(cname, sizeof cname, "%s__candidate", rt->prod.name);
    if (blocked) {
        bool was = r->rec.status == AK_RUN_BLOCKED;
        if (collect(r, err))
            goto done;
        int64_t now = ak_mono_us();
        if (last || !r->candidate_written || now - r->candidate_us >= CANDIDATE_EVERY_US) {
            if (ak_store_sink_preview(r->df.sink, cname, rt->version, r->rec.id, inputs, NULL, err))
                goto done;
            r->candidate_written = true;
            r->candidate_us = now;
        }
        blocked_message(r, res, nc);
        r->any_blocked = true;
        r->rec.status = AK_RUN_BLOCKED;
        if (!was || last)
            ak_log_warn(r->tag, "%s", r->rec.message ? r->rec.message : "publishing blocked");
    } else {
        /* publish the changes, or only the positions when they alone moved.
         * In the middle of a continuous run the publish runs on a thread
         * while the next batch is read and transformed; the first, the last,
         * one with a checkpoint (its holders are being saved) or after a
         * failed one is waited for */
        bool async = !last && !ckpt && r->rec.batches > 1 && !r->candidate_written && !r->async_failed &&
                     !r->sync_publish;
        if (collect(r, err))
            goto done;
        bool moved = !r->published_inputs || strcmp(r->published_inputs, inputs) != 0;
        if (ak_store_sink_pending(r->df.sink) || moved) {
            char *logs = ak__state_logs_text(r->lens, rt->nin);
            int prc = logs ? 0 : ak_err_nomem(err), attempt = 0;
            if (logs && async) {
                prc = ak_store_sink_publish_async(r->df.sink, rt->version, r->rec.id, inputs, logs, err);
                ak_free(logs);
                if (prc)
                    goto done;
                r->async_inputs = inputs;
                inputs = NULL;
            } else {
                while (logs &&
                       (prc = ak_store_sink_publish(r->df.sink, rt->version, r->rec.id, inputs, logs, &rep, err)) &&
                       retry(r, &attempt, "publishing to the serving store", err))
                    ;
                ak_free(logs);
                if (prc)
                    goto done;
                r->async_failed = false;
                r->rec.published++;
                r->rec.last_publish_us = ak_wall_us();
                ak_free(r->published_inputs);
                r->published_inputs = inputs;
                inputs = NULL;
            }
        }
        if (r->candidate_written || r->rec.batches == 1) {
            if (ak_store_drop(r->store, cname, err))
                goto done;
            r->candidate_written = false;
        }
        if (r->rec.status == AK_RUN_BLOCKED)
            ak_log_info(r->tag, "quality gates pass again: held changes published");
        r->rec.status = AK_RUN_RUNNING;
        ak_free(r->rec.message);
        r->rec.message = NULL;
        for (size_t i = 0; i < nc; i++)
            if (!res[i].passed && (!r->have_last || r->last[i].passed || last))
                ak_log_warn(r->tag, "quality warning `%s`: value %g > threshold %g", res[i].check->name, res[i].value,
                            res[i].check->threshold);
    }
    int64_t t3 = ak_mono_us();
    if (r->o->progress)
        ak_log_info(r->tag,
                    "batch %" PRId64 ": %" PRId64 " records, %" PRId64 " changes, %" PRId64 " rows; %.1f ms: read "
                    "%.1f, commit %.1f, step %.1f, checks %.1f, %s %.1f (%" PRId64 " inserted, %" PRId64
                    " updated, %" PRId64 " deleted); state %.1f MB",
                    r->rec.batches, r->batch_records, r->df.changes, r->rec.rows_out,
                    (double)(t3 - r->batch_t0) / 1e3, (double)(t0 - r->batch_t0 - r->commit_us) / 1e3,
                    (double)r->commit_us / 1e3, (double)(t1 - t0) / 1e3, (double)(t2 - t1) / 1e3,
                    blocked ? "held" : "publish", (double)(t3 - t2) / 1e3, rep.inserted, rep.updated, rep.deleted,
                    (double)state_bytes(r) / 1048576.0);
    rc = ak_cat_run_update(rt->cat, &r->rec, err);
done:
    ak_quality_results_free(res, nc);
    ak_free(res);
    ak_free(inputs);
    return rc;
}

int ak__product_lock(ak_catalog_t *cat, const char *product, int *fd, ak_err_t *err)
{
    char dir[4096], path[4200];
    ak__product_dir(cat, product, dir, sizeof dir);
    if (ak__mkdir_p(dir, err))
        return -1;
    snprintf(path, sizeof path, "%s/run.lock", dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0)
        return ak_errf(err, AK_E_IO, "cannot open %s: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0)
        return ak_errf(err, AK_E_STATE, "another run of `%s` is in progress (see `akili run list %s`)", product,
                       product);
    return 0;
}

static int lock_product(run_t *r, ak_err_t *err) { return ak__product_lock(r->rt.cat, r->rt.prod.name, &r->lockfd, err); }

static void sleep_us(int64_t us)
{
    while (us > 0 && !stop_flag) {
        int64_t step = us > 100000 ? 100000 : us;
        struct timespec ts = {(time_t)(step / 1000000), (long)(step % 1000000) * 1000};
        nanosleep(&ts, NULL);
        us -= step;
    }
}

int ak_engine_run(ak_catalog_t *cat, const char *product, const ak_engine_opts_t *o, ak_run_summary_t *sum,
                  ak_err_t *err)
{
    run_t r;
    memset(&r, 0, sizeof r);
    memset(sum, 0, sizeof *sum);
    r.o = o;
    r.lockfd = -1;
    r.started_mono = ak_mono_us();
    stop_flag = 0;
    int rc = -1;
    bool begun = false;
    if (ak__product_load(cat, product, &r.rt, err))
        return -1;
    ak_product_rt_t *rt = &r.rt;
    snprintf(r.tag, sizeof r.tag, "%s", rt->prod.name);
    const char *sp = getenv("AKILI_SYNC_PUBLISH");
    r.sync_publish = sp && *sp && strcmp(sp, "0") != 0;
    size_t nc = rt->m->quality.n_checks;
    if (!(r.last = ak_calloc(nc ? nc : 1, sizeof *r.last)) || !(r.lens = ak_calloc(rt->nin + 1, sizeof *r.lens)) ||
        !(r.dec = ak_calloc(rt->nin + 1, sizeof *r.dec))) {
        ak_err_nomem(err);
        goto out;
    }
    if (lock_product(&r, err) || ak_cat_run_reap(cat, product, err))
        goto out;
    if (ak_cat_run_begin(cat, product, rt->version, o->once ? "once" : "continuous", &r.rec.id, err))
        goto out;
    begun = true;
    r.rec.product = rt->prod.name;
    r.rec.version = rt->version;
    r.rec.status = AK_RUN_RUNNING;
    if (open_logs(&r, err) || ak_store_open(ak_catalog_home(cat), rt->prod.namespace_, &r.store, err) ||
        ak__dataflow_new(rt, &r.df, err) || ak__dataflow_sink(&r.df, r.store, err) || replay(&r, err) ||
        open_sources(&r, err))
        goto out;
    if (r.df.retain_off)
        ak_log_info(r.tag, "output.retention is not applied: %s", r.df.retain_off);
    int64_t timeout_us = rt->m->compute.timeout_s > 0 ? rt->m->compute.timeout_s * AK_US_PER_SEC : 0;
    if (o->once && timeout_us)
        r.deadline = r.started_mono + timeout_us;
    /* idle: how long to wait before polling again (new data is processed at once) */
    int64_t interval = o->interval_us > 0 ? o->interval_us : 20000;
    r.ckpt_every_us = o->checkpoint_us > 0 ? o->checkpoint_us
                      : rt->m->compute.checkpoint_us > 0 ? rt->m->compute.checkpoint_us : 10 * AK_US_PER_SEC;
    r.last_ckpt_mono = ak_mono_us();
    bool first = true;
    for (;;) {
        int64_t t_read = ak_mono_us();
        int64_t got = ingest(&r, err);
        if (got < 0)
            goto out;
        if (got || first)
            r.batch_t0 = t_read; /* a micro-batch starts when its first records are read */
        r.batch_records += got;
        int64_t records = 0;
        for (size_t i = 0; i < rt->nin; i++)
            records += rt->in[i].records;
        r.rec.records_in = records;
        bool changed = r.nrep > 0;
        for (size_t i = 0; i < rt->nin; i++)
            changed |= rt->in[i].dirty;
        int64_t now;
        if (ak_engine_now(&now, err))
            goto out;
        bool clock_due = ak__dataflow_clocked(&r.df) && now - r.last_step_now >= CLOCK_EVERY_US;
        bool last = o->once || stop_flag || (o->max_batches && r.rec.batches + 1 >= o->max_batches);
        if (changed || first || clock_due) {
            if (!changed && !first)
                r.batch_t0 = ak_mono_us();
            int64_t tc = ak_mono_us();
            int attempt = 0;
            while (commit(&r, err))
                if (!retry(&r, &attempt, "committing positions to the catalog", err))
                    goto out;
            r.commit_us = ak_mono_us() - tc;
            /* not while catching up on a backlog: checkpoints of a half-read
             * backlog are outgrown at once (a small first segment, then
             * increments larger than it, merged or rewritten whole later) */
            bool ckpt = last || (!r.behind && ak_mono_us() - r.last_ckpt_mono >= r.ckpt_every_us);
            if (evaluate(&r, last, ckpt, err))
                goto out;
            r.unsaved = true;
            r.batch_records = 0;
            for (size_t i = 0; i < rt->nin; i++)
                rt->in[i].dirty = false;
            first = false;
        }
        if (o->once || stop_flag || (o->max_batches && r.rec.batches >= o->max_batches))
            break;
        if (r.unsaved &&
            (ak__state_checkpoint_started(r.ps) || (!r.behind && ak_mono_us() - r.last_ckpt_mono >= r.ckpt_every_us)) &&
            checkpoint(&r, err))
            goto out;
        if (got == 0)
            sleep_us(interval);
    }
    /* every exit that is not a failure leaves a checkpoint */
    if (collect(&r, err) || (r.unsaved && checkpoint(&r, err)))
        goto out;
    if (r.timed_out || (r.deadline && ak_mono_us() > r.deadline)) {
        /* what was read is committed (and published if the gates passed) */
        ak_errf(err, AK_E_STATE,
                "the run exceeded compute.timeout (%" PRId64 " s)%s; what it read (%" PRId64
                " records) is committed, and the next run continues from there",
                rt->m->compute.timeout_s, r.timed_out ? " before reading all input" : "", r.rec.records_in);
        goto out;
    }
    /* a continuous run ends by being stopped, whatever its last batch did
     * (a blocked batch's changes are held for the next run) */
    if (!o->once && (stop_flag || o->max_batches))
        r.rec.status = stop_flag ? AK_RUN_STOPPED : (r.rec.status == AK_RUN_BLOCKED ? AK_RUN_BLOCKED : AK_RUN_SUCCEEDED);
    else
        r.rec.status = r.rec.status == AK_RUN_BLOCKED ? AK_RUN_BLOCKED : AK_RUN_SUCCEEDED;
    rc = 0;
    if (o->progress) {
        ak_buf_t b = AK_BUF_INIT;
        ak_flow_report(r.df.flow, &b);
        size_t total = ak__dataflow_state_bytes(&r.df), keys = ak_flow_keys(r.df.flow);
        int64_t rows = ak_store_sink_rows(r.df.sink);
        ak_buf_printf(&b, "quality checks: %.1f MB; serving sink: %.1f MB\n", (double)ak_gate_state_bytes(r.df.gate) / 1048576.0,
                      (double)ak_store_sink_bytes(r.df.sink) / 1048576.0);
        ak_buf_printf(&b, "state total %.1f MB: %.0f bytes per output row (%" PRId64 ")", (double)total / 1048576.0,
                      rows ? (double)total / (double)rows : 0.0, rows);
        ak_buf_printf(&b, "; allocated now %.1f MB, at most %.1f MB", (double)ak_alloc_live() / 1048576.0,
                      (double)ak_alloc_peak() / 1048576.0);
        if (keys)
            ak_buf_printf(&b, ", %.0f bytes per key (%zu)", (double)total / (double)keys, keys);
        ak_log_info(r.tag, "operators:\n%s", b.data ? b.data : "");
        ak_buf_free(&b);
    }
out:
    if (begun) {
        if (rc) {
            r.rec.status = AK_RUN_FAILED;
            ak_free(r.rec.message);
            r.rec.message = ak_strdup(err->msg);
        }
        r.rec.finished_us = ak_wall_us();
        ak_err_t e2;
        if (ak_cat_run_update(cat, &r.rec, &e2))
            ak_log_error(r.tag, "cannot record the run's end: %s", e2.msg);
    }
    sum->run_id = r.rec.id;
    sum->status = r.rec.status;
    sum->batches = r.rec.batches;
    sum->records_in = r.rec.records_in;
    sum->deadletters = r.rec.deadletters + (int64_t)r.ndead;
    sum->rows_out = r.rec.rows_out;
    sum->published = r.rec.published;
    snprintf(sum->message, sizeof sum->message, "%s", r.rec.message ? r.rec.message : "");
    free_dead(&r);
    ak_free(r.dead);
    ak_free(r.rec.message);
    ak_free(r.published_inputs);
    ak_free(r.async_inputs);
    if (r.last)
        ak_quality_results_free(r.last, nc);
    ak_free(r.last);
    ak__state_close(r.ps);
    ak_free(r.lens);
    for (size_t i = 0; r.dec && i < rt->nin; i++)
        ak_json_decoder_free(r.dec[i]);
    ak_free(r.dec);
    free_replayed(&r);
    ak_free(r.rep);
    ak__dataflow_free(&r.df);
    ak_store_close(r.store);
    if (r.lockfd >= 0)
        close(r.lockfd);
    ak__product_free(&r.rt);
    return rc;
}
