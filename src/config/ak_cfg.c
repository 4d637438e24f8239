/* ak_cfg.c - YAML/JSON text to a position-annotated tree, and typed reads.
 *
 * libyaml's event parser drives a recursive builder (depth-limited).  Nodes
 * and strings live in one arena per document; children are gathered in a
 * temporary array per open collection and copied into the arena when the
 * collection closes, so a document frees in one call.  libyaml allocates
 * through the C library itself; that memory is released before returning.
 */
#include "ak_cfg.h"

#include "ak_alloc.h"
#include "ak_arena.h"
#include "ak_cron.h"
#include "ak_envref.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

struct ak_cfg_doc {
    ak_arena_t arena;
    char *file;
    ak_cfg_node_t *root;
};

typedef struct builder {
    yaml_parser_t parser;
    ak_cfg_doc_t *doc;
    const char *text;
    size_t len;
    ak_err_t *err;
} builder_t;

/* ---- errors ---- */

static int verr_at(ak_err_t *err, const char *file, int line, int col, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static int verr_at(ak_err_t *err, const char *file, int line, int col, const char *fmt, va_list ap)
{
    char msg[AK_ERR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (file)
        return ak_errf(err, AK_E_CONFIG, "%s:%d:%d: %s", file, line, col, msg);
    return ak_errf(err, AK_E_CONFIG, "%s", msg);
}

int ak_cfg_errf(ak_err_t *err, const ak_cfg_node_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr_at(err, at ? at->file : NULL, at ? at->line : 0, at ? at->col : 0, fmt, ap);
    va_end(ap);
    return -1;
}

static int err_mark(builder_t *b, yaml_mark_t m, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int err_mark(builder_t *b, yaml_mark_t m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr_at(b->err, b->doc->file, (int)m.line + 1, (int)m.column + 1, fmt, ap);
    va_end(ap);
    return -1;
}

/* Line and column of a byte offset, for reader errors that carry no mark. */
static void offset_pos(const char *text, size_t len, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            ++*col;
        }
    }
}

static int yaml_error(builder_t *b)
{
    yaml_parser_t *p = &b->parser;
    if (p->error == YAML_MEMORY_ERROR)
        return ak_err_nomem(b->err);
    if (p->error == YAML_READER_ERROR) {
        int line, col;
        offset_pos(b->text, b->len, p->problem_offset, &line, &col);
        return ak_errf(b->err, AK_E_CONFIG, "%s:%d:%d: invalid YAML: %s", b->doc->file, line, col,
                       p->problem ? p->problem : "unreadable input");
    }
    const char *problem = p->problem ? p->problem : "syntax error";
    if (p->context)
        return err_mark(b, p->problem_mark, "invalid YAML: %s (%s at line %d, column %d)", problem,
                        p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    return err_mark(b, p->problem_mark, "invalid YAML: %s", problem);
}

static int next_event(builder_t *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev))
        return yaml_error(b);
    return 0;
}

/* ---- building ---- */

