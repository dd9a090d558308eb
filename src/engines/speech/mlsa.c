/* Clustergen vocoder: F0 + mel-cepstra + band strengths -> PCM. See mlsa.h.
 *
 * The signal path, as in flite 2.2: per sample, a pulse train (voiced
 * frames) and +-1 noise are each shaped by an FIR filter (the voice's
 * band-pass filters weighted by the frame's band strengths), summed, scaled
 * by the gain exp(b[0]), and filtered by the MLSA filter exp(F(z)), F built
 * from the mel-cepstrum with frequency warping alpha. exp() is a 5th-order
 * Pade approximation: a section for the first-order term b[1] and one for
 * the rest, each with 5 stages in feedback. Coefficients are interpolated
 * linearly per sample between frames; a postfilter sharpens formants.
 *
 * Why ours is faster than flite's:
 * - Within one sample the 5 Pade stages of a section are independent: stage
 *   i filters stage i-1's output of the previous sample. So one vector lane
 *   per stage: the all-pass chain (serial, order m) runs once per sample for
 *   all stages instead of 5 times.
 * - The shaping filters are folded per frame, not per sample; the noise is
 *   shaped a frame at a time, vectorised over samples; pulses, one per pitch
 *   period, each add their taps.
 * - The postfilter's energy terms take a matrix built once per call instead
 *   of a warping recurrence per frame, and a vectorised impulse response.
 * Vectors are two doubles (SSE2, NEON), which GCC keeps in registers on
 * any x86-64 (4-lane ones would live on the stack without AVX); CPUs with
 * AVX2 and FMA get a build of the per-frame code that uses FMA.
 * Arithmetic is double, like flite's, so output differs from flite's only
 * by rounding (summation order, FMA), which the truncation to 16 bits
 * almost always hides: tests/unit/test_mlsa.c finds it bit-identical.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "engines/speech/mlsa.h"

#include "core/error.h"

#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum {
  MAX_ORDER = 64,   /* mel-cepstral order we handle (flite's voices: 25) */
  MAX_BANDS = 16,   /* mixed-excitation bands (flite's voices: 5) */
  MAX_TAPS = 512,   /* taps per band filter (flite's voices: 48) */
  MAX_FRAME = 8192, /* samples per frame (flite's voices: 80) */
  IR_LEN = 64,      /* impulse response the postfilter measures (flite's irleng) */
  BLOCK = 8,        /* noise samples shaped at once: 4 pairs (IR_LEN is a multiple) */
  PAD = MAX_ORDER + 2, /* b[0..m] and a 0, in whole pairs */
};

typedef double pair __attribute__((vector_size(2 * sizeof(double))));

/* One value per Pade stage: stages 1-2, 3-4, then 5 and a lane that stays 0. */
typedef struct stages {
  pair s12, s34, s5;
} stages;

/* Pade coefficients of exp() per stage; odd stages feed back with +, even
 * ones with -. */
static const stages pade = {{0.4999391, 0.1107098}, {0.01369984, 0.0009564853}, {0.00003041721}};
static const stages pade_feedback = {{0.4999391, -0.1107098}, {0.01369984, -0.0009564853},
                                     {0.00003041721}};

typedef struct mlsa_filter {
  stages feed1, delay1;    /* first-order section: stage inputs, delays */
  stages feed2;            /* all-pass section: stage inputs */
  stages chain[MAX_ORDER]; /* all-pass chain of the previous sample; [0] unused */
} mlsa_filter;

typedef struct vocoder {
  mlsa_filter f;
  /* fixed per call */
  int m;      /* filter order; b[m] is always 0 (flite appends a 0 mcep) */
  int framel; /* samples per frame */
  int taps;   /* shaping filter length: ME_order + 1 (see fold_bands) */
  double alpha, fs, gain;
  float alpha_f, beta_f; /* flite does part of the postfilter in float */
  const cst_cg_db *db;
  double *warp;          /* IR_LEN x (m + 1), column-major: b -> cepstrum */
  double *pulse, *noise; /* taps - 1 samples of history, then the frame */
  double *exc;           /* the frame's shaped excitation */
  /* per frame */
  double b[PAD], binc[PAD]; /* filter coefficients, their per-sample step */
  double pulse_taps[MAX_TAPS + 1], noise_taps[MAX_TAPS + 1];
  double period, phase; /* pitch period in samples (< 0 before the first frame), pulse phase */
} vocoder;

