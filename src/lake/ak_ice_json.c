/* ak_ice_json.c - a small JSON reader for Iceberg metadata files.
 *
 * Metadata may come from another writer or be damaged, so every read is
 * bounded by the input's end, nesting is capped and numbers keep their text
 * (snapshot ids are 64-bit: no detour through double).  Everything lives in
 * the caller's arena.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ak_alloc.h"
#include "ak_ice_int.h"

#define J_MAX_DEPTH 64

typedef struct {
    ak_arena_t *ar;
    const char *s, *p, *e;
    ak_err_t *err;
} jctx_t;

static int jfail(jctx_t *c, const char *what)
{
    return ak_errf(c->err, AK_E_CORRUPT, "invalid JSON at byte %zu: %s", (size_t)(c->p - c->s), what);
}

static void ws(jctx_t *c)
{
    while (c->p < c->e && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

static int hex4(const char *p, const char *e, unsigned *out)
{
    if (e - p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = p[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : (ch | 0x20) >= 'a' && (ch | 0x20) <= 'f' ? (ch | 0x20) - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

static void put_utf8(char *o, size_t *k, unsigned cp)
{
    if (cp < 0x80) {
        o[(*k)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*k)++] = (char)(0xC0 | cp >> 6);
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        o[(*k)++] = (char)(0xE0 | cp >> 12);
        o[(*k)++] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        o[(*k)++] = (char)(0xF0 | cp >> 18);
        o[(*k)++] = (char)(0x80 | (cp >> 12 & 0x3F));
        o[(*k)++] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* At an opening quote: the unescaped string. */
static int jstr(jctx_t *c, const char **out, size_t *len)
{
    const char *q = ++c->p;
    while (q < c->e && *q != '"') {
        if (*q == '\\')
            q++;
        q++;
    }
    if (q >= c->e)
        return jfail(c, "unterminated string");
    /* an escape never expands: the raw length bounds the output */
    char *o = ak_arena_alloc_bytes(c->ar, (size_t)(q - c->p) + 1);
    if (!o)
        return ak_err_nomem(c->err);
    size_t k = 0;
    while (c->p < q) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20)
            return jfail(c, "control character in string");
        if (ch != '\\') {
            o[k++] = (char)ch;
            c->p++;
            continue;
        }
        char x = c->p[1];
        c->p += 2;
        switch (x) {
        case '"': o[k++] = '"'; break;
        case '\\': o[k++] = '\\'; break;
        case '/': o[k++] = '/'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(c->p, q, &cp))
                return jfail(c, "bad \\u escape");
            c->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (q - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' || hex4(c->p + 2, q, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    return jfail(c, "unpaired surrogate");
                c->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                return jfail(c, "unpaired surrogate");
            }
            put_utf8(o, &k, cp);
            break;
        }
        default:
            return jfail(c, "bad escape");
        }
    }
    o[k] = '\0';
    c->p = q + 1;
    *out = o;
    *len = k;
    return 0;
}

static int jval(jctx_t *c, ak_jv_t *v, int depth);

