/* ak_nats_conn.c - connecting to NATS JetStream, errors, subjects and
 * `akili connection test` for the `nats` connector. */
#include "ak_nats.h"

#include "ak_alloc.h"
#include "ak_log.h"

#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* `scheme://user:pass@host` becomes `scheme://(4 stars)@host`, for every URL in s. */
static void redact_urls(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    while (*s && o + 1 < cap) {
        const char *sep = strstr(s, "://");
        if (!sep) {
            break;
        }
        const char *h = sep + 3, *q = h;
        while (*q && *q != '@' && *q != '/' && *q != ',' && *q != ' ' && *q != '"')
            q++;
        size_t keep = (size_t)(h - s);
        if (o + keep >= cap)
            keep = cap - o - 1;
        memcpy(out + o, s, keep);
        o += keep;
        s = h;
        if (*q == '@') {
            o += (size_t)snprintf(out + o, cap - o, "****");
            if (o >= cap)
                o = cap - 1;
            s = q;
        }
    }
    size_t rest = strlen(s);
    if (o + rest >= cap)
        rest = cap - o - 1;
    memcpy(out + o, s, rest);
    out[o + rest] = '\0';
}

static void replace_all(char *msg, size_t cap, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    if (n < 3) /* shorter ones would mangle the text, not hide anything */
        return;
    char *p;
    while ((p = strstr(msg, secret))) {
        size_t tail = strlen(p + n);
        if ((size_t)(p - msg) + 4 + tail + 1 > cap)
            tail = cap - (size_t)(p - msg) - 5;
        memmove(p + 4, p + n, tail);
        p[4 + tail] = '\0';
        memcpy(p, "****", 4);
    }
}

void ak_nats_scrub(const ak_nats_cfg_t *cfg, char *msg, size_t cap)
{
    char tmp[AK_ERR_MSG_MAX * 2];
    redact_urls(msg, tmp, sizeof tmp);
    snprintf(msg, cap, "%s", tmp);
    if (cfg) {
        replace_all(msg, cap, cfg->password);
        replace_all(msg, cap, cfg->token);
    }
}

void ak_nats_cfg_free(ak_nats_cfg_t *cfg)
{
    ak_free(cfg->url);
    ak_free(cfg->url_shown);
    ak_free(cfg->stream);
    ak_free(cfg->durable);
    ak_free(cfg->user);
    ak_free(cfg->password);
    ak_free(cfg->token);
    ak_free(cfg->subjects);
    memset(cfg, 0, sizeof *cfg);
}

int ak_nats_cfg_load(const ak_conn_t *c, ak_nats_cfg_t *cfg, ak_err_t *err)
{
    memset(cfg, 0, sizeof *cfg);
    const ak_optset_t *o = &c->opts;
    if (ak_opt_str(o, "url", &cfg->url, err) || ak_opt_str(o, "stream", &cfg->stream, err) ||
        ak_opt_str(o, "durable", &cfg->durable, err) || ak_opt_str(o, "user", &cfg->user, err) ||
        ak_opt_str(o, "password", &cfg->password, err) || ak_opt_str(o, "token", &cfg->token, err) ||
        ak_opt_strlist(o, "subjects", &cfg->subjects, &cfg->n_subjects, err))
        goto fail;
    if (!cfg->url || !*cfg->url) {
        ak_errf(err, AK_E_CONFIG, "%s: `url` is empty", o->what);
        goto fail;
    }
    size_t cap = strlen(cfg->url) + 8;
    if (!(cfg->url_shown = ak_malloc(cap))) {
        ak_err_nomem(err);
        goto fail;
    }
    redact_urls(cfg->url, cfg->url_shown, cap);
    if (cfg->password && !cfg->user) {
        ak_errf(err, AK_E_CONFIG, "%s: `password` is given without `user`", o->what);
        goto fail;
    }
    if (cfg->token && cfg->user) {
        ak_errf(err, AK_E_CONFIG, "%s: give either `user`/`password` or `token`, not both", o->what);
        goto fail;
    }
    for (size_t i = 0; i < cfg->n_subjects; i++) {
        const char *s = cfg->subjects[i];
        if (!*s || strchr(s, ' ') || strstr(s, "..") || s[0] == '.' || s[strlen(s) - 1] == '.') {
            ak_errf(err, AK_E_CONFIG, "%s: `%s` in `subjects` is not a NATS subject (tokens separated by `.`, "
                                      "`*` and `>` as wildcards)", o->what, s);
            goto fail;
        }
    }
    return 0;
fail:
    ak_nats_cfg_free(cfg);
    return -1;
}

