#include "core/crypto.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "core/error.h"

/* libcrypto's one-shot SHA-256/HMAC only fail when it cannot load its default
 * provider (or is out of memory). There is no safe digest to hand back then,
 * and a made-up one could let a forged signature match. */
static void crypto_fail(const char *what) {
  fprintf(stderr, "mira: libcrypto %s failed\n", what);
  abort();
}

void mira_sha256(const void *data, size_t len, uint8_t out[MIRA_SHA256_LEN]) {
  static const uint8_t empty[1];
  if (!SHA256(data ? data : empty, len, out)) crypto_fail("SHA256");
}

void mira_sha256_hex(const void *data, size_t len, char out[MIRA_SHA256_HEX_SIZE]) {
  uint8_t md[MIRA_SHA256_LEN];
  mira_sha256(data, len, md);
  mira_hex(md, sizeof md, out);
}

void mira_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t msglen,
                          char out[MIRA_SHA256_HEX_SIZE]) {
  static const uint8_t empty[1];
  uint8_t md[MIRA_SHA256_LEN], hashed_key[MIRA_SHA256_LEN];
  unsigned int mdlen = 0;
  if (keylen > INT_MAX) {
    /* HMAC itself replaces a key longer than the block size by its hash, so
     * doing it here gives the same MAC and fits HMAC()'s int length. */
    mira_sha256(key, keylen, hashed_key);
    key = hashed_key;
    keylen = sizeof hashed_key;
  }
  if (!HMAC(EVP_sha256(), key ? key : empty, (int)keylen, msg ? msg : (const void *)empty,
            msglen, md, &mdlen) ||
      mdlen != MIRA_SHA256_LEN)
    crypto_fail("HMAC-SHA256");
  mira_hex(md, sizeof md, out);
}

int mira_random_bytes(void *buf, size_t n) {
  uint8_t *p = buf;
  while (n > 0) {
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return MIRA_EIO;
    }
    p += got;
    n -= (size_t)got;
  }
  return 0;
}

void mira_hex(const uint8_t *in, size_t n, char *out) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex[in[i] >> 4];
    out[2 * i + 1] = hex[in[i] & 15];
  }
  out[2 * n] = '\0';
}

bool mira_ct_equal(const void *a, const void *b, size_t n) {
  return CRYPTO_memcmp(a, b, n) == 0;
}
