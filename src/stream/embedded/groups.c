/* Embedded broker: the in-process group coordinator. Membership changes bump
 * the generation and recompute a range assignment per topic over the sorted
 * member ids; consumers notice the new generation on their next poll. All
 * functions here run with b->mu held (except list/describe, which take it). */
#include "stream/embedded/embedded.h"

#include "helix/hx_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static emb_group_t *group_find(emb_t *b, const char *id)
{
    for (emb_group_t *g = b->groups; g; g = g->next)
        if (strcmp(g->id, id) == 0)
            return g;
    return NULL;
}

static int subscribes(const emb_consumer_t *c, const char *topic)
{
    for (size_t i = 0; i < c->n_topics; i++)
        if (strcmp(c->topics[i], topic) == 0)
            return 1;
    return 0;
}

static int cmp_member(const void *a, const void *b)
{
    return strcmp((*(emb_consumer_t *const *)a)->member_id, (*(emb_consumer_t *const *)b)->member_id);
}

static int add_assignment(emb_consumer_t *c, const char *topic, int32_t p)
{
    hx_assignment_t *a = realloc(c->assigned, (c->n_assigned + 1) * sizeof *a);
    if (!a)
        return HX_ENOMEM;
    c->assigned = a;
    snprintf(a[c->n_assigned].topic, sizeof a[c->n_assigned].topic, "%s", topic);
    a[c->n_assigned].partition = p;
    c->n_assigned++;
    return HX_OK;
}

/* Range assignment: for each topic, members that subscribe to it (in id
 * order) get contiguous partition ranges, the first ones one extra. */
static void rebalance(emb_t *b, emb_group_t *g)
{
    g->generation++;
    qsort(g->members, g->n_members, sizeof *g->members, cmp_member);
    for (size_t i = 0; i < g->n_members; i++) {
        free(g->members[i]->assigned);
        g->members[i]->assigned = NULL;
        g->members[i]->n_assigned = 0;
    }
    for (size_t i = 0; i < g->n_members; i++)
        for (size_t t = 0; t < g->members[i]->n_topics; t++) {
            const char *topic = g->members[i]->topics[t];
            /* Handle each topic once: at its first subscriber. */
            size_t first = 0;
            while (first < i && !subscribes(g->members[first], topic))
                first++;
            if (first != i)
                continue;
            int nparts;
            if (hx_log_partition_count(b->log, topic, &nparts, NULL))
                continue;
            emb_consumer_t *subs[256];
            size_t ns = 0;
            for (size_t m = 0; m < g->n_members && ns < 256; m++)
                if (subscribes(g->members[m], topic))
                    subs[ns++] = g->members[m];
            size_t per = (size_t)nparts / ns, extra = (size_t)nparts % ns, p = 0;
            for (size_t m = 0; m < ns; m++) {
                size_t cnt = per + (m < extra);
                for (size_t k = 0; k < cnt; k++, p++)
                    add_assignment(subs[m], topic, (int32_t)p);
            }
        }
    emb_notify_data(b); /* wake pollers: they own new partitions */
}

int emb_group_join(emb_t *b, emb_consumer_t *c, const char *group_id, hx_err_t *err)
{
    if (strlen(group_id) >= sizeof((emb_group_t *)0)->id)
        return hx_err_set(err, HX_EINVAL, "group id is longer than 255 bytes");
    emb_group_t *g = group_find(b, group_id);
    if (!g) {
        g = calloc(1, sizeof *g);
        if (!g)
            return hx_err_set(err, HX_ENOMEM, "out of memory joining group '%s'", group_id);
        snprintf(g->id, sizeof g->id, "%s", group_id);
        g->next = b->groups;
        b->groups = g;
    }
    emb_consumer_t **m = realloc(g->members, (g->n_members + 1) * sizeof *m);
    if (!m)
        return hx_err_set(err, HX_ENOMEM, "out of memory joining group '%s'", group_id);
    g->members = m;
    snprintf(c->member_id, sizeof c->member_id, "%s-%d", c->client_id, ++g->next_member_seq);
    g->members[g->n_members++] = c;
    c->group = g;
    c->last_seen_ms = hx_now_ms();
    rebalance(b, g);
    return HX_OK;
}

void emb_group_leave(emb_t *b, emb_consumer_t *c)
{
    emb_group_t *g = c->group;
    if (!g)
        return;
    for (size_t i = 0; i < g->n_members; i++)
        if (g->members[i] == c) {
            memmove(&g->members[i], &g->members[i + 1], (g->n_members - i - 1) * sizeof *g->members);
            g->n_members--;
            break;
        }
    c->group = NULL;
    free(c->assigned);
    c->assigned = NULL;
    c->n_assigned = 0;
    rebalance(b, g);
}

