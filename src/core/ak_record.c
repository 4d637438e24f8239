/* ak_record.c - schemas and change-record batches. */
#include "ak_record.h"

#include "ak_alloc.h"

#include <string.h>

void ak_schema_free(ak_schema_t *s)
{
    for (int i = 0; i < s->n; i++)
        ak_free(s->cols[i].name);
    ak_free(s->cols);
    s->cols = NULL;
    s->n = 0;
}

int ak_schema_find(const ak_schema_t *s, const char *name, size_t len)
{
    for (int i = 0; i < s->n; i++)
        if (strlen(s->cols[i].name) == len && memcmp(s->cols[i].name, name, len) == 0)
            return i;
    return -1;
}

int ak_schema_add(ak_schema_t *s, const char *name, ak_type_t t, bool required, bool key)
{
    if (s->n >= AK_MAX_COLUMNS)
        return -1;
    ak_column_t *nc = ak_realloc(s->cols, sizeof *nc * (size_t)(s->n + 1));
    if (!nc)
        return -1;
    s->cols = nc;
    char *nm = ak_strdup(name);
    if (!nm)
        return -1;
    s->cols[s->n++] = (ak_column_t){nm, t, required, key};
    return 0;
}

bool ak_schema_keyed(const ak_schema_t *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->cols[i].key)
            return true;
    return false;
}

int ak_schema_copy(ak_schema_t *dst, const ak_schema_t *src)
{
    dst->n = 0;
    dst->cols = NULL;
    for (int i = 0; i < src->n; i++)
        if (ak_schema_add(dst, src->cols[i].name, src->cols[i].type, src->cols[i].required, src->cols[i].key)) {
            ak_schema_free(dst);
            return -1;
        }
    return 0;
}

void ak_batch_init(ak_batch_t *b, const ak_schema_t *schema)
{
    memset(b, 0, sizeof *b);
    b->schema = schema;
    ak_arena_init(&b->arena, 256 * 1024);
}

void ak_batch_free(ak_batch_t *b)
{
    ak_free(b->recs);
    ak_arena_free(&b->arena);
    b->recs = NULL;
    b->n = b->cap = 0;
}

void ak_batch_clear(ak_batch_t *b)
{
    b->n = 0;
    ak_arena_reset(&b->arena);
}

ak_rec_t *ak_batch_add(ak_batch_t *b, ak_op_t op, uint64_t pos)
{
    if (AK_GROW(b->recs, b->cap, b->n + 1))
        return NULL;
    int nc = b->schema->n;
    ak_val_t *v = ak_arena_alloc(&b->arena, sizeof *v * (size_t)(nc ? nc : 1));
    if (!v)
        return NULL;
    for (int i = 0; i < nc; i++)
        v[i] = ak_v_null();
    ak_rec_t *r = &b->recs[b->n++];
    r->op = (uint8_t)op;
    r->flags = 0;
    r->present = 0;
    r->pos = pos;
    r->ts_ms = 0;
    r->v = v;
    return r;
}

void ak_batch_pop(ak_batch_t *b)
{
    if (b->n)
        b->n--;
}
