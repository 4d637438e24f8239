/* ak_ice_catalog.c - where a table's current metadata file is recorded, and
 * the atomic swap of it.
 *
 * File system: metadata/v<N>.metadata.json is written under a unique
 * temporary name, fsynced, then link(2)ed to its final name, which fails if
 * another writer created v<N> first: that writer won and this one stops
 * with nothing changed.  version-hint.text (N) is then replaced atomically;
 * a reader that finds it stale walks forward to the last v<N>.
 *
 * SQLite: a table shaped like the Iceberg JDBC catalog's `iceberg_tables`;
 * metadata files are named <NNNNN>-<uuid>.metadata.json (never reused) and
 * the swap is an UPDATE guarded by the previous location, so a concurrent
 * commit makes it change no row.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ak_alloc.h"
#include "ak_ice_int.h"
#include "ak_io.h"
#include "ak_sqlite.h"

#define META_MAX (64u << 20)

static const char CREATE_SQL[] =
    "CREATE TABLE IF NOT EXISTS iceberg_tables ("
    "catalog_name VARCHAR(255) NOT NULL, table_namespace VARCHAR(255) NOT NULL, "
    "table_name VARCHAR(255) NOT NULL, metadata_location VARCHAR(1000), "
    "previous_metadata_location VARCHAR(1000), "
    "PRIMARY KEY (catalog_name, table_namespace, table_name))";

/* Writes data to a fresh temporary file beside path and fsyncs it. */
static int write_tmp(const char *path, const void *p, size_t n, char *tmp, size_t cap, ak_err_t *err)
{
    char u[37];
    ak__ice_uuid(u);
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) : 0;
    if ((size_t)snprintf(tmp, cap, "%.*s/.%s.%s.tmp", (int)dl, path, slash ? slash + 1 : path, u) >= cap)
        return ak_errf(err, AK_E_USAGE, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return ak_errf(err, AK_E_IO, "cannot create %s: %s", tmp, strerror(errno));
    if (ak_io_write_all(fd, p, n) || ak_io_fsync(fd)) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return ak_errf(err, AK_E_IO, "cannot write %s: %s", tmp, strerror(e));
    }
    close(fd);
    return 0;
}

static void meta_dir(const ak_ice_table_t *t, char *out, size_t cap) { snprintf(out, cap, "%s/metadata", t->dir); }

static int lost_race(ak_err_t *err, const ak_ice_table_t *t, const char *how)
{
    ak_errf(err, AK_E_STATE, "table %s.%s was changed by another writer (%s); nothing was committed: reload and retry",
            t->ns, t->name, how);
    err->retriable = true;
    return -1;
}

