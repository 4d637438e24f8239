/* ak_ckpt.c - checkpoint segments and manifests.
 *
 *   segment  seg-<seq>.dat:   "AKCKSEG1" u32 format u64 seq, then frames
 *                             u32 len, u32 crc32c(payload), payload; a
 *                             payload holds records: u8 op (1 put, 2 del,
 *                             3 clear: every earlier key of the section
 *                             starting with `key`), uvar section, uvar klen,
 *                             key, [uvar vlen, val]
 *   manifest ckpt-<seq>.meta: "AKCKMAN1" u32 format u32 body_len body
 *                             u32 crc32c(everything before); body: uvar seq,
 *                             svar created_us, uvar nsegs, nsegs x (uvar seq,
 *                             uvar bytes, uvar records), uvar meta_len, meta
 */
#include "ak_ckpt.h"

#include "ak_alloc.h"
#include "ak_awrite.h"
#include "ak_buf.h"
#include "ak_crc32c.h"
#include "ak_hidx.h"
#include "ak_io.h"
#include "ak_log.h"
#include "ak_ser.h"
#include "ak_thread.h"
#include "ak_time.h"
#include "ak_value.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int ak__mkdir_p(const char *path, ak_err_t *err);

#define SEG_MAGIC "AKCKSEG1"
#define MAN_MAGIC "AKCKMAN1"
#define SEG_HDR 20
#define FRAME_BYTES (256 * 1024)
#define MAX_SEGS 32
#define OP_PUT 1
#define OP_DEL 2
#define OP_CLEAR 3

typedef struct seginfo {
    uint64_t seq, bytes, records;
} seginfo_t;

/* A segment being written: frames of records. */
typedef struct writer {
    int fd;
    uint64_t bytes, records;
    ak_buf_t frame;
    const char *crash;        /* the crash point of each frame */
    bool async;               /* frames go to a writer thread while the next is filled */
    ak_awriter_t *aw;
} writer_t;

/* Merging a manifest's first segments into one, in the background: the
 * thread reads only immutable segment files and writes its own, so the
 * run never waits for a whole checkpoint once it has one. */
typedef struct merge {
    pthread_t th;
    bool started;             /* a thread to join */
    atomic_int done;          /* 0 running, 1 written, -1 failed */
    atomic_bool stop;
    seginfo_t *in;            /* the merged segments: a prefix of the manifest's */
    size_t nin;
    seginfo_t out;
    char why[400];
} merge_t;

struct ak_ckpt {
    char *dir, *tag;
    seginfo_t *segs;          /* the current manifest's segments */
    size_t nsegs, cap_segs;
    uint64_t seq;             /* the current manifest (0: none) */
    uint64_t next_seq;        /* above every file seen */
    /* a checkpoint being written */
    bool writing, full;
    uint64_t wseq;
    writer_t w;
    int64_t t0;
    merge_t merge;
    uint64_t merges;          /* merged segments adopted */
};

static void path_of(const ak_ckpt_t *c, char *out, size_t cap, const char *kind, uint64_t seq)
{
    snprintf(out, cap, "%s/%s-%016" PRIx64 ".%s", c->dir, kind, seq, strcmp(kind, "seg") ? "meta" : "dat");
}

/* A checkpoint file's name: `ckpt-<seq>.meta` (a manifest) or
 * `seg-<seq>.dat` (a segment), then *rest: "" or a suffix (.tmp, .corrupt).
 * Returns 'm', 's', or 0 for any other name. */
static char parse_name(const char *name, uint64_t *seq, const char **rest)
{
    char kind[8], ext[8];
    int used = 0;
    if (sscanf(name, "%4[a-z]-%16" SCNx64 ".%5[a-z]%n", kind, seq, ext, &used) != 3)
        return 0;
    *rest = name + used;
    if (strcmp(kind, "ckpt") == 0 && strcmp(ext, "meta") == 0)
        return 'm';
    return strcmp(kind, "seg") == 0 && strcmp(ext, "dat") == 0 ? 's' : 0;
}

/* Manifests and segments in the directory: the sequence numbers of the
 * manifests (descending) and the highest number of any file. */
static int scan(ak_ckpt_t *c, uint64_t **mans, size_t *nman, ak_err_t *err)
{
    *mans = NULL;
    *nman = 0;
    DIR *d = opendir(c->dir);
    if (!d)
        return ak_errf(err, AK_E_IO, "cannot read checkpoint directory %s: %s", c->dir, strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        uint64_t seq;
        const char *rest;
        char kind = parse_name(e->d_name, &seq, &rest);
        if (!kind || *rest)
            continue;
        if (seq >= c->next_seq)
            c->next_seq = seq + 1;
        if (kind == 'm') {
            if (AK_GROW(*mans, cap, *nman + 1)) {
                rc = ak_err_nomem(err);
                break;
            }
            (*mans)[(*nman)++] = seq;
        }
    }
    closedir(d);
    for (size_t i = 1; i < *nman; i++) /* descending; a handful of files */
        for (size_t j = i; j > 0 && (*mans)[j - 1] < (*mans)[j]; j--) {
            uint64_t t = (*mans)[j];
            (*mans)[j] = (*mans)[j - 1];
            (*mans)[j - 1] = t;
        }
    return rc;
}

