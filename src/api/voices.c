/* Voices: the stock catalog (seeded from the installed engines at start-up),
 * custom voice presets per account, and spoken previews. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/grow.h"
#include "core/log.h"
#include "core/wav.h"
#include "engines/speech/catalog.h"

#define PREVIEW_TEXT_MAX 300  /* characters: a preview is a sentence or two */
#define VARIANT_MAX 24
#define CATALOG_EPOCH_MS 1767225600000LL /* 2026-01-01: stock voices' createdAt */

/* ---- seeding ---- */

typedef struct seed_ctx {
  mira_store *st;
  int added, listed;
  char (*seen)[MIRA_ID_SIZE];
  size_t nseen, cap;
  char *err;
  size_t errlen;
} seed_ctx;

static int remember(seed_ctx *s, const char *id) {
  if (mira_grow((void **)&s->seen, &s->cap, s->nseen + 1, sizeof *s->seen, 256)) return MIRA_ENOMEM;
  memcpy(s->seen[s->nseen++], id, MIRA_ID_SIZE);
  return 0;
}

static int seed_one(void *ud, const mira_tts_voice_info *info, const mira_catalog_entry *e) {
  seed_ctx *s = ud;
  mira_voice v = {.unlisted = e == NULL};
  mira_catalog_voice_id(info->engine, info->name, v.id);
  if (e) snprintf(v.name, sizeof v.name, "%s", e->name);
  else snprintf(v.name, sizeof v.name, "%s %s (%s)", info->engine, info->name, info->description);
  snprintf(v.language, sizeof v.language, "%s", e ? e->language : info->language);
  snprintf(v.gender, sizeof v.gender, "%s", e ? e->gender : info->gender);
  snprintf(v.engine, sizeof v.engine, "%s", info->engine);
  json_t *p = json_pack("{s:s}", "voice", info->name);
  char *ps = json_dumps(p, JSON_COMPACT);
  json_decref(p);
  snprintf(v.engine_params, sizeof v.engine_params, "%s", ps ? ps : "{}");
  free(ps);
  /* stock voices list in catalog order (first the default English voice) */
  v.created_at = CATALOG_EPOCH_MS + (e ? e - mira_catalog : 1000);
  int rc = s->st->ops->voice_insert(s->st, &v, s->err, s->errlen);
  if (rc == 0) rc = remember(s, v.id);
  if (rc == 0) s->added++, s->listed += e != NULL;
  return rc;
}

static int prune_one(void *ud, const mira_voice *v) {
  seed_ctx *s = ud;
  for (size_t i = 0; i < s->nseen; i++)
    if (!strcmp(s->seen[i], v->id)) return 0;
  s->st->ops->voice_delete(s->st, v->id, NULL, NULL, 0); /* best effort */
  return 0;
}

int mira_voices_seed(mira_store *st, char *err, size_t errlen) {
  seed_ctx s = {.st = st, .err = err, .errlen = errlen};
  int rc = mira_catalog_walk(seed_one, &s, err, errlen);
  /* Stock voices whose engine or voice is gone would only fail later. */
  if (rc == 0) rc = st->ops->voice_list(st, "", 1, prune_one, &s, err, errlen);
  free(s.seen);
  if (rc == 0) MIRA_LOGI("voices", "%d stock voices (%d in the default catalog)", s.added, s.listed);
  if (rc == 0 && s.added == 0) MIRA_LOGW("voices", "no speech engine is available: install espeak-ng-data and flite");
  return rc;
}

/* ---- listing ---- */

static json_t *voice_json(const mira_voice *v) {
  char when[MIRA_ISO8601_SIZE];
  mira_iso8601(v->created_at, when);
  json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", v->id, "name", v->name, "createdAt", when,
                        "language", v->language);
  if (v->gender[0]) json_object_set_new(o, "gender", json_string(v->gender));
  if (v->account_id[0]) {
    json_t *p = json_loads(v->engine_params, 0, NULL);
    json_object_set_new(o, "custom", json_true());
    if (p) {
      json_t *base = json_object_get(p, "base");
      if (json_is_string(base)) json_object_set(o, "baseVoiceId", base);
      json_t *settings = json_object();
      const char *k;
      json_t *val;
      json_object_foreach(p, k, val) if (strcmp(k, "base") && strcmp(k, "voice")) json_object_set(settings, k, val);
      json_object_set_new(o, "settings", settings);
      json_decref(p);
    }
  }
  return o;
}

static int add_voice(void *ud, const mira_voice *v) {
  json_array_append_new(ud, voice_json(v));
  return 0;
}

/* Miraflow's documentation shows the voice list under "avatars"; clients
 * written against either spelling must work, so both keys carry it. */
static json_t *build_list(mira_call *c, int all, char *err, size_t errlen) {
  json_t *arr = json_array();
  if (c->store->ops->voice_list(c->store, c->account_id, all, add_voice, arr, err, errlen)) {
    json_decref(arr);
    return NULL;
  }
  return json_pack("{s:O,s:o}", "voices", arr, "avatars", arr);
}

