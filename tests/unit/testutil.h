/* Small helpers several unit tests share: running a reference tool and
 * reading its output, and a correlation. Header-only, like check.h. */
#ifndef MIRA_TEST_TESTUTIL_H
#define MIRA_TEST_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs cmd and returns its stdout (malloc'd, NUL-terminated; "" on error);
 * *len_out (may be NULL) gets its length. */
static inline char *capture(const char *cmd, size_t *len_out) {
  FILE *p = popen(cmd, "r");
  size_t len = 0, cap = 1 << 16;
  char *out = malloc(cap);
  if (!out) abort();
  if (p) {
    size_t got;
    while ((got = fread(out + len, 1, cap - len - 1, p)) > 0) {
      len += got;
      if (cap - len < 4096 && !(out = realloc(out, cap *= 2))) abort();
    }
    pclose(p);
  }
  out[len] = 0;
  if (len_out) *len_out = len;
  return out;
}

/* Pearson correlation of x and y; 0 when either is constant. */
static inline double pearson(const double *x, const double *y, size_t n) {
  double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; i++) mx += x[i] / n, my += y[i] / n;
  for (size_t i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0;
}

#endif
