/* test_prefetch.c - a source read ahead by a thread: every record once and
 * in order, each batch with the position after it and its dead letters,
 * idle sources report idle and are read again later, a failed poll waits
 * for the engine, and what was read ahead is freed on stop.  Runs with the
 * thread and without it (AKILI_NO_PREFETCH=1), and under ThreadSanitizer. */
#include "ak_test.h"

#include "ak_alloc.h"
#include "ak_prefetch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

/* A scripted source: `avail` records are there to read (the test adds
 * more); every 7th record is undecodable (a dead letter); poll number
 * `fail_at` fails once, retriably, after handing out what it read. */
typedef struct fake {
    atomic_long avail;
    long next;      /* records handed out or dead-lettered */
    int polls, fail_at;
    atomic_int commits;
    atomic_int in_poll; /* polls and commits must not overlap */
    bool overlap;
} fake_t;

static ak_poll_rc_t fake_poll(ak_source_t *src, ak_batch_t *out, size_t max, bool drain, ak_dead_fn dead,
                              void *dctx, ak_err_t *err)
{
    (void)drain;
    fake_t *f = (fake_t *)src;
    if (atomic_fetch_add(&f->in_poll, 1))
        f->overlap = true;
    ak_poll_rc_t rc = AK_POLL_IDLE;
    f->polls++;
    long avail = atomic_load(&f->avail);
    while (f->next < avail) {
        if (out->n == max) {
            rc = AK_POLL_MORE;
            break;
        }
        long i = f->next++;
        if (i % 7 == 6) {
            char raw[32], pos[32];
            int n = snprintf(raw, sizeof raw, "bad %ld", i);
            snprintf(pos, sizeof pos, "%ld", i);
            ak_dead_t d = {pos, "undecodable", raw, (size_t)n, NULL, 0};
            if (dead(dctx, &d, err))
                return AK_POLL_ERROR;
            continue;
        }
        ak_rec_t *r = ak_batch_add(out, AK_OP_UPSERT, (uint64_t)i);
        if (!r)
            return AK_POLL_ERROR;
        r->v[0] = ak_v_int(i);
        r->present = 1;
    }
    if (f->polls == f->fail_at) {
        ak_errf(err, AK_E_IO, "the broker went away");
        err->retriable = true;
        rc = AK_POLL_ERROR;
    }
    atomic_fetch_sub(&f->in_poll, 1);
    return rc;
}

static char *fake_position(ak_source_t *src)
{
    char b[32];
    snprintf(b, sizeof b, "%ld", ((fake_t *)src)->next);
    return ak_strdup(b);
}

static int fake_commit(ak_source_t *src, const char *position, ak_err_t *err)
{
    (void)position;
    (void)err;
    fake_t *f = (fake_t *)src;
    if (atomic_fetch_add(&f->in_poll, 1))
        f->overlap = true;
    atomic_fetch_add(&f->commits, 1);
    atomic_fetch_sub(&f->in_poll, 1);
    return 0;
}

static const ak_source_ops_t fake_ops = {
    AK_SOURCE_ABI, "fake", "a scripted source", NULL, 0, true, NULL, NULL, fake_poll, fake_position,
    fake_commit, NULL,
};

/* Takes batches until idle or `until` records; checks order and positions. */
static long drain_to(ak_prefetch_t *p, fake_t *f, long *expect, long until, int *dead, int *errors)
{
    long got = 0;
    for (int spins = 0; spins < 20000; spins++) {
        ak_fetched_t *b = ak_prefetch_next(p);
        if (!b) {
            if (*expect >= until)
                break;
            usleep(100); /* idle: the engine sleeps, the thread looks again */
            continue;
        }
        for (size_t i = 0; i < b->batch.n; i++) {
            if (*expect % 7 == 6)
                (*expect)++;
            AK_CHECK_EQ_INT(b->batch.recs[i].v[0].i, *expect);
            (*expect)++;
            got++;
        }
        AK_CHECK(b->log.len >= b->batch.n * 9); /* the frames are encoded */
        *dead += (int)b->ndead;
        for (size_t i = 0; i < b->ndead; i++)
            AK_CHECK(strncmp(b->dead[i].raw, "bad ", 4) == 0 && b->dead[i].n >= 5);
        /* the position covers exactly what was handed out so far */
        long pos = strtol(b->position, NULL, 10);
        AK_CHECK(pos >= *expect && pos <= *expect + 1);
        if (b->rc == AK_POLL_ERROR) {
            (*errors)++;
            AK_CHECK(b->err.retriable);
        }
        ak_prefetch_done(p, b);
        ak_err_t e;
        AK_CHECK(ak_prefetch_commit(p, "x", &e) == 0);
    }
    (void)f;
    return got;
}

static void scenario(void)
{
    ak_schema_t sc = {0};
    AK_CHECK(ak_schema_add(&sc, "n", AK_INT, true, false) == 0);
    fake_t *f = ak_calloc(1, sizeof *f);
    atomic_store(&f->avail, 1000);
    f->fail_at = 3;
    ak_prefetch_t *p;
    ak_err_t err;
    AK_CHECK(ak_prefetch_start(&fake_ops, (ak_source_t *)f, &sc, 64, false, &p, &err) == 0);
    long expect = 0;
    int dead = 0, errors = 0;
    long got = drain_to(p, f, &expect, 1000, &dead, &errors);
    AK_CHECK_EQ_INT(errors, 1);
    /* more arrives later: read once asked again */
    atomic_store(&f->avail, 2500);
    got += drain_to(p, f, &expect, 2500, &dead, &errors);
    AK_CHECK_EQ_INT(got, 2500 - 2500 / 7);
    AK_CHECK_EQ_INT(dead, 2500 / 7);
    /* idle now: nothing new is handed out */
    AK_CHECK(ak_prefetch_next(p) == NULL);
    /* read ahead, not taken: freed by stop */
    atomic_store(&f->avail, 4000);
    usleep(20000);
    ak_prefetch_stop(p);
    AK_CHECK(!f->overlap);
    AK_CHECK(atomic_load(&f->commits) > 0);
    ak_free(f);
    ak_schema_free(&sc);
}

AK_TEST(every_record_once_in_order_with_its_position) { scenario(); }

AK_TEST(the_same_without_the_thread)
{
    setenv("AKILI_NO_PREFETCH", "1", 1);
    scenario();
    unsetenv("AKILI_NO_PREFETCH");
}

int main(void) { return ak_test_main(); }
