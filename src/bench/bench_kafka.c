/* `helix bench kafka`: the event log through the public broker API, every
 * message verified exactly once and in order per partition.
 *
 *  - saturated: as fast as a pipelined producer goes (several batches in
 *    flight, none waited for before the next is queued): the throughput row.
 *    Its latency is mostly queueing delay, so it is reported, not judged.
 *  - fixed rate: 10K msg/s (the DESIGN.md rate) and 50% of the measured
 *    peak, under fsync interval and always (embedded; a Kafka cluster has its
 *    own policy), each for --seconds. Latency counts from the moment a message
 *    was due, not when the producer got round to it, so a late producer shows
 *    up in the numbers instead of hiding them. This is the latency row.
 *  - --compare-kcat: kcat produces the same records into the same cluster. */
#include "bench/bench_kafka.h"
#include "helix/hx_buf.h"
#include "helix/hx_clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 500
#define WINDOW 16000 /* messages in flight at most (about 16 MB) */
#define BODIES 64    /* distinct pre-generated payload bodies */
#define KEYS 1000

typedef struct {
    hx_consumer_t *con;
    long n;
    hx_latency_t *lat;
    unsigned char *seen;          /* seen[seq]: exactly once */
    int64_t last[BK_MAX_PARTITIONS]; /* last seq per partition: order */
    long received, dupes, disorder;
    int failed;
    hx_err_t err;
} consumer_t;

/* Acknowledgements of the batches in flight. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long inflight, acked;
    int rc;
    hx_err_t err;
} window_t;

static void *consume_main(void *arg)
{
    consumer_t *c = arg;
    for (int p = 0; p < BK_MAX_PARTITIONS; p++)
        c->last[p] = -1;
    /* Gives up after 60 s without a record (the run's own length is not
     * bounded here: a long fixed-rate run keeps it alive). */
    uint64_t deadline = hx_mono_ns() + 60ull * 1000000000, last_commit = 0;
    while (__atomic_load_n(&c->received, __ATOMIC_RELAXED) < __atomic_load_n(&c->n, __ATOMIC_RELAXED) &&
           hx_mono_ns() < deadline) {
        hx_fetch_t f;
        if (hx_consumer_poll(c->con, 200, &f, &c->err)) {
            c->failed = 1;
            break;
        }
        uint64_t now = hx_mono_ns();
        if (f.count)
            deadline = now + 60ull * 1000000000;
        for (size_t i = 0; i < f.count; i++) {
            const hx_msg_t *m = &f.msgs[i];
            if (m->value_len != BK_MSG_BYTES) {
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
            __atomic_add_fetch(&c->received, 1, __ATOMIC_RELAXED);
        }
        hx_fetch_free(&f);
        /* Committed every 100 ms, as consumers do (Kafka's auto-commit is 5 s):
         * a commit per poll would be a second write stream measured as latency. */
        if (now - last_commit > 100000000ull) {
            hx_consumer_commit(c->con, NULL);
            last_commit = now;
        }
    }
    hx_consumer_commit(c->con, NULL);
    return NULL;
}

