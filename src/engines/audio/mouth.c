/* Mouth track from the sound itself: how open the mouth is, and which
 * viseme the spectrum most resembles, once per frame_ms.
 *
 * Opening. Frame RMS in dB is measured against the file's loud level (the
 * 95th percentile of audible frames, so one click cannot set it): the loud
 * level maps to 1, RANGE_DB below it to 0. A noise gate (under GATE_DBFS
 * absolute, or GATE_BELOW_LOUD_DB under the loud level) makes a frame
 * silent: target 0 and SIL. A one-pole smoother opens fast (ATTACK_MS) and
 * closes slower (RELEASE_MS), the way a jaw moves, so the mouth does not
 * flutter on every syllable; values under CLOSED are snapped to 0.
 *
 * Viseme. A Hann-windowed WINDOW_MS slice centred on the frame goes through
 * a small radix-2 FFT, and band energies pick a class. Thresholds were set
 * on espeak-ng's male and female voices sustaining each vowel; this is a
 * guess at mouth shape, not phoneme recognition:
 *   - frication, most energy above FRIC_HZ: weak -> FF (f, v, th are
 *     quiet); centroid above SS_HZ -> SS (s, z hiss highest); else CH.
 *   - f1 (energy centroid of F1_MIN_HZ..F1_MAX_HZ) tracks the jaw. With a
 *     low f1 (close): nothing above MID_MAX_HZ is a nasal murmur (weak ->
 *     PP, lips closed; else NN); a valley between F1 and a high F2 -> IH;
 *     otherwise OU.
 *   - with a higher f1: a strong F2/F3 band -> E; F2 still inside the F1
 *     band (rounded, back) -> OH; otherwise AA.
 * Plosives (PP bursts, DD, KK), TH and RR are too brief or too subtle to
 * tell from one frame's spectrum and are not produced except as above.
 * Deterministic: no state outside the call.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engines/audio/audio.h"

#define MAX_FRAME_MS 1000       /* one value a second is already useless for lips */
#define GATE_DBFS (-55.0)       /* frame RMS: room noise of a quiet recording */
#define GATE_BELOW_LOUD_DB 35.0 /* breaths and reverb tails of a loud recording */
#define RANGE_DB 30.0           /* roughly speech's syllable-to-pause swing */
#define LOUD_PERCENTILE 0.95
#define ATTACK_MS 12.0  /* a jaw opens in one or two video frames... */
#define RELEASE_MS 50.0 /* ...and closes in three or four */
#define CLOSED 0.02f
#define WINDOW_MS 32 /* ~30 Hz bins: resolves F1 of a low voice */
#define MAX_FFT 8192 /* caps the window at very high sample rates */

#define BAND_LOW_HZ 150.0 /* under the first formant of any voice: hum */
#define F1_MIN_HZ 200.0
#define F1_MAX_HZ 1000.0
#define MID_MAX_HZ 1800.0   /* F2 of back vowels stays under ~1 kHz */
#define UPPER_MAX_HZ 3500.0 /* F2/F3 of front vowels */
#define FRIC_HZ 3000.0      /* above most vowel formants: frication noise */
#define BAND_TOP_HZ 11000.0
#define FRIC_RATIO 0.45 /* share of energy above FRIC_HZ */
#define FRIC_WEAK_DB (-22.0)
#define SS_HZ 4800.0
#define CLOSE_F1_HZ 430.0 /* f1 under this: close vowel or nasal murmur */
#define MURMUR_UPPER 0.03 /* upper/F1 band: nothing above 1.8 kHz */
#define MURMUR_WEAK_DB (-14.0)
#define VALLEY_MID 0.05  /* mid/F1 band: the gap between /i/'s F1 and F2 */
#define FRONT_UPPER 0.15 /* upper/F1 band: a strong F2/F3 -> /e/ */
#define BACK_MID 0.10    /* mid/F1 band: F2 under 1 kHz -> /o/ */

typedef struct spectrum {
  int size;            /* FFT length, a power of two */
  double *re, *im;     /* size each */
  double *cos_, *sin_; /* twiddles, size / 2 each: computed once per track */
  double *window;      /* Hann, win samples */
  int win;
} spectrum;

typedef struct features {
  double total;              /* BAND_LOW_HZ..BAND_TOP_HZ */
  double f1band, mid, upper; /* F1_MIN..F1_MAX..MID_MAX..UPPER_MAX */
  double high;               /* FRIC_HZ..BAND_TOP_HZ */
  double centroid, f1;       /* Hz: over total, over the F1 band */
} features;

static int spectrum_init(spectrum *s, int rate) {
  int win = (int)((long)rate * WINDOW_MS / 1000);
  if (win < 8) win = 8;
  int size = 8;
  while (size < win && size < MAX_FFT) size *= 2;
  if (win > size) win = size;
  s->size = size;
  s->win = win;
  s->re = calloc((size_t)size, sizeof(double));
  s->im = calloc((size_t)size, sizeof(double));
  s->cos_ = malloc((size_t)size / 2 * sizeof(double));
  s->sin_ = malloc((size_t)size / 2 * sizeof(double));
  s->window = malloc((size_t)win * sizeof(double));
  if (!s->re || !s->im || !s->cos_ || !s->sin_ || !s->window) return MIRA_ENOMEM;
  for (int i = 0; i < win; i++) s->window[i] = 0.5 - 0.5 * cos(2.0 * M_PI * (i + 0.5) / win);
  for (int k = 0; k < size / 2; k++) {
    s->cos_[k] = cos(2.0 * M_PI * k / size);
    s->sin_[k] = -sin(2.0 * M_PI * k / size);
  }
  return 0;
}

