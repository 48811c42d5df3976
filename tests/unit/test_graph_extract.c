/* Entity extraction on conversational English: what must be found, what
 * must not (sentence-initial words, interjections, pronouns), the
 * dictionary's rules, and the ops a message turns into. */
#include "graph/extract/extract.h"
#include "../hx_test.h"

#include <math.h>

static hx_graph_extractor_t *x;

/* "type:name" for every entity of text, space-separated, in order. */
static const char *found(const char *text)
{
    static char out[4096];
    hx_graph_found_t f[64];
    size_t n = 0;
    hx_err_t e = {0};
    out[0] = 0;
    if (hx_graph_extract_entities(x, text, f, 64, &n, &e))
        return "ERROR";
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%s:%s", i ? " | " : "", f[i].type, f[i].name);
    return out;
}

#define EXPECT(text, want) CHECK_STR(found(text), want)

static void test_not_entities(void)
{
    /* interjections, greetings, pronouns, sentence-initial words */
    EXPECT("Wow, thanks! That makes sense.", "");
    EXPECT("Thanks, that worked!", "");
    EXPECT("Great, I'll go with that.", "");
    EXPECT("That's a great question! It depends on your use case.", "");
    EXPECT("Hmm, I don't know. Maybe we should ask the team first.", "");
    EXPECT("Oh no, the server crashed again. Who restarted it?", "");
    EXPECT("Honestly I'm not sure. Yes. No. Okay. Sure! Please do.", "");
    EXPECT("Let me know if you need anything else!", "");
    EXPECT("It's been a long day. Anyway, what's next?", "");
    EXPECT("## Next Steps\n**Important:** back up the database first.", "");
    EXPECT("Mark the calendar for January 15, 2025.", ""); /* a verb at the start, a date */
    EXPECT("This is why I love the Internet. We speak English and French.", "");
    EXPECT("lol ok whatever you say", "");
    EXPECT("Please don't use node for that, go ahead.", ""); /* ordinary words */
    EXPECT("The API returned Python-ish garbage, FYI.", "technology:Python"); /* acronyms need the dictionary */
    EXPECT("We shipped it in Q3 with V2 of the schema.", "");
}

static void test_people_and_orgs(void)
{
    EXPECT("I'll ask Sarah about it tomorrow.", "person:Sarah");
    EXPECT("OK so my manager John Smith wants the report by Friday.", "person:John Smith");
    EXPECT("Should Alice Chen move the schema of PostgreSQL before Friday?",
           "person:Alice Chen | technology:PostgreSQL");
    EXPECT("Sarah said it's fine.", "person:Sarah");
    EXPECT("Alice, can you confirm?", "person:Alice");
    EXPECT("Thank you so much, Alex!", "person:Alex");
    EXPECT("Can Alice and Bob join the call with Dana?", "person:Alice | person:Bob | person:Dana");
    EXPECT("Did you see what Elon Musk tweeted?", "person:Elon Musk");
    EXPECT("Yesterday I talked to J. R. Smith about it.", "person:J. R. Smith");
    EXPECT("Yes, Dr. Weber agreed.", "person:Weber");
    EXPECT("I work at Google and Maria works for Acme Corp in New York.",
           "organization:Google | person:Maria | organization:Acme Corp | place:New York");
    EXPECT("They met at the University of California in Los Angeles.",
           "organization:University of California | place:Los Angeles");
    EXPECT("Bank of England raised rates.", "organization:Bank of England");
    EXPECT("We fly from London with British Airways.", "place:London | organization:British Airways");
    EXPECT("Alice's laptop broke.", "person:Alice");
}

