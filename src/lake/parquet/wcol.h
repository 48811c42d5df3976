/* Private: one column's buffered row-group values, its dictionary and its
 * running statistics (writer side). */
#ifndef HX_PQ_WCOL_H
#define HX_PQ_WCOL_H

#include "lake/parquet/pq_int.h"

typedef struct pq_wcol {
    hx_pq_column_t def;          /* name owned */
    int phys;
    size_t rows;                 /* rows in the current row group */
    size_t nvals;                /* non-null values */
    size_t cap_rows, cap_vals, cap_idx;
    uint8_t *defs;               /* per row, optional columns only */
    int64_t *i64;                /* INT32/INT64/TIMESTAMP/BOOL values */
    double *f64;
    uint64_t *soff;              /* string value k is sdata[soff[k] .. soff[k+1]) */
    hx_buf_t sdata;
    /* Dictionary: live while dict_on; abandoned past the byte limit. */
    int dict_on;
    uint32_t *idx;               /* per value */
    uint32_t *slots;             /* open addressing: entry + 1, 0 = empty */
    size_t nslots, ndict, dict_cap;
    int64_t *dict_i;             /* entries by value (fixed types) */
    uint64_t *dict_off;          /* strings: entry k starts at soff of its first value */
    uint32_t *dict_len;
    size_t dict_bytes;
    /* Statistics. */
    int has_mm;
    int64_t imin, imax;
    double dmin, dmax;
    uint64_t smin_off, smax_off; /* string min/max in sdata (plain columns) */
    uint32_t smin_n, smax_n;
    int64_t nulls;
    size_t raw_bytes;
} pq_wcol_t;

int pq_wcol_init(pq_wcol_t *c, const hx_pq_column_t *def, int dictionary);
void pq_wcol_free(pq_wcol_t *c);
/* Forgets the row group's values (keeps capacity). */
void pq_wcol_reset(pq_wcol_t *c, int dictionary);
int pq_wcol_add(pq_wcol_t *c, const hx_pq_value_t *v, size_t dict_limit, hx_err_t *err);
/* Builds the chunk's dictionary (or gives it up); before pq_wcol_stats. */
int pq_wcol_build_dict(pq_wcol_t *c, size_t limit);
/* Fills the statistics of a finished chunk. */
void pq_wcol_stats(const pq_wcol_t *c, pq_chunk_t *ch);

#endif
