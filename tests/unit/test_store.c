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
  CHECK_INT("store-1.5", sqlite3_column_int(q, 0), 3);
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
  CHECK_STR("store-1.6", err, "open: database schema version 99 is newer than this build's 3");
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
  CHECK_INT("store-2.6",
            o->key_insert(st, "cnosuchaccount", "hash-x", "mira_x", id, err, sizeof err),
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
  CHECK_INT("store-2.11", o->key_insert(st, alice, "hash-four", "mira_dup", id, err, sizeof err),
            0);
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
  /* Same id and owner: an update (re-seeding); another owner: refused. */
  snprintf(own1.rig, sizeof own1.rig, "{\"kind\":\"cartoon\",\"index\":2}");
  CHECK_INT("store-3.2", o->avatar_insert(st, &own1, err, sizeof err), 0);
  mira_avatar taken = own1;
  snprintf(taken.account_id, sizeof taken.account_id, "%s", bob);
  CHECK_INT("store-3.2", o->avatar_insert(st, &taken, err, sizeof err), MIRA_EEXIST);
  mira_avatar orphan = avatar("cnosuchaccountnosuchaccou", "x", 0);
  CHECK_INT("store-3.2", o->avatar_insert(st, &orphan, err, sizeof err), MIRA_EINVAL);

  memset(&got, 0, sizeof got);
  CHECK_INT("store-3.3", o->avatar_get(st, stock1.id, alice, &got, err, sizeof err), 0);
  CHECK_STR("store-3.3", got.account_id, "");
  CHECK_STR("store-3.3", got.name, "Anna");
  CHECK_INT("store-3.4", o->avatar_get(st, own1.id, alice, &got, err, sizeof err), 0);
  CHECK_STR("store-3.4", got.account_id, alice);
  CHECK_STR("store-3.4", got.voice_id, own1.voice_id);
  CHECK_STR("store-3.4", got.rig, "{\"kind\":\"cartoon\",\"index\":2}");
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
  /* Deleting: only by the owner. */
  CHECK_INT("store-3.7", o->avatar_delete(st, own2.id, bob, err, sizeof err), MIRA_ENOENT);
  CHECK_INT("store-3.7", o->avatar_delete(st, stock2.id, alice, err, sizeof err), MIRA_ENOENT);
  CHECK_INT("store-3.7", o->avatar_delete(st, own2.id, alice, err, sizeof err), 0);
  CHECK_INT("store-3.7", o->avatar_get(st, own2.id, alice, &got, err, sizeof err), MIRA_ENOENT);
  CHECK_INT("store-3.7", o->avatar_insert(st, &own2, err, sizeof err), 0);
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
  /* same id and owner: an update (stock voices are re-seeded); another owner: refused */
  strcpy(bv.name, "Renamed");
  CHECK_INT("store-3.10", o->voice_insert(st, &bv, err, sizeof err), 0);
  CHECK_INT("store-3.10", o->voice_get(st, bv.id, bob, &gv, err, sizeof err), 0);
  CHECK_STR("store-3.10", gv.name, "Renamed");
  mira_voice stolen = bv;
  strcpy(stolen.account_id, alice);
  CHECK_INT("store-3.10", o->voice_insert(st, &stolen, err, sizeof err), MIRA_EEXIST);
  CHECK_INT("store-3.10", o->voice_get(st, bv.id, bob, &gv, err, sizeof err), 0);
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
  CHECK_INT("store-3.13", o->voice_list(st, alice, 0, on_voice, &l, err, sizeof err), 0);
  CHECK_INT("store-3.13", l.n, 2);
  CHECK_STR("store-3.13", l.id[0], sv.id); /* stock first although inserted later */
  CHECK_STR("store-3.13", l.id[1], ov.id);

  /* store-3.14 (issue 3): unlisted stock voices appear only with all=1 */
  mira_voice hv = sv;
  mira_id_new(hv.id);
  hv.unlisted = 1;
  CHECK_INT("store-3.14", o->voice_insert(st, &hv, err, sizeof err), 0);
  memset(&l, 0, sizeof l);
  CHECK_INT("store-3.14", o->voice_list(st, alice, 0, on_voice, &l, err, sizeof err), 0);
  CHECK_INT("store-3.14", l.n, 2);
  memset(&l, 0, sizeof l);
  CHECK_INT("store-3.14", o->voice_list(st, alice, 1, on_voice, &l, err, sizeof err), 0);
  CHECK_INT("store-3.14", l.n, 3);
  CHECK_INT("store-3.14", o->voice_get(st, hv.id, alice, &gv, err, sizeof err), 0);
  CHECK_INT("store-3.14", gv.unlisted, 1);

  /* store-3.15: voice_delete is scoped to the owner */
  CHECK_INT("store-3.15", o->voice_delete(st, ov.id, bob, err, sizeof err), MIRA_ENOENT);
  CHECK_INT("store-3.15", o->voice_delete(st, sv.id, alice, err, sizeof err), MIRA_ENOENT);
  CHECK_INT("store-3.15", o->voice_delete(st, ov.id, alice, err, sizeof err), 0);
  CHECK_INT("store-3.15", o->voice_get(st, ov.id, alice, &gv, err, sizeof err), MIRA_ENOENT);
  CHECK_INT("store-3.15", o->voice_delete(st, hv.id, NULL, err, sizeof err), 0);
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

  CHECK_INT(
      "store-4.3",
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

  CHECK_INT(
      "store-4.5",
      o->media_set_state(st, m.id, MIRA_MEDIA_UPLOADED, MIRA_MEDIA_READY, -1, err, sizeof err), 0);
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

  /* store-4.8: media_delete is scoped to the owner (issue 2: discarded uploads). */
  mira_media d = got;
  mira_id_new(d.id);
  strcpy(d.account_id, alice);
  CHECK_INT("store-4.8", o->media_insert(st, &d, err, sizeof err), 0);
  CHECK_INT("store-4.8", o->media_delete(st, d.id, bob, err, sizeof err), MIRA_ENOENT);
  CHECK_INT("store-4.8", o->media_get(st, d.id, alice, &got, err, sizeof err), 0);
  CHECK_INT("store-4.8", o->media_delete(st, d.id, alice, err, sizeof err), 0);
  CHECK_INT("store-4.8", o->media_get(st, d.id, NULL, &got, err, sizeof err), MIRA_ENOENT);
  CHECK_INT("store-4.8", o->media_delete(st, d.id, NULL, err, sizeof err), MIRA_ENOENT);
}

/* ---- store-5: jobs and idempotency ---------------------------------------------------- */

static int64_t count_jobs(mira_store *st) {
  int64_t c[MIRA_JOB_STATUS_COUNT];
  if (st->ops->job_count(st, c, err, sizeof err)) return -1;
  int64_t n = 0;
  for (int i = 0; i < MIRA_JOB_STATUS_COUNT; i++) n += c[i];
  return n;
}

static void test_jobs(mira_store *st, const char *alice, const char *bob) {
  const mira_store_ops *o = st->ops;
  mira_job j = new_job(alice, MIRA_JOB_VIDEO, "{\"script\":\"hi\"}"), got;
  strcpy(j.avatar_id, "cavatarcavatarcavatarcava");
  int64_t before = mira_now_ms();
  CHECK_INT("store-5.1", o->job_insert(st, &j, NULL, NULL, 0, err, sizeof err), 0);
  CHECK_INT("store-5.1", j.status, MIRA_JOB_STARTED);
  CHECK("store-5.1", j.created_at >= before && j.updated_at == j.created_at);

  memset(&got, 0, sizeof got);
  CHECK_INT("store-5.2", o->job_get(st, j.id, alice, &got, err, sizeof err), 0);
  CHECK_STR("store-5.2", got.params, "{\"script\":\"hi\"}");
  CHECK_STR("store-5.2", got.avatar_id, "cavatarcavatarcavatarcava");
  CHECK_STR("store-5.2", got.name, j.name);
  CHECK_INT("store-5.2", got.kind, MIRA_JOB_VIDEO);
  CHECK_INT("store-5.2", got.status, MIRA_JOB_STARTED);
  CHECK_INT("store-5.2", got.created_at, j.created_at);
  CHECK_INT("store-5.2", got.attempts, 0);
  mira_job_clear(&got);
  CHECK_INT("store-5.3", o->job_get(st, j.id, bob, &got, err, sizeof err), MIRA_ENOENT);
  CHECK("store-5.3", got.params == NULL);
  CHECK_INT("store-5.3", o->job_get(st, j.id, NULL, &got, err, sizeof err), 0);
  mira_job_clear(&got);

  CHECK_INT("store-5.4", o->job_insert(st, &j, NULL, NULL, 0, err, sizeof err), MIRA_EEXIST);
  mira_job bad = new_job("cnosuchaccountnosuchaccou", MIRA_JOB_VIDEO, "{}");
  CHECK_INT("store-5.4", o->job_insert(st, &bad, NULL, NULL, 0, err, sizeof err), MIRA_EINVAL);
  mira_job_clear(&bad);
  bad = new_job(alice, (mira_job_kind)9, "{}");
  CHECK_INT("store-5.4", o->job_insert(st, &bad, NULL, NULL, 0, err, sizeof err), MIRA_EINVAL);
  CHECK_STR("store-5.4", err, "job kind 9 out of range");
  mira_job_clear(&bad);
  mira_job_clear(&j);

  /* Listing: newest first, across several JOB_BATCH pages, scoped. */
  enum { N = 150 };
  static char made[N][MIRA_ID_SIZE];
  for (int i = 0; i < N; i++)
    CHECK_INT("store-5.5", add_job(st, alice, MIRA_JOB_IMAGE_EDIT, made[i]), 0);
  char bobs[MIRA_ID_SIZE];
  CHECK_INT("store-5.5", add_job(st, bob, MIRA_JOB_IMAGE_EDIT, bobs), 0);
  static ids l;
  memset(&l, 0, sizeof l);
  CHECK_INT(
      "store-5.5",
      o->job_list(st, alice, MIRA_JOB_IMAGE_EDIT, MIRA_JOB_STARTED, on_job, &l, err, sizeof err),
      0);
  CHECK_INT("store-5.5", l.n, N);
  int in_order = l.n == N;
  for (int i = 0; in_order && i < N; i++) in_order = strcmp(l.id[i], made[N - 1 - i]) == 0;
  CHECK("store-5.5", in_order);
  memset(&l, 0, sizeof l);
  l.stop_at = 70, l.stop_rc = 7; /* stop inside the second batch */
  CHECK_INT(
      "store-5.6",
      o->job_list(st, alice, MIRA_JOB_IMAGE_EDIT, MIRA_JOB_STARTED, on_job, &l, err, sizeof err),
      7);
  CHECK_INT("store-5.6", l.n, 70);
  memset(&l, 0, sizeof l);
  CHECK_INT(
      "store-5.7",
      o->job_list(st, alice, MIRA_JOB_IMAGE_EDIT, MIRA_JOB_COMPLETE, on_job, &l, err, sizeof err),
      0);
  CHECK_INT("store-5.7", l.n, 0);
  CHECK_INT(
      "store-5.7",
      o->job_list(st, alice, MIRA_JOB_IMAGE_EDIT, (mira_job_status)5, on_job, &l, err, sizeof err),
      MIRA_EINVAL);

  /* Idempotency: replay, conflict, per-account scope, expiry. */
  mira_job a = new_job(alice, MIRA_JOB_VIDEO, "{}"), b = new_job(alice, MIRA_JOB_VIDEO, "{}");
  char a_id[MIRA_ID_SIZE], b_id[MIRA_ID_SIZE];
  memcpy(a_id, a.id, sizeof a_id);
  memcpy(b_id, b.id, sizeof b_id);
  CHECK_INT("store-5.8", o->job_insert(st, &a, "key-1", "hash-A", 60000, err, sizeof err), 0);
  int64_t total = count_jobs(st);
  CHECK_INT("store-5.8", o->job_insert(st, &b, "key-1", "hash-A", 60000, err, sizeof err),
            MIRA_EEXIST);
  CHECK_STR("store-5.8", b.id, a_id);
  CHECK_INT("store-5.8", count_jobs(st), total);
  memcpy(b.id, b_id, sizeof b_id);
  CHECK_INT("store-5.9", o->job_insert(st, &b, "key-1", "hash-B", 60000, err, sizeof err),
            MIRA_ECONFLICT);
  CHECK_STR("store-5.9", b.id, b_id);
  CHECK_INT("store-5.9", o->job_get(st, b_id, NULL, &got, err, sizeof err), MIRA_ENOENT);
  mira_job c = new_job(bob, MIRA_JOB_VIDEO, "{}");
  CHECK_INT("store-5.10", o->job_insert(st, &c, "key-1", "hash-B", 60000, err, sizeof err), 0);
  /* ttl 0: the record is already expired and is replaced by b */
  CHECK_INT("store-5.11", o->job_insert(st, &b, "key-1", "hash-A", 0, err, sizeof err), 0);
  CHECK_STR("store-5.11", b.id, b_id);
  mira_job d = new_job(alice, MIRA_JOB_VIDEO, "{}");
  CHECK_INT("store-5.11", o->job_insert(st, &d, "key-1", "hash-A", 60000, err, sizeof err),
            MIRA_EEXIST);
  CHECK_STR("store-5.11", d.id, b_id);
  mira_job e = new_job(alice, MIRA_JOB_VIDEO, "{}");
  CHECK_INT("store-5.12", o->job_insert(st, &e, "key-2", "hash-A", 30, err, sizeof err), 0);
  sleep_ms(50);
  mira_id_new(d.id);
  CHECK_INT("store-5.12", o->job_insert(st, &d, "key-2", "hash-C", 30, err, sizeof err), 0);
  CHECK_INT("store-5.12", o->job_insert(st, &a, "key-3", NULL, 30, err, sizeof err), MIRA_EINVAL);
  mira_job_clear(&a), mira_job_clear(&b), mira_job_clear(&c), mira_job_clear(&d),
      mira_job_clear(&e);
}

/* ---- store-6: claims and leases ---------------------------------------------------------- */

static int requeue_each(void *ud, const mira_job *j) {
  mira_store *st = ud;
  return st->ops->job_requeue(st, j->id, NULL, err, sizeof err) ? 1 : 0;
}

static void test_claim(void) {
  mira_store *st = open_db("claim.db");
  CHECK("store-6.0", st != NULL);
  if (!st) return;
  const mira_store_ops *o = st->ops;
  char alice[MIRA_ID_SIZE], j1[MIRA_ID_SIZE], j2[MIRA_ID_SIZE], j3[MIRA_ID_SIZE], want[256];
  mira_job got, c;
  memset(&c, 0, sizeof c);
  o->account_ensure(st, "alice", alice, err, sizeof err);

  CHECK_INT("store-6.1", o->job_claim(st, "A", 60000, 3, &c, err, sizeof err), MIRA_ENOENT);
  CHECK_STR("store-6.1", err, "no job to claim");
  CHECK_INT("store-6.1", o->job_claim(st, "A", 0, 3, &c, err, sizeof err), MIRA_EINVAL);
  add_job(st, alice, MIRA_JOB_VIDEO, j1);
  add_job(st, alice, MIRA_JOB_VIDEO, j2);
  add_job(st, alice, MIRA_JOB_VIDEO, j3);

  int64_t t0 = mira_now_ms();
  CHECK_INT("store-6.2", o->job_claim(st, "A", 60000, 3, &c, err, sizeof err), 0);
  CHECK_STR("store-6.2", c.id, j1);
  CHECK_INT("store-6.2", c.status, MIRA_JOB_WORKING);
  CHECK_INT("store-6.2", c.attempts, 1);
  CHECK_STR("store-6.2", c.lease_owner, "A");
  CHECK("store-6.2", c.started_at >= t0 && c.lease_expires_at >= t0 + 60000);
  CHECK_STR("store-6.2", c.params, "{}");
  mira_job_clear(&c);
  CHECK_INT("store-6.3", o->job_claim(st, "B", 60000, 3, &c, err, sizeof err), 0);
  CHECK_STR("store-6.3", c.id, j2);
  mira_job_clear(&c);

  CHECK_INT("store-6.4", o->job_heartbeat(st, j1, "B", 60000, 10, err, sizeof err), MIRA_ESTATE);
  snprintf(want, sizeof want, "job %s is inference_working (lease owner \"A\"), not held by \"B\"",
           j1);
  CHECK_STR("store-6.4", err, want);
  CHECK_INT("store-6.5", o->job_heartbeat(st, j1, "A", 60000, 40, err, sizeof err), 0);
  CHECK_INT("store-6.5", o->job_heartbeat(st, j1, "A", 60000, -1, err, sizeof err), 0);
  CHECK_INT("store-6.5", o->job_get(st, j1, NULL, &got, err, sizeof err), 0);
  CHECK_INT("store-6.5", got.progress, 40);
  mira_job_clear(&got);

  CHECK_INT("store-6.6",
            o->job_finish(st, j1, "B", MIRA_JOB_COMPLETE, NULL, NULL, 0, err, sizeof err),
            MIRA_ESTATE);
  CHECK_INT("store-6.6",
            o->job_finish(st, j1, "A", MIRA_JOB_WORKING, NULL, NULL, 0, err, sizeof err),
            MIRA_EINVAL);
  CHECK_INT("store-6.7",
            o->job_finish(st, j1, "A", MIRA_JOB_COMPLETE, NULL, "cresultcresultcresultcres", 1500,
                          err, sizeof err),
            0);
  CHECK_INT("store-6.7", o->job_get(st, j1, alice, &got, err, sizeof err), 0);
  CHECK_INT("store-6.7", got.status, MIRA_JOB_COMPLETE);
  CHECK_INT("store-6.7", got.progress, 100);
  CHECK_STR("store-6.7", got.result_media_id, "cresultcresultcresultcres");
  CHECK_INT("store-6.7", got.duration_ms, 1500);
  CHECK_STR("store-6.7", got.lease_owner, "");
  CHECK_INT("store-6.7", got.lease_expires_at, 0);
  CHECK("store-6.7", got.finished_at >= got.started_at && got.finished_at > 0);
  mira_job_clear(&got);
  CHECK_INT("store-6.8", o->job_heartbeat(st, j1, "A", 60000, 50, err, sizeof err), MIRA_ESTATE);
  snprintf(want, sizeof want, "job %s is inference_complete (lease owner \"\"), not held by \"A\"",
           j1);
  CHECK_STR("store-6.8", err, want);
  CHECK_INT("store-6.8",
            o->job_heartbeat(st, "cnosuchjobcnosuchjobcnosu", "A", 1, 1, err, sizeof err),
            MIRA_ENOENT);

  /* requeue keeps attempts and clears the lease */
  CHECK_INT("store-6.9", o->job_requeue(st, j2, "A", err, sizeof err), MIRA_ESTATE);
  CHECK_INT("store-6.9", o->job_requeue(st, j2, NULL, err, sizeof err), 0);
  CHECK_INT("store-6.9", o->job_get(st, j2, NULL, &got, err, sizeof err), 0);
  CHECK_INT("store-6.9", got.status, MIRA_JOB_STARTED);
  CHECK_INT("store-6.9", got.attempts, 1);
  CHECK_STR("store-6.9", got.lease_owner, "");
  mira_job_clear(&got);
  CHECK_INT("store-6.9", o->job_requeue(st, j2, NULL, err, sizeof err), MIRA_ESTATE);
  CHECK_INT("store-6.9", o->job_requeue(st, "cnosuchjobcnosuchjobcnosu", NULL, err, sizeof err),
            MIRA_ENOENT);
  CHECK_INT("store-6.10", o->job_claim(st, "A", 60000, 3, &c, err, sizeof err), 0);
  CHECK_STR("store-6.10", c.id, j2); /* older than j3 */
  CHECK_INT("store-6.10", c.attempts, 2);
  mira_job_clear(&c);

  /* An expired lease is re-claimed by another owner; the old one lost it. */
  CHECK_INT("store-6.11", o->job_claim(st, "A", 1, 3, &c, err, sizeof err), 0);
  CHECK_STR("store-6.11", c.id, j3);
  mira_job_clear(&c);
  sleep_ms(10);
  CHECK_INT("store-6.11", o->job_claim(st, "B", 60000, 3, &c, err, sizeof err), 0);
  CHECK_STR("store-6.11", c.id, j3);
  CHECK_STR("store-6.11", c.lease_owner, "B");
  CHECK_INT("store-6.11", c.attempts, 2);
  mira_job_clear(&c);
  CHECK_INT("store-6.12", o->job_heartbeat(st, j3, "A", 60000, 5, err, sizeof err), MIRA_ESTATE);
  CHECK_INT("store-6.12",
            o->job_finish(st, j3, "A", MIRA_JOB_FAILED, "x", NULL, 0, err, sizeof err),
            MIRA_ESTATE);
  CHECK_INT("store-6.12", o->job_heartbeat(st, j3, "B", 60000, 5, err, sizeof err), 0);
  CHECK_INT("store-6.13", o->job_claim(st, "C", 60000, 3, &c, err, sizeof err), MIRA_ENOENT);

  /* list_working, and its callback may write to the store */
  static ids l;
  memset(&l, 0, sizeof l);
  CHECK_INT("store-6.14", o->job_list_working(st, on_job, &l, err, sizeof err), 0);
  CHECK_INT("store-6.14", l.n, 2);
  CHECK_STR("store-6.14", l.id[0], j2);
  CHECK_STR("store-6.14", l.id[1], j3);
  int64_t counts[MIRA_JOB_STATUS_COUNT];
  CHECK_INT("store-6.15", o->job_count(st, counts, err, sizeof err), 0);
  CHECK_INT("store-6.15", counts[MIRA_JOB_STARTED], 0);
  CHECK_INT("store-6.15", counts[MIRA_JOB_WORKING], 2);
  CHECK_INT("store-6.15", counts[MIRA_JOB_COMPLETE], 1);
  CHECK_INT("store-6.15", counts[MIRA_JOB_FAILED], 0);
  CHECK_INT("store-6.16", o->job_list_working(st, requeue_each, st, err, sizeof err), 0);
  CHECK_INT("store-6.16", o->job_count(st, counts, err, sizeof err), 0);
  CHECK_INT("store-6.16", counts[MIRA_JOB_WORKING], 0);
  CHECK_INT("store-6.16", counts[MIRA_JOB_STARTED], 2);

  /* Give up after max_attempts and go on with the next job. j2 and j3 have
   * 2 attempts each; with max 2 both fail, then j4 is claimed. */
  char j4[MIRA_ID_SIZE];
  add_job(st, alice, MIRA_JOB_IMAGE_INPAINT, j4);
  CHECK_INT("store-6.17", o->job_claim(st, "A", 60000, 2, &c, err, sizeof err), 0);
  CHECK_STR("store-6.17", c.id, j4);
  CHECK_INT("store-6.17", c.attempts, 1);
  mira_job_clear(&c);
  CHECK_INT("store-6.17", o->job_get(st, j2, NULL, &got, err, sizeof err), 0);
  CHECK_INT("store-6.17", got.status, MIRA_JOB_FAILED);
  CHECK_STR("store-6.17", got.error,
            "job was interrupted 2 times (server crash or restart); giving up");
  CHECK("store-6.17", got.finished_at > 0 && got.lease_owner[0] == '\0');
  mira_job_clear(&got);
  CHECK_INT("store-6.17", o->job_count(st, counts, err, sizeof err), 0);
  CHECK_INT("store-6.17", counts[MIRA_JOB_FAILED], 2);
  /* the last candidate given up on: ENOENT, and the FAILED mark is kept */
  CHECK_INT("store-6.18", o->job_requeue(st, j4, "A", err, sizeof err), 0);
  CHECK_INT("store-6.18", o->job_claim(st, "A", 60000, 1, &c, err, sizeof err), MIRA_ENOENT);
  CHECK_INT("store-6.18", o->job_count(st, counts, err, sizeof err), 0);
  CHECK_INT("store-6.18", counts[MIRA_JOB_FAILED], 3);
  CHECK_INT("store-6.18", counts[MIRA_JOB_STARTED], 0);

  /* An over-long error is cut at a UTF-8 boundary, not mid-character. */
  char j5[MIRA_ID_SIZE], msg[700];
  add_job(st, alice, MIRA_JOB_VIDEO, j5);
  CHECK_INT("store-6.19", o->job_claim(st, "A", 60000, 3, &c, err, sizeof err), 0);
  mira_job_clear(&c);
  memset(msg, 'x', 510);
  strcpy(msg + 510, "\xc3\xa9 and more text after it");
  CHECK_INT("store-6.19", o->job_finish(st, j5, "A", MIRA_JOB_ERROR, msg, NULL, 0, err, sizeof err),
            0);
  CHECK_INT("store-6.19", o->job_get(st, j5, NULL, &got, err, sizeof err), 0);
  CHECK_INT("store-6.19", strlen(got.error), 510);
  CHECK_INT("store-6.19", got.status, MIRA_JOB_ERROR);
  CHECK_INT("store-6.19", got.progress, 0);
  mira_job_clear(&got);
  mira_store_close(st);
}

/* ---- store-7: concurrency ------------------------------------------------------------ */

enum { CJOBS = 200, CTHREADS = 2 };

typedef struct claimer {
  const char *path;
  char owner[16];
  char got[CJOBS][MIRA_ID_SIZE];
  int n, bad_rc;
  char err[512];
} claimer;

static void *claim_all(void *arg) {
  claimer *c = arg;
  mira_store *st = NULL;
  if ((c->bad_rc = mira_store_open(&st, "sqlite", c->path, c->err, sizeof c->err))) return NULL;
  for (;;) {
    mira_job j;
    int rc = st->ops->job_claim(st, c->owner, 60000, 3, &j, c->err, sizeof c->err);
    if (rc == MIRA_ENOENT) break;
    if (rc) {
      c->bad_rc = rc;
      break;
    }
    if (c->n < CJOBS) memcpy(c->got[c->n], j.id, MIRA_ID_SIZE);
    c->n++;
    mira_job_clear(&j);
  }
  mira_store_close(st);
  return NULL;
}

static void *open_close(void *arg) {
  claimer *c = arg;
  mira_store *st = NULL;
  c->bad_rc = mira_store_open(&st, "sqlite", c->path, c->err, sizeof c->err);
  if (!c->bad_rc) c->bad_rc = st->ops->check(st, c->err, sizeof c->err);
  mira_store_close(st);
  return NULL;
}

static void test_concurrent(void) {
  static claimer cl[4];
  pthread_t t[4];
  /* Several handles creating the same new file at once all succeed. */
  for (int i = 0; i < 4; i++) {
    memset(&cl[i], 0, sizeof cl[i]);
    cl[i].path = db_path("race.db");
    pthread_create(&t[i], NULL, open_close, &cl[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    CHECK_INT("store-7.1", cl[i].bad_rc, 0);
    if (cl[i].bad_rc) fprintf(stderr, "  %s\n", cl[i].err);
  }

  mira_store *st = open_db("race.db");
  CHECK("store-7.2", st != NULL);
  if (!st) return;
  char alice[MIRA_ID_SIZE];
  static char made[CJOBS][MIRA_ID_SIZE];
  st->ops->account_ensure(st, "alice", alice, err, sizeof err);
  for (int i = 0; i < CJOBS; i++)
    CHECK_INT("store-7.2", add_job(st, alice, MIRA_JOB_VIDEO, made[i]), 0);
  for (int i = 0; i < CTHREADS; i++) {
    memset(&cl[i], 0, sizeof cl[i]);
    cl[i].path = db_path("race.db");
    snprintf(cl[i].owner, sizeof cl[i].owner, "worker-%d", i);
    pthread_create(&t[i], NULL, claim_all, &cl[i]);
  }
  for (int i = 0; i < CTHREADS; i++) {
    pthread_join(t[i], NULL);
    CHECK_INT("store-7.3", cl[i].bad_rc, 0);
    if (cl[i].bad_rc) fprintf(stderr, "  %s\n", cl[i].err);
  }
  CHECK_INT("store-7.3", cl[0].n + cl[1].n, CJOBS);
  int once = 0;
  for (int i = 0; i < CJOBS; i++) {
    int seen = 0;
    for (int k = 0; k < CTHREADS; k++)
      for (int m = 0; m < cl[k].n && m < CJOBS; m++) seen += strcmp(cl[k].got[m], made[i]) == 0;
    once += seen == 1;
  }
  CHECK_INT("store-7.4", once, CJOBS);
  int64_t counts[MIRA_JOB_STATUS_COUNT];
  CHECK_INT("store-7.5", st->ops->job_count(st, counts, err, sizeof err), 0);
  CHECK_INT("store-7.5", counts[MIRA_JOB_WORKING], CJOBS);
  mira_store_close(st);
}

/* ---- store-8: check and persistence ---------------------------------------------------- */

static void test_check(const char *alice) {
  mira_store *st = open_db("main.db");
  CHECK("store-8.1", st != NULL);
  if (!st) return;
  CHECK_INT("store-8.1", st->ops->check(st, err, sizeof err), 0);
  /* everything written through the first handle is there after reopening */
  char id[MIRA_ID_SIZE] = "";
  CHECK_INT("store-8.2", st->ops->account_ensure(st, "alice", id, err, sizeof err), 0);
  CHECK_STR("store-8.2", id, alice);
  CHECK_INT("store-8.2", st->ops->key_lookup(st, "hash-four", id, err, sizeof err), 0);
  mira_store_close(st);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/mira-store-XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  test_open();

  mira_store *st = open_db("main.db");
  CHECK("store-2.0", st != NULL);
  if (st) {
    char alice[MIRA_ID_SIZE] = "", bob[MIRA_ID_SIZE] = "";
    CHECK_INT("store-2.0", st->ops->account_ensure(st, "alice", alice, err, sizeof err), 0);
    CHECK_INT("store-2.0", st->ops->account_ensure(st, "bob", bob, err, sizeof err), 0);
    test_keys(st, alice, bob);
    test_avatars(st, alice, bob);
    test_media(st, alice, bob);
    test_jobs(st, alice, bob);
    mira_store_close(st);
    test_check(alice);
  }
  test_claim();
  test_concurrent();
  cleanup();
  return CHECK_EXIT();
}
