/*
 * kcommitted: prints a consumer group's committed offsets, one line per
 * partition, "PARTITION OFFSET" (-1001 when nothing is committed), for the
 * Kafka connector's tests.
 *
 *   kcommitted BOOTSTRAP GROUP TOPIC PARTITIONS
 *
 * Build: cc -O2 -o kcommitted kcommitted.c $(pkg-config --cflags --libs rdkafka)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <librdkafka/rdkafka.h>

int main(int argc, char **argv) {
        if (argc != 5) {
                fprintf(stderr, "usage: kcommitted BOOTSTRAP GROUP TOPIC PARTITIONS\n");
                return 2;
        }
        char errstr[512];
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        if (rd_kafka_conf_set(c, "bootstrap.servers", argv[1], errstr, sizeof errstr) ||
            rd_kafka_conf_set(c, "group.id", argv[2], errstr, sizeof errstr) ||
            rd_kafka_conf_set(c, "enable.auto.commit", "false", errstr, sizeof errstr)) {
                fprintf(stderr, "conf: %s\n", errstr);
                return 1;
        }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, errstr, sizeof errstr);
        if (!rk) {
                fprintf(stderr, "rd_kafka_new: %s\n", errstr);
                return 1;
        }
        int np = atoi(argv[4]);
        rd_kafka_topic_partition_list_t *p = rd_kafka_topic_partition_list_new(np);
        for (int i = 0; i < np; i++)
                rd_kafka_topic_partition_list_add(p, argv[3], i);
        rd_kafka_resp_err_t err = rd_kafka_committed(rk, p, 10000);
        int rc = 0;
        if (err) {
                fprintf(stderr, "committed: %s\n", rd_kafka_err2str(err));
                rc = 1;
        } else {
                for (int i = 0; i < p->cnt; i++)
                        printf("%d %" PRId64 "\n", p->elems[i].partition, p->elems[i].offset);
        }
        rd_kafka_topic_partition_list_destroy(p);
        rd_kafka_destroy(rk);
        return rc;
}
