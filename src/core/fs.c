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
