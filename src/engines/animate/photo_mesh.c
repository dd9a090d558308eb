/* Lays the photo renderer's mesh over a face: the 68 landmarks, smooth
 * midpoints on the lip and eye outlines, points the landmarks do not reach
 * (forehead, hair, temples, cheeks, neck, lid creases and lash rows), a ring
 * of fixed points on the head region's border and, for full = 1, a grid over
 * the rest of the frame and a ring beyond it. Then a constrained Delaunay
 * triangulation (mesh.c) in which the lip, eye and jaw outlines are edges. */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "engines/animate/photo_int.h"

/* Extra points, in interocular distances (S). */
#define FOREHEAD_UP 0.5
#define HAIR_UP 1.25
#define SIDE_OUT 0.28
#define NECK_DOWN 0.55       /* also the roll pivot, under the chin */
#define RING_MARGIN 0.4      /* head region: the points' bounding box grown by this */
#define RING_STEP 0.8        /* spacing of the fixed points on the region's border */
#define MIN_GAP_PX 2.0       /* extra points closer than this to another point are dropped */
#define CREASE_AT 0.45f      /* lid creases: this far from the upper lid to the brow ... */
#define CREASE_FOLLOW 0.0f   /* ... follow the lid this much as it closes */
#define LASH_AT 0.12f        /* the top of the lashes, from the upper lid to the brow */
#define LID_ARC 0.06f        /* eye widths: how far a lid arches above the chords between its points */
#define PRY_LIPS 0.3         /* triangulate with inner lips moved this far toward the outer ones */
#define PRY_LIDS 0.08        /* ... and lower lids this far (S) down */

/* Head model: an ellipsoid the width of the jaw; the nose and lips stand out. */
#define HEAD_DEPTH_NOSE 0.30f
#define HEAD_DEPTH_LIPS 0.12f

/* full = 1 */
#define GRID_CELLS 8     /* grid over the frame: cells along the long side */
#define MARGIN_FRAC 0.15 /* outer ring beyond the frame, so a moving camera still covers it */

typedef struct builder {
  photo *p;
  int cap;
  double *tri_xy; /* triangulation positions: the rest shape with lips and eyes pried apart */
} builder;

static int grow(builder *b) {
  photo *p = b->p;
  int cap = b->cap ? b->cap * 2 : 256;
#define GROW(field) \
  do { \
    void *n_ = realloc(p->field, sizeof *p->field * (size_t)cap); \
    if (!n_) return MIRA_ENOMEM; \
    p->field = n_; \
  } while (0)
  GROW(rest);
  GROW(loc);
  GROW(head);
  GROW(depth);
  GROW(follow);
  GROW(follow_w);
  GROW(lift);
  GROW(pos);
  GROW(from);
  GROW(dloc);
#undef GROW
  double *xy = realloc(b->tri_xy, sizeof *xy * 2 * (size_t)cap);
  if (!xy) return MIRA_ENOMEM;
  b->tri_xy = xy, b->cap = cap;
  return 0;
}

void photo_free_mesh(photo *p) {
  free(p->rest), free(p->loc), free(p->head), free(p->depth), free(p->follow), free(p->follow_w);
  free(p->lift), free(p->pos), free(p->from), free(p->dloc), free(p->tri);
}

enum { ADD_GAP = 1, ADD_CLIP = 2 }; /* drop a point near another / outside the head region */

/* Adds a point; follow is the landmark whose shape motion it copies, or -1. */
static int add(builder *b, mira_point q, float head, int follow, float follow_w, int flags) {
  photo *p = b->p;
  const mira_mesh_clip *r = &p->region;
  if ((flags & ADD_CLIP) && (q.x < r->x0 + MIN_GAP_PX || q.x > r->x1 - 1 - MIN_GAP_PX ||
                             q.y < r->y0 + MIN_GAP_PX || q.y > r->y1 - 1 - MIN_GAP_PX))
    return 0;
  for (int i = 0; (flags & ADD_GAP) && i < p->nv; i++)
    if (hypot(p->rest[i].x - q.x, p->rest[i].y - q.y) < MIN_GAP_PX) return 0;
  if (p->nv == b->cap && grow(b)) return MIRA_ENOMEM;
  int i = p->nv++;
  p->rest[i] = q, p->loc[i] = photo_to_face(p, q), p->head[i] = head, p->depth[i] = 0, p->lift[i] = 0;
  p->follow[i] = follow, p->follow_w[i] = follow_w;
  b->tri_xy[2 * i] = q.x, b->tri_xy[2 * i + 1] = q.y;
  return 0;
}

