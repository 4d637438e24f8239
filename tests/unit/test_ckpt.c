/* test_ckpt.c - checkpoints: incremental segments against a model, falling
 * back past corrupt ones, and failed writes that leave the last one intact. */
#include "ak_test.h"

#include "ak_alloc.h"
#include "ak_ckpt.h"
#include "ak_io.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NK 300

/* The model: value of (section s, key k) is val[s][k] (0: absent). */
typedef struct model {
    uint32_t val[3][NK];
    bool dirty[3][NK];
} model_t;

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n) { return (uint32_t)(ak_test_xorshift(&rng) % n); }

static char dir[256];

/* Writes the model's changes (or all of it) as a checkpoint. */
static int write_ckpt(ak_ckpt_t *c, model_t *m, bool full, uint32_t meta, ak_err_t *err)
{
    if (ak_ckpt_begin(c, full, err))
        return -1;
    for (uint32_t s = 0; s < 3; s++) {
        /* now and then a holder rewrites the keys under a prefix whole */
        bool cleared = !full && rnd(6) == 0;
        if (cleared && ak_ckpt_clear(c, s, "k1", 2, err)) {
            ak_ckpt_abort(c);
            return -1;
        }
        for (uint32_t k = 0; k < NK; k++) {
            char key[16];
            int kn = snprintf(key, sizeof key, "k%u", k);
            bool under = cleared && key[1] == '1';
            if (!full && !m->dirty[s][k] && !under)
                continue;
            if (under && !m->val[s][k])
                continue;
            int rc = m->val[s][k] ? ak_ckpt_put(c, s, key, (size_t)kn, &m->val[s][k], 4, err)
                                  : ak_ckpt_del(c, s, key, (size_t)kn, err);
            if (rc) {
                ak_ckpt_abort(c);
                return -1;
            }
        }
    }
    ak_ckpt_stats_t st;
    if (ak_ckpt_commit(c, &meta, sizeof meta, &st, err))
        return -1;
    memset(m->dirty, 0, sizeof m->dirty);
    return 0;
}

typedef struct seen {
    uint32_t val[3][NK];
    int last_section;
    bool ordered;
} seen_t;

static int on_rec(void *ctx, uint32_t section, const void *key, size_t kn, const void *val, size_t vn, ak_err_t *err)
{
    (void)err;
    seen_t *z = ctx;
    char k[16];
    if (kn >= sizeof k || vn != 4 || section >= 3)
        return -1;
    memcpy(k, key, kn);
    k[kn] = 0;
    uint32_t v;
    memcpy(&v, val, 4);
    z->val[section][atoi(k + 1)] = v;
    if ((int)section < z->last_section)
        z->ordered = false;
    z->last_section = (int)section;
    return 0;
}

/* Loads the newest valid checkpoint into z; returns its meta or 0. */
static uint32_t load(seen_t *z)
{
    memset(z, 0, sizeof *z);
    z->ordered = true;
    ak_err_t err;
    ak_ckpt_t *c;
    if (ak_ckpt_open(dir, "test", &c, &err))
        return 0;
    ak_ckpt_image_t *img = NULL;
    uint32_t meta = 0;
    if (ak_ckpt_load(c, &img, &err) == 0 && img) {
        size_t n;
        const void *m = ak_ckpt_image_meta(img, &n);
        if (n == 4)
            memcpy(&meta, m, 4);
        if (ak_ckpt_image_each(img, on_rec, z, &err))
            meta = 0;
    }
    ak_ckpt_image_free(img);
    ak_ckpt_close(c);
    return meta;
}

static void mutate(model_t *m, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t s = rnd(3), k = rnd(NK);
        m->val[s][k] = rnd(4) ? 1 + rnd(1000000) : 0;
        m->dirty[s][k] = true;
    }
}

/* A fresh checkpoint directory named after the test, opened; the model
 * starts empty with n random changes. */
