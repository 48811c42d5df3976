/* The context text pipeline on arbitrary conversations: sentence splitting,
 * tokenising and entity extraction (ctx_analyse, ctx_ngrams) and the whole
 * compression (hx_context_compress). Input: 4 option bytes (max_tokens,
 * strategy, preserve_recent_count, window_size, explicit token counts),
 * then messages separated by NUL bytes; bytes that are not UTF-8 become '?'
 * because every message reaches the engine as a JSON string. Properties:
 *   - analysis: sentences are in order, inside the text and non-empty;
 *     term and entity ranges tile their arrays; every entity lies inside its
 *     sentence, and its hash is among the text's 1..6-grams (otherwise
 *     entity recall could not see it in an output);
 *   - compression always succeeds on valid options, the output fits
 *     max_tokens, total_tokens is the sum of the messages' tokens, every
 *     summary is counted with the estimator, and every output item is in
 *     the response (none lost to a JSON encoding failure). */
#include "context/ctx_internal.h"
#include "fuzz_util.h"

static hx_config_t cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    hx_config_defaults(&cfg);
    return 0;
}

/* Replaces every byte that is not part of a well-formed UTF-8 sequence. */
static void make_utf8(unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 && c >= 0xC2 ? 2 : (c & 0xF0) == 0xE0 ? 3
                                 : (c & 0xF8) == 0xF0 && c <= 0xF4 ? 4 : 0;
        int ok = k && i + k <= n;
        for (size_t j = 1; ok && j < k; j++)
            ok = (s[i + j] & 0xC0) == 0x80;
        if (ok && k == 3)
            ok = !(c == 0xE0 && s[i + 1] < 0xA0) && !(c == 0xED && s[i + 1] >= 0xA0);
        if (ok && k == 4)
            ok = !(c == 0xF0 && s[i + 1] < 0x90) && !(c == 0xF4 && s[i + 1] >= 0x90);
        if (!ok) {
            s[i++] = '?';
            continue;
        }
        i += k;
    }
}

static void check_analysis(const char *t, size_t len)
{
    ctx_an_t a;
    FZ_ASSERT(ctx_analyse(t, len, &a) == 0, "analyse failed");
    ctx_map_t grams;
    FZ_ASSERT(ctx_map_init(&grams, 64) == 0 && ctx_ngrams(t, len, &grams) == 0, "ngrams failed");
    uint32_t prev_end = 0, tnext = 0, enext = 0;
    for (uint32_t i = 0; i < a.n_sents; i++) {
        const ctx_sent_t *s = &a.sents[i];
        FZ_ASSERT(s->len > 0 && s->off >= prev_end && (size_t)s->off + s->len <= len,
                  "sentence %u [%u,+%u) out of order or bounds (len %zu)", i, s->off, s->len, len);
        prev_end = s->off + s->len;
        FZ_ASSERT(s->t0 == tnext && s->e0 == enext, "sentence %u ranges do not tile", i);
        tnext += s->nt;
        enext += s->ne;
        for (uint32_t e = s->e0; e < s->e0 + s->ne; e++) {
            const ctx_ent_t *en = &a.ents[e];
            FZ_ASSERT(en->len > 0 && en->off >= s->off && en->off + en->len <= s->off + s->len,
                      "entity %u outside its sentence", e);
            FZ_ASSERT(ctx_map_get(&grams, en->h), "entity '%.*s' is not among the text's n-grams", (int)en->len,
                      t + en->off);
        }
        for (uint32_t k = s->t0; k < s->t0 + s->nt; k++)
            FZ_ASSERT(a.term_n[k] >= 1, "term count 0");
    }
    FZ_ASSERT(tnext == a.n_terms && enext == a.n_ents, "ranges do not cover the arrays");
    ctx_map_free(&grams);
    ctx_an_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    static const char *const strategies[] = {"hybrid", "entity_graph", "window_summary", "full"};
    static const char *const roles[] = {"user", "assistant", "system", "tool"};
    hx_ctx_request_t rq;
    hx_ctx_request_defaults(&rq);
    rq.max_tokens = 1 + (data[0] | data[1] << 8) % 3000;
    rq.strategy = strategies[data[2] % 4];
    rq.preserve_recent_count = (data[2] >> 2) % 6;
    rq.window_size = 2 + data[3] % 8;
    int explicit_tokens = data[3] >> 7;

    unsigned char *text = malloc(size - 4 + 1);
    memcpy(text, data + 4, size - 4);
    text[size - 4] = 0;
    make_utf8(text, size - 4);
    hx_ctx_message_t msgs[256];
    size_t n = 0;
    for (size_t off = 0; off <= size - 4 && n < 256;) {
        const char *s = (const char *)text + off;
        size_t l = strlen(s);
        check_analysis(s, l);
        msgs[n] = (hx_ctx_message_t){.seq = n + 1, .role = roles[l % 4], .content = s,
                                     .tokens = explicit_tokens ? (int64_t)(l % 50) : 0, .created_at = 1000 + n};
        n++;
        off += l + 1;
    }

    json_t *out = NULL;
    hx_err_t err = {0};
    int rc = hx_context_compress(&cfg, &rq, msgs, n, &out, &err);
    FZ_ASSERT(rc == 0, "compression failed on valid options: %s", err.msg);
    json_t *ms = json_object_get(out, "messages"), *st = json_object_get(out, "compression_stats"), *m;
    json_int_t total = json_integer_value(json_object_get(out, "total_tokens")), sum = 0;
    size_t i;
    json_array_foreach(ms, i, m)
    {
        json_int_t tk = json_integer_value(json_object_get(m, "tokens"));
        sum += tk;
        if (json_is_true(json_object_get(m, "summary"))) {
            const char *c = json_string_value(json_object_get(m, "content"));
            FZ_ASSERT(c && tk == (json_int_t)hx_context_estimate_tokens(c, strlen(c)),
                      "summary %zu counts %lld tokens, not the estimate", i, (long long)tk);
        }
    }
    FZ_ASSERT(json_integer_value(json_object_get(st, "compressed_messages")) == (json_int_t)json_array_size(ms),
              "%lld items compressed, %zu in the response",
              (long long)json_integer_value(json_object_get(st, "compressed_messages")), json_array_size(ms));
    FZ_ASSERT(sum == total, "total_tokens %lld is not the sum %lld", (long long)total, (long long)sum);
    FZ_ASSERT(total <= rq.max_tokens, "output of %lld tokens exceeds max_tokens %lld (strategy %s, %zu messages)",
              (long long)total, (long long)rq.max_tokens, rq.strategy, n);
    json_decref(out);
    free(text);
    return 0;
}
