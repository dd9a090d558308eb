/* Video output: an MP4 writer that encodes frames as they are rendered, and
 * WebVTT captions from the speech timeline's word events.
 *
 *   mira_video_params p = mira_video_default_params(640, 480);
 *   p.audio = pcm.samples, p.audio_samples = pcm.n, p.audio_rate = pcm.sample_rate;
 *   mira_video_writer *w;
 *   if (mira_video_open("out.mp4", &p, &w, err, sizeof err)) fail(err);
 *   for (i = 0; i < frames; i++)                     // frames = round(audio_s * fps)
 *     if (render(i, rgb), mira_video_write_frame(w, rgb, 640 * 3, err, sizeof err)) fail(err);
 *   if (mira_video_close(w, err, sizeof err)) fail(err);   // or mira_video_abort(w)
 *
 * The file: H.264 (libx264, yuv420p, profile High, CRF) and AAC-LC (FFmpeg's
 * native encoder, mono) in MP4 with the index ('moov') before the media
 * ('mdat'), so browsers can start playing before the download ends. RGB is
 * converted with BT.709 coefficients to limited ("TV") range, and the stream
 * is tagged so (range, matrix, primaries, transfer). Video pts count frames
 * (1/fps), audio pts count samples and start at 0; the video lasts exactly
 * frames/fps and the audio exactly audio_samples/audio_rate (the AAC
 * encoder's delay and last-frame padding are trimmed by the MP4 edit list;
 * browsers and ffprobe honour both ends, but FFmpeg 5.1's own demuxer only
 * the start, so `ffmpeg -i` decodes up to 1023 samples of silence at the end).
 * Frames are encoded as they come: only x264's lookahead (a few dozen
 * frames) is held, never the whole video. Audio is written as the video
 * reaches it, so the file stays interleaved.
 *
 * Ownership: the writer owns everything it allocates until close/abort,
 * which always free it. params->audio is borrowed until then.
 * Thread-safety: one thread per writer; separate writers run in parallel
 * (no mutable globals: FFmpeg's process-wide log level is set to quiet once,
 * as engines/audio does; libx264 adds its own threads, see params.threads).
 * mira_captions_vtt is thread-safe.
 */
#ifndef MIRA_ENGINES_VIDEO_VIDEO_H
#define MIRA_ENGINES_VIDEO_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#include "engines/speech/speech.h"

#define MIRA_VIDEO_MAX_SIDE 1920               /* 1080p, landscape or portrait */
#define MIRA_VIDEO_MAX_PIXELS (1920 * 1080)
#define MIRA_VIDEO_MIN_SIDE 16                 /* one H.264 macroblock */
#define MIRA_VIDEO_MAX_FPS 60
#define MIRA_VIDEO_DEFAULT_FPS 25
#define MIRA_VIDEO_DEFAULT_CRF 23              /* x264's own default */
#define MIRA_VIDEO_DEFAULT_PRESET "veryfast"
#define MIRA_VIDEO_DEFAULT_AUDIO_BITRATE 128000

typedef struct mira_video_params {
  int w, h;             /* even, MIRA_VIDEO_MIN_SIDE..MIRA_VIDEO_MAX_SIDE, at most MIRA_VIDEO_MAX_PIXELS */
  int fps;              /* 1..MIRA_VIDEO_MAX_FPS */
  int crf;              /* 1..51; 0 = MIRA_VIDEO_DEFAULT_CRF (lossless is not in profile High) */
  const char *preset;   /* x264 preset ("ultrafast".."placebo"); NULL = "veryfast" */
  int threads;          /* x264 threads, 0 = auto (about 1.5 per core) */
  const float *audio;   /* mono PCM -1..1, the whole track; borrowed until close/abort; NULL = no audio */
  size_t audio_samples;
  int audio_rate;       /* a rate AAC supports (8000..96000; 48000 is usual); resample first otherwise */
  int audio_bitrate;    /* bits/s; 0 = MIRA_VIDEO_DEFAULT_AUDIO_BITRATE */
} mira_video_params;

typedef struct mira_video_writer mira_video_writer;

/* 1 if name is an x264 preset ("ultrafast" .. "placebo"). */
int mira_video_preset_valid(const char *name);

/* w x h at MIRA_VIDEO_DEFAULT_FPS, every other field at its default, no audio. */
mira_video_params mira_video_default_params(int w, int h);

