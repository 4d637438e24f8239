/* ak_out.h - how results look on the terminal and in files.
 *
 *   table  aligned columns for people; NULL shows as NULL
 *   csv    RFC 4180: header row, CRLF line ends, fields quoted when they hold
 *          a comma, quote, CR or LF (quotes doubled); NULL is an empty
 *          unquoted field, the empty string is ""
 *   json   one object per line; NULL is null; numbers bare (doubles in
 *          shortest form); timestamps ISO-8601 UTC strings
 */
#ifndef AK_OUT_H
#define AK_OUT_H

#include <stdio.h>

#include "ak_sql.h"

typedef enum ak_fmt { AK_FMT_TABLE, AK_FMT_CSV, AK_FMT_JSON } ak_fmt_t;

int ak_out_format(const char *s, ak_fmt_t *out);  /* -1 if unknown */
void ak_out_rel(FILE *f, const ak_rel_t *rel, ak_fmt_t fmt);

/* A simple text grid for listings: cells are NUL-terminated strings. */
typedef struct ak_grid {
    int ncols;
    const char **head;
    char **cells;   /* rows * ncols, owned */
    size_t nrows, cap;
} ak_grid_t;

void ak_grid_init(ak_grid_t *g, int ncols, const char **head);
void ak_grid_add(ak_grid_t *g, ...);  /* ncols const char* values (NULL shows as "-") */
void ak_grid_print(FILE *f, const ak_grid_t *g);
void ak_grid_free(ak_grid_t *g);

/* "2026-11-18 10:05:00Z" style for listings; "-" for 0. */
const char *ak_out_time(int64_t us, char *buf, size_t cap);

#endif
