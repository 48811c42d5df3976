/* The fast text readers of the two hot write bodies, POST /v1/memory
 * (hx_api_memory_write_parse_text) and one message of POST
 * /v1/conversations/{id}/messages (hx_api_ctx_ingest_parse_text). The first
 * input byte picks the reader ('m' memory, anything else a message), the
 * rest is the body. Properties:
 *   - a reader answers HX_OK or HX_EAGAIN (the tree path decides), nothing else;
 *   - whatever it accepts, jansson's parse of the same bytes and the tree
 *     parser accept too, with the same typed request: same fields set, same
 *     strings byte for byte, same numbers bit for bit, same tags. */
#include "helix/hx_api_requests.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    hx_logger_set_level(HX_LVL_ERROR);
    return 0;
}

static int same_str(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static void memory(const char *text, size_t len)
{
    hx_memory_write_t fast, tree;
    char *arena = NULL;
    int rc = hx_api_memory_write_parse_text(text, len, &fast, &arena);
    FZ_ASSERT(rc == HX_OK || rc == HX_EAGAIN, "memory text reader answered %d", rc);
    if (rc)
        return;
    json_t *body = json_loadb(text, len, 0, NULL);
    FZ_ASSERT(body, "the text reader accepted a body jansson refuses");
    hx_err_t err = {0};
    FZ_ASSERT(hx_api_memory_write_parse(body, &tree, &err) == 0, "accepted by the text reader, refused by the tree "
                                                                  "parser: %s", err.msg);
    FZ_ASSERT(fast.set == tree.set, "fields set differ: %#x vs %#x", fast.set, tree.set);
    FZ_ASSERT(same_str(fast.id, tree.id) && same_str(fast.user_id, tree.user_id) &&
                  same_str(fast.agent_id, tree.agent_id) && same_str(fast.session_id, tree.session_id) &&
                  same_str(fast.content, tree.content) && same_str(fast.summary, tree.summary) &&
                  same_str(fast.type, tree.type) && same_str(fast.category, tree.category),
              "a string field differs");
    FZ_ASSERT(!memcmp(&fast.importance, &tree.importance, sizeof fast.importance), "importance %.17g vs %.17g",
              fast.importance, tree.importance);
    FZ_ASSERT(fast.expires_at == tree.expires_at, "expires_at differs");
    FZ_ASSERT(!fast.entities && !fast.metadata, "the text reader set a JSON value");
    FZ_ASSERT(fast.n_tags == tree.n_tags, "%zu vs %zu tags", fast.n_tags, tree.n_tags);
    for (size_t i = 0; i < fast.n_tags; i++)
        FZ_ASSERT(same_str(fast.tags[i], tree.tags[i]), "tag %zu differs", i);
    hx_api_memory_write_free(&tree);
    json_decref(body);
    free(arena);
}

static void message(const char *text, size_t len)
{
    hx_ctx_ingest_t fast, tree;
    int rc = hx_api_ctx_ingest_parse_text(text, len, &fast);
    FZ_ASSERT(rc == HX_OK || rc == HX_EAGAIN, "message text reader answered %d", rc);
    if (rc)
        return;
    json_t *body = json_loadb(text, len, 0, NULL);
    FZ_ASSERT(body, "the text reader accepted a body jansson refuses");
    hx_err_t err = {0};
    FZ_ASSERT(hx_api_ctx_ingest_parse(body, &tree, &err) == 0, "accepted by the text reader, refused by the tree "
                                                                "parser: %s", err.msg);
    FZ_ASSERT(fast.n == 1 && tree.n == 1, "%zu vs %zu items", fast.n, tree.n);
    const hx_ctx_item_t *x = &fast.items[0], *y = &tree.items[0];
    FZ_ASSERT(x->op == y->op && x->tokens == y->tokens && x->created_at == y->created_at, "op or counts differ");
    FZ_ASSERT(same_str(x->message_id, y->message_id) && same_str(x->role, y->role) && same_str(x->content, y->content) &&
                  same_str(x->model, y->model) && same_str(x->provider, y->provider) &&
                  same_str(x->user_id, y->user_id) && same_str(x->session_id, y->session_id),
              "a string field differs");
    hx_api_ctx_ingest_free(&tree);
    hx_api_ctx_ingest_free(&fast);
    json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* the body as the server holds it: its own allocation, NUL after it */
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    if (data[0] == 'm')
        memory(text, size - 1);
    else
        message(text, size - 1);
    free(text);
    return 0;
}
