/* ak_retain.c - output retention (see ak_retain.h).
 *
 * Passed-on rows live in a keyed multiset grouped by the hour of their
 * retention column, so a horizon that moves visits the groups (about 24 a
 * day retained) and reads rows only in the hour it falls into.  Every row
 * at or after the horizon that came in was passed on, every row before it
 * was dropped or retracted: the output is the input cut at the horizon,
 * whatever order rows and horizon moves come in.
 */
#include "ak_retain.h"

#include "ak_alloc.h"
#include "ak_arena.h"
#include "ak_kbag.h"
#include "ak_time.h"

#include <string.h>

#define HOUR_US (3600 * AK_US_PER_SEC)
#define TAG_MARK 1 /* the watermark record (the rows are tag 0) */

struct ak_retain {
    int ncols, col;
    int64_t keep_us;
    bool from_output;        /* no event time from the inputs: the column's newest value */
    bool have_wm;
    int64_t wm;              /* newest event time (only moves forward) */
    int64_t swept;           /* horizon the kept rows were last cut at */
    bool swept_any;
    int64_t expired;
    ak_kbag_t *rows;         /* passed-on rows by hour */
    ak_delta_t out;
    ak_arena_t loaded;       /* text of rows read from a checkpoint */
};

/* The column as µs, false for NULL (kept forever). */
static bool when(const ak_retain_t *r, const ak_val_t *row, int64_t *us) { return ak_val_time_us(&row[r->col], us); }

static int64_t hour_of(int64_t us) { return us >= 0 ? us / HOUR_US : -((-us + HOUR_US - 1) / HOUR_US); }

int ak_retain_new(int ncols, int col, int64_t keep_us, bool from_output, ak_retain_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_retain_t *r = ak_calloc(1, sizeof *r);
    if (!r || !(r->rows = ak_kbag_new(1, ncols))) {
        ak_free(r);
        return ak_err_nomem(err);
    }
    r->ncols = ncols;
    r->col = col;
    r->keep_us = keep_us;
    r->from_output = from_output;
    ak_delta_init(&r->out, ncols);
    ak_arena_init(&r->loaded, 0);
    *out = r;
    return 0;
}

void ak_retain_free(ak_retain_t *r)
{
    if (!r)
        return;
    ak_kbag_free(r->rows);
    ak_delta_free(&r->out);
    ak_arena_free(&r->loaded);
    ak_free(r);
}

void ak_retain_watermark(ak_retain_t *r, int64_t wm_us)
{
    if (!r->have_wm || wm_us > r->wm)
        r->wm = wm_us;
    r->have_wm = true;
}

int64_t ak_retain_horizon(const ak_retain_t *r)
{
    if (!r->have_wm)
        return INT64_MIN;
    return r->wm > INT64_MIN + r->keep_us ? r->wm - r->keep_us : INT64_MIN;
}

static uint32_t group(ak_retain_t *r, int64_t us, bool create)
{
    ak_val_t k = ak_v_int(hour_of(us));
    return ak_kbag_group(r->rows, &k, create);
}

/* Retracts every kept row before horizon h. */
static int expire(ak_retain_t *r, int64_t h, ak_err_t *err)
{
    size_t from = r->out.n;
    int64_t hh = hour_of(h);
    uint32_t cap = ak_kbag_gcap(r->rows);
    for (uint32_t g = 0; g < cap; g++) {
        size_t n = ak_kbag_size(r->rows, g);
        if (n == 0 || ak_kbag_key(r->rows, g)[0].i > hh)
            continue;
        bool all = ak_kbag_key(r->rows, g)[0].i < hh;
        const uint32_t *es = ak_kbag_entries(r->rows, g);
        for (size_t i = 0; i < n; i++) {
            const ak_val_t *row = ak_kbag_row(r->rows, es[i]);
            int64_t us;
            if ((all || (when(r, row, &us) && us < h)) && ak_delta_add(&r->out, row, -ak_kbag_count(r->rows, es[i])))
                return ak_err_nomem(err);
        }
    }
    /* then out of the bag (entry ids move as rows leave) */
    for (size_t i = from; i < r->out.n; i++) {
        const ak_val_t *row = ak_delta_row(&r->out, i);
        int64_t us = 0;
        when(r, row, &us);
        uint32_t e;
        if (ak_kbag_add(r->rows, group(r, us, false), row, r->out.w[i], &e))
            return ak_err_nomem(err);
        r->expired -= r->out.w[i];
    }
    return 0;
}

