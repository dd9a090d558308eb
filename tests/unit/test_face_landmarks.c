/* Unit tests for src/engines/face/shape.c: dlib-compatible 68-point landmarks.
 *
 * Parity: for every haarcascade_frontalface_default box in
 * tests/fixtures/faces/NAME.json, fit the landmarks on NAME.gray.png with
 * Debian's dlib model and compare with dlib 19.24's unrounded points
 * ("points_float") and rounded points ("points"); see the fixtures README.
 * Robustness: truncated and byte-flipped copies of the model load with
 * MIRA_EINVAL or succeed, never crash (run under ASan). Threads: four
 * threads sharing one model give identical results.
 *
 * The model comes from Debian's libdlib-data (scripts/setup installs it), so
 * a missing model is a failure, not a skip.
 */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/error.h"
#include "engines/face/face.h"
#include "engines/image/gray.h"

#define MEAN_TOL_PX 1.5   /* the bar for the mean error against dlib */
#define EXACT_TOL_PX 1e-4 /* dlib's points_float are printed with 6 decimals */
#define NTHREADS 4
#define MAX_SETS 32
#define NFLIPS 36 /* each loaded mutant parses 100 MB: keep the ASan run under a minute */

static const char *images[] = {"astronaut", "230501201_1", "inpaint_basics", "messi5",
                               "Basic_Linear_Transform_Tutorial_gamma_correction"};
#define NIMAGES (sizeof images / sizeof *images)

typedef struct lmset {
  const mira_gray *img;
  mira_face_box box;
  mira_point ref[MIRA_FACE_POINTS];    /* points_float */
  long ref_round[MIRA_FACE_POINTS][2]; /* points */
  mira_point got[MIRA_FACE_POINTS];
} lmset;

static char fixdir[1024];
static mira_gray grays[NIMAGES];
static lmset sets[MAX_SETS];
static int nsets;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void find_fixtures(void) {
  const char *suffix = "tests/unit/test_face_landmarks.c";
  size_t n = strlen(__FILE__), s = strlen(suffix);
  size_t keep = n >= s && strcmp(__FILE__ + n - s, suffix) == 0 ? n - s : 0;
  snprintf(fixdir, sizeof fixdir, "%.*stests/fixtures/faces/", (int)keep, __FILE__);
}

/* Reads NAME.json and NAME.gray.png into sets[]. */
static void load_fixture(size_t k) {
  char path[1200], err[256] = "";
  snprintf(path, sizeof path, "%s%s.gray.png", fixdir, images[k]);
  int rc = mira_gray_load_png(path, &grays[k], err, sizeof err);
  CHECK_INT("landmarks-2.0 gray", rc, 0);
  if (rc) {
    fprintf(stderr, "%s: %s\n", path, err);
    return;
  }
  snprintf(path, sizeof path, "%s%s.json", fixdir, images[k]);
  json_error_t jerr;
  json_t *doc = json_load_file(path, 0, &jerr);
  CHECK("landmarks-2.0 json", doc != NULL);
  if (!doc) {
    fprintf(stderr, "%s: %s\n", path, jerr.text);
    return;
  }
  json_t *lms = json_object_get(doc, "landmarks");
  CHECK("landmarks-2.0 landmarks array", json_is_array(lms));
  size_t i;
  json_t *e;
  json_array_foreach(lms, i, e) {
    if (nsets >= MAX_SETS) break;
    lmset *s = &sets[nsets];
    json_t *det = json_object_get(e, "detection"), *pf = json_object_get(e, "points_float"),
           *pr = json_object_get(e, "points");
    CHECK_INT("landmarks-2.0 detection", json_array_size(det), 4);
    CHECK_INT("landmarks-2.0 points_float", json_array_size(pf), MIRA_FACE_POINTS);
    CHECK_INT("landmarks-2.0 points", json_array_size(pr), MIRA_FACE_POINTS);
    if (json_array_size(det) != 4 || json_array_size(pf) != MIRA_FACE_POINTS ||
        json_array_size(pr) != MIRA_FACE_POINTS)
      continue;
    s->img = &grays[k];
    s->box.x = (int)json_integer_value(json_array_get(det, 0));
    s->box.y = (int)json_integer_value(json_array_get(det, 1));
    s->box.w = (int)json_integer_value(json_array_get(det, 2));
    s->box.h = (int)json_integer_value(json_array_get(det, 3));
    for (int p = 0; p < MIRA_FACE_POINTS; p++) {
      s->ref[p].x = json_number_value(json_array_get(json_array_get(pf, p), 0));
      s->ref[p].y = json_number_value(json_array_get(json_array_get(pf, p), 1));
      s->ref_round[p][0] = (long)json_integer_value(json_array_get(json_array_get(pr, p), 0));
      s->ref_round[p][1] = (long)json_integer_value(json_array_get(json_array_get(pr, p), 1));
    }
    nsets++;
  }
  json_decref(doc);
}

