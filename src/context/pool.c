/* A small fixed thread pool running parallel-for jobs: window summaries and
 * message analysis are independent, so they split across cores. One job runs
 * at a time; a caller that finds the pool busy runs its job inline rather
 * than wait, so concurrent requests never deadlock or queue behind each other. */
#include "context/ctx_internal.h"

#include <stdlib.h>

/* One parallel-for, on its caller's stack. Workers reach it only through
 * p->job, which the caller clears before it returns: a worker that wakes
 * late can never run a finished job's function on the next job's indices. */
typedef struct job {
    void (*fn)(void *, size_t);
    void *arg;
    size_t n, done;
    atomic_size_t next;
} job_t;

struct ctx_pool {
    pthread_mutex_t mu, job_mu;
    pthread_cond_t cv, done_cv;
    pthread_t *th;
    int nth, stop;
    uint64_t gen;
    job_t *job;                  /* the running job, or NULL */
    int active;                  /* workers inside a job */
};

static void work(ctx_pool_t *p, job_t *j)
{
    size_t i, k = 0;
    while ((i = atomic_fetch_add(&j->next, 1)) < j->n) {
        j->fn(j->arg, i);
        k++;
    }
    pthread_mutex_lock(&p->mu);
    j->done += k;
    if (j->done == j->n)
        pthread_cond_broadcast(&p->done_cv);
    pthread_mutex_unlock(&p->mu);
}

static void *worker(void *a)
{
    ctx_pool_t *p = a;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->gen == seen)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop)
            break;
        seen = p->gen;
        job_t *j = p->job;
        if (!j) /* woke after its job was over */
            continue;
        p->active++;
        pthread_mutex_unlock(&p->mu);
        work(p, j);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0)
            pthread_cond_broadcast(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int ctx_pool_new(int threads, ctx_pool_t **out)
{
    ctx_pool_t *p = calloc(1, sizeof *p);
    if (!p)
        return HX_ENOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->job_mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->th = calloc((size_t)(threads > 0 ? threads : 1), sizeof *p->th);
    if (!p->th) {
        ctx_pool_free(p);
        return HX_ENOMEM;
    }
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->th[i], NULL, worker, p))
            break;
        p->nth++;
    }
    *out = p;
    return HX_OK;
}

void ctx_pool_free(ctx_pool_t *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nth; i++)
        pthread_join(p->th[i], NULL);
    free(p->th);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->job_mu);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

void ctx_pool_for(ctx_pool_t *p, size_t n, void (*fn)(void *arg, size_t i), void *arg)
{
    if (!p || p->nth == 0 || n < 2 || pthread_mutex_trylock(&p->job_mu) != 0) {
        for (size_t i = 0; i < n; i++)
            fn(arg, i);
        return;
    }
    job_t j = {.fn = fn, .arg = arg, .n = n};
    atomic_init(&j.next, 0);
    pthread_mutex_lock(&p->mu);
    p->job = &j;
    p->gen++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    work(p, &j);
    pthread_mutex_lock(&p->mu);
    /* Every index done, and no worker still inside (one may hold j with no
     * index left); then j is unreachable before this frame goes. */
    while (j.done < n || p->active > 0)
        pthread_cond_wait(&p->done_cv, &p->mu);
    p->job = NULL;
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->job_mu);
}
