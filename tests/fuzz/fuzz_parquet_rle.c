/* The RLE/bit-packed hybrid decodes levels and dictionary indices from
 * files: any input decodes or fails cleanly, and what it decodes re-encodes
 * to the same values. First byte: bit width; second: count. */
#include "lake/parquet/pq_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int w = data[0] % 34;   /* 33 must be refused */
    size_t n = (size_t)data[1] * 17;
    uint32_t *out = malloc((n ? n : 1) * sizeof *out), *again = malloc((n ? n : 1) * sizeof *again);
    if (!out || !again)
        abort();
    if (pq_rle_decode(data + 2, size - 2, w, out, n) == 0) {
        if (w > 32)
            abort();
        hx_buf_t b = HX_BUF_INIT;
        if (pq_rle_encode(out, n, w, &b) != 0 || pq_rle_decode(b.data, b.len, w, again, n) != 0 ||
            memcmp(out, again, n * sizeof *out) != 0)
            abort();
        hx_buf_free(&b);
    }
    free(out);
    free(again);
    return 0;
}
