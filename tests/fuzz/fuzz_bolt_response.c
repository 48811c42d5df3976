/* The Bolt client's response path on hostile bytes: de-chunking (with NOOPs
 * and oversized messages) and message decoding, as our client reads what a
 * server sends. Never crashes; each accepted message is a structure that
 * consumed its whole de-chunked body. */
#include "graph/neo4j/bolt_io.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_bolt_io_t io;
    hx_bolt_io_init_mem(&io, data, size, 1 << 20);
    hx_buf_t scratch = HX_BUF_INIT;
    for (int i = 0; i < 64; i++) {
        hx_ps_arena_t a = HX_PS_ARENA_INIT;
        hx_ps_value_t m;
        hx_err_t err = {0};
        int rc = hx_bolt_io_recv(&io, &scratch, &a, &m, &err);
        if (!rc) {
            FZ_ASSERT(m.type == HX_PS_STRUCT, "a message that is not a structure");
            FZ_ASSERT(scratch.len > 0, "an empty message");
            char nb[8];
            FZ_ASSERT(hx_bolt_msg_name(m.tag, nb, sizeof nb) != NULL, "no name");
        } else {
            FZ_ASSERT(err.msg[0] != '\0', "error without a message (code %d)", rc);
        }
        hx_ps_arena_free(&a);
        if (rc == HX_EIO || rc == HX_ETOOBIG)
            break;
        if (rc)
            continue;
    }
    hx_buf_free(&scratch);
    return 0;
}
