/* The graph engine: picks the backend, checks every op and query before a
 * backend sees it, runs the consumers, keeps the metrics, and renders
 * results as JSON the same way for every backend. */
#include "graph/graph_int.h"
#include "helix/hx_clock.h"
#include "helix/hx_logger.h"
#include "helix/hx_topics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Every backend: one row each. */
static const struct {
    const char *name;
    hx_graph_backend_open_fn open;
} backends[] = {
    {"embedded", hx_graph_embedded_open},
    {"neo4j", hx_graph_neo4j_open},
};

void hx_graph_opts_defaults(hx_graph_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->consume = 1;
    o->extract = 1;
}

static void metrics_init(hx_graph_t *g)
{
    hx_metrics_t *m = g->metrics;
    if (!m)
        return;
    const char *be[] = {g->ops->name};
    g->m_tx = hx_counter_child(hx_metrics_counter(m, "neo4j_transaction_committed_total",
                                                  "Graph store transactions committed (one per applied batch).",
                                                  "backend"), be);
    g->m_ops = hx_counter_child(hx_metrics_counter(m, "graph_ops_applied_total",
                                                   "Graph ops (entity and relationship changes) applied.", "backend"),
                                be);
    g->m_invalid = hx_counter_child(hx_metrics_counter(m, "graph_events_invalid_total",
                                                       "Records on helixagent.entities.updates that were not valid "
                                                       "graph events (skipped, logged).", "backend"), be);
    g->m_extracted = hx_counter_child(hx_metrics_counter(m, "graph_extraction_messages_total",
                                                         "Messages and memory writes the extractor turned into "
                                                         "graph events.", NULL), NULL);
    g->m_produced = hx_counter_child(hx_metrics_counter(m, "graph_extraction_events_total",
                                                        "Records the extractor produced on helixagent.entities.updates "
                                                        "(each holds the items of many messages).", NULL), NULL);
    g->m_hit_ratio = hx_gauge_child(hx_metrics_gauge(m, "neo4j_page_cache_hit_ratio",
                                                     "Graph store cache hit ratio: hits / (hits + misses) of record "
                                                     "reads (docs/graph.md says what counts per backend).", "backend"),
                                    be);
    g->m_store_bytes = hx_gauge_child(hx_metrics_gauge(m, "neo4j_store_size_bytes",
                                                       "Bytes the graph store uses on disk.", "backend"), be);
    g->m_nodes = hx_gauge_child(hx_metrics_gauge(m, "graph_nodes", "Nodes in the graph store (all tenants).",
                                                 "backend"), be);
    g->m_rels = hx_gauge_child(hx_metrics_gauge(m, "graph_relationships",
                                                "Relationships in the graph store (all tenants).", "backend"), be);
    g->m_extract_lag = hx_gauge_child(hx_metrics_gauge(m, "graph_extraction_lag_seconds",
                                                       "Age of the newest message the extractor has turned into "
                                                       "events, at the time it did (0 when idle).", NULL), NULL);
    g->m_apply_lag = hx_gauge_child(hx_metrics_gauge(m, "graph_apply_lag_seconds",
                                                     "Age of the newest graph event applied to the store, at the time "
                                                     "it was applied.", "backend"), be);
}

void hx_graph_refresh_metrics(hx_graph_t *g, int force)
{
    if (!g->metrics)
        return;
    int64_t now = hx_now_ms();
    if (!force && now - g->metrics_refreshed_ms < 1000)
        return;
    g->metrics_refreshed_ms = now;
    hx_graph_stats_t st;
    if (g->ops->stats(g->impl, &st, NULL))
        return;
    uint64_t total = st.cache_hits + st.cache_misses;
    hx_gauge_set(g->m_hit_ratio, total ? (double)st.cache_hits / (double)total : 1.0);
    hx_gauge_set(g->m_store_bytes, (double)st.store_bytes);
    hx_gauge_set(g->m_nodes, (double)st.nodes);
    hx_gauge_set(g->m_rels, (double)st.relationships);
}

