/* SHA-256 (FIPS 180-4). API keys are stored as their SHA-256, so a leaked
 * keys file does not reveal a usable key. Written here from the standard: no
 * crypto library is a dependency of Helix.
 *
 * Ownership: hx_sha256_t is a plain value (no allocation). */
#ifndef HX_SHA256_H
#define HX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define HX_SHA256_LEN 32
#define HX_SHA256_HEX (2 * HX_SHA256_LEN + 1) /* hex digits + NUL */

typedef struct hx_sha256 {
    uint32_t h[8];
    uint64_t total;            /* bytes hashed so far */
    unsigned char block[64];
    size_t used;               /* bytes waiting in block */
} hx_sha256_t;

void hx_sha256_init(hx_sha256_t *c);
void hx_sha256_update(hx_sha256_t *c, const void *data, size_t n);
void hx_sha256_final(hx_sha256_t *c, unsigned char out[HX_SHA256_LEN]);

/* One-shot digest of data. */
void hx_sha256(const void *data, size_t n, unsigned char out[HX_SHA256_LEN]);
/* One-shot digest as 64 lowercase hex digits and a NUL. */
void hx_sha256_hex(const void *data, size_t n, char out[HX_SHA256_HEX]);

#endif
