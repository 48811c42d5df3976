/* The job runner: records (persisted on every state change), workers,
 * cancellation and the schedule thread. */
#include "lake/jobs/jobs_int.h"

#include "helix/hx_clock.h"
#include "helix/hx_fs.h"
#include "helix/hx_logger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_WORKERS 64
#define MAX_SCHEDULES 16

typedef struct sched {
    char type[48];
    int64_t every_ms, next_ms;
    char name[64];
} sched_t;

struct hx_jobs {
    const hx_config_t *cfg;
    hx_jobs_deps_t deps;
    char path[HX_CFG_STR + 32];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_t **jobs;                /* oldest first */
    size_t n, cap;
    uint64_t seq;
    int stopping;
    pthread_t workers[MAX_WORKERS];
    int nworkers;
    pthread_t sched_th;
    int sched_started;
    sched_t sched[MAX_SCHEDULES];
    int nsched;
};

static const char *state_name(job_state_t s)
{
    static const char *n[] = {"queued", "running", "succeeded", "failed", "cancelled"};
    return n[s];
}

static int state_parse(const char *s)
{
    for (int i = 0; i <= JOB_CANCELLED; i++)
        if (strcmp(s, state_name((job_state_t)i)) == 0)
            return i;
    return -1;
}

static json_t *job_json(const job_t *jb)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:O,s:s,s:f,s:I}", "id", jb->id, "tenant", jb->tenant, "type", jb->type,
                          "params", jb->params, "state", state_name(jb->state), "progress", (double)jb->progress,
                          "created_at", (json_int_t)jb->created_at);
    json_object_set_new(o, "started_at", jb->started_at ? json_integer(jb->started_at) : json_null());
    json_object_set_new(o, "finished_at", jb->finished_at ? json_integer(jb->finished_at) : json_null());
    json_object_set_new(o, "result", jb->result ? json_incref(jb->result) : json_null());
    json_object_set_new(o, "error", jb->error[0] ? json_string(jb->error) : json_null());
    if (jb->schedule[0])
        json_object_set_new(o, "schedule", json_string(jb->schedule));
    return o;
}

/* Under mu. Failure to persist is logged: the job itself still runs. */
static void persist(hx_jobs_t *j)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < j->n; i++)
        json_array_append_new(arr, job_json(j->jobs[i]));
    json_t *doc = json_pack("{s:i,s:I,s:o}", "version", 1, "seq", (json_int_t)j->seq, "jobs", arr);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    hx_err_t err = {0};
    if (!text || hx_fs_write_atomic(j->path, text, strlen(text), &err))
        HX_WARN("jobs", "cannot save job records to %s: %s", j->path, text ? err.msg : "out of memory");
    free(text);
}

static void job_free(job_t *jb)
{
    json_decref(jb->params);
    json_decref(jb->result);
    free(jb);
}

/* Drops the oldest finished records past jobs.history. Under mu. */
static void trim(hx_jobs_t *j)
{
    size_t finished = 0;
    for (size_t i = 0; i < j->n; i++)
        finished += j->jobs[i]->state >= JOB_SUCCEEDED;
    for (size_t i = 0; i < j->n && finished > (size_t)j->cfg->jobs.history;) {
        if (j->jobs[i]->state >= JOB_SUCCEEDED) {
            job_free(j->jobs[i]);
            memmove(&j->jobs[i], &j->jobs[i + 1], (j->n - i - 1) * sizeof *j->jobs);
            j->n--;
            finished--;
        } else {
            i++;
        }
    }
}

static int add_job(hx_jobs_t *j, job_t *jb)
{
    if (j->n == j->cap) {
        size_t nc = j->cap ? j->cap * 2 : 64;
        job_t **nj = realloc(j->jobs, nc * sizeof *nj);
        if (!nj)
            return HX_ENOMEM;
        j->jobs = nj;
        j->cap = nc;
    }
    j->jobs[j->n++] = jb;
    return HX_OK;
}

