/* ak_record.h - schemas and batches of change records.
 *
 * Sources decode their bytes into change records typed by the input's schema
 * (the manifest's `columns`).  A record is an UPSERT (a new row; for a keyed
 * input it replaces the row with the same primary key) or a DELETE (removes
 * the row with that key, or for a keyless input one row equal to the
 * record's present columns).  Debezium updates become DELETE(before) +
 * UPSERT(after) on keyless inputs and UPSERT(after) on keyed ones.
 *
 * A batch owns its records' values and strings (one arena) and frees them in
 * one call.  Not thread-safe.
 */
#ifndef AK_RECORD_H
#define AK_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_arena.h"
#include "ak_value.h"

#define AK_MAX_COLUMNS 64

typedef struct ak_column {
    char *name;
    ak_type_t type;
    bool required;  /* missing or NULL -> dead letter */
    bool key;       /* part of the primary key */
} ak_column_t;

typedef struct ak_schema {
    int n;
    ak_column_t *cols;  /* owned: ak_schema_free releases names and array */
} ak_schema_t;

void ak_schema_free(ak_schema_t *s);
int ak_schema_find(const ak_schema_t *s, const char *name, size_t len); /* -1 if absent */
int ak_schema_add(ak_schema_t *s, const char *name, ak_type_t t, bool required, bool key);
bool ak_schema_keyed(const ak_schema_t *s);
int ak_schema_copy(ak_schema_t *dst, const ak_schema_t *src);

typedef enum ak_op {
    AK_OP_UPSERT = 1,
    AK_OP_DELETE = 2,
    AK_OP_TRUNCATE = 3,  /* removes every row of the input */
} ak_op_t;

#define AK_REC_CDC 0x01  /* from a CDC event (Debezium envelope): applies in log order, no cursor rule */
#define AK_REC_MERGE 0x02 /* an UPSERT carrying only some columns: on a keyed input, a column whose
                             `present` bit is clear keeps the stored row's value (a TOASTed value a
                             PostgreSQL update left unchanged); NULL if the key is new */

typedef struct ak_rec {
    uint8_t op;          /* ak_op_t */
    uint8_t flags;       /* AK_REC_* */
    uint64_t present;    /* bit i set: column i was present in the source record */
    uint64_t pos;        /* source position of the record (file offset, ...) */
    int64_t ts_ms;       /* Debezium ts_ms, or 0 */
    ak_val_t *v;         /* schema->n values, in the batch's arena */
} ak_rec_t;

typedef struct ak_batch {
    const ak_schema_t *schema;  /* borrowed */
    ak_rec_t *recs;
    size_t n, cap;
    ak_arena_t arena;           /* values and strings of every record */
} ak_batch_t;

void ak_batch_init(ak_batch_t *b, const ak_schema_t *schema);
void ak_batch_free(ak_batch_t *b);
void ak_batch_clear(ak_batch_t *b);
/* Appends a record with all values NULL and present == 0; NULL on OOM. */
ak_rec_t *ak_batch_add(ak_batch_t *b, ak_op_t op, uint64_t pos);
/* Drops the last record (a decoder that failed half-way). */
void ak_batch_pop(ak_batch_t *b);

#endif
