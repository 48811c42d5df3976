/* `helix topic create|list|describe|delete`: on the data dir's event log, or
 * over HTTP when a running server holds it (or with --server). */
#include "cli/commands.h"
#include "cli/remote.h"
#include "helix/hx_broker.h"
#include "helix/hx_topics.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
                 "common options: --config FILE, --data-dir DIR, --server URL. The command opens the data\n"
                 "dir's event log itself; when a running `helix serve` holds the data dir it uses that\n"
                 "server's HTTP API instead (cli.server_url, default http://server.host:server.port), and\n"
                 "--server URL always does (with cli.api_key, or server.token, as the bearer key).\n");
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
    if (!ti->partitions) {
        printf("(partition figures count every tenant's records: they need an admin key)\n");
        return;
    }
    printf("%9s %14s %14s %12s %8s\n", "partition", "low", "high", "bytes", "segments");
    for (int i = 0; i < ti->config.partitions; i++) {
        const hx_partition_info_t *p = &ti->partitions[i];
        printf("%9d %14lld %14lld %12lld %8d\n", p->partition, (long long)p->low_watermark,
               (long long)p->high_watermark, (long long)p->bytes, p->segments);
    }
}

/* GET /v1/topics/{t} as an hx_topic_info_t (partitions NULL without figures). */
static int remote_describe(const hx_cli_remote_t *r, const char *name, hx_topic_info_t *ti, hx_err_t *err)
{
    char esc[3 * HX_TOPIC_NAME_MAX + 1], path[sizeof esc + 16];
    hx_cli_escape(name, esc, sizeof esc);
    snprintf(path, sizeof path, "/v1/topics/%s", esc);
    json_t *j;
    int rc = hx_cli_http(r, "GET", path, NULL, NULL, &j, err);
    if (rc)
        return rc;
    memset(ti, 0, sizeof *ti);
    snprintf(ti->name, sizeof ti->name, "%s", name);
    ti->config_known = json_is_true(json_object_get(j, "config_known"));
    ti->config.partitions = (int)json_integer_value(json_object_get(j, "partitions"));
    ti->config.retention_ms = json_integer_value(json_object_get(j, "retention_ms"));
    ti->config.retention_bytes = json_integer_value(json_object_get(j, "retention_bytes"));
    const char *comp = json_string_value(json_object_get(j, "compression"));
    snprintf(ti->config.compression, sizeof ti->config.compression, "%s", comp ? comp : "");
    const char *cl = json_string_value(json_object_get(j, "cleanup_policy"));
    ti->config.cleanup = cl && strcmp(cl, "compact") == 0 ? HX_CLEANUP_COMPACT : HX_CLEANUP_DELETE;
    json_t *parts = json_object_get(j, "partition_info");
    if (json_is_array(parts) && json_array_size(parts) == (size_t)ti->config.partitions && ti->config.partitions > 0) {
        ti->partitions = calloc((size_t)ti->config.partitions, sizeof *ti->partitions);
        for (int i = 0; ti->partitions && i < ti->config.partitions; i++) {
            json_t *p = json_array_get(parts, (size_t)i);
            ti->partitions[i].partition = (int32_t)json_integer_value(json_object_get(p, "partition"));
            ti->partitions[i].low_watermark = json_integer_value(json_object_get(p, "low_watermark"));
            ti->partitions[i].high_watermark = json_integer_value(json_object_get(p, "high_watermark"));
            ti->partitions[i].bytes = json_integer_value(json_object_get(p, "bytes"));
            ti->partitions[i].segments = (int)json_integer_value(json_object_get(p, "segments"));
        }
    }
    json_decref(j);
    return HX_OK;
}

