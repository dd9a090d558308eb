/* Rig JSON <-> mira_rig, and the renderer for a rig. */
#include "engines/animate/rig.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

static int parse_photo(json_t *o, mira_rig *r, char *err, size_t errlen) {
  const char *image = json_string_value(json_object_get(o, "image"));
  json_t *lm = json_object_get(o, "landmarks");
  if (!image || strlen(image) >= sizeof r->image || !json_is_array(lm) ||
      json_array_size(lm) != 2 * MIRA_FACE_POINTS)
    return mira_err(err, errlen, MIRA_EINVAL, "avatar rig: a photo rig needs 'image' and 68 landmarks");
  snprintf(r->image, sizeof r->image, "%s", image);
  for (int i = 0; i < MIRA_FACE_POINTS; i++) {
    json_t *x = json_array_get(lm, 2 * i), *y = json_array_get(lm, 2 * i + 1);
    if (!json_is_number(x) || !json_is_number(y))
      return mira_err(err, errlen, MIRA_EINVAL, "avatar rig: landmark %d is not a number pair", i);
    r->pts[i].x = json_number_value(x);
    r->pts[i].y = json_number_value(y);
  }
  return 0;
}

int mira_rig_parse(const char *json, mira_rig *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  json_t *o = json ? json_loads(json, 0, NULL) : NULL;
  if (!json_is_object(o)) {
    json_decref(o);
    return mira_err(err, errlen, MIRA_EINVAL, "avatar rig: not a JSON object (the avatar has no rig)");
  }
  const char *kind = json_string_value(json_object_get(o, "kind"));
  out->w = (int)json_integer_value(json_object_get(o, "w"));
  out->h = (int)json_integer_value(json_object_get(o, "h"));
  int rc = 0;
  if (kind && !strcmp(kind, "photo")) {
    out->kind = MIRA_RIG_PHOTO;
    rc = parse_photo(o, out, err, errlen);
  } else if (kind && !strcmp(kind, "cartoon")) {
    out->kind = MIRA_RIG_CARTOON;
    out->index = (int)json_integer_value(json_object_get(o, "index"));
    if (!mira_cartoon_info_of(out->index))
      rc = mira_err(err, errlen, MIRA_EINVAL, "avatar rig: no illustrated avatar %d in this build", out->index);
  } else {
    rc = mira_err(err, errlen, MIRA_EINVAL, "avatar rig: unknown kind '%s'", kind ? kind : "");
  }
  int long_side = out->w > out->h ? out->w : out->h, short_side = out->w > out->h ? out->h : out->w;
  if (!rc && (short_side < 64 || out->w % 2 || out->h % 2 || long_side > 1920 || short_side > 1080))
    rc = mira_err(err, errlen, MIRA_EINVAL, "avatar rig: bad frame size %dx%d", out->w, out->h);
  json_decref(o);
  return rc;
}

int mira_rig_format(const mira_rig *r, char *out, size_t outlen, char *err, size_t errlen) {
  size_t n;
  if (r->kind == MIRA_RIG_CARTOON) {
    n = (size_t)snprintf(out, outlen, "{\"kind\":\"cartoon\",\"index\":%d,\"w\":%d,\"h\":%d}", r->index, r->w, r->h);
  } else {
    n = (size_t)snprintf(out, outlen, "{\"kind\":\"photo\",\"image\":\"%s\",\"w\":%d,\"h\":%d,\"landmarks\":[",
                         r->image, r->w, r->h);
    for (int i = 0; i < MIRA_FACE_POINTS && n < outlen; i++)
      n += (size_t)snprintf(out + n, outlen - n, "%s%.2f,%.2f", i ? "," : "", r->pts[i].x, r->pts[i].y);
    if (n < outlen) n += (size_t)snprintf(out + n, outlen - n, "]}");
  }
  if (n >= outlen) return mira_err(err, errlen, MIRA_ETOOBIG, "avatar rig: JSON longer than %zu bytes", outlen);
  return 0;
}

int mira_rig_renderer(const mira_rig *r, const char *image_path, int full, mira_avatar_renderer **out,
                      char *err, size_t errlen) {
  *out = NULL;
  if (r->kind == MIRA_RIG_CARTOON) return mira_cartoon_renderer_new(r->index, r->w, r->h, full, out, err, errlen);
  mira_rgb img;
  int rc = mira_rgb_load(image_path, &img, err, errlen);
  if (rc) return rc;
  if (img.w != r->w || img.h != r->h)
    rc = mira_err(err, errlen, MIRA_EINVAL, "avatar photo is %dx%d, its rig says %dx%d", img.w, img.h, r->w, r->h);
  if (!rc) rc = mira_photo_renderer_new(&img, r->pts, full, out, err, errlen);
  mira_rgb_free(&img);
  return rc;
}