static mira_point mean_of(const mira_point *pts, int from, int to) {
  mira_point c = {0, 0};
  for (int i = from; i <= to; i++) c.x += pts[i].x, c.y += pts[i].y;
  c.x /= to - from + 1, c.y /= to - from + 1;
  return c;
}

/* Points the landmarks do not reach, in face coordinates: hair and forehead
 * ride with the head, cheeks and neck stretch with the jaw. (The rows above
 * the upper lids are add_lid_rows'.) */
typedef struct extra {
  int base, base2; /* the point lies at base + t (base2 - base) (base2 -1: at base) ... */
  float t;
  float du, dv;    /* ... moved by (du, dv) interocular distances */
  float head;      /* share of the head motion it follows */
  int follow;      /* landmark whose shape motion it copies, times follow_w; -1 none */
  float follow_w;
} extra;

static const extra extras[] = {
  {17, -1, 0, 0, -FOREHEAD_UP, 1, -1, 0}, {19, -1, 0, 0, -FOREHEAD_UP, 1, -1, 0},
  {21, -1, 0, 0, -FOREHEAD_UP, 1, -1, 0}, {22, -1, 0, 0, -FOREHEAD_UP, 1, -1, 0},
  {24, -1, 0, 0, -FOREHEAD_UP, 1, -1, 0}, {26, -1, 0, 0, -FOREHEAD_UP, 1, -1, 0},
  {17, -1, 0, -0.15f, -HAIR_UP, 0.95f, -1, 0}, {19, -1, 0, 0, -HAIR_UP - 0.1f, 0.95f, -1, 0},
  {27, -1, 0, 0, -HAIR_UP - 0.6f, 0.95f, -1, 0}, {24, -1, 0, 0, -HAIR_UP - 0.1f, 0.95f, -1, 0},
  {26, -1, 0, 0.15f, -HAIR_UP, 0.95f, -1, 0},
  {0, -1, 0, -SIDE_OUT, -0.3f, 0.8f, -1, 0}, {16, -1, 0, SIDE_OUT, -0.3f, 0.8f, -1, 0},
  {3, -1, 0, -SIDE_OUT, 0, 0.7f, -1, 0}, {13, -1, 0, SIDE_OUT, 0, 0.7f, -1, 0},
  {5, -1, 0, 0, NECK_DOWN, 0.3f, 5, 0.25f}, {8, -1, 0, 0, NECK_DOWN, 0.3f, 8, 0.3f},
  {11, -1, 0, 0, NECK_DOWN, 0.3f, 11, 0.25f},
  {3, 48, 0.5f, 0, 0, 1, 4, 0.45f}, {13, 54, 0.5f, 0, 0, 1, 12, 0.45f},
  {2, 31, 0.5f, 0, 0, 1, 3, 0.15f}, {14, 35, 0.5f, 0, 0, 1, 13, 0.15f},
};
#define NEXTRAS (sizeof extras / sizeof *extras)

static mira_point extra_at(const photo *p, const mira_point *pts, const extra *e) {
  mira_point l = photo_to_face(p, pts[e->base]);
  if (e->base2 >= 0) l = photo_lerp(l, photo_to_face(p, pts[e->base2]), e->t);
  l.x += e->du * p->S, l.y += e->dv * p->S;
  return photo_from_face(p, l);
}

/* Face frame (u along the eye line, v down the face, from between the eyes),
 * head ellipsoid, rest measurements, and the head region: the landmarks and
 * extra points grown by a margin. */
