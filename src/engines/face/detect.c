/* Multi-scale cascade detection, step for step as OpenCV 4.6's
 * CascadeClassifier::detectMultiScale (cascadedetect.cpp) does it on the CPU,
 * so that boxes match OpenCV's:
 *
 *   1. scales: factor = 1, 1.1, 1.21, ... (double), kept as float; a scale is
 *      used while the scaled window fits the image and maxSize, and skipped
 *      while it is below minSize;
 *   2. per scale, the image is shrunk to round(w / s) x round(h / s) with
 *      cv::resize's bit-exact bilinear filter (8-bit fixed point), and the
 *      integral images are built (sum, squared sum, tilted; 32-bit, wrapping);
 *   3. the window slides with step 2 (step 1 once s >= 2); a window that
 *      fails the first stage skips the next position;
 *   4. HAAR windows are variance-normalised over the inner (w-2)x(h-2) rect,
 *      features are float sums of weighted rectangles; LBP features are 8-bit
 *      codes from 3x3 cell sums looked up in the node's bitmask;
 *   5. groupRectangles(minNeighbors, eps 0.2).
 *
 * Float/double types follow OpenCV's so that threshold comparisons agree.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engines/face/cascade_int.h"

const mira_face_detect_params mira_face_detect_defaults = {
    .scale_factor = 1.1, .min_neighbors = 3, .min_w = 30, .min_h = 30, .max_w = 0, .max_h = 0};

#define GROUP_EPS 0.2        /* OpenCV's GROUP_EPS in detectMultiScale */
#define MAX_SCALES 1024      /* OpenCV reserves this many; 1.0001^1024 is far from useful anyway */
#define RESIZE_COEF_BITS 8   /* ufixedpoint16: bit-exact bilinear coefficients */

/* ---------------------------------------------------------------- resize --- */

/* cv::resize(INTER_LINEAR_EXACT) for 8-bit, one channel, shrinking: source
 * position (d + 0.5) * scale - 0.5 in double, 8-bit fractional weights, a
 * horizontal pass in 8.8 fixed point and a vertical one rounded at 16 bits. */
typedef struct lin_coef {
  int ofs;      /* left / top source index */
  uint16_t c0, c1;
  int edge;     /* 1: outside, use ofs alone */
} lin_coef;

static void lin_coefs(int src, int dst, lin_coef *out) {
  double inv = (double)dst / src;
  double scale = 1.0 / inv;
  for (int d = 0; d < dst; d++) {
    double f = scale * ((double)d + 0.5) - 0.5;
    int i = (int)floor(f);
    lin_coef *k = &out[d];
    if (i >= 0 && src > 1) {
      if (i < src - 1) {
        k->ofs = i;
        k->c1 = (uint16_t)lrint((f - i) * (1 << RESIZE_COEF_BITS));
        k->c0 = (uint16_t)((1 << RESIZE_COEF_BITS) - k->c1);
        k->edge = 0;
      } else {
        k->ofs = src - 1;
        k->edge = 1;
      }
    } else {
      k->ofs = 0;
      k->edge = 1;
    }
  }
}

static void hline(const uint8_t *s, const lin_coef *cx, int dw, uint16_t *out) {
  for (int x = 0; x < dw; x++) {
    const lin_coef *k = &cx[x];
    if (k->edge)
      out[x] = (uint16_t)(s[k->ofs] << RESIZE_COEF_BITS);
    else
      out[x] = (uint16_t)(k->c0 * s[k->ofs] + k->c1 * s[k->ofs + 1]);
  }
}

/* Resizes img into dst (dw x dh, stride dw); scratch holds 2*dw uint16 and
 * (dw + dh) lin_coef. */
