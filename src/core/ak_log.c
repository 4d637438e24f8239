/* ak_log.c - logging and assertion failure reports. */
#include "ak_log.h"

#include <execinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ak_log_level_t level = AK_LOG_INFO;
static char debug_comps[256];

void ak_log_set_level(ak_log_level_t lvl) { level = lvl; }
ak_log_level_t ak_log_get_level(void) { return level; }

void ak_log_set_debug(const char *components)
{
    snprintf(debug_comps, sizeof debug_comps, "%s", components ? components : "");
}

static int debug_match(const char *tag)
{
    if (!debug_comps[0]) {
        const char *env = getenv("AKILI_DEBUG");
        if (!env || !*env)
            return 0;
        ak_log_set_debug(env);
    }
    char list[256];
    snprintf(list, sizeof list, "%s", debug_comps);
    for (char *save = NULL, *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save))
        if (strcmp(c, "all") == 0 || (tag && strstr(tag, c)))
            return 1;
    return 0;
}

int ak_log_enabled(ak_log_level_t lvl, const char *tag)
{
    if (lvl == AK_LOG_DEBUG)
        return debug_match(tag);
    return lvl <= level;
}

void ak_log(ak_log_level_t lvl, const char *tag, const char *fmt, ...)
{
    if (!ak_log_enabled(lvl, tag))
        return;
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char line[2048];
    int n = snprintf(line, sizeof line, "akili: %s ", names[lvl]);
    if (tag && *tag && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "[%s] ", tag);
    va_list ap;
    va_start(ap, fmt);
    if (n < (int)sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void ak__assert_fail(const char *cond, const char *file, int line, const char *fmt, ...)
{
    fprintf(stderr, "akili: internal error at %s:%d: assertion `%s` failed: ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    void *frames[32];
    int nf = backtrace(frames, 32);
    backtrace_symbols_fd(frames, nf, STDERR_FILENO);
    abort();
}
