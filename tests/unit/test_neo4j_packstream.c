/* PackStream v1: byte-exact encodings from the spec, every boundary of the
 * sized forms, seeded round trips of random trees, structure views, and the
 * decoder's refusals of hostile input. */
#include "graph/neo4j/packstream.h"
#include "../hx_test.h"

#include <math.h>

static int hex_eq(const hx_buf_t *b, const char *hex)
{
    char got[4096] = {0};
    for (size_t i = 0; i < b->len && i < 2000; i++)
        snprintf(got + 2 * i, 3, "%02X", b->data[i]);
    if (strcmp(got, hex) != 0) {
        fprintf(stderr, "  encoded %s\n  wanted  %s\n", got, hex);
        return 0;
    }
    return 1;
}

static void test_spec_vectors(void)
{
    hx_buf_t b = HX_BUF_INIT;
#define ENC(call, hex)                                                                                                 \
    do {                                                                                                               \
        hx_buf_reset(&b);                                                                                              \
        CHECK_INT(call, 0);                                                                                            \
        CHECK(hex_eq(&b, hex));                                                                                        \
    } while (0)
    ENC(hx_ps_put_null(&b), "C0");
    ENC(hx_ps_put_bool(&b, 1), "C3");
    ENC(hx_ps_put_bool(&b, 0), "C2");
    ENC(hx_ps_put_int(&b, 1), "01");
    ENC(hx_ps_put_int(&b, 127), "7F");
    ENC(hx_ps_put_int(&b, -16), "F0");
    ENC(hx_ps_put_int(&b, -17), "C8EF");
    ENC(hx_ps_put_int(&b, -128), "C880");
    ENC(hx_ps_put_int(&b, 128), "C90080");
    ENC(hx_ps_put_int(&b, -129), "C9FF7F");
    ENC(hx_ps_put_int(&b, 32767), "C97FFF");
    ENC(hx_ps_put_int(&b, 32768), "CA00008000");
    ENC(hx_ps_put_int(&b, -32769), "CAFFFF7FFF");
    ENC(hx_ps_put_int(&b, 2147483648LL), "CB0000000080000000");
    ENC(hx_ps_put_int(&b, INT64_MIN), "CB8000000000000000");
    ENC(hx_ps_put_int(&b, INT64_MAX), "CB7FFFFFFFFFFFFFFF");
    ENC(hx_ps_put_float(&b, 1.1), "C13FF199999999999A");
    ENC(hx_ps_put_float(&b, -1.1), "C1BFF199999999999A");
    ENC(hx_ps_put_cstr(&b, ""), "80");
    ENC(hx_ps_put_cstr(&b, "A"), "8141");
    /* 16 bytes of UTF-8: one past the tiny form. */
    ENC(hx_ps_put_cstr(&b, "Größenmaßstab"), "D0104772C3B6C39F656E6D61C39F73746162");
    ENC(hx_ps_put_bytes(&b, "", 0), "CC00");
    ENC(hx_ps_put_bytes(&b, "\x01\x02", 2), "CC020102");
    ENC(hx_ps_put_list_header(&b, 0), "90");
    ENC(hx_ps_put_list_header(&b, 15), "9F");
    ENC(hx_ps_put_list_header(&b, 16), "D410");
    ENC(hx_ps_put_list_header(&b, 256), "D50100");
    ENC(hx_ps_put_list_header(&b, 65536), "D600010000");
    ENC(hx_ps_put_map_header(&b, 0), "A0");
    ENC(hx_ps_put_map_header(&b, 16), "D810");
    ENC(hx_ps_put_map_header(&b, 70000), "DA00011170");
    ENC(hx_ps_put_struct_header(&b, 0x4E, 3), "B34E");
    CHECK_INT(hx_ps_put_struct_header(&b, 0x4E, 16), HX_EINVAL);
    hx_buf_reset(&b);
    hx_ps_put_map_header(&b, 1);
    hx_ps_put_cstr(&b, "a");
    hx_ps_put_int(&b, 1);
    CHECK(hex_eq(&b, "A1816101"));
    hx_buf_free(&b);
}

