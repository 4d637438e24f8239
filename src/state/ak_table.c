/* ak_table.c - keyed / keyless row state with hash indexes.
 *
 * Rows live in an ak_rel_t of the kept columns; deleted rows are marked and
 * squeezed out (with the indexes rebuilt) before the relation is handed to
 * SQL.  Keyed tables index the key; keyless tables index every kept column,
 * plus one index per other column subset a DELETE has matched on.  Strings
 * are interned so repeated values (pages, countries, user ids) are stored
 * once.
 */
#include "ak_table.h"

#include "ak_alloc.h"
#include "ak_dirty.h"
#include "ak_hidx.h"
#include "ak_ser.h"
#include "ak_time.h"

#include <string.h>

#define MAX_MASK_IDX 5

typedef struct mask_idx {
    uint64_t mask; /* over kept positions */
    ak_hidx_t h;
} mask_idx_t;

struct ak_table {
    const ak_schema_t *schema;
    int nkept;
    int kept[AK_MAX_COLUMNS];      /* schema index of each kept column */
    int pos_of[AK_MAX_COLUMNS];    /* kept position of a schema column, or -1 */
    int nkey;
    int key[AK_MAX_COLUMNS];       /* kept positions of the key */
    int cursor;                    /* kept position, or -1 */
    bool newer_wins;
    bool have_newest;
    int64_t newest;                /* the newest temporal cursor value applied (µs) */
    bool forgot;                   /* rows older than forgot_us were dropped (ak_table_forget) */
    int64_t forgot_us;
    bool forgot_dirty;             /* forgot_us changed since the last checkpoint */
    bool have_low;
    int64_t low_us;                /* no live row has an older cursor (a lower bound) */
    ak_rel_t *rows;
    uint8_t *alive;
    uint64_t *rid;                 /* per row: its number in checkpoints (compaction moves rows) */
    size_t alive_cap;
    uint64_t next_rid;
    ak_dirty_t dirty;              /* rows changed since the last checkpoint, by position */
    size_t nlive, ndead;
    ak_hidx_t kidx;                /* the key (keyed tables only) */
    mask_idx_t midx[MAX_MASK_IDX];
    int nmidx;
    ak_hidx_t strs;                /* interned strings: hash -> slot in str_v */
    ak_val_t *str_v;
    size_t nstr, cap_str;
    ak_table_stats_t st;
    const char **names;
    ak_type_t *types;
    ak_table_listener_t listener;
    void *listener_ctx;
    /* grouping by partition key */
    ak_table_keyfn_t keyfn;
    void *key_ctx;
    ak_hidx_t gidx;                /* hash(key) -> group */
    struct tgroup {
        ak_val_t key;
        uint32_t *rows;
        size_t n, cap;
    } *groups;
    size_t ngroups, cap_groups;
    uint32_t *row_group;           /* per row: its group, or UINT32_MAX */
    uint32_t *row_gpos;            /* per row: its position in the group's list */
    size_t cap_rg;
    ak_arena_t key_arena;          /* group key strings */
};

typedef struct tgroup tgroup_t;

static uint64_t hash_cols(const ak_val_t *row, const int *cols, int n)
{
    uint64_t h = 0x51ed270b27390ef9ULL;
    for (int i = 0; i < n; i++)
        h = ak_hash_mix(h, ak_val_hash(&row[cols[i]], 3));
    return h;
}

static uint64_t hash_mask(const ak_val_t *row, uint64_t mask, int nkept)
{
    uint64_t h = 0x51ed270b27390ef9ULL;
    for (int i = 0; i < nkept; i++)
        if (mask >> i & 1)
            h = ak_hash_mix(h, ak_val_hash(&row[i], 3));
    return h;
}

