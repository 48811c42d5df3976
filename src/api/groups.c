/* HTTP API of consumer groups: list and describe, for admin keys (a group's
 * offsets and lag cover every tenant's records). */
#include "api/api.h"
#include "helix/hx_broker.h"

static int list_groups(hx_req_t *req, hx_res_t *res, void *ctx)
{
    hx_app_t *api = ctx;
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
    hx_app_t *api = ctx;
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

int hx_api_groups_routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err)
{
    static const hx_route_spec_t routes[] = {
        {"GET", "/v1/groups", list_groups, HX_ROLE_ADMIN},
        {"GET", "/v1/groups/{g}", get_group, HX_ROLE_ADMIN},
    };
    return hx_server_routes(srv, routes, sizeof routes / sizeof routes[0], app, err);
}
