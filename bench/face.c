/* bench/face: Mira's side of the face bench (see bench/README.md).
 *
 * 1. Detection: mira_face_detect with OpenCV's defaults (scale 1.1, 3
 *    neighbours, min 30x30) on one 1024x1024 gray PNG, for
 *    haarcascade_frontalface_default and lbpcascade_frontalface_improved.
 *    One thread: one warm-up, then the median of BENCH_RUNS detections.
 *    All cores: BENCH_THREADS threads (default: cores online), each with its
 *    own copy of the image, each detecting DET_REPS times; ms per detection
 *    = wall time / detections (median of BENCH_RUNS such rounds).
 * 2. Landmarks: mira_face_landmarks on the boxes of the boxes file (the
 *    fixtures' default-cascade boxes). One run = LM_PASSES passes over all
 *    boxes; us per fit = run time / fits, median of BENCH_RUNS runs after a
 *    warm-up run. All cores: each thread does a whole run at once.
 *
 * Prints machine-readable lines for bench/face, which makes the table:
 *   build <flags>
 *   det <cascade> <threads> <ms per detection>
 *   boxes <cascade> <x,y,w,h> ...          (sorted)
 *   lm <threads> <us per fit>
 *   lmhash <fnv-1a of the rounded points>  (compared with the dlib harness)
 *
 * Usage: bench_face IMAGE.png BOXES.txt   (lines "PATH X Y W H") */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "timing.h"

#include "engines/face/face.h"

#ifndef MIRA_BUILD_FLAGS
#define MIRA_BUILD_FLAGS "?"
#endif

enum { DEFAULT_RUNS = 5, MAX_THREADS = 256, MAX_BOXES = 256, MAX_IMAGES = 32, DET_REPS = 2, LM_PASSES = 50 };

static const char *const cascades[][2] = {
    {"haarcascade_frontalface_default", "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"},
    {"lbpcascade_frontalface_improved", "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml"},
};


static int cmp_box(const void *a, const void *b) {
  const mira_face_box *x = a, *y = b;
  if (x->x != y->x) return (x->x > y->x) - (x->x < y->x);
  if (x->y != y->y) return (x->y > y->y) - (x->y < y->y);
  if (x->w != y->w) return (x->w > y->w) - (x->w < y->w);
  return (x->h > y->h) - (x->h < y->h);
}

static void die(const char *what, const char *err) {
  fprintf(stderr, "bench_face: %s: %s\n", what, err);
  exit(1);
}

/* ---- the work, one thread's share */

static const mira_cascade *cur_cascade;
static const mira_shape_model *model;
static mira_gray images[MAX_IMAGES];
static char image_paths[MAX_IMAGES][512];
static int nimages;
static struct {
  int img;
  mira_face_box box;
} lm_boxes[MAX_BOXES];
static int nboxes;

static void detect_once(const mira_gray *img) {
  mira_face_box *boxes;
  size_t n;
  char err[256];
  if (mira_face_detect(cur_cascade, img, &mira_face_detect_defaults, &boxes, &n, err, sizeof err))
    die("detect", err);
  free(boxes);
}

static volatile double lm_sink;

static void landmarks_pass(void) {
  mira_point pts[MIRA_FACE_POINTS];
  double s = 0;
  for (int b = 0; b < nboxes; b++) {
    mira_face_landmarks(model, &images[lm_boxes[b].img], &lm_boxes[b].box, pts);
    s += pts[0].x;
  }
  lm_sink = s;
}

typedef struct worker {
  pthread_t th;
  pthread_barrier_t *go;
  int det;            /* 1: detection on img, 0: landmarks */
  mira_gray img;      /* this thread's own copy */
} worker;

static void *worker_main(void *p) {
  worker *w = p;
  pthread_barrier_wait(w->go);
  if (w->det)
    for (int r = 0; r < DET_REPS; r++) detect_once(&w->img);
  else
    for (int r = 0; r < LM_PASSES; r++) landmarks_pass();
  pthread_barrier_wait(w->go);
  return NULL;
}

/* Wall time of nt threads each doing one share at once. */
static double round_wall(worker *w, int nt) {
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, (unsigned)nt + 1);
  for (int i = 0; i < nt; i++) {
    w[i].go = &go;
    pthread_create(&w[i].th, NULL, worker_main, &w[i]);
  }
  pthread_barrier_wait(&go);
  double t0 = now_s();
  pthread_barrier_wait(&go);
  double t = now_s() - t0;
  for (int i = 0; i < nt; i++) pthread_join(w[i].th, NULL);
  pthread_barrier_destroy(&go);
  return t;
}