int ak_table_new(const ak_schema_t *schema, const bool *keep, int cursor, bool newer_wins, ak_table_t **out,
                 ak_err_t *err)
{
    *out = NULL;
    ak_table_t *t = ak_calloc(1, sizeof *t);
    if (!t)
        return ak_err_nomem(err);
    t->schema = schema;
    t->cursor = -1;
    t->newer_wins = newer_wins;
    for (int i = 0; i < schema->n; i++) {
        t->pos_of[i] = -1;
        if ((keep && keep[i]) || schema->cols[i].key || i == cursor) {
            t->pos_of[i] = t->nkept;
            t->kept[t->nkept++] = i;
        }
    }
    for (int i = 0; i < schema->n; i++)
        if (schema->cols[i].key)
            t->key[t->nkey++] = t->pos_of[i];
    if (cursor >= 0)
        t->cursor = t->pos_of[cursor];
    t->names = ak_calloc((size_t)(t->nkept ? t->nkept : 1), sizeof *t->names);
    t->types = ak_calloc((size_t)(t->nkept ? t->nkept : 1), sizeof *t->types);
    if (!t->names || !t->types)
        goto nomem;
    for (int i = 0; i < t->nkept; i++) {
        t->names[i] = schema->cols[t->kept[i]].name;
        t->types[i] = schema->cols[t->kept[i]].type;
    }
    ak_arena_init(&t->key_arena, 64 * 1024);
    t->rows = ak_rel_new(t->nkept, t->names, t->types);
    if (!t->rows || ak_hidx_init(&t->kidx, 1024) || ak_hidx_init(&t->strs, 1024))
        goto nomem;
    *out = t;
    return 0;
nomem:
    ak_table_free(t);
    return ak_err_nomem(err);
}

void ak_table_free(ak_table_t *t)
{
    if (!t)
        return;
    ak_rel_free(t->rows);
    ak_free(t->alive);
    ak_free(t->rid);
    ak_dirty_free(&t->dirty);
    ak_hidx_free(&t->kidx);
    for (int i = 0; i < t->nmidx; i++)
        ak_hidx_free(&t->midx[i].h);
    ak_hidx_free(&t->strs);
    ak_free(t->str_v);
    ak_free(t->names);
    ak_free(t->types);
    for (size_t g = 0; g < t->ngroups; g++)
        ak_free(t->groups[g].rows);
    ak_free(t->groups);
    ak_hidx_free(&t->gidx);
    ak_free(t->row_group);
    ak_free(t->row_gpos);
    ak_arena_free(&t->key_arena);
    ak_free(t);
}

/* Returns the interned copy of a TEXT value (owned by the table's rel arena). */
static int intern(ak_table_t *t, ak_val_t *v)
{
    uint64_t h = ak_hash_bytes(v->s, v->n, 11);
    for (size_t s = ak_hidx_first(&t->strs, h); ak_hidx_more(&t->strs, s); s = ak_hidx_next(&t->strs, s)) {
        if (t->strs.h[s] != h)
            continue;
        const ak_val_t *c = &t->str_v[t->strs.v[s]];
        if (c->n == v->n && memcmp(c->s, v->s, v->n) == 0) {
            v->s = c->s;
            return 0;
        }
    }
    /* long, rarely repeated strings are not worth the index */
    char *d = ak_arena_strndup(&t->rows->arena, v->s, v->n);
    if (!d)
        return -1;
    v->s = d;
    if (v->n > 256)
        return 0;
    if (AK_GROW(t->str_v, t->cap_str, t->nstr + 1) || ak_hidx_insert(&t->strs, h, (uint32_t)t->nstr))
        return -1;
    t->str_v[t->nstr++] = *v;
    return 0;
}

/* A keyed table indexes its key; a keyless one only the column subsets its
 * deletes have named (built on the first such delete: an append-only input
 * never pays for an index). */
static int index_row(ak_table_t *t, size_t r)
{
    const ak_val_t *row = ak_rel_row(t->rows, r);
    if (t->nkey && ak_hidx_insert(&t->kidx, hash_cols(row, t->key, t->nkey), (uint32_t)r))
        return -1;
    for (int i = 0; i < t->nmidx; i++)
        if (ak_hidx_insert(&t->midx[i].h, hash_mask(row, t->midx[i].mask, t->nkept), (uint32_t)r))
            return -1;
    return 0;
}

static void unindex_row(ak_table_t *t, size_t r)
{
    const ak_val_t *row = ak_rel_row(t->rows, r);
    if (t->nkey)
        ak_hidx_remove(&t->kidx, hash_cols(row, t->key, t->nkey), (uint32_t)r);
    for (int i = 0; i < t->nmidx; i++)
        ak_hidx_remove(&t->midx[i].h, hash_mask(row, t->midx[i].mask, t->nkept), (uint32_t)r);
}

