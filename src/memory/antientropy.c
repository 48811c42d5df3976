/* Anti-entropy: every node publishes a digest of its state (256 buckets,
 * each the sum of xxh3 of the canonical text of its memories) plus its own op
 * seq and version vector, keyed by node id on helixagent.memory.snapshots.
 * The digest doubles as the peer heartbeat. A node that sees a peer digest
 * differ in a bucket pushes its full states of that bucket (joins are
 * idempotent, so pushing is always safe); the peer does the same on seeing
 * ours, so both end with the join of both. Under steady writes buckets differ
 * all the time only because of deltas in flight, so a periodic digest pushes
 * a bucket only when the peer reported the same value for it twice in a row
 * and it still differs; and repeated periodic pushes to a peer back off
 * (periodic_push_allowed). A sync request (POST /v1/memory/sync/force) asks
 * every peer for a fresh digest and pushes/pulls every differing bucket at
 * once. When a peer's digest equals ours, its version vector is adopted: ops
 * lost in transit but healed by anti-entropy no longer count as lag. */
#include "helix/hx_clock.h"
#include "helix/hx_hash.h"
#include "helix/hx_logger.h"
#include "helix/hx_topics.h"
#include "memory/sync_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t item_hash(hx_mitem_t *it, hx_buf_t *scratch)
{
    if (!it->hash_ok) {
        it->hash = hx_mcrdt_hash(it->s, scratch);
        it->hash_ok = 1;
    }
    return it->hash;
}

int hx_msync_digest(hx_memory_t *m, uint64_t out[HX_MEM_BUCKETS])
{
    memset(out, 0, HX_MEM_BUCKETS * sizeof *out);
    /* In slices, so writes and applies are not held up behind hashing a
     * large store; a digest is a hint (see above), not a consistent cut. */
    size_t i = 0;
    hx_buf_t scratch = HX_BUF_INIT;
    for (;;) {
        pthread_mutex_lock(&m->mu);
        if (i >= m->store.cap) {
            pthread_mutex_unlock(&m->mu);
            break;
        }
        for (size_t end = i + 256; i < end && i < m->store.cap; i++)
            if (m->store.slots[i])
                out[m->store.slots[i]->bucket] += item_hash(m->store.slots[i], &scratch);
        pthread_mutex_unlock(&m->mu);
    }
    hx_buf_free(&scratch);
    return HX_OK;
}

int hx_msync_publish_digest(hx_memory_t *m, int request, hx_err_t *err)
{
    if (!m->broker)
        return HX_OK;
    /* The version vector and seq are read before the state is hashed, so
     * they are a lower bound of what the digest covers: a peer whose state
     * hashes equal may adopt them without marking an op it lacks as applied
     * (it would then drop that op as a duplicate). */
    json_t *b = json_array(), *vv = json_object();
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->norigins; i++)
        json_object_set_new(vv, m->origins[i].node, json_integer((json_int_t)m->origins[i].contig));
    uint64_t seq = m->seq;
    pthread_mutex_unlock(&m->mu);
    uint64_t d[HX_MEM_BUCKETS];
    hx_msync_digest(m, d);
    for (int i = 0; i < HX_MEM_BUCKETS; i++) {
        char hex[17];
        snprintf(hex, sizeof hex, "%016" PRIx64, d[i]);
        json_array_append_new(b, json_string(hex));
    }
    json_t *data = json_pack("{s:s,s:I,s:I,s:o,s:o,s:b}", "node", m->node, "seq", (json_int_t)seq, "ts",
                             (json_int_t)hx_now_ms(), "buckets", b, "vv", vv, "request", request);
    hx_buf_t buf = HX_BUF_INIT;
    const char *topic = request ? HX_TOPIC_MEMORY_EVENTS : HX_TOPIC_MEMORY_SNAPSHOTS;
    int rc = hx_msync_encode(m, request ? HX_EV_MEMORY_SYNC_REQUEST : HX_EV_MEMORY_SNAPSHOT_DIGEST, "default", m->node,
                             NULL, data, &buf, err);
    if (!rc) {
        hx_msg_t msg = {.topic = topic, .partition = -1, .key = m->node, .key_len = strlen(m->node),
                        .value = buf.data, .value_len = buf.len};
        rc = hx_broker_produce(m->broker, &msg, 1, NULL, err);
    }
    hx_buf_free(&buf);
    return rc;
}

