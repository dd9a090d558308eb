/* Face analysis: OpenCV-compatible cascade face detection and dlib-compatible
 * 68-point landmarks, in plain C, from Debian's model files.
 *
 *   mira_cascade *c;   // /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml
 *   mira_cascade_load(MIRA_FACE_DEFAULT_CASCADE, &c, err, sizeof err);
 *   mira_face_box *boxes; size_t n;
 *   mira_face_detect(c, &gray, &mira_face_detect_defaults, &boxes, &n, err, sizeof err);
 *
 *   mira_shape_model *m;  // /usr/share/dlib/shape_predictor_68_face_landmarks.dat
 *   mira_shape_model_load(MIRA_FACE_DEFAULT_SHAPE_MODEL, &m, err, sizeof err);
 *   mira_point pts[68];
 *   mira_face_landmarks(m, &gray, &boxes[0], pts);
 *
 * Models are read-only after loading and shared between threads; detection
 * and landmark fitting keep their scratch per call. Loaders reject truncated
 * or corrupt files with a clear error (they are fuzzed).
 */
#ifndef MIRA_ENGINES_FACE_FACE_H
#define MIRA_ENGINES_FACE_FACE_H

#include <stddef.h>

#include "engines/image/gray.h"

#define MIRA_FACE_DEFAULT_CASCADE "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
#define MIRA_FACE_DEFAULT_SHAPE_MODEL "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
#define MIRA_FACE_POINTS 68

typedef struct mira_face_box {
  int x, y, w, h;        /* OpenCV's Rect: x, y, width, height */
} mira_face_box;

typedef struct mira_point {
  double x, y;           /* unrounded; dlib rounds with floor(v + 0.5) */
} mira_point;

/* ---- detection (cascade.c, detect.c) ---- */

typedef struct mira_cascade mira_cascade;

typedef struct mira_face_detect_params {
  double scale_factor;   /* 1.1 */
  int min_neighbors;     /* 3 */
  int min_w, min_h;      /* 30, 30 */
  int max_w, max_h;      /* 0: no limit */
} mira_face_detect_params;

/* OpenCV's detectMultiScale defaults, for comparable results. */
extern const mira_face_detect_params mira_face_detect_defaults;

/* Loads an OpenCV cascade XML (new-style <cascade>: HAAR incl. tilted
 * features, or LBP). MIRA_EINVAL with a message on malformed input. */
int mira_cascade_load(const char *path, mira_cascade **out, char *err, size_t errlen);
int mira_cascade_load_mem(const char *xml, size_t len, mira_cascade **out, char *err, size_t errlen);
void mira_cascade_free(mira_cascade *c);

/* Multi-scale detection with OpenCV's grouping; *boxes is malloc'd (free()).
 * Thread-safe for a shared cascade. */
int mira_face_detect(const mira_cascade *c, const mira_gray *img, const mira_face_detect_params *p,
                     mira_face_box **boxes, size_t *n, char *err, size_t errlen);

/* ---- landmarks (shape.c) ---- */

typedef struct mira_shape_model mira_shape_model;

/* Loads dlib's serialized shape_predictor (.dat). MIRA_EINVAL on a truncated
 * or corrupt file. */
int mira_shape_model_load(const char *path, mira_shape_model **out, char *err, size_t errlen);
int mira_shape_model_load_mem(const void *data, size_t len, mira_shape_model **out, char *err, size_t errlen);
void mira_shape_model_free(mira_shape_model *m);
/* Number of landmarks the model predicts (68 for Debian's model). */
int mira_shape_model_points(const mira_shape_model *m);

/* Fits the landmarks in box (dlib's rectangle(x, y, x+w-1, y+h-1)).
 * out must hold mira_shape_model_points(m) points. Thread-safe. */
void mira_face_landmarks(const mira_shape_model *m, const mira_gray *img, const mira_face_box *box,
                         mira_point *out);

#endif