static int copy_in(ak_table_t *t, const ak_rec_t *rec, ak_val_t *dst)
{
    for (int i = 0; i < t->nkept; i++) {
        ak_val_t v = rec->v[t->kept[i]];
        if (v.type == AK_TEXT && intern(t, &v))
            return -1;
        dst[i] = v;
    }
    return 0;
}

/* A partial upsert: the columns it does not carry keep the row's values. */
static int merge_in(ak_table_t *t, const ak_rec_t *rec, ak_val_t *dst)
{
    for (int i = 0; i < t->nkept; i++) {
        if (!(rec->present >> t->kept[i] & 1))
            continue;
        ak_val_t v = rec->v[t->kept[i]];
        if (v.type == AK_TEXT && intern(t, &v))
            return -1;
        dst[i] = v;
    }
    return 0;
}

static bool eq_cols(const ak_val_t *a, const ak_val_t *b, const int *cols, int n)
{
    for (int i = 0; i < n; i++)
        if (!ak_val_eq_group(&a[cols[i]], &b[cols[i]]))
            return false;
    return true;
}

/* Key values of a record, in kept positions, into tmp. */
static void rec_kept(const ak_table_t *t, const ak_rec_t *rec, ak_val_t *tmp)
{
    for (int i = 0; i < t->nkept; i++)
        tmp[i] = rec->v[t->kept[i]];
}

static size_t find_key(ak_table_t *t, const ak_val_t *k)
{
    uint64_t h = hash_cols(k, t->key, t->nkey);
    for (size_t s = ak_hidx_first(&t->kidx, h); ak_hidx_more(&t->kidx, s); s = ak_hidx_next(&t->kidx, s)) {
        if (t->kidx.h[s] != h || t->kidx.v[s] == AK_HIDX_DEAD)
            continue;
        size_t r = t->kidx.v[s];
        if (t->alive[r] && eq_cols(ak_rel_row(t->rows, r), k, t->key, t->nkey))
            return r;
    }
    return (size_t)-1;
}

static int ensure_alive(ak_table_t *t)
{
    if (t->rows->nrows <= t->alive_cap)
        return 0;
    size_t nc = t->alive_cap ? t->alive_cap : 1024;
    while (nc < t->rows->nrows)
        nc *= 2;
    uint8_t *na = ak_realloc(t->alive, nc);
    if (!na)
        return -1;
    t->alive = na;
    uint64_t *nr = ak_realloc(t->rid, nc * sizeof *nr);
    if (!nr)
        return -1;
    t->rid = nr;
    t->alive_cap = nc;
    return 0;
}

/* ---- grouping by partition key ---- */

static int ensure_rg(ak_table_t *t, size_t rows)
{
    if (rows <= t->cap_rg)
        return 0;
    size_t nc = t->cap_rg ? t->cap_rg : 1024;
    while (nc < rows)
        nc *= 2;
    uint32_t *a = ak_realloc(t->row_group, sizeof *a * nc);
    if (!a)
        return -1;
    t->row_group = a;
    uint32_t *b = ak_realloc(t->row_gpos, sizeof *b * nc);
    if (!b)
        return -1;
    t->row_gpos = b;
    t->cap_rg = nc;
    return 0;
}

/* Group of a key, created when missing (its key copied), or UINT32_MAX on OOM. */
static uint32_t group_of(ak_table_t *t, const ak_val_t *key, bool create)
{
    uint64_t h = ak_val_hash(key, 17);
    for (size_t s = ak_hidx_first(&t->gidx, h); ak_hidx_more(&t->gidx, s); s = ak_hidx_next(&t->gidx, s))
        if (t->gidx.h[s] == h && ak_val_eq_group(&t->groups[t->gidx.v[s]].key, key))
            return t->gidx.v[s];
    if (!create)
        return UINT32_MAX - 1;
    if (AK_GROW(t->groups, t->cap_groups, t->ngroups + 1))
        return UINT32_MAX;
    tgroup_t *g = &t->groups[t->ngroups];
    memset(g, 0, sizeof *g);
    g->key = *key;
    if (key->type == AK_TEXT && !(g->key.s = ak_arena_strndup(&t->key_arena, key->s, key->n)))
        return UINT32_MAX;
    if (ak_hidx_insert(&t->gidx, h, (uint32_t)t->ngroups))
        return UINT32_MAX;
    return (uint32_t)t->ngroups++;
}

