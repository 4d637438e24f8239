/* ak_state.c - checkpoints of a product's state, and restarts from them. */
#include "ak_state.h"

#include "ak_alloc.h"
#include "ak_io.h"
#include "ak_log.h"
#include "ak_ser.h"
#include "ak_thread.h"
#include "ak_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bumped when what an operator writes changes meaning: older checkpoints
 * are then not used (the state is rebuilt from the logs). */
#define STATE_LAYOUT 3

struct ak_pstate {
    ak_product_rt_t *rt;
    ak_dataflow_t *df;
    ak_ckpt_t *ck;
    uint64_t fp;
    uint64_t *from, *mid;
    bool force_full;         /* the store's base is not what the holders track */
    /* a checkpoint begun: the saver thread serializes the holders while the
     * caller publishes (save_rc and save_err are its result) */
    bool started, saving, save_full;
    pthread_t saver;
    int save_rc;
    ak_err_t save_err;
    char tag[200];
    /* restore timing, per section (debug lines) */
    uint32_t sec;
    uint64_t sec_recs;
    int64_t sec_t0;
};

static void section_done(ak_pstate_t *ps)
{
    if (ps->sec_recs)
        ak_log_debug(ps->tag, "restore: section %u: %" PRIu64 " records in %.1f ms", ps->sec, ps->sec_recs,
                     (double)(ak_mono_us() - ps->sec_t0) / 1e3);
    ps->sec_recs = 0;
    ps->sec_t0 = ak_mono_us();
}

/* What the state depends on: a checkpoint of another plan is not used. */
static uint64_t fingerprint(const ak_product_rt_t *rt, const ak_dataflow_t *df)
{
    const ak_manifest_t *m = rt->m;
    uint64_t h = ak_fp_int(ak_fp_str(0, "akili-state"), STATE_LAYOUT);
    h = ak_fp_str(h, rt->version);
    h = ak_fp_str(h, m->transform.sql);
    h = ak_fp_int(h, ak_flow_incremental(df->flow, NULL));
    for (size_t i = 0; i < m->quality.n_checks; i++)
        h = ak_fp_str(ak_fp_str(h, m->quality.checks[i].name), m->quality.checks[i].sql);
    for (size_t i = 0; i < m->output.n_schema; i++)
        h = ak_fp_int(ak_fp_str(h, m->output.schema[i].name), m->output.schema[i].type);
    h = ak_fp_int(ak_fp_int(h, df->retain ? m->output.retention_days : -1), df->retain ? df->retain_col : -1);
    for (size_t i = 0; i < rt->nin; i++) {
        h = ak_fp_str(ak_fp_str(h, rt->in[i].def->name), rt->in[i].fp_text);
        for (int c = 0; c < rt->in[i].def->schema.n; c++)
            h = ak_fp_int(h, rt->in[i].keep[c]);
    }
    return h;
}

