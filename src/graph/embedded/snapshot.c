/* Snapshots of the embedded graph: everything live (nodes, redirects of
 * merged ids, relationships, cursors) in one checksummed file, so a restart
 * replays only the WAL written since. Layout:
 *   "HXGS" u32 version 1, u64 seq,
 *   uvarint n_tenants, strs; uvarint n_cursors, (str, svarint)...;
 *   uvarint n_nodes, nodes (uvarint tenant, str id, u8 label, str type, str
 *   name, str desc, str props, uvarint n_aliases + strs, svarint mentions,
 *   f64 conf_sum, f64 importance, svarint created, svarint updated);
 *   uvarint n_redirects, (uvarint tenant, str id, uvarint target node);
 *   uvarint n_rels, (uvarint from, uvarint to, str type, f64 strength, str
 *   props, svarint created, svarint updated);
 *   u32 crc32c of every byte before it.
 * Node references are positions in the node list; dead slots are left out. */
#include "graph/embedded/persist.h"
#include "helix/hx_fs.h"
#include "helix/hx_hash.h"
#include "helix/hx_logger.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAP_MAGIC "HXGS"
#define SNAP_VERSION 1

static int put_str(hx_buf_t *b, const char *s)
{
    return hx_buf_put_bytes(b, s ? s : "", s ? strlen(s) : 0);
}

static int put_f64(hx_buf_t *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return hx_buf_put_u64le(b, u);
}

int es_snapshot_encode(const es_store_t *s, uint64_t seq, hx_buf_t *out)
{
    uint32_t *ord = malloc(((size_t)s->n_nodes + 1) * sizeof *ord);
    if (!ord)
        return HX_ENOMEM;
    uint32_t live = 0, redirects = 0, rels = 0;
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        ord[i] = s->nodes[i].state == ES_LIVE ? live++ : ES_NONE;
        redirects += s->nodes[i].state == ES_MERGED && es_follow(s, i) != ES_NONE;
    }
    for (uint32_t i = 0; i < s->n_rels; i++)
        rels += s->rels[i].alive;
    size_t start = out->len;
    int rc = hx_buf_append(out, SNAP_MAGIC, 4);
    rc = rc ? rc : hx_buf_put_u32le(out, SNAP_VERSION);
    rc = rc ? rc : hx_buf_put_u64le(out, seq);
    rc = rc ? rc : hx_buf_put_uvarint(out, s->tenants.n);
    for (uint32_t i = 0; i < s->tenants.n && !rc; i++)
        rc = put_str(out, s->tenants.s[i]);
    rc = rc ? rc : hx_buf_put_uvarint(out, s->n_cursors);
    for (size_t i = 0; i < s->n_cursors && !rc; i++) {
        rc = put_str(out, s->cursors[i].name);
        rc = rc ? rc : hx_buf_put_svarint(out, s->cursors[i].value);
    }
    rc = rc ? rc : hx_buf_put_uvarint(out, live);
    for (uint32_t i = 0; i < s->n_nodes && !rc; i++) {
        const es_node_t *n = &s->nodes[i];
        if (n->state != ES_LIVE)
            continue;
        rc = hx_buf_put_uvarint(out, n->tenant);
        rc = rc ? rc : put_str(out, es_nid(n));
        rc = rc ? rc : hx_buf_put_u8(out, n->label);
        rc = rc ? rc : put_str(out, es_str(&s->types, n->type));
        rc = rc ? rc : put_str(out, n->name);
        rc = rc ? rc : put_str(out, n->desc);
        rc = rc ? rc : put_str(out, n->props);
        rc = rc ? rc : hx_buf_put_uvarint(out, n->n_aliases);
        for (int k = 0; k < n->n_aliases && !rc; k++)
            rc = put_str(out, n->aliases[k]);
        rc = rc ? rc : hx_buf_put_svarint(out, n->mentions);
        rc = rc ? rc : put_f64(out, n->conf_sum);
        rc = rc ? rc : put_f64(out, n->importance);
        rc = rc ? rc : hx_buf_put_svarint(out, n->created);
        rc = rc ? rc : hx_buf_put_svarint(out, n->updated);
    }
    rc = rc ? rc : hx_buf_put_uvarint(out, redirects);
    for (uint32_t i = 0; i < s->n_nodes && !rc; i++) {
        uint32_t target = s->nodes[i].state == ES_MERGED ? es_follow(s, i) : ES_NONE;
        if (target == ES_NONE)
            continue;
        rc = hx_buf_put_uvarint(out, s->nodes[i].tenant);
        rc = rc ? rc : put_str(out, es_nid(&s->nodes[i]));
        rc = rc ? rc : hx_buf_put_uvarint(out, ord[target]);
    }
    rc = rc ? rc : hx_buf_put_uvarint(out, rels);
    for (uint32_t i = 0; i < s->n_rels && !rc; i++) {
        const es_rel_t *r = &s->rels[i];
        if (!r->alive)
            continue;
        rc = hx_buf_put_uvarint(out, ord[r->from]);
        rc = rc ? rc : hx_buf_put_uvarint(out, ord[r->to]);
        rc = rc ? rc : put_str(out, es_str(&s->rtypes, r->type));
        rc = rc ? rc : put_f64(out, r->strength);
        rc = rc ? rc : put_str(out, r->props);
        rc = rc ? rc : hx_buf_put_svarint(out, r->created);
        rc = rc ? rc : hx_buf_put_svarint(out, r->updated);
    }
    free(ord);
    rc = rc ? rc : hx_buf_put_u32le(out, hx_crc32c(0, out->data + start, out->len - start));
    return rc;
}

