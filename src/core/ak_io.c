/* ak_io.c - durable file operations with counted fault injection. */
#include "ak_io.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong n_writes, n_syncs, n_reads;

/* NAME=N fails the Nth call; NAME=N:K the K calls from the Nth on. */
static int inject(atomic_ulong *counter, const char *env)
{
    const char *s = getenv(env);
    if (!s || !*s)
        return 0;
    char *end;
    unsigned long at = strtoul(s, &end, 10), k = *end == ':' ? strtoul(end + 1, NULL, 10) : 1;
    if (!at)
        return 0;
    unsigned long n = atomic_fetch_add(counter, 1) + 1;
    return n >= at && n - at < (k ? k : 1);
}

void ak_io_fault_reset(void)
{
    atomic_store(&n_writes, 0);
    atomic_store(&n_syncs, 0);
    atomic_store(&n_reads, 0);
}

ssize_t ak_io_pread(int fd, void *p, size_t n, uint64_t off)
{
    if (inject(&n_reads, "AKILI_FAIL_READ")) {
        errno = EIO;
        return -1;
    }
    for (;;) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

int ak_io_write_all(int fd, const void *p, size_t n)
{
    if (inject(&n_writes, "AKILI_FAIL_WRITE")) {
        errno = EIO;
        return -1;
    }
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int ak_io_fsync(int fd)
{
    if (inject(&n_syncs, "AKILI_FAIL_FSYNC")) {
        errno = EIO;
        return -1;
    }
    return fsync(fd);
}

int ak_io_fdatasync(int fd)
{
    if (inject(&n_syncs, "AKILI_FAIL_FSYNC")) {
        errno = EIO;
        return -1;
    }
    return fdatasync(fd);
}

int ak_io_fsync_dir(const char *dir, ak_err_t *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ak_errf(err, AK_E_IO, "cannot open directory %s: %s", dir, strerror(errno));
    int rc = ak_io_fsync(fd);
    int e = errno;
    close(fd);
    if (rc)
        return ak_errf(err, AK_E_IO, "cannot sync directory %s: %s", dir, strerror(e));
    return 0;
}

int ak_io_write_file_atomic(const char *path, const void *p, size_t n, ak_err_t *err)
{
    char tmp[4200], dir[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return ak_errf(err, AK_E_IO, "cannot create %s: %s", tmp, strerror(errno));
    if (ak_io_write_all(fd, p, n) || ak_io_fsync(fd)) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return ak_errf(err, AK_E_IO, "cannot write %s: %s", tmp, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ak_errf(err, AK_E_IO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    return ak_io_fsync_dir(dir, err);
}

void ak_io_crash_point(const char *name)
{
    static atomic_ulong hits;
    const char *s = getenv("AKILI_CRASH_AT");
    if (!s || !*s)
        return;
    size_t n = strlen(name);
    if (strncmp(s, name, n) != 0 || (s[n] != '\0' && s[n] != ':'))
        return;
    unsigned long at = s[n] == ':' ? strtoul(s + n + 1, NULL, 10) : 1;
    if (atomic_fetch_add(&hits, 1) + 1 == (at ? at : 1))
        raise(SIGKILL);
}
