/* ak_pgoutput.c - CopyData frames and pgoutput v1 messages, decoded. */
#include "ak_pgoutput.h"

#include "ak_alloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
#define PG_EPOCH_US INT64_C(946684800000000)

struct ak_pgo {
    ak_pgo_rel_t *rels;
    size_t nrels, cap_rels;
    ak_pgo_col_t *cols[2];    /* tuple scratch: old, new */
    size_t cap_cols[2];
};

int ak_lsn_parse(const char *s, ak_lsn_t *out)
{
    uint64_t hi = 0, lo = 0;
    int nh = 0, nl = 0;
    const char *p = s;
    for (; *p && *p != '/'; p++, nh++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
        if (d < 0 || nh >= 8)
            return -1;
        hi = hi << 4 | (uint64_t)d;
    }
    if (*p != '/' || nh == 0)
        return -1;
    for (p++; *p; p++, nl++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
        if (d < 0 || nl >= 8)
            return -1;
        lo = lo << 4 | (uint64_t)d;
    }
    if (nl == 0)
        return -1;
    *out = hi << 32 | lo;
    return 0;
}

char *ak_lsn_format(ak_lsn_t lsn, char *out)
{
    snprintf(out, 24, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
    return out;
}

/* ---- a bounds-checked reader ---- */

typedef struct rd {
    const uint8_t *p;
    size_t n, at;
    bool bad;
} rd_t;

static bool need(rd_t *r, size_t k)
{
    if (r->bad || r->n - r->at < k) {
        r->bad = true;
        return false;
    }
    return true;
}

static uint8_t u8(rd_t *r)
{
    if (!need(r, 1))
        return 0;
    return r->p[r->at++];
}

static uint16_t u16(rd_t *r)
{
    if (!need(r, 2))
        return 0;
    const uint8_t *p = r->p + r->at;
    r->at += 2;
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t u32(rd_t *r)
{
    if (!need(r, 4))
        return 0;
    const uint8_t *p = r->p + r->at;
    r->at += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t u64(rd_t *r)
{
    uint64_t hi = u32(r);
    return hi << 32 | u32(r);
}

/* A NUL-terminated string inside the message. */
static const char *str(rd_t *r)
{
    if (r->bad)
        return "";
    const uint8_t *z = memchr(r->p + r->at, 0, r->n - r->at);
    if (!z) {
        r->bad = true;
        return "";
    }
    const char *s = (const char *)r->p + r->at;
    r->at = (size_t)(z - r->p) + 1;
    return s;
}

static int malformed(ak_err_t *err, char type, const char *what)
{
    return ak_errf(err, AK_E_CORRUPT, "malformed logical replication message '%c': %s", type ? type : '?', what);
}

/* ---- frames ---- */

int ak_pgo_frame_parse(const uint8_t *p, size_t n, ak_pgo_frame_t *out, ak_err_t *err)
{
    memset(out, 0, sizeof *out);
    rd_t r = {p, n, 0, false};
    out->kind = (char)u8(&r);
    if (out->kind == 'w') {
        out->wal_start = u64(&r);
        out->wal_end = u64(&r);
        out->send_time = (int64_t)u64(&r);
        if (r.bad)
            return malformed(err, 'w', "XLogData shorter than its 25-byte header");
        out->data = p + r.at;
        out->n = n - r.at;
        return 0;
    }
    if (out->kind == 'k') {
        out->wal_end = u64(&r);
        out->send_time = (int64_t)u64(&r);
        out->reply = u8(&r) != 0;
        if (r.bad)
            return malformed(err, 'k', "keepalive shorter than 18 bytes");
        return 0;
    }
    return ak_errf(err, AK_E_CORRUPT, "unexpected replication frame kind 0x%02x (expected XLogData or keepalive)",
                   n ? p[0] : 0);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

void ak_pgo_status(uint8_t out[AK_PGO_STATUS_LEN], ak_lsn_t written, ak_lsn_t flushed, int64_t now_us, bool reply)
{
    out[0] = 'r';
    put64(out + 1, written);
    put64(out + 9, flushed);
    put64(out + 17, flushed); /* applied: what akili has made durable */
    put64(out + 25, (uint64_t)(now_us - PG_EPOCH_US));
    out[33] = reply ? 1 : 0;
}

/* ---- pgoutput ---- */

int ak_pgo_new(ak_pgo_t **out, ak_err_t *err)
{
    *out = ak_calloc(1, sizeof **out);
    return *out ? 0 : ak_err_nomem(err);
}

static void rel_clear(ak_pgo_rel_t *r)
{
    for (int i = 0; i < r->natts; i++)
        ak_free(r->atts[i].name);
    ak_free(r->atts);
    ak_free(r->nspname);
    ak_free(r->relname);
    r->atts = NULL;
    r->natts = 0;
    r->nspname = r->relname = NULL;
}

void ak_pgo_free(ak_pgo_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nrels; i++)
        rel_clear(&d->rels[i]);
    ak_free(d->rels);
    ak_free(d->cols[0]);
    ak_free(d->cols[1]);
    ak_free(d);
}

const ak_pgo_rel_t *ak_pgo_rel(const ak_pgo_t *d, uint32_t relid)
{
    for (size_t i = 0; i < d->nrels; i++)
        if (d->rels[i].id == relid)
            return &d->rels[i];
    return NULL;
}

uint32_t ak_pgo_truncate_relid(const ak_pgo_msg_t *m, uint32_t i)
{
    const uint8_t *p = m->relids + 4 * (size_t)i;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int parse_relation(ak_pgo_t *d, rd_t *r, ak_pgo_msg_t *m, ak_err_t *err)
{
    uint32_t id = u32(r);
    const char *ns = str(r), *name = str(r);
    char ident = (char)u8(r);
    int natts = u16(r);
    if (r->bad)
        return malformed(err, 'R', "truncated relation header");
    ak_pgo_rel_t nr = {id, NULL, NULL, ident, 0, NULL};
    if (!(nr.nspname = ak_strdup(ns)) || !(nr.relname = ak_strdup(name)) ||
        !(nr.atts = ak_calloc(natts ? (size_t)natts : 1, sizeof *nr.atts))) {
        rel_clear(&nr);
        return ak_err_nomem(err);
    }
    for (int i = 0; i < natts; i++) {
        uint8_t fl = u8(r);
        const char *an = str(r);
        uint32_t typ = u32(r);
        int32_t mod = (int32_t)u32(r);
        if (r->bad) {
            rel_clear(&nr);
            return malformed(err, 'R', "truncated column list");
        }
        if (!(nr.atts[i].name = ak_strdup(an))) {
            rel_clear(&nr);
            return ak_err_nomem(err);
        }
        nr.natts = i + 1;
        nr.atts[i].type_oid = typ;
        nr.atts[i].typmod = mod;
        nr.atts[i].key = fl & 1;
    }
    /* a relation described again (after ALTER TABLE) replaces the old one */
    ak_pgo_rel_t *slot = (ak_pgo_rel_t *)ak_pgo_rel(d, id);
    if (!slot) {
        if (AK_GROW(d->rels, d->cap_rels, d->nrels + 1)) {
            rel_clear(&nr);
            return ak_err_nomem(err);
        }
        slot = &d->rels[d->nrels++];
    } else {
        rel_clear(slot);
    }
    *slot = nr;
    m->rel = slot;
    m->relid = id;
    return 0;
}

static int parse_tuple(ak_pgo_t *d, rd_t *r, int which, ak_pgo_tuple_t *t, char type, ak_err_t *err)
{
    int n = u16(r);
    if (r->bad)
        return malformed(err, type, "truncated tuple header");
    if ((size_t)n > d->cap_cols[which]) {
        size_t cap = d->cap_cols[which];
        if (ak_grow((void **)&d->cols[which], &cap, (size_t)n, sizeof(ak_pgo_col_t)))
            return ak_err_nomem(err);
        d->cap_cols[which] = cap;
    }
    t->n = n;
    t->cols = d->cols[which];
    for (int i = 0; i < n; i++) {
        ak_pgo_col_t *c = &t->cols[i];
        c->kind = (char)u8(r);
        c->p = NULL;
        c->n = 0;
        if (c->kind == 't' || c->kind == 'b') {
            uint32_t len = u32(r);
            if (!need(r, len))
                return malformed(err, type, "a column value runs past the end of the message");
            c->p = (const char *)r->p + r->at;
            c->n = len;
            r->at += len;
        } else if (c->kind != 'n' && c->kind != 'u') {
            return malformed(err, type, r->bad ? "truncated tuple" : "unknown column kind in a tuple");
        }
    }
    return r->bad ? malformed(err, type, "truncated tuple") : 0;
}

static int change_rel(ak_pgo_t *d, rd_t *r, ak_pgo_msg_t *m, ak_err_t *err)
{
    m->relid = u32(r);
    if (r->bad)
        return malformed(err, m->type, "truncated relation id");
    m->rel = ak_pgo_rel(d, m->relid);
    if (!m->rel)
        return ak_errf(err, AK_E_CORRUPT, "logical replication change '%c' for relation %" PRIu32
                       " that was never described by a Relation message", m->type, m->relid);
    return 0;
}

static int tuple_matches(const ak_pgo_msg_t *m, const ak_pgo_tuple_t *t, ak_err_t *err)
{
    if (t->n != m->rel->natts)
        return ak_errf(err, AK_E_CORRUPT, "logical replication change '%c' for %s.%s carries %d columns, its "
                       "Relation message %d", m->type, m->rel->nspname, m->rel->relname, t->n, m->rel->natts);
    return 0;
}

int ak_pgo_parse(ak_pgo_t *d, const uint8_t *p, size_t n, ak_pgo_msg_t *m, ak_err_t *err)
{
    memset(m, 0, sizeof *m);
    rd_t r = {p, n, 0, false};
    m->type = (char)u8(&r);
    if (r.bad)
        return malformed(err, 0, "empty message");
    switch (m->type) {
    case 'B':
        m->lsn = u64(&r);
        m->ts = (int64_t)u64(&r);
        m->xid = u32(&r);
        break;
    case 'C':
        m->flags = u8(&r);
        m->lsn = u64(&r);
        m->end_lsn = u64(&r);
        m->ts = (int64_t)u64(&r);
        break;
    case 'O':
        m->lsn = u64(&r);
        (void)str(&r);
        break;
    case 'Y':
        (void)u32(&r);
        (void)str(&r);
        (void)str(&r);
        break;
    case 'R':
        return parse_relation(d, &r, m, err);
    case 'I':
        if (change_rel(d, &r, m, err))
            return -1;
        if (u8(&r) != 'N')
            return malformed(err, 'I', "expected a new tuple ('N')");
        if (parse_tuple(d, &r, 1, &m->new_tup, 'I', err) || tuple_matches(m, &m->new_tup, err))
            return -1;
        break;
    case 'U': {
        if (change_rel(d, &r, m, err))
            return -1;
        uint8_t k = u8(&r);
        if (k == 'K' || k == 'O') {
            m->old_kind = (char)k;
            if (parse_tuple(d, &r, 0, &m->old_tup, 'U', err) || tuple_matches(m, &m->old_tup, err))
                return -1;
            k = u8(&r);
        }
        if (k != 'N')
            return malformed(err, 'U', "expected a new tuple ('N')");
        if (parse_tuple(d, &r, 1, &m->new_tup, 'U', err) || tuple_matches(m, &m->new_tup, err))
            return -1;
        break;
    }
    case 'D': {
        if (change_rel(d, &r, m, err))
            return -1;
        uint8_t k = u8(&r);
        if (k != 'K' && k != 'O')
            return malformed(err, 'D', "expected a key ('K') or old tuple ('O')");
        m->old_kind = (char)k;
        if (parse_tuple(d, &r, 0, &m->old_tup, 'D', err) || tuple_matches(m, &m->old_tup, err))
            return -1;
        break;
    }
    case 'T':
        m->nrelids = u32(&r);
        m->flags = u8(&r);
        if (r.bad || !need(&r, 4 * (size_t)m->nrelids))
            return malformed(err, 'T', "truncated relation list");
        m->relids = p + r.at;
        r.at += 4 * (size_t)m->nrelids;
        break;
    case 'M': {
        m->flags = u8(&r);
        m->lsn = u64(&r);
        (void)str(&r);
        uint32_t len = u32(&r);
        if (!need(&r, len))
            return malformed(err, 'M', "truncated content");
        r.at += len;
        break;
    }
    default:
        return ak_errf(err, AK_E_CORRUPT, "unknown logical replication message type 0x%02x (akili reads pgoutput "
                       "protocol version 1)", p[0]);
    }
    if (r.bad)
        return malformed(err, m->type, "shorter than its fields");
    return 0;
}
