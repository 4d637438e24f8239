/* ak_alloc.c - counted allocation with fault injection.
 *
 * Each block carries a 16-byte header holding its size, so frees can be
 * counted without asking the C library.  Counters are relaxed atomics: they
 * are metrics, not synchronisation.
 *
 * The heap is advised to the kernel as transparent huge pages as it grows:
 * the state is millions of small blocks, and filling hundreds of MB of it
 * (a restore, an initial load, a whole re-evaluation) otherwise spends a
 * third of its time in 4 KiB page faults.  The program grows the heap in
 * large steps (main: M_TOP_PAD) so little of each step is touched before
 * the advice.  Where THP is "never" the advice is a no-op; AKILI_HUGEPAGES=0
 * turns it off.
 */
#include "ak_alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HDR 16
#define HUGE_PAGE ((uintptr_t)2 << 20)

static atomic_uintptr_t heap_advised; /* the heap below this is advised; UINTPTR_MAX: never */

/* After an allocation of n bytes at p: advises what the heap grew by since
 * the last time (sbrk(0) is the C library's cached break, not a system
 * call), or the block itself when it is mapped on its own (a large one). */
static void advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    uintptr_t done = atomic_load_explicit(&heap_advised, memory_order_relaxed);
    if (done == UINTPTR_MAX)
        return;
    uintptr_t top = (uintptr_t)sbrk(0);
    if (done == 0) {
        const char *s = getenv("AKILI_HUGEPAGES");
        if (s && strcmp(s, "0") == 0) {
            atomic_store(&heap_advised, UINTPTR_MAX);
            return;
        }
        done = top & ~(HUGE_PAGE - 1);
        atomic_store(&heap_advised, done);
    }
    if (n >= 16 * HUGE_PAGE) {
        uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1), b = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
        (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
    }
    if (top == (uintptr_t)-1 || top <= done ||
        !atomic_compare_exchange_strong_explicit(&heap_advised, &done, top, memory_order_relaxed, memory_order_relaxed))
        return;
    (void)madvise((void *)done, top - done, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

static atomic_size_t live_bytes;
static atomic_size_t peak_bytes;
static atomic_uint_fast64_t n_allocs;
static atomic_uint_fast64_t fail_at; /* absolute allocation number to fail, 0 = never */
static atomic_int env_checked;

static void check_env(void)
{
    if (atomic_load_explicit(&env_checked, memory_order_relaxed))
        return;
    atomic_store(&env_checked, 1);
    const char *s = getenv("AKILI_FAIL_ALLOC");
    if (s && *s) {
        uint64_t n = strtoull(s, NULL, 10);
        if (n)
            atomic_store(&fail_at, n);
    }
}

static int should_fail(void)
{
    check_env();
    uint64_t k = atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed) + 1;
    uint64_t f = atomic_load_explicit(&fail_at, memory_order_relaxed);
    return f && k == f;
}

static void account(ptrdiff_t delta)
{
    size_t now = atomic_fetch_add_explicit(&live_bytes, (size_t)delta, memory_order_relaxed) + (size_t)delta;
    size_t pk = atomic_load_explicit(&peak_bytes, memory_order_relaxed);
    while (delta > 0 && now > pk &&
           !atomic_compare_exchange_weak_explicit(&peak_bytes, &pk, now, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

void *ak_malloc(size_t n)
{
    if (should_fail() || n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *p = malloc(n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    account((ptrdiff_t)n);
    advise_huge(p, n + HDR);
    return p + HDR;
}

void *ak_calloc(size_t count, size_t size)
{
    if (size && count > (SIZE_MAX - HDR) / size)
        return NULL;
    void *p = ak_malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *ak_realloc(void *p, size_t n)
{
    if (!p)
        return ak_malloc(n);
    if (should_fail() || n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *b = (unsigned char *)p - HDR;
    size_t old;
    memcpy(&old, b, sizeof old);
    unsigned char *nb = realloc(b, n + HDR);
    if (!nb)
        return NULL;
    memcpy(nb, &n, sizeof n);
    account((ptrdiff_t)n - (ptrdiff_t)old);
    if (n > old)
        advise_huge(nb, n + HDR);
    return nb + HDR;
}

void ak_free(void *p)
{
    if (!p)
        return;
    unsigned char *b = (unsigned char *)p - HDR;
    size_t n;
    memcpy(&n, b, sizeof n);
    account(-(ptrdiff_t)n);
    free(b);
}

char *ak_strndup(const char *s, size_t n)
{
    char *d = ak_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *ak_strdup(const char *s)
{
    return s ? ak_strndup(s, strlen(s)) : NULL;
}

void *ak_memdup(const void *p, size_t n)
{
    void *d = ak_malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

int ak_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 8;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem)
            return -1;
        nc *= 2;
    }
    void *np = ak_realloc(*p, nc * elem);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

size_t ak_alloc_live(void) { return atomic_load(&live_bytes); }
size_t ak_alloc_peak(void) { return atomic_load(&peak_bytes); }
uint64_t ak_alloc_count(void) { return atomic_load(&n_allocs); }

void ak_alloc_fail_at(uint64_t nth)
{
    check_env();
    atomic_store(&fail_at, nth ? atomic_load(&n_allocs) + nth : 0);
}
