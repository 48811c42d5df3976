/* `helix bench graph`: the knowledge graph on 100K entities and 300K
 * relationships with a power-law degree distribution (preferential
 * attachment). Writes go through the event path - encode, produce to
 * helixagent.entities.updates, the graph consumer applies - and are timed
 * from the first produce until the store has applied the last op (produce
 * to queryable). Then 2-hop related (LIMIT 100) from 200 random nodes,
 * 2-term fulltext searches and shortest paths, each checked against a
 * reference computed here from the generated data, and the extraction rate
 * on the context benchmark's conversations. --messages N sets the entity
 * count (relationships are 3N). */
#include "bench/bench_int.h"
#include "helix/hx_bench.h"
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_graph.h"
#include "helix/hx_hash.h"
#include "helix/hx_metrics.h"
#include "helix/hx_topics.h"

#include <math.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOCAB 4000
#define QUERIES 200
#define TENANT "bench"
#define K1 1.2
#define B 0.75

static const char *const node_types[] = {"person", "organization", "technology", "product", "place"};
static const char *const rel_types[] = {"CO_OCCURS", "WORKS_WITH", "USES", "KNOWS"};

typedef struct {
    uint32_t from, to;
    uint8_t type;
    double strength;
    char id[17];
} brel_t;

typedef struct {
    long n_nodes, n_rels;
    char (*ids)[17];
    char **names, **descs;
    uint16_t (*words)[6];        /* vocab indices: 2 name words, 4 description words */
    brel_t *rels;
    uint32_t *adj_off, *adj;     /* undirected CSR: rel indices per node */
    char **vocab;
    double *zipf_cdf;
    /* reference fulltext */
    uint32_t *t_off, *t_doc;     /* postings per vocab word (CSR) */
    float *t_tf, *doclen;
    double avgdl;
    uint64_t seed;
} data_t;

static uint32_t rnd(uint64_t *s, uint32_t n)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((*s >> 33) % n);
}

