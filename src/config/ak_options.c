/* ak_options.c - validating, reading, displaying and documenting option
 * tables.  One parser per option type (parse_text) serves validation, typed
 * reads and table self-checks, so they cannot disagree. */
#include "ak_options.h"

#include "ak_alloc.h"
#include "ak_cron.h"
#include "ak_envref.h"
#include "ak_log.h"
#include "ak_suggest.h"
#include "ak_value.h"

#include <stdio.h>
#include <string.h>

/* Column type names shown in messages and docs; ak_type_parse decides. */
static const char *const datatype_names[] = {
    "string", "text", "varchar", "integer", "int", "bigint", "smallint", "double", "float", "real",
    "decimal", "numeric", "boolean", "bool", "date", "timestamp", "timestamptz", "datetime", "interval",
    "json", "uuid",
};

const char *ak_datatype_suggest(const char *name)
{
    return ak_suggest(name, datatype_names, sizeof datatype_names / sizeof datatype_names[0]);
}

bool ak_is_ident(const char *s)
{
    if (!s || !((*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    size_t n = 0;
    for (; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return n <= 63;
}

/* ---- enum choices ("a|b|c") ---- */

static int choice_index(const char *choices, const char *v)
{
    size_t vn = strlen(v);
    int i = 0;
    for (const char *p = choices; p && *p; i++) {
        const char *e = strchr(p, '|');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == vn && memcmp(p, v, n) == 0)
            return i;
        p = e ? e + 1 : NULL;
    }
    return -1;
}

/* "a, b or c" into buf; returns the nearest choice to v in sug (or ""). */
static void choices_text(const char *choices, const char *v, char *buf, size_t cap, char *sug, size_t sugcap)
{
    char words[16][AK_SUGGEST_MAX + 1];
    ak_suggest_t s;
    ak_suggest_init(&s, v);
    size_t o = 0, k = 0, total = 1;
    for (const char *c = choices; *c; c++)
        total += *c == '|';
    buf[0] = '\0';
    for (const char *p = choices; p && *p && k < 16; k++) {
        const char *e = strchr(p, '|');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        size_t wn = n < AK_SUGGEST_MAX ? n : AK_SUGGEST_MAX;
        memcpy(words[k], p, wn);
        words[k][wn] = '\0';
        ak_suggest_add(&s, words[k]);
        const char *sep = k == 0 ? "" : (k + 1 == total ? " or " : ", ");
        int w = snprintf(buf + o, cap - o, "%s`%s`", sep, words[k]);
        if (w > 0 && (size_t)w < cap - o)
            o += (size_t)w;
        p = e ? e + 1 : NULL;
    }
    snprintf(sug, sugcap, "%s", ak_suggest_result(&s) ? ak_suggest_result(&s) : "");
}

/* ---- one parser per type ---- */

typedef union pval {
    int64_t i;
    double d;
    bool b;
    int e;
} pval_t;

static bool is_scalar_type(ak_opt_type_t t)
{
    return t != AK_OPT_STRING_LIST && t != AK_OPT_NAMES && t != AK_OPT_MAP && t != AK_OPT_LIST && t != AK_OPT_ANY;
}

/* Parses the text of a scalar option; 0 or -1 (no message). */
static int parse_text(const ak_option_t *o, const char *t, pval_t *v)
{
    ak_cron_t cron;
    switch (o->type) {
    case AK_OPT_STRING:
        return (o->flags & AK_OPT_NONEMPTY) && !*t ? -1 : 0;
    case AK_OPT_IDENT:
        return ak_is_ident(t) ? 0 : -1;
    case AK_OPT_INT:
        if (ak_parse_int(t, &v->i))
            return -1;
        return (o->min < o->max && (v->i < o->min || v->i > o->max)) ? -1 : 0;
    case AK_OPT_NUMBER:
        return ak_parse_double(t, &v->d);
    case AK_OPT_BOOL:
        return ak_parse_bool(t, &v->b);
    case AK_OPT_ENUM:
        v->e = choice_index(o->choices, t);
        return v->e < 0 ? -1 : 0;
    case AK_OPT_DURATION:
        return ak_parse_duration(t, &v->i, NULL);
    case AK_OPT_MEMORY:
        return ak_parse_memory(t, &v->i, NULL);
    case AK_OPT_CRON:
        return ak_cron_parse(t, &cron, NULL);
    case AK_OPT_DATATYPE:
        return ak_type_parse(t, strlen(t)) == AK_NULL ? -1 : 0;
    default:
        return 0;
    }
}

/* What a value of the option must be, completing "`key` must be ...". */
static const char *expect_text(const ak_option_t *o, char *buf, size_t cap)
{
    switch (o->type) {
    case AK_OPT_STRING: return (o->flags & AK_OPT_NONEMPTY) ? "a non-empty string" : "a string";
    case AK_OPT_IDENT: return "a lowercase identifier (letters a-z, digits and `_`, not starting with a digit, "
                              "at most 63 characters; it becomes a SQL name)";
    case AK_OPT_INT:
        if (o->min < o->max)
            snprintf(buf, cap, "a whole number from %lld to %lld", (long long)o->min, (long long)o->max);
        else
            snprintf(buf, cap, "a whole number");
        return buf;
    case AK_OPT_NUMBER: return "a number";
    case AK_OPT_BOOL: return "true or false";
    case AK_OPT_ENUM: {
        char sug[8];
        char list[400];
        choices_text(o->choices, "", list, sizeof list, sug, sizeof sug);
        snprintf(buf, cap, "one of %s", list);
        return buf;
    }
    case AK_OPT_DURATION: return "a whole number of seconds or a duration like `90s`, `5m`, `1h`";
    case AK_OPT_MEMORY: return "a size like `512Mi`, `4Gi` or `1G`";
    case AK_OPT_CRON: return "a cron schedule like `*/5 * * * *` or `@daily`";
    case AK_OPT_DATATYPE: return "a column type (string, integer, bigint, double, boolean, date, timestamp, interval)";
    case AK_OPT_STRING_LIST: return "a list of strings";
    case AK_OPT_NAMES: return "a string or a list of strings";
    case AK_OPT_MAP: return "a map";
    case AK_OPT_LIST: return "a list";
    default: return "anything";
    }
}

/* The type error for a given scalar value, with a suggestion where one helps. */
static int type_error(const ak_option_t *o, const char *key, const ak_cfg_node_t *v, ak_err_t *err)
{
    char exp[512], gotbuf[128], sug[AK_SUGGEST_MAX + 1] = "";
    const char *e = expect_text(o, exp, sizeof exp);
    const char *g = ak_cfg_got(v, key, gotbuf, sizeof gotbuf);
    bool secret = (o->flags & AK_OPT_SECRET) || ak_env_key_is_secret(key);
    if (v && v->kind == AK_CFG_SCALAR && !secret) {
        if (o->type == AK_OPT_ENUM) {
            char list[400];
            choices_text(o->choices, v->text, list, sizeof list, sug, sizeof sug);
        } else if (o->type == AK_OPT_DATATYPE) {
            const char *s = ak_datatype_suggest(v->text);
            snprintf(sug, sizeof sug, "%s", s ? s : "");
        }
        if (o->type == AK_OPT_CRON) {
            ak_cron_t cron;
            size_t off = 0;
            ak_err_t ce;
            ak_cron_parse_at(v->text, &cron, &off, &ce);
            ak_cfg_node_t at = *v;
            if (v->style <= AK_CFG_DOUBLE && !memchr(v->text, '\n', v->len) &&
                (v->style == AK_CFG_PLAIN || !memchr(v->text, '\\', v->len)))
                at.col += (int)off + (v->style != AK_CFG_PLAIN);
            return ak_cfg_errf(err, &at, "`%s`: %s", key, ce.msg);
        }
    } else if (secret && v && v->kind == AK_CFG_SCALAR) {
        g = "got something else (value not shown: it is secret)";
    }
    if (sug[0])
        return ak_cfg_errf(err, v, "`%s` must be %s, %s; did you mean `%s`?", key, e, g, sug);
    return ak_cfg_errf(err, v, "`%s` must be %s, %s", key, e, g);
}

static char *context_text(const char *what, const char *key, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s, key `%s`", what ? what : "configuration", key);
    return buf;
}

/* Checks one given (non-null) value against its option. */
static int check_value(const ak_option_t *o, const char *key, const ak_cfg_node_t *v, const char *what,
                       ak_err_t *err)
{
    char gotbuf[128], exp[512];
    if (o->type == AK_OPT_ANY)
        return 0;
    if (is_scalar_type(o->type)) {
        if (v->kind != AK_CFG_SCALAR)
            return ak_cfg_errf(err, v, "`%s` must be %s, %s", key, expect_text(o, exp, sizeof exp),
                               ak_cfg_got(v, key, gotbuf, sizeof gotbuf));
        if ((o->flags & AK_OPT_ENV) && ak_env_has_refs(v->text)) {
            char ctx[256];
            if (ak_env_check(v->text, context_text(what, key, ctx, sizeof ctx), err))
                return ak_cfg_errf(err, v, "%s", err ? err->msg : "");
            return 0; /* typed after resolution, when read */
        }
        if ((o->flags & AK_OPT_ENV) && ak_env_check(v->text, context_text(what, key, exp, sizeof exp), err))
            return ak_cfg_errf(err, v, "%s", err ? err->msg : "");
        pval_t pv;
        if (parse_text(o, v->text, &pv))
            return type_error(o, key, v, err);
        return 0;
    }
    switch (o->type) {
    case AK_OPT_STRING_LIST:
    case AK_OPT_NAMES:
        if (ak_cfg_check_strlist(v, key, o->type == AK_OPT_NAMES, err))
            return -1;
        if ((o->flags & AK_OPT_NONEMPTY) && v->kind == AK_CFG_SEQ && v->n == 0)
            return ak_cfg_errf(err, v, "`%s` must list at least one name, got an empty list", key);
        return 0;
    case AK_OPT_MAP:
        if (v->kind != AK_CFG_MAP)
            return ak_cfg_errf(err, v, "`%s` must be a map, %s", key, ak_cfg_got(v, key, gotbuf, sizeof gotbuf));
        return 0;
    case AK_OPT_LIST:
        if (v->kind != AK_CFG_SEQ)
            return ak_cfg_errf(err, v, "`%s` must be a list, %s", key, ak_cfg_got(v, key, gotbuf, sizeof gotbuf));
        if ((o->flags & AK_OPT_NONEMPTY) && v->n == 0)
            return ak_cfg_errf(err, v, "`%s` must have at least one entry, got an empty list", key);
        return 0;
    default:
        return 0;
    }
}

const ak_option_t *ak_options_find(const ak_option_t *opts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (opts[i].flags & AK_OPT_PASSTHROUGH_PREFIX) {
            size_t pn = strlen(opts[i].name);
            if (strncmp(name, opts[i].name, pn) == 0 && name[pn])
                return &opts[i];
        } else if (strcmp(opts[i].name, name) == 0) {
            return &opts[i];
        }
    }
    return NULL;
}

static int unknown_key(const ak_option_t *opts, size_t n, const ak_cfg_node_t *key, const char *what, ak_err_t *err)
{
    ak_suggest_t s;
    ak_suggest_init(&s, key->text);
    for (size_t i = 0; i < n; i++)
        if (!(opts[i].flags & AK_OPT_PASSTHROUGH_PREFIX))
            ak_suggest_add(&s, opts[i].name);
    if (ak_suggest_result(&s))
        return ak_cfg_errf(err, key, "unknown key `%.100s` in %s; did you mean `%s`?", key->text, what,
                           ak_suggest_result(&s));
    char known[600];
    size_t o = 0;
    known[0] = '\0';
    for (size_t i = 0; i < n && o + 80 < sizeof known; i++) {
        int w = snprintf(known + o, sizeof known - o, "%s%s%s", i ? ", " : "", opts[i].name,
                         (opts[i].flags & AK_OPT_PASSTHROUGH_PREFIX) ? "*" : "");
        if (w > 0)
            o += (size_t)w;
    }
    return ak_cfg_errf(err, key, "unknown key `%.100s` in %s (known keys: %s)", key->text, what, known);
}

int ak_options_validate(const ak_option_t *opts, size_t n, const ak_cfg_node_t *map, const char *what,
                        ak_err_t *err)
{
    char gotbuf[128];
    if (!what)
        what = "configuration";
    if (!ak_cfg_is_null(map) && map->kind != AK_CFG_MAP)
        return ak_cfg_errf(err, map, "%s must be a map of settings, %s", what,
                           ak_cfg_got(map, "", gotbuf, sizeof gotbuf));
    size_t np = ak_cfg_is_null(map) ? 0 : map->n;
    for (size_t i = 0; i < np; i++) {
        const ak_cfg_pair_t *p = &map->pairs[i];
        const ak_option_t *o = ak_options_find(opts, n, p->key->text);
        if (!o)
            return unknown_key(opts, n, p->key, what, err);
        if (!ak_cfg_is_null(p->value) && check_value(o, p->key->text, p->value, what, err))
            return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(opts[i].flags & AK_OPT_REQUIRED) || (opts[i].flags & AK_OPT_PASSTHROUGH_PREFIX))
            continue;
        const ak_cfg_pair_t *p = ak_cfg_get_pair(ak_cfg_is_null(map) ? NULL : map, opts[i].name);
        if (!p)
            return ak_cfg_errf(err, ak_cfg_is_null(map) ? NULL : map, "missing required key `%s` in %s",
                               opts[i].name, what);
        if (ak_cfg_is_null(p->value))
            return ak_cfg_errf(err, p->value, "`%s` in %s is required but has no value", opts[i].name, what);
    }
    return 0;
}

int ak_optset_validate(const ak_optset_t *s, ak_err_t *err)
{
    return ak_options_validate(s->opts, s->n, s->map, s->what, err);
}

int ak_options_check_table(const ak_option_t *opts, size_t n, ak_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        const ak_option_t *o = &opts[i];
        if (!o->name || !*o->name || !o->help || !*o->help)
            return ak_errf(err, AK_E_INTERNAL, "option #%zu: name and help are required", i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(opts[j].name, o->name) == 0)
                return ak_errf(err, AK_E_INTERNAL, "option `%s` is declared twice", o->name);
        if ((o->type == AK_OPT_ENUM) != (o->choices != NULL))
            return ak_errf(err, AK_E_INTERNAL, "option `%s`: choices go with AK_OPT_ENUM only", o->name);
        if (o->default_value && (o->flags & AK_OPT_REQUIRED))
            return ak_errf(err, AK_E_INTERNAL, "option `%s`: a required option has no default", o->name);
        pval_t v;
        if (o->default_value && is_scalar_type(o->type) && parse_text(o, o->default_value, &v))
            return ak_errf(err, AK_E_INTERNAL, "option `%s`: default `%s` is not valid", o->name, o->default_value);
        if (o->default_value && (o->type == AK_OPT_MAP || o->type == AK_OPT_LIST || o->type == AK_OPT_ANY))
            return ak_errf(err, AK_E_INTERNAL, "option `%s`: maps and lists have no default", o->name);
    }
    return 0;
}

