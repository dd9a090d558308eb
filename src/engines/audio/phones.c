/* Phone recognition for English speech: PocketSphinx 5prealpha (Debian 12's
 * libpocketsphinx3) in allphone mode, with the en-us acoustic model and its
 * phonetic bigram LM from pocketsphinx-en-us. No words, no dictionary: the
 * search runs over phone HMMs with the phone LM as the only constraint, and
 * the backtrace gives one {phone, first frame, last frame} per segment.
 *
 * Settings (measured on flite speech with exact phone timings, see
 * tests/unit/test_phones.c and the figures in audio.h):
 *   -allphone_ci yes   context-independent phones. The triphone network
 *                      (137k phones) decodes at 0.6x real time for +1 point
 *                      of phone agreement; CI runs at ~20x.
 *   -remove_silence no the VAD otherwise drops non-speech frames from the
 *                      feature stream, and frame numbers stop being time:
 *                      every segment after a pause comes out early.
 *   -beam/-pbeam 1e-20, -lw 2.0: CMU's suggested allphone values. lw 0.5..2
 *                      and beams 1e-20..1e-48 are within a point of each
 *                      other; lw 3 loses 3 points, lw 5 21; beam 1e-10 2.
 *   no -backtrace      it only prints the segments to the log, which is off.
 *
 * Input goes to 16 kHz int16 first: libswresample (already linked for
 * decoding) resamples float to float, then we round and clip to int16
 * with +-1 LSB dither (see to_s16). 16 kHz input skips the resampler.
 *
 * Long audio is cut into utterances of at most UTT_MAX_MS, each cut at the
 * quietest 10 ms frame in the last CUT_SEARCH_MS of the window, so that
 * search memory (~40 history entries a frame) stays bounded and a cut lands
 * in a pause rather than mid-phone where it can. Batch CMN is per utterance.
 *
 * Threading. A ps_decoder_t is single-threaded, and 5prealpha has no public
 * way to share an acoustic model between decoders, so each call builds its
 * own (about 10 ms warm: the senone table is mmap'd, so the page cache holds
 * one copy for all decoders). ps_init is not thread-safe: sphinxbase's mel
 * filter setup writes static globals (fe_warp_inverse_linear.c: params,
 * nyquist_frequency, p_str via strtok), so ps_init and ps_free run under
 * init_lock; decoding itself runs in parallel. sphinxbase logs through one
 * process-wide sink, which we switch off once (err_set_logfp(NULL)).
 *
 * Known limit: sphinxbase's E_FATAL exits the process; allocation failure
 * inside PocketSphinx (ckd_calloc) goes there, as may some corrupt model
 * files. The Debian model is checked for, not validated.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include "core/error.h"
#include "core/grow.h"
#include "engines/audio/audio.h"

#define HMM_SUBDIR "en-us"                 /* acoustic model under the model dir */
#define PHONE_LM "en-us-phone.lm.bin"      /* phonetic bigram LM */
#define MAX_RATE 768000                    /* as decode.c: highest rate FFmpeg reports */
#define FRAME_SAMPLES (MIRA_PHONES_RATE / 1000 * MIRA_PHONES_FRAME_MS)
#define UTT_MAX_MS 30000                   /* bounds search memory per utterance */
#define CUT_SEARCH_MS 5000                 /* look this far back for a quiet cut */
#define RESAMPLE_BLOCK (1 << 20)           /* input samples per swr_convert call */
#define SIL "sil"
#define DITHER_SEED 0x9e3779b9u            /* any non-zero xorshift state */
#define NAME_SIZE sizeof(((mira_phone *)0)->name)

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void quiet_log(void) { err_set_logfp(NULL); }

/* ---- input: any rate float -> 16 kHz int16 ---------------------------- */

/* Float -> int16 with TPDF dither of +-1 LSB. Digital silence (exact zeros)
 * otherwise becomes identical frames that batch CMN turns into zero
 * cepstra, which the models read as "s"; a -90 dBFS noise floor reads as
 * silence. The generator is per call and fixed-seeded, so results are
 * repeatable and threads share nothing (PocketSphinx's own -dither uses a
 * global RNG). */
typedef struct dither {
  uint32_t state;
} dither;

