/* Snapshots of the memory engine: snapshots/<n>-full.snap holds every state,
 * <n>-incr.snap the states changed since the previous snapshot. File layout:
 *   "HXMS" | u8 version (1) | u8 codec (0 none, 1 zstd) | u32 crc32c of the
 *   payload | u64 raw length | payload
 * The raw text is one header line (JSON: kind, node, seq, hlc, wal_seg,
 * offsets of helixagent.memory.events, version vector, created_ms) and one
 * canonical state per line. Taking a snapshot rolls the WAL under the engine
 * lock, so the snapshot plus WAL segments >= wal_seg hold every acknowledged
 * local write, and the stored offsets say where remote deltas resume.
 * Restore = newest full + every later incremental + WAL from wal_seg. */
#include "helix/hx_clock.h"
#include "helix/hx_fs.h"
#include "helix/hx_hash.h"
#include "helix/hx_logger.h"
#include "memory/codec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* ZSTD_decompressBound: Debian's libzstd exports it. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#define SNAP_MAGIC "HXMS"
#define SNAP_HDR HX_MSNAP_HDR

typedef struct snap_file {
    uint64_t n;
    int full;
} snap_file_t;

static int cmp_snap(const void *a, const void *b)
{
    const snap_file_t *x = a, *y = b;
    return x->n < y->n ? -1 : x->n > y->n;
}

/* drop_partial (only at restore, when no snapshot is being written): also
 * removes the temporary files of snapshots a crash interrupted; their
 * rename never happened, so nothing refers to them. */
static int list_snaps(const char *dir, int drop_partial, snap_file_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? HX_OK : HX_EIO;
    struct dirent *e;
    size_t cap = 0;
    while ((e = readdir(d))) {
        uint64_t num;
        char kind[8];
        int end = 0;
        size_t l = strlen(e->d_name);
        if (drop_partial && l > 9 && !strcmp(e->d_name + l - 9, ".snap.tmp")) {
            char p[HX_CFG_STR + 320];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) == 0)
                HX_INFO("memory", "removed %s, a snapshot a crash interrupted", p);
            continue;
        }
        /* The whole name: "<n>-incr.snap.tmp", which a kill -9 during
         * hx_fs_write_atomic leaves behind, is not snapshot n (counted as
         * one, the restore then failed to open <n>-incr.snap and the node
         * did not start). */
        if (sscanf(e->d_name, "%16" SCNu64 "-%4[a-z].snap%n", &num, kind, &end) != 2 || !end ||
            e->d_name[end] || (strcmp(kind, "full") && strcmp(kind, "incr")))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            snap_file_t *nn = realloc(*out, cap * sizeof *nn);
            if (!nn) {
                closedir(d);
                return HX_ENOMEM;
            }
            *out = nn;
        }
        (*out)[*n].n = num;
        (*out)[(*n)++].full = !strcmp(kind, "full");
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_snap);
    return HX_OK;
}

static void snap_path(const hx_memory_t *m, uint64_t n, int full, char *out, size_t len)
{
    snprintf(out, len, "%s/snapshots/%016" PRIu64 "-%s.snap", m->dir, n, full ? "full" : "incr");
}

static json_t *header_json(hx_memory_t *m, int full, uint64_t wal_seg)
{
    json_t *offs = json_array(), *vv = json_array();
    for (int p = 0; p < m->nparts; p++)
        json_array_append_new(offs, json_integer(m->part_next[p]));
    for (size_t i = 0; i < m->norigins; i++) {
        const hx_origin_t *o = &m->origins[i];
        json_t *ex = json_array();
        for (size_t k = 0; k < o->nextra; k++)
            json_array_append_new(ex, json_integer((json_int_t)o->extra[k]));
        json_array_append_new(vv, json_pack("{s:s,s:I,s:o}", "node", o->node, "contig", (json_int_t)o->contig,
                                            "extra", ex));
    }
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:o,s:o}", "kind", full ? "full" : "incr", "node", m->node, "seq",
                     (json_int_t)m->seq, "hlc", (json_int_t)m->hlc.last, "wal_seg", (json_int_t)wal_seg,
                     "created_ms", (json_int_t)hx_now_ms(), "offsets", offs, "vv", vv);
}

