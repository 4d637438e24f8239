/* ak_src_generator.c - the `generator` connector: synthetic clickstream and
 * user profiles, for demos and tests without any data at hand.
 *
 * Everything is a pure function of (seed, index), so a resumed run continues
 * the same stream.  Resources whose name contains "user" or "profile" yield
 * profiles (one per user, about 5% missing); any other resource yields click
 * events in sessions of 1-9 page views seconds to minutes apart, the sessions
 * spread over `span` ending near the time of the first run (so the data is
 * fresh), and a few events arriving late.  Every 1500th session belongs to
 * user-12345 (the seed's lookup example) when there are that many users.
 * Values are
 * produced as text and converted to each declared column's type exactly as a
 * file's would be; columns the generator does not know are NULL.
 */
#include "ak_source.h"

#include "ak_alloc.h"
#include "ak_cfg.h"
#include "ak_convert.h"
#include "ak_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const ak_option_t gen_opts[] = {
    {"seed", AK_OPT_INT, "42", "Random seed: the same seed gives the same data.", 0},
    {"users", AK_OPT_INT, "500", "Number of distinct users.", 0, NULL, 1, 100000000},
    {"events", AK_OPT_INT, "20000", "Click events to produce in all (`0`: no end, paced by `rate`).", 0, NULL, 0, INT64_MAX},
    {"rate", AK_OPT_INT, "0", "Events per second after the first batch (`0`: everything at once).", 0, NULL, 0, 100000000},
    {"span", AK_OPT_DURATION, "6h", "Time covered by the events.", 0},
    {"start", AK_OPT_STRING, NULL, "Time of the first event (ISO-8601); default: `span` before the first run.", 0},
    {"null_user_fraction", AK_OPT_NUMBER, "0", "Fraction of events without a user id.", 0},
};

typedef struct gen_src {
    const ak_input_t *in;
    uint64_t seed;
    int64_t users, events, rate;
    int64_t span_us, start_us;
    double null_frac;
    bool profiles;
    int64_t emitted;
    int64_t session, step; /* click stream: current session and event within it */
    int64_t opened_wall;   /* wall clock of the first open, for pacing */
    int64_t base_emitted;
} gen_src_t;

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
static uint64_t rnd(uint64_t seed, uint64_t a, uint64_t b) { return mix(seed ^ mix(a * 0x100000001b3ULL ^ mix(b))); }
static double unit(uint64_t r) { return (double)(r >> 11) / 9007199254740992.0; }

static const char *const pages[] = {
    "https://shop.example.com/", "https://shop.example.com/cart", "https://shop.example.com/checkout",
    "https://shop.example.com/account", "https://shop.example.com/help", "https://shop.example.com/category/shoes",
    "https://shop.example.com/category/Shirts", "https://shop.example.com/category/jackets",
    "https://shop.example.com/category/bags", "https://shop.example.com/products/trail_shoe-100",
    "https://shop.example.com/products/urban-Jacket-104", "https://shop.example.com/products/classic-bag-109",
    "https://shop.example.com/blog/Winter_Guide", "https://shop.example.com/search?q=socks",
    "https://shop.example.com/sale",
};
static const char *const referrers[] = {
    "https://search.example.org/?q=shoes", "https://social.example.com/posts/1234",
    "https://mail.example.com/campaign/nov", "https://partner.example.io/deals",
};
static const char *const countries[] = {"US", "US", "GB", "DE", "FR", "IN", "BR", "CA", "JP", "NG", "KE", "TZ"};
static const char *const names[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "amara", "chen", "diego"};

static int gen_test(const ak_conn_t *c, ak_buf_t *report, ak_err_t *err)
{
    int64_t users, events;
    if (ak_opt_int(&c->opts, "users", &users, err) || ak_opt_int(&c->opts, "events", &events, err))
        return -1;
    ak_buf_printf(report, "generator ready: %" PRId64 " users, %" PRId64 " events per stream%s", users, events,
                  events ? "" : " (unbounded)");
    return 0;
}

