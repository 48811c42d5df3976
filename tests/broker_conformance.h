/* The broker conformance suite: one set of behaviour tests through the public
 * hx_broker.h API, run against every backend (tests/unit/test_broker.c on the
 * embedded log, tests/unit/test_broker_kafka.c on librdkafka's mock cluster).
 *
 * The including file defines, before including this header:
 *   static hx_broker_t *open_broker(hx_metrics_t *m);   a fresh, empty broker
 * Group membership on Kafka settles asynchronously, so assertions about
 * assignments wait (polling) until the expected state or a deadline. */
#ifndef HX_BROKER_CONFORMANCE_H
#define HX_BROKER_CONFORMANCE_H

#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_metrics.h"
#include "helix/hx_topics.h"
#include "hx_test.h"

#include <stdlib.h>
#include <string.h>

#include <pthread.h>

static hx_broker_t *open_broker(hx_metrics_t *m);

/* Consumer options every conformance consumer uses: a short session so Kafka
 * rebalances (which wait for the session timeout) stay quick. */
static hx_consumer_opts_t bc_opts(int max_poll, hx_offset_reset_t reset)
{
    hx_consumer_opts_t o;
    hx_consumer_opts_defaults(&o);
    o.max_poll_records = max_poll;
    o.auto_offset_reset = reset;
    o.session_timeout_ms = 3000;
    return o;
}

static void make_topic(hx_broker_t *b, const char *name, int parts)
{
    hx_topic_config_t tc;
    hx_topic_config_defaults(&tc);
    tc.partitions = parts;
    hx_err_t e = {0};
    CHECK_INT(hx_broker_topic_create(b, name, &tc, &e), 0);
}

/* Produces n records "v<i>" with key "k<i % keys>" (keys 0 = no key). */
static void produce_n(hx_broker_t *b, const char *topic, int from, int n, int keys)
{
    for (int i = from; i < from + n; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "k%d", keys ? i % keys : 0);
        snprintf(v, sizeof v, "v%d", i);
        hx_msg_t m = {.topic = topic, .partition = -1, .key = keys ? k : NULL, .key_len = keys ? strlen(k) : 0,
                      .value = v, .value_len = strlen(v)};
        hx_err_t e = {0};
        CHECK_INT(hx_broker_produce(b, &m, 1, NULL, &e), 0);
    }
}

static int value_index(const hx_msg_t *m)
{
    char v[16] = {0};
    memcpy(v, m->value, m->value_len < 15 ? m->value_len : 15);
    return atoi(v + 1);
}

