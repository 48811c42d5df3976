/* GET /v1/memory/sync/status: the node, its peers (heartbeat = their last
 * digest), counters, per-origin lag and the version vector. */
#include "helix/hx_clock.h"
#include "memory/engine.h"

#include <inttypes.h>
#include <stdio.h>

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
    json_object_set_new(j, "anti_entropy_pushes_held", json_integer((json_int_t)m->ae_pushes_held));
    pthread_mutex_unlock(&m->mu);
    pthread_mutex_lock(&m->qmu);
    /* with the batch a publish attempt holds: not yet published either */
    json_object_set_new(j, "publish_queue", json_integer((json_int_t)(m->qn + m->q_inflight)));
    json_object_set_new(j, "broker_reachable", json_boolean(!m->pub_failures));
    json_object_set_new(j, "publish_failures", json_integer((json_int_t)m->pub_failures));
    if (m->pub_failures)
        json_object_set_new(j, "publish_error", json_string(m->pub_error));
    pthread_mutex_unlock(&m->qmu);
    char why[512];
    int bad = hx_memory_health(m, why, sizeof why) != 0;
    json_object_set_new(j, "degraded", json_boolean(bad));
    json_object_set_new(j, "health", json_string(why));
    *out = j;
    return j ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory");
}

int hx_memory_health(hx_memory_t *m, char *detail, size_t len)
{
    int64_t now = hx_now_ms(), max_ok = m->cfg.distributed_memory.sync.max_lag_ms;
    int64_t lag = 0;
    char worst[HX_MNODE_MAX] = "";
    int up = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->norigins; i++) {
        const hx_origin_t *o = &m->origins[i];
        int64_t l = hx_memory_origin_lag_ms(o, now);
        if (l > lag) {
            lag = l;
            snprintf(worst, sizeof worst, "%s", o->node);
        }
        up += o->last_heartbeat && now - o->last_heartbeat <= 3 * (int64_t)m->digest_interval_ms;
    }
    size_t count = m->store.count;
    pthread_mutex_unlock(&m->mu);
    pthread_mutex_lock(&m->qmu);
    uint64_t fails = m->pub_failures;
    int64_t since = m->pub_fail_since_ms, queued_age = m->qn ? now - m->q_oldest_ms : 0;
    size_t queued = m->qn;
    char last_err[sizeof m->pub_error];
    snprintf(last_err, sizeof last_err, "%s", m->pub_error);
    pthread_mutex_unlock(&m->qmu);
    if (m->wal && hx_mwal_failed(m->wal)) {
        snprintf(detail, len, "the memory write-ahead log failed (disk full or I/O error): writes are refused "
                 "until a restart; reads serve the state as of the failure");
        return HX_EIO;
    }
    if (fails) {
        snprintf(detail, len, "publishing memory deltas has failed for %" PRId64 " ms (%" PRIu64 " attempts, %zu "
                 "deltas queued; writes are still accepted): %s", now - since, fails, queued, last_err);
        return HX_EUNAVAIL;
    }
    if (lag > max_ok) {
        snprintf(detail, len, "sync lag %" PRId64 " ms from node %s exceeds distributed_memory.sync.max_lag_ms=%" PRId64,
                 lag, worst, max_ok);
        return HX_EUNAVAIL;
    }
    if (queued_age > max_ok) {
        snprintf(detail, len, "%zu deltas waiting %" PRId64 " ms to be published, over "
                 "distributed_memory.sync.max_lag_ms=%" PRId64, queued, queued_age, max_ok);
        return HX_EUNAVAIL;
    }
    if (!m->broker)
        snprintf(detail, len, "node %s, %zu memories, single node (no broker, no sync)", m->node, count);
    else
        snprintf(detail, len, "node %s, %zu memories, %d peers up, max sync lag %" PRId64 " ms", m->node, count, up,
                 lag);
    return HX_OK;
}