/* ---- reading ---- */

static const ak_option_t *must_find(const ak_optset_t *s, const char *name)
{
    const ak_option_t *o = ak_options_find(s->opts, s->n, name);
    ak_assert(o, "option `%s` is not in the table for %s", name, s->what ? s->what : "?");
    return o;
}

static const ak_cfg_node_t *given(const ak_optset_t *s, const char *name)
{
    if (ak_cfg_is_null(s->map))
        return NULL;
    const ak_cfg_node_t *v = ak_cfg_get(s->map, name);
    return ak_cfg_is_null(v) ? NULL : v;
}

bool ak_opt_given(const ak_optset_t *s, const char *name) { return given(s, name) != NULL; }

const char *ak_opt_raw(const ak_optset_t *s, const char *name, const ak_cfg_node_t **node)
{
    const ak_option_t *o = must_find(s, name);
    const ak_cfg_node_t *v = given(s, name);
    if (node)
        *node = v;
    if (v)
        return v->kind == AK_CFG_SCALAR ? v->text : NULL;
    return o->default_value;
}

/* The effective text of a scalar option: borrowed (given or default), or,
 * for an env reference, resolved into *owned.  *text NULL: absent. */
static int scalar_text(const ak_optset_t *s, const ak_option_t *o, const char *name, const char **text,
                       char **owned, const ak_cfg_node_t **node, ak_err_t *err)
{
    char gotbuf[128], exp[512];
    const ak_cfg_node_t *v = given(s, name);
    *owned = NULL;
    *node = v;
    *text = o->default_value;
    if (!v)
        return 0;
    if (v->kind != AK_CFG_SCALAR)
        return ak_cfg_errf(err, v, "`%s` must be %s, %s", name, expect_text(o, exp, sizeof exp),
                           ak_cfg_got(v, name, gotbuf, sizeof gotbuf));
    *text = v->text;
    if ((o->flags & AK_OPT_ENV) && ak_env_has_refs(v->text)) {
        char ctx[256];
        if (ak_env_resolve(v->text, owned, context_text(s->what, name, ctx, sizeof ctx), err)) {
            if (err && err->code == AK_E_NOMEM)
                return -1;
            return ak_cfg_errf(err, v, "%s", err ? err->msg : "");
        }
        *text = *owned;
    }
    return 0;
}

