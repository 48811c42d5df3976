/* HTTP API of the event log's records. Records are envelopes: JSON on the
 * wire, the binary frame in the log. A tenant only writes and reads envelopes
 * of its own tenant. */
#include "api/api.h"
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FETCH 10000

/* POST body: {"records":[envelope...]} or one envelope. All are validated and
 * size-checked first; nothing is written unless every record is acceptable. */
static int post_records(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_app_t *api = ctx;
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
            (rc = hx_envelope_fill_defaults(e, api->cfg->node.node_id, now, err))) {
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
    hx_app_t *api = ctx;
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

int hx_api_records_routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err)
{
    static const hx_route_spec_t routes[] = {
        {"POST", "/v1/topics/{t}/records", post_records, HX_ROLE_DEFAULT},
        {"GET", "/v1/topics/{t}/records", get_records, HX_ROLE_DEFAULT},
    };
    return hx_server_routes(srv, routes, sizeof routes / sizeof routes[0], app, err);
}
