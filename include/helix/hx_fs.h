/* Filesystem helpers. */
#ifndef HX_FS_H
#define HX_FS_H

/* fsyncs a directory so a create, rename or unlink in it is durable. */
int hx_fsync_dir(const char *dir);

/* Removes path and, for a directory, everything below it (no symlinks
 * followed). 0, or HX_EIO/HX_ENOMEM if anything stayed behind. */
int hx_rm_rf(const char *path);

#endif
