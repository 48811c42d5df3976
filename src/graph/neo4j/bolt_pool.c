/* A small Bolt connection pool: connections open on demand up to a size,
 * idle ones are reused newest first, broken ones are dropped. */
#include "graph/neo4j/bolt.h"
#include "graph/neo4j/bolt_io.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct hx_bolt_pool {
    hx_bolt_opts_t opts;
    char uri[512], user[128], password[512], database[128], agent[128];
    int size;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    hx_bolt_conn_t **idle;
    int n_idle, in_use;
    uint64_t opened, discarded;
};

int hx_bolt_pool_new(const hx_bolt_opts_t *o, int size, hx_bolt_pool_t **out, hx_err_t *err)
{
    *out = NULL;
    if (size < 1 || size > 1024)
        return hx_err_set(err, HX_ECONFIG, "neo4j.pool_size must be 1..1024, got %d", size);
    char host[256];
    int port;
    int rc = hx_bolt_parse_uri(o->uri ? o->uri : "", host, sizeof host, &port, err);
    if (rc)
        return rc;
    hx_bolt_pool_t *p = calloc(1, sizeof *p);
    if (!p || !(p->idle = calloc((size_t)size, sizeof *p->idle))) {
        free(p);
        return hx_err_set(err, HX_ENOMEM, "neo4j: out of memory");
    }
    p->opts = *o;
    /* Own copies: the options' strings may be the caller's temporaries. */
#define COPY(field, buf)                                                      \
    do {                                                                      \
        snprintf(p->buf, sizeof p->buf, "%s", o->field ? o->field : "");     \
        p->opts.field = p->buf;                                               \
    } while (0)
    COPY(uri, uri);
    COPY(user, user);
    COPY(password, password);
    COPY(database, database);
#undef COPY
    if (o->user_agent) {
        snprintf(p->agent, sizeof p->agent, "%s", o->user_agent);
        p->opts.user_agent = p->agent;
    }
    p->size = size;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = p;
    return 0;
}

int hx_bolt_pool_acquire(hx_bolt_pool_t *p, hx_bolt_conn_t **out, hx_err_t *err)
{
    *out = NULL;
    int wait_ms = p->opts.connect_timeout_ms > 0 ? p->opts.connect_timeout_ms : 5000;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    while (p->n_idle == 0 && p->in_use >= p->size) {
        if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT) {
            pthread_mutex_unlock(&p->mu);
            return hx_err_set(err, HX_EAGAIN,
                              "neo4j: all %d pooled connections stayed busy for %d ms (raise neo4j.pool_size)",
                              p->size, wait_ms);
        }
    }
    p->in_use++;
    if (p->n_idle) {
        *out = p->idle[--p->n_idle];
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    pthread_mutex_unlock(&p->mu);
    /* Connect outside the lock: it can take the whole connect timeout. */
    int rc = hx_bolt_open(&p->opts, out, err);
    pthread_mutex_lock(&p->mu);
    if (rc) {
        p->in_use--;
        pthread_cond_signal(&p->cv);
    } else {
        p->opened++;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void hx_bolt_pool_release(hx_bolt_pool_t *p, hx_bolt_conn_t *c)
{
    if (!c)
        return;
    if (!hx_bolt_broken(c) && hx_bolt_in_tx(c))
        hx_bolt_rollback(c, NULL);
    int drop = hx_bolt_broken(c);
    pthread_mutex_lock(&p->mu);
    p->in_use--;
    if (drop)
        p->discarded++;
    else
        p->idle[p->n_idle++] = c;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (drop)
        hx_bolt_close(c);
}

/* After one broken connection the idle ones are suspect too (a restarted
 * server dropped them all): close them rather than fail on each in turn. */
static void drop_idle(hx_bolt_pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->n_idle;
    hx_bolt_conn_t *gone[1024];
    memcpy(gone, p->idle, (size_t)n * sizeof *gone);
    p->n_idle = 0;
    p->discarded += (uint64_t)n;
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < n; i++)
        hx_bolt_close(gone[i]);
}

int hx_bolt_pool_with(hx_bolt_pool_t *p, hx_bolt_work_fn fn, void *ctx, hx_err_t *err)
{
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        hx_bolt_conn_t *c;
        if ((rc = hx_bolt_pool_acquire(p, &c, err)))
            return rc;
        rc = fn(c, ctx, err);
        int was_broken = rc && hx_bolt_broken(c), unknown = hx_bolt_commit_unknown(c);
        hx_bolt_pool_release(p, c);
        if (!was_broken || rc == HX_ETIMEOUT || unknown)
            return rc;
        drop_idle(p);
    }
    return rc;
}

void hx_bolt_pool_stats(hx_bolt_pool_t *p, hx_bolt_pool_stats_t *out)
{
    pthread_mutex_lock(&p->mu);
    out->idle = p->n_idle;
    out->in_use = p->in_use;
    out->opened = p->opened;
    out->discarded = p->discarded;
    pthread_mutex_unlock(&p->mu);
}

void hx_bolt_pool_free(hx_bolt_pool_t *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_idle; i++)
        hx_bolt_close(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->idle);
    free(p);
}
