/*
 * mockkafka: librdkafka's built-in mock Kafka cluster as a standalone
 * loopback "broker" process for the Kafka connector's tests.
 *
 *   mockkafka [-b BROKERS] [-t TOPIC:PARTITIONS]... [-f BOOTSTRAP_FILE]
 *
 * Defaults: 3 brokers, topic "events" with 4 partitions.
 * Prints the bootstrap address list (e.g. 127.0.0.1:41235,127.0.0.1:...)
 * as the first line of stdout, optionally writes it to BOOTSTRAP_FILE
 * (atomically, via rename), then blocks until SIGTERM/SIGINT.
 * Metadata requests are answered at protocol version 4, where a client can
 * ask brokers not to create a topic it asks about (consumers do), so a
 * missing topic stays missing as with a real broker (at the mock's default
 * version 2 every topic asked about springs into existence).
 * SIGUSR1 takes every broker down (connections closed and refused, the
 * data kept), SIGUSR2 brings them up again: an outage without losing the
 * topics, which stopping the process would.
 *
 * Build: cc -O2 -o mockkafka mockkafka.c $(pkg-config --cflags --libs rdkafka)
 * NOTE: the mock API is marked experimental by librdkafka (no ABI promise).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_TOPICS 64

int main(int argc, char **argv) {
        int brokers = 3;
        const char *topics[MAX_TOPICS];
        int ntopics = 0;
        const char *bfile = NULL;
        int opt;
        char errstr[512];

        while ((opt = getopt(argc, argv, "b:t:f:h")) != -1) {
                switch (opt) {
                case 'b': brokers = atoi(optarg); break;
                case 't':
                        if (ntopics < MAX_TOPICS) topics[ntopics++] = optarg;
                        break;
                case 'f': bfile = optarg; break;
                default:
                        fprintf(stderr,
                                "usage: %s [-b brokers] [-t topic:partitions]... "
                                "[-f bootstrap_file]\n", argv[0]);
                        return 2;
                }
        }
        if (ntopics == 0) topics[ntopics++] = "events:4";

        /* Block termination signals before librdkafka spawns its threads so
         * that only the main thread receives them via sigwait(). */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        sigaddset(&set, SIGUSR1);
        sigaddset(&set, SIGUSR2);
        pthread_sigmask(SIG_BLOCK, &set, NULL);

        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        /* The handle only hosts the mock cluster; keep it quiet. */
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr,
                                      sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "rd_kafka_new: %s\n", errstr);
                return 1;
        }

        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
        if (!mc) {
                fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
                return 1;
        }

        rd_kafka_mock_set_apiversion(mc, 3 /* Metadata */, 0, 4);

        for (int i = 0; i < ntopics; i++) {
                char name[256];
                int parts = 1;
                const char *colon = strrchr(topics[i], ':');
                size_t n = colon ? (size_t)(colon - topics[i]) : strlen(topics[i]);
                if (n >= sizeof(name)) n = sizeof(name) - 1;
                memcpy(name, topics[i], n);
                name[n] = '\0';
                if (colon) parts = atoi(colon + 1);
                int rf = brokers < 3 ? brokers : 3;
                rd_kafka_resp_err_t err =
                    rd_kafka_mock_topic_create(mc, name, parts, rf);
                if (err) {
                        fprintf(stderr, "topic_create %s: %s\n", name,
                                rd_kafka_err2str(err));
                        return 1;
                }
                fprintf(stderr, "mockkafka: topic %s partitions=%d rf=%d\n",
                        name, parts, rf);
        }

        const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
        if (bfile) {
                char tmp[4096];
                snprintf(tmp, sizeof(tmp), "%s.tmp", bfile);
                FILE *f = fopen(tmp, "w");
                if (!f || fprintf(f, "%s\n", bs) < 0 || fclose(f) != 0 ||
                    rename(tmp, bfile) != 0) {
                        fprintf(stderr, "write %s: %s\n", bfile, strerror(errno));
                        return 1;
                }
        }
        printf("%s\n", bs);
        fflush(stdout);
        fprintf(stderr, "mockkafka: pid %d, %d brokers, bootstrap %s\n",
                (int)getpid(), brokers, bs);

        int sig = 0;
        for (;;) {
                sigwait(&set, &sig);
                if (sig == SIGUSR1 || sig == SIGUSR2) {
                        rd_kafka_resp_err_t e = sig == SIGUSR1 ? rd_kafka_mock_broker_set_down(mc, -1)
                                                               : rd_kafka_mock_broker_set_up(mc, -1);
                        fprintf(stderr, "mockkafka: brokers %s: %s\n", sig == SIGUSR1 ? "down" : "up",
                                rd_kafka_err2str(e));
                        continue;
                }
                break;
        }
        fprintf(stderr, "mockkafka: signal %d, shutting down\n", sig);

        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        if (bfile) unlink(bfile);
        return 0;
}