static void test_technology_places_contacts(void)
{
    EXPECT("Hey, can you help me set up Kubernetes on AWS?",
           "technology:Kubernetes | technology:Amazon Web Services");
    EXPECT("Sure! First, install kubectl and make sure Docker is running.", "technology:kubectl | technology:Docker");
    EXPECT("What do you think about Python vs Rust for this?", "technology:Python | technology:Rust");
    EXPECT("i think we should use redis and postgres tbh", "technology:Redis | technology:PostgreSQL");
    EXPECT("In my experience the Go runtime is fine.", "technology:Go");
    EXPECT("Go ahead and try it.", ""); /* "=Go": never a sentence's first word */
    EXPECT("Migrate MySQL to Postgres, then Jenkins to GitHub Actions.",
           "technology:MySQL | technology:PostgreSQL | technology:Jenkins | technology:GitHub Actions");
    EXPECT("Use Node.js 20 instead.", "technology:Node.js");
    EXPECT("The WHO said who knows what.", "organization:World Health Organization");
    EXPECT("Can we use getUserById or user_service.fetch() here?",
           "technology:getUserById | technology:user_service.fetch");
    EXPECT("`latency_profile(12)` returns the timeout for Redis.",
           "technology:latency_profile | technology:Redis");
    EXPECT("Agreed: Marcus Weber will ship the fix to KafkaCluster in release 2.3.",
           "person:Marcus Weber | technology:KafkaCluster");
    EXPECT("The new iPhone and ChatGPT are everywhere.", "product:iPhone | product:ChatGPT");
    EXPECT("Email me at Jane.Doe@Example.com or see https://example.com/docs/.",
           "email:jane.doe@example.com | url:https://example.com/docs");
    EXPECT("I met Elena Petrova at the Neo4j meetup in Tokyo last Tuesday.",
           "person:Elena Petrova | technology:Neo4j | place:Tokyo");
    EXPECT("```\nclass FooBar: pass\n```\nDone.", ""); /* code blocks are not conversation */
    /* repeats count, aliases fold into the canonical name */
    hx_graph_found_t f[8];
    size_t n;
    CHECK_INT(hx_graph_extract_entities(x, "Postgres is slow. PostgreSQL tuning helps postgres.", f, 8, &n, NULL), 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(f[0].name, "PostgreSQL");
        CHECK_INT(f[0].count, 3);
        CHECK(f[0].confidence >= 0.9);
    }
}

static void test_dictionary_rules(void)
{
    xd_t d;
    hx_err_t e = {0};
    const char *dup = "[technology]\nRedis\n[product]\nredis\n";
    CHECK_INT(xd_load(&d, dup, strlen(dup), &e), HX_EEXIST);
    CHECK_CONTAINS(e.msg, "listed twice");
    const char *bad = "[nonsense]\nx\n";
    CHECK_INT(xd_load(&d, bad, strlen(bad), &e), HX_EINVAL);
    CHECK_CONTAINS(e.msg, "line 1");
    const char *orphan = "# c\nRedis\n";
    CHECK_INT(xd_load(&d, orphan, strlen(orphan), &e), HX_EINVAL);
    CHECK_CONTAINS(e.msg, "line 2");
    const char *ok = "[technology]\nMySQL\n~Redis\nNode\n=Go\nAWS\n[stopwords]\nHi, Hello\n";
    CHECK_INT(xd_load(&d, ok, strlen(ok), &e), 0);
    CHECK_INT(xd_find(&d, "mysql")->mode, XM_ANY);
    CHECK_INT(xd_find(&d, "redis")->mode, XM_ANY);
    CHECK_INT(xd_find(&d, "node")->mode, XM_CAP);
    CHECK_INT(xd_find(&d, "go")->mode, XM_EXACT);
    CHECK_INT(xd_find(&d, "aws")->mode, XM_UPPER);
    CHECK(xd_word(&d, XW_STOP, "HELLO", 5));
    xd_free(&d);
    /* the built-in file loads (no duplicates, no unknown sections) */
    CHECK(x != NULL);
    CHECK(x->dict.n > 500);
}

static const hx_graph_op_t *find_op(const hx_graph_ops_t *o, hx_graph_op_kind_t k, const char *a, const char *b)
{
    for (size_t i = 0; i < o->n; i++) {
        const hx_graph_op_t *op = &o->ops[i];
        if (op->kind != k)
            continue;
        if (k == HX_GRAPH_OP_ENTITY_UPSERT && !strcmp(op->name, a))
            return op;
        if (k == HX_GRAPH_OP_REL_UPSERT && !strcmp(op->rel_type, a) &&
            (!b || !strcmp(op->from, b) || !strcmp(op->to, b)))
            return op;
    }
    return NULL;
}

