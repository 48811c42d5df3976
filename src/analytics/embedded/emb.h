/* Private to the embedded analytics store (src/analytics/embedded).
 *
 * Layout on disk, under the store directory:
 *   LOCK                       flock: one process owns the store
 *   MANIFEST                   the committed state: every table's parts and the
 *                              ingest offsets, replaced atomically per commit
 *   <table>/<YYYYMM>_<id>_<level>/{data.bin,meta.bin}   one immutable part
 *   <table>/tmp_*              a part being written (removed at open)
 * A part holds rows of one partition (toYYYYMM(timestamp)) sorted by the
 * table's ORDER BY; data.bin holds every column's compressed granules,
 * meta.bin the granule index (per granule and column: min, max, location,
 * CRC), the part's sorted dictionaries of low-cardinality columns and the
 * part's rollup states. A part is visible once the MANIFEST names it, so a
 * crash at any point leaves either the old or the new state: parts not in
 * the MANIFEST are leftovers and removed, and ingest offsets (in the MANIFEST)
 * move in the same atomic rename as the parts that hold those rows.
 *
 * In memory: inserted rows first form immutable mem parts (columns as
 * vectors, visible at once), flushed to disk parts in the background. Every
 * low-cardinality column has one store-wide dictionary (dict.h), so columns
 * in memory hold codes that compare and group across parts. */
#ifndef HX_AN_EMB_H
#define HX_AN_EMB_H

#include "analytics/backend.h"
#include "analytics/embedded/dict.h"
#include "analytics/embedded/sketch.h"
#include "helix/hx_metrics.h"

#include <pthread.h>
#include <stdint.h>

/* One column of a part as vectors. LC strings hold store dictionary codes. */
typedef struct an_vec {
    int64_t *i;
    double *f;
    uint32_t *code;
    uint32_t *off;   /* plain strings: rows + 1 offsets into str */
    char *str;
} an_vec_t;

typedef union an_val {
    int64_t i;
    double f;
} an_val_t;

typedef struct an_stat {
    an_val_t lo, hi;
} an_stat_t;

typedef struct an_loc {
    uint64_t off;
    uint32_t clen, rlen, crc;
} an_loc_t;

/* A disk part's dictionary of one LC column: strings in sorted order (the
 * local code is the index) and their store codes. */
typedef struct an_pdict {
    uint32_t n;
    uint32_t *to_store;
    const char **s;  /* point into the store dictionary */
    uint32_t *len;
} an_pdict_t;

typedef struct an_cached an_cached_t;
typedef struct an_table an_table_t;
typedef struct an_store an_store_t;

typedef struct an_part {
    int refs;                      /* atomic; the table's list holds one */
    an_table_t *tab;
    uint64_t id;
    int level;
    int64_t partition;             /* YYYYMM; -1 for mem parts (any) */
    char name[48];
    int mem;
    int sorted;                    /* rows in ORDER BY order (every disk part; mem parts once sorted) */
    int doomed;                    /* replaced: files removed with the last reference */
    size_t rows, ngran;
    uint32_t gran_rows;
    int64_t min_ts, max_ts;
    an_stat_t *stats;              /* ngran * ncols */
    int local_codes;               /* LC stats are local codes (disk parts) */
    uint8_t codec;                 /* of data.bin */
    an_pdict_t pd[HX_AN_MAX_COLS]; /* disk parts */
    an_loc_t *loc;                 /* disk parts: ngran * ncols */
    an_cached_t *cached[HX_AN_MAX_COLS]; /* disk parts, under the cache mutex */
    an_vec_t v[HX_AN_MAX_COLS];    /* mem parts: owned columns */
    uint64_t bytes_disk, bytes_mem;
    uint64_t created_ms;
    struct an_rollup *pending_rollup; /* a new part's rollup states until committed (owned) */
} an_part_t;

/* ---- rollups ---- */
typedef struct an_rollup {
    const hx_an_rollup_def_t *def;
    hx_an_rollup_def_t ldef;       /* levels: the base with a larger bucket / fewer dims */
    size_t n, cap;
    uint32_t *tenant;
    int64_t *t;
    uint32_t *dim[HX_AN_ROLLUP_MAX_DIMS];
    int64_t *mi[HX_AN_ROLLUP_MAX_MEASURES];
    double *mf[HX_AN_ROLLUP_MAX_MEASURES];
    an_sketch_t *ms[HX_AN_ROLLUP_MAX_MEASURES];
    uint32_t *slots;
    uint32_t scap;
} an_rollup_t;

