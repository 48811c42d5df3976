/* The records body's text reader (src/api/records_text.c) against the tree
 * path it stands in for: whatever it accepts, it must encode into the very
 * frames hx_api_records_request writes, and it must accept the plain bodies
 * (else it would be dead weight). Generated bodies, fixed seed. */
#include "api/api.h"
#include "helix/hx_envelope.h"
#include "../hx_test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static const char *const strings[] = {
    "\"plain\"", "\"\"", "\"h\\u00e9llo\"", "\"line\\nbreak\\ttab\"", "\"q\\\"uote\\\\\"", "\"sl\\/ash\"",
    "\"\\u0001\\u001f\\b\\f\\r\"", "\"\\ud83d\\ude80 rocket\"", "\"héllo wörld 🚀\"", "\"\\u2028\"", "\"\x7f del\"",
    "\"\\u00E9\"", "\"a\\u0000b\"", "\"\\ud800\"", "\"bad \xff utf8\"", "\"raw\ttab\""};
static const char *const numbers[] = {
    "0", "-0", "1", "-17", "123456789012345678", "1234567890123456789", "-123456789012345678", "0.1", "1.5",
    "-0.0", "1e20", "1E-7", "123.456e+5", "2.5e-3", "1e400", "5e-324", "0.30000000000000004", "01", "1.", "-",
    "3.14159265358979323846", "100", "1.0", "9007199254740993"};
static const char *const ws[] = {"", "", "", " ", "\n ", "\t"};

static void gen_value(hx_buf_t *b, int depth);

static void gen_object(hx_buf_t *b, int depth)
{
    static const char *const keys[] = {"a", "b", "n", "content", "k\\u0061", "ünï", "x y", "a"};
    unsigned n = rnd(depth > 2 ? 2 : 5);
    hx_buf_puts(b, "{");
    for (unsigned i = 0; i < n; i++) {
        hx_buf_printf(b, "%s%s\"%s\"%s:%s", i ? "," : "", ws[rnd(6)], keys[rnd(i ? 8 : 7)], ws[rnd(6)], ws[rnd(6)]);
        gen_value(b, depth + 1);
    }
    hx_buf_puts(b, "}");
}

static void gen_value(hx_buf_t *b, int depth)
{
    switch (rnd(depth > 3 ? 4 : 7)) {
    case 0: hx_buf_puts(b, strings[rnd(sizeof strings / sizeof *strings)]); break;
    case 1: hx_buf_puts(b, numbers[rnd(sizeof numbers / sizeof *numbers)]); break;
    case 2: hx_buf_puts(b, rnd(3) == 0 ? "null" : rnd(2) ? "true" : "false"); break;
    case 3: hx_buf_puts(b, numbers[rnd(8)]); break;
    case 4: gen_object(b, depth); break;
    default: {
        unsigned n = rnd(4);
        hx_buf_puts(b, "[");
        for (unsigned i = 0; i < n; i++) {
            hx_buf_puts(b, i ? "," : "");
            hx_buf_puts(b, ws[rnd(6)]);
            gen_value(b, depth + 1);
        }
        hx_buf_puts(b, "]");
    }
    }
}

/* One envelope; the id and ts are given so both paths encode the same. */
static void gen_envelope(hx_buf_t *b, int i)
{
    hx_buf_printf(b, "{\"id\":\"e%d\",%s\"ts\":%d", i, ws[rnd(6)], 1700000000 + i);
    if (rnd(4))
        hx_buf_puts(b, ",\"type\":\"bench.record\"");
    else
        hx_buf_puts(b, rnd(2) ? ",\"type\":\"conversation.message.added\"" : ",\"type\":7");
    if (rnd(2))
        hx_buf_printf(b, ",\"key\":\"k%d\"", (int)rnd(100));
    if (rnd(5) == 0)
        hx_buf_puts(b, rnd(2) ? ",\"tenant\":\"acme\"" : ",\"tenant\":null");
    if (rnd(5) == 0)
        hx_buf_puts(b, rnd(2) ? ",\"seq\":42,\"v\":1" : ",\"seq\":-1");
    if (rnd(5) == 0)
        hx_buf_puts(b, rnd(3) ? ",\"headers\":{\"trace\":\"t\\u00e9\",\"b\":\"2\"}" : ",\"headers\":{\"a\":1}");
    if (rnd(20) == 0)
        hx_buf_puts(b, ",\"extra\":1");
    if (rnd(12)) {
        hx_buf_puts(b, ",\"data\":");
        if (rnd(10))
            gen_object(b, 0);
        else
            gen_value(b, 0);
    }
    hx_buf_puts(b, "}");
}

static int same(const hx_api_records_t *a, const hx_api_records_t *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->msgs[i].value_len != b->msgs[i].value_len ||
            memcmp(a->msgs[i].value, b->msgs[i].value, a->msgs[i].value_len) || a->msgs[i].key_len != b->msgs[i].key_len ||
            memcmp(a->msgs[i].key, b->msgs[i].key, a->msgs[i].key_len) || a->msgs[i].timestamp_ms != b->msgs[i].timestamp_ms ||
            strcmp(a->envs[i].id, b->envs[i].id))
            return 0;
    return 1;
}

