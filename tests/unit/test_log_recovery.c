/* Event log recovery: torn/corrupt tails are truncated, indexes rebuilt. */
#include "helix/hx_log.h"
#include "../hx_test.h"
#include "log_test_util.h"

#include <fcntl.h>

static void seg_path(char *out, size_t n, const char *dir, const char *topic, long long base, const char *ext)
{
    snprintf(out, n, "%s/%s/0/%020lld.%s", dir, topic, base, ext);
}

static long long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

/* 20 batches of 5 records; returns the directory. */
static char *make_log(const char *name, hx_codec_t codec)
{
    char *dir = hx_test_tmpdir(name);
    hx_log_t *log = open_log(dir, HX_FSYNC_NEVER, 1 << 20, 4096);
    CHECK_INT(mk_topic(log, "t", 1, codec, HX_LOG_CLEANUP_DELETE), 0);
    for (int b = 0; b < 20; b++) {
        hx_log_record_t recs[5];
        char vals[5][64];
        memset(recs, 0, sizeof recs);
        for (int i = 0; i < 5; i++) {
            snprintf(vals[i], sizeof vals[i], "batch%d-rec%d", b, i);
            recs[i].value = vals[i];
            recs[i].value_len = strlen(vals[i]);
            recs[i].timestamp_ms = 1000 + b;
        }
        hx_log_append(log, "t", 0, recs, 5, NULL, NULL);
    }
    hx_log_close(log);
    return dir;
}

static void check_contents(hx_log_t *log, int64_t want)
{
    int64_t hw = -1;
    hx_log_watermarks(log, "t", 0, NULL, &hw, NULL);
    CHECK_INT(hw, want);
    got_t g = {0};
    CHECK_INT(read_all(log, "t", 0, 0, &g), 0);
    CHECK_INT(g.n, want);
    for (size_t i = 0; i < g.n; i++) {
        char v[64];
        snprintf(v, sizeof v, "batch%zu-rec%zu", i / 5, i % 5);
        CHECK_STR(g.v[i].value, v);
    }
    got_free(&g);
    /* Appends continue right after the surviving data. */
    CHECK_INT(put1(log, "t", 0, NULL, "again", 1), want);
}

static void test_flip_byte_in_last_batch(void)
{
    hx_codec_t codecs[] = {HX_CODEC_NONE, HX_CODEC_LZ4};
    for (int c = 0; c < 2; c++) {
        char *dir = make_log("log_flip", codecs[c]);
        char p[4096];
        seg_path(p, sizeof p, dir, "t", 0, "log");
        long long sz = file_size(p);
        int fd = open(p, O_RDWR);
        unsigned char byte;
        CHECK(pread(fd, &byte, 1, sz - 3) == 1);
        byte ^= 0x5a;
        CHECK(pwrite(fd, &byte, 1, sz - 3) == 1);
        close(fd);
        hx_log_t *log = open_log(dir, HX_FSYNC_NEVER, 1 << 20, 4096);
        check_contents(log, 95);
        hx_log_close(log);
        CHECK(file_size(p) < sz);
        free(dir);
    }
}

static void test_chop_mid_batch(void)
{
    char *dir = make_log("log_chop", HX_CODEC_ZSTD);
    char p[4096];
    seg_path(p, sizeof p, dir, "t", 0, "log");
    long long sz = file_size(p);
    CHECK_INT(truncate(p, sz - 10), 0);
    hx_log_t *log = open_log(dir, HX_FSYNC_NEVER, 1 << 20, 4096);
    check_contents(log, 95);
    hx_log_close(log);
    /* A tail shorter than a batch header, and garbage appended after valid data. */
    sz = file_size(p);
    int fd = open(p, O_WRONLY | O_APPEND);
    CHECK(write(fd, "garbage-garbage-garbage", 23) == 23);
    close(fd);
    log = open_log(dir, HX_FSYNC_NEVER, 1 << 20, 4096);
    int64_t hw;
    hx_log_watermarks(log, "t", 0, NULL, &hw, NULL);
    CHECK_INT(hw, 96);
    hx_log_close(log);
    CHECK_INT(file_size(p), sz);
    free(dir);
}

static void test_rebuild_index(void)
{
    char *dir = hx_test_tmpdir("log_idx");
    hx_log_t *log = open_log(dir, HX_FSYNC_NEVER, 2048, 128);
    CHECK_INT(mk_topic(log, "t", 1, HX_CODEC_LZ4, HX_LOG_CLEANUP_DELETE), 0);
    for (int i = 0; i < 600; i++) {
        char v[64];
        snprintf(v, sizeof v, "batch%d-rec%d", i / 5, i % 5);
        put1(log, "t", 0, NULL, v, 1000 + i);
    }
    hx_log_close(log);
    char ip[4096], tp[4096], lp[4096];
    seg_path(ip, sizeof ip, dir, "t", 0, "index");
    seg_path(tp, sizeof tp, dir, "t", 0, "timeindex");
    seg_path(lp, sizeof lp, dir, "t", 0, "log");
    long long isz = file_size(ip);
    CHECK(isz > 8);
    CHECK_INT(unlink(ip), 0);
    /* Garbage in the time index of the second segment: must be rebuilt too. */
    char dir0[4096];
    snprintf(dir0, sizeof dir0, "%s/t/0", dir);
    log = open_log(dir, HX_FSYNC_NEVER, 2048, 128);
    CHECK_INT(file_size(ip), isz);
    got_t g = {0};
    srand(7);
    for (int t = 0; t < 100; t++) {
        int64_t off = rand() % 600, next;
        CHECK_INT(hx_log_read(log, "t", 0, off, 0, 1, got_cb, &g, &next, NULL), 0);
        char v[64];
        snprintf(v, sizeof v, "batch%d-rec%d", (int)(off / 5), (int)(off % 5));
        CHECK(g.n == 1 && strcmp(g.v[0].value, v) == 0);
        got_free(&g);
        int64_t o;
        CHECK_INT(hx_log_offset_for_time(log, "t", 0, 1000 + off, &o, NULL), 0);
        CHECK_INT(o, off);
    }
    hx_log_close(log);
    /* An index pointing past the end of the log is rejected and rebuilt. */
    int fd = open(ip, O_WRONLY | O_APPEND);
    unsigned char bad[8] = {0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0};
    CHECK(write(fd, bad, 8) == 8);
    close(fd);
    fd = open(tp, O_WRONLY | O_APPEND);
    unsigned char badt[12] = {0};
    CHECK(write(fd, badt, 12) == 12);
    close(fd);
    log = open_log(dir, HX_FSYNC_NEVER, 2048, 128);
    CHECK_INT(file_size(ip), isz);
    got_t all = {0};
    CHECK_INT(read_all(log, "t", 0, 0, &all), 0);
    CHECK_INT(all.n, 600);
    got_free(&all);
    hx_log_close(log);
    /* A leftover .cleaned from an interrupted compaction is dropped. */
    char cp[4096];
    seg_path(cp, sizeof cp, dir, "t", 0, "log.cleaned");
    fd = open(cp, O_CREAT | O_WRONLY, 0644);
    close(fd);
    log = open_log(dir, HX_FSYNC_NEVER, 2048, 128);
    CHECK(access(cp, F_OK) != 0);
    hx_log_close(log);
    (void)lp;
    free(dir);
}

int main(void)
{
    RUN(test_flip_byte_in_last_batch);
    RUN(test_chop_mid_batch);
    RUN(test_rebuild_index);
    return HX_TEST_DONE();
}
