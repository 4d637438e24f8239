/* test_pgoutput.c - the logical replication decoder: LSN text, CopyData
 * frames, the standby status update, and every pgoutput v1 message built
 * byte by byte (relations, tuples with NULL / unchanged-TOAST / text
 * columns, old keys and old rows, truncate), plus every truncation of a
 * valid message failing cleanly. */
#include "ak_test.h"

#include "ak_alloc.h"
#include "ak_buf.h"
#include "ak_pgoutput.h"

/* ---- message builder ---- */

static void b8(ak_buf_t *b, uint8_t v) { ak_buf_putc(b, (char)v); }
static void b16(ak_buf_t *b, uint16_t v)
{
    b8(b, (uint8_t)(v >> 8));
    b8(b, (uint8_t)v);
}
static void b32(ak_buf_t *b, uint32_t v)
{
    b16(b, (uint16_t)(v >> 16));
    b16(b, (uint16_t)v);
}
static void b64(ak_buf_t *b, uint64_t v)
{
    b32(b, (uint32_t)(v >> 32));
    b32(b, (uint32_t)v);
}
static void bstr(ak_buf_t *b, const char *s) { ak_buf_put(b, s, strlen(s) + 1); }
static void btext(ak_buf_t *b, const char *s)
{
    b8(b, 't');
    b32(b, (uint32_t)strlen(s));
    ak_buf_put(b, s, strlen(s));
}

/* Relation 16384 public.users (id key, name, bio). */
static void relation(ak_buf_t *b)
{
    b8(b, 'R');
    b32(b, 16384);
    bstr(b, "public");
    bstr(b, "users");
    b8(b, 'd');
    b16(b, 3);
    b8(b, 1);
    bstr(b, "id");
    b32(b, 25);
    b32(b, (uint32_t)-1);
    b8(b, 0);
    bstr(b, "name");
    b32(b, 25);
    b32(b, (uint32_t)-1);
    b8(b, 0);
    bstr(b, "bio");
    b32(b, 25);
    b32(b, (uint32_t)-1);
}

static bool col_is(const ak_pgo_col_t *c, char kind, const char *text)
{
    if (c->kind != kind)
        return false;
    if (!text)
        return c->n == 0;
    return c->n == strlen(text) && memcmp(c->p, text, c->n) == 0;
}

AK_TEST(lsn_text_round_trip)
{
    ak_lsn_t l;
    char buf[24];
    AK_CHECK(ak_lsn_parse("16/B374D848", &l) == 0 && l == ((uint64_t)0x16 << 32 | 0xB374D848u));
    AK_CHECK_STR(ak_lsn_format(l, buf), "16/B374D848");
    AK_CHECK(ak_lsn_parse("0/0", &l) == 0 && l == 0);
    AK_CHECK(ak_lsn_parse("ffffffff/ffffffff", &l) == 0 && l == UINT64_MAX);
    AK_CHECK_STR(ak_lsn_format(0x100000000ull, buf), "1/0");
    AK_CHECK(ak_lsn_parse("", &l) < 0);
    AK_CHECK(ak_lsn_parse("12", &l) < 0);
    AK_CHECK(ak_lsn_parse("/12", &l) < 0);
    AK_CHECK(ak_lsn_parse("1/", &l) < 0);
    AK_CHECK(ak_lsn_parse("1/g", &l) < 0);
    AK_CHECK(ak_lsn_parse("123456789/0", &l) < 0);
}

AK_TEST(frames_and_status_update)
{
    ak_buf_t b = AK_BUF_INIT;
    b8(&b, 'w');
    b64(&b, 0x10);
    b64(&b, 0x20);
    b64(&b, 7);
    ak_buf_put(&b, "BODY", 4);
    ak_pgo_frame_t f;
    ak_err_t err;
    AK_CHECK(ak_pgo_frame_parse((const uint8_t *)b.data, b.len, &f, &err) == 0);
    AK_CHECK(f.kind == 'w' && f.wal_start == 0x10 && f.wal_end == 0x20 && f.n == 4 && memcmp(f.data, "BODY", 4) == 0);
    AK_CHECK(ak_pgo_frame_parse((const uint8_t *)b.data, 20, &f, &err) < 0 && err.code == AK_E_CORRUPT);
    ak_buf_clear(&b);
    b8(&b, 'k');
    b64(&b, 0xABCDEF);
    b64(&b, 1);
    b8(&b, 1);
    AK_CHECK(ak_pgo_frame_parse((const uint8_t *)b.data, b.len, &f, &err) == 0);
    AK_CHECK(f.kind == 'k' && f.wal_end == 0xABCDEF && f.reply);
    AK_CHECK(ak_pgo_frame_parse((const uint8_t *)b.data, b.len - 1, &f, &err) < 0);
    AK_CHECK(ak_pgo_frame_parse((const uint8_t *)"x", 1, &f, &err) < 0);
    AK_CHECK(ak_pgo_frame_parse((const uint8_t *)"", 0, &f, &err) < 0);
    uint8_t st[AK_PGO_STATUS_LEN];
    ak_pgo_status(st, 0x0102030405060708ull, 0x1112131415161718ull, INT64_C(946684800000000) + 5, true);
    AK_CHECK(st[0] == 'r' && st[1] == 0x01 && st[8] == 0x08 && st[9] == 0x11 && st[16] == 0x18);
    AK_CHECK(st[17] == 0x11 && st[24] == 0x18); /* applied = flushed */
    AK_CHECK(st[32] == 5 && st[33] == 1);      /* µs since 2000-01-01; reply asked */
    ak_buf_free(&b);
}