static void test_roundtrip_and_errors(void)
{
    hx_broker_t *b = open_broker(NULL);
    make_topic(b, "rt", 3);
    hx_header_t h[2] = {{"trace", "abc", 3}, {"empty", "", 0}};
    hx_msg_t m[3] = {
        {.topic = "rt", .partition = 1, .key = "key", .key_len = 3, .value = "hello", .value_len = 5,
         .headers = h, .header_count = 2, .timestamp_ms = 1000},
        {.topic = "rt", .partition = 1, .value = "", .value_len = 0},
        {.topic = "rt", .partition = 1, .key = "k", .key_len = 1, .value = "x", .value_len = 1},
    };
    hx_delivery_t d[3];
    hx_err_t e = {0};
    CHECK_INT(hx_broker_produce(b, m, 3, d, &e), 0);
    CHECK(d[0].partition == 1 && d[0].offset == 0 && d[2].offset == 2);
    hx_fetch_t f;
    CHECK_INT(hx_broker_fetch(b, "rt", 1, 0, 10, 0, &f, &e), 0);
    CHECK_INT(f.count, 3);
    if (f.count == 3) {
        CHECK(f.msgs[0].key_len == 3 && memcmp(f.msgs[0].key, "key", 3) == 0);
        CHECK(f.msgs[0].value_len == 5 && memcmp(f.msgs[0].value, "hello", 5) == 0);
        CHECK_INT(f.msgs[0].header_count, 2);
        CHECK_STR(f.msgs[0].headers[0].name, "trace");
        CHECK(f.msgs[0].headers[0].value_len == 3 && memcmp(f.msgs[0].headers[0].value, "abc", 3) == 0);
        CHECK_INT(f.msgs[0].timestamp_ms, 1000);
        CHECK(f.msgs[1].key == NULL && f.msgs[1].value_len == 0);
        CHECK_STR(f.msgs[2].topic, "rt");
    }
    hx_fetch_free(&f);
    CHECK_INT(hx_broker_fetch(b, "rt", 1, 3, 10, 0, &f, &e), 0); /* at the high watermark */
    CHECK_INT(f.count, 0);
    hx_fetch_free(&f);

    hx_msg_t bad = {.topic = "nope", .partition = -1, .value = "x", .value_len = 1};
    CHECK_INT(hx_broker_produce(b, &bad, 1, NULL, &e), HX_ENOTFOUND);
    CHECK_CONTAINS(e.msg, "topic 'nope' does not exist");
    bad.topic = "rt";
    bad.partition = 7;
    CHECK_INT(hx_broker_produce(b, &bad, 1, NULL, &e), HX_EINVAL);
    CHECK_CONTAINS(e.msg, "3 partition(s)");

    /* An oversized record fails alone; its neighbours are written. */
    static char big[2 * 1024 * 1024];
    hx_msg_t mix[3] = {{.topic = "rt", .partition = 0, .value = "a", .value_len = 1},
                       {.topic = "rt", .partition = 0, .value = big, .value_len = sizeof big},
                       {.topic = "rt", .partition = 0, .value = "c", .value_len = 1}};
    CHECK_INT(hx_broker_produce(b, mix, 3, d, &e), HX_ETOOBIG);
    CHECK(d[0].status == 0 && d[1].status == HX_ETOOBIG && d[2].status == 0);
    CHECK_INT(hx_broker_fetch(b, "rt", 0, 0, 10, 0, &f, &e), 0);
    CHECK_INT(f.count, 2);
    hx_fetch_free(&f);
    CHECK_INT(hx_broker_topic_create(b, "__mine", &(hx_topic_config_t){.partitions = 1}, &e), HX_EINVAL);
    hx_name_list_t l;
    CHECK_INT(hx_broker_topic_list(b, &l, &e), 0);
    for (size_t i = 0; i < l.count; i++)
        CHECK(strncmp(l.names[i], "__", 2) != 0);
    hx_name_list_free(&l);
    hx_broker_close(b);
}

static void test_partitioning(void)
{
    hx_broker_t *b = open_broker(NULL);
    make_topic(b, "keys", 4);
    produce_n(b, "keys", 0, 400, 10);
    hx_err_t e = {0};
    /* Per key: one partition, increasing order. */
    int part_of_key[10];
    for (int k = 0; k < 10; k++)
        part_of_key[k] = -1;
    int total = 0, order_ok = 1, key_ok = 1;
    for (int p = 0; p < 4; p++) {
        hx_fetch_t f;
        CHECK_INT(hx_broker_fetch(b, "keys", p, 0, 1000, 0, &f, &e), 0);
        int last[10];
        for (int k = 0; k < 10; k++)
            last[k] = -1;
        for (size_t i = 0; i < f.count; i++) {
            int v = value_index(&f.msgs[i]), k = v % 10;
            if (part_of_key[k] >= 0 && part_of_key[k] != p)
                key_ok = 0;
            part_of_key[k] = p;
            if (v <= last[k])
                order_ok = 0;
            last[k] = v;
            if (f.msgs[i].offset != (int64_t)i)
                order_ok = 0; /* offsets dense from 0 */
        }
        total += (int)f.count;
        hx_fetch_free(&f);
    }
    CHECK_INT(total, 400);
    CHECK(key_ok);
    CHECK(order_ok);
    /* Without a key: round-robin spreads evenly. */
    make_topic(b, "rr", 4);
    produce_n(b, "rr", 0, 40, 0);
    for (int p = 0; p < 4; p++) {
        hx_topic_info_t ti;
        CHECK_INT(hx_broker_topic_describe(b, "rr", &ti, &e), 0);
        CHECK_INT(ti.partitions[p].high_watermark, 10);
        hx_topic_info_free(&ti);
    }
    /* Seek by time: offset_for_time. */
    hx_msg_t m[3] = {{.topic = "rr", .partition = 0, .value = "t", .value_len = 1, .timestamp_ms = 5000000000000},
                     {.topic = "rr", .partition = 0, .value = "t", .value_len = 1, .timestamp_ms = 5000000001000},
                     {.topic = "rr", .partition = 0, .value = "t", .value_len = 1, .timestamp_ms = 5000000002000}};
    CHECK_INT(hx_broker_produce(b, m, 3, NULL, &e), 0);
    int64_t off;
    CHECK_INT(hx_broker_offset_for_time(b, "rr", 0, 5000000000500, &off, &e), 0);
    CHECK_INT(off, 11);
    hx_broker_close(b);
}