/* ---- 2: parity with dlib ---- */

static void test_parity(const mira_shape_model *m) {
  double worst_mean = 0, worst_max = 0;
  int rounded_ok = 0, rounded_total = 0;
  for (int k = 0; k < nsets; k++) {
    lmset *s = &sets[k];
    mira_face_landmarks(m, s->img, &s->box, s->got);
    double sum = 0, mx = 0;
    for (int p = 0; p < MIRA_FACE_POINTS; p++) {
      double d = hypot(s->got[p].x - s->ref[p].x, s->got[p].y - s->ref[p].y);
      sum += d;
      if (d > mx) mx = d;
      rounded_total++;
      rounded_ok += (long)floor(s->got[p].x + 0.5) == s->ref_round[p][0] &&
                    (long)floor(s->got[p].y + 0.5) == s->ref_round[p][1];
    }
    double mean = sum / MIRA_FACE_POINTS;
    printf("landmarks: set %2d box [%d,%d,%d,%d]: mean %.3g px, max %.3g px\n", k, s->box.x,
           s->box.y, s->box.w, s->box.h, mean, mx);
    CHECK("landmarks-2.1 mean error <= 1.5 px", mean <= MEAN_TOL_PX);
    CHECK("landmarks-2.2 max error within dlib's printed precision", mx <= EXACT_TOL_PX);
    if (mean > worst_mean) worst_mean = mean;
    if (mx > worst_max) worst_max = mx;
  }
  printf("landmarks: %d sets, worst mean %.3g px, worst max %.3g px, rounded points equal %d/%d\n",
         nsets, worst_mean, worst_max, rounded_ok, rounded_total);
  CHECK_INT("landmarks-2.3 sets (README: 12)", nsets, 12);
  CHECK_INT("landmarks-2.4 rounded points equal dlib's", rounded_ok, rounded_total);

  /* Speed: fits per second over all sets. */
  mira_point tmp[MIRA_FACE_POINTS];
  int reps = 20;
  double t0 = now_s();
  for (int r = 0; r < reps; r++)
    for (int k = 0; k < nsets; k++) mira_face_landmarks(m, sets[k].img, &sets[k].box, tmp);
  double dt = now_s() - t0;
  if (nsets) printf("landmarks: %.1f us per fit\n", dt * 1e6 / (reps * nsets));
}

/* ---- 3: loader robustness ---- */

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = n > 0 ? malloc((size_t)n) : NULL;
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *len = b ? (size_t)n : 0;
  return b;
}

/* A loaded mutant must still fit without crashing. */
static void exercise(const mira_shape_model *m) {
  int n = mira_shape_model_points(m);
  mira_point *pts = calloc((size_t)(n > 0 ? n : 1), sizeof *pts);
  if (nsets && pts) mira_face_landmarks(m, sets[0].img, &sets[0].box, pts);
  free(pts);
}

