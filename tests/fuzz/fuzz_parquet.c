/* fuzz_parquet.c - libFuzzer target for the Parquet reader.
 *
 * The input is a whole file, opened from memory (a copy of exactly its size,
 * so ASan sees any over-read).  Beyond "no crash, no leak, no UB" it checks
 * what the reader promises:
 *   - open, statistics and every row either succeed or fail with a code and
 *     a message;
 *   - every value has its column's type or is NULL (never NULL in a required
 *     column), and TEXT is valid UTF-8;
 *   - no more rows come out than the footer says, and exactly that many when
 *     the whole file reads without error.
 */
#include "ak_convert.h"
#include "ak_parquet.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    ak_pq_file_t *f;
    ak_err_t err;
    ak_err_clear(&err);
    if (ak_pq_open_mem(copy, size, &f, &err)) {
        if (err.code == AK_E_OK || !err.msg[0])
            abort();
        free(copy);
        return 0;
    }
    int n = ak_pq_ncols(f);
    const ak_pq_col_t *cols = ak_pq_cols(f);
    ak_pq_stats_t st;
    ak_err_clear(&err);
    if (ak_pq_file_stats(f, &st, &err) == 0) {
        for (int c = 0; c < st.ncols; c++)
            if (st.cols[c].has_bounds && (st.cols[c].min.type != cols[c].type || st.cols[c].max.type != cols[c].type))
                abort();
        ak_pq_stats_free(&st);
    } else if (err.code == AK_E_OK || !err.msg[0]) {
        abort();
    }
    ak_val_t *row = calloc((size_t)n + 1, sizeof *row);
    int64_t rows = 0;
    for (;;) {
        bool eof;
        ak_err_clear(&err);
        if (ak_pq_next_row(f, row, &eof, &err)) {
            if (err.code == AK_E_OK || !err.msg[0])
                abort();
            break;
        }
        if (eof) {
            if (rows != ak_pq_num_rows(f))
                abort();
            break;
        }
        if (++rows > ak_pq_num_rows(f))
            abort();
        for (int c = 0; c < n; c++) {
            const ak_val_t *v = &row[c];
            if (v->type == AK_NULL) {
                if (cols[c].required)
                    abort();
                continue;
            }
            if (v->type != cols[c].type)
                abort();
            if (v->type == AK_TEXT && !ak_utf8_valid(v->s, v->n))
                abort();
        }
    }
    free(row);
    ak_pq_close(f);
    free(copy);
    return 0;
}
