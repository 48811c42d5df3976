/* The memory write-ahead log is read back after a crash, so a segment may end
 * in a torn or corrupt record. The input is one segment image. Properties:
 *   - the scan accepts exactly a prefix of whole records; re-framing them
 *     gives back those bytes (decode -> encode round trip), and the re-framed
 *     log scans to the same records;
 *   - a log cut at any byte (a crash mid-write) yields exactly the records
 *     wholly before the cut;
 *   - recovery end to end: an engine opened on a directory holding the image
 *     either refuses it with a message or opens, truncates the torn tail (the
 *     file then holds just the intact prefix), and a second open recovers
 *     the same state (recovery is deterministic and idempotent). */
#include "helix/hx_hash.h"
#include "memory/codec.h"
#include "fuzz_util.h"

#include <sys/stat.h>

typedef struct recs {
    const char **p;
    size_t *len;
    size_t n, cap;
} recs_t;

static int collect(void *ctx, const char *rec, size_t len)
{
    recs_t *r = ctx;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->p = realloc(r->p, r->cap * sizeof *r->p);
        r->len = realloc(r->len, r->cap * sizeof *r->len);
        FZ_ASSERT(r->p && r->len, "out of memory");
    }
    r->p[r->n] = rec;
    r->len[r->n++] = len;
    return 0;
}

static hx_config_t cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    hx_config_defaults(&cfg);
    hx_logger_set_level(HX_LVL_ERROR);
    return 0;
}

static void check_engine(const uint8_t *data, size_t size, size_t end)
{
    char dir[512], wal[600], seg[700];
    snprintf(dir, sizeof dir, "%s/m", fz_tmpdir("memory_wal"));
    snprintf(wal, sizeof wal, "%s/wal", dir);
    snprintf(seg, sizeof seg, "%s/0000000000000000.wal", wal);
    hx_rm_rf(dir);
    FZ_ASSERT(mkdir(dir, 0755) == 0 && mkdir(wal, 0755) == 0 && fz_write_file(seg, data, size) == 0,
              "cannot prepare %s", dir);
    char *c1 = fz_open_canonical(&cfg, dir);
    if (!c1)
        return;
    struct stat sb;
    FZ_ASSERT(stat(seg, &sb) == 0 && (size_t)sb.st_size == end, "after recovery the segment is %lld bytes, not %zu",
              (long long)sb.st_size, end);
    fz_reopen_same(&cfg, dir, c1, "recovery");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    recs_t r = {0};
    size_t end = SIZE_MAX;
    FZ_ASSERT(hx_mwal_scan(data, size, collect, &r, &end) == 0 && end <= size, "scan end %zu of %zu", end, size);

    hx_buf_t again = HX_BUF_INIT;
    for (size_t i = 0; i < r.n; i++)
        FZ_ASSERT(hx_mwal_frame(&again, r.p[i], r.len[i]) == 0, "frame failed");
    FZ_ASSERT(again.len == end && (!end || !memcmp(again.data, data, end)),
              "re-framed records differ from the accepted prefix (%zu vs %zu bytes)", again.len, end);
    recs_t r2 = {0};
    size_t end2 = 0;
    FZ_ASSERT(hx_mwal_scan(again.data, again.len, collect, &r2, &end2) == 0 && end2 == again.len && r2.n == r.n,
              "re-framed log scans to %zu records / %zu bytes, not %zu / %zu", r2.n, end2, r.n, again.len);

    /* a crash at byte cut keeps the records wholly before it */
    size_t cut = end ? (size_t)(hx_hash64(data, size) % (end + 1)) : 0, want = 0, nwant = 0;
    while (nwant < r.n && want + 8 + r.len[nwant] <= cut)
        want += 8 + r.len[nwant++];
    recs_t r3 = {0};
    size_t end3 = 0;
    FZ_ASSERT(hx_mwal_scan(data, cut, collect, &r3, &end3) == 0 && end3 == want && r3.n == nwant,
              "log cut at %zu recovers %zu records / %zu bytes, not %zu / %zu", cut, r3.n, end3, nwant, want);

    check_engine(data, size, end);

    free(r.p);
    free(r.len);
    free(r2.p);
    free(r2.len);
    free(r3.p);
    free(r3.len);
    hx_buf_free(&again);
    return 0;
}