/* Multi-byte UTF-8 decodes back to the same string. */
static void test_utf8_string(void)
{
    hx_buf_t b = HX_BUF_INIT;
    hx_ps_put_cstr(&b, "Größenmaßstab");
    hx_ps_arena_t a = HX_PS_ARENA_INIT;
    hx_ps_value_t v;
    size_t pos = 0;
    CHECK_INT(hx_ps_decode(&a, b.data, b.len, &pos, &v, NULL), 0);
    CHECK_INT(v.type, HX_PS_STRING);
    CHECK_STR(v.u.s, "Größenmaßstab");
    hx_ps_arena_free(&a);
    hx_buf_free(&b);
}

static void decode_int(const char *what, int64_t want, const unsigned char *p, size_t n)
{
    hx_ps_arena_t a = HX_PS_ARENA_INIT;
    hx_ps_value_t v;
    size_t pos = 0;
    int rc = hx_ps_decode(&a, p, n, &pos, &v, NULL);
    CHECK_INT(rc, 0);
    CHECK_INT(v.type, HX_PS_INT);
    if (v.u.i != want)
        fprintf(stderr, "  %s: decoded %lld\n", what, (long long)v.u.i);
    CHECK(v.u.i == want);
    CHECK_INT(pos, n);
    hx_ps_arena_free(&a);
}

/* Encoders pick the smallest form; decoders must accept every form (other
 * drivers do not always pick the smallest). */
static void test_int_boundaries(void)
{
    static const int64_t vals[] = {0, 1, -1, -16, -17, 127, 128, -128, -129, 32767, 32768, -32768, -32769,
                                   2147483647LL, 2147483648LL, -2147483648LL, -2147483649LL, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        hx_buf_t b = HX_BUF_INIT;
        hx_ps_put_int(&b, vals[i]);
        decode_int("smallest", vals[i], b.data, b.len);
        hx_buf_free(&b);
    }
    decode_int("int8 form of 1", 1, (const unsigned char *)"\xC8\x01", 2);
    decode_int("int16 form of -1", -1, (const unsigned char *)"\xC9\xFF\xFF", 3);
    decode_int("int32 form of 5", 5, (const unsigned char *)"\xCA\x00\x00\x00\x05", 5);
    decode_int("int64 form of -2", -2, (const unsigned char *)"\xCB\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFE", 9);
}

/* ---- seeded random trees ---- */
static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void random_value(hx_ps_arena_t *a, hx_ps_value_t *v, int depth)
{
    static const int64_t edges[] = {0, -16, -17, 127, 128, -129, 32768, -32769, 2147483648LL, INT64_MIN, INT64_MAX};
    int kind = (int)(next() % (depth > 3 ? 6 : 9));
    memset(v, 0, sizeof *v);
    switch (kind) {
    case 0: v->type = HX_PS_NULL; break;
    case 1: v->type = HX_PS_BOOL; v->u.b = (int)(next() & 1); break;
    case 2:
        v->type = HX_PS_INT;
        v->u.i = next() % 3 ? edges[next() % (sizeof edges / sizeof edges[0])] : (int64_t)next();
        break;
    case 3: {
        v->type = HX_PS_FLOAT;
        uint64_t bits = next();
        memcpy(&v->u.f, &bits, 8);
        break;
    }
    case 4:
    case 5: {
        static const size_t lens[] = {0, 1, 15, 16, 255, 256, 65535, 65536};
        size_t n = lens[next() % 6];
        if (next() % 50 == 0)
            n = lens[6 + next() % 2];
        char *s = hx_ps_arena_alloc(a, n + 1);
        for (size_t i = 0; i < n; i++)
            s[i] = (char)('a' + next() % 26);
        v->type = kind == 4 ? HX_PS_STRING : HX_PS_BYTES;
        if (kind == 5)
            for (size_t i = 0; i < n; i++)
                s[i] = (char)next();
        v->u.s = s;
        v->n = (uint32_t)n;
        break;
    }
    case 6:
    case 7: {
        uint32_t n = (uint32_t)(next() % 20);
        v->type = kind == 6 ? HX_PS_LIST : HX_PS_MAP;
        v->n = n;
        v->u.items = hx_ps_arena_alloc(a, (kind == 7 ? 2 : 1) * (n + 1) * sizeof *v);
        for (uint32_t i = 0; i < n; i++) {
            if (kind == 7) {
                char key[16];
                snprintf(key, sizeof key, "k%u", i);
                hx_ps_set_string(a, &v->u.items[2 * i], key);
                random_value(a, &v->u.items[2 * i + 1], depth + 1);
            } else {
                random_value(a, &v->u.items[i], depth + 1);
            }
        }
        break;
    }
    case 8: {
        /* An unknown tag: decoded as a generic structure. */
        uint32_t n = (uint32_t)(next() % 4);
        v->type = HX_PS_STRUCT;
        v->tag = 0x01;
        v->n = n;
        v->u.items = hx_ps_arena_alloc(a, (n + 1) * sizeof *v);
        for (uint32_t i = 0; i < n; i++)
            random_value(a, &v->u.items[i], depth + 1);
        break;
    }
    }
}

