/* ak_error.h - errors as values.
 *
 * Every fallible function returns 0 on success or -1 on failure and fills an
 * ak_err_t the caller passed in.  The code says what kind of failure it is
 * (and whether retrying may help); the message is written for the user and
 * says what to do about it.  Codes come from one X-macro list so a code, its
 * name and its default text never drift apart.
 */
#ifndef AK_ERROR_H
#define AK_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

#define AK_ERRNO_MAP(X)                                              \
    X(OK, "ok")                                                      \
    X(NOMEM, "out of memory")                                        \
    X(IO, "input/output error")                                      \
    X(USAGE, "invalid usage")                                        \
    X(CONFIG, "invalid configuration")                               \
    X(NOTFOUND, "not found")                                         \
    X(EXISTS, "already exists")                                      \
    X(PARSE, "syntax error")                                         \
    X(BIND, "binding error")                                         \
    X(TYPE, "type error")                                            \
    X(EVAL, "evaluation error")                                      \
    X(RANGE, "value out of range")                                   \
    X(UNSUPPORTED, "not supported")                                  \
    X(NOTBUILT, "not built yet")                                     \
    X(CONNECT, "connection failed")                                  \
    X(CORRUPT, "corrupt data")                                       \
    X(STATE, "invalid state")                                        \
    X(QUALITY, "quality gate failed")                                \
    X(INTERRUPTED, "interrupted")                                    \
    X(BEHIND, "change behind compacted state")                       \
    X(INTERNAL, "internal error")

typedef enum ak_code {
#define AK__ENUM(name, text) AK_E_##name,
    AK_ERRNO_MAP(AK__ENUM)
#undef AK__ENUM
    AK_E__COUNT
} ak_code_t;

#define AK_ERR_MSG_MAX 1024

typedef struct ak_err {
    ak_code_t code;
    bool retriable;            /* a retry (with backoff) may succeed */
    char msg[AK_ERR_MSG_MAX];  /* complete sentence(s) for the user */
} ak_err_t;

/* Name ("NOTFOUND") and default text ("not found") of a code. */
const char *ak_code_name(ak_code_t code);
const char *ak_strerror(ak_code_t code);

/* Set err (if not NULL) and return -1, so `return ak_errf(...)` reads well. */
int ak_errf(ak_err_t *err, ak_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ak_verrf(ak_err_t *err, ak_code_t code, const char *fmt, va_list ap);

/* Prefix the existing message with context: "reading x.yaml: <old message>". */
int ak_err_prefix(ak_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Shorthand for allocation failures. */
int ak_err_nomem(ak_err_t *err);

static inline void ak_err_clear(ak_err_t *err)
{
    if (err) {
        err->code = AK_E_OK;
        err->retriable = false;
        err->msg[0] = '\0';
    }
}

#endif