static int group_add(ak_table_t *t, size_t r, ak_err_t *err)
{
    if (!t->keyfn)
        return 0;
    ak_val_t key;
    if (t->keyfn(t->key_ctx, ak_rel_row(t->rows, r), &key, err))
        return -1;
    uint32_t g = group_of(t, &key, true);
    if (g == UINT32_MAX || ensure_rg(t, r + 1) || AK_GROW(t->groups[g].rows, t->groups[g].cap, t->groups[g].n + 1))
        return ak_err_nomem(err);
    tgroup_t *gr = &t->groups[g];
    t->row_group[r] = g;
    t->row_gpos[r] = (uint32_t)gr->n;
    gr->rows[gr->n++] = (uint32_t)r;
    return 0;
}

static void group_remove(ak_table_t *t, size_t r)
{
    if (!t->keyfn || r >= t->cap_rg || t->row_group[r] == UINT32_MAX)
        return;
    tgroup_t *gr = &t->groups[t->row_group[r]];
    uint32_t pos = t->row_gpos[r];
    uint32_t last = gr->rows[--gr->n];
    gr->rows[pos] = last;
    t->row_gpos[last] = pos;
    t->row_group[r] = UINT32_MAX;
}

static int regroup_all(ak_table_t *t, ak_err_t *err)
{
    for (size_t g = 0; g < t->ngroups; g++)
        t->groups[g].n = 0;
    if (ensure_rg(t, t->rows->nrows + 1))
        return ak_err_nomem(err);
    for (size_t r = 0; r < t->rows->nrows; r++) {
        t->row_group[r] = UINT32_MAX;
        if (t->alive[r] && group_add(t, r, err))
            return -1;
    }
    return 0;
}

int ak_table_set_grouping(ak_table_t *t, ak_table_keyfn_t fn, void *ctx, ak_err_t *err)
{
    t->keyfn = fn;
    t->key_ctx = ctx;
    if (!t->gidx.v && ak_hidx_init(&t->gidx, 1024))
        return ak_err_nomem(err);
    if (ensure_alive(t))
        return ak_err_nomem(err);
    return regroup_all(t, err);
}

int ak_table_group(ak_table_t *t, const ak_val_t *key, const uint32_t **rows, size_t *n, ak_err_t *err)
{
    (void)err;
    *rows = NULL;
    *n = 0;
    if (!t->keyfn)
        return ak_errf(err, AK_E_INTERNAL, "table has no grouping");
    uint32_t g = group_of(t, key, false);
    if (g >= UINT32_MAX - 1)
        return 0;
    *rows = t->groups[g].rows;
    *n = t->groups[g].n;
    return 0;
}

const ak_rel_t *ak_table_rows_rel(const ak_table_t *t) { return t->rows; }

void ak_table_set_listener(ak_table_t *t, ak_table_listener_t fn, void *ctx)
{
    t->listener = fn;
    t->listener_ctx = ctx;
}

static int add_row(ak_table_t *t, const ak_rec_t *rec, ak_err_t *err)
{
    ak_val_t *row = ak_rel_push(t->rows);
    if (!row || ensure_alive(t))
        return ak_err_nomem(err);
    size_t r = t->rows->nrows - 1;
    t->alive[r] = 1;
    t->rid[r] = t->next_rid++;
    ak_dirty_mark(&t->dirty, (uint32_t)r);
    if (copy_in(t, rec, row) || index_row(t, r))
        return ak_err_nomem(err);
    t->nlive++;
    if (group_add(t, r, err))
        return -1;
    return t->listener ? t->listener(t->listener_ctx, NULL, ak_rel_row(t->rows, r), err) : 0;
}

/* Removes live row r, telling the listener unless it is only forgotten. */
static int kill_row(ak_table_t *t, size_t r, bool tell, ak_err_t *err)
{
    if (tell && t->listener && t->listener(t->listener_ctx, ak_rel_row(t->rows, r), NULL, err))
        return -1;
    unindex_row(t, r);
    group_remove(t, r);
    if (t->dirty.track) {
        uint8_t k[AK_UVARINT_MAX];
        ak_dirty_drop(&t->dirty, (uint32_t)r, k, ak_put_uvarint(k, t->rid[r]));
    }
    t->alive[r] = 0;
    t->nlive--;
    t->ndead++;
    return 0;
}

