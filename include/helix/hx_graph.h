/* The knowledge graph (Neo4j's role): entities and relationships extracted
 * from conversations and memories, kept in a graph store and queried by
 * neighbourhood, fulltext and shortest path (docs/graph.md).
 *
 * Data flow (DESIGN.md: subsystems feed each other through topics):
 *   helixagent.conversations, helixagent.memory.events
 *     -> extraction consumer (group helix-graph-extract, src/graph/extract)
 *     -> helixagent.entities.updates (entity.* / relationship.* events)
 *     -> graph consumer (group helix-graph): batches of graph.batch_size ops
 *        or graph.flush_ms, each applied in ONE backend transaction together
 *        with the consumer's positions, so a kill -9 loses and duplicates
 *        nothing and replaying the log gives the same graph.
 * Anyone may produce graph events: hx_graph_publish() (the HTTP API) writes
 * them the same way.
 *
 * Two backends behind one interface (src/graph/backend.h), chosen by
 * backends.graph: "embedded" (our store under <data_dir>/graph) and "neo4j"
 * (Bolt). Both run the conformance suite in tests/graph_conformance.h.
 *
 * Model. A node has a tenant, an id, a label (Entity | Conversation | User),
 * a type (person, organization, technology, product, place, email, url,
 * conversation, user, or any [a-z0-9_] word from a producer), a name,
 * aliases, a description, properties (a JSON object whose values are
 * primitives or arrays of primitives, so Neo4j can store them), mentions,
 * an average confidence and an importance. A relationship is (from, type,
 * to) with a strength and properties; its type is [A-Z][A-Z0-9_]*, safe as
 * a Cypher identifier. Ids are unique per tenant; tenants never see each
 * other's nodes. Pipeline ids are hx_graph_entity_id(tenant, type, name).
 *
 * Upsert semantics (every backend). Every id an op names (id, into, from,
 * to) first resolves through merge redirects.
 *  - entity upsert: creates the node or updates it: label/type/name replace
 *    when given, description replaces when not NULL, aliases are added to
 *    the set, properties merge key by key (a JSON null removes the key),
 *    mentions are ADDED, confidence is the confidence of those mentions:
 *      avg_confidence = sum(confidence_i * mentions_i) / mentions
 *      importance     = ln(1 + mentions) * avg_confidence
 *    An upsert of an id that was merged away applies to the node it was
 *    merged into (merge keeps a redirect).
 *  - relationship upsert: creates (from)-[type]->(to) or updates it; the
 *    strength is ADDED (strength_set = 0, the pipeline's accumulating
 *    co-occurrence strength) or replaced (strength_set = 1); properties
 *    merge. A missing endpoint is created as a stub node (label Entity, empty
 *    type and name) that a later entity upsert fills in: events for
 *    different entities travel in different partitions, so a relationship
 *    may arrive before its endpoint.
 *  - entity delete: detach delete (the node, its relationships, redirects
 *    to it). Deleting an absent id is a no-op in a batch.
 *  - merge(from, into): every relationship of from, both directions, moves
 *    to into (a duplicate (into, type, x) sums strengths; a relationship
 *    between the two is dropped), mentions, confidence sums and importance
 *    are SUMMED (later mentions recompute importance by the formula), into's
 *    aliases gain from's name and aliases, from is removed and redirects to
 *    into. Absent or equal ids are no-ops in a batch (the API checks first).
 *
 * Ownership: hx_graph_t is thread-safe (queries run concurrently with the
 * consumers). Inputs (ops, queries, strings, json_t) are borrowed for the
 * call. Outputs: hx_graph_result_t owns everything its pointers reach (free
 * with hx_graph_result_free); json_t ** outs are new references. The broker
 * and metrics given to hx_graph_open are borrowed and must outlive it. */
#ifndef HX_GRAPH_H
#define HX_GRAPH_H

#include "helix/hx_broker.h"
#include "helix/hx_buf.h"
#include "helix/hx_config.h"
#include "helix/hx_error.h"
#include "helix/hx_metrics.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hx_graph hx_graph_t;

