/* ak_src_file.c - the `file` connector: inputs read from files on disk.
 *
 * Config {"path": DIR}.  Input resource R is DIR/R.ndjson, .jsonl, .json or
 * .csv, or a directory DIR/R/ whose such files are read in name order (a
 * `files` map in the config may point a resource anywhere).  NDJSON lines are
 * plain rows or Debezium envelopes, detected per line; CSV has a header row.
 *
 * The position is the file and the byte offset after the last complete line
 * consumed, so a later run reads only what was appended.  A trailing line
 * without its newline is waited for (a writer may be mid-line) unless the
 * caller drains, or it stays unchanged for a second.  A file that became
 * shorter than the position is an error, not a silent re-read.
 */
#include "ak_source.h"

#include "ak_alloc.h"
#include "ak_cfg.h"
#include "ak_csv.h"
#include "ak_io.h"
#include "ak_json_decode.h"
#include "ak_log.h"
#include "ak_time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (4u << 20)
#define MAX_LINE (64u << 20)

static const ak_option_t file_opts[] = {
    {"path", AK_OPT_STRING, NULL, "Directory holding the inputs' files (an input's `resource` names a file or subdirectory in it).",
     AK_OPT_REQUIRED | AK_OPT_NONEMPTY | AK_OPT_ENV},
    {"format", AK_OPT_ENUM, "auto", "`auto` picks by file extension (`.csv` is CSV, anything else NDJSON).", 0, "auto|ndjson|csv"},
    {"files", AK_OPT_MAP, NULL, "Map from resource name to a file or directory (relative to `path`), for names that differ.", 0},
};

typedef struct file_src {
    const ak_input_t *in;
    char *base;          /* connection path */
    char *target;        /* resolved file, or directory in dir mode */
    bool dir_mode;
    int force_fmt;       /* 0 auto, 1 ndjson, 2 csv */
    /* position */
    char *file;          /* current file name (relative to its directory) */
    uint64_t offset;
    uint64_t line;       /* lines consumed in the current file */
    /* open file */
    int fd;
    bool csv;
    ak_json_decoder_t *jd;
    ak_csv_decoder_t *cd;
    char *hdr;           /* the CSV header line, kept with dead letters */
    size_t hdr_n;
    char *buf;
    size_t cap, have;    /* buf holds file bytes [offset, offset + have) */
    bool skipping;       /* inside an over-long record: discard up to its newline */
    int64_t tail_since;  /* when an unterminated tail was first seen */
    uint64_t tail_len;
} file_src_t;

static const char *const exts[] = {".ndjson", ".jsonl", ".json", ".csv"};

static bool has_ext(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < 4; i++) {
        size_t e = strlen(exts[i]);
        if (n > e && strcmp(name + n - e, exts[i]) == 0)
            return true;
    }
    return false;
}

static char *join(const char *a, const char *b)
{
    if (b[0] == '/')
        return ak_strdup(b);
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = ak_malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static int file_test(const ak_conn_t *c, ak_buf_t *report, ak_err_t *err)
{
    char *path = NULL;
    if (ak_opt_str(&c->opts, "path", &path, err))
        return -1;
    DIR *d = opendir(path);
    if (!d) {
        int e = errno;
        ak_errf(err, AK_E_CONNECT, "cannot open directory %s: %s", path, strerror(e));
        ak_free(path);
        return -1;
    }
    ak_buf_printf(report, "directory %s is readable; resources found:", path);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (has_ext(de->d_name)) {
            ak_buf_printf(report, "%s %s", n ? "," : "", de->d_name);
            n++;
        }
    }
    closedir(d);
    if (!n)
        ak_buf_puts(report, " none yet (files named RESOURCE.ndjson, .jsonl or .csv)");
    ak_free(path);
    return 0;
}