static int start_threads(hx_graph_t *g, const hx_graph_opts_t *o, hx_err_t *err)
{
    hx_topic_info_t ti;
    int rc = hx_broker_topic_describe(g->broker, HX_TOPIC_ENTITIES, &ti, err);
    if (rc)
        return hx_err_wrap(err, "the knowledge graph needs topic %s (helix serve creates it)", HX_TOPIC_ENTITIES);
    g->parts = ti.config.partitions;
    hx_topic_info_free(&ti);
    if (g->parts < 1 || g->parts > HX_GRAPH_PARTS_MAX)
        return hx_err_set(err, HX_ECONFIG, "%s has %d partitions; the graph consumer handles 1 to %d",
                          HX_TOPIC_ENTITIES, g->parts, HX_GRAPH_PARTS_MAX);
    if (!(g->applied = malloc((size_t)g->parts * sizeof *g->applied)))
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    for (int p = 0; p < g->parts; p++)
        g->applied[p] = -1;
    if (o->consume) {
        if (pthread_create(&g->consumer_th, NULL, hx_graph_consumer_main, g))
            return hx_err_set(err, HX_EIO, "cannot start the graph consumer thread");
        g->consumer_started = 1;
    }
    if (o->extract && g->cfg.graph.extract.enabled) {
        if (pthread_create(&g->extract_th, NULL, hx_graph_extract_main, g))
            return hx_err_set(err, HX_EIO, "cannot start the entity extraction thread");
        g->extract_started = 1;
    }
    return HX_OK;
}

int hx_graph_open(const hx_graph_opts_t *o, hx_graph_t **out, hx_err_t *err)
{
    *out = NULL;
    if (!o->cfg)
        return hx_err_set(err, HX_EINVAL, "hx_graph_open needs a configuration");
    hx_graph_backend_open_fn open = NULL;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (!strcmp(backends[i].name, o->cfg->backends.graph))
            open = backends[i].open;
    if (!open)
        return hx_err_set(err, HX_ECONFIG, "backends.graph '%s' is not built into this binary (built: embedded, neo4j)",
                          o->cfg->backends.graph);
    hx_graph_t *g = calloc(1, sizeof *g);
    if (!g)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    g->cfg = *o->cfg;
    g->broker = o->broker;
    g->metrics = o->metrics;
    snprintf(g->node_id, sizeof g->node_id, "%s", o->node_id ? o->node_id : "");
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    pthread_mutex_init(&g->apply_mu, NULL);
    int rc = open(o, &g->ops, &g->impl, err);
    if (rc) {
        pthread_mutex_destroy(&g->mu);
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->apply_mu);
        free(g);
        return rc;
    }
    metrics_init(g);
    hx_graph_refresh_metrics(g, 1);
    if (g->broker && (rc = start_threads(g, o, err))) {
        hx_graph_close(g);
        return rc;
    }
    *out = g;
    return HX_OK;
}

void hx_graph_close(hx_graph_t *g)
{
    if (!g)
        return;
    g->stop = 1;
    pthread_mutex_lock(&g->mu);
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    if (g->extract_started)
        pthread_join(g->extract_th, NULL);
    if (g->consumer_started)
        pthread_join(g->consumer_th, NULL);
    g->ops->close(g->impl);
    free(g->applied);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->apply_mu);
    free(g);
}

const char *hx_graph_backend(const hx_graph_t *g)
{
    return g->ops->name;
}

