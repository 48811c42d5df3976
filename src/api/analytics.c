/* The analytics subsystem: the store behind backends.analytics (embedded
 * column store or ClickHouse), its ingest from the log, and its HTTP API
 * (docs/analytics.md). Every call is scoped to the request's tenant. */
#include "api/api.h"
#include "helix/hx_analytics.h"
#include "helix/hx_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AN(ctx) (((hx_app_t *)(ctx))->analytics)

/* A time query parameter: epoch seconds, 'YYYY-MM-DD hh:mm:ss' or RFC 3339. */
static int query_time(hx_req_t *req, const char *name, int64_t def, int64_t *out)
{
    const char *v = hx_req_query(req, name);
    if (!v || !*v) {
        *out = def;
        return HX_OK;
    }
    if (!hx_an_parse_time(v, out))
        return HX_OK;
    return hx_err_set(hx_req_err(req), HX_EINVAL,
                      "query parameter '%s' must be epoch seconds or 'YYYY-MM-DD hh:mm:ss' (UTC), got '%.40s'", name, v);
}

static json_t *time_json(int64_t t)
{
    char buf[32];
    hx_an_format_time(t, buf, sizeof buf);
    return json_string(buf);
}

static json_t *point_json(const hx_an_provider_point_t *p, int with_t)
{
    json_t *o = json_pack("{s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:I}", "requests", (json_int_t)p->requests, "errors",
                          (json_int_t)p->errors, "error_rate", p->error_rate, "avg_response_time_ms", p->avg_ms,
                          "p50_response_time_ms", p->p50_ms, "p95_response_time_ms", p->p95_ms,
                          "p99_response_time_ms", p->p99_ms, "tokens", (json_int_t)p->tokens);
    if (o && with_t)
        json_object_set_new(o, "t", time_json(p->t));
    return o;
}

static int provider(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_err_t *err = hx_req_err(req);
    const char *prov = hx_api_path_id(req, "provider", "provider");
    if (!prov)
        return HX_EINVAL;
    const char *model = hx_req_query(req, "model"), *iv = hx_req_query(req, "interval");
    if (model && hx_id_check(model, "model", err))
        return HX_EINVAL;
    hx_an_interval_t interval = HX_AN_HOUR;
    if (iv && !strcmp(iv, "minute"))
        interval = HX_AN_MINUTE;
    else if (iv && !strcmp(iv, "day"))
        interval = HX_AN_DAY;
    else if (iv && strcmp(iv, "hour"))
        return hx_err_set(err, HX_EINVAL, "interval must be minute, hour or day, got '%.20s'", iv);
    int64_t now = hx_now_ms() / 1000, to, from;
    int rc = query_time(req, "to", now, &to);
    if (!rc)
        rc = query_time(req, "from", to - 86400, &from);
    if (rc)
        return rc;
    if (from > to)
        return hx_err_set(err, HX_EINVAL, "'from' must not be after 'to'");
    hx_an_provider_stats_t s;
    if ((rc = hx_analytics_provider_stats(AN(ctx), hx_req_tenant(req), prov, model, from, to, interval, &s, err)))
        return rc;
    json_t *series = json_array();
    for (size_t i = 0; series && i < s.nseries; i++)
        json_array_append_new(series, point_json(&s.series[i], 1));
    json_t *out = json_pack("{s:s,s:o,s:o,s:o,s:s,s:s,s:o,s:o}", "provider", prov, "model",
                            model ? json_string(model) : json_null(), "from", time_json(from), "to", time_json(to),
                            "interval", interval == HX_AN_MINUTE ? "minute" : interval == HX_AN_DAY ? "day" : "hour",
                            "source", s.source, "totals", point_json(&s.totals, 0), "series", series);
    hx_an_provider_stats_free(&s);
    if (!out)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    return hx_res_json(res, 200, out);
}

static json_t *rows_json(const hx_an_result_t *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->nrows; i++)
        json_array_append_new(a, hx_an_result_row_object(r, i));
    return a;
}