static void wipe_free(char *p)
{
    if (p) {
        memset(p, 0, strlen(p));
        ak_free(p);
    }
}

/* Reads and parses a scalar option; *found false when absent without default. */
static int get_scalar(const ak_optset_t *s, const char *name, pval_t *pv, bool *found, ak_err_t *err)
{
    const ak_option_t *o = must_find(s, name);
    const char *text;
    char *owned;
    const ak_cfg_node_t *v;
    char exp[512];
    if (scalar_text(s, o, name, &text, &owned, &v, err))
        return -1;
    *found = text != NULL;
    if (!text)
        return 0;
    int rc = parse_text(o, text, pv);
    if (rc && owned)
        ak_cfg_errf(err, v, "`%s` must be %s (after substituting environment variables; value not shown)", name,
                    expect_text(o, exp, sizeof exp));
    else if (rc && v)
        type_error(o, name, v, err);
    else if (rc)
        ak_errf(err, AK_E_INTERNAL, "default `%s` of option `%s` is not valid", text, name);
    wipe_free(owned);
    return rc ? -1 : 0;
}

int ak_opt_str(const ak_optset_t *s, const char *name, char **out, ak_err_t *err)
{
    const ak_option_t *o = must_find(s, name);
    const char *text;
    char *owned;
    const ak_cfg_node_t *v;
    if (scalar_text(s, o, name, &text, &owned, &v, err))
        return -1;
    if (owned) {
        *out = owned;
        return 0;
    }
    char *c = NULL;
    if (text && !(c = ak_strdup(text)))
        return ak_err_nomem(err);
    *out = c;
    return 0;
}

