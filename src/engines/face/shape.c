/* dlib-compatible 68-point landmarks: a loader for dlib's serialized
 * shape_predictor (the ensemble of regression trees of Kazemi and Sullivan,
 * 2014) and the fitting loop of dlib's shape_predictor::operator().
 *
 * File format (dlib 19.24 serialize.h, all little-endian):
 *   integer: a control byte (low 4 bits: byte count 1..8; bit 7: negative,
 *            for signed types) and that many value bytes, least significant
 *            first.
 *   float:   float_details: mantissa (int64) then exponent (int16), both as
 *            integers above; the value is ldexp((float)mantissa, exponent).
 *   matrix:  rows and columns as signed integers (negated in the newer
 *            format), then the elements row by row.
 *   vector:  the count (unsigned long), then the elements.
 * shape_predictor = version int (1), initial_shape (matrix<float,0,1>),
 * forests (vector<vector<tree>>, tree = splits (vector<{idx1, idx2,
 * thresh}>) + leaf_values (vector<matrix<float,0,1>>)), anchor_idx
 * (vector<vector<unsigned long>>), deltas (vector<vector<vector<float,2>>>).
 *
 * The model is stored compactly: every split of every tree in one array,
 * every leaf vector in one float array. The fitting reproduces dlib's float
 * arithmetic step by step (float feature positions and leaf accumulation,
 * double image transforms, floor(v + 0.5) pixel rounding), so results match
 * dlib to the last printed digit. This relies on plain IEEE float/double
 * evaluation without fused multiply-add, which is what x86-64 builds without
 * -march flags give; dlib's reference was built the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "engines/face/face.h"

/* Limits against hostile model files. Debian's model has 68 parts and 500
 * feature pixels per cascade; fitting keeps its scratch on the stack. */
#define MAX_PARTS 1024    /* landmarks per shape */
#define MAX_FEATURES 8192 /* feature pixels per cascade level */
#define SHAPE_VERSION 1   /* dlib's shape_predictor serialization version */

typedef struct split {
  uint32_t idx1, idx2; /* feature pixels compared: value[idx1] - value[idx2] > thresh */
  float thresh;
} split;

typedef struct tree {
  size_t split_off; /* first split in m->splits */
  size_t leaf_off;  /* first float of the first leaf in m->leaves */
  uint32_t nsplits; /* leaves = nsplits + 1 */
} tree;

typedef struct cascade {
  size_t tree_off; /* first tree in m->trees */
  uint32_t ntrees;
  uint32_t nfeat;   /* feature pixels of this level */
  uint32_t *anchor; /* nfeat part indexes */
  float *delta;     /* 2 * nfeat offsets from the anchors, in shape space */
} cascade;

struct mira_shape_model {
  int parts;
  float *init; /* 2 * parts: initial (mean) shape, x0 y0 x1 y1 ... */
  uint32_t ncascades;
  cascade *cas;
  tree *trees;
  size_t ntrees;
  split *splits;
  size_t nsplits;
  float *leaves; /* 2 * parts floats per leaf */
  size_t nleaves;
};

/* ---- reader ---- */

typedef struct rd {
  const uint8_t *base, *p, *end;
  const char *what; /* the field being read, for error messages */
  long i, j, k;     /* indexes of that field (-1: none) */
  char *err;
  size_t errlen;
} rd;

static int fail(rd *r, const char *why) {
  char where[96] = "";
  if (r->k >= 0)
    snprintf(where, sizeof where, "[%ld][%ld][%ld]", r->i, r->j, r->k);
  else if (r->j >= 0)
    snprintf(where, sizeof where, "[%ld][%ld]", r->i, r->j);
  else if (r->i >= 0)
    snprintf(where, sizeof where, "[%ld]", r->i);
  return mira_err(r->err, r->errlen, MIRA_EINVAL, "shape model: %s in %s%s at byte %zu", why,
                  r->what, where, (size_t)(r->p - r->base));
}

static void at(rd *r, const char *what, long i, long j, long k) {
  r->what = what;
  r->i = i;
  r->j = j;
  r->k = k;
}

/* An integer of at most maxbytes value bytes; *neg gets the sign bit (only
 * signed types may set it). */
