/* The graph event codec's fast paths against what they replaced: the
 * encoder's bytes for varied ops are pinned (the frames the jansson-based
 * encoder wrote, hashed), the properties writer and reader give what
 * json_dumps / json_loadb give, "%.17g" is printf's, and the frame reader
 * refuses what the envelope decoder refuses. Fixed seeds. */
#include "graph/graph_int.h"
#include "helix/hx_hash.h"
#include "../hx_test.h"

#include <math.h>

/* varied ops for the encoder's golden test */
static const char *al1[] = {"Al \"the\" one", "A\\B", "\xc3\xa9t\xc3\xa9 \xe4\xb8\xad", "tab\there"};
static const char *al2[] = {"x"};
static hx_graph_op_t *golden_ops(size_t *n, json_t **props, size_t *np)
{
    static hx_graph_op_t ops[32];
    size_t k = 0, p = 0;
    props[p++] = json_pack("{s:[s,s]}", "numbers", "16", "7");
    props[p++] = json_pack("{s:[s],s:[s,s,s]}", "numbers", "3", "dates", "2024-01-05", "May 3", "Friday");
    props[p++] = json_pack("{s:s,s:I,s:b,s:b,s:n,s:[i,i,i],s:[b,b],s:[]}", "zeta", "v\"q\\", "alpha", (json_int_t)-9007199254740993LL,
                           "t", 1, "f", 0, "nothing", "ints", 1, -2, 3, "bools", 1, 0, "empty");
    props[p++] = json_pack("{s:s,s:s,s:s}", "u", "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80", "ctrl", "a\nb\t\x01\x1f", "slash", "a/b");
    props[p++] = json_pack("{s:f,s:f,s:[f,f],s:f}", "r", 0.1, "big", 1e300, "rs", 1.5, -0.25, "whole", 2.0);
    props[p++] = json_pack("{s:s,s:s,s:s,s:s}", "B", "1", "a", "2", "_x", "3", "A_1", "4");
    props[p++] = json_object();
    hx_graph_op_t base = {.tenant = "ten-1", .ts_ms = 1700000000123};
    for (size_t i = 0; i < p; i++) {
        hx_graph_op_t e = base;
        e.kind = HX_GRAPH_OP_ENTITY_UPSERT;
        static char ids[16][8];
        snprintf(ids[i], sizeof ids[i], "e%zu", i);
        e.id = ids[i];
        e.label = i % 3 == 0 ? "Entity" : i % 3 == 1 ? "User" : NULL;
        e.type = i % 2 ? "technology" : "person";
        e.name = i % 4 == 3 ? NULL : "N\xc3\xa9 \"q\" \\ x";
        e.description = i % 3 == 2 ? "line1\nline2 \xe2\x80\xa8" : NULL;
        e.aliases = i % 2 ? al1 : al2;
        e.n_aliases = i % 2 ? 4 : i % 4 == 0 ? 1 : 0;
        e.properties = props[i];
        e.mentions = (int64_t)(i * 37 % 5);
        static const double conf[] = {0.9, 0.5, 1.0, 0.3333333333333333, 0.0001, 0.7000000000000001, 0.85};
        e.confidence = conf[i % 7];
        e.ts_ms = base.ts_ms + (int64_t)i * 11 - 30;
        ops[k++] = e;
    }
    static const double str[] = {1, 0.5, 2.5, 1e12, 0.30000000000000004, 123456789012, 3};
    static const char *froms[] = {"e0", "e1", "e2", "e3", "e4", "e5", "e6"};
    for (size_t i = 0; i < 7; i++) {
        hx_graph_op_t r = base;
        r.kind = i == 6 ? HX_GRAPH_OP_REL_DELETE : HX_GRAPH_OP_REL_UPSERT;
        r.from = froms[i];
        r.to = froms[(i + 3) % 7];
        r.rel_type = i % 2 ? "CO_OCCURS" : "MENTIONED_IN";
        r.strength = str[i];
        r.strength_set = i == 2;
        r.properties = i == 1 ? props[0] : i == 4 ? props[2] : NULL;
        r.ts_ms = base.ts_ms + (int64_t)i;
        ops[k++] = r;
    }
    ops[k++] = (hx_graph_op_t){.kind = HX_GRAPH_OP_ENTITY_DELETE, .tenant = "ten-1", .ts_ms = 5, .id = "e3"};
    ops[k++] = (hx_graph_op_t){.kind = HX_GRAPH_OP_ENTITY_MERGE, .tenant = "ten-1", .ts_ms = 6, .id = "e4", .into = "e5"};
    ops[k++] = (hx_graph_op_t){.kind = HX_GRAPH_OP_ENTITY_DELETE, .tenant = "ten-1", .ts_ms = 7, .id = "x:y@z.w-1"};
    ops[k++] = (hx_graph_op_t){.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = "ten-1", .ts_ms = 8, .id = "e0",
                               .mentions = 0, .confidence = 1.0};
    ops[k++] = (hx_graph_op_t){.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = "ten-1", .ts_ms = 9, .id = "e0",
                               .mentions = 0, .confidence = 0.25};
    *n = k;
    *np = p;
    return ops;
}

