/* GET /v1/memory/sync/status: the node, its peers (heartbeat = their last
 * digest), counters, per-origin lag and the version vector. */
#include "helix/hx_clock.h"
#include "memory/engine.h"

int hx_memory_sync_status(hx_memory_t *m, json_t **out, hx_err_t *err)
{
    int64_t now = hx_now_ms();
    json_t *peers = json_array(), *lag = json_object(), *vv = json_object();
    pthread_mutex_lock(&m->mu);
    int64_t max_lag = 0;
    for (size_t i = 0; i < m->norigins; i++) {
        const hx_origin_t *o = &m->origins[i];
        int64_t l = hx_memory_origin_lag_ms(o, now);
        max_lag = l > max_lag ? l : max_lag;
        json_object_set_new(lag, o->node, json_integer(l));
        json_object_set_new(vv, o->node, json_integer((json_int_t)o->contig));
        if (o->last_heartbeat) {
            int up = now - o->last_heartbeat <= 3 * (int64_t)m->digest_interval_ms;
            json_array_append_new(peers, json_pack("{s:s,s:s,s:I,s:I,s:b}", "node_id", o->node, "status",
                                                   up ? "up" : "down", "last_heartbeat", (json_int_t)o->last_heartbeat,
                                                   "applied_seq", (json_int_t)o->contig, "in_sync", o->digest_equal));
        }
    }
    json_object_set_new(vv, m->node, json_integer((json_int_t)m->seq));
    json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:I,s:o,s:I,s:o,s:I,s:I,s:I,s:i,s:I,s:I,s:I}", "node_id", m->node,
                          "backend", m->broker ? hx_broker_backend(m->broker) : "none", "strategy",
                          m->strat == HX_CRDT_LWW ? "last_write_wins" : "merge_all", "peers", peers,
                          "events_published", (json_int_t)m->events_published, "events_consumed",
                          (json_int_t)m->events_consumed, "conflicts_resolved", (json_int_t)m->conflicts_resolved,
                          "sync_lag_ms", lag, "max_sync_lag_ms", (json_int_t)max_lag, "vector_clock", vv, "memories",
                          (json_int_t)m->store.count, "ops_applied", (json_int_t)m->ops_applied, "duplicates_dropped",
                          (json_int_t)m->duplicates, "batch_size", m->batch_size, "anti_entropy_states_pushed",
                          (json_int_t)m->ae_states_pushed, "anti_entropy_states_received",
                          (json_int_t)m->ae_states_received, "clock_drift_rejects", (json_int_t)m->drift_rejects);
    pthread_mutex_unlock(&m->mu);
    pthread_mutex_lock(&m->qmu);
    json_object_set_new(j, "publish_queue", json_integer((json_int_t)m->qn));
    json_object_set_new(j, "broker_reachable", json_boolean(!m->broker_down));
    pthread_mutex_unlock(&m->qmu);
    json_object_set_new(j, "degraded",
                        json_boolean(max_lag > m->cfg.distributed_memory.sync.max_lag_ms));
    *out = j;
    return j ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory");
}
