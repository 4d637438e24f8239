/* ak_run.c - the run loop: ingest, commit, evaluate, gate, publish.
 *
 * Ordering is what makes a crash harmless: records are appended to the
 * input logs and fsynced, then positions (with the logs' lengths) and dead
 * letters commit in one catalog transaction, and only then do sources get
 * their acknowledgement and does the transform run.  A crash before the
 * commit re-reads the same records; after it, the next run replays the logs
 * and recomputes, so the published table never misses or doubles a record.
 */
#include "ak_engine_int.h"

#include "ak_alloc.h"
#include "ak_log.h"
#include "ak_quality.h"
#include "ak_time.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
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
    char *pos, *reason, *raw;
    size_t n;
} dead_t;

typedef struct run {
    ak_product_rt_t rt;
    ak_store_t *store;
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
    char tag[200];
} run_t;

static int on_dead(void *ctx, const char *position, const char *reason, const char *raw, size_t n, ak_err_t *err)
{
    run_t *r = ctx;
    if (AK_GROW(r->dead, r->cap_dead, r->ndead + 1))
        return ak_err_nomem(err);
    dead_t *d = &r->dead[r->ndead];
    d->input = r->cur_input;
    d->pos = ak_strdup(position);
    d->reason = ak_strdup(reason);
    d->raw = ak_memdup(raw, n);
    d->n = n;
    if (!d->pos || !d->reason || !d->raw) {
        ak_free(d->pos);
        ak_free(d->reason);
        ak_free(d->raw);
        return ak_err_nomem(err);
    }
    r->ndead++;
    if (r->dead_logged++ < 5) {
        char tag[300];
        snprintf(tag, sizeof tag, "%s/%s", r->rt.prod.name, r->cur_input);
        ak_log_warn(tag, "dead letter at %s: %s", position, reason);
    }
    return 0;
}

static void free_dead(run_t *r)
{
    for (size_t i = 0; i < r->ndead; i++) {
        ak_free(r->dead[i].pos);
        ak_free(r->dead[i].reason);
        ak_free(r->dead[i].raw);
    }
    r->ndead = 0;
}

static int replay_cb(void *ctx, const ak_batch_t *b, ak_err_t *err) { return ak_table_apply(ctx, b, err); }

/* Opens logs, rebuilds tables from them and opens sources at the committed positions. */
static int open_inputs(run_t *r, ak_err_t *err)
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
        if (rc == 0 && pos.position && !(in->position = ak_strdup(pos.position)))
            rc = ak_err_nomem(err);
        ak_cat_position_free(&pos);
        if (rc)
            return -1;
        int cursor = d->cursor_field ? ak_schema_find(&d->schema, d->cursor_field, strlen(d->cursor_field)) : -1;
        if (ak_table_new(&d->schema, in->keep, cursor, d->strategy == AK_STRATEGY_INCREMENTAL, &in->table, err) ||
            ak_inlog_replay(in->log, 65536, replay_cb, in->table, err))
            return ak_err_prefix(err, "input `%s`", d->name);
        if (ak_table_rows(in->table))
            ak_log_debug(tag, "restored %zu rows from the input log", ak_table_rows(in->table));
        if (in->ops->open(&in->conn, d, in->position, &in->src, err))
            return -1;
    }
    return 0;
}

/* Polls every input until idle (or the batch budget is used); returns the
 * number of new records. */
static int64_t ingest(run_t *r, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    int64_t total = 0;
    size_t per_call = r->o->batch_records ? r->o->batch_records : 4096;
    for (size_t i = 0; i < rt->nin; i++) {
        ak_input_rt_t *in = &rt->in[i];
        ak_batch_t b;
        ak_batch_init(&b, &in->def->schema);
        r->cur_input = in->def->name;
        int64_t got = 0;
        size_t dead_before = r->ndead;
        for (;;) {
            ak_batch_clear(&b);
            ak_poll_rc_t pr = in->ops->poll(in->src, &b, per_call, r->o->once, on_dead, r, err);
            if (pr == AK_POLL_ERROR) {
                ak_batch_free(&b);
                return ak_err_prefix(err, "input `%s`", in->def->name);
            }
            if (b.n && (ak_inlog_append(in->log, &b, err) || ak_table_apply(in->table, &b, err))) {
                ak_batch_free(&b);
                return -1;
            }
            got += (int64_t)b.n;
            if (pr == AK_POLL_IDLE || stop_flag)
                break;
            if (r->deadline && ak_mono_us() > r->deadline) {
                r->timed_out = true;
                break;
            }
            if (r->o->progress && got % (1 << 20) < (int64_t)per_call)
                ak_log_info(r->tag, "%s: %" PRId64 " records read", in->def->name, got);
        }
        ak_batch_free(&b);
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
        if (got || r->ndead > dead_before) {
            in->dirty = true;
            char *p = in->ops->position(in->src);
            if (!p)
                return ak_err_nomem(err);
            ak_free(in->pending);
            in->pending = p;
        }
        total += got + (int64_t)(r->ndead - dead_before);
    }
    return total;
}

