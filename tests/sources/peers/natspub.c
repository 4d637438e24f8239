/* natspub - the NATS JetStream side of tests/sources/test_nats.py.
 *
 *   natspub URL stream NAME SUBJECT[,SUBJECT...]   create the stream (file store) if missing
 *   natspub URL pub FILE [RATE]                    publish each line "SUBJECT PAYLOAD" (PAYLOAD may
 *                                                  be empty), RATE messages/s (0: as fast as acked)
 *   natspub URL delete-consumer STREAM NAME
 *   natspub URL steal STREAM NAME N WAIT_MS        fetch up to N messages from the durable pull
 *                                                  consumer NAME (another reader taking its
 *                                                  deliveries), never ack them; prints "stole K"
 *
 * Credentials go in the URL (nats://user:pass@host:port).  Prints one line
 * "published N last_seq S" for pub.  Exit 0 on success.
 *
 * Build: cc -O2 -o natspub natspub.c $(pkg-config --cflags --libs libnats)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

static int fail(const char *what, natsStatus s, jsErrCode jerr)
{
    fprintf(stderr, "natspub: %s: %s (jerr %d)\n", what, natsStatus_GetText(s), (int)jerr);
    nats_PrintLastErrorStack(stderr);
    return 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int make_stream(jsCtx *js, const char *name, char *subjects)
{
    const char *subs[32];
    int n = 0;
    for (char *t = strtok(subjects, ","); t && n < 32; t = strtok(NULL, ","))
        subs[n++] = t;
    jsErrCode jerr = 0;
    jsStreamInfo *si = NULL;
    if (js_GetStreamInfo(&si, js, name, NULL, &jerr) == NATS_OK) {
        jsStreamInfo_Destroy(si);
        return 0;
    }
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = name;
    sc.Subjects = subs;
    sc.SubjectsLen = n;
    sc.Storage = js_FileStorage;
    jerr = 0;
    natsStatus s = js_AddStream(&si, js, &sc, NULL, &jerr);
    if (s != NATS_OK)
        return fail("js_AddStream", s, jerr);
    jsStreamInfo_Destroy(si);
    return 0;
}

static int publish(jsCtx *js, const char *file, double rate)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        perror(file);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long n = 0;
    uint64_t last = 0;
    int64_t t0 = now_ms();
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 30000;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        char *sp = strchr(line, ' ');
        const char *data = sp ? sp + 1 : "";
        if (sp)
            *sp = '\0';
        jsErrCode jerr = 0;
        natsStatus s;
        if (rate > 0) {
            /* paced: one synchronous publish at a time */
            int64_t due = t0 + (int64_t)((double)n * 1000.0 / rate);
            int64_t wait = due - now_ms();
            if (wait > 0)
                nats_Sleep(wait);
            jsPubAck *pa = NULL;
            s = js_Publish(&pa, js, line, data, (int)strlen(data), NULL, &jerr);
            if (s == NATS_OK) {
                last = pa->Sequence;
                jsPubAck_Destroy(pa);
            }
        } else {
            s = js_PublishAsync(js, line, data, (int)strlen(data), NULL);
        }
        if (s != NATS_OK) {
            free(line);
            fclose(f);
            return fail("publish", s, jerr);
        }
        n++;
    }
    free(line);
    fclose(f);
    if (rate <= 0) {
        natsStatus s = js_PublishAsyncComplete(js, &po);
        if (s != NATS_OK)
            return fail("js_PublishAsyncComplete", s, 0);
        natsMsgList pending = {0};
        if (js_PublishAsyncGetPendingList(&pending, js) == NATS_OK && pending.Count) {
            fprintf(stderr, "natspub: %d messages not acknowledged\n", pending.Count);
            natsMsgList_Destroy(&pending);
            return 1;
        }
    }
    printf("published %ld last_seq %" PRIu64 "\n", n, last);
    return 0;
}

static int steal(jsCtx *js, const char *stream, const char *consumer, int n, int wait_ms)
{
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Consumer = consumer;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_PullSubscribe(&sub, js, NULL, consumer, NULL, &so, &jerr);
    if (s != NATS_OK)
        return fail("js_PullSubscribe", s, jerr);
    jsFetchRequest fr;
    jsFetchRequest_Init(&fr);
    fr.Batch = n;
    fr.Expires = (int64_t)wait_ms * 1000000;
    int got = 0;
    natsMsgList list = {0};
    s = natsSubscription_FetchRequest(&list, sub, &fr);
    if (s == NATS_OK)
        got = list.Count;
    natsMsgList_Destroy(&list);
    natsSubscription_Destroy(sub);
    printf("stole %d\n", got);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: natspub URL stream NAME SUBJECTS | pub FILE [RATE] | delete-consumer STREAM NAME\n");
        return 2;
    }
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    natsStatus s = natsConnection_ConnectTo(&nc, argv[1]);
    if (s != NATS_OK)
        return fail("connect", s, 0);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = 4096;
    s = natsConnection_JetStream(&js, nc, &jo);
    if (s != NATS_OK)
        return fail("jetstream", s, 0);
    int rc = 2;
    if (strcmp(argv[2], "stream") == 0 && argc == 5) {
        rc = make_stream(js, argv[3], argv[4]);
    } else if (strcmp(argv[2], "pub") == 0) {
        rc = publish(js, argv[3], argc > 4 ? atof(argv[4]) : 0);
    } else if (strcmp(argv[2], "steal") == 0 && argc == 7) {
        rc = steal(js, argv[3], argv[4], atoi(argv[5]), atoi(argv[6]));
    } else if (strcmp(argv[2], "delete-consumer") == 0 && argc == 5) {
        jsErrCode jerr = 0;
        s = js_DeleteConsumer(js, argv[3], argv[4], NULL, &jerr);
        rc = s == NATS_OK ? 0 : fail("js_DeleteConsumer", s, jerr);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    return rc;
}
