/* Uploaded audio: decode any common format with FFmpeg's libraries, mix to
 * mono and resample, measure and normalise loudness (EBU R128), and derive a
 * mouth-openness / viseme track from the sound itself for lip-sync.
 *
 *   mira_pcm pcm;
 *   if (mira_audio_decode("in.m4a", 48000, MIRA_AUDIO_MAX_SECONDS, &pcm, err, sizeof err)) fail(err);
 *   double lufs = mira_audio_loudness(&pcm);            // integrated, LUFS
 *   mira_audio_normalize(&pcm, -16.0);                  // gain to -16 LUFS, peaks <= -1 dBFS
 *   mira_mouth_track mt;
 *   mira_audio_mouth_track(&pcm, 10, &mt, err, sizeof err);   // one value per 10 ms
 *   mira_mouth_track_free(&mt); mira_pcm_free(&pcm);
 *
 * Formats: WAV, MP3, M4A/AAC, OGG (Vorbis/Opus), FLAC — whatever the
 * installed libavformat/libavcodec decode. A corrupt or truncated file is a
 * clean MIRA_EINVAL with a message, never a crash.
 * Ownership: arrays belong to the structs until the matching _free.
 * Thread-safety: all functions are thread-safe (no shared state).
 */
#ifndef MIRA_ENGINES_AUDIO_AUDIO_H
#define MIRA_ENGINES_AUDIO_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "engines/speech/visemes.h"

#define MIRA_AUDIO_MAX_SECONDS 1800 /* 30 min: longer than any video we render */
#define MIRA_AUDIO_TARGET_LUFS (-16.0)

typedef struct mira_pcm {
  float *samples;    /* mono, -1..1 */
  size_t n;
  int sample_rate;
} mira_pcm;

/* Decodes path, mixes to mono, resamples to out_rate (0: keep the file's
 * rate). Refuses files longer than max_seconds. */
int mira_audio_decode(const char *path, int out_rate, int max_seconds, mira_pcm *out, char *err,
                      size_t errlen);
void mira_pcm_free(mira_pcm *p);
int64_t mira_pcm_duration_ms(const mira_pcm *p);

/* Integrated loudness per EBU R128 / ITU-R BS.1770-4 (K-weighting, 400 ms
 * blocks, absolute -70 LUFS and relative -10 LU gates). -HUGE_VAL for
 * silence or audio shorter than one block. */
double mira_audio_loudness(const mira_pcm *p);

/* Applies one gain so the integrated loudness becomes target_lufs, lowered
 * if needed so no sample exceeds -1 dBFS. Silence is left alone. Returns the
 * gain applied in dB. */
double mira_audio_normalize(mira_pcm *p, double target_lufs);

typedef struct mira_mouth_track {
  float *open;            /* 0..1 mouth opening per frame */
  mira_viseme *viseme;    /* a viseme class guessed from the spectrum */
  size_t frames;
  int frame_ms;
} mira_mouth_track;

/* Frame-wise energy and spectral shape -> mouth opening and viseme guess.
 * Silence maps to SIL with opening 0. */
int mira_audio_mouth_track(const mira_pcm *p, int frame_ms, mira_mouth_track *out, char *err,
                           size_t errlen);
void mira_mouth_track_free(mira_mouth_track *t);

#endif
