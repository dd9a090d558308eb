/* Avatar creation from a photo; see avatar.h. */
#include "engines/face/avatar.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engines/image/gray.h"

int mira_face_models_load(mira_face_models **out, char *err, size_t errlen) {
  *out = NULL;
  mira_face_models *m = calloc(1, sizeof *m);
  if (!m) return mira_err(err, errlen, MIRA_ENOMEM, "out of memory");
  int rc = mira_cascade_load(MIRA_FACE_DEFAULT_CASCADE, &m->faces, err, errlen);
  if (!rc) rc = mira_cascade_load(MIRA_FACE_EYE_CASCADE, &m->eyes, err, errlen);
  if (rc) rc = mira_err(err, errlen, MIRA_ENOTSUP, "face detection needs OpenCV's cascades: install the "
                        "Debian package opencv-data (%s)", err);
  if (!rc && mira_shape_model_load(MIRA_FACE_DEFAULT_SHAPE_MODEL, &m->shape, err, errlen) != 0)
    rc = mira_err(err, errlen, MIRA_ENOTSUP, "face landmarks need dlib's 68-point model: install the Debian "
                  "package libdlib-data (%s)", err);
  if (rc) {
    mira_face_models_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

void mira_face_models_free(mira_face_models *m) {
  if (!m) return;
  mira_cascade_free(m->faces);
  mira_cascade_free(m->eyes);
  mira_shape_model_free(m->shape);
  free(m);
}

/* Each output pixel averages the input box it covers (with fractional edge
 * weights): no aliasing on big reductions, exact copy at scale 1. */
static void resize_row(const mira_rgb *in, double y0, double y1, double sx, int w, uint8_t *dst) {
  for (int x = 0; x < w; x++) {
    double x0 = x * sx, x1 = (x + 1) * sx, acc[3] = {0, 0, 0}, wsum = 0;
    for (int yy = (int)y0; yy < in->h && yy < y1; yy++) {
      double wy = fmin(y1, yy + 1) - fmax(y0, yy);
      for (int xx = (int)x0; xx < in->w && xx < x1; xx++) {
        double wt = wy * (fmin(x1, xx + 1) - fmax(x0, xx));
        const uint8_t *p = in->px + ((size_t)yy * in->w + xx) * 3;
        for (int c = 0; c < 3; c++) acc[c] += wt * p[c];
        wsum += wt;
      }
    }
    for (int c = 0; c < 3; c++) dst[x * 3 + c] = (uint8_t)lrint(wsum > 0 ? acc[c] / wsum : 0);
  }
}

int mira_rgb_resize(const mira_rgb *in, int w, int h, mira_rgb *out) {
  out->w = w;
  out->h = h;
  out->px = malloc((size_t)w * h * 3);
  if (!out->px) return MIRA_ENOMEM;
  if (in->w - w >= 0 && in->w - w <= 1 && in->h - h >= 0 && in->h - h <= 1) {
    for (int y = 0; y < h; y++) memcpy(out->px + (size_t)y * w * 3, in->px + (size_t)y * in->w * 3, (size_t)w * 3);
    return 0; /* odd sides: crop the last row/column rather than resample */
  }
  double sx = (double)in->w / w, sy = (double)in->h / h;
  for (int y = 0; y < h; y++) resize_row(in, y * sy, (y + 1) * sy, sx, w, out->px + (size_t)y * w * 3);
  return 0;
}

/* The largest size within the 1080p box with the photo's aspect, then even
 * sides (dropping at most one row and column). */
static void frame_size(int w, int h, int *fw, int *fh) {
  int long_side = w > h ? w : h, short_side = w > h ? h : w;
  double s = fmin(1.0, fmin((double)MIRA_AVATAR_MAX_LONG / long_side, (double)MIRA_AVATAR_MAX_SHORT / short_side));
  *fw = (int)floor(w * s) & ~1;
  *fh = (int)floor(h * s) & ~1;
}

static mira_face_verdict judge_frame(const mira_face_models *m, const mira_rgb *frame, mira_point pts[],
                                     int *err_rc, char *msg, size_t msglen) {
  mira_gray g;
  mira_face_box *boxes = NULL;
  size_t n = 0, main_face = 0;
  char err[256];
  int rc = mira_gray_from_rgb(frame->px, frame->w, frame->h, frame->w * 3, &g);
  if (!rc) rc = mira_face_detect(m->faces, &g, &mira_face_detect_defaults, &boxes, &n, err, sizeof err);
  int *eyes = rc ? NULL : calloc(n ? n : 1, sizeof *eyes);
  mira_point *all = rc ? NULL : calloc((n ? n : 1) * MIRA_FACE_POINTS, sizeof *all);
  mira_face_verdict v = MIRA_FACE_NONE;
  if (rc || !eyes || !all) {
    if (err_rc) *err_rc = rc ? rc : MIRA_ENOMEM;
    snprintf(msg, msglen, "face analysis failed: %s", rc ? err : "out of memory");
  } else {
    for (size_t i = 0; i < n; i++) {
      eyes[i] = mira_face_has_eyes(m->eyes, &g, &boxes[i]);
      mira_face_landmarks(m->shape, &g, &boxes[i], all + i * MIRA_FACE_POINTS);
    }
    v = mira_face_judge(boxes, eyes, n, all, &main_face, msg, msglen);
    if (v == MIRA_FACE_OK) memcpy(pts, all + main_face * MIRA_FACE_POINTS, MIRA_FACE_POINTS * sizeof *pts);
  }
  free(eyes);
  free(all);
  free(boxes);
  if (!rc) mira_gray_free(&g);
  return v;
}

mira_face_verdict mira_avatar_prepare(const mira_face_models *m, const mira_rgb *photo, mira_rgb *frame,
                                      mira_point pts[MIRA_FACE_POINTS], int *err_rc, char *msg, size_t msglen) {
  if (err_rc) *err_rc = 0;
  memset(frame, 0, sizeof *frame);
  int fw, fh;
  frame_size(photo->w, photo->h, &fw, &fh);
  if (fw < 64 || fh < 64) {
    snprintf(msg, msglen, "the photo is too small (%dx%d; at least 64x64 px)", photo->w, photo->h);
    return MIRA_FACE_TOO_SMALL;
  }
  if (mira_rgb_resize(photo, fw, fh, frame) != 0) {
    if (err_rc) *err_rc = MIRA_ENOMEM;
    snprintf(msg, msglen, "out of memory");
    return MIRA_FACE_NONE;
  }
  mira_face_verdict v = judge_frame(m, frame, pts, err_rc, msg, msglen);
  if (v != MIRA_FACE_OK) mira_rgb_free(frame);
  return v;
}
