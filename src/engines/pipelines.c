/* The registry of job pipelines in this build.
 *
 * The engines arrive issue by issue. A kind whose engines are not built says
 * what is missing, and its jobs fail with that message; they are never
 * faked. The video pipeline already runs its first stage for real — speech
 * synthesis or decoding and analysing the uploaded audio — so a bad voice or
 * a corrupt upload fails with its own message, and then stops where the
 * missing renderer would begin. */
#include "engines/pipeline.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "engines/audio/audio.h"
#include "engines/speech/catalog.h"
#include "engines/speech/speech.h"

#define VIDEO_AUDIO_RATE 48000 /* what the MP4's AAC track will carry */
#define RENDERER_MISSING                                                                           \
  "talking-avatar rendering is not available in this build of Mira: the face, animate and video " \
  "engines (engines/face, engines/animate, engines/video) are not implemented yet"

static int video_speech(json_t *p, const mira_pipeline_env *env, int64_t *ms, char *err, size_t errlen) {
  const char *text = json_string_value(json_object_get(p, "text"));
  const char *engine = json_string_value(json_object_get(p, "voiceEngine"));
  const char *params = json_string_value(json_object_get(p, "voiceParams"));
  if (!engine || !params) return mira_err(err, errlen, MIRA_EINVAL, "the job has no voice parameters");
  mira_tts_voice v;
  mira_speech sp = {0};
  char name[96];
  int rc = mira_catalog_tts_voice(engine, params, &v, name, sizeof name, err, errlen);
  if (rc == 0) rc = mira_speech_synth(&v, text, &sp, err, errlen);
  if (rc) return rc;
  *ms = mira_speech_duration_ms(&sp);
  mira_speech_free(&sp);
  env->progress(env->ctx, 10);
  return 0;
}

/* Recognised phones give the right viseme in ~73% of frames against ~28% for
 * the spectral guess (tests/unit/test_phones.c). The model is English; other
 * languages still get mouth shapes from the nearest English phones, which
 * beats the guess. Without the model the guess stays. */
static void refine_visemes(const mira_pcm *pcm, mira_mouth_track *mt) {
  mira_phone_track pt;
  char why[256];
  if (mira_audio_phones(pcm, &pt, why, sizeof why) != 0) return;
  mira_phone_track_visemes(&pt, mt->frame_ms, mt->viseme, mt->frames);
  mira_phone_track_free(&pt);
}

static int video_audio(json_t *p, const mira_pipeline_env *env, int64_t *ms, char *err, size_t errlen) {
  const char *media = json_string_value(json_object_get(p, "mediaId"));
  char path[1024];
  if (!media || env->input_path(env->ctx, media, path, sizeof path) != 0)
    return mira_err(err, errlen, MIRA_EIO, "the uploaded audio %s is missing from the blob store", media ? media : "");
  mira_pcm pcm;
  mira_mouth_track mt;
  int rc = mira_audio_decode(path, VIDEO_AUDIO_RATE, MIRA_AUDIO_MAX_SECONDS, &pcm, err, errlen);
  if (rc) return rc;
  env->progress(env->ctx, 5);
  mira_audio_normalize(&pcm, MIRA_AUDIO_TARGET_LUFS);
  rc = mira_audio_mouth_track(&pcm, 10, &mt, err, errlen);
  if (rc == 0) {
    refine_visemes(&pcm, &mt);
    mira_mouth_track_free(&mt);
  }
  *ms = mira_pcm_duration_ms(&pcm);
  mira_pcm_free(&pcm);
  env->progress(env->ctx, 10);
  return rc;
}

static int run_video(const mira_job *job, const mira_pipeline_env *env, mira_pipeline_output *out, char *err,
                     size_t errlen) {
  json_t *p = json_loads(job->params ? job->params : "", 0, NULL);
  if (!p) return mira_err(err, errlen, MIRA_EINVAL, "the job's parameters are not valid JSON");
  int64_t ms = 0;
  int speech = json_is_string(json_object_get(p, "text"));
  int rc = speech ? video_speech(p, env, &ms, err, errlen) : video_audio(p, env, &ms, err, errlen);
  json_decref(p);
  if (rc) return rc;
  return mira_err(err, errlen, MIRA_ENOTSUP, RENDERER_MISSING " (the %s, %.3f s, was prepared)",
                  speech ? "speech" : "audio track", ms / 1000.0);
}

static const mira_pipeline pipelines[MIRA_JOB_KIND_COUNT] = {
    [MIRA_JOB_VIDEO] = {MIRA_JOB_VIDEO, "video", run_video, RENDERER_MISSING},
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

const mira_pipeline *mira_pipeline_for(mira_job_kind kind) {
  if ((unsigned)kind >= MIRA_JOB_KIND_COUNT) kind = MIRA_JOB_VIDEO;
  return &pipelines[kind];
}
