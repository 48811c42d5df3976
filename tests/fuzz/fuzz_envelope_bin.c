/* Binary frames come off disk and off the wire: decoding must never crash,
 * and whatever decodes must re-encode to a frame that decodes to the same. */
#include "helix/hx_envelope.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_envelope_t e, again;
    if (hx_envelope_decode(data, size, &e, NULL) != 0)
        return 0;
    hx_buf_t b = HX_BUF_INIT;
    if (hx_envelope_encode(&e, &b, NULL) != 0)
        abort();
    if (hx_envelope_decode(b.data, b.len, &again, NULL) != 0 || !hx_envelope_equal(&e, &again))
        abort();
    hx_envelope_free(&again);
    hx_envelope_free(&e);
    hx_buf_free(&b);
    return 0;
}
