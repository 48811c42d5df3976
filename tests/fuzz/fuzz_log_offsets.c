/* Committed consumer-group offsets as they are read back from the internal
 * __consumer_offsets topic at broker open: key "group\0topic\0partition",
 * value the next offset as 8 bytes LE. The input is the key; the last 8
 * bytes are the value (the first byte's low bit drops one value byte, to
 * cover wrong lengths). Properties:
 *   - a record is either skipped or yields a group and a topic without NUL,
 *     a partition in [0, HX_LOG_MAX_PARTITIONS) and an offset >= 0;
 *   - what is accepted re-encodes (as emb_offsets_commit writes it) to a key
 *     that parses to the same commit. */
#include "helix/hx_buf.h"
#include "helix/hx_log.h"
#include "stream/embedded/embedded.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9)
        return 0;
    size_t vlen = (data[0] & 1) ? 7 : 8;
    const uint8_t *key = data + 1, *val = data + size - vlen;
    size_t klen = size - 1 - vlen;
    emb_offset_rec_t o;
    if (!emb_offset_parse(klen ? key : NULL, klen, val, vlen, &o))
        return 0;
    FZ_ASSERT(vlen == 8, "a %zu-byte value was accepted", vlen);
    FZ_ASSERT(memchr(o.group, 0, sizeof o.group) && memchr(o.topic, 0, sizeof o.topic), "unterminated names");
    FZ_ASSERT(o.topic[0], "an empty topic was accepted");
    FZ_ASSERT(o.partition >= 0 && o.partition < HX_LOG_MAX_PARTITIONS && o.offset >= 0, "out of range: %d %lld",
              o.partition, (long long)o.offset);
    char k2[EMB_OFFSET_KEY_MAX];
    size_t n2 = emb_offset_key(o.group, o.topic, o.partition, k2);
    unsigned char v2[8];
    hx_store_u64le(v2, (uint64_t)o.offset);
    emb_offset_rec_t o2;
    FZ_ASSERT(emb_offset_parse(k2, n2, v2, 8, &o2), "a re-encoded commit does not parse");
    FZ_ASSERT(!strcmp(o.group, o2.group) && !strcmp(o.topic, o2.topic) && o.partition == o2.partition &&
                  o.offset == o2.offset,
              "re-encoded commit differs");
    return 0;
}
