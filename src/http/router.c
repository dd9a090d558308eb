#include "http/router.h"

#include <string.h>

bool mira_route_match(const char *pattern, const char *path, size_t plen, mira_path_params *out) {
  const char *p = pattern, *s = path, *end = path + plen;
  out->n = 0;
  while (*p && s < end) {
    if (*p == '{') {
      const char *close = strchr(p, '}');
      if (!close || out->n == MIRA_ROUTE_MAX_PARAMS) return false;
      const char *seg = s;
      while (s < end && *s != '/') s++;
      if (s == seg) return false;
      out->v[out->n] = seg;
      out->len[out->n++] = (size_t)(s - seg);
      p = close + 1;
    } else if (*p++ != *s++) {
      return false;
    }
  }
  return *p == 0 && s == end;
}
