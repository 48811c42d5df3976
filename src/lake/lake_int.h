/* Private to src/lake: small helpers shared by the writer, scans, the
 * archiver and the jobs. */
#ifndef HX_LAKE_INT_H
#define HX_LAKE_INT_H

#include "helix/hx_error.h"

#include <stddef.h>

typedef struct pq_kv_pairs {
    char **keys, **vals;
    size_t n;
} pq_kv_pairs_t;

/* Sets key (copied) to value (copied), replacing an earlier value. */
int hx_lake_kv_set(pq_kv_pairs_t *kv, const char *key, const char *value);
void hx_lake_kv_free(pq_kv_pairs_t *kv);

/* mkdir -p. */
int hx_lake_mkdirs(const char *path, hx_err_t *err);

#endif
