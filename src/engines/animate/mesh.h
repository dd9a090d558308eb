/* Triangle meshes for warping a photo: constrained Delaunay triangulation
 * and piecewise-affine warping with bilinear sampling. Internal to
 * engines/animate (photo.c and its tests).
 *
 *   int (*tris)[3]; int n;
 *   mira_mesh_triangulate(xy, npts, cons, ncons, &tris, &n, &missed, err, sizeof err);
 *   mira_mesh_src from; mira_mesh_src_init(&from, photo_rgb, w, h, w * 3);
 *   for (i = 0; i < n; i++) {   // per frame: dst = where the vertices go
 *     mira_mesh_tri t = {{dst[a], dst[b], dst[c]}, {src[a], src[b], src[c]}};
 *     mira_mesh_warp(&t, &from, &to, &clip);
 *   }
 *
 * Coverage is exact: a pixel centre (x, y) belongs to a triangle when it lies
 * inside or on its left/top edges (vertices snapped to 1/256 px, edges
 * intersected in integers), so triangles that share an edge tile the plane
 * with no gap and no pixel drawn twice, whatever the order.
 * Ownership: triangulate mallocs *tris for the caller (free()); a source
 * owns its pixels (mira_mesh_src_free); warp borrows.
 * Thread-safety: no state; thread-safe.
 */
#ifndef MIRA_ENGINES_ANIMATE_MESH_H
#define MIRA_ENGINES_ANIMATE_MESH_H

#include <stddef.h>
#include <stdint.h>

#include "engines/animate/animate.h"

typedef struct mira_mesh_img {
  uint8_t *px; /* RGB, 3 bytes a pixel */
  int w, h, stride;
} mira_mesh_img;

/* A source image prepared for warping: each pixel R | G << 16 | B << 32, the
 * form the blender weighs all channels in at once (8 bytes a pixel). */
typedef struct mira_mesh_src {
  uint64_t *px;
  int w, h;
} mira_mesh_src;

typedef struct mira_mesh_clip {
  int x0, y0, x1, y1; /* half-open: x0 <= x < x1, y0 <= y < y1 */
} mira_mesh_clip;

typedef struct mira_mesh_tri {
  mira_point dst[3]; /* where the triangle is drawn */
  mira_point src[3]; /* where its pixels come from */
} mira_mesh_tri;

/* Delaunay triangulation of n points (xy: x0, y0, x1, y1, ...) in which the
 * ncons segments cons[k] (point indices; they must not cross each other) are
 * edges where it can be done (a segment through another point cannot be);
 * *missed counts those left out. Triangles turn clockwise on screen (y down).
 * Points must be distinct. Returns 0, or MIRA_EINVAL / MIRA_ENOMEM with a
 * message; on failure *tris is NULL. */
int mira_mesh_triangulate(const double *xy, int n, const int (*cons)[2], int ncons, int (**tris)[3],
                          int *ntris, int *missed, char *err, size_t errlen);

/* Prepares rgb (w x h, rows stride bytes apart) as a warp source; *s owns
 * its pixels until mira_mesh_src_free. MIRA_ENOMEM. */
int mira_mesh_src_init(mira_mesh_src *s, const uint8_t *rgb, int w, int h, int stride);
void mira_mesh_src_free(mira_mesh_src *s); /* accepts a zeroed or freed s */

/* Draws t.dst into `to`, sampling `from` bilinearly at the affine image of
 * each pixel; source coordinates outside `from` are clamped to its border.
 * Only pixels inside clip (which must lie within `to`) are written. */
void mira_mesh_warp(const mira_mesh_tri *t, const mira_mesh_src *from, mira_mesh_img *to,
                    const mira_mesh_clip *clip);

/* The pixel spans a triangle covers, row by row, with the same rule as
 * mira_mesh_warp: span(y, x0, x1, user) is called for x0 <= x < x1 (clipped,
 * never empty). For painting over warped regions and for tests. */
void mira_mesh_spans(const mira_point dst[3], const mira_mesh_clip *clip,
                     void (*span)(int y, int x0, int x1, void *user), void *user);

#endif
