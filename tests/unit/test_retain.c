/* test_retain.c - output retention against a model: whatever the changes
 * and watermark moves, the sum of everything passed on is exactly the input
 * rows at or after the horizon (NULL times kept), also across checkpoints
 * saved whole or incrementally and loaded into a new filter. */
#include "ak_test.h"

#include "ak_retain.h"
#include "ak_time.h"

#define IDS 40
#define SLOTS 300              /* time slots of 17 minutes; slot SLOTS is NULL */
#define SLOT_US (17 * 60 * AK_US_PER_SEC)
#define KEEP_US (30 * SLOT_US)

static int64_t in_m[IDS][SLOTS + 1], out_m[IDS][SLOTS + 1];

/* A checkpoint store: key bytes -> value bytes. */
typedef struct rec {
    char key[96], val[96];
    size_t kn, vn;
    bool live;
} rec_t;
static rec_t recs[20000];
static int nrecs;

static rec_t *find(const void *k, size_t kn)
{
    for (int i = 0; i < nrecs; i++)
        if (recs[i].kn == kn && memcmp(recs[i].key, k, kn) == 0)
            return &recs[i];
    return NULL;
}
static int put(void *ctx, uint32_t section, const void *k, size_t kn, const void *v, size_t vn, ak_err_t *err)
{
    (void)ctx, (void)section, (void)err;
    rec_t *r = find(k, kn);
    if (!r) {
        if (nrecs == 20000 || kn > 96 || vn > 96)
            return -1;
        r = &recs[nrecs++];
        memcpy(r->key, k, kn);
        r->kn = kn;
    }
    memcpy(r->val, v, vn);
    r->vn = vn;
    r->live = true;
    return 0;
}
static int del(void *ctx, uint32_t section, const void *k, size_t kn, ak_err_t *err)
{
    (void)ctx, (void)section, (void)err;
    rec_t *r = find(k, kn);
    if (r)
        r->live = false;
    return 0;
}
static int clear(void *ctx, uint32_t section, const void *p, size_t pn, ak_err_t *err)
{
    (void)ctx, (void)section, (void)err;
    for (int i = 0; i < nrecs; i++)
        if (recs[i].kn >= pn && memcmp(recs[i].key, p, pn) == 0)
            recs[i].live = false;
    return 0;
}

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n) { return (uint32_t)(ak_test_xorshift(&rng) % n); }

static void row_of(int id, int slot, ak_val_t *row)
{
    row[0] = ak_v_int(id);
    row[1] = slot == SLOTS ? ak_v_null() : ak_v_ts((int64_t)slot * SLOT_US + 1234567);
}

