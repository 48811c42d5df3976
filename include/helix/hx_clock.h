/* Time sources. Wall time (ms since the Unix epoch, UTC) stamps events;
 * monotonic time measures durations and drives timers. */
#ifndef HX_CLOCK_H
#define HX_CLOCK_H

#include <stdint.h>
#include <time.h>

int64_t hx_now_ms(void);      /* CLOCK_REALTIME in ms */
int64_t hx_now_us(void);      /* CLOCK_REALTIME in us */
uint64_t hx_mono_ns(void);    /* CLOCK_MONOTONIC in ns */
void hx_sleep_ms(int64_t ms);
/* *ts = CLOCK_REALTIME now + ms: the deadline pthread_cond_timedwait takes. */
void hx_deadline_after_ms(struct timespec *ts, int64_t ms);

/* Formats ms-since-epoch as RFC 3339 UTC ("2026-11-24T10:00:00.123Z") into
 * out (at least 32 bytes). Returns out. */
char *hx_format_rfc3339(int64_t ms, char *out, unsigned long outlen);

#endif
