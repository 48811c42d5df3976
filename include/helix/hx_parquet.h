/* Parquet files: our own writer and reader (Debian 12 packages no Parquet or
 * Arrow library). Flat schemas only (no nested or repeated columns), which is
 * what every Helix dataset is.
 *
 * Writer: format version 2 footer (Thrift compact protocol), data pages v1
 * with PLAIN or RLE_DICTIONARY values (a dictionary page per column chunk,
 * falling back to PLAIN when the dictionary outgrows its limit), RLE/bit-packed
 * definition levels for optional columns, chunk statistics (min, max,
 * null_count), codecs none/snappy/zstd, key-value metadata. The file appears
 * atomically: it is written as ".NAME.tmp" beside the target, fsynced, renamed
 * and the directory fsynced by hx_pq_writer_close(); hx_pq_writer_abort() (or
 * a crash) leaves no visible file.
 *
 * Reader: files from any writer using flat schemas and the encodings PLAIN,
 * PLAIN_DICTIONARY/RLE_DICTIONARY, RLE (booleans), DELTA_BINARY_PACKED,
 * DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT, data pages
 * v1 and v2, codecs none/snappy/zstd. Column projection (only the asked
 * columns are decoded) and row-group pruning by chunk statistics.
 *
 * Ownership: a writer or reader owns everything it allocates; a batch owns
 * its vectors until hx_pq_batch_free(). Strings handed to the writer are
 * copied. Values in a batch borrow nothing from the reader. */
#ifndef HX_PARQUET_H
#define HX_PARQUET_H

#include "helix/hx_error.h"

#include <stddef.h>
#include <stdint.h>

/* Logical column types. INT32 and INT64 keep their physical width in the
 * file; in a batch every integer is an int64. */
typedef enum {
    HX_PQ_BOOL = 0,
    HX_PQ_INT32,
    HX_PQ_INT64,
    HX_PQ_DOUBLE,
    HX_PQ_STRING,      /* BYTE_ARRAY, STRING logical type (UTF-8) */
    HX_PQ_TIMESTAMP,   /* INT64 TIMESTAMP; the writer writes MILLIS, UTC */
    HX_PQ_FLOAT,       /* read only: FLOAT, widened to double in a batch */
    HX_PQ_BINARY,      /* read only: BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY without STRING */
    HX_PQ_DATE,        /* read only: INT32 DATE, days since 1970-01-01 */
} hx_pq_type_t;

typedef enum { HX_PQ_NONE = 0, HX_PQ_SNAPPY = 1, HX_PQ_ZSTD = 6 } hx_pq_codec_t;

typedef enum { HX_PQ_MILLIS = 0, HX_PQ_MICROS, HX_PQ_NANOS } hx_pq_time_unit_t;

typedef struct hx_pq_column {
    const char *name;
    hx_pq_type_t type;
    int optional;      /* 1 = may hold nulls */
} hx_pq_column_t;

typedef struct hx_pq_write_opts {
    hx_pq_codec_t codec;
    int zstd_level;              /* 0 = 3 */
    size_t row_group_bytes;      /* buffered raw bytes before a row group is cut; 0 = 128 MiB */
    size_t page_bytes;           /* raw bytes per data page; 0 = 1 MiB */
    size_t dictionary_bytes;     /* a column's dictionary limit per row group; 0 = 1 MiB */
    int no_dictionary;           /* 1 = PLAIN only */
    int no_fsync;                /* benches and tests only: skip fsyncs */
} hx_pq_write_opts_t;

/* One cell. For strings `s`/`n` are borrowed for the call only. */
typedef struct hx_pq_value {
    int is_null;
    union {
        int64_t i;   /* INT32, INT64, TIMESTAMP (ms), BOOL (0/1) */
        double d;
        struct {
            const char *s;
            size_t n;
        } str;
    } v;
} hx_pq_value_t;

typedef struct hx_pq_writer hx_pq_writer_t;

/* Opens path for writing (through the hidden temp file). cols is copied. */
int hx_pq_writer_open(const char *path, const hx_pq_column_t *cols, size_t ncols, const hx_pq_write_opts_t *o,
                      hx_pq_writer_t **out, hx_err_t *err);
/* Adds a footer key-value pair (both copied); later pairs with the same key win. */
int hx_pq_writer_set_kv(hx_pq_writer_t *w, const char *key, const char *value, hx_err_t *err);
/* Appends one row of ncols values, in schema order. A null in a required
 * column or a string that is not UTF-8 is HX_EINVAL and leaves the row out. */
int hx_pq_writer_write_row(hx_pq_writer_t *w, const hx_pq_value_t *row, hx_err_t *err);
int64_t hx_pq_writer_rows(const hx_pq_writer_t *w);
/* Bytes written to the file so far plus the estimate of what is buffered. */
int64_t hx_pq_writer_bytes(const hx_pq_writer_t *w);
/* Flushes, writes the footer, makes the file visible, frees w. On failure the
 * temp file is removed and w is freed all the same. */
