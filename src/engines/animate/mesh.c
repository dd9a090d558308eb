/* Constrained Delaunay triangulation (Bowyer-Watson, then edge flips for the
 * constraints) and exact-coverage piecewise-affine warping. See mesh.h. */
#include "engines/animate/mesh.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define SUPER_SCALE 64.0 /* super-triangle size in point-set extents: far enough that hull edges survive */
#define SUBPX 256        /* vertices snap to 1/SUBPX px so coverage is decided in integers */
#define FRAC 32          /* fraction bits of source coordinates while stepping along a span */
#define MIRA_EDOM_ (-100) /* internal: the triangulation broke down (near-degenerate points) */

/* ---- triangulation ---- */

static double orient(const double *p, int a, int b, int c) {
  return (p[2 * b] - p[2 * a]) * (p[2 * c + 1] - p[2 * a + 1]) -
         (p[2 * b + 1] - p[2 * a + 1]) * (p[2 * c] - p[2 * a]);
}

/* > 0 when d lies inside the circumcircle of (a, b, c), orient(a, b, c) > 0. */
static double incircle(const double *p, const int t[3], int d) {
  double m[3][3];
  for (int i = 0; i < 3; i++) {
    double dx = p[2 * t[i]] - p[2 * d], dy = p[2 * t[i] + 1] - p[2 * d + 1];
    m[i][0] = dx, m[i][1] = dy, m[i][2] = dx * dx + dy * dy;
  }
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
         m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
         m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

typedef struct dt {
  const double *p;
  int (*t)[3];
  int nt, cap;
  int (*edge)[2]; /* scratch: the cavity's boundary */
  char *bad;
} dt;

static int tri_has_edge(const int t[3], int a, int b) {
  for (int j = 0; j < 3; j++)
    if (t[j] == a && t[(j + 1) % 3] == b) return 1;
  return 0;
}

/* Inserts point q: removes the triangles whose circumcircle holds it and fans
 * the hole's boundary to q. */
static int insert(dt *d, int q) {
  int nb = 0, ne = 0;
  for (int i = 0; i < d->nt; i++) nb += d->bad[i] = incircle(d->p, d->t[i], q) > 0;
  if (!nb) return MIRA_EINVAL; /* q duplicates a point or lies outside the super triangle */
  for (int i = 0; i < d->nt; i++) {
    if (!d->bad[i]) continue;
    for (int j = 0; j < 3; j++) {
      int a = d->t[i][j], b = d->t[i][(j + 1) % 3], shared = 0;
      for (int k = 0; k < d->nt && !shared; k++) shared = k != i && d->bad[k] && tri_has_edge(d->t[k], b, a);
      if (shared) continue;
      if (ne == d->cap) return MIRA_EDOM_; /* a hole has nb + 2 edges, unless rounding broke it */
      d->edge[ne][0] = a, d->edge[ne][1] = b, ne++;
    }
  }
  int w = 0;
  for (int i = 0; i < d->nt; i++)
    if (!d->bad[i]) memmove(d->t[w++], d->t[i], sizeof d->t[i]);
  if (w + ne > d->cap) return MIRA_EDOM_;
  for (int k = 0; k < ne; k++) {
    int *t = d->t[w++];
    t[0] = d->edge[k][0], t[1] = d->edge[k][1], t[2] = q;
  }
  d->nt = w;
  return 0;
}

static int has_edge(const dt *d, int a, int b) {
  for (int i = 0; i < d->nt; i++)
    if (tri_has_edge(d->t[i], a, b) || tri_has_edge(d->t[i], b, a)) return 1;
  return 0;
}

static int crosses(const double *p, int a, int b, int c, int e) {
  return orient(p, a, b, c) * orient(p, a, b, e) < 0 && orient(p, c, e, a) * orient(p, c, e, b) < 0;
}

static int is_fixed(const int (*fixed)[2], int nfixed, int a, int b) {
  for (int k = 0; k < nfixed; k++)
    if ((fixed[k][0] == a && fixed[k][1] == b) || (fixed[k][0] == b && fixed[k][1] == a)) return 1;
  return 0;
}

/* Flips one edge that crosses segment a-b and sits in a convex quad. 0 if none can be flipped. */
static int flip_one(dt *d, int a, int b, const int (*fixed)[2], int nfixed) {
  const double *p = d->p;
  for (int i = 0; i < d->nt; i++) {
    for (int j = 0; j < 3; j++) {
      int c = d->t[i][j], e = d->t[i][(j + 1) % 3], f = d->t[i][(j + 2) % 3];
      if (c == a || c == b || e == a || e == b || !crosses(p, a, b, c, e) || is_fixed(fixed, nfixed, c, e))
        continue;
      for (int k = 0; k < d->nt; k++) {
        int jj = -1;
        for (int m = 0; m < 3; m++)
          if (d->t[k][m] == e && d->t[k][(m + 1) % 3] == c) jj = m;
        if (jj < 0) continue;
        int g = d->t[k][(jj + 2) % 3];
        if (orient(p, c, g, f) <= 0 || orient(p, g, e, f) <= 0) break;
        d->t[i][0] = c, d->t[i][1] = g, d->t[i][2] = f;
        d->t[k][0] = g, d->t[k][1] = e, d->t[k][2] = f;
        return 1;
      }
    }
  }
  return 0;
}

/* Makes each constraint an edge by flipping the edges that cross it (Sloan's
 * method); enforced constraints are never flipped again. */
static int enforce(dt *d, const int (*cons)[2], int ncons, int *missed) {
  int (*fixed)[2] = malloc(sizeof *fixed * (size_t)(ncons ? ncons : 1));
  if (!fixed) return MIRA_ENOMEM;
  int nfixed = 0;
  *missed = 0;
  for (int k = 0; k < ncons; k++) {
    int a = cons[k][0], b = cons[k][1], tries = 0;
    while (!has_edge(d, a, b) && tries++ < 4 * d->nt && flip_one(d, a, b, (const int (*)[2])fixed, nfixed)) {
    }
    if (has_edge(d, a, b))
      fixed[nfixed][0] = a, fixed[nfixed][1] = b, nfixed++;
    else
      (*missed)++;
  }
  free(fixed);
  return 0;
}

static int triangulate(dt *d, int n) {
  for (int q = 0; q < n; q++) {
    int rc = insert(d, q);
    if (rc) return rc;
  }
  int w = 0;
  for (int i = 0; i < d->nt; i++)
    if (d->t[i][0] < n && d->t[i][1] < n && d->t[i][2] < n) memmove(d->t[w++], d->t[i], sizeof d->t[i]);
  d->nt = w;
  return 0;
}

static void super_triangle(double *p, int n) {
  double x0 = p[0], y0 = p[1], x1 = x0, y1 = y0;
  for (int i = 1; i < n; i++) {
    x0 = fmin(x0, p[2 * i]), x1 = fmax(x1, p[2 * i]);
    y0 = fmin(y0, p[2 * i + 1]), y1 = fmax(y1, p[2 * i + 1]);
  }
  double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, s = fmax(fmax(x1 - x0, y1 - y0), 1) * SUPER_SCALE;
  double *v = p + 2 * n; /* orient(n, n+1, n+2) > 0 */
  v[0] = cx - s, v[1] = cy - s, v[2] = cx + s, v[3] = cy - s, v[4] = cx, v[5] = cy + s;
}

int mira_mesh_triangulate(const double *xy, int n, const int (*cons)[2], int ncons, int (**tris)[3],
                          int *ntris, int *missed, char *err, size_t errlen) {
  *tris = NULL, *ntris = 0, *missed = 0;
  if (n < 3) return mira_err(err, errlen, MIRA_EINVAL, "mesh: %d points, need at least 3", n);
  for (int k = 0; k < ncons; k++)
    if (cons[k][0] < 0 || cons[k][0] >= n || cons[k][1] < 0 || cons[k][1] >= n || cons[k][0] == cons[k][1])
      return mira_err(err, errlen, MIRA_EINVAL, "mesh: constraint %d (%d-%d) is not a segment", k,
                      cons[k][0], cons[k][1]);
  dt d = {0};
  double *p = malloc(sizeof *p * 2 * (size_t)(n + 3));
  d.cap = 2 * (n + 3) + 8;
  d.t = malloc(sizeof *d.t * (size_t)d.cap);
  d.edge = malloc(sizeof *d.edge * (size_t)d.cap);
  d.bad = malloc((size_t)d.cap);
  int rc = p && d.t && d.edge && d.bad ? 0 : MIRA_ENOMEM;
  if (!rc) {
    memcpy(p, xy, sizeof *p * 2 * (size_t)n);
    super_triangle(p, n);
    d.p = p, d.nt = 1;
    d.t[0][0] = n, d.t[0][1] = n + 1, d.t[0][2] = n + 2;
    rc = triangulate(&d, n);
  }
  if (!rc) rc = enforce(&d, cons, ncons, missed);
  free(p), free(d.edge), free(d.bad);
  if (rc) {
    free(d.t);
    if (rc == MIRA_ENOMEM) return mira_err(err, errlen, rc, "mesh: out of memory");
    if (rc == MIRA_EDOM_) return mira_err(err, errlen, MIRA_EINVAL, "mesh: points too nearly collinear to triangulate");
    return mira_err(err, errlen, rc, "mesh: points repeat or are not finite");
  }
  *tris = d.t, *ntris = d.nt;
  return 0;
}

/* ---- rasterisation ---- */

typedef struct vtx {
  int64_t x, y; /* 1/SUBPX px */
} vtx;

typedef struct raster {
  vtx a, b, c;  /* sorted top to bottom (then left to right) */
  int long_left; /* the edge a-c bounds the spans on the left */
  int y0, y1;   /* rows y0 <= y < y1 */
} raster;

static int64_t ceil_div(int64_t n, int64_t d) { /* d > 0 */
  return n >= 0 ? (n + d - 1) / d : -((-n) / d);
}

/* The first pixel column whose centre lies at or right of edge p-q on row y.
 * Both triangles of a shared edge see it as the same p-q, so this is exact. */
static int64_t edge_col(vtx p, vtx q, int y) {
  int64_t dy = q.y - p.y, num = p.x * dy + ((int64_t)y * SUBPX - p.y) * (q.x - p.x);
  return ceil_div(num, dy * SUBPX);
}

static vtx snap(mira_point p) {
  vtx v = {(int64_t)llround(p.x * SUBPX), (int64_t)llround(p.y * SUBPX)};
  return v;
}

static int before(vtx u, vtx v) { return u.y < v.y || (u.y == v.y && u.x < v.x); }

/* 0 when the triangle covers no row. */
static int raster_init(raster *r, const mira_point dst[3], const mira_mesh_clip *clip) {
  vtx v[3] = {snap(dst[0]), snap(dst[1]), snap(dst[2])};
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2 - i; j++)
      if (before(v[j + 1], v[j])) {
        vtx t = v[j];
        v[j] = v[j + 1], v[j + 1] = t;
      }
  r->a = v[0], r->b = v[1], r->c = v[2];
  int64_t cross = (v[1].x - v[0].x) * (v[2].y - v[0].y) - (v[1].y - v[0].y) * (v[2].x - v[0].x);
  if (cross == 0) return 0;
  r->long_left = cross > 0;
  int64_t y0 = ceil_div(v[0].y, SUBPX), y1 = ceil_div(v[2].y, SUBPX);
  r->y0 = (int)(y0 < clip->y0 ? clip->y0 : y0);
  r->y1 = (int)(y1 > clip->y1 ? clip->y1 : y1);
  return r->y0 < r->y1;
}

