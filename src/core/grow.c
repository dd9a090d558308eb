#include "core/grow.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/error.h"

int mira_grow(void **p, size_t *cap, size_t need, size_t size, size_t first) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : (first ? first : 16);
  while (c < need) {
    if (c > SIZE_MAX / 2) return MIRA_ENOMEM;
    c *= 2;
  }
  if (size && c > SIZE_MAX / size) return MIRA_ENOMEM;
  void *q = realloc(*p, c * size);
  if (!q) return MIRA_ENOMEM;
  *p = q;
  *cap = c;
  return 0;
}