/* ---- limits (checked by hx_graph_op_validate; both backends rely on them) */
#define HX_GRAPH_ID_MAX 128          /* bytes of [A-Za-z0-9._:@-] */
#define HX_GRAPH_TYPE_MAX 64         /* entity type [a-z0-9_], relationship type [A-Z][A-Z0-9_]* */
#define HX_GRAPH_NAME_MAX 512        /* UTF-8 bytes, name and each alias */
#define HX_GRAPH_DESC_MAX 4096
#define HX_GRAPH_ALIASES_MAX 32      /* per node; extra aliases are dropped, oldest kept */
#define HX_GRAPH_PROPS_MAX 64        /* keys per properties object; key [A-Za-z_][A-Za-z0-9_]{0,63} */
#define HX_GRAPH_PROPS_BYTES 8192    /* compact JSON of one properties object */
#define HX_GRAPH_DEPTH_MAX 5         /* related: depth 1..5 */
#define HX_GRAPH_PATH_DEPTH_MAX 10   /* path: max_depth 1..10 */
#define HX_GRAPH_LIMIT_MAX 1000
#define HX_GRAPH_CURSOR_NAME_MAX 160

#define HX_GRAPH_LABEL_ENTITY "Entity"
#define HX_GRAPH_LABEL_CONVERSATION "Conversation"
#define HX_GRAPH_LABEL_USER "User"
#define HX_GRAPH_REL_CO_OCCURS "CO_OCCURS"       /* entity - entity, from < to by id */
#define HX_GRAPH_REL_MENTIONED_IN "MENTIONED_IN" /* entity -> conversation */
#define HX_GRAPH_REL_MENTIONS "MENTIONS"         /* user -> entity */

#define HX_GRAPH_GROUP "helix-graph"
#define HX_GRAPH_EXTRACT_GROUP "helix-graph-extract"

/* The pipeline's stable id: 16 lowercase hex digits of
 * hash64(tenant \0 type \0 normalised name), where the normalised name is
 * lowercase (ASCII), with runs of whitespace as one space, trimmed. out must
 * hold 17 bytes. */
void hx_graph_entity_id(const char *tenant, const char *type, const char *name, char *out);
/* The normalised name above, into out (at most len bytes, NUL-terminated). */
void hx_graph_normalize_name(const char *name, char *out, size_t len);
/* The relationship id every backend gives (from)-[type]->(to): 16 hex digits
 * of hash64(tenant \0 from \0 type \0 to). out must hold 17 bytes. */
void hx_graph_rel_id(const char *tenant, const char *from, const char *type, const char *to, char *out);

/* ---- mutations ---------------------------------------------------------- */

typedef enum {
    HX_GRAPH_OP_ENTITY_UPSERT = 1,
    HX_GRAPH_OP_ENTITY_DELETE,
    HX_GRAPH_OP_ENTITY_MERGE,
    HX_GRAPH_OP_REL_UPSERT,
    HX_GRAPH_OP_REL_DELETE,
} hx_graph_op_kind_t;

/* One mutation. Fields not used by a kind are ignored. */
typedef struct hx_graph_op {
    hx_graph_op_kind_t kind;
    const char *tenant;          /* required */
    int64_t ts_ms;               /* event time: created_at / updated_at */
    /* ENTITY_UPSERT: id, and at least type + name on creation. DELETE: id.
     * MERGE: id (merged away) into into. */
    const char *id;
    const char *label;           /* NULL = keep (Entity on creation) */
    const char *type;            /* NULL = keep */
    const char *name;            /* NULL = keep */
    const char *description;     /* NULL = keep */
    const char *const *aliases;
    size_t n_aliases;
    const json_t *properties;    /* object or NULL; entity and relationship upserts */
    int64_t mentions;            /* >= 0, added */
    double confidence;           /* 0..1, of these mentions */
    const char *into;            /* MERGE */
    /* REL_UPSERT / REL_DELETE: (from)-[rel_type]->(to) */
    const char *from, *to, *rel_type;
    double strength;             /* REL_UPSERT: >= 0 */
    int strength_set;            /* 0: strength is added; 1: it replaces */
} hx_graph_op_t;

/* Checks one op against the limits and character sets above; messages name
 * the field ("entities[3].type must be ..."); prefix (may be NULL) starts them. */
int hx_graph_op_validate(const hx_graph_op_t *op, const char *prefix, hx_err_t *err);

