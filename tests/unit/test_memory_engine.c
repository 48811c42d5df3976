/* The memory engine: CRUD and validation, tenant isolation, search, WAL and
 * snapshot recovery, and multi-node sync over one shared embedded broker
 * (three engines, each with its own dir and node id). */
#include "helix/hx_api_requests.h"
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_fs.h"
#include "helix/hx_memory.h"
#include "helix/hx_metrics.h"
#include "../hx_test.h"
#include "memory/engine.h"

#include <dirent.h>
#include <stdarg.h>

static hx_config_t cfg;

static hx_memory_t *open_engine(const char *dir, const char *node, hx_broker_t *b)
{
    hx_memory_opts_t o;
    hx_memory_opts_defaults(&o);
    o.cfg = &cfg;
    o.dir = dir;
    o.node_id = node;
    o.broker = b;
    o.digest_interval_ms = 300;
    hx_memory_t *m = NULL;
    hx_err_t err = {0};
    if (hx_memory_open(&o, &m, &err))
        fprintf(stderr, "open %s: %s\n", node, err.msg);
    return m;
}

static json_t *create(hx_memory_t *m, const char *tenant, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *body = json_vpack_ex(NULL, 0, fmt, ap);
    va_end(ap);
    json_t *out = NULL;
    hx_err_t err = {0};
    int rc = hx_api_memory_create_json(m, tenant, body, &out, &err);
    if (rc)
        fprintf(stderr, "create: %s\n", err.msg);
    json_decref(body);
    return out;
}

/* The view written as text is byte for byte json_dumps of the view tree. */
static void check_view_text(hx_memory_t *m, const char *tenant, const char *id)
{
    pthread_mutex_lock(&m->mu);
    hx_mitem_t *it = hx_mstore_get(&m->store, tenant, id);
    CHECK(it != NULL);
    if (it) {
        json_t *v = hx_mmodel_view(m, it);
        char *want = json_dumps(v, JSON_COMPACT);
        hx_buf_t b = HX_BUF_INIT;
        CHECK_INT(hx_mmodel_view_text(m, it, &b), 0);
        CHECK(want && hx_buf_cstr(&b));
        if (want && b.data)
            CHECK_STR((const char *)b.data, want);
        free(want);
        json_decref(v);
        hx_buf_free(&b);
    }
    pthread_mutex_unlock(&m->mu);
}

/* POST /v1/memory's text answer is the tree answer: the memory as read
 * afterwards plus its "write". */
static void test_create_text(void)
{
    char *dir = hx_test_tmpdir("mem_text");
    hx_memory_t *m = open_engine(dir, "n1", NULL);
    CHECK(m != NULL);
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:[s,s],s:{s:s,s:i,s:n},s:f,s:s,s:[{s:s}],s:I}", "id", "tx-1",
                             "user_id", "u\"1", "agent_id", "a/1", "content", "tab\there \xc3\xa9 \x01 done",
                             "tags", "b", "a", "metadata", "src", "chat", "n", 3, "gone", "importance", 0.7,
                             "summary", "s", "entities", "name", "Alice", "expires_at", (json_int_t)4102444800000);
    hx_buf_t text = HX_BUF_INIT;
    hx_err_t err = {0};
    CHECK_INT(hx_api_memory_create_text(m, "acme", body, &text, &err), 0);
    CHECK(hx_buf_cstr(&text) != NULL);
    json_error_t je;
    json_t *got = text.data ? json_loads((const char *)text.data, JSON_REJECT_DUPLICATES, &je) : NULL;
    CHECK(got != NULL);
    json_t *w = json_object_get(got, "write");
    CHECK(json_is_integer(json_object_get(w, "hlc")) && json_is_string(json_object_get(w, "node")) &&
          json_is_array(json_object_get(w, "superseded")));
    json_object_del(got, "write");
    json_t *view = NULL;
    CHECK_INT(hx_memory_get(m, "acme", "tx-1", 0, &view, &err), 0);
    CHECK(json_equal(got, view));
    check_view_text(m, "acme", "tx-1");
    /* errors leave out as it was */
    size_t len = text.len;
    CHECK_INT(hx_api_memory_create_text(m, "acme", body, &text, &err), HX_EEXIST);
    CHECK(text.len == len);
    json_decref(got);
    json_decref(view);
    json_decref(body);
    hx_buf_free(&text);
    hx_memory_close(m);
    free(dir);
}

