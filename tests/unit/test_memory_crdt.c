/* The memory CRDT: join laws on random states, convergence of replicas
 * under random histories with reordered, duplicated and dropped deltas healed
 * by anti-entropy, remove-wins deletes, add-wins tags, and the conflict test
 * of issue #6 at the CRDT level (100 concurrent updates from 3 nodes). */
#include "helix/hx_hlc.h"
#include "memory/crdt.h"
#include "memory/engine.h"
#include "helix/hx_api_requests.h"
#include "../hx_test.h"

/* The model's delta builders take typed writes; these tests speak JSON. */
static int create_delta_json(hx_memory_t *m, const char *tenant, const json_t *body, const hx_stamp_t *st,
                             hx_mcrdt_t **out, hx_err_t *err)
{
    hx_memory_write_t w;
    *out = NULL;
    int rc = hx_api_memory_write_parse(body, &w, err);
    if (!rc)
        rc = hx_mmodel_create_delta(m, tenant, &w, st, out, err);
    hx_api_memory_write_free(&w);
    return rc;
}

static int update_delta_json(hx_memory_t *m, const hx_mcrdt_t *cur, const json_t *patch, const hx_stamp_t *st,
                             hx_mcrdt_t **out, hx_err_t *err)
{
    hx_memory_write_t w;
    *out = NULL;
    int rc = hx_api_memory_write_parse(patch, &w, err);
    if (!rc)
        rc = hx_mmodel_update_delta(m, cur, &w, st, out, err);
    hx_api_memory_write_free(&w);
    return rc;
}

#define NODES 3
#define IDS 4

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static char *canon(const hx_mcrdt_t *s)
{
    json_t *j = NULL;
    hx_mcrdt_to_json(s, &j);
    char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return t;
}

static hx_mcrdt_t *dup_state(const hx_mcrdt_t *s)
{
    hx_mcrdt_t *c = hx_mcrdt_new(s->tenant, s->id);
    hx_mcrdt_join(c, s, HX_CRDT_MERGE_ALL, NULL);
    return c;
}

typedef struct replica {
    hx_hlc_t hlc;
    int64_t skew;
    char node[16];
    hx_mcrdt_t *s[IDS];
} replica_t;

typedef struct msg {
    int to;
    hx_mcrdt_t *d;
} msg_t;

static void stamp(replica_t *r, int64_t wall, hx_stamp_t *st)
{
    st->hlc = hx_hlc_now(&r->hlc, wall + r->skew);
    snprintf(st->node, sizeof st->node, "%s", r->node);
}

static const char *words[] = {"oauth2", "friday", "deploy", "python", "dark", "mode", "tea", "rust"};

/* One random write at replica r on memory id; returns the delta (or NULL). */
static hx_mcrdt_t *random_write(replica_t *r, int id, int64_t wall)
{
    char idbuf[8];
    snprintf(idbuf, sizeof idbuf, "m%d", id);
    hx_mcrdt_t *cur = r->s[id];
    hx_stamp_t st;
    stamp(r, wall, &st);
    hx_mcrdt_t *d = NULL;
    hx_err_t err = {0};
    int k = rnd() % 10;
    if (!cur || !cur->ident.val) {
        if (cur && cur->del.hlc)
            return NULL;
        json_t *b = json_pack("{s:s,s:s,s:s,s:[s],s:{s:i}}", "id", idbuf, "user_id", "u1", "content",
                              words[rnd() % 8], "tags", words[rnd() % 8], "metadata", "n", (int)(rnd() % 5));
        create_delta_json(NULL, "t1", b, &st, &d, &err);
        json_decref(b);
    } else if (k == 0) {
        d = hx_mcrdt_new("t1", idbuf);
        d->del = st;
    } else {
        json_t *p;
        switch (k % 5) {
        case 0: p = json_pack("{s:s}", "content", words[rnd() % 8]); break;
        case 1: p = json_pack("{s:[s,s]}", "tags", words[rnd() % 8], words[rnd() % 8]); break;
        case 2: p = json_pack("{s:{s:i,s:n}}", "metadata", words[rnd() % 8], (int)(rnd() % 9), words[rnd() % 8]); break;
        case 3: p = json_pack("{s:f,s:s}", "importance", (rnd() % 100) / 100.0, "category", words[rnd() % 8]); break;
        default: p = json_pack("{s:s,s:s}", "content", words[rnd() % 8], "type", "episodic"); break;
        }
        update_delta_json(NULL, cur, p, &st, &d, &err);
        json_decref(p);
    }
    return d;
}