static void test_robustness(void) {
  size_t len;
  unsigned char *buf = slurp(MIRA_FACE_DEFAULT_SHAPE_MODEL, &len);
  CHECK("landmarks-3.0 model readable", buf != NULL);
  if (!buf) return;
  char err[256];
  mira_shape_model *m = NULL;

  /* Exact messages for the common cases. */
  int rc = mira_shape_model_load_mem(buf, 0, &m, err, sizeof err);
  CHECK_INT("landmarks-3.1 empty", rc, MIRA_EINVAL);
  CHECK_STR("landmarks-3.1 empty message", err,
            "shape model: truncated integer in version at byte 0");
  unsigned char v2[] = {0x01, 0x02};
  rc = mira_shape_model_load_mem(v2, sizeof v2, &m, err, sizeof err);
  CHECK_INT("landmarks-3.2 version 2", rc, MIRA_EINVAL);
  CHECK_STR("landmarks-3.2 version message", err,
            "shape model: unknown shape_predictor version in version at byte 2");
  CHECK("landmarks-3.2 out untouched", m == NULL);
  rc = mira_shape_model_load("/nonexistent/shape.dat", &m, err, sizeof err);
  CHECK_INT("landmarks-3.3 missing file", rc, MIRA_ENOENT);

  /* Truncations: every prefix must fail cleanly. */
  size_t cuts[] = {1,    2,    3,     5,       8,       13,      50,         100,     300,
                   1000, 4096, 65536, 1000003, len / 3, len / 2, len - 1000, len - 9, len - 1};
  int bad = 0;
  for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
    if (cuts[i] >= len) continue;
    m = NULL;
    err[0] = 0;
    rc = mira_shape_model_load_mem(buf, cuts[i], &m, err, sizeof err);
    if (rc != MIRA_EINVAL || m != NULL || strncmp(err, "shape model: ", 13) != 0) {
      bad++;
      fprintf(stderr, "landmarks-3.4: cut at %zu: rc %d, message \"%s\"\n", cuts[i], rc, err);
    }
    mira_shape_model_free(m);
  }
  CHECK_INT("landmarks-3.4 truncated copies rejected", bad, 0);
  m = NULL;
  rc = mira_shape_model_load_mem(buf, len - 1, &m, err, sizeof err);
  CHECK_STR("landmarks-3.4 message of the last cut", err,
            "shape model: truncated integer in deltas[14][499] at byte 99693935");
  mira_shape_model_free(m);

  /* Byte flips in the header and the count areas: MIRA_EINVAL or success. */
  uint32_t seed = 12345;
  int ok = 0, rejected = 0;
  bad = 0;
  for (int i = 0; i < NFLIPS; i++) {
    seed = seed * 1103515245u + 12345u;
    size_t pos;
    if (i < 18)
      pos = (seed >> 8) % 64; /* version, initial_shape, first counts */
    else if (i < 28)
      pos = 64 + (seed >> 8) % 4096; /* first trees: split and leaf counts */
    else
      pos = len - 1 - (seed >> 8) % 40000; /* anchor_idx and deltas */
    unsigned char old = buf[pos];
    buf[pos] ^= (unsigned char)(1u << ((seed >> 4) & 7)) | (i & 1 ? 0x80 : 0);
    m = NULL;
    rc = mira_shape_model_load_mem(buf, len, &m, err, sizeof err);
    if (rc == 0) {
      ok++;
      exercise(m);
    } else if (rc == MIRA_EINVAL && m == NULL) {
      rejected++;
    } else {
      bad++;
      fprintf(stderr, "landmarks-3.5: flip at %zu: rc %d\n", pos, rc);
    }
    mira_shape_model_free(m);
    buf[pos] = old;
  }
  printf("landmarks: %d byte flips: %d loaded, %d rejected\n", NFLIPS, ok, rejected);
  CHECK_INT("landmarks-3.5 flipped copies: EINVAL or success", bad, 0);
  CHECK("landmarks-3.5 some flips rejected", rejected > 0);
  free(buf);
}

/* ---- 4: threads ---- */

typedef struct job {
  const mira_shape_model *m;
  int mismatches;
} job;

static void *worker(void *arg) {
  job *j = arg;
  mira_point pts[MIRA_FACE_POINTS];
  for (int r = 0; r < 10; r++)
    for (int k = 0; k < nsets; k++) {
      mira_face_landmarks(j->m, sets[k].img, &sets[k].box, pts);
      if (memcmp(pts, sets[k].got, sizeof pts) != 0) j->mismatches++;
    }
  return NULL;
}

