/* Exactly-once ingest across kill -9: rounds of (publish more events to the
 * log; start a process that ingests them with small batches, so it flushes,
 * merges and commits all the time; SIGKILL it at a seeded random moment).
 * At the end every row is stored exactly once: counts, distinct request ids
 * and sums match what was published, on the raw tables and the rollups. */
#include "helix/hx_analytics.h"
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"
#include "helix/hx_topics.h"
#include "../hx_test.h"

#include <signal.h>
#include <sys/wait.h>

#define ROUNDS 6
#define ROWS_PER_ROUND 20000
#define DEBATES_PER_ROUND 100
#define MSGS_PER_ROUND 300

static hx_config_t cfg;

static int open_all(hx_broker_t **b, hx_analytics_t **a, int ingest)
{
    hx_err_t e = {0};
    *a = NULL;
    if (hx_broker_open(&cfg, NULL, b, &e) || hx_broker_ensure_builtin_topics(*b, &e)) {
        fprintf(stderr, "broker: %s\n", e.msg);
        return -1;
    }
    hx_analytics_opts_t o;
    hx_analytics_opts_defaults(&o);
    o.cfg = &cfg;
    o.broker = *b;
    o.ingest = ingest;
    o.node_id = "crash-test";
    if (hx_analytics_open(&o, a, &e)) {
        fprintf(stderr, "analytics: %s\n", e.msg);
        hx_broker_close(*b);
        return -1;
    }
    return 0;
}

static void publish_round(int round, int64_t ts0)
{
    hx_broker_t *b;
    hx_analytics_t *a;
    if (open_all(&b, &a, 0)) {
        CHECK(0);
        return;
    }
    hx_err_t e = {0};
    hx_an_batch_t rows, debates, parts;
    hx_an_batch_init(&rows, HX_AN_PROVIDER_METRICS);
    hx_an_batch_init(&debates, HX_AN_DEBATE_METRICS);
    hx_an_batch_init(&parts, HX_AN_DEBATE_PARTICIPANTS);
    for (int i = 0; i < ROWS_PER_ROUND; i++) {
        char req[32], prov[8];
        snprintf(req, sizeof req, "r%d-%d", round, i);
        snprintf(prov, sizeof prov, "p%d", i % 4);
        hx_an_provider_row_t r = {.timestamp = ts0 + i * 97, .provider = prov, .model = "m", .request_id = req,
                                  .response_time_ms = 1 + i % 500, .tokens_used = (uint32_t)i, .success = i % 9 != 0};
        hx_an_batch_add_provider(&rows, "crash", &r, &e);
    }
    for (int i = 0; i < DEBATES_PER_ROUND; i++) {
        char id[32];
        snprintf(id, sizeof id, "d%d-%d", round, i);
        hx_an_participant_row_t ps[3] = {{"p0", "m", "pro", 10, 1, 0.5, 1}, {"p1", "m", "con", 20, 2, 0.5, 0},
                                         {"p2", "m", "con", 30, 3, 0.5, 0}};
        hx_an_debate_row_t d = {ts0 + i * 600, id, "c", "t", "p0", "m", "successful", 3, 0.9, 1000, ps, 3};
        hx_an_batch_add_debate(&debates, &parts, "crash", &d, &e);
    }
    CHECK_INT(hx_analytics_publish(a, &rows, NULL, NULL, &e), 0);
    CHECK_INT(hx_analytics_publish(a, &debates, &parts, NULL, &e), 0);
    for (int i = 0; i < MSGS_PER_ROUND; i++) {
        char conv[32], data[128];
        snprintf(conv, sizeof conv, "conv-%d", i % 17);
        snprintf(data, sizeof data, "{\"message_id\":\"m%d-%d\",\"role\":\"user\",\"content\":\"hello there\"}", round,
                 i);
        hx_envelope_t env;
        hx_envelope_init(&env);
        env.v = 1;
        env.type = strdup(HX_EV_CONVERSATION_MESSAGE_ADDED);
        env.tenant = strdup("crash");
        env.key = strdup(conv);
        env.data = json_loads(data, 0, NULL);
        hx_envelope_fill_defaults(&env, "crash-test", (ts0 + i * 60) * 1000, &e);
        env.ts = (ts0 + i * 60) * 1000;
        hx_buf_t f = HX_BUF_INIT;
        CHECK_INT(hx_envelope_encode(&env, &f, &e), 0);
        hx_msg_t m = {.topic = HX_TOPIC_CONVERSATIONS, .partition = -1, .key = conv, .key_len = strlen(conv),
                      .value = f.data, .value_len = f.len};
        CHECK_INT(hx_broker_produce(b, &m, 1, NULL, &e), 0);
        hx_buf_free(&f);
        hx_envelope_free(&env);
    }
    hx_an_batch_free(&rows);
    hx_an_batch_free(&debates);
    hx_an_batch_free(&parts);
    hx_analytics_close(a);
    hx_broker_close(b);
}

