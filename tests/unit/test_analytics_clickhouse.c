/* The analytics conformance suite (tests/analytics_conformance.h) on the
 * ClickHouse backend, against a clickhouse-server started here (a plain
 * process on 127.0.0.1 with its config in a temp dir). Each test gets a
 * fresh database. Quantiles: ClickHouse's quantile() keeps a reservoir of
 * 8192 values and interpolates between neighbours, so it is held to 5 %
 * relative error instead of the sketch's 1 % (the suite's datasets are
 * larger than the reservoir). A missing clickhouse-server FAILS with the
 * command that installs it. */
#include "helix/hx_analytics.h"
#include "helix/hx_clickhouse_local.h"
#include "helix/hx_fs.h"

#define AC_QUANTILE_TOL HX_AN_CLICKHOUSE_QUANTILE_REL_ERROR
#include "../analytics_conformance.h"

static hx_ch_local_t *srv;
static char *dir;

/* One database per store name (the server is fresh per run). */
static void ac_configure(hx_config_t *cfg, const char *name)
{
    snprintf(cfg->backends.analytics, sizeof cfg->backends.analytics, "clickhouse");
    snprintf(cfg->clickhouse.url, sizeof cfg->clickhouse.url, "%s", srv ? hx_ch_local_url(srv) : "http://127.0.0.1:1");
    char db[64];
    size_t k = (size_t)snprintf(db, sizeof db, "ac_");
    for (const char *p = name; *p && k < sizeof db - 1; p++)
        db[k++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p : '_');
    db[k] = 0;
    snprintf(cfg->clickhouse.database, sizeof cfg->clickhouse.database, "%s", db);
    cfg->clickhouse.retry_backoff_ms = 20;
    snprintf(cfg->node.data_dir, sizeof cfg->node.data_dir, "%s/%s", dir, db);
    mkdir(cfg->node.data_dir, 0755);
}

int main(void)
{
    dir = hx_test_tmpdir("analytics_ch");
    hx_err_t err = {0};
    char chdir_[1200];
    snprintf(chdir_, sizeof chdir_, "%s/server", dir);
    if (hx_ch_local_start(chdir_, 0, 60000, &srv, &err)) {
        fprintf(stderr, "cannot start clickhouse-server: %s\n", err.msg);
        CHECK(!"clickhouse-server started");
        return HX_TEST_DONE();
    }
    RUN_ANALYTICS_CONFORMANCE();
    hx_ch_local_free(srv);
    hx_rm_rf(dir);
    free(dir);
    return HX_TEST_DONE();
}