/* ---- decode ---- */

typedef struct {
    hx_rd_t r;
    char buf[HX_GRAPH_DESC_MAX + HX_GRAPH_PROPS_BYTES + 1];
} rd_t;

/* A string of at most max bytes, NUL-free, as a C string in d->buf. */
static const char *str(rd_t *d, size_t max)
{
    const unsigned char *p;
    size_t n;
    if (hx_rd_bytes(&d->r, &p, &n) || n > max || n >= sizeof d->buf || memchr(p, 0, n))
        return NULL;
    memcpy(d->buf, p, n);
    d->buf[n] = 0;
    return d->buf;
}

static int f64(rd_t *d, double *v)
{
    uint64_t u;
    if (hx_rd_u64le(&d->r, &u))
        return HX_ECORRUPT;
    memcpy(v, &u, sizeof *v);
    return isfinite(*v) ? HX_OK : HX_ECORRUPT;
}

static int set_dup(char **dst, const char *v)
{
    if (!v[0])
        return HX_OK;
    return (*dst = strdup(v)) ? HX_OK : HX_ENOMEM;
}

static int props_ok(const char *p)
{
    if (!p[0])
        return 1;
    json_t *j = json_loads(p, JSON_REJECT_DUPLICATES, NULL);
    int ok = json_is_object(j);
    json_decref(j);
    return ok;
}