#define GET_SCALAR(field, zero)                    \
    pval_t pv;                                     \
    bool found;                                    \
    if (get_scalar(s, name, &pv, &found, err))     \
        return -1;                                 \
    *out = found ? pv.field : (zero);              \
    return 0

int ak_opt_int(const ak_optset_t *s, const char *name, int64_t *out, ak_err_t *err) { GET_SCALAR(i, 0); }
int ak_opt_double(const ak_optset_t *s, const char *name, double *out, ak_err_t *err) { GET_SCALAR(d, 0.0); }
int ak_opt_bool(const ak_optset_t *s, const char *name, bool *out, ak_err_t *err) { GET_SCALAR(b, false); }
int ak_opt_duration(const ak_optset_t *s, const char *name, int64_t *out, ak_err_t *err) { GET_SCALAR(i, 0); }
int ak_opt_memory(const ak_optset_t *s, const char *name, int64_t *out, ak_err_t *err) { GET_SCALAR(i, 0); }
int ak_opt_enum(const ak_optset_t *s, const char *name, int *out, ak_err_t *err) { GET_SCALAR(e, -1); }

int ak_opt_strlist(const ak_optset_t *s, const char *name, char ***out, size_t *n, ak_err_t *err)
{
    const ak_option_t *o = must_find(s, name);
    const ak_cfg_node_t *v = given(s, name);
    if (v)
        return ak_cfg_strlist(v, name, o->type == AK_OPT_NAMES, out, n, err);
    /* the default: comma-separated */
    const char *d = o->default_value ? o->default_value : "";
    size_t cnt = 0, len = strlen(d);
    for (const char *p = d; *p; p++)
        cnt += *p == ',';
    cnt += len > 0;
    char **arr = ak_malloc((cnt + 1) * sizeof(char *) + len + 1);
    if (!arr)
        return ak_err_nomem(err);
    char *str = (char *)(arr + cnt + 1);
    memcpy(str, d, len + 1);
    size_t k = 0;
    for (char *p = str; k < cnt; k++) {
        arr[k] = p;
        char *c = strchr(p, ',');
        if (c) {
            *c = '\0';
            p = c + 1;
        }
    }
    arr[cnt] = NULL;
    *out = arr;
    *n = cnt;
    return 0;
}