/* Makes the logs durable and commits positions + dead letters together. */
static int commit(run_t *r, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    uint64_t lens[256];
    for (size_t i = 0; i < rt->nin && i < 256; i++)
        if (ak_inlog_sync(rt->in[i].log, &lens[i], err))
            return -1;
    if (ak_catalog_begin(rt->cat, err))
        return -1;
    for (size_t i = 0; i < rt->nin; i++) {
        ak_input_rt_t *in = &rt->in[i];
        ak_position_rec_t p = {in->pending ? in->pending : in->position, (int64_t)lens[i], in->fp_text};
        if (ak_cat_position_set(rt->cat, rt->prod.name, in->def->name, &p, err))
            goto fail;
    }
    for (size_t i = 0; i < r->ndead; i++) {
        dead_t *d = &r->dead[i];
        if (ak_cat_deadletter_add(rt->cat, rt->prod.name, r->rec.id, d->input, d->pos, d->reason, d->raw, d->n, err))
            goto fail;
    }
    r->rec.deadletters += (int64_t)r->ndead;
    if (ak_cat_run_update(rt->cat, &r->rec, err) || ak_catalog_commit(rt->cat, err))
        goto fail;
    free_dead(r);
    for (size_t i = 0; i < rt->nin; i++) {
        ak_input_rt_t *in = &rt->in[i];
        if (in->pending) {
            ak_free(in->position);
            in->position = in->pending;
            in->pending = NULL;
            /* the checkpoint is durable: the source may now forget */
            if (in->ops->commit(in->src, in->position, err))
                return -1;
        }
    }
    return 0;
fail:
    ak_catalog_rollback(rt->cat);
    return -1;
}

static int record_quality(run_t *r, const ak_check_result_t *res, size_t n, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    int64_t now = ak_wall_us();
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
    return ak_catalog_commit(rt->cat, err);
}

static int publish(run_t *r, ak_rel_t *cand, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    const ak_manifest_t *m = rt->m;
    ak_store_index_t idx[16];
    int nidx = 0;
    for (size_t i = 0; i < m->serving.n_modes; i++)
        for (size_t k = 0; k < m->serving.modes[i].n_indexes && nidx < 16; k++) {
            const ak_index_t *ix = &m->serving.modes[i].indexes[k];
            idx[nidx++] = (ak_store_index_t){(const char *const *)ix->columns, (int)ix->n_columns,
                                             ix->type == AK_INDEX_UNIQUE};
        }
    /* lookups go by the output key, or by the first column (the entity) */
    const char *first = cand->ncols ? cand->names[0] : NULL;
    bool lookup = false;
    for (size_t i = 0; i < m->serving.n_modes; i++)
        lookup |= m->serving.modes[i].intent == AK_INTENT_LOOKUP;
    if (lookup && nidx < 16) {
        if (m->output.n_primary_key)
            idx[nidx++] = (ak_store_index_t){(const char *const *)m->output.primary_key, (int)m->output.n_primary_key, false};
        else if (first)
            idx[nidx++] = (ak_store_index_t){(const char *const *)&cand->names[0], 1, false};
    }
    char cname[300];
    snprintf(cname, sizeof cname, "%s__candidate", rt->prod.name);
    if (ak_store_replace(r->store, rt->prod.name, cand, idx, nidx, rt->version, r->rec.id, err))
        return -1;
    return ak_store_drop(r->store, cname, err);
}

static int evaluate(run_t *r, ak_err_t *err)
{
    ak_product_rt_t *rt = &r->rt;
    if (ak_engine_now(&rt->now_us, err))
        return -1;
    /* the statement reads the clock at execution */
    ak_sql_stmt_set_now(rt->transform, rt->now_us);
    /* the plan holds each table's relation; squeeze deleted rows out of it */
    for (size_t i = 0; i < rt->nin; i++) {
        const ak_rel_t *rel;
        if (ak_table_rel(rt->in[i].table, &rel, err))
            return -1;
    }
    ak_rel_t *cand = NULL;
    int64_t t0 = ak_mono_us();
    if (ak_sql_execute(rt->transform, &cand, err))
        return ak_err_prefix(err, "evaluating the transform");
    if (ak__conform(rt->m, &cand, err)) {
        ak_rel_free(cand);
        return -1;
    }
    int64_t t1 = ak_mono_us();
    size_t nc = rt->m->quality.n_checks;
    ak_check_result_t *res = ak_calloc(nc ? nc : 1, sizeof *res);
    bool blocked = false;
    ak_sql_env_t env = ak__product_env(rt);
    int rc = -1;
    if (!res) {
        ak_err_nomem(err);
        goto done;
    }
    if (ak_quality_run(rt->m, cand, &env, res, &blocked, err) || record_quality(r, res, nc, err))
        goto done;
    r->rec.rows_out = (int64_t)cand->nrows;
    r->rec.batches++;
    if (blocked) {
        char cname[300];
        snprintf(cname, sizeof cname, "%s__candidate", rt->prod.name);
        if (ak_store_replace(r->store, cname, cand, NULL, 0, rt->version, r->rec.id, err))
            goto done;
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
        ak_buf_printf(&msg, "; the previous version stays published, the candidate (%zu rows) can be read with "
                            "`akili query --candidate`", cand->nrows);
        ak_free(r->rec.message);
        r->rec.message = msg.oom ? NULL : ak_buf_steal(&msg);
        ak_buf_free(&msg);
        r->any_blocked = true;
        r->rec.status = AK_RUN_BLOCKED;
        ak_log_warn(r->tag, "%s", r->rec.message ? r->rec.message : "publishing blocked");
    } else {
        if (publish(r, cand, err))
            goto done;
        r->rec.published++;
        r->rec.last_publish_us = ak_wall_us();
        r->rec.status = AK_RUN_RUNNING;
        ak_free(r->rec.message);
        r->rec.message = NULL;
        for (size_t i = 0; i < nc; i++)
            if (!res[i].passed)
                ak_log_warn(r->tag, "quality warning `%s`: value %g > threshold %g", res[i].check->name, res[i].value,
                            res[i].check->threshold);
    }
    if (r->o->progress)
        ak_log_info(r->tag, "batch %" PRId64 ": %zu rows, transform %.3f s, %s", r->rec.batches, cand->nrows,
                    (double)(t1 - t0) / 1e6, blocked ? "blocked" : "published");
    rc = ak_cat_run_update(rt->cat, &r->rec, err);
done:
    ak_quality_results_free(res, nc);
    ak_free(res);
    ak_rel_free(cand);
    return rc;
}

