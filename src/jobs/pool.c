#define _GNU_SOURCE /* pthread_timedjoin_np */
/* Worker pool: claim -> run pipeline -> store result -> finish; plus a
 * heartbeat thread that keeps leases alive and publishes progress. */
#include "jobs/pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blob/media.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "engines/pipeline.h"

#define HEARTBEAT_TICK_MS 1000

typedef struct worker {
  struct mira_jobs *pool;
  int index;
  pthread_t thread;
  mira_store *store;
  char owner[128];
  /* the running job, shared with the heartbeat thread under pool->mu */
  char job_id[MIRA_ID_SIZE];
  atomic_int progress;
  int written_progress;
  int64_t last_beat_ms;
} worker;

struct mira_jobs {
  mira_jobs_config c;
  mira_blob *blob;
  worker *workers;
  pthread_t heartbeat;
  mira_store *hb_store;
  pthread_mutex_t mu;
  pthread_cond_t wake;
  atomic_int stopping;
  int heartbeat_started;
  mira_jobs_stats stats; /* under mu */
};

mira_jobs_config mira_jobs_default_config(void) {
  mira_jobs_config c = {.workers = 2, .store_backend = "sqlite", .store_dsn = "data/mira.db",
                        .lease_ms = 30000, .max_attempts = 3, .poll_ms = 500};
  return c;
}

