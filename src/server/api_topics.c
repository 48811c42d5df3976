/* HTTP API of the event log: topics, records and consumer groups. Records are
 * envelopes: JSON on the wire, the binary frame in the log. A tenant only
 * writes and reads envelopes of its own tenant. */
#include "helix/hx_api.h"
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FETCH 10000

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
    hx_api_ctx_t *api = ctx;
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
    hx_api_ctx_t *api = ctx;
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
    hx_api_ctx_t *api = ctx;
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
    hx_api_ctx_t *api = ctx;
    int rc = hx_broker_topic_delete(api->broker, hx_req_param(req, "t"), hx_req_err(req));
    return rc ? rc : hx_res_json(res, 200, json_pack("{s:s}", "deleted", hx_req_param(req, "t")));
}

/* POST body: {"records":[envelope...]} or one envelope. All are validated and
 * size-checked first; nothing is written unless every record is acceptable. */
static int post_records(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_api_ctx_t *api = ctx;
    hx_err_t *err = hx_req_err(req);
    const char *topic = hx_req_param(req, "t"), *tenant = hx_req_tenant(req);
    json_t *body = hx_req_json(req, err);
    if (!body)
        return HX_EINVAL;
    json_t *list = json_object_get(body, "records");
    if (!list) {
        list = json_array();
        json_array_append(list, body);
    } else if (!json_is_array(list)) {
        return hx_err_set(err, HX_EINVAL, "field 'records' must be an array of envelopes");
    } else {
        json_incref(list);
    }
    size_t n = json_array_size(list);
    hx_topic_info_t ti;
    int rc = n == 0 ? hx_err_set(err, HX_EINVAL, "no records to write: 'records' is empty")
                    : hx_broker_topic_describe(api->broker, topic, &ti, err);
    if (rc) {
        json_decref(list);
        return rc;
    }
    int64_t limit = ti.config.max_message_bytes > 0 ? ti.config.max_message_bytes : api->cfg->event_log.max_message_bytes;
    hx_topic_info_free(&ti);
    hx_envelope_t *envs = calloc(n, sizeof *envs);
    hx_buf_t *frames = calloc(n, sizeof *frames);
    hx_msg_t *msgs = calloc(n, sizeof *msgs);
    hx_delivery_t *dl = calloc(n, sizeof *dl);
    size_t built = 0;
    if (!envs || !frames || !msgs || !dl) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        goto cleanup;
    }
    int64_t now = hx_now_ms();
    for (; built < n; built++) {
        hx_envelope_t *e = &envs[built];
        if ((rc = hx_envelope_from_json(json_array_get(list, built), e, err)) ||
            (rc = hx_envelope_fill_defaults(e, api->node_id, now, err))) {
            hx_err_wrap(err, "records[%zu]", built);
            built++; /* e was initialised; free it below */
            goto cleanup;
        }
        if (strcmp(e->tenant, "default") == 0 && strcmp(tenant, "default") != 0) {
            free(e->tenant);
            e->tenant = strdup(tenant);
        }
        if (!e->tenant || strcmp(e->tenant, tenant) != 0) {
            rc = hx_err_set(err, HX_EINVAL, "records[%zu]: tenant '%s' does not match the request tenant '%s'",
                            built, e->tenant ? e->tenant : "", tenant);
            built++;
            goto cleanup;
        }
        if ((rc = hx_envelope_validate(e, err)) || (rc = hx_event_validate_data(e->type, e->data, err)) ||
            (rc = hx_envelope_encode(e, &frames[built], err))) {
            hx_err_wrap(err, "records[%zu]", built);
            built++;
            goto cleanup;
        }
        if ((int64_t)(frames[built].len + strlen(e->key)) > limit) {
            rc = hx_err_set(err, HX_ETOOBIG, "records[%zu] is %zu bytes; topic '%s' accepts at most %lld (nothing was written)",
                            built, frames[built].len + strlen(e->key), topic, (long long)limit);
            built++;
            goto cleanup;
        }
        msgs[built] = (hx_msg_t){.topic = topic, .partition = -1, .timestamp_ms = e->ts, .key = e->key,
                                 .key_len = strlen(e->key), .value = frames[built].data, .value_len = frames[built].len};
    }
    if ((rc = hx_broker_produce(api->broker, msgs, n, dl, err)))
        goto cleanup;
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, json_pack("{s:s,s:i,s:I}", "id", envs[i].id, "partition", dl[i].partition,
                                             "offset", (json_int_t)dl[i].offset));
    rc = hx_res_json(res, 201, json_pack("{s:s,s:o}", "topic", topic, "records", out));
cleanup:
    for (size_t i = 0; i < built; i++) {
        hx_envelope_free(&envs[i]);
        hx_buf_free(&frames[i]);
    }
    free(envs);
    free(frames);
    free(msgs);
    free(dl);
    json_decref(list);
    return rc;
}

