#include "engines/image/ssim.h"

#define WIN 8
#define STEP 4

static double luma(const uint8_t *p) { return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]; }

static double window(const uint8_t *a, const uint8_t *b, int stride) {
  const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255), n = WIN * WIN;
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (int y = 0; y < WIN; y++)
    for (int x = 0; x < WIN; x++) {
      double la = luma(a + (long)y * stride + x * 3), lb = luma(b + (long)y * stride + x * 3);
      sa += la, sb += lb, saa += la * la, sbb += lb * lb, sab += la * lb;
    }
  double ma = sa / n, mb = sb / n;
  double va = saa / n - ma * ma, vb = sbb / n - mb * mb, cov = sab / n - ma * mb;
  return ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
}

double mira_ssim_rgb(const uint8_t *a, const uint8_t *b, int w, int h, int stride) {
  double sum = 0;
  long n = 0;
  for (int y = 0; y + WIN <= h; y += STEP)
    for (int x = 0; x + WIN <= w; x += STEP) {
      sum += window(a + (long)y * stride + x * 3, b + (long)y * stride + x * 3, stride);
      n++;
    }
  return n ? sum / n : 1.0;
}
