/* The API keys file: parsing, lookup by hash, and the add/revoke edits that
 * `helix keys` makes under a lock (hx_keys.h). */
#include "helix/hx_clock.h"
#include "helix/hx_fs.h"
#include "helix/hx_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_HEAD                                                                                       \
    "# Helix API keys, one per line: sha256(key) tenant role created_ms\n"                             \
    "# Managed with `helix keys add|list|revoke`; the keys themselves are never stored.\n"

const char *hx_role_name(hx_role_t r)
{
    switch (r) {
    case HX_ROLE_READER: return "reader";
    case HX_ROLE_WRITER: return "writer";
    case HX_ROLE_ADMIN: return "admin";
    default: return "default";
    }
}

int hx_role_parse(const char *s, hx_role_t *out, hx_err_t *err)
{
    static const hx_role_t all[] = {HX_ROLE_READER, HX_ROLE_WRITER, HX_ROLE_ADMIN};
    for (size_t i = 0; s && i < 3; i++)
        if (strcmp(s, hx_role_name(all[i])) == 0) {
            *out = all[i];
            return HX_OK;
        }
    return hx_err_set(err, HX_EINVAL, "role '%s' is not one of admin, writer, reader", s ? s : "");
}

int hx_tenant_valid(const char *t)
{
    size_t n = 0;
    for (; t[n]; n++) {
        char c = t[n];
        if (n >= HX_TENANT_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return 0;
    }
    return n >= 1;
}

void hx_keys_free(hx_keyring_t *k)
{
    free(k->keys);
    k->keys = NULL;
    k->n = 0;
}

static int is_hex64(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 64;
}

/* Splits line into at most 5 space-separated fields (in place). */
static int fields(char *line, char **f, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == max)
            return max + 1;
        f[n++] = t;
    }
    return n;
}

int hx_keys_parse(const char *text, size_t len, const char *name, hx_keyring_t *out, hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0, pos = 0;
    int lineno = 0, rc = HX_OK;
    char line[512];
    while (pos < len && !rc) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        if (ll >= sizeof line) {
            rc = hx_err_set(err, HX_ECONFIG, "%s:%d: line is longer than %zu bytes", name, lineno, sizeof line - 1);
            break;
        }
        memcpy(line, text + pos, ll);
        line[ll] = '\0';
        pos += ll + (nl ? 1 : 0);
        if (ll && line[ll - 1] == '\r')
            line[--ll] = '\0';
        if (memchr(line, '\0', ll) != NULL) {
            rc = hx_err_set(err, HX_ECONFIG, "%s:%d: the line holds a NUL byte", name, lineno);
            break;
        }
        char *f[5];
        int nf = fields(line, f, 4);
        if (nf == 0 || f[0][0] == '#')
            continue;
        hx_api_key_t k = {0};
        char *end = NULL;
        if (nf != 4) {
            rc = hx_err_set(err, HX_ECONFIG, "%s:%d: want 4 fields 'sha256 tenant role created_ms', got %d", name,
                            lineno, nf);
        } else if (!is_hex64(f[0])) {
            rc = hx_err_set(err, HX_ECONFIG, "%s:%d: '%.80s' is not a SHA-256 (64 lowercase hex digits)", name,
                            lineno, f[0]);
        } else if (!hx_tenant_valid(f[1])) {
            rc = hx_err_set(err, HX_ECONFIG, "%s:%d: tenant '%.80s' must be 1-64 characters of [A-Za-z0-9_.-]",
                            name, lineno, f[1]);
        } else if (hx_role_parse(f[2], &k.role, NULL)) {
            rc = hx_err_set(err, HX_ECONFIG, "%s:%d: role '%.80s' is not one of admin, writer, reader", name, lineno,
                            f[2]);
        } else {
            errno = 0;
            k.created_ms = strtoll(f[3], &end, 10);
            if (errno || *end || k.created_ms < 0)
                rc = hx_err_set(err, HX_ECONFIG, "%s:%d: created_ms '%.80s' is not a non-negative integer", name,
                                lineno, f[3]);
        }
        if (rc)
            break;
        memcpy(k.hash, f[0], HX_SHA256_HEX);
        memcpy(k.tenant, f[1], strlen(f[1]) + 1);
        for (size_t i = 0; i < out->n; i++)
            if (strcmp(out->keys[i].hash, k.hash) == 0)
                rc = hx_err_set(err, HX_ECONFIG, "%s:%d: the same key is listed twice", name, lineno);
        if (rc)
            break;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 8;
            hx_api_key_t *nk = realloc(out->keys, cap * sizeof *nk);
            if (!nk) {
                rc = hx_err_set(err, HX_ENOMEM, "out of memory reading %s", name);
                break;
            }
            out->keys = nk;
        }
        out->keys[out->n++] = k;
    }
    if (rc)
        hx_keys_free(out);
    return rc;
}