void photo_layout(photo *p, const mira_point pts[MIRA_FACE_POINTS]) {
  mira_point re = mean_of(pts, 36, 41), le = mean_of(pts, 42, 47);
  double dx = le.x - re.x, dy = le.y - re.y, len = hypot(dx, dy);
  p->S = (float)len;
  p->ex.x = dx / len, p->ex.y = dy / len, p->ey.x = -p->ex.y, p->ey.y = p->ex.x;
  p->frame_o = photo_lerp(re, le, 0.5);
  mira_point l0 = photo_to_face(p, pts[0]), l16 = photo_to_face(p, pts[16]), chin = photo_to_face(p, pts[8]);
  double brow = fmin(photo_to_face(p, pts[19]).y, photo_to_face(p, pts[24]).y);
  p->uc = (float)(l0.x + l16.x) / 2, p->ru = (float)fmax((l16.x - l0.x) / 2, len / 2);
  p->vc = (float)(brow + chin.y) / 2, p->rv = (float)fmax((chin.y - brow) * 0.75, len / 2);
  mira_point piv = {p->uc, chin.y + NECK_DOWN * len};
  p->pivot = photo_from_face(p, piv);
  static const int pairs[3][2] = {{61, 67}, {62, 66}, {63, 65}};
  float open = 0;
  for (int k = 0; k < 3; k++)
    open += (float)(photo_to_face(p, pts[pairs[k][1]]).y - photo_to_face(p, pts[pairs[k][0]]).y);
  p->inner_open = fmaxf(open / 3, 0);
  p->chin_y = (float)pts[8].y, p->face_cx = (float)(pts[0].x + pts[16].x) / 2;
  p->face_w = (float)hypot(pts[16].x - pts[0].x, pts[16].y - pts[0].y);

  double x0 = pts[0].x, y0 = pts[0].y, x1 = x0, y1 = y0;
  for (size_t i = 0; i < MIRA_FACE_POINTS + NEXTRAS; i++) {
    mira_point q = i < MIRA_FACE_POINTS ? pts[i] : extra_at(p, pts, &extras[i - MIRA_FACE_POINTS]);
    x0 = fmin(x0, q.x), x1 = fmax(x1, q.x), y0 = fmin(y0, q.y), y1 = fmax(y1, q.y);
  }
  double m = RING_MARGIN * p->S;
  p->region.x0 = (int)fmax(0, floor(x0 - m)), p->region.y0 = (int)fmax(0, floor(y0 - m));
  p->region.x1 = (int)fmin(p->base.w, ceil(x1 + m) + 1), p->region.y1 = (int)fmin(p->base.h, ceil(y1 + m) + 1);
  p->hair_y = (float)y0;
}

/* ---- outlines ---- */

static const int inner_lips[8] = {60, 61, 62, 63, 64, 65, 66, 67};
static const int outer_lips[12] = {48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59};
static const int right_eye[6] = {36, 37, 38, 39, 40, 41}, left_eye[6] = {42, 43, 44, 45, 46, 47};
static const struct {
  const int *pts;
  int n, mid0;
} outlines[4] = {{inner_lips, 8, PHOTO_MID_INNER}, {outer_lips, 12, PHOTO_MID_OUTER},
                 {right_eye, 6, PHOTO_MID_EYES}, {left_eye, 6, PHOTO_MID_EYES + 6}};

/* Midpoint i of each outline lies between its points i and i + 1. */
static void outline_mids(photo *p) {
  for (int o = 0; o < 4; o++) {
    int n = outlines[o].n;
    for (int i = 0; i < n; i++) {
      int *m = p->mid[outlines[o].mid0 + i - PHOTO_MID_INNER];
      for (int k = 0; k < 4; k++) m[k] = outlines[o].pts[(i - 1 + k + n) % n];
    }
  }
}

/* Lip, eye and jaw outlines are mesh edges, so that no triangle reaches
 * across an opening mouth or a closing eye. */
