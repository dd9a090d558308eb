/* The photo renderer: animates a still photo by warping a triangle mesh
 * laid over its 68 landmarks (photo_mesh.c builds it).
 *
 * A pose moves the mesh's vertices: mouth and jaw, lids, head rotation, and
 * with full = 1 body and camera. Each triangle that moved is redrawn by
 * inverse affine mapping into the photo (mesh.c); with full = 0 the rest of
 * the frame is a copy of the photo. The painters (photo_paint.c) then draw
 * what no warp can show: the inside of an open mouth, the lash line of a
 * closing eye.
 *
 * Shapes are computed in the face's own frame (u along the eye line, v down
 * the face) in photo pixels, so a tilted face opens its mouth along its own
 * chin line.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engines/animate/photo_int.h"

#define MIN_SIDE 64         /* px: smaller frames cannot hold a face worth animating */
#define MAX_LONG_SIDE 1920  /* 1080p, either orientation */
#define MAX_SHORT_SIDE 1080
#define MIN_EYE_GAP 8.0     /* px between the eye centres: below this nothing can be animated */
#define MIN_MOUTH_W 6.0     /* px between the mouth corners */

/* Mouth motion in mouth widths (48-54), tuned so that open = 1 parts the inner
 * lips by about 0.45 of the mouth width, as in a wide "aa". */
#define JAW_DROP 0.40f        /* lower lip drop at open = 1 */
#define CHIN_DROP 0.6f        /* the chin follows part way: lips part too, and a textured chin (a beard)
                                 * jumping from frame to frame would cost similarity */
#define UPPER_LIP_RISE 0.02f  /* the upper lip lifts a little as the jaw drops */
#define CORNER_DROP 0.18f     /* mouth corners follow the jaw this much */
#define CORNER_IN 0.05f       /* an open mouth narrows */
#define SPREAD_OUT 0.10f      /* wide = +1: corners out ("ee") ... */
#define SPREAD_UP 0.025f      /* ... and up a little */
#define ROUND_IN 0.14f        /* wide = -1: corners in ("oo") ... */
#define ROUND_PUSH 0.035f     /* ... lips pushed forward: they look fuller ... */
#define ROUND_OPEN 0.02f      /* ... and a rounder opening, */
#define ROUND_OPEN_JAW 0.06f  /* more so when the jaw is open too */
#define TEETH_LIFT 0.03f      /* f/v: the upper lip lifts to show the teeth */
#define TEETH_MIN 0.08f       /* upper teeth shown below the lip: at least this ... */
#define TEETH_MAX 0.2f        /* ... at most this, else 0.9 of what the photo shows */
#define PRESS_JAW 0.75f       /* press closes the jaw this much, so lips need not stretch to meet */
#define PRESS_MEET 0.45f      /* where pressed lips meet, from the upper to the lower inner lip */
#define BLINK_MEET 0.8f       /* closed lids meet this far down the eye */
#define MOUTH_FADE 0.06f      /* mouth widths of change in opening over which painting fades in */
#define LID_PAST_CORNER 0.12  /* eye widths: the lash line reaches past the eye's corners */
#define LID_MAX_H 0.4         /* eye widths: the painted lid reaches at most this far above the lashes */
#define HEAD_MAX_DEG 15.0f

/* full = 1 */
#define BREATHE_FRAC 0.006f   /* of the frame height: shoulder rise at breathe = 1 */
#define BODY_FALLOFF0 2.2f    /* face widths from the face centre where body motion starts to fade */
#define BODY_FALLOFF1 3.5f

static float clampf(float v, float lo, float hi) {
  return v > lo ? (v < hi ? v : hi) : lo; /* NaN -> lo */
}

static float smooth(float e0, float e1, float x) {
  float t = clampf((x - e0) / (e1 - e0), 0, 1);
  return t * t * (3 - 2 * t);
}

/* ---- posing ---- */

typedef struct shape {
  float open, wide, press, teeth, blink;
} shape;

static void move(photo *p, int i, float du, float dv) {
  p->dloc[i].x += du, p->dloc[i].y += dv;
}

static float vpos(const photo *p, int i) { return (float)(p->loc[i].y + p->dloc[i].y); }

