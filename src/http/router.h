/* Path patterns with parameters: "/api/video/{id}/status".
 *
 *   mira_path_params p;
 *   if (mira_route_match("/api/video/{id}", path, plen, &p)) use(p.v[0], p.len[0]);
 *
 * A {name} segment matches one non-empty path segment (no '/'). Matching is
 * exact otherwise; the query string must already be cut off. Values point
 * into path. Thread-safety: thread-safe, no state.
 */
#ifndef MIRA_HTTP_ROUTER_H
#define MIRA_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#define MIRA_ROUTE_MAX_PARAMS 4

typedef struct mira_path_params {
  int n;
  const char *v[MIRA_ROUTE_MAX_PARAMS];
  size_t len[MIRA_ROUTE_MAX_PARAMS];
} mira_path_params;

bool mira_route_match(const char *pattern, const char *path, size_t plen, mira_path_params *out);

#endif