static void test_crud_and_validation(void)
{
    char *dir = hx_test_tmpdir("mem_crud");
    hx_memory_t *m = open_engine(dir, "n1", NULL);
    CHECK(m != NULL);
    json_t *a = create(m, "acme", "{s:s,s:s,s:s,s:[s,s],s:{s:s},s:f}", "id", "pref-1", "user_id", "u1", "content",
                       "prefers OAuth2 for every service", "tags", "auth", "pref", "metadata", "src", "chat",
                       "importance", 0.9);
    CHECK(a != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "content")), "prefers OAuth2 for every service");
    CHECK_STR(json_string_value(json_object_get(a, "type")), "semantic");
    json_decref(a);
    json_t *b = create(m, "acme", "{s:s,s:s,s:s,s:s}", "user_id", "u1", "content", "deploys on Fridays", "type",
                       "episodic", "category", "ops");
    const char *bid = json_string_value(json_object_get(b, "id"));
    CHECK(bid && !strncmp(bid, "mem_", 4));
    hx_err_t err = {0};
    json_t *out = NULL;
    /* Errors a user can act on. */
    json_t *bad = json_pack("{s:s}", "content", "x");
    CHECK_INT(hx_api_memory_create_json(m, "acme", bad, &out, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "user_id");
    json_decref(bad);
    bad = json_pack("{s:s,s:s,s:s}", "user_id", "u", "content", "x", "colour", "red");
    CHECK_INT(hx_api_memory_create_json(m, "acme", bad, &out, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "colour");
    json_decref(bad);
    bad = json_pack("{s:s,s:s,s:s}", "user_id", "u", "content", "x", "type", "dream");
    CHECK_INT(hx_api_memory_create_json(m, "acme", bad, &out, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "episodic");
    json_decref(bad);
    bad = json_pack("{s:s,s:s,s:s}", "id", "pref-1", "user_id", "u", "content", "x");
    CHECK_INT(hx_api_memory_create_json(m, "acme", bad, &out, &err), HX_EEXIST);
    json_decref(bad);
    /* Get counts accesses; other tenants see nothing. */
    CHECK_INT(hx_memory_get(m, "acme", "pref-1", 1, &out, &err), 0);
    json_decref(out);
    CHECK_INT(hx_memory_get(m, "acme", "pref-1", 1, &out, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "access_count")), 2);
    json_decref(out);
    CHECK_INT(hx_memory_get(m, "other", "pref-1", 0, &out, &err), HX_ENOTFOUND);
    /* Patch. */
    json_t *p = json_pack("{s:s,s:[s],s:{s:n,s:i}}", "content", "prefers OAuth2 with PKCE", "tags", "auth",
                          "metadata", "src", "n", 3);
    CHECK_INT(hx_api_memory_update_json(m, "acme", "pref-1", p, &out, &err), 0);
    CHECK_STR(json_string_value(json_object_get(out, "content")), "prefers OAuth2 with PKCE");
    CHECK_INT(json_array_size(json_object_get(out, "tags")), 1);
    CHECK(json_object_get(json_object_get(out, "metadata"), "src") == NULL);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(out, "metadata"), "n")), 3);
    CHECK_INT(json_array_size(json_object_get(json_object_get(out, "write"), "superseded")), 1);
    json_decref(out);
    json_decref(p);
    p = json_pack("{s:s}", "user_id", "u2");
    CHECK_INT(hx_api_memory_update_json(m, "acme", "pref-1", p, &out, &err), HX_EINVAL);
    json_decref(p);
    /* List and filters. */
    hx_memory_query_t q = {.user_id = "u1"};
    CHECK_INT(hx_memory_list(m, "acme", &q, &out, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "count")), 2);
    json_decref(out);
    q.type = "episodic";
    CHECK_INT(hx_memory_list(m, "acme", &q, &out, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "count")), 1);
    json_decref(out);
    hx_memory_query_t qt = {.tag = "auth"};
    CHECK_INT(hx_memory_list(m, "acme", &qt, &out, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "count")), 1);
    json_decref(out);
    CHECK_INT(hx_memory_list(m, "other", &qt, &out, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "count")), 0);
    json_decref(out);
    /* Search: BM25 ranks the memory about OAuth first. */
    json_decref(create(m, "acme", "{s:s,s:s}", "user_id", "u1", "content", "likes tea; oauth mentioned once"));
    json_t *s = json_pack("{s:s}", "query", "OAuth2 PKCE");
    CHECK_INT(hx_memory_search(m, "acme", s, &out, &err), 0);
    json_t *first = json_array_get(json_object_get(out, "memories"), 0);
    CHECK_STR(json_string_value(json_object_get(first, "id")), "pref-1");
    CHECK(json_real_value(json_object_get(first, "score")) > 0);
    json_decref(out);
    json_decref(s);
    s = json_pack("{s:s}", "query", "OAuth2");
    CHECK_INT(hx_memory_search(m, "other", s, &out, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "count")), 0);
    json_decref(out);
    json_decref(s);
    s = json_pack("{s:s}", "query", "  ");
    CHECK_INT(hx_memory_search(m, "acme", s, &out, &err), HX_EINVAL);
    json_decref(s);
    /* Delete: really gone, id not reusable. */
    CHECK_INT(hx_memory_delete(m, "acme", bid, &err), 0);
    CHECK_INT(hx_memory_get(m, "acme", bid, 0, &out, &err), HX_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "deleted");
    CHECK_INT(hx_memory_delete(m, "acme", bid, &err), HX_ENOTFOUND);
    hx_buf_t canon = HX_BUF_INIT;
    hx_memory_canonical(m, &canon);
    CHECK(strstr(hx_buf_cstr(&canon), "Fridays") == NULL);
    hx_buf_free(&canon);
    json_decref(b);
    hx_memory_close(m);
    hx_rm_rf(dir);
    free(dir);
}