AK_TEST(output_is_the_input_cut_at_the_horizon)
{
    ak_retain_t *r;
    ak_err_t err;
    AK_CHECK(ak_retain_new(2, 1, KEEP_US, false, &r, &err) == 0);
    ak_state_out_t so = {put, del, clear, NULL, 0};
    int64_t wm = 0;
    int expired_rounds = 0, loads = 0;
    for (int round = 0; round < 400; round++) {
        ak_delta_t d;
        ak_delta_init(&d, 2);
        for (int k = 0, n = (int)rnd(30); k < n; k++) {
            int id = (int)rnd(IDS);
            /* mostly near the watermark, some late, some NULL */
            int base = (int)(wm / SLOT_US);
            int slot = rnd(10) == 0 ? SLOTS : base - 40 + (int)rnd(50);
            if (slot < 0)
                slot = 0;
            if (slot > SLOTS)
                slot = SLOTS - 1;
            int64_t w = in_m[id][slot] > 0 && rnd(3) == 0 ? -1 : 1;
            ak_val_t row[2];
            row_of(id, slot, row);
            AK_CHECK(ak_delta_add(&d, row, w) == 0);
            in_m[id][slot] += w;
        }
        if (rnd(3) == 0 && wm < (int64_t)(SLOTS - 20) * SLOT_US)
            wm += (int64_t)rnd(5) * SLOT_US + rnd(1000);
        ak_retain_watermark(r, wm);
        ak_retain_watermark(r, wm - SLOT_US); /* never moves back */
        const ak_delta_t *o;
        AK_CHECK(ak_retain_apply(r, &d, &o, &err) == 0);
        for (size_t i = 0; i < o->n; i++) {
            const ak_val_t *row = ak_delta_row(o, i);
            int slot = row[1].type == AK_NULL ? SLOTS : (int)((row[1].i - 1234567) / SLOT_US);
            out_m[row[0].i][slot] += o->w[i];
            expired_rounds += o->w[i] < 0 && row[1].type != AK_NULL && row[1].i < ak_retain_horizon(r);
        }
        ak_delta_free(&d);
        int64_t h = ak_retain_horizon(r);
        AK_CHECK(h == wm - KEEP_US);
        bool ok = true;
        size_t kept = 0;
        for (int id = 0; id < IDS; id++)
            for (int s = 0; s <= SLOTS; s++) {
                ak_val_t row[2];
                row_of(id, s, row);
                bool live = s == SLOTS || row[1].i >= h;
                int64_t want = live ? in_m[id][s] : 0;
                ok &= out_m[id][s] == want;
                kept += s < SLOTS && live ? (size_t)in_m[id][s] : 0;
            }
        AK_CHECK(ok);
        AK_CHECK_EQ_INT(ak_retain_rows(r), kept);
        /* now and then: checkpoint, and go on with the filter loaded from it */
        if (rnd(7) == 0) {
            bool full = rnd(4) == 0;
            if (full)
                nrecs = 0;
            AK_CHECK(ak_retain_save(r, full || loads == 0, &so, &err) == 0);
            ak_retain_saved(r);
            ak_retain_t *b;
            AK_CHECK(ak_retain_new(2, 1, KEEP_US, false, &b, &err) == 0);
            for (int i = 0; i < nrecs; i++)
                if (recs[i].live)
                    AK_CHECK(ak_retain_load(b, recs[i].key, recs[i].kn, recs[i].val, recs[i].vn, &err) == 0);
            AK_CHECK(ak_retain_horizon(b) == h && ak_retain_rows(b) == kept &&
                     ak_retain_expired(b) == ak_retain_expired(r));
            ak_retain_free(r);
            r = b;
            loads++;
        }
    }
    AK_CHECK(expired_rounds > 50); /* the horizon did pass rows passed on earlier */
    AK_CHECK(loads > 20);
    ak_retain_free(r);
}

AK_TEST(watermark_from_the_output_column)
{
    ak_retain_t *r;
    ak_err_t err;
    AK_CHECK(ak_retain_new(2, 1, KEEP_US, true, &r, &err) == 0);
    AK_CHECK(ak_retain_horizon(r) == INT64_MIN);
    ak_delta_t d;
    ak_delta_init(&d, 2);
    ak_val_t a[2] = {ak_v_int(1), ak_v_ts(0)}, b[2] = {ak_v_int(2), ak_v_ts(KEEP_US + 5)};
    AK_CHECK(ak_delta_add(&d, a, 1) == 0);
    const ak_delta_t *o;
    AK_CHECK(ak_retain_apply(r, &d, &o, &err) == 0);
    AK_CHECK(o->n == 1 && o->w[0] == 1);
    ak_delta_clear(&d);
    AK_CHECK(ak_delta_add(&d, b, 1) == 0);
    AK_CHECK(ak_retain_apply(r, &d, &o, &err) == 0);
    /* b moved the watermark: a expires in the same step */
    AK_CHECK(o->n == 2 && ak_retain_rows(r) == 1 && ak_retain_expired(r) == 1);
    ak_delta_free(&d);
    ak_retain_free(r);
}

int main(void) { return ak_test_main(); }
