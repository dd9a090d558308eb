/* Loads OpenCV's new-style cascade XML (opencv_traincascade's format, which
 * the Debian opencv-data files use) into the tables of cascade_int.h.
 *
 * Only what CascadeClassifier::read uses is read: stageType (BOOST),
 * featureType (HAAR or LBP), width/height, featureParams/maxCatCount,
 * stages[]/{stageThreshold, weakClassifiers[]/{internalNodes, leafValues}}
 * and features[]. Everything from the file is checked: counts, indices, tree
 * shape and rectangle bounds, so the detector never reads outside its
 * buffers. Old-style (opencv-haar-classifier) files are refused.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/error.h"
#include "engines/face/cascade_int.h"

/* Limits against hostile files; the Debian cascades are far below them
 * (largest: ~3k trees, 3 nodes per tree, 24x24 windows). */
#define CASCADE_MAX_FILE (64u << 20)
#define CASCADE_MAX_WIN 1024
#define CASCADE_MAX_STAGES 1000
#define CASCADE_MAX_TREES 100000
#define CASCADE_MAX_NODES_PER_TREE 1024
#define CASCADE_MAX_FEATURES 1000000
#define CASCADE_LBP_CATEGORIES 256 /* 8-bit LBP codes */
#define CASCADE_THRESHOLD_EPS 1e-5f /* OpenCV subtracts it from stageThreshold */

typedef struct loader {
  mira_cascade *c;
  char *err;
  size_t errlen;
  /* growable tables */
  size_t cap_trees, cap_nodes, cap_leaves, cap_subsets;
} loader;

static xmlNode *child(const xmlNode *n, const char *name) {
  for (xmlNode *k = n ? n->children : NULL; k; k = k->next)
    if (k->type == XML_ELEMENT_NODE && strcmp((const char *)k->name, name) == 0) return k;
  return NULL;
}

static xmlNode *first_elem(xmlNode *k) {
  while (k && k->type != XML_ELEMENT_NODE) k = k->next;
  return k;
}

static size_t count_elems(const xmlNode *n) {
  size_t c = 0;
  for (xmlNode *k = n->children; k; k = k->next)
    if (k->type == XML_ELEMENT_NODE) c++;
  return c;
}

/* A whitespace-separated list of numbers: the text of one element. */
typedef struct toks {
  xmlChar *text;
  const char *p;
} toks;

static void toks_open(toks *t, const xmlNode *n) {
  t->text = xmlNodeGetContent(n);
  t->p = t->text ? (const char *)t->text : "";
}

static void toks_close(toks *t) { xmlFree(t->text); }

static int skip_ws(toks *t) {
  while (*t->p == ' ' || *t->p == '\t' || *t->p == '\n' || *t->p == '\r') t->p++;
  return *t->p != 0;
}

static int tok_end(const char *e) { return *e == 0 || *e == ' ' || *e == '\t' || *e == '\n' || *e == '\r'; }

/* 1 on success, 0 on end of list, -1 on a malformed number. */
static int tok_double(toks *t, double *v) {
  if (!skip_ws(t)) return 0;
  char *e;
  errno = 0;
  double d = strtod(t->p, &e);
  if (e == t->p || !tok_end(e) || !isfinite(d)) return -1;
  t->p = e;
  *v = d;
  return 1;
}

static int tok_int(toks *t, long lo, long hi, int *v) {
  if (!skip_ws(t)) return 0;
  char *e;
  errno = 0;
  long l = strtol(t->p, &e, 10);
  if (e == t->p || !tok_end(e) || errno || l < lo || l > hi) return -1;
  t->p = e;
  *v = (int)(int32_t)(uint32_t)l;
  return 1;
}

static int tok_more(toks *t) { return skip_ws(t); }