/* Polls c until it has seen want records or time runs out; marks seen[] and
 * commits after each poll. Returns records seen. */
static int drain(hx_consumer_t *c, int *seen, int want, int ms)
{
    int got = 0;
    uint64_t end = hx_mono_ns() + (uint64_t)ms * 1000000;
    hx_err_t e = {0};
    while (got < want && hx_mono_ns() < end) {
        hx_fetch_t f;
        if (hx_consumer_poll(c, 50, &f, &e))
            break;
        for (size_t i = 0; i < f.count; i++) {
            seen[value_index(&f.msgs[i])]++;
            got++;
        }
        hx_fetch_free(&f);
        hx_consumer_commit(c, &e);
    }
    return got;
}

static size_t assigned(hx_consumer_t *c, int *mask)
{
    hx_assignment_t *a;
    size_t n = 0;
    hx_err_t e = {0};
    if (hx_consumer_assignment(c, &a, &n, &e))
        return 0;
    for (size_t i = 0; i < n; i++)
        *mask |= 1 << a[i].partition;
    free(a);
    return n;
}

/* Polls every consumer (draining into seen[], committing) until each has
 * want[i] partitions and together they cover mask_all disjointly, or ms pass.
 * Returns the records drained. */
static int settle(hx_consumer_t **cs, const size_t *want, int n, int mask_all, int *seen, int ms)
{
    int got = 0;
    uint64_t end = hx_mono_ns() + (uint64_t)ms * 1000000;
    for (;;) {
        int ok = 1, all = 0;
        for (int i = 0; i < n; i++) {
            int m = 0;
            size_t cnt = assigned(cs[i], &m);
            ok &= cnt == want[i] && (all & m) == 0;
            all |= m;
        }
        if ((ok && all == mask_all) || hx_mono_ns() > end)
            return got;
        for (int i = 0; i < n; i++)
            got += drain(cs[i], seen, 1 << 20, 20);
    }
}

