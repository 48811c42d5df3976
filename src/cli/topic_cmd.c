/* `helix topic create|list|describe|delete` and the broker opening shared by
 * the data commands (topic, produce, consume). */
#include "cli/commands.h"
#include "helix/hx_broker.h"
#include "helix/hx_topics.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hx_cli_open_broker(const char *config, const char *data_dir, hx_config_t *cfg, hx_broker_t **out)
{
    if (hx_cli_load_config(config, data_dir, NULL, NULL, cfg))
        return 2;
    hx_err_t err = {0};
    int rc = hx_broker_open(cfg, NULL, out, &err);
    if (rc == HX_EUNAVAIL && strcmp(cfg->backends.events, "embedded") == 0) {
        fprintf(stderr, "helix: %s\n       (a running `helix serve` owns it: use its HTTP API, e.g. "
                        "curl http://%s:%d/v1/topics, or stop it first)\n",
                err.msg, cfg->server.host, cfg->server.port);
        return 1;
    }
    if (rc) {
        fprintf(stderr, "helix: %s\n", err.msg);
        return rc == HX_ECONFIG ? 2 : 1;
    }
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: helix topic <command> [options]\n\n"
                 "  create NAME [--partitions N] [--retention-ms MS] [--retention-bytes B]\n"
                 "              [--compression none|lz4|zstd] [--compact] [--max-message-bytes B]\n"
                 "  list\n"
                 "  describe NAME     partitions with low/high watermarks, bytes and segments\n"
                 "  delete NAME [--force]\n"
                 "                    helixagent.* topics hold what Helix's stores read: deleting one\n"
                 "                    loses their data and needs --force\n\n"
                 "common options: --config FILE, --data-dir DIR (the embedded log is opened directly,\n"
                 "so stop `helix serve` on the same data dir first, or use the HTTP API)\n");
}

static long long num(const char *s, const char *what, int *bad)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end) {
        fprintf(stderr, "helix topic: %s must be an integer, got '%s'\n", what, s);
        *bad = 1;
    }
    return v;
}

static void print_describe(const hx_topic_info_t *ti)
{
    if (ti->config_known)
        printf("topic %s: %d partition(s), compression %s, cleanup %s, retention_ms %lld, retention_bytes %lld\n",
               ti->name, ti->config.partitions, ti->config.compression,
               ti->config.cleanup == HX_CLEANUP_COMPACT ? "compact" : "delete", (long long)ti->config.retention_ms,
               (long long)ti->config.retention_bytes);
    else
        printf("topic %s: %d partition(s) (the broker does not report topic configs)\n", ti->name,
               ti->config.partitions);
    printf("%9s %14s %14s %12s %8s\n", "partition", "low", "high", "bytes", "segments");
    for (int i = 0; i < ti->config.partitions; i++) {
        const hx_partition_info_t *p = &ti->partitions[i];
        printf("%9d %14lld %14lld %12lld %8d\n", p->partition, (long long)p->low_watermark,
               (long long)p->high_watermark, (long long)p->bytes, p->segments);
    }
}

int hx_cmd_topic(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},      {"data-dir", required_argument, 0, 'd'},
        {"partitions", required_argument, 0, 'p'},  {"retention-ms", required_argument, 0, 'r'},
        {"retention-bytes", required_argument, 0, 'b'}, {"compression", required_argument, 0, 'z'},
        {"compact", no_argument, 0, 'C'},           {"max-message-bytes", required_argument, 0, 'm'},
        {"force", no_argument, 0, 'f'},             {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *config = NULL, *data_dir = NULL;
    hx_topic_config_t tc;
    hx_topic_config_defaults(&tc);
    int c, bad = 0, force = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'd': data_dir = optarg; break;
        case 'p': tc.partitions = (int)num(optarg, "--partitions", &bad); break;
        case 'r': tc.retention_ms = num(optarg, "--retention-ms", &bad); break;
        case 'b': tc.retention_bytes = num(optarg, "--retention-bytes", &bad); break;
        case 'm': tc.max_message_bytes = num(optarg, "--max-message-bytes", &bad); break;
        case 'z': snprintf(tc.compression, sizeof tc.compression, "%s", optarg); break;
        case 'C': tc.cleanup = HX_CLEANUP_COMPACT; break;
        case 'f': force = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    const char *sub = optind < argc ? argv[optind] : NULL;
    const char *name = optind + 1 < argc ? argv[optind + 1] : NULL;
    int needs_name = sub && strcmp(sub, "list") != 0;
    if (bad || !sub || (needs_name && !name) || optind + 1 + needs_name < argc) {
        usage(stderr);
        return 2;
    }
    if (strcmp(sub, "delete") == 0 && hx_topic_protected(name) && !force) {
        fprintf(stderr, "helix topic delete: topic '%s' is protected: Helix's stores read it and deleting it "
                        "loses their data; add --force if you mean it\n", name);
        return 2;
    }
    hx_config_t cfg;
    hx_broker_t *b;
    int rc = hx_cli_open_broker(config, data_dir, &cfg, &b);
    if (rc)
        return rc;
    hx_err_t err = {0};
    int out = 0;
    if (strcmp(sub, "create") == 0) {
        if ((rc = hx_broker_topic_create(b, name, &tc, &err)) == 0)
            printf("created topic %s (%d partitions, %s)\n", name, tc.partitions, tc.compression);
    } else if (strcmp(sub, "list") == 0) {
        hx_name_list_t l;
        if ((rc = hx_broker_topic_list(b, &l, &err)) == 0) {
            for (size_t i = 0; i < l.count; i++)
                printf("%s\n", l.names[i]);
            hx_name_list_free(&l);
        }
    } else if (strcmp(sub, "describe") == 0) {
        hx_topic_info_t ti;
        if ((rc = hx_broker_topic_describe(b, name, &ti, &err)) == 0) {
            print_describe(&ti);
            hx_topic_info_free(&ti);
        }
    } else if (strcmp(sub, "delete") == 0) {
        if ((rc = hx_broker_topic_delete(b, name, &err)) == 0)
            printf("deleted topic %s\n", name);
    } else {
        fprintf(stderr, "helix topic: unknown command '%s'\n", sub);
        out = 2;
    }
    if (rc) {
        fprintf(stderr, "helix topic %s: %s\n", sub, err.msg);
        out = rc == HX_EINVAL || rc == HX_ECONFIG ? 2 : 1;
    }
    hx_broker_close(b);
    return out;
}
