/* ice_tool.c - drives the Iceberg table layer for tests/lake/test_iceberg.py
 * (built by `make unit` as build/asan/tests/lake_ice_tool).
 *
 *   ice_tool WH NS TABLE create [CATALOG_DB]
 *   ice_tool WH NS TABLE commit SPECFILE     add/col/remove/op lines, tab-separated
 *   ice_tool WH NS TABLE expire OLDER_MS KEEP_LAST KEEP_METADATA
 *   ice_tool WH NS TABLE drop HORIZON        ISO-8601 timestamp
 *   ice_tool WH NS TABLE scan [SNAPSHOT]     one line per live file
 *   ice_tool WH NS TABLE path DAY|\N COUNTRY|\N
 *
 * The table is the seed product's shape: session_id BIGINT (required),
 * user_id, session_start TIMESTAMP, country, events BIGINT, revenue DOUBLE;
 * partition_key [session_start_date, country]; sorted by session_start.
 * SPECFILE lines:  op <append|overwrite|delete|replace>
 *                  add <content> <path> <rows> <bytes> <eq ids a,b|-> <day|\N> <country|\N>
 *                  col <field id> <values> <nulls> <bytes> <min|\N> <max|\N>   (for the last add)
 *                  remove <path>
 * Integers and timestamps (µs) are decimal; doubles as strtod reads them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ak_alloc.h"
#include "ak_iceberg.h"
#include "ak_time.h"

static const char *const PKEY[] = {"session_start_date", "country"};
static const char *const SKEY[] = {"session_start"};
static const ak_type_t TYPES[] = {AK_INT, AK_TEXT, AK_TIMESTAMP, AK_TEXT, AK_INT, AK_DOUBLE};

static int fail(const ak_err_t *err)
{
    fprintf(stderr, "ice_tool: %s\n", err->msg);
    return 1;
}

static ak_val_t parse_val(ak_type_t t, const char *s)
{
    if (strcmp(s, "\\N") == 0)
        return ak_v_null();
    switch (t) {
    case AK_INT: return ak_v_int(strtoll(s, NULL, 10));
    case AK_DOUBLE: return ak_v_double(strtod(s, NULL));
    case AK_TIMESTAMP: return ak_v_ts(strtoll(s, NULL, 10));
    default: return ak_v_text(s, strlen(s));
    }
}

static void print_stats(const char *what, const ak_ice_stats_t *st)
{
    printf("%s snapshot %" PRId64 " manifest_bytes %" PRId64 " list_bytes %" PRId64 " metadata_bytes %" PRId64
           " manifests_written %d manifests_carried %d files_deleted %" PRId64 " expired %" PRId64 "\n",
           what, st->snapshot_id, st->manifest_bytes, st->list_bytes, st->metadata_bytes, st->manifests_written,
           st->manifests_carried, st->files_deleted, st->snapshots_expired);
}

#define MAXF 256

static int commit(ak_ice_table_t *t, const char *spec, ak_err_t *err)
{
    FILE *f = fopen(spec, "r");
    if (!f) {
        fprintf(stderr, "ice_tool: cannot open %s\n", spec);
        return 1;
    }
    static ak_ice_file_t add[MAXF];
    static ak_val_t part[MAXF][2];
    static ak_ice_colstat_t cols[MAXF][8];
    static int32_t eq[MAXF][4];
    static char *rm[MAXF];
    char *strs[MAXF * 24];
    size_t nadd = 0, nrm = 0, nstr = 0;
    ak_ice_commit_t c = {0};
    char line[8192];
    int rc = 1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *fld[16];
        int n = 0;
        for (char *p = line, *tok; n < 16 && (tok = strsep(&p, "\t"));)
            fld[n++] = tok;
        for (int i = 0; i < n; i++) /* values borrowed by the descriptors live until the commit */
            fld[i] = strs[nstr++] = ak_strdup(fld[i]);
        if (n >= 2 && strcmp(fld[0], "op") == 0) {
            c.op = strcmp(fld[1], "append") == 0      ? AK_ICE_OP_APPEND
                   : strcmp(fld[1], "overwrite") == 0 ? AK_ICE_OP_OVERWRITE
                   : strcmp(fld[1], "delete") == 0    ? AK_ICE_OP_DELETE
                   : strcmp(fld[1], "replace") == 0   ? AK_ICE_OP_REPLACE
                                                      : AK_ICE_OP_AUTO;
        } else if (n >= 8 && strcmp(fld[0], "add") == 0 && nadd < MAXF) {
            ak_ice_file_t *a = &add[nadd];
            memset(a, 0, sizeof *a);
            a->content = (ak_ice_content_t)atoi(fld[1]);
            a->path = fld[2];
            a->rows = strtoll(fld[3], NULL, 10);
            a->bytes = strtoll(fld[4], NULL, 10);
            int ne = 0;
            for (char *p = fld[5], *tok; strcmp(fld[5], "-") != 0 && ne < 4 && (tok = strsep(&p, ","));)
                eq[nadd][ne++] = atoi(tok);
            a->equality_ids = eq[nadd];
            a->n_equality = ne;
            int64_t day = 0;
            part[nadd][0] = strcmp(fld[6], "\\N") == 0 || ak_date_parse(fld[6], strlen(fld[6]), &day)
                                ? ak_v_null()
                                : ak_v_date(day);
            part[nadd][1] = parse_val(AK_TEXT, fld[7]);
            a->partition = part[nadd];
            a->cols = cols[nadd];
            nadd++;
        } else if (n >= 7 && strcmp(fld[0], "col") == 0 && nadd > 0 && add[nadd - 1].ncols < 8) {
            ak_ice_file_t *a = &add[nadd - 1];
            ak_ice_colstat_t *s = &cols[nadd - 1][a->ncols++];
            int id = atoi(fld[1]);
            ak_type_t ty = id >= 1 && id <= 6 ? TYPES[id - 1] : AK_TEXT;
            s->field_id = id;
            s->values = strtoll(fld[2], NULL, 10);
            s->nulls = strtoll(fld[3], NULL, 10);
            s->bytes = strtoll(fld[4], NULL, 10);
            s->min = parse_val(ty, fld[5]);
            s->max = parse_val(ty, fld[6]);
            s->has_bounds = s->min.type != AK_NULL && s->max.type != AK_NULL;
        } else if (n >= 2 && strcmp(fld[0], "remove") == 0 && nrm < MAXF) {
            rm[nrm++] = fld[1];
        }
    }
    fclose(f);
    c.add = add;
    c.n_add = nadd;
    c.remove = (const char *const *)rm;
    c.n_remove = nrm;
    ak_ice_stats_t st;
    if (ak_ice_commit(t, &c, &st, err) == 0) {
        print_stats("commit", &st);
        rc = 0;
    } else {
        fail(err);
    }
    for (size_t i = 0; i < nstr; i++)
        ak_free(strs[i]);
    return rc;
}

