/* Unit tests for src/engines/animate/photo.c (with mesh.c and photo_paint.c):
 * the photo renderer.
 *
 * Lip sync is measured the way the end-to-end test measures it: the face
 * engine (cascade + dlib-compatible landmarks) runs on each rendered frame,
 * and the inner-lip opening (points 61-63 to 67-65, over the mouth width
 * 48-54) must follow the pose's `open` (each value the mean over a few
 * frames with the head turned by under a degree: single fits jump about).
 * Also: closed lips for press, closed eyes for blink, pixels outside the
 * head region untouched (full = 0), the whole frame moving (full = 1), exact
 * mesh tiling, no popping between frames (SSIM), determinism, bad input,
 * the triangulation's contract, speed (printed).
 *
 * MIRA_WRITE_DOCS=1 writes docs/mesh.png; MIRA_PHOTO_DUMP=DIR writes rendered
 * frames there for looking at.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "engines/image/ssim.h"
#include "testutil.h"
#include "core/error.h"
#include "engines/animate/animate.h"
#include "engines/animate/mesh.h"
#include "engines/animate/photo_int.h"
#include "engines/face/face.h"
#include "engines/image/gray.h"
#include "engines/image/rgb.h"

#define MIN_CORR 0.9        /* the brief: opening tracks `open` */
#define MAX_PRESS_RATIO 0.2 /* press = 1 at open = 1, against open = 1 alone */
#define MAX_BLINK_RATIO 0.85 /* the landmark model reads closed eyes poorly, a bearded face's worst */
#define MIN_SSIM 0.9
#define SWEEP 11            /* open = 0, 0.1, ..., 1 */

typedef struct face_tools {
  mira_cascade *cascade;
  mira_shape_model *model;
  mira_face_detect_params params; /* around the photo's face size: faster, no stray boxes */
} face_tools;

typedef struct subject {
  const char *name;
  mira_rgb img;
  mira_point pts[MIRA_FACE_POINTS];
  mira_face_detect_params params; /* face sizes to look for in its frames */
  int ok;
} subject;

static char rootdir[1024];
static const char *dumpdir;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void find_root(void) {
  const char *suffix = "tests/unit/test_photo.c";
  size_t n = strlen(__FILE__), s = strlen(suffix);
  size_t keep = n >= s && strcmp(__FILE__ + n - s, suffix) == 0 ? n - s : 0;
  snprintf(rootdir, sizeof rootdir, "%.*s", (int)keep, __FILE__);
}

static const mira_anim_pose neutral;

/* ---- measuring frames with the face engine ---- */

/* Landmarks of the largest face in rgb; 0 if none. */
static int landmarks_of(const face_tools *ft, const uint8_t *rgb, int w, int h, mira_point *pts) {
  mira_gray g;
  char err[256];
  if (mira_gray_from_rgb(rgb, w, h, w * 3, &g)) return 0;
  mira_face_box *boxes = NULL;
  size_t n = 0;
  int found = 0;
  if (!mira_face_detect(ft->cascade, &g, &ft->params, &boxes, &n, err, sizeof err) && n) {
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
      if (boxes[i].w * boxes[i].h > boxes[best].w * boxes[best].h) best = i;
    mira_face_landmarks(ft->model, &g, &boxes[best], pts);
    found = 1;
  }
  free(boxes);
  mira_gray_free(&g);
  return found;
}

static double dist(mira_point a, mira_point b) { return hypot(a.x - b.x, a.y - b.y); }

/* Inner-lip opening over mouth width, as the end-to-end test measures it. */
static double lip_open(const mira_point *p) {
  return (dist(p[61], p[67]) + dist(p[62], p[66]) + dist(p[63], p[65])) / 3 / dist(p[48], p[54]);
}

/* Upper to lower lid (37/41, 38/40 and 43/47, 44/46) over the eye distance. */
static double eye_open(const mira_point *p) {
  double s = dist(p[37], p[41]) + dist(p[38], p[40]) + dist(p[43], p[47]) + dist(p[44], p[46]);
  return s / 4 / dist(p[36], p[45]);
}

static void dump(const char *name, const char *what, const uint8_t *rgb, int w, int h) {
  if (!dumpdir) return;
  char path[1200], err[256];
  snprintf(path, sizeof path, "%s/%s_%s.png", dumpdir, name, what);
  mira_rgb im = {(uint8_t *)rgb, w, h};
  if (mira_rgb_write_png(path, &im, err, sizeof err)) fprintf(stderr, "%s: %s\n", path, err);
}