/* Publishes the full state of every memory in the marked buckets. */
static void push_buckets(hx_memory_t *m, const unsigned char *push)
{
    size_t cap = 256, n = 0;
    json_t **states = malloc(cap * sizeof *states);
    if (!states)
        return;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->store.cap; i++) {
        hx_mitem_t *it = m->store.slots[i];
        json_t *j = NULL;
        if (!it || !push[it->bucket] || hx_mcrdt_to_json(it->s, &j))
            continue;
        if (n == cap) {
            json_t **ns = realloc(states, cap * 2 * sizeof *ns);
            if (!ns) {
                json_decref(j);
                break;
            }
            states = ns;
            cap *= 2;
        }
        states[n++] = j;
    }
    m->ae_states_pushed += n;
    pthread_mutex_unlock(&m->mu);
    for (size_t i = 0; i < n; i += 256) {
        size_t k = n - i < 256 ? n - i : 256;
        hx_msg_t msgs[256];
        hx_buf_t bufs[256];
        memset(bufs, 0, sizeof bufs);
        for (size_t j = 0; j < k; j++) {
            json_t *s = states[i + j];
            const char *id = json_string_value(json_object_get(s, "id"));
            const char *tenant = json_string_value(json_object_get(s, "tenant"));
            hx_msync_encode(m, HX_EV_MEMORY_DELTA, tenant, id, NULL, json_pack("{s:b,s:[O]}", "ae", 1, "states", s),
                            &bufs[j], NULL);
            msgs[j] = (hx_msg_t){.topic = HX_TOPIC_MEMORY_EVENTS, .partition = -1, .key = id, .key_len = strlen(id),
                                 .value = bufs[j].data, .value_len = bufs[j].len};
        }
        hx_err_t err = {0};
        if (hx_broker_produce(m->broker, msgs, k, NULL, &err))
            HX_WARN("memory", "anti-entropy push failed: %s", err.msg);
        for (size_t j = 0; j < k; j++)
            hx_buf_free(&bufs[j]);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(states[i]);
    free(states);
}

/* Every op of x up to c is known to be in our state. */
static void adopt_contig(hx_origin_t *x, uint64_t c)
{
    if (c > x->contig) {
        x->contig = c;
        size_t k = 0;
        while (k < x->nextra && x->extra[k] <= c)
            k++;
        if (k)
            memmove(x->extra, x->extra + k, (x->nextra - k) * sizeof *x->extra);
        x->nextra -= k;
        if (!x->nextra)
            x->extra_min_hlc = 0;
        while (x->nextra && x->extra[0] == x->contig + 1) {
            x->contig++;
            memmove(x->extra, x->extra + 1, (x->nextra - 1) * sizeof *x->extra);
            x->nextra--;
        }
        if (!x->nextra)
            x->extra_min_hlc = 0;
    }
    if (x->advertised <= x->contig)
        x->advertised_since = 0;
}

/* Whether the buckets found to differ may be pushed to peer o now. A peer
 * that is not consuming (a restarted node waiting for its group join, one
 * far behind on the log) keeps publishing the same stale digest; pushing its
 * differing buckets on each of them would publish the same full states every
 * interval from every peer, and the peer would have to read them all once it
 * consumes. So after a periodic push the next one to that peer waits 2
 * intervals, doubling while the peer still differs (at most 32 intervals),
 * and the wait ends when its digest equals ours. Requests (sync/force) are
 * never held back. Called with mu held. */
