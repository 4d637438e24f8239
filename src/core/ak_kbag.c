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
};

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
int64_t *ak_kbag_aux(ak_kbag_t *b, uint32_t e) { return &b->ents[e].aux; }
int64_t ak_kbag_total(const ak_kbag_t *b) { return b->total; }
size_t ak_kbag_ngroups(const ak_kbag_t *b) { return b->live_groups; }
uint32_t ak_kbag_gcap(const ak_kbag_t *b) { return b->ngroups; }

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
            *eid = e;
            return 0;
        }
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
