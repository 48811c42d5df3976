/* How memory search matches (docs/memory.md, "Search"): tokens are runs of
 * letters or runs of digits, lowercased, so "oauth" finds "OAuth2" and "2fa"
 * finds "2FA"; UTF-8 words stay whole; no prefix matching. */
#include "helix/hx_config.h"
#include "helix/hx_fs.h"
#include "helix/hx_memory.h"
#include "../hx_test.h"

static hx_memory_t *m;

static void add(const char *id, const char *content)
{
    json_t *b = json_pack("{s:s,s:s,s:s}", "id", id, "user_id", "u1", "content", content);
    hx_err_t err = {0};
    CHECK_INT(hx_memory_create(m, "acme", b, NULL, &err), 0);
    json_decref(b);
}

/* The ids the query finds, space-separated, best first. */
static void found(const char *query, char *out, size_t len)
{
    json_t *q = json_pack("{s:s}", "query", query), *r = NULL;
    hx_err_t err = {0};
    out[0] = 0;
    CHECK_INT(hx_memory_search(m, "acme", q, &r, &err), 0);
    json_t *v;
    size_t i, used = 0;
    json_array_foreach(json_object_get(r, "memories"), i, v)
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? " " : "", json_string_value(json_object_get(v, "id")));
    json_decref(r);
    json_decref(q);
}

static void test_letter_digit_runs(void)
{
    char ids[256];
    add("oauth", "prefers OAuth2 with PKCE");
    add("mfa", "turned on 2FA yesterday");
    add("utf", "mag Käsekuchen und Über-Rezepte");
    add("prefix", "authentication is hard");
    found("oauth", ids, sizeof ids);
    CHECK_STR(ids, "oauth");
    found("OAUTH2", ids, sizeof ids); /* oauth + 2: both tokens rank OAuth2 first; 2FA shares the 2 */
    CHECK_STR(ids, "oauth mfa");
    found("pkce", ids, sizeof ids);
    CHECK_STR(ids, "oauth");
    found("fa", ids, sizeof ids);
    CHECK_STR(ids, "mfa");
    found("2fa", ids, sizeof ids);
    CHECK_CONTAINS(ids, "mfa");
    found("käsekuchen", ids, sizeof ids); /* non-ASCII bytes are letters; only ASCII is lowercased */
    CHECK_STR(ids, "utf");
    found("rezepte", ids, sizeof ids);
    CHECK_STR(ids, "utf");
    found("auth", ids, sizeof ids); /* whole tokens: not a prefix of oauth or authentication */
    CHECK_STR(ids, "");
}

int main(void)
{
    char *dir = hx_test_tmpdir("mem_search");
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    hx_memory_opts_t o;
    hx_memory_opts_defaults(&o);
    o.cfg = &cfg;
    o.dir = dir;
    o.node_id = "n1";
    hx_err_t err = {0};
    if (hx_memory_open(&o, &m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    RUN(test_letter_digit_runs);
    hx_memory_close(m);
    hx_rm_rf(dir);
    free(dir);
    return HX_TEST_DONE();
}