static inline int rd_int(rd *r, int is_signed, unsigned maxbytes, uint64_t *v, int *neg) {
  *v = 0;
  *neg = 0;
  if (r->p >= r->end) return fail(r, "truncated integer");
  unsigned c = *r->p;
  unsigned n = is_signed ? (c & 0x0F) : (c & 0x8F); /* dlib masks the reserved bits */
  if (n == 0 || n > maxbytes) return fail(r, "bad integer size");
  if ((size_t)(r->end - r->p) < 1 + (size_t)n) return fail(r, "truncated integer");
  uint64_t x = 0;
  for (unsigned b = n; b > 0; b--) x = x << 8 | r->p[b];
  r->p += 1 + n;
  *v = x;
  *neg = is_signed && (c & 0x80);
  return 0;
}

static int rd_ulong(rd *r, uint64_t *v) {
  int neg;
  return rd_int(r, 0, 8, v, &neg);
}

/* A vector count whose elements take at least minbytes each. */
static int rd_count(rd *r, size_t minbytes, uint64_t limit, uint32_t *n) {
  uint64_t v;
  if (rd_ulong(r, &v)) return MIRA_EINVAL;
  if (v > (uint64_t)(r->end - r->p) / minbytes) return fail(r, "count larger than the file");
  if (v > limit) return fail(r, "count over the limit");
  *n = (uint32_t)v;
  return 0;
}

static int rd_signed(rd *r, unsigned bytes, int64_t *v) {
  uint64_t x;
  int neg;
  if (rd_int(r, 1, bytes, &x, &neg)) return MIRA_EINVAL;
  int64_t s = bytes == 2 ? (int64_t)(int16_t)(uint16_t)x : (int64_t)x; /* dlib's wrap-around */
  *v = neg ? (int64_t)(0 - (uint64_t)s) : s;
  if (bytes == 2) *v = (int16_t)(uint16_t)*v;
  return 0;
}

static inline int rd_float(rd *r, float *out) {
  if (r->p >= r->end) return fail(r, "truncated float");
  if (*r->p & 0x70) return fail(r, "float in dlib's old text format (unsupported)");
  int64_t man, ex;
  if (rd_signed(r, 8, &man) || rd_signed(r, 2, &ex)) return MIRA_EINVAL;
  float f;
  if (ex >= 32000) return fail(r, "non-finite float"); /* dlib's is_inf/is_ninf/is_nan */
  if (man > -(1 << 24) && man < (1 << 24) && ex >= -100 && ex <= 100)
    f = (float)man * ldexpf(1.0f, (int)ex); /* exact: a power of two, result normal */
  else
    f = ldexpf((float)man, (int)ex);
  if (!isfinite(f)) return fail(r, "float out of range");
  *out = f;
  return 0;
}

/* matrix<float,0,1> of exactly want rows (want 0: any positive even count). */
static int rd_colvec(rd *r, uint32_t want, uint32_t *rows, float *dst, float **alloc_out) {
  int64_t nr, nc;
  if (rd_signed(r, 8, &nr) || rd_signed(r, 8, &nc)) return MIRA_EINVAL;
  if (nr == INT64_MIN || nc == INT64_MIN) return fail(r, "matrix size out of range"); /* fuzz: -INT64_MIN */
  if (nr < 0 || nc < 0) { /* newer format stores both negated */
    nr = -nr;
    nc = -nc;
  }
  if (nc != 1) return fail(r, "matrix is not a column vector");
  if (want ? nr != (int64_t)want : (nr <= 0 || nr % 2 || nr > 2 * MAX_PARTS))
    return fail(r, want ? "vector length differs from 2 * parts" : "bad shape length");
  if ((uint64_t)nr > (uint64_t)(r->end - r->p) / 2) return fail(r, "matrix larger than the file");
  if (!dst) {
    dst = malloc((size_t)nr * sizeof *dst);
    if (!dst) return mira_err(r->err, r->errlen, MIRA_ENOMEM, "shape model: out of memory");
    *alloc_out = dst;
  }
  for (int64_t e = 0; e < nr; e++)
    if (rd_float(r, &dst[e])) return MIRA_EINVAL;
  if (rows) *rows = (uint32_t)nr;
  return 0;
}

/* Grows *arr (elements of size sz) to hold at least need elements. */
static int grow(void **arr, size_t *cap, size_t need, size_t sz) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap : 1024;
  while (n < need) n *= 2;
  void *p = realloc(*arr, n * sz);
  if (!p) return MIRA_ENOMEM;
  *arr = p;
  *cap = n;
  return 0;
}

void mira_shape_model_free(mira_shape_model *m) {
  if (!m) return;
  if (m->cas)
    for (uint32_t c = 0; c < m->ncascades; c++) {
      free(m->cas[c].anchor);
      free(m->cas[c].delta);
    }
  free(m->cas);
  free(m->init);
  free(m->trees);
  free(m->splits);
  free(m->leaves);
  free(m);
}