int ak_ckpt_open(const char *dir, const char *tag, ak_ckpt_t **out, ak_err_t *err)
{
    *out = NULL;
    if (ak__mkdir_p(dir, err))
        return -1;
    ak_ckpt_t *c = ak_calloc(1, sizeof *c);
    if (!c || !(c->dir = ak_strdup(dir)) || !(c->tag = ak_strdup(tag ? tag : "checkpoint"))) {
        ak_ckpt_close(c);
        return ak_err_nomem(err);
    }
    c->w.fd = -1;
    c->w.crash = "ckpt-write";
    c->w.async = true;
    c->next_seq = 1;
    uint64_t *mans;
    size_t n;
    if (scan(c, &mans, &n, err)) {
        ak_ckpt_close(c);
        return -1;
    }
    ak_free(mans);
    *out = c;
    return 0;
}

static void merge_end(ak_ckpt_t *c, bool stop);

void ak_ckpt_close(ak_ckpt_t *c)
{
    if (!c)
        return;
    if (c->writing)
        ak_ckpt_abort(c);
    merge_end(c, true);
    ak_buf_free(&c->w.frame);
    ak_free(c->segs);
    ak_free(c->dir);
    ak_free(c->tag);
    ak_free(c);
}

uint64_t ak_ckpt_seq(const ak_ckpt_t *c) { return c->seq; }
uint64_t ak_ckpt_merges(const ak_ckpt_t *c) { return c->merges; }

uint64_t ak_ckpt_total_bytes(const ak_ckpt_t *c)
{
    uint64_t b = 0;
    for (size_t i = 0; i < c->nsegs; i++)
        b += c->segs[i].bytes;
    return b;
}

/* ---- loading ---- */

typedef struct rec {
    const uint8_t *k, *v;
    uint32_t section, kn, vn;
    bool del, dead, clear;
} rec_t;

typedef struct map {
    void *p;
    size_t n;
} map_t;

struct ak_ckpt_image {
    uint64_t seq;
    int64_t created_us;
    uint8_t *meta;
    size_t meta_n;
    map_t *maps;
    size_t nmaps;
    rec_t *recs;
    size_t nrecs, cap_recs, live;
    uint64_t bytes;
    seginfo_t *segs;
    size_t nsegs;
};

void ak_ckpt_image_free(ak_ckpt_image_t *img)
{
    if (!img)
        return;
    for (size_t i = 0; i < img->nmaps; i++)
        if (img->maps[i].p)
            munmap(img->maps[i].p, img->maps[i].n);
    ak_free(img->maps);
    ak_free(img->recs);
    ak_free(img->meta);
    ak_free(img->segs);
    ak_free(img);
}

uint64_t ak_ckpt_image_seq(const ak_ckpt_image_t *img) { return img->seq; }
int64_t ak_ckpt_image_created_us(const ak_ckpt_image_t *img) { return img->created_us; }
size_t ak_ckpt_image_records(const ak_ckpt_image_t *img) { return img->live; }
uint64_t ak_ckpt_image_bytes(const ak_ckpt_image_t *img) { return img->bytes; }
const void *ak_ckpt_image_meta(const ak_ckpt_image_t *img, size_t *n)
{
    *n = img->meta_n;
    return img->meta;
}

/* Reads a whole small file. */
static int slurp(const char *path, uint8_t **out, size_t *n, char *why, size_t wn)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(why, wn, "cannot read it: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    uint8_t *p = ak_malloc((size_t)sb.st_size + 1);
    ssize_t got = p ? read(fd, p, (size_t)sb.st_size) : -1;
    close(fd);
    if (got != sb.st_size) {
        ak_free(p);
        snprintf(why, wn, p ? "short read" : "out of memory");
        return -1;
    }
    *out = p;
    *n = (size_t)sb.st_size;
    return 0;
}

/* Parses and checks a manifest file into img (seq, created, segs, meta). */
static int read_manifest(ak_ckpt_t *c, uint64_t seq, ak_ckpt_image_t *img, char *why, size_t wn)
{
    char path[4300];
    path_of(c, path, sizeof path, "ckpt", seq);
    uint8_t *p;
    size_t n;
    if (slurp(path, &p, &n, why, wn))
        return -1;
    int rc = -1;
    if (n < 20 || memcmp(p, MAN_MAGIC, 8) != 0) {
        snprintf(why, wn, "not a checkpoint manifest (%zu bytes)", n);
        goto out;
    }
    uint32_t fmt = ak_le_get32(p + 8), blen = ak_le_get32(p + 12);
    if (fmt != AK_CKPT_FORMAT) {
        snprintf(why, wn, "format %u, this akili reads format %d", fmt, AK_CKPT_FORMAT);
        goto out;
    }
    if ((size_t)blen + 20 != n || ak_crc32c(0, p, 16 + (size_t)blen) != ak_le_get32(p + 16 + blen)) {
        snprintf(why, wn, "checksum mismatch (the file is damaged or was cut short)");
        goto out;
    }
    ak_rd_t r;
    ak_rd_init(&r, p + 16, blen);
    img->seq = ak_rd_uvar(&r);
    img->created_us = ak_rd_svar(&r);
    uint64_t ns = ak_rd_uvar(&r);
    if (r.bad || ns > 4096 || img->seq != seq) {
        snprintf(why, wn, "malformed manifest");
        goto out;
    }
    img->segs = ak_calloc(ns ? ns : 1, sizeof *img->segs);
    if (!img->segs) {
        snprintf(why, wn, "out of memory");
        goto out;
    }
    img->nsegs = (size_t)ns;
    for (size_t i = 0; i < ns; i++) {
        img->segs[i].seq = ak_rd_uvar(&r);
        img->segs[i].bytes = ak_rd_uvar(&r);
        img->segs[i].records = ak_rd_uvar(&r);
    }
    uint64_t mn = ak_rd_uvar(&r);
    const void *m = mn <= blen ? ak_rd_bytes(&r, (size_t)mn) : NULL;
    if (r.bad || !m || !ak_rd_done(&r)) {
        snprintf(why, wn, "malformed manifest");
        goto out;
    }
    if (!(img->meta = ak_malloc(mn ? (size_t)mn : 1))) {
        snprintf(why, wn, "out of memory");
        goto out;
    }
    memcpy(img->meta, m, (size_t)mn);
    img->meta_n = (size_t)mn;
    rc = 0;
out:
    ak_free(p);
    return rc;
}

