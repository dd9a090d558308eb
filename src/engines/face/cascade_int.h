/* Private to the face engine: the in-memory form of an OpenCV cascade, shared
 * by the loader (cascade.c) and the detector (detect.c).
 *
 * The loader checks every index, so the detector can trust the tables:
 * feature indices are < nfeatures, tree children point forward inside their
 * tree, leaves exist, and every rectangle (including tilted ones and the 3x3
 * LBP grid) lies inside the win_w x win_h window. Read-only after loading.
 */
#ifndef MIRA_ENGINES_FACE_CASCADE_INT_H
#define MIRA_ENGINES_FACE_CASCADE_INT_H

#include <stdint.h>

#include "engines/face/face.h"

enum { CASCADE_HAAR = 1, CASCADE_LBP = 2 };

typedef struct cascade_stage {
  int first;        /* index of the first tree in trees[] */
  int ntrees;
  float threshold;  /* stageThreshold - 1e-5f, as OpenCV stores it */
} cascade_stage;

typedef struct cascade_tree {
  int first_node;   /* index into nodes[] (and subsets[] for LBP) */
  int nnodes;
  int first_leaf;   /* index into leaves[]; nnodes + 1 leaves */
} cascade_tree;

typedef struct cascade_node {
  int left, right;  /* > 0: node index within the tree; <= 0: leaf -idx */
  int feature;
  float threshold;  /* HAAR only */
} cascade_node;

typedef struct cascade_haar_feature {
  int x[3], y[3], w[3], h[3];
  float weight[3];  /* 0 for an absent third rectangle */
  int nrects;
  int tilted;
} cascade_haar_feature;

typedef struct cascade_lbp_feature {
  int x, y, w, h;   /* one cell of the 3x3 grid */
} cascade_lbp_feature;

struct mira_cascade {
  int type;         /* CASCADE_HAAR or CASCADE_LBP */
  int win_w, win_h;
  int ncategories;  /* LBP: maxCatCount (256); HAAR: 0 */
  int subset_size;  /* ints of bitmask per LBP node: (ncategories + 31) / 32 */
  int max_nodes;    /* 1: every tree is a stump (OpenCV's fast path) */
  int has_tilted;

  int nstages, ntrees, nnodes, nleaves, nfeatures;
  cascade_stage *stages;
  cascade_tree *trees;
  cascade_node *nodes;
  float *leaves;
  int32_t *subsets; /* nnodes * subset_size (LBP) */
  cascade_haar_feature *haar;
  cascade_lbp_feature *lbp;
};

#endif
