/* multipart/form-data parser (RFC 7578 over RFC 2046 5.1.1 framing).
 *
 * Works on a complete body in memory and never copies: parts point into the
 * body. Every read is bounded by `len`, so a truncated or hostile body can
 * only make it fail. Quoted parameter values are returned as the raw bytes
 * between the quotes; a value with backslash escapes keeps its backslashes
 * (browsers percent-encode '"' in filenames instead, so this is rare). */
#define _GNU_SOURCE /* memmem */
#include "http/multipart.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

enum { MAX_BOUNDARY = 70 /* RFC 2046 5.1.1 */ };
enum { DELIM_NONE, DELIM_NEXT, DELIM_CLOSE };
#define NPOS SIZE_MAX

typedef struct {
  const char *body;
  size_t len;
  const char *b; /* boundary, without the leading "--" */
  size_t blen;
  char needle[4 + MAX_BOUNDARY]; /* CRLF "--" boundary */
  size_t nlen;
} ctx;

typedef struct {
  const char *name, *val;
  size_t name_len, val_len;
  bool escaped; /* quoted value held backslash escapes */
} param;

static bool ows(char c) { return c == ' ' || c == '\t'; }

static const char *skip_ows(const char *p, const char *end) {
  while (p < end && ows(*p)) p++;
  return p;
}

/* RFC 9110 tchar. */
static bool tchar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static bool ctl(char c) { return ((unsigned char)c < 0x20 && c != '\t') || c == 0x7f; }

static bool span_is(const char *p, size_t n, const char *word) {
  return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

/* Quoted-string body after the opening quote; *pp ends past the closing one. */
static bool quoted(const char **pp, const char *end, param *out) {
  const char *p = *pp;
  out->val = p;
  while (p < end && *p != '"') {
    if (ctl(*p)) return false;
    if (*p == '\\') {
      out->escaped = true;
      if (++p == end) return false;
    }
    p++;
  }
  if (p == end) return false;
  out->val_len = (size_t)(p - out->val);
  *pp = p + 1;
  return true;
}

/* Unquoted values are read liberally (anything up to ';' or whitespace)
 * because some clients do not quote boundaries holding tspecials. */
static bool unquoted(const char **pp, const char *end, param *out) {
  const char *p = *pp;
  out->val = p;
  while (p < end && *p != ';' && !ows(*p)) {
    if (ctl(*p) || *p == '"' || *p == '\\') return false;
    p++;
  }
  out->val_len = (size_t)(p - out->val);
  *pp = p;
  return out->val_len > 0;
}

/* Reads `; name=value` at *pp. Returns 1 for a parameter, 0 at the end
 * (a trailing ';' is tolerated), -1 if malformed. */
static int next_param(const char **pp, const char *end, param *out) {
  const char *p = skip_ows(*pp, end);
  if (p == end) return 0;
  if (*p != ';') return -1;
  p = skip_ows(p + 1, end);
  *pp = p;
  if (p == end) return 0;
  memset(out, 0, sizeof *out);
  out->name = p;
  while (p < end && tchar(*p)) p++;
  out->name_len = (size_t)(p - out->name);
  p = skip_ows(p, end);
  if (out->name_len == 0 || p == end || *p != '=') return -1;
  p = skip_ows(p + 1, end);
  bool ok = (p < end && *p == '"') ? (p++, quoted(&p, end, out)) : unquoted(&p, end, out);
  *pp = p;
  return ok ? 1 : -1;
}

/* RFC 2046 allows 1..70 chars and no trailing space; we also refuse control
 * characters and '"' or '\\' (which a zero-copy boundary cannot unescape). */
static bool valid_boundary(const char *b, size_t n) {
  if (n == 0 || n > MAX_BOUNDARY || b[n - 1] == ' ') return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)b[i] < 0x20 || (unsigned char)b[i] > 0x7e || b[i] == '"' ||
        b[i] == '\\')
      return false;
  return true;
}