static int scalar_text(const xmlNode *root, const char *name, char *buf, size_t n) {
  xmlNode *k = child(root, name);
  if (!k) return -1;
  toks t;
  toks_open(&t, k);
  skip_ws(&t);
  size_t len = strcspn(t.p, " \t\r\n");
  int ok = len > 0 && len < n;
  if (ok) {
    memcpy(buf, t.p, len);
    buf[len] = 0;
    t.p += len;
    ok = !tok_more(&t);
  }
  toks_close(&t);
  return ok ? 0 : -1;
}

static int scalar_int(const xmlNode *root, const char *name, long lo, long hi, int *v) {
  xmlNode *k = child(root, name);
  if (!k) return -1;
  toks t;
  toks_open(&t, k);
  int r = tok_int(&t, lo, hi, v);
  int extra = tok_more(&t);
  toks_close(&t);
  return r == 1 && !extra ? 0 : -1;
}

static int scalar_double(const xmlNode *root, const char *name, double *v) {
  xmlNode *k = child(root, name);
  if (!k) return -1;
  toks t;
  toks_open(&t, k);
  int r = tok_double(&t, v);
  int extra = tok_more(&t);
  toks_close(&t);
  return r == 1 && !extra ? 0 : -1;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap : 64;
  while (n < need) n *= 2;
  void *q = realloc(*p, n * elem);
  if (!q) return -1;
  *p = q;
  *cap = n;
  return 0;
}

#define FAIL(...) mira_err(L->err, L->errlen, MIRA_EINVAL, __VA_ARGS__)