static mask_idx_t *mask_index(ak_table_t *t, uint64_t mask)
{
    for (int i = 0; i < t->nmidx; i++)
        if (t->midx[i].mask == mask)
            return &t->midx[i];
    if (t->nmidx == MAX_MASK_IDX)
        return NULL;
    mask_idx_t *m = &t->midx[t->nmidx];
    m->mask = mask;
    if (ak_hidx_init(&m->h, t->nlive))
        return NULL;
    for (size_t r = 0; r < t->rows->nrows; r++)
        if (t->alive[r] && ak_hidx_insert(&m->h, hash_mask(ak_rel_row(t->rows, r), mask, t->nkept), (uint32_t)r)) {
            ak_hidx_free(&m->h);
            return NULL;
        }
    t->nmidx++;
    return m;
}

/* Whether live row r equals `want` on the kept positions in `mask`. */
static bool row_matches(const ak_table_t *t, size_t r, const ak_val_t *want, uint64_t mask)
{
    if (!t->alive[r])
        return false;
    const ak_val_t *row = ak_rel_row(t->rows, r);
    for (int i = 0; i < t->nkept; i++)
        if ((mask >> i & 1) && !ak_val_eq_group(&row[i], &want[i]))
            return false;
    return true;
}

/* Removes one live row equal to the record on the columns it carries. */
static int delete_keyless(ak_table_t *t, const ak_rec_t *rec, ak_err_t *err)
{
    ak_val_t want[AK_MAX_COLUMNS];
    rec_kept(t, rec, want);
    uint64_t mask = 0;
    for (int i = 0; i < t->nkept; i++)
        if (rec->present >> t->kept[i] & 1)
            mask |= 1ULL << i;
    size_t found = (size_t)-1;
    if (mask) {
        mask_idx_t *m = mask_index(t, mask);
        ak_hidx_t *h = m ? &m->h : NULL;
        if (h) {
            uint64_t hv = hash_mask(want, mask, t->nkept);
            for (size_t s = ak_hidx_first(h, hv); ak_hidx_more(h, s) && found == (size_t)-1; s = ak_hidx_next(h, s))
                if (h->h[s] == hv && h->v[s] != AK_HIDX_DEAD && row_matches(t, h->v[s], want, mask))
                    found = h->v[s];
        } else {
            /* too many distinct column subsets to index: scan */
            for (size_t r = 0; r < t->rows->nrows && found == (size_t)-1; r++)
                if (row_matches(t, r, want, mask))
                    found = r;
        }
    }
    if (found == (size_t)-1) {
        t->st.deletes_unmatched++;
        return 0;
    }
    t->st.deletes++;
    return kill_row(t, found, true, err);
}

static int truncate_all(ak_table_t *t, ak_err_t *err)
{
    for (size_t r = 0; t->listener && r < t->rows->nrows; r++)
        if (t->alive[r] && t->listener(t->listener_ctx, ak_rel_row(t->rows, r), NULL, err))
            return -1;
    t->rows->nrows = 0;
    t->nlive = t->ndead = 0;
    t->dirty.lost = true; /* the next checkpoint writes the table whole */
    ak_hidx_free(&t->kidx);
    for (int i = 0; i < t->nmidx; i++)
        ak_hidx_free(&t->midx[i].h);
    t->nmidx = 0;
    for (size_t g = 0; g < t->ngroups; g++)
        t->groups[g].n = 0;
    t->st.truncates++;
    return ak_hidx_init(&t->kidx, 1024) ? ak_err_nomem(err) : 0;
}

static void note_low(ak_table_t *t, int64_t us)
{
    if (!t->have_low || us < t->low_us) {
        t->low_us = us;
        t->have_low = true;
    }
}

static int behind(const ak_table_t *t, const ak_val_t *c, const char *what, ak_err_t *err)
{
    ak_buf_t when = AK_BUF_INIT;
    ak_val_to_text(c, &when);
    ak_errf(err, AK_E_BEHIND, "%s with %s %s reaches rows dropped by compaction (older than the horizon)", what,
            t->names[t->cursor], when.data && !when.oom ? when.data : "NULL");
    ak_buf_free(&when);
    return -1;
}

