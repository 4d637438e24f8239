/* ak_suggest.c - nearest known name by Damerau-Levenshtein distance. */
#include "ak_suggest.h"

#include <stdint.h>
#include <string.h>

static unsigned char fold(char c)
{
    unsigned char u = (unsigned char)c;
    if (u >= 'A' && u <= 'Z')
        return (unsigned char)(u - 'A' + 'a');
    return u == '-' ? '_' : u;
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

size_t ak_edit_distance(const char *a, size_t an, const char *b, size_t bn)
{
    if (an > AK_SUGGEST_MAX || bn > AK_SUGGEST_MAX)
        return SIZE_MAX;
    /* three rows of the optimal-string-alignment table: i-2, i-1, i */
    size_t rows[3][AK_SUGGEST_MAX + 1];
    size_t *pp = rows[0], *p = rows[1], *c = rows[2];
    for (size_t j = 0; j <= bn; j++)
        p[j] = j;
    for (size_t i = 1; i <= an; i++) {
        c[0] = i;
        for (size_t j = 1; j <= bn; j++) {
            size_t cost = fold(a[i - 1]) == fold(b[j - 1]) ? 0 : 1;
            c[j] = min3(p[j] + 1, c[j - 1] + 1, p[j - 1] + cost);
            if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) &&
                fold(a[i - 2]) == fold(b[j - 1]) && pp[j - 2] + 1 < c[j])
                c[j] = pp[j - 2] + 1;
        }
        size_t *t = pp;
        pp = p;
        p = c;
        c = t;
    }
    return p[bn];
}

/* How far a typo may stray from the word it was meant to be. */
static size_t allowed(size_t len)
{
    if (len <= 6)
        return 1;
    if (len <= 10)
        return 2;
    return 3;
}

void ak_suggest_init(ak_suggest_t *s, const char *word)
{
    s->word = word;
    s->best = NULL;
    s->best_dist = SIZE_MAX;
}

void ak_suggest_add(ak_suggest_t *s, const char *candidate)
{
    if (!s->word || !candidate)
        return;
    size_t wn = strlen(s->word), cn = strlen(candidate);
    size_t d = ak_edit_distance(s->word, wn, candidate, cn);
    if (d == SIZE_MAX || d > allowed(wn > cn ? wn : cn) || d >= cn || d >= s->best_dist)
        return;
    s->best = candidate;
    s->best_dist = d;
}

const char *ak_suggest_result(const ak_suggest_t *s) { return s->best; }

const char *ak_suggest(const char *word, const char *const *candidates, size_t n)
{
    ak_suggest_t s;
    ak_suggest_init(&s, word);
    for (size_t i = 0; i < n; i++)
        ak_suggest_add(&s, candidates[i]);
    return ak_suggest_result(&s);
}