static float uniform(dither *d) { /* xorshift32 -> [0, 1) */
  d->state ^= d->state << 13;
  d->state ^= d->state >> 17;
  d->state ^= d->state << 5;
  return (float)(d->state >> 8) * (1.0f / 16777216.0f);
}

static int16_t to_s16(float x, dither *d) {
  float noise = uniform(d) + uniform(d) - 1.0f;
  if (!isfinite(x)) x = 0;
  float s = x * 32768.0f + noise;
  return (int16_t)(s >= 32767.0f ? 32767 : s <= -32768.0f ? -32768 : lrintf(s));
}

/* Resamples p to MIRA_PHONES_RATE; *out is malloc'd (*n samples). */
static int to_16k(const mira_pcm *p, int16_t **out, size_t *n, char *err, size_t errlen) {
  dither d = {DITHER_SEED};
  if (p->sample_rate == MIRA_PHONES_RATE) {
    int16_t *s = malloc(p->n * sizeof *s);
    if (!s) return mira_err(err, errlen, MIRA_ENOMEM, "out of memory for %zu samples", p->n);
    for (size_t i = 0; i < p->n; i++) s[i] = to_s16(p->samples[i], &d);
    *out = s;
    *n = p->n;
    return 0;
  }
  SwrContext *swr = NULL;
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  int ret = swr_alloc_set_opts2(&swr, &mono, AV_SAMPLE_FMT_FLT, MIRA_PHONES_RATE, &mono,
                                AV_SAMPLE_FMT_FLT, p->sample_rate, 0, NULL);
  if (ret >= 0) ret = swr_init(swr);
  /* Expected length plus the resampler's tail (a filter's worth). */
  size_t cap = (size_t)((double)p->n * MIRA_PHONES_RATE / p->sample_rate) + 4096, got = 0;
  float *f = ret >= 0 ? malloc(cap * sizeof *f) : NULL;
  for (size_t at = 0; ret >= 0 && f;) {
    size_t count = p->n - at < RESAMPLE_BLOCK ? p->n - at : RESAMPLE_BLOCK;
    const uint8_t *in = (const uint8_t *)(p->samples + at);
    uint8_t *dst = (uint8_t *)(f + got);
    /* count == 0 on the last pass: flush the resampler's buffered tail. */
    ret = swr_convert(swr, &dst, (int)(cap - got), count ? &in : NULL, (int)count);
    if (ret >= 0) got += (size_t)ret;
    if (!count) break;
    at += count;
  }
  swr_free(&swr);
  int16_t *s = ret >= 0 && f ? malloc((got ? got : 1) * sizeof *s) : NULL;
  if (!s) {
    free(f);
    return ret < 0 && ret != AVERROR(ENOMEM)
               ? mira_err(err, errlen, MIRA_EIO, "cannot resample %d Hz to %d Hz: %s",
                          p->sample_rate, MIRA_PHONES_RATE, av_err2str(ret))
               : mira_err(err, errlen, MIRA_ENOMEM, "out of memory resampling %zu samples", p->n);
  }
  for (size_t i = 0; i < got; i++) s[i] = to_s16(f[i], &d);
  free(f);
  *out = s;
  *n = got;
  return 0;
}

/* ---- the decoder ------------------------------------------------------- */

static int file_ok(const char *dir, const char *name, char *path, size_t len) {
  return snprintf(path, len, "%s/%s", dir, name) < (int)len && access(path, R_OK) == 0;
}

static int open_decoder(const char *model_dir, ps_decoder_t **out, char *err, size_t errlen) {
  char hmm[1024], lm[1024], mdef[1024];
  if (!file_ok(model_dir, HMM_SUBDIR "/mdef", mdef, sizeof mdef) ||
      !file_ok(model_dir, HMM_SUBDIR, hmm, sizeof hmm) ||
      !file_ok(model_dir, PHONE_LM, lm, sizeof lm))
    return mira_err(err, errlen, MIRA_ENOTSUP,
                    "phone recognition needs the PocketSphinx en-us model in %s: install Debian "
                    "package pocketsphinx-en-us",
                    model_dir);
  pthread_once(&quiet_once, quiet_log);
  pthread_mutex_lock(&init_lock);
  cmd_ln_t *cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-allphone", lm,
                              "-allphone_ci", "yes", "-beam", "1e-20",
                              "-pbeam", "1e-20", "-lw", "2.0", "-remove_silence", "no", NULL);
  ps_decoder_t *ps = cfg ? ps_init(cfg) : NULL;
  cmd_ln_free_r(cfg); /* the decoder holds its own reference */
  pthread_mutex_unlock(&init_lock);
  if (!ps)
    return mira_err(err, errlen, MIRA_EIO, "PocketSphinx could not load the model in %s",
                    model_dir);
  *out = ps;
  return 0;
}

