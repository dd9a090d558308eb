/* Face quality verdicts, regions and pose (issue 4): the fixtures get the
 * verdicts a person would give, and a turned face is refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engines/face/face.h"

static char dir[1024];

typedef struct analysed {
  mira_face_box *boxes;
  size_t n;
  int *eyes;
  mira_point *pts;
} analysed;

static void analyse(const char *name, const mira_cascade *c, const mira_cascade *eyes, const mira_shape_model *m,
                    mira_gray *g, analysed *a) {
  char path[1200], err[256];
  snprintf(path, sizeof path, "%s%s.gray.png", dir, name);
  memset(a, 0, sizeof *a);
  CHECK_INT("analyze-0.1", mira_gray_load_png(path, g, err, sizeof err), 0);
  CHECK_INT("analyze-0.1", mira_face_detect(c, g, &mira_face_detect_defaults, &a->boxes, &a->n, err, sizeof err), 0);
  a->eyes = calloc(a->n + 1, sizeof *a->eyes);
  a->pts = calloc((a->n + 1) * MIRA_FACE_POINTS, sizeof *a->pts);
  for (size_t i = 0; i < a->n; i++) {
    a->eyes[i] = mira_face_has_eyes(eyes, g, &a->boxes[i]);
    mira_face_landmarks(m, g, &a->boxes[i], a->pts + i * MIRA_FACE_POINTS);
  }
}

static void release(mira_gray *g, analysed *a) {
  free(a->boxes), free(a->eyes), free(a->pts);
  mira_gray_free(g);
}

static void verdicts(const mira_cascade *c, const mira_cascade *eyes, const mira_shape_model *m) {
  static const struct { const char *name; mira_face_verdict want; const char *msg; } cases[] = {
      {"astronaut", MIRA_FACE_OK, "ok"},
      {"230501201_1", MIRA_FACE_OK, "ok"},
      {"inpaint_basics", MIRA_FACE_SEVERAL, "several faces found"},
      {"messi5", MIRA_FACE_TOO_SMALL, "the face is too small (38 px wide"},
      {"Basic_Linear_Transform_Tutorial_gamma_correction", MIRA_FACE_NONE, "no face found"}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    mira_gray g;
    analysed a;
    char msg[256];
    size_t main;
    analyse(cases[k].name, c, eyes, m, &g, &a);
    mira_face_verdict v = mira_face_judge(a.boxes, a.eyes, a.n, a.pts, &main, msg, sizeof msg);
    printf("%-50s %zu boxes: %s\n", cases[k].name, a.n, msg);
    CHECK_INT("analyze-1.1", v, cases[k].want);
    CHECK("analyze-1.2", strstr(msg, cases[k].msg) != NULL);
    release(&g, &a);
  }
}

static void pose_and_regions(const mira_cascade *c, const mira_cascade *eyes, const mira_shape_model *m) {
  mira_gray g;
  analysed a;
  analyse("astronaut", c, eyes, m, &g, &a);
  CHECK_INT("analyze-2.1", a.n, 1);
  if (a.n == 1) {
    mira_face_pose pose;
    mira_face_pose_of(a.pts, &pose);
    CHECK("analyze-2.2", fabs(pose.roll_deg) < 10 && fabs(pose.yaw_deg) < 20);
    mira_face_regions r;
    mira_face_regions_of(a.pts, &r);
    CHECK("analyze-2.3", r.mouth.y > r.left_eye.y + r.left_eye.h && r.mouth.y > r.right_eye.y);
    CHECK("analyze-2.3", r.right_eye.x + r.right_eye.w <= r.left_eye.x); /* image left is the person's right */
    CHECK("analyze-2.3", r.jaw.w > r.mouth.w && r.mouth.w > 0 && r.mouth.h > 0);
    /* analyze-2.4: the same face turned 40 degrees in the image is refused */
    double cx = a.boxes[0].x + a.boxes[0].w / 2.0, cy = a.boxes[0].y + a.boxes[0].h / 2.0, t = 40 * M_PI / 180;
    for (int i = 0; i < MIRA_FACE_POINTS; i++) {
      double x = a.pts[i].x - cx, y = a.pts[i].y - cy;
      a.pts[i].x = cx + x * cos(t) - y * sin(t), a.pts[i].y = cy + x * sin(t) + y * cos(t);
    }
    mira_face_pose_of(a.pts, &pose);
    CHECK("analyze-2.4", fabs(pose.roll_deg - 40) < 12);
    char msg[256];
    size_t main;
    CHECK_INT("analyze-2.4", mira_face_judge(a.boxes, a.eyes, a.n, a.pts, &main, msg, sizeof msg), MIRA_FACE_TOO_ROTATED);
    CHECK("analyze-2.4", strstr(msg, "turned too far") != NULL);
  }
  release(&g, &a);
}

int main(void) {
  const char *self = __FILE__, *cut = strstr(self, "tests/unit/");
  snprintf(dir, sizeof dir, "%.*stests/fixtures/faces/", cut ? (int)(cut - self) : 0, self);
  char err[256];
  mira_cascade *c = NULL, *eyes = NULL;
  mira_shape_model *m = NULL;
  CHECK_INT("analyze-0.0", mira_cascade_load(MIRA_FACE_DEFAULT_CASCADE, &c, err, sizeof err), 0);
  CHECK_INT("analyze-0.0", mira_cascade_load(MIRA_FACE_EYE_CASCADE, &eyes, err, sizeof err), 0);
  CHECK_INT("analyze-0.0", mira_shape_model_load(MIRA_FACE_DEFAULT_SHAPE_MODEL, &m, err, sizeof err), 0);
  if (c && eyes && m) {
    verdicts(c, eyes, m);
    pose_and_regions(c, eyes, m);
  }
  mira_cascade_free(c), mira_cascade_free(eyes), mira_shape_model_free(m);
  return CHECK_EXIT();
}
