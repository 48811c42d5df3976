// HX_TEST_PARTS: proto pool
/* The Bolt client against the scripted test server: handshake and version
 * choice, auth (and its failure), auto-commit and explicit transactions,
 * FAILURE then RESET, chunking of large values, keep-alive NOOPs, has_more
 * paging, every structure in records, timeouts, the pool and reconnect. */
#include "../hx_test.h"
#include "bolt_stub.h"
#include "graph/neo4j/bolt.h"
#include "graph/neo4j/bolt_io.h"

#define LOGIN58                                                                          \
    "!: BOLT 5.8\n"                                                                      \
    "C: HELLO {\"user_agent\": \"helix-test\", \"bolt_agent\": {\"product\": \"helix-test\", \"*\": \"*\"}}\n" \
    "S: SUCCESS {\"server\": \"Neo4j/5.26.0\", \"connection_id\": \"bolt-1\"}\n"       \
    "C: LOGON {\"scheme\": \"basic\", \"principal\": \"neo4j\", \"credentials\": \"secret\"}\n" \
    "S: SUCCESS {}\n"

#define RUN1                                                                             \
    "C: RUN \"RETURN 1 AS x\" {} {}\n"                                                 \
    "C: PULL {\"n\": -1}\n"                                                              \
    "S: SUCCESS {\"fields\": [\"x\"]}\n"                                                 \
    "S: RECORD [1]\n"                                                                    \
    "S: SUCCESS {\"type\": \"r\"}\n"

static hx_bolt_stub_t *stub;
static char uri[64];

static hx_bolt_opts_t opts(void)
{
    hx_bolt_opts_t o = {0};
    o.uri = uri;
    o.user = "neo4j";
    o.password = "secret";
    o.user_agent = "helix-test";
    o.connect_timeout_ms = 2000;
    o.io_timeout_ms = 3000;
    return o;
}

static int start(const char *const *scripts, size_t n)
{
    hx_err_t err = {0};
    int rc = hx_bolt_stub_start(scripts, n, &stub, &err);
    if (rc)
        fprintf(stderr, "stub: %s\n", err.msg);
    else
        hx_bolt_stub_uri(stub, uri, sizeof uri);
    return rc;
}

/* A connection to the running stub (on database db, NULL = default), or
 * NULL after recording the failure and stopping the stub. */
static hx_bolt_conn_t *connect_or_stop(const char *db)
{
    hx_bolt_opts_t o = opts();
    o.database = db;
    hx_bolt_conn_t *c = NULL;
    hx_err_t err = {0};
    if (hx_bolt_open(&o, &c, &err)) {
        fprintf(stderr, "  %s\n", err.msg);
        CHECK(0);
        hx_bolt_stub_stop(stub);
        stub = NULL;
        return NULL;
    }
    return c;
}

static void finish_stub(void)
{
    hx_err_t err = {0};
    int rc = hx_bolt_stub_wait(stub, 3000, &err);
    if (rc)
        fprintf(stderr, "  stub: %s\n", err.msg);
    CHECK_INT(rc, 0);
    hx_bolt_stub_stop(stub);
    stub = NULL;
}

static void test_uri(void)
{
    char host[64];
    int port;
    hx_err_t err = {0};
    CHECK_INT(hx_bolt_parse_uri("bolt://db.example:7688", host, sizeof host, &port, &err), 0);
    CHECK_STR(host, "db.example");
    CHECK_INT(port, 7688);
    CHECK_INT(hx_bolt_parse_uri("neo4j://h", host, sizeof host, &port, &err), 0);
    CHECK_INT(port, 7687);
    CHECK_INT(hx_bolt_parse_uri("bolt://[::1]:9/", host, sizeof host, &port, &err), 0);
    CHECK_STR(host, "::1");
    CHECK_INT(hx_bolt_parse_uri("bolt+s://h:1", host, sizeof host, &port, &err), HX_ECONFIG);
    CHECK_CONTAINS(err.msg, "TLS");
    CHECK_INT(hx_bolt_parse_uri("http://h:7474", host, sizeof host, &port, &err), HX_ECONFIG);
    CHECK_CONTAINS(err.msg, "neo4j.uri");
    CHECK_INT(hx_bolt_parse_uri("bolt://h:99999", host, sizeof host, &port, &err), HX_ECONFIG);
    CHECK_INT(hx_bolt_parse_uri("bolt://h:1/neo4j", host, sizeof host, &port, &err), HX_ECONFIG);
    CHECK_CONTAINS(err.msg, "neo4j.database");
}