int mira_multipart_boundary(const char *content_type, size_t len, const char **boundary,
                            size_t *blen) {
  if (!content_type || !boundary || !blen) return MIRA_EINVAL;
  const char *end = content_type + len, *p = skip_ows(content_type, end), *t = p;
  while (p < end && *p != ';' && !ows(*p)) p++;
  if (!span_is(t, (size_t)(p - t), "multipart/form-data")) return MIRA_EINVAL;
  const char *found = NULL;
  size_t flen = 0;
  param pr;
  int rc;
  while ((rc = next_param(&p, end, &pr)) == 1) {
    if (!span_is(pr.name, pr.name_len, "boundary")) continue;
    if (found || pr.escaped) return MIRA_EINVAL; /* two boundaries: ambiguous */
    found = pr.val;
    flen = pr.val_len;
  }
  if (rc < 0 || !found || !valid_boundary(found, flen)) return MIRA_EINVAL;
  *boundary = found;
  *blen = flen;
  return 0;
}

/* What follows a "--boundary" ending at q: "--" closes the body; optional
 * padding then CRLF starts a part (*after is past the CRLF); anything else
 * means these bytes were data that merely start like a delimiter. */
static int delim_tail(const ctx *c, size_t q, size_t *after) {
  const char *s = c->body;
  if (q + 2 <= c->len && s[q] == '-' && s[q + 1] == '-') {
    *after = q + 2;
    return DELIM_CLOSE;
  }
  while (q < c->len && ows(s[q])) q++;
  if (q + 2 <= c->len && s[q] == '\r' && s[q + 1] == '\n') {
    *after = q + 2;
    return DELIM_NEXT;
  }
  return DELIM_NONE;
}

/* Finds the first delimiter line at or after `from` and returns where its
 * leading CRLF starts (data ends there), or NPOS. A delimiter without the
 * CRLF is accepted right at `from`: the body start, or a part whose blank
 * line doubles as the delimiter's CRLF (RFC 2046 makes part bodies optional). */
static size_t find_delim(const ctx *c, size_t from, int *kind, size_t *after) {
  size_t dash = c->nlen - 2;
  if (c->len - from >= dash && memcmp(c->body + from, c->needle + 2, dash) == 0 &&
      (*kind = delim_tail(c, from + dash, after)) != DELIM_NONE)
    return from;
  while (from < c->len) {
    const char *hit = memmem(c->body + from, c->len - from, c->needle, c->nlen);
    if (!hit) return NPOS;
    size_t at = (size_t)(hit - c->body);
    if ((*kind = delim_tail(c, at + c->nlen, after)) != DELIM_NONE) return at;
    from = at + 1;
  }
  return NPOS;
}

static int parse_disposition(const char *p, const char *end, mira_multipart_part *part,
                             size_t idx, char *err, size_t errlen) {
  const char *t = p;
  while (p < end && *p != ';' && !ows(*p)) p++;
  if (!span_is(t, (size_t)(p - t), "form-data"))
    return mira_err(err, errlen, MIRA_EINVAL, "part %zu: Content-Disposition is not form-data",
                    idx);
  param pr;
  int rc;
  while ((rc = next_param(&p, end, &pr)) == 1) {
    bool is_name = span_is(pr.name, pr.name_len, "name");
    if (!is_name && !span_is(pr.name, pr.name_len, "filename")) continue;
    const char **dst = is_name ? &part->name : &part->filename;
    if (*dst)
      return mira_err(err, errlen, MIRA_EINVAL, "part %zu: duplicate %s parameter", idx,
                      is_name ? "name" : "filename");
    *dst = pr.val;
    *(is_name ? &part->name_len : &part->filename_len) = pr.val_len;
  }
  if (rc < 0)
    return mira_err(err, errlen, MIRA_EINVAL, "part %zu: malformed Content-Disposition", idx);
  return 0;
}

static bool line_is_delim(const ctx *c, const char *p, const char *eol) {
  size_t after;
  return (size_t)(eol - p) >= 2 + c->blen && p[0] == '-' && p[1] == '-' &&
         memcmp(p + 2, c->b, c->blen) == 0 &&
         delim_tail(c, (size_t)(p - c->body) + 2 + c->blen, &after) != DELIM_NONE;
}