int mira_shape_model_points(const mira_shape_model *m) { return m ? m->parts : 0; }

static int nomem(rd *r) {
  return mira_err(r->err, r->errlen, MIRA_ENOMEM, "shape model: out of memory");
}

static int parse(rd *r, mira_shape_model *m) {
  int64_t version;
  at(r, "version", -1, -1, -1);
  if (rd_signed(r, 4, &version)) return MIRA_EINVAL;
  if (version != SHAPE_VERSION) return fail(r, "unknown shape_predictor version");

  at(r, "initial_shape", -1, -1, -1);
  uint32_t len;
  if (rd_colvec(r, 0, &len, NULL, &m->init)) return MIRA_EINVAL;
  m->parts = (int)(len / 2);
  const uint32_t leaflen = len;

  /* forests: a float takes at least 4 bytes (2 integers of 2 bytes), a split
   * at least 6, a tree at least 2 (two empty vectors), a vector at least 2. */
  at(r, "forests", -1, -1, -1);
  if (rd_count(r, 2, UINT32_MAX, &m->ncascades)) return MIRA_EINVAL;
  m->cas = calloc(m->ncascades ? m->ncascades : 1, sizeof *m->cas);
  if (!m->cas) return nomem(r);
  size_t tcap = 0, scap = 0, lcap = 0;
  for (uint32_t c = 0; c < m->ncascades; c++) {
    cascade *cs = &m->cas[c];
    at(r, "forests", c, -1, -1);
    if (rd_count(r, 2, UINT32_MAX, &cs->ntrees)) return MIRA_EINVAL;
    cs->tree_off = m->ntrees;
    if (grow((void **)&m->trees, &tcap, m->ntrees + cs->ntrees, sizeof *m->trees)) return nomem(r);
    for (uint32_t t = 0; t < cs->ntrees; t++) {
      tree *tr = &m->trees[m->ntrees++];
      at(r, "forests", c, t, -1);
      r->what = "forests splits";
      if (rd_count(r, 6, UINT32_MAX, &tr->nsplits)) return MIRA_EINVAL;
      tr->split_off = m->nsplits;
      if (grow((void **)&m->splits, &scap, m->nsplits + tr->nsplits, sizeof *m->splits))
        return nomem(r);
      for (uint32_t s = 0; s < tr->nsplits; s++) {
        split *sp = &m->splits[m->nsplits++];
        uint64_t a, b;
        at(r, "forests split", c, t, s);
        if (rd_ulong(r, &a) || rd_ulong(r, &b) || rd_float(r, &sp->thresh)) return MIRA_EINVAL;
        if (a >= MAX_FEATURES || b >= MAX_FEATURES) return fail(r, "feature index over the limit");
        sp->idx1 = (uint32_t)a;
        sp->idx2 = (uint32_t)b;
      }
      uint32_t nleaves;
      at(r, "forests leaf_values", c, t, -1);
      if (rd_count(r, 2 + 4 * (size_t)leaflen, UINT32_MAX, &nleaves)) return MIRA_EINVAL;
      if ((uint64_t)nleaves != (uint64_t)tr->nsplits + 1)
        return fail(r, "leaf count is not splits + 1");
      tr->leaf_off = m->nleaves * leaflen;
      if (grow((void **)&m->leaves, &lcap, (m->nleaves + nleaves) * leaflen, sizeof *m->leaves))
        return nomem(r);
      for (uint32_t l = 0; l < nleaves; l++) {
        at(r, "forests leaf_values", c, t, l);
        if (rd_colvec(r, leaflen, NULL, m->leaves + (m->nleaves + l) * leaflen, NULL))
          return MIRA_EINVAL;
      }
      m->nleaves += nleaves;
    }
  }

  at(r, "anchor_idx", -1, -1, -1);
  uint32_t n;
  if (rd_count(r, 2, UINT32_MAX, &n)) return MIRA_EINVAL;
  if (n != m->ncascades) return fail(r, "anchor_idx count differs from the number of cascades");
  for (uint32_t c = 0; c < n; c++) {
    cascade *cs = &m->cas[c];
    at(r, "anchor_idx", c, -1, -1);
    if (rd_count(r, 2, MAX_FEATURES, &cs->nfeat)) return MIRA_EINVAL;
    cs->anchor = malloc((cs->nfeat ? cs->nfeat : 1) * sizeof *cs->anchor);
    if (!cs->anchor) return nomem(r);
    for (uint32_t f = 0; f < cs->nfeat; f++) {
      uint64_t a;
      at(r, "anchor_idx", c, f, -1);
      if (rd_ulong(r, &a)) return MIRA_EINVAL;
      if (a >= (uint64_t)m->parts) return fail(r, "anchor index out of range");
      cs->anchor[f] = (uint32_t)a;
    }
  }

  at(r, "deltas", -1, -1, -1);
  if (rd_count(r, 2, UINT32_MAX, &n)) return MIRA_EINVAL;
  if (n != m->ncascades) return fail(r, "deltas count differs from the number of cascades");
  for (uint32_t c = 0; c < n; c++) {
    cascade *cs = &m->cas[c];
    uint32_t nf;
    at(r, "deltas", c, -1, -1);
    if (rd_count(r, 8, MAX_FEATURES, &nf)) return MIRA_EINVAL;
    if (nf != cs->nfeat) return fail(r, "deltas count differs from anchor_idx");
    cs->delta = malloc((nf ? 2 * (size_t)nf : 1) * sizeof *cs->delta);
    if (!cs->delta) return nomem(r);
    for (uint32_t f = 0; f < nf; f++) {
      at(r, "deltas", c, f, -1);
      if (rd_float(r, &cs->delta[2 * f]) || rd_float(r, &cs->delta[2 * f + 1])) return MIRA_EINVAL;
    }
  }

  /* Every split must compare feature pixels of its own cascade level. */
  for (uint32_t c = 0; c < m->ncascades; c++) {
    const cascade *cs = &m->cas[c];
    for (uint32_t t = 0; t < cs->ntrees; t++) {
      const tree *tr = &m->trees[cs->tree_off + t];
      for (uint32_t s = 0; s < tr->nsplits; s++) {
        const split *sp = &m->splits[tr->split_off + s];
        if (sp->idx1 >= cs->nfeat || sp->idx2 >= cs->nfeat) {
          at(r, "forests split", c, t, s);
          return fail(r, "feature index out of range");
        }
      }
    }
  }
  if (r->p != r->end) {
    at(r, "shape_predictor", -1, -1, -1);
    return fail(r, "trailing bytes");
  }
  return 0;
}

