/* Private to the embedded executor: vectors of one batch, compiled
 * expression slots, group tables and aggregate states.
 *
 * A query runs over sources: the snapshot's parts (granule by granule, pruned
 * with min/max) or a rollup's entries. Each batch (<= XB rows) evaluates the
 * WHERE into a selection, then either groups and updates aggregate states, or
 * collects output rows. Both sources present the same columns (a rollup's
 * timestamp is its bucket start), so one evaluator serves both; aggregates
 * read rows or, on a rollup, the matching states. */
#ifndef HX_AN_EXEC_H
#define HX_AN_EXEC_H

#include "analytics/embedded/emb.h"
#include "analytics/sql/scalar.h"

#define XB 8192

enum { XV_I = 0, XV_F, XV_CODE, XV_STR };

/* A vector of one batch: column data (borrowed) or a slot's buffer. */
typedef struct xv {
    int kind;
    int is_const;
    const int64_t *i;
    const double *f;
    const uint32_t *code;
    const uint32_t *off;
    const char *str;
    int64_t ci;
    double cf;
    const char *cs;
    size_t clen;
    const an_dict_t *dict;   /* XV_CODE */
} xv_t;

/* A scalar value (post-aggregation, output rows). */
typedef struct xs {
    int kind;                /* XV_I, XV_F, XV_STR; null flag below */
    int null;
    int64_t i;
    double f;
    const char *s;
    size_t len;
} xs_t;

/* Per expression node: its output buffer and per-query caches. */
typedef struct xslot {
    const hx_sql_expr_t *e;
    int64_t *bi;
    double *bf;
    uint64_t seen;           /* batch number the value below is for */
    xv_t val;
    uint8_t *bm;             /* string predicate over dictionary codes: 1 = match */
    uint32_t bm_n;
    int bm_done;
    int64_t code_eq;         /* col = 'const' on a dictionary column: the code, -1 absent */
} xslot_t;

typedef struct xsrc xsrc_t;

typedef struct xctx {
    an_store_t *st;
    an_table_t *t;
    hx_sql_query_t *q;
    const hx_an_exec_opts_t *o;
    hx_err_t *err;
    xslot_t *slots;
    size_t nslots, cap;
    uint64_t batch;          /* batch counter for slot caches */
    /* the current batch */
    size_t n;
    const an_vec_t *cols;    /* column vectors of the current source, offset by base */
    size_t base;
    const an_rollup_t *ru;   /* rollup source */
    uint32_t *sel;           /* selected rows of the batch */
    size_t nsel;
    uint64_t rows_read;
    uint32_t tenant_code;    /* -1 when the tenant has no rows at all */
    int tenant_known;
    int rollup_mode;
} xctx_t;

/* ---- evaluation (exec_eval.c) ---- */
int xc_slot(xctx_t *x, const hx_sql_expr_t *e);
int xc_eval(xctx_t *x, const hx_sql_expr_t *e, xv_t *out);
/* The WHERE of the current batch (plus the tenant) as x->sel. */
int xc_select(xctx_t *x);
/* Scalar evaluation of one row r of the current batch. */
void xc_row_value(const xv_t *v, size_t r, xs_t *out);
/* Post-aggregation: leaves (group keys and aggregates) come from the lookup. */
typedef int (*xc_leaf_fn)(void *ctx, const hx_sql_expr_t *e, xs_t *out);
void xc_scalar(const hx_sql_expr_t *e, xc_leaf_fn leaf, void *ctx, xs_t *out);
int xs_compare(const xs_t *a, const xs_t *b);

/* ---- grouping (exec_group.c) ---- */
typedef struct xagg {
    const hx_sql_expr_t *e;
    int agg;
    int rollup_m[2];
    int arg_float;           /* the argument (or state) is Float64 */
    /* states, per group */
    uint64_t *cnt;
    int64_t *si;
    double *sf;
    uint8_t *has;
    xs_t *best;              /* min/max of strings */
    an_qacc_t *sk;
    const an_sketch_t **one;  /* rollup: a group's only state so far, read in place */
    struct xset *sets;
} xagg_t;

typedef struct xgroups {
    int nkeys;
    const hx_sql_expr_t *keys[32];
    int key_kind[32];
    size_t n, cap;
    uint64_t *kv;            /* n * nkeys */
    uint32_t *slots;         /* hash: group + 1 */
    size_t scap;
    uint32_t *direct;        /* one dictionary key: code -> group + 1 */
    uint32_t direct_n;
    xagg_t *aggs;
    int naggs;
    /* strings of STR keys, interned per query */
    char **strs;
    uint32_t *slen;
    size_t nstr, strcap;
    uint32_t *sslots;
    size_t sscap;
    const an_dict_t *key_dict[32];
} xgroups_t;

int xg_init(xctx_t *x, xgroups_t *g);
void xg_free(xgroups_t *g);
/* Groups the selected rows of the current batch and updates the aggregates. */
int xg_consume(xctx_t *x, xgroups_t *g);
/* Value of key k of group i, and of an aggregate. */
void xg_key_value(const xgroups_t *g, size_t i, int k, xs_t *out);
void xg_agg_value(const xgroups_t *g, int a, size_t i, xs_t *out);

#endif