static void test_message_ops(void)
{
    hx_graph_message_t m = {.tenant = "t1", .conversation_id = "conv-1", .user_id = "u-9",
                            .content = "Alice Chen moved Redis to Berlin on 2024-06-12 with 3 replicas. "
                                       "Nothing else happened. Later Bob Li asked about Redis.",
                            .ts_ms = 1234};
    hx_graph_ops_t o = {0};
    hx_err_t e = {0};
    CHECK_INT(hx_graph_extract_message(x, &m, &o, &e), 0);
    char alice[17], redis[17], bob[17], berlin[17], conv[17], user[17];
    hx_graph_entity_id("t1", "person", "Alice Chen", alice);
    hx_graph_entity_id("t1", "technology", "Redis", redis);
    hx_graph_entity_id("t1", "person", "Bob Li", bob);
    hx_graph_entity_id("t1", "place", "Berlin", berlin);
    hx_graph_entity_id("t1", "conversation", "conv-1", conv);
    hx_graph_entity_id("t1", "user", "u-9", user);
    const hx_graph_op_t *r = find_op(&o, HX_GRAPH_OP_ENTITY_UPSERT, "Redis", NULL);
    CHECK(r != NULL);
    if (r) {
        CHECK_STR(r->id, redis);
        CHECK_INT(r->mentions, 2);
        CHECK_INT(r->ts_ms, 1234);
        char *p = r->properties ? json_dumps(r->properties, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        CHECK_STR(p ? p : "", "{\"dates\":[\"2024-06-12\"],\"numbers\":[\"3\"]}");
        free(p);
    }
    const hx_graph_op_t *c = find_op(&o, HX_GRAPH_OP_ENTITY_UPSERT, "conv-1", NULL);
    CHECK(c && !strcmp(c->label, HX_GRAPH_LABEL_CONVERSATION) && !strcmp(c->id, conv));
    const hx_graph_op_t *u = find_op(&o, HX_GRAPH_OP_ENTITY_UPSERT, "u-9", NULL);
    CHECK(u && !strcmp(u->label, HX_GRAPH_LABEL_USER) && !strcmp(u->id, user));
    /* co-occurrence: same sentence 1.0, two sentences apart 0.5, ordered by id */
    int seen_same = 0, seen_window = 0, seen_far = 0;
    for (size_t i = 0; i < o.n; i++) {
        const hx_graph_op_t *op = &o.ops[i];
        if (op->kind != HX_GRAPH_OP_REL_UPSERT || strcmp(op->rel_type, HX_GRAPH_REL_CO_OCCURS))
            continue;
        CHECK(strcmp(op->from, op->to) < 0);
        int ar = (!strcmp(op->from, alice) && !strcmp(op->to, redis)) || (!strcmp(op->to, alice) && !strcmp(op->from, redis));
        int ab = (!strcmp(op->from, alice) && !strcmp(op->to, bob)) || (!strcmp(op->to, alice) && !strcmp(op->from, bob));
        int bb = (!strcmp(op->from, berlin) && !strcmp(op->to, bob)) || (!strcmp(op->to, berlin) && !strcmp(op->from, bob));
        if (ar)
            seen_same += op->strength == 1.0;
        if (ab)
            seen_window += op->strength == 0.5;
        if (bb)
            seen_far++;
    }
    CHECK_INT(seen_same, 1);
    CHECK_INT(seen_window, 1); /* sentences 0 and 2: inside the default window of 3 */
    CHECK_INT(seen_far, 1);
    const hx_graph_op_t *mi = find_op(&o, HX_GRAPH_OP_REL_UPSERT, HX_GRAPH_REL_MENTIONED_IN, redis);
    CHECK(mi && !strcmp(mi->to, conv) && mi->strength == 2.0);
    const hx_graph_op_t *mm = find_op(&o, HX_GRAPH_OP_REL_UPSERT, HX_GRAPH_REL_MENTIONS, bob);
    CHECK(mm && !strcmp(mm->from, user) && mm->strength == 1.0);
    for (size_t i = 0; i < o.n; i++)
        CHECK_INT(hx_graph_op_validate(&o.ops[i], "op", &e), 0);
    /* deterministic: the same message gives the same ops */
    hx_graph_ops_t o2 = {0};
    CHECK_INT(hx_graph_extract_message(x, &m, &o2, &e), 0);
    CHECK_INT(o2.n, o.n);
    for (size_t i = 0; i < o.n && i < o2.n; i++)
        CHECK(o.ops[i].kind == o2.ops[i].kind && !strcmp(o.ops[i].kind == HX_GRAPH_OP_REL_UPSERT ? o.ops[i].from : o.ops[i].id,
                                                         o2.ops[i].kind == HX_GRAPH_OP_REL_UPSERT ? o2.ops[i].from : o2.ops[i].id));
    hx_graph_ops_free(&o);
    hx_graph_ops_free(&o2);
    /* a window of 1 keeps only same-sentence pairs */
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    cfg.graph.extract.window_sentences = 1;
    hx_graph_extractor_t *x1;
    CHECK_INT(hx_graph_extractor_new(&cfg, &x1, &e), 0);
    hx_graph_ops_t o3 = {0};
    CHECK_INT(hx_graph_extract_message(x1, &m, &o3, &e), 0);
    CHECK(find_op(&o3, HX_GRAPH_OP_REL_UPSERT, HX_GRAPH_REL_CO_OCCURS, bob) != NULL); /* Bob - Redis, one sentence */
    int far = 0;
    for (size_t i = 0; i < o3.n; i++)
        far += o3.ops[i].kind == HX_GRAPH_OP_REL_UPSERT && o3.ops[i].strength == 0.5;
    CHECK_INT(far, 0);
    hx_graph_ops_free(&o3);
    hx_graph_extractor_free(x1);
}

static void test_limits(void)
{
    /* more entities than max_entities: the most frequent are kept */
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    cfg.graph.extract.max_entities = 2;
    hx_graph_extractor_t *x2;
    hx_err_t e = {0};
    CHECK_INT(hx_graph_extractor_new(&cfg, &x2, &e), 0);
    hx_graph_found_t f[8];
    size_t n;
    CHECK_INT(hx_graph_extract_entities(x2, "Redis and Kafka and Redis, then Docker and Kafka.", f, 8, &n, &e), 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(f[0].name, "Redis");
        CHECK_STR(f[1].name, "Apache Kafka");
    }
    hx_graph_extractor_free(x2);
    /* huge, binary and empty inputs */
    char *big = malloc(200000);
    for (int i = 0; i < 199999; i++)
        big[i] = "Ab Cd. \n`x\"@:/"[i % 15];
    big[199999] = 0;
    CHECK_INT(hx_graph_extract_entities(x, big, f, 8, &n, &e), 0);
    free(big);
    CHECK_INT(hx_graph_extract_entities(x, "", f, 8, &n, &e), 0);
    CHECK_INT(n, 0);
    CHECK_INT(hx_graph_extract_entities(x, "\xff\xfe Caf\xc3\xa9 \xc3\x89mile Zola", f, 8, &n, &e), 0);
}

/* The memory.delta text reader gives what the jansson path takes from the
 * same text: per live state its tenant, user and newest live content. */
static void test_memory_delta_text(void)
{
    const char *d =
        "{\"ops\":[{\"o\":\"n1\",\"s\":1,\"h\":7,\"w\":9,\"d\":{\"id\":\"m1\",\"tenant\":\"acme\","
        "\"ident\":[111,\"n1\",{\"type\":\"fact\",\"user_id\":\"u\\u00e9\"}],\"f\":{\"importance\":[5,\"n1\",0.5]},"
        "\"content\":{\"live\":[[112589990684262401,\"n1\",\"old\"],[112589990684262403,\"n2\",\"Alice uses Rust\"],"
        "[112589990684262402,\"n1\",\"mid\"],[9,\"n3\",{\"x\":1}]],\"dead\":[[3,\"n1\"]]},"
        "\"tags\":{\"auth\":{\"live\":[[1,\"n1\"]],\"dead\":[]}}}},"
        "{\"o\":\"n1\",\"s\":2,\"h\":8,\"w\":9,\"d\":{\"id\":\"m2\",\"tenant\":\"acme\",\"del\":[8,\"n1\"]}},"
        "{\"d\":{\"id\":\"m3\",\"content\":{\"live\":[[1,\"n1\",\"no tenant\"]]}}},"
        "{\"d\":{\"id\":\"m4\",\"tenant\":\"t2\",\"content\":{\"live\":[[1.5,\"n1\",\"real hlc\"],[2,\"n1\",\"Bob\"]]}}}]}";
    xt_memop_t *mo;
    size_t n;
    CHECK_INT(xt_memory_text(d, strlen(d), &mo, &n), 0);
    CHECK_INT((int)n, 2);
    if (n == 2) {
        CHECK_STR(mo[0].tenant, "acme");
        CHECK_STR(mo[0].user, "u\xc3\xa9");
        CHECK_STR(mo[0].content, "Alice uses Rust");
        CHECK_STR(mo[1].tenant, "t2");
        CHECK(mo[1].user == NULL);
        CHECK_STR(mo[1].content, "Bob");
    }
    xt_memops_free(mo, n);
    static const char *const refused[] = {
        "{\"ops\":[{\"d\":{\"tenant\":\"a\",\"tenant\":\"b\"}}]}",
        "{\"ops\":[],\"ops\":[]}",
        "{\"ops\":[{\"d\":{\"tenant\":\"a\",\"content\":{\"live\":[[99999999999999999999,\"n\",\"x\"]]}}}]}",
        "{\"ops\":[{\"d\":{\"tenant\":\"a\"}}]",
        "{\"ops\":[]} trailing",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CHECK_INT(xt_memory_text(refused[i], strlen(refused[i]), &mo, &n), HX_EINVAL);
        json_error_t je;
        json_t *j = json_loads(refused[i], JSON_REJECT_DUPLICATES, &je);
        CHECK(j == NULL); /* jansson refuses them too */
        json_decref(j);
    }
}

static void test_message_text(void)
{
    const char *d = "{\"message_id\":\"m1\",\"role\":\"user\",\"content\":\"Alice \\\"Al\\\" uses Rust\","
                    "\"meta\":{\"content\":1},\"user_id\":7,\"created_at\":1714557600123}";
    xt_msg_t m;
    CHECK_INT(xt_message_text(d, strlen(d), &m), 0);
    CHECK_STR(m.content, "Alice \"Al\" uses Rust");
    CHECK_STR(m.role, "user");
    CHECK(m.user == NULL);
    CHECK(m.created_at == 1714557600123LL);
    xt_msg_free(&m);
    const char *r = "{\"content\":\"a\",\"created_at\":1.5}";
    CHECK_INT(xt_message_text(r, strlen(r), &m), 0);
    CHECK(m.created_at == 0);
    xt_msg_free(&m);
    const char *dup = "{\"content\":\"a\",\"content\":\"b\"}";
    CHECK_INT(xt_message_text(dup, strlen(dup), &m), HX_EINVAL);
    const char *bad = "{\"content\":\"a\",}";
    CHECK_INT(xt_message_text(bad, strlen(bad), &m), HX_EINVAL);
}

int main(void)
{
    hx_err_t e = {0};
    if (hx_graph_extractor_new(NULL, &x, &e))
        fprintf(stderr, "extractor: %s\n", e.msg);
    RUN(test_not_entities);
    RUN(test_people_and_orgs);
    RUN(test_technology_places_contacts);
    RUN(test_dictionary_rules);
    RUN(test_message_ops);
    RUN(test_limits);
    RUN(test_memory_delta_text);
    RUN(test_message_text);
    hx_graph_extractor_free(x);
    return HX_TEST_DONE();
}
