/* SQLite store backend (store.h).
 *
 * One sqlite3 connection per handle, opened SQLITE_OPEN_NOMUTEX because the
 * contract already says one thread per handle. WAL journal so readers never
 * block the writer; synchronous=FULL because a job or media state that was
 * reported committed must survive kill -9 and power loss (NORMAL may lose the
 * last transactions on power loss). Every statement is prepared once per
 * handle, so hot paths (key_lookup, avatar_list) cost a reset and a step.
 *
 * Handles on one file (threads or processes) serialize their writes with
 * BEGIN IMMEDIATE: the write lock is taken before the first read, so a
 * read-then-write (job_claim, idempotency) cannot be raced by another writer
 * and never fails half-way with SQLITE_BUSY_SNAPSHOT. busy_timeout makes a
 * writer wait for the lock; past it the call returns MIRA_EBUSY.
 *
 * Stock avatars/voices (account_id "" in the API) are stored as NULL so that
 * every other row can keep a foreign key to accounts.
 */
#include "store/store.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/ids.h"

#define SCHEMA_VERSION 3     /* PRAGMA user_version once migrations[] ran */
#define BUSY_TIMEOUT_MS 5000 /* how long a writer waits for the lock */
#define JOB_BATCH 64         /* rows per step of a job listing (list_jobs) */
#define KEY_HASH_MAX 128     /* SHA-256 hex is 64; room for a longer digest */
#define IDEM_KEY_MAX 255     /* Idempotency-Key header value */
#define OWNER_SIZE sizeof(((mira_job *)0)->lease_owner)
#define XSTR(x) STR(x)
#define STR(x) #x

/* ---- schema ------------------------------------------------------------ */

/* migrations[v] takes a database from user_version v to v + 1. Steps use IF
 * NOT EXISTS so a database created by hand or half-migrated still converges. */
static const char *const migrations[SCHEMA_VERSION] = {
    "CREATE TABLE IF NOT EXISTS accounts("
    " id TEXT PRIMARY KEY NOT NULL,"
    " name TEXT NOT NULL UNIQUE,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS api_keys("
    " id TEXT PRIMARY KEY NOT NULL,"
    " account_id TEXT NOT NULL REFERENCES accounts(id),"
    " key_hash TEXT NOT NULL UNIQUE,"
    " prefix TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS api_keys_prefix ON api_keys(prefix);"
    "CREATE TABLE IF NOT EXISTS avatars("
    " id TEXT PRIMARY KEY NOT NULL,"
    " account_id TEXT REFERENCES accounts(id)," /* NULL: stock */
    " name TEXT NOT NULL,"
    " voice_id TEXT NOT NULL DEFAULT '',"
    " image_media_id TEXT NOT NULL DEFAULT '',"
    " preview_media_id TEXT NOT NULL DEFAULT '',"
    " is_photo INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS avatars_account ON avatars(account_id, created_at);"
    "CREATE TABLE IF NOT EXISTS voices("
    " id TEXT PRIMARY KEY NOT NULL,"
    " account_id TEXT REFERENCES accounts(id)," /* NULL: stock */
    " name TEXT NOT NULL,"
    " language TEXT NOT NULL DEFAULT '',"
    " gender TEXT NOT NULL DEFAULT '',"
    " engine TEXT NOT NULL DEFAULT '',"
    " engine_params TEXT NOT NULL DEFAULT '{}',"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS voices_account ON voices(account_id, created_at);"
    "CREATE TABLE IF NOT EXISTS media("
    " id TEXT PRIMARY KEY NOT NULL,"
    " account_id TEXT NOT NULL REFERENCES accounts(id),"
    " file_name TEXT NOT NULL,"
    " content_type TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " state INTEGER NOT NULL CHECK(state BETWEEN 0 AND 2),"
    " created_at INTEGER NOT NULL,"
    " upload_expires_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS jobs("
    " id TEXT PRIMARY KEY NOT NULL,"
    " account_id TEXT NOT NULL REFERENCES accounts(id),"
    " kind INTEGER NOT NULL CHECK(kind BETWEEN 0 AND 3),"
    " status INTEGER NOT NULL CHECK(status BETWEEN 0 AND 4),"
    " progress INTEGER NOT NULL DEFAULT 0,"
    " name TEXT NOT NULL DEFAULT '',"
    " avatar_id TEXT NOT NULL DEFAULT '',"
    " params TEXT NOT NULL,"
    " error TEXT NOT NULL DEFAULT '',"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " lease_owner TEXT NOT NULL DEFAULT '',"
    " lease_expires_at INTEGER NOT NULL DEFAULT 0,"
    " result_media_id TEXT NOT NULL DEFAULT '',"
    " duration_ms INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " started_at INTEGER NOT NULL DEFAULT 0,"
    " finished_at INTEGER NOT NULL DEFAULT 0);"
    /* job_claim and job_count / job_list_working */
    "CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created_at);"
    /* job_list (GET /videos?status=...) */
    "CREATE INDEX IF NOT EXISTS jobs_account ON jobs(account_id, kind, status, created_at);"
    "CREATE TABLE IF NOT EXISTS idempotency("
    " account_id TEXT NOT NULL REFERENCES accounts(id),"
    " key TEXT NOT NULL,"
    " body_hash TEXT NOT NULL,"
    " job_id TEXT NOT NULL REFERENCES jobs(id),"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY(account_id, key));",
    /* 2: stock voices beyond the curated set are stored but not listed
     * (GET /api/voices?all=1 shows them). */
    "ALTER TABLE voices ADD COLUMN listed INTEGER NOT NULL DEFAULT 1;",
    /* 3: how each avatar is animated (mira_avatar.rig). */
    "ALTER TABLE avatars ADD COLUMN rig TEXT NOT NULL DEFAULT '';"
};

/* ---- statements ---------------------------------------------------------- */

#define AVATAR_COLS                                                                                \
  "id,IFNULL(account_id,''),name,voice_id,image_media_id,preview_media_id,is_photo,created_at,rig"
#define VOICE_COLS "id,IFNULL(account_id,''),name,language,gender,engine,engine_params,created_at,listed"
#define MEDIA_COLS "id,account_id,file_name,content_type,size,state,created_at,upload_expires_at"
#define JOB_COLS                                                                                   \
  "id,account_id,kind,status,progress,name,avatar_id,params,error,attempts,"                       \
  "lease_owner,lease_expires_at,result_media_id,duration_ms,created_at,updated_at,"                \
  "started_at,finished_at"

/* clang-format off */
enum {
  Q_BEGIN, Q_COMMIT, Q_ROLLBACK,
  Q_ACCOUNT_GET, Q_ACCOUNT_ADD,
  Q_KEY_ADD, Q_KEY_LOOKUP, Q_KEY_LIST, Q_KEY_FIND, Q_KEY_REVOKE,
  Q_AVATAR_ADD, Q_AVATAR_GET, Q_AVATAR_LIST, Q_AVATAR_DEL,
  Q_VOICE_ADD, Q_VOICE_GET, Q_VOICE_LIST, Q_VOICE_DEL,
  Q_MEDIA_ADD, Q_MEDIA_GET, Q_MEDIA_SET, Q_MEDIA_STATE, Q_MEDIA_DEL,
  Q_IDEM_GET, Q_IDEM_PUT,
  Q_JOB_ADD, Q_JOB_GET, Q_JOB_STATE, Q_JOB_LIST, Q_JOB_WORKING, Q_JOB_COUNT,
  Q_JOB_NEXT, Q_JOB_LEASE, Q_JOB_GIVE_UP, Q_JOB_BEAT, Q_JOB_FINISH, Q_JOB_REQUEUE,
  Q_CHECK, Q_DATA_VERSION,
  Q_COUNT
};
/* clang-format on */

