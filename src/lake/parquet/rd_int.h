/* Private: the reader's state, shared by reader.c (footer, stats) and
 * rpage.c (page decoding). */
#ifndef HX_PQ_RD_INT_H
#define HX_PQ_RD_INT_H

#include "lake/parquet/pq_int.h"

struct hx_pq_reader {
    const unsigned char *data;
    size_t len;
    size_t footer_start;       /* pages live in [4, footer_start) */
    int mapped;
    pq_meta_t m;
    hx_pq_colinfo_t *cols;
    size_t ncols_done;
    char **kv_vals;            /* NUL-terminated copies of the footer values */
};

#endif
