/* ak_manifest.c - loading a product's files into an ak_manifest_t: file
 * handling, the top level (which sections exist, where), the canonical dump
 * and the generated reference.  The sections themselves are read in
 * ak_manifest_sections.c.
 *
 * Memory: every string and array of a manifest lives in one arena (freed by
 * ak_manifest_free), except the inputs' ak_schema_t, which have their own
 * allocations, and the parsed YAML documents, kept so connector options can
 * still point into them.
 */
#include "ak_manifest_int.h"

#include "ak_alloc.h"
#include "ak_suggest.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILE_BYTES (16u << 20)

static bool has_suffix(const char *s, const char *sfx)
{
    size_t n = strlen(s), k = strlen(sfx);
    return n > k && strcmp(s + n - k, sfx) == 0;
}

static bool is_yaml(const char *name) { return has_suffix(name, ".yaml") || has_suffix(name, ".yml"); }
static bool is_sql(const char *name) { return has_suffix(name, ".sql"); }

void ak_manifest_free(ak_manifest_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_inputs; i++)
        ak_schema_free(&m->inputs[i].schema);
    if (m->priv) {
        for (size_t i = 0; i < m->priv->n_docs; i++)
            ak_cfg_free(m->priv->docs[i]);
        ak_arena_free(&m->priv->arena);
        ak_free(m->priv);
    }
    ak_free(m);
}

/* Copies the files into the manifest, checking their names. */
static int copy_files(ak__mctx_t *c, const ak_mfile_t *files, size_t n)
{
    ak_manifest_priv_t *p = c->m->priv;
    p->files = ak_arena_zalloc(c->a, (n ? n : 1) * sizeof *p->files);
    p->docs = ak_arena_zalloc(c->a, (n ? n : 1) * sizeof *p->docs);
    if (!p->files || !p->docs)
        return ak_err_nomem(c->err);
    for (size_t i = 0; i < n; i++) {
        const char *name = files[i].name ? files[i].name : "";
        if (!is_yaml(name) && !is_sql(name))
            return ak_errf(c->err, AK_E_CONFIG, "`%.200s`: a product's files are YAML manifests (.yaml, .yml) "
                           "and SQL (.sql)", name);
        if (strchr(name, '/'))
            return ak_errf(c->err, AK_E_CONFIG, "`%.200s`: product file names have no directory part", name);
        for (size_t k = 0; k < i; k++)
            if (strcmp(p->files[k].name, name) == 0)
                return ak_errf(c->err, AK_E_CONFIG, "`%.200s` is given twice", name);
        char *nm = ak_arena_strdup(c->a, name);
        char *tx = ak_arena_alloc_bytes(c->a, files[i].len + 1);
        if (!nm || !tx)
            return ak_err_nomem(c->err);
        if (files[i].len)
            memcpy(tx, files[i].text, files[i].len);
        tx[files[i].len] = '\0';
        p->files[i] = (ak_mfile_t){nm, tx, files[i].len};
        p->n_files = i + 1;
    }
    return 0;
}

/* Where each top-level section was found. */
typedef struct section_slot {
    const ak_cfg_node_t *key;    /* NULL: not given */
    const ak_cfg_node_t *value;
} section_slot_t;

