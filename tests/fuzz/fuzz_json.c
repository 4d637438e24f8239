/* fuzz_json.c - libFuzzer target for the NDJSON / Debezium decoder.
 *
 * The input is one line of arbitrary bytes, decoded against a fixed schema of
 * every column type, keyed and keyless.  Beyond "no crash, no leak, no UB"
 * it checks what the decoder promises:
 *   - the answer is 1, 0 or -1; -1 leaves the batch as it was, with a code
 *     and a message; 1 adds one or two records of the right shape;
 *   - every value has its column's type or is NULL, NULL when not present,
 *     and TEXT is valid UTF-8;
 *   - strings live in the batch: the line is freed before they are read;
 *   - a decoder that has seen earlier lines (its Connect schema cache) gives
 *     exactly what a fresh decoder gives.
 */
#include "ak_alloc.h"
#include "ak_convert.h"
#include "ak_json_decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ak_schema_t schemas[2];
static ak_json_decoder_t *warm[2];
static ak_batch_t b1s[2], b2s[2]; /* kept across inputs: cleared, not freed */

static void init(void)
{
    for (int k = 0; k < 2; k++) {
        ak_schema_t *s = &schemas[k];
        ak_schema_add(s, "id", AK_INT, k == 0, k == 0);
        ak_schema_add(s, "name", AK_TEXT, false, false);
        ak_schema_add(s, "score", AK_DOUBLE, false, false);
        ak_schema_add(s, "f", AK_FLOAT, false, false);
        ak_schema_add(s, "ok", AK_BOOL, false, false);
        ak_schema_add(s, "d", AK_DATE, false, false);
        ak_schema_add(s, "ts", AK_TIMESTAMP, false, false);
        ak_schema_add(s, "raw", AK_TEXT, false, false);
        ak_schema_add(s, "op", AK_TEXT, false, false);
        ak_schema_add(s, "a", AK_TEXT, false, false);
        ak_err_t err;
        if (ak_json_decoder_new(s, &warm[k], &err) != 0)
            abort();
        ak_batch_init(&b1s[k], s);
        ak_batch_init(&b2s[k], s);
    }
}

static bool same_val(const ak_val_t *a, const ak_val_t *b)
{
    if (a->type != b->type)
        return false;
    if (a->type == AK_TEXT)
        return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
    if (a->type == AK_DOUBLE || a->type == AK_FLOAT)
        return memcmp(&a->d, &b->d, sizeof a->d) == 0;
    return a->type == AK_NULL || a->i == b->i;
}

static void check_batch(const ak_schema_t *s, const ak_batch_t *b)
{
    for (size_t r = 0; r < b->n; r++) {
        const ak_rec_t *rec = &b->recs[r];
        if (rec->op < AK_OP_UPSERT || rec->op > AK_OP_TRUNCATE || rec->pos != 42 || (rec->flags & ~AK_REC_CDC))
            abort();
        if (rec->op != AK_OP_UPSERT && r > 0 && !(rec->flags & AK_REC_CDC)) /* deletes come from envelopes */
            abort();
        if (s->n < 64 && (rec->present >> s->n))
            abort();
        for (int c = 0; c < s->n; c++) {
            const ak_val_t *v = &rec->v[c];
            if (!(rec->present >> c & 1) && v->type != AK_NULL)
                abort();
            if (v->type != AK_NULL && v->type != s->cols[c].type)
                abort();
            if (v->type == AK_TEXT && !ak_utf8_valid(v->s, v->n))
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool inited;
    if (!inited) {
        init();
        inited = true;
    }
    for (int k = 0; k < 2; k++) {
        ak_json_decoder_t *fresh;
        ak_err_t e1, e2;
        if (ak_json_decoder_new(&schemas[k], &fresh, &e1) != 0)
            abort();
        ak_batch_t *b1 = &b1s[k], *b2 = &b2s[k];
        ak_batch_clear(b1);
        ak_batch_clear(b2);
        /* a record already in the batch must survive a failed decode */
        ak_rec_t *pre = ak_batch_add(b1, AK_OP_TRUNCATE, 42);
        if (!pre)
            abort();
        char *line = malloc(size ? size : 1);
        memcpy(line, data, size);
        ak_err_clear(&e1);
        ak_err_clear(&e2);
        int r1 = ak_json_decode(warm[k], line, size, 42, b1, &e1);
        int r2 = ak_json_decode(fresh, line, size, 42, b2, &e2);
        free(line); /* values must not point into it */
        if (r1 < -1 || r1 > 1 || r1 != r2)
            abort();
        if (r1 == -1 && (b1->n != 1 || e1.code == AK_E_OK || !e1.msg[0] || strcmp(e1.msg, e2.msg) != 0))
            abort();
        if (r1 == 0 && b1->n != 1)
            abort();
        if (r1 == 1 && (b1->n < 2 || b1->n > 3))
            abort();
        if (b1->n != b2->n + 1)
            abort();
        check_batch(&schemas[k], b1);
        for (size_t i = 0; i < b2->n; i++) {
            const ak_rec_t *x = &b1->recs[i + 1], *y = &b2->recs[i];
            if (x->op != y->op || x->present != y->present || x->ts_ms != y->ts_ms || x->flags != y->flags)
                abort();
            for (int c = 0; c < schemas[k].n; c++)
                if (!same_val(&x->v[c], &y->v[c]))
                    abort();
        }
        ak_json_decoder_free(fresh);
    }
    return 0;
}