/* Every record of an encode of ops, one line each: what a reader sees. */
static void golden_text(const hx_graph_op_t *ops, size_t n, int32_t parts, hx_buf_t *out)
{
    hx_graph_encode_opts_t eo = {.source = "node-1", .partitions = parts, .src = "helixagent.conversations/4", .src_seq = 123456};
    hx_graph_records_t rec;
    hx_err_t e = {0};
    if (hx_graph_events_encode(ops, n, &eo, &rec, &e)) {
        hx_buf_printf(out, "ERROR %s\n", e.msg);
        return;
    }
    for (size_t i = 0; i < rec.n; i++) {
        const hx_msg_t *m = &rec.msgs[i];
        hx_buf_printf(out, "%s p%d key=%.*s frame=", m->topic, m->partition, (int)m->key_len, (const char *)m->key);
        for (size_t j = 0; j < m->value_len; j++)
            hx_buf_printf(out, "%02x", ((const unsigned char *)m->value)[j]);
        hx_buf_printf(out, "\n");
    }
    hx_graph_records_free(&rec);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Frames of 1, 3 and 8 partitions, as the encoder before the fast paths
 * (json_dumps of properties, snprintf of numbers, a frame per record) wrote
 * them with main's jansson-style string escapes (that text's hash and
 * length; a change prints the text). */
