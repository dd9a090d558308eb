/* What warping cannot show: the inside of an opened mouth (the photo may
 * have none) and a closing eyelid (the photo shows an open eye). Both are
 * painted in colours taken from the photo, inside a band between two curves
 * (upper and lower inner lip; crease and closing upper lid), with soft edges
 * so that nothing seams against the warped skin around them. */
#include <math.h>
#include <string.h>

#include "engines/animate/photo_int.h"

#define FEATHER_PX 1.0f    /* soft edge of painted regions, at least */
#define FEATHER_MOUTH 0.012f /* ... and this much of the mouth width */
#define TEETH_SPAN 0.5f    /* upper teeth fill this much of the half-width, then fade */
#define TEETH_FADE 0.3f
#define TEETH_OF_OPEN 0.65f /* at most this share of the opening is teeth: the rest is the dark gap */
#define INCISOR_W 0.12f    /* mouth widths per tooth, for the faint gaps between teeth */
#define TONGUE_FROM 0.15f  /* mouth widths of opening before the tongue shows */
#define LID_ALPHA 0.9f     /* the painted lid lets a little of the warped skin through */
#define LID_FILL 0.3f      /* the lid's paint only evens out the warped skin (crease, light band) */
#define LID_SOFT 0.6f      /* the painted lid fades in over this much of its height, from the crease */
#define LID_SHADOW 0.1f    /* and darkens this much toward the lashes */
#define LASH_W 0.09f       /* eye widths: lashes and what the lid drags down of the eye's edge */
#define LID_SAMPLE 0.3f    /* lid skin is sampled this far (eye widths) under the lower lid ... */
#define LID_TONE 0.9f      /* ... and darkened this much */
#define MAX_CURVE 9

static float clampf(float v, float lo, float hi) { return v > lo ? (v < hi ? v : hi) : lo; }

/* ---- a band between two curves that meet at both ends ---- */

typedef struct curve {
  float u[MAX_CURVE], v[MAX_CURVE];
  int n;
} curve;

typedef struct band {
  mira_point o, ex, ey; /* frame: origin at the first point, ex toward the last */
  curve top, bot;
  int smooth;
  float len;
  int x0, y0, x1, y1; /* pixels to visit */
} band;

/* Both curves run from the same first point to the same last point. */
static void band_init(band *b, const mira_point *top, int nt, const mira_point *bot, int nb, int smooth,
                      float pad, const mira_mesh_clip *clip) {
  b->o = top[0], b->smooth = smooth, b->top.n = nt, b->bot.n = nb;
  double dx = top[nt - 1].x - top[0].x, dy = top[nt - 1].y - top[0].y, len = hypot(dx, dy);
  if (len < 1e-6) len = 1e-6, dx = 1e-6;
  b->ex.x = dx / len, b->ex.y = dy / len, b->ey.x = -b->ex.y, b->ey.y = b->ex.x, b->len = (float)len;
  double x0 = top[0].x, x1 = x0, y0 = top[0].y, y1 = y0;
  for (int k = 0; k < 2; k++) {
    curve *c = k ? &b->bot : &b->top;
    const mira_point *pt = k ? bot : top;
    for (int i = 0; i < c->n; i++) {
      double rx = pt[i].x - b->o.x, ry = pt[i].y - b->o.y;
      c->u[i] = (float)(rx * b->ex.x + ry * b->ex.y), c->v[i] = (float)(rx * b->ey.x + ry * b->ey.y);
      if (i > 0 && c->u[i] < c->u[i - 1]) c->u[i] = c->u[i - 1]; /* keep v a function of u */
      x0 = fmin(x0, pt[i].x), x1 = fmax(x1, pt[i].x), y0 = fmin(y0, pt[i].y), y1 = fmax(y1, pt[i].y);
    }
  }
  b->x0 = (int)fmax(clip->x0, floor(x0 - pad)), b->x1 = (int)fmin(clip->x1, ceil(x1 + pad) + 1);
  b->y0 = (int)fmax(clip->y0, floor(y0 - pad)), b->y1 = (int)fmin(clip->y1, ceil(y1 + pad) + 1);
}

/* The curve at u: straight segments, as the mesh draws lips, or (smooth) a
 * cubic Hermite spline, for lids. */
