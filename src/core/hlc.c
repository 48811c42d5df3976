/* Hybrid logical clock; see hx_hlc.h for the contract. */
#include "helix/hx_hlc.h"

void hx_hlc_init(hx_hlc_t *c, int64_t max_drift_ms)
{
    c->last = 0;
    c->max_drift_ms = max_drift_ms > 0 ? max_drift_ms : HX_HLC_DEFAULT_MAX_DRIFT_MS;
    c->drift_rejects = 0;
}

void hx_hlc_seed(hx_hlc_t *c, uint64_t floor)
{
    if (floor > c->last)
        c->last = floor;
}

uint64_t hx_hlc_now(hx_hlc_t *c, int64_t wall_ms)
{
    uint64_t phys = hx_hlc_make(wall_ms < 0 ? 0 : wall_ms, 0);
    /* The logical counter absorbs bursts within one millisecond and a wall
     * clock that stepped back; overflowing it borrows the next millisecond,
     * which keeps stamps strictly increasing. */
    c->last = phys > c->last ? phys : c->last + 1;
    return c->last;
}

int hx_hlc_observe(hx_hlc_t *c, uint64_t remote, int64_t wall_ms)
{
    if (hx_hlc_wall_ms(remote) > wall_ms + c->max_drift_ms) {
        c->drift_rejects++;
        return HX_ERANGE;
    }
    if (remote > c->last)
        c->last = remote;
    return HX_OK;
}
