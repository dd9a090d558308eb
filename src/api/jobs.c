/* Jobs over HTTP: creating one (all-or-nothing, idempotent), its status,
 * Miraflow's general lookup, and the video views of finished jobs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/error.h"
#include "core/log.h"
#include "engines/pipeline.h"

#define IDEMPOTENCY_KEY_MAX 255

void mira_discard_media(mira_call *c, char ids[][MIRA_ID_SIZE], int n) {
  for (int i = 0; i < n; i++) {
    c->store->ops->media_delete(c->store, ids[i], c->account_id, NULL, 0);
    c->app->blob->ops->remove(c->app->blob, ids[i], NULL, 0);
  }
}

/* sha256(kind, name, avatar, params) with every uploaded media id replaced by
 * its content digest, so a replay with the same files matches. */
static void fingerprint(const mira_job *job, char ids[][MIRA_ID_SIZE], char digests[][65], int n,
                        char out[MIRA_SHA256_HEX_SIZE]) {
  size_t plen = strlen(job->params), cap = plen + (size_t)n * 64 + MIRA_NAME_SIZE + 64;
  char *buf = malloc(cap);
  if (!buf) {
    mira_sha256_hex(job->params, plen, out);
    return;
  }
  size_t len = (size_t)snprintf(buf, cap, "%d\n%s\n%s\n", (int)job->kind, job->name, job->avatar_id);
  for (const char *p = job->params; *p;) {
    int hit = -1;
    for (int i = 0; i < n && hit < 0; i++)
      if (strncmp(p, ids[i], MIRA_ID_LEN) == 0) hit = i;
    if (hit >= 0) {
      memcpy(buf + len, digests[hit], 64);
      len += 64, p += MIRA_ID_LEN;
    } else {
      buf[len++] = *p++;
    }
  }
  mira_sha256_hex(buf, len, out);
  free(buf);
}

static int reply_job_id(mira_call *c, const char *id) {
  return mira_reply_json(c, 200, json_pack("{s:s,s:s}", "result", "success", "jobId", id));
}

int mira_create_job(mira_call *c, mira_job_kind kind, const char *name, const char *avatar_id,
                    json_t *params, char cleanup[][MIRA_ID_SIZE], char digests[][65], int ncleanup) {
  char idem[IDEMPOTENCY_KEY_MAX + 2] = "", hash[MIRA_SHA256_HEX_SIZE], err[256];
  int has_idem = mira_header(c, "idempotency-key", idem, sizeof idem);
  if (has_idem && (idem[0] == 0 || strlen(idem) > IDEMPOTENCY_KEY_MAX)) {
    mira_discard_media(c, cleanup, ncleanup);
    json_decref(params);
    return mira_reply_error(c, 400, "Idempotency-Key must be 1 to %d characters", IDEMPOTENCY_KEY_MAX);
  }
  mira_job job = {0};
  job.params = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(params);
  mira_id_new(job.id);
  memcpy(job.account_id, c->account_id, MIRA_ID_SIZE);
  job.kind = kind;
  snprintf(job.name, sizeof job.name, "%s", name);
  snprintf(job.avatar_id, sizeof job.avatar_id, "%s", avatar_id ? avatar_id : "");
  if (job.params) fingerprint(&job, cleanup, digests, ncleanup, hash);
  int rc = job.params ? c->store->ops->job_insert(c->store, &job, has_idem ? idem : NULL, hash,
                                                  MIRA_IDEMPOTENCY_TTL_MS, err, sizeof err)
                      : mira_err(err, sizeof err, MIRA_ENOMEM, "out of memory");
  char id[MIRA_ID_SIZE];
  memcpy(id, job.id, MIRA_ID_SIZE);
  mira_job_clear(&job);
  if (rc == MIRA_EEXIST && has_idem) {
    mira_discard_media(c, cleanup, ncleanup); /* the original request's files serve the job */
    return reply_job_id(c, id);
  }
  if (rc) {
    mira_discard_media(c, cleanup, ncleanup);
    if (rc == MIRA_ECONFLICT)
      return mira_reply_error(c, 422, "Idempotency-Key '%s' was already used with a different request", idem);
    return mira_reply_rc(c, rc, err);
  }
  MIRA_LOGI("jobs", "job %s %s: inference_started (account %s)", id, mira_job_kind_name(kind), c->account_id);
  mira_jobs_notify(c->app->jobs);
  return reply_job_id(c, id);
}

/* ---- lookups ---- */

static int load_job(mira_call *c, mira_job *job, const char *what) {
  char id[MIRA_ID_SIZE + 1], err[256];
  size_t n = c->params.len[0] <= MIRA_ID_LEN ? c->params.len[0] : MIRA_ID_LEN + 1;
  memcpy(id, c->params.v[0], n);
  id[n] = 0;
  int rc = mira_id_valid(id) ? c->store->ops->job_get(c->store, id, c->account_id, job, err, sizeof err)
                             : MIRA_ENOENT;
  if (rc == MIRA_ENOENT) return mira_reply_error(c, 404, "%s '%s' not found", what, id), -1;
  if (rc) return mira_reply_rc(c, rc, err), -1;
  return 0;
}

