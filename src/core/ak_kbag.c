/* ak_kbag.c - keyed multisets of packed rows.
 *
 * Entries live in one array (freed slots reused) so their ids are stable;
 * each group lists its entry ids, and each entry knows its position in
 * that list, so removal is O(1).  One hash index finds groups by key,
 * another finds entries by (group, row).
 */
#include "ak_kbag.h"

#include "ak_delta.h"

#include "ak_alloc.h"
#include "ak_dirty.h"
#include "ak_ser.h"

#include <string.h>

typedef struct kgroup {
    uint32_t *ents;
    uint32_t n, cap;
    uint32_t key;        /* offset of the key values in keys[] */
} kgroup_t;

typedef struct kent {
    int64_t count;
    int64_t aux;
    uint32_t group;      /* UINT32_MAX: free */
    uint32_t gpos;
    uint64_t hash;
} kent_t;

struct ak_kbag {
    int nkey, nrow;
    kgroup_t *groups;
    uint32_t ngroups, cap_groups;
    uint32_t *free_groups;
    uint32_t nfree_groups;
    size_t cap_free_groups;
    ak_val_t *keys;      /* nkey values per group slot */
    ak_hidx_t gidx;
    kent_t *ents;
    ak_val_t *rows;      /* nrow values per entry slot */
    uint32_t nents, cap_ents;
    uint32_t free_ent;   /* head of the free list (through .gpos), UINT32_MAX: none */
    ak_hidx_t eidx;
    int64_t total;
    size_t live_groups;
    size_t list_bytes;   /* the groups' entry lists, kept as they change */
    ak_dirty_t dirty;    /* entries changed and rows removed, for checkpoints */
};

/* An entry changed: remembered for the next checkpoint. */
static void mark(ak_kbag_t *b, uint32_t e) { ak_dirty_mark(&b->dirty, e); }

static void put_entry_key(const ak_kbag_t *b, ak_buf_t *k, uint32_t e)
{
    ak_ser_row(k, b->keys + (size_t)b->ents[e].group * (size_t)b->nkey, b->nkey);
    ak_ser_row(k, b->rows + (size_t)e * (size_t)b->nrow, b->nrow);
}

/* An entry is about to go: its key and row are remembered as removed. */
static void drop_entry(ak_kbag_t *b, uint32_t e)
{
    if (!b->dirty.track)
        return;
    ak_buf_t k = AK_BUF_INIT;
    put_entry_key(b, &k, e);
    ak_dirty_drop(&b->dirty, e, k.data, k.len);
    b->dirty.lost |= k.oom;
    ak_buf_free(&k);
}

ak_kbag_t *ak_kbag_new(int nkey, int nrow)
{
    ak_kbag_t *b = ak_calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->nkey = nkey;
    b->nrow = nrow;
    b->free_ent = UINT32_MAX;
    return b;
}

void ak_kbag_free(ak_kbag_t *b)
{
    if (!b)
        return;
    for (uint32_t g = 0; g < b->ngroups; g++)
        ak_free(b->groups[g].ents);
    ak_free(b->groups);
    ak_free(b->free_groups);
    ak_free(b->keys);
    ak_hidx_free(&b->gidx);
    ak_free(b->ents);
    ak_free(b->rows);
    ak_hidx_free(&b->eidx);
    ak_dirty_free(&b->dirty);
    ak_free(b);
}

static uint64_t key_hash(const ak_val_t *k, int n) { return ak_row_hash(k, n) ^ 0x3c6ef372fe94f82bULL; }

