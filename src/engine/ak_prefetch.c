/* ak_prefetch.c - a source read ahead by its own thread. */
#include "ak_prefetch.h"

#include "ak_alloc.h"
#include "ak_inlog.h"
#include "ak_thread.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NITEMS 4 /* batches read ahead, plus the one being read */

struct ak_prefetch {
    const ak_source_ops_t *ops;
    ak_source_t *src;
    const ak_schema_t *schema;
    size_t max;
    bool drain;
    pthread_t th;
    pthread_mutex_t srcmu;       /* the source: poll, position, commit */
    pthread_mutex_t mu;          /* everything below */
    pthread_cond_t to_thread, to_engine;
    ak_fetched_t items[NITEMS];
    ak_fetched_t *free_[NITEMS], *ready[NITEMS];
    int nfree, nready, head;     /* ready: a ring from head */
    bool idle;                   /* the last poll found nothing new: wait to be asked */
    bool paused;                 /* the last poll failed: wait for the engine */
    bool asked, stop;
    uint64_t polls;              /* polls finished */
    bool threaded;               /* false: ak_prefetch_next polls in the caller */
    char *last_pos;              /* the thread's: position after the last batch read */
};

static void free_dead(ak_dead_t *d)
{
    ak_free((void *)d->position);
    ak_free((void *)d->reason);
    ak_free((void *)d->raw);
    ak_free((void *)d->header);
}

/* The source's dead letters are valid during its poll only: copied, with
 * the raw bytes and header NUL-terminated. */
static int on_dead(void *ctx, const ak_dead_t *d, ak_err_t *err)
{
    ak_fetched_t *f = ctx;
    if (AK_GROW(f->dead, f->cap_dead, f->ndead + 1))
        return ak_err_nomem(err);
    ak_dead_t c = {0};
    c.position = ak_strdup(d->position ? d->position : "");
    c.reason = ak_strdup(d->reason ? d->reason : "");
    c.raw = d->raw ? ak_strndup(d->raw, d->n) : ak_strdup("");
    c.n = d->raw ? d->n : 0;
    c.header = d->header ? ak_strndup(d->header, d->header_n) : NULL;
    c.header_n = d->header_n;
    if (!c.position || !c.reason || !c.raw || (d->header && !c.header)) {
        free_dead(&c);
        return ak_err_nomem(err);
    }
    f->dead[f->ndead++] = c;
    return 0;
}

static void reset_item(ak_fetched_t *f)
{
    ak_batch_clear(&f->batch);
    for (size_t i = 0; i < f->ndead; i++)
        free_dead(&f->dead[i]);
    f->ndead = 0;
    ak_free(f->position);
    f->position = NULL;
    ak_buf_clear(&f->log);
    f->rc = AK_POLL_IDLE;
    ak_err_clear(&f->err);
}

/* One poll into f, with its position and log frames. */
static void fill(ak_prefetch_t *p, ak_fetched_t *f)
{
    pthread_mutex_lock(&p->srcmu);
    f->rc = p->ops->poll(p->src, &f->batch, p->max, p->drain, on_dead, f, &f->err);
    f->position = p->ops->position(p->src);
    pthread_mutex_unlock(&p->srcmu);
    if (!f->position && f->rc != AK_POLL_ERROR) {
        f->rc = AK_POLL_ERROR;
        ak_err_nomem(&f->err);
    }
    if (f->batch.n && ak_inlog_encode(p->schema, &f->batch, &f->log, NULL)) {
        /* out of memory: nothing of this batch is applied, and the run
         * fails (its position is not committed) */
        ak_batch_clear(&f->batch);
        ak_buf_clear(&f->log);
        f->rc = AK_POLL_ERROR;
        ak_err_nomem(&f->err);
    }
}

/* One poll into f; whether it brings news (records, dead letters, an
 * error or a moved position), and then its position is remembered. */
static bool poll_once(ak_prefetch_t *p, ak_fetched_t *f)
{
    reset_item(f);
    fill(p, f);
    bool news = f->rc == AK_POLL_ERROR || f->batch.n || f->ndead || !p->last_pos ||
                strcmp(p->last_pos, f->position) != 0;
    if (news && f->position) {
        char *keep = ak_strdup(f->position);
        if (keep) {
            ak_free(p->last_pos);
            p->last_pos = keep;
        }
    }
    return news;
}