static int load(hx_jobs_t *j, hx_err_t *err)
{
    if (access(j->path, F_OK) != 0)
        return HX_OK;
    json_error_t je;
    json_t *doc = json_load_file(j->path, 0, &je);
    if (!doc)
        return hx_err_set(err, HX_ECORRUPT, "job records %s are unreadable: %s (move the file away to start fresh)",
                          j->path, je.text);
    j->seq = (uint64_t)json_integer_value(json_object_get(doc, "seq"));
    size_t i;
    json_t *o;
    int changed = 0;
    json_array_foreach(json_object_get(doc, "jobs"), i, o) {
        job_t *jb = calloc(1, sizeof *jb);
        if (!jb)
            break;
        snprintf(jb->id, sizeof jb->id, "%s", json_string_value(json_object_get(o, "id")) ?: "");
        snprintf(jb->tenant, sizeof jb->tenant, "%s", json_string_value(json_object_get(o, "tenant")) ?: "default");
        snprintf(jb->type, sizeof jb->type, "%s", json_string_value(json_object_get(o, "type")) ?: "");
        snprintf(jb->schedule, sizeof jb->schedule, "%s", json_string_value(json_object_get(o, "schedule")) ?: "");
        jb->params = json_incref(json_object_get(o, "params"));
        if (!jb->params)
            jb->params = json_object();
        int st = state_parse(json_string_value(json_object_get(o, "state")) ?: "failed");
        jb->state = st < 0 ? JOB_FAILED : (job_state_t)st;
        jb->progress = json_number_value(json_object_get(o, "progress"));
        jb->created_at = json_integer_value(json_object_get(o, "created_at"));
        jb->started_at = json_integer_value(json_object_get(o, "started_at"));
        jb->finished_at = json_integer_value(json_object_get(o, "finished_at"));
        json_t *res = json_object_get(o, "result");
        jb->result = res && !json_is_null(res) ? json_incref(res) : NULL;
        snprintf(jb->error, sizeof jb->error, "%s", json_string_value(json_object_get(o, "error")) ?: "");
        if (jb->state == JOB_RUNNING) {
            /* Its work stopped with the process; half-done work is not
             * resumed (every type is safe to run again from the start). */
            jb->state = JOB_FAILED;
            jb->finished_at = hx_now_ms();
            snprintf(jb->error, sizeof jb->error, "interrupted: Helix stopped while this job was running "
                                                  "(at %.0f%%); submit it again", (double)jb->progress * 100);
            changed = 1;
        }
        if (add_job(j, jb)) {
            job_free(jb);
            break;
        }
    }
    json_decref(doc);
    if (changed)
        persist(j);
    return HX_OK;
}

static void progress_cb(void *ctx, double f)
{
    job_t *jb = ctx;
    if (f < 0)
        f = 0;
    if (f > 1)
        f = 1;
    jb->progress = f;
}