static void test_recovery_wal_and_snapshot(void)
{
    char *dir = hx_test_tmpdir("mem_rec");
    hx_memory_t *m = open_engine(dir, "n1", NULL);
    for (int i = 0; i < 50; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        json_decref(create(m, "t", "{s:s,s:s,s:s}", "id", id, "user_id", "u", "content", "before snapshot"));
    }
    hx_err_t err = {0};
    CHECK_INT(hx_memory_snapshot(m, 1, &err), 0);
    json_t *p = json_pack("{s:s}", "content", "after full");
    CHECK_INT(hx_api_memory_update_json(m, "t", "r1", p, NULL, &err), 0);
    json_decref(p);
    CHECK_INT(hx_memory_snapshot(m, 0, &err), 0);
    p = json_pack("{s:s}", "content", "only in the WAL");
    CHECK_INT(hx_api_memory_update_json(m, "t", "r2", p, NULL, &err), 0);
    json_decref(p);
    CHECK_INT(hx_memory_delete(m, "t", "r3", &err), 0);
    hx_buf_t before = HX_BUF_INIT, after = HX_BUF_INIT;
    hx_memory_canonical(m, &before);
    hx_memory_close(m);
    m = open_engine(dir, "n1", NULL);
    CHECK(m != NULL);
    hx_memory_canonical(m, &after);
    CHECK_STR(hx_buf_cstr(&after), hx_buf_cstr(&before));
    json_t *out = NULL;
    CHECK_INT(hx_memory_get(m, "t", "r2", 0, &out, &err), 0);
    CHECK_STR(json_string_value(json_object_get(out, "content")), "only in the WAL");
    json_decref(out);
    /* A write after restart gets a greater stamp than any before it. */
    p = json_pack("{s:s}", "content", "after restart");
    CHECK_INT(hx_api_memory_update_json(m, "t", "r2", p, &out, &err), 0);
    CHECK_INT(json_array_size(json_object_get(out, "conflicts")), 0);
    json_decref(out);
    json_decref(p);
    hx_buf_free(&before);
    hx_buf_free(&after);
    hx_memory_close(m);
    hx_rm_rf(dir);
    free(dir);
}

