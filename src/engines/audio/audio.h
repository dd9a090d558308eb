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

/* How many frame_ms frames cover p (the last one may be partial): the
 * length of a mouth track. 0 on bad arguments. */
size_t mira_audio_frames(const mira_pcm *p, int frame_ms);

/* Loudness per frame on a linear scale: each frame's RMS over the clip's
 * loud level (the 95th percentile of all frames), clipped to 1. A jaw
 * follows the sound's amplitude; the mouth track's opening is on a dB scale
 * with a slow release, which keeps a mouth half open through the short
 * dips between syllables. out holds frames values. */
int mira_audio_envelope(const mira_pcm *p, int frame_ms, float *out, size_t frames, char *err, size_t errlen);

/* ---- Phone recognition (English): PocketSphinx allphone -----------------
 *
 *   mira_phone_track pt;
 *   if (mira_audio_phones(&pcm, &pt, err, sizeof err)) fail(err);   // any rate, mono
 *   for (size_t i = 0; i < pt.n; i++) ... pt.phones[i].name, .start_ms, .end_ms ...
 *   mira_phone_track_visemes(&pt, mt.frame_ms, mt.viseme, mt.frames); // replace the guess
 *   mira_phone_track_free(&pt);
 *
 * Recognises CMU phones ("ay", "p", "sil") in English speech with
 * PocketSphinx's en-us model, phone by phone with a phonetic bigram LM: no
 * words and no transcript are needed, but other languages get English
 * phones. Measured on 80 s of flite speech (voices rms, slt, awb, kal16)
 * against flite's exact phone timings, per 10 ms frame: the right phone
 * 67% of the time, the right viseme 73%, where mira_audio_mouth_track's
 * spectral guess gets 28% (tests/unit/test_phones.c prints these). About
 * a quarter of the viseme misses are boundaries within 20 ms; the rest are
 * wrong phones. Synthetic speech flatters any recogniser; expect less on
 * noisy or music-backed uploads. Input under 16 kHz is upsampled, but the
 * model is wideband: the same voice at 8 kHz (flite kal vs kal16) drops
 * from 72% to 60% viseme agreement.
 *
 * Needs Debian package pocketsphinx-en-us (MIRA_PHONES_MODEL_DIR); without
 * it calls return MIRA_ENOTSUP saying so.
 * Ownership: phones belong to the track until mira_phone_track_free.
 * Thread-safety: thread-safe. Each call builds its own decoder (PocketSphinx
 * cannot share a model between decoders; building one takes ~10 ms, the big
 * senone table is mmap'd and shared by the page cache); decoder set-up and
 * teardown are serialised by one internal lock because sphinxbase writes
 * globals there, decoding runs in parallel. The first call switches
 * sphinxbase's process-wide logging off.
 */
#define MIRA_PHONES_MODEL_DIR "/usr/share/pocketsphinx/model/en-us" /* pocketsphinx-en-us */
#define MIRA_PHONES_RATE 16000    /* the en-us acoustic model's sample rate */
#define MIRA_PHONES_FRAME_MS 10   /* PocketSphinx's frame shift: boundaries fall on 10 ms */
#define MIRA_PHONES_MIN_RATE 8000 /* telephone speech; below it there is little left to hear */

typedef struct mira_phone {
  char name[8];              /* lower-case CMU phone ("ay", "hh"); "sil" for silence/noise */
  int32_t start_ms, end_ms;  /* end_ms > start_ms */
} mira_phone;

typedef struct mira_phone_track {
  mira_phone *phones;  /* sorted, contiguous: phones[0].start_ms == 0, each ends where the
                          next starts, the last ends at duration_ms; no two neighbours share
                          a name */
  size_t n;            /* >= 1 after a successful call, 0 if duration_ms is 0 */
  int64_t duration_ms; /* mira_pcm_duration_ms of the input */
} mira_phone_track;

/* Recognises the phones in pcm (mono, MIRA_PHONES_MIN_RATE..768000 Hz, at
 * most MIRA_AUDIO_MAX_SECONDS). Returns 0; MIRA_EINVAL (NULL, empty audio,
 * bad rate), MIRA_ETOOBIG (too long), MIRA_ENOTSUP (model not installed),
 * MIRA_ENOMEM or MIRA_EIO (PocketSphinx failed), with a message in err. On
 * failure *out is zeroed. Speed: ~20x real time on one core. */
int mira_audio_phones(const mira_pcm *pcm, mira_phone_track *out, char *err, size_t errlen);

/* The same with the model in model_dir (holding en-us/ and
 * en-us-phone.lm.bin, laid out as MIRA_PHONES_MODEL_DIR). */
int mira_audio_phones_with_model(const char *model_dir, const mira_pcm *pcm,
                                 mira_phone_track *out, char *err, size_t errlen);

/* Frees the phones and zeroes the track; NULL is fine. */
void mira_phone_track_free(mira_phone_track *t);

/* visemes[i] = mira_viseme_of("flite", phone under the centre of frame i),
 * frame i being [i * frame_ms, (i + 1) * frame_ms); SIL past the end.
 * Writes frames entries into the caller's array (e.g. a mouth track's
 * viseme array, keeping its energy-based opening). Returns 0, or
 * MIRA_EINVAL for a NULL track, frame_ms <= 0 or a NULL array. */
int mira_phone_track_visemes(const mira_phone_track *t, int frame_ms, mira_viseme *visemes,
                             size_t frames);

#endif