static int get_records(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_api_ctx_t *api = ctx;
    hx_err_t *err = hx_req_err(req);
    const char *topic = hx_req_param(req, "t"), *tenant = hx_req_tenant(req);
    int64_t partition, offset, max;
    int rc;
    if ((rc = hx_req_query_int(req, "partition", 0, 0, 1023, &partition)) ||
        (rc = hx_req_query_int(req, "offset", -1, -1, INT64_MAX, &offset)) ||
        (rc = hx_req_query_int(req, "max", 100, 1, MAX_FETCH, &max)))
        return rc;
    hx_topic_info_t ti;
    if ((rc = hx_broker_topic_describe(api->broker, topic, &ti, err)))
        return rc;
    if (partition >= ti.config.partitions) {
        hx_topic_info_free(&ti);
        return hx_err_set(err, HX_EINVAL, "partition %lld does not exist: topic '%s' has %d partition(s)",
                          (long long)partition, topic, ti.config.partitions);
    }
    int64_t low = ti.partitions[partition].low_watermark, high = ti.partitions[partition].high_watermark;
    hx_topic_info_free(&ti);
    if (offset < 0)
        offset = low;
    hx_fetch_t f;
    if ((rc = hx_broker_fetch(api->broker, topic, (int32_t)partition, offset, (int)max, 0, &f, err)))
        return rc;
    json_t *recs = json_array();
    int64_t next = offset;
    for (size_t i = 0; i < f.count; i++) {
        const hx_msg_t *m = &f.msgs[i];
        next = m->offset + 1;
        hx_envelope_t e;
        json_t *ej = NULL;
        if (hx_envelope_decode(m->value, m->value_len, &e, NULL) == 0) {
            int mine = strcmp(e.tenant, tenant) == 0;
            if (mine)
                hx_envelope_to_json(&e, &ej, NULL);
            hx_envelope_free(&e);
            if (!mine)
                continue; /* another tenant's record: invisible, but the cursor moves past it */
        } else if (strcmp(tenant, "default") != 0) {
            continue; /* non-envelope records belong to the default tenant */
        }
        json_t *r = json_pack("{s:i,s:I,s:I}", "partition", m->partition, "offset", (json_int_t)m->offset,
                              "timestamp", (json_int_t)m->timestamp_ms);
        json_object_set_new(r, "key", m->key ? json_stringn(m->key, m->key_len) : json_null());
        if (ej)
            json_object_set_new(r, "envelope", ej);
        else
            json_object_set_new(r, "value", m->value ? json_stringn(m->value, m->value_len) : json_null());
        json_array_append_new(recs, r);
    }
    hx_fetch_free(&f);
    return hx_res_json(res, 200,
                       json_pack("{s:s,s:I,s:o,s:I,s:I,s:I}", "topic", topic, "partition", (json_int_t)partition,
                                 "records", recs, "next_offset", (json_int_t)next, "low_watermark", (json_int_t)low,
                                 "high_watermark", (json_int_t)(next > high ? next : high)));
}

static int list_groups(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_api_ctx_t *api = ctx;
    hx_name_list_t l;
    int rc = hx_broker_group_list(api->broker, &l, hx_req_err(req));
    if (rc)
        return rc;
    json_t *arr = json_array();
    for (size_t i = 0; i < l.count; i++) {
        hx_group_info_t gi;
        if (hx_broker_group_describe(api->broker, l.names[i], &gi, NULL))
            continue;
        int64_t lag = 0;
        for (size_t k = 0; k < gi.n_offsets; k++)
            lag += gi.offsets[k].lag;
        json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:I}", "group_id", gi.group_id, "state", gi.state,
                                             "members", (int)gi.n_members, "lag", (json_int_t)lag));
        hx_group_info_free(&gi);
    }
    hx_name_list_free(&l);
    return hx_res_json(res, 200, json_pack("{s:o}", "groups", arr));
}

static int get_group(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_api_ctx_t *api = ctx;
    hx_group_info_t gi;
    int rc = hx_broker_group_describe(api->broker, hx_req_param(req, "g"), &gi, hx_req_err(req));
    if (rc)
        return rc;
    json_t *members = json_array(), *offsets = json_array();
    for (size_t i = 0; i < gi.n_members; i++) {
        json_t *as = json_array();
        for (size_t a = 0; a < gi.members[i].n_assigned; a++)
            json_array_append_new(as, json_pack("{s:s,s:i}", "topic", gi.members[i].assigned[a].topic, "partition",
                                                gi.members[i].assigned[a].partition));
        json_array_append_new(members, json_pack("{s:s,s:s,s:o}", "member_id", gi.members[i].member_id, "client_id",
                                                 gi.members[i].client_id, "assignment", as));
    }
    int64_t lag = 0;
    for (size_t i = 0; i < gi.n_offsets; i++) {
        const hx_group_offset_t *o = &gi.offsets[i];
        lag += o->lag;
        json_array_append_new(offsets, json_pack("{s:s,s:i,s:I,s:I,s:I}", "topic", o->topic, "partition",
                                                 o->partition, "committed", (json_int_t)o->committed,
                                                 "high_watermark", (json_int_t)o->high_watermark, "lag",
                                                 (json_int_t)o->lag));
    }
    json_t *j = json_pack("{s:s,s:s,s:i,s:o,s:o,s:I}", "group_id", gi.group_id, "state", gi.state, "generation",
                          gi.generation, "members", members, "offsets", offsets, "lag", (json_int_t)lag);
    hx_group_info_free(&gi);
    return hx_res_json(res, 200, j);
}

int hx_api_topics_register(hx_server_t *srv, hx_api_ctx_t *ctx, hx_err_t *err)
{
    static const hx_route_spec_t routes[] = {
        {"GET", "/v1/topics", list_topics},
        {"POST", "/v1/topics", create_topic},
        {"GET", "/v1/topics/{t}", get_topic},
        {"DELETE", "/v1/topics/{t}", delete_topic},
        {"POST", "/v1/topics/{t}/records", post_records},
        {"GET", "/v1/topics/{t}/records", get_records},
        {"GET", "/v1/groups", list_groups},
        {"GET", "/v1/groups/{g}", get_group},
    };
    return hx_server_routes(srv, routes, sizeof routes / sizeof routes[0], ctx, err);
}
