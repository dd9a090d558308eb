/* Regions, head pose and a quality verdict from the 68 landmarks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "engines/face/face.h"

static mira_face_box bounds(const mira_point *p, int from, int to) {
  double x0 = p[from].x, y0 = p[from].y, x1 = x0, y1 = y0;
  for (int i = from + 1; i <= to; i++) {
    x0 = fmin(x0, p[i].x), y0 = fmin(y0, p[i].y);
    x1 = fmax(x1, p[i].x), y1 = fmax(y1, p[i].y);
  }
  mira_face_box b = {(int)floor(x0), (int)floor(y0), 0, 0};
  b.w = (int)ceil(x1) - b.x + 1, b.h = (int)ceil(y1) - b.y + 1;
  return b;
}

void mira_face_regions_of(const mira_point pts[MIRA_FACE_POINTS], mira_face_regions *out) {
  out->mouth = bounds(pts, MIRA_FACE_OUTER_LIPS, 67);
  out->jaw = bounds(pts, MIRA_FACE_JAW, 16);
  out->right_eye = bounds(pts, MIRA_FACE_RIGHT_EYE, 41);
  out->left_eye = bounds(pts, MIRA_FACE_LEFT_EYE, 47);
}

static mira_point centre(const mira_point *p, int from, int to) {
  mira_point c = {0, 0};
  for (int i = from; i <= to; i++) c.x += p[i].x, c.y += p[i].y;
  c.x /= to - from + 1, c.y /= to - from + 1;
  return c;
}

/* Yaw: where the nose tip (30) sits between the jaw's sides (0, 16), measured
 * along the eye line; centred is 0°, at a side ±90°. A coarse estimate, good
 * enough to reject profiles, not a 3-D pose solver. */
void mira_face_pose_of(const mira_point pts[MIRA_FACE_POINTS], mira_face_pose *out) {
  mira_point re = centre(pts, MIRA_FACE_RIGHT_EYE, 41), le = centre(pts, MIRA_FACE_LEFT_EYE, 47);
  double dx = le.x - re.x, dy = le.y - re.y, len = hypot(dx, dy);
  out->roll_deg = atan2(dy, dx) * 180.0 / M_PI;
  if (len <= 0) {
    out->yaw_deg = 0;
    return;
  }
  double ux = dx / len, uy = dy / len;
  double a = pts[0].x * ux + pts[0].y * uy, b = pts[16].x * ux + pts[16].y * uy;
  double n = pts[30].x * ux + pts[30].y * uy;
  double t = b != a ? (n - a) / (b - a) : 0.5; /* 0..1 across the face */
  if (t < 0) t = 0;
  if (t > 1) t = 1;
  out->yaw_deg = asin(2 * t - 1) * 180.0 / M_PI;
}

int mira_face_has_eyes(const mira_cascade *eyes, const mira_gray *img, const mira_face_box *b) {
  int x = b->x < 0 ? 0 : b->x, y = b->y < 0 ? 0 : b->y;
  int w = b->w, h = b->h * 6 / 10;
  if (x + w > img->w) w = img->w - x;
  if (y + h > img->h) h = img->h - y;
  if (w < 20 || h < 20) return 0;
  mira_gray view = {img->px + (size_t)y * img->stride + x, w, h, img->stride};
  mira_face_detect_params p = mira_face_detect_defaults;
  p.min_w = p.min_h = b->w / 8 > 10 ? b->w / 8 : 10; /* an eye is about a fifth of the face */
  p.max_w = p.max_h = b->w / 2;
  mira_face_box *found = NULL;
  size_t n = 0;
  char err[128];
  int ok = mira_face_detect(eyes, &view, &p, &found, &n, err, sizeof err) == 0 && n > 0;
  free(found);
  return ok;
}

static int counts(const mira_face_box *b, const int *eyes, size_t i) {
  return b[i].w < MIRA_FACE_MIN_SIDE || eyes[i];
}

mira_face_verdict mira_face_judge(const mira_face_box *boxes, const int *eyes, size_t n, const mira_point *pts,
                                  size_t *main_face, char *msg, size_t msglen) {
  size_t main = n;
  for (size_t i = 0; i < n; i++)
    if (counts(boxes, eyes, i) && (main == n || (long)boxes[i].w * boxes[i].h > (long)boxes[main].w * boxes[main].h))
      main = i;
  *main_face = main;
  if (main == n) {
    snprintf(msg, msglen, "no face found: use a photo with one clearly visible, front-facing face");
    return MIRA_FACE_NONE;
  }
  double area = (double)boxes[main].w * boxes[main].h;
  for (size_t i = 0; i < n; i++) {
    if (i != main && counts(boxes, eyes, i) && (double)boxes[i].w * boxes[i].h >= MIRA_FACE_RIVAL_AREA * area) {
      snprintf(msg, msglen, "several faces found: crop the photo to the one person who should speak");
      return MIRA_FACE_SEVERAL;
    }
  }
  if (boxes[main].w < MIRA_FACE_MIN_SIDE) {
    snprintf(msg, msglen, "the face is too small (%d px wide; at least %d px): use a closer or larger photo",
             boxes[main].w, MIRA_FACE_MIN_SIDE);
    return MIRA_FACE_TOO_SMALL;
  }
  mira_face_pose pose;
  mira_face_pose_of(pts + main * MIRA_FACE_POINTS, &pose);
  if (fabs(pose.roll_deg) > MIRA_FACE_MAX_ROLL || fabs(pose.yaw_deg) > MIRA_FACE_MAX_YAW) {
    snprintf(msg, msglen, "the face is turned too far (tilt %.0f°, turn %.0f°; at most %.0f° and %.0f°): "
             "use a photo looking at the camera", pose.roll_deg, pose.yaw_deg, MIRA_FACE_MAX_ROLL, MIRA_FACE_MAX_YAW);
    return MIRA_FACE_TOO_ROTATED;
  }
  snprintf(msg, msglen, "ok");
  return MIRA_FACE_OK;
}
