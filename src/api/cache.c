/* Per-thread cache of whole JSON replies for read-mostly lists (avatars,
 * voices). Each request still asks the store whether anything changed
 * (data_version, one cheap query) and whether the signed links inside have
 * moved to a new expiry bucket; only then is the reply rebuilt. So the answer
 * is always what the store holds, without re-reading and re-serialising it
 * on every request. Loop-thread data: no locks. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

typedef struct mira_reply_slot {
  int kind;
  char account_id[MIRA_ID_SIZE];
  uint64_t version;
  int64_t bucket;
  char *body;
  size_t len;
} mira_reply_slot;

mira_reply_slot *mira_reply_cache_new(void) { return calloc(MIRA_REPLY_CACHE_SLOTS, sizeof(mira_reply_slot)); }

void mira_reply_cache_free(mira_reply_slot *slots) {
  for (int i = 0; slots && i < MIRA_REPLY_CACHE_SLOTS; i++) free(slots[i].body);
  free(slots);
}

static mira_reply_slot *slot_for(mira_reply_slot *slots, int kind, const char *account) {
  unsigned h = (unsigned)kind * 31u;
  for (const char *p = account; *p; p++) h = h * 33u + (unsigned char)*p;
  return &slots[h % MIRA_REPLY_CACHE_SLOTS];
}

int mira_cached_reply(mira_call *c, int kind, mira_reply_builder build) {
  char err[256];
  uint64_t version = 0;
  int64_t bucket = mira_link_bucket();
  mira_reply_slot *s = c->t->replies ? slot_for(c->t->replies, kind, c->account_id) : NULL;
  int versioned = c->store->ops->data_version(c->store, &version, err, sizeof err) == 0;
  if (s && versioned && s->body && s->kind == kind && s->version == version && s->bucket == bucket &&
      strcmp(s->account_id, c->account_id) == 0)
    return mira_reply_raw(c, 200, s->body, s->len);
  json_t *obj = build(c, err, sizeof err);
  if (!obj) return c->status ? c->status : mira_reply_error(c, 500, "%s", err);
  char *body = json_dumps(obj, JSON_COMPACT);
  json_decref(obj);
  if (!body) return mira_reply_error(c, 500, "cannot encode the response");
  size_t len = strlen(body);
  int status = mira_reply_raw(c, 200, body, len);
  if (s && versioned) {
    free(s->body);
    *s = (mira_reply_slot){.kind = kind, .version = version, .bucket = bucket, .body = body, .len = len};
    memcpy(s->account_id, c->account_id, MIRA_ID_SIZE);
  } else {
    free(body);
  }
  return status;
}
