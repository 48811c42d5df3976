/* Bodies of POST /v1/memory, PATCH /v1/memory/{id} and POST
 * /v1/memory/search on one engine (embedded broker) reused across inputs.
 * The first byte picks the call, the rest is the JSON body. Properties:
 *   - bad input is a user error (a 4xx code with a message), never an
 *     internal or I/O error, and a rejected write changes nothing;
 *   - an accepted create or patch reads back with the content it wrote, and
 *     another tenant never sees it;
 *   - a search answers {memories, count} with count == the array's size and
 *     never more than the limit. */
#include "helix/hx_api_requests.h"
#include "helix/hx_memory.h"
#include "fuzz_util.h"

static hx_config_t cfg;
static hx_broker_t *broker;
static hx_memory_t *mem;
static unsigned runs;
static char dir[512];

static void reopen(void)
{
    fz_fresh_engine(&cfg, dir, &broker, &mem);
    hx_err_t err = {0};
    json_t *seed = json_pack("{s:s,s:s,s:s,s:[s]}", "id", "m1", "user_id", "u", "content", "Alice likes SQLite",
                             "tags", "db");
    if (hx_api_memory_create_json(mem, "t", seed, NULL, &err)) {
        fprintf(stderr, "fuzz: cannot prepare the memory engine: %s\n", err.msg);
        exit(2);
    }
    json_decref(seed);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    hx_config_defaults(&cfg);
    hx_logger_set_level(HX_LVL_ERROR);
    snprintf(dir, sizeof dir, "%s/node", fz_tmpdir("memory_api"));
    reopen();
    return 0;
}

static int user_error(int rc)
{
    return rc == HX_EINVAL || rc == HX_ENOTFOUND || rc == HX_EEXIST || rc == HX_ETOOBIG || rc == HX_ERANGE ||
           rc == HX_ECONFLICT;
}

static void check_readback(const json_t *out, const json_t *body)
{
    const char *id = json_string_value(json_object_get(out, "id"));
    FZ_ASSERT(id, "an accepted write returned no id");
    json_t *got = NULL;
    hx_err_t err = {0};
    int rc = hx_memory_get(mem, "t", id, 0, &got, &err);
    if (rc == HX_ENOTFOUND && strstr(err.msg, "expired"))
        return; /* the write set expires_at in the past: hidden, as documented */
    FZ_ASSERT(rc == 0, "accepted memory %s cannot be read: %s", id, err.msg);
    const json_t *want = json_object_get(body, "content");
    if (json_is_string(want))
        FZ_ASSERT(json_equal(json_object_get(got, "content"), (json_t *)want) ||
                      json_is_array(json_object_get(got, "content")),
                  "memory %s does not read back the content written", id);
    json_decref(got);
    FZ_ASSERT(hx_memory_get(mem, "other", id, 0, &got, &err) == HX_ENOTFOUND, "tenant 'other' sees memory %s", id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (++runs % 300 == 0)
        reopen();
    json_t *body = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
    if (!body)
        return 0;
    int op = data[0] % 3;
    json_t *out = NULL;
    hx_err_t err = {0};
    char *before = op < 2 ? fz_memory_canonical(mem) : NULL;
    int rc = op == 0   ? hx_api_memory_create_json(mem, "t", body, &out, &err)
             : op == 1 ? hx_api_memory_update_json(mem, "t", "m1", body, &out, &err)
                       : hx_memory_search(mem, "t", body, &out, &err);
    if (rc) {
        FZ_ASSERT(user_error(rc) && err.msg[0], "call %d failed with %d (%s): not a user error", op, rc, err.msg);
        FZ_ASSERT(!out, "a failed call returned a result");
        if (before) {
            char *after = fz_memory_canonical(mem);
            FZ_ASSERT(!strcmp(before, after), "a rejected write changed the state (%s)", err.msg);
            free(after);
        }
    } else if (op < 2) {
        check_readback(out, body);
    } else {
        json_t *ms = json_object_get(out, "memories");
        json_int_t lim = json_integer_value(json_object_get(body, "limit"));
        if (lim <= 0)
            lim = 10; /* the documented default */
        FZ_ASSERT(json_is_array(ms) && json_integer_value(json_object_get(out, "count")) == (json_int_t)json_array_size(ms),
                  "search count does not match its memories");
        FZ_ASSERT((json_int_t)json_array_size(ms) <= lim, "search returned %zu memories over the limit %lld",
                  json_array_size(ms), (long long)lim);
    }
    free(before);
    json_decref(out);
    json_decref(body);
    return 0;
}
