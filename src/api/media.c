/* Media: the three-step upload (initialize -> signed PUT -> finalize),
 * multipart uploads on create endpoints, and signed downloads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/handlers.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/error.h"
#include "core/sniff.h"
#include "http/signed.h"

#define SNIFF_BYTES 64

int64_t mira_link_bucket(void) {
  int64_t hour = 3600;
  return (mira_now_ms() / 1000 / hour) * hour + MIRA_DOWNLOAD_TTL_S + hour;
}

void mira_download_url(mira_call *c, const char *media_id, char *out, size_t outlen) {
  char path[64], q[MIRA_SIGNED_QUERY_SIZE];
  snprintf(path, sizeof path, "/files/%s", media_id);
  mira_signed_make(c->app->secret, MIRA_SECRET_LEN, "GET", path, mira_link_bucket(), q, sizeof q);
  snprintf(out, outlen, "%s%s?%s", c->app->public_url, path, q);
}

/* Path parameter i as an id, or "" when it cannot be one (then lookups 404). */
static void param_id(mira_call *c, int i, char out[MIRA_ID_SIZE]) {
  out[0] = 0;
  if (c->params.len[i] != MIRA_ID_LEN) return;
  memcpy(out, c->params.v[i], MIRA_ID_LEN);
  out[MIRA_ID_LEN] = 0;
  if (!mira_id_valid(out)) out[0] = 0;
}

/* Verifies the signed link this request came with: PREFIX{id}SUFFIX. */
static int check_signature(mira_call *c, const char *method, const char *prefix, const char *suffix,
                           const char *what) {
  h2o_req_t *req = c->req;
  const char *q = req->query_at == SIZE_MAX ? "" : req->path.base + req->query_at + 1;
  size_t qlen = req->query_at == SIZE_MAX ? 0 : req->path.len - req->query_at - 1;
  char path[128], err[256];
  snprintf(path, sizeof path, "%s%.*s%s", prefix, (int)c->params.len[0], c->params.v[0], suffix);
  int rc = mira_signed_check(c->app->secret, MIRA_SECRET_LEN, method, path, q, qlen, mira_now_ms() / 1000,
                             err, sizeof err);
  if (rc) return mira_reply_error(c, 401, "%s URL rejected: %s", what, err);
  return 0;
}

/* POST /api/media/initialize {fileName, contentType, fileSize} */
int mira_api_media_initialize(mira_call *c) {
  const char *name, *type;
  long long size = 0;
  if (mira_field_string(c, "fileName", 1, MIRA_NAME_SIZE - 1, &name) < 0 ||
      mira_field_string(c, "contentType", 1, 100, &type) < 0)
    return c->status;
  int has = mira_field_int(c, "fileSize", 1, INT64_MAX, &size);
  if (has < 0) return c->status;
  if (has == 0) return mira_reply_error(c, 400, "missing required field 'fileSize'");
  const char *canon = mira_sniff_canonical(type);
  if (!canon)
    return mira_reply_error(c, 415, "contentType '%s' is not supported; upload PNG, JPEG or WebP images "
                            "or WAV, MP3, M4A, OGG or FLAC audio", type);
  if (size > c->app->c.max_upload)
    return mira_reply_error(c, 413, "fileSize %lld exceeds the upload limit of %lld bytes", size,
                            (long long)c->app->c.max_upload);
  mira_media m = {0};
  char err[256], path[64], q[MIRA_SIGNED_QUERY_SIZE], url[1024];
  mira_id_new(m.id);
  memcpy(m.account_id, c->account_id, MIRA_ID_SIZE);
  snprintf(m.file_name, sizeof m.file_name, "%s", name);
  snprintf(m.content_type, sizeof m.content_type, "%s", canon);
  m.size = size;
  m.state = MIRA_MEDIA_PENDING;
  m.created_at = mira_now_ms();
  m.upload_expires_at = m.created_at + MIRA_UPLOAD_TTL_S * 1000LL;
  int rc = c->store->ops->media_insert(c->store, &m, err, sizeof err);
  if (rc) return mira_reply_rc(c, rc, err);
  snprintf(path, sizeof path, "/api/media/%s/upload", m.id);
  mira_signed_make(c->app->secret, MIRA_SECRET_LEN, "PUT", path, m.upload_expires_at / 1000, q, sizeof q);
  snprintf(url, sizeof url, "%s%s?%s", c->app->public_url, path, q);
  return mira_reply_json(c, 200, json_pack("{s:s,s:s}", "mediaId", m.id, "uploadUrl", url));
}

