/* ak_pgoutput.h - PostgreSQL's logical replication stream, decoded.
 *
 * Two layers, neither touching the network (the connector owns the
 * connection; the unit test feeds bytes):
 *
 *   CopyData frames of START_REPLICATION: XLogData ('w': WAL start, WAL
 *   end, send time, payload) and primary keepalives ('k': WAL end, send
 *   time, reply requested); the standby status update ('r') akili sends.
 *
 *   pgoutput messages (protocol version 1) in an XLogData payload: Begin,
 *   Commit, Origin, Relation, Type, Insert, Update, Delete, Truncate and
 *   Message.  Relation messages are remembered (by relation id) so that the
 *   tuples of later changes can be matched to column names.
 *
 * Tuples point into the payload: valid while it is.  Every length is
 * checked; a short or malformed message is an error, never a read past the
 * end.  All integers are big-endian on the wire.
 */
#ifndef AK_PGOUTPUT_H
#define AK_PGOUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ak_error.h"

typedef uint64_t ak_lsn_t;

/* "16/B374D848" <-> 64-bit LSN.  parse: 0, or -1 if not an LSN. */
int ak_lsn_parse(const char *s, ak_lsn_t *out);
/* Writes "X/Y" into out (at least 24 bytes); returns out. */
char *ak_lsn_format(ak_lsn_t lsn, char *out);

/* ---- CopyData frames ---- */

typedef struct ak_pgo_frame {
    char kind;                /* 'w' XLogData, 'k' keepalive */
    ak_lsn_t wal_start;       /* 'w' */
    ak_lsn_t wal_end;         /* both: the server's end of WAL sent */
    int64_t send_time;        /* µs since 2000-01-01 */
    bool reply;               /* 'k': the server asks for a status update now */
    const uint8_t *data;      /* 'w': the pgoutput message */
    size_t n;
} ak_pgo_frame_t;

int ak_pgo_frame_parse(const uint8_t *p, size_t n, ak_pgo_frame_t *out, ak_err_t *err);

/* A standby status update (34 bytes into out) saying `flushed` is durable
 * on our side; `now_us` is Unix time in µs; `reply` asks for a keepalive. */
#define AK_PGO_STATUS_LEN 34
void ak_pgo_status(uint8_t out[AK_PGO_STATUS_LEN], ak_lsn_t written, ak_lsn_t flushed, int64_t now_us, bool reply);

/* ---- pgoutput ---- */

typedef struct ak_pgo_att {
    char *name;
    uint32_t type_oid;
    int32_t typmod;
    bool key;                 /* part of the replica identity */
} ak_pgo_att_t;

typedef struct ak_pgo_rel {
    uint32_t id;
    char *nspname, *relname;
    char replident;           /* 'd' default, 'n' nothing, 'f' full, 'i' index */
    int natts;
    ak_pgo_att_t *atts;
} ak_pgo_rel_t;

/* One column of a tuple: 'n' NULL, 'u' unchanged TOASTed value (not sent),
 * 't' text (p, n), 'b' binary (p, n). */
typedef struct ak_pgo_col {
    char kind;
    const char *p;
    uint32_t n;
} ak_pgo_col_t;

typedef struct ak_pgo_tuple {
    int n;
    ak_pgo_col_t *cols;       /* the decoder's scratch space */
} ak_pgo_tuple_t;

typedef struct ak_pgo_msg {
    char type;                /* 'B','C','O','R','Y','I','U','D','T','M' */
    /* B: final_lsn, ts, xid; C: flags, commit_lsn (lsn), end_lsn, ts */
    ak_lsn_t lsn, end_lsn;
    int64_t ts;
    uint32_t xid;
    uint8_t flags;            /* C: flags; T: 1 CASCADE, 2 RESTART IDENTITY; M: 1 transactional */
    /* R, I, U, D: the relation (R: the one just remembered) */
    const ak_pgo_rel_t *rel;
    uint32_t relid;
    /* I: new; U: old (old_kind 'K' key or 'O' whole old row, 0 if not sent)
     * and new; D: old */
    char old_kind;
    ak_pgo_tuple_t old_tup, new_tup;
    /* T: the relations truncated */
    uint32_t nrelids;
    const uint8_t *relids;    /* nrelids big-endian uint32 */
} ak_pgo_msg_t;

typedef struct ak_pgo ak_pgo_t;

int ak_pgo_new(ak_pgo_t **out, ak_err_t *err);
void ak_pgo_free(ak_pgo_t *d); /* NULL is a no-op */

/* Decodes one message.  A change for a relation never described is an
 * error (the server always sends Relation first).  The message's tuples
 * stay valid until the next call or until p[] changes. */
int ak_pgo_parse(ak_pgo_t *d, const uint8_t *p, size_t n, ak_pgo_msg_t *out, ak_err_t *err);

/* Relation id i of a Truncate message. */
uint32_t ak_pgo_truncate_relid(const ak_pgo_msg_t *m, uint32_t i);
const ak_pgo_rel_t *ak_pgo_rel(const ak_pgo_t *d, uint32_t relid);

#endif