/* Renders pose and measures it: lip and eye opening, each the mean over
 * JITTERS renders with the head turned by a fraction of a degree. The
 * landmark fit of one frame jumps between nearby solutions (a bearded face
 * especially); the mean is what a video's many frames show. Returns how
 * many renders had a face. Leaves the last render (unturned) in buf. */
#define JITTERS 9
static int measure(const face_tools *ft, mira_avatar_renderer *r, const mira_anim_pose *pose, uint8_t *buf,
                   double *lips, double *eyes) {
  static const float turn[JITTERS][2] = {{0.6f, 0}, {-0.6f, 0}, {0, 0.6f}, {0, -0.6f}, {1.2f, 0.6f},
                                         {-1.2f, 0.6f}, {0.6f, -1.2f}, {-0.6f, -1.2f}, {0, 0}};
  int found = 0;
  *lips = *eyes = 0;
  for (int k = 0; k < JITTERS; k++) {
    mira_anim_pose p = *pose;
    p.yaw += turn[k][0], p.pitch += turn[k][1];
    mira_point q[MIRA_FACE_POINTS];
    if (r->render(r, &p, buf, r->w * 3) || !landmarks_of(ft, buf, r->w, r->h, q)) continue;
    *lips += lip_open(q), *eyes += eye_open(q), found++;
  }
  if (found) *lips /= found, *eyes /= found;
  return found;
}

/* ---- 1: bad input ---- */

static void test_bad_input(const subject *s) {
  char err[256] = "";
  mira_avatar_renderer *r = (mira_avatar_renderer *)1;
  int rc = mira_photo_renderer_new(NULL, s->pts, 0, &r, err, sizeof err);
  CHECK_INT("photo-1.1 no image", rc, MIRA_EINVAL);
  CHECK("photo-1.1 out cleared", r == NULL);
  CHECK_STR("photo-1.1 message", err, "photo: no image or landmarks");

  mira_rgb odd = {s->img.px, s->img.w - 1, s->img.h};
  rc = mira_photo_renderer_new(&odd, s->pts, 0, &r, err, sizeof err);
  CHECK_INT("photo-1.2 odd width", rc, MIRA_EINVAL);
  CHECK_STR("photo-1.2 message", err, "photo: image is 511x512; sides must be even and at least 64");

  uint8_t *big = calloc((size_t)1922 * 1080 * 3, 1);
  mira_rgb wide = {big, 1922, 1080}, tall = {big, 1082, 1100}, tiny = {big, 62, 64};
  rc = mira_photo_renderer_new(&wide, s->pts, 0, &r, err, sizeof err);
  CHECK_INT("photo-1.3 wider than 1920", rc, MIRA_EINVAL);
  CHECK_STR("photo-1.3 message", err, "photo: image is 1922x1080; at most 1920x1080 (either orientation)");
  rc = mira_photo_renderer_new(&tall, s->pts, 0, &r, err, sizeof err);
  CHECK_INT("photo-1.4 both sides over 1080", rc, MIRA_EINVAL);
  rc = mira_photo_renderer_new(&tiny, s->pts, 0, &r, err, sizeof err);
  CHECK_INT("photo-1.5 under 64", rc, MIRA_EINVAL);
  free(big);

  mira_point pts[MIRA_FACE_POINTS];
  memcpy(pts, s->pts, sizeof pts);
  pts[30].x = s->img.w, pts[30].y = 100;
  rc = mira_photo_renderer_new(&s->img, pts, 0, &r, err, sizeof err);
  CHECK_INT("photo-1.6 landmark outside", rc, MIRA_EINVAL);
  CHECK_STR("photo-1.6 message", err, "photo: landmark 30 (512, 100) is outside the 512x512 image");
  pts[30] = s->pts[30], pts[12].y = NAN;
  rc = mira_photo_renderer_new(&s->img, pts, 0, &r, err, sizeof err);
  CHECK_INT("photo-1.7 NaN landmark", rc, MIRA_EINVAL);
  for (int i = 0; i < MIRA_FACE_POINTS; i++) pts[i].x = 100 + i * 0.05, pts[i].y = 100 + (i % 7) * 0.05;
  rc = mira_photo_renderer_new(&s->img, pts, 0, &r, err, sizeof err);
  CHECK_INT("photo-1.8 face too small", rc, MIRA_EINVAL);
  CHECK("photo-1.8 message", strncmp(err, "photo: face too small", 21) == 0);
  rc = mira_photo_renderer_new(&s->img, s->pts, 0, NULL, err, sizeof err);
  CHECK_INT("photo-1.9 no out", rc, MIRA_EINVAL);

  rc = mira_photo_renderer_new(&s->img, s->pts, 0, &r, err, sizeof err);
  CHECK_INT("photo-1.10 good input", rc, 0);
  if (rc) return;
  uint8_t *buf = malloc((size_t)r->w * r->h * 3);
  CHECK_INT("photo-1.11 no pose", r->render(r, NULL, buf, r->w * 3), MIRA_EINVAL);
  CHECK_INT("photo-1.12 short stride", r->render(r, &neutral, buf, r->w * 3 - 1), MIRA_EINVAL);
  mira_anim_pose wild = {.open = 1e9f, .wide = -1e9f, .press = NAN, .blink = INFINITY, .yaw = 1e6f, .roll = NAN,
                         .pitch = -1e6f};
  CHECK_INT("photo-1.13 out-of-range pose is clamped", r->render(r, &wild, buf, r->w * 3), 0);
  free(buf);
  r->destroy(r);
}