static void resize_exact(const mira_gray *img, uint8_t *dst, int dw, int dh, uint16_t *rows, lin_coef *cx) {
  if (dw == img->w && dh == img->h) {
    for (int y = 0; y < dh; y++) memcpy(dst + (size_t)y * dw, img->px + (size_t)y * img->stride, dw);
    return;
  }
  lin_coef *cy = cx + dw;
  lin_coefs(img->w, dw, cx);
  lin_coefs(img->h, dh, cy);
  uint16_t *r0 = rows, *r1 = rows + dw;
  int have0 = -1, have1 = -1; /* source rows in r0 / r1 */
  for (int y = 0; y < dh; y++) {
    const lin_coef *k = &cy[y];
    uint8_t *d = dst + (size_t)y * dw;
    int sy0 = k->ofs, sy1 = k->edge ? k->ofs : k->ofs + 1;
    if (have0 != sy0) {
      if (have1 == sy0) {
        uint16_t *t = r0;
        r0 = r1, r1 = t, have0 = sy0, have1 = -1;
      } else {
        hline(img->px + (size_t)sy0 * img->stride, cx, dw, r0);
        have0 = sy0;
      }
    }
    if (k->edge) {
      for (int x = 0; x < dw; x++) d[x] = (uint8_t)((r0[x] + (1 << (RESIZE_COEF_BITS - 1))) >> RESIZE_COEF_BITS);
      continue;
    }
    if (have1 != sy1) {
      hline(img->px + (size_t)sy1 * img->stride, cx, dw, r1);
      have1 = sy1;
    }
    uint32_t c0 = k->c0, c1 = k->c1;
    for (int x = 0; x < dw; x++) {
      uint32_t v = (r0[x] * c0 + r1[x] * c1 + (1u << (2 * RESIZE_COEF_BITS - 1))) >> (2 * RESIZE_COEF_BITS);
      d[x] = (uint8_t)(v > 255 ? 255 : v);
    }
  }
}

/* -------------------------------------------------------------- integrals --- */

/* sum / sqsum (and tilted) of a w x h image into (w+1) x (h+1) tables with
 * row stride `st`; 32-bit and wrapping, like OpenCV's CV_32S buffers. */
static void integrals(const uint8_t *im, int w, int h, int st, uint32_t *sum, uint32_t *sq) {
  memset(sum, 0, sizeof *sum * (w + 1));
  if (sq) memset(sq, 0, sizeof *sq * (w + 1));
  for (int y = 0; y < h; y++) {
    const uint8_t *s = im + (size_t)y * w;
    uint32_t *a = sum + (size_t)(y + 1) * st, *pa = a - st;
    uint32_t rs = 0;
    a[0] = 0;
    if (sq) {
      uint32_t *b = sq + (size_t)(y + 1) * st, *pb = b - st, rq = 0;
      b[0] = 0;
      for (int x = 0; x < w; x++) {
        uint32_t v = s[x];
        rs += v;
        rq += v * v;
        a[x + 1] = pa[x + 1] + rs;
        b[x + 1] = pb[x + 1] + rq;
      }
    } else {
      for (int x = 0; x < w; x++) {
        rs += s[x];
        a[x + 1] = pa[x + 1] + rs;
      }
    }
  }
}

/* OpenCV's tilted integral: T(X, Y) = sum of I(x, y) over y < Y and
 * |x - X + 1| <= Y - 1 - y, a cone with its apex at (X-1, Y-1). With row
 * prefix sums P_y, cone(c, r) = A(c, r) - B(c, r) where
 * A(c, r) = A(c+1, r-1) + P_r(c+1) and B(c, r) = B(c-1, r-1) + P_r(c)
 * (indices clamped to [0, w]). scratch holds 4*(w+2) + (w+1) uint32. */
static void tilted_integral(const uint8_t *im, int w, int h, int st, uint32_t *t, uint32_t *scratch) {
  int n = w + 2; /* c = -1 .. w, stored at c + 1 */
  uint32_t *ap = scratch, *ac = ap + n, *bp = ac + n, *bc = bp + n, *P = bc + n;
  memset(ap, 0, sizeof *ap * n);
  memset(bp, 0, sizeof *bp * n);
  memset(t, 0, sizeof *t * (w + 1));
  for (int r = 0; r < h; r++) {
    const uint8_t *s = im + (size_t)r * w;
    P[0] = 0;
    for (int x = 0; x < w; x++) P[x + 1] = P[x] + s[x];
    for (int c = -1; c <= w; c++) {
      int k = c + 1 > w ? w : c + 1;
      uint32_t an = (c + 1 <= w ? ap[c + 2] : ap[c + 1]) + P[k < 0 ? 0 : k];
      int kb = c < 0 ? 0 : (c > w ? w : c);
      uint32_t bn = (c - 1 >= -1 ? bp[c] : 0) + P[kb];
      ac[c + 1] = an;
      bc[c + 1] = c < 0 ? 0 : bn;
    }
    uint32_t *row = t + (size_t)(r + 1) * st;
    for (int X = 0; X <= w; X++) row[X] = ac[X] - bc[X]; /* c = X - 1 stored at X */
    uint32_t *tmp = ap;
    ap = ac, ac = tmp;
    tmp = bp, bp = bc, bc = tmp;
  }
}

