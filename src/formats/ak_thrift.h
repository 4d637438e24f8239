/* ak_thrift.h - the Thrift compact protocol, as Parquet metadata uses it.
 *
 * Writer: appends to an ak_buf_t (whose `oom` flag reports allocation
 * failure once, at the end).  Field headers carry the id as a delta from the
 * previous field of the same struct when it fits in 4 bits, else the full
 * zigzag id; integers are zigzag varints, binaries a varint length and the
 * bytes, booleans live in the field header (a byte in lists).
 *
 * Reader: a cursor over bytes that are not trusted.  Every read is bounded
 * by the end of the input, varints by their width, nesting by
 * AK_THRIFT_MAX_DEPTH and list sizes by the bytes left (every element takes
 * at least one byte), so a truncated or hostile input is an error (-1, with
 * a short reason in `why`), never an over-read.  Callers switch on the field
 * id, read the fields they know with the expected type and ak_tr_skip()
 * everything else, as generated Thrift code does.
 */
#ifndef AK_THRIFT_H
#define AK_THRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_buf.h"

enum {
    AK_TT_STOP = 0,
    AK_TT_TRUE = 1, /* a boolean field whose value is true; the bool type in lists */
    AK_TT_FALSE = 2,
    AK_TT_BYTE = 3,
    AK_TT_I16 = 4,
    AK_TT_I32 = 5,
    AK_TT_I64 = 6,
    AK_TT_DOUBLE = 7,
    AK_TT_BINARY = 8,
    AK_TT_LIST = 9,
    AK_TT_SET = 10,
    AK_TT_MAP = 11,
    AK_TT_STRUCT = 12,
};

#define AK_THRIFT_MAX_DEPTH 32

/* ---- writer ---- */

typedef struct ak_tw {
    ak_buf_t *b;
    int16_t last[AK_THRIFT_MAX_DEPTH]; /* previous field id per open struct */
    int depth;                         /* 0: the top-level struct */
} ak_tw_t;

void ak_tw_init(ak_tw_t *w, ak_buf_t *b);
/* A field header; the value follows (ak_tw_put_* or a struct/list). */
void ak_tw_field(ak_tw_t *w, int16_t id, uint8_t type);
/* A field and its value. */
void ak_tw_i32(ak_tw_t *w, int16_t id, int32_t v);
void ak_tw_i64(ak_tw_t *w, int16_t id, int64_t v);
void ak_tw_bool(ak_tw_t *w, int16_t id, bool v);
void ak_tw_binary(ak_tw_t *w, int16_t id, const void *p, size_t n);
void ak_tw_string(ak_tw_t *w, int16_t id, const char *s);
/* A struct-valued field (id >= 0) or a struct element of a list (id < 0);
 * its fields follow, then ak_tw_struct_end. */
void ak_tw_struct_begin(ak_tw_t *w, int16_t id);
/* Writes the stop byte of the innermost open struct (at depth 0: of the
 * top-level struct, which ends the message). */
void ak_tw_struct_end(ak_tw_t *w);
/* A list-valued field: header, then n elements written with the bare
 * writers below (or ak_tw_struct_begin(w, -1) ... end). */
void ak_tw_list_begin(ak_tw_t *w, int16_t id, uint8_t elem_type, uint32_t n);
void ak_tw_put_i32(ak_tw_t *w, int32_t v);
void ak_tw_put_i64(ak_tw_t *w, int64_t v);
void ak_tw_put_binary(ak_tw_t *w, const void *p, size_t n);

/* ---- reader ---- */

typedef struct ak_tr {
    const uint8_t *p, *end;
    int16_t last[AK_THRIFT_MAX_DEPTH];
    int depth;
    const char *why; /* the first failure, for messages */
} ak_tr_t;

void ak_tr_init(ak_tr_t *r, const void *p, size_t n);
/* The next field of the innermost struct: 1 with its id and type; 0 at the
 * struct's stop (which closes it); -1 on corrupt input. */
int ak_tr_field(ak_tr_t *r, int16_t *id, uint8_t *type);
/* Enters a struct-valued field (or list element); its fields follow. */
int ak_tr_struct_begin(ak_tr_t *r);
/* Values of a field of the given type; 0 or -1 (wrong type, truncated,
 * out of range). */
int ak_tr_i32(ak_tr_t *r, uint8_t type, int32_t *v);
int ak_tr_i64(ak_tr_t *r, uint8_t type, int64_t *v);
int ak_tr_bool(ak_tr_t *r, uint8_t type, bool *v); /* a field (value in its type) */
int ak_tr_bool_elem(ak_tr_t *r, bool *v);           /* a list element (a byte) */
int ak_tr_binary(ak_tr_t *r, uint8_t type, const uint8_t **p, size_t *n);
/* A list (or set) header: element type and count. */
int ak_tr_list(ak_tr_t *r, uint8_t type, uint8_t *elem_type, uint32_t *n);
/* Skips a value of the given type, nested ones included. */
int ak_tr_skip(ak_tr_t *r, uint8_t type);
/* Bytes consumed so far. */
static inline size_t ak_tr_pos(const ak_tr_t *r, const void *start) { return (size_t)(r->p - (const uint8_t *)start); }

#endif