/* A consumer position or dedup watermark, stored atomically with a batch. */
typedef struct hx_graph_cursor {
    char name[HX_GRAPH_CURSOR_NAME_MAX];
    int64_t value;
} hx_graph_cursor_t;

/* What one backend transaction applies: ops in order, then the cursors
 * (each replaces the stored value of its name). */
typedef struct hx_graph_batch {
    const hx_graph_op_t *ops;
    size_t n_ops;
    const hx_graph_cursor_t *cursors;
    size_t n_cursors;
} hx_graph_batch_t;

/* ---- query results ------------------------------------------------------ */

typedef struct hx_graph_entity {
    const char *id, *label, *type, *name, *description; /* never NULL ("" when unset) */
    const char *const *aliases;
    size_t n_aliases;
    const char *properties;      /* compact JSON object text, "{}" when none */
    int64_t mentions;
    double confidence;           /* average; 0 without mentions */
    double importance;
    int64_t degree;              /* relationships in + out */
    int64_t created_at, updated_at;
} hx_graph_entity_t;

typedef struct hx_graph_rel {
    const char *id, *from, *to, *type;
    double strength;
    const char *properties;      /* compact JSON object text */
    int64_t created_at, updated_at;
} hx_graph_rel_t;

typedef struct hx_graph_hit {
    hx_graph_entity_t entity;
    int depth;                   /* related: hops from the start; search: 0 */
    double score;                /* related: via.strength; search: BM25 */
    hx_graph_rel_t via;          /* related: the relationship that led to entity */
} hx_graph_hit_t;

/* hits for related and search; nodes/rels for get (one node) and path
 * (nodes[0] = from ... nodes[n-1] = to, rels[i] joins nodes[i] and
 * nodes[i+1] in either direction). Zero-initialise before a call. */
typedef struct hx_graph_result {
    hx_graph_hit_t *hits;
    size_t n_hits;
    hx_graph_entity_t *nodes;
    size_t n_nodes;
    hx_graph_rel_t *rels;
    size_t n_rels;
    int64_t total;               /* matches before the limit (related, search) */
    void *arena_;                /* owner of every byte; do not touch */
} hx_graph_result_t;

void hx_graph_result_free(hx_graph_result_t *r);

/* ---- queries ------------------------------------------------------------ */

typedef enum { HX_GRAPH_DIR_BOTH = 0, HX_GRAPH_DIR_OUT, HX_GRAPH_DIR_IN } hx_graph_dir_t;

/* Neighbours of id within depth hops (each reached node once, at its
 * shortest distance), traversing only relationships of rel_type (NULL any)
 * with strength >= min_strength in direction; results filtered by entity
 * type (NULL any), the start node excluded. Ranked by depth ascending, then
 * via.strength descending, importance descending, id ascending, where via is
 * the strongest traversable relationship into the node from a node one hop
 * nearer (ties: smaller relationship id). HX_EINVAL for depth outside 1..5 or
 * limit outside 1..1000; HX_ENOTFOUND for an unknown id. */
typedef struct hx_graph_related_q {
    const char *tenant, *id;
    int depth;
    int limit;
    const char *type;
    const char *rel_type;
    double min_strength;
    hx_graph_dir_t direction;
} hx_graph_related_q_t;

/* Fulltext over name, aliases and description, case-insensitive: terms are
 * lowercase runs of letters and digits (UTF-8 bytes >= 0x80 count as
 * letters); a node matches when it has any query term; sorted by score
 * descending, then id. Score is BM25: embedded k1 1.2, b 0.75, name and
 * aliases weigh 2, description 1, with the tenant's own statistics; neo4j:
 * Lucene's BM25 of the entity_fulltext index. types (n_types 0 = any)
 * filters by entity type. HX_EINVAL for a query without terms, more than 16
 * terms or a limit outside 1..1000. */
typedef struct hx_graph_search_q {
    const char *tenant, *query;
    const char *const *types;
    size_t n_types;
    int limit;
} hx_graph_search_q_t;

/* A shortest path between two nodes over relationships of any type and
 * direction, at most max_depth (1..10) hops (among equal lengths any; the
 * embedded store picks the smallest node ids hop by hop). HX_ENOTFOUND when
 * an endpoint is unknown or no path exists; from == to gives one node. */