static int add_rec(ak_ckpt_image_t *img, const rec_t *r)
{
    if (AK_GROW(img->recs, img->cap_recs, img->nrecs + 1))
        return -1;
    img->recs[img->nrecs++] = *r;
    return 0;
}

static void seg_name(const seginfo_t *si, char *out, size_t cap)
{
    snprintf(out, cap, "seg-%016" PRIx64 ".dat", si->seq);
}

/* Maps a segment whose size and header match its manifest entry. */
static int map_segment(const ak_ckpt_t *c, const seginfo_t *si, map_t *out, char *why, size_t wn)
{
    char path[4300], name[64];
    path_of(c, path, sizeof path, "seg", si->seq);
    seg_name(si, name, sizeof name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(why, wn, "segment %s: %s", name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if ((uint64_t)sb.st_size != si->bytes || si->bytes < SEG_HDR) {
        close(fd);
        snprintf(why, wn, "segment %s has %lld bytes, the manifest says %" PRIu64, name, (long long)sb.st_size,
                 si->bytes);
        return -1;
    }
    /* populated: every byte is read (checksums) and faulting page by page costs more */
    void *m = mmap(NULL, (size_t)si->bytes, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(why, wn, "cannot map segment %s: %s", name, strerror(errno));
        return -1;
    }
    *out = (map_t){m, (size_t)si->bytes};
    const uint8_t *p = m;
    if (memcmp(p, SEG_MAGIC, 8) != 0 || ak_le_get32(p + 8) != AK_CKPT_FORMAT || ak_le_get64(p + 12) != si->seq) {
        snprintf(why, wn, "segment %s: bad header", name);
        return -1;
    }
    return 0;
}

/* Calls fn for every record of a mapped segment, checking every frame and
 * the record count.  fn returns 0, or -1 having said why. */
typedef int (*seg_rec_fn)(void *ctx, const rec_t *r, char *why, size_t wn);
static int each_rec(const map_t *mp, const seginfo_t *si, seg_rec_fn fn, void *ctx, char *why, size_t wn)
{
    char name[64];
    seg_name(si, name, sizeof name);
    const uint8_t *p = (const uint8_t *)mp->p + SEG_HDR, *end = (const uint8_t *)mp->p + mp->n;
    uint64_t nrec = 0;
    while (p < end) {
        if (end - p < 8) {
            snprintf(why, wn, "segment %s: cut short", name);
            return -1;
        }
        uint32_t len = ak_le_get32(p), crc = ak_le_get32(p + 4);
        if ((uint64_t)(end - p - 8) < len || ak_crc32c(0, p + 8, len) != crc) {
            snprintf(why, wn, "segment %s: checksum mismatch at byte %lld", name, (long long)(p - (const uint8_t *)mp->p));
            return -1;
        }
        ak_rd_t r;
        ak_rd_init(&r, p + 8, len);
        while (!ak_rd_done(&r) && !r.bad) {
            rec_t x = {0};
            uint8_t op = ak_rd_u8(&r);
            uint64_t sec = ak_rd_uvar(&r), kn = ak_rd_uvar(&r);
            x.k = kn <= len ? ak_rd_bytes(&r, (size_t)kn) : NULL;
            x.kn = (uint32_t)kn;
            x.section = (uint32_t)sec;
            if (op == OP_PUT) {
                uint64_t vn = ak_rd_uvar(&r);
                x.v = vn <= len ? ak_rd_bytes(&r, (size_t)vn) : NULL;
                x.vn = (uint32_t)vn;
                if (!x.v)
                    r.bad = true;
            } else if (op == OP_DEL) {
                x.del = true;
            } else if (op == OP_CLEAR) {
                x.del = x.clear = true;
            } else {
                r.bad = true;
            }
            if (r.bad || !x.k || sec > UINT32_MAX)
                break;
            if (fn(ctx, &x, why, wn))
                return -1;
            nrec++;
        }
        if (r.bad) {
            snprintf(why, wn, "segment %s: malformed record", name);
            return -1;
        }
        p += 8 + len;
    }
    if (nrec != si->records) {
        snprintf(why, wn, "segment %s holds %" PRIu64 " records, the manifest says %" PRIu64, name, nrec, si->records);
        return -1;
    }
    return 0;
}

static int collect_rec(void *ctx, const rec_t *r, char *why, size_t wn)
{
    if (add_rec(ctx, r) == 0)
        return 0;
    snprintf(why, wn, "out of memory");
    return -1;
}

/* Maps a segment and appends its records. */
static int read_segment(ak_ckpt_t *c, const seginfo_t *si, ak_ckpt_image_t *img, char *why, size_t wn)
{
    map_t m = {0};
    int rc = map_segment(c, si, &m, why, wn);
    if (m.p)
        img->maps[img->nmaps++] = m;
    return rc ? rc : each_rec(&m, si, collect_rec, img, why, wn);
}

static uint64_t rec_hash(const rec_t *r) { return ak_hash_bytes(r->k, r->kn, r->section); }

static bool same_key(const rec_t *a, const rec_t *b)
{
    return a->section == b->section && a->kn == b->kn && memcmp(a->k, b->k, a->kn) == 0;
}

/* Whether clear record c covers record r: r's section, c's key a prefix of r's. */
static bool cleared_by(const rec_t *r, const rec_t *c)
{
    return r->section == c->section && r->kn >= c->kn && (!c->kn || memcmp(r->k, c->k, c->kn) == 0);
}

/* Each clear ends every earlier record under its prefix (rare: a holder
 * that had to write itself whole). */
static void apply_clears(ak_ckpt_image_t *img)
{
    for (size_t i = 0; i < img->nrecs; i++)
        if (img->recs[i].clear)
            for (size_t j = 0; j < i; j++)
                if (cleared_by(&img->recs[j], &img->recs[i]))
                    img->recs[j].dead = true;
}

/* Indexes the keys of records [from, nrecs) (clears aside); a later record
 * of a key ends the earlier one, whose index entry is marked dead. */
static int index_later(ak_ckpt_image_t *img, size_t from, ak_hidx_t *idx)
{
    if (ak_hidx_init(idx, img->nrecs - from))
        return -1;
    for (size_t i = from; i < img->nrecs; i++) {
        rec_t *r = &img->recs[i];
        if (r->clear)
            continue;
        uint64_t h = rec_hash(r);
        for (size_t s = ak_hidx_first(idx, h); ak_hidx_more(idx, s); s = ak_hidx_next(idx, s))
            if (idx->h[s] == h && idx->v[s] != AK_HIDX_DEAD && same_key(&img->recs[idx->v[s]], r)) {
                img->recs[idx->v[s]].dead = true;
                idx->v[s] = AK_HIDX_DEAD;
                break;
            }
        if (ak_hidx_insert(idx, h, (uint32_t)i))
            return -1;
    }
    return 0;
}

/* Whether an indexed later record names r's key. */
static bool named_later(const ak_ckpt_image_t *img, const ak_hidx_t *idx, const rec_t *r)
{
    uint64_t h = rec_hash(r);
    for (size_t s = ak_hidx_first(idx, h); ak_hidx_more(idx, s); s = ak_hidx_next(idx, s))
        if (idx->h[s] == h && idx->v[s] != AK_HIDX_DEAD && same_key(&img->recs[idx->v[s]], r))
            return true;
    return false;
}

/* Later records of a key replace earlier ones; deletions end them, and a
 * clear ends every earlier record of its section under its prefix.  The
 * whole segment's first `nbase` records have distinct keys (a whole
 * checkpoint writes each key once), so only the incremental segments' keys
 * are indexed and the base records are looked up in that smaller index. */
static int dedupe(ak_ckpt_image_t *img, size_t nbase)
{
    apply_clears(img);
    if (img->nrecs > nbase) {
        ak_hidx_t idx;
        int rc = index_later(img, nbase, &idx);
        for (size_t i = 0; i < nbase && rc == 0; i++)
            if (!img->recs[i].dead && named_later(img, &idx, &img->recs[i]))
                img->recs[i].dead = true;
        ak_hidx_free(&idx);
        if (rc)
            return -1;
    }
    img->live = 0;
    for (size_t i = 0; i < img->nrecs; i++) {
        rec_t *r = &img->recs[i];
        if (r->del)
            r->dead = true;
        img->live += !r->dead;
    }
    return 0;
}

static void set_aside(ak_ckpt_t *c, uint64_t seq)
{
    char path[4300], to[4400];
    path_of(c, path, sizeof path, "ckpt", seq);
    snprintf(to, sizeof to, "%s.corrupt", path);
    if (rename(path, to) != 0)
        unlink(path);
}

int ak_ckpt_load(ak_ckpt_t *c, ak_ckpt_image_t **out, ak_err_t *err)
{
    *out = NULL;
    uint64_t *mans;
    size_t nman;
    if (scan(c, &mans, &nman, err))
        return -1;
    for (size_t k = 0; k < nman; k++) {
        ak_ckpt_image_t *img = ak_calloc(1, sizeof *img);
        if (!img) {
            ak_free(mans);
            return ak_err_nomem(err);
        }
        char why[600] = "";
        int rc = read_manifest(c, mans[k], img, why, sizeof why);
        uint64_t total = 0, bytes = 0;
        for (size_t i = 0; rc == 0 && i < img->nsegs; i++) {
            total += img->segs[i].records;
            bytes += img->segs[i].bytes;
        }
        /* (each segment is checked against its count; here they only size the records) */
        if (rc == 0 && (total > bytes / 3 || total >= UINT32_MAX)) {
            snprintf(why, sizeof why, "the manifest counts %" PRIu64 " records in %" PRIu64 " bytes", total, bytes);
            rc = -1;
        }
        if (rc == 0 && (!(img->maps = ak_calloc(img->nsegs ? img->nsegs : 1, sizeof *img->maps)) ||
                        AK_GROW(img->recs, img->cap_recs, (size_t)total + 1))) {
            snprintf(why, sizeof why, "out of memory");
            rc = -1;
        }
        size_t nbase = 0;
        for (size_t i = 0; rc == 0 && i < img->nsegs; i++) {
            rc = read_segment(c, &img->segs[i], img, why, sizeof why);
            img->bytes += img->segs[i].bytes;
            if (i == 0)
                nbase = img->nrecs;
        }
        if (rc == 0 && dedupe(img, nbase)) {
            snprintf(why, sizeof why, "out of memory");
            rc = -1;
        }
        if (rc == 0) {
            ak_free(c->segs);
            c->segs = NULL;
            c->cap_segs = c->nsegs = 0;
            if (AK_GROW(c->segs, c->cap_segs, img->nsegs + 1)) {
                ak_ckpt_image_free(img);
                ak_free(mans);
                return ak_err_nomem(err);
            }
            memcpy(c->segs, img->segs, img->nsegs * sizeof *img->segs);
            c->nsegs = img->nsegs;
            c->seq = img->seq;
            ak_free(mans);
            *out = img;
            return 0;
        }
        ak_ckpt_image_free(img);
        if (strcmp(why, "out of memory") == 0) {
            ak_free(mans);
            return ak_err_nomem(err);
        }
        ak_log_warn(c->tag, "checkpoint %" PRIu64 " cannot be used (%s); it is set aside as .corrupt and %s", mans[k],
                    why, k + 1 < nman ? "the previous checkpoint is used" : "no older checkpoint remains");
        set_aside(c, mans[k]);
    }
    ak_free(mans);
    c->seq = 0;
    c->nsegs = 0;
    return 0;
}

/* Live records by section, in file order within one: a counting sort
 * (sections are a product's few holders; a larger number is corrupt and
 * the loader says so when it meets it, so it sorts last). */
int ak_ckpt_image_each(const ak_ckpt_image_t *img, ak_ckpt_rec_fn fn, void *ctx, ak_err_t *err)
{
    enum { NSEC = 4096 };
    uint32_t *o = ak_malloc((img->live ? img->live : 1) * sizeof *o);
    size_t *at = ak_calloc(NSEC + 1, sizeof *at);
    if (!o || !at) {
        ak_free(o);
        ak_free(at);
        return ak_err_nomem(err);
    }
    for (size_t i = 0; i < img->nrecs; i++)
        if (!img->recs[i].dead)
            at[img->recs[i].section < NSEC ? img->recs[i].section : NSEC]++;
    size_t sum = 0;
    for (size_t s = 0; s <= NSEC; s++) {
        size_t c = at[s];
        at[s] = sum;
        sum += c;
    }
    for (size_t i = 0; i < img->nrecs; i++)
        if (!img->recs[i].dead)
            o[at[img->recs[i].section < NSEC ? img->recs[i].section : NSEC]++] = (uint32_t)i;
    int rc = 0;
    for (size_t k = 0; k < sum && rc == 0; k++) {
        const rec_t *r = &img->recs[o[k]];
        rc = fn(ctx, r->section, r->k, r->kn, r->v, r->vn, err);
    }
    ak_free(o);
    ak_free(at);
    return rc;
}

/* ---- writing segments ---- */

/* Creates the segment file and writes its header. */
static int w_open(writer_t *w, const char *path, uint64_t seq, ak_err_t *err)
{
    w->bytes = w->records = 0;
    ak_buf_clear(&w->frame);
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0)
        return ak_errf(err, AK_E_IO, "cannot create checkpoint segment %s: %s", path, strerror(errno));
    uint8_t h[SEG_HDR];
    memcpy(h, SEG_MAGIC, 8);
    ak_le_put32(h + 8, AK_CKPT_FORMAT);
    ak_le_put64(h + 12, seq);
    if (ak_io_write_all(w->fd, h, SEG_HDR))
        return ak_errf(err, AK_E_IO, "cannot write checkpoint segment %s: %s", path, strerror(errno));
    w->bytes = SEG_HDR;
    return w->async ? ak_awriter_start(w->fd, "a checkpoint segment", &w->aw, err) : 0;
}

static int w_flush(writer_t *w, ak_err_t *err)
{
    if (w->frame.oom)
        return ak_err_nomem(err);
    if (!w->frame.len)
        return 0;
    uint8_t h[8];
    ak_le_put32(h, (uint32_t)w->frame.len);
    ak_le_put32(h + 4, ak_crc32c(0, w->frame.data, w->frame.len));
    ak_io_crash_point(w->crash);
    w->bytes += 8 + w->frame.len;
    if (w->aw)
        return ak_awriter_put(w->aw, h, 8, &w->frame, err);
    if (ak_io_write_all(w->fd, h, 8) || ak_io_write_all(w->fd, w->frame.data, w->frame.len))
        return ak_errf(err, AK_E_IO, "cannot write a checkpoint segment: %s", strerror(errno));
    ak_buf_clear(&w->frame);
    return 0;
}

static int w_put(writer_t *w, uint8_t op, uint32_t section, const void *key, size_t kn, const void *val, size_t vn,
                 ak_err_t *err)
{
    ak_buf_putc(&w->frame, (char)op);
    ak_buf_put_uvarint(&w->frame, section);
    ak_buf_put_uvarint(&w->frame, kn);
    ak_buf_put(&w->frame, key, kn);
    if (op == OP_PUT) {
        ak_buf_put_uvarint(&w->frame, vn);
        ak_buf_put(&w->frame, val, vn);
    }
    w->records++;
    if (w->frame.oom)
        return ak_err_nomem(err);
    return w->frame.len >= FRAME_BYTES ? w_flush(w, err) : 0;
}

/* The last frame out and the file synced. */
static int w_finish(writer_t *w, ak_err_t *err)
{
    if (w_flush(w, err) || (w->aw && ak_awriter_drain(w->aw, err)))
        return -1;
    if (ak_io_fsync(w->fd) != 0)
        return ak_errf(err, AK_E_IO, "cannot sync a checkpoint segment: %s", strerror(errno));
    return 0;
}

static void w_close(writer_t *w)
{
    ak_awriter_stop(w->aw);
    w->aw = NULL;
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    ak_buf_clear(&w->frame);
}

/* ---- merging segments in the background ----
 *
 * Once increments pile up, a thread merges the manifest's segments so far
 * into one: the first segment's records that no later record replaced,
 * deleted or cleared, then the later segments' newest records of each key.
 * The next checkpoint's manifest lists the merged segment in place of those
 * it merged (unless a whole checkpoint replaced them meanwhile).  Memory
 * and time go with the increments; the first segment is streamed. */

/* The merged segment while it is written (renamed once complete). */
static void merge_tmp_path(const ak_ckpt_t *c, char *out, size_t cap)
{
    path_of(c, out, cap, "seg", c->merge.out.seq);
    strncat(out, ".tmp", cap - strlen(out) - 1);
}

typedef struct merger {
    ak_ckpt_image_t inc;      /* the increments' records */
    ak_hidx_t idx;            /* their keys (clears not included) */
    size_t *clears;           /* positions of clear records */
    size_t nclears, cap_clears;
    writer_t w;
    ak_err_t err;
    atomic_bool *stop_flag;
} merger_t;

/* A base record is kept unless a later record names its key or a clear
 * covers it. */
static int merge_base_rec(void *ctx, const rec_t *r, char *why, size_t wn)
{
    merger_t *m = ctx;
    if (atomic_load_explicit(m->stop_flag, memory_order_relaxed))
        return snprintf(why, wn, "stopped"), -1;
    if (named_later(&m->inc, &m->idx, r))
        return 0;
    for (size_t i = 0; i < m->nclears; i++)
        if (cleared_by(r, &m->inc.recs[m->clears[i]]))
            return 0;
    if (r->del || w_put(&m->w, OP_PUT, r->section, r->k, r->kn, r->v, r->vn, &m->err) == 0)
        return 0;
    snprintf(why, wn, "%.300s", m->err.msg);
    return -1;
}

static int merge_run(ak_ckpt_t *c, merger_t *m, char *why, size_t wn)
{
    merge_t *g = &c->merge;
    if (!(m->inc.maps = ak_calloc(g->nin, sizeof *m->inc.maps)))
        return snprintf(why, wn, "out of memory"), -1;
    for (size_t i = 1; i < g->nin; i++)
        if (atomic_load(&g->stop) || read_segment(c, &g->in[i], &m->inc, why, wn))
            return -1;
    /* the increments among themselves, as a load would take them; their
     * clears are kept to cut the first segment's records too */
    apply_clears(&m->inc);
    for (size_t i = 0; i < m->inc.nrecs; i++)
        if (m->inc.recs[i].clear) {
            if (AK_GROW(m->clears, m->cap_clears, m->nclears + 1))
                return snprintf(why, wn, "out of memory"), -1;
            m->clears[m->nclears++] = i;
        }
    if (index_later(&m->inc, 0, &m->idx))
        return snprintf(why, wn, "out of memory"), -1;
    char path[4300];
    merge_tmp_path(c, path, sizeof path);
    m->w.crash = "ckpt-merge";
    map_t base = {0};
    int rc = w_open(&m->w, path, g->out.seq, &m->err) ? -1 : map_segment(c, &g->in[0], &base, why, wn);
    if (rc == 0)
        rc = each_rec(&base, &g->in[0], merge_base_rec, m, why, wn);
    if (base.p)
        munmap(base.p, base.n);
    for (size_t i = 0; i < m->inc.nrecs && rc == 0 && !m->err.code; i++) {
        const rec_t *r = &m->inc.recs[i];
        if (!r->dead && !r->del)
            rc = w_put(&m->w, OP_PUT, r->section, r->k, r->kn, r->v, r->vn, &m->err);
    }
    if (rc == 0 && !atomic_load(&g->stop))
        rc = w_finish(&m->w, &m->err);
    if (m->err.code && !*why)
        snprintf(why, wn, "%.300s", m->err.msg);
    if (rc || atomic_load(&g->stop))
        return -1;
    close(m->w.fd);
    m->w.fd = -1;
    char final[4300];
    path_of(c, final, sizeof final, "seg", g->out.seq);
    if (rename(path, final) != 0 || ak_io_fsync_dir(c->dir, &m->err))
        return snprintf(why, wn, "cannot rename the merged segment: %s", strerror(errno)), -1;
    g->out.bytes = m->w.bytes;
    g->out.records = m->w.records;
    return 0;
}

static void *merge_main(void *arg)
{
    ak_ckpt_t *c = arg;
    merger_t m = {0};
    m.w.fd = -1;
    m.stop_flag = &c->merge.stop;
    ak_err_clear(&m.err);
    char why[400] = "";
    int rc = merge_run(c, &m, why, sizeof why);
    w_close(&m.w);
    if (rc) {
        char path[4300];
        merge_tmp_path(c, path, sizeof path);
        unlink(path);
        snprintf(c->merge.why, sizeof c->merge.why, "%.380s", why[0] ? why : "stopped");
    }
    ak_buf_free(&m.w.frame);
    ak_hidx_free(&m.idx);
    ak_free(m.clears);
    for (size_t i = 0; i < m.inc.nmaps; i++)
        munmap(m.inc.maps[i].p, m.inc.maps[i].n);
    ak_free(m.inc.maps);
    ak_free(m.inc.recs);
    atomic_store(&c->merge.done, rc ? -1 : 1);
    return NULL;
}

/* Joins a merge that failed or whose result was adopted (out.seq then 0);
 * with stop, any merge, after asking it to stop: a result not adopted is
 * removed.  A running merge, or a result waiting for the next manifest, is
 * left alone otherwise. */
static void merge_end(ak_ckpt_t *c, bool stop)
{
    merge_t *g = &c->merge;
    if (!g->started)
        return;
    int done = atomic_load(&g->done);
    if (!stop && (done == 0 || (done == 1 && g->out.seq)))
        return;
    atomic_store(&g->stop, true);
    pthread_join(g->th, NULL);
    g->started = false;
    done = atomic_load(&g->done);
    if (done < 0 && !stop)
        ak_log_warn(c->tag, "merging checkpoint segments failed (%s); the next whole checkpoint replaces them", g->why);
    if (g->out.seq) {
        char path[4300];
        path_of(c, path, sizeof path, "seg", g->out.seq);
        unlink(path);
    }
    ak_free(g->in);
    g->in = NULL;
    g->nin = 0;
    g->out = (seginfo_t){0};
}

/* Starts a merge when the increments reach a quarter of the first segment
 * or eight segments; the thread works from a copy of the segment list. */
static void merge_maybe(ak_ckpt_t *c)
{
    merge_t *g = &c->merge;
    if (g->started || c->nsegs < 2 || getenv("AKILI_NO_CKPT_MERGE"))
        return;
    uint64_t inc = 0;
    for (size_t i = 1; i < c->nsegs; i++)
        inc += c->segs[i].bytes;
    if (inc * 4 < c->segs[0].bytes && c->nsegs < 8)
        return;
    if (!(g->in = ak_malloc(c->nsegs * sizeof *g->in)))
        return;
    memcpy(g->in, c->segs, c->nsegs * sizeof *g->in);
    g->nin = c->nsegs;
    g->out = (seginfo_t){c->next_seq++, 0, 0};
    g->why[0] = '\0';
    atomic_store(&g->done, 0);
    atomic_store(&g->stop, false);
    if (ak_thread_start(&g->th, merge_main, c) != 0) {
        ak_free(g->in);
        g->in = NULL;
        g->nin = 0;
        return;
    }
    g->started = true;
}

/* The segments of the next manifest: a finished merge's segment in place of
 * the ones it merged, when the manifest still starts with them. */
static size_t merge_adopt(ak_ckpt_t *c)
{
    merge_t *g = &c->merge;
    if (!g->started || atomic_load(&g->done) != 1)
        return 0;
    bool prefix = !c->full && g->nin <= c->nsegs;
    for (size_t i = 0; prefix && i < g->nin; i++)
        prefix = c->segs[i].seq == g->in[i].seq;
    return prefix ? g->nin : 0;
}

bool ak_ckpt_wants_full(const ak_ckpt_t *c)
{
    if (!c->seq || !c->nsegs || c->nsegs >= MAX_SEGS)
        return true;
    uint64_t inc = 0;
    for (size_t i = 1; i < c->nsegs; i++)
        inc += c->segs[i].bytes;
    /* a merge under way will fold them */
    return inc > c->segs[0].bytes * (c->merge.started ? 4 : 1);
}

int ak_ckpt_begin(ak_ckpt_t *c, bool full, ak_err_t *err)
{
    if (c->writing)
        return ak_errf(err, AK_E_INTERNAL, "a checkpoint is already being written");
    c->t0 = ak_mono_us();
    c->full = full || !c->seq;
    c->wseq = c->next_seq++;
    char path[4300];
    path_of(c, path, sizeof path, "seg", c->wseq);
    c->writing = true;
    if (w_open(&c->w, path, c->wseq, err)) {
        ak_ckpt_abort(c);
        return -1;
    }
    return 0;
}

static int put_rec(ak_ckpt_t *c, uint8_t op, uint32_t section, const void *key, size_t kn, const void *val, size_t vn,
                   ak_err_t *err)
{
    if (!c->writing)
        return ak_errf(err, AK_E_INTERNAL, "no checkpoint is being written");
    return w_put(&c->w, op, section, key, kn, val, vn, err);
}

int ak_ckpt_put(ak_ckpt_t *c, uint32_t section, const void *key, size_t kn, const void *val, size_t vn, ak_err_t *err)
{
    return put_rec(c, OP_PUT, section, key, kn, val, vn, err);
}

int ak_ckpt_del(ak_ckpt_t *c, uint32_t section, const void *key, size_t kn, ak_err_t *err)
{
    /* a full checkpoint has nothing to delete from */
    return c->full ? 0 : put_rec(c, OP_DEL, section, key, kn, NULL, 0, err);
}

int ak_ckpt_clear(ak_ckpt_t *c, uint32_t section, const void *prefix, size_t pn, ak_err_t *err)
{
    return c->full ? 0 : put_rec(c, OP_CLEAR, section, prefix, pn, NULL, 0, err);
}

static int out_put(void *ctx, uint32_t section, const void *k, size_t kn, const void *v, size_t vn, ak_err_t *err)
{
    return ak_ckpt_put(ctx, section, k, kn, v, vn, err);
}
static int out_del(void *ctx, uint32_t section, const void *k, size_t kn, ak_err_t *err)
{
    return ak_ckpt_del(ctx, section, k, kn, err);
}
static int out_clear(void *ctx, uint32_t section, const void *p, size_t pn, ak_err_t *err)
{
    return ak_ckpt_clear(ctx, section, p, pn, err);
}

ak_state_out_t ak_ckpt_out(ak_ckpt_t *c, uint32_t section)
{
    return (ak_state_out_t){out_put, out_del, out_clear, c, section};
}

void ak_ckpt_abort(ak_ckpt_t *c)
{
    if (!c->writing)
        return;
    w_close(&c->w);
    char path[4300];
    path_of(c, path, sizeof path, "seg", c->wseq);
    unlink(path);
    c->writing = false;
}

int ak_ckpt_remove(const char *dir, ak_err_t *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : ak_errf(err, AK_E_IO, "cannot read %s: %s", dir, strerror(errno));
    int rc = 0;
    for (struct dirent *e; (e = readdir(d));) {
        uint64_t seq;
        const char *rest;
        if (!parse_name(e->d_name, &seq, &rest))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0 && errno != ENOENT)
            rc = ak_errf(err, AK_E_IO, "cannot remove %s: %s", path, strerror(errno));
    }
    closedir(d);
    return rc;
}