/* ---- 2, 3: lip sync and blinks, measured by the face engine ---- */

static void test_lipsync(const face_tools *ft, const subject *s, mira_avatar_renderer *r, uint8_t *buf) {
  double open[SWEEP], lips[SWEEP], e;
  int found = 0;
  char what[64];
  printf("photo: %s: lip opening at open =", s->name);
  for (int i = 0; i < SWEEP; i++) {
    mira_anim_pose pose = {.open = i / 10.f};
    open[i] = pose.open;
    found += measure(ft, r, &pose, buf, &lips[i], &e);
    printf(" %.1f:%.3f", open[i], lips[i]);
    snprintf(what, sizeof what, "open%02d", i);
    dump(s->name, what, buf, r->w, r->h);
  }
  double corr = pearson(open, lips, SWEEP);
  printf("\nphoto: %s: correlation %.3f\n", s->name, corr);
  CHECK_INT("photo-2.1 a face in every frame", found, SWEEP * JITTERS);
  CHECK("photo-2.2 opening tracks open (Pearson >= 0.9)", corr >= MIN_CORR);
  CHECK("photo-2.3 open = 1 opens the lips by >= 0.15 of the mouth width", lips[SWEEP - 1] - lips[0] >= 0.15);

  double pressed;
  mira_anim_pose press = {.open = 1, .press = 1};
  found = measure(ft, r, &press, buf, &pressed, &e) == JITTERS;
  dump(s->name, "press", buf, r->w, r->h);
  double ratio = pressed / lips[SWEEP - 1];
  printf("photo: %s: press=1 at open=1 measures %.3f, %.0f%% of open=1\n", s->name, pressed, 100 * ratio);
  CHECK("photo-2.4 face found when pressed", found);
  CHECK("photo-2.5 press closes the lips (<= 20% of open)", ratio <= MAX_PRESS_RATIO);

  static const struct {
    const char *what;
    mira_anim_pose pose;
  } more[] = {
    {"wide", {.open = 0.3f, .wide = 1}}, {"round", {.open = 0.3f, .wide = -1}},
    {"teeth", {.teeth = 1}}, {"half", {.open = 0.5f}},
  };
  for (size_t k = 0; k < sizeof more / sizeof *more; k++) {
    double l;
    int ok = measure(ft, r, &more[k].pose, buf, &l, &e) == JITTERS;
    dump(s->name, more[k].what, buf, r->w, r->h);
    printf("photo: %s: %s measures %.3f\n", s->name, more[k].what, ok ? l : -1);
    CHECK("photo-2.6 face found with wide/round/teeth", ok);
  }
}

