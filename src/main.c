/* mira: the command line. serve | keys | version. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/api.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "http/server.h"
#include "engines/video/video.h"
#include "jobs/pool.h"
#include "store/store.h"

#define SHUTDOWN_GRACE_MS 10000

static const char *usage_main =
    "usage: mira COMMAND [options]\n\n"
    "commands:\n"
    "  serve                 run the HTTP API server and job workers\n"
    "  keys create --account NAME   create an API key (printed once, on the last line)\n"
    "  keys list             list keys (prefix, account, created, revoked)\n"
    "  keys revoke ID|PREFIX revoke a key\n"
    "  voices [--all]        list the voices this machine can speak\n"
    "  speak --voice ID --text TEXT --out FILE.wav [--timeline FILE.json]\n"
    "                        synthesise speech without a server\n"
    "  face IMAGE [--json] [--out FILE.png]   detect faces and 68 landmarks\n"
    "  render --avatar ID --text TEXT --out FILE.mp4   a talking-avatar video without a server\n"
    "  version               print the version\n\n"
    "Run 'mira COMMAND --help' for a command's options.\n";

static const char *usage_serve =
    "usage: mira serve [options]          (each option also reads the env var shown)\n\n"
    "  --listen ADDR        address to bind (MIRA_LISTEN, default 127.0.0.1)\n"
    "  --port N             TCP port (MIRA_PORT, default 8080)\n"
    "  --data DIR           data directory: database, files, secret (MIRA_DATA, default ./data)\n"
    "  --workers N          job worker threads (MIRA_WORKERS, default 2)\n"
    "  --threads N          HTTP event-loop threads (MIRA_THREADS, default: CPU count)\n"
    "  --max-upload BYTES   largest accepted upload (MIRA_MAX_UPLOAD, default 104857600)\n"
    "  --public-url URL     base of signed links, e.g. https://mira.example.com\n"
    "                       (MIRA_PUBLIC_URL, default http://ADDR:PORT)\n"
    "  --tls-cert FILE --tls-key FILE   serve HTTPS (and HTTP/2) (MIRA_TLS_CERT, MIRA_TLS_KEY)\n"
    "  --rate-limit N       requests per second per API key, 0 = unlimited (MIRA_RATE_LIMIT, default 0)\n"
    "  --access-log 0|1     one log line per request (MIRA_ACCESS_LOG, default 1)\n"
    "  --request-timeout S  a request, headers and body, must arrive within S seconds;\n"
    "                       also the keep-alive idle limit (MIRA_REQUEST_TIMEOUT, default 120)\n"
    "  --video-preset P     x264 preset of rendered videos, ultrafast..veryslow\n"
    "                       (MIRA_VIDEO_PRESET, default veryfast)\n"
    "  --video-crf N        x264 quality, 1 (best) .. 51 (MIRA_VIDEO_CRF, default 23)\n";

static const char *usage_keys =
    "usage: mira keys create --account NAME [--data DIR]\n"
    "       mira keys list [--data DIR]\n"
    "       mira keys revoke ID|PREFIX [--data DIR]\n";

typedef struct serve_opts {
  mira_app_config app;
  mira_http_config http;
  mira_jobs_config jobs;
  char public_url[512];
} serve_opts;

static const char *env_or(const char *name, const char *def) {
  const char *v = getenv(name);
  return v && *v ? v : def;
}

static int parse_num(const char *flag, const char *v, long long min, long long max, long long *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || *end || end == v || x < min || x > max) {
    fprintf(stderr, "mira: %s must be a number between %lld and %lld (got '%s')\n", flag, min, max, v);
    return -1;
  }
  *out = x;
  return 0;
}

/* Applies one option (from a flag or its env var). */
static int apply_opt(serve_opts *o, const char *flag, const char *v) {
  long long n;
  if (!strcmp(flag, "--listen")) o->http.listen = v;
  else if (!strcmp(flag, "--data")) o->app.data_dir = v;
  else if (!strcmp(flag, "--public-url")) snprintf(o->public_url, sizeof o->public_url, "%s", v);
  else if (!strcmp(flag, "--tls-cert")) o->http.tls_cert = v;
  else if (!strcmp(flag, "--tls-key")) o->http.tls_key = v;
  else if (!strcmp(flag, "--port")) { if (parse_num(flag, v, 0, 65535, &n)) return -1; o->http.port = (int)n; }
  else if (!strcmp(flag, "--workers")) { if (parse_num(flag, v, 0, 256, &n)) return -1; o->jobs.workers = (int)n; }
  else if (!strcmp(flag, "--threads")) { if (parse_num(flag, v, 1, 256, &n)) return -1; o->http.threads = (int)n; }
  else if (!strcmp(flag, "--max-upload")) { if (parse_num(flag, v, 1, 1LL << 40, &n)) return -1; o->app.max_upload = n; }
  else if (!strcmp(flag, "--rate-limit")) { if (parse_num(flag, v, 0, 1000000, &n)) return -1; o->app.rate_limit = (double)n; }
  else if (!strcmp(flag, "--access-log")) { if (parse_num(flag, v, 0, 1, &n)) return -1; o->app.access_log = (int)n; }
  else if (!strcmp(flag, "--video-crf")) { if (parse_num(flag, v, 1, 51, &n)) return -1; o->jobs.video_crf = (int)n; }
  else if (!strcmp(flag, "--video-preset")) {
    if (!mira_video_preset_valid(v)) { fprintf(stderr, "mira serve: --video-preset: unknown x264 preset '%s'\n", v); return -1; }
    o->jobs.video_preset = v;
  }
  else if (!strcmp(flag, "--request-timeout")) { if (parse_num(flag, v, 1, 86400, &n)) return -1; o->http.req_timeout_ms = (uint64_t)n * 1000; }
  else { fprintf(stderr, "mira serve: unknown option '%s'\n%s", flag, usage_serve); return -1; }
  return 0;
}

