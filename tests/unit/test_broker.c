/* The embedded broker: the shared conformance suite (tests/broker_conformance.h)
 * plus what only the embedded log does: session expiry by the maintenance
 * thread, the data-dir lock and reopen durability. */
#include "../broker_conformance.h"

static char *dir;

/* The config of a test broker: data under dir/sub, the given fsync policy. */
static void test_cfg(hx_config_t *cfg, const char *sub, hx_fsync_t fsync)
{
    hx_config_defaults(cfg);
    snprintf(cfg->node.data_dir, sizeof cfg->node.data_dir, "%s%s", dir, sub);
    cfg->event_log.fsync = fsync;
}

static hx_broker_t *open_broker(hx_metrics_t *m)
{
    hx_config_t cfg;
    test_cfg(&cfg, "", HX_FSYNC_NEVER);
    hx_broker_t *b = NULL;
    hx_err_t e = {0};
    if (hx_broker_open(&cfg, m, &b, &e))
        fprintf(stderr, "open: %s\n", e.msg);
    return b;
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

/* fsync=always: one batch over many partitions appends them side by side
 * (syncpool.c); each record lands once, in order per key, and is there after
 * a reopen; a batch naming a missing partition writes nothing. */
static void test_always_parallel_partitions(void)
{
    hx_config_t cfg;
    test_cfg(&cfg, "/always", HX_FSYNC_ALWAYS);
    hx_broker_t *b = NULL;
    hx_err_t e = {0};
    CHECK_INT(hx_broker_open(&cfg, NULL, &b, &e), 0);
    make_topic(b, "par", 12);
    enum { N = 600 };
    static hx_msg_t msgs[N];
    static char keys[N][8], vals[N][16];
    static hx_delivery_t dl[N];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i % 40);
        snprintf(vals[i], sizeof vals[i], "v%d", i);
        msgs[i] = (hx_msg_t){.topic = "par", .partition = -1, .key = keys[i], .key_len = strlen(keys[i]),
                             .value = vals[i], .value_len = strlen(vals[i])};
    }
    CHECK_INT(hx_broker_produce(b, msgs, N / 2, dl, &e), 0);
    CHECK_INT(hx_broker_produce(b, msgs + N / 2, N / 2, dl + N / 2, &e), 0);
    int ordered = 1, parts_used = 0, seen[12] = {0};
    for (int i = 0; i < N; i++) {
        ordered &= dl[i].status == 0 && (i < 40 || (dl[i].partition == dl[i - 40].partition &&
                                                    dl[i].offset > dl[i - 40].offset));
        parts_used += !seen[dl[i].partition]++;
    }
    CHECK(ordered);
    CHECK(parts_used > 6);
    hx_msg_t bad = {.topic = "par", .partition = 12, .value = "x", .value_len = 1};
    CHECK_INT(hx_broker_produce(b, &bad, 1, NULL, &e), HX_EINVAL);
    hx_broker_close(b);
    CHECK_INT(hx_broker_open(&cfg, NULL, &b, &e), 0);
    CHECK_INT(topic_records(b, "par"), N);
    hx_broker_close(b);
}

int main(void)
{
    dir = hx_test_tmpdir("broker");
    run_conformance();
    RUN(test_session_expiry);
    RUN(test_lock_and_reopen);
    RUN(test_always_parallel_partitions);
    free(dir);
    return HX_TEST_DONE();
}
