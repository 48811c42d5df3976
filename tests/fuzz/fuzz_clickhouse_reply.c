/* What a ClickHouse server (or anything at clickhouse.url) answers, as it
 * comes back over HTTP: any bytes. Properties:
 *   - an error answer always maps to a negative HX_E* code and one line of
 *     message that names the server, never a crash or a multi-line message;
 *   - the offsets reader only ever stores non-negative offsets of sources
 *     and partitions that exist, and leaves the rest unknown (-1). */
#include "analytics/backend.h"
#include "analytics/clickhouse/ch.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size + 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    body[size] = 0;

    hx_err_t err = {0};
    int rc = ch_parse_error("http://127.0.0.1:1", size % 2 ? 500 : 400, body, &err);
    FZ_ASSERT(rc < 0 && rc == err.code, "error answer mapped to %d", rc);
    FZ_ASSERT(strstr(err.msg, "ClickHouse at http://127.0.0.1:1") == err.msg, "message does not name the server");
    FZ_ASSERT(!strchr(err.msg, '\n'), "message spans lines: %s", err.msg);

    hx_an_offsets_t o;
    hx_an_offsets_clear(&o);
    ch_parse_offsets(body, &o);
    for (int s = 0; s < HX_AN_NSRCS; s++)
        for (int p = 0; p < HX_AN_MAX_PARTITIONS; p++)
            FZ_ASSERT(o.next[s][p] >= -1, "offset %lld stored", (long long)o.next[s][p]);
    free(body);
    return 0;
}
