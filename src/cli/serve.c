/* `helix serve`: loads the configuration, opens every subsystem of the table
 * (hx_app.h), serves the HTTP API until SIGINT/SIGTERM, then stops the server
 * and closes the subsystems in reverse order. */
#include "cli/commands.h"
#include "helix/hx_app.h"
#include "helix/hx_broker.h"
#include "helix/hx_config.h"
#include "helix/hx_fs.h"
#include "helix/hx_logger.h"
#include "helix/hx_metrics.h"
#include "helix/hx_server.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
            HX_CONFIG_DEFAULT_PATH);
}

int hx_cli_load_config(const char *path, const char *data_dir, const char *port, const char *host, hx_config_t *cfg)
{
    hx_err_t err = {0};
    const hx_config_override_t ov[] = {{"node.data_dir", data_dir}, {"server.port", port}, {"server.host", host}};
    if (hx_config_load_layered(cfg, path, ov, sizeof ov / sizeof ov[0], &err)) {
        fprintf(stderr, "helix: %s\n", err.msg);
        return 2;
    }
    hx_level_t lvl;
    if (hx_logger_parse_level(cfg->node.log_level, &lvl) == 0)
        hx_logger_set_level(lvl);
    return 0;
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
    hx_server_t *srv = NULL;
    hx_app_t app = {0};
    if (!metrics) {
        fprintf(stderr, "helix: out of memory\n");
        return 1;
    }
    if (hx_config_node_id(&cfg, &err) || hx_server_new(&cfg, metrics, &srv, &err) ||
        hx_app_open(&app, &cfg, metrics, &err) || hx_app_mount(&app, srv, &err) || hx_server_start(srv, &err))
        goto fail;
    char keys[HX_CFG_STR + 16];
    hx_keys_path(&cfg, keys, sizeof keys);
    const char *auth = access(keys, F_OK) == 0 ? "keys" : cfg.server.token[0] ? "token" : "off";
    HX_INFO("serve", "helix %s listening on http://%s:%d node=%s data_dir=%s events=%s(fsync=%s) analytics=%s graph=%s auth=%s",
            HX_VERSION, cfg.server.host, hx_server_port(srv), cfg.node.node_id, cfg.node.data_dir,
            hx_broker_backend(app.broker),
            cfg.event_log.fsync == HX_FSYNC_ALWAYS ? "always" : cfg.event_log.fsync == HX_FSYNC_INTERVAL ? "interval" : "never",
            cfg.backends.analytics, cfg.backends.graph, auth);
    /* Where this server answers, for CLI commands that find the data dir
     * locked (remote.c); --port 0 makes it unguessable from the config. */
    char url_path[HX_CFG_STR + 16], url[HX_CFG_STR + 32];
    snprintf(url_path, sizeof url_path, "%s/serve.url", cfg.node.data_dir);
    int v6 = strchr(cfg.server.host, ':') != NULL;
    int n = snprintf(url, sizeof url, "http://%s%s%s:%d\n", v6 ? "[" : "", cfg.server.host, v6 ? "]" : "",
                     hx_server_port(srv));
    if (hx_fs_write_atomic_flags(url_path, url, (size_t)n, HX_FS_NO_SYNC, &err))
        HX_WARN("serve", "%s (CLI commands will need --server)", err.msg);
    int sig = 0;
    sigwait(&sigs, &sig);
    unlink(url_path);
    HX_INFO("serve", "%s received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    exit_code = 0;
    goto cleanup;
fail:
    fprintf(stderr, "helix serve: %s\n", err.msg[0] ? err.msg : "startup failed");
    exit_code = err.code == HX_ECONFIG ? 2 : 1;
cleanup:
    hx_server_free(srv); /* first: no request may reach a closed engine */
    hx_app_close(&app);
    hx_metrics_free(metrics);
    if (exit_code == 0)
        HX_INFO("serve", "stopped cleanly");
    return exit_code;
}