void bk_fill_payload(unsigned char *p, size_t n, uint64_t seed)
{
    /* Text-like filler (JSON-ish words), like the envelopes the log really
     * holds, so compression works as it would in production. */
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

static void on_batch(void *ctx, const hx_delivery_t *d, size_t n, int rc, const hx_err_t *err)
{
    window_t *w = ctx;
    long ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += d[i].status == 0;
    pthread_mutex_lock(&w->mu);
    w->inflight -= (long)n;
    w->acked += ok;
    if (rc && !w->rc) {
        w->rc = rc;
        w->err = *err;
    }
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Waits until at most max messages are in flight; the first produce error. */
static int window_wait(window_t *w, long max, hx_err_t *err)
{
    pthread_mutex_lock(&w->mu);
    while (w->inflight > max && !w->rc)
        pthread_cond_wait(&w->cv, &w->mu);
    int rc = w->rc;
    if (rc && err)
        *err = w->err;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static void sleep_until(uint64_t mono_ns)
{
    struct timespec ts = {(time_t)(mono_ns / 1000000000ull), (long)(mono_ns % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
        ;
}

/* Produces r->messages records, pipelined; paced at r->rate when > 0. */
static int produce_all(bk_env_t *env, bk_run_t *r, window_t *w, hx_err_t *err)
{
    unsigned char *payloads = malloc((size_t)BATCH * BK_MSG_BYTES);
    hx_msg_t *msgs = calloc(BATCH, sizeof *msgs);
    char (*keys)[8] = calloc(BATCH, sizeof *keys);
    int rc = HX_OK;
    if (!payloads || !msgs || !keys) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory preparing the bench");
        goto cleanup;
    }
    long n = r->messages;
    double ns_per_msg = r->rate > 0 ? 1e9 / r->rate : 0;
    uint64_t t0 = hx_mono_ns();
    for (long sent = 0; sent < n && !rc;) {
        long m = n - sent < BATCH ? n - sent : BATCH;
        uint64_t now = hx_mono_ns();
        if (ns_per_msg > 0) {
            /* Everything due by now goes in one batch; nothing due: sleep
             * until the next message is. */
            long due = (long)((double)(now - t0) / ns_per_msg) + 1;
            if (due <= sent) {
                sleep_until(t0 + (uint64_t)((double)sent * ns_per_msg));
                continue;
            }
            if (due - sent < m)
                m = due - sent;
        }
        for (long i = 0; i < m; i++) {
            unsigned char *p = payloads + (size_t)i * BK_MSG_BYTES;
            uint64_t seq = (uint64_t)(sent + i);
            uint64_t stamp = ns_per_msg > 0 ? t0 + (uint64_t)((double)seq * ns_per_msg) : now;
            memcpy(p + 16, env->bodies + (size_t)(seq % BODIES) * BK_MSG_BYTES, BK_MSG_BYTES - 16);
            hx_store_u64le(p, seq);
            hx_store_u64le(p + 8, stamp);
            int kl = snprintf(keys[i], sizeof keys[i], "k%llu", (unsigned long long)(seq % KEYS));
            msgs[i] = (hx_msg_t){.topic = r->topic, .partition = -1, .key = keys[i], .key_len = (size_t)kl,
                                 .value = p, .value_len = BK_MSG_BYTES};
        }
        if ((rc = window_wait(w, WINDOW - m, err)))
            break;
        pthread_mutex_lock(&w->mu);
        w->inflight += m;
        pthread_mutex_unlock(&w->mu);
        if ((rc = hx_broker_produce_batch(env->b, msgs, (size_t)m, on_batch, w, err))) {
            pthread_mutex_lock(&w->mu);
            w->inflight -= m;
            pthread_mutex_unlock(&w->mu);
            break;
        }
        sent += m;
        if (!env->o->quiet && ns_per_msg == 0 && sent % 100000 == 0)
            fprintf(stderr, "bench kafka: %ld/%ld produced\n", sent, n);
    }
    if (!rc)
        rc = window_wait(w, 0, err);
    r->produce_secs = (double)(hx_mono_ns() - t0) / 1e9;
cleanup:
    free(payloads);
    free(msgs);
    free(keys);
    return rc;
}

int bk_run(bk_env_t *env, bk_run_t *r, hx_err_t *err)
{
    consumer_t c = {0};
    window_t w = {.inflight = 0};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    pthread_t th;
    int started = 0, rc;
    char group[96];
    snprintf(group, sizeof group, "helix-bench-%lld-%d", (long long)hx_now_ms(), env->runs++);
    c.n = r->messages;
    c.lat = hx_latency_new();
    c.seen = calloc((size_t)r->messages, 1);
    if (!c.lat || !c.seen) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory preparing the bench");
        goto cleanup;
    }
    /* The group forms before the clock starts (on Kafka that takes seconds). */
    hx_consumer_opts_t co;
    hx_consumer_opts_defaults(&co);
    co.max_poll_records = 5000;
    co.client_id = "bench";
    /* A topic made for this run is read from its start; an existing one
     * (--topic) from its end when the group joins. Latest on a fresh topic
     * could resolve after the first records and miss them. */
    co.auto_offset_reset = r->fresh_topic ? HX_RESET_EARLIEST : HX_RESET_LATEST;
    const char *topics[] = {r->topic};
    if ((rc = hx_consumer_new(env->b, group, topics, 1, &co, &c.con, err)))
        goto cleanup;
    if (pthread_create(&th, NULL, consume_main, &c)) {
        rc = hx_err_set(err, HX_ENOMEM, "cannot start the consumer thread");
        goto cleanup;
    }
    started = 1;
    if (!env->o->quiet) {
        if (r->rate > 0)
            fprintf(stderr, "bench kafka: %.0f msg/s for %.0f s (fsync=%s)\n", r->rate, r->messages / r->rate,
                    r->fsync);
        else
            fprintf(stderr, "bench kafka: producing %ld x %d B as fast as possible (fsync=%s)\n", r->messages,
                    BK_MSG_BYTES, r->fsync);
    }
    rc = produce_all(env, r, &w, err);
    if (rc)
        __atomic_store_n(&c.n, 0, __ATOMIC_RELAXED); /* let the consumer loop end */
    pthread_join(th, NULL);
    started = 0;
    if (rc)
        goto cleanup;
    if (c.failed) {
        rc = hx_err_set(err, c.err.code ? c.err.code : HX_EINTERNAL, "bench consumer failed: %s", c.err.msg);
        goto cleanup;
    }
    r->throughput = (double)r->messages / r->produce_secs;
    r->p50 = hx_latency_percentile(c.lat, 50) / 1e6;
    r->p95 = hx_latency_percentile(c.lat, 95) / 1e6;
    r->p99 = hx_latency_percentile(c.lat, 99) / 1e6;
    r->max = hx_latency_max(c.lat) / 1e6;
    r->received = c.received;
    r->dupes = c.dupes;
    r->disorder = c.disorder;
    r->verified = c.received == r->messages && w.acked == r->messages && c.dupes == 0 && c.disorder == 0;
cleanup:
    if (started) {
        __atomic_store_n(&c.n, 0, __ATOMIC_RELAXED);
        pthread_join(th, NULL);
    }
    hx_consumer_close(c.con);
    hx_latency_free(c.lat);
    free(c.seen);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}