static int read_all(const char *path, char **out, size_t *len, hx_err_t *err)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return hx_err_set(err, errno == ENOENT ? HX_ENOTFOUND : HX_EIO, "cannot read keys file %s: %s", path,
                          strerror(errno));
    size_t cap = 4096;
    char *b = malloc(cap);
    int rc = b ? HX_OK : HX_ENOMEM;
    while (!rc) {
        size_t got = fread(b + *len, 1, cap - *len, f);
        *len += got;
        if (got == 0)
            break;
        if (*len == cap) {
            if (cap >= (64u << 20)) {
                rc = hx_err_set(err, HX_ETOOBIG, "keys file %s is over 64 MiB", path);
                break;
            }
            char *nb = realloc(b, cap *= 2);
            if (!nb)
                rc = HX_ENOMEM;
            else
                b = nb;
        }
    }
    if (!rc && ferror(f))
        rc = hx_err_set(err, HX_EIO, "cannot read keys file %s: %s", path, strerror(errno));
    fclose(f);
    if (rc == HX_ENOMEM)
        hx_err_set(err, rc, "out of memory reading keys file %s", path);
    if (rc) {
        free(b);
        return rc;
    }
    *out = b;
    return HX_OK;
}

int hx_keys_load(const char *path, hx_keyring_t *out, hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    char *text;
    size_t len;
    int rc = read_all(path, &text, &len, err);
    if (rc)
        return rc;
    rc = hx_keys_parse(text, len, path, out, err);
    free(text);
    return rc;
}

const hx_api_key_t *hx_keys_find(const hx_keyring_t *k, const char *key, size_t len)
{
    if (!k->n || len == 0 || len > HX_KEY_MAX)
        return NULL;
    char h[HX_SHA256_HEX];
    hx_sha256_hex(key, len, h);
    const hx_api_key_t *hit = NULL;
    for (size_t i = 0; i < k->n; i++) {
        unsigned char diff = 0;
        for (size_t j = 0; j < HX_SHA256_HEX - 1; j++)
            diff |= (unsigned char)(h[j] ^ k->keys[i].hash[j]);
        if (!diff)
            hit = &k->keys[i];
    }
    return hit;
}

void hx_keys_path(const hx_config_t *cfg, char *out, size_t len)
{
    if (cfg->server.keys_file[0])
        snprintf(out, len, "%s", cfg->server.keys_file);
    else
        snprintf(out, len, "%s/api_keys", cfg->node.data_dir);
}

/* Takes an exclusive lock on <path>.lock so two `helix keys` runs cannot lose
 * each other's edit. Returns the fd (close to unlock) or -1 with err set. */