static bool is_profiles(const char *res)
{
    return strcasestr(res, "user") || strcasestr(res, "profile") || strcasestr(res, "customer");
}

static int gen_open(const ak_conn_t *c, const ak_input_t *in, const char *position, ak_source_t **out, ak_err_t *err)
{
    *out = NULL;
    gen_src_t *g = ak_calloc(1, sizeof *g);
    if (!g)
        return ak_err_nomem(err);
    int64_t seed;
    char *start = NULL;
    if (ak_opt_int(&c->opts, "seed", &seed, err) || ak_opt_int(&c->opts, "users", &g->users, err) ||
        ak_opt_int(&c->opts, "events", &g->events, err) || ak_opt_int(&c->opts, "rate", &g->rate, err) ||
        ak_opt_duration(&c->opts, "span", &g->span_us, err) || ak_opt_double(&c->opts, "null_user_fraction", &g->null_frac, err) ||
        ak_opt_str(&c->opts, "start", &start, err))
        goto fail;
    if (g->events == 0 && g->rate == 0) {
        ak_errf(err, AK_E_CONFIG, "connection `%s`: `events: 0` (no end) needs a `rate`", c->name);
        goto fail;
    }
    g->seed = (uint64_t)seed;
    g->in = in;
    g->profiles = is_profiles(in->resource);
    int64_t now = ak_wall_us();
    const char *bad;
    int64_t clock = ak_now_us(&bad);
    if (clock < 0)
        clock = now;
    g->opened_wall = now;
    g->start_us = clock - g->span_us;
    if (start && ak_ts_parse(start, strlen(start), &g->start_us)) {
        ak_errf(err, AK_E_CONFIG, "connection `%s`: `start` must be an ISO-8601 time, got `%s`", c->name, start);
        goto fail;
    }
    if (position) {
        ak_cfg_doc_t *doc;
        if (ak_cfg_parse("position", position, strlen(position), &doc, err))
            goto fail;
        const ak_cfg_node_t *r = ak_cfg_root(doc);
        const ak_cfg_node_t *e = r ? ak_cfg_get(r, "emitted") : NULL, *s = r ? ak_cfg_get(r, "start_us") : NULL,
                            *w = r ? ak_cfg_get(r, "opened_us") : NULL, *ss = r ? ak_cfg_get(r, "session") : NULL,
                            *st = r ? ak_cfg_get(r, "step") : NULL;
        int rc = (!e || ak_cfg_int(e, "emitted", &g->emitted, err) || (s && ak_cfg_int(s, "start_us", &g->start_us, err)) ||
                  (w && ak_cfg_int(w, "opened_us", &g->opened_wall, err)) ||
                  (ss && ak_cfg_int(ss, "session", &g->session, err)) || (st && ak_cfg_int(st, "step", &g->step, err)))
                     ? -1
                     : 0;
        ak_cfg_free(doc);
        if (rc) {
            ak_errf(err, AK_E_CORRUPT, "unreadable generator position `%s`", position);
            goto fail;
        }
    }
    g->base_emitted = g->emitted;
    ak_free(start);
    *out = (ak_source_t *)g;
    return 0;
fail:
    ak_free(start);
    ak_free(g);
    return -1;
}

/* Sets column `name` of the record from text, converted to its type. */
static int set(const ak_input_t *in, ak_batch_t *b, ak_rec_t *r, const char *name, const char *text)
{
    int col = ak_schema_find(&in->schema, name, strlen(name));
    if (col < 0)
        return 0;
    r->present |= 1ULL << col;
    if (!text)
        return 0;
    size_t n = strlen(text);
    char *s = ak_arena_strndup(&b->arena, text, n);
    if (!s)
        return -1;
    ak_val_t v;
    if (ak_convert_text(in->schema.cols[col].type, s, n, &v) != AK_CONV_OK)
        return 0; /* a column typed oddly for this data stays NULL */
    r->v[col] = v;
    return 0;
}

