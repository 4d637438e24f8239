/* ak_test.h - a minimal unit-test harness (header only).
 *
 *   AK_TEST(name) { AK_CHECK(1 + 1 == 2); AK_CHECK_EQ_INT(a, b); AK_CHECK_STR(s, "x"); }
 *   int main(void) { return ak_test_main(); }
 *
 * Each test is registered by a constructor; ak_test_main runs them all and
 * prints one line per failed check and a summary "name: N passed, M failed".
 * A test counts as failed if any of its checks failed.
 */
#ifndef AK_TEST_H
#define AK_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64: the deterministic generator of the randomized tests. */
static inline uint64_t ak_test_xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

typedef void (*ak_test_fn)(void);
struct ak_test_entry {
    const char *name;
    ak_test_fn fn;
};

static struct ak_test_entry ak__tests[512];
static int ak__ntests;
static int ak__failed_checks;

#define AK_TEST(tname)                                                        \
    static void test_##tname(void);                                           \
    __attribute__((constructor)) static void reg_##tname(void)                \
    {                                                                        \
        ak__tests[ak__ntests].name = #tname;                                  \
        ak__tests[ak__ntests++].fn = test_##tname;                            \
    }                                                                        \
    static void test_##tname(void)

#define AK_CHECK(cond)                                                                  \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
            ak__failed_checks++;                                                        \
        }                                                                               \
    } while (0)

#define AK_CHECK_EQ_INT(a, b)                                                           \
    do {                                                                                \
        long long ak__a = (long long)(a), ak__b = (long long)(b);                       \
        if (ak__a != ak__b) {                                                           \
            fprintf(stderr, "  FAIL %s:%d: %s == %s (%lld != %lld)\n", __FILE__,         \
                    __LINE__, #a, #b, ak__a, ak__b);                                    \
            ak__failed_checks++;                                                        \
        }                                                                               \
    } while (0)

#define AK_CHECK_STR(a, b)                                                              \
    do {                                                                                \
        const char *ak__a = (a), *ak__b = (b);                                          \
        if (!ak__a || !ak__b || strcmp(ak__a, ak__b) != 0) {                            \
            fprintf(stderr, "  FAIL %s:%d: %s == %s (\"%s\" != \"%s\")\n", __FILE__,     \
                    __LINE__, #a, #b, ak__a ? ak__a : "(null)", ak__b ? ak__b : "(null)"); \
            ak__failed_checks++;                                                        \
        }                                                                               \
    } while (0)

static inline int ak_test_main_named(const char *suite)
{
    int passed = 0, failed = 0;
    const char *only = getenv("AK_TEST_ONLY");
    for (int i = 0; i < ak__ntests; i++) {
        if (only && !strstr(ak__tests[i].name, only))
            continue;
        int before = ak__failed_checks;
        ak__tests[i].fn();
        if (ak__failed_checks == before) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAILED %s.%s\n", suite, ak__tests[i].name);
        }
    }
    printf("%s: %d passed, %d failed\n", suite, passed, failed);
    return failed ? 1 : 0;
}

#define ak_test_main() ak_test_main_named(__FILE__)

#include <dirent.h>
#include <unistd.h>

/* Removes a scratch directory and the files in it (not recursive). */
static inline void ak_test_rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

#endif