uint32_t ak_kbag_group(ak_kbag_t *b, const ak_val_t *key, bool create)
{
    uint64_t h = key_hash(key, b->nkey);
    for (size_t s = ak_hidx_first(&b->gidx, h); ak_hidx_more(&b->gidx, s); s = ak_hidx_next(&b->gidx, s)) {
        if (b->gidx.h[s] != h || b->gidx.v[s] == AK_HIDX_DEAD)
            continue;
        uint32_t g = b->gidx.v[s];
        if (ak_row_eq(b->keys + (size_t)g * (size_t)b->nkey, key, b->nkey))
            return g;
    }
    if (!create)
        return UINT32_MAX;
    uint32_t g;
    if (b->nfree_groups) {
        g = b->free_groups[--b->nfree_groups];
    } else {
        if (b->ngroups == b->cap_groups) {
            uint32_t nc = b->cap_groups ? b->cap_groups * 2 : 64;
            kgroup_t *ng = ak_realloc(b->groups, sizeof *ng * nc);
            if (!ng)
                return UINT32_MAX - 1;
            b->groups = ng;
            ak_val_t *nk = ak_realloc(b->keys, sizeof *nk * nc * (size_t)(b->nkey ? b->nkey : 1));
            if (!nk)
                return UINT32_MAX - 1;
            b->keys = nk;
            b->cap_groups = nc;
        }
        g = b->ngroups++;
        memset(&b->groups[g], 0, sizeof b->groups[g]);
    }
    if (b->nkey)
        memcpy(b->keys + (size_t)g * (size_t)b->nkey, key, sizeof *key * (size_t)b->nkey);
    if (ak_hidx_insert(&b->gidx, h, g))
        return UINT32_MAX - 1;
    b->live_groups++;
    return g;
}

const ak_val_t *ak_kbag_key(const ak_kbag_t *b, uint32_t g) { return b->keys + (size_t)g * (size_t)b->nkey; }
size_t ak_kbag_size(const ak_kbag_t *b, uint32_t g) { return g < b->ngroups ? b->groups[g].n : 0; }
const uint32_t *ak_kbag_entries(const ak_kbag_t *b, uint32_t g) { return b->groups[g].ents; }
const ak_val_t *ak_kbag_row(const ak_kbag_t *b, uint32_t e) { return b->rows + (size_t)e * (size_t)b->nrow; }
int64_t ak_kbag_count(const ak_kbag_t *b, uint32_t e) { return b->ents[e].count; }
int64_t *ak_kbag_aux(ak_kbag_t *b, uint32_t e)
{
    mark(b, e);
    return &b->ents[e].aux;
}
int64_t ak_kbag_total(const ak_kbag_t *b) { return b->total; }
size_t ak_kbag_ngroups(const ak_kbag_t *b) { return b->live_groups; }
uint32_t ak_kbag_gcap(const ak_kbag_t *b) { return b->ngroups; }

int ak_kbag_clear(ak_kbag_t *b)
{
    for (uint32_t g = 0; g < b->ngroups; g++)
        while (ak_kbag_size(b, g)) {
            uint32_t e = b->groups[g].ents[b->groups[g].n - 1], gone;
            if (ak_kbag_add(b, g, ak_kbag_row(b, e), -b->ents[e].count, &gone))
                return -1;
        }
    return 0;
}

static uint64_t ent_hash(const ak_val_t *row, int n, uint32_t g) { return ak_hash_mix(ak_row_hash(row, n), g); }

uint32_t ak_kbag_find(ak_kbag_t *b, uint32_t g, const ak_val_t *row)
{
    uint64_t h = ent_hash(row, b->nrow, g);
    for (size_t s = ak_hidx_first(&b->eidx, h); ak_hidx_more(&b->eidx, s); s = ak_hidx_next(&b->eidx, s)) {
        if (b->eidx.h[s] != h || b->eidx.v[s] == AK_HIDX_DEAD)
            continue;
        uint32_t e = b->eidx.v[s];
        if (b->ents[e].group == g && ak_row_eq(ak_kbag_row(b, e), row, b->nrow))
            return e;
    }
    return UINT32_MAX;
}

static void drop_group(ak_kbag_t *b, uint32_t g)
{
    const ak_val_t *key = ak_kbag_key(b, g);
    ak_hidx_remove(&b->gidx, key_hash(key, b->nkey), g);
    b->list_bytes -= (size_t)b->groups[g].cap * sizeof(uint32_t);
    ak_free(b->groups[g].ents);
    memset(&b->groups[g], 0, sizeof b->groups[g]);
    b->live_groups--;
    /* the slot is reused; a failed push only leaks the slot */
    if (!AK_GROW(b->free_groups, b->cap_free_groups, b->nfree_groups + 1))
        b->free_groups[b->nfree_groups++] = g;
}