static float curve_at(const curve *c, float u, int smooth) {
  const float *cu = c->u, *cv = c->v;
  int n = c->n;
  if (u <= cu[0]) return cv[0];
  for (int i = 1; i < n; i++) {
    if (u > cu[i]) continue;
    float d = cu[i] - cu[i - 1];
    if (d <= 0) return cv[i];
    float t = (u - cu[i - 1]) / d, lin = cv[i - 1] + (cv[i] - cv[i - 1]) * t;
    if (!smooth) return lin;
    int a = i > 1 ? i - 2 : i - 1, b = i + 1 < n ? i + 1 : i;
    float m0 = (cv[i] - cv[a]) / fmaxf(cu[i] - cu[a], 1e-3f) * d;
    float m1 = (cv[b] - cv[i - 1]) / fmaxf(cu[b] - cu[i - 1], 1e-3f) * d;
    float t2 = t * t, t3 = t2 * t;
    return (2 * t3 - 3 * t2 + 1) * cv[i - 1] + (t3 - 2 * t2 + t) * m0 + (-2 * t3 + 3 * t2) * cv[i] +
           (t3 - t2) * m1;
  }
  return cv[n - 1];
}

/* The frame coordinates of pixel (x, y) and the band's top and bottom there. 0 off the ends. */
static int band_at(const band *b, int x, int y, float *u, float *v, float *top, float *bot) {
  double rx = x - b->o.x, ry = y - b->o.y;
  *u = (float)(rx * b->ex.x + ry * b->ex.y), *v = (float)(rx * b->ey.x + ry * b->ey.y);
  if (*u <= 0 || *u >= b->len) return 0;
  *top = curve_at(&b->top, *u, b->smooth), *bot = curve_at(&b->bot, *u, b->smooth);
  if (*bot < *top) *top = *bot = (*top + *bot) / 2;
  return 1;
}

static void blend(uint8_t *o, const float c[3], float a) {
  for (int k = 0; k < 3; k++) o[k] = (uint8_t)clampf(o[k] + (c[k] - o[k]) * a + 0.5f, 0, 255);
}

/* ---- mouth ---- */

typedef struct mouth_ctx {
  const photo_palette *pal;
  float W, teeth_h, open_max, feather;
} mouth_ctx;

/* Colour inside the mouth: s across (-1..1 corner to corner), u px from the
 * middle, dy px below the upper lip, h the opening at this column. */
static void mouth_colour(const mouth_ctx *m, float s, float u, float dy, float h, float c[3]) {
  const photo_palette *pal = m->pal;
  float as = fabsf(s), t = h > 0 ? clampf(dy / h, 0, 1) : 0;
  /* darker toward the centre and the bottom: light comes in past the lips */
  float k = (0.45f + 0.55f * as * as) * (1 - 0.4f * t);
  for (int i = 0; i < 3; i++) c[i] = pal->cavity[i] * k;
  float tongue = clampf((m->open_max / m->W - TONGUE_FROM) / 0.12f, 0, 1);
  if (tongue > 0) {
    /* low in the mouth and in shadow, with no hard edge: the lower lip's inner
     * edge must stay the strongest edge there (face trackers look for it) */
    float e = (s / 0.6f) * (s / 0.6f) + ((1 - t) / 0.4f) * ((1 - t) / 0.4f);
    float a = clampf(1 - e, 0, 1) * tongue, lit = 0.35f + 0.35f * t;
    for (int i = 0; i < 3; i++) c[i] += (pal->tongue[i] * lit - c[i]) * a;
  }
  float show = clampf((h - 1.5f) / 2.5f, 0, 1); /* no teeth in a closed mouth's seam */
  /* the front teeth are the longest; the side teeth turn away into the shadow */
  float th = fminf(m->teeth_h * (1 - 0.3f * s * s), TEETH_OF_OPEN * h);
  float a = show * clampf(th - dy + 0.5f, 0, 1) * clampf((TEETH_SPAN + TEETH_FADE - as) / TEETH_FADE, 0, 1);
  if (a <= 0) return;
  float tw = INCISOR_W * m->W, pos = u / tw, gap = fabsf(pos - floorf(pos + 0.5f)) * tw;
  /* the upper lip shades the teeth's roots: a dark line along the inner lip */
  float root = 0.6f + 0.4f * clampf(dy / fmaxf(0.25f * th, 1), 0, 1);
  float shade = (1 - 0.45f * s * s) * root * (dy > th - 1 ? 0.85f : 1) *
                (1 - 0.08f * clampf(1 - gap / 0.8f, 0, 1));
  for (int i = 0; i < 3; i++) c[i] += (pal->teeth[i] * shade - c[i]) * a;
}

