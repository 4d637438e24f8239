/* op_session.c - session windows: LAG, a row-local "is this a new
 * session?" expression, and a running SUM of it, over one window.
 *
 *   LAG(t) OVER (PARTITION BY k ORDER BY t)          -- w1
 *   CASE WHEN prev IS NULL OR DATEDIFF(...) > N ...  -- the chain
 *   SUM(is_new) OVER (PARTITION BY k ORDER BY t)     -- w2
 *
 * Each partition (user) keeps its rows sorted by the ORDER BY keys (ties
 * broken by the row itself), each with the LAG value and running sums it was
 * last emitted with.  A step inserts and removes rows, then walks forward
 * from the first change, peer group by peer group (RANGE frames include
 * rows tied on the ORDER BY keys), recomputing LAG, the chain and the sums,
 * and emits -old/+new for every row whose output changed.  The walk stops
 * at the first untouched peer group after the last change whose sums did
 * not move: a late event inside a session costs a few rows; one that opens,
 * merges or splits sessions shifts every later session number of that user,
 * and those rows are exactly what goes out.  The chain's expressions are
 * evaluated by the SQL engine, so DATEDIFF's boundary semantics are the
 * SQL's own.
 */
#include "ak_op.h"

#include "ak_alloc.h"
#include "ak_dirty.h"
#include "ak_ser.h"

#include <string.h>

enum { F_NEW = 1, F_DIRTY = 2 };

typedef struct part {
    uint8_t *e;              /* n entries of esize bytes, sorted */
    uint32_t n, cap;
    uint32_t step;
    uint32_t lo;             /* first position changed in this step */
    uint32_t nflag;          /* entries flagged NEW or DIRTY */
    bool based;              /* entry 0 is the base: the last row compaction retracted */
} part_t;

typedef struct sess {
    ak_op_t op;
    const ak_plan_t *const *chain;
    const bool *const *chain_need;
    int nchain;
    int n0;                  /* child columns (w1's input) */
    int n2;                  /* w2's input columns */
    int k;                   /* running sums (w2's calls) */
    bool rows_frame;         /* ROWS frame: no peers */
    ak_pack_t pack;          /* the input columns a row keeps (not the partition key) */
    int npart, nord;
    int *part_child;         /* partition key: input columns */
    bool *part_packed;       /* ... also kept in the row (a floating key keeps its exact bits) */
    int *part_out;           /* ... passed through to this output column (-1: not) */
    int *ord_col;            /* ORDER BY: pack positions */
    bool has_lag;            /* rows keep the LAG value they were emitted with (an output reads it) */
    const ak_val_t *cur_key; /* the partition being worked on */
    bool *desc, *nulls_first;
    const ak_expr_t *lag_arg;
    int lag_pos;             /* pack position when LAG's argument is a column, else -1 */
    const ak_expr_t **sum_arg; /* per call: argument over w2's input row (NULL: COUNT(*)) */
    bool *is_count;
    size_t esize;
    /* partitions */
    ak_hidx_t idx;
    part_t *parts;
    ak_val_t *pkeys;
    uint32_t nparts, cap_parts;
    uint32_t *free;
    uint32_t nfree;
    size_t cap_free;
    size_t live;
    uint32_t stepno;
    uint32_t *touched;
    size_t ntouched, cap_touched;
    uint64_t entries;
    size_t entry_bytes;      /* capacity of every partition's rows, kept as it changes */
    ak_dirty_t dirty;        /* partitions changed since the last checkpoint */
    /* scratch */
    ak_val_t *key, *x, *w1row, *buf[2], *tmpx, *lags, *listrow;
    size_t cap_lags;
    int64_t *v, *vc;
    int *out_from;           /* per output column below the sums: the input column it passes, or -1 */
    /* compaction (armed by the flow when retention makes it safe) */
    bool armed;
    bool have_low;           /* (kept armed or not, so arming needs no scan) */
    int64_t low_us;          /* no row not yet forgotten is older (a lower bound) */
    uint64_t forgotten;      /* rows retracted by compaction so far */
} sess_t;

static ak_val_t *E_X(const sess_t *s, uint8_t *e) { (void)s; return (ak_val_t *)e; }
static ak_val_t *E_LAG(const sess_t *s, uint8_t *e) { return (ak_val_t *)e + s->pack.n; }
static int64_t *E_SUM(const sess_t *s, uint8_t *e) { return (int64_t *)(E_LAG(s, e) + (s->has_lag ? 1 : 0)); }
static const ak_val_t null_val = {{0}, 0, AK_NULL};
/* The LAG value an entry was emitted with, when an output needs it. */
static const ak_val_t *E_LAGV(const sess_t *s, uint8_t *e) { return s->has_lag ? E_LAG(s, e) : &null_val; }

/* A kept row back to the input's width, partition key included. */
static void unpack_x(const sess_t *s, const ak_val_t *x, ak_val_t *row)
{
    ak_unpack(&s->pack, x, row);
    for (int i = 0; i < s->npart; i++)
        if (!s->part_packed[i])
            row[s->part_child[i]] = s->cur_key[i];
}
static uint64_t *E_FLAGS(const sess_t *s, uint8_t *e) { return (uint64_t *)(E_SUM(s, e) + 2 * s->k); }
static uint8_t *ENT(const sess_t *s, const part_t *p, uint32_t i) { return p->e + (size_t)i * s->esize; }

/* The first ORDER BY value of a kept row as µs (compaction orders by a
 * timestamp or date); false for NULL or without an ORDER BY. */
static bool ord_us(const sess_t *s, const ak_val_t *x, int64_t *us)
{
    return s->nord && ak_val_time_us(&x[s->ord_col[0]], us);
}

/* Lowers the bound below which no row not yet forgotten lies to x's time. */
static void note_low(sess_t *s, const ak_val_t *x)
{
    int64_t t;
    if (ord_us(s, x, &t) && (!s->have_low || t < s->low_us)) {
        s->low_us = t;
        s->have_low = true;
    }
}

