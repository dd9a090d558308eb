/* JSON, error and file responses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/error.h"
#include "http/filesend.h"

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 413: return "Payload Too Large";
  case 415: return "Unsupported Media Type";
  case 422: return "Unprocessable Entity";
  case 429: return "Too Many Requests";
  case 503: return "Service Unavailable";
  default: return status >= 500 ? "Internal Server Error" : "OK";
  }
}

static int send_body(mira_call *c, int status, const char *type, size_t tlen, char *body, size_t len) {
  c->status = status;
  if (c->detached) { /* buffered: the loop thread sends it (mira_reply_buffered) */
    c->out_type = type;
    free(c->out_body);
    c->out_body = malloc(len ? len : 1);
    if (c->out_body) memcpy(c->out_body, body, len);
    c->out_len = c->out_body ? len : 0;
    return status;
  }
  h2o_req_t *req = c->req;
  req->res.status = status;
  req->res.reason = reason(status);
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, tlen);
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
  req->res.content_length = len; /* not chunked, and keep-alive survives errors */
  h2o_send_inline(req, body, len); /* copies the body into the request pool */
  return status;
}

int mira_reply_buffered(mira_call *c) {
  c->detached = 0;
  if (!c->out_body) return mira_reply_error(c, 500, "the request produced no response");
  const char *type = c->out_type ? c->out_type : "application/json";
  return send_body(c, c->status, type, strlen(type), c->out_body, c->out_len);
}

int mira_reply_json(mira_call *c, int status, json_t *obj) {
  char *s = json_dumps(obj, JSON_COMPACT);
  json_decref(obj);
  if (!s) { /* allocation failed, or a stored string is not valid UTF-8 */
    static const char fallback[] = "{\"result\":\"error\",\"error\":\"cannot encode the response\"}";
    return send_body(c, 500, H2O_STRLIT("application/json"), (char *)fallback, sizeof fallback - 1);
  }
  send_body(c, status, H2O_STRLIT("application/json"), s, strlen(s));
  free(s);
  return status;
}

int mira_reply_bytes(mira_call *c, int status, const char *type, const void *data, size_t len) {
  return send_body(c, status, type, strlen(type), (char *)data, len);
}

int mira_reply_raw(mira_call *c, int status, const char *json, size_t len) {
  return send_body(c, status, H2O_STRLIT("application/json"), (char *)json, len);
}

int mira_reply_error(mira_call *c, int status, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return mira_reply_json(c, status, json_pack("{s:s,s:s}", "result", "error", "error", msg));
}

int mira_reply_rc(mira_call *c, int rc, const char *msg) {
  int status;
  switch (rc) {
  case MIRA_EINVAL: status = 400; break;
  case MIRA_EAUTH: case MIRA_EEXPIRED: status = 401; break;
  case MIRA_ENOENT: status = 404; break;
  case MIRA_ETOOBIG: status = 413; break;
  case MIRA_ETYPE: status = 415; break;
  case MIRA_ECONFLICT: case MIRA_ESTATE: status = 422; break;
  case MIRA_EBUSY: status = 503; break;
  default: status = 500;
  }
  return mira_reply_error(c, status, "%s", msg && *msg ? msg : mira_strerror(rc));
}

int mira_reply_file(mira_call *c, const char *media_id, const char *content_type) {
  char path[1400];
  if (c->app->blob->ops->path(c->app->blob, media_id, path, sizeof path) != 0)
    return mira_reply_error(c, 500, "the stored file for %s is missing", media_id);
  h2o_req_t *req = c->req;
  h2o_iovec_t mime = h2o_strdup(&req->pool, content_type, SIZE_MAX);
  if (mira_file_send(req, path, mime) != 0)
    return mira_reply_error(c, 500, "cannot open the stored file for %s", media_id);
  c->status = req->res.status;
  return c->status;
}