static void *reader_main(void *arg)
{
    ak_prefetch_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && (!p->nfree || ((p->idle || p->paused) && !p->asked)))
            pthread_cond_wait(&p->to_thread, &p->mu);
        if (p->stop)
            break;
        p->asked = false;
        p->paused = false;
        ak_fetched_t *f = p->free_[--p->nfree];
        pthread_mutex_unlock(&p->mu);
        bool deliver = poll_once(p, f);
        pthread_mutex_lock(&p->mu);
        p->polls++;
        if (deliver) {
            p->ready[(p->head + p->nready) % NITEMS] = f;
            p->nready++;
            p->idle = f->rc == AK_POLL_IDLE;
            p->paused = f->rc == AK_POLL_ERROR;
        } else {
            p->free_[p->nfree++] = f;
            p->idle = true;
        }
        pthread_cond_broadcast(&p->to_engine);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int ak_prefetch_start(const ak_source_ops_t *ops, ak_source_t *src, const ak_schema_t *schema, size_t max,
                      bool drain, ak_prefetch_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_prefetch_t *p = ak_calloc(1, sizeof *p);
    if (!p)
        return ak_err_nomem(err);
    p->ops = ops;
    p->src = src;
    p->schema = schema;
    p->max = max;
    p->drain = drain;
    for (int i = 0; i < NITEMS; i++) {
        ak_batch_init(&p->items[i].batch, schema);
        p->free_[p->nfree++] = &p->items[i];
    }
    p->last_pos = ops->position(src);
    if (!p->last_pos) {
        ak_free(p);
        return ak_err_nomem(err);
    }
    pthread_mutex_init(&p->srcmu, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->to_thread, NULL);
    pthread_cond_init(&p->to_engine, NULL);
    /* without a thread (or AKILI_NO_PREFETCH=1) the engine polls itself */
    const char *no = getenv("AKILI_NO_PREFETCH");
    p->threaded = !(no && *no && strcmp(no, "0") != 0) && ak_thread_start(&p->th, reader_main, p) == 0;
    *out = p;
    return 0;
}

/* Without the thread: one poll here; a batch with no news is idle. */
static ak_fetched_t *next_here(ak_prefetch_t *p)
{
    ak_fetched_t *f = p->free_[--p->nfree];
    if (poll_once(p, f))
        return f;
    p->free_[p->nfree++] = f;
    return NULL;
}

ak_fetched_t *ak_prefetch_next(ak_prefetch_t *p)
{
    if (!p->threaded)
        return next_here(p);
    ak_fetched_t *f = NULL;
    pthread_mutex_lock(&p->mu);
    /* idle: the thread looks again now and the answer is waited for, so
     * data that arrived since is taken at once, as a poll here would;
     * paused or reading: wait for what it brings */
    uint64_t want = p->idle ? p->polls + 1 : 0;
    while (!p->nready && (p->polls < want || !p->idle || p->paused)) {
        p->asked = true;
        pthread_cond_signal(&p->to_thread);
        pthread_cond_wait(&p->to_engine, &p->mu);
    }
    if (p->nready) {
        f = p->ready[p->head];
        p->head = (p->head + 1) % NITEMS;
        p->nready--;
    }
    pthread_mutex_unlock(&p->mu);
    return f;
}

void ak_prefetch_done(ak_prefetch_t *p, ak_fetched_t *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&p->mu);
    p->free_[p->nfree++] = f;
    pthread_cond_signal(&p->to_thread);
    pthread_mutex_unlock(&p->mu);
}

int ak_prefetch_commit(ak_prefetch_t *p, const char *position, ak_err_t *err)
{
    pthread_mutex_lock(&p->srcmu);
    int rc = p->ops->commit(p->src, position, err);
    pthread_mutex_unlock(&p->srcmu);
    return rc;
}

void ak_prefetch_stop(ak_prefetch_t *p)
{
    if (!p)
        return;
    if (p->threaded) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_cond_signal(&p->to_thread);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->th, NULL);
    }
    for (int i = 0; i < NITEMS; i++) {
        reset_item(&p->items[i]);
        ak_batch_free(&p->items[i].batch);
        ak_free(p->items[i].dead);
        ak_buf_free(&p->items[i].log);
    }
    pthread_cond_destroy(&p->to_engine);
    pthread_cond_destroy(&p->to_thread);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->srcmu);
    ak_free(p->last_pos);
    ak_free(p);
}
