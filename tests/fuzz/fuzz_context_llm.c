/* The reply of an OpenAI-compatible chat-completions endpoint, as it comes
 * back over HTTP (any bytes: truncated, not JSON, wrong shapes). Properties:
 *   - the parser accepts exactly the replies whose choices[0].message.content
 *     is a non-empty string, and returns that string whole;
 *   - anything else is HX_EINVAL with a message naming the field, and no
 *     output. */
#include "context/ctx_internal.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = NULL;
    hx_err_t err = {0};
    int rc = ctx_llm_parse_reply((const char *)data, size, &out, &err);

    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    json_t *c = json_object_get(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"),
                                "content");
    int want = json_is_string(c) && json_string_length(c) > 0;
    if (want) {
        FZ_ASSERT(rc == 0 && out, "a reply with content was refused: %s", err.msg);
        FZ_ASSERT(strlen(out) == json_string_length(c) && !memcmp(out, json_string_value(c), strlen(out)),
                  "the summary is not the reply's content");
    } else {
        FZ_ASSERT(rc == HX_EINVAL && !out && strstr(err.msg, "choices[0].message.content"),
                  "a reply without content was not refused cleanly (rc %d: %s)", rc, err.msg);
    }
    free(out);
    json_decref(j);
    return 0;
}