static int constraints(int (*c)[2]) {
  int n = 0;
  for (int i = 0; i < 16; i++) c[n][0] = i, c[n][1] = i + 1, n++;
  for (int o = 0; o < 4; o++)
    for (int i = 0; i < outlines[o].n; i++) {
      int a = outlines[o].pts[i], b = outlines[o].pts[(i + 1) % outlines[o].n], m = outlines[o].mid0 + i;
      c[n][0] = a, c[n][1] = m, n++;
      c[n][0] = m, c[n][1] = b, n++;
    }
  return n;
}
#define MAX_CONSTRAINTS (16 + 2 * (8 + 12 + 6 + 6))

/* ---- points ---- */

static int add_landmarks(builder *b, const mira_point *pts) {
  photo *p = b->p;
  static const float nose[9] = {0.2f, 0.45f, 0.7f, 1, 0.5f, 0.6f, 0.7f, 0.6f, 0.5f}; /* 27..35 */
  for (int i = 0; i < MIRA_FACE_POINTS; i++) {
    if (add(b, pts[i], 1, -1, 0, 0)) return MIRA_ENOMEM;
    float d = i >= 48 ? HEAD_DEPTH_LIPS : 0;
    if (i >= 27 && i <= 35) d = HEAD_DEPTH_NOSE * nose[i - 27];
    p->depth[i] = d * p->ru;
  }
  /* Triangulate with lips and lids pried apart: a closed mouth or eye puts
   * upper and lower points on top of each other, and the mesh must still keep
   * lips and lids on their own sides. */
  static const int in_up[3] = {61, 62, 63}, out_up[3] = {50, 51, 52};
  static const int in_lo[3] = {67, 66, 65}, out_lo[3] = {58, 57, 56};
  for (int k = 0; k < 3; k++) {
    mira_point u = photo_lerp(pts[in_up[k]], pts[out_up[k]], PRY_LIPS);
    mira_point l = photo_lerp(pts[in_lo[k]], pts[out_lo[k]], PRY_LIPS);
    b->tri_xy[2 * in_up[k]] = u.x, b->tri_xy[2 * in_up[k] + 1] = u.y;
    b->tri_xy[2 * in_lo[k]] = l.x, b->tri_xy[2 * in_lo[k] + 1] = l.y;
  }
  /* lower lids only: the rows of points above the upper lids must stay above them */
  static const int lid_lo[4] = {41, 40, 47, 46};
  double pry = PRY_LIDS * p->S;
  for (int k = 0; k < 4; k++)
    b->tri_xy[2 * lid_lo[k]] += pry * p->ey.x, b->tri_xy[2 * lid_lo[k] + 1] += pry * p->ey.y;
  return 0;
}

/* Outline midpoints, placed in the photo and in the pried-apart shape by the same rule. */
static int add_mids(builder *b) {
  photo *p = b->p;
  outline_mids(p);
  mira_point pried[MIRA_FACE_POINTS];
  for (int i = 0; i < MIRA_FACE_POINTS; i++) pried[i].x = b->tri_xy[2 * i], pried[i].y = b->tri_xy[2 * i + 1];
  const mira_mesh_clip *r = &p->region;
  for (int i = 0; i < PHOTO_MIDS; i++) {
    /* an outline's curve can bulge past a face cut off by the image border */
    mira_point m = photo_mid(p->rest, p->mid[i]), q = photo_mid(pried, p->mid[i]), in = m;
    in.x = fmin(fmax(in.x, r->x0), r->x1 - 1), in.y = fmin(fmax(in.y, r->y0), r->y1 - 1);
    p->mid_off[i].x = in.x - m.x, p->mid_off[i].y = in.y - m.y;
    q.x += p->mid_off[i].x, q.y += p->mid_off[i].y;
    if (add(b, in, 1, -1, 0, 0)) return MIRA_ENOMEM;
    b->tri_xy[2 * (p->nv - 1)] = q.x, b->tri_xy[2 * (p->nv - 1) + 1] = q.y;
  }
  return 0;
}

