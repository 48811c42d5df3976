/* `helix bench kafka`: produce throughput and produce->consume latency of the
 * event log through the public broker API, with exactly-once, in-order
 * verification of every message. */
#include "helix/hx_bench.h"
#include "helix/hx_broker.h"
#include "helix/hx_buf.h"
#include "helix/hx_clock.h"
#include "helix/hx_fs.h"
#include "helix/hx_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_BYTES 1024
#define PARTITIONS 12      /* of the topic the bench creates */
#define MAX_PARTITIONS 1024 /* of a topic given with --topic */
#define BATCH 500
#define BODIES 64 /* distinct pre-generated payload bodies */
#define KEYS 1000

typedef struct {
    hx_broker_t *b;
    hx_consumer_t *con;
    long n;
    hx_latency_t *lat;
    unsigned char *seen;       /* seen[seq]: exactly once */
    int64_t last[MAX_PARTITIONS]; /* last seq per partition: order */
    long received, dupes, disorder;
    int failed;
    hx_err_t err;
} consumer_t;

static void *consume_main(void *arg)
{
    consumer_t *c = arg;
    hx_consumer_t *con = c->con;
    for (int p = 0; p < MAX_PARTITIONS; p++)
        c->last[p] = -1;
    uint64_t deadline = hx_mono_ns() + 120ull * 1000000000;
    while (c->received < c->n && hx_mono_ns() < deadline) {
        hx_fetch_t f;
        if (hx_consumer_poll(con, 200, &f, &c->err)) {
            c->failed = 1;
            break;
        }
        uint64_t now = hx_mono_ns();
        for (size_t i = 0; i < f.count; i++) {
            const hx_msg_t *m = &f.msgs[i];
            if (m->value_len != MSG_BYTES) {
                c->disorder++;
                continue;
            }
            uint64_t seq = hx_load_u64le(m->value), sent = hx_load_u64le((const unsigned char *)m->value + 8);
            hx_latency_record(c->lat, now > sent ? now - sent : 0);
            if (seq >= (uint64_t)c->n || c->seen[seq]++)
                c->dupes++;
            if ((int64_t)seq <= c->last[m->partition])
                c->disorder++;
            c->last[m->partition] = (int64_t)seq;
            c->received++;
        }
        hx_fetch_free(&f);
        hx_consumer_commit(con, NULL);
    }
    return NULL;
}

/* Text-like filler (JSON-ish words), like the envelopes the log really holds,
 * so compression works as it would in production. */
static void fill_payload(unsigned char *p, size_t n, uint64_t seed)
{
    static const char *words[] = {"conversation", "assistant", "user", "message", "provider", "openai",
                                  "tokens", "debate", "memory", "the", "of", "and", "latency", "helix",
                                  "\"content\":", "{", "}", "model", "2026", "summary"};
    size_t i = 0;
    while (i < n) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        const char *w = words[(seed >> 33) % 20];
        for (; *w && i < n; w++)
            p[i++] = (unsigned char)*w;
        if (i < n)
            p[i++] = ' ';
    }
}

