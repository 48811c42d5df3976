/* Event log: append/read round trips, offsets, segments, index, time lookup,
 * limits, topic management and reopen. */
#include "helix/hx_log.h"
#include "../hx_test.h"
#include "log_test_util.h"

static void fill_value(char *buf, size_t n, int seed)
{
    /* Compressible but not constant, so codecs actually compress. */
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + (int)((i / 7 + (size_t)seed) % 26));
}

static void test_roundtrip_codecs(void)
{
    char *dir = hx_test_tmpdir("log_rt");
    hx_log_t *log = open_log(dir, HX_FSYNC_NEVER, 1 << 20, 4096);
    hx_codec_t codecs[] = {HX_CODEC_NONE, HX_CODEC_LZ4, HX_CODEC_ZSTD};
    for (int c = 0; c < 3; c++) {
        char topic[32];
        snprintf(topic, sizeof topic, "rt-%s", hx_codec_name(codecs[c]));
        CHECK_INT(mk_topic(log, topic, 1, codecs[c], HX_LOG_CLEANUP_DELETE), 0);
        enum { N = 50 };
        hx_log_record_t recs[N];
        char keys[N][16], vals[N][600];
        hx_log_header_t hdr[N];
        memset(recs, 0, sizeof recs);
        for (int i = 0; i < N; i++) {
            snprintf(keys[i], sizeof keys[i], "k%d", i);
            fill_value(vals[i], sizeof vals[i], i);
            recs[i].key = i % 5 == 0 ? NULL : keys[i];
            recs[i].key_len = i % 5 == 0 ? 0 : strlen(keys[i]);
            recs[i].value = i == 7 ? NULL : vals[i];
            recs[i].value_len = i == 7 ? 0 : (i == 8 ? 0 : (size_t)(i * 11 % 600));
            recs[i].timestamp_ms = 1700000000000LL + i;
            hdr[i] = (hx_log_header_t){"trace", 5, keys[i], strlen(keys[i])};
            recs[i].headers = i % 2 ? &hdr[i] : NULL;
            recs[i].n_headers = i % 2 ? 1 : 0;
        }
        int64_t base = -1;
        hx_err_t err = {0};
        CHECK_INT(hx_log_append(log, topic, 0, recs, N, &base, &err), 0);
        CHECK_INT(base, 0);
        CHECK_INT(hx_log_append(log, topic, 0, recs, N, &base, &err), 0);
        CHECK_INT(base, N);
        got_t g = {0};
        CHECK_INT(read_all(log, topic, 0, 0, &g), 0);
        CHECK_INT(g.n, 2 * N);
        for (size_t j = 0; j < g.n; j++) {
            int i = (int)(j % N);
            got_rec_t *x = &g.v[j];
            CHECK_INT(x->offset, (int64_t)j);
            CHECK_INT(x->ts, 1700000000000LL + i);
            CHECK_INT(x->key_len, recs[i].key_len);
            if (recs[i].key_len)
                CHECK(memcmp(x->key, keys[i], recs[i].key_len) == 0);
            if (i == 7) {
                CHECK(x->value == NULL);
            } else {
                CHECK(x->value != NULL);
                CHECK_INT(x->value_len, recs[i].value_len);
                CHECK(x->value && memcmp(x->value, vals[i], recs[i].value_len) == 0);
            }
            CHECK_INT(x->n_headers, recs[i].n_headers);
            if (x->n_headers) {
                CHECK_STR(x->h0name, "trace");
                CHECK_STR(x->h0value, keys[i]);
            }
        }
        got_free(&g);
    }
    /* Compressed topics really take less space than the raw one. */
    hx_log_topic_info_t a, b;
    CHECK_INT(hx_log_topic_describe(log, "rt-none", &a, NULL), 0);
    CHECK_INT(hx_log_topic_describe(log, "rt-lz4", &b, NULL), 0);
    CHECK(b.partitions[0].bytes < a.partitions[0].bytes);
    hx_log_topic_info_free(&a);
    hx_log_topic_info_free(&b);
    hx_log_close(log);
    free(dir);
}

