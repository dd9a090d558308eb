/* The animator: from a mouth timeline to frames of an avatar that speaks.
 *
 *   mira_anim_input in = {.viseme = vis, .energy = env, .n10 = n, .duration_ms = ms, .seed = 7};
 *   mira_anim_pose *poses; size_t frames;
 *   mira_anim_plan(&in, MIRA_ANIM_FPS, &poses, &frames, err, sizeof err);   // motion.c
 *   mira_avatar_renderer *r;
 *   mira_photo_renderer_new(&img, pts, full, &r, err, sizeof err);         // photo.c
 *   for (i = 0; i < frames; i++) r->render(r, &poses[i], rgb, r->w * 3);
 *   r->destroy(r); free(poses);
 *
 * Two stages with one seam between them:
 *   1. motion.c plans a pose per video frame: mouth shape (co-articulated
 *      visemes, eased, bilabials closed), blinks, head rotation and nod that
 *      follow speech energy, breathing, body sway and camera drift. All of it
 *      is a pure function of the input and the seed: deterministic.
 *   2. a renderer draws one pose. Renderers are a struct of function pointers
 *      (like the store backends): photo.c warps a photo by its 68 landmarks,
 *      cartoon.c draws an illustrated rig with cairo. A renderer knows nothing
 *      of time; it draws whatever pose it is given.
 *
 * Ownership: poses are malloc'd for the caller (free()). A renderer owns its
 * copy of the image and everything else it needs until destroy().
 * Thread-safety: planning is thread-safe. One renderer renders one frame at a
 * time (it keeps scratch buffers); make one renderer per thread.
 */
#ifndef MIRA_ENGINES_ANIMATE_ANIMATE_H
#define MIRA_ENGINES_ANIMATE_ANIMATE_H

#include <stddef.h>
#include <stdint.h>

#include "engines/face/face.h"
#include "engines/image/rgb.h"
#include "engines/speech/visemes.h"

#define MIRA_ANIM_FPS 25
#define MIRA_ANIM_TRACK_MS 10 /* the input tracks' frame step */

/* One video frame's pose: what to draw, never how. Neutral is all zeros
 * (mouth closed and relaxed, eyes open, head straight). */
typedef struct mira_anim_pose {
  /* mouth */
  float open;   /* 0..1 jaw drop / inner-lip opening; 1 is a wide "aa" */
  float wide;   /* -1..1 lip corners: -1 rounded and pushed forward ("oo"), +1 spread ("ee") */
  float press;  /* 0..1 lips pressed together (p b m); the renderer closes the lips fully at 1 */
  float teeth;  /* 0..1 upper teeth showing over the lower lip (f v th) */
  /* eyes */
  float blink;  /* 0 open .. 1 closed */
  /* head, in degrees; small (|yaw| <= 6, |pitch| <= 5, |roll| <= 4) */
  float yaw;    /* + turns toward the image's right */
  float pitch;  /* + nods down */
  float roll;   /* + tilts clockwise */
  /* body and camera: used only when the whole frame animates (im2vid_full) */
  float breathe;          /* -1..1 breathing phase: shoulders/chest rise at +1 */
  float sway_x, sway_y;   /* upper-body sway, fraction of the frame width (|.| <= 0.01) */
  float cam_x, cam_y;     /* camera drift, fraction of the frame (|.| <= 0.01) */
  float cam_zoom;         /* 0 = none; +0.02 = 2% closer */
} mira_anim_pose;

/* What the mouth says, on a MIRA_ANIM_TRACK_MS grid. From text: the
 * timeline's phonemes mapped to visemes plus the PCM's RMS envelope. From an
 * upload: mira_audio_mouth_track's visemes (refined by phone recognition)
 * and its opening. */
typedef struct mira_anim_input {
  const mira_viseme *viseme; /* n10 entries */
  const float *energy;       /* n10 entries, 0..1 (loudness envelope; 0 = silence) */
  size_t n10;
  int64_t duration_ms;       /* the audio's duration: frames = round(duration * fps) */
  float viseme_trust;        /* 0..1: how far the visemes, rather than the loudness, shape the
                                opening. 1 for a script's exact phonemes; recognised phones are
                                right ~73% of the time, so an upload uses less (0 counts as 1). */
  uint64_t seed;             /* idle motion (blink times, sway phases) */
  int full;                  /* plan body sway and camera drift too (im2vid_full) */
} mira_anim_input;

/* Plans one pose per frame at fps. *nframes = round(duration_ms * fps / 1000),
 * at least 1. MIRA_EINVAL on bad input. */
int mira_anim_plan(const mira_anim_input *in, int fps, mira_anim_pose **poses, size_t *nframes,
                   char *err, size_t errlen);

/* ---- renderers ---- */

typedef struct mira_avatar_renderer mira_avatar_renderer;
struct mira_avatar_renderer {
  int w, h; /* output frame size: even, at most 1920x1080 */
  /* Draws pose into rgb (w*h*3 bytes, rows `stride` bytes apart). 0 or an error code. */
  int (*render)(mira_avatar_renderer *r, const mira_anim_pose *pose, uint8_t *rgb, int stride);
  void (*destroy)(mira_avatar_renderer *r);
};

/* photo.c: animates a photo by its 68 landmarks (mira_face_landmarks).
 * img's sides must be even. full = 0: only the head region changes, every
 * pixel outside it equals img; full = 1: the whole frame moves (head,
 * shoulders, camera). The renderer copies img. */
int mira_photo_renderer_new(const mira_rgb *img, const mira_point pts[MIRA_FACE_POINTS], int full,
                            mira_avatar_renderer **out, char *err, size_t errlen);
/* The region full = 0 may change: pixels outside it are never written.
 * Filled by photo.c from the landmarks; for tests. */
void mira_photo_head_region(const mira_avatar_renderer *r, int *x, int *y, int *w, int *h);

/* cartoon.c: illustrated avatars drawn with cairo from a parametric rig. */
typedef struct mira_cartoon_style mira_cartoon_style; /* opaque: colours, shapes, proportions */
/* The built-in looks: index 0..mira_cartoon_count()-1. */
int mira_cartoon_count(void);
typedef struct mira_cartoon_info {
  const char *name;         /* "Ava" */
  const char *voice_engine; /* default voice, a catalog entry: "flite" */
  const char *voice;        /* "slt" (mira_catalog_find(voice_engine, voice) != NULL) */
} mira_cartoon_info;
const mira_cartoon_info *mira_cartoon_info_of(int index); /* NULL when out of range */
int mira_cartoon_renderer_new(int index, int w, int h, int full, mira_avatar_renderer **out, char *err,
                              size_t errlen);

#endif
