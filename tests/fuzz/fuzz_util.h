/* Helpers shared by fuzz targets that need a scratch directory, an engine or
 * a deliberate failure. Header-only: every fuzz_*.c is its own program. */
#ifndef HX_FUZZ_UTIL_H
#define HX_FUZZ_UTIL_H

#include "helix/hx_broker.h"
#include "helix/hx_config.h"
#include "helix/hx_fs.h"
#include "helix/hx_logger.h"
#include "helix/hx_memory.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A property failed: say which, then abort so libFuzzer keeps the input. */
#define FZ_ASSERT(cond, ...)                                                                            \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            fprintf(stderr, "fuzz property failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                              \
            fputc('\n', stderr);                                                                       \
            abort();                                                                                   \
        }                                                                                              \
    } while (0)

/* A fresh directory on tmpfs when there is one (targets write files per
 * input), removed at exit by fz_cleanup. */
static char fz_root[256];

static inline void fz_cleanup(void)
{
    if (fz_root[0])
        hx_rm_rf(fz_root);
}

static inline const char *fz_tmpdir(const char *tag)
{
    if (!fz_root[0]) {
        const char *base = getenv("HX_TEST_TMP");
        struct stat sb;
        if (!base)
            base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
        mkdir(base, 0755);
        snprintf(fz_root, sizeof fz_root, "%s/hxfuzz-%s.XXXXXX", base, tag);
        if (!mkdtemp(fz_root)) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(fz_cleanup);
    }
    return fz_root;
}

static inline int fz_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int bad = n && fwrite(p, 1, n, f) != n;
    return fclose(f) || bad ? -1 : 0;
}

/* Opens a memory engine on dir (broker may be NULL). */
static inline hx_memory_t *fz_memory_open(const hx_config_t *cfg, const char *dir, const char *node, hx_broker_t *b,
                                          hx_err_t *err)
{
    hx_memory_opts_t o;
    hx_memory_opts_defaults(&o);
    o.cfg = cfg;
    o.dir = dir;
    o.node_id = node;
    o.broker = b;
    /* No timer-driven digests or snapshots between two checks of one input. */
    o.digest_interval_ms = 3600 * 1000;
    o.snapshot_interval_ms = 3600 * 1000;
    hx_memory_t *m = NULL;
    return hx_memory_open(&o, &m, err) ? NULL : m;
}

/* An embedded broker with the built-in topics under dir/broker. */
static inline hx_broker_t *fz_broker_open(const hx_config_t *cfg, const char *dir)
{
    hx_config_t bc = *cfg;
    snprintf(bc.node.data_dir, sizeof bc.node.data_dir, "%s/broker", dir);
    bc.kafka.producer.linger_ms = 1;
    hx_broker_t *b = NULL;
    hx_err_t err = {0};
    if (hx_broker_open(&bc, NULL, &b, &err) || hx_broker_ensure_builtin_topics(b, &err)) {
        fprintf(stderr, "fuzz: cannot open the embedded broker: %s\n", err.msg);
        exit(2);
    }
    return b;
}

/* The canonical text of every memory state (malloc'd, NUL-terminated). */
static inline char *fz_memory_canonical(hx_memory_t *m)
{
    hx_buf_t b = HX_BUF_INIT;
    if (hx_memory_canonical(m, &b) || hx_buf_putc(&b, 0)) {
        fprintf(stderr, "fuzz: out of memory\n");
        abort();
    }
    return (char *)b.data;
}

/* Opens a broker-less engine on dir: NULL when that fails (which must come
 * with a message), else the canonical state (caller frees). */
static inline char *fz_open_canonical(const hx_config_t *cfg, const char *dir)
{
    hx_err_t err = {0};
    hx_memory_t *m = fz_memory_open(cfg, dir, "fuzz", NULL, &err);
    if (!m) {
        FZ_ASSERT(err.code < 0 && err.msg[0], "open failed without a message");
        return NULL;
    }
    char *c = fz_memory_canonical(m);
    hx_memory_close(m);
    return c;
}

/* Opens dir again and asserts it holds exactly c1 (freed here): recovery
 * must be idempotent. */
static inline void fz_reopen_same(const hx_config_t *cfg, const char *dir, char *c1, const char *what)
{
    hx_err_t err = {0};
    hx_memory_t *m = fz_memory_open(cfg, dir, "fuzz", NULL, &err);
    FZ_ASSERT(m, "a directory after %s does not open again: %s", what, err.msg);
    char *c2 = fz_memory_canonical(m);
    hx_memory_close(m);
    FZ_ASSERT(!strcmp(c1, c2), "second %s differs:\n%s\n--\n%s", what, c1, c2);
    free(c1);
    free(c2);
}

/* Replaces *broker and *mem with a fresh embedded broker and engine on an
 * emptied dir (the long-running targets restart now and then). */
static inline void fz_fresh_engine(const hx_config_t *cfg, const char *dir, hx_broker_t **broker, hx_memory_t **mem)
{
    if (*mem) {
        hx_memory_close(*mem);
        hx_broker_close(*broker);
    }
    hx_rm_rf(dir);
    mkdir(dir, 0755);
    *broker = fz_broker_open(cfg, dir);
    char md[600];
    snprintf(md, sizeof md, "%s/mem", dir);
    hx_err_t err = {0};
    *mem = fz_memory_open(cfg, md, "fuzz", *broker, &err);
    if (!*mem) {
        fprintf(stderr, "fuzz: cannot open the memory engine: %s\n", err.msg);
        exit(2);
    }
}

#endif
