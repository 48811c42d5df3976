/* Filesystem helpers. */
#ifndef HX_FS_H
#define HX_FS_H

#include "helix/hx_error.h"

#include <stddef.h>

/* fsyncs a directory so a create, rename or unlink in it is durable. */
int hx_fsync_dir(const char *dir);

/* Removes path and, for a directory, everything below it (no symlinks
 * followed). 0, or HX_EIO/HX_ENOMEM if anything stayed behind. */
int hx_rm_rf(const char *path);

/* Creates (or truncates) path with data, fsynced when fsync_it: for files
 * whose directory is renamed into place afterwards. HX_EIO naming the step. */
int hx_fs_write_file(const char *path, const void *data, size_t len, int fsync_it, hx_err_t *err);

/* Replaces path with data atomically and durably: writes <path>.tmp, fsyncs
 * it, renames it over path and fsyncs the directory, so after a crash path
 * holds either the old or the new bytes, never a mix, and an acknowledged
 * replace survives. HX_EIO naming the step and the file on failure (the temp
 * file is removed). */
int hx_fs_write_atomic(const char *path, const void *data, size_t len, hx_err_t *err);

/* HX_FS_NO_SYNC: atomic but not durable (no fsync of the file or the
 * directory): after a crash path holds the old bytes, the new ones, or (on a
 * power loss) may be empty. For files that are cheap to lose and written
 * often, where a reader copes with an empty file. */
#define HX_FS_NO_SYNC 1u
int hx_fs_write_atomic_flags(const char *path, const void *data, size_t len, unsigned flags, hx_err_t *err);

#endif