/* Jaw drop, lip corners and rounding: displacements in face coordinates. */
static void shape_jaw(photo *p, const shape *s) {
  static const float jaw[17] = {0, 0, .04f, .12f, .28f, .5f, .74f, .92f, 1, .92f, .74f, .5f, .28f, .12f, .04f, 0, 0};
  float W = p->geom.mouth_w, o = s->open * (1 - PRESS_JAW * s->press), J = o * JAW_DROP * W;
  for (int i = 0; i <= 16; i++) move(p, i, 0, CHIN_DROP * J * jaw[i]);
  static const int lower[8] = {55, 56, 57, 58, 59, 65, 66, 67};
  static const float lower_w[8] = {.78f, .95f, 1, .95f, .78f, .97f, 1, .97f};
  for (int k = 0; k < 8; k++) move(p, lower[k], 0, J * lower_w[k]);
  static const int upper[8] = {49, 50, 51, 52, 53, 61, 62, 63};
  static const float upper_w[8] = {.6f, .9f, 1, .9f, .6f, .9f, 1, .9f};
  float rise = (UPPER_LIP_RISE * o + TEETH_LIFT * s->teeth) * W;
  for (int k = 0; k < 8; k++) move(p, upper[k], 0, -rise * upper_w[k]);
  /* corners: side (-1 image left, +1 right) and how much each point follows them */
  static const int side_pts[16] = {48, 49, 50, 58, 59, 60, 61, 67, 54, 53, 52, 56, 55, 64, 63, 65};
  static const float side_w[8] = {1, .55f, .25f, .25f, .55f, 1, .55f, .55f};
  float spread = s->wide > 0 ? s->wide : 0, round = s->wide < 0 ? -s->wide : 0;
  float out = (SPREAD_OUT * spread - ROUND_IN * round - CORNER_IN * o) * W;
  for (int k = 0; k < 16; k++) {
    int i = side_pts[k];
    float wgt = side_w[k % 8], sign = k < 8 ? -1.f : 1.f;
    move(p, i, sign * out * wgt, (CORNER_DROP * J - SPREAD_UP * spread * W) * wgt);
  }
  for (int i = 49; i <= 53; i++) move(p, i, 0, -ROUND_PUSH * round * W);
  for (int i = 55; i <= 59; i++) move(p, i, 0, ROUND_PUSH * round * W);
  for (int i = 61; i <= 63; i++) move(p, i, 0, -ROUND_OPEN * round * W * 0.5f);
  for (int i = 65; i <= 67; i++) move(p, i, 0, (ROUND_OPEN + ROUND_OPEN_JAW * o) * round * W);
}

/* Inner lip pairs, upper then lower, and the outer lip points that move with each. */
static const int lip_pairs[3][2] = {{61, 67}, {62, 66}, {63, 65}};
static const int lip_outer[3][4] = {{49, 50, 59, 58}, {51, 51, 57, 57}, {53, 52, 55, 56}};

/* Moves upper inner lip i by du and lower by dl (v only), outer lips along. */
static void move_lips(photo *p, int k, float uu, float du, float ul, float dl) {
  move(p, lip_pairs[k][0], uu, du), move(p, lip_pairs[k][1], ul, dl);
  const int *o = lip_outer[k];
  float f = o[0] == o[1] ? 0.5f : 1; /* 51 and 57 are listed twice */
  move(p, o[0], uu * f * .8f, du * f * .8f), move(p, o[1], uu * f * .8f, du * f * .8f);
  move(p, o[2], ul * f * .85f, dl * f * .85f), move(p, o[3], ul * f * .85f, dl * f * .85f);
}

/* Teeth tuck the lower lip under the upper teeth; press then closes the lips. */
static void shape_lips(photo *p, const shape *s) {
  for (int k = 0; k < 3 && s->teeth > 0; k++) {
    float up = vpos(p, lip_pairs[k][0]), lo = vpos(p, lip_pairs[k][1]);
    move_lips(p, k, 0, 0, 0, (up + p->geom.teeth_h - lo) * s->teeth);
  }
  for (int k = 0; k < 3 && s->press > 0; k++) {
    int a = lip_pairs[k][0], c = lip_pairs[k][1];
    float up = vpos(p, a), lo = vpos(p, c), meet = up + PRESS_MEET * (lo - up);
    float ua = (float)(p->loc[a].x + p->dloc[a].x), uc = (float)(p->loc[c].x + p->dloc[c].x);
    float um = (ua + uc) / 2;
    move_lips(p, k, (um - ua) * s->press, (meet - up) * s->press, (um - uc) * s->press, (meet - lo) * s->press);
  }
}