/* Mean change of the pixels in the boxes of both eyes (upper to lower lid). */
static double eye_change(const subject *s, const uint8_t *frame) {
  double diff = 0;
  int n = 0, w = s->img.w;
  for (int e = 0; e < 2; e++) {
    const mira_point *p = s->pts + 36 + 6 * e;
    for (int y = (int)(p[1].y - 2); y <= (int)(p[4].y + 2); y++)
      for (int x = (int)p[0].x; x <= (int)p[3].x; x++, n++)
        for (int c = 0; c < 3; c++) diff += abs(frame[((size_t)y * w + x) * 3 + c] - s->img.px[((size_t)y * w + x) * 3 + c]);
  }
  return n ? diff / (3.0 * n) : 0;
}

static void test_blink(const face_tools *ft, const subject *s, mira_avatar_renderer *r, uint8_t *buf) {
  mira_anim_pose shut = {.blink = 1};
  double l, open_eyes = 0, closed_eyes = 0;
  CHECK("photo-3.0 face found, eyes open", measure(ft, r, &neutral, buf, &l, &open_eyes) == JITTERS);
  CHECK("photo-3.1 face found, eyes closed", measure(ft, r, &shut, buf, &l, &closed_eyes) == JITTERS);
  dump(s->name, "blink", buf, r->w, r->h);
  printf("photo: %s: eye opening %.3f open, %.3f at blink=1\n", s->name, open_eyes, closed_eyes);
  CHECK("photo-3.2 blink drops the measured eye opening", closed_eyes < MAX_BLINK_RATIO * open_eyes);
  double change = eye_change(s, buf);
  printf("photo: %s: blink changes the eyes by %.1f levels on average\n", s->name, change);
  CHECK("photo-3.3 blink changes the eye area", change > 8);
}

static void test_face_engine(const face_tools *ft, const subject *s) {
  char err[256];
  mira_avatar_renderer *r = NULL;
  int rc = mira_photo_renderer_new(&s->img, s->pts, 0, &r, err, sizeof err);
  CHECK_INT("photo-2.0 renderer", rc, 0);
  if (rc) return;
  uint8_t *buf = malloc((size_t)r->w * r->h * 3);
  test_lipsync(ft, s, r, buf);
  test_blink(ft, s, r, buf);
  free(buf);
  r->destroy(r);
}

/* ---- 4, 5: what changes where ---- */

static void test_region(const subject *s) {
  char err[256];
  mira_avatar_renderer *r = NULL;
  CHECK_INT("photo-4.0 renderer", mira_photo_renderer_new(&s->img, s->pts, 0, &r, err, sizeof err), 0);
  if (!r) return;
  int x0, y0, w, h, outside = 0, inside = 0;
  mira_photo_head_region(r, &x0, &y0, &w, &h);
  printf("photo: %s: head region %dx%d at (%d, %d)\n", s->name, w, h, x0, y0);
  CHECK("photo-4.1 region inside the image", x0 >= 0 && y0 >= 0 && x0 + w <= r->w && y0 + h <= r->h);
  CHECK("photo-4.1 region holds the face", x0 < s->pts[0].x && x0 + w > s->pts[16].x && y0 < s->pts[19].y &&
                                              y0 + h > s->pts[8].y);
  size_t bytes = (size_t)r->w * r->h * 3;
  uint8_t *buf = malloc(bytes);
  static const mira_anim_pose poses[] = {
    {.open = 1, .wide = -1, .blink = 1, .yaw = 6, .pitch = 5, .roll = 4},
    {.open = 0.7f, .wide = 1, .teeth = 0.5f, .yaw = -6, .pitch = -5, .roll = -4, .breathe = 1, .sway_x = 0.01f,
     .cam_x = 0.01f, .cam_zoom = 0.02f},
  };
  for (size_t k = 0; k < sizeof poses / sizeof *poses; k++) {
    memset(buf, 0x5a, bytes);
    r->render(r, &poses[k], buf, r->w * 3);
    for (int y = 0; y < r->h; y++)
      for (int x = 0; x < r->w; x++) {
        size_t o = ((size_t)y * r->w + x) * 3;
        int same = !memcmp(buf + o, s->img.px + o, 3);
        if (x >= x0 && x < x0 + w && y >= y0 && y < y0 + h)
          inside += !same;
        else
          outside += !same;
      }
  }
  CHECK_INT("photo-4.2 full=0 leaves every pixel outside the region alone", outside, 0);
  CHECK("photo-4.3 ... and moves the head", inside > 1000);
  r->destroy(r);

  CHECK_INT("photo-5.0 full renderer", mira_photo_renderer_new(&s->img, s->pts, 1, &r, err, sizeof err), 0);
  if (!r) {
    free(buf);
    return;
  }
  mira_anim_pose still = neutral, cam = {.cam_x = 0.01f, .cam_y = -0.008f, .cam_zoom = 0.02f},
                 sway = {.sway_x = 0.01f, .breathe = 1};
  r->render(r, &still, buf, r->w * 3);
  double d0 = 0;
  for (size_t i = 0; i < bytes; i++) d0 += abs(buf[i] - s->img.px[i]);
  printf("photo: %s: full=1 neutral differs from the photo by %.3f levels\n", s->name, d0 / bytes);
  CHECK("photo-5.1 full=1 neutral is the photo", d0 / bytes < 0.5);
  for (int k = 0; k < 2; k++) {
    r->render(r, k ? &sway : &cam, buf, r->w * 3);
    dump(s->name, k ? "sway" : "cam", buf, r->w, r->h);
    double far = 0;
    int n = 0;
    int yb = (int)fmin(r->h - 1, s->pts[8].y + 1.5 * dist(s->pts[0], s->pts[16])); /* chest, under the head */
    for (int y = k ? yb : 0; y < (k ? r->h : r->h / 8); y++)
      for (int x = 0; x < r->w; x++, n++) {
        size_t o = ((size_t)y * r->w + x) * 3;
        far += abs(buf[o + 1] - s->img.px[o + 1]);
      }
    printf("photo: %s: full=1 %s changes far pixels by %.2f levels\n", s->name, k ? "sway+breathe" : "camera",
           n ? far / n : 0);
    CHECK("photo-5.2 full=1 camera/sway moves pixels far from the head", n && far / n > 1);
  }
  free(buf);
  r->destroy(r);
}

