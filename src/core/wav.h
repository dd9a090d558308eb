/* 16-bit PCM WAV files in memory or on disk.
 *
 *   uint8_t *buf; size_t len;
 *   mira_wav_encode(pcm, n, 22050, &buf, &len);   // buf is malloc'd, caller frees
 *   mira_wav_write("out.wav", pcm, n, 22050, err, sizeof err);
 *
 * Mono, little-endian, canonical 44-byte header. Thread-safe, no state.
 */
#ifndef MIRA_CORE_WAV_H
#define MIRA_CORE_WAV_H

#include <stddef.h>
#include <stdint.h>

#define MIRA_WAV_HEADER 44

/* Returns 0 or MIRA_ENOMEM / MIRA_ETOOBIG (over 4 GiB). */
int mira_wav_encode(const int16_t *pcm, size_t n, int rate, uint8_t **out, size_t *len);
int mira_wav_write(const char *path, const int16_t *pcm, size_t n, int rate, char *err, size_t errlen);

#endif