static void apply(replica_t *r, const hx_mcrdt_t *d, hx_crdt_strategy_t strat)
{
    int id = atoi(d->id + 1);
    if (!r->s[id])
        r->s[id] = hx_mcrdt_new(d->tenant, d->id);
    hx_hlc_observe(&r->hlc, hx_mcrdt_max_hlc(d), hx_hlc_wall_ms(r->hlc.last));
    CHECK_INT(hx_mcrdt_join(r->s[id], d, strat, NULL), 0);
}

static void run_history(uint64_t seed, hx_crdt_strategy_t strat)
{
    rng_state = seed;
    replica_t r[NODES];
    memset(r, 0, sizeof r);
    for (int i = 0; i < NODES; i++) {
        hx_hlc_init(&r[i].hlc, 0);
        r[i].skew = (int64_t)(rnd() % 40) - 20; /* skewed clocks */
        snprintf(r[i].node, sizeof r[i].node, "n%d", i);
    }
    msg_t *net = calloc(4096, sizeof *net);
    size_t nn = 0;
    int64_t wall = 1700000000000;
    for (int step = 0; step < 300; step++) {
        wall += rnd() % 3;
        if (rnd() % 3 && nn) { /* deliver a random in-flight delta */
            size_t i = rnd() % nn;
            msg_t mm = net[i];
            int dup = rnd() % 8 == 0, drop = rnd() % 10 == 0;
            if (!drop)
                apply(&r[mm.to], mm.d, strat);
            if (!dup) {
                hx_mcrdt_free(mm.d);
                net[i] = net[--nn];
            }
            continue;
        }
        int w = rnd() % NODES, id = rnd() % IDS;
        hx_mcrdt_t *d = random_write(&r[w], id, wall);
        if (!d)
            continue;
        apply(&r[w], d, strat);
        for (int to = 0; to < NODES && nn < 4000; to++)
            if (to != w)
                net[nn++] = (msg_t){to, dup_state(d)};
        hx_mcrdt_free(d);
    }
    /* Deliver the rest in random order, dropping some. */
    while (nn) {
        size_t i = rnd() % nn;
        if (rnd() % 10)
            apply(&r[net[i].to], net[i].d, strat);
        hx_mcrdt_free(net[i].d);
        net[i] = net[--nn];
    }
    /* Anti-entropy: every replica pushes its full states to every other. */
    for (int a = 0; a < NODES; a++)
        for (int b = 0; b < NODES; b++)
            for (int id = 0; id < IDS && a != b; id++)
                if (r[a].s[id])
                    apply(&r[b], r[a].s[id], strat);
    for (int id = 0; id < IDS; id++) {
        char *c0 = r[0].s[id] ? canon(r[0].s[id]) : NULL;
        for (int n = 1; n < NODES; n++) {
            char *cn = r[n].s[id] ? canon(r[n].s[id]) : NULL;
            CHECK((c0 == NULL) == (cn == NULL));
            if (c0 && cn && strcmp(c0, cn)) {
                CHECK_STR(cn, c0);
            }
            free(cn);
        }
        if (r[0].s[id] && r[0].s[id]->del.hlc)
            CHECK(r[0].s[id]->content.nlive == 0 && !r[0].s[id]->ident.val); /* a delete drops the content */
        if (strat == HX_CRDT_LWW && r[0].s[id])
            CHECK(r[0].s[id]->content.nlive <= 1);
        free(c0);
    }
    for (int n = 0; n < NODES; n++)
        for (int id = 0; id < IDS; id++)
            hx_mcrdt_free(r[n].s[id]);
    free(net);
}

static void test_convergence_merge_all(void)
{
    for (uint64_t seed = 1; seed <= 40; seed++)
        run_history(seed * 7919, HX_CRDT_MERGE_ALL);
}

static void test_convergence_lww(void)
{
    for (uint64_t seed = 1; seed <= 40; seed++)
        run_history(seed * 104729, HX_CRDT_LWW);
}