static void test_encode_bytes(void)
{
    json_t *props[16];
    size_t n, np;
    hx_graph_op_t *ops = golden_ops(&n, props, &np);
    static const int32_t parts[] = {1, 3, 8};
    hx_buf_t b = HX_BUF_INIT;
    for (int i = 0; i < 3; i++)
        golden_text(ops, n, parts[i], &b);
    CHECK_INT(b.len, 23289);
    CHECK_INT(hx_hash64(b.data, b.len), 0xf313d6548edd7f28ull);
    if (b.len != 23289)
        fprintf(stderr, "%.*s\n", (int)b.len, (const char *)b.data);
    hx_buf_free(&b);
    /* what the hash pins, readably: sorted keys, jansson's numbers and escapes */
    hx_graph_records_t rec;
    hx_err_t e = {0};
    hx_graph_encode_opts_t eo = {.source = "node-1", .partitions = 1};
    CHECK_INT(hx_graph_events_encode(&ops[2], 1, &eo, &rec, &e), 0);
    hx_envelope_view_t v;
    CHECK_INT(hx_envelope_peek(rec.msgs[0].value, rec.msgs[0].value_len, &v, &e), 0);
    char *data = strndup(v.data, v.data_len);
    CHECK_STR(data, "{\"entities\":[{\"id\":\"e2\",\"type\":\"person\",\"name\":\"N\xc3\xa9 \\\"q\\\" \\\\ x\","
                    "\"description\":\"line1\\nline2 \xe2\x80\xa8\",\"properties\":{\"alpha\":-9007199254740993,"
                    "\"bools\":[true,false],\"empty\":[],\"f\":false,\"ints\":[1,-2,3],\"nothing\":null,\"t\":true,"
                    "\"zeta\":\"v\\\"q\\\\\"},\"mentions\":4,\"confidence\":1}]}");
    free(data);
    hx_graph_records_free(&rec);
    CHECK_INT(hx_graph_events_encode(&ops[3], 2, &eo, &rec, &e), 0);
    CHECK_INT(hx_envelope_peek(rec.msgs[0].value, rec.msgs[0].value_len, &v, &e), 0);
    data = strndup(v.data, v.data_len);
    CHECK_CONTAINS(data, "\"properties\":{\"ctrl\":\"a\\nb\\t\\u0001\\u001F\",\"slash\":\"a/b\",\"u\":\"\xc3\xa9");
    CHECK_CONTAINS(data, "\"confidence\":0.33333333333333331}");
    CHECK_CONTAINS(data, "\"properties\":{\"big\":1.0000000000000001e300,\"r\":0.10000000000000001,"
                         "\"rs\":[1.5,-0.25],\"whole\":2.0}");
    CHECK_CONTAINS(data, "\"confidence\":0.0001}");
    free(data);
    hx_graph_records_free(&rec);

    /* and every record decodes back to its ops */
    eo = (hx_graph_encode_opts_t){.source = "node-1", .partitions = 3, .src = "helixagent.memory.events/1",
                                  .src_seq = 9};
    CHECK_INT(hx_graph_events_encode(ops, n, &eo, &rec, &e), 0);
    size_t seen = 0;
    for (int32_t p = 0; p < 3; p++) {
        size_t k = 0;
        for (size_t r = 0; r < rec.n; r++) {
            if (rec.msgs[r].partition != p)
                continue;
            hx_graph_ops_t back = {0};
            char src[64];
            int64_t seq = 0;
            CHECK_INT(hx_graph_events_decode(rec.msgs[r].value, rec.msgs[r].value_len, &back, src, sizeof src, &seq,
                                             &e), 0);
            CHECK_STR(src, "helixagent.memory.events/1");
            CHECK(seq >> 16 == 9);
            for (size_t j = 0; j < back.n; j++, seen++) {
                const hx_graph_op_t *a = NULL;
                for (; k < n && !a; k++) {
                    const char *key = ops[k].kind >= HX_GRAPH_OP_REL_UPSERT ? ops[k].from : ops[k].id;
                    if (hx_partition_for_key(key, strlen(key), 3) == (uint32_t)p)
                        a = &ops[k];
                }
                const hx_graph_op_t *b2 = &back.ops[j];
                CHECK(a != NULL);
                if (!a)
                    break;
                CHECK_INT(b2->kind, a->kind);
                CHECK_STR(b2->tenant, a->tenant);
                if (a->kind == HX_GRAPH_OP_ENTITY_UPSERT)
                    CHECK(b2->confidence == a->confidence);
                if (a->kind == HX_GRAPH_OP_REL_UPSERT)
                    CHECK(b2->strength == a->strength && b2->strength_set == a->strength_set);
                CHECK(b2->mentions == a->mentions && b2->n_aliases == a->n_aliases);
                CHECK((!a->properties && !b2->properties) || json_equal(a->properties, b2->properties));
                if (a->name)
                    CHECK_STR(b2->name, a->name);
            }
            hx_graph_ops_free(&back);
        }
    }
    CHECK_INT(seen, n);
    hx_graph_records_free(&rec);
    for (size_t i = 0; i < np; i++)
        json_decref(props[i]);
}

/* A random property value: what the extractor makes and what producers may send. */
static json_t *rand_value(int depth)
{
    static const char *strs[] = {"16", "", "a\"b", "back\\slash", "\xc3\xa9\xe4\xb8\xad", "\xf0\x9f\x98\x80", "nl\n",
                                 "\x01", "slash/", "2024-01-05", "\x7f", "tab\t"};
    switch (next() % (depth ? 7 : 9)) {
    case 0: return json_string(strs[next() % 12]);
    case 1: return json_integer((json_int_t)(next() % 2000001) - 1000000);
    case 2: return json_integer((json_int_t)next());
    case 3: return json_real((double)(int64_t)(next() % 2001 - 1000) / 8.0);
    case 4: return json_boolean(next() % 2);
    case 5: return json_null();
    case 6: return json_real(ldexp((double)(next() >> 11), (int)(next() % 200) - 100));
    case 7: {
        json_t *a = json_array();
        for (int i = 0, n = (int)(next() % 4); i < n; i++)
            json_array_append_new(a, rand_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        json_object_set_new(o, "in", rand_value(depth + 1));
        return o;
    }
    }
}

static json_t *rand_props(void)
{
    static const char *keys[] = {"numbers", "dates", "a", "B", "_z", "k1", "k_2", "Z", "aa", "ab", "\xc3\xa9", "n l\n"};
    json_t *o = json_object();
    for (int i = 0, n = (int)(next() % 6); i < n; i++)
        json_object_set_new(o, keys[next() % 12], rand_value(0));
    return o;
}

static void test_props_writer(void)
{
    for (int i = 0; i < 20000; i++) {
        json_t *p = rand_props();
        char *want = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS), *got = hx_graph_props_dump(p);
        CHECK_STR(got, want);
        free(want);
        free(got);
        json_decref(p);
    }
}

