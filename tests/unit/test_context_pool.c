/* The context engine's parallel-for pool: every index of every job runs
 * exactly once, with that job's function and argument, and nothing of a job
 * runs after ctx_pool_for returned. Many short jobs back to back are what
 * made a worker that woke late take the next job's indices with the last
 * job's function (a replay then summarised 1 of 11 windows). */
#include "context/ctx_internal.h"
#include "../hx_test.h"

#include <stdatomic.h>

typedef struct {
    unsigned magic;
    size_t n;
    atomic_int runs[16];
    atomic_int *live;            /* the job ctx_pool_for is running */
    int id;
} job_arg_t;

static atomic_int stale;         /* an index run for a job that was over */
static volatile unsigned spin_sink;

static void fn(void *arg, size_t i)
{
    job_arg_t *a = arg;
    if (a->id % 8 == 0) /* some jobs long enough for the workers to join in */
        for (int k = 0; k < 20000; k++)
            spin_sink += (unsigned)k;
    if (a->magic != 0x5eed || atomic_load(a->live) != a->id || i >= a->n)
        atomic_fetch_add(&stale, 1);
    else
        atomic_fetch_add(&a->runs[i], 1);
}

static void test_jobs_back_to_back(void)
{
    ctx_pool_t *p = NULL;
    CHECK_INT(ctx_pool_new(3, &p), 0);
    atomic_int live;
    atomic_init(&live, -1);
    int bad = 0;
    for (int k = 0; k < 20000 && p; k++) {
        job_arg_t a = {.magic = 0x5eed, .n = 2 + (size_t)(k % 14), .live = &live, .id = k};
        for (int i = 0; i < 16; i++)
            atomic_init(&a.runs[i], 0);
        atomic_store(&live, k);
        ctx_pool_for(p, a.n, fn, &a);
        atomic_store(&live, -1);
        for (size_t i = 0; i < a.n; i++)
            bad += atomic_load(&a.runs[i]) != 1;
        a.magic = 0; /* a late call on this frame is seen as stale */
    }
    CHECK_INT(bad, 0);
    CHECK_INT(atomic_load(&stale), 0);
    ctx_pool_free(p);
}

int main(void)
{
    RUN(test_jobs_back_to_back);
    return HX_TEST_DONE();
}
