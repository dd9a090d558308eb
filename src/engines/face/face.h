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

/* ---- what the animator and avatar creation need (analyze.c) ---- */

/* iBUG 300-W point ranges of the 68-point model. */
enum {
  MIRA_FACE_JAW = 0,        /* 0..16 */
  MIRA_FACE_RIGHT_BROW = 17, MIRA_FACE_LEFT_BROW = 22,
  MIRA_FACE_NOSE = 27,      /* bridge 27..30, nostrils 31..35 */
  MIRA_FACE_RIGHT_EYE = 36, /* 36..41 (the person's right: image left) */
  MIRA_FACE_LEFT_EYE = 42,  /* 42..47 */
  MIRA_FACE_OUTER_LIPS = 48,/* 48..59 */
  MIRA_FACE_INNER_LIPS = 60 /* 60..67 */
};

typedef struct mira_face_regions {
  mira_face_box mouth, jaw, right_eye, left_eye; /* bounding boxes of the point groups */
} mira_face_regions;

typedef struct mira_face_pose {
  double roll_deg; /* in-plane tilt from the line between the eye centres; + = clockwise */
  double yaw_deg;  /* left/right turn estimated from the nose tip between the jaw sides */
} mira_face_pose;

void mira_face_regions_of(const mira_point pts[MIRA_FACE_POINTS], mira_face_regions *out);
void mira_face_pose_of(const mira_point pts[MIRA_FACE_POINTS], mira_face_pose *out);

typedef enum mira_face_verdict {
  MIRA_FACE_OK = 0,
  MIRA_FACE_NONE,        /* no face found */
  MIRA_FACE_SEVERAL,     /* more than one face of comparable size */
  MIRA_FACE_TOO_SMALL,   /* face narrower than MIRA_FACE_MIN_SIDE */
  MIRA_FACE_TOO_ROTATED  /* |roll| or |yaw| over the limits */
} mira_face_verdict;

#define MIRA_FACE_MIN_SIDE 80       /* px: smaller faces cannot be animated well */
#define MIRA_FACE_MAX_ROLL 25.0     /* degrees */
#define MIRA_FACE_MAX_YAW 30.0      /* degrees */
#define MIRA_FACE_RIVAL_AREA 0.25   /* a second face this large relative to the main one counts */
#define MIRA_FACE_EYE_CASCADE "/usr/share/opencv4/haarcascades/haarcascade_eye.xml"

/* 1 if the eye cascade finds an eye in the upper 60% of box. The frontal
 * cascade's false positives (sky, hair, foliage) have none; real faces of at
 * least MIRA_FACE_MIN_SIDE px have one or two. Below that size eyes are too
 * small for the eye cascade's 20x20 window, so the answer means little. */
int mira_face_has_eyes(const mira_cascade *eyes, const mira_gray *img, const mira_face_box *box);

/* Judges a photo for avatar creation. boxes: the detections; eyes[i]: what
 * mira_face_has_eyes said of box i; pts: n*68 landmarks, box by box.
 * Faces of at least MIRA_FACE_MIN_SIDE count only with an eye; smaller ones
 * count as (too small) faces. *main_face is the index of the face to use
 * (when the verdict is OK). Writes a message that says what to change. */
mira_face_verdict mira_face_judge(const mira_face_box *boxes, const int *eyes, size_t n, const mira_point *pts,
                                  size_t *main_face, char *msg, size_t msglen);

#endif