static int scan(ak_ice_table_t *t, int64_t snap, ak_err_t *err)
{
    ak_ice_scan_t *sc;
    if (ak_ice_scan(t, snap, &sc, err))
        return fail(err);
    for (size_t i = 0; i < ak_ice_scan_count(sc); i++) {
        const ak_ice_live_t *l = ak_ice_scan_file(sc, i);
        char day[AK_TS_BUF] = "\\N";
        if (l->f.partition[0].type != AK_NULL)
            ak_date_format(l->f.partition[0].i, day);
        printf("%d\t%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%s\t%.*s\n", (int)l->f.content, l->f.path, l->f.rows,
               l->f.bytes, l->seq, day, l->f.partition[1].type == AK_NULL ? 2 : (int)l->f.partition[1].n,
               l->f.partition[1].type == AK_NULL ? "\\N" : l->f.partition[1].s);
    }
    ak_ice_scan_free(sc);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: ice_tool WH NS TABLE create|commit|expire|drop|scan|path ...\n");
        return 2;
    }
    const char *cmd = argv[4];
    ak_schema_t s = {0};
    static const char *const names[] = {"session_id", "user_id", "session_start", "country", "events", "revenue"};
    for (int i = 0; i < 6; i++)
        ak_schema_add(&s, names[i], TYPES[i], i == 0, i == 0);
    const char *db = getenv("ICE_CATALOG_DB");
    ak_ice_opts_t o = {.warehouse = argv[1], .ns = argv[2], .name = argv[3], .schema = &s, .partition_key = PKEY,
                       .n_partition_key = 2, .sort_key = SKEY, .n_sort_key = 1, .catalog_db = db};
    ak_ice_table_t *t;
    ak_err_t err;
    if (ak_ice_open(&o, &t, &err)) {
        ak_schema_free(&s);
        return fail(&err);
    }
    int rc = 0;
    ak_ice_stats_t st;
    if (strcmp(cmd, "create") == 0) {
        printf("table %s snapshot %" PRId64 "\n", ak_ice_dir(t), ak_ice_current_snapshot(t));
    } else if (strcmp(cmd, "commit") == 0 && argc > 5) {
        rc = commit(t, argv[5], &err);
    } else if (strcmp(cmd, "expire") == 0 && argc > 7) {
        if (ak_ice_expire(t, strtoll(argv[5], NULL, 10), atoi(argv[6]), atoi(argv[7]), &st, &err))
            rc = fail(&err);
        else
            print_stats("expire", &st);
    } else if (strcmp(cmd, "drop") == 0 && argc > 5) {
        int64_t us;
        if (ak_ts_parse(argv[5], strlen(argv[5]), &us)) {
            fprintf(stderr, "ice_tool: bad timestamp %s\n", argv[5]);
            rc = 2;
        } else if (ak_ice_drop_before(t, us, &st, &err)) {
            rc = fail(&err);
        } else {
            print_stats("drop", &st);
        }
    } else if (strcmp(cmd, "scan") == 0) {
        rc = scan(t, argc > 5 ? strtoll(argv[5], NULL, 10) : -1, &err);
    } else if (strcmp(cmd, "path") == 0 && argc > 6) {
        int64_t day;
        ak_val_t p[2] = {ak_date_parse(argv[5], strlen(argv[5]), &day) ? ak_v_null() : ak_v_date(day),
                         parse_val(AK_TEXT, argv[6])};
        ak_buf_t b = AK_BUF_INIT;
        if (ak_ice_data_path(t, p, &b, &err))
            rc = fail(&err);
        else
            printf("%s\n", b.data);
        ak_buf_free(&b);
    } else {
        fprintf(stderr, "ice_tool: unknown command or missing arguments: %s\n", cmd);
        rc = 2;
    }
    ak_ice_close(t);
    ak_schema_free(&s);
    return rc;
}