static int collect_sections(ak__mctx_t *c, section_slot_t *slots)
{
    ak_manifest_priv_t *p = c->m->priv;
    /* per file, the section table without "required": that is checked
     * across all files below */
    ak_option_t opts[16];
    memcpy(opts, ak__section_opts, ak__n_section_opts * sizeof *opts);
    for (size_t i = 0; i < ak__n_section_opts; i++)
        opts[i].flags &= ~AK_OPT_REQUIRED;
    for (size_t i = 0; i < p->n_files; i++) {
        const ak_mfile_t *f = &p->files[i];
        if (!is_yaml(f->name))
            continue;
        if (ak_cfg_parse(f->name, f->text, f->len, &p->docs[p->n_docs], c->err))
            return -1;
        const ak_cfg_node_t *root = ak_cfg_root(p->docs[p->n_docs++]);
        if (!root)
            continue; /* empty file: contributes nothing */
        if (root->kind != AK_CFG_MAP)
            return ak_cfg_errf(c->err, root, "a manifest file must be a map of sections (product, inputs, "
                               "transform, output, quality, serving, compute), got %s", ak_cfg_describe(root));
        if (ak_options_validate(opts, ak__n_section_opts, root, "the manifest", c->err))
            return -1;
        for (size_t k = 0; k < root->n; k++) {
            const ak_cfg_pair_t *pr = &root->pairs[k];
            for (size_t s = 0; s < ak__n_section_opts; s++) {
                if (strcmp(ak__section_opts[s].name, pr->key->text) != 0)
                    continue;
                if (slots[s].key)
                    return ak_cfg_errf(c->err, pr->key, "section `%s` is already given at %s:%d:%d; each section "
                                       "may appear once across the product's files", pr->key->text,
                                       slots[s].key->file, slots[s].key->line, slots[s].key->col);
                slots[s].key = pr->key;
                slots[s].value = ak_cfg_is_null(pr->value) ? NULL : pr->value;
            }
        }
    }
    return 0;
}

static int missing_section(ak__mctx_t *c, const char *name)
{
    ak_manifest_priv_t *p = c->m->priv;
    char list[400];
    size_t o = 0;
    list[0] = '\0';
    for (size_t i = 0; i < p->n_files && o + 60 < sizeof list; i++)
        if (is_yaml(p->files[i].name)) {
            int w = snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", p->files[i].name);
            if (w > 0)
                o += (size_t)w;
        }
    if (!o)
        return ak_errf(c->err, AK_E_CONFIG, "no manifest files: a product needs YAML files (.yaml or .yml) with "
                       "the sections product, inputs and output");
    return ak_errf(c->err, AK_E_CONFIG, "missing required section `%s` (not in %s)", name, list);
}

static int load_sections(ak__mctx_t *c)
{
    section_slot_t slots[16];
    memset(slots, 0, sizeof slots);
    if (collect_sections(c, slots))
        return -1;
    for (size_t s = 0; s < ak__n_section_opts; s++) {
        if (!(ak__section_opts[s].flags & AK_OPT_REQUIRED))
            continue;
        if (!slots[s].key)
            return missing_section(c, ak__section_opts[s].name);
        if (!slots[s].value)
            return ak_cfg_errf(c->err, slots[s].key, "section `%s` is empty", ak__section_opts[s].name);
    }
    /* in ak__section_opts order: product, inputs, transform, output,
     * quality, serving (which checks index columns against output), compute */
    int (*const loaders[])(ak__mctx_t *, const ak_cfg_node_t *) = {
        ak__load_product, ak__load_inputs, ak__load_transform, ak__load_output,
        ak__load_quality, ak__load_serving, ak__load_compute,
    };
    for (size_t s = 0; s < ak__n_section_opts; s++)
        if (loaders[s](c, slots[s].value))
            return -1;
    return 0;
}

int ak_manifest_load_files(const ak_mfile_t *files, size_t n, ak_manifest_t **out, ak_err_t *err)
{
    *out = NULL;
    ak_manifest_t *m = ak_calloc(1, sizeof *m);
    if (!m)
        return ak_err_nomem(err);
    m->priv = ak_calloc(1, sizeof *m->priv);
    if (!m->priv) {
        ak_free(m);
        return ak_err_nomem(err);
    }
    ak_arena_init(&m->priv->arena, 16384);
    ak__mctx_t c = {m, &m->priv->arena, err};
    if (copy_files(&c, files, n) || load_sections(&c))
        goto fail;
    *out = m;
    return 0;
fail:
    ak_manifest_free(m);
    return -1;
}

/* ---- from a directory ---- */

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int read_file(const char *path, char **text, size_t *len, ak_err_t *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (!f)
        return ak_errf(err, AK_E_IO, "cannot read `%s`: %s", path, strerror(errno));
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_FILE_BYTES) {
                ak_errf(err, AK_E_CONFIG, "`%s` is larger than %u MiB; that is not a manifest", path,
                        MAX_FILE_BYTES >> 20);
                goto fail;
            }
            cap = cap ? cap * 2 : 4096;
            char *nb = ak_realloc(buf, cap + 1);
            if (!nb) {
                ak_err_nomem(err);
                goto fail;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        ak_errf(err, AK_E_IO, "cannot read `%s`: %s", path, strerror(errno));
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
fail:
    fclose(f);
    ak_free(buf);
    return -1;
}

