/* `helix bench http`: the HTTP API as a client feels it. A node (every
 * subsystem of hx_app.h, bearer auth on, fsync per --fsync) is started in
 * this process on a loopback port, and a load generator drives it with 32
 * keep-alive connections, one item per request, for --seconds per
 * endpoint: ours (loadgen.c, one thread, the default) or wrk (Debian
 * package wrk, --load-generator wrk, the same requests from Lua):
 *   records                POST /v1/topics/bench.http/records (one envelope)
 *   conversation messages  POST /v1/conversations/{id}/messages (one message)
 *   memory writes          POST /v1/memory (one new memory)
 *   health                 GET /health
 * Every write must answer 2xx, and what was written is counted afterwards
 * (records and messages in the log, memories in the engine), so a rate is
 * never bought with lost or failed requests. */
#include "bench/loadgen.h"
#include "helix/hx_app.h"
#include "helix/hx_bench.h"
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_memory.h"
#include "helix/hx_server.h"
#include "helix/hx_topics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define CONNECTIONS 32
#define TOKEN "helix-bench-http"
#define BENCH_TOPIC "bench.http"

typedef struct {
    const char *name, *json_key, *short_name;
    double target;       /* req/s goal of issue 16; 0 = none */
    const char *lua_request; /* body of request(): n (per thread) and tid are set */
} endpoint_t;

static const endpoint_t endpoints[] = {
    {"records", "records", "records", 50000,
     "return wrk.format('POST', '/v1/topics/" BENCH_TOPIC "/records', nil, "
     "'{\"type\":\"bench.record\",\"key\":\"k' .. (n % 1000) .. '\",\"data\":{\"n\":' .. n .. ',\"t\":' .. tid .. '}}')"},
    {"conversation messages", "conversation_messages", "messages", 30000,
     "return wrk.format('POST', '/v1/conversations/c' .. tid .. '-' .. (n % 200) .. '/messages', nil, "
     "'{\"role\":\"user\",\"content\":\"Alice asks whether PostgreSQL 16 suits the billing service, message ' .. n .. "
     "'\"}')"},
    {"memory writes", "memory_writes", "memory", 30000,
     "return wrk.format('POST', '/v1/memory', nil, '{\"id\":\"b' .. tid .. '-' .. n .. "
     "'\",\"user_id\":\"u' .. (n % 50) .. '\",\"content\":\"prefers OAuth2 with PKCE for service ' .. n .. "
     "'\",\"tags\":[\"auth\"]}')"},
    {"health", "health", "health", 0, "return wrk.format('GET', '/health')"},
};
#define N_ENDPOINTS (sizeof endpoints / sizeof endpoints[0])

int hx_bench_http_endpoint_ok(const char *name)
{
    for (size_t i = 0; i < N_ENDPOINTS; i++)
        if (!strcmp(name, endpoints[i].short_name))
            return 1;
    return 0;
}

typedef struct {
    double rps, p50_ms, p99_ms;
    long requests, errors;
} run_result_t;

static int write_script(const char *path, const endpoint_t *ep, hx_err_t *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return hx_err_set(err, HX_EIO, "cannot write %s: %s", path, strerror(errno));
    fprintf(f,
            "local threads = 0\n"
            "function setup(thread) thread:set('tid', threads); threads = threads + 1 end\n"
            "n = 0\n"
            "wrk.headers['Authorization'] = 'Bearer " TOKEN "'\n"
            "wrk.headers['Content-Type'] = 'application/json'\n"
            "function request() n = n + 1; %s end\n"
            "function done(s, latency, requests)\n"
            "  local e = s.errors\n"
            "  io.write(string.format('HX_RESULT %%d %%d %%d %%d %%d\\n', s.requests, s.duration,\n"
            "    e.status + e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))\n"
            "end\n",
            ep->lua_request);
    if (fclose(f))
        return hx_err_set(err, HX_EIO, "cannot write %s: %s", path, strerror(errno));
    return HX_OK;
}

/* Runs wrk and reads the HX_RESULT line its done() prints. */
static int run_wrk(const char *script, const char *out_path, int port, double secs, run_result_t *r, hx_err_t *err)
{
    char url[64], dur[32], conns[16];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    snprintf(dur, sizeof dur, "%ds", secs < 1 ? 1 : (int)(secs + 0.5));
    snprintf(conns, sizeof conns, "%d", CONNECTIONS);
    char *argv[] = {"wrk", "-t", "2", "-c", conns, "-d", dur, "-s", (char *)script, url, NULL};
    int rc = hx_bench_run_tool(argv, out_path, NULL, err);
    if (rc)
        return rc;
    FILE *f = fopen(out_path, "r");
    char line[512];
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        long long reqs, dur_us, errs, p50, p99;
        if (sscanf(line, "HX_RESULT %lld %lld %lld %lld %lld", &reqs, &dur_us, &errs, &p50, &p99) == 5) {
            r->requests = (long)reqs;
            r->errors = (long)errs;
            r->rps = dur_us > 0 ? (double)(reqs - errs) * 1e6 / (double)dur_us : 0;
            r->p50_ms = (double)p50 / 1000;
            r->p99_ms = (double)p99 / 1000;
            found = 1;
        }
    }
    if (f)
        fclose(f);
    return found ? HX_OK : hx_err_set(err, HX_EIO, "wrk printed no result; its output is in %s", out_path);
}

