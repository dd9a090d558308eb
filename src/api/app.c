/* Request dispatch: route lookup, API key, rate limit, body parsing, the
 * handler, then metrics and the access log. Also app start-up state. */
#include "api/api.h"
#include "engines/face/avatar.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/error.h"
#include "core/log.h"

/* ---- start-up ---- */

/* The signing secret lives in the data directory so links stay valid across
 * restarts; it is created once, durably, readable by the owner only. */
static int load_secret(mira_app *app, char *err, size_t errlen) {
  char path[1200], hex[2 * MIRA_SECRET_LEN + 2];
  snprintf(path, sizeof path, "%s/secret.key", app->c.data_dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    uint8_t s[MIRA_SECRET_LEN];
    if (mira_random_bytes(s, sizeof s)) return mira_err(err, errlen, MIRA_EIO, "no randomness");
    mira_hex(s, sizeof s, hex);
    hex[2 * MIRA_SECRET_LEN] = '\n';
    int w = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w >= 0) {
      int ok = write(w, hex, 2 * MIRA_SECRET_LEN + 1) == 2 * MIRA_SECRET_LEN + 1 && fsync(w) == 0;
      close(w);
      if (!ok) return mira_err(err, errlen, MIRA_EIO, "cannot write %s", path);
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return mira_err(err, errlen, MIRA_EIO, "cannot read %s: %s", path, strerror(errno));
  ssize_t n = read(fd, hex, 2 * MIRA_SECRET_LEN);
  close(fd);
  if (n != 2 * MIRA_SECRET_LEN) return mira_err(err, errlen, MIRA_EIO, "%s is corrupt (want 64 hex digits)", path);
  for (int i = 0; i < MIRA_SECRET_LEN; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return mira_err(err, errlen, MIRA_EIO, "%s is corrupt", path);
    app->secret[i] = (uint8_t)v;
  }
  return 0;
}

int mira_app_init(mira_app *app, const mira_app_config *c, char *err, size_t errlen) {
  app->c = *c;
  if (mkdir(c->data_dir, 0755) != 0 && errno != EEXIST)
    return mira_err(err, errlen, MIRA_EIO, "cannot create data directory %s: %s", c->data_dir, strerror(errno));
  if (!app->store_backend[0]) snprintf(app->store_backend, sizeof app->store_backend, "sqlite");
  if (!app->store_dsn[0]) snprintf(app->store_dsn, sizeof app->store_dsn, "%s/mira.db", c->data_dir);
  int rc = load_secret(app, err, errlen);
  if (rc) return rc;
  char blobs[1100];
  snprintf(blobs, sizeof blobs, "%s/blobs", c->data_dir);
  rc = mira_blob_open(&app->blob, "fs", blobs, err, errlen);
  if (rc) return rc;
  int swept = app->blob->ops->sweep_tmp(app->blob);
  if (swept) MIRA_LOGI("blob", "removed %d temp files left by an interrupted run", swept);
  pthread_mutex_init(&app->rate_mu, NULL);
  pthread_mutex_init(&app->face_mu, NULL);
  if (c->rate_limit > 0) app->rate = calloc(MIRA_RATE_SLOTS, sizeof *app->rate);
  return 0;
}

void mira_app_fini(mira_app *app) {
  mira_blob_close(app->blob);
  app->blob = NULL;
  free(app->rate);
  app->rate = NULL;
  pthread_mutex_destroy(&app->rate_mu);
  mira_face_models_free(app->face);
  app->face = NULL;
  pthread_mutex_destroy(&app->face_mu);
}

/* ---- per thread ---- */

static void *thread_init(void *ud, int index, char *err, size_t errlen) {
  mira_app *app = ud;
  mira_api_thread *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->app = app;
  t->keys = calloc(MIRA_KEY_CACHE_SLOTS, sizeof *t->keys);
  t->replies = mira_reply_cache_new();
  if (!t->keys || !t->replies || mira_store_open(&t->store, app->store_backend, app->store_dsn, err, errlen)) {
    free(t->keys);
    mira_reply_cache_free(t->replies);
    free(t);
    return NULL;
  }
  return t;
}

static void thread_fini(void *ud) {
  mira_api_thread *t = ud;
  mira_store_close(t->store);
  free(t->keys);
  mira_reply_cache_free(t->replies);
  free(t);
}

/* ---- dispatch ---- */

static int find_route(mira_call *c, const char *path, size_t plen, int *route) {
  h2o_req_t *req = c->req;
  int path_matched = 0;
  char allow[128] = "";
  for (int i = 0; mira_routes[i].method; i++) {
    mira_path_params p;
    if (!mira_route_match(mira_routes[i].pattern, path, plen, &p)) continue;
    const char *m = mira_routes[i].method;
    int head_ok = strcmp(m, "GET") == 0 && h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    if (h2o_memis(req->method.base, req->method.len, m, strlen(m)) || head_ok) {
      c->params = p;
      *route = i;
      return 0;
    }
    path_matched = 1;
    size_t n = strlen(allow);
    snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "", m);
  }
  if (!path_matched) return mira_reply_error(c, 404, "no route for %.*s %.*s", (int)req->method.len,
                                             req->method.base, (int)plen, path);
  h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, h2o_strdup(&req->pool, allow, SIZE_MAX).base,
                 strlen(allow), 1);
  return mira_reply_error(c, 405, "method %.*s is not allowed on %.*s (allowed: %s)",
                          (int)req->method.len, req->method.base, (int)plen, path, allow);
}

