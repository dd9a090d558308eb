/* Unit tests for engines/face detection (cascade.c, detect.c) and
 * engines/image/gray.c: parity with OpenCV 4.6's detectMultiScale on the
 * fixtures of tests/fixtures/faces (see its README), hostile cascade files,
 * and sharing one cascade between threads. */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "check.h"
#include "core/crypto.h"
#include "core/error.h"
#include "engines/face/face.h"
#include "engines/image/gray.h"

#define MIN_IOU 0.8 /* acceptance: every reference box matched at least this well */

static const char *const CASCADES[3][2] = {
    {"haarcascade_frontalface_default", "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"},
    {"haarcascade_frontalface_alt2", "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"},
    {"lbpcascade_frontalface_improved", "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml"},
};

static char fixdir[1024];

static void locate_fixtures(void) {
  const char *me = __FILE__, *tail = "tests/unit/test_face_detect.c";
  size_t n = strlen(me), t = strlen(tail);
  size_t keep = n >= t && strcmp(me + n - t, tail) == 0 ? n - t : 0;
  snprintf(fixdir, sizeof fixdir, "%.*stests/fixtures/faces/", (int)keep, me);
}

static double iou(const mira_face_box *a, const int b[4]) {
  int x0 = a->x > b[0] ? a->x : b[0], y0 = a->y > b[1] ? a->y : b[1];
  int x1 = a->x + a->w < b[0] + b[2] ? a->x + a->w : b[0] + b[2];
  int y1 = a->y + a->h < b[1] + b[3] ? a->y + a->h : b[1] + b[3];
  double inter = x1 > x0 && y1 > y0 ? (double)(x1 - x0) * (y1 - y0) : 0;
  double uni = (double)a->w * a->h + (double)b[2] * b[3] - inter;
  return uni > 0 ? inter / uni : 0;
}

/* Greedy multiset matching by best IoU; returns the smallest IoU over the
 * reference boxes (1 when there are none, 0 when one is unmatched) and the
 * number of exact matches. */
static double match(const mira_face_box *got, size_t ngot, int (*ref)[4], size_t nref, int *exact) {
  int used_g[256] = {0}, used_r[256] = {0};
  double worst = 1;
  *exact = 0;
  if (ngot > 256 || nref > 256) return 0;
  for (size_t round = 0; round < nref; round++) {
    double best = -1;
    size_t bi = 0, bj = 0;
    for (size_t i = 0; i < ngot; i++)
      for (size_t j = 0; j < nref; j++)
        if (!used_g[i] && !used_r[j] && iou(&got[i], ref[j]) > best) best = iou(&got[i], ref[j]), bi = i, bj = j;
    if (best < 0) return 0;
    used_g[bi] = used_r[bj] = 1;
    if (best < worst) worst = best;
    if (got[bi].x == ref[bj][0] && got[bi].y == ref[bj][1] && got[bi].w == ref[bj][2] && got[bi].h == ref[bj][3])
      ++*exact;
  }
  return worst;
}

static mira_cascade *cascades[3];

static void test_load_all(void) {
  char err[256];
  for (int k = 0; k < 3; k++) {
    int rc = mira_cascade_load(CASCADES[k][1], &cascades[k], err, sizeof err);
    if (rc) fprintf(stderr, "%s: %s\n", CASCADES[k][0], err);
    CHECK_INT("detect-1.1", rc, 0);
  }
  /* every new-style cascade Debian ships loads */
  const char *dirs[2] = {"/usr/share/opencv4/haarcascades", "/usr/share/opencv4/lbpcascades"};
  for (int d = 0; d < 2; d++) {
    DIR *dir = opendir(dirs[d]);
    if (!dir) continue;
    struct dirent *e;
    while ((e = readdir(dir))) {
      if (!strstr(e->d_name, ".xml")) continue;
      char path[1024];
      snprintf(path, sizeof path, "%s/%s", dirs[d], e->d_name);
      mira_cascade *c = NULL;
      int rc = mira_cascade_load(path, &c, err, sizeof err);
      if (strstr(e->d_name, "licence_plate_rus_16stages")) { /* old opencv-haar-classifier format */
        CHECK_INT("detect-1.2", rc, MIRA_EINVAL);
        CHECK("detect-1.2", strstr(err, "old-style") != NULL);
      } else {
        if (rc) fprintf(stderr, "%s: %s\n", path, err);
        CHECK_INT("detect-1.3", rc, 0);
      }
      mira_cascade_free(c);
    }
    closedir(dir);
  }
}

