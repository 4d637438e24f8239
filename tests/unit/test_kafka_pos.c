/* test_kafka_pos.c - the Kafka connector's position text and the DELETE a
 * tombstone's key stands for. */
#include "ak_test.h"

#include "ak_alloc.h"
#include "ak_kafka_int.h"

#include <string.h>

AK_TEST(position_round_trip)
{
    int64_t off[5] = {12, -1, 0, 977, 5};
    ak_buf_t b = AK_BUF_INIT;
    ak__kpos_write(&b, "clicks \"x\"", off, 5);
    AK_CHECK_STR(b.data, "{\"topic\":\"clicks \\\"x\\\"\",\"offsets\":{\"0\":12,\"2\":0,\"3\":977,\"4\":5}}");
    ak_kpos_t p;
    ak_err_t err;
    AK_CHECK_EQ_INT(ak__kpos_parse(b.data, &p, &err), 0);
    AK_CHECK_STR(p.topic, "clicks \"x\"");
    AK_CHECK_EQ_INT(p.n, 5);
    for (int i = 0; i < 5 && p.n == 5; i++)
        AK_CHECK_EQ_INT(p.off[i], off[i]);
    ak__kpos_free(&p);
    ak_buf_clear(&b);
    ak__kpos_write(&b, "t", off, 0);
    AK_CHECK_STR(b.data, "{\"topic\":\"t\",\"offsets\":{}}");
    AK_CHECK_EQ_INT(ak__kpos_parse(b.data, &p, &err), 0);
    AK_CHECK_EQ_INT(p.n, 0);
    ak__kpos_free(&p);
    ak_buf_free(&b);
}

AK_TEST(position_corrupt)
{
    const char *bad[] = {
        "",
        "[]",
        "{\"topic\":\"t\"}",
        "{\"offsets\":{}}",
        "{\"topic\":\"t\",\"offsets\":{\"x\":1}}",
        "{\"topic\":\"t\",\"offsets\":{\"-1\":1}}",
        "{\"topic\":\"t\",\"offsets\":{\"0\":-5}}",
        "{\"topic\":\"t\",\"offsets\":{\"0\":\"a\"}}",
        "{\"topic\":\"t\",\"offsets\":{\"999999999\":1}}",
        "{\"file\": \"a.ndjson\", \"offset\": 3}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ak_kpos_t p;
        ak_err_t err;
        ak_err_clear(&err);
        int rc = ak__kpos_parse(bad[i], &p, &err);
        AK_CHECK_EQ_INT(rc, -1);
        AK_CHECK_EQ_INT(err.code, AK_E_CORRUPT);
        AK_CHECK(p.topic == NULL && p.off == NULL);
    }
}

static int one_delete(const ak_schema_t *s, const char *key, ak_batch_t *b, ak_err_t *err)
{
    ak_json_decoder_t *jd;
    if (ak_json_decoder_new(s, &jd, err))
        return -2;
    ak_buf_t scratch = AK_BUF_INIT;
    int rc = ak__kafka_key_delete(jd, s, key, strlen(key), 7, &scratch, b, err);
    ak_buf_free(&scratch);
    ak_json_decoder_free(jd);
    return rc;
}

AK_TEST(tombstone_keys)
{
    ak_schema_t s = {0};
    ak_schema_add(&s, "user_id", AK_TEXT, true, true);
    ak_schema_add(&s, "name", AK_TEXT, true, false); /* required, but not for a delete */
    const char *keys[][2] = {
        {"{\"user_id\":\"u1\"}", "u1"},
        {"{\"schema\":{\"type\":\"struct\"},\"payload\":{\"user_id\":\"u2\"}}", "u2"},
        {"\"u3\"", "u3"},
        {"u4", "u4"},
        {"  42 ", "42"},
        {"a \"quoted\" \\ key", "a \"quoted\" \\ key"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        ak_batch_t b;
        ak_batch_init(&b, &s);
        ak_err_t err;
        ak_err_clear(&err);
        AK_CHECK_EQ_INT(one_delete(&s, keys[i][0], &b, &err), 1);
        AK_CHECK_EQ_INT(b.n, 1);
        if (b.n == 1) {
            AK_CHECK_EQ_INT(b.recs[0].op, AK_OP_DELETE);
            AK_CHECK_EQ_INT(b.recs[0].flags, 0);
            AK_CHECK_EQ_INT(b.recs[0].pos, 7);
            AK_CHECK(b.recs[0].v[0].type == AK_TEXT && b.recs[0].v[0].n == strlen(keys[i][1]) &&
                     memcmp(b.recs[0].v[0].s, keys[i][1], b.recs[0].v[0].n) == 0);
        }
        ak_batch_free(&b);
    }
    /* keys that name no row */
    const char *bad[] = {"{\"other\":1}", "{\"schema\":{},\"payload\":null}", "{\"user_id\":null}", "{"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ak_batch_t b;
        ak_batch_init(&b, &s);
        ak_err_t err;
        ak_err_clear(&err);
        AK_CHECK_EQ_INT(one_delete(&s, bad[i], &b, &err), -1);
        AK_CHECK_EQ_INT(b.n, 0);
        AK_CHECK(err.msg[0] != '\0' && err.code != AK_E_NOMEM);
        ak_batch_free(&b);
    }
    ak_schema_free(&s);

    /* a composite key needs an object */
    ak_schema_t c = {0};
    ak_schema_add(&c, "a", AK_INT, true, true);
    ak_schema_add(&c, "b", AK_TEXT, true, true);
    ak_batch_t b;
    ak_batch_init(&b, &c);
    ak_err_t err;
    ak_err_clear(&err);
    AK_CHECK_EQ_INT(one_delete(&c, "{\"b\":\"x\",\"a\":3}", &b, &err), 1);
    AK_CHECK(b.n == 1 && b.recs[0].v[0].type == AK_INT && b.recs[0].v[0].i == 3);
    AK_CHECK_EQ_INT(one_delete(&c, "3", &b, &err), -1);
    AK_CHECK(strstr(err.msg, "2 primary-key columns") != NULL);
    AK_CHECK_EQ_INT(one_delete(&c, "{\"a\":3}", &b, &err), -1);
    AK_CHECK_EQ_INT(b.n, 1);
    ak_batch_free(&b);
    ak_schema_free(&c);
}

int main(void) { return ak_test_main(); }