static int lock_file(const char *path, hx_err_t *err)
{
    char lp[4096];
    /* The default file lives in the data dir, which may not exist before the first `helix serve`. */
    snprintf(lp, sizeof lp, "%s", path);
    char *slash = strrchr(lp, '/');
    if (slash && slash != lp) {
        *slash = '\0';
        if (mkdir(lp, 0755) != 0 && errno != EEXIST)
            return hx_err_set(err, HX_EIO, "cannot create %s: %s", lp, strerror(errno)), -1;
    }
    snprintf(lp, sizeof lp, "%s.lock", path);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        hx_err_set(err, HX_EIO, "cannot lock %s: %s", lp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int write_ring(const char *path, const hx_keyring_t *k, hx_err_t *err)
{
    size_t cap = sizeof FILE_HEAD + k->n * 160;
    char *b = malloc(cap);
    if (!b)
        return hx_err_set(err, HX_ENOMEM, "out of memory writing %s", path);
    size_t n = (size_t)snprintf(b, cap, "%s", FILE_HEAD);
    for (size_t i = 0; i < k->n; i++)
        n += (size_t)snprintf(b + n, cap - n, "%s %s %s %lld\n", k->keys[i].hash, k->keys[i].tenant,
                              hx_role_name(k->keys[i].role), (long long)k->keys[i].created_ms);
    int rc = hx_fs_write_atomic(path, b, n, err);
    free(b);
    return rc;
}

/* Loads path under the lock; a missing file is an empty ring. */
static int load_locked(const char *path, hx_keyring_t *k, hx_err_t *err)
{
    int rc = hx_keys_load(path, k, err);
    if (rc == HX_ENOTFOUND) {
        hx_err_clear(err);
        return HX_OK;
    }
    return rc;
}

static void b64url(const unsigned char *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | in[i];
        bits += 8;
        while (bits >= 6) {
            out[o++] = a[(acc >> (bits - 6)) & 63];
            bits -= 6;
        }
    }
    if (bits)
        out[o++] = a[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

int hx_keys_add(const char *path, const char *tenant, hx_role_t role, char *key_out, size_t cap,
                hx_api_key_t *added, hx_err_t *err)
{
    if (!hx_tenant_valid(tenant))
        return hx_err_set(err, HX_EINVAL, "tenant '%s' must be 1-64 characters of [A-Za-z0-9_.-]", tenant);
    if (role < HX_ROLE_READER || role > HX_ROLE_ADMIN)
        return hx_err_set(err, HX_EINVAL, "role must be admin, writer or reader");
    if (cap < 48)
        return hx_err_set(err, HX_EINVAL, "key buffer too small");
    unsigned char r[32];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return hx_err_set(err, HX_EIO, "cannot read random bytes for the key: %s", strerror(errno));
    memcpy(key_out, "hxk_", 4);
    b64url(r, sizeof r, key_out + 4);
    memset(r, 0, sizeof r);
    hx_api_key_t k = {0};
    hx_sha256_hex(key_out, strlen(key_out), k.hash);
    snprintf(k.tenant, sizeof k.tenant, "%s", tenant);
    k.role = role;
    k.created_ms = hx_now_ms();
    int lfd = lock_file(path, err);
    if (lfd < 0)
        return HX_EIO;
    hx_keyring_t ring;
    int rc = load_locked(path, &ring, err);
    if (!rc) {
        hx_api_key_t *nk = realloc(ring.keys, (ring.n + 1) * sizeof *nk);
        if (!nk) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory adding a key");
        } else {
            ring.keys = nk;
            ring.keys[ring.n++] = k;
            rc = write_ring(path, &ring, err);
        }
    }
    hx_keys_free(&ring);
    close(lfd);
    if (rc) {
        memset(key_out, 0, cap);
        return rc;
    }
    if (added)
        *added = k;
    return HX_OK;
}

int hx_keys_revoke(const char *path, const char *id, hx_api_key_t *removed, hx_err_t *err)
{
    size_t il = strlen(id);
    if (il < 8 || il > 64)
        return hx_err_set(err, HX_EINVAL, "key id '%s' must be 8-64 hex digits (see `helix keys list`)", id);
    int lfd = lock_file(path, err);
    if (lfd < 0)
        return HX_EIO;
    hx_keyring_t ring;
    int rc = load_locked(path, &ring, err);
    size_t hits = 0, at = 0;
    for (size_t i = 0; !rc && i < ring.n; i++)
        if (strncmp(ring.keys[i].hash, id, il) == 0) {
            hits++;
            at = i;
        }
    if (!rc && hits == 0)
        rc = hx_err_set(err, HX_ENOTFOUND, "no key has the id '%s' in %s (see `helix keys list`)", id, path);
    else if (!rc && hits > 1)
        rc = hx_err_set(err, HX_EINVAL, "%zu keys have ids starting with '%s'; give more digits", hits, id);
    if (!rc) {
        if (removed)
            *removed = ring.keys[at];
        memmove(&ring.keys[at], &ring.keys[at + 1], (ring.n - at - 1) * sizeof *ring.keys);
        ring.n--;
        rc = write_ring(path, &ring, err);
    }
    hx_keys_free(&ring);
    close(lfd);
    return rc;
}
