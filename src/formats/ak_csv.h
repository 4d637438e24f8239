/* ak_csv.h - RFC 4180 CSV records to typed change records (plain rows).
 *
 * Framing: a record ends at a LF outside quotes (CRLF and LF both work; the
 * CR is dropped; a lone CR is data).  A field is quoted only if it starts
 * with `"`; inside quotes commas, line breaks and doubled quotes ("") are
 * data.  A quote anywhere else in an unquoted field is an error, as is
 * anything but `,` or the record's end after a closing quote.
 *
 * Values: an empty unquoted field is NULL; `""` is the empty string; other
 * fields convert to their column's type as in ak_convert.h (VARCHAR keeps
 * the bytes, spaces included).  The header names the fields: header fields
 * that are not schema columns are ignored, schema columns missing from the
 * header are NULL and not present; every mapped column is present in every
 * record, NULL or not.  Names match exactly, else case-insensitively when
 * that is unambiguous.  A blank record (only its terminator) is skipped.
 *
 * Not thread-safe: one decoder per thread.  The decoder borrows the schema,
 * which must outlive it and be the schema of every batch passed in.
 */
#ifndef AK_CSV_H
#define AK_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_error.h"
#include "ak_record.h"

typedef struct ak_csv_decoder ak_csv_decoder_t;

/* Length of the record at p[0..n), terminator (LF or CRLF) included.  0 if
 * the record is incomplete and !at_eof (read more and call again); at EOF a
 * final record without terminator (even one with an open quote, which
 * decoding then rejects) is complete and its length is n.  0 for n == 0. */
size_t ak_csv_record_len(const char *p, size_t n, bool at_eof);

/* Maps the header record header[0..len) (terminator optional, a UTF-8 BOM
 * is skipped) to the schema's columns.  0, or -1 with err: PARSE for a
 * malformed header, CONFIG for a required column missing from the header or
 * a column named twice in it, USAGE for a schema column without a type or
 * named twice, NOMEM. */
int ak_csv_decoder_new(const ak_schema_t *schema, const char *header, size_t len, ak_csv_decoder_t **out,
                       ak_err_t *err);
/* NULL is a no-op. */
void ak_csv_decoder_free(ak_csv_decoder_t *d);

/* Number of fields the header has (every record must have as many). */
int ak_csv_field_count(const ak_csv_decoder_t *d);

/* Decodes one record rec[0..len) (as ak_csv_record_len framed it; the
 * terminator is optional) at source position `pos` into one UPSERT.
 * 1 appended, 0 a blank record (skipped), -1 a bad record: err says why
 * ("expected 8 fields, got 7", "column `x`: cannot read ...") and the batch
 * holds the same records as before; err->code NOMEM means memory ran out and
 * the record may be fine (do not dead-letter it).  Strings are copied into
 * the batch's arena: the caller may reuse rec as soon as this returns. */
int ak_csv_decode(ak_csv_decoder_t *d, const char *rec, size_t len, uint64_t pos, ak_batch_t *batch, ak_err_t *err);

#endif