AK_TEST(transaction_with_every_change)
{
    ak_pgo_t *d;
    ak_err_t err;
    AK_CHECK(ak_pgo_new(&d, &err) == 0);
    ak_pgo_msg_t m;
    ak_buf_t b = AK_BUF_INIT;
    /* Begin */
    b8(&b, 'B');
    b64(&b, 0x5000);
    b64(&b, 123);
    b32(&b, 777);
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) == 0);
    AK_CHECK(m.type == 'B' && m.lsn == 0x5000 && m.xid == 777);
    /* an insert before its relation was described is refused */
    ak_buf_clear(&b);
    b8(&b, 'I');
    b32(&b, 16384);
    b8(&b, 'N');
    b16(&b, 0);
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) < 0 && strstr(err.msg, "never described"));
    /* Relation */
    ak_buf_clear(&b);
    relation(&b);
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) == 0);
    AK_CHECK(m.type == 'R' && m.rel && m.rel->natts == 3 && m.rel->atts[0].key && !m.rel->atts[1].key);
    AK_CHECK_STR(m.rel->nspname, "public");
    AK_CHECK_STR(m.rel->relname, "users");
    AK_CHECK_STR(m.rel->atts[2].name, "bio");
    AK_CHECK(ak_pgo_rel(d, 16384) == m.rel);
    /* Insert: text, NULL, text */
    ak_buf_clear(&b);
    b8(&b, 'I');
    b32(&b, 16384);
    b8(&b, 'N');
    b16(&b, 3);
    btext(&b, "u1");
    b8(&b, 'n');
    btext(&b, "long bio");
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) == 0);
    AK_CHECK(m.type == 'I' && m.relid == 16384 && m.new_tup.n == 3 && !m.old_kind);
    AK_CHECK(col_is(&m.new_tup.cols[0], 't', "u1") && col_is(&m.new_tup.cols[1], 'n', NULL) &&
             col_is(&m.new_tup.cols[2], 't', "long bio"));
    /* Update that changes the key: old key ('K'), new row with an unchanged TOASTed value */
    ak_buf_clear(&b);
    b8(&b, 'U');
    b32(&b, 16384);
    b8(&b, 'K');
    b16(&b, 3);
    btext(&b, "u1");
    b8(&b, 'n');
    b8(&b, 'n');
    b8(&b, 'N');
    b16(&b, 3);
    btext(&b, "u2");
    btext(&b, "Ann");
    b8(&b, 'u');
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) == 0);
    AK_CHECK(m.type == 'U' && m.old_kind == 'K' && m.old_tup.n == 3 && m.new_tup.n == 3);
    AK_CHECK(col_is(&m.old_tup.cols[0], 't', "u1") && col_is(&m.new_tup.cols[0], 't', "u2"));
    AK_CHECK(col_is(&m.new_tup.cols[2], 'u', NULL));
    /* Update without old tuple */
    ak_buf_clear(&b);
    b8(&b, 'U');
    b32(&b, 16384);
    b8(&b, 'N');
    b16(&b, 3);
    btext(&b, "u2");
    btext(&b, "Bo");
    btext(&b, "");
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) == 0);
    AK_CHECK(m.type == 'U' && !m.old_kind && col_is(&m.new_tup.cols[2], 't', ""));
    /* Delete with the whole old row ('O') */
    ak_buf_clear(&b);
    b8(&b, 'D');
    b32(&b, 16384);
    b8(&b, 'O');
    b16(&b, 3);
    btext(&b, "u2");
    btext(&b, "Bo");
    b8(&b, 'n');
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) == 0);
    AK_CHECK(m.type == 'D' && m.old_kind == 'O' && col_is(&m.old_tup.cols[1], 't', "Bo"));
    /* a tuple whose column count disagrees with the relation */
    ak_buf_clear(&b);
    b8(&b, 'D');
    b32(&b, 16384);
    b8(&b, 'K');
    b16(&b, 1);
    btext(&b, "u2");
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) < 0 && err.code == AK_E_CORRUPT);
    /* Truncate of two relations */
    ak_buf_clear(&b);
    b8(&b, 'T');
    b32(&b, 2);
    b8(&b, 1);
    b32(&b, 99);
    b32(&b, 16384);
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) == 0);
    AK_CHECK(m.type == 'T' && m.nrelids == 2 && m.flags == 1 && ak_pgo_truncate_relid(&m, 1) == 16384);
    /* Origin, Type, Message are read and passed over */
    ak_buf_clear(&b);
    b8(&b, 'O');
    b64(&b, 1);
    bstr(&b, "origin");
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) == 0 && m.type == 'O');
    ak_buf_clear(&b);
    b8(&b, 'Y');
    b32(&b, 5000);
    bstr(&b, "public");
    bstr(&b, "mood");
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) == 0 && m.type == 'Y');
    ak_buf_clear(&b);
    b8(&b, 'M');
    b8(&b, 1);
    b64(&b, 9);
    bstr(&b, "prefix");
    b32(&b, 3);
    ak_buf_put(&b, "abc", 3);
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) == 0 && m.type == 'M');
    /* Commit */
    ak_buf_clear(&b);
    b8(&b, 'C');
    b8(&b, 0);
    b64(&b, 0x5000);
    b64(&b, 0x5038);
    b64(&b, 124);
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) == 0);
    AK_CHECK(m.type == 'C' && m.lsn == 0x5000 && m.end_lsn == 0x5038);
    /* unknown message types are refused */
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)"Z", 1, &m, &err) < 0 && strstr(err.msg, "unknown"));
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)"", 0, &m, &err) < 0);
    ak_buf_free(&b);
    ak_pgo_free(d);
}