static int debate(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_err_t *err = hx_req_err(req);
    const char *id = hx_api_path_id(req, "debate_id", "debate_id");
    if (!id)
        return HX_EINVAL;
    hx_an_debate_t d;
    int rc = hx_analytics_debate(AN(ctx), hx_req_tenant(req), id, &d, err);
    if (rc)
        return rc;
    json_t *out = json_pack("{s:o,s:o,s:o}", "debate", hx_an_result_row_object(&d.debate, 0), "participants",
                            rows_json(&d.participants), "rounds", rows_json(&d.rounds));
    hx_an_debate_free(&d);
    if (!out)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    return hx_res_json(res, 200, out);
}

static int leaderboard(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_err_t *err = hx_req_err(req);
    int64_t now = hx_now_ms() / 1000, to, from;
    int rc = query_time(req, "to", now, &to);
    if (!rc)
        rc = query_time(req, "from", to - 7 * 86400, &from);
    if (rc)
        return rc;
    hx_an_result_t r;
    if ((rc = hx_analytics_leaderboard(AN(ctx), hx_req_tenant(req), from, to, &r, err)))
        return rc;
    json_t *out = json_pack("{s:o,s:o,s:s,s:o}", "from", time_json(from), "to", time_json(to), "source", r.source,
                            "providers", rows_json(&r));
    hx_an_result_free(&r);
    if (!out)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    return hx_res_json(res, 200, out);
}

static int query(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_err_t *err = hx_req_err(req);
    json_t *body = hx_req_json(req, err);
    if (!body)
        return HX_EINVAL;
    if (!json_is_object(body))
        return hx_err_set(err, HX_EINVAL, "the body must be a JSON object {\"sql\": \"SELECT ...\", \"params\": {}}");
    static const char *const known[] = {"sql", "params", NULL};
    int rc = hx_json_check_known(body, known, err);
    if (rc)
        return rc;
    json_t *sql = json_object_get(body, "sql"), *params = json_object_get(body, "params");
    if (!json_is_string(sql))
        return hx_err_set(err, HX_EINVAL, "field 'sql' is required: a SELECT of the analytics SQL subset");
    if (params && !json_is_object(params) && !json_is_null(params))
        return hx_err_set(err, HX_EINVAL, "field 'params' must be an object of name: value");
    size_t np = params && json_is_object(params) ? json_object_size(params) : 0;
    if (np > 256)
        return hx_err_set(err, HX_EINVAL, "at most 256 params");
    hx_an_param_t p[256];
    char vals[256][64];
    size_t i = 0;
    const char *k;
    json_t *v;
    if (np)
        json_object_foreach(params, k, v)
        {
            p[i].name = k;
            if (json_is_string(v))
                p[i].value = json_string_value(v);
            else if (json_is_integer(v))
                snprintf(vals[i], sizeof vals[i], "%lld", (long long)json_integer_value(v)), p[i].value = vals[i];
            else if (json_is_real(v))
                snprintf(vals[i], sizeof vals[i], "%.17g", json_real_value(v)), p[i].value = vals[i];
            else if (json_is_boolean(v))
                p[i].value = json_is_true(v) ? "1" : "0";
            else
                return hx_err_set(err, HX_EINVAL, "params.%s must be a string, a number or a boolean", k);
            i++;
        }
    hx_an_query_opts_t o = {p, np, 0, 0};
    hx_an_result_t r;
    if ((rc = hx_analytics_query(AN(ctx), hx_req_tenant(req), json_string_value(sql), json_string_length(sql), &o,
                                 &r, err)))
        return rc;
    json_t *out = hx_an_result_json(&r);
    hx_an_result_free(&r);
    if (!out)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    return hx_res_json(res, 200, out);
}

/* The body is the analytics row format (JSON array or NDJSON), read by the
 * analytics row codec rather than into a jansson tree: at a million rows a
 * second a tree per row would be the bottleneck. */
