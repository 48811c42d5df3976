#include "core/config_table.h"
#include "helix/hx_config.h"
#include "../hx_test.h"

static int load(hx_config_t *c, const char *yaml, hx_err_t *e)
{
    hx_config_defaults(c);
    return hx_config_load_string(c, yaml, strlen(yaml), "t.yaml", e);
}

static void test_defaults(void)
{
    hx_config_t c;
    hx_config_defaults(&c);
    CHECK_INT(c.server.port, 7061);
    CHECK_STR(c.server.host, "127.0.0.1");
    CHECK_INT(c.server.body_limit_bytes, 1048576);
    CHECK_STR(c.node.data_dir, "./helix-data");
    CHECK_INT(c.event_log.fsync, HX_FSYNC_INTERVAL);
    CHECK_STR(c.kafka.producer.compression_type, "lz4");
    CHECK_INT(c.kafka.producer.batch_size, 32768);
    CHECK_INT(c.kafka.producer.linger_ms, 10);
    CHECK_INT(c.kafka.producer.buffer_memory, 67108864);
    CHECK_INT(c.kafka.producer.max_in_flight_requests, 5);
    CHECK_STR(c.kafka.producer.acks, "1");
    CHECK_INT(c.kafka.consumer.fetch_min_bytes, 1024);
    CHECK_INT(c.kafka.consumer.fetch_max_wait_ms, 500);
    CHECK_INT(c.kafka.consumer.max_partition_fetch_bytes, 1048576);
    CHECK_INT(c.kafka.consumer.max_poll_records, 500);
    CHECK_STR(c.infinite_context.compression.default_strategy, "hybrid");
    CHECK(c.infinite_context.compression.target_ratio == 0.30);
    CHECK(c.infinite_context.compression.quality_threshold == 0.90);
    CHECK_INT(c.infinite_context.compression.preserve_recent_count, 50);
    CHECK_INT(c.infinite_context.cache.size, 1000);
    CHECK_INT(c.infinite_context.cache.ttl_seconds, 1800);
    CHECK_STR(c.infinite_context.cache.eviction, "lru");
    CHECK_INT(c.distributed_memory.sync.batch_size, 100);
    CHECK_INT(c.distributed_memory.sync.interval_ms, 5);
    CHECK_INT(c.distributed_memory.sync.max_lag_ms, 5000);
    CHECK_STR(c.distributed_memory.crdt.strategy, "merge_all");
    CHECK_INT(c.distributed_memory.snapshot.interval_seconds, 300);
    CHECK_INT(c.distributed_memory.snapshot.retention_count, 12);
    CHECK_INT(c.distributed_memory.snapshot.compression, 1);
}

/* configs/helix.yaml must say exactly what the table says, key for key. */
static void test_shipped_file_matches_table(void)
{
    hx_config_t def, file;
    memset(&def, 0, sizeof def);
    memset(&file, 0, sizeof file);
    hx_config_defaults(&def);
    hx_err_t e = {0};
    char path[1024];
    snprintf(path, sizeof path, "%s/configs/helix.yaml", HX_SOURCE_DIR);
    hx_config_defaults(&file);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    CHECK_INT(hx_config_load_string(&file, text, n, path, &e), 0);
    CHECK(memcmp(&def, &file, sizeof def) == 0);
    size_t nk;
    const hx_knob_t *k = hx_config_knobs(&nk);
    for (size_t i = 0; i < nk; i++) {
        const char *leaf = strrchr(k[i].path, '.') + 1;
        char needle[128];
        snprintf(needle, sizeof needle, "%s:", leaf);
        CHECK_CONTAINS(text, needle);
    }
}

static void test_load_values(void)
{
    hx_config_t c;
    hx_err_t e = {0};
    const char *y = "server:\n  port: 8080\n  token: s3cret\nevent_log:\n  fsync: always\n"
                    "kafka:\n  producer:\n    acks: all\n    linger_ms: 0\n"
                    "infinite_context:\n  compression:\n    target_ratio: 0.25\n"
                    "distributed_memory:\n  snapshot:\n    compression: off\n";
    CHECK_INT(load(&c, y, &e), 0);
    CHECK_INT(c.server.port, 8080);
    CHECK_STR(c.server.token, "s3cret");
    CHECK_INT(c.event_log.fsync, HX_FSYNC_ALWAYS);
    CHECK_STR(c.kafka.producer.acks, "all");
    CHECK_INT(c.kafka.producer.linger_ms, 0);
    CHECK(c.infinite_context.compression.target_ratio == 0.25);
    CHECK_INT(c.distributed_memory.snapshot.compression, 0);
    CHECK_INT(c.kafka.producer.batch_size, 32768); /* untouched keys keep defaults */
    CHECK_INT(load(&c, "", &e), 0);
    CHECK_INT(load(&c, "# only a comment\n", &e), 0);
}