static void test_groups(void)
{
    hx_broker_t *b = open_broker(NULL);
    make_topic(b, "g", 4);
    produce_n(b, "g", 0, 200, 20);
    const char *topics[] = {"g"};
    hx_err_t e = {0};
    hx_consumer_t *c1, *c2;
    hx_consumer_opts_t small = bc_opts(10, HX_RESET_EARLIEST); /* so the rebalance lands mid-stream */
    REQUIRE_INT(hx_consumer_new(b, "grp", topics, 1, &small, &c1, &e), 0);
    int mask = 0;
    CHECK_INT(assigned(c1, &mask), 4);
    int seen[400] = {0};
    int got = drain(c1, seen, 100, 5000); /* polls of up to 10: at least 100 */
    CHECK(got >= 100 && got < 110);
    /* A second member joins: partitions split, disjoint and complete. */
    REQUIRE_INT(hx_consumer_new(b, "grp", topics, 1, &small, &c2, &e), 0);
    hx_consumer_t *both[] = {c1, c2};
    got += settle(both, (const size_t[]){2, 2}, 2, 0xF, seen, 20000);
    int m1 = 0, m2 = 0;
    CHECK_INT(assigned(c1, &m1), 2);
    CHECK_INT(assigned(c2, &m2), 2);
    CHECK((m1 & m2) == 0 && (m1 | m2) == 0xF);
    produce_n(b, "g", 200, 200, 20);
    int lost = 400;
    for (int round = 0; round < 400 && lost; round++) {
        drain(c1, seen, 1 << 20, 50);
        drain(c2, seen, 1 << 20, 50);
        lost = 0;
        for (int i = 0; i < 400; i++)
            lost += seen[i] == 0;
    }
    CHECK_INT(lost, 0);
    /* Exactly once on the embedded log. Kafka refuses commits while a group
     * rebalances, so records read then are delivered again (at least once). */
    int dup = 0;
    for (int i = 0; i < 400; i++)
        dup += seen[i] > 1;
    if (strcmp(hx_broker_backend(b), "embedded") == 0)
        CHECK_INT(dup, 0);
    (void)got;
    /* Group view: two members, lag 0 after commits. */
    hx_group_info_t gi;
    CHECK_INT(hx_broker_group_describe(b, "grp", &gi, &e), 0);
    CHECK_STR(gi.state, "Stable");
    CHECK_INT(gi.n_members, 2);
    int64_t lag = 0;
    for (size_t i = 0; i < gi.n_offsets; i++)
        lag += gi.offsets[i].lag;
    CHECK_INT(lag, 0);
    hx_group_info_free(&gi);
    /* c1 leaves: c2 owns everything and continues from the commits. */
    hx_consumer_close(c1);
    int before[400];
    memcpy(before, seen, sizeof seen);
    CHECK_INT(settle(&c2, (const size_t[]){4}, 1, 0xF, seen, 20000), 0); /* nothing uncommitted to redeliver */
    int m3 = 0;
    CHECK_INT(assigned(c2, &m3), 4);
    CHECK_INT(drain(c2, seen, 1, 300), 0);
    CHECK(memcmp(before, seen, sizeof seen) == 0);
    hx_consumer_close(c2);
    /* No members, commits remain: listed as Empty with lag. */
    produce_n(b, "g", 0, 5, 20);
    CHECK_INT(hx_broker_group_describe(b, "grp", &gi, &e), 0);
    CHECK_STR(gi.state, "Empty");
    lag = 0;
    for (size_t i = 0; i < gi.n_offsets; i++)
        lag += gi.offsets[i].lag;
    CHECK_INT(lag, 5);
    hx_group_info_free(&gi);
    hx_name_list_t l;
    CHECK_INT(hx_broker_group_list(b, &l, &e), 0);
    CHECK(l.count == 1 && strcmp(l.names[0], "grp") == 0);
    hx_name_list_free(&l);
    CHECK_INT(hx_broker_group_describe(b, "nobody", &gi, &e), HX_ENOTFOUND);
    hx_broker_close(b);
}

/* Polls until records arrive or ms pass (a loaded machine can make the first
 * fetch after a seek or a join slow on Kafka). */
static int poll_some(hx_consumer_t *c, int ms, hx_fetch_t *f, hx_err_t *e)
{
    uint64_t end = hx_mono_ns() + (uint64_t)ms * 1000000;
    int rc;
    while ((rc = hx_consumer_poll(c, 100, f, e)) == 0 && f->count == 0 && hx_mono_ns() < end)
        hx_fetch_free(f);
    return rc;
}