static __thread unsigned long thread_calls;
static __thread int thread_portable;

unsigned long mira_mlsa_thread_calls(void) { return thread_calls; }

void mira_mlsa_thread_portable(int on) { thread_portable = on; }

/* ---- flite's own vocoder, for what we do not handle ----
 * RTLD_NEXT finds the next definition after this executable's, which is
 * libflite's, without naming the library (2.2's soname is libflite.so.1). */

static mira_mlsa_fn flite_fn;
static pthread_once_t flite_once = PTHREAD_ONCE_INIT;

static void find_flite(void) {
  void *sym = dlsym(RTLD_NEXT, "mlsa_resynthesis");
  mira_mlsa_fn fn;
  memcpy(&fn, &sym, sizeof fn); /* POSIX: a data pointer can hold a function's */
  if (fn != mlsa_resynthesis)   /* never ourselves: that would recurse */
    flite_fn = fn;
}

mira_mlsa_fn mira_mlsa_flite(void) {
  pthread_once(&flite_once, find_flite);
  return flite_fn;
}

int mira_mlsa_init(void) { return mira_mlsa_flite() ? 0 : MIRA_ENOTSUP; }

/* ---- shape of the call ---- */

/* flite drops mlsa_speed_param high coefficients when enough remain. */
static int filter_order(const cst_track *params, int speed) {
  int m = params->num_channels - 1;
  return m > speed && m - speed > 4 ? m - speed : m;
}

static int frame_length(const cst_track *params, const cst_cg_db *db) {
  double shift_ms = params->num_frames > 1 ? 1000.0 * (params->times[1] - params->times[0]) : 5.0;
  double n = 0.5 + shift_ms * db->sample_rate / 1000.0;
  return n >= 1 && n <= MAX_FRAME ? (int)n : 0;
}

static int supported(const cst_track *params, const cst_track *str, const cst_cg_db *db, int m,
                     int framel) {
  return str && db->me_h && db->sample_rate > 0 && framel > 0 && m >= 2 && m < MAX_ORDER &&
         db->ME_num >= 1 && db->ME_num <= MAX_BANDS && db->ME_order >= 1 &&
         db->ME_order < MAX_TAPS && str->num_channels >= db->ME_num &&
         str->num_frames >= params->num_frames && params->num_frames < INT_MAX / framel;
}

/* ---- setup ---- */

/* Frequency warping (flite's freqt) of the unit cepstrum e_k to IR_LEN
 * coefficients with parameter w: a column of the warp matrix. */
static void warp_unit(double w, int k, double *g) {
  double prev[IR_LEN];
  memset(g, 0, IR_LEN * sizeof *g);
  for (int i = k; i >= 0; i--) {
    memcpy(prev, g, sizeof prev);
    g[0] = (i == k) + w * prev[0];
    g[1] = (1 - w * w) * prev[0] + w * prev[1];
    for (int j = 2; j < IR_LEN; j++)
      g[j] = prev[j - 1] + w * (prev[j] - g[j - 1]);
  }
}

/* The postfilter measures the energy of the filter's impulse response:
 * b -> mel-cepstrum (mc[k] = b[k] + alpha b[k+1]) -> cepstrum (warping by
 * -alpha). Both are linear, so one matrix per call replaces flite's
 * (m + 1) x IR_LEN recurrence per energy. */
