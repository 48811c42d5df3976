/* A memory write is logged before it is joined into the state: once the
 * write-ahead log has failed (here: the file size limit, as a full disk
 * would), a create, update or delete returns an error and changes nothing a
 * read can see, and health says the engine refuses writes. Its own process:
 * RLIMIT_FSIZE is process-wide. */
#include "helix/hx_config.h"
#include "helix/hx_fs.h"
#include "helix/hx_memory.h"
#include "../hx_test.h"

#include <signal.h>
#include <sys/resource.h>

static json_t *get(hx_memory_t *m, const char *id)
{
    json_t *out = NULL;
    hx_err_t err = {0};
    return hx_memory_get(m, "t", id, 0, &out, &err) ? NULL : out;
}

static void test_failed_wal_changes_nothing(void)
{
    char *dir = hx_test_tmpdir("mem_walfirst");
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    cfg.event_log.fsync = HX_FSYNC_ALWAYS;
    hx_memory_opts_t o;
    hx_memory_opts_defaults(&o);
    o.cfg = &cfg;
    o.dir = dir;
    o.node_id = "n1";
    o.snapshot_interval_ms = 3600 * 1000;
    o.digest_interval_ms = 3600 * 1000;
    hx_memory_t *m = NULL;
    hx_err_t err = {0};
    CHECK_INT(hx_memory_open(&o, &m, &err), 0);
    if (!m)
        return;
    json_t *b = json_pack("{s:s,s:s,s:s}", "id", "keep", "user_id", "u", "content", "before the failure");
    CHECK_INT(hx_memory_create(m, "t", b, NULL, &err), 0);
    json_decref(b);

    /* From now on no file may grow: the next WAL write fails. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {0, RLIM_INFINITY};
    CHECK_INT(setrlimit(RLIMIT_FSIZE, &rl), 0);
    b = json_pack("{s:s,s:s,s:s}", "id", "first", "user_id", "u", "content", "in the failing batch");
    CHECK(hx_memory_create(m, "t", b, NULL, &err) < 0);
    json_decref(b);
    char why[512];
    CHECK_INT(hx_memory_health(m, why, sizeof why), HX_EIO);
    CHECK_CONTAINS(why, "writes are refused until a restart");

    /* Every write after the failure: an error, and nothing visible. */
    hx_err_clear(&err);
    b = json_pack("{s:s,s:s,s:s}", "id", "later", "user_id", "u", "content", "never logged");
    CHECK_INT(hx_memory_create(m, "t", b, NULL, &err), HX_EIO);
    CHECK_CONTAINS(err.msg, "write-ahead log failed");
    json_decref(b);
    json_t *g = get(m, "later");
    CHECK(g == NULL);
    json_decref(g);
    json_t *p = json_pack("{s:s}", "content", "changed after the failure");
    CHECK_INT(hx_memory_update(m, "t", "keep", p, NULL, &err), HX_EIO);
    json_decref(p);
    CHECK_INT(hx_memory_delete(m, "t", "keep", &err), HX_EIO);
    g = get(m, "keep");
    CHECK(g != NULL);
    CHECK_STR(json_string_value(json_object_get(g, "content")), "before the failure");
    json_decref(g);
    rl.rlim_cur = RLIM_INFINITY;
    setrlimit(RLIMIT_FSIZE, &rl);
    hx_memory_close(m);
    /* After the restart exactly what reached the disk is there. */
    CHECK_INT(hx_memory_open(&o, &m, &err), 0);
    if (m) {
        g = get(m, "keep");
        CHECK(g && !strcmp(json_string_value(json_object_get(g, "content")), "before the failure"));
        json_decref(g);
        g = get(m, "later");
        CHECK(g == NULL);
        json_decref(g);
        hx_memory_close(m);
    }
    hx_rm_rf(dir);
    free(dir);
}

int main(void)
{
    RUN(test_failed_wal_changes_nothing);
    return HX_TEST_DONE();
}
