/* The Miraflow-compatible HTTP API: routes, auth, validation and responses.
 *
 *   mira_app app = {0};
 *   mira_app_init(&app, &cfg, err, sizeof err);     // secret, blob, shared state
 *   http config .handlers = mira_api_handlers(&app); // per-thread store + caches
 *   ... serve ...
 *   mira_app_fini(&app);
 *
 * Layering: api handlers validate, read/write the store and blob store and
 * enqueue jobs (mira_jobs_notify); they never call an engine.
 * Each HTTP loop thread has its own mira_api_thread (store handle, key
 * cache); mira_app is shared and read-only after init except for the
 * atomics/mutex-protected parts (metrics, rate limiter).
 */
#ifndef MIRA_API_API_H
#define MIRA_API_API_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "blob/blob.h"
#include "http/multipart.h"
#include "http/router.h"
#include "http/server.h"
#include "jobs/pool.h"
#include "store/store.h"

#define MIRA_SECRET_LEN 32
#define MIRA_JSON_BODY_MAX (1u << 20)       /* JSON bodies: 1 MiB is plenty */
#define MIRA_DOWNLOAD_TTL_S (24 * 3600)     /* signed download links: 24 h */
#define MIRA_UPLOAD_TTL_S 3600              /* signed upload links: 1 h */
#define MIRA_IDEMPOTENCY_TTL_MS (24LL * 3600 * 1000)
#define MIRA_KEY_CACHE_TTL_MS 5000          /* a revoked key stops working within 5 s */
#define MIRA_MAX_PARTS 16

typedef struct mira_app_config {
  const char *data_dir;      /* default ./data */
  const char *public_url;    /* base for signed links; default http://LISTEN:PORT */
  const char *listen;        /* the HTTP listen address, for the default public_url */
  int64_t max_upload;        /* bytes, default 100 MiB */
  int max_text;              /* script characters, default 5000 */
  double rate_limit;         /* requests/s per key; 0 = unlimited */
  double rate_burst;         /* bucket size; default 2 x rate */
  int access_log;            /* one log line per request */
} mira_app_config;

/* ---- metrics (api/metrics.c) ---- */
#define MIRA_METRIC_STATUSES 16
#define MIRA_METRIC_BUCKETS 12
#define MIRA_METRIC_MAX_ROUTES 48
typedef struct mira_route_metrics {
  atomic_ullong by_status[MIRA_METRIC_STATUSES];
  atomic_ullong buckets[MIRA_METRIC_BUCKETS + 1]; /* last: +Inf */
  atomic_ullong count;
  atomic_ullong sum_us;
} mira_route_metrics;
typedef struct mira_metrics {
  mira_route_metrics route[MIRA_METRIC_MAX_ROUTES + 1]; /* last: unmatched */
} mira_metrics;

/* ---- rate limiter (api/auth.c) ---- */
#define MIRA_RATE_SLOTS 4096
typedef struct mira_rate_slot {
  char key_hash[16];
  double tokens;
  int64_t last_ms;
} mira_rate_slot;

typedef struct mira_app {
  mira_app_config c;
  char store_backend[32];
  char store_dsn[1100];
  char public_url[512];
  uint8_t secret[MIRA_SECRET_LEN];
  mira_blob *blob;
  mira_jobs *jobs;           /* may be NULL (no workers in this process) */
  mira_metrics metrics;
  pthread_mutex_t rate_mu;
  mira_rate_slot *rate;      /* MIRA_RATE_SLOTS, NULL when unlimited */
  pthread_mutex_t face_mu;
  struct mira_face_models *face; /* avatar creation; loaded on first use */
} mira_app;

int mira_app_init(mira_app *app, const mira_app_config *c, char *err, size_t errlen);
void mira_app_fini(mira_app *app);

/* Hooks for mira_http_config.handlers. */
mira_http_handlers mira_api_handlers(mira_app *app);

/* ---- per-thread and per-request state ---- */