static void build_warp(vocoder *v) {
  for (int k = 0; k <= v->m; k++)
    warp_unit(-v->alpha, k, v->warp + (size_t)k * IR_LEN);
  for (int k = v->m; k >= 1; k--)
    for (int i = 0; i < IR_LEN; i++)
      v->warp[(size_t)k * IR_LEN + i] += v->alpha * v->warp[(size_t)(k - 1) * IR_LEN + i];
}

static vocoder *vocoder_new(const cst_cg_db *db, int m, int framel) {
  vocoder *v = calloc(1, sizeof *v);
  size_t hist = (size_t)db->ME_order, frame = ((size_t)framel + BLOCK - 1) / BLOCK * BLOCK;
  size_t warp = (size_t)IR_LEN * (m + 1);
  if (v)
    v->warp = calloc(warp + 2 * (hist + frame) + frame, sizeof(double));
  if (!v || !v->warp) {
    free(v);
    return NULL;
  }
  v->db = db;
  v->m = m;
  v->framel = framel;
  v->taps = db->ME_order + 1;
  v->alpha_f = db->mlsa_alpha;
  v->beta_f = db->mlsa_beta;
  v->alpha = db->mlsa_alpha;
  v->fs = db->sample_rate;
  /* flite: 8 kHz voices are too quiet, so they get 2 whatever their gain */
  v->gain = db->sample_rate == 8000 ? 2.0 : db->gain != 0.0f ? db->gain : 1.0f;
  v->period = -1;
  v->pulse = v->warp + warp;
  v->noise = v->pulse + hist + frame;
  v->exc = v->noise + hist + frame;
  build_warp(v);
  return v;
}

static void vocoder_free(vocoder *v) {
  if (v)
    free(v->warp);
  free(v);
}

/* ---- per frame: coefficients and excitation ----
 * All of it is inlined into render_frame, so each of its builds (see
 * render_fma) compiles it for its CPU. */

#define INLINE static inline __attribute__((always_inline))

INLINE pair loadp(const double *p) {
  pair q;
  memcpy(&q, p, sizeof q);
  return q;
}

INLINE void storep(double *p, pair q) { memcpy(p, &q, sizeof q); }

/* The cepstra of b and of its postfiltered post, side by side:
 * c[i] = {cep(b)[i], cep(post)[i]}. post differs from b only in post[0..1]
 * and post[k] = (1 + beta) b[k] for k >= 2, so the long sum over k >= 2 is
 * shared. */
INLINE void cepstra(const vocoder *v, const double *b, const double *post, pair *c) {
  double tail[IR_LEN];
  for (int i = 0; i < IR_LEN; i += 8) { /* 4 independent sums over k */
    const double *w = v->warp + i;
    pair t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};
    for (int k = 2; k <= v->m; k++) {
      const double *wk = w + (size_t)k * IR_LEN;
      t0 += b[k] * loadp(wk);
      t1 += b[k] * loadp(wk + 2);
      t2 += b[k] * loadp(wk + 4);
      t3 += b[k] * loadp(wk + 6);
    }
    storep(tail + i, t0);
    storep(tail + i + 2, t1);
    storep(tail + i + 4, t2);
    storep(tail + i + 6, t3);
  }
  const double *w0 = v->warp, *w1 = v->warp + IR_LEN;
  pair b0 = {b[0], post[0]}, b1 = {b[1], post[1]}, sharpen = {1.0, 1.0 + v->beta_f};
  for (int i = 0; i < IR_LEN; i++)
    c[i] = w0[i] * b0 + w1[i] * b1 + tail[i] * sharpen;
}

/* Energies of the minimum-phase impulse responses (IR_LEN samples) of the
 * cepstra of b and post, side by side: h[0] = exp(c[0]),
 * h[n] = sum_{k=1..n} k c[k] h[n-k] / n. Each h[n-1], once known, is added
 * into all later sums at once (independent, so vectorised) rather than
 * each sum gathered in turn; sum[n], needed next, is finished first, so
 * the serial part is one FMA and one multiply per n. */
