/* Hybrid logical clock (Kulkarni et al.): a 64-bit timestamp whose upper 48
 * bits are wall milliseconds and lower 16 bits a logical counter. Stamps a
 * node issues strictly increase, even across restarts (seed it with the
 * largest stamp recovered), and a stamp issued after observing a remote one
 * is greater than it, so (hlc, node) orders causally related writes.
 *
 * Drift guard: a remote stamp more than max_drift_ms ahead of the local wall
 * clock does not move the clock (a node with a broken clock cannot drag every
 * peer into the future); hx_hlc_observe reports it with HX_ERANGE and the
 * caller still applies the data, ordered by its own stamp.
 *
 * Not thread-safe: the owner serialises calls (the memory engine holds its
 * lock). A plain value; nothing to free. */
#ifndef HX_HLC_H
#define HX_HLC_H

#include "helix/hx_error.h"

#include <stdint.h>

#define HX_HLC_LOGICAL_BITS 16
#define HX_HLC_DEFAULT_MAX_DRIFT_MS 60000

typedef struct hx_hlc {
    uint64_t last;          /* last stamp issued or observed */
    int64_t max_drift_ms;
    uint64_t drift_rejects; /* remote stamps ignored by the guard */
} hx_hlc_t;

static inline int64_t hx_hlc_wall_ms(uint64_t stamp) { return (int64_t)(stamp >> HX_HLC_LOGICAL_BITS); }
static inline uint64_t hx_hlc_make(int64_t wall_ms, uint32_t logical)
{
    return ((uint64_t)wall_ms << HX_HLC_LOGICAL_BITS) | (logical & 0xffffu);
}

/* max_drift_ms <= 0 selects HX_HLC_DEFAULT_MAX_DRIFT_MS. */
void hx_hlc_init(hx_hlc_t *c, int64_t max_drift_ms);

/* Never issue a stamp <= floor again (recovery: the largest stamp in the WAL). */
void hx_hlc_seed(hx_hlc_t *c, uint64_t floor);

/* A new stamp for a local event, > every stamp issued or observed. wall_ms is
 * the current wall clock (hx_now_ms()); passed in so tests control time. */
uint64_t hx_hlc_now(hx_hlc_t *c, int64_t wall_ms);

/* Merges a remote stamp. HX_ERANGE (clock unchanged) when it is more than
 * max_drift_ms ahead of wall_ms. */
int hx_hlc_observe(hx_hlc_t *c, uint64_t remote, int64_t wall_ms);

#endif