static void test_fixture(const char *json_name) {
  char path[1200], err[256];
  snprintf(path, sizeof path, "%s%s", fixdir, json_name);
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  CHECK("detect-2.1", root != NULL);
  if (!root) return;
  const char *gray_name = json_string_value(json_object_get(root, "gray_image"));
  const char *want_sha = json_string_value(json_object_get(root, "gray_sha256_of_pixels"));
  snprintf(path, sizeof path, "%s%s", fixdir, gray_name ? gray_name : "?");
  mira_gray g = {0};
  int rc = mira_gray_load_png(path, &g, err, sizeof err);
  CHECK_INT("detect-2.2", rc, 0);
  if (rc) {
    fprintf(stderr, "%s\n", err);
    json_decref(root);
    return;
  }
  CHECK_INT("detect-2.3", g.w, json_integer_value(json_object_get(root, "width")));
  CHECK_INT("detect-2.3", g.h, json_integer_value(json_object_get(root, "height")));
  char hex[MIRA_SHA256_HEX_SIZE];
  mira_sha256_hex(g.px, (size_t)g.w * g.h, hex);
  CHECK_STR("detect-2.4", hex, want_sha);

  json_t *dets = json_object_get(root, "detections");
  for (int k = 0; k < 3; k++) {
    if (!cascades[k]) continue;
    json_t *arr = json_object_get(dets, CASCADES[k][0]);
    size_t nref = json_array_size(arr);
    int(*ref)[4] = calloc(nref + 1, sizeof *ref);
    for (size_t i = 0; i < nref; i++)
      for (int q = 0; q < 4; q++) ref[i][q] = (int)json_integer_value(json_array_get(json_array_get(arr, i), q));
    mira_face_box *boxes = NULL;
    size_t n = 0;
    rc = mira_face_detect(cascades[k], &g, &mira_face_detect_defaults, &boxes, &n, err, sizeof err);
    CHECK_INT("detect-2.5", rc, 0);
    int exact = 0;
    double worst = n == nref ? match(boxes, n, ref, nref, &exact) : 0;
    printf("%-52s %-32s ref %zu got %zu exact %d min IoU %.3f\n", gray_name, CASCADES[k][0], nref, n, exact,
           nref ? worst : 1.0);
    if (n != nref || worst < MIN_IOU) {
      for (size_t i = 0; i < n; i++)
        printf("    got [%d %d %d %d]\n", boxes[i].x, boxes[i].y, boxes[i].w, boxes[i].h);
      for (size_t i = 0; i < nref; i++) printf("    ref [%d %d %d %d]\n", ref[i][0], ref[i][1], ref[i][2], ref[i][3]);
    }
    CHECK_INT("detect-2.6", n, nref);
    CHECK("detect-2.7", worst >= MIN_IOU);
    CHECK_INT("detect-2.8", exact, nref); /* holds today: boxes are OpenCV's to the pixel */
    free(boxes);
    free(ref);
  }
  mira_gray_free(&g);
  json_decref(root);
}

static void test_fixtures(void) {
  DIR *dir = opendir(fixdir);
  CHECK("detect-2.0", dir != NULL);
  if (!dir) return;
  int seen = 0;
  struct dirent *e;
  char names[32][256];
  while ((e = readdir(dir)) && seen < 32) {
    size_t l = strlen(e->d_name);
    if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0) snprintf(names[seen++], 256, "%s", e->d_name);
  }
  closedir(dir);
  CHECK_INT("detect-2.0", seen, 5);
  for (int i = 0; i < seen; i++) test_fixture(names[i]);
}

/* ---- hostile cascades ---- */

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  if (b) b[n] = 0;
  *len = (size_t)n;
  return b;
}

/* Replaces the first occurrence of `from` in xml by `to` (new buffer). */
static char *patch(const char *xml, const char *from, const char *to) {
  const char *at = strstr(xml, from);
  if (!at) return NULL;
  size_t a = (size_t)(at - xml), lf = strlen(from), lt = strlen(to), n = strlen(xml);
  char *o = malloc(n - lf + lt + 1);
  memcpy(o, xml, a);
  memcpy(o + a, to, lt);
  memcpy(o + a + lt, at + lf, n - a - lf + 1);
  return o;
}

static void expect_bad(const char *id, const char *xml, size_t len, const char *want_msg) {
  char err[256] = "";
  mira_cascade *c = (mira_cascade *)0x1;
  int rc = mira_cascade_load_mem(xml, len, &c, err, sizeof err);
  CHECK_INT(id, rc, MIRA_EINVAL);
  CHECK(id, c == (mira_cascade *)0x1); /* untouched on failure */
  if (want_msg && !strstr(err, want_msg)) {
    fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", id, err, want_msg);
    CHECK(id, strstr(err, want_msg) != NULL);
  }
}

