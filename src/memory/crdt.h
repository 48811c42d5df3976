/* The CRDT state of one memory and its join (internal to src/memory).
 *
 * A state is a join-semilattice: hx_mcrdt_join() is commutative, associative
 * and idempotent, and a delta (what one write changed) is itself a small
 * state, so local writes, replication, anti-entropy and snapshot restore are
 * all the same join. Components:
 *   ident        first-write-wins register (user_id, agent_id, session_id) +
 *                its stamp, which gives created_at
 *   fields[]     last-writer-wins registers ordered by (hlc, node)
 *   content      dotted value set: live (dot, value) entries plus the dots a
 *                later write superseded; concurrent writes stay siblings
 *                (merge_all) or the greatest stamp is kept (last_write_wins)
 *   tags         add-wins set: per tag a dotted set without values
 *   meta         OR-map: per key a dotted set whose newest live entry is the value
 *   access       grow-only counter, one slot per node
 *   del          remove-wins tombstone: once set, every other component is
 *                dropped (content really goes) and stays empty
 * Values are jansson references shared read-only between states.
 *
 * Ownership: hx_mcrdt_t owns its strings, arrays and value references;
 * hx_mcrdt_free releases them. Not thread-safe; the engine locks. */
#ifndef HX_MEMORY_CRDT_H
#define HX_MEMORY_CRDT_H

#include "helix/hx_error.h"

#include "helix/hx_buf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define HX_MNODE_MAX 64 /* node ids are shorter; checked at engine open */

typedef struct hx_stamp {
    uint64_t hlc;      /* 0 = unset */
    char node[HX_MNODE_MAX];
} hx_stamp_t;

int hx_stamp_cmp(const hx_stamp_t *a, const hx_stamp_t *b);

typedef struct hx_lww {
    hx_stamp_t st;
    json_t *val;       /* owned reference; NULL when unset */
} hx_lww_t;

typedef struct hx_entry {
    hx_stamp_t dot;
    json_t *val;       /* owned reference; NULL for tags */
} hx_entry_t;

typedef struct hx_dset {
    hx_entry_t *live;  /* sorted by dot */
    size_t nlive;
    hx_stamp_t *dead;  /* sorted by dot */
    size_t ndead;
} hx_dset_t;

typedef struct hx_named_dset {
    char *name;
    hx_dset_t set;
} hx_named_dset_t;

typedef struct hx_counter_slot {
    char node[HX_MNODE_MAX];
    uint64_t n;
} hx_counter_slot_t;

enum { HX_MF_TYPE = 0, HX_MF_CATEGORY, HX_MF_IMPORTANCE, HX_MF_EXPIRES_AT, HX_MF_SUMMARY, HX_MF_ENTITIES, HX_MF_N };
extern const char *const hx_mfield_names[HX_MF_N];

typedef struct hx_mcrdt {
    char *id;
    char *tenant;
    hx_lww_t ident;            /* first-write-wins: smallest stamp */
    hx_lww_t fields[HX_MF_N];
    hx_dset_t content;
    hx_named_dset_t *tags;     /* sorted by name */
    size_t ntags;
    hx_named_dset_t *meta;     /* sorted by name */
    size_t nmeta;
    hx_counter_slot_t *access; /* sorted by node */
    size_t naccess;
    hx_stamp_t del;
} hx_mcrdt_t;

typedef enum { HX_CRDT_MERGE_ALL = 0, HX_CRDT_LWW } hx_crdt_strategy_t;

/* What a join did, for conflict reporting. */
typedef struct hx_join_info {
    int changed;               /* dst differs from before */
    int concurrent;            /* content entries from both sides were live together */
    size_t siblings;           /* live content entries after the join */
} hx_join_info_t;

/* Empty state for (tenant, id); strings copied. NULL on ENOMEM. */
hx_mcrdt_t *hx_mcrdt_new(const char *tenant, const char *id);
void hx_mcrdt_free(hx_mcrdt_t *s);

/* dst := dst join src. Under HX_CRDT_LWW only the greatest live content entry
 * survives (the rest become superseded dots), so every replica shows the same
 * winner. HX_ENOMEM leaves dst a valid state that may lack part of src. */
int hx_mcrdt_join(hx_mcrdt_t *dst, const hx_mcrdt_t *src, hx_crdt_strategy_t strat, hx_join_info_t *info);

/* Canonical JSON (sorted keys, sorted arrays): equal states serialise to
 * identical text. *out is a new reference. */
int hx_mcrdt_to_json(const hx_mcrdt_t *s, json_t **out);
/* The same canonical text, compact, appended to out without building the
 * JSON (crdt_text.c). HX_ENOMEM leaves out partly written. */
int hx_mcrdt_to_text(const hx_mcrdt_t *s, hx_buf_t *out);
/* The pieces of that text, for other JSON written the same way (the
 * engine's views, model.c): a string as jansson escapes it, a decimal, a
 * value as json_dumps writes it (NULL is null). HX_ENOMEM on failure. */
int hx_mtext_str(hx_buf_t *b, const char *s);
int hx_mtext_u64(hx_buf_t *b, uint64_t v);
int hx_mtext_val(hx_buf_t *b, const json_t *v);
/* A logged op as text: {"o":origin,"s":seq,"h":hlc,"w":wall_us,"d":delta},
 * what json_dumps of that object gives (the WAL and the publisher's form). */
int hx_mop_to_text(const char *origin, uint64_t seq, uint64_t hlc, int64_t wall_us, const hx_mcrdt_t *d,
                   hx_buf_t *out);
/* Strict decoder of the canonical form (also the delta wire form). */
int hx_mcrdt_from_json(const json_t *j, hx_mcrdt_t **out, hx_err_t *err);

/* Hash of the state's stamps, equal for equal states (anti-entropy
 * digests); scratch is reused between calls. */
struct hx_buf;
uint64_t hx_mcrdt_hash(const hx_mcrdt_t *s, struct hx_buf *scratch);

/* Largest stamp anywhere in the state (seeds the HLC on recovery). */
uint64_t hx_mcrdt_max_hlc(const hx_mcrdt_t *s);

/* ---- building deltas (all take ownership of nothing; values are increffed) */
int hx_dset_add(hx_dset_t *d, const hx_stamp_t *dot, json_t *val);
int hx_dset_kill(hx_dset_t *d, const hx_stamp_t *dot);
/* Adds every live dot of src to dst's dead list: "this write saw them". */
int hx_dset_kill_live_of(hx_dset_t *dst, const hx_dset_t *src);
void hx_dset_free(hx_dset_t *d);
/* Finds or inserts the named set; NULL on ENOMEM. */
hx_dset_t *hx_named_get(hx_named_dset_t **arr, size_t *n, const char *name, int create);
/* Greatest live entry or NULL. */
const hx_entry_t *hx_dset_top(const hx_dset_t *d);
int hx_lww_set(hx_lww_t *r, const hx_stamp_t *st, json_t *val);
int hx_counter_set(hx_mcrdt_t *s, const char *node, uint64_t n);

#endif
