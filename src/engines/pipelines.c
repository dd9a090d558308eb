/* The registry of job pipelines in this build.
 *
 * The engines arrive issue by issue. A kind whose engines are not built says
 * what is missing, and its jobs fail with that message; they are never
 * faked. The video pipeline turns the job's parameters (validated by the
 * API, with the avatar's rig and the voice copied in at create time, so a
 * later edit cannot change a queued video) into a render request. */
#include "engines/pipeline.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/ids.h"
#include "engines/render.h"
#include "engines/speech/catalog.h"

/* Frames, thumbnail and captions land in tmp_dir; the pool stores them. */
static void temp_paths(const mira_job *job, const mira_pipeline_env *env, mira_pipeline_output *out) {
  snprintf(out->path, sizeof out->path, "%s/%s.mp4", env->tmp_dir, job->id);
  snprintf(out->thumb_path, sizeof out->thumb_path, "%s/%s.jpg", env->tmp_dir, job->id);
  snprintf(out->captions_path, sizeof out->captions_path, "%s/%s.vtt", env->tmp_dir, job->id);
}

/* Idle motion differs from video to video but is fixed for a job, so a
 * retried job renders the same frames. */
static uint64_t job_seed(const char *id) {
  uint64_t h = 1469598103934665603ull;
  for (; *id; id++) h = (h ^ (uint8_t)*id) * 1099511628211ull;
  return h;
}

/* A render request and the storage it points into. */
typedef struct video_job {
  mira_render_req q;
  mira_rig rig;
  mira_tts_voice voice;
  char voice_name[96], image[1024], audio[1024];
} video_job;

static int video_request(const mira_job *job, json_t *p, const mira_pipeline_env *env, video_job *vj,
                         char *err, size_t errlen) {
  const char *text = json_string_value(json_object_get(p, "text"));
  const char *media = json_string_value(json_object_get(p, "mediaId"));
  mira_render_req *q = &vj->q;
  int rc = mira_rig_parse(json_string_value(json_object_get(p, "avatarRig")), &vj->rig, err, errlen);
  if (rc) return rc;
  *q = (mira_render_req){.rig = &vj->rig, .full = json_is_true(json_object_get(p, "im2vid_full")),
                         .seed = job_seed(job->id), .tmp_dir = env->tmp_dir, .preset = env->video_preset,
                         .crf = env->video_crf, .progress = env->progress, .should_stop = env->should_stop,
                         .ctx = env->ctx, .image_path = vj->image};
  if (vj->rig.kind == MIRA_RIG_PHOTO && env->input_path(env->ctx, vj->rig.image, vj->image, sizeof vj->image) != 0)
    return mira_err(err, errlen, MIRA_EIO, "the avatar's photo %s is missing from the blob store", vj->rig.image);
  if (text) {
    const char *engine = json_string_value(json_object_get(p, "voiceEngine"));
    const char *params = json_string_value(json_object_get(p, "voiceParams"));
    if (!engine || !params) return mira_err(err, errlen, MIRA_EINVAL, "the job has no voice parameters");
    q->text = text;
    q->voice = &vj->voice;
    return mira_catalog_tts_voice(engine, params, &vj->voice, vj->voice_name, sizeof vj->voice_name, err, errlen);
  }
  if (!media || env->input_path(env->ctx, media, vj->audio, sizeof vj->audio) != 0)
    return mira_err(err, errlen, MIRA_EIO, "the uploaded audio %s is missing from the blob store", media ? media : "");
  q->audio_path = vj->audio;
  return 0;
}

static int run_video(const mira_job *job, const mira_pipeline_env *env, mira_pipeline_output *out, char *err,
                     size_t errlen) {
  json_t *p = json_loads(job->params ? job->params : "", 0, NULL);
  if (!p) return mira_err(err, errlen, MIRA_EINVAL, "the job's parameters are not valid JSON");
  video_job vj;
  int rc = video_request(job, p, env, &vj, err, errlen);
  temp_paths(job, env, out);
  vj.q.out_mp4 = out->path;
  vj.q.out_thumb = out->thumb_path;
  vj.q.out_vtt = out->captions_path;
  mira_render_result res;
  if (!rc) rc = mira_render_video(&vj.q, &res, err, errlen);
  json_decref(p);
  if (rc) {
    out->path[0] = out->thumb_path[0] = out->captions_path[0] = 0;
    return rc;
  }
  if (!res.wrote_vtt) out->captions_path[0] = 0;
  snprintf(out->content_type, sizeof out->content_type, "video/mp4");
  snprintf(out->file_name, sizeof out->file_name, "%s.mp4", job->id);
  out->duration_ms = res.duration_ms;
  return 0;
}

static const mira_pipeline pipelines[MIRA_JOB_KIND_COUNT] = {
    [MIRA_JOB_VIDEO] = {MIRA_JOB_VIDEO, "video", run_video, NULL},
    [MIRA_JOB_IMAGE_GENERATE] = {MIRA_JOB_IMAGE_GENERATE, "image_generate", NULL,
                                 "text-to-image is not available in this build of Mira: the "
                                 "diffusion engine (engines/diffusion) and a Stable Diffusion "
                                 "model file are required and not present"},
    [MIRA_JOB_IMAGE_EDIT] = {MIRA_JOB_IMAGE_EDIT, "image_edit", NULL,
                             "image editing is not available in this build of Mira: the "
                             "diffusion engine (engines/diffusion) and a Stable Diffusion model "
                             "file are required and not present"},
    [MIRA_JOB_IMAGE_INPAINT] = {MIRA_JOB_IMAGE_INPAINT, "image_inpaint", NULL,
                                "inpainting is not available in this build of Mira: the inpaint "
                                "engine (engines/inpaint) is not implemented yet"},
};

void mira_pipeline_companion_id(const char *result_media_id, mira_companion which, char out[MIRA_ID_SIZE]) {
  char key[96];
  snprintf(key, sizeof key, "mira-%s:%s", which == MIRA_COMPANION_THUMB ? "thumb" : "captions", result_media_id);
  mira_id_derive(key, out);
}

const mira_pipeline *mira_pipeline_for(mira_job_kind kind) {
  if ((unsigned)kind >= MIRA_JOB_KIND_COUNT) kind = MIRA_JOB_VIDEO;
  return &pipelines[kind];
}