static int check_put_type(mira_call *c, const mira_media *m) {
  char ct[128];
  if (!mira_header(c, "content-type", ct, sizeof ct)) return 0;
  /* Generic types say nothing; finalize sniffs the bytes anyway. */
  if (!strncmp(ct, "application/octet-stream", 24) || !strncmp(ct, "application/x-www-form-urlencoded", 33))
    return 0;
  const char *canon = mira_sniff_canonical(ct);
  if (canon && !strcmp(canon, m->content_type)) return 0;
  return mira_reply_error(c, 415, "Content-Type '%s' does not match the declared contentType %s", ct,
                          m->content_type);
}

/* ---- the PUT's durable write, off the loop thread ---- */

typedef struct upload_task {
  mira_call call;            /* copy; its req is valid only if done() gets one */
  char id[MIRA_ID_SIZE];
  char tmp[1200];
  mira_media_state from;
  int64_t size;
  int rc;
  char err[256];
} upload_task;

static void upload_work(void *iodata, void *arg) { /* I/O thread: fsync, rename, fsync dir, record */
  upload_task *u = arg;
  mira_blob *b = u->call.app->blob;
  mira_store *st = ((mira_api_thread *)iodata)->store;
  u->rc = b->ops->put_file(b, u->id, u->tmp, u->err, sizeof u->err);
  if (u->rc) unlink(u->tmp);
  else u->rc = st->ops->media_set_state(st, u->id, u->from, MIRA_MEDIA_UPLOADED, u->size, u->err, sizeof u->err);
}

static void upload_done(h2o_req_t *req, void *arg) { /* loop thread */
  upload_task *u = arg;
  mira_call *c = &u->call;
  if (req) {
    if (u->rc) mira_reply_rc(c, u->rc, u->err);
    else mira_reply_json(c, 200, json_pack("{s:b}", "success", 1));
    mira_call_finish(c);
  }
  free(u);
}

/* Writes the body to a temp file here (page cache, fast) and leaves the
 * fsync, the rename and the database update to the I/O pool, so a big
 * upload never stalls the loop. */
