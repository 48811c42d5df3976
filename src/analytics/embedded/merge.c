/* Background work of the embedded store: flushing mem parts to disk parts,
 * TTL and merges. One runner at a time (work_mu); ingest commits only add
 * parts, so the parts a merge or TTL picks stay put until its commit. */
#include "analytics/embedded/emb.h"
#include "helix/hx_clock.h"
#include "helix/hx_logger.h"

#include <stdlib.h>
#include <string.h>

int64_t an_ttl_cutoff(const an_table_t *t, int64_t now_s)
{
    if (t->ttl_days <= 0)
        return INT64_MIN;
    /* Whole days, so a rollup bucket (an hour or a day) is either all kept or
     * all expired and the rollups stay exact. */
    return hx_sql_floor_div(now_s, 86400) * 86400 - (int64_t)t->ttl_days * 86400;
}

static int64_t now_of(an_store_t *s, int64_t now_s)
{
    if (now_s)
        return now_s;
    return s->now_override ? s->now_override : hx_now_ms() / 1000;
}

typedef struct {
    an_part_t **v;
    size_t n, cap;
} plist_t;

static int plist_push(plist_t *l, an_part_t *p)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        an_part_t **nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return HX_ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = p;
    return HX_OK;
}

static void plist_release(plist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        an_part_unref(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* New parts for the rows of src, one per partition. */
static int build_by_partition(an_table_t *t, an_part_t **src, size_t n, int64_t cutoff, int level, plist_t *out,
                              hx_err_t *err)
{
    int64_t *parts = NULL;
    size_t np = 0;
    int rc = an_partitions_of(src, n, &parts, &np, err);
    for (size_t k = 0; k < np && !rc; k++) {
        an_part_t *p = NULL;
        rc = an_part_build(t, src, n, parts[k], cutoff, level, &p, err);
        if (!rc && p && (rc = plist_push(out, p))) {
            an_part_unref(p);
            rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        }
    }
    free(parts);
    return rc;
}

int an_flush_mem(an_store_t *s, hx_err_t *err)
{
    plist_t mem[HX_AN_NTABLES] = {{0}}, built[HX_AN_NTABLES] = {{0}};
    an_change_t ch[HX_AN_NTABLES];
    size_t nch = 0;
    int rc = HX_OK;
    int64_t now = now_of(s, 0);
    for (int ti = 0; ti < HX_AN_NTABLES && !rc; ti++) {
        an_table_t *t = &s->tabs[ti];
        pthread_rwlock_rdlock(&t->lock);
        for (size_t i = 0; i < t->nparts && !rc; i++)
            if (t->parts[i]->mem) {
                an_part_ref(t->parts[i]);
                if (plist_push(&mem[ti], t->parts[i])) {
                    an_part_unref(t->parts[i]);
                    rc = hx_err_set(err, HX_ENOMEM, "out of memory flushing");
                }
            }
        pthread_rwlock_unlock(&t->lock);
        if (!rc && mem[ti].n)
            rc = build_by_partition(t, mem[ti].v, mem[ti].n, an_ttl_cutoff(t, now), 0, &built[ti], err);
        if (!rc && mem[ti].n)
            ch[nch++] = (an_change_t){t, built[ti].v, built[ti].n, mem[ti].v, mem[ti].n};
    }
    if (!rc && nch) {
        pthread_mutex_lock(&s->commit_mu);
        rc = an_commit(s, ch, nch, NULL, 1, err);
        pthread_mutex_unlock(&s->commit_mu);
        if (!rc)
            for (int ti = 0; ti < HX_AN_NTABLES; ti++)
                built[ti].n = 0; /* the tables own them now */
    }
    for (int ti = 0; ti < HX_AN_NTABLES; ti++) {
        for (size_t i = 0; i < built[ti].n; i++)
            built[ti].v[i]->doomed = 1; /* never committed: remove the files */
        plist_release(&built[ti]);
        plist_release(&mem[ti]);
    }
    return rc;
}

/* TTL of one table: parts wholly expired are dropped, partly expired ones
 * rewritten without the old rows, rollup entries before the cutoff removed. */
static int ttl_table(an_store_t *s, an_table_t *t, int64_t now, int *did, hx_err_t *err)
{
    int64_t cutoff = an_ttl_cutoff(t, now);
    if (cutoff == INT64_MIN)
        return HX_OK;
    plist_t drop = {0}, rewrite = {0}, built = {0};
    int rc = HX_OK;
    uint64_t expired = 0;
    pthread_rwlock_rdlock(&t->lock);
    for (size_t i = 0; i < t->nparts && !rc; i++) {
        an_part_t *p = t->parts[i];
        if (p->mem || p->min_ts >= cutoff)
            continue;
        an_part_ref(p);
        rc = plist_push(p->max_ts < cutoff ? &drop : &rewrite, p);
        if (rc)
            an_part_unref(p);
        if (p->max_ts < cutoff)
            expired += p->rows;
    }
    pthread_rwlock_unlock(&t->lock);
    for (size_t i = 0; i < rewrite.n && !rc; i++) {
        size_t before = built.n;
        rc = build_by_partition(t, &rewrite.v[i], 1, cutoff, rewrite.v[i]->level, &built, err);
        size_t kept = 0;
        for (size_t k = before; k < built.n; k++)
            kept += built.v[k]->rows;
        expired += rewrite.v[i]->rows - kept;
    }
    if (!rc && (drop.n || rewrite.n)) {
        plist_t rm = {0};
        for (size_t i = 0; i < drop.n && !rc; i++)
            rc = plist_push(&rm, drop.v[i]);
        for (size_t i = 0; i < rewrite.n && !rc; i++)
            rc = plist_push(&rm, rewrite.v[i]);
        if (!rc) {
            an_change_t ch = {t, built.v, built.n, rm.v, rm.n};
            pthread_mutex_lock(&s->commit_mu);
            rc = an_commit(s, &ch, 1, NULL, 0, err);
            pthread_mutex_unlock(&s->commit_mu);
            if (!rc)
                built.n = 0;
        }
        free(rm.v);
        if (!rc) {
            *did = 1;
            HX_INFO("analytics", "TTL: %llu rows of %s older than %lld days removed", (unsigned long long)expired,
                    t->def->name, (long long)t->ttl_days);
        }
    }
    if (!rc && t->rollup) {
        pthread_rwlock_wrlock(&t->lock);
        for (int l = 0; l < t->nlv && !rc; l++) {
            int64_t mn = INT64_MAX;
            for (size_t i = 0; i < t->lv[l].n; i++)
                mn = t->lv[l].t[i] < mn ? t->lv[l].t[i] : mn;
            if (mn < cutoff)
                rc = an_rollup_expire(&t->lv[l], cutoff);
        }
        pthread_rwlock_unlock(&t->lock);
        if (rc)
            rc = hx_err_set(err, rc, "out of memory expiring the rollup of %s", t->def->name);
    }
    if (!rc)
        t->rows_expired += expired;
    for (size_t i = 0; i < built.n; i++)
        built.v[i]->doomed = 1;
    plist_release(&built);
    plist_release(&drop);
    plist_release(&rewrite);
    return rc;
}

static int cmp_rows(const void *a, const void *b)
{
    const an_part_t *x = *(an_part_t *const *)a, *y = *(an_part_t *const *)b;
    return x->rows < y->rows ? -1 : x->rows > y->rows;
}

/* Size class of a part: parts within a factor 4 of each other share one. */
static int size_class(size_t rows)
{
    int c = 0;
    while (rows >= 4) {
        rows /= 4;
        c++;
    }
    return c;
}

/* Picks the parts of one merge in partition `part` (sorted by rows in
 * cand): the smallest size class holding 4 or more parts, or, when the
 * partition has piled up 2 x merge_max_parts parts, its smallest parts. */
static size_t pick(an_store_t *s, an_part_t **cand, size_t n, size_t *first)
{
    size_t maxp = (size_t)s->cfg.analytics.merge_max_parts;
    if (n >= 2 * maxp) {
        *first = 0;
        return maxp;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        int c = size_class(cand[i]->rows);
        while (j < n && size_class(cand[j]->rows) == c)
            j++;
        if (j - i >= 4) {
            *first = i;
            return j - i < maxp ? j - i : maxp;
        }
        i = j;
    }
    return 0;
}

/* One merge in the table, if one is due (see pick), tiered so every row is
 * rewritten O(log n) times rather than on every flush. */
static int merge_table(an_store_t *s, an_table_t *t, int all, int *did, hx_err_t *err)
{
    plist_t disk = {0};
    int rc = HX_OK;
    pthread_rwlock_rdlock(&t->lock);
    for (size_t i = 0; i < t->nparts && !rc; i++) {
        an_part_t *p = t->parts[i];
        if (p->mem || (int64_t)p->rows >= s->cfg.analytics.merge_max_rows)
            continue;
        an_part_ref(p);
        if ((rc = plist_push(&disk, p)))
            an_part_unref(p);
    }
    pthread_rwlock_unlock(&t->lock);
    if (rc) {
        plist_release(&disk);
        return hx_err_set(err, rc, "out of memory");
    }
    if (disk.n > 1)
        qsort(disk.v, disk.n, sizeof *disk.v, cmp_rows);
    an_part_t *cand[4096];
    size_t take = 0, first = 0;
    int64_t part = -1;
    for (size_t i = 0; i < disk.n && !take; i++) {
        size_t n = 0;
        for (size_t k = 0; k < disk.n && n < 4096; k++)
            if (disk.v[k]->partition == disk.v[i]->partition)
                cand[n++] = disk.v[k];
        take = all && n >= 2 ? (n < (size_t)s->cfg.analytics.merge_max_parts ? n : (size_t)s->cfg.analytics.merge_max_parts)
                             : pick(s, cand, n, &first);
        if (all && take)
            first = 0;
        part = disk.v[i]->partition;
    }
    int64_t rows = 0;
    int level = 0;
    size_t keep = 0;
    while (keep < take && rows + (int64_t)cand[first + keep]->rows <= s->cfg.analytics.merge_max_rows) {
        rows += (int64_t)cand[first + keep]->rows;
        level = cand[first + keep]->level > level ? cand[first + keep]->level : level;
        keep++;
    }
    if (keep >= 2) {
        an_part_t *merged = NULL;
        uint64_t t0 = hx_mono_ns();
        rc = an_part_build(t, cand + first, keep, part, INT64_MIN, level + 1, &merged, err);
        if (!rc) {
            an_change_t ch = {t, merged ? &merged : NULL, merged ? 1 : 0, cand + first, keep};
            pthread_mutex_lock(&s->commit_mu);
            rc = an_commit(s, &ch, 1, NULL, 0, err);
            pthread_mutex_unlock(&s->commit_mu);
            if (rc && merged) {
                merged->doomed = 1;
                an_part_unref(merged);
            }
        }
        if (!rc) {
            t->merges++;
            *did = 1;
            HX_DEBUG("analytics", "merged %zu parts of %s/%lld (%lld rows) in %.1f ms", keep, t->def->name,
                     (long long)part, (long long)rows, (double)(hx_mono_ns() - t0) / 1e6);
        }
    }
    plist_release(&disk);
    return rc;
}

int an_maintain_once(an_store_t *s, int64_t now_s, int all, int *did, hx_err_t *err)
{
    int64_t now = now_of(s, now_s);
    *did = 0;
    int rc = HX_OK;
    for (int ti = 0; ti < HX_AN_NTABLES && !rc; ti++)
        rc = ttl_table(s, &s->tabs[ti], now, did, err);
    for (int ti = 0; ti < HX_AN_NTABLES && !rc && !*did; ti++)
        rc = merge_table(s, &s->tabs[ti], all, did, err);
    return rc;
}
