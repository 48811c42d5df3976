// HX_TEST_PARTS: conformance embedded
/* The embedded graph store: the shared conformance suite
 * (tests/graph_conformance.h), then what only the embedded store does: the
 * WAL and snapshot recovery, torn tails, the directory lock. */
#include "../graph_conformance.h"

#include "graph/embedded/persist.h"
#include "helix/hx_fs.h"

#include <fcntl.h>
#include <sys/stat.h>

static char *base;
static int n_dirs;
static char cur_dir[512];

static hx_graph_t *open_dir(const char *dir)
{
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    cfg.event_log.fsync = HX_FSYNC_NEVER;
    hx_graph_opts_t o;
    hx_graph_opts_defaults(&o);
    o.cfg = &cfg;
    o.dir = dir;
    hx_graph_t *g = NULL;
    hx_err_t e = {0};
    if (hx_graph_open(&o, &g, &e))
        fprintf(stderr, "open %s: %s\n", dir, e.msg);
    return g;
}

static hx_graph_t *open_graph(void)
{
    snprintf(cur_dir, sizeof cur_dir, "%s/g%d", base, n_dirs++);
    return open_dir(cur_dir);
}

/* The store of g is the one opened last. */
static hx_graph_t *reopen_graph(hx_graph_t *g)
{
    hx_graph_close(g);
    return open_dir(cur_dir);
}

/* Close without a snapshot: the WAL alone must rebuild the graph. */
static void test_wal_replay(void)
{
    hx_graph_t *g = open_graph();
    char dir[512];
    snprintf(dir, sizeof dir, "%s", cur_dir);
    gc_build(g, "t1");
    hx_graph_op_t m = gc_merge("t1", "n05", "n06"), d = gc_del("t1", "n07");
    CHECK_INT(gc_apply(g, &m, 1), 0);
    CHECK_INT(gc_apply(g, &d, 1), 0);
    hx_graph_related_q_t q = {.tenant = "t1", .id = "n00", .depth = 3, .limit = 1000};
    hx_graph_result_t before = {0}, after = {0};
    hx_err_t e = {0};
    CHECK_INT(hx_graph_related(g, &q, &before, &e), 0);
    /* copy the WAL away before close writes a snapshot */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p %s.copy && cp %s/wal-*.log %s.copy/", dir, dir, dir);
    CHECK_INT(system(cmd), 0);
    hx_graph_close(g);
    g = open_dir(strcat(dir, ".copy"));
    CHECK(g != NULL);
    if (!g)
        return;
    CHECK_INT(hx_graph_related(g, &q, &after, &e), 0);
    CHECK_INT(after.n_hits, before.n_hits);
    for (size_t i = 0; i < after.n_hits && i < before.n_hits; i++) {
        CHECK_STR(after.hits[i].entity.id, before.hits[i].entity.id);
        CHECK_STR(after.hits[i].via.id, before.hits[i].via.id);
    }
    hx_graph_result_t r;
    CHECK_INT(gc_get(g, "t1", "n05", &r), 0); /* the redirect survived */
    if (r.n_nodes == 1)
        CHECK_STR(r.nodes[0].id, "n06");
    hx_graph_result_free(&r);
    CHECK_INT(gc_get(g, "t1", "n07", &r), HX_ENOTFOUND);
    hx_graph_result_free(&r);
    hx_graph_result_free(&before);
    hx_graph_result_free(&after);
    /* and the snapshot written at that close gives the same again */
    g = reopen_graph(g);
    CHECK_INT(gc_get(g, "t1", "n05", &r), 0);
    hx_graph_result_free(&r);
    hx_graph_close(g);
}

/* A torn last record is cut, with the cursors it carried. */
static void test_torn_tail(void)
{
    hx_graph_t *g = open_graph();
    char dir[512];
    snprintf(dir, sizeof dir, "%s", cur_dir);
    hx_graph_op_t a = gc_ent("t1", "a", "person", "Ann", 1, 1), b = gc_ent("t1", "b", "person", "Ben", 1, 1);
    hx_graph_cursor_t c1 = {"x/0", 1}, c2 = {"x/0", 2};
    hx_graph_batch_t b1 = {&a, 1, &c1, 1}, b2 = {&b, 1, &c2, 1};
    hx_err_t e = {0};
    CHECK_INT(hx_graph_apply(g, &b1, &e), 0);
    CHECK_INT(hx_graph_apply(g, &b2, &e), 0);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p %s.torn && cp %s/wal-*.log %s.torn/", dir, dir, dir);
    CHECK_INT(system(cmd), 0);
    hx_graph_close(g);
    strcat(dir, ".torn");
    /* cut 3 bytes off the end: the second record is torn */
    snprintf(cmd, sizeof cmd, "f=$(ls %s/wal-*.log); truncate -s -3 $f", dir);
    CHECK_INT(system(cmd), 0);
    g = open_dir(dir);
    CHECK(g != NULL);
    if (!g)
        return;
    hx_graph_result_t r;
    CHECK_INT(gc_get(g, "t1", "a", &r), 0);
    hx_graph_result_free(&r);
    CHECK_INT(gc_get(g, "t1", "b", &r), HX_ENOTFOUND);
    hx_graph_result_free(&r);
    hx_graph_cursor_t *cur;
    size_t n;
    CHECK_INT(hx_graph_cursors(g, &cur, &n, &e), 0);
    CHECK(n == 1 && cur[0].value == 1);
    free(cur);
    /* appends continue cleanly after the cut */
    CHECK_INT(hx_graph_apply(g, &b2, &e), 0);
    hx_graph_close(g);
    g = open_dir(dir);
    CHECK_INT(gc_get(g, "t1", "b", &r), 0);
    hx_graph_result_free(&r);
    hx_graph_close(g);
}

static void test_lock(void)
{
    hx_graph_t *g = open_graph(), *second = NULL;
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    hx_graph_opts_t o;
    hx_graph_opts_defaults(&o);
    o.cfg = &cfg;
    o.dir = cur_dir;
    hx_err_t e = {0};
    CHECK_INT(hx_graph_open(&o, &second, &e), HX_EUNAVAIL);
    CHECK_CONTAINS(e.msg, "in use");
    char detail[256];
    CHECK_INT(hx_graph_health(g, detail, sizeof detail), 0);
    CHECK_CONTAINS(detail, "embedded");
    hx_graph_close(g);
}

int main(int argc, char **argv)
{
    const char *part = argc > 1 ? argv[1] : "all";
    base = hx_test_tmpdir("graph");
    if (!strcmp(part, "all") || !strcmp(part, "conformance"))
        run_graph_conformance();
    if (!strcmp(part, "all") || !strcmp(part, "embedded")) {
        RUN(test_wal_replay);
        RUN(test_torn_tail);
        RUN(test_lock);
    }
    hx_rm_rf(base);
    free(base);
    return HX_TEST_DONE();
}
