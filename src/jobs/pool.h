/* The worker pool: threads that claim jobs from the store with a lease, run
 * their pipeline, heartbeat while they run, and record the final state.
 *
 *   mira_jobs_config c = mira_jobs_default_config();
 *   c.workers = 2; c.store_backend = "sqlite"; c.store_dsn = "data/mira.db";
 *   mira_jobs *j;
 *   mira_jobs_start(&j, &c, blob, err, sizeof err);
 *   mira_jobs_notify(j);          // a job was created: wake an idle worker
 *   mira_jobs_stop(j, 10000);     // SIGTERM: finish or re-queue within 10 s
 *
 * Durability: a job is only ever in the store. A crash leaves it WORKING with
 * a lease; mira_jobs_recover() (called by start) re-queues jobs whose owner
 * process on this host is gone, and any worker re-claims jobs whose lease has
 * expired. After max_attempts claims the store fails the job with a message.
 *
 * Each worker owns its own store handle; a heartbeat thread renews the leases
 * of running jobs and writes their progress, so pipelines never touch the
 * store. Thread-safety: notify() is thread-safe; start/stop from one thread.
 */
#ifndef MIRA_JOBS_POOL_H
#define MIRA_JOBS_POOL_H

#include <stdint.h>

#include "blob/blob.h"
#include "store/store.h"

typedef struct mira_jobs mira_jobs;

typedef struct mira_jobs_config {
  int workers;              /* worker threads (0: none, jobs wait) */
  const char *store_backend;
  const char *store_dsn;
  int64_t lease_ms;         /* default 30000 */
  int max_attempts;         /* default 3 */
  int64_t poll_ms;          /* idle poll interval, default 500 */
  int64_t test_delay_ms;    /* testing only: sleep this long (with progress) before the pipeline */
  const char *video_preset; /* x264 preset for video jobs; NULL: the engine's default (veryfast) */
  int video_crf;            /* 0: the engine's default (23) */
} mira_jobs_config;

typedef struct mira_jobs_stats {
  double seconds[MIRA_JOB_KIND_COUNT];   /* summed run time of finished jobs */
  uint64_t finished[MIRA_JOB_KIND_COUNT];
} mira_jobs_stats;

mira_jobs_config mira_jobs_default_config(void);

int mira_jobs_start(mira_jobs **out, const mira_jobs_config *c, mira_blob *blob, char *err,
                    size_t errlen);
void mira_jobs_notify(mira_jobs *j);
void mira_jobs_stats_get(mira_jobs *j, mira_jobs_stats *out);
/* Stops the workers: running pipelines are asked to stop; a job still running
 * after grace_ms is re-queued. Frees j. Accepts NULL. */
void mira_jobs_stop(mira_jobs *j, int64_t grace_ms);

/* Re-queues WORKING jobs whose owner process on this host no longer exists.
 * Returns how many, or a negative MIRA_E*. */
int mira_jobs_recover(mira_store *st, char *err, size_t errlen);

#endif