/* ---- 6: mesh tiling ---- */

typedef struct cover {
  uint8_t *count;
  int w;
} cover;

static void count_span(int y, int x0, int x1, void *user) {
  cover *c = user;
  for (int x = x0; x < x1; x++) c->count[(size_t)y * c->w + x]++;
}

/* Every pixel of the region lies in exactly one posed triangle (the right and
 * bottom border rows are the fixed ring's own edges, outside by the fill rule). */
static void test_tiling(const subject *s) {
  char err[256];
  mira_avatar_renderer *r = NULL;
  if (mira_photo_renderer_new(&s->img, s->pts, 0, &r, err, sizeof err)) {
    CHECK("photo-6.0 renderer", 0);
    return;
  }
  int x0, y0, w, h, bad = 0;
  mira_photo_head_region(r, &x0, &y0, &w, &h);
  cover c = {calloc((size_t)r->w * r->h, 1), r->w};
  mira_mesh_clip clip = {0, 0, r->w, r->h};
  mira_anim_pose pose = {.open = 0.8f, .wide = -0.5f, .blink = 0.7f, .yaw = 5, .pitch = -4, .roll = 3};
  const mira_point *v;
  const int (*t)[3];
  int nv, nt;
  mira_photo_mesh(r, &pose, &v, &nv, &t, &nt);
  for (int i = 0; i < nt; i++) {
    mira_point d[3] = {v[t[i][0]], v[t[i][1]], v[t[i][2]]};
    mira_mesh_spans(d, &clip, count_span, &c);
  }
  for (int y = y0; y < y0 + h - 1; y++)
    for (int x = x0; x < x0 + w - 1; x++) bad += c.count[(size_t)y * r->w + x] != 1;
  printf("photo: %s: %d vertices, %d triangles\n", s->name, nv, nt);
  CHECK_INT("photo-6.1 posed mesh covers each region pixel exactly once", bad, 0);
  free(c.count);
  r->destroy(r);
}

/* ---- 9: the triangulation's contract ---- */

static int has_edge(const int (*t)[3], int n, int a, int b) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < 3; j++)
      if ((t[i][j] == a && t[i][(j + 1) % 3] == b) || (t[i][j] == b && t[i][(j + 1) % 3] == a)) return 1;
  return 0;
}

