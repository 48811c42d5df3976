// HX_TEST_PARTS: conformance store
/* The embedded analytics store: the shared conformance suite
 * (tests/analytics_conformance.h) and what only the column store does. */
#include "../analytics_conformance.h"

static char *base;

static void ac_configure(hx_config_t *cfg, const char *name)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", base, name);
    mkdir(dir, 0755);
    snprintf(cfg->node.data_dir, sizeof cfg->node.data_dir, "%s", dir);
    snprintf(cfg->backends.analytics, sizeof cfg->backends.analytics, "embedded");
}

int main(int argc, char **argv)
{
    base = hx_test_tmpdir("analytics");
    const char *part = argc > 1 ? argv[1] : "all";
    if (!strcmp(part, "all") || !strcmp(part, "conformance"))
        RUN_ANALYTICS_CONFORMANCE();
    return HX_TEST_DONE();
}
