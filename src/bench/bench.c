/* Shared pieces of the benchmark drivers: verdicts and the results table. */
#include "helix/hx_bench.h"

#include <stdio.h>

const char *hx_bench_verdict(double value, double target, double acceptable, int higher_better)
{
    if (higher_better)
        return value > target ? "Target" : value > acceptable ? "Acceptable" : "Poor";
    return value < target ? "Target" : value < acceptable ? "Acceptable" : "Poor";
}

void hx_bench_row(const char *component, const char *metric, const char *value, const char *target,
                  const char *acceptable, const char *verdict)
{
    printf("| %-24s | %-30s | %-36s | %-10s | %-10s | %-10s |\n", component, metric, value, target, acceptable,
           verdict);
    fflush(stdout);
}
