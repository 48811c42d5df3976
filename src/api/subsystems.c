/* The subsystems `helix serve` runs, in opening order: the event log first
 * (everything else produces to it or consumes from it), the pending table of
 * routes not built yet last. */
#include "api/api.h"

static const hx_subsystem_t *const table[] = {
    &hx_subsys_event_log,
    &hx_subsys_memory,
    &hx_subsys_context,
    &hx_subsys_analytics,
    &hx_subsys_pending,
};

const hx_subsystem_t *const *hx_subsystems(size_t *n)
{
    *n = sizeof table / sizeof table[0];
    return table;
}