static void test_random_round_trip(void)
{
    int bad = 0;
    for (int iter = 0; iter < 400; iter++) {
        hx_ps_arena_t a = HX_PS_ARENA_INIT, d = HX_PS_ARENA_INIT;
        hx_ps_value_t v, back;
        random_value(&a, &v, 0);
        hx_buf_t b = HX_BUF_INIT;
        CHECK_INT(hx_ps_put_value(&b, &v), 0);
        size_t pos = 0;
        hx_err_t err = {0};
        int rc = hx_ps_decode(&d, b.data, b.len, &pos, &back, &err);
        if (rc || pos != b.len || !hx_ps_equal(&v, &back)) {
            if (!bad++)
                fprintf(stderr, "  round trip %d failed: %s\n", iter, err.msg);
        }
        hx_buf_free(&b);
        hx_ps_arena_free(&a);
        hx_ps_arena_free(&d);
    }
    CHECK_INT(bad, 0);
}

static int decode_hex(hx_ps_arena_t *a, const char *hex, hx_ps_value_t *v, hx_err_t *err)
{
    unsigned char buf[512];
    size_t n = 0;
    for (const char *p = hex; p[0] && p[1]; p += 2) {
        unsigned x;
        sscanf(p, "%2x", &x);
        buf[n++] = (unsigned char)x;
    }
    size_t pos = 0;
    int rc = hx_ps_decode(a, buf, n, &pos, v, err);
    if (!rc && pos != n)
        return 99;
    return rc;
}

