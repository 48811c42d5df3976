/* Group inspection: the Kafka admin API (ListConsumerGroups,
 * DescribeConsumerGroups, ListConsumerGroupOffsets) with watermarks for lag.
 * Brokers without those requests (librdkafka's mock cluster) answer
 * "unsupported"; then the answer comes from what this process saw: the
 * groups its consumers joined, their live members and their commits. */
#include "stream/kafka/kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

kf_group_t *kf_group_get_locked(kf_t *k, const char *name, int create)
{
    for (kf_group_t *g = k->groups; g; g = g->next)
        if (strcmp(g->name, name) == 0)
            return g;
    if (!create)
        return NULL;
    kf_group_t *g = calloc(1, sizeof *g);
    if (!g || !(g->name = strdup(name))) {
        free(g);
        return NULL;
    }
    g->next = k->groups;
    k->groups = g;
    return g;
}

void kf_group_record_commit(kf_t *k, const char *group, const char *topic, int32_t partition, int64_t offset)
{
    pthread_mutex_lock(&k->mu);
    kf_group_t *g = kf_group_get_locked(k, group, 1);
    kf_commit_t *c = g ? g->commits : NULL;
    while (c && !(c->partition == partition && strcmp(c->topic, topic) == 0))
        c = c->next;
    if (g && !c && (c = calloc(1, sizeof *c))) {
        if ((c->topic = strdup(topic))) {
            c->partition = partition;
            c->next = g->commits;
            g->commits = c;
        } else {
            free(c);
            c = NULL;
        }
    }
    if (c)
        c->offset = offset;
    pthread_mutex_unlock(&k->mu);
}

void kf_groups_free(kf_t *k)
{
    while (k->groups) {
        kf_group_t *g = k->groups;
        k->groups = g->next;
        while (g->commits) {
            kf_commit_t *c = g->commits;
            g->commits = c->next;
            free(c->topic);
            free(c);
        }
        free(g->name);
        free(g);
    }
    while (k->topic_cfgs) {
        kf_topic_cfg_t *t = k->topic_cfgs;
        k->topic_cfgs = t->next;
        free(t->name);
        free(t);
    }
}

static int names_add(hx_name_list_t *out, const char *name)
{
    for (size_t i = 0; i < out->count; i++)
        if (strcmp(out->names[i], name) == 0)
            return HX_OK;
    char **nn = realloc(out->names, (out->count + 1) * sizeof *nn);
    if (!nn)
        return HX_ENOMEM;
    out->names = nn;
    if (!(out->names[out->count] = strdup(name)))
        return HX_ENOMEM;
    out->count++;
    return HX_OK;
}

/* 1 when the admin API answered (out, if not NULL, filled), 0 when the
 * broker lacks it. Remembers the answer in k->group_admin. */
