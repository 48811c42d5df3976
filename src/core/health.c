/* Health names and the writable-directory probe (hx_health.h). */
#include "helix/hx_error.h"
#include "helix/hx_health.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *hx_health_name(hx_health_t h)
{
    switch (h) {
    case HX_HEALTH_HEALTHY: return "healthy";
    case HX_HEALTH_DEGRADED: return "degraded";
    case HX_HEALTH_DISABLED: return "disabled";
    default: return "unhealthy";
    }
}

int hx_health_check_dir_writable(const char *dir, char *detail, size_t len)
{
    /* pid + thread id is unique among concurrent probes: a thread runs one at a time. */
    char path[4096];
    snprintf(path, sizeof path, "%s/.helix-health-%ld-%ld", dir, (long)getpid(), (long)gettid());
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    const char *step = "create";
    if (fd >= 0) {
        step = "write";
        if (write(fd, "ok\n", 3) == 3) {
            step = "fsync";
            if (fsync(fd) == 0)
                step = NULL;
        }
        int e = errno;
        close(fd);
        unlink(path);
        errno = e;
    }
    if (step) {
        snprintf(detail, len, "cannot %s a probe file in %s: %s", step, dir, strerror(errno));
        return HX_EIO;
    }
    snprintf(detail, len, "%s is writable", dir);
    return HX_OK;
}
