/* JSON envelopes arrive on the HTTP API: parsing must never crash or leak, and
 * an accepted envelope must survive the binary round trip. */
#include "helix/hx_envelope.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_envelope_t e, back;
    if (hx_envelope_from_json_text((const char *)data, size, &e, NULL) != 0)
        return 0;
    if (hx_envelope_fill_defaults(&e, "fuzz", 1, NULL) == 0 && hx_envelope_validate(&e, NULL) == 0) {
        hx_buf_t b = HX_BUF_INIT;
        if (hx_envelope_encode(&e, &b, NULL) != 0 || hx_envelope_decode(b.data, b.len, &back, NULL) != 0 ||
            !hx_envelope_equal(&e, &back))
            abort();
        hx_envelope_free(&back);
        hx_buf_free(&b);
    }
    hx_envelope_free(&e);
    return 0;
}