/* The requests of endpoint ep for our generator: what the Lua of
 * endpoints[] sends, with tid = the connection's parity (wrk ran 2
 * threads) and n counting from 1 over the whole run (ids stay unique). */
typedef struct {
    size_t ep;
    int port;
} gen_ctx_t;

static int gen_request(void *ctx, int conn, uint64_t seq, hx_buf_t *out)
{
    const gen_ctx_t *g = ctx;
    unsigned long long n = (unsigned long long)seq + 1;
    int tid = conn % 2;
    char path[128], body[512], head[512];
    int bl = 0;
    const char *method = "POST";
    switch (g->ep) {
    case 0:
        snprintf(path, sizeof path, "/v1/topics/" BENCH_TOPIC "/records");
        bl = snprintf(body, sizeof body, "{\"type\":\"bench.record\",\"key\":\"k%llu\",\"data\":{\"n\":%llu,\"t\":%d}}",
                      n % 1000, n, tid);
        break;
    case 1:
        snprintf(path, sizeof path, "/v1/conversations/c%d-%llu/messages", tid, n % 200);
        bl = snprintf(body, sizeof body,
                      "{\"role\":\"user\",\"content\":\"Alice asks whether PostgreSQL 16 suits the billing service, "
                      "message %llu\"}", n);
        break;
    case 2:
        snprintf(path, sizeof path, "/v1/memory");
        bl = snprintf(body, sizeof body,
                      "{\"id\":\"b%d-%llu\",\"user_id\":\"u%llu\",\"content\":\"prefers OAuth2 with PKCE for service "
                      "%llu\",\"tags\":[\"auth\"]}", tid, n, n % 50, n);
        break;
    default: method = "GET", snprintf(path, sizeof path, "/health");
    }
    int hl = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer " TOKEN "\r\n",
                      method, path, g->port);
    if (bl)
        hl += snprintf(head + hl, sizeof head - (size_t)hl,
                       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", bl);
    else
        hl += snprintf(head + hl, sizeof head - (size_t)hl, "\r\n");
    int rc = hx_buf_append(out, head, (size_t)hl);
    return rc ? rc : hx_buf_append(out, body, (size_t)bl);
}

static int run_ours(size_t ep, int port, double secs, run_result_t *r, double *gen_cpu, hx_err_t *err)
{
    gen_ctx_t g = {ep, port};
    hx_loadgen_opts_t lo = {.port = port, .connections = CONNECTIONS, .seconds = secs, .request = gen_request,
                            .ctx = &g};
    hx_loadgen_result_t lr;
    int rc = hx_loadgen_run(&lo, &lr, err);
    if (rc)
        return rc;
    r->requests = lr.requests;
    r->errors = lr.errors;
    r->rps = lr.seconds > 0 ? (double)(lr.requests - lr.errors) / lr.seconds : 0;
    r->p50_ms = lr.p50_ms;
    r->p99_ms = lr.p99_ms;
    *gen_cpu = lr.cpu_seconds;
    return HX_OK;
}

/* This process: the node, not wrk (a process of its own); our generator
 * runs in threads of this process, and their time is taken out by the caller. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static double children_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

/* The machine's CPU times from /proc/stat (USER_HZ ticks): all, idle
 * (idle + iowait) and steal (taken by the hypervisor). 0 on failure. */
typedef struct {
    double total, idle, steal;
} host_cpu_t;

static host_cpu_t host_cpu(void)
{
    host_cpu_t h = {0};
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                    &v[6], &v[7]) == 8) {
        for (int i = 0; i < 8; i++)
            h.total += (double)v[i];
        h.idle = (double)(v[3] + v[4]);
        h.steal = (double)v[7];
    }
    if (f)
        fclose(f);
    return h;
}

/* Waits (up to 30 s) until the node is idle: the consumers downstream of
 * a write (lake archiver, graph extraction, graph store, memory sync) work
 * after its answer, and their CPU belongs to the endpoint that caused it,
 * not to the next one measured. Idle = under 5% of a core for 200 ms. */
