/* test_mset.c - the ordered multiset against a naive sorted list. */
#include "ak_test.h"

#include "ak_alloc.h"
#include "ak_delta.h"
#include "ak_mset.h"

typedef struct naive {
    int64_t key[8192][2];
    int64_t cnt[8192];
    int n;
} naive_t;

static void naive_add(naive_t *z, int64_t a, int64_t b, int64_t c)
{
    int i = 0;
    while (i < z->n && (z->key[i][0] < a || (z->key[i][0] == a && z->key[i][1] < b)))
        i++;
    if (i < z->n && z->key[i][0] == a && z->key[i][1] == b) {
        z->cnt[i] += c;
        if (z->cnt[i] == 0) {
            memmove(&z->key[i], &z->key[i + 1], sizeof z->key[0] * (size_t)(z->n - i - 1));
            memmove(&z->cnt[i], &z->cnt[i + 1], sizeof z->cnt[0] * (size_t)(z->n - i - 1));
            z->n--;
        }
        return;
    }
    memmove(&z->key[i + 1], &z->key[i], sizeof z->key[0] * (size_t)(z->n - i));
    memmove(&z->cnt[i + 1], &z->cnt[i], sizeof z->cnt[0] * (size_t)(z->n - i));
    z->key[i][0] = a;
    z->key[i][1] = b;
    z->cnt[i] = c;
    z->n++;
}

typedef struct walk {
    const naive_t *z;
    int at;
    bool ok;
} walk_t;

static int visit(void *ctx, const ak_val_t *t, int64_t c)
{
    walk_t *w = ctx;
    if (w->at >= w->z->n || t[0].i != w->z->key[w->at][0] || t[1].i != w->z->key[w->at][1] || c != w->z->cnt[w->at])
        w->ok = false;
    w->at++;
    return 0;
}

AK_TEST(random_against_naive)
{
    static naive_t z;
    uint64_t s = 88172645463325252ULL;
    for (int round = 0; round < 6; round++) {
        ak_mset_t m = {0};
        size_t live0 = ak_alloc_live();
        memset(&z, 0, sizeof z);
        int range = round < 3 ? 40 : 3000; /* small sets, then bucketed ones */
        for (int op = 0; op < 20000; op++) {
            ak_test_xorshift(&s);
            int64_t a = (int64_t)(s % (uint64_t)range), b = (int64_t)((s >> 20) % 2);
            /* remove only what is there, so counts stay positive */
            int64_t c = 1;
            if ((s >> 40) % 3 == 0) {
                for (int i = 0; i < z.n; i++)
                    if (z.key[i][0] == a && z.key[i][1] == b)
                        c = -1;
            }
            ak_val_t t[2] = {ak_v_int(a), ak_v_int(b)};
            AK_CHECK(ak_mset_add(&m, t, 2, c) == 0);
            naive_add(&z, a, b, c);
            if (op % 997 == 0 || op == 19999) {
                AK_CHECK_EQ_INT(ak_mset_distinct(&m), z.n);
                /* its bytes, kept as it changes, are what it holds allocated */
                AK_CHECK_EQ_INT(ak_mset_bytes(&m, 2), ak_alloc_live() - live0);
                walk_t w = {&z, 0, true};
                ak_mset_each(&m, 2, NULL, visit, &w);
                AK_CHECK(w.ok && w.at == z.n);
                if (z.n) {
                    AK_CHECK_EQ_INT(ak_mset_first(&m, 2)[0].i, z.key[0][0]);
                    AK_CHECK_EQ_INT(ak_mset_last(&m, 2)[0].i, z.key[z.n - 1][0]);
                    /* from a bound: starts at the first tuple >= it */
                    int mid = z.n / 2;
                    ak_val_t from[2] = {ak_v_int(z.key[mid][0]), ak_v_int(z.key[mid][1])};
                    walk_t w2 = {&z, mid, true};
                    ak_mset_each(&m, 2, from, visit, &w2);
                    AK_CHECK(w2.ok && w2.at == z.n);
                }
            }
        }
        /* drained in order from the front, so whole buckets empty and go */
        while (z.n) {
            ak_val_t t[2] = {ak_v_int(z.key[0][0]), ak_v_int(z.key[0][1])};
            int64_t c = z.cnt[0];
            AK_CHECK(ak_mset_add(&m, t, 2, -c) == 0);
            naive_add(&z, z.key[0][0], z.key[0][1], -c);
            if (z.n % 500 == 0)
                AK_CHECK_EQ_INT(ak_mset_bytes(&m, 2), ak_alloc_live() - live0);
        }
        AK_CHECK_EQ_INT(ak_mset_distinct(&m), 0);
        ak_mset_free(&m);
    }
}

int main(void) { return ak_test_main(); }