/* ... to partition p's oldest row (sorted: the first timed one after the base). */
static void note_part_low(sess_t *s, const part_t *p)
{
    int64_t t;
    for (uint32_t i = p->based ? 1 : 0; i < p->n; i++)
        if (ord_us(s, E_X(s, ENT(s, p, i)), &t)) {
            note_low(s, E_X(s, ENT(s, p, i)));
            return;
        }
}

/* Whether two rows' running sums read the same (as emitted: a SUM of no
 * non-NULL values is NULL); rows of one session do. */
static bool same_sums(const sess_t *s, const int64_t *a, const int64_t *b)
{
    for (int c = 0; c < s->k; c++) {
        bool na = !s->is_count[c] && !a[2 * c + 1], nb = !s->is_count[c] && !b[2 * c + 1];
        if (na != nb || (!na && a[2 * c] != b[2 * c]))
            return false;
    }
    return true;
}

static int behind(ak_opcx_t *cx, const char *what)
{
    return ak_errf(cx->err, AK_E_BEHIND, "session window: %s the rows already compacted", what);
}

/* ORDER BY comparison (NULLS LAST unless asked, DESC flips), no tiebreak. */
static int cmp_ord(const sess_t *s, const ak_val_t *a, const ak_val_t *b)
{
    for (int i = 0; i < s->nord; i++) {
        const ak_val_t *x = &a[s->ord_col[i]], *y = &b[s->ord_col[i]];
        bool nx = x->type == AK_NULL, ny = y->type == AK_NULL;
        if (nx || ny) {
            if (nx && ny)
                continue;
            int r = nx ? 1 : -1;
            return s->nulls_first[i] ? -r : r;
        }
        int r = ak_val_cmp(x, y);
        if (r)
            return s->desc[i] ? -r : r;
    }
    return 0;
}

static bool peers(const sess_t *s, const ak_val_t *a, const ak_val_t *b)
{
    if (s->rows_frame)
        return false;
    for (int i = 0; i < s->nord; i++)
        if (!ak_val_eq_group(&a[s->ord_col[i]], &b[s->ord_col[i]]))
            return false;
    return true;
}

static int cmp_full(const sess_t *s, const ak_val_t *a, const ak_val_t *b)
{
    int c = cmp_ord(s, a, b);
    return c ? c : ak_row_cmp(a, b, s->pack.n);
}

/* First position whose entry is > x (upper bound), or the position of an
 * entry equal to x (*found). */
