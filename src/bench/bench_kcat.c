/* `helix bench kafka --compare-kcat`: the same records produced by kcat (the
 * librdkafka command-line client, Debian package kcat) into the same
 * cluster, with the producer settings Helix uses, so the ratio says what our
 * produce path costs on top of librdkafka itself. */
#include "bench/bench_kafka.h"
#include "helix/hx_clock.h"
#include "helix/hx_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Runs kcat producing the lines of path to topic; wall seconds in *secs. */
static int run_kcat(const char *bootstrap, const char *topic, const char *path, double *secs, hx_err_t *err)
{
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    char acks[32], linger[32], batch[32], kbytes[48];
    snprintf(acks, sizeof acks, "acks=%s", cfg.kafka.producer.acks);
    snprintf(linger, sizeof linger, "linger.ms=%d", cfg.kafka.producer.linger_ms);
    snprintf(batch, sizeof batch, "batch.size=%d", cfg.kafka.producer.batch_size);
    snprintf(kbytes, sizeof kbytes, "queue.buffering.max.kbytes=%lld",
             (long long)(cfg.kafka.producer.buffer_memory / 1024));
    char *argv[] = {"kcat", "-P", "-q", "-b", (char *)bootstrap, "-t", (char *)topic, "-K", ":", "-z",
                    cfg.kafka.producer.compression_type, "-X", acks, "-X", linger, "-X", batch, "-X", kbytes,
                    "-l", (char *)path, NULL};
    int rc = hx_bench_run_tool(argv, NULL, secs, err);
    if (rc == HX_EIO)
        hx_err_wrap(err, "kcat producing to '%s'", topic);
    return rc;
}

/* n lines "kKEY:BODY" with the bench's keys and 1 KiB text bodies. */
static int write_input(const char *path, long n, hx_err_t *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return hx_err_set(err, HX_EIO, "cannot write %s: %s", path, strerror(errno));
    unsigned char body[BK_MSG_BYTES];
    for (long i = 0; i < n; i++) {
        bk_fill_payload(body, sizeof body, (uint64_t)(i % 64) + 1);
        fprintf(f, "k%ld:", i % 1000);
        fwrite(body, 1, sizeof body, f);
        fputc('\n', f);
    }
    if (fclose(f))
        return hx_err_set(err, HX_EIO, "cannot write %s: %s", path, strerror(errno));
    return HX_OK;
}

static int count_records(hx_broker_t *b, const char *topic, long *out, hx_err_t *err)
{
    hx_topic_info_t ti;
    int rc = hx_broker_topic_describe(b, topic, &ti, err);
    if (rc)
        return rc;
    *out = 0;
    for (int p = 0; p < ti.config.partitions; p++)
        *out += (long)ti.partitions[p].high_watermark; /* from 0: the mock trims old records */
    hx_topic_info_free(&ti);
    return HX_OK;
}

int bk_kcat(hx_broker_t *b, const char *bootstrap, const char *workdir, long n, int partitions, double *msg_per_sec,
            hx_err_t *err)
{
    char topic[96], path[4200], one[4200];
    snprintf(topic, sizeof topic, "helix.bench.kcat.%lld", (long long)hx_now_ms());
    snprintf(path, sizeof path, "%s/kcat-input.txt", workdir);
    snprintf(one, sizeof one, "%s/kcat-one.txt", workdir);
    hx_topic_config_t tc;
    hx_topic_config_defaults(&tc);
    tc.partitions = partitions;
    double t1 = 0, tn = 0;
    long got = 0;
    int rc;
    if (mkdir(workdir, 0755) && errno != EEXIST)
        return hx_err_set(err, HX_EIO, "cannot create %s: %s", workdir, strerror(errno));
    if ((rc = write_input(path, n, err)) || (rc = write_input(one, 1, err)) ||
        (rc = hx_broker_topic_create(b, topic, &tc, err)))
        goto cleanup;
    /* kcat's start (process, metadata, connections) is timed once with one
     * record and taken off, so the rate is its produce path alone. */
    if ((rc = run_kcat(bootstrap, topic, one, &t1, err)) || (rc = run_kcat(bootstrap, topic, path, &tn, err)))
        goto cleanup;
    /* kcat exits once the leaders acknowledged; the high watermark follows
     * when the replicas caught up. */
    for (uint64_t until = hx_mono_ns() + 10ull * 1000000000ull; !rc && got != n + 1 && hx_mono_ns() < until;) {
        if (got)
            hx_sleep_ms(50);
        rc = count_records(b, topic, &got, err);
    }
    if (rc)
        goto cleanup;
    if (got != n + 1) {
        rc = hx_err_set(err, HX_EINTERNAL, "kcat: %ld of %ld records arrived in '%s'", got, n + 1, topic);
        goto cleanup;
    }
    *msg_per_sec = (double)n / (tn - t1 > tn / 2 ? tn - t1 : tn);
    fprintf(stderr, "bench kafka: kcat produced %ld x %d B in %.2f s (%.2f s of it starting up): %.0f msg/s\n", n,
            BK_MSG_BYTES, tn, t1, *msg_per_sec);
cleanup:
    unlink(path);
    unlink(one);
    hx_broker_topic_delete(b, topic, NULL);
    return rc;
}
