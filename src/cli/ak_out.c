/* ak_out.c - result rendering: table, CSV, JSON lines, listing grids. */
#include "ak_out.h"

#include "ak_alloc.h"
#include "ak_buf.h"
#include "ak_time.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ak_out_format(const char *s, ak_fmt_t *out)
{
    if (strcasecmp(s, "table") == 0)
        *out = AK_FMT_TABLE;
    else if (strcasecmp(s, "csv") == 0)
        *out = AK_FMT_CSV;
    else if (strcasecmp(s, "json") == 0 || strcasecmp(s, "ndjson") == 0 || strcasecmp(s, "jsonl") == 0)
        *out = AK_FMT_JSON;
    else
        return -1;
    return 0;
}

static void json_value(ak_buf_t *b, const ak_val_t *v)
{
    char tmp[64];
    switch (v->type) {
    case AK_NULL: ak_buf_puts(b, "null"); return;
    case AK_BOOL:
    case AK_INT: ak_val_to_text(v, b); return;
    case AK_FLOAT: /* the exact value, as a JSON (double) number */
    case AK_DOUBLE: ak_fmt_double_js(v->d, tmp, sizeof tmp); ak_buf_puts(b, tmp); return;
    case AK_TEXT: ak_buf_put_json_str(b, v->s, v->n); return;
    default: {
        ak_buf_t t = AK_BUF_INIT;
        ak_val_to_text(v, &t);
        ak_buf_put_json_str(b, t.data ? t.data : "", t.len);
        ak_buf_free(&t);
        return;
    }
    }
}

static void csv_field(ak_buf_t *b, const char *s, size_t n)
{
    bool quote = n == 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        ak_buf_put(b, s, n);
        return;
    }
    ak_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            ak_buf_putc(b, '"');
        ak_buf_putc(b, s[i]);
    }
    ak_buf_putc(b, '"');
}

/* Display width of UTF-8 text (code points; good enough for alignment). */
static size_t width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            w++;
    return w;
}

static void table_cell(ak_buf_t *b, const ak_val_t *v)
{
    if (v->type == AK_NULL) {
        ak_buf_puts(b, "NULL");
        return;
    }
    /* keep rows on one line */
    ak_buf_t t = AK_BUF_INIT;
    ak_val_to_text(v, &t);
    for (size_t i = 0; i < t.len; i++) {
        char c = t.data[i];
        if (c == '\n')
            ak_buf_puts(b, "\\n");
        else if (c == '\r')
            ak_buf_puts(b, "\\r");
        else if (c == '\t')
            ak_buf_puts(b, "\\t");
        else
            ak_buf_putc(b, c);
    }
    ak_buf_free(&t);
}

static void print_table(FILE *f, const ak_rel_t *rel)
{
    int nc = rel->ncols;
    size_t *w = ak_calloc((size_t)(nc ? nc : 1), sizeof *w);
    ak_buf_t *cells = ak_calloc(rel->nrows * (size_t)nc + 1, sizeof *cells);
    if (!w || !cells) {
        ak_free(w);
        ak_free(cells);
        fprintf(stderr, "akili: out of memory printing the result\n");
        return;
    }
    for (int c = 0; c < nc; c++)
        w[c] = width(rel->names[c], strlen(rel->names[c]));
    for (size_t r = 0; r < rel->nrows; r++)
        for (int c = 0; c < nc; c++) {
            ak_buf_t *cb = &cells[r * (size_t)nc + (size_t)c];
            table_cell(cb, ak_rel_row(rel, r) + c);
            size_t cw = width(cb->data ? cb->data : "", cb->len);
            if (cw > w[c])
                w[c] = cw;
        }
    for (int c = 0; c < nc; c++)
        fprintf(f, "%s%-*s", c ? " | " : " ", (int)w[c], rel->names[c]);
    fputc('\n', f);
    for (int c = 0; c < nc; c++) {
        fputs(c ? "-+-" : "-", f);
        for (size_t k = 0; k < w[c]; k++)
            fputc('-', f);
    }
    fputc('\n', f);
    for (size_t r = 0; r < rel->nrows; r++) {
        for (int c = 0; c < nc; c++) {
            ak_buf_t *cb = &cells[r * (size_t)nc + (size_t)c];
            const char *s = cb->data ? cb->data : "";
            size_t cw = width(s, cb->len);
            bool right = ak_type_is_numeric(rel->types[c]);
            fputs(c ? " | " : " ", f);
            if (right)
                for (size_t k = cw; k < w[c]; k++)
                    fputc(' ', f);
            fputs(s, f);
            if (!right && c + 1 < nc)
                for (size_t k = cw; k < w[c]; k++)
                    fputc(' ', f);
            ak_buf_free(cb);
        }
        fputc('\n', f);
    }
    fprintf(f, "(%zu row%s)\n", rel->nrows, rel->nrows == 1 ? "" : "s");
    ak_free(cells);
    ak_free(w);
}

