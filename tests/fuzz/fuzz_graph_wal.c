/* The graph store's write-ahead log is read back after a crash, so a file
 * may end in a torn or corrupt record, and a record's batch is decoded
 * again. The input is one WAL file image. Properties:
 *   - the scan accepts exactly a prefix of whole records; re-framing them
 *     gives back those bytes;
 *   - every accepted record's batch either decodes to ops that validate and
 *     re-encode to the same bytes, or is refused with a message;
 *   - a store opened on a directory holding the image either refuses it
 *     with a message or opens, cuts the torn tail, and opening again gives
 *     the same cursors (recovery is deterministic). */
#include "graph/embedded/persist.h"
#include "fuzz_util.h"

typedef struct {
    hx_buf_t again;
    uint64_t prev;
    int ordered;
} ctx_t;

static int each(void *arg, uint64_t seq, const unsigned char *p, size_t n)
{
    ctx_t *c = arg;
    FZ_ASSERT(es_wal_frame(&c->again, seq, p, n) == 0, "frame failed");
    hx_graph_ops_t ops = {0};
    hx_graph_cursor_t *cur = NULL;
    size_t nc = 0;
    hx_err_t e = {0};
    if (es_batch_decode(p, n, &ops, &cur, &nc, &e) == 0) {
        hx_graph_batch_t b = {ops.ops, ops.n, cur, nc};
        hx_buf_t enc = HX_BUF_INIT;
        FZ_ASSERT(es_batch_encode(&b, &enc) == 0, "re-encode failed");
        /* properties are re-serialised sorted and compact; compare only batches without them */
        int props = 0;
        for (size_t i = 0; i < ops.n; i++)
            props |= ops.ops[i].properties != NULL;
        FZ_ASSERT(props || (enc.len == n && !memcmp(enc.data, p, n)), "a batch did not re-encode to itself");
        hx_buf_free(&enc);
    } else {
        FZ_ASSERT(e.msg[0], "refused without a message");
    }
    hx_graph_ops_free(&ops);
    free(cur);
    c->ordered &= seq > c->prev || c->prev == 0;
    c->prev = seq;
    return 0;
}

static hx_config_t cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    hx_config_defaults(&cfg);
    cfg.event_log.fsync = HX_FSYNC_NEVER;
    hx_logger_set_level(HX_LVL_ERROR);
    return 0;
}

static int cursors_of(const char *dir, char *out, size_t len)
{
    hx_graph_opts_t o;
    hx_graph_opts_defaults(&o);
    o.cfg = &cfg;
    o.dir = dir;
    hx_graph_t *g = NULL;
    hx_err_t e = {0};
    if (hx_graph_open(&o, &g, &e)) {
        FZ_ASSERT(e.msg[0], "open refused without a message");
        return -1;
    }
    hx_graph_cursor_t *c;
    size_t n;
    FZ_ASSERT(hx_graph_cursors(g, &c, &n, &e) == 0, "cursors: %s", e.msg);
    size_t o2 = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && o2 < len; i++)
        o2 += (size_t)snprintf(out + o2, len - o2, "%s=%lld;", c[i].name, (long long)c[i].value);
    free(c);
    hx_graph_close(g);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ctx_t c = {HX_BUF_INIT, 0, 1};
    size_t end = SIZE_MAX;
    FZ_ASSERT(es_wal_scan(data, size, each, &c, &end) == 0 && end <= size, "scan end %zu of %zu", end, size);
    FZ_ASSERT(c.again.len == end && (!end || !memcmp(c.again.data, data, end)),
              "re-framed records differ from the accepted prefix");
    hx_buf_free(&c.again);
    char dir[512], file[600];
    snprintf(dir, sizeof dir, "%s/g", fz_tmpdir("graph_wal"));
    snprintf(file, sizeof file, "%s/wal-0000000000000001.log", dir);
    hx_rm_rf(dir);
    FZ_ASSERT(mkdir(dir, 0755) == 0 && fz_write_file(file, data, size) == 0, "cannot prepare %s", dir);
    char c1[4096], c2[4096];
    if (cursors_of(dir, c1, sizeof c1))
        return 0;
    FZ_ASSERT(cursors_of(dir, c2, sizeof c2) == 0 && !strcmp(c1, c2), "a second recovery differs: %s vs %s", c1, c2);
    return 0;
}
