/* Event log maintenance: retention by bytes and by time, compaction. */
#include "helix/hx_clock.h"
#include "helix/hx_log.h"
#include "../hx_test.h"
#include "log_test_util.h"

static void fill(hx_log_t *log, const char *topic, int n, int64_t ts)
{
    char v[128];
    for (int i = 0; i < n; i++) {
        snprintf(v, sizeof v, "%0100d", i);
        put1(log, topic, 0, NULL, v, ts);
    }
}

static void test_retention_bytes(void)
{
    char *dir = hx_test_tmpdir("log_retb");
    hx_log_t *log = open_log(dir, HX_FSYNC_NEVER, 4096, 512);
    hx_topic_opts_t o;
    hx_topic_opts_default(&o);
    o.retention_bytes = 10000;
    CHECK_INT(hx_log_topic_create(log, "rb", &o, NULL), 0);
    fill(log, "rb", 400, HX_LOG_TS_NOW);
    hx_log_topic_info_t before, after;
    hx_log_topic_describe(log, "rb", &before, NULL);
    CHECK(before.partitions[0].bytes > 30000);
    int deleted = 0;
    hx_err_t err = {0};
    CHECK_INT(hx_log_enforce_retention(log, &deleted, &err), 0);
    CHECK(deleted > 0);
    hx_log_topic_describe(log, "rb", &after, NULL);
    CHECK_INT(after.partitions[0].segments, before.partitions[0].segments - deleted);
    CHECK(after.partitions[0].bytes <= 10000);
    CHECK(after.partitions[0].low_watermark > 0);
    CHECK_INT(after.partitions[0].high_watermark, 400);
    int64_t low = after.partitions[0].low_watermark;
    got_t g = {0};
    int64_t next;
    CHECK_INT(hx_log_read(log, "rb", 0, 0, 0, 0, got_cb, &g, &next, &err), HX_ERANGE);
    char want[64];
    snprintf(want, sizeof want, "low watermark %lld", (long long)low);
    CHECK_CONTAINS(err.msg, want);
    CHECK_INT(read_all(log, "rb", 0, low, &g), 0);
    CHECK_INT(g.n, 400 - low);
    if (g.n)
        CHECK_INT(g.v[0].offset, low);
    got_free(&g);
    /* Idempotent once under the limit. */
    CHECK_INT(hx_log_enforce_retention(log, &deleted, &err), 0);
    CHECK_INT(deleted, 0);
    hx_log_topic_info_free(&before);
    hx_log_topic_info_free(&after);
    hx_log_close(log);
    /* The new low watermark survives a reopen. */
    log = open_log(dir, HX_FSYNC_NEVER, 4096, 512);
    int64_t l2, h2;
    hx_log_watermarks(log, "rb", 0, &l2, &h2, NULL);
    CHECK_INT(l2, low);
    CHECK_INT(h2, 400);
    hx_log_close(log);
    free(dir);
}

static void test_retention_time(void)
{
    char *dir = hx_test_tmpdir("log_rett");
    hx_log_t *log = open_log(dir, HX_FSYNC_NEVER, 4096, 512);
    hx_topic_opts_t o;
    hx_topic_opts_default(&o);
    o.retention_ms = 86400000;
    CHECK_INT(hx_log_topic_create(log, "rt", &o, NULL), 0);
    CHECK_INT(hx_log_topic_create(log, "old", &o, NULL), 0);
    int64_t now = hx_now_ms(), old = now - 10 * 86400000LL;
    fill(log, "rt", 150, old);
    fill(log, "rt", 150, now);
    fill(log, "old", 100, old);
    int deleted = 0;
    CHECK_INT(hx_log_enforce_retention(log, &deleted, NULL), 0);
    CHECK(deleted > 0);
    int64_t low, hw;
    hx_log_watermarks(log, "rt", 0, &low, &hw, NULL);
    CHECK_INT(hw, 300);
    CHECK(low > 100 && low <= 150); /* old records gone, except in the segment shared with new ones */
    got_t g = {0};
    CHECK_INT(read_all(log, "rt", 0, low, &g), 0);
    for (size_t i = 0; i < g.n; i++)
        if (g.v[i].offset >= 150)
            CHECK_INT(g.v[i].ts, now);
    got_free(&g);
    /* A partition where everything expired rolls its active segment and empties. */
    hx_log_topic_info_t info;
    hx_log_topic_describe(log, "old", &info, NULL);
    CHECK_INT(info.partitions[0].low_watermark, 100);
    CHECK_INT(info.partitions[0].high_watermark, 100);
    CHECK_INT(info.partitions[0].segments, 1);
    CHECK_INT(info.partitions[0].bytes, 0);
    hx_log_topic_info_free(&info);
    CHECK_INT(put1(log, "old", 0, NULL, "new", HX_LOG_TS_NOW), 100);
    hx_log_close(log);
    free(dir);
}