static int periodic_push_allowed(hx_memory_t *m, hx_origin_t *o, int npush, int ndiff, int asked, int64_t now)
{
    int64_t base = 2 * (int64_t)m->digest_interval_ms, cap = 32 * (int64_t)m->digest_interval_ms;
    if (ndiff == 0) {
        o->push_backoff_ms = 0;
        o->push_hold_until = 0;
        return 1;
    }
    if (!npush || asked)
        return 1;
    if (now < o->push_hold_until) {
        m->ae_pushes_held++;
        return 0;
    }
    o->push_backoff_ms = o->push_backoff_ms ? (o->push_backoff_ms * 2 > cap ? cap : o->push_backoff_ms * 2) : base;
    o->push_hold_until = now + o->push_backoff_ms;
    return 1;
}

void hx_msync_on_digest(hx_memory_t *m, const json_t *data, int request)
{
    const char *node = json_string_value(json_object_get(data, "node"));
    const json_t *buckets = json_object_get(data, "buckets");
    if (!node || !strcmp(node, m->node) || json_array_size(buckets) != HX_MEM_BUCKETS)
        return;
    int64_t now = hx_now_ms(), ts = json_integer_value(json_object_get(data, "ts"));
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(data, "seq"));
    /* A node reading the topics from the start replays old digests and sync
     * requests: they are neither heartbeats nor worth answering. A request
     * gets a wider window (its sender waits on it, clocks differ a bit). */
    int64_t window = 3 * (int64_t)m->digest_interval_ms;
    if (request && window < 60000)
        window = 60000;
    int stale = now - ts > window;
    pthread_mutex_lock(&m->mu);
    hx_origin_t *o = hx_memory_origin(m, node, 1);
    if (o) {
        if (!stale)
            o->last_heartbeat = now;
        if (seq > o->contig) {
            if (!o->advertised_since || o->advertised <= o->contig)
                o->advertised_since = ts;
        } else {
            o->advertised_since = 0;
        }
        o->advertised = seq;
    }
    int force = now < m->force_until_ms;
    pthread_mutex_unlock(&m->mu);
    if (!o || stale)
        return;
    if (request)
        hx_msync_publish_digest(m, 0, NULL);
    uint64_t mine[HX_MEM_BUCKETS];
    hx_msync_digest(m, mine);
    unsigned char push[HX_MEM_BUCKETS] = {0};
    int ndiff = 0, npush = 0;
    pthread_mutex_lock(&m->mu);
    o = hx_memory_origin(m, node, 0);
    for (int b = 0; o && b < HX_MEM_BUCKETS; b++) {
        uint64_t theirs = strtoull(json_string_value(json_array_get(buckets, (size_t)b)) ? json_string_value(
                                                                                              json_array_get(buckets, (size_t)b))
                                                                                        : "0",
                                   NULL, 16);
        int differs = theirs != mine[b];
        uint32_t word = 1u << (b % 32);
        int stable = o->has_digest && o->peer_buckets[b] == (uint32_t)theirs && (o->peer_prev_differ[b / 32] & word);
        if (differs && (request || force || stable)) {
            push[b] = 1;
            npush++;
        }
        ndiff += differs;
        o->peer_buckets[b] = (uint32_t)theirs;
        if (differs)
            o->peer_prev_differ[b / 32] |= word;
        else
            o->peer_prev_differ[b / 32] &= ~word;
    }
    if (o) {
        o->has_digest = 1;
        o->digest_rx_ms = now;
        o->digest_equal = ndiff == 0;
        o->last_ndiff = ndiff;
        npush = periodic_push_allowed(m, o, npush, ndiff, request || force, now) ? npush : 0;
    }
    if (o && ndiff == 0) {
        /* Equal state: we hold every op the sender had applied, its own up
         * to seq included. Adopting its counts ends lag for ops that were
         * lost in transit and healed by state instead. */
        adopt_contig(o, seq);
        const char *vn;
        json_t *vc;
        json_object_foreach((json_t *)json_object_get(data, "vv"), vn, vc)
        {
            /* May grow m->origins: o is not used past this loop. */
            hx_origin_t *x = strcmp(vn, m->node) ? hx_memory_origin(m, vn, 1) : NULL;
            if (x)
                adopt_contig(x, (uint64_t)json_integer_value(vc));
        }
    }
    pthread_mutex_unlock(&m->mu);
    if (npush)
        push_buckets(m, push);
}