/* ---- display ---- */

static bool bare_json(const ak_cfg_node_t *v)
{
    int64_t i;
    double d;
    bool b;
    if (v->quoted)
        return false;
    return ak_parse_int(v->text, &i) == 0 || ak_parse_double(v->text, &d) == 0 || ak_parse_bool(v->text, &b) == 0;
}

static void node_json(const ak_cfg_node_t *v, bool secret, const char *key, ak_buf_t *out)
{
    if (ak_cfg_is_null(v)) {
        ak_buf_puts(out, "null");
        return;
    }
    if (v->kind == AK_CFG_SCALAR) {
        if (secret || ak_env_key_is_secret(key)) {
            char *r = NULL;
            if (ak_env_redact(v->text, key, true, &r, NULL)) {
                out->oom = true;
                return;
            }
            ak_buf_put_json_str(out, r, strlen(r));
            ak_free(r);
        } else if (bare_json(v)) {
            int64_t i;
            bool b;
            double d = 0;
            char num[64];
            if (ak_parse_bool(v->text, &b) == 0)
                ak_buf_puts(out, b ? "true" : "false");
            else if (ak_parse_int(v->text, &i) == 0)
                ak_buf_printf(out, "%lld", (long long)i);
            else if (ak_parse_double(v->text, &d) == 0)
                ak_buf_put(out, num, ak_fmt_double(d, num, sizeof num)); /* ".5" is not JSON */
        } else {
            ak_buf_put_json_str(out, v->text, v->len);
        }
        return;
    }
    ak_buf_putc(out, v->kind == AK_CFG_MAP ? '{' : '[');
    for (size_t i = 0; i < v->n; i++) {
        if (i)
            ak_buf_puts(out, ", ");
        if (v->kind == AK_CFG_MAP) {
            const ak_cfg_pair_t *p = &v->pairs[i];
            ak_buf_put_json_str(out, p->key->text, p->key->len);
            ak_buf_puts(out, ": ");
            node_json(p->value, secret, p->key->text, out);
        } else {
            node_json(v->items[i], secret, key, out);
        }
    }
    ak_buf_putc(out, v->kind == AK_CFG_MAP ? '}' : ']');
}