typedef struct hx_graph_path_q {
    const char *tenant, *from, *to;
    int max_depth;
} hx_graph_path_q_t;

/* ---- engine ------------------------------------------------------------- */

typedef struct hx_graph_opts {
    const hx_config_t *cfg;      /* backends.graph, graph.*, neo4j.*, event_log.fsync; copied */
    const char *dir;             /* embedded store (serve: <node.data_dir>/graph); created */
    hx_broker_t *broker;         /* borrowed; NULL = no consumers, no publish (tests, tools) */
    hx_metrics_t *metrics;       /* borrowed; NULL = none */
    const char *node_id;         /* envelope source of published events; NULL = "" */
    int consume;                 /* run the graph consumer (needs broker) */
    int extract;                 /* run the extraction consumer (needs broker) */
} hx_graph_opts_t;

void hx_graph_opts_defaults(hx_graph_opts_t *o); /* consume = extract = 1 */

/* Opens the backend and, with a broker, starts the consumers; they resume
 * from the positions stored in the graph store. */
int hx_graph_open(const hx_graph_opts_t *o, hx_graph_t **out, hx_err_t *err);
/* Applies what the consumer has read (bounded wait), stops the threads,
 * closes the backend. NULL is a no-op. */
void hx_graph_close(hx_graph_t *g);

const char *hx_graph_backend(const hx_graph_t *g); /* "embedded" | "neo4j" */

/* For /v1/bigdata/health: a real check of the backend (embedded: the store
 * directory is writable and the last commit succeeded; neo4j: a query), plus
 * the consumers: HX_EUNAVAIL when a consumer keeps failing. */
int hx_graph_health(hx_graph_t *g, char *detail, size_t len);

/* Applies a batch in one transaction (the consumers' path; tests and tools
 * call it directly). Ops are validated first; nothing is applied on error. */
int hx_graph_apply(hx_graph_t *g, const hx_graph_batch_t *batch, hx_err_t *err);

/* Every stored cursor; *out is malloc'd (caller frees), *n entries. */
int hx_graph_cursors(hx_graph_t *g, hx_graph_cursor_t **out, size_t *n, hx_err_t *err);

/* Writes ops as events to helixagent.entities.updates (validated first,
 * nothing produced on error) and, when wait_ms > 0, waits until the graph
 * consumer has applied them. *applied (may be NULL) is 1 when they were
 * applied, 0 when the wait ran out (they stay durable in the topic and are
 * applied later). HX_EUNAVAIL without a broker. */
int hx_graph_publish(hx_graph_t *g, const hx_graph_op_t *ops, size_t n, int wait_ms, int *applied, hx_err_t *err);

int hx_graph_get(hx_graph_t *g, const char *tenant, const char *id, hx_graph_result_t *out, hx_err_t *err);
int hx_graph_related(hx_graph_t *g, const hx_graph_related_q_t *q, hx_graph_result_t *out, hx_err_t *err);
int hx_graph_search(hx_graph_t *g, const hx_graph_search_q_t *q, hx_graph_result_t *out, hx_err_t *err);
int hx_graph_path(hx_graph_t *g, const hx_graph_path_q_t *q, hx_graph_result_t *out, hx_err_t *err);
/* Entities a conversation mentions (its MENTIONED_IN neighbours), strongest
 * first; conversation_id is the conversation's id on the topic. */
int hx_graph_conversation_entities(hx_graph_t *g, const char *tenant, const char *conversation_id, int limit,
                                   hx_graph_result_t *out, hx_err_t *err);

/* JSON forms the HTTP API returns (docs/graph.md); new references. */
json_t *hx_graph_entity_json(const hx_graph_entity_t *e);
json_t *hx_graph_rel_json(const hx_graph_rel_t *r);

typedef struct hx_graph_stats {
    int64_t nodes, relationships;  /* all tenants; stubs and Conversation/User nodes included */
    int64_t store_bytes;           /* on disk; -1 unknown */
    uint64_t cache_hits, cache_misses; /* neo4j_page_cache_hit_ratio = hits / (hits + misses) */
    uint64_t transactions;         /* committed batches since open */
} hx_graph_stats_t;

int hx_graph_stats(hx_graph_t *g, hx_graph_stats_t *out, hx_err_t *err);
/* Consumer progress, for status and tests: records applied, messages
 * extracted, events produced by extraction since open. */
