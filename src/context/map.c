/* u64 -> u32 open-addressing map with linear probing: the hot lookup of term,
 * entity and message-id hashes during analysis and scoring. */
#include "context/ctx_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(uint64_t k, size_t cap) { return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 7) & (cap - 1); }

int ctx_map_init(ctx_map_t *m, size_t hint)
{
    size_t cap = 16;
    while (cap < hint * 2)
        cap <<= 1;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = calloc(cap, sizeof *m->vals);
    m->cap = cap;
    m->n = 0;
    if (!m->keys || !m->vals) {
        ctx_map_free(m);
        return HX_ENOMEM;
    }
    return HX_OK;
}

void ctx_map_free(ctx_map_t *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

uint32_t *ctx_map_get(const ctx_map_t *m, uint64_t k)
{
    if (!m->cap)
        return NULL;
    if (!k)
        k = 1;
    for (size_t i = slot_of(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == k)
            return &m->vals[i];
        if (!m->keys[i])
            return NULL;
    }
}

static int grow(ctx_map_t *m)
{
    ctx_map_t n;
    if (ctx_map_init(&n, m->cap))
        return HX_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = slot_of(m->keys[i], n.cap);
        while (n.keys[j])
            j = (j + 1) & (n.cap - 1);
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
    }
    n.n = m->n;
    ctx_map_free(m);
    *m = n;
    return HX_OK;
}

int ctx_map_put(ctx_map_t *m, uint64_t k, uint32_t v, uint32_t **slot, int *existed)
{
    if (!k)
        k = 1;
    if (!m->cap || (m->n + 1) * 4 > m->cap * 3) {
        if (!m->cap ? ctx_map_init(m, 8) : grow(m))
            return HX_ENOMEM;
    }
    size_t i = slot_of(k, m->cap);
    for (; m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == k) {
            if (slot)
                *slot = &m->vals[i];
            if (existed)
                *existed = 1;
            return HX_OK;
        }
    m->keys[i] = k;
    m->vals[i] = v;
    m->n++;
    if (slot)
        *slot = &m->vals[i];
    if (existed)
        *existed = 0;
    return HX_OK;
}
