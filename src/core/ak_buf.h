/* ak_buf.h - a growable byte buffer (strings, serialised records, output).
 *
 * Appends never fail silently: after an allocation failure the buffer is
 * marked `oom` and further appends are ignored, so a writer can append many
 * pieces and check once at the end.  The content is always NUL-terminated
 * (the NUL is not counted in len) once anything was appended.
 */
#ifndef AK_BUF_H
#define AK_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ak_buf {
    char *data;
    size_t len;
    size_t cap;
    bool oom;
} ak_buf_t;

#define AK_BUF_INIT {NULL, 0, 0, false}

void ak_buf_free(ak_buf_t *b);
static inline void ak_buf_clear(ak_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}
/* Room for `extra` more bytes (and the NUL): 0, or -1 and the buffer oom.
 * The appends below are inline: serializing state and logs calls them per
 * field, and the call cost more than the copy. */
int ak__buf_grow(ak_buf_t *b, size_t extra);
static inline int ak_buf_reserve(ak_buf_t *b, size_t extra)
{
    return !b->oom && b->len + extra < b->cap ? 0 : ak__buf_grow(b, extra);
}
static inline void ak_buf_put(ak_buf_t *b, const void *p, size_t n)
{
    if (ak_buf_reserve(b, n))
        return;
    if (n)
        __builtin_memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}
static inline void ak_buf_putc(ak_buf_t *b, char c)
{
    if (ak_buf_reserve(b, 1))
        return;
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}
void ak_buf_puts(ak_buf_t *b, const char *s);
void ak_buf_printf(ak_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ak_buf_vprintf(ak_buf_t *b, const char *fmt, va_list ap);
/* Little-endian fixed-width and LEB128 varints, for binary formats. */
void ak_buf_put_u32le(ak_buf_t *b, uint32_t v);
void ak_buf_put_u64le(ak_buf_t *b, uint64_t v);
static inline void ak_buf_put_uvarint(ak_buf_t *b, uint64_t v)
{
    if (ak_buf_reserve(b, 10))
        return;
    uint8_t *p = (uint8_t *)b->data + b->len;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    b->len = (size_t)((char *)p - b->data);
    b->data[b->len] = '\0';
}
static inline void ak_buf_put_svarint(ak_buf_t *b, int64_t v)
{
    ak_buf_put_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}
/* JSON string literal with quotes and escapes. */
void ak_buf_put_json_str(ak_buf_t *b, const char *s, size_t n);
/* Appends text (NULL: nothing) line by line, each line prefixed by indent
 * and ended by a newline. */
void ak_buf_put_indented(ak_buf_t *b, const char *text, const char *indent);
/* Hands the bytes to the caller (who ak_free()s them); the buffer is reset. */
char *ak_buf_steal(ak_buf_t *b);

/* Fixed-width little-endian integers in place (file headers, frames). */
static inline void ak_le_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void ak_le_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t ak_le_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ak_le_get64(const uint8_t *p) { return ak_le_get32(p) | (uint64_t)ak_le_get32(p + 4) << 32; }

/* Writing a LEB128 varint into p (room for AK_UVARINT_MAX bytes); returns
 * the bytes written. */
#define AK_UVARINT_MAX 10
size_t ak_put_uvarint(uint8_t *p, uint64_t v);
/* Reading LEB128 varints; return bytes consumed or 0 on truncated input. */
size_t ak_get_uvarint(const uint8_t *p, size_t n, uint64_t *out);
size_t ak_get_svarint(const uint8_t *p, size_t n, int64_t *out);

#endif