static json_t *build_listed(mira_call *c, char *err, size_t errlen) { return build_list(c, 0, err, errlen); }
static json_t *build_all(mira_call *c, char *err, size_t errlen) { return build_list(c, 1, err, errlen); }

int mira_api_voices_list(mira_call *c) {
  char all[8] = "";
  if (mira_query_param(c, "all", all, sizeof all) && (!strcmp(all, "1") || !strcmp(all, "true")))
    return mira_cached_reply(c, MIRA_CACHE_VOICES_ALL, build_all);
  return mira_cached_reply(c, MIRA_CACHE_VOICES, build_listed);
}

/* ---- custom voices ---- */

typedef struct voice_settings {
  long long rate, pitch, range, volume;
  int has_rate, has_pitch, has_range, has_volume;
  const char *variant;
} voice_settings;

static int read_settings(mira_call *c, voice_settings *v) {
  if ((v->has_rate = mira_field_int(c, "rate", 80, 450, &v->rate)) < 0 ||
      (v->has_pitch = mira_field_int(c, "pitch", 0, 100, &v->pitch)) < 0 ||
      (v->has_range = mira_field_int(c, "range", 0, 100, &v->range)) < 0 ||
      (v->has_volume = mira_field_int(c, "volume", 0, 200, &v->volume)) < 0 ||
      mira_field_string(c, "variant", 0, VARIANT_MAX, &v->variant) < 0)
    return -1;
  for (const char *p = v->variant; p && *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
      return mira_reply_error(c, 400, "field 'variant' must be an espeak-ng variant name such as f3 or m2"), -1;
  return 0;
}

/* Base voice params + the request's settings -> the new voice's params. */
static json_t *custom_params(const mira_voice *base, const voice_settings *s) {
  json_t *p = json_loads(base->engine_params, 0, NULL);
  if (!json_is_object(p)) p = json_object();
  /* a preset made from a preset keeps the stock voice as its base */
  if (!json_is_string(json_object_get(p, "base"))) json_object_set_new(p, "base", json_string(base->id));
  if (s->has_rate) json_object_set_new(p, "rate", json_integer(s->rate));
  if (s->has_pitch) json_object_set_new(p, "pitch", json_integer(s->pitch));
  if (s->has_range) json_object_set_new(p, "range", json_integer(s->range));
  if (s->has_volume) json_object_set_new(p, "volume", json_integer(s->volume));
  if (s->variant && *s->variant) {
    const char *voice = json_string_value(json_object_get(p, "voice"));
    char name[96];
    snprintf(name, sizeof name, "%.*s+%s", voice ? (int)strcspn(voice, "+") : 0, voice ? voice : "", s->variant);
    json_object_set_new(p, "voice", json_string(name));
    json_object_set_new(p, "variant", json_string(s->variant));
  }
  return p;
}

/* A preset is only stored once it has spoken: bad combinations (an unknown
 * variant) fail here, with nothing written. */
static int try_voice(mira_call *c, const char *engine, const char *params) {
  mira_tts_voice tv;
  mira_speech sp = {0};
  char name[96], err[256];
  if (mira_catalog_tts_voice(engine, params, &tv, name, sizeof name, err, sizeof err) ||
      mira_speech_synth(&tv, "Hello.", &sp, err, sizeof err))
    return mira_reply_error(c, 400, "this voice cannot speak: %s", err), -1;
  mira_speech_free(&sp);
  return 0;
}

static int load_voice(mira_call *c, const char *field, const char *id, mira_voice *v) {
  char err[256];
  int rc = c->store->ops->voice_get(c->store, id, c->account_id, v, err, sizeof err);
  if (rc == MIRA_ENOENT) return mira_reply_error(c, 404, "%s '%s' not found", field, id), -1;
  if (rc) return mira_reply_rc(c, rc, err), -1;
  return 0;
}

int mira_api_voice_create(mira_call *c) {
  const char *name, *base_id;
  voice_settings set = {0};
  mira_voice base;
  if (mira_field_string(c, "name", 1, MIRA_NAME_SIZE - 1, &name) < 0 ||
      mira_field_id(c, "baseVoiceId", 1, &base_id) < 0 || read_settings(c, &set) < 0 ||
      load_voice(c, "baseVoiceId", base_id, &base) < 0)
    return c->status;
  if (set.variant && *set.variant && strcmp(base.engine, "espeak-ng") != 0)
    return mira_reply_error(c, 400, "field 'variant' applies to espeak-ng voices only; '%s' is a %s voice",
                            base_id, base.engine);
  json_t *p = custom_params(&base, &set);
  char *ps = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(p);
  if (!ps || strlen(ps) >= sizeof base.engine_params) {
    free(ps);
    return mira_reply_error(c, 400, "voice settings are too long");
  }
  mira_voice v = base;
  mira_id_new(v.id);
  memcpy(v.account_id, c->account_id, MIRA_ID_SIZE);
  snprintf(v.name, sizeof v.name, "%s", name);
  snprintf(v.engine_params, sizeof v.engine_params, "%s", ps);
  free(ps);
  if (set.variant && (set.variant[0] == 'f' || set.variant[0] == 'm'))
    snprintf(v.gender, sizeof v.gender, "%s", set.variant[0] == 'f' ? "female" : "male");
  v.created_at = mira_now_ms();
  v.unlisted = 0;
  if (try_voice(c, v.engine, v.engine_params) < 0) return c->status;
  char err[256];
  int rc = c->store->ops->voice_insert(c->store, &v, err, sizeof err);
  if (rc) return mira_reply_rc(c, rc, err);
  return mira_reply_json(c, 200, voice_json(&v));
}

int mira_api_voice_delete(mira_call *c) {
  char id[MIRA_ID_SIZE + 1] = "", err[256];
  if (c->params.len[0] == MIRA_ID_LEN) memcpy(id, c->params.v[0], MIRA_ID_LEN);
  mira_voice v;
  int rc = mira_id_valid(id) ? c->store->ops->voice_get(c->store, id, c->account_id, &v, err, sizeof err)
                             : MIRA_ENOENT;
  if (rc == MIRA_ENOENT) return mira_reply_error(c, 404, "voice '%.*s' not found", (int)c->params.len[0], c->params.v[0]);
  if (rc) return mira_reply_rc(c, rc, err);
  if (!v.account_id[0]) return mira_reply_error(c, 422, "voice '%s' is a stock voice and cannot be deleted", id);
  rc = c->store->ops->voice_delete(c->store, id, c->account_id, err, sizeof err);
  if (rc) return mira_reply_rc(c, rc, err);
  return mira_reply_json(c, 200, json_pack("{s:s,s:s}", "result", "success", "id", id));
}

/* ---- previews ---- */

static const char *sample_text(const char *language) {
  static const char *const samples[][2] = {
      {"en", "Hello! This is how I sound. The quick brown fox jumps over the lazy dog."},
      {"fr", "Bonjour ! Voici comment je parle."}, {"de", "Hallo! So klingt meine Stimme."},
      {"es", "¡Hola! Así suena mi voz."}, {"it", "Ciao! Questa è la mia voce."},
      {"pt", "Olá! Esta é a minha voz."}, {"nl", "Hallo! Zo klinkt mijn stem."},
      {"pl", "Cześć! Tak brzmi mój głos."}, {"ru", "Привет! Так звучит мой голос."},
      {"uk", "Привіт! Так звучить мій голос."}, {"sv", "Hej! Så här låter min röst."},
      {"nb", "Hei! Slik høres stemmen min ut."}, {"da", "Hej! Sådan lyder min stemme."},
      {"fi", "Hei! Tältä ääneni kuulostaa."}, {"cs", "Ahoj! Takto zní můj hlas."},
      {"el", "Γεια σας! Έτσι ακούγεται η φωνή μου."}, {"tr", "Merhaba! Sesim böyle."},
      {"ar", "مرحبا! هذا هو صوتي."}, {"hi", "नमस्ते! मेरी आवाज़ ऐसी है।"},
      {"zh", "你好！这是我的声音。"}, {"ja", "こんにちは。これが私の声です。"},
      {"ko", "안녕하세요! 제 목소리입니다."}, {"id", "Halo! Beginilah suara saya."},
      {"vi", "Xin chào! Đây là giọng nói của tôi."}};
  for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
    if (!strncmp(language, samples[i][0], 2)) return samples[i][1];
  return samples[0][1];
}

/* POST /api/voices/{id}/preview {"text"?} or ?text=...: a short WAV. Runs on
 * the I/O pool: synthesis is CPU work. */
int mira_api_voice_preview(mira_call *c) {
  char id[MIRA_ID_SIZE + 1] = "", qtext[4 * PREVIEW_TEXT_MAX + 1], err[256];
  const char *text = NULL;
  if (c->params.len[0] == MIRA_ID_LEN) memcpy(id, c->params.v[0], MIRA_ID_LEN);
  if (mira_field_string(c, "text", 0, PREVIEW_TEXT_MAX, &text) < 0) return c->status;
  if (!text && mira_query_param(c, "text", qtext, sizeof qtext)) text = qtext;
  mira_voice v;
  if (load_voice(c, "voice", mira_id_valid(id) ? id : "cnotavoicecnotavoicecnota", &v) < 0) return c->status;
  if (!text || !*text) text = sample_text(v.language);
  mira_tts_voice tv;
  char name[96];
  mira_speech sp = {0};
  int rc = mira_catalog_tts_voice(v.engine, v.engine_params, &tv, name, sizeof name, err, sizeof err);
  if (rc == 0) rc = mira_speech_synth(&tv, text, &sp, err, sizeof err);
  if (rc == MIRA_EINVAL) return mira_reply_error(c, 400, "%s", err);
  if (rc) return mira_reply_error(c, rc == MIRA_ENOTSUP ? 503 : 500, "%s", err);
  uint8_t *wav;
  size_t len;
  rc = mira_wav_encode(sp.pcm, sp.samples, sp.sample_rate, &wav, &len);
  mira_speech_free(&sp);
  if (rc) return mira_reply_error(c, 500, "cannot encode the preview");
  rc = mira_reply_bytes(c, 200, "audio/wav", wav, len);
  free(wav);
  return rc;
}