static int publish_fs(ak_ice_table_t *t, const char *json, size_t n, ak_err_t *err)
{
    char md[AK_ICE_MAX_PATH], path[AK_ICE_MAX_PATH + 64], tmp[AK_ICE_MAX_PATH + 128], hint[AK_ICE_MAX_PATH + 32];
    meta_dir(t, md, sizeof md);
    int64_t v = t->version + 1;
    snprintf(path, sizeof path, "%s/v%" PRId64 ".metadata.json", md, v);
    if (write_tmp(path, json, n, tmp, sizeof tmp, err))
        return -1;
    ak_io_crash_point("ice-commit");
    if (link(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        if (e == EEXIST)
            return lost_race(err, t, "its metadata version exists already");
        return ak_errf(err, AK_E_IO, "cannot link %s: %s", path, strerror(e));
    }
    unlink(tmp);
    if (ak_io_fsync_dir(md, err))
        return -1;
    /* the version is committed; the hint only speeds readers up */
    char num[24];
    int hn = snprintf(num, sizeof num, "%" PRId64, v);
    snprintf(hint, sizeof hint, "%s/version-hint.text", md);
    if (write_tmp(hint, num, (size_t)hn, tmp, sizeof tmp, err))
        return -1;
    if (rename(tmp, hint) != 0) {
        int e = errno;
        unlink(tmp);
        return ak_errf(err, AK_E_IO, "cannot replace %s: %s", hint, strerror(e));
    }
    if (ak_io_fsync_dir(md, err))
        return -1;
    char *mf = ak_strdup(path);
    if (!mf)
        return ak_err_nomem(err);
    ak_free(t->meta_file);
    t->meta_file = mf;
    t->version = v;
    return 0;
}

static int db_open(const ak_ice_table_t *t, sqlite3 **db, ak_err_t *err)
{
    if (ak_db_open(t->catalog_db, db, err))
        return ak_err_prefix(err, "Iceberg catalog %s", t->catalog_db);
    if (ak_db_exec(*db, CREATE_SQL, err)) {
        ak_db_close(*db);
        return ak_err_prefix(err, "Iceberg catalog %s", t->catalog_db);
    }
    return 0;
}

static int publish_sql(ak_ice_table_t *t, const char *json, size_t n, ak_err_t *err)
{
    char md[AK_ICE_MAX_PATH], path[AK_ICE_MAX_PATH + 80], tmp[AK_ICE_MAX_PATH + 160], u[37];
    meta_dir(t, md, sizeof md);
    ak__ice_uuid(u);
    int64_t v = t->version + 1;
    snprintf(path, sizeof path, "%s/%05" PRId64 "-%s.metadata.json", md, v, u);
    if (write_tmp(path, json, n, tmp, sizeof tmp, err))
        return -1;
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ak_errf(err, AK_E_IO, "cannot rename %s: %s", tmp, strerror(e));
    }
    if (ak_io_fsync_dir(md, err)) {
        unlink(path);
        return -1;
    }
    sqlite3 *db;
    if (db_open(t, &db, err)) {
        unlink(path);
        return -1;
    }
    char *uri = ak_malloc(strlen(path) + 8), *old = t->meta_file ? ak_malloc(strlen(t->meta_file) + 8) : NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (!uri || (t->meta_file && !old)) {
        ak_err_nomem(err);
        goto out;
    }
    sprintf(uri, "file://%s", path);
    if (old)
        sprintf(old, "file://%s", t->meta_file);
    const char *sql = old ? "UPDATE iceberg_tables SET metadata_location = ?1, previous_metadata_location = ?2 "
                            "WHERE catalog_name = ?3 AND table_namespace = ?4 AND table_name = ?5 "
                            "AND metadata_location = ?2"
                          : "INSERT OR IGNORE INTO iceberg_tables (catalog_name, table_namespace, table_name, "
                            "metadata_location, previous_metadata_location) VALUES (?3, ?4, ?5, ?1, NULL)";
    if (ak_db_prepare(db, sql, &st, err))
        goto out;
    sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
    if (old)
        sqlite3_bind_text(st, 2, old, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, t->catalog_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, t->ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, t->name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        ak_db_fail(db, err, "committing to the Iceberg catalog");
        goto out;
    }
    if (sqlite3_changes(db) != 1) {
        lost_race(err, t, "the catalog's metadata location moved");
        goto out;
    }
    char *mf = ak_strdup(path);
    if (!mf) {
        ak_err_nomem(err);
        goto out;
    }
    ak_free(t->meta_file);
    t->meta_file = mf;
    t->version = v;
    rc = 0;
out:
    if (st)
        sqlite3_finalize(st);
    ak_db_close(db);
    if (rc)
        unlink(path);
    ak_free(uri);
    ak_free(old);
    return rc;
}

int ak__ice_publish(ak_ice_table_t *t, int64_t *bytes, ak_err_t *err)
{
    ak_buf_t b = AK_BUF_INIT;
    if (ak__ice_meta_write(t, &b)) {
        ak_buf_free(&b);
        return ak_err_nomem(err);
    }
    int rc = t->catalog_db ? publish_sql(t, b.data, b.len, err) : publish_fs(t, b.data, b.len, err);
    if (!rc && bytes)
        *bytes = (int64_t)b.len;
    ak_buf_free(&b);
    return rc;
}