static int jcomposite(jctx_t *c, ak_jv_t *v, int depth, bool obj)
{
    if (depth >= J_MAX_DEPTH)
        return jfail(c, "nesting too deep");
    char close = obj ? '}' : ']';
    c->p++;
    size_t cap = 0, kcap = 0;
    v->type = obj ? AK_J_OBJ : AK_J_ARR;
    ak_jv_t *items = NULL;
    const char **keys = NULL;
    int rc = 0;
    ws(c);
    if (c->p < c->e && *c->p == close) {
        c->p++;
        return 0;
    }
    for (;;) {
        ws(c);
        if ((v->n == cap && AK_GROW(items, cap, v->n + 1)) || (obj && v->n == kcap && AK_GROW(keys, kcap, v->n + 1))) {
            rc = ak_err_nomem(c->err);
            break;
        }
        memset(&items[v->n], 0, sizeof items[v->n]);
        if (obj) {
            size_t kl;
            if (c->p >= c->e || *c->p != '"') {
                rc = jfail(c, "expected a key");
                break;
            }
            if ((rc = jstr(c, &keys[v->n], &kl)))
                break;
            ws(c);
            if (c->p >= c->e || *c->p != ':') {
                rc = jfail(c, "expected `:`");
                break;
            }
            c->p++;
            ws(c);
        }
        if ((rc = jval(c, &items[v->n], depth + 1)))
            break;
        v->n++;
        ws(c);
        if (c->p < c->e && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->e && *c->p == close) {
            c->p++;
            break;
        }
        rc = jfail(c, obj ? "expected `,` or `}`" : "expected `,` or `]`");
        break;
    }
    if (!rc && v->n) {
        /* move into the arena so the caller frees one thing */
        v->items = ak_arena_alloc(c->ar, v->n * sizeof *items);
        if (!v->items)
            rc = ak_err_nomem(c->err);
        else
            memcpy(v->items, items, v->n * sizeof *items);
        if (!rc && obj) {
            v->keys = ak_arena_alloc(c->ar, v->n * sizeof *keys);
            if (!v->keys)
                rc = ak_err_nomem(c->err);
            else
                memcpy(v->keys, keys, v->n * sizeof *keys);
        }
    }
    ak_free(items);
    ak_free(keys);
    return rc;
}

static int jval(jctx_t *c, ak_jv_t *v, int depth)
{
    ws(c);
    if (c->p >= c->e)
        return jfail(c, "unexpected end");
    char ch = *c->p;
    if (ch == '{' || ch == '[')
        return jcomposite(c, v, depth, ch == '{');
    if (ch == '"') {
        v->type = AK_J_STR;
        return jstr(c, &v->s, &v->n);
    }
    static const struct { const char *w; ak_jtype_t t; bool b; } lits[] = {
        {"null", AK_J_NULL, false}, {"true", AK_J_BOOL, true}, {"false", AK_J_BOOL, false}};
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(lits[i].w);
        if ((size_t)(c->e - c->p) >= l && memcmp(c->p, lits[i].w, l) == 0) {
            v->type = lits[i].t;
            v->b = lits[i].b;
            c->p += l;
            return 0;
        }
    }
    const char *s = c->p;
    if (c->p < c->e && *c->p == '-')
        c->p++;
    size_t digits = 0;
    while (c->p < c->e && ((*c->p >= '0' && *c->p <= '9') || *c->p == '.' || *c->p == 'e' || *c->p == 'E' ||
                           *c->p == '+' || *c->p == '-')) {
        digits += *c->p >= '0' && *c->p <= '9';
        c->p++;
    }
    if (!digits) {
        c->p = s;
        return jfail(c, "expected a value");
    }
    v->type = AK_J_NUM;
    v->s = ak_arena_strndup(c->ar, s, (size_t)(c->p - s));
    v->n = (size_t)(c->p - s);
    return v->s ? 0 : ak_err_nomem(c->err);
}

int ak__json_parse(ak_arena_t *ar, const char *p, size_t n, ak_jv_t **out, ak_err_t *err)
{
    jctx_t c = {ar, p, p, p + n, err};
    ak_jv_t *v = ak_arena_zalloc(ar, sizeof *v);
    if (!v)
        return ak_err_nomem(err);
    if (jval(&c, v, 0))
        return -1;
    ws(&c);
    if (c.p != c.e)
        return jfail(&c, "trailing bytes after the value");
    *out = v;
    return 0;
}

const ak_jv_t *ak__jget(const ak_jv_t *o, const char *key)
{
    if (!o || o->type != AK_J_OBJ)
        return NULL;
    for (size_t i = o->n; i-- > 0;)  /* the last duplicate wins */
        if (strcmp(o->keys[i], key) == 0)
            return &o->items[i];
    return NULL;
}

bool ak__jint(const ak_jv_t *v, int64_t *out)
{
    if (!v || v->type != AK_J_NUM)
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(v->s, &end, 10);
    if (end != v->s + v->n || errno == ERANGE)
        return false;
    *out = x;
    return true;
}
