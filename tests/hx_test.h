/* Minimal test harness: CHECK* macros count failures and keep going, so one
 * run reports everything that is wrong; HX_TEST_MAIN prints the closing
 * "N passed, N failed" line CTest logs and CI read. */
#ifndef HX_TEST_H
#define HX_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int hx_t_checks, hx_t_failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        hx_t_checks++;                                                                \
        if (!(cond)) {                                                                \
            hx_t_failed++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

#define CHECK_INT(a, b)                                                               \
    do {                                                                              \
        long long hx_a = (long long)(a), hx_b = (long long)(b);                       \
        hx_t_checks++;                                                                \
        if (hx_a != hx_b) {                                                           \
            hx_t_failed++;                                                            \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,       \
                    __LINE__, #a, #b, hx_a, hx_b);                                    \
        }                                                                             \
    } while (0)

#define CHECK_STR(a, b)                                                               \
    do {                                                                              \
        const char *hx_a = (a), *hx_b = (b);                                          \
        hx_t_checks++;                                                                \
        if (!hx_a || !hx_b || strcmp(hx_a, hx_b) != 0) {                              \
            hx_t_failed++;                                                            \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,   \
                    __LINE__, #a, #b, hx_a ? hx_a : "(null)", hx_b ? hx_b : "(null)"); \
        }                                                                             \
    } while (0)

/* CHECK_INT that leaves the (void) test function on failure, for results the
 * rest of the test cannot go on without (a consumer that never joined). */
#define REQUIRE_INT(a, b)                                                             \
    do {                                                                              \
        int hx_before = hx_t_failed;                                                  \
        CHECK_INT(a, b);                                                              \
        if (hx_t_failed != hx_before)                                                 \
            return;                                                                   \
    } while (0)

/* Substring check, for error messages that must name a key or a line. */
#define CHECK_CONTAINS(hay, needle)                                                   \
    do {                                                                              \
        const char *hx_h = (hay), *hx_n = (needle);                                   \
        hx_t_checks++;                                                                \
        if (!hx_h || !strstr(hx_h, hx_n)) {                                           \
            hx_t_failed++;                                                            \
            fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,      \
                    __LINE__, hx_h ? hx_h : "(null)", hx_n);                          \
        }                                                                             \
    } while (0)

/* HX_TEST_ONLY=name runs only the test function of that name. */
#define RUN(fn)                                                                       \
    do {                                                                              \
        const char *hx_only = getenv("HX_TEST_ONLY");                                 \
        if (hx_only && strcmp(hx_only, #fn) != 0)                                     \
            break;                                                                    \
        int hx_before = hx_t_failed;                                                  \
        fn();                                                                         \
        fprintf(stderr, "%s %s\n", hx_t_failed == hx_before ? "ok  " : "FAIL", #fn);  \
    } while (0)

#define HX_TEST_DONE()                                                                \
    (printf("%d passed, %d failed\n", hx_t_checks - hx_t_failed, hx_t_failed),        \
     hx_t_failed ? 1 : 0)

/* A fresh private directory under $HX_TEST_TMP (or /tmp) for one test. The
 * caller owns the returned string. */
static inline char *hx_test_tmpdir(const char *name)
{
    const char *base = getenv("HX_TEST_TMP");
    if (!base)
        base = "/tmp";
    mkdir(base, 0755);
    size_t n = strlen(base) + strlen(name) + 32;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s.XXXXXX", base, name);
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        exit(2);
    }
    return p;
}

#endif
