/* Memory CRDT states arrive from peers (deltas inside ops, anti-entropy
 * states) and from snapshots in one canonical JSON form. Properties:
 *   - the strict decoder rejects bad input with a message, never crashes;
 *   - decode -> encode -> decode -> encode gives the same text (canonical),
 *     and equal states hash equal (anti-entropy digests);
 *   - join laws replication relies on, under both strategies: splitting a
 *     state into two parts (by top-level component, chosen from the input)
 *     and joining them in either order gives the same state as joining the
 *     whole (commutativity), and joining the whole again changes nothing
 *     (idempotence). The parts come from one state so they never carry one
 *     stamp with two values, which real writers cannot produce. */
#include "helix/hx_buf.h"
#include "helix/hx_hash.h"
#include "memory/crdt.h"
#include "fuzz_util.h"

static char *canon(const hx_mcrdt_t *s)
{
    json_t *j = NULL;
    FZ_ASSERT(hx_mcrdt_to_json(s, &j) == 0, "to_json failed");
    char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    FZ_ASSERT(t != NULL, "dumps failed");
    json_decref(j);
    return t;
}

static hx_mcrdt_t *decode_text(const char *t)
{
    json_t *j = json_loads(t, 0, NULL);
    FZ_ASSERT(j != NULL, "canonical text is not JSON: %s", t);
    hx_mcrdt_t *s = NULL;
    hx_err_t err = {0};
    FZ_ASSERT(hx_mcrdt_from_json(j, &s, &err) == 0, "decoder rejects canonical text (%s): %s", err.msg, t);
    json_decref(j);
    return s;
}

static hx_mcrdt_t *join_of(const hx_mcrdt_t *base, const hx_mcrdt_t *a, const hx_mcrdt_t *b,
                           hx_crdt_strategy_t strat)
{
    hx_mcrdt_t *x = hx_mcrdt_new(base->tenant, base->id);
    FZ_ASSERT(x && hx_mcrdt_join(x, a, strat, NULL) == 0, "join failed");
    if (b)
        FZ_ASSERT(hx_mcrdt_join(x, b, strat, NULL) == 0, "join failed");
    return x;
}

static const char *const parts[] = {"del", "ident", "f", "content", "tags", "meta", "access"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size, 0, &je);
    if (!j)
        return 0;
    hx_mcrdt_t *s = NULL;
    hx_err_t err = {0};
    int rc = hx_mcrdt_from_json(j, &s, &err);
    if (rc) {
        FZ_ASSERT(rc < 0 && err.msg[0], "rejected without a message (rc %d)", rc);
        json_decref(j);
        return 0;
    }

    /* round trip and hash */
    char *t1 = canon(s);
    hx_mcrdt_t *s2 = decode_text(t1);
    char *t2 = canon(s2);
    FZ_ASSERT(!strcmp(t1, t2), "round trip changed the state:\n%s\n%s", t1, t2);
    hx_buf_t scratch = HX_BUF_INIT;
    FZ_ASSERT(hx_mcrdt_hash(s, &scratch) == hx_mcrdt_hash(s2, &scratch), "equal states hash differently: %s", t1);

    /* two parts of the canonical form; every component lands in at least one */
    json_t *cj = json_loads(t1, 0, NULL), *p1 = json_deep_copy(cj), *p2 = json_deep_copy(cj);
    uint64_t pick = hx_hash64(data, size);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        unsigned where = (unsigned)(pick >> (2 * i)) % 3; /* 0: part 1, 1: part 2, 2: both */
        if (where == 1)
            json_object_del(p1, parts[i]);
        else if (where == 0)
            json_object_del(p2, parts[i]);
    }
    hx_mcrdt_t *a = NULL, *b = NULL;
    FZ_ASSERT(hx_mcrdt_from_json(p1, &a, &err) == 0 && hx_mcrdt_from_json(p2, &b, &err) == 0,
              "a part of a valid state does not decode: %s", err.msg);

    for (int k = 0; k < 2; k++) {
        hx_crdt_strategy_t strat = k ? HX_CRDT_LWW : HX_CRDT_MERGE_ALL;
        hx_mcrdt_t *whole = join_of(s, s, NULL, strat), *ab = join_of(s, a, b, strat), *ba = join_of(s, b, a, strat);
        char *tw = canon(whole), *tab = canon(ab), *tba = canon(ba);
        FZ_ASSERT(!strcmp(tab, tba), "join is not commutative (strategy %d):\n%s\n%s", k, tab, tba);
        FZ_ASSERT(!strcmp(tab, tw), "joining the parts differs from the whole (strategy %d):\n%s\n%s", k, tab, tw);
        FZ_ASSERT(hx_mcrdt_join(whole, s2, strat, NULL) == 0 && hx_mcrdt_join(whole, a, strat, NULL) == 0,
                  "join failed");
        char *tw2 = canon(whole);
        FZ_ASSERT(!strcmp(tw, tw2), "join is not idempotent (strategy %d):\n%s\n%s", k, tw, tw2);
        FZ_ASSERT(hx_mcrdt_max_hlc(whole) <= hx_mcrdt_max_hlc(s), "a join invented a stamp");
        free(tw);
        free(tab);
        free(tba);
        free(tw2);
        hx_mcrdt_free(whole);
        hx_mcrdt_free(ab);
        hx_mcrdt_free(ba);
    }

    hx_buf_free(&scratch);
    hx_mcrdt_free(a);
    hx_mcrdt_free(b);
    json_decref(p1);
    json_decref(p2);
    json_decref(cj);
    free(t1);
    free(t2);
    hx_mcrdt_free(s);
    hx_mcrdt_free(s2);
    json_decref(j);
    return 0;
}
