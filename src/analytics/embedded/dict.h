/* The store-wide dictionary of one low-cardinality column: string <-> code.
 * Codes are dense from 0 and never change, so columns of every part hold
 * codes that group and compare across parts without translation. Parts on
 * disk keep their own sorted dictionary (local codes) and are remapped to
 * these codes when loaded.
 *
 * Interning takes a mutex; reading a code's string takes none: entries are
 * published before any column that holds their code. */
#ifndef HX_AN_DICT_H
#define HX_AN_DICT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define AN_DICT_PAGE 4096
#define AN_DICT_DIR 256

typedef struct an_dent {
    const char *s;  /* NUL-terminated */
    uint32_t len;
    uint64_t h;
} an_dent_t;

typedef struct an_dict {
    pthread_mutex_t mu;
    uint32_t n;                            /* entries; read with an acquire load */
    an_dent_t **dir[AN_DICT_DIR];          /* dir[a][b][c]: code = a<<20 | b<<12 | c */
    uint32_t *slots;                       /* open addressing: code + 1, 0 = empty */
    uint32_t cap;
    char *block;                           /* current string block */
    size_t block_used, block_cap;
    char **blocks;
    size_t nblocks, blocks_cap;
    size_t bytes;
} an_dict_t;

int an_dict_init(an_dict_t *d);
void an_dict_free(an_dict_t *d);
/* Code of s, added when new. HX_ENOMEM, HX_ETOOBIG past 2^28 entries. */
int an_dict_intern(an_dict_t *d, const char *s, size_t len, uint32_t *code);
/* Code of s if present: 0, else HX_ENOTFOUND. */
int an_dict_find(an_dict_t *d, const char *s, size_t len, uint32_t *code);
static inline uint32_t an_dict_size(const an_dict_t *d)
{
    return __atomic_load_n(&d->n, __ATOMIC_ACQUIRE);
}
static inline const an_dent_t *an_dict_get(const an_dict_t *d, uint32_t code)
{
    return &d->dir[code >> 20][(code >> 12) & 255][code & (AN_DICT_PAGE - 1)];
}

#endif
