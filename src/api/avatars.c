/* Avatars: stock records (visible to everyone) plus the account's own, in
 * Miraflow's shape. */
#include <string.h>

#include "api/handlers.h"
#include "core/clock.h"

static int add_avatar(void *ud, const mira_avatar *a) {
  mira_call *c = ((void **)ud)[0];
  json_t *arr = ((void **)ud)[1];
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
  json_array_append_new(arr, o);
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
