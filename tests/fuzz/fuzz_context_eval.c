/* Evaluation data from outside (`helix bench context --eval-data FILE`):
 * any bytes, as the helix or the LoCoMo JSON shape. Properties:
 *   - the loader either succeeds with conversations that each have messages
 *     with text and questions with non-empty answers, or fails with
 *     HX_EINVAL / HX_ENOMEM and a message, returning nothing;
 *   - what it loads can be evaluated: whole-word matching of every answer
 *     against every message runs, and stays within the texts. */
#include "context/ctx_eval.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ctx_eval_conv_t *c = NULL;
    size_t n = 0;
    hx_err_t err = {0};
    int rc = ctx_eval_load((const char *)data, size, &c, &n, &err);
    if (rc) {
        FZ_ASSERT((rc == HX_EINVAL || rc == HX_ENOMEM) && err.msg[0] && !c && !n, "bad failure (rc %d)", rc);
        return 0;
    }
    FZ_ASSERT(c && n > 0, "success without conversations");
    for (size_t i = 0; i < n; i++) {
        FZ_ASSERT(c[i].n > 0 && c[i].nq > 0, "conversation %zu is empty", i);
        for (size_t m = 0; m < c[i].n; m++) {
            FZ_ASSERT(c[i].msgs[m].content[0] && c[i].msgs[m].speaker && c[i].msgs[m].session_id,
                      "message %zu without text", m);
            for (size_t q = 0; q < c[i].nq && q < 8; q++)
                (void)ctx_eval_contains(c[i].msgs[m].content, strlen(c[i].msgs[m].content), c[i].qs[q].answer);
        }
        for (size_t q = 0; q < c[i].nq; q++)
            FZ_ASSERT(c[i].qs[q].question && c[i].qs[q].answer[0], "question %zu without an answer", q);
        ctx_eval_conv_free(&c[i]);
    }
    free(c);
    return 0;
}