/* x-api-key, or Authorization: Bearer <key>. */
static int authenticate(mira_call *c) {
  h2o_req_t *req = c->req;
  ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-api-key"), -1);
  const char *key = NULL;
  size_t len = 0;
  if (i >= 0) {
    key = req->headers.entries[i].value.base, len = req->headers.entries[i].value.len;
  } else if ((i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1)) >= 0) {
    h2o_iovec_t v = req->headers.entries[i].value;
    if (v.len > 7 && h2o_lcstris(v.base, 7, H2O_STRLIT("bearer ")))
      key = v.base + 7, len = v.len - 7;
  }
  if (!key || len == 0)
    return mira_reply_error(c, 401, "missing API key: send it in the x-api-key header");
  if (mira_auth_lookup(c, key, len) != 0) return mira_reply_error(c, 401, "invalid API key");
  return 0;
}

static int rate_limit(mira_call *c) {
  if (!c->app->rate) return 0;
  int wait = mira_rate_check(c->app, c->key_hash);
  if (wait == 0) return 0;
  char s[16];
  int n = snprintf(s, sizeof s, "%d", wait);
  h2o_set_header(&c->req->pool, &c->req->res.headers, H2O_TOKEN_RETRY_AFTER,
                 h2o_strdup(&c->req->pool, s, (size_t)n).base, (size_t)n, 1);
  return mira_reply_error(c, 429, "rate limit exceeded (%.0f requests/s per key); retry after %d s",
                          c->app->c.rate_limit, wait);
}

static int parse_body(mira_call *c);
static int run_detached(mira_call *c, const mira_route *r);

void mira_call_finish(mira_call *c) {
  uint64_t us = (mira_mono_ns() - c->t0) / 1000;
  mira_metrics_observe(&c->app->metrics, c->route, c->status, us);
  if (!c->app->c.access_log) return;
  MIRA_LOGI("http", "%.*s %.*s %d %.1fms%s%s", (int)c->req->method.len, c->req->method.base,
            (int)c->req->path_normalized.len, c->req->path_normalized.base, c->status, us / 1000.0,
            c->account_id[0] ? " account=" : "", c->account_id);
}

static void on_req(void *ud, h2o_req_t *req) {
  mira_api_thread *t = ud;
  mira_call c = {.req = req, .t = t, .app = t->app, .store = t->store, .t0 = mira_mono_ns(),
                 .route = MIRA_METRIC_MAX_ROUTES};
  const char *path = req->path_normalized.base;
  size_t plen = req->path_normalized.len;
  if (find_route(&c, path, plen, &c.route) == 0) {
    const mira_route *r = &mira_routes[c.route];
    int rc = 0;
    if (!(r->flags & MIRA_ROUTE_PUBLIC)) rc = authenticate(&c);
    if (rc == 0 && !(r->flags & MIRA_ROUTE_PUBLIC)) rc = rate_limit(&c);
    if (rc == 0 && ((r->flags & MIRA_ROUTE_BODY) || ((r->flags & MIRA_ROUTE_BODY_OPT) && req->entity.len)))
      rc = parse_body(&c);
    if (rc == 0 && (r->flags & MIRA_ROUTE_OFFLOAD)) run_detached(&c, r);
    else if (rc == 0) r->fn(&c);
  }
  if (!c.deferred) mira_call_finish(&c);
  json_decref(c.body);
}

