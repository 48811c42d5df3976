/* The batch job runner: an in-process queue with jobs.concurrency workers,
 * job records that survive a restart, cancellation that really stops the
 * work, and schedules from jobs.schedules ("retention every 1h").
 *
 * A job is {id, tenant, type, params, state, progress, created_at,
 * started_at, finished_at, result, error}; state is queued | running |
 * succeeded | failed | cancelled. Records are kept in <data_dir>/jobs/
 * jobs.json, replaced atomically on every state change. At start, a job
 * that was running is marked failed ("interrupted by a restart"; submit it
 * again) and queued jobs run. Types and their params are in docs/lake.md.
 *
 * Ownership: hx_jobs_t is thread-safe; json outputs are new references the
 * caller owns; params are copied. The lake and broker are borrowed and must
 * outlive the runner. */
#ifndef HX_JOBS_H
#define HX_JOBS_H

#include "helix/hx_config.h"
#include "helix/hx_error.h"
#include "helix/hx_lake.h"

#include <jansson.h>

typedef struct hx_jobs hx_jobs_t;

typedef struct hx_jobs_deps {
    hx_lake_t *lake;             /* required */
    hx_broker_t *broker;         /* for types that publish events (analytics_backfill); may be NULL */
} hx_jobs_deps_t;

int hx_jobs_open(const hx_config_t *cfg, const hx_jobs_deps_t *deps, hx_jobs_t **out, hx_err_t *err);
/* Cancels running jobs (they are recorded as failed: interrupted), waits for
 * the workers, frees j. */
void hx_jobs_close(hx_jobs_t *j);

/* Queues a job. is_admin: maintenance types (compaction, retention) touch
 * every tenant's files and need an admin. HX_EINVAL for an unknown type or
 * bad params (checked before anything is queued). *out: the job record. */
int hx_jobs_submit(hx_jobs_t *j, const char *tenant, int is_admin, const char *type, const json_t *params,
                   json_t **out, hx_err_t *err);
int hx_jobs_get(hx_jobs_t *j, const char *tenant, const char *id, json_t **out, hx_err_t *err);
/* Newest first; state NULL = any. */
int hx_jobs_list(hx_jobs_t *j, const char *tenant, const char *state, int limit, json_t **out, hx_err_t *err);
/* Cancels a queued or running job and waits up to wait_ms for a running one
 * to stop; *out is the record afterwards. HX_ECONFLICT when already finished. */
int hx_jobs_cancel(hx_jobs_t *j, const char *tenant, const char *id, int wait_ms, json_t **out, hx_err_t *err);
/* The job types: [{"type","admin_only","params"}]. */
json_t *hx_jobs_types(void);

#endif
