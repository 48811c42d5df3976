/* `helix bench <component|all>`: runs the benchmark drivers, prints the
 * results table with the DESIGN.md verdicts and writes JSON with --json. */
#include "cli/commands.h"
#include "helix/hx_bench.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*driver_fn)(const hx_bench_opts_t *, json_t **, hx_err_t *);

static const struct {
    const char *name;
    driver_fn fn;
    const char *what;
} drivers[] = {
    {"kafka", hx_bench_kafka, "event log: 100K x 1 KiB to 12 lz4 partitions, then 10K msg/s and 50% of peak"},
    {"context", hx_bench_context, "context: replay+compress 1K/5K/10K-message conversations, cold and warm"},
    {"memory", hx_bench_memory, "memory sync: 3 nodes, 5K writes/s, lag, conflicts, lost writes"},
    {"analytics", hx_bench_analytics, "analytics: 1M rows in process and over HTTP, queries a/b1/b2, verified"},
    {"lake", hx_bench_lake, "data lake: 1M metric rows + 100K messages to Parquet per codec, projected read"},
    {"graph", hx_bench_graph, "knowledge graph: 100K entities / 300K relationships via events, 2-hop, fulltext, path"},
    {"http", hx_bench_http, "HTTP API under wrk, 32 connections: records, messages, memory writes, /health"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: helix bench <component|all> [--json FILE] [--messages N] [--fsync always|interval|never]\n"
                 "                   [--data-dir DIR] [--backend embedded|kafka|mock|neo4j|clickhouse]\n"
                 "                   [--bootstrap HOST:PORT] [--topic NAME] [--seconds S] [--compare-kcat]\n"
                 "                   [--uri bolt://HOST:PORT] [--url URL] [--compare] [--eval] [--eval-data FILE]\n"
                 "                   [--endpoint records|messages|memory|health] [--load-generator helix|wrk]\n\n"
                 "--backend (kafka bench): embedded (default) measures the embedded log; mock starts librdkafka's\n"
                 "mock cluster in process; kafka uses the cluster at --bootstrap. The bench creates its own topic\n"
                 "unless --topic names an existing one (needed on clusters without CreateTopics, such as\n"
                 "`helix kafka-mock --topic bench:12`). --seconds sets each fixed-rate run (kafka) and\n"
                 "each endpoint's run (http), default 10; --endpoint (http) runs one endpoint only;\n"
                 "--load-generator (http): helix (ours, one thread, default) or wrk (Debian package wrk);\n"
                 "--compare-kcat (mock or kafka) has kcat produce the same records into the same cluster.\n"
                 "--backend neo4j (graph bench): the Neo4j server at --uri, credentials and database from\n"
                 "HELIX_NEO4J_USER/PASSWORD/DATABASE; use an empty database (docs/graph.md).\n"
                 "--backend clickhouse (analytics bench): the ClickHouse at --url (in a database of its own,\n"
                 "dropped afterwards), else a private clickhouse-server started for the run. --compare runs the\n"
                 "analytics bench on the embedded store and then on ClickHouse and prints both and their ratio.\n"
                 "--eval (context bench): answer recall of the compressed context on generated multi-session\n"
                 "conversations at ratios 0.30 and 0.15, against the uncompressed ceiling and two baselines;\n"
                 "--eval-data FILE runs it on FILE's conversations instead (docs/context.md: the helix or LoCoMo\n"
                 "JSON shape).\n\n"
                 "components:\n");
    for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
        fprintf(out, "  %-10s %s\n", drivers[i].name, drivers[i].what);
    fprintf(out, "  all        every component above\n");
}