/* Both paths on body: what the text path takes, the tree path writes the same. 1 = taken. */
static int compare(const char *body, size_t len, const char *tenant, int64_t limit)
{
    hx_api_records_t t, j;
    hx_err_t err = {0};
    int rt = hx_api_records_request_text(body, len, "t", -1, tenant, "node-1", 1700000000000LL, limit, &t, &err);
    CHECK(rt == 0 || rt == 1);
    if (rt) {
        CHECK(t.n == 0 && !t.envs && !t.msgs);
        return 0;
    }
    json_error_t je;
    json_t *tree = json_loadb(body, len, 0, &je);
    int rj = tree ? hx_api_records_request(tree, "t", -1, tenant, "node-1", 1700000000000LL, limit, &j, &err) : -1;
    CHECK_INT(rj, 0);
    if (rj == 0) {
        int eq = same(&t, &j);
        CHECK(eq);
        if (!eq)
            fprintf(stderr, "  differs on: %.*s\n", (int)len, body);
        hx_api_records_free(&j);
    } else {
        fprintf(stderr, "  tree path refused (%s): %.*s\n", err.msg, (int)len, body);
    }
    json_decref(tree);
    hx_api_records_free(&t);
    return 1;
}

static void test_generated_bodies_match_the_tree_path(void)
{
    int taken = 0, total = 4000;
    hx_buf_t b = HX_BUF_INIT;
    for (int i = 0; i < total; i++) {
        hx_buf_reset(&b);
        int wrapped = rnd(3) == 0;
        if (wrapped) {
            unsigned n = 1 + rnd(3);
            hx_buf_puts(&b, "{\"records\":[");
            for (unsigned k = 0; k < n; k++) {
                hx_buf_puts(&b, k ? "," : "");
                gen_envelope(&b, i * 4 + (int)k);
            }
            hx_buf_puts(&b, rnd(10) ? "]}" : "],\"x\":1}");
        } else {
            gen_envelope(&b, i);
        }
        if (rnd(10) == 0)
            hx_buf_puts(&b, rnd(2) ? " \n" : " x");
        taken += compare((const char *)b.data, b.len, rnd(4) ? "default" : "acme", rnd(8) ? 1 << 20 : 120);
    }
    /* Most generated envelopes are plain; the reader must take a good share. */
    fprintf(stderr, "  text path took %d of %d bodies\n", taken, total);
    CHECK(taken > total / 10);
    hx_buf_free(&b);
}

/* The text path on a body with the defaults of these tests. */
static int text_path(const char *body, hx_api_records_t *t)
{
    hx_err_t err = {0};
    return hx_api_records_request_text(body, strlen(body), "t", -1, "default", "node-1", 1700000000000LL, 1 << 20, t,
                                       &err);
}

static void test_plain_bodies_are_taken(void)
{
    static const char *const bodies[] = {
        "{\"type\":\"bench.record\",\"key\":\"k1\",\"data\":{\"n\":1,\"t\":0}}",
        "{\"records\":[{\"type\":\"x.y\",\"key\":\"k\",\"data\":{\"n\":1}},{\"type\":\"x.y\",\"data\":{\"s\":\"é\\n\"}}]}",
        " { \"type\" : \"a.b\" , \"data\" : { \"r\" : 0.25 , \"l\" : [ 1 , true , null ] } } \n",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        hx_api_records_t t;
        hx_err_t err = {0};
        CHECK_INT(text_path(bodies[i], &t), 0);
        CHECK(t.n >= 1 && t.envs[0].id && strlen(t.envs[0].id) > 0);
        /* the frame decodes, with the id the answer reports */
        hx_envelope_t e;
        CHECK_INT(hx_envelope_decode(t.msgs[0].value, t.msgs[0].value_len, &e, &err), 0);
        CHECK_STR(e.id, t.envs[0].id);
        CHECK_STR(e.source, "node-1");
        hx_envelope_free(&e);
        hx_api_records_free(&t);
    }
    /* Reals, escapes and -0 are taken and written as jansson writes them. */
    static const char *const mixed =
        "{\"id\":\"m1\",\"ts\":5,\"type\":\"a.b\",\"data\":{\"r\":[0.1,1e20,1E-7,-0.0,123.456e+5,-0,5e-324],"
        "\"s\":\"h\\u00e9\\n\\u0001\\/\\ud83d\\ude80\",\"o\":{\"t\":true}}}";
    CHECK_INT(compare(mixed, strlen(mixed), "default", 1 << 20), 1);
    /* What it leaves to the tree path: schemas, errors, unknown fields, duplicates. */
    static const char *const left[] = {
        "{\"type\":\"conversation.message.added\",\"data\":{\"role\":\"user\",\"content\":\"x\"}}",
        "{\"type\":\"a.b\",\"data\":{\"n\":1,\"n\":2}}",
        "{\"type\":\"a.b\",\"data\":[1]}",
        "{\"type\":\"a.b\",\"nope\":1,\"data\":{}}",
        "{\"type\":\"a.b\",\"data\":{}",
        "{\"type\":\"a.b\",\"tenant\":\"other\",\"data\":{}}",
        "[1]",
        "",
    };
    for (size_t i = 0; i < sizeof left / sizeof *left; i++) {
        hx_api_records_t t;
        CHECK_INT(text_path(left[i], &t), 1);
    }
}

int main(void)
{
    RUN(test_plain_bodies_are_taken);
    RUN(test_generated_bodies_match_the_tree_path);
    return HX_TEST_DONE();
}
