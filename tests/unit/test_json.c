/* test_json.c - the NDJSON / Debezium decoder: plain rows, every envelope op,
 * Connect wrappers and their epoch units, tombstones, typing of every JSON
 * kind into every column type, escapes, required fields, malformed input
 * with its exact message, a gen.py file, and allocation failures. */
#include "ak_alloc.h"
#include "ak_json_decode.h"
#include "ak_test.h"
#include "ak_time.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

enum { C_ID, C_NAME, C_SCORE, C_F, C_OK, C_D, C_TS, C_RAW };
#define BIT(c) (UINT64_C(1) << (c))

typedef struct fx {
    ak_schema_t s;
    ak_json_decoder_t *d;
    ak_batch_t b;
    ak_err_t err;
} fx_t;

static void fx_init(fx_t *f, bool keyed)
{
    memset(f, 0, sizeof *f);
    ak_schema_add(&f->s, "id", AK_INT, false, keyed);
    ak_schema_add(&f->s, "name", AK_TEXT, false, false);
    ak_schema_add(&f->s, "score", AK_DOUBLE, false, false);
    ak_schema_add(&f->s, "f", AK_FLOAT, false, false);
    ak_schema_add(&f->s, "ok", AK_BOOL, false, false);
    ak_schema_add(&f->s, "d", AK_DATE, false, false);
    ak_schema_add(&f->s, "ts", AK_TIMESTAMP, false, false);
    ak_schema_add(&f->s, "raw", AK_TEXT, false, false);
    if (ak_json_decoder_new(&f->s, &f->d, &f->err) != 0)
        fprintf(stderr, "decoder: %s\n", f->err.msg);
    ak_batch_init(&f->b, &f->s);
}

static void fx_free(fx_t *f)
{
    ak_json_decoder_free(f->d);
    ak_batch_free(&f->b);
    ak_schema_free(&f->s);
}

static int dec(fx_t *f, const char *line)
{
    ak_err_clear(&f->err);
    return ak_json_decode(f->d, line, strlen(line), 99, &f->b, &f->err);
}

/* The last record's column c as a NUL-terminated string (TEXT only). */
static const char *txt(const ak_rec_t *r, int c)
{
    static char buf[4096];
    if (r->v[c].type != AK_TEXT)
        return "(not text)";
    memcpy(buf, r->v[c].s, r->v[c].n);
    buf[r->v[c].n] = '\0';
    return buf;
}

#define CHECK_ERR(f, line, text)                                                                                       \
    do {                                                                                                               \
        size_t n0_ = (f)->b.n;                                                                                         \
        AK_CHECK_EQ_INT(dec((f), (line)), -1);                                                                         \
        AK_CHECK_STR((f)->err.msg, (text));                                                                            \
        AK_CHECK_EQ_INT((f)->b.n, n0_);                                                                                \
    } while (0)

/* Decodes line into exactly one record and returns it. */
static ak_rec_t *one(fx_t *f, const char *line)
{
    ak_batch_clear(&f->b);
    int rc = dec(f, line);
    if (rc != 1 || f->b.n != 1) {
        fprintf(stderr, "  decoding %s: rc %d, %zu records, %s\n", line, rc, f->b.n, f->err.msg);
        ak__failed_checks++;
        static ak_val_t nulls[8];
        static ak_rec_t none = {.v = nulls};
        return &none;
    }
    return &f->b.recs[0];
}

AK_TEST(plain_row)
{
    fx_t f;
    fx_init(&f, false);
    ak_rec_t *r = one(&f, "{\"id\":1,\"name\":\"alice\",\"score\":1.5,\"f\":0.1,\"ok\":true,\"d\":\"2026-11-01\","
                          "\"ts\":\"2026-11-01T10:00:00.123Z\",\"raw\":{\"a\":[1,2]},\"extra\":\"x\"}");
    AK_CHECK_EQ_INT(r->op, AK_OP_UPSERT);
    AK_CHECK_EQ_INT(r->pos, 99);
    AK_CHECK_EQ_INT(r->ts_ms, 0);
    AK_CHECK_EQ_INT(r->flags, 0);
    AK_CHECK(r->present == 0xFF);
    AK_CHECK(r->v[C_ID].type == AK_INT && r->v[C_ID].i == 1);
    AK_CHECK_STR(txt(r, C_NAME), "alice");
    AK_CHECK(r->v[C_SCORE].type == AK_DOUBLE && r->v[C_SCORE].d == 1.5);
    AK_CHECK(r->v[C_F].type == AK_FLOAT && r->v[C_F].d == (double)0.1f);
    AK_CHECK(r->v[C_OK].type == AK_BOOL && r->v[C_OK].i == 1);
    AK_CHECK(r->v[C_D].type == AK_DATE && r->v[C_D].i == 20758);
    AK_CHECK(r->v[C_TS].type == AK_TIMESTAMP && r->v[C_TS].i == INT64_C(1793527200123000));
    AK_CHECK_STR(txt(r, C_RAW), "{\"a\":[1,2]}");
    /* missing keys are NULL and not present; null is NULL and present */
    r = one(&f, " { \"name\" : null , \"id\" : 7 } \r");
    AK_CHECK(r->present == (BIT(C_ID) | BIT(C_NAME)));
    AK_CHECK(r->v[C_NAME].type == AK_NULL && r->v[C_SCORE].type == AK_NULL);
    AK_CHECK(r->v[C_ID].i == 7);
    r = one(&f, "{}");
    AK_CHECK(r->present == 0);
    /* a UTF-8 BOM before the first line */
    r = one(&f, "\xEF\xBB\xBF{\"id\":3}");
    AK_CHECK(r->v[C_ID].i == 3);
    /* several records accumulate in one batch */
    ak_batch_clear(&f.b);
    AK_CHECK_EQ_INT(dec(&f, "{\"id\":1}"), 1);
    AK_CHECK_EQ_INT(dec(&f, "{\"id\":2}"), 1);
    AK_CHECK_EQ_INT(f.b.n, 2);
    AK_CHECK(f.b.recs[0].v[C_ID].i == 1 && f.b.recs[1].v[C_ID].i == 2);
    fx_free(&f);
}

