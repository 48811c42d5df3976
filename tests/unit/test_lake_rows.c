/* The lake's rows from an event's data text (lake_row_from_text, the
 * archiver's path) equal the rows from its parsed tree
 * (lake_row_from_envelope) for every dataset, and text the fast reader
 * refuses is refused, never read differently. */
#include "../hx_test.h"

#include "lake/rows.h"

static int same_value(const hx_pq_column_t *col, const hx_pq_value_t *a, const hx_pq_value_t *b)
{
    if (a->is_null != b->is_null)
        return 0;
    if (a->is_null)
        return 1;
    switch (col->type) {
    case HX_PQ_STRING: return a->v.str.n == b->v.str.n && memcmp(a->v.str.s, b->v.str.s, a->v.str.n) == 0;
    case HX_PQ_DOUBLE: return a->v.d == b->v.d;
    default: return a->v.i == b->v.i;
    }
}

/* Both builders on data text for dataset ds; 1 when the fast one read it. */
static int compare(const char *ds_name, const char *type, const char *data)
{
    const hx_lake_dataset_t *ds = hx_lake_dataset_find(ds_name);
    CHECK(ds != NULL);
    hx_envelope_t e;
    hx_envelope_init(&e);
    e.v = 1;
    e.id = strdup("ev-1");
    e.type = strdup(type);
    e.source = strdup("node-a");
    e.tenant = strdup("acme");
    e.key = strdup("key-1");
    e.ts = 1714557600000;
    e.seq = 7;
    hx_pq_value_t fast[LAKE_ROW_COLS_MAX], slow[LAKE_ROW_COLS_MAX];
    lake_row_scratch_t fs = {0}, ss = {0};
    int rc = lake_row_from_text(ds, &e, data, strlen(data), fast, &fs);
    json_error_t je;
    e.data = json_loads(data, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (rc == HX_OK) {
        CHECK(e.data != NULL); /* the fast reader never takes what jansson refuses */
        if (e.data) {
            ss.data = data;
            ss.data_len = strlen(data);
            lake_row_from_envelope(ds, &e, slow, &ss);
            for (size_t c = 0; c < ds->ncols; c++)
                if (!same_value(&ds->cols[c], &fast[c], &slow[c])) {
                    fprintf(stderr, "  %s: column %s differs for %s\n", ds_name, ds->cols[c].name, data);
                    CHECK(0);
                }
            lake_row_scratch_free(&ss);
        }
        lake_row_scratch_free(&fs);
    }
    hx_envelope_free(&e);
    return rc == HX_OK;
}

static void test_conversations(void)
{
    const char *t = "conversation.message.added";
    CHECK(compare("conversations", t,
                  "{\"message_id\":\"m1\",\"role\":\"user\",\"content\":\"Alice asks about PostgreSQL 16\","
                  "\"tokens\":42,\"created_at\":\"2024-05-01T10:00:00.5Z\",\"user_id\":\"u1\"}"));
    CHECK(compare("conversations", t,
                  "{\"conversation_id\":\"c-9\",\"content\":\"tab\\tquote\\\" \\u00e9 \\ud83d\\ude00 /\\/\","
                  "\"created_at\":1714557600123,\"tokens\":3000000000,\"model\":null,\"provider\":7,"
                  "\"metadata\":{\"a\":[1,2,{\"b\":null}]},\"session_id\":\"s\"}"));
    CHECK(compare("conversations", t, "{\"tokens\":1.5,\"created_at\":\"2024-05-01T10:00:00+02:00\",\"role\":true}"));
    CHECK(compare("conversations", t, "{\"conversation_id\":5,\"created_at\":\"not a time\",\"tokens\":-7}"));
    CHECK(compare("conversations", t, " { } "));
    CHECK(compare("conversations", t, "[1,2]"));
    CHECK(compare("conversations", t, "{\"last\":{\"nested\":true}}"));
    /* refused by the fast reader, jansson decides */
    CHECK(!compare("conversations", t, "{\"content\":\"a\",\"content\":\"b\"}"));
    CHECK(!compare("conversations", t, "{\"content\":\"a\""));
    CHECK(!compare("conversations", t, "{\"content\":\"a\"} x"));
    CHECK(!compare("conversations", t, "{\"tokens\":99999999999999999999}"));
    CHECK(!compare("conversations", t, "{\"content\":\"\\u0000\"}"));
}

static void test_other_datasets(void)
{
    CHECK(compare("provider_metrics", "provider.metrics",
                  "{\"provider\":\"openai\",\"model\":\"gpt\",\"round\":2,\"response_time_ms\":120,"
                  "\"confidence\":0.25,\"success\":true,\"error_type\":null,\"tokens_used\":10}"));
    CHECK(compare("provider_metrics", "provider.metrics", "{\"confidence\":3,\"success\":\"yes\",\"round\":1e3}"));
    CHECK(compare("debates", "debate.completed",
                  "{\"debate_id\":\"d1\",\"participants\":[{\"p\":\"a\"},\"b\"],\"confidence\":1e-3,"
                  "\"duration_ms\":5}"));
    CHECK(compare("debates", "debate.completed", "{\"participants\":null}"));
    CHECK(compare("entities", "entity.upserted",
                  "{\"entities\":[{\"id\":\"e1\",\"name\":\"Alice\",\"type\":\"person\"}]}"));
    CHECK(compare("entities", "entity.upserted", "{\"entity_id\":\"e2\",\"name\":\"Bob\",\"type\":\"person\"}"));
}

int main(void)
{
    RUN(test_conversations);
    RUN(test_other_datasets);
    return HX_TEST_DONE();
}
