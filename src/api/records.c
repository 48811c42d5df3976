/* HTTP API of the event log's records. Records are envelopes: JSON on the
 * wire, the binary frame in the log. A tenant only writes and reads envelopes
 * of its own tenant. */
#include "api/api.h"
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FETCH 10000

void hx_api_records_free(hx_api_records_t *r)
{
    for (size_t i = 0; i < r->built; i++) {
        hx_envelope_free(&r->envs[i]);
        hx_buf_free(&r->frames[i]);
    }
    free(r->envs);
    free(r->frames);
    free(r->msgs);
    memset(r, 0, sizeof *r);
}

int hx_api_records_request(const json_t *body, const char *topic, int32_t partition, const char *tenant,
                           const char *node, int64_t now_ms, int64_t limit, hx_api_records_t *out, hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(body))
        return hx_err_set(err, HX_EINVAL, "the body must be {\"records\":[envelope...]} or one envelope object");
    json_t *list = json_object_get(body, "records");
    if (list && !json_is_array(list))
        return hx_err_set(err, HX_EINVAL, "field 'records' must be an array of envelopes");
    size_t n = list ? json_array_size(list) : 1;
    if (n == 0)
        return hx_err_set(err, HX_EINVAL, "no records to write: 'records' is empty");
    out->envs = calloc(n, sizeof *out->envs);
    out->frames = calloc(n, sizeof *out->frames);
    out->msgs = calloc(n, sizeof *out->msgs);
    if (!out->envs || !out->frames || !out->msgs) {
        hx_api_records_free(out);
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    int rc = HX_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        hx_envelope_t *e = &out->envs[i];
        out->built = i + 1; /* e is initialised by the decoder, even on failure */
        if ((rc = hx_envelope_from_json(list ? json_array_get(list, i) : body, e, err)) ||
            (rc = hx_envelope_fill_defaults(e, node, now_ms, err))) {
            hx_err_wrap(err, "records[%zu]", i);
            break;
        }
        if (strcmp(e->tenant, "default") == 0 && strcmp(tenant, "default") != 0) {
            free(e->tenant);
            e->tenant = strdup(tenant);
        }
        if (!e->tenant || strcmp(e->tenant, tenant) != 0) {
            rc = hx_err_set(err, HX_EINVAL, "records[%zu]: tenant '%s' does not match the request tenant '%s'", i,
                            e->tenant ? e->tenant : "", tenant);
            break;
        }
        if ((rc = hx_envelope_validate(e, err)) || (rc = hx_event_validate_data(e->type, e->data, err)) ||
            (rc = hx_envelope_encode(e, &out->frames[i], err))) {
            hx_err_wrap(err, "records[%zu]", i);
            break;
        }
        if ((int64_t)(out->frames[i].len + strlen(e->key)) > limit) {
            rc = hx_err_set(err, HX_ETOOBIG, "records[%zu] is %zu bytes; topic '%s' accepts at most %lld (nothing was "
                            "written)", i, out->frames[i].len + strlen(e->key), topic, (long long)limit);
            break;
        }
        out->msgs[i] = (hx_msg_t){.topic = topic, .partition = partition, .timestamp_ms = e->ts, .key = e->key,
                                  .key_len = strlen(e->key), .value = out->frames[i].data,
                                  .value_len = out->frames[i].len};
    }
    if (rc)
        hx_api_records_free(out);
    else
        out->n = n;
    return rc;
}

/* POST body: {"records":[envelope...]} or one envelope. All are validated and
 * size-checked first; nothing is written unless every record is acceptable.
 * ?partition=N writes them all to partition N (default: by key). */
static int post_records(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_app_t *api = ctx;
    hx_err_t *err = hx_req_err(req);
    const char *topic = hx_req_param(req, "t"), *tenant = hx_req_tenant(req);
    int64_t part;
    int rc = hx_req_query_int(req, "partition", -1, 0, 1023, &part);
    if (rc)
        return rc;
    int nparts;
    int64_t limit;
    hx_api_records_t r;
    hx_err_t topic_err = {0};
    int topic_rc = hx_broker_topic_limits(api->broker, topic, &nparts, &limit, &topic_err);
    if (!topic_rc && limit <= 0)
        limit = api->cfg->event_log.max_message_bytes;
    size_t blen;
    const char *btext = hx_req_body(req, &blen);
    /* The text reader first; what it leaves (and every error) takes the
     * tree path, in the order of checks it always had: the body, then the
     * topic, then the partition. */
    rc = 1;
    if (blen && !topic_rc && part < nparts &&
        (rc = hx_api_records_request_text(btext, blen, topic, (int32_t)part, tenant, api->cfg->node.node_id,
                                          hx_now_ms(), limit, &r, err)) < 0)
        return rc;
    if (rc) {
        json_t *body = hx_req_json(req, err);
        if (!body)
            return HX_EINVAL;
        if (topic_rc) {
            *err = topic_err;
            return topic_rc;
        }
        if (part >= nparts)
            return hx_err_set(err, HX_EINVAL, "partition %lld does not exist: topic '%s' has %d partition(s)",
                              (long long)part, topic, nparts);
        if ((rc = hx_api_records_request(body, topic, (int32_t)part, tenant, api->cfg->node.node_id, hx_now_ms(),
                                         limit, &r, err)))
            return rc;
    }
    hx_delivery_t *dl = calloc(r.n, sizeof *dl);
    if (!dl)
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
    else if (!(rc = hx_broker_produce(api->broker, r.msgs, r.n, dl, err))) {
        /* Written as text: the answer is a few fixed keys, a jansson tree would be built only to be dumped. */
        hx_buf_t out = HX_BUF_INIT;
        rc = hx_buf_puts(&out, "{\"topic\":");
        rc = rc ? rc : hx_buf_put_json_str(&out, topic, strlen(topic));
        rc = rc ? rc : hx_buf_puts(&out, ",\"records\":[");
        for (size_t i = 0; i < r.n && !rc; i++) {
            rc = hx_buf_puts(&out, i ? ",{\"id\":" : "{\"id\":");
            rc = rc ? rc : hx_buf_put_json_str(&out, r.envs[i].id, strlen(r.envs[i].id));
            rc = rc ? rc : hx_buf_printf(&out, ",\"partition\":%d,\"offset\":%" PRId64 "}", (int)dl[i].partition,
                                         dl[i].offset);
        }
        rc = rc ? rc : hx_buf_puts(&out, "]}");
        rc = rc ? hx_err_set(err, HX_ENOMEM, "out of memory writing the answer (the records were written)")
                : hx_res_buf(res, 201, "application/json", &out);
        hx_buf_free(&out);
    }
    free(dl);
    hx_api_records_free(&r);
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