int hx_graph_health(hx_graph_t *g, char *detail, size_t len)
{
    char be[256] = "";
    int rc = g->ops->health(g->impl, be, sizeof be);
    pthread_mutex_lock(&g->mu);
    int cf = g->consumer_failing, xf = g->extract_failing;
    char ce[HX_ERR_MSG_MAX], xe[HX_ERR_MSG_MAX];
    snprintf(ce, sizeof ce, "%s", g->consumer_err);
    snprintf(xe, sizeof xe, "%s", g->extract_err);
    pthread_mutex_unlock(&g->mu);
    hx_graph_progress_t p;
    hx_graph_progress(g, &p);
    if (rc) {
        snprintf(detail, len, "%s store: %s", g->ops->name, be);
        return rc;
    }
    if (cf >= 3) {
        snprintf(detail, len, "%s store ok (%s) but the graph consumer keeps failing: %s", g->ops->name, be, ce);
        return HX_EUNAVAIL;
    }
    if (xf >= 3) {
        snprintf(detail, len, "%s store ok (%s) but entity extraction keeps failing: %s", g->ops->name, be, xe);
        return HX_EUNAVAIL;
    }
    snprintf(detail, len, "%s store: %s; %llu ops applied, %llu messages extracted since start", g->ops->name, be,
             (unsigned long long)p.ops_applied, (unsigned long long)p.messages_extracted);
    return HX_OK;
}

void hx_graph_set_status(hx_graph_t *g, int which, int failing, const char *msg)
{
    int *count = which ? &g->extract_failing : &g->consumer_failing;
    char *text = which ? g->extract_err : g->consumer_err;
    pthread_mutex_lock(&g->mu);
    *count = failing ? *count + 1 : 0;
    if (msg)
        snprintf(text, HX_ERR_MSG_MAX, "%s", msg);
    pthread_mutex_unlock(&g->mu);
}

int hx_graph_apply_locked(hx_graph_t *g, const hx_graph_batch_t *b, hx_err_t *err)
{
    pthread_mutex_lock(&g->apply_mu);
    int rc = g->ops->apply(g->impl, b, err);
    if (!rc)
        g->transactions++;
    pthread_mutex_unlock(&g->apply_mu);
    if (!rc) {
        hx_counter_add(g->m_tx, 1);
        hx_counter_add(g->m_ops, b->n_ops);
        atomic_fetch_add(&g->prog.ops_applied, b->n_ops);
        hx_graph_refresh_metrics(g, 0);
    }
    return rc;
}

int hx_graph_apply(hx_graph_t *g, const hx_graph_batch_t *b, hx_err_t *err)
{
    char what[48];
    for (size_t i = 0; i < b->n_ops; i++) {
        snprintf(what, sizeof what, "ops[%zu]", i);
        int rc = hx_graph_op_validate(&b->ops[i], what, err);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < b->n_cursors; i++)
        if (!b->cursors[i].name[0] || !memchr(b->cursors[i].name, 0, sizeof b->cursors[i].name))
            return hx_err_set(err, HX_EINVAL, "cursors[%zu] needs a name of 1-%d bytes", i,
                              HX_GRAPH_CURSOR_NAME_MAX - 1);
    return hx_graph_apply_locked(g, b, err);
}

int hx_graph_cursors(hx_graph_t *g, hx_graph_cursor_t **out, size_t *n, hx_err_t *err)
{
    return g->ops->cursors(g->impl, out, n, err);
}

/* ---- queries ---- */

static int tenant_id_check(const char *tenant, const char *id, const char *what, hx_err_t *err)
{
    if (!hx_graph_tenant_valid(tenant))
        return hx_err_set(err, HX_EINVAL, "tenant must be 1-%d characters of [A-Za-z0-9._-]", HX_ENV_TENANT_MAX);
    if (!id || !hx_graph_id_valid(id))
        return hx_err_set(err, HX_EINVAL, "%s '%.140s' is not an entity id (1-%d characters of [A-Za-z0-9._:@-])",
                          what, id ? id : "", HX_GRAPH_ID_MAX);
    return HX_OK;
}

int hx_graph_get(hx_graph_t *g, const char *tenant, const char *id, hx_graph_result_t *out, hx_err_t *err)
{
    int rc = tenant_id_check(tenant, id, "id", err);
    return rc ? rc : g->ops->get(g->impl, tenant, id, out, err);
}