bool ak_nats_transient(natsStatus s)
{
    switch (s) {
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_SERVER:
    case NATS_TIMEOUT:
    case NATS_IO_ERROR:
    case NATS_STALE_CONNECTION:
    case NATS_NO_RESPONDERS:
    case NATS_SLOW_CONSUMER:
        return true;
    default:
        return false;
    }
}

int ak_nats_fail(const ak_nats_cfg_t *cfg, ak_err_t *err, natsStatus s, jsErrCode jerr, const char *fmt, ...)
{
    if (s == NATS_NO_MEMORY)
        return ak_err_nomem(err);
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    natsStatus ls = NATS_OK;
    const char *why = nats_GetLastError(&ls);
    if (!why || !*why || ls != s)
        why = natsStatus_GetText(s);
    if (why[0] == '(' && strstr(why, "): ")) /* libnats's "(conn.c:2088): " */
        why = strstr(why, "): ") + 3;
    char msg[AK_ERR_MSG_MAX];
    if (jerr)
        snprintf(msg, sizeof msg, "%s: %s (JetStream error %d)", what, why, (int)jerr);
    else
        snprintf(msg, sizeof msg, "%s: %s", what, why);
    ak_nats_scrub(cfg, msg, sizeof msg);
    ak_code_t code = s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED ? AK_E_CONNECT
                     : ak_nats_transient(s)                                      ? AK_E_CONNECT
                                                                                 : AK_E_STATE;
    ak_errf(err, code, "%s", msg);
    err->retriable = ak_nats_transient(s);
    return -1;
}

int ak_nats_check_up(const ak_nats_cfg_t *cfg, natsConnection *nc, ak_err_t *err)
{
    natsConnStatus st = natsConnection_Status(nc);
    if (st == NATS_CONN_STATUS_CONNECTED)
        return 0;
    const char *last = NULL;
    natsStatus ls = natsConnection_GetLastError(nc, &last);
    char msg[AK_ERR_MSG_MAX];
    snprintf(msg, sizeof msg, "the connection to the NATS server at %s is %s%s%s", cfg->url_shown,
             st == NATS_CONN_STATUS_CLOSED ? "closed" : "lost (reconnecting)",
             ls != NATS_OK ? ": " : "", ls != NATS_OK ? (last && *last ? last : natsStatus_GetText(ls)) : "");
    ak_nats_scrub(cfg, msg, sizeof msg);
    ak_errf(err, AK_E_CONNECT, "%s", msg);
    err->retriable = st != NATS_CONN_STATUS_CLOSED;
    return -1;
}

int ak_nats_connect(const ak_nats_cfg_t *cfg, const char *client_name, bool reconnect, natsConnection **nc,
                    jsCtx **js, ak_err_t *err)
{
    *nc = NULL;
    *js = NULL;
    natsOptions *o = NULL;
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK)
        s = natsOptions_SetURL(o, cfg->url);
    if (s == NATS_OK && cfg->user)
        s = natsOptions_SetUserInfo(o, cfg->user, cfg->password ? cfg->password : "");
    if (s == NATS_OK && cfg->token)
        s = natsOptions_SetToken(o, cfg->token);
    if (s == NATS_OK)
        s = natsOptions_SetName(o, client_name);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(o, 3000);
    /* a run rides out a restarting server: libnats reconnects by itself
     * while poll reports the outage (retriable) to the engine */
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(o, reconnect ? -1 : 0);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(o, 250);
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(o, 5000);
    if (s == NATS_OK)
        s = natsOptions_SetMaxPingsOut(o, 3);
    if (s != NATS_OK) {
        natsOptions_Destroy(o);
        return ak_nats_fail(cfg, err, s, 0, "invalid NATS options for %s", cfg->url_shown);
    }
    s = natsConnection_Connect(nc, o);
    natsOptions_Destroy(o);
    if (s != NATS_OK) {
        *nc = NULL;
        if (s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED) {
            ak_nats_fail(cfg, err, s, 0, "the NATS server at %s refused the credentials (%s)", cfg->url_shown,
                         cfg->token ? "token" : cfg->user ? "user and password" : "none given");
            err->retriable = false;
            return -1;
        }
        ak_nats_fail(cfg, err, s, 0, "cannot reach the NATS server at %s%s", cfg->url_shown,
                     s == NATS_NO_SERVER ? " (is nats-server running and listening there?)" : "");
        err->retriable = false; /* at open: the address is wrong or the server is down */
        return -1;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 5000;
    s = natsConnection_JetStream(js, *nc, &jo);
    if (s != NATS_OK) {
        natsConnection_Destroy(*nc);
        *nc = NULL;
        *js = NULL;
        return ak_nats_fail(cfg, err, s, 0, "cannot use JetStream on %s", cfg->url_shown);
    }
    return 0;
}

