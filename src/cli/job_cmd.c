/* `helix job submit|ls|status|cancel`: the job runner lives in `helix
 * serve`, so these always talk to its HTTP API (--server URL, or as the other
 * data commands find it: cli.server_url, <data_dir>/serve.url,
 * server.host:server.port). On a terminal, `submit --wait` and
 * `status --watch` draw a progress bar. */
#include "cli/commands.h"
#include "cli/remote.h"
#include "helix/hx_clock.h"
#include "helix/hx_config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: helix job <command> [options]\n\n"
                 "  submit TYPE [--param KEY=VALUE]... [--wait]\n"
                 "         TYPE: compaction, retention, export, analytics_backfill, entity_extraction\n"
                 "  ls [--state S]\n"
                 "  status ID [--watch]\n"
                 "  cancel ID\n\n"
                 "options: --server URL (default: cli.server_url, the data dir's running server, or\n"
                 "         server.host:server.port), --tenant T (admin keys only), --config FILE, --data-dir DIR,\n"
                 "         --json (print the raw JSON)\n");
}

static void print_job(const json_t *j)
{
    printf("%s  %-18s %-10s %3.0f%%  %s\n", json_string_value(json_object_get(j, "id")),
           json_string_value(json_object_get(j, "type")), json_string_value(json_object_get(j, "state")),
           json_number_value(json_object_get(j, "progress")) * 100,
           json_string_value(json_object_get(j, "error")) ?: "");
}

static void print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    if (s)
        puts(s);
    free(s);
}

static int finished(const json_t *j)
{
    const char *s = json_string_value(json_object_get(j, "state"));
    return s && strcmp(s, "queued") && strcmp(s, "running");
}

/* Polls until the job finishes, drawing a bar when stderr is a terminal. */
static int watch(const hx_cli_remote_t *r, const char *tenant, const char *id, int as_json)
{
    char esc[400], path[450];
    hx_cli_escape(id, esc, sizeof esc);
    snprintf(path, sizeof path, "/v1/jobs/%s", esc);
    int tty = isatty(STDERR_FILENO);
    for (;;) {
        json_t *j;
        hx_err_t err = {0};
        int rc = hx_cli_http(r, "GET", path, NULL, tenant, &j, &err);
        if (rc) {
            fprintf(stderr, "helix job: %s\n", err.msg);
            return hx_cli_exit_code(rc);
        }
        double p = json_number_value(json_object_get(j, "progress"));
        if (tty) {
            int w = 40, fill = (int)(p * w + 0.5);
            fprintf(stderr, "\r%-9s [", json_string_value(json_object_get(j, "state")));
            for (int i = 0; i < w; i++)
                fputc(i < fill ? '#' : '.', stderr);
            fprintf(stderr, "] %3.0f%%  ", p * 100);
            fflush(stderr);
        }
        if (finished(j)) {
            if (tty)
                fputc('\n', stderr);
            if (as_json) {
                print_json(j);
            } else {
                print_job(j);
                json_t *res = json_object_get(j, "result");
                if (res && !json_is_null(res)) {
                    char *s = json_dumps(res, JSON_COMPACT);
                    printf("result: %s\n", s);
                    free(s);
                }
            }
            int ok = !strcmp(json_string_value(json_object_get(j, "state")), "succeeded");
            json_decref(j);
            return ok ? 0 : 1;
        }
        json_decref(j);
        hx_sleep_ms(200);
    }
}

int hx_cmd_job(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, 0, 'S'}, {"tenant", required_argument, 0, 't'},
        {"config", required_argument, 0, 'c'}, {"data-dir", required_argument, 0, 'd'},
        {"param", required_argument, 0, 'p'},  {"wait", no_argument, 0, 'w'},
        {"watch", no_argument, 0, 'w'},        {"state", required_argument, 0, 's'},
        {"json", no_argument, 0, 'j'},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *server = NULL, *config = NULL, *data_dir = NULL, *state = NULL, *tenant = NULL;
    json_t *params = json_object();
    int wait = 0, as_json = 0, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "S:t:c:d:p:ws:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'S': server = optarg; break;
        case 't': tenant = optarg; break;
        case 'c': config = optarg; break;
        case 'd': data_dir = optarg; break;
        case 'w': wait = 1; break;
        case 's': state = optarg; break;
        case 'j': as_json = 1; break;
        case 'p': {
            char *eq = strchr(optarg, '=');
            if (!eq) {
                fprintf(stderr, "helix job: --param takes KEY=VALUE, got '%s'\n", optarg);
                json_decref(params);
                return 2;
            }
            *eq = 0;
            /* Numbers stay numbers (ms timestamps); everything else is a string. */
            char *end;
            long long v = strtoll(eq + 1, &end, 10);
            json_object_set_new(params, optarg, *end || !eq[1] ? json_string(eq + 1) : json_integer(v));
            break;
        }
        case 'h': usage(stdout); json_decref(params); return 0;
        default: usage(stderr); json_decref(params); return 2;
        }
    }
    static hx_config_t cfg;
    if (optind >= argc || hx_cli_load_config(config, data_dir, NULL, NULL, &cfg)) {
        if (optind >= argc)
            usage(stderr);
        json_decref(params);
        return 2;
    }
    hx_cli_remote_t r;
    hx_cli_remote_init(&cfg, server, &r);
    snprintf(r.why, sizeof r.why, "%s", server ? "--server" : "jobs run inside helix serve");
    const char *cmd = argv[optind], *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
    char esc[400], path[500];
    json_t *j = NULL;
    hx_err_t err = {0};
    int rc = 0, code = 0;
    if (!strcmp(cmd, "submit") && arg) {
        json_t *body = json_pack("{s:s,s:O}", "type", arg, "params", params);
        rc = hx_cli_http(&r, "POST", "/v1/jobs", body, tenant, &j, &err);
        json_decref(body);
        if (!rc && wait)
            code = watch(&r, tenant, json_string_value(json_object_get(j, "id")), as_json);
        else if (!rc)
            printf("%s\n", json_string_value(json_object_get(j, "id")));
    } else if (!strcmp(cmd, "ls")) {
        if (state)
            hx_cli_escape(state, esc, sizeof esc);
        snprintf(path, sizeof path, "/v1/jobs%s%s", state ? "?state=" : "", state ? esc : "");
        rc = hx_cli_http(&r, "GET", path, NULL, tenant, &j, &err);
        size_t i;
        json_t *e;
        if (!rc && as_json)
            print_json(j);
        else if (!rc)
            json_array_foreach(json_object_get(j, "jobs"), i, e)
                print_job(e);
    } else if (!strcmp(cmd, "status") && arg) {
        if (wait) {
            code = watch(&r, tenant, arg, as_json);
        } else {
            hx_cli_escape(arg, esc, sizeof esc);
            snprintf(path, sizeof path, "/v1/jobs/%s", esc);
            if (!(rc = hx_cli_http(&r, "GET", path, NULL, tenant, &j, &err)))
                print_json(j);
        }
    } else if (!strcmp(cmd, "cancel") && arg) {
        hx_cli_escape(arg, esc, sizeof esc);
        snprintf(path, sizeof path, "/v1/jobs/%s", esc);
        if (!(rc = hx_cli_http(&r, "DELETE", path, NULL, tenant, &j, &err)))
            print_job(j);
    } else {
        usage(stderr);
        code = 2;
    }
    if (rc) {
        fprintf(stderr, "helix job: %s\n", err.msg);
        code = hx_cli_exit_code(rc);
    }
    json_decref(j);
    json_decref(params);
    return code;
}
