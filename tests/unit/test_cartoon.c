/* Unit tests for src/engines/animate/cartoon.c: illustrated avatars.
 *
 * cartoon-1.x  the catalogue: enough looks, each named, each with a voice
 *              that is in the speech catalog.
 * cartoon-2.x  every look renders at 512x512 and 1280x720: not blank, and
 *              deterministic (same pose, same bytes, from any renderer).
 * cartoon-3.x  the face follows the pose: an open mouth shows the dark
 *              mouth cavity, pressed lips (p b m) close it again even with
 *              open = 1, teeth (f v) change the mouth, blink closes the eyes.
 * cartoon-4.x  full = 0: head motion never touches the body or backdrop;
 *              full = 1: sway and camera move the body, not the backdrop;
 *              with the body still, both agree (nothing of the head is cut).
 * cartoon-5.x  bad arguments: a clean MIRA_EINVAL and message, *out untouched.
 * cartoon-6.1  speed: frames per second at 512x512 and 1280x720 (printed;
 *              asserted only against a catastrophic slowdown).
 *
 * Regions are in the rig's design space (a 512x512 canvas scaled to the
 * frame's height, or 1.25x its width in tall frames, centred and standing on
 * the bottom edge; see the header of cartoon.c): the mouth is around
 * (256, 270), the eyes on y = 210.
 *
 * MIRA_WRITE_DOCS=1 also writes docs/avatars.png: every look at rest and
 * saying "aa", 256x256 tiles.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/error.h"
#include "engines/animate/animate.h"
#include "engines/image/rgb.h"
#include "engines/speech/catalog.h"

#define MIN_LOOKS 7
#define CAVITY_MIN 60   /* mouth-cavity pixels at open = 1, 512x512 (a wide "aa" shows hundreds) */
#define EYE_DIFF_MIN 150 /* pixels that change in the eye band when the eyes close, 512x512 */
#define SLOW_MS 20.0    /* a frame slower than this is a regression, not noise (target: < 2 ms) */

typedef struct frame {
  int w, h;
  uint8_t *px;
} frame;

typedef struct box {
  double x0, y0, x1, y1; /* design units */
} box;

static const mira_anim_pose neutral;

static frame frame_new(int w, int h) {
  frame f = {w, h, calloc((size_t)w * h, 3)};
  return f;
}

static int render(mira_avatar_renderer *r, const mira_anim_pose *p, frame *f) {
  return r->render(r, p, f->px, f->w * 3);
}

/* Design units -> frame pixels, as cartoon.c places the character. */
static void to_px(const frame *f, box b, int out[4]) {
  double s = (f->w * 1.25 < f->h ? f->w * 1.25 : f->h) / 512.0, ox = (f->w - 512 * s) / 2, oy = f->h - 512 * s;
  out[0] = (int)(ox + b.x0 * s);
  out[1] = (int)(oy + b.y0 * s);
  out[2] = (int)(ox + b.x1 * s);
  out[3] = (int)(oy + b.y1 * s);
}

/* Pixels that differ between a and b inside the pixel box r. */
static long differing(const frame *a, const frame *b, const int r[4]) {
  long n = 0;
  for (int y = r[1]; y < r[3]; y++)
    for (int x = r[0]; x < r[2]; x++) n += memcmp(a->px + ((size_t)y * a->w + x) * 3, b->px + ((size_t)y * b->w + x) * 3, 3) != 0;
  return n;
}

/* The mouth's inside is drawn in one dark red-brown (0x3b1219). */
static long cavity_pixels(const frame *f) {
  int r[4];
  to_px(f, (box){206, 245, 306, 310}, r);
  long n = 0;
  for (int y = r[1]; y < r[3]; y++)
    for (int x = r[0]; x < r[2]; x++) {
      const uint8_t *p = f->px + ((size_t)y * f->w + x) * 3;
      n += abs(p[0] - 0x3b) <= 6 && abs(p[1] - 0x12) <= 6 && abs(p[2] - 0x19) <= 6;
    }
  return n;
}

static double luma_stddev(const frame *f) {
  double s = 0, s2 = 0, n = (double)f->w * f->h;
  for (size_t i = 0; i < (size_t)f->w * f->h; i++) {
    const uint8_t *p = f->px + i * 3;
    double l = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    s += l;
    s2 += l * l;
  }
  double m = s / n, v = s2 / n - m * m;
  return v > 0 ? sqrt(v) : 0;
}