static int lock_product(run_t *r, ak_err_t *err)
{
    char dir[4096], path[4200];
    ak__product_dir(r->rt.cat, r->rt.prod.name, dir, sizeof dir);
    if (ak__mkdir_p(dir, err))
        return -1;
    snprintf(path, sizeof path, "%s/run.lock", dir);
    r->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (r->lockfd < 0)
        return ak_errf(err, AK_E_IO, "cannot open %s: %s", path, strerror(errno));
    if (flock(r->lockfd, LOCK_EX | LOCK_NB) != 0)
        return ak_errf(err, AK_E_STATE, "another run of `%s` is in progress (see `akili run list %s`)", r->rt.prod.name,
                       r->rt.prod.name);
    return 0;
}

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
    if (lock_product(&r, err) || ak_cat_run_reap(cat, product, err))
        goto out;
    if (ak_cat_run_begin(cat, product, rt->version, o->once ? "once" : "continuous", &r.rec.id, err))
        goto out;
    begun = true;
    r.rec.product = rt->prod.name;
    r.rec.version = rt->version;
    r.rec.status = AK_RUN_RUNNING;
    if (open_inputs(&r, err) || ak_store_open(ak_catalog_home(cat), rt->prod.namespace_, &r.store, err))
        goto out;
    {
        ak_sql_env_t env = ak__product_env(rt);
        if (ak_sql_prepare(rt->m->transform.sql, strlen(rt->m->transform.sql), &env, &rt->transform, err))
            goto out;
    }
    int64_t timeout_us = rt->m->compute.timeout_s > 0 ? rt->m->compute.timeout_s * AK_US_PER_SEC : 0;
    if (o->once && timeout_us)
        r.deadline = r.started_mono + timeout_us;
    int64_t interval = o->interval_us > 0 ? o->interval_us : AK_US_PER_SEC;
    bool first = true;
    for (;;) {
        int64_t got = ingest(&r, err);
        if (got < 0)
            goto out;
        int64_t records = 0;
        for (size_t i = 0; i < rt->nin; i++)
            records += rt->in[i].records;
        r.rec.records_in = records;
        bool changed = false;
        for (size_t i = 0; i < rt->nin; i++)
            changed |= rt->in[i].dirty;
        if (changed || first) {
            if (commit(&r, err) || evaluate(&r, err))
                goto out;
            for (size_t i = 0; i < rt->nin; i++)
                rt->in[i].dirty = false;
            first = false;
        }
        if (o->once || stop_flag || (o->max_batches && r.rec.batches >= o->max_batches))
            break;
        sleep_us(interval);
    }
    if (r.timed_out || (r.deadline && ak_mono_us() > r.deadline)) {
        /* what was read is committed (and published if the gates passed) */
        ak_errf(err, AK_E_STATE,
                "the run exceeded compute.timeout (%" PRId64 " s)%s; what it read (%" PRId64
                " records) is committed, and the next run continues from there",
                rt->m->compute.timeout_s, r.timed_out ? " before reading all input" : "", r.rec.records_in);
        goto out;
    }
    /* a continuous run ends by being stopped, whatever its last batch did
     * (a blocked batch's changes stay held for the next run) */
    if (!o->once && (stop_flag || o->max_batches))
        r.rec.status = stop_flag ? AK_RUN_STOPPED : (r.rec.status == AK_RUN_BLOCKED ? AK_RUN_BLOCKED : AK_RUN_SUCCEEDED);
    else
        r.rec.status = r.rec.status == AK_RUN_BLOCKED ? AK_RUN_BLOCKED : AK_RUN_SUCCEEDED;
    rc = 0;
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
    ak_store_close(r.store);
    if (r.lockfd >= 0)
        close(r.lockfd);
    ak__product_free(&r.rt);
    return rc;
}
