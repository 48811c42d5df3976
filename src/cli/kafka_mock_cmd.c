/* `helix kafka-mock`: hosts librdkafka's mock Kafka cluster on loopback so
 * several processes (three `helix serve` nodes, the CLI, a demo) can share
 * one Kafka on a machine without a Kafka install. Prints the bootstrap
 * address as the first line of stdout, then serves until SIGINT/SIGTERM. */
#include "cli/commands.h"
#include "helix/hx_kafka_mock.h"
#include "helix/hx_logger.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: helix kafka-mock [--brokers N] [--topic NAME:PARTITIONS]... [--no-builtin-topics]\n"
                 "                        [--bootstrap-file FILE]\n\n"
                 "Runs librdkafka's mock Kafka cluster (N brokers, default 3) on 127.0.0.1 and prints its\n"
                 "bootstrap address. Point Helix at it with backends.events: kafka and\n"
                 "kafka.bootstrap_servers: <that address> (or HELIX_BACKENDS_EVENTS=kafka\n"
                 "HELIX_KAFKA_BOOTSTRAP_SERVERS=<address>). The mock does not implement CreateTopics, so topics\n"
                 "are created here: every DESIGN.md topic (unless --no-builtin-topics) plus each --topic.\n"
                 "Data lives in memory and is gone when it stops.\n");
}

int hx_cmd_kafka_mock(int argc, char **argv)
{
    static const struct option opts[] = {{"brokers", required_argument, 0, 'b'},
                                         {"topic", required_argument, 0, 't'},
                                         {"no-builtin-topics", no_argument, 0, 'N'},
                                         {"bootstrap-file", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int brokers = 3, builtin = 1, c;
    const char *file = NULL;
    const char *topics[64];
    int n_topics = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:t:Nf:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 16) {
                fprintf(stderr, "helix kafka-mock: --brokers must be 1..16, got '%s'\n", optarg);
                return 2;
            }
            brokers = (int)v;
            break;
        }
        case 't':
            if (n_topics == 64 || !strchr(optarg, ':')) {
                fprintf(stderr, "helix kafka-mock: --topic takes NAME:PARTITIONS (at most 64 of them), got '%s'\n",
                        optarg);
                return 2;
            }
            topics[n_topics++] = optarg;
            break;
        case 'N': builtin = 0; break;
        case 'f': file = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    sigset_t sigs;
    hx_cli_block_stop_signals(&sigs);

    hx_err_t err = {0};
    hx_kafka_mock_t *m = NULL;
    int rc = hx_kafka_mock_start(brokers, &m, &err);
    if (!rc && builtin)
        rc = hx_kafka_mock_create_builtin_topics(m, &err);
    for (int i = 0; !rc && i < n_topics; i++) {
        char name[256];
        const char *colon = strrchr(topics[i], ':');
        snprintf(name, sizeof name, "%.*s", (int)(colon - topics[i]), topics[i]);
        char *end;
        long parts = strtol(colon + 1, &end, 10);
        if (*end || parts < 1)
            rc = hx_err_set(&err, HX_EINVAL, "--topic %s: partitions must be a positive integer", topics[i]);
        else if ((rc = hx_kafka_mock_topic_create(m, name, (int)parts, &err)) == HX_EEXIST)
            rc = 0;
    }
    if (rc) {
        fprintf(stderr, "helix kafka-mock: %s\n", err.msg);
        hx_kafka_mock_stop(m);
        return rc == HX_EINVAL ? 2 : 1;
    }
    const char *bs = hx_kafka_mock_bootstrap(m);
    printf("%s\n", bs);
    fflush(stdout);
    if (file) {
        FILE *f = fopen(file, "w");
        if (!f || fprintf(f, "%s\n", bs) < 0 || fclose(f)) {
            fprintf(stderr, "helix kafka-mock: cannot write %s\n", file);
            hx_kafka_mock_stop(m);
            return 1;
        }
    }
    HX_INFO("kafka-mock", "%d broker(s) on %s%s; Ctrl-C stops", brokers, bs,
            builtin ? ", DESIGN.md topics created" : "");
    int sig = 0;
    sigwait(&sigs, &sig);
    HX_INFO("kafka-mock", "stopping");
    hx_kafka_mock_stop(m);
    return 0;
}