/* Join laws on states reached by random histories. */
static void test_join_laws(void)
{
    rng_state = 42;
    for (int round = 0; round < 60; round++) {
        replica_t r[3];
        memset(r, 0, sizeof r);
        hx_mcrdt_t *st[3] = {0};
        for (int i = 0; i < 3; i++) {
            hx_hlc_init(&r[i].hlc, 0);
            snprintf(r[i].node, sizeof r[i].node, "n%d", i);
        }
        hx_crdt_strategy_t strat = round % 2 ? HX_CRDT_LWW : HX_CRDT_MERGE_ALL;
        /* A common create, then independent histories. */
        hx_mcrdt_t *base = random_write(&r[0], 0, 1000);
        for (int i = 0; i < 3; i++) {
            r[i].s[0] = dup_state(base);
            for (int k = 0; k < 1 + (int)(rnd() % 5); k++) {
                hx_mcrdt_t *d = random_write(&r[i], 0, 1000 + k);
                if (d)
                    apply(&r[i], d, strat);
                hx_mcrdt_free(d);
            }
            st[i] = r[i].s[0];
        }
        hx_mcrdt_free(base);
        hx_mcrdt_t *ab = dup_state(st[0]), *ba = dup_state(st[1]);
        hx_mcrdt_join(ab, st[1], strat, NULL);
        hx_mcrdt_join(ba, st[0], strat, NULL);
        char *x = canon(ab), *y = canon(ba);
        CHECK_STR(x, y); /* commutative */
        free(x);
        free(y);
        hx_mcrdt_t *ab_c = dup_state(ab), *bc = dup_state(st[1]), *a_bc = dup_state(st[0]);
        hx_mcrdt_join(ab_c, st[2], strat, NULL);
        hx_mcrdt_join(bc, st[2], strat, NULL);
        hx_mcrdt_join(a_bc, bc, strat, NULL);
        x = canon(ab_c);
        y = canon(a_bc);
        CHECK_STR(x, y); /* associative */
        free(x);
        free(y);
        hx_mcrdt_t *aa = dup_state(ab);
        hx_join_info_t info;
        hx_mcrdt_join(aa, ab, strat, &info);
        x = canon(aa);
        y = canon(ab);
        CHECK_STR(x, y); /* idempotent */
        CHECK(!info.changed);
        free(x);
        free(y);
        hx_mcrdt_free(ab);
        hx_mcrdt_free(ba);
        hx_mcrdt_free(ab_c);
        hx_mcrdt_free(bc);
        hx_mcrdt_free(a_bc);
        hx_mcrdt_free(aa);
        for (int i = 0; i < 3; i++)
            hx_mcrdt_free(st[i]);
    }
}

static void test_codec_roundtrip_and_errors(void)
{
    rng_state = 9;
    replica_t r;
    memset(&r, 0, sizeof r);
    hx_hlc_init(&r.hlc, 0);
    snprintf(r.node, sizeof r.node, "n0");
    hx_mcrdt_t *d = random_write(&r, 1, 5000);
    json_t *j = NULL;
    CHECK_INT(hx_mcrdt_to_json(d, &j), 0);
    hx_mcrdt_t *back = NULL;
    hx_err_t err = {0};
    CHECK_INT(hx_mcrdt_from_json(j, &back, &err), 0);
    char *a = canon(d), *b = back ? canon(back) : NULL;
    CHECK_STR(a, b);
    free(a);
    free(b);
    hx_mcrdt_free(back);
    json_decref(j);
    hx_mcrdt_free(d);
    const char *bad[] = {"{}", "{\"id\":\"x\",\"tenant\":\"t\",\"f\":{\"nope\":[1,\"n\",1]}}",
                         "{\"id\":\"x\",\"tenant\":\"t\",\"content\":{\"live\":[[1]]}}",
                         "{\"id\":\"x\",\"tenant\":\"t\",\"zzz\":1}", "{\"id\":\"x\",\"tenant\":\"t\",\"del\":[-1,\"n\"]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *bj = json_loads(bad[i], 0, NULL);
        hx_mcrdt_t *o = NULL;
        CHECK_INT(hx_mcrdt_from_json(bj, &o, &err), HX_ECORRUPT);
        CHECK(o == NULL);
        json_decref(bj);
    }
}