static int image_index(const char *path) {
  for (int i = 0; i < nimages; i++)
    if (!strcmp(image_paths[i], path)) return i;
  if (nimages == MAX_IMAGES) die(path, "too many images");
  char err[256];
  if (mira_gray_load_png(path, &images[nimages], err, sizeof err)) die(path, err);
  snprintf(image_paths[nimages], sizeof image_paths[0], "%s", path);
  return nimages++;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bench_face IMAGE.png BOXES.txt\n");
    return 2;
  }
  int runs = DEFAULT_RUNS, nt = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (getenv("BENCH_RUNS")) runs = atoi(getenv("BENCH_RUNS"));
  if (getenv("BENCH_THREADS")) nt = atoi(getenv("BENCH_THREADS"));
  if (runs < 1) runs = 1;
  if (nt < 1) nt = 1;
  if (nt > MAX_THREADS) nt = MAX_THREADS;
  double *t = calloc((size_t)runs, sizeof *t);
  worker *w = calloc((size_t)nt, sizeof *w);
  char err[256];
  printf("build %s; cc %s\n", MIRA_BUILD_FLAGS, __VERSION__);

  mira_gray img;
  if (mira_gray_load_png(argv[1], &img, err, sizeof err)) die(argv[1], err);
  for (int i = 0; i < nt; i++) {
    w[i].img = img;
    w[i].img.stride = img.w;
    w[i].img.px = malloc((size_t)img.w * img.h);
    for (int y = 0; y < img.h; y++) memcpy(w[i].img.px + (size_t)y * img.w, img.px + (size_t)y * img.stride, (size_t)img.w);
  }

  /* ---- detection */
  for (size_t c = 0; c < sizeof cascades / sizeof cascades[0]; c++) {
    mira_cascade *cas;
    if (mira_cascade_load(cascades[c][1], &cas, err, sizeof err)) die(cascades[c][1], err);
    cur_cascade = cas;
    mira_face_box *boxes;
    size_t n;
    if (mira_face_detect(cas, &img, &mira_face_detect_defaults, &boxes, &n, err, sizeof err)) die("detect", err);
    qsort(boxes, n, sizeof *boxes, cmp_box);
    printf("boxes %s", cascades[c][0]);
    for (size_t i = 0; i < n; i++) printf(" %d,%d,%d,%d", boxes[i].x, boxes[i].y, boxes[i].w, boxes[i].h);
    printf("\n");
    free(boxes);
    for (int r = 0; r < runs; r++) {
      double t0 = now_s();
      detect_once(&img);
      t[r] = (now_s() - t0) * 1e3;
    }
    printf("det %s 1 %.3f\n", cascades[c][0], median(t, runs));
    for (int i = 0; i < nt; i++) w[i].det = 1;
    round_wall(w, nt); /* warm-up */
    for (int r = 0; r < runs; r++) t[r] = round_wall(w, nt) * 1e3 / (nt * DET_REPS);
    printf("det %s %d %.3f\n", cascades[c][0], nt, median(t, runs));
    fflush(stdout);
    mira_cascade_free(cas);
  }

  /* ---- landmarks */
  FILE *f = fopen(argv[2], "r");
  if (!f) die(argv[2], "cannot open");
  char path[512];
  int x, y, bw, bh;
  while (fscanf(f, "%511s %d %d %d %d", path, &x, &y, &bw, &bh) == 5) {
    if (nboxes == MAX_BOXES) die(argv[2], "too many boxes");
    lm_boxes[nboxes].img = image_index(path);
    lm_boxes[nboxes].box = (mira_face_box){x, y, bw, bh};
    nboxes++;
  }
  fclose(f);
  if (!nboxes) die(argv[2], "no boxes");
  mira_shape_model *m;
  if (mira_shape_model_load(MIRA_FACE_DEFAULT_SHAPE_MODEL, &m, err, sizeof err))
    die(MIRA_FACE_DEFAULT_SHAPE_MODEL, err);
  model = m;

  uint64_t h = 1469598103934665603ull; /* FNV-1a over the rounded points, as dlib rounds */
  mira_point pts[MIRA_FACE_POINTS];
  for (int b = 0; b < nboxes; b++) {
    mira_face_landmarks(m, &images[lm_boxes[b].img], &lm_boxes[b].box, pts);
    for (int i = 0; i < MIRA_FACE_POINTS; i++) {
      long v[2] = {(long)floor(pts[i].x + 0.5), (long)floor(pts[i].y + 0.5)};
      for (int k = 0; k < 2; k++) h = (h ^ (uint64_t)(int64_t)v[k]) * 1099511628211ull;
    }
  }
  printf("lmhash %016llx\n", (unsigned long long)h);

  for (int r = 0; r < LM_PASSES; r++) landmarks_pass(); /* warm-up */
  for (int r = 0; r < runs; r++) {
    double t0 = now_s();
    for (int p = 0; p < LM_PASSES; p++) landmarks_pass();
    t[r] = (now_s() - t0) * 1e6 / (LM_PASSES * nboxes);
  }
  printf("lm 1 %.3f\n", median(t, runs));
  for (int i = 0; i < nt; i++) w[i].det = 0;
  round_wall(w, nt);
  for (int r = 0; r < runs; r++) t[r] = round_wall(w, nt) * 1e6 / ((double)nt * LM_PASSES * nboxes);
  printf("lm %d %.3f\n", nt, median(t, runs));
  printf("input %dx%d; %d landmark boxes on %d images\n", img.w, img.h, nboxes, nimages);

  mira_shape_model_free(m);
  for (int i = 0; i < nt; i++) free(w[i].img.px);
  for (int i = 0; i < nimages; i++) mira_gray_free(&images[i]);
  mira_gray_free(&img);
  free(w);
  free(t);
  return 0;
}
