/* Illustrated avatars drawn with cairo from a parametric rig.
 *
 * Each look is a const mira_cartoon_style: colours, face shape, hair, beard,
 * glasses, earrings, clothes and backdrop. Everything is drawn as vector
 * shapes on a DESIGN x DESIGN canvas scaled to the frame's height (in tall
 * frames, to PORTRAIT_CROP times its width, shoulders cut): the character
 * keeps its aspect, centred and standing on the frame's bottom edge, and the
 * backdrop fills the whole frame.
 *
 * Speed: a frame must cost well under 2 ms at 512x512 (the video pipeline
 * wants 250 frames/s on two cores, H.264 included), so:
 *   - what never moves is drawn once: `still` (backdrop, and the body when
 *     full = 0) and `rest`, the packed RGB of the frame without the head;
 *   - with full = 0 a frame repaints and repacks only the head's bounding
 *     box and copies `rest` elsewhere, so pixels away from the head never
 *     change;
 *   - no gradients per frame (a linear gradient over the face alone cost
 *     0.4 ms) and few cairo calls: each costs ~10 us however small, so
 *     shapes of one colour (both eyes, both ears) go into one path.
 * Hair that hangs behind the shoulders moves with the head, so for those
 * looks the body is a separate layer (`body`) composited over it.
 *
 * Ownership: the renderer owns its surfaces and buffers; styles are static
 * const and shared. One renderer draws one frame at a time.
 */
#include <cairo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engines/animate/animate.h"

#define DESIGN 512.0  /* the rig's canvas side, in design units */
#define HEAD_X 256.0  /* the head's origin: face centre on the eye line */
#define HEAD_Y 210.0
#define MAX_LONG 1920 /* animate.h: frames are at most 1920x1080 (either orientation) */
#define MAX_SHORT 1080
#define PORTRAIT_CROP 1.25 /* tall frames: the character may be this much wider than the frame (arms cut) */
#define EYE_W 15.0    /* half width of an eye opening */
#define EYE_H 9.0
#define DEG (M_PI / 180.0)

enum { FACE_OVAL, FACE_ROUND, FACE_SQUARE };
enum { HAIR_SHORT, HAIR_TOUSLED, HAIR_FADE, HAIR_BALD, HAIR_AFRO, HAIR_LONG, HAIR_BOB, HAIR_BUN, HAIR_PONYTAIL };
enum { BEARD_NONE, BEARD_STUBBLE, BEARD_SHORT, BEARD_FULL };
enum { CLOTHES_CREW, CLOTHES_COLLAR, CLOTHES_HOODIE, CLOTHES_BLAZER };
enum { BG_FLAT, BG_GRADIENT, BG_SHAPES };
enum { EARRING_NONE, EARRING_HOOP, EARRING_PEARL };
enum { GLASSES_NONE, GLASSES_ROUND, GLASSES_SQUARE };

struct mira_cartoon_style {
  mira_cartoon_info info;
  uint32_t skin, hair, brows, eyes, lips, clothes, accent, bg, bg2, frames;
  unsigned char face, hair_style, bangs, beard, clothes_style, backdrop;
  unsigned char glasses, earrings, lashes, lines, freckles;
  float a;       /* face half width */
  float chin;    /* eye line to chin */
  float brow_w;  /* eyebrow thickness */
  float mouth_w; /* mouth half width at rest */
};

/* Voices are catalog entries (src/engines/speech/catalog.c). */
static const mira_cartoon_style styles[] = {
    {.info = {"Ava", "flite", "slt"}, .skin = 0xf3c6a5, .hair = 0x6a3b22, .brows = 0x5a321d,
     .eyes = 0x4e7f55, .lips = 0xd0706f, .clothes = 0x2a9d8f, .accent = 0x1f7a70, .bg = 0xfde4d0,
     .bg2 = 0xf6b79c, .face = FACE_OVAL, .hair_style = HAIR_LONG, .clothes_style = CLOTHES_CREW,
     .backdrop = BG_GRADIENT, .lashes = 1, .freckles = 1, .a = 78, .chin = 108, .brow_w = 4.5,
     .mouth_w = 20},
    {.info = {"Marcus", "flite", "rms"}, .skin = 0x8a573a, .hair = 0x1d1511, .brows = 0x1d1511,
     .eyes = 0x3a2416, .lips = 0x6e3b31, .clothes = 0x2d4270, .accent = 0xf4f1ea, .bg = 0xd3e4f4,
     .bg2 = 0xa9c8ea, .face = FACE_SQUARE, .hair_style = HAIR_FADE, .beard = BEARD_SHORT,
     .clothes_style = CLOTHES_BLAZER, .backdrop = BG_SHAPES, .a = 84, .chin = 112, .brow_w = 6,
     .mouth_w = 23},
    {.info = {"Angus", "flite", "awb"}, .skin = 0xf0c0a2, .hair = 0xdcd7d0, .brows = 0xb9b2a8,
     .eyes = 0x5a7fa0, .lips = 0xc77f78, .clothes = 0x3f6b4f, .accent = 0xf2efe6, .bg = 0xe0e8d6,
     .bg2 = 0xc9d8bd, .frames = 0x3a3a3a, .face = FACE_ROUND, .hair_style = HAIR_BALD,
     .beard = BEARD_FULL, .clothes_style = CLOTHES_COLLAR, .backdrop = BG_FLAT,
     .glasses = GLASSES_SQUARE, .lines = 1, .a = 86, .chin = 110, .brow_w = 6.5, .mouth_w = 21},
    {.info = {"Amara", "flite", "slt"}, .skin = 0x6f4129, .hair = 0x24160f, .brows = 0x1e130d,
     .eyes = 0x2c1a10, .lips = 0x8e4a45, .clothes = 0xe1a327, .accent = 0xb97f12, .bg = 0xe7dcf6,
     .bg2 = 0xc4b1ec, .face = FACE_OVAL, .hair_style = HAIR_AFRO, .clothes_style = CLOTHES_COLLAR,
     .backdrop = BG_GRADIENT, .earrings = EARRING_HOOP, .lashes = 1, .a = 78, .chin = 110,
     .brow_w = 4.5, .mouth_w = 22},
    {.info = {"Kal", "flite", "kal16"}, .skin = 0xc58a63, .hair = 0x1a1716, .brows = 0x1a1716,
     .eyes = 0x3b2a1c, .lips = 0xa8625a, .clothes = 0xe76f51, .accent = 0xc4553b, .bg = 0xfbf0cc,
     .bg2 = 0xf3d98a, .face = FACE_OVAL, .hair_style = HAIR_SHORT, .beard = BEARD_STUBBLE,
     .clothes_style = CLOTHES_HOODIE, .backdrop = BG_SHAPES, .a = 80, .chin = 110, .brow_w = 5.5,
     .mouth_w = 21},
    {.info = {"Margaret", "espeak-ng", "en-gb+f3"}, .skin = 0xf5d3c0, .hair = 0xe4e1dd,
     .brows = 0xb7aea6, .eyes = 0x6a8fb0, .lips = 0xc2656f, .clothes = 0x7b3f61, .accent = 0xf6efe9,
     .bg = 0xd8f0e6, .bg2 = 0xaedcc9, .frames = 0x8c3b4f, .face = FACE_ROUND, .hair_style = HAIR_BOB,
     .clothes_style = CLOTHES_BLAZER, .backdrop = BG_GRADIENT, .glasses = GLASSES_ROUND,
     .earrings = EARRING_PEARL, .lines = 1, .lashes = 1, .a = 80, .chin = 106, .brow_w = 4,
     .mouth_w = 19},
    {.info = {"Yui", "espeak-ng", "ja+f3"}, .skin = 0xf6d8c2, .hair = 0x1f1b24, .brows = 0x2a2430,
     .eyes = 0x3a2a22, .lips = 0xd9707e, .clothes = 0xf3a7b9, .accent = 0xe08aa0, .bg = 0xd5ecf8,
     .bg2 = 0xb0d9f1, .face = FACE_ROUND, .hair_style = HAIR_BOB, .bangs = 1,
     .clothes_style = CLOTHES_HOODIE, .backdrop = BG_SHAPES, .lashes = 1, .a = 77, .chin = 104,
     .brow_w = 4, .mouth_w = 18},
    {.info = {"Camille", "espeak-ng", "fr-fr+f3"}, .skin = 0xeec1a1, .hair = 0x8b3a1d,
     .brows = 0x6e2e17, .eyes = 0x4f6b3a, .lips = 0xc0444f, .clothes = 0x34373e, .accent = 0xf5f3f0,
     .bg = 0xe6e9f0, .bg2 = 0xc8cfe0, .frames = 0x1f1f22, .face = FACE_OVAL, .hair_style = HAIR_BUN,
     .clothes_style = CLOTHES_BLAZER, .backdrop = BG_FLAT, .glasses = GLASSES_ROUND,
     .earrings = EARRING_PEARL, .lashes = 1, .a = 76, .chin = 110, .brow_w = 4, .mouth_w = 20},
    {.info = {"Jonas", "espeak-ng", "de+m3"}, .skin = 0xf1cdb0, .hair = 0xd6ad62, .brows = 0xb08a48,
     .eyes = 0x4a7bb7, .lips = 0xc88579, .clothes = 0x3d6e4e, .accent = 0x2f5a3e, .bg = 0xf2e6d8,
     .bg2 = 0xe3cdb3, .face = FACE_SQUARE, .hair_style = HAIR_TOUSLED, .beard = BEARD_STUBBLE,
     .clothes_style = CLOTHES_CREW, .backdrop = BG_SHAPES, .a = 82, .chin = 112, .brow_w = 5,
     .mouth_w = 22},
    {.info = {"Lucía", "espeak-ng", "es+f3"}, .skin = 0xd9a17a, .hair = 0x3a2218, .brows = 0x32201a,
     .eyes = 0x4a2e1c, .lips = 0xb9474d, .clothes = 0xc44536, .accent = 0xf4e9dc, .bg = 0xfbe9d4,
     .bg2 = 0xf2c48f, .face = FACE_OVAL, .hair_style = HAIR_PONYTAIL, .clothes_style = CLOTHES_COLLAR,
     .backdrop = BG_GRADIENT, .earrings = EARRING_HOOP, .lashes = 1, .a = 77, .chin = 108,
     .brow_w = 4.5, .mouth_w = 20},
};
#define NSTYLES ((int)(sizeof styles / sizeof *styles))