static int add_extras(builder *b, const mira_point *pts) {
  for (size_t i = 0; i < NEXTRAS; i++) {
    const extra *e = &extras[i];
    if (add(b, extra_at(b->p, pts, e), e->head, e->follow, e->follow_w, ADD_GAP | ADD_CLIP)) return MIRA_ENOMEM;
  }
  return 0;
}

/* Two rows of points over each upper lid, one per outline point from corner
 * to corner: the top of the lashes, which slides down with the lid as it
 * closes so the lashes keep their thickness, and the crease, where the skin
 * that stretches over the eye begins. */
static int add_lid_rows(builder *b, const mira_point *pts) {
  photo *p = b->p;
  for (int e = 0; e < 2; e++) {
    int brow = 17 + 5 * e, lid = 36 + 6 * e, mid = PHOTO_MID_EYES + 6 * e;
    double up = (photo_to_face(p, mean_of(pts, lid + 1, lid + 2)).y - photo_to_face(p, mean_of(pts, brow + 1, brow + 3)).y);
    for (int j = 0; j < 7; j++) {
      int v = j % 2 ? mid + j / 2 : lid + j / 2; /* 36, mid, 37, mid, 38, mid, 39 */
      mira_point l = p->loc[v], lash = l, crease = l;
      lash.y -= LASH_AT * up, crease.y -= CREASE_AT * up;
      if (add(b, photo_from_face(p, lash), 1, v, 1, ADD_GAP | ADD_CLIP)) return MIRA_ENOMEM;
      int n = p->nv;
      if (add(b, photo_from_face(p, crease), 1, v, CREASE_FOLLOW, ADD_GAP | ADD_CLIP)) return MIRA_ENOMEM;
      p->crease[e][j] = p->nv > n ? n : -1;
    }
  }
  return 0;
}

/* Fixed points along a rectangle's border, about `step` apart. */
static int add_ring(builder *b, double x0, double y0, double x1, double y1, double step) {
  int nx = (int)fmax(4, ceil((x1 - x0) / step)), ny = (int)fmax(4, ceil((y1 - y0) / step));
  for (int i = 0; i < nx; i++) {
    mira_point t = {x0 + (x1 - x0) * i / nx, y0}, u = {x1 - (x1 - x0) * i / nx, y1};
    if (add(b, t, 0, -1, 0, ADD_GAP) || add(b, u, 0, -1, 0, ADD_GAP)) return MIRA_ENOMEM;
  }
  for (int i = 0; i < ny; i++) {
    mira_point l = {x0, y1 - (y1 - y0) * i / ny}, r = {x1, y0 + (y1 - y0) * i / ny};
    if (add(b, l, 0, -1, 0, ADD_GAP) || add(b, r, 0, -1, 0, ADD_GAP)) return MIRA_ENOMEM;
  }
  return 0;
}

/* full = 1: a grid over the frame outside the head region and a ring beyond it. */
static int add_frame(builder *b) {
  photo *p = b->p;
  int w = p->base.w, h = p->base.h;
  double g = (w > h ? w : h) / (double)GRID_CELLS, m = MARGIN_FRAC * (w > h ? w : h);
  int nx = (int)ceil((w - 1) / g), ny = (int)ceil((h - 1) / g);
  for (int j = 0; j <= ny; j++)
    for (int i = 0; i <= nx; i++) {
      mira_point q = {(w - 1) * (double)i / nx, (h - 1) * (double)j / ny};
      if (q.x > p->region.x0 - g / 3 && q.x < p->region.x1 + g / 3 && q.y > p->region.y0 - g / 3 &&
          q.y < p->region.y1 + g / 3)
        continue;
      if (add(b, q, 0, -1, 0, ADD_GAP)) return MIRA_ENOMEM;
    }
  return add_ring(b, -m, -m, w - 1 + m, h - 1 + m, g);
}