/* One weakClassifiers/_ element: a tree of nodes plus its leaves. */
static int read_tree(loader *L, const xmlNode *w, int si, int wi) {
  mira_cascade *c = L->c;
  xmlNode *in = child(w, "internalNodes"), *lv = child(w, "leafValues");
  if (!in || !lv) return FAIL("cascade: stage %d tree %d: missing %s", si, wi, in ? "leafValues" : "internalNodes");
  if (c->ntrees >= CASCADE_MAX_TREES) return FAIL("cascade: more than %d trees", CASCADE_MAX_TREES);
  if (grow((void **)&c->trees, &L->cap_trees, (size_t)c->ntrees + 1, sizeof *c->trees))
    return mira_err(L->err, L->errlen, MIRA_ENOMEM, "cascade: out of memory");
  cascade_tree *tr = &c->trees[c->ntrees];
  tr->first_node = c->nnodes;
  tr->first_leaf = c->nleaves;
  tr->nnodes = 0;

  toks t;
  toks_open(&t, in);
  int rc = 0;
  while (tok_more(&t)) {
    if (tr->nnodes >= CASCADE_MAX_NODES_PER_TREE) {
      rc = FAIL("cascade: stage %d tree %d: more than %d nodes", si, wi, CASCADE_MAX_NODES_PER_TREE);
      break;
    }
    if (grow((void **)&c->nodes, &L->cap_nodes, (size_t)c->nnodes + 1, sizeof *c->nodes) ||
        (c->subset_size &&
         grow((void **)&c->subsets, &L->cap_subsets, ((size_t)c->nnodes + 1) * c->subset_size, sizeof *c->subsets))) {
      rc = mira_err(L->err, L->errlen, MIRA_ENOMEM, "cascade: out of memory");
      break;
    }
    cascade_node *nd = &c->nodes[c->nnodes];
    double thr = 0;
    int ok = tok_int(&t, INT_MIN, INT_MAX, &nd->left) == 1 && tok_int(&t, INT_MIN, INT_MAX, &nd->right) == 1 &&
             tok_int(&t, INT_MIN, INT_MAX, &nd->feature) == 1;
    if (ok && c->subset_size) {
      int32_t *sub = c->subsets + (size_t)c->nnodes * c->subset_size;
      for (int j = 0; ok && j < c->subset_size; j++) {
        int v;
        ok = tok_int(&t, INT32_MIN, UINT32_MAX, &v) == 1;
        sub[j] = v;
      }
    } else if (ok) {
      ok = tok_double(&t, &thr) == 1;
    }
    if (!ok) {
      rc = FAIL("cascade: stage %d tree %d node %d: internalNodes needs %d numbers per node (left right featureIdx %s)",
                si, wi, tr->nnodes, 3 + (c->subset_size ? c->subset_size : 1),
                c->subset_size ? "and the category bitmask" : "threshold");
      break;
    }
    nd->threshold = (float)thr;
    tr->nnodes++;
    c->nnodes++;
  }
  toks_close(&t);
  if (rc) return rc;
  if (tr->nnodes == 0) return FAIL("cascade: stage %d tree %d: no internal nodes", si, wi);

  toks_open(&t, lv);
  int nl = 0;
  for (;;) {
    double v;
    int r = tok_double(&t, &v);
    if (r == 0) break;
    if (r < 0) {
      rc = FAIL("cascade: stage %d tree %d: leafValues: not a number", si, wi);
      break;
    }
    if (nl > tr->nnodes) {
      rc = FAIL("cascade: stage %d tree %d: too many leafValues for %d nodes (want %d)", si, wi, tr->nnodes,
                tr->nnodes + 1);
      break;
    }
    if (grow((void **)&c->leaves, &L->cap_leaves, (size_t)c->nleaves + 1, sizeof *c->leaves)) {
      rc = mira_err(L->err, L->errlen, MIRA_ENOMEM, "cascade: out of memory");
      break;
    }
    c->leaves[c->nleaves++] = (float)v;
    nl++;
  }
  toks_close(&t);
  if (rc) return rc;
  if (nl != tr->nnodes + 1)
    return FAIL("cascade: stage %d tree %d: too few leafValues for %d nodes (want %d)", si, wi, tr->nnodes,
                tr->nnodes + 1);

  /* Children: a node index inside the tree that comes after its parent (so
   * every walk ends), or a leaf -k with k < nnodes + 1. */
  for (int k = 0; k < tr->nnodes; k++) {
    const cascade_node *nd = &c->nodes[tr->first_node + k];
    int ch[2] = {nd->left, nd->right};
    for (int j = 0; j < 2; j++) {
      if (ch[j] > 0 ? (ch[j] <= k || ch[j] >= tr->nnodes) : (ch[j] < -tr->nnodes))
        return FAIL("cascade: stage %d tree %d node %d: child %d out of range", si, wi, k, ch[j]);
    }
    if (nd->feature < 0) return FAIL("cascade: stage %d tree %d node %d: negative featureIdx %d", si, wi, k, nd->feature);
  }
  if (tr->nnodes > c->max_nodes) c->max_nodes = tr->nnodes;
  c->ntrees++;
  return 0;
}

static int read_stages(loader *L, const xmlNode *stages) {
  mira_cascade *c = L->c;
  size_t n = count_elems(stages);
  if (n == 0) return FAIL("cascade: no stages");
  if (n > CASCADE_MAX_STAGES) return FAIL("cascade: %zu stages (limit %d)", n, CASCADE_MAX_STAGES);
  c->stages = calloc(n, sizeof *c->stages);
  if (!c->stages) return mira_err(L->err, L->errlen, MIRA_ENOMEM, "cascade: out of memory");
  int si = 0;
  for (xmlNode *s = first_elem(stages->children); s; s = first_elem(s->next), si++) {
    double thr;
    if (scalar_double(s, "stageThreshold", &thr))
      return FAIL("cascade: stage %d: missing or non-numeric stageThreshold", si);
    xmlNode *weak = child(s, "weakClassifiers");
    if (!weak || count_elems(weak) == 0) return FAIL("cascade: stage %d: no weakClassifiers", si);
    cascade_stage *st = &c->stages[si];
    st->threshold = (float)thr - CASCADE_THRESHOLD_EPS;
    st->first = c->ntrees;
    int wi = 0;
    for (xmlNode *w = first_elem(weak->children); w; w = first_elem(w->next), wi++) {
      int rc = read_tree(L, w, si, wi);
      if (rc) return rc;
    }
    st->ntrees = wi;
    c->nstages++;
  }
  return 0;
}

