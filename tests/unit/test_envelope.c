#include "helix/hx_envelope.h"
#include "helix/hx_topics.h"
#include "../hx_test.h"

static const char *sample =
    "{\"v\":1,\"id\":\"e1\",\"type\":\"conversation.message.added\",\"source\":\"node-a\",\"tenant\":\"acme\","
    "\"key\":\"conv-1\",\"ts\":1764000000123,\"seq\":42,\"headers\":{\"trace\":\"abc\",\"ünï\":\"çødé\"},"
    "\"data\":{\"message_id\":\"m1\",\"role\":\"user\",\"content\":\"héllo wörld 🚀\",\"tokens\":0}}";

static void test_json_roundtrip(void)
{
    hx_envelope_t e, back;
    hx_err_t err = {0};
    CHECK_INT(hx_envelope_from_json_text(sample, strlen(sample), &e, &err), 0);
    CHECK_INT(hx_envelope_validate(&e, &err), 0);
    CHECK_STR(e.key, "conv-1");
    CHECK(e.seq == 42 && e.ts == 1764000000123LL);
    CHECK_STR(hx_envelope_header(&e, "trace"), "abc");
    hx_buf_t b = HX_BUF_INIT;
    CHECK_INT(hx_envelope_to_json_text(&e, &b, &err), 0);
    CHECK_INT(hx_envelope_from_json_text((const char *)b.data, b.len, &back, &err), 0);
    CHECK(hx_envelope_equal(&e, &back));
    hx_envelope_free(&back);
    /* JSON -> binary -> JSON is the identity. */
    hx_buf_t bin = HX_BUF_INIT, j2 = HX_BUF_INIT;
    CHECK_INT(hx_envelope_encode(&e, &bin, &err), 0);
    CHECK_INT(hx_envelope_decode(bin.data, bin.len, &back, &err), 0);
    CHECK(hx_envelope_equal(&e, &back));
    CHECK_INT(hx_envelope_to_json_text(&back, &j2, &err), 0);
    CHECK(b.len == j2.len && memcmp(b.data, j2.data, b.len) == 0);
    hx_envelope_free(&back);
    hx_envelope_free(&e);
    hx_buf_free(&b);
    hx_buf_free(&bin);
    hx_buf_free(&j2);
}

static void test_binary_edges(void)
{
    hx_envelope_t e, back;
    hx_err_t err = {0};
    hx_envelope_init(&e);
    e.type = strdup("x.y");
    CHECK_INT(hx_envelope_fill_defaults(&e, "n1", 1, &err), 0);
    CHECK(strlen(e.id) == 32);
    CHECK_STR(e.tenant, "default");
    CHECK_STR(e.key, "");
    CHECK_STR(e.source, "n1");
    e.ts = INT64_MAX;
    e.seq = UINT64_MAX >> 1;
    for (int i = 0; i < HX_ENV_HEADERS_MAX; i++) {
        char n[16];
        snprintf(n, sizeof n, "h%d", i);
        CHECK_INT(hx_envelope_set_header(&e, n, i % 2 ? "" : "value", &err), 0);
    }
    CHECK_INT(hx_envelope_set_header(&e, "one-too-many", "x", &err), HX_EINVAL);
    hx_buf_t bin = HX_BUF_INIT;
    CHECK_INT(hx_envelope_encode(&e, &bin, &err), 0);
    CHECK_INT(hx_envelope_decode(bin.data, bin.len, &back, &err), 0);
    CHECK(hx_envelope_equal(&e, &back));
    hx_envelope_free(&back);
    /* Every truncation fails cleanly; so do trailing bytes. */
    int bad = 0;
    for (size_t n = 0; n < bin.len; n++)
        bad += hx_envelope_decode(bin.data, n, &back, &err) == HX_ECORRUPT;
    CHECK_INT(bad, (int)bin.len);
    hx_buf_putc(&bin, 0);
    CHECK_INT(hx_envelope_decode(bin.data, bin.len, &back, &err), HX_ECORRUPT);
    CHECK_CONTAINS(err.msg, "trailing bytes");
    bin.len--;
    /* Random corruption never crashes (ASan/UBSan builds check memory too). */
    srand(1234);
    unsigned char *copy = malloc(bin.len);
    for (int it = 0; it < 10000; it++) {
        memcpy(copy, bin.data, bin.len);
        int flips = 1 + rand() % 4;
        for (int f = 0; f < flips; f++)
            copy[rand() % bin.len] ^= (unsigned char)(1 + rand() % 255);
        if (hx_envelope_decode(copy, bin.len, &back, &err) == 0)
            hx_envelope_free(&back);
    }
    free(copy);
    hx_buf_free(&bin);
    hx_envelope_free(&e);
}

static int json_error(const char *text, const char *needle)
{
    hx_envelope_t e;
    hx_err_t err = {0};
    int rc = hx_envelope_from_json_text(text, strlen(text), &e, &err);
    if (rc == 0) {
        hx_envelope_fill_defaults(&e, "n", 1, &err);
        rc = hx_envelope_validate(&e, &err);
        hx_envelope_free(&e);
    }
    CHECK(rc != 0);
    CHECK_CONTAINS(err.msg, needle);
    return rc;
}