static bool js_off(natsStatus s, jsErrCode jerr)
{
    return s == NATS_NO_RESPONDERS || jerr == JSNotEnabledErr || jerr == JSNotEnabledForAccountErr;
}

int ak_nats_stream_info(const ak_nats_cfg_t *cfg, jsCtx *js, jsStreamInfo **si, ak_err_t *err)
{
    jsErrCode jerr = 0;
    *si = NULL;
    natsStatus s = js_GetStreamInfo(si, js, cfg->stream, NULL, &jerr);
    if (s == NATS_OK)
        return 0;
    *si = NULL;
    if (js_off(s, jerr))
        return ak_errf(err, AK_E_CONNECT,
                       "JetStream is not enabled on the NATS server at %s (start nats-server with -js, or enable "
                       "JetStream for this account)",
                       cfg->url_shown);
    if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr)
        return ak_nats_fail(cfg, err, s, jerr, "cannot read stream `%s` on %s", cfg->stream, cfg->url_shown);
    jsStreamNamesList *names = NULL;
    ak_buf_t b = AK_BUF_INIT;
    if (js_StreamNames(&names, js, NULL, NULL) == NATS_OK && names) {
        for (int i = 0; i < names->Count; i++)
            ak_buf_printf(&b, "%s`%s`", i ? ", " : "", names->List[i]);
        jsStreamNamesList_Destroy(names);
    }
    ak_errf(err, AK_E_NOTFOUND, "JetStream stream `%s` does not exist on %s (streams there: %s); create it or fix "
                                "the connection's `stream`",
            cfg->stream, cfg->url_shown, b.len ? b.data : "none");
    ak_buf_free(&b);
    return -1;
}

/* ---------------------------------------------------------------- subjects */

/* The next token of a subject: [*p, *end) and advances past its dot. */
static bool next_tok(const char **p, const char **ts, size_t *tn)
{
    if (!**p)
        return false;
    const char *d = strchr(*p, '.');
    *ts = *p;
    *tn = d ? (size_t)(d - *p) : strlen(*p);
    *p = d ? d + 1 : *p + *tn;
    return true;
}

bool ak_nats_subject_match(const char *pat, const char *subject)
{
    const char *a, *b;
    size_t an, bn;
    for (;;) {
        bool ha = next_tok(&pat, &a, &an), hb = next_tok(&subject, &b, &bn);
        if (!ha)
            return !hb;
        if (an == 1 && a[0] == '>')
            return hb;
        if (!hb)
            return false;
        if (!(an == 1 && a[0] == '*') && (an != bn || memcmp(a, b, an) != 0))
            return false;
    }
}

bool ak_nats_subject_within(const char *a, const char *b)
{
    const char *x, *y;
    size_t xn, yn;
    for (;;) {
        bool hx = next_tok(&a, &x, &xn), hy = next_tok(&b, &y, &yn);
        if (!hy)
            return !hx;
        if (yn == 1 && y[0] == '>')
            return hx;
        if (!hx)
            return false;
        bool xw = xn == 1 && x[0] == '>', xs = xn == 1 && x[0] == '*';
        if (yn == 1 && y[0] == '*') {
            if (xw)
                return false;
            continue;
        }
        if (xw || xs || xn != yn || memcmp(x, y, xn) != 0)
            return false;
    }
}

/* ---------------------------------------------------------------- test */

/* The server's version from the INFO line it sends first on any new
 * connection (libnats does not expose it). */