static void test_resets_and_seeks(void)
{
    hx_broker_t *b = open_broker(NULL);
    make_topic(b, "s", 1);
    produce_n(b, "s", 0, 10, 0);
    const char *topics[] = {"s"};
    hx_err_t e = {0};
    hx_consumer_opts_t o = bc_opts(0, HX_RESET_LATEST);
    /* One member, no rebalance wanted: a long session keeps a slow (ASan,
     * loaded) run from losing its assignment, which on Kafka would move
     * "latest" past the records produced below. */
    o.session_timeout_ms = 10000;
    hx_consumer_t *c;
    REQUIRE_INT(hx_consumer_new(b, "late", topics, 1, &o, &c, &e), 0);
    int seen[64] = {0};
    CHECK_INT(drain(c, seen, 1, 200), 0); /* latest: nothing old */
    produce_n(b, "s", 10, 2, 0);
    CHECK_INT(drain(c, seen, 2, 10000), 2);
    CHECK(seen[10] == 1 && seen[11] == 1);
    CHECK_INT(hx_consumer_seek(c, "s", 0, 3, &e), 0);
    hx_fetch_t f;
    CHECK_INT(poll_some(c, 5000, &f, &e), 0);
    CHECK(f.count > 0 && f.msgs[0].offset == 3);
    hx_fetch_free(&f);
    CHECK_INT(hx_consumer_seek(c, "s", 0, HX_OFFSET_BEGINNING, &e), 0);
    CHECK_INT(poll_some(c, 5000, &f, &e), 0);
    CHECK(f.count > 0 && f.msgs[0].offset == 0);
    hx_fetch_free(&f);
    CHECK_INT(hx_consumer_seek(c, "s", 0, HX_OFFSET_END, &e), 0);
    CHECK_INT(hx_consumer_poll(c, 100, &f, &e), 0);
    CHECK_INT(f.count, 0);
    hx_fetch_free(&f);
    CHECK_INT(hx_consumer_seek(c, "s", 0, 99, &e), HX_ERANGE);
    CHECK_INT(hx_consumer_seek(c, "s", 5, 0, &e), HX_EINVAL);
    CHECK_CONTAINS(e.msg, "not assigned");
    CHECK_INT(hx_consumer_seek_time(c, "s", 0, 0, &e), 0);
    CHECK_INT(poll_some(c, 5000, &f, &e), 0);
    CHECK(f.count > 0 && f.msgs[0].offset == 0);
    hx_fetch_free(&f);
    /* Commit, close, a new member resumes at the commit. */
    CHECK_INT(hx_consumer_commit_offset(c, "s", 0, 7, &e), 0);
    hx_consumer_close(c);
    REQUIRE_INT(hx_consumer_new(b, "late", topics, 1, &o, &c, &e), 0);
    CHECK_INT(poll_some(c, 5000, &f, &e), 0);
    CHECK(f.count > 0 && f.msgs[0].offset == 7);
    hx_fetch_free(&f);
    hx_consumer_close(c);
    /* earliest for a new group */
    hx_consumer_opts_t early = bc_opts(0, HX_RESET_EARLIEST);
    REQUIRE_INT(hx_consumer_new(b, "early", topics, 1, &early, &c, &e), 0);
    memset(seen, 0, sizeof seen);
    CHECK_INT(drain(c, seen, 12, 10000), 12);
    hx_consumer_close(c);
    CHECK_INT(hx_consumer_new(b, "x", (const char *[]){"missing"}, 1, &early, &c, &e), HX_ENOTFOUND);
    hx_broker_close(b);
}

/* A seek on one partition right after joining leaves the others where they
 * were (here: the beginning, for a new group reading from earliest). */
static void test_seek_one_partition(void)
{
    hx_broker_t *b = open_broker(NULL);
    make_topic(b, "s3", 3);
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < 10; i++) {
            char v[16];
            snprintf(v, sizeof v, "v%d", p * 10 + i);
            hx_msg_t m = {.topic = "s3", .partition = p, .value = v, .value_len = strlen(v)};
            hx_err_t e = {0};
            CHECK_INT(hx_broker_produce(b, &m, 1, NULL, &e), 0);
        }
    const char *topics[] = {"s3"};
    hx_consumer_opts_t o = bc_opts(0, HX_RESET_EARLIEST);
    hx_consumer_t *c;
    hx_err_t e = {0};
    REQUIRE_INT(hx_consumer_new(b, "seek1", topics, 1, &o, &c, &e), 0);
    CHECK_INT(hx_consumer_seek(c, "s3", 0, 4, &e), 0);
    CHECK_INT(hx_consumer_seek(c, "s3", 1, 7, &e), 0);
    int seen[64] = {0};
    CHECK_INT(drain(c, seen, 19, 10000), 19);
    int want_ok = 1;
    for (int v = 0; v < 30; v++)
        want_ok &= seen[v] == ((v < 4 || (v >= 10 && v < 17)) ? 0 : 1);
    if (!want_ok) {
        fprintf(stderr, "seen (value: times):");
        for (int v = 0; v < 30; v++)
            fprintf(stderr, " %d:%d", v, seen[v]);
        fprintf(stderr, "\n");
    }
    CHECK(want_ok);
    hx_consumer_close(c);
    hx_broker_close(b);
}

