/* Avatars: stock records (visible to everyone) plus the account's own, in
 * Miraflow's shape; creating one from a photo (beyond Miraflow) and deleting
 * one's own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/handlers.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/sniff.h"
#include "blob/media.h"
#include "engines/animate/rig.h"
#include "engines/face/avatar.h"

static json_t *avatar_json(mira_call *c, const mira_avatar *a) {
  char when[MIRA_ISO8601_SIZE];
  mira_iso8601(a->created_at, when);
  json_t *o = json_pack("{s:s,s:s,s:s,s:b}", "id", a->id, "name", a->name, "createdAt", when,
                        "isPhoto", a->is_photo);
  json_object_set_new(o, "voiceId", a->voice_id[0] ? json_string(a->voice_id) : json_null());
  if (a->preview_media_id[0]) {
    char url[1024];
    mira_download_url(c, a->preview_media_id, url, sizeof url);
    json_object_set_new(o, "previewUrl", json_string(url));
  }
  return o;
}

static int add_avatar(void *ud, const mira_avatar *a) {
  mira_call *c = ((void **)ud)[0];
  json_array_append_new(((void **)ud)[1], avatar_json(c, a));
  return 0;
}

static json_t *build_avatars(mira_call *c, char *err, size_t errlen) {
  json_t *arr = json_array();
  void *ud[2] = {c, arr};
  if (c->store->ops->avatar_list(c->store, c->account_id, add_avatar, ud, err, errlen)) {
    json_decref(arr);
    return NULL;
  }
  return json_pack("{s:o}", "avatars", arr);
}

int mira_api_avatars_list(mira_call *c) { return mira_cached_reply(c, MIRA_CACHE_AVATARS, build_avatars); }

/* ---- creation ---- */

/* The face models load on the first creation (~0.5 s), not at every start. */
static const mira_face_models *face_models(mira_call *c, char *err, size_t errlen) {
  mira_app *app = c->app;
  pthread_mutex_lock(&app->face_mu);
  if (!app->face) mira_face_models_load(&app->face, err, errlen);
  pthread_mutex_unlock(&app->face_mu);
  return app->face;
}

/* The photo from a multipart file field or an uploaded medium. */
static int load_photo(mira_call *c, const char *media, mira_rgb *photo) {
  static const char *const fields[] = {"image", "file", "photo", NULL};
  const mira_multipart_part *part = NULL;
  int nfiles = 0;
  for (size_t i = 0; i < c->nparts; i++)
    for (int k = 0; c->parts[i].filename && fields[k]; k++)
      if (strlen(fields[k]) == c->parts[i].name_len && !memcmp(fields[k], c->parts[i].name, c->parts[i].name_len))
        part = &c->parts[i], nfiles++;
  if (nfiles + (media != NULL) != 1)
    return mira_reply_error(c, 400, "provide the photo once: 'mediaId' of an uploaded image or a multipart "
                            "file field 'image'"), -1;
  char path[1024], err[256];
  if (part) {
    if ((int64_t)part->len > c->app->c.max_upload)
      return mira_reply_error(c, 413, "file 'image' is %zu bytes; the upload limit is %lld", part->len,
                              (long long)c->app->c.max_upload), -1;
    const char *type = mira_sniff(part->data, part->len);
    if (!type || !mira_sniff_is_image(type))
      return mira_reply_error(c, 415, "file field 'image' must be a PNG, JPEG or WebP image"), -1;
    snprintf(path, sizeof path, "%s/avatar-upload-XXXXXX", c->app->blob->ops->tmp_dir(c->app->blob));
    int fd = mkstemp(path);
    int ok = fd >= 0 && write(fd, part->data, part->len) == (ssize_t)part->len;
    if (fd >= 0) close(fd);
    int rc = ok ? mira_rgb_load(path, photo, err, sizeof err) : MIRA_EIO;
    unlink(path);
    if (!ok) return mira_reply_error(c, 500, "cannot stage the upload"), -1;
    if (rc) return mira_reply_error(c, 422, "the image cannot be decoded: %s", err), -1;
    return 0;
  }
  if (mira_check_media(c, "mediaId", media, 1) < 0) return -1;
  if (c->app->blob->ops->path(c->app->blob, media, path, sizeof path) != 0)
    return mira_reply_error(c, 404, "mediaId '%s' has no stored file", media), -1;
  if (mira_rgb_load(path, photo, err, sizeof err) != 0)
    return mira_reply_error(c, 422, "the image cannot be decoded: %s", err), -1;
  return 0;
}

