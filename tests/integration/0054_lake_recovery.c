/* The archiver's crash recovery, state by state, without timing luck:
 *  - a flush that crashed after its manifest, with one of its two files
 *    renamed and the other still hidden, is rolled forward at the next start
 *    (both files visible, offsets committed): the records are not archived
 *    a second time and later records follow exactly once;
 *  - a hidden temp file a crash left before any manifest is removed;
 *  - a compaction that crashed after its manifest is finished at open. */
#include "../hx_test.h"

#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_config.h"
#include "helix/hx_envelope.h"
#include "helix/hx_fs.h"
#include "helix/hx_lake.h"
#include "helix/hx_topics.h"
#include "lake/lake_int.h"
#include "lake/rows.h"

#include <sys/time.h>

static hx_config_t cfg;
static char root[700];

static void make_env(int i, hx_envelope_t *e)
{
    hx_envelope_init(e);
    char id[32];
    snprintf(id, sizeof id, "req-%d", i);
    e->type = strdup("provider.metrics");
    e->tenant = strdup("default");
    e->key = strdup("p1");
    e->ts = 1709251200000LL + (int64_t)(i / 5) * 86400000LL + i;   /* 5 per day */
    e->data = json_pack("{s:s,s:s,s:s,s:i,s:b}", "provider", "p1", "model", "m1", "request_id", id,
                        "response_time_ms", 100 + i, "success", 1);
    hx_err_t err;
    hx_envelope_fill_defaults(e, "test", hx_now_ms(), &err);
}

static void produce(hx_broker_t *b, int from, int to)
{
    for (int i = from; i < to; i++) {
        hx_envelope_t e;
        make_env(i, &e);
        hx_buf_t buf = HX_BUF_INIT;
        hx_err_t err;
        CHECK_INT(hx_envelope_encode(&e, &buf, &err), 0);
        hx_msg_t m = {.topic = HX_TOPIC_ANALYTICS_PROVIDERS, .partition = 0, .timestamp_ms = e.ts, .key = "p1",
                      .key_len = 2, .value = buf.data, .value_len = buf.len};
        hx_delivery_t d;
        CHECK_INT(hx_broker_produce(b, &m, 1, &d, &err), 0);
        CHECK_INT(d.offset, i);
        hx_buf_free(&buf);
        hx_envelope_free(&e);
    }
}

typedef struct cnt {
    int rows;
    char seen[64];
    int dup;
} cnt_t;

static int count_cb(void *ctx, const hx_lake_file_t *f, const hx_pq_batch_t *b, const uint8_t *sel, size_t nsel)
{
    cnt_t *c = ctx;
    (void)f;
    (void)nsel;
    for (size_t i = 0; i < b->nrows; i++) {
        if (!sel[i])
            continue;
        const hx_pq_vec_t *v = &b->vecs[0];
        int k = atoi((const char *)v->data + v->off[i] + 4);
        if (k >= 0 && k < 64)
            c->dup += c->seen[k]++ > 0;
        c->rows++;
    }
    return 0;
}

static cnt_t count_rows(void)
{
    cnt_t c = {0};
    const char *col = "request_id";
    hx_err_t err;
    CHECK_INT(hx_lake_scan(root, hx_lake_dataset_find("provider_metrics"), "default", 0, 0, &col, 1, NULL, 0,
                           count_cb, &c, NULL, &err), 0);
    return c;
}

static void wait_connected(hx_lake_t *l)
{
    for (int i = 0; i < 1000; i++) {
        json_t *s = hx_lake_archiver_status(l);
        int up = json_is_true(json_object_get(s, "connected"));
        json_decref(s);
        if (up)
            return;
        hx_sleep_ms(10);
    }
    CHECK(!"archiver connected");
}