typedef struct cartoon {
  mira_avatar_renderer base; /* first: the renderer is cast to this */
  const mira_cartoon_style *st;
  int full;
  double scale, ox, oy; /* design units -> frame pixels */
  cairo_surface_t *frame;
  cairo_t *cr;
  cairo_surface_t *still; /* backdrop (+ body when it never moves and nothing moves behind it) */
  cairo_surface_t *body;  /* body alone, over hair that moves behind it; NULL when baked in still */
  int body_y;             /* the body layer's first frame row */
  uint8_t *rest;          /* full = 0: packed RGB of the frame without the head */
} cartoon;

/* The head's shape for one pose, in head units (origin on the eye line). */
typedef struct head {
  const mira_cartoon_style *st;
  double a, top, chin, jx, jy, cw; /* face outline: half width, forehead, chin, jaw corner, chin width */
  double jaw;                      /* jaw drop */
  double fx, fy, yaw;              /* feature parallax from yaw and pitch */
  double my, hw, gt, gb, ut, lt, rnd, teeth; /* mouth: centre, half width, gap up/down, lips, roundness */
  double blink, brow_lift;
} head;

/* ---- small helpers ---- */

static double clampd(double v, double lo, double hi) {
  if (!(v == v)) return 0; /* NaN from a broken planner: neutral */
  return v < lo ? lo : v > hi ? hi : v;
}

static void rgba(cairo_t *cr, uint32_t c, double a) {
  cairo_set_source_rgba(cr, (c >> 16 & 255) / 255.0, (c >> 8 & 255) / 255.0, (c & 255) / 255.0, a);
}

static void rgb(cairo_t *cr, uint32_t c) { rgba(cr, c, 1); }

static uint32_t mix(uint32_t c, uint32_t d, double t) {
  uint32_t out = 0;
  for (int s = 0; s < 24; s += 8) out |= (uint32_t)((c >> s & 255) * (1 - t) + (d >> s & 255) * t + 0.5) << s;
  return out;
}

/* Shadows lean warm and a little purple rather than grey, as illustrators do. */
static uint32_t shade(uint32_t c, double t) { return mix(c, 0x3a1c2a, t); }
static uint32_t tint(uint32_t c, double t) { return mix(c, 0xfff8f0, t); }

static void stop(cairo_pattern_t *p, double at, uint32_t c, double a) {
  cairo_pattern_add_color_stop_rgba(p, at, (c >> 16 & 255) / 255.0, (c >> 8 & 255) / 255.0,
                                    (c & 255) / 255.0, a);
}

/* A closed path symmetric about x = 0: from (0, y0) along the n cubic
 * segments of the right half (c1, c2, end), then back up the mirrored left
 * half. Most parts of a face are symmetric, so each is written once. */
static void sym_path(cairo_t *cr, double y0, const double (*s)[6], int n) {
  cairo_move_to(cr, 0, y0);
  for (int i = 0; i < n; i++) cairo_curve_to(cr, s[i][0], s[i][1], s[i][2], s[i][3], s[i][4], s[i][5]);
  cairo_line_to(cr, -s[n - 1][4], s[n - 1][5]);
  for (int i = n - 1; i >= 0; i--) {
    double sx = i ? s[i - 1][4] : 0, sy = i ? s[i - 1][5] : y0;
    cairo_curve_to(cr, -s[i][2], s[i][3], -s[i][0], s[i][1], -sx, sy);
  }
  cairo_close_path(cr);
}

static void ellipse(cairo_t *cr, double x, double y, double rx, double ry) {
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_scale(cr, rx, ry);
  cairo_new_sub_path(cr);
  cairo_arc(cr, 0, 0, 1, 0, 2 * M_PI);
  cairo_restore(cr);
}

/* Adds an open cubic to the path; strokes of one colour are batched. */
static void curve(cairo_t *cr, double x0, double y0, double x1, double y1, double x2, double y2, double x3,
                  double y3) {
  cairo_move_to(cr, x0, y0);
  cairo_curve_to(cr, x1, y1, x2, y2, x3, y3);
}

static void stroke(cairo_t *cr, uint32_t c, double alpha, double width) {
  rgba(cr, c, alpha);
  cairo_set_line_width(cr, width);
  cairo_stroke(cr);
}

/* ---- pose -> head shape ---- */

static void head_from_pose(const mira_cartoon_style *st, const mira_anim_pose *p, head *h) {
  static const double shape[][3] = {/* jaw corner x, y (of a, chin), chin width (of a) */
                                    [FACE_OVAL] = {0.66, 0.70, 0.30},
                                    [FACE_ROUND] = {0.80, 0.70, 0.40},
                                    [FACE_SQUARE] = {0.86, 0.76, 0.50}};
  double open = clampd(p->open, 0, 1), press = clampd(p->press, 0, 1);
  double wide = clampd(p->wide, -1, 1), teeth = clampd(p->teeth, 0, 1) * (1 - press);
  double gap = 22.0 * open * (1 - press); /* inner lip opening; 22 is a wide "aa" */
  if (gap < 3.5 * teeth) gap = 3.5 * teeth; /* f/v: the teeth show through a slit */
  memset(h, 0, sizeof *h);
  h->st = st;
  h->a = st->a;
  h->top = -st->chin * 0.92;
  h->jaw = gap * 0.45;
  h->chin = st->chin + h->jaw;
  h->jx = st->a * shape[st->face][0];
  h->jy = st->chin * shape[st->face][1] + h->jaw * 0.7;
  h->cw = st->a * shape[st->face][2];
  h->yaw = clampd(p->yaw, -10, 10);
  h->fx = h->yaw * 1.6;
  h->fy = clampd(p->pitch, -8, 8) * 1.4;
  h->rnd = wide < 0 ? -wide : 0;
  h->my = st->chin * 0.555;
  h->hw = st->mouth_w * (1 + (wide > 0 ? 0.22 : 0.42) * wide) * (1 - 0.12 * open);
  h->gt = gap * 0.22;
  h->gb = gap * 0.78;
  h->ut = 5.0 * (1 - 0.4 * press) * (1 + 0.3 * h->rnd);
  h->lt = 6.5 * (1 - 0.35 * press) * (1 + 0.3 * h->rnd);
  h->teeth = teeth;
  h->blink = clampd(p->blink, 0, 1);
  h->brow_lift = 2.0 * open;
}