static void settle(void)
{
    double prev = cpu_seconds();
    for (int i = 0; i < 150; i++) {
        hx_sleep_ms(200);
        double now = cpu_seconds();
        if (now - prev < 0.01)
            return;
        prev = now;
    }
}

/* Records in topic (its offsets start at 0 in the bench's fresh data dir). */
static long topic_records(hx_broker_t *b, const char *topic)
{
    hx_topic_info_t ti;
    if (hx_broker_topic_describe(b, topic, &ti, NULL))
        return -1;
    long n = 0;
    for (int p = 0; p < ti.config.partitions; p++)
        n += (long)ti.partitions[p].high_watermark;
    hx_topic_info_free(&ti);
    return n;
}

/* What endpoint i wrote, counted where it landed; -1 = not counted. Each
 * bench memory is new and written once, so it is one memory.delta record
 * once the publisher has flushed. */
static long written(hx_app_t *app, size_t i)
{
    if (i == 0)
        return topic_records(app->broker, BENCH_TOPIC);
    if (i == 1)
        return topic_records(app->broker, HX_TOPIC_CONVERSATIONS);
    if (i == 2)
        return hx_memory_flush(app->memory, 30000, NULL) ? -1 : topic_records(app->broker, HX_TOPIC_MEMORY_EVENTS);
    return -1;
}

