/* Internal structures shared by the files of src/log. Not a public API.
 *
 * Lock order (never acquire leftwards while holding rightwards):
 *   log->topics_lock (rw) -> part->maint_mu -> part->append_mu -> part->meta_mu
 * meta_mu is only ever held for short, syscall-free sections (except the
 * cheap index lookups); fsync and file I/O happen outside it, on segments
 * pinned with a reference. */
#ifndef HX_LOG_INTERNAL_H
#define HX_LOG_INTERNAL_H

#include "helix/hx_buf.h"
#include "helix/hx_fs.h"
#include "helix/hx_log.h"

#include <pthread.h>
#include <stdatomic.h>

#define HX_LOG_COMP "log"

/* ---- batch.c ------------------------------------------------------------ */

#define HX_BATCH_MAGIC 0x31425848u /* "HXB1" on disk */
#define HX_BATCH_HDR 52
#define HX_BATCH_MAX_STORED (1u << 30)

typedef struct hx_batch_hdr {
    uint32_t stored_len;   /* payload bytes after the header */
    uint32_t raw_len;      /* payload bytes once decompressed */
    int64_t base;          /* offset of the batch's first slot */
    uint32_t last_delta;   /* base + last_delta = last offset the batch covers */
    uint32_t count;        /* records actually present (< last_delta+1 after compaction) */
    int64_t first_ts;      /* timestamp deltas are relative to this */
    int64_t max_ts;
    uint8_t codec;         /* codec of this batch's payload (may be NONE if compression did not help) */
    uint32_t crc;          /* CRC32C over header bytes [0,48) + payload */
} hx_batch_hdr_t;

static inline int64_t hx_batch_next(const hx_batch_hdr_t *h) { return h->base + (int64_t)h->last_delta + 1; }
static inline size_t hx_batch_size(const hx_batch_hdr_t *h) { return HX_BATCH_HDR + (size_t)h->stored_len; }

/* Structural checks only (magic, lengths, codec); HX_ECORRUPT otherwise. */
int hx_batch_hdr_decode(const unsigned char *p, hx_batch_hdr_t *h);
/* batch points at the header, followed by stored_len payload bytes. */
int hx_batch_crc_ok(const unsigned char *batch, const hx_batch_hdr_t *h);

/* Per-writer reusable encoder state (no per-record mallocs once warm). */
typedef struct hx_batch_enc {
    hx_buf_t raw;          /* uncompressed record payload */
    hx_buf_t out;          /* header + stored payload, ready to write */
    void *zcctx;           /* ZSTD_CCtx, created on first use */
} hx_batch_enc_t;

void hx_batch_enc_free(hx_batch_enc_t *e);
/* Encodes n records into e->out. offsets NULL means base+i; otherwise the
 * absolute offset of each record (compaction), all in [base, base+last_delta].
 * Timestamps < 0 are replaced with now_ms. */
int hx_batch_encode(hx_batch_enc_t *e, int codec, int64_t base, uint32_t last_delta,
                    const hx_log_record_t *recs, const int64_t *offsets, size_t n, int64_t now_ms,
                    hx_err_t *err);
/* Gives the raw record payload: the stored payload itself or decompressed
 * into scratch. */
int hx_batch_raw(const unsigned char *batch, const hx_batch_hdr_t *h, hx_buf_t *scratch,
                 const unsigned char **raw, hx_err_t *err);

typedef struct hx_batch_it {
    hx_rd_t rd;
    const hx_batch_hdr_t *h;
    uint32_t left;
    hx_buf_t *hdrs;        /* storage for decoded header arrays */
} hx_batch_it_t;

void hx_batch_it_init(hx_batch_it_t *it, const hx_batch_hdr_t *h, const unsigned char *raw, hx_buf_t *hdrs);
/* 1 = rec filled (borrows raw and hdrs until the next call), 0 = end, HX_ECORRUPT. */
int hx_batch_it_next(hx_batch_it_t *it, hx_log_record_t *rec);

/* ---- index.c / segment.c -------------------------------------------------- */

typedef struct hx_idx_ent {
    uint32_t rel;          /* batch base - segment base */
    uint32_t pos;          /* file position of the batch */
    int64_t maxts;         /* max timestamp of the segment up to and including this batch */
} hx_idx_ent_t;

typedef struct hx_segment {
    int64_t base;
    int fd;
    char *path;            /* DIR/BASE20 without extension */
    int64_t size;          /* published bytes */
    int64_t next;          /* offset after the last batch (base if empty) */
    int64_t max_ts;        /* INT64_MIN when empty */
    hx_idx_ent_t *idx;
    size_t nidx, capidx;
    atomic_int refs;
} hx_segment_t;

/* Creates DIR/BASE.log (must not exist). */
int hx_seg_create(const char *dir, int64_t base, hx_segment_t **out, hx_err_t *err);
/* Opens an existing segment file, size from fstat; index empty. */
int hx_seg_open(const char *dir, int64_t base, hx_segment_t **out, hx_err_t *err);
hx_segment_t *hx_seg_ref(hx_segment_t *s);
void hx_seg_unref(hx_segment_t *s);
/* "PATH.EXT" into out. */
void hx_seg_file(const hx_segment_t *s, const char *ext, char *out, size_t outlen);
/* Unlinks the segment's files (log, indexes). */
void hx_seg_unlink(const hx_segment_t *s);

/* Records a batch just placed at pos in the in-memory index, keeping one entry
 * per interval bytes; updates max_ts/next. */
