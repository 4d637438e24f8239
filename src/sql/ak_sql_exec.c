/* ak_sql_exec.c - runs a plan bottom-up, materialising each operator.
 *
 * Intermediate strings live in the execution's arena; the final result
 * copies its strings into its own arena.  Scans of in-memory tables and CTE
 * results are borrowed, not copied.  Hash joins build on the right input;
 * grouping hashes the evaluated keys; sorting is a stable index sort with
 * NULLS LAST unless asked otherwise.  Window functions are in
 * ak_sql_window.c.
 */
#include "ak_sql_plan.h"

#include "ak_alloc.h"
#include "ak_hidx.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- relations ----------------------------------------------------------- */

ak_rel_t *ak_rel_new(int ncols, const char *const *names, const ak_type_t *types)
{
    ak_rel_t *r = ak_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->ncols = ncols;
    ak_arena_init(&r->arena, 64 * 1024);
    r->names = ak_calloc((size_t)(ncols ? ncols : 1), sizeof *r->names);
    r->types = ak_calloc((size_t)(ncols ? ncols : 1), sizeof *r->types);
    if (!r->names || !r->types)
        goto fail;
    for (int i = 0; i < ncols; i++) {
        r->names[i] = ak_strdup(names && names[i] ? names[i] : "");
        if (!r->names[i])
            goto fail;
        r->types[i] = types ? types[i] : AK_NULL;
    }
    return r;
fail:
    ak_rel_free(r);
    return NULL;
}

void ak_rel_free(ak_rel_t *r)
{
    if (!r)
        return;
    for (int i = 0; r->names && i < r->ncols; i++)
        ak_free(r->names[i]);
    ak_free(r->names);
    ak_free(r->types);
    ak_free(r->v);
    ak_arena_free(&r->arena);
    ak_free(r);
}

int ak_rel_reserve(ak_rel_t *r, size_t rows)
{
    if (rows <= r->cap)
        return 0;
    size_t nc = r->cap ? r->cap : 16;
    while (nc < rows)
        nc *= 2;
    size_t w = (size_t)(r->ncols ? r->ncols : 1);
    ak_val_t *nv = ak_realloc(r->v, sizeof *nv * w * nc);
    if (!nv)
        return -1;
    r->v = nv;
    r->cap = nc;
    return 0;
}

ak_val_t *ak_rel_push(ak_rel_t *r)
{
    if (r->nrows == r->cap && ak_rel_reserve(r, r->nrows + 1))
        return NULL;
    ak_val_t *row = r->v + r->nrows * (size_t)r->ncols;
    for (int i = 0; i < r->ncols; i++)
        row[i] = ak_v_null();
    r->nrows++;
    return row;
}

ak_val_t *ak_rel_push_n(ak_rel_t *r, size_t n)
{
    if (r->nrows + n > r->cap && ak_rel_reserve(r, r->nrows + n))
        return NULL;
    ak_val_t *rows = r->v + r->nrows * (size_t)r->ncols;
    r->nrows += n;
    return rows;
}

int ak_rel_own_strings(ak_rel_t *r)
{
    size_t total = 0;
    for (size_t i = 0; i < r->nrows * (size_t)r->ncols; i++)
        if (r->v[i].type == AK_TEXT)
            total += r->v[i].n;
    /* one block for all bytes; identical pointers are copied once */
    char *blk = total ? ak_arena_alloc_bytes(&r->arena, total) : NULL;
    if (total && !blk)
        return -1;
    size_t at = 0;
    const char *last_src = NULL;
    uint32_t last_n = 0;
    const char *last_dst = NULL;
    for (size_t i = 0; i < r->nrows * (size_t)r->ncols; i++) {
        ak_val_t *v = &r->v[i];
        if (v->type != AK_TEXT || v->n == 0) {
            if (v->type == AK_TEXT)
                v->s = "";
            continue;
        }
        if (v->s == last_src && v->n == last_n) {
            v->s = last_dst;
            continue;
        }
        memcpy(blk + at, v->s, v->n);
        last_src = v->s;
        last_n = v->n;
        v->s = blk + at;
        last_dst = v->s;
        at += v->n;
    }
    return 0;
}

int ak_rel_find(const ak_rel_t *r, const char *name)
{
    for (int i = 0; i < r->ncols; i++)
        if (strcasecmp(r->names[i], name) == 0)
            return i;
    return -1;
}

