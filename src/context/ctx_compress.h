/* Shared by the compression files: conversation-wide statistics, sentence
 * selection and output items. */
#ifndef HX_CTX_COMPRESS_H
#define HX_CTX_COMPRESS_H

#include "context/ctx_internal.h"

typedef struct ctx_gstats {
    const ctx_msg_t *const *msgs;
    size_t n;                  /* live messages */
    ctx_map_t term_ix;         /* term hash -> index */
    uint64_t *term_h;
    uint32_t *tf, *df;
    double *idf;
    size_t n_terms;
    uint64_t tf_total;
    ctx_map_t ent_ix;          /* entity hash -> index */
    uint64_t *ent_h;
    uint32_t *ent_count, *ent_msg; /* mentions; message of the first mention */
    uint32_t *ent_strong;      /* mentions that are not weak: 0 = not an entity (text.c) */
    size_t n_real;             /* entities with ent_strong > 0 */
    uint8_t *ent_speaker;      /* 1: the name of a speaker (summaries label it anyway) */
    double *ent_w;             /* selection weight by rarity (select.c), 0 for non-entities and speakers */
    /* global term / entity index of each message's terms[] / ents[]: message
     * m's are tix[tix_off[m] ..] and eix[eix_off[m] ..] */
    uint32_t *tix, *eix;
    size_t *tix_off, *eix_off;
    uint32_t *ent_sent;        /* index of that mention in the message's ents */
    double *ent_strength;      /* sum of co-mention counts (entity graph) */
    uint32_t *ent_degree;
    size_t n_ents;
} ctx_gstats_t;

/* Analyses every message (on the pool) and builds the statistics.
 * with_graph adds the co-mention graph. */
int ctx_gstats_build(ctx_gstats_t *g, const ctx_msg_t *const *msgs, size_t n, ctx_pool_t *pool, int with_graph);
void ctx_gstats_free(ctx_gstats_t *g);

typedef struct ctx_pick {
    uint32_t m, s;             /* message index (global or window-local), sentence */
} ctx_pick_t;

typedef struct ctx_selparams {
    const double *ent_w;       /* weight per entity index; NULL = by rarity */
    ctx_map_t *ecov;           /* entity hashes already covered (may be NULL) */
    size_t group;              /* date anchors repeat per group of this many messages (0 = one group) */
} ctx_selparams_t;

/* Greedy budgeted selection with redundancy control over the sentences of
 * msgs [m0, m1): see select.c. Picks (global message indices) are returned in
 * document order; *used gets the bytes ctx_summary_text will write for them
 * after the header: per pick its sentence and a separator, per message
 * "\n<speaker>: ", per date (and group) "\n[7 May 2023]". */
int ctx_select(const ctx_gstats_t *g, size_t m0, size_t m1, size_t budget_bytes, const ctx_selparams_t *sp,
               ctx_pick_t **picks, size_t *n_picks, size_t *used);

/* Entity hashes in coverage sets are salted apart from term hashes. */
#define CTX_ENT_SALT 0x5bd1e9955bd1e995ull

/* The speaker shown for a message in summaries: its user_id for user
 * messages (the person), else its role; returns the length (< cap). */
size_t ctx_msg_label(const ctx_msg_t *m, char *out, size_t cap);
/* The UTC day of a message, -1 without created_at. */
int64_t ctx_msg_day(const ctx_msg_t *m);

/* Writes the picks (global message indices, document order) after header
 * into a new string: exactly header_len + the *used of ctx_select. */
int ctx_summary_text(const ctx_gstats_t *g, const char *header, size_t header_len, const ctx_pick_t *picks,
                     size_t np, size_t group, char **out, size_t *len);

enum { CTX_I_VERBATIM = 0, CTX_I_SUMMARY, CTX_I_FACTS };

typedef struct ctx_item {
    int kind;
    const ctx_msg_t *msg;      /* verbatim */
    char *text;                /* summary / facts */
    size_t len;
    uint32_t tokens;
    uint64_t from_seq, to_seq;
    uint32_t n_msgs;
    unsigned roles;            /* bit per role: user, assistant, system, tool */
    ctx_pick_t *picks;         /* window-local message index (m - base) */
    size_t n_picks;
    size_t base;               /* global index of picks' message 0 */
    uint64_t *ents;            /* facts: listed entity hashes */
    size_t n_ents;
    int llm;
} ctx_item_t;

void ctx_item_free(ctx_item_t *it);
unsigned ctx_role_bit(const char *role);

typedef struct ctx_quality {
    double entity_recall, term_recall, rouge1_recall, score, ratio;
    double name_recall;        /* entities of the original other than speaker names, kept */
    double detail_recall;      /* names, numbers, rare words and dates of the original kept */
    double date_recall;        /* days of the original with an anchor or a verbatim message */
    int fits;
    uint64_t tokens;
} ctx_quality_t;

#define CTX_QUALITY_METHOD                                                                                   \
    "0.5*name_recall + 0.5*detail_recall; name_recall: entities other than speaker names (people, places, "  \
    "titles, numbers with units) kept; detail_recall: those, content words in at most 2 messages and days, " \
    "pooled; 0 when over budget"

int ctx_quality(const ctx_gstats_t *g, const ctx_item_t *items, size_t n_items, uint64_t orig_tokens,
                uint64_t budget, ctx_quality_t *q);

#endif