int mira_shape_model_load_mem(const void *data, size_t len, mira_shape_model **out, char *err,
                              size_t errlen) {
  if (!data || !out) return mira_err(err, errlen, MIRA_EINVAL, "shape model: no data");
  mira_shape_model *m = calloc(1, sizeof *m);
  if (!m) return mira_err(err, errlen, MIRA_ENOMEM, "shape model: out of memory");
  rd r = {
      .base = data, .p = data, .end = (const uint8_t *)data + len, .err = err, .errlen = errlen};
  int rc = parse(&r, m);
  if (rc) {
    mira_shape_model_free(m);
    return rc;
  }
  /* Give back the slack of the growing arrays. */
  void *p;
  if (m->nleaves && (p = realloc(m->leaves, m->nleaves * 2 * (size_t)m->parts * sizeof *m->leaves)))
    m->leaves = p;
  if (m->nsplits && (p = realloc(m->splits, m->nsplits * sizeof *m->splits))) m->splits = p;
  if (m->ntrees && (p = realloc(m->trees, m->ntrees * sizeof *m->trees))) m->trees = p;
  *out = m;
  return 0;
}

int mira_shape_model_load(const char *path, mira_shape_model **out, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return mira_err(err, errlen, errno == ENOENT ? MIRA_ENOENT : MIRA_EIO, "shape model %s: %s",
                    path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return mira_err(err, errlen, MIRA_EIO, "shape model %s: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode) || st.st_size == 0) {
    close(fd);
    return mira_err(err, errlen, MIRA_EINVAL, "shape model %s: empty or not a regular file", path);
  }
  void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (map == MAP_FAILED)
    return mira_err(err, errlen, MIRA_EIO, "shape model %s: mmap: %s", path, strerror(e));
  madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL | MADV_WILLNEED);
  int rc = mira_shape_model_load_mem(map, (size_t)st.st_size, out, err, errlen);
  munmap(map, (size_t)st.st_size);
  return rc;
}

/* ---- fitting ---- */

typedef float v4f __attribute__((vector_size(16)));

/* cur += lv, four lanes at a time: lane-wise IEEE adds, the same results as
 * dlib's element-wise loop (GCC's -O2 leaves that loop scalar). */
