/* The store: Mira's durable state (accounts, API keys, avatars, voices, media,
 * jobs, idempotency records) behind a backend interface.
 *
 *   mira_store *st;
 *   if (mira_store_open(&st, "sqlite", "data/mira.db", err, sizeof err)) die(err);
 *   st->ops->job_get(st, id, account_id, &job, err, sizeof err);
 *   mira_job_clear(&job);
 *   mira_store_close(st);
 *
 * A backend is one `const mira_store_ops` table (like sqlite3_vfs): sqlite.c
 * now, postgres.c later. New methods go at the end and `version` goes up.
 *
 * Ownership: records are filled into caller-owned structs. Fixed-size fields
 * are inline; the few heap fields (mira_job.params) are released by
 * mira_job_clear(). List callbacks get a record that is valid only during the
 * callback; returning non-zero from a callback stops the iteration and that
 * value is returned.
 *
 * Visibility: every `account_id` argument scopes the lookup: a record owned
 * by another account is MIRA_ENOENT, exactly like a missing one. Stock
 * avatars/voices have an empty account_id and are visible to every account.
 *
 * Thread-safety: one thread per handle. Open one handle per thread (HTTP loop
 * threads, workers); handles on the same database may be used concurrently.
 *
 * Times are epoch milliseconds. Errors: 0 or negative MIRA_E* (core/error.h)
 * with a message in err.
 */
#ifndef MIRA_STORE_STORE_H
#define MIRA_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/ids.h"

typedef struct mira_store mira_store;

#define MIRA_NAME_SIZE 256
#define MIRA_ERRMSG_SIZE 512

typedef struct mira_key_info {
  char id[MIRA_ID_SIZE];
  char account_id[MIRA_ID_SIZE];
  char account_name[MIRA_NAME_SIZE];
  char prefix[16];          /* first chars of the key, for `mira keys list` */
  int64_t created_at;
  int64_t revoked_at;       /* 0 while active */
} mira_key_info;

#define MIRA_RIG_SIZE 4096

typedef struct mira_avatar {
  char id[MIRA_ID_SIZE];
  char account_id[MIRA_ID_SIZE];     /* "" for stock */
  char name[MIRA_NAME_SIZE];
  char voice_id[MIRA_ID_SIZE];       /* default voice, may be "" */
  char image_media_id[MIRA_ID_SIZE]; /* source image, may be "" */
  char preview_media_id[MIRA_ID_SIZE];
  int is_photo;
  int64_t created_at;
  /* How to animate it, JSON (engines/animate/rig.c): {"kind":"photo","image":KEY,
   * "w":..,"h":..,"landmarks":[x0,y0,...]} or {"kind":"cartoon","index":N,...}. */
  char rig[MIRA_RIG_SIZE];
} mira_avatar;

typedef struct mira_voice {
  char id[MIRA_ID_SIZE];
  char account_id[MIRA_ID_SIZE];     /* "" for stock */
  char name[MIRA_NAME_SIZE];
  char language[32];                 /* BCP 47, e.g. "en-US" */
  char gender[16];                   /* "female", "male" or "" */
  char engine[32];                   /* "espeak-ng", "flite", ... */
  char engine_params[512];           /* JSON object text, engine-specific */
  int64_t created_at;
  int unlisted;                      /* 1: outside the curated catalog, shown only with ?all=1 */
} mira_voice;

typedef enum mira_media_state {
  MIRA_MEDIA_PENDING = 0,  /* initialized, bytes not (fully) received */
  MIRA_MEDIA_UPLOADED = 1, /* bytes stored, not validated yet */
  MIRA_MEDIA_READY = 2     /* finalized: sniffed and usable */
} mira_media_state;

typedef struct mira_media {
  char id[MIRA_ID_SIZE];
  char account_id[MIRA_ID_SIZE];
  char file_name[MIRA_NAME_SIZE];
  char content_type[64];   /* canonical type (core/sniff.h) */
  int64_t size;            /* declared size; equals stored size once UPLOADED */
  mira_media_state state;
  int64_t created_at;
  int64_t upload_expires_at; /* PUT URL expiry (epoch ms) */
} mira_media;

typedef enum mira_job_kind {
  MIRA_JOB_VIDEO = 0,
  MIRA_JOB_IMAGE_GENERATE = 1,
  MIRA_JOB_IMAGE_EDIT = 2,
  MIRA_JOB_IMAGE_INPAINT = 3,
  MIRA_JOB_KIND_COUNT
} mira_job_kind;

