/* Private to src/lake/parquet: footer and page-header structures, the
 * RLE/bit-packed hybrid, and the page codecs. Field numbers follow
 * parquet.thrift. */
#ifndef HX_PQ_INT_H
#define HX_PQ_INT_H

#include "helix/hx_buf.h"
#include "helix/hx_error.h"
#include "helix/hx_parquet.h"

#include <stddef.h>
#include <stdint.h>

/* Physical types, encodings, page types, repetition (parquet.thrift). */
enum { PT_BOOLEAN = 0, PT_INT32 = 1, PT_INT64 = 2, PT_INT96 = 3, PT_FLOAT = 4, PT_DOUBLE = 5,
       PT_BYTE_ARRAY = 6, PT_FIXED = 7 };
enum { ENC_PLAIN = 0, ENC_PLAIN_DICT = 2, ENC_RLE = 3, ENC_BIT_PACKED = 4, ENC_DELTA_BP = 5,
       ENC_DELTA_LBA = 6, ENC_DELTA_BA = 7, ENC_RLE_DICT = 8, ENC_BSS = 9 };
enum { PAGE_DATA = 0, PAGE_INDEX = 1, PAGE_DICT = 2, PAGE_DATA_V2 = 3 };
enum { REP_REQUIRED = 0, REP_OPTIONAL = 1, REP_REPEATED = 2 };
/* Converted types we look at. */
enum { CT_UTF8 = 0, CT_ENUM = 4, CT_DATE = 6, CT_TIMESTAMP_MILLIS = 9, CT_TIMESTAMP_MICROS = 10, CT_INT_32 = 17,
       CT_INT_64 = 18, CT_JSON = 19 };
/* LogicalType union members we look at. */
enum { LT_NONE = 0, LT_STRING = 1, LT_ENUM = 4, LT_DATE = 6, LT_TIMESTAMP = 8, LT_INTEGER = 10, LT_JSON = 12 };

#define PQ_STAT_MAX 64   /* longest string statistic the writer stores */
#define PQ_MAX_PAGE (1u << 30)

typedef struct pq_schema_el {
    const unsigned char *name;
    size_t name_n;
    int type;             /* -1 for a group */
    int32_t type_length;
    int repetition;       /* -1 absent */
    int32_t num_children;
    int converted;        /* -1 absent */
    int logical;          /* LT_* */
    int ts_unit;          /* hx_pq_time_unit_t */
    int ts_utc;
} pq_schema_el_t;

typedef struct pq_chunk {
    int type;
    int codec;
    int64_t num_values, total_uncompressed, total_compressed;
    int64_t data_page_offset, dict_page_offset;   /* dict: -1 none */
    unsigned enc_mask;                           /* 1u << ENC_* */
    int has_min, has_max, has_nulls;
    int64_t null_count;
    const unsigned char *min, *max;              /* reader: into the footer */
    size_t min_n, max_n;
    int stats_legacy;                            /* min/max came from fields 1/2 */
    unsigned char minb[PQ_STAT_MAX], maxb[PQ_STAT_MAX];   /* writer's own copies */
} pq_chunk_t;

typedef struct pq_rowgroup {
    int64_t num_rows;
    int64_t total_byte_size;
    pq_chunk_t *chunks;    /* one per leaf column */
} pq_rowgroup_t;

typedef struct pq_kv {
    const unsigned char *key, *val;
    size_t key_n, val_n;
    int has_val;
} pq_kv_t;

typedef struct pq_meta {
    int32_t version;
    int64_t num_rows;
    pq_schema_el_t *schema;
    size_t nschema;
    pq_rowgroup_t *rgs;
    size_t nrg;
    size_t ncols;          /* leaves */
    pq_kv_t *kvs;
    size_t nkv;
} pq_meta_t;

/* Parses a footer; the result borrows from p. */
int pq_meta_decode(const unsigned char *p, size_t len, pq_meta_t *m, hx_err_t *err);
void pq_meta_free(pq_meta_t *m);

typedef struct pq_kv_own {
    char *key, *val;
} pq_kv_own_t;

/* Writer side: the footer for a flat schema. */
typedef struct pq_footer_in {
    const hx_pq_column_t *cols;
    size_t ncols;
    const pq_rowgroup_t *rgs;
    size_t nrg;
    int64_t num_rows;
    const pq_kv_own_t *kvs;
    size_t nkv;
} pq_footer_in_t;
int pq_footer_encode(const pq_footer_in_t *in, hx_buf_t *out);

typedef struct pq_page_hdr {
    int type;
    int32_t uncompressed, compressed;
    int32_t num_values;
    int encoding;
    int32_t num_nulls, num_rows, def_len, rep_len;   /* v2 */
    int is_compressed;                               /* v2, default 1 */
} pq_page_hdr_t;

/* Decodes a page header at p; *used = its length. */
int pq_page_hdr_decode(const unsigned char *p, size_t len, pq_page_hdr_t *h, size_t *used, hx_err_t *err);
int pq_page_hdr_encode(const pq_page_hdr_t *h, hx_buf_t *out);

/* RLE/bit-packed hybrid over values of bit width w (0..32), no length prefix. */
int pq_rle_encode(const uint32_t *v, size_t n, int w, hx_buf_t *out);
/* Decodes exactly n values; HX_ECORRUPT if the input runs out or a value
 * does not fit. */
int pq_rle_decode(const unsigned char *p, size_t len, int w, uint32_t *out, size_t n);
int pq_bit_width(uint32_t max);
/* ULEB128 at p[*pos]; *ok = 0 when it runs past len or over 64 bits. */
uint64_t pq_uvar(const unsigned char *p, size_t len, size_t *pos, int *ok);

/* Page codecs. compress appends to out; decompress needs the exact size. */
int pq_compress(int codec, int zstd_level, const void *in, size_t n, hx_buf_t *out, void **zctx, hx_err_t *err);
int pq_decompress(int codec, const void *in, size_t n, void *out, size_t out_n, hx_err_t *err);


#endif