static void sleep_ms(int64_t ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- pipeline environment ---- */

static void env_progress(void *ctx, int pct) {
  worker *w = ctx;
  if (pct < 0) pct = 0;
  if (pct > 99) pct = 99; /* 100% means stored, which only the pool knows */
  atomic_store(&w->progress, pct);
}

static int env_should_stop(void *ctx) { return atomic_load(&((worker *)ctx)->pool->stopping); }

static int env_input_path(void *ctx, const char *media_id, char *out, size_t outlen) {
  worker *w = ctx;
  return w->pool->blob->ops->path(w->pool->blob, media_id, out, outlen);
}

/* ---- running one job ---- */

static int store_file(worker *w, const mira_job *job, const char *id, const char *path, const char *type,
                      const char *file_name, char *err, size_t errlen) {
  mira_media m = {.created_at = mira_now_ms()};
  snprintf(m.id, sizeof m.id, "%s", id);
  snprintf(m.account_id, sizeof m.account_id, "%s", job->account_id);
  snprintf(m.file_name, sizeof m.file_name, "%s", file_name);
  snprintf(m.content_type, sizeof m.content_type, "%s", type);
  return mira_media_put_file(w->store, w->pool->blob, &m, path, err, errlen);
}

/* The output, then its companions (thumbnail, captions) under derived ids,
 * all before the job is marked complete: a complete job has all of them. */
static int store_output(worker *w, const mira_job *job, mira_pipeline_output *o, char *media_id,
                        char *err, size_t errlen) {
  char id[MIRA_ID_SIZE], name[MIRA_NAME_SIZE + 8];
  mira_id_new(id);
  int rc = store_file(w, job, id, o->path, o->content_type, o->file_name[0] ? o->file_name : job->name, err, errlen);
  if (rc) return rc;
  o->path[0] = 0;
  memcpy(media_id, id, MIRA_ID_SIZE);
  char *paths[2] = {o->thumb_path, o->captions_path};
  const char *types[2] = {"image/jpeg", "text/vtt"}, *ext[2] = {"jpg", "vtt"};
  for (int k = 0; k < 2 && rc == 0; k++) {
    if (!paths[k][0]) continue;
    mira_pipeline_companion_id(id, k == 0 ? MIRA_COMPANION_THUMB : MIRA_COMPANION_CAPTIONS, name);
    char file_name[MIRA_NAME_SIZE];
    snprintf(file_name, sizeof file_name, "%s.%s", job->id, ext[k]);
    rc = store_file(w, job, name, paths[k], types[k], file_name, err, errlen);
    if (rc == 0) paths[k][0] = 0; /* moved: nothing left to clean up */
  }
  return rc;
}

static void drop_temp(mira_pipeline_output *o) {
  if (o->path[0]) unlink(o->path);
  if (o->thumb_path[0]) unlink(o->thumb_path);
  if (o->captions_path[0]) unlink(o->captions_path);
}

/* Testing aid (MIRA_TEST_JOB_DELAY_MS): holds a job in WORKING with visible
 * progress so durability tests can kill the server mid-job. */
static void test_delay(worker *w) {
  int64_t total = w->pool->c.test_delay_ms, step = total / 20 + 1;
  for (int64_t t = 0; t < total && !atomic_load(&w->pool->stopping); t += step) {
    env_progress(w, (int)(t * 50 / total));
    sleep_ms(step);
  }
}

static void finish(worker *w, const mira_job *job, mira_job_status st, const char *msg,
                   const char *media_id, int64_t duration_ms) {
  char err[256];
  int rc = w->store->ops->job_finish(w->store, job->id, w->owner, st, msg, media_id, duration_ms,
                                     err, sizeof err);
  if (rc) MIRA_LOGW("jobs", "job %s: cannot record %s: %s", job->id, mira_job_status_name(st), err);
  else if (msg) MIRA_LOGI("jobs", "job %s %s: %s: %s", job->id, mira_job_kind_name(job->kind),
                          mira_job_status_name(st), msg);
  else MIRA_LOGI("jobs", "job %s %s: %s", job->id, mira_job_kind_name(job->kind), mira_job_status_name(st));
}

static void run_job(worker *w, const mira_job *job) {
  const mira_pipeline *p = mira_pipeline_for(job->kind);
  mira_pipeline_env env = {w->pool->blob->ops->tmp_dir(w->pool->blob), env_progress,
                           env_should_stop, env_input_path, w};
  env.video_preset = w->pool->c.video_preset;
  env.video_crf = w->pool->c.video_crf;
  mira_pipeline_output out = {0};
  char err[MIRA_ERRMSG_SIZE] = "";
  char media_id[MIRA_ID_SIZE] = "";
  uint64_t t0 = mira_mono_ns();

  if (w->pool->c.test_delay_ms > 0) test_delay(w);
  int rc;
  if (atomic_load(&w->pool->stopping)) rc = MIRA_EBUSY;
  else if (!p->run) rc = mira_err(err, sizeof err, MIRA_ENOTSUP, "%s", p->missing);
  else rc = p->run(job, &env, &out, err, sizeof err);
  if (rc == 0) rc = store_output(w, job, &out, media_id, err, sizeof err);

  if (rc == MIRA_EBUSY && atomic_load(&w->pool->stopping)) {
    w->store->ops->job_requeue(w->store, job->id, w->owner, NULL, 0);
    MIRA_LOGI("jobs", "job %s: re-queued for shutdown", job->id);
    drop_temp(&out);
    return;
  }
  if (rc == 0) finish(w, job, MIRA_JOB_COMPLETE, NULL, media_id, out.duration_ms);
  else finish(w, job, rc == MIRA_EIO || rc == MIRA_ENOMEM ? MIRA_JOB_ERROR : MIRA_JOB_FAILED, err,
              NULL, 0);
  drop_temp(&out);

  pthread_mutex_lock(&w->pool->mu);
  w->pool->stats.seconds[job->kind] += (double)(mira_mono_ns() - t0) / 1e9;
  w->pool->stats.finished[job->kind]++;
  pthread_mutex_unlock(&w->pool->mu);
}

static void set_running(worker *w, const char *job_id) {
  pthread_mutex_lock(&w->pool->mu);
  snprintf(w->job_id, sizeof w->job_id, "%s", job_id ? job_id : "");
  atomic_store(&w->progress, 0);
  w->written_progress = 0;
  w->last_beat_ms = mira_now_ms();
  pthread_mutex_unlock(&w->pool->mu);
}

static void wait_for_work(mira_jobs *j) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t ns = ts.tv_nsec + (j->c.poll_ms % 1000) * 1000000L;
  ts.tv_sec += j->c.poll_ms / 1000 + ns / 1000000000L;
  ts.tv_nsec = ns % 1000000000L;
  pthread_mutex_lock(&j->mu);
  if (!atomic_load(&j->stopping)) pthread_cond_timedwait(&j->wake, &j->mu, &ts);
  pthread_mutex_unlock(&j->mu);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  mira_jobs *j = w->pool;
  char err[256];
  while (!atomic_load(&j->stopping)) {
    mira_job job = {0};
    int rc = w->store->ops->job_claim(w->store, w->owner, j->c.lease_ms, j->c.max_attempts, &job,
                                      err, sizeof err);
    if (rc == MIRA_ENOENT) {
      wait_for_work(j);
      continue;
    }
    if (rc) {
      MIRA_LOGW("jobs", "claim failed: %s", err);
      wait_for_work(j);
      continue;
    }
    MIRA_LOGI("jobs", "job %s %s: inference_working (attempt %d, %s)", job.id,
              mira_job_kind_name(job.kind), job.attempts, w->owner);
    set_running(w, job.id);
    run_job(w, &job);
    set_running(w, NULL);
    mira_job_clear(&job);
  }
  return NULL;
}

