#include "helix/hx_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int hx_err_set(hx_err_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int hx_err_wrap(hx_err_t *err, const char *fmt, ...)
{
    if (!err)
        return HX_EINTERNAL;
    char prefix[HX_ERR_MSG_MAX], old[HX_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    return err->code;
}

void hx_err_clear(hx_err_t *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

const char *hx_strerror(int code)
{
    switch (code) {
    case HX_OK: return "ok";
    case HX_EINVAL: return "invalid_argument";
    case HX_ENOMEM: return "out_of_memory";
    case HX_EIO: return "io_error";
    case HX_ENOTFOUND: return "not_found";
    case HX_EEXIST: return "already_exists";
    case HX_ERANGE: return "out_of_range";
    case HX_ECORRUPT: return "corrupt_data";
    case HX_ETOOBIG: return "too_large";
    case HX_EUNAVAIL: return "unavailable";
    case HX_ETIMEOUT: return "timeout";
    case HX_EAUTH: return "unauthorized";
    case HX_ECONFIG: return "config_error";
    case HX_EAGAIN: return "try_again";
    case HX_EINTERNAL: return "internal_error";
    case HX_ECONFLICT: return "conflict";
    case HX_EUNSUPPORTED: return "unsupported";
    case HX_EFORBIDDEN: return "forbidden";
    case HX_ENOTIMPL: return "not_implemented";
    default: return "unknown_error";
    }
}

int hx_err_http_status(int code)
{
    switch (code) {
    case HX_OK: return 200;
    case HX_EINVAL: case HX_ERANGE: case HX_ECONFIG: return 400;
    case HX_EAUTH: return 401;
    case HX_ENOTFOUND: return 404;
    case HX_EEXIST: case HX_ECONFLICT: return 409;
    case HX_ETOOBIG: return 413;
    case HX_EFORBIDDEN: return 403;
    case HX_EUNSUPPORTED: case HX_ENOTIMPL: return 501;
    case HX_EUNAVAIL: case HX_EAGAIN: return 503;
    case HX_ETIMEOUT: return 504;
    default: return 500;
    }
}