/* A closing lid samples the photo a little above its landmarks: the lid
 * arches above the chords between them, and what lies under an arch (white,
 * iris) must not slide down with the lashes. Outline midpoints get theirs
 * from the landmarks (photo.c), the lash rows copy the point they follow. */
static void set_lifts(photo *p) {
  static const int up[4] = {37, 38, 43, 44};
  for (int k = 0; k < 4; k++) p->lift[up[k]] = LID_ARC * p->geom.eye_w[k / 2];
  float mids[PHOTO_MIDS];
  for (int i = 0; i < PHOTO_MIDS; i++) {
    const int *m = p->mid[i];
    mids[i] = (9 * (p->lift[m[1]] + p->lift[m[2]]) - p->lift[m[0]] - p->lift[m[3]]) / 16;
  }
  for (int i = PHOTO_FIRST_EXTRA; i < p->nv; i++) {
    int f = p->follow[i];
    if (f >= 0 && p->follow_w[i] == 1) p->lift[i] = f < PHOTO_MID_INNER ? p->lift[f] : mids[f - PHOTO_MID_INNER];
  }
}

/* ---- the triangulation ---- */

/* The triangles must tile the hull exactly: for full = 0 the head region. */
static int covers(const photo *p, const double *xy, double want) {
  double area = 0;
  for (int i = 0; i < p->nt; i++) {
    const int *t = p->tri[i];
    area += ((xy[2 * t[1]] - xy[2 * t[0]]) * (xy[2 * t[2] + 1] - xy[2 * t[0] + 1]) -
             (xy[2 * t[1] + 1] - xy[2 * t[0] + 1]) * (xy[2 * t[2]] - xy[2 * t[0]])) / 2;
  }
  return fabs(area - want) <= 1e-6 * want;
}

/* Landmarks can coincide (dlib puts closed lips' points together); the
 * triangulation needs distinct points, so nudge repeats apart by a hair. */
static void separate(double *xy, int n) {
  for (int i = 1; i < n; i++)
    for (int j = 0; j < i; j++)
      if (xy[2 * i] == xy[2 * j] && xy[2 * i + 1] == xy[2 * j + 1]) xy[2 * i] += 1e-3 * (1 + i % 7), j = -1;
}

int photo_build_mesh(photo *p, const mira_point pts[MIRA_FACE_POINTS], char *err, size_t errlen) {
  builder b = {p, 0, NULL};
  const mira_mesh_clip *r = &p->region;
  int rc = add_landmarks(&b, pts);
  if (!rc) rc = add_mids(&b);
  if (!rc) rc = add_extras(&b, pts);
  if (!rc) rc = add_lid_rows(&b, pts);
  if (!rc) rc = add_ring(&b, r->x0, r->y0, r->x1 - 1, r->y1 - 1, fmax(RING_STEP * p->S, 8));
  if (!rc && p->full) rc = add_frame(&b);
  if (rc) {
    free(b.tri_xy);
    return mira_err(err, errlen, rc, "photo: out of memory");
  }
  set_lifts(p);
  separate(b.tri_xy, PHOTO_FIRST_EXTRA);
  /* a constraint the triangulation cannot honour (a segment through another
   * point) costs only looks at that spot, so `missed` is not an error */
  int cons[MAX_CONSTRAINTS][2], missed = 0, ncons = constraints(cons);
  rc = mira_mesh_triangulate(b.tri_xy, p->nv, (const int (*)[2])cons, ncons, &p->tri, &p->nt, &missed, err,
                             errlen);
  if (!rc) {
    double m = MARGIN_FRAC * (p->base.w > p->base.h ? p->base.w : p->base.h);
    double want = p->full ? (p->base.w - 1 + 2 * m) * (p->base.h - 1 + 2 * m)
                          : (double)(r->x1 - 1 - r->x0) * (r->y1 - 1 - r->y0);
    if (!covers(p, b.tri_xy, want))
      rc = mira_err(err, errlen, MIRA_EINVAL, "photo: the landmarks do not make a usable mesh");
  }
  free(b.tri_xy);
  return rc;
}