/* Resolves the input's resource to a file or directory. */
static int resolve(file_src_t *s, const ak_conn_t *c, ak_err_t *err)
{
    const char *res = s->in->resource;
    const ak_cfg_node_t *files = c->opts.map ? ak_cfg_get(c->opts.map, "files") : NULL;
    struct stat sb;
    if (files && files->kind == AK_CFG_MAP) {
        const ak_cfg_node_t *f = ak_cfg_get(files, res);
        if (f && f->kind == AK_CFG_SCALAR) {
            s->target = join(s->base, f->text);
            if (!s->target)
                return ak_err_nomem(err);
            if (stat(s->target, &sb) != 0)
                return ak_errf(err, AK_E_NOTFOUND, "input `%s`: %s (from the connection's `files` map): %s", s->in->name,
                               s->target, strerror(errno));
            s->dir_mode = S_ISDIR(sb.st_mode);
            return 0;
        }
    }
    char *found = NULL;
    int nfound = 0;
    for (size_t i = 0; i <= 4; i++) {
        char name[1024];
        snprintf(name, sizeof name, "%s%s", res, i < 4 ? exts[i] : "");
        char *p = join(s->base, name);
        if (!p) {
            ak_free(found);
            return ak_err_nomem(err);
        }
        if (stat(p, &sb) == 0 && (i < 4 ? S_ISREG(sb.st_mode) : S_ISDIR(sb.st_mode))) {
            if (!found) {
                found = p;
                s->dir_mode = i == 4;
                p = NULL;
            }
            nfound++;
        }
        ak_free(p);
    }
    if (!found)
        return ak_errf(err, AK_E_NOTFOUND,
                       "input `%s`: no file for resource `%s` in %s (looked for %s.ndjson, %s.jsonl, %s.json, %s.csv "
                       "and a directory %s/)",
                       s->in->name, res, s->base, res, res, res, res, res);
    if (nfound > 1)
        ak_log_warn(s->in->name, "several files match resource `%s` in %s; reading %s", res, s->base, found);
    s->target = found;
    return 0;
}

