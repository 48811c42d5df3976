/* Integer query parameters (?partition=, ?offset=, ?max=, ?limit=, ...),
 * from the raw query string: the input is parsed as a query string, then
 * every value goes through the integer parser with the ranges the routes
 * use. Properties: a value is accepted only when it is a plain decimal
 * integer (optional '-') whose value is in range, and then it is that
 * number; refusals state the rule. */
#include "server/router.h"
#include "fuzz_util.h"

#include <inttypes.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct {
        int64_t min, max;
    } ranges[] = {{0, 1023}, {-1, INT64_MAX}, {1, 10000}, {0, INT64_MAX}, {100, 60000}, {INT64_MIN, INT64_MAX}};
    hx_query_t q;
    hx_err_t err = {0};
    if (hx_query_parse((const char *)data, size, &q, &err)) {
        FZ_ASSERT(err.msg[0], "query refused without a message");
        hx_query_free(&q);
        return 0;
    }
    for (size_t i = 0; i < q.n; i++)
        for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
            int64_t v = 42;
            hx_err_clear(&err);
            int rc = hx_query_int(q.values[i], q.keys[i], 7, ranges[r].min, ranges[r].max, &v, &err);
            if (rc) {
                FZ_ASSERT(rc == HX_EINVAL && strstr(err.msg, "must be an integer"), "refusal without the rule");
                continue;
            }
            FZ_ASSERT(v >= ranges[r].min && v <= ranges[r].max, "accepted %" PRId64 " outside the range", v);
            const char *t = q.values[i] + (q.values[i][0] == '-');
            FZ_ASSERT(*t, "'%s' accepted without digits", q.values[i]);
            for (; *t; t++)
                FZ_ASSERT(*t >= '0' && *t <= '9', "'%s' accepted with a non-digit", q.values[i]);
            FZ_ASSERT(strtoll(q.values[i], NULL, 10) == v, "'%s' read as %" PRId64, q.values[i], v);
        }
    int64_t v;
    FZ_ASSERT(hx_query_int(NULL, "x", 7, 0, 1, &v, NULL) == 0 && v == 7, "absent is not the default");
    hx_query_free(&q);
    return 0;
}