/* ---- the face ---- */

static void face_path(cairo_t *cr, const head *h) {
  double a = h->a, t = h->top;
  double s[][6] = {{a * 0.56, t, a, t * 0.62, a, t * 0.05},
                   {a, h->jy * 0.5, h->jx + (a - h->jx) * 0.45, h->jy * 0.9, h->jx, h->jy},
                   {h->jx - (h->jx - h->cw) * 0.6, h->jy + (h->chin - h->jy) * 0.75, h->cw, h->chin, 0, h->chin}};
  sym_path(cr, t, s, 3);
}

static void draw_ears(cairo_t *cr, const head *h) {
  const mira_cartoon_style *st = h->st;
  double dx = -h->fx * 0.35;
  for (int s = -1; s <= 1; s += 2) ellipse(cr, s * (h->a + 3) + dx, 10, 12, 18);
  rgb(cr, shade(st->skin, 0.06));
  cairo_fill(cr);
  for (int s = -1; s <= 1; s += 2) {
    double x = s * (h->a - 3) + dx;
    curve(cr, x + s * 4, 0, x + s * 12, -4, x + s * 12, 14, x + s * 5, 20);
  }
  stroke(cr, shade(st->skin, 0.35), 0.7, 2.2);
  if (st->earrings == EARRING_NONE) return;
  for (int s = -1; s <= 1; s += 2) {
    double x = s * (h->a + 4) + dx;
    if (st->earrings == EARRING_HOOP) {
      cairo_new_sub_path(cr);
      cairo_arc(cr, x, 35, 8, 0, 2 * M_PI);
    } else {
      ellipse(cr, x, 30, 4, 4);
    }
  }
  if (st->earrings == EARRING_HOOP) {
    stroke(cr, 0xe0b04a, 1, 2.6);
  } else {
    rgb(cr, 0xf7f2ea);
    cairo_fill(cr);
  }
}

/* Flat skin with a shadow down the right side and under the chin: the face
 * filled in the shadow tone, then a copy shrunk toward its upper left. */
static void draw_face(cairo_t *cr, const head *h) {
  const mira_cartoon_style *st = h->st;
  cairo_save(cr);
  cairo_translate(cr, h->fx * 0.2, 0);
  face_path(cr, h);
  rgb(cr, shade(st->skin, 0.1));
  cairo_fill(cr);
  cairo_translate(cr, -h->a, h->top * 0.6);
  cairo_scale(cr, 0.93, 0.95);
  cairo_translate(cr, h->a, -h->top * 0.6);
  face_path(cr, h);
  rgb(cr, st->skin);
  cairo_fill(cr);
  cairo_restore(cr);
  for (int s = -1; s <= 1; s += 2) ellipse(cr, s * h->a * 0.56 + h->fx * 0.8, 32 + h->fy, 15, 9);
  rgba(cr, mix(st->skin, 0xf06a6a, 0.5), 0.22); /* a warm flush of the skin's own tone */
  cairo_fill(cr);
  if (st->freckles) {
    static const double fr[][2] = {{30, 22}, {37, 27}, {44, 21}, {26, 30}, {40, 33}};
    for (int s = -1; s <= 1; s += 2)
      for (int i = 0; i < 5; i++) ellipse(cr, s * fr[i][0] + h->fx * 0.9, fr[i][1] + h->fy, 1.3, 1.3);
    rgba(cr, shade(st->skin, 0.4), 0.45);
    cairo_fill(cr);
  }
}

static void draw_nose(cairo_t *cr, const head *h) {
  uint32_t col = shade(h->st->skin, 0.32);
  double x = h->fx * 1.35, y = h->fy;
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  curve(cr, x - 8, y + 29, x - 11, y + 36, x - 4, y + 39, x, y + 37.5);
  cairo_curve_to(cr, x + 4, y + 39, x + 11, y + 36, x + 8, y + 29);
  stroke(cr, col, 0.9, 2.6);
  curve(cr, x + 5, y + 2, x + 7, y + 12, x + 8, y + 20, x + 8, y + 27);
  stroke(cr, col, 0.35, 2.2);
}

/* Age lines: they follow the mouth corners and the eyes. */
static void draw_lines(cairo_t *cr, const head *h) {
  double mx = h->fx * 1.05, my = h->my + h->fy;
  for (int s = -1; s <= 1; s += 2) {
    curve(cr, s * 15 + h->fx * 1.2, 36 + h->fy, s * (h->hw + 10) + mx, my - 14, s * (h->hw + 11) + mx, my - 2,
          s * (h->hw + 8) + mx, my + 6 + h->gb * 0.4);
    double ex = s * (h->a * 0.42 + EYE_W + 5) + h->fx * 0.9, ey = h->fy;
    curve(cr, ex, ey - 3, ex + s * 3, ey - 4, ex + s * 5, ey - 5, ex + s * 7, ey - 7);
    curve(cr, ex, ey + 2, ex + s * 3, ey + 3, ex + s * 5, ey + 4, ex + s * 7, ey + 5);
  }
  curve(cr, -24, h->top * 0.62, -8, h->top * 0.66, 8, h->top * 0.66, 24, h->top * 0.62);
  stroke(cr, shade(h->st->skin, 0.4), 0.45, 1.8);
}

/* ---- the mouth: lip curves straight from the pose ---- */

/* Right halves of the inner lip edges, from the axis out to the corner:
 * rounded lips ("oo") bow out into an oval, spread ones stay flat. */
static void inner_edges(const head *h, double top[6], double bot[6]) {
  double cy = h->gb * 0.06, cx = h->hw * (0.85 + 0.15 * h->rnd), k = 0.2 + 0.5 * h->rnd;
  double t[6] = {h->hw * 0.5, -h->gt, cx, cy - h->gt * k, h->hw, cy};
  double b[6] = {h->hw * 0.5, h->gb, cx, cy + h->gb * k, h->hw, cy};
  memcpy(top, t, sizeof t);
  memcpy(bot, b, sizeof b);
}

/* The dark inside with the tongue and a hint of upper teeth. No clip (a
 * clip costs a mask per call): the lips drawn next cover what spills over. */
static void draw_cavity(cairo_t *cr, const head *h, const double t[6], const double b[6]) {
  double g = h->gt + h->gb;
  double s[][6] = {{t[0], t[1], t[2], t[3], t[4], t[5]}, {b[2], b[3], b[0], b[1], 0, h->gb}};
  sym_path(cr, -h->gt, s, 2);
  rgb(cr, 0x3b1219);
  cairo_fill(cr);
  ellipse(cr, 0, h->gb - g * 0.1, h->hw * 0.55, g * 0.3); /* tongue */
  rgb(cr, 0xc75b63);
  cairo_fill(cr);
  double th = g * 0.35 < 4.5 ? g * 0.35 : 4.5, k = 0.75; /* upper teeth: a band under the top lip */
  double te[][6] = {{t[0] * k, t[1] - 1, t[2] * k, t[3] - 1, t[4] * k, t[5] - 1},
                    {t[4] * k, t[5] - 1 + th, t[4] * k, t[5] - 1 + th, t[4] * k, t[5] - 1 + th},
                    {t[2] * k, t[3] - 1 + th, t[0] * k, t[1] - 1 + th, 0, -h->gt - 1 + th}};
  sym_path(cr, -h->gt - 1, te, 3);
  rgb(cr, 0xf6f1ea);
  cairo_fill(cr);
}

