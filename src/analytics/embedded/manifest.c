/* The MANIFEST: the one file that says which parts exist and where ingest
 * stands. Every change of the committed state (new parts from a flush or an
 * ingest batch, merges, TTL) writes a new MANIFEST next to the old one,
 * fsyncs it and renames it over: parts and offsets move together. */
#include "analytics/embedded/emb.h"
#include "helix/hx_fs.h"
#include "helix/hx_hash.h"
#include "helix/hx_logger.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAN_MAGIC 0x4d415848u /* "HXAM" */
#define MAN_VERSION 1

static int in_list(an_part_t *p, an_part_t **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == p)
            return 1;
    return 0;
}

static const an_change_t *change_of(const an_change_t *ch, size_t nch, const an_table_t *t)
{
    for (size_t i = 0; i < nch; i++)
        if (ch[i].t == t)
            return &ch[i];
    return NULL;
}

static int encode(an_store_t *s, const an_change_t *ch, size_t nch, const hx_an_offsets_t *off, hx_buf_t *b)
{
    int rc = hx_buf_put_u32le(b, MAN_MAGIC);
    rc = rc ? rc : hx_buf_put_u32le(b, MAN_VERSION);
    rc = rc ? rc : hx_buf_put_u64le(b, s->manifest_seq + 1);
    rc = rc ? rc : hx_buf_put_u64le(b, __atomic_load_n(&s->next_id, __ATOMIC_RELAXED));
    uint32_t noff = 0;
    for (int src = 0; src < HX_AN_NSRCS; src++)
        for (int p = 0; p < HX_AN_MAX_PARTITIONS; p++)
            noff += off->next[src][p] >= 0;
    rc = rc ? rc : hx_buf_put_u32le(b, noff);
    for (int src = 0; src < HX_AN_NSRCS && !rc; src++)
        for (int p = 0; p < HX_AN_MAX_PARTITIONS && !rc; p++)
            if (off->next[src][p] >= 0) {
                rc = hx_buf_put_u8(b, (uint8_t)src);
                rc = rc ? rc : hx_buf_put_u16le(b, (uint16_t)p);
                rc = rc ? rc : hx_buf_put_u64le(b, (uint64_t)off->next[src][p]);
            }
    rc = rc ? rc : hx_buf_put_u32le(b, HX_AN_NTABLES);
    for (int ti = 0; ti < HX_AN_NTABLES && !rc; ti++) {
        an_table_t *t = &s->tabs[ti];
        const an_change_t *c = change_of(ch, nch, t);
        pthread_rwlock_rdlock(&t->lock);
        uint32_t n = 0;
        for (size_t i = 0; i < t->nparts; i++)
            n += !t->parts[i]->mem && !(c && in_list(t->parts[i], c->remove, c->nremove));
        if (c)
            n += (uint32_t)c->nadd;
        rc = hx_buf_put_u32le(b, (uint32_t)ti);
        rc = rc ? rc : hx_buf_put_u32le(b, n);
        for (size_t i = 0; i < t->nparts && !rc; i++) {
            an_part_t *p = t->parts[i];
            if (p->mem || (c && in_list(p, c->remove, c->nremove)))
                continue;
            rc = hx_buf_put_u16le(b, (uint16_t)strlen(p->name));
            rc = rc ? rc : hx_buf_puts(b, p->name);
        }
        pthread_rwlock_unlock(&t->lock);
        for (size_t i = 0; c && i < c->nadd && !rc; i++) {
            rc = hx_buf_put_u16le(b, (uint16_t)strlen(c->add[i]->name));
            rc = rc ? rc : hx_buf_puts(b, c->add[i]->name);
        }
    }
    return rc ? rc : hx_buf_put_u32le(b, hx_crc32c(0, b->data, b->len));
}