void photo_paint_mouth(const photo_palette *pal, const photo_geom *g, const photo_paint *p,
                       mira_mesh_img *to, const mira_mesh_clip *clip) {
  if (p->mouth_alpha <= 0) return;
  mira_point top[9], bot[9]; /* upper and lower inner lip, corner to corner */
  for (int i = 0; i < 9; i++) top[i] = p->lips[i], bot[i] = p->lips[(16 - i) % 16];
  band b;
  mouth_ctx m = {pal, g->mouth_w * p->scale, g->teeth_h * p->scale, 0, 0};
  m.feather = fmaxf(FEATHER_PX, FEATHER_MOUTH * m.W);
  band_init(&b, top, 9, bot, 9, 0, 2 * m.feather, clip);
  for (int i = 1; i < 8; i++) m.open_max = fmaxf(m.open_max, b.bot.v[i] - b.top.v[i]);
  float mid = b.len / 2;
  for (int y = b.y0; y < b.y1; y++) {
    uint8_t *row = to->px + (size_t)y * to->stride;
    for (int x = b.x0; x < b.x1; x++) {
      float u, v, tp, bt, c[3];
      if (!band_at(&b, x, y, &u, &v, &tp, &bt)) continue;
      float a = clampf(0.5f + fminf(v - tp, bt - v) / m.feather, 0, 1) * p->mouth_alpha;
      if (a <= 0) continue;
      mouth_colour(&m, (u - mid) / mid, u - mid, v - tp, bt - tp, c);
      blend(row + (size_t)x * 3, c, a);
    }
  }
}

/* ---- lids ---- */

/* A closing upper lid: the mesh stretches the lid skin over the eye, but
 * the crease above it stays a dark line, and dark line over light skin over
 * lashes reads as an open eye. So the lid is painted over from the crease
 * down (fading in) in the colour of the skin around the eye, and the lash
 * line drawn along its edge: thickest mid-eye, where it also covers the
 * strip of white the lashes drag along. */
void photo_paint_lids(const photo_palette *pal, const photo_geom *g, const photo_paint *p,
                      mira_mesh_img *to, const mira_mesh_clip *clip) {
  if (p->blink <= 0) return;
  float fill = clampf((p->blink - 0.2f) / 0.6f, 0, 1) * LID_FILL, line = clampf(p->blink * 2, 0, 1);
  fill = fill * fill * (3 - 2 * fill);
  for (int e = 0; e < 2; e++) {
    band b;
    float f = FEATHER_PX * p->scale, ew = g->eye_w[e] * p->scale, lash = fmaxf(0.8f, LASH_W * ew);
    band_init(&b, p->lid_top[e], PHOTO_LID_POINTS, p->lid_shut[e], PHOTO_LID_POINTS, 1, 2 * f + lash, clip);
    float c0 = b.bot.u[1], c1 = b.bot.u[PHOTO_LID_POINTS - 2]; /* the eye's corners */
    for (int y = b.y0; y < b.y1; y++) {
      uint8_t *row = to->px + (size_t)y * to->stride;
      for (int x = b.x0; x < b.x1; x++) {
        float u, v, tp, bt, c[3];
        if (!band_at(&b, x, y, &u, &v, &tp, &bt)) continue;
        uint8_t *o = row + (size_t)x * 3;
        float t = bt - tp > 0.5f ? clampf((v - tp) / (bt - tp), 0, 1) : 1;
        float a = fill * clampf(t / LID_SOFT, 0, 1) * clampf(0.5f + (bt - v) / f, 0, 1);
        if (a > 0 && v >= tp) {
          for (int k = 0; k < 3; k++) c[k] = pal->lid[e][k] * (1 - LID_SHADOW * t * t); /* it turns from the light */
          blend(o, c, a * a * (3 - 2 * a));
        }
        float across = clampf((u - c0) / fmaxf(c1 - c0, 1), 0, 1), th = lash * sqrtf(sinf(3.14159f * across));
        float l = clampf(0.5f + (v - (bt - th)) / f, 0, 1) * clampf(0.5f + (bt - v) / f, 0, 1);
        if (l > 0) blend(o, pal->lash[e], l * line * LID_ALPHA);
      }
    }
  }
}