int ak_table_apply(ak_table_t *t, const ak_batch_t *b, ak_err_t *err)
{
    ak_val_t tmp[AK_MAX_COLUMNS];
    if (ensure_alive(t))
        return ak_err_nomem(err);
    for (size_t i = 0; i < b->n; i++) {
        const ak_rec_t *rec = &b->recs[i];
        if (t->cursor >= 0) {
            const ak_val_t *c = &rec->v[t->kept[t->cursor]];
            int64_t us;
            bool temporal = ak_val_time_us(c, &us);
            if (temporal && (!t->have_newest || us > t->newest)) {
                t->newest = us;
                t->have_newest = true;
            }
            if (t->forgot && temporal && us < t->forgot_us && rec->op != AK_OP_TRUNCATE)
                return behind(t, c, rec->op == AK_OP_DELETE ? "a delete" : "a row", err);
            if (temporal)
                note_low(t, us);
        }
        if (rec->op == AK_OP_TRUNCATE) {
            if (truncate_all(t, err))
                return -1;
            continue;
        }
        if (!t->nkey) {
            if (rec->op == AK_OP_UPSERT) {
                if (add_row(t, rec, err))
                    return -1;
                t->st.upserts++;
            } else {
                uint64_t unmatched = t->st.deletes_unmatched;
                if (delete_keyless(t, rec, err))
                    return -1;
                /* without its cursor, a delete may have been for a dropped row */
                if (t->forgot && t->st.deletes_unmatched != unmatched)
                    return behind(t, &rec->v[t->kept[t->cursor]], "a delete", err);
            }
            continue;
        }
        rec_kept(t, rec, tmp);
        size_t r = find_key(t, tmp);
        if (rec->op == AK_OP_DELETE) {
            if (r == (size_t)-1) {
                t->st.deletes_unmatched++;
            } else {
                t->st.deletes++;
                if (kill_row(t, r, true, err))
                    return -1;
            }
            continue;
        }
        if (r != (size_t)-1) {
            if (t->newer_wins && t->cursor >= 0 && !(rec->flags & AK_REC_CDC)) {
                const ak_val_t *old = &ak_rel_row(t->rows, r)[t->cursor], *nw = &tmp[t->cursor];
                /* an older cursor loses; NULL on either side: the later record wins */
                if (old->type != AK_NULL && nw->type != AK_NULL && ak_val_cmp(nw, old) < 0) {
                    t->st.ignored_older++;
                    continue;
                }
            }
            ak_val_t *row = ak_rel_row(t->rows, r);
            ak_val_t old[AK_MAX_COLUMNS];
            memcpy(old, row, sizeof(ak_val_t) * (size_t)t->nkept);
            if (rec->flags & AK_REC_MERGE ? merge_in(t, rec, row) : copy_in(t, rec, row))
                return ak_err_nomem(err);
            ak_dirty_mark(&t->dirty, (uint32_t)r);
            if (t->keyfn) {
                /* the partition key may be another column than the primary key */
                group_remove(t, r);
                if (group_add(t, r, err))
                    return -1;
            }
            if (t->listener && t->listener(t->listener_ctx, old, row, err))
                return -1;
        } else if (add_row(t, rec, err)) {
            return -1;
        }
        t->st.upserts++;
    }
    return 0;
}

static int compact(ak_table_t *t, ak_err_t *err)
{
    size_t w = 0, nc = (size_t)t->nkept;
    /* changed rows move with their rows */
    ak_dirty_t moved = {.track = t->dirty.track, .lost = t->dirty.lost, .dropped = t->dirty.dropped};
    t->dirty.dropped = (ak_buf_t)AK_BUF_INIT;
    for (size_t r = 0; r < t->rows->nrows; r++) {
        if (!t->alive[r])
            continue;
        if (ak_dirty_has(&t->dirty, (uint32_t)r))
            ak_dirty_mark(&moved, (uint32_t)w);
        if (w != r) {
            memmove(ak_rel_row(t->rows, w), ak_rel_row(t->rows, r), sizeof(ak_val_t) * nc);
            t->rid[w] = t->rid[r];
        }
        t->alive[w] = 1;
        w++;
    }
    ak_dirty_free(&t->dirty);
    t->dirty = moved;
    t->rows->nrows = w;
    t->ndead = 0;
    ak_hidx_free(&t->kidx);
    for (int i = 0; i < t->nmidx; i++)
        ak_hidx_free(&t->midx[i].h);
    int nm = t->nmidx;
    t->nmidx = 0;
    if (ak_hidx_init(&t->kidx, w))
        return ak_err_nomem(err);
    for (size_t r = 0; r < w; r++)
        if (index_row(t, r))
            return ak_err_nomem(err);
    (void)nm; /* subset indexes are rebuilt lazily when needed again */
    return t->keyfn ? regroup_all(t, err) : 0;
}

