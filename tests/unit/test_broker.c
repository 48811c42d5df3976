/* The embedded broker: the shared conformance suite (tests/broker_conformance.h)
 * plus what only the embedded log does: session expiry by the maintenance
 * thread, the data-dir lock and reopen durability. */
#include "../broker_conformance.h"

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
    run_conformance();
    RUN(test_session_expiry);
    RUN(test_lock_and_reopen);
    free(dir);
    return HX_TEST_DONE();
}