AK_TEST(strings_are_copied)
{
    fx_t f;
    fx_init(&f, false);
    char line[] = "{\"name\":\"hello world\",\"raw\":[1,2],\"d\":\"2026-01-01\",\"score\":2}";
    ak_batch_clear(&f.b);
    AK_CHECK_EQ_INT(ak_json_decode(f.d, line, strlen(line), 0, &f.b, &f.err), 1);
    memset(line, 'X', strlen(line));
    AK_CHECK_STR(txt(&f.b.recs[0], C_NAME), "hello world");
    AK_CHECK_STR(txt(&f.b.recs[0], C_RAW), "[1,2]");
    /* borrow mode points into the line, escaped strings still copied */
    ak_json_decoder_set_borrow(f.d, true);
    char line2[] = "{\"name\":\"abc\",\"raw\":\"x\\ty\"}";
    ak_batch_clear(&f.b);
    AK_CHECK_EQ_INT(ak_json_decode(f.d, line2, strlen(line2), 0, &f.b, &f.err), 1);
    AK_CHECK(f.b.recs[0].v[C_NAME].s == line2 + 9);
    memset(line2, 'X', strlen(line2));
    AK_CHECK_STR(txt(&f.b.recs[0], C_RAW), "x\ty");
    fx_free(&f);
}

AK_TEST(tombstones_and_blank_lines)
{
    fx_t f;
    fx_init(&f, true);
    const char *skip[] = {"", "   ", "\t\r", "null", "  null  ", "{\"schema\":null,\"payload\":null}",
                          "{\"schema\":{\"type\":\"struct\",\"fields\":[]},\"payload\":null}"};
    for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
        AK_CHECK_EQ_INT(dec(&f, skip[i]), 0);
    AK_CHECK_EQ_INT(f.b.n, 0);
    CHECK_ERR(&f, "nul", "expected a JSON object at byte 0 (found `n`)");
    CHECK_ERR(&f, "null x", "expected a JSON object at byte 0 (found `n`)");
    CHECK_ERR(&f, "[1]", "expected a JSON object at byte 0 (found `[`)");
    CHECK_ERR(&f, "\"x\"", "expected a JSON object at byte 0 (found `\"`)");
    fx_free(&f);
}

AK_TEST(debezium_ops_keyed)
{
    fx_t f;
    fx_init(&f, true);
    ak_rec_t *r = one(&f, "{\"before\":null,\"after\":{\"id\":1,\"name\":\"a\"},\"source\":{\"db\":\"x\",\"ts_ms\":5,"
                          "\"id\":\"not-a-number\"},\"op\":\"c\",\"ts_ms\":1700000000000}");
    AK_CHECK_EQ_INT(r->op, AK_OP_UPSERT);
    AK_CHECK_EQ_INT(r->flags, AK_REC_CDC);
    AK_CHECK(r->ts_ms == INT64_C(1700000000000));
    AK_CHECK(r->present == (BIT(C_ID) | BIT(C_NAME)));
    AK_CHECK_STR(txt(r, C_NAME), "a");
    r = one(&f, "{\"op\":\"r\",\"after\":{\"id\":2},\"ts_ms\":null}");
    AK_CHECK(r->op == AK_OP_UPSERT && r->v[C_ID].i == 2 && r->ts_ms == 0);
    /* update, same key: one upsert */
    r = one(&f, "{\"before\":{\"id\":1,\"name\":\"a\"},\"after\":{\"id\":1,\"name\":\"b\"},\"op\":\"u\",\"ts_ms\":1}");
    AK_CHECK(r->op == AK_OP_UPSERT && r->v[C_ID].i == 1 && r->ts_ms == 1);
    AK_CHECK_STR(txt(r, C_NAME), "b");
    /* update without before: one upsert */
    r = one(&f, "{\"before\":null,\"after\":{\"id\":1,\"name\":\"c\"},\"op\":\"u\"}");
    AK_CHECK(r->op == AK_OP_UPSERT);
    /* update whose before lacks the key: cannot tell a key change, upsert */
    r = one(&f, "{\"before\":{\"name\":\"x\"},\"after\":{\"id\":1,\"name\":\"c\"},\"op\":\"u\"}");
    AK_CHECK(r->op == AK_OP_UPSERT);
    /* primary key change: delete the old key first */
    ak_batch_clear(&f.b);
    AK_CHECK_EQ_INT(dec(&f, "{\"before\":{\"id\":1,\"name\":\"a\"},\"after\":{\"id\":2,\"name\":\"a\"},\"op\":\"u\","
                            "\"ts_ms\":9}"),
                    1);
    AK_CHECK_EQ_INT(f.b.n, 2);
    AK_CHECK(f.b.recs[0].op == AK_OP_DELETE && f.b.recs[0].v[C_ID].i == 1 && f.b.recs[0].ts_ms == 9);
    AK_CHECK(f.b.recs[1].op == AK_OP_UPSERT && f.b.recs[1].v[C_ID].i == 2 && f.b.recs[1].ts_ms == 9);
    AK_CHECK(f.b.recs[0].pos == 99 && f.b.recs[1].pos == 99);
    AK_CHECK(f.b.recs[0].flags == AK_REC_CDC && f.b.recs[1].flags == AK_REC_CDC);
    /* delete */
    r = one(&f, "{\"before\":{\"id\":5},\"after\":null,\"op\":\"d\",\"ts_ms\":3}");
    AK_CHECK(r->op == AK_OP_DELETE && r->v[C_ID].i == 5 && r->present == BIT(C_ID) && r->ts_ms == 3);
    AK_CHECK_EQ_INT(r->flags, AK_REC_CDC);
    CHECK_ERR(&f, "{\"before\":{\"name\":\"a\"},\"after\":null,\"op\":\"d\"}",
              "delete event: `before` lacks the key column `id`");
    CHECK_ERR(&f, "{\"before\":{\"id\":null},\"after\":null,\"op\":\"d\"}",
              "delete event: `before` lacks the key column `id`");
    CHECK_ERR(&f, "{\"before\":null,\"after\":null,\"op\":\"d\"}",
              "delete event has no `before` image; set REPLICA IDENTITY to DEFAULT or FULL");
    CHECK_ERR(&f, "{\"before\":{\"id\":\"x\"},\"op\":\"d\"}", "in `before`: column `id`: cannot read `x` as BIGINT");
    /* truncate */
    r = one(&f, "{\"before\":null,\"after\":null,\"source\":{},\"op\":\"t\",\"ts_ms\":4}");
    AK_CHECK(r->op == AK_OP_TRUNCATE && r->present == 0 && r->ts_ms == 4 && r->flags == AK_REC_CDC);
    /* missing after */
    CHECK_ERR(&f, "{\"before\":null,\"after\":null,\"op\":\"c\"}", "change event with op `c` has no `after` image");
    CHECK_ERR(&f, "{\"before\":{\"id\":1},\"op\":\"u\"}", "change event with op `u` has no `after` image");
    CHECK_ERR(&f, "{\"after\":{\"id\":\"abc\"},\"op\":\"c\"}", "in `after`: column `id`: cannot read `abc` as BIGINT");
    CHECK_ERR(&f, "{\"after\":{\"id\":1},\"op\":\"c\",\"ts_ms\":\"soon\"}",
              "`ts_ms` of the change event is not an integer number of milliseconds");
    fx_free(&f);
}