static ak_ckpt_t *fresh(const char *name, model_t *m, int n)
{
    snprintf(dir, sizeof dir, "/tmp/akili-test-%s-%d", name, (int)getpid());
    ak_test_rm_dir(dir);
    ak_err_t err;
    ak_ckpt_t *c = NULL;
    AK_CHECK(ak_ckpt_open(dir, "test", &c, &err) == 0);
    memset(m, 0, sizeof *m);
    mutate(m, n);
    return c;
}

/* The newest checkpoint loads as the model, in section order, with meta. */
static void loads_as(const model_t *m, uint32_t meta)
{
    seen_t z;
    AK_CHECK_EQ_INT(load(&z), meta);
    AK_CHECK(memcmp(z.val, m->val, sizeof m->val) == 0);
    AK_CHECK(z.ordered);
}

AK_TEST(incremental_checkpoints_equal_the_model)
{
    ak_err_t err;
    model_t m;
    ak_ckpt_t *c = fresh("ckpt", &m, 0);
    int fulls = 0;
    for (uint32_t round = 1; round <= 60; round++) {
        mutate(&m, round % 7 == 0 ? 400 : 1 + (int)rnd(30));
        bool full = ak_ckpt_wants_full(c);
        fulls += full;
        AK_CHECK(write_ckpt(c, &m, full, round, &err) == 0);
        loads_as(&m, round);
    }
    AK_CHECK(fulls >= 2 && fulls < 30);
    /* bounded files: the newest two manifests and their segments */
    DIR *d = opendir(dir);
    int files = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        files += e->d_name[0] != '.';
    if (d)
        closedir(d);
    AK_CHECK(files <= 2 + 33);
    ak_ckpt_close(c);
    /* a reset removes them all */
    seen_t z;
    AK_CHECK(ak_ckpt_remove(dir, &err) == 0);
    AK_CHECK(load(&z) == 0);
    AK_CHECK(ak_ckpt_remove("/tmp/akili-test-ckpt-none", &err) == 0);
    ak_test_rm_dir(dir);
}

/* Only the first checkpoint is whole: background merges fold the
 * increments, and every checkpoint still loads as the model. */
AK_TEST(background_merges_fold_increments)
{
    ak_err_t err;
    model_t m;
    ak_ckpt_t *c = fresh("ckpt-merge", &m, 2000);
    int most = 0;
    for (uint32_t round = 1; round <= 80; round++) {
        if (round > 1)
            mutate(&m, 1 + (int)rnd(40));
        AK_CHECK(write_ckpt(c, &m, round == 1, round, &err) == 0);
        loads_as(&m, round);
        /* (a merge of a few KB takes well under this) */
        usleep(round % 3 ? 0 : 3000);
        DIR *d = opendir(dir);
        int segs = 0;
        for (struct dirent *e; d && (e = readdir(d));)
            segs += strncmp(e->d_name, "seg-", 4) == 0;
        if (d)
            closedir(d);
        most = segs > most ? segs : most;
    }
    AK_CHECK(ak_ckpt_merges(c) >= 3);
    AK_CHECK(most < 2 * 32);
    ak_ckpt_close(c); /* (joins a merge under way) */
    seen_t z;
    AK_CHECK_EQ_INT(load(&z), 80);
    AK_CHECK(memcmp(z.val, m.val, sizeof m.val) == 0);
    ak_test_rm_dir(dir);
}

static void corrupt(const char *kind, uint64_t seq, bool cut)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s-%016llx.%s", dir, kind, (unsigned long long)seq, kind[0] == 's' ? "dat" : "meta");
    FILE *f = fopen(p, "r+b");
    AK_CHECK(f != NULL);
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    if (cut) {
        fclose(f);
        AK_CHECK(truncate(p, n - 3) == 0);
        return;
    }
    fseek(f, n / 2, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, n / 2, SEEK_SET);
    fputc(ch ^ 0x40, f);
    fclose(f);
}