int hx_pq_writer_close(hx_pq_writer_t *w, hx_err_t *err);
/* Drops everything written; no file stays. NULL is a no-op. */
void hx_pq_writer_abort(hx_pq_writer_t *w);
/* Two-phase close for writers that publish several files as one unit (the
 * archiver): the complete, fsynced file stays at *tmp_path (hidden) and
 * hx_pq_publish() renames it to *final_path later. Both strings are the
 * caller's to free; w is freed in every case. */
int hx_pq_writer_close_staged(hx_pq_writer_t *w, char **tmp_path, char **final_path, hx_err_t *err);
int hx_pq_publish(const char *tmp_path, const char *final_path, int no_fsync, hx_err_t *err);

/* ---- reader ---- */

typedef struct hx_pq_reader hx_pq_reader_t;

typedef struct hx_pq_colinfo {
    char *name;
    hx_pq_type_t type;
    int optional;
    int physical;                /* parquet physical type number */
    hx_pq_time_unit_t unit;      /* for TIMESTAMP */
    int utc;                     /* TIMESTAMP isAdjustedToUTC */
} hx_pq_colinfo_t;

/* Chunk statistics as the reader found them. has_minmax says min/max are
 * valid; for strings smin/smax point into the reader's footer. */
typedef struct hx_pq_stats {
    int has_minmax;
    int has_nulls_count;
    int64_t null_count;
    int64_t imin, imax;
    double dmin, dmax;
    const unsigned char *smin, *smax;
    size_t smin_n, smax_n;
} hx_pq_stats_t;

/* Decoded column vector of one row group. Every row has a slot; valid[i] is 0
 * for a null. Strings: bytes of row i are data[off[i] .. off[i+1]). */
typedef struct hx_pq_vec {
    hx_pq_type_t type;
    size_t n;
    uint8_t *valid;
    int64_t *i64;                /* BOOL, INT32, INT64, TIMESTAMP */
    double *f64;                 /* DOUBLE, FLOAT */
    uint64_t *off;               /* STRING, BINARY: n + 1 offsets */
    unsigned char *data;
} hx_pq_vec_t;

typedef struct hx_pq_batch {
    size_t nrows;
    size_t ncols;
    int *cols;                   /* file column index of each vector */
    hx_pq_vec_t *vecs;
} hx_pq_batch_t;

/* Opens a file (mapped read-only) or a memory image (borrowed; must outlive r). */
int hx_pq_reader_open(const char *path, hx_pq_reader_t **out, hx_err_t *err);
int hx_pq_reader_open_mem(const void *data, size_t len, hx_pq_reader_t **out, hx_err_t *err);
void hx_pq_reader_close(hx_pq_reader_t *r);

size_t hx_pq_reader_ncols(const hx_pq_reader_t *r);
const hx_pq_colinfo_t *hx_pq_reader_col(const hx_pq_reader_t *r, size_t i);
/* Column index by name, or -1. */
int hx_pq_reader_find(const hx_pq_reader_t *r, const char *name);
int64_t hx_pq_reader_nrows(const hx_pq_reader_t *r);
size_t hx_pq_reader_nrowgroups(const hx_pq_reader_t *r);
int64_t hx_pq_reader_rowgroup_rows(const hx_pq_reader_t *r, size_t rg);
/* Footer key-value metadata; NULL when absent. Borrowed from r. */
const char *hx_pq_reader_kv(const hx_pq_reader_t *r, const char *key);
/* Codec of a column chunk (parquet codec number). */
int hx_pq_reader_codec(const hx_pq_reader_t *r, size_t rg, size_t col);
int hx_pq_reader_stats(const hx_pq_reader_t *r, size_t rg, size_t col, hx_pq_stats_t *st);

/* Decodes row group rg for the columns cols[0..ncols) (NULL = all) into b,
 * which the caller frees with hx_pq_batch_free (also after a failure). */
int hx_pq_read_rowgroup(hx_pq_reader_t *r, size_t rg, const int *cols, size_t ncols, hx_pq_batch_t *b,
                        hx_err_t *err);
void hx_pq_batch_free(hx_pq_batch_t *b);

/* ---- predicates for pruning ---- */

typedef enum { HX_PQ_EQ, HX_PQ_NE, HX_PQ_LT, HX_PQ_LE, HX_PQ_GT, HX_PQ_GE } hx_pq_op_t;

typedef struct hx_pq_pred {
    int col;                     /* file column index */
    hx_pq_op_t op;
    int64_t i;                   /* integer/bool/timestamp operand (in the column's unit) */
    double d;                    /* double operand */
    const char *s;               /* string operand */
    size_t n;
} hx_pq_pred_t;

/* 1 when the row group's statistics show no row can satisfy every predicate
 * (safe: unknown statistics never prune). */
int hx_pq_rowgroup_pruned(const hx_pq_reader_t *r, size_t rg, const hx_pq_pred_t *preds, size_t npreds);
/* Whether row i of vec satisfies pred (a null satisfies nothing). */
int hx_pq_pred_match(const hx_pq_pred_t *p, const hx_pq_vec_t *v, size_t i);

const char *hx_pq_codec_name(int codec);
/* "none" | "snappy" | "zstd" -> codec; HX_EINVAL otherwise. */
int hx_pq_codec_parse(const char *s, hx_pq_codec_t *out, hx_err_t *err);

#endif
