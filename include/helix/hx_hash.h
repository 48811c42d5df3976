/* Checksums and hashes. CRC32C (Castagnoli) protects stored batches; xxHash3
 * picks partitions and buckets, so the same key lands in the same place on
 * every node and every run. */
#ifndef HX_HASH_H
#define HX_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (start with 0) over n bytes. Uses SSE4.2 when the CPU has it. */
uint32_t hx_crc32c(uint32_t crc, const void *data, size_t n);

uint64_t hx_hash64(const void *data, size_t n);

/* Partition for a key: hash(key) mod n. n must be > 0. */
static inline uint32_t hx_partition_for_key(const void *key, size_t keylen, uint32_t n)
{
    return (uint32_t)(hx_hash64(key, keylen) % n);
}

#endif