static void apply_retention(hx_memory_t *m)
{
    char dir[HX_CFG_STR + 16];
    snprintf(dir, sizeof dir, "%s/snapshots", m->dir);
    snap_file_t *f = NULL;
    size_t n = 0;
    if (list_snaps(dir, 0, &f, &n) == 0 && n) {
        /* Never delete the newest full snapshot or anything after it: that
         * chain is what a restore needs. */
        size_t newest_full = n;
        for (size_t i = n; i-- > 0;)
            if (f[i].full) {
                newest_full = i;
                break;
            }
        size_t keep = (size_t)m->cfg.distributed_memory.snapshot.retention_count;
        for (size_t i = 0; i + keep < n && i < newest_full; i++) {
            char p[HX_CFG_STR + 64];
            snap_path(m, f[i].n, f[i].full, p, sizeof p);
            unlink(p);
        }
    }
    free(f);
}

int hx_msnap_encode(const void *raw, size_t len, int codec, unsigned char **file, size_t *flen, hx_err_t *err)
{
    *file = NULL;
    *flen = 0;
    size_t bound = codec ? ZSTD_compressBound(len) : len;
    unsigned char *f = malloc(SNAP_HDR + bound);
    if (!f)
        return hx_err_set(err, HX_ENOMEM, "out of memory compressing a snapshot");
    size_t plen = len;
    if (codec) {
        plen = ZSTD_compress(f + SNAP_HDR, bound, raw, len, 3);
        if (ZSTD_isError(plen)) {
            free(f);
            return hx_err_set(err, HX_EINTERNAL, "zstd: %s", ZSTD_getErrorName(plen));
        }
    } else if (len) {
        memcpy(f + SNAP_HDR, raw, len);
    }
    memcpy(f, SNAP_MAGIC, 4);
    f[4] = 1;
    f[5] = (unsigned char)(codec ? 1 : 0);
    hx_store_u32le(f + 6, hx_crc32c(0, f + SNAP_HDR, plen));
    hx_store_u64le(f + 10, len);
    *file = f;
    *flen = SNAP_HDR + plen;
    return HX_OK;
}

int hx_msnap_take(hx_memory_t *m, int full, hx_err_t *err)
{
    char dir[HX_CFG_STR + 16];
    snprintf(dir, sizeof dir, "%s/snapshots", m->dir);
    if (mkdir(dir, 0755) && errno != EEXIST)
        return hx_err_set(err, HX_EIO, "cannot create %s: %s", dir, strerror(errno));
    hx_buf_t raw = HX_BUF_INIT;
    uint64_t wal_seg = 0, num;
    int64_t offsets[HX_MEM_PARTS_MAX];
    size_t states = 0;
    pthread_mutex_lock(&m->mu);
    if (!full && m->snap_counter == 0)
        full = 1; /* an incremental needs a full one before it */
    int rc = hx_mwal_roll(m->wal, &wal_seg, err);
    json_t *hdr = rc ? NULL : header_json(m, full, wal_seg);
    char *ht = hdr ? json_dumps(hdr, JSON_COMPACT) : NULL;
    json_decref(hdr);
    if (!rc && (!ht || hx_buf_puts(&raw, ht) || hx_buf_putc(&raw, '\n')))
        rc = hx_err_set(err, HX_ENOMEM, "out of memory writing a snapshot");
    free(ht);
    for (size_t i = 0; !rc && i < m->store.cap; i++) {
        hx_mitem_t *it = m->store.slots[i];
        if (!it || (!full && !it->snap_dirty))
            continue;
        json_t *j = NULL;
        char *t = NULL;
        if (hx_mcrdt_to_json(it->s, &j) || !(t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) ||
            hx_buf_puts(&raw, t) || hx_buf_putc(&raw, '\n'))
            rc = hx_err_set(err, HX_ENOMEM, "out of memory writing a snapshot");
        json_decref(j);
        free(t);
        it->snap_dirty = 0;
        states++;
    }
    memcpy(offsets, m->part_next, sizeof offsets);
    num = ++m->snap_counter;
    pthread_mutex_unlock(&m->mu);
    int64_t now = hx_now_ms();
    if (!rc && !full && states == 0) {
        /* Nothing changed: no file, but the WAL roll above is harmless. */
        m->last_snap_ms = now;
        hx_buf_free(&raw);
        return HX_OK;
    }
    unsigned char *file = NULL;
    size_t flen = 0;
    if (!rc)
        rc = hx_msnap_encode(raw.data, raw.len, m->cfg.distributed_memory.snapshot.compression ? 1 : 0, &file, &flen,
                             err);
    hx_buf_free(&raw);
    char path[HX_CFG_STR + 64];
    snap_path(m, num, full, path, sizeof path);
    if (!rc && (rc = hx_fs_write_atomic(path, file, flen, err)))
        hx_err_wrap(err, "persisting a memory snapshot");
    free(file);
    if (rc) {
        /* The dirty marks are gone: make the next snapshot a full one. */
        m->last_full_ms = 0;
        return rc;
    }
    m->last_snap_ms = now;
    if (full)
        m->last_full_ms = now;
    hx_mwal_drop_before(m->wal, wal_seg);
    pthread_mutex_lock(&m->mu);
    memcpy(m->commit_next, offsets, sizeof offsets);
    m->commit_req = 1;
    pthread_mutex_unlock(&m->mu);
    apply_retention(m);
    HX_DEBUG("memory", "snapshot %s (%zu states)", path, states);
    return HX_OK;
}

