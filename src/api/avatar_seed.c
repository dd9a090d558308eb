/* Stock avatars, seeded at start-up: the illustrated ones drawn by
 * engines/animate/cartoon.c, plus photo avatars from pictures whose licence
 * lets us ship them — today the public-domain NASA portrait of Eileen
 * Collins that Debian's python3-skimage installs.
 *
 * Ids are derived from names, so they are the same on every machine and
 * across restarts. Previews and photos are files in the blob store with
 * media records owned by the "mira-stock" account (signed preview links need
 * a record). Work is skipped when the avatar and its files are already there,
 * so a restart costs a few queries; a changed look only needs a new version
 * in the preview key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "blob/media.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/log.h"
#include "engines/animate/rig.h"
#include "engines/face/avatar.h"
#include "engines/speech/catalog.h"

#define STOCK_ACCOUNT "mira-stock"
#define STOCK_SIDE 512
#define STOCK_EPOCH_MS 1767225600000LL /* 2026-01-01: stock avatars' createdAt */
#define ASTRONAUT_PNG "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"
#define LOOK_VERSION "v1" /* bump when the drawings change: previews are redrawn */

typedef struct seeder {
  mira_store *st;
  mira_blob *blob;
  char account[MIRA_ID_SIZE];
  int added;
  char *err;
  size_t errlen;
} seeder;

static int have_blob(seeder *s, const char *key) {
  char path[1024];
  return s->blob->ops->path(s->blob, key, path, sizeof path) == 0 && access(path, R_OK) == 0;
}

/* Writes im as PNG under key with a READY media record. */
static int put_png(seeder *s, const char *key, const mira_rgb *im, const char *file_name) {
  char tmp[1024];
  mira_media m = {.created_at = STOCK_EPOCH_MS, .content_type = "image/png"};
  snprintf(m.id, sizeof m.id, "%s", key);
  snprintf(m.account_id, sizeof m.account_id, "%s", s->account);
  snprintf(m.file_name, sizeof m.file_name, "%s", file_name);
  snprintf(tmp, sizeof tmp, "%s/seed-%s.png", s->blob->ops->tmp_dir(s->blob), key);
  int rc = mira_rgb_write_png(tmp, im, s->err, s->errlen);
  if (!rc) rc = mira_media_put_file(s->st, s->blob, &m, tmp, s->err, s->errlen);
  if (rc && rc != MIRA_EEXIST) unlink(tmp);
  return rc == MIRA_EEXIST ? 0 : rc; /* seeded before: the record is there, the bytes are new */
}

static int save_avatar(seeder *s, mira_avatar *a, const mira_rig *rig, const char *engine, const char *voice) {
  a->created_at = STOCK_EPOCH_MS + s->added;
  if (engine && mira_catalog_find(engine, voice)) mira_catalog_voice_id(engine, voice, a->voice_id);
  int rc = mira_rig_format(rig, a->rig, sizeof a->rig, s->err, s->errlen);
  if (!rc) rc = s->st->ops->avatar_insert(s->st, a, s->err, s->errlen);
  if (!rc) s->added++;
  return rc;
}

static int seed_cartoon(seeder *s, int index) {
  const mira_cartoon_info *info = mira_cartoon_info_of(index);
  char key[128];
  mira_avatar a = {0};
  snprintf(key, sizeof key, "mira-avatar:cartoon:%s", info->name);
  mira_id_derive(key, a.id);
  snprintf(key, sizeof key, "mira-avatar-preview:cartoon:%s:%s", info->name, LOOK_VERSION);
  mira_id_derive(key, a.preview_media_id);
  snprintf(a.name, sizeof a.name, "%s", info->name);
  mira_rig rig = {.kind = MIRA_RIG_CARTOON, .index = index, .w = STOCK_SIDE, .h = STOCK_SIDE};
  int rc = 0;
  if (!have_blob(s, a.preview_media_id)) {
    mira_avatar_renderer *r;
    mira_anim_pose pose = {.open = 0.15f, .wide = 0.3f};
    mira_rgb im = {NULL, STOCK_SIDE, STOCK_SIDE};
    rc = mira_cartoon_renderer_new(index, STOCK_SIDE, STOCK_SIDE, 0, &r, s->err, s->errlen);
    if (rc) return rc;
    im.px = malloc((size_t)STOCK_SIDE * STOCK_SIDE * 3);
    rc = !im.px ? mira_err(s->err, s->errlen, MIRA_ENOMEM, "out of memory") : r->render(r, &pose, im.px, STOCK_SIDE * 3);
    r->destroy(r);
    if (!rc) rc = put_png(s, a.preview_media_id, &im, "preview.png");
    free(im.px);
  }
  if (!rc) rc = save_avatar(s, &a, &rig, info->voice_engine, info->voice);
  return rc;
}

/* The photo goes through avatar creation like an upload would; its frame
 * and landmarks are kept, so later starts only check the files. */
static int seed_photo(seeder *s, const char *path, const char *slug, const char *name, const char *engine,
                      const char *voice) {
  char key[128];
  mira_avatar a = {0}, old;
  snprintf(key, sizeof key, "mira-avatar:photo:%s", slug);
  mira_id_derive(key, a.id);
  snprintf(key, sizeof key, "mira-avatar-image:photo:%s:%s", slug, LOOK_VERSION);
  mira_id_derive(key, a.image_media_id);
  memcpy(a.preview_media_id, a.image_media_id, MIRA_ID_SIZE);
  snprintf(a.name, sizeof a.name, "%s", name);
  a.is_photo = 1;
  if (access(path, R_OK) != 0) return 0; /* package not installed: fewer stock avatars */
  if (s->st->ops->avatar_get(s->st, a.id, "", &old, NULL, 0) == 0 && old.rig[0] && have_blob(s, a.image_media_id))
    return s->added++, 0;
  mira_face_models *fm = NULL;
  mira_rgb photo = {0}, frame = {0};
  mira_rig rig = {.kind = MIRA_RIG_PHOTO};
  char msg[256];
  int rc = mira_face_models_load(&fm, s->err, s->errlen);
  if (!rc) rc = mira_rgb_load(path, &photo, s->err, s->errlen);
  if (!rc && mira_avatar_prepare(fm, &photo, &frame, rig.pts, NULL, msg, sizeof msg) != MIRA_FACE_OK)
    rc = mira_err(s->err, s->errlen, MIRA_EINVAL, "stock avatar %s: %s", path, msg);
  if (!rc) {
    rig.w = frame.w;
    rig.h = frame.h;
    snprintf(rig.image, sizeof rig.image, "%s", a.image_media_id);
    rc = put_png(s, a.image_media_id, &frame, "photo.png");
  }
  if (!rc) rc = save_avatar(s, &a, &rig, engine, voice);
  mira_rgb_free(&frame);
  mira_rgb_free(&photo);
  mira_face_models_free(fm);
  return rc;
}

int mira_avatars_seed(mira_store *st, mira_blob *blob, char *err, size_t errlen) {
  seeder s = {.st = st, .blob = blob, .err = err, .errlen = errlen};
  int rc = st->ops->account_ensure(st, STOCK_ACCOUNT, s.account, err, errlen);
  if (!rc) rc = seed_photo(&s, ASTRONAUT_PNG, "astronaut", "Eileen — astronaut (photo)", "flite", "slt");
  for (int i = 0; rc == 0 && i < mira_cartoon_count(); i++) rc = seed_cartoon(&s, i);
  if (rc == 0) MIRA_LOGI("avatars", "%d stock avatars", s.added);
  return rc;
}