static uint32_t zipf(data_t *d)
{
    double u = (double)rnd(&d->seed, 1u << 30) / (double)(1u << 30);
    uint32_t lo = 0, hi = VOCAB - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (d->zipf_cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void make_vocab(data_t *d)
{
    static const char *syl[] = {"ka", "lo", "mi", "ren", "ta", "vo", "shi", "ne", "dar", "qu", "pel", "os", "tri",
                                "zan", "bel", "cor", "fa", "gu", "hin", "jor"};
    d->vocab = calloc(VOCAB, sizeof *d->vocab);
    d->zipf_cdf = calloc(VOCAB, sizeof *d->zipf_cdf);
    double sum = 0;
    for (int i = 0; i < VOCAB; i++) {
        char w[32];
        int a = i % 20, b = (i / 20) % 20, c = i / 400;
        snprintf(w, sizeof w, "%s%s%s", syl[a], syl[b], c ? syl[c % 20] : "");
        if (c >= 20)
            snprintf(w + strlen(w), sizeof w - strlen(w), "%d", c / 20);
        d->vocab[i] = strdup(w);
        sum += 1.0 / pow(i + 1, 1.07);
        d->zipf_cdf[i] = sum;
    }
    for (int i = 0; i < VOCAB; i++)
        d->zipf_cdf[i] /= sum;
}

static char *cap_word(const char *w, char *buf, size_t len)
{
    snprintf(buf, len, "%s", w);
    buf[0] = (char)(buf[0] - 32);
    return buf;
}

static int gen(data_t *d, long n, hx_err_t *err)
{
    d->n_nodes = n;
    d->n_rels = 3 * n;
    d->seed = 20260101;
    make_vocab(d);
    d->ids = calloc((size_t)n, sizeof *d->ids);
    d->names = calloc((size_t)n, sizeof *d->names);
    d->descs = calloc((size_t)n, sizeof *d->descs);
    d->words = calloc((size_t)n, sizeof *d->words);
    d->rels = calloc((size_t)d->n_rels, sizeof *d->rels);
    if (!d->ids || !d->names || !d->descs || !d->words || !d->rels)
        return hx_err_set(err, HX_ENOMEM, "out of memory generating the graph");
    for (long i = 0; i < n; i++) {
        char key[32], a[32], b[32], name[96], desc[160];
        snprintf(key, sizeof key, "bench-%ld", i);
        uint64_t h = hx_hash64(key, strlen(key));
        snprintf(d->ids[i], 17, "%016llx", (unsigned long long)h);
        for (int k = 0; k < 6; k++)
            d->words[i][k] = (uint16_t)zipf(d);
        uint16_t *w = d->words[i];
        snprintf(name, sizeof name, "%s %s", cap_word(d->vocab[w[0]], a, sizeof a), cap_word(d->vocab[w[1]], b, sizeof b));
        snprintf(desc, sizeof desc, "%s %s %s %s", d->vocab[w[2]], d->vocab[w[3]], d->vocab[w[4]], d->vocab[w[5]]);
        d->names[i] = strdup(name);
        d->descs[i] = strdup(desc);
    }
    /* preferential attachment on the target: a few hubs, a long tail */
    size_t cap = 1;
    while (cap < (size_t)d->n_rels * 4)
        cap <<= 1;
    uint64_t *seen = calloc(cap, sizeof *seen);
    uint32_t *ends = malloc((size_t)d->n_rels * 2 * sizeof *ends);
    if (!seen || !ends) {
        free(seen);
        free(ends);
        return hx_err_set(err, HX_ENOMEM, "out of memory generating the graph");
    }
    size_t n_ends = 0;
    for (long r = 0; r < d->n_rels;) {
        uint32_t from = rnd(&d->seed, (uint32_t)n);
        uint32_t to = n_ends && rnd(&d->seed, 10) < 8 ? ends[rnd(&d->seed, (uint32_t)n_ends)] : rnd(&d->seed, (uint32_t)n);
        uint8_t ty = (uint8_t)rnd(&d->seed, 4);
        if (from == to)
            continue;
        uint64_t key = ((uint64_t)from << 34 | (uint64_t)to << 2 | ty) + 1;
        size_t slot = hx_hash64(&key, sizeof key) & (cap - 1);
        int dup = 0;
        while (seen[slot] && !(dup = seen[slot] == key))
            slot = (slot + 1) & (cap - 1);
        if (dup)
            continue;
        seen[slot] = key;
        brel_t *x = &d->rels[r++];
        x->from = from;
        x->to = to;
        x->type = ty;
        x->strength = 0.1 + (double)rnd(&d->seed, 1000) / 100.0;
        hx_graph_rel_id(TENANT, d->ids[from], rel_types[ty], d->ids[to], x->id);
        ends[n_ends++] = from;
        ends[n_ends++] = to;
    }
    free(seen);
    free(ends);
    /* undirected adjacency */
    d->adj_off = calloc((size_t)n + 1, sizeof *d->adj_off);
    d->adj = malloc((size_t)d->n_rels * 2 * sizeof *d->adj);
    if (!d->adj_off || !d->adj)
        return hx_err_set(err, HX_ENOMEM, "out of memory generating the graph");
    for (long r = 0; r < d->n_rels; r++) {
        d->adj_off[d->rels[r].from + 1]++;
        d->adj_off[d->rels[r].to + 1]++;
    }
    for (long i = 0; i < n; i++)
        d->adj_off[i + 1] += d->adj_off[i];
    uint32_t *fill = calloc((size_t)n, sizeof *fill);
    for (long r = 0; r < d->n_rels; r++) {
        uint32_t a = d->rels[r].from, b = d->rels[r].to;
        d->adj[d->adj_off[a] + fill[a]++] = (uint32_t)r;
        d->adj[d->adj_off[b] + fill[b]++] = (uint32_t)r;
    }
    free(fill);
    return HX_OK;
}

static void data_free(data_t *d)
{
    for (long i = 0; i < d->n_nodes; i++) {
        free(d->names ? d->names[i] : NULL);
        free(d->descs ? d->descs[i] : NULL);
    }
    for (int i = 0; d->vocab && i < VOCAB; i++)
        free(d->vocab[i]);
    free(d->vocab);
    free(d->zipf_cdf);
    free(d->ids);
    free(d->names);
    free(d->descs);
    free(d->words);
    free(d->rels);
    free(d->adj_off);
    free(d->adj);
    free(d->t_off);
    free(d->t_doc);
    free(d->t_tf);
    free(d->doclen);
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* ---- the event path ---- */

/* Produces ops in chunks and waits until the graph applied them all. */
static int through_events(hx_broker_t *b, hx_graph_t *g, const hx_graph_op_t *ops, size_t n, double *sec,
                          double *cpu, hx_err_t *err)
{
    double c0 = hx_bench_process_cpu();
    hx_topic_info_t ti;
    int rc = hx_broker_topic_describe(b, HX_TOPIC_ENTITIES, &ti, err);
    if (rc)
        return rc;
    hx_graph_encode_opts_t eo = {.source = "bench", .partitions = ti.config.partitions, .max_items = 1000};
    hx_topic_info_free(&ti);
    hx_graph_progress_t p0, p;
    hx_graph_progress(g, &p0);
    uint64_t t0 = hx_mono_ns();
    for (size_t off = 0; off < n; off += 20000) {
        size_t k = n - off < 20000 ? n - off : 20000;
        hx_graph_records_t rec;
        if ((rc = hx_graph_events_encode(ops + off, k, &eo, &rec, err)))
            return rc;
        rc = hx_broker_produce(b, rec.msgs, rec.n, NULL, err);
        hx_graph_records_free(&rec);
        if (rc)
            return rc;
    }
    for (uint64_t deadline = hx_mono_ns() + 300ull * 1000000000;;) {
        hx_graph_progress(g, &p);
        if (p.ops_applied - p0.ops_applied >= n)
            break;
        if (hx_mono_ns() > deadline)
            return hx_err_set(err, HX_ETIMEOUT, "the graph consumer applied %llu of %zu ops in 300 s",
                              (unsigned long long)(p.ops_applied - p0.ops_applied), n);
        hx_sleep_ms(1);
    }
    *sec = (double)(hx_mono_ns() - t0) / 1e9;
    *cpu = hx_bench_process_cpu() - c0;
    return HX_OK;
}

/* ---- references ---- */

typedef struct {
    uint32_t node;
    int depth;
    double s;
} ref_t;

static int ref_cmp(const void *pa, const void *pb, void *ctx)
{
    const data_t *cmp_data = ctx;
    const ref_t *a = pa, *b = pb;
    if (a->depth != b->depth)
        return a->depth - b->depth;
    if (a->s != b->s)
        return a->s > b->s ? -1 : 1;
    return strcmp(cmp_data->ids[a->node], cmp_data->ids[b->node]);
}

static int better(const data_t *d, uint32_t r1, uint32_t r2)
{
    if (d->rels[r1].strength != d->rels[r2].strength)
        return d->rels[r1].strength > d->rels[r2].strength;
    return strcmp(d->rels[r1].id, d->rels[r2].id) < 0;
}

/* 1 when the related answer equals the reference 2-hop neighbourhood. */
static int check_related(const data_t *d, uint32_t start, const hx_graph_result_t *r, int32_t *dist, uint32_t *via,
                         uint32_t *list)
{
    size_t nl = 0;
    dist[start] = 0;
    list[nl++] = start;
    size_t fb = 0, fe = 1;
    for (int dep = 1; dep <= 2; dep++) {
        for (size_t i = fb; i < fe; i++) {
            uint32_t u = list[i];
            for (uint32_t k = d->adj_off[u]; k < d->adj_off[u + 1]; k++) {
                uint32_t rr = d->adj[k], v = d->rels[rr].from == u ? d->rels[rr].to : d->rels[rr].from;
                if (dist[v] < 0) {
                    dist[v] = dep;
                    via[v] = rr;
                    list[nl++] = v;
                } else if (dist[v] == dep && better(d, rr, via[v])) {
                    via[v] = rr;
                }
            }
        }
        fb = fe;
        fe = nl;
    }
    ref_t *ref = malloc(nl * sizeof *ref);
    size_t nr = 0;
    for (size_t i = 1; i < nl; i++)
        ref[nr++] = (ref_t){list[i], dist[list[i]], d->rels[via[list[i]]].strength};
    qsort_r(ref, nr, sizeof *ref, ref_cmp, (void *)d);
    int ok = r->total == (int64_t)nr && r->n_hits == (nr < 100 ? nr : 100);
    for (size_t i = 0; ok && i < r->n_hits; i++)
        ok = !strcmp(r->hits[i].entity.id, d->ids[ref[i].node]) && r->hits[i].depth == ref[i].depth &&
             r->hits[i].via.strength == ref[i].s && !strcmp(r->hits[i].via.id, d->rels[via[ref[i].node]].id);
    for (size_t i = 0; i < nl; i++)
        dist[list[i]] = -1;
    free(ref);
    return ok;
}

/* The reference fulltext index over names (weight 2) and descriptions. */
static int build_ft(data_t *d, hx_err_t *err)
{
    long n = d->n_nodes;
    uint32_t *cnt = calloc(VOCAB + 1, sizeof *cnt);
    d->doclen = calloc((size_t)n, sizeof *d->doclen);
    uint16_t(*doc)[6] = d->words;
    if (!cnt || !d->doclen) {
        free(cnt);
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    /* distinct words per document with weighted tf */
    d->t_off = calloc(VOCAB + 1, sizeof *d->t_off);
    for (long i = 0; i < n; i++)
        for (int k = 0; k < 6; k++) {
            int first = 1;
            for (int j = 0; j < k; j++)
                first &= doc[i][j] != doc[i][k];
            if (first)
                d->t_off[doc[i][k] + 1]++;
        }
    for (int v = 0; v < VOCAB; v++)
        d->t_off[v + 1] += d->t_off[v];
    d->t_doc = malloc(d->t_off[VOCAB] * sizeof *d->t_doc);
    d->t_tf = malloc(d->t_off[VOCAB] * sizeof *d->t_tf);
    double total = 0;
    for (long i = 0; i < n; i++) {
        float len = 0;
        for (int k = 0; k < 6; k++) {
            int first = 1;
            for (int j = 0; j < k; j++)
                first &= doc[i][j] != doc[i][k];
            float tf = 0;
            for (int j = 0; j < 6; j++)
                tf += doc[i][j] == doc[i][k] ? (j < 2 ? 2.0f : 1.0f) : 0.0f;
            if (first) {
                uint32_t v = doc[i][k];
                d->t_doc[d->t_off[v] + cnt[v]] = (uint32_t)i;
                d->t_tf[d->t_off[v] + cnt[v]++] = tf;
                len += tf;
            }
        }
        d->doclen[i] = len;
        total += len;
    }
    d->avgdl = total / (double)n;
    free(cnt);
    return HX_OK;
}

typedef struct {
    uint32_t node;
    double s;
} sref_t;

static int sref_cmp(const void *pa, const void *pb, void *ctx)
{
    const data_t *cmp_data = ctx;
    const sref_t *a = pa, *b = pb;
    if (a->s != b->s)
        return a->s > b->s ? -1 : 1;
    return strcmp(cmp_data->ids[a->node], cmp_data->ids[b->node]);
}

/* Scores agree to rounding; the ids agree except among near-equal scores. */
static int check_search(const data_t *d, const int *terms, int nt, const hx_graph_result_t *r, double *score,
                        uint32_t *mark, uint32_t ep)
{
    sref_t *c = malloc(((size_t)d->n_nodes) * sizeof *c);
    size_t nc = 0;
    double N = (double)d->n_nodes;
    for (int q = 0; q < nt; q++) {
        if (q == 1 && terms[1] == terms[0])
            break;
        uint32_t v = (uint32_t)terms[q], a = d->t_off[v], z = d->t_off[v + 1];
        double df = z - a, idf = log(1.0 + (N - df + 0.5) / (df + 0.5));
        for (uint32_t k = a; k < z; k++) {
            uint32_t doc = d->t_doc[k];
            double tf = d->t_tf[k];
            if (mark[doc] != ep) {
                mark[doc] = ep;
                score[doc] = 0;
                c[nc++] = (sref_t){doc, 0};
            }
            score[doc] += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * d->doclen[doc] / d->avgdl));
        }
    }
    for (size_t i = 0; i < nc; i++)
        c[i].s = score[c[i].node];
    qsort_r(c, nc, sizeof *c, sref_cmp, (void *)d);
    int ok = r->total == (int64_t)nc && r->n_hits == (nc < 100 ? nc : 100);
    for (size_t i = 0; ok && i < r->n_hits; i++) {
        double tol = 1e-6 * (1 + c[i].s);
        ok = fabs(r->hits[i].score - c[i].s) < tol;
        if (ok && strcmp(r->hits[i].entity.id, d->ids[c[i].node])) {
            /* another node of the same score may sit here */
            long idx = -1;
            for (long k = 0; k < d->n_nodes && idx < 0; k++)
                if (!strcmp(d->ids[k], r->hits[i].entity.id))
                    idx = k;
            ok = idx >= 0 && mark[idx] == ep && fabs(score[idx] - c[i].s) < tol;
        }
    }
    free(c);
    return ok;
}

/* Length of a shortest undirected path (-1 none) and whether r is a valid path of that length. */
static int check_path(const data_t *d, uint32_t a, uint32_t z, const hx_graph_result_t *r, int rc, int32_t *dist,
                      uint32_t *list)
{
    size_t nl = 0;
    dist[a] = 0;
    list[nl++] = a;
    int found = a == z ? 0 : -1;
    for (size_t i = 0; i < nl && found < 0; i++) {
        uint32_t u = list[i];
        if (dist[u] >= 10)
            break;
        for (uint32_t k = d->adj_off[u]; k < d->adj_off[u + 1] && found < 0; k++) {
            uint32_t rr = d->adj[k], v = d->rels[rr].from == u ? d->rels[rr].to : d->rels[rr].from;
            if (dist[v] < 0) {
                dist[v] = dist[u] + 1;
                list[nl++] = v;
                if (v == z)
                    found = dist[v];
            }
        }
    }
    for (size_t i = 0; i < nl; i++)
        dist[list[i]] = -1;
    if (found < 0)
        return rc == HX_ENOTFOUND;
    if (rc || (int)r->n_rels != found || r->n_nodes != r->n_rels + 1 || strcmp(r->nodes[0].id, d->ids[a]) ||
        strcmp(r->nodes[r->n_nodes - 1].id, d->ids[z]))
        return 0;
    for (size_t i = 0; i < r->n_rels; i++) {
        const hx_graph_rel_t *x = &r->rels[i];
        const char *p = r->nodes[i].id, *q = r->nodes[i + 1].id;
        if (!((!strcmp(x->from, p) && !strcmp(x->to, q)) || (!strcmp(x->from, q) && !strcmp(x->to, p))))
            return 0;
    }
    return 1;
}

static double p95_ms(hx_latency_t *l)
{
    return (double)hx_latency_percentile(l, 95) / 1e6;
}

int hx_bench_graph(const hx_bench_opts_t *o, json_t **out, hx_err_t *err)
{
    long n = o->messages > 0 ? o->messages : 100000;
    char tmpl[64];
    const char *dir;
    int rc = hx_bench_workdir(o, "graph", tmpl, sizeof tmpl, &dir, err);
    if (rc)
        return rc;
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    snprintf(cfg.node.data_dir, sizeof cfg.node.data_dir, "%s", dir);
    cfg.event_log.fsync = o->fsync;
    if (o->backend && strcmp(o->backend, "embedded"))
        snprintf(cfg.backends.graph, sizeof cfg.backends.graph, "%s", o->backend);
    if (!strcmp(cfg.backends.graph, "neo4j")) {
        /* Credentials and the database come the usual way (HELIX_NEO4J_*),
         * the server from --uri. */
        hx_config_t env;
        hx_config_defaults(&env);
        if ((rc = hx_config_apply_env(&env, NULL, err))) {
            hx_bench_workdir_done(o, "graph", dir);
            return rc;
        }
        cfg.neo4j = env.neo4j;
        if (o->uri)
            snprintf(cfg.neo4j.uri, sizeof cfg.neo4j.uri, "%s", o->uri);
    }
    char gdir[HX_CFG_STR + 16];
    snprintf(gdir, sizeof gdir, "%s/graph", dir);
    data_t d = {0};
    hx_broker_t *b = NULL;
    hx_graph_t *g = NULL;
    hx_graph_op_t *ops = NULL;
    hx_latency_t *l_rel = hx_latency_new(), *l_ft = hx_latency_new(), *l_path = hx_latency_new();
    hx_latency_t *c_rel = hx_latency_new(), *c_ft = hx_latency_new(), *c_path = hx_latency_new();
    int32_t *dist = NULL;
    uint32_t *via = NULL, *list = NULL, *mark = NULL;
    double *score = NULL;
    json_t *res = json_object();
    int verified = 1, bad_rel = 0, bad_ft = 0, bad_path = 0;
    if (!o->quiet)
        fprintf(stderr, "bench graph: generating %ld entities and %ld relationships (power law)\n", n, 3 * n);
    if ((rc = gen(&d, n, err)) || (rc = build_ft(&d, err)))
        goto done;
    if ((rc = hx_broker_open(&cfg, NULL, &b, err)) || (rc = hx_broker_ensure_builtin_topics(b, err)))
        goto done;
    hx_graph_opts_t go;
    hx_graph_opts_defaults(&go);
    go.cfg = &cfg;
    go.dir = gdir;
    go.broker = b;
    go.node_id = "bench";
    go.extract = 0;
    if ((rc = hx_graph_open(&go, &g, err)))
        goto done;
    size_t nops = (size_t)(3 * n > 2 * n ? 3 * n : 2 * n);
    if (!(ops = calloc(nops, sizeof *ops))) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        goto done;
    }
    /* 1. new nodes */
    int64_t now = hx_now_ms();
    for (long i = 0; i < n; i++)
        ops[i] = (hx_graph_op_t){.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = TENANT, .ts_ms = now, .id = d.ids[i],
                                 .label = HX_GRAPH_LABEL_ENTITY, .type = node_types[i % 5], .name = d.names[i],
                                 .description = d.descs[i], .mentions = 1, .confidence = 1};
    double t_nodes, t_rels, t_upsert, c_nodes, c_rels, c_upsert;
    if (!o->quiet)
        fprintf(stderr, "bench graph: %ld entity upserts through %s\n", n, HX_TOPIC_ENTITIES);
    if ((rc = through_events(b, g, ops, (size_t)n, &t_nodes, &c_nodes, err)))
        goto done;
    /* 2. relationships */
    for (long r = 0; r < 3 * n; r++)
        ops[r] = (hx_graph_op_t){.kind = HX_GRAPH_OP_REL_UPSERT, .tenant = TENANT, .ts_ms = now + 1,
                                 .from = d.ids[d.rels[r].from], .to = d.ids[d.rels[r].to],
                                 .rel_type = rel_types[d.rels[r].type], .strength = d.rels[r].strength,
                                 .strength_set = 1};
    if (!o->quiet)
        fprintf(stderr, "bench graph: %ld relationship upserts\n", 3 * n);
    if ((rc = through_events(b, g, ops, (size_t)(3 * n), &t_rels, &c_rels, err)))
        goto done;
    /* 3. upserts of existing nodes: one more mention each */
    for (long i = 0; i < n; i++)
        ops[i] = (hx_graph_op_t){.kind = HX_GRAPH_OP_ENTITY_UPSERT, .tenant = TENANT, .ts_ms = now + 2, .id = d.ids[i],
                                 .mentions = 1, .confidence = 1};
    if (!o->quiet)
        fprintf(stderr, "bench graph: %ld upserts of existing entities\n", n);
    if ((rc = through_events(b, g, ops, (size_t)n, &t_upsert, &c_upsert, err)))
        goto done;
    hx_graph_stats_t st;
    if ((rc = hx_graph_stats(g, &st, err)))
        goto done;
    verified &= st.nodes == n && st.relationships == 3 * n;

    /* 4. queries, each checked against the reference */
    dist = malloc((size_t)n * sizeof *dist);
    via = malloc((size_t)n * sizeof *via);
    list = malloc((size_t)n * sizeof *list);
    mark = calloc((size_t)n, sizeof *mark);
    score = malloc((size_t)n * sizeof *score);
    if (!dist || !via || !list || !mark || !score || !l_rel || !l_ft || !l_path || !c_rel || !c_ft || !c_path) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        goto done;
    }
    for (long i = 0; i < n; i++)
        dist[i] = -1;
    uint64_t qs = 777;
    if (!o->quiet)
        fprintf(stderr, "bench graph: %d related (depth 2, LIMIT 100), searches and paths\n", QUERIES);
    for (int q = 0; q < QUERIES; q++) {
        uint32_t s0 = rnd(&qs, (uint32_t)n);
        hx_graph_related_q_t rq = {.tenant = TENANT, .id = d.ids[s0], .depth = 2, .limit = 100};
        hx_graph_result_t r = {0};
        uint64_t t0 = hx_mono_ns(), u0 = thread_cpu_ns();
        int qrc = hx_graph_related(g, &rq, &r, err);
        hx_latency_record(l_rel, hx_mono_ns() - t0);
        hx_latency_record(c_rel, thread_cpu_ns() - u0);
        if (qrc || !check_related(&d, s0, &r, dist, via, list))
            bad_rel++;
        hx_graph_result_free(&r);
    }
    for (int q = 0; q < QUERIES; q++) {
        int terms[2] = {(int)zipf(&d), (int)zipf(&d)};
        char query[80];
        snprintf(query, sizeof query, "%s %s", d.vocab[terms[0]], d.vocab[terms[1]]);
        hx_graph_search_q_t sq = {.tenant = TENANT, .query = query, .limit = 100};
        hx_graph_result_t r = {0};
        uint64_t t0 = hx_mono_ns(), u0 = thread_cpu_ns();
        int qrc = hx_graph_search(g, &sq, &r, err);
        hx_latency_record(l_ft, hx_mono_ns() - t0);
        hx_latency_record(c_ft, thread_cpu_ns() - u0);
        if (qrc || !check_search(&d, terms, 2, &r, score, mark, (uint32_t)q + 1))
            bad_ft++;
        hx_graph_result_free(&r);
    }
    for (int q = 0; q < QUERIES; q++) {
        uint32_t a = rnd(&qs, (uint32_t)n), z = rnd(&qs, (uint32_t)n);
        hx_graph_path_q_t pq = {.tenant = TENANT, .from = d.ids[a], .to = d.ids[z], .max_depth = 10};
        hx_graph_result_t r = {0};
        uint64_t t0 = hx_mono_ns(), u0 = thread_cpu_ns();
        int qrc = hx_graph_path(g, &pq, &r, err);
        hx_latency_record(l_path, hx_mono_ns() - t0);
        hx_latency_record(c_path, thread_cpu_ns() - u0);
        if (!check_path(&d, a, z, &r, qrc, dist, list))
            bad_path++;
        hx_graph_result_free(&r);
    }
    hx_err_clear(err);
    verified &= !bad_rel && !bad_ft && !bad_path;

    /* 5. extraction on the context benchmark's conversations */
    hx_graph_extractor_t *x = NULL;
    if ((rc = hx_graph_extractor_new(&cfg, &x, err)))
        goto done;
    hx_bench_conv_t conv;
    hx_bench_conv_init(&conv, 1000 + 10000);
    long n_msgs = 10000;
    uint64_t ext_ns = 0, ext_ops = 0;
    for (long i = 0; i < n_msgs; i++) {
        char text[HX_BENCH_CONV_MSG_MAX];
        hx_bench_conv_next(&conv, text, sizeof text);
        hx_graph_message_t m = {.tenant = TENANT, .conversation_id = "bench-10000", .user_id = "u-bench",
                                .content = text, .ts_ms = 1};
        hx_graph_ops_t xo = {0};
        uint64_t t0 = hx_mono_ns();
        rc = hx_graph_extract_message(x, &m, &xo, err);
        ext_ns += hx_mono_ns() - t0;
        ext_ops += xo.n;
        hx_graph_ops_free(&xo);
        if (rc)
            break;
    }
    hx_graph_extractor_free(x);
    if (rc)
        goto done;

    double w_nodes = (double)n / t_nodes, w_rels = (double)(3 * n) / t_rels, w_up = (double)n / t_upsert;
    double p_rel = p95_ms(l_rel), p_ft = p95_ms(l_ft), p_path = p95_ms(l_path);
    double ext_rate = (double)n_msgs / ((double)ext_ns / 1e9);
    char v[128];
    double cpu_nodes = (double)n / c_nodes, cpu_rels = (double)(3 * n) / c_rels, cpu_up = (double)n / c_upsert;
    double pc_rel = p95_ms(c_rel), pc_ft = p95_ms(c_ft), pc_path = p95_ms(c_path);
    snprintf(v, sizeof v, "%.0f nodes/s (%.2f s)", w_nodes, t_nodes);
    hx_bench_row("Graph (Neo4j role)", "Write via events: nodes", v, ">5K/s", ">2K/s", hx_bench_verdict(w_nodes, 5000, 2000, 1));
    snprintf(v, sizeof v, "%.0f rels/s (%.2f s)", w_rels, t_rels);
    hx_bench_row("Graph", "Write via events: relationships", v, ">5K/s", ">2K/s", hx_bench_verdict(w_rels, 5000, 2000, 1));
    snprintf(v, sizeof v, "%.0f nodes/s (%.2f s)", w_up, t_upsert);
    hx_bench_row("Graph", "Upsert existing nodes (events)", v, ">5K/s", ">2K/s", hx_bench_verdict(w_up, 5000, 2000, 1));
    snprintf(v, sizeof v, "p95 %.3f ms (cpu p95 %.3f)%s", p_rel, pc_rel, bad_rel ? " WRONG" : "");
    hx_bench_row("Graph", "Query p95: related 2-hop, LIMIT 100", v, "<100 ms", "<200 ms", hx_bench_verdict(p_rel, 100, 200, 0));
    snprintf(v, sizeof v, "p95 %.3f ms (cpu p95 %.3f)%s", p_ft, pc_ft, bad_ft ? " WRONG" : "");
    hx_bench_row("Graph", "Query p95: fulltext, 2 terms", v, "<100 ms", "<200 ms", hx_bench_verdict(p_ft, 100, 200, 0));
    snprintf(v, sizeof v, "p95 %.3f ms (cpu p95 %.3f)%s", p_path, pc_path, bad_path ? " WRONG" : "");
    hx_bench_row("Graph", "Query p95: shortest path", v, "<100 ms", "<200 ms", hx_bench_verdict(p_path, 100, 200, 0));
    snprintf(v, sizeof v, "%.0f msgs/s (%.1f ops/msg)", ext_rate, (double)ext_ops / (double)n_msgs);
    hx_bench_row("Graph", "Extraction, context bench msgs", v, "-", "-", "-");
    double load1 = 0;
    if (getloadavg(&load1, 1) < 1)
        load1 = 0;
    printf("cost in CPU (all threads): %.0f nodes/s, %.0f rels/s, %.0f upserts/s per CPU-second; load average %.1f "
           "on %ld cores at the end\n", cpu_nodes, cpu_rels, cpu_up, load1, sysconf(_SC_NPROCESSORS_ONLN));
    printf("goals on 2 cores: write %s (>= 200K nodes/s), %s (>= 500K rels/s); 2-hop %s (< 1 ms), fulltext %s "
           "(< 5 ms), path %s (< 5 ms); answers %s (%d/%d/%d wrong of %d each); backend=%s, fsync=%s\n",
           w_nodes >= 200000 ? "met" : "missed", w_rels >= 500000 ? "met" : "missed", p_rel < 1 ? "met" : "missed",
           p_ft < 5 ? "met" : "missed", p_path < 5 ? "met" : "missed", verified ? "verified" : "NOT verified",
           bad_rel, bad_ft, bad_path, QUERIES, hx_graph_backend(g),
           cfg.event_log.fsync == HX_FSYNC_ALWAYS ? "always" : cfg.event_log.fsync == HX_FSYNC_NEVER ? "never" : "interval");
    json_object_set_new(res, "backend", json_string(hx_graph_backend(g)));
    json_object_set_new(res, "nodes", json_integer(st.nodes));
    json_object_set_new(res, "relationships", json_integer(st.relationships));
    json_object_set_new(res, "write_nodes_per_sec", json_real(w_nodes));
    json_object_set_new(res, "write_rels_per_sec", json_real(w_rels));
    json_object_set_new(res, "upsert_nodes_per_sec", json_real(w_up));
    json_object_set_new(res, "related_2hop_p95_ms", json_real(p_rel));
    json_object_set_new(res, "search_p95_ms", json_real(p_ft));
    json_object_set_new(res, "path_p95_ms", json_real(p_path));
    json_object_set_new(res, "extract_messages_per_sec", json_real(ext_rate));
    json_object_set_new(res, "verified", json_boolean(verified));
    /* What the work cost in CPU, next to the wall clock: on a shared machine
     * the difference is time spent waiting for a core. */
    json_object_set_new(res, "write_nodes_per_cpu_sec", json_real(cpu_nodes));
    json_object_set_new(res, "write_rels_per_cpu_sec", json_real(cpu_rels));
    json_object_set_new(res, "upsert_nodes_per_cpu_sec", json_real(cpu_up));
    json_object_set_new(res, "related_2hop_p95_cpu_ms", json_real(pc_rel));
    json_object_set_new(res, "search_p95_cpu_ms", json_real(pc_ft));
    json_object_set_new(res, "path_p95_cpu_ms", json_real(pc_path));
    json_object_set_new(res, "load_avg_1m", json_real(load1));
    json_object_set_new(res, "verdict_write", json_string(hx_bench_verdict(w_nodes, 5000, 2000, 1)));
    double worst = p_rel > p_ft ? (p_rel > p_path ? p_rel : p_path) : (p_ft > p_path ? p_ft : p_path);
    json_object_set_new(res, "verdict_query", json_string(hx_bench_verdict(worst, 100, 200, 0)));
    json_object_set_new(res, "store_size_bytes", json_integer(st.store_bytes));
    json_object_set_new(res, "fsync", json_string(cfg.event_log.fsync == HX_FSYNC_ALWAYS ? "always"
                                                  : cfg.event_log.fsync == HX_FSYNC_NEVER ? "never" : "interval"));
done:
    hx_graph_close(g);
    hx_broker_close(b);
    hx_latency_free(l_rel);
    hx_latency_free(l_ft);
    hx_latency_free(l_path);
    hx_latency_free(c_rel);
    hx_latency_free(c_ft);
    hx_latency_free(c_path);
    free(ops);
    free(dist);
    free(via);
    free(list);
    free(mark);
    free(score);
    data_free(&d);
    hx_bench_workdir_done(o, "graph", dir);
    *out = res;
    return rc;
}