int hx_memory_snapshot(hx_memory_t *m, int full, hx_err_t *err) { return hx_msnap_take(m, full, err); }

int hx_msnap_decode(const unsigned char *b, size_t got, char **raw, size_t *rawlen, hx_err_t *err)
{
    *raw = NULL;
    *rawlen = 0;
    if (got < SNAP_HDR || memcmp(b, SNAP_MAGIC, 4) || b[4] != 1 || b[5] > 1 ||
        hx_crc32c(0, b + SNAP_HDR, got - SNAP_HDR) != hx_load_u32le(b + 6))
        return hx_err_set(err, HX_ECORRUPT, "bad magic, version, codec or crc32c");
    /* The crc covers the payload only: check the length against it before
     * trusting it with an allocation. */
    uint64_t len = hx_load_u64le(b + 10);
    if (b[5] == 0 && len != got - SNAP_HDR)
        return hx_err_set(err, HX_ECORRUPT, "length mismatch");
    if (b[5] == 1) {
        /* Both the frame's declared size and what its blocks can really
         * produce, so a corrupt size never becomes a huge allocation. */
        unsigned long long fsz = ZSTD_getFrameContentSize(b + SNAP_HDR, got - SNAP_HDR),
                           bound = ZSTD_decompressBound(b + SNAP_HDR, got - SNAP_HDR);
        if (fsz == ZSTD_CONTENTSIZE_UNKNOWN || fsz == ZSTD_CONTENTSIZE_ERROR || fsz != len ||
            bound == ZSTD_CONTENTSIZE_ERROR || len > bound)
            return hx_err_set(err, HX_ECORRUPT, "zstd frame size does not match the header length");
    }
    char *out = len < SIZE_MAX ? malloc((size_t)len + 1) : NULL;
    if (!out)
        return hx_err_set(err, HX_ENOMEM, "cannot allocate %" PRIu64 " bytes", len);
    if (b[5] == 1) {
        size_t r = ZSTD_decompress(out, (size_t)len, b + SNAP_HDR, got - SNAP_HDR);
        if (ZSTD_isError(r) || r != len) {
            free(out);
            return hx_err_set(err, HX_ECORRUPT, "zstd payload does not decompress");
        }
    } else if (len) {
        memcpy(out, b + SNAP_HDR, (size_t)len);
    }
    out[len] = 0;
    *raw = out;
    *rawlen = (size_t)len;
    return HX_OK;
}

