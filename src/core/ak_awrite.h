/* ak_awrite.h - a file written by a background thread, buffer by buffer.
 *
 * The caller fills a buffer (a checkpoint frame) while the thread copies
 * the previous ones into the file: serializing and writing overlap on two
 * cores.  A handful of buffers are in flight; a full queue makes the caller
 * wait.  Writes go through ak_io_write_all (fault injection included); the
 * first failure is kept and returned by the next put or drain.
 */
#ifndef AK_AWRITE_H
#define AK_AWRITE_H

#include <stddef.h>

#include "ak_buf.h"
#include "ak_error.h"

typedef struct ak_awriter ak_awriter_t;

/* Starts the thread for fd (not owned: the caller closes it after stop);
 * `what` names the file in errors ("cannot write WHAT: ..."), borrowed. */
int ak_awriter_start(int fd, const char *what, ak_awriter_t **out, ak_err_t *err);
/* Queues hdr[0..hn) (at most 16 bytes) and then buf's bytes.  Takes buf's
 * contents: buf comes back empty, holding a recycled allocation. */
int ak_awriter_put(ak_awriter_t *w, const void *hdr, size_t hn, ak_buf_t *buf, ak_err_t *err);
/* Waits until everything queued is in the file: 0, or -1 with the first
 * write error. */
int ak_awriter_drain(ak_awriter_t *w, ak_err_t *err);
/* Stops the thread, discarding what is still queued, and frees it; NULL is
 * a no-op. */
void ak_awriter_stop(ak_awriter_t *w);

#endif
