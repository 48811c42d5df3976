/* `helix bench memory`: three memory engines (own dirs, own node ids) share
 * one embedded broker in this process and replicate through it exactly as
 * three `helix serve` nodes would. Each node takes a paced share of 5,000
 * writes/s (70% new memories, 30% updates of 100 hot memories every node
 * writes, so conflicts happen). Reports the acknowledged write rate, sync lag
 * (remote apply time minus the origin's write time, every op on every peer),
 * conflict resolution time and lost_writes: after convergence, every
 * acknowledged write must be live on every node or superseded by an
 * acknowledged write that saw it. */
#include "helix/hx_api_requests.h"
#include "helix/hx_bench.h"
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_fs.h"
#include "helix/hx_memory.h"
#include "helix/hx_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODES 3
#define RATE 5000
#define HOT 100
#define DEFAULT_WRITES 30000

typedef struct acked {
    char id[24];
    uint64_t key;              /* hlc | node << 60 */
} acked_t;

typedef struct writer {
    hx_memory_t *m;
    int node;
    long n;
    int64_t t0_ns;
    acked_t *acked;
    long nacked;
    uint64_t *sup;             /* superseded dots of its writes */
    long nsup, capsup;
    long failed;
    hx_err_t err;
} writer_t;

static uint64_t dot_key(json_t *hlc, const char *node)
{
    int idx = node ? node[strlen(node) - 1] - '0' : 0;
    return (uint64_t)json_integer_value(hlc) | ((uint64_t)(idx & 3) << 60);
}

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    double per_ns = 1e9 / ((double)RATE / NODES);
    uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->node + 1);
    for (long i = 0; i < w->n; i++) {
        int64_t due = w->t0_ns + (int64_t)(per_ns * (double)i);
        int64_t now = (int64_t)hx_mono_ns();
        if (due > now)
            hx_sleep_ms((due - now) / 1000000 > 0 ? (due - now) / 1000000 : 0);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        acked_t *a = &w->acked[w->nacked];
        json_t *out = NULL, *body;
        int rc;
        char content[96];
        snprintf(content, sizeof content, "node %d write %ld: user prefers option %llu", w->node, i,
                 (unsigned long long)(rng % 1000));
        if (rng % 10 < 3) {
            snprintf(a->id, sizeof a->id, "hot-%llu", (unsigned long long)(rng >> 20) % HOT);
            body = json_pack("{s:s}", "content", content);
            rc = hx_api_memory_update_json(w->m, "bench", a->id, body, &out, &w->err);
        } else {
            snprintf(a->id, sizeof a->id, "n%d-%ld", w->node, i);
            body = json_pack("{s:s,s:s,s:s,s:[s]}", "id", a->id, "user_id", "bench-user", "content", content, "tags",
                             "bench");
            rc = hx_api_memory_create_json(w->m, "bench", body, &out, &w->err);
        }
        json_decref(body);
        if (rc) {
            w->failed++;
            continue;
        }
        json_t *wr = json_object_get(out, "write");
        a->key = dot_key(json_object_get(wr, "hlc"), json_string_value(json_object_get(wr, "node")));
        w->nacked++;
        size_t k;
        json_t *s;
        json_array_foreach(json_object_get(wr, "superseded"), k, s)
        {
            if (w->nsup == w->capsup) {
                w->capsup = w->capsup ? w->capsup * 2 : 1024;
                w->sup = realloc(w->sup, (size_t)w->capsup * sizeof *w->sup);
            }
            if (w->sup)
                w->sup[w->nsup++] = dot_key(json_array_get(s, 0), json_string_value(json_array_get(s, 1)));
        }
        json_decref(out);
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int converged(hx_memory_t **m, int64_t timeout_ms)
{
    int64_t end = hx_now_ms() + timeout_ms;
    for (;;) {
        hx_buf_t a = HX_BUF_INIT;
        hx_memory_canonical(m[0], &a);
        int same = 1;
        for (int i = 1; i < NODES && same; i++) {
            hx_buf_t b = HX_BUF_INIT;
            hx_memory_canonical(m[i], &b);
            same = a.len == b.len && !memcmp(a.data, b.data, a.len);
            hx_buf_free(&b);
        }
        hx_buf_free(&a);
        if (same || hx_now_ms() > end)
            return same;
        hx_sleep_ms(100);
    }
}

/* Acknowledged writes neither live on some node nor superseded by a write
 * that saw them. */
static long count_lost(hx_memory_t **m, writer_t *w, const uint64_t *sup, long nsup)
{
    long lost = 0;
    for (int n = 0; n < NODES; n++)
        for (int wi = 0; wi < NODES; wi++)
            for (long i = 0; i < w[wi].nacked; i++) {
                const acked_t *a = &w[wi].acked[i];
                if (bsearch(&a->key, sup, (size_t)nsup, sizeof *sup, cmp_u64))
                    continue;
                json_t *v = NULL;
                int live = 0;
                if (hx_memory_get(m[n], "bench", a->id, 0, &v, NULL) == 0) {
                    json_t *ver = json_object_get(v, "version");
                    live = dot_key(json_object_get(ver, "hlc"), json_string_value(json_object_get(ver, "node"))) ==
                           a->key;
                    size_t k;
                    json_t *c;
                    json_array_foreach(json_object_get(v, "conflicts"), k, c) live |=
                        dot_key(json_object_get(c, "hlc"), json_string_value(json_object_get(c, "node"))) == a->key;
                }
                json_decref(v);
                lost += !live;
            }
    return lost;
}

int hx_bench_memory(const hx_bench_opts_t *o, json_t **out, hx_err_t *err)
{
    *out = NULL;
    long total = o->messages > 0 ? o->messages : DEFAULT_WRITES;
    char tmpl[64];
    const char *dir;
    int wrc = hx_bench_workdir(o, "memory", tmpl, sizeof tmpl, &dir, err);
    if (wrc)
        return wrc;
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s/broker", dir);
    cfg.event_log.fsync = o->fsync;
    hx_broker_t *b = NULL;
    hx_memory_t *m[NODES] = {0};
    writer_t w[NODES];
    memset(w, 0, sizeof w);
    hx_metrics_t *reg = hx_metrics_new();
    hx_latency_t *lag = hx_latency_new();
    uint64_t *sup = NULL;
    int rc;
    if (!reg || !lag) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = hx_broker_open(&cfg, NULL, &b, err)) || (rc = hx_broker_ensure_builtin_topics(b, err)))
        goto cleanup;
    for (int i = 0; i < NODES; i++) {
        char d[HX_CFG_STR + 16], node[16];
        snprintf(d, sizeof d, "%s/node%d", dir, i);
        snprintf(node, sizeof node, "bench-n%d", i);
        hx_memory_opts_t mo;
        hx_memory_opts_defaults(&mo);
        mo.cfg = &cfg;
        mo.dir = d;
        mo.node_id = node;
        mo.broker = b;
        mo.metrics = reg;
        if ((rc = hx_memory_open(&mo, &m[i], err)))
            goto cleanup;
    }
    /* The hot memories exist everywhere before the clock starts. */
    for (int h = 0; h < HOT; h++) {
        char id[24];
        snprintf(id, sizeof id, "hot-%d", h);
        json_t *body = json_pack("{s:s,s:s,s:s}", "id", id, "user_id", "bench-user", "content", "seed");
        rc = hx_api_memory_create_json(m[h % NODES], "bench", body, NULL, err);
        json_decref(body);
        if (rc)
            goto cleanup;
    }
    if (!converged(m, 20000)) {
        rc = hx_err_set(err, HX_ETIMEOUT, "the seed memories did not replicate within 20 s");
        goto cleanup;
    }
    for (int i = 0; i < NODES; i++)
        hx_latency_reset(hx_memory_apply_lag(m[i]));
    if (!o->quiet)
        fprintf(stderr, "bench memory: %ld writes at %d/s across %d nodes (30%% to %d shared memories), fsync=%s\n",
                total, RATE, NODES, HOT,
                o->fsync == HX_FSYNC_ALWAYS ? "always" : o->fsync == HX_FSYNC_NEVER ? "never" : "interval");
    int64_t t0 = (int64_t)hx_mono_ns();
    pthread_t th[NODES];
    int started = 0;
    for (int i = 0; i < NODES; i++) {
        w[i].m = m[i];
        w[i].node = i;
        w[i].n = total / NODES + (i < total % NODES);
        w[i].t0_ns = t0;
        w[i].acked = calloc((size_t)w[i].n + 1, sizeof *w[i].acked);
        if (!w[i].acked || pthread_create(&th[i], NULL, writer_main, &w[i]))
            break;
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double secs = (double)((int64_t)hx_mono_ns() - t0) / 1e9;
    if (started < NODES) {
        rc = hx_err_set(err, HX_ENOMEM, "cannot start the writer threads");
        goto cleanup;
    }
    for (int i = 0; i < NODES; i++)
        hx_memory_flush(m[i], 10000, NULL);
    int conv = converged(m, 30000);
    long acked = 0, failed = 0, nsup = 0;
    for (int i = 0; i < NODES; i++) {
        acked += w[i].nacked;
        failed += w[i].failed;
        nsup += w[i].nsup;
    }
    sup = malloc((size_t)(nsup + 1) * sizeof *sup);
    nsup = 0;
    for (int i = 0; sup && i < NODES; i++)
        for (long k = 0; k < w[i].nsup; k++)
            sup[nsup++] = w[i].sup[k];
    if (sup)
        qsort(sup, (size_t)nsup, sizeof *sup, cmp_u64);
    long lost = sup ? count_lost(m, w, sup, nsup) : acked;
    for (int i = 0; i < NODES; i++)
        hx_latency_merge(lag, hx_memory_apply_lag(m[i]));
    double p50 = hx_latency_percentile(lag, 50) / 1e6, p95 = hx_latency_percentile(lag, 95) / 1e6,
           p99 = hx_latency_percentile(lag, 99) / 1e6, mx = hx_latency_max(lag) / 1e6;
    hx_histogram_t *hc = hx_metrics_histogram(reg, "memory_conflict_resolution_duration_seconds",
                                              "Time to merge a delta that was concurrent with local state", "strategy",
                                              NULL, 0);
    hx_histogram_child_t *hcc = hx_histogram_child(hc, (const char *[]){cfg.distributed_memory.crdt.strategy});
    uint64_t nconf = hx_histogram_count(hcc);
    double conf_ms = nconf ? hx_histogram_sum(hcc) * 1000.0 / (double)nconf : 0;
    double wps = (double)acked / secs;
    const char *vl = hx_bench_verdict(p99, 1000, 5000, 0), *vg = hx_bench_verdict(p99, 50, 1000, 0);
    char v1[64], v2[96], v3[64], v4[64];
    snprintf(v1, sizeof v1, "%.0f writes/s (%d nodes)", wps, NODES);
    snprintf(v2, sizeof v2, "p50 %.1f / p95 %.1f / p99 %.1f / max %.1f ms", p50, p95, p99, mx);
    snprintf(v3, sizeof v3, "p99 %.1f ms", p99);
    snprintf(v4, sizeof v4, "%ld lost of %ld acked", lost, acked);
    hx_bench_row("Memory sync", "Lag (DESIGN table)", v2, "<1 s", "<5 s", vl);
    hx_bench_row("Memory sync", "Lag p99, issue #6 goal", v3, "<50 ms", "<1 s", vg);
    hx_bench_row("Memory sync", "Write throughput", v1, ">5K", "-", wps >= 0.95 * RATE ? "Target" : "Poor");
    hx_bench_row("Memory sync", "Lost writes", v4, "0", "0", lost == 0 && conv ? "Target" : "Poor");
    printf("conflicts resolved: %llu, mean resolution %.4f ms; converged: %s; write errors: %ld\n",
           (unsigned long long)nconf, conf_ms, conv ? "yes" : "NO", failed);
    *out = json_pack("{s:f,s:f,s:f,s:f,s:f,s:I,s:f,s:I,s:I,s:i,s:b,s:s,s:s,s:s}", "writes_per_sec", wps, "lag_p50_ms",
                     p50, "lag_p95_ms", p95, "lag_p99_ms", p99, "lag_max_ms", mx, "lost_writes", (json_int_t)lost,
                     "conflict_resolution_ms", conf_ms, "conflicts_resolved", (json_int_t)nconf, "acked_writes",
                     (json_int_t)acked, "nodes", NODES, "converged", conv, "strategy",
                     cfg.distributed_memory.crdt.strategy, "verdict_lag", vl, "verdict_goal_p99_50ms", vg);
    if (lost || !conv || failed)
        rc = hx_err_set(err, HX_EINTERNAL, "verification failed: %ld lost writes, %ld write errors, converged=%d",
                        lost, failed, conv);
cleanup:
    for (int i = 0; i < NODES; i++) {
        hx_memory_close(m[i]);
        free(w[i].acked);
        free(w[i].sup);
    }
    hx_broker_close(b);
    hx_metrics_free(reg);
    hx_latency_free(lag);
    free(sup);
    hx_bench_workdir_done(o, "memory", dir);
    return rc;
}
