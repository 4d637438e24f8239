/* test_nats.c - the nats connector's pieces that need no server: subject
 * patterns, secret scrubbing, its option table.  (tests/sources/test_nats.py
 * runs it against a real nats-server.) */
#include "ak_test.h"

#include "ak_nats.h"
#include "ak_source.h"

AK_TEST(subject_match)
{
    AK_CHECK(ak_nats_subject_match("cdc.payments.*", "cdc.payments.c"));
    AK_CHECK(!ak_nats_subject_match("cdc.payments.*", "cdc.payments"));
    AK_CHECK(!ak_nats_subject_match("cdc.payments.*", "cdc.payments.c.x"));
    AK_CHECK(ak_nats_subject_match("cdc.>", "cdc.payments.c.x"));
    AK_CHECK(!ak_nats_subject_match("cdc.>", "cdc"));
    AK_CHECK(ak_nats_subject_match("*.payments.*", "db.payments.u"));
    AK_CHECK(!ak_nats_subject_match("cdc.pay", "cdc.payments"));
    AK_CHECK(ak_nats_subject_match("cdc.payments", "cdc.payments"));
    AK_CHECK(ak_nats_subject_match(">", "a"));
}

AK_TEST(subject_within)
{
    AK_CHECK(ak_nats_subject_within("cdc.payments.*", "cdc.>"));
    AK_CHECK(ak_nats_subject_within("cdc.payments.*", "cdc.*.*"));
    AK_CHECK(ak_nats_subject_within("cdc.payments.c", "cdc.payments.*"));
    AK_CHECK(!ak_nats_subject_within("cdc.>", "cdc.payments.*"));
    AK_CHECK(!ak_nats_subject_within("cdc.*", "cdc.payments"));
    AK_CHECK(!ak_nats_subject_within("cdc.>", "cdc.*"));
    AK_CHECK(ak_nats_subject_within("cdc.>", "cdc.>"));
    AK_CHECK(!ak_nats_subject_within("other.x", "cdc.>"));
}

AK_TEST(scrub_hides_secrets_and_url_credentials)
{
    ak_nats_cfg_t cfg = {0};
    cfg.password = "hunter22";
    cfg.token = "tok-abc";
    char msg[AK_ERR_MSG_MAX];
    snprintf(msg, sizeof msg, "cannot reach nats://u:hunter22@h:4222, nats://x@h2:1 (token tok-abc, hunter22)");
    ak_nats_scrub(&cfg, msg, sizeof msg);
    AK_CHECK_STR(msg, "cannot reach nats://****@h:4222, nats://****@h2:1 (token ****, ****)");
    snprintf(msg, sizeof msg, "nats://127.0.0.1:4222 is fine");
    ak_nats_scrub(&cfg, msg, sizeof msg);
    AK_CHECK_STR(msg, "nats://127.0.0.1:4222 is fine");
}

AK_TEST(option_table)
{
    ak_err_t err;
    AK_CHECK(ak_source_nats.built);
    AK_CHECK_EQ_INT(ak_options_check_table(ak_source_nats.options, ak_source_nats.n_options, &err), 0);
}

int main(void) { return ak_test_main(); }
