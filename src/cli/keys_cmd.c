/* `helix keys add|list|revoke`: API keys bound to a tenant and a role. The
 * keys file (server.keys_file, default <data_dir>/api_keys) holds only their
 * SHA-256; a running server re-reads it on change, so this works while
 * `helix serve` holds the data dir. */
#include "cli/commands.h"
#include "helix/hx_config.h"
#include "helix/hx_keys.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: helix keys <command> [options]\n\n"
                 "  add --tenant T --role admin|writer|reader\n"
                 "                    create a key: printed once on stdout, only its SHA-256 is stored\n"
                 "  list              id, tenant, role and creation time of every key (never the key)\n"
                 "  revoke ID         remove the key with that id (a prefix of 8+ digits is enough)\n\n"
                 "common options: --config FILE, --data-dir DIR (the keys file is server.keys_file,\n"
                 "default <data_dir>/api_keys; a running server picks up changes at once)\n");
}

static void when(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int hx_cmd_keys(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'}, {"data-dir", required_argument, 0, 'd'},
                                         {"tenant", required_argument, 0, 't'}, {"role", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *config = NULL, *data_dir = NULL, *tenant = NULL, *role_s = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:t:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'd': data_dir = optarg; break;
        case 't': tenant = optarg; break;
        case 'r': role_s = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    const char *sub = optind < argc ? argv[optind] : NULL;
    int nargs = argc - optind - 1;
    if (!sub || (strcmp(sub, "revoke") == 0 ? nargs != 1 : nargs != 0)) {
        usage(stderr);
        return 2;
    }
    hx_config_t cfg;
    if (hx_cli_load_config(config, data_dir, NULL, NULL, &cfg))
        return 2;
    char path[HX_CFG_STR + 16];
    hx_keys_path(&cfg, path, sizeof path);
    hx_err_t err = {0};
    if (strcmp(sub, "add") == 0) {
        hx_role_t role;
        if (!tenant || !role_s) {
            fprintf(stderr, "helix keys add: --tenant and --role are required\n");
            return 2;
        }
        if (hx_role_parse(role_s, &role, &err) || !hx_tenant_valid(tenant)) {
            fprintf(stderr, "helix keys add: %s\n",
                    err.msg[0] ? err.msg : "--tenant must be 1-64 characters of [A-Za-z0-9_.-]");
            return 2;
        }
        char key[64];
        hx_api_key_t k;
        int rc = hx_keys_add(path, tenant, role, key, sizeof key, &k, &err);
        if (rc) {
            fprintf(stderr, "helix keys add: %s\n", err.msg);
            return rc == HX_EINVAL ? 2 : 1;
        }
        printf("%s\n", key);
        fflush(stdout);
        memset(key, 0, sizeof key);
        fprintf(stderr, "helix keys: key %.*s for tenant %s, role %s, added to %s.\n"
                        "Store it now: it is shown once, and only its SHA-256 is kept.\n",
                HX_KEY_ID_LEN, k.hash, k.tenant, hx_role_name(k.role), path);
        return 0;
    }
    if (strcmp(sub, "list") == 0) {
        hx_keyring_t ring;
        int rc = hx_keys_load(path, &ring, &err);
        if (rc == HX_ENOTFOUND) {
            fprintf(stderr, "helix keys: no keys file at %s (auth uses server.token only)\n", path);
            return 0;
        }
        if (rc) {
            fprintf(stderr, "helix keys list: %s\n", err.msg);
            return rc == HX_ECONFIG ? 2 : 1;
        }
        printf("%-14s %-24s %-7s %s\n", "id", "tenant", "role", "created");
        for (size_t i = 0; i < ring.n; i++) {
            char t[32];
            when(ring.keys[i].created_ms, t, sizeof t);
            printf("%-14.*s %-24s %-7s %s\n", HX_KEY_ID_LEN, ring.keys[i].hash, ring.keys[i].tenant,
                   hx_role_name(ring.keys[i].role), t);
        }
        hx_keys_free(&ring);
        return 0;
    }
    if (strcmp(sub, "revoke") == 0) {
        hx_api_key_t k;
        int rc = hx_keys_revoke(path, argv[optind + 1], &k, &err);
        if (rc) {
            fprintf(stderr, "helix keys revoke: %s\n", err.msg);
            return rc == HX_EINVAL || rc == HX_ENOTFOUND ? 2 : 1;
        }
        printf("revoked key %.*s (tenant %s, role %s)\n", HX_KEY_ID_LEN, k.hash, k.tenant, hx_role_name(k.role));
        return 0;
    }
    fprintf(stderr, "helix keys: unknown command '%s'\n", sub);
    usage(stderr);
    return 2;
}
