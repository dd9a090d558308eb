/* The voice catalog: which installed engine voices Mira offers by default,
 * under which human names, and how a stored voice record becomes engine
 * parameters.
 *
 *   const mira_catalog_entry *e = mira_catalog_find("flite", "rms");
 *   char id[MIRA_ID_SIZE]; mira_catalog_voice_id("flite", "rms", id);
 *   mira_tts_voice v; char name[64];
 *   mira_catalog_tts_voice("espeak-ng", "{\"voice\":\"fr-fr+f3\",\"rate\":190}", &v, name, sizeof name, err, n);
 *
 * Ids of stock voices are derived from engine and voice name, so they are
 * the same on every machine and across restarts (clients may store them).
 * Thread-safety: thread-safe, read-only data.
 */
#ifndef MIRA_ENGINES_SPEECH_CATALOG_H
#define MIRA_ENGINES_SPEECH_CATALOG_H

#include <stddef.h>

#include "core/ids.h"
#include "engines/speech/speech.h"

typedef struct mira_catalog_entry {
  const char *engine;
  const char *voice;    /* engine voice name, with espeak-ng variant: "fr-fr+f3" */
  const char *name;     /* "Camille — bright, French" */
  const char *language; /* BCP 47 */
  const char *gender;
} mira_catalog_entry;

/* The curated entries, terminated by an entry with engine == NULL. The
 * first English entry is the default English voice. */
extern const mira_catalog_entry mira_catalog[];

const mira_catalog_entry *mira_catalog_find(const char *engine, const char *voice);
/* The default voice for a BCP 47 language ("en", "en-US", "fr"), or NULL. */
const mira_catalog_entry *mira_catalog_default_for(const char *language);

/* Stable id of a stock voice: "c" + 24 base36 chars of SHA-256(engine:voice). */
void mira_catalog_voice_id(const char *engine, const char *voice, char out[MIRA_ID_SIZE]);

/* Every stock voice this machine can speak: each engine's installed voices
 * plus the catalog's variants of them. cb gets the voice info and its
 * catalog entry (NULL when outside the curated set); a non-zero return stops
 * the walk and is returned. Engines that fail to initialise are skipped. */
typedef int (*mira_catalog_cb)(void *ud, const mira_tts_voice_info *v, const mira_catalog_entry *e);
int mira_catalog_walk(mira_catalog_cb cb, void *ud, char *err, size_t errlen);

/* engine_params JSON of a voice record -> synthesis parameters. name_buf
 * receives the engine voice name (v->name points at it). MIRA_EINVAL when
 * the JSON is not an object with a string "voice". */
int mira_catalog_tts_voice(const char *engine, const char *params_json, mira_tts_voice *v, char *name_buf,
                           size_t name_len, char *err, size_t errlen);

#endif