static void test_threads(const mira_shape_model *m) {
  pthread_t th[NTHREADS];
  job jobs[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    jobs[i] = (job){m, 0};
    CHECK_INT("landmarks-4.1 thread start", pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
  }
  int mism = 0;
  for (int i = 0; i < NTHREADS; i++) {
    pthread_join(th[i], NULL);
    mism += jobs[i].mismatches;
  }
  CHECK_INT("landmarks-4.2 threads agree with the single-threaded fit", mism, 0);
}

/* ---- 5: a tiny hand-made model ---- */

/* dlib's encodings: a control byte (byte count, bit 7 negative) and the bytes
 * least significant first; floats as (mantissa, exponent) integers. */
typedef struct enc {
  unsigned char b[512];
  size_t n;
} enc;

static void put_int(enc *e, long long v) {
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  size_t at = e->n++;
  unsigned char size = 0;
  do {
    e->b[e->n++] = (unsigned char)(u & 0xFF);
    u >>= 8;
    size++;
  } while (u);
  e->b[at] = (unsigned char)(size | (v < 0 ? 0x80 : 0));
}

static void put_float(enc *e, float f) {
  int ex;
  float fr = frexpf(f, &ex);
  put_int(e, (long long)ldexpf(fr, 24));
  put_int(e, ex - 24);
}

/* 2 parts, 1 cascade of 1 tree with 1 split (feature 0 vs feature split_idx2)
 * and nleaves leaves of +0.1 and -0.1; features sit on the two parts. */
static void tiny_model(enc *e, unsigned split_idx2, unsigned nleaves) {
  e->n = 0;
  put_int(e, 1);                  /* version */
  put_int(e, -4), put_int(e, -1); /* initial_shape: 4x1, newer (negated) format */
  put_float(e, 0.25f), put_float(e, 0.5f), put_float(e, 0.75f), put_float(e, 0.5f);
  put_int(e, 1), put_int(e, 1); /* forests: 1 level of 1 tree */
  put_int(e, 1);                /* splits */
  put_int(e, 0), put_int(e, split_idx2), put_float(e, 0.0f);
  put_int(e, nleaves);
  for (unsigned l = 0; l < nleaves; l++) {
    put_int(e, 4), put_int(e, 1);
    for (int k = 0; k < 4; k++) put_float(e, l == 0 ? 0.1f : -0.1f);
  }
  put_int(e, 1), put_int(e, 2), put_int(e, 0), put_int(e, 1); /* anchor_idx */
  put_int(e, 1), put_int(e, 2);                               /* deltas */
  for (int k = 0; k < 4; k++) put_float(e, 0.0f);
}

static void test_tiny(void) {
  enc e;
  char err[256] = "";
  mira_shape_model *m = NULL;
  unsigned char px[100];
  mira_gray g = {px, 10, 10, 10};
  mira_face_box box = {0, 0, 10, 10};
  mira_point pt[2];

  tiny_model(&e, 1, 2);
  int rc = mira_shape_model_load_mem(e.b, e.n, &m, err, sizeof err);
  CHECK_INT("landmarks-5.1 tiny model loads", rc, 0);
  if (rc) {
    fprintf(stderr, "%s\n", err);
    return;
  }
  CHECK_INT("landmarks-5.1 points", mira_shape_model_points(m), 2);
  /* Bright left half: feature 0 (x 2.25 -> 2) - feature 1 (x 6.75 -> 7) > 0,
   * so the left leaf (+0.1) wins; mirrored, the right one (-0.1). */
  for (int i = 0; i < 100; i++) px[i] = i % 10 < 5 ? 200 : 0;
  mira_face_landmarks(m, &g, &box, pt);
  CHECK("landmarks-5.2 left leaf",
        fabs(pt[0].x - 0.35 * 9) < 1e-5 && fabs(pt[0].y - 0.6 * 9) < 1e-5 &&
            fabs(pt[1].x - 0.85 * 9) < 1e-5 && fabs(pt[1].y - 0.6 * 9) < 1e-5);
  for (int i = 0; i < 100; i++) px[i] = i % 10 < 5 ? 0 : 200;
  mira_face_landmarks(m, &g, &box, pt);
  CHECK("landmarks-5.3 right leaf",
        fabs(pt[0].x - 0.15 * 9) < 1e-5 && fabs(pt[1].y - 0.4 * 9) < 1e-5);
  mira_shape_model_free(m);

  m = NULL;
  tiny_model(&e, 2, 2);
  rc = mira_shape_model_load_mem(e.b, e.n, &m, err, sizeof err);
  CHECK_INT("landmarks-5.4 split beyond the features", rc, MIRA_EINVAL);
  CHECK_STR("landmarks-5.4 message", err,
            "shape model: feature index out of range in forests split[0][0][0] at byte 130");
  CHECK("landmarks-5.4 out untouched", m == NULL);
  tiny_model(&e, 1, 3);
  rc = mira_shape_model_load_mem(e.b, e.n, &m, err, sizeof err);
  CHECK_INT("landmarks-5.5 leaves != splits + 1", rc, MIRA_EINVAL);
  CHECK_STR("landmarks-5.5 message", err,
            "shape model: leaf count is not splits + 1 in forests leaf_values[0][0] at byte 46");
  tiny_model(&e, 1, 2);
  e.b[e.n++] = 0;
  rc = mira_shape_model_load_mem(e.b, e.n, &m, err, sizeof err);
  CHECK_INT("landmarks-5.6 trailing byte", rc, MIRA_EINVAL);
  CHECK_STR("landmarks-5.6 message", err,
            "shape model: trailing bytes in shape_predictor at byte 130");
}

int main(void) {
  find_fixtures();
  char err[256] = "";
  mira_shape_model *m = NULL;
  double t0 = now_s();
  int rc = mira_shape_model_load(MIRA_FACE_DEFAULT_SHAPE_MODEL, &m, err, sizeof err);
  double dt = now_s() - t0;
  CHECK_INT("landmarks-1.1 load Debian's model", rc, 0);
  if (rc) {
    fprintf(stderr, "%s\n", err);
    return CHECK_EXIT();
  }
  printf("landmarks: model loaded in %.3f s\n", dt);
  CHECK_INT("landmarks-1.2 points", mira_shape_model_points(m), MIRA_FACE_POINTS);
  CHECK_INT("landmarks-1.3 points of NULL", mira_shape_model_points(NULL), 0);
  mira_shape_model_free(NULL);

  for (size_t k = 0; k < NIMAGES; k++) load_fixture(k);
  test_parity(m);
  test_threads(m);
  test_tiny();
  test_robustness();

  mira_shape_model_free(m);
  for (size_t k = 0; k < NIMAGES; k++) mira_gray_free(&grays[k]);
  return CHECK_EXIT();
}