static void test_triangulate(void) {
  char err[256];
  int (*t)[3] = NULL, n = 0, missed = 0;
  /* a flat rhombus: Delaunay takes the short diagonal 1-3; the constraint asks for 0-2 */
  const double kite[] = {0, 0, 10, -3, 20, 0, 10, 3};
  const int cons[1][2] = {{0, 2}};
  int rc = mira_mesh_triangulate(kite, 4, NULL, 0, &t, &n, &missed, err, sizeof err);
  CHECK_INT("photo-9.1 rhombus", rc, 0);
  CHECK_INT("photo-9.1 triangles", n, 2);
  CHECK("photo-9.1 Delaunay: the short diagonal", t && has_edge((const int (*)[3])t, n, 1, 3));
  free(t);
  rc = mira_mesh_triangulate(kite, 4, cons, 1, &t, &n, &missed, err, sizeof err);
  CHECK_INT("photo-9.2 constrained", rc, 0);
  CHECK("photo-9.2 the constraint is an edge", t && has_edge((const int (*)[3])t, n, 0, 2));
  CHECK_INT("photo-9.2 none missed", missed, 0);
  free(t);
  const double dup[] = {0, 0, 10, 0, 0, 10, 10, 0};
  rc = mira_mesh_triangulate(dup, 4, NULL, 0, &t, &n, &missed, err, sizeof err);
  CHECK_INT("photo-9.3 repeated point", rc, MIRA_EINVAL);
  CHECK_STR("photo-9.3 message", err, "mesh: points repeat or are not finite");
  CHECK("photo-9.3 no triangles", t == NULL);
  const int bad[1][2] = {{0, 7}};
  rc = mira_mesh_triangulate(kite, 4, bad, 1, &t, &n, &missed, err, sizeof err);
  CHECK_INT("photo-9.4 constraint out of range", rc, MIRA_EINVAL);
  CHECK_STR("photo-9.4 message", err, "mesh: constraint 0 (0-7) is not a segment");
  rc = mira_mesh_triangulate(kite, 2, NULL, 0, &t, &n, &missed, err, sizeof err);
  CHECK_INT("photo-9.5 two points", rc, MIRA_EINVAL);
}

/* ---- 7: smoothness, determinism, speed ---- */

static void test_sequences(const subject *s) {
  char err[256];
  mira_avatar_renderer *r = NULL, *r2 = NULL;
  if (mira_photo_renderer_new(&s->img, s->pts, 0, &r, err, sizeof err) ||
      mira_photo_renderer_new(&s->img, s->pts, 0, &r2, err, sizeof err)) {
    CHECK("photo-7.0 renderers", 0);
    return;
  }
  size_t bytes = (size_t)r->w * r->h * 3;
  uint8_t *a = malloc(bytes), *b = malloc(bytes);
  double worst = 1;
  for (int seq = 0; seq < 2; seq++) {
    int n = seq ? 10 : 5;
    for (int i = 0; i <= n; i++) {
      mira_anim_pose pose = {0};
      if (seq)
        pose.yaw = 3.f * i / n;
      else
        pose.open = (float)i / n;
      r->render(r, &pose, i % 2 ? b : a, r->w * 3);
      if (i) worst = fmin(worst, mira_ssim_rgb(a, b, r->w, r->h, r->w * 3));
    }
  }
  printf("photo: %s: SSIM between consecutive frames >= %.4f\n", s->name, worst);
  CHECK("photo-7.1 consecutive frames SSIM >= 0.9", worst >= MIN_SSIM);

  mira_anim_pose pose = {.open = 0.6f, .wide = 0.3f, .blink = 0.5f, .yaw = 2, .roll = -1};
  r->render(r, &pose, a, r->w * 3);
  r2->render(r2, &pose, b, r->w * 3);
  CHECK("photo-7.2 two renderers draw the same frame", !memcmp(a, b, bytes));
  r->render(r, &neutral, b, r->w * 3);
  r->render(r, &pose, b, r->w * 3);
  CHECK("photo-7.3 a frame does not depend on the one before", !memcmp(a, b, bytes));
  r->render(r, &neutral, b, r->w * 3);
  CHECK("photo-7.4 neutral is the photo", !memcmp(b, s->img.px, bytes));

  int frames = 0;
  double t0 = now_s(), t;
  do {
    mira_anim_pose p = {.open = 0.5f + 0.5f * sinf(frames * 0.4f), .blink = frames % 20 < 3,
                        .yaw = 4 * sinf(frames * 0.05f), .roll = 2 * sinf(frames * 0.03f)};
    r->render(r, &p, a, r->w * 3);
    frames++;
  } while ((t = now_s() - t0) < 0.5);
  printf("photo: %s: %dx%d full=0: %.0f frames/s (one thread)\n", s->name, r->w, r->h, frames / t);
  free(a), free(b);
  r->destroy(r), r2->destroy(r2);
}