static hx_broker_t *open_broker(const char *dir)
{
    hx_config_t bc = cfg;
    snprintf(bc.node.data_dir, sizeof bc.node.data_dir, "%s", dir);
    bc.event_log.fsync = HX_FSYNC_NEVER;
    bc.kafka.producer.linger_ms = 1;
    hx_broker_t *b = NULL;
    hx_err_t err = {0};
    if (hx_broker_open(&bc, NULL, &b, &err) || hx_broker_ensure_builtin_topics(b, &err))
        fprintf(stderr, "broker: %s\n", err.msg);
    return b;
}

static int converged(hx_memory_t **m, int n, int64_t timeout_ms)
{
    int64_t end = hx_now_ms() + timeout_ms;
    for (;;) {
        hx_buf_t a = HX_BUF_INIT;
        hx_memory_canonical(m[0], &a);
        int same = 1;
        for (int i = 1; i < n && same; i++) {
            hx_buf_t b = HX_BUF_INIT;
            hx_memory_canonical(m[i], &b);
            same = a.len == b.len && (a.len == 0 || !memcmp(a.data, b.data, a.len));
            hx_buf_free(&b);
        }
        hx_buf_free(&a);
        if (same || hx_now_ms() > end)
            return same;
        hx_sleep_ms(20);
    }
}

static void test_three_nodes_sync_and_conflicts(void)
{
    char *root = hx_test_tmpdir("mem_sync");
    char bdir[512], d[3][512], node[3][8];
    snprintf(bdir, sizeof bdir, "%s/broker", root);
    hx_broker_t *b = open_broker(bdir);
    CHECK(b != NULL);
    hx_memory_t *m[3];
    for (int i = 0; i < 3; i++) {
        snprintf(d[i], sizeof d[i], "%s/n%d", root, i);
        snprintf(node[i], sizeof node[i], "n%d", i);
        m[i] = open_engine(d[i], node[i], b);
        CHECK(m[i] != NULL);
    }
    /* Writes on every node reach every node. */
    for (int i = 0; i < 30; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        json_decref(create(m[i % 3], "t", "{s:s,s:s,s:s}", "id", id, "user_id", "u", "content", "hello"));
    }
    json_decref(create(m[0], "t", "{s:s,s:s,s:s}", "id", "hot", "user_id", "u", "content", "v0"));
    CHECK(converged(m, 3, 10000));
    /* 100 concurrent updates to one memory from 3 nodes (merge_all). */
    json_t *acked[100];
    hx_err_t err = {0};
    for (int k = 0; k < 100; k++) {
        char v[32];
        snprintf(v, sizeof v, "value-%d", k);
        json_t *p = json_pack("{s:s}", "content", v);
        acked[k] = NULL;
        CHECK_INT(hx_api_memory_update_json(m[k % 3], "t", "hot", p, &acked[k], &err), 0);
        json_decref(p);
    }
    CHECK(converged(m, 3, 10000));
    json_t *view = NULL;
    CHECK_INT(hx_memory_get(m[1], "t", "hot", 0, &view, &err), 0);
    check_view_text(m[1], "t", "hot"); /* with its conflicts */
    int lost = 0;
    for (int k = 0; k < 100; k++) {
        json_t *w = json_object_get(acked[k], "write");
        json_int_t hlc = json_integer_value(json_object_get(w, "hlc"));
        const char *nd = json_string_value(json_object_get(w, "node"));
        int present = json_integer_value(json_object_get(json_object_get(view, "version"), "hlc")) == hlc;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(view, "conflicts"), i, c) present |=
            json_integer_value(json_object_get(c, "hlc")) == hlc && !strcmp(json_string_value(json_object_get(c, "node")), nd);
        int superseded = 0;
        for (int j = 0; j < 100 && !present && !superseded; j++) {
            json_t *s;
            json_array_foreach(json_object_get(json_object_get(acked[j], "write"), "superseded"), i, s) superseded |=
                json_integer_value(json_array_get(s, 0)) == hlc && !strcmp(json_string_value(json_array_get(s, 1)), nd);
        }
        lost += !present && !superseded;
    }
    CHECK_INT(lost, 0);
    for (int k = 0; k < 100; k++)
        json_decref(acked[k]);
    json_decref(view);
    json_t *st = NULL;
    CHECK_INT(hx_memory_sync_status(m[0], &st, &err), 0);
    CHECK(json_integer_value(json_object_get(st, "events_published")) > 0);
    CHECK(json_integer_value(json_object_get(st, "events_consumed")) > 0);
    json_decref(st);
    /* Node 2 stops; writes continue; it restarts from its snapshot + WAL and catches up. */
    hx_memory_snapshot(m[2], 1, &err);
    hx_memory_close(m[2]);
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "late%d", i);
        json_decref(create(m[i % 2], "t", "{s:s,s:s,s:s}", "id", id, "user_id", "u", "content", "while down"));
    }
    m[2] = open_engine(d[2], node[2], b);
    CHECK(converged(m, 3, 10000));
    /* Anti-entropy heals a divergence the log cannot: sync/force. */
    json_t *fo = NULL;
    CHECK_INT(hx_memory_sync_force(m[0], 5000, &fo, &err), 0);
    CHECK(json_is_true(json_object_get(fo, "in_sync")));
    CHECK_INT(json_integer_value(json_object_get(fo, "peers")), 2);
    json_decref(fo);
    for (int i = 0; i < 3; i++)
        hx_memory_close(m[i]);
    hx_broker_close(b);
    hx_rm_rf(root);
    free(root);
}