static const char *const sql[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_ACCOUNT_GET] = "SELECT id FROM accounts WHERE name=?1",
    [Q_ACCOUNT_ADD] = "INSERT INTO accounts(id,name,created_at) VALUES(?1,?2,?3)"
                      " ON CONFLICT(name) DO NOTHING",
    [Q_KEY_ADD] = "INSERT INTO api_keys(id,account_id,key_hash,prefix,created_at)"
                  " VALUES(?1,?2,?3,?4,?5)",
    [Q_KEY_LOOKUP] = "SELECT account_id FROM api_keys WHERE key_hash=?1 AND revoked_at=0",
    [Q_KEY_LIST] = "SELECT k.id,k.account_id,a.name,k.prefix,k.created_at,k.revoked_at"
                   " FROM api_keys k JOIN accounts a ON a.id=k.account_id"
                   " ORDER BY k.created_at,k.rowid",
    /* An exact id match sorts first; otherwise two rows mean an ambiguous prefix. */
    [Q_KEY_FIND] = "SELECT id,id=?1 FROM api_keys WHERE id=?1 OR prefix=?1"
                   " ORDER BY id=?1 DESC LIMIT 2",
    [Q_KEY_REVOKE] = "UPDATE api_keys SET revoked_at=?2 WHERE id=?1 AND revoked_at=0",
    [Q_AVATAR_ADD] =
        "INSERT INTO avatars(id,account_id,name,voice_id,image_media_id,"
        "preview_media_id,is_photo,created_at,rig) VALUES(?1,NULLIF(?2,''),?3,?4,?5,?6,?7,?8,?9)"
        " ON CONFLICT(id) DO UPDATE SET name=?3,voice_id=?4,image_media_id=?5,preview_media_id=?6,"
        "is_photo=?7,rig=?9 WHERE account_id IS NULLIF(?2,'')",
    [Q_AVATAR_GET] = "SELECT " AVATAR_COLS " FROM avatars WHERE id=?1"
                     " AND (?2 IS NULL OR account_id IS NULL OR account_id=?2)",
    [Q_AVATAR_LIST] =
        "SELECT " AVATAR_COLS " FROM avatars WHERE account_id IS NULL OR account_id=?1"
        " ORDER BY account_id IS NOT NULL,created_at,rowid",
    /* An upsert: stock voices are re-seeded at every start-up. */
    [Q_VOICE_ADD] = "INSERT INTO voices(id,account_id,name,language,gender,engine,engine_params,"
                    "created_at,listed) VALUES(?1,NULLIF(?2,''),?3,?4,?5,?6,?7,?8,?9)"
                    " ON CONFLICT(id) DO UPDATE SET name=?3,language=?4,gender=?5,engine=?6,"
                    "engine_params=?7,listed=?9 WHERE account_id IS NULLIF(?2,'')",
    [Q_VOICE_GET] = "SELECT " VOICE_COLS " FROM voices WHERE id=?1"
                    " AND (?2 IS NULL OR account_id IS NULL OR account_id=?2)",
    [Q_VOICE_LIST] = "SELECT " VOICE_COLS " FROM voices WHERE (account_id IS NULL OR account_id=?1)"
                     " AND (listed OR ?2) ORDER BY account_id IS NOT NULL,created_at,rowid",
    [Q_AVATAR_DEL] = "DELETE FROM avatars WHERE id=?1 AND account_id IS NULLIF(?2,'')",
    [Q_VOICE_DEL] = "DELETE FROM voices WHERE id=?1 AND account_id IS NULLIF(?2,'')",
    [Q_MEDIA_ADD] = "INSERT INTO media(" MEDIA_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
    [Q_MEDIA_GET] =
        "SELECT " MEDIA_COLS " FROM media WHERE id=?1 AND (?2 IS NULL OR account_id=?2)",
    [Q_MEDIA_SET] = "UPDATE media SET state=?3, size=CASE WHEN ?4>=0 THEN ?4 ELSE size END"
                    " WHERE id=?1 AND state=?2",
    [Q_MEDIA_STATE] = "SELECT state FROM media WHERE id=?1",
    [Q_MEDIA_DEL] = "DELETE FROM media WHERE id=?1 AND (?2 IS NULL OR account_id=?2)",
    [Q_IDEM_GET] =
        "SELECT body_hash,job_id,created_at FROM idempotency WHERE account_id=?1 AND key=?2",
    [Q_IDEM_PUT] = "INSERT OR REPLACE INTO idempotency(account_id,key,body_hash,job_id,created_at)"
                   " VALUES(?1,?2,?3,?4,?5)",
    [Q_JOB_ADD] = "INSERT INTO jobs(id,account_id,kind,status,name,avatar_id,params,created_at,"
                  "updated_at) VALUES(?1,?2,?3,0,?4,?5,?6,?7,?7)",
    [Q_JOB_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id=?1 AND (?2 IS NULL OR account_id=?2)",
    [Q_JOB_STATE] = "SELECT status,lease_owner FROM jobs WHERE id=?1",
    /* Listings resume after (?1 created_at, ?2 rowid) of the previous batch;
     * `created_at <= ?1` is there so the index range starts at the cursor. */
    [Q_JOB_LIST] =
        "SELECT " JOB_COLS ",rowid FROM jobs WHERE account_id=?3 AND kind=?4 AND status=?5"
        " AND created_at<=?1 AND (created_at<?1 OR rowid<?2)"
        " ORDER BY created_at DESC,rowid DESC LIMIT " XSTR(JOB_BATCH),
    [Q_JOB_WORKING] = "SELECT " JOB_COLS ",rowid FROM jobs WHERE status=1"
                      " AND created_at>=?1 AND (created_at>?1 OR rowid>?2)"
                      " ORDER BY created_at,rowid LIMIT " XSTR(JOB_BATCH),
    [Q_JOB_COUNT] = "SELECT status,count(*) FROM jobs GROUP BY status",
    /* Oldest of (oldest STARTED, oldest expired WORKING): two index probes
     * instead of sorting the whole backlog on every claim. */
    [Q_JOB_NEXT] = "SELECT id,attempts,created_at,r FROM"
                   " (SELECT id,attempts,created_at,rowid AS r FROM jobs WHERE status=0"
                   "  ORDER BY created_at,rowid LIMIT 1)"
                   " UNION ALL SELECT id,attempts,created_at,r FROM"
                   " (SELECT id,attempts,created_at,rowid AS r FROM jobs WHERE status=1"
                   "  AND lease_expires_at<?1 ORDER BY created_at,rowid LIMIT 1)"
                   " ORDER BY created_at,r LIMIT 1",
    [Q_JOB_LEASE] =
        "UPDATE jobs SET status=1,progress=0,lease_owner=?2,lease_expires_at=?3,"
        "attempts=attempts+1,started_at=CASE WHEN started_at=0 THEN ?4 ELSE started_at END,"
        "updated_at=?4 WHERE id=?1 RETURNING " JOB_COLS,
    [Q_JOB_GIVE_UP] = "UPDATE jobs SET status=3,error=?2,lease_owner='',lease_expires_at=0,"
                      "finished_at=?3,updated_at=?3 WHERE id=?1",
    [Q_JOB_BEAT] = "UPDATE jobs SET lease_expires_at=?3,"
                   "progress=CASE WHEN ?4<0 THEN progress ELSE ?4 END,updated_at=?5"
                   " WHERE id=?1 AND status=1 AND lease_owner=?2",
    [Q_JOB_FINISH] = "UPDATE jobs SET status=?3,error=?4,result_media_id=?5,duration_ms=?6,"
                     "progress=CASE WHEN ?3=2 THEN 100 ELSE progress END,lease_owner='',"
                     "lease_expires_at=0,finished_at=?7,updated_at=?7"
                     " WHERE id=?1 AND status=1 AND lease_owner=?2",
    [Q_JOB_REQUEUE] = "UPDATE jobs SET status=0,progress=0,lease_owner='',lease_expires_at=0,"
                      "updated_at=?3 WHERE id=?1 AND status=1 AND (?2 IS NULL OR lease_owner=?2)",
    [Q_CHECK] = "PRAGMA integrity_check",
    [Q_DATA_VERSION] = "PRAGMA data_version",
};

typedef struct sq {
  mira_store base; /* first: the mira_store * handed out points here */
  sqlite3 *db;
  sqlite3_stmt *st[Q_COUNT];
} sq;