int es_snapshot_decode(es_store_t *s, const unsigned char *p, size_t n, uint64_t *seq, hx_err_t *err)
{
    rd_t *d = malloc(sizeof *d);
    uint32_t *tmap = NULL, *nodes = NULL;
    const char *why = "header";
    int rc = HX_ECORRUPT;
    uint32_t ver;
    uint64_t nt, nc, nn, nr, nx;
    if (!d)
        return hx_err_set(err, HX_ENOMEM, "out of memory loading a graph snapshot");
    if (n < 20 || memcmp(p, SNAP_MAGIC, 4) || hx_crc32c(0, p, n - 4) != hx_load_u32le(p + n - 4))
        goto bad;
    hx_rd_init(&d->r, p + 4, n - 8);
    if (hx_rd_u32le(&d->r, &ver) || ver != SNAP_VERSION || hx_rd_u64le(&d->r, seq))
        goto bad;
    why = "tenants";
    if (hx_rd_uvarint(&d->r, &nt) || nt > 65535 || !(tmap = malloc((nt + 1) * sizeof *tmap)))
        goto bad;
    for (uint64_t i = 0; i < nt; i++) {
        const char *t = str(d, HX_ENV_TENANT_MAX);
        if (!t || !hx_graph_tenant_valid(t) || es_intern(&s->tenants, t, 0) != ES_NONE)
            goto bad;
        if ((tmap[i] = es_intern(&s->tenants, t, 1)) == ES_NONE || !es_tstats(s, tmap[i]))
            goto oom;
    }
    why = "cursors";
    if (hx_rd_uvarint(&d->r, &nc) || nc > n)
        goto bad;
    for (uint64_t i = 0; i < nc; i++) {
        const char *c = str(d, HX_GRAPH_CURSOR_NAME_MAX - 1);
        int64_t v;
        if (!c || !c[0] || hx_rd_svarint(&d->r, &v))
            goto bad;
        if (es_cursor_set(s, c, v))
            goto oom;
    }
    why = "nodes";
    if (hx_rd_uvarint(&d->r, &nn) || nn > n || !(nodes = malloc((nn + 1) * sizeof *nodes)))
        goto bad;
    for (uint64_t i = 0; i < nn; i++) {
        uint64_t t, na;
        const char *v;
        uint8_t label;
        if (hx_rd_uvarint(&d->r, &t) || t >= nt || !(v = str(d, HX_GRAPH_ID_MAX)) || !hx_graph_id_valid(v) ||
            es_node_slot(s, tmap[t], v) != ES_NONE)
            goto bad;
        uint32_t idx = es_node_new(s, tmap[t], v);
        if (idx == ES_NONE)
            goto oom;
        nodes[i] = idx;
        if (hx_rd_u8(&d->r, &label) || label > ES_LABEL_USER || !(v = str(d, HX_GRAPH_TYPE_MAX)) ||
            (v[0] && !hx_graph_type_valid(v)))
            goto bad;
        uint32_t ty = es_intern(&s->types, v, 1);
        if (ty == ES_NONE || ty > UINT16_MAX)
            goto oom;
        s->nodes[idx].label = label;
        s->nodes[idx].type = (uint16_t)ty;
        if (!(v = str(d, HX_GRAPH_NAME_MAX)) || !hx_utf8_valid(v, strlen(v)) || set_dup(&s->nodes[idx].name, v))
            goto bad;
        if (!(v = str(d, HX_GRAPH_DESC_MAX)) || !hx_utf8_valid(v, strlen(v)) || set_dup(&s->nodes[idx].desc, v))
            goto bad;
        if (!(v = str(d, HX_GRAPH_PROPS_BYTES * 2)) || !props_ok(v) || set_dup(&s->nodes[idx].props, v))
            goto bad;
        if (hx_rd_uvarint(&d->r, &na) || na > HX_GRAPH_ALIASES_MAX)
            goto bad;
        if (na && !(s->nodes[idx].aliases = calloc(na, sizeof(char *))))
            goto oom;
        for (uint64_t k = 0; k < na; k++) {
            if (!(v = str(d, HX_GRAPH_NAME_MAX)) || !v[0] || !hx_utf8_valid(v, strlen(v)))
                goto bad;
            if (!(s->nodes[idx].aliases[k] = strdup(v)))
                goto oom;
            s->nodes[idx].n_aliases++;
        }
        es_node_t *x = &s->nodes[idx];
        if (hx_rd_svarint(&d->r, &x->mentions) || x->mentions < 0 || f64(d, &x->conf_sum) || f64(d, &x->importance) ||
            hx_rd_svarint(&d->r, &x->created) || hx_rd_svarint(&d->r, &x->updated))
            goto bad;
        if (es_ft_index(s, idx))
            goto oom;
    }
    why = "redirects";
    if (hx_rd_uvarint(&d->r, &nx) || nx > n)
        goto bad;
    for (uint64_t i = 0; i < nx; i++) {
        uint64_t t, target;
        const char *v;
        if (hx_rd_uvarint(&d->r, &t) || t >= nt || !(v = str(d, HX_GRAPH_ID_MAX)) || !hx_graph_id_valid(v) ||
            es_node_slot(s, tmap[t], v) != ES_NONE || hx_rd_uvarint(&d->r, &target) || target >= nn ||
            s->nodes[nodes[target]].tenant != tmap[t])
            goto bad;
        uint32_t idx = es_node_new(s, tmap[t], v);
        if (idx == ES_NONE)
            goto oom;
        es_node_t *x = &s->nodes[idx];
        x->state = ES_MERGED;
        x->merged_into = nodes[target];
        x->merged_gen = s->nodes[nodes[target]].gen;
        es_tstats(s, x->tenant)->nodes--;
        s->live_nodes--;
    }
    why = "relationships";
    if (hx_rd_uvarint(&d->r, &nr) || nr > n)
        goto bad;
    for (uint64_t i = 0; i < nr; i++) {
        uint64_t a, b;
        const char *v;
        if (hx_rd_uvarint(&d->r, &a) || a >= nn || hx_rd_uvarint(&d->r, &b) || b >= nn ||
            s->nodes[nodes[a]].tenant != s->nodes[nodes[b]].tenant || !(v = str(d, HX_GRAPH_TYPE_MAX)) ||
            !hx_graph_rel_type_valid(v))
            goto bad;
        uint32_t ty = es_intern(&s->rtypes, v, 1), r, before = s->n_rels;
        if (ty == ES_NONE || ty > UINT16_MAX || es_rel_link(s, nodes[a], (uint16_t)ty, nodes[b], &r))
            goto oom;
        if (s->n_rels == before) /* the same relationship twice */
            goto bad;
        es_rel_t *x = &s->rels[r];
        if (f64(d, &x->strength) || x->strength < 0 || !(v = str(d, HX_GRAPH_PROPS_BYTES * 2)) || !props_ok(v) ||
            set_dup(&x->props, v) || hx_rd_svarint(&d->r, &x->created) || hx_rd_svarint(&d->r, &x->updated))
            goto bad;
    }
    why = "trailing bytes";
    if (hx_rd_left(&d->r))
        goto bad;
    atomic_fetch_add(&s->loaded, nn + nr);
    rc = HX_OK;
    goto done;
oom:
    rc = hx_err_set(err, HX_ENOMEM, "out of memory loading a graph snapshot");
    goto done;
bad:
    rc = hx_err_set(err, HX_ECORRUPT, "graph snapshot is damaged (%s at byte %zu of %zu)", why, d->r.pos + 4, n);
done:
    free(tmap);
    free(nodes);
    free(d);
    return rc;
}