/* Issue #6 conflict test at the CRDT level: 3 nodes, 100 updates to one
 * memory, delivered late and in random order. */
static void conflict_run(hx_crdt_strategy_t strat)
{
    rng_state = strat == HX_CRDT_LWW ? 77 : 78;
    replica_t r[NODES];
    memset(r, 0, sizeof r);
    for (int i = 0; i < NODES; i++) {
        hx_hlc_init(&r[i].hlc, 0);
        snprintf(r[i].node, sizeof r[i].node, "n%d", i);
    }
    hx_mcrdt_t *c = random_write(&r[0], 0, 1000);
    for (int i = 0; i < NODES; i++) {
        r[i].s[0] = hx_mcrdt_new("t1", "m0");
        apply(&r[i], c, strat);
    }
    hx_mcrdt_free(c);
    hx_mcrdt_t *deltas[100];
    for (int k = 0; k < 100; k++) {
        int w = k % NODES;
        char v[32];
        snprintf(v, sizeof v, "value-%d", k);
        json_t *p = json_pack("{s:s}", "content", v);
        hx_stamp_t st;
        stamp(&r[w], 2000 + k / 10, &st);
        hx_err_t err = {0};
        deltas[k] = NULL;
        update_delta_json(NULL, r[w].s[0], p, &st, &deltas[k], &err);
        json_decref(p);
        apply(&r[w], deltas[k], strat);
        if (rnd() % 4 == 0) /* sometimes a node hears of another's write before writing again */
            apply(&r[(w + 1) % NODES], deltas[k], strat);
    }
    for (int n = 0; n < NODES; n++)
        for (int i = 0; i < 100; i++)
            apply(&r[n], deltas[(i * 37 + n * 11) % 100], strat);
    char *c0 = canon(r[0].s[0]);
    for (int n = 1; n < NODES; n++) {
        char *cn = canon(r[n].s[0]);
        CHECK_STR(cn, c0);
        free(cn);
    }
    free(c0);
    const hx_dset_t *ct = &r[0].s[0]->content;
    if (strat == HX_CRDT_MERGE_ALL) {
        /* Every acknowledged value is live, or a write that saw it superseded it. */
        int lost = 0;
        for (int k = 0; k < 100; k++) {
            const hx_stamp_t *dot = &deltas[k]->content.live[0].dot;
            int live = 0, superseded = 0;
            for (size_t i = 0; i < ct->nlive; i++)
                live |= !hx_stamp_cmp(&ct->live[i].dot, dot);
            for (int j = 0; j < 100 && !live && !superseded; j++)
                for (size_t i = 0; i < deltas[j]->content.ndead; i++)
                    superseded |= !hx_stamp_cmp(&deltas[j]->content.dead[i], dot);
            lost += !live && !superseded;
        }
        CHECK_INT(lost, 0);
        CHECK(ct->nlive >= 2); /* concurrent writes stayed siblings */
    } else {
        CHECK_INT(ct->nlive, 1);
        for (int n = 1; n < NODES; n++)
            CHECK_INT(hx_stamp_cmp(&r[n].s[0]->content.live[0].dot, &ct->live[0].dot), 0);
    }
    for (int k = 0; k < 100; k++)
        hx_mcrdt_free(deltas[k]);
    for (int n = 0; n < NODES; n++)
        hx_mcrdt_free(r[n].s[0]);
}

static void test_conflict_merge_all(void) { conflict_run(HX_CRDT_MERGE_ALL); }
static void test_conflict_lww(void) { conflict_run(HX_CRDT_LWW); }

