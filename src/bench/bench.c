/* Shared pieces of the benchmark drivers: verdicts, the results table and
 * their working directories. */
#include "bench/bench_int.h"
#include "helix/hx_bench.h"
#include "helix/hx_fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

int hx_bench_workdir(const hx_bench_opts_t *o, const char *name, char *buf, size_t len, const char **dir,
                     hx_err_t *err)
{
    if (o->data_dir) {
        *dir = o->data_dir;
        return HX_OK;
    }
    snprintf(buf, len, "/tmp/helix-bench-%s.XXXXXX", name);
    if (!(*dir = mkdtemp(buf)))
        return hx_err_set(err, HX_EIO, "cannot create a temp dir for the %s bench: %s", name, strerror(errno));
    return HX_OK;
}

void hx_bench_workdir_done(const hx_bench_opts_t *o, const char *name, const char *dir)
{
    if (!o->data_dir && dir && hx_rm_rf(dir))
        fprintf(stderr, "bench %s: could not remove %s\n", name, dir);
}

int hx_bench_run_tool(char *const argv[], const char *stdout_path, double *secs, hx_err_t *err)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0)
        return hx_err_set(err, HX_EIO, "cannot start %s: fork: %s", argv[0], strerror(errno));
    if (pid == 0) {
        if (stdout_path && !freopen(stdout_path, "w", stdout))
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (secs)
        *secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return hx_err_set(err, HX_ENOTFOUND, "%s is not installed: apt-get install %s (or bash scripts/deps.sh)",
                          argv[0], argv[0]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return hx_err_set(err, HX_EIO, "%s failed (exit status %d)%s%s", argv[0],
                          WIFEXITED(status) ? WEXITSTATUS(status) : -1, stdout_path ? "; its output is in " : "",
                          stdout_path ? stdout_path : "");
    return HX_OK;
}

double hx_bench_process_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}