void emb_groups_expire(emb_t *b, int64_t now_ms)
{
    for (emb_group_t *g = b->groups; g; g = g->next)
        for (size_t i = 0; i < g->n_members;) {
            emb_consumer_t *c = g->members[i];
            if (now_ms - c->last_seen_ms > c->opts.session_timeout_ms)
                emb_group_leave(b, c); /* the consumer rejoins on its next poll */
            else
                i++;
        }
}

void emb_groups_free(emb_t *b)
{
    emb_group_t *g = b->groups;
    while (g) {
        emb_group_t *next = g->next;
        for (size_t i = 0; i < g->n_members; i++)
            g->members[i]->group = NULL;
        free(g->members);
        free(g);
        g = next;
    }
    b->groups = NULL;
}

int emb_group_list(void *impl, hx_name_list_t *out, hx_err_t *err)
{
    emb_t *b = impl;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&b->mu);
    int rc = HX_OK;
    for (emb_group_t *g = b->groups; g && !rc; g = g->next) {
        if (g->n_members == 0)
            continue; /* listed below if it has commits */
        char **names = realloc(out->names, (out->count + 1) * sizeof *names);
        if (!names || !(names[out->count] = strdup(g->id))) {
            if (names)
                out->names = names;
            rc = HX_ENOMEM;
            break;
        }
        out->names = names;
        out->count++;
    }
    if (!rc)
        rc = emb_offsets_groups(b, out);
    pthread_mutex_unlock(&b->mu);
    if (rc) {
        hx_name_list_free(out);
        return hx_err_set(err, rc, "out of memory listing groups");
    }
    return HX_OK;
}

static int add_offset_row(hx_group_info_t *gi, const char *topic, int32_t p)
{
    for (size_t i = 0; i < gi->n_offsets; i++)
        if (gi->offsets[i].partition == p && strcmp(gi->offsets[i].topic, topic) == 0)
            return HX_OK;
    hx_group_offset_t *o = realloc(gi->offsets, (gi->n_offsets + 1) * sizeof *o);
    if (!o)
        return HX_ENOMEM;
    gi->offsets = o;
    memset(&o[gi->n_offsets], 0, sizeof *o);
    snprintf(o[gi->n_offsets].topic, sizeof o->topic, "%s", topic);
    o[gi->n_offsets].partition = p;
    o[gi->n_offsets].committed = -1;
    gi->n_offsets++;
    return HX_OK;
}

int emb_group_describe(void *impl, const char *group_id, hx_group_info_t *out, hx_err_t *err)
{
    emb_t *b = impl;
    memset(out, 0, sizeof *out);
    snprintf(out->group_id, sizeof out->group_id, "%s", group_id);
    pthread_mutex_lock(&b->mu);
    emb_group_t *g = group_find(b, group_id);
    int rc = emb_offsets_of_group(b, group_id, &out->offsets, &out->n_offsets);
    if (!rc && !out->n_offsets && (!g || !g->n_members)) {
        pthread_mutex_unlock(&b->mu);
        hx_group_info_free(out);
        return hx_err_set(err, HX_ENOTFOUND, "consumer group '%s' does not exist (no members, no commits)", group_id);
    }
    snprintf(out->state, sizeof out->state, "%s", g && g->n_members ? "Stable" : "Empty");
    out->generation = g ? g->generation : 0;
    if (!rc && g && g->n_members) {
        out->members = calloc(g->n_members, sizeof *out->members);
        rc = out->members ? HX_OK : HX_ENOMEM;
        for (size_t i = 0; !rc && i < g->n_members; i++) {
            emb_consumer_t *c = g->members[i];
            hx_group_member_t *m = &out->members[out->n_members++];
            snprintf(m->member_id, sizeof m->member_id, "%s", c->member_id);
            snprintf(m->client_id, sizeof m->client_id, "%s", c->client_id);
            if (c->n_assigned) {
                m->assigned = malloc(c->n_assigned * sizeof *m->assigned);
                if (!m->assigned) {
                    rc = HX_ENOMEM;
                    break;
                }
                memcpy(m->assigned, c->assigned, c->n_assigned * sizeof *m->assigned);
                m->n_assigned = c->n_assigned;
            }
            for (size_t a = 0; !rc && a < c->n_assigned; a++)
                rc = add_offset_row(out, c->assigned[a].topic, c->assigned[a].partition);
        }
    }
    pthread_mutex_unlock(&b->mu);
    for (size_t i = 0; !rc && i < out->n_offsets; i++) {
        hx_group_offset_t *o = &out->offsets[i];
        int64_t low = 0, high = 0;
        if (hx_log_watermarks(b->log, o->topic, o->partition, &low, &high, NULL))
            continue; /* topic deleted since the commit */
        o->high_watermark = high;
        o->lag = high - (o->committed >= 0 ? (o->committed > high ? high : o->committed) : low);
    }
    if (rc) {
        hx_group_info_free(out);
        return hx_err_set(err, HX_ENOMEM, "out of memory describing group '%s'", group_id);
    }
    return HX_OK;
}
