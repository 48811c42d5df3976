/* In-memory map (tenant, id) -> CRDT state. Open addressing with linear
 * probing; memories are never removed (a delete leaves a tombstone state), so
 * no deletion markers are needed. */
#include "helix/hx_hash.h"
#include "memory/engine.h"

#include <stdlib.h>
#include <string.h>

static uint64_t key_hash(const char *tenant, const char *id)
{
    char buf[512];
    size_t tl = strlen(tenant), il = strlen(id);
    if (tl + il + 1 > sizeof buf)
        return hx_hash64(id, il) ^ (hx_hash64(tenant, tl) * 0x9e3779b97f4a7c15ULL);
    memcpy(buf, tenant, tl);
    buf[tl] = 0;
    memcpy(buf + tl + 1, id, il);
    return hx_hash64(buf, tl + il + 1);
}

uint32_t hx_mstore_bucket(const char *tenant, const char *id)
{
    return (uint32_t)(key_hash(tenant, id) >> 40) % HX_MEM_BUCKETS;
}

int hx_mstore_init(hx_mstore_t *st)
{
    st->cap = 1024;
    st->count = 0;
    st->slots = calloc(st->cap, sizeof *st->slots);
    return st->slots ? HX_OK : HX_ENOMEM;
}

void hx_mstore_free(hx_mstore_t *st)
{
    for (size_t i = 0; i < st->cap && st->slots; i++)
        if (st->slots[i]) {
            hx_mcrdt_free(st->slots[i]->s);
            free(st->slots[i]);
        }
    free(st->slots);
    memset(st, 0, sizeof *st);
}

hx_mitem_t *hx_mstore_get(hx_mstore_t *st, const char *tenant, const char *id)
{
    size_t i = (size_t)key_hash(tenant, id) & (st->cap - 1);
    for (; st->slots[i]; i = (i + 1) & (st->cap - 1))
        if (!strcmp(st->slots[i]->s->id, id) && !strcmp(st->slots[i]->s->tenant, tenant))
            return st->slots[i];
    return NULL;
}

static int grow(hx_mstore_t *st)
{
    size_t ncap = st->cap * 2;
    hx_mitem_t **n = calloc(ncap, sizeof *n);
    if (!n)
        return HX_ENOMEM;
    for (size_t i = 0; i < st->cap; i++) {
        hx_mitem_t *it = st->slots[i];
        if (!it)
            continue;
        size_t j = (size_t)key_hash(it->s->tenant, it->s->id) & (ncap - 1);
        while (n[j])
            j = (j + 1) & (ncap - 1);
        n[j] = it;
    }
    free(st->slots);
    st->slots = n;
    st->cap = ncap;
    return HX_OK;
}

hx_mitem_t *hx_mstore_put(hx_mstore_t *st, const char *tenant, const char *id)
{
    hx_mitem_t *it = hx_mstore_get(st, tenant, id);
    if (it)
        return it;
    if ((st->count + 1) * 10 > st->cap * 7 && grow(st))
        return NULL;
    it = calloc(1, sizeof *it);
    if (!it || !(it->s = hx_mcrdt_new(tenant, id))) {
        free(it);
        return NULL;
    }
    it->bucket = hx_mstore_bucket(tenant, id);
    size_t i = (size_t)key_hash(tenant, id) & (st->cap - 1);
    while (st->slots[i])
        i = (i + 1) & (st->cap - 1);
    st->slots[i] = it;
    st->count++;
    return it;
}

void hx_mitem_touch(hx_mitem_t *it)
{
    it->hash_ok = 0;
    it->snap_dirty = 1;
    uint64_t h = hx_mcrdt_max_hlc(it->s);
    it->updated_ms = hx_hlc_wall_ms(h);
}
