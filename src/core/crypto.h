/* Hashing, HMAC and randomness for keys, signed URLs and idempotency, on
 * OpenSSL's libcrypto.
 *
 *   char hex[MIRA_SHA256_HEX_SIZE];
 *   mira_sha256_hex(data, len, hex);
 *   mira_hmac_sha256_hex(key, keylen, msg, msglen, hex);
 *   if (mira_random_bytes(buf, 32) != 0) ...;
 *   if (mira_ct_equal(a, b, n)) ...;      // constant-time compare
 *
 * Thread-safety: all functions are thread-safe. Outputs are caller-owned.
 */
#ifndef MIRA_CORE_CRYPTO_H
#define MIRA_CORE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIRA_SHA256_LEN 32
#define MIRA_SHA256_HEX_SIZE 65 /* 64 hex chars + NUL */

void mira_sha256(const void *data, size_t len, uint8_t out[MIRA_SHA256_LEN]);
void mira_sha256_hex(const void *data, size_t len, char out[MIRA_SHA256_HEX_SIZE]);
void mira_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t msglen,
                          char out[MIRA_SHA256_HEX_SIZE]);

/* Fills buf with n bytes from the OS CSPRNG. Returns 0 or MIRA_EIO. */
int mira_random_bytes(void *buf, size_t n);

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void mira_hex(const uint8_t *in, size_t n, char *out);

/* Constant-time equality of two n-byte buffers. */
bool mira_ct_equal(const void *a, const void *b, size_t n);

#endif