static int run_remote(const hx_cli_remote_t *r, const char *sub, const char *name, const hx_topic_config_t *tc,
                      int force, hx_err_t *err)
{
    char esc[3 * HX_TOPIC_NAME_MAX + 1] = "", path[sizeof esc + 32];
    if (name)
        hx_cli_escape(name, esc, sizeof esc);
    json_t *j = NULL;
    int rc;
    if (strcmp(sub, "create") == 0) {
        json_t *b = json_pack("{s:s,s:i,s:I,s:I,s:s,s:s,s:I}", "name", name, "partitions", tc->partitions,
                              "retention_ms", (json_int_t)tc->retention_ms, "retention_bytes",
                              (json_int_t)tc->retention_bytes, "compression", tc->compression, "cleanup_policy",
                              tc->cleanup == HX_CLEANUP_COMPACT ? "compact" : "delete", "max_message_bytes",
                              (json_int_t)tc->max_message_bytes);
        rc = b ? hx_cli_http(r, "POST", "/v1/topics", b, NULL, &j, err) : hx_err_set(err, HX_ENOMEM, "out of memory");
        json_decref(b);
        if (!rc)
            printf("created topic %s (%d partitions, %s)\n", name, tc->partitions, tc->compression);
    } else if (strcmp(sub, "list") == 0) {
        if ((rc = hx_cli_http(r, "GET", "/v1/topics", NULL, NULL, &j, err)) == 0) {
            json_t *t;
            size_t i;
            json_array_foreach(json_object_get(j, "topics"), i, t)
                printf("%s\n", json_string_value(json_object_get(t, "name")));
        }
    } else if (strcmp(sub, "describe") == 0) {
        hx_topic_info_t ti;
        if ((rc = remote_describe(r, name, &ti, err)) == 0) {
            print_describe(&ti);
            hx_topic_info_free(&ti);
        }
    } else {
        snprintf(path, sizeof path, "/v1/topics/%s%s", esc, force ? "?force=true" : "");
        if ((rc = hx_cli_http(r, "DELETE", path, NULL, NULL, &j, err)) == 0)
            printf("deleted topic %s\n", name);
    }
    json_decref(j);
    return rc;
}

static int run_local(hx_broker_t *b, const char *sub, const char *name, const hx_topic_config_t *tc, hx_err_t *err)
{
    int rc;
    if (strcmp(sub, "create") == 0) {
        if ((rc = hx_broker_topic_create(b, name, tc, err)) == 0)
            printf("created topic %s (%d partitions, %s)\n", name, tc->partitions, tc->compression);
    } else if (strcmp(sub, "list") == 0) {
        hx_name_list_t l;
        if ((rc = hx_broker_topic_list(b, &l, err)) == 0) {
            for (size_t i = 0; i < l.count; i++)
                printf("%s\n", l.names[i]);
            hx_name_list_free(&l);
        }
    } else if (strcmp(sub, "describe") == 0) {
        hx_topic_info_t ti;
        if ((rc = hx_broker_topic_describe(b, name, &ti, err)) == 0) {
            print_describe(&ti);
            hx_topic_info_free(&ti);
        }
    } else {
        if ((rc = hx_broker_topic_delete(b, name, err)) == 0)
            printf("deleted topic %s\n", name);
    }
    return rc;
}

int hx_cmd_topic(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},      {"data-dir", required_argument, 0, 'd'},
        {"partitions", required_argument, 0, 'p'},  {"retention-ms", required_argument, 0, 'r'},
        {"retention-bytes", required_argument, 0, 'b'}, {"compression", required_argument, 0, 'z'},
        {"compact", no_argument, 0, 'C'},           {"max-message-bytes", required_argument, 0, 'm'},
        {"force", no_argument, 0, 'f'},             {"server", required_argument, 0, 'S'},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    hx_cli_common_t co = {0};
    hx_topic_config_t tc;
    hx_topic_config_defaults(&tc);
    int c, bad = 0, force = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': co.config = optarg; break;
        case 'd': co.data_dir = optarg; break;
        case 'S': co.server = optarg; break;
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
    if (strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "describe") && strcmp(sub, "delete")) {
        fprintf(stderr, "helix topic: unknown command '%s'\n", sub);
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
    hx_cli_remote_t remote;
    int rc = hx_cli_open_target(&co, &cfg, &b, &remote);
    if (rc)
        return rc;
    hx_err_t err = {0};
    rc = b ? run_local(b, sub, name, &tc, &err) : run_remote(&remote, sub, name, &tc, force, &err);
    if (rc)
        fprintf(stderr, "helix topic %s: %s\n", sub, err.msg);
    hx_broker_close(b);
    return hx_cli_exit_code(rc);
}