int hx_cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {{"json", required_argument, 0, 'j'},      {"messages", required_argument, 0, 'n'},
                                         {"fsync", required_argument, 0, 'f'},     {"data-dir", required_argument, 0, 'd'},
                                         {"backend", required_argument, 0, 'b'},   {"bootstrap", required_argument, 0, 'B'},
                                         {"topic", required_argument, 0, 't'},     {"eval", no_argument, 0, 'e'},
                                         {"eval-data", required_argument, 0, 'E'}, {"uri", required_argument, 0, 'u'},
                                         {"seconds", required_argument, 0, 's'}, {"compare-kcat", no_argument, 0, 'K'},
                                         {"url", required_argument, 0, 'U'},       {"compare", no_argument, 0, 'C'},
                                         {"endpoint", required_argument, 0, 'P'},
                                         {"load-generator", required_argument, 0, 'L'},
                                         {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    hx_bench_opts_t o = {.fsync = HX_FSYNC_INTERVAL};
    const char *json_path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:n:f:d:b:B:t:eE:s:Ku:U:CP:L:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json_path = optarg; break;
        case 'n':
            o.messages = atol(optarg);
            if (o.messages <= 0) {
                fprintf(stderr, "helix bench: --messages must be a positive integer\n");
                return 2;
            }
            break;
        case 'f':
            if (strcmp(optarg, "always") == 0)
                o.fsync = HX_FSYNC_ALWAYS;
            else if (strcmp(optarg, "interval") == 0)
                o.fsync = HX_FSYNC_INTERVAL;
            else if (strcmp(optarg, "never") == 0)
                o.fsync = HX_FSYNC_NEVER;
            else {
                fprintf(stderr, "helix bench: --fsync must be always, interval or never\n");
                return 2;
            }
            break;
        case 'd': o.data_dir = optarg; break;
        case 'b':
            if (strcmp(optarg, "embedded") && strcmp(optarg, "kafka") && strcmp(optarg, "mock") &&
                strcmp(optarg, "neo4j") && strcmp(optarg, "clickhouse")) {
                fprintf(stderr, "helix bench: --backend must be embedded, kafka, mock (kafka bench), neo4j (graph "
                                "bench) or clickhouse (analytics bench)\n");
                return 2;
            }
            o.backend = optarg;
            break;
        case 'B': o.bootstrap = optarg; break;
        case 't': o.topic = optarg; break;
        case 's':
            o.seconds = atof(optarg);
            if (o.seconds <= 0 || o.seconds > 3600) {
                fprintf(stderr, "helix bench: --seconds must be a number of seconds in (0, 3600]\n");
                return 2;
            }
            break;
        case 'K': o.compare_kcat = 1; break;
        case 'e': o.eval = 1; break;
        case 'E': o.eval = 1; o.eval_data = optarg; break;
        case 'u': o.uri = optarg; break;
        case 'U': o.url = optarg; break;
        case 'C': o.compare = 1; break;
        case 'P':
            if (!hx_bench_http_endpoint_ok(optarg)) {
                fprintf(stderr, "helix bench: --endpoint must be records, messages, memory or health\n");
                return 2;
            }
            o.endpoint = optarg;
            break;
        case 'L':
            if (strcmp(optarg, "helix") && strcmp(optarg, "wrk")) {
                fprintf(stderr, "helix bench: --load-generator must be helix or wrk\n");
                return 2;
            }
            o.load_generator = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    const char *which = argv[optind];
    if (o.backend && strcmp(o.backend, "neo4j") == 0 && (!o.uri || strcmp(which, "graph") != 0)) {
        fprintf(stderr, "helix bench: --backend neo4j is for the graph bench and needs --uri bolt://HOST:PORT\n");
        return 2;
    }
    if (o.backend && strcmp(o.backend, "kafka") == 0 && !o.bootstrap) {
        fprintf(stderr, "helix bench: --backend kafka needs --bootstrap HOST:PORT (or use --backend mock)\n");
        return 2;
    }
    int all = strcmp(which, "all") == 0, found = 0, failed = 0;
    json_t *results = json_object();
    printf("| %-24s | %-30s | %-36s | %-10s | %-10s | %-10s |\n", "Component", "Metric", "Measured", "Target",
           "Acceptable", "Verdict");
    printf("|%s|%s|%s|%s|%s|%s|\n", "--------------------------", "--------------------------------",
           "--------------------------------------", "------------", "------------", "------------");
    for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++) {
        if (!all && strcmp(which, drivers[i].name) != 0)
            continue;
        found = 1;
        json_t *r = NULL;
        hx_err_t err = {0};
        int (*fn)(const hx_bench_opts_t *, json_t **, hx_err_t *) = drivers[i].fn;
        if (o.compare && fn == hx_bench_analytics)
            fn = hx_bench_analytics_compare;
        if (fn(&o, &r, &err)) {
            fprintf(stderr, "helix bench %s: %s\n", drivers[i].name, err.msg);
            failed = 1;
        }
        if (r)
            json_object_set_new(results, drivers[i].name, r);
    }
    if (!found) {
        fprintf(stderr, "helix bench: unknown component '%s'\n", which);
        usage(stderr);
        json_decref(results);
        return 2;
    }
    if (json_path) {
        json_t *doc = all ? json_incref(results) : json_incref(json_object_get(results, which));
        if (!doc || json_dump_file(doc, json_path, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) {
            fprintf(stderr, "helix bench: cannot write %s\n", json_path);
            failed = 1;
        } else {
            fprintf(stderr, "helix bench: results written to %s\n", json_path);
        }
        json_decref(doc);
    }
    json_decref(results);
    return failed;
}
