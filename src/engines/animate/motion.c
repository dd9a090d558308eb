/* The motion planner: visemes and loudness on a 10 ms grid -> one pose per
 * video frame.
 *
 * Mouth: every 10 ms step gets its viseme's target shape, scaled by how loud
 * the step is (a whispered "aa" opens less than a shouted one). The targets
 * are then smoothed both ways in time (zero phase, so the mouth does not lag
 * the sound), which blends neighbouring visemes and eases every change: the
 * mouth never snaps. Lip closure for p/b/m is planned apart from the rest:
 * smoothing would average a 60 ms closure away, so closures are spread with a
 * raised-cosine window whose peak stays 1 — the lips close fully at the
 * bilabial and ease in and out around it.
 *
 * Idle life: blinks at random 2-6 s intervals, head turn/tilt from a few slow
 * sines, a nod that follows speech energy, breathing; body sway and camera
 * drift only when the whole frame animates. Random numbers come from
 * splitmix64 seeded by the job, so a job always renders the same frames.
 */
#include "engines/animate/animate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define MAX_FRAMES (24 * 3600 * MIRA_ANIM_FPS) /* a day of video: far beyond any script */
#define SMOOTH_MS 35.0                         /* mouth time constant */
#define PRESS_HALF_MS 40.0                     /* closure ease in/out, each side */
#define LOUD_OPEN 0.7f /* opening of full loudness, where visemes are not trusted */
#define NOD_MS 400.0                           /* head nod follows a slower energy */
#define PI 3.14159265358979323846

typedef struct shape {
  float open, wide, press, teeth;
} shape;

/* Targets per viseme at full loudness. Openings are jaw drop relative to a
 * wide "aa"; wide: -1 rounded .. +1 spread. */
static const shape targets[MIRA_VISEME_COUNT] = {
    [MIRA_VISEME_SIL] = {0.00f, 0.00f, 0, 0},  [MIRA_VISEME_PP] = {0.00f, 0.00f, 1, 0},
    [MIRA_VISEME_FF] = {0.10f, 0.10f, 0, 1},   [MIRA_VISEME_TH] = {0.20f, 0.10f, 0, 0.5f},
    [MIRA_VISEME_DD] = {0.30f, 0.20f, 0, 0},   [MIRA_VISEME_KK] = {0.35f, 0.10f, 0, 0},
    [MIRA_VISEME_CH] = {0.30f, -0.40f, 0, 0},  [MIRA_VISEME_SS] = {0.15f, 0.40f, 0, 0},
    [MIRA_VISEME_NN] = {0.25f, 0.10f, 0, 0},   [MIRA_VISEME_RR] = {0.30f, -0.30f, 0, 0},
    [MIRA_VISEME_AA] = {1.00f, 0.20f, 0, 0},   [MIRA_VISEME_E] = {0.60f, 0.50f, 0, 0},
    [MIRA_VISEME_IH] = {0.40f, 0.70f, 0, 0},   [MIRA_VISEME_OH] = {0.70f, -0.70f, 0, 0},
    [MIRA_VISEME_OU] = {0.35f, -1.00f, 0, 0},
};

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return (splitmix(s) >> 11) * (1.0 / 9007199254740992.0); }

/* Zero-phase one-pole smoothing (forward then backward) in place. */
static void smooth(float *x, size_t n, double tau_ms) {
  if (n < 2) return;
  float a = (float)(1.0 - exp(-MIRA_ANIM_TRACK_MS / tau_ms));
  for (size_t i = 1; i < n; i++) x[i] += a * (x[i - 1] - x[i]);
  for (size_t i = n - 1; i-- > 0;) x[i] += a * (x[i + 1] - x[i]);
}

/* Spreads closures: out[i] = max_j in[j] * w(i - j), w a raised cosine that
 * is 1 at 0 and 0 at +-PRESS_HALF_MS. Closures are sparse, so only their
 * neighbourhoods are visited. */
static void spread_press(const float *in, float *out, size_t n) {
  int half = (int)(PRESS_HALF_MS / MIRA_ANIM_TRACK_MS);
  memset(out, 0, n * sizeof *out);
  for (size_t j = 0; j < n; j++) {
    if (in[j] <= 0) continue;
    for (int d = -half; d <= half; d++) {
      long i = (long)j + d;
      if (i < 0 || (size_t)i >= n) continue;
      float w = in[j] * (float)(0.5 + 0.5 * cos(PI * d / (half + 1)));
      if (w > out[i]) out[i] = w;
    }
  }
}

typedef struct tracks {
  float *open, *wide, *press, *teeth, *nod;
  size_t n;
} tracks;

static void tracks_free(tracks *t) {
  free(t->open);
  free(t->wide);
  free(t->press);
  free(t->teeth);
  free(t->nod);
}

/* Loudness scales the opening between 50% and 100% of the viseme's target:
 * quiet speech still moves the lips. Visemes that are only partly trusted
 * (recognised phones) share the say with the loudness itself, which is
 * never wrong about when the mouth moves. */