static void draw_lips(cairo_t *cr, const head *h, const double t[6], const double b[6]) {
  double gt = h->gt, ut = h->ut, lt = h->lt, hw = h->hw, cy = h->gb * 0.06;
  double up[][6] = {{hw * 0.08, -gt - ut * 0.72, hw * 0.16, -gt - ut, hw * 0.28, -gt - ut},
                    {hw * 0.55, -gt - ut * 1.02, hw * 0.9, cy - ut * 0.35, hw + 1.5, cy},
                    {hw, cy, hw, cy, hw, cy},
                    {t[2], t[3], t[0], t[1], 0, -gt}};
  sym_path(cr, -gt - ut * 0.7, up, 4);
  rgb(cr, shade(h->st->lips, 0.1));
  cairo_fill(cr);
  double lo[][6] = {{b[0], b[1], b[2], b[3], b[4], b[5]},
                    {hw + 1.5, cy, hw + 1.5, cy, hw + 1.5, cy},
                    {hw * 0.85, cy + lt * 0.9 + h->gb * 0.25, hw * 0.45, h->gb + lt * 1.05, 0, h->gb + lt}};
  sym_path(cr, h->gb, lo, 3);
  rgb(cr, h->st->lips);
  cairo_fill(cr);
  ellipse(cr, -hw * 0.12, h->gb + lt * 0.45, hw * 0.3, lt * 0.2);
  rgba(cr, 0xffffff, 0.14);
  cairo_fill(cr);
}

static void draw_mouth(cairo_t *cr, const head *h) {
  double t[6], b[6], open = h->gt + h->gb;
  inner_edges(h, t, b);
  cairo_save(cr);
  cairo_translate(cr, h->fx * 1.05, h->my + h->fy);
  if (open > 0.3) draw_cavity(cr, h, t, b);
  draw_lips(cr, h, t, b);
  if (h->teeth > 0.05) { /* upper teeth resting on the lower lip (f, v) */
    cairo_rectangle(cr, -h->hw * 0.5, -h->gt, h->hw, h->gb + 2.5 * h->teeth);
    rgb(cr, 0xf6f1ea);
    cairo_fill(cr);
  }
  if (open < 1.5) { /* closed: the line between the lips */
    double cy = h->gb * 0.06;
    curve(cr, -h->hw - 1, cy, -t[0] * 0.9, -h->gt + 0.6, t[0] * 0.9, -h->gt + 0.6, h->hw + 1, cy);
    stroke(cr, shade(h->st->lips, 0.45), 1, 1.7);
  }
  cairo_restore(cr);
}

/* ---- eyes, brows, glasses ---- */

/* An eye's own space: outer corner at +x, foreshortened by the yaw. */
static void eye_space(cairo_t *cr, const head *h, int side) {
  cairo_save(cr);
  cairo_translate(cr, side * h->a * 0.42 + h->fx * 0.9, h->fy * 0.9);
  cairo_scale(cr, side * (1 + side * h->yaw * 0.012), 1);
}

/* The upper lid edge at b = 0 and the lower one at b = 1: a blink slides between them. */
static void lid_curve(double b, double s[6]) {
  static const double up[6] = {-EYE_W * 0.5, -EYE_H * 1.3, EYE_W * 0.5, -EYE_H * 1.35, EYE_W, -1.5};
  static const double lo[6] = {-EYE_W * 0.5, EYE_H * 0.95, EYE_W * 0.5, EYE_H, EYE_W, -1.5};
  for (int i = 0; i < 6; i++) s[i] = up[i] + (lo[i] - up[i]) * b;
}

static void eye_dots(cairo_t *cr, const head *h, double dx, double dy, double r, uint32_t c) {
  double g = h->yaw * 0.25; /* the gaze follows the turn a little */
  for (int s = -1; s <= 1; s += 2) {
    eye_space(cr, h, s);
    ellipse(cr, s * (g + dx), dy, r, r);
    cairo_restore(cr);
  }
  rgb(cr, c);
  cairo_fill(cr);
}

/* Lid edges in an eye's space: from the inner corner along `a`, back along `b`. */
static void eye_region(cairo_t *cr, const head *h, const double a[6], const double b[6], double drop) {
  for (int s = -1; s <= 1; s += 2) {
    eye_space(cr, h, s);
    cairo_move_to(cr, -EYE_W, 0);
    cairo_curve_to(cr, a[0], a[1], a[2], a[3], a[4], a[5]);
    cairo_curve_to(cr, b[2], b[3] + drop, b[0], b[1] + drop, -EYE_W, 0);
    cairo_restore(cr);
  }
}

/* Whites, iris, pupil and glint, then the lid down to the blink line and
 * skin under the lower lid over what of the iris spills out (cheaper than
 * a clip, which costs a mask per call). */
static void draw_eyes(cairo_t *cr, const head *h) {
  const mira_cartoon_style *st = h->st;
  double u[6], l[6], lid[6];
  lid_curve(0, u);
  lid_curve(1, l);
  lid_curve(0.12 + 0.88 * h->blink, lid); /* relaxed lids cover the top of the iris */
  eye_region(cr, h, u, l, 0);
  rgb(cr, 0xfbf8f4);
  cairo_fill(cr);
  eye_dots(cr, h, 0, 0.5, 8.2, st->eyes);
  eye_dots(cr, h, 0, 0.5, 4.0, 0x17110f);
  eye_dots(cr, h, -2.6, -2.4, 2.0, 0xffffff);
  eye_region(cr, h, l, l, 5);
  rgb(cr, st->skin);
  cairo_fill(cr);
  eye_region(cr, h, u, lid, 0);
  rgb(cr, shade(st->skin, 0.08));
  cairo_fill(cr);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  for (int s = -1; s <= 1; s += 2) {
    eye_space(cr, h, s);
    curve(cr, -EYE_W, 0, lid[0], lid[1], lid[2], lid[3], lid[4], lid[5]);
    if (st->lashes) cairo_line_to(cr, EYE_W + 5, -6 + 4 * h->blink);
    cairo_restore(cr);
  }
  stroke(cr, 0x2a1c1a, 1, 2.6);
  for (int s = -1; s <= 1; s += 2) {
    eye_space(cr, h, s);
    curve(cr, -EYE_W * 0.7, -EYE_H * 1.5, -EYE_W * 0.2, -EYE_H * 2, EYE_W * 0.5, -EYE_H * 1.95, EYE_W * 0.9,
          -EYE_H * 1.2);
    curve(cr, -EYE_W * 0.8, 2, l[0] * 0.9, l[1] * 0.9, l[2] * 0.9, l[3] * 0.9, l[4] * 0.95, l[5]);
    cairo_restore(cr);
  }
  stroke(cr, shade(st->skin, 0.4), 0.35, 1.5);
}

static void draw_brows(cairo_t *cr, const head *h) {
  double w = h->st->brow_w, y = -24 - h->brow_lift + h->fy * 0.9;
  for (int s = -1; s <= 1; s += 2) {
    cairo_save(cr);
    cairo_translate(cr, s * h->a * 0.42 + h->fx * 0.9, y);
    cairo_scale(cr, s, 1);
    cairo_move_to(cr, -17, w * 0.55);
    cairo_curve_to(cr, -8, -w * 0.2, 6, -w * 0.1, 20, w * 0.9);
    cairo_curve_to(cr, 6, -w * 1.1, -8, -w * 1.45, -17, -w * 0.55);
    cairo_close_path(cr);
    cairo_restore(cr);
  }
  rgb(cr, h->st->brows);
  cairo_fill(cr);
}

static void rounded_rect(cairo_t *cr, double x0, double y0, double w, double h, double r) {
  cairo_new_sub_path(cr);
  cairo_arc(cr, x0 + w - r, y0 + r, r, -M_PI / 2, 0);
  cairo_arc(cr, x0 + w - r, y0 + h - r, r, 0, M_PI / 2);
  cairo_arc(cr, x0 + r, y0 + h - r, r, M_PI / 2, M_PI);
  cairo_arc(cr, x0 + r, y0 + r, r, M_PI, 1.5 * M_PI);
  cairo_close_path(cr);
}

static void draw_glasses(cairo_t *cr, const head *h) {
  const mira_cartoon_style *st = h->st;
  double ex = h->a * 0.42, in = st->glasses == GLASSES_ROUND ? ex - 18 : ex - 21;
  cairo_save(cr);
  cairo_translate(cr, h->fx * 0.9, h->fy * 0.9);
  for (int s = -1; s <= 1; s += 2) {
    if (st->glasses == GLASSES_ROUND) {
      cairo_new_sub_path(cr);
      cairo_arc(cr, s * ex, 1, 18, 0, 2 * M_PI);
    } else {
      rounded_rect(cr, s * ex - 21, -13, 42, 28, 6);
    }
  }
  rgba(cr, 0xffffff, 0.14);
  cairo_fill_preserve(cr);
  curve(cr, -in, -2, -in * 0.4, -7, in * 0.4, -7, in, -2);
  stroke(cr, st->frames, 1, 3.2);
  cairo_restore(cr);
}