static int upload_commit(mira_call *c, const mira_media *m, size_t len) {
  upload_task *u = calloc(1, sizeof *u);
  if (!u) return mira_reply_error(c, 500, "out of memory");
  u->call = *c;
  u->call.body = NULL;
  memcpy(u->id, m->id, MIRA_ID_SIZE);
  u->from = m->state;
  u->size = (int64_t)len;
  uint8_t rnd[8];
  char hex[17];
  mira_random_bytes(rnd, sizeof rnd);
  mira_hex(rnd, sizeof rnd, hex);
  snprintf(u->tmp, sizeof u->tmp, "%s/upload-%s-%s", c->app->blob->ops->tmp_dir(c->app->blob), m->id, hex);
  int fd = open(u->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  size_t done = 0;
  while (fd >= 0 && done < len) {
    ssize_t w = write(fd, c->req->entity.base + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += (size_t)w;
  }
  int saved = errno;
  if (fd >= 0) close(fd);
  if (fd < 0 || done < len) {
    unlink(u->tmp);
    free(u);
    return mira_reply_error(c, 500, "cannot store the upload: %s", strerror(saved));
  }
  if (mira_http_offload(c->req, upload_work, upload_done, u) != 0) {
    unlink(u->tmp);
    free(u);
    return mira_reply_error(c, 500, "out of memory");
  }
  c->deferred = 1;
  return 0;
}

/* PUT /api/media/{id}/upload?expires=..&sig=.. — authorised by the signature. */
int mira_api_media_upload(mira_call *c) {
  char id[MIRA_ID_SIZE], err[256];
  param_id(c, 0, id);
  h2o_req_t *req = c->req;
  if (check_signature(c, "PUT", "/api/media/", "/upload", "upload")) return c->status;
  mira_media m;
  int rc;
  rc = c->store->ops->media_get(c->store, id, NULL, &m, err, sizeof err);
  if (rc) return mira_reply_rc(c, rc, err);
  if (m.state == MIRA_MEDIA_READY)
    return mira_reply_error(c, 422, "medium %s is already finalized; initialize a new upload", id);
  if (check_put_type(c, &m)) return c->status;
  size_t got = req->entity.len;
  if ((int64_t)got > m.size)
    return mira_reply_error(c, 413, "received %zu bytes but fileSize was declared as %lld", got, (long long)m.size);
  if ((int64_t)got < m.size)
    return mira_reply_error(c, 400, "received %zu bytes but fileSize was declared as %lld", got, (long long)m.size);
  return upload_commit(c, &m, got);
}

/* POST /api/media/finalize {mediaId} */
int mira_api_media_finalize(mira_call *c) {
  const char *id;
  char err[256];
  if (mira_field_id(c, "mediaId", 1, &id) < 0) return c->status;
  mira_media m;
  int rc = c->store->ops->media_get(c->store, id, c->account_id, &m, err, sizeof err);
  if (rc) return mira_reply_rc(c, rc, err);
  if (m.state == MIRA_MEDIA_READY) return mira_reply_json(c, 200, json_pack("{s:b}", "success", 1));
  if (m.state == MIRA_MEDIA_PENDING)
    return mira_reply_error(c, 422, "medium %s has no uploaded bytes yet: PUT the file to its uploadUrl first", id);
  uint8_t head[SNIFF_BYTES];
  size_t got = 0;
  int64_t size = 0;
  rc = c->app->blob->ops->read_head(c->app->blob, id, head, sizeof head, &got, err, sizeof err);
  if (rc == 0) rc = c->app->blob->ops->size(c->app->blob, id, &size, err, sizeof err);
  if (rc) return mira_reply_rc(c, rc, err);
  if (size != m.size)
    return mira_reply_error(c, 400, "stored size %lld differs from the declared %lld", (long long)size, (long long)m.size);
  const char *sniffed = mira_sniff(head, got);
  if (!sniffed || strcmp(sniffed, m.content_type) != 0)
    return mira_reply_error(c, 415, "the uploaded bytes are %s, not the declared %s",
                            sniffed ? sniffed : "not a recognised image or audio format", m.content_type);
  rc = c->store->ops->media_set_state(c->store, id, MIRA_MEDIA_UPLOADED, MIRA_MEDIA_READY, -1, err, sizeof err);
  if (rc) return mira_reply_rc(c, rc, err);
  return mira_reply_json(c, 200, json_pack("{s:b}", "success", 1));
}

/* GET /files/{id}?expires=..&sig=.. — what downloadUrl points at; no key. */
int mira_api_file_download(mira_call *c) {
  char id[MIRA_ID_SIZE], err[256];
  param_id(c, 0, id);
  if (check_signature(c, "GET", "/files/", "", "download")) return c->status;
  mira_media m;
  int rc;
  rc = c->store->ops->media_get(c->store, id, NULL, &m, err, sizeof err);
  if (rc == 0 && m.state != MIRA_MEDIA_READY) rc = MIRA_ENOENT;
  if (rc == MIRA_ENOENT) return mira_reply_error(c, 404, "file %s not found", id);
  if (rc) return mira_reply_rc(c, rc, err);
  return mira_reply_file(c, id, m.content_type);
}

int mira_check_media(mira_call *c, const char *field, const char *id, int want_image) {
  mira_media m;
  char err[256];
  int rc = c->store->ops->media_get(c->store, id, c->account_id, &m, err, sizeof err);
  if (rc == MIRA_ENOENT) return mira_reply_error(c, 404, "%s '%s' not found", field, id), -1;
  if (rc) return mira_reply_rc(c, rc, err), -1;
  if (m.state != MIRA_MEDIA_READY)
    return mira_reply_error(c, 422, "%s '%s' is not finalized: call /api/media/finalize first", field, id), -1;
  if (mira_sniff_is_image(m.content_type) != want_image)
    return mira_reply_error(c, 415, "%s '%s' is %s; an %s is required", field, id, m.content_type,
                            want_image ? "image" : "audio file"), -1;
  return 0;
}

int mira_store_upload(mira_call *c, const mira_multipart_part *p, int want_image,
                      char id_out[MIRA_ID_SIZE], char digest_out[65]) {
  char err[256];
  const char *sniffed = mira_sniff(p->data, p->len);
  if ((int64_t)p->len > c->app->c.max_upload)
    return mira_reply_error(c, 413, "file '%.*s' is %zu bytes; the upload limit is %lld", (int)p->name_len,
                            p->name, p->len, (long long)c->app->c.max_upload), -1;
  if (!sniffed || mira_sniff_is_image(sniffed) != want_image)
    return mira_reply_error(c, 415, "file field '%.*s' must be %s", (int)p->name_len, p->name,
                            want_image ? "a PNG, JPEG or WebP image" : "WAV, MP3, M4A, OGG or FLAC audio"), -1;
  mira_media m = {0};
  mira_id_new(m.id);
  memcpy(m.account_id, c->account_id, MIRA_ID_SIZE);
  snprintf(m.file_name, sizeof m.file_name, "%.*s", (int)p->filename_len, p->filename);
  snprintf(m.content_type, sizeof m.content_type, "%s", sniffed);
  m.size = (int64_t)p->len;
  m.state = MIRA_MEDIA_READY;
  m.created_at = mira_now_ms();
  int rc = c->app->blob->ops->put(c->app->blob, m.id, p->data, p->len, err, sizeof err);
  if (rc == 0) {
    rc = c->store->ops->media_insert(c->store, &m, err, sizeof err);
    if (rc) c->app->blob->ops->remove(c->app->blob, m.id, NULL, 0);
  }
  if (rc) return mira_reply_rc(c, rc, err), -1;
  mira_sha256_hex(p->data, p->len, digest_out);
  memcpy(id_out, m.id, MIRA_ID_SIZE);
  return 0;
}