int an_rollup_init(an_rollup_t *r, const hx_an_rollup_def_t *def);
/* A coarser level of base: time rounded to bucket_s, only its first ndims
 * dims. r must not move afterwards (r->def points into it). */
int an_rollup_init_level(an_rollup_t *r, const hx_an_rollup_def_t *base, int64_t bucket_s, int ndims);
/* Merges every entry of src (same measures, finer) into the coarser dst. */
int an_rollup_derive(an_rollup_t *dst, const an_rollup_t *src);
void an_rollup_free(an_rollup_t *r);
/* Adds rows [from, to) of the columns cols (store codes) into r. */
int an_rollup_add_rows(an_rollup_t *r, const an_vec_t *cols, size_t from, size_t to);
int an_rollup_merge(an_rollup_t *dst, const an_rollup_t *src);
/* Drops entries whose bucket starts before cutoff. */
int an_rollup_expire(an_rollup_t *r, int64_t cutoff);
size_t an_rollup_bytes(const an_rollup_t *r);
/* Serialized with tenant/dim codes mapped by map (store code -> local code)
 * per column; decode maps back with the part's dictionaries. */
int an_rollup_encode(const an_rollup_t *r, uint32_t *const *to_local, hx_buf_t *out);
int an_rollup_decode(an_rollup_t *r, hx_rd_t *rd, const an_pdict_t *pd);
/* Whether a measure is stored as int64 (else double / sketch). */
int an_measure_is_int(const hx_an_rollup_def_t *def, int m);

/* ---- the decompressed column cache ---- */
struct an_cached {
    an_vec_t v;
    size_t bytes;
    int pins;
    an_part_t *part;
    int col;
    an_cached_t *prev, *next;
};

typedef struct an_cache {
    pthread_mutex_t mu;
    an_cached_t *head, *tail;      /* most recently used first */
    uint64_t bytes, budget;
} an_cache_t;

/* ---- tables and the store ---- */
struct an_table {
    an_store_t *st;
    const hx_an_table_def_t *def;
    pthread_rwlock_t lock;         /* parts and rollup */
    an_part_t **parts;
    size_t nparts, cap;
    an_dict_t dict[HX_AN_MAX_COLS];
    an_rollup_t *rollup;           /* the base level (lv[0]); NULL for debate_participants */
    an_rollup_t *lv;               /* levels: lv[0] the rollup as defined, then coarser ones */
    int nlv;
    int ttl_days;
    uint64_t merges, rows_expired, rows_inserted;
    int merging;                   /* a merge of this table is being built */
};

struct an_store {
    hx_config_t cfg;
    char dir[HX_CFG_STR + 16];
    int lock_fd;
    int fsync;
    an_table_t tabs[HX_AN_NTABLES];
    pthread_mutex_t commit_mu;     /* MANIFEST writes and disk part list changes */
    hx_an_offsets_t offsets;
    uint64_t next_id, manifest_seq;
    an_cache_t cache;
    pthread_t maint;
    int maint_started;
    pthread_mutex_t maint_mu;
    pthread_cond_t maint_cv;
    int stop, flush_req;
    pthread_mutex_t flush_mu;      /* one flush at a time */
    pthread_mutex_t merge_mu;      /* one merge / TTL run at a time */
    hx_metrics_t *metrics;
    int64_t now_override;          /* maintain(now_s) */
    char health_detail[256];
    int health_rc;
};

/* ---- parts (part.c) ---- */
void an_part_ref(an_part_t *p);
void an_part_unref(an_part_t *p);
/* A mem part from a batch (LC strings interned). Rows older than cutoff (TTL)
 * are dropped; *dropped counts them. NULL part when nothing is left. sort:
 * put the rows in ORDER BY order now (inserts: the inserting thread does it
 * and the flush merges sorted runs); without it the part is only a source
 * for one build (ingest), which sorts once. */
int an_mempart_from_batch(an_table_t *t, const hx_an_batch_t *b, int64_t cutoff, int sort, an_part_t **out,
                          size_t *dropped, hx_err_t *err);
