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
            hx_graph_src_t src;
            CHECK_INT(hx_graph_events_decode(rec.msgs[r].value, rec.msgs[r].value_len, &back, &src,
                                             &e), 0);
            CHECK_STR(src.name, "helixagent.memory.events/1");
            CHECK(src.seq >> 16 == 9);
            CHECK(src.runs == NULL);
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
    const char *runs_ok[] = {"hx-src", "helixagent.conversations/1", "hx-src-seq", "655362", "hx-src-runs",
                             "655362:1"};
    const char *runs_count[] = {"hx-src", "a", "hx-src-seq", "7", "hx-src-runs", "7:2"};
    const char *runs_last[] = {"hx-src", "a", "hx-src-seq", "7", "hx-src-runs", "5:1"};
    const char *runs_zero[] = {"hx-src", "a", "hx-src-seq", "7", "hx-src-runs", "7:0"};
    const char *runs_step[] = {"hx-src", "a", "hx-src-seq", "7", "hx-src-runs", "7:1,0:1"};
    const char *runs_junk[] = {"hx-src", "a", "hx-src-seq", "7", "hx-src-runs", "7:1,"};
    const char *runs_sign[] = {"hx-src", "a", "hx-src-seq", "7", "hx-src-runs", "+7:1"};
    const char *runs_alone[] = {"hx-src-runs", "7:1"};
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
        {"i", "entity.deleted", "t", 5, 3, runs_ok, 0, ""},
        {"i", "entity.deleted", "t", 5, 3, runs_count, HX_EINVAL, "hx-src-runs is malformed or does not match"},
        {"i", "entity.deleted", "t", 5, 3, runs_last, HX_EINVAL, "hx-src-runs is malformed or does not match"},
        {"i", "entity.deleted", "t", 5, 3, runs_zero, HX_EINVAL, "hx-src-runs is malformed or does not match"},
        {"i", "entity.deleted", "t", 5, 3, runs_step, HX_EINVAL, "hx-src-runs is malformed or does not match"},
        {"i", "entity.deleted", "t", 5, 3, runs_junk, HX_EINVAL, "hx-src-runs is malformed or does not match"},
        {"i", "entity.deleted", "t", 5, 3, runs_sign, HX_EINVAL, "hx-src-runs is malformed or does not match"},
        {"i", "entity.deleted", "t", 5, 1, runs_alone, HX_EINVAL, "hx-src-runs needs hx-src and hx-src-seq"},
    };
    hx_buf_t b = HX_BUF_INIT;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        frame(&b, cases[i].id, cases[i].type, cases[i].tenant, cases[i].ts, cases[i].nh, cases[i].hdr, data);
        hx_graph_ops_t o = {0};
        hx_graph_src_t src;
        hx_err_t e = {0};
        CHECK_INT(hx_graph_events_decode(b.data, b.len, &o, &src, &e), cases[i].rc);
        CHECK_CONTAINS(e.msg, cases[i].msg);
        if (!cases[i].rc) {
            CHECK_STR(src.name, cases[i].nh ? "helixagent.conversations/1" : "");
            CHECK_INT(src.seq, cases[i].nh ? 655362 : 0);
            CHECK(o.n == 1 && !strcmp(o.ops[0].tenant, "t") && o.ops[0].ts_ms == 5);
            CHECK((src.runs != NULL) == (cases[i].nh == 3));
            size_t done = 9;
            hx_graph_src_applied(&src, 655361, &done);
            CHECK_INT(done, 0);
            hx_graph_src_applied(&src, 655362, &done);
            CHECK_INT(done, cases[i].nh == 3 ? 1 : 0);
        }
        hx_graph_ops_free(&o);
        /* every cut of a good frame is refused as corrupt */
        if (i == 0)
            for (size_t cut = 0; cut < b.len; cut++) {
                hx_graph_ops_t c = {0};
                CHECK_INT(hx_graph_events_decode(b.data, cut, &c, NULL, &e), HX_ECORRUPT);
                hx_graph_ops_free(&c);
            }
    }
    hx_buf_free(&b);
}

/* Envelopes of many source records: each holds one kind, a partition's
 * items of one kind come back in their order, hx-src-runs says which
 * record gave each item, and an envelope closes only between records. */
