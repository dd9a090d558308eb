/* One-line logs to stderr: "2026-11-25T13:14:03.123Z INFO  http: GET /api/avatars 200 0.2ms".
 * Thread-safety: thread-safe (one write(2) per line). The level is set once
 * at start-up from main.c before threads start. */
#ifndef MIRA_CORE_LOG_H
#define MIRA_CORE_LOG_H

enum { MIRA_LOG_ERROR = 0, MIRA_LOG_WARN = 1, MIRA_LOG_INFO = 2, MIRA_LOG_DEBUG = 3 };

void mira_log_set_level(int level);
void mira_log(int level, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define MIRA_LOGE(mod, ...) mira_log(MIRA_LOG_ERROR, mod, __VA_ARGS__)
#define MIRA_LOGW(mod, ...) mira_log(MIRA_LOG_WARN, mod, __VA_ARGS__)
#define MIRA_LOGI(mod, ...) mira_log(MIRA_LOG_INFO, mod, __VA_ARGS__)
#define MIRA_LOGD(mod, ...) mira_log(MIRA_LOG_DEBUG, mod, __VA_ARGS__)

#endif