int ak_table_forget(ak_table_t *t, int64_t before_us, ak_err_t *err)
{
    if (t->cursor < 0 || t->nkey || (t->forgot && before_us <= t->forgot_us))
        return 0;
    t->forgot = true;
    t->forgot_us = before_us;
    t->forgot_dirty = true;
    if (t->have_low && before_us <= t->low_us)
        return 0;
    t->have_low = false;
    int64_t us;
    for (size_t r = 0; r < t->rows->nrows; r++) {
        if (!t->alive[r] || !ak_val_time_us(&ak_rel_row(t->rows, r)[t->cursor], &us))
            continue;
        if (us >= before_us)
            note_low(t, us);
        else
            kill_row(t, r, false, err);
    }
    return t->ndead > t->nlive ? compact(t, err) : 0;
}

int ak_table_rel(ak_table_t *t, const ak_rel_t **out, ak_err_t *err)
{
    if (t->ndead && compact(t, err))
        return -1;
    *out = t->rows;
    return 0;
}

size_t ak_table_rows(const ak_table_t *t) { return t->nlive; }

size_t ak_table_bytes(const ak_table_t *t)
{
    size_t b = t->rows->cap * (size_t)(t->nkept ? t->nkept : 1) * sizeof(ak_val_t) + t->rows->arena.reserved +
               ak_hidx_bytes(&t->kidx) + ak_hidx_bytes(&t->strs) + t->cap_str * sizeof(ak_val_t) + t->alive_cap;
    for (int i = 0; i < t->nmidx; i++)
        b += ak_hidx_bytes(&t->midx[i].h);
    b += ak_hidx_bytes(&t->gidx) + t->cap_rg * 8 + t->cap_groups * sizeof(tgroup_t) + t->key_arena.reserved;
    for (size_t g = 0; g < t->ngroups; g++)
        b += t->groups[g].cap * sizeof(uint32_t);
    return b;
}

const ak_table_stats_t *ak_table_stats(const ak_table_t *t) { return &t->st; }
int ak_table_ncols(const ak_table_t *t) { return t->nkept; }
const char *const *ak_table_names(const ak_table_t *t) { return t->names; }
const ak_type_t *ak_table_types(const ak_table_t *t) { return t->types; }

/* ---- checkpoints ---- */

#define FORGOT_KEY "\xff" /* never a whole uvarint */

static int save_row(ak_table_t *t, size_t r, ak_buf_t *k, ak_buf_t *v, const ak_state_out_t *out, ak_err_t *err)
{
    ak_buf_clear(k);
    ak_buf_clear(v);
    ak_buf_put_uvarint(k, t->rid[r]);
    ak_ser_row(v, ak_rel_row(t->rows, r), t->nkept);
    if (k->oom || v->oom)
        return ak_err_nomem(err);
    return ak_state_put(out, k->data, k->len, v->data, v->len, err);
}

typedef struct tsave {
    ak_table_t *t;
    ak_buf_t *k, *v;
    const ak_state_out_t *out;
    ak_err_t *err;
} tsave_t;

static int save_dirty(void *ctx, uint32_t r)
{
    tsave_t *c = ctx;
    return r < c->t->rows->nrows && c->t->alive[r] ? save_row(c->t, r, c->k, c->v, c->out, c->err) : 0;
}

static int del_dropped(void *ctx, const uint8_t *key, size_t kn)
{
    tsave_t *c = ctx;
    return ak_state_del(c->out, key, kn, c->err);
}

