/* ak_envref.c - `${NAME}` references: checking, resolving, redacting.
 *
 * One scanner (next_piece) splits a value into literal runs and references so
 * that checking, resolving and redacting cannot disagree about the syntax.
 */
#include "ak_envref.h"

#include "ak_alloc.h"
#include "ak_buf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { PIECE_END, PIECE_LIT, PIECE_REF, PIECE_BAD } piece_kind_t;

typedef struct piece {
    piece_kind_t kind;
    const char *p;  /* LIT: bytes to copy; REF: the name; BAD: where */
    size_t n;
    const char *why; /* BAD only */
} piece_t;

static bool name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

/* Reads the piece starting at *s and advances *s past it. */
static piece_t next_piece(const char **s)
{
    const char *p = *s;
    piece_t pc = {PIECE_END, p, 0, NULL};
    if (!*p)
        return pc;
    if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
        pc.kind = PIECE_LIT; /* escape: "$${" is a literal "${" */
        pc.p = p + 1;
        pc.n = 2;
        *s = p + 3;
        return pc;
    }
    if (p[0] == '$' && p[1] == '{') {
        const char *q = p + 2;
        if (!name_start(*q)) {
            pc.kind = PIECE_BAD;
            pc.why = *q == '}' ? "empty variable name in `${}`"
                               : "a variable name must start with a letter or `_`";
            return pc;
        }
        while (name_char(*q))
            q++;
        if (*q != '}') {
            pc.kind = PIECE_BAD;
            pc.why = *q ? "variable names may contain only letters, digits and `_`"
                        : "unterminated `${` (missing `}`)";
            return pc;
        }
        pc.kind = PIECE_REF;
        pc.p = p + 2;
        pc.n = (size_t)(q - (p + 2));
        *s = q + 1;
        return pc;
    }
    /* a literal run up to the next "$" that could start a reference */
    const char *q = p + 1;
    while (*q && !(q[0] == '$' && q[1] == '{') && !(q[0] == '$' && q[1] == '$' && q[2] == '{'))
        q++;
    pc.kind = PIECE_LIT;
    pc.n = (size_t)(q - p);
    *s = q;
    return pc;
}

bool ak_env_has_refs(const char *raw)
{
    const char *s = raw ? raw : "";
    for (;;) {
        piece_t pc = next_piece(&s);
        if (pc.kind == PIECE_REF)
            return true;
        if (pc.kind == PIECE_END || pc.kind == PIECE_BAD)
            return false;
    }
}

static int bad_ref(const piece_t *pc, const char *raw, const char *context, ak_err_t *err)
{
    return ak_errf(err, AK_E_CONFIG, "%s: invalid environment reference at character %zu: %s "
                   "(write `$${` for a literal `${`)",
                   context ? context : "value", (size_t)(pc->p - raw) + 1, pc->why);
}

int ak_env_check(const char *raw, const char *context, ak_err_t *err)
{
    const char *s = raw ? raw : "";
    for (;;) {
        piece_t pc = next_piece(&s);
        if (pc.kind == PIECE_END)
            return 0;
        if (pc.kind == PIECE_BAD)
            return bad_ref(&pc, raw, context, err);
    }
}

int ak_env_resolve(const char *raw, char **out, const char *context, ak_err_t *err)
{
    ak_buf_t b = AK_BUF_INIT;
    const char *s = raw ? raw : "";
    *out = NULL;
    char name[256];
    for (;;) {
        piece_t pc = next_piece(&s);
        if (pc.kind == PIECE_END)
            break;
        if (pc.kind == PIECE_BAD) {
            bad_ref(&pc, raw, context, err);
            goto fail;
        }
        if (pc.kind == PIECE_LIT) {
            ak_buf_put(&b, pc.p, pc.n);
            continue;
        }
        if (pc.n >= sizeof name) {
            ak_errf(err, AK_E_CONFIG, "%s: environment variable name `%.32s...` is too long",
                    context ? context : "value", pc.p);
            goto fail;
        }
        memcpy(name, pc.p, pc.n);
        name[pc.n] = '\0';
        const char *v = getenv(name);
        if (!v) {
            ak_errf(err, AK_E_CONFIG, "%s: environment variable `%s` is not set",
                    context ? context : "value", name);
            goto fail;
        }
        ak_buf_puts(&b, v);
    }
    ak_buf_put(&b, "", 0); /* an empty result is still a string */
    if (b.oom) {
        ak_err_nomem(err);
        goto fail;
    }
    *out = ak_buf_steal(&b);
    return 0;
fail:
    /* the buffer may hold resolved secrets: wipe before freeing */
    if (b.data)
        memset(b.data, 0, b.cap);
    ak_buf_free(&b);
    return -1;
}

bool ak_env_key_is_secret(const char *key)
{
    static const char *const words[] = {"password", "passwd", "secret", "token", "api_key",
                                        "apikey", "credential", "private_key"};
    if (!key)
        return false;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t wn = strlen(words[i]);
        for (const char *p = key; *p; p++)
            if (strncasecmp(p, words[i], wn) == 0)
                return true;
    }
    return false;
}

int ak_env_redact(const char *raw, const char *key, bool secret, char **out, ak_err_t *err)
{
    const char *r = raw ? raw : "";
    *out = NULL;
    if (!secret && !ak_env_key_is_secret(key)) {
        *out = ak_strdup(r);
        return *out ? 0 : ak_err_nomem(err);
    }
    ak_buf_t b = AK_BUF_INIT;
    const char *s = r;
    bool lit_open = false;
    for (;;) {
        piece_t pc = next_piece(&s);
        if (pc.kind == PIECE_END)
            break;
        if (pc.kind == PIECE_REF) {
            ak_buf_puts(&b, "${");
            ak_buf_put(&b, pc.p, pc.n);
            ak_buf_putc(&b, '}');
            lit_open = false;
            continue;
        }
        if (pc.kind == PIECE_BAD) {
            /* malformed: show none of it */
            if (!lit_open)
                ak_buf_puts(&b, "****");
            break;
        }
        if (!lit_open)
            ak_buf_puts(&b, "****");
        lit_open = true;
    }
    ak_buf_put(&b, "", 0);
    if (b.oom) {
        ak_buf_free(&b);
        return ak_err_nomem(err);
    }
    *out = ak_buf_steal(&b);
    return 0;
}
