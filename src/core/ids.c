#include "core/ids.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/crypto.h"

enum { TIME_CHARS = 8, COUNT_CHARS = 4, RAND_CHARS = 12 };
_Static_assert(1 + TIME_CHARS + COUNT_CHARS + RAND_CHARS == MIRA_ID_LEN, "id layout");

static const char digits36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
static atomic_uint_fast32_t counter;

/* Writes the low `width` base36 digits of v, zero-padded, so ids of the same
 * width sort by value ('0'-'9' sort before 'a'-'z' in ASCII). */
static void put36(char *out, int width, uint64_t v) {
  for (int i = width - 1; i >= 0; i--) {
    out[i] = digits36[v % 36];
    v /= 36;
  }
}

/* Random base36 chars by rejection sampling: bytes >= 252 (7 * 36) are
 * dropped so every digit is equally likely. */
static void put_random36(char *out, int count) {
  uint8_t buf[32];
  int got = 0;
  while (got < count) {
    if (mira_random_bytes(buf, sizeof buf) != 0) {
      /* getrandom only fails on a broken kernel/seccomp policy; an id
       * without its random part could collide across processes. */
      fputs("mira: getrandom failed, cannot make ids\n", stderr);
      abort();
    }
    for (size_t i = 0; i < sizeof buf && got < count; i++)
      if (buf[i] < 252) out[got++] = digits36[buf[i] % 36];
  }
}

void mira_id_new(char out[MIRA_ID_SIZE]) {
  uint64_t ms = (uint64_t)mira_now_ms();
  uint64_t n = atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
  out[0] = 'c';
  put36(out + 1, TIME_CHARS, ms);
  put36(out + 1 + TIME_CHARS, COUNT_CHARS, n);
  put_random36(out + 1 + TIME_CHARS + COUNT_CHARS, RAND_CHARS);
  out[MIRA_ID_LEN] = '\0';
}

bool mira_id_valid(const char *s) {
  if (!s || s[0] != 'c') return false;
  for (int i = 1; i < MIRA_ID_LEN; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) return false;
  }
  return s[MIRA_ID_LEN] == '\0';
}

void mira_id_derive(const char *key, char out[MIRA_ID_SIZE]) {
  uint8_t h[MIRA_SHA256_LEN];
  mira_sha256(key, strlen(key), h);
  out[0] = 'c';
  for (int i = 1; i < MIRA_ID_LEN; i++) out[i] = digits36[h[i] % 36];
  out[MIRA_ID_LEN] = 0;
}
