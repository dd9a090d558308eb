/* Prometheus text exposition: requests by route and status, latency
 * histograms, jobs by state, queue depth, job seconds by kind. Counters are
 * relaxed atomics shared by the loop threads. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static const int statuses[MIRA_METRIC_STATUSES] = {200, 201, 204, 206, 304, 400, 401, 404,
                                                   405, 413, 415, 422, 429, 500, 503, 0};
static const double bounds[MIRA_METRIC_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                   0.01,   0.025,   0.05,   0.1,   0.5,    2.5};

void mira_metrics_observe(mira_metrics *m, int route, int status, uint64_t micros) {
  if (route < 0 || route > MIRA_METRIC_MAX_ROUTES) route = MIRA_METRIC_MAX_ROUTES;
  mira_route_metrics *r = &m->route[route];
  int s = MIRA_METRIC_STATUSES - 1;
  for (int i = 0; i < MIRA_METRIC_STATUSES - 1; i++)
    if (statuses[i] == status) s = i;
  int b = MIRA_METRIC_BUCKETS;
  for (int i = 0; i < MIRA_METRIC_BUCKETS; i++)
    if (micros <= bounds[i] * 1e6) { b = i; break; }
  atomic_fetch_add_explicit(&r->by_status[s], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&r->buckets[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&r->sum_us, micros, memory_order_relaxed);
}

typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < b->cap - b->len) { b->len += (size_t)n; return; }
    char *np = realloc(b->p, b->cap * 2 + (size_t)n);
    if (!np) return;
    b->p = np;
    b->cap = b->cap * 2 + (size_t)n;
  }
}

static const char *route_label(int i, char *tmp, size_t n) {
  if (i == MIRA_METRIC_MAX_ROUTES) return "unmatched";
  snprintf(tmp, n, "%s %s", mira_routes[i].method, mira_routes[i].pattern);
  return tmp;
}

static void render_requests(buf *b, mira_metrics *m) {
  char tmp[160];
  size_t n = mira_routes_count();
  put(b, "# HELP mira_http_requests_total HTTP requests by route and status.\n"
         "# TYPE mira_http_requests_total counter\n");
  for (size_t i = 0; i <= MIRA_METRIC_MAX_ROUTES; i++) {
    if (i >= n && i != MIRA_METRIC_MAX_ROUTES) continue;
    for (int s = 0; s < MIRA_METRIC_STATUSES; s++) {
      unsigned long long v = atomic_load_explicit(&m->route[i].by_status[s], memory_order_relaxed);
      if (!v) continue;
      char code[8];
      snprintf(code, sizeof code, "%d", statuses[s]);
      put(b, "mira_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
          route_label((int)i, tmp, sizeof tmp), statuses[s] ? code : "other", v);
    }
  }
  put(b, "# HELP mira_http_request_duration_seconds Request latency by route.\n"
         "# TYPE mira_http_request_duration_seconds histogram\n");
  for (size_t i = 0; i <= MIRA_METRIC_MAX_ROUTES; i++) {
    mira_route_metrics *r = &m->route[i];
    unsigned long long count = atomic_load(&r->count), cum = 0;
    if (!count) continue;
    const char *label = route_label((int)i, tmp, sizeof tmp);
    for (int k = 0; k <= MIRA_METRIC_BUCKETS; k++) {
      cum += atomic_load(&r->buckets[k]);
      if (k < MIRA_METRIC_BUCKETS)
        put(b, "mira_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", label, bounds[k], cum);
      else
        put(b, "mira_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", label, cum);
    }
    put(b, "mira_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", label, atomic_load(&r->sum_us) / 1e6);
    put(b, "mira_http_request_duration_seconds_count{route=\"%s\"} %llu\n", label, count);
  }
}

static void render_jobs(buf *b, mira_call *c) {
  int64_t counts[MIRA_JOB_STATUS_COUNT] = {0};
  char err[128];
  if (c->store->ops->job_count(c->store, counts, err, sizeof err) == 0) {
    put(b, "# HELP mira_jobs Jobs by state.\n# TYPE mira_jobs gauge\n");
    for (int s = 0; s < MIRA_JOB_STATUS_COUNT; s++)
      put(b, "mira_jobs{state=\"%s\"} %lld\n", mira_job_status_name((mira_job_status)s), (long long)counts[s]);
    put(b, "# HELP mira_jobs_queue_depth Jobs waiting for a worker.\n# TYPE mira_jobs_queue_depth gauge\n"
           "mira_jobs_queue_depth %lld\n", (long long)counts[MIRA_JOB_STARTED]);
  }
  if (!c->app->jobs) return;
  mira_jobs_stats st;
  mira_jobs_stats_get(c->app->jobs, &st);
  put(b, "# HELP mira_job_seconds Time spent running jobs, by kind.\n# TYPE mira_job_seconds summary\n");
  for (int k = 0; k < MIRA_JOB_KIND_COUNT; k++) {
    const char *kind = mira_job_kind_name((mira_job_kind)k);
    put(b, "mira_job_seconds_sum{kind=\"%s\"} %.3f\n", kind, st.seconds[k]);
    put(b, "mira_job_seconds_count{kind=\"%s\"} %llu\n", kind, (unsigned long long)st.finished[k]);
  }
}

int mira_metrics_render(mira_call *c) {
  buf b = {malloc(16384), 0, 16384};
  if (!b.p) return mira_reply_error(c, 500, "out of memory");
  b.p[0] = 0;
  render_requests(&b, &c->app->metrics);
  render_jobs(&b, c);
  h2o_req_t *req = c->req;
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                 H2O_STRLIT("text/plain; version=0.0.4"));
  req->res.content_length = b.len;
  h2o_send_inline(req, b.p, b.len);
  free(b.p);
  c->status = 200;
  return 200;
}
