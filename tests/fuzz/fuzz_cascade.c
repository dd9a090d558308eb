/* libFuzzer target for the OpenCV cascade loader (engines/face/cascade.c).
 *
 * Each input is a cascade XML. A rejected one must give a clean error (one of
 * MIRA_EINVAL, MIRA_ENOMEM, MIRA_ETOOBIG, with a message); an accepted one is
 * run through mira_face_detect on a fixed 64x64 image, so the detector is
 * fuzzed with every cascade the loader lets through. Any other outcome
 * aborts, which libFuzzer reports as a crash. Run by scripts/fuzz.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <libxml/parser.h>

#include "core/error.h"
#include "engines/face/face.h"

#define IMG_SIDE 64

static uint8_t px[IMG_SIDE * IMG_SIDE];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  /* a diagonal gradient with a darker block: some windows pass, some fail */
  for (int y = 0; y < IMG_SIDE; y++)
    for (int x = 0; x < IMG_SIDE; x++) {
      int v = (x + y) * 255 / (2 * IMG_SIDE - 2);
      if (x >= 20 && x < 44 && y >= 16 && y < 40) v /= 3;
      px[y * IMG_SIDE + x] = (uint8_t)v;
    }
  xmlInitParser();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256] = "";
  mira_cascade *c = NULL;
  int rc = mira_cascade_load_mem((const char *)data, size, &c, err, sizeof err);
  if (rc) {
    if ((rc != MIRA_EINVAL && rc != MIRA_ENOMEM && rc != MIRA_ETOOBIG) || err[0] == 0) {
      fprintf(stderr, "fuzz_cascade: unclean error: rc %d, message \"%s\"\n", rc, err);
      abort();
    }
    return 0;
  }
  if (!c) {
    fprintf(stderr, "fuzz_cascade: success without a cascade\n");
    abort();
  }
  const mira_gray img = {.px = px, .w = IMG_SIDE, .h = IMG_SIDE, .stride = IMG_SIDE};
  const mira_face_detect_params p = {.scale_factor = 1.25, .min_neighbors = 1};
  mira_face_box *boxes = NULL;
  size_t n = 0;
  rc = mira_face_detect(c, &img, &p, &boxes, &n, err, sizeof err);
  if (rc && rc != MIRA_ENOMEM) {
    fprintf(stderr, "fuzz_cascade: detect failed on an accepted cascade: rc %d, \"%s\"\n", rc, err);
    abort();
  }
  for (size_t i = 0; i < n; i++)
    if (boxes[i].w <= 0 || boxes[i].h <= 0) {
      fprintf(stderr, "fuzz_cascade: empty box %zu: %dx%d\n", i, boxes[i].w, boxes[i].h);
      abort();
    }
  free(boxes);
  mira_cascade_free(c);
  return 0;
}
