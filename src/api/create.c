/* Create endpoints: validate everything first, store uploaded files last,
 * then insert the job — so a rejected request changes nothing. */
#include <stdio.h>
#include <string.h>

#include "api/handlers.h"
#include "core/error.h"
#include "engines/animate/rig.h"
#include "engines/speech/speech.h"

#define PROMPT_MAX 2000
#define MAX_REFERENCE_IMAGES 4

static const char *aspect_ratios[] = {"1:1", "16:9", "9:16", "4:3", "3:4", NULL};

/* File parts of a multipart body whose field name is one of `names`. */
static int file_parts(mira_call *c, const char *const *names, const mira_multipart_part **out, int max) {
  int n = 0;
  for (size_t i = 0; i < c->nparts; i++) {
    const mira_multipart_part *p = &c->parts[i];
    if (!p->filename) continue;
    for (int k = 0; names[k]; k++) {
      if (strlen(names[k]) == p->name_len && memcmp(names[k], p->name, p->name_len) == 0) {
        if (n < max) out[n] = p;
        n++;
        break;
      }
    }
  }
  return n;
}

/* ---- video ---- */

typedef struct video_req {
  const char *avatar, *name, *text, *voice, *media;
  int full;
  const mira_multipart_part *file;
  mira_voice voice_rec; /* the voice, copied into the job so it renders as chosen */
} video_req;

static int video_source(mira_call *c, video_req *v, const mira_avatar *a) {
  static const char *const audio_fields[] = {"audio", "file", "audioFile", NULL};
  const mira_multipart_part *files[2];
  int nfiles = file_parts(c, audio_fields, files, 2);
  if (nfiles > 1) return mira_reply_error(c, 400, "send one audio file, not %d", nfiles), -1;
  v->file = nfiles ? files[0] : NULL;
  int sources = (v->text != NULL) + (v->media != NULL) + (v->file != NULL);
  if (sources == 0)
    return mira_reply_error(c, 400, "provide either 'text' (a script, with 'voiceId') or an audio track "
                            "('mediaId' of an uploaded audio file, or a multipart file field 'audio')"), -1;
  if (sources > 1)
    return mira_reply_error(c, 400, "provide only one of 'text', 'mediaId' or an audio file"), -1;
  if (v->text) {
    if (!v->voice && !a->voice_id[0])
      return mira_reply_error(c, 400, "missing required field 'voiceId' (avatar '%s' has no default voice)", a->id), -1;
    if (!v->voice) v->voice = a->voice_id;
    char err[256];
    int rc = c->store->ops->voice_get(c->store, v->voice, c->account_id, &v->voice_rec, err, sizeof err);
    if (rc == MIRA_ENOENT) return mira_reply_error(c, 404, "voiceId '%s' not found", v->voice), -1;
    if (rc) return mira_reply_rc(c, rc, err), -1;
  }
  if (v->media) return mira_check_media(c, "mediaId", v->media, 0);
  return 0;
}