/* Sessions: about 5 events each, so events/5 of them spread over the span. */
static int64_t session_len(const gen_src_t *g, int64_t sess) { return 1 + (int64_t)(rnd(g->seed, (uint64_t)sess, 10) % 9); }

static int64_t session_user(const gen_src_t *g, int64_t sess)
{
    /* about every 45 minutes at the default rate: separate sessions */
    if (g->users >= 12345 && sess % 1500 == 7)
        return 12345;
    return (int64_t)(rnd(g->seed, (uint64_t)sess, 11) % (uint64_t)g->users) + 1;
}

static int64_t event_time(const gen_src_t *g, int64_t sess, int64_t step, int64_t i)
{
    int64_t nsess = g->events ? g->events / 5 + 1 : 0;
    int64_t t = nsess ? g->start_us + (int64_t)((double)g->span_us * (double)sess / (double)nsess)
                      : g->start_us + g->span_us + sess * 5 * AK_US_PER_SEC / (g->rate ? g->rate : 1);
    t -= t % 1000; /* millisecond precision, like most event sources */
    /* the slot time is the session's last page view, so the newest data is
     * about "now"; earlier views are seconds to minutes before it (3% of the
     * gaps land near the 30-minute session boundary) */
    for (int64_t k = session_len(g, sess) - 1; k > step; k--) {
        uint64_t r = rnd(g->seed, (uint64_t)sess, 20 + (uint64_t)k);
        int64_t gap = r % 100 < 3 ? (int64_t)(29 * 60 + r / 100 % 180) : (int64_t)(5 + r / 100 % 240);
        t -= gap * AK_US_PER_SEC + (int64_t)(r >> 40) % AK_US_PER_SEC / 1000 * 1000;
    }
    /* a few events arrive late, up to two minutes */
    uint64_t r = rnd(g->seed, (uint64_t)i, 7);
    if (r % 50 == 0)
        t -= (int64_t)(r % 120) * AK_US_PER_SEC;
    return t;
}

static int make_event(gen_src_t *g, int64_t i, ak_batch_t *b, ak_rec_t *r)
{
    char ts[AK_TS_BUF], buf[256], user[32], sess[64];
    int64_t u = session_user(g, g->session);
    bool null_user = unit(rnd(g->seed, (uint64_t)i, 2)) < g->null_frac;
    snprintf(user, sizeof user, "user-%" PRId64, u);
    snprintf(buf, sizeof buf, "%016" PRIx64, rnd(g->seed, (uint64_t)i, 3));
    if (set(g->in, b, r, "event_id", buf) || set(g->in, b, r, "user_id", null_user ? NULL : user))
        return -1;
    const char *page = pages[rnd(g->seed, (uint64_t)i, 4) % (sizeof pages / sizeof pages[0])];
    uint64_t rr = rnd(g->seed, (uint64_t)i, 5);
    const char *ref = g->step ? pages[rr % (sizeof pages / sizeof pages[0])]
                              : rr % 10 < 4 ? NULL : referrers[rr % (sizeof referrers / sizeof referrers[0])];
    ak_ts_format(event_time(g, g->session, g->step, i), ts);
    snprintf(sess, sizeof sess, "s-%" PRId64 "-%" PRId64, u, g->session);
    if (set(g->in, b, r, "page_url", page) || set(g->in, b, r, "referrer_url", ref) ||
        set(g->in, b, r, "user_agent", "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0") ||
        set(g->in, b, r, "event_time", ts) || set(g->in, b, r, "session_id", null_user ? NULL : sess))
        return -1;
    snprintf(buf, sizeof buf, "10.%d.%d.%d", (int)(u >> 16 & 255), (int)(u >> 8 & 255), (int)(u & 255));
    if (set(g->in, b, r, "ip_address", buf))
        return -1;
    if (++g->step >= session_len(g, g->session)) {
        g->session++;
        g->step = 0;
    }
    return 0;
}