int ak_manifest_load_dir(const char *dir, ak_manifest_t **out, ak_err_t *err)
{
    char **names = NULL;
    ak_mfile_t *files = NULL;
    size_t n = 0, cap = 0, nread = 0;
    char *path = NULL;
    int rc = -1;
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return ak_errf(err, AK_E_IO, "cannot read the product directory `%s`: %s", dir, strerror(errno));
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || (!is_yaml(de->d_name) && !is_sql(de->d_name)))
            continue;
        if (AK_GROW(names, cap, n + 1)) {
            ak_err_nomem(err);
            goto done;
        }
        if (!(names[n] = ak_strdup(de->d_name))) {
            ak_err_nomem(err);
            goto done;
        }
        n++;
    }
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    files = ak_calloc(n ? n : 1, sizeof *files);
    path = ak_malloc(strlen(dir) + 300);
    if (!files || !path) {
        ak_err_nomem(err);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (strlen(names[i]) > 255)
            continue;
        sprintf(path, "%s/%s", dir, names[i]);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue; /* a directory called x.yaml, a dangling link */
        char *text = NULL;
        size_t len = 0;
        if (read_file(path, &text, &len, err))
            goto done;
        files[nread++] = (ak_mfile_t){names[i], text, len};
    }
    rc = ak_manifest_load_files(files, nread, out, err);
done:
    if (d)
        closedir(d);
    for (size_t i = 0; i < nread; i++)
        ak_free((void *)files[i].text);
    for (size_t i = 0; i < n; i++)
        ak_free(names[i]);
    ak_free(names);
    ak_free(files);
    ak_free(path);
    return rc;
}

/* ---- queries ---- */

const ak_mfile_t *ak_manifest_files(const ak_manifest_t *m, size_t *n)
{
    *n = m->priv->n_files;
    return m->priv->files;
}

const ak_input_t *ak_manifest_input(const ak_manifest_t *m, const char *name)
{
    for (size_t i = 0; i < m->n_inputs; i++)
        if (strcmp(m->inputs[i].name, name) == 0)
            return &m->inputs[i];
    return NULL;
}

int ak_manifest_output_schema(const ak_manifest_t *m, ak_schema_t *out, ak_err_t *err)
{
    const ak_output_t *o = &m->output;
    out->n = 0;
    out->cols = NULL;
    for (size_t i = 0; i < o->n_schema; i++) {
        bool key = false;
        for (size_t k = 0; k < o->n_primary_key; k++)
            key |= strcmp(o->primary_key[k], o->schema[i].name) == 0;
        if (ak_schema_add(out, o->schema[i].name, o->schema[i].type, key, key)) {
            ak_schema_free(out);
            return i >= AK_MAX_COLUMNS ? ak_errf(err, AK_E_CONFIG, "the output has more than %d columns", AK_MAX_COLUMNS)
                                       : ak_err_nomem(err);
        }
    }
    return 0;
}

/* ---- names of enum values (the tables' choices, in enum order) ---- */

static const char *pick(const char *const *names, size_t n, unsigned v) { return v < n ? names[v] : "?"; }
#define PICK(arr, v) pick(arr, sizeof arr / sizeof arr[0], (unsigned)(v))

const char *ak_strategy_name(ak_strategy_t s)
{
    static const char *const n[] = {"append", "cdc", "incremental", "full"};
    return PICK(n, s);
}
const char *ak_input_format_name(ak_input_format_t f)
{
    static const char *const n[] = {"auto", "ndjson", "csv", "debezium"};
    return PICK(n, f);
}
const char *ak_output_format_name(ak_output_format_t f)
{
    static const char *const n[] = {"table", "iceberg", "parquet"};
    return PICK(n, f);
}
const char *ak_severity_name(ak_severity_t s)
{
    static const char *const n[] = {"critical", "warning"};
    return PICK(n, s);
}
const char *ak_intent_name(ak_intent_t i)
{
    static const char *const n[] = {"analytics", "lookup"};
    return PICK(n, i);
}
const char *ak_index_type_name(ak_index_type_t t)
{
    static const char *const n[] = {"sort_key", "index", "unique"};
    return PICK(n, t);
}