int mira_api_video_create(mira_call *c) {
  video_req v = {0};
  if (mira_field_id(c, "avatarId", 1, &v.avatar) < 0 ||
      mira_field_string(c, "name", 0, MIRA_NAME_SIZE - 1, &v.name) < 0 ||
      mira_field_string(c, "text", 0, (size_t)c->app->c.max_text, &v.text) < 0 ||
      mira_field_id(c, "voiceId", 0, &v.voice) < 0 || mira_field_id(c, "mediaId", 0, &v.media) < 0 ||
      mira_field_bool(c, "im2vid_full", &v.full) < 0)
    return c->status;
  if (v.text && !*v.text) return mira_reply_error(c, 400, "field 'text' must not be empty");
  char why[256];
  if (v.text && mira_speech_check(v.text, why, sizeof why) != 0)
    return mira_reply_error(c, 400, "field 'text': %s", why);
  mira_avatar a;
  char err[256];
  int rc = c->store->ops->avatar_get(c->store, v.avatar, c->account_id, &a, err, sizeof err);
  if (rc == MIRA_ENOENT) return mira_reply_error(c, 404, "avatarId '%s' not found", v.avatar);
  if (rc) return mira_reply_rc(c, rc, err);
  mira_rig rig;
  if (mira_rig_parse(a.rig, &rig, err, sizeof err) != 0)
    return mira_reply_error(c, 422, "avatar '%s' cannot be animated: %s", a.id, err);
  if (video_source(c, &v, &a) < 0) return c->status;

  char uploaded[1][MIRA_ID_SIZE], digest[1][65];
  int nup = 0;
  if (v.file) {
    if (mira_store_upload(c, v.file, 0, uploaded[0], digest[0]) < 0) return c->status;
    v.media = uploaded[0];
    nup = 1;
  }
  json_t *p = json_pack("{s:b,s:s}", "im2vid_full", v.full, "avatarRig", a.rig);
  if (v.text) {
    json_object_set_new(p, "text", json_string(v.text));
    json_object_set_new(p, "voiceId", json_string(v.voice));
    json_object_set_new(p, "voiceEngine", json_string(v.voice_rec.engine));
    json_object_set_new(p, "voiceParams", json_string(v.voice_rec.engine_params));
  }
  if (v.media) json_object_set_new(p, "mediaId", json_string(v.media));
  return mira_create_job(c, MIRA_JOB_VIDEO, v.name ? v.name : "Untitled video", v.avatar, p, uploaded, digest, nup);
}

/* ---- images ---- */

static int image_common(mira_call *c, json_t *p, const char **name) {
  const char *prompt, *aspect, *neg;
  long long seed = 0;
  if (mira_field_string(c, "prompt", 1, PROMPT_MAX, &prompt) < 0 ||
      mira_field_string(c, "name", 1, MIRA_NAME_SIZE - 1, name) < 0 ||
      mira_field_string(c, "aspectRatio", 0, 8, &aspect) < 0 ||
      mira_field_string(c, "negativePrompt", 0, PROMPT_MAX, &neg) < 0)
    return -1;
  int has_seed = mira_field_int(c, "seed", 0, 4294967295LL, &seed);
  if (has_seed < 0) return -1;
  if (aspect) {
    int ok = 0;
    for (int i = 0; aspect_ratios[i]; i++) ok |= !strcmp(aspect, aspect_ratios[i]);
    if (!ok) return mira_reply_error(c, 400, "field 'aspectRatio' must be one of 1:1, 16:9, 9:16, 4:3, 3:4"), -1;
  }
  json_object_set_new(p, "prompt", json_string(prompt));
  json_object_set_new(p, "aspectRatio", json_string(aspect ? aspect : "1:1"));
  if (neg) json_object_set_new(p, "negativePrompt", json_string(neg));
  if (has_seed) json_object_set_new(p, "seed", json_integer(seed));
  return 0;
}

/* Stores the given file parts as images; on failure removes what it stored. */
static int upload_images(mira_call *c, const mira_multipart_part **files, int n, char ids[][MIRA_ID_SIZE],
                         char digests[][65]) {
  for (int i = 0; i < n; i++) {
    if (mira_store_upload(c, files[i], 1, ids[i], digests[i]) < 0) {
      mira_discard_media(c, ids, i);
      return -1;
    }
  }
  return 0;
}

int mira_api_image_generate(mira_call *c) {
  json_t *p = json_object();
  const char *name;
  if (image_common(c, p, &name) < 0) return json_decref(p), c->status;
  return mira_create_job(c, MIRA_JOB_IMAGE_GENERATE, name, NULL, p, NULL, NULL, 0);
}

