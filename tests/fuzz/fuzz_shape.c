/* libFuzzer target for dlib's shape_predictor reader (engines/face/shape.c).
 *
 * Each input is a serialized shape_predictor (.dat). A rejected one must give
 * a clean error (MIRA_EINVAL or MIRA_ENOMEM, with a message); an accepted one
 * fits landmarks in a fixed box of a 64x64 image, so the fitting loop is
 * fuzzed with every model the reader lets through, then also in a box that
 * hangs off the image. Any other outcome aborts, which libFuzzer reports as
 * a crash. Seeds come from make_shape_seed; run by scripts/fuzz.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "engines/face/face.h"

#define IMG_SIDE 64
#define MAX_POINTS 1024 /* shape.c's MAX_PARTS */

static uint8_t px[IMG_SIDE * IMG_SIDE];
static mira_point pts[MAX_POINTS];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  for (int y = 0; y < IMG_SIDE; y++)
    for (int x = 0; x < IMG_SIDE; x++) px[y * IMG_SIDE + x] = (uint8_t)((x * 4) ^ (y * 3));
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256] = "";
  mira_shape_model *m = NULL;
  int rc = mira_shape_model_load_mem(data, size, &m, err, sizeof err);
  if (rc) {
    if ((rc != MIRA_EINVAL && rc != MIRA_ENOMEM) || err[0] == 0) {
      fprintf(stderr, "fuzz_shape: unclean error: rc %d, message \"%s\"\n", rc, err);
      abort();
    }
    return 0;
  }
  int n = mira_shape_model_points(m);
  if (!m || n < 1 || n > MAX_POINTS) {
    fprintf(stderr, "fuzz_shape: accepted a model with %d points\n", n);
    abort();
  }
  const mira_gray img = {.px = px, .w = IMG_SIDE, .h = IMG_SIDE, .stride = IMG_SIDE};
  const mira_face_box inside = {8, 8, 48, 48}, overhang = {40, -10, 50, 30};
  mira_face_landmarks(m, &img, &inside, pts);
  mira_face_landmarks(m, &img, &overhang, pts);
  mira_shape_model_free(m);
  return 0;
}
