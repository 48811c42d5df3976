/* The config parser takes operator-written YAML: it must never crash or leak. */
#include "helix/hx_config.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_config_t cfg;
    hx_err_t err;
    hx_config_defaults(&cfg);
    hx_config_load_string(&cfg, (const char *)data, size, "fuzz.yaml", &err);
    return 0;
}
