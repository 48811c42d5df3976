/* API keys: each key is bound to one tenant and one role, and only its
 * SHA-256 is stored, in the keys file (server.keys_file, default
 * <node.data_dir>/api_keys). `helix keys add` creates a key, prints it once
 * and appends its hash; the server re-reads the file when it changes, so keys
 * are added and revoked without a restart (docs/http.md, "Keys").
 *
 * File format, one key per line ('#' starts a comment line):
 *     <sha256 hex of the key> <tenant> <admin|writer|reader> <created_ms>
 *
 * Ownership: hx_keyring_t owns its array (hx_keys_free). Everything else is
 * plain values. */
#ifndef HX_KEYS_H
#define HX_KEYS_H

#include "helix/hx_config.h"
#include "helix/hx_error.h"
#include "helix/hx_sha256.h"

#include <stddef.h>
#include <stdint.h>

/* Roles, weakest first: a request whose key's role is below a route's is
 * refused with 403. DEFAULT (routes only) means reader for GET/HEAD and
 * writer otherwise. */
typedef enum { HX_ROLE_DEFAULT = 0, HX_ROLE_READER, HX_ROLE_WRITER, HX_ROLE_ADMIN } hx_role_t;

const char *hx_role_name(hx_role_t r); /* "reader", "writer", "admin" */
/* "admin" | "writer" | "reader" -> role; HX_EINVAL otherwise. */
int hx_role_parse(const char *s, hx_role_t *out, hx_err_t *err);

#define HX_TENANT_MAX 64
/* 1 when t is 1..HX_TENANT_MAX characters of [A-Za-z0-9_.-]. */
int hx_tenant_valid(const char *t);

#define HX_KEY_ID_LEN 12       /* hex digits of the hash shown as the key's id */
#define HX_KEY_MAX 512         /* longer bearer strings are never keys */

typedef struct hx_api_key {
    char hash[HX_SHA256_HEX];  /* lowercase hex SHA-256 of the key */
    char tenant[HX_TENANT_MAX + 1];
    hx_role_t role;
    int64_t created_ms;
} hx_api_key_t;

typedef struct hx_keyring {
    hx_api_key_t *keys;
    size_t n;
} hx_keyring_t;

/* Parses keys-file text (name is used in messages: "FILE:LINE: ..."). A bad
 * line is HX_ECONFIG naming the line; duplicates are HX_ECONFIG too. */
int hx_keys_parse(const char *text, size_t len, const char *name, hx_keyring_t *out, hx_err_t *err);
/* Reads and parses path. A missing file is HX_ENOTFOUND with an empty ring. */
int hx_keys_load(const char *path, hx_keyring_t *out, hx_err_t *err);
void hx_keys_free(hx_keyring_t *k);
/* The entry whose hash is SHA-256(key), or NULL. Compares every entry in
 * constant time per entry, so timing says nothing about near misses. */
const hx_api_key_t *hx_keys_find(const hx_keyring_t *k, const char *key, size_t len);

/* The keys file of cfg: server.keys_file, or <node.data_dir>/api_keys. */
void hx_keys_path(const hx_config_t *cfg, char *out, size_t len);

/* Creates a key for tenant and role: "hxk_" + 43 base64url characters of 32
 * random bytes, written to key_out (cap >= 48). The hash line is added to path
 * under an exclusive lock with an atomic replace (hx_fs_write_atomic); the
 * file is created when missing. *added (may be NULL) gets the entry. */
int hx_keys_add(const char *path, const char *tenant, hx_role_t role, char *key_out, size_t cap,
                hx_api_key_t *added, hx_err_t *err);
/* Removes the key whose id (a prefix of its hash, at least 8 hex digits) is
 * id. HX_ENOTFOUND when none matches, HX_EINVAL when several do. */
int hx_keys_revoke(const char *path, const char *id, hx_api_key_t *removed, hx_err_t *err);

#endif