/* ---- hair ---- */

/* The crown of each style: how far it rises over the forehead, how far it
 * stands off the sides, and down to which height (head units). */
static const double crowns[][3] = {
    [HAIR_SHORT] = {20, 4, -6}, [HAIR_TOUSLED] = {24, 4, -8}, [HAIR_FADE] = {9, 1, -18},
    [HAIR_BALD] = {0, 0, 0},    [HAIR_AFRO] = {10, 4, -12},   [HAIR_LONG] = {22, 6, 40},
    [HAIR_BOB] = {22, 8, -10},  [HAIR_BUN] = {14, 3, -4},     [HAIR_PONYTAIL] = {14, 3, -4}};

/* The crown's outline from the left side over the top to the right side;
 * the caller closes it along its own hairline. */
static void crown(cairo_t *cr, const head *h) {
  const double *k = crowns[h->st->hair_style];
  double a = h->a, t = h->top, lift = k[0], m = k[1], y = h->st->hair_style == HAIR_BOB ? h->st->chin - 10 : k[2];
  cairo_move_to(cr, -a - m, y);
  cairo_curve_to(cr, -a - m * 1.5, t * 0.6, -a * 0.62, t - lift, 0, t - lift);
  cairo_curve_to(cr, a * 0.62, t - lift, a + m * 1.5, t * 0.6, a + m, y);
}

static void fill_hair(cairo_t *cr, const head *h, const double (*s)[8], int n) {
  rgb(cr, h->st->hair);
  cairo_fill(cr);
  if (!n) return;
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  for (int i = 0; i < n; i++) curve(cr, s[i][0], s[i][1], s[i][2], s[i][3], s[i][4], s[i][5], s[i][6], s[i][7]);
  stroke(cr, tint(h->st->hair, 0.35), 0.55, 2.4);
}

/* Hair that hangs behind the head and shoulders (drawn before the body). */
static void hair_back(cairo_t *cr, const head *h) {
  const mira_cartoon_style *st = h->st;
  double a = h->a, t = h->top;
  if (st->hair_style == HAIR_LONG) {
    double s[][6] = {{a * 0.9, t - 24, a + 22, t * 0.7, a + 24, -10},
                     {a + 28, 60, a + 40, 120, a + 44, 178},
                     {a + 20, 188, a * 0.4, 182, 0, 176}};
    sym_path(cr, t - 24, s, 3);
  } else if (st->hair_style == HAIR_BOB) {
    double s[][6] = {{a * 0.9, t - 22, a + 20, t * 0.7, a + 20, 0},
                     {a + 21, 50, a + 18, st->chin - 6, a + 6, st->chin + 2},
                     {a * 0.5, st->chin, a * 0.3, 60, 0, 60}};
    sym_path(cr, t - 22, s, 3);
  } else if (st->hair_style == HAIR_AFRO) {
    for (int i = 0; i < 14; i++) {
      double th = i * 2 * M_PI / 14;
      ellipse(cr, cos(th) * a * 1.45, t * 0.45 - sin(th) * t * 0.95, 26, 26);
    }
    ellipse(cr, 0, t * 0.45, a * 1.45, -t * 0.95);
  } else if (st->hair_style == HAIR_BUN) {
    ellipse(cr, 0, t - 34, 30, 27);
    crown(cr, h);
  } else if (st->hair_style == HAIR_PONYTAIL) {
    cairo_move_to(cr, a * 0.4, t * 0.92);
    cairo_curve_to(cr, a + 36, t * 0.95, a + 44, t * 0.1, a + 30, 60);
    cairo_curve_to(cr, a + 24, 110, a + 32, 140, a + 14, 172);
    cairo_curve_to(cr, a + 4, 130, a + 10, 90, a + 4, 40);
    cairo_curve_to(cr, a, 0, a * 0.8, t * 0.5, a * 0.4, t * 0.92);
    crown(cr, h);
  } else if (st->hair_style != HAIR_BALD) { /* behind the face, so no gap shows under the hairline */
    crown(cr, h);
  } else {
    return;
  }
  rgb(cr, st->hair_style == HAIR_AFRO || st->hair_style == HAIR_BUN ? st->hair : shade(st->hair, 0.15));
  cairo_fill(cr);
}

/* Tufts over the crown and pointed locks swept over the forehead. */
static void tousled(cairo_t *cr, const head *h) {
  static const double tuft[][6] = {{-0.55, -26, -0.35, -30, -0.25, -24}, {-0.12, -38, 0.1, -36, 0.18, -28},
                                   {0.35, -36, 0.6, -30, 0.62, -18}};
  static const double lock[][2] = {{0.48, 0.50}, {0.14, 0.57}, {-0.22, 0.49}, {-0.56, 0.58}}; /* tip x, y (of a, top) */
  double a = h->a, t = h->top, base = 0.72, x = a * 0.78;
  cairo_move_to(cr, -a - 4, -8);
  cairo_curve_to(cr, -a - 8, t * 0.5, -a * 0.9, t * 0.9, -a * 0.62, t - 14);
  for (int i = 0; i < 3; i++)
    cairo_curve_to(cr, a * tuft[i][0], t + tuft[i][1], a * tuft[i][2], t + tuft[i][3], a * tuft[i][4], t + tuft[i][5]);
  cairo_curve_to(cr, a * 0.9, t - 16, a + 8, t * 0.5, a + 4, -8);
  cairo_line_to(cr, a - 3, -8);
  cairo_curve_to(cr, a - 2, t * 0.45, a * 0.9, t * 0.6, x, t * 0.66);
  for (int i = 0; i < 4; i++) { /* each lock: down to its tip, back up to the next root */
    double tx = a * lock[i][0], ty = t * lock[i][1], nx = i < 3 ? a * (lock[i][0] + lock[i + 1][0]) * 0.5 : -a * 0.8;
    cairo_curve_to(cr, x - 4, t * base, tx + 8, ty - 6, tx, ty);
    cairo_curve_to(cr, tx - 4, ty - 8, nx + 8, t * base, nx, t * (base + 0.02));
    x = nx;
  }
  cairo_curve_to(cr, -a * 0.95, t * 0.62, -a + 3, t * 0.4, -a + 3, -8);
  static const double s[][8] = {{-40, -112, -20, -124, 10, -122, 30, -106}, {0, -118, 20, -124, 45, -112, 55, -94}};
  fill_hair(cr, h, s, 2);
}

/* Short crops: a crown closed along a side-parted, jagged or straight hairline. */
static void hair_short(cairo_t *cr, const head *h) {
  double a = h->a, t = h->top;
  switch (h->st->hair_style) {
  case HAIR_SHORT: {
    crown(cr, h);
    cairo_line_to(cr, a - 3, -6);
    cairo_curve_to(cr, a - 3, t * 0.35, a * 0.8, t * 0.52, a * 0.55, t * 0.55);
    cairo_curve_to(cr, a * 0.1, t * 0.6, -a * 0.35, t * 0.74, -a * 0.62, t * 0.74);
    cairo_curve_to(cr, -a * 0.85, t * 0.72, -a + 3, t * 0.5, -a + 3, -6);
    static const double s[][8] = {{-30, -112, -10, -118, 20, -112, 50, -92}, {-40, -100, -10, -104, 20, -96, 40, -80}};
    fill_hair(cr, h, s, 2);
    break;
  }
  case HAIR_TOUSLED:
    tousled(cr, h);
    break;
  default: /* HAIR_FADE */
    crown(cr, h);
    cairo_line_to(cr, a - 4, -18);
    cairo_curve_to(cr, a - 4, t * 0.55, a * 0.8, t * 0.78, a * 0.55, t * 0.8);
    cairo_curve_to(cr, a * 0.2, t * 0.84, -a * 0.2, t * 0.84, -a * 0.55, t * 0.8);
    cairo_curve_to(cr, -a * 0.8, t * 0.78, -a + 4, t * 0.55, -a + 4, -18);
    fill_hair(cr, h, NULL, 0);
    break;
  }
}