static uint32_t seek(const sess_t *s, const part_t *p, const ak_val_t *x, bool *found)
{
    uint32_t lo = 0, hi = p->n;
    *found = false;
    if (hi && cmp_full(s, E_X(s, ENT(s, p, hi - 1)), x) < 0)
        return hi; /* in order: the common case */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = cmp_full(s, E_X(s, ENT(s, p, mid)), x);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- evaluation ---- */

/* LAG's argument over the entry before position i (NULL for the first). */
static int lag_of(sess_t *s, ak_opcx_t *cx, part_t *p, uint32_t i, ak_val_t *out)
{
    if (i == 0) {
        *out = ak_v_null();
        return 0;
    }
    const ak_val_t *prev = E_X(s, ENT(s, p, i - 1));
    if (s->lag_pos >= 0) {
        *out = prev[s->lag_pos];
        return 0;
    }
    unpack_x(s, prev, s->tmpx);
    return ak_op_eval(cx, s->lag_arg, s->tmpx, out);
}

/* y = chain(x ++ lag): w2's input row; returns a pointer to it. */
static int chain(sess_t *s, ak_opcx_t *cx, const ak_val_t *x, const ak_val_t *lag, const ak_val_t **y)
{
    unpack_x(s, x, s->w1row);
    s->w1row[s->n0] = *lag;
    const ak_val_t *cur = s->w1row;
    int which = 0;
    for (int i = 0; i < s->nchain; i++) {
        const ak_plan_t *p = s->chain[i];
        if (p->kind != P_PROJECT)
            continue; /* TRIM: the first columns stay where they are */
        ak_val_t *dst = s->buf[which];
        const bool *need = s->chain_need[i];
        for (int c = 0; c < p->ncols; c++) {
            if (need && !need[c])
                dst[c] = ak_v_null();
            else if (ak_op_eval(cx, p->exprs[c], cur, &dst[c]))
                return -1;
        }
        cur = dst;
        which ^= 1;
    }
    *y = cur;
    return 0;
}

/* Contributions of one row to the running sums. */
static int contrib(sess_t *s, ak_opcx_t *cx, const ak_val_t *y, int64_t *v, int64_t *vc)
{
    for (int c = 0; c < s->k; c++) {
        if (!s->sum_arg[c]) {
            v[c] = 1;
            vc[c] = 1;
            continue;
        }
        ak_val_t a;
        if (ak_expr_eval(s->sum_arg[c], y, &cx->x.cx, &a))
            return -1;
        if (a.type == AK_NULL) {
            v[c] = vc[c] = 0;
        } else {
            v[c] = s->is_count[c] ? 1 : a.i;
            vc[c] = 1;
        }
    }
    return 0;
}

static bool same_val(const ak_val_t *a, const ak_val_t *b)
{
    return a->type == b->type && ak_val_eq_group(a, b);
}

static int emit(sess_t *s, ak_opcx_t *cx, const ak_val_t *y, const int64_t *sums, int64_t w)
{
    ak_val_t *o = ak_delta_push(&s->op.out, w);
    if (!o)
        return ak_err_nomem(cx->err);
    memcpy(o, y, sizeof *o * (size_t)s->n2);
    for (int c = 0; c < s->k; c++)
        o[s->n2 + c] = (s->is_count[c] || sums[2 * c + 1]) ? ak_v_int(sums[2 * c]) : ak_v_null();
    return 0;
}

/* Retracts what entry e last emitted. */
static int retract(sess_t *s, ak_opcx_t *cx, uint8_t *e)
{
    const ak_val_t *y;
    if (chain(s, cx, E_X(s, e), E_LAGV(s, e), &y))
        return -1;
    return emit(s, cx, y, E_SUM(s, e), -1);
}

/* ---- partitions ---- */

static uint32_t find_part(sess_t *s, const ak_val_t *key, uint64_t h, bool create)
{
    for (size_t k = ak_hidx_first(&s->idx, h); ak_hidx_more(&s->idx, k); k = ak_hidx_next(&s->idx, k)) {
        if (s->idx.h[k] != h || s->idx.v[k] == AK_HIDX_DEAD)
            continue;
        uint32_t g = s->idx.v[k];
        if (ak_row_eq(s->pkeys + (size_t)g * (size_t)(s->npart ? s->npart : 1), key, s->npart))
            return g;
    }
    if (!create)
        return UINT32_MAX;
    uint32_t g;
    if (s->nfree) {
        g = s->free[--s->nfree];
    } else {
        if (s->nparts == s->cap_parts) {
            uint32_t nc = s->cap_parts ? s->cap_parts * 2 : 256;
            part_t *np = ak_realloc(s->parts, sizeof *np * nc);
            if (!np)
                return AK_KBAG_OOM;
            s->parts = np;
            ak_val_t *nk = ak_realloc(s->pkeys, sizeof *nk * nc * (size_t)(s->npart ? s->npart : 1));
            if (!nk)
                return AK_KBAG_OOM;
            s->pkeys = nk;
            s->cap_parts = nc;
        }
        g = s->nparts++;
    }
    if (ak_hidx_insert(&s->idx, h, g))
        return AK_KBAG_OOM;
    memset(&s->parts[g], 0, sizeof s->parts[g]);
    s->parts[g].step = UINT32_MAX;
    if (s->npart)
        memcpy(s->pkeys + (size_t)g * (size_t)s->npart, key, sizeof *key * (size_t)s->npart);
    s->live++;
    return g;
}

static int insert_at(sess_t *s, part_t *p, uint32_t at, const ak_val_t *x)
{
    if (p->n == p->cap) {
        uint32_t nc = p->cap ? p->cap * 2 : 4;
        uint8_t *ne = ak_realloc(p->e, s->esize * nc);
        if (!ne)
            return -1;
        p->e = ne;
        s->entry_bytes += (size_t)(nc - p->cap) * s->esize;
        p->cap = nc;
    }
    memmove(ENT(s, p, at + 1), ENT(s, p, at), s->esize * (p->n - at));
    uint8_t *e = ENT(s, p, at);
    memset(e, 0, s->esize);
    memcpy(E_X(s, e), x, sizeof *x * (size_t)s->pack.n);
    *E_FLAGS(s, e) = F_NEW;
    p->n++;
    p->nflag++;
    s->entries++;
    /* the row after it has a new predecessor (its LAG may change) */
    if (at + 1 < p->n) {
        uint64_t *f = E_FLAGS(s, ENT(s, p, at + 1));
        if (!*f)
            p->nflag++;
        *f |= F_DIRTY;
    }
    return 0;
}

static void flag_dirty(part_t *p, uint64_t *f)
{
    if (!*f)
        p->nflag++;
    *f |= F_DIRTY;
}

static void remove_at(sess_t *s, part_t *p, uint32_t at)
{
    if (*E_FLAGS(s, ENT(s, p, at)))
        p->nflag--;
    /* a peer before it loses a member of its group: its sums must be
     * recomputed, not carried over */
    if (at > 0 && peers(s, E_X(s, ENT(s, p, at - 1)), E_X(s, ENT(s, p, at))))
        flag_dirty(p, E_FLAGS(s, ENT(s, p, at - 1)));
    memmove(ENT(s, p, at), ENT(s, p, at + 1), s->esize * (p->n - at - 1));
    p->n--;
    s->entries--;
    if (at < p->n) /* the row after it has a new predecessor */
        flag_dirty(p, E_FLAGS(s, ENT(s, p, at)));
}

/* Walks the partition from its first change, peer group by peer group,
 * re-deriving LAG and the running sums, and emits what changed.  A group
 * whose rows are unflagged and whose LAG values did not move contributes
 * what it contributed before (its old sum minus the old sum before it), so
 * a shift of session numbers costs no re-evaluation of the chain. */
static int settle(sess_t *s, ak_opcx_t *cx, part_t *p)
{
    if (p->n == 0)
        return 0;
    int k = s->k;
    uint32_t start = p->lo > 0 ? p->lo - 1 : 0;
    if (start >= p->n)
        start = p->n - 1;
    while (start > 0 && peers(s, E_X(s, ENT(s, p, start - 1)), E_X(s, ENT(s, p, start))))
        start--;
    if (p->based) {
        /* the base was emitted and retracted already: it only lends its
         * LAG value and sums to the row after it */
        if (*E_FLAGS(s, ENT(s, p, 0)) || (p->n > 1 && peers(s, E_X(s, ENT(s, p, 0)), E_X(s, ENT(s, p, 1)))))
            return behind(cx, "a change reaches");
        if (start == 0)
            start = 1;
    }
    int64_t cum[16], oldcum[16], gnew[16];
    for (int c = 0; c < 2 * k; c++)
        cum[c] = oldcum[c] = start ? E_SUM(s, ENT(s, p, start - 1))[c] : 0;
    uint32_t i = start;
    while (i < p->n) {
        uint32_t j = i + 1;
        while (j < p->n && peers(s, E_X(s, ENT(s, p, i)), E_X(s, ENT(s, p, j))))
            j++;
        if (j - i > s->cap_lags) {
            size_t nc = (j - i) * 2;
            ak_val_t *nl = ak_realloc(s->lags, sizeof *nl * nc);
            if (!nl)
                return ak_err_nomem(cx->err);
            s->lags = nl;
            s->cap_lags = nc;
        }
        bool clean = true;
        const int64_t *gold = NULL; /* old sums of the group (its first old entry) */
        for (uint32_t e = i; e < j; e++) {
            uint8_t *en = ENT(s, p, e);
            if (lag_of(s, cx, p, e, &s->lags[e - i]))
                return -1;
            if (*E_FLAGS(s, en) & F_NEW) {
                clean = false;
                continue;
            }
            if (!gold)
                gold = E_SUM(s, en);
            if (*E_FLAGS(s, en) || (s->has_lag && !same_val(E_LAG(s, en), &s->lags[e - i])))
                clean = false;
        }
        if (clean) {
            for (int c = 0; c < 2 * k; c++)
                gnew[c] = cum[c] + (gold[c] - oldcum[c]);
        } else {
            for (int c = 0; c < 2 * k; c++)
                gnew[c] = cum[c];
            for (uint32_t e = i; e < j; e++) {
                const ak_val_t *y;
                if (chain(s, cx, E_X(s, ENT(s, p, e)), &s->lags[e - i], &y) || contrib(s, cx, y, s->v, s->vc))
                    return -1;
                for (int c = 0; c < k; c++) {
                    if (__builtin_add_overflow(gnew[2 * c], s->v[c], &gnew[2 * c]))
                        return ak_errf(cx->err, AK_E_RANGE, "sum() exceeds the BIGINT range");
                    gnew[2 * c + 1] += s->vc[c];
                }
            }
        }
        /* a row that joins the base's session joins a forgotten one */
        if (p->based && same_sums(s, gnew, E_SUM(s, ENT(s, p, 0))))
            return behind(cx, "a late row joins a session among");
        int64_t gold_copy[16];
        if (gold)
            memcpy(gold_copy, gold, sizeof(int64_t) * 2 * (size_t)k);
        bool changed = false;
        for (uint32_t e = i; e < j; e++) {
            uint8_t *en = ENT(s, p, e);
            uint64_t *fl = E_FLAGS(s, en);
            bool fresh = *fl & F_NEW;
            /* without a kept LAG, a flagged row may have a new one */
            bool lag_same = !fresh && (s->has_lag ? same_val(E_LAG(s, en), &s->lags[e - i]) : !*fl);
            bool sum_same = !fresh && memcmp(E_SUM(s, en), gnew, sizeof(int64_t) * 2 * (size_t)k) == 0;
            if (*fl) {
                *fl = 0;
                p->nflag--;
            }
            if (lag_same && sum_same)
                continue;
            changed = true;
            const ak_val_t *y;
            if (!fresh && !lag_same && retract(s, cx, en))
                return -1;
            if (chain(s, cx, E_X(s, en), &s->lags[e - i], &y))
                return -1;
            if (!fresh && lag_same && emit(s, cx, y, E_SUM(s, en), -1))
                return -1;
            if (s->has_lag)
                *E_LAG(s, en) = s->lags[e - i];
            memcpy(E_SUM(s, en), gnew, sizeof(int64_t) * 2 * (size_t)k);
            if (emit(s, cx, y, gnew, 1))
                return -1;
        }
        if (gold)
            memcpy(oldcum, gold_copy, sizeof(int64_t) * 2 * (size_t)k);
        memcpy(cum, gnew, sizeof(int64_t) * 2 * (size_t)k);
        i = j;
        if (!changed && p->nflag == 0)
            break;
    }
    return 0;
}

static void drop_part(sess_t *s, uint32_t g)
{
    if (s->dirty.track) {
        ak_buf_t k = AK_BUF_INIT;
        ak_ser_row(&k, s->pkeys + (size_t)g * (size_t)s->npart, s->npart);
        ak_dirty_drop(&s->dirty, g, k.data, k.len);
        s->dirty.lost |= k.oom;
        ak_buf_free(&k);
    }
    ak_hidx_remove(&s->idx, ak_row_hash(s->pkeys + (size_t)g * (size_t)s->npart, s->npart), g);
    s->entry_bytes -= (size_t)s->parts[g].cap * s->esize;
    ak_free(s->parts[g].e);
    memset(&s->parts[g], 0, sizeof s->parts[g]);
    s->live--;
    if (!AK_GROW(s->free, s->cap_free, s->nfree + 1))
        s->free[s->nfree++] = g;
}

static int session_step(ak_op_t *op, ak_opcx_t *cx)
{
    sess_t *s = (sess_t *)op;
    const ak_delta_t *in = &op->in[0]->out;
    s->stepno++;
    s->ntouched = 0;
    for (size_t r = 0; r < in->n; r++) {
        const ak_val_t *row = ak_delta_row(in, r);
        int64_t w = in->w[r];
        ak_pack(&s->pack, row, s->x);
        for (int i = 0; i < s->npart; i++)
            s->key[i] = row[s->part_child[i]];
        uint64_t h = ak_row_hash(s->key, s->npart);
        uint32_t g = find_part(s, s->key, h, w > 0);
        if (g == AK_KBAG_OOM)
            return ak_err_nomem(cx->err);
        if (g == UINT32_MAX)
            return ak_errf(cx->err, AK_E_INTERNAL, "session window: a retracted row was never inserted");
        part_t *p = &s->parts[g];
        s->cur_key = s->pkeys + (size_t)g * (size_t)s->npart;
        if (p->step != s->stepno) {
            p->step = s->stepno;
            p->lo = UINT32_MAX;
            ak_dirty_mark(&s->dirty, g);
            if (AK_GROW(s->touched, s->cap_touched, s->ntouched + 1))
                return ak_err_nomem(cx->err);
            s->touched[s->ntouched++] = g;
        }
        if (w > 0)
            note_low(s, s->x);
        for (int64_t c = 0; c < (w > 0 ? w : -w); c++) {
            bool found;
            uint32_t at = seek(s, p, s->x, &found);
            if (p->based && at == 0)
                return behind(cx, w > 0 ? "a late row sorts before" : "a retraction reaches");
            if (w > 0) {
                if (insert_at(s, p, at, s->x))
                    return ak_err_nomem(cx->err);
            } else {
                if (!found && p->based)
                    return behind(cx, "a retraction reaches");
                if (!found)
                    return ak_errf(cx->err, AK_E_INTERNAL, "session window: a retracted row was never inserted");
                /* a row added in this very step was never emitted: nothing to retract */
                if (!(*E_FLAGS(s, ENT(s, p, at)) & F_NEW) && retract(s, cx, ENT(s, p, at)))
                    return -1;
                remove_at(s, p, at);
            }
            if (at < p->lo)
                p->lo = at;
        }
    }
    for (size_t t = 0; t < s->ntouched; t++) {
        uint32_t g = s->touched[t];
        s->cur_key = s->pkeys + (size_t)g * (size_t)s->npart;
        if (settle(s, cx, &s->parts[g]))
            return -1;
        if (s->parts[g].n == 0)
            drop_part(s, g);
    }
    return 0;
}

/* ---- compaction ----
 *
 * Behind the horizon, whole sessions (runs of rows with the same running
 * sums) whose last row is older are retracted downstream and dropped here,
 * except their last row, which stays as the partition's base: the LAG value
 * and sums the next row is derived from.  The flow arms this only when the
 * output's retention has already cut every row those sessions produce, so
 * the retractions change nothing visible.  A change that would read what
 * was dropped (a row sorting before the base, a retraction of a dropped
 * row, a row joining the base's session) fails with AK_E_BEHIND: the
 * caller then rebuilds the state from the input logs. */
static int compact_part(sess_t *s, ak_opcx_t *cx, uint32_t g, int64_t horizon)
{
    part_t *p = &s->parts[g];
    uint32_t b0 = p->based ? 1 : 0, m = b0;
    int64_t t;
    while (m < p->n && ord_us(s, E_X(s, ENT(s, p, m)), &t) && t < horizon)
        m++;
    /* the last whole session before m: cut where the sums change */
    uint32_t j = m;
    while (j > b0 && j < p->n && same_sums(s, E_SUM(s, ENT(s, p, j - 1)), E_SUM(s, ENT(s, p, j))))
        j--;
    if (j > b0) {
        s->cur_key = s->pkeys + (size_t)g * (size_t)s->npart;
        for (uint32_t i = b0; i < j; i++)
            if (retract(s, cx, ENT(s, p, i)))
                return -1;
        uint32_t drop = j - 1;
        memmove(ENT(s, p, 0), ENT(s, p, drop), s->esize * (p->n - drop));
        p->n -= drop;
        p->based = true;
        s->entries -= drop;
        s->forgotten += j - b0;
        ak_dirty_mark(&s->dirty, g);
        if (p->cap > 8 && p->n < p->cap / 4) {
            uint32_t nc = p->n * 2 > 4 ? p->n * 2 : 4;
            uint8_t *ne = ak_realloc(p->e, s->esize * nc);
            if (ne) {
                s->entry_bytes -= (size_t)(p->cap - nc) * s->esize;
                p->e = ne;
                p->cap = nc;
            }
        }
    }
    note_part_low(s, p);
    return 0;
}

static int session_compact(ak_op_t *op, ak_opcx_t *cx)
{
    sess_t *s = (sess_t *)op;
    if (!s->armed || !s->have_low || cx->horizon_us <= s->low_us)
        return 0;
    s->have_low = false; /* recomputed from what stays */
    for (uint32_t g = 0; g < s->nparts; g++)
        if (s->parts[g].n && compact_part(s, cx, g, cx->horizon_us))
            return -1;
    return 0;
}

bool ak_op_session_info(const ak_op_t *op, ak_session_info_t *out)
{
    if (op->vt->compact != session_compact)
        return false;
    const sess_t *s = (const sess_t *)op;
    ak_type_t t = op->in[0]->types[s->pack.cols[s->ord_col[0]]];
    if (s->nord < 1 || s->desc[0] || s->k != 1 || s->rows_frame || (t != AK_TIMESTAMP && t != AK_DATE))
        return false;
    *out = (ak_session_info_t){s->npart, s->part_out, s->n2, s->pack.cols[s->ord_col[0]]};
    return true;
}

void ak_op_session_arm(ak_op_t *op) { ((sess_t *)op)->armed = true; }

static bool session_origin(const ak_op_t *op, int col, int *in, int *in_col, int *how)
{
    const sess_t *s = (const sess_t *)op;
    if (col >= s->n2 || s->out_from[col] < 0)
        return false;
    *in = 0;
    *in_col = s->out_from[col];
    *how = AK_ORIGIN_SAME;
    return true;
}

static void session_destroy(ak_op_t *op)
{
    sess_t *s = (sess_t *)op;
    for (uint32_t g = 0; g < s->nparts; g++)
        ak_free(s->parts[g].e);
    ak_free(s->parts);
    ak_free(s->pkeys);
    ak_free(s->free);
    ak_free(s->touched);
    ak_hidx_free(&s->idx);
    ak_pack_fini(&s->pack);
    ak_free(s->part_child);
    ak_free(s->part_packed);
    ak_free(s->part_out);
    ak_free(s->ord_col);
    ak_free(s->desc);
    ak_free(s->nulls_first);
    ak_free(s->sum_arg);
    ak_free(s->is_count);
    ak_free(s->key);
    ak_free(s->x);
    ak_free(s->w1row);
    ak_free(s->buf[0]);
    ak_free(s->buf[1]);
    ak_free(s->tmpx);
    ak_free(s->lags);
    ak_free(s->listrow);
    ak_free(s->v);
    ak_free(s->vc);
    ak_free(s->out_from);
    ak_dirty_free(&s->dirty);
}

static size_t session_bytes(const ak_op_t *op)
{
    const sess_t *s = (const sess_t *)op;
    return ak_hidx_bytes(&s->idx) + (size_t)s->cap_parts * (sizeof(part_t) + sizeof(ak_val_t) * (size_t)s->npart) +
           (size_t)s->cap_free * 4 + s->entry_bytes;
}

static void session_describe(const ak_op_t *op, ak_buf_t *out)
{
    const sess_t *s = (const sess_t *)op;
    char *const *in = op->in[0]->names;
    ak_buf_puts(out, "session window: LAG, the new-session test and a running ");
    ak_buf_puts(out, s->k == 1 ? "sum" : "sums");
    ak_buf_puts(out, " over (PARTITION BY");
    for (int i = 0; i < s->npart; i++)
        ak_buf_printf(out, "%s %s", i ? "," : "", in[s->part_child[i]]);
    ak_buf_puts(out, " ORDER BY");
    for (int i = 0; i < s->nord; i++)
        ak_buf_printf(out, "%s %s%s", i ? "," : "", in[s->pack.cols[s->ord_col[i]]], s->desc[i] ? " DESC" : "");
    ak_buf_printf(out, "%s); each partition keeps its rows sorted with their LAG value and sums, and a change "
                       "re-derives from its position on (%zu partitions, %llu rows, %zu bytes a row)",
                  s->rows_frame ? " ROWS" : "", s->live, (unsigned long long)s->entries, s->esize);
    if (s->armed)
        ak_buf_printf(out, "; sessions older than the retention horizon are compacted to one base row per partition "
                           "(%llu rows forgotten)", (unsigned long long)s->forgotten);
}

/* Which partition key column each of cols is; false unless cols are exactly
 * the partition key (in any order). */
static bool key_order(const sess_t *s, const int *cols, int n, int *which)
{
    if (n != s->npart || n == 0)
        return false;
    for (int j = 0; j < n; j++) {
        which[j] = -1;
        for (int i = 0; i < s->npart; i++)
            if (s->part_out[i] >= 0 && s->part_out[i] == cols[j])
                which[j] = i;
        if (which[j] < 0)
            return false;
        for (int k = 0; k < j; k++)
            if (which[k] == which[j])
                return false;
    }
    return true;
}

static bool session_can_list(const ak_op_t *op, const int *cols, int n)
{
    int which[64];
    return n <= 64 && key_order((const sess_t *)op, cols, n, which);
}

static int session_list(ak_op_t *op, ak_opcx_t *cx, const int *cols, const ak_val_t *key, int n, ak_list_fn fn,
                        void *ctx)
{
    sess_t *s = (sess_t *)op;
    int which[64];
    if (n > 64 || !key_order(s, cols, n, which))
        return 1;
    for (int j = 0; j < n; j++)
        s->key[which[j]] = key[j];
    uint32_t g = find_part(s, s->key, ak_row_hash(s->key, s->npart), false);
    if (g == UINT32_MAX || g == AK_KBAG_OOM)
        return 0;
    part_t *p = &s->parts[g];
    s->cur_key = s->pkeys + (size_t)g * (size_t)s->npart;
    ak_val_t *row = s->listrow;
    for (uint32_t i = p->based ? 1 : 0; i < p->n; i++) {
        uint8_t *en = ENT(s, p, i);
        const ak_val_t *y;
        if (chain(s, cx, E_X(s, en), E_LAGV(s, en), &y))
            return -1;
        memcpy(row, y, sizeof *row * (size_t)s->n2);
        const int64_t *sums = E_SUM(s, en);
        for (int c = 0; c < s->k; c++)
            row[s->n2 + c] = (s->is_count[c] || sums[2 * c + 1]) ? ak_v_int(sums[2 * c]) : ak_v_null();
        int rc = fn(ctx, row, 1);
        if (rc)
            return rc < 0 ? -1 : 0;
    }
    return 0;
}

static size_t session_keys(const ak_op_t *op) { return ((const sess_t *)op)->live; }

/* ---- checkpoints: a record per partition, key -> its rows in order, each
 * with the LAG value (when kept) and running sums it was emitted with ---- */

static int put_part(sess_t *s, uint32_t g, ak_buf_t *k, ak_buf_t *v, const ak_state_out_t *out, ak_err_t *err)
{
    const part_t *p = &s->parts[g];
    ak_buf_clear(k);
    ak_buf_clear(v);
    ak_ser_row(k, s->pkeys + (size_t)g * (size_t)s->npart, s->npart);
    ak_buf_put_uvarint(v, (uint64_t)p->n << 1 | p->based);
    for (uint32_t i = 0; i < p->n; i++) {
        uint8_t *e = ENT(s, p, i);
        ak_ser_row(v, E_X(s, e), s->pack.n);
        if (s->has_lag)
            ak_ser_val(v, E_LAG(s, e));
        for (int j = 0; j < 2 * s->k; j++)
            ak_buf_put_svarint(v, E_SUM(s, e)[j]);
    }
    if (k->oom || v->oom)
        return ak_err_nomem(err);
    return ak_state_put(out, k->data, k->len, v->data, v->len, err);
}

typedef struct save_ctx {
    sess_t *s;
    ak_buf_t *k, *v;
    const ak_state_out_t *out;
    ak_err_t *err;
} save_ctx_t;

static int del_key(void *ctx, const uint8_t *key, size_t kn)
{
    save_ctx_t *c = ctx;
    return ak_state_del(c->out, key, kn, c->err);
}

static int put_one(void *ctx, uint32_t g)
{
    save_ctx_t *c = ctx;
    return c->s->parts[g].n ? put_part(c->s, g, c->k, c->v, c->out, c->err) : 0;
}

static int session_save(ak_op_t *op, bool full, const ak_state_out_t *out, ak_err_t *err)
{
    sess_t *s = (sess_t *)op;
    full |= !s->dirty.track || s->dirty.lost;
    s->dirty.track = true;
    ak_buf_t k = AK_BUF_INIT, v = AK_BUF_INIT;
    int rc = 0;
    if (full) {
        rc = ak_state_clear(out, NULL, 0, err);
        for (uint32_t g = 0; g < s->nparts && rc == 0; g++)
            if (s->parts[g].n)
                rc = put_part(s, g, &k, &v, out, err);
    } else {
        save_ctx_t c = {s, &k, &v, out, err};
        rc = ak_dirty_each_dropped(&s->dirty, del_key, &c);
        if (rc == 0)
            rc = ak_dirty_each(&s->dirty, put_one, &c);
    }
    ak_buf_free(&k);
    ak_buf_free(&v);
    return rc;
}

static void session_saved(ak_op_t *op) { ak_dirty_saved(&((sess_t *)op)->dirty); }

static int session_load(ak_op_t *op, ak_opcx_t *cx, const void *key, size_t kn, const void *val, size_t vn)
{
    sess_t *s = (sess_t *)op;
    s->dirty.track = true;
    ak_rd_t r, rv;
    ak_rd_init(&r, key, kn);
    ak_rd_row(&r, s->key, s->npart);
    for (int i = 0; i < s->npart; i++)
        if (ak_op_intern_cb(cx->strs, &s->key[i]))
            return ak_err_nomem(cx->err);
    ak_rd_init(&rv, val, vn);
    uint64_t n = ak_rd_uvar(&rv);
    bool based = n & 1;
    n >>= 1;
    if (r.bad || !ak_rd_done(&r) || rv.bad || n == 0 || n > vn)
        return ak_errf(cx->err, AK_E_CORRUPT, "checkpoint: malformed session partition");
    uint32_t g = find_part(s, s->key, ak_row_hash(s->key, s->npart), true);
    if (g == AK_KBAG_OOM)
        return ak_err_nomem(cx->err);
    part_t *p = &s->parts[g];
    if (p->n)
        return ak_errf(cx->err, AK_E_CORRUPT, "checkpoint: a session partition is saved twice");
    uint8_t *ne = ak_realloc(p->e, s->esize * (size_t)n);
    if (!ne)
        return ak_err_nomem(cx->err);
    p->e = ne;
    s->entry_bytes += ((size_t)n - p->cap) * s->esize;
    p->cap = (uint32_t)n;
    p->based = based;
    for (uint32_t i = 0; i < n && !rv.bad; i++) {
        uint8_t *e = ENT(s, p, i);
        memset(e, 0, s->esize);
        ak_val_t *x = E_X(s, e);
        ak_rd_row(&rv, x, s->pack.n);
        if (s->has_lag)
            ak_rd_val(&rv, E_LAG(s, e));
        for (int j = 0; j < 2 * s->k; j++)
            E_SUM(s, e)[j] = ak_rd_svar(&rv);
        for (int c = 0; c < s->pack.n + (s->has_lag ? 1 : 0); c++)
            if (ak_op_intern_cb(cx->strs, &x[c]))
                return ak_err_nomem(cx->err);
        p->n = i + 1;
        s->entries++;
    }
    if (rv.bad || !ak_rd_done(&rv))
        return ak_errf(cx->err, AK_E_CORRUPT, "checkpoint: malformed session partition");
    note_part_low(s, p);
    return 0;
}

/* The partition whose newest row (by the ORDER BY, NULLs aside) is the
 * oldest: the user idle longest. */
static bool session_oldest(const ak_op_t *op, ak_buf_t *out)
{
    const sess_t *s = (const sess_t *)op;
    if (s->nord == 0)
        return false;
    const ak_val_t *best = NULL;
    uint32_t bg = 0;
    for (uint32_t g = 0; g < s->nparts; g++) {
        const part_t *p = &s->parts[g];
        const ak_val_t *newest = NULL;
        for (uint32_t j = 0; j + (p->based ? 1 : 0) < p->n && !newest; j++) {
            const ak_val_t *x = E_X(s, ENT(s, p, s->desc[0] ? j : p->n - 1 - j));
            if (x[s->ord_col[0]].type != AK_NULL)
                newest = &x[s->ord_col[0]];
        }
        if (newest && (!best || ak_val_cmp(newest, best) < 0)) {
            best = newest;
            bg = g;
        }
    }
    if (!best)
        return false;
    char *const *in = op->in[0]->names;
    const ak_val_t *key = s->pkeys + (size_t)bg * (size_t)s->npart;
    for (int i = 0; i < s->npart; i++) {
        ak_buf_printf(out, "%s%s=", i ? ", " : "", in[s->part_child[i]]);
        ak_val_to_text(&key[i], out);
    }
    ak_buf_printf(out, " (newest %s ", in[s->pack.cols[s->ord_col[0]]]);
    ak_val_to_text(best, out);
    ak_buf_putc(out, ')');
    return true;
}

static const ak_op_vt_t session_vt = {"session",    session_step, session_destroy, session_bytes, session_describe,
                                      session_can_list, session_list, session_keys, session_save, session_saved,
                                      session_load, session_oldest, session_origin, session_compact};

static int lag_arg_col(const ak_plan_t *w1)
{
    const ak_expr_t *a = w1->wins[0].agg.args[0];
    return a->kind == EX_COL ? a->col : -1;
}

static int col_pos(const sess_t *s, const ak_expr_t *e)
{
    if (!e || e->kind != EX_COL)
        return -1;
    for (int i = 0; i < s->pack.n; i++)
        if (s->pack.cols[i] == e->col)
            return i;
    return -1;
}

ak_op_t *ak_op_session_new(ak_op_t *in, const ak_plan_t *w1, const ak_plan_t *const *chain_nodes,
                           const bool *const *chain_needs, int nchain, const ak_plan_t *w2, const bool *need,
                           const bool *inneed, ak_err_t *err)
{
    sess_t *s = ak_calloc(1, sizeof *s);
    if (!s) {
        ak_err_nomem(err);
        return NULL;
    }
    ak_op_init(&s->op, &session_vt, w2, need, err);
    s->op.in[0] = in;
    s->op.nin = 1;
    s->chain = chain_nodes;
    s->chain_need = chain_needs;
    s->nchain = nchain;
    s->n0 = in->ncols;
    s->n2 = w2->ncols - w2->nwins;
    s->k = w2->nwins;
    s->npart = w1->npart;
    s->nord = w1->nord;
    const ak_frame_t *fr = &w2->wins[0].frame;
    s->rows_frame = fr->unit == FRAME_ROWS;
    int width = s->n0 + 1;
    for (int i = 0; i < nchain; i++)
        if (chain_nodes[i]->ncols > width)
            width = chain_nodes[i]->ncols;
    if (s->k > 8 || s->npart > 64)
        goto nomem;
    s->part_child = ak_malloc(sizeof(int) * (size_t)(s->npart + 1));
    s->part_packed = ak_malloc(sizeof(bool) * (size_t)(s->npart + 1));
    s->part_out = ak_malloc(sizeof(int) * (size_t)(s->npart + 1));
    bool *keep = ak_malloc(sizeof(bool) * (size_t)(in->ncols + 1));
    if (!s->part_child || !s->part_packed || !s->part_out || !keep) {
        ak_free(keep);
        goto nomem;
    }
    /* the partition key is stored once per partition, not in every row
     * (unless it is floating point, or also sorted on or lagged) */
    for (int c = 0; c < in->ncols; c++)
        keep[c] = !inneed || inneed[c];
    for (int i = 0; i < s->npart; i++) {
        const ak_expr_t *e = w1->part[i];
        s->part_child[i] = e->col;
        bool also = e->col == lag_arg_col(w1);
        for (int k = 0; k < s->nord; k++)
            also |= w1->ord[k].expr->kind == EX_COL && w1->ord[k].expr->col == e->col;
        ak_type_t t = in->types[e->col];
        s->part_packed[i] = also || t == AK_FLOAT || t == AK_DOUBLE;
        if (!s->part_packed[i])
            keep[e->col] = false;
    }
    int prc = ak_pack_init(&s->pack, keep, in->ncols);
    ak_free(keep);
    if (prc)
        goto nomem;
    s->ord_col = ak_malloc(sizeof(int) * (size_t)(s->nord + 1));
    s->desc = ak_malloc(sizeof(bool) * (size_t)(s->nord + 1));
    s->nulls_first = ak_malloc(sizeof(bool) * (size_t)(s->nord + 1));
    s->sum_arg = ak_calloc((size_t)s->k + 1, sizeof *s->sum_arg);
    s->is_count = ak_calloc((size_t)s->k + 1, sizeof *s->is_count);
    s->key = ak_malloc(sizeof(ak_val_t) * (size_t)(s->npart + 1));
    s->x = ak_malloc(sizeof(ak_val_t) * (size_t)(s->pack.n + 1));
    s->w1row = ak_malloc(sizeof(ak_val_t) * (size_t)width);
    s->buf[0] = ak_malloc(sizeof(ak_val_t) * (size_t)width);
    s->buf[1] = ak_malloc(sizeof(ak_val_t) * (size_t)width);
    s->tmpx = ak_malloc(sizeof(ak_val_t) * (size_t)(s->n0 + 1));
    s->listrow = ak_malloc(sizeof(ak_val_t) * (size_t)(w2->ncols + 1));
    s->v = ak_malloc(sizeof(int64_t) * (size_t)(s->k + 1));
    s->vc = ak_malloc(sizeof(int64_t) * (size_t)(s->k + 1));
    if (!s->ord_col || !s->desc || !s->nulls_first || !s->sum_arg || !s->is_count || !s->key || !s->x ||
        !s->w1row || !s->buf[0] || !s->buf[1] || !s->tmpx || !s->listrow || !s->v || !s->vc)
        goto nomem;
    for (int i = 0; i < s->nord; i++) {
        if ((s->ord_col[i] = col_pos(s, w1->ord[i].expr)) < 0)
            goto bad;
        s->desc[i] = w1->ord[i].desc;
        s->nulls_first[i] = w1->ord[i].nulls_first;
    }
    /* which outputs pass the partition key through, and does any output
     * (read downstream) depend on the LAG value */
    bool dep[1024] = {0}, nd[1024];
    int wide = s->n0 + 1;
    if (width > 1024)
        goto nomem;
    int from[1024];
    for (int c = 0; c < wide; c++)
        from[c] = c;
    dep[s->n0] = true;
    for (int i = 0; i < nchain; i++) {
        const ak_plan_t *cp = chain_nodes[i];
        if (cp->kind != P_PROJECT)
            continue;
        int nf[1024];
        for (int c = 0; c < cp->ncols; c++) {
            const ak_expr_t *e = cp->exprs[c];
            bool cols[1024] = {0};
            ak_expr_cols(e, cols, wide);
            nd[c] = false;
            for (int k = 0; k < wide; k++)
                nd[c] |= cols[k] && dep[k];
            nf[c] = e->kind == EX_COL ? from[e->col] : -1;
        }
        wide = cp->ncols;
        memcpy(dep, nd, sizeof(bool) * (size_t)wide);
        memcpy(from, nf, sizeof(int) * (size_t)wide);
    }
    s->has_lag = false;
    for (int c = 0; c < s->n2 && c < wide; c++)
        s->has_lag |= dep[c] && (!need || need[c]);
    if (!(s->out_from = ak_malloc(sizeof(int) * (size_t)(s->n2 + 1))))
        goto nomem;
    for (int c = 0; c < s->n2; c++)
        s->out_from[c] = c < wide && from[c] < s->n0 ? from[c] : -1;
    for (int i = 0; i < s->npart; i++) {
        s->part_out[i] = -1;
        for (int c = 0; c < s->n2 && c < wide && s->part_out[i] < 0; c++)
            if (from[c] == s->part_child[i])
                s->part_out[i] = c;
    }
    s->lag_arg = w1->wins[0].agg.args[0];
    s->lag_pos = col_pos(s, s->lag_arg);
    for (int c = 0; c < s->k; c++) {
        const ak_aggcall_t *a = &w2->wins[c].agg;
        s->is_count[c] = a->fn == AGG_COUNT || a->fn == AGG_COUNT_STAR;
        s->sum_arg[c] = a->fn == AGG_COUNT_STAR ? NULL : a->args[0];
    }
    /* entry: kept columns, the LAG value (if read), (sum, count) per call, flags */
    s->esize = sizeof(ak_val_t) * (size_t)(s->pack.n + (s->has_lag ? 1 : 0)) + sizeof(int64_t) * (size_t)(2 * s->k + 1);
    return &s->op;
bad:
    ak_errf(err, AK_E_INTERNAL, "session window: a key column is not kept");
    ak_op_free(&s->op);
    return NULL;
nomem:
    ak_err_nomem(err);
    ak_op_free(&s->op);
    return NULL;
}