static int post_rows(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_err_t *err = hx_req_err(req);
    const char *table = hx_req_param(req, "table");
    hx_an_table_t t;
    if (!table || hx_an_table_by_name(table, strlen(table), &t))
        return hx_err_set(err, HX_ENOTFOUND,
                          "no analytics table '%.64s' (provider_metrics, debate_metrics, conversation_metrics)",
                          table ? table : "");
    const char *wait = hx_req_query(req, "wait");
    int64_t timeout;
    int rc = hx_req_query_int(req, "timeout_ms", 30000, 1, 600000, &timeout);
    if (rc)
        return rc;
    size_t len, rows = 0, events = 0;
    const char *body = hx_req_body(req, &len);
    if ((rc = hx_analytics_publish_rows(AN(ctx), t, hx_req_tenant(req), body, len, &rows, &events, err)))
        return rc;
    int waited = wait && (!strcmp(wait, "true") || !strcmp(wait, "1"));
    if (waited && (rc = hx_analytics_ingest_wait(AN(ctx), (int)timeout, err)))
        return rc;
    json_t *out = json_pack("{s:s,s:I,s:I,s:b}", "table", table, "rows", (json_int_t)rows, "events",
                            (json_int_t)events, "stored", waited);
    return hx_res_json(res, waited ? 200 : 202, out);
}

static int tables(hx_req_t *req, hx_res_t *res, void *ctx)
{
    json_t *out = json_object(), *list = json_array();
    for (int t = 0; t < HX_AN_NTABLES; t++) {
        hx_an_table_stats_t st;
        if (hx_analytics_table_stats(AN(ctx), (hx_an_table_t)t, &st, hx_req_err(req)))
            continue;
        json_array_append_new(list, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "name",
                                              hx_an_table((hx_an_table_t)t)->name, "rows", (json_int_t)st.rows,
                                              "buffered_rows", (json_int_t)st.buffered_rows, "parts",
                                              (json_int_t)st.parts, "partitions", (json_int_t)st.partitions,
                                              "bytes_on_disk", (json_int_t)st.bytes_on_disk, "merges",
                                              (json_int_t)st.merges, "rows_expired", (json_int_t)st.rows_expired));
    }
    json_object_set_new(out, "backend", json_string(hx_analytics_backend(AN(ctx))));
    json_object_set_new(out, "memory_bytes", json_integer((json_int_t)hx_analytics_memory_bytes(AN(ctx))));
    json_object_set_new(out, "tables", list);
    return hx_res_json(res, 200, out);
}

static int routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err)
{
    static const hx_route_spec_t routes[] = {
        {"GET", "/v1/analytics/providers", leaderboard, HX_ROLE_DEFAULT},
        {"GET", "/v1/analytics/tables", tables, HX_ROLE_ADMIN},
        {"POST", "/v1/analytics/query", query, HX_ROLE_READER},
        {"GET", "/v1/analytics/provider/{provider}", provider, HX_ROLE_DEFAULT},
        {"GET", "/v1/analytics/debate/{debate_id}", debate, HX_ROLE_DEFAULT},
        {"POST", "/v1/analytics/{table}/rows", post_rows, HX_ROLE_DEFAULT},
    };
    return hx_server_routes(srv, routes, sizeof routes / sizeof routes[0], app, err);
}

static int open_analytics(hx_app_t *app, hx_err_t *err)
{
    hx_analytics_opts_t o;
    hx_analytics_opts_defaults(&o);
    o.cfg = app->cfg;
    o.broker = app->broker;
    o.metrics = app->metrics;
    o.ingest = 1;
    o.node_id = app->cfg->node.node_id;
    return hx_analytics_open(&o, &app->analytics, err);
}

/* Unreachable ClickHouse or a parts limit degrades the node (ingest waits in
 * the log); a store that cannot write is unhealthy. */
static hx_health_t health(void *ctx, char *detail, size_t len)
{
    int rc = hx_analytics_health(AN(ctx), detail, len);
    return rc == 0 ? HX_HEALTH_HEALTHY : rc == HX_EIO ? HX_HEALTH_UNHEALTHY : HX_HEALTH_DEGRADED;
}

static void close_analytics(hx_app_t *app)
{
    hx_analytics_close(app->analytics);
    app->analytics = NULL;
}

const hx_subsystem_t hx_subsys_analytics = {"analytics", open_analytics, routes, health, close_analytics};