AK_TEST(relation_described_again_replaces_the_old)
{
    ak_pgo_t *d;
    ak_err_t err;
    AK_CHECK(ak_pgo_new(&d, &err) == 0);
    ak_buf_t b = AK_BUF_INIT;
    relation(&b);
    ak_pgo_msg_t m;
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) == 0);
    ak_buf_clear(&b);
    b8(&b, 'R');
    b32(&b, 16384);
    bstr(&b, "public");
    bstr(&b, "users");
    b8(&b, 'f');
    b16(&b, 1);
    b8(&b, 1);
    bstr(&b, "id");
    b32(&b, 25);
    b32(&b, (uint32_t)-1);
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) == 0);
    const ak_pgo_rel_t *r = ak_pgo_rel(d, 16384);
    AK_CHECK(r && r->natts == 1 && r->replident == 'f');
    ak_buf_free(&b);
    ak_pgo_free(d);
}

/* Every prefix of every valid message fails cleanly (ASan checks the reads). */
AK_TEST(every_truncation_is_an_error)
{
    ak_pgo_t *d;
    ak_err_t err;
    AK_CHECK(ak_pgo_new(&d, &err) == 0);
    ak_buf_t rel = AK_BUF_INIT, ins = AK_BUF_INIT;
    relation(&rel);
    ak_pgo_msg_t m;
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)rel.data, rel.len, &m, &err) == 0);
    b8(&ins, 'U');
    b32(&ins, 16384);
    b8(&ins, 'O');
    b16(&ins, 3);
    btext(&ins, "a");
    b8(&ins, 'u');
    btext(&ins, "bio");
    b8(&ins, 'N');
    b16(&ins, 3);
    btext(&ins, "a");
    b8(&ins, 'n');
    btext(&ins, "bio2");
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)ins.data, ins.len, &m, &err) == 0);
    int bad = 0;
    for (size_t n = 0; n < ins.len; n++) {
        uint8_t *copy = ak_memdup(ins.data, n ? n : 1);
        if (ak_pgo_parse(d, copy, n, &m, &err) == 0)
            bad++;
        ak_free(copy);
    }
    AK_CHECK_EQ_INT(bad, 0);
    /* a relation cut anywhere: refused, and the known relation stays */
    for (size_t n = 1; n < rel.len; n++) {
        uint8_t *copy = ak_memdup(rel.data, n);
        if (ak_pgo_parse(d, copy, n, &m, &err) == 0)
            bad++;
        ak_free(copy);
    }
    AK_CHECK_EQ_INT(bad, 0);
    AK_CHECK(ak_pgo_rel(d, 16384) && ak_pgo_rel(d, 16384)->natts == 3);
    /* a value length running past the end */
    ak_buf_t b = AK_BUF_INIT;
    b8(&b, 'I');
    b32(&b, 16384);
    b8(&b, 'N');
    b16(&b, 3);
    b8(&b, 't');
    b32(&b, 0x7fffffff);
    AK_CHECK(ak_pgo_parse(d, (const uint8_t *)b.data, b.len, &m, &err) < 0);
    ak_buf_free(&b);
    ak_buf_free(&rel);
    ak_buf_free(&ins);
    ak_pgo_free(d);
}

int main(void) { return ak_test_main(); }
