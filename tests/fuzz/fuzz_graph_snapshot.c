/* A graph snapshot is read at every start. The input is a snapshot image.
 * Properties: loading never crashes; an image is either refused with a
 * message or loads into a store whose own snapshot, loaded again, encodes to
 * the same bytes (encode and decode agree). */
#include "graph/embedded/persist.h"
#include "fuzz_util.h"

#include "helix/hx_hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_store_t s;
    FZ_ASSERT(es_store_init(&s) == 0, "out of memory");
    uint64_t seq = 0;
    hx_err_t e = {0};
    /* a checksum mismatch says little: also try the image with its crc fixed */
    unsigned char *img = malloc(size ? size : 1);
    memcpy(img, data, size);
    if (size >= 20)
        hx_store_u32le(img + size - 4, hx_crc32c(0, img, size - 4));
    int rc = es_snapshot_decode(&s, img, size, &seq, &e);
    if (rc) {
        FZ_ASSERT(e.msg[0], "refused without a message");
    } else {
        hx_buf_t a = HX_BUF_INIT, b = HX_BUF_INIT;
        FZ_ASSERT(es_snapshot_encode(&s, seq, &a) == 0, "encode failed");
        es_store_t s2;
        FZ_ASSERT(es_store_init(&s2) == 0, "out of memory");
        uint64_t seq2;
        FZ_ASSERT(es_snapshot_decode(&s2, a.data, a.len, &seq2, &e) == 0 && seq2 == seq, "own snapshot refused: %s",
                  e.msg);
        FZ_ASSERT(es_snapshot_encode(&s2, seq2, &b) == 0 && a.len == b.len && !memcmp(a.data, b.data, a.len),
                  "snapshot encode/decode disagree");
        es_store_free(&s2);
        hx_buf_free(&a);
        hx_buf_free(&b);
    }
    free(img);
    es_store_free(&s);
    return 0;
}
