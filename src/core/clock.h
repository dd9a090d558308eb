/* Wall-clock and monotonic time helpers.
 * Thread-safety: thread-safe. */
#ifndef MIRA_CORE_CLOCK_H
#define MIRA_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t mira_now_ms(void);
/* Monotonic nanoseconds, for durations only. */
uint64_t mira_mono_ns(void);

#define MIRA_ISO8601_SIZE 32
/* Formats epoch ms as "2026-11-25T13:14:03.123Z" into out. */
void mira_iso8601(int64_t ms, char out[MIRA_ISO8601_SIZE]);

#endif