static void spectrum_free(spectrum *s) {
  free(s->re);
  free(s->im);
  free(s->cos_);
  free(s->sin_);
  free(s->window);
}

/* In-place iterative radix-2 FFT of s->re/im (bit reversal, then
 * butterflies; stage len uses every (size / len)-th twiddle). */
static void fft(spectrum *s) {
  int n = s->size;
  double *re = s->re, *im = s->im;
  for (int i = 1, j = 0; i < n; i++) {
    int bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j |= bit;
    if (i < j) {
      double t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  for (int len = 2; len <= n; len <<= 1) {
    int stride = n / len;
    for (int k = 0; k < len / 2; k++) {
      double wr = s->cos_[k * stride], wi = s->sin_[k * stride];
      for (int i = k; i < n; i += len) {
        int j = i + len / 2;
        double xr = re[j] * wr - im[j] * wi, xi = re[j] * wi + im[j] * wr;
        re[j] = re[i] - xr;
        im[j] = im[i] - xi;
        re[i] += xr;
        im[i] += xi;
      }
    }
  }
}

/* Windowed slice of p centred on sample `centre` -> band energies. */
static features analyse(spectrum *s, const mira_pcm *p, size_t centre) {
  long start = (long)centre - s->win / 2;
  for (int i = 0; i < s->size; i++) {
    long k = start + i;
    s->re[i] = i < s->win && k >= 0 && (size_t)k < p->n ? p->samples[k] * s->window[i] : 0.0;
    s->im[i] = 0.0;
  }
  fft(s);
  features f = {0};
  double hz_per_bin = (double)p->sample_rate / s->size, f1_sum = 0, c_sum = 0;
  for (int b = 1; b <= s->size / 2; b++) {
    double hz = b * hz_per_bin, e = s->re[b] * s->re[b] + s->im[b] * s->im[b];
    if (hz < BAND_LOW_HZ || hz > BAND_TOP_HZ) continue;
    f.total += e;
    c_sum += e * hz;
    if (hz >= FRIC_HZ) f.high += e;
    if (hz >= F1_MIN_HZ && hz < F1_MAX_HZ) {
      f.f1band += e;
      f1_sum += e * hz;
    } else if (hz >= F1_MAX_HZ && hz < MID_MAX_HZ) {
      f.mid += e;
    } else if (hz >= MID_MAX_HZ && hz < UPPER_MAX_HZ) {
      f.upper += e;
    }
  }
  f.centroid = f.total > 0 ? c_sum / f.total : 0;
  f.f1 = f.f1band > 0 ? f1_sum / f.f1band : 0;
  return f;
}

/* rel_db: the frame's level against the file's loud level. */
static mira_viseme classify(const features *f, double rel_db) {
  if (f->total <= 0) return MIRA_VISEME_SIL;
  if (f->high / f->total > FRIC_RATIO) {
    if (rel_db < FRIC_WEAK_DB) return MIRA_VISEME_FF;
    return f->centroid >= SS_HZ ? MIRA_VISEME_SS : MIRA_VISEME_CH;
  }
  if (f->f1band <= 0) return MIRA_VISEME_NN; /* energy, but none where vowels have it */
  double mid = f->mid / f->f1band, upper = f->upper / f->f1band;
  if (f->f1 < CLOSE_F1_HZ) {
    if (upper < MURMUR_UPPER) return rel_db < MURMUR_WEAK_DB ? MIRA_VISEME_PP : MIRA_VISEME_NN;
    return mid < VALLEY_MID ? MIRA_VISEME_IH : MIRA_VISEME_OU;
  }
  if (upper > FRONT_UPPER) return MIRA_VISEME_E;
  return mid < BACK_MID ? MIRA_VISEME_OH : MIRA_VISEME_AA;
}

/* Frame i spans [start(i), start(i+1)); exact for rates like 22050 where
 * a frame is not a whole number of samples. */
static size_t frame_start(size_t i, const mira_pcm *p, int frame_ms) {
  return (size_t)(((unsigned long long)i * (unsigned)p->sample_rate * (unsigned)frame_ms) / 1000);
}

/* Mean square of each frame. */
static void frame_power(const mira_pcm *p, int frame_ms, size_t frames, double *ms) {
  for (size_t i = 0; i < frames; i++) {
    size_t a = frame_start(i, p, frame_ms), b = frame_start(i + 1, p, frame_ms);
    if (b > p->n) b = p->n;
    double sum = 0;
    for (size_t k = a; k < b; k++) sum += (double)p->samples[k] * p->samples[k];
    ms[i] = b > a ? sum / (double)(b - a) : 0;
  }
}

static void frame_levels(const mira_pcm *p, int frame_ms, size_t frames, double *db) {
  frame_power(p, frame_ms, frames, db);
  for (size_t i = 0; i < frames; i++) db[i] = db[i] > 0 ? 10.0 * log10(db[i]) : -HUGE_VAL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The loud level: a high percentile of the frames above the absolute gate,
 * or -HUGE_VAL when none is. */
static double loud_level(const double *db, size_t frames, double *scratch) {
  size_t m = 0;
  for (size_t i = 0; i < frames; i++)
    if (db[i] >= GATE_DBFS) scratch[m++] = db[i];
  if (m == 0) return -HUGE_VAL;
  qsort(scratch, m, sizeof *scratch, cmp_double);
  return scratch[(size_t)(LOUD_PERCENTILE * (m - 1))];
}

static void track(const mira_pcm *p, const double *db, double loud, spectrum *s,
                  mira_mouth_track *t) {
  double attack = 1.0 - exp(-t->frame_ms / ATTACK_MS);
  double release = 1.0 - exp(-t->frame_ms / RELEASE_MS);
  double y = 0;
  for (size_t i = 0; i < t->frames; i++) {
    double rel = db[i] - loud;
    int silent = !(db[i] >= GATE_DBFS) || rel < -GATE_BELOW_LOUD_DB;
    double target = silent ? 0.0 : (rel + RANGE_DB) / RANGE_DB;
    target = target < 0 ? 0 : target > 1 ? 1 : target;
    y += (target > y ? attack : release) * (target - y);
    t->open[i] = y < CLOSED ? 0.0f : (float)y;
    if (silent || t->open[i] == 0.0f) {
      t->viseme[i] = MIRA_VISEME_SIL;
      continue;
    }
    size_t a = frame_start(i, p, t->frame_ms), b = frame_start(i + 1, p, t->frame_ms);
    features f = analyse(s, p, (a + b) / 2);
    t->viseme[i] = classify(&f, rel);
  }
}

static int bad_args(const mira_pcm *p, int frame_ms) {
  return !p || (!p->samples && p->n) || p->sample_rate <= 0 || frame_ms <= 0 || frame_ms > MAX_FRAME_MS;
}

size_t mira_audio_frames(const mira_pcm *p, int frame_ms) {
  if (bad_args(p, frame_ms)) return 0;
  unsigned long long per = (unsigned long long)p->sample_rate * (unsigned)frame_ms; /* x1000 */
  return (size_t)(((unsigned long long)p->n * 1000 + per - 1) / per);
}

int mira_audio_envelope(const mira_pcm *p, int frame_ms, float *out, size_t frames, char *err, size_t errlen) {
  if (bad_args(p, frame_ms) || (!out && frames))
    return mira_err(err, errlen, MIRA_EINVAL, "mira_audio_envelope: bad arguments");
  double *rms = malloc((frames ? frames : 1) * 2 * sizeof(double)), *sorted = rms + frames;
  if (!rms) return mira_err(err, errlen, MIRA_ENOMEM, "out of memory for a %zu-frame envelope", frames);
  frame_power(p, frame_ms, frames, rms);
  for (size_t i = 0; i < frames; i++) sorted[i] = rms[i] = sqrt(rms[i]);
  qsort(sorted, frames, sizeof *sorted, cmp_double);
  double loud = frames ? sorted[frames * 95 / 100] : 0;
  for (size_t i = 0; i < frames; i++) out[i] = loud > 0 ? (float)fmin(1.0, rms[i] / loud) : 0.0f;
  free(rms);
  return 0;
}

int mira_audio_mouth_track(const mira_pcm *p, int frame_ms, mira_mouth_track *out, char *err,
                           size_t errlen) {
  if (out) memset(out, 0, sizeof *out);
  if (!out || bad_args(p, frame_ms))
    return mira_err(err, errlen, MIRA_EINVAL, "mira_audio_mouth_track: bad arguments");
  size_t frames = mira_audio_frames(p, frame_ms);
  mira_mouth_track t = {.frames = frames, .frame_ms = frame_ms};
  double *db = malloc((frames ? frames : 1) * 2 * sizeof(double));
  t.open = calloc(frames ? frames : 1, sizeof *t.open);
  t.viseme = calloc(frames ? frames : 1, sizeof *t.viseme);
  spectrum s = {0};
  int ret = !db || !t.open || !t.viseme ? MIRA_ENOMEM : spectrum_init(&s, p->sample_rate);
  if (!ret) {
    frame_levels(p, frame_ms, frames, db);
    track(p, db, loud_level(db, frames, db + frames), &s, &t);
    *out = t;
  } else {
    mira_mouth_track_free(&t);
    ret = mira_err(err, errlen, MIRA_ENOMEM, "out of memory for a %zu-frame mouth track", frames);
  }
  spectrum_free(&s);
  free(db);
  return ret;
}

void mira_mouth_track_free(mira_mouth_track *t) {
  if (!t) return;
  free(t->open);
  free(t->viseme);
  memset(t, 0, sizeof *t);
}
