/* ak_alloc.h - the one allocator every module goes through.
 *
 * It counts live bytes (so memory shows in metrics and `state inspect`) and
 * can be told to fail the Nth allocation, which is how tests prove that an
 * allocation failure anywhere makes a run fail cleanly, losing nothing.
 * All functions are thread-safe.  ak_free(NULL) is a no-op.
 */
#ifndef AK_ALLOC_H
#define AK_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *ak_malloc(size_t n);
void *ak_calloc(size_t count, size_t size);
void *ak_realloc(void *p, size_t n);
void ak_free(void *p);
char *ak_strdup(const char *s);
char *ak_strndup(const char *s, size_t n);
void *ak_memdup(const void *p, size_t n);

/* Grow *p (an array of `elem` bytes each, capacity *cap) to hold at least
 * `need` elements, doubling.  Returns 0, or -1 leaving *p untouched. */
int ak_grow(void **p, size_t *cap, size_t need, size_t elem);
#define AK_GROW(arr, cap, need) ak_grow((void **)&(arr), &(cap), (need), sizeof *(arr))

/* Live bytes and high-water mark since start. */
size_t ak_alloc_live(void);
size_t ak_alloc_peak(void);

/* Fault injection: make the nth allocation from now fail (1 = next); 0 turns
 * it off.  AKILI_FAIL_ALLOC=N in the environment sets it at start-up. */
void ak_alloc_fail_at(uint64_t nth);
uint64_t ak_alloc_count(void);

#endif
