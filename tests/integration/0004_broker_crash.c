/* kill -9 while producing and committing through the broker (fsync=always):
 * every acknowledged record is readable with its exact content and every
 * acknowledged commit is in the group's offsets after reopening. */
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "../hx_test.h"

#include <signal.h>
#include <sys/wait.h>

static void child(const char *dir, int fd)
{
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s", dir);
    cfg.event_log.fsync = HX_FSYNC_ALWAYS;
    hx_broker_t *b;
    hx_err_t e = {0};
    if (hx_broker_open(&cfg, NULL, &b, &e))
        _exit(3);
    hx_topic_config_t tc;
    hx_topic_config_defaults(&tc);
    hx_broker_topic_create(b, "crash", &tc, NULL); /* exists after the first round */
    const char *topics[] = {"crash"};
    hx_consumer_t *c;
    if (hx_consumer_new(b, "committer", topics, 1, NULL, &c, &e))
        _exit(4);
    hx_topic_info_t ti;
    hx_broker_topic_describe(b, "crash", &ti, NULL);
    int64_t next = ti.partitions[0].high_watermark;
    hx_topic_info_free(&ti);
    for (int64_t i = next;; i++) {
        char v[64];
        snprintf(v, sizeof v, "record-%lld-payload", (long long)i);
        hx_msg_t m = {.topic = "crash", .partition = 0, .value = v, .value_len = strlen(v)};
        hx_delivery_t d;
        if (hx_broker_produce(b, &m, 1, &d, &e))
            _exit(5);
        char line[64];
        int n = snprintf(line, sizeof line, "R %lld\n", (long long)d.offset);
        if (write(fd, line, (size_t)n) != n)
            _exit(6);
        if (i % 10 == 9) {
            if (hx_consumer_commit_offset(c, "crash", 0, i + 1, &e))
                _exit(7);
            n = snprintf(line, sizeof line, "C %lld\n", (long long)(i + 1));
            if (write(fd, line, (size_t)n) != n)
                _exit(6);
        }
    }
}

static void round_trip(const char *dir, int kill_after_ms, int64_t *max_acked, int64_t *max_commit)
{
    int p[2];
    if (pipe(p))
        exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        child(dir, p[1]);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    uint64_t end = hx_mono_ns() + (uint64_t)kill_after_ms * 1000000;
    char line[64];
    /* Read acks until the deadline, then kill without warning. */
    while (hx_mono_ns() < end && fgets(line, sizeof line, f)) {
        long long v = atoll(line + 2);
        if (line[0] == 'R' && v > *max_acked)
            *max_acked = v;
        if (line[0] == 'C' && v > *max_commit)
            *max_commit = v;
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    /* Acks already in the pipe were acknowledged before the kill too. */
    while (fgets(line, sizeof line, f)) {
        long long v = atoll(line + 2);
        if (line[0] == 'R' && v > *max_acked)
            *max_acked = v;
        if (line[0] == 'C' && v > *max_commit)
            *max_commit = v;
    }
    fclose(f);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

int main(void)
{
    char *dir = hx_test_tmpdir("brokercrash");
    int64_t max_acked = -1, max_commit = -1;
    int kills[] = {150, 300, 80, 400};
    for (int r = 0; r < 4; r++) {
        round_trip(dir, kills[r], &max_acked, &max_commit);
        hx_config_t cfg;
        hx_config_defaults(&cfg);
        snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s", dir);
        hx_broker_t *b;
        hx_err_t e = {0};
        CHECK_INT(hx_broker_open(&cfg, NULL, &b, &e), 0);
        if (!b)
            break;
        CHECK(max_acked >= 0);
        /* Every acknowledged record, exact content, dense offsets. */
        int64_t off = 0, bad = 0;
        while (off <= max_acked) {
            hx_fetch_t f;
            if (hx_broker_fetch(b, "crash", 0, off, 1000, 0, &f, &e) || f.count == 0) {
                hx_fetch_free(&f);
                break;
            }
            for (size_t i = 0; i < f.count; i++) {
                char want[64];
                snprintf(want, sizeof want, "record-%lld-payload", (long long)f.msgs[i].offset);
                if (f.msgs[i].offset != off || f.msgs[i].value_len != strlen(want) ||
                    memcmp(f.msgs[i].value, want, strlen(want)) != 0)
                    bad++;
                off = f.msgs[i].offset + 1;
            }
            hx_fetch_free(&f);
        }
        CHECK(off > max_acked);
        CHECK_INT(bad, 0);
        hx_group_info_t gi;
        CHECK_INT(hx_broker_group_describe(b, "committer", &gi, &e), 0);
        CHECK(max_commit < 0 || (gi.n_offsets == 1 && gi.offsets[0].committed >= max_commit));
        hx_group_info_free(&gi);
        hx_broker_close(b);
        fprintf(stderr, "round %d: %lld records and commit %lld acknowledged, all present\n", r,
                (long long)max_acked + 1, (long long)max_commit);
    }
    free(dir);
    return HX_TEST_DONE();
}