static ak_cfg_node_t *new_node(builder_t *b, ak_cfg_kind_t kind, yaml_mark_t m)
{
    ak_cfg_node_t *n = ak_arena_zalloc(&b->doc->arena, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->file = b->doc->file;
    n->line = (int)m.line + 1;
    n->col = (int)m.column + 1;
    return n;
}

static int build(builder_t *b, yaml_event_t *ev, int depth, ak_cfg_node_t **out);

static int build_scalar(builder_t *b, yaml_event_t *ev, ak_cfg_node_t **out)
{
    ak_cfg_node_t *n = new_node(b, AK_CFG_SCALAR, ev->start_mark);
    if (!n)
        return ak_err_nomem(b->err);
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (memchr(v, '\0', len))
        return err_mark(b, ev->start_mark, "NUL character in value (not allowed in configuration)");
    n->text = ak_arena_strndup(&b->doc->arena, v, len);
    if (!n->text)
        return ak_err_nomem(b->err);
    n->len = len;
    switch (ev->data.scalar.style) {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE: n->style = AK_CFG_SINGLE; break;
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE: n->style = AK_CFG_DOUBLE; break;
    case YAML_LITERAL_SCALAR_STYLE: n->style = AK_CFG_LITERAL; break;
    case YAML_FOLDED_SCALAR_STYLE: n->style = AK_CFG_FOLDED; break;
    default: n->style = AK_CFG_PLAIN; break;
    }
    const char *tag = (const char *)ev->data.scalar.tag;
    n->quoted = n->style != AK_CFG_PLAIN || (tag && strcmp(tag, YAML_STR_TAG) == 0);
    *out = n;
    return 0;
}

/* Children of the collection being built, before they move into the arena. */
typedef struct kids {
    void *v;
    size_t n, cap;
} kids_t;

static int kids_push(kids_t *k, const void *item, size_t size)
{
    if (k->n == k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 8;
        void *nv = ak_realloc(k->v, nc * size);
        if (!nv)
            return -1;
        k->v = nv;
        k->cap = nc;
    }
    memcpy((char *)k->v + k->n * size, item, size);
    k->n++;
    return 0;
}

static void *kids_move(builder_t *b, kids_t *k, size_t size)
{
    void *a = ak_arena_alloc(&b->doc->arena, k->n ? k->n * size : 1);
    if (a && k->n)
        memcpy(a, k->v, k->n * size);
    return a;
}

static int build_seq(builder_t *b, yaml_event_t *start, int depth, ak_cfg_node_t **out)
{
    kids_t k = {NULL, 0, 0};
    ak_cfg_node_t *n = new_node(b, AK_CFG_SEQ, start->start_mark);
    if (!n)
        return ak_err_nomem(b->err);
    for (;;) {
        yaml_event_t ev;
        if (next_event(b, &ev))
            goto fail;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        ak_cfg_node_t *child = NULL;
        int rc = build(b, &ev, depth + 1, &child);
        yaml_event_delete(&ev);
        if (rc)
            goto fail;
        if (kids_push(&k, &child, sizeof child)) {
            ak_err_nomem(b->err);
            goto fail;
        }
    }
    n->items = kids_move(b, &k, sizeof *n->items);
    if (!n->items) {
        ak_err_nomem(b->err);
        goto fail;
    }
    n->n = k.n;
    ak_free(k.v);
    *out = n;
    return 0;
fail:
    ak_free(k.v);
    return -1;
}

static int build_map(builder_t *b, yaml_event_t *start, int depth, ak_cfg_node_t **out)
{
    kids_t k = {NULL, 0, 0};
    ak_cfg_node_t *n = new_node(b, AK_CFG_MAP, start->start_mark);
    if (!n)
        return ak_err_nomem(b->err);
    for (;;) {
        yaml_event_t ev;
        if (next_event(b, &ev))
            goto fail;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        ak_cfg_pair_t pair = {NULL, NULL};
        if (ev.type != YAML_SCALAR_EVENT) {
            err_mark(b, ev.start_mark, "a map key must be a plain name, not %s",
                     ev.type == YAML_MAPPING_START_EVENT ? "a map"
                     : ev.type == YAML_SEQUENCE_START_EVENT ? "a list" : "an alias");
            yaml_event_delete(&ev);
            goto fail;
        }
        int rc = build_scalar(b, &ev, &pair.key);
        yaml_event_delete(&ev);
        if (rc)
            goto fail;
        for (size_t i = 0; i < k.n; i++) {
            const ak_cfg_node_t *prev = ((ak_cfg_pair_t *)k.v)[i].key;
            if (prev->len == pair.key->len && memcmp(prev->text, pair.key->text, prev->len) == 0) {
                ak_cfg_errf(b->err, pair.key, "duplicate key `%.100s` (first given at line %d, column %d)",
                            pair.key->text, prev->line, prev->col);
                goto fail;
            }
        }
        if (next_event(b, &ev))
            goto fail;
        rc = build(b, &ev, depth + 1, &pair.value);
        yaml_event_delete(&ev);
        if (rc)
            goto fail;
        if (kids_push(&k, &pair, sizeof pair)) {
            ak_err_nomem(b->err);
            goto fail;
        }
    }
    n->pairs = kids_move(b, &k, sizeof *n->pairs);
    if (!n->pairs) {
        ak_err_nomem(b->err);
        goto fail;
    }
    n->n = k.n;
    ak_free(k.v);
    *out = n;
    return 0;
fail:
    ak_free(k.v);
    return -1;
}

/* Builds the node that starts with *ev (the caller deletes ev). */
static int build(builder_t *b, yaml_event_t *ev, int depth, ak_cfg_node_t **out)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return build_scalar(b, ev, out);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (depth >= AK_CFG_MAX_DEPTH)
            return err_mark(b, ev->start_mark, "nested deeper than %d levels", AK_CFG_MAX_DEPTH);
        return ev->type == YAML_SEQUENCE_START_EVENT ? build_seq(b, ev, depth, out)
                                                     : build_map(b, ev, depth, out);
    case YAML_ALIAS_EVENT:
        return err_mark(b, ev->start_mark, "YAML aliases (`*%.60s`) are not supported; repeat the value instead",
                        (const char *)ev->data.alias.anchor);
    default:
        return err_mark(b, ev->start_mark, "unexpected YAML event");
    }
}

