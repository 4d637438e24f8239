/* main.c - the `akili` command: global options, command dispatch, signals.
 *
 * Exit codes: 0 success, 1 the command failed (the message says why),
 * 2 usage error.  State lives under $AKILI_HOME (default ./.akili).
 */
#include "ak_cli.h"

#include "ak_engine.h"
#include "ak_log.h"
#include "ak_suggest.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AKILI_VERSION "0.1.0"

static const struct {
    const char *name;
    ak_cmd_fn fn;
    const char *summary;
} commands[] = {
    {"connection", ak_cmd_connection, "register and test connections to sources (create, test, list, show, delete)"},
    {"product", ak_cmd_product, "create, deploy and inspect data products (create, deploy, list, show)"},
    {"run", ak_cmd_run, "run products and look at their runs (start, list, reset)"},
    {"governance", ak_cmd_governance, "quality results and freshness SLAs (quality, sla)"},
    {"query", ak_cmd_query, "run SQL over published tables"},
    {"explain", ak_cmd_explain, "show how a product's transform runs"},
    {"deadletter", ak_cmd_deadletter, "records that could not be read (list, replay)"},
    {"state", ak_cmd_state, "what a product's runs keep in memory and checkpoint (inspect)"},
    {"lake", ak_cmd_lake, "read a product's Iceberg table (scan, snapshots)"},
};

static void usage(FILE *f)
{
    fprintf(f, "akili %s - streaming data products: ingest, transform incrementally, gate on quality, publish, query\n\n"
               "usage: akili [--home DIR] [--quiet] [--verbose] [--debug COMPONENTS] COMMAND [ARGS]\n\ncommands:\n",
            AKILI_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nglobal options:\n"
               "  --home DIR          state directory (default $AKILI_HOME, else ./.akili)\n"
               "  --quiet, -q         only errors on stderr\n"
               "  --verbose, -v       more progress on stderr\n"
               "  --debug COMPONENTS  debug lines for components (comma-separated, or `all`)\n"
               "  --version           print the version\n"
               "  --help, -h          this help; `akili COMMAND --help` for a command\n\n"
               "exit codes: 0 ok, 1 failed, 2 usage error\n");
}

int ak_cli_fail(const ak_err_t *err)
{
    fprintf(stderr, "akili: error: %s\n", err->msg[0] ? err->msg : ak_strerror(err->code));
    return err->code == AK_E_USAGE ? 2 : 1;
}

int ak_cli_catalog(ak_cli_t *c, ak_catalog_t **out)
{
    if (!c->cat) {
        ak_err_t err;
        if (ak_catalog_open(c->home, &c->cat, &err))
            return ak_cli_fail(&err);
    }
    *out = c->cat;
    return 0;
}

int ak_cli_dispatch(ak_cli_t *c, const char *group, const char *group_help, const ak_subcmd_t *subs, int n, int argc,
                    char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "help") == 0) {
        FILE *f = argc < 1 ? stderr : stdout;
        fprintf(f, "usage: akili %s SUBCOMMAND [ARGS]\n\n%s\n\nsubcommands:\n", group, group_help);
        for (int i = 0; i < n; i++)
            fprintf(f, "  %-10s %s\n", subs[i].name, subs[i].summary);
        fprintf(f, "\n`akili %s SUBCOMMAND --help` describes each.\n", group);
        return argc < 1 ? 2 : 0;
    }
    for (int i = 0; i < n; i++)
        if (strcmp(argv[0], subs[i].name) == 0)
            return subs[i].fn(c, argc - 1, argv + 1);
    const char *names[16];
    for (int i = 0; i < n && i < 16; i++)
        names[i] = subs[i].name;
    const char *s = ak_suggest(argv[0], names, (size_t)(n < 16 ? n : 16));
    fprintf(stderr, "akili %s: unknown subcommand `%s`%s%s%s (see `akili %s --help`)\n", group, argv[0],
            s ? "; did you mean `" : "", s ? s : "", s ? "`?" : "", group);
    return 2;
}

static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
    (void)sig;
    if (signals_seen++) {
        static const char msg[] = "akili: stopping now (the next run recovers from the last checkpoint)\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(130);
    }
    ak_engine_request_stop();
}

int main(int argc, char **argv)
{
    /* The batch engine allocates and frees large arrays one after another:
     * keep them in the process instead of mapping each afresh (page faults
     * dominated a profile of the 1M-event transform).  Above 64 MB arrays
     * are mapped, so the operators' long-lived state grows by mremap instead
     * of copying (a copy of a few hundred MB would stall a micro-batch). */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    /* the heap grows 32 MB at a time, advised as huge pages as it does
     * (ak_alloc.c: a third fewer page faults filling the state) */
    mallopt(M_TOP_PAD, 32 << 20);
    ak_cli_t cli = {0};
    const char *home = getenv("AKILI_HOME");
    cli.home = home && *home ? home : "./.akili";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--home") == 0 && i + 1 < argc) {
            cli.home = argv[++i];
        } else if (strncmp(a, "--home=", 7) == 0) {
            cli.home = a + 7;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            cli.quiet = true;
            ak_log_set_level(AK_LOG_ERROR);
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            ak_log_set_level(AK_LOG_INFO);
        } else if (strcmp(a, "--debug") == 0 && i + 1 < argc) {
            ak_log_set_debug(argv[++i]);
        } else if (strcmp(a, "--version") == 0) {
            printf("akili %s\n", AKILI_VERSION);
            return 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "akili: unknown option `%s` (see `akili --help`)\n", a);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[i], "help") == 0) {
        usage(stdout);
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = -1;
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(argv[i], commands[k].name) == 0)
            rc = commands[k].fn(&cli, argc - i - 1, argv + i + 1);
    if (rc < 0) {
        const char *names[16];
        size_t n = sizeof commands / sizeof commands[0];
        for (size_t k = 0; k < n; k++)
            names[k] = commands[k].name;
        const char *s = ak_suggest(argv[i], names, n);
        fprintf(stderr, "akili: unknown command `%s`%s%s%s (see `akili --help`)\n", argv[i], s ? "; did you mean `" : "",
                s ? s : "", s ? "`?" : "");
        rc = 2;
    }
    ak_catalog_close(cli.cat);
    return rc;
}
