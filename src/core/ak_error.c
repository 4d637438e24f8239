/* ak_error.c - error codes, their names and texts, and message formatting. */
#include "ak_error.h"

#include <stdio.h>
#include <string.h>

static const char *const names[] = {
#define AK__NAME(name, text) #name,
    AK_ERRNO_MAP(AK__NAME)
#undef AK__NAME
};

static const char *const texts[] = {
#define AK__TEXT(name, text) text,
    AK_ERRNO_MAP(AK__TEXT)
#undef AK__TEXT
};

const char *ak_code_name(ak_code_t code)
{
    return (unsigned)code < AK_E__COUNT ? names[code] : "UNKNOWN";
}

const char *ak_strerror(ak_code_t code)
{
    return (unsigned)code < AK_E__COUNT ? texts[code] : "unknown error";
}

int ak_verrf(ak_err_t *err, ak_code_t code, const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    err->code = code;
    err->retriable = (code == AK_E_CONNECT || code == AK_E_IO);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return -1;
}

int ak_errf(ak_err_t *err, ak_code_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ak_verrf(err, code, fmt, ap);
    va_end(ap);
    return -1;
}

int ak_err_prefix(ak_err_t *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char pre[AK_ERR_MSG_MAX], old[AK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(pre);
    if (n > sizeof err->msg - 3)
        n = sizeof err->msg - 3;
    memcpy(err->msg, pre, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3;
    size_t ol = strnlen(old, rest);
    memcpy(err->msg + n + 2, old, ol);
    err->msg[n + 2 + ol] = '\0';
    return -1;
}

int ak_err_nomem(ak_err_t *err)
{
    return ak_errf(err, AK_E_NOMEM, "out of memory");
}