/* ---- heartbeat ---- */

static void beat(mira_jobs *j, worker *w, int64_t now) {
  int pct = atomic_load(&w->progress);
  if (pct == w->written_progress && now - w->last_beat_ms < j->c.lease_ms / 3) return;
  char err[256];
  int rc = j->hb_store->ops->job_heartbeat(j->hb_store, w->job_id, w->owner, j->c.lease_ms, pct,
                                           err, sizeof err);
  if (rc && rc != MIRA_ESTATE) MIRA_LOGW("jobs", "heartbeat %s: %s", w->job_id, err);
  w->written_progress = pct;
  w->last_beat_ms = now;
}

static void *heartbeat_main(void *arg) {
  mira_jobs *j = arg;
  while (!atomic_load(&j->stopping)) {
    sleep_ms(HEARTBEAT_TICK_MS);
    pthread_mutex_lock(&j->mu);
    int64_t now = mira_now_ms();
    for (int i = 0; i < j->c.workers; i++)
      if (j->workers[i].job_id[0]) beat(j, &j->workers[i], now);
    pthread_mutex_unlock(&j->mu);
  }
  return NULL;
}

/* ---- recovery ---- */

typedef struct recover_ctx {
  mira_store *st;
  char host[128];
  int requeued;
} recover_ctx;

/* Owner strings are "host:pid:wN"; a job whose owner process on this host is
 * gone was interrupted by a crash and can be re-queued at once instead of
 * waiting for its lease to expire. */
static int recover_one(void *ud, const mira_job *job) {
  recover_ctx *rc = ud;
  char host[128];
  long pid = 0;
  const char *colon = strchr(job->lease_owner, ':');
  if (!colon || (size_t)(colon - job->lease_owner) >= sizeof host) return 0;
  memcpy(host, job->lease_owner, (size_t)(colon - job->lease_owner));
  host[colon - job->lease_owner] = 0;
  pid = strtol(colon + 1, NULL, 10);
  if (strcmp(host, rc->host) != 0 || pid <= 0) return 0;
  if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) return 0;
  if (rc->st->ops->job_requeue(rc->st, job->id, job->lease_owner, NULL, 0) == 0) {
    MIRA_LOGI("jobs", "job %s: re-queued after its worker (%s) died", job->id, job->lease_owner);
    rc->requeued++;
  }
  return 0;
}

int mira_jobs_recover(mira_store *st, char *err, size_t errlen) {
  recover_ctx rc = {.st = st};
  gethostname(rc.host, sizeof rc.host - 1);
  int r = st->ops->job_list_working(st, recover_one, &rc, err, errlen);
  return r < 0 ? r : rc.requeued;
}