static inline void add_leaf(float *restrict cur, const float *restrict lv, size_t n) {
  size_t e = 0;
  for (; e + 4 <= n; e += 4) {
    v4f a, b;
    memcpy(&a, cur + e, sizeof a);
    memcpy(&b, lv + e, sizeof b);
    a += b;
    memcpy(cur + e, &a, sizeof a);
  }
  for (; e < n; e++) cur[e] += lv[e];
}

/* dlib's find_similarity_transform(from, to) (Umeyama) for 2-D points, in its
 * closed form: the least-squares [a -b; b a] with a = tr(cov) / var(from),
 * b = (cov10 - cov01) / var(from). Umeyama's SVD route gives the same matrix
 * up to double rounding; dlib then casts it to float. */
static void similarity(const float *from, const float *to, int n, float t[4]) {
  if (n == 1) { /* dlib: identity for a single landmark */
    t[0] = 1, t[1] = 0, t[2] = 0, t[3] = 1;
    return;
  }
  double mfx = 0, mfy = 0, mtx = 0, mty = 0;
  for (int i = 0; i < n; i++) {
    mfx += from[2 * i];
    mfy += from[2 * i + 1];
    mtx += to[2 * i];
    mty += to[2 * i + 1];
  }
  mfx /= n, mfy /= n, mtx /= n, mty /= n;
  double sf = 0, c00 = 0, c01 = 0, c10 = 0, c11 = 0;
  for (int i = 0; i < n; i++) {
    double fx = from[2 * i] - mfx, fy = from[2 * i + 1] - mfy;
    double tx = to[2 * i] - mtx, ty = to[2 * i + 1] - mty;
    sf += fx * fx + fy * fy;
    c00 += tx * fx;
    c01 += tx * fy;
    c10 += ty * fx;
    c11 += ty * fy;
  }
  double a = 1, b = 0;
  if (sf != 0) {
    a = (c00 + c11) / sf;
    b = (c10 - c01) / sf;
  }
  t[0] = (float)a, t[1] = (float)-b, t[2] = (float)b, t[3] = (float)a;
}

void mira_face_landmarks(const mira_shape_model *m, const mira_gray *img, const mira_face_box *box,
                         mira_point *out) {
  const int n = m->parts;
  const size_t leaflen = 2 * (size_t)n;
  float cur[2 * MAX_PARTS];
  float fv[MAX_FEATURES];
  memcpy(cur, m->init, 2 * (size_t)n * sizeof *cur);

  /* dlib's unnormalizing_tform(rect): (0,0) -> (left, top), (1,1) ->
   * (right, bottom), right and bottom inclusive. */
  const double sx = (double)box->w - 1, sy = (double)box->h - 1, ox = box->x, oy = box->y;
  const double maxx = img->w - 1, maxy = img->h - 1;

  for (uint32_t c = 0; c < m->ncascades; c++) {
    const cascade *cs = &m->cas[c];
    float t[4];
    similarity(m->init, cur, n, t);
    for (uint32_t f = 0; f < cs->nfeat; f++) {
      const float dx = cs->delta[2 * f], dy = cs->delta[2 * f + 1];
      const uint32_t a = cs->anchor[f];
      const float px = (t[0] * dx + t[1] * dy) + cur[2 * a];
      const float py = (t[2] * dx + t[3] * dy) + cur[2 * a + 1];
      /* dlib::point from a double vector: floor(v + 0.5). */
      const double x = floor(sx * (double)px + ox + 0.5), y = floor(sy * (double)py + oy + 0.5);
      if (x >= 0 && x <= maxx && y >= 0 && y <= maxy)
        fv[f] = img->px[(size_t)y * (size_t)img->stride + (size_t)x];
      else
        fv[f] = 0;
    }
    /* A level without trees, or trees without splits, leave the arrays NULL:
     * index them only when there is something there (fuzz finding). */
    const tree *tr = cs->ntrees ? &m->trees[cs->tree_off] : NULL;
    for (uint32_t k = 0; k < cs->ntrees; k++, tr++) {
      const split *sp = tr->nsplits ? &m->splits[tr->split_off] : NULL;
      uint32_t i = 0;
      while (i < tr->nsplits)
        i = fv[sp[i].idx1] - fv[sp[i].idx2] > sp[i].thresh ? 2 * i + 1 : 2 * i + 2;
      add_leaf(cur, m->leaves + tr->leaf_off + (size_t)(i - tr->nsplits) * leaflen, leaflen);
    }
  }
  for (int i = 0; i < n; i++) {
    out[i].x = sx * (double)cur[2 * i] + ox;
    out[i].y = sy * (double)cur[2 * i + 1] + oy;
  }
}