static void catalogue(void) {
  int n = mira_cartoon_count();
  CHECK("cartoon-1.1", n >= MIN_LOOKS);
  for (int i = 0; i < n; i++) {
    const mira_cartoon_info *in = mira_cartoon_info_of(i);
    CHECK("cartoon-1.2", in && in->name && in->name[0]);
    if (!in) continue;
    const mira_catalog_entry *e = mira_catalog_find(in->voice_engine, in->voice);
    if (!e) fprintf(stderr, "cartoon-1.3: %s's voice %s/%s is not in the catalog\n", in->name, in->voice_engine, in->voice);
    CHECK("cartoon-1.3", e != NULL);
    for (int j = 0; j < i; j++) CHECK("cartoon-1.4", strcmp(mira_cartoon_info_of(j)->name, in->name) != 0);
  }
  CHECK("cartoon-1.5", mira_cartoon_info_of(-1) == NULL);
  CHECK("cartoon-1.5", mira_cartoon_info_of(n) == NULL);
}

static void renders_at(int idx, int w, int h) {
  char err[256] = "";
  mira_avatar_renderer *r = NULL, *r2 = NULL;
  int rc = mira_cartoon_renderer_new(idx, w, h, 0, &r, err, sizeof err);
  CHECK_INT("cartoon-2.1", rc, 0);
  if (rc) {
    fprintf(stderr, "cartoon-2.1: look %d at %dx%d: %s\n", idx, w, h, err);
    return;
  }
  CHECK_INT("cartoon-2.1", r->w, w);
  CHECK_INT("cartoon-2.1", r->h, h);
  mira_anim_pose talk = {.open = 0.7, .wide = 0.3, .yaw = 4, .pitch = -3, .roll = 2};
  frame a = frame_new(w, h), b = frame_new(w, h), c = frame_new(w, h);
  CHECK_INT("cartoon-2.2", render(r, &talk, &a), 0);
  double sd = luma_stddev(&a);
  if (sd < 12) fprintf(stderr, "cartoon-2.2: look %d at %dx%d: luma stddev %.1f\n", idx, w, h, sd);
  CHECK("cartoon-2.2", sd >= 12);
  CHECK_INT("cartoon-2.3", render(r, &neutral, &b), 0);
  CHECK_INT("cartoon-2.3", render(r, &talk, &b), 0);
  CHECK("cartoon-2.3", memcmp(a.px, b.px, (size_t)w * h * 3) == 0);
  CHECK_INT("cartoon-2.4", mira_cartoon_renderer_new(idx, w, h, 0, &r2, err, sizeof err), 0);
  if (r2) {
    CHECK_INT("cartoon-2.4", render(r2, &talk, &c), 0);
    CHECK("cartoon-2.4", memcmp(a.px, c.px, (size_t)w * h * 3) == 0);
    r2->destroy(r2);
  }
  r->destroy(r);
  free(a.px);
  free(b.px);
  free(c.px);
}

static void face_follows_pose(int idx) {
  char err[256];
  mira_avatar_renderer *r;
  if (mira_cartoon_renderer_new(idx, 512, 512, 0, &r, err, sizeof err)) {
    CHECK("cartoon-3.0", 0);
    return;
  }
  frame rest = frame_new(512, 512), open = frame_new(512, 512), pressed = frame_new(512, 512);
  frame fv = frame_new(512, 512), shut = frame_new(512, 512);
  render(r, &neutral, &rest);
  render(r, &(mira_anim_pose){.open = 1}, &open);
  render(r, &(mira_anim_pose){.open = 1, .press = 1}, &pressed);
  render(r, &(mira_anim_pose){.teeth = 1}, &fv);
  render(r, &(mira_anim_pose){.blink = 1}, &shut);
  int mouth[4], eyes[4], all[4] = {0, 0, 512, 512};
  to_px(&rest, (box){206, 245, 306, 310}, mouth);
  to_px(&rest, (box){170, 196, 342, 224}, eyes);
  long c_rest = cavity_pixels(&rest), c_open = cavity_pixels(&open), c_press = cavity_pixels(&pressed);
  if (c_open <= CAVITY_MIN || c_press > c_rest + 2)
    fprintf(stderr, "cartoon-3: look %d: cavity pixels rest %ld open %ld pressed %ld\n", idx, c_rest, c_open, c_press);
  CHECK("cartoon-3.1", differing(&rest, &open, mouth) > 200);
  CHECK("cartoon-3.2", c_open > CAVITY_MIN);
  CHECK("cartoon-3.3", c_press <= c_rest + 2);
  CHECK("cartoon-3.4", differing(&rest, &fv, mouth) > 20);
  CHECK("cartoon-3.5", differing(&rest, &shut, eyes) > EYE_DIFF_MIN);
  CHECK_INT("cartoon-3.6", differing(&rest, &shut, all), differing(&rest, &shut, eyes)); /* nothing else blinks */
  r->destroy(r);
  free(rest.px);
  free(open.px);
  free(pressed.px);
  free(fv.px);
  free(shut.px);
}

