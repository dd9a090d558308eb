#include "core/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t mira_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t mira_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mira_iso8601(int64_t ms, char out[MIRA_ISO8601_SIZE]) {
  /* Floor division so times before 1970 keep a 0..999 millisecond part. */
  int64_t sec = ms / 1000, frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    sec -= 1;
  }
  time_t t = (time_t)sec;
  struct tm tm;
  size_t n = gmtime_r(&t, &tm) ? strftime(out, MIRA_ISO8601_SIZE, "%Y-%m-%dT%H:%M:%S", &tm) : 0;
  if (n == 0 || n + 6 > MIRA_ISO8601_SIZE) {
    snprintf(out, MIRA_ISO8601_SIZE, "invalid-time");
    return;
  }
  snprintf(out + n, MIRA_ISO8601_SIZE - n, ".%03dZ", (int)frac);
}