static ak_rel_t *rel_for(const ak_plan_t *p)
{
    return ak_rel_new(p->ncols, (const char *const *)p->names, p->types);
}

/* ---- helpers ------------------------------------------------------------- */

static uint64_t hash_vals(const ak_val_t *v, int n)
{
    uint64_t h = 0x2545f4914f6cdd1dULL;
    for (int i = 0; i < n; i++)
        h = ak_hash_mix(h, ak_val_hash(&v[i], 0x9e37));
    return h;
}

static bool vals_eq(const ak_val_t *a, const ak_val_t *b, int n)
{
    for (int i = 0; i < n; i++)
        if (!ak_val_eq_group(&a[i], &b[i]))
            return false;
    return true;
}

static int oom(ak_exec_t *x) { return ak_err_nomem(x->err); }

/* ---- sorting ------------------------------------------------------------- */

typedef struct sortctx {
    const ak_val_t *keys;
    const ak_sortkey_t *spec;
    int nkeys;
} sortctx_t;

static int cmp_rows(const void *pa, const void *pb, void *arg)
{
    const sortctx_t *c = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const ak_val_t *ka = c->keys + a * (size_t)c->nkeys, *kb = c->keys + b * (size_t)c->nkeys;
    for (int i = 0; i < c->nkeys; i++) {
        bool na = ka[i].type == AK_NULL, nb = kb[i].type == AK_NULL;
        if (na || nb) {
            if (na && nb)
                continue;
            int r = na ? 1 : -1; /* NULLS LAST */
            return c->spec[i].nulls_first ? -r : r;
        }
        int r = ak_val_cmp(&ka[i], &kb[i]);
        if (r)
            return c->spec[i].desc ? -r : r;
    }
    return (a > b) - (a < b);
}

int ak_sort_rows(ak_exec_t *x, const ak_rel_t *in, const ak_sortkey_t *keys, int nkeys, size_t *perm)
{
    size_t n = in->nrows;
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    if (n < 2 || nkeys == 0)
        return 0;
    ak_val_t *kv = ak_malloc(sizeof *kv * n * (size_t)nkeys);
    if (!kv)
        return oom(x);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < nkeys; k++)
            if (ak_expr_eval(keys[k].expr, ak_rel_row(in, i), &x->cx, &kv[i * (size_t)nkeys + (size_t)k])) {
                ak_free(kv);
                return -1;
            }
    sortctx_t c = {kv, keys, nkeys};
    /* input often arrives sorted already (a window over a window's output) */
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = cmp_rows(&perm[i - 1], &perm[i], &c) < 0;
    if (!sorted)
        qsort_r(perm, n, sizeof *perm, cmp_rows, &c);
    ak_free(kv);
    return 0;
}

/* ---- operators ----------------------------------------------------------- */

static int exec_filter(ak_exec_t *x, const ak_plan_t *p, const ak_rel_t *in, ak_rel_t *out)
{
    for (size_t i = 0; i < in->nrows; i++) {
        const ak_val_t *row = ak_rel_row(in, i);
        int t = ak_expr_true(p->pred, row, &x->cx);
        if (t < 0)
            return -1;
        if (!t)
            continue;
        ak_val_t *o = ak_rel_push_n(out, 1);
        if (!o)
            return oom(x);
        memcpy(o, row, sizeof *o * (size_t)in->ncols);
    }
    return 0;
}

static int exec_project(ak_exec_t *x, const ak_plan_t *p, const ak_rel_t *in, ak_rel_t *out)
{
    if (ak_rel_reserve(out, in->nrows))
        return oom(x);
    ak_val_t *o = ak_rel_push_n(out, in->nrows);
    for (size_t i = 0; i < in->nrows; i++, o += p->ncols) {
        const ak_val_t *row = ak_rel_row(in, i);
        for (int k = 0; k < p->ncols; k++)
            if (ak_expr_eval(p->exprs[k], row, &x->cx, &o[k]))
                return -1;
    }
    return 0;
}