int ak_table_save(ak_table_t *t, bool full, const ak_state_out_t *out, ak_err_t *err)
{
    full |= !t->dirty.track || t->dirty.lost;
    t->dirty.track = true;
    ak_buf_t k = AK_BUF_INIT, v = AK_BUF_INIT;
    int rc = 0;
    if (full) {
        rc = ak_state_clear(out, NULL, 0, err);
        for (size_t r = 0; r < t->rows->nrows && rc == 0; r++)
            if (t->alive[r])
                rc = save_row(t, r, &k, &v, out, err);
    } else {
        tsave_t c = {t, &k, &v, out, err};
        rc = ak_dirty_each_dropped(&t->dirty, del_dropped, &c);
        if (rc == 0)
            rc = ak_dirty_each(&t->dirty, save_dirty, &c);
    }
    /* the compaction horizon: one record under a key no row number has */
    if (rc == 0 && t->forgot && (full || t->forgot_dirty)) {
        ak_buf_clear(&v);
        ak_buf_put_svarint(&v, t->forgot_us);
        rc = v.oom ? ak_err_nomem(err) : ak_state_put(out, FORGOT_KEY, 1, v.data, v.len, err);
    }
    ak_buf_free(&k);
    ak_buf_free(&v);
    return rc;
}

void ak_table_saved(ak_table_t *t)
{
    ak_dirty_saved(&t->dirty);
    t->forgot_dirty = false;
}

int ak_table_load(ak_table_t *t, const void *key, size_t kn, const void *val, size_t vn, ak_err_t *err)
{
    t->dirty.track = true;
    if (kn == 1 && memcmp(key, FORGOT_KEY, 1) == 0) {
        ak_rd_t rd;
        ak_rd_init(&rd, val, vn);
        t->forgot_us = ak_rd_svar(&rd);
        if (rd.bad || !ak_rd_done(&rd))
            return ak_errf(err, AK_E_CORRUPT, "checkpoint: malformed compaction horizon");
        t->forgot = true;
        return 0;
    }
    uint64_t rid = 0;
    size_t used = ak_get_uvarint(key, kn, &rid);
    ak_val_t tmp[AK_MAX_COLUMNS];
    ak_rd_t rd;
    ak_rd_init(&rd, val, vn);
    ak_rd_row(&rd, tmp, t->nkept);
    if (!used || used != kn || rd.bad || !ak_rd_done(&rd))
        return ak_errf(err, AK_E_CORRUPT, "checkpoint: malformed input row");
    for (int i = 0; i < t->nkept; i++)
        if (tmp[i].type == AK_TEXT && intern(t, &tmp[i]))
            return ak_err_nomem(err);
    ak_val_t *row = ak_rel_push(t->rows);
    if (!row || ensure_alive(t))
        return ak_err_nomem(err);
    memcpy(row, tmp, sizeof *row * (size_t)t->nkept);
    size_t r = t->rows->nrows - 1;
    t->alive[r] = 1;
    t->rid[r] = rid;
    if (rid >= t->next_rid)
        t->next_rid = rid + 1;
    int64_t us;
    if (t->cursor >= 0 && ak_val_time_us(&row[t->cursor], &us))
        note_low(t, us);
    if (index_row(t, r))
        return ak_err_nomem(err);
    t->nlive++;
    return group_add(t, r, err);
}

bool ak_table_oldest(const ak_table_t *t, ak_buf_t *out)
{
    if (t->cursor < 0)
        return false;
    const ak_val_t *best = NULL;
    size_t bi = 0;
    for (size_t i = 0; i < t->rows->nrows; i++) {
        const ak_val_t *v = &ak_rel_row(t->rows, i)[t->cursor];
        if (t->alive[i] && v->type != AK_NULL && (!best || ak_val_cmp(v, best) < 0)) {
            best = v;
            bi = i;
        }
    }
    if (!best)
        return false;
    const ak_val_t *row = ak_rel_row(t->rows, bi);
    for (int k = 0; k < t->nkey; k++) {
        ak_buf_printf(out, "%s%s=", k ? ", " : "", t->names[t->key[k]]);
        ak_val_to_text(&row[t->key[k]], out);
    }
    ak_buf_printf(out, "%s%s ", t->nkey ? " (" : "", t->names[t->cursor]);
    ak_val_to_text(best, out);
    if (t->nkey)
        ak_buf_putc(out, ')');
    return true;
}

bool ak_table_newest(const ak_table_t *t, int64_t *us)
{
    *us = t->newest;
    return t->have_newest;
}