/* Lists the data files of a directory, sorted. */
static int list_dir(const char *dir, char ***names, size_t *n, ak_err_t *err)
{
    struct dirent **ents = NULL;
    int k = scandir(dir, &ents, NULL, alphasort);
    if (k < 0)
        return ak_errf(err, AK_E_IO, "cannot list %s: %s", dir, strerror(errno));
    *names = ak_calloc((size_t)(k ? k : 1), sizeof **names);
    *n = 0;
    int rc = *names ? 0 : ak_err_nomem(err);
    for (int i = 0; i < k; i++) {
        if (rc == 0 && ents[i]->d_name[0] != '.' && has_ext(ents[i]->d_name)) {
            (*names)[*n] = ak_strdup(ents[i]->d_name);
            if (!(*names)[*n])
                rc = ak_err_nomem(err);
            else
                (*n)++;
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ak_free(v[i]);
    ak_free(v);
}

static const char *cur_path(file_src_t *s, char *buf, size_t cap)
{
    if (s->dir_mode)
        snprintf(buf, cap, "%s/%s", s->target, s->file);
    else
        snprintf(buf, cap, "%s", s->target);
    return buf;
}

static void close_file(file_src_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    ak_json_decoder_free(s->jd);
    ak_csv_decoder_free(s->cd);
    ak_free(s->hdr);
    s->jd = NULL;
    s->cd = NULL;
    s->hdr = NULL;
    s->have = 0;
    s->tail_since = 0;
}

static ssize_t read_at(int fd, char *p, size_t n, uint64_t off) { return ak_io_pread(fd, p, n, off); }

/* Opens the current file at s->offset, reading a CSV header if needed. */
static int open_file(file_src_t *s, ak_err_t *err)
{
    char path[4096];
    cur_path(s, path, sizeof path);
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0)
        return ak_errf(err, AK_E_IO, "input `%s`: cannot open %s: %s", s->in->name, path, strerror(errno));
    struct stat sb;
    if (fstat(s->fd, &sb) != 0)
        return ak_errf(err, AK_E_IO, "cannot stat %s: %s", path, strerror(errno));
    if ((uint64_t)sb.st_size < s->offset)
        return ak_errf(err, AK_E_STATE,
                       "input `%s`: %s is now %lld bytes, shorter than the %" PRIu64
                       " bytes already read: it was truncated or replaced. Files are read as append-only logs; "
                       "to read everything again from the start use `akili run reset`",
                       s->in->name, path, (long long)sb.st_size, s->offset);
    size_t n = strlen(path);
    bool is_csv = s->force_fmt == 2 || (s->force_fmt == 0 && n > 4 && strcmp(path + n - 4, ".csv") == 0);
    if (s->in->format == AK_FORMAT_CSV)
        is_csv = true;
    else if (s->in->format == AK_FORMAT_NDJSON || s->in->format == AK_FORMAT_DEBEZIUM)
        is_csv = false;
    s->csv = is_csv;
    if (!is_csv)
        return ak_json_decoder_new(&s->in->schema, &s->jd, err);
    /* the header is the first record of the file */
    char hdr[65536];
    ssize_t r = read_at(s->fd, hdr, sizeof hdr, 0);
    if (r < 0) {
        ak_errf(err, AK_E_IO, "cannot read %s: %s", path, strerror(errno));
        err->retriable = true;
        return -1;
    }
    size_t len = ak_csv_record_len(hdr, (size_t)r, (size_t)r < sizeof hdr);
    if (r == 0)
        return 0; /* empty file: the header comes later */
    if (len == 0)
        return ak_errf(err, AK_E_PARSE, "input `%s`: %s: the CSV header line is longer than 64 KiB or incomplete",
                       s->in->name, path);
    if (ak_csv_decoder_new(&s->in->schema, hdr, len, &s->cd, err))
        return ak_err_prefix(err, "input `%s`: %s", s->in->name, path);
    s->hdr_n = len;
    while (s->hdr_n && (hdr[s->hdr_n - 1] == '\n' || hdr[s->hdr_n - 1] == '\r'))
        s->hdr_n--;
    if (!(s->hdr = ak_memdup(hdr, s->hdr_n)))
        return ak_err_nomem(err);
    if (s->offset == 0) {
        s->offset = len;
        s->line = 1;
    }
    return 0;
}

static int parse_position(file_src_t *s, const char *pos, ak_err_t *err)
{
    ak_cfg_doc_t *doc;
    if (ak_cfg_parse("position", pos, strlen(pos), &doc, err))
        return -1;
    const ak_cfg_node_t *root = ak_cfg_root(doc), *f = root ? ak_cfg_get(root, "file") : NULL,
                        *o = root ? ak_cfg_get(root, "offset") : NULL, *l = root ? ak_cfg_get(root, "line") : NULL;
    int rc = 0;
    int64_t off = 0, line = 0;
    if (!o || ak_cfg_int(o, "offset", &off, err) || (l && ak_cfg_int(l, "line", &line, err)) || off < 0) {
        rc = ak_errf(err, AK_E_CORRUPT, "unreadable file position `%s`", pos);
    } else {
        s->offset = (uint64_t)off;
        s->line = (uint64_t)line;
        if (f && f->kind == AK_CFG_SCALAR && !(s->file = ak_strdup(f->text)))
            rc = ak_err_nomem(err);
    }
    ak_cfg_free(doc);
    return rc;
}

static void file_close(ak_source_t *src)
{
    file_src_t *s = (file_src_t *)src;
    if (!s)
        return;
    close_file(s);
    ak_free(s->base);
    ak_free(s->target);
    ak_free(s->file);
    ak_free(s->buf);
    ak_free(s);
}

/* Moves to the next file in directory mode; returns 1 if there is one. */
static int next_file(file_src_t *s, ak_err_t *err)
{
    char **names = NULL;
    size_t n = 0;
    if (list_dir(s->target, &names, &n, err))
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!s->file || strcmp(names[i], s->file) > 0) {
            ak_free(s->file);
            s->file = names[i];
            names[i] = NULL;
            s->offset = 0;
            s->line = 0;
            rc = 1;
            break;
        }
    }
    free_names(names, n);
    return rc;
}

