/* multipart/form-data parsing (RFC 7578) over a body already in memory.
 *
 *   const char *b; size_t blen;
 *   if (mira_multipart_boundary(ctype, ctype_len, &b, &blen) != 0) -> 400
 *   mira_multipart_part parts[16]; size_t n;
 *   if (mira_multipart_parse(body, len, b, blen, parts, 16, &n, err, sizeof err)) -> 400
 *
 * Zero-copy: every pointer in a part points into `body` (or into the
 * content-type string for the boundary); they live as long as those buffers.
 * Strings are NOT NUL-terminated; use the lengths. A part without a filename
 * has filename == NULL. Header names are case-insensitive; quoted parameter
 * values may contain ';'. Thread-safety: thread-safe, no state.
 */
#ifndef MIRA_HTTP_MULTIPART_H
#define MIRA_HTTP_MULTIPART_H

#include <stddef.h>

typedef struct mira_multipart_part {
  const char *name;         size_t name_len;
  const char *filename;     size_t filename_len; /* NULL if not a file field */
  const char *content_type; size_t content_type_len; /* NULL if absent */
  const char *data;         size_t len;
} mira_multipart_part;

/* Finds boundary=... (quoted or not) in a multipart/form-data Content-Type.
 * Returns 0, or MIRA_EINVAL if the type is not multipart/form-data or has no
 * valid boundary (1..70 chars). */
int mira_multipart_boundary(const char *content_type, size_t len, const char **boundary,
                            size_t *blen);

/* Splits body into at most max_parts parts. Returns 0, MIRA_EINVAL (malformed:
 * missing closing delimiter, part without Content-Disposition form-data name,
 * header block without blank line) or MIRA_ETOOBIG (more than max_parts),
 * with a message in err. On failure *nparts is 0. */
int mira_multipart_parse(const char *body, size_t len, const char *boundary, size_t blen,
                         mira_multipart_part *parts, size_t max_parts, size_t *nparts,
                         char *err, size_t errlen);

/* First part whose name equals `name`, or NULL. */
const mira_multipart_part *mira_multipart_find(const mira_multipart_part *parts, size_t n,
                                               const char *name);

#endif
