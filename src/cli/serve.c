/* `helix serve`: loads the configuration, opens every subsystem, serves the
 * HTTP API until SIGINT/SIGTERM, then shuts down in reverse order. */
#include "cli/commands.h"
#include "helix/hx_api.h"
#include "helix/hx_broker.h"
#include "helix/hx_config.h"
#include "helix/hx_context.h"
#include "helix/hx_logger.h"
#include "helix/hx_memory.h"
#include "helix/hx_metrics.h"
#include "helix/hx_server.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CONFIG "configs/helix.yaml"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: helix serve [--config FILE] [--data-dir DIR] [--port N] [--host ADDR]\n\n"
            "Runs the Helix HTTP API and its subsystems until SIGINT or SIGTERM.\n\n"
            "  --config FILE    configuration file (default: %s if present, else built-in defaults)\n"
            "  --data-dir DIR   node.data_dir: where all local state lives (default ./helix-data)\n"
            "  --port N         server.port (default 7061; 0 picks a free port)\n"
            "  --host ADDR      server.host (default 127.0.0.1)\n\n"
            "Environment variables HELIX_<SECTION>_<KEY> override the file; flags override both.\n",
            DEFAULT_CONFIG);
}

/* Loads the config the way serve and every data command do: file (explicit or
 * the default if present), env, then flags. Exit-code style: 0 or 2. */
int hx_cli_load_config(const char *path, const char *data_dir, const char *port, const char *host, hx_config_t *cfg)
{
    hx_err_t err = {0};
    if (!path && access(DEFAULT_CONFIG, R_OK) == 0)
        path = DEFAULT_CONFIG;
    if (hx_config_load(cfg, path, &err) || (data_dir && hx_config_set(cfg, "node.data_dir", data_dir, &err)) ||
        (port && hx_config_set(cfg, "server.port", port, &err)) ||
        (host && hx_config_set(cfg, "server.host", host, &err))) {
        fprintf(stderr, "helix: %s\n", err.msg);
        return 2;
    }
    hx_level_t lvl;
    if (hx_logger_parse_level(cfg->node.log_level, &lvl) == 0)
        hx_logger_set_level(lvl);
    return 0;
}

/* The node id is generated once and kept in <data_dir>/node_id, so a
 * restarted node is the same node to its peers. */
static int load_node_id(hx_config_t *cfg, hx_err_t *err)
{
    if (cfg->node.node_id[0])
        return HX_OK;
    if (mkdir(cfg->node.data_dir, 0755) && errno != EEXIST)
        return hx_err_set(err, HX_EIO, "cannot create data dir %s: %s", cfg->node.data_dir, strerror(errno));
    char path[HX_CFG_STR + 16];
    snprintf(path, sizeof path, "%s/node_id", cfg->node.data_dir);
    FILE *f = fopen(path, "r");
    if (f) {
        char id[80] = {0};
        int ok = fgets(id, sizeof id, f) != NULL;
        fclose(f);
        id[strcspn(id, "\r\n")] = 0;
        if (ok && id[0]) {
            snprintf(cfg->node.node_id, sizeof cfg->node.node_id, "%s", id);
            return HX_OK;
        }
    }
    unsigned char r[6];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return hx_err_set(err, HX_EIO, "cannot read random bytes for the node id");
    snprintf(cfg->node.node_id, sizeof cfg->node.node_id, "node-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
             r[4], r[5]);
    char tmp[HX_CFG_STR + 20];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return hx_err_set(err, HX_EIO, "cannot write %s: %s", tmp, strerror(errno));
    dprintf(fd, "%s\n", cfg->node.node_id);
    int bad = fsync(fd) != 0;
    close(fd);
    if (bad || rename(tmp, path))
        return hx_err_set(err, HX_EIO, "cannot persist node id in %s: %s", path, strerror(errno));
    return HX_OK;
}

/* The memory engine lives in <data_dir>/memory and replicates through the
 * broker with the node's persistent id. */
static int open_memory(const hx_config_t *cfg, hx_broker_t *broker, hx_metrics_t *metrics, hx_memory_t **out,
                       hx_err_t *err)
{
    char dir[HX_CFG_STR + 16];
    snprintf(dir, sizeof dir, "%s/memory", cfg->node.data_dir);
    hx_memory_opts_t o;
    hx_memory_opts_defaults(&o);
    o.cfg = cfg;
    o.dir = dir;
    o.node_id = cfg->node.node_id;
    o.broker = broker;
    o.metrics = metrics;
    return hx_memory_open(&o, out, err);
}

