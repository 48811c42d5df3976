/* Shared by the sync files (sync.c, consumer.c, antientropy.c). */
#ifndef HX_MEMORY_SYNC_INT_H
#define HX_MEMORY_SYNC_INT_H

#include "memory/engine.h"

/* Encodes an envelope (data reference stolen) into out. */
int hx_msync_encode(hx_memory_t *m, const char *type, const char *tenant, const char *key, const char *id,
                    json_t *data, hx_buf_t *out, hx_err_t *err);
/* The adaptive batch size for a lag, from the current one (hysteresis). */
int hx_msync_batch_for_lag(int base, int current, int64_t lag_ms);
/* A failure repeated through an outage is logged the first time (n == 1),
 * then at most once per HX_MSYNC_WARN_EVERY_MS, so a long outage does not
 * flood the log. */
#define HX_MSYNC_WARN_EVERY_MS 30000
int hx_msync_warn_due(uint64_t n, int64_t now_ms, int64_t last_warn_ms);

int hx_msync_consumer_open(hx_memory_t *m, int64_t *seek_to, hx_err_t *err);
void *hx_msync_consumer_main(void *arg);

/* Decodes and applies one record of helixagent.memory.events or .snapshots
 * (the consumer thread's handler; undecodable records are logged and
 * skipped). */
void hx_msync_handle(hx_memory_t *m, const hx_msg_t *msg);

/* A digest (or a sync request carrying one) from a peer. */
void hx_msync_on_digest(hx_memory_t *m, const json_t *data, int request);

#endif
