#include "core/wav.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static void le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }

static void header(uint8_t h[MIRA_WAV_HEADER], size_t n, int rate) {
  uint32_t data = (uint32_t)(n * 2);
  memcpy(h, "RIFF", 4), le32(h + 4, 36 + data), memcpy(h + 8, "WAVEfmt ", 8);
  le32(h + 16, 16), le16(h + 20, 1 /* PCM */), le16(h + 22, 1 /* mono */);
  le32(h + 24, (uint32_t)rate), le32(h + 28, (uint32_t)rate * 2), le16(h + 32, 2), le16(h + 34, 16);
  memcpy(h + 36, "data", 4), le32(h + 40, data);
}

int mira_wav_encode(const int16_t *pcm, size_t n, int rate, uint8_t **out, size_t *len) {
  *out = NULL;
  if (n > (UINT32_MAX - 36) / 2) return MIRA_ETOOBIG;
  uint8_t *b = malloc(MIRA_WAV_HEADER + n * 2);
  if (!b) return MIRA_ENOMEM;
  header(b, n, rate);
  for (size_t i = 0; i < n; i++) le16(b + MIRA_WAV_HEADER + 2 * i, (uint16_t)pcm[i]);
  *out = b;
  *len = MIRA_WAV_HEADER + n * 2;
  return 0;
}

int mira_wav_write(const char *path, const int16_t *pcm, size_t n, int rate, char *err, size_t errlen) {
  uint8_t *b;
  size_t len;
  int rc = mira_wav_encode(pcm, n, rate, &b, &len);
  if (rc) return mira_err(err, errlen, rc, "cannot encode WAV: %s", mira_strerror(rc));
  FILE *f = fopen(path, "wb");
  if (!f) {
    free(b);
    return mira_err(err, errlen, MIRA_EIO, "cannot write %s: %s", path, strerror(errno));
  }
  int ok = fwrite(b, 1, len, f) == len;
  ok &= fclose(f) == 0;
  free(b);
  return ok ? 0 : mira_err(err, errlen, MIRA_EIO, "cannot write %s", path);
}