/* 1280x720 (the photo pasted into a wider frame), full = 0 and full = 1. */
static void test_speed_720p(const subject *s) {
  mira_rgb big = {calloc((size_t)1280 * 720 * 3, 1), 1280, 720};
  int ox = 384, oy = (720 - s->img.h) / 2;
  if (oy < 0 || !big.px) {
    free(big.px);
    return;
  }
  for (int y = 0; y < s->img.h; y++)
    memcpy(big.px + ((size_t)(y + oy) * 1280 + ox) * 3, s->img.px + (size_t)y * s->img.w * 3, (size_t)s->img.w * 3);
  mira_point pts[MIRA_FACE_POINTS];
  for (int i = 0; i < MIRA_FACE_POINTS; i++) pts[i].x = s->pts[i].x + ox, pts[i].y = s->pts[i].y + oy;
  uint8_t *out = malloc((size_t)1280 * 720 * 3);
  for (int full = 0; full < 2; full++) {
    char err[256];
    mira_avatar_renderer *r = NULL;
    if (mira_photo_renderer_new(&big, pts, full, &r, err, sizeof err)) {
      CHECK("photo-7.5 720p renderer", 0);
      continue;
    }
    int frames = 0;
    double t0 = now_s(), t;
    do {
      mira_anim_pose p = {.open = 0.5f + 0.5f * sinf(frames * 0.4f), .yaw = 4 * sinf(frames * 0.05f),
                          .breathe = sinf(frames * 0.1f), .cam_x = 0.005f * sinf(frames * 0.02f)};
      r->render(r, &p, out, 1280 * 3);
      frames++;
    } while ((t = now_s() - t0) < 0.5);
    printf("photo: %s in 1280x720 full=%d: %.0f frames/s (one thread)\n", s->name, full, frames / t);
    r->destroy(r);
  }
  free(out), free(big.px);
}

/* ---- docs/mesh.png: the mesh over the face, and an open mouth ---- */

static void line(mira_rgb *im, mira_point a, mira_point b) {
  int n = (int)ceil(dist(a, b) * 2) + 1;
  for (int i = 0; i <= n; i++) {
    int x = (int)lround(a.x + (b.x - a.x) * i / n), y = (int)lround(a.y + (b.y - a.y) * i / n);
    if (x < 0 || y < 0 || x >= im->w || y >= im->h) continue;
    uint8_t *p = im->px + ((size_t)y * im->w + x) * 3;
    p[0] = (uint8_t)((p[0] + 3 * 80) / 4), p[1] = (uint8_t)((p[1] + 3 * 255) / 4), p[2] = (uint8_t)((p[2] + 3 * 120) / 4);
  }
}

/* A triangle of the open mouth's inside (all corners on the inner lips). */
static int inside_mouth(const int t[3]) {
  int n = 0;
  for (int k = 0; k < 3; k++)
    n += (t[k] >= 60 && t[k] < 68) || (t[k] >= PHOTO_MID_INNER && t[k] < PHOTO_MID_OUTER);
  return n == 3;
}

/* Crop (x0, y0, w, h) of src scaled 2x into dst at column dx. */
static void crop2x(const uint8_t *src, int sw, int x0, int y0, int w, int h, mira_rgb *dst, int dx) {
  for (int y = 0; y < 2 * h; y++)
    for (int x = 0; x < 2 * w; x++)
      memcpy(dst->px + ((size_t)y * dst->w + dx + x) * 3, src + ((size_t)(y0 + y / 2) * sw + x0 + x / 2) * 3, 3);
}