static int file_open(const ak_conn_t *c, const ak_input_t *in, const char *position, ak_source_t **out, ak_err_t *err)
{
    *out = NULL;
    file_src_t *s = ak_calloc(1, sizeof *s);
    if (!s)
        return ak_err_nomem(err);
    s->fd = -1;
    s->in = in;
    int fmt = 0;
    if (ak_opt_str(&c->opts, "path", &s->base, err) || ak_opt_enum(&c->opts, "format", &fmt, err))
        goto fail;
    s->force_fmt = fmt < 0 ? 0 : fmt;
    if (resolve(s, c, err))
        goto fail;
    if (position && parse_position(s, position, err))
        goto fail;
    if (s->dir_mode) {
        if (!s->file) {
            int r = next_file(s, err);
            if (r < 0)
                goto fail;
        }
    } else {
        const char *slash = strrchr(s->target, '/');
        const char *base = slash ? slash + 1 : s->target;
        if (s->file && strcmp(s->file, base) != 0)
            ak_log_warn(in->name, "the resource now resolves to %s (was %s); continuing at byte %" PRIu64, base,
                        s->file, s->offset);
        ak_free(s->file);
        if (!(s->file = ak_strdup(base))) {
            ak_err_nomem(err);
            goto fail;
        }
    }
    if (s->file && open_file(s, err))
        goto fail;
    *out = (ak_source_t *)s;
    return 0;
fail:
    file_close((ak_source_t *)s);
    return -1;
}

static int dead_letter(file_src_t *s, ak_dead_fn dead, void *ctx, uint64_t off, uint64_t line, const char *reason,
                       const char *raw, size_t n, ak_err_t *err)
{
    char pos[1200];
    snprintf(pos, sizeof pos, "%s line %" PRIu64 " (byte %" PRIu64 ")", s->file ? s->file : "?", line, off);
    ak_dead_t d = {pos, reason, raw, n, s->csv ? s->hdr : NULL, s->csv ? s->hdr_n : 0};
    return dead(ctx, &d, err);
}

/* Decodes one record; bad ones go to the dead letters.  -1: fatal. */
static int decode_one(file_src_t *s, const char *p, size_t n, ak_batch_t *out, ak_dead_fn dead, void *ctx,
                      ak_err_t *err)
{
    ak_err_t e2;
    ak_err_clear(&e2);
    int r;
    if (s->csv) {
        if (!s->cd)
            return 0;
        r = ak_csv_decode(s->cd, p, n, s->offset, out, &e2);
    } else {
        size_t k = n;
        if (k && p[k - 1] == '\n')
            k--;
        r = ak_json_decode(s->jd, p, k, s->offset, out, &e2);
    }
    if (r >= 0)
        return 0;
    if (e2.code == AK_E_NOMEM)
        return ak_err_nomem(err);
    size_t raw = n;
    while (raw && (p[raw - 1] == '\n' || p[raw - 1] == '\r'))
        raw--;
    return dead_letter(s, dead, ctx, s->offset, s->line + 1, e2.msg, p, raw, err);
}