typedef enum mira_job_status {
  MIRA_JOB_STARTED = 0,   /* "inference_started": queued */
  MIRA_JOB_WORKING = 1,   /* "inference_working": leased by a worker */
  MIRA_JOB_COMPLETE = 2,  /* "inference_complete" */
  MIRA_JOB_FAILED = 3,    /* "inference_failed": error says why */
  MIRA_JOB_ERROR = 4,     /* "inference_error": unknown/internal error */
  MIRA_JOB_STATUS_COUNT
} mira_job_status;

typedef struct mira_job {
  char id[MIRA_ID_SIZE];
  char account_id[MIRA_ID_SIZE];
  mira_job_kind kind;
  mira_job_status status;
  int progress;                      /* 0..100 */
  char name[MIRA_NAME_SIZE];
  char avatar_id[MIRA_ID_SIZE];      /* video jobs; "" otherwise */
  char *params;                      /* heap JSON object text (the validated request); owned */
  char error[MIRA_ERRMSG_SIZE];      /* set when FAILED/ERROR */
  int attempts;                      /* times claimed by a worker */
  char lease_owner[128];             /* "" when not leased */
  int64_t lease_expires_at;
  char result_media_id[MIRA_ID_SIZE];/* output medium once COMPLETE */
  int64_t duration_ms;               /* video duration once COMPLETE */
  int64_t created_at, updated_at, started_at, finished_at;
} mira_job;

/* Releases heap fields of a job (params) and zeroes it. Accepts NULL. */
void mira_job_clear(mira_job *job);

/* "video", "image_generate", ... and the Miraflow status strings. Static. */
const char *mira_job_kind_name(mira_job_kind k);
const char *mira_job_status_name(mira_job_status s);

typedef int (*mira_avatar_cb)(void *ud, const mira_avatar *a);
typedef int (*mira_voice_cb)(void *ud, const mira_voice *v);
typedef int (*mira_job_cb)(void *ud, const mira_job *j);
typedef int (*mira_key_cb)(void *ud, const mira_key_info *k);

#define MIRA_STORE_CAN_SKIP_LOCKED 0x1u /* job_claim scales across nodes */

