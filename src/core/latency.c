/* HDR-style latency recorder: values below 2^SUB_BITS ns get exact buckets;
 * above, each power of two is split into 2^SUB_BITS linear sub-buckets, so a
 * bucket is at most 1/128 of its value wide (midpoint error <= 0.4%). */
#include "helix/hx_metrics.h"

#include <stdatomic.h>
#include <stdlib.h>

#define SUB_BITS 7
#define SUB_COUNT (1u << SUB_BITS)
#define MAX_EXP 42 /* 2^42 ns ~ 73 minutes, comfortably past one hour */
#define NBUCKETS (SUB_COUNT + (MAX_EXP - SUB_BITS + 1) * SUB_COUNT)
#define MAX_VALUE ((UINT64_C(1) << (MAX_EXP + 1)) - 1)

struct hx_latency {
    _Atomic uint64_t count;
    _Atomic uint64_t sum;
    _Atomic uint64_t min;
    _Atomic uint64_t max;
    _Atomic uint64_t b[NBUCKETS];
};

static size_t index_of(uint64_t v)
{
    if (v > MAX_VALUE)
        v = MAX_VALUE;
    if (v < SUB_COUNT)
        return (size_t)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = e - SUB_BITS;
    return SUB_COUNT + (size_t)shift * SUB_COUNT + (size_t)((v >> shift) - SUB_COUNT);
}

/* Midpoint of bucket i. */
static uint64_t value_of(size_t i)
{
    if (i < SUB_COUNT)
        return i;
    size_t shift = (i - SUB_COUNT) / SUB_COUNT;
    uint64_t sub = (i - SUB_COUNT) % SUB_COUNT + SUB_COUNT;
    uint64_t lo = sub << shift;
    return lo + ((UINT64_C(1) << shift) - 1) / 2;
}

hx_latency_t *hx_latency_new(void)
{
    hx_latency_t *l = calloc(1, sizeof *l);
    if (l)
        atomic_store(&l->min, UINT64_MAX);
    return l;
}

void hx_latency_free(hx_latency_t *l) { free(l); }

void hx_latency_record(hx_latency_t *l, uint64_t ns)
{
    if (!l)
        return;
    atomic_fetch_add_explicit(&l->b[index_of(ns)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&l->sum, ns, memory_order_relaxed);
    uint64_t cur = atomic_load_explicit(&l->min, memory_order_relaxed);
    while (ns < cur && !atomic_compare_exchange_weak_explicit(&l->min, &cur, ns, memory_order_relaxed,
                                                              memory_order_relaxed))
        ;
    cur = atomic_load_explicit(&l->max, memory_order_relaxed);
    while (ns > cur && !atomic_compare_exchange_weak_explicit(&l->max, &cur, ns, memory_order_relaxed,
                                                              memory_order_relaxed))
        ;
    atomic_fetch_add_explicit(&l->count, 1, memory_order_release);
}

uint64_t hx_latency_count(const hx_latency_t *l)
{
    return l ? atomic_load_explicit(&((hx_latency_t *)l)->count, memory_order_acquire) : 0;
}

uint64_t hx_latency_min(const hx_latency_t *l)
{
    if (!hx_latency_count(l))
        return 0;
    return atomic_load_explicit(&((hx_latency_t *)l)->min, memory_order_relaxed);
}

uint64_t hx_latency_max(const hx_latency_t *l)
{
    return l ? atomic_load_explicit(&((hx_latency_t *)l)->max, memory_order_relaxed) : 0;
}

double hx_latency_mean(const hx_latency_t *l)
{
    uint64_t n = hx_latency_count(l);
    if (!n)
        return 0;
    return (double)atomic_load_explicit(&((hx_latency_t *)l)->sum, memory_order_relaxed) / (double)n;
}

uint64_t hx_latency_percentile(const hx_latency_t *l, double p)
{
    hx_latency_t *m = (hx_latency_t *)l;
    uint64_t n = hx_latency_count(l);
    if (!n)
        return 0;
    if (p <= 0)
        return hx_latency_min(l);
    if (p >= 100)
        return hx_latency_max(l);
    uint64_t rank = (uint64_t)((p / 100.0) * (double)n + 0.999999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0, v = 0;
    size_t i;
    for (i = 0; i < NBUCKETS; i++) {
        seen += atomic_load_explicit(&m->b[i], memory_order_relaxed);
        if (seen >= rank)
            break;
    }
    v = value_of(i < NBUCKETS ? i : NBUCKETS - 1);
    uint64_t lo = hx_latency_min(l), hi = hx_latency_max(l);
    if (v < lo)
        v = lo;
    if (v > hi)
        v = hi;
    return v;
}

void hx_latency_merge(hx_latency_t *dst, const hx_latency_t *src)
{
    hx_latency_t *s = (hx_latency_t *)src;
    if (!dst || !src || !hx_latency_count(src))
        return;
    for (size_t i = 0; i < NBUCKETS; i++) {
        uint64_t c = atomic_load_explicit(&s->b[i], memory_order_relaxed);
        if (c)
            atomic_fetch_add_explicit(&dst->b[i], c, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&dst->sum, atomic_load(&s->sum), memory_order_relaxed);
    uint64_t smin = atomic_load(&s->min), smax = atomic_load(&s->max);
    uint64_t cur = atomic_load(&dst->min);
    while (smin < cur && !atomic_compare_exchange_weak(&dst->min, &cur, smin))
        ;
    cur = atomic_load(&dst->max);
    while (smax > cur && !atomic_compare_exchange_weak(&dst->max, &cur, smax))
        ;
    atomic_fetch_add_explicit(&dst->count, atomic_load(&s->count), memory_order_release);
}

void hx_latency_reset(hx_latency_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < NBUCKETS; i++)
        atomic_store_explicit(&l->b[i], 0, memory_order_relaxed);
    atomic_store(&l->sum, 0);
    atomic_store(&l->min, UINT64_MAX);
    atomic_store(&l->max, 0);
    atomic_store(&l->count, 0);
}