int hx_memory_sync_force(hx_memory_t *m, int timeout_ms, json_t **out, hx_err_t *err)
{
    *out = NULL;
    int64_t start = hx_now_ms(), deadline = start + timeout_ms;
    uint64_t pushed0, recv0;
    pthread_mutex_lock(&m->mu);
    pushed0 = m->ae_states_pushed;
    recv0 = m->ae_states_received;
    m->force_until_ms = deadline;
    pthread_mutex_unlock(&m->mu);
    int rounds = 0, in_sync = 0, answered = 0, peers = 0, first_diff = -1;
    while (m->broker && rounds < 4 && hx_now_ms() < deadline) {
        rounds++;
        int64_t t_round = hx_now_ms();
        int rc = hx_msync_publish_digest(m, 1, err);
        if (rc) {
            pthread_mutex_lock(&m->mu);
            m->force_until_ms = 0;
            pthread_mutex_unlock(&m->mu);
            return hx_err_wrap(err, "sync force: cannot reach the broker");
        }
        /* Wait for a fresh digest from every live peer. */
        for (;;) {
            int64_t now = hx_now_ms();
            peers = answered = 0;
            int equal = 1, diff = 0;
            pthread_mutex_lock(&m->mu);
            for (size_t i = 0; i < m->norigins; i++) {
                hx_origin_t *o = &m->origins[i];
                if (!o->last_heartbeat || now - o->last_heartbeat > 3 * (int64_t)m->digest_interval_ms)
                    continue;
                peers++;
                if (o->digest_rx_ms >= t_round) {
                    answered++;
                    equal &= o->digest_equal;
                    diff += o->last_ndiff;
                }
            }
            pthread_mutex_unlock(&m->mu);
            if (answered == peers) {
                if (first_diff < 0)
                    first_diff = diff;
                in_sync = equal;
                break;
            }
            if (now >= deadline)
                break;
            hx_sleep_ms(10);
        }
        if (in_sync || answered < peers)
            break;
        /* Let the pushed states arrive before the next round. */
        uint64_t last = 0;
        int64_t quiet_since = hx_now_ms();
        while (hx_now_ms() < deadline && hx_now_ms() - quiet_since < 200) {
            hx_sleep_ms(20);
            pthread_mutex_lock(&m->mu);
            uint64_t r = m->ae_states_received;
            pthread_mutex_unlock(&m->mu);
            if (r != last) {
                last = r;
                quiet_since = hx_now_ms();
            }
        }
    }
    pthread_mutex_lock(&m->mu);
    m->force_until_ms = 0;
    uint64_t pushed = m->ae_states_pushed - pushed0, recv = m->ae_states_received - recv0;
    pthread_mutex_unlock(&m->mu);
    if (!m->broker || peers == 0)
        in_sync = 1;
    *out = json_pack("{s:s,s:i,s:i,s:i,s:i,s:I,s:I,s:b,s:I}", "node_id", m->node, "peers", peers, "peers_answered",
                     answered, "rounds", rounds, "buckets_differing", first_diff < 0 ? 0 : first_diff,
                     "states_pushed", (json_int_t)pushed, "states_received", (json_int_t)recv, "in_sync", in_sync,
                     "duration_ms", (json_int_t)(hx_now_ms() - start));
    return *out ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory");
}