typedef struct mira_store_ops {
  int version; /* 1 */
  const char *name;
  unsigned supports; /* MIRA_STORE_CAN_* */

  /* Opens (creating and migrating the schema if needed). *out is NULL on failure. */
  int (*open)(mira_store **out, const char *dsn, char *err, size_t errlen);
  void (*close)(mira_store *);

  /* Accounts and keys. key_hash is the SHA-256 hex of the secret key; the key
   * itself is never stored. account_ensure returns the id of the account with
   * that name, creating it if missing. */
  int (*account_ensure)(mira_store *, const char *name, char out_id[MIRA_ID_SIZE], char *err, size_t errlen);
  int (*key_insert)(mira_store *, const char *account_id, const char *key_hash, const char *prefix,
                    char out_id[MIRA_ID_SIZE], char *err, size_t errlen);
  /* Active (not revoked) key -> its account. MIRA_ENOENT if unknown or revoked. */
  int (*key_lookup)(mira_store *, const char *key_hash, char out_account_id[MIRA_ID_SIZE], char *err, size_t errlen);
  int (*key_list)(mira_store *, mira_key_cb cb, void *ud, char *err, size_t errlen);
  /* Revokes by key id or by prefix (unique). MIRA_ENOENT if none matches. */
  int (*key_revoke)(mira_store *, const char *id_or_prefix, char *err, size_t errlen);

  /* Avatars and voices (account_id "" inserts a stock record). list yields
   * stock then own, oldest first. avatar_insert updates an avatar with the
   * same id and owner (stock avatars are re-seeded at start-up);
   * MIRA_EEXIST if the id belongs to another owner. */
  int (*avatar_insert)(mira_store *, const mira_avatar *a, char *err, size_t errlen);
  int (*avatar_get)(mira_store *, const char *id, const char *account_id, mira_avatar *out, char *err, size_t errlen);
  int (*avatar_list)(mira_store *, const char *account_id, mira_avatar_cb cb, void *ud, char *err, size_t errlen);
  /* Inserts, or updates a voice with the same id and owner (stock voices
   * are re-seeded at start-up). MIRA_EEXIST if the id belongs to another owner. */
  int (*voice_insert)(mira_store *, const mira_voice *v, char *err, size_t errlen);
  int (*voice_get)(mira_store *, const char *id, const char *account_id, mira_voice *out, char *err, size_t errlen);
  /* all: also the stock voices outside the curated catalog (unlisted). */
  int (*voice_list)(mira_store *, const char *account_id, int all, mira_voice_cb cb, void *ud, char *err, size_t errlen);

  /* Media. media_set_state moves id from state `from` to `to` (and sets size
   * when size >= 0) atomically; MIRA_ESTATE if it is not in `from`. */
  int (*media_insert)(mira_store *, const mira_media *m, char *err, size_t errlen);
  int (*media_get)(mira_store *, const char *id, const char *account_id, mira_media *out, char *err, size_t errlen);
  int (*media_set_state)(mira_store *, const char *id, mira_media_state from, mira_media_state to,
                         int64_t size, char *err, size_t errlen);

  /* Jobs. job_insert stores a new STARTED job. With idem_key non-NULL it is
   * atomic with the idempotency record (account, key) -> (body_hash, job id):
   * a live record (younger than idem_ttl_ms) with the same hash returns
   * MIRA_EEXIST and copies the original job id into job->id; with another
   * hash it returns MIRA_ECONFLICT. Expired records are replaced. */
  int (*job_insert)(mira_store *, mira_job *job, const char *idem_key, const char *body_hash,
                    int64_t idem_ttl_ms, char *err, size_t errlen);
  /* account_id NULL: no scoping (workers, CLI). */
  int (*job_get)(mira_store *, const char *id, const char *account_id, mira_job *out, char *err, size_t errlen);
  /* Jobs of an account with the given kind and status, newest first. */
  int (*job_list)(mira_store *, const char *account_id, mira_job_kind kind, mira_job_status status,
                  mira_job_cb cb, void *ud, char *err, size_t errlen);
  /* Claims the oldest STARTED job, or a WORKING job whose lease expired:
   * sets WORKING, owner, lease, attempts+1, started_at (first claim). If the
   * claimed job already had max_attempts attempts, it is marked FAILED with a
   * message instead and the claim continues with the next job.
   * MIRA_ENOENT when there is nothing to do. out is filled on success. */
  int (*job_claim)(mira_store *, const char *owner, int64_t lease_ms, int max_attempts, mira_job *out,
                   char *err, size_t errlen);
  /* Extends the lease and sets progress (progress < 0 keeps it). MIRA_ESTATE
   * if owner no longer holds the job (it was re-queued elsewhere). */
  int (*job_heartbeat)(mira_store *, const char *id, const char *owner, int64_t lease_ms, int progress,
                       char *err, size_t errlen);
  /* Final state (COMPLETE, FAILED or ERROR) by the lease owner; error may be
   * NULL, result_media_id may be NULL. MIRA_ESTATE if owner does not hold it. */
  int (*job_finish)(mira_store *, const char *id, const char *owner, mira_job_status status,
                    const char *error, const char *result_media_id, int64_t duration_ms,
                    char *err, size_t errlen);
  /* Back to STARTED, lease cleared, attempts kept (graceful shutdown, crash
   * recovery). owner NULL: whatever the owner. */
  int (*job_requeue)(mira_store *, const char *id, const char *owner, char *err, size_t errlen);
  /* All WORKING jobs (for recovery), any account. */
  int (*job_list_working)(mira_store *, mira_job_cb cb, void *ud, char *err, size_t errlen);
  /* counts[status] = number of jobs in that status, all accounts. */
  int (*job_count)(mira_store *, int64_t counts[MIRA_JOB_STATUS_COUNT], char *err, size_t errlen);
  /* Runs PRAGMA integrity_check (or the backend's equivalent). 0 if ok. */
  int (*check)(mira_store *, char *err, size_t errlen);
  /* Deletes a medium record (account_id NULL: any account); the caller
   * removes its blob. MIRA_ENOENT if none. */
  int (*media_delete)(mira_store *, const char *id, const char *account_id, char *err, size_t errlen);
  /* A number that changes whenever the data may have changed (any writer,
   * any connection). Lets callers cache what they read. Cheap. */
  int (*data_version)(mira_store *, uint64_t *out, char *err, size_t errlen);
  /* Deletes a voice owned by account_id ("" or NULL: a stock voice).
   * MIRA_ENOENT if there is no such voice with that owner. */
  int (*voice_delete)(mira_store *, const char *id, const char *account_id, char *err, size_t errlen);
  /* Deletes an avatar owned by account_id ("" or NULL: a stock avatar).
   * MIRA_ENOENT if there is no such avatar with that owner. */
  int (*avatar_delete)(mira_store *, const char *id, const char *account_id, char *err, size_t errlen);
} mira_store_ops;

struct mira_store {
  const mira_store_ops *ops;
};

/* Backends compiled in. */
extern const mira_store_ops mira_store_sqlite;

/* Opens the backend named `backend` ("sqlite"). */
int mira_store_open(mira_store **out, const char *backend, const char *dsn, char *err, size_t errlen);
void mira_store_close(mira_store *st);

#endif
