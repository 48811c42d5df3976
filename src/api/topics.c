/* HTTP API of the event log's topics: list, create, describe, delete.
 * Creating and deleting topics needs an admin key. */
#include "api/api.h"
#include "helix/hx_broker.h"

#include <stdlib.h>
#include <string.h>

static const char *cleanup_name(hx_cleanup_t c) { return c == HX_CLEANUP_COMPACT ? "compact" : "delete"; }

static json_t *topic_json(const hx_topic_info_t *ti, int with_partitions)
{
    json_t *j = json_pack("{s:s,s:i,s:I,s:I,s:s,s:s,s:I}", "name", ti->name, "partitions", ti->config.partitions,
                          "retention_ms", (json_int_t)ti->config.retention_ms, "retention_bytes",
                          (json_int_t)ti->config.retention_bytes, "compression", ti->config.compression,
                          "cleanup_policy", cleanup_name(ti->config.cleanup), "max_message_bytes",
                          (json_int_t)ti->config.max_message_bytes);
    if (j)
        json_object_set_new(j, "config_known", json_boolean(ti->config_known));
    if (!j || !with_partitions)
        return j;
    json_t *parts = json_array();
    int64_t records = 0;
    for (int i = 0; i < ti->config.partitions; i++) {
        const hx_partition_info_t *p = &ti->partitions[i];
        records += p->high_watermark - p->low_watermark;
        json_array_append_new(parts, json_pack("{s:i,s:I,s:I,s:I,s:i}", "partition", p->partition, "low_watermark",
                                               (json_int_t)p->low_watermark, "high_watermark",
                                               (json_int_t)p->high_watermark, "bytes", (json_int_t)p->bytes,
                                               "segments", p->segments));
    }
    json_object_set_new(j, "records", json_integer(records));
    json_object_set_new(j, "partition_info", parts);
    return j;
}

static int list_topics(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_app_t *api = ctx;
    hx_name_list_t l;
    int rc = hx_broker_topic_list(api->broker, &l, hx_req_err(req));
    if (rc)
        return rc;
    json_t *arr = json_array();
    for (size_t i = 0; i < l.count; i++) {
        hx_topic_info_t ti;
        if (hx_broker_topic_describe(api->broker, l.names[i], &ti, NULL))
            continue; /* deleted meanwhile */
        json_array_append_new(arr, topic_json(&ti, 0));
        hx_topic_info_free(&ti);
    }
    hx_name_list_free(&l);
    return hx_res_json(res, 200, json_pack("{s:o}", "topics", arr));
}

static int create_topic(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_app_t *api = ctx;
    hx_err_t *err = hx_req_err(req);
    json_t *body = hx_req_json(req, err);
    if (!body)
        return HX_EINVAL;
    static const char *const known[] = {"name", "partitions", "retention_ms", "retention_bytes", "compression",
                                  "cleanup_policy", "max_message_bytes", NULL};
    int rc0 = hx_json_check_known(body, known, err);
    if (rc0)
        return rc0;
    const char *name = json_string_value(json_object_get(body, "name"));
    if (!name || !*name)
        return hx_err_set(err, HX_EINVAL, "field 'name' is required");
    hx_topic_config_t tc;
    hx_topic_config_defaults(&tc);
    int64_t parts = tc.partitions, ret = tc.retention_ms, retb = tc.retention_bytes, maxb = 0;
    int rc;
    if ((rc = hx_json_opt_int(body, "partitions", 1, &parts, err)) ||
        (rc = hx_json_opt_int(body, "retention_ms", -1, &ret, err)) ||
        (rc = hx_json_opt_int(body, "retention_bytes", -1, &retb, err)) ||
        (rc = hx_json_opt_int(body, "max_message_bytes", 0, &maxb, err)))
        return rc;
    if (parts > 1024)
        return hx_err_set(err, HX_EINVAL, "field 'partitions' must be between 1 and 1024");
    tc.partitions = (int)parts;
    tc.retention_ms = ret;
    tc.retention_bytes = retb;
    tc.max_message_bytes = maxb;
    json_t *c = json_object_get(body, "compression");
    if (c && !json_is_string(c))
        return hx_err_set(err, HX_EINVAL, "field 'compression' must be a string (none, lz4 or zstd)");
    if (c)
        snprintf(tc.compression, sizeof tc.compression, "%s", json_string_value(c));
    const char *cp = json_string_value(json_object_get(body, "cleanup_policy"));
    if (cp && strcmp(cp, "compact") == 0)
        tc.cleanup = HX_CLEANUP_COMPACT;
    else if (cp && strcmp(cp, "delete") != 0)
        return hx_err_set(err, HX_EINVAL, "field 'cleanup_policy' must be delete or compact");
    if ((rc = hx_broker_topic_create(api->broker, name, &tc, err)))
        return rc;
    hx_topic_info_t ti;
    if ((rc = hx_broker_topic_describe(api->broker, name, &ti, err)))
        return rc;
    json_t *j = topic_json(&ti, 1);
    hx_topic_info_free(&ti);
    return hx_res_json(res, 201, j);
}

static int get_topic(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_app_t *api = ctx;
    hx_topic_info_t ti;
    int rc = hx_broker_topic_describe(api->broker, hx_req_param(req, "t"), &ti, hx_req_err(req));
    if (rc)
        return rc;
    json_t *j = topic_json(&ti, 1);
    hx_topic_info_free(&ti);
    return hx_res_json(res, 200, j);
}

static int delete_topic(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_app_t *api = ctx;
    int rc = hx_broker_topic_delete(api->broker, hx_req_param(req, "t"), hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, json_pack("{s:s}", "deleted", hx_req_param(req, "t")));
}

int hx_api_topics_routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err)
{
    static const hx_route_spec_t routes[] = {
        {"GET", "/v1/topics", list_topics, HX_ROLE_DEFAULT},
        {"POST", "/v1/topics", create_topic, HX_ROLE_ADMIN},
        {"GET", "/v1/topics/{t}", get_topic, HX_ROLE_DEFAULT},
        {"DELETE", "/v1/topics/{t}", delete_topic, HX_ROLE_ADMIN},
    };
    return hx_server_routes(srv, routes, sizeof routes / sizeof routes[0], app, err);
}