int hx_bench_http(const hx_bench_opts_t *o, json_t **out, hx_err_t *err)
{
    double secs = o->seconds > 0 ? o->seconds : 10;
    char tmpl[64];
    const char *dir;
    int rc = hx_bench_workdir(o, "http", tmpl, sizeof tmpl, &dir, err);
    if (rc)
        return rc;
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s", dir);
    snprintf(cfg.server.token, sizeof cfg.server.token, "%s", TOKEN);
    cfg.server.port = 0;
    cfg.event_log.fsync = o->fsync;
    hx_metrics_t *metrics = hx_metrics_new();
    hx_server_t *srv = NULL;
    hx_app_t app = {0};
    json_t *res = json_object();
    if (!metrics || !res) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory starting the bench");
        goto cleanup;
    }
    hx_topic_config_t tc;
    hx_topic_config_defaults(&tc);
    tc.partitions = 12;
    if ((rc = hx_config_node_id(&cfg, err)) || (rc = hx_server_new(&cfg, metrics, &srv, err)) ||
        (rc = hx_app_open(&app, &cfg, metrics, err)) || (rc = hx_app_mount(&app, srv, err)) ||
        (rc = hx_broker_topic_create(app.broker, BENCH_TOPIC, &tc, err)) || (rc = hx_server_start(srv, err)))
        goto cleanup;
    int port = hx_server_port(srv);
    const char *fs = o->fsync == HX_FSYNC_ALWAYS ? "always" : o->fsync == HX_FSYNC_NEVER ? "never" : "interval";
    int use_wrk = o->load_generator && !strcmp(o->load_generator, "wrk");
    settle(); /* topic creation, group joins */
    for (size_t i = 0; i < N_ENDPOINTS && !rc; i++) {
        const endpoint_t *ep = &endpoints[i];
        if (o->endpoint && strcmp(o->endpoint, ep->short_name))
            continue;
        char script[4200], wout[4200];
        snprintf(script, sizeof script, "%s/wrk-%zu.lua", dir, i);
        snprintf(wout, sizeof wout, "%s/wrk-%zu.out", dir, i);
        if (!o->quiet)
            fprintf(stderr, "bench http: %s for %.0f s, %d connections, %s (fsync=%s)\n", ep->name, secs, CONNECTIONS,
                    use_wrk ? "wrk" : "helix load generator", fs);
        long before = written(&app, i);
        run_result_t r = {0};
        if (use_wrk && (rc = write_script(script, ep, err)))
            break;
        double cpu0 = cpu_seconds(), gen_cpu = 0, kids0 = children_cpu_seconds();
        host_cpu_t h0 = host_cpu();
        if ((rc = use_wrk ? run_wrk(script, wout, port, secs, &r, err) : run_ours(i, port, secs, &r, &gen_cpu, err)))
            break;
        host_cpu_t h1 = host_cpu();
        double run_cpu = cpu_seconds() - cpu0; /* this process during the run: node and our generator */
        double wrk_cpu = children_cpu_seconds() - kids0; /* wrk, a child that has exited */
        settle();
        /* The node's CPU per answered request, the work its consumers did
         * for it included: on a shared machine, the figure other processes'
         * load does not move much. */
        double cpu_us = r.requests > 0 ? (cpu_seconds() - cpu0 - gen_cpu) * 1e6 / (double)r.requests : 0;
        long after = written(&app, i), landed = before >= 0 && after >= 0 ? after - before : -1;
        long ok = r.requests - r.errors;
        char metric[64], value[80], target[24];
        snprintf(metric, sizeof metric, "%s, 1 item/request", ep->name);
        snprintf(value, sizeof value, "%.0f req/s, p99 %.2f ms, %.0f us CPU", r.rps, r.p99_ms, cpu_us);
        snprintf(target, sizeof target, ep->target > 0 ? ">=%.0fK req/s" : "-", ep->target / 1000);
        hx_bench_row(use_wrk ? "HTTP API (wrk, 32 conns)" : "HTTP API (32 conns)", metric, value, target, "-",
                     ep->target > 0 ? hx_bench_verdict(r.rps, ep->target - 1, ep->target / 2, 1) : "-");
        char k[96];
        snprintf(k, sizeof k, "%s_req_per_sec", ep->json_key);
        json_object_set_new(res, k, json_real(r.rps));
        snprintf(k, sizeof k, "%s_p50_ms", ep->json_key);
        json_object_set_new(res, k, json_real(r.p50_ms));
        snprintf(k, sizeof k, "%s_p99_ms", ep->json_key);
        json_object_set_new(res, k, json_real(r.p99_ms));
        snprintf(k, sizeof k, "%s_cpu_us_per_request", ep->json_key);
        json_object_set_new(res, k, json_real(cpu_us));
        /* What the load generator itself cost: on 2 cores it is taken from the node. */
        snprintf(k, sizeof k, "%s_loadgen_cpu_us_per_request", ep->json_key);
        json_object_set_new(res, k, json_real(r.requests > 0 ? (use_wrk ? wrk_cpu : gen_cpu) * 1e6 / (double)r.requests
                                                             : 0));
        snprintf(k, sizeof k, "%s_errors", ep->json_key);
        json_object_set_new(res, k, json_integer(r.errors));
        /* The machine during the run, so a reader can tell a slow run from a
         * busy host: the share of all cores that was idle, taken by the
         * hypervisor (steal), or used by processes other than the bench's. */
        double ticks = h1.total - h0.total, hz = (double)sysconf(_SC_CLK_TCK);
        if (ticks > 0 && hz > 0) {
            double idle = 100 * (h1.idle - h0.idle) / ticks, steal = 100 * (h1.steal - h0.steal) / ticks;
            double ours = 100 * (run_cpu + wrk_cpu) * hz / ticks;
            double other = 100 - idle - steal - ours;
            other = other < 0 ? 0 : other; /* tick rounding */
            snprintf(k, sizeof k, "%s_host_idle_pct", ep->json_key);
            json_object_set_new(res, k, json_real(idle));
            snprintf(k, sizeof k, "%s_host_steal_pct", ep->json_key);
            json_object_set_new(res, k, json_real(steal));
            snprintf(k, sizeof k, "%s_host_other_pct", ep->json_key);
            json_object_set_new(res, k, json_real(other));
            if (!o->quiet)
                fprintf(stderr, "bench http: %s: the cores were %.0f%% idle, %.0f%% stolen by the hypervisor, %.0f%% "
                                "used by other processes\n",
                        ep->name, idle, steal, other);
        }
        if (r.errors) {
            rc = hx_err_set(err, HX_EINTERNAL, "%s: %ld of %ld requests failed (non-2xx or socket errors)%s%s",
                            ep->name, r.errors, r.requests, use_wrk ? "; see " : "", use_wrk ? wout : "");
            break;
        }
        /* wrk counts answered requests; up to one per connection may still
         * have been in flight when it stopped, and land. */
        if (landed >= 0 && (landed < ok || landed > ok + CONNECTIONS)) {
            rc = hx_err_set(err, HX_EINTERNAL, "%s: %ld requests answered 2xx but %ld writes landed", ep->name, ok,
                            landed);
            break;
        }
        if (landed >= 0) {
            snprintf(k, sizeof k, "%s_written", ep->json_key);
            json_object_set_new(res, k, json_integer(landed));
        }
    }
    if (!rc) {
        json_object_set_new(res, "connections", json_integer(CONNECTIONS));
        json_object_set_new(res, "seconds_per_endpoint", json_real(secs));
        json_object_set_new(res, "fsync", json_string(fs));
        json_object_set_new(res, "load_generator", json_string(use_wrk ? "wrk" : "helix"));
        printf("verified: every request answered 2xx and every write landed (fsync=%s, %d connections, %s)\n", fs,
               CONNECTIONS, use_wrk ? "wrk" : "helix load generator");
        *out = res;
        res = NULL;
    }
cleanup:
    hx_server_free(srv);
    hx_app_close(&app);
    hx_metrics_free(metrics);
    json_decref(res);
    hx_bench_workdir_done(o, "http", dir);
    return rc;
}
