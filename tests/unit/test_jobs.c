/* The job runner: cancelling a running job stops its work (and cleans up
 * after it), queued jobs survive a restart and run, a job interrupted by a
 * shutdown is recorded as failed, schedules submit jobs, admin-only types. */
#include "../hx_test.h"

#include "helix/hx_clock.h"
#include "helix/hx_config.h"
#include "helix/hx_fs.h"
#include "helix/hx_jobs.h"
#include "helix/hx_lake.h"

static hx_config_t cfg;
static char *dir;

static void make_lake(int files, int rows)
{
    char root[600];
    snprintf(root, sizeof root, "%s/lake", dir);
    hx_lake_opts_t o = {.root = root, .codec = HX_PQ_SNAPPY, .file_rows = rows, .no_fsync = 1};
    const hx_lake_dataset_t *ds = hx_lake_dataset_find("conversations");
    hx_lake_writer_t *w;
    hx_err_t err;
    CHECK_INT(hx_lake_writer_open(&o, ds, "t", &w, &err), 0);
    char content[200];
    for (int i = 0; i < files * rows; i++) {
        hx_pq_value_t v[15];
        memset(v, 0, sizeof v);
        for (int c = 6; c < 15; c++)
            v[c].is_null = 1;
        v[0].v.str.s = "default";
        v[0].v.str.n = 7;
        v[1].v.str.s = "c1";
        v[1].v.str.n = 2;
        v[2].v.i = 1717200000000LL + (int64_t)(i % 3) * 86400000LL;
        v[3].v.i = i;
        v[4].v.str.s = "e";
        v[4].v.str.n = 1;
        v[5].v.str.s = "added";
        v[5].v.str.n = 5;
        v[8].is_null = 0;
        v[8].v.str.n = (size_t)snprintf(content, sizeof content, "message %d with ümlauts", i);
        v[8].v.str.s = content;
        if (hx_lake_writer_write(w, v, &err)) {
            CHECK(!"write");
            break;
        }
    }
    CHECK_INT(hx_lake_writer_close(w, NULL, NULL, &err), 0);
}

static const char *state_of(json_t *j)
{
    return json_string_value(json_object_get(j, "state"));
}

static json_t *wait_state(hx_jobs_t *j, const char *id, int finished_only, int64_t ms)
{
    int64_t end = hx_now_ms() + ms;
    json_t *o = NULL;
    while (hx_now_ms() < end) {
        json_decref(o);
        o = NULL;
        hx_err_t err;
        if (hx_jobs_get(j, "default", id, &o, &err))
            return NULL;
        const char *s = state_of(o);
        if (finished_only ? (strcmp(s, "queued") && strcmp(s, "running"))
                          : (!strcmp(s, "running") && json_number_value(json_object_get(o, "progress")) > 0))
            return o;
        hx_sleep_ms(2);
    }
    return o;
}

static void test_cancel_running(void)
{
    hx_lake_t *l;
    hx_err_t err;
    CHECK_INT(hx_lake_open(&cfg, NULL, &l, &err), 0);
    hx_jobs_deps_t d = {l, NULL};
    hx_jobs_t *j;
    CHECK_INT(hx_jobs_open(&cfg, &d, &j, &err), 0);
    json_t *p = json_pack("{s:s,s:s}", "dataset", "conversations", "name", "big"), *o;
    CHECK_INT(hx_jobs_submit(j, "default", 0, "export", p, &o, &err), 0);
    char id[64];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
    json_t *running = wait_state(j, id, 0, 20000);
    CHECK_STR(state_of(running), "running");
    json_decref(running);
    CHECK_INT(hx_jobs_cancel(j, "default", id, 10000, &o, &err), 0);
    CHECK_STR(state_of(o), "cancelled");
    CHECK(json_number_value(json_object_get(o, "progress")) < 1.0);
    json_decref(o);
    /* Really stopped: the half-written export is gone. */
    char exp[700];
    snprintf(exp, sizeof exp, "%s/lake/_exports/big", dir);
    CHECK(access(exp, F_OK) != 0);
    CHECK_INT(hx_jobs_cancel(j, "default", id, 0, &o, &err), HX_ECONFLICT);
    /* Same export, not cancelled, completes with every row. */
    json_t *p2 = json_pack("{s:s,s:s}", "dataset", "conversations", "name", "big2");
    CHECK_INT(hx_jobs_submit(j, "default", 0, "export", p2, &o, &err), 0);
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
    o = wait_state(j, id, 1, 60000);
    CHECK_STR(state_of(o), "succeeded");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(o, "result"), "rows")), 1500 * 20);
    json_decref(o);
    /* Maintenance needs an admin; unknown types and params are refused. */
    CHECK_INT(hx_jobs_submit(j, "default", 0, "compaction", NULL, &o, &err), HX_EFORBIDDEN);
    CHECK_INT(hx_jobs_submit(j, "default", 1, "nope", NULL, &o, &err), HX_EINVAL);
    json_t *bad = json_pack("{s:s}", "dataset", "nope");
    CHECK_INT(hx_jobs_submit(j, "default", 0, "export", bad, &o, &err), HX_EINVAL);
    CHECK_INT(hx_jobs_get(j, "other", id, &o, &err), HX_ENOTFOUND);
    json_decref(bad);
    json_decref(p);
    json_decref(p2);
    hx_jobs_close(j);
    hx_lake_close(l);
}