static int load_serve_opts(serve_opts *o, int argc, char **argv) {
  static const char *const env[][2] = {
      {"--listen", "MIRA_LISTEN"}, {"--port", "MIRA_PORT"}, {"--data", "MIRA_DATA"},
      {"--workers", "MIRA_WORKERS"}, {"--threads", "MIRA_THREADS"}, {"--max-upload", "MIRA_MAX_UPLOAD"},
      {"--public-url", "MIRA_PUBLIC_URL"}, {"--tls-cert", "MIRA_TLS_CERT"}, {"--tls-key", "MIRA_TLS_KEY"},
      {"--rate-limit", "MIRA_RATE_LIMIT"}, {"--access-log", "MIRA_ACCESS_LOG"},
      {"--request-timeout", "MIRA_REQUEST_TIMEOUT"}, {"--video-preset", "MIRA_VIDEO_PRESET"},
      {"--video-crf", "MIRA_VIDEO_CRF"}};
  o->http = mira_http_default_config();
  o->jobs = mira_jobs_default_config();
  o->app = (mira_app_config){.data_dir = "./data", .max_upload = 100LL << 20, .max_text = 5000, .access_log = 1};
  for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
    if (getenv(env[i][1]) && *getenv(env[i][1]) && apply_opt(o, env[i][0], getenv(env[i][1]))) return -1;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { fputs(usage_serve, stdout); exit(0); }
    if (i + 1 >= argc) { fprintf(stderr, "mira serve: %s needs a value\n", argv[i]); return -1; }
    if (apply_opt(o, argv[i], argv[i + 1])) return -1;
    i++;
  }
  long long delay = 0;
  if (parse_num("MIRA_TEST_JOB_DELAY_MS", env_or("MIRA_TEST_JOB_DELAY_MS", "0"), 0, 3600000, &delay)) return -1;
  o->jobs.test_delay_ms = delay;
  /* HTTP buffers whole bodies: room for the largest upload plus multipart framing. */
  o->http.max_body = (size_t)o->app.max_upload + (1u << 20);
  return 0;
}

static int count_key(void *ud, const mira_key_info *k) {
  (void)k;
  ++*(int *)ud;
  return 0;
}

/* Start-up: stock voices from the installed engines; on the first start an
 * account and a key, so the server is usable at once. */
static int first_key(mira_app *app) {
  mira_store *st;
  char err[512], key[MIRA_KEY_SIZE];
  int n = 0;
  int rc = mira_store_open(&st, app->store_backend, app->store_dsn, err, sizeof err);
  if (rc == 0) rc = mira_voices_seed(st, err, sizeof err);
  if (rc == 0) rc = mira_avatars_seed(st, app->blob, err, sizeof err);
  if (rc == 0) rc = st->ops->key_list(st, count_key, &n, err, sizeof err);
  if (rc == 0 && n == 0) {
    rc = mira_keys_create(st, "default", key, err, sizeof err);
    if (rc == 0)
      printf("Created the first API key (account \"default\"). It is shown only once:\n%s\n", key);
    fflush(stdout);
  }
  if (rc) fprintf(stderr, "mira: %s\n", err);
  mira_store_close(st);
  return rc;
}

