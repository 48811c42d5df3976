/* Private to src/lake: small helpers shared by the writer, scans, the
 * archiver and the jobs. */
#ifndef HX_LAKE_INT_H
#define HX_LAKE_INT_H

#include "helix/hx_error.h"

#include <stddef.h>

typedef struct pq_kv_pairs {
    char **keys, **vals;
    size_t n;
} pq_kv_pairs_t;

/* Sets key (copied) to value (copied), replacing an earlier value. */
int hx_lake_kv_set(pq_kv_pairs_t *kv, const char *key, const char *value);
void hx_lake_kv_free(pq_kv_pairs_t *kv);

/* mkdir -p. */
int hx_lake_mkdirs(const char *path, hx_err_t *err);


#include "helix/hx_config.h"
#include "helix/hx_lake.h"

#include <pthread.h>

/* A conversation deleted from the lake: its rows with ts <= at are dropped
 * when they are archived later. */
typedef struct lake_deleted {
    char *tenant, *id;
    int64_t at;
} lake_deleted_t;

typedef struct lake_archiver lake_archiver_t;

struct hx_lake {
    const hx_config_t *cfg;
    char root[1024];
    char meta_dir[1100];            /* <root>/_helix: manifests, deletions */
    char export_dir[1100];
    hx_lake_opts_t wopts;
    /* Serializes every change to existing files (publish, rewrite, compaction,
     * retention) so two of them never race on one partition. */
    pthread_mutex_t mu;
    lake_deleted_t *deleted;        /* under mu */
    size_t ndeleted;
    lake_archiver_t *arch;
};

/* Deletion list (under l->mu). */
int lake_deleted_load(hx_lake_t *l, hx_err_t *err);
int lake_deleted_add(hx_lake_t *l, const char *tenant, const char *id, int64_t at, hx_err_t *err);
int lake_is_deleted(hx_lake_t *l, const char *tenant, const char *id, int64_t ts);

/* Archiver (archiver.c). */
int lake_archiver_start(hx_lake_t *l, hx_broker_t *broker, hx_err_t *err);
void lake_archiver_stop(hx_lake_t *l);

/* Rewrites path keeping only rows whose keep[] is 1 (per row, in file
 * order) and its key-value metadata; a file keeping nothing is removed.
 * (ops.c) */
int lake_rewrite_file(hx_lake_t *l, const hx_lake_dataset_t *ds, const char *path, const uint8_t *keep,
                      size_t nrows, hx_err_t *err);

/* Copies row i of a batch (all dataset columns, in order) into vals;
 * strings are borrowed from the batch. */
void lake_batch_row(const hx_pq_batch_t *b, size_t i, hx_pq_value_t *vals);

int lake_task_cancelled(const hx_lake_task_t *t);
void lake_task_progress(const hx_lake_task_t *t, double f);

/* Rolls forward compaction manifests a crash left (maint.c). */
int lake_manifests_recover(hx_lake_t *l, hx_err_t *err);

#endif