/* ---- palette ---- */

static void patch_mean(const mira_mesh_img *im, mira_point c, int r, float out[3]) {
  double s[3] = {0, 0, 0};
  int n = 0;
  for (int y = (int)lround(c.y) - r; y <= (int)lround(c.y) + r; y++)
    for (int x = (int)lround(c.x) - r; x <= (int)lround(c.x) + r; x++) {
      if (x < 0 || y < 0 || x >= im->w || y >= im->h) continue;
      const uint8_t *q = im->px + (size_t)y * im->stride + (size_t)x * 3;
      s[0] += q[0], s[1] += q[1], s[2] += q[2], n++;
    }
  for (int k = 0; k < 3; k++) out[k] = n ? (float)(s[k] / n) : 128;
}

static float luma(const float c[3]) { return 0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2]; }

#define SKIN_MAX_R 6

/* Mean of the middle half (by brightness) of a patch: skin without the odd
 * hair, lash or highlight in it. */
static void patch_skin(const mira_mesh_img *im, mira_point c, int r, float out[3]) {
  uint8_t px[(2 * SKIN_MAX_R + 1) * (2 * SKIN_MAX_R + 1)][3];
  int lum[(2 * SKIN_MAX_R + 1) * (2 * SKIN_MAX_R + 1)], n = 0;
  if (r > SKIN_MAX_R) r = SKIN_MAX_R;
  for (int y = (int)lround(c.y) - r; y <= (int)lround(c.y) + r; y++)
    for (int x = (int)lround(c.x) - r; x <= (int)lround(c.x) + r; x++) {
      if (x < 0 || y < 0 || x >= im->w || y >= im->h) continue;
      memcpy(px[n], im->px + (size_t)y * im->stride + (size_t)x * 3, 3);
      lum[n] = 299 * px[n][0] + 587 * px[n][1] + 114 * px[n][2], n++;
    }
  double s[3] = {0, 0, 0};
  int m = 0;
  for (int i = 0; i < n; i++) {
    int below = 0;
    for (int j = 0; j < n; j++) below += lum[j] < lum[i] || (lum[j] == lum[i] && j < i);
    if (below >= n / 4 && below < n - n / 4) s[0] += px[i][0], s[1] += px[i][1], s[2] += px[i][2], m++;
  }
  for (int k = 0; k < 3; k++) out[k] = m ? (float)(s[k] / m) : 128;
}

/* Mean brightness of the darkest quarter of the pixels along an upper lid. */
static float lash_luma(const mira_mesh_img *im, const mira_point *pts, int e) {
  float lum[15], c[3];
  int n = 0;
  for (int k = 0; k < 3; k++)
    for (int j = 0; j < 5; j++) {
      patch_mean(im, photo_lerp(pts[36 + 6 * e + k], pts[37 + 6 * e + k], j / 5.0), 0, c);
      lum[n++] = luma(c);
    }
  for (int i = 1; i < n; i++) /* insertion sort: 15 values */
    for (int j = i; j > 0 && lum[j] < lum[j - 1]; j--) {
      float t = lum[j];
      lum[j] = lum[j - 1], lum[j - 1] = t;
    }
  return (lum[0] + lum[1] + lum[2] + lum[3]) / 4;
}

static int inside_poly(const mira_point *q, int n, double x, double y) {
  int in = 0;
  for (int i = 0, j = n - 1; i < n; j = i++)
    if ((q[i].y > y) != (q[j].y > y) && x < (q[j].x - q[i].x) * (y - q[i].y) / (q[j].y - q[i].y) + q[i].x) in = !in;
  return in;
}

/* The photo's own teeth when its mouth is open enough to show them: the
 * brightest quarter of the inner-lip polygon. 0 when it is not. */
