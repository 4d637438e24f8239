/* ak_args.c - option parsing for commands. */
#include "ak_args.h"

#include "ak_suggest.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ak_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "akili %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see `akili %s --help`)\n", cmd);
    return 2;
}

int ak_args_parse(ak_args_t *a, const ak_argopt_t *opts, int nopts, int argc, char **argv, const char *cmd)
{
    memset(a, 0, sizeof *a);
    a->opts = opts;
    a->nopts = nopts;
    bool only_pos = false;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (!only_pos && strcmp(w, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (!only_pos && (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0)) {
            a->help = true;
            continue;
        }
        if (!only_pos && w[0] == '-' && w[1] == '-' && w[2]) {
            const char *name = w + 2, *eq = strchr(name, '=');
            size_t nl = eq ? (size_t)(eq - name) : strlen(name);
            int k = -1;
            for (int j = 0; j < nopts; j++)
                if (strlen(opts[j].name) == nl && strncmp(opts[j].name, name, nl) == 0)
                    k = j;
            if (k < 0) {
                const char *cands[32];
                for (int j = 0; j < nopts && j < 32; j++)
                    cands[j] = opts[j].name;
                char nm[128];
                snprintf(nm, sizeof nm, "%.*s", (int)nl, name);
                const char *s = ak_suggest(nm, cands, (size_t)(nopts < 32 ? nopts : 32));
                if (s)
                    ak_usage_error(cmd, "unknown option `--%s`; did you mean `--%s`?", nm, s);
                else
                    ak_usage_error(cmd, "unknown option `--%s`", nm);
                return -1;
            }
            if (!opts[k].arg) {
                if (eq) {
                    ak_usage_error(cmd, "option `--%s` takes no value", opts[k].name);
                    return -1;
                }
                a->values[k] = "";
            } else if (eq) {
                a->values[k] = eq + 1;
            } else {
                if (i + 1 >= argc) {
                    ak_usage_error(cmd, "option `--%s` needs a value (%s)", opts[k].name, opts[k].arg);
                    return -1;
                }
                a->values[k] = argv[++i];
            }
            continue;
        }
        if (a->npos == 16) {
            ak_usage_error(cmd, "too many arguments");
            return -1;
        }
        a->pos[a->npos++] = w;
    }
    return 0;
}

const char *ak_args_get(const ak_args_t *a, const char *name)
{
    for (int j = 0; j < a->nopts; j++)
        if (strcmp(a->opts[j].name, name) == 0)
            return a->values[j];
    return NULL;
}

bool ak_args_flag(const ak_args_t *a, const char *name) { return ak_args_get(a, name) != NULL; }

void ak_args_print(const ak_argopt_t *opts, int nopts)
{
    for (int j = 0; j < nopts; j++) {
        char left[80];
        snprintf(left, sizeof left, "--%s%s%s", opts[j].name, opts[j].arg ? " " : "", opts[j].arg ? opts[j].arg : "");
        printf("  %-28s %s\n", left, opts[j].help);
    }
    printf("  %-28s %s\n", "--help", "show this help");
}
