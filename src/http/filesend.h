/* Streams a file as the response, with single-range requests (RFC 9110
 * §14): "bytes=A-B", "bytes=A-", "bytes=-N" get 206 and Content-Range; an
 * unsatisfiable range gets 416; several ranges or a malformed header are
 * ignored (the whole file, 200), as the RFC allows. HEAD sends the headers
 * only. Accept-Ranges: bytes and Content-Length are always set.
 *
 *   if (mira_file_send(req, "/data/blobs/ab/cm..ab", h2o_iovec_init(H2O_STRLIT("video/mp4"))) != 0)
 *     -> the file could not be opened; nothing was sent, reply with an error
 *
 * The file is read in 64 KiB chunks as the client drains them (memory stays
 * bounded); the descriptor is closed when the response ends or is aborted.
 * Loop thread only.
 */
#ifndef MIRA_HTTP_FILESEND_H
#define MIRA_HTTP_FILESEND_H

#include <h2o.h>

int mira_file_send(h2o_req_t *req, const char *path, h2o_iovec_t mime_type);

#endif