static void shape_lids(photo *p, float blink) {
  static const int up[4] = {37, 38, 43, 44}, lo[4] = {41, 40, 47, 46};
  for (int k = 0; k < 4 && blink > 0; k++) { /* the lids meet at one point: nothing of the eye between */
    float u = vpos(p, up[k]), l = vpos(p, lo[k]), meet = u + BLINK_MEET * (l - u);
    float uu = (float)(p->loc[up[k]].x + p->dloc[up[k]].x), ul = (float)(p->loc[lo[k]].x + p->dloc[lo[k]].x);
    float mu = uu + BLINK_MEET * (ul - uu);
    move(p, up[k], (mu - uu) * blink, (meet - u) * blink), move(p, lo[k], (mu - ul) * blink, (meet - l) * blink);
  }
}

static void shape_all(photo *p, const shape *s) {
  memset(p->dloc, 0, sizeof *p->dloc * (size_t)p->nv);
  shape_jaw(p, s);
  shape_lips(p, s);
  shape_lids(p, s->blink);
  for (int i = 0; i < PHOTO_MIDS; i++) p->dloc[PHOTO_MID_INNER + i] = photo_mid(p->dloc, p->mid[i]);
  for (int i = PHOTO_FIRST_EXTRA; i < p->nv; i++)
    if (p->follow[i] >= 0) {
      p->dloc[i].x = p->dloc[p->follow[i]].x * p->follow_w[i];
      p->dloc[i].y = p->dloc[p->follow[i]].y * p->follow_w[i];
    }
}

typedef struct motion {
  float cy, sy, cp, sp, cr, sr; /* yaw, pitch, roll: cos, sin */
  float breathe, sway_x, sway_y, cam_x, cam_y, zoom;
} motion;

/* Head turn of a point in face coordinates: on the ellipsoid, points nearer
 * the camera move more, so the far side foreshortens. */
static mira_point turn(const photo *p, const motion *m, mira_point l, float depth) {
  float du = (float)l.x - p->uc, dv = (float)l.y - p->vc;
  float e = 1 - (du / p->ru) * (du / p->ru) - (dv / p->rv) * (dv / p->rv);
  float z = (e > 0 ? p->ru * sqrtf(e) : 0) + depth;
  mira_point t = {p->uc + du * m->cy + z * m->sy, p->vc + dv * m->cp + z * m->sp};
  return t;
}

static mira_point body_cam(const photo *p, const motion *m, mira_point q) {
  if (!p->full) return q;
  float x = (float)q.x, y = (float)q.y, S = p->S;
  float across = 1 - smooth(BODY_FALLOFF0 * p->face_w, BODY_FALLOFF1 * p->face_w, fabsf(x - p->face_cx));
  float above = smooth(p->hair_y - 1.5f * S, p->hair_y, y); /* background over the head stays */
  float chest = 0.5f + 0.5f * smooth(p->chin_y + 0.2f * S, p->chin_y + 1.8f * S, y);
  float k = across * above;
  q.y -= BREATHE_FRAC * p->base.h * m->breathe * chest * k;
  float sway = k * (1 - 0.5f * smooth(p->chin_y, (float)p->base.h, y));
  q.x += m->sway_x * p->base.w * sway, q.y += m->sway_y * p->base.h * sway;
  float cx = (p->base.w - 1) / 2.f, cy = (p->base.h - 1) / 2.f;
  q.x = cx + (1 + m->zoom) * (q.x - cx) + m->cam_x * p->base.w;
  q.y = cy + (1 + m->zoom) * (q.y - cy) + m->cam_y * p->base.h;
  return q;
}

/* Where a point of the face goes: l is its shaped position in face
 * coordinates, rest its place in the photo. Motions that are zero leave the
 * point exactly where it was, so full = 0 redraws only what moved. */
