/* Entity extraction reads every conversation message and memory. The input
 * is message text. Properties: no crash, deterministic (the same text gives
 * the same ops), every op validates, and ops stay within the limits
 * (graph.extract.max_entities entities; names within HX_GRAPH_NAME_MAX). */
#include "helix/hx_graph.h"
#include "fuzz_util.h"

static hx_graph_extractor_t *x;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    hx_err_t e = {0};
    if (hx_graph_extractor_new(NULL, &x, &e)) {
        fprintf(stderr, "extractor: %s\n", e.msg);
        exit(2);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    hx_graph_message_t m = {.tenant = "t", .conversation_id = "c", .user_id = "u", .content = text, .ts_ms = 1};
    hx_graph_ops_t a = {0}, b = {0};
    hx_err_t e = {0};
    FZ_ASSERT(hx_graph_extract_message(x, &m, &a, &e) == 0, "extraction failed: %s", e.msg);
    FZ_ASSERT(hx_graph_extract_message(x, &m, &b, &e) == 0 && a.n == b.n, "not deterministic");
    size_t entities = 0;
    for (size_t i = 0; i < a.n; i++) {
        FZ_ASSERT(hx_graph_op_validate(&a.ops[i], "op", &e) == 0, "an extracted op is invalid: %s", e.msg);
        entities += a.ops[i].kind == HX_GRAPH_OP_ENTITY_UPSERT && !strcmp(a.ops[i].label, HX_GRAPH_LABEL_ENTITY);
        const hx_graph_op_t *p = &a.ops[i], *q = &b.ops[i];
        FZ_ASSERT(p->kind == q->kind && p->strength == q->strength && p->mentions == q->mentions,
                  "op %zu differs between two runs", i);
    }
    FZ_ASSERT(entities <= 64, "%zu entities from one message", entities);
    hx_graph_ops_free(&a);
    hx_graph_ops_free(&b);
    free(text);
    return 0;
}