AK_TEST(debezium_keyless)
{
    fx_t f;
    fx_init(&f, false);
    CHECK_ERR(&f, "{\"before\":null,\"after\":{\"id\":1},\"op\":\"u\"}",
              "update without a `before` image on an input without primary_key; declare primary_key or set "
              "REPLICA IDENTITY FULL");
    AK_CHECK_EQ_INT(f.err.code, AK_E_CONFIG);
    CHECK_ERR(&f, "{\"after\":{\"id\":1},\"op\":\"u\"}",
              "update without a `before` image on an input without primary_key; declare primary_key or set "
              "REPLICA IDENTITY FULL");
    ak_batch_clear(&f.b);
    AK_CHECK_EQ_INT(dec(&f, "{\"before\":{\"id\":1,\"name\":\"a\"},"
                            "\"after\":{\"id\":1,\"name\":\"b\"},\"op\":\"u\"}"),
                    1);
    AK_CHECK_EQ_INT(f.b.n, 2);
    AK_CHECK(f.b.recs[0].op == AK_OP_DELETE && f.b.recs[1].op == AK_OP_UPSERT);
    AK_CHECK_STR(txt(&f.b.recs[0], C_NAME), "a");
    AK_CHECK_STR(txt(&f.b.recs[1], C_NAME), "b");
    /* a keyless delete matches on the columns its before image has */
    ak_rec_t *r = one(&f, "{\"before\":{\"name\":\"a\",\"score\":1.5,\"other\":1},\"after\":null,\"op\":\"d\"}");
    AK_CHECK(r->op == AK_OP_DELETE && r->present == (BIT(C_NAME) | BIT(C_SCORE)));
    fx_free(&f);
}

AK_TEST(envelope_detection)
{
    fx_t f;
    memset(&f, 0, sizeof f);
    ak_schema_add(&f.s, "id", AK_INT, false, false);
    ak_schema_add(&f.s, "op", AK_TEXT, false, false);
    ak_schema_add(&f.s, "payload", AK_TEXT, false, false);
    ak_schema_add(&f.s, "after", AK_TEXT, false, false);
    ak_json_decoder_new(&f.s, &f.d, &f.err);
    ak_batch_init(&f.b, &f.s);
    /* an `op` column in a plain row */
    ak_rec_t *r = one(&f, "{\"op\":\"insert\",\"id\":3}");
    AK_CHECK_STR(txt(r, 1), "insert");
    AK_CHECK(r->v[0].i == 3);
    /* a valid op but `after` is not an object or null: a plain row */
    r = one(&f, "{\"op\":\"c\",\"after\":\"x\",\"id\":4}");
    AK_CHECK(r->v[0].i == 4 && r->present == 0xB);
    AK_CHECK_STR(txt(r, 3), "x");
    /* an op that is not a Debezium op: plain row, `after` as raw text */
    r = one(&f, "{\"op\":\"x\",\"after\":{\"id\":1}}");
    AK_CHECK(r->present == 0xA);
    AK_CHECK_STR(txt(r, 3), "{\"id\":1}");
    /* an envelope: top-level keys are not columns, `op` inside after is */
    r = one(&f, "{\"op\":\"c\",\"after\":{\"id\":1,\"op\":\"z\"},\"id\":\"zzz\"}");
    AK_CHECK(r->v[0].i == 1 && r->present == 0x3);
    AK_CHECK_STR(txt(r, 1), "z");
    /* payload without schema: a plain row with a payload column */
    r = one(&f, "{\"payload\":{\"id\":1},\"id\":2}");
    AK_CHECK(r->v[0].i == 2);
    AK_CHECK_STR(txt(r, 2), "{\"id\":1}");
    /* with schema: a wrapper around a plain row */
    r = one(&f, "{\"schema\":{\"type\":\"struct\"},\"payload\":{\"id\":5,\"op\":\"q\"}}");
    AK_CHECK(r->v[0].i == 5 && r->present == 0x3);
    /* escaped op value */
    r = one(&f, "{\"op\":\"\\u0063\",\"after\":{\"id\":6}}");
    AK_CHECK(r->op == AK_OP_UPSERT && r->v[0].i == 6 && r->present == 0x1);
    /* duplicate op: the last wins */
    r = one(&f, "{\"op\":\"c\",\"op\":\"nope\",\"after\":{\"id\":7},\"id\":8}");
    AK_CHECK(r->v[0].i == 8);
    fx_free(&f);
}

#define SCHEMA_FIELDS(tsname)                                                                                         \
    "[{\"type\":\"int64\",\"optional\":false,\"field\":\"id\"},"                                                  \
    "{\"type\":\"int64\",\"optional\":true,\"name\":\"" tsname                                                       \
    "\",\"version\":1,\"field\":\"ts\"},{\"type\":\"int32\",\"optional\":true,\"name\":\"io.debezium.time.Date\","     \
    "\"field\":\"d\"}]"
