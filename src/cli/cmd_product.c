/* cmd_product.c - `akili product create|deploy|list|show`. */
#include "ak_cli.h"

#include "ak_alloc.h"
#include "ak_engine.h"
#include "ak_manifest.h"
#include "ak_options.h"
#include "ak_out.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int create(ak_cli_t *c, int argc, char **argv)
{
    static const ak_argopt_t opts[] = {
        {"name", "NAME", "product name ([a-z_][a-z0-9_]*): also its table name"},
        {"namespace", "NS", "namespace ([a-z_][a-z0-9_]*): the table is NS.NAME"},
        {"archetype", "KIND", "source, aligned or consumer (free text, for catalogs)"},
    };
    ak_args_t a;
    if (ak_args_parse(&a, opts, 3, argc, argv, "product create"))
        return 2;
    if (a.help) {
        printf("usage: akili product create --name NAME --namespace NS [--archetype KIND]\n\n"
               "Registers a product.  Deploy its manifests with `akili product deploy NAME --version V`.\n\n");
        ak_args_print(opts, 3);
        return 0;
    }
    const char *name = ak_args_get(&a, "name"), *ns = ak_args_get(&a, "namespace"),
               *arch = ak_args_get(&a, "archetype");
    if (!name || !ns)
        return ak_usage_error("product create", "--name and --namespace are required");
    if (a.npos)
        return ak_usage_error("product create", "unexpected argument `%s`", a.pos[0]);
    if (!ak_is_ident(name) || !ak_is_ident(ns))
        return ak_usage_error("product create", "names must match [a-z_][a-z0-9_]* (they become SQL identifiers): `%s`",
                              ak_is_ident(name) ? ns : name);
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_err_t err;
    if (ak_cat_product_create(cat, name, ns, arch, &err))
        return ak_cli_fail(&err);
    printf("product `%s` created in namespace `%s`; its table will be %s.%s\n", name, ns, ns, name);
    return 0;
}

static bool is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int deploy(ak_cli_t *c, int argc, char **argv)
{
    static const ak_argopt_t opts[] = {
        {"version", "V", "version label to record (e.g. 1.0.0)"},
        {"dir", "DIR", "directory of the manifests (default: ./NAME, ./products/NAME or ./examples/NAME)"},
    };
    ak_args_t a;
    if (ak_args_parse(&a, opts, 2, argc, argv, "product deploy"))
        return 2;
    if (a.help) {
        printf("usage: akili product deploy NAME --version V [--dir DIR]\n\n"
               "Validates the product's manifests (product, inputs, transform SQL, output, quality, serving,\n"
               "compute) and records them as version V, the one runs use.  The manifests are read from --dir,\n"
               "else from the first of ./NAME, ./products/NAME and ./examples/NAME that exists.  The files are\n"
               "stored in the catalog: later edits on disk change nothing until the next deploy.\n\n");
        ak_args_print(opts, 2);
        return 0;
    }
    if (a.npos != 1)
        return ak_usage_error("product deploy", "expected one product name");
    const char *name = a.pos[0], *version = ak_args_get(&a, "version"), *dir = ak_args_get(&a, "dir");
    if (!version || !*version)
        return ak_usage_error("product deploy", "--version is required");
    char buf[3][4200];
    if (!dir) {
        snprintf(buf[0], sizeof buf[0], "./%s", name);
        snprintf(buf[1], sizeof buf[1], "./products/%s", name);
        snprintf(buf[2], sizeof buf[2], "./examples/%s", name);
        for (int i = 0; i < 3 && !dir; i++)
            if (is_dir(buf[i]))
                dir = buf[i];
        if (!dir) {
            fprintf(stderr, "akili: error: no manifests found for `%s` (looked in ./%s, ./products/%s and "
                            "./examples/%s); give the directory with --dir\n",
                    name, name, name, name);
            return 1;
        }
    }
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_err_t err;
    ak_buf_t report = AK_BUF_INIT;
    if (ak_engine_deploy(cat, name, version, dir, &report, &err)) {
        ak_buf_free(&report);
        return ak_cli_fail(&err);
    }
    printf("deployed %s version %s from %s\n%s", name, version, dir, report.data ? report.data : "");
    printf("run it with `akili run start %s --once` (or without --once to follow its sources)\n", name);
    ak_buf_free(&report);
    return 0;
}

