/* Graph event data arrives from anyone who can produce to
 * helixagent.entities.updates or the knowledge API. The input is the
 * data text of an event (and, by its first byte, which kind). Properties:
 *   - the reader never crashes and accepts only ops that validate;
 *   - accepted ops encode to envelopes that decode back to the same ops
 *     (kind, ids, names, numbers, properties), in order;
 *   - the same bytes framed as a whole record value decode strictly (no
 *     crash, a message on refusal). */
#include "helix/hx_graph.h"
#include "helix/hx_hash.h"
#include "fuzz_util.h"

#include <math.h>

/* Decodes every record of a multi-record encode: each must be valid and its
 * runs count its items. *items and *mentions (entity upserts) in all. */
static void multi_back(const hx_graph_records_t *rec, size_t *items, int64_t *mentions)
{
    hx_err_t e = {0};
    *items = 0;
    *mentions = 0;
    for (size_t r = 0; r < rec->n; r++) {
        hx_graph_ops_t back = {0};
        hx_graph_src_t src;
        size_t all = 0;
        FZ_ASSERT(hx_graph_events_decode(rec->msgs[r].value, rec->msgs[r].value_len, &back, &src, &e) == 0,
                  "own multi record refused: %s", e.msg);
        hx_graph_src_applied(&src, INT64_MAX, &all);
        FZ_ASSERT(src.runs && all == back.n, "runs count %zu of %zu items", all, back.n);
        for (size_t i = 0; i < back.n; i++)
            if (back.ops[i].kind == HX_GRAPH_OP_ENTITY_UPSERT)
                *mentions += back.ops[i].mentions;
        *items += back.n;
        hx_graph_ops_free(&back);
    }
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    static const hx_graph_op_kind_t kinds[] = {HX_GRAPH_OP_ENTITY_UPSERT, HX_GRAPH_OP_ENTITY_DELETE,
                                               HX_GRAPH_OP_ENTITY_MERGE, HX_GRAPH_OP_REL_UPSERT,
                                               HX_GRAPH_OP_REL_DELETE};
    hx_graph_op_kind_t kind = kinds[data[0] % 5];
    hx_graph_ops_t ops = {0};
    hx_err_t e = {0};
    int rc = hx_graph_items_parse("t", 5, kind, (const char *)data + 1, size - 1, "data", &ops, &e);
    if (rc) {
        FZ_ASSERT(rc == HX_EINVAL || rc == HX_ENOMEM, "unexpected code %d", rc);
        FZ_ASSERT(e.msg[0], "a refusal without a message");
    } else {
        for (size_t i = 0; i < ops.n; i++)
            FZ_ASSERT(hx_graph_op_validate(&ops.ops[i], NULL, &e) == 0, "accepted an invalid op: %s", e.msg);
        hx_graph_encode_opts_t eo = {.source = "f", .partitions = 3, .max_items = 4};
        hx_graph_records_t rec;
        FZ_ASSERT(hx_graph_events_encode(ops.ops, ops.n, &eo, &rec, &e) == 0, "encode failed: %s", e.msg);
        /* one partition's records in order give back its ops in order */
        size_t seen = 0;
        for (int p = 0; p < 3; p++) {
            size_t k = 0;
            for (size_t r = 0; r < rec.n; r++) {
                if (rec.msgs[r].partition != p)
                    continue;
                hx_graph_ops_t back = {0};
                FZ_ASSERT(hx_graph_events_decode(rec.msgs[r].value, rec.msgs[r].value_len, &back, NULL, &e) == 0, "own record refused: %s", e.msg);
                for (size_t j = 0; j < back.n; j++, seen++) {
                    while (k < ops.n) {
                        const hx_graph_op_t *o = &ops.ops[k];
                        const char *key = o->kind == HX_GRAPH_OP_REL_UPSERT || o->kind == HX_GRAPH_OP_REL_DELETE
                                              ? o->from : o->id;
                        if (hx_partition_for_key(key, strlen(key), 3) == (uint32_t)p)
                            break;
                        k++;
                    }
                    FZ_ASSERT(k < ops.n, "more ops decoded than encoded in partition %d", p);
                    const hx_graph_op_t *a = &ops.ops[k++], *b = &back.ops[j];
                    FZ_ASSERT(a->kind == b->kind && same_str(a->id, b->id) && same_str(a->name, b->name) &&
                                  same_str(a->type, b->type) && same_str(a->rel_type, b->rel_type) &&
                                  same_str(a->from, b->from) && same_str(a->to, b->to) &&
                                  same_str(a->description, b->description) && a->mentions == b->mentions &&
                                  a->n_aliases == b->n_aliases && a->strength_set == b->strength_set,
                              "op %zu changed in a round trip", k - 1);
                    FZ_ASSERT(a->strength == b->strength && a->confidence == b->confidence,
                              "a number changed in a round trip");
                    FZ_ASSERT((!a->properties && !b->properties) || json_equal(a->properties, b->properties),
                              "properties changed in a round trip");
                }
                hx_graph_ops_free(&back);
            }
        }
        FZ_ASSERT(seen == ops.n, "%zu ops came back of %zu", seen, ops.n);
        hx_graph_records_free(&rec);
        /* as envelopes of several source records (two ops each): every op
         * comes back once, each envelope's runs count its items */
        int64_t *offs = malloc((ops.n ? ops.n : 1) * sizeof *offs);
        FZ_ASSERT(offs != NULL, "out of memory");
        for (size_t i = 0; i < ops.n; i++)
            offs[i] = (int64_t)(i / 2);
        eo = (hx_graph_encode_opts_t){.source = "f", .partitions = 3, .max_items = 4, .src = "s/1", .src_offsets = offs};
        FZ_ASSERT(hx_graph_events_encode(ops.ops, ops.n, &eo, &rec, &e) == 0, "multi encode failed: %s", e.msg);
        int64_t m_in = 0, m_out;
        for (size_t i = 0; i < ops.n; i++)
            if (ops.ops[i].kind == HX_GRAPH_OP_ENTITY_UPSERT)
                m_in += ops.ops[i].mentions;
        multi_back(&rec, &seen, &m_out);
        FZ_ASSERT(seen == ops.n && m_out == m_in, "%zu ops came back of %zu (multi)", seen, ops.n);
        hx_graph_records_free(&rec);
        /* merged: no more items than ops, and the same mentions in all */
        for (int mode = 1; mode <= 2; mode++) {
            eo.coalesce = mode;
            FZ_ASSERT(hx_graph_events_encode(ops.ops, ops.n, &eo, &rec, &e) == 0, "merged encode failed: %s", e.msg);
            multi_back(&rec, &seen, &m_out);
            FZ_ASSERT(seen <= ops.n && m_out == m_in, "merged: %zu items of %zu ops, mentions %lld of %lld", seen,
                      ops.n, (long long)m_out, (long long)m_in);
            hx_graph_records_free(&rec);
        }
        free(offs);
    }
    hx_graph_ops_free(&ops);
    /* the raw bytes as a record value: strict, never a crash */
    hx_graph_ops_t v = {0};
    hx_graph_src_t src;
    rc = hx_graph_events_decode(data, size, &v, &src, &e);
    FZ_ASSERT(!rc || e.msg[0], "refused without a message");
    hx_graph_ops_free(&v);
    return 0;
}