/* ---- dump ---- */

static void put_str(ak_buf_t *b, const char *s)
{
    if (!s) {
        ak_buf_puts(b, "~");
        return;
    }
    for (; *s; s++) {
        if (*s == '\n')
            ak_buf_puts(b, "\\n");
        else if (*s == '\\')
            ak_buf_puts(b, "\\\\");
        else
            ak_buf_putc(b, *s);
    }
}

static void kv(ak_buf_t *b, const char *key, const char *s)
{
    ak_buf_puts(b, key);
    ak_buf_puts(b, ": ");
    put_str(b, s);
    ak_buf_putc(b, '\n');
}

static void kv_list(ak_buf_t *b, const char *key, char *const *v, size_t n)
{
    ak_buf_printf(b, "%s: [", key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            ak_buf_puts(b, ", ");
        put_str(b, v[i]);
    }
    ak_buf_puts(b, "]\n");
}

static void kv_loc(ak_buf_t *b, const char *key, const ak_loc_t *l)
{
    ak_buf_printf(b, "%s: %s:%d:%d\n", key, l->file ? l->file : "~", l->line, l->col);
}

static void kv_dur(ak_buf_t *b, const char *key, int64_t us)
{
    char d[AK_DURATION_BUF];
    ak_format_duration(us, d);
    ak_buf_printf(b, "%s: %s\n", key, d);
}

static void dump_input(ak_buf_t *b, const ak_input_t *in, size_t i)
{
    char k[96];
#define K(name) (snprintf(k, sizeof k, "inputs[%zu].%s", i, name), k)
    kv(b, K("name"), in->name);
    kv_loc(b, K("loc"), &in->loc);
    kv(b, K("kind"), in->kind);
    kv(b, K("connection"), in->connection);
    kv(b, K("resource"), in->resource);
    kv(b, K("description"), in->description);
    kv(b, K("strategy"), ak_strategy_name(in->strategy));
    kv(b, K("cursor_field"), in->cursor_field);
    kv(b, K("schedule"), in->schedule);
    kv(b, K("format"), ak_input_format_name(in->format));
    kv_list(b, K("primary_key"), in->primary_key, in->n_primary_key);
    ak_buf_printf(b, "%s: %s\n", K("options"), in->options ? "given" : "~");
    for (int c = 0; c < in->schema.n; c++) {
        const ak_column_t *col = &in->schema.cols[c];
        snprintf(k, sizeof k, "inputs[%zu].columns[%d]", i, c);
        ak_buf_printf(b, "%s: %s %s%s%s @%s:%d:%d doc=", k, col->name, ak_type_name(col->type),
                      col->key ? " key" : "", col->required ? " required" : "", in->column_loc[c].file,
                      in->column_loc[c].line, in->column_loc[c].col);
        put_str(b, in->column_doc[c]);
        ak_buf_putc(b, '\n');
    }
#undef K
}

