/* Route handlers, one group per resource file; routes.c wires them up.
 * Each takes the call, replies, and returns the HTTP status it sent. */
#ifndef MIRA_API_HANDLERS_H
#define MIRA_API_HANDLERS_H

#include "api/api.h"

/* avatars.c */
int mira_api_avatars_list(mira_call *c);
int mira_api_avatar_create(mira_call *c);
int mira_api_avatar_delete(mira_call *c);
/* voices.c */
int mira_api_voices_list(mira_call *c);
int mira_api_voice_create(mira_call *c);
int mira_api_voice_delete(mira_call *c);
int mira_api_voice_preview(mira_call *c);
/* media.c */
int mira_api_media_initialize(mira_call *c);
int mira_api_media_upload(mira_call *c);
int mira_api_media_finalize(mira_call *c);
int mira_api_file_download(mira_call *c);
/* create.c */
int mira_api_video_create(mira_call *c);
int mira_api_image_generate(mira_call *c);
int mira_api_image_edit(mira_call *c);
int mira_api_image_inpaint(mira_call *c);
/* jobs.c */
int mira_api_videos_list(mira_call *c);
int mira_api_video_get(mira_call *c);
int mira_api_video_download(mira_call *c);
int mira_api_video_status(mira_call *c);
int mira_api_video_thumbnail(mira_call *c);
int mira_api_video_captions(mira_call *c);
int mira_api_job_lookup(mira_call *c);
/* system.c */
int mira_api_healthz(mira_call *c);
int mira_api_metrics(mira_call *c);
int mira_api_openapi(mira_call *c);

#endif
