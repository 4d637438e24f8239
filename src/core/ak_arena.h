/* ak_arena.h - bump allocation for data that dies together.
 *
 * Record strings of a batch, AST nodes of a statement, rows of a query result:
 * allocated in many small pieces, freed in one call.  Not thread-safe; one
 * owner at a time.  Memory is never returned before ak_arena_reset/free.
 */
#ifndef AK_ARENA_H
#define AK_ARENA_H

#include <stddef.h>

typedef struct ak_arena_chunk ak_arena_chunk_t;

typedef struct ak_arena {
    ak_arena_chunk_t *head;  /* current chunk (newest first) */
    ak_arena_chunk_t *spare; /* standard-size chunks kept by reset, for reuse */
    size_t chunk_size;       /* default size of new chunks */
    size_t used;             /* bytes handed out, for metrics */
    size_t reserved;         /* bytes held in chunks */
} ak_arena_t;

void ak_arena_init(ak_arena_t *a, size_t chunk_size);
/* Frees every chunk; the arena is empty and reusable afterwards. */
void ak_arena_free(ak_arena_t *a);
/* Empties the arena but keeps its standard-size chunks for reuse (so a batch
 * loop does not hand memory back and fault it in again); big chunks are freed. */
void ak_arena_reset(ak_arena_t *a);

/* 8-byte aligned; NULL on allocation failure.  n == 0 returns a valid pointer. */
void *ak_arena_alloc(ak_arena_t *a, size_t n);
void *ak_arena_zalloc(ak_arena_t *a, size_t n);
/* Unaligned, for string bytes. */
void *ak_arena_alloc_bytes(ak_arena_t *a, size_t n);
/* Copy of s[0..n) with a trailing NUL (not counted in n). */
char *ak_arena_strndup(ak_arena_t *a, const char *s, size_t n);
char *ak_arena_strdup(ak_arena_t *a, const char *s);
char *ak_arena_sprintf(ak_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