static int fail_on_7(void *ctx, const hx_msg_t *m, hx_err_t *err)
{
    int *calls = ctx;
    if (value_index(m) == 7) {
        calls[0]++;
        return hx_err_set(err, HX_EINVAL, "record 7 is poison");
    }
    calls[1]++;
    if (calls[1] == 9) /* everything else handled: stop after this poll */
        calls[2] = 1;
    return 0;
}

static void test_dlq(void)
{
    hx_broker_t *b = open_broker(NULL);
    make_topic(b, "work", 1);
    produce_n(b, "work", 0, 10, 0);
    const char *topics[] = {"work"};
    hx_err_t e = {0};
    hx_consumer_t *c;
    hx_consumer_opts_t o = bc_opts(0, HX_RESET_EARLIEST);
    REQUIRE_INT(hx_consumer_new(b, "workers", topics, 1, &o, &c, &e), 0);
    int calls[3] = {0};
    hx_dlq_policy_t p = {3, 5, 20};
    CHECK_INT(hx_consumer_run(c, fail_on_7, calls, &p, &calls[2], &e), 0);
    CHECK_INT(calls[0], 3); /* three tries in all */
    CHECK_INT(calls[1], 9);
    hx_fetch_t f;
    int64_t total = 0;
    for (int part = 0; part < 3; part++) {
        CHECK_INT(hx_broker_fetch(b, HX_TOPIC_DLQ, part, 0, 10, 0, &f, &e), 0);
        for (size_t i = 0; i < f.count; i++) {
            total++;
            CHECK_INT(value_index(&f.msgs[i]), 7);
            const char *want[] = {"original_topic", "original_partition", "original_offset", "retry_count",
                                  "reason", "next_retry"};
            for (int w = 0; w < 6; w++) {
                int found = 0;
                for (size_t h = 0; h < f.msgs[i].header_count; h++)
                    found |= strcmp(f.msgs[i].headers[h].name, want[w]) == 0;
                CHECK(found);
            }
            CHECK(f.msgs[i].headers[3].value_len == 1 && *(const char *)f.msgs[i].headers[3].value == '3');
        }
        hx_fetch_free(&f);
    }
    CHECK_INT(total, 1);
    hx_group_info_t gi;
    CHECK_INT(hx_broker_group_describe(b, "workers", &gi, &e), 0);
    CHECK(gi.n_offsets == 1 && gi.offsets[0].committed == 10);
    hx_group_info_free(&gi);
    hx_consumer_close(c);
    hx_broker_close(b);
}

typedef struct {
    hx_broker_t *b;
    int id;
    int delivered;
    pthread_mutex_t *mu;
} prod_t;

static void on_delivery(void *ctx, const hx_delivery_t *d, const hx_err_t *err)
{
    prod_t *p = ctx;
    pthread_mutex_lock(p->mu);
    if (!err && d->offset >= 0)
        p->delivered++;
    pthread_mutex_unlock(p->mu);
}

static void *async_main(void *arg)
{
    prod_t *p = arg;
    for (int i = 0; i < 200; i++) {
        char v[32];
        snprintf(v, sizeof v, "v%d", p->id * 1000 + i);
        hx_msg_t m = {.topic = "async", .partition = -1, .value = v, .value_len = strlen(v)};
        hx_broker_produce_async(p->b, &m, on_delivery, p, NULL);
    }
    return NULL;
}

