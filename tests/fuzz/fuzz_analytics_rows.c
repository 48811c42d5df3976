/* Row bodies arrive on POST /v1/analytics/{table}/rows and event data from
 * the log: the row codec must never crash or leak, a refusal leaves the
 * batches empty, and accepted rows pass the store's checks and keep their
 * tables aligned (a debate's participants count matches). */
#include "analytics/analytics_int.h"
#include "analytics/ingest/ingest.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const hx_an_table_t tables[] = {HX_AN_PROVIDER_METRICS, HX_AN_DEBATE_METRICS,
                                           HX_AN_CONVERSATION_METRICS, HX_AN_DEBATE_PARTICIPANTS};
    const char *body = (const char *)data;
    for (size_t k = 0; k < sizeof tables / sizeof tables[0]; k++) {
        hx_an_batch_t b, parts;
        hx_an_batch_init(&b, tables[k]);
        hx_an_batch_init(&parts, HX_AN_DEBATE_PARTICIPANTS);
        an_spans_t spans = {0};
        hx_err_t err = {0};
        int rc = an_rows_parse(tables[k], "fuzz", 1704067200, body, size, &b, &parts, &spans, &err);
        if (rc) {
            FZ_ASSERT(b.rows == 0 && parts.rows == 0 && err.msg[0], "a refused body leaves nothing");
        } else {
            FZ_ASSERT(b.rows > 0 && spans.n == b.rows, "every row has its text");
            FZ_ASSERT(an_batch_check(&b, &err) == 0, "accepted rows pass the store's checks: %s", err.msg);
            if (tables[k] == HX_AN_DEBATE_METRICS) {
                int64_t n = 0;
                for (size_t r = 0; r < b.rows; r++)
                    n += b.cols[11].i[r];
                FZ_ASSERT((size_t)n == parts.rows, "participants aligned");
            }
            /* Each row's own text is event data the consumer reads back. */
            for (size_t r = 0; r < b.rows && tables[k] != HX_AN_CONVERSATION_METRICS; r++) {
                hx_an_batch_t e1, p1;
                hx_an_batch_init(&e1, tables[k]);
                hx_an_batch_init(&p1, HX_AN_DEBATE_PARTICIPANTS);
                FZ_ASSERT(an_event_row(tables[k], "fuzz", 4, 7, body + spans.start[r], spans.len[r], &e1, &p1,
                                       &err) == 0,
                          "a row's text is a valid event: %s", err.msg);
                hx_an_batch_free(&e1);
                hx_an_batch_free(&p1);
            }
        }
        an_spans_free(&spans);
        hx_an_batch_free(&b);
        hx_an_batch_free(&parts);
    }
    /* The same bytes as event data and as a conversation message. */
    hx_an_batch_t e, p;
    hx_an_batch_init(&e, HX_AN_DEBATE_METRICS);
    hx_an_batch_init(&p, HX_AN_DEBATE_PARTICIPANTS);
    if (an_event_row(HX_AN_DEBATE_METRICS, "fuzz", 4, 1, body, size, &e, &p, NULL))
        FZ_ASSERT(e.rows == 0 && p.rows == 0, "a refused event leaves nothing");
    hx_an_batch_free(&e);
    hx_an_batch_free(&p);
    an_msg_t m;
    char scratch[64];
    an_msg_parse(body, size, &m, scratch, sizeof scratch, NULL);
    return 0;
}
