/* fuzz_csv.c - libFuzzer target for CSV framing and decoding.
 *
 * The first input byte picks the header: even, a fixed one; odd, the input's
 * own first record.  The rest is framed with ak_csv_record_len and every
 * record decoded.  Checked beyond "no crash, no leak, no UB":
 *   - framing covers the input exactly, and framing a prefix of the data (as
 *     a reader with a short buffer does) finds the same record or asks for
 *     more, never a different boundary;
 *   - decode answers 1, 0 or -1; -1 leaves the batch as it was, with a
 *     message; values have their column's type or are NULL, TEXT is valid
 *     UTF-8, and strings survive the input being freed.
 */
#include "ak_convert.h"
#include "ak_csv.h"

#include <stdlib.h>
#include <string.h>

static ak_schema_t schema;
static ak_batch_t b; /* kept across inputs: cleared, not freed */

static void init(void)
{
    ak_schema_add(&schema, "id", AK_INT, false, true);
    ak_schema_add(&schema, "name", AK_TEXT, false, false);
    ak_schema_add(&schema, "score", AK_DOUBLE, false, false);
    ak_schema_add(&schema, "ok", AK_BOOL, false, false);
    ak_schema_add(&schema, "d", AK_DATE, false, false);
    ak_schema_add(&schema, "ts", AK_TIMESTAMP, false, false);
    ak_schema_add(&schema, "raw", AK_TEXT, true, false);
    ak_schema_add(&schema, "f", AK_FLOAT, false, false);
    ak_batch_init(&b, &schema);
}

static const char HEADER[] = "id,name,score,ok,d,ts,raw,skip\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool inited;
    if (!inited) {
        init();
        inited = true;
    }
    if (size == 0)
        return 0;
    bool own_header = data[0] & 1;
    char *buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    size_t n = size - 1, off = 0;
    ak_err_t err;
    ak_csv_decoder_t *d = NULL;
    int rc;
    if (own_header) {
        size_t hl = ak_csv_record_len(buf, n, true);
        rc = ak_csv_decoder_new(&schema, buf, hl, &d, &err);
        off = hl;
    } else {
        rc = ak_csv_decoder_new(&schema, HEADER, sizeof HEADER - 1, &d, &err);
    }
    if (rc != 0) {
        if (d || err.code == AK_E_OK || !err.msg[0])
            abort();
        free(buf);
        return 0;
    }
    ak_batch_clear(&b);
    while (off < n) {
        size_t len = ak_csv_record_len(buf + off, n - off, true);
        if (len == 0 || len > n - off)
            abort();
        /* prefixes: the same boundary, or "incomplete" */
        size_t probes[] = {0, 1, len / 2, len - 1, len, len + 1, n - off};
        for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
            size_t k = probes[i] < n - off ? probes[i] : n - off;
            size_t l2 = ak_csv_record_len(buf + off, k, false);
            if (l2 != 0 && l2 != len)
                abort();
        }
        size_t before = b.n;
        ak_err_clear(&err);
        rc = ak_csv_decode(d, buf + off, len, off, &b, &err);
        if (rc < -1 || rc > 1)
            abort();
        if (rc == -1 && (b.n != before || err.code == AK_E_OK || !err.msg[0]))
            abort();
        if (rc >= 0 && b.n != before + (size_t)rc)
            abort();
        off += len;
    }
    free(buf); /* values must not point into it */
    for (size_t r = 0; r < b.n; r++) {
        const ak_rec_t *rec = &b.recs[r];
        if (rec->op != AK_OP_UPSERT)
            abort();
        for (int c = 0; c < schema.n; c++) {
            const ak_val_t *v = &rec->v[c];
            if (!(rec->present >> c & 1) && v->type != AK_NULL)
                abort();
            if (v->type != AK_NULL && v->type != schema.cols[c].type)
                abort();
            if (v->type == AK_TEXT && !ak_utf8_valid(v->s, v->n))
                abort();
        }
        if (rec->v[6].type == AK_NULL) /* `raw` is required */
            abort();
    }
    ak_csv_decoder_free(d);
    return 0;
}
