/* ak_manifest_int.h - shared internals of the manifest loader (not for other
 * modules): the manifest's private storage, the loading context, the section
 * loaders and the option tables that docs/CONFIGURATION.md is made from. */
#ifndef AK_MANIFEST_INT_H
#define AK_MANIFEST_INT_H

#include "ak_arena.h"
#include "ak_manifest.h"
#include "ak_options.h"

struct ak_manifest_priv {
    ak_arena_t arena;        /* every string and array of the manifest */
    ak_mfile_t *files;       /* copies, in load order */
    size_t n_files;
    ak_cfg_doc_t **docs;     /* parsed YAML files, kept for ak_input_t.options */
    size_t n_docs;
};

typedef struct ak__mctx {
    ak_manifest_t *m;
    ak_arena_t *a;
    ak_err_t *err;
} ak__mctx_t;

/* Section loaders: `v` is the section's value (NULL when absent, for the
 * optional sections).  Each returns 0 or -1 with err set. */
int ak__load_product(ak__mctx_t *c, const ak_cfg_node_t *v);
int ak__load_inputs(ak__mctx_t *c, const ak_cfg_node_t *v);
int ak__load_transform(ak__mctx_t *c, const ak_cfg_node_t *v);
int ak__load_output(ak__mctx_t *c, const ak_cfg_node_t *v);
int ak__load_quality(ak__mctx_t *c, const ak_cfg_node_t *v);
int ak__load_serving(ak__mctx_t *c, const ak_cfg_node_t *v); /* after output */
int ak__load_compute(ak__mctx_t *c, const ak_cfg_node_t *v);

/* The top-level sections, in load order. */
extern const ak_option_t ak__section_opts[];
extern const size_t ak__n_section_opts;

/* Every table with its place in the manifest, for the generated reference. */
typedef struct ak__mtable {
    const char *path;        /* "inputs[].columns[]" */
    const char *intro;       /* Markdown paragraph */
    const ak_option_t *opts;
    size_t n;
} ak__mtable_t;
extern const ak__mtable_t ak__manifest_tables[];
extern const size_t ak__n_manifest_tables;

#endif