static void test_validation_names_field(void)
{
    json_error("{\"type\":\"a\",\"bogus\":1}", "unknown field 'bogus'");
    json_error("{\"type\":\"a\",\"ts\":-5}", "field 'ts'");
    json_error("{\"type\":\"a\",\"ts\":\"now\"}", "field 'ts'");
    json_error("{\"type\":\"a\",\"seq\":1.5}", "field 'seq'");
    json_error("{\"type\":\"Bad Type\"}", "field 'type'");
    json_error("{\"data\":{}}", "field 'type' is required");
    json_error("{\"type\":\"a\",\"v\":2}", "field 'v'");
    json_error("{\"type\":\"a\",\"tenant\":\"a b\"}", "field 'tenant'");
    json_error("{\"type\":\"a\",\"headers\":{\"x\":1}}", "headers.x");
    json_error("{\"type\":\"a\",\"key\":5}", "field 'key'");
    json_error("[1,2]", "JSON object");
    json_error("{\"type\":", "malformed JSON");
}

static void test_schemas(void)
{
    hx_err_t err = {0};
    json_t *ok = json_pack("{s:s,s:s,s:s,s:i}", "message_id", "m", "role", "assistant", "content", "hi", "tokens", 3);
    CHECK_INT(hx_event_validate_data(HX_EV_CONVERSATION_MESSAGE_ADDED, ok, &err), 0);
    json_object_set_new(ok, "role", json_string("robot"));
    CHECK_INT(hx_event_validate_data(HX_EV_CONVERSATION_MESSAGE_ADDED, ok, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "data.role must be one of user|assistant|system|tool");
    json_object_del(ok, "content");
    json_object_set_new(ok, "role", json_string("user"));
    CHECK_INT(hx_event_validate_data(HX_EV_CONVERSATION_MESSAGE_ADDED, ok, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "data.content is required");
    json_decref(ok);

    json_t *pm = json_pack("{s:s,s:s,s:f,s:b,s:i}", "provider", "openai", "model", "gpt", "response_time_ms", 12.5,
                           "success", 1, "tokens_used", -1);
    CHECK_INT(hx_event_validate_data(HX_EV_PROVIDER_METRICS, pm, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "data.tokens_used");
    json_object_set_new(pm, "tokens_used", json_integer(10));
    CHECK_INT(hx_event_validate_data(HX_EV_PROVIDER_METRICS, pm, &err), 0);
    json_decref(pm);

    json_t *d = json_pack("{s:s,s:i,s:s,s:[{s:s,s:s},{s:s}]}", "debate_id", "d1", "rounds", 3, "outcome",
                          "successful", "participants", "provider", "a", "model", "m", "provider", "b");
    CHECK_INT(hx_event_validate_data(HX_EV_DEBATE_COMPLETED, d, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "data.participants[1].model is required");
    json_decref(d);
    json_t *arr = json_array();
    CHECK_INT(hx_event_validate_data("custom.thing", arr, &err), HX_EINVAL);
    json_decref(arr);
}

static void test_topics(void)
{
    size_t n;
    const hx_topic_spec_t *t = hx_topics_builtin(&n);
    CHECK_INT(n, 9);
    CHECK_STR(t[0].name, "helixagent.conversations");
    CHECK_INT(t[0].partitions, 16);
    CHECK_STR(t[0].compression, "zstd");
    const hx_topic_spec_t *m = hx_topics_find("helixagent.memory.events");
    CHECK(m && m->partitions == 12 && strcmp(m->compression, "lz4") == 0);
    CHECK(hx_topics_find("nope") == NULL);
}

/* A frame built from data already serialized is the frame hx_envelope_encode
 * builds from the same data as JSON; the source is read without decoding. */
static void test_encode_data_and_source(void)
{
    hx_envelope_t e;
    hx_envelope_init(&e);
    e.id = strdup("n1:7");
    e.type = strdup("memory.delta");
    e.source = strdup("n1");
    e.tenant = strdup("acme");
    e.key = strdup("m1");
    e.ts = 1700000000000;
    const char *text = "{\"ops\":[{\"o\":\"n1\",\"s\":7},{\"o\":\"n1\",\"s\":8}]}";
    e.data = json_loads(text, 0, NULL);
    hx_buf_t a = HX_BUF_INIT, b = HX_BUF_INIT;
    hx_err_t err = {0};
    CHECK_INT(hx_envelope_encode(&e, &a, &err), 0);
    CHECK_INT(hx_envelope_encode_data(&e, text, strlen(text), &b, &err), 0);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    CHECK(hx_envelope_source_is(b.data, b.len, "n1"));
    CHECK(!hx_envelope_source_is(b.data, b.len, "n2"));
    CHECK(!hx_envelope_source_is(b.data, b.len, "n"));
    CHECK(!hx_envelope_source_is(b.data, 3, "n1")); /* truncated */
    hx_envelope_t bad = e;
    bad.tenant = "no spaces allowed";
    hx_buf_t c = HX_BUF_INIT;
    CHECK_INT(hx_envelope_encode_data(&bad, text, strlen(text), &c, &err), HX_EINVAL);
    CHECK_INT((int)c.len, 0);
    hx_buf_free(&a);
    hx_buf_free(&b);
    hx_envelope_free(&e);
}

int main(void)
{
    RUN(test_json_roundtrip);
    RUN(test_binary_edges);
    RUN(test_validation_names_field);
    RUN(test_schemas);
    RUN(test_topics);
    RUN(test_encode_data_and_source);
    return HX_TEST_DONE();
}