static void test_compaction(void)
{
    char *dir = hx_test_tmpdir("log_compact");
    hx_log_t *log = open_log(dir, HX_FSYNC_NEVER, 4096, 256);
    CHECK_INT(mk_topic(log, "c", 1, HX_CODEC_LZ4, HX_LOG_CLEANUP_COMPACT), 0);
    CHECK_INT(mk_topic(log, "d", 1, HX_CODEC_NONE, HX_LOG_CLEANUP_DELETE), 0);
    int64_t latest[10];
    char key[16], val[64];
    int keyless = 0;
    for (int round = 0; round < 30; round++)
        for (int k = 0; k < 10; k++) {
            snprintf(key, sizeof key, "key%d", k);
            snprintf(val, sizeof val, "key%d-round%d-%030d", k, round, 0);
            if (k == 3 && round == 29)
                latest[k] = put1(log, "c", 0, key, NULL, HX_LOG_TS_NOW); /* tombstone */
            else
                latest[k] = put1(log, "c", 0, key, val, HX_LOG_TS_NOW);
            if (k == 5) {
                put1(log, "c", 0, NULL, "no key", HX_LOG_TS_NOW);
                keyless++;
            }
        }
    /* Push every keyed record into closed segments. */
    for (int i = 0; i < 80; i++) {
        snprintf(val, sizeof val, "filler-%050d", i);
        put1(log, "c", 0, NULL, val, HX_LOG_TS_NOW);
        keyless++;
    }
    int64_t low0, hw0;
    hx_log_watermarks(log, "c", 0, &low0, &hw0, NULL);
    int64_t removed = -1;
    hx_err_t err = {0};
    CHECK_INT(hx_log_compact(log, "c", &removed, &err), 0);
    CHECK_INT(removed, 300 - 9); /* 9 live keys survive; the tombstone and key3 go */
    int64_t low1, hw1;
    hx_log_watermarks(log, "c", 0, &low1, &hw1, NULL);
    CHECK_INT(low1, low0);
    CHECK_INT(hw1, hw0);
    got_t g = {0};
    CHECK_INT(read_all(log, "c", 0, 0, &g), 0);
    CHECK_INT(g.n, keyless + 9);
    int seen[10] = {0};
    for (size_t i = 0; i < g.n; i++) {
        if (i)
            CHECK(g.v[i].offset > g.v[i - 1].offset);
        if (!g.v[i].key_len)
            continue;
        int k = g.v[i].key[3] - '0';
        seen[k]++;
        CHECK_INT(g.v[i].offset, latest[k]);
        snprintf(val, sizeof val, "key%d-round29-%030d", k, 0);
        CHECK_STR(g.v[i].value, val);
    }
    for (int k = 0; k < 10; k++)
        CHECK_INT(seen[k], k == 3 ? 0 : 1);
    got_free(&g);
    /* Reading from inside a gap starts at the next surviving record. */
    int64_t next;
    CHECK_INT(hx_log_read(log, "c", 0, 1, 0, 1, got_cb, &g, &next, &err), 0);
    CHECK_INT(g.n, 1);
    CHECK(g.v[0].offset > 1);
    CHECK_INT(next, g.v[0].offset + 1);
    got_free(&g);
    /* Compacting again removes nothing; a delete-policy topic refuses. */
    CHECK_INT(hx_log_compact(log, "c", &removed, &err), 0);
    CHECK_INT(removed, 0);
    CHECK_INT(hx_log_compact(log, "d", &removed, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "cleanup");
    hx_log_close(log);
    /* Compacted segments and their indexes reopen cleanly. */
    log = open_log(dir, HX_FSYNC_NEVER, 4096, 256);
    CHECK_INT(read_all(log, "c", 0, 0, &g), 0);
    CHECK_INT(g.n, keyless + 9);
    int64_t first = g.n ? g.v[0].offset : -1;
    got_free(&g);
    int64_t o; /* the first surviving record, not a removed offset */
    CHECK_INT(hx_log_offset_for_time(log, "c", 0, 0, &o, NULL), 0);
    CHECK_INT(o, first);
    hx_log_close(log);
    free(dir);
}

int main(void)
{
    RUN(test_retention_bytes);
    RUN(test_retention_time);
    RUN(test_compaction);
    return HX_TEST_DONE();
}