static void test_handshake_5_8(void)
{
    const char *s[] = {LOGIN58 RUN1 "C: GOODBYE\n"};
    if (start(s, 1))
        return;
    hx_bolt_opts_t o = opts();
    hx_bolt_conn_t *c = NULL;
    hx_err_t err = {0};
    CHECK_INT(hx_bolt_open(&o, &c, &err), 0);
    if (!c) {
        fprintf(stderr, "  %s\n", err.msg);
        hx_bolt_stub_stop(stub);
        return;
    }
    int maj, min;
    hx_bolt_version(c, &maj, &min);
    CHECK_INT(maj, 5);
    CHECK_INT(min, 8);
    CHECK_STR(hx_bolt_server_agent(c), "Neo4j/5.26.0");
    hx_bolt_result_t r = {0};
    CHECK_INT(hx_bolt_run(c, "RETURN 1 AS x", NULL, &r, &err), 0);
    CHECK_INT(r.n_records, 1);
    CHECK_INT(hx_bolt_result_col(&r, "x"), 0);
    CHECK(hx_bolt_result_get(&r, 0, 0) && hx_bolt_result_get(&r, 0, 0)->u.i == 1);
    CHECK_STR(hx_ps_map_str(r.summary, "type"), "r");
    hx_bolt_result_free(&r);
    hx_bolt_close(c);
    finish_stub();
}

/* Bolt 5.0 and 4.4 carry the credentials in HELLO (no LOGON), and 4.4 has
 * no bolt_agent. */
static void test_older_versions(void)
{
    const char *s[] = {
        "!: BOLT 5.0\n"
        "C: HELLO {\"user_agent\": \"helix-test\", \"scheme\": \"basic\", \"principal\": \"neo4j\", \"credentials\": \"secret\"}\n"
        "S: SUCCESS {\"server\": \"Neo4j/5.0.0\"}\n" RUN1 "C: GOODBYE\n",
        "!: BOLT 4.4\n"
        "C: HELLO {\"user_agent\": \"helix-test\", \"scheme\": \"basic\", \"principal\": \"neo4j\", \"credentials\": \"secret\"}\n"
        "S: SUCCESS {\"server\": \"Neo4j/4.4.30\"}\n" RUN1 "C: GOODBYE\n",
        /* A client limited to 4.4 gets 4.4 from a 5.8 server. */
        "C: HELLO {\"user_agent\": \"helix-test\", \"*\": \"*\"}\n"
        "S: SUCCESS {\"server\": \"Neo4j/5.26.0\"}\n"
        "C: GOODBYE\n",
    };
    if (start(s, 3))
        return;
    hx_bolt_opts_t o = opts();
    int want[3][2] = {{5, 0}, {4, 4}, {4, 4}};
    for (int i = 0; i < 3; i++) {
        hx_bolt_conn_t *c = NULL;
        hx_err_t err = {0};
        if (i == 2) {
            o.max_major = 4;
            o.max_minor = 4;
        }
        CHECK_INT(hx_bolt_open(&o, &c, &err), 0);
        if (!c) {
            fprintf(stderr, "  %d: %s\n", i, err.msg);
            continue;
        }
        int maj, min;
        hx_bolt_version(c, &maj, &min);
        CHECK_INT(maj, want[i][0]);
        CHECK_INT(min, want[i][1]);
        if (i < 2)
            CHECK_INT(hx_bolt_run(c, "RETURN 1 AS x", NULL, NULL, &err), 0);
        hx_bolt_close(c);
    }
    finish_stub();
}