/* full = 0 keeps the body and backdrop still; full = 1 moves the body. */
static void body_and_camera(int idx, int w, int h) {
  char err[256];
  mira_anim_pose busy = {.open = 1, .blink = 1, .yaw = 6, .pitch = 5, .roll = 4, .breathe = 1,
                         .sway_x = 0.01f, .sway_y = 0.01f, .cam_x = 0.01f, .cam_y = -0.01f, .cam_zoom = 0.02f};
  frame a = frame_new(w, h), b = frame_new(w, h);
  int corner[4] = {0, h - h * 15 / 100, w * 15 / 100, h}, top[4] = {0, 0, w * 15 / 100, h * 15 / 100};
  int chest[4], lower[4] = {0, h * 8 / 10, w, h};
  to_px(&a, (box){150, 470, 362, 512}, chest);
  for (int full = 0; full <= 1; full++) {
    mira_avatar_renderer *r;
    if (mira_cartoon_renderer_new(idx, w, h, full, &r, err, sizeof err)) {
      CHECK("cartoon-4.0", 0);
      continue;
    }
    render(r, &neutral, &a);
    render(r, &busy, &b);
    CHECK("cartoon-4.1", differing(&a, &b, (int[4]){0, 0, w, h}) > 0);
    CHECK_INT("cartoon-4.2", differing(&a, &b, top), 0); /* the backdrop stays either way */
    if (!full) {
      CHECK_INT("cartoon-4.3", differing(&a, &b, corner), 0);
      CHECK_INT("cartoon-4.4", differing(&a, &b, chest), 0);
    } else {
      long moved = differing(&a, &b, lower);
      if (moved < 500) fprintf(stderr, "cartoon-4.5: look %d %dx%d: only %ld pixels moved\n", idx, w, h, moved);
      CHECK("cartoon-4.5", moved >= 500);
    }
    r->destroy(r);
  }
  free(a.px);
  free(b.px);
}

/* Only the head moves: full = 0 (which redraws just a box round the head)
 * and full = 1 (which redraws everything) must agree, or the box cut
 * something off. Compositing the cached body over the back hair may round
 * differently by a level or two. */
static void head_box_holds_head(int idx) {
  char err[256];
  mira_anim_pose far[] = {{.open = 1, .wide = -1, .yaw = 10, .pitch = 8, .roll = 10, .blink = 1},
                          {.open = 1, .wide = 1, .yaw = -10, .pitch = -8, .roll = -10, .teeth = 1}};
  frame a = frame_new(512, 512), b = frame_new(512, 512);
  mira_avatar_renderer *r0, *r1;
  if (mira_cartoon_renderer_new(idx, 512, 512, 0, &r0, err, sizeof err) ||
      mira_cartoon_renderer_new(idx, 512, 512, 1, &r1, err, sizeof err)) {
    CHECK("cartoon-4.6", 0);
    return;
  }
  for (size_t k = 0; k < sizeof far / sizeof *far; k++) {
    render(r0, &far[k], &a);
    render(r1, &far[k], &b);
    long off = 0;
    for (size_t i = 0; i < (size_t)512 * 512 * 3; i++) off += abs(a.px[i] - b.px[i]) > 2;
    if (off) fprintf(stderr, "cartoon-4.6: look %d pose %zu: %ld channels differ\n", idx, k, off);
    CHECK_INT("cartoon-4.6", off, 0);
  }
  r0->destroy(r0);
  r1->destroy(r1);
  free(a.px);
  free(b.px);
}

static void bad_args(void) {
  static const int sizes[][2] = {{0, 512}, {512, 0}, {-2, 512}, {511, 512}, {512, 511},
                                 {1922, 1080}, {1920, 1082}, {2000, 500}, {1082, 1920}};
  char err[256];
  mira_avatar_renderer *sentinel = (mira_avatar_renderer *)&err, *r = sentinel;
  char want[128];
  snprintf(want, sizeof want, "cartoon: no illustrated avatar -1 (there are %d)", mira_cartoon_count());
  CHECK_INT("cartoon-5.1", mira_cartoon_renderer_new(-1, 512, 512, 0, &r, err, sizeof err), MIRA_EINVAL);
  CHECK_STR("cartoon-5.1", err, want);
  CHECK_INT("cartoon-5.2", mira_cartoon_renderer_new(mira_cartoon_count(), 512, 512, 0, &r, err, sizeof err),
            MIRA_EINVAL);
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    err[0] = 0;
    CHECK_INT("cartoon-5.3", mira_cartoon_renderer_new(0, sizes[i][0], sizes[i][1], 0, &r, err, sizeof err), MIRA_EINVAL);
    CHECK("cartoon-5.3", strstr(err, "bad frame size") != NULL);
  }
  CHECK_STR("cartoon-5.3", err, "cartoon: bad frame size 1082x1920 (even sides, at most 1920x1080)");
  CHECK("cartoon-5.4", r == sentinel);
  CHECK_INT("cartoon-5.5", mira_cartoon_renderer_new(0, 512, 512, 0, NULL, err, sizeof err), MIRA_EINVAL);
  CHECK_INT("cartoon-5.6", mira_cartoon_renderer_new(0, 1080, 1920, 1, &r, err, sizeof err), 0); /* portrait */
  if (r != sentinel) {
    frame f = frame_new(1080, 1920);
    CHECK_INT("cartoon-5.6", render(r, &neutral, &f), 0);
    CHECK_INT("cartoon-5.7", r->render(r, &neutral, f.px, 1080 * 3 - 1), MIRA_EINVAL);
    CHECK_INT("cartoon-5.7", r->render(r, NULL, f.px, 1080 * 3), MIRA_EINVAL);
    CHECK_INT("cartoon-5.7", r->render(r, &neutral, NULL, 1080 * 3), MIRA_EINVAL);
    r->destroy(r);
    free(f.px);
  }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A speaking pose stream like motion.c's, so no frame repeats the last. */
