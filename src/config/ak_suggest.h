/* ak_suggest.h - "did you mean ...?" for misspelt names.
 *
 * Picks the known name nearest to a misspelt one by Damerau-Levenshtein
 * distance (optimal string alignment: insert, delete, substitute, swap two
 * neighbours), comparing case-insensitively and treating '-' like '_'.  A
 * candidate is only suggested when it is close enough to be a plausible typo
 * (distance at most 1 for words up to 6 characters, 2 up to 10, 3 beyond),
 * so "brokerz" suggests "brokers" but "x" suggests nothing.  Never allocates.
 */
#ifndef AK_SUGGEST_H
#define AK_SUGGEST_H

#include <stddef.h>

/* Words longer than this are never matched (the distance table is on the
 * stack). */
#define AK_SUGGEST_MAX 64

/* Distance between a[0..an) and b[0..bn); SIZE_MAX if either is longer than
 * AK_SUGGEST_MAX. */
size_t ak_edit_distance(const char *a, size_t an, const char *b, size_t bn);

/* Incremental form, for candidates that live in tables:
 *     ak_suggest_t s; ak_suggest_init(&s, word);
 *     for (...) ak_suggest_add(&s, name);
 *     const char *best = ak_suggest_result(&s);   NULL if none is close
 * The first of equally near candidates wins.  Pointers are borrowed. */
typedef struct ak_suggest {
    const char *word;
    const char *best;
    size_t best_dist;
} ak_suggest_t;

void ak_suggest_init(ak_suggest_t *s, const char *word);
void ak_suggest_add(ak_suggest_t *s, const char *candidate);
const char *ak_suggest_result(const ak_suggest_t *s);

/* One call over an array of names; NULL if none is close enough. */
const char *ak_suggest(const char *word, const char *const *candidates, size_t n);

#endif