static void test_corrupt(void) {
  size_t len;
  char *haar = read_all(CASCADES[0][1], &len);
  size_t llen;
  char *lbp = read_all(CASCADES[2][1], &llen);
  CHECK("detect-3.0", haar && lbp);
  if (!haar || !lbp) return;
  /* truncated at many points */
  for (size_t cut = 0; cut < len; cut += len / 97 + 1) expect_bad("detect-3.1", haar, cut, NULL);
  for (size_t cut = 0; cut < llen; cut += llen / 53 + 1) expect_bad("detect-3.1", lbp, cut, NULL);

  struct {
    const char *id, *from, *to, *msg;
    int lbp;
  } cases[] = {
      {"detect-3.2", "<stageType>BOOST", "<stageType>GAB", "stageType", 0},
      {"detect-3.3", "<featureType>HAAR", "<featureType>HOG", "featureType", 0},
      {"detect-3.4", "<height>24</height>", "<height>x</height>", "width and height", 0},
      {"detect-3.5", "<width>24</width>", "<width>-3</width>", "width and height", 0},
      {"detect-3.6", "0 -1 0 -3.1511999666690826e-02", "0 -1 999999 -3.1511999666690826e-02", "featureIdx 999999", 0},
      {"detect-3.7", "0 -1 0 -3.1511999666690826e-02", "0 -1 0 abc", "internalNodes", 0},
      {"detect-3.8", "0 -1 0 -3.1511999666690826e-02", "0 -1 0", "internalNodes", 0},
      {"detect-3.9", "0 -1 0 -3.1511999666690826e-02", "0 -7 0 -3.1511999666690826e-02", "child -7", 0},
      {"detect-3.10", "0 -1 0 -3.1511999666690826e-02", "0 3 0 -3.1511999666690826e-02", "child 3", 0},
      {"detect-3.11", "2.0875380039215088e+00 -2.2172100543975830e+00", "2.0875380039215088e+00", "leafValues", 0},
      {"detect-3.12", "2.0875380039215088e+00 -2.2172100543975830e+00", "2.08 -2.2 1.0", "leafValues", 0},
      {"detect-3.13", "6 4 12 9 -1.</_>", "6 4 12 99 -1.</_>", "outside", 0},
      {"detect-3.14", "6 4 12 9 -1.</_>", "6 4 12 -1.</_>", "x y w h weight", 0},
      {"detect-3.15", "<stageThreshold>-5.0425500869750977e+00", "<stageThreshold>nan", "stageThreshold", 0},
      {"detect-3.16", "<features>", "<featurez>", NULL, 0},
      {"detect-3.17", "<stages>", "<stagez>", NULL, 0},
      {"detect-3.18", "<internalNodes>", "<internalNodez>", NULL, 0},
      {"detect-3.19", "<maxCatCount>256", "<maxCatCount>16", "maxCatCount", 1},
      {"detect-3.20", "0 -1 26 -1 -1 -17409 -1 -1 -1 -1 -1", "0 -1 26 -1 -1 -17409 -1 -1 -1 -1", "internalNodes", 1},
      {"detect-3.21", "0 -1 26 -1 -1 -17409 -1 -1 -1 -1 -1", "0 -1 26 -1 -1 -17409 -1 -1 -1 -1 99999999999",
       "internalNodes", 1},
      {"detect-3.22", "0 0 1 1</rect>", "0 0 20 20</rect>", "outside", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *x = patch(cases[i].lbp ? lbp : haar, cases[i].from, cases[i].to);
    CHECK(cases[i].id, x != NULL);
    if (!x) continue;
    expect_bad(cases[i].id, x, strlen(x), cases[i].msg);
    free(x);
  }
  expect_bad("detect-3.23", "not xml at all", 14, "malformed XML");
  expect_bad("detect-3.24", "<opencv_storage></opencv_storage>", 33, "empty");
  expect_bad("detect-3.25", "<x/>", 4, "opencv_storage");
  char err[64];
  mira_cascade *c = NULL;
  CHECK_INT("detect-3.26", mira_cascade_load("/nonexistent/cascade.xml", &c, err, sizeof err), MIRA_ENOENT);
  mira_cascade_free(NULL);
  free(haar);
  free(lbp);
}

/* ---- bad arguments ---- */

static void test_args(void) {
  char err[128];
  uint8_t px[64 * 64] = {0};
  mira_gray g = {px, 64, 64, 64};
  mira_face_box *b = NULL;
  size_t n = 0;
  mira_face_detect_params p = mira_face_detect_defaults;
  p.scale_factor = 1.0;
  CHECK_INT("detect-4.1", mira_face_detect(cascades[0], &g, &p, &b, &n, err, sizeof err), MIRA_EINVAL);
  mira_gray bad = {px, 0, 64, 64};
  CHECK_INT("detect-4.2", mira_face_detect(cascades[0], &bad, &mira_face_detect_defaults, &b, &n, err, sizeof err),
            MIRA_EINVAL);
  /* image smaller than the window: no boxes, no error */
  mira_gray tiny = {px, 10, 10, 10};
  CHECK_INT("detect-4.3", mira_face_detect(cascades[0], &tiny, &mira_face_detect_defaults, &b, &n, err, sizeof err), 0);
  CHECK_INT("detect-4.3", n, 0);
  /* a flat image has no variance: no boxes */
  CHECK_INT("detect-4.4", mira_face_detect(cascades[0], &g, &mira_face_detect_defaults, &b, &n, err, sizeof err), 0);
  CHECK_INT("detect-4.4", n, 0);
  free(b);
  /* rgb formula */
  uint8_t rgb[6] = {255, 0, 0, 10, 200, 30};
  mira_gray o;
  CHECK_INT("detect-4.5", mira_gray_from_rgb(rgb, 2, 1, 6, &o), 0);
  CHECK_INT("detect-4.5", o.px[0], (9798 * 255 + 16384) >> 15);
  CHECK_INT("detect-4.5", o.px[1], (9798 * 10 + 19235 * 200 + 3735 * 30 + 16384) >> 15);
  mira_gray_free(&o);
}

/* ---- sharing ---- */

typedef struct job {
  const mira_cascade *c;
  const mira_gray *g;
  mira_face_box *boxes;
  size_t n;
  int rc;
} job;

static void *worker(void *arg) {
  job *j = arg;
  char err[128];
  j->rc = mira_face_detect(j->c, j->g, &mira_face_detect_defaults, &j->boxes, &j->n, err, sizeof err);
  return NULL;
}

static void test_threads(void) {
  char path[1200], err[256];
  snprintf(path, sizeof path, "%sinpaint_basics.gray.png", fixdir);
  mira_gray g;
  if (mira_gray_load_png(path, &g, err, sizeof err) || !cascades[0]) {
    CHECK("detect-5.0", 0);
    return;
  }
  job ref = {cascades[0], &g};
  worker(&ref);
  job jobs[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    jobs[i] = (job){cascades[0], &g};
    pthread_create(&th[i], NULL, worker, &jobs[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK_INT("detect-5.1", jobs[i].rc, 0);
    CHECK_INT("detect-5.2", jobs[i].n, ref.n);
    CHECK("detect-5.3", jobs[i].n == ref.n && memcmp(jobs[i].boxes, ref.boxes, ref.n * sizeof *ref.boxes) == 0);
    free(jobs[i].boxes);
  }
  CHECK("detect-5.4", ref.n > 0);
  free(ref.boxes);
  mira_gray_free(&g);
}

/* ---- timing (informational) ---- */

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void report_speed(void) {
  char path[1200], err[256];
  snprintf(path, sizeof path, "%sastronaut.gray.png", fixdir);
  mira_gray a;
  if (mira_gray_load_png(path, &a, err, sizeof err)) return;
  /* 1024x1024: the 512x512 fixture tiled 2x2 */
  mira_gray big = {malloc(1024 * 1024), 1024, 1024, 1024};
  for (int y = 0; y < 1024; y++)
    for (int x = 0; x < 1024; x++) big.px[y * 1024 + x] = a.px[(y % 512) * 512 + x % 512];
  for (int k = 0; k < 3; k++) {
    if (!cascades[k]) continue;
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
      mira_face_box *b;
      size_t n;
      double t0 = now_ms();
      mira_face_detect(cascades[k], &big, &mira_face_detect_defaults, &b, &n, err, sizeof err);
      double t = now_ms() - t0;
      if (t < best) best = t;
      if (r == 0) {
        printf("boxes 1024x1024 %s:", CASCADES[k][0]);
        for (size_t i = 0; i < n; i++) printf(" [%d %d %d %d]", b[i].x, b[i].y, b[i].w, b[i].h);
        printf("\n");
      }
      free(b);
    }
    printf("speed 1024x1024 %-32s %.1f ms\n", CASCADES[k][0], best);
  }
  free(big.px);
  mira_gray_free(&a);
}

int main(void) {
  locate_fixtures();
  test_load_all();
  test_fixtures();
  test_corrupt();
  test_args();
  test_threads();
  if (getenv("MIRA_FACE_SPEED")) report_speed();
  for (int k = 0; k < 3; k++) mira_cascade_free(cascades[k]);
  return CHECK_EXIT();
}
