/* `helix job submit|ls|status|cancel`: the job runner lives in `helix
 * serve`, so these talk to its HTTP API (--url, default from server.host and
 * server.port; the token from server.token or HELIX_TOKEN). On a terminal,
 * `submit --wait` and `status --watch` draw a progress bar. */
#include "cli/commands.h"
#include "helix/hx_buf.h"
#include "helix/hx_clock.h"
#include "helix/hx_config.h"

#include <curl/curl.h>
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
                 "options: --url http://HOST:PORT (default from the config), --token T (or HELIX_TOKEN),\n"
                 "         --tenant T (admin keys only), --config FILE, --json (print the raw JSON)\n");
}

static size_t sink(char *p, size_t sz, size_t n, void *ctx)
{
    return hx_buf_append(ctx, p, sz * n) ? 0 : sz * n;
}

typedef struct cli {
    char url[512];
    const char *token, *tenant;
} cli_t;

/* Returns the HTTP status (0 when unreachable); *out the parsed body. */
static long call(const cli_t *c, const char *method, const char *path, const char *body, json_t **out)
{
    CURL *h = curl_easy_init();
    hx_buf_t b = HX_BUF_INIT;
    char url[1024], auth[600], ten[300];
    snprintf(url, sizeof url, "%s%s", c->url, path);
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    if (c->token && *c->token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
        hd = curl_slist_append(hd, auth);
    }
    if (c->tenant) {
        snprintf(ten, sizeof ten, "X-Helix-Tenant: %s", c->tenant);
        hd = curl_slist_append(hd, ten);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    long status = 0;
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "helix job: cannot reach %s: %s (is `helix serve` running? --url sets the address)\n",
                c->url, curl_easy_strerror(rc));
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    *out = b.len ? json_loadb((const char *)b.data, b.len, 0, NULL) : NULL;
    hx_buf_free(&b);
    return status;
}

static int report_error(long status, json_t *j)
{
    if (status == 0)
        return 1;
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    fprintf(stderr, "helix job: HTTP %ld: %s\n", status, msg ? msg : "unexpected answer");
    return 1;
}

static void print_job(const json_t *j)
{
    printf("%s  %-18s %-10s %3.0f%%  %s\n", json_string_value(json_object_get(j, "id")),
           json_string_value(json_object_get(j, "type")), json_string_value(json_object_get(j, "state")),
           json_number_value(json_object_get(j, "progress")) * 100,
           json_string_value(json_object_get(j, "error")) ?: "");
}

static int finished(const json_t *j)
{
    const char *s = json_string_value(json_object_get(j, "state"));
    return s && strcmp(s, "queued") && strcmp(s, "running");
}

/* Polls until the job finishes, drawing a bar when stderr is a terminal. */
static int watch(const cli_t *c, const char *id, int as_json)
{
    char path[300];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    int tty = isatty(STDERR_FILENO);
    for (;;) {
        json_t *j;
        long st = call(c, "GET", path, NULL, &j);
        if (st != 200) {
            int rc = report_error(st, j);
            json_decref(j);
            return rc;
        }
        double p = json_number_value(json_object_get(j, "progress"));
        if (tty) {
            int w = 40, fill = (int)(p * w + 0.5);
            fprintf(stderr, "\r%s [", json_string_value(json_object_get(j, "state")));
            for (int i = 0; i < w; i++)
                fputc(i < fill ? '#' : '.', stderr);
            fprintf(stderr, "] %3.0f%%  ", p * 100);
            fflush(stderr);
        }
        if (finished(j)) {
            if (tty)
                fputc('\n', stderr);
            if (as_json) {
                char *s = json_dumps(j, JSON_INDENT(2));
                puts(s);
                free(s);
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
        {"url", required_argument, 0, 'u'},   {"token", required_argument, 0, 'k'}, {"tenant", required_argument, 0, 't'},
        {"config", required_argument, 0, 'c'}, {"param", required_argument, 0, 'p'}, {"wait", no_argument, 0, 'w'},
        {"watch", no_argument, 0, 'w'},        {"state", required_argument, 0, 's'}, {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    cli_t c = {{0}, getenv("HELIX_TOKEN"), NULL};
    const char *url = NULL, *config = NULL, *state = NULL;
    json_t *params = json_object();
    int wait = 0, as_json = 0, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "u:k:t:c:p:ws:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'u': url = optarg; break;
        case 'k': c.token = optarg; break;
        case 't': c.tenant = optarg; break;
        case 'c': config = optarg; break;
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
    if (optind >= argc) {
        usage(stderr);
        json_decref(params);
        return 2;
    }
    static hx_config_t cfg;
    if (!url) {
        if (hx_cli_load_config(config, NULL, NULL, NULL, &cfg)) {
            json_decref(params);
            return 2;
        }
        snprintf(c.url, sizeof c.url, "http://%s:%d", cfg.server.host, cfg.server.port);
        if (!c.token && cfg.server.token[0])
            c.token = cfg.server.token;
    } else {
        snprintf(c.url, sizeof c.url, "%s", url);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *cmd = argv[optind], *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
    int rc = 0;
    json_t *j = NULL;
    char path[400];
    if (!strcmp(cmd, "submit") && arg) {
        json_t *body = json_pack("{s:s,s:O}", "type", arg, "params", params);
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        long st = call(&c, "POST", "/v1/jobs", text, &j);
        free(text);
        if (st != 202) {
            rc = report_error(st, j);
        } else if (wait) {
            rc = watch(&c, json_string_value(json_object_get(j, "id")), as_json);
        } else {
            printf("%s\n", json_string_value(json_object_get(j, "id")));
        }
    } else if (!strcmp(cmd, "ls")) {
        snprintf(path, sizeof path, "/v1/jobs%s%s", state ? "?state=" : "", state ? state : "");
        long st = call(&c, "GET", path, NULL, &j);
        if (st != 200) {
            rc = report_error(st, j);
        } else if (as_json) {
            char *s = json_dumps(j, JSON_INDENT(2));
            puts(s);
            free(s);
        } else {
            size_t i;
            json_t *e;
            json_array_foreach(json_object_get(j, "jobs"), i, e)
                print_job(e);
        }
    } else if (!strcmp(cmd, "status") && arg) {
        if (wait) {
            rc = watch(&c, arg, as_json);
        } else {
            snprintf(path, sizeof path, "/v1/jobs/%s", arg);
            long st = call(&c, "GET", path, NULL, &j);
            if (st != 200) {
                rc = report_error(st, j);
            } else {
                char *s = json_dumps(j, JSON_INDENT(2));
                puts(s);
                free(s);
            }
        }
    } else if (!strcmp(cmd, "cancel") && arg) {
        snprintf(path, sizeof path, "/v1/jobs/%s", arg);
        long st = call(&c, "DELETE", path, NULL, &j);
        if (st != 200)
            rc = report_error(st, j);
        else
            print_job(j);
    } else {
        usage(stderr);
        rc = 2;
    }
    json_decref(j);
    json_decref(params);
    curl_global_cleanup();
    return rc;
}