#define ENVELOPE_SCHEMA(tsname)                                                                                       \
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"fields\":" SCHEMA_FIELDS(tsname)                          \
    ",\"optional\":true,\"name\":\"srv.public.t.Value\",\"field\":\"before\"},{\"type\":\"struct\",\"fields\":"        \
    SCHEMA_FIELDS(tsname) ",\"optional\":true,\"name\":\"srv.public.t.Value\",\"field\":\"after\"},"                   \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},{\"type\":\"int64\",\"optional\":true,"                 \
    "\"field\":\"ts_ms\"}],\"optional\":false,\"name\":\"srv.public.t.Envelope\"}"

AK_TEST(connect_wrapper_units)
{
    fx_t f;
    fx_init(&f, true);
    const char *payload = "{\"before\":null,\"after\":{\"id\":1,\"ts\":1000000,\"d\":20758},\"op\":\"c\",\"ts_ms\":17}";
    char line[4096];
    snprintf(line, sizeof line, "{\"schema\":%s,\"payload\":%s}", ENVELOPE_SCHEMA("io.debezium.time.MicroTimestamp"),
             payload);
    for (int rep = 0; rep < 2; rep++) { /* the second time from the schema cache */
        ak_rec_t *r = one(&f, line);
        AK_CHECK(r->op == AK_OP_UPSERT && r->v[C_ID].i == 1 && r->ts_ms == 17 && r->flags == AK_REC_CDC);
        AK_CHECK(r->v[C_TS].type == AK_TIMESTAMP && r->v[C_TS].i == 1000000); /* us, not seconds */
        AK_CHECK(r->v[C_D].type == AK_DATE && r->v[C_D].i == 20758);
    }
    snprintf(line, sizeof line, "{\"schema\":%s,\"payload\":%s}", ENVELOPE_SCHEMA("io.debezium.time.NanoTimestamp"),
             payload);
    AK_CHECK(one(&f, line)->v[C_TS].i == 1000);
    snprintf(line, sizeof line, "{\"schema\":%s,\"payload\":%s}", ENVELOPE_SCHEMA("io.debezium.time.Timestamp"),
             payload);
    AK_CHECK(one(&f, line)->v[C_TS].i == 1000000000);
    snprintf(line, sizeof line, "{\"schema\":%s,\"payload\":%s}",
             ENVELOPE_SCHEMA("org.apache.kafka.connect.data.Timestamp"), payload);
    AK_CHECK(one(&f, line)->v[C_TS].i == 1000000000);
    /* payload before schema: decoded again with the units */
    snprintf(line, sizeof line, "{\"payload\":%s,\"schema\":%s}", payload,
             ENVELOPE_SCHEMA("io.debezium.time.MicroTimestamp"));
    AK_CHECK(one(&f, line)->v[C_TS].i == 1000000);
    /* no schema name for the field: by magnitude (1e6 -> seconds) */
    snprintf(line, sizeof line, "{\"schema\":%s,\"payload\":%s}", ENVELOPE_SCHEMA("x.Other"), payload);
    AK_CHECK(one(&f, line)->v[C_TS].i == INT64_C(1000000000000));
    /* a top-level envelope has no schema: by magnitude */
    AK_CHECK(one(&f, payload)->v[C_TS].i == INT64_C(1000000000000));
    /* a plain-row wrapper, units from the top-level fields */
    ak_rec_t *r = one(&f, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int64\",\"name\":"
                          "\"org.apache.kafka.connect.data.Timestamp\",\"field\":\"ts\"}]},\"payload\":{\"id\":5,"
                          "\"ts\":1000,\"d\":1}}");
    AK_CHECK(r->op == AK_OP_UPSERT && r->v[C_ID].i == 5 && r->v[C_TS].i == 1000000 && r->v[C_D].i == 1);
    AK_CHECK_EQ_INT(r->flags, 0); /* a wrapped plain row is not CDC */
    /* a timestamp unit on a DATE column: the day of that instant */
    r = one(&f, "{\"schema\":{\"fields\":[{\"name\":\"io.debezium.time.MicroTimestamp\",\"field\":\"d\"}]},"
                "\"payload\":{\"d\":172800000001}}");
    AK_CHECK(r->v[C_D].type == AK_DATE && r->v[C_D].i == 2);
    /* a type error inside the payload names the image */
    snprintf(line, sizeof line, "{\"schema\":%s,\"payload\":{\"after\":{\"id\":1.5},\"op\":\"r\"}}",
             ENVELOPE_SCHEMA("io.debezium.time.MicroTimestamp"));
    CHECK_ERR(&f, line, "in `after`: column `id`: cannot read `1.5` as BIGINT (not an integer)");
    /* a malformed schema is a syntax error like any other */
    CHECK_ERR(&f, "{\"schema\":{\"fields\":[{\"field\":\"ts\",}]},\"payload\":{}}",
              "expected a string key after `,` at byte 35 (found `}`)");
    fx_free(&f);
}

AK_TEST(epoch_by_magnitude)
{
    fx_t f;
    fx_init(&f, false);
    struct {
        const char *v;
        int64_t us;
    } cases[] = {
        {"1793491200", INT64_C(1793491200000000)},          {"1793491200123", INT64_C(1793491200123000)},
        {"1793491200123456", INT64_C(1793491200123456)},    {"1793491200123456789", INT64_C(1793491200123456)},
        {"-86400", INT64_C(-86400000000)},                  {"1793491200.5", INT64_C(1793491200500000)},
        {"0", 0},                                           {"99999999999", INT64_C(99999999999000000)},
        {"100000000000", INT64_C(100000000000000)},          {"-100000000000000001", INT64_C(-100000000000001)},
        {"1.7934912e9", INT64_C(1793491200000000)},
    };
    char line[128];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(line, sizeof line, "{\"ts\":%s}", cases[i].v);
        ak_rec_t *r = one(&f, line);
        if (r->v[C_TS].type != AK_TIMESTAMP || r->v[C_TS].i != cases[i].us)
            fprintf(stderr, "  epoch %s -> %lld\n", cases[i].v, (long long)r->v[C_TS].i);
        AK_CHECK(r->v[C_TS].type == AK_TIMESTAMP && r->v[C_TS].i == cases[i].us);
    }
    CHECK_ERR(&f, "{\"ts\":1e300}", "column `ts`: cannot read `1e300` as TIMESTAMP (out of range)");
    fx_free(&f);
}

