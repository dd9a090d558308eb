/* The curated default catalog: one or two good voices per language rather
 * than every voice and variant the engines know (espeak-ng alone lists over
 * a hundred languages and a hundred variants). English comes from flite,
 * whose voices a recogniser understands far better than espeak-ng's formant
 * speech (see bench/speech); other languages from espeak-ng with its female
 * and male variants. */
#include "engines/speech/catalog.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/crypto.h"
#include "core/error.h"

#define F "female"
#define M "male"

const mira_catalog_entry mira_catalog[] = {
    {"flite", "rms", "Robert — calm, US English", "en-US", M},
    {"flite", "slt", "Sarah — clear, US English", "en-US", F},
    {"flite", "awb", "Alan — Scottish English", "en-GB", M},
    {"flite", "kal16", "Kal — crisp, US English", "en-US", M},
    {"espeak-ng", "en-gb+f3", "Emma — British English (synthetic)", "en-GB", F},
    {"espeak-ng", "en-us+m3", "Jack — US English (synthetic)", "en-US", M},
    {"espeak-ng", "fr-fr+f3", "Camille — French", "fr-FR", F},
    {"espeak-ng", "fr-fr+m3", "Louis — French", "fr-FR", M},
    {"espeak-ng", "de+f3", "Lena — German", "de-DE", F},
    {"espeak-ng", "de+m3", "Jonas — German", "de-DE", M},
    {"espeak-ng", "es+f3", "Lucía — Spanish (Spain)", "es-ES", F},
    {"espeak-ng", "es+m3", "Diego — Spanish (Spain)", "es-ES", M},
    {"espeak-ng", "es-419+m3", "Mateo — Spanish (Latin America)", "es-419", M},
    {"espeak-ng", "it+f3", "Giulia — Italian", "it-IT", F},
    {"espeak-ng", "it+m3", "Marco — Italian", "it-IT", M},
    {"espeak-ng", "pt-br+f3", "Beatriz — Portuguese (Brazil)", "pt-BR", F},
    {"espeak-ng", "pt-br+m3", "Rafael — Portuguese (Brazil)", "pt-BR", M},
    {"espeak-ng", "pt+m3", "Tiago — Portuguese (Portugal)", "pt-PT", M},
    {"espeak-ng", "nl+m3", "Daan — Dutch", "nl-NL", M},
    {"espeak-ng", "pl+m3", "Piotr — Polish", "pl-PL", M},
    {"espeak-ng", "ru+m3", "Dmitri — Russian", "ru-RU", M},
    {"espeak-ng", "uk+f3", "Olena — Ukrainian", "uk-UA", F},
    {"espeak-ng", "sv+m3", "Erik — Swedish", "sv-SE", M},
    {"espeak-ng", "nb+f3", "Ingrid — Norwegian", "nb-NO", F},
    {"espeak-ng", "da+m3", "Mads — Danish", "da-DK", M},
    {"espeak-ng", "fi+f3", "Aino — Finnish", "fi-FI", F},
    {"espeak-ng", "cs+m3", "Jakub — Czech", "cs-CZ", M},
    {"espeak-ng", "el+m3", "Nikos — Greek", "el-GR", M},
    {"espeak-ng", "tr+m3", "Emre — Turkish", "tr-TR", M},
    {"espeak-ng", "ar+m3", "Omar — Arabic", "ar", M},
    {"espeak-ng", "hi+f3", "Priya — Hindi", "hi-IN", F},
    {"espeak-ng", "cmn+m3", "Wei — Mandarin Chinese", "zh-CN", M},
    {"espeak-ng", "ja+f3", "Yui — Japanese", "ja-JP", F},
    {"espeak-ng", "ko+f3", "Jiwoo — Korean", "ko-KR", F},
    {"espeak-ng", "id+m3", "Budi — Indonesian", "id-ID", M},
    {"espeak-ng", "vi+f3", "Linh — Vietnamese", "vi-VN", F},
    {NULL, NULL, NULL, NULL, NULL},
};