static int emit_join(ak_exec_t *x, ak_rel_t *out, const ak_val_t *l, int nl, const ak_val_t *r, int nr)
{
    ak_val_t *o = ak_rel_push_n(out, 1);
    if (!o)
        return oom(x);
    if (l)
        memcpy(o, l, sizeof *o * (size_t)nl);
    else
        for (int i = 0; i < nl; i++)
            o[i] = ak_v_null();
    if (r)
        memcpy(o + nl, r, sizeof *o * (size_t)nr);
    else
        for (int i = 0; i < nr; i++)
            o[nl + i] = ak_v_null();
    return 0;
}

static int exec_join(ak_exec_t *x, const ak_plan_t *p, const ak_rel_t *L, const ak_rel_t *R, ak_rel_t *out)
{
    int nl = L->ncols, nr = R->ncols, nk = p->nkeys;
    bool keep_left = p->join == JOIN_LEFT || p->join == JOIN_FULL;
    bool keep_right = p->join == JOIN_RIGHT || p->join == JOIN_FULL;
    int rc = -1;
    ak_val_t *rk = NULL, *lk = NULL, *tmp = NULL;
    bool *matched = NULL;
    ak_hidx_t h = {0};
    if (keep_right && !(matched = ak_calloc(R->nrows ? R->nrows : 1, sizeof *matched)))
        return oom(x);
    if (p->residual && !(tmp = ak_malloc(sizeof *tmp * (size_t)(nl + nr ? nl + nr : 1))))
        goto nomem;
    if (nk) {
        if (!(rk = ak_malloc(sizeof *rk * (R->nrows ? R->nrows : 1) * (size_t)nk)) ||
            !(lk = ak_malloc(sizeof *lk * (size_t)nk)) || ak_hidx_init(&h, R->nrows))
            goto nomem;
        for (size_t j = 0; j < R->nrows; j++) {
            ak_val_t *k = rk + j * (size_t)nk;
            bool null = false;
            for (int i = 0; i < nk; i++) {
                if (ak_expr_eval(p->rkeys[i], ak_rel_row(R, j), &x->cx, &k[i]))
                    goto done;
                null |= k[i].type == AK_NULL;
            }
            if (!null && ak_hidx_insert(&h, hash_vals(k, nk), (uint32_t)j))
                goto nomem;
        }
    }
    for (size_t i = 0; i < L->nrows; i++) {
        const ak_val_t *lrow = ak_rel_row(L, i);
        bool any = false;
        if (nk) {
            bool null = false;
            for (int k = 0; k < nk; k++) {
                if (ak_expr_eval(p->lkeys[k], lrow, &x->cx, &lk[k]))
                    goto done;
                null |= lk[k].type == AK_NULL;
            }
            if (!null) {
                uint64_t hv = hash_vals(lk, nk);
                for (size_t s = ak_hidx_first(&h, hv); ak_hidx_more(&h, s); s = ak_hidx_next(&h, s)) {
                    if (h.h[s] != hv || h.v[s] == AK_HIDX_DEAD)
                        continue;
                    size_t j = h.v[s];
                    if (!vals_eq(lk, rk + j * (size_t)nk, nk))
                        continue;
                    const ak_val_t *rrow = ak_rel_row(R, j);
                    if (p->residual) {
                        memcpy(tmp, lrow, sizeof *tmp * (size_t)nl);
                        memcpy(tmp + nl, rrow, sizeof *tmp * (size_t)nr);
                        int t = ak_expr_true(p->residual, tmp, &x->cx);
                        if (t < 0)
                            goto done;
                        if (!t)
                            continue;
                    }
                    if (emit_join(x, out, lrow, nl, rrow, nr))
                        goto done;
                    any = true;
                    if (matched)
                        matched[j] = true;
                }
            }
        } else {
            for (size_t j = 0; j < R->nrows; j++) {
                const ak_val_t *rrow = ak_rel_row(R, j);
                if (p->residual) {
                    memcpy(tmp, lrow, sizeof *tmp * (size_t)nl);
                    memcpy(tmp + nl, rrow, sizeof *tmp * (size_t)nr);
                    int t = ak_expr_true(p->residual, tmp, &x->cx);
                    if (t < 0)
                        goto done;
                    if (!t)
                        continue;
                }
                if (emit_join(x, out, lrow, nl, rrow, nr))
                    goto done;
                any = true;
                if (matched)
                    matched[j] = true;
            }
        }
        if (!any && keep_left && emit_join(x, out, lrow, nl, NULL, nr))
            goto done;
    }
    if (keep_right)
        for (size_t j = 0; j < R->nrows; j++)
            if (!matched[j] && emit_join(x, out, NULL, nl, ak_rel_row(R, j), nr))
                goto done;
    rc = 0;
    goto done;
nomem:
    oom(x);
done:
    ak_hidx_free(&h);
    ak_free(rk);
    ak_free(lk);
    ak_free(tmp);
    ak_free(matched);
    return rc;
}

