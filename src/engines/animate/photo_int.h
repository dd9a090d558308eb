/* Internals of the photo renderer, shared by photo.c (posing, rendering),
 * photo_mesh.c (laying the mesh over a face) and photo_paint.c (mouth
 * interior, lash lines), plus a debug view of the mesh for tests and docs.
 * Not a public interface. Thread-safety: as the renderer's.
 *
 * Vertex layout: the 68 landmarks, then PHOTO_MIDS outline midpoints (lips
 * and eyes, so their outlines bend smoothly), then the extra points photo_mesh.c
 * adds (forehead, hair, cheeks, neck, lash and crease rows, the ring, the frame).
 */
#ifndef MIRA_ENGINES_ANIMATE_PHOTO_INT_H
#define MIRA_ENGINES_ANIMATE_PHOTO_INT_H

#include "engines/animate/animate.h"
#include "engines/animate/mesh.h"

enum {
  PHOTO_MID_INNER = MIRA_FACE_POINTS,  /* 8: after 60, 61, ... 67 along the inner lips */
  PHOTO_MID_OUTER = PHOTO_MID_INNER + 8, /* 12: after 48 ... 59 */
  PHOTO_MID_EYES = PHOTO_MID_OUTER + 12, /* 6 + 6: after 36 ... 41, then 42 ... 47 */
  PHOTO_MIDS = 32,
  PHOTO_FIRST_EXTRA = MIRA_FACE_POINTS + PHOTO_MIDS
};

/* Colours sampled from the photo when the renderer is made. */
typedef struct photo_palette {
  float lip[3], teeth[3], cavity[3], tongue[3];
  float lid[2][3];  /* a closed lid's skin, from under each eye (right eye = image left first) */
  float lash[2][3]; /* a closed eye's lash line */
} photo_palette;

/* Sizes in photo pixels. */
typedef struct photo_geom {
  float mouth_w;  /* between the mouth corners (48-54) */
  float teeth_h;  /* upper teeth showing below the inner upper lip */
  float eye_w[2]; /* between each eye's corners */
} photo_geom;

#define PHOTO_LID_POINTS 9 /* past the outer corner, 36, mid, 37, mid, 38, mid, 39, past the inner corner */

/* Where the painters draw, in output pixels, for one frame. */
typedef struct photo_paint {
  mira_point lips[16]; /* inner lips: 60, mid, 61, mid, ... 67, mid */
  mira_point lid_shut[2][PHOTO_LID_POINTS]; /* each upper lid as posed */
  mira_point lid_top[2][PHOTO_LID_POINTS];  /* the lid's crease above it (same ends) */
  float blink;
  float mouth_alpha; /* 0: keep the warped photo inside the lips; 1: paint the mouth */
  float scale;       /* output px per photo px (camera zoom) */
} photo_paint;

typedef struct photo {
  mira_avatar_renderer base; /* first: what callers see */
  int full;
  mira_mesh_img src;     /* our copy of the photo */
  mira_mesh_src warp_src; /* the same, prepared for warping */
  mira_mesh_clip region; /* the head region (full = 0 writes only here) */
  mira_point frame_o;    /* face frame: origin (between the eyes), axes */
  mira_point ex, ey;
  float S, inner_open;   /* interocular distance, rest inner-lip opening (face frame) */
  float uc, vc, ru, rv;  /* head ellipsoid in face coordinates */
  mira_point pivot;      /* roll turns about the neck */
  float chin_y, hair_y, face_cx, face_w;
  int nv, nt;
  mira_point *rest;      /* nv: in the photo */
  mira_point *loc;       /* nv: rest in face coordinates */
  float *head;           /* nv: how much of the head motion a point follows */
  float *depth;          /* nv: extra depth (nose, lips) for yaw and pitch */
  int *follow;           /* nv: landmark whose shape motion an extra point copies, or -1 */
  float *follow_w;
  float *lift;           /* nv: px the sampling point rises as the eye closes (upper lids) */
  int (*tri)[3];
  int mid[PHOTO_MIDS][4]; /* midpoint i = (9 (b + c) - a - d) / 16 of these landmarks ... */
  mira_point mid_off[PHOTO_MIDS]; /* ... plus this (nonzero only where the head region clips it) */
  int crease[2][7];      /* vertex of the crease over each upper-lid point (36, mid, 37, ... 39), or -1 */
  mira_point *pos;       /* nv: posed, output pixels (scratch) */
  mira_point *from;      /* nv: where each vertex samples the photo this frame (scratch) */
  mira_point *dloc;      /* nv: shape displacement in face coordinates (scratch) */
  photo_palette pal;
  photo_geom geom;
} photo;

static inline mira_point photo_lerp(mira_point a, mira_point b, double t) {
  mira_point p = {a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t};
  return p;
}

/* The 4-point subdivision rule: a midpoint on the smooth curve through an outline. */
static inline mira_point photo_mid(const mira_point *v, const int m[4]) {
  mira_point p = {(9 * (v[m[1]].x + v[m[2]].x) - v[m[0]].x - v[m[3]].x) / 16,
                  (9 * (v[m[1]].y + v[m[2]].y) - v[m[0]].y - v[m[3]].y) / 16};
  return p;
}

static inline mira_point photo_to_face(const photo *p, mira_point q) {
  double dx = q.x - p->frame_o.x, dy = q.y - p->frame_o.y;
  mira_point l = {dx * p->ex.x + dy * p->ex.y, dx * p->ey.x + dy * p->ey.y};
  return l;
}

static inline mira_point photo_from_face(const photo *p, mira_point l) {
  mira_point q = {p->frame_o.x + l.x * p->ex.x + l.y * p->ey.x, p->frame_o.y + l.x * p->ex.y + l.y * p->ey.y};
  return q;
}

/* photo_mesh.c: the face frame, head ellipsoid and head region from the
 * landmarks (needs base.w/h); then the mesh (needs geom too). */
void photo_layout(photo *p, const mira_point pts[MIRA_FACE_POINTS]);
int photo_build_mesh(photo *p, const mira_point pts[MIRA_FACE_POINTS], char *err, size_t errlen);
void photo_free_mesh(photo *p);

/* photo_paint.c: paints the inside of the mouth and the lash lines of
 * closing eyes over a warped frame, writing only inside clip. */
void photo_paint_mouth(const photo_palette *pal, const photo_geom *g, const photo_paint *p, mira_mesh_img *to,
                       const mira_mesh_clip *clip);
void photo_paint_lids(const photo_palette *pal, const photo_geom *g, const photo_paint *p, mira_mesh_img *to,
                      const mira_mesh_clip *clip);
/* Samples the palette from the photo and its landmarks. */
void photo_palette_of(const mira_mesh_img *img, const mira_point pts[MIRA_FACE_POINTS], float inner_open,
                      float mouth_w, photo_palette *out);

/* The mesh of a photo renderer as posed: *verts (nverts points, output
 * pixels) and *tris (ntris) stay valid until the next render or
 * mira_photo_mesh call on r. For tests and docs/mesh.png. */
void mira_photo_mesh(mira_avatar_renderer *r, const mira_anim_pose *pose, const mira_point **verts,
                     int *nverts, const int (**tris)[3], int *ntris);

#endif