int ak_kbag_add(ak_kbag_t *b, uint32_t g, const ak_val_t *row, int64_t w, uint32_t *eid)
{
    uint32_t e = ak_kbag_find(b, g, row);
    b->total += w;
    if (e != UINT32_MAX) {
        b->ents[e].count += w;
        if (b->ents[e].count != 0) {
            if (w)
                mark(b, e);
            *eid = e;
            return 0;
        }
        drop_entry(b, e);
        /* gone: unlink from the group, the index and into the free list */
        kgroup_t *gr = &b->groups[g];
        uint32_t pos = b->ents[e].gpos;
        uint32_t last = gr->ents[--gr->n];
        gr->ents[pos] = last;
        b->ents[last].gpos = pos;
        ak_hidx_remove(&b->eidx, b->ents[e].hash, e);
        b->ents[e].group = UINT32_MAX;
        b->ents[e].gpos = b->free_ent;
        b->free_ent = e;
        *eid = UINT32_MAX;
        if (gr->n == 0)
            drop_group(b, g);
        return 0;
    }
    if (w == 0) {
        *eid = UINT32_MAX;
        return 0;
    }
    if (b->free_ent != UINT32_MAX) {
        e = b->free_ent;
        b->free_ent = b->ents[e].gpos;
    } else {
        if (b->nents == b->cap_ents) {
            uint32_t nc = b->cap_ents ? b->cap_ents * 2 : 256;
            kent_t *ne = ak_realloc(b->ents, sizeof *ne * nc);
            if (!ne)
                return -1;
            b->ents = ne;
            ak_val_t *nr = ak_realloc(b->rows, sizeof *nr * nc * (size_t)(b->nrow ? b->nrow : 1));
            if (!nr)
                return -1;
            b->rows = nr;
            b->cap_ents = nc;
        }
        e = b->nents++;
    }
    kgroup_t *gr = &b->groups[g];
    if (gr->n == gr->cap) {
        uint32_t nc = gr->cap ? gr->cap * 2 : 2;
        uint32_t *ne = ak_realloc(gr->ents, sizeof *ne * nc);
        if (!ne)
            return -1;
        gr->ents = ne;
        b->list_bytes += (size_t)(nc - gr->cap) * sizeof(uint32_t);
        gr->cap = nc;
    }
    kent_t *en = &b->ents[e];
    en->count = w;
    en->aux = 0;
    en->group = g;
    en->gpos = gr->n;
    en->hash = ent_hash(row, b->nrow, g);
    if (b->nrow)
        memcpy(b->rows + (size_t)e * (size_t)b->nrow, row, sizeof *row * (size_t)b->nrow);
    gr->ents[gr->n++] = e;
    if (ak_hidx_insert(&b->eidx, en->hash, e))
        return -1;
    mark(b, e);
    *eid = e;
    return 0;
}

size_t ak_kbag_bytes(const ak_kbag_t *b)
{
    return sizeof *b + (size_t)b->cap_groups * (sizeof(kgroup_t) + sizeof(ak_val_t) * (size_t)b->nkey) +
           (size_t)b->cap_free_groups * 4 + ak_hidx_bytes(&b->gidx) +
           (size_t)b->cap_ents * (sizeof(kent_t) + sizeof(ak_val_t) * (size_t)b->nrow) + ak_hidx_bytes(&b->eidx) +
           b->list_bytes;
}

/* ---- checkpoints ---- */

/* One record per entry: key = tag, group key, row; value = count, aux. */
static int save_entry(ak_kbag_t *b, uint8_t tag, uint32_t e, ak_buf_t *k, ak_buf_t *v, const ak_state_out_t *out,
                      ak_err_t *err)
{
    ak_buf_clear(k);
    ak_buf_clear(v);
    ak_buf_putc(k, (char)tag);
    put_entry_key(b, k, e);
    ak_buf_put_svarint(v, b->ents[e].count);
    ak_buf_put_svarint(v, b->ents[e].aux);
    if (k->oom || v->oom)
        return ak_err_nomem(err);
    return ak_state_put(out, k->data, k->len, v->data, v->len, err);
}