/* ---- finding and reading the current metadata */

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The current version N of a file-system table; 0 if there is none. */
static int64_t fs_version(const ak_ice_table_t *t)
{
    char md[AK_ICE_MAX_PATH], p[AK_ICE_MAX_PATH + 64];
    meta_dir(t, md, sizeof md);
    int64_t v = 0;
    snprintf(p, sizeof p, "%s/version-hint.text", md);
    FILE *f = fopen(p, "re");
    if (f) {
        char buf[32] = {0};
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        char *end;
        long long x = strtoll(buf, &end, 10);
        if (n && end != buf && x > 0)
            v = x;
    }
    if (v == 0) {
        DIR *d = opendir(md);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            long long x;
            char tail[32];
            if (sscanf(de->d_name, "v%lld%31s", &x, tail) == 2 && strcmp(tail, ".metadata.json") == 0 && x > v)
                v = x;
        }
        if (d)
            closedir(d);
    }
    /* a writer may have died between the link and the hint */
    for (;;) {
        snprintf(p, sizeof p, "%s/v%" PRId64 ".metadata.json", md, v + 1);
        if (!file_exists(p))
            break;
        v++;
    }
    return v;
}

/* The current metadata file's absolute path (NULL if the table does not
 * exist) and version. */
static int locate(const ak_ice_table_t *t, char **path, int64_t *version, ak_err_t *err)
{
    *path = NULL;
    *version = 0;
    if (!t->catalog_db) {
        int64_t v = fs_version(t);
        if (v == 0)
            return 0;
        char p[AK_ICE_MAX_PATH + 64];
        snprintf(p, sizeof p, "%s/metadata/v%" PRId64 ".metadata.json", t->dir, v);
        if (!(*path = ak_strdup(p)))
            return ak_err_nomem(err);
        *version = v;
        return 0;
    }
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (db_open(t, &db, err))
        return -1;
    if (ak_db_prepare(db, "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ?1 "
                          "AND table_namespace = ?2 AND table_name = ?3", &st, err))
        goto out;
    sqlite3_bind_text(st, 1, t->catalog_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, t->ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, t->name, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT) {
        const char *loc = ak__ice_local((const char *)sqlite3_column_text(st, 0));
        if (!(*path = ak_strdup(loc))) {
            ak_err_nomem(err);
            goto out;
        }
        const char *base = strrchr(loc, '/');
        long long x = 0;
        if (base && sscanf(base + 1, "%lld-", &x) == 1 && x > 0)
            *version = x;
        else
            *version = 1;
    } else if (s != SQLITE_ROW && s != SQLITE_DONE) {
        ak_db_fail(db, err, "reading the Iceberg catalog");
        goto out;
    }
    rc = 0;
out:
    if (st)
        sqlite3_finalize(st);
    ak_db_close(db);
    return rc;
}

static int read_file(const char *path, char **out, size_t *n, ak_err_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return ak_errf(err, AK_E_IO, "cannot open %s: %s", path, strerror(errno));
    if (fstat(fd, &st) || st.st_size > META_MAX) {
        close(fd);
        return ak_errf(err, AK_E_IO, "%s: unreadable or larger than %u bytes", path, META_MAX);
    }
    char *b = ak_malloc((size_t)st.st_size + 1);
    if (!b) {
        close(fd);
        return ak_err_nomem(err);
    }
    ssize_t got = st.st_size ? ak_io_pread(fd, b, (size_t)st.st_size, 0) : 0;
    close(fd);
    if (got != st.st_size) {
        ak_free(b);
        return ak_errf(err, AK_E_IO, "cannot read %s", path);
    }
    b[got] = '\0';
    *out = b;
    *n = (size_t)got;
    return 0;
}

/* Loads the current metadata into t; AK_E_NOTFOUND if there is none. */
int ak__ice_reload(ak_ice_table_t *t, ak_err_t *err)
{
    char *path, *json = NULL;
    int64_t v;
    size_t n = 0;
    if (locate(t, &path, &v, err))
        return -1;
    if (!path)
        return ak_errf(err, AK_E_NOTFOUND, "Iceberg table %s.%s does not exist in %s", t->ns, t->name,
                       t->catalog_db ? t->catalog_db : t->dir);
    int rc = read_file(path, &json, &n, err);
    if (!rc && (rc = ak__ice_meta_read(t, json, n, err)))
        ak_err_prefix(err, "%s", path);
    ak_free(json);
    if (rc) {
        ak_free(path);
        return -1;
    }
    ak_free(t->meta_file);
    t->meta_file = path;
    t->version = v;
    return 0;
}