static void *worker(void *arg)
{
    hx_jobs_t *j = arg;
    pthread_mutex_lock(&j->mu);
    while (!j->stopping) {
        job_t *jb = NULL;
        for (size_t i = 0; i < j->n && !jb; i++)
            if (j->jobs[i]->state == JOB_QUEUED)
                jb = j->jobs[i];
        if (!jb) {
            pthread_cond_wait(&j->cv, &j->mu);
            continue;
        }
        jb->state = JOB_RUNNING;
        jb->started_at = hx_now_ms();
        persist(j);
        const job_type_t *t = job_type_find(jb->type);
        pthread_mutex_unlock(&j->mu);

        job_run_t r = {j->cfg, &j->deps, jb, {&jb->cancel, progress_cb, jb}};
        json_t *result = NULL;
        hx_err_t err = {0};
        int rc = t ? t->run(&r, &result, &err) : hx_err_set(&err, HX_EINVAL, "unknown job type %s", jb->type);
        if (rc == HX_OK && jb->cancel)
            rc = hx_err_set(&err, HX_EAGAIN, "cancelled");

        pthread_mutex_lock(&j->mu);
        jb->finished_at = hx_now_ms();
        if (rc == HX_OK) {
            jb->state = JOB_SUCCEEDED;
            jb->progress = 1.0;
            jb->result = result;
        } else {
            json_decref(result);
            jb->state = jb->cancel ? JOB_CANCELLED : JOB_FAILED;
            if (jb->cancel && j->stopping) {
                jb->state = JOB_FAILED;
                snprintf(jb->error, sizeof jb->error, "interrupted: Helix stopped while this job was running; "
                                                      "submit it again");
            } else {
                snprintf(jb->error, sizeof jb->error, "%s", jb->cancel ? "cancelled" : err.msg);
            }
        }
        HX_INFO("jobs", "job %s (%s) %s%s%s", jb->id, jb->type, state_name(jb->state), jb->error[0] ? ": " : "",
                jb->error);
        trim(j);
        persist(j);
        pthread_cond_broadcast(&j->cv);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

static int submit_locked(hx_jobs_t *j, const char *tenant, const char *type, const json_t *params,
                         const char *schedule, job_t **out, hx_err_t *err)
{
    job_t *jb = calloc(1, sizeof *jb);
    if (!jb)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    snprintf(jb->id, sizeof jb->id, "job-%llu-%04llx", (unsigned long long)hx_now_ms(),
             (unsigned long long)(++j->seq & 0xFFFF));
    snprintf(jb->tenant, sizeof jb->tenant, "%s", tenant);
    snprintf(jb->type, sizeof jb->type, "%s", type);
    snprintf(jb->schedule, sizeof jb->schedule, "%s", schedule ? schedule : "");
    jb->params = params ? json_deep_copy(params) : json_object();
    jb->created_at = hx_now_ms();
    if (!jb->params || add_job(j, jb)) {
        job_free(jb);
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    persist(j);
    pthread_cond_broadcast(&j->cv);
    *out = jb;
    return HX_OK;
}

/* "retention every 1h; compaction every 6h" */
static int parse_schedules(hx_jobs_t *j, hx_err_t *err)
{
    char buf[HX_CFG_STR];
    snprintf(buf, sizeof buf, "%s", j->cfg->jobs.schedules);
    char *save = NULL;
    for (char *e = strtok_r(buf, ";", &save); e; e = strtok_r(NULL, ";", &save)) {
        char type[48], every[16];
        long long n;
        char unit;
        while (*e == ' ')
            e++;
        if (!*e)
            continue;
        if (sscanf(e, "%47s %15s %lld%c", type, every, &n, &unit) != 4 || strcmp(every, "every") != 0 || n <= 0 ||
            !strchr("smhd", unit))
            return hx_err_set(err, HX_ECONFIG, "jobs.schedules: '%s' is not \"TYPE every N(s|m|h|d)\"", e);
        const job_type_t *t = job_type_find(type);
        if (!t)
            return hx_err_set(err, HX_ECONFIG, "jobs.schedules: unknown job type '%s'", type);
        if (t->check && t->check(NULL, NULL))
            return hx_err_set(err, HX_ECONFIG, "jobs.schedules: job type '%s' needs params and cannot be scheduled",
                              type);
        if (j->nsched == MAX_SCHEDULES)
            return hx_err_set(err, HX_ECONFIG, "jobs.schedules: at most %d schedules", MAX_SCHEDULES);
        sched_t *s = &j->sched[j->nsched++];
        snprintf(s->type, sizeof s->type, "%s", type);
        s->every_ms = n * (unit == 's' ? 1000LL : unit == 'm' ? 60000LL : unit == 'h' ? 3600000LL : 86400000LL);
        s->next_ms = hx_now_ms() + s->every_ms;
        snprintf(s->name, sizeof s->name, "%s every %lld%c", type, n, unit);
    }
    return HX_OK;
}

static void *scheduler(void *arg)
{
    hx_jobs_t *j = arg;
    pthread_mutex_lock(&j->mu);
    while (!j->stopping) {
        int64_t now = hx_now_ms(), wait = 1000;
        for (int i = 0; i < j->nsched; i++) {
            sched_t *s = &j->sched[i];
            if (now >= s->next_ms) {
                s->next_ms = now + s->every_ms;
                int busy = 0;
                for (size_t k = 0; k < j->n; k++)
                    busy |= j->jobs[k]->state <= JOB_RUNNING && strcmp(j->jobs[k]->schedule, s->name) == 0;
                job_t *jb;
                hx_err_t err = {0};
                if (!busy && submit_locked(j, "system", s->type, NULL, s->name, &jb, &err))
                    HX_WARN("jobs", "schedule '%s': %s", s->name, err.msg);
            }
            if (s->next_ms - now < wait)
                wait = s->next_ms - now;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (wait > 0 ? wait : 1) * 1000000LL;
        ts.tv_sec += ns / 1000000000LL;
        ts.tv_nsec = ns % 1000000000LL;
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

int hx_jobs_open(const hx_config_t *cfg, const hx_jobs_deps_t *deps, hx_jobs_t **out, hx_err_t *err)
{
    *out = NULL;
    hx_jobs_t *j = calloc(1, sizeof *j);
    if (!j)
        return hx_err_set(err, HX_ENOMEM, "out of memory starting the job runner");
    j->cfg = cfg;
    j->deps = *deps;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    char dir[HX_CFG_STR + 16];
    snprintf(dir, sizeof dir, "%s/jobs", cfg->node.data_dir);
    mkdir(dir, 0755);
    snprintf(j->path, sizeof j->path, "%s/jobs.json", dir);
    int rc = load(j, err);
    if (!rc)
        rc = parse_schedules(j, err);
    int n = cfg->jobs.concurrency < MAX_WORKERS ? cfg->jobs.concurrency : MAX_WORKERS;
    for (int i = 0; !rc && i < n; i++) {
        if (pthread_create(&j->workers[i], NULL, worker, j) != 0)
            rc = hx_err_set(err, HX_EINTERNAL, "cannot start job worker threads");
        else
            j->nworkers++;
    }
    if (!rc && j->nsched) {
        if (pthread_create(&j->sched_th, NULL, scheduler, j) != 0)
            rc = hx_err_set(err, HX_EINTERNAL, "cannot start the job scheduler");
        else
            j->sched_started = 1;
    }
    if (rc) {
        hx_jobs_close(j);
        return rc;
    }
    *out = j;
    return HX_OK;
}

void hx_jobs_close(hx_jobs_t *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    j->stopping = 1;
    for (size_t i = 0; i < j->n; i++)
        if (j->jobs[i]->state == JOB_RUNNING)
            j->jobs[i]->cancel = 1;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    for (int i = 0; i < j->nworkers; i++)
        pthread_join(j->workers[i], NULL);
    if (j->sched_started)
        pthread_join(j->sched_th, NULL);
    for (size_t i = 0; i < j->n; i++)
        job_free(j->jobs[i]);
    free(j->jobs);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

int hx_jobs_submit(hx_jobs_t *j, const char *tenant, int is_admin, const char *type, const json_t *params,
                   json_t **out, hx_err_t *err)
{
    const job_type_t *t = type ? job_type_find(type) : NULL;
    if (!t)
        return hx_err_set(err, HX_EINVAL, "unknown job type '%s' (compaction, retention, export, entity_extraction, "
                                          "analytics_backfill)", type ? type : "");
    if (t->admin_only && !is_admin)
        return hx_err_set(err, HX_EFORBIDDEN, "job type %s changes every tenant's files and needs an admin key", type);
    if (params && !json_is_object(params))
        return hx_err_set(err, HX_EINVAL, "params must be an object");
    int rc = t->check ? t->check(params, err) : HX_OK;
    if (rc)
        return rc;
    pthread_mutex_lock(&j->mu);
    job_t *jb;
    rc = submit_locked(j, tenant, type, params, NULL, &jb, err);
    if (!rc)
        *out = job_json(jb);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

static job_t *find(hx_jobs_t *j, const char *tenant, const char *id)
{
    for (size_t i = 0; i < j->n; i++)
        if (strcmp(j->jobs[i]->id, id) == 0 &&
            (strcmp(j->jobs[i]->tenant, tenant) == 0 || strcmp(j->jobs[i]->tenant, "system") == 0))
            return j->jobs[i];
    return NULL;
}

int hx_jobs_get(hx_jobs_t *j, const char *tenant, const char *id, json_t **out, hx_err_t *err)
{
    pthread_mutex_lock(&j->mu);
    job_t *jb = find(j, tenant, id);
    if (jb)
        *out = job_json(jb);
    pthread_mutex_unlock(&j->mu);
    return jb ? HX_OK : hx_err_set(err, HX_ENOTFOUND, "no job '%s'", id);
}

int hx_jobs_list(hx_jobs_t *j, const char *tenant, const char *state, int limit, json_t **out, hx_err_t *err)
{
    int want = state ? state_parse(state) : -1;
    if (state && want < 0)
        return hx_err_set(err, HX_EINVAL, "state must be queued, running, succeeded, failed or cancelled");
    json_t *arr = json_array();
    pthread_mutex_lock(&j->mu);
    for (size_t i = j->n; i-- > 0 && (int)json_array_size(arr) < limit;) {
        job_t *jb = j->jobs[i];
        if ((strcmp(jb->tenant, tenant) == 0 || strcmp(jb->tenant, "system") == 0) &&
            (want < 0 || (int)jb->state == want))
            json_array_append_new(arr, job_json(jb));
    }
    pthread_mutex_unlock(&j->mu);
    *out = json_pack("{s:o}", "jobs", arr);
    return HX_OK;
}

int hx_jobs_cancel(hx_jobs_t *j, const char *tenant, const char *id, int wait_ms, json_t **out, hx_err_t *err)
{
    pthread_mutex_lock(&j->mu);
    job_t *jb = find(j, tenant, id);
    int rc = HX_OK;
    if (!jb) {
        rc = hx_err_set(err, HX_ENOTFOUND, "no job '%s'", id);
    } else if (jb->state >= JOB_SUCCEEDED) {
        rc = hx_err_set(err, HX_ECONFLICT, "job %s already %s", id, state_name(jb->state));
    } else if (jb->state == JOB_QUEUED) {
        jb->state = JOB_CANCELLED;
        jb->finished_at = hx_now_ms();
        snprintf(jb->error, sizeof jb->error, "cancelled");
        persist(j);
    } else {
        jb->cancel = 1;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (int64_t)wait_ms * 1000000LL;
        ts.tv_sec += ns / 1000000000LL;
        ts.tv_nsec = ns % 1000000000LL;
        while (jb->state == JOB_RUNNING)
            if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) != 0)
                break;
    }
    if (!rc)
        *out = job_json(jb);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

json_t *hx_jobs_types(void)
{
    size_t n;
    const job_type_t *t = job_types(&n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:b,s:s}", "type", t[i].name, "admin_only", t[i].admin_only,
                                             "params", t[i].params_doc));
    return arr;
}