AK_TEST(typing)
{
    fx_t f;
    fx_init(&f, false);
    AK_CHECK(one(&f, "{\"id\":1.0}")->v[C_ID].i == 1);
    AK_CHECK(one(&f, "{\"id\":1e3}")->v[C_ID].i == 1000);
    AK_CHECK(one(&f, "{\"id\":-9223372036854775808}")->v[C_ID].i == INT64_MIN);
    AK_CHECK(one(&f, "{\"id\":\" 42 \"}")->v[C_ID].i == 42);
    CHECK_ERR(&f, "{\"id\":1.5}", "column `id`: cannot read `1.5` as BIGINT (not an integer)");
    CHECK_ERR(&f, "{\"id\":9223372036854775808}",
              "column `id`: cannot read `9223372036854775808` as BIGINT (out of range)");
    AK_CHECK_EQ_INT(f.err.code, AK_E_RANGE);
    CHECK_ERR(&f, "{\"id\":true}", "column `id`: cannot read `true` as BIGINT");
    CHECK_ERR(&f, "{\"id\":{\"x\":1}}", "column `id`: cannot read a JSON object as BIGINT");
    CHECK_ERR(&f, "{\"id\":[1]}", "column `id`: cannot read a JSON array as BIGINT");
    CHECK_ERR(&f, "{\"id\":\"12abc\"}", "column `id`: cannot read `12abc` as BIGINT");
    AK_CHECK_EQ_INT(f.err.code, AK_E_TYPE);
    ak_rec_t *r = one(&f, "{\"score\":1}");
    AK_CHECK(r->v[C_SCORE].type == AK_DOUBLE && r->v[C_SCORE].d == 1.0);
    AK_CHECK(one(&f, "{\"score\":-0.5e-3}")->v[C_SCORE].d == -0.0005);
    AK_CHECK(one(&f, "{\"score\":0.1}")->v[C_SCORE].d == 0.1);
    AK_CHECK(one(&f, "{\"score\":123456789.123456789e-5}")->v[C_SCORE].d == 123456789.123456789e-5);
    AK_CHECK(one(&f, "{\"score\":\"-inf\"}")->v[C_SCORE].d == -INFINITY);
    CHECK_ERR(&f, "{\"score\":1e400}", "column `score`: cannot read `1e400` as DOUBLE (out of range)");
    CHECK_ERR(&f, "{\"score\":false}", "column `score`: cannot read `false` as DOUBLE");
    AK_CHECK(one(&f, "{\"f\":0.1}")->v[C_F].d == (double)0.1f);
    CHECK_ERR(&f, "{\"f\":3.5e38}", "column `f`: cannot read `3.5e38` as FLOAT (out of range)");
    AK_CHECK_STR(txt(one(&f, "{\"name\":1.50}"), C_NAME), "1.50");
    AK_CHECK_STR(txt(one(&f, "{\"name\":-0}"), C_NAME), "-0");
    AK_CHECK_STR(txt(one(&f, "{\"name\":true}"), C_NAME), "true");
    AK_CHECK_STR(txt(one(&f, "{\"name\":false}"), C_NAME), "false");
    AK_CHECK_STR(txt(one(&f, "{\"raw\":[1, {\"b\" : null} ]}"), C_RAW), "[1, {\"b\" : null} ]");
    AK_CHECK_STR(txt(one(&f, "{\"raw\":{}}"), C_RAW), "{}");
    AK_CHECK(one(&f, "{\"ok\":1}")->v[C_OK].i == 1);
    AK_CHECK(one(&f, "{\"ok\":0}")->v[C_OK].i == 0);
    AK_CHECK(one(&f, "{\"ok\":\"yes\"}")->v[C_OK].i == 1);
    AK_CHECK(one(&f, "{\"ok\":false}")->v[C_OK].type == AK_BOOL);
    CHECK_ERR(&f, "{\"ok\":2}", "column `ok`: cannot read `2` as BOOLEAN");
    CHECK_ERR(&f, "{\"ok\":-1}", "column `ok`: cannot read `-1` as BOOLEAN");
    CHECK_ERR(&f, "{\"ok\":\"maybe\"}", "column `ok`: cannot read `maybe` as BOOLEAN");
    CHECK_ERR(&f, "{\"ok\":{}}", "column `ok`: cannot read a JSON object as BOOLEAN");
    AK_CHECK(one(&f, "{\"d\":20758}")->v[C_D].i == 20758);
    AK_CHECK(one(&f, "{\"d\":-1}")->v[C_D].i == -1);
    AK_CHECK(one(&f, "{\"d\":\"2026-11-01\"}")->v[C_D].i == 20758);
    AK_CHECK(one(&f, "{\"d\":\"2026-11-01T23:00:00Z\"}")->v[C_D].i == 20758);
    CHECK_ERR(&f, "{\"d\":1.5}", "column `d`: cannot read `1.5` as DATE (not an integer)");
    CHECK_ERR(&f, "{\"d\":true}", "column `d`: cannot read `true` as DATE");
    CHECK_ERR(&f, "{\"d\":\"11/01/2026\"}", "column `d`: cannot read `11/01/2026` as DATE");
    AK_CHECK(one(&f, "{\"ts\":\"2026-11-01 12:00:00+02:00\"}")->v[C_TS].i == INT64_C(1793527200000000));
    AK_CHECK(one(&f, "{\"ts\":\"2026-11-01T10:00:00.1234567Z\"}")->v[C_TS].i == INT64_C(1793527200123456));
    CHECK_ERR(&f, "{\"ts\":\"2026-13-01\"}", "column `ts`: cannot read `2026-13-01` as TIMESTAMP");
    CHECK_ERR(&f, "{\"ts\":[]}", "column `ts`: cannot read a JSON array as TIMESTAMP");
    /* duplicate keys: the last one wins, errors included */
    AK_CHECK(one(&f, "{\"id\":1,\"id\":2}")->v[C_ID].i == 2);
    AK_CHECK(one(&f, "{\"id\":\"x\",\"id\":3}")->v[C_ID].i == 3);
    CHECK_ERR(&f, "{\"id\":3,\"id\":\"x\"}", "column `id`: cannot read `x` as BIGINT");
    /* the first bad value (by position) is the one reported */
    CHECK_ERR(&f, "{\"ok\":5,\"id\":\"x\"}", "column `ok`: cannot read `5` as BOOLEAN");
    fx_free(&f);
}

