/* SHA-256 against the FIPS 180-4 / NIST example vectors, and the API keys
 * file: parse errors name the line, lookup by hash, add and revoke. */
#include "helix/hx_keys.h"
#include "helix/hx_sha256.h"
#include "../hx_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_hex(const void *data, size_t n, const char *want)
{
    char h[HX_SHA256_HEX];
    hx_sha256_hex(data, n, h);
    CHECK_STR(h, want);
}

static void test_sha256_vectors(void)
{
    check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_hex(m2, strlen(m2), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m3 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    check_hex(m3, strlen(m3), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    /* One million 'a', fed in uneven pieces so every buffering path runs. */
    hx_sha256_t c;
    hx_sha256_init(&c);
    char a[1000];
    memset(a, 'a', sizeof a);
    size_t left = 1000000, step = 1;
    while (left) {
        size_t n = step < left ? step : left;
        n = n > sizeof a ? sizeof a : n;
        hx_sha256_update(&c, a, n);
        left -= n;
        step = step * 7 % 997 + 1;
    }
    unsigned char d[HX_SHA256_LEN];
    hx_sha256_final(&c, d);
    char h[HX_SHA256_HEX];
    for (int i = 0; i < HX_SHA256_LEN; i++)
        snprintf(h + 2 * i, 3, "%02x", d[i]);
    CHECK_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* Lengths around the padding boundary (55, 56, 64 bytes). */
    unsigned char all[1280];
    for (int i = 0; i < 1280; i++)
        all[i] = (unsigned char)i;
    check_hex(all, 1280, "d414b085826eb06778483ba35564dc849e643359f69ed9747878ba6e54985bed");
}

static void test_keys_parse(void)
{
    hx_keyring_t k;
    hx_err_t err = {0};
    char h1[HX_SHA256_HEX], h2[HX_SHA256_HEX], text[1024];
    hx_sha256_hex("k1", 2, h1);
    hx_sha256_hex("k2", 2, h2);
    snprintf(text, sizeof text, "# comment\n\n%s acme writer 1700000000000\r\n%s default admin 0", h1, h2);
    CHECK_INT(hx_keys_parse(text, strlen(text), "keys", &k, &err), 0);
    CHECK_INT(k.n, 2);
    const hx_api_key_t *f = hx_keys_find(&k, "k1", 2);
    CHECK(f && strcmp(f->tenant, "acme") == 0 && f->role == HX_ROLE_WRITER);
    f = hx_keys_find(&k, "k2", 2);
    CHECK(f && f->role == HX_ROLE_ADMIN);
    CHECK(hx_keys_find(&k, "k3", 2) == NULL);
    CHECK(hx_keys_find(&k, "", 0) == NULL);
    hx_keys_free(&k);

    struct {
        const char *line, *want;
    } bad[] = {
        {"zz acme writer 1", "keys:2: 'zz' is not a SHA-256"},
        {"%s acme boss 1", "keys:2: role 'boss'"},
        {"%s ac/me reader 1", "keys:2: tenant 'ac/me'"},
        {"%s acme reader", "want 4 fields"},
        {"%s acme reader 1 extra", "want 4 fields"},
        {"%s acme reader -5", "created_ms '-5'"},
        {"%s acme reader 1\n%s acme reader 2", "keys:3: the same key is listed twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[512];
        snprintf(line, sizeof line, bad[i].line, h1, h1);
        snprintf(text, sizeof text, "# head\n%s\n", line);
        hx_err_clear(&err);
        CHECK_INT(hx_keys_parse(text, strlen(text), "keys", &k, &err), HX_ECONFIG);
        CHECK_CONTAINS(err.msg, bad[i].want);
        CHECK(k.n == 0 && k.keys == NULL);
    }
    CHECK_INT(hx_keys_parse("x\0y", 3, "keys", &k, &err), HX_ECONFIG);
}

static void test_keys_add_revoke(void)
{
    char *dir = hx_test_tmpdir("keys");
    char path[512];
    snprintf(path, sizeof path, "%s/sub/api_keys", dir);
    hx_err_t err = {0};
    char key1[64], key2[64];
    hx_api_key_t a1, a2;
    CHECK_INT(hx_keys_add(path, "acme", HX_ROLE_READER, key1, sizeof key1, &a1, &err), 0);
    CHECK_INT(hx_keys_add(path, "beta", HX_ROLE_ADMIN, key2, sizeof key2, &a2, &err), 0);
    CHECK(strncmp(key1, "hxk_", 4) == 0 && strlen(key1) == 47);
    CHECK(strcmp(key1, key2) != 0);
    CHECK_INT(hx_keys_add(path, "bad tenant", HX_ROLE_READER, key1, sizeof key1, NULL, &err), HX_EINVAL);
    hx_keyring_t k;
    CHECK_INT(hx_keys_load(path, &k, &err), 0);
    CHECK_INT(k.n, 2);
    /* The key itself is nowhere in the file. */
    FILE *f = fopen(path, "r");
    char buf[4096] = {0};
    CHECK(f && fread(buf, 1, sizeof buf - 1, f) > 0);
    if (f)
        fclose(f);
    CHECK(strstr(buf, key2) == NULL);
    CHECK(strstr(buf, a2.hash) != NULL);
    const hx_api_key_t *hit = hx_keys_find(&k, key2, strlen(key2));
    CHECK(hit && strcmp(hit->tenant, "beta") == 0 && hit->role == HX_ROLE_ADMIN);
    hx_keys_free(&k);
    char id[16];
    snprintf(id, sizeof id, "%.12s", a2.hash);
    hx_api_key_t gone;
    CHECK_INT(hx_keys_revoke(path, id, &gone, &err), 0);
    CHECK_STR(gone.tenant, "beta");
    CHECK_INT(hx_keys_revoke(path, id, NULL, &err), HX_ENOTFOUND);
    CHECK_INT(hx_keys_revoke(path, "abc", NULL, &err), HX_EINVAL);
    CHECK_INT(hx_keys_load(path, &k, &err), 0);
    CHECK_INT(k.n, 1);
    CHECK(hx_keys_find(&k, key2, strlen(key2)) == NULL);
    CHECK(hx_keys_find(&k, key1, strlen(key1)) != NULL);
    hx_keys_free(&k);
    snprintf(path, sizeof path, "%s/none", dir);
    CHECK_INT(hx_keys_load(path, &k, &err), HX_ENOTFOUND);
    free(dir);
}

static void test_roles_tenants(void)
{
    hx_role_t r;
    CHECK_INT(hx_role_parse("writer", &r, NULL), 0);
    CHECK(r == HX_ROLE_WRITER);
    CHECK_INT(hx_role_parse("root", &r, NULL), HX_EINVAL);
    CHECK(hx_tenant_valid("a.b-c_9"));
    CHECK(!hx_tenant_valid(""));
    CHECK(!hx_tenant_valid("a b"));
    char t[80];
    memset(t, 'a', 64);
    t[64] = 0;
    CHECK(hx_tenant_valid(t));
    t[64] = 'a';
    t[65] = 0;
    CHECK(!hx_tenant_valid(t));
}

int main(void)
{
    RUN(test_sha256_vectors);
    RUN(test_keys_parse);
    RUN(test_keys_add_revoke);
    RUN(test_roles_tenants);
    return HX_TEST_DONE();
}
