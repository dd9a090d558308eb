/* API keys: creation (plain key shown once, only its SHA-256 stored), lookup
 * through a per-thread cache, and the per-key token-bucket rate limit. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/error.h"

#define KEY_PREFIX "mira_"
#define KEY_RANDOM_BYTES 24 /* 192 bits: brute force is hopeless, so a plain hash suffices */
#define KEY_SHOWN_PREFIX 12 /* chars kept for `mira keys list` */

int mira_keys_create(mira_store *st, const char *account, char key_out[MIRA_KEY_SIZE], char *err,
                     size_t errlen) {
  uint8_t rnd[KEY_RANDOM_BYTES];
  char hex[2 * KEY_RANDOM_BYTES + 1], hash[MIRA_SHA256_HEX_SIZE], acc[MIRA_ID_SIZE], kid[MIRA_ID_SIZE];
  char prefix[KEY_SHOWN_PREFIX + 1];
  int rc = mira_random_bytes(rnd, sizeof rnd);
  if (rc) return mira_err(err, errlen, rc, "no randomness available");
  mira_hex(rnd, sizeof rnd, hex);
  snprintf(key_out, MIRA_KEY_SIZE, KEY_PREFIX "%s", hex);
  mira_sha256_hex(key_out, strlen(key_out), hash);
  snprintf(prefix, sizeof prefix, "%s", key_out);
  rc = st->ops->account_ensure(st, account, acc, err, errlen);
  if (rc == 0) rc = st->ops->key_insert(st, acc, hash, prefix, kid, err, errlen);
  if (rc) memset(key_out, 0, MIRA_KEY_SIZE);
  return rc;
}

int mira_auth_lookup(mira_call *c, const char *key, size_t keylen) {
  mira_sha256_hex(key, keylen, c->key_hash);
  unsigned slot = 0;
  for (int i = 0; i < 8; i++) slot = slot * 16 + (unsigned)(c->key_hash[i] % 16);
  mira_key_cache_slot *s = &c->t->keys[slot % MIRA_KEY_CACHE_SLOTS];
  int64_t now = mira_now_ms();
  if (s->expires_ms > now && strcmp(s->key_hash, c->key_hash) == 0) {
    memcpy(c->account_id, s->account_id, MIRA_ID_SIZE);
    return 0;
  }
  char err[128];
  int rc = c->store->ops->key_lookup(c->store, c->key_hash, c->account_id, err, sizeof err);
  if (rc) return MIRA_EAUTH;
  snprintf(s->key_hash, sizeof s->key_hash, "%s", c->key_hash);
  memcpy(s->account_id, c->account_id, MIRA_ID_SIZE);
  s->expires_ms = now + MIRA_KEY_CACHE_TTL_MS;
  return 0;
}

/* One bucket per key in a fixed table: two keys that collide on a slot take
 * turns resetting it, which errs towards letting requests through. */
int mira_rate_check(mira_app *app, const char *key_hash) {
  unsigned idx = 0;
  for (int i = 0; i < 6; i++) idx = idx * 16 + (unsigned)(key_hash[i] % 16);
  mira_rate_slot *s = &app->rate[idx % MIRA_RATE_SLOTS];
  double rate = app->c.rate_limit, burst = app->c.rate_burst > 0 ? app->c.rate_burst : 2 * rate;
  int64_t now = mira_now_ms();
  int wait = 0;
  pthread_mutex_lock(&app->rate_mu);
  if (strncmp(s->key_hash, key_hash, sizeof s->key_hash - 1) != 0) {
    snprintf(s->key_hash, sizeof s->key_hash, "%s", key_hash);
    s->tokens = burst;
    s->last_ms = now;
  }
  s->tokens += (double)(now - s->last_ms) * rate / 1000.0;
  if (s->tokens > burst) s->tokens = burst;
  s->last_ms = now;
  if (s->tokens >= 1.0) s->tokens -= 1.0;
  else wait = (int)((1.0 - s->tokens) / rate) + 1;
  pthread_mutex_unlock(&app->rate_mu);
  return wait;
}
