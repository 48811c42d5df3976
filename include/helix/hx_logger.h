/* Process logging to stderr: one line per event, "TIME LEVEL [component] msg".
 * The level is process-wide (logging is one of the two allowed globals). */
#ifndef HX_LOGGER_H
#define HX_LOGGER_H

typedef enum { HX_LVL_DEBUG = 0, HX_LVL_INFO, HX_LVL_WARN, HX_LVL_ERROR } hx_level_t;

void hx_logger_set_level(hx_level_t lvl);
hx_level_t hx_logger_level(void);
/* Parses "debug|info|warn|error"; returns 0 or HX_EINVAL. */
int hx_logger_parse_level(const char *s, hx_level_t *out);
void hx_logger_write(hx_level_t lvl, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define HX_DEBUG(comp, ...) hx_logger_write(HX_LVL_DEBUG, comp, __VA_ARGS__)
#define HX_INFO(comp, ...)  hx_logger_write(HX_LVL_INFO, comp, __VA_ARGS__)
#define HX_WARN(comp, ...)  hx_logger_write(HX_LVL_WARN, comp, __VA_ARGS__)
#define HX_ERROR(comp, ...) hx_logger_write(HX_LVL_ERROR, comp, __VA_ARGS__)

#endif
