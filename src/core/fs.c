/* Small filesystem helpers shared by the stores. */
#include "helix/hx_error.h"
#include "helix/hx_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hx_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return HX_EIO;
    int rc = fsync(fd) == 0 ? HX_OK : HX_EIO;
    close(fd);
    return rc;
}

/* The directory part of path ("." when there is none). */
static void dir_of(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, len, ".");
    else if (slash == path)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

int hx_fs_write_file(const char *path, const void *data, size_t len, int fsync_it, hx_err_t *err)
{
    const char *step = "create";
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        step = "write";
        const char *p = data;
        size_t left = len;
        while (left) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            p += w;
            left -= (size_t)w;
        }
        if (!left) {
            step = "fsync";
            if (!fsync_it || fsync(fd) == 0)
                step = NULL;
        }
        int e = errno;
        if (close(fd) && !step)
            step = "close";
        else
            errno = e;
    }
    if (step)
        return hx_err_set(err, HX_EIO, "cannot %s %s: %s", step, path, strerror(errno));
    return HX_OK;
}

int hx_fs_write_atomic(const char *path, const void *data, size_t len, hx_err_t *err)
{
    return hx_fs_write_atomic_flags(path, data, len, 0, err);
}

int hx_fs_write_atomic_flags(const char *path, const void *data, size_t len, unsigned flags, hx_err_t *err)
{
    int sync = !(flags & HX_FS_NO_SYNC);
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n), dir[4096];
    if (!tmp)
        return hx_err_set(err, HX_ENOMEM, "out of memory writing %s", path);
    snprintf(tmp, n, "%s.tmp", path);
    int rc = hx_fs_write_file(tmp, data, len, sync, err);
    if (!rc && rename(tmp, path) != 0)
        rc = hx_err_set(err, HX_EIO, "cannot rename %s: %s", tmp, strerror(errno));
    if (rc) {
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    if (!sync)
        return HX_OK;
    dir_of(path, dir, sizeof dir);
    if (hx_fsync_dir(dir))
        return hx_err_set(err, HX_EIO, "cannot fsync directory %s after replacing %s: %s", dir, path,
                          strerror(errno));
    return HX_OK;
}

int hx_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? HX_OK : HX_EIO;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 ? HX_OK : HX_EIO;
    DIR *d = opendir(path);
    if (!d)
        return HX_EIO;
    struct dirent *de;
    int rc = HX_OK;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        size_t n = strlen(path) + strlen(de->d_name) + 2;
        char *sub = malloc(n);
        if (!sub) {
            rc = HX_ENOMEM;
            break;
        }
        snprintf(sub, n, "%s/%s", path, de->d_name);
        if (hx_rm_rf(sub))
            rc = HX_EIO;
        free(sub);
    }
    closedir(d);
    if (rmdir(path) != 0)
        rc = HX_EIO;
    return rc;
}
