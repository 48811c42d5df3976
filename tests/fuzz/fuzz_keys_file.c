/* The API keys file (server.keys_file), read at startup and on every change.
 * Properties: a file is accepted or refused with "NAME:LINE: ..."; accepted
 * entries are 64-hex hashes, valid tenants and real roles, without
 * duplicates; lookups of any bearer string (here: the input itself and its
 * lines) never crash and only ever return an entry whose hash is the
 * string's SHA-256. */
#include "helix/hx_keys.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_keyring_t k;
    hx_err_t err = {0};
    int rc = hx_keys_parse((const char *)data, size, "keys", &k, &err);
    if (rc) {
        FZ_ASSERT(!strncmp(err.msg, "keys:", 5) || rc == HX_ENOMEM, "refusal does not name the line: %s", err.msg);
        FZ_ASSERT(k.n == 0 && !k.keys, "a refused file left keys behind");
        return 0;
    }
    for (size_t i = 0; i < k.n; i++) {
        FZ_ASSERT(strlen(k.keys[i].hash) == 64 && hx_tenant_valid(k.keys[i].tenant), "entry %zu malformed", i);
        FZ_ASSERT(k.keys[i].role >= HX_ROLE_READER && k.keys[i].role <= HX_ROLE_ADMIN, "entry %zu role", i);
        for (size_t j = 0; j < i; j++)
            FZ_ASSERT(strcmp(k.keys[i].hash, k.keys[j].hash), "duplicate %zu/%zu accepted", i, j);
    }
    size_t pos = 0;
    while (pos <= size) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t l = nl ? (size_t)(nl - data - pos) : size - pos;
        const hx_api_key_t *hit = hx_keys_find(&k, (const char *)data + pos, l);
        if (hit) {
            char h[HX_SHA256_HEX];
            hx_sha256_hex(data + pos, l, h);
            FZ_ASSERT(!strcmp(h, hit->hash), "lookup returned another key's entry");
        }
        pos += l + 1;
    }
    hx_keys_free(&k);
    return 0;
}
