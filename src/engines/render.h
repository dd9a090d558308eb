/* A talking-avatar video from a script or an audio track: the composition of
 * the speech, audio, animate and video engines that the video job and
 * `mira render` share.
 *
 *   mira_render_req q = {.text = "Hello.", .voice = &v, .rig = &rig, .image_path = photo,
 *                        .tmp_dir = "/tmp", .out_mp4 = "a.mp4", .out_thumb = "a.jpg", .out_vtt = "a.vtt"};
 *   mira_render_result res;
 *   if (mira_render_video(&q, &res, err, sizeof err)) fail(err);
 *
 * Stages: speech (or decode + loudness-normalise the upload) -> 48 kHz PCM;
 * a 10 ms mouth track (loudness from the sound, visemes from the script's
 * phonemes or from phone recognition of the upload) -> one pose per frame ->
 * render each frame and hand it to the encoder at once (frames are never
 * held) -> MP4 (H.264 + AAC, faststart), a JPEG thumbnail, WebVTT captions
 * from the word timings (a script only; an upload has no words).
 * Progress: 0-10 audio, 10-15 analysis, 15-99 frame by frame.
 * Thread-safety: thread-safe; each call has its own renderer and encoder.
 */
#ifndef MIRA_ENGINES_RENDER_H
#define MIRA_ENGINES_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "engines/animate/rig.h"
#include "engines/audio/audio.h"
#include "engines/speech/speech.h"

typedef struct mira_render_req {
  const char *text;             /* a script (with voice), or NULL and audio_path */
  const mira_tts_voice *voice;
  const char *audio_path;       /* an uploaded audio track */
  const mira_rig *rig;
  const char *image_path;       /* the photo, for photo rigs */
  int full;                     /* im2vid_full: animate the whole frame */
  uint64_t seed;                /* idle motion */
  const char *preset;           /* x264 preset; NULL: "veryfast" */
  int crf;                      /* 0: 23 */
  const char *tmp_dir;          /* intermediate files */
  const char *out_mp4;
  const char *out_thumb;        /* JPEG; NULL: none */
  const char *out_vtt;          /* WebVTT; NULL: none. Written only for a script. */
  void (*progress)(void *ctx, int percent);
  int (*should_stop)(void *ctx); /* non-zero: stop with MIRA_EBUSY */
  void *ctx;
} mira_render_req;

typedef struct mira_render_result {
  int64_t duration_ms;   /* the audio's; the video has round(duration * 25) frames */
  size_t frames;
  int w, h;
  int wrote_vtt;         /* 1 if out_vtt was written */
  double audio_s, render_s, encode_s; /* wall time per stage */
} mira_render_result;

#define MIRA_RENDER_AUDIO_RATE 48000

int mira_render_video(const mira_render_req *q, mira_render_result *res, char *err, size_t errlen);

/* The stages before the frames, for tests and tools that draw the frames
 * themselves: the audio, its analysis and one pose per frame. Reads text,
 * voice, audio_path, full, seed, tmp_dir of q. */
typedef struct mira_render_plan {
  mira_pcm pcm;          /* 48 kHz mono, loudness-normalised */
  mira_speech sp;        /* a script's speech (phonemes, words); zeroed for an upload */
  mira_mouth_track mt;   /* 10 ms: visemes; `open` holds the loudness (mira_audio_envelope) */
  mira_anim_pose *poses; /* one per frame */
  size_t frames;
} mira_render_plan;

int mira_render_prepare(const mira_render_req *q, mira_render_plan *p, char *err, size_t errlen);
void mira_render_plan_free(mira_render_plan *p);

#endif