static json_t *status_object(const mira_job *j) {
  char pct[8];
  snprintf(pct, sizeof pct, "%d%%", j->status == MIRA_JOB_COMPLETE ? 100 : j->progress);
  json_t *o = json_pack("{s:s,s:s,s:s}", "result", "success", "status", mira_job_status_name(j->status),
                        "progress", pct);
  if (j->status == MIRA_JOB_FAILED || j->status == MIRA_JOB_ERROR)
    json_object_set_new(o, "error", json_string(j->error));
  return o;
}

int mira_api_video_status(mira_call *c) {
  mira_job j;
  if (load_job(c, &j, "job") < 0) return c->status;
  json_t *o = status_object(&j);
  mira_job_clear(&j);
  return mira_reply_json(c, 200, o);
}

static json_t *image_result(mira_call *c, const mira_job *j) {
  char when[MIRA_ISO8601_SIZE], url[1024];
  mira_iso8601(j->created_at, when);
  mira_download_url(c, j->result_media_id, url, sizeof url);
  json_t *params = json_loads(j->params ? j->params : "{}", 0, NULL);
  json_t *prompt = params ? json_object_get(params, "prompt") : NULL;
  json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", j->id, "name", j->name, "prompt",
                        json_is_string(prompt) ? json_string_value(prompt) : "", "createdAt", when,
                        "downloadUrl", url, "mediaId", j->result_media_id);
  json_object_set_new(o, "status", json_string(mira_job_status_name(j->status)));
  json_decref(params);
  return o;
}

int mira_api_job_lookup(mira_call *c) {
  mira_job j;
  if (load_job(c, &j, "job") < 0) return c->status;
  json_t *o = (j.kind != MIRA_JOB_VIDEO && j.status == MIRA_JOB_COMPLETE) ? image_result(c, &j) : status_object(&j);
  mira_job_clear(&j);
  return mira_reply_json(c, 200, o);
}

/* ---- videos ---- */

static json_t *video_object(mira_call *c, const mira_job *j, int with_url) {
  char when[MIRA_ISO8601_SIZE];
  mira_iso8601(j->created_at, when);
  json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", j->id, "name", j->name, "sourceAvatarId", j->avatar_id,
                        "createdAt", when);
  if (with_url) {
    char url[1024];
    mira_download_url(c, j->result_media_id, url, sizeof url);
    json_object_set_new(o, "downloadUrl", json_string(url));
  }
  return o;
}

static int add_video(void *ud, const mira_job *j) {
  mira_call *c = ((void **)ud)[0];
  json_array_append_new(((void **)ud)[1], video_object(c, j, 0));
  return 0;
}

int mira_api_videos_list(mira_call *c) {
  json_t *arr = json_array();
  void *ud[2] = {c, arr};
  char err[256];
  int rc = c->store->ops->job_list(c->store, c->account_id, MIRA_JOB_VIDEO, MIRA_JOB_COMPLETE, add_video, ud,
                                   err, sizeof err);
  if (rc) {
    json_decref(arr);
    return mira_reply_rc(c, rc, err);
  }
  return mira_reply_json(c, 200, json_pack("{s:o}", "videos", arr));
}

/* A video exists as a resource once its job completed; before that the
 * status endpoint is the place to look, and the message says so. */
static int load_video(mira_call *c, mira_job *j) {
  if (load_job(c, j, "video") < 0) return -1;
  if (j->kind != MIRA_JOB_VIDEO) {
    mira_reply_error(c, 404, "video '%s' not found (it is an %s job)", j->id, mira_job_kind_name(j->kind));
  } else if (j->status != MIRA_JOB_COMPLETE) {
    mira_reply_error(c, 404, "video '%s' is not ready: its status is %s; poll /api/video/%s/status", j->id,
                     mira_job_status_name(j->status), j->id);
  } else {
    return 0;
  }
  mira_job_clear(j);
  return -1;
}

int mira_api_video_get(mira_call *c) {
  mira_job j;
  if (load_video(c, &j) < 0) return c->status;
  json_t *o = video_object(c, &j, 1);
  mira_job_clear(&j);
  return mira_reply_json(c, 200, o);
}

/* Thumbnail and captions are companions of the video file, found by id. */
static int companion(mira_call *c, mira_companion which, const char *type) {
  mira_job j;
  if (load_video(c, &j) < 0) return c->status;
  char id[MIRA_ID_SIZE], err[256];
  mira_pipeline_companion_id(j.result_media_id, which, id);
  mira_job_clear(&j);
  mira_media m;
  int rc = c->store->ops->media_get(c->store, id, c->account_id, &m, err, sizeof err);
  if (rc == MIRA_ENOENT)
    return mira_reply_error(c, 404, "this video has no %s", which == MIRA_COMPANION_THUMB ? "thumbnail"
                            : "captions (it was made from an audio track, which has no words)");
  if (rc) return mira_reply_rc(c, rc, err);
  return mira_reply_file(c, id, type);
}

int mira_api_video_thumbnail(mira_call *c) { return companion(c, MIRA_COMPANION_THUMB, "image/jpeg"); }
int mira_api_video_captions(mira_call *c) { return companion(c, MIRA_COMPANION_CAPTIONS, "text/vtt; charset=utf-8"); }

int mira_api_video_download(mira_call *c) {
  mira_job j;
  if (load_video(c, &j) < 0) return c->status;
  char media[MIRA_ID_SIZE];
  memcpy(media, j.result_media_id, MIRA_ID_SIZE);
  mira_job_clear(&j);
  return mira_reply_file(c, media, "video/mp4");
}