/* Reads, checks and decompresses one snapshot; *raw is NUL-terminated. */
static int load_file(const char *path, char **raw, size_t *rawlen, hx_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hx_err_set(err, HX_EIO, "cannot open snapshot %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = sz > 0 ? malloc((size_t)sz) : NULL;
    size_t got = b ? fread(b, 1, (size_t)sz, f) : 0;
    fclose(f);
    int rc = sz > 0 && !b ? hx_err_set(err, HX_ENOMEM, "out of memory reading snapshot %s", path)
             : got != (size_t)(sz > 0 ? sz : 0) ? hx_err_set(err, HX_EIO, "cannot read snapshot %s", path)
                                                : hx_msnap_decode(b, got, raw, rawlen, err);
    free(b);
    if (rc && rc != HX_ENOMEM && rc != HX_EIO)
        hx_err_wrap(err, "snapshot %s is corrupt", path);
    return rc;
}

static int apply_header(hx_memory_t *m, const json_t *h, uint64_t *wal_seg)
{
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(h, "seq"));
    if (seq > m->seq)
        m->seq = seq;
    hx_hlc_seed(&m->hlc, (uint64_t)json_integer_value(json_object_get(h, "hlc")));
    *wal_seg = (uint64_t)json_integer_value(json_object_get(h, "wal_seg"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(h, "offsets"), i, v) if (i < HX_MEM_PARTS_MAX)
    {
        m->part_next[i] = json_integer_value(v);
        /* Until the consumer has described the topic, snapshots keep these. */
        if ((int)i >= m->nparts)
            m->nparts = (int)i + 1;
    }
    json_array_foreach(json_object_get(h, "vv"), i, v)
    {
        const char *node = json_string_value(json_object_get(v, "node"));
        if (!node || strlen(node) >= HX_MNODE_MAX)
            return HX_ECORRUPT;
        hx_origin_t *o = hx_memory_origin(m, node, 1);
        if (!o)
            return HX_ENOMEM;
        uint64_t c = (uint64_t)json_integer_value(json_object_get(v, "contig"));
        if (c > o->contig)
            o->contig = c;
        free(o->extra);
        o->extra = NULL;
        o->nextra = o->capextra = 0;
        size_t k;
        json_t *x;
        json_t *ex = json_object_get(v, "extra");
        if (json_array_size(ex) && (o->extra = calloc(json_array_size(ex), sizeof *o->extra))) {
            o->capextra = json_array_size(ex);
            json_array_foreach(ex, k, x) if ((uint64_t)json_integer_value(x) > o->contig) o->extra[o->nextra++] =
                (uint64_t)json_integer_value(x);
        }
    }
    return HX_OK;
}

static int restore_one(hx_memory_t *m, const char *path, uint64_t *wal_seg, hx_err_t *err)
{
    char *raw = NULL;
    size_t len = 0;
    int rc = load_file(path, &raw, &len, err);
    if (rc)
        return rc;
    char *line = raw, *end;
    int first = 1;
    size_t n = 0;
    while (!rc && *line) {
        end = strchr(line, '\n');
        size_t ll = end ? (size_t)(end - line) : strlen(line);
        json_error_t je;
        json_t *j = json_loadb(line, ll, 0, &je);
        if (!j) {
            rc = hx_err_set(err, HX_ECORRUPT, "snapshot %s: line %zu is not JSON: %s", path, n + 1, je.text);
        } else if (first) {
            if ((rc = apply_header(m, j, wal_seg)))
                hx_err_set(err, rc, "snapshot %s: %s", path,
                           rc == HX_ENOMEM ? "out of memory applying its header" : "its header names a bad node id");
            first = 0;
        } else {
            hx_mcrdt_t *d = NULL;
            hx_join_info_t info;
            if (!(rc = hx_mcrdt_from_json(j, &d, err))) {
                hx_hlc_seed(&m->hlc, hx_mcrdt_max_hlc(d));
                rc = hx_memory_apply_state(m, d, 0, &info);
                hx_mitem_t *it = hx_mstore_get(&m->store, d->tenant, d->id);
                if (it)
                    it->snap_dirty = 0;
            }
            hx_mcrdt_free(d);
        }
        json_decref(j);
        n++;
        line = end ? end + 1 : line + ll;
    }
    free(raw);
    return rc;
}

int hx_msnap_restore(hx_memory_t *m, uint64_t *wal_seg, hx_err_t *err)
{
    char dir[HX_CFG_STR + 16];
    snprintf(dir, sizeof dir, "%s/snapshots", m->dir);
    snap_file_t *f = NULL;
    size_t n = 0;
    *wal_seg = 0;
    int rc = list_snaps(dir, 1, &f, &n);
    if (rc) {
        free(f);
        return hx_err_set(err, rc, "cannot list %s", dir);
    }
    size_t start = n;
    for (size_t i = n; i-- > 0;)
        if (f[i].full) {
            start = i;
            break;
        }
    for (size_t i = start; !rc && i < n; i++) {
        char p[HX_CFG_STR + 64];
        snap_path(m, f[i].n, f[i].full, p, sizeof p);
        rc = restore_one(m, p, wal_seg, err);
    }
    if (n)
        m->snap_counter = f[n - 1].n;
    if (!rc && start < n)
        HX_INFO("memory", "restored snapshot %016" PRIu64 " + %zu incremental(s); WAL from segment %" PRIu64,
                f[start].n, n - start - 1, *wal_seg);
    free(f);
    return rc;
}
