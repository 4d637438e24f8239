/* ak_io.h - the file operations durable state goes through, with fault
 * injection for tests.
 *
 * AKILI_FAIL_WRITE=N makes the Nth write fail (EIO), AKILI_FAIL_FSYNC=N the
 * Nth fsync, AKILI_FAIL_READ=N the Nth source read (N:K: K calls in a row
 * from the Nth, a transient outage); AKILI_CRASH_AT=NAME[:N] kills the process (SIGKILL, as a power
 * cut would) the Nth time the named crash point is reached, e.g.
 * `ckpt-write` in the middle of writing a checkpoint.  Counts are per
 * process.
 */
#ifndef AK_IO_H
#define AK_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ak_error.h"

/* write(2) until done (EINTR retried); -1 with errno on failure. */
int ak_io_write_all(int fd, const void *p, size_t n);
/* pread(2) with EINTR retried; -1 with errno on failure. */
ssize_t ak_io_pread(int fd, void *p, size_t n, uint64_t off);
/* fsync / fdatasync; -1 with errno on failure. */
int ak_io_fsync(int fd);
int ak_io_fdatasync(int fd);
/* Makes a rename or a new file in dir durable. */
int ak_io_fsync_dir(const char *dir, ak_err_t *err);
/* Writes path atomically: path.tmp, fsync, rename, fsync of the directory. */
int ak_io_write_file_atomic(const char *path, const void *p, size_t n, ak_err_t *err);
/* Restarts the injection counts (tests). */
void ak_io_fault_reset(void);
/* A named place where a test may crash the process (see above). */
void ak_io_crash_point(const char *name);

#endif