AK_TEST(escapes)
{
    fx_t f;
    fx_init(&f, false);
    ak_rec_t *r = one(&f, "{\"name\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}");
    AK_CHECK(r->v[C_NAME].n == 12 && memcmp(r->v[C_NAME].s, "a\"b\\c/d\b\f\n\r\t", 12) == 0);
    r = one(&f, "{\"name\":\"\\u00e9\\u4E2D\\ud83d\\ude00!\"}");
    AK_CHECK_STR(txt(r, C_NAME), "\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80!");
    r = one(&f, "{\"name\":\"\\u0000x\"}");
    AK_CHECK(r->v[C_NAME].n == 2 && r->v[C_NAME].s[0] == 0);
    r = one(&f, "{\"name\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\"}");
    AK_CHECK_STR(txt(r, C_NAME), "caf\xC3\xA9 \xF0\x9F\x98\x80");
    /* an escaped key matches its column */
    AK_CHECK_STR(txt(one(&f, "{\"n\\u0061me\":\"x\"}"), C_NAME), "x");
    /* escapes in a converted value */
    AK_CHECK(one(&f, "{\"id\":\"\\u0034\\u0032\"}")->v[C_ID].i == 42);
    CHECK_ERR(&f, "{\"name\":\"\\ud83d\"}", "column `name`: unpaired UTF-16 surrogate `\\ud83d` in a string at byte 9");
    CHECK_ERR(&f, "{\"name\":\"x\\ud83dx\"}",
              "column `name`: unpaired UTF-16 surrogate `\\ud83d` in a string at byte 10");
    CHECK_ERR(&f, "{\"name\":\"\\ud83d\\u0041\"}",
              "column `name`: unpaired UTF-16 surrogate `\\ud83d` in a string at byte 9");
    CHECK_ERR(&f, "{\"name\":\"\\ude00\"}", "column `name`: unpaired UTF-16 surrogate `\\ude00` in a string at byte 9");
    CHECK_ERR(&f, "{\"name\":\"\xFF\"}", "column `name`: text `\\xFF` is not valid UTF-8");
    CHECK_ERR(&f, "{\"name\":\"\xC0\xAF\"}", "column `name`: text `\\xC0\\xAF` is not valid UTF-8");
    /* skipped values are checked for syntax only */
    AK_CHECK_EQ_INT(one(&f, "{\"zz\":\"\\ud83d\",\"yy\":\"\xFF\",\"a\\\"b\":1}")->present, 0);
    fx_free(&f);
}

AK_TEST(bad_schemas)
{
    ak_schema_t s = {0};
    ak_json_decoder_t *d = NULL;
    ak_err_t err;
    ak_schema_add(&s, "a", AK_INT, false, false);
    ak_schema_add(&s, "a", AK_TEXT, false, false);
    AK_CHECK_EQ_INT(ak_json_decoder_new(&s, &d, &err), -1);
    AK_CHECK_STR(err.msg, "column `a` appears twice in the schema");
    AK_CHECK(d == NULL);
    ak_schema_free(&s);
    ak_schema_add(&s, "a", AK_NULL, false, false);
    AK_CHECK_EQ_INT(ak_json_decoder_new(&s, &d, &err), -1);
    AK_CHECK_STR(err.msg, "column `a` has no type");
    AK_CHECK_EQ_INT(err.code, AK_E_USAGE);
    ak_schema_free(&s);
    /* a batch of another schema is refused */
    ak_schema_t s2 = {0};
    ak_schema_add(&s, "a", AK_INT, false, false);
    ak_schema_add(&s2, "a", AK_INT, false, false);
    ak_schema_add(&s2, "b", AK_INT, false, false);
    AK_CHECK_EQ_INT(ak_json_decoder_new(&s, &d, &err), 0);
    ak_batch_t b;
    ak_batch_init(&b, &s2);
    AK_CHECK_EQ_INT(ak_json_decode(d, "{}", 2, 0, &b, &err), -1);
    AK_CHECK_EQ_INT(err.code, AK_E_USAGE);
    ak_batch_free(&b);
    ak_json_decoder_free(d);
    ak_json_decoder_free(NULL);
    ak_schema_free(&s);
    ak_schema_free(&s2);
}

AK_TEST(required_fields)
{
    fx_t f;
    memset(&f, 0, sizeof f);
    ak_schema_add(&f.s, "user_id", AK_TEXT, true, false);
    ak_schema_add(&f.s, "n", AK_INT, false, false);
    ak_json_decoder_new(&f.s, &f.d, &f.err);
    ak_batch_init(&f.b, &f.s);
    CHECK_ERR(&f, "{\"n\":1}", "missing required field `user_id`");
    AK_CHECK_EQ_INT(f.err.code, AK_E_TYPE);
    CHECK_ERR(&f, "{\"user_id\":null}", "missing required field `user_id`");
    CHECK_ERR(&f, "{\"op\":\"c\",\"after\":{\"n\":1}}", "missing required field `user_id` in `after`");
    AK_CHECK_STR(txt(one(&f, "{\"user_id\":\"\"}"), 0), "");
    /* a delete does not need required columns, only the key */
    AK_CHECK(one(&f, "{\"op\":\"d\",\"before\":{\"n\":1}}")->op == AK_OP_DELETE);
    fx_free(&f);
}

