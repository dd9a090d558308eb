/* The registry of job pipelines in this build.
 *
 * The engines arrive issue by issue; until a kind's engines are built, its
 * entry says what is missing and jobs of that kind fail with that message
 * (they are never faked). */
#include "engines/pipeline.h"

static const mira_pipeline pipelines[MIRA_JOB_KIND_COUNT] = {
    [MIRA_JOB_VIDEO] = {MIRA_JOB_VIDEO, "video", NULL,
                        "talking-avatar rendering is not available in this build of Mira: the "
                        "speech, face, animate and video engines (engines/speech, engines/face, "
                        "engines/animate, engines/video) are not implemented yet"},
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
