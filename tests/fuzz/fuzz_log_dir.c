/* A topic directory as a crash (or a bad disk, or a hand edit) may leave it:
 * topic.meta, one partition's segment log, its offset index and its time
 * index. The input holds those four files separated by the marker bytes
 * FF 'H' 'X' FF (missing ones are absent files). Opening the log runs the
 * topic.meta parser, the recovery scan (torn tails truncated) and the index
 * loaders (inconsistent ones rebuilt). Properties:
 *   - opening either fails with a message or succeeds;
 *   - every record from the low watermark on can be read, offsets ascend,
 *     and the read ends exactly at the high watermark;
 *   - a time lookup returns an offset within the watermarks;
 *   - recovery is idempotent: a second open finds the same watermarks and
 *     the same records, and an append after it lands at the high watermark. */
#include "helix/hx_hash.h"
#include "helix/hx_log.h"
#include "fuzz_util.h"

#include <sys/stat.h>

static const unsigned char MARK[4] = {0xff, 'H', 'X', 0xff};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    hx_logger_set_level((hx_level_t)(HX_LVL_ERROR + 1)); /* recovery warns on every torn input */
    return 0;
}

typedef struct scan {
    int64_t last, n;
    uint64_t sum;          /* hash of every record, to compare two opens */
} scan_t;

static int on_rec(void *ud, const hx_log_record_t *r)
{
    scan_t *s = ud;
    FZ_ASSERT(r->offset > s->last, "offsets do not ascend: %lld after %lld", (long long)r->offset, (long long)s->last);
    s->last = r->offset;
    s->n++;
    uint64_t h = hx_hash64(r->key ? r->key : "", r->key_len) ^ (hx_hash64(r->value ? r->value : "", r->value_len) * 31);
    s->sum += h ^ (uint64_t)r->offset ^ ((uint64_t)r->timestamp_ms << 7) ^ (uint64_t)r->n_headers;
    return 0;
}

/* Reads partition 0 of "t" from the low watermark to the end. */
static void read_all(hx_log_t *log, int64_t *low, int64_t *high, scan_t *s)
{
    hx_err_t err = {0};
    FZ_ASSERT(hx_log_watermarks(log, "t", 0, low, high, &err) == 0, "no watermarks after open: %s", err.msg);
    FZ_ASSERT(*low <= *high, "low %lld > high %lld", (long long)*low, (long long)*high);
    memset(s, 0, sizeof *s);
    s->last = *low - 1;
    int64_t at = *low, next = at;
    while (at < *high) {
        int rc = hx_log_read(log, "t", 0, at, 1 << 20, 0, on_rec, s, &next, &err);
        if (rc)
            break; /* a damaged batch behind a valid index is reported, not a crash */
        FZ_ASSERT(next > at, "read at %lld does not advance", (long long)at);
        at = next;
    }
    int64_t o = -1;
    if (hx_log_offset_for_time(log, "t", 0, 1000, &o, &err) == 0)
        FZ_ASSERT(o >= *low && o <= *high, "time lookup gave %lld outside [%lld, %lld]", (long long)o, (long long)*low,
                  (long long)*high);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char root[512], tdir[600], pdir[700], fn[800];
    snprintf(root, sizeof root, "%s/log", fz_tmpdir("log_dir"));
    snprintf(tdir, sizeof tdir, "%s/t", root);
    snprintf(pdir, sizeof pdir, "%s/0", tdir);
    hx_rm_rf(root);
    FZ_ASSERT(mkdir(root, 0755) == 0 && mkdir(tdir, 0755) == 0 && mkdir(pdir, 0755) == 0, "cannot prepare %s", root);
    static const char *names[] = {"topic.meta", "0/00000000000000000000.log", "0/00000000000000000000.index",
                                  "0/00000000000000000000.timeindex"};
    size_t pos = 0;
    for (int f = 0; f < 4 && pos <= size; f++) {
        size_t end = pos;
        while (end + 4 <= size && memcmp(data + end, MARK, 4) != 0)
            end++;
        if (end + 4 > size)
            end = size;
        snprintf(fn, sizeof fn, "%s/%s", tdir, names[f]);
        FZ_ASSERT(fz_write_file(fn, data + pos, end - pos) == 0, "cannot write %s", fn);
        pos = end + 4;
    }
    hx_log_opts_t lo;
    hx_log_opts_default(&lo);
    lo.fsync = HX_FSYNC_NEVER;
    hx_log_t *log = NULL;
    hx_err_t err = {0};
    if (hx_log_open(root, &lo, &log, &err)) {
        FZ_ASSERT(err.code < 0 && err.msg[0], "open failed without a message");
        return 0;
    }
    int64_t low1, high1, low2, high2;
    scan_t s1, s2;
    int have = hx_log_topic_exists(log, "t");
    if (have)
        read_all(log, &low1, &high1, &s1);
    hx_log_close(log);
    log = NULL;
    FZ_ASSERT(hx_log_open(root, &lo, &log, &err) == 0, "a recovered log does not open again: %s", err.msg);
    FZ_ASSERT(hx_log_topic_exists(log, "t") == have, "the topic came or went between two opens");
    if (have) {
        read_all(log, &low2, &high2, &s2);
        FZ_ASSERT(low1 == low2 && high1 == high2, "second open: [%lld, %lld) became [%lld, %lld)", (long long)low1,
                  (long long)high1, (long long)low2, (long long)high2);
        FZ_ASSERT(s1.n == s2.n && s1.sum == s2.sum, "second open reads different records (%lld vs %lld)",
                  (long long)s1.n, (long long)s2.n);
        hx_log_record_t r = {.key = "k", .key_len = 1, .value = "v", .value_len = 1, .timestamp_ms = 5};
        int64_t at = -1;
        if (hx_log_append(log, "t", 0, &r, 1, &at, &err) == 0)
            FZ_ASSERT(at == high2, "append after recovery at %lld, not the high watermark %lld", (long long)at,
                      (long long)high2);
    }
    hx_log_close(log);
    return 0;
}