static int mouth_tracks(const mira_anim_input *in, tracks *t) {
  size_t n = in->n10 ? in->n10 : 1;
  float *raw_press = calloc(n, sizeof *raw_press);
  t->n = n;
  t->open = calloc(n, sizeof(float));
  t->wide = calloc(n, sizeof(float));
  t->press = calloc(n, sizeof(float));
  t->teeth = calloc(n, sizeof(float));
  t->nod = calloc(n, sizeof(float));
  if (!raw_press || !t->open || !t->wide || !t->press || !t->teeth || !t->nod) {
    free(raw_press);
    tracks_free(t);
    return MIRA_ENOMEM;
  }
  float trust = in->viseme_trust > 0 && in->viseme_trust < 1 ? in->viseme_trust : 1;
  for (size_t i = 0; i < in->n10; i++) {
    mira_viseme v = (unsigned)in->viseme[i] < MIRA_VISEME_COUNT ? in->viseme[i] : MIRA_VISEME_SIL;
    float e = in->energy[i] < 0 ? 0 : in->energy[i] > 1 ? 1 : in->energy[i];
    float loud = v == MIRA_VISEME_SIL ? 0 : 0.5f + 0.5f * e;
    t->open[i] = trust * targets[v].open * loud + (1 - trust) * LOUD_OPEN * e;
    t->wide[i] = targets[v].wide * loud;
    t->teeth[i] = targets[v].teeth;
    raw_press[i] = targets[v].press;
    t->nod[i] = e;
  }
  smooth(t->open, n, SMOOTH_MS);
  smooth(t->wide, n, SMOOTH_MS);
  smooth(t->teeth, n, SMOOTH_MS);
  smooth(t->nod, n, NOD_MS);
  spread_press(raw_press, t->press, n);
  free(raw_press);
  for (size_t i = 0; i < n; i++) t->open[i] *= 1.0f - t->press[i];
  return 0;
}

/* Linear interpolation of a 10 ms track at time ms. */
static float at(const float *x, size_t n, double ms) {
  double p = ms / MIRA_ANIM_TRACK_MS;
  if (p <= 0) return x[0];
  size_t i = (size_t)p;
  if (i + 1 >= n) return x[n - 1];
  float f = (float)(p - i);
  return x[i] + f * (x[i + 1] - x[i]);
}

/* Blink shape: 60 ms closing, 30 ms closed, 90 ms opening. */
static float blink_at(double since_ms) {
  if (since_ms < 0 || since_ms > 180) return 0;
  if (since_ms < 60) return (float)(since_ms / 60);
  if (since_ms < 90) return 1;
  return (float)(1 - (since_ms - 90) / 90);
}

typedef struct idle {
  double phase[8];
  double next_blink_ms, last_blink_ms;
  uint64_t rng;
} idle;

static void idle_init(idle *s, uint64_t seed) {
  s->rng = seed ^ 0x6D697261u; /* "mira" */
  for (int i = 0; i < 8; i++) s->phase[i] = 2 * PI * uniform(&s->rng);
  s->last_blink_ms = -1e9;
  s->next_blink_ms = 800 + 2200 * uniform(&s->rng); /* first blink within 3 s */
}

static double wave(const idle *s, int k, double period_s, double ms) {
  return sin(2 * PI * ms / (period_s * 1000) + s->phase[k]);
}

static void idle_pose(idle *s, double ms, float nod, int full, mira_anim_pose *p) {
  while (ms >= s->next_blink_ms) {
    s->last_blink_ms = s->next_blink_ms;
    s->next_blink_ms += 2000 + 4000 * uniform(&s->rng);
  }
  p->blink = blink_at(ms - s->last_blink_ms);
  p->yaw = (float)(2.5 * wave(s, 0, 7.3, ms) + 1.0 * wave(s, 1, 3.1, ms));
  p->roll = (float)(1.5 * wave(s, 2, 9.7, ms));
  p->pitch = (float)(0.8 * wave(s, 3, 5.9, ms) + 2.0 * nod);
  if (!full) return;
  p->breathe = (float)wave(s, 4, 4.2, ms);
  p->sway_x = (float)(0.004 * wave(s, 5, 6.1, ms));
  p->sway_y = (float)(0.0015 * p->breathe);
  p->cam_x = (float)(0.004 * wave(s, 6, 13.0, ms));
  p->cam_y = (float)(0.003 * wave(s, 7, 17.0, ms));
  p->cam_zoom = (float)(0.01 * (0.5 - 0.5 * cos(2 * PI * ms / 19000.0)));
}

int mira_anim_plan(const mira_anim_input *in, int fps, mira_anim_pose **poses, size_t *nframes,
                   char *err, size_t errlen) {
  *poses = NULL;
  *nframes = 0;
  if (!in || fps <= 0 || fps > 120 || in->duration_ms <= 0 || (in->n10 && (!in->viseme || !in->energy)))
    return mira_err(err, errlen, MIRA_EINVAL, "animation plan: no duration, no tracks or a bad frame rate");
  double frames = llround((double)in->duration_ms * fps / 1000.0);
  if (frames < 1) frames = 1;
  if (frames > MAX_FRAMES) return mira_err(err, errlen, MIRA_ETOOBIG, "animation plan: %.0f frames is too long", frames);
  tracks t = {0};
  mira_anim_pose *out = calloc((size_t)frames, sizeof *out);
  if (!out || mouth_tracks(in, &t) != 0) {
    free(out);
    return mira_err(err, errlen, MIRA_ENOMEM, "animation plan: out of memory");
  }
  idle s;
  idle_init(&s, in->seed);
  for (size_t i = 0; i < (size_t)frames; i++) {
    double ms = (i + 0.5) * 1000.0 / fps; /* what the frame shows: its middle */
    mira_anim_pose *p = &out[i];
    p->open = at(t.open, t.n, ms);
    p->wide = at(t.wide, t.n, ms);
    p->press = at(t.press, t.n, ms);
    p->teeth = at(t.teeth, t.n, ms);
    idle_pose(&s, ms, at(t.nod, t.n, ms), in->full, p);
  }
  tracks_free(&t);
  *poses = out;
  *nframes = (size_t)frames;
  return 0;
}
