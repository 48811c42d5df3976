/* Internal to src/api: the subsystems of the table and the route groups the
 * event log subsystem mounts. */
#ifndef HX_API_API_H
#define HX_API_API_H

#include "helix/hx_app.h"
#include "helix/hx_id.h"
#include "helix/hx_json.h"
#include "helix/hx_server.h"

extern const hx_subsystem_t hx_subsys_event_log; /* event_log.c */
extern const hx_subsystem_t hx_subsys_memory;    /* memory.c */
extern const hx_subsystem_t hx_subsys_context;   /* context.c */
extern const hx_subsystem_t hx_subsys_analytics; /* analytics.c */
extern const hx_subsystem_t hx_subsys_pending;   /* pending.c */

/* event_log.c mounts these (topics.c, records.c, groups.c); ctx is the app. */
int hx_api_topics_routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err);
int hx_api_records_routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err);
int hx_api_groups_routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err);

/* The path parameter `name` checked with hx_id_check (what = "name" unless
 * given): NULL with the reason in hx_req_err(req) when it is not a valid id. */
const char *hx_api_path_id(hx_req_t *req, const char *name, const char *what);

#endif