static int admin_list(kf_t *k, hx_name_list_t *out)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->prod);
    char errstr[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(k->prod, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
    rd_kafka_AdminOptions_set_request_timeout(o, KF_ADMIN_TIMEOUT_MS, errstr, sizeof errstr);
    rd_kafka_ListConsumerGroups(k->prod, o, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, KF_ADMIN_TIMEOUT_MS * 2);
    int ok = 0;
    if (ev && !rd_kafka_event_error(ev)) {
        const rd_kafka_ListConsumerGroups_result_t *r = rd_kafka_event_ListConsumerGroups_result(ev);
        size_t n, ne;
        const rd_kafka_ConsumerGroupListing_t **gs = rd_kafka_ListConsumerGroups_result_valid(r, &n);
        rd_kafka_ListConsumerGroups_result_errors(r, &ne);
        ok = n > 0 || ne == 0;
        for (size_t i = 0; ok && out && i < n; i++)
            names_add(out, rd_kafka_ConsumerGroupListing_group_id(gs[i]));
    }
    __atomic_store_n(&k->group_admin, ok, __ATOMIC_RELAXED);
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return ok;
}

/* Whether to use the group admin API at all. A cluster without the admin
 * API (the mock) is not asked: librdkafka 2.0 leaks a little on each
 * unsupported ListConsumerGroups. */
static int admin_groups_probe(kf_t *k)
{
    if (k->mock || !kf_admin_supported(k)) {
        __atomic_store_n(&k->group_admin, 0, __ATOMIC_RELAXED);
        return 0;
    }
    return admin_list(k, NULL);
}

int kf_group_list(void *impl, hx_name_list_t *out, hx_err_t *err)
{
    kf_t *k = impl;
    memset(out, 0, sizeof *out);
    int has = __atomic_load_n(&k->group_admin, __ATOMIC_RELAXED);
    if (has < 0)
        has = admin_groups_probe(k);
    if (has && admin_list(k, out))
        return HX_OK;
    pthread_mutex_lock(&k->mu);
    int rc = HX_OK;
    for (kf_group_t *g = k->groups; g && !rc; g = g->next)
        rc = names_add(out, g->name);
    pthread_mutex_unlock(&k->mu);
    if (rc) {
        hx_name_list_free(out);
        return hx_err_set(err, HX_ENOMEM, "out of memory listing groups");
    }
    return HX_OK;
}

static int offsets_push(hx_group_info_t *gi, const char *topic, int32_t partition, int64_t committed)
{
    hx_group_offset_t *no = realloc(gi->offsets, (gi->n_offsets + 1) * sizeof *no);
    if (!no)
        return HX_ENOMEM;
    gi->offsets = no;
    hx_group_offset_t *o = &gi->offsets[gi->n_offsets++];
    memset(o, 0, sizeof *o);
    snprintf(o->topic, sizeof o->topic, "%s", topic);
    o->partition = partition;
    o->committed = committed;
    return HX_OK;
}

/* Fills watermarks and lag of every offset entry. */
static void fill_lag(kf_t *k, hx_group_info_t *gi)
{
    for (size_t i = 0; i < gi->n_offsets; i++) {
        hx_group_offset_t *o = &gi->offsets[i];
        int64_t lo = 0, hi = 0;
        if (kf_watermarks(k, o->topic, o->partition, &lo, &hi, NULL))
            continue;
        o->high_watermark = hi;
        o->lag = hi - (o->committed >= 0 ? o->committed : lo);
    }
}

static int member_from_list(hx_group_member_t *m, const rd_kafka_topic_partition_list_t *l)
{
    m->assigned = calloc((size_t)(l ? l->cnt : 0) + 1, sizeof *m->assigned);
    if (!m->assigned)
        return HX_ENOMEM;
    for (int i = 0; l && i < l->cnt; i++) {
        snprintf(m->assigned[i].topic, sizeof m->assigned[i].topic, "%s", l->elems[i].topic);
        m->assigned[i].partition = l->elems[i].partition;
    }
    m->n_assigned = l ? (size_t)l->cnt : 0;
    return HX_OK;
}

/* 1 when the admin API described the group (gi filled), 0 when the broker
 * lacks it, negative on a real error (err set). */
static int admin_describe(kf_t *k, const char *group_id, hx_group_info_t *gi, hx_err_t *err)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->prod);
    char errstr[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(k->prod, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    rd_kafka_AdminOptions_set_request_timeout(o, KF_ADMIN_TIMEOUT_MS, errstr, sizeof errstr);
    rd_kafka_DescribeConsumerGroups(k->prod, &group_id, 1, o, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, KF_ADMIN_TIMEOUT_MS * 2);
    int result = 0;
    if (ev && !rd_kafka_event_error(ev)) {
        size_t n;
        const rd_kafka_ConsumerGroupDescription_t **ds =
            rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
        const rd_kafka_error_t *ge = n == 1 ? rd_kafka_ConsumerGroupDescription_error(ds[0]) : NULL;
        if (n == 1 && !ge) {
            rd_kafka_consumer_group_state_t st = rd_kafka_ConsumerGroupDescription_state(ds[0]);
            if (st == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD) {
                result = hx_err_set(err, HX_ENOTFOUND, "group '%s' does not exist", group_id);
            } else {
                snprintf(gi->state, sizeof gi->state, "%s", rd_kafka_consumer_group_state_name(st));
                size_t nm = rd_kafka_ConsumerGroupDescription_member_count(ds[0]);
                gi->members = calloc(nm + 1, sizeof *gi->members);
                for (size_t i = 0; gi->members && i < nm; i++) {
                    const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(ds[0], i);
                    hx_group_member_t *m = &gi->members[gi->n_members++];
                    snprintf(m->member_id, sizeof m->member_id, "%s", rd_kafka_MemberDescription_consumer_id(md));
                    snprintf(m->client_id, sizeof m->client_id, "%s", rd_kafka_MemberDescription_client_id(md));
                    const rd_kafka_MemberAssignment_t *ma = rd_kafka_MemberDescription_assignment(md);
                    member_from_list(m, ma ? rd_kafka_MemberAssignment_partitions(ma) : NULL);
                }
                result = 1;
            }
        } else if (ge && rd_kafka_error_code(ge) != RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE) {
            result = hx_err_set(err, kf_code(rd_kafka_error_code(ge)), "kafka: describing group '%s' failed: %s",
                                group_id, rd_kafka_error_string(ge));
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    if (result == 1) {
        /* Committed offsets of every partition the group ever committed. */
        rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group_id, NULL);
        rd_kafka_ListConsumerGroupOffsets(k->prod, &req, 1, o, q);
        ev = rd_kafka_queue_poll(q, KF_ADMIN_TIMEOUT_MS * 2);
        if (ev && !rd_kafka_event_error(ev)) {
            size_t n;
            const rd_kafka_group_result_t **gr =
                rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
            const rd_kafka_topic_partition_list_t *pl = n == 1 ? rd_kafka_group_result_partitions(gr[0]) : NULL;
            for (int i = 0; pl && i < pl->cnt; i++)
                offsets_push(gi, pl->elems[i].topic, pl->elems[i].partition,
                             pl->elems[i].offset >= 0 ? pl->elems[i].offset : -1);
        }
        if (ev)
            rd_kafka_event_destroy(ev);
        rd_kafka_ListConsumerGroupOffsets_destroy(req);
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return result;
}

static int local_describe(kf_t *k, const char *group_id, hx_group_info_t *gi, hx_err_t *err)
{
    pthread_mutex_lock(&k->mu);
    kf_group_t *g = kf_group_get_locked(k, group_id, 0);
    if (!g) {
        pthread_mutex_unlock(&k->mu);
        return hx_err_set(err, HX_ENOTFOUND, "group '%s' does not exist", group_id);
    }
    size_t nm = 0;
    int assigned_all = 1;
    for (kf_consumer_t *c = g->members; c; c = c->next_member)
        nm++;
    gi->members = calloc(nm + 1, sizeof *gi->members);
    int rc = gi->members ? HX_OK : HX_ENOMEM;
    for (kf_consumer_t *c = g->members; c && !rc; c = c->next_member) {
        hx_group_member_t *m = &gi->members[gi->n_members++];
        char *mid = rd_kafka_memberid(c->rk);
        snprintf(m->member_id, sizeof m->member_id, "%s", mid ? mid : "");
        if (mid)
            rd_kafka_mem_free(c->rk, mid);
        snprintf(m->client_id, sizeof m->client_id, "%s", c->opts.client_id ? c->opts.client_id : "helix-consumer");
        pthread_mutex_lock(&c->mu);
        m->assigned = calloc(c->n_pos + 1, sizeof *m->assigned);
        for (size_t i = 0; m->assigned && i < c->n_pos; i++) {
            snprintf(m->assigned[i].topic, sizeof m->assigned[i].topic, "%s", c->pos[i].topic);
            m->assigned[i].partition = c->pos[i].partition;
        }
        m->n_assigned = m->assigned ? c->n_pos : 0;
        assigned_all &= c->assigned_once;
        pthread_mutex_unlock(&c->mu);
    }
    for (kf_commit_t *c = g->commits; c && !rc; c = c->next)
        rc = offsets_push(gi, c->topic, c->partition, c->offset);
    pthread_mutex_unlock(&k->mu);
    if (rc)
        return hx_err_set(err, HX_ENOMEM, "out of memory describing group '%s'", group_id);
    snprintf(gi->state, sizeof gi->state, "%s", nm == 0 ? "Empty" : assigned_all ? "Stable" : "PreparingRebalance");
    return HX_OK;
}

int kf_group_describe(void *impl, const char *group_id, hx_group_info_t *out, hx_err_t *err)
{
    kf_t *k = impl;
    memset(out, 0, sizeof *out);
    snprintf(out->group_id, sizeof out->group_id, "%s", group_id);
    out->generation = -1; /* not exposed by the admin API */
    /* Only ask DescribeConsumerGroups of brokers that list groups: on the
     * mock cluster (librdkafka 2.0) an unsupported describe never releases
     * its handle reference and rd_kafka_destroy() hangs. */
    int has = __atomic_load_n(&k->group_admin, __ATOMIC_RELAXED);
    if (has < 0)
        has = admin_groups_probe(k);
    int rc = has ? admin_describe(k, group_id, out, err) : 0;
    if (rc < 0) {
        hx_group_info_free(out);
        return rc;
    }
    if (rc == 0 && (rc = local_describe(k, group_id, out, err))) {
        hx_group_info_free(out);
        return rc;
    }
    fill_lag(k, out);
    return HX_OK;
}
