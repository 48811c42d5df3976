/* From a message to graph ops: the entities of the text (extract.c) with
 * their dates and numbers, the Conversation and User nodes, and the
 * relationships between them (hx_graph_extract_message in hx_graph.h). */
#include "graph/extract/extract.h"

#include <stdlib.h>
#include <string.h>

int hx_graph_extractor_new(const hx_config_t *cfg, hx_graph_extractor_t **out, hx_err_t *err)
{
    hx_graph_extractor_t *x = calloc(1, sizeof *x);
    if (!x)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    int rc = xd_load(&x->dict, (const char *)hx_graph_dictionary, hx_graph_dictionary_len, err);
    if (rc) {
        free(x);
        return hx_err_wrap(err, "the built-in entity dictionary (src/graph/extract/dictionary.txt)");
    }
    x->window = cfg ? cfg->graph.extract.window_sentences : 3;
    x->max_entities = cfg ? cfg->graph.extract.max_entities : 64;
    *out = x;
    return HX_OK;
}

void hx_graph_extractor_free(hx_graph_extractor_t *x)
{
    if (!x)
        return;
    xd_free(&x->dict);
    free(x);
}

static int by_count(const void *pa, const void *pb)
{
    const xent_t *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return a->first < b->first ? -1 : a->first > b->first;
}

