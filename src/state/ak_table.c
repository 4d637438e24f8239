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
#include "ak_hidx.h"

#include <string.h>

#define MAX_MASK_IDX 4

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
    ak_rel_t *rows;
    uint8_t *alive;
    size_t alive_cap;
    size_t nlive, ndead;
    ak_hidx_t kidx;                /* key (keyed) or all kept columns (keyless) */
    mask_idx_t midx[MAX_MASK_IDX];
    int nmidx;
    ak_hidx_t strs;                /* interned strings: hash -> slot in str_v */
    ak_val_t *str_v;
    size_t nstr, cap_str;
    ak_table_stats_t st;
    const char **names;
    ak_type_t *types;
};

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
    ak_hidx_free(&t->kidx);
    for (int i = 0; i < t->nmidx; i++)
        ak_hidx_free(&t->midx[i].h);
    ak_hidx_free(&t->strs);
    ak_free(t->str_v);
    ak_free(t->names);
    ak_free(t->types);
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

static int index_row(ak_table_t *t, size_t r)
{
    const ak_val_t *row = ak_rel_row(t->rows, r);
    uint64_t h;
    if (t->nkey)
        h = hash_cols(row, t->key, t->nkey);
    else
        h = hash_mask(row, t->nkept >= 64 ? ~0ULL : ((1ULL << t->nkept) - 1), t->nkept);
    if (ak_hidx_insert(&t->kidx, h, (uint32_t)r))
        return -1;
    for (int i = 0; i < t->nmidx; i++)
        if (ak_hidx_insert(&t->midx[i].h, hash_mask(row, t->midx[i].mask, t->nkept), (uint32_t)r))
            return -1;
    return 0;
}

static void unindex_row(ak_table_t *t, size_t r)
{
    const ak_val_t *row = ak_rel_row(t->rows, r);
    uint64_t h = t->nkey ? hash_cols(row, t->key, t->nkey)
                         : hash_mask(row, t->nkept >= 64 ? ~0ULL : ((1ULL << t->nkept) - 1), t->nkept);
    ak_hidx_remove(&t->kidx, h, (uint32_t)r);
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
    t->alive_cap = nc;
    return 0;
}

static int add_row(ak_table_t *t, const ak_rec_t *rec)
{
    ak_val_t *row = ak_rel_push(t->rows);
    if (!row || ensure_alive(t))
        return -1;
    size_t r = t->rows->nrows - 1;
    t->alive[r] = 1;
    if (copy_in(t, rec, row) || index_row(t, r))
        return -1;
    t->nlive++;
    return 0;
}

static void kill_row(ak_table_t *t, size_t r)
{
    unindex_row(t, r);
    t->alive[r] = 0;
    t->nlive--;
    t->ndead++;
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
static void delete_keyless(ak_table_t *t, const ak_rec_t *rec)
{
    ak_val_t want[AK_MAX_COLUMNS];
    rec_kept(t, rec, want);
    uint64_t mask = 0;
    for (int i = 0; i < t->nkept; i++)
        if (rec->present >> t->kept[i] & 1)
            mask |= 1ULL << i;
    uint64_t all = t->nkept >= 64 ? ~0ULL : ((1ULL << t->nkept) - 1);
    size_t found = (size_t)-1;
    if (mask) {
        ak_hidx_t *h = &t->kidx;
        if (mask != all) {
            mask_idx_t *m = mask_index(t, mask);
            h = m ? &m->h : NULL;
        }
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
        return;
    }
    kill_row(t, found);
    t->st.deletes++;
}

static int truncate_all(ak_table_t *t, ak_err_t *err)
{
    t->rows->nrows = 0;
    t->nlive = t->ndead = 0;
    ak_hidx_free(&t->kidx);
    for (int i = 0; i < t->nmidx; i++)
        ak_hidx_free(&t->midx[i].h);
    t->nmidx = 0;
    t->st.truncates++;
    return ak_hidx_init(&t->kidx, 1024) ? ak_err_nomem(err) : 0;
}

int ak_table_apply(ak_table_t *t, const ak_batch_t *b, ak_err_t *err)
{
    ak_val_t tmp[AK_MAX_COLUMNS];
    if (ensure_alive(t))
        return ak_err_nomem(err);
    for (size_t i = 0; i < b->n; i++) {
        const ak_rec_t *rec = &b->recs[i];
        if (rec->op == AK_OP_TRUNCATE) {
            if (truncate_all(t, err))
                return -1;
            continue;
        }
        if (!t->nkey) {
            if (rec->op == AK_OP_UPSERT) {
                if (add_row(t, rec))
                    return ak_err_nomem(err);
                t->st.upserts++;
            } else {
                delete_keyless(t, rec);
            }
            continue;
        }
        rec_kept(t, rec, tmp);
        size_t r = find_key(t, tmp);
        if (rec->op == AK_OP_DELETE) {
            if (r == (size_t)-1) {
                t->st.deletes_unmatched++;
            } else {
                kill_row(t, r);
                t->st.deletes++;
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
            if (copy_in(t, rec, row))
                return ak_err_nomem(err);
        } else if (add_row(t, rec)) {
            return ak_err_nomem(err);
        }
        t->st.upserts++;
    }
    return 0;
}

static int compact(ak_table_t *t, ak_err_t *err)
{
    size_t w = 0, nc = (size_t)t->nkept;
    for (size_t r = 0; r < t->rows->nrows; r++) {
        if (!t->alive[r])
            continue;
        if (w != r)
            memmove(ak_rel_row(t->rows, w), ak_rel_row(t->rows, r), sizeof(ak_val_t) * nc);
        t->alive[w] = 1;
        w++;
    }
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
    return 0;
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
    return b;
}

const ak_table_stats_t *ak_table_stats(const ak_table_t *t) { return &t->st; }
int ak_table_ncols(const ak_table_t *t) { return t->nkept; }
const char *const *ak_table_names(const ak_table_t *t) { return t->names; }
const ak_type_t *ak_table_types(const ak_table_t *t) { return t->types; }
