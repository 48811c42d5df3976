/* Every Cypher statement the Neo4j graph backend sends, in one place, so a
 * test can hand each of them to Neo4j's own parser (tests/integration/
 * 0071_cypher_lint.sh) and the backend cannot emit one that was not checked.
 *
 * Relationship types and depths cannot be parameters in Cypher (a type is
 * part of the pattern; `*1..$d` is refused), so those are literals here:
 * types must already match [A-Z][A-Z0-9_]* (hx_graph_op_validate; checked
 * again here) and depths are range-checked, everything else is a $param.
 *
 * Model in Neo4j: every node has label :Entity (plus :Conversation or :User
 * for those kinds) with tenant, id, label, type, name, aliases (list),
 * aliases_text (for the fulltext index), description, mentions, conf_sum,
 * confidence, importance, created_at, updated_at, and its properties
 * flattened as `p.KEY` (a primitive or a list of one primitive type) or
 * `j.KEY` (JSON text of anything else: Neo4j stores no maps and no mixed
 * lists). A merged-away id leaves (:HelixRedirect {tenant, id, into}); the
 * consumer positions are (:HelixCursor {name, value}). */
#ifndef HX_NEO4J_CYPHER_H
#define HX_NEO4J_CYPHER_H

#include "helix/hx_buf.h"
#include "helix/hx_error.h"

#include <stddef.h>

/* Schema, run at open; each idempotent (IF NOT EXISTS). */
extern const char *const hx_cy_schema[];
extern const size_t hx_cy_schema_n;

/* Writes: each is UNWIND $batch AS e ... over rows the backend builds. */
extern const char *const hx_cy_entity_upsert;
extern const char *const hx_cy_entity_delete;
extern const char *const hx_cy_cursor_set;
/* Merge of $from into $into ($tenant, $ts): the relationship types to move,
 * then per type hx_cy_merge_move (both directions), then the node itself. */
extern const char *const hx_cy_merge_types;
extern const char *const hx_cy_merge_finish;

/* Reads. */
extern const char *const hx_cy_resolve;      /* $tenant, $id -> id (after redirect) or no row */
extern const char *const hx_cy_get;          /* $tenant, $id -> n, degree */
extern const char *const hx_cy_search;       /* $tenant, $query, $types, $limit -> total, n, score, degree */
extern const char *const hx_cy_cursors;
extern const char *const hx_cy_health;
extern const char *const hx_cy_count_nodes;
extern const char *const hx_cy_count_rels;

/* A relationship type safe as a literal: [A-Z][A-Z0-9_]{0,63}. */
int hx_cy_type_ok(const char *t);

/* Statements with literals. Each resets out and writes the statement; HX_EINVAL
 * for a type or depth outside its range (nothing is written). */
int hx_cy_rel_upsert(hx_buf_t *out, const char *type, hx_err_t *err);
int hx_cy_rel_delete(hx_buf_t *out, const char *type, hx_err_t *err);
/* outgoing = 1: (from)-[r:T]->(x) moves to (into)-[:T]->(x); 0: incoming. */
int hx_cy_merge_move(hx_buf_t *out, const char *type, int outgoing, hx_err_t *err);
/* dir: 0 both, 1 out, 2 in (hx_graph_dir_t); rel_type NULL = any; depth 1..5. */
int hx_cy_related(hx_buf_t *out, int depth, int dir, const char *rel_type, hx_err_t *err);
/* max_depth 1..10 */
int hx_cy_path(hx_buf_t *out, int max_depth, hx_err_t *err);

/* Every statement above in every variant (all depths, directions, with and
 * without a type filter; relationship statements for the pipeline's types
 * and one producer type), for the linter test: fn(ctx, name, params,
 * cypher), params being the comma-separated names the backend binds. */
typedef void (*hx_cy_each_fn)(void *ctx, const char *name, const char *params, const char *cypher);
int hx_cy_each(hx_cy_each_fn fn, void *ctx);

#endif
