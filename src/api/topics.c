/* HTTP API of the event log's topics: list, create, describe, delete.
 * Topics are shared by every tenant (records carry their tenant), so any key
 * sees names and configs; the figures (watermarks, bytes, record counts)
 * count every tenant's records and are shown to admin keys only. Creating
 * and deleting topics needs an admin key. */
#include "api/api.h"
#include "helix/hx_broker.h"
#include "helix/hx_logger.h"
#include "helix/hx_topics.h"

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

int hx_api_topic_request(const json_t *body, const char **name, hx_topic_config_t *tc, hx_err_t *err)
{
    if (!json_is_object(body))
        return hx_err_set(err, HX_EINVAL, "the body must be a JSON object with a 'name'");
    static const char *const known[] = {"name", "partitions", "retention_ms", "retention_bytes", "compression",
                                  "cleanup_policy", "max_message_bytes", NULL};
    int rc = hx_json_check_known(body, known, err);
    if (rc)
        return rc;
    *name = json_string_value(json_object_get(body, "name"));
    if (!*name || !**name)
        return hx_err_set(err, HX_EINVAL, "field 'name' is required (a string)");
    hx_topic_config_defaults(tc);
    int64_t parts = tc->partitions, ret = tc->retention_ms, retb = tc->retention_bytes, maxb = 0;
    if ((rc = hx_json_opt_int(body, "partitions", 1, &parts, err)) ||
        (rc = hx_json_opt_int(body, "retention_ms", -1, &ret, err)) ||
        (rc = hx_json_opt_int(body, "retention_bytes", -1, &retb, err)) ||
        (rc = hx_json_opt_int(body, "max_message_bytes", 0, &maxb, err)))
        return rc;
    if (parts > 1024)
        return hx_err_set(err, HX_EINVAL, "field 'partitions' must be between 1 and 1024");
    tc->partitions = (int)parts;
    tc->retention_ms = ret;
    tc->retention_bytes = retb;
    tc->max_message_bytes = maxb;
    json_t *c = json_object_get(body, "compression");
    if (c && !json_is_string(c))
        return hx_err_set(err, HX_EINVAL, "field 'compression' must be a string (none, lz4 or zstd)");
    if (c && json_string_length(c) >= sizeof tc->compression)
        return hx_err_set(err, HX_EINVAL, "field 'compression' must be none, lz4 or zstd");
    if (c)
        snprintf(tc->compression, sizeof tc->compression, "%s", json_string_value(c));
    json_t *cpj = json_object_get(body, "cleanup_policy");
    const char *cp = json_string_value(cpj);
    if (cpj && !cp)
        return hx_err_set(err, HX_EINVAL, "field 'cleanup_policy' must be delete or compact");
    if (cp && strcmp(cp, "compact") == 0)
        tc->cleanup = HX_CLEANUP_COMPACT;
    else if (cp && strcmp(cp, "delete") != 0)
        return hx_err_set(err, HX_EINVAL, "field 'cleanup_policy' must be delete or compact");
    return HX_OK;
}

static int create_topic(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_app_t *api = ctx;
    hx_err_t *err = hx_req_err(req);
    json_t *body = hx_req_json(req, err);
    if (!body)
        return HX_EINVAL;
    const char *name = NULL;
    hx_topic_config_t tc;
    int rc;
    if ((rc = hx_api_topic_request(body, &name, &tc, err)) || (rc = hx_broker_topic_create(api->broker, name, &tc, err)))
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
    /* Watermarks, bytes and record counts cover every tenant's records: admin only. */
    json_t *j = topic_json(&ti, hx_req_role(req) == HX_ROLE_ADMIN);
    hx_topic_info_free(&ti);
    return hx_res_json(res, 200, j);
}

/* helixagent.* topics are what the stores read: deleting one loses their
 * data, so it takes ?force=true (and is logged). */
static int delete_topic(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_app_t *api = ctx;
    const char *t = hx_req_param(req, "t"), *f = hx_req_query(req, "force");
    int force = f && (strcmp(f, "true") == 0 || strcmp(f, "1") == 0);
    if (f && !force && strcmp(f, "false") != 0 && strcmp(f, "0") != 0)
        return hx_err_set(hx_req_err(req), HX_EINVAL, "query parameter 'force' must be true or false");
    if (hx_topic_protected(t) && !force)
        return hx_err_set(hx_req_err(req), HX_EFORBIDDEN,
                          "topic '%s' is protected: Helix's stores read it and deleting it loses their data; "
                          "DELETE /v1/topics/%s?force=true if you mean it", t, t);
    int rc = hx_broker_topic_delete(api->broker, t, hx_req_err(req));
    if (!rc && hx_topic_protected(t))
        HX_WARN("api", "protected topic %s deleted with force (key of tenant %s); the stores reading it lose its "
                "records, and it is recreated empty at the next start", t, hx_req_tenant(req));
    return rc ? rc : hx_res_json(res, 200, json_pack("{s:s}", "deleted", t));
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