static void test_handshake_refused(void)
{
    const char *s[] = {"!: HANDSHAKE 00000000\n", "!: HANDSHAKE 48545450\n", "!: HANDSHAKE 00000306\n"};
    if (start(s, 3))
        return;
    hx_bolt_opts_t o = opts();
    hx_bolt_conn_t *c = NULL;
    hx_err_t err = {0};
    CHECK_INT(hx_bolt_open(&o, &c, &err), HX_EUNSUPPORTED);
    CHECK_CONTAINS(err.msg, "none of the Bolt versions");
    CHECK_INT(hx_bolt_open(&o, &c, &err), HX_EUNSUPPORTED);
    CHECK_CONTAINS(err.msg, "HTTP");
    CHECK_INT(hx_bolt_open(&o, &c, &err), HX_ECORRUPT); /* 6.3 was never offered */
    CHECK(c == NULL);
    hx_bolt_stub_stop(stub);
}

static void test_unreachable(void)
{
    /* A port nobody listens on: bind one, close it, connect to it. */
    const char *s[] = {"C: GOODBYE\n"};
    if (start(s, 1))
        return;
    hx_bolt_stub_stop(stub);
    hx_bolt_opts_t o = opts();
    hx_bolt_conn_t *c = NULL;
    hx_err_t err = {0};
    int rc = hx_bolt_open(&o, &c, &err);
    CHECK(rc == HX_EUNAVAIL || rc == HX_ETIMEOUT);
    CHECK_CONTAINS(err.msg, "unreachable");
}

static void test_auth_failure(void)
{
    const char *s[] = {
        "C: HELLO {\"user_agent\": \"*\", \"bolt_agent\": \"*\"}\n"
        "S: SUCCESS {\"server\": \"Neo4j/5.26.0\"}\n"
        "C: LOGON {\"scheme\": \"basic\", \"principal\": \"neo4j\", \"credentials\": \"wrong\"}\n"
        "S: FAILURE {\"code\": \"Neo.ClientError.Security.Unauthorized\", \"message\": \"The client is unauthorized due to authentication failure.\"}\n"
        "S: <EXIT>\n",
    };
    if (start(s, 1))
        return;
    hx_bolt_opts_t o = opts();
    o.password = "wrong";
    hx_bolt_conn_t *c = NULL;
    hx_err_t err = {0};
    CHECK_INT(hx_bolt_open(&o, &c, &err), HX_EAUTH);
    CHECK_CONTAINS(err.msg, "Neo.ClientError.Security.Unauthorized");
    CHECK_CONTAINS(err.msg, "authentication failure");
    CHECK_CONTAINS(err.msg, "neo4j.password");
    CHECK(c == NULL);
    finish_stub();
}

/* A FAILURE comes back with the server's code and message; the client
 * RESETs and the connection works again. Bolt 5.7+ names the code neo4j_code. */