typedef struct hx_graph_progress {
    uint64_t records_applied, ops_applied, duplicates_skipped;
    uint64_t messages_extracted, events_produced;
} hx_graph_progress_t;
void hx_graph_progress(hx_graph_t *g, hx_graph_progress_t *out);
/* Waits until the graph consumer has applied every record of
 * helixagent.entities.updates produced before the call (and, with
 * include_extract, the extraction consumer has extracted every message
 * produced before the call). HX_ETIMEOUT after timeout_ms. */
int hx_graph_sync(hx_graph_t *g, int include_extract, int timeout_ms, hx_err_t *err);

/* ---- events on helixagent.entities.updates (docs/graph.md) ---------------
 * One envelope carries a batch of items of one type, all keyed to the same
 * partition (the key is the first item's entity id: the entity's id, a
 * relationship's from, a merge's from), so per-entity order holds. data:
 *   entity.upserted        {"entities":[{id,label,type,name,description,aliases,
 *                           properties,mentions,confidence}...]}
 *   entity.deleted         {"entities":[{id}...]}
 *   entity.merged          {"entities":[{id,into}...]}
 *   relationship.upserted  {"relationships":[{from,to,type,strength,strength_set,properties}...]}
 *   relationship.deleted   {"relationships":[{from,to,type}...]}
 * A single item object as data is accepted as a batch of one. Headers
 * hx-src and hx-src-seq (extraction, below) let the graph consumer drop
 * events a restarted extractor produces again. Decoded ops own their
 * properties (hx_graph_ops_free releases them). */

/* A batch of decoded (or to-be-encoded) ops that owns their strings. */
typedef struct hx_graph_ops {
    hx_graph_op_t *ops;
    size_t n;
    void *arena_;
} hx_graph_ops_t;
void hx_graph_ops_free(hx_graph_ops_t *o);

/* Records ready for hx_broker_produce: msgs[i] points into storage owned by
 * the struct. */
typedef struct hx_graph_records {
    hx_msg_t *msgs;
    size_t n;
    void *owner_;
} hx_graph_records_t;
void hx_graph_records_free(hx_graph_records_t *r);

typedef struct hx_graph_encode_opts {
    const char *source;          /* envelope source (node id); NULL = "" */
    int32_t partitions;          /* of helixagent.entities.updates */
    int max_items;               /* per envelope; 0 = 1000; ignored with src */
    /* Extraction: src names the source partition ("helixagent.conversations/3")
     * and src_seq the source record's offset. One call is one source record;
     * every envelope of it carries hx-src = src and hx-src-seq = src_seq *
     * 65536 + its number among the call's envelopes for its partition, so
     * the graph consumer drops every envelope a restarted extractor produces
     * again (hx-src-seq <= the last one applied from src in that partition). */
    const char *src;
    int64_t src_seq;
    /* Extraction of several source records in one call (src set, src_seq
     * ignored): src_offsets[i] is the offset of the record op i came from,
     * never decreasing. Envelopes then hold one kind each, for any number of
     * records (up to max_items, closed only between records), and carry
     * hx-src = src (at most 120 bytes), hx-src-seq = the last record's
     * offset and hx-src-runs = "<offset>:<items>,<step>:<items>,..." (the
     * records' offsets as steps from the one before, and how many of the
     * envelope's items each gave), so the graph consumer can skip exactly
     * the items of records it applied before a restarted extractor read
     * them again (hx_graph_src_applied). */
    const int64_t *src_offsets;
    /* With src_offsets: an envelope is closed, between records, before its
     * frame would pass this many bytes (the topic's max_message_bytes); 0 =
     * 512 KiB. A single record's items for one partition and kind stay in
     * one envelope whatever their size. */
    int64_t max_bytes;
    int checked;                 /* every op passed hx_graph_op_validate already: not checked again */
    /* With src_offsets: 1 merges the upserts of one entity or relationship
     * within each source record, 2 within each envelope (across records: the
     * graph consumer then cannot drop some of those records and apply the
     * others, so the caller must know no earlier envelope holds any of
     * them). They become at most two items, the first as it is and the later
     * ones merged (mentions and strengths added, confidence weighted by
     * mentions, aliases joined, properties overlaid, the last one's time),
     * written after the record's (1) or envelope's (2) other items, under
     * its last record.
     * Applying the envelope then gives what applying every op in order
     * would (up to rounding of the confidence sum). An upsert that changes
     * the name, type, label or description, or would pass a limit, starts
     * a new merged item instead. */
    int coalesce;
} hx_graph_encode_opts_t;