/* Signed links need an absolute base; unless configured it is the address
 * we actually listen on. */
static void on_bound(void *ud, int port) {
  mira_app *app = ud;
  if (app->c.public_url && *app->c.public_url) {
    snprintf(app->public_url, sizeof app->public_url, "%s", app->c.public_url);
  } else {
    const char *l = app->c.listen ? app->c.listen : "127.0.0.1";
    snprintf(app->public_url, sizeof app->public_url, strchr(l, ':') ? "http://[%s]:%d" : "http://%s:%d", l, port);
  }
  size_t n = strlen(app->public_url);
  if (n && app->public_url[n - 1] == '/') app->public_url[n - 1] = 0;
}

mira_http_handlers mira_api_handlers(mira_app *app) {
  /* I/O threads need the same per-thread state: a store handle of their own. */
  return (mira_http_handlers){.thread_init = thread_init, .thread_fini = thread_fini, .on_req = on_req,
                              .app = app, .on_bound = on_bound, .io_init = thread_init,
                              .io_fini = thread_fini};
}

/* ---- detached calls: the whole handler on the I/O pool ---- */

typedef struct detached {
  mira_call c;
  const mira_route *r;
  char *entity;
  char *query;
} detached;

static void detached_free(detached *d) {
  json_decref(d->c.body);
  free(d->c.out_body);
  free(d->c.hdrs);
  free(d->entity);
  free(d->query);
  free(d);
}

/* Copies every request header into one block, so the I/O thread never reads
 * the request (which h2o frees if the client disconnects). */
static int copy_headers(mira_call *c) {
  h2o_headers_t *h = &c->req->headers;
  size_t bytes = h->size * sizeof *c->hdrs;
  for (size_t i = 0; i < h->size; i++) bytes += h->entries[i].name->len + h->entries[i].value.len;
  c->hdrs = malloc(bytes ? bytes : 1);
  if (!c->hdrs) return -1;
  char *p = (char *)(c->hdrs + h->size);
  for (size_t i = 0; i < h->size; i++) {
    h2o_iovec_t n = *h->entries[i].name, v = h->entries[i].value;
    memcpy(p, n.base, n.len), c->hdrs[i][0] = h2o_iovec_init(p, n.len), p += n.len;
    memcpy(p, v.base, v.len), c->hdrs[i][1] = h2o_iovec_init(p, v.len), p += v.len;
  }
  c->nhdrs = h->size;
  return 0;
}

static const char *rebase(const char *p, const char *from, const char *to) {
  return p ? to + (p - from) : NULL;
}

static void detached_work(void *iodata, void *arg) {
  detached *d = arg;
  mira_api_thread *io = iodata;
  d->c.t = io;
  d->c.store = io->store;
  d->r->fn(&d->c);
}

static void detached_done(h2o_req_t *req, void *arg) {
  detached *d = arg;
  if (req) {
    mira_reply_buffered(&d->c);
    mira_call_finish(&d->c);
  }
  detached_free(d);
}