/* A rectangle (x, y, w, h) fits the window with its corner points. */
static int rect_fits(const mira_cascade *c, int x, int y, int w, int h) {
  return x >= 0 && y >= 0 && w > 0 && h > 0 && w <= c->win_w && h <= c->win_h && x <= c->win_w - w &&
         y <= c->win_h - h;
}

static int read_haar_feature(loader *L, const xmlNode *f, int fi, cascade_haar_feature *hf) {
  mira_cascade *c = L->c;
  xmlNode *rects = child(f, "rects");
  if (!rects) return FAIL("cascade: feature %d: missing rects", fi);
  int tilted = 0;
  if (child(f, "tilted") && scalar_int(f, "tilted", INT_MIN, INT_MAX, &tilted))
    return FAIL("cascade: feature %d: tilted is not an integer", fi);
  hf->tilted = tilted != 0;
  int ri = 0;
  for (xmlNode *r = first_elem(rects->children); r; r = first_elem(r->next), ri++) {
    if (ri >= 3) return FAIL("cascade: feature %d: more than 3 rects", fi);
    toks t;
    toks_open(&t, r);
    double wgt = 0;
    int ok = tok_int(&t, INT_MIN, INT_MAX, &hf->x[ri]) == 1 && tok_int(&t, INT_MIN, INT_MAX, &hf->y[ri]) == 1 &&
             tok_int(&t, INT_MIN, INT_MAX, &hf->w[ri]) == 1 && tok_int(&t, INT_MIN, INT_MAX, &hf->h[ri]) == 1 &&
             tok_double(&t, &wgt) == 1 && !tok_more(&t);
    toks_close(&t);
    if (!ok) return FAIL("cascade: feature %d rect %d: want \"x y w h weight\"", fi, ri);
    hf->weight[ri] = (float)wgt;
    int x = hf->x[ri], y = hf->y[ri], w = hf->w[ri], h = hf->h[ri];
    int fits;
    if (hf->tilted) /* corners (x,y) (x-h,y+h) (x+w,y+w) (x+w-h,y+w+h) */
      fits = w > 0 && h > 0 && w <= c->win_w && h <= c->win_h && x >= h && x <= c->win_w - w && y >= 0 &&
             y <= c->win_h - w - h;
    else
      fits = rect_fits(c, x, y, w, h);
    if (!fits) return FAIL("cascade: feature %d rect %d (%d %d %d %d) outside the %dx%d window", fi, ri, x, y, w, h,
                           c->win_w, c->win_h);
  }
  if (ri < 2) return FAIL("cascade: feature %d: %d rects (want 2 or 3)", fi, ri);
  hf->nrects = ri;
  if (hf->tilted) c->has_tilted = 1;
  return 0;
}

static int read_lbp_feature(loader *L, const xmlNode *f, int fi, cascade_lbp_feature *lf) {
  mira_cascade *c = L->c;
  xmlNode *r = child(f, "rect");
  if (!r) return FAIL("cascade: feature %d: missing rect", fi);
  toks t;
  toks_open(&t, r);
  int ok = tok_int(&t, INT_MIN, INT_MAX, &lf->x) == 1 && tok_int(&t, INT_MIN, INT_MAX, &lf->y) == 1 &&
           tok_int(&t, INT_MIN, INT_MAX, &lf->w) == 1 && tok_int(&t, INT_MIN, INT_MAX, &lf->h) == 1 && !tok_more(&t);
  toks_close(&t);
  if (!ok) return FAIL("cascade: feature %d: want rect \"x y w h\"", fi);
  /* the 3x3 grid of w x h cells must fit */
  if (lf->w <= 0 || lf->h <= 0 || lf->w > c->win_w / 3 || lf->h > c->win_h / 3 ||
      !rect_fits(c, lf->x, lf->y, 3 * lf->w, 3 * lf->h))
    return FAIL("cascade: feature %d: 3x3 grid of (%d %d %d %d) outside the %dx%d window", fi, lf->x, lf->y, lf->w,
                lf->h, c->win_w, c->win_h);
  return 0;
}

