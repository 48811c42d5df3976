/* In-memory map (tenant, id) -> CRDT state. Open addressing with linear
 * probing; memories are never removed (a delete leaves a tombstone state), so
 * no deletion markers are needed. Each slot's key hash is kept beside it: a
 * probe compares hashes in one array and follows a slot's item only on a
 * match (every write looks its memory up; the items are all over the heap). */
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
    st->hashes = calloc(st->cap, sizeof *st->hashes);
    if (st->slots && st->hashes)
        return HX_OK;
    free(st->slots);
    free(st->hashes);
    st->slots = NULL;
    st->hashes = NULL;
    return HX_ENOMEM;
}

void hx_mstore_free(hx_mstore_t *st)
{
    for (size_t i = 0; i < st->cap && st->slots; i++)
        if (st->slots[i]) {
            hx_mcrdt_free(st->slots[i]->s);
            free(st->slots[i]);
        }
    free(st->slots);
    free(st->hashes);
    memset(st, 0, sizeof *st);
}

/* The slot of (tenant, id) with hash h: its item, or the empty slot where it goes. */
static size_t find_slot(const hx_mstore_t *st, uint64_t h, const char *tenant, const char *id)
{
    size_t i = (size_t)h & (st->cap - 1);
    for (; st->slots[i]; i = (i + 1) & (st->cap - 1))
        if (st->hashes[i] == h && !strcmp(st->slots[i]->s->id, id) && !strcmp(st->slots[i]->s->tenant, tenant))
            break;
    return i;
}

hx_mitem_t *hx_mstore_get(hx_mstore_t *st, const char *tenant, const char *id)
{
    return st->slots[find_slot(st, key_hash(tenant, id), tenant, id)];
}

static int grow(hx_mstore_t *st)
{
    size_t ncap = st->cap * 2;
    hx_mitem_t **n = calloc(ncap, sizeof *n);
    uint64_t *nh = calloc(ncap, sizeof *nh);
    if (!n || !nh) {
        free(n);
        free(nh);
        return HX_ENOMEM;
    }
    for (size_t i = 0; i < st->cap; i++) {
        if (!st->slots[i])
            continue;
        size_t j = (size_t)st->hashes[i] & (ncap - 1);
        while (n[j])
            j = (j + 1) & (ncap - 1);
        n[j] = st->slots[i];
        nh[j] = st->hashes[i];
    }
    free(st->slots);
    free(st->hashes);
    st->slots = n;
    st->hashes = nh;
    st->cap = ncap;
    return HX_OK;
}

hx_mitem_t *hx_mstore_put(hx_mstore_t *st, const char *tenant, const char *id)
{
    uint64_t h = key_hash(tenant, id);
    size_t i = find_slot(st, h, tenant, id);
    if (st->slots[i])
        return st->slots[i];
    if ((st->count + 1) * 10 > st->cap * 7) {
        if (grow(st))
            return NULL;
        i = find_slot(st, h, tenant, id);
    }
    hx_mitem_t *it = calloc(1, sizeof *it);
    if (!it || !(it->s = hx_mcrdt_new(tenant, id))) {
        free(it);
        return NULL;
    }
    it->bucket = (uint32_t)(h >> 40) % HX_MEM_BUCKETS; /* hx_mstore_bucket */
    st->slots[i] = it;
    st->hashes[i] = h;
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
