#include "helix/hx_logger.h"
#include "helix/hx_clock.h"
#include "helix/hx_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int g_level = HX_LVL_INFO;

void hx_logger_set_level(hx_level_t lvl) { __atomic_store_n(&g_level, (int)lvl, __ATOMIC_RELAXED); }
hx_level_t hx_logger_level(void) { return (hx_level_t)__atomic_load_n(&g_level, __ATOMIC_RELAXED); }

int hx_logger_parse_level(const char *s, hx_level_t *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (hx_level_t)i;
            return HX_OK;
        }
    return HX_EINVAL;
}

void hx_logger_write(hx_level_t lvl, const char *component, const char *fmt, ...)
{
    static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if ((int)lvl < __atomic_load_n(&g_level, __ATOMIC_RELAXED))
        return;
    char ts[40], line[2048];
    hx_format_rfc3339(hx_now_ms(), ts, sizeof ts);
    int n = snprintf(line, sizeof line, "%s %-5s [%s] ", ts, tags[lvl], component);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One fputs per line keeps lines from different threads whole. */
    size_t len = strlen(line);
    if (len + 1 < sizeof line) {
        line[len] = '\n';
        line[len + 1] = '\0';
    }
    fputs(line, stderr);
}
