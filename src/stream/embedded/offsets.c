/* Embedded broker: committed offsets. They live in the internal compacted
 * topic __consumer_offsets (key "group\0topic\0partition", value the next
 * offset as 8 bytes LE), so commits get the log's durability and fsync policy
 * for free; at open the topic is replayed into this hash table. */
#include "stream/embedded/embedded.h"

#include "helix/hx_clock.h"
#include "helix/hx_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t bucket(const char *group, const char *topic, int32_t partition)
{
    char key[768];
    int n = snprintf(key, sizeof key, "%s/%s/%d", group, topic, partition);
    return hx_hash64(key, (size_t)(n > 0 ? n : 0)) % 256;
}

static emb_offset_t *find(emb_t *b, const char *group, const char *topic, int32_t partition)
{
    for (emb_offset_t *o = b->offsets[bucket(group, topic, partition)]; o; o = o->next)
        if (o->partition == partition && strcmp(o->group, group) == 0 && strcmp(o->topic, topic) == 0)
            return o;
    return NULL;
}

static int put(emb_t *b, const char *group, const char *topic, int32_t partition, int64_t offset)
{
    emb_offset_t *o = find(b, group, topic, partition);
    if (o) {
        o->offset = offset;
        return HX_OK;
    }
    o = calloc(1, sizeof *o);
    if (!o || !(o->group = strdup(group)) || !(o->topic = strdup(topic))) {
        if (o)
            free(o->group);
        free(o);
        return HX_ENOMEM;
    }
    o->partition = partition;
    o->offset = offset;
    size_t h = bucket(group, topic, partition);
    o->next = b->offsets[h];
    b->offsets[h] = o;
    return HX_OK;
}

int64_t emb_offsets_get(emb_t *b, const char *group, const char *topic, int32_t partition)
{
    emb_offset_t *o = find(b, group, topic, partition);
    return o ? o->offset : -1;
}

size_t emb_offset_key(const char *group, const char *topic, int32_t partition, char out[EMB_OFFSET_KEY_MAX])
{
    size_t gl = strnlen(group, 255), tl = strnlen(topic, HX_LOG_TOPIC_NAME_MAX);
    memcpy(out, group, gl);
    out[gl] = '\0';
    memcpy(out + gl + 1, topic, tl);
    out[gl + 1 + tl] = '\0';
    int pl = snprintf(out + gl + tl + 2, 16, "%d", partition);
    return gl + tl + 2 + (size_t)pl;
}

int emb_offset_parse(const void *key, size_t klen, const void *value, size_t vlen, emb_offset_rec_t *out)
{
    /* key: group \0 topic \0 partition-decimal; value: next offset, 8 bytes LE */
    const char *k = key, *end = k ? k + klen : NULL;
    if (!k || !value || vlen != 8)
        return 0;
    const char *t = memchr(k, 0, klen);
    const char *p = t ? memchr(t + 1, 0, (size_t)(end - t - 1)) : NULL;
    if (!t || !p || (size_t)(t - k) >= sizeof out->group || (size_t)(p - t - 1) >= sizeof out->topic || p == t + 1)
        return 0;
    size_t plen = (size_t)(end - p - 1);
    if (plen == 0 || plen > 5)
        return 0;
    int32_t part = 0;
    for (size_t i = 0; i < plen; i++) {
        char c = p[1 + i];
        if (c < '0' || c > '9')
            return 0;
        part = part * 10 + (c - '0');
    }
    int64_t off = (int64_t)hx_load_u64le(value);
    if (part >= HX_LOG_MAX_PARTITIONS || off < 0)
        return 0;
    memcpy(out->group, k, (size_t)(t - k) + 1);
    memcpy(out->topic, t + 1, (size_t)(p - t));
    out->partition = part;
    out->offset = off;
    return 1;
}

static int load_cb(void *ud, const hx_log_record_t *r)
{
    emb_t *b = ud;
    emb_offset_rec_t o;
    if (!emb_offset_parse(r->key, r->key_len, r->value, r->value_len, &o))
        return 0; /* not a commit this version wrote: skipped */
    return put(b, o.group, o.topic, o.partition, o.offset) ? HX_ENOMEM : 0;
}