static mira_point place(const photo *p, const motion *m, mira_point rest, mira_point l0, mira_point l,
                        float head, float depth) {
  if (head > 0 && (m->sy != 0 || m->sp != 0)) {
    mira_point t = turn(p, m, l, depth);
    l.x += head * (t.x - l.x), l.y += head * (t.y - l.y);
  }
  double du = l.x - l0.x, dv = l.y - l0.y;
  mira_point q = rest;
  if (du != 0 || dv != 0) q.x += du * p->ex.x + dv * p->ey.x, q.y += du * p->ex.y + dv * p->ey.y;
  if (head > 0 && m->sr != 0) {
    double dx = q.x - p->pivot.x, dy = q.y - p->pivot.y;
    q.x += head * (p->pivot.x + dx * m->cr - dy * m->sr - q.x);
    q.y += head * (p->pivot.y + dx * m->sr + dy * m->cr - q.y);
  }
  return body_cam(p, m, q);
}

static void motion_of(const photo *p, const mira_anim_pose *pose, motion *m) {
  const float rad = (float)M_PI / 180;
  float yaw = clampf(pose->yaw, -HEAD_MAX_DEG, HEAD_MAX_DEG) * rad;
  float pitch = clampf(pose->pitch, -HEAD_MAX_DEG, HEAD_MAX_DEG) * rad;
  float roll = clampf(pose->roll, -HEAD_MAX_DEG, HEAD_MAX_DEG) * rad;
  m->cy = cosf(yaw), m->sy = sinf(yaw), m->cp = cosf(pitch), m->sp = sinf(pitch);
  m->cr = cosf(roll), m->sr = sinf(roll);
  m->breathe = clampf(pose->breathe, -1, 1);
  m->sway_x = clampf(pose->sway_x, -0.05f, 0.05f), m->sway_y = clampf(pose->sway_y, -0.05f, 0.05f);
  m->cam_x = clampf(pose->cam_x, -0.05f, 0.05f), m->cam_y = clampf(pose->cam_y, -0.05f, 0.05f);
  m->zoom = clampf(pose->cam_zoom, -0.1f, 0.1f);
}

/* Places every vertex for a pose: shapes in face coordinates, then head,
 * body and camera; outline midpoints follow their landmarks. Sets where each
 * vertex samples the photo (closing upper lids sample a little higher). */
static void pose_mesh(photo *p, const mira_anim_pose *pose, motion *m) {
  shape s = {clampf(pose->open, 0, 1), clampf(pose->wide, -1, 1), clampf(pose->press, 0, 1),
             clampf(pose->teeth, 0, 1), clampf(pose->blink, 0, 1)};
  shape_all(p, &s);
  motion_of(p, pose, m);
  for (int i = 0; i < p->nv; i++) {
    p->from[i] = p->rest[i];
    if (i >= PHOTO_MID_INNER && i < PHOTO_FIRST_EXTRA) continue;
    mira_point l = {p->loc[i].x + p->dloc[i].x, p->loc[i].y + p->dloc[i].y};
    p->pos[i] = place(p, m, p->rest[i], p->loc[i], l, p->head[i], p->depth[i]);
    if (p->lift[i] > 0 && s.blink > 0)
      p->from[i].x -= p->lift[i] * s.blink * p->ey.x, p->from[i].y -= p->lift[i] * s.blink * p->ey.y;
  }
  for (int i = 0; i < PHOTO_MIDS; i++) {
    mira_point q = photo_mid(p->pos, p->mid[i]), f = photo_mid(p->from, p->mid[i]), o = p->mid_off[i];
    p->pos[PHOTO_MID_INNER + i].x = q.x + o.x, p->pos[PHOTO_MID_INNER + i].y = q.y + o.y;
    p->from[PHOTO_MID_INNER + i].x = f.x + o.x, p->from[PHOTO_MID_INNER + i].y = f.y + o.y;
  }
}

/* ---- rendering ---- */

