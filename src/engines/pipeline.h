/* Job pipelines: what a worker runs for each job kind.
 *
 *   const mira_pipeline *p = mira_pipeline_for(job->kind);
 *   rc = p->run(job, &env, &out, err, sizeof err);
 *
 * A pipeline composes engines (speech, face, animate, video, diffusion, ...)
 * and never touches HTTP or the store: it reads the job's validated params,
 * reads input media through env->input_path, reports progress through
 * env->progress, checks env->should_stop between steps, and leaves its output
 * as a file in env->tmp_dir, named in out. The worker pool stores the file as
 * a medium and finishes the job.
 *
 * A kind whose engines are not in this build (or not configured) has
 * run == NULL and a `missing` message that says exactly what to install or
 * configure; the job then fails with that message. Nothing pretends.
 *
 * Thread-safety: run() is called from several worker threads at once; each
 * pipeline must be safe for that (engines share read-only models).
 */
#ifndef MIRA_ENGINES_PIPELINE_H
#define MIRA_ENGINES_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct mira_pipeline_env {
  const char *tmp_dir;
  /* progress 0..100; cheap, call it as often as convenient */
  void (*progress)(void *ctx, int percent);
  /* non-zero when the server is shutting down: return MIRA_EBUSY soon */
  int (*should_stop)(void *ctx);
  /* local path of a READY medium's bytes, or MIRA_ENOENT */
  int (*input_path)(void *ctx, const char *media_id, char *out, size_t outlen);
  void *ctx;
  const char *video_preset; /* x264 preset; NULL: default */
  int video_crf;            /* 0: default */
} mira_pipeline_env;

typedef struct mira_pipeline_output {
  char path[1024];          /* output file in env->tmp_dir (moved away on success) */
  char content_type[64];    /* canonical type of the output */
  char file_name[128];      /* suggested download name */
  int64_t duration_ms;      /* videos */
  /* Companions of the output, stored under ids derived from the output's
   * (mira_pipeline_companion_id); "" when there is none. */
  char thumb_path[1024];    /* image/jpeg */
  char captions_path[1024]; /* text/vtt */
} mira_pipeline_output;

typedef enum mira_companion { MIRA_COMPANION_THUMB, MIRA_COMPANION_CAPTIONS } mira_companion;

/* The media id of an output's thumbnail or captions: derived, so the API
 * finds them from the job's result id alone. */
void mira_pipeline_companion_id(const char *result_media_id, mira_companion which, char out[MIRA_ID_SIZE]);

typedef struct mira_pipeline {
  mira_job_kind kind;
  const char *name;
  /* NULL when this build cannot run the kind; see `missing`. */
  int (*run)(const mira_job *job, const mira_pipeline_env *env, mira_pipeline_output *out,
             char *err, size_t errlen);
  const char *missing;
} mira_pipeline;

/* The pipeline for a kind; never NULL for a valid kind. */
const mira_pipeline *mira_pipeline_for(mira_job_kind kind);

#endif