/* Row y's span, clipped; 0 when empty. */
static int raster_row(const raster *r, int y, const mira_mesh_clip *clip, int *x0, int *x1) {
  int64_t lng = edge_col(r->a, r->c, y);
  int64_t sht = (int64_t)y * SUBPX < r->b.y ? edge_col(r->a, r->b, y) : edge_col(r->b, r->c, y);
  int64_t l = r->long_left ? lng : sht, h = r->long_left ? sht : lng;
  if (l < clip->x0) l = clip->x0;
  if (h > clip->x1) h = clip->x1;
  *x0 = (int)l, *x1 = (int)h;
  return l < h;
}

void mira_mesh_spans(const mira_point dst[3], const mira_mesh_clip *clip,
                     void (*span)(int y, int x0, int x1, void *user), void *user) {
  raster r;
  if (!raster_init(&r, dst, clip)) return;
  for (int y = r.y0, x0, x1; y < r.y1; y++)
    if (raster_row(&r, y, clip, &x0, &x1)) span(y, x0, x1, user);
}

/* Source coordinates as an affine function of the destination pixel:
 * u = m[0] x + m[1] y + m[2], v = m[3] x + m[4] y + m[5]. 0 if degenerate. */
static int affine(const mira_mesh_tri *t, double m[6]) {
  double x0 = t->dst[0].x, y0 = t->dst[0].y;
  double ax = t->dst[1].x - x0, ay = t->dst[1].y - y0, bx = t->dst[2].x - x0, by = t->dst[2].y - y0;
  double det = ax * by - ay * bx;
  if (fabs(det) < 1e-12) return 0;
  for (int k = 0; k < 2; k++) {
    double s0 = k ? t->src[0].y : t->src[0].x;
    double da = (k ? t->src[1].y : t->src[1].x) - s0, db = (k ? t->src[2].y : t->src[2].x) - s0;
    double gx = (da * by - db * ay) / det, gy = (db * ax - da * bx) / det;
    m[3 * k] = gx, m[3 * k + 1] = gy, m[3 * k + 2] = s0 - gx * x0 - gy * y0;
  }
  return 1;
}