static void test_remove_wins_and_add_wins(void)
{
    replica_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    hx_hlc_init(&a.hlc, 0);
    hx_hlc_init(&b.hlc, 0);
    strcpy(a.node, "a");
    strcpy(b.node, "b");
    hx_stamp_t st;
    stamp(&a, 100, &st);
    hx_mcrdt_t *c = NULL;
    hx_err_t err = {0};
    json_t *body = json_pack("{s:s,s:s,s:s,s:[s]}", "id", "m0", "user_id", "u", "content", "secret", "tags", "x");
    CHECK_INT(create_delta_json(NULL, "t1", body, &st, &c, &err), 0);
    json_decref(body);
    a.s[0] = dup_state(c);
    b.s[0] = dup_state(c);
    /* a removes tag x while b concurrently re-adds x and adds y: add wins. */
    json_t *p1 = json_pack("{s:[]}", "tags"), *p2 = json_pack("{s:[s,s]}", "tags", "y", "x");
    hx_mcrdt_t *d1 = NULL, *d2 = NULL;
    stamp(&a, 200, &st);
    update_delta_json(NULL, a.s[0], p1, &st, &d1, &err);
    hx_mcrdt_t *fresh = hx_mcrdt_new("t1", "m0");
    hx_stamp_t st2;
    stamp(&b, 150, &st2);
    /* b re-adds x with a new dot: model it as b not having seen x yet. */
    update_delta_json(NULL, fresh, p2, &st2, &d2, &err);
    hx_mcrdt_join(a.s[0], d1, HX_CRDT_MERGE_ALL, NULL);
    hx_mcrdt_join(a.s[0], d2, HX_CRDT_MERGE_ALL, NULL);
    CHECK(hx_mmodel_has_tag(a.s[0], "x"));
    CHECK(hx_mmodel_has_tag(a.s[0], "y"));
    /* b deletes while a concurrently updates the content: remove wins. */
    hx_mcrdt_t *del = hx_mcrdt_new("t1", "m0");
    stamp(&b, 50, &del->del); /* even with an older stamp */
    json_t *p3 = json_pack("{s:s}", "content", "new secret");
    hx_mcrdt_t *d3 = NULL;
    stamp(&a, 300, &st);
    update_delta_json(NULL, a.s[0], p3, &st, &d3, &err);
    hx_mcrdt_join(a.s[0], d3, HX_CRDT_MERGE_ALL, NULL);
    hx_mcrdt_join(a.s[0], del, HX_CRDT_MERGE_ALL, NULL);
    hx_mcrdt_join(b.s[0], del, HX_CRDT_MERGE_ALL, NULL);
    hx_mcrdt_join(b.s[0], d3, HX_CRDT_MERGE_ALL, NULL);
    char *x = canon(a.s[0]), *y = canon(b.s[0]);
    CHECK_STR(x, y);
    CHECK(strstr(x, "secret") == NULL); /* the content is really gone */
    CHECK(strstr(x, "\"del\"") != NULL);
    free(x);
    free(y);
    json_decref(p1);
    json_decref(p2);
    json_decref(p3);
    hx_mcrdt_free(c);
    hx_mcrdt_free(d1);
    hx_mcrdt_free(d2);
    hx_mcrdt_free(d3);
    hx_mcrdt_free(del);
    hx_mcrdt_free(fresh);
    hx_mcrdt_free(a.s[0]);
    hx_mcrdt_free(b.s[0]);
}

static void test_hlc(void)
{
    hx_hlc_t c;
    hx_hlc_init(&c, 1000);
    uint64_t a = hx_hlc_now(&c, 5000), b = hx_hlc_now(&c, 5000), d = hx_hlc_now(&c, 4000);
    CHECK(a < b && b < d); /* strictly increasing, even when the wall clock steps back */
    CHECK_INT(hx_hlc_observe(&c, hx_hlc_make(5500, 3), 5000), 0);
    CHECK(hx_hlc_now(&c, 5000) > hx_hlc_make(5500, 3));
    uint64_t before = c.last;
    CHECK_INT(hx_hlc_observe(&c, hx_hlc_make(9000, 0), 5000), HX_ERANGE); /* drift guard */
    CHECK(c.last == before);
    CHECK_INT(c.drift_rejects, 1);
    hx_hlc_seed(&c, hx_hlc_make(7000, 0));
    CHECK(hx_hlc_now(&c, 5000) > hx_hlc_make(7000, 0));
}

/* The direct text writer gives the bytes json_dumps gives for the JSON
 * form, over seeded random histories (joins, deletes, siblings) and values
 * that need escaping. */
static int same_text(const hx_mcrdt_t *st)
{
    json_t *j = NULL;
    hx_mcrdt_to_json(st, &j);
    char *want = json_dumps(j, JSON_COMPACT);
    hx_buf_t b = HX_BUF_INIT;
    int ok = hx_mcrdt_to_text(st, &b) == 0 && want && strcmp(hx_buf_cstr(&b), want) == 0;
    if (!ok)
        fprintf(stderr, "text mismatch:\n  json %s\n  text %s\n", want, hx_buf_cstr(&b));
    free(want);
    json_decref(j);
    hx_buf_free(&b);
    return ok;
}

