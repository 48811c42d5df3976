/* Component health: the status every subsystem reports on
 * /v1/bigdata/health, and the probe the stores share for their directories. */
#ifndef HX_HEALTH_H
#define HX_HEALTH_H

#include <stddef.h>

typedef enum {
    HX_HEALTH_HEALTHY = 0,
    HX_HEALTH_DEGRADED,
    HX_HEALTH_DISABLED,
    HX_HEALTH_UNHEALTHY
} hx_health_t;

/* Fills detail (NUL-terminated, at most len bytes) and returns a status. Runs
 * on a server thread for each GET /v1/bigdata/health. */
typedef hx_health_t (*hx_health_fn)(void *ctx, char *detail, size_t len);

const char *hx_health_name(hx_health_t h); /* "healthy", "degraded", ... */

/* Creates, fsyncs and unlinks a probe file in dir: 0 if writable, else HX_EIO
 * with the reason in detail. */
int hx_health_check_dir_writable(const char *dir, char *detail, size_t len);

#endif
