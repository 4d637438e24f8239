/* test_kbag.c - keyed multisets saved incrementally and loaded back equal
 * the bag itself, whatever was added, removed or reused in between. */
#include "ak_test.h"

#include "ak_alloc.h"
#include "ak_kbag.h"

/* The saved records, as a checkpoint would hold them: key bytes -> value. */
typedef struct rec {
    char key[64];
    size_t kn;
    char val[32];
    size_t vn;
    bool live;
} rec_t;

typedef struct store {
    rec_t r[4096];
    int n;
    int puts;
} store_t;

static rec_t *find(store_t *s, const void *k, size_t kn)
{
    for (int i = 0; i < s->n; i++)
        if (s->r[i].kn == kn && memcmp(s->r[i].key, k, kn) == 0)
            return &s->r[i];
    return NULL;
}

static int put(void *ctx, uint32_t section, const void *k, size_t kn, const void *v, size_t vn, ak_err_t *err)
{
    (void)err;
    (void)section;
    store_t *s = ctx;
    rec_t *r = find(s, k, kn);
    if (!r) {
        if (s->n == 4096 || kn > 64 || vn > 32)
            return -1;
        r = &s->r[s->n++];
        memcpy(r->key, k, kn);
        r->kn = kn;
    }
    memcpy(r->val, v, vn);
    r->vn = vn;
    r->live = true;
    s->puts++;
    return 0;
}

static int del(void *ctx, uint32_t section, const void *k, size_t kn, ak_err_t *err)
{
    (void)err;
    (void)section;
    rec_t *r = find(ctx, k, kn);
    if (r)
        r->live = false;
    return 0;
}

static int clear(void *ctx, uint32_t section, const void *prefix, size_t pn, ak_err_t *err)
{
    (void)err;
    (void)section;
    store_t *s = ctx;
    for (int i = 0; i < s->n; i++)
        if (s->r[i].kn >= pn && memcmp(s->r[i].key, prefix, pn) == 0)
            s->r[i].live = false;
    return 0;
}

static int no_intern(void *ctx, ak_val_t *v)
{
    (void)ctx;
    (void)v;
    return 0;
}

static uint64_t rng = 2463534242ull;
static uint32_t rnd(uint32_t n) { return (uint32_t)(ak_test_xorshift(&rng) % n); }

/* Every (key, row) of a with its count and aux is in b, and the totals match. */
static bool same(ak_kbag_t *a, ak_kbag_t *b)
{
    if (ak_kbag_total(a) != ak_kbag_total(b) || ak_kbag_ngroups(a) != ak_kbag_ngroups(b))
        return false;
    for (uint32_t g = 0; g < ak_kbag_gcap(a); g++) {
        size_t n = ak_kbag_size(a, g);
        if (!n)
            continue;
        uint32_t h = ak_kbag_group(b, ak_kbag_key(a, g), false);
        if (h == UINT32_MAX || ak_kbag_size(b, h) != n)
            return false;
        for (size_t i = 0; i < n; i++) {
            uint32_t e = ak_kbag_entries(a, g)[i], f = ak_kbag_find(b, h, ak_kbag_row(a, e));
            if (f == UINT32_MAX || ak_kbag_count(a, e) != ak_kbag_count(b, f) ||
                *ak_kbag_aux(a, e) != *ak_kbag_aux(b, f))
                return false;
        }
    }
    return true;
}

AK_TEST(incremental_saves_load_back_equal)
{
    static store_t st;
    memset(&st, 0, sizeof st);
    ak_state_out_t out = {put, del, clear, &st, 0};
    ak_kbag_t *a = ak_kbag_new(1, 2);
    ak_err_t err;
    int small = 0;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 60; i++) {
            ak_val_t key = ak_v_int(rnd(12)), row[2] = {ak_v_int(rnd(8)), ak_v_text("x", 1)};
            uint32_t g = ak_kbag_group(a, &key, true), e;
            /* removals often empty a group, so slots are freed and reused */
            int64_t w = rnd(3) == 0 ? 1 : -1;
            uint32_t have = ak_kbag_find(a, g, row);
            if (w < 0 && have == UINT32_MAX)
                w = 1;
            AK_CHECK(ak_kbag_add(a, g, row, w, &e) == 0);
            if (e != UINT32_MAX && rnd(4) == 0)
                *ak_kbag_aux(a, e) = rnd(100);
        }
        bool full = round % 13 == 0;
        int before = st.puts;
        AK_CHECK(ak_kbag_save(a, 7, full, &out, &err) == 0);
        ak_kbag_saved(a);
        small += st.puts - before < ak_kbag_total(a) + 1;
        ak_kbag_t *b = ak_kbag_new(1, 2);
        for (int i = 0; i < st.n; i++)
            if (st.r[i].live) {
                AK_CHECK((uint8_t)st.r[i].key[0] == 7);
                AK_CHECK(ak_kbag_load(b, st.r[i].key, st.r[i].kn, st.r[i].val, st.r[i].vn, no_intern, NULL, NULL,
                                      &err) == 0);
            }
        AK_CHECK(same(a, b));
        AK_CHECK(same(b, a));
        ak_kbag_free(b);
    }
    AK_CHECK(small > 20); /* increments write what changed, not everything */
    ak_kbag_free(a);
}

int main(void) { return ak_test_main(); }