static int read_features(loader *L, const xmlNode *feats) {
  mira_cascade *c = L->c;
  size_t n = count_elems(feats);
  if (n == 0) return FAIL("cascade: no features");
  if (n > CASCADE_MAX_FEATURES) return FAIL("cascade: %zu features (limit %d)", n, CASCADE_MAX_FEATURES);
  if (c->type == CASCADE_HAAR)
    c->haar = calloc(n, sizeof *c->haar);
  else
    c->lbp = calloc(n, sizeof *c->lbp);
  if (!c->haar && !c->lbp) return mira_err(L->err, L->errlen, MIRA_ENOMEM, "cascade: out of memory");
  int fi = 0;
  for (xmlNode *f = first_elem(feats->children); f; f = first_elem(f->next), fi++) {
    int rc = c->type == CASCADE_HAAR ? read_haar_feature(L, f, fi, &c->haar[fi]) : read_lbp_feature(L, f, fi, &c->lbp[fi]);
    if (rc) return rc;
  }
  c->nfeatures = fi;
  return 0;
}

static int read_cascade(loader *L, xmlDoc *doc) {
  mira_cascade *c = L->c;
  xmlNode *root = xmlDocGetRootElement(doc);
  if (!root || strcmp((const char *)root->name, "opencv_storage") != 0)
    return FAIL("cascade: not an OpenCV storage file (root element is not opencv_storage)");
  xmlNode *cas = first_elem(root->children);
  if (!cas) return FAIL("cascade: empty opencv_storage");
  if (!child(cas, "stageType")) {
    xmlChar *ty = xmlGetProp(cas, (const xmlChar *)"type_id");
    int old = ty && strcmp((const char *)ty, "opencv-haar-classifier") == 0;
    xmlFree(ty);
    return FAIL(old ? "cascade: old-style opencv-haar-classifier files are not supported"
                    : "cascade: missing stageType");
  }
  char buf[32];
  if (scalar_text(cas, "stageType", buf, sizeof buf) || strcmp(buf, "BOOST") != 0)
    return FAIL("cascade: stageType must be BOOST");
  if (scalar_text(cas, "featureType", buf, sizeof buf)) return FAIL("cascade: missing featureType");
  if (strcmp(buf, "HAAR") == 0)
    c->type = CASCADE_HAAR;
  else if (strcmp(buf, "LBP") == 0)
    c->type = CASCADE_LBP;
  else
    return FAIL("cascade: featureType %s not supported (HAAR or LBP)", buf);
  if (scalar_int(cas, "width", 1, CASCADE_MAX_WIN, &c->win_w) || scalar_int(cas, "height", 1, CASCADE_MAX_WIN, &c->win_h))
    return FAIL("cascade: width and height must be integers in 1..%d", CASCADE_MAX_WIN);
  if (c->type == CASCADE_HAAR && (c->win_w < 3 || c->win_h < 3))
    return FAIL("cascade: HAAR window %dx%d too small", c->win_w, c->win_h);
  xmlNode *fp = child(cas, "featureParams");
  if (!fp) return FAIL("cascade: missing featureParams");
  int ncat = 0;
  if (child(fp, "maxCatCount") && scalar_int(fp, "maxCatCount", 0, 1 << 16, &ncat))
    return FAIL("cascade: maxCatCount is not a small integer");
  if (c->type == CASCADE_LBP && ncat != CASCADE_LBP_CATEGORIES)
    return FAIL("cascade: LBP needs maxCatCount %d (got %d)", CASCADE_LBP_CATEGORIES, ncat);
  if (c->type == CASCADE_HAAR && ncat != 0) return FAIL("cascade: HAAR needs maxCatCount 0 (got %d)", ncat);
  c->ncategories = ncat;
  c->subset_size = (ncat + 31) / 32;

  xmlNode *stages = child(cas, "stages"), *feats = child(cas, "features");
  if (!stages) return FAIL("cascade: missing stages");
  if (!feats) return FAIL("cascade: missing features");
  int rc = read_stages(L, stages);
  if (rc) return rc;
  rc = read_features(L, feats);
  if (rc) return rc;
  for (int i = 0; i < c->nnodes; i++)
    if (c->nodes[i].feature >= c->nfeatures)
      return FAIL("cascade: node %d: featureIdx %d out of range (%d features)", i, c->nodes[i].feature, c->nfeatures);
  return 0;
}

