/* Byte-level codecs of the memory engine's files, private to src/memory and
 * its fuzz targets: the WAL record framing (wal.c) and the snapshot file
 * wrapper (snapshot.c). Pure functions over buffers, so torn or corrupt
 * input can be checked without a directory or an engine. */
#ifndef HX_MEMORY_CODEC_H
#define HX_MEMORY_CODEC_H

#include "memory/engine.h"

#define HX_MWAL_REC_MAX (64u << 20)

/* Appends one record as [u32 len][u32 crc32c][payload]. */
int hx_mwal_frame(hx_buf_t *out, const void *rec, size_t len);
/* Walks the records of a segment image in order, calling fn (may be NULL)
 * for each intact one. *end gets the bytes of the intact prefix: a torn or
 * corrupt tail starts there. Returns fn's first error (the walk stops). */
int hx_mwal_scan(const unsigned char *data, size_t len, hx_mwal_replay_fn fn, void *ctx, size_t *end);

#define HX_MSNAP_HDR 18
/* Wraps a raw snapshot text into the file layout (codec 0 none, 1 zstd);
 * *file is malloc'd, caller frees. */
int hx_msnap_encode(const void *raw, size_t len, int codec, unsigned char **file, size_t *flen, hx_err_t *err);
/* Checks and unwraps a snapshot file image; *raw is malloc'd and
 * NUL-terminated (caller frees). HX_ECORRUPT for anything not written by
 * hx_msnap_encode: bad magic, version, codec, crc32c or length. */
int hx_msnap_decode(const unsigned char *file, size_t flen, char **raw, size_t *rawlen, hx_err_t *err);

#endif