void ak_out_rel(FILE *f, const ak_rel_t *rel, ak_fmt_t fmt)
{
    if (fmt == AK_FMT_TABLE) {
        print_table(f, rel);
        return;
    }
    ak_buf_t b = AK_BUF_INIT;
    if (fmt == AK_FMT_CSV) {
        for (int c = 0; c < rel->ncols; c++) {
            if (c)
                ak_buf_putc(&b, ',');
            csv_field(&b, rel->names[c], strlen(rel->names[c]));
        }
        ak_buf_puts(&b, "\r\n");
    }
    for (size_t r = 0; r < rel->nrows; r++) {
        const ak_val_t *row = ak_rel_row(rel, r);
        if (fmt == AK_FMT_JSON)
            ak_buf_putc(&b, '{');
        for (int c = 0; c < rel->ncols; c++) {
            const ak_val_t *v = &row[c];
            if (fmt == AK_FMT_JSON) {
                if (c)
                    ak_buf_putc(&b, ',');
                ak_buf_put_json_str(&b, rel->names[c], strlen(rel->names[c]));
                ak_buf_putc(&b, ':');
                json_value(&b, v);
            } else {
                if (c)
                    ak_buf_putc(&b, ',');
                if (v->type == AK_NULL)
                    continue;
                ak_buf_t t = AK_BUF_INIT;
                ak_val_to_text(v, &t);
                csv_field(&b, t.data ? t.data : "", t.len);
                ak_buf_free(&t);
            }
        }
        ak_buf_puts(&b, fmt == AK_FMT_JSON ? "}\n" : "\r\n");
        if (b.len > (1u << 20)) {
            fwrite(b.data, 1, b.len, f);
            ak_buf_clear(&b);
        }
    }
    if (b.len)
        fwrite(b.data, 1, b.len, f);
    ak_buf_free(&b);
}

void ak_grid_init(ak_grid_t *g, int ncols, const char **head)
{
    memset(g, 0, sizeof *g);
    g->ncols = ncols;
    g->head = head;
}

void ak_grid_add(ak_grid_t *g, ...)
{
    if (AK_GROW(g->cells, g->cap, (g->nrows + 1) * (size_t)g->ncols))
        return;
    va_list ap;
    va_start(ap, g);
    for (int c = 0; c < g->ncols; c++) {
        const char *s = va_arg(ap, const char *);
        g->cells[g->nrows * (size_t)g->ncols + (size_t)c] = ak_strdup(s ? s : "-");
    }
    va_end(ap);
    g->nrows++;
}

void ak_grid_print(FILE *f, const ak_grid_t *g)
{
    size_t w[32] = {0};
    int nc = g->ncols < 32 ? g->ncols : 32;
    for (int c = 0; c < nc; c++)
        w[c] = width(g->head[c], strlen(g->head[c]));
    for (size_t r = 0; r < g->nrows; r++)
        for (int c = 0; c < nc; c++) {
            const char *s = g->cells[r * (size_t)g->ncols + (size_t)c];
            size_t cw = s ? width(s, strlen(s)) : 0;
            if (cw > w[c])
                w[c] = cw;
        }
    for (int c = 0; c < nc; c++)
        fprintf(f, "%s%-*s", c ? "  " : "", c + 1 < nc ? (int)w[c] : 0, g->head[c]);
    fputc('\n', f);
    for (size_t r = 0; r < g->nrows; r++) {
        for (int c = 0; c < nc; c++) {
            const char *s = g->cells[r * (size_t)g->ncols + (size_t)c];
            s = s ? s : "";
            fprintf(f, "%s%s", c ? "  " : "", s);
            if (c + 1 < nc)
                for (size_t k = width(s, strlen(s)); k < w[c]; k++)
                    fputc(' ', f);
        }
        fputc('\n', f);
    }
}

void ak_grid_free(ak_grid_t *g)
{
    for (size_t i = 0; i < g->nrows * (size_t)g->ncols; i++)
        ak_free(g->cells[i]);
    ak_free(g->cells);
    memset(g, 0, sizeof *g);
}

const char *ak_out_time(int64_t us, char *buf, size_t cap)
{
    if (us <= 0) {
        snprintf(buf, cap, "-");
        return buf;
    }
    char t[AK_TS_BUF];
    ak_ts_format(us - us % AK_US_PER_SEC, t);
    snprintf(buf, cap, "%s", t);
    return buf;
}
