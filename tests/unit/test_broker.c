/* The embedded broker through the public hx_broker.h API: produce/fetch,
 * partitioning, errors, consumer groups and rebalancing, commits, seeks, lag,
 * the DLQ loop, async batching, the data-dir lock and reopen durability. */
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_metrics.h"
#include "../hx_test.h"

#include <pthread.h>

static char *dir;

static hx_broker_t *open_broker(hx_metrics_t *m)
{
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s", dir);
    cfg.event_log.fsync = HX_FSYNC_NEVER;
    hx_broker_t *b = NULL;
    hx_err_t e = {0};
    if (hx_broker_open(&cfg, m, &b, &e))
        fprintf(stderr, "open: %s\n", e.msg);
    return b;
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

static void test_groups(void)
{
    hx_broker_t *b = open_broker(NULL);
    make_topic(b, "g", 4);
    produce_n(b, "g", 0, 200, 20);
    const char *topics[] = {"g"};
    hx_err_t e = {0};
    hx_consumer_t *c1, *c2;
    hx_consumer_opts_t small;
    hx_consumer_opts_defaults(&small);
    small.max_poll_records = 10; /* so the rebalance lands mid-stream */
    CHECK_INT(hx_consumer_new(b, "grp", topics, 1, &small, &c1, &e), 0);
    int mask = 0;
    CHECK_INT(assigned(c1, &mask), 4);
    int seen[400] = {0};
    CHECK_INT(drain(c1, seen, 100, 2000), 100);
    /* A second member joins: partitions split, disjoint and complete. */
    CHECK_INT(hx_consumer_new(b, "grp", topics, 1, &small, &c2, &e), 0);
    int m1 = 0, m2 = 0;
    size_t n1 = assigned(c1, &m1), n2 = assigned(c2, &m2);
    CHECK_INT(n1 + n2, 4);
    CHECK_INT(n1, 2);
    CHECK((m1 & m2) == 0 && (m1 | m2) == 0xF);
    produce_n(b, "g", 200, 200, 20);
    int got = 0;
    for (int round = 0; round < 40 && got < 300; round++) {
        got += drain(c1, seen, 300 - got, 50);
        got += drain(c2, seen, 300 - got, 50);
    }
    CHECK_INT(got, 300);
    int lost = 0, dup = 0;
    for (int i = 0; i < 400; i++) {
        lost += seen[i] == 0;
        dup += seen[i] > 1;
    }
    CHECK_INT(lost, 0);
    CHECK_INT(dup, 0);
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
    int m3 = 0;
    CHECK_INT(assigned(c2, &m3), 4);
    int before[400];
    memcpy(before, seen, sizeof seen);
    CHECK_INT(drain(c2, seen, 1, 300), 0); /* nothing uncommitted left to redeliver */
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

static void test_resets_and_seeks(void)
{
    hx_broker_t *b = open_broker(NULL);
    make_topic(b, "s", 1);
    produce_n(b, "s", 0, 10, 0);
    const char *topics[] = {"s"};
    hx_err_t e = {0};
    hx_consumer_opts_t o;
    hx_consumer_opts_defaults(&o);
    o.auto_offset_reset = HX_RESET_LATEST;
    hx_consumer_t *c;
    CHECK_INT(hx_consumer_new(b, "late", topics, 1, &o, &c, &e), 0);
    int seen[64] = {0};
    CHECK_INT(drain(c, seen, 1, 200), 0); /* latest: nothing old */
    produce_n(b, "s", 10, 2, 0);
    CHECK_INT(drain(c, seen, 2, 1000), 2);
    CHECK(seen[10] == 1 && seen[11] == 1);
    CHECK_INT(hx_consumer_seek(c, "s", 0, 3, &e), 0);
    hx_fetch_t f;
    CHECK_INT(hx_consumer_poll(c, 500, &f, &e), 0);
    CHECK(f.count > 0 && f.msgs[0].offset == 3);
    hx_fetch_free(&f);
    CHECK_INT(hx_consumer_seek(c, "s", 0, HX_OFFSET_BEGINNING, &e), 0);
    CHECK_INT(hx_consumer_poll(c, 500, &f, &e), 0);
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
    CHECK_INT(hx_consumer_poll(c, 500, &f, &e), 0);
    CHECK(f.count > 0 && f.msgs[0].offset == 0);
    hx_fetch_free(&f);
    /* Commit, close, a new member resumes at the commit. */
    CHECK_INT(hx_consumer_commit_offset(c, "s", 0, 7, &e), 0);
    hx_consumer_close(c);
    CHECK_INT(hx_consumer_new(b, "late", topics, 1, &o, &c, &e), 0);
    CHECK_INT(hx_consumer_poll(c, 500, &f, &e), 0);
    CHECK(f.count > 0 && f.msgs[0].offset == 7);
    hx_fetch_free(&f);
    hx_consumer_close(c);
    /* earliest for a new group */
    CHECK_INT(hx_consumer_new(b, "early", topics, 1, NULL, &c, &e), 0);
    memset(seen, 0, sizeof seen);
    CHECK_INT(drain(c, seen, 12, 1000), 12);
    hx_consumer_close(c);
    CHECK_INT(hx_consumer_new(b, "x", (const char *[]){"missing"}, 1, NULL, &c, &e), HX_ENOTFOUND);
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
    CHECK_INT(hx_consumer_new(b, "workers", topics, 1, NULL, &c, &e), 0);
    int calls[3] = {0};
    hx_dlq_policy_t p = {3, 5, 20};
    CHECK_INT(hx_consumer_run(c, fail_on_7, calls, &p, &calls[2], &e), 0);
    CHECK_INT(calls[0], 3); /* three tries in all */
    CHECK_INT(calls[1], 9);
    hx_fetch_t f;
    int64_t total = 0;
    for (int part = 0; part < 3; part++) {
        CHECK_INT(hx_broker_fetch(b, HX_DLQ_TOPIC, part, 0, 10, 0, &f, &e), 0);
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
    hx_buf_t out = HX_BUF_INIT;
    hx_metrics_render(reg, &out);
    const char *text = hx_buf_cstr(&out);
    CHECK_CONTAINS(text, "kafka_producer_record_send_total{backend=\"embedded\",topic=\"async\"} 1600");
    /* Shared batches: more than one record per append on average. */
    const char *avg = strstr(text, "kafka_producer_batch_size_avg{backend=\"embedded\"} ");
    CHECK(avg && atof(avg + strlen("kafka_producer_batch_size_avg{backend=\"embedded\"} ")) > 1.0);
    hx_buf_free(&out);
    /* Lag metric appears once a group commits. */
    const char *topics[] = {"async"};
    hx_consumer_t *c;
    CHECK_INT(hx_consumer_new(b, "lagger", topics, 1, NULL, &c, &e), 0);
    CHECK_INT(hx_consumer_commit_offset(c, "async", 0, 0, &e), 0);
    hx_metrics_render(reg, &out);
    CHECK_CONTAINS(hx_buf_cstr(&out), "kafka_consumer_lag_records{backend=\"embedded\",group=\"lagger\",topic=\"async\",partition=\"0\"}");
    hx_buf_free(&out);
    hx_consumer_close(c);
    hx_broker_close(b);
    hx_metrics_free(reg);
}

static void test_session_expiry(void)
{
    hx_broker_t *b = open_broker(NULL);
    make_topic(b, "exp", 2);
    const char *topics[] = {"exp"};
    hx_consumer_opts_t o;
    hx_consumer_opts_defaults(&o);
    o.session_timeout_ms = 300;
    hx_err_t e = {0};
    hx_consumer_t *silent, *alive;
    CHECK_INT(hx_consumer_new(b, "ex", topics, 1, &o, &silent, &e), 0);
    CHECK_INT(hx_consumer_new(b, "ex", topics, 1, &o, &alive, &e), 0);
    int m = 0;
    CHECK_INT(assigned(alive, &m), 1);
    int owned = 0;
    for (int i = 0; i < 40 && owned < 2; i++) { /* the maintenance thread expires it within ~1 s */
        hx_fetch_t f;
        hx_consumer_poll(alive, 100, &f, &e);
        hx_fetch_free(&f);
        m = 0;
        owned = (int)assigned(alive, &m);
    }
    CHECK_INT(owned, 2);
    hx_consumer_close(silent);
    hx_consumer_close(alive);
    hx_broker_close(b);
}

static void test_lock_and_reopen(void)
{
    hx_broker_t *b = open_broker(NULL);
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s", dir);
    hx_broker_t *second = NULL;
    hx_err_t e = {0};
    CHECK_INT(hx_broker_open(&cfg, NULL, &second, &e), HX_EUNAVAIL);
    CHECK_CONTAINS(e.msg, "in use");
    CHECK_INT(hx_broker_ensure_builtin_topics(b, &e), 0);
    CHECK_INT(hx_broker_ensure_builtin_topics(b, &e), 0); /* idempotent */
    hx_topic_info_t ti;
    CHECK_INT(hx_broker_topic_describe(b, "helixagent.conversations", &ti, &e), 0);
    CHECK_INT(ti.config.partitions, 16);
    CHECK_STR(ti.config.compression, "zstd");
    hx_topic_info_free(&ti);
    make_topic(b, "dur", 1);
    produce_n(b, "dur", 0, 5, 0);
    const char *topics[] = {"dur"};
    hx_consumer_t *c;
    CHECK_INT(hx_consumer_new(b, "keep", topics, 1, NULL, &c, &e), 0);
    CHECK_INT(hx_consumer_commit_offset(c, "dur", 0, 3, &e), 0);
    hx_consumer_close(c);
    hx_broker_close(b);
    b = open_broker(NULL);
    hx_group_info_t gi;
    CHECK_INT(hx_broker_group_describe(b, "keep", &gi, &e), 0);
    CHECK(gi.n_offsets == 1 && gi.offsets[0].committed == 3 && gi.offsets[0].lag == 2);
    hx_group_info_free(&gi);
    CHECK_INT(hx_broker_topic_delete(b, "dur", &e), 0);
    CHECK_INT(hx_broker_topic_describe(b, "dur", &ti, &e), HX_ENOTFOUND);
    hx_broker_close(b);
}

int main(void)
{
    dir = hx_test_tmpdir("broker");
    RUN(test_roundtrip_and_errors);
    RUN(test_partitioning);
    RUN(test_groups);
    RUN(test_resets_and_seeks);
    RUN(test_dlq);
    RUN(test_async_batching_and_metrics);
    RUN(test_session_expiry);
    RUN(test_lock_and_reopen);
    free(dir);
    return HX_TEST_DONE();
}
