/* Private to src/lake/jobs: a job as the runner keeps it, and the type
 * table (types.c) the runner dispatches to. */
#ifndef HX_JOBS_INT_H
#define HX_JOBS_INT_H

#include "helix/hx_jobs.h"

#include <pthread.h>
#include <stdint.h>

typedef enum { JOB_QUEUED = 0, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED, JOB_CANCELLED } job_state_t;

typedef struct job {
    char id[48];
    char tenant[128];
    char type[48];
    char schedule[64];           /* the schedule that submitted it, or "" */
    json_t *params;
    job_state_t state;
    _Atomic double progress;     /* written by the running job without the lock */
    int64_t created_at, started_at, finished_at;
    json_t *result;
    char error[HX_ERR_MSG_MAX];
    volatile int cancel;
} job_t;

/* What a running job sees. */
typedef struct job_run {
    const hx_config_t *cfg;
    const hx_jobs_deps_t *deps;
    job_t *job;                  /* read params/tenant; cancel flag */
    hx_lake_task_t task;         /* cancel + progress wired to the job */
} job_run_t;

typedef struct job_type {
    const char *name;
    int admin_only;
    const char *params_doc;
    /* Checks params before the job is queued. */
    int (*check)(const json_t *params, hx_err_t *err);
    int (*run)(job_run_t *r, json_t **result, hx_err_t *err);
} job_type_t;

const job_type_t *job_type_find(const char *name);

/* entity_extraction over [from, to) (0 = open), extract.c. */
int job_run_extraction(job_run_t *r, int64_t from, int64_t to, json_t **out, hx_err_t *err);
const job_type_t *job_types(size_t *n);

#endif