/* --------------------------------------------------------------- features --- */

/* Per call, every tree node is packed with its feature's offsets into the
 * integral tables (OpenCV's OptFeature), so the inner loop reads one record
 * per node. All tables live in one buffer: sum at 0, squared sums at `tab`,
 * tilted sums at 2*tab; tilted features carry that offset in ofs. */
typedef struct haar_node {
  int ofs[3][4];
  float w[3];
  float thr;
  int left, right;  /* tree walk */
  float l0, l1;     /* stump leaves */
} haar_node;

typedef struct lbp_node {
  int ofs[16];      /* 4x4 grid corners */
  const int32_t *subset;
  int left, right;
  float l0, l1;
} lbp_node;

#define SUM4(p, o) ((int32_t)((p)[(o)[0]] - (p)[(o)[1]] - (p)[(o)[2]] + (p)[(o)[3]]))

typedef struct scan {
  const mira_cascade *c;
  const uint32_t *ii;     /* integral tables */
  size_t tab;             /* offset of the squared sums */
  haar_node *hn;
  lbp_node *ln;
  int nofs[4];
  double norm_area;
} scan;

static void make_nodes(scan *S, int st, size_t tab) {
  const mira_cascade *c = S->c;
  for (int t = 0; t < c->ntrees; t++) {
    const cascade_tree *tr = &c->trees[t];
    for (int k = 0; k < tr->nnodes; k++) {
      int i = tr->first_node + k;
      const cascade_node *nd = &c->nodes[i];
      float l0 = c->leaves[tr->first_leaf], l1 = c->leaves[tr->first_leaf + 1];
      if (c->type == CASCADE_HAAR) {
        const cascade_haar_feature *f = &c->haar[nd->feature];
        haar_node *o = &S->hn[i];
        o->thr = nd->threshold, o->left = nd->left, o->right = nd->right, o->l0 = l0, o->l1 = l1;
        int base = f->tilted ? (int)(2 * tab) : 0;
        for (int q = 0; q < 3; q++) {
          o->w[q] = q < f->nrects ? f->weight[q] : 0.f;
          int x = f->x[q], y = f->y[q], w = f->w[q], h = f->h[q];
          if (q >= f->nrects) x = y = w = h = 0;
          if (f->tilted) {
            o->ofs[q][0] = base + x + st * y;
            o->ofs[q][1] = base + x - h + st * (y + h);
            o->ofs[q][2] = base + x + w + st * (y + w);
            o->ofs[q][3] = base + x + w - h + st * (y + w + h);
          } else {
            o->ofs[q][0] = x + st * y;
            o->ofs[q][1] = x + w + st * y;
            o->ofs[q][2] = x + st * (y + h);
            o->ofs[q][3] = x + w + st * (y + h);
          }
        }
      } else {
        const cascade_lbp_feature *f = &c->lbp[nd->feature];
        lbp_node *o = &S->ln[i];
        o->left = nd->left, o->right = nd->right, o->l0 = l0, o->l1 = l1;
        o->subset = c->subsets + (size_t)i * c->subset_size;
        for (int r = 0; r < 4; r++)
          for (int q = 0; q < 4; q++) o->ofs[r * 4 + q] = (f->x + q * f->w) + st * (f->y + r * f->h);
      }
    }
  }
  if (c->type == CASCADE_HAAR) {
    int nw = c->win_w - 2, nh = c->win_h - 2;
    S->nofs[0] = 1 + st;
    S->nofs[1] = 1 + nw + st;
    S->nofs[2] = 1 + st * (1 + nh);
    S->nofs[3] = 1 + nw + st * (1 + nh);
    S->norm_area = (double)nw * nh;
  }
}

static inline float haar_value(const haar_node *o, const uint32_t *p, float vnf) {
  float r = o->w[0] * (float)SUM4(p, o->ofs[0]) + o->w[1] * (float)SUM4(p, o->ofs[1]);
  if (o->w[2] != 0.0f) r += o->w[2] * (float)SUM4(p, o->ofs[2]);
  return r * vnf;
}

