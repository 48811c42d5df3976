/* kill -9 while the knowledge graph applies events and extracts entities:
 * the input (entity and relationship upserts on helixagent.entities.updates
 * in small envelopes, conversation messages on helixagent.conversations) is
 * produced first; then child processes run the graph consumers and are
 * killed at random moments, mid-batch, mid-WAL-write or mid-snapshot
 * (graph.batch_size 40, snapshots every second). Finally every entity's
 * mentions and every relationship's strength must be exactly what the input
 * sums to: nothing lost, nothing applied twice - for direct events and for
 * extracted ones, which a restarted extractor produces again. */
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"
#include "helix/hx_fs.h"
#include "helix/hx_graph.h"
#include "helix/hx_topics.h"
#include "../hx_test.h"

#include <signal.h>
#include <sys/wait.h>

#define ENTITIES 300
#define EVENTS 200000
#define MESSAGES 10000
#define ROUNDS 8

static const char *people[] = {"Alice Chen", "Bob Li", "Dana Ortiz", "Marcus Weber", "Priya Nair", "Kenji Sato"};
static const char *tech[] = {"PostgreSQL", "Redis", "ClickHouse", "Neo4j", "Docker", "Kubernetes"};

static int64_t mentions_want[ENTITIES];
static double strength_want[ENTITIES]; /* of (e<i>)-[LINKS]->(e<i+1>) */
static int64_t person_want[6], tech_want[6];

static uint32_t rnd(uint64_t *s, uint32_t n)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((*s >> 33) % n);
}

static void config(hx_config_t *cfg, const char *dir)
{
    hx_config_defaults(cfg);
    snprintf(cfg->node.data_dir, sizeof cfg->node.data_dir, "%s", dir);
    cfg->graph.batch_size = 40;
    cfg->graph.flush_ms = 5;
    cfg->graph.snapshot_interval_seconds = 1;
}