/* Longer styles: the crown comes down the sides of the face. */
static void hair_long(cairo_t *cr, const head *h) {
  double a = h->a, t = h->top, c = h->st->chin;
  if (h->st->hair_style == HAIR_LONG) {
    crown(cr, h);
    cairo_curve_to(cr, a + 10, 80, a + 16, 110, a + 20, 140);
    cairo_curve_to(cr, a - 6, 110, a - 6, 60, a - 5, 20);
    cairo_curve_to(cr, a - 5, t * 0.5, a * 0.4, t * 0.7, -a * 0.2, t * 0.95);
    cairo_curve_to(cr, -a * 0.6, t * 0.6, -a + 4, t * 0.3, -a + 4, 20);
    cairo_curve_to(cr, -a + 2, 60, -a + 4, 110, -a - 18, 140);
    cairo_curve_to(cr, -a - 14, 110, -a - 8, 80, -a - 6, 40);
    static const double s[][8] = {{-16, -110, 10, -108, 40, -90, 60, -60}, {-26, -100, -50, -80, -66, -50, -68, -10}};
    fill_hair(cr, h, s, 2);
    return;
  }
  crown(cr, h); /* HAIR_BOB */
  cairo_curve_to(cr, a + 6, 50, a - 2, 10, a - 3, -10);
  if (h->st->bangs) {
    cairo_curve_to(cr, a - 3, t * 0.4, a * 0.8, t * 0.42, a * 0.6, t * 0.42);
    cairo_curve_to(cr, a * 0.2, t * 0.4, -a * 0.2, t * 0.4, -a * 0.6, t * 0.42);
    cairo_curve_to(cr, -a * 0.8, t * 0.42, -a + 3, t * 0.4, -a + 3, -10);
  } else { /* swept from a side parting */
    cairo_curve_to(cr, a - 1, t * 0.35, a * 0.6, t * 0.45, a * 0.2, t * 0.6);
    cairo_curve_to(cr, -a * 0.15, t * 0.72, -a * 0.3, t * 0.9, -a * 0.35, t * 0.98);
    cairo_curve_to(cr, -a * 0.6, t * 0.8, -a + 2, t * 0.5, -a + 3, -10);
  }
  cairo_curve_to(cr, -a + 2, 10, -a - 6, 50, -a - 8, c - 10);
  static const double s[][8] = {{-30, -106, 0, -110, 30, -104, 55, -84}, {-60, -80, -70, -50, -74, -10, -76, 30}};
  fill_hair(cr, h, s, 2);
}

static void hair_front(cairo_t *cr, const head *h) {
  const mira_cartoon_style *st = h->st;
  double a = h->a, t = h->top;
  cairo_save(cr);
  cairo_translate(cr, h->fx * 0.3, h->fy * 0.2);
  switch (st->hair_style) {
  case HAIR_SHORT:
  case HAIR_TOUSLED:
  case HAIR_FADE:
    hair_short(cr, h);
    break;
  case HAIR_LONG:
  case HAIR_BOB:
    hair_long(cr, h);
    break;
  case HAIR_BALD: /* tufts above the ears and a shine on the scalp */
    for (int s = -1; s <= 1; s += 2) {
      cairo_move_to(cr, s * (a - 4), -40);
      cairo_curve_to(cr, s * (a + 10), -44, s * (a + 12), -10, s * (a + 4), 4);
      cairo_curve_to(cr, s * (a + 1), -10, s * (a - 2), -25, s * (a - 4), -40);
    }
    fill_hair(cr, h, NULL, 0);
    ellipse(cr, -a * 0.3, t * 0.78, 18, 8);
    rgba(cr, 0xffffff, 0.22);
    cairo_fill(cr);
    break;
  case HAIR_AFRO:
    crown(cr, h);
    cairo_line_to(cr, a - 4, -12);
    cairo_curve_to(cr, a - 2, t * 0.5, a * 0.6, t * 0.78, 0, t * 0.78);
    cairo_curve_to(cr, -a * 0.6, t * 0.78, -a + 2, t * 0.5, -a + 4, -12);
    fill_hair(cr, h, NULL, 0);
    break;
  default: { /* HAIR_BUN, HAIR_PONYTAIL: pulled back */
    crown(cr, h);
    cairo_line_to(cr, a - 3, -4);
    cairo_curve_to(cr, a - 3, t * 0.5, a * 0.6, t * 0.84, 0, t * 0.86);
    cairo_curve_to(cr, -a * 0.6, t * 0.84, -a + 3, t * 0.5, -a + 3, -4);
    static const double s[][8] = {{-30, -100, -15, -112, 15, -112, 30, -100}, {-55, -80, -40, -104, -10, -110, 0, -108}};
    fill_hair(cr, h, s, 2);
  }
  }
  cairo_restore(cr);
}

/* Beard and moustache: the lower face outline (a little fuller), up the
 * cheeks and over the upper lip, with a hole round the lips; it follows the
 * jaw. Stubble is the same shape as a faint shadow, without the hole. */
static void draw_beard(cairo_t *cr, const head *h) {
  const mira_cartoon_style *st = h->st;
  double a = h->a, my = h->my + h->fy, mx = h->fx * 1.05, hw = h->hw;
  double k = st->beard == BEARD_FULL ? 1.08 : 1.02;
  double jx = h->jx * k, jy = h->jy * k, cx = (h->jx - (h->jx - h->cw) * 0.6) * k;
  double cy = (h->jy + (h->chin - h->jy) * 0.75) * k, mid = (h->jx + (a - h->jx) * 0.45) * k;
  cairo_save(cr);
  cairo_translate(cr, h->fx * 0.2, 0);
  cairo_move_to(cr, a, -4);
  cairo_curve_to(cr, a * 1.01, h->jy * 0.5, mid, h->jy * 0.9 * k, jx, jy);
  cairo_curve_to(cr, cx, cy, h->cw * k, h->chin * k, 0, h->chin * k);
  cairo_curve_to(cr, -h->cw * k, h->chin * k, -cx, cy, -jx, jy);
  cairo_curve_to(cr, -mid, h->jy * 0.9 * k, -a * 1.01, h->jy * 0.5, -a, -4);
  cairo_restore(cr);
  cairo_curve_to(cr, -a * 0.95, 30, -a * 0.75, 50, mx - hw - 10, my - 6);
  cairo_curve_to(cr, mx - hw * 0.6, my - 16, mx + hw * 0.6, my - 16, mx + hw + 10, my - 6);
  cairo_curve_to(cr, a * 0.75, 50, a * 0.95, 30, a + h->fx * 0.2, -4);
  cairo_close_path(cr);
  if (st->beard == BEARD_STUBBLE) {
    rgba(cr, shade(st->hair, 0.3), 0.14);
    cairo_fill(cr);
    return;
  }
  ellipse(cr, mx, my + (h->gb - h->ut) * 0.5 + 1, hw + 4, (h->ut + h->gb + h->lt) * 0.5 + 3);
  cairo_set_fill_rule(cr, CAIRO_FILL_RULE_EVEN_ODD);
  rgb(cr, st->hair);
  cairo_fill(cr);
  cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
}

static void draw_head(cairo_t *cr, const head *h) {
  draw_ears(cr, h);
  draw_face(cr, h);
  if (h->st->lines) draw_lines(cr, h);
  if (h->st->beard) draw_beard(cr, h);
  draw_nose(cr, h);
  draw_mouth(cr, h);
  draw_eyes(cr, h);
  hair_front(cr, h);
  draw_brows(cr, h);
  if (h->st->glasses) draw_glasses(cr, h);
}

/* ---- body and backdrop (design units) ---- */