/* ---- lifecycle ---- */

static void free_pool(mira_jobs *j) {
  for (int i = 0; j->workers && i < j->c.workers; i++) mira_store_close(j->workers[i].store);
  mira_store_close(j->hb_store);
  free(j->workers);
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->wake);
  free(j);
}

static int open_stores(mira_jobs *j, char *err, size_t errlen) {
  char host[100] = "";
  gethostname(host, sizeof host - 1);
  int rc = mira_store_open(&j->hb_store, j->c.store_backend, j->c.store_dsn, err, errlen);
  for (int i = 0; rc == 0 && i < j->c.workers; i++) {
    worker *w = &j->workers[i];
    w->pool = j;
    w->index = i;
    snprintf(w->owner, sizeof w->owner, "%s:%ld:w%d", host, (long)getpid(), i);
    rc = mira_store_open(&w->store, j->c.store_backend, j->c.store_dsn, err, errlen);
  }
  return rc;
}

int mira_jobs_start(mira_jobs **out, const mira_jobs_config *c, mira_blob *blob, char *err,
                    size_t errlen) {
  *out = NULL;
  mira_jobs *j = calloc(1, sizeof *j);
  if (!j) return MIRA_ENOMEM;
  j->c = *c;
  j->blob = blob;
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->wake, NULL);
  j->workers = calloc((size_t)(c->workers > 0 ? c->workers : 1), sizeof *j->workers);
  int rc = j->workers ? open_stores(j, err, errlen) : MIRA_ENOMEM;
  if (rc == 0) {
    int n = mira_jobs_recover(j->hb_store, err, errlen);
    if (n < 0) rc = n;
  }
  if (rc) {
    free_pool(j);
    return rc;
  }
  for (int i = 0; i < c->workers; i++) pthread_create(&j->workers[i].thread, NULL, worker_main, &j->workers[i]);
  j->heartbeat_started = pthread_create(&j->heartbeat, NULL, heartbeat_main, j) == 0;
  *out = j;
  return 0;
}

void mira_jobs_notify(mira_jobs *j) {
  if (!j) return;
  pthread_mutex_lock(&j->mu);
  pthread_cond_signal(&j->wake);
  pthread_mutex_unlock(&j->mu);
}

void mira_jobs_stats_get(mira_jobs *j, mira_jobs_stats *out) {
  pthread_mutex_lock(&j->mu);
  *out = j->stats;
  pthread_mutex_unlock(&j->mu);
}

/* Re-queues whatever is still running after the grace period; the stuck
 * worker threads are then abandoned (the process is exiting). */
static void requeue_running(mira_jobs *j) {
  pthread_mutex_lock(&j->mu);
  for (int i = 0; i < j->c.workers; i++) {
    worker *w = &j->workers[i];
    if (!w->job_id[0]) continue;
    j->hb_store->ops->job_requeue(j->hb_store, w->job_id, w->owner, NULL, 0);
    MIRA_LOGI("jobs", "job %s: still running at shutdown, re-queued", w->job_id);
  }
  pthread_mutex_unlock(&j->mu);
}

void mira_jobs_stop(mira_jobs *j, int64_t grace_ms) {
  if (!j) return;
  atomic_store(&j->stopping, 1);
  pthread_mutex_lock(&j->mu);
  pthread_cond_broadcast(&j->wake);
  pthread_mutex_unlock(&j->mu);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += grace_ms / 1000 + 1;
  int all_joined = 1;
  for (int i = 0; i < j->c.workers; i++)
    if (pthread_timedjoin_np(j->workers[i].thread, NULL, &ts) != 0) all_joined = 0;
  if (j->heartbeat_started) pthread_join(j->heartbeat, NULL);
  if (!all_joined) {
    requeue_running(j);
    return; /* threads still hold their store handles; leak them on exit */
  }
  free_pool(j);
}
