/* ak_buf.c - growable byte buffer. */
#include "ak_buf.h"

#include "ak_alloc.h"

#include <stdio.h>
#include <string.h>

void ak_buf_free(ak_buf_t *b)
{
    ak_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

int ak__buf_grow(ak_buf_t *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t nc = b->cap ? b->cap : 64;
    while (nc < b->len + extra + 1) {
        if (nc > SIZE_MAX / 2) {
            b->oom = true;
            return -1;
        }
        nc *= 2;
    }
    char *nd = ak_realloc(b->data, nc);
    if (!nd) {
        b->oom = true;
        return -1;
    }
    b->data = nd;
    b->cap = nc;
    return 0;
}

void ak_buf_puts(ak_buf_t *b, const char *s) { ak_buf_put(b, s, strlen(s)); }

void ak_buf_vprintf(ak_buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof tmp) {
        ak_buf_put(b, tmp, (size_t)n);
    } else if (!ak_buf_reserve(b, (size_t)n)) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void ak_buf_printf(ak_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ak_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void ak_buf_put_u32le(ak_buf_t *b, uint32_t v)
{
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    ak_buf_put(b, t, 4);
}

void ak_buf_put_u64le(ak_buf_t *b, uint64_t v)
{
    uint8_t t[8];
    for (int i = 0; i < 8; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    ak_buf_put(b, t, 8);
}

size_t ak_put_uvarint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t ak_get_uvarint(const uint8_t *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

size_t ak_get_svarint(const uint8_t *p, size_t n, int64_t *out)
{
    uint64_t u;
    size_t k = ak_get_uvarint(p, n, &u);
    if (k)
        *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return k;
}

void ak_buf_put_indented(ak_buf_t *b, const char *text, const char *indent)
{
    for (const char *p = text ? text : ""; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        ak_buf_printf(b, "%s%.*s\n", indent, (int)len, p);
        p += len + (e ? 1 : 0);
    }
}

void ak_buf_put_json_str(ak_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    ak_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        ak_buf_put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': ak_buf_put(b, "\\\"", 2); break;
        case '\\': ak_buf_put(b, "\\\\", 2); break;
        case '\n': ak_buf_put(b, "\\n", 2); break;
        case '\r': ak_buf_put(b, "\\r", 2); break;
        case '\t': ak_buf_put(b, "\\t", 2); break;
        case '\b': ak_buf_put(b, "\\b", 2); break;
        case '\f': ak_buf_put(b, "\\f", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            ak_buf_put(b, u, 6);
        }
        }
    }
    ak_buf_put(b, s + run, n - run);
    ak_buf_putc(b, '"');
}

char *ak_buf_steal(ak_buf_t *b)
{
    char *d = b->data;
    if (!d)
        d = ak_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}
