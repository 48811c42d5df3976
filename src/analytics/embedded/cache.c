/* Decompressed columns of disk parts, least recently used dropped past the
 * budget (analytics.cache_bytes). A pinned column (a query or merge reading
 * it) is never dropped. */
#include "analytics/embedded/emb.h"

#include <stdlib.h>
#include <string.h>

int an_cache_init(an_cache_t *c, uint64_t budget)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->budget = budget;
    return HX_OK;
}

static void unlink_entry(an_cache_t *c, an_cached_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(an_cache_t *c, an_cached_t *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static void free_entry(an_cached_t *e)
{
    an_vec_free(&e->v);
    free(e);
}

/* Caller holds c->mu. */
static void evict(an_cache_t *c)
{
    an_cached_t *e = c->tail;
    while (e && c->bytes > c->budget) {
        an_cached_t *prev = e->prev;
        if (!e->pins) {
            unlink_entry(c, e);
            e->part->cached[e->col] = NULL;
            c->bytes -= e->bytes;
            free_entry(e);
        }
        e = prev;
    }
}

void an_cache_free(an_cache_t *c)
{
    an_cached_t *e = c->head;
    while (e) {
        an_cached_t *n = e->next;
        e->part->cached[e->col] = NULL;
        free_entry(e);
        e = n;
    }
    pthread_mutex_destroy(&c->mu);
    memset(c, 0, sizeof *c);
}

void an_cache_drop_part(an_cache_t *c, an_part_t *p)
{
    pthread_mutex_lock(&c->mu);
    for (int col = 0; col < HX_AN_MAX_COLS; col++) {
        an_cached_t *e = p->cached[col];
        if (!e)
            continue;
        unlink_entry(c, e);
        c->bytes -= e->bytes;
        p->cached[col] = NULL;
        free_entry(e);
    }
    pthread_mutex_unlock(&c->mu);
}

/* Adds a column the caller built (a new part's) without pinning it. */
int an_cache_put(an_cache_t *c, an_part_t *p, int col, an_vec_t *v, size_t bytes)
{
    an_cached_t *e = calloc(1, sizeof *e);
    if (!e)
        return HX_ENOMEM;
    e->v = *v;
    memset(v, 0, sizeof *v);
    e->bytes = bytes;
    e->part = p;
    e->col = col;
    pthread_mutex_lock(&c->mu);
    if (p->cached[col]) {
        pthread_mutex_unlock(&c->mu);
        free_entry(e);
        return HX_OK;
    }
    p->cached[col] = e;
    push_front(c, e);
    c->bytes += bytes;
    evict(c);
    pthread_mutex_unlock(&c->mu);
    return HX_OK;
}

int an_part_column(an_part_t *p, int col, const an_vec_t **out, hx_err_t *err)
{
    if (p->mem) {
        *out = &p->v[col];
        return HX_OK;
    }
    an_cache_t *c = &p->tab->st->cache;
    pthread_mutex_lock(&c->mu);
    an_cached_t *e = p->cached[col];
    if (e) {
        e->pins++;
        unlink_entry(c, e);
        push_front(c, e);
        *out = &e->v;
        pthread_mutex_unlock(&c->mu);
        return HX_OK;
    }
    pthread_mutex_unlock(&c->mu);
    an_cached_t *ne = calloc(1, sizeof *ne);
    if (!ne)
        return hx_err_set(err, HX_ENOMEM, "out of memory loading a column");
    int rc = an_part_load_column(p, col, &ne->v, &ne->bytes, err);
    if (rc) {
        free(ne);
        return rc;
    }
    ne->part = p;
    ne->col = col;
    ne->pins = 1;
    pthread_mutex_lock(&c->mu);
    if ((e = p->cached[col])) { /* another reader loaded it meanwhile */
        e->pins++;
        *out = &e->v;
        pthread_mutex_unlock(&c->mu);
        free_entry(ne);
        return HX_OK;
    }
    p->cached[col] = ne;
    push_front(c, ne);
    c->bytes += ne->bytes;
    evict(c);
    *out = &ne->v;
    pthread_mutex_unlock(&c->mu);
    return HX_OK;
}

void an_part_unpin(an_part_t *p, int col)
{
    if (p->mem)
        return;
    an_cache_t *c = &p->tab->st->cache;
    pthread_mutex_lock(&c->mu);
    if (p->cached[col] && p->cached[col]->pins > 0)
        p->cached[col]->pins--;
    pthread_mutex_unlock(&c->mu);
}