int hx_graph_related(hx_graph_t *g, const hx_graph_related_q_t *q, hx_graph_result_t *out, hx_err_t *err)
{
    int rc = tenant_id_check(q->tenant, q->id, "entity id", err);
    if (rc)
        return rc;
    if (q->depth < 1 || q->depth > HX_GRAPH_DEPTH_MAX)
        return hx_err_set(err, HX_EINVAL, "depth must be from 1 to %d, got %d", HX_GRAPH_DEPTH_MAX, q->depth);
    if (q->limit < 1 || q->limit > HX_GRAPH_LIMIT_MAX)
        return hx_err_set(err, HX_EINVAL, "limit must be from 1 to %d, got %d", HX_GRAPH_LIMIT_MAX, q->limit);
    if (q->type && !hx_graph_type_valid(q->type))
        return hx_err_set(err, HX_EINVAL, "type '%.64s' must be 1-%d characters of [a-z0-9_]", q->type,
                          HX_GRAPH_TYPE_MAX);
    if (q->rel_type && !hx_graph_rel_type_valid(q->rel_type))
        return hx_err_set(err, HX_EINVAL, "rel '%.64s' must be a relationship type of [A-Z0-9_] (e.g. CO_OCCURS)",
                          q->rel_type);
    if (!(q->min_strength >= 0 && q->min_strength <= HX_GRAPH_STRENGTH_MAX))
        return hx_err_set(err, HX_EINVAL, "min_strength must be a number >= 0");
    if (q->direction != HX_GRAPH_DIR_BOTH && q->direction != HX_GRAPH_DIR_OUT && q->direction != HX_GRAPH_DIR_IN)
        return hx_err_set(err, HX_EINVAL, "direction must be both, out or in");
    return g->ops->related(g->impl, q, out, err);
}

static void count_term(void *ctx, const char *t, size_t n)
{
    (void)t;
    (void)n;
    (*(int *)ctx)++;
}

int hx_graph_search(hx_graph_t *g, const hx_graph_search_q_t *q, hx_graph_result_t *out, hx_err_t *err)
{
    if (!hx_graph_tenant_valid(q->tenant))
        return hx_err_set(err, HX_EINVAL, "tenant must be 1-%d characters of [A-Za-z0-9._-]", HX_ENV_TENANT_MAX);
    size_t qn = q->query ? strlen(q->query) : 0;
    if (qn > HX_GRAPH_QUERY_MAX || (q->query && !hx_utf8_valid(q->query, qn)))
        return hx_err_set(err, HX_EINVAL, "query must be UTF-8 text of at most %d bytes", HX_GRAPH_QUERY_MAX);
    int terms = 0;
    hx_graph_terms(q->query, count_term, &terms);
    if (!terms)
        return hx_err_set(err, HX_EINVAL, "query has no searchable terms (letters or digits)");
    if (terms > HX_GRAPH_TERMS_MAX)
        return hx_err_set(err, HX_EINVAL, "query has %d terms; at most %d are allowed", terms, HX_GRAPH_TERMS_MAX);
    if (q->limit < 1 || q->limit > HX_GRAPH_LIMIT_MAX)
        return hx_err_set(err, HX_EINVAL, "limit must be from 1 to %d, got %d", HX_GRAPH_LIMIT_MAX, q->limit);
    if (q->n_types > 16)
        return hx_err_set(err, HX_EINVAL, "types has %zu entries; at most 16 are allowed", q->n_types);
    for (size_t i = 0; i < q->n_types; i++)
        if (!hx_graph_type_valid(q->types[i]))
            return hx_err_set(err, HX_EINVAL, "types[%zu] must be 1-%d characters of [a-z0-9_]", i,
                              HX_GRAPH_TYPE_MAX);
    return g->ops->search(g->impl, q, out, err);
}