/* An unreachable Kafka degrades the node (local work goes on, producers
 * retry); a failing local log (HX_EIO) makes it unhealthy. */
static hx_health_t events_health(void *ctx, char *detail, size_t len)
{
    int rc = hx_broker_health(ctx, detail, len);
    return rc == 0 ? HX_HEALTH_HEALTHY : rc == HX_EUNAVAIL ? HX_HEALTH_DEGRADED : HX_HEALTH_UNHEALTHY;
}

static hx_health_t memory_health(void *ctx, char *detail, size_t len)
{
    return hx_memory_health(ctx, detail, len) == 0 ? HX_HEALTH_HEALTHY : HX_HEALTH_DEGRADED;
}

static hx_health_t not_built(void *ctx, char *detail, size_t len)
{
    snprintf(detail, len, "%s", (const char *)ctx);
    return HX_HEALTH_DISABLED;
}

int hx_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"data-dir", required_argument, 0, 'd'},
                                         {"port", required_argument, 0, 'p'},
                                         {"host", required_argument, 0, 'H'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *config = NULL, *data_dir = NULL, *port = NULL, *host = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:p:H:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'd': data_dir = optarg; break;
        case 'p': port = optarg; break;
        case 'H': host = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "helix serve: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    hx_config_t cfg;
    if (hx_cli_load_config(config, data_dir, port, host, &cfg))
        return 2;

    /* Signals are taken synchronously by this thread; block them before any
     * other thread starts so they all inherit the mask. */
    sigset_t sigs;
    hx_cli_block_stop_signals(&sigs);
    signal(SIGPIPE, SIG_IGN);

    hx_err_t err = {0};
    int exit_code = 1;
    hx_metrics_t *metrics = hx_metrics_new();
    hx_broker_t *broker = NULL;
    hx_server_t *srv = NULL;
    hx_context_t *context = NULL;
    hx_memory_t *memory = NULL;
    if (!metrics) {
        fprintf(stderr, "helix: out of memory\n");
        return 1;
    }
    if (load_node_id(&cfg, &err) || hx_broker_open(&cfg, metrics, &broker, &err) ||
        hx_broker_ensure_builtin_topics(broker, &err) || open_memory(&cfg, broker, metrics, &memory, &err) ||
        hx_server_new(&cfg, metrics, &srv, &err) || hx_context_new(&cfg, broker, metrics, &context, &err))
        goto fail;
    hx_api_ctx_t api = {broker, &cfg, cfg.node.node_id};
    if (hx_api_topics_register(srv, &api, &err) || hx_api_context_register(srv, context, &err) ||
        hx_api_memory_register(srv, memory, &err) ||
        hx_server_health_register(srv, "event_log", events_health, broker) ||
        hx_server_health_register(srv, "memory", memory_health, memory) ||
        hx_server_health_register(srv, "analytics", not_built, "analytics store not built yet") ||
        hx_server_health_register(srv, "graph", not_built, "knowledge graph not built yet") ||
        hx_server_start(srv, &err))
        goto fail;
    HX_INFO("serve", "helix %s listening on http://%s:%d node=%s data_dir=%s events=%s(fsync=%s) analytics=%s graph=%s auth=%s",
            HX_VERSION, cfg.server.host, hx_server_port(srv), cfg.node.node_id, cfg.node.data_dir,
            hx_broker_backend(broker),
            cfg.event_log.fsync == HX_FSYNC_ALWAYS ? "always" : cfg.event_log.fsync == HX_FSYNC_INTERVAL ? "interval" : "never",
            cfg.backends.analytics, cfg.backends.graph, cfg.server.token[0] ? "bearer" : "off");
    int sig = 0;
    sigwait(&sigs, &sig);
    HX_INFO("serve", "%s received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    exit_code = 0;
    goto cleanup;
fail:
    fprintf(stderr, "helix serve: %s\n", err.msg[0] ? err.msg : "startup failed");
    exit_code = err.code == HX_ECONFIG ? 2 : 1;
cleanup:
    hx_server_free(srv);
    hx_context_free(context);
    hx_memory_close(memory);
    hx_broker_close(broker);
    hx_metrics_free(metrics);
    if (exit_code == 0)
        HX_INFO("serve", "stopped cleanly");
    return exit_code;
}
