/* ak_sql_lex.c - the SQL tokenizer: words, literals, operators, comments
 * (-- and nested-free block comments) and {{ template }} tokens. */
#include "ak_sql_lex.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

void ak_lex_init(ak_lexer_t *lx, const char *src, size_t len)
{
    lx->src = src;
    lx->len = len;
    lx->pos = 0;
}

bool ak_tok_is(const ak_tok_t *t, const char *kw)
{
    size_t n = strlen(kw);
    return t->kind == TK_IDENT && t->n == n && strncasecmp(t->p, kw, n) == 0;
}

void ak_lex_position(const char *src, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && src[i]; i++) {
        if (src[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static bool ident_start(unsigned char c) { return isalpha(c) || c == '_' || c >= 0x80; }
static bool ident_char(unsigned char c) { return isalnum(c) || c == '_' || c == '$' || c >= 0x80; }

int ak_lex_next(ak_lexer_t *lx, ak_tok_t *t, size_t *err_off, ak_err_t *err)
{
    const char *s = lx->src;
    size_t n = lx->len, i = lx->pos;
    for (;;) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i + 1 < n && s[i] == '-' && s[i + 1] == '-') {
            while (i < n && s[i] != '\n')
                i++;
            continue;
        }
        if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
            size_t start = i;
            i += 2;
            while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
                i++;
            if (i + 1 >= n) {
                *err_off = start;
                return ak_errf(err, AK_E_PARSE, "unterminated /* comment");
            }
            i += 2;
            continue;
        }
        break;
    }
    t->off = i;
    t->p = s + i;
    if (i >= n) {
        t->kind = TK_EOF;
        t->n = 0;
        lx->pos = i;
        return 0;
    }
    unsigned char c = (unsigned char)s[i];
    size_t start = i;
    if (ident_start(c)) {
        while (i < n && ident_char((unsigned char)s[i]))
            i++;
        t->kind = TK_IDENT;
    } else if (isdigit(c) || (c == '.' && i + 1 < n && isdigit((unsigned char)s[i + 1]))) {
        bool frac = false;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
        if (i < n && s[i] == '.') {
            frac = true;
            i++;
            while (i < n && isdigit((unsigned char)s[i]))
                i++;
        }
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
            size_t j = i + 1;
            if (j < n && (s[j] == '+' || s[j] == '-'))
                j++;
            if (j < n && isdigit((unsigned char)s[j])) {
                frac = true;
                i = j;
                while (i < n && isdigit((unsigned char)s[i]))
                    i++;
            }
        }
        t->kind = frac ? TK_NUMBER : TK_INTEGER;
    } else if (c == '\'' || c == '"') {
        char q = (char)c;
        i++;
        for (;;) {
            if (i >= n) {
                *err_off = start;
                return ak_errf(err, AK_E_PARSE, "unterminated %s", q == '\'' ? "string literal" : "quoted identifier");
            }
            if (s[i] == q) {
                if (i + 1 < n && s[i + 1] == q) {
                    i += 2;
                    continue;
                }
                break;
            }
            i++;
        }
        t->kind = q == '\'' ? TK_STRING : TK_QIDENT;
        t->p = s + start + 1;
        t->n = i - start - 1;
        lx->pos = i + 1;
        return 0;
    } else if (c == '{' && i + 1 < n && s[i + 1] == '{') {
        i += 2;
        size_t in = i;
        while (i + 1 < n && !(s[i] == '}' && s[i + 1] == '}'))
            i++;
        if (i + 1 >= n) {
            *err_off = start;
            return ak_errf(err, AK_E_PARSE, "unterminated {{ template }}");
        }
        size_t a = in, b = i;
        while (a < b && isspace((unsigned char)s[a]))
            a++;
        while (b > a && isspace((unsigned char)s[b - 1]))
            b--;
        t->kind = TK_TEMPLATE;
        t->p = s + a;
        t->n = b - a;
        lx->pos = i + 2;
        return 0;
    } else {
        i++;
        char d = i < n ? s[i] : '\0';
        switch (c) {
        case '(': t->kind = TK_LPAREN; break;
        case ')': t->kind = TK_RPAREN; break;
        case '[': t->kind = TK_LBRACKET; break;
        case ']': t->kind = TK_RBRACKET; break;
        case ',': t->kind = TK_COMMA; break;
        case '.': t->kind = TK_DOT; break;
        case ';': t->kind = TK_SEMI; break;
        case '+': t->kind = TK_PLUS; break;
        case '-': t->kind = TK_MINUS; break;
        case '*': t->kind = TK_STAR; break;
        case '%': t->kind = TK_PERCENT; break;
        case '/':
            t->kind = TK_SLASH;
            if (d == '/') { t->kind = TK_DSLASH; i++; }
            break;
        case '|':
            if (d != '|') {
                *err_off = start;
                return ak_errf(err, AK_E_PARSE, "unexpected `|` (string concatenation is `||`)");
            }
            t->kind = TK_CONCAT;
            i++;
            break;
        case '=':
            t->kind = TK_EQ;
            if (d == '=') i++;
            break;
        case '!':
            if (d != '=') {
                *err_off = start;
                return ak_errf(err, AK_E_PARSE, "unexpected `!`");
            }
            t->kind = TK_NE;
            i++;
            break;
        case '<':
            t->kind = TK_LT;
            if (d == '=') { t->kind = TK_LE; i++; }
            else if (d == '>') { t->kind = TK_NE; i++; }
            break;
        case '>':
            t->kind = TK_GT;
            if (d == '=') { t->kind = TK_GE; i++; }
            break;
        case ':':
            if (d != ':') {
                *err_off = start;
                return ak_errf(err, AK_E_PARSE, "unexpected `:` (a cast is written `::type`)");
            }
            t->kind = TK_DCOLON;
            i++;
            break;
        default:
            *err_off = start;
            if (c >= 0x20 && c < 0x7f)
                return ak_errf(err, AK_E_PARSE, "unexpected character `%c`", c);
            return ak_errf(err, AK_E_PARSE, "unexpected byte 0x%02x", c);
        }
    }
    t->n = i - start;
    lx->pos = i;
    return 0;
}