int emb_offsets_load(emb_t *b, hx_err_t *err)
{
    int64_t low, high, next;
    int rc = hx_log_watermarks(b->log, HX_OFFSETS_TOPIC, 0, &low, &high, err);
    while (!rc && low < high) {
        rc = hx_log_read(b->log, HX_OFFSETS_TOPIC, 0, low, 1 << 20, 0, load_cb, b, &next, err);
        if (!rc && next <= low)
            break;
        low = next;
    }
    if (rc)
        hx_err_wrap(err, "loading committed offsets");
    return rc;
}

int emb_offsets_commit(emb_t *b, const char *group, const hx_assignment_t *tps, const int64_t *offs, size_t n,
                       hx_err_t *err)
{
    if (n == 0)
        return HX_OK;
    hx_log_record_t *recs = calloc(n, sizeof *recs);
    char (*keys)[EMB_OFFSET_KEY_MAX] = calloc(n, sizeof *keys);
    unsigned char (*vals)[8] = calloc(n, sizeof *vals);
    int rc = HX_OK;
    if (!recs || !keys || !vals) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory committing offsets");
        goto cleanup;
    }
    int64_t now = hx_now_ms();
    for (size_t i = 0; i < n; i++) {
        hx_store_u64le(vals[i], (uint64_t)offs[i]);
        recs[i].key = keys[i];
        recs[i].key_len = emb_offset_key(group, tps[i].topic, tps[i].partition, keys[i]);
        recs[i].value = vals[i];
        recs[i].value_len = 8;
        recs[i].timestamp_ms = now;
    }
    /* Appended before the table changes: an acknowledged commit is in the log. */
    if ((rc = hx_log_append(b->log, HX_OFFSETS_TOPIC, 0, recs, n, NULL, err)))
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        if (put(b, group, tps[i].topic, tps[i].partition, offs[i])) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory committing offsets");
            goto cleanup;
        }
        emb_update_lag(b, group, tps[i].topic, tps[i].partition, offs[i]);
    }
cleanup:
    free(recs);
    free(keys);
    free(vals);
    return rc;
}

void emb_update_lag(emb_t *b, const char *group, const char *topic, int32_t partition, int64_t committed)
{
    if (!b->metrics)
        return;
    int64_t low, high;
    if (hx_log_watermarks(b->log, topic, partition, &low, &high, NULL))
        return;
    char part[16];
    snprintf(part, sizeof part, "%d", partition);
    const char *l[] = {"embedded", group, topic, part};
    hx_gauge_set_labels(b->m_lag, l, (double)(high - (committed >= 0 ? committed : low)));
}

void emb_offsets_free(emb_t *b)
{
    for (int i = 0; i < 256; i++) {
        emb_offset_t *o = b->offsets[i];
        while (o) {
            emb_offset_t *next = o->next;
            free(o->group);
            free(o->topic);
            free(o);
            o = next;
        }
        b->offsets[i] = NULL;
    }
}

/* Groups with commits, for listings; caller holds b->mu. Adds names not yet in l. */
int emb_offsets_groups(emb_t *b, hx_name_list_t *l)
{
    for (int i = 0; i < 256; i++)
        for (emb_offset_t *o = b->offsets[i]; o; o = o->next) {
            size_t j = 0;
            while (j < l->count && strcmp(l->names[j], o->group) != 0)
                j++;
            if (j < l->count)
                continue;
            char **names = realloc(l->names, (l->count + 1) * sizeof *names);
            if (!names)
                return HX_ENOMEM;
            l->names = names;
            if (!(l->names[l->count] = strdup(o->group)))
                return HX_ENOMEM;
            l->count++;
        }
    return HX_OK;
}

/* Every commit of one group, for describe; caller holds b->mu. */
int emb_offsets_of_group(emb_t *b, const char *group, hx_group_offset_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    for (int i = 0; i < 256; i++)
        for (emb_offset_t *o = b->offsets[i]; o; o = o->next) {
            if (strcmp(o->group, group) != 0)
                continue;
            hx_group_offset_t *g = realloc(*out, (*n + 1) * sizeof *g);
            if (!g)
                return HX_ENOMEM;
            *out = g;
            memset(&g[*n], 0, sizeof g[*n]);
            snprintf(g[*n].topic, sizeof g[*n].topic, "%s", o->topic);
            g[*n].partition = o->partition;
            g[*n].committed = o->offset;
            (*n)++;
        }
    return HX_OK;
}