#define MIRA_KEY_CACHE_SLOTS 1024
typedef struct mira_key_cache_slot {
  char key_hash[MIRA_ID_SIZE + 40];
  char account_id[MIRA_ID_SIZE];
  int64_t expires_ms;
} mira_key_cache_slot;

#define MIRA_REPLY_CACHE_SLOTS 256
typedef struct mira_reply_slot mira_reply_slot;

typedef struct mira_api_thread {
  mira_app *app;
  mira_store *store;
  mira_key_cache_slot *keys; /* MIRA_KEY_CACHE_SLOTS */
  mira_reply_slot *replies;  /* api/cache.c; NULL on I/O threads */
} mira_api_thread;

typedef struct mira_call {
  h2o_req_t *req;
  mira_api_thread *t;
  mira_app *app;
  mira_store *store;
  mira_path_params params;
  char account_id[MIRA_ID_SIZE];
  char key_hash[65];            /* SHA-256 hex of the presented key */
  json_t *body;                 /* JSON body, or multipart text fields as strings */
  int multipart;
  mira_multipart_part parts[MIRA_MAX_PARTS];
  size_t nparts;
  int status;                   /* response status, for logs and metrics */
  int route;                    /* index in mira_routes, or MIRA_METRIC_MAX_ROUTES */
  uint64_t t0;                  /* start, monotonic ns */
  int deferred;                 /* the handler offloaded work and will reply later */
  /* Detached calls run on an I/O thread and must not touch req: they read
   * a copy of the body and headers, and replies are buffered in out_body
   * until the loop thread sends them. */
  int detached;
  char *out_body;
  size_t out_len;
  const char *out_type;         /* static string; NULL: application/json */
  h2o_iovec_t query;            /* copy of the query string (after '?') */
  size_t nhdrs;
  h2o_iovec_t (*hdrs)[2];       /* lowercase name, value */
} mira_call;

/* Records metrics and the access-log line for a finished call. Dispatch does
 * it for ordinary handlers; a deferred handler calls it when it replies. */
void mira_call_finish(mira_call *c);

typedef int (*mira_handler_fn)(mira_call *c);

enum {
  MIRA_ROUTE_PUBLIC = 0x1,  /* no API key (health, metrics, docs, signed URLs) */
  MIRA_ROUTE_BODY = 0x2,    /* parse a JSON or multipart body into c->body */
  MIRA_ROUTE_OFFLOAD = 0x4, /* run on the I/O pool: it writes (fsync), copies big files or computes */
  MIRA_ROUTE_BODY_OPT = 0x8 /* like BODY, but an empty body is fine */
};

typedef struct mira_route {
  const char *method;
  const char *pattern;
  mira_handler_fn fn;
  unsigned flags;
  const char *summary;       /* one line, also the OpenAPI summary */
} mira_route;

/* The route table (api/routes.c), terminated by a {NULL} entry. */
extern const mira_route mira_routes[];
size_t mira_routes_count(void);

