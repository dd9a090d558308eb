#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"

/* Longest line we emit; longer messages are cut and end in "...". Lines up
 * to PIPE_BUF also stay whole when stderr is a pipe shared by threads. */
enum { LINE_MAX_BYTES = 4096 };

/* Written once by main.c before threads start (see log.h), read-only after. */
static int max_level = MIRA_LOG_INFO;

static const char *level_word(int level) {
  switch (level) {
  case MIRA_LOG_ERROR: return "ERROR";
  case MIRA_LOG_WARN: return "WARN";
  case MIRA_LOG_INFO: return "INFO";
  default: return "DEBUG";
  }
}

void mira_log_set_level(int level) {
  if (level < MIRA_LOG_ERROR) level = MIRA_LOG_ERROR;
  if (level > MIRA_LOG_DEBUG) level = MIRA_LOG_DEBUG;
  max_level = level;
}

/* Messages often quote request data; control characters would let a client
 * forge extra log lines or terminal escapes, so they become '?'. */
static void scrub(char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) s[i] = '?';
}

static void write_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(2, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

void mira_log(int level, const char *module, const char *fmt, ...) {
  if (level > max_level) return;
  char line[LINE_MAX_BYTES], now[MIRA_ISO8601_SIZE];
  mira_iso8601(mira_now_ms(), now);
  int head = snprintf(line, sizeof line, "%s %-5s %s: ", now, level_word(level),
                      module ? module : "-");
  if (head < 0 || (size_t)head >= sizeof line - 1) head = 0;
  va_list ap;
  va_start(ap, fmt);
  int body = vsnprintf(line + head, sizeof line - (size_t)head - 1, fmt, ap);
  va_end(ap);
  if (body < 0) body = 0;
  size_t n = (size_t)head + (size_t)body;
  if (n > sizeof line - 2) {
    n = sizeof line - 2;
    memcpy(line + n - 3, "...", 3);
  }
  scrub(line + head, n - (size_t)head);
  line[n++] = '\n';
  write_all(line, n);
}