static int by_first(const void *pa, const void *pb)
{
    const xent_t *a = pa, *b = pb;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* The entities of text, most frequent first when there are more than max. */
static int extract(hx_graph_extractor_t *x, const char *text, size_t max, xents_t *e, hx_err_t *err)
{
    if (xx_extract(x, text, strlen(text), e))
        return hx_err_set(err, HX_ENOMEM, "out of memory extracting entities");
    if (e->n > max) {
        qsort(e->e, e->n, sizeof *e->e, by_count);
        for (size_t i = max; i < e->n; i++)
            free(e->e[i].sents);
        e->n = max;
    }
    if (e->n > 1)
        qsort(e->e, e->n, sizeof *e->e, by_first);
    return HX_OK;
}

int hx_graph_extract_entities(hx_graph_extractor_t *x, const char *text, hx_graph_found_t *found, size_t max,
                              size_t *n, hx_err_t *err)
{
    xents_t e;
    *n = 0;
    int rc = extract(x, text ? text : "", (size_t)x->max_entities, &e, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < e.n && *n < max; i++) {
        hx_graph_found_t *f = &found[(*n)++];
        snprintf(f->type, sizeof f->type, "%s", e.e[i].type);
        snprintf(f->name, sizeof f->name, "%s", e.e[i].name);
        f->confidence = e.e[i].confidence;
        f->count = e.e[i].count;
    }
    xx_free(&e);
    return HX_OK;
}

/* Smallest sentence distance between two entities' occurrences. */
static uint32_t distance(const xent_t *a, const xent_t *b)
{
    uint32_t best = UINT32_MAX;
    for (size_t i = 0, j = 0; i < a->n_sents && j < b->n_sents;) {
        uint32_t x = a->sents[i], y = b->sents[j];
        uint32_t d = x > y ? x - y : y - x;
        if (d < best)
            best = d;
        if (x < y)
            i++;
        else
            j++;
    }
    return best;
}

/* {"dates":[...],"numbers":[...]} of the sentences e occurs in (5 each). */
static json_t *props_of(const xents_t *all, const xent_t *e)
{
    json_t *dates = NULL, *nums = NULL;
    for (size_t i = 0; i < all->n_props; i++) {
        const struct xprop *p = &all->props[i];
        int in = 0;
        for (size_t k = 0; k < e->n_sents && !in; k++)
            in = e->sents[k] == p->sent;
        if (!in || !hx_utf8_valid(p->text, strlen(p->text)))
            continue;
        json_t **arr = p->date ? &dates : &nums;
        if (!*arr)
            *arr = json_array();
        if (json_array_size(*arr) >= 5)
            continue;
        size_t k;
        json_t *v;
        int dup = 0;
        json_array_foreach(*arr, k, v) dup |= !strcmp(json_string_value(v), p->text);
        if (!dup)
            json_array_append_new(*arr, json_string(p->text));
    }
    if (!dates && !nums)
        return NULL;
    json_t *o = json_object();
    if (dates)
        json_object_set_new(o, "dates", dates);
    if (nums)
        json_object_set_new(o, "numbers", nums);
    return o;
}

static const char *copy(hx_graph_ops_t *o, const char *s)
{
    return hx_graph_arena_strn(&o->arena_, s, strlen(s));
}

static hx_graph_op_t *node_op(hx_graph_ops_t *out, const hx_graph_message_t *m, const char *label, const char *type,
                              const char *name, const char **id)
{
    char buf[17];
    hx_graph_entity_id(m->tenant, type, name, buf);
    hx_graph_op_t *op = hx_graph_ops_add(out);
    if (!op || !(*id = copy(out, buf)))
        return NULL;
    *op = (hx_graph_op_t){.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = m->tenant, .ts_ms = m->ts_ms, .id = *id,
                          .label = label, .type = type, .name = copy(out, name), .mentions = 1, .confidence = 1.0};
    return op->name ? op : NULL;
}

static int rel_op(hx_graph_ops_t *out, const hx_graph_message_t *m, const char *from, const char *type,
                  const char *to, double strength)
{
    hx_graph_op_t *op = hx_graph_ops_add(out);
    if (!op)
        return HX_ENOMEM;
    *op = (hx_graph_op_t){.kind = HX_GRAPH_OP_REL_UPSERT, .tenant = m->tenant, .ts_ms = m->ts_ms, .from = from,
                          .to = to, .rel_type = type, .strength = strength};
    return HX_OK;
}

int hx_graph_extract_message(hx_graph_extractor_t *x, const hx_graph_message_t *m, hx_graph_ops_t *out,
                             hx_err_t *err)
{
    xents_t e;
    int rc = extract(x, m->content ? m->content : "", (size_t)x->max_entities, &e, err);
    if (rc)
        return rc;
    const char **ids = e.n ? calloc(e.n, sizeof *ids) : NULL;
    const char *conv = NULL, *user = NULL;
    rc = e.n && !ids ? HX_ENOMEM : HX_OK;
    for (size_t i = 0; i < e.n && !rc; i++) {
        char id[17];
        const xent_t *en = &e.e[i];
        hx_graph_entity_id(m->tenant, en->type, en->name, id);
        hx_graph_op_t *op = hx_graph_ops_add(out);
        const char **al = en->n_surface ? hx_graph_arena_alloc(&out->arena_, (size_t)en->n_surface * sizeof *al)
                                        : NULL;
        if (!op || !(ids[i] = copy(out, id)) || (en->n_surface && !al)) {
            rc = HX_ENOMEM;
            break;
        }
        *op = (hx_graph_op_t){.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = m->tenant, .ts_ms = m->ts_ms,
                              .id = ids[i], .label = HX_GRAPH_LABEL_ENTITY, .type = copy(out, en->type),
                              .name = copy(out, en->name), .aliases = al, .n_aliases = (size_t)en->n_surface,
                              .mentions = en->count, .confidence = en->confidence};
        for (int k = 0; k < en->n_surface; k++)
            if (!(al[k] = copy(out, en->surface[k])))
                rc = HX_ENOMEM;
        op->properties = props_of(&e, en);
        if (!op->type || !op->name)
            rc = HX_ENOMEM;
    }
    if (!rc && m->conversation_id && m->conversation_id[0] &&
        !node_op(out, m, HX_GRAPH_LABEL_CONVERSATION, "conversation", m->conversation_id, &conv))
        rc = HX_ENOMEM;
    if (!rc && m->user_id && m->user_id[0] && !node_op(out, m, HX_GRAPH_LABEL_USER, "user", m->user_id, &user))
        rc = HX_ENOMEM;
    for (size_t i = 0; i < e.n && !rc; i++)
        for (size_t j = i + 1; j < e.n && !rc; j++) {
            uint32_t d = distance(&e.e[i], &e.e[j]);
            if (d >= (uint32_t)x->window)
                continue;
            int lt = strcmp(ids[i], ids[j]) < 0;
            if (strcmp(ids[i], ids[j]))
                rc = rel_op(out, m, lt ? ids[i] : ids[j], HX_GRAPH_REL_CO_OCCURS, lt ? ids[j] : ids[i],
                            d == 0 ? 1.0 : 0.5);
        }
    for (size_t i = 0; i < e.n && !rc; i++) {
        if (conv)
            rc = rel_op(out, m, ids[i], HX_GRAPH_REL_MENTIONED_IN, conv, (double)e.e[i].count);
        if (!rc && user)
            rc = rel_op(out, m, user, HX_GRAPH_REL_MENTIONS, ids[i], (double)e.e[i].count);
    }
    free(ids);
    xx_free(&e);
    return rc ? hx_err_set(err, rc, "out of memory turning a message into graph ops") : HX_OK;
}
