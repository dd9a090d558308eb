/* Operational endpoints: health, Prometheus metrics, the OpenAPI document. */
#include <string.h>

#include "api/handlers.h"
#include "openapi_json.h" /* generated at build time from src/api/openapi.json */

int mira_api_healthz(mira_call *c) {
  char err[256];
  int64_t counts[MIRA_JOB_STATUS_COUNT];
  /* A cheap query proves the database answers, not only the process. */
  if (c->store->ops->job_count(c->store, counts, err, sizeof err) != 0)
    return mira_reply_json(c, 503, json_pack("{s:s,s:s}", "status", "unavailable", "error", err));
  return mira_reply_json(c, 200, json_pack("{s:s,s:s}", "status", "ok", "version", MIRA_VERSION));
}

int mira_api_metrics(mira_call *c) { return mira_metrics_render(c); }

int mira_api_openapi(mira_call *c) {
  h2o_req_t *req = c->req;
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
  req->res.content_length = mira_openapi_json_len;
  h2o_send_inline(req, mira_openapi_json, mira_openapi_json_len);
  c->status = 200;
  return 200;
}