/* DISTINCT aggregates: a set of (group, value) pairs per call */
typedef struct dset {
    ak_hidx_t h;
    uint32_t *gid;
    ak_val_t *val;
    size_t n, cap;
} dset_t;

static int dset_add(dset_t *d, uint32_t g, const ak_val_t *v, bool *fresh)
{
    uint64_t hv = ak_hash_mix(ak_val_hash(v, 77), g);
    for (size_t s = ak_hidx_first(&d->h, hv); ak_hidx_more(&d->h, s); s = ak_hidx_next(&d->h, s))
        if (d->h.h[s] == hv && d->gid[d->h.v[s]] == g && ak_val_eq_group(&d->val[d->h.v[s]], v)) {
            *fresh = false;
            return 0;
        }
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 64;
        uint32_t *ng = ak_realloc(d->gid, sizeof *ng * nc);
        if (!ng)
            return -1;
        d->gid = ng;
        ak_val_t *nv = ak_realloc(d->val, sizeof *nv * nc);
        if (!nv)
            return -1;
        d->val = nv;
        d->cap = nc;
    }
    d->gid[d->n] = g;
    d->val[d->n] = *v;
    if (ak_hidx_insert(&d->h, hv, (uint32_t)d->n))
        return -1;
    d->n++;
    *fresh = true;
    return 0;
}

static int exec_agg(ak_exec_t *x, const ak_plan_t *p, const ak_rel_t *in, ak_rel_t *out)
{
    int ng = p->ngroups, na = p->naggs;
    int rc = -1;
    ak_hidx_t h = {0};
    ak_aggstate_t *st = NULL;
    size_t ngroups = 0, cap = 0;
    dset_t *ds = NULL;
    ak_val_t *key = ak_malloc(sizeof *key * (size_t)(ng ? ng : 1));
    ak_val_t args[8];
    if (!key || ak_hidx_init(&h, 1024))
        goto nomem;
    if (na && !(ds = ak_calloc((size_t)na, sizeof *ds)))
        goto nomem;
    /* group keys live in `out` (first ng columns); states in st */
    for (size_t i = 0; i <= in->nrows; i++) {
        size_t g;
        const ak_val_t *row = NULL;
        if (i == in->nrows) {
            if (!(p->scalar_agg && ngroups == 0))
                break;
            g = (size_t)-1; /* create the single group of an empty scalar aggregate */
        } else {
            row = ak_rel_row(in, i);
            for (int k = 0; k < ng; k++)
                if (ak_expr_eval(p->groups[k], row, &x->cx, &key[k]))
                    goto done;
            g = (size_t)-1;
            uint64_t hv = hash_vals(key, ng);
            for (size_t s = ak_hidx_first(&h, hv); ak_hidx_more(&h, s); s = ak_hidx_next(&h, s))
                if (h.h[s] == hv && vals_eq(key, ak_rel_row(out, h.v[s]), ng)) {
                    g = h.v[s];
                    break;
                }
            if (g == (size_t)-1 && ak_hidx_insert(&h, hv, (uint32_t)ngroups))
                goto nomem;
        }
        if (g == (size_t)-1) {
            ak_val_t *o = ak_rel_push(out);
            if (!o)
                goto nomem;
            if (row)
                memcpy(o, key, sizeof *key * (size_t)ng);
            if (ngroups == cap) {
                size_t nc = cap ? cap * 2 : 256;
                ak_aggstate_t *ns = ak_realloc(st, sizeof *ns * nc * (size_t)(na ? na : 1));
                if (!ns)
                    goto nomem;
                st = ns;
                cap = nc;
            }
            for (int a = 0; a < na; a++)
                ak_agg_init(&p->aggs[a], &st[ngroups * (size_t)na + (size_t)a]);
            g = ngroups++;
        }
        if (!row)
            break;
        for (int a = 0; a < na; a++) {
            const ak_aggcall_t *c = &p->aggs[a];
            if (c->filter) {
                int t = ak_expr_true(c->filter, row, &x->cx);
                if (t < 0)
                    goto done;
                if (!t)
                    continue;
            }
            for (int k = 0; k < c->nargs && k < 8; k++)
                if (ak_expr_eval(c->args[k], row, &x->cx, &args[k]))
                    goto done;
            if (c->distinct) {
                if (args[0].type == AK_NULL)
                    continue;
                bool fresh;
                if (dset_add(&ds[a], (uint32_t)g, &args[0], &fresh))
                    goto nomem;
                if (!fresh)
                    continue;
            }
            if (ak_agg_step(c, &st[g * (size_t)na + (size_t)a], args, &x->cx))
                goto done;
        }
    }
    for (size_t g = 0; g < ngroups; g++) {
        ak_val_t *o = ak_rel_row(out, g);
        for (int a = 0; a < na; a++)
            if (ak_agg_final(&p->aggs[a], &st[g * (size_t)na + (size_t)a], &x->cx, &o[ng + a]))
                goto done;
    }
    rc = 0;
    goto done;
nomem:
    oom(x);
done:
    for (size_t g = 0; st && g < ngroups; g++)
        for (int a = 0; a < na; a++)
            ak_agg_release(&st[g * (size_t)na + (size_t)a]);
    for (int a = 0; ds && a < na; a++) {
        ak_hidx_free(&ds[a].h);
        ak_free(ds[a].gid);
        ak_free(ds[a].val);
    }
    ak_free(ds);
    ak_free(st);
    ak_free(key);
    ak_hidx_free(&h);
    return rc;
}

