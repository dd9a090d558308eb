/* Signed, expiring URLs: the capability that lets a client PUT an upload or
 * GET a download without an API key (Miraflow clients do exactly that).
 *
 *   char q[MIRA_SIGNED_QUERY_SIZE];
 *   mira_signed_make(secret, slen, "PUT", "/upload/cm...", now_s + 3600, q, sizeof q);
 *   // -> "expires=1764000000&sig=<64 hex>"
 *   rc = mira_signed_check(secret, slen, "PUT", path, query, query_len, now_s, err, errlen);
 *
 * The signature is HMAC-SHA256(secret, METHOD "\n" PATH "\n" EXPIRES), so a
 * URL signed for one path or method is useless for another. GET signatures
 * also verify for HEAD. Thread-safety: thread-safe, no state.
 */
#ifndef MIRA_HTTP_SIGNED_H
#define MIRA_HTTP_SIGNED_H

#include <stddef.h>
#include <stdint.h>

#define MIRA_SIGNED_QUERY_SIZE 128

/* Writes the query string (no leading '?') into out. Returns 0 or MIRA_EINVAL
 * if out is too small. */
int mira_signed_make(const void *secret, size_t secretlen, const char *method, const char *path,
                     int64_t expires_s, char *out, size_t outlen);

/* Verifies `query` (the part after '?', may hold other parameters too) for
 * method+path. Returns 0, MIRA_EAUTH (missing/tampered signature) or
 * MIRA_EEXPIRED (valid signature, past its expiry), with a message in err. */
int mira_signed_check(const void *secret, size_t secretlen, const char *method, const char *path,
                      const char *query, size_t query_len, int64_t now_s, char *err,
                      size_t errlen);

#endif