INLINE void ir_energies(const vocoder *v, const double *b, const double *post, double e[2]) {
  pair c[IR_LEN], sum[IR_LEN] = {{0}};
  cepstra(v, b, post, c);
  for (int k = 1; k < IR_LEN; k++)
    c[k] *= (double)k;
  pair h = {exp(c[0][0]), exp(c[0][1])}, energy = h * h;
  for (int n = 1; n < IR_LEN; n++) {
    pair last = h; /* h[n-1] */
    h = (sum[n] + c[1] * last) * (1.0 / n);
    for (int i = n + 1; i < IR_LEN; i++)
      sum[i] += c[i - n + 1] * last;
    energy += h * h;
  }
  e[0] = energy[0];
  e[1] = energy[1];
}

/* flite's postfilter: sharpen formants (b[k] * (1 + beta) for k >= 2, and
 * a correction of b[1]), then restore the energy through b[0]. The float
 * product is flite's. */
INLINE void postfilter(const vocoder *v, const double *mc, double *b) {
  double post[PAD], e[2];
  memcpy(post, b, sizeof post);
  post[1] -= (double)(v->beta_f * v->alpha_f) * mc[2];
  for (int k = 2; k <= v->m; k++)
    post[k] *= 1.0 + v->beta_f;
  ir_energies(v, b, post, e);
  post[0] += log(e[0] / e[1]) / 2;
  memcpy(b, post, sizeof post);
}

/* Filter coefficients of one frame: mel-cepstrum (row[1..m], then flite's
 * appended 0) -> MLSA coefficients b, postfiltered. b[m+1..] stay 0. */
INLINE void coefs(const vocoder *v, const float *row, double *b) {
  double mc[PAD] = {0};
  int m = v->m;
  for (int k = 0; k < m; k++)
    mc[k] = row[k + 1];
  b[m] = mc[m];
  for (int k = m - 1; k >= 0; k--)
    b[k] = mc[k] - v->alpha * b[k + 1];
  if (v->beta_f > 0.0f)
    postfilter(v, mc, b);
}

/* The frame's pulse and noise shaping filters: the band filters weighted by
 * strength s and 1 - s. flite's delay line skips a sample after tap 0
 * (tap k >= 1 meets the input of k + 1 samples ago), so tap k lands at
 * delay k + 1 and delay 1 is 0. */
INLINE void fold_bands(vocoder *v, const float *strength) {
  const cst_cg_db *db = v->db;
  for (int k = 0; k < db->ME_order; k++) {
    double p = 0, q = 0;
    for (int j = 0; j < db->ME_num; j++) {
      p += strength[j] * db->me_h[j][k];
      q += (1 - strength[j]) * db->me_h[j][k];
    }
    v->pulse_taps[k ? k + 1 : 0] = p;
    v->noise_taps[k ? k + 1 : 0] = q;
  }
  v->pulse_taps[1] = v->noise_taps[1] = 0;
}

/* rand(), not a generator of our own: flite.c makes it per thread and
 * restarts it per utterance, so the same text gives the same PCM. */
INLINE double plus_or_minus_one(void) { return rand() > RAND_MAX / 2.0 ? 1.0 : -1.0; }

/* The frame's unshaped excitation, flite's way: one rand() per sample, and
 * when this frame and the last are voiced (p != 0), a pulse of sqrt(period)
 * each period, the period interpolated from the last frame's. */
INLINE void excite(vocoder *v, double p) {
  double *pulse = v->pulse + v->taps - 1, *noise = v->noise + v->taps - 1, inc = 0;
  if (v->period != 0 && p != 0) {
    inc = (p - v->period) / v->framel;
  } else { /* unvoiced: noise only, and the next voiced frame pulses at once */
    v->period = 0;
    v->phase = p;
  }
  for (int n = 0; n < v->framel; n++) {
    pulse[n] = 0;
    if (v->period != 0 && (v->phase += 1.0) >= v->period) {
      pulse[n] = sqrt(v->period);
      v->phase -= v->period;
    }
    noise[n] = plus_or_minus_one();
    v->period += inc;
  }
  v->period = p;
}