static int make_profile(gen_src_t *g, int64_t u, ak_batch_t *b, ak_rec_t *r)
{
    char buf[64], ts[AK_TS_BUF];
    uint64_t h = rnd(g->seed, (uint64_t)u, 100);
    snprintf(buf, sizeof buf, "user-%" PRId64, u);
    if (set(g->in, b, r, "user_id", buf))
        return -1;
    snprintf(buf, sizeof buf, "%s_%" PRId64, names[h % 10], u);
    if (set(g->in, b, r, "username", buf))
        return -1;
    const char *acct = h % 100 < 75 ? "free" : h % 100 < 95 ? "pro" : "enterprise";
    if (set(g->in, b, r, "account_type", acct) ||
        set(g->in, b, r, "country", countries[(h >> 8) % (sizeof countries / sizeof countries[0])]))
        return -1;
    int64_t signup = g->start_us - (int64_t)((h >> 16) % 2000 + 30) * AK_US_PER_DAY;
    ak_date_format(ak_floordiv(signup, AK_US_PER_DAY), ts);
    if (set(g->in, b, r, "signup_date", ts))
        return -1;
    ak_ts_format(g->start_us - (int64_t)((h >> 24) % 30 + 1) * AK_US_PER_DAY, ts);
    return set(g->in, b, r, "updated_at", ts);
}

static ak_poll_rc_t gen_poll(ak_source_t *src, ak_batch_t *out, size_t max, bool drain, ak_dead_fn dead, void *ctx,
                             ak_err_t *err)
{
    (void)dead;
    (void)ctx;
    (void)drain;
    gen_src_t *g = (gen_src_t *)src;
    int64_t limit = g->profiles ? g->users : g->events;
    if (!g->profiles && g->rate > 0) {
        /* paced: the first batch comes at once, then `rate` per second */
        int64_t elapsed = (ak_wall_us() - g->opened_wall) / 1000;
        int64_t allowed = g->base_emitted + (g->base_emitted ? 0 : (g->events ? g->events / 2 : g->rate)) +
                          elapsed * g->rate / 1000;
        if (limit == 0 || allowed < limit)
            limit = allowed;
    }
    size_t n = 0;
    while ((limit == 0 || g->emitted < limit) && n < max) {
        int64_t i = g->emitted;
        if (g->profiles && rnd(g->seed, (uint64_t)i + 1, 99) % 20 == 0) {
            g->emitted++; /* about 5% of users have no profile */
            continue;
        }
        ak_rec_t *r = ak_batch_add(out, AK_OP_UPSERT, (uint64_t)i);
        if (!r || (g->profiles ? make_profile(g, i + 1, out, r) : make_event(g, i, out, r))) {
            ak_err_nomem(err);
            return AK_POLL_ERROR;
        }
        g->emitted++;
        n++;
    }
    return (limit == 0 || g->emitted < limit) && n >= max ? AK_POLL_MORE : AK_POLL_IDLE;
}

static char *gen_position(ak_source_t *src)
{
    gen_src_t *g = (gen_src_t *)src;
    char buf[160];
    snprintf(buf, sizeof buf,
             "{\"emitted\": %" PRId64 ", \"session\": %" PRId64 ", \"step\": %" PRId64 ", \"start_us\": %" PRId64
             ", \"opened_us\": %" PRId64 "}",
             g->emitted, g->session, g->step, g->start_us, g->opened_wall);
    return ak_strdup(buf);
}

static int gen_commit(ak_source_t *src, const char *position, ak_err_t *err)
{
    (void)src;
    (void)position;
    (void)err;
    return 0;
}

static void gen_close(ak_source_t *src) { ak_free(src); }

const ak_source_ops_t ak_source_generator = {
    AK_SOURCE_ABI,
    "generator",
    "synthetic clickstream events and user profiles, for demos and tests",
    gen_opts,
    sizeof gen_opts / sizeof gen_opts[0],
    true,
    gen_test,
    gen_open,
    gen_poll,
    gen_position,
    gen_commit,
    gen_close,
};
