/* PackStream decoder on hostile bytes: it must never crash, read out of
 * bounds or allocate past its input; whatever it accepts must re-encode to a
 * value that decodes equal (the encoder and decoder agree), and the typed
 * views must be safe on anything it returns. */
#include "graph/neo4j/packstream.h"
#include "fuzz_util.h"

static void views(hx_ps_arena_t *a, const hx_ps_value_t *v, int depth)
{
    hx_ps_node_t n;
    hx_ps_rel_t r;
    hx_ps_path_t p;
    hx_ps_as_node(v, &n);
    hx_ps_as_rel(v, &r);
    hx_ps_as_path(a, v, &p);
    if (depth > 8 || (v->type != HX_PS_LIST && v->type != HX_PS_STRUCT && v->type != HX_PS_MAP))
        return;
    uint32_t n_items = v->type == HX_PS_MAP ? 2 * v->n : v->n;
    for (uint32_t i = 0; i < n_items && i < 64; i++)
        views(a, &v->u.items[i], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_ps_arena_t a = HX_PS_ARENA_INIT, b = HX_PS_ARENA_INIT;
    size_t pos = 0;
    while (pos < size) {
        hx_ps_value_t v;
        hx_err_t err = {0};
        size_t start = pos;
        if (hx_ps_decode(&a, data, size, &pos, &v, &err)) {
            FZ_ASSERT(err.code == HX_ECORRUPT || err.code == HX_ENOMEM, "unexpected code %d", err.code);
            FZ_ASSERT(pos == start, "a failed decode moved the position");
            break;
        }
        FZ_ASSERT(pos > start && pos <= size, "decode went from %zu to %zu", start, pos);
        FZ_ASSERT(a.used <= 64 * size + 65536, "arena grew to %zu for %zu input bytes", a.used, size);
        views(&a, &v, 0);
        hx_buf_t enc = HX_BUF_INIT, txt = HX_BUF_INIT;
        FZ_ASSERT(hx_ps_put_value(&enc, &v) == 0 || v.type == HX_PS_STRUCT, "re-encode failed");
        hx_ps_value_t back;
        size_t p2 = 0;
        FZ_ASSERT(hx_ps_decode(&b, enc.data, enc.len, &p2, &back, &err) == 0, "re-decode: %s", err.msg);
        FZ_ASSERT(p2 == enc.len && hx_ps_equal(&v, &back), "round trip changed the value");
        hx_ps_format(&v, &txt, 4096);
        hx_buf_free(&enc);
        hx_buf_free(&txt);
    }
    hx_ps_arena_free(&a);
    hx_ps_arena_free(&b);
    return 0;
}
