/* test_omset.c - the ordered multiset against a brute-force model. */
#include "ak_test.h"

#include "ak_omset.h"

#include <stdlib.h>

AK_TEST(matches_a_brute_force_model)
{
    ak_omset_t *s = ak_omset_new();
    static int64_t model[2000];
    uint64_t r = 12345;
    for (int step = 0; step < 60000; step++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t v = (int64_t)(r >> 33) % 2000;
        int64_t c = (r >> 20) % 3 == 0 ? -1 : 1;
        ak_val_t x = ak_v_int(v);
        int rc = ak_omset_add(s, &x, c);
        if (c < 0 && model[v] == 0)
            AK_CHECK(rc == 1);
        else
            model[v] += c;
        if (step % 997 == 0) {
            int64_t total = 0, mn = -1, mx = -1;
            for (int k = 0; k < 2000; k++)
                if (model[k]) {
                    total += model[k];
                    if (mn < 0)
                        mn = k;
                    mx = k;
                }
            AK_CHECK_EQ_INT(ak_omset_total(s), total);
            ak_val_t got;
            if (total) {
                AK_CHECK(ak_omset_min(s, &got) && got.i == mn);
                AK_CHECK(ak_omset_max(s, &got) && got.i == mx);
            }
            ak_val_t b = ak_v_int((int64_t)(r >> 40) % 2000);
            int64_t ge = 0, lt = 0, eq = model[b.i];
            for (int k = 0; k < 2000; k++) {
                ge += k >= b.i ? model[k] : 0;
                lt += k < b.i ? model[k] : 0;
            }
            AK_CHECK_EQ_INT(ak_omset_count(s, 5, &b), ge);
            AK_CHECK_EQ_INT(ak_omset_count(s, 2, &b), lt);
            AK_CHECK_EQ_INT(ak_omset_count(s, 0, &b), eq);
            AK_CHECK_EQ_INT(ak_omset_count(s, 4, &b), ge - eq);
        }
    }
    ak_omset_free(s);
}

AK_TEST(text_values_are_owned)
{
    ak_omset_t *s = ak_omset_new();
    char buf[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf, "k%04d", i % 300);
        ak_val_t v = ak_v_text(buf, strlen(buf));
        AK_CHECK(ak_omset_add(s, &v, 1) == 0);
    }
    memset(buf, 'x', sizeof buf);
    ak_val_t mn, mx;
    AK_CHECK(ak_omset_min(s, &mn) && ak_omset_max(s, &mx));
    AK_CHECK(mn.n == 5 && memcmp(mn.s, "k0000", 5) == 0);
    AK_CHECK(mx.n == 5 && memcmp(mx.s, "k0299", 5) == 0);
    ak_val_t b = ak_v_text("k0100", 5);
    AK_CHECK_EQ_INT(ak_omset_count(s, 5, &b), 200 * 3); /* k0100..k0299, three times each */
    ak_omset_free(s);
}

int main(void) { return ak_test_main(); }