int hx_graph_path(hx_graph_t *g, const hx_graph_path_q_t *q, hx_graph_result_t *out, hx_err_t *err)
{
    int rc;
    if ((rc = tenant_id_check(q->tenant, q->from, "from", err)) || (rc = tenant_id_check(q->tenant, q->to, "to", err)))
        return rc;
    if (q->max_depth < 1 || q->max_depth > HX_GRAPH_PATH_DEPTH_MAX)
        return hx_err_set(err, HX_EINVAL, "max_depth must be from 1 to %d, got %d", HX_GRAPH_PATH_DEPTH_MAX,
                          q->max_depth);
    return g->ops->path(g->impl, q, out, err);
}

int hx_graph_conversation_entities(hx_graph_t *g, const char *tenant, const char *conversation_id, int limit,
                                   hx_graph_result_t *out, hx_err_t *err)
{
    if (!conversation_id || !conversation_id[0] || strlen(conversation_id) > HX_GRAPH_NAME_MAX)
        return hx_err_set(err, HX_EINVAL, "conversation id must be 1-%d bytes", HX_GRAPH_NAME_MAX);
    char id[17];
    hx_graph_entity_id(tenant, "conversation", conversation_id, id);
    hx_graph_related_q_t q = {.tenant = tenant, .id = id, .depth = 1, .limit = limit,
                              .rel_type = HX_GRAPH_REL_MENTIONED_IN, .direction = HX_GRAPH_DIR_IN};
    int rc = hx_graph_related(g, &q, out, err);
    if (rc == HX_ENOTFOUND)
        return hx_err_set(err, HX_ENOTFOUND, "conversation '%.200s' has no entities in the knowledge graph (unknown, "
                          "or not extracted yet)", conversation_id);
    return rc;
}

int hx_graph_stats(hx_graph_t *g, hx_graph_stats_t *out, hx_err_t *err)
{
    int rc = g->ops->stats(g->impl, out, err);
    if (!rc) {
        pthread_mutex_lock(&g->apply_mu);
        out->transactions = g->transactions;
        pthread_mutex_unlock(&g->apply_mu);
    }
    return rc;
}

void hx_graph_progress(hx_graph_t *g, hx_graph_progress_t *out)
{
    out->records_applied = atomic_load(&g->prog.records_applied);
    out->ops_applied = atomic_load(&g->prog.ops_applied);
    out->duplicates_skipped = atomic_load(&g->prog.duplicates_skipped);
    out->messages_extracted = atomic_load(&g->prog.messages_extracted);
    out->events_produced = atomic_load(&g->prog.events_produced);
}

/* ---- JSON ---- */

static json_t *props_json(const char *text)
{
    json_t *p = text && text[0] ? json_loads(text, 0, NULL) : NULL;
    return p ? p : json_object();
}

/* jansson refuses NaN and infinities; a store never holds them, but a
 * rendering must not fail on one. */
static json_t *num(double v)
{
    return json_real(isfinite(v) ? v : 0);
}

json_t *hx_graph_entity_json(const hx_graph_entity_t *e)
{
    json_t *al = json_array();
    for (size_t i = 0; i < e->n_aliases; i++)
        json_array_append_new(al, json_string(e->aliases[i]));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:o,s:o,s:I,s:I,s:I}", "id", e->id, "label", e->label, "type",
                     e->type, "name", e->name, "description", e->description, "aliases", al, "properties",
                     props_json(e->properties), "mentions", (json_int_t)e->mentions, "confidence", num(e->confidence),
                     "importance", num(e->importance), "degree", (json_int_t)e->degree, "created_at",
                     (json_int_t)e->created_at, "updated_at", (json_int_t)e->updated_at);
}

json_t *hx_graph_rel_json(const hx_graph_rel_t *r)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:I}", "id", r->id, "from", r->from, "to", r->to, "type", r->type,
                     "strength", num(r->strength), "properties", props_json(r->properties), "created_at",
                     (json_int_t)r->created_at, "updated_at", (json_int_t)r->updated_at);
}