static void test_text_equals_json(void)
{
    rng_state = 77;
    replica_t r[2];
    memset(r, 0, sizeof r);
    for (int k = 0; k < 2; k++) {
        hx_hlc_init(&r[k].hlc, 0);
        snprintf(r[k].node, sizeof r[k].node, "n%d", k);
    }
    int mismatches = 0;
    for (int step = 0; step < 400; step++) {
        replica_t *w = &r[rnd() % 2], *o = w == &r[0] ? &r[1] : &r[0];
        int id = (int)(rnd() % IDS);
        hx_mcrdt_t *d = random_write(w, id, 1000 + step);
        if (!d)
            continue;
        mismatches += !same_text(d);
        apply(w, d, HX_CRDT_MERGE_ALL);
        if (rnd() % 2)
            apply(o, d, HX_CRDT_MERGE_ALL);
        hx_mcrdt_free(d);
        if (w->s[id])
            mismatches += !same_text(w->s[id]);
    }
    /* escapes, unicode, NUL, nested values, access counters */
    hx_stamp_t st = {.hlc = 5};
    snprintf(st.node, sizeof st.node, "n\"1");
    json_t *body = json_pack("{s:s,s:s,s:s%,s:[s,s],s:{s:o,s:[i,f,b,n]},s:[{s:s}],s:s}", "id", "e-1", "user_id",
                             "u\\1", "content", "q\"b\\s/\x01\x1f\n\t\r\b\f \xc3\xa9 \xe2\x80\xa8 \x7f x\0y", 23,
                             "tags", "t\x02", "tag two", "metadata", "k\"", json_pack("{s:s}", "deep", "\x05"),
                             "arr", 1, 2.5, 1, "entities", "name", "\xf0\x9f\x98\x80", "summary", "s/s");
    /* past the text writer's own nesting (jansson writes the depths below), negative, empty, false */
    json_object_set_new(json_object_get(body, "metadata"), "nest",
                        json_loads("{\"a\":{\"b\":[{\"c\":[[{\"d\":-3,\"e\":[1.5]}]]}]},\"z\":false,\"o\":{},"
                                   "\"l\":[],\"m\":-9223372036854775807,\"t\":true}",
                                   0, NULL));
    hx_mcrdt_t *e = NULL;
    hx_err_t err = {0};
    CHECK_INT(create_delta_json(NULL, "ten-1", body, &st, &e, &err), 0);
    if (e) {
        CHECK_INT(hx_counter_set(e, "n\"1", 42), 0);
        mismatches += !same_text(e);
        hx_buf_t b = HX_BUF_INIT;
        CHECK_INT(hx_mop_to_text("n\"1", 3, 5, 1700000000000000, e, &b), 0);
        json_t *dj = NULL;
        hx_mcrdt_to_json(e, &dj);
        json_t *op = json_pack("{s:s,s:I,s:I,s:I,s:o}", "o", "n\"1", "s", (json_int_t)3, "h", (json_int_t)5, "w",
                               (json_int_t)1700000000000000, "d", dj);
        char *want = json_dumps(op, JSON_COMPACT);
        CHECK_STR(hx_buf_cstr(&b), want);
        free(want);
        json_decref(op);
        hx_buf_free(&b);
        hx_mcrdt_t *del = hx_mcrdt_new("t", "gone");
        del->del = st;
        mismatches += !same_text(del);
        hx_mcrdt_free(del);
    }
    hx_mcrdt_free(e);
    json_decref(body);
    CHECK_INT(mismatches, 0);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < IDS; i++)
            hx_mcrdt_free(r[k].s[i]);
}

int main(void)
{
    RUN(test_hlc);
    RUN(test_codec_roundtrip_and_errors);
    RUN(test_text_equals_json);
    RUN(test_join_laws);
    RUN(test_convergence_merge_all);
    RUN(test_convergence_lww);
    RUN(test_conflict_merge_all);
    RUN(test_conflict_lww);
    RUN(test_remove_wins_and_add_wins);
    return HX_TEST_DONE();
}
