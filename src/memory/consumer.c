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

/* Joins the node's group. seek_to gets, per partition of memory.events, where
 * this node must read from: the offset stored with its snapshot, else the
 * low watermark. The group's committed offsets are not trusted for that: on
 * Kafka they outlive a wiped data dir (the embedded log loses both together),
 * and they may lag or lead the snapshot that was restored. */
int hx_msync_consumer_open(hx_memory_t *m, int64_t *seek_to, hx_err_t *err)
{
    hx_topic_info_t ti;
    int rc = hx_broker_topic_describe(m->broker, HX_TOPIC_MEMORY_EVENTS, &ti, err);
    if (rc)
        return hx_err_wrap(err, "memory sync needs topic %s (helix serve creates it)", HX_TOPIC_MEMORY_EVENTS);
    int nparts = ti.config.partitions < HX_MEM_PARTS_MAX ? ti.config.partitions : HX_MEM_PARTS_MAX;
    pthread_mutex_lock(&m->mu);
    m->nparts = nparts;
    for (int p = 0; p < nparts; p++) {
        seek_to[p] = m->part_next[p] >= 0 ? m->part_next[p] : ti.partitions[p].low_watermark;
        /* Past the end: the topic was deleted and re-created since the
         * snapshot, so every record in it is new to this node. Waiting for the
         * old offset to come back would skip them all. */
        if (seek_to[p] > ti.partitions[p].high_watermark) {
            HX_WARN("memory", "%s/%d: resume offset %" PRId64 " is past the end (%" PRId64 "): the topic was "
                    "re-created; reading it from the start, anti-entropy repairs what was lost",
                    HX_TOPIC_MEMORY_EVENTS, p, seek_to[p], ti.partitions[p].high_watermark);
            seek_to[p] = ti.partitions[p].low_watermark;
        }
    }
    pthread_mutex_unlock(&m->mu);
    hx_topic_info_free(&ti);
    char group[HX_MNODE_MAX + 32];
    snprintf(group, sizeof group, "helix-memory-%s", m->node);
    const char *topics[] = {HX_TOPIC_MEMORY_EVENTS, HX_TOPIC_MEMORY_SNAPSHOTS};
    hx_consumer_opts_t co;
    hx_consumer_opts_defaults(&co);
    co.auto_offset_reset = HX_RESET_EARLIEST;
    co.max_poll_records = 1000;
    co.client_id = m->node;
    /* The group has one member, this node. After a kill -9 its dead member
     * holds the group until the session times out, and the restarted node
     * cannot consume before that: 6 s (the smallest session a Kafka broker
     * accepts by default, group.min.session.timeout.ms) instead of 10 s. */
    co.session_timeout_ms = 6000;
    /* On Kafka this waits for the first assignment (seconds): it runs on the
     * consumer thread, never in hx_memory_open. */
    return hx_consumer_new(m->broker, group, topics, 2, &co, &m->consumer, err);
}

#define SEEK_DONE INT64_MIN

/* Positions every partition not done yet; returns how many are left. A seek
 * can fail while the assignment is still settling (Kafka: HX_ECONFLICT or
 * not assigned yet) and is retried; an offset the partition no longer has
 * (retention, a re-created topic) falls back to the low watermark, and
 * anti-entropy repairs whatever was lost that way. */
static int apply_seeks(hx_memory_t *m, int64_t *seek_to, int nparts)
{
    int left = 0;
    for (int p = 0; p < nparts; p++) {
        if (seek_to[p] == SEEK_DONE)
            continue;
        hx_err_t err = {0};
        int rc = hx_consumer_seek(m->consumer, HX_TOPIC_MEMORY_EVENTS, p, seek_to[p], &err);
        if (rc == HX_ERANGE) {
            HX_WARN("memory", "%s/%d: resume offset %" PRId64 " is gone (%s); reading from the start, anti-entropy "
                    "repairs what was lost", HX_TOPIC_MEMORY_EVENTS, p, seek_to[p], err.msg);
            rc = hx_consumer_seek(m->consumer, HX_TOPIC_MEMORY_EVENTS, p, HX_OFFSET_BEGINNING, &err);
        }
        if (rc) {
            left++;
            continue;
        }
        seek_to[p] = SEEK_DONE;
    }
    return left;
}