static int open_all(const char *dir, hx_config_t *cfg, hx_broker_t **b, hx_graph_t **g, int consume)
{
    char gdir[600];
    snprintf(gdir, sizeof gdir, "%s/graph", dir);
    hx_err_t e = {0};
    if (hx_broker_open(cfg, NULL, b, &e) || hx_broker_ensure_builtin_topics(*b, &e)) {
        fprintf(stderr, "broker: %s\n", e.msg);
        return -1;
    }
    hx_graph_opts_t o;
    hx_graph_opts_defaults(&o);
    o.cfg = cfg;
    o.dir = gdir;
    o.broker = *b;
    o.node_id = "crash";
    o.consume = o.extract = consume;
    if (hx_graph_open(&o, g, &e)) {
        fprintf(stderr, "graph: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static void produce_input(const char *dir)
{
    hx_config_t cfg;
    config(&cfg, dir);
    hx_broker_t *b;
    hx_graph_t *g;
    if (open_all(dir, &cfg, &b, &g, 0))
        exit(2);
    hx_err_t e = {0};
    uint64_t s = 99;
    hx_graph_op_t ops[7];
    char ids[7][2][16];
    for (int done = 0; done < EVENTS;) {
        int n = 1 + (int)rnd(&s, 7);
        for (int k = 0; k < n; k++, done++) {
            int i = (int)rnd(&s, ENTITIES);
            snprintf(ids[k][0], 16, "e%d", i);
            snprintf(ids[k][1], 16, "e%d", (i + 1) % ENTITIES);
            if (rnd(&s, 2)) {
                int m = 1 + (int)rnd(&s, 3);
                ops[k] = (hx_graph_op_t){.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = "t", .ts_ms = 1,
                                         .id = ids[k][0], .type = "thing", .name = ids[k][0], .mentions = m,
                                         .confidence = 1};
                mentions_want[i] += m;
            } else {
                double st = 0.25 * (1 + (int)rnd(&s, 4));
                ops[k] = (hx_graph_op_t){.kind = HX_GRAPH_OP_REL_UPSERT, .tenant = "t", .ts_ms = 1,
                                         .from = ids[k][0], .to = ids[k][1], .rel_type = "LINKS", .strength = st};
                strength_want[i] += st;
            }
        }
        /* several small envelopes per call: many records, many batches */
        if (hx_graph_publish(g, ops, (size_t)n, 0, NULL, &e)) {
            fprintf(stderr, "publish: %s\n", e.msg);
            exit(2);
        }
    }
    for (int i = 0; i < MESSAGES; i++) {
        int p = (int)rnd(&s, 6), t = (int)rnd(&s, 6);
        char text[200], conv[32];
        snprintf(text, sizeof text, "Thanks! %s moved %s yesterday. Great.", people[p], tech[t]);
        snprintf(conv, sizeof conv, "conv-%d", i % 37);
        person_want[p]++;
        tech_want[t]++;
        hx_envelope_t env;
        hx_envelope_init(&env);
        env.v = 1;
        env.type = strdup(HX_EV_CONVERSATION_MESSAGE_ADDED);
        env.tenant = strdup("t");
        env.key = strdup(conv);
        env.data = json_pack("{s:s,s:s,s:s}", "message_id", "m", "role", "user", "content", text);
        hx_buf_t buf = HX_BUF_INIT;
        hx_envelope_fill_defaults(&env, "crash", hx_now_ms(), &e);
        hx_envelope_encode(&env, &buf, &e);
        hx_msg_t m = {.topic = HX_TOPIC_CONVERSATIONS, .partition = -1, .key = conv, .key_len = strlen(conv),
                      .value = buf.data, .value_len = buf.len};
        if (hx_broker_produce(b, &m, 1, NULL, &e))
            exit(2);
        hx_buf_free(&buf);
        hx_envelope_free(&env);
    }
    hx_graph_close(g);
    hx_broker_close(b);
}

static void run_child(const char *dir)
{
    hx_config_t cfg;
    config(&cfg, dir);
    hx_broker_t *b;
    hx_graph_t *g;
    if (open_all(dir, &cfg, &b, &g, 1))
        _exit(3);
    for (;;)
        hx_sleep_ms(1000); /* the consumers work until the kill */
}

int main(void)
{
    char *dir = hx_test_tmpdir("graph-crash");
    produce_input(dir);
    uint64_t s = 20261203; /* fixed: the kill moments repeat run to run */
    fprintf(stderr, "kill seed %llu\n", (unsigned long long)s);
    for (int r = 0; r < ROUNDS; r++) {
        pid_t pid = fork();
        if (pid == 0)
            run_child(dir);
        hx_sleep_ms(80 + rnd(&s, 220));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        CHECK(WIFSIGNALED(st));
    }
    /* a last run to the end, in this process */
    hx_config_t cfg;
    config(&cfg, dir);
    hx_broker_t *b;
    hx_graph_t *g;
    if (open_all(dir, &cfg, &b, &g, 1))
        return 2;
    hx_err_t e = {0};
    CHECK_INT(hx_graph_sync(g, 1, 120000, &e), 0);
    if (e.msg[0])
        fprintf(stderr, "sync: %s\n", e.msg);
    int wrong_m = 0, wrong_s = 0;
    for (int i = 0; i < ENTITIES; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%d", i);
        hx_graph_result_t r = {0};
        int64_t m = hx_graph_get(g, "t", id, &r, NULL) || r.n_nodes != 1 ? -1 : r.nodes[0].mentions;
        hx_graph_result_free(&r);
        int64_t want = mentions_want[i];
        if ((m < 0 ? 0 : m) != want) { /* never named at all: absent, 0 */
            if (wrong_m++ < 5)
                fprintf(stderr, "%s: mentions %lld, want %lld\n", id, (long long)m, (long long)want);
        }
        hx_graph_related_q_t q = {.tenant = "t", .id = id, .depth = 1, .limit = 10, .rel_type = "LINKS",
                                  .direction = HX_GRAPH_DIR_OUT};
        double got = 0;
        if (!hx_graph_related(g, &q, &r, NULL) && r.n_hits == 1)
            got = r.hits[0].via.strength;
        hx_graph_result_free(&r);
        if (got != strength_want[i] && wrong_s++ < 5)
            fprintf(stderr, "%s-LINKS: strength %g, want %g\n", id, got, strength_want[i]);
    }
    CHECK_INT(wrong_m, 0);
    CHECK_INT(wrong_s, 0);
    for (int k = 0; k < 6; k++) {
        char id[17];
        hx_graph_entity_id("t", "person", people[k], id);
        hx_graph_result_t r = {0};
        int64_t m = hx_graph_get(g, "t", id, &r, NULL) || r.n_nodes != 1 ? -1 : r.nodes[0].mentions;
        hx_graph_result_free(&r);
        CHECK_INT(m, person_want[k]);
        hx_graph_entity_id("t", "technology", tech[k], id);
        m = hx_graph_get(g, "t", id, &r, NULL) || r.n_nodes != 1 ? -1 : r.nodes[0].mentions;
        hx_graph_result_free(&r);
        CHECK_INT(m, tech_want[k]);
    }
    hx_graph_progress_t p;
    hx_graph_progress(g, &p);
    fprintf(stderr, "last run: %llu records applied, %llu duplicates skipped, %llu messages extracted\n",
            (unsigned long long)p.records_applied, (unsigned long long)p.duplicates_skipped,
            (unsigned long long)p.messages_extracted);
    hx_graph_close(g);
    hx_broker_close(b);
    hx_rm_rf(dir);
    free(dir);
    return HX_TEST_DONE();
}