/* Creates (or truncates) path and writes the MP4 header.
 * Returns 0 and *out, or MIRA_EINVAL (bad params: the message names the
 * field), MIRA_ENOTSUP (libx264 or the aac encoder missing from this FFmpeg
 * build), MIRA_EIO (cannot create path) or MIRA_ENOMEM; on failure *out is
 * NULL and no file is left behind. */
int mira_video_open(const char *path, const mira_video_params *p, mira_video_writer **out, char *err,
                    size_t errlen);

/* RGB24 -> yuv420p with the writer's colour settings (BT.709, limited
 * range), apart from the writer so that another thread can convert while
 * the encoder works. One converter per thread. yuv: mira_video_yuv_bytes()
 * bytes, the Y, U and V planes packed one after the other. */
typedef struct mira_video_converter mira_video_converter;
int mira_video_converter_new(int w, int h, mira_video_converter **out, char *err, size_t errlen);
void mira_video_converter_free(mira_video_converter *c);
size_t mira_video_yuv_bytes(int w, int h);
void mira_video_convert(mira_video_converter *c, const uint8_t *rgb, int stride, uint8_t *yuv);
/* Appends the next frame given as converted planes; as write_frame. */
int mira_video_write_yuv(mira_video_writer *w, const uint8_t *yuv, char *err, size_t errlen);

/* Appends the next frame: w x h RGB24 pixels, rows `stride` bytes apart
 * (>= w*3), read during the call only. Writes the audio up to this frame's
 * end time. Returns 0; MIRA_EINVAL for a bad stride (nothing written, the
 * writer stays usable); MIRA_EIO or MIRA_ENOMEM when an encoder or the disk
 * fails, after which every call but mira_video_abort fails (MIRA_ESTATE). */
int mira_video_write_frame(mira_video_writer *w, const uint8_t *rgb, int stride, char *err,
                           size_t errlen);

/* Flushes both encoders, writes the remaining audio and the index, moves
 * the index to the front, and frees w (also on failure). Returns 0, or
 * MIRA_EINVAL (no frame was written), MIRA_EIO (encoder or disk error);
 * on failure the partial file is removed. */
int mira_video_close(mira_video_writer *w, char *err, size_t errlen);

/* Frees w and removes the partial file. NULL is fine. */
void mira_video_abort(mira_video_writer *w);

/* Frames written so far. */
int64_t mira_video_frames(const mira_video_writer *w);

/* ---- Captions ------------------------------------------------------------
 *
 * WebVTT from word timings. words: the speech timeline's word events, sorted
 * by start_ms, byte spans into text (valid UTF-8). Punctuation next to a
 * word in text ("Hello," "\"Yes.\"") is shown with it; markup (<...>) and
 * text no word points at are not shown. Cues hold at most 2 lines of at
 * most MIRA_CAPTIONS_LINE_CHARS characters (code points; a longer word is
 * cut between characters) and last at most MIRA_CAPTIONS_MAX_MS (a single
 * longer word excepted). A cue always ends at a pause of
 * MIRA_CAPTIONS_PAUSE_MS or more; when the text goes on, it ends preferably
 * after sentence punctuation (. ! ? ; and their CJK forms), else after a
 * comma, else where it is full. Lines are balanced, breaking after
 * punctuation where that costs little. A cue runs from its first word's
 * start to its last word's end, or to the next cue's start when the gap is
 * under MIRA_CAPTIONS_BRIDGE_MS (less flicker). Text is escaped for VTT
 * (&amp; &lt; &gt;). No words gives "WEBVTT\n\n".
 * Returns 0 and *out (malloc'd, NUL-terminated, caller frees), or
 * MIRA_EINVAL (a span outside text, times negative, reversed or unsorted,
 * text not UTF-8) / MIRA_ENOMEM with *out NULL. Thread-safe. */
#define MIRA_CAPTIONS_LINE_CHARS 42
#define MIRA_CAPTIONS_MAX_MS 5000
#define MIRA_CAPTIONS_BRIDGE_MS 300
#define MIRA_CAPTIONS_PAUSE_MS 700 /* a silence this long always ends a cue */

int mira_captions_vtt(const char *text, const mira_word_event *words, size_t n, char **out, char *err,
                      size_t errlen);

#endif
