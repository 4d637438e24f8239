/* ak_convert.h - text to typed values, the one set of rules every decoder uses.
 *
 * NDJSON strings, CSV fields and (later) manifest literals are converted to a
 * column's type here, with DuckDB-like rules:
 *
 *   VARCHAR    the bytes as they are (must be valid UTF-8); never copied.
 *   BIGINT     optional sign and decimal digits, surrounding ASCII whitespace
 *              allowed.  A decimal or exponent form is accepted only when its
 *              value is exactly integral ("1.0", "1e3", "2.50e1" -> 25;
 *              "1.5" is an error, never rounded).  Overflow is an error.
 *   DOUBLE     decimal with optional fraction and exponent (".5", "5.",
 *              "1e-3"), or inf / infinity / nan in any case with an optional
 *              sign.  No hex floats.  A finite literal that overflows to
 *              infinity is an error; underflow goes to 0 or a subnormal.
 *              Literals of 1024 characters or more are refused (RANGE).
 *   FLOAT      as DOUBLE, then rounded to float32; overflow of float32 is an
 *              error.
 *   BOOLEAN    true/false/t/f/1/0/yes/no, case-insensitive, whitespace ok.
 *   DATE       ak_date_parse (a full timestamp is accepted, its date taken).
 *   TIMESTAMP  ak_ts_parse, with a fast path for `YYYY-MM-DDTHH:MM:SS.mmmZ`.
 *   INTERVAL   not readable from data (an error naming the column).
 *
 * Nothing here allocates.  Number parsing does not depend on the C locale.
 */
#ifndef AK_CONVERT_H
#define AK_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_error.h"
#include "ak_record.h"
#include "ak_value.h"

/* Result of the low-level parsers below. */
enum {
    AK_CONV_OK = 0,
    AK_CONV_SYNTAX = -1,   /* not a number / boolean / time at all */
    AK_CONV_FRACTION = -2, /* a number, but not an integer (BIGINT only) */
    AK_CONV_RANGE = -3,    /* a number outside the type's range */
};

/* Low-level parsers: s[0..n) need not be NUL-terminated.  Return AK_CONV_*. */
int ak_conv_int64(const char *s, size_t n, int64_t *out);
int ak_conv_double(const char *s, size_t n, double *out);
int ak_conv_bool(const char *s, size_t n, bool *out);
/* ak_ts_parse with a fast path for the exact shape YYYY-MM-DDTHH:MM:SS.mmmZ
 * (no surrounding whitespace); 0 or -1 like ak_ts_parse. */
int ak_ts_parse_fast(const char *s, size_t n, int64_t *us);

/* True if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, nothing
 * above U+10FFFF). */
bool ak_utf8_valid(const char *s, size_t n);

/* Converts s[0..n) to type t without a message; AK_CONV_*.  A TEXT result
 * points at s. */
int ak_convert_text(ak_type_t t, const char *s, size_t n, ak_val_t *out);

/* The same, for column `col`; on failure err says which column, which text
 * and why: "column `event_time`: cannot read `2026-13-01` as TIMESTAMP".
 * Codes: AK_E_TYPE (cannot be read as the type) or AK_E_RANGE (overflow). */
int ak_convert(const ak_column_t *col, const char *s, size_t n, ak_val_t *out, ak_err_t *err);

/* Fills err for a failed conversion result `rc` (AK_CONV_*) of text s[0..n)
 * into column col; returns -1. */
int ak_convert_fail(const ak_column_t *col, int rc, const char *s, size_t n, ak_err_t *err);

/* Writes s[0..n) into out (cap bytes, NUL-terminated) for an error message:
 * at most ~60 bytes of it, "..." if cut, control and non-ASCII bytes of
 * broken UTF-8 as \xNN.  Returns out. */
char *ak_quote_for_msg(char *out, size_t cap, const char *s, size_t n);

#endif