static void speed(int w, int h, int full, int frames) {
  char err[256];
  mira_avatar_renderer *r;
  if (mira_cartoon_renderer_new(0, w, h, full, &r, err, sizeof err)) {
    CHECK("cartoon-6.1", 0);
    return;
  }
  frame f = frame_new(w, h);
  double t0 = now_s();
  for (int i = 0; i < frames; i++) {
    mira_anim_pose p = {.open = (i % 10) / 9.0f, .wide = (i % 3) - 1.0f, .blink = i % 40 == 0,
                        .yaw = (i % 7) - 3.0f, .pitch = (i % 5) - 2.0f, .roll = (i % 9) / 4.0f - 1,
                        .breathe = (i % 25) / 12.5f - 1, .sway_x = 0.005f, .cam_zoom = 0.01f};
    render(r, &p, &f);
  }
  double ms = (now_s() - t0) * 1e3 / frames;
  printf("cartoon-6.1: %dx%d full=%d: %.3f ms/frame, %.0f frames/s\n", w, h, full, ms, 1e3 / ms);
  CHECK("cartoon-6.1", ms < SLOW_MS);
  r->destroy(r);
  free(f.px);
}

/* Rows of five looks, at rest above and saying "aa" below. */
static void write_docs(void) {
  const char *suffix = "tests/unit/test_cartoon.c";
  size_t n = strlen(__FILE__), s = strlen(suffix);
  char path[1024], err[256];
  snprintf(path, sizeof path, "%.*sdocs/avatars.png", (int)(n >= s ? n - s : 0), __FILE__);
  int looks = mira_cartoon_count(), cols = 5, tile = 256;
  mira_rgb sheet = {NULL, tile * cols, tile * 2 * ((looks + cols - 1) / cols)};
  sheet.px = calloc((size_t)sheet.w * sheet.h, 3);
  frame f = frame_new(tile, tile);
  for (int i = 0; i < looks; i++) {
    mira_avatar_renderer *r;
    if (mira_cartoon_renderer_new(i, tile, tile, 0, &r, err, sizeof err)) continue;
    for (int k = 0; k < 2; k++) {
      render(r, k ? &(mira_anim_pose){.open = 0.85f, .wide = 0.2f} : &neutral, &f);
      int x0 = i % cols * tile, y0 = (i / cols * 2 + k) * tile;
      for (int y = 0; y < tile; y++)
        memcpy(sheet.px + ((size_t)(y0 + y) * sheet.w + x0) * 3, f.px + (size_t)y * tile * 3, (size_t)tile * 3);
    }
    r->destroy(r);
  }
  int rc = mira_rgb_write_png(path, &sheet, err, sizeof err);
  CHECK_INT("cartoon-docs", rc, 0);
  if (rc) fprintf(stderr, "cartoon-docs: %s\n", err);
  else printf("wrote %s\n", path);
  free(sheet.px);
  free(f.px);
}

int main(void) {
  catalogue();
  for (int i = 0; i < mira_cartoon_count(); i++) {
    renders_at(i, 512, 512);
    renders_at(i, 1280, 720);
    face_follows_pose(i);
    body_and_camera(i, 512, 512);
    body_and_camera(i, 1280, 720);
    head_box_holds_head(i);
  }
  bad_args();
  speed(512, 512, 0, 300);
  speed(512, 512, 1, 300);
  speed(1280, 720, 0, 100);
  speed(1280, 720, 1, 100);
  const char *docs = getenv("MIRA_WRITE_DOCS");
  if (docs && !strcmp(docs, "1")) write_docs();
  return CHECK_EXIT();
}