static void test_dense_fifo(void)
{
    char *dir = hx_test_tmpdir("log_fifo");
    hx_log_t *log = open_log(dir, HX_FSYNC_NEVER, 1 << 20, 4096);
    CHECK_INT(mk_topic(log, "fifo", 3, HX_CODEC_LZ4, HX_LOG_CLEANUP_DELETE), 0);
    int64_t next[3] = {0, 0, 0};
    for (int i = 0; i < 300; i++) {
        int p = (i * 7) % 3;
        char v[32];
        snprintf(v, sizeof v, "p%d-%lld", p, (long long)next[p]);
        CHECK_INT(put1(log, "fifo", p, NULL, v, HX_LOG_TS_NOW), next[p]);
        next[p]++;
    }
    for (int p = 0; p < 3; p++) {
        got_t g = {0};
        CHECK_INT(read_all(log, "fifo", p, 0, &g), 0);
        CHECK_INT(g.n, next[p]);
        for (size_t j = 0; j < g.n; j++) {
            char v[32];
            snprintf(v, sizeof v, "p%d-%zu", p, j);
            CHECK_INT(g.v[j].offset, (int64_t)j);
            CHECK_STR(g.v[j].value, v);
        }
        got_free(&g);
    }
    hx_log_close(log);
    free(dir);
}

static void test_mid_batch_and_limits(void)
{
    char *dir = hx_test_tmpdir("log_mid");
    hx_log_t *log = open_log(dir, HX_FSYNC_NEVER, 1 << 20, 4096);
    CHECK_INT(mk_topic(log, "mid", 1, HX_CODEC_ZSTD, HX_LOG_CLEANUP_DELETE), 0);
    hx_log_record_t recs[10];
    char vals[10][8];
    memset(recs, 0, sizeof recs);
    for (int i = 0; i < 10; i++) {
        snprintf(vals[i], sizeof vals[i], "v%d", i);
        recs[i].value = vals[i];
        recs[i].value_len = strlen(vals[i]);
        recs[i].timestamp_ms = HX_LOG_TS_NOW;
    }
    hx_err_t err = {0};
    CHECK_INT(hx_log_append(log, "mid", 0, recs, 10, NULL, &err), 0);
    CHECK_INT(hx_log_append(log, "mid", 0, recs, 10, NULL, &err), 0);
    got_t g = {0};
    int64_t next = -1;
    CHECK_INT(hx_log_read(log, "mid", 0, 5, 0, 0, got_cb, &g, &next, &err), 0);
    CHECK_INT(g.n, 15);
    CHECK_INT(g.v[0].offset, 5);
    CHECK_STR(g.v[0].value, "v5");
    CHECK_INT(next, 20);
    got_free(&g);
    CHECK_INT(hx_log_read(log, "mid", 0, 8, 0, 3, got_cb, &g, &next, &err), 0);
    CHECK_INT(g.n, 3);
    CHECK_INT(next, 11);
    CHECK_STR(g.v[2].value, "v0");
    got_free(&g);
    /* max_bytes: 2-byte values, 5 bytes allowed -> 2 records; 1 byte -> still 1. */
    CHECK_INT(hx_log_read(log, "mid", 0, 0, 5, 0, got_cb, &g, &next, &err), 0);
    CHECK_INT(g.n, 2);
    CHECK_INT(next, 2);
    got_free(&g);
    CHECK_INT(hx_log_read(log, "mid", 0, 0, 1, 0, got_cb, &g, &next, &err), 0);
    CHECK_INT(g.n, 1);
    got_free(&g);
    /* At the high watermark: nothing, no error. Past it: range error. */
    CHECK_INT(hx_log_read(log, "mid", 0, 20, 0, 0, got_cb, &g, &next, &err), 0);
    CHECK_INT(g.n, 0);
    CHECK_INT(next, 20);
    CHECK_INT(hx_log_read(log, "mid", 0, 21, 0, 0, got_cb, &g, &next, &err), HX_ERANGE);
    CHECK_CONTAINS(err.msg, "high watermark 20");
    CHECK_INT(hx_log_read(log, "mid", 0, -1, 0, 0, got_cb, &g, &next, &err), HX_ERANGE);
    CHECK_CONTAINS(err.msg, "low watermark 0");
    CHECK_INT(hx_log_read(log, "mid", 1, 0, 0, 0, got_cb, &g, &next, &err), HX_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "no partition 1");
    hx_log_close(log);
    free(dir);
}