/* A broker outage (here: the events topic is gone) never fails a local
 * write; the deltas stay queued and go out once the broker is back. */
static void test_broker_outage_keeps_writes(void)
{
    char *root = hx_test_tmpdir("mem_outage");
    char bdir[512], d0[512];
    snprintf(bdir, sizeof bdir, "%s/broker", root);
    snprintf(d0, sizeof d0, "%s/n0", root);
    hx_broker_t *b = open_broker(bdir);
    hx_memory_t *m = open_engine(d0, "n0", b);
    hx_err_t err = {0};
    CHECK_INT(hx_broker_topic_delete(b, "helixagent.memory.events", &err), 0);
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "o%d", i);
        json_t *out = create(m, "t", "{s:s,s:s,s:s}", "id", id, "user_id", "u", "content", "during outage");
        CHECK(out != NULL);
        json_decref(out);
    }
    CHECK(hx_memory_flush(m, 300, &err) != 0);
    json_t *st = NULL;
    hx_memory_sync_status(m, &st, &err);
    CHECK(json_integer_value(json_object_get(st, "publish_queue")) > 0);
    json_decref(st);
    CHECK_INT(hx_broker_ensure_builtin_topics(b, &err), 0);
    CHECK_INT(hx_memory_flush(m, 10000, &err), 0);
    hx_memory_sync_status(m, &st, &err);
    CHECK_INT(json_integer_value(json_object_get(st, "publish_queue")), 0);
    CHECK_INT(json_integer_value(json_object_get(st, "events_published")), 5);
    json_decref(st);
    hx_memory_close(m);
    hx_broker_close(b);
    hx_rm_rf(root);
    free(root);
}

/* snapshot.retention_count bounds the files kept, never breaking the chain
 * a restore needs (the newest full snapshot and what follows it). */
