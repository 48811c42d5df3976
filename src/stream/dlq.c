/* Handler-driven consumption with retries and the dead-letter topic. Written
 * on the public broker API only, so every backend gets the same semantics. */
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_logger.h"
#include "helix/hx_topics.h"
#include "stream/backend.h"

#include <stdio.h>
#include <string.h>

static int ensure_dlq(hx_broker_t *b, hx_err_t *err)
{
    hx_topic_info_t ti;
    hx_err_t e = {0};
    int rc = hx_broker_topic_describe(b, HX_TOPIC_DLQ, &ti, &e);
    if (rc == 0) {
        hx_topic_info_free(&ti);
        return HX_OK;
    }
    const hx_topic_spec_t *spec = hx_topics_find(HX_TOPIC_DLQ);
    hx_topic_config_t tc;
    hx_topic_config_defaults(&tc);
    tc.partitions = spec->partitions;
    tc.retention_ms = spec->retention_ms;
    rc = hx_broker_topic_create(b, HX_TOPIC_DLQ, &tc, err);
    return rc == HX_EEXIST ? HX_OK : rc;
}

static int dead_letter(hx_broker_t *b, const hx_msg_t *m, int attempts, const char *reason, hx_err_t *err)
{
    char part[16], off[24], tries[16], next[24];
    snprintf(part, sizeof part, "%d", m->partition);
    snprintf(off, sizeof off, "%lld", (long long)m->offset);
    snprintf(tries, sizeof tries, "%d", attempts);
    snprintf(next, sizeof next, "%lld", (long long)hx_now_ms());
    hx_header_t h[6 + 16];
    size_t n = 0;
    h[n++] = (hx_header_t){"original_topic", m->topic, strlen(m->topic)};
    h[n++] = (hx_header_t){"original_partition", part, strlen(part)};
    h[n++] = (hx_header_t){"original_offset", off, strlen(off)};
    h[n++] = (hx_header_t){"retry_count", tries, strlen(tries)};
    h[n++] = (hx_header_t){"reason", reason, strlen(reason)};
    h[n++] = (hx_header_t){"next_retry", next, strlen(next)};
    /* The record's own headers ride along so nothing is lost. */
    for (size_t i = 0; i < m->header_count && n < sizeof h / sizeof h[0]; i++)
        h[n++] = m->headers[i];
    hx_msg_t dl = {.topic = HX_TOPIC_DLQ, .partition = -1, .key = m->key, .key_len = m->key_len,
                   .value = m->value, .value_len = m->value_len, .headers = h, .header_count = n};
    int rc = ensure_dlq(b, err);
    return rc ? rc : hx_broker_produce(b, &dl, 1, NULL, err);
}

/* Sleeps up to ms, waking early when *stop is set. */
static void backoff(int ms, volatile int *stop)
{
    while (ms > 0 && !(stop && *stop)) {
        int step = ms < 50 ? ms : 50;
        hx_sleep_ms(step);
        ms -= step;
    }
}

int hx_consumer_run(hx_consumer_t *c, hx_record_handler handler, void *ctx, const hx_dlq_policy_t *policy,
                    volatile int *stop, hx_err_t *err)
{
    hx_dlq_policy_t def;
    if (!policy) {
        hx_dlq_policy_defaults(&def);
        policy = &def;
    }
    hx_broker_t *b = hx_consumer_broker(c);
    while (!(stop && *stop)) {
        hx_fetch_t f;
        int rc = hx_consumer_poll(c, 100, &f, err);
        if (rc)
            return rc;
        for (size_t i = 0; i < f.count; i++) {
            const hx_msg_t *m = &f.msgs[i];
            hx_err_t herr = {0};
            int attempt = 1, delay = policy->retry_backoff_ms;
            while ((rc = handler(ctx, m, &herr)) != 0 && attempt < policy->max_attempts && !(stop && *stop)) {
                backoff(delay, stop);
                delay = delay * 2 > policy->retry_backoff_max_ms ? policy->retry_backoff_max_ms : delay * 2;
                attempt++;
            }
            if (rc && stop && *stop && attempt < policy->max_attempts) {
                /* Stopped mid-retry: commit what succeeded, leave this record for next time. */
                hx_consumer_commit_offset(c, m->topic, m->partition, m->offset, NULL);
                hx_fetch_free(&f);
                return HX_OK;
            }
            if (rc) {
                HX_WARN("dlq", "%s/%d@%lld failed %d time(s), sending to %s: %s", m->topic, m->partition,
                        (long long)m->offset, attempt, HX_TOPIC_DLQ, herr.msg[0] ? herr.msg : hx_strerror(rc));
                if ((rc = dead_letter(b, m, attempt, herr.msg[0] ? herr.msg : hx_strerror(rc), err))) {
                    hx_fetch_free(&f);
                    return rc;
                }
            }
            /* Committed only once handled or dead-lettered: never past a failure. */
            if ((rc = hx_consumer_commit_offset(c, m->topic, m->partition, m->offset + 1, err))) {
                hx_fetch_free(&f);
                return rc;
            }
        }
        hx_fetch_free(&f);
    }
    return HX_OK;
}
