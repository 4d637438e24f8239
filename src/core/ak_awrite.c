/* ak_awrite.c - a file written by a background thread (see ak_awrite.h). */
#include "ak_awrite.h"

#include "ak_alloc.h"
#include "ak_io.h"
#include "ak_thread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define SLOTS 4

typedef struct slot {
    ak_buf_t buf;
    uint8_t hdr[16];
    size_t hn;
    bool full;
} slot_t;

struct ak_awriter {
    int fd;
    const char *what;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot_t s[SLOTS];
    unsigned head, tail;       /* next to fill, next to write */
    bool stop;
    int error;                 /* the first write's errno, 0 while none failed */
};

/* Write-back is started every so many bytes, so the fsync that makes the
 * file durable waits for the tail only, not for everything written. */
#define WRITEBACK_EVERY (8u << 20)

static void *writer_main(void *arg)
{
    ak_awriter_t *w = arg;
    off_t at = lseek(w->fd, 0, SEEK_CUR), from = at; /* -1 (not seekable): no hints */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && !w->s[w->tail].full)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop)
            break;
        slot_t *s = &w->s[w->tail];
        pthread_mutex_unlock(&w->mu);
        int e = 0;
        if (ak_io_write_all(w->fd, s->hdr, s->hn) || ak_io_write_all(w->fd, s->buf.data, s->buf.len))
            e = errno ? errno : EIO;
        if (at >= 0 && !e) {
            at += (off_t)(s->hn + s->buf.len);
            if (at - from >= (off_t)WRITEBACK_EVERY) {
                /* advice only: a failure here shows at the fsync */
                (void)sync_file_range(w->fd, from, at - from, SYNC_FILE_RANGE_WRITE);
                from = at;
            }
        }
        ak_buf_clear(&s->buf);
        pthread_mutex_lock(&w->mu);
        if (e && !w->error)
            w->error = e;
        s->full = false;
        w->tail = (w->tail + 1) % SLOTS;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int ak_awriter_start(int fd, const char *what, ak_awriter_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_awriter_t *w = ak_calloc(1, sizeof *w);
    if (!w)
        return ak_err_nomem(err);
    w->fd = fd;
    w->what = what;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (ak_thread_start(&w->th, writer_main, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        ak_free(w);
        return ak_errf(err, AK_E_IO, "cannot start a writer thread");
    }
    *out = w;
    return 0;
}

static int failed(const ak_awriter_t *w, int e, ak_err_t *err)
{
    return ak_errf(err, AK_E_IO, "cannot write %s: %s", w->what, strerror(e));
}

int ak_awriter_put(ak_awriter_t *w, const void *hdr, size_t hn, ak_buf_t *buf, ak_err_t *err)
{
    if (hn > sizeof w->s[0].hdr)
        return ak_errf(err, AK_E_INTERNAL, "writer: header of %zu bytes", hn);
    pthread_mutex_lock(&w->mu);
    while (w->s[w->head].full && !w->error)
        pthread_cond_wait(&w->cv, &w->mu);
    int e = w->error;
    if (!e) {
        slot_t *s = &w->s[w->head];
        ak_buf_t spare = s->buf; /* cleared by the thread: its allocation comes back */
        s->buf = *buf;
        *buf = spare;
        if (hn)
            memcpy(s->hdr, hdr, hn);
        s->hn = hn;
        s->full = true;
        w->head = (w->head + 1) % SLOTS;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return e ? failed(w, e, err) : 0;
}

int ak_awriter_drain(ak_awriter_t *w, ak_err_t *err)
{
    pthread_mutex_lock(&w->mu);
    while (w->s[w->tail].full && !w->error)
        pthread_cond_wait(&w->cv, &w->mu);
    int e = w->error;
    pthread_mutex_unlock(&w->mu);
    return e ? failed(w, e, err) : 0;
}

void ak_awriter_stop(ak_awriter_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    for (int i = 0; i < SLOTS; i++)
        ak_buf_free(&w->s[i].buf);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    ak_free(w);
}