void ak_options_to_json(const ak_optset_t *s, ak_buf_t *out)
{
    if (ak_cfg_is_null(s->map) || s->map->kind != AK_CFG_MAP) {
        ak_buf_puts(out, "{}");
        return;
    }
    ak_buf_putc(out, '{');
    for (size_t i = 0; i < s->map->n; i++) {
        const ak_cfg_pair_t *p = &s->map->pairs[i];
        const ak_option_t *o = ak_options_find(s->opts, s->n, p->key->text);
        if (i)
            ak_buf_puts(out, ", ");
        ak_buf_put_json_str(out, p->key->text, p->key->len);
        ak_buf_puts(out, ": ");
        node_json(p->value, o && (o->flags & AK_OPT_SECRET), p->key->text, out);
    }
    ak_buf_putc(out, '}');
}

/* ---- documentation ---- */

static void md_cell(ak_buf_t *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            ak_buf_puts(out, "\\|");
        else if (*s == '\n')
            ak_buf_putc(out, ' ');
        else
            ak_buf_putc(out, *s);
    }
}

static const char *type_doc(const ak_option_t *o, char *buf, size_t cap)
{
    switch (o->type) {
    case AK_OPT_STRING: return "string";
    case AK_OPT_IDENT: return "identifier";
    case AK_OPT_INT:
        if (o->min < o->max) {
            snprintf(buf, cap, "integer (%lld to %lld)", (long long)o->min, (long long)o->max);
            return buf;
        }
        return "integer";
    case AK_OPT_NUMBER: return "number";
    case AK_OPT_BOOL: return "boolean";
    case AK_OPT_ENUM: {
        char sug[8], list[400];
        choices_text(o->choices, "", list, sizeof list, sug, sizeof sug);
        snprintf(buf, cap, "%s", list);
        return buf;
    }
    case AK_OPT_DURATION: return "duration";
    case AK_OPT_MEMORY: return "size";
    case AK_OPT_CRON: return "cron";
    case AK_OPT_DATATYPE: return "column type";
    case AK_OPT_STRING_LIST: return "list of strings";
    case AK_OPT_NAMES: return "string or list of strings";
    case AK_OPT_MAP: return "map";
    case AK_OPT_LIST: return "list";
    default: return "any";
    }
}

void ak_options_markdown(const ak_option_t *opts, size_t n, ak_buf_t *out)
{
    char tb[512];
    ak_buf_puts(out, "| key | type | default | description |\n|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        const ak_option_t *o = &opts[i];
        ak_buf_printf(out, "| `%s%s` | ", o->name, (o->flags & AK_OPT_PASSTHROUGH_PREFIX) ? "*" : "");
        md_cell(out, type_doc(o, tb, sizeof tb));
        ak_buf_puts(out, " | ");
        if (o->flags & AK_OPT_REQUIRED)
            ak_buf_puts(out, "**required**");
        else if (o->default_value)
            ak_buf_printf(out, "`%s`", o->default_value);
        else
            ak_buf_puts(out, "-");
        ak_buf_puts(out, " | ");
        md_cell(out, o->help);
        if (o->flags & AK_OPT_SECRET)
            ak_buf_puts(out, " Secret: never displayed.");
        if (o->flags & AK_OPT_ENV)
            ak_buf_puts(out, " May use `${ENV_VAR}` references.");
        ak_buf_puts(out, " |\n");
    }
}