/* Sorts a mem part's rows into ORDER BY order, so flushes merge sorted runs. */
int an_part_sort(an_part_t *p);
/* Granule statistics of a part whose v[] is filled (mem or being built). */
int an_part_compute_stats(an_part_t *p, int local);
an_part_t *an_part_new(an_table_t *t);
void an_vec_free(an_vec_t *v);
size_t an_vec_bytes(const hx_an_column_def_t *c, const an_vec_t *v, size_t rows);

/* Column access for queries and merges: the vector of column c, pinned until
 * an_part_unpin (mem parts need no pin). HX_EIO / HX_ECORRUPT when the part's
 * file cannot be read. */
int an_part_column(an_part_t *p, int c, const an_vec_t **out, hx_err_t *err);
void an_part_unpin(an_part_t *p, int c);

/* ---- building and writing parts (part_io.c) ---- */
/* Sources: parts (mem or disk) whose rows of partition (any when -1) and not
 * older than cutoff are combined, sorted and written as one part of level.
 * NULL *out (and 0) when no row qualifies. The new part's columns stay
 * cached. The part is not yet in the MANIFEST. */
int an_part_build(an_table_t *t, an_part_t *const *src, size_t nsrc, int64_t partition, int64_t cutoff, int level,
                  an_part_t **out, hx_err_t *err);
/* Loads a committed part's metadata (not its columns); its rollup states
 * are merged into rollup when not NULL. */
int an_part_open(an_table_t *t, const char *name, an_rollup_t *rollup, an_part_t **out, hx_err_t *err);
/* Writes a built part's files (tmp dir, fsync, rename, fsync dir). */
int an_part_write(an_part_t *p, hx_err_t *err);
/* Removes a part's directory. */
void an_part_remove_files(an_part_t *p);
/* Partitions present in a set of parts' rows (sorted, unique). */
int an_partitions_of(an_part_t *const *src, size_t nsrc, int64_t **out, size_t *n, hx_err_t *err);
int an_cache_init(an_cache_t *c, uint64_t budget);
void an_cache_free(an_cache_t *c);
void an_cache_drop_part(an_cache_t *c, an_part_t *p);
/* Hands a new part's column to the cache (v is moved; not pinned). */
int an_cache_put(an_cache_t *c, an_part_t *p, int col, an_vec_t *v, size_t bytes);
/* Reads and decompresses one column of a disk part (store codes for LC). */
int an_part_load_column(an_part_t *p, int c, an_vec_t *out, size_t *bytes, hx_err_t *err);

/* ---- the manifest (manifest.c) ---- */
typedef struct an_change {
    an_table_t *t;
    an_part_t **add;
    size_t nadd;
    an_part_t **remove;
    size_t nremove;
} an_change_t;
/* Writes the MANIFEST with the changes applied and, once it is durable,
 * applies them in memory (added parts' rollups merged when merge_rollup);
 * offsets (may be NULL) replace the ingest offsets. Caller holds commit_mu. */
int an_commit(an_store_t *s, an_change_t *ch, size_t nch, const hx_an_offsets_t *offsets, int merge_rollup,
              hx_err_t *err);
/* Reads the MANIFEST and opens every part it names; removes the rest. */
int an_recover(an_store_t *s, hx_err_t *err);

/* ---- maintenance (merge.c) ---- */
int an_flush_mem(an_store_t *s, hx_err_t *err);
/* TTL, then one merge if one is due (all: any two or more parts of a
 * partition, for hx_analytics_maintain). Caller holds merge_mu. */
int an_maintain_once(an_store_t *s, int64_t now_s, int all, int *did, hx_err_t *err);
int64_t an_ttl_cutoff(const an_table_t *t, int64_t now_s);
int an_partition_of(int64_t ts);

/* ---- queries (exec*.c) ---- */
int an_exec(an_store_t *s, hx_sql_query_t *q, const hx_an_exec_opts_t *o, hx_an_result_t *out, hx_err_t *err);

/* ---- misc ---- */
int an_compress(const char *codec, const void *src, size_t n, hx_buf_t *out, hx_err_t *err);
int an_decompress(int codec, const void *src, size_t n, void *dst, size_t rlen);
int an_codec_id(const char *codec);

#endif
