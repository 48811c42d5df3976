/* Records of helixagent.memory.events and .snapshots come from other nodes
 * (deltas with ops and states, sync requests, digests) and go through the
 * consumer's handler on a live engine with the embedded broker. An input
 * starting with '{' is an envelope in JSON form, encoded here first; any
 * other input is the raw binary frame. A digest's "ts" is set to now so old
 * seeds still count as fresh. Properties:
 *   - undecodable records are skipped, never crash the engine;
 *   - delivering the same record twice leaves the same state as once
 *     (at-least-once delivery is safe: ops dedup by dot, states join
 *     idempotently);
 *   - every state the engine then holds passes the strict decoder. */
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"
#include "helix/hx_topics.h"
#include "memory/sync_int.h"
#include "fuzz_util.h"

static hx_config_t cfg;
static hx_broker_t *broker;
static hx_memory_t *mem;
static unsigned runs;
static char dir[512];

/* The store grows with every input: start over now and then so the
 * per-input state comparison stays cheap. */
static void reopen(void)
{
    fz_fresh_engine(&cfg, dir, &broker, &mem);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    hx_config_defaults(&cfg);
    hx_logger_set_level(HX_LVL_ERROR);
    snprintf(dir, sizeof dir, "%s/node", fz_tmpdir("memory_sync"));
    reopen();
    return 0;
}

static void handle(const hx_msg_t *msg)
{
    hx_msync_handle(mem, msg);
}

static void check_states(const char *canon)
{
    const char *line = canon;
    while (*line) {
        const char *end = strchr(line, '\n');
        json_t *j = json_loadb(line, (size_t)(end - line), 0, NULL);
        hx_mcrdt_t *s = NULL;
        hx_err_t err = {0};
        FZ_ASSERT(j && hx_mcrdt_from_json(j, &s, &err) == 0, "engine holds a state its decoder rejects: %s", err.msg);
        hx_mcrdt_free(s);
        json_decref(j);
        line = end + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (++runs % 500 == 0)
        reopen();
    hx_envelope_t e;
    hx_envelope_init(&e);
    int ok = size && data[0] == '{' ? !hx_envelope_from_json_text((const char *)data, size, &e, NULL)
                                     : !hx_envelope_decode(data, size, &e, NULL);
    hx_msg_t msg = {.topic = HX_TOPIC_MEMORY_EVENTS, .partition = 0, .value = data, .value_len = size};
    if (!ok) {
        handle(&msg); /* the real path must skip it */
        hx_envelope_free(&e);
        return 0;
    }
    if (e.type && !strcmp(e.type, HX_EV_MEMORY_SNAPSHOT_DIGEST))
        msg.topic = HX_TOPIC_MEMORY_SNAPSHOTS;
    if (json_is_integer(json_object_get(e.data, "ts")))
        json_object_set_new(e.data, "ts", json_integer(hx_now_ms()));
    hx_buf_t frame = HX_BUF_INIT;
    if (hx_envelope_encode(&e, &frame, NULL)) {
        hx_envelope_free(&e);
        return 0;
    }
    msg.value = frame.data;
    msg.value_len = frame.len;
    handle(&msg);
    char *c1 = fz_memory_canonical(mem);
    handle(&msg);
    char *c2 = fz_memory_canonical(mem);
    FZ_ASSERT(!strcmp(c1, c2), "a redelivered record changed the state:\n%s\n--\n%s", c1, c2);
    check_states(c2);
    free(c1);
    free(c2);
    hx_buf_free(&frame);
    hx_envelope_free(&e);
    return 0;
}