static int run_detached(mira_call *c, const mira_route *r) {
  detached *d = calloc(1, sizeof *d);
  h2o_iovec_t e = c->req->entity;
  if (!d || !(d->entity = malloc(e.len ? e.len : 1))) {
    free(d);
    return mira_reply_error(c, 500, "out of memory");
  }
  if (e.len) memcpy(d->entity, e.base, e.len); /* a body-less request has base == NULL */
  d->c = *c;
  d->r = r;
  for (size_t i = 0; i < c->nparts; i++) {
    mira_multipart_part *p = &d->c.parts[i];
    p->name = rebase(p->name, e.base, d->entity);
    p->filename = rebase(p->filename, e.base, d->entity);
    p->content_type = rebase(p->content_type, e.base, d->entity);
    p->data = rebase(p->data, e.base, d->entity);
  }
  if (copy_headers(&d->c) != 0) {
    d->c.body = NULL;
    detached_free(d);
    return mira_reply_error(c, 500, "out of memory");
  }
  h2o_req_t *req = c->req;
  if (req->query_at != SIZE_MAX) {
    size_t qlen = req->path.len - req->query_at - 1;
    if ((d->query = malloc(qlen + 1)) != NULL) {
      memcpy(d->query, req->path.base + req->query_at + 1, qlen);
      d->c.query = h2o_iovec_init(d->query, qlen);
    }
  }
  d->c.detached = 1;
  if (mira_http_offload(c->req, detached_work, detached_done, d) != 0) {
    d->c.body = NULL;
    detached_free(d);
    return mira_reply_error(c, 500, "out of memory");
  }
  c->body = NULL; /* now owned by d */
  c->deferred = 1;
  return 0;
}

/* ---- bodies ---- */

static int parse_json(mira_call *c) {
  h2o_iovec_t e = c->req->entity;
  if (e.len > MIRA_JSON_BODY_MAX)
    return mira_reply_error(c, 413, "JSON body is %zu bytes; the limit is %u", e.len, MIRA_JSON_BODY_MAX);
  if (e.len == 0) return mira_reply_error(c, 400, "request body is empty; send a JSON object");
  json_error_t je;
  c->body = json_loadb(e.base, e.len, JSON_REJECT_DUPLICATES, &je);
  if (!c->body) return mira_reply_error(c, 400, "invalid JSON at line %d column %d: %s", je.line, je.column, je.text);
  if (!json_is_object(c->body)) return mira_reply_error(c, 400, "request body must be a JSON object");
  return 0;
}

/* Multipart text fields become a JSON object of strings so handlers validate
 * one shape; file parts stay in c->parts. */
static int parse_multipart(mira_call *c, const char *ct, size_t ctlen) {
  const char *b;
  size_t blen, n;
  char err[256];
  if (mira_multipart_boundary(ct, ctlen, &b, &blen) != 0)
    return mira_reply_error(c, 400, "multipart/form-data body without a valid boundary");
  int rc = mira_multipart_parse(c->req->entity.base, c->req->entity.len, b, blen, c->parts,
                                MIRA_MAX_PARTS, &n, err, sizeof err);
  if (rc) return mira_reply_error(c, rc == MIRA_ETOOBIG ? 413 : 400, "malformed multipart body: %s", err);
  c->nparts = n;
  c->multipart = 1;
  c->body = json_object();
  for (size_t i = 0; i < n; i++) {
    if (c->parts[i].filename) continue;
    char name[128];
    if (c->parts[i].name_len >= sizeof name) continue;
    memcpy(name, c->parts[i].name, c->parts[i].name_len);
    name[c->parts[i].name_len] = 0;
    json_t *v = json_stringn(c->parts[i].data, c->parts[i].len);
    if (!v) return mira_reply_error(c, 400, "field '%s' is not valid UTF-8", name);
    json_object_set_new(c->body, name, v);
  }
  return 0;
}

static int parse_body(mira_call *c) {
  ssize_t i = h2o_find_header(&c->req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
  h2o_iovec_t ct = i >= 0 ? c->req->headers.entries[i].value : h2o_iovec_init(H2O_STRLIT(""));
  if (ct.len >= 19 && h2o_lcstris(ct.base, 19, H2O_STRLIT("multipart/form-data")))
    return parse_multipart(c, ct.base, ct.len);
  if (ct.len == 0 || (ct.len >= 16 && h2o_lcstris(ct.base, 16, H2O_STRLIT("application/json"))))
    return parse_json(c);
  /* `curl -d '{...}'` without -H sends this type; the body says what it is. */
  if (ct.len >= 33 && h2o_lcstris(ct.base, 33, H2O_STRLIT("application/x-www-form-urlencoded")) &&
      c->req->entity.len && c->req->entity.base[0] == '{')
    return parse_json(c);
  return mira_reply_error(c, 415, "unsupported Content-Type '%.*s': send application/json or multipart/form-data",
                          (int)ct.len, ct.base);
}