static inline int lbp_code(const lbp_node *o, const uint32_t *p) {
  const int *f = o->ofs;
#define CELL(a, b, c, d) ((int32_t)(p[f[a]] - p[f[b]] - p[f[c]] + p[f[d]]))
  int32_t cv = CELL(5, 6, 9, 10);
  return (CELL(0, 1, 4, 5) >= cv ? 128 : 0) | (CELL(1, 2, 5, 6) >= cv ? 64 : 0) |
         (CELL(2, 3, 6, 7) >= cv ? 32 : 0) | (CELL(6, 7, 10, 11) >= cv ? 16 : 0) |
         (CELL(10, 11, 14, 15) >= cv ? 8 : 0) | (CELL(9, 10, 13, 14) >= cv ? 4 : 0) |
         (CELL(8, 9, 12, 13) >= cv ? 2 : 0) | (CELL(4, 5, 8, 9) >= cv ? 1 : 0);
#undef CELL
}

static inline int lbp_bit(const lbp_node *o, const uint32_t *p) {
  int code = lbp_code(o, p);
  return ((uint32_t)o->subset[code >> 5] >> (code & 31)) & 1u;
}

/* OpenCV's runAt: -1 if the window is rejected by the variance check, -stage
 * for the stage that failed (0 for the first), 1 if all stages passed.
 * Doubles and floats as in predictOrdered[Stump] / predictCategorical[Stump]. */
static int run_haar(const scan *S, size_t pos) {
  const mira_cascade *c = S->c;
  const uint32_t *p = S->ii + pos, *pq = p + S->tab;
  int32_t vs = SUM4(p, S->nofs);
  uint32_t vq = (uint32_t)SUM4(pq, S->nofs);
  double area = S->norm_area;
  double nf = area * vq - (double)vs * vs;
  if (!(nf > 0.)) return -1;
  float vnf = (float)(1. / sqrt(nf));
  if (!(area * vnf < 1e-1)) return -1;
  const haar_node *hn = S->hn;
  if (c->max_nodes == 1) {
    for (int si = 0; si < c->nstages; si++) {
      const cascade_stage *stg = &c->stages[si];
      double tmp = 0;
      for (int i = 0; i < stg->ntrees; i++, hn++) {
        double v = haar_value(hn, p, vnf);
        tmp += v < hn->thr ? hn->l0 : hn->l1;
      }
      if (tmp < stg->threshold) return -si;
    }
    return 1;
  }
  for (int si = 0; si < c->nstages; si++) {
    const cascade_stage *stg = &c->stages[si];
    double sum = 0;
    for (int t = stg->first; t < stg->first + stg->ntrees; t++) {
      const cascade_tree *tr = &c->trees[t];
      const haar_node *nodes = hn + tr->first_node;
      int idx = 0;
      do {
        const haar_node *nd = &nodes[idx];
        double v = haar_value(nd, p, vnf);
        idx = v < nd->thr ? nd->left : nd->right;
      } while (idx > 0);
      sum += c->leaves[tr->first_leaf - idx];
    }
    if (sum < stg->threshold) return -si;
  }
  return 1;
}

static int run_lbp(const scan *S, size_t pos) {
  const mira_cascade *c = S->c;
  const uint32_t *p = S->ii + pos;
  const lbp_node *ln = S->ln;
  if (c->max_nodes == 1) {
    for (int si = 0; si < c->nstages; si++) {
      const cascade_stage *stg = &c->stages[si];
      double tmp = 0;
      for (int i = 0; i < stg->ntrees; i++, ln++) tmp += lbp_bit(ln, p) ? ln->l0 : ln->l1;
      if (tmp < stg->threshold) return -si;
    }
    return 1;
  }
  for (int si = 0; si < c->nstages; si++) {
    const cascade_stage *stg = &c->stages[si];
    double sum = 0;
    for (int t = stg->first; t < stg->first + stg->ntrees; t++) {
      const cascade_tree *tr = &c->trees[t];
      const lbp_node *nodes = ln + tr->first_node;
      int idx = 0;
      do {
        const lbp_node *nd = &nodes[idx];
        idx = lbp_bit(nd, p) ? nd->left : nd->right;
      } while (idx > 0);
      sum += c->leaves[tr->first_leaf - idx];
    }
    if (sum < stg->threshold) return -si;
  }
  return 1;
}

/* --------------------------------------------------------------- grouping --- */

typedef struct rects {
  mira_face_box *v;
  size_t n, cap;
} rects;

static int push(rects *r, int x, int y, int w, int h) {
  if (r->n == r->cap) {
    size_t nc = r->cap ? r->cap * 2 : 256;
    mira_face_box *nv = realloc(r->v, nc * sizeof *nv);
    if (!nv) return -1;
    r->v = nv, r->cap = nc;
  }
  r->v[r->n++] = (mira_face_box){x, y, w, h};
  return 0;
}