AK_TEST(malformed)
{
    fx_t f;
    fx_init(&f, false);
    CHECK_ERR(&f, "{\"id\":1", "unexpected end of line at byte 7: expected `,` or `}` after value");
    CHECK_ERR(&f, "{\"id\" 1}", "expected `:` after key at byte 6 (found `1`)");
    CHECK_ERR(&f, "{\"id\"}", "expected `:` after key at byte 5 (found `}`)");
    CHECK_ERR(&f, "{\"id\":1}}", "unexpected data after the JSON object at byte 8 (found `}`)");
    CHECK_ERR(&f, "{\"id\":1} x", "unexpected data after the JSON object at byte 9 (found `x`)");
    CHECK_ERR(&f, "{\"id\":1}{\"id\":2}", "unexpected data after the JSON object at byte 8 (found `{`)");
    CHECK_ERR(&f, "{\"raw\":[1,2}", "expected `,` or `]` after value at byte 11 (found `}`)");
    CHECK_ERR(&f, "{\"zz\":[1,2}", "expected `,` or `]` after value at byte 10 (found `}`)");
    CHECK_ERR(&f, "{\"zz\":{\"a\":1]}", "expected `,` or `}` after value at byte 12 (found `]`)");
    CHECK_ERR(&f, "{\"zz\":[1,2", "unexpected end of line at byte 10: expected `,` or `]` after value");
    CHECK_ERR(&f, "{\"name\":\"\\q\"}", "invalid escape `\\q` in a string at byte 9");
    CHECK_ERR(&f, "{\"zz\":\"\\u12\"}", "invalid \\u escape (need 4 hex digits) at byte 7");
    CHECK_ERR(&f, "{\"zz\":\"\\u12G4\"}", "invalid \\u escape (need 4 hex digits) at byte 7");
    CHECK_ERR(&f, "{\"name\":\"a\x01" "b\"}",
              "control character 0x01 in a string (must be escaped as \\u0001) at byte 10");
    CHECK_ERR(&f, "{\"zz\":\"a\nb\"}", "control character 0x0A in a string (must be escaped as \\u000A) at byte 8");
    CHECK_ERR(&f, "{\"ok\":tru}", "invalid literal (expected true, false or null) at byte 6 (found `t`)");
    CHECK_ERR(&f, "{\"zz\":nul}", "invalid literal (expected true, false or null) at byte 6 (found `n`)");
    CHECK_ERR(&f, "{\"ok\":truex}", "expected `,` or `}` after value at byte 10 (found `x`)");
    CHECK_ERR(&f, "{\"id\":01}", "invalid number at byte 6 (found `0`)");
    CHECK_ERR(&f, "{\"id\":-}", "invalid number at byte 6 (found `-`)");
    CHECK_ERR(&f, "{\"id\":1.}", "invalid number at byte 6 (found `1`)");
    CHECK_ERR(&f, "{\"zz\":1e}", "invalid number at byte 6 (found `1`)");
    CHECK_ERR(&f, "{\"id\":+1}", "expected a JSON value at byte 6 (found `+`)");
    CHECK_ERR(&f, "{\"id\":}", "expected a JSON value at byte 6 (found `}`)");
    CHECK_ERR(&f, "{\"zz\":'x'}", "expected a JSON value at byte 6 (found `'`)");
    CHECK_ERR(&f, "{\"name\":\"abc", "unexpected end of line at byte 12: unterminated string starting at byte 8");
    CHECK_ERR(&f, "{\"na", "unexpected end of line at byte 4: unterminated string starting at byte 1");
    CHECK_ERR(&f, "{\"zz\":\"ab\\", "unexpected end of line at byte 10: unterminated escape in a string");
    CHECK_ERR(&f, "{", "unexpected end of line at byte 1: expected a string key or `}`");
    CHECK_ERR(&f, "{,}", "expected a string key or `}` at byte 1 (found `,`)");
    CHECK_ERR(&f, "{\"id\":1,}", "expected a string key after `,` at byte 8 (found `}`)");
    CHECK_ERR(&f, "{id:1}", "expected a string key or `}` at byte 1 (found `i`)");
    CHECK_ERR(&f, "{\"id\":1 \"name\":2}", "expected `,` or `}` after value at byte 8 (found `\"`)");
    CHECK_ERR(&f, "{\"zz\":[1,]}", "expected a JSON value at byte 9 (found `]`)");
    CHECK_ERR(&f, "{\"zz\":\x80}", "expected a JSON value at byte 6 (found byte 0x80)");
    /* a NUL byte is not whitespace */
    {
        const char l[] = "{\"id\":1}\0";
        size_t n0 = f.b.n;
        AK_CHECK_EQ_INT(ak_json_decode(f.d, l, sizeof l - 1, 0, &f.b, &f.err), -1);
        AK_CHECK_STR(f.err.msg, "unexpected data after the JSON object at byte 8 (found byte 0x00)");
        AK_CHECK_EQ_INT(f.b.n, n0);
    }
    /* deep nesting is refused without recursion */
    char *deep = malloc(4200);
    strcpy(deep, "{\"zz\":");
    memset(deep + 6, '[', 2000);
    deep[2006] = '\0';
    CHECK_ERR(&f, deep, "JSON nested deeper than 1024 levels at byte 1030 (found `[`)");
    /* 1000 levels are fine */
    memset(deep + 6, '[', 1000);
    memset(deep + 1006, ']', 1000);
    strcpy(deep + 2006, "}");
    AK_CHECK_EQ_INT(dec(&f, deep), 1);
    free(deep);
    AK_CHECK_EQ_INT(f.err.code, AK_E_OK);
    CHECK_ERR(&f, "{\"id\":1", "unexpected end of line at byte 7: expected `,` or `}` after value");
    AK_CHECK_EQ_INT(f.err.code, AK_E_PARSE);
    fx_free(&f);
}