static void clothes_details(cairo_t *cr, const mira_cartoon_style *st, double nw, double v) {
  switch (st->clothes_style) {
  case CLOTHES_CREW:
    curve(cr, -nw - 5, 372, -nw * 0.8, v + 2, nw * 0.8, v + 2, nw + 5, 372);
    stroke(cr, st->accent, 1, 7);
    break;
  case CLOTHES_HOODIE:
    curve(cr, -nw - 12, 368, -nw * 0.9, v + 12, nw * 0.9, v + 12, nw + 12, 368);
    stroke(cr, st->accent, 1, 16);
    for (int s = -1; s <= 1; s += 2) curve(cr, s * 14, v + 16, s * 15, v + 40, s * 17, v + 60, s * 16, v + 76);
    stroke(cr, 0xf4f1ea, 1, 3.5);
    break;
  case CLOTHES_COLLAR:
    for (int s = -1; s <= 1; s += 2) {
      cairo_move_to(cr, s * (nw + 4), 364);
      cairo_line_to(cr, s * (nw + 34), 388);
      cairo_line_to(cr, s * 6, v + 4);
      cairo_curve_to(cr, s * 4, v - 20, s * nw * 0.8, 396, s * (nw - 2), 374);
      cairo_close_path(cr);
    }
    rgb(cr, tint(st->clothes, 0.25));
    cairo_fill(cr);
    cairo_move_to(cr, 0, v + 4);
    cairo_line_to(cr, 0, 520);
    stroke(cr, shade(st->clothes, 0.4), 0.6, 2);
    break;
  default: { /* CLOTHES_BLAZER: a shirt in the V, lapels over it */
    double sh[][6] = {{20, 470, nw + 4, 406, nw + 8, 370}, {nw, 368, nw, 368, 0, 368}};
    sym_path(cr, 500, sh, 2);
    rgb(cr, st->accent);
    cairo_fill(cr);
    for (int s = -1; s <= 1; s += 2) {
      cairo_move_to(cr, s * (nw + 8), 366);
      cairo_curve_to(cr, s * (nw + 4), 406, s * 30, 456, s * 4, 512);
      cairo_line_to(cr, s * 44, 466);
      cairo_line_to(cr, s * 80, 436);
      cairo_curve_to(cr, s * 62, 406, s * (nw + 30), 380, s * (nw + 22), 370);
      cairo_close_path(cr);
    }
    rgb(cr, shade(st->clothes, 0.2));
    cairo_fill(cr);
  }
  }
}

/* Neck and shoulders; lift raises them (breathing). */
static void draw_body(cairo_t *cr, const mira_cartoon_style *st, double lift) {
  double nw = st->a * 0.42, ny = HEAD_Y + st->chin * 0.5, c = HEAD_Y + st->chin;
  double v = st->clothes_style == CLOTHES_CREW || st->clothes_style == CLOTHES_HOODIE ? 394 : 436;
  cairo_save(cr);
  cairo_translate(cr, HEAD_X, -lift);
  if (st->clothes_style == CLOTHES_HOODIE) { /* the hood lies behind the neck */
    double s[][6] = {{nw + 40, 330, nw + 56, 356, nw + 50, 388}, {nw + 30, 416, 20, 416, 0, 416}};
    sym_path(cr, 330, s, 2);
    rgb(cr, shade(st->clothes, 0.25));
    cairo_fill(cr);
  }
  cairo_rectangle(cr, -nw, ny, 2 * nw, 440 - ny);
  rgb(cr, shade(st->skin, 0.12));
  cairo_fill(cr);
  double sh[][6] = {{nw, c - 10, nw, c - 10, nw, c - 10}, {nw, c + 14, nw, c + 14, nw, c + 14},
                    {nw * 0.5, c + 24, nw * 0.3, c + 24, 0, c + 24}}; /* the chin's shadow */
  sym_path(cr, c - 10, sh, 3);
  rgb(cr, shade(st->skin, 0.24));
  cairo_fill(cr);
  double torso[][6] = {{nw * 0.7, v, nw + 4, v - 18, nw + 6, 370},
                       {nw + 30, 380, 100, 386, 150, 392},
                       {200, 400, 228, 426, 234, 466},
                       {238, 520, 240, 560, 240, 580},
                       {120, 580, 60, 580, 0, 580}};
  sym_path(cr, v, torso, 5);
  rgb(cr, st->clothes);
  cairo_fill(cr);
  for (int s = -1; s <= 1; s += 2) curve(cr, s * 178, 436, s * 176, 466, s * 174, 496, s * 172, 520);
  stroke(cr, shade(st->clothes, 0.35), 0.5, 2.5);
  clothes_details(cr, st, nw, v);
  cairo_restore(cr);
}

static void draw_backdrop(cairo_t *cr, const mira_cartoon_style *st) {
  cairo_pattern_t *g = cairo_pattern_create_linear(0, 0, 0, DESIGN);
  stop(g, 0, st->bg, 1);
  stop(g, 1, st->backdrop == BG_GRADIENT ? st->bg2 : st->bg, 1);
  cairo_set_source(cr, g);
  cairo_paint(cr);
  cairo_pattern_destroy(g);
  if (st->backdrop == BG_SHAPES) {
    ellipse(cr, 80, 120, 60, 60);
    rgba(cr, st->bg2, 0.7);
    cairo_fill(cr);
    ellipse(cr, 440, 300, 90, 90);
    rgba(cr, st->bg2, 0.5);
    cairo_fill(cr);
    ellipse(cr, 420, 90, 24, 24);
    rgba(cr, 0xffffff, 0.5);
    cairo_fill(cr);
  }
  cairo_pattern_t *glow = cairo_pattern_create_radial(HEAD_X, HEAD_Y, 0, HEAD_X, HEAD_Y, 230);
  stop(glow, 0, 0xffffff, 0.45);
  stop(glow, 1, 0xffffff, 0);
  cairo_set_source(cr, glow);
  cairo_paint(cr);
  cairo_pattern_destroy(glow);
}

/* ---- frames ---- */

static int has_back_hair(const mira_cartoon_style *st) {
  return st->hair_style == HAIR_LONG || st->hair_style == HAIR_BOB || st->hair_style == HAIR_AFRO ||
         st->hair_style == HAIR_BUN || st->hair_style == HAIR_PONYTAIL;
}

static void design_matrix(const cartoon *c, cairo_t *cr) {
  cairo_translate(cr, c->ox, c->oy);
  cairo_scale(cr, c->scale, c->scale);
}

/* full = 1: the camera moves the character (not the backdrop) and the
 * body sways with it. */
static void camera_matrix(const cartoon *c, cairo_t *cr, const mira_anim_pose *p) {
  double w = c->base.w, h = c->base.h, z = 1 + clampd(p->cam_zoom, -0.2, 0.2);
  cairo_translate(cr, w * 0.5, h * 0.5);
  cairo_scale(cr, z, z);
  cairo_translate(cr, -w * 0.5, -h * 0.5);
  cairo_translate(cr, (clampd(p->sway_x, -0.1, 0.1) - clampd(p->cam_x, -0.1, 0.1)) * w,
                  clampd(p->sway_y, -0.1, 0.1) * w - clampd(p->cam_y, -0.1, 0.1) * h);
}

/* The head group: roll turns it about the top of the neck, yaw and pitch
 * shift it a little (the features shift more: see head_from_pose). */
static void head_matrix(cairo_t *cr, const head *h, const mira_anim_pose *p, double lift) {
  double pivot = h->st->chin - 10;
  cairo_translate(cr, HEAD_X + h->fx * 0.3, HEAD_Y - lift + h->fy * 0.4 + pivot);
  cairo_rotate(cr, clampd(p->roll, -10, 10) * DEG);
  cairo_translate(cr, 0, -pivot);
}

/* The frame pixels the head may touch under the current (head) matrix. */
static void head_box(const cartoon *c, cairo_t *cr, const head *h, int box[4]) {
  double xs = h->a * 1.5 + 36, ys[2] = {h->top * 1.4 - 44, 210};
  double lo[2] = {1e9, 1e9}, hi[2] = {-1e9, -1e9};
  for (int i = 0; i < 4; i++) {
    double p[2] = {i & 1 ? xs : -xs, ys[i >> 1]};
    cairo_user_to_device(cr, &p[0], &p[1]);
    for (int k = 0; k < 2; k++) {
      lo[k] = p[k] < lo[k] ? p[k] : lo[k];
      hi[k] = p[k] > hi[k] ? p[k] : hi[k];
    }
  }
  int lim[2] = {c->base.w, c->base.h};
  for (int k = 0; k < 2; k++) {
    box[k] = (int)clampd(floor(lo[k]) - 2, 0, lim[k]);
    box[k + 2] = (int)clampd(ceil(hi[k]) + 2, box[k], lim[k]);
  }
}

