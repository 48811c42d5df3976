/* Private to src/bench: the HTTP load generator of `helix bench http`. */
#ifndef HX_BENCH_LOADGEN_H
#define HX_BENCH_LOADGEN_H

#include "helix/hx_buf.h"
#include "helix/hx_error.h"

#include <stdint.h>

typedef struct hx_loadgen_opts {
    int port;                    /* on 127.0.0.1 */
    int connections;             /* keep-alive connections, one request in flight on each */
    int threads;                 /* 0 = 2; each drives its share of the connections */
    double seconds;
    /* Appends request number n (0, 1, ... over the whole run) for
     * connection conn to out, whole: request line, headers, body. Called
     * from the generator's threads at once: ctx must be read-only. */
    int (*request)(void *ctx, int conn, uint64_t n, hx_buf_t *out);
    void *ctx;
} hx_loadgen_opts_t;

typedef struct hx_loadgen_result {
    long requests, errors;       /* answered within the run; errors: non-2xx answers and socket errors */
    double seconds, p50_ms, p99_ms;
    double cpu_seconds;          /* the generator's own threads */
} hx_loadgen_result_t;

int hx_loadgen_run(const hx_loadgen_opts_t *o, hx_loadgen_result_t *r, hx_err_t *err);

#endif