/* Many small segments: reads cross them and random seeks agree with a linear scan. */
static void test_segments_and_index(void)
{
    char *dir = hx_test_tmpdir("log_seg");
    hx_log_t *log = open_log(dir, HX_FSYNC_NEVER, 4096, 256);
    CHECK_INT(mk_topic(log, "seg", 1, HX_CODEC_LZ4, HX_LOG_CLEANUP_DELETE), 0);
    enum { N = 2000 };
    for (int i = 0; i < N;) {
        int n = 1 + i % 4 < N - i ? 1 + i % 4 : N - i;
        hx_log_record_t recs[4];
        char vals[4][120];
        memset(recs, 0, sizeof recs);
        for (int k = 0; k < n; k++) {
            snprintf(vals[k], sizeof vals[k], "record-%06d-%0*d", i + k, 40 + (i + k) % 50, i + k);
            recs[k].value = vals[k];
            recs[k].value_len = strlen(vals[k]);
            recs[k].timestamp_ms = 1000 + i + k;
        }
        int64_t base;
        CHECK_INT(hx_log_append(log, "seg", 0, recs, (size_t)n, &base, NULL), 0);
        CHECK_INT(base, i);
        i += n;
    }
    hx_log_topic_info_t info;
    CHECK_INT(hx_log_topic_describe(log, "seg", &info, NULL), 0);
    CHECK(info.partitions[0].segments > 10);
    CHECK_INT(info.partitions[0].high_watermark, N);
    CHECK_INT(info.partitions[0].low_watermark, 0);
    hx_log_topic_info_free(&info);
    got_t all = {0};
    CHECK_INT(read_all(log, "seg", 0, 0, &all), 0);
    CHECK_INT(all.n, N);
    for (size_t j = 0; j < all.n; j++)
        CHECK_INT(all.v[j].offset, (int64_t)j);
    srand(42);
    for (int t = 0; t < 300; t++) {
        int64_t off = rand() % N;
        got_t g = {0};
        int64_t next;
        CHECK_INT(hx_log_read(log, "seg", 0, off, 0, 3, got_cb, &g, &next, NULL), 0);
        CHECK(g.n >= 1);
        for (size_t j = 0; j < g.n; j++) {
            CHECK_INT(g.v[j].offset, off + (int64_t)j);
            CHECK_STR(g.v[j].value, all.v[off + (int64_t)j].value);
        }
        got_free(&g);
    }
    /* Time lookups agree with a linear scan too. */
    int64_t o;
    CHECK_INT(hx_log_offset_for_time(log, "seg", 0, 0, &o, NULL), 0);
    CHECK_INT(o, 0);
    CHECK_INT(hx_log_offset_for_time(log, "seg", 0, 1000 + 1234, &o, NULL), 0);
    CHECK_INT(o, 1234);
    CHECK_INT(hx_log_offset_for_time(log, "seg", 0, 1000 + N - 1, &o, NULL), 0);
    CHECK_INT(o, N - 1);
    CHECK_INT(hx_log_offset_for_time(log, "seg", 0, 1000 + N, &o, NULL), 0);
    CHECK_INT(o, N);
    for (int t = 0; t < 100; t++) {
        int64_t ts = 900 + rand() % (N + 200);
        int64_t want = N;
        for (size_t j = 0; j < all.n; j++)
            if (all.v[j].ts >= ts) {
                want = (int64_t)j;
                break;
            }
        CHECK_INT(hx_log_offset_for_time(log, "seg", 0, ts, &o, NULL), 0);
        CHECK_INT(o, want);
    }
    got_free(&all);
    hx_log_close(log);
    free(dir);
}

static void test_offset_for_time_unordered(void)
{
    char *dir = hx_test_tmpdir("log_time");
    hx_log_t *log = open_log(dir, HX_FSYNC_NEVER, 1 << 20, 64);
    CHECK_INT(mk_topic(log, "t", 1, HX_CODEC_NONE, HX_LOG_CLEANUP_DELETE), 0);
    int64_t ts[] = {100, 300, 200, 500, 400, 600};
    for (int i = 0; i < 6; i++)
        put1(log, "t", 0, NULL, "x", ts[i]);
    int64_t o;
    CHECK_INT(hx_log_offset_for_time(log, "t", 0, 250, &o, NULL), 0);
    CHECK_INT(o, 1);
    CHECK_INT(hx_log_offset_for_time(log, "t", 0, 450, &o, NULL), 0);
    CHECK_INT(o, 3);
    CHECK_INT(hx_log_offset_for_time(log, "t", 0, 601, &o, NULL), 0);
    CHECK_INT(o, 6);
    hx_log_close(log);
    free(dir);
}

