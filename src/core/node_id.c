/* The node id: generated once and kept in <data_dir>/node_id, so a restarted
 * node is the same node to its peers (CRDT dots and memory sync depend on it). */
#include "helix/hx_config.h"
#include "helix/hx_fs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

int hx_config_node_id(hx_config_t *cfg, hx_err_t *err)
{
    if (cfg->node.node_id[0])
        return HX_OK;
    if (mkdir(cfg->node.data_dir, 0755) && errno != EEXIST)
        return hx_err_set(err, HX_EIO, "cannot create data dir %s: %s; set node.data_dir or --data-dir",
                          cfg->node.data_dir, strerror(errno));
    char path[HX_CFG_STR + 16];
    snprintf(path, sizeof path, "%s/node_id", cfg->node.data_dir);
    FILE *f = fopen(path, "r");
    if (f) {
        char id[80] = {0};
        int ok = fgets(id, sizeof id, f) != NULL;
        fclose(f);
        id[strcspn(id, "\r\n")] = 0;
        if (ok && id[0]) {
            snprintf(cfg->node.node_id, sizeof cfg->node.node_id, "%s", id);
            return HX_OK;
        }
    }
    unsigned char r[6];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return hx_err_set(err, HX_EIO, "cannot read random bytes for the node id");
    char line[64];
    int n = snprintf(line, sizeof line, "node-%02x%02x%02x%02x%02x%02x\n", r[0], r[1], r[2], r[3], r[4], r[5]);
    int rc = hx_fs_write_atomic(path, line, (size_t)n, err);
    if (rc)
        return hx_err_wrap(err, "persisting the node id");
    line[n - 1] = 0;
    snprintf(cfg->node.node_id, sizeof cfg->node.node_id, "%s", line);
    return HX_OK;
}