static int similar(const mira_face_box *a, const mira_face_box *b, double eps) {
  double delta = eps * ((a->w < b->w ? a->w : b->w) + (a->h < b->h ? a->h : b->h)) * 0.5;
  return abs(a->x - b->x) <= delta && abs(a->y - b->y) <= delta && abs(a->x + a->w - b->x - b->w) <= delta &&
         abs(a->y + a->h - b->y - b->h) <= delta;
}

static size_t find(size_t *parent, size_t i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

/* cv::groupRectangles(rects, threshold, eps): equivalence classes of similar
 * rectangles, averaged; classes with <= threshold members dropped, then
 * classes inside a stronger neighbouring class dropped. Writes to *out. */
static int group(rects *in, int threshold, double eps, mira_face_box **out, size_t *nout) {
  *out = NULL;
  *nout = 0;
  size_t n = in->n;
  if (n == 0) return 0;
  if (threshold <= 0) {
    *out = in->v, *nout = n;
    in->v = NULL;
    return 0;
  }
  size_t *parent = malloc(n * sizeof *parent), *label = malloc(n * sizeof *label);
  if (!parent || !label) {
    free(parent), free(label);
    return -1;
  }
  for (size_t i = 0; i < n; i++) parent[i] = i;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (similar(&in->v[i], &in->v[j], eps)) {
        size_t a = find(parent, i), b = find(parent, j);
        if (a != b) parent[b] = a;
      }
  size_t ncls = 0;
  for (size_t i = 0; i < n; i++) label[i] = SIZE_MAX;
  for (size_t i = 0; i < n; i++) {
    size_t r = find(parent, i);
    if (label[r] == SIZE_MAX) label[r] = ncls++;
  }
  long long (*acc)[4] = calloc(ncls, sizeof *acc);
  int *cnt = calloc(ncls, sizeof *cnt);
  mira_face_box *avg = malloc(ncls * sizeof *avg), *res = malloc(ncls * sizeof *res);
  if (!acc || !cnt || !avg || !res) {
    free(parent), free(label), free(acc), free(cnt), free(avg), free(res);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    size_t k = label[find(parent, i)];
    acc[k][0] += in->v[i].x, acc[k][1] += in->v[i].y, acc[k][2] += in->v[i].w, acc[k][3] += in->v[i].h;
    cnt[k]++;
  }
  for (size_t k = 0; k < ncls; k++) {
    float s = 1.f / cnt[k];
    avg[k] = (mira_face_box){(int)lrintf((float)acc[k][0] * s), (int)lrintf((float)acc[k][1] * s),
                             (int)lrintf((float)acc[k][2] * s), (int)lrintf((float)acc[k][3] * s)};
  }
  size_t m = 0;
  for (size_t i = 0; i < ncls; i++) {
    const mira_face_box *r1 = &avg[i];
    int n1 = cnt[i];
    if (n1 <= threshold) continue;
    size_t j;
    for (j = 0; j < ncls; j++) {
      int n2 = cnt[j];
      if (j == i || n2 <= threshold) continue;
      const mira_face_box *r2 = &avg[j];
      int dx = (int)lrint(r2->w * eps), dy = (int)lrint(r2->h * eps);
      if (r1->x >= r2->x - dx && r1->y >= r2->y - dy && r1->x + r1->w <= r2->x + r2->w + dx &&
          r1->y + r1->h <= r2->y + r2->h + dy && (n2 > (n1 > 3 ? n1 : 3) || n1 < 3))
        break;
    }
    if (j == ncls) res[m++] = *r1;
  }
  free(parent), free(label), free(acc), free(cnt), free(avg);
  if (m == 0) {
    free(res);
    return 0;
  }
  *out = res;
  *nout = m;
  return 0;
}

/* ---------------------------------------------------------------- detect --- */

int mira_face_detect(const mira_cascade *c, const mira_gray *img, const mira_face_detect_params *p,
                     mira_face_box **boxes, size_t *n, char *err, size_t errlen) {
  if (!c || !img || !p || !boxes || !n) return mira_err(err, errlen, MIRA_EINVAL, "face: missing argument");
  if (!img->px || img->w <= 0 || img->h <= 0 || img->w > MIRA_IMAGE_MAX_SIDE || img->h > MIRA_IMAGE_MAX_SIDE ||
      img->stride < img->w)
    return mira_err(err, errlen, MIRA_EINVAL, "face: bad image %dx%d (stride %d, limit %d)", img->w, img->h,
                    img->stride, MIRA_IMAGE_MAX_SIDE);
  if (!(p->scale_factor > 1.0) || !isfinite(p->scale_factor) || p->min_neighbors < 0 || p->min_w < 0 ||
      p->min_h < 0 || p->max_w < 0 || p->max_h < 0)
    return mira_err(err, errlen, MIRA_EINVAL, "face: scale_factor must be > 1 and sizes/neighbours >= 0");

  int maxw = p->max_w, maxh = p->max_h;
  if (maxw == 0 || maxh == 0) maxw = img->w, maxh = img->h;

  float scales[MAX_SCALES];
  int nsc = 0;
  for (double factor = 1; nsc < MAX_SCALES; factor *= p->scale_factor) {
    int ww = (int)lrint(c->win_w * factor), wh = (int)lrint(c->win_h * factor);
    if (ww > img->w || wh > img->h || ww > maxw || wh > maxh) break;
    if (ww < p->min_w || wh < p->min_h) continue;
    scales[nsc++] = (float)factor;
  }
  *boxes = NULL;
  *n = 0;
  if (nsc == 0) return 0;

  /* scratch sized for the largest (first) scale */
  int w0 = (int)lrintf((float)img->w / scales[0]), h0 = (int)lrintf((float)img->h / scales[0]);
  if (w0 < 1) w0 = 1;
  if (h0 < 1) h0 = 1;
  int st = w0 + 1;
  size_t tab = (size_t)st * (h0 + 1);
  int haar = c->type == CASCADE_HAAR;
  int rc = 0;
  uint8_t *small = malloc((size_t)w0 * h0);
  int ntab = haar ? (c->has_tilted ? 3 : 2) : 1;
  uint32_t *ii = malloc(tab * ntab * sizeof *ii);
  uint32_t *tscratch = haar && c->has_tilted ? malloc((size_t)(5 * (w0 + 2)) * sizeof *tscratch) : NULL;
  uint16_t *rows = malloc((size_t)2 * w0 * sizeof *rows);
  lin_coef *coefs = malloc((size_t)(w0 + h0) * sizeof *coefs);
  scan S = {.c = c, .ii = ii, .tab = tab};
  if (haar)
    S.hn = malloc((size_t)c->nnodes * sizeof *S.hn);
  else
    S.ln = malloc((size_t)c->nnodes * sizeof *S.ln);
  rects cand = {0};
  if (!small || !ii || (haar && c->has_tilted && !tscratch) || !rows || !coefs || (!S.hn && !S.ln)) {
    rc = mira_err(err, errlen, MIRA_ENOMEM, "face: out of memory for a %dx%d image", img->w, img->h);
    goto done;
  }
  make_nodes(&S, st, tab);
  int (*run)(const scan *, size_t) = haar ? run_haar : run_lbp;

  for (int si = 0; si < nsc; si++) {
    float sc = scales[si];
    int sw = (int)lrintf((float)img->w / sc), sh = (int)lrintf((float)img->h / sc);
    if (sw > w0) sw = w0;
    if (sh > h0) sh = h0;
    int ystep = sc >= 2 ? 1 : 2;
    int xend = sw + 1 - c->win_w, yend = sh + 1 - c->win_h;
    if (xend <= 0 || yend <= 0) continue;
    resize_exact(img, small, sw, sh, rows, coefs);
    integrals(small, sw, sh, st, ii, haar ? ii + tab : NULL);
    if (tscratch) tilted_integral(small, sw, sh, st, ii + 2 * tab, tscratch);
    int winw = (int)lrintf(c->win_w * sc), winh = (int)lrintf(c->win_h * sc);
    /* setWindow also requires x + win_w < sw + 1, which xend guarantees */
    for (int y = 0; y < yend; y += ystep) {
      for (int x = 0; x < xend; x += ystep) {
        int r = run(&S, (size_t)y * st + x);
        if (r > 0 && push(&cand, (int)lrintf((float)x * sc), (int)lrintf((float)y * sc), winw, winh)) {
          rc = mira_err(err, errlen, MIRA_ENOMEM, "face: out of memory");
          goto done;
        }
        if (r == 0) x += ystep;
      }
    }
  }
  if (group(&cand, p->min_neighbors, GROUP_EPS, boxes, n))
    rc = mira_err(err, errlen, MIRA_ENOMEM, "face: out of memory");

done:
  free(cand.v);
  free(small), free(ii), free(tscratch), free(rows), free(coefs);
  free(S.hn), free(S.ln);
  return rc;
}