static void test_oversized(void)
{
    char *dir = hx_test_tmpdir("log_big");
    hx_log_opts_t o;
    hx_log_opts_default(&o);
    o.fsync = HX_FSYNC_NEVER;
    o.max_message_bytes = 1000;
    hx_log_t *log = NULL;
    CHECK_INT(hx_log_open(dir, &o, &log, NULL), 0);
    CHECK_INT(mk_topic(log, "big", 1, HX_CODEC_LZ4, HX_LOG_CLEANUP_DELETE), 0);
    static char big[1001];
    memset(big, 'x', sizeof big);
    hx_log_record_t recs[3] = {{0}};
    recs[0].value = "ok";
    recs[0].value_len = 2;
    recs[1].key = "k";
    recs[1].key_len = 1;
    recs[1].value = big;
    recs[1].value_len = 1000; /* 1 + 1000 > 1000 */
    recs[2].value = "ok";
    recs[2].value_len = 2;
    hx_err_t err = {0};
    CHECK_INT(hx_log_append(log, "big", 0, recs, 3, NULL, &err), HX_ETOOBIG);
    CHECK_CONTAINS(err.msg, "1001 bytes");
    CHECK_CONTAINS(err.msg, "max_message_bytes 1000");
    int64_t hw = -1;
    hx_log_watermarks(log, "big", 0, NULL, &hw, NULL);
    CHECK_INT(hw, 0);
    hx_log_topic_info_t info;
    hx_log_topic_describe(log, "big", &info, NULL);
    CHECK_INT(info.partitions[0].bytes, 0);
    hx_log_topic_info_free(&info);
    recs[1].value_len = 999;
    CHECK_INT(hx_log_append(log, "big", 0, recs, 3, NULL, &err), 0);
    /* A topic override wins over the log default. */
    hx_topic_opts_t to;
    hx_topic_opts_default(&to);
    to.max_message_bytes = 10;
    CHECK_INT(hx_log_topic_create(log, "small", &to, NULL), 0);
    CHECK_INT(hx_log_append(log, "small", 0, &recs[1], 1, NULL, &err), HX_ETOOBIG);
    CHECK_CONTAINS(err.msg, "max_message_bytes 10");
    hx_log_close(log);
    free(dir);
}