const mira_catalog_entry *mira_catalog_find(const char *engine, const char *voice) {
  for (const mira_catalog_entry *e = mira_catalog; e->engine; e++)
    if (!strcmp(e->engine, engine) && !strcmp(e->voice, voice)) return e;
  return NULL;
}

/* "en" matches "en-US"; "en-GB" prefers an exact match. */
const mira_catalog_entry *mira_catalog_default_for(const char *language) {
  size_t n = strlen(language);
  const mira_catalog_entry *prefix = NULL;
  for (const mira_catalog_entry *e = mira_catalog; e->engine; e++) {
    if (!strcasecmp(e->language, language)) return e;
    if (!prefix && !strncasecmp(e->language, language, n) && (e->language[n] == '-' || !e->language[n]))
      prefix = e;
    if (!prefix && !strncasecmp(e->language, language, 2) && n >= 2 && language[2] == '-') prefix = e;
  }
  return prefix;
}

void mira_catalog_voice_id(const char *engine, const char *voice, char out[MIRA_ID_SIZE]) {
  char key[160];
  snprintf(key, sizeof key, "mira-voice:%s:%s", engine, voice);
  mira_id_derive(key, out);
}

static int get_int(json_t *o, const char *k, int def) {
  json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? (int)json_integer_value(v) : def;
}

int mira_catalog_tts_voice(const char *engine, const char *params_json, mira_tts_voice *v, char *name_buf,
                           size_t name_len, char *err, size_t errlen) {
  json_t *o = json_loads(params_json ? params_json : "", 0, NULL);
  json_t *name = o ? json_object_get(o, "voice") : NULL;
  if (!json_is_string(name)) {
    json_decref(o);
    return mira_err(err, errlen, MIRA_EINVAL, "voice parameters lack an engine voice name");
  }
  snprintf(name_buf, name_len, "%s", json_string_value(name));
  *v = (mira_tts_voice){.engine = engine, .name = name_buf, .rate = get_int(o, "rate", 0),
                        .pitch = get_int(o, "pitch", -1), .range = get_int(o, "range", -1),
                        .volume = get_int(o, "volume", -1)};
  json_decref(o);
  return 0;
}

typedef struct walk_ctx {
  mira_catalog_cb cb;
  void *ud;
} walk_ctx;

static int walk_one(void *ud, const mira_tts_voice_info *v) {
  walk_ctx *w = ud;
  return w->cb(w->ud, v, mira_catalog_find(v->engine, v->name));
}

/* Engines list base voices; the curated "+variant" forms come from here. */
static int walk_variants(walk_ctx *w, const char *engine) {
  for (const mira_catalog_entry *e = mira_catalog; e->engine; e++) {
    if (strcmp(e->engine, engine) != 0 || !strchr(e->voice, '+')) continue;
    mira_tts_voice_info v = {.engine = e->engine};
    snprintf(v.name, sizeof v.name, "%s", e->voice);
    snprintf(v.language, sizeof v.language, "%s", e->language);
    snprintf(v.gender, sizeof v.gender, "%s", e->gender);
    snprintf(v.description, sizeof v.description, "%s", e->name);
    int rc = w->cb(w->ud, &v, e);
    if (rc) return rc;
  }
  return 0;
}

int mira_catalog_walk(mira_catalog_cb cb, void *ud, char *err, size_t errlen) {
  static const mira_tts_engine *const engines[] = {&mira_tts_flite, &mira_tts_espeak};
  walk_ctx w = {cb, ud};
  for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++) {
    char why[256];
    if (engines[i]->init(why, sizeof why) != 0) continue;
    int rc = engines[i]->list_voices(walk_one, &w, err, errlen);
    if (rc == 0) rc = walk_variants(&w, engines[i]->name);
    if (rc) return rc;
  }
  return 0;
}
