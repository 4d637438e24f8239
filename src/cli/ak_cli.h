/* ak_cli.h - what every command gets: the home directory, the catalog
 * (opened on first use) and the error-to-exit-code rule (0 ok, 1 failed,
 * 2 usage). */
#ifndef AK_CLI_H
#define AK_CLI_H

#include <stdbool.h>

#include "ak_args.h"
#include "ak_catalog.h"
#include "ak_error.h"

typedef struct ak_cli {
    const char *home;
    ak_catalog_t *cat;
    bool quiet;
} ak_cli_t;

int ak_cli_catalog(ak_cli_t *c, ak_catalog_t **out);
/* Prints the error; returns the exit code for it. */
int ak_cli_fail(const ak_err_t *err);

typedef int (*ak_cmd_fn)(ak_cli_t *c, int argc, char **argv);

int ak_cmd_connection(ak_cli_t *c, int argc, char **argv);
int ak_cmd_product(ak_cli_t *c, int argc, char **argv);
int ak_cmd_run(ak_cli_t *c, int argc, char **argv);
int ak_cmd_governance(ak_cli_t *c, int argc, char **argv);
int ak_cmd_query(ak_cli_t *c, int argc, char **argv);
int ak_cmd_explain(ak_cli_t *c, int argc, char **argv);
int ak_cmd_deadletter(ak_cli_t *c, int argc, char **argv);
int ak_cmd_state(ak_cli_t *c, int argc, char **argv);
int ak_cmd_lake(ak_cli_t *c, int argc, char **argv);

/* Sub-command dispatch helper. */
typedef struct ak_subcmd {
    const char *name;
    ak_cmd_fn fn;
    const char *summary;
} ak_subcmd_t;
int ak_cli_dispatch(ak_cli_t *c, const char *group, const char *group_help, const ak_subcmd_t *subs, int n, int argc,
                    char **argv);

#endif