static int exec_sort(ak_exec_t *x, const ak_plan_t *p, const ak_rel_t *in, ak_rel_t *out)
{
    size_t *perm = ak_malloc(sizeof *perm * (in->nrows ? in->nrows : 1));
    if (!perm || ak_rel_reserve(out, in->nrows)) {
        ak_free(perm);
        return oom(x);
    }
    if (ak_sort_rows(x, in, p->keys, p->nkeys_sort, perm)) {
        ak_free(perm);
        return -1;
    }
    ak_val_t *o = ak_rel_push_n(out, in->nrows);
    for (size_t i = 0; i < in->nrows; i++, o += in->ncols)
        memcpy(o, ak_rel_row(in, perm[i]), sizeof(ak_val_t) * (size_t)in->ncols);
    ak_free(perm);
    return 0;
}

/* Row multiset operations: counts per distinct row of the right input. */
static int exec_distinct_rows(ak_exec_t *x, const ak_rel_t *in, ak_rel_t *out)
{
    ak_hidx_t h = {0};
    if (ak_hidx_init(&h, in->nrows))
        return oom(x);
    int nc = in->ncols;
    for (size_t i = 0; i < in->nrows; i++) {
        const ak_val_t *row = ak_rel_row(in, i);
        uint64_t hv = hash_vals(row, nc);
        bool dup = false;
        for (size_t s = ak_hidx_first(&h, hv); ak_hidx_more(&h, s) && !dup; s = ak_hidx_next(&h, s))
            dup = h.h[s] == hv && vals_eq(row, ak_rel_row(out, h.v[s]), nc);
        if (dup)
            continue;
        ak_val_t *o = ak_rel_push(out);
        if (!o || ak_hidx_insert(&h, hv, (uint32_t)(out->nrows - 1))) {
            ak_hidx_free(&h);
            return oom(x);
        }
        memcpy(o, row, sizeof *o * (size_t)nc);
    }
    ak_hidx_free(&h);
    return 0;
}