static int64_t q1(hx_analytics_t *a, const char *sql, int raw)
{
    hx_an_query_opts_t o = {NULL, 0, 0, raw};
    hx_an_result_t r;
    hx_err_t e = {0};
    if (hx_analytics_query(a, "crash", sql, strlen(sql), &o, &r, &e)) {
        fprintf(stderr, "query [%s]: %s\n", sql, e.msg);
        return -1;
    }
    int64_t v = r.nrows ? hx_an_result_cell(&r, 0, 0)->i : -1;
    hx_an_result_free(&r);
    return v;
}

static void verify(hx_analytics_t *a, int rounds)
{
    int64_t rows = (int64_t)rounds * ROWS_PER_ROUND;
    int64_t tokens = (int64_t)rounds * ROWS_PER_ROUND * (ROWS_PER_ROUND - 1) / 2;
    for (int raw = 0; raw < 2; raw++) {
        CHECK_INT(q1(a, "SELECT count() FROM provider_metrics", raw), rows);
        CHECK_INT(q1(a, "SELECT sum(tokens_used) FROM provider_metrics", raw), tokens);
        CHECK_INT(q1(a, "SELECT count() FROM debate_metrics", raw), (int64_t)rounds * DEBATES_PER_ROUND);
        CHECK_INT(q1(a, "SELECT sum(messages_added) FROM conversation_metrics", raw),
                  (int64_t)rounds * MSGS_PER_ROUND);
    }
    CHECK_INT(q1(a, "SELECT uniq(request_id) FROM provider_metrics", 1), rows);
    CHECK_INT(q1(a, "SELECT count() FROM debate_participants", 1), (int64_t)rounds * DEBATES_PER_ROUND * 3);
    CHECK_INT(q1(a, "SELECT uniq(debate_id) FROM debate_participants", 1), (int64_t)rounds * DEBATES_PER_ROUND);
}

int main(void)
{
    char *base = hx_test_tmpdir("analytics-crash");
    hx_config_defaults(&cfg);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s/data", base);
    snprintf(cfg.node.log_level, sizeof cfg.node.log_level, "warn");
    cfg.event_log.fsync = HX_FSYNC_NEVER; /* kill -9 keeps the page cache: the crash is the process's */
    cfg.analytics.batch_rows = 400;
    cfg.analytics.flush_ms = 20;
    cfg.analytics.maintain_interval_ms = 10;
    cfg.analytics.ttl_days.provider_metrics = 0;
    cfg.analytics.ttl_days.debate_metrics = 0;
    cfg.analytics.ttl_days.debate_participants = 0;
    cfg.analytics.ttl_days.conversation_metrics = 0;
    const int64_t ts0 = 1704067200;
    uint64_t seed = 0x0300feedULL;
    int kills = 0, partial = 0;
    for (int round = 0; round < ROUNDS; round++) {
        publish_round(round, ts0 + round * 3 * 86400);
        for (int k = 0; k < 2; k++) {
            pid_t pid = fork();
            if (pid == 0) {
                hx_broker_t *b;
                hx_analytics_t *a;
                if (open_all(&b, &a, 1))
                    _exit(3);
                for (;;)
                    hx_sleep_ms(1000); /* ingest runs until the kill */
            }
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            hx_sleep_ms(5 + (int64_t)(seed % 300));
            CHECK_INT(kill(pid, SIGKILL), 0);
            int st = 0;
            waitpid(pid, &st, 0);
            CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
            kills += WIFSIGNALED(st);
            /* How far it got: a kill between 0 and everything hit ingest mid-way. */
            hx_broker_t *b;
            hx_analytics_t *a;
            if (!open_all(&b, &a, 0)) {
                int64_t n = q1(a, "SELECT count() FROM provider_metrics", 1);
                partial += n > 0 && n < (int64_t)(round + 1) * ROWS_PER_ROUND;
                CHECK(n >= 0 && n <= (int64_t)(round + 1) * ROWS_PER_ROUND);
                hx_analytics_close(a);
                hx_broker_close(b);
            }
        }
    }
    fprintf(stderr, "%d ingest processes killed with SIGKILL, %d of them mid-way\n", kills, partial);
    CHECK(partial >= 1); /* at least one kill landed mid-ingest (most do; the rest land before or after) */
    hx_broker_t *b;
    hx_analytics_t *a;
    if (open_all(&b, &a, 1)) {
        CHECK(0);
        return HX_TEST_DONE();
    }
    hx_err_t e = {0};
    int rc = hx_analytics_ingest_wait(a, 60000, &e);
    if (rc)
        fprintf(stderr, "ingest wait: %s\n", e.msg);
    CHECK_INT(rc, 0);
    verify(a, ROUNDS);
    CHECK_INT(hx_analytics_maintain(a, 0, &e), 0);
    verify(a, ROUNDS);
    hx_analytics_close(a);
    hx_broker_close(b);
    return HX_TEST_DONE();
}