static sq *S(mira_store *st) { return (sq *)st; }

/* In every get, account_id NULL means "no scoping", as store.h says for
 * job_get (workers, CLI); "" sees stock avatars/voices only. */

/* ---- helpers --------------------------------------------------------------- */

/* Length of s cut to fit cap bytes with its NUL, backing off to a UTF-8
 * character boundary: a name cut mid-character would be invalid JSON later. */
static size_t fit(const char *s, size_t cap) {
  size_t n = strnlen(s, cap);
  if (n < cap) return n;
  n = cap - 1;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  return n;
}

static void scopy(char *dst, size_t cap, const char *src) {
  size_t n = src ? fit(src, cap) : 0;
  memcpy(dst, src ? src : "", n);
  dst[n] = '\0';
}

#define COL(st, i, field) scopy(field, sizeof(field), (const char *)sqlite3_column_text(st, i))

/* Bind results are not checked: SQLITE_STATIC text at in-range indexes only
 * fails on SQLITE_TOOBIG/NOMEM, which leaves the parameter NULL, and the
 * columns written are NOT NULL, so the step then fails with an error. */
static void bt(sqlite3_stmt *st, int i, const char *v) {
  if (v)
    sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, i);
}

/* A fixed-size struct field, which the caller may not have terminated. */
#define BF(st, i, field)                                                                           \
  sqlite3_bind_text(st, i, field, (int)fit(field, sizeof(field)), SQLITE_STATIC)

static void bi(sqlite3_stmt *st, int i, int64_t v) { sqlite3_bind_int64(st, i, v); }

/* Rejects NULL, "" and values that do not fit a field of cap bytes: a
 * truncated id or name would silently name another record. */
static int arg(const char *v, size_t cap, const char *what, char *err, size_t errlen) {
  if (!v || !*v) return mira_err(err, errlen, MIRA_EINVAL, "%s is empty", what);
  if (strnlen(v, cap) >= cap)
    return mira_err(err, errlen, MIRA_EINVAL, "%s is longer than %zu bytes", what, cap - 1);
  return 0;
}

static int64_t add_ms(int64_t now, int64_t ms) {
  return ms > INT64_MAX - now ? INT64_MAX : now + ms;
}

static int dberr(sq *s, int rc, const char *what, char *err, size_t errlen) {
  int code = MIRA_EIO;
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED: code = MIRA_EBUSY; break;
  case SQLITE_NOMEM: code = MIRA_ENOMEM; break;
  case SQLITE_TOOBIG: code = MIRA_ETOOBIG; break;
  case SQLITE_CONSTRAINT:
    /* duplicate id/name/hash vs. a dangling reference or bad enum value */
    code = rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE ? MIRA_EEXIST
                                                                                : MIRA_EINVAL;
    break;
  }
  return mira_err(err, errlen, code, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* The cached statement, reset and unbound. Statements are also reset right
 * after use: one left mid-step holds a read transaction open, which pins the
 * WAL and keeps checkpoints from finishing. */
static sqlite3_stmt *q(sq *s, int which) {
  sqlite3_stmt *st = s->st[which];
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return st;
}

/* Steps a statement to the end (a write); resets it. 0 or MIRA_E*. */
static int run(sq *s, sqlite3_stmt *st, const char *what, char *err, size_t errlen) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) continue; /* RETURNING rows */
  int r = rc == SQLITE_DONE ? 0 : dberr(s, rc, what, err, errlen);
  sqlite3_reset(st);
  return r;
}

/* Steps once: 1 = a row to read (the caller resets st), 0 = no row, < 0 error. */
static int row(sq *s, sqlite3_stmt *st, const char *what, char *err, size_t errlen) {
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) return 1;
  int r = rc == SQLITE_DONE ? 0 : dberr(s, rc, what, err, errlen);
  sqlite3_reset(st);
  return r;
}

static int begin(sq *s, char *err, size_t errlen) {
  return run(s, q(s, Q_BEGIN), "begin transaction", err, errlen);
}

/* Ends begin()'s transaction: commits if `commit`, else (or if the commit
 * fails) rolls back. Returns rc, or the commit's error. */
static int end(sq *s, int commit, int rc, char *err, size_t errlen) {
  if (commit) {
    int c = run(s, q(s, Q_COMMIT), "commit", err, errlen);
    if (c == 0) return rc;
    rc = c;
  }
  /* SQLite rolls back by itself after some errors (IOERR, FULL, NOMEM). */
  if (!sqlite3_get_autocommit(s->db)) run(s, q(s, Q_ROLLBACK), "rollback", NULL, 0);
  return rc;
}

typedef int (*read_fn)(sqlite3_stmt *st, void *rec);

/* Looks up one record by id, scoped to account_id (NULL: unscoped), into
 * out through the scratch record tmp, so out is only written on success. */
static int get_rec(sq *s, int which, const char *id, const char *account_id, read_fn rd, void *tmp,
                   void *out, size_t size, const char *what, char *err, size_t errlen) {
  char label[32];
  snprintf(label, sizeof label, "%s id", what);
  int r = arg(id, MIRA_ID_SIZE, label, err, errlen);
  if (r) return r;
  if (!out) return mira_err(err, errlen, MIRA_EINVAL, "get %s: out is NULL", what);
  sqlite3_stmt *st = q(s, which);
  bt(st, 1, id);
  bt(st, 2, account_id);
  if ((r = row(s, st, what, err, errlen)) == 0)
    return mira_err(err, errlen, MIRA_ENOENT, "%s %s not found", what, id);
  if (r < 0) return r;
  r = rd(st, tmp);
  sqlite3_reset(st);
  if (r < 0) return mira_err(err, errlen, r, "%s %s: out of memory", what, id);
  memcpy(out, tmp, size);
  return 0;
}

/* Reads up to max rows of st into a malloc'd array (*rows, *n) and resets st
 * before returning, so list callbacks run with no statement active: they may
 * call back into the store (requeue from job_list_working) without changing
 * a table under a running scan. With last_rowid, the last row's final column
 * (its rowid) is stored there. On error *rows holds the n rows read so far. */
static int collect(sq *s, sqlite3_stmt *st, size_t size, read_fn rd, size_t max, void **rows,
                   size_t *n, int64_t *last_rowid, const char *what, char *err, size_t errlen) {
  char *buf = NULL;
  size_t cap = 0;
  int r = 0;
  *n = 0;
  while (*n < max && (r = row(s, st, what, err, errlen)) == 1) {
    if (*n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      if (ncap > max) ncap = max;
      char *nb = realloc(buf, ncap * size);
      if (!nb) {
        r = mira_err(err, errlen, MIRA_ENOMEM, "%s: out of memory", what);
        break;
      }
      buf = nb;
      cap = ncap;
    }
    if ((r = rd(st, buf + *n * size)) < 0) {
      r = mira_err(err, errlen, r, "%s: out of memory", what);
      break;
    }
    if (last_rowid) *last_rowid = sqlite3_column_int64(st, sqlite3_column_count(st) - 1);
    (*n)++;
  }
  sqlite3_reset(st);
  *rows = buf;
  return r < 0 ? r : 0;
}

/* ---- row readers ------------------------------------------------------------ */

static int read_key(sqlite3_stmt *st, void *rec) {
  mira_key_info *k = rec;
  memset(k, 0, sizeof *k);
  COL(st, 0, k->id);
  COL(st, 1, k->account_id);
  COL(st, 2, k->account_name);
  COL(st, 3, k->prefix);
  k->created_at = sqlite3_column_int64(st, 4);
  k->revoked_at = sqlite3_column_int64(st, 5);
  return 0;
}

static int read_avatar(sqlite3_stmt *st, void *rec) {
  mira_avatar *a = rec;
  memset(a, 0, sizeof *a);
  COL(st, 0, a->id);
  COL(st, 1, a->account_id);
  COL(st, 2, a->name);
  COL(st, 3, a->voice_id);
  COL(st, 4, a->image_media_id);
  COL(st, 5, a->preview_media_id);
  a->is_photo = sqlite3_column_int(st, 6);
  a->created_at = sqlite3_column_int64(st, 7);
  COL(st, 8, a->rig);
  return 0;
}

