/* Query results: one arena owns every string and array a result points to,
 * so a backend builds answers with a few calls and the caller frees once. */
#include "graph/backend.h"
#include "graph/graph_int.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK 16384

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    unsigned char data[];
} chunk_t;

/* The arena, plus the growable arrays (kept apart: they move when they grow). */
typedef struct arena {
    chunk_t *head;
    size_t cap_hits, cap_nodes, cap_rels, cap_ops;
} arena_t;

static arena_t *arena_of(hx_graph_result_t *r)
{
    if (!r->arena_)
        r->arena_ = calloc(1, sizeof(arena_t));
    return r->arena_;
}

void *hx_graph_arena_alloc(void **arena, size_t n)
{
    if (!*arena && !(*arena = calloc(1, sizeof(arena_t))))
        return NULL;
    arena_t *a = *arena;
    n = (n + 7) & ~(size_t)7;
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > CHUNK ? n : CHUNK;
        chunk_t *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

const char *hx_graph_arena_strn(void **arena, const char *s, size_t n)
{
    char *d = hx_graph_arena_alloc(arena, n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

void hx_graph_arena_free(void *arena)
{
    arena_t *a = arena;
    if (!a)
        return;
    for (chunk_t *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *hx_graph_result_alloc(hx_graph_result_t *r, size_t n)
{
    return arena_of(r) ? hx_graph_arena_alloc(&r->arena_, n) : NULL;
}

const char *hx_graph_result_strn(hx_graph_result_t *r, const char *s, size_t n)
{
    return arena_of(r) ? hx_graph_arena_strn(&r->arena_, s ? s : "", s ? n : 0) : NULL;
}

const char *hx_graph_result_str(hx_graph_result_t *r, const char *s)
{
    return hx_graph_result_strn(r, s, s ? strlen(s) : 0);
}

static void *grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *p = realloc(*arr, nc * elem);
        if (!p)
            return NULL;
        *arr = p;
        *cap = nc;
    }
    unsigned char *e = (unsigned char *)*arr + n * elem;
    memset(e, 0, elem);
    return e;
}

hx_graph_hit_t *hx_graph_result_add_hit(hx_graph_result_t *r)
{
    arena_t *a = arena_of(r);
    hx_graph_hit_t *h = a ? grow((void **)&r->hits, &a->cap_hits, r->n_hits, sizeof *h) : NULL;
    if (h)
        r->n_hits++;
    return h;
}

hx_graph_entity_t *hx_graph_result_add_node(hx_graph_result_t *r)
{
    arena_t *a = arena_of(r);
    hx_graph_entity_t *e = a ? grow((void **)&r->nodes, &a->cap_nodes, r->n_nodes, sizeof *e) : NULL;
    if (e)
        r->n_nodes++;
    return e;
}

hx_graph_rel_t *hx_graph_result_add_rel(hx_graph_result_t *r)
{
    arena_t *a = arena_of(r);
    hx_graph_rel_t *x = a ? grow((void **)&r->rels, &a->cap_rels, r->n_rels, sizeof *x) : NULL;
    if (x)
        r->n_rels++;
    return x;
}

int hx_graph_result_copy_entity(hx_graph_result_t *r, hx_graph_entity_t *dst, const hx_graph_entity_t *src)
{
    hx_graph_entity_t e = *src;
    e.id = hx_graph_result_str(r, src->id);
    e.label = hx_graph_result_str(r, src->label);
    e.type = hx_graph_result_str(r, src->type);
    e.name = hx_graph_result_str(r, src->name);
    e.description = hx_graph_result_str(r, src->description);
    e.properties = hx_graph_result_str(r, src->properties && src->properties[0] ? src->properties : "{}");
    const char **al = src->n_aliases ? hx_graph_result_alloc(r, src->n_aliases * sizeof *al) : NULL;
    if (!e.id || !e.label || !e.type || !e.name || !e.description || !e.properties || (src->n_aliases && !al))
        return HX_ENOMEM;
    for (size_t i = 0; i < src->n_aliases; i++)
        if (!(al[i] = hx_graph_result_str(r, src->aliases[i])))
            return HX_ENOMEM;
    e.aliases = al;
    *dst = e;
    return HX_OK;
}

int hx_graph_result_copy_rel(hx_graph_result_t *r, hx_graph_rel_t *dst, const hx_graph_rel_t *src)
{
    hx_graph_rel_t x = *src;
    x.id = hx_graph_result_str(r, src->id);
    x.from = hx_graph_result_str(r, src->from);
    x.to = hx_graph_result_str(r, src->to);
    x.type = hx_graph_result_str(r, src->type);
    x.properties = hx_graph_result_str(r, src->properties && src->properties[0] ? src->properties : "{}");
    if (!x.id || !x.from || !x.to || !x.type || !x.properties)
        return HX_ENOMEM;
    *dst = x;
    return HX_OK;
}

void hx_graph_result_free(hx_graph_result_t *r)
{
    if (!r)
        return;
    free(r->hits);
    free(r->nodes);
    free(r->rels);
    hx_graph_arena_free(r->arena_);
    memset(r, 0, sizeof *r);
}

hx_graph_op_t *hx_graph_ops_add(hx_graph_ops_t *o)
{
    if (!o->arena_ && !(o->arena_ = calloc(1, sizeof(arena_t))))
        return NULL;
    arena_t *a = o->arena_;
    hx_graph_op_t *op = grow((void **)&o->ops, &a->cap_ops, o->n, sizeof *op);
    if (op)
        o->n++;
    return op;
}

void hx_graph_ops_free(hx_graph_ops_t *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++)
        json_decref((json_t *)o->ops[i].properties);
    free(o->ops);
    hx_graph_arena_free(o->arena_);
    memset(o, 0, sizeof *o);
}
