/* ak_log.h - leveled, tagged logging to stderr.
 *
 * Lines look like "akili: warn [user_sessions/clickstream] message".  The
 * level threshold comes from ak_log_set_level (the CLI's --quiet/--verbose);
 * `--debug COMP[,COMP]` (or AKILI_DEBUG) enables debug lines for components
 * whose tag contains one of the given names ("all" for every component).
 * Thread-safe: each line is written with one call.
 */
#ifndef AK_LOG_H
#define AK_LOG_H

typedef enum ak_log_level { AK_LOG_ERROR, AK_LOG_WARN, AK_LOG_INFO, AK_LOG_DEBUG } ak_log_level_t;

void ak_log_set_level(ak_log_level_t lvl);
ak_log_level_t ak_log_get_level(void);
void ak_log_set_debug(const char *components);
int ak_log_enabled(ak_log_level_t lvl, const char *tag);

void ak_log(ak_log_level_t lvl, const char *tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define ak_log_error(tag, ...) ak_log(AK_LOG_ERROR, tag, __VA_ARGS__)
#define ak_log_warn(tag, ...) ak_log(AK_LOG_WARN, tag, __VA_ARGS__)
#define ak_log_info(tag, ...) ak_log(AK_LOG_INFO, tag, __VA_ARGS__)
#define ak_log_debug(tag, ...)                         \
    do {                                               \
        if (ak_log_enabled(AK_LOG_DEBUG, tag))         \
            ak_log(AK_LOG_DEBUG, tag, __VA_ARGS__);    \
    } while (0)

/* Invariant checks: print the condition, message and a backtrace, then abort.
 * For conditions believed impossible, never for bad input. */
#define ak_assert(cond, ...)                                                  \
    do {                                                                      \
        if (__builtin_expect(!(cond), 0))                                     \
            ak__assert_fail(#cond, __FILE__, __LINE__, __VA_ARGS__);          \
    } while (0)
_Noreturn void ak__assert_fail(const char *cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