static int exec_setop(ak_exec_t *x, const ak_plan_t *p, const ak_rel_t *L, const ak_rel_t *R, ak_rel_t *out)
{
    int nc = p->ncols;
    if (p->setop == SETOP_UNION) {
        ak_rel_t *tmp = p->all ? out : rel_for(p);
        if (!tmp || ak_rel_reserve(tmp, L->nrows + R->nrows)) {
            if (tmp != out)
                ak_rel_free(tmp);
            return oom(x);
        }
        for (size_t i = 0; i < L->nrows; i++)
            memcpy(ak_rel_push(tmp), ak_rel_row(L, i), sizeof(ak_val_t) * (size_t)nc);
        for (size_t i = 0; i < R->nrows; i++)
            memcpy(ak_rel_push(tmp), ak_rel_row(R, i), sizeof(ak_val_t) * (size_t)nc);
        if (p->all)
            return 0;
        int rc = exec_distinct_rows(x, tmp, out);
        ak_rel_free(tmp);
        return rc;
    }
    /* EXCEPT / INTERSECT: count the right side's rows */
    ak_hidx_t h = {0};
    size_t *cnt = ak_calloc(R->nrows ? R->nrows : 1, sizeof *cnt);
    ak_rel_t *left = NULL;
    int rc = -1;
    if (!cnt || ak_hidx_init(&h, R->nrows))
        goto nomem;
    for (size_t j = 0; j < R->nrows; j++) {
        const ak_val_t *row = ak_rel_row(R, j);
        uint64_t hv = hash_vals(row, nc);
        size_t found = (size_t)-1;
        for (size_t s = ak_hidx_first(&h, hv); ak_hidx_more(&h, s) && found == (size_t)-1; s = ak_hidx_next(&h, s))
            if (h.h[s] == hv && vals_eq(row, ak_rel_row(R, h.v[s]), nc))
                found = h.v[s];
        if (found == (size_t)-1) {
            if (ak_hidx_insert(&h, hv, (uint32_t)j))
                goto nomem;
            cnt[j] = 1;
        } else {
            cnt[found]++;
        }
    }
    left = p->all ? NULL : rel_for(p);
    if (!p->all) {
        if (!left || exec_distinct_rows(x, L, left))
            goto nomem;
        L = left;
    }
    for (size_t i = 0; i < L->nrows; i++) {
        const ak_val_t *row = ak_rel_row(L, i);
        uint64_t hv = hash_vals(row, nc);
        size_t found = (size_t)-1;
        for (size_t s = ak_hidx_first(&h, hv); ak_hidx_more(&h, s) && found == (size_t)-1; s = ak_hidx_next(&h, s))
            if (h.h[s] == hv && vals_eq(row, ak_rel_row(R, h.v[s]), nc))
                found = h.v[s];
        bool in_right = found != (size_t)-1 && cnt[found] > 0;
        bool keep = p->setop == SETOP_EXCEPT ? !in_right : in_right;
        if (in_right && p->all)
            cnt[found]--;
        if (keep) {
            ak_val_t *o = ak_rel_push(out);
            if (!o)
                goto nomem;
            memcpy(o, row, sizeof *o * (size_t)nc);
        }
    }
    rc = 0;
    goto done;
nomem:
    oom(x);
done:
    ak_rel_free(left);
    ak_free(cnt);
    ak_hidx_free(&h);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------ */

int ak_exec_plan(ak_exec_t *x, const ak_plan_t *p, ak_rel_t **res, bool *owned)
{
    ak_rel_t *in = NULL, *in2 = NULL, *out = NULL;
    bool own_in = false, own_in2 = false;
    int rc = -1;
    *owned = true;
    switch (p->kind) {
    case P_SCAN:
        if (p->table.rel) {
            *res = (ak_rel_t *)p->table.rel;
            *owned = false;
            return 0;
        }
        if (!p->table.scan)
            return ak_errf(x->err, AK_E_INTERNAL, "table %s has no rows and no scan", p->table_name);
        if (p->table.scan(p->table.ctx, p->preds, p->npreds, res, x->err))
            return -1;
        if (AK_GROW(x->keep, x->cap_keep, x->nkeep + 1)) {
            ak_rel_free(*res);
            return oom(x);
        }
        x->keep[x->nkeep++] = *res;
        *owned = false;
        return 0;
    case P_CTE: {
        ak_sql_cte_slot_t *slot = &x->st->ctes[p->cte];
        if (!slot->result) {
            ak_rel_t *r;
            bool o;
            if (ak_exec_plan(x, slot->plan, &r, &o))
                return -1;
            if (!o) {
                /* a CTE that is a bare scan: borrow */
                *res = r;
                *owned = false;
                return 0;
            }
            slot->result = r;
        }
        *res = slot->result;
        *owned = false;
        return 0;
    }
    case P_ONE_ROW:
        out = rel_for(p);
        if (!out || !ak_rel_push(out)) {
            ak_rel_free(out);
            return oom(x);
        }
        *res = out;
        return 0;
    default: break;
    }
    if (ak_exec_plan(x, p->child, &in, &own_in))
        return -1;
    if (p->right && ak_exec_plan(x, p->right, &in2, &own_in2))
        goto done;
    out = rel_for(p);
    if (!out) {
        oom(x);
        goto done;
    }
    switch (p->kind) {
    case P_FILTER: rc = exec_filter(x, p, in, out); break;
    case P_PROJECT: rc = exec_project(x, p, in, out); break;
    case P_JOIN: rc = exec_join(x, p, in, in2, out); break;
    case P_AGG: rc = exec_agg(x, p, in, out); break;
    case P_WINDOW: rc = ak_exec_window(x, p, in, out); break;
    case P_SORT: rc = exec_sort(x, p, in, out); break;
    case P_DISTINCT: rc = exec_distinct_rows(x, in, out); break;
    case P_SETOP: rc = exec_setop(x, p, in, in2, out); break;
    case P_LIMIT: {
        size_t from = (size_t)p->offset, to = in->nrows;
        if (p->limit >= 0 && from + (size_t)p->limit < to)
            to = from + (size_t)p->limit;
        rc = 0;
        for (size_t i = from; i < to; i++) {
            ak_val_t *o = ak_rel_push(out);
            if (!o) {
                rc = oom(x);
                break;
            }
            memcpy(o, ak_rel_row(in, i), sizeof *o * (size_t)p->ncols);
        }
        break;
    }
    case P_TRIM:
        rc = ak_rel_reserve(out, in->nrows) ? oom(x) : 0;
        for (size_t i = 0; rc == 0 && i < in->nrows; i++)
            memcpy(ak_rel_push(out), ak_rel_row(in, i), sizeof(ak_val_t) * (size_t)p->ncols);
        break;
    default: rc = ak_errf(x->err, AK_E_INTERNAL, "unknown plan node %d", p->kind); break;
    }
done:
    if (own_in)
        ak_rel_free(in);
    if (own_in2)
        ak_rel_free(in2);
    if (rc) {
        ak_rel_free(out);
        return -1;
    }
    *res = out;
    return 0;
}

/* ---- subqueries ---------------------------------------------------------- */

int ak_exec_subquery(ak_exec_t *x, const ak_expr_t *e, const ak_rel_t **res)
{
    if (!x->cache) {
        x->ncache = x->st->nsubqs;
        x->cache = ak_calloc((size_t)(x->ncache ? x->ncache : 1), sizeof *x->cache);
        if (!x->cache)
            return oom(x);
    }
    struct ak_subq_cache *c = &x->cache[e->ref];
    if (!c->rel) {
        ak_rel_t *r;
        bool owned;
        if (ak_exec_plan(x, e->subq, &r, &owned))
            return -1;
        if (!owned || e->kind == EX_IN_SUBQ) {
            /* copy (borrowed) or sort (IN probes by binary search) */
            ak_rel_t *cp = rel_for(e->subq);
            if (!cp || ak_rel_reserve(cp, r->nrows)) {
                ak_rel_free(cp);
                if (owned)
                    ak_rel_free(r);
                return oom(x);
            }
            size_t *perm = ak_malloc(sizeof *perm * (r->nrows ? r->nrows : 1));
            ak_sortkey_t key = {NULL, false, false};
            ak_expr_t col0 = {.kind = EX_COL, .col = 0, .type = e->subq->types[0]};
            key.expr = &col0;
            if (!perm || ak_sort_rows(x, r, &key, e->kind == EX_IN_SUBQ ? 1 : 0, perm)) {
                ak_free(perm);
                ak_rel_free(cp);
                if (owned)
                    ak_rel_free(r);
                return perm ? -1 : oom(x);
            }
            for (size_t i = 0; i < r->nrows; i++)
                memcpy(ak_rel_push(cp), ak_rel_row(r, perm[i]), sizeof(ak_val_t) * (size_t)r->ncols);
            ak_free(perm);
            if (owned)
                ak_rel_free(r);
            r = cp;
        }
        c->rel = r;
    }
    *res = c->rel;
    return 0;
}
