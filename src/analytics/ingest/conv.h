/* Private: the per-batch aggregation of conversation events into
 * conversation_metrics rows (conv.c). */
#ifndef HX_AN_CONV_H
#define HX_AN_CONV_H

#include "analytics/ingest/ingest.h"

typedef struct an_conv_entry {
    uint64_t h;
    int64_t hour;
    char *tenant, *conv, *user;
    size_t tl, kl;
    uint32_t added, updated, deleted, completed, roles[4];
    uint64_t tokens;
} an_conv_entry_t;

typedef struct an_conv {
    an_conv_entry_t *e;
    size_t n, cap;
    uint32_t *slots;
    size_t scap;
} an_conv_t;

void an_conv_init(an_conv_t *c);
void an_conv_free(an_conv_t *c);
/* Counts one conversation event; 1 when the type is not counted. */
int an_conv_add(an_conv_t *c, const char *type, size_t type_len, const char *tenant, size_t tl, const char *conv,
                size_t kl, int64_t ts_s, const an_msg_t *m);
/* Appends the rows to b and empties c. */
int an_conv_emit(an_conv_t *c, hx_an_batch_t *b, hx_err_t *err);

#endif
