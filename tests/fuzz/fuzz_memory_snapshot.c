/* Memory snapshots are read back at start-up. The first input byte picks
 * the mode: the rest is a whole snapshot file (0), or the raw snapshot text
 * (header line + one state per line) that the target wraps itself without
 * (1) or with zstd (2), so the fuzzer reaches the restore logic behind the
 * crc32c. Properties:
 *   - wrapping then unwrapping gives back the raw text (round trip), and an
 *     unwrapped file re-wraps to one that unwraps to the same text;
 *   - any single corrupt byte and any truncation of a wrapped file is
 *     rejected (the crc covers the payload, the length is cross-checked);
 *   - an engine opened on a directory holding the file either refuses it
 *     with a message or opens, and a second open restores the same state. */
#include "helix/hx_hash.h"
#include "memory/codec.h"
#include "fuzz_util.h"

static hx_config_t cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    hx_config_defaults(&cfg);
    hx_logger_set_level(HX_LVL_ERROR);
    return 0;
}

static void check_engine(const unsigned char *file, size_t flen)
{
    char dir[512], sd[600], path[700];
    snprintf(dir, sizeof dir, "%s/m", fz_tmpdir("memory_snapshot"));
    snprintf(sd, sizeof sd, "%s/snapshots", dir);
    snprintf(path, sizeof path, "%s/0000000000000001-full.snap", sd);
    hx_rm_rf(dir);
    FZ_ASSERT(mkdir(dir, 0755) == 0 && mkdir(sd, 0755) == 0 && fz_write_file(path, file, flen) == 0,
              "cannot prepare %s", dir);
    char *c1 = fz_open_canonical(&cfg, dir);
    if (!c1)
        return;
    fz_reopen_same(&cfg, dir, c1, "restore");
}

static void must_reject(const unsigned char *f, size_t n, const char *what)
{
    char *raw = NULL;
    size_t rl = 0;
    hx_err_t err = {0};
    int rc = hx_msnap_decode(f, n, &raw, &rl, &err);
    FZ_ASSERT(rc == HX_ECORRUPT && !raw && err.msg[0], "%s was not rejected (rc %d)", what, rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % 3;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    unsigned char *file = NULL;
    size_t flen = 0;
    char *raw = NULL;
    size_t rl = 0;
    hx_err_t err = {0};
    if (mode == 0) {
        int rc = hx_msnap_decode(p, n, &raw, &rl, &err);
        if (rc) {
            FZ_ASSERT(rc < 0 && !raw && err.msg[0], "rejected without a message");
            check_engine(p, n);
            return 0;
        }
        FZ_ASSERT(raw[rl] == 0, "decoded text is not terminated");
        FZ_ASSERT(hx_msnap_encode(raw, rl, 0, &file, &flen, &err) == 0, "re-wrap failed: %s", err.msg);
        char *again = NULL;
        size_t al = 0;
        FZ_ASSERT(hx_msnap_decode(file, flen, &again, &al, &err) == 0 && al == rl && !memcmp(again, raw, rl),
                  "re-wrapped file does not unwrap to the same text");
        free(again);
        free(file);
        check_engine(p, n);
        free(raw);
        return 0;
    }
    FZ_ASSERT(hx_msnap_encode(p, n, mode - 1, &file, &flen, &err) == 0, "wrap failed: %s", err.msg);
    FZ_ASSERT(hx_msnap_decode(file, flen, &raw, &rl, &err) == 0, "own file rejected: %s", err.msg);
    FZ_ASSERT(rl == n && !memcmp(raw, p, n) && raw[rl] == 0, "round trip changed the text");
    free(raw);

    uint64_t h = hx_hash64(data, size);
    size_t at = (size_t)(h % flen);
    unsigned char *bad = malloc(flen);
    memcpy(bad, file, flen);
    bad[at] ^= (unsigned char)(1u << ((h >> 32) % 8));
    must_reject(bad, flen, "a flipped bit");
    must_reject(file, (size_t)((h >> 40) % flen), "a truncated file");
    free(bad);

    check_engine(file, flen);
    free(file);
    return 0;
}