static void test_encode_runs(void)
{
    enum { NREC = 60, MAXOPS = 400 };
    static hx_graph_op_t ops[MAXOPS];
    static int64_t offs[MAXOPS];
    static char ids[20][8];
    for (int i = 0; i < 20; i++)
        snprintf(ids[i], sizeof ids[i], "e%02d", i);
    rng = 42; /* fixed seed */
    size_t n = 0;
    for (int r = 0; r < NREC; r++) {
        int k = 1 + (int)(next() % 6);
        for (int j = 0; j < k; j++, n++) {
            const char *a = ids[next() % 20], *b = ids[next() % 20];
            ops[n] = j < k / 2 + 1
                         ? (hx_graph_op_t){.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = "t", .ts_ms = 10 + r, .id = a,
                                           .type = "person", .name = a, .mentions = 1, .confidence = 1}
                         : (hx_graph_op_t){.kind = HX_GRAPH_OP_REL_UPSERT, .tenant = "t", .ts_ms = 10 + r, .from = a,
                                           .to = b, .rel_type = "CO_OCCURS", .strength = 1};
            offs[n] = 1000 + 3 * r;
        }
    }
    for (int max = 0; max <= 3; max += 3) {
        hx_graph_encode_opts_t eo = {.source = "n", .partitions = 4, .src = "helixagent.conversations/2",
                                     .src_offsets = offs, .max_items = max};
        hx_graph_records_t rec;
        hx_err_t e = {0};
        CHECK_INT(hx_graph_events_encode(ops, n, &eo, &rec, &e), 0);
        if (max == 0) /* 4 partitions x 2 kinds, not one per record */
            CHECK_INT(rec.n, 8);
        else
            CHECK(rec.n > 8);
        size_t seen = 0;
        for (int32_t p = 0; p < 4; p++)
            for (int kind = 0; kind < 2; kind++) {
                hx_graph_op_kind_t want = kind ? HX_GRAPH_OP_REL_UPSERT : HX_GRAPH_OP_ENTITY_UPSERT;
                size_t k = 0;
                int64_t prev_last = -1;
                for (size_t r = 0; r < rec.n; r++) {
                    if (rec.msgs[r].partition != p)
                        continue;
                    hx_graph_ops_t back = {0};
                    hx_graph_src_t src;
                    CHECK_INT(hx_graph_events_decode(rec.msgs[r].value, rec.msgs[r].value_len, &back, &src, &e), 0);
                    if (!back.n || back.ops[0].kind != want) {
                        hx_graph_ops_free(&back);
                        continue;
                    }
                    CHECK(src.runs != NULL);
                    CHECK_STR(src.name, "helixagent.conversations/2");
                    size_t first = k, all = 0;
                    for (size_t j = 0; j < back.n; j++, seen++) {
                        while (k < n) {
                            const char *key = ops[k].kind == HX_GRAPH_OP_REL_UPSERT ? ops[k].from : ops[k].id;
                            if (ops[k].kind == want && hx_partition_for_key(key, strlen(key), 4) == (uint32_t)p)
                                break;
                            k++;
                        }
                        CHECK(k < n);
                        if (k >= n)
                            break;
                        CHECK_INT(back.ops[j].kind, want); /* one kind per envelope */
                        CHECK_STR(want == HX_GRAPH_OP_REL_UPSERT ? back.ops[j].from : back.ops[j].id,
                                  want == HX_GRAPH_OP_REL_UPSERT ? ops[k].from : ops[k].id);
                        if (j == 0)
                            CHECK(offs[k] > prev_last); /* never splits a record's items */
                        if (j + 1 == back.n) {
                            CHECK_INT(src.seq, offs[k]);
                            prev_last = offs[k];
                        }
                        k++;
                    }
                    hx_graph_src_applied(&src, INT64_MAX, &all);
                    CHECK_INT(all, back.n);
                    /* applied up to some record in the middle: exactly its items and those before */
                    int64_t mid = offs[first + back.n / 2];
                    size_t want_done = 0, done = 0;
                    for (size_t q = first, m = 0; q < n && m < back.n; q++) {
                        const char *key = ops[q].kind == HX_GRAPH_OP_REL_UPSERT ? ops[q].from : ops[q].id;
                        if (ops[q].kind != want || hx_partition_for_key(key, strlen(key), 4) != (uint32_t)p)
                            continue;
                        m++;
                        want_done += offs[q] <= mid;
                    }
                    hx_graph_src_applied(&src, mid, &done);
                    CHECK_INT(done, want_done);
                    hx_graph_ops_free(&back);
                }
            }
        CHECK_INT(seen, n);
        hx_graph_records_free(&rec);
    }
    /* a small record limit: envelopes close before it, between records */
    {
        hx_graph_encode_opts_t eo = {.source = "n", .partitions = 4, .src = "helixagent.conversations/2",
                                     .src_offsets = offs, .max_bytes = 4096};
        hx_graph_records_t rec;
        hx_err_t e = {0};
        CHECK_INT(hx_graph_events_encode(ops, n, &eo, &rec, &e), 0);
        CHECK(rec.n > 8);
        size_t items = 0;
        for (size_t r = 0; r < rec.n; r++) {
            CHECK(rec.msgs[r].value_len + rec.msgs[r].key_len < 4096);
            hx_graph_ops_t back = {0};
            CHECK_INT(hx_graph_events_decode(rec.msgs[r].value, rec.msgs[r].value_len, &back, NULL, &e), 0);
            items += back.n;
            hx_graph_ops_free(&back);
        }
        CHECK_INT(items, n);
        hx_graph_records_free(&rec);
    }
    /* offsets that go back, and a src too long for the cursor name */
    hx_graph_encode_opts_t eo = {.partitions = 4, .src = "s", .src_offsets = offs};
    hx_graph_records_t rec;
    hx_err_t e = {0};
    int64_t back[2] = {5, 4};
    eo.src_offsets = back;
    CHECK_INT(hx_graph_events_encode(ops, 2, &eo, &rec, &e), HX_EINVAL);
    CHECK_CONTAINS(e.msg, "src_offsets[1]");
    char longsrc[200];
    memset(longsrc, 'a', sizeof longsrc - 1);
    longsrc[sizeof longsrc - 1] = 0;
    eo = (hx_graph_encode_opts_t){.partitions = 4, .src = longsrc, .src_offsets = offs};
    CHECK_INT(hx_graph_events_encode(ops, 2, &eo, &rec, &e), HX_EINVAL);
}

int main(void)
{
    RUN(test_encode_bytes);
    RUN(test_props_writer);
    RUN(test_props_reader);
    RUN(test_g17);
    RUN(test_decode_strict);
    RUN(test_encode_runs);
    return HX_TEST_DONE();
}