static void test_topics(void)
{
    char *dir = hx_test_tmpdir("log_topics");
    hx_log_t *log = open_log(dir, HX_FSYNC_ALWAYS, 1 << 20, 4096);
    hx_err_t err = {0};
    hx_topic_opts_t o;
    hx_topic_opts_default(&o);
    o.partitions = 4;
    o.retention_ms = 86400000;
    o.retention_bytes = 1 << 20;
    o.compression = HX_CODEC_ZSTD;
    CHECK_INT(hx_log_topic_create(log, "helixagent.memory.events", &o, &err), 0);
    CHECK_INT(hx_log_topic_create(log, "helixagent.memory.events", &o, &err), HX_EEXIST);
    CHECK_CONTAINS(err.msg, "already exists");
    CHECK_INT(hx_log_topic_create(log, "b_topic-2", NULL, &err), 0);
    const char *bad[] = {"", ".", "..", "a/b", "with space", "üni"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_INT(hx_log_topic_create(log, bad[i], NULL, &err), HX_EINVAL);
    char longname[300];
    memset(longname, 'a', 250);
    longname[250] = 0;
    CHECK_INT(hx_log_topic_create(log, longname, NULL, &err), HX_EINVAL);
    longname[249] = 0;
    CHECK_INT(hx_log_topic_create(log, longname, NULL, &err), 0);
    o.partitions = 0;
    CHECK_INT(hx_log_topic_create(log, "zero", &o, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "partitions");
    o.partitions = 1025;
    CHECK_INT(hx_log_topic_create(log, "many", &o, &err), HX_EINVAL);

    char **names;
    size_t n;
    CHECK_INT(hx_log_topic_list(log, &names, &n, &err), 0);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_STR(names[1], "b_topic-2");
        CHECK_STR(names[2], "helixagent.memory.events");
    }
    hx_log_names_free(names, n);

    hx_log_topic_info_t info;
    CHECK_INT(hx_log_topic_describe(log, "helixagent.memory.events", &info, &err), 0);
    CHECK_INT(info.n_partitions, 4);
    CHECK_INT(info.opts.retention_ms, 86400000);
    CHECK_INT(info.opts.retention_bytes, 1 << 20);
    CHECK_INT(info.opts.compression, HX_CODEC_ZSTD);
    CHECK_INT(info.partitions[3].high_watermark, 0);
    CHECK_INT(info.partitions[3].segments, 1);
    hx_log_topic_info_free(&info);

    CHECK_INT(hx_log_topic_describe(log, "nope", &info, &err), HX_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "topic 'nope' does not exist");
    CHECK_INT(put1(log, "nope", 0, NULL, "x", 1), -1);
    CHECK_INT(hx_log_topic_delete(log, "nope", &err), HX_ENOTFOUND);

    put1(log, "b_topic-2", 0, NULL, "x", 1);
    CHECK_INT(hx_log_topic_delete(log, "b_topic-2", &err), 0);
    CHECK(!hx_log_topic_exists(log, "b_topic-2"));
    char path[4096];
    snprintf(path, sizeof path, "%s/b_topic-2", dir);
    CHECK(access(path, F_OK) != 0);
    /* Re-creating starts from scratch. */
    CHECK_INT(hx_log_topic_create(log, "b_topic-2", NULL, &err), 0);
    int64_t hw = -1;
    hx_log_watermarks(log, "b_topic-2", 0, NULL, &hw, NULL);
    CHECK_INT(hw, 0);

    /* A second open of the same directory is refused. */
    hx_log_t *other = NULL;
    CHECK_INT(hx_log_open(dir, NULL, &other, &err), HX_EUNAVAIL);

    hx_log_close(log);
    /* Settings survive a reopen. */
    log = open_log(dir, HX_FSYNC_ALWAYS, 1 << 20, 4096);
    CHECK_INT(hx_log_topic_describe(log, "helixagent.memory.events", &info, &err), 0);
    CHECK_INT(info.n_partitions, 4);
    CHECK_INT(info.opts.compression, HX_CODEC_ZSTD);
    CHECK_INT(info.opts.retention_bytes, 1 << 20);
    hx_log_topic_info_free(&info);
    hx_log_stats_t st;
    hx_log_stats(log, &st);
    CHECK_INT(st.topics, 3);
    CHECK_INT(st.partitions, 6);
    hx_log_close(log);
    free(dir);
}

static void test_reopen(void)
{
    char *dir = hx_test_tmpdir("log_reopen");
    hx_log_t *log = open_log(dir, HX_FSYNC_INTERVAL, 8192, 512);
    CHECK_INT(mk_topic(log, "r", 2, HX_CODEC_LZ4, HX_LOG_CLEANUP_DELETE), 0);
    for (int i = 0; i < 500; i++) {
        char v[64];
        snprintf(v, sizeof v, "value-%d-%040d", i, i);
        put1(log, "r", i % 2, "k", v, 5000 + i);
    }
    int64_t last = put1(log, "r", 0, NULL, "tail", 1);
    CHECK_INT(hx_log_wait_durable(log, "r", 0, last, 5000, NULL), 0);
    hx_log_stats_t st;
    hx_log_stats(log, &st);
    CHECK_INT(st.appended_records, 501);
    CHECK(st.segments > 2);
    hx_log_close(log);

    log = open_log(dir, HX_FSYNC_INTERVAL, 8192, 512);
    got_t g = {0};
    CHECK_INT(read_all(log, "r", 0, 0, &g), 0);
    CHECK_INT(g.n, 251);
    CHECK_STR(g.v[250].value, "tail");
    CHECK_STR(g.v[10].value, "value-20-0000000000000000000000000000000000000020");
    got_free(&g);
    CHECK_INT(put1(log, "r", 0, NULL, "after", 2), 251);
    CHECK_INT(put1(log, "r", 1, NULL, "after", 2), 250);
    int64_t o;
    CHECK_INT(hx_log_offset_for_time(log, "r", 1, 5000 + 301, &o, NULL), 0);
    CHECK_INT(o, 150);
    CHECK_INT(hx_log_flush(log, NULL), 0);
    hx_log_topic_info_t info;
    hx_log_topic_describe(log, "r", &info, NULL);
    CHECK_INT(info.partitions[1].durable_offset, 251);
    hx_log_topic_info_free(&info);
    hx_log_close(log);
    free(dir);
}

int main(void)
{
    RUN(test_roundtrip_codecs);
    RUN(test_dense_fifo);
    RUN(test_mid_batch_and_limits);
    RUN(test_segments_and_index);
    RUN(test_offset_for_time_unordered);
    RUN(test_oversized);
    RUN(test_topics);
    RUN(test_reopen);
    return HX_TEST_DONE();
}
