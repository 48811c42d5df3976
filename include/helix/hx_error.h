/* Status codes and error messages shared by every Helix function.
 *
 * Convention: functions return int, 0 (HX_OK) on success or a negative HX_E*
 * code, and take an optional `hx_err_t *err` as their last argument which, on
 * failure, receives a message a user can act on ("topic 'x' does not exist;
 * create it with `helix topic create x`"). err may be NULL. */
#ifndef HX_ERROR_H
#define HX_ERROR_H

#include <stddef.h>

#define HX_OK           0
#define HX_EINVAL      (-1)  /* bad argument or malformed input */
#define HX_ENOMEM      (-2)  /* allocation failed */
#define HX_EIO         (-3)  /* file or socket I/O failed */
#define HX_ENOTFOUND   (-4)  /* named thing does not exist */
#define HX_EEXIST      (-5)  /* already exists */
#define HX_ERANGE      (-6)  /* value out of its allowed range */
#define HX_ECORRUPT    (-7)  /* checksum or structure mismatch in stored data */
#define HX_ETOOBIG     (-8)  /* input over a configured size limit */
#define HX_EUNAVAIL    (-9)  /* backend unreachable or shutting down */
#define HX_ETIMEOUT    (-10) /* deadline passed */
#define HX_EAUTH       (-11) /* missing or wrong credentials */
#define HX_ECONFIG     (-12) /* configuration error */
#define HX_EAGAIN      (-13) /* try again later (queue full, not ready) */
#define HX_EINTERNAL   (-14) /* bug: an invariant was broken */
#define HX_ECONFLICT   (-15) /* concurrent modification */
#define HX_EUNSUPPORTED (-16) /* valid request this backend cannot serve */
#define HX_EFORBIDDEN  (-17) /* authenticated, but the role or tenant does not allow it */
#define HX_ENOTIMPL    (-18) /* the feature is not built yet */

#define HX_ERR_MSG_MAX 512

typedef struct hx_err {
    int code;
    char msg[HX_ERR_MSG_MAX];
} hx_err_t;

/* Records code and a printf-style message in err (if not NULL); returns code
 * so callers can write `return hx_err_set(err, HX_EINVAL, "...")`. */
int hx_err_set(hx_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes an existing message with context: "loading config: <old msg>". */
int hx_err_wrap(hx_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void hx_err_clear(hx_err_t *err);

/* Stable snake_case name of a code, used as the JSON error "code". */
const char *hx_strerror(int code);

/* HTTP status that best describes a code (400, 401, 404, 409, 413, 500, 503...). */
int hx_err_http_status(int code);

#endif
