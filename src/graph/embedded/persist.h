/* Private to src/graph/embedded: the write-ahead log of applied batches and
 * the snapshots, as pure codecs over buffers (fuzzed) plus their files.
 *
 * Files under the store directory:
 *   wal-<first seq, 16 hex>.log   records [u32 len][u32 crc32c][u64 seq][batch]
 *                                 with len = 8 + batch bytes, crc over seq+batch
 *   snapshot-<seq, 16 hex>.bin    the whole graph after record seq (below)
 *   LOCK                          flock: one process owns the store
 * A snapshot is written atomically (temp file, fsync, rename, fsync dir); then
 * the WAL files it covers and older snapshots are removed. Recovery loads the
 * newest snapshot and replays the records after its seq; a torn record at the
 * end of the last file (a crash mid-write) is cut off, and with it the
 * cursors it carried, so the consumer reads that batch again. */
#ifndef HX_GRAPH_EMBEDDED_PERSIST_H
#define HX_GRAPH_EMBEDDED_PERSIST_H

#include "graph/embedded/store.h"

#include <limits.h>

#define ES_WAL_REC_MAX (256u << 20)

typedef struct es_wal {
    char dir[PATH_MAX];
    int fd;
    uint64_t file_first;         /* first seq of the open file */
    uint64_t bytes;              /* bytes of WAL since the last snapshot */
    int dirty;                   /* written since the last fsync */
    hx_fsync_t fsync;
} es_wal_t;

/* Appends one framed record to out. */
int es_wal_frame(hx_buf_t *out, uint64_t seq, const void *payload, size_t n);
/* Walks the intact records of a file image in order; fn (may be NULL) gets
 * each; *end = bytes of the intact prefix. Returns fn's first error. */
typedef int (*es_wal_fn)(void *ctx, uint64_t seq, const unsigned char *payload, size_t n);
int es_wal_scan(const unsigned char *data, size_t len, es_wal_fn fn, void *ctx, size_t *end);

/* Replays every record with seq > after (they must follow each other), cuts
 * a torn tail off the last file and opens it (or a new file) for appends.
 * *last gets the last seq seen (after when none). */
int es_wal_open(es_wal_t *w, const char *dir, hx_fsync_t fsync, uint64_t after, es_wal_fn fn, void *ctx,
                uint64_t *last, hx_err_t *err);
int es_wal_append(es_wal_t *w, const hx_buf_t *framed, hx_err_t *err);
int es_wal_sync(es_wal_t *w);
/* Closes the open file and starts wal-<next>.log. */
int es_wal_rotate(es_wal_t *w, uint64_t next, hx_err_t *err);
/* Removes every WAL file before the open one. */
void es_wal_drop_old(es_wal_t *w);
void es_wal_close(es_wal_t *w);
/* The whole file at path into *data (malloc'd, caller frees). */
int es_read_file(const char *path, unsigned char **data, size_t *len, hx_err_t *err);
/* Bytes of every WAL and snapshot file in dir (-1 when unreadable). */
int64_t es_store_disk_bytes(const char *dir);

/* Serialises the store (caller holds at least the read lock). */
int es_snapshot_encode(const es_store_t *s, uint64_t seq, hx_buf_t *out);
/* Loads an image into an empty store. HX_ECORRUPT for anything that is not
 * an intact snapshot. */
int es_snapshot_decode(es_store_t *s, const unsigned char *p, size_t n, uint64_t *seq, hx_err_t *err);
/* Writes the image as snapshot-<seq>.bin atomically, then removes older ones. */
int es_snapshot_save(const char *dir, uint64_t seq, const hx_buf_t *img, hx_err_t *err);
/* Loads the newest snapshot in dir into s (nothing when there is none: *seq
 * = 0). *bytes gets its size. */
int es_snapshot_load(es_store_t *s, const char *dir, uint64_t *seq, int64_t *bytes, hx_err_t *err);

#endif
