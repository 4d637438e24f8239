/* ak_sql_parse_int.h - the parser's shared state and helpers, used by the
 * expression parser (ak_sql_parse.c) and the statement parser
 * (ak_sql_parse_query.c).  Internal to src/sql. */
#ifndef AK_SQL_PARSE_INT_H
#define AK_SQL_PARSE_INT_H

#include "ak_sql_ast.h"
#include "ak_sql_lex.h"

typedef struct parser {
    const char *src;
    ak_tok_t *toks;
    size_t ntoks, i;
    ak_arena_t *a;
    ak_err_t *err;
    size_t err_off;
    int depth;
} parser_t;

/* Growable pointer list in the arena (copied on growth; old copies are waste
 * the arena frees at the end). */
typedef struct plist {
    void **v;
    int n, cap;
} plist_t;

typedef parser_t ak__parser_t;

ak_tok_t *ak__p_cur(parser_t *p);
ak_tok_t *ak__p_peek(parser_t *p, size_t k);
void ak__p_adv(parser_t *p);
size_t ak__p_prev_end(parser_t *p);
int ak__p_fail(parser_t *p, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ak__p_tok_desc(const ak_tok_t *t, char *buf, size_t cap);
int ak__p_expected(parser_t *p, const char *what);
bool ak__p_is_reserved(const ak_tok_t *t);
bool ak__p_kw(parser_t *p, const char *w);
bool ak__p_accept_kw(parser_t *p, const char *w);
int ak__p_expect_kw(parser_t *p, const char *w);
bool ak__p_accept(parser_t *p, ak_tok_kind_t k);
int ak__p_expect(parser_t *p, ak_tok_kind_t k, const char *what);
char *ak__p_tok_str(parser_t *p, const ak_tok_t *t);
const char *ak__p_ident(parser_t *p, const char *what);
ak_ast_t *ak__p_node(parser_t *p, ak_ast_kind_t k, size_t off);
ak_ast_t *ak__p_node_with(parser_t *p, ak_ast_kind_t k, size_t off, ak_ast_t *const *kids, int n);
int ak__p_plist_push(parser_t *p, plist_t *l, void *x);
int ak__p_parse_type(parser_t *p, ak_type_t *out);
ak_ast_t *ak__p_parse_expr(parser_t *p);
ak_ast_t *ak__p_parse_add(parser_t *p);
ak_ast_t *ak__p_parse_concat(parser_t *p);
ak_query_ast_t *ak__p_parse_query(parser_t *p);
ak_window_ast_t *ak__p_parse_window_spec(parser_t *p);
int ak__p_parse_order_list(parser_t *p, ak_order_ast_t **out, int *nout);

#endif