static void pack_span(const cartoon *c, int y, int x0, int x1, uint8_t *d) {
  const uint32_t *s = (const uint32_t *)(cairo_image_surface_get_data(c->frame) +
                                         (size_t)y * cairo_image_surface_get_stride(c->frame));
  int x = x0; /* pixels are opaque (the backdrop covers everything): nothing to un-premultiply */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (; x + 4 <= x1; x += 4, d += 12) { /* 4 pixels -> 3 words; bswap turns 0xRRGGBB into R,G,B bytes */
    uint32_t q0 = __builtin_bswap32(s[x]) >> 8, q1 = __builtin_bswap32(s[x + 1]) >> 8;
    uint32_t q2 = __builtin_bswap32(s[x + 2]) >> 8, q3 = __builtin_bswap32(s[x + 3]) >> 8;
    uint32_t w[3] = {q0 | q1 << 24, q1 >> 8 | q2 << 16, q2 >> 16 | q3 << 8};
    memcpy(d, w, sizeof w);
  }
#endif
  for (; x < x1; x++, d += 3) {
    d[0] = (uint8_t)(s[x] >> 16);
    d[1] = (uint8_t)(s[x] >> 8);
    d[2] = (uint8_t)s[x];
  }
}

/* RGB out: the box from the surface, everything else from `rest` (which
 * must be given unless the box is the whole frame). */
static void pack_frame(const cartoon *c, const int box[4], const uint8_t *rest, uint8_t *out, int stride) {
  size_t row = (size_t)c->base.w * 3;
  for (int y = 0; y < c->base.h; y++) {
    uint8_t *d = out + (size_t)y * stride;
    const uint8_t *r = rest ? rest + y * row : NULL;
    if (y < box[1] || y >= box[3]) {
      memcpy(d, r, row);
      continue;
    }
    if (r) memcpy(d, r, (size_t)box[0] * 3);
    pack_span(c, y, box[0], box[2], d + (size_t)box[0] * 3);
    if (r) memcpy(d + (size_t)box[2] * 3, r + (size_t)box[2] * 3, row - (size_t)box[2] * 3);
  }
}

static int render(mira_avatar_renderer *r, const mira_anim_pose *pose, uint8_t *out, int stride) {
  cartoon *c = (cartoon *)r;
  cairo_t *cr = c->cr;
  if (!pose || !out || stride < r->w * 3) return MIRA_EINVAL;
  head h;
  head_from_pose(c->st, pose, &h);
  double bodylift = c->full ? 3.0 * clampd(pose->breathe, -1, 1) : 0;
  cairo_matrix_t body, hm;
  cairo_identity_matrix(cr);
  if (c->full) camera_matrix(c, cr, pose);
  design_matrix(c, cr);
  cairo_get_matrix(cr, &body);
  head_matrix(cr, &h, pose, bodylift * 0.6);
  cairo_get_matrix(cr, &hm);
  int box[4] = {0, 0, r->w, r->h};
  if (!c->full) head_box(c, cr, &h, box);
  cairo_save(cr);
  cairo_identity_matrix(cr);
  cairo_rectangle(cr, box[0], box[1], box[2] - box[0], box[3] - box[1]);
  cairo_clip(cr);
  cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
  cairo_set_source_surface(cr, c->still, 0, 0);
  cairo_paint(cr);
  cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
  cairo_set_matrix(cr, &hm);
  hair_back(cr, &h);
  cairo_set_matrix(cr, &body);
  if (c->full) draw_body(cr, c->st, bodylift);
  if (c->body) {
    cairo_identity_matrix(cr);
    cairo_rectangle(cr, 0, c->body_y, r->w, r->h - c->body_y);
    cairo_set_source_surface(cr, c->body, 0, 0);
    cairo_fill(cr);
  }
  cairo_set_matrix(cr, &hm);
  draw_head(cr, &h);
  cairo_restore(cr);
  cairo_surface_flush(c->frame);
  if (cairo_status(cr)) return MIRA_EIO;
  pack_frame(c, box, c->rest, out, stride);
  return 0;
}

static void destroy(mira_avatar_renderer *r) {
  cartoon *c = (cartoon *)r;
  if (!c) return;
  if (c->cr) cairo_destroy(c->cr);
  cairo_surface_destroy(c->frame);
  cairo_surface_destroy(c->still);
  cairo_surface_destroy(c->body);
  free(c->rest);
  free(c);
}

static int draw_layer(cartoon *c, cairo_surface_t *s, int backdrop, int body) {
  cairo_t *cr = cairo_create(s);
  cairo_set_antialias(cr, CAIRO_ANTIALIAS_FAST); /* as per frame: full = 0 and 1 then draw the same body */
  design_matrix(c, cr);
  if (backdrop) draw_backdrop(cr, c->st);
  if (body) draw_body(cr, c->st, 0);
  int rc = cairo_status(cr);
  cairo_destroy(cr);
  return rc;
}

/* Draws what never moves, once: the backdrop, and for full = 0 the body
 * and the packed frame without the head. */
static int prerender(cartoon *c) {
  int w = c->base.w, h = c->base.h, apart = has_back_hair(c->st);
  c->still = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  if (draw_layer(c, c->still, 1, !c->full && !apart)) return -1;
  if (c->full) return 0;
  if (apart) {
    c->body = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    if (draw_layer(c, c->body, 0, 1)) return -1;
    c->body_y = (int)clampd(floor(c->oy + (HEAD_Y + c->st->chin * 0.5) * c->scale), 0, h); /* the neck's top */
  }
  if (!(c->rest = malloc((size_t)w * h * 3))) return -1;
  cairo_set_source_surface(c->cr, c->still, 0, 0);
  cairo_paint(c->cr);
  if (c->body) {
    cairo_set_source_surface(c->cr, c->body, 0, 0);
    cairo_paint(c->cr);
  }
  cairo_surface_flush(c->frame);
  int all[4] = {0, 0, w, h};
  pack_frame(c, all, NULL, c->rest, w * 3);
  return cairo_status(c->cr);
}

int mira_cartoon_count(void) { return NSTYLES; }

const mira_cartoon_info *mira_cartoon_info_of(int index) {
  return index >= 0 && index < NSTYLES ? &styles[index].info : NULL;
}

int mira_cartoon_renderer_new(int index, int w, int h, int full, mira_avatar_renderer **out, char *err,
                              size_t errlen) {
  if (!out) return mira_err(err, errlen, MIRA_EINVAL, "cartoon: no place for the renderer");
  if (index < 0 || index >= NSTYLES)
    return mira_err(err, errlen, MIRA_EINVAL, "cartoon: no illustrated avatar %d (there are %d)", index, NSTYLES);
  int lo = w < h ? w : h, hi = w < h ? h : w;
  if (lo <= 0 || w % 2 || h % 2 || hi > MAX_LONG || lo > MAX_SHORT)
    return mira_err(err, errlen, MIRA_EINVAL, "cartoon: bad frame size %dx%d (even sides, at most %dx%d)", w, h,
                    MAX_LONG, MAX_SHORT);
  cartoon *c = calloc(1, sizeof *c);
  if (!c) return mira_err(err, errlen, MIRA_ENOMEM, "cartoon: out of memory");
  c->base = (mira_avatar_renderer){.w = w, .h = h, .render = render, .destroy = destroy};
  c->st = &styles[index];
  c->full = !!full;
  c->scale = (w * PORTRAIT_CROP < h ? w * PORTRAIT_CROP : h) / DESIGN; /* landscape and square: the height */
  c->ox = (w - DESIGN * c->scale) * 0.5;
  c->oy = h - DESIGN * c->scale; /* stand on the bottom edge */
  c->frame = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  c->cr = cairo_create(c->frame);
  /* 4x4 supersampling instead of cairo's default 256x15: indistinguishable
   * on these shapes at 3x zoom, and a third faster per frame. */
  cairo_set_antialias(c->cr, CAIRO_ANTIALIAS_FAST);
  if (cairo_status(c->cr) || prerender(c)) {
    destroy(&c->base);
    return mira_err(err, errlen, MIRA_ENOMEM, "cartoon: could not draw a %dx%d frame", w, h);
  }
  *out = &c->base;
  return 0;
}