static int reference_ids(mira_call *c, json_t *ids) {
  const char *one;
  if (mira_field_id(c, "referenceImageMediaId", 0, &one) < 0) return -1;
  if (one) json_array_append_new(ids, json_string(one));
  json_t *many = c->multipart ? NULL : json_object_get(c->body, "referenceImageMediaIds");
  if (many && !json_is_null(many)) {
    if (!json_is_array(many))
      return mira_reply_error(c, 400, "field 'referenceImageMediaIds' must be an array of media ids"), -1;
    size_t i;
    json_t *v;
    json_array_foreach(many, i, v) {
      if (!json_is_string(v))
        return mira_reply_error(c, 400, "field 'referenceImageMediaIds' must be an array of media ids"), -1;
      json_array_append(ids, v);
    }
  }
  if (json_array_size(ids) > MAX_REFERENCE_IMAGES)
    return mira_reply_error(c, 400, "at most %d reference images", MAX_REFERENCE_IMAGES), -1;
  size_t i;
  json_t *v;
  json_array_foreach(ids, i, v) {
    if (mira_check_media(c, "referenceImageMediaId", json_string_value(v), 1) < 0) return -1;
  }
  return 0;
}

int mira_api_image_edit(mira_call *c) {
  static const char *const fields[] = {"referenceImage", "referenceImages", "image", "images", "file", "files", NULL};
  const mira_multipart_part *files[MAX_REFERENCE_IMAGES];
  json_t *p = json_object(), *ids = json_array();
  const char *name;
  if (image_common(c, p, &name) < 0 || reference_ids(c, ids) < 0) goto fail;
  int nfiles = file_parts(c, fields, files, MAX_REFERENCE_IMAGES);
  if (nfiles + json_array_size(ids) == 0) {
    mira_reply_error(c, 400, "missing required field 'referenceImageMediaId' (or upload image files)");
    goto fail;
  }
  if (nfiles + json_array_size(ids) > MAX_REFERENCE_IMAGES) {
    mira_reply_error(c, 400, "at most %d reference images", MAX_REFERENCE_IMAGES);
    goto fail;
  }
  char up[MAX_REFERENCE_IMAGES][MIRA_ID_SIZE], digests[MAX_REFERENCE_IMAGES][65];
  if (upload_images(c, files, nfiles, up, digests) < 0) goto fail;
  for (int i = 0; i < nfiles; i++) json_array_append_new(ids, json_string(up[i]));
  json_object_set_new(p, "referenceImageMediaIds", ids);
  return mira_create_job(c, MIRA_JOB_IMAGE_EDIT, name, NULL, p, up, digests, nfiles);
fail:
  json_decref(p);
  json_decref(ids);
  return c->status;
}

/* One inpaint input: a media id field or a multipart file (aliases). */
static int inpaint_input(mira_call *c, const char *field, const char *const *files, const char **id,
                         const mira_multipart_part **file) {
  const mira_multipart_part *parts[2];
  if (mira_field_id(c, field, 0, id) < 0) return -1;
  int n = file_parts(c, files, parts, 2);
  *file = n ? parts[0] : NULL;
  if (n > 1 || (*id && *file))
    return mira_reply_error(c, 400, "give '%s' once: a media id or one file", field), -1;
  if (!*id && !*file) return mira_reply_error(c, 400, "missing required field '%s'", field), -1;
  return *id ? mira_check_media(c, field, *id, 1) : 0;
}

int mira_api_image_inpaint(mira_call *c) {
  static const char *const orig_f[] = {"originalImage", "original", "image", NULL};
  static const char *const mask_f[] = {"maskImage", "mask", NULL};
  json_t *p = json_object();
  const char *name, *orig, *mask;
  const mira_multipart_part *files[2];
  if (image_common(c, p, &name) < 0 || inpaint_input(c, "originalImageMediaId", orig_f, &orig, &files[0]) < 0 ||
      inpaint_input(c, "maskImageMediaId", mask_f, &mask, &files[1]) < 0)
    return json_decref(p), c->status;
  char up[2][MIRA_ID_SIZE], digests[2][65];
  const mira_multipart_part *todo[2];
  int n = 0, k = 0;
  for (int i = 0; i < 2; i++)
    if (files[i]) todo[n++] = files[i];
  if (upload_images(c, todo, n, up, digests) < 0) return json_decref(p), c->status;
  json_object_set_new(p, "originalImageMediaId", json_string(orig ? orig : up[k++]));
  json_object_set_new(p, "maskImageMediaId", json_string(mask ? mask : up[k++]));
  return mira_create_job(c, MIRA_JOB_IMAGE_INPAINT, name, NULL, p, up, digests, n);
}