AK_TEST(corrupt_checkpoints_fall_back_to_the_previous_one)
{
    ak_err_t err;
    model_t m, before;
    ak_ckpt_t *c = fresh("ckpt2", &m, 200);
    AK_CHECK(write_ckpt(c, &m, true, 1, &err) == 0);
    mutate(&m, 20);
    AK_CHECK(write_ckpt(c, &m, false, 2, &err) == 0);
    before = m;
    mutate(&m, 20);
    AK_CHECK(write_ckpt(c, &m, false, 3, &err) == 0);
    uint64_t newest = ak_ckpt_seq(c);
    ak_ckpt_close(c);

    /* a flipped byte in the newest manifest: the previous one is used */
    corrupt("ckpt", newest, false);
    seen_t z;
    AK_CHECK_EQ_INT(load(&z), 2);
    AK_CHECK(memcmp(z.val, before.val, sizeof before.val) == 0);

    /* writing goes on from the one loaded */
    AK_CHECK(ak_ckpt_open(dir, "test", &c, &err) == 0);
    ak_ckpt_image_t *img = NULL;
    AK_CHECK(ak_ckpt_load(c, &img, &err) == 0 && img);
    ak_ckpt_image_free(img);
    m = before;
    mutate(&m, 10);
    AK_CHECK(write_ckpt(c, &m, false, 4, &err) == 0);
    uint64_t s4 = ak_ckpt_seq(c);
    ak_ckpt_close(c);
    AK_CHECK_EQ_INT(load(&z), 4);
    AK_CHECK(memcmp(z.val, m.val, sizeof m.val) == 0);

    /* a segment cut short: its manifest is refused, the previous is used */
    corrupt("seg", s4, true);
    AK_CHECK_EQ_INT(load(&z), 2);
    AK_CHECK(memcmp(z.val, before.val, sizeof before.val) == 0);

    /* a manifest of garbage and nothing else valid: no checkpoint, no crash */
    AK_CHECK(ak_ckpt_open(dir, "test", &c, &err) == 0);
    img = NULL;
    AK_CHECK(ak_ckpt_load(c, &img, &err) == 0 && img);
    uint64_t s2 = ak_ckpt_seq(c);
    ak_ckpt_image_free(img);
    ak_ckpt_close(c);
    corrupt("ckpt", s2, true);
    AK_CHECK_EQ_INT(load(&z), 0);
    ak_test_rm_dir(dir);
}

AK_TEST(failed_writes_and_syncs_keep_the_last_checkpoint)
{
    ak_err_t err;
    model_t m;
    ak_ckpt_t *c = fresh("ckpt3", &m, 300);
    AK_CHECK(write_ckpt(c, &m, true, 1, &err) == 0);
    model_t good = m;
    const char *envs[] = {"AKILI_FAIL_WRITE", "AKILI_FAIL_FSYNC"};
    for (int e = 0; e < 2; e++)
        for (int n = 1; n <= 4; n++) {
            ak_io_fault_reset();
            char v[16];
            snprintf(v, sizeof v, "%d", n);
            setenv(envs[e], v, 1);
            m = good;
            mutate(&m, 50);
            int rc = write_ckpt(c, &m, n % 2 == 0, 100, &err);
            unsetenv(envs[e]);
            if (rc == 0) {
                /* the fault hit nothing this checkpoint does: it must be whole */
                seen_t z;
                AK_CHECK_EQ_INT(load(&z), 100);
                AK_CHECK(memcmp(z.val, m.val, sizeof m.val) == 0);
                good = m;
                AK_CHECK(write_ckpt(c, &good, true, 1, &err) == 0);
                continue;
            }
            AK_CHECK(err.code == AK_E_IO);
            /* the last checkpoint, or (a failed sync of the directory
             * after the rename) the new one whole: never a mix */
            seen_t z;
            uint32_t got = load(&z);
            AK_CHECK(got == 1 || got == 100);
            AK_CHECK(memcmp(z.val, got == 1 ? good.val : m.val, sizeof good.val) == 0);
        }
    /* and the next checkpoint after the failures is fine */
    m = good;
    mutate(&m, 5);
    AK_CHECK(write_ckpt(c, &m, false, 7, &err) == 0);
    seen_t z;
    AK_CHECK_EQ_INT(load(&z), 7);
    AK_CHECK(memcmp(z.val, m.val, sizeof m.val) == 0);
    ak_ckpt_close(c);
    ak_test_rm_dir(dir);
}

int main(void) { return ak_test_main(); }