static void test_roll_forward(void)
{
    hx_broker_t *b;
    hx_err_t err;
    CHECK_INT(hx_broker_open(&cfg, NULL, &b, &err), 0);
    CHECK_INT(hx_broker_ensure_builtin_topics(b, &err), 0);
    produce(b, 0, 10);

    /* The crashed flush: both files complete and hidden, a manifest naming
     * them and offsets 0..10, then a crash after the first rename. */
    const hx_lake_dataset_t *ds = hx_lake_dataset_find("provider_metrics");
    hx_lake_opts_t o = {.root = root, .codec = HX_PQ_ZSTD};
    hx_lake_writer_t *w;
    CHECK_INT(hx_lake_writer_open(&o, ds, "crashed", &w, &err), 0);
    hx_lake_writer_set_kv(w, "helix.lake.flush", "crashed", &err);
    for (int i = 0; i < 10; i++) {
        hx_envelope_t e;
        make_env(i, &e);
        hx_pq_value_t vals[32];
        lake_row_scratch_t sc = {0};
        lake_row_from_envelope(ds, &e, vals, &sc);
        CHECK_INT(hx_lake_writer_write(w, vals, &err), 0);
        lake_row_scratch_free(&sc);
        hx_envelope_free(&e);
    }
    hx_lake_staged_t *st;
    size_t n;
    CHECK_INT(hx_lake_writer_close_staged(w, &st, &n, &err), 0);
    CHECK_INT(n, 2);
    json_t *files = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(files, json_pack("{s:s,s:s}", "tmp", st[i].tmp, "path", st[i].path));
    json_t *man = json_pack("{s:s,s:o,s:[{s:s,s:i,s:i,s:i}]}", "flush", "crashed", "files", files, "offsets", "topic",
                            HX_TOPIC_ANALYTICS_PROVIDERS, "partition", 0, "start", 0, "end", 10);
    char mpath[800], *text = json_dumps(man, JSON_COMPACT);
    snprintf(mpath, sizeof mpath, "%s/_helix/archiver-%s.manifest.json", root, cfg.node.node_id);
    char meta[760];
    snprintf(meta, sizeof meta, "%s/_helix", root);
    CHECK_INT(hx_lake_mkdirs(meta, &err), 0);
    CHECK_INT(hx_fs_write_atomic(mpath, text, strlen(text), &err), 0);
    free(text);
    json_decref(man);
    CHECK_INT(hx_pq_publish(st[0].tmp, st[0].path, 0, &err), 0);
    CHECK(access(st[1].path, F_OK) != 0);
    CHECK_INT(count_rows().rows, 5);   /* only the first file is visible */

    /* A hidden file of a flush that crashed before its manifest, an hour old. */
    char stray[1000];
    snprintf(stray, sizeof stray, "%s/provider_metrics/year=2024/month=3/day=1/.part-lost.parquet.tmp", root);
    FILE *f = fopen(stray, "w");
    fputs("half a file", f);
    fclose(f);
    struct timeval old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
    utimes(stray, old);

    hx_lake_t *l;
    CHECK_INT(hx_lake_open(&cfg, b, &l, &err), 0);
    wait_connected(l);
    CHECK(access(st[1].path, F_OK) == 0);
    CHECK(access(st[1].tmp, F_OK) != 0);
    CHECK(access(mpath, F_OK) != 0);
    CHECK(access(stray, F_OK) != 0);
    cnt_t c = count_rows();
    CHECK_INT(c.rows, 10);
    /* Later records follow exactly once; the rolled-forward ones are not re-read. */
    produce(b, 10, 15);
    for (int i = 0; i < 200 && count_rows().rows < 15; i++) {
        hx_lake_archiver_flush(l, 5000, &err);
        hx_sleep_ms(10);
    }
    hx_sleep_ms(300);
    hx_lake_archiver_flush(l, 5000, &err);
    c = count_rows();
    CHECK_INT(c.rows, 15);
    CHECK_INT(c.dup, 0);
    hx_lake_close(l);
    hx_lake_staged_free(st, n, 0);
    hx_broker_close(b);
}

static void test_compaction_roll_forward(void)
{
    /* Two small files of a partition, a merged output staged, a manifest:
     * the state right after "manifest written" in a crashed compaction. */
    hx_err_t err;
    const hx_lake_dataset_t *ds = hx_lake_dataset_find("provider_metrics");
    cnt_t before = count_rows();
    hx_lake_file_t *files;
    size_t n;
    CHECK_INT(hx_lake_list(root, ds->name, 0, 0, &files, &n, &err), 0);
    CHECK(n >= 2);
    char out[1000], tmp[1000], dir[900];
    snprintf(dir, sizeof dir, "%s", files[0].path);
    *strrchr(dir, '/') = 0;
    snprintf(out, sizeof out, "%s/part-merged.parquet", dir);
    snprintf(tmp, sizeof tmp, "%s/.part-merged.parquet.tmp", dir);
    /* The merged file holds files[0]'s rows (a one-input merge is enough). */
    char cmd[2100];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", files[0].path, tmp);
    CHECK_INT(system(cmd), 0);
    json_t *man = json_pack("{s:s,s:s,s:[s]}", "tmp", tmp, "path", out, "remove", files[0].path);
    char mpath[800], *text = json_dumps(man, JSON_COMPACT);
    snprintf(mpath, sizeof mpath, "%s/_helix/compact-test.manifest.json", root);
    CHECK_INT(hx_fs_write_atomic(mpath, text, strlen(text), &err), 0);
    free(text);
    json_decref(man);
    hx_lake_t *l;
    CHECK_INT(hx_lake_open(&cfg, NULL, &l, &err), 0);
    CHECK(access(out, F_OK) == 0);
    CHECK(access(files[0].path, F_OK) != 0);
    CHECK(access(mpath, F_OK) != 0);
    cnt_t after = count_rows();
    CHECK_INT(after.rows, before.rows);
    CHECK_INT(after.dup, 0);
    hx_lake_close(l);
    hx_lake_files_free(files, n);
}

int main(void)
{
    char *dir = hx_test_tmpdir("lakerec");
    hx_config_defaults(&cfg);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s", dir);
    snprintf(cfg.node.node_id, sizeof cfg.node.node_id, "node-test");
    cfg.lake.flush_ms = 50;
    cfg.jobs.schedules[0] = 0;
    snprintf(root, sizeof root, "%s/lake", dir);
    RUN(test_roll_forward);
    RUN(test_compaction_roll_forward);
    hx_rm_rf(dir);
    free(dir);
    return HX_TEST_DONE();
}