static void test_errors(void)
{
    hx_config_t c;
    hx_err_t e = {0};
    CHECK_INT(load(&c, "server:\n  port: 7061\n  prot: 1\n", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "t.yaml:3");
    CHECK_CONTAINS(e.msg, "server.prot");
    CHECK_CONTAINS(e.msg, "did you mean 'server.port'");
    CHECK_INT(load(&c, "nosuch:\n  x: 1\n", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "unknown key 'nosuch'");
    CHECK_INT(load(&c, "server:\n  port: abc\n", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "t.yaml:2: key 'server.port': expected an integer, got 'abc'");
    CHECK_INT(load(&c, "server:\n  port: 1.5\n", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "expected an integer");
    CHECK_INT(load(&c, "server:\n  port: 70000\n", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "must be between 0 and 65535, got 70000");
    CHECK_INT(load(&c, "server:\n  port: 99999999999999999999999\n", &e), HX_ECONFIG);
    CHECK_INT(load(&c, "event_log:\n  fsync: sometimes\n", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "must be one of always|interval|never");
    CHECK_INT(load(&c, "infinite_context:\n  compression:\n    target_ratio: 2\n", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "infinite_context.compression.target_ratio");
    CHECK_INT(load(&c, "server:\n  port: 1\n  port: 2\n", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "appears twice");
    CHECK_CONTAINS(e.msg, "t.yaml:3");
    CHECK_INT(load(&c, "server: [1, 2]\n", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "is a section");
    CHECK_INT(load(&c, "server:\n  port:\n    x: 1\n", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "expected a single value");
    CHECK_INT(load(&c, "server:\n  port: [\n", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "YAML syntax error");
    CHECK_INT(load(&c, "distributed_memory:\n  snapshot:\n    compression: maybe\n", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "expected true or false");
    char big[600];
    memset(big, 'a', sizeof big);
    memcpy(big, "server:\n  host: ", 16);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = 0;
    CHECK_INT(load(&c, big, &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "the limit is 255");
    CHECK_INT(load(&c, "- a\n- b\n", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "top level must be a mapping");
}

static void test_env(void)
{
    hx_config_t c;
    hx_err_t e = {0};
    CHECK_INT(load(&c, "server:\n  port: 8080\n", &e), 0);
    char *env[] = {"HELIX_SERVER_PORT=9090", "HELIX_KAFKA_PRODUCER_BATCH_SIZE=65536",
                   "HELIX_INFINITE_CONTEXT_COMPRESSION_TARGET_RATIO=0.5", "PATH=/bin", "HELIX_NOT_A_KEY=1", NULL};
    CHECK_INT(hx_config_apply_env(&c, env, &e), 0);
    CHECK_INT(c.server.port, 9090); /* env beats file */
    CHECK_INT(c.kafka.producer.batch_size, 65536);
    CHECK(c.infinite_context.compression.target_ratio == 0.5);
    char *bad[] = {"HELIX_EVENT_LOG_FSYNC=sometimes", NULL};
    CHECK_INT(hx_config_apply_env(&c, bad, &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "HELIX_EVENT_LOG_FSYNC");
}

static void test_set_and_dump(void)
{
    hx_config_t c;
    hx_err_t e = {0};
    hx_config_defaults(&c);
    CHECK_INT(hx_config_set(&c, "node.data_dir", "/tmp/x", &e), 0);
    CHECK_STR(c.node.data_dir, "/tmp/x");
    CHECK_INT(hx_config_set(&c, "server.port", "-1", &e), HX_ECONFIG);
    CHECK_CONTAINS(e.msg, "key 'server.port'");
    CHECK_INT(hx_config_set(&c, "server.nope", "1", &e), HX_ECONFIG);
    CHECK_INT(hx_config_set(&c, "server.token", "hunter2", &e), 0);
    hx_buf_t b = HX_BUF_INIT;
    CHECK_INT(hx_config_dump(&c, &b), 0);
    const char *s = hx_buf_cstr(&b);
    CHECK_CONTAINS(s, "token: \"***\"");
    CHECK(strstr(s, "hunter2") == NULL);
    /* The dump is itself a valid config that reloads to the same values. */
    hx_config_t back;
    hx_config_set(&c, "server.token", "", &e);
    hx_buf_reset(&b);
    hx_config_dump(&c, &b);
    CHECK_INT(load(&back, hx_buf_cstr(&b), &e), 0);
    CHECK_STR(back.node.data_dir, "/tmp/x");
    CHECK(memcmp(&back, &c, sizeof c) == 0);
    hx_buf_free(&b);
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_shipped_file_matches_table);
    RUN(test_load_values);
    RUN(test_errors);
    RUN(test_env);
    RUN(test_set_and_dump);
    return HX_TEST_DONE();
}