/* exc = noise * noise_taps + pulse * pulse_taps over the frame. Noise is
 * dense: BLOCK samples at a time, independent sums so the FMA latency
 * overlaps (the padding past the frame is computed and never used). Pulses
 * come once per period: each adds its scaled taps. */
INLINE void shape(vocoder *v) {
  int hist = v->taps - 1;
  for (int n = 0; n < v->framel; n += BLOCK) {
    const double *x = v->noise + hist + n;
    pair a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    for (int d = 0; d < v->taps; d++) {
      double tap = v->noise_taps[d];
      a0 += tap * loadp(x - d);
      a1 += tap * loadp(x - d + 2);
      a2 += tap * loadp(x - d + 4);
      a3 += tap * loadp(x - d + 6);
    }
    storep(v->exc + n, a0);
    storep(v->exc + n + 2, a1);
    storep(v->exc + n + 4, a2);
    storep(v->exc + n + 6, a3);
  }
  for (int at = 0; at < hist + v->framel; at++) {
    if (v->pulse[at] == 0)
      continue;
    int t = at - hist; /* the pulse's time in the frame, < 0 in the history */
    for (int d = t < 0 ? -t : 0; d < v->taps && t + d < v->framel; d++)
      v->exc[t + d] += v->pulse[at] * v->pulse_taps[d];
  }
}

/* Keep the last taps - 1 excitation samples for the next frame. */
INLINE void slide(vocoder *v) {
  size_t hist = (size_t)v->taps - 1;
  memmove(v->pulse, v->pulse + v->framel, hist * sizeof *v->pulse);
  memmove(v->noise, v->noise + v->framel, hist * sizeof *v->noise);
}

/* ---- the MLSA filter ---- */

INLINE stages madd(stages acc, double s, stages x) { /* acc + s x */
  acc.s12 += s * x.s12;
  acc.s34 += s * x.s34;
  acc.s5 += s * x.s5;
  return acc;
}

INLINE stages scale(double s, stages x) { return (stages){s * x.s12, s * x.s34, s * x.s5}; }

/* sum over the stages of x * w */
INLINE double dot(stages x, stages w) {
  pair p = x.s12 * w.s12 + x.s34 * w.s34 + x.s5 * w.s5;
  return p[0] + p[1];
}

/* Next sample's stage inputs: stage 1 gets the section's output x, stage i
 * the output y of stage i - 1. */
INLINE stages next_feed(stages y, double x) {
  return (stages){{x, y.s12[0]}, {y.s12[1], y.s34[0]}, {y.s34[1], 0}};
}

/* A section's feedback and output, given its stages' outputs y. */
INLINE double section_out(stages *feed, stages y, double x) {
  x += dot(y, pade_feedback);
  *feed = next_feed(y, x);
  return x + dot(y, pade);
}

/* The first-order term b[1]: each stage a one-pole filter scaled by b1. */
INLINE double section1(mlsa_filter *f, double x, double b1, double alpha, double aa) {
  f->delay1 = madd(scale(aa, f->feed1), alpha, f->delay1);
  return section_out(&f->feed1, scale(b1, f->delay1), x);
}

/* The terms b[2..m-1]: each stage runs a chain of first-order all-pass
 * filters, D[j] = D'[j-1] + alpha (D'[j] - D[j-1]) (' = previous sample),
 * output sum b[j] D[j]. Written as t - alpha D[j-1] with t independent of
 * this sample, so the serial dependency is one FMA per j. */
INLINE double section2(mlsa_filter *f, double x, const double *b, int m, double alpha,
                       double aa) {
  stages prev = f->chain[1], y = {{0}, {0}, {0}};
  stages cur = madd(scale(aa, f->feed2), alpha, prev);
  f->chain[1] = cur;
  for (int j = 2; j < m; j++) {
    stages old = f->chain[j];
    cur = madd(madd(prev, alpha, old), -alpha, cur);
    f->chain[j] = cur;
    y = madd(y, b[j], cur);
    prev = old;
  }
  return section_out(&f->feed2, y, x);
}

