#include "http/signed.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/error.h"

/* Signed paths are short ("/upload/<id>"); a fixed buffer avoids malloc and
 * anything longer is refused rather than truncated into a weaker MAC. */
enum { MAX_MESSAGE = 2048 };
/* Largest expiry whose milliseconds still fit mira_iso8601's int64. */
#define MAX_EXPIRES (INT64_MAX / 1000)

/* METHOD "\n" PATH "\n" EXPIRES into buf; -1 if it does not fit or a field
 * holds '\n' (which would let two method/path pairs share a message). */
static int message(char *buf, const char *method, const char *path, int64_t expires) {
  if (!method || !path || !*method || !*path || strchr(method, '\n') || strchr(path, '\n'))
    return -1;
  int n = snprintf(buf, MAX_MESSAGE, "%s\n%s\n%" PRId64, method, path, expires);
  return n < 0 || n >= MAX_MESSAGE ? -1 : n;
}

static int sign(const void *secret, size_t secretlen, const char *method, const char *path,
                int64_t expires, char hex[MIRA_SHA256_HEX_SIZE]) {
  char msg[MAX_MESSAGE];
  int n = message(msg, method, path, expires);
  if (n < 0) return -1;
  mira_hmac_sha256_hex(secret, secretlen, msg, (size_t)n, hex);
  return 0;
}

int mira_signed_make(const void *secret, size_t secretlen, const char *method, const char *path,
                     int64_t expires_s, char *out, size_t outlen) {
  char hex[MIRA_SHA256_HEX_SIZE];
  if (!out || expires_s < 0 || expires_s > MAX_EXPIRES ||
      sign(secret, secretlen, method, path, expires_s, hex) != 0)
    return MIRA_EINVAL;
  int n = snprintf(out, outlen, "expires=%" PRId64 "&sig=%s", expires_s, hex);
  return n < 0 || (size_t)n >= outlen ? MIRA_EINVAL : 0;
}

typedef struct {
  const char *expires, *sig;
  size_t expires_len, sig_len;
  bool dup;
} sig_params;

/* Picks expires= and sig= out of a&b&c. A repeated key is refused: a proxy
 * that reads the other copy would see a different URL than we checked. */
static void find_params(const char *q, size_t len, sig_params *sp) {
  const char *end = q + len;
  while (q < end) {
    const char *amp = memchr(q, '&', (size_t)(end - q));
    const char *stop = amp ? amp : end;
    const char **v = NULL;
    size_t *vlen = NULL;
    if (stop - q >= 8 && memcmp(q, "expires=", 8) == 0) {
      v = &sp->expires;
      vlen = &sp->expires_len;
      q += 8;
    } else if (stop - q >= 4 && memcmp(q, "sig=", 4) == 0) {
      v = &sp->sig;
      vlen = &sp->sig_len;
      q += 4;
    }
    if (v) {
      sp->dup |= *v != NULL;
      *v = q;
      *vlen = (size_t)(stop - q);
    }
    q = amp ? amp + 1 : end;
  }
}

static bool parse_expires(const char *s, size_t n, int64_t *out) {
  int64_t v = 0;
  if (n == 0 || n > 19) return false;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
    if (v > MAX_EXPIRES) return false;
  }
  *out = v;
  return true;
}

/* Lowercases the 64 hex digits into out; false if the shape is wrong. */
static bool parse_sig(const char *s, size_t n, char out[MIRA_SHA256_HEX_SIZE]) {
  if (n != MIRA_SHA256_HEX_SIZE - 1) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    out[i] = c;
  }
  out[n] = '\0';
  return true;
}

static bool sig_ok(const void *secret, size_t secretlen, const char *method, const char *path,
                   int64_t expires, const char *sig) {
  char want[MIRA_SHA256_HEX_SIZE];
  if (sign(secret, secretlen, method, path, expires, want) != 0) return false;
  return mira_ct_equal(want, sig, MIRA_SHA256_HEX_SIZE - 1);
}

int mira_signed_check(const void *secret, size_t secretlen, const char *method, const char *path,
                      const char *query, size_t query_len, int64_t now_s, char *err,
                      size_t errlen) {
  sig_params sp = {0};
  if (query) find_params(query, query_len, &sp);
  if (!sp.expires || !sp.sig)
    return mira_err(err, errlen, MIRA_EAUTH, "link is not signed (expires and sig required)");
  int64_t expires;
  char sig[MIRA_SHA256_HEX_SIZE];
  if (sp.dup || !parse_expires(sp.expires, sp.expires_len, &expires) ||
      !parse_sig(sp.sig, sp.sig_len, sig))
    return mira_err(err, errlen, MIRA_EAUTH, "signature is invalid");
  bool ok = sig_ok(secret, secretlen, method, path, expires, sig) ||
            (method && strcmp(method, "HEAD") == 0 &&
             sig_ok(secret, secretlen, "GET", path, expires, sig));
  if (!ok) return mira_err(err, errlen, MIRA_EAUTH, "signature is invalid");
  if (now_s >= expires) {
    char when[MIRA_ISO8601_SIZE];
    mira_iso8601(expires * 1000, when);
    return mira_err(err, errlen, MIRA_EEXPIRED, "link expired at %s", when);
  }
  return 0;
}
