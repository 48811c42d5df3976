/* Answer-recall evaluation of the compression (evalgen.c generates the
 * conversations, eval.c measures): is the short answer of each question
 * still in the compressed context? docs/context.md "Evaluation". */
#ifndef HX_CTX_EVAL_H
#define HX_CTX_EVAL_H

#include "helix/hx_error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ctx_eval_msg {
    char *speaker;             /* user_id of the message */
    char *content;
    char *session_id;
    int64_t created_at;        /* ms since epoch, UTC */
} ctx_eval_msg_t;

typedef struct ctx_eval_q {
    char *question, *answer;
    char kind[16];             /* what the answer is: name, place, title, number, date, thing */
} ctx_eval_q_t;

/* One conversation and its questions; every string owned by it. */
typedef struct ctx_eval_conv {
    ctx_eval_msg_t *msgs;
    size_t n, cap;
    ctx_eval_q_t *qs;
    size_t nq, qcap;
} ctx_eval_conv_t;

void ctx_eval_conv_free(ctx_eval_conv_t *c);
/* Append a copy of a message / a question (kind may be NULL) to c. */
int ctx_eval_push_msg(ctx_eval_conv_t *c, const char *speaker, const char *content, const char *sid, int64_t ts);
int ctx_eval_push_q(ctx_eval_conv_t *c, const char *question, const char *answer, const char *kind);

/* A generated multi-session conversation between two to four people, with
 * small talk around facts, revised facts (the question asks for the newest
 * value) and a few hundred questions with short answers. Same seed, same
 * conversation. */
int ctx_evalgen(uint64_t seed, ctx_eval_conv_t *out);

/* Conversations and questions from JSON text (eval_load.c: the helix shape
 * --data-dir writes, or LoCoMo's); *out is an array of *n, each freed with
 * ctx_eval_conv_free, then free(*out). HX_EINVAL says what is wrong. */
int ctx_eval_load(const char *text, size_t len, ctx_eval_conv_t **out, size_t *n, hx_err_t *err);

/* Whole-word, case-insensitive occurrence of needle in hay (answers are
 * matched this way, so "3" is not found inside "2023"). */
int ctx_eval_contains(const char *hay, size_t hay_len, const char *needle);

/* Runs the evaluation over convs at ratios 0.30 and 0.15 for every strategy;
 * *out: {"ratio": {"strategy": {answer_recall, ceiling, recent_baseline,
 * random_baseline, quality_score, ...}}} (new reference). */
int ctx_eval_run(const ctx_eval_conv_t *convs, size_t n, json_t **out, hx_err_t *err);

#endif