/* Reading gives jansson's tree (types included) or defers to it. */
static int same_tree(const json_t *a, const json_t *b)
{
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        const char *k;
        json_t *v;
        void *ib = json_object_iter((json_t *)b);
        json_object_foreach((json_t *)a, k, v) {
            if (!ib || strcmp(k, json_object_iter_key(ib)) || !same_tree(v, json_object_iter_value(ib)))
                return 0; /* the same order too */
            ib = json_object_iter_next((json_t *)b, ib);
        }
        return 1;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_tree(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    return json_equal(a, b);
}

static void test_props_reader(void)
{
    static const char *texts[] = {
        "{\"numbers\":[\"16\",\"7\"]}", "{}", " { \"a\" : [ 1 , 2 ] , \"b\" : \"x\" } ", "{\"a\":1,\"a\":2}",
        "{\"a\":1.50,\"b\":-0,\"c\":1e2,\"d\":1E-2,\"e\":123456789012345678}", "{\"a\":1e400}", "{\"a\":01}",
        "{\"a\":\"\\u00e9\\ud83d\\ude00\\n\\/\"}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}", "{\"a\":[[1]]}",
        "{\"a\":{\"b\":1}}", "{\"a\":[{\"b\":1}]}", "{\"a\":tru}", "{\"a\":1,}", "{\"a\":1} x", "{\"a\" 1}",
        "{\"a\":\"\xff\"}", "{\"a\":null,\"b\":true,\"c\":false,\"d\":[]}", "{\"\":1}", "{\"a\":-}",
        "{\"k\":123456789012345}", "{\"k\":1234567890123456}", "{\"k\":-9223372036854775809}", "{\"a\":\"\t\"}"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        for (int dup = 0; dup < 2; dup++) {
            size_t flags = dup ? 0 : JSON_REJECT_DUPLICATES;
            json_t *want = json_loads(texts[i], flags, NULL), *got = hx_graph_props_load(texts[i], flags);
            CHECK((!want && !got) || (want && got && same_tree(want, got)));
            if (!((!want && !got) || (want && got && same_tree(want, got))))
                fprintf(stderr, "  text %zu: %s\n", i, texts[i]);
            json_decref(want);
            json_decref(got);
        }
    }
    /* random objects, written by jansson and cut or changed anywhere */
    for (int i = 0; i < 20000; i++) {
        json_t *p = rand_props();
        char *t = json_dumps(p, JSON_COMPACT | (next() % 2 ? JSON_SORT_KEYS : 0));
        size_t n = strlen(t);
        if (i % 3 == 1 && n)
            t[next() % n] = "{}[],:\"\\0e-. x"[next() % 15];
        else if (i % 3 == 2 && n)
            t[next() % n] = 0;
        json_t *want = json_loads(t, JSON_REJECT_DUPLICATES, NULL), *got = hx_graph_props_load(t, JSON_REJECT_DUPLICATES);
        CHECK((!want && !got) || (want && got && same_tree(want, got)));
        json_decref(want);
        json_decref(got);
        free(t);
        json_decref(p);
    }
}

static void test_g17(void)
{
    static const double fixed[] = {0.9, 0.5, 0.75, 0.1, 0.3333333333333333, 1e-4, 9.9999999999999995e-05,
                                   0.99999999999999989, 9999999999999998.0, 1e16, 1e15 + 0.5, 123456.789, 0.7,
                                   0.30000000000000004, 5e-324, 1e300, 2.5};
    long bad = 0;
    char a[48], b[48];
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        for (int s = -1; s <= 1; s += 2)
            for (int d = -2; d <= 2; d++) {
                double v = s * fixed[i];
                for (int k = 0; k < (d < 0 ? -d : d); k++)
                    v = nextafter(v, d < 0 ? 0 : INFINITY);
                hx_graph_fmt_g17(v, a);
                snprintf(b, sizeof b, "%.17g", v);
                bad += strcmp(a, b) != 0;
            }
    for (int i = 0; i < 300000; i++) {
        double v = ldexp((double)(next() >> 11), -(int)(next() % 70));
        if (i % 2)
            v = (double)(next() % 100000000) / (double)(1 + next() % 100000);
        hx_graph_fmt_g17(v, a);
        snprintf(b, sizeof b, "%.17g", v);
        if (strcmp(a, b) && bad++ < 5)
            fprintf(stderr, "  %a: %s != %s\n", v, a, b);
    }
    CHECK_INT(bad, 0);
}

/* A frame as the envelope encoder lays it out, with any field. */
static void frame(hx_buf_t *b, const char *id, const char *type, const char *tenant, int64_t ts, int nh,
                  const char *const *hdr, const char *data)
{
    hx_buf_reset(b);
    hx_buf_put_u8(b, 'H');
    hx_buf_put_u8(b, 1);
    const char *s[5] = {id, type, "src", tenant, "key"};
    for (int i = 0; i < 5; i++)
        hx_buf_put_bytes(b, s[i], strlen(s[i]));
    hx_buf_put_svarint(b, ts);
    hx_buf_put_uvarint(b, 0);
    hx_buf_put_uvarint(b, (uint64_t)nh);
    for (int i = 0; i < 2 * nh; i++)
        hx_buf_put_bytes(b, hdr[i], strlen(hdr[i]));
    hx_buf_put_bytes(b, data, strlen(data));
}

static void test_decode_strict(void)
{
    const char *ok[] = {"hx-src", "helixagent.conversations/1", "hx-src-seq", "655362"};
    const char *dup[] = {"hx-src", "a", "hx-src", "b"};
    const char *badseq[] = {"hx-src", "a", "hx-src-seq", "12x"};
    const char *blank[] = {"hx-src", "", "hx-src-seq", "1"};
    const char *data = "{\"entities\":[{\"id\":\"a\"}]}";
    const struct {
        const char *id, *type, *tenant;
        int64_t ts;
        int nh;
        const char *const *hdr;
        int rc;
        const char *msg;
    } cases[] = {
        {"i", "entity.deleted", "t", 5, 2, ok, 0, ""},
        {"i", "entity.deleted", "t", 5, 0, ok, 0, ""},
        {"", "entity.deleted", "t", 5, 0, ok, HX_ECORRUPT, "field 'id' is required"},
        {"i", "entity.deleted", "bad tenant", 5, 0, ok, HX_ECORRUPT, "field 'tenant' must use only"},
        {"i", "entity.deleted", "", 5, 0, ok, HX_ECORRUPT, "field 'tenant' is required"},
        {"i", "Entity.deleted", "t", 5, 0, ok, HX_ECORRUPT, "field 'type' must use only"},
        {"i", "entity.deleted", "t", -1, 0, ok, HX_ECORRUPT, "field 'ts' must be"},
        {"i", "entity.deleted", "t", 5, 2, dup, HX_ECORRUPT, "appears twice"},
        {"i", "entity.deleted", "t", 5, 2, badseq, HX_EINVAL, "hx-src / hx-src-seq are malformed"},
        {"i", "entity.deleted", "t", 5, 2, blank, HX_EINVAL, "hx-src / hx-src-seq are malformed"},
        {"i", "entity.gone", "t", 5, 0, ok, HX_EINVAL, "event type 'entity.gone' is not a graph event"},
    };
    hx_buf_t b = HX_BUF_INIT;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        frame(&b, cases[i].id, cases[i].type, cases[i].tenant, cases[i].ts, cases[i].nh, cases[i].hdr, data);
        hx_graph_ops_t o = {0};
        char src[64];
        int64_t seq = -1;
        hx_err_t e = {0};
        CHECK_INT(hx_graph_events_decode(b.data, b.len, &o, src, sizeof src, &seq, &e), cases[i].rc);
        CHECK_CONTAINS(e.msg, cases[i].msg);
        if (!cases[i].rc) {
            CHECK_STR(src, cases[i].nh ? "helixagent.conversations/1" : "");
            CHECK_INT(seq, cases[i].nh ? 655362 : 0);
            CHECK(o.n == 1 && !strcmp(o.ops[0].tenant, "t") && o.ops[0].ts_ms == 5);
        }
        hx_graph_ops_free(&o);
        /* every cut of a good frame is refused as corrupt */
        if (i == 0)
            for (size_t cut = 0; cut < b.len; cut++) {
                hx_graph_ops_t c = {0};
                CHECK_INT(hx_graph_events_decode(b.data, cut, &c, NULL, 0, NULL, &e), HX_ECORRUPT);
                hx_graph_ops_free(&c);
            }
    }
    hx_buf_free(&b);
}

int main(void)
{
    RUN(test_encode_bytes);
    RUN(test_props_writer);
    RUN(test_props_reader);
    RUN(test_g17);
    RUN(test_decode_strict);
    return HX_TEST_DONE();
}