/* Pixels are blended in SWAR form: R, G and B in 16-bit lanes of a 64-bit
 * word, so one multiply weighs all three (8-bit weights keep each lane under
 * 65536). Exact at whole-pixel positions. */
#define LANES 0x000000ff00ff00ffull
#define HALF 0x0000008000800080ull

static inline uint64_t lerp_lanes(uint64_t a, uint64_t b, unsigned f) {
  return ((a * (256 - f) + b * f + HALF) >> 8) & LANES;
}

static inline void put(uint8_t *restrict o, uint64_t c) {
  o[0] = (uint8_t)c, o[1] = (uint8_t)(c >> 16), o[2] = (uint8_t)(c >> 32);
}

/* Sources well inside the image: no bounds checks per pixel. */
static void span_fast(const mira_mesh_src *from, uint8_t *restrict o, int n, int64_t u, int64_t v, int64_t du,
                      int64_t dv) {
  const uint64_t *restrict px = from->px;
  const size_t w = (size_t)from->w;
  for (int i = 0; i < n; i++, o += 3, u += du, v += dv) {
    const uint64_t *p = px + (size_t)(v >> FRAC) * w + (size_t)(u >> FRAC);
    unsigned fx = (unsigned)(u >> (FRAC - 8)) & 255, fy = (unsigned)(v >> (FRAC - 8)) & 255;
    put(o, lerp_lanes(lerp_lanes(p[0], p[1], fx), lerp_lanes(p[w], p[w + 1], fx), fy));
  }
}