/* 5prealpha's allphone_search_free forgets the last utterance's segment
 * list (~40 bytes a phone; LeakSanitizer finds it). An empty utterance makes
 * the search clear it: its backtrace frees the old list and finds nothing. */
static void close_decoder(ps_decoder_t *ps) {
  if (ps_start_utt(ps) == 0) ps_end_utt(ps);
  pthread_mutex_lock(&init_lock);
  ps_free(ps);
  pthread_mutex_unlock(&init_lock);
}

/* ---- the track --------------------------------------------------------- */

typedef struct builder {
  mira_phone *v;
  size_t n, cap;
} builder;

/* PocketSphinx names ("AY", "SIL", "+NSN+") -> lower-case CMU, SIL for
 * silence and the noise fillers (a mouth making noise is not speaking). */
static void phone_name(const char *ps_name, char out[NAME_SIZE]) {
  size_t size = NAME_SIZE, i = 0;
  if (!ps_name || !*ps_name || ps_name[0] == '+' || strcasecmp(ps_name, "sil") == 0) {
    snprintf(out, size, SIL);
    return;
  }
  for (; ps_name[i] && i + 1 < size; i++)
    out[i] = (char)(ps_name[i] >= 'A' && ps_name[i] <= 'Z' ? ps_name[i] + 32 : ps_name[i]);
  out[i] = 0;
}

/* Appends a segment starting at start_ms; the previous one ends there.
 * Same-name neighbours merge, and a start that is not after the previous
 * start replaces that segment (zero length). */
static int push(builder *b, const char *ps_name, int64_t start_ms) {
  char name[NAME_SIZE];
  phone_name(ps_name, name);
  if (b->n && start_ms <= b->v[b->n - 1].start_ms) b->n--;
  if (b->n && strcmp(b->v[b->n - 1].name, name) == 0) return 0;
  if (mira_grow((void **)&b->v, &b->cap, b->n + 1, sizeof *b->v, 256)) return MIRA_ENOMEM;
  mira_phone *ph = &b->v[b->n++];
  memcpy(ph->name, name, sizeof name);
  ph->start_ms = (int32_t)start_ms;
  ph->end_ms = (int32_t)start_ms;
  return 0;
}

/* Decodes s[from, to) as one utterance; from is a multiple of FRAME_SAMPLES. */
static int decode_utt(ps_decoder_t *ps, const int16_t *s, size_t from, size_t to, builder *b,
                      char *err, size_t errlen) {
  int64_t base_ms = (int64_t)(from / FRAME_SAMPLES) * MIRA_PHONES_FRAME_MS;
  if (ps_start_utt(ps) < 0 || ps_process_raw(ps, s + from, to - from, FALSE, TRUE) < 0 ||
      ps_end_utt(ps) < 0)
    return mira_err(err, errlen, MIRA_EIO, "PocketSphinx failed on the audio at %.2f s",
                    base_ms / 1000.0);
  for (ps_seg_t *seg = ps_seg_iter(ps); seg; seg = ps_seg_next(seg)) {
    int sf, ef;
    ps_seg_frames(seg, &sf, &ef);
    if (push(b, ps_seg_word(seg), base_ms + (int64_t)sf * MIRA_PHONES_FRAME_MS)) {
      ps_seg_free(seg);
      return mira_err(err, errlen, MIRA_ENOMEM, "out of memory for the phone track");
    }
  }
  return 0;
}

/* Where the utterance starting at `from` ends: all of it if short enough,
 * else the start of the quietest frame in the window's last CUT_SEARCH_MS. */
