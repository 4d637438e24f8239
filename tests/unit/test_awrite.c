/* test_awrite.c - the background writer: every byte in order, the queue's
 * back-pressure, and a failed write reported by the next put or drain. */
#include "ak_test.h"

#include "ak_awrite.h"
#include "ak_io.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

/* Writes n buffers of varying sizes (each with a 3-byte header); returns the
 * put/drain result and leaves the expected bytes in want. */
static int write_some(int fd, int n, ak_buf_t *want, ak_err_t *err)
{
    ak_awriter_t *w;
    if (ak_awriter_start(fd, "the test file", &w, err))
        return -1;
    ak_buf_t b = AK_BUF_INIT;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        uint8_t h[3] = {(uint8_t)i, (uint8_t)(i >> 8), 0xAB};
        size_t len = (size_t)(i * 7919) % 70000;
        for (size_t k = 0; k < len; k++)
            ak_buf_putc(&b, (char)('a' + (i + k) % 26));
        ak_buf_put(want, h, 3);
        ak_buf_put(want, b.data, b.len);
        rc = ak_awriter_put(w, h, 3, &b, err);
        AK_CHECK(rc != 0 || b.len == 0); /* the buffer came back empty */
    }
    if (rc == 0)
        rc = ak_awriter_drain(w, err);
    ak_awriter_stop(w);
    ak_buf_free(&b);
    return rc;
}

AK_TEST(every_byte_in_order)
{
    snprintf(path, sizeof path, "/tmp/akili-test-awrite-%d", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    AK_CHECK(fd >= 0);
    ak_buf_t want = AK_BUF_INIT;
    ak_err_t err;
    AK_CHECK(write_some(fd, 300, &want, &err) == 0);
    off_t n = lseek(fd, 0, SEEK_END);
    AK_CHECK_EQ_INT((long long)n, (long long)want.len);
    char *got = malloc(want.len + 1);
    AK_CHECK(got && pread(fd, got, want.len, 0) == (ssize_t)want.len && memcmp(got, want.data, want.len) == 0);
    free(got);
    ak_buf_free(&want);
    close(fd);
    unlink(path);
}

AK_TEST(a_failed_write_is_reported)
{
    snprintf(path, sizeof path, "/tmp/akili-test-awrite2-%d", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ak_buf_t want = AK_BUF_INIT;
    ak_err_t err;
    ak_io_fault_reset();
    setenv("AKILI_FAIL_WRITE", "25", 1);
    int rc = write_some(fd, 200, &want, &err);
    unsetenv("AKILI_FAIL_WRITE");
    ak_io_fault_reset();
    AK_CHECK(rc != 0 && err.code == AK_E_IO && strstr(err.msg, "cannot write the test file") != NULL);
    /* and stopping a writer with buffers still queued frees them */
    ak_awriter_t *w;
    AK_CHECK(ak_awriter_start(fd, "x", &w, &err) == 0);
    ak_buf_t b = AK_BUF_INIT;
    ak_buf_puts(&b, "queued");
    AK_CHECK(ak_awriter_put(w, NULL, 0, &b, &err) == 0);
    ak_awriter_stop(w);
    ak_buf_free(&b);
    ak_buf_free(&want);
    close(fd);
    unlink(path);
}

int main(void) { return ak_test_main(); }
