/* `helix clickhouse-run`: runs a private clickhouse-server on loopback
 * (config, data and logs in --dir) for tests, demos and benchmarks, the way
 * `helix kafka-mock` hosts Kafka. Prints the URL as the first line of
 * stdout, serves until SIGINT/SIGTERM, then stops the server. */
#include "cli/commands.h"
#include "helix/hx_clickhouse_local.h"
#include "helix/hx_logger.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: helix clickhouse-run --dir DIR [--port PORT] [--wait-ms MS]\n\n"
                 "Starts clickhouse-server as a plain process on 127.0.0.1 (port 0 = a free one) with its config,\n"
                 "data and logs in DIR, waits for /ping, and prints its URL. Point Helix at it with\n"
                 "backends.analytics: clickhouse and clickhouse.url: <that URL> (or HELIX_BACKENDS_ANALYTICS=clickhouse\n"
                 "HELIX_CLICKHOUSE_URL=<URL>). Ctrl-C stops it; the data stays in DIR, so running it again with the\n"
                 "same --dir and --port resumes.\n");
}

int hx_cmd_clickhouse_run(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'},
                                         {"port", required_argument, 0, 'p'},
                                         {"wait-ms", required_argument, 0, 'w'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *dir = NULL;
    int port = 0, wait_ms = 30000, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:p:w:h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'd': dir = optarg; break;
        case 'p':
            port = (int)strtol(optarg, &end, 10);
            if (*end || port < 0 || port > 65535) {
                fprintf(stderr, "helix clickhouse-run: --port must be 0..65535, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'w':
            wait_ms = (int)strtol(optarg, &end, 10);
            if (*end || wait_ms < 1) {
                fprintf(stderr, "helix clickhouse-run: --wait-ms must be a positive number, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!dir || optind != argc) {
        usage(stderr);
        return 2;
    }
    sigset_t sigs;
    hx_cli_block_stop_signals(&sigs);
    hx_err_t err = {0};
    hx_ch_local_t *s = NULL;
    if (hx_ch_local_start(dir, port, wait_ms, &s, &err)) {
        fprintf(stderr, "helix clickhouse-run: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", hx_ch_local_url(s));
    fflush(stdout);
    HX_INFO("clickhouse-run", "clickhouse-server pid %d on %s (data in %s); Ctrl-C stops", hx_ch_local_pid(s),
            hx_ch_local_url(s), dir);
    int sig = 0;
    sigwait(&sigs, &sig);
    HX_INFO("clickhouse-run", "stopping");
    hx_ch_local_free(s);
    return 0;
}