static void test_structures(void)
{
    hx_ps_arena_t a = HX_PS_ARENA_INIT;
    hx_ps_value_t v;
    /* Bolt 5 Node: id 1, labels ["E"], {"n": "x"}, element id "e1". */
    CHECK_INT(decode_hex(&a, "B44E01918145A1816E8178826531", &v, NULL), 0);
    hx_ps_node_t node;
    CHECK_INT(hx_ps_as_node(&v, &node), 0);
    CHECK_INT(node.id, 1);
    CHECK_STR(node.labels->u.items[0].u.s, "E");
    CHECK_STR(hx_ps_map_str(node.props, "n"), "x");
    CHECK_STR(node.element_id, "e1");
    /* Bolt 4 Node: three fields, no element id. */
    CHECK_INT(decode_hex(&a, "B34E0290A0", &v, NULL), 0);
    CHECK_INT(hx_ps_as_node(&v, &node), 0);
    CHECK(node.element_id == NULL);
    hx_ps_rel_t rel;
    /* Relationship 5: id 7, 1 -> 2, "KNOWS", {}, ids. */
    CHECK_INT(decode_hex(&a, "B852070102854B4E4F5753A0827237826531826532", &v, NULL), 0);
    CHECK_INT(hx_ps_as_rel(&v, &rel), 0);
    CHECK_INT(rel.start_id, 1);
    CHECK_INT(rel.end_id, 2);
    CHECK_STR(rel.type, "KNOWS");
    CHECK_STR(rel.end_element_id, "e2");
    /* UnboundRelationship 5. */
    CHECK_INT(decode_hex(&a, "B47209814BA0827239", &v, NULL), 0);
    CHECK_INT(hx_ps_as_rel(&v, &rel), 0);
    CHECK_INT(rel.start_id, -1);
    CHECK_STR(rel.type, "K");
    /* Temporal and spatial structures of every kind decode with checked fields. */
    static const char *const ok[] = {
        "B14401",             /* Date */
        "B2540A00",           /* Time */
        "B17405",             /* LocalTime */
        "B3490102F0",         /* DateTime (UTC) */
        "B369010283555443",   /* DateTimeZoneId */
        "B2640102",           /* LocalDateTime */
        "B44501020304",       /* Duration */
        "B35801C13FF0000000000000C14000000000000000",                     /* Point2D */
        "B45901C13FF0000000000000C14000000000000000C14008000000000000",   /* Point3D */
        "B346010200",         /* legacy DateTime */
        "B36601028155",       /* legacy DateTimeZoneId */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        hx_err_t err = {0};
        int rc = decode_hex(&a, ok[i], &v, &err);
        if (rc)
            fprintf(stderr, "  %s: %s\n", ok[i], err.msg);
        CHECK_INT(rc, 0);
    }
    static const char *const bad[] = {
        "B24E0190",           /* Node with 2 fields */
        "B34E8161A0A0",       /* Node id is a string */
        "B34E01A0A0",         /* labels is a map */
        "B34E019101A0",       /* a label that is not a string */
        "B1448161",           /* Date of a string */
        "B25801C13FF0000000000000", /* Point2D short */
        "B3580101C13FF0000000000000", /* Point2D x is an int */
        "B35090909190",       /* Path indices not ints */
        "B35091019090",       /* Path nodes not Nodes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hx_err_t err = {0};
        int rc = decode_hex(&a, bad[i], &v, &err);
        if (rc != HX_ECORRUPT)
            fprintf(stderr, "  %s decoded (rc %d)\n", bad[i], rc);
        CHECK_INT(rc, HX_ECORRUPT);
        CHECK_CONTAINS(err.msg, "structure");
    }
    hx_ps_arena_free(&a);
}

static void test_path_view(void)
{
    hx_ps_arena_t a = HX_PS_ARENA_INIT;
    /* Nodes a(1) b(2) c(3); rels r1(10) a->b, r2(11) c->b; path a -r1-> b <-r2- c. */
    hx_buf_t b = HX_BUF_INIT;
    hx_ps_put_struct_header(&b, HX_PS_TAG_PATH, 3);
    hx_ps_put_list_header(&b, 3);
    for (int i = 1; i <= 3; i++) {
        hx_ps_put_struct_header(&b, HX_PS_TAG_NODE, 4);
        hx_ps_put_int(&b, i);
        hx_ps_put_list_header(&b, 0);
        hx_ps_put_map_header(&b, 0);
        char eid[8];
        snprintf(eid, sizeof eid, "n%d", i);
        hx_ps_put_cstr(&b, eid);
    }
    hx_ps_put_list_header(&b, 2);
    for (int i = 10; i <= 11; i++) {
        hx_ps_put_struct_header(&b, HX_PS_TAG_UNBOUND_REL, 4);
        hx_ps_put_int(&b, i);
        hx_ps_put_cstr(&b, "R");
        hx_ps_put_map_header(&b, 0);
        hx_ps_put_cstr(&b, i == 10 ? "r1" : "r2");
    }
    hx_ps_put_list_header(&b, 4);
    hx_ps_put_int(&b, 1);
    hx_ps_put_int(&b, 1);
    hx_ps_put_int(&b, -2);
    hx_ps_put_int(&b, 2);
    hx_ps_value_t v;
    size_t pos = 0;
    CHECK_INT(hx_ps_decode(&a, b.data, b.len, &pos, &v, NULL), 0);
    hx_ps_path_t p;
    CHECK_INT(hx_ps_as_path(&a, &v, &p), 0);
    CHECK_INT(p.length, 2);
    hx_ps_node_t n;
    hx_ps_rel_t r;
    hx_ps_as_node(p.nodes[2], &n);
    CHECK_INT(n.id, 3);
    hx_ps_as_rel(p.rels[1], &r);
    CHECK_STR(r.element_id, "r2");
    CHECK_INT(p.directions[0], 1);
    CHECK_INT(p.directions[1], -1);
    /* Indices out of range are refused by the view. */
    v.u.items[2].u.items[2].u.i = -3;
    CHECK_INT(hx_ps_as_path(&a, &v, &p), HX_EINVAL);
    v.u.items[2].u.items[2].u.i = INT64_MIN;
    CHECK_INT(hx_ps_as_path(&a, &v, &p), HX_EINVAL);
    hx_buf_free(&b);
    hx_ps_arena_free(&a);
}

static void test_hostile(void)
{
    hx_ps_arena_t a = HX_PS_ARENA_INIT;
    hx_ps_value_t v;
    hx_err_t err = {0};
    CHECK_INT(decode_hex(&a, "", &v, &err), HX_ECORRUPT);
    CHECK_INT(decode_hex(&a, "C4", &v, &err), HX_ECORRUPT);
    CHECK_CONTAINS(err.msg, "unknown marker 0xC4");
    CHECK_INT(decode_hex(&a, "E0", &v, &err), HX_ECORRUPT);
    CHECK_INT(decode_hex(&a, "C13FF0", &v, &err), HX_ECORRUPT);         /* short float */
    CHECK_INT(decode_hex(&a, "D005616263", &v, &err), HX_ECORRUPT);     /* string longer than input */
    CHECK_INT(decode_hex(&a, "D6FFFFFFFF01", &v, &err), HX_ECORRUPT);   /* 4G items claimed */
    CHECK_CONTAINS(err.msg, "larger than the message");
    CHECK_INT(decode_hex(&a, "DAFFFFFFFF", &v, &err), HX_ECORRUPT);
    CHECK_INT(decode_hex(&a, "A10101", &v, &err), HX_ECORRUPT);         /* integer key */
    CHECK_CONTAINS(err.msg, "map key");
    CHECK_INT(decode_hex(&a, "A2816101816102", &v, &err), HX_ECORRUPT); /* key "a" twice */
    CHECK_CONTAINS(err.msg, "duplicate map key");
    CHECK_INT(decode_hex(&a, "82C328", &v, &err), HX_ECORRUPT);         /* invalid UTF-8 */
    CHECK_INT(decode_hex(&a, "83EDA080", &v, &err), HX_ECORRUPT);       /* surrogate */
    CHECK_INT(decode_hex(&a, "82C0AF", &v, &err), HX_ECORRUPT);         /* overlong */
    CHECK_INT(decode_hex(&a, "B1", &v, &err), HX_ECORRUPT);             /* struct without tag */
    /* 100 nested lists: refused at depth 64, no stack blow-up. */
    char deep[256] = {0};
    for (int i = 0; i < 100; i++)
        strcat(deep, "91");
    strcat(deep, "01");
    CHECK_INT(decode_hex(&a, deep, &v, &err), HX_ECORRUPT);
    CHECK_CONTAINS(err.msg, "nested");
    hx_ps_arena_free(&a);
}

static void test_format_and_lookup(void)
{
    hx_ps_arena_t a = HX_PS_ARENA_INIT;
    hx_ps_value_t v;
    CHECK_INT(decode_hex(&a, "A28161018162928178C0", &v, NULL), 0);
    CHECK(hx_ps_map_get(&v, "a") && hx_ps_map_get(&v, "a")->u.i == 1);
    CHECK(hx_ps_map_get(&v, "zz") == NULL);
    hx_buf_t out = HX_BUF_INIT;
    hx_ps_format(&v, &out, 200);
    CHECK_STR(hx_buf_cstr(&out), "{a: 1, b: [\"x\", null]}");
    hx_buf_reset(&out);
    hx_ps_format(&v, &out, 5);
    CHECK(out.len <= 8);
    hx_buf_free(&out);
    hx_ps_arena_free(&a);
}

int main(void)
{
    RUN(test_spec_vectors);
    RUN(test_utf8_string);
    RUN(test_int_boundaries);
    RUN(test_random_round_trip);
    RUN(test_structures);
    RUN(test_path_view);
    RUN(test_hostile);
    RUN(test_format_and_lookup);
    return HX_TEST_DONE();
}