/* One "Name: value" line in [p, eol). Unknown headers are ignored. */
static int header_line(const char *p, const char *eol, mira_multipart_part *part, size_t idx,
                       bool *have_cd, char *err, size_t errlen) {
  const char *colon = memchr(p, ':', (size_t)(eol - p));
  bool ok = colon && colon > p;
  for (const char *q = p; ok && q < colon; q++) ok = tchar(*q);
  for (const char *q = p; ok && q < eol; q++) ok = !ctl(*q);
  if (!ok) return mira_err(err, errlen, MIRA_EINVAL, "part %zu: malformed header line", idx);
  const char *v = skip_ows(colon + 1, eol), *vend = eol;
  while (vend > v && ows(vend[-1])) vend--;
  size_t nlen = (size_t)(colon - p);
  if (span_is(p, nlen, "content-disposition")) {
    if (*have_cd)
      return mira_err(err, errlen, MIRA_EINVAL, "part %zu: duplicate Content-Disposition", idx);
    *have_cd = true;
    return parse_disposition(v, vend, part, idx, err, errlen);
  }
  if (span_is(p, nlen, "content-type")) {
    if (part->content_type || v == vend)
      return mira_err(err, errlen, MIRA_EINVAL, "part %zu: bad Content-Type header", idx);
    part->content_type = v;
    part->content_type_len = (size_t)(vend - v);
  }
  return 0;
}

/* Header lines from *pos through the blank line; *pos ends past it. */
static int parse_headers(const ctx *c, size_t *pos, mira_multipart_part *part, size_t idx,
                         char *err, size_t errlen) {
  const char *p = c->body + *pos, *end = c->body + c->len;
  bool have_cd = false;
  for (;;) {
    const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
    if (!eol || line_is_delim(c, p, eol))
      return mira_err(err, errlen, MIRA_EINVAL, "part %zu: header block without blank line",
                      idx);
    if (eol == p) break;
    int rc = header_line(p, eol, part, idx, &have_cd, err, errlen);
    if (rc) return rc;
    p = eol + 2;
  }
  *pos = (size_t)(p + 2 - c->body);
  if (!part->name || part->name_len == 0)
    return mira_err(err, errlen, MIRA_EINVAL,
                    "part %zu: no Content-Disposition form-data name", idx);
  return 0;
}

static int parse_parts(const ctx *c, mira_multipart_part *parts, size_t max_parts,
                       size_t *nparts, char *err, size_t errlen) {
  int kind;
  size_t pos;
  if (find_delim(c, 0, &kind, &pos) == NPOS)
    return mira_err(err, errlen, MIRA_EINVAL, "multipart body has no boundary line");
  size_t n = 0;
  while (kind == DELIM_NEXT) {
    if (n == max_parts)
      return mira_err(err, errlen, MIRA_ETOOBIG, "more than %zu multipart parts", max_parts);
    mira_multipart_part *part = &parts[n];
    memset(part, 0, sizeof *part);
    int rc = parse_headers(c, &pos, part, n, err, errlen);
    if (rc) return rc;
    size_t after, at = find_delim(c, pos, &kind, &after);
    if (at == NPOS)
      return mira_err(err, errlen, MIRA_EINVAL, "part %zu: missing closing boundary", n);
    part->data = c->body + pos;
    part->len = at - pos;
    pos = after;
    n++;
  }
  *nparts = n;
  return 0;
}

int mira_multipart_parse(const char *body, size_t len, const char *boundary, size_t blen,
                         mira_multipart_part *parts, size_t max_parts, size_t *nparts,
                         char *err, size_t errlen) {
  if (nparts) *nparts = 0;
  if (!body || !boundary || !nparts || (!parts && max_parts))
    return mira_err(err, errlen, MIRA_EINVAL, "multipart: missing argument");
  if (!valid_boundary(boundary, blen))
    return mira_err(err, errlen, MIRA_EINVAL, "multipart: invalid boundary");
  ctx c = {.body = body, .len = len, .b = boundary, .blen = blen, .nlen = 4 + blen};
  memcpy(c.needle, "\r\n--", 4);
  memcpy(c.needle + 4, boundary, blen);
  return parse_parts(&c, parts, max_parts, nparts, err, errlen);
}

const mira_multipart_part *mira_multipart_find(const mira_multipart_part *parts, size_t n,
                                               const char *name) {
  if (!parts || !name) return NULL;
  size_t len = strlen(name);
  for (size_t i = 0; i < n; i++)
    if (parts[i].name_len == len && memcmp(parts[i].name, name, len) == 0) return &parts[i];
  return NULL;
}
