/* Bodies of POST /v1/conversations/{id}/messages: one item or
 * {"messages":[...]}, parsed by hx_api_ctx_ingest_parse (src/api), each
 * typed item then checked by ctx_ingest_item before anything is written.
 * Properties:
 *   - a refused body is HX_EINVAL with a message; a bad item is HX_EINVAL
 *     with a message naming messages[i], and no data;
 *   - an accepted item's data has no "op" and, built into an envelope as
 *     ingest does, either fails envelope validation cleanly or encodes and
 *     decodes to the same envelope;
 *   - replay accepts what ingest accepted (items past a refused update or
 *     delete target are not checked: ingest writes none of the batch): applying the envelopes to a
 *     conversation succeeds, and each added or updated message then holds
 *     the role and content the item gave (nothing accepted is lost). */
#include "context/engine.h"
#include "helix/hx_api_requests.h"
#include "helix/hx_topics.h"
#include "fuzz_util.h"

static void check_replayed(const ctx_conv_t *cv, const json_t *d)
{
    const char *mid = json_string_value(json_object_get(d, "message_id"));
    uint32_t *ix = mid ? ctx_map_get(&cv->by_id, ctx_msg_id_hash(mid)) : NULL;
    if (!ix)
        return; /* an update of a message this batch never added: ingest checks that against the index */
    const ctx_msg_t *m = &cv->msgs[*ix];
    FZ_ASSERT(!m->deleted, "message %s was deleted by an add or update", mid);
    const char *content = json_string_value(json_object_get(d, "content"));
    const char *role = json_string_value(json_object_get(d, "role"));
    if (content)
        FZ_ASSERT(m->content && !strcmp(m->content, content), "message %s lost its content on replay", mid);
    if (role)
        FZ_ASSERT(m->role && !strcmp(m->role, role), "message %s lost its role on replay", mid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!body)
        return 0;
    hx_ctx_ingest_t rq;
    hx_err_t perr = {0};
    int prc = hx_api_ctx_ingest_parse(body, &rq, &perr);
    if (prc) {
        FZ_ASSERT(prc == HX_EINVAL && perr.msg[0] && !rq.items, "body refused badly (rc %d: %s)", prc, perr.msg);
        json_decref(body);
        return 0; /* refused before any item */
    }
    size_t n = rq.n;
    ctx_conv_t cv;
    FZ_ASSERT(ctx_conv_init(&cv) == 0, "out of memory");
    json_t *live = json_object(); /* message_id -> true (live) / false (deleted) */
    for (size_t i = 0; i < n; i++) {
        const char *type = NULL;
        json_t *d = NULL;
        hx_err_t err = {0};
        int rc = ctx_ingest_item(&rq.items[i], i, &type, &d, &err);
        if (rc) {
            char want[32];
            snprintf(want, sizeof want, "messages[%zu]", i);
            FZ_ASSERT(rc == HX_EINVAL && !d && strstr(err.msg, want), "item %zu refused badly (rc %d: %s)", i, rc,
                      err.msg);
            break; /* ingest stops at the first bad item and writes nothing */
        }
        FZ_ASSERT(json_is_object(d) && !json_object_get(d, "op") && type, "accepted item %zu has bad data", i);
        const json_t *src = json_is_array(json_object_get(body, "messages"))
                                ? json_array_get(json_object_get(body, "messages"), i) : body;
        FZ_ASSERT(!json_string_value(json_object_get(src, "content")) ||
                      !strcmp(json_string_value(json_object_get(src, "content")),
                              json_string_value(json_object_get(d, "content"))),
                  "item %zu lost its content between the body and the envelope", i);
        /* ingest's target check: an update or delete needs a live message
         * (this batch is the only history here); else nothing is written */
        const char *mid = json_string_value(json_object_get(d, "message_id"));
        int add = !strcmp(type, HX_EV_CONVERSATION_MESSAGE_ADDED);
        if (mid && !add && !json_is_true(json_object_get(live, mid))) {
            json_decref(d);
            break;
        }
        if (mid)
            json_object_set_new(live, mid, json_boolean(strcmp(type, HX_EV_CONVERSATION_MESSAGE_DELETED)));
        hx_envelope_t e, back;
        hx_envelope_init(&e);
        hx_envelope_init(&back);
        e.type = strdup(type);
        e.key = strdup("conv-1");
        e.tenant = strdup("default");
        e.seq = i + 1;
        e.data = d;
        if (!strcmp(type, HX_EV_CONVERSATION_MESSAGE_ADDED)) {
            if (!json_object_get(d, "message_id")) {
                char gen[48];
                snprintf(gen, sizeof gen, "msg-%zu", i + 1);
                json_object_set_new(d, "message_id", json_string(gen));
                json_object_set_new(live, gen, json_true());
            }
            if (!json_object_get(d, "created_at"))
                json_object_set_new(d, "created_at", json_integer(1700000000000));
        }
        hx_buf_t frame = HX_BUF_INIT;
        if (hx_envelope_fill_defaults(&e, "fuzz", 1700000000000, &err) == 0 && hx_envelope_validate(&e, &err) == 0) {
            FZ_ASSERT(hx_envelope_encode(&e, &frame, &err) == 0, "a valid envelope does not encode: %s", err.msg);
            FZ_ASSERT(hx_envelope_decode(frame.data, frame.len, &back, &err) == 0 && hx_envelope_equal(&e, &back),
                      "envelope round trip failed: %s", err.msg);
            FZ_ASSERT(ctx_conv_apply(&cv, &back, &err) == 0, "replay refused an accepted item: %s", err.msg);
            if (strcmp(type, HX_EV_CONVERSATION_MESSAGE_DELETED) && strcmp(type, HX_EV_CONVERSATION_COMPLETED))
                check_replayed(&cv, back.data);
        } else {
            FZ_ASSERT(err.msg[0], "envelope refused without a message");
        }
        hx_buf_free(&frame);
        hx_envelope_free(&back);
        hx_envelope_free(&e);
    }
    ctx_conv_free(&cv);
    json_decref(live);
    hx_api_ctx_ingest_free(&rq);
    json_decref(body);
    return 0;
}