int an_commit(an_store_t *s, an_change_t *ch, size_t nch, const hx_an_offsets_t *offsets, int merge_rollup,
              hx_err_t *err)
{
    hx_buf_t b = HX_BUF_INIT;
    char path[HX_CFG_STR + 32];
    int rc = encode(s, ch, nch, offsets ? offsets : &s->offsets, &b);
    if (rc) {
        hx_buf_free(&b);
        return hx_err_set(err, HX_ENOMEM, "out of memory writing the analytics MANIFEST");
    }
    snprintf(path, sizeof path, "%s/MANIFEST", s->dir);
    rc = hx_fs_write_atomic(path, b.data, b.len, err);
    hx_buf_free(&b);
    if (rc)
        return rc;
    s->manifest_seq++;
    if (offsets)
        s->offsets = *offsets;
    /* Durable: now the same change in memory, one table at a time. A query
     * sees a table before or after, never half. */
    for (size_t i = 0; i < nch; i++) {
        an_table_t *t = ch[i].t;
        pthread_rwlock_wrlock(&t->lock);
        size_t w = 0;
        for (size_t k = 0; k < t->nparts; k++) {
            an_part_t *p = t->parts[k];
            if (in_list(p, ch[i].remove, ch[i].nremove)) {
                if (!p->mem)
                    p->doomed = 1;
                an_part_unref(p);
                continue;
            }
            t->parts[w++] = p;
        }
        t->nparts = w;
        int failed = 0;
        if (t->nparts + ch[i].nadd > t->cap) {
            size_t cap = (t->nparts + ch[i].nadd) * 2;
            an_part_t **np = realloc(t->parts, cap * sizeof *np);
            if (np) {
                t->parts = np;
                t->cap = cap;
            } else {
                failed = 1;
            }
        }
        for (size_t k = 0; k < ch[i].nadd; k++) {
            an_part_t *p = ch[i].add[k];
            if (merge_rollup && t->rollup && p->pending_rollup) {
                failed |= an_rollup_merge(t->rollup, p->pending_rollup) != 0;
                for (int l = 1; l < t->nlv; l++)
                    failed |= an_rollup_derive(&t->lv[l], p->pending_rollup) != 0;
            }
            if (p->pending_rollup) {
                an_rollup_free(p->pending_rollup);
                free(p->pending_rollup);
                p->pending_rollup = NULL;
            }
            if (t->nparts < t->cap)
                t->parts[t->nparts++] = p; /* the caller's reference moves to the list */
            else
                an_part_unref(p);
        }
        pthread_rwlock_unlock(&t->lock);
        if (failed) {
            /* The files and MANIFEST are right; only memory is short. A
             * restart rebuilds the state from them. */
            HX_ERROR("analytics", "out of memory applying a commit to %s; restart to reload it from disk",
                     t->def->name);
            rc = hx_err_set(err, HX_ENOMEM, "out of memory applying a commit to %s", t->def->name);
        }
    }
    return rc;
}

static int read_all(const char *path, unsigned char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? HX_ENOTFOUND : HX_EIO;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return HX_ENOMEM;
    if (bad) {
        free(buf);
        return HX_EIO;
    }
    *out = buf;
    *len = n;
    return HX_OK;
}

typedef struct {
    char **names;
    size_t n;
} name_set_t;

static int listed(const name_set_t *ns, const char *name)
{
    for (size_t i = 0; i < ns->n; i++)
        if (!strcmp(ns->names[i], name))
            return 1;
    return 0;
}

/* Removes what a crash left in a table directory: temp dirs and parts the
 * MANIFEST does not name. */
static void sweep(an_store_t *s, an_table_t *t, const name_set_t *keep)
{
    char dir[HX_CFG_STR + 96];
    snprintf(dir, sizeof dir, "%s/%s", s->dir, t->def->name);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || listed(keep, de->d_name))
            continue;
        char sub[HX_CFG_STR + 400];
        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
        HX_INFO("analytics", "removing %s: not part of the committed state (left by an interrupted write)", sub);
        hx_rm_rf(sub);
    }
    closedir(d);
}

