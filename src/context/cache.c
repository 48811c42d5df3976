/* LRU cache with a TTL per entry: a hash table of entries chained on a
 * doubly linked recency list. Values are reference-counted objects, so a
 * reader keeps its value alive while the entry is evicted or replaced. */
#include "context/ctx_internal.h"
#include "helix/hx_clock.h"

#include <stdlib.h>

typedef struct entry {
    uint64_t key, tag;
    int kind;
    int64_t expires;
    ctx_obj_t *obj;
    struct entry *prev, *next, *chain;
} entry_t;

struct ctx_cache {
    pthread_mutex_t mu;
    entry_t **buckets;
    size_t nb, n, cap;
    int64_t ttl_ms;
    entry_t head; /* head.next = most recent */
    uint64_t hits, misses;
};

void ctx_obj_ref(ctx_obj_t *o)
{
    if (o)
        atomic_fetch_add(&o->refs, 1);
}

void ctx_obj_unref(ctx_obj_t *o)
{
    if (o && atomic_fetch_sub(&o->refs, 1) == 1)
        o->destroy(o);
}

int ctx_cache_new(size_t capacity, int64_t ttl_ms, ctx_cache_t **out)
{
    ctx_cache_t *c = calloc(1, sizeof *c);
    if (!c)
        return HX_ENOMEM;
    c->nb = 64;
    while (c->nb < capacity)
        c->nb <<= 1;
    c->buckets = calloc(c->nb, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return HX_ENOMEM;
    }
    c->cap = capacity;
    c->ttl_ms = ttl_ms;
    c->head.next = c->head.prev = &c->head;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return HX_OK;
}

static void unlink_lru(entry_t *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
}

static void push_front(ctx_cache_t *c, entry_t *e)
{
    e->next = c->head.next;
    e->prev = &c->head;
    c->head.next->prev = e;
    c->head.next = e;
}

static entry_t **find(ctx_cache_t *c, uint64_t key)
{
    entry_t **pp = &c->buckets[key & (c->nb - 1)];
    while (*pp && (*pp)->key != key)
        pp = &(*pp)->chain;
    return pp;
}

/* Unlinks and frees *pp (the caller holds mu). */
static void drop(ctx_cache_t *c, entry_t **pp)
{
    entry_t *e = *pp;
    *pp = e->chain;
    unlink_lru(e);
    c->n--;
    ctx_obj_unref(e->obj);
    free(e);
}

void ctx_cache_free(ctx_cache_t *c)
{
    if (!c)
        return;
    ctx_cache_clear(c);
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

ctx_obj_t *ctx_cache_get(ctx_cache_t *c, uint64_t key)
{
    if (!c)
        return NULL;
    pthread_mutex_lock(&c->mu);
    entry_t **pp = find(c, key);
    ctx_obj_t *o = NULL;
    if (*pp && (*pp)->expires <= hx_now_ms()) {
        drop(c, pp);
    } else if (*pp) {
        o = (*pp)->obj;
        ctx_obj_ref(o);
        unlink_lru(*pp);
        push_front(c, *pp);
    }
    if (o)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->mu);
    return o;
}

void ctx_cache_put(ctx_cache_t *c, uint64_t key, uint64_t tag, int kind, ctx_obj_t *o)
{
    if (!c || c->cap == 0)
        return;
    pthread_mutex_lock(&c->mu);
    entry_t **pp = find(c, key);
    if (*pp)
        drop(c, pp);
    entry_t *e = calloc(1, sizeof *e);
    if (e) {
        *e = (entry_t){.key = key, .tag = tag, .kind = kind, .expires = hx_now_ms() + c->ttl_ms, .obj = o};
        ctx_obj_ref(o);
        e->chain = c->buckets[key & (c->nb - 1)];
        c->buckets[key & (c->nb - 1)] = e;
        push_front(c, e);
        c->n++;
        while (c->n > c->cap) {
            entry_t *old = c->head.prev;
            drop(c, find(c, old->key));
        }
    }
    pthread_mutex_unlock(&c->mu);
}

void ctx_cache_drop_tag(ctx_cache_t *c, uint64_t tag, int kind)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    for (entry_t *e = c->head.next, *nx; e != &c->head; e = nx) {
        nx = e->next;
        if (e->tag == tag && (!kind || e->kind == kind))
            drop(c, find(c, e->key));
    }
    pthread_mutex_unlock(&c->mu);
}

void ctx_cache_touch(ctx_cache_t *c, uint64_t key)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    entry_t **pp = find(c, key);
    if (*pp)
        (*pp)->expires = hx_now_ms() + c->ttl_ms;
    pthread_mutex_unlock(&c->mu);
}

void ctx_cache_clear(ctx_cache_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    while (c->head.next != &c->head)
        drop(c, find(c, c->head.next->key));
    pthread_mutex_unlock(&c->mu);
}

void ctx_cache_counts(ctx_cache_t *c, size_t *entries, uint64_t *hits, uint64_t *misses)
{
    if (!c) {
        *entries = 0;
        *hits = *misses = 0;
        return;
    }
    pthread_mutex_lock(&c->mu);
    *entries = c->n;
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->mu);
}
