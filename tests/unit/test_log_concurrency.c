/* Event log: 4 writer threads on 4 partitions with concurrent readers. */
#include "helix/hx_log.h"
#include "../hx_test.h"
#include "log_test_util.h"

#include <pthread.h>
#include <stdatomic.h>

enum { PARTS = 4, BATCHES = 300, PER = 10 };

static hx_log_t *g_log;
static atomic_int g_writers_done;
static atomic_int g_errors;

static void *writer(void *arg)
{
    int p = (int)(intptr_t)arg;
    for (int b = 0; b < BATCHES; b++) {
        hx_log_record_t recs[PER];
        char vals[PER][48];
        memset(recs, 0, sizeof recs);
        for (int i = 0; i < PER; i++) {
            snprintf(vals[i], sizeof vals[i], "p%d-%d", p, b * PER + i);
            recs[i].value = vals[i];
            recs[i].value_len = strlen(vals[i]);
            recs[i].timestamp_ms = HX_LOG_TS_NOW;
        }
        int64_t base;
        if (hx_log_append(g_log, "conc", p, recs, PER, &base, NULL) || base != b * PER)
            atomic_fetch_add(&g_errors, 1);
    }
    atomic_fetch_add(&g_writers_done, 1);
    return NULL;
}

typedef struct rstate {
    int p;
    int64_t expect;
} rstate_t;

static int check_cb(void *ud, const hx_log_record_t *r)
{
    rstate_t *s = ud;
    char v[48];
    snprintf(v, sizeof v, "p%d-%lld", s->p, (long long)s->expect);
    if (r->offset != s->expect || r->value_len != strlen(v) || memcmp(r->value, v, r->value_len) != 0)
        atomic_fetch_add(&g_errors, 1);
    s->expect++;
    return 0;
}

static void *reader(void *arg)
{
    (void)arg;
    rstate_t st[PARTS];
    for (int p = 0; p < PARTS; p++)
        st[p] = (rstate_t){p, 0};
    for (;;) {
        int done = atomic_load(&g_writers_done) == PARTS, all = 1;
        for (int p = 0; p < PARTS; p++) {
            int64_t next;
            hx_log_wait_data(g_log, "conc", p, st[p].expect, 1, NULL);
            if (hx_log_read(g_log, "conc", p, st[p].expect, 4096, 0, check_cb, &st[p], &next, NULL))
                atomic_fetch_add(&g_errors, 1);
            if (next != st[p].expect)
                atomic_fetch_add(&g_errors, 1);
            if (st[p].expect < BATCHES * PER)
                all = 0;
        }
        if (done && all)
            break;
    }
    return NULL;
}

static void test_concurrent(void)
{
    char *dir = hx_test_tmpdir("log_conc");
    g_log = open_log(dir, HX_FSYNC_INTERVAL, 16384, 1024);
    CHECK_INT(mk_topic(g_log, "conc", PARTS, HX_CODEC_LZ4, HX_LOG_CLEANUP_DELETE), 0);
    pthread_t w[PARTS], r[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&r[i], NULL, reader, NULL);
    for (int p = 0; p < PARTS; p++)
        pthread_create(&w[p], NULL, writer, (void *)(intptr_t)p);
    for (int p = 0; p < PARTS; p++)
        pthread_join(w[p], NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(r[i], NULL);
    CHECK_INT(atomic_load(&g_errors), 0);
    for (int p = 0; p < PARTS; p++) {
        CHECK_INT(hx_log_wait_durable(g_log, "conc", p, BATCHES * PER - 1, 5000, NULL), 0);
        int64_t hw;
        hx_log_watermarks(g_log, "conc", p, NULL, &hw, NULL);
        CHECK_INT(hw, BATCHES * PER);
    }
    hx_log_stats_t st;
    hx_log_stats(g_log, &st);
    CHECK_INT(st.appended_records, PARTS * BATCHES * PER);
    CHECK_INT(st.appended_batches, PARTS * BATCHES);
    CHECK(st.segments > PARTS);
    hx_log_close(g_log);
    free(dir);
}

int main(void)
{
    RUN(test_concurrent);
    return HX_TEST_DONE();
}