int ak_retain_apply(ak_retain_t *r, const ak_delta_t *d, const ak_delta_t **out, ak_err_t *err)
{
    ak_delta_clear(&r->out);
    *out = &r->out;
    int64_t us;
    for (size_t i = 0; r->from_output && i < d->n; i++)
        if (d->w[i] > 0 && when(r, ak_delta_row(d, i), &us))
            ak_retain_watermark(r, us);
    int64_t h = ak_retain_horizon(r);
    for (size_t i = 0; i < d->n; i++) {
        const ak_val_t *row = ak_delta_row(d, i);
        if (when(r, row, &us)) {
            if (us < h)
                continue; /* before the horizon: not in the output */
            uint32_t g = group(r, us, true), e;
            if (g == AK_KBAG_OOM || ak_kbag_add(r->rows, g, row, d->w[i], &e))
                return ak_err_nomem(err);
        }
        if (ak_delta_add(&r->out, row, d->w[i]))
            return ak_err_nomem(err);
    }
    if (h != INT64_MIN && (!r->swept_any || h > r->swept)) {
        if (expire(r, h, err))
            return -1;
        r->swept = h;
        r->swept_any = true;
    }
    r->out.consolidated = d->consolidated;
    return 0;
}

int64_t ak_retain_expired(const ak_retain_t *r) { return r->expired; }
size_t ak_retain_bytes(const ak_retain_t *r) { return ak_kbag_bytes(r->rows) + ak_delta_bytes(&r->out); }
size_t ak_retain_rows(const ak_retain_t *r) { return (size_t)ak_kbag_total(r->rows); }

int ak_retain_save(ak_retain_t *r, bool full, const ak_state_out_t *out, ak_err_t *err)
{
    if (ak_kbag_save(r->rows, 0, full, out, err))
        return -1;
    uint8_t key = TAG_MARK;
    ak_buf_t v = AK_BUF_INIT;
    ak_buf_putc(&v, r->have_wm);
    ak_buf_put_svarint(&v, r->wm);
    ak_buf_putc(&v, r->swept_any);
    ak_buf_put_svarint(&v, r->swept);
    ak_buf_put_svarint(&v, r->expired);
    int rc = v.oom ? ak_err_nomem(err) : ak_state_put(out, &key, 1, v.data, v.len, err);
    ak_buf_free(&v);
    return rc;
}

void ak_retain_saved(ak_retain_t *r) { ak_kbag_saved(r->rows); }

int ak_retain_load(ak_retain_t *r, const void *key, size_t kn, const void *val, size_t vn, ak_err_t *err)
{
    if (kn == 1 && *(const uint8_t *)key == TAG_MARK) {
        ak_rd_t rd;
        ak_rd_init(&rd, val, vn);
        r->have_wm = ak_rd_u8(&rd) != 0;
        r->wm = ak_rd_svar(&rd);
        r->swept_any = ak_rd_u8(&rd) != 0;
        r->swept = ak_rd_svar(&rd);
        r->expired = ak_rd_svar(&rd);
        if (rd.bad || !ak_rd_done(&rd))
            return ak_errf(err, AK_E_CORRUPT, "checkpoint: malformed retention watermark");
        return 0;
    }
    return ak_kbag_load(r->rows, key, kn, val, vn, ak_ser_arena_text, &r->loaded, NULL, err);
}
