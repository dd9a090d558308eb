/* Speech synthesis: text -> 16-bit mono PCM plus a timeline of phonemes and
 * words, from whichever engines this machine has (espeak-ng, flite).
 *
 *   mira_tts_voice v = {.engine = "flite", .name = "slt"};   // or "espeak-ng", "en-us+f3"
 *   mira_speech sp;
 *   if (mira_speech_synth(&v, "Hello there.", &sp, err, sizeof err)) fail(err);
 *   ... sp.pcm[0..sp.samples), sp.sample_rate, sp.phonemes[], sp.words[] ...
 *   mira_speech_free(&sp);
 *
 * Text: UTF-8. SSML-like pauses <break time="500ms"/> (or "1.5s") insert
 * silence; other markup is not interpreted (angle brackets are spoken as
 * text by neither engine: they are removed). Numbers, dates and
 * abbreviations are expanded by the engine's own language rules.
 *
 * Timeline: phoneme and word events in milliseconds from the start of the
 * PCM, sorted, non-overlapping, inside [0, duration]. Phoneme names are the
 * engine's own mnemonics (espeak-ng: "h", "@", "aI"; flite: CMU phones "hh",
 * "ax", "ay"); pauses appear as "_" (espeak-ng) or "pau" (flite).
 * mira_viseme_of() maps any of them to the viseme set in visemes.h.
 *
 * Ownership: mira_speech arrays are heap-owned by the struct until
 * mira_speech_free(). Thread-safety: mira_speech_synth is thread-safe; engines
 * that are process-wide singletons (espeak-ng) serialise internally behind one
 * lock, others (flite) run in parallel.
 */
#ifndef MIRA_ENGINES_SPEECH_SPEECH_H
#define MIRA_ENGINES_SPEECH_SPEECH_H

#include <stddef.h>
#include <stdint.h>

#define MIRA_SPEECH_MAX_TEXT 5000 /* characters; the API's default limit */

typedef struct mira_phoneme_event {
  char name[12];     /* engine mnemonic, NUL-terminated */
  int32_t start_ms, end_ms;
} mira_phoneme_event;

typedef struct mira_word_event {
  int32_t start_ms, end_ms;
  int32_t text_offset, text_len; /* byte span in the original text */
} mira_word_event;

typedef struct mira_speech {
  int16_t *pcm;
  size_t samples;
  int sample_rate;
  mira_phoneme_event *phonemes;
  size_t nphonemes;
  mira_word_event *words;
  size_t nwords;
} mira_speech;

/* A voice as an engine understands it, plus prosody. 0 / -1 mean "engine
 * default" for each number. */
typedef struct mira_tts_voice {
  const char *engine;  /* "espeak-ng" or "flite" */
  const char *name;    /* espeak-ng: voice[+variant] ("en-us", "fr+f2"); flite: "slt", "awb", "rms", "kal", ... */
  int rate;            /* words per minute, 80..450; 0 = default (175) */
  int pitch;           /* 0..100; -1 = default (50) */
  int range;           /* pitch range 0..100; -1 = default (50) */
  int volume;          /* 0..200 percent; -1 = default (100) */
} mira_tts_voice;

/* What an engine reports about one of its installed voices. */
typedef struct mira_tts_voice_info {
  const char *engine;
  char name[64];       /* as mira_tts_voice.name */
  char language[32];   /* BCP 47: "en-US", "fr-FR" */
  char gender[16];     /* "female", "male" or "" */
  char description[96];/* engine's own name, e.g. "English (America)" */
} mira_tts_voice_info;

typedef int (*mira_tts_voice_cb)(void *ud, const mira_tts_voice_info *v);

/* One engine; a struct of function pointers like the store backends. */
typedef struct mira_tts_engine {
  const char *name;
  /* Loads data files once; safe to call again (no-op). MIRA_ENOTSUP with a
   * message naming the Debian package when the engine's data is missing. */
  int (*init)(char *err, size_t errlen);
  int (*list_voices)(mira_tts_voice_cb cb, void *ud, char *err, size_t errlen);
  /* Synthesises plain text (no markup) into out (zeroed by the caller). */
  int (*synth)(const mira_tts_voice *v, const char *text, mira_speech *out, char *err, size_t errlen);
} mira_tts_engine;

extern const mira_tts_engine mira_tts_espeak;
extern const mira_tts_engine mira_tts_flite;

/* The engine with that name, or NULL. */
const mira_tts_engine *mira_tts_engine_find(const char *name);

/* Synthesises text with SSML-like breaks; see the top of this file.
 * Returns 0, MIRA_EINVAL (empty text, over MIRA_SPEECH_MAX_TEXT characters,
 * invalid UTF-8, bad break time, unknown voice), MIRA_ENOTSUP (engine not
 * installed) or MIRA_EIO. On failure *out is zeroed. */
int mira_speech_synth(const mira_tts_voice *v, const char *text, mira_speech *out, char *err, size_t errlen);

/* Validates text and markup as mira_speech_synth would, without
 * synthesising: 0 or MIRA_EINVAL with the same message. For early 400s. */
int mira_speech_check(const char *text, char *err, size_t errlen);

void mira_speech_free(mira_speech *s);

/* Duration of the PCM in milliseconds. */
int64_t mira_speech_duration_ms(const mira_speech *s);

#endif