int hx_bench_kafka(const hx_bench_opts_t *o, json_t **out, hx_err_t *err)
{
    long n = o->messages > 0 ? o->messages : 100000;
    char tmpl[64];
    const char *dir;
    int wrc = hx_bench_workdir(o, "kafka", tmpl, sizeof tmpl, &dir, err);
    if (wrc)
        return wrc;
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s", dir);
    cfg.event_log.fsync = o->fsync;
    const char *backend = o->backend ? o->backend : "embedded";
    int kafka = strcmp(backend, "embedded") != 0;
    if (kafka) {
        snprintf(cfg.backends.events, sizeof cfg.backends.events, "kafka");
        snprintf(cfg.kafka.bootstrap_servers, sizeof cfg.kafka.bootstrap_servers, "%s",
                 strcmp(backend, "mock") == 0 ? "mock:3" : o->bootstrap ? o->bootstrap : "");
        /* A consumer tuned for latency: answer as soon as any record is there. */
        cfg.kafka.consumer.fetch_min_bytes = 1;
        cfg.kafka.consumer.fetch_max_wait_ms = 10;
    }
    /* A fresh topic per run on Kafka: a deleted topic lingers there a while. */
    char topic[96];
    if (o->topic)
        snprintf(topic, sizeof topic, "%s", o->topic);
    else if (kafka)
        snprintf(topic, sizeof topic, "helix.bench.kafka.%lld", (long long)hx_now_ms());
    else
        snprintf(topic, sizeof topic, "bench.kafka");
    /* A fresh group per run reads only this run's records (latest at join). */
    char group[64];
    snprintf(group, sizeof group, "helix-bench-%lld", (long long)hx_now_ms());
    int partitions = PARTITIONS;
    hx_broker_t *b = NULL;
    consumer_t c = {0};
    unsigned char *payloads = NULL;
    hx_msg_t *msgs = NULL;
    pthread_t th;
    int started = 0, created = 0, rc;
    if ((rc = hx_broker_open(&cfg, NULL, &b, err)))
        goto cleanup;
    hx_topic_config_t tc;
    hx_topic_config_defaults(&tc);
    tc.partitions = PARTITIONS;
    snprintf(tc.compression, sizeof tc.compression, "lz4");
    if (o->topic) {
        /* An existing topic (e.g. on a cluster without CreateTopics). */
        hx_topic_info_t ti;
        if ((rc = hx_broker_topic_describe(b, topic, &ti, err)))
            goto cleanup;
        partitions = ti.config.partitions;
        hx_topic_info_free(&ti);
        if (partitions > MAX_PARTITIONS) {
            rc = hx_err_set(err, HX_EINVAL, "--topic %s has %d partitions; the bench handles up to %d", topic,
                            partitions, MAX_PARTITIONS);
            goto cleanup;
        }
    } else {
        if (!kafka)
            hx_broker_topic_delete(b, topic, NULL);
        if ((rc = hx_broker_topic_create(b, topic, &tc, err))) {
            if (rc == HX_EUNSUPPORTED && err) {
                char why[HX_ERR_MSG_MAX];
                snprintf(why, sizeof why, "%s", err->msg);
                hx_err_set(err, rc, "%.400s; or pass --topic NAME naming an existing topic", why);
            }
            goto cleanup;
        }
        created = 1;
    }
    c.b = b;
    c.n = n;
    c.lat = hx_latency_new();
    c.seen = calloc((size_t)n, 1);
    payloads = malloc((size_t)BATCH * MSG_BYTES);
    unsigned char *bodies = malloc((size_t)BODIES * MSG_BYTES);
    if (bodies)
        for (int i = 0; i < BODIES; i++)
            fill_payload(bodies + (size_t)i * MSG_BYTES, MSG_BYTES, (uint64_t)i + 1);
    msgs = calloc(BATCH, sizeof *msgs);
    char (*keys)[8] = calloc(BATCH, sizeof *keys);
    if (!c.lat || !c.seen || !payloads || !msgs || !keys || !bodies) {
        free(keys);
        free(bodies);
        rc = hx_err_set(err, HX_ENOMEM, "out of memory preparing the bench");
        goto cleanup;
    }
    /* The group forms before the clock starts (on Kafka that takes seconds). */
    hx_consumer_opts_t co;
    hx_consumer_opts_defaults(&co);
    co.max_poll_records = 5000;
    co.client_id = "bench";
    co.auto_offset_reset = HX_RESET_LATEST;
    const char *topics[] = {topic};
    if ((rc = hx_consumer_new(b, group, topics, 1, &co, &c.con, err))) {
        free(keys);
        free(bodies);
        goto cleanup;
    }
    if (pthread_create(&th, NULL, consume_main, &c)) {
        free(keys);
        free(bodies);
        rc = hx_err_set(err, HX_ENOMEM, "cannot start the consumer thread");
        goto cleanup;
    }
    started = 1;
    if (!o->quiet)
        fprintf(stderr, "bench kafka: producing %ld x %d B to %s (%d partitions, lz4, backend=%s%s%s, fsync=%s)\n", n,
                MSG_BYTES, topic, partitions, backend, kafka ? " " : "", kafka ? cfg.kafka.bootstrap_servers : "",
                o->fsync == HX_FSYNC_ALWAYS ? "always" : o->fsync == HX_FSYNC_NEVER ? "never" : "interval");
    uint64_t t0 = hx_mono_ns();
    for (long base = 0; base < n && !rc; base += BATCH) {
        int m = (int)(n - base < BATCH ? n - base : BATCH);
        uint64_t now = hx_mono_ns();
        for (int i = 0; i < m; i++) {
            unsigned char *p = payloads + (size_t)i * MSG_BYTES;
            uint64_t seq = (uint64_t)(base + i);
            memcpy(p + 16, bodies + (size_t)(seq % BODIES) * MSG_BYTES, MSG_BYTES - 16);
            hx_store_u64le(p, seq);
            hx_store_u64le(p + 8, now);
            int kl = snprintf(keys[i], sizeof keys[i], "k%llu", (unsigned long long)(seq % KEYS));
            msgs[i] = (hx_msg_t){.topic = topic, .partition = -1, .key = keys[i], .key_len = (size_t)kl,
                                 .value = p, .value_len = MSG_BYTES};
        }
        rc = hx_broker_produce(b, msgs, (size_t)m, NULL, err);
        if (!o->quiet && (base / BATCH) % 20 == 19)
            fprintf(stderr, "bench kafka: %ld/%ld produced\n", base + m, n);
    }
    double secs = (double)(hx_mono_ns() - t0) / 1e9;
    free(keys);
    free(bodies);
    pthread_join(th, NULL);
    started = 0;
    if (rc)
        goto cleanup;
    if (c.failed) {
        rc = hx_err_set(err, c.err.code ? c.err.code : HX_EINTERNAL, "bench consumer failed: %s", c.err.msg);
        goto cleanup;
    }
    double tput = (double)n / secs;
    double p50 = hx_latency_percentile(c.lat, 50) / 1e6, p95 = hx_latency_percentile(c.lat, 95) / 1e6,
           p99 = hx_latency_percentile(c.lat, 99) / 1e6;
    int verified = c.received == n && c.dupes == 0 && c.disorder == 0;
    const char *fs = o->fsync == HX_FSYNC_ALWAYS ? "always" : o->fsync == HX_FSYNC_NEVER ? "never" : "interval";
    const char *vt = hx_bench_verdict(tput, 10000, 5000, 1), *vl = hx_bench_verdict(p95, 10, 50, 0);
    char v1[64], v2[64];
    snprintf(v1, sizeof v1, "%.0f msg/s (%.1f MB/s)", tput, tput * MSG_BYTES / 1e6);
    snprintf(v2, sizeof v2, "p50 %.2f / p95 %.2f / p99 %.2f ms", p50, p95, p99);
    hx_bench_row("Event log (Kafka role)", "Throughput, 1 KiB messages", v1, ">10K msg/s", ">5K", vt);
    hx_bench_row("Event log", "produce->consume latency p95", v2, "<10 ms", "<50 ms", vl);
    printf("verified: %s (%ld of %ld received, %ld duplicates, %ld out of order), backend=%s, fsync=%s\n",
           verified ? "yes" : "NO", c.received, n, c.dupes, c.disorder, backend, fs);
    *out = json_pack("{s:f,s:f,s:f,s:f,s:f,s:I,s:i,s:b,s:s,s:s,s:s,s:s}", "throughput_msg_per_sec", tput,
                     "throughput_mb_per_sec", tput * MSG_BYTES / 1e6, "p50_ms", p50, "p95_ms", p95, "p99_ms", p99,
                     "messages", (json_int_t)n, "message_bytes", MSG_BYTES, "verified", verified, "fsync", fs,
                     "backend", backend, "verdict_throughput", vt, "verdict_latency_p95", vl);
    if (!verified)
        rc = hx_err_set(err, HX_EINTERNAL, "verification failed: %ld of %ld received, %ld duplicates, %ld out of order",
                        c.received, n, c.dupes, c.disorder);
cleanup:
    if (started) {
        c.n = 0; /* let the consumer loop end */
        pthread_join(th, NULL);
    }
    hx_consumer_close(c.con);
    if (kafka && created)
        hx_broker_topic_delete(b, topic, NULL); /* best effort; the mock cannot */
    hx_broker_close(b);
    hx_latency_free(c.lat);
    free(c.seen);
    free(payloads);
    free(msgs);
    hx_bench_workdir_done(o, "kafka", dir);
    return rc;
}