/* ---- responses (api/respond.c); each returns the status it sent ---- */
int mira_reply_json(mira_call *c, int status, json_t *obj); /* steals obj */
int mira_reply_error(mira_call *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Maps a store/blob MIRA_E* code to an HTTP status and replies with msg. */
int mira_reply_rc(mira_call *c, int rc, const char *msg);
int mira_reply_file(mira_call *c, const char *media_id, const char *content_type);
/* Replies with bytes of the given type (type: a static string). */
int mira_reply_bytes(mira_call *c, int status, const char *type, const void *data, size_t len);
/* Sends the reply a detached call buffered (loop thread). */
int mira_reply_buffered(mira_call *c);

/* ---- request fields (api/fields.c); on a bad field they reply 400 naming
 * it and return -1; 0 when absent (optional) or present and valid, 1 when
 * present. ---- */
int mira_field_string(mira_call *c, const char *name, int required, size_t maxlen, const char **out);
int mira_field_bool(mira_call *c, const char *name, int *out);
int mira_field_int(mira_call *c, const char *name, long long min, long long max, long long *out);
int mira_field_id(mira_call *c, const char *name, int required, const char **out);
/* A query-string parameter, percent- and '+'-decoded, into out (truncated
 * to outlen-1 bytes); 1 if present. */
int mira_query_param(mira_call *c, const char *name, char *out, size_t outlen);
/* A request header value (NUL-terminated copy into out); 1 if present. */
int mira_header(mira_call *c, const char *name, char *out, size_t outlen);
/* Seeds the stock voices from the installed engines (api/voices.c). */
int mira_voices_seed(mira_store *st, char *err, size_t errlen);
/* Seeds the stock avatars (api/avatar_seed.c): illustrated ones and the
 * photos this machine may ship. */
int mira_avatars_seed(mira_store *st, mira_blob *blob, char *err, size_t errlen);

/* ---- cached list replies (api/cache.c) ---- */
enum { MIRA_CACHE_AVATARS = 1, MIRA_CACHE_VOICES = 2, MIRA_CACHE_VOICES_ALL = 3 };
mira_reply_slot *mira_reply_cache_new(void);
void mira_reply_cache_free(mira_reply_slot *slots);
/* Builds the reply object, or returns NULL with a message in err (or after
 * replying itself, with c->status set). */
typedef json_t *(*mira_reply_builder)(mira_call *c, char *err, size_t errlen);
/* Replies 200 with build()'s JSON, reusing the thread's copy for this
 * account while the store's data_version and the link bucket are unchanged. */
int mira_cached_reply(mira_call *c, int kind, mira_reply_builder build);
/* Sends already-serialised JSON. */
int mira_reply_raw(mira_call *c, int status, const char *json, size_t len);

/* ---- shared helpers ---- */
/* Signed links expire at the end of the hour 24 h from now, so every link
 * made within one hour is identical (cacheable) and lives 24 to 25 h. This
 * is the bucket's expiry, in epoch seconds. */
int64_t mira_link_bucket(void);
/* Absolute signed download URL for a medium (24 h). */
void mira_download_url(mira_call *c, const char *media_id, char *out, size_t outlen);
/* Inserts a job from the validated params (stolen), honouring
 * Idempotency-Key, wakes a worker and replies {"result":"success","jobId"}.
 * `uploaded` are media stored from this request's files, with their SHA-256
 * digests: the idempotency fingerprint uses the digests in place of the
 * fresh ids, and on failure (or an idempotent replay) the media are removed. */
int mira_create_job(mira_call *c, mira_job_kind kind, const char *name, const char *avatar_id,
                    json_t *params, char uploaded[][MIRA_ID_SIZE], char digests[][65], int nuploaded);
/* Removes media stored earlier in this request (record and bytes). */
void mira_discard_media(mira_call *c, char ids[][MIRA_ID_SIZE], int n);
/* Stores an uploaded multipart file as a READY medium after sniffing it;
 * `want_image` 1: must be an image, 0: must be audio. Replies on error (-1). */
int mira_store_upload(mira_call *c, const mira_multipart_part *p, int want_image,
                      char id_out[MIRA_ID_SIZE], char digest_out[65]);
/* Checks a READY medium of this account with the given class; replies on error. */
int mira_check_media(mira_call *c, const char *field, const char *id, int want_image);

/* ---- metrics exposition ---- */
void mira_metrics_observe(mira_metrics *m, int route, int status, uint64_t micros);
int mira_metrics_render(mira_call *c);

/* ---- keys (api/keys.c), used by the CLI too ---- */
/* Creates a key for account `name` (created if missing). The plain key goes
 * into key_out (MIRA_KEY_SIZE) and is never stored. */
#define MIRA_KEY_SIZE 64
int mira_keys_create(mira_store *st, const char *account, char key_out[MIRA_KEY_SIZE], char *err,
                     size_t errlen);
/* Account of a presented key, via the thread's cache; MIRA_EAUTH if unknown. */
int mira_auth_lookup(mira_call *c, const char *key, size_t keylen);
/* Token bucket per key; 0 ok, else seconds to wait. */
int mira_rate_check(mira_app *app, const char *key_hash);

#endif