/* ---- files ---- */

static int snap_name(const char *name, uint64_t *seq)
{
    unsigned long long v;
    char tail[8];
    if (strlen(name) != 29 || sscanf(name, "snapshot-%16llx.%7s", &v, tail) != 2 || strcmp(tail, "bin"))
        return 0;
    *seq = v;
    return 1;
}

/* The newest snapshot's seq (0 and *found = 0 when none). */
static int newest(const char *dir, uint64_t *seq, int *found, hx_err_t *err)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return hx_err_set(err, HX_EIO, "cannot read graph store directory %s: %s", dir, strerror(errno));
    struct dirent *de;
    *found = 0;
    *seq = 0;
    while ((de = readdir(dp))) {
        uint64_t v;
        if (snap_name(de->d_name, &v) && (!*found || v > *seq)) {
            *seq = v;
            *found = 1;
        }
    }
    closedir(dp);
    return HX_OK;
}

int es_snapshot_save(const char *dir, uint64_t seq, const hx_buf_t *img, hx_err_t *err)
{
    char tmp[PATH_MAX + 32], path[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s/snapshot.tmp", dir);
    snprintf(path, sizeof path, "%s/snapshot-%016" PRIx64 ".bin", dir, seq);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return hx_err_set(err, HX_EIO, "cannot write %s: %s", tmp, strerror(errno));
    size_t done = 0;
    int bad = 0;
    while (done < img->len && !bad) {
        ssize_t n = write(fd, img->data + done, img->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        bad = n <= 0;
        done += n > 0 ? (size_t)n : 0;
    }
    bad = bad || fsync(fd) != 0;
    int e = errno;
    close(fd);
    if (bad || rename(tmp, path) || hx_fsync_dir(dir)) {
        unlink(tmp);
        return hx_err_set(err, HX_EIO, "cannot write graph snapshot %s: %s", path, strerror(bad ? e : errno));
    }
    DIR *dp = opendir(dir);
    struct dirent *de;
    while (dp && (de = readdir(dp))) {
        uint64_t v;
        if (snap_name(de->d_name, &v) && v < seq) {
            char old[PATH_MAX + 300];
            snprintf(old, sizeof old, "%s/%s", dir, de->d_name);
            if (unlink(old))
                HX_WARN("graph", "cannot remove old snapshot %s: %s", old, strerror(errno));
        }
    }
    if (dp)
        closedir(dp);
    return HX_OK;
}

int es_snapshot_load(es_store_t *s, const char *dir, uint64_t *seq, int64_t *bytes, hx_err_t *err)
{
    int found = 0;
    *bytes = 0;
    int rc = newest(dir, seq, &found, err);
    if (rc || !found)
        return rc;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/snapshot-%016" PRIx64 ".bin", dir, *seq);
    unsigned char *p;
    size_t got;
    if ((rc = es_read_file(path, &p, &got, err)))
        return rc;
    uint64_t inner = 0;
    rc = es_snapshot_decode(s, p, got, &inner, err);
    free(p);
    if (!rc && inner != *seq)
        rc = hx_err_set(err, HX_ECORRUPT, "%s holds record %" PRIu64 ", not the one its name says", path, inner);
    if (rc)
        return hx_err_wrap(err, "%s (move the graph directory aside to rebuild it from the topic)", path);
    *bytes = (int64_t)got;
    return HX_OK;
}