static ak_poll_rc_t file_poll(ak_source_t *src, ak_batch_t *out, size_t max, bool drain, ak_dead_fn dead, void *ctx,
                              ak_err_t *err)
{
    file_src_t *s = (file_src_t *)src;
    size_t start = out->n;
    for (;;) {
        if (s->fd < 0) {
            if (!s->dir_mode || !s->file) {
                if (!s->dir_mode)
                    return AK_POLL_IDLE;
                int r = next_file(s, err);
                if (r < 0)
                    return AK_POLL_ERROR;
                if (r == 0)
                    return AK_POLL_IDLE;
            }
            if (open_file(s, err))
                return AK_POLL_ERROR;
        }
        if (s->csv && !s->cd) {
            /* CSV file that had no header yet: try again */
            close_file(s);
            if (open_file(s, err))
                return AK_POLL_ERROR;
            if (!s->cd)
                return AK_POLL_IDLE;
        }
        /* refill: buf holds [offset, offset+have) */
        if (s->have < s->cap || !s->buf) {
            if (!s->buf) {
                s->cap = READ_CHUNK;
                if (!(s->buf = ak_malloc(s->cap))) {
                    ak_err_nomem(err);
                    return AK_POLL_ERROR;
                }
            }
            ssize_t r = read_at(s->fd, s->buf + s->have, s->cap - s->have, s->offset + s->have);
            if (r < 0) {
                ak_errf(err, AK_E_IO, "input `%s`: read error: %s", s->in->name, strerror(errno));
                err->retriable = true;
                return AK_POLL_ERROR;
            }
            s->have += (size_t)r;
        }
        bool at_eof = s->have < s->cap;
        size_t at = 0;
        if (s->skipping) {
            const char *nl = memchr(s->buf, '\n', s->have);
            size_t k = nl ? (size_t)(nl - s->buf) + 1 : s->have;
            s->offset += k;
            at = k;
            if (nl) {
                s->skipping = false;
                s->line++;
            }
        }
        while (!s->skipping && at < s->have) {
            const char *p = s->buf + at;
            size_t left = s->have - at, len;
            if (s->csv) {
                len = ak_csv_record_len(p, left, false);
            } else {
                const char *nl = memchr(p, '\n', left);
                len = nl ? (size_t)(nl - p) + 1 : 0;
            }
            if (len == 0)
                break;
            if (decode_one(s, p, len, out, dead, ctx, err))
                return AK_POLL_ERROR;
            s->offset += len;
            s->line++;
            at += len;
            if (out->n - start >= max)
                break;
        }
        /* slide the unconsumed bytes down */
        memmove(s->buf, s->buf + at, s->have - at);
        s->have -= at;
        if (out->n - start >= max)
            return AK_POLL_MORE;
        if (!at_eof) {
            if (s->have == s->cap) {
                /* a single record larger than the buffer */
                if (s->cap >= MAX_LINE) {
                    /* keep its first KiB as evidence and skip the rest */
                    if (dead_letter(s, dead, ctx, s->offset, s->line + 1,
                                    "record longer than 64 MiB (only its first KiB is kept here)", s->buf, 1024, err))
                        return AK_POLL_ERROR;
                    s->offset += s->have;
                    s->have = 0;
                    s->skipping = true;
                    continue;
                }
                char *nb = ak_realloc(s->buf, s->cap * 2);
                if (!nb) {
                    ak_err_nomem(err);
                    return AK_POLL_ERROR;
                }
                s->buf = nb;
                s->cap *= 2;
            }
            continue;
        }
        /* at end of file */
        if (s->have) {
            bool take = drain;
            if (!take) {
                int64_t now = ak_mono_us();
                if (s->tail_since == 0 || s->tail_len != s->have) {
                    s->tail_since = now;
                    s->tail_len = s->have;
                } else if (now - s->tail_since > AK_US_PER_SEC) {
                    take = true;
                }
            }
            if (take) {
                if (decode_one(s, s->buf, s->have, out, dead, ctx, err))
                    return AK_POLL_ERROR;
                s->offset += s->have;
                s->line++;
                s->have = 0;
                s->tail_since = 0;
            }
        }
        if (s->dir_mode && s->have == 0) {
            /* finished this file: move on if a later one exists */
            char *cur = s->file ? ak_strdup(s->file) : NULL;
            uint64_t off = s->offset, line = s->line;
            int r = next_file(s, err);
            if (r < 0) {
                ak_free(cur);
                return AK_POLL_ERROR;
            }
            if (r == 1) {
                close_file(s);
                ak_free(cur);
                continue;
            }
            /* no later file: stay where we are */
            ak_free(s->file);
            s->file = cur;
            s->offset = off;
            s->line = line;
        }
        return AK_POLL_IDLE;
    }
}

static char *file_position(ak_source_t *src)
{
    file_src_t *s = (file_src_t *)src;
    ak_buf_t b = AK_BUF_INIT;
    ak_buf_puts(&b, "{\"file\": ");
    ak_buf_put_json_str(&b, s->file ? s->file : "", s->file ? strlen(s->file) : 0);
    ak_buf_printf(&b, ", \"offset\": %" PRIu64 ", \"line\": %" PRIu64 "}", s->offset, s->line);
    if (b.oom) {
        ak_buf_free(&b);
        return NULL;
    }
    return ak_buf_steal(&b);
}

static int file_commit(ak_source_t *src, const char *position, ak_err_t *err)
{
    (void)src;
    (void)position;
    (void)err;
    return 0; /* files need no acknowledgement */
}

const ak_source_ops_t ak_source_file = {
    AK_SOURCE_ABI,
    "file",
    "NDJSON (plain rows or Debezium envelopes) and CSV files in a directory",
    file_opts,
    sizeof file_opts / sizeof file_opts[0],
    true,
    file_test,
    file_open,
    file_poll,
    file_position,
    file_commit,
    file_close,
};
