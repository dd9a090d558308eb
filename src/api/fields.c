/* Typed access to request fields with 400s that name the field. Multipart
 * text fields arrive as strings, so booleans and integers also accept their
 * string spellings there. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/ids.h"

static json_t *field(mira_call *c, const char *name) {
  json_t *v = c->body ? json_object_get(c->body, name) : NULL;
  return json_is_null(v) ? NULL : v;
}

/* Limits are in characters, as people count them, not bytes (jansson has
 * already rejected invalid UTF-8). */
static size_t utf8_chars(const char *s, size_t n) {
  size_t chars = 0;
  for (size_t i = 0; i < n; i++) chars += ((unsigned char)s[i] & 0xC0) != 0x80;
  return chars;
}

int mira_field_string(mira_call *c, const char *name, int required, size_t maxlen, const char **out) {
  json_t *v = field(c, name);
  *out = NULL;
  if (!v) return required ? mira_reply_error(c, 400, "missing required field '%s'", name), -1 : 0;
  if (!json_is_string(v)) return mira_reply_error(c, 400, "field '%s' must be a string", name), -1;
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  if (strlen(s) != n) return mira_reply_error(c, 400, "field '%s' contains a NUL character", name), -1;
  if (required && n == 0) return mira_reply_error(c, 400, "field '%s' must not be empty", name), -1;
  size_t chars = utf8_chars(s, n);
  if (maxlen && chars > maxlen)
    return mira_reply_error(c, 400, "field '%s' is %zu characters long; the limit is %zu", name, chars, maxlen), -1;
  *out = s;
  return 1;
}

int mira_field_bool(mira_call *c, const char *name, int *out) {
  json_t *v = field(c, name);
  if (!v) return 0;
  if (json_is_boolean(v)) return *out = json_is_true(v), 1;
  if (c->multipart && json_is_string(v)) {
    const char *s = json_string_value(v);
    if (!strcmp(s, "true") || !strcmp(s, "1")) return *out = 1, 1;
    if (!strcmp(s, "false") || !strcmp(s, "0")) return *out = 0, 1;
  }
  return mira_reply_error(c, 400, "field '%s' must be a boolean (true or false)", name), -1;
}

int mira_field_int(mira_call *c, const char *name, long long min, long long max, long long *out) {
  json_t *v = field(c, name);
  if (!v) return 0;
  long long x;
  if (json_is_integer(v)) {
    x = json_integer_value(v);
  } else if (c->multipart && json_is_string(v)) {
    char *end;
    errno = 0;
    x = strtoll(json_string_value(v), &end, 10);
    if (errno || *end || end == json_string_value(v)) goto bad;
  } else {
    goto bad;
  }
  if (x < min || x > max)
    return mira_reply_error(c, 400, "field '%s' must be between %lld and %lld", name, min, max), -1;
  *out = x;
  return 1;
bad:
  return mira_reply_error(c, 400, "field '%s' must be an integer", name), -1;
}

int mira_field_id(mira_call *c, const char *name, int required, const char **out) {
  int rc = mira_field_string(c, name, required, 0, out);
  if (rc <= 0) return rc;
  if (!mira_id_valid(*out))
    return mira_reply_error(c, 404, "%s '%s' not found", name, *out), -1;
  return 1;
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

static void url_decode(const char *s, size_t n, char *out, size_t outlen) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 1 < outlen; i++) {
    if (s[i] == '+') out[o++] = ' ';
    else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0)
      out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])), i += 2;
    else out[o++] = s[i];
  }
  out[o] = 0;
}

int mira_query_param(mira_call *c, const char *name, char *out, size_t outlen) {
  h2o_iovec_t query = c->query;
  if (!c->detached) {
    h2o_req_t *req = c->req;
    if (req->query_at == SIZE_MAX) return 0;
    query = h2o_iovec_init(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
  }
  const char *q = query.base, *end = query.base + query.len;
  size_t nlen = strlen(name);
  while (q && q < end) {
    const char *amp = memchr(q, '&', (size_t)(end - q));
    if (!amp) amp = end;
    if ((size_t)(amp - q) > nlen && q[nlen] == '=' && memcmp(q, name, nlen) == 0) {
      url_decode(q + nlen + 1, (size_t)(amp - q) - nlen - 1, out, outlen);
      return 1;
    }
    q = amp + 1;
  }
  return 0;
}

int mira_header(mira_call *c, const char *name, char *out, size_t outlen) {
  h2o_iovec_t v = {NULL, 0};
  if (c->detached) {
    for (size_t k = 0; k < c->nhdrs && !v.base; k++)
      if (h2o_memis(c->hdrs[k][0].base, c->hdrs[k][0].len, name, strlen(name))) v = c->hdrs[k][1];
    if (!v.base) return 0;
  } else {
    ssize_t i = h2o_find_header_by_str(&c->req->headers, name, strlen(name), -1);
    if (i < 0) return 0;
    v = c->req->headers.entries[i].value;
  }
  size_t n = v.len < outlen ? v.len : outlen - 1;
  memcpy(out, v.base, n);
  out[n] = 0;
  return 1;
}