static void paint_setup(const photo *p, const mira_anim_pose *pose, const motion *m, photo_paint *pp) {
  pp->scale = 1 + m->zoom;
  for (int k = 0; k < 8; k++) pp->lips[2 * k] = p->pos[60 + k], pp->lips[2 * k + 1] = p->pos[PHOTO_MID_INNER + k];
  for (int e = 0; e < 2; e++) {
    mira_point *lid = pp->lid_shut[e];
    for (int k = 0; k < 3; k++)
      lid[1 + 2 * k] = p->pos[36 + 6 * e + k], lid[2 + 2 * k] = p->pos[PHOTO_MID_EYES + 6 * e + k];
    lid[7] = p->pos[39 + 6 * e];
    lid[0] = photo_lerp(lid[1], lid[7], -LID_PAST_CORNER), lid[8] = photo_lerp(lid[1], lid[7], 1 + LID_PAST_CORNER);
    mira_point *top = pp->lid_top[e];
    top[0] = lid[0], top[8] = lid[8];
    for (int j = 0; j < 7; j++) {
      int c = p->crease[e][j];
      mira_point q = c >= 0 ? p->pos[c] : lid[j + 1];
      double d = hypot(q.x - lid[j + 1].x, q.y - lid[j + 1].y), most = LID_MAX_H * p->geom.eye_w[e] * pp->scale;
      top[j + 1] = d > most ? photo_lerp(lid[j + 1], q, most / d) : q; /* short of the brows */
    }
  }
  pp->blink = clampf(pose->blink, 0, 1);
  float open = 0;
  for (int k = 0; k < 3; k++) open += vpos(p, lip_pairs[k][1]) - vpos(p, lip_pairs[k][0]);
  pp->mouth_alpha = clampf(fabsf(open / 3 - p->inner_open) / (MOUTH_FADE * p->geom.mouth_w), 0, 1);
}

static int moved(const photo *p, const int t[3]) {
  for (int k = 0; k < 3; k++) {
    int i = t[k];
    if (p->pos[i].x != p->rest[i].x || p->pos[i].y != p->rest[i].y || p->from[i].x != p->rest[i].x ||
        p->from[i].y != p->rest[i].y)
      return 1;
  }
  return 0;
}

static int render(mira_avatar_renderer *base, const mira_anim_pose *pose, uint8_t *rgb, int stride) {
  photo *p = (photo *)base;
  if (!pose || !rgb || stride < base->w * 3) return MIRA_EINVAL;
  motion m;
  pose_mesh(p, pose, &m);
  mira_mesh_img to = {rgb, base->w, base->h, stride};
  mira_mesh_clip all = {0, 0, base->w, base->h};
  const mira_mesh_clip *clip = p->full ? &all : &p->region;
  if (!p->full)
    for (int y = 0; y < base->h; y++)
      memcpy(rgb + (size_t)y * stride, p->src.px + (size_t)y * p->src.stride, (size_t)base->w * 3);
  for (int i = 0; i < p->nt; i++) {
    const int *t = p->tri[i];
    if (!p->full && !moved(p, t)) continue; /* already copied */
    mira_mesh_tri tri = {{p->pos[t[0]], p->pos[t[1]], p->pos[t[2]]}, {p->from[t[0]], p->from[t[1]], p->from[t[2]]}};
    mira_mesh_warp(&tri, &p->warp_src, &to, clip);
  }
  photo_paint pp;
  paint_setup(p, pose, &m, &pp);
  photo_paint_mouth(&p->pal, &p->geom, &pp, &to, clip);
  photo_paint_lids(&p->pal, &p->geom, &pp, &to, clip);
  return 0;
}

static void destroy(mira_avatar_renderer *base) {
  photo *p = (photo *)base;
  if (!p) return;
  photo_free_mesh(p);
  mira_mesh_src_free(&p->warp_src);
  free(p->src.px);
  free(p);
}

/* ---- public ---- */

static mira_point centre(const mira_point *pts, int from, int to) {
  mira_point c = {0, 0};
  for (int i = from; i <= to; i++) c.x += pts[i].x / (to - from + 1), c.y += pts[i].y / (to - from + 1);
  return c;
}

