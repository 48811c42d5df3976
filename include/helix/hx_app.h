/* The running node: the engines `helix serve` opens and the table of
 * subsystems that opens them, mounts their routes and health checks, and
 * closes them in reverse order.
 *
 * A subsystem is an engine plus its HTTP routes and its health entry. Each is
 * one hx_subsystem_t defined next to its routes in src/api/<name>.c and listed
 * once, in opening order, in src/api/subsystems.c. A subsystem's open() fills
 * its typed field of hx_app_t; later subsystems may use earlier ones' fields
 * (engines still feed each other through topics, not calls).
 *
 * Ownership: hx_app_t borrows cfg and metrics (they outlive it) and owns every
 * engine handle it holds; hx_app_close() frees them. */
#ifndef HX_APP_H
#define HX_APP_H

#include "helix/hx_config.h"
#include "helix/hx_error.h"
#include "helix/hx_health.h"
#include "helix/hx_metrics.h"
#include "helix/hx_server.h"

#include <stddef.h>

typedef struct hx_broker hx_broker_t;
typedef struct hx_context hx_context_t;
typedef struct hx_memory hx_memory_t;
typedef struct hx_analytics hx_analytics_t;

typedef struct hx_app {
    const hx_config_t *cfg;   /* borrowed; node.node_id is set */
    hx_metrics_t *metrics;    /* borrowed */
    /* Engine handles, NULL until their subsystem opened. */
    hx_broker_t *broker;      /* "event_log" */
    hx_context_t *context;    /* "context" */
    hx_memory_t *memory;      /* "memory" */
    hx_analytics_t *analytics; /* "analytics" */
    /* "event_log": built-in topics found missing at open (they existed at the
     * previous start and were recreated empty), ", "-separated; owned, NULL if none. */
    char *lost_topics;
    /* Which subsystems opened, so close and mount skip the others. */
    unsigned char opened[32];
} hx_app_t;

typedef struct hx_subsystem {
    const char *name;                                               /* health entry and log name */
    int (*open)(hx_app_t *app, hx_err_t *err);                      /* NULL: nothing to open */
    int (*routes)(hx_app_t *app, hx_server_t *srv, hx_err_t *err);  /* NULL: no routes */
    hx_health_t (*health)(void *app, char *detail, size_t len);     /* NULL: no health entry; ctx is the hx_app_t */
    void (*close)(hx_app_t *app);                                   /* NULL: nothing to close */
} hx_subsystem_t;

/* The table, in opening order. */
const hx_subsystem_t *const *hx_subsystems(size_t *n);

/* Opens every subsystem in order. On failure the ones already open are
 * closed, and err names the subsystem: "memory: cannot open ...". */
int hx_app_open(hx_app_t *app, const hx_config_t *cfg, hx_metrics_t *metrics, hx_err_t *err);
/* Registers every open subsystem's routes and health check on srv. */
int hx_app_mount(hx_app_t *app, hx_server_t *srv, hx_err_t *err);
/* Closes the open subsystems in reverse order; safe on a zeroed app. */
void hx_app_close(hx_app_t *app);

#endif
