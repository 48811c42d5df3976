/* HTTP API groups that `helix serve` mounts on the server. Each registers its
 * routes; ctx pointers are borrowed and must outlive the server. */
#ifndef HX_API_H
#define HX_API_H

#include "helix/hx_broker.h"
#include "helix/hx_server.h"

typedef struct hx_api_ctx {
    hx_broker_t *broker;
    const hx_config_t *cfg;
    const char *node_id;
} hx_api_ctx_t;

/* /v1/topics, /v1/topics/{t}, /v1/topics/{t}/records, /v1/groups, /v1/groups/{g} */
int hx_api_topics_register(hx_server_t *srv, hx_api_ctx_t *ctx, hx_err_t *err);

/* /v1/conversations/{id}/messages, /v1/context/replay, /v1/context/stats/{id} */
typedef struct hx_context hx_context_t;
int hx_api_context_register(hx_server_t *srv, hx_context_t *ctx, hx_err_t *err);

/* /v1/memory (CRUD, list), /v1/memory/search, /v1/memory/conflicts,
 * /v1/memory/sync/status, /v1/memory/sync/force (hx_memory.h; mem borrowed). */
typedef struct hx_memory hx_memory_t;
int hx_api_memory_register(hx_server_t *srv, hx_memory_t *mem, hx_err_t *err);

#endif