static void test_async_batching_and_metrics(void)
{
    hx_metrics_t *reg = hx_metrics_new();
    hx_broker_t *b = open_broker(reg);
    make_topic(b, "async", 2);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_t th[8];
    prod_t p[8];
    for (int i = 0; i < 8; i++) {
        p[i] = (prod_t){b, i, 0, &mu};
        pthread_create(&th[i], NULL, async_main, &p[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    hx_err_t e = {0};
    CHECK_INT(hx_broker_flush(b, 10000, &e), 0);
    int delivered = 0;
    for (int i = 0; i < 8; i++)
        delivered += p[i].delivered;
    CHECK_INT(delivered, 1600);
    hx_topic_info_t ti;
    CHECK_INT(hx_broker_topic_describe(b, "async", &ti, &e), 0);
    CHECK_INT(ti.partitions[0].high_watermark + ti.partitions[1].high_watermark, 1600);
    hx_topic_info_free(&ti);
    const char *be = hx_broker_backend(b);
    char want[256], avg_key[128];
    snprintf(want, sizeof want, "kafka_producer_record_send_total{backend=\"%s\",topic=\"async\"} 1600", be);
    snprintf(avg_key, sizeof avg_key, "kafka_producer_batch_size_avg{backend=\"%s\"} ", be);
    hx_buf_t out = HX_BUF_INIT;
    /* Shared batches: more than one record per batch on average. Kafka
     * reports it from librdkafka's statistics, every second. */
    double avg = 0;
    for (int i = 0; i < 40 && avg <= 1.0; i++) {
        hx_buf_free(&out);
        hx_metrics_render(reg, &out);
        const char *a = strstr(hx_buf_cstr(&out), avg_key);
        avg = a ? atof(a + strlen(avg_key)) : 0;
        if (avg <= 1.0)
            hx_sleep_ms(100);
    }
    CHECK_CONTAINS(hx_buf_cstr(&out), want);
    CHECK(avg > 1.0);
    hx_buf_free(&out);
    /* Lag metric appears once a group commits. */
    const char *topics[] = {"async"};
    hx_consumer_t *c;
    hx_consumer_opts_t o = bc_opts(0, HX_RESET_EARLIEST);
    REQUIRE_INT(hx_consumer_new(b, "lagger", topics, 1, &o, &c, &e), 0);
    CHECK_INT(hx_consumer_commit_offset(c, "async", 0, 0, &e), 0);
    hx_metrics_render(reg, &out);
    snprintf(want, sizeof want, "kafka_consumer_lag_records{backend=\"%s\",group=\"lagger\",topic=\"async\",partition=\"0\"}", be);
    CHECK_CONTAINS(hx_buf_cstr(&out), want);
    hx_buf_free(&out);
    hx_consumer_close(c);
    /* ... and for a group that reads without ever committing, refreshed
     * periodically (every second on both backends). */
    REQUIRE_INT(hx_consumer_new(b, "reader", topics, 1, &o, &c, &e), 0);
    snprintf(want, sizeof want, "kafka_consumer_lag_records{backend=\"%s\",group=\"reader\",topic=\"async\"", be);
    int found = 0;
    for (int i = 0; i < 60 && !found; i++) {
        hx_fetch_t f;
        if (hx_consumer_poll(c, 100, &f, &e) == 0)
            hx_fetch_free(&f);
        hx_buf_free(&out);
        hx_metrics_render(reg, &out);
        found = strstr(hx_buf_cstr(&out), want) != NULL;
    }
    CHECK(found);
    hx_buf_free(&out);
    hx_consumer_close(c);
    hx_broker_close(b);
    hx_metrics_free(reg);
}

/* Pipelined batches: queued back to back without waiting, every record is
 * acknowledged once through its batch callback, and each key's records keep
 * the order they were queued in. */
typedef struct {
    pthread_mutex_t mu;
    int batches, records, failed;
    int64_t offset[1000];
    int32_t partition[1000];
} pipe_t;

typedef struct {
    pipe_t *pp;
    int base;
} pipe_batch_t;

static void on_pipe_batch(void *ctx, const hx_delivery_t *d, size_t n, int rc, const hx_err_t *err)
{
    pipe_batch_t *pb = ctx;
    (void)err;
    pthread_mutex_lock(&pb->pp->mu);
    for (size_t i = 0; i < n; i++) {
        pb->pp->offset[pb->base + (int)i] = d[i].status ? -1 : d[i].offset;
        pb->pp->partition[pb->base + (int)i] = d[i].partition;
        pb->pp->records++;
    }
    pb->pp->failed += rc != 0;
    pb->pp->batches++;
    pthread_mutex_unlock(&pb->pp->mu);
}

/* Records in topic (high watermarks summed; the topics here start at 0). */
static int64_t topic_records(hx_broker_t *b, const char *topic)
{
    hx_topic_info_t ti;
    hx_err_t e = {0};
    if (hx_broker_topic_describe(b, topic, &ti, &e))
        return -1;
    int64_t total = 0;
    for (int p = 0; p < ti.config.partitions; p++)
        total += ti.partitions[p].high_watermark;
    hx_topic_info_free(&ti);
    return total;
}

static void test_pipelined_batches(void)
{
    hx_broker_t *b = open_broker(NULL);
    make_topic(b, "pipe", 3);
    static pipe_t pp;
    memset(&pp, 0, sizeof pp);
    pthread_mutex_init(&pp.mu, NULL);
    pipe_batch_t pb[20];
    hx_err_t e = {0};
    for (int bt = 0; bt < 20; bt++) {
        hx_msg_t msgs[50];
        char keys[50][8], vals[50][16];
        for (int i = 0; i < 50; i++) {
            int seq = bt * 50 + i;
            snprintf(keys[i], sizeof keys[i], "k%d", seq % 10);
            snprintf(vals[i], sizeof vals[i], "v%d", seq);
            msgs[i] = (hx_msg_t){.topic = "pipe", .partition = -1, .key = keys[i], .key_len = strlen(keys[i]),
                                 .value = vals[i], .value_len = strlen(vals[i])};
        }
        pb[bt] = (pipe_batch_t){&pp, bt * 50};
        CHECK_INT(hx_broker_produce_batch(b, msgs, 50, on_pipe_batch, &pb[bt], &e), 0);
    }
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(&pp.mu);
        int done = pp.batches;
        pthread_mutex_unlock(&pp.mu);
        if (done == 20)
            break;
        hx_sleep_ms(20);
    }
    CHECK_INT(pp.batches, 20);
    CHECK_INT(pp.records, 1000);
    CHECK_INT(pp.failed, 0);
    int in_order = 1;
    for (int i = 10; i < 1000; i++)
        in_order &= pp.offset[i] >= 0 && pp.partition[i] == pp.partition[i - 10] && pp.offset[i] > pp.offset[i - 10];
    CHECK(in_order);
    CHECK_INT(topic_records(b, "pipe"), 1000);
    /* A bad record fails the call at once; nothing is queued, cb never runs. */
    hx_msg_t bad[2] = {{.topic = "pipe", .partition = -1, .value = "a", .value_len = 1},
                       {.topic = "pipe", .partition = 7, .value = "b", .value_len = 1}};
    CHECK_INT(hx_broker_produce_batch(b, bad, 2, on_pipe_batch, &pb[0], &e), HX_EINVAL);
    hx_msg_t missing = {.topic = "no.such.topic", .partition = -1, .value = "c", .value_len = 1};
    CHECK_INT(hx_broker_produce_batch(b, &missing, 1, on_pipe_batch, &pb[0], &e), HX_ENOTFOUND);
    hx_sleep_ms(50);
    CHECK_INT(pp.batches, 20);
    CHECK_INT(topic_records(b, "pipe"), 1000);
    hx_broker_close(b);
    pthread_mutex_destroy(&pp.mu);
}

/* Every shared test, in order. */
static void run_conformance(void)
{
    RUN(test_roundtrip_and_errors);
    RUN(test_partitioning);
    RUN(test_groups);
    RUN(test_resets_and_seeks);
    RUN(test_seek_one_partition);
    RUN(test_dlq);
    RUN(test_async_batching_and_metrics);
    RUN(test_pipelined_batches);
}

#endif