static void server_version(natsConnection *nc, char *out, size_t cap)
{
    snprintf(out, cap, "unknown version");
    char url[512];
    if (natsConnection_GetConnectedUrl(nc, url, sizeof url) != NATS_OK)
        return;
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    const char *at = strchr(h, '@');
    if (at)
        h = at + 1;
    char host[300], port[16] = "4222";
    const char *colon = strrchr(h, ':');
    size_t hn = colon ? (size_t)(colon - h) : strlen(h);
    if (hn >= sizeof host)
        return;
    memcpy(host, h, hn);
    host[hn] = '\0';
    if (colon)
        snprintf(port, sizeof port, "%.*s", (int)strcspn(colon + 1, "/"), colon + 1);
    char *hp = host;
    if (hp[0] == '[' && hn > 2) {
        hp[hn - 1] = '\0';
        hp++;
    }
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(hp, port, &hints, &ai) != 0 || !ai)
        return;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        struct timeval tv = {2, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        char buf[4096];
        size_t have = 0;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            while (have + 1 < sizeof buf) {
                ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
                if (r <= 0)
                    break;
                have += (size_t)r;
                if (memchr(buf, '\n', have))
                    break;
            }
        }
        buf[have] = '\0';
        const char *v = strstr(buf, "\"version\":\"");
        if (v) {
            v += 11;
            snprintf(out, cap, "%.*s", (int)strcspn(v, "\""), v);
        }
        close(fd);
    }
    freeaddrinfo(ai);
}

int ak_nats_test(const ak_conn_t *c, ak_buf_t *report, ak_err_t *err)
{
    ak_nats_cfg_t cfg;
    if (ak_nats_cfg_load(c, &cfg, err))
        return -1;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    jsAccountInfo *ai = NULL;
    int rc = -1;
    if (ak_nats_connect(&cfg, "akili connection test", false, &nc, &js, err))
        goto out;
    char ver[64];
    server_version(nc, ver, sizeof ver);
    jsErrCode jerr = 0;
    natsStatus s = js_GetAccountInfo(&ai, js, NULL, &jerr);
    if (s != NATS_OK) {
        if (js_off(s, jerr))
            ak_errf(err, AK_E_CONNECT,
                    "NATS server %s at %s is reachable, but JetStream is not enabled on it (start nats-server with "
                    "-js, or enable JetStream for this account)",
                    ver, cfg.url_shown);
        else
            ak_nats_fail(&cfg, err, s, jerr, "NATS server %s at %s: cannot read the JetStream account", ver,
                         cfg.url_shown);
        goto out;
    }
    if (ak_nats_stream_info(&cfg, js, &si, err)) {
        ak_err_prefix(err, "NATS server %s (JetStream enabled)", ver);
        goto out;
    }
    ak_buf_printf(report, "NATS server %s at %s, JetStream enabled; stream `%s`: subjects ", ver, cfg.url_shown,
                  cfg.stream);
    const jsStreamConfig *sc = si->Config;
    for (int i = 0; sc && i < sc->SubjectsLen; i++)
        ak_buf_printf(report, "%s%s", i ? ", " : "", sc->Subjects[i]);
    if (!sc || !sc->SubjectsLen)
        ak_buf_puts(report, "(none)");
    ak_buf_printf(report, "; %" PRIu64 " messages (sequences %" PRIu64 "..%" PRIu64 "), %" PRId64 " consumers",
                  si->State.Msgs, si->State.FirstSeq, si->State.LastSeq, si->State.Consumers);
    /* every configured subject must be one the stream stores */
    for (size_t i = 0; i < cfg.n_subjects; i++) {
        bool in = false;
        for (int k = 0; sc && k < sc->SubjectsLen && !in; k++)
            in = ak_nats_subject_within(cfg.subjects[i], sc->Subjects[k]);
        if (!in) {
            ak_errf(err, AK_E_NOTFOUND, "%s; but subject `%s` of the connection's `subjects` is not stored by "
                                        "stream `%s`",
                    report->data ? report->data : "", cfg.subjects[i], cfg.stream);
            goto out;
        }
    }
    rc = 0;
out:
    jsAccountInfo_Destroy(ai);
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    ak_nats_cfg_free(&cfg);
    return rc;
}
