/* ak_args.h - command-line options for akili's commands.
 *
 * A command declares its options in a table; parsing accepts `--name value`,
 * `--name=value` and bare flags, collects positional arguments, and turns
 * anything unexpected into a usage error with a hint (exit code 2).
 */
#ifndef AK_ARGS_H
#define AK_ARGS_H

#include <stdbool.h>

typedef struct ak_argopt {
    const char *name;   /* "connector-type" (without dashes) */
    const char *arg;    /* metavariable ("TYPE"), or NULL for a flag */
    const char *help;
} ak_argopt_t;

typedef struct ak_args {
    const ak_argopt_t *opts;
    int nopts;
    const char *values[32];   /* per option: value, "" for a set flag, NULL if absent */
    const char *pos[16];
    int npos;
    bool help;
} ak_args_t;

/* Parses argv[0..argc) (the words after the command).  On a usage error
 * prints it to stderr and returns -1. */
int ak_args_parse(ak_args_t *a, const ak_argopt_t *opts, int nopts, int argc, char **argv, const char *cmd);
const char *ak_args_get(const ak_args_t *a, const char *name);
bool ak_args_flag(const ak_args_t *a, const char *name);
/* Prints the options table (for --help). */
void ak_args_print(const ak_argopt_t *opts, int nopts);
/* Prints "akili: CMD: message" and a pointer to --help; returns 2. */
int ak_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