void mira_cascade_free(mira_cascade *c) {
  if (!c) return;
  free(c->stages);
  free(c->trees);
  free(c->nodes);
  free(c->leaves);
  free(c->subsets);
  free(c->haar);
  free(c->lbp);
  free(c);
}

int mira_cascade_load_mem(const char *xml, size_t len, mira_cascade **out, char *err, size_t errlen) {
  if (!xml || !out) return mira_err(err, errlen, MIRA_EINVAL, "cascade: no input");
  if (len > CASCADE_MAX_FILE || len > INT_MAX)
    return mira_err(err, errlen, MIRA_ETOOBIG, "cascade: %zu bytes (limit %u)", len, CASCADE_MAX_FILE);
  xmlParserCtxtPtr ctx = xmlNewParserCtxt();
  if (!ctx) return mira_err(err, errlen, MIRA_ENOMEM, "cascade: out of memory");
  xmlDoc *doc = xmlCtxtReadMemory(ctx, xml, (int)len, "cascade.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                                            XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
  if (!doc) {
    const xmlError *e = xmlCtxtGetLastError(ctx);
    int rc = mira_err(err, errlen, MIRA_EINVAL, "cascade: malformed XML at line %d: %s", e ? e->line : 0,
                      e && e->message ? e->message : "parse error");
    /* strip libxml2's trailing newline */
    if (err && errlen) {
      size_t n = strlen(err);
      if (n && err[n - 1] == '\n') err[n - 1] = 0;
    }
    xmlFreeParserCtxt(ctx);
    return rc;
  }
  mira_cascade *c = calloc(1, sizeof *c);
  if (!c) {
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctx);
    return mira_err(err, errlen, MIRA_ENOMEM, "cascade: out of memory");
  }
  loader L = {.c = c, .err = err, .errlen = errlen};
  int rc = read_cascade(&L, doc);
  xmlFreeDoc(doc);
  xmlFreeParserCtxt(ctx);
  if (rc) {
    mira_cascade_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

int mira_cascade_load(const char *path, mira_cascade **out, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) return mira_err(err, errlen, MIRA_ENOENT, "cascade: cannot open %s: %s", path, strerror(errno));
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int rc = 0;
  for (;;) {
    if (len == cap) {
      if (cap >= CASCADE_MAX_FILE) {
        rc = mira_err(err, errlen, MIRA_ETOOBIG, "cascade: %s is larger than %u bytes", path, CASCADE_MAX_FILE);
        break;
      }
      cap = cap ? cap * 2 : 1 << 20;
      char *nb = realloc(buf, cap + 1);
      if (!nb) {
        rc = mira_err(err, errlen, MIRA_ENOMEM, "cascade: out of memory");
        break;
      }
      buf = nb;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) {
      if (ferror(f)) rc = mira_err(err, errlen, MIRA_EIO, "cascade: reading %s failed", path);
      break;
    }
  }
  fclose(f);
  if (!rc) rc = mira_cascade_load_mem(buf, len, out, err, errlen);
  free(buf);
  return rc;
}