int ak__state_open(ak_product_rt_t *rt, ak_dataflow_t *df, ak_pstate_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_pstate_t *ps = ak_calloc(1, sizeof *ps);
    if (!ps || !(ps->from = ak_calloc(rt->nin + 1, sizeof *ps->from)) ||
        !(ps->mid = ak_calloc(rt->nin + 1, sizeof *ps->mid))) {
        ak__state_close(ps);
        return ak_err_nomem(err);
    }
    ps->rt = rt;
    ps->df = df;
    ps->fp = fingerprint(rt, df);
    ps->force_full = true;
    snprintf(ps->tag, sizeof ps->tag, "%s", rt->prod.name);
    char dir[4096], path[4200];
    ak__product_dir(rt->cat, rt->prod.name, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/checkpoints", dir);
    if (ak_ckpt_open(path, ps->tag, &ps->ck, err)) {
        ak__state_close(ps);
        return -1;
    }
    *out = ps;
    return 0;
}

void ak__state_close(ak_pstate_t *ps)
{
    if (!ps)
        return;
    ak__state_checkpoint_cancel(ps);
    ak_ckpt_close(ps->ck);
    ak_free(ps->from);
    ak_free(ps->mid);
    ak_free(ps);
}

char *ak__state_logs_text(const uint64_t *lens, size_t n)
{
    ak_buf_t b = AK_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        ak_buf_printf(&b, "%s%" PRIu64, i ? "," : "", lens[i]);
    if (!n)
        ak_buf_puts(&b, "");
    if (b.oom) {
        ak_buf_free(&b);
        return NULL;
    }
    return ak_buf_steal(&b);
}

static bool parse_logs(const char *s, uint64_t *out, size_t n)
{
    if (!s)
        return false;
    for (size_t i = 0; i < n; i++) {
        char *e;
        unsigned long long v = strtoull(s, &e, 10);
        if (e == s || (i + 1 < n ? *e != ',' : *e != '\0'))
            return false;
        out[i] = v;
        s = e + 1;
    }
    return true;
}

/* ---- sections ---- */

static uint32_t sink_section(const ak_pstate_t *ps) { return 1 + (uint32_t)ps->rt->nin; }
static uint32_t flow_section(const ak_pstate_t *ps) { return 2 + (uint32_t)ps->rt->nin; }
static uint32_t gate_section(const ak_pstate_t *ps) { return flow_section(ps) + ak_flow_sections(ps->df->flow); }
static uint32_t retain_section(const ak_pstate_t *ps) { return gate_section(ps) + ak_gate_sections(ps->df->gate); }

static int load_rec(void *ctx, uint32_t section, const void *key, size_t kn, const void *val, size_t vn,
                    ak_err_t *err)
{
    ak_pstate_t *ps = ctx;
    if (section != ps->sec) {
        section_done(ps);
        ps->sec = section;
    }
    ps->sec_recs++;
    if (section >= 1 && section <= ps->rt->nin)
        return ak_table_load(ps->rt->in[section - 1].table, key, kn, val, vn, err);
    if (section == sink_section(ps))
        return ak_store_sink_load(ps->df->sink, key, kn, val, vn, err);
    if (section >= flow_section(ps) && section < gate_section(ps))
        return ak_flow_load(ps->df->flow, section - flow_section(ps), key, kn, val, vn, err);
    if (section >= gate_section(ps) && section < gate_section(ps) + ak_gate_sections(ps->df->gate))
        return ak_gate_load(ps->df->gate, section - gate_section(ps), key, kn, val, vn, err);
    if (section == retain_section(ps) && ps->df->retain)
        return ak_retain_load(ps->df->retain, key, kn, val, vn, err);
    return ak_errf(err, AK_E_CORRUPT, "checkpoint: section %u belongs to nothing in this product", section);
}

/* ---- metadata: layout, fingerprint, sink commit, per input (name, log
 * length, source position) ---- */

static int meta_write(ak_pstate_t *ps, const uint64_t *lens, ak_buf_t *b, ak_err_t *err)
{
    ak_buf_put_uvarint(b, STATE_LAYOUT);
    uint8_t fp[8];
    ak_le_put64(fp, ps->fp);
    ak_buf_put(b, fp, 8);
    ak_buf_put_svarint(b, ak_store_sink_commit(ps->df->sink));
    ak_buf_put_uvarint(b, ps->rt->nin);
    for (size_t i = 0; i < ps->rt->nin; i++) {
        const ak_input_rt_t *in = &ps->rt->in[i];
        const char *pos = in->position ? in->position : "";
        ak_buf_put_uvarint(b, strlen(in->def->name));
        ak_buf_puts(b, in->def->name);
        ak_buf_put_uvarint(b, lens[i]);
        ak_buf_put_uvarint(b, strlen(pos));
        ak_buf_puts(b, pos);
    }
    return b->oom ? ak_err_nomem(err) : 0;
}

/* Checks the metadata against the product; fills lens and the commit, or
 * says why the checkpoint does not fit. */
static bool meta_fits(ak_pstate_t *ps, const void *meta, size_t n, uint64_t *lens, int64_t *commit, char *why,
                      size_t wn)
{
    ak_rd_t r;
    ak_rd_init(&r, meta, n);
    uint64_t layout = ak_rd_uvar(&r);
    const uint8_t *fp = ak_rd_bytes(&r, 8);
    *commit = ak_rd_svar(&r);
    uint64_t nin = ak_rd_uvar(&r);
    if (r.bad || layout != STATE_LAYOUT || !fp || ak_le_get64(fp) != ps->fp || nin != ps->rt->nin) {
        snprintf(why, wn, "it was made by another version of the product (or of akili)");
        return false;
    }
    for (size_t i = 0; i < nin; i++) {
        uint64_t ln = ak_rd_uvar(&r);
        const char *name = ak_rd_bytes(&r, (size_t)ln);
        lens[i] = ak_rd_uvar(&r);
        uint64_t pn = ak_rd_uvar(&r);
        ak_rd_bytes(&r, (size_t)pn);
        const char *want = ps->rt->in[i].def->name;
        if (r.bad || !name || ln != strlen(want) || memcmp(name, want, ln) != 0) {
            snprintf(why, wn, "its inputs are not the product's");
            return false;
        }
    }
    if (!ak_rd_done(&r)) {
        snprintf(why, wn, "its metadata is malformed");
        return false;
    }
    return true;
}

static void saved_all(ak_pstate_t *ps)
{
    for (size_t i = 0; i < ps->rt->nin; i++)
        ak_table_saved(ps->rt->in[i].table);
    ak_flow_saved(ps->df->flow);
    ak_gate_saved(ps->df->gate);
    if (ps->df->retain)
        ak_retain_saved(ps->df->retain);
}

int ak__state_restore(ak_pstate_t *ps, const uint64_t *committed, ak_restore_t *out, ak_err_t *err)
{
    memset(out, 0, sizeof *out);
    size_t nin = ps->rt->nin;
    out->from = ps->from;
    out->mid = ps->mid;
    memset(ps->from, 0, sizeof *ps->from * (nin + 1));
    memset(ps->mid, 0, sizeof *ps->mid * (nin + 1));
    ps->force_full = true;
    int64_t t0 = ak_mono_us(), t_commit = 0, c_commit = 0;
    char *t_logs = NULL;
    uint64_t *t_lens = ak_calloc(nin + 1, sizeof *t_lens);
    ak_ckpt_image_t *img = NULL;
    int rc = -1;
    if (!t_lens) {
        ak_err_nomem(err);
        goto done;
    }
    int table = ak_store_sink_table(ps->df->sink, &t_commit, &t_logs, err);
    if (table < 0 || ak_ckpt_load(ps->ck, &img, err))
        goto done;
    ak_log_debug(ps->tag, "restore: checkpoint files read and checked in %.1f ms", (double)(ak_mono_us() - t0) / 1e3);
    rc = 0;
    if (!img)
        goto done;
    size_t mn;
    const void *meta = ak_ckpt_image_meta(img, &mn);
    if (!meta_fits(ps, meta, mn, ps->from, &c_commit, out->why, sizeof out->why))
        goto done;
    for (size_t i = 0; i < nin; i++)
        if (ps->from[i] > committed[i]) {
            snprintf(out->why, sizeof out->why, "input `%s`'s log is shorter than the checkpoint says",
                     ps->rt->in[i].def->name);
            goto done;
        }
    if (table != 0 && c_commit != 0) {
        snprintf(out->why, sizeof out->why, "the serving table is missing or was not written by this product");
        goto done;
    }
    if (t_commit < c_commit) {
        snprintf(out->why, sizeof out->why,
                 "the serving table (commit %" PRId64 ") is behind the checkpoint (commit %" PRId64 ")", t_commit,
                 c_commit);
        goto done;
    }
    memcpy(ps->mid, ps->from, sizeof *ps->mid * nin);
    if (t_commit > c_commit) {
        /* published after the checkpoint: replay up to what that publish
         * reflected, which is then published already */
        if (ak_flow_clocked(ps->df->flow)) {
            snprintf(out->why, sizeof out->why,
                     "the serving table was published after the checkpoint and the transform reads the clock");
            goto done;
        }
        bool ok = parse_logs(t_logs, t_lens, nin);
        for (size_t i = 0; i < nin && ok; i++)
            ok = ps->from[i] <= t_lens[i] && t_lens[i] <= committed[i];
        if (!ok) {
            snprintf(out->why, sizeof out->why, "the serving table's log lengths do not follow the checkpoint");
            goto done;
        }
        memcpy(ps->mid, t_lens, sizeof *ps->mid * nin);
        out->discard = true;
    }
    rc = -1;
    ps->sec = 0;
    ps->sec_recs = 0;
    ps->sec_t0 = ak_mono_us();
    if (ak_ckpt_image_each(img, load_rec, ps, err))
        goto done;
    section_done(ps);
    saved_all(ps); /* what loading touched is what the checkpoint holds */
    /* nothing published yet (gates held it all): what is staged replaces the table */
    if (table == 0 && ak_store_sink_adopt(ps->df->sink, err))
        goto done;
    out->restored = true;
    out->seq = ak_ckpt_image_seq(img);
    out->bytes = ak_ckpt_image_bytes(img);
    ps->force_full = false;
    rc = 0;
done:
    if (rc == 0 && !out->restored) {
        memset(ps->from, 0, sizeof *ps->from * (nin + 1));
        memset(ps->mid, 0, sizeof *ps->mid * (nin + 1));
    }
    out->us = ak_mono_us() - t0;
    ak_ckpt_image_free(img);
    ak_free(t_logs);
    ak_free(t_lens);
    return rc;
}

/* products/<name>/state.json: what `akili state inspect` shows, rewritten
 * after every checkpoint (a reader never sees a half-written one). */
static int write_report(ak_pstate_t *ps, const ak_ckpt_stats_t *st, ak_err_t *err)
{
    ak_product_rt_t *rt = ps->rt;
    ak_dataflow_t *df = ps->df;
    ak_buf_t b = AK_BUF_INIT, t = AK_BUF_INIT;
    ak_buf_puts(&b, "{\"product\":");
    ak_buf_put_json_str(&b, rt->prod.name, strlen(rt->prod.name));
    ak_buf_puts(&b, ",\"version\":");
    ak_buf_put_json_str(&b, rt->version, strlen(rt->version));
    ak_buf_printf(&b,
                  ",\"checkpoint\":%" PRIu64 ",\"taken_us\":%" PRId64 ",\"disk_bytes\":%" PRIu64
                  ",\"segments\":%d,\"holders\":[",
                  st->seq, ak_wall_us(), st->total_bytes, st->segments);
    for (size_t i = 0; i < rt->nin; i++) {
        ak_table_t *tb = rt->in[i].table;
        ak_buf_clear(&t);
        ak_buf_printf(&t, "input %s", rt->in[i].def->name);
        ak_buf_printf(&b, "%s{\"name\":", i ? ",\n" : "\n");
        ak_buf_put_json_str(&b, t.data ? t.data : "", t.len);
        ak_buf_printf(&b, ",\"kind\":\"table\",\"bytes\":%zu,\"keys\":%zu,\"what\":\"the input's current rows",
                      ak_table_bytes(tb), ak_table_rows(tb));
        if (df->compact_input == (int)i && !df->compacted) {
            ak_buf_puts(&b, " (compaction armed: nothing behind the horizon yet)");
        } else if (df->compact_input == (int)i) {
            char h[AK_TS_BUF];
            ak_ts_format(df->compacted_to, h);
            ak_buf_printf(&b, " (compacted: rows older than %s dropped; %" PRIu64 " compaction step%s and %" PRIu64
                              " rebuild%s from the logs this run)", h, df->compactions, df->compactions == 1 ? "" : "s",
                          rt->rebuilds, rt->rebuilds == 1 ? "" : "s");
        }
        ak_buf_putc(&b, '"');
        ak_buf_clear(&t);
        if (ak_table_oldest(tb, &t)) {
            ak_buf_puts(&b, ",\"oldest\":");
            ak_buf_put_json_str(&b, t.data, t.len);
        }
        ak_buf_putc(&b, '}');
    }
    ak_flow_inspect(df->flow, &b);
    ak_buf_printf(&b, ",\n{\"name\":\"quality checks\",\"kind\":\"gate\",\"bytes\":%zu,\"keys\":0,"
                      "\"what\":\"the checks' own operators\"}",
                  ak_gate_state_bytes(df->gate));
    if (df->retain) {
        char h[AK_TS_BUF + 8] = "none yet";
        int64_t hz = ak_retain_horizon(df->retain);
        if (hz != INT64_MIN)
            ak_ts_format(hz, h);
        ak_buf_printf(&b, ",\n{\"name\":\"retention\",\"kind\":\"retention\",\"bytes\":%zu,\"keys\":%zu,"
                          "\"what\":\"the retained output rows, to retract when they expire (%" PRId64
                          " expired so far)\",\"oldest\":\"horizon %s\"}",
                      ak_retain_bytes(df->retain), ak_retain_rows(df->retain), ak_retain_expired(df->retain), h);
    }
    ak_buf_printf(&b, ",\n{\"name\":\"serving sink\",\"kind\":\"sink\",\"bytes\":%zu,\"keys\":%" PRId64
                      ",\"what\":\"published rows by content, and %" PRId64 " held changes\"}",
                  ak_store_sink_bytes(df->sink), ak_store_sink_rows(df->sink), ak_store_sink_staged(df->sink));
    ak_buf_puts(&b, "]}\n");
    ak_buf_free(&t);
    if (b.oom) {
        ak_buf_free(&b);
        return ak_err_nomem(err);
    }
    char dir[4096], path[4200];
    ak__product_dir(rt->cat, rt->prod.name, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/state.json", dir);
    int rc = ak_io_write_file_atomic(path, b.data, b.len, err);
    ak_buf_free(&b);
    return rc;
}

/* Every holder but the serving sink: what stays put while the caller
 * publishes, so the saver thread may serialize it meanwhile. */
static int save_holders(ak_pstate_t *ps, bool full, ak_err_t *err)
{
    ak_product_rt_t *rt = ps->rt;
    ak_dataflow_t *df = ps->df;
    ak_state_out_t out = ak_ckpt_out(ps->ck, 0);
    int rc = 0;
    for (size_t i = 0; i < rt->nin && rc == 0; i++) {
        ak_state_out_t o = ak_state_at(&out, 1 + (uint32_t)i);
        rc = ak_table_save(rt->in[i].table, full, &o, err);
    }
    if (rc == 0)
        rc = ak_flow_save(df->flow, full, &out, flow_section(ps), err);
    if (rc == 0)
        rc = ak_gate_save(df->gate, full, &out, gate_section(ps), err);
    if (rc == 0 && df->retain) {
        ak_state_out_t o = ak_state_at(&out, retain_section(ps));
        rc = ak_retain_save(df->retain, full, &o, err);
    }
    return rc;
}

static void *saver_main(void *arg)
{
    ak_pstate_t *ps = arg;
    ps->save_rc = save_holders(ps, ps->save_full, &ps->save_err);
    return NULL;
}

int ak__state_checkpoint_start(ak_pstate_t *ps, ak_err_t *err)
{
    bool full = ps->force_full || ak_ckpt_wants_full(ps->ck);
    if (ak_ckpt_begin(ps->ck, full, err))
        return ak_err_prefix(err, "checkpoint");
    ps->save_full = full;
    ps->save_rc = 0;
    ps->started = true;
    /* without a thread the holders are saved here, at once */
    ps->saving = ak_thread_start(&ps->saver, saver_main, ps) == 0;
    if (!ps->saving)
        ps->save_rc = save_holders(ps, full, &ps->save_err);
    return 0;
}

static int join_saver(ak_pstate_t *ps, ak_err_t *err)
{
    if (ps->saving)
        pthread_join(ps->saver, NULL);
    ps->saving = false;
    if (ps->save_rc && err)
        *err = ps->save_err;
    return ps->save_rc;
}

void ak__state_checkpoint_cancel(ak_pstate_t *ps)
{
    if (!ps || !ps->started)
        return;
    join_saver(ps, NULL);
    ak_ckpt_abort(ps->ck);
    ps->started = false;
}

bool ak__state_checkpoint_started(const ak_pstate_t *ps) { return ps->started; }

int ak__state_checkpoint_finish(ak_pstate_t *ps, const uint64_t *lens, ak_ckpt_stats_t *st, ak_err_t *err)
{
    ak_buf_t meta = AK_BUF_INIT;
    int rc = join_saver(ps, err);
    ps->started = false;
    if (rc == 0) {
        /* the sink last: what the publish just committed is no longer staged */
        ak_state_out_t out = ak_ckpt_out(ps->ck, 0);
        ak_state_out_t o = ak_state_at(&out, sink_section(ps));
        rc = ak_store_sink_save(ps->df->sink, &o, err);
    }
    if (rc == 0)
        rc = meta_write(ps, lens, &meta, err);
    if (rc == 0)
        rc = ak_ckpt_commit(ps->ck, meta.data, meta.len, st, err);
    ak_buf_free(&meta);
    if (rc) {
        ak_ckpt_abort(ps->ck);
        return ak_err_prefix(err, "checkpoint");
    }
    saved_all(ps); /* durable: the holders forget what they wrote */
    ps->force_full = false;
    /* the report is for people: failing to write it does not fail the run */
    ak_err_t e2;
    if (write_report(ps, st, &e2))
        ak_log_warn(ps->tag, "cannot write the state report: %s", e2.msg);
    return 0;
}

int ak__state_checkpoint(ak_pstate_t *ps, const uint64_t *lens, ak_ckpt_stats_t *st, ak_err_t *err)
{
    if (!ps->started && ak__state_checkpoint_start(ps, err))
        return -1;
    return ak__state_checkpoint_finish(ps, lens, st, err);
}