/* Coordinate, weight and neighbour step along one axis, clamped to [0, n-1]. */
static inline int64_t clamp_axis(int64_t u, int n, unsigned *f, int *step) {
  int64_t i = u >> FRAC;
  *f = (unsigned)(u >> (FRAC - 8)) & 255, *step = 1;
  if (i < 0) i = 0, *f = 0, *step = 0;
  if (i >= n - 1) i = n - 1, *f = 0, *step = 0;
  return i;
}

static void span_clamped(const mira_mesh_src *from, uint8_t *restrict o, int n, int64_t u, int64_t v, int64_t du,
                         int64_t dv) {
  const uint64_t *restrict px = from->px;
  const int w = from->w, h = from->h;
  for (int i = 0; i < n; i++, o += 3, u += du, v += dv) {
    unsigned fx, fy;
    int sx, sy;
    int64_t x = clamp_axis(u, w, &fx, &sx), y = clamp_axis(v, h, &fy, &sy);
    const uint64_t *p = px + (size_t)y * w + (size_t)x, *q = p + (size_t)sy * w;
    put(o, lerp_lanes(lerp_lanes(p[0], p[sx], fx), lerp_lanes(q[0], q[sx], fx), fy));
  }
}

int mira_mesh_src_init(mira_mesh_src *s, const uint8_t *rgb, int w, int h, int stride) {
  s->px = malloc(sizeof *s->px * (size_t)w * (size_t)h);
  if (!s->px) return MIRA_ENOMEM;
  s->w = w, s->h = h;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const uint8_t *c = rgb + (size_t)y * stride + (size_t)x * 3;
      s->px[(size_t)y * w + x] = c[0] | (uint64_t)c[1] << 16 | (uint64_t)c[2] << 32;
    }
  return 0;
}

void mira_mesh_src_free(mira_mesh_src *s) {
  free(s->px);
  s->px = NULL;
}

/* A span's source is a segment: when both ends lie well inside the image,
 * every pixel between does (stepping drifts ~1e-6 px; keep clear of the
 * last row and column, which have no right or lower neighbour). */
static int inside(double u0, double v0, double u1, double v1, const mira_mesh_src *from) {
  const double m = 1e-3, w = from->w - 1 - m, h = from->h - 1 - m;
  return u0 >= m && u0 <= w && u1 >= m && u1 <= w && v0 >= m && v0 <= h && v1 >= m && v1 <= h;
}

void mira_mesh_warp(const mira_mesh_tri *t, const mira_mesh_src *from, mira_mesh_img *to,
                    const mira_mesh_clip *clip) {
  raster r;
  double m[6];
  mira_mesh_tri s = *t; /* map the snapped corners, which decide coverage, onto the source exactly */
  for (int i = 0; i < 3; i++) {
    vtx v = snap(t->dst[i]);
    s.dst[i].x = (double)v.x / SUBPX, s.dst[i].y = (double)v.y / SUBPX;
  }
  if (!raster_init(&r, s.dst, clip) || !affine(&s, m)) return;
  const double one = (double)((int64_t)1 << FRAC);
  int64_t du = llround(m[0] * one), dv = llround(m[3] * one);
  for (int y = r.y0, x0, x1; y < r.y1; y++) {
    if (!raster_row(&r, y, clip, &x0, &x1)) continue;
    double u0 = m[0] * x0 + m[1] * y + m[2], v0 = m[3] * x0 + m[4] * y + m[5];
    int64_t u = llround(u0 * one), v = llround(v0 * one);
    uint8_t *o = to->px + (size_t)y * to->stride + (size_t)x0 * 3;
    if (inside(u0, v0, u0 + m[0] * (x1 - 1 - x0), v0 + m[3] * (x1 - 1 - x0), from))
      span_fast(from, o, x1 - x0, u, v, du, dv);
    else
      span_clamped(from, o, x1 - x0, u, v, du, dv);
  }
}