static int read_voice(sqlite3_stmt *st, void *rec) {
  mira_voice *v = rec;
  memset(v, 0, sizeof *v);
  COL(st, 0, v->id);
  COL(st, 1, v->account_id);
  COL(st, 2, v->name);
  COL(st, 3, v->language);
  COL(st, 4, v->gender);
  COL(st, 5, v->engine);
  COL(st, 6, v->engine_params);
  v->created_at = sqlite3_column_int64(st, 7);
  v->unlisted = !sqlite3_column_int(st, 8);
  return 0;
}

static int read_media(sqlite3_stmt *st, void *rec) {
  mira_media *m = rec;
  memset(m, 0, sizeof *m);
  COL(st, 0, m->id);
  COL(st, 1, m->account_id);
  COL(st, 2, m->file_name);
  COL(st, 3, m->content_type);
  m->size = sqlite3_column_int64(st, 4);
  m->state = (mira_media_state)sqlite3_column_int(st, 5);
  m->created_at = sqlite3_column_int64(st, 6);
  m->upload_expires_at = sqlite3_column_int64(st, 7);
  return 0;
}

/* JOB_COLS order. Allocates j->params; MIRA_ENOMEM leaves j untouched. */
static int read_job(sqlite3_stmt *st, void *rec) {
  mira_job *j = rec;
  const char *p = (const char *)sqlite3_column_text(st, 7);
  size_t plen = (size_t)sqlite3_column_bytes(st, 7);
  char *params = malloc(plen + 1);
  if (!params) return MIRA_ENOMEM;
  memcpy(params, p ? p : "", p ? plen : 0);
  params[p ? plen : 0] = '\0';
  memset(j, 0, sizeof *j);
  COL(st, 0, j->id);
  COL(st, 1, j->account_id);
  j->kind = (mira_job_kind)sqlite3_column_int(st, 2);
  j->status = (mira_job_status)sqlite3_column_int(st, 3);
  j->progress = sqlite3_column_int(st, 4);
  COL(st, 5, j->name);
  COL(st, 6, j->avatar_id);
  j->params = params;
  COL(st, 8, j->error);
  j->attempts = sqlite3_column_int(st, 9);
  COL(st, 10, j->lease_owner);
  j->lease_expires_at = sqlite3_column_int64(st, 11);
  COL(st, 12, j->result_media_id);
  j->duration_ms = sqlite3_column_int64(st, 13);
  j->created_at = sqlite3_column_int64(st, 14);
  j->updated_at = sqlite3_column_int64(st, 15);
  j->started_at = sqlite3_column_int64(st, 16);
  j->finished_at = sqlite3_column_int64(st, 17);
  return 0;
}

static void free_jobs(mira_job *jobs, size_t n) {
  for (size_t i = 0; i < n; i++) free(jobs[i].params);
  free(jobs);
}

/* ---- open / close ------------------------------------------------------------ */

static int exec(sq *s, const char *text, char *err, size_t errlen) {
  int rc = sqlite3_exec(s->db, text, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : dberr(s, rc, "open", err, errlen);
}

static int pragma_text(sq *s, const char *text, char *out, size_t cap, char *err, size_t errlen) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(s->db, text, -1, &st, NULL);
  if (rc != SQLITE_OK) return dberr(s, rc, text, err, errlen);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) scopy(out, cap, (const char *)sqlite3_column_text(st, 0));
  int r = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : dberr(s, rc, text, err, errlen);
  sqlite3_finalize(st);
  return r;
}

#define OPEN_RETRY_MS 10

/* Per-connection settings. busy_timeout goes first: switching to WAL needs
 * a lock that another opener may hold. */
static int configure(sq *s, char *err, size_t errlen) {
  char mode[16] = "";
  sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
  int r;
  /* The journal-mode switch can answer SQLITE_BUSY at once, without the busy
   * handler, while another connection opens the same new file: retry. */
  for (int tries = 0;; tries++) {
    r = pragma_text(s, "PRAGMA journal_mode=WAL", mode, sizeof mode, err, errlen);
    if (r != MIRA_EBUSY || tries * OPEN_RETRY_MS >= BUSY_TIMEOUT_MS) break;
    sqlite3_sleep(OPEN_RETRY_MS);
  }
  if (r) return r;
  /* ":memory:" databases cannot do WAL; nothing to make durable there. */
  if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)
    return mira_err(err, errlen, MIRA_EIO, "open: cannot enable WAL (journal_mode is %s)", mode);
  return exec(s, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", err, errlen);
}

/* Brings the schema to SCHEMA_VERSION inside one write transaction, so two
 * processes opening a new file at once do not both migrate. */
static int migrate(sq *s, char *err, size_t errlen) {
  char text[32] = "";
  int r = exec(s, "BEGIN IMMEDIATE", err, errlen);
  if (r) return r;
  r = pragma_text(s, "PRAGMA user_version", text, sizeof text, err, errlen);
  int v = atoi(text);
  if (!r && v > SCHEMA_VERSION)
    r = mira_err(err, errlen, MIRA_ENOTSUP,
                 "open: database schema version %d is newer than this build's %d", v,
                 SCHEMA_VERSION);
  for (; !r && v < SCHEMA_VERSION; v++) r = exec(s, migrations[v], err, errlen);
  if (!r) {
    snprintf(text, sizeof text, "PRAGMA user_version=%d", SCHEMA_VERSION);
    r = exec(s, text, err, errlen);
  }
  if (!r) return exec(s, "COMMIT", err, errlen);
  sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  return r;
}

static void sq_close(mira_store *st) {
  sq *s = S(st);
  if (!s) return;
  for (int i = 0; i < Q_COUNT; i++) sqlite3_finalize(s->st[i]);
  sqlite3_close(s->db);
  free(s);
}

