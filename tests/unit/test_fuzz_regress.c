/* Fuzz regressions (issue 4): inputs libFuzzer found tripping UBSan in the
 * shape model loader. Under the ASan/UBSan build any undefined behaviour
 * aborts; here each must load cleanly or be refused with MIRA_EINVAL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "engines/face/face.h"

static char dir[1024];

static void model(const char *name, int want_rc) {
  char path[1200], err[256] = "";
  snprintf(path, sizeof path, "%s%s", dir, name);
  mira_shape_model *m = NULL;
  int rc = mira_shape_model_load(path, &m, err, sizeof err);
  printf("%s: %s\n", name, rc ? err : "loads");
  CHECK_INT("fuzzreg-1.1", rc, want_rc);
  if (rc == 0 && m) {
    uint8_t px[64 * 64];
    for (int i = 0; i < 64 * 64; i++) px[i] = (uint8_t)(i * 7);
    mira_gray g = {px, 64, 64, 64};
    mira_face_box box = {8, 8, 40, 40};
    mira_point *pts = calloc((size_t)mira_shape_model_points(m), sizeof *pts);
    CHECK("fuzzreg-1.2", pts != NULL);
    if (pts) mira_face_landmarks(m, &g, &box, pts);
    free(pts);
  }
  mira_shape_model_free(m);
}

int main(void) {
  const char *self = __FILE__, *cut = strstr(self, "tests/unit/");
  snprintf(dir, sizeof dir, "%.*stests/fixtures/fuzz/", cut ? (int)(cut - self) : 0, self);
  model("shape-null-splits.dat", 0);
  model("shape-int64min-rows.dat", MIRA_EINVAL);
  model("shape-int64min-cols.dat", MIRA_EINVAL);
  return CHECK_EXIT();
}
