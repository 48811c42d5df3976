/* Who is calling: the bearer token (an admin key of the default tenant) or an
 * API key from the keys file (hx_keys.h), and so the request's role and
 * tenant. Auth is on when server.token is set or the keys file exists; with
 * it off every request is admin and names its tenant with X-Helix-Tenant. */
#include "server/server_int.h"
#include "helix/hx_logger.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* Compares in time that depends only on the lengths, so response timing does
 * not reveal how many leading bytes of a guess were right. */
static int ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = (unsigned char)(alen != blen);
    size_t n = alen > blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        unsigned char y = i < blen ? (unsigned char)b[i] : 0;
        diff |= x ^ y;
    }
    return diff == 0;
}

/* Re-reads the keys file when its identity changed, so `helix keys
 * add|revoke` takes effect at once. The caller passes the file's stat, or
 * NULL when it is gone. Called with keys->mu held. A stale st (another
 * thread saw a newer file) reloads the current file and is corrected by the
 * next stat. */
static void keys_refresh(hx_auth_keys_t *k, const struct stat *stp)
{
    struct stat st;
    if (!stp) {
        if (k->exists)
            HX_WARN("http", "keys file %s is gone: only server.token is accepted now", k->path);
        hx_keys_free(&k->ring);
        k->exists = 0;
        k->dev = k->ino = k->size = k->mtime_ns = 0;
        return;
    }
    st = *stp;
    long long mt = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    if (k->exists && k->dev == (long long)st.st_dev && k->ino == (long long)st.st_ino &&
        k->size == (long long)st.st_size && k->mtime_ns == mt)
        return;
    hx_keyring_t ring;
    hx_err_t err = {0};
    int rc = hx_keys_load(k->path, &ring, &err);
    /* Remember this version either way, so a bad file is reported once. */
    k->dev = (long long)st.st_dev;
    k->ino = (long long)st.st_ino;
    k->size = (long long)st.st_size;
    k->mtime_ns = mt;
    k->exists = 1;
    if (rc) {
        HX_ERROR("http", "keys file not reloaded, the previous keys stay in force: %s", err.msg);
        return;
    }
    hx_keys_free(&k->ring);
    k->ring = ring;
    HX_INFO("http", "keys file %s: %zu key(s)", k->path, ring.n);
}

/* Watches the keys file's directory: a stat per request (a path walk) was
 * 7% of a records request's CPU, and the kernel queues an inotify event
 * before the rename or write that caused it returns, so a request that
 * starts after `helix keys revoke` finished still sees the change. Without
 * a watch (inotify unavailable, or the directory is missing or was moved)
 * every request stats the file, as before. */
static void watch_open(hx_auth_keys_t *k)
{
    k->watch_fd = -1;
    char dir[sizeof k->path];
    snprintf(dir, sizeof dir, "%s", k->path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        return;
    if (inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM |
                                       IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
        close(fd);
        return;
    }
    k->watch_fd = fd;
}

/* 1 when the directory changed since the last call (or the watch broke:
 * then it is dropped and every request stats). Called with keys->mu held. */
static int watch_fired(hx_auth_keys_t *k)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int fired = 0;
    ssize_t n;
    while ((n = read(k->watch_fd, buf, sizeof buf)) > 0) {
        fired = 1;
        for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
            if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW)) {
                close(k->watch_fd);
                k->watch_fd = -1;
                return 1;
            }
            off += (ssize_t)sizeof *ev + (ssize_t)ev->len;
        }
    }
    return fired;
}

int hx_auth_init(hx_server_t *srv, const hx_config_t *cfg, hx_err_t *err)
{
    hx_auth_keys_t *k = &srv->keys;
    pthread_mutex_init(&k->mu, NULL);
    hx_keys_path(cfg, k->path, sizeof k->path);
    watch_open(k); /* before the first read: a change in between is seen */
    int rc = hx_keys_load(k->path, &k->ring, err);
    if (rc == HX_ENOTFOUND) {
        hx_err_clear(err);
        return HX_OK;
    }
    if (rc) {
        hx_auth_free(srv);
        return hx_err_set(err, HX_ECONFIG, "server.keys_file: %s", err->msg);
    }
    struct stat st;
    if (stat(k->path, &st) == 0) {
        k->exists = 1;
        k->dev = (long long)st.st_dev;
        k->ino = (long long)st.st_ino;
        k->size = (long long)st.st_size;
        k->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    }
    return HX_OK;
}

void hx_auth_free(hx_server_t *srv)
{
    if (srv->keys.watch_fd >= 0)
        close(srv->keys.watch_fd);
    srv->keys.watch_fd = -1;
    hx_keys_free(&srv->keys.ring);
    pthread_mutex_destroy(&srv->keys.mu);
}

static int unauthorized(hx_req_t *req, const char *why)
{
    hx_res_error(&req->res, 401, "unauthorized", "%s; send 'Authorization: Bearer <API key>' (`helix keys add`) "
                 "or the server.token", why);
    hx_res_header(&req->res, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    return 1;
}

int hx_auth_request(hx_server_t *srv, hx_req_t *req, const char *authorization)
{
    hx_auth_keys_t *k = &srv->keys;
    struct stat st;
    if (k->watch_fd < 0) { /* stat outside the lock: under it the syscall serialized the server's threads */
        int have = stat(k->path, &st) == 0;
        pthread_mutex_lock(&k->mu);
        keys_refresh(k, have ? &st : NULL);
    } else {
        pthread_mutex_lock(&k->mu);
        if (watch_fired(k)) {
            int have = stat(k->path, &st) == 0;
            keys_refresh(k, have ? &st : NULL);
        }
    }
    int auth_on = srv->token[0] || k->exists;
    const hx_api_key_t *key = NULL;
    int is_token = 0;
    const char *t = NULL;
    size_t tl = 0;
    if (auth_on && authorization && strncasecmp(authorization, "Bearer ", 7) == 0) {
        t = authorization + 7;
        while (*t == ' ')
            t++;
        tl = strlen(t);
        is_token = srv->token[0] && ct_equal(t, tl, srv->token, strlen(srv->token));
        if (!is_token && (key = hx_keys_find(&k->ring, t, tl))) {
            req->role = key->role;
            snprintf(req->key_tenant, sizeof req->key_tenant, "%s", key->tenant);
        }
    }
    pthread_mutex_unlock(&k->mu);
    if (!auth_on || is_token) {
        req->role = HX_ROLE_ADMIN;
        snprintf(req->key_tenant, sizeof req->key_tenant, "default");
    } else if (!key) {
        return unauthorized(req, !authorization ? "missing bearer key"
                                 : !t           ? "the Authorization header is not 'Bearer <key>'"
                                                : "unknown or revoked key");
    }
    req->tenant = req->key_tenant;
    return 0;
}

int hx_auth_tenant(hx_req_t *req, const char *tenant_header)
{
    if (!tenant_header)
        return 0;
    if (!hx_tenant_valid(tenant_header))
        return hx_res_error(&req->res, 400, "invalid_argument",
                            "X-Helix-Tenant must be 1-64 characters of [A-Za-z0-9_.-]"), 1;
    if (strcmp(tenant_header, req->key_tenant) == 0)
        return 0;
    if (req->role != HX_ROLE_ADMIN)
        return hx_res_error(&req->res, 403, "forbidden",
                            "this key belongs to tenant '%s'; only admin keys may act for another tenant "
                            "(X-Helix-Tenant: %.64s)", req->key_tenant, tenant_header), 1;
    req->tenant = tenant_header;
    return 0;
}