static void test_restart(void)
{
    hx_lake_t *l;
    hx_err_t err;
    CHECK_INT(hx_lake_open(&cfg, NULL, &l, &err), 0);
    hx_jobs_deps_t d = {l, NULL};
    hx_jobs_t *j;
    CHECK_INT(hx_jobs_open(&cfg, &d, &j, &err), 0);
    char first[64], second[64];
    json_t *o, *p = json_pack("{s:s}", "dataset", "conversations");
    CHECK_INT(hx_jobs_submit(j, "default", 0, "export", p, &o, &err), 0);
    snprintf(first, sizeof first, "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
    CHECK_INT(hx_jobs_submit(j, "default", 0, "export", p, &o, &err), 0);
    snprintf(second, sizeof second, "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
    json_decref(wait_state(j, first, 0, 20000));
    hx_jobs_close(j);   /* one running (interrupted), one queued (concurrency 1) */
    CHECK_INT(hx_jobs_open(&cfg, &d, &j, &err), 0);
    CHECK_INT(hx_jobs_get(j, "default", first, &o, &err), 0);
    CHECK_STR(state_of(o), "failed");
    CHECK_CONTAINS(json_string_value(json_object_get(o, "error")), "interrupted");
    json_decref(o);
    o = wait_state(j, second, 1, 60000);
    CHECK_STR(state_of(o), "succeeded");
    json_decref(o);
    CHECK_INT(hx_jobs_list(j, "default", "failed", 10, &o, &err), 0);
    CHECK_INT(json_array_size(json_object_get(o, "jobs")), 1);
    json_decref(o);
    json_decref(p);
    hx_jobs_close(j);
    hx_lake_close(l);
}

static void test_schedule(void)
{
    hx_config_t c2 = cfg;
    snprintf(c2.jobs.schedules, sizeof c2.jobs.schedules, "retention every 1s; compaction every 1d");
    hx_lake_t *l;
    hx_err_t err;
    CHECK_INT(hx_lake_open(&c2, NULL, &l, &err), 0);
    hx_jobs_deps_t d = {l, NULL};
    hx_jobs_t *j;
    CHECK_INT(hx_jobs_open(&c2, &d, &j, &err), 0);
    json_t *o = NULL;
    int found = 0;
    for (int i = 0; i < 3000 && !found; i++) {   /* retention of every old file: slow under ASan */
        hx_sleep_ms(10);
        json_decref(o);
        hx_jobs_list(j, "default", "succeeded", 100, &o, &err);
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(o, "jobs"), k, e)
            found |= !strcmp(json_string_value(json_object_get(e, "schedule")) ?: "", "retention every 1s");
    }
    json_decref(o);
    CHECK(found);
    hx_jobs_close(j);
    snprintf(c2.jobs.schedules, sizeof c2.jobs.schedules, "export every 1h");
    CHECK_INT(hx_jobs_open(&c2, &d, &j, &err), HX_ECONFIG);
    snprintf(c2.jobs.schedules, sizeof c2.jobs.schedules, "retention each hour");
    CHECK_INT(hx_jobs_open(&c2, &d, &j, &err), HX_ECONFIG);
    CHECK_CONTAINS(err.msg, "TYPE every");
    hx_lake_close(l);
}

int main(void)
{
    dir = hx_test_tmpdir("jobs");
    hx_config_defaults(&cfg);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s", dir);
    cfg.jobs.schedules[0] = 0;
    cfg.jobs.concurrency = 1;
    make_lake(1500, 20);
    RUN(test_cancel_running);
    RUN(test_restart);
    RUN(test_schedule);
    hx_rm_rf(dir);
    free(dir);
    return HX_TEST_DONE();
}