void ak_manifest_dump(const ak_manifest_t *m, ak_buf_t *b)
{
    char k[128];
    const ak_product_t *p = &m->product;
    kv(b, "product.name", p->name);
    kv(b, "product.namespace", p->namespace);
    kv(b, "product.version", p->version);
    kv(b, "product.archetype", p->archetype);
    kv(b, "product.description", p->description);
    kv(b, "product.owner", p->owner);
    kv_list(b, "product.tags", p->tags, p->n_tags);
    kv_loc(b, "product.loc", &p->loc);
    for (size_t i = 0; i < m->n_inputs; i++)
        dump_input(b, &m->inputs[i], i);
    ak_buf_printf(b, "transform.at: %s:%d:%d\n", m->transform.file, m->transform.line, m->transform.col);
    kv(b, "transform.description", m->transform.description);
    kv(b, "transform.sql", m->transform.sql);
    const ak_output_t *o = &m->output;
    kv(b, "output.format", ak_output_format_name(o->format));
    for (size_t i = 0; i < o->n_partition_key; i++)
        ak_buf_printf(b, "output.partition_key[%zu]: %s column=%d unit=%s\n", i, o->partition_key[i].name,
                      o->partition_key[i].column,
                      o->partition_key[i].unit ? ak_tunit_name(o->partition_key[i].unit) : "-");
    if (o->has_retention)
        ak_buf_printf(b, "output.retention: %lld days, %s\n", (long long)o->retention_days,
                      o->retention_policy == AK_RETENTION_ARCHIVE ? "archive" : "delete");
    kv_list(b, "output.primary_key", o->primary_key, o->n_primary_key);
    kv(b, "output.warehouse", o->warehouse);
    for (size_t i = 0; i < o->n_schema; i++) {
        ak_buf_printf(b, "output.schema[%zu]: %s %s @%d doc=", i, o->schema[i].name, ak_type_name(o->schema[i].type),
                      o->schema[i].loc.line);
        put_str(b, o->schema[i].description);
        ak_buf_putc(b, '\n');
    }
    for (size_t i = 0; i < m->quality.n_checks; i++) {
        const ak_check_t *c = &m->quality.checks[i];
        ak_buf_printf(b, "quality.checks[%zu]: %s %s threshold=%.17g sql@%s:%d:%d doc=", i, c->name,
                      ak_severity_name(c->severity), c->threshold, c->sql_loc.file, c->sql_loc.line, c->sql_loc.col);
        put_str(b, c->description);
        ak_buf_putc(b, '\n');
        snprintf(k, sizeof k, "quality.checks[%zu].sql", i);
        kv(b, k, c->sql);
    }
    for (size_t i = 0; i < m->serving.n_modes; i++) {
        const ak_serving_mode_t *s = &m->serving.modes[i];
        ak_buf_printf(b, "serving.modes[%zu]: %s engine=", i, ak_intent_name(s->intent));
        put_str(b, s->engine);
        ak_buf_printf(b, " materialized=%s\n", s->materialized ? "true" : "false");
        snprintf(k, sizeof k, "serving.modes[%zu].refresh_interval", i);
        kv_dur(b, k, s->refresh_interval_us);
        snprintf(k, sizeof k, "serving.modes[%zu].cache_ttl", i);
        kv_dur(b, k, s->cache_ttl_us);
        for (size_t x = 0; x < s->n_indexes; x++) {
            snprintf(k, sizeof k, "serving.modes[%zu].indexes[%zu] %s", i, x, ak_index_type_name(s->indexes[x].type));
            kv_list(b, k, s->indexes[x].columns, s->indexes[x].n_columns);
        }
    }
    const ak_compute_t *c = &m->compute;
    kv(b, "compute.engine", c->engine);
    kv(b, "compute.schedule", c->schedule);
    kv(b, "compute.cpu", c->cpu);
    ak_buf_printf(b, "compute.cpu_cores: %g\ncompute.memory_bytes: %lld\ncompute.timeout_s: %lld\n"
                  "compute.retries: %lld\n", c->cpu_cores, (long long)c->memory_bytes, (long long)c->timeout_s,
                  (long long)c->retries);
    kv_list(b, "compute.tags", c->tags, c->n_tags);
}

/* ---- reference documentation ---- */

static const char doc_head[] =
    "# Manifest reference\n"
    "\n"
    "<!-- Generated by ak_manifest_doc() from the option tables in\n"
    "     src/config/ak_manifest_sections.c; do not edit by hand. After changing a\n"
    "     table, regenerate with: AKILI_REGEN_DOCS=1 build/asan/tests/test_manifest -->\n"
    "\n"
    "A data product is a directory of YAML manifests (`*.yaml`, `*.yml`) and SQL\n"
    "files (`*.sql`). Each manifest file holds one or more of the top-level sections\n"
    "below; each section may appear only once across all files, so a product can\n"
    "be one file or one file per section. The transform SQL is the file\n"
    "`transform.sql` unless the `transform` section says otherwise.\n"
    "`examples/user_sessions/` is a complete product.\n"
    "\n"
    "Errors name the file, line and column and what was expected:\n"
    "\n"
    "```\n"
    "inputs.yaml:12:5: unknown key `cursor_feild` in input `clickstream`; did you mean `cursor_field`?\n"
    "```\n"
    "\n"
    "A key given with no value (`key:`, `~`, `null`) counts as absent.\n"
    "\n"
    "## Top-level sections\n"
    "\n";