/* The first 10,000 events of a gen.py file, against the text they came from. */
AK_TEST(gen_file)
{
    const char *gens[] = {"tests/data/gen.py", "/work/shared/bench/gen.py"};
    const char *gen = NULL;
    for (size_t i = 0; i < 2 && !gen; i++)
        if (access(gens[i], R_OK) == 0)
            gen = gens[i];
    if (!gen) {
        fprintf(stderr, "  gen_file: no gen.py found, skipped\n");
        return;
    }
    char dir[] = "/tmp/ak_test_json_XXXXXX", cmd[512], path[300];
    if (!mkdtemp(dir)) {
        AK_CHECK(!"mkdtemp");
        return;
    }
    snprintf(cmd, sizeof cmd, "python3 %s --events 10000 --users 500 --seed 7 --out %s 2>/dev/null", gen, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "  gen_file: python3 unavailable, skipped\n");
        return;
    }
    snprintf(path, sizeof path, "%s/clickstream.ndjson", dir);
    FILE *fp = fopen(path, "r");
    AK_CHECK(fp != NULL);
    if (!fp)
        return;
    ak_schema_t s = {0};
    ak_schema_add(&s, "user_id", AK_TEXT, false, false);
    ak_schema_add(&s, "page_url", AK_TEXT, true, false);
    ak_schema_add(&s, "referrer_url", AK_TEXT, false, false);
    ak_schema_add(&s, "event_time", AK_TIMESTAMP, true, false);
    ak_json_decoder_t *d;
    ak_err_t err;
    AK_CHECK_EQ_INT(ak_json_decoder_new(&s, &d, &err), 0);
    ak_batch_t b;
    ak_batch_init(&b, &s);
    char line[8192];
    size_t lines = 0, ok = 0, nulls = 0, nullref = 0, mism = 0;
    uint64_t pos = 0;
    while (fgets(line, sizeof line, fp)) {
        size_t n = strlen(line);
        ak_batch_clear(&b);
        int rc = ak_json_decode(d, line, n - 1, pos, &b, &err);
        pos += n;
        lines++;
        if (rc != 1) {
            fprintf(stderr, "  line %zu: %s\n", lines, err.msg);
            continue;
        }
        ok++;
        ak_rec_t *r = &b.recs[0];
        /* check against the text: event_time re-read by hand */
        const char *et = strstr(line, "\"event_time\":\"") + 14;
        int Y, M, D, h, m, sec, ms;
        sscanf(et, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &Y, &M, &D, &h, &m, &sec, &ms);
        int64_t us = ak_days_from_civil(Y, (unsigned)M, (unsigned)D) * AK_US_PER_DAY +
                     ((int64_t)(h * 60 + m) * 60 + sec) * AK_US_PER_SEC + ms * 1000;
        const char *pu = strstr(line, "\"page_url\":\"") + 12;
        size_t pul = (size_t)(strchr(pu, '"') - pu);
        if (r->v[3].i != us || r->v[1].n != pul || memcmp(r->v[1].s, pu, pul) != 0 || r->present != 0xF)
            mism++;
        if (strstr(line, "\"user_id\":null"))
            nulls += r->v[0].type == AK_NULL;
        if (strstr(line, "\"referrer_url\":null"))
            nullref += r->v[2].type == AK_NULL;
        if (lines == 1) {
            AK_CHECK(r->pos == 0);
            AK_CHECK(r->v[0].type == AK_TEXT && r->v[0].n >= 6 && memcmp(r->v[0].s, "user-", 5) == 0);
            char tsb[AK_TS_BUF];
            ak_ts_format(r->v[3].i, tsb);
            AK_CHECK(strncmp(tsb, "2026-11-01T00:", 14) == 0);
        }
    }
    fclose(fp);
    AK_CHECK_EQ_INT(lines, 10000);
    AK_CHECK_EQ_INT(ok, 10000);
    AK_CHECK_EQ_INT(mism, 0);
    AK_CHECK_EQ_INT(nulls, 10); /* 0.1% null users */
    AK_CHECK(nullref > 100);
    ak_batch_free(&b);
    ak_json_decoder_free(d);
    ak_schema_free(&s);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "  could not remove %s\n", dir);
}

/* Every allocation, in turn, fails: each call fails with NOMEM leaving the
 * batch as it was, or succeeds with the right answer; ASan checks leaks. */
AK_TEST(allocation_failures)
{
    static char longline[20000];
    int k = snprintf(longline, sizeof longline, "{\"name\":\"");
    for (int i = 0; i < 2000; i++)
        k += snprintf(longline + k, sizeof longline - (size_t)k, "\\u00e9x");
    snprintf(longline + k, sizeof longline - (size_t)k, "\",\"id\":1}");
    char wrapped[4096];
    snprintf(wrapped, sizeof wrapped, "{\"schema\":%s,\"payload\":{\"before\":{\"id\":1,\"name\":\"x\"},"
             "\"after\":{\"id\":2,\"name\":\"y\",\"ts\":5},\"op\":\"u\"}}",
             ENVELOPE_SCHEMA("io.debezium.time.MicroTimestamp"));
    const char *lines[] = {"{\"id\":1,\"name\":\"alice\",\"ts\":\"2026-11-01T10:00:00.123Z\"}",
                           "{\"before\":{\"id\":1,\"name\":\"a\"},\"after\":{\"id\":2,\"name\":\"b\"},\"op\":\"u\"}",
                           wrapped, longline, wrapped, "{\"name\":\"esc\\n\",\"raw\":[1,2,3]}", "null"};
    const int want[] = {1, 2, 2, 1, 2, 1, 0};
    size_t nl = sizeof lines / sizeof *lines;
    int failures = 0, runs = 0;
    for (uint64_t nth = 1; nth < 100000; nth++) {
        ak_schema_t s = {0};
        ak_schema_add(&s, "id", AK_INT, false, true);
        ak_schema_add(&s, "name", AK_TEXT, false, false);
        ak_schema_add(&s, "ts", AK_TIMESTAMP, false, false);
        ak_schema_add(&s, "raw", AK_TEXT, false, false);
        uint64_t c0 = ak_alloc_count();
        ak_alloc_fail_at(nth);
        ak_json_decoder_t *d = NULL;
        ak_batch_t b;
        ak_batch_init(&b, &s);
        ak_err_t err;
        bool failed = false;
        if (ak_json_decoder_new(&s, &d, &err) != 0) {
            AK_CHECK_EQ_INT(err.code, AK_E_NOMEM);
            AK_CHECK(d == NULL);
            failed = true;
        } else {
            for (size_t i = 0; i < nl; i++) {
                size_t n0 = b.n;
                int rc = ak_json_decode(d, lines[i], strlen(lines[i]), i, &b, &err);
                if (rc < 0) {
                    AK_CHECK_EQ_INT(err.code, AK_E_NOMEM);
                    AK_CHECK_EQ_INT(b.n, n0);
                    failed = true;
                } else {
                    AK_CHECK_EQ_INT(rc, want[i] ? 1 : 0);
                    AK_CHECK_EQ_INT(b.n - n0, want[i]);
                }
            }
        }
        uint64_t used = ak_alloc_count() - c0;
        ak_alloc_fail_at(0);
        ak_json_decoder_free(d);
        ak_batch_free(&b);
        ak_schema_free(&s);
        runs++;
        failures += failed;
        if (used < nth)
            break; /* the nth allocation never came: every one has been failed */
    }
    AK_CHECK(runs > 10);
    AK_CHECK(failures > 5);
    AK_CHECK_EQ_INT(ak_alloc_live(), 0);
}

int main(void) { return ak_test_main(); }
