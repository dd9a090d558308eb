/* Store conformance tests, run against the sqlite backend on real temp files.
 *
 *   store-1.*  open, backend selection, schema, names
 *   store-2.*  accounts and API keys
 *   store-3.*  avatars and voices (stock vs own visibility)
 *   store-4.*  media state machine
 *   store-5.*  job insert/get/list, idempotency
 *   store-6.*  claim, lease, heartbeat, finish, requeue, counts
 *   store-7.*  concurrency: handles on one file from several threads
 *   store-8.*  integrity check and persistence
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/ids.h"
#include "store/store.h"

static char tmpdir[64];
static char err[512];

/* A fresh database path in the temp dir; files are removed at exit. */
static const char *db_path(const char *name) {
  static char path[8][160];
  static int next;
  char *p = path[next++ % 8];
  snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
  return p;
}

static void cleanup(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static mira_store *open_db(const char *name) {
  mira_store *st = NULL;
  int rc = mira_store_open(&st, "sqlite", db_path(name), err, sizeof err);
  if (rc) fprintf(stderr, "open %s: %s\n", name, err);
  return st;
}

static mira_job new_job(const char *account_id, mira_job_kind kind, const char *params) {
  mira_job j;
  memset(&j, 0, sizeof j);
  mira_id_new(j.id);
  snprintf(j.account_id, sizeof j.account_id, "%s", account_id);
  j.kind = kind;
  snprintf(j.name, sizeof j.name, "job %s", j.id);
  j.params = strdup(params);
  return j;
}

/* Inserts a job without idempotency and returns its id in out. */
static int add_job(mira_store *st, const char *account_id, mira_job_kind kind, char *out) {
  mira_job j = new_job(account_id, kind, "{}");
  int rc = st->ops->job_insert(st, &j, NULL, NULL, 0, err, sizeof err);
  memcpy(out, j.id, MIRA_ID_SIZE);
  mira_job_clear(&j);
  return rc;
}

/* Collects ids from list callbacks; returns stop_rc once n reaches stop_at. */
typedef struct ids {
  char id[512][MIRA_ID_SIZE];
  char account[512][MIRA_ID_SIZE];
  int n, stop_at, stop_rc;
} ids;

static int ids_add(ids *l, const char *id, const char *account) {
  if (l->n < 512) {
    memcpy(l->id[l->n], id, MIRA_ID_SIZE);
    memcpy(l->account[l->n], account, MIRA_ID_SIZE);
  }
  l->n++;
  return l->stop_at && l->n >= l->stop_at ? l->stop_rc : 0;
}

static int on_avatar(void *ud, const mira_avatar *a) { return ids_add(ud, a->id, a->account_id); }
static int on_voice(void *ud, const mira_voice *v) { return ids_add(ud, v->id, v->account_id); }
static int on_job(void *ud, const mira_job *j) { return ids_add(ud, j->id, j->account_id); }

static int on_key(void *ud, const mira_key_info *k) {
  mira_key_info *out = ud;
  int i = 0;
  while (out[i].id[0]) i++;
  if (i < 7) out[i] = *k;
  return 0;
}

/* ---- store-1: open ------------------------------------------------------- */

static void test_open(void) {
  mira_store *st = (mira_store *)1;
  CHECK_INT("store-1.1", mira_store_open(&st, "postgres", db_path("x.db"), err, sizeof err),
            MIRA_ENOTSUP);
  CHECK("store-1.1", st == NULL);
  CHECK_STR("store-1.1", err, "unknown store backend \"postgres\" (available: sqlite)");

  st = (mira_store *)1;
  CHECK_INT("store-1.2", mira_store_open(&st, "sqlite", "/nonexistent/dir/x.db", err, sizeof err),
            MIRA_EIO);
  CHECK("store-1.2", st == NULL);
  CHECK_INT("store-1.2", mira_store_open(&st, "sqlite", "", err, sizeof err), MIRA_EINVAL);

  FILE *f = fopen(db_path("garbage.db"), "w");
  for (int i = 0; f && i < 512; i++) fputs("not a database file ", f);
  if (f) fclose(f);
  CHECK_INT("store-1.3", mira_store_open(&st, "sqlite", db_path("garbage.db"), err, sizeof err),
            MIRA_EIO);
  CHECK("store-1.3", strstr(err, "not a database") != NULL);

  st = open_db("open.db");
  CHECK("store-1.4", st != NULL);
  if (!st) return;
  CHECK_STR("store-1.4", st->ops->name, "sqlite");
  CHECK_INT("store-1.4", st->ops->version, 1);
  CHECK("store-1.4", st->ops == &mira_store_sqlite);

  /* The schema version and WAL mode are visible from any connection. */
  sqlite3 *db;
  sqlite3_stmt *q;
  CHECK_INT("store-1.5", sqlite3_open(db_path("open.db"), &db), SQLITE_OK);
  CHECK_INT("store-1.5", sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
  CHECK_INT("store-1.5", sqlite3_step(q), SQLITE_ROW);
  CHECK_INT("store-1.5", sqlite3_column_int(q, 0), 1);
  sqlite3_finalize(q);
  CHECK_INT("store-1.5", sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
  CHECK_INT("store-1.5", sqlite3_step(q), SQLITE_ROW);
  CHECK_STR("store-1.5", (const char *)sqlite3_column_text(q, 0), "wal");
  sqlite3_finalize(q);
  mira_store_close(st);

  /* A database from a newer build is refused rather than misread. */
  CHECK_INT("store-1.6", sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  st = (mira_store *)1;
  CHECK_INT("store-1.6", mira_store_open(&st, "sqlite", db_path("open.db"), err, sizeof err),
            MIRA_ENOTSUP);
  CHECK("store-1.6", st == NULL);
  CHECK_STR("store-1.6", err, "open: database schema version 99 is newer than this build's 1");
  mira_store_close(NULL);

  CHECK_STR("store-1.7", mira_job_kind_name(MIRA_JOB_VIDEO), "video");
  CHECK_STR("store-1.7", mira_job_kind_name(MIRA_JOB_IMAGE_GENERATE), "image_generate");
  CHECK_STR("store-1.7", mira_job_kind_name(MIRA_JOB_IMAGE_EDIT), "image_edit");
  CHECK_STR("store-1.7", mira_job_kind_name(MIRA_JOB_IMAGE_INPAINT), "image_inpaint");
  CHECK_STR("store-1.7", mira_job_kind_name((mira_job_kind)42), "unknown");
  CHECK_STR("store-1.7", mira_job_status_name(MIRA_JOB_STARTED), "inference_started");
  CHECK_STR("store-1.7", mira_job_status_name(MIRA_JOB_WORKING), "inference_working");
  CHECK_STR("store-1.7", mira_job_status_name(MIRA_JOB_COMPLETE), "inference_complete");
  CHECK_STR("store-1.7", mira_job_status_name(MIRA_JOB_FAILED), "inference_failed");
  CHECK_STR("store-1.7", mira_job_status_name(MIRA_JOB_ERROR), "inference_error");
  CHECK_STR("store-1.7", mira_job_status_name((mira_job_status)-1), "unknown");

  mira_job j = new_job("cx", MIRA_JOB_VIDEO, "{}");
  mira_job_clear(&j); /* ASan reports the leak if params were not freed */
  CHECK("store-1.8", j.params == NULL && j.id[0] == '\0');
  mira_job_clear(NULL);
}

/* ---- store-2: accounts and keys ---------------------------------------------- */

static void test_keys(mira_store *st, const char *alice, const char *bob) {
  const mira_store_ops *o = st->ops;
  char id[MIRA_ID_SIZE] = "", again[MIRA_ID_SIZE] = "", acct[MIRA_ID_SIZE] = "";

  CHECK("store-2.1", mira_id_valid(alice) && mira_id_valid(bob) && strcmp(alice, bob) != 0);
  CHECK_INT("store-2.1", o->account_ensure(st, "alice", again, err, sizeof err), 0);
  CHECK_STR("store-2.1", again, alice);
  CHECK_INT("store-2.2", o->account_ensure(st, "", id, err, sizeof err), MIRA_EINVAL);
  char longname[300];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  CHECK_INT("store-2.2", o->account_ensure(st, longname, id, err, sizeof err), MIRA_EINVAL);

  char k1[MIRA_ID_SIZE], k2[MIRA_ID_SIZE], k3[MIRA_ID_SIZE];
  CHECK_INT("store-2.3", o->key_insert(st, alice, "hash-one", "mira_aaaa", k1, err, sizeof err), 0);
  CHECK_INT("store-2.3", o->key_lookup(st, "hash-one", acct, err, sizeof err), 0);
  CHECK_STR("store-2.3", acct, alice);
  CHECK_INT("store-2.4", o->key_lookup(st, "hash-nope", acct, err, sizeof err), MIRA_ENOENT);
  CHECK_STR("store-2.4", err, "unknown or revoked API key");
  CHECK_INT("store-2.5", o->key_insert(st, bob, "hash-one", "mira_bbbb", id, err, sizeof err),
            MIRA_EEXIST);
  CHECK_INT("store-2.6", o->key_insert(st, "cnosuchaccount", "hash-x", "mira_x", id, err, sizeof err),
            MIRA_EINVAL);
  /* Prefixes are stored as listed (15 chars) so revoke-by-prefix matches. */
  CHECK_INT("store-2.7",
            o->key_insert(st, bob, "hash-two", "mira_0123456789abcdef", k2, err, sizeof err), 0);
  CHECK_INT("store-2.7", o->key_insert(st, bob, "hash-three", "mira_dup", k3, err, sizeof err), 0);

  mira_key_info keys[8];
  memset(keys, 0, sizeof keys);
  CHECK_INT("store-2.8", o->key_list(st, on_key, keys, err, sizeof err), 0);
  CHECK_STR("store-2.8", keys[0].id, k1);
  CHECK_STR("store-2.8", keys[0].account_name, "alice");
  CHECK_STR("store-2.8", keys[0].prefix, "mira_aaaa");
  CHECK_STR("store-2.8", keys[1].account_name, "bob");
  CHECK_STR("store-2.8", keys[1].prefix, "mira_0123456789");
  CHECK_INT("store-2.8", keys[1].revoked_at, 0);
  CHECK_STR("store-2.8", keys[2].id, k3);
  CHECK("store-2.8", keys[3].id[0] == '\0');

  CHECK_INT("store-2.9", o->key_revoke(st, "mira_0123456789", err, sizeof err), 0);
  CHECK_INT("store-2.9", o->key_lookup(st, "hash-two", acct, err, sizeof err), MIRA_ENOENT);
  CHECK_INT("store-2.9", o->key_lookup(st, "hash-three", acct, err, sizeof err), 0);
  memset(keys, 0, sizeof keys);
  CHECK_INT("store-2.9", o->key_list(st, on_key, keys, err, sizeof err), 0);
  CHECK("store-2.9", keys[1].revoked_at > 0 && keys[2].revoked_at == 0);
  CHECK_INT("store-2.9", o->key_revoke(st, k2, err, sizeof err), 0); /* again: still fine */

  CHECK_INT("store-2.10", o->key_revoke(st, k1, err, sizeof err), 0);
  CHECK_INT("store-2.10", o->key_lookup(st, "hash-one", acct, err, sizeof err), MIRA_ENOENT);
  CHECK_INT("store-2.10", o->key_revoke(st, "mira_zzz", err, sizeof err), MIRA_ENOENT);
  CHECK_STR("store-2.10", err, "no key with id or prefix mira_zzz");

  /* A shared prefix is refused instead of revoking both keys. */
  CHECK_INT("store-2.11", o->key_insert(st, alice, "hash-four", "mira_dup", id, err, sizeof err), 0);
  CHECK_INT("store-2.11", o->key_revoke(st, "mira_dup", err, sizeof err), MIRA_EINVAL);
  CHECK_STR("store-2.11", err, "key prefix mira_dup matches several keys; use the key id");
  CHECK_INT("store-2.11", o->key_lookup(st, "hash-three", acct, err, sizeof err), 0);
  CHECK_INT("store-2.11", o->key_lookup(st, "hash-four", acct, err, sizeof err), 0);
  CHECK_STR("store-2.11", acct, alice);
}

/* ---- store-3: avatars and voices ------------------------------------------------ */

static mira_avatar avatar(const char *account, const char *name, int64_t created_at) {
  mira_avatar a;
  memset(&a, 0, sizeof a);
  mira_id_new(a.id);
  snprintf(a.account_id, sizeof a.account_id, "%s", account);
  snprintf(a.name, sizeof a.name, "%s", name);
  snprintf(a.voice_id, sizeof a.voice_id, "cvoicevoicevoicevoicevoic");
  a.is_photo = 1;
  a.created_at = created_at;
  return a;
}

static void test_avatars(mira_store *st, const char *alice, const char *bob) {
  const mira_store_ops *o = st->ops;
  mira_avatar stock1 = avatar("", "Anna", 1000), own1 = avatar(alice, "Me", 1500),
              stock2 = avatar("", "Ben", 2000), own2 = avatar(alice, "Me 2", 2500),
              other = avatar(bob, "Bob's", 1200), got;
  CHECK_INT("store-3.1", o->avatar_insert(st, &stock1, err, sizeof err), 0);
  CHECK_INT("store-3.1", o->avatar_insert(st, &own1, err, sizeof err), 0);
  CHECK_INT("store-3.1", o->avatar_insert(st, &stock2, err, sizeof err), 0);
  CHECK_INT("store-3.1", o->avatar_insert(st, &own2, err, sizeof err), 0);
  CHECK_INT("store-3.1", o->avatar_insert(st, &other, err, sizeof err), 0);
  CHECK_INT("store-3.2", o->avatar_insert(st, &own1, err, sizeof err), MIRA_EEXIST);
  mira_avatar orphan = avatar("cnosuchaccountnosuchaccou", "x", 0);
  CHECK_INT("store-3.2", o->avatar_insert(st, &orphan, err, sizeof err), MIRA_EINVAL);

  memset(&got, 0, sizeof got);
  CHECK_INT("store-3.3", o->avatar_get(st, stock1.id, alice, &got, err, sizeof err), 0);
  CHECK_STR("store-3.3", got.account_id, "");
  CHECK_STR("store-3.3", got.name, "Anna");
  CHECK_INT("store-3.4", o->avatar_get(st, own1.id, alice, &got, err, sizeof err), 0);
  CHECK_STR("store-3.4", got.account_id, alice);
  CHECK_STR("store-3.4", got.voice_id, own1.voice_id);
  CHECK_INT("store-3.4", got.is_photo, 1);
  CHECK_INT("store-3.4", got.created_at, 1500);

  strcpy(got.name, "untouched");
  CHECK_INT("store-3.5", o->avatar_get(st, other.id, alice, &got, err, sizeof err), MIRA_ENOENT);
  char want[128];
  snprintf(want, sizeof want, "avatar %s not found", other.id);
  CHECK_STR("store-3.5", err, want);
  CHECK_STR("store-3.5", got.name, "untouched");
  CHECK_INT("store-3.5", o->avatar_get(st, own1.id, "", &got, err, sizeof err), MIRA_ENOENT);
  CHECK_INT("store-3.6", o->avatar_get(st, other.id, NULL, &got, err, sizeof err), 0);

  ids l = {0};
  CHECK_INT("store-3.7", o->avatar_list(st, alice, on_avatar, &l, err, sizeof err), 0);
  CHECK_INT("store-3.7", l.n, 4);
  CHECK_STR("store-3.7", l.id[0], stock1.id);
  CHECK_STR("store-3.7", l.id[1], stock2.id);
  CHECK_STR("store-3.7", l.id[2], own1.id);
  CHECK_STR("store-3.7", l.id[3], own2.id);
  memset(&l, 0, sizeof l);
  CHECK_INT("store-3.8", o->avatar_list(st, "", on_avatar, &l, err, sizeof err), 0);
  CHECK_INT("store-3.8", l.n, 2);
  memset(&l, 0, sizeof l);
  l.stop_at = 3, l.stop_rc = 42;
  CHECK_INT("store-3.9", o->avatar_list(st, alice, on_avatar, &l, err, sizeof err), 42);
  CHECK_INT("store-3.9", l.n, 3);

  mira_voice sv, ov, bv, gv;
  memset(&sv, 0, sizeof sv);
  mira_id_new(sv.id);
  strcpy(sv.name, "Stock");
  strcpy(sv.language, "en-US");
  strcpy(sv.gender, "female");
  strcpy(sv.engine, "espeak-ng");
  strcpy(sv.engine_params, "{\"voice\":\"en-us+f3\"}");
  ov = sv, bv = sv;
  mira_id_new(ov.id);
  strcpy(ov.account_id, alice);
  mira_id_new(bv.id);
  strcpy(bv.account_id, bob);
  CHECK_INT("store-3.10", o->voice_insert(st, &ov, err, sizeof err), 0);
  CHECK_INT("store-3.10", o->voice_insert(st, &sv, err, sizeof err), 0);
  CHECK_INT("store-3.10", o->voice_insert(st, &bv, err, sizeof err), 0);
  CHECK_INT("store-3.10", o->voice_insert(st, &bv, err, sizeof err), MIRA_EEXIST);
  CHECK_INT("store-3.11", o->voice_get(st, ov.id, alice, &gv, err, sizeof err), 0);
  CHECK_STR("store-3.11", gv.engine_params, "{\"voice\":\"en-us+f3\"}");
  CHECK_STR("store-3.11", gv.language, "en-US");
  CHECK_STR("store-3.11", gv.gender, "female");
  CHECK_STR("store-3.11", gv.engine, "espeak-ng");
  CHECK("store-3.11", gv.created_at > 0);
  CHECK_INT("store-3.12", o->voice_get(st, bv.id, alice, &gv, err, sizeof err), MIRA_ENOENT);
  CHECK_INT("store-3.12", o->voice_get(st, sv.id, bob, &gv, err, sizeof err), 0);
  CHECK_STR("store-3.12", gv.account_id, "");
  memset(&l, 0, sizeof l);
  CHECK_INT("store-3.13", o->voice_list(st, alice, on_voice, &l, err, sizeof err), 0);
  CHECK_INT("store-3.13", l.n, 2);
  CHECK_STR("store-3.13", l.id[0], sv.id); /* stock first although inserted later */
  CHECK_STR("store-3.13", l.id[1], ov.id);
}

/* ---- store-4: media ---------------------------------------------------------------- */

static void test_media(mira_store *st, const char *alice, const char *bob) {
  const mira_store_ops *o = st->ops;
  mira_media m, got;
  memset(&m, 0, sizeof m);
  mira_id_new(m.id);
  strcpy(m.account_id, alice);
  strcpy(m.file_name, "face.png");
  strcpy(m.content_type, "image/png");
  m.size = 1000;
  m.upload_expires_at = 99;
  CHECK_INT("store-4.1", o->media_insert(st, &m, err, sizeof err), 0);
  CHECK_INT("store-4.1", o->media_get(st, m.id, alice, &got, err, sizeof err), 0);
  CHECK_STR("store-4.1", got.file_name, "face.png");
  CHECK_STR("store-4.1", got.content_type, "image/png");
  CHECK_INT("store-4.1", got.state, MIRA_MEDIA_PENDING);
  CHECK_INT("store-4.1", got.upload_expires_at, 99);
  CHECK_INT("store-4.2", o->media_get(st, m.id, bob, &got, err, sizeof err), MIRA_ENOENT);

  CHECK_INT("store-4.3",
            o->media_set_state(st, m.id, MIRA_MEDIA_PENDING, MIRA_MEDIA_UPLOADED, 1234, err, sizeof err),
            0);
  CHECK_INT("store-4.3", o->media_get(st, m.id, alice, &got, err, sizeof err), 0);
  CHECK_INT("store-4.3", got.state, MIRA_MEDIA_UPLOADED);
  CHECK_INT("store-4.3", got.size, 1234);

  CHECK_INT("store-4.4",
            o->media_set_state(st, m.id, MIRA_MEDIA_PENDING, MIRA_MEDIA_READY, 5, err, sizeof err),
            MIRA_ESTATE);
  char want[128];
  snprintf(want, sizeof want, "media %s is uploaded, not pending", m.id);
  CHECK_STR("store-4.4", err, want);
  CHECK_INT("store-4.4", o->media_get(st, m.id, alice, &got, err, sizeof err), 0);
  CHECK_INT("store-4.4", got.size, 1234);

  CHECK_INT("store-4.5",
            o->media_set_state(st, m.id, MIRA_MEDIA_UPLOADED, MIRA_MEDIA_READY, -1, err, sizeof err),
            0);
  CHECK_INT("store-4.5", o->media_get(st, m.id, alice, &got, err, sizeof err), 0);
  CHECK_INT("store-4.5", got.state, MIRA_MEDIA_READY);
  CHECK_INT("store-4.5", got.size, 1234);

  CHECK_INT("store-4.6",
            o->media_set_state(st, "cnosuchmedianosuchmediano", MIRA_MEDIA_PENDING,
                               MIRA_MEDIA_UPLOADED, 1, err, sizeof err),
            MIRA_ENOENT);
  CHECK_INT("store-4.6",
            o->media_set_state(st, m.id, MIRA_MEDIA_READY, (mira_media_state)7, 1, err, sizeof err),
            MIRA_EINVAL);
  CHECK_INT("store-4.7", o->media_insert(st, &m, err, sizeof err), MIRA_EEXIST);
  mira_id_new(m.id);
  strcpy(m.account_id, "cnosuchaccountnosuchaccou");
  CHECK_INT("store-4.7", o->media_insert(st, &m, err, sizeof err), MIRA_EINVAL);
}
