/* conversation_metrics derived from helixagent.conversations: per tenant,
 * conversation and hour, the counts of one ingest batch (rows of the same
 * hour from later batches add up: the table is summed). */
#include "analytics/ingest/conv.h"
#include "helix/hx_hash.h"
#include "helix/hx_topics.h"

#include <stdlib.h>
#include <string.h>

void an_conv_init(an_conv_t *c)
{
    memset(c, 0, sizeof *c);
}

void an_conv_free(an_conv_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].tenant);
        free(c->e[i].conv);
        free(c->e[i].user);
    }
    free(c->e);
    free(c->slots);
    memset(c, 0, sizeof *c);
}

static uint64_t key_hash(const char *t, size_t tl, const char *k, size_t kl, int64_t hour)
{
    return hx_hash64(t, tl) ^ (hx_hash64(k, kl) * 31) ^ ((uint64_t)hour * 0x9e3779b97f4a7c15ULL);
}

static int rehash(an_conv_t *c)
{
    size_t cap = c->scap ? c->scap * 2 : 256;
    uint32_t *s = calloc(cap, sizeof *s);
    if (!s)
        return HX_ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        size_t k = c->e[i].h & (cap - 1);
        while (s[k])
            k = (k + 1) & (cap - 1);
        s[k] = (uint32_t)i + 1;
    }
    free(c->slots);
    c->slots = s;
    c->scap = cap;
    return HX_OK;
}

static char *dup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

int an_conv_add(an_conv_t *c, const char *type, size_t type_len, const char *tenant, size_t tl, const char *conv,
                size_t kl, int64_t ts_s, const an_msg_t *m)
{
    int kind;
#define IS(t) (type_len == strlen(t) && !memcmp(type, t, type_len))
    if (IS(HX_EV_CONVERSATION_MESSAGE_ADDED))
        kind = 0;
    else if (IS(HX_EV_CONVERSATION_MESSAGE_UPDATED))
        kind = 1;
    else if (IS(HX_EV_CONVERSATION_MESSAGE_DELETED))
        kind = 2;
    else if (IS(HX_EV_CONVERSATION_COMPLETED))
        kind = 3;
    else
        return 1; /* not counted */
#undef IS
    int64_t hour = ts_s - ((ts_s % 3600) + 3600) % 3600;
    if ((c->n + 1) * 2 > c->scap && rehash(c))
        return HX_ENOMEM;
    uint64_t h = key_hash(tenant, tl, conv, kl, hour);
    size_t k = h & (c->scap - 1);
    an_conv_entry_t *e = NULL;
    while (c->slots[k]) {
        an_conv_entry_t *x = &c->e[c->slots[k] - 1];
        if (x->h == h && x->hour == hour && x->tl == tl && x->kl == kl && !memcmp(x->tenant, tenant, tl) &&
            !memcmp(x->conv, conv, kl)) {
            e = x;
            break;
        }
        k = (k + 1) & (c->scap - 1);
    }
    if (!e) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 64;
            an_conv_entry_t *ne = realloc(c->e, cap * sizeof *ne);
            if (!ne)
                return HX_ENOMEM;
            c->e = ne;
            c->cap = cap;
        }
        e = &c->e[c->n];
        memset(e, 0, sizeof *e);
        e->h = h;
        e->hour = hour;
        e->tl = tl;
        e->kl = kl;
        if (!(e->tenant = dup(tenant, tl)) || !(e->conv = dup(conv, kl))) {
            free(e->tenant);
            free(e->conv);
            return HX_ENOMEM;
        }
        c->slots[k] = (uint32_t)++c->n;
    }
    switch (kind) {
    case 0:
        e->added++;
        e->tokens += m->tokens ? m->tokens : (m->content_bytes + 3) / 4;
        if (m->role >= 0)
            e->roles[m->role]++;
        break;
    case 1: e->updated++; break;
    case 2: e->deleted++; break;
    default: e->completed++; break;
    }
    if (m->user_len) { /* the last user named wins */
        char *u = dup(m->user_id, m->user_len);
        if (!u)
            return HX_ENOMEM;
        free(e->user);
        e->user = u;
    }
    return HX_OK;
}

int an_conv_emit(an_conv_t *c, hx_an_batch_t *b, hx_err_t *err)
{
    for (size_t i = 0; i < c->n; i++) {
        an_conv_entry_t *e = &c->e[i];
        char ten[72];
        snprintf(ten, sizeof ten, "%.*s", (int)(e->tl < 70 ? e->tl : 70), e->tenant);
        hx_an_conversation_row_t r = {e->hour, e->conv, e->user ? e->user : "", e->added, e->updated, e->deleted,
                                      e->tokens, e->roles[0], e->roles[1], e->roles[2], e->roles[3], e->completed};
        int rc = hx_an_batch_add_conversation(b, ten, &r, err);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].tenant);
        free(c->e[i].conv);
        free(c->e[i].user);
    }
    c->n = 0;
    if (c->slots)
        memset(c->slots, 0, c->scap * sizeof *c->slots);
    return HX_OK;
}