static void test_snapshot_retention(void)
{
    char *dir = hx_test_tmpdir("mem_ret");
    hx_config_t saved = cfg;
    cfg.distributed_memory.snapshot.retention_count = 3;
    hx_memory_t *m = open_engine(dir, "n1", NULL);
    hx_err_t err = {0};
    for (int i = 0; i < 8; i++) {
        char id[16];
        snprintf(id, sizeof id, "k%d", i);
        json_decref(create(m, "t", "{s:s,s:s,s:s}", "id", id, "user_id", "u", "content", "x"));
        CHECK_INT(hx_memory_snapshot(m, i % 3 == 0, &err), 0);
    }
    char sdir[600];
    snprintf(sdir, sizeof sdir, "%s/snapshots", dir);
    DIR *d = opendir(sdir);
    int files = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        files += strstr(e->d_name, ".snap") != NULL && strstr(e->d_name, ".tmp") == NULL;
    if (d)
        closedir(d);
    CHECK(files >= 3 && files <= 4); /* 3, or the full one a chain still needs */
    hx_buf_t before = HX_BUF_INIT, after = HX_BUF_INIT;
    hx_memory_canonical(m, &before);
    hx_memory_close(m);
    m = open_engine(dir, "n1", NULL);
    CHECK(m != NULL);
    hx_memory_canonical(m, &after);
    CHECK_STR(hx_buf_cstr(&after), hx_buf_cstr(&before));
    hx_buf_free(&before);
    hx_buf_free(&after);
    hx_memory_close(m);
    cfg = saved;
    hx_rm_rf(dir);
    free(dir);
}

/* kill -9 while a snapshot was being written leaves "<n>-incr.snap.tmp"
 * (hx_fs_write_atomic had not renamed it): the node must start from the
 * snapshots and WAL it has, and drop the partial file. */
static void test_snapshot_partial_file(void)
{
    char *dir = hx_test_tmpdir("mem_part");
    hx_memory_t *m = open_engine(dir, "n1", NULL);
    hx_err_t err = {0};
    json_decref(create(m, "t", "{s:s,s:s,s:s}", "id", "a", "user_id", "u", "content", "in the snapshot"));
    CHECK_INT(hx_memory_snapshot(m, 1, &err), 0);
    json_decref(create(m, "t", "{s:s,s:s,s:s}", "id", "b", "user_id", "u", "content", "in the WAL"));
    hx_buf_t before = HX_BUF_INIT, after = HX_BUF_INIT;
    hx_memory_canonical(m, &before);
    hx_memory_close(m);
    char tmp[700], full[700];
    snprintf(tmp, sizeof tmp, "%s/snapshots/0000000000000002-incr.snap.tmp", dir);
    snprintf(full, sizeof full, "%s/snapshots/0000000000000003-full.snap.tmp", dir);
    CHECK_INT(hx_fs_write_file(tmp, "HXMS half", 9, 0, &err), 0);
    CHECK_INT(hx_fs_write_file(full, "", 0, 0, &err), 0);
    m = open_engine(dir, "n1", NULL);
    CHECK(m != NULL);
    if (m) {
        hx_memory_canonical(m, &after);
        CHECK_STR(hx_buf_cstr(&after), hx_buf_cstr(&before));
        CHECK(access(tmp, F_OK) != 0 && access(full, F_OK) != 0);
        /* and the next snapshot, number 2 again, is written and restored */
        CHECK_INT(hx_memory_snapshot(m, 0, &err), 0);
        hx_memory_close(m);
        m = open_engine(dir, "n1", NULL);
        CHECK(m != NULL);
        hx_buf_free(&after);
        if (m)
            hx_memory_canonical(m, &after);
        CHECK_STR(hx_buf_cstr(&after), hx_buf_cstr(&before));
        hx_memory_close(m);
    }
    hx_buf_free(&before);
    hx_buf_free(&after);
    hx_rm_rf(dir);
    free(dir);
}

int main(void)
{
    hx_config_defaults(&cfg);
    cfg.event_log.fsync = HX_FSYNC_NEVER;
    RUN(test_crud_and_validation);
    RUN(test_create_text);
    RUN(test_recovery_wal_and_snapshot);
    RUN(test_snapshot_retention);
    RUN(test_snapshot_partial_file);
    RUN(test_three_nodes_sync_and_conflicts);
    RUN(test_broker_outage_keeps_writes);
    return HX_TEST_DONE();
}
