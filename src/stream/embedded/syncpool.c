/* Parallel partition appends for fsync=always. Each append there ends in an
 * fdatasync of its partition's segment; one batch touching 12 partitions
 * would pay 12 journal commits one after another. Run side by side, the
 * file system folds the concurrent syncs into a few commits (measured on
 * ext4: 12 sequential write+fdatasync about 4-20 ms, 12 parallel about 3 ms),
 * and every record is still on disk before its acknowledgement. */
#include "stream/embedded/embedded.h"

#include <stdlib.h>

struct emb_job {
    void (*fn)(void *arg);
    void *arg;
    struct emb_jobset *set;
    struct emb_job *next;
};

typedef struct emb_jobset {
    size_t remaining; /* under pool mu */
    pthread_cond_t done;
} emb_jobset_t;

static void *worker_main(void *arg)
{
    emb_pool_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->head)
            break;
        emb_job_t *j = p->head;
        p->head = j->next;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->arg);
        pthread_mutex_lock(&p->mu);
        if (--j->set->remaining == 0)
            pthread_cond_signal(&j->set->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int emb_pool_start(emb_pool_t *p, int threads)
{
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->head = NULL;
    p->stop = 0;
    p->n = 0;
    for (; p->n < threads && p->n < EMB_POOL_MAX; p->n++)
        if (pthread_create(&p->th[p->n], NULL, worker_main, p))
            break;
    return p->n;
}

void emb_pool_stop(emb_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++)
        pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

void emb_pool_run(emb_pool_t *p, void (*fn)(void *arg), void *args, size_t arg_size, size_t n)
{
    if (n == 0)
        return;
    emb_job_t *jobs = n > 1 && p->n > 0 ? calloc(n - 1, sizeof *jobs) : NULL;
    if (!jobs) {
        /* No pool (or no memory for the job list): one after another. */
        for (size_t i = 0; i < n; i++)
            fn((char *)args + i * arg_size);
        return;
    }
    emb_jobset_t set = {.remaining = n - 1};
    pthread_cond_init(&set.done, NULL);
    pthread_mutex_lock(&p->mu);
    for (size_t i = 1; i < n; i++) {
        jobs[i - 1] = (emb_job_t){fn, (char *)args + i * arg_size, &set, p->head};
        p->head = &jobs[i - 1];
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(args); /* the caller takes the first */
    pthread_mutex_lock(&p->mu);
    while (set.remaining)
        pthread_cond_wait(&set.done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_cond_destroy(&set.done);
    free(jobs);
}