static void test_failure_then_reset(void)
{
    const char *s[] = {
        LOGIN58
        "C: RUN \"RETURN nope(\" {} {}\n"
        "C: PULL {\"n\": -1}\n"
        "S: FAILURE {\"neo4j_code\": \"Neo.ClientError.Statement.SyntaxError\", \"message\": \"Invalid input '('\", \"gql_status\": \"42001\"}\n"
        "S: IGNORED\n"
        "C: RESET\n"
        "S: SUCCESS {}\n" RUN1
        "C: RUN \"RETURN 2\" {} {}\n"
        "C: PULL {\"n\": -1}\n"
        "S: FAILURE {\"code\": \"Neo.TransientError.Transaction.DeadlockDetected\", \"message\": \"deadlock\"}\n"
        "S: IGNORED\n"
        "C: RESET\n"
        "S: SUCCESS {}\n"
        "C: GOODBYE\n",
    };
    if (start(s, 1))
        return;
    hx_err_t err = {0};
    hx_bolt_conn_t *c = connect_or_stop(NULL);
    if (!c)
        return;
    hx_bolt_result_t r = {0};
    CHECK_INT(hx_bolt_run(c, "RETURN nope(", NULL, &r, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "Neo.ClientError.Statement.SyntaxError");
    CHECK_CONTAINS(err.msg, "Invalid input '('");
    CHECK_STR(hx_bolt_last_code(c), "Neo.ClientError.Statement.SyntaxError");
    CHECK(!hx_bolt_broken(c));
    hx_bolt_result_free(&r);
    CHECK_INT(hx_bolt_run(c, "RETURN 1 AS x", NULL, &r, &err), 0);
    CHECK_INT(r.n_records, 1);
    hx_bolt_result_free(&r);
    CHECK_INT(hx_bolt_run(c, "RETURN 2", NULL, NULL, &err), HX_EAGAIN);
    CHECK(!hx_bolt_broken(c));
    hx_bolt_close(c);
    finish_stub();
}

/* BEGIN goes out with the first RUN; database and read mode are in BEGIN;
 * a failure inside the transaction ends it (RESET) and a later ROLLBACK is
 * refused locally. */
static void test_transactions(void)
{
    const char *s[] = {
        LOGIN58
        "C: BEGIN {\"db\": \"graph\"}\n"
        "C: RUN \"CREATE (n)\" {\"k\": 1} {}\n"
        "C: PULL {\"n\": -1}\n"
        "S: SUCCESS {}\n"
        "S: SUCCESS {\"fields\": []}\n"
        "S: SUCCESS {\"type\": \"w\"}\n"
        "C: COMMIT\n"
        "S: SUCCESS {\"bookmark\": \"FB:x\"}\n"
        "C: BEGIN {\"db\": \"graph\", \"mode\": \"r\"}\n"
        "C: RUN \"MATCH (n) RETURN n\" {} {}\n"
        "C: PULL {\"n\": -1}\n"
        "S: SUCCESS {}\n"
        "S: SUCCESS {\"fields\": [\"n\"]}\n"
        "S: SUCCESS {}\n"
        "C: ROLLBACK\n"
        "S: SUCCESS {}\n"
        "C: BEGIN {\"db\": \"graph\"}\n"
        "C: RUN \"BAD\" {} {}\n"
        "C: PULL {\"n\": -1}\n"
        "S: SUCCESS {}\n"
        "S: FAILURE {\"code\": \"Neo.ClientError.Schema.ConstraintValidationFailed\", \"message\": \"already exists\"}\n"
        "S: IGNORED\n"
        "C: RESET\n"
        "S: SUCCESS {}\n"
        "C: RUN \"RETURN 1 AS x\" {} {\"db\": \"graph\"}\n"
        "C: PULL {\"n\": -1}\n"
        "S: SUCCESS {\"fields\": [\"x\"]}\n"
        "S: SUCCESS {}\n"
        "C: GOODBYE\n",
    };
    if (start(s, 1))
        return;
    hx_err_t err = {0};
    hx_bolt_conn_t *c = connect_or_stop("graph");
    if (!c)
        return;
    hx_buf_t params = HX_BUF_INIT;
    hx_ps_put_map_header(&params, 1);
    hx_ps_put_cstr(&params, "k");
    hx_ps_put_int(&params, 1);
    CHECK_INT(hx_bolt_begin(c, 1, &err), 0);
    CHECK_INT(hx_bolt_begin(c, 1, &err), HX_EINVAL);
    CHECK_INT(hx_bolt_run(c, "CREATE (n)", &params, NULL, &err), 0);
    CHECK(hx_bolt_in_tx(c));
    CHECK_INT(hx_bolt_commit(c, &err), 0);
    CHECK(!hx_bolt_in_tx(c));
    CHECK_INT(hx_bolt_begin(c, 0, &err), 0);
    CHECK_INT(hx_bolt_run(c, "MATCH (n) RETURN n", NULL, NULL, &err), 0);
    CHECK_INT(hx_bolt_rollback(c, &err), 0);
    CHECK_INT(hx_bolt_begin(c, 1, &err), 0);
    CHECK_INT(hx_bolt_run(c, "BAD", NULL, NULL, &err), HX_ECONFLICT);
    CHECK(!hx_bolt_in_tx(c));
    CHECK_INT(hx_bolt_rollback(c, &err), HX_EINVAL);
    /* A BEGIN that never reached the server is dropped by ROLLBACK. */
    CHECK_INT(hx_bolt_begin(c, 1, &err), 0);
    CHECK_INT(hx_bolt_rollback(c, &err), 0);
    CHECK_INT(hx_bolt_run(c, "RETURN 1 AS x", NULL, NULL, &err), 0);
    hx_buf_free(&params);
    hx_bolt_close(c);
    finish_stub();
}

/* Parameters of every type reach the server as the values we meant, and a
 * record of every structure decodes into the views. Values over one chunk
 * (65535 bytes) go both ways; the server's NOOP chunks are skipped. */
static void test_values_and_chunking(void)
{
    const char *s[] = {
        LOGIN58
        "C: RUN \"RETURN $p\" {\"i\": -129, \"f\": 1.5, \"s\": \"Größe\", \"t\": true, \"z\": null,"
        " \"l\": [1, \"a\", [2]], \"m\": {\"k\": {\"$bytes\": \"00ff\"}}, \"big\": {\"$repeat\": [\"xyz\", 70000]}} {}\n"
        "C: PULL {\"n\": -1}\n"
        "S: <NOOP>\n"
        "S: SUCCESS {\"fields\": [\"n\", \"r\", \"p\", \"when\", \"big\"]}\n"
        "S: <NOOP>\n"
        "S: RECORD [{\"$N\": [1, [\"Entity\"], {\"name\": \"Ada\"}, \"4:db:1\"]},"
        " {\"$R\": [5, 1, 2, \"KNOWS\", {\"strength\": 0.5}, \"5:db:5\", \"4:db:1\", \"4:db:2\"]},"
        " {\"$P\": [[{\"$N\": [1, [], {}, \"a\"]}, {\"$N\": [2, [], {}, \"b\"]}], [{\"$r\": [5, \"KNOWS\", {}, \"r\"]}], [1, 1]]},"
        " [{\"$D\": [19000]}, {\"$T\": [1, 3600]}, {\"$t\": [2]}, {\"$I\": [1, 2, 0]}, {\"$i\": [1, 2, \"Europe/Paris\"]},"
        " {\"$d\": [1, 2]}, {\"$E\": [1, 2, 3, 4]}, {\"$X\": [7203, 1.0, 2.0]}, {\"$Y\": [9157, 1.0, 2.0, 3.0]}],"
        " {\"$repeat\": [\"ab\", 100000]}]\n"
        "S: SUCCESS {}\n"
        "C: GOODBYE\n",
    };
    if (start(s, 1))
        return;
    hx_err_t err = {0};
    hx_bolt_conn_t *c = connect_or_stop(NULL);
    if (!c)
        return;
    hx_buf_t p = HX_BUF_INIT;
    hx_ps_put_map_header(&p, 8);
    hx_ps_put_cstr(&p, "i");
    hx_ps_put_int(&p, -129);
    hx_ps_put_cstr(&p, "f");
    hx_ps_put_float(&p, 1.5);
    hx_ps_put_cstr(&p, "s");
    hx_ps_put_cstr(&p, "Größe");
    hx_ps_put_cstr(&p, "t");
    hx_ps_put_bool(&p, 1);
    hx_ps_put_cstr(&p, "z");
    hx_ps_put_null(&p);
    hx_ps_put_cstr(&p, "l");
    hx_ps_put_list_header(&p, 3);
    hx_ps_put_int(&p, 1);
    hx_ps_put_cstr(&p, "a");
    hx_ps_put_list_header(&p, 1);
    hx_ps_put_int(&p, 2);
    hx_ps_put_cstr(&p, "m");
    hx_ps_put_map_header(&p, 1);
    hx_ps_put_cstr(&p, "k");
    hx_ps_put_bytes(&p, "\x00\xff", 2);
    hx_ps_put_cstr(&p, "big");
    char *big = malloc(210001);
    for (int i = 0; i < 70000; i++)
        memcpy(big + 3 * i, "xyz", 3);
    hx_ps_put_string(&p, big, 210000);
    free(big);
    hx_bolt_result_t r = {0};
    CHECK_INT(hx_bolt_run(c, "RETURN $p", &p, &r, &err), 0);
    if (r.n_records == 1) {
        hx_ps_node_t n;
        hx_ps_rel_t rel;
        hx_ps_path_t path;
        CHECK_INT(hx_ps_as_node(hx_bolt_result_get(&r, 0, 0), &n), 0);
        CHECK_STR(hx_ps_map_str(n.props, "name"), "Ada");
        CHECK_STR(n.element_id, "4:db:1");
        CHECK_INT(hx_ps_as_rel(hx_bolt_result_get(&r, 0, 1), &rel), 0);
        CHECK_STR(rel.type, "KNOWS");
        CHECK_STR(rel.start_element_id, "4:db:1");
        CHECK_INT(hx_ps_as_path(&r.arena, hx_bolt_result_get(&r, 0, 2), &path), 0);
        CHECK_INT(path.length, 1);
        const hx_ps_value_t *when = hx_bolt_result_get(&r, 0, 3);
        CHECK_INT(when->n, 9);
        CHECK_INT(when->u.items[4].tag, HX_PS_TAG_DATETIME_ZONE_ID);
        CHECK_STR(when->u.items[4].u.items[2].u.s, "Europe/Paris");
        CHECK(when->u.items[8].u.items[3].u.f == 3.0);
        CHECK_INT(hx_bolt_result_get(&r, 0, 4)->n, 200000);
    } else {
        fprintf(stderr, "  %s\n", err.msg);
        CHECK_INT(r.n_records, 1);
    }
    hx_bolt_result_free(&r);
    hx_buf_free(&p);
    hx_bolt_close(c);
    finish_stub();
}

/* has_more: the client keeps PULLing until the server says it is done. */
static void test_has_more(void)
{
    const char *s[] = {
        LOGIN58
        "C: RUN \"UNWIND range(1, 3) AS x RETURN x\" {} {}\n"
        "C: PULL {\"n\": -1}\n"
        "S: SUCCESS {\"fields\": [\"x\"]}\n"
        "S: RECORD [1]\n"
        "S: RECORD [2]\n"
        "S: SUCCESS {\"has_more\": true}\n"
        "C: PULL {\"n\": -1}\n"
        "S: RECORD [3]\n"
        "S: SUCCESS {}\n"
        "C: GOODBYE\n",
    };
    if (start(s, 1))
        return;
    hx_bolt_opts_t o = opts();
    hx_bolt_conn_t *c = NULL;
    hx_err_t err = {0};
    if (!hx_bolt_open(&o, &c, &err)) {
        hx_bolt_result_t r = {0};
        CHECK_INT(hx_bolt_run(c, "UNWIND range(1, 3) AS x RETURN x", NULL, &r, &err), 0);
        CHECK_INT(r.n_records, 3);
        CHECK_INT(hx_bolt_result_col(&r, "x"), 0);
        hx_bolt_result_free(&r);
        hx_bolt_close(c);
    }
    finish_stub();
}

/* A server that stops answering: the request times out and the connection
 * is broken (its stream is out of step), with a message naming the knob. */
static void test_timeout(void)
{
    const char *s[] = {LOGIN58 "C: RUN \"RETURN 1 AS x\" {} {}\n"
                               "C: PULL {\"n\": -1}\n"
                               "S: <SLEEP 1500>\n"
                               "S: <EXIT>\n"};
    if (start(s, 1))
        return;
    hx_bolt_opts_t o = opts();
    o.io_timeout_ms = 300;
    hx_bolt_conn_t *c = NULL;
    hx_err_t err = {0};
    if (!hx_bolt_open(&o, &c, &err)) {
        int64_t t0 = hx_bolt_now_ms();
        CHECK_INT(hx_bolt_run(c, "RETURN 1 AS x", NULL, NULL, &err), HX_ETIMEOUT);
        int64_t took = hx_bolt_now_ms() - t0;
        CHECK(took >= 250 && took < 1400);
        CHECK_CONTAINS(err.msg, "neo4j.timeout_ms");
        CHECK(hx_bolt_broken(c));
        CHECK_INT(hx_bolt_run(c, "RETURN 1 AS x", NULL, NULL, &err), HX_EIO);
        CHECK_CONTAINS(err.msg, "broken");
        hx_bolt_close(c);
    }
    finish_stub();
}

/* A malformed answer breaks the connection instead of being trusted. */
static void test_protocol_violation(void)
{
    const char *s[] = {LOGIN58 "C: RUN \"RETURN 1 AS x\" {} {}\n"
                               "C: PULL {\"n\": -1}\n"
                               "S: <RAW 0003A10101 0000>\n"
                               "S: <EXIT>\n"};
    if (start(s, 1))
        return;
    hx_bolt_opts_t o = opts();
    hx_bolt_conn_t *c = NULL;
    hx_err_t err = {0};
    if (!hx_bolt_open(&o, &c, &err)) {
        CHECK_INT(hx_bolt_run(c, "RETURN 1 AS x", NULL, NULL, &err), HX_ECORRUPT);
        CHECK(hx_bolt_broken(c));
        hx_bolt_close(c);
    }
    finish_stub();
}

/* The test server itself: a message that differs from the script ends the
 * connection and is reported with the line and both messages. */
static void test_stub_detects_mismatch(void)
{
    const char *s[] = {LOGIN58 "C: RUN \"RETURN 1 AS x\" {} {}\n"};
    if (start(s, 1))
        return;
    hx_bolt_opts_t o = opts();
    hx_bolt_conn_t *c = NULL;
    hx_err_t err = {0};
    if (!hx_bolt_open(&o, &c, &err)) {
        CHECK(hx_bolt_run(c, "RETURN 2 AS y", NULL, NULL, &err) < 0);
        hx_bolt_close(c);
    }
    int rc = hx_bolt_stub_wait(stub, 2000, &err);
    CHECK_INT(rc, HX_EINVAL);
    CHECK_CONTAINS(err.msg, "line 6");
    CHECK_CONTAINS(err.msg, "RETURN 2 AS y");
    hx_bolt_stub_stop(stub);
    const char *bad[] = {"C: NOPE {}\n"};
    CHECK_INT(hx_bolt_stub_start(bad, 1, &stub, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "unknown message 'NOPE'");
}

/* ---- pool ---- */
typedef struct {
    int calls;
} work_t;

static int work(hx_bolt_conn_t *c, void *ctx, hx_err_t *err)
{
    ((work_t *)ctx)->calls++;
    return hx_bolt_run(c, "RETURN 1 AS x", NULL, NULL, err);
}

/* The server drops an idle pooled connection (as a restart would): the next
 * piece of work fails on it, and the pool reconnects and runs it again. */
static void test_pool_reconnect(void)
{
    const char *s[] = {
        LOGIN58 RUN1 "S: <EXIT>\n",
        "!: REPEAT\n" LOGIN58 RUN1 "C: GOODBYE\n",
    };
    if (start(s, 2))
        return;
    hx_bolt_opts_t o = opts();
    hx_bolt_pool_t *p = NULL;
    hx_err_t err = {0};
    CHECK_INT(hx_bolt_pool_new(&o, 2, &p, &err), 0);
    work_t w = {0};
    CHECK_INT(hx_bolt_pool_with(p, work, &w, &err), 0);
    CHECK_INT(w.calls, 1);
    usleep(100 * 1000); /* let the server's close arrive */
    int rc = hx_bolt_pool_with(p, work, &w, &err);
    if (rc)
        fprintf(stderr, "  %s\n", err.msg);
    CHECK_INT(rc, 0);
    CHECK_INT(w.calls, 3);
    hx_bolt_pool_stats_t st;
    hx_bolt_pool_stats(p, &st);
    CHECK_INT(st.opened, 2);
    CHECK_INT(st.discarded, 1);
    CHECK_INT(st.idle, 1);
    CHECK_INT(st.in_use, 0);
    hx_bolt_pool_free(p);
    finish_stub();
}

/* At most size connections: the next acquire waits, then says which knob. */
static void test_pool_limit(void)
{
    const char *s[] = {"!: REPEAT\n!: AUTO RESET\n" LOGIN58 "C: GOODBYE\n"};
    if (start(s, 1))
        return;
    hx_bolt_opts_t o = opts();
    o.connect_timeout_ms = 200;
    hx_bolt_pool_t *p = NULL;
    hx_err_t err = {0};
    CHECK_INT(hx_bolt_pool_new(&o, 0, &p, &err), HX_ECONFIG);
    CHECK_INT(hx_bolt_pool_new(&o, 2, &p, &err), 0);
    hx_bolt_conn_t *a = NULL, *b = NULL, *c = NULL;
    CHECK_INT(hx_bolt_pool_acquire(p, &a, &err), 0);
    CHECK_INT(hx_bolt_pool_acquire(p, &b, &err), 0);
    CHECK_INT(hx_bolt_pool_acquire(p, &c, &err), HX_EAGAIN);
    CHECK_CONTAINS(err.msg, "neo4j.pool_size");
    hx_bolt_pool_release(p, a);
    CHECK_INT(hx_bolt_pool_acquire(p, &c, &err), 0);
    CHECK(c == a); /* reused, not reopened */
    hx_bolt_pool_release(p, b);
    hx_bolt_pool_release(p, c);
    hx_bolt_pool_stats_t st;
    hx_bolt_pool_stats(p, &st);
    CHECK_INT(st.opened, 2);
    CHECK_INT(st.idle, 2);
    hx_bolt_pool_free(p);
    finish_stub();
    CHECK_INT(hx_bolt_pool_new(&o, 2, &p, &err), 0);
    hx_bolt_pool_free(p);
}

int main(int argc, char **argv)
{
    const char *part = argc > 1 ? argv[1] : "all";
    int all = strcmp(part, "all") == 0;
    if (all || strcmp(part, "proto") == 0) {
        RUN(test_uri);
        RUN(test_handshake_5_8);
        RUN(test_older_versions);
        RUN(test_handshake_refused);
        RUN(test_unreachable);
        RUN(test_auth_failure);
        RUN(test_failure_then_reset);
        RUN(test_transactions);
        RUN(test_values_and_chunking);
        RUN(test_has_more);
        RUN(test_timeout);
        RUN(test_protocol_violation);
        RUN(test_stub_detects_mismatch);
    }
    if (all || strcmp(part, "pool") == 0) {
        RUN(test_pool_reconnect);
        RUN(test_pool_limit);
    }
    return HX_TEST_DONE();
}
