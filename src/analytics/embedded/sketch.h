/* The quantile sketch behind quantile(q)(x) and the rollups' quantile
 * states: logarithmic buckets (DDSketch) with relative accuracy
 * HX_AN_QUANTILE_REL_ERROR. Mergeable exactly (bucket counts add), so a
 * quantile merged from hourly states equals the one built from the rows.
 *
 * Two forms share the bucketing: an_sketch_t (32-bit counts; one rollup
 * entry's state, kept small because there are many) and an_qacc_t (64-bit
 * counts; a query group's accumulator, which may gather billions). */
#ifndef HX_AN_SKETCH_H
#define HX_AN_SKETCH_H

#include "helix/hx_buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct an_bstore {
    int32_t lo;        /* index of counts[0] */
    uint32_t n, cap;   /* buckets in use / allocated */
    void *counts;      /* uint32_t (sketch) or uint64_t (accumulator) */
} an_bstore_t;

typedef struct an_sketch {
    uint64_t count;
    uint64_t zeros;
    an_bstore_t pos, neg; /* neg holds -x */
} an_sketch_t;

typedef an_sketch_t an_qacc_t; /* same fields, 64-bit counts */

void an_sketch_init(an_sketch_t *s);
void an_sketch_free(an_sketch_t *s);
void an_sketch_clear(an_sketch_t *s);      /* keeps memory */
int an_sketch_add(an_sketch_t *s, double v); /* HX_ENOMEM; NaN is ignored */
int an_sketch_add_n(an_sketch_t *s, double v, uint64_t n);
int an_sketch_merge(an_sketch_t *dst, const an_sketch_t *src);
/* The estimate of the value at rank floor(q * (count - 1)); 0 when empty. */
double an_sketch_quantile(const an_sketch_t *s, double q);
size_t an_sketch_bytes(const an_sketch_t *s);
int an_sketch_encode(const an_sketch_t *s, hx_buf_t *out);
int an_sketch_decode(an_sketch_t *s, hx_rd_t *r);   /* HX_ECORRUPT */

void an_qacc_init(an_qacc_t *a);
void an_qacc_free(an_qacc_t *a);
int an_qacc_add(an_qacc_t *a, double v);
int an_qacc_merge(an_qacc_t *a, const an_sketch_t *s);
double an_qacc_quantile(const an_qacc_t *a, double q);

/* Bucket index of |v| > 0 (exposed for tests). */
int32_t an_sketch_index(double absv);

#endif