/* Commits the offsets a durable snapshot covers. A commit refused during a
 * rebalance (Kafka: HX_ECONFLICT) is kept for the next round unless a newer
 * snapshot replaced it; nothing is lost meanwhile, a restart only re-reads
 * more (duplicates are dropped by dot). */
static int commit_covered(hx_memory_t *m)
{
    int64_t commit[HX_MEM_PARTS_MAX];
    pthread_mutex_lock(&m->mu);
    int nparts = m->nparts, req = m->commit_req;
    if (req)
        memcpy(commit, m->commit_next, sizeof commit);
    m->commit_req = 0;
    pthread_mutex_unlock(&m->mu);
    if (!req)
        return HX_OK;
    int failed = 0;
    hx_err_t err = {0};
    for (int p = 0; p < nparts; p++)
        if (commit[p] >= 0 && hx_consumer_commit_offset(m->consumer, HX_TOPIC_MEMORY_EVENTS, p, commit[p], &err))
            failed = err.code ? err.code : HX_EIO;
    if (failed) {
        HX_DEBUG("memory", "committing memory consumer offsets failed (%s); retrying", err.msg);
        pthread_mutex_lock(&m->mu);
        if (!m->commit_req) {
            memcpy(m->commit_next, commit, sizeof commit);
            m->commit_req = 1;
        }
        pthread_mutex_unlock(&m->mu);
    }
    return failed;
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

void hx_msync_handle(hx_memory_t *m, const hx_msg_t *msg)
{
    /* Our own records (deltas we published, our digests) change nothing
     * here: skipped before their data is parsed. */
    if (hx_envelope_source_is(msg->value, msg->value_len, m->node))
        return;
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
    int backoff = 50, seeks_left = 0;
    int64_t seek_to[HX_MEM_PARTS_MAX], seek_since = 0, next_commit = 0, warn_ms = 0;
    uint64_t fails = 0;
    while (!m->stop) {
        hx_err_t err = {0};
        int64_t now = hx_now_ms();
        if (!m->consumer) {
            if (hx_msync_consumer_open(m, seek_to, &err)) {
                if (hx_msync_warn_due(++fails, now, warn_ms)) {
                    HX_WARN("memory", "memory sync cannot join its consumer group yet (%" PRIu64 " attempts): %s; "
                            "retrying (local writes are accepted meanwhile)", fails, err.msg);
                    warn_ms = now;
                }
                hx_sleep_ms(backoff);
                backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
                continue;
            }
            fails = 0;
            backoff = 50;
            seeks_left = m->nparts;
            seek_since = now;
        }
        if (seeks_left) {
            seeks_left = apply_seeks(m, seek_to, m->nparts);
            if (seeks_left && now - seek_since > 30000) {
                HX_WARN("memory", "%d partitions of %s could not be positioned at the snapshot's offsets in 30 s; "
                        "reading them from the group's committed offsets (anti-entropy repairs any gap)", seeks_left,
                        HX_TOPIC_MEMORY_EVENTS);
                seeks_left = 0;
            }
        }
        if (now >= next_commit && commit_covered(m))
            next_commit = now + 500;
        hx_fetch_t f = {0};
        if (hx_consumer_poll(m->consumer, 50, &f, &err)) {
            if (hx_msync_warn_due(++fails, now, warn_ms)) {
                HX_WARN("memory", "consuming memory events failed (%" PRIu64 " times in a row): %s; retrying",
                        fails, err.msg);
                warn_ms = now;
            }
            hx_sleep_ms(backoff);
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
            continue;
        }
        if (fails)
            HX_INFO("memory", "consuming memory events works again after %" PRIu64 " failures", fails);
        fails = 0;
        backoff = 50;
        for (size_t i = 0; i < f.count; i++) {
            const hx_msg_t *msg = &f.msgs[i];
            hx_msync_handle(m, msg);
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