static size_t cut_point(const int16_t *s, size_t n, size_t from) {
  size_t max = (size_t)UTT_MAX_MS * (MIRA_PHONES_RATE / 1000);
  if (n - from <= max) return n;
  size_t best = from + max, lo = from + max - (size_t)CUT_SEARCH_MS * (MIRA_PHONES_RATE / 1000);
  double best_e = HUGE_VAL;
  for (size_t f = lo; f + FRAME_SAMPLES <= from + max; f += FRAME_SAMPLES) {
    double e = 0;
    for (size_t k = f; k < f + FRAME_SAMPLES; k++) e += (double)s[k] * s[k];
    if (e < best_e) {
      best_e = e;
      best = f;
    }
  }
  return best;
}

int mira_audio_phones_with_model(const char *model_dir, const mira_pcm *pcm,
                                 mira_phone_track *out, char *err, size_t errlen) {
  if (out) memset(out, 0, sizeof *out);
  if (!model_dir || !pcm || !out || (!pcm->samples && pcm->n))
    return mira_err(err, errlen, MIRA_EINVAL, "mira_audio_phones: bad arguments");
  if (pcm->n == 0) return mira_err(err, errlen, MIRA_EINVAL, "mira_audio_phones: empty audio");
  if (pcm->sample_rate < MIRA_PHONES_MIN_RATE || pcm->sample_rate > MAX_RATE)
    return mira_err(err, errlen, MIRA_EINVAL,
                    "mira_audio_phones: sample rate %d Hz is outside %d..%d Hz", pcm->sample_rate,
                    MIRA_PHONES_MIN_RATE, MAX_RATE);
  if ((uint64_t)pcm->n > (uint64_t)MIRA_AUDIO_MAX_SECONDS * (uint64_t)pcm->sample_rate)
    return mira_err(err, errlen, MIRA_ETOOBIG, "mira_audio_phones: audio longer than %d s",
                    MIRA_AUDIO_MAX_SECONDS);
  int64_t duration_ms = mira_pcm_duration_ms(pcm);
  ps_decoder_t *ps = NULL;
  int16_t *s = NULL;
  size_t n = 0;
  builder b = {0};
  int rc = open_decoder(model_dir, &ps, err, errlen);
  if (!rc) rc = to_16k(pcm, &s, &n, err, errlen);
  for (size_t from = 0; !rc && from < n;) {
    size_t to = cut_point(s, n, from);
    rc = decode_utt(ps, s, from, to, &b, err, errlen);
    from = to;
  }
  /* Nothing recognised (audio shorter than one analysis window): silence. */
  if (!rc && !b.n && push(&b, SIL, 0))
    rc = mira_err(err, errlen, MIRA_ENOMEM, "out of memory for the phone track");
  if (ps) close_decoder(ps);
  free(s);
  if (rc) {
    free(b.v);
    return rc;
  }
  /* Contiguous over [0, duration]: each segment ends where the next starts. */
  b.v[0].start_ms = 0;
  size_t m = 0;
  for (size_t i = 0; i < b.n && b.v[i].start_ms < duration_ms; i++) m = i + 1;
  for (size_t i = 0; i < m; i++)
    b.v[i].end_ms = i + 1 < m ? b.v[i + 1].start_ms : (int32_t)duration_ms;
  out->phones = b.v;
  out->n = m;
  out->duration_ms = duration_ms;
  return 0;
}

int mira_audio_phones(const mira_pcm *pcm, mira_phone_track *out, char *err, size_t errlen) {
  return mira_audio_phones_with_model(MIRA_PHONES_MODEL_DIR, pcm, out, err, errlen);
}

void mira_phone_track_free(mira_phone_track *t) {
  if (!t) return;
  free(t->phones);
  memset(t, 0, sizeof *t);
}

int mira_phone_track_visemes(const mira_phone_track *t, int frame_ms, mira_viseme *visemes,
                             size_t frames) {
  if (!t || frame_ms <= 0 || (!visemes && frames))
    return MIRA_EINVAL;
  size_t k = 0;
  for (size_t i = 0; i < frames; i++) {
    /* The phone under the frame's centre, in half-milliseconds. */
    int64_t centre2 = (int64_t)i * frame_ms * 2 + frame_ms;
    while (k < t->n && (int64_t)t->phones[k].end_ms * 2 <= centre2) k++;
    visemes[i] = k < t->n && (int64_t)t->phones[k].start_ms * 2 <= centre2
                     ? mira_viseme_of("flite", t->phones[k].name)
                     : MIRA_VISEME_SIL;
  }
  return 0;
}