/* Validates ops (all one tenant) and encodes them as envelopes grouped by
 * partition, keeping the ops' order within each partition. */
int hx_graph_events_encode(const hx_graph_op_t *ops, size_t n, const hx_graph_encode_opts_t *o,
                           hx_graph_records_t *out, hx_err_t *err);

/* Reads items of one kind (the data of a graph event, and the body of the
 * knowledge API's batch writes): {"entities"|"relationships": [item...]} or
 * one item object, into ops of tenant with ts_ms; an entity upsert without
 * an id gets hx_graph_entity_id(tenant, type, name); a relationship upsert
 * without a strength adds 1. Every op is validated; messages start with
 * prefix (may be NULL) and name the item and field. Appends to out. */
int hx_graph_items_parse(const char *tenant, int64_t ts_ms, hx_graph_op_kind_t kind, const char *json, size_t len,
                         const char *prefix, hx_graph_ops_t *out, hx_err_t *err);

/* A graph event's extraction headers. */
typedef struct hx_graph_src {
    char name[HX_GRAPH_CURSOR_NAME_MAX]; /* hx-src; "" when absent */
    int64_t seq;                 /* hx-src-seq; 0 when absent */
    const char *runs;            /* hx-src-runs, into the decoded value; NULL when absent */
    size_t runs_len;
} hx_graph_src_t;

/* Decodes one record value of helixagent.entities.updates, appending its
 * ops to out (owned); *src (may be NULL) gets its extraction headers.
 * hx-src-runs is checked against the items (their count, and the last
 * offset against hx-src-seq). Strict: HX_EINVAL naming the field for
 * anything that is not a valid graph event, HX_ECORRUPT for a bad frame. */
int hx_graph_events_decode(const void *value, size_t len, hx_graph_ops_t *out, hx_graph_src_t *src, hx_err_t *err);

/* Of an event with hx-src-runs (decoded above): *items = how many of its
 * first items came from source records at offsets <= applied. */
void hx_graph_src_applied(const hx_graph_src_t *src, int64_t applied, size_t *items);

/* ---- extraction (src/graph/extract, docs/graph.md) ---------------------- */

typedef struct hx_graph_extractor hx_graph_extractor_t;

/* Loads the built-in curated dictionary (src/graph/extract/dictionary.txt);
 * reads graph.extract.* from cfg (NULL = defaults). */
int hx_graph_extractor_new(const hx_config_t *cfg, hx_graph_extractor_t **out, hx_err_t *err);
void hx_graph_extractor_free(hx_graph_extractor_t *x);

typedef struct hx_graph_message {
    const char *tenant;
    const char *conversation_id; /* NULL: no Conversation node (memory writes) */
    const char *user_id;         /* NULL: no User node */
    const char *content;
    int64_t ts_ms;
} hx_graph_message_t;

/* A found entity, for tests and tools. */
typedef struct hx_graph_found {
    char type[HX_GRAPH_TYPE_MAX];
    char name[HX_GRAPH_NAME_MAX];
    double confidence;
    int count;                   /* occurrences in the text */
} hx_graph_found_t;

/* Entities of text (at most max; *n found). Deterministic. */
int hx_graph_extract_entities(hx_graph_extractor_t *x, const char *text, hx_graph_found_t *found, size_t max,
                              size_t *n, hx_err_t *err);

/* The ops one message turns into: entity upserts (with dates, numbers,
 * emails and urls of the message as properties), the Conversation and User
 * nodes, CO_OCCURS between entities of the message (strength 1 within one
 * sentence, 0.5 within the window of graph.extract.window_sentences
 * sentences), MENTIONED_IN to the conversation, MENTIONS from the user.
 * Appends to out (initialise it zeroed). Deterministic: the same message
 * gives the same ops. */
int hx_graph_extract_message(hx_graph_extractor_t *x, const hx_graph_message_t *m, hx_graph_ops_t *out,
                             hx_err_t *err);

#endif