static int sq_open(mira_store **out, const char *dsn, char *err, size_t errlen) {
  if (!out) return mira_err(err, errlen, MIRA_EINVAL, "open: out is NULL");
  *out = NULL;
  if (!dsn || !*dsn) return mira_err(err, errlen, MIRA_EINVAL, "open: empty database path");
  sq *s = calloc(1, sizeof *s);
  if (!s) return mira_err(err, errlen, MIRA_ENOMEM, "open: out of memory");
  s->base.ops = &mira_store_sqlite;
  int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(dsn, &s->db, flags, NULL);
  int r = 0;
  if (rc != SQLITE_OK)
    r = mira_err(err, errlen, MIRA_EIO, "open %s: %s", dsn,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
  if (!r) r = configure(s, err, errlen);
  if (!r) r = migrate(s, err, errlen);
  for (int i = 0; !r && i < Q_COUNT; i++) {
    rc = sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
    if (rc != SQLITE_OK) r = dberr(s, rc, sql[i], err, errlen);
  }
  if (r) {
    sq_close(&s->base);
    return r;
  }
  *out = &s->base;
  return 0;
}

/* ---- accounts and keys ----------------------------------------------------------- */

static int account_find(sq *s, const char *name, char out_id[MIRA_ID_SIZE], char *err,
                        size_t errlen) {
  sqlite3_stmt *st = q(s, Q_ACCOUNT_GET);
  bt(st, 1, name);
  int r = row(s, st, "find account", err, errlen);
  if (r == 0) return mira_err(err, errlen, MIRA_ENOENT, "account %s not found", name);
  if (r < 0) return r;
  scopy(out_id, MIRA_ID_SIZE, (const char *)sqlite3_column_text(st, 0));
  sqlite3_reset(st);
  return 0;
}

static int account_ensure(mira_store *store, const char *name, char out_id[MIRA_ID_SIZE], char *err,
                          size_t errlen) {
  sq *s = S(store);
  int r = arg(name, MIRA_NAME_SIZE, "account name", err, errlen);
  if (r) return r;
  if (!out_id) return mira_err(err, errlen, MIRA_EINVAL, "account_ensure: out_id is NULL");
  r = account_find(s, name, out_id, err, errlen);
  if (r != MIRA_ENOENT) return r;
  char id[MIRA_ID_SIZE];
  mira_id_new(id);
  sqlite3_stmt *st = q(s, Q_ACCOUNT_ADD);
  bt(st, 1, id);
  bt(st, 2, name);
  bi(st, 3, mira_now_ms());
  if ((r = run(s, st, "insert account", err, errlen))) return r;
  /* ON CONFLICT DO NOTHING: a concurrent creator may have won; either way
   * the stored row is the answer. */
  return account_find(s, name, out_id, err, errlen);
}

static int key_insert(mira_store *store, const char *account_id, const char *key_hash,
                      const char *prefix, char out_id[MIRA_ID_SIZE], char *err, size_t errlen) {
  sq *s = S(store);
  char p[sizeof((mira_key_info *)0)->prefix];
  int r = arg(account_id, MIRA_ID_SIZE, "account id", err, errlen);
  if (!r) r = arg(key_hash, KEY_HASH_MAX + 1, "key hash", err, errlen);
  if (!r) r = arg(prefix, SIZE_MAX, "key prefix", err, errlen);
  if (!r && !out_id) r = mira_err(err, errlen, MIRA_EINVAL, "key_insert: out_id is NULL");
  if (r) return r;
  /* Stored as key_list shows it, so `mira keys revoke <prefix>` matches. */
  scopy(p, sizeof p, prefix);
  char id[MIRA_ID_SIZE];
  mira_id_new(id);
  sqlite3_stmt *st = q(s, Q_KEY_ADD);
  bt(st, 1, id);
  bt(st, 2, account_id);
  bt(st, 3, key_hash);
  bt(st, 4, p);
  bi(st, 5, mira_now_ms());
  if ((r = run(s, st, "insert key", err, errlen))) return r;
  memcpy(out_id, id, MIRA_ID_SIZE);
  return 0;
}

static int key_lookup(mira_store *store, const char *key_hash, char out_account_id[MIRA_ID_SIZE],
                      char *err, size_t errlen) {
  sq *s = S(store);
  int r = arg(key_hash, KEY_HASH_MAX + 1, "key hash", err, errlen);
  if (r) return r;
  if (!out_account_id) return mira_err(err, errlen, MIRA_EINVAL, "key_lookup: out is NULL");
  sqlite3_stmt *st = q(s, Q_KEY_LOOKUP);
  bt(st, 1, key_hash);
  r = row(s, st, "key lookup", err, errlen);
  /* No hash in the message: it is a credential in all but name. */
  if (r == 0) return mira_err(err, errlen, MIRA_ENOENT, "unknown or revoked API key");
  if (r < 0) return r;
  scopy(out_account_id, MIRA_ID_SIZE, (const char *)sqlite3_column_text(st, 0));
  sqlite3_reset(st);
  return 0;
}

static int key_list(mira_store *store, mira_key_cb cb, void *ud, char *err, size_t errlen) {
  sq *s = S(store);
  if (!cb) return mira_err(err, errlen, MIRA_EINVAL, "key_list: callback is NULL");
  void *buf;
  size_t n;
  int r = collect(s, q(s, Q_KEY_LIST), sizeof(mira_key_info), read_key, SIZE_MAX, &buf, &n, NULL,
                  "list keys", err, errlen);
  const mira_key_info *k = buf;
  for (size_t i = 0; r == 0 && i < n; i++) r = cb(ud, &k[i]);
  free(buf);
  return r;
}

/* The one key named by id_or_prefix: an exact id wins; a prefix must be
 * unique, because revoking every key that shares it is never what was meant. */
static int key_find(sq *s, const char *id_or_prefix, char id[MIRA_ID_SIZE], char *err,
                    size_t errlen) {
  sqlite3_stmt *st = q(s, Q_KEY_FIND);
  bt(st, 1, id_or_prefix);
  int r = row(s, st, "find key", err, errlen);
  if (r == 0)
    return mira_err(err, errlen, MIRA_ENOENT, "no key with id or prefix %s", id_or_prefix);
  if (r < 0) return r;
  scopy(id, MIRA_ID_SIZE, (const char *)sqlite3_column_text(st, 0));
  if (sqlite3_column_int(st, 1) == 0 && (r = row(s, st, "find key", err, errlen)) == 1)
    r = mira_err(err, errlen, MIRA_EINVAL, "key prefix %s matches several keys; use the key id",
                 id_or_prefix);
  sqlite3_reset(st);
  return r < 0 ? r : 0;
}

/* Revoking an already revoked key succeeds and keeps the first revoked_at. */
static int key_revoke(mira_store *store, const char *id_or_prefix, char *err, size_t errlen) {
  sq *s = S(store);
  char id[MIRA_ID_SIZE];
  int r = arg(id_or_prefix, MIRA_NAME_SIZE, "key id or prefix", err, errlen);
  if (r || (r = begin(s, err, errlen))) return r;
  r = key_find(s, id_or_prefix, id, err, errlen);
  if (!r) {
    sqlite3_stmt *st = q(s, Q_KEY_REVOKE);
    bt(st, 1, id);
    bi(st, 2, mira_now_ms());
    r = run(s, st, "revoke key", err, errlen);
  }
  return end(s, r == 0, r, err, errlen);
}

/* ---- avatars and voices ----------------------------------------------------------- */

static int avatar_insert(mira_store *store, const mira_avatar *a, char *err, size_t errlen) {
  sq *s = S(store);
  if (!a) return mira_err(err, errlen, MIRA_EINVAL, "avatar_insert: avatar is NULL");
  int r = arg(a->id, sizeof a->id, "avatar id", err, errlen);
  if (r) return r;
  sqlite3_stmt *st = q(s, Q_AVATAR_ADD);
  BF(st, 1, a->id);
  BF(st, 2, a->account_id);
  BF(st, 3, a->name);
  BF(st, 4, a->voice_id);
  BF(st, 5, a->image_media_id);
  BF(st, 6, a->preview_media_id);
  bi(st, 7, a->is_photo ? 1 : 0);
  bi(st, 8, a->created_at > 0 ? a->created_at : mira_now_ms());
  BF(st, 9, a->rig);
  r = run(s, st, "insert avatar", err, errlen);
  if (!r && sqlite3_changes(s->db) == 0)
    r = mira_err(err, errlen, MIRA_EEXIST, "avatar %s belongs to another account", a->id);
  return r;
}

static int avatar_get(mira_store *store, const char *id, const char *account_id, mira_avatar *out,
                      char *err, size_t errlen) {
  mira_avatar a;
  return get_rec(S(store), Q_AVATAR_GET, id, account_id, read_avatar, &a, out, sizeof a, "avatar",
                 err, errlen);
}

static int avatar_list(mira_store *store, const char *account_id, mira_avatar_cb cb, void *ud,
                       char *err, size_t errlen) {
  sq *s = S(store);
  if (!cb) return mira_err(err, errlen, MIRA_EINVAL, "avatar_list: callback is NULL");
  sqlite3_stmt *st = q(s, Q_AVATAR_LIST);
  bt(st, 1, account_id);
  void *buf;
  size_t n;
  int r = collect(s, st, sizeof(mira_avatar), read_avatar, SIZE_MAX, &buf, &n, NULL, "list avatars",
                  err, errlen);
  const mira_avatar *a = buf;
  for (size_t i = 0; r == 0 && i < n; i++) r = cb(ud, &a[i]);
  free(buf);
  return r;
}

static int voice_insert(mira_store *store, const mira_voice *v, char *err, size_t errlen) {
  sq *s = S(store);
  if (!v) return mira_err(err, errlen, MIRA_EINVAL, "voice_insert: voice is NULL");
  int r = arg(v->id, sizeof v->id, "voice id", err, errlen);
  if (r) return r;
  sqlite3_stmt *st = q(s, Q_VOICE_ADD);
  BF(st, 1, v->id);
  BF(st, 2, v->account_id);
  BF(st, 3, v->name);
  BF(st, 4, v->language);
  BF(st, 5, v->gender);
  BF(st, 6, v->engine);
  BF(st, 7, v->engine_params);
  bi(st, 8, v->created_at > 0 ? v->created_at : mira_now_ms());
  bi(st, 9, !v->unlisted);
  r = run(s, st, "insert voice", err, errlen);
  /* the upsert's WHERE refuses to move a voice between owners */
  if (!r && sqlite3_changes(s->db) == 0) r = mira_err(err, errlen, MIRA_EEXIST, "voice %s exists", v->id);
  return r;
}

static int voice_get(mira_store *store, const char *id, const char *account_id, mira_voice *out,
                     char *err, size_t errlen) {
  mira_voice v;
  return get_rec(S(store), Q_VOICE_GET, id, account_id, read_voice, &v, out, sizeof v, "voice", err,
                 errlen);
}

static int voice_list(mira_store *store, const char *account_id, int all, mira_voice_cb cb, void *ud,
                      char *err, size_t errlen) {
  sq *s = S(store);
  if (!cb) return mira_err(err, errlen, MIRA_EINVAL, "voice_list: callback is NULL");
  sqlite3_stmt *st = q(s, Q_VOICE_LIST);
  bt(st, 1, account_id);
  bi(st, 2, all != 0);
  void *buf;
  size_t n;
  int r = collect(s, st, sizeof(mira_voice), read_voice, SIZE_MAX, &buf, &n, NULL, "list voices",
                  err, errlen);
  const mira_voice *v = buf;
  for (size_t i = 0; r == 0 && i < n; i++) r = cb(ud, &v[i]);
  free(buf);
  return r;
}

/* Deletes row id of an owner ("" or NULL: stock) with query (?1 id, ?2 owner). */
static int delete_owned(mira_store *store, int query, const char *what, const char *id, const char *account_id,
                        char *err, size_t errlen) {
  sq *s = S(store);
  char label[32];
  snprintf(label, sizeof label, "%s id", what);
  int r = arg(id, MIRA_ID_SIZE, label, err, errlen);
  if (r) return r;
  sqlite3_stmt *st = q(s, query);
  bt(st, 1, id);
  bt(st, 2, account_id ? account_id : "");
  snprintf(label, sizeof label, "delete %s", what);
  r = run(s, st, label, err, errlen);
  if (!r && sqlite3_changes(s->db) == 0) r = mira_err(err, errlen, MIRA_ENOENT, "%s %s not found", what, id);
  return r;
}

static int voice_delete(mira_store *store, const char *id, const char *account_id, char *err, size_t errlen) {
  return delete_owned(store, Q_VOICE_DEL, "voice", id, account_id, err, errlen);
}

static int avatar_delete(mira_store *store, const char *id, const char *account_id, char *err, size_t errlen) {
  return delete_owned(store, Q_AVATAR_DEL, "avatar", id, account_id, err, errlen);
}

/* ---- media ---------------------------------------------------------------------- */

static const char *media_state_name(int st) {
  static const char *const names[] = {"pending", "uploaded", "ready"};
  return st >= 0 && st <= MIRA_MEDIA_READY ? names[st] : "unknown";
}

static int media_insert(mira_store *store, const mira_media *m, char *err, size_t errlen) {
  sq *s = S(store);
  if (!m) return mira_err(err, errlen, MIRA_EINVAL, "media_insert: media is NULL");
  int r = arg(m->id, sizeof m->id, "media id", err, errlen);
  if (!r) r = arg(m->account_id, sizeof m->account_id, "media account id", err, errlen);
  if (!r && ((int)m->state < MIRA_MEDIA_PENDING || m->state > MIRA_MEDIA_READY))
    r = mira_err(err, errlen, MIRA_EINVAL, "media state %d out of range", (int)m->state);
  if (r) return r;
  sqlite3_stmt *st = q(s, Q_MEDIA_ADD);
  BF(st, 1, m->id);
  BF(st, 2, m->account_id);
  BF(st, 3, m->file_name);
  BF(st, 4, m->content_type);
  bi(st, 5, m->size);
  bi(st, 6, m->state);
  bi(st, 7, m->created_at > 0 ? m->created_at : mira_now_ms());
  bi(st, 8, m->upload_expires_at);
  return run(s, st, "insert media", err, errlen);
}

static int media_get(mira_store *store, const char *id, const char *account_id, mira_media *out,
                     char *err, size_t errlen) {
  mira_media m;
  return get_rec(S(store), Q_MEDIA_GET, id, account_id, read_media, &m, out, sizeof m, "media", err,
                 errlen);
}

/* Why a media_set_state update matched nothing: missing or in another state. */
static int media_why(sq *s, const char *id, mira_media_state from, char *err, size_t errlen) {
  sqlite3_stmt *st = q(s, Q_MEDIA_STATE);
  bt(st, 1, id);
  int r = row(s, st, "media state", err, errlen);
  if (r == 0) return mira_err(err, errlen, MIRA_ENOENT, "media %s not found", id);
  if (r < 0) return r;
  int now = sqlite3_column_int(st, 0);
  sqlite3_reset(st);
  return mira_err(err, errlen, MIRA_ESTATE, "media %s is %s, not %s", id, media_state_name(now),
                  media_state_name(from));
}

static int media_set_state(mira_store *store, const char *id, mira_media_state from,
                           mira_media_state to, int64_t size, char *err, size_t errlen) {
  sq *s = S(store);
  int r = arg(id, MIRA_ID_SIZE, "media id", err, errlen);
  if (!r && ((int)from < 0 || from > MIRA_MEDIA_READY || (int)to < 0 || to > MIRA_MEDIA_READY))
    r = mira_err(err, errlen, MIRA_EINVAL, "media state %d -> %d out of range", (int)from, (int)to);
  if (r || (r = begin(s, err, errlen))) return r;
  sqlite3_stmt *st = q(s, Q_MEDIA_SET);
  bt(st, 1, id);
  bi(st, 2, from);
  bi(st, 3, to);
  bi(st, 4, size);
  r = run(s, st, "set media state", err, errlen);
  if (!r && sqlite3_changes(s->db) == 0) r = media_why(s, id, from, err, errlen);
  return end(s, r == 0, r, err, errlen);
}

static int media_delete(mira_store *store, const char *id, const char *account_id, char *err,
                        size_t errlen) {
  sq *s = S(store);
  int r = arg(id, MIRA_ID_SIZE, "media id", err, errlen);
  if (r) return r;
  sqlite3_stmt *st = q(s, Q_MEDIA_DEL);
  bt(st, 1, id);
  if (account_id) bt(st, 2, account_id);
  else sqlite3_bind_null(st, 2);
  r = run(s, st, "delete media", err, errlen);
  if (!r && sqlite3_changes(s->db) == 0) r = mira_err(err, errlen, MIRA_ENOENT, "media %s not found", id);
  return r;
}

/* ---- jobs ------------------------------------------------------------------------ */

/* Marks a job inserted a moment ago as the database has it. */
static void job_stamp(mira_job *job, int64_t now) {
  job->status = MIRA_JOB_STARTED;
  job->progress = 0;
  job->error[0] = job->lease_owner[0] = job->result_media_id[0] = '\0';
  job->attempts = 0;
  job->lease_expires_at = job->duration_ms = job->started_at = job->finished_at = 0;
  job->created_at = job->updated_at = now;
}

static int job_add(sq *s, const mira_job *job, int64_t now, char *err, size_t errlen) {
  sqlite3_stmt *st = q(s, Q_JOB_ADD);
  BF(st, 1, job->id);
  BF(st, 2, job->account_id);
  bi(st, 3, job->kind);
  BF(st, 4, job->name);
  BF(st, 5, job->avatar_id);
  /* params may be large: a failed bind must not become "{}" */
  int rc = sqlite3_bind_text(st, 6, job->params ? job->params : "{}", -1, SQLITE_STATIC);
  if (rc != SQLITE_OK) return dberr(s, rc, "insert job params", err, errlen);
  bi(st, 7, now);
  return run(s, st, "insert job", err, errlen);
}

/* The idempotency check inside job_insert's transaction: 0 to go ahead,
 * MIRA_EEXIST (job->id set to the original) or MIRA_ECONFLICT. */
static int idem_check(sq *s, mira_job *job, const char *key, const char *hash, int64_t ttl_ms,
                      int64_t now, char *err, size_t errlen) {
  sqlite3_stmt *st = q(s, Q_IDEM_GET);
  bt(st, 1, job->account_id);
  bt(st, 2, key);
  int r = row(s, st, "idempotency lookup", err, errlen);
  if (r <= 0) return r;
  const char *stored = (const char *)sqlite3_column_text(st, 0); /* NULL only on OOM */
  int same = stored && strcmp(stored, hash) == 0;
  char orig[MIRA_ID_SIZE];
  COL(st, 1, orig);
  int64_t at = sqlite3_column_int64(st, 2);
  sqlite3_reset(st);
  if (now - at >= ttl_ms) return 0; /* expired: replaced by this request */
  if (!same)
    return mira_err(err, errlen, MIRA_ECONFLICT,
                    "idempotency key %s was used with a different request (job %s)", key, orig);
  memcpy(job->id, orig, MIRA_ID_SIZE);
  return mira_err(err, errlen, MIRA_EEXIST, "idempotent replay of job %s", orig);
}

static int job_insert_args(const mira_job *job, const char *idem_key, const char *body_hash,
                           char *err, size_t errlen) {
  if (!job) return mira_err(err, errlen, MIRA_EINVAL, "job_insert: job is NULL");
  int r = arg(job->id, sizeof job->id, "job id", err, errlen);
  if (!r) r = arg(job->account_id, sizeof job->account_id, "job account id", err, errlen);
  if (!r && ((int)job->kind < 0 || job->kind >= MIRA_JOB_KIND_COUNT))
    r = mira_err(err, errlen, MIRA_EINVAL, "job kind %d out of range", (int)job->kind);
  if (!r && idem_key) r = arg(idem_key, IDEM_KEY_MAX + 1, "idempotency key", err, errlen);
  if (!r && idem_key) r = arg(body_hash, KEY_HASH_MAX + 1, "body hash", err, errlen);
  return r;
}

static int job_insert(mira_store *store, mira_job *job, const char *idem_key, const char *body_hash,
                      int64_t idem_ttl_ms, char *err, size_t errlen) {
  sq *s = S(store);
  int r = job_insert_args(job, idem_key, body_hash, err, errlen);
  if (r) return r;
  int64_t now = mira_now_ms();
  if (!idem_key) {
    if ((r = job_add(s, job, now, err, errlen)) == 0) job_stamp(job, now);
    return r;
  }
  if ((r = begin(s, err, errlen))) return r;
  r = idem_check(s, job, idem_key, body_hash, idem_ttl_ms, now, err, errlen);
  if (!r) r = job_add(s, job, now, err, errlen);
  if (!r) {
    sqlite3_stmt *st = q(s, Q_IDEM_PUT);
    bt(st, 1, job->account_id);
    bt(st, 2, idem_key);
    bt(st, 3, body_hash);
    BF(st, 4, job->id);
    bi(st, 5, now);
    r = run(s, st, "insert idempotency record", err, errlen);
  }
  if ((r = end(s, r == 0, r, err, errlen)) == 0) job_stamp(job, now);
  return r;
}

static int job_get(mira_store *store, const char *id, const char *account_id, mira_job *out,
                   char *err, size_t errlen) {
  mira_job j;
  return get_rec(S(store), Q_JOB_GET, id, account_id, read_job, &j, out, sizeof j, "job", err,
                 errlen);
}

/* Job listings read JOB_BATCH rows at a time and resume after the last row's
 * (created_at, rowid): memory stays bounded for accounts with many jobs, and
 * callbacks run between batches with no statement active (see collect). */
static int list_jobs(sq *s, int which, const char *account_id, int kind, int status, int64_t start,
                     mira_job_cb cb, void *ud, char *err, size_t errlen) {
  int64_t at = start, rowid = start;
  for (;;) {
    sqlite3_stmt *st = q(s, which);
    bi(st, 1, at);
    bi(st, 2, rowid);
    if (account_id) {
      bt(st, 3, account_id);
      bi(st, 4, kind);
      bi(st, 5, status);
    }
    void *buf;
    size_t n;
    int r = collect(s, st, sizeof(mira_job), read_job, JOB_BATCH, &buf, &n, &rowid, "list jobs",
                    err, errlen);
    mira_job *jobs = buf;
    for (size_t i = 0; r == 0 && i < n; i++) r = cb(ud, &jobs[i]);
    if (n) at = jobs[n - 1].created_at;
    free_jobs(jobs, n);
    if (r || n < JOB_BATCH) return r;
  }
}

static int job_list(mira_store *store, const char *account_id, mira_job_kind kind,
                    mira_job_status status, mira_job_cb cb, void *ud, char *err, size_t errlen) {
  int r = arg(account_id, MIRA_ID_SIZE, "account id", err, errlen);
  if (r) return r;
  if ((int)kind < 0 || kind >= MIRA_JOB_KIND_COUNT || (int)status < 0 ||
      status >= MIRA_JOB_STATUS_COUNT)
    return mira_err(err, errlen, MIRA_EINVAL, "job kind %d / status %d out of range", (int)kind,
                    (int)status);
  if (!cb) return mira_err(err, errlen, MIRA_EINVAL, "job_list: callback is NULL");
  return list_jobs(S(store), Q_JOB_LIST, account_id, kind, status, INT64_MAX, cb, ud, err, errlen);
}

static int job_list_working(mira_store *store, mira_job_cb cb, void *ud, char *err, size_t errlen) {
  if (!cb) return mira_err(err, errlen, MIRA_EINVAL, "job_list_working: callback is NULL");
  return list_jobs(S(store), Q_JOB_WORKING, NULL, 0, 0, INT64_MIN, cb, ud, err, errlen);
}

/* Leases job id to owner; fills out from the updated row. */
static int job_lease(sq *s, const char *id, const char *owner, int64_t now, int64_t lease_ms,
                     mira_job *out, char *err, size_t errlen) {
  sqlite3_stmt *st = q(s, Q_JOB_LEASE);
  bt(st, 1, id);
  bt(st, 2, owner);
  bi(st, 3, add_ms(now, lease_ms));
  bi(st, 4, now);
  int r = row(s, st, "lease job", err, errlen);
  if (r == 0) return mira_err(err, errlen, MIRA_EIO, "lease job %s: row vanished", id);
  if (r < 0) return r;
  r = read_job(st, out);
  sqlite3_reset(st);
  return r < 0 ? mira_err(err, errlen, r, "lease job %s: out of memory", id) : 0;
}

static int job_give_up(sq *s, const char *id, int attempts, int64_t now, char *err, size_t errlen) {
  char msg[MIRA_ERRMSG_SIZE];
  snprintf(msg, sizeof msg, "job was interrupted %d times (server crash or restart); giving up",
           attempts);
  sqlite3_stmt *st = q(s, Q_JOB_GIVE_UP);
  bt(st, 1, id);
  bt(st, 2, msg);
  bi(st, 3, now);
  return run(s, st, "fail job", err, errlen);
}

/* The body of job_claim, inside its transaction. Each job given up on
 * leaves the candidate set, so the loop ends. */
static int claim_next(sq *s, const char *owner, int64_t lease_ms, int max_attempts, mira_job *out,
                      char *err, size_t errlen) {
  int64_t now = mira_now_ms();
  for (;;) {
    sqlite3_stmt *st = q(s, Q_JOB_NEXT);
    bi(st, 1, now);
    int r = row(s, st, "claim job", err, errlen);
    if (r == 0) return mira_err(err, errlen, MIRA_ENOENT, "no job to claim");
    if (r < 0) return r;
    char id[MIRA_ID_SIZE];
    COL(st, 0, id);
    int attempts = sqlite3_column_int(st, 1);
    sqlite3_reset(st);
    if (attempts < max_attempts) return job_lease(s, id, owner, now, lease_ms, out, err, errlen);
    if ((r = job_give_up(s, id, attempts, now, err, errlen))) return r;
  }
}

static int job_claim(mira_store *store, const char *owner, int64_t lease_ms, int max_attempts,
                     mira_job *out, char *err, size_t errlen) {
  sq *s = S(store);
  mira_job job;
  int r = arg(owner, OWNER_SIZE, "lease owner", err, errlen);
  if (!r && (lease_ms <= 0 || max_attempts < 1))
    r = mira_err(err, errlen, MIRA_EINVAL,
                 "job_claim: lease_ms %lld and max_attempts %d must be > 0", (long long)lease_ms,
                 max_attempts);
  if (!r && !out) r = mira_err(err, errlen, MIRA_EINVAL, "job_claim: out is NULL");
  if (r || (r = begin(s, err, errlen))) return r;
  r = claim_next(s, owner, lease_ms, max_attempts, &job, err, errlen);
  int leased = r == 0;
  /* Commit on ENOENT too: jobs given up on along the way stay FAILED. */
  r = end(s, r == 0 || r == MIRA_ENOENT, r, err, errlen);
  if (r == 0)
    *out = job;
  else if (leased)
    free(job.params);
  return r;
}

/* Why a heartbeat/finish/requeue by owner matched nothing. */
static int not_held(sq *s, const char *id, const char *owner, char *err, size_t errlen) {
  sqlite3_stmt *st = q(s, Q_JOB_STATE);
  bt(st, 1, id);
  int r = row(s, st, "job state", err, errlen);
  if (r == 0) return mira_err(err, errlen, MIRA_ENOENT, "job %s not found", id);
  if (r < 0) return r;
  int status = sqlite3_column_int(st, 0);
  char held[OWNER_SIZE];
  COL(st, 1, held);
  sqlite3_reset(st);
  return mira_err(err, errlen, MIRA_ESTATE, "job %s is %s (lease owner \"%s\"), not held by \"%s\"",
                  id, mira_job_status_name((mira_job_status)status), held, owner ? owner : "");
}

static int job_heartbeat(mira_store *store, const char *id, const char *owner, int64_t lease_ms,
                         int progress, char *err, size_t errlen) {
  sq *s = S(store);
  int r = arg(id, MIRA_ID_SIZE, "job id", err, errlen);
  if (!r) r = arg(owner, OWNER_SIZE, "lease owner", err, errlen);
  if (!r && lease_ms <= 0) r = mira_err(err, errlen, MIRA_EINVAL, "job_heartbeat: lease_ms <= 0");
  if (r) return r;
  int64_t now = mira_now_ms();
  sqlite3_stmt *st = q(s, Q_JOB_BEAT);
  bt(st, 1, id);
  bt(st, 2, owner);
  bi(st, 3, add_ms(now, lease_ms));
  bi(st, 4, progress > 100 ? 100 : progress);
  bi(st, 5, now);
  if ((r = run(s, st, "job heartbeat", err, errlen))) return r;
  return sqlite3_changes(s->db) ? 0 : not_held(s, id, owner, err, errlen);
}

static int job_finish(mira_store *store, const char *id, const char *owner, mira_job_status status,
                      const char *error, const char *result_media_id, int64_t duration_ms,
                      char *err, size_t errlen) {
  sq *s = S(store);
  int r = arg(id, MIRA_ID_SIZE, "job id", err, errlen);
  if (!r) r = arg(owner, OWNER_SIZE, "lease owner", err, errlen);
  if (!r && status != MIRA_JOB_COMPLETE && status != MIRA_JOB_FAILED && status != MIRA_JOB_ERROR)
    r = mira_err(err, errlen, MIRA_EINVAL, "job_finish: %d is not a final status", (int)status);
  if (r) return r;
  char msg[MIRA_ERRMSG_SIZE], media[MIRA_ID_SIZE];
  scopy(msg, sizeof msg, error);
  scopy(media, sizeof media, result_media_id);
  int64_t now = mira_now_ms();
  sqlite3_stmt *st = q(s, Q_JOB_FINISH);
  bt(st, 1, id);
  bt(st, 2, owner);
  bi(st, 3, status);
  bt(st, 4, msg);
  bt(st, 5, media);
  bi(st, 6, duration_ms);
  bi(st, 7, now);
  if ((r = run(s, st, "finish job", err, errlen))) return r;
  return sqlite3_changes(s->db) ? 0 : not_held(s, id, owner, err, errlen);
}

static int job_requeue(mira_store *store, const char *id, const char *owner, char *err,
                       size_t errlen) {
  sq *s = S(store);
  int r = arg(id, MIRA_ID_SIZE, "job id", err, errlen);
  if (r) return r;
  sqlite3_stmt *st = q(s, Q_JOB_REQUEUE);
  bt(st, 1, id);
  bt(st, 2, owner);
  bi(st, 3, mira_now_ms());
  if ((r = run(s, st, "requeue job", err, errlen))) return r;
  return sqlite3_changes(s->db) ? 0 : not_held(s, id, owner, err, errlen);
}

static int job_count(mira_store *store, int64_t counts[MIRA_JOB_STATUS_COUNT], char *err,
                     size_t errlen) {
  sq *s = S(store);
  int64_t c[MIRA_JOB_STATUS_COUNT] = {0};
  if (!counts) return mira_err(err, errlen, MIRA_EINVAL, "job_count: counts is NULL");
  sqlite3_stmt *st = q(s, Q_JOB_COUNT);
  int r;
  while ((r = row(s, st, "count jobs", err, errlen)) == 1) {
    int status = sqlite3_column_int(st, 0);
    if (status >= 0 && status < MIRA_JOB_STATUS_COUNT) c[status] = sqlite3_column_int64(st, 1);
  }
  if (r < 0) return r;
  memcpy(counts, c, sizeof c);
  return 0;
}

/* ---- maintenance ---------------------------------------------------------------- */

static int check(mira_store *store, char *err, size_t errlen) {
  sq *s = S(store);
  sqlite3_stmt *st = q(s, Q_CHECK);
  int r = row(s, st, "integrity check", err, errlen);
  if (r == 0) return mira_err(err, errlen, MIRA_EIO, "integrity check returned nothing");
  if (r < 0) return r;
  const char *first = (const char *)sqlite3_column_text(st, 0);
  r = first && strcmp(first, "ok") == 0
          ? 0
          : mira_err(err, errlen, MIRA_EIO, "integrity check: %s", first ? first : "(null)");
  sqlite3_reset(st);
  return r;
}

/* data_version moves when another connection commits; total_changes when
 * this one does. Together they change whenever the database may have. */
static int data_version(mira_store *store, uint64_t *out, char *err, size_t errlen) {
  sq *s = S(store);
  sqlite3_stmt *st = q(s, Q_DATA_VERSION);
  int r = row(s, st, "data version", err, errlen);
  if (r < 0) return r;
  uint64_t v = r ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  *out = (v << 32) ^ (uint64_t)sqlite3_total_changes64(s->db);
  return 0;
}

const mira_store_ops mira_store_sqlite = {
    .version = 1,
    .name = "sqlite",
    .supports = 0, /* no SKIP LOCKED: one writer at a time claims */
    .open = sq_open,
    .close = sq_close,
    .account_ensure = account_ensure,
    .key_insert = key_insert,
    .key_lookup = key_lookup,
    .key_list = key_list,
    .key_revoke = key_revoke,
    .avatar_insert = avatar_insert,
    .avatar_get = avatar_get,
    .avatar_list = avatar_list,
    .voice_insert = voice_insert,
    .voice_get = voice_get,
    .voice_list = voice_list,
    .voice_delete = voice_delete,
    .avatar_delete = avatar_delete,
    .media_insert = media_insert,
    .media_get = media_get,
    .media_set_state = media_set_state,
    .media_delete = media_delete,
    .data_version = data_version,
    .job_insert = job_insert,
    .job_get = job_get,
    .job_list = job_list,
    .job_claim = job_claim,
    .job_heartbeat = job_heartbeat,
    .job_finish = job_finish,
    .job_requeue = job_requeue,
    .job_list_working = job_list_working,
    .job_count = job_count,
    .check = check,
};
