/* Store-wide dictionaries of low-cardinality strings. */
#include "analytics/embedded/dict.h"
#include "helix/hx_error.h"
#include "helix/hx_hash.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CODES (AN_DICT_DIR * 256 * AN_DICT_PAGE)

int an_dict_init(an_dict_t *d)
{
    memset(d, 0, sizeof *d);
    pthread_mutex_init(&d->mu, NULL);
    d->cap = 256;
    d->slots = calloc(d->cap, sizeof *d->slots);
    return d->slots ? HX_OK : HX_ENOMEM;
}

void an_dict_free(an_dict_t *d)
{
    for (int a = 0; a < AN_DICT_DIR; a++) {
        if (!d->dir[a])
            continue;
        for (int b = 0; b < 256; b++)
            free(d->dir[a][b]);
        free(d->dir[a]);
    }
    for (size_t i = 0; i < d->nblocks; i++)
        free(d->blocks[i]);
    free(d->blocks);
    free(d->slots);
    pthread_mutex_destroy(&d->mu);
    memset(d, 0, sizeof *d);
}

static const char *store_str(an_dict_t *d, const char *s, size_t len)
{
    if (d->block_cap - d->block_used < len + 1) {
        size_t cap = len + 1 > 65536 ? len + 1 : 65536;
        char *blk = malloc(cap);
        if (!blk)
            return NULL;
        if (d->nblocks == d->blocks_cap) {
            size_t nc = d->blocks_cap ? d->blocks_cap * 2 : 16;
            char **nb = realloc(d->blocks, nc * sizeof *nb);
            if (!nb) {
                free(blk);
                return NULL;
            }
            d->blocks = nb;
            d->blocks_cap = nc;
        }
        d->blocks[d->nblocks++] = blk;
        d->block = blk;
        d->block_used = 0;
        d->block_cap = cap;
        d->bytes += cap;
    }
    char *p = d->block + d->block_used;
    if (len)
        memcpy(p, s, len);
    p[len] = 0;
    d->block_used += len + 1;
    return p;
}

static uint32_t probe(const an_dict_t *d, const char *s, size_t len, uint64_t h, int *found)
{
    uint32_t mask = d->cap - 1, i = (uint32_t)h & mask;
    for (;;) {
        uint32_t c = d->slots[i];
        if (!c) {
            *found = 0;
            return i;
        }
        const an_dent_t *e = an_dict_get(d, c - 1);
        if (e->h == h && e->len == len && (len == 0 || memcmp(e->s, s, len) == 0)) {
            *found = 1;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static int rehash(an_dict_t *d)
{
    uint32_t cap = d->cap * 2;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return HX_ENOMEM;
    for (uint32_t c = 0; c < d->n; c++) {
        uint32_t i = (uint32_t)an_dict_get(d, c)->h & (cap - 1);
        while (slots[i])
            i = (i + 1) & (cap - 1);
        slots[i] = c + 1;
    }
    free(d->slots);
    d->slots = slots;
    d->cap = cap;
    d->bytes += cap * sizeof *slots / 2;
    return HX_OK;
}

int an_dict_find(an_dict_t *d, const char *s, size_t len, uint32_t *code)
{
    uint64_t h = hx_hash64(s, len);
    pthread_mutex_lock(&d->mu);
    int found;
    uint32_t i = probe(d, s, len, h, &found);
    if (found)
        *code = d->slots[i] - 1;
    pthread_mutex_unlock(&d->mu);
    return found ? HX_OK : HX_ENOTFOUND;
}

int an_dict_intern(an_dict_t *d, const char *s, size_t len, uint32_t *code)
{
    uint64_t h = hx_hash64(s, len);
    pthread_mutex_lock(&d->mu);
    int found, rc = HX_OK;
    uint32_t i = probe(d, s, len, h, &found);
    if (found) {
        *code = d->slots[i] - 1;
        goto done;
    }
    uint32_t c = d->n;
    if (c >= MAX_CODES) {
        rc = HX_ETOOBIG;
        goto done;
    }
    uint32_t a = c >> 20, b = (c >> 12) & 255;
    if (!d->dir[a] && !(d->dir[a] = calloc(256, sizeof *d->dir[a]))) {
        rc = HX_ENOMEM;
        goto done;
    }
    if (!d->dir[a][b]) {
        if (!(d->dir[a][b] = calloc(AN_DICT_PAGE, sizeof(an_dent_t)))) {
            rc = HX_ENOMEM;
            goto done;
        }
        d->bytes += AN_DICT_PAGE * sizeof(an_dent_t);
    }
    const char *p = store_str(d, s, len);
    if (!p) {
        rc = HX_ENOMEM;
        goto done;
    }
    an_dent_t *e = &d->dir[a][b][c & (AN_DICT_PAGE - 1)];
    e->s = p;
    e->len = (uint32_t)len;
    e->h = h;
    d->slots[i] = c + 1;
    __atomic_store_n(&d->n, c + 1, __ATOMIC_RELEASE);
    *code = c;
    if ((uint64_t)d->n * 2 > d->cap)
        rc = rehash(d);
done:
    pthread_mutex_unlock(&d->mu);
    return rc;
}
