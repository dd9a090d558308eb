#include "blob/media.h"

#include "core/error.h"

int mira_media_put_file(mira_store *st, mira_blob *b, mira_media *m, const char *src, char *err, size_t errlen) {
  int rc = b->ops->put_file(b, m->id, src, err, errlen);
  if (rc) return rc;
  m->state = MIRA_MEDIA_READY;
  rc = b->ops->size(b, m->id, &m->size, err, errlen);
  if (!rc) rc = st->ops->media_insert(st, m, err, errlen);
  if (rc && rc != MIRA_EEXIST) b->ops->remove(b, m->id, NULL, 0);
  return rc;
}
