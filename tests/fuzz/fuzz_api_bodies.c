/* The JSON bodies of the event log and context HTTP API, parsed into typed
 * requests before any engine call: POST /v1/topics, the {"records":[...]}
 * wrapper of POST /v1/topics/{t}/records, and POST /v1/context/replay. The
 * first input byte picks the parser, the rest is the body. Properties:
 *   - a body is accepted or refused with a message (HX_E* code and text);
 *   - accepted topic configs are in range (1..1024 partitions, a known
 *     cleanup policy, a NUL-terminated compression name);
 *   - accepted records: all or nothing, each record's tenant is the request
 *     tenant, its frame decodes back to the same envelope id and type and
 *     fits the size limit;
 *   - the records text reader (records_text.c) takes only bodies the tree
 *     path accepts, and writes the same frames (ids aside: they are random);
 *   - accepted replay requests carry a valid conversation id and options in
 *     range. */
#include "api/api.h"
#include "helix/hx_envelope.h"
#include "helix/hx_id.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    hx_logger_set_level(HX_LVL_ERROR);
    return 0;
}

static void topics(const json_t *body)
{
    const char *name = NULL;
    hx_topic_config_t tc;
    hx_err_t err = {0};
    int rc = hx_api_topic_request(body, &name, &tc, &err);
    if (rc) {
        FZ_ASSERT(rc < 0 && err.msg[0], "refused without a message");
        return;
    }
    FZ_ASSERT(name && *name, "accepted without a name");
    FZ_ASSERT(tc.partitions >= 1 && tc.partitions <= 1024, "partitions %d", tc.partitions);
    FZ_ASSERT(tc.cleanup == HX_CLEANUP_DELETE || tc.cleanup == HX_CLEANUP_COMPACT, "cleanup %d", (int)tc.cleanup);
    FZ_ASSERT(memchr(tc.compression, 0, sizeof tc.compression), "compression not terminated");
    FZ_ASSERT(tc.retention_ms >= -1 && tc.retention_bytes >= -1 && tc.max_message_bytes >= 0, "negative limits");
}

static void records(const json_t *body, const char *tenant)
{
    hx_api_records_t r;
    hx_err_t err = {0};
    int64_t limit = 4096;
    int rc = hx_api_records_request(body, "t", -1, tenant, "node-1", 1700000000000LL, limit, &r, &err);
    if (rc) {
        FZ_ASSERT(rc < 0 && err.msg[0], "refused without a message");
        FZ_ASSERT(r.n == 0 && !r.envs && !r.msgs, "a refused body left records behind");
        return;
    }
    FZ_ASSERT(r.n >= 1, "accepted nothing");
    for (size_t i = 0; i < r.n; i++) {
        FZ_ASSERT(!strcmp(r.envs[i].tenant, tenant), "record %zu has tenant %s, not %s", i, r.envs[i].tenant, tenant);
        FZ_ASSERT((int64_t)(r.msgs[i].value_len + r.msgs[i].key_len) <= limit, "record %zu over the limit", i);
        hx_envelope_t e;
        FZ_ASSERT(hx_envelope_decode(r.msgs[i].value, r.msgs[i].value_len, &e, &err) == 0,
                  "record %zu frame does not decode: %s", i, err.msg);
        FZ_ASSERT(!strcmp(e.id, r.envs[i].id) && !strcmp(e.type, r.envs[i].type) && !strcmp(e.tenant, tenant),
                  "record %zu decodes to another envelope", i);
        hx_envelope_free(&e);
    }
    hx_api_records_free(&r);
}

/* The text reader on the same bytes: what it takes, the tree path writes the same frames. */
static void records_text(const char *text, size_t len, const json_t *body, const char *tenant)
{
    hx_api_records_t t, j;
    hx_err_t err = {0};
    int rt = hx_api_records_request_text(text, len, "t", -1, tenant, "node-1", 1700000000000LL, 4096, &t, &err);
    FZ_ASSERT(rt == 0 || rt == 1, "text path failed: %d %s", rt, err.msg);
    if (rt)
        return;
    FZ_ASSERT(body, "text path took a body jansson refuses");
    int rj = hx_api_records_request(body, "t", -1, tenant, "node-1", 1700000000000LL, 4096, &j, &err);
    FZ_ASSERT(rj == 0, "text path took a body the tree path refuses: %s", err.msg);
    FZ_ASSERT(t.n == j.n, "%zu vs %zu records", t.n, j.n);
    for (size_t i = 0; i < t.n; i++) {
        hx_envelope_t a, b;
        FZ_ASSERT(!hx_envelope_decode(t.msgs[i].value, t.msgs[i].value_len, &a, &err), "text frame: %s", err.msg);
        FZ_ASSERT(!hx_envelope_decode(j.msgs[i].value, j.msgs[i].value_len, &b, &err), "tree frame: %s", err.msg);
        /* ids may be random; everything else is the same */
        free(b.id);
        b.id = strdup(a.id);
        FZ_ASSERT(hx_envelope_equal(&a, &b), "record %zu decodes differently", i);
        const char *da, *db;
        size_t na, nb;
        hx_envelope_t ra, rb;
        FZ_ASSERT(!hx_envelope_decode_raw(t.msgs[i].value, t.msgs[i].value_len, &ra, &da, &na, &err) &&
                      !hx_envelope_decode_raw(j.msgs[i].value, j.msgs[i].value_len, &rb, &db, &nb, &err),
                  "raw decode");
        FZ_ASSERT(na == nb && !memcmp(da, db, na), "record %zu data text differs", i);
        hx_envelope_free(&ra);
        hx_envelope_free(&rb);
        hx_envelope_free(&a);
        hx_envelope_free(&b);
    }
    hx_api_records_free(&t);
    hx_api_records_free(&j);
}

static void replay(const json_t *body)
{
    hx_ctx_request_t rq;
    hx_err_t err = {0};
    int rc = hx_api_replay_request(body, "acme", &rq, &err);
    if (rc) {
        FZ_ASSERT(rc < 0 && err.msg[0], "refused without a message");
        return;
    }
    FZ_ASSERT(hx_id_check(rq.conversation_id, "id", NULL) == 0, "accepted a bad conversation id");
    FZ_ASSERT(!strcmp(rq.tenant, "acme"), "tenant not the request's");
    FZ_ASSERT(rq.max_tokens >= 0 && rq.preserve_recent_count >= -1 && rq.preserve_recent_count <= 1000000 &&
                  (rq.window_size == -1 || (rq.window_size >= 2 && rq.window_size <= 100000)),
              "options out of range");
    FZ_ASSERT(rq.target_ratio == 0 || (rq.target_ratio > 0 && rq.target_ratio <= 1), "ratio %f", rq.target_ratio);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    json_error_t je;
    json_t *body = json_loadb((const char *)data + 1, size - 1, 0, &je);
    if (data[0] % 4 == 1 || data[0] % 4 == 2)
        records_text((const char *)data + 1, size - 1, body, data[0] % 4 == 1 ? "default" : "acme");
    if (!body)
        return 0; /* malformed JSON is refused by hx_req_json before any parser */
    switch (data[0] % 4) {
    case 0: topics(body); break;
    case 1: records(body, "default"); break;
    case 2: records(body, "acme"); break;
    default: replay(body); break;
    }
    json_decref(body);
    return 0;
}
