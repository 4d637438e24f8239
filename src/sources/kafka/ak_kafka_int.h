/* ak_kafka_int.h - pieces of the Kafka connector shared by its files
 * (internal to src/sources/kafka).
 *
 * A position is, per partition of the input's topic, the next offset to
 * hand out, as compact JSON:
 *
 *     {"topic":"clickstream","offsets":{"0":1834,"1":0,"2":977,"3":1202}}
 *
 * A partition missing from it has not been read yet (it starts where the
 * input's `start` option says).  The same offsets are what ops->commit
 * commits to the consumer group, so the group's lag is akili's.
 */
#ifndef AK_KAFKA_INT_H
#define AK_KAFKA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_buf.h"
#include "ak_error.h"
#include "ak_record.h"

#include "ak_json_decode.h"

/* Offsets by partition id: off[p] is the next offset of partition p, or
 * -1 when the position does not name p. */
typedef struct ak_kpos {
    char *topic;
    int64_t *off;
    int32_t n;
} ak_kpos_t;

/* Parses a position text.  AK_E_CORRUPT naming the text when it is not one. */
int ak__kpos_parse(const char *text, ak_kpos_t *out, ak_err_t *err);
void ak__kpos_free(ak_kpos_t *p);
/* Appends the position of `n` partitions (off[i] < 0 left out). */
void ak__kpos_write(ak_buf_t *b, const char *topic, const int64_t *off, int32_t n);

/* The DELETE a tombstone's key stands for, appended to `out` with position
 * `pos`: the key is a JSON object of key columns (optionally in a Connect
 * schema/payload wrapper) or, for a single-column primary key, a bare JSON
 * string or number or raw text.  `scratch` is reused between calls.  1: a
 * record appended; -1: the key does not give every key column (err says
 * why; AK_E_NOMEM is not the key's fault). */
int ak__kafka_key_delete(ak_json_decoder_t *jd, const ak_schema_t *schema, const char *key, size_t n, uint64_t pos,
                         ak_buf_t *scratch, ak_batch_t *out, ak_err_t *err);

#endif
