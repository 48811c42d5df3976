/* The knowledge graph subsystem: the graph store under <data_dir>/graph
 * (or Neo4j, by backends.graph), its consumers, and the /v1/knowledge
 * routes (docs/graph.md). Writes are graph events produced to
 * helixagent.entities.updates; a write answers 200/201 once the graph
 * consumer applied it, or 202 when graph.wait_ms ran out first (the events
 * are durable and applied later). Every call is scoped to the request's
 * tenant. */
#include "api/api.h"
#include "helix/hx_clock.h"
#include "helix/hx_graph.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRAPH(ctx) (((hx_app_t *)(ctx))->graph)
#define BATCH_MAX 10000

static int wait_ms(void *ctx)
{
    return ((hx_app_t *)ctx)->cfg->graph.wait_ms;
}

/* ---- reads ---- */

static json_t *hits_json(const hx_graph_result_t *r, int with_rel, const char *score_key)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < r->n_hits; i++) {
        const hx_graph_hit_t *h = &r->hits[i];
        json_t *o = json_pack("{s:o,s:f}", "entity", hx_graph_entity_json(&h->entity), score_key, h->score);
        if (with_rel) {
            json_object_set_new(o, "depth", json_integer(h->depth));
            json_object_set_new(o, "relationship", hx_graph_rel_json(&h->via));
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

/* A double query parameter: def when absent; 400 naming it otherwise. */
static int query_double(hx_req_t *req, const char *name, double def, double *out)
{
    const char *v = hx_req_query(req, name);
    *out = def;
    if (!v)
        return HX_OK;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(d) || d < 0)
        return hx_err_set(hx_req_err(req), HX_EINVAL, "query parameter %s must be a number >= 0, got '%.40s'", name,
                          v);
    *out = d;
    return HX_OK;
}

static int related(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_api_path_id(req, "entity_id", "entity_id");
    if (!id)
        return HX_EINVAL;
    int64_t depth, limit;
    double min_strength;
    int rc;
    /* depth gets its own range check so a 0 or 6 says what is allowed */
    if ((rc = hx_req_query_int(req, "depth", 1, INT64_MIN, INT64_MAX, &depth)) ||
        (rc = hx_req_query_int(req, "limit", 50, 1, HX_GRAPH_LIMIT_MAX, &limit)) ||
        (rc = query_double(req, "min_strength", 0, &min_strength)))
        return rc;
    if (depth < 1 || depth > HX_GRAPH_DEPTH_MAX)
        return hx_err_set(hx_req_err(req), HX_EINVAL, "query parameter depth must be from 1 to %d, got %lld",
                          HX_GRAPH_DEPTH_MAX, (long long)depth);
    const char *dir = hx_req_query(req, "direction");
    hx_graph_dir_t d = HX_GRAPH_DIR_BOTH;
    if (dir && !strcmp(dir, "out"))
        d = HX_GRAPH_DIR_OUT;
    else if (dir && !strcmp(dir, "in"))
        d = HX_GRAPH_DIR_IN;
    else if (dir && strcmp(dir, "both"))
        return hx_err_set(hx_req_err(req), HX_EINVAL, "query parameter direction must be out, in or both");
    hx_graph_related_q_t q = {.tenant = hx_req_tenant(req), .id = id, .depth = (int)depth, .limit = (int)limit,
                              .type = hx_req_query(req, "type"), .rel_type = hx_req_query(req, "rel"),
                              .min_strength = min_strength, .direction = d};
    hx_graph_result_t r = {0};
    if ((rc = hx_graph_related(GRAPH(ctx), &q, &r, hx_req_err(req))))
        return rc;
    json_t *out = json_pack("{s:s,s:i,s:o,s:I,s:I}", "entity_id", id, "depth", (int)depth, "results",
                            hits_json(&r, 1, "score"), "count", (json_int_t)r.n_hits, "total", (json_int_t)r.total);
    hx_graph_result_free(&r);
    return hx_res_json(res, 200, out);
}

static int search(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_err_t *err = hx_req_err(req);
    json_t *body = hx_req_json(req, err);
    if (!body)
        return HX_EINVAL;
    if (!json_is_object(body))
        return hx_err_set(err, HX_EINVAL, "the body must be a JSON object {\"query\",\"types\",\"limit\"}");
    static const char *const known[] = {"query", "types", "limit", NULL};
    int rc = hx_json_check_known(body, known, err);
    if (rc)
        return rc;
    const char *query = json_string_value(json_object_get(body, "query"));
    if (!query)
        return hx_err_set(err, HX_EINVAL, "field 'query' is required and must be a string");
    int64_t limit = 20;
    if ((rc = hx_json_opt_int(body, "limit", 1, &limit, err)))
        return rc;
    if (limit > HX_GRAPH_LIMIT_MAX)
        return hx_err_set(err, HX_EINVAL, "field 'limit' must be at most %d", HX_GRAPH_LIMIT_MAX);
    json_t *types = json_object_get(body, "types");
    const char *tv[16];
    size_t nt = 0;
    if (types && !json_is_null(types)) {
        if (!json_is_array(types) || json_array_size(types) > 16)
            return hx_err_set(err, HX_EINVAL, "field 'types' must be an array of at most 16 entity types");
        size_t i;
        json_t *t;
        json_array_foreach(types, i, t)
        {
            if (!json_is_string(t))
                return hx_err_set(err, HX_EINVAL, "field 'types' must hold strings (entity types)");
            tv[nt++] = json_string_value(t);
        }
    }
    hx_graph_search_q_t q = {.tenant = hx_req_tenant(req), .query = query, .types = tv, .n_types = nt,
                             .limit = (int)limit};
    hx_graph_result_t r = {0};
    if ((rc = hx_graph_search(GRAPH(ctx), &q, &r, err)))
        return rc;
    json_t *out = json_pack("{s:s,s:o,s:I,s:I}", "query", query, "results", hits_json(&r, 0, "score"), "count",
                            (json_int_t)r.n_hits, "total", (json_int_t)r.total);
    hx_graph_result_free(&r);
    return hx_res_json(res, 200, out);
}

static int path(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_err_t *err = hx_req_err(req);
    const char *from = hx_req_query(req, "from"), *to = hx_req_query(req, "to");
    if (!from || !to)
        return hx_err_set(err, HX_EINVAL, "query parameters from and to (entity ids) are required");
    int64_t max_depth;
    int rc;
    if ((rc = hx_id_check(from, "query parameter from", err)) || (rc = hx_id_check(to, "query parameter to", err)) ||
        (rc = hx_req_query_int(req, "max_depth", 5, 1, HX_GRAPH_PATH_DEPTH_MAX, &max_depth)))
        return rc;
    hx_graph_path_q_t q = {.tenant = hx_req_tenant(req), .from = from, .to = to, .max_depth = (int)max_depth};
    hx_graph_result_t r = {0};
    if ((rc = hx_graph_path(GRAPH(ctx), &q, &r, err)))
        return rc;
    json_t *nodes = json_array(), *rels = json_array();
    for (size_t i = 0; i < r.n_nodes; i++)
        json_array_append_new(nodes, hx_graph_entity_json(&r.nodes[i]));
    for (size_t i = 0; i < r.n_rels; i++)
        json_array_append_new(rels, hx_graph_rel_json(&r.rels[i]));
    json_t *out = json_pack("{s:s,s:s,s:I,s:o,s:o}", "from", from, "to", to, "length", (json_int_t)r.n_rels, "nodes",
                            nodes, "relationships", rels);
    hx_graph_result_free(&r);
    return hx_res_json(res, 200, out);
}

/* The live entity id names (after merges), or an error for the request. */
static int get_entity(void *ctx, hx_req_t *req, const char *id, json_t **out)
{
    hx_graph_result_t r = {0};
    int rc = hx_graph_get(GRAPH(ctx), hx_req_tenant(req), id, &r, hx_req_err(req));
    if (!rc && out)
        *out = r.n_nodes ? hx_graph_entity_json(&r.nodes[0]) : json_object();
    hx_graph_result_free(&r);
    return rc;
}

static int entity(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_api_path_id(req, "id", "entity id");
    if (!id)
        return HX_EINVAL;
    json_t *out;
    int rc = get_entity(ctx, req, id, &out);
    return rc ? rc : hx_res_json(res, 200, out);
}

static int conversation_entities(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_api_path_id(req, "id", "conversation_id");
    if (!id)
        return HX_EINVAL;
    int64_t limit;
    int rc = hx_req_query_int(req, "limit", 100, 1, HX_GRAPH_LIMIT_MAX, &limit);
    if (rc)
        return rc;
    hx_graph_result_t r = {0};
    if ((rc = hx_graph_conversation_entities(GRAPH(ctx), hx_req_tenant(req), id, (int)limit, &r, hx_req_err(req))))
        return rc;
    json_t *out = json_pack("{s:s,s:o,s:I,s:I}", "conversation_id", id, "entities", hits_json(&r, 0, "mentions"),
                            "count", (json_int_t)r.n_hits, "total", (json_int_t)r.total);
    hx_graph_result_free(&r);
    return hx_res_json(res, 200, out);
}

/* ---- writes ---- */

/* Publishes ops and answers: code when applied, 202 when still in flight. */
static int publish(void *ctx, hx_req_t *req, hx_res_t *res, const hx_graph_op_t *ops, size_t n, int code,
                   json_t *out)
{
    int applied = 0;
    int rc = hx_graph_publish(GRAPH(ctx), ops, n, wait_ms(ctx), &applied, hx_req_err(req));
    if (rc) {
        json_decref(out);
        return rc;
    }
    json_object_set_new(out, "applied", json_boolean(applied));
    return hx_res_json(res, applied || wait_ms(ctx) == 0 ? code : 202, out);
}

static int upsert(hx_req_t *req, hx_res_t *res, void *ctx, hx_graph_op_kind_t kind)
{
    hx_err_t *err = hx_req_err(req);
    size_t len;
    const char *body = hx_req_body(req, &len);
    if (!len)
        return hx_err_set(err, HX_EINVAL, "the body must be a JSON object: {\"%s\": [...]} or one item",
                          kind == HX_GRAPH_OP_ENTITY_UPSERT ? "entities" : "relationships");
    hx_graph_ops_t ops = {0};
    int rc = hx_graph_items_parse(hx_req_tenant(req), hx_now_ms(), kind, body, len, NULL, &ops, err);
    if (!rc && !ops.n)
        rc = hx_err_set(err, HX_EINVAL, "the batch is empty: nothing to write");
    if (!rc && ops.n > BATCH_MAX)
        rc = hx_err_set(err, HX_ETOOBIG, "a batch holds at most %d items, this one %zu", BATCH_MAX, ops.n);
    if (rc) {
        hx_graph_ops_free(&ops);
        return rc;
    }
    json_t *ids = json_array();
    for (size_t i = 0; i < ops.n; i++) {
        if (kind == HX_GRAPH_OP_ENTITY_UPSERT) {
            json_array_append_new(ids, json_string(ops.ops[i].id));
        } else {
            char rid[17];
            hx_graph_rel_id(ops.ops[i].tenant, ops.ops[i].from, ops.ops[i].rel_type, ops.ops[i].to, rid);
            json_array_append_new(ids, json_string(rid));
        }
    }
    json_t *out = json_pack("{s:I,s:o}", "accepted", (json_int_t)ops.n, "ids", ids);
    rc = publish(ctx, req, res, ops.ops, ops.n, 201, out);
    hx_graph_ops_free(&ops);
    return rc;
}

static int post_entities(hx_req_t *req, hx_res_t *res, void *ctx)
{
    return upsert(req, res, ctx, HX_GRAPH_OP_ENTITY_UPSERT);
}

static int post_relationships(hx_req_t *req, hx_res_t *res, void *ctx)
{
    return upsert(req, res, ctx, HX_GRAPH_OP_REL_UPSERT);
}

static int del_entity(hx_req_t *req, hx_res_t *res, void *ctx)
{
    const char *id = hx_api_path_id(req, "id", "entity id");
    if (!id)
        return HX_EINVAL;
    int rc = get_entity(ctx, req, id, NULL);
    if (rc)
        return rc;
    hx_graph_op_t op = {.kind = HX_GRAPH_OP_ENTITY_DELETE, .tenant = hx_req_tenant(req), .ts_ms = hx_now_ms(),
                        .id = id};
    return publish(ctx, req, res, &op, 1, 200, json_pack("{s:s,s:b}", "id", id, "deleted", 1));
}

static int merge(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_err_t *err = hx_req_err(req);
    const char *id = hx_api_path_id(req, "id", "entity id");
    if (!id)
        return HX_EINVAL;
    json_t *body = hx_req_json(req, err);
    if (!body)
        return HX_EINVAL;
    static const char *const known[] = {"into", NULL};
    int rc;
    if (!json_is_object(body))
        return hx_err_set(err, HX_EINVAL, "the body must be a JSON object {\"into\": \"<entity id>\"}");
    if ((rc = hx_json_check_known(body, known, err)))
        return rc;
    const char *into = json_string_value(json_object_get(body, "into"));
    if (!into)
        return hx_err_set(err, HX_EINVAL, "field 'into' (the entity id to merge into) is required");
    if ((rc = hx_id_check(into, "field into", err)))
        return rc;
    /* both must exist and be two entities, also after following merges */
    hx_graph_result_t a = {0}, b = {0};
    rc = hx_graph_get(GRAPH(ctx), hx_req_tenant(req), id, &a, err);
    if (!rc && (rc = hx_graph_get(GRAPH(ctx), hx_req_tenant(req), into, &b, err)) && rc == HX_ENOTFOUND)
        hx_err_set(err, rc, "cannot merge into '%.140s': no such entity", into);
    if (!rc && !strcmp(a.nodes[0].id, b.nodes[0].id))
        rc = hx_err_set(err, HX_EINVAL, "'%s' and '%s' are the same entity; merging it into itself does nothing", id,
                        into);
    hx_graph_result_free(&a);
    hx_graph_result_free(&b);
    if (rc)
        return rc;
    hx_graph_op_t op = {.kind = HX_GRAPH_OP_ENTITY_MERGE, .tenant = hx_req_tenant(req), .ts_ms = hx_now_ms(),
                        .id = id, .into = into};
    int applied = 0;
    if ((rc = hx_graph_publish(GRAPH(ctx), &op, 1, wait_ms(ctx), &applied, err)))
        return rc;
    json_t *out = NULL;
    if (applied && get_entity(ctx, req, into, &out))
        out = NULL;
    if (!out)
        out = json_pack("{s:s,s:s}", "id", id, "into", into);
    json_object_set_new(out, "merged", json_string(id));
    json_object_set_new(out, "applied", json_boolean(applied));
    return hx_res_json(res, applied || wait_ms(ctx) == 0 ? 200 : 202, out);
}

/* ---- the subsystem ---- */

static int routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err)
{
    /* Literal routes first: the first matching pattern wins. */
    static const hx_route_spec_t routes[] = {
        {"POST", "/v1/knowledge/search", search, HX_ROLE_READER},
        {"GET", "/v1/knowledge/path", path, HX_ROLE_DEFAULT},
        {"POST", "/v1/knowledge/entities", post_entities, HX_ROLE_DEFAULT},
        {"POST", "/v1/knowledge/relationships", post_relationships, HX_ROLE_DEFAULT},
        {"GET", "/v1/knowledge/related/{entity_id}", related, HX_ROLE_DEFAULT},
        {"POST", "/v1/knowledge/entities/{id}/merge", merge, HX_ROLE_DEFAULT},
        {"GET", "/v1/knowledge/entities/{id}", entity, HX_ROLE_DEFAULT},
        {"DELETE", "/v1/knowledge/entities/{id}", del_entity, HX_ROLE_DEFAULT},
        {"GET", "/v1/knowledge/conversations/{id}/entities", conversation_entities, HX_ROLE_DEFAULT},
    };
    return hx_server_routes(srv, routes, sizeof routes / sizeof routes[0], app, err);
}

static int open_graph(hx_app_t *app, hx_err_t *err)
{
    char dir[HX_CFG_STR + 16];
    snprintf(dir, sizeof dir, "%s/graph", app->cfg->node.data_dir);
    hx_graph_opts_t o;
    hx_graph_opts_defaults(&o);
    o.cfg = app->cfg;
    o.dir = dir;
    o.broker = app->broker;
    o.metrics = app->metrics;
    o.node_id = app->cfg->node.node_id;
    return hx_graph_open(&o, &app->graph, err);
}

/* A failing store is unhealthy; a store that works with a consumer that
 * keeps failing (Neo4j or Kafka unreachable) is degraded. */
static hx_health_t health(void *ctx, char *detail, size_t len)
{
    int rc = hx_graph_health(GRAPH(ctx), detail, len);
    return rc == 0 ? HX_HEALTH_HEALTHY : rc == HX_EUNAVAIL ? HX_HEALTH_DEGRADED : HX_HEALTH_UNHEALTHY;
}

static void close_graph(hx_app_t *app)
{
    hx_graph_close(app->graph);
    app->graph = NULL;
}

const hx_subsystem_t hx_subsys_graph = {"graph", open_graph, routes, health, close_graph};