static void write_docs(const subject *s) {
  char err[256], path[1200];
  mira_avatar_renderer *r = NULL;
  if (mira_photo_renderer_new(&s->img, s->pts, 0, &r, err, sizeof err)) return;
  int x0, y0, w, h;
  mira_photo_head_region(r, &x0, &y0, &w, &h);
  mira_rgb out = {calloc((size_t)4 * w * 2 * h * 3, 1), 4 * w, 2 * h};
  uint8_t *frame = malloc((size_t)r->w * r->h * 3);
  mira_anim_pose open = {.open = 0.9f};
  r->render(r, &open, frame, r->w * 3);
  crop2x(s->img.px, r->w, x0, y0, w, h, &out, 0);
  crop2x(frame, r->w, x0, y0, w, h, &out, 2 * w);
  const mira_point *v;
  const int (*t)[3];
  int nv, nt;
  for (int k = 0; k < 2; k++) {
    mira_photo_mesh(r, k ? &open : &neutral, &v, &nv, &t, &nt);
    for (int i = 0; i < nt; i++)
      for (int j = 0; j < 3 && !(k && inside_mouth(t[i])); j++) {
        mira_point a = v[t[i][j]], b = v[t[i][(j + 1) % 3]];
        mira_point pa = {(a.x - x0) * 2 + 0.5 + 2 * w * k, (a.y - y0) * 2 + 0.5};
        mira_point pb = {(b.x - x0) * 2 + 0.5 + 2 * w * k, (b.y - y0) * 2 + 0.5};
        if (k == 0 || (a.y > s->pts[30].y && b.y > s->pts[30].y)) line(&out, pa, pb); /* right: mouth only */
      }
  }
  snprintf(path, sizeof path, "%sdocs/mesh.png", rootdir);
  int rc = mira_rgb_write_png(path, &out, err, sizeof err);
  CHECK_INT("photo-8.1 docs/mesh.png written", rc, 0);
  if (!rc) printf("photo: wrote %s (%dx%d)\n", path, out.w, out.h);
  free(out.px), free(frame);
  r->destroy(r);
}

/* ---- main ---- */

static void load_subject(face_tools *ft, subject *s, const char *file) {
  char path[1200], err[256];
  snprintf(path, sizeof path, "%stests/fixtures/faces/%s", rootdir, file);
  int rc = mira_rgb_load(path, &s->img, err, sizeof err);
  CHECK_INT("photo-0.1 photo loads", rc, 0);
  if (rc) {
    fprintf(stderr, "%s: %s\n", path, err);
    return;
  }
  ft->params = mira_face_detect_defaults;
  s->ok = landmarks_of(ft, s->img.px, s->img.w, s->img.h, s->pts);
  CHECK("photo-0.2 a face in the photo", s->ok);
  double side = dist(s->pts[0], s->pts[16]); /* the face box is about the jaw's width */
  s->params = mira_face_detect_defaults;
  s->params.min_w = s->params.min_h = (int)(0.8 * side);
  s->params.max_w = s->params.max_h = (int)(1.8 * side);
}

int main(void) {
  find_root();
  dumpdir = getenv("MIRA_PHOTO_DUMP");
  char err[256];
  face_tools ft = {0};
  int rc = mira_cascade_load(MIRA_FACE_DEFAULT_CASCADE, &ft.cascade, err, sizeof err);
  if (!rc) rc = mira_shape_model_load(MIRA_FACE_DEFAULT_SHAPE_MODEL, &ft.model, err, sizeof err);
  CHECK_INT("photo-0.0 face models load", rc, 0);
  if (rc) {
    fprintf(stderr, "%s\n", err);
    return CHECK_EXIT();
  }
  subject subjects[2] = {{"astronaut"}, {"portrait"}};
  load_subject(&ft, &subjects[0], "astronaut.png");
  load_subject(&ft, &subjects[1], "230501201_1.jpg");
  test_triangulate();
  if (subjects[0].ok) test_bad_input(&subjects[0]);
  for (int i = 0; i < 2; i++) {
    subject *s = &subjects[i];
    if (!s->ok) continue;
    ft.params = s->params;
    test_face_engine(&ft, s);
    test_region(s);
    test_tiling(s);
    test_sequences(s);
  }
  if (subjects[0].ok) test_speed_720p(&subjects[0]);
  const char *docs = getenv("MIRA_WRITE_DOCS");
  if (docs && !strcmp(docs, "1") && subjects[0].ok) write_docs(&subjects[0]);
  for (int i = 0; i < 2; i++) mira_rgb_free(&subjects[i].img);
  mira_cascade_free(ft.cascade);
  mira_shape_model_free(ft.model);
  return CHECK_EXIT();
}