/* flite's (short) wraps out-of-range samples; we clip. */
INLINE short to_pcm(double x) {
  if (x >= SHRT_MAX)
    return SHRT_MAX;
  if (x <= SHRT_MIN)
    return SHRT_MIN;
  return x == x ? (short)x : 0;
}

/* Filters the frame's excitation into out, stepping the coefficients and
 * the gain exp(b[0]) per sample (the gain by a constant factor, which saves
 * an exp() per sample). */
INLINE void filter(vocoder *v, short *out) {
  double gain = exp(v->b[0]) * v->gain, step = exp(v->binc[0]);
  double alpha = v->alpha, aa = 1 - alpha * alpha;
  for (int n = 0; n < v->framel; n++) {
    double x = section1(&v->f, v->exc[n] * gain, v->b[1], alpha, aa);
    out[n] = to_pcm(section2(&v->f, x, v->b, v->m, alpha, aa));
    gain *= step;
    for (int k = 0; k <= v->m; k += 2)
      storep(v->b + k, loadp(v->b + k) + loadp(v->binc + k));
  }
}

/* One frame of parameters -> samples at out; returns how many. The first
 * frame gives none: it only sets where interpolation starts (flite's). */
INLINE int render_frame(vocoder *v, const float *row, const float *strength, short *out) {
  double f0 = row[0], p = f0 != 0.0 ? v->fs / f0 : 0.0;
  if (v->period < 0) {
    v->period = v->phase = p;
    coefs(v, row, v->b);
    return 0;
  }
  double next[PAD] = {0};
  coefs(v, row, next);
  for (int k = 0; k <= v->m; k++)
    v->binc[k] = (next[k] - v->b[k]) / v->framel;
  fold_bands(v, strength);
  excite(v, p);
  shape(v);
  filter(v, out);
  memcpy(v->b, next, sizeof next);
  slide(v);
  return v->framel;
}

/* render_frame compiled twice: for x86-64 CPUs with AVX2 and FMA (FMA
 * shortens the serial chain and halves its instructions) and for any CPU.
 * We pick one per call rather than with target_clones, whose ifunc
 * resolver runs before the sanitizers are up and crashes ThreadSanitizer
 * builds. */
typedef int (*render_fn)(vocoder *v, const float *row, const float *strength, short *out);

static int render_any(vocoder *v, const float *row, const float *strength, short *out) {
  return render_frame(v, row, strength, out);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static int render_fma(vocoder *v, const float *row,
                                                         const float *strength, short *out) {
  return render_frame(v, row, strength, out);
}

static render_fn pick_render(void) {
  int fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return fma && !thread_portable ? render_fma : render_any;
}
#else
static render_fn pick_render(void) { return render_any; }
#endif

#undef INLINE

/* ---- entry point (interposes flite's) ---- */

cst_wave *mlsa_resynthesis(const cst_track *params, const cst_track *str, cst_cg_db *cg_db,
                           cst_audio_streaming_info *asi, int mlsa_speed_param) {
  int m = filter_order(params, mlsa_speed_param), framel = frame_length(params, cg_db);
  vocoder *v = NULL;
  if (!asi && supported(params, str, cg_db, m, framel))
    v = vocoder_new(cg_db, m, framel);
  if (!v) { /* streaming, a shape we do not handle, or out of memory */
    mira_mlsa_fn flite = mira_mlsa_flite();
    return flite ? flite(params, str, cg_db, asi, mlsa_speed_param) : NULL;
  }
  cst_wave *w = new_wave();
  cst_wave_resize(w, params->num_frames * framel, 1);
  w->sample_rate = cg_db->sample_rate;
  render_fn render = pick_render();
  int pos = 0;
  for (int t = 0; t < params->num_frames; t++)
    pos += render(v, params->frames[t], str->frames[t], w->samples + pos);
  w->num_samples = pos;
  vocoder_free(v);
  thread_calls++;
  return w;
}