int hx_idx_note_batch(hx_segment_t *s, const hx_batch_hdr_t *h, int64_t pos, int interval);
/* Index entry to start scanning for offset: position of the last indexed batch
 * with base <= offset (0 if none). */
int64_t hx_idx_lookup_offset(const hx_segment_t *s, int64_t offset);
/* Position of the last indexed batch whose running max timestamp < ts (0 if none). */
int64_t hx_idx_lookup_time(const hx_segment_t *s, int64_t ts);
/* Writes .index and .timeindex from memory (fsync when sync). */
int hx_idx_save(const hx_segment_t *s, int sync, hx_err_t *err);
/* Loads and validates the index files against a log of logsize bytes; on
 * success returns the position of the last entry in *tail_pos. HX_ECORRUPT or
 * HX_ENOTFOUND means "rebuild". */
int hx_idx_load(hx_segment_t *s, int64_t logsize, int64_t *tail_pos);
void hx_idx_clear(hx_segment_t *s);

/* Sequential batch reader over [pos, end) of a segment with a read-ahead chunk. */
typedef struct hx_seg_iter {
    hx_segment_t *seg;
    int64_t pos, end;
    int verify;            /* check CRCs */
    hx_buf_t chunk;
    int64_t chunk_pos;     /* file position of chunk.data[0] */
    int64_t min_next;      /* batches must have base >= this (monotonic offsets) */
} hx_seg_iter_t;

void hx_seg_iter_init(hx_seg_iter_t *it, hx_segment_t *seg, int64_t pos, int64_t end, int verify);
void hx_seg_iter_free(hx_seg_iter_t *it);
/* 1 = batch at *batch (valid until the next call), header in h, it->pos moved
 * past it; 0 = clean end; HX_ECORRUPT (torn/bad batch at it->pos, message in
 * err) or HX_EIO. */
int hx_seg_iter_next(hx_seg_iter_t *it, hx_batch_hdr_t *h, const unsigned char **batch, hx_err_t *err);

/* ---- partition / topic / log ---------------------------------------------- */

struct hx_topic;

typedef struct hx_partition {
    struct hx_topic *topic;
    int id;
    char *dir;
    pthread_mutex_t maint_mu;   /* retention vs compaction */
    pthread_mutex_t append_mu;  /* one writer at a time; held across write+fsync */
    pthread_mutex_t meta_mu;    /* segs, sizes, watermarks, indexes */
    pthread_cond_t data_cv;     /* hw advanced */
    pthread_cond_t durable_cv;  /* durable advanced */
    hx_segment_t **segs;        /* oldest first; segs[nseg-1] == active */
    size_t nseg, capseg;
    hx_segment_t *active;
    int64_t hw;                 /* written under append_mu+meta_mu */
    int64_t durable;
    atomic_int dirty;
    hx_batch_enc_t enc;         /* append_mu */
} hx_partition_t;

typedef struct hx_topic {
    char name[HX_LOG_TOPIC_NAME_MAX + 1];
    char *dir;
    hx_topic_opts_t opts;
    int nparts;
    hx_partition_t *parts;
} hx_topic_t;

struct hx_log {
    char *dir;
    hx_log_opts_t opts;
    int lockfd;
    pthread_rwlock_t topics_lock;
    hx_topic_t **topics;
    size_t ntopics, captopics;
    atomic_uint_fast64_t appended_records, appended_bytes, appended_batches, fsyncs;
    /* flusher.c */
    pthread_t flusher;
    int flusher_started;
    int stopping;
    pthread_mutex_t fl_mu;
    pthread_cond_t fl_cv;
};

/* Finds a topic; topics_lock must be held. NULL with HX_ENOTFOUND in err. */
hx_topic_t *hx_log_find_topic(hx_log_t *log, const char *name, hx_err_t *err);
/* Finds topic+partition under topics_lock (read-locked by the caller). */
hx_partition_t *hx_log_find_part(hx_log_t *log, const char *topic, int partition, hx_err_t *err);

/* partition.c */
int hx_part_init(hx_partition_t *p, hx_topic_t *t, int id, const char *dir, hx_err_t *err);
void hx_part_destroy(hx_partition_t *p, const hx_log_opts_t *opts);
int hx_part_roll(hx_log_t *log, hx_partition_t *p, hx_err_t *err); /* append_mu held */
int hx_part_push_seg(hx_partition_t *p, hx_segment_t *s);          /* meta_mu held */
void hx_part_info(hx_partition_t *p, hx_log_partition_info_t *out);
/* Segment containing offset (last with base <= offset), referenced; meta_mu held. */
hx_segment_t *hx_part_seg_for(hx_partition_t *p, int64_t offset);
/* First segment with base > base, referenced, NULL if none; takes meta_mu. */
hx_segment_t *hx_part_seg_after(hx_partition_t *p, int64_t base, int64_t *end);

/* recovery.c: loads (or creates) the partition's segments from p->dir. */
int hx_part_recover(hx_log_t *log, hx_partition_t *p, hx_err_t *err);

/* flusher.c */
int hx_flusher_start(hx_log_t *log, hx_err_t *err);
void hx_flusher_stop(hx_log_t *log);
int hx_part_flush(hx_log_t *log, hx_partition_t *p, hx_err_t *err);

/* topic.c */
int hx_topic_name_valid(const char *name, hx_err_t *err);
int hx_topic_load(hx_log_t *log, const char *name, hx_topic_t **out, hx_err_t *err);
void hx_topic_free(hx_log_t *log, hx_topic_t *t);

/* small fs helpers (segment.c) */

#endif