static int list(ak_cli_t *c, int argc, char **argv)
{
    ak_args_t a;
    if (ak_args_parse(&a, NULL, 0, argc, argv, "product list"))
        return 2;
    if (a.help) {
        printf("usage: akili product list\n\nLists products with their deployed version and last run.\n\n");
        ak_args_print(NULL, 0);
        return 0;
    }
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_product_rec_t *v;
    size_t n;
    ak_err_t err;
    if (ak_cat_product_list(cat, &v, &n, &err))
        return ak_cli_fail(&err);
    const char *head[] = {"NAME", "TABLE", "ARCHETYPE", "VERSION", "DEPLOYED", "LAST RUN"};
    ak_grid_t g;
    ak_grid_init(&g, 6, head);
    for (size_t i = 0; i < n; i++) {
        char table[300], t[64], last[200] = "-";
        snprintf(table, sizeof table, "%s.%s", v[i].namespace_, v[i].name);
        ak_run_rec_t *runs;
        size_t nr;
        if (ak_cat_run_list(cat, v[i].name, 1, &runs, &nr, &err) == 0) {
            if (nr) {
                char t2[64];
                snprintf(last, sizeof last, "#%lld %s %s", (long long)runs[0].id, ak_run_status_name(runs[0].status),
                         ak_out_time(runs[0].started_us, t2, sizeof t2));
            }
            ak_cat_run_free_list(runs, nr);
        }
        ak_grid_add(&g, v[i].name, table, v[i].archetype, v[i].active_version,
                    ak_out_time(v[i].deployed_us, t, sizeof t), last);
    }
    if (n)
        ak_grid_print(stdout, &g);
    else
        printf("no products yet (create one with `akili product create --name NAME --namespace NS`)\n");
    ak_grid_free(&g);
    ak_cat_product_free_list(v, n);
    return 0;
}

static int show(ak_cli_t *c, int argc, char **argv)
{
    static const ak_argopt_t opts[] = {
        {"files", NULL, "print the deployed manifest files"},
    };
    ak_args_t a;
    if (ak_args_parse(&a, opts, 1, argc, argv, "product show"))
        return 2;
    if (a.help) {
        printf("usage: akili product show NAME [--files]\n\nShows a product, its deployed version and what the manifests say.\n\n");
        ak_args_print(opts, 1);
        return 0;
    }
    if (a.npos != 1)
        return ak_usage_error("product show", "expected one product name");
    ak_catalog_t *cat;
    int rc = ak_cli_catalog(c, &cat);
    if (rc)
        return rc;
    ak_product_rec_t p;
    ak_err_t err;
    if (ak_cat_product_get(cat, a.pos[0], &p, &err))
        return ak_cli_fail(&err);
    char t[64];
    printf("product:    %s\ntable:      %s.%s\narchetype:  %s\nversion:    %s\ndeployed:   %s\n", p.name,
           p.namespace_, p.name, p.archetype ? p.archetype : "-", p.active_version ? p.active_version : "(not deployed)",
           ak_out_time(p.deployed_us, t, sizeof t));
    if (p.active_version) {
        if (ak_args_flag(&a, "files")) {
            ak_file_rec_t *files;
            size_t n;
            if (ak_cat_version_files(cat, p.name, p.active_version, &files, &n, &err) == 0) {
                for (size_t i = 0; i < n; i++)
                    printf("\n--- %s ---\n%s%s", files[i].name, files[i].text,
                           files[i].len && files[i].text[files[i].len - 1] == '\n' ? "" : "\n");
                ak_cat_files_free(files, n);
            }
        } else {
            ak_manifest_t *m;
            if (ak_engine_manifest(cat, p.name, &m, NULL, &err) == 0) {
                ak_buf_t b = AK_BUF_INIT;
                ak_manifest_dump(m, &b);
                printf("\n%s", b.data ? b.data : "");
                ak_buf_free(&b);
                ak_manifest_free(m);
            } else {
                fprintf(stderr, "akili: %s\n", err.msg);
            }
        }
    }
    ak_cat_product_free(&p);
    return 0;
}

int ak_cmd_product(ak_cli_t *c, int argc, char **argv)
{
    static const ak_subcmd_t subs[] = {
        {"create", create, "register a product"},
        {"deploy", deploy, "validate and deploy a version of its manifests"},
        {"list", list, "list products"},
        {"show", show, "show a product and its manifests"},
    };
    return ak_cli_dispatch(c, "product", "A data product: inputs, a SQL transform, quality checks and an output table.",
                           subs, 4, argc, argv);
}
