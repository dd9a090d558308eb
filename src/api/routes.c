/* Every route the server answers. /api/openapi.json must describe exactly
 * these (a test compares the two lists). */
#include "api/handlers.h"

#define PUB MIRA_ROUTE_PUBLIC
#define BODY MIRA_ROUTE_BODY
#define WRITE (MIRA_ROUTE_BODY | MIRA_ROUTE_OFFLOAD) /* writes and fsyncs: off the loop */

const mira_route mira_routes[] = {
    {"GET", "/api/avatars", mira_api_avatars_list, 0, "List stock and own avatars"},
    {"POST", "/api/avatars", mira_api_avatar_create, WRITE, "Create an avatar from a photo (face checked)"},
    {"DELETE", "/api/avatars/{id}", mira_api_avatar_delete, MIRA_ROUTE_OFFLOAD, "Delete an own avatar"},
    {"GET", "/api/voices", mira_api_voices_list, 0, "List stock and own voices (?all=1: every installed voice)"},
    {"POST", "/api/voices", mira_api_voice_create, WRITE, "Create a custom voice preset"},
    {"DELETE", "/api/voices/{id}", mira_api_voice_delete, MIRA_ROUTE_OFFLOAD, "Delete an own custom voice"},
    {"POST", "/api/voices/{id}/preview", mira_api_voice_preview, MIRA_ROUTE_OFFLOAD | MIRA_ROUTE_BODY_OPT,
     "Hear a voice: a short WAV"},
    {"GET", "/api/videos", mira_api_videos_list, 0, "List completed videos"},
    {"POST", "/api/video/create", mira_api_video_create, WRITE, "Create a talking-avatar video job"},
    {"GET", "/api/video/{id}", mira_api_video_get, 0, "Completed video metadata with a signed download URL"},
    {"GET", "/api/video/{id}/download", mira_api_video_download, 0, "Download a completed video (MP4, Range)"},
    {"GET", "/api/video/{id}/status", mira_api_video_status, 0, "Status and progress of a job"},
    {"GET", "/api/video/{id}/thumbnail", mira_api_video_thumbnail, 0, "A completed video's thumbnail (JPEG)"},
    {"GET", "/api/video/{id}/captions.vtt", mira_api_video_captions, 0, "A completed video's captions (WebVTT)"},
    {"POST", "/api/image/generate", mira_api_image_generate, WRITE, "Create a text-to-image job"},
    {"POST", "/api/image/edit", mira_api_image_edit, WRITE, "Create an image editing job"},
    {"POST", "/api/image/inpaint", mira_api_image_inpaint, WRITE, "Create an inpainting job"},
    {"GET", "/api/image/{id}", mira_api_job_lookup, 0, "Status or result of any job"},
    {"POST", "/api/media/initialize", mira_api_media_initialize, WRITE, "Start an upload: get a signed upload URL"},
    {"PUT", "/api/media/{id}/upload", mira_api_media_upload, PUB, "Upload the bytes (signed URL, no API key)"},
    {"POST", "/api/media/finalize", mira_api_media_finalize, WRITE, "Validate an uploaded file and make it usable"},
    {"GET", "/files/{id}", mira_api_file_download, PUB, "Download a file by signed URL (no API key, Range)"},
    {"GET", "/api/openapi.json", mira_api_openapi, PUB, "This API as an OpenAPI 3 document"},
    {"GET", "/healthz", mira_api_healthz, PUB, "Liveness and database check"},
    {"GET", "/metrics", mira_api_metrics, PUB, "Prometheus metrics"},
    {NULL, NULL, NULL, 0, NULL},
};

size_t mira_routes_count(void) {
  size_t n = 0;
  while (mira_routes[n].method) n++;
  return n;
}
