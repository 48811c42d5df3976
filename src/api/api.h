/* Internal to src/api: the subsystems of the table and the route groups the
 * event log subsystem mounts. */
#ifndef HX_API_API_H
#define HX_API_API_H

#include "helix/hx_app.h"
#include "helix/hx_broker.h"
#include "helix/hx_buf.h"
#include "helix/hx_context.h"
#include "helix/hx_id.h"
#include "helix/hx_json.h"
#include "helix/hx_server.h"

extern const hx_subsystem_t hx_subsys_event_log; /* event_log.c */
extern const hx_subsystem_t hx_subsys_memory;    /* memory.c */
extern const hx_subsystem_t hx_subsys_context;   /* context.c */
extern const hx_subsystem_t hx_subsys_analytics; /* analytics.c */
extern const hx_subsystem_t hx_subsys_lake;      /* lake.c */
extern const hx_subsystem_t hx_subsys_jobs;      /* jobs.c */
extern const hx_subsystem_t hx_subsys_graph;     /* knowledge.c */
extern const hx_subsystem_t hx_subsys_pending;   /* pending.c */

/* event_log.c mounts these (topics.c, records.c, groups.c); ctx is the app. */
int hx_api_topics_routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err);
int hx_api_records_routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err);
int hx_api_groups_routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err);

/* ---- request bodies parsed apart from their handlers (fuzzed) ---- */
/* POST /v1/topics: name (borrowed from body) and the config. */
int hx_api_topic_request(const json_t *body, const char **name, hx_topic_config_t *tc, hx_err_t *err);
/* POST /v1/context/replay into rq (strings borrowed from body; tenant as given). */
int hx_api_replay_request(const json_t *body, const char *tenant, hx_ctx_request_t *rq, hx_err_t *err);
/* POST /v1/topics/{t}/records: {"records":[envelope...]} or one envelope,
 * each filled (id, source=node, tenant), checked against the request's
 * tenant, validated and encoded; a frame larger than limit is HX_ETOOBIG.
 * All or nothing: on error out holds nothing. msgs point into envs/frames. */
typedef struct hx_api_records {
    size_t n, built;
    struct hx_envelope *envs;
    hx_buf_t *frames;
    hx_msg_t *msgs;
} hx_api_records_t;
int hx_api_records_request(const json_t *body, const char *topic, int32_t partition, const char *tenant,
                           const char *node, int64_t now_ms, int64_t limit, hx_api_records_t *out, hx_err_t *err);
void hx_api_records_free(hx_api_records_t *r);
/* The same from the body's text, without a jansson tree (records_text.c):
 * HX_OK with out as hx_api_records_request fills it (the same frames byte
 * for byte), 1 when the body is not one it is sure of (out holds nothing:
 * answer with hx_api_records_request, which also words every error), or
 * HX_ENOMEM. */
int hx_api_records_request_text(const char *body, size_t len, const char *topic, int32_t partition,
                                const char *tenant, const char *node, int64_t now_ms, int64_t limit,
                                hx_api_records_t *out, hx_err_t *err);

/* The path parameter `name` checked with hx_id_check (what = "name" unless
 * given): NULL with the reason in hx_req_err(req) when it is not a valid id. */
const char *hx_api_path_id(hx_req_t *req, const char *name, const char *what);

#endif
