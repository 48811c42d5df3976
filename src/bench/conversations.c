/* The context benchmark's synthetic conversations (topics, people,
 * systems, places, decisions, numbers, code), shared by every bench that
 * measures on them: context replay and graph extraction. */
#include "bench/bench_int.h"

#include <stdio.h>

static uint32_t rnd(uint64_t *s, uint32_t n)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((*s >> 33) % n);
}

static const char *people[] = {"Alice Chen", "Bob Li", "Dana Ortiz", "Marcus Weber", "Priya Nair", "Kenji Sato",
                               "Elena Petrova", "Omar Haddad"};
static const char *systems[] = {"PostgreSQL", "KafkaCluster", "Redis", "GPT-4", "ClickHouse", "Neo4j", "S3",
                                "BillingService", "AuthGateway", "HelixAgent"};
static const char *places[] = {"Berlin", "Singapore", "Toronto", "Sydney"};
static const char *topics[][6] = {
    {"latency", "p95", "timeout", "regression", "profile", "hotpath"},
    {"schema", "migration", "column", "index", "backfill", "constraint"},
    {"budget", "invoice", "pricing", "discount", "forecast", "quota"},
    {"deploy", "rollback", "canary", "release", "pipeline", "artifact"},
    {"incident", "outage", "alert", "pager", "postmortem", "runbook"},
    {"model", "prompt", "embedding", "context", "token", "evaluation"},
};

static int sentence(char *b, size_t cap, uint64_t *s, int topic)
{
    const char *const *w = topics[topic];
    const char *p = people[rnd(s, 8)], *sy = systems[rnd(s, 10)];
    switch (rnd(s, 7)) {
    case 0: return snprintf(b, cap, "Should %s move the %s of %s before Friday? ", p, w[rnd(s, 6)], sy);
    case 1:
        return snprintf(b, cap, "We decided that %s owns the %s %s for %s, with a limit of %u ms. ", p, w[rnd(s, 6)],
                        w[rnd(s, 6)], sy, 50 + rnd(s, 950));
    case 2:
        return snprintf(b, cap, "The %s in %s went from %u to %u after the %s change. ", w[rnd(s, 6)],
                        places[rnd(s, 4)], rnd(s, 400), rnd(s, 400), w[rnd(s, 6)]);
    case 3: return snprintf(b, cap, "`%s_%s(%u)` returns the %s for %s. ", w[rnd(s, 6)], w[rnd(s, 6)], rnd(s, 64),
                            w[rnd(s, 6)], sy);
    case 4: return snprintf(b, cap, "I think the %s and the %s need another look from %s. ", w[rnd(s, 6)],
                            w[rnd(s, 6)], p);
    case 5: return snprintf(b, cap, "Agreed: %s will ship the %s fix to %s in release %u.%u. ", p, w[rnd(s, 6)], sy,
                            1 + rnd(s, 4), rnd(s, 20));
    default: return snprintf(b, cap, "Thanks, that %s %s makes sense. ", w[rnd(s, 6)], w[rnd(s, 6)]);
    }
}

void hx_bench_conv_init(hx_bench_conv_t *c, uint64_t seed)
{
    c->seed = seed;
    c->topic = 0;
}

size_t hx_bench_conv_next(hx_bench_conv_t *c, char *buf, size_t cap)
{
    if (rnd(&c->seed, 60) == 0)
        c->topic = (int)rnd(&c->seed, 6); /* conversations drift between topics */
    size_t k = 0;
    int ns = 1 + (int)rnd(&c->seed, 4);
    buf[0] = 0;
    for (int j = 0; j < ns && k < 900 && k + 300 < cap; j++)
        k += (size_t)sentence(buf + k, cap - k, &c->seed, c->topic);
    return k;
}
