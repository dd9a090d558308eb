/* A finished local file becomes a READY medium: its bytes in the blob store
 * and its record in the store, one never without the other.
 *
 *   mira_media m = {.created_at = now};   // id, account_id, file_name, content_type: the caller's
 *   mira_id_new(m.id); ...
 *   if (mira_media_put_file(store, blob, &m, "/data/blobs/tmp/x.mp4", err, sizeof err)) fail(err);
 *
 * The source is moved into the blob store under m->id (durably, see
 * blob.h); on failure it is left where it was, for the caller to remove.
 * m->size and m->state are filled here. If the record cannot be written the
 * blob is removed again, except when a record with that id already exists
 * (MIRA_EEXIST, e.g. stock files seeded again), which is returned as is.
 * Thread-safety: as the store handle and the blob store.
 */
#ifndef MIRA_BLOB_MEDIA_H
#define MIRA_BLOB_MEDIA_H

#include <stddef.h>

#include "blob/blob.h"
#include "store/store.h"

int mira_media_put_file(mira_store *st, mira_blob *b, mira_media *m, const char *src, char *err, size_t errlen);

#endif