/* The frame as a PNG medium of the account: the avatar's photo and preview. */
static int store_frame(mira_call *c, const mira_rgb *frame, char id[MIRA_ID_SIZE], char *err, size_t errlen) {
  mira_blob *b = c->app->blob;
  char tmp[1024];
  mira_media m = {.created_at = mira_now_ms(), .file_name = "avatar.png", .content_type = "image/png"};
  mira_id_new(m.id);
  memcpy(m.account_id, c->account_id, MIRA_ID_SIZE);
  snprintf(tmp, sizeof tmp, "%s/avatar-%s.png", b->ops->tmp_dir(b), m.id);
  int rc = mira_rgb_write_png(tmp, frame, err, errlen);
  if (!rc) rc = mira_media_put_file(c->store, b, &m, tmp, err, errlen);
  if (rc) unlink(tmp);
  else memcpy(id, m.id, MIRA_ID_SIZE);
  return rc;
}

static int save_avatar(mira_call *c, mira_avatar *a, const mira_rgb *frame, mira_rig *rig) {
  char err[256];
  int rc = store_frame(c, frame, a->image_media_id, err, sizeof err);
  if (rc) return mira_reply_rc(c, rc, err);
  memcpy(a->preview_media_id, a->image_media_id, MIRA_ID_SIZE);
  snprintf(rig->image, sizeof rig->image, "%s", a->image_media_id);
  rc = mira_rig_format(rig, a->rig, sizeof a->rig, err, sizeof err);
  if (!rc) rc = c->store->ops->avatar_insert(c->store, a, err, sizeof err);
  if (rc) {
    c->store->ops->media_delete(c->store, a->image_media_id, c->account_id, NULL, 0);
    c->app->blob->ops->remove(c->app->blob, a->image_media_id, NULL, 0);
    return mira_reply_rc(c, rc, err);
  }
  return mira_reply_json(c, 200, json_pack("{s:s,s:o}", "result", "success", "avatar", avatar_json(c, a)));
}

int mira_api_avatar_create(mira_call *c) {
  const char *name, *media, *voice;
  if (mira_field_string(c, "name", 0, MIRA_NAME_SIZE - 1, &name) < 0 || mira_field_id(c, "mediaId", 0, &media) < 0 ||
      mira_field_id(c, "voiceId", 0, &voice) < 0)
    return c->status;
  mira_avatar a = {.is_photo = 1};
  char err[256], msg[256];
  if (voice) {
    mira_voice v;
    int rc = c->store->ops->voice_get(c->store, voice, c->account_id, &v, err, sizeof err);
    if (rc == MIRA_ENOENT) return mira_reply_error(c, 404, "voiceId '%s' not found", voice);
    if (rc) return mira_reply_rc(c, rc, err);
    snprintf(a.voice_id, sizeof a.voice_id, "%s", voice);
  }
  const mira_face_models *fm = face_models(c, err, sizeof err);
  if (!fm) return mira_reply_error(c, 503, "avatar creation is not available: %s", err);
  mira_rgb photo, frame;
  if (load_photo(c, media, &photo) < 0) return c->status;
  mira_rig rig = {.kind = MIRA_RIG_PHOTO};
  int fail = 0;
  mira_face_verdict v = mira_avatar_prepare(fm, &photo, &frame, rig.pts, &fail, msg, sizeof msg);
  mira_rgb_free(&photo);
  if (fail) return mira_reply_error(c, 500, "%s", msg);
  if (v != MIRA_FACE_OK) return mira_reply_error(c, 422, "%s", msg);
  mira_id_new(a.id);
  memcpy(a.account_id, c->account_id, MIRA_ID_SIZE);
  snprintf(a.name, sizeof a.name, "%s", name ? name : "My avatar");
  a.created_at = mira_now_ms();
  rig.w = frame.w;
  rig.h = frame.h;
  int status = save_avatar(c, &a, &frame, &rig);
  mira_rgb_free(&frame);
  return status;
}

/* Deletes the record; its photo stays until the account's media go, since
 * queued videos may still render from it. */
int mira_api_avatar_delete(mira_call *c) {
  char id[MIRA_ID_SIZE + 1] = "", err[256];
  if (c->params.len[0] == MIRA_ID_LEN) memcpy(id, c->params.v[0], MIRA_ID_LEN);
  mira_avatar a;
  int rc = mira_id_valid(id) ? c->store->ops->avatar_get(c->store, id, c->account_id, &a, err, sizeof err)
                             : MIRA_ENOENT;
  if (rc == MIRA_ENOENT)
    return mira_reply_error(c, 404, "avatar '%.*s' not found", (int)c->params.len[0], c->params.v[0]);
  if (rc) return mira_reply_rc(c, rc, err);
  if (!a.account_id[0]) return mira_reply_error(c, 422, "avatar '%s' is a stock avatar and cannot be deleted", id);
  rc = c->store->ops->avatar_delete(c->store, id, c->account_id, err, sizeof err);
  if (rc) return mira_reply_rc(c, rc, err);
  return mira_reply_json(c, 200, json_pack("{s:s,s:s}", "result", "success", "id", id));
}
