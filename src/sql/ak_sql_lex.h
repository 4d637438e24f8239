/* ak_sql_lex.h - SQL tokens.
 *
 * Keywords are not a separate token kind: the lexer yields identifiers and
 * the parser decides by context, so words like `date`, `year` or `time`
 * stay usable as column names.  `{{ ... }}` (dbt-style templates such as
 * {{ ref('clickstream') }} and {{ this }}) is one token whose text is the
 * inside of the braces.
 */
#ifndef AK_SQL_LEX_H
#define AK_SQL_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "ak_error.h"

typedef enum ak_tok_kind {
    TK_EOF = 0,
    TK_IDENT,     /* bare word */
    TK_QIDENT,    /* "quoted identifier" */
    TK_STRING,    /* 'literal' */
    TK_INTEGER,
    TK_NUMBER,    /* with '.' or exponent */
    TK_TEMPLATE,  /* {{ ... }} */
    TK_LPAREN, TK_RPAREN, TK_COMMA, TK_DOT, TK_SEMI,
    TK_PLUS, TK_MINUS, TK_STAR, TK_SLASH, TK_DSLASH, TK_PERCENT, TK_CONCAT,
    TK_EQ, TK_NE, TK_LT, TK_LE, TK_GT, TK_GE, TK_DCOLON,
    TK_LBRACKET, TK_RBRACKET,
} ak_tok_kind_t;

typedef struct ak_tok {
    ak_tok_kind_t kind;
    const char *p;   /* token text in the source (for strings: inside the quotes, escapes not undone) */
    size_t n;
    size_t off;      /* byte offset of the token start in the source */
} ak_tok_t;

typedef struct ak_lexer {
    const char *src;
    size_t len, pos;
} ak_lexer_t;

void ak_lex_init(ak_lexer_t *lx, const char *src, size_t len);
/* Next token; -1 with err on an unterminated string/comment/template or a
 * stray character (err->msg holds the message, the caller adds position). */
int ak_lex_next(ak_lexer_t *lx, ak_tok_t *t, size_t *err_off, ak_err_t *err);
/* Case-insensitive keyword test on an identifier token. */
bool ak_tok_is(const ak_tok_t *t, const char *kw);
/* 1-based line and column of a byte offset. */
void ak_lex_position(const char *src, size_t off, int *line, int *col);

#endif
