/* ak_json_decode.h - NDJSON lines (plain rows or Debezium envelopes) to
 * typed change records.
 *
 * One line is one JSON object.  The decoder extracts only the schema's
 * columns, in one pass, without building a DOM; every other key is skipped
 * (checked for JSON syntax, not for content).  The format is detected per
 * record:
 *
 *   Debezium envelope  an object with `op` one of "c","r","u","d","t" and a
 *                      `before` and/or `after` key whose value is an object
 *                      or null (neither may be anything else).
 *   Connect wrapper    {"schema": ..., "payload": {...}} (both keys; no valid
 *                      envelope at the top): the payload is an envelope or a
 *                      plain row.  The schema's field `name`s give epoch units
 *                      for numbers in TIMESTAMP/DATE columns.
 *   plain row          any other object: one UPSERT of its top-level keys.
 *
 * Envelope semantics: c/r -> UPSERT(after); u -> keyed schema: UPSERT(after),
 * preceded by DELETE(before) when `before` holds every key column (non-NULL)
 * and they differ from `after`'s; keyless schema: DELETE(before) +
 * UPSERT(after), an error without a `before` object; d -> DELETE(before) (a
 * keyed schema needs the key columns in it); t -> TRUNCATE.  The envelope's
 * top-level `ts_ms` goes to every record's ts_ms, and every record from an
 * envelope has AK_REC_CDC in rec->flags (plain rows: 0).  Keys of the
 * envelope itself (`source`, ...) are not columns.
 *
 * Values: a key present sets its bit in rec->present; a missing key is NULL
 * with the bit clear; JSON null is NULL with the bit set.  Strings convert as
 * in ak_convert.h; numbers go to numeric columns (an integral number for
 * BIGINT: 1.0 and 1e3 are accepted, 1.5 is an error), to VARCHAR as their
 * literal text, to TIMESTAMP as epoch values (unit from the Connect schema
 * when it names one, else by magnitude: |v| < 1e11 seconds, < 1e14 ms,
 * < 1e17 us, else ns; sub-microsecond parts are floored), to DATE as days
 * (or, with a Connect timestamp unit, the day of that instant); true/false
 * go to BOOLEAN (0/1 numbers too) or VARCHAR as "true"/"false"; objects and
 * arrays go to VARCHAR as their raw JSON text, to other types never.
 * Extracted text must be valid UTF-8; \uXXXX escapes, surrogate pairs
 * included, become UTF-8 and an unpaired surrogate is an error.  Duplicate
 * keys: the last one wins.  Required columns (column.required) must be
 * present and non-NULL in every UPSERT.
 *
 * Not thread-safe: one decoder per thread.  The decoder borrows the schema,
 * which must outlive it and be the schema of every batch passed in.
 */
#ifndef AK_JSON_DECODE_H
#define AK_JSON_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_error.h"
#include "ak_record.h"

typedef struct ak_json_decoder ak_json_decoder_t;

/* Creates a decoder for `schema` (borrowed).  0, or -1 with err (NOMEM; USAGE
 * for a column without a type or a column named twice). */
int ak_json_decoder_new(const ak_schema_t *schema, ak_json_decoder_t **out, ak_err_t *err);
/* NULL is a no-op. */
void ak_json_decoder_free(ak_json_decoder_t *d);

/* Borrow mode (off by default): TEXT values that appear verbatim in the line
 * point into the caller's line instead of being copied into the batch arena.
 * Only for callers whose line bytes stay alive and unchanged until the batch
 * is cleared (an mmap'd file); escaped strings are always copied. */
void ak_json_decoder_set_borrow(ak_json_decoder_t *d, bool borrow);

/* Decodes line[0..n) (no trailing newline; a trailing \r is whitespace),
 * found at source position `pos`, appending its records to `batch`.
 *   1  one or more records appended (every record gets rec->pos = pos);
 *   0  nothing to decode: an empty or whitespace-only line, the literal
 *      `null`, or a Connect wrapper whose payload is null (tombstones);
 *  -1  the record is bad (lines over 4 GiB included): err->msg says why
 *      (with the byte offset for syntax errors) and the batch holds the same
 *      records as before (its arena may have grown).  err->code is PARSE
 *      (not JSON), TYPE / RANGE (a value does not fit its column, a
 *      required field is missing), CORRUPT or CONFIG (an envelope that cannot
 *      be applied): send the line to the dead-letter table.  NOMEM means
 *      memory ran out and the line may be fine: do not dead-letter it.
 * Strings are copied into the batch's arena (unless in borrow mode), so the
 * caller may reuse the line buffer as soon as this returns. */
int ak_json_decode(ak_json_decoder_t *d, const char *line, size_t n, uint64_t pos, ak_batch_t *batch,
                   ak_err_t *err);

#endif