int an_recover(an_store_t *s, hx_err_t *err)
{
    char path[HX_CFG_STR + 32], tmp[HX_CFG_STR + 40];
    snprintf(path, sizeof path, "%s/MANIFEST", s->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = read_all(path, &buf, &len);
    name_set_t sets[HX_AN_NTABLES] = {{0}};
    hx_an_offsets_clear(&s->offsets);
    if (rc == HX_ENOTFOUND) {
        for (int ti = 0; ti < HX_AN_NTABLES; ti++)
            sweep(s, &s->tabs[ti], &sets[ti]);
        return HX_OK;
    }
    if (rc)
        return hx_err_set(err, rc, "cannot read %s: %s", path, rc == HX_ENOMEM ? "out of memory" : strerror(errno));
    hx_rd_t r;
    hx_rd_init(&r, buf, len >= 4 ? len - 4 : 0);
    uint32_t magic = 0, ver = 0, noff = 0, ntab = 0;
    uint64_t seq = 0, next_id = 0;
    if (len < 4 || hx_load_u32le(buf + len - 4) != hx_crc32c(0, buf, len - 4))
        goto corrupt;
    hx_rd_u32le(&r, &magic);
    hx_rd_u32le(&r, &ver);
    hx_rd_u64le(&r, &seq);
    hx_rd_u64le(&r, &next_id);
    hx_rd_u32le(&r, &noff);
    if (!r.ok || magic != MAN_MAGIC || ver != MAN_VERSION)
        goto corrupt;
    for (uint32_t i = 0; i < noff; i++) {
        uint8_t src = 0;
        uint16_t p = 0;
        uint64_t next = 0;
        hx_rd_u8(&r, &src);
        hx_rd_u16le(&r, &p);
        if (hx_rd_u64le(&r, &next) || src >= HX_AN_NSRCS || p >= HX_AN_MAX_PARTITIONS)
            goto corrupt;
        s->offsets.next[src][p] = (int64_t)next;
    }
    if (hx_rd_u32le(&r, &ntab) || ntab != HX_AN_NTABLES)
        goto corrupt;
    for (uint32_t k = 0; k < ntab; k++) {
        uint32_t ti = 0, n = 0;
        hx_rd_u32le(&r, &ti);
        if (hx_rd_u32le(&r, &n) || ti >= HX_AN_NTABLES || sets[ti].names || n > hx_rd_left(&r) / 2)
            goto corrupt;
        sets[ti].names = calloc(n ? n : 1, sizeof(char *));
        if (!sets[ti].names)
            goto oom;
        for (uint32_t i = 0; i < n; i++) {
            uint16_t l = 0;
            const unsigned char *name;
            if (hx_rd_u16le(&r, &l) || !l || l >= 48 || hx_rd_raw(&r, l, &name) || memchr(name, '/', l) ||
                memchr(name, 0, l) || name[0] == '.')
                goto corrupt;
            if (!(sets[ti].names[i] = strndup((const char *)name, l)))
                goto oom;
            sets[ti].n++;
        }
    }
    if (hx_rd_left(&r))
        goto corrupt;
    s->manifest_seq = seq;
    s->next_id = next_id;
    for (int ti = 0; ti < HX_AN_NTABLES && !rc; ti++) {
        an_table_t *t = &s->tabs[ti];
        sweep(s, t, &sets[ti]);
        if (sets[ti].n) {
            t->parts = calloc(sets[ti].n, sizeof *t->parts);
            if (!t->parts)
                goto oom;
            t->cap = sets[ti].n;
        }
        for (size_t i = 0; i < sets[ti].n && !rc; i++) {
            an_part_t *p;
            rc = an_part_open(t, sets[ti].names[i], t->rollup, &p, err);
            if (rc == HX_EIO)
                rc = hx_err_set(err, HX_ECORRUPT,
                                "the analytics MANIFEST names part %s/%s, which cannot be read (%s)",
                                t->def->name, sets[ti].names[i], err ? err->msg : "");
            if (rc)
                break;
            t->parts[t->nparts++] = p;
            if (p->id >= s->next_id)
                s->next_id = p->id + 1;
        }
        for (int l = 1; l < t->nlv && !rc; l++)
            if (an_rollup_derive(&t->lv[l], t->rollup))
                goto oom;
    }
    goto done;
corrupt:
    rc = hx_err_set(err, HX_ECORRUPT,
                    "%s is corrupt: the analytics store cannot say which parts are committed; restore it or move "
                    "the analytics directory away to rebuild from the log",
                    path);
    goto done;
oom:
    rc = hx_err_set(err, HX_ENOMEM, "out of memory reading %s", path);
done:
    for (int ti = 0; ti < HX_AN_NTABLES; ti++) {
        for (size_t i = 0; i < sets[ti].n; i++)
            free(sets[ti].names[i]);
        free(sets[ti].names);
    }
    free(buf);
    return rc;
}
