/* Integrated loudness (EBU R128 / ITU-R BS.1770-4) and loudness normalisation.
 *
 * Measurement, for one (mono) channel:
 *  1. K-weighting: a high-shelf "pre-filter" (the head's acoustic effect)
 *     then the RLB high-pass, both biquads.
 *  2. Mean square of the weighted signal over 400 ms blocks every 100 ms
 *     (75 % overlap); block loudness l = -0.691 + 10 log10(z).
 *  3. Gating: drop blocks at or below -70 LUFS, then drop blocks more than
 *     10 LU under the loudness of those left; the mean square of the rest
 *     gives the integrated loudness.
 * BS.1770 tabulates the biquads only for 48 kHz. Like libebur128 we derive
 * them for any rate from the analog prototypes those coefficients come from
 * (bilinear transform, pre-warped at each filter's corner), so 22.05 kHz
 * speech is measured without resampling it first. Blocks are made of
 * 100 ms steps rounded to whole samples, as libebur128 does.
 *
 * No memory is allocated: the signal is filtered twice, once to find the
 * relative gate and once to apply it.
 */
#include <math.h>
#include <stddef.h>

#include "engines/audio/audio.h"

#define ABS_GATE_LUFS (-70.0)
#define REL_GATE_LU (-10.0)
#define LOUDNESS_OFFSET (-0.691) /* BS.1770: makes a 997 Hz 0 dBFS sine -3.01 LKFS */
#define PEAK_CEILING_DBFS (-1.0)

/* The BS.1770 stage 1 shelf and stage 2 high-pass as analog prototypes:
 * these parameters reproduce the standard's 48 kHz table to ~1e-8
 * (fitted by Brecht De Man; the same values libebur128 uses). */
#define SHELF_F0 1681.974450955533
#define SHELF_GAIN_DB 3.999843853973347
#define SHELF_Q 0.7071752369554196
#define SHELF_VB_EXP 0.4996667741545416 /* band gain Vb = Vh^this */
#define HP_F0 38.13547087602444
#define HP_Q 0.5003270373238773

typedef struct biquad {
  double b0, b1, b2, a1, a2; /* a0 normalised to 1 */
  double z1, z2;             /* transposed direct form II state */
} biquad;

static biquad shelf_for(int rate) {
  double k = tan(M_PI * SHELF_F0 / rate), vh = pow(10.0, SHELF_GAIN_DB / 20.0);
  double vb = pow(vh, SHELF_VB_EXP), a0 = 1.0 + k / SHELF_Q + k * k;
  return (biquad){.b0 = (vh + vb * k / SHELF_Q + k * k) / a0,
                  .b1 = 2.0 * (k * k - vh) / a0,
                  .b2 = (vh - vb * k / SHELF_Q + k * k) / a0,
                  .a1 = 2.0 * (k * k - 1.0) / a0,
                  .a2 = (1.0 - k / SHELF_Q + k * k) / a0};
}

/* The standard keeps the high-pass numerator at exactly 1, -2, 1 (not
 * normalised by a0); the -0.691 offset was fitted with it that way. */
static biquad highpass_for(int rate) {
  double k = tan(M_PI * HP_F0 / rate), a0 = 1.0 + k / HP_Q + k * k;
  return (biquad){.b0 = 1.0,
                  .b1 = -2.0,
                  .b2 = 1.0,
                  .a1 = 2.0 * (k * k - 1.0) / a0,
                  .a2 = (1.0 - k / HP_Q + k * k) / a0};
}

static inline double run(biquad *f, double x) {
  double y = f->b0 * x + f->z1;
  f->z1 = f->b1 * x - f->a1 * y + f->z2;
  f->z2 = f->b2 * x - f->a2 * y;
  return y;
}

static double block_lufs(double z) { return z > 0 ? LOUDNESS_OFFSET + 10.0 * log10(z) : -HUGE_VAL; }

/* One pass over the K-weighted signal: sums the mean squares of the blocks
 * louder than both gates (gate_rel = -HUGE_VAL for the first pass). */
static void gated_pass(const mira_pcm *p, double gate_rel, double *sum, size_t *count) {
  biquad pre = shelf_for(p->sample_rate), rlb = highpass_for(p->sample_rate);
  size_t step = ((size_t)p->sample_rate + 5) / 10; /* 100 ms */
  double ring[4] = {0};                            /* the last four 100 ms sums of squares */
  double acc = 0;
  size_t in_step = 0, steps = 0;
  *sum = 0;
  *count = 0;
  for (size_t i = 0; i < p->n; i++) {
    double y = run(&rlb, run(&pre, p->samples[i]));
    acc += y * y;
    if (++in_step < step) continue;
    ring[steps++ % 4] = acc;
    acc = 0;
    in_step = 0;
    if (steps < 4) continue;
    double z = (ring[0] + ring[1] + ring[2] + ring[3]) / (4.0 * step);
    double l = block_lufs(z);
    if (l > ABS_GATE_LUFS && l > gate_rel) {
      *sum += z;
      (*count)++;
    }
  }
}

double mira_audio_loudness(const mira_pcm *p) {
  if (!p || !p->samples || p->sample_rate <= 0 || p->n == 0) return -HUGE_VAL;
  double sum;
  size_t count;
  gated_pass(p, -HUGE_VAL, &sum, &count);
  if (count == 0) return -HUGE_VAL;
  double rel = block_lufs(sum / count) + REL_GATE_LU;
  gated_pass(p, rel, &sum, &count);
  return count ? block_lufs(sum / count) : -HUGE_VAL;
}

/* Sample peak, not true (inter-sample) peak: true peak needs 4x
 * oversampling and differs by well under 1 dB on speech at these rates; the
 * 1 dB ceiling is the margin for it. */
static double peak_of(const mira_pcm *p) {
  double peak = 0;
  for (size_t i = 0; i < p->n; i++) {
    double a = fabs(p->samples[i]);
    if (a > peak) peak = a;
  }
  return peak;
}

double mira_audio_normalize(mira_pcm *p, double target_lufs) {
  if (!p || !isfinite(target_lufs)) return 0.0;
  double lufs = mira_audio_loudness(p);
  double peak = p->samples ? peak_of(p) : 0.0;
  /* Silence, or too quiet/short to measure: no gain we could justify. */
  if (!isfinite(lufs) || peak <= 0) return 0.0;
  double gain_db = target_lufs - lufs;
  double headroom_db = PEAK_CEILING_DBFS - 20.0 * log10(peak);
  if (gain_db > headroom_db) gain_db = headroom_db;
  float g = (float)pow(10.0, gain_db / 20.0);
  for (size_t i = 0; i < p->n; i++) p->samples[i] *= g;
  return gain_db;
}