typedef struct save_ctx {
    ak_kbag_t *b;
    uint8_t tag;
    ak_buf_t *k, *v;
    const ak_state_out_t *out;
    ak_err_t *err;
} save_ctx_t;

static int save_one(void *ctx, uint32_t e)
{
    save_ctx_t *c = ctx;
    return save_entry(c->b, c->tag, e, c->k, c->v, c->out, c->err);
}

static int del_one(void *ctx, const uint8_t *key, size_t kn)
{
    save_ctx_t *c = ctx;
    ak_buf_clear(c->k);
    ak_buf_putc(c->k, (char)c->tag);
    ak_buf_put(c->k, key, kn);
    return c->k->oom ? ak_err_nomem(c->err) : ak_state_del(c->out, c->k->data, c->k->len, c->err);
}

int ak_kbag_save(ak_kbag_t *b, uint8_t tag, bool full, const ak_state_out_t *out, ak_err_t *err)
{
    if (b->dirty.lost || !b->dirty.track)
        full = true; /* a change could not be remembered */
    b->dirty.track = true; /* from the first (full) checkpoint on */
    ak_buf_t k = AK_BUF_INIT, v = AK_BUF_INIT;
    int rc = 0;
    if (full) {
        rc = ak_state_clear(out, &tag, 1, err);
        for (uint32_t e = 0; e < b->nents && rc == 0; e++)
            if (b->ents[e].group != UINT32_MAX)
                rc = save_entry(b, tag, e, &k, &v, out, err);
    } else {
        /* rows removed first: one removed and added again is put after */
        save_ctx_t c = {b, tag, &k, &v, out, err};
        rc = ak_dirty_each_dropped(&b->dirty, del_one, &c);
        if (rc == 0)
            rc = ak_dirty_each(&b->dirty, save_one, &c);
    }
    ak_buf_free(&k);
    ak_buf_free(&v);
    return rc;
}

void ak_kbag_saved(ak_kbag_t *b) { ak_dirty_saved(&b->dirty); }

int ak_kbag_load(ak_kbag_t *b, const void *key, size_t kn, const void *val, size_t vn, ak_ser_intern_fn intern,
                 void *ictx, uint32_t *eid, ak_err_t *err)
{
    b->dirty.track = true;
    if (eid)
        *eid = UINT32_MAX;
    ak_val_t stack[16];
    size_t need = (size_t)(b->nkey + b->nrow);
    ak_val_t *tmp = need <= 16 ? stack : ak_malloc(need * sizeof *tmp);
    if (!tmp)
        return ak_err_nomem(err);
    ak_val_t *kv = tmp, *row = tmp + b->nkey;
    ak_rd_t r;
    ak_rd_init(&r, key, kn);
    ak_rd_u8(&r); /* the tag */
    ak_rd_row(&r, kv, b->nkey);
    ak_rd_row(&r, row, b->nrow);
    ak_rd_t rv;
    ak_rd_init(&rv, val, vn);
    int64_t count = ak_rd_svar(&rv), aux = ak_rd_svar(&rv);
    int rc = 0;
    if (r.bad || !ak_rd_done(&r) || rv.bad || !ak_rd_done(&rv) || count == 0) {
        rc = ak_errf(err, AK_E_CORRUPT, "checkpoint: malformed row of a keyed multiset");
        goto out;
    }
    for (size_t i = 0; i < need && rc == 0; i++)
        if (intern(ictx, &tmp[i]))
            rc = ak_err_nomem(err);
    uint32_t g = rc ? UINT32_MAX : ak_kbag_group(b, kv, true), e;
    if (rc == 0 && (g >= AK_KBAG_OOM || ak_kbag_add(b, g, row, count, &e)))
        rc = ak_err_nomem(err);
    if (rc == 0 && e != UINT32_MAX) {
        b->ents[e].aux = aux;
        if (eid)
            *eid = e;
    }
out:
    if (tmp != stack)
        ak_free(tmp);
    return rc;
}