/* Removes manifests older than the newest two and segments neither uses. */
static void collect(ak_ckpt_t *c, const seginfo_t *prev, size_t nprev, uint64_t prev_seq)
{
    DIR *d = opendir(c->dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t seq;
        const char *rest;
        char kind = parse_name(e->d_name, &seq, &rest);
        bool drop = false;
        if (kind == 'm') {
            /* manifests: keep the current and the previous one; drop
             * leftovers of interrupted writes */
            drop = *rest == '\0' ? seq != c->seq && seq != prev_seq : strcmp(rest, ".tmp") == 0;
        } else if (kind == 's' && c->merge.started && seq == c->merge.out.seq) {
            drop = false; /* a merge's result, not yet adopted */
        } else if (kind == 's' && strcmp(rest, ".tmp") == 0) {
            drop = true; /* a merge a crash interrupted */
        } else if (kind == 's' && *rest == '\0') {
            drop = true;
            for (size_t i = 0; i < c->nsegs && drop; i++)
                drop = c->segs[i].seq != seq;
            for (size_t i = 0; i < nprev && drop; i++)
                drop = prev[i].seq != seq;
        }
        if (drop) {
            char path[4400];
            snprintf(path, sizeof path, "%s/%s", c->dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

int ak_ckpt_commit(ak_ckpt_t *c, const void *meta, size_t mn, ak_ckpt_stats_t *st, ak_err_t *err)
{
    if (!c->writing)
        return ak_errf(err, AK_E_INTERNAL, "no checkpoint is being written");
    if (w_finish(&c->w, err)) {
        ak_ckpt_abort(c);
        return -1;
    }
    w_close(&c->w);
    /* the new manifest: the previous segments (unless full; a merged one in
     * place of those it merged) + this one */
    seginfo_t *prev = c->segs;
    size_t nprev = c->nsegs;
    uint64_t prev_seq = c->seq;
    size_t merged = merge_adopt(c), lead = merged ? 1 : 0;
    size_t base = c->full ? 0 : lead + nprev - merged;
    seginfo_t *segs = ak_calloc(base + 1, sizeof *segs);
    if (!segs) {
        ak_ckpt_abort(c);
        return ak_err_nomem(err);
    }
    if (lead)
        segs[0] = c->merge.out;
    if (base > lead)
        memcpy(segs + lead, prev + merged, (base - lead) * sizeof *segs);
    segs[base] = (seginfo_t){c->wseq, c->w.bytes, c->w.records};
    uint64_t mseq = c->wseq;
    ak_buf_t body = AK_BUF_INIT, file = AK_BUF_INIT;
    ak_buf_put_uvarint(&body, mseq);
    ak_buf_put_svarint(&body, ak_wall_us());
    ak_buf_put_uvarint(&body, base + 1);
    for (size_t i = 0; i <= base; i++) {
        ak_buf_put_uvarint(&body, segs[i].seq);
        ak_buf_put_uvarint(&body, segs[i].bytes);
        ak_buf_put_uvarint(&body, segs[i].records);
    }
    ak_buf_put_uvarint(&body, mn);
    ak_buf_put(&body, meta, mn);
    ak_buf_put(&file, MAN_MAGIC, 8);
    ak_buf_put_u32le(&file, AK_CKPT_FORMAT);
    ak_buf_put_u32le(&file, (uint32_t)body.len);
    ak_buf_put(&file, body.data, body.len);
    if (!file.oom)
        ak_buf_put_u32le(&file, ak_crc32c(0, file.data, file.len));
    int rc = 0;
    if (body.oom || file.oom) {
        rc = ak_err_nomem(err);
    } else {
        char path[4300];
        path_of(c, path, sizeof path, "ckpt", mseq);
        ak_io_crash_point("ckpt-commit");
        rc = ak_io_write_file_atomic(path, file.data, file.len, err);
    }
    uint64_t mbytes = file.len;
    ak_buf_free(&body);
    ak_buf_free(&file);
    if (rc) {
        /* once the manifest is renamed into place (only syncing the
         * directory failed) it may be loaded later: keep its segment */
        char path[4300];
        path_of(c, path, sizeof path, "ckpt", mseq);
        if (access(path, F_OK) == 0)
            c->writing = false;
        ak_free(segs);
        ak_ckpt_abort(c);
        return -1;
    }
    c->writing = false;
    c->segs = segs;
    c->nsegs = c->cap_segs = base + 1;
    c->seq = mseq;
    if (merged) {
        ak_log_debug(c->tag, "checkpoint %" PRIu64 ": %zu segments merged into one (%.1f MB) in the background", mseq,
                     merged, (double)c->merge.out.bytes / 1048576.0);
        c->merges++;
        c->merge.out.seq = 0; /* adopted: not removed */
    }
    /* an adopted or failed merge, or any a whole checkpoint made moot */
    merge_end(c, c->full);
    collect(c, prev, nprev, prev_seq);
    ak_free(prev);
    merge_maybe(c);
    if (st) {
        st->seq = mseq;
        st->full = c->full;
        st->records = c->w.records;
        st->bytes = c->w.bytes + mbytes;
        st->total_bytes = ak_ckpt_total_bytes(c);
        st->segments = (int)c->nsegs;
        st->us = ak_mono_us() - c->t0;
    }
    return 0;
}