/* STREAM-START [DOCUMENT-START node DOCUMENT-END] STREAM-END */
static int build_doc(builder_t *b)
{
    yaml_event_t ev;
    if (next_event(b, &ev))
        return -1;
    yaml_event_delete(&ev); /* stream start */
    if (next_event(b, &ev))
        return -1;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return 0; /* empty: no document at all */
    }
    yaml_event_delete(&ev); /* document start */
    if (next_event(b, &ev))
        return -1;
    int rc = build(b, &ev, 0, &b->doc->root);
    yaml_event_delete(&ev);
    if (rc)
        return -1;
    if (next_event(b, &ev))
        return -1;
    yaml_event_delete(&ev); /* document end */
    if (next_event(b, &ev))
        return -1;
    if (ev.type != YAML_STREAM_END_EVENT) {
        err_mark(b, ev.start_mark, "a second YAML document (`---`); put one document per file");
        yaml_event_delete(&ev);
        return -1;
    }
    yaml_event_delete(&ev);
    /* a document that is only `~` or empty counts as empty */
    if (b->doc->root && b->doc->root->kind == AK_CFG_SCALAR && !b->doc->root->quoted && ak_cfg_is_null(b->doc->root))
        b->doc->root = NULL;
    return 0;
}

int ak_cfg_parse(const char *file, const char *text, size_t len, ak_cfg_doc_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_cfg_doc_t *doc = ak_calloc(1, sizeof *doc);
    if (!doc)
        return ak_err_nomem(err);
    ak_arena_init(&doc->arena, 8192);
    doc->file = ak_arena_strdup(&doc->arena, file ? file : "-");
    if (!doc->file) {
        ak_cfg_free(doc);
        return ak_err_nomem(err);
    }
    builder_t b = {.doc = doc, .text = text, .len = len, .err = err};
    if (!yaml_parser_initialize(&b.parser)) {
        ak_cfg_free(doc);
        return ak_err_nomem(err);
    }
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)(text ? text : ""), text ? len : 0);
    yaml_parser_set_encoding(&b.parser, YAML_UTF8_ENCODING);
    int rc = build_doc(&b);
    yaml_parser_delete(&b.parser);
    if (rc) {
        ak_cfg_free(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

void ak_cfg_free(ak_cfg_doc_t *doc)
{
    if (!doc)
        return;
    ak_arena_free(&doc->arena);
    ak_free(doc);
}

const ak_cfg_node_t *ak_cfg_root(const ak_cfg_doc_t *doc) { return doc ? doc->root : NULL; }
const char *ak_cfg_file(const ak_cfg_doc_t *doc) { return doc ? doc->file : NULL; }

/* ---- lookups ---- */

const ak_cfg_pair_t *ak_cfg_get_pair(const ak_cfg_node_t *map, const char *key)
{
    if (!map || map->kind != AK_CFG_MAP)
        return NULL;
    size_t kn = strlen(key);
    for (size_t i = 0; i < map->n; i++)
        if (map->pairs[i].key->len == kn && memcmp(map->pairs[i].key->text, key, kn) == 0)
            return &map->pairs[i];
    return NULL;
}

const ak_cfg_node_t *ak_cfg_get(const ak_cfg_node_t *map, const char *key)
{
    const ak_cfg_pair_t *p = ak_cfg_get_pair(map, key);
    return p ? p->value : NULL;
}

bool ak_cfg_is_null(const ak_cfg_node_t *n)
{
    if (!n)
        return true;
    if (n->kind != AK_CFG_SCALAR || n->quoted)
        return false;
    return n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
           strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0;
}

const char *ak_cfg_describe(const ak_cfg_node_t *n)
{
    if (ak_cfg_is_null(n))
        return "nothing";
    switch (n->kind) {
    case AK_CFG_MAP: return "a map";
    case AK_CFG_SEQ: return "a list";
    default: return "a scalar";
    }
}

/* ---- typed reads ---- */

/* "got `abc`" / "got a list" / "got a value (not shown)" for messages: the
 * value is shortened to one line and never shown for secret keys. */
const char *ak_cfg_got(const ak_cfg_node_t *v, const char *key, char *buf, size_t cap)
{
    if (!v || v->kind != AK_CFG_SCALAR || ak_cfg_is_null(v)) {
        snprintf(buf, cap, "got %s", ak_cfg_describe(v));
        return buf;
    }
    if (ak_env_key_is_secret(key)) {
        snprintf(buf, cap, "got a value (not shown: `%s` is secret)", key);
        return buf;
    }
    size_t o = (size_t)snprintf(buf, cap, "got `");
    for (size_t i = 0; i < v->len && o + 8 < cap; i++) {
        char c = v->text[i];
        buf[o++] = (c == '\n' || c == '\t' || c == '\r') ? ' ' : c;
        if (i == 60 && v->len > 64) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
    }
    buf[o++] = '`';
    buf[o] = '\0';
    return buf;
}

#define GOT(v, key) ak_cfg_got((v), (key), gotbuf, sizeof gotbuf)

int ak_cfg_str(const ak_cfg_node_t *v, const char *key, const char **out, ak_err_t *err)
{
    char gotbuf[128];
    if (!v || v->kind != AK_CFG_SCALAR || ak_cfg_is_null(v))
        return ak_cfg_errf(err, v, "`%s` must be a string, %s", key, GOT(v, key));
    *out = v->text;
    return 0;
}

int ak_parse_int(const char *s, int64_t *out)
{
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!(*p >= '0' && *p <= '9'))
        return -1;
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_C(9223372036854775808) - (uint64_t)(*p - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (*p || (!neg && v > INT64_MAX))
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int ak_parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"true", "yes", "on"}, *const f[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, t[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, f[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

int ak_parse_double(const char *s, double *out)
{
    /* strtod alone would also take "inf", "nan" and hex floats */
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s) || !strpbrk(s, "0123456789"))
        return -1;
    char *end;
    double d = strtod(s, &end);
    if (*end || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

int ak_cfg_int(const ak_cfg_node_t *v, const char *key, int64_t *out, ak_err_t *err)
{
    char gotbuf[128];
    if (!v || v->kind != AK_CFG_SCALAR || ak_parse_int(v->text, out))
        return ak_cfg_errf(err, v, "`%s` must be a whole number, %s", key, GOT(v, key));
    return 0;
}

int ak_cfg_bool(const ak_cfg_node_t *v, const char *key, bool *out, ak_err_t *err)
{
    char gotbuf[128];
    if (!v || v->kind != AK_CFG_SCALAR || ak_parse_bool(v->text, out))
        return ak_cfg_errf(err, v, "`%s` must be true or false, %s", key, GOT(v, key));
    return 0;
}

int ak_cfg_double(const ak_cfg_node_t *v, const char *key, double *out, ak_err_t *err)
{
    char gotbuf[128];
    if (!v || v->kind != AK_CFG_SCALAR || ak_parse_double(v->text, out))
        return ak_cfg_errf(err, v, "`%s` must be a number, %s", key, GOT(v, key));
    return 0;
}

int ak_cfg_duration(const ak_cfg_node_t *v, const char *key, int64_t *us, ak_err_t *err)
{
    char gotbuf[128];
    ak_err_t tmp;
    if (!v || v->kind != AK_CFG_SCALAR || ak_cfg_is_null(v) || ak_parse_duration(v->text, us, &tmp))
        return ak_cfg_errf(err, v, "`%s` must be a whole number of seconds or a duration like `90s`, `5m`, `1h`, %s",
                           key, GOT(v, key));
    return 0;
}

int ak_cfg_memory(const ak_cfg_node_t *v, const char *key, int64_t *bytes, ak_err_t *err)
{
    char gotbuf[128];
    ak_err_t tmp;
    if (!v || v->kind != AK_CFG_SCALAR || ak_cfg_is_null(v) || ak_parse_memory(v->text, bytes, &tmp))
        return ak_cfg_errf(err, v, "`%s` must be a size like `512Mi`, `4Gi` or `1G`, %s", key, GOT(v, key));
    return 0;
}

int ak_cfg_check_strlist(const ak_cfg_node_t *v, const char *key, bool one_ok, ak_err_t *err)
{
    char gotbuf[128];
    if (one_ok && v && v->kind == AK_CFG_SCALAR && !ak_cfg_is_null(v))
        return 0;
    if (!v || v->kind != AK_CFG_SEQ)
        return ak_cfg_errf(err, v, "`%s` must be %s, %s", key,
                           one_ok ? "a string or a list of strings" : "a list of strings", GOT(v, key));
    for (size_t i = 0; i < v->n; i++)
        if (v->items[i]->kind != AK_CFG_SCALAR || ak_cfg_is_null(v->items[i]))
            return ak_cfg_errf(err, v->items[i], "`%s` must be a list of strings, but item %zu is %s", key,
                               i + 1, ak_cfg_describe(v->items[i]));
    return 0;
}

int ak_cfg_strlist(const ak_cfg_node_t *v, const char *key, bool one_ok, char ***out, size_t *n, ak_err_t *err)
{
    if (ak_cfg_check_strlist(v, key, one_ok, err))
        return -1;
    const ak_cfg_node_t *const *items = v->kind == AK_CFG_SEQ ? (const ak_cfg_node_t *const *)v->items : &v;
    size_t cnt = v->kind == AK_CFG_SEQ ? v->n : 1, bytes = (cnt + 1) * sizeof(char *);
    for (size_t i = 0; i < cnt; i++)
        bytes += items[i]->len + 1;
    char **arr = ak_malloc(bytes);
    if (!arr)
        return ak_err_nomem(err);
    char *s = (char *)(arr + cnt + 1);
    for (size_t i = 0; i < cnt; i++) {
        memcpy(s, items[i]->text, items[i]->len + 1);
        arr[i] = s;
        s += items[i]->len + 1;
    }
    arr[cnt] = NULL;
    *out = arr;
    *n = cnt;
    return 0;
}

/* ---- sizes ---- */

int ak_parse_memory(const char *s, int64_t *bytes, ak_err_t *err)
{
    static const struct {
        const char *sfx;
        int64_t mult;
    } sfx[] = {
        {"", 1}, {"B", 1},
        {"k", INT64_C(1000)}, {"K", INT64_C(1000)}, {"M", INT64_C(1000000)}, {"G", INT64_C(1000000000)},
        {"T", INT64_C(1000000000000)}, {"P", INT64_C(1000000000000000)}, {"E", INT64_C(1000000000000000000)},
        {"Ki", INT64_C(1) << 10}, {"Mi", INT64_C(1) << 20}, {"Gi", INT64_C(1) << 30},
        {"Ti", INT64_C(1) << 40}, {"Pi", INT64_C(1) << 50}, {"Ei", INT64_C(1) << 60},
    };
    const char *p = s;
    int64_t ip = 0, frac = 0, scale = 1;
    if (!(*p >= '0' && *p <= '9'))
        goto bad;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (ip > INT64_MAX / 10 - 10)
            goto range;
        ip = ip * 10 + (*p - '0');
    }
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            goto bad;
        for (; *p >= '0' && *p <= '9'; p++)
            if (scale < INT64_C(1000000000)) {
                frac = frac * 10 + (*p - '0');
                scale *= 10;
            }
    }
    size_t sl = strlen(p);
    if (sl >= 2 && p[sl - 1] == 'B' && p[sl - 2] != 'B')
        sl--; /* "GiB", "MB" */
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        if (strlen(sfx[i].sfx) != sl || strncmp(p, sfx[i].sfx, sl) != 0)
            continue;
        int64_t m = sfx[i].mult;
        if (ip > INT64_MAX / m)
            goto range;
        /* the fractional part, rounded down to whole bytes */
        int64_t fv = (int64_t)((long double)frac * (long double)m / (long double)scale);
        if (ip * m > INT64_MAX - fv)
            goto range;
        *bytes = ip * m + fv;
        return 0;
    }
bad:
    return ak_errf(err, AK_E_CONFIG, "invalid size `%.100s`: expected a number with an optional unit "
                   "such as `512Mi`, `4Gi`, `1G` or `1024`", s);
range:
    return ak_errf(err, AK_E_CONFIG, "size `%.100s` is too large", s);
}
