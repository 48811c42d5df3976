/* Private to src/bench: pieces several benchmark drivers share. */
#ifndef HX_BENCH_INT_H
#define HX_BENCH_INT_H

#include <stddef.h>
#include <stdint.h>

#define HX_BENCH_CONV_MSG_MAX 1200

/* The context benchmark's synthetic conversation messages: 1-4 sentences of
 * a topic that drifts, naming people, systems and places, with decisions,
 * numbers and code. Deterministic for a seed. */
typedef struct hx_bench_conv {
    uint64_t seed;
    int topic;
} hx_bench_conv_t;

void hx_bench_conv_init(hx_bench_conv_t *c, uint64_t seed);
/* The next message's content into buf (cap >= HX_BENCH_CONV_MSG_MAX), NUL-terminated; returns its length. */
size_t hx_bench_conv_next(hx_bench_conv_t *c, char *buf, size_t cap);

/* CPU seconds the whole process used so far (every thread): on a shared
 * machine the wall clock says how long it took, this says what it cost. */
double hx_bench_process_cpu(void);

#endif