static int check_input(const mira_rgb *img, const mira_point *pts, char *err, size_t errlen) {
  if (!img || !img->px || !pts) return mira_err(err, errlen, MIRA_EINVAL, "photo: no image or landmarks");
  int w = img->w, h = img->h, lo = w < h ? w : h, hi = w < h ? h : w;
  if (w < MIN_SIDE || h < MIN_SIDE || w % 2 || h % 2)
    return mira_err(err, errlen, MIRA_EINVAL, "photo: image is %dx%d; sides must be even and at least %d", w, h,
                    MIN_SIDE);
  if (hi > MAX_LONG_SIDE || lo > MAX_SHORT_SIDE)
    return mira_err(err, errlen, MIRA_EINVAL, "photo: image is %dx%d; at most %dx%d (either orientation)", w, h,
                    MAX_LONG_SIDE, MAX_SHORT_SIDE);
  for (int i = 0; i < MIRA_FACE_POINTS; i++)
    if (!(pts[i].x >= 0 && pts[i].x <= w - 1 && pts[i].y >= 0 && pts[i].y <= h - 1))
      return mira_err(err, errlen, MIRA_EINVAL, "photo: landmark %d (%g, %g) is outside the %dx%d image", i,
                      pts[i].x, pts[i].y, w, h);
  mira_point re = centre(pts, 36, 41), le = centre(pts, 42, 47);
  double eyes = hypot(le.x - re.x, le.y - re.y), mouth = hypot(pts[54].x - pts[48].x, pts[54].y - pts[48].y);
  if (eyes < MIN_EYE_GAP || mouth < MIN_MOUTH_W)
    return mira_err(err, errlen, MIRA_EINVAL, "photo: face too small (eyes %.1f px apart, mouth %.1f px wide)",
                    eyes, mouth);
  return 0;
}

int mira_photo_renderer_new(const mira_rgb *img, const mira_point pts[MIRA_FACE_POINTS], int full,
                            mira_avatar_renderer **out, char *err, size_t errlen) {
  if (!out) return mira_err(err, errlen, MIRA_EINVAL, "photo: no output");
  *out = NULL;
  int rc = check_input(img, pts, err, errlen);
  if (rc) return rc;
  photo *p = calloc(1, sizeof *p);
  size_t bytes = (size_t)img->w * img->h * 3;
  if (!p || !(p->src.px = malloc(bytes))) {
    free(p);
    return mira_err(err, errlen, MIRA_ENOMEM, "photo: out of memory");
  }
  memcpy(p->src.px, img->px, bytes);
  p->src.w = p->base.w = img->w, p->src.h = p->base.h = img->h, p->src.stride = img->w * 3;
  p->base.render = render, p->base.destroy = destroy, p->full = !!full;
  if (mira_mesh_src_init(&p->warp_src, img->px, img->w, img->h, img->w * 3)) {
    destroy(&p->base);
    return mira_err(err, errlen, MIRA_ENOMEM, "photo: out of memory");
  }
  photo_layout(p, pts);
  photo_geom *g = &p->geom;
  g->mouth_w = (float)hypot(pts[54].x - pts[48].x, pts[54].y - pts[48].y);
  g->teeth_h = fminf(fmaxf(TEETH_MIN * g->mouth_w, 0.9f * p->inner_open), TEETH_MAX * g->mouth_w);
  g->eye_w[0] = (float)hypot(pts[39].x - pts[36].x, pts[39].y - pts[36].y);
  g->eye_w[1] = (float)hypot(pts[45].x - pts[42].x, pts[45].y - pts[42].y);
  photo_palette_of(&p->src, pts, p->inner_open, g->mouth_w, &p->pal);
  rc = photo_build_mesh(p, pts, err, errlen);
  if (rc) {
    destroy(&p->base);
    return rc;
  }
  *out = &p->base;
  return 0;
}

void mira_photo_head_region(const mira_avatar_renderer *r, int *x, int *y, int *w, int *h) {
  const photo *p = (const photo *)r;
  if (p->full) {
    *x = 0, *y = 0, *w = r->w, *h = r->h;
    return;
  }
  *x = p->region.x0, *y = p->region.y0, *w = p->region.x1 - p->region.x0, *h = p->region.y1 - p->region.y0;
}

void mira_photo_mesh(mira_avatar_renderer *r, const mira_anim_pose *pose, const mira_point **verts,
                     int *nverts, const int (**tris)[3], int *ntris) {
  photo *p = (photo *)r;
  motion m;
  pose_mesh(p, pose, &m);
  *verts = p->pos, *nverts = p->nv, *tris = (const int (*)[3])p->tri, *ntris = p->nt;
}