static int teeth_of(const mira_mesh_img *im, const mira_point *pts, float out[3]) {
  double x0 = pts[60].x, x1 = x0, y0 = pts[60].y, y1 = y0;
  for (int i = 61; i < 68; i++)
    x0 = fmin(x0, pts[i].x), x1 = fmax(x1, pts[i].x), y0 = fmin(y0, pts[i].y), y1 = fmax(y1, pts[i].y);
  unsigned hist[256] = {0};
  double sum[256][3];
  memset(sum, 0, sizeof sum);
  int n = 0;
  for (int y = (int)ceil(y0); y <= (int)y1; y++)
    for (int x = (int)ceil(x0); x <= (int)x1; x++) {
      if (!inside_poly(pts + 60, 8, x, y)) continue;
      const uint8_t *q = im->px + (size_t)y * im->stride + (size_t)x * 3;
      int l = (299 * q[0] + 587 * q[1] + 114 * q[2]) / 1000;
      hist[l]++, sum[l][0] += q[0], sum[l][1] += q[1], sum[l][2] += q[2], n++;
    }
  if (n < 8) return 0;
  double s[3] = {0, 0, 0};
  int m = 0;
  for (int l = 255; l >= 0 && m < n / 4; l--) m += hist[l], s[0] += sum[l][0], s[1] += sum[l][1], s[2] += sum[l][2];
  for (int k = 0; k < 3; k++) out[k] = (float)(s[k] / m);
  return 1;
}

#define TEETH_SHOWN 0.06f /* rest opening, in mouth widths, at which the photo's teeth are trusted */

void photo_palette_of(const mira_mesh_img *im, const mira_point pts[MIRA_FACE_POINTS], float inner_open,
                      float mouth_w, photo_palette *out) {
  static const int lip_at[5][2] = {{50, 61}, {52, 63}, {58, 67}, {56, 65}, {57, 66}};
  int r = (int)fmaxf(1, 0.03f * mouth_w);
  float c[3], skin[3] = {0, 0, 0};
  memset(out->lip, 0, sizeof out->lip);
  for (int i = 0; i < 5; i++) {
    patch_mean(im, photo_lerp(pts[lip_at[i][0]], pts[lip_at[i][1]], 0.5), r, c);
    for (int k = 0; k < 3; k++) out->lip[k] += c[k] / 5;
  }
  for (int s = 0; s < 2; s++) {
    patch_mean(im, photo_lerp(pts[s ? 14 : 2], pts[s ? 35 : 31], 0.5), 2 * r, c);
    for (int k = 0; k < 3; k++) skin[k] += c[k] / 2;
  }
  /* a mouth's inside is the lips' colour in shadow, the tongue a deeper red */
  static const float cavity[3] = {0.36f, 0.2f, 0.2f}, tongue[3] = {0.8f, 0.42f, 0.42f};
  for (int k = 0; k < 3; k++) out->cavity[k] = out->lip[k] * cavity[k], out->tongue[k] = out->lip[k] * tongue[k];
  if (!(inner_open > TEETH_SHOWN * mouth_w && teeth_of(im, pts, out->teeth))) {
    static const float white[3] = {238, 232, 218};
    float lit = clampf(luma(skin) / 150, 0.6f, 1); /* teeth are lit like the face, but brighter than the lips */
    for (int k = 0; k < 3; k++) out->teeth[k] = (0.85f * white[k] + 0.15f * skin[k]) * lit;
  }
  for (int e = 0; e < 2; e++) {
    /* a closed lid is lit like the skin under the eye (above it lie brows and shadow) */
    mira_point a = pts[36 + 6 * e], b = pts[39 + 6 * e];
    float eye_w = (float)hypot(b.x - a.x, b.y - a.y);
    mira_point down = {-(b.y - a.y) / eye_w * LID_SAMPLE * eye_w, (b.x - a.x) / eye_w * LID_SAMPLE * eye_w};
    int rr = (int)fmaxf(1, 0.08f * eye_w);
    memset(out->lid[e], 0, sizeof out->lid[e]);
    for (int k = 0; k < 2; k++) {
      mira_point q = pts[40 + 6 * e + k];
      q.x += down.x, q.y += down.y;
      patch_skin(im, q, rr, c);
      for (int j = 0; j < 3; j++) out->lid[e][j] += c[j] / 2 * LID_TONE;
    }
    /* lashes: the lid's hue at the brightness of the darkest pixels along the lid (not the iris' hue) */
    float dark = lash_luma(im, pts, e), k = dark / fmaxf(luma(out->lid[e]), 1);
    for (int j = 0; j < 3; j++) out->lash[e][j] = out->lid[e][j] * clampf(k, 0.15f, 0.7f);
  }
}