static const char doc_formats[] =
    "\n"
    "## Value formats\n"
    "\n"
    "- **identifier**: lowercase letters, digits and `_`, not starting with a\n"
    "  digit, at most 63 characters (`user_sessions`); these names become SQL\n"
    "  identifiers.\n"
    "- **duration**: a whole number of seconds (`240`) or numbers with units\n"
    "  `us`, `ms`, `s`, `m`, `h`, `d`, `w`, possibly combined and fractional\n"
    "  (`90s`, `5m`, `1h30m`, `1.5h`).\n"
    "- **size**: bytes (`1024`) or a number with a binary suffix `Ki`, `Mi`, `Gi`,\n"
    "  `Ti`, `Pi`, `Ei` or a decimal one `k`, `M`, `G`, `T`, `P`, `E`, optionally\n"
    "  followed by `B` (`512Mi`, `4Gi`, `1.5G`).\n"
    "- **cron**: five fields `minute hour day-of-month month day-of-week`, each\n"
    "  `*`, a number, a range `a-b`, either with a step `/n`, or a comma list of\n"
    "  those; months `JAN`-`DEC` and weekdays `SUN`-`SAT` by name too (weekday `7`\n"
    "  is Sunday). Shorthands: `@hourly`, `@daily`, `@weekly`, `@monthly`,\n"
    "  `@yearly`. Times are UTC. When both day fields are restricted a day matches\n"
    "  if either does; when one starts with `*` both must match.\n"
    "- **column type**: `string` (`text`, `varchar`, `uuid`, `json`), `integer`\n"
    "  (`int`, `bigint`, `smallint`), `double` (`decimal`, `numeric`), `float`\n"
    "  (`real`), `boolean` (`bool`), `date`, `timestamp` (`datetime`,\n"
    "  `timestamptz`), `interval`; any case.\n"
    "- **boolean**: `true`/`false` (also `yes`/`no`, `on`/`off`).\n"
    "- **string or list of strings**: `primary_key: user_id` or\n"
    "  `primary_key: [user_id, day]`.\n"
    "\n"
    "## Connection configs and secrets\n"
    "\n"
    "Connection settings (`akili connection create --config '{...}'`) are JSON,\n"
    "read with the same parser (errors point into the `--config` text). Their\n"
    "values may name environment variables as `${NAME}` (write `$${` for a\n"
    "literal `${`); the variable is read when the connection is used, and only\n"
    "the reference is stored. Secret settings (and any key containing\n"
    "`password`, `secret`, `token`, `api_key`, `credential` or `private_key`) are\n"
    "shown as their `${NAME}` reference, or `****` when given literally.\n";

void ak_manifest_doc(ak_buf_t *out)
{
    ak_buf_puts(out, doc_head);
    ak_options_markdown(ak__section_opts, ak__n_section_opts, out);
    for (size_t i = 0; i < ak__n_manifest_tables; i++) {
        const ak__mtable_t *t = &ak__manifest_tables[i];
        ak_buf_printf(out, "\n## `%s`\n\n%s\n\n", t->path, t->intro);
        ak_options_markdown(t->opts, t->n, out);
    }
    ak_buf_puts(out, doc_formats);
}

int ak_manifest_check_tables(ak_err_t *err)
{
    if (ak_options_check_table(ak__section_opts, ak__n_section_opts, err))
        return ak_err_prefix(err, "top-level sections");
    for (size_t i = 0; i < ak__n_manifest_tables; i++)
        if (ak_options_check_table(ak__manifest_tables[i].opts, ak__manifest_tables[i].n, err))
            return ak_err_prefix(err, "%s", ak__manifest_tables[i].path);
    return 0;
}
