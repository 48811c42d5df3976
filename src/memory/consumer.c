/* The consumer side of replication: one group per node over every partition
 * of helixagent.memory.events and helixagent.memory.snapshots. Positions of
 * memory.events are tracked as they are applied so a snapshot can store them;
 * the group's committed offsets move only when a snapshot covering them is
 * durable, so a restarted node resumes exactly where its snapshot ends. */
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"
#include "helix/hx_logger.h"
#include "helix/hx_topics.h"
#include "memory/sync_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int hx_msync_consumer_open(hx_memory_t *m, hx_err_t *err)
{
    hx_topic_info_t ti;
    int rc = hx_broker_topic_describe(m->broker, HX_TOPIC_MEMORY_EVENTS, &ti, err);
    if (rc)
        return hx_err_wrap(err, "memory sync needs topic %s (helix serve creates it)", HX_TOPIC_MEMORY_EVENTS);
    m->nparts = ti.config.partitions < HX_MEM_PARTS_MAX ? ti.config.partitions : HX_MEM_PARTS_MAX;
    hx_topic_info_free(&ti);
    char group[HX_MNODE_MAX + 32];
    snprintf(group, sizeof group, "helix-memory-%s", m->node);
    const char *topics[] = {HX_TOPIC_MEMORY_EVENTS, HX_TOPIC_MEMORY_SNAPSHOTS};
    hx_consumer_opts_t co;
    hx_consumer_opts_defaults(&co);
    co.auto_offset_reset = HX_RESET_EARLIEST;
    co.max_poll_records = 1000;
    co.client_id = m->node;
    if ((rc = hx_consumer_new(m->broker, group, topics, 2, &co, &m->consumer, err)))
        return rc;
    /* Offsets stored with the snapshot win over whatever the group has. */
    for (int p = 0; p < m->nparts; p++)
        if (m->part_next[p] >= 0)
            hx_consumer_seek(m->consumer, HX_TOPIC_MEMORY_EVENTS, p, m->part_next[p], NULL);
    return HX_OK;
}

static void apply_states(hx_memory_t *m, const json_t *states)
{
    size_t i;
    json_t *sj;
    json_array_foreach(states, i, sj)
    {
        hx_mcrdt_t *d = NULL;
        hx_err_t err = {0};
        if (hx_mcrdt_from_json(sj, &d, &err)) {
            HX_WARN("memory", "anti-entropy state skipped: %s", err.msg);
            continue;
        }
        hx_join_info_t info;
        pthread_mutex_lock(&m->mu);
        hx_hlc_observe(&m->hlc, hx_mcrdt_max_hlc(d), hx_now_ms());
        hx_memory_apply_state(m, d, 1, &info);
        m->ae_states_received++;
        pthread_mutex_unlock(&m->mu);
        hx_mcrdt_free(d);
    }
}

static void handle(hx_memory_t *m, const hx_msg_t *msg)
{
    hx_envelope_t e;
    hx_envelope_init(&e);
    hx_err_t err = {0};
    if (hx_envelope_decode(msg->value, msg->value_len, &e, &err)) {
        HX_WARN("memory", "%s/%d@%" PRId64 ": not an envelope (%s); skipped", msg->topic, msg->partition,
                msg->offset, err.msg);
        return;
    }
    if (!strcmp(e.type, HX_EV_MEMORY_DELTA) && strcmp(e.source, m->node) && !atomic_load(&m->drop_in)) {
        json_t *ops = json_object_get(e.data, "ops"), *states = json_object_get(e.data, "states");
        size_t i;
        json_t *op;
        json_array_foreach(ops, i, op)
        {
            hx_err_t oe = {0};
            if (hx_memory_apply_op(m, op, 1, &oe))
                HX_WARN("memory", "op from %s skipped: %s", e.source, oe.msg);
        }
        if (states)
            apply_states(m, states);
        pthread_mutex_lock(&m->mu);
        m->events_consumed++;
        pthread_mutex_unlock(&m->mu);
        hx_counter_inc_labels(m->c_events, (const char *[]){m->node, "consumed"}, 1);
    } else if (!strcmp(e.type, HX_EV_MEMORY_SYNC_REQUEST)) {
        hx_msync_on_digest(m, e.data, 1);
    } else if (!strcmp(e.type, HX_EV_MEMORY_SNAPSHOT_DIGEST)) {
        hx_msync_on_digest(m, e.data, 0);
    }
    hx_envelope_free(&e);
}

void *hx_msync_consumer_main(void *arg)
{
    hx_memory_t *m = arg;
    int backoff = 50;
    while (!m->stop) {
        int64_t commit[HX_MEM_PARTS_MAX];
        int do_commit = 0;
        pthread_mutex_lock(&m->mu);
        if (m->commit_req) {
            memcpy(commit, m->commit_next, sizeof commit);
            m->commit_req = 0;
            do_commit = 1;
        }
        pthread_mutex_unlock(&m->mu);
        for (int p = 0; do_commit && p < m->nparts; p++)
            if (commit[p] >= 0)
                hx_consumer_commit_offset(m->consumer, HX_TOPIC_MEMORY_EVENTS, p, commit[p], NULL);
        hx_fetch_t f = {0};
        hx_err_t err = {0};
        if (hx_consumer_poll(m->consumer, 50, &f, &err)) {
            HX_WARN("memory", "consuming memory events failed: %s; retrying", err.msg);
            hx_sleep_ms(backoff);
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
            continue;
        }
        backoff = 50;
        for (size_t i = 0; i < f.count; i++) {
            const hx_msg_t *msg = &f.msgs[i];
            handle(m, msg);
            if (!strcmp(msg->topic, HX_TOPIC_MEMORY_EVENTS) && msg->partition >= 0 && msg->partition < m->nparts) {
                pthread_mutex_lock(&m->mu);
                m->part_next[msg->partition] = msg->offset + 1;
                pthread_mutex_unlock(&m->mu);
            }
        }
        hx_fetch_free(&f);
    }
    return NULL;
}