static int wait_for_signal(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

static int cmd_serve(int argc, char **argv) {
  static serve_opts o; /* main owns it for the process lifetime */
  static mira_app app;
  char err[512];
  if (load_serve_opts(&o, argc, argv)) return 2;
  o.app.public_url = o.public_url;
  o.app.listen = o.http.listen;
  if (mira_app_init(&app, &o.app, err, sizeof err)) { fprintf(stderr, "mira: %s\n", err); return 1; }
  if (first_key(&app)) return 1;
  o.jobs.store_backend = app.store_backend;
  o.jobs.store_dsn = app.store_dsn;
  if (mira_jobs_start(&app.jobs, &o.jobs, app.blob, err, sizeof err)) {
    fprintf(stderr, "mira: cannot start workers: %s\n", err);
    return 1;
  }
  o.http.handlers = mira_api_handlers(&app);
  mira_http *http;
  if (mira_http_start(&http, &o.http, err, sizeof err)) {
    fprintf(stderr, "mira: %s\n", err);
    mira_jobs_stop(app.jobs, 0);
    return 1;
  }
  MIRA_LOGI("main", "mira %s ready: data %s, %d workers, public URL %s", MIRA_VERSION, o.app.data_dir,
            o.jobs.workers, app.public_url);
  int sig = wait_for_signal();
  MIRA_LOGI("main", "%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  mira_http_stop(http);
  mira_jobs_stop(app.jobs, SHUTDOWN_GRACE_MS);
  mira_app_fini(&app);
  MIRA_LOGI("main", "bye");
  return 0;
}

/* ---- keys ---- */

static int print_key(void *ud, const mira_key_info *k) {
  char created[MIRA_ISO8601_SIZE], revoked[MIRA_ISO8601_SIZE] = "-";
  mira_iso8601(k->created_at, created);
  if (k->revoked_at) mira_iso8601(k->revoked_at, revoked);
  printf("%-26s %-14s %-20s %-24s %s\n", k->id, k->prefix, k->account_name, created, revoked);
  return 0;
}

static int cmd_keys(int argc, char **argv) {
  const char *data = env_or("MIRA_DATA", "./data"), *account = NULL, *target = NULL;
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
    fputs(usage_keys, argc < 1 ? stderr : stdout);
    return argc < 1 ? 2 : 0;
  }
  const char *sub = argv[0];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help")) { fputs(usage_keys, stdout); return 0; }
    if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
    else if (!strcmp(argv[i], "--account") && i + 1 < argc) account = argv[++i];
    else if (argv[i][0] != '-' && !target) target = argv[i];
    else { fprintf(stderr, "mira keys: unexpected '%s'\n%s", argv[i], usage_keys); return 2; }
  }
  char dsn[1100], err[512], key[MIRA_KEY_SIZE];
  snprintf(dsn, sizeof dsn, "%s/mira.db", data);
  if (mkdir(data, 0755) != 0 && errno != EEXIST) { fprintf(stderr, "mira: cannot create %s\n", data); return 1; }
  mira_store *st;
  if (mira_store_open(&st, "sqlite", dsn, err, sizeof err)) { fprintf(stderr, "mira: %s\n", err); return 1; }
  int rc;
  if (!strcmp(sub, "create")) {
    if (!account || !*account) { fprintf(stderr, "mira keys create: --account NAME is required\n"); rc = MIRA_EINVAL; }
    else if ((rc = mira_keys_create(st, account, key, err, sizeof err)) == 0)
      printf("Created an API key for account \"%s\". It is shown only once:\n%s\n", account, key);
  } else if (!strcmp(sub, "list")) {
    printf("%-26s %-14s %-20s %-24s %s\n", "ID", "PREFIX", "ACCOUNT", "CREATED", "REVOKED");
    rc = st->ops->key_list(st, print_key, NULL, err, sizeof err);
  } else if (!strcmp(sub, "revoke")) {
    if (!target) { fprintf(stderr, "mira keys revoke: give a key id or prefix\n"); rc = MIRA_EINVAL; }
    else if ((rc = st->ops->key_revoke(st, target, err, sizeof err)) == 0) printf("revoked %s\n", target);
  } else {
    fprintf(stderr, "mira keys: unknown subcommand '%s'\n%s", sub, usage_keys);
    rc = MIRA_EINVAL;
  }
  if (rc && err[0] && rc != MIRA_EINVAL) fprintf(stderr, "mira: %s\n", err);
  mira_store_close(st);
  return rc ? 1 : 0;
}

int main(int argc, char **argv) {
  /* Signals are handled by sigwait in the main thread; block them before any
   * thread starts so they inherit the mask. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  const char *lvl = env_or("MIRA_LOG_LEVEL", "info");
  mira_log_set_level(!strcmp(lvl, "debug") ? MIRA_LOG_DEBUG : !strcmp(lvl, "warn") ? MIRA_LOG_WARN
                     : !strcmp(lvl, "error") ? MIRA_LOG_ERROR : MIRA_LOG_INFO);

  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    fputs(usage_main, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "serve")) return cmd_serve(argc - 2, argv + 2);
  if (!strcmp(argv[1], "keys")) return cmd_keys(argc - 2, argv + 2);
  if (!strcmp(argv[1], "voices")) return mira_cli_voices(argc - 2, argv + 2);
  if (!strcmp(argv[1], "speak")) return mira_cli_speak(argc - 2, argv + 2);
  if (!strcmp(argv[1], "face")) return mira_cli_face(argc - 2, argv + 2);
  if (!strcmp(argv[1], "render")) return mira_cli_render(argc - 2, argv + 2);
  if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
    printf("mira %s\n", MIRA_VERSION);
    return 0;
  }
  fprintf(stderr, "mira: unknown command '%s'\n%s", argv[1], usage_main);
  return 2;
}
