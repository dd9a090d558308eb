/* espeak-ng speech engine: text -> 22050 Hz 16-bit mono PCM plus phoneme
 * and word timelines, from espeak-ng's synchronous callback API.
 *
 * espeak-ng keeps its voice, parameters, callback and dictionaries in
 * process-wide globals, so this file is the one place in Mira that holds
 * global mutable state: `lock` serialises every call into the library (init,
 * voice list, synthesis), and the voice table copied at init is read-only
 * afterwards. Timelines are built outside the lock, from per-call buffers.
 *
 * Not bit-exact: espeak-ng 1.51 keeps waveform state between calls in
 * function statics that no API resets (pitch flutter phase in wavegen.c's
 * AdvanceParameters, gain, cycle counters; some earlier texts even change
 * how long the last syllable is). The same text and settings give the same
 * phonemes and words, with timings a few ms apart (up to ~50 ms at the end
 * of the text; after a voice of another language up to ~120 ms), but the
 * samples depend on what was synthesised before. A fresh process's first
 * call matches the espeak-ng CLI sample for sample. Restarting the library
 * in-process (espeak_Terminate + espeak_Initialize) would reset it, but on
 * 1.51 the next espeak_Synchronize then hangs, so it is not done.
 */
#include <ctype.h>
#include <espeak-ng/speak_lib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/error.h"
#include "core/grow.h"
#include "engines/speech/speech.h"

#define ENGINE "espeak-ng"
#define BUFLEN_MS 200          /* audio per callback; only affects call count */
#define MAX_AUDIO_S (60 * 60)  /* guard against runaway output: one hour */
#define MAX_VOICES 512         /* Debian's espeak-ng-data ships ~130 */
#define DEFAULT_VOICE "en-us"  /* when mira_tts_voice.name is NULL or "" */
#define PAUSE "_"              /* espeak-ng's pause mnemonics all start with '_' */

typedef struct voice_row {
  char id[64];        /* file under espeak-ng-data/voices, "gmw/en-US" */
  char name[96];      /* "English (America)" */
  char langs[160];    /* espeak's (priority byte, name, NUL)* list, 0-terminated */
  unsigned char gender;
} voice_row;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int init_rc = 1; /* 1: not tried yet; then 0 or MIRA_ENOTSUP, for good */
static int sample_rate;
static char data_dir[512];
static voice_row *voices;
static size_t nvoices;

/* ---- voice table ---- */

static const char *basename_of(const char *id) {
  const char *s = strrchr(id, '/');
  return s ? s + 1 : id;
}

/* Copies espeak's language list, keeping whole entries that fit. */
static void copy_langs(char *dst, size_t cap, const char *src) {
  size_t n = 0;
  while (src && *src) {
    size_t len = 2 + strlen(src + 1); /* priority byte, name, NUL */
    if (n + len + 1 > cap) break;
    memcpy(dst + n, src, len);
    n += len;
    src += len;
  }
  dst[n] = 0;
}

/* Called once, under the lock: espeak_ListVoices' array is invalidated by
 * the next call to it, so Mira keeps its own copy. Failing here leaves
 * init_rc at MIRA_ENOMEM for good, which only a restart clears. */
static int load_voices(void) {
  const espeak_VOICE **list = espeak_ListVoices(NULL);
  size_t n = 0;
  while (list && list[n] && n < MAX_VOICES) n++;
  voices = calloc(n ? n : 1, sizeof *voices);
  if (!voices) return MIRA_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    voice_row *r = &voices[i];
    snprintf(r->id, sizeof r->id, "%s", list[i]->identifier ? list[i]->identifier : "");
    snprintf(r->name, sizeof r->name, "%s", list[i]->name ? list[i]->name : "");
    copy_langs(r->langs, sizeof r->langs, list[i]->languages);
    r->gender = list[i]->gender;
  }
  nvoices = n;
  return 0;
}

static int engine_init(char *err, size_t errlen) {
  pthread_mutex_lock(&lock);
  if (init_rc == 1) {
    /* DONT_EXIT: without it espeak-ng calls exit() when its data is missing. */
    int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, BUFLEN_MS, NULL,
                                 espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_DONT_EXIT);
    const char *path = NULL;
    if (rate > 0) espeak_Info(&path);
    snprintf(data_dir, sizeof data_dir, "%s", path ? path : "");
    sample_rate = rate;
    init_rc = rate > 0 ? load_voices() : MIRA_ENOTSUP;
  }
  int rc = init_rc;
  pthread_mutex_unlock(&lock);
  if (rc == MIRA_ENOTSUP)
    return mira_err(err, errlen, rc,
                    "espeak-ng could not load its data: install Debian package espeak-ng-data");
  if (rc) return mira_err(err, errlen, rc, "out of memory loading the espeak-ng voice list");
  return 0;
}

/* ---- voice list ---- */

/* espeak-ng writes tags in lower case ("en-gb-x-rp"); BCP 47 writes regions
 * upper case and scripts in title case, and leaves private use (x-) alone. */
static void to_bcp47(const char *in, char *out, size_t cap) {
  size_t o = 0;
  int idx = 0, priv = 0;
  while (*in && o + 1 < cap) {
    size_t len = strcspn(in, "-");
    int region = idx > 0 && !priv && len == 2, script = idx > 0 && !priv && len == 4;
    for (size_t k = 0; k < len && o + 1 < cap; k++) {
      unsigned char c = (unsigned char)in[k];
      out[o++] = (char)(region || (script && k == 0) ? toupper(c) : priv ? c : tolower(c));
    }
    priv |= len == 1 && (in[0] == 'x' || in[0] == 'X');
    in += len;
    if (*in == '-' && o + 1 < cap) out[o++] = *in++;
    idx++;
  }
  out[o] = 0;
}

static void lowercase_copy(char *dst, size_t cap, const char *src) {
  size_t i = 0;
  for (; src[i] && i + 1 < cap; i++) dst[i] = (char)tolower((unsigned char)src[i]);
  dst[i] = 0;
}

static void fill_info(const voice_row *r, mira_tts_voice_info *vi) {
  memset(vi, 0, sizeof *vi);
  vi->engine = ENGINE;
  /* The identifier's basename is unique and accepted by espeak_SetVoiceByName
   * ("en-us", "fr", "en-gb-x-rp"); the language code is not always ("fr-fr"). */
  lowercase_copy(vi->name, sizeof vi->name, basename_of(r->id));
  to_bcp47(r->langs[0] ? r->langs + 1 : "", vi->language, sizeof vi->language);
  snprintf(vi->gender, sizeof vi->gender, "%s",
           r->gender == 1 ? "male" : r->gender == 2 ? "female" : "");
  snprintf(vi->description, sizeof vi->description, "%s", r->name);
}

/* Copies the infos under the lock and calls cb without it, so a callback
 * may synthesise. A nonzero return from cb stops the listing and is
 * returned (as flite's list_voices does). */
static int list_voices(mira_tts_voice_cb cb, void *ud, char *err, size_t errlen) {
  int rc = engine_init(err, errlen);
  if (rc) return rc;
  mira_tts_voice_info *infos = calloc(nvoices ? nvoices : 1, sizeof *infos);
  if (!infos) return mira_err(err, errlen, MIRA_ENOMEM, "out of memory listing espeak-ng voices");
  pthread_mutex_lock(&lock);
  size_t n = nvoices;
  for (size_t i = 0; i < n; i++) fill_info(&voices[i], &infos[i]);
  pthread_mutex_unlock(&lock);
  for (size_t i = 0; i < n && rc == 0; i++) rc = cb(ud, &infos[i]);
  free(infos);
  return rc;
}

/* ---- voice selection ---- */

/* The voice whose name or identifier (or its basename) is `base`, else the
 * most preferred voice listing `base` as a language ("fr-fr", as the CLI's
 * -v accepts). NULL when none matches: no fuzzy fallback to another voice. */
static const voice_row *find_voice(const char *base) {
  const voice_row *best = NULL;
  int best_prio = 256;
  for (size_t i = 0; i < nvoices; i++) {
    const voice_row *r = &voices[i];
    if (!strcasecmp(base, r->name) || !strcasecmp(base, r->id) ||
        !strcasecmp(base, basename_of(r->id)))
      return r;
    for (const char *l = r->langs; *l; l += 2 + strlen(l + 1))
      if (!strcasecmp(base, l + 1) && (unsigned char)l[0] < best_prio) {
        best = r;
        best_prio = (unsigned char)l[0];
      }
  }
  return best;
}

/* espeak-ng silently ignores a variant it cannot find, so check the file:
 * "f3" is voices/!v/f3; a number n is m<n> below 10 and f<n-10> above. */
static int variant_exists(const char *var) {
  char file[64], path[600];
  if (!*var || strlen(var) > 40 || strspn(var, "abcdefghijklmnopqrstuvwxyz"
                                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_- ") != strlen(var))
    return 0;
  if (strspn(var, "0123456789") == strlen(var)) {
    int n = atoi(var);
    if (n < 1 || n > 19) return 0;
    snprintf(file, sizeof file, n < 10 ? "m%d" : "f%d", n < 10 ? n : n - 10);
  } else {
    snprintf(file, sizeof file, "%s", var);
  }
  snprintf(path, sizeof path, "%s/voices/!v/%s", data_dir, file);
  return access(path, R_OK) == 0;
}

/* Under the lock. */
static int select_voice(const char *name, char *err, size_t errlen) {
  char base[64], spec[128];
  if (!name || !*name) name = DEFAULT_VOICE;
  if (strlen(name) >= sizeof base) goto unknown;
  snprintf(base, sizeof base, "%s", name);
  char *var = strchr(base, '+');
  if (var) *var++ = 0;
  const voice_row *r = find_voice(base);
  if (!r || (var && !variant_exists(var))) goto unknown;
  snprintf(spec, sizeof spec, "%s%s%s", r->id, var ? "+" : "", var ? var : "");
  if (espeak_SetVoiceByName(spec) != EE_OK) goto unknown;
  return 0;
unknown:
  return mira_err(err, errlen, MIRA_EINVAL, "unknown espeak-ng voice '%s'", name);
}

/* ---- prosody ---- */

typedef struct prosody { int rate, pitch, range, volume; } prosody;

static int check_range(const char *what, int v, int lo, int hi, char *err, size_t errlen) {
  if (v >= lo && v <= hi) return 0;
  return mira_err(err, errlen, MIRA_EINVAL, "%s %d is outside %d..%d", what, v, lo, hi);
}

static int get_prosody(const mira_tts_voice *v, prosody *p, char *err, size_t errlen) {
  p->rate = v->rate ? v->rate : espeakRATE_NORMAL;
  p->pitch = v->pitch == -1 ? 50 : v->pitch;
  p->range = v->range == -1 ? 50 : v->range;
  p->volume = v->volume == -1 ? 100 : v->volume;
  int rc = check_range("rate", p->rate, espeakRATE_MINIMUM, espeakRATE_MAXIMUM, err, errlen);
  if (!rc) rc = check_range("pitch", p->pitch, 0, 100, err, errlen);
  if (!rc) rc = check_range("range", p->range, 0, 100, err, errlen);
  if (!rc) rc = check_range("volume", p->volume, 0, 200, err, errlen);
  return rc;
}

/* Under the lock. Every parameter is set on every call, so one request's
 * settings never leak into the next. */
static void set_params(const prosody *p) {
  static const espeak_PARAMETER others[] = {espeakPUNCTUATION, espeakCAPITALS, espeakWORDGAP,
                                            espeakINTONATION};
  for (size_t i = 0; i < sizeof others / sizeof *others; i++)
    espeak_SetParameter(others[i], espeak_GetParameter(others[i], 0), 0);
  espeak_SetParameter(espeakRATE, p->rate, 0);
  espeak_SetParameter(espeakPITCH, p->pitch, 0);
  espeak_SetParameter(espeakRANGE, p->range, 0);
  espeak_SetParameter(espeakVOLUME, p->volume, 0);
}

/* ---- collecting callback output ---- */

typedef struct raw_ev {
  int type, ms, pos, len;
  char name[12];
} raw_ev;

typedef struct collect {
  int16_t *pcm;
  size_t n, cap;
  raw_ev *ev;
  size_t nev, evcap;
  size_t max_samples;
  int failed; /* MIRA_ENOMEM or MIRA_ETOOBIG: the callback aborts synthesis */
} collect;

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  return mira_grow(p, cap, need, size, 1024);
}

static int push_pcm(collect *c, const short *wav, int n) {
  if (c->n + (size_t)n > c->max_samples) return c->failed = MIRA_ETOOBIG;
  if (grow((void **)&c->pcm, &c->cap, c->n + (size_t)n, sizeof *c->pcm)) return c->failed = MIRA_ENOMEM;
  memcpy(c->pcm + c->n, wav, (size_t)n * sizeof *wav);
  c->n += (size_t)n;
  return 0;
}

static int push_event(collect *c, const espeak_EVENT *e) {
  if (e->type != espeakEVENT_PHONEME && e->type != espeakEVENT_WORD) return 0;
  if (grow((void **)&c->ev, &c->evcap, c->nev + 1, sizeof *c->ev)) return c->failed = MIRA_ENOMEM;
  raw_ev *r = &c->ev[c->nev++];
  memset(r, 0, sizeof *r);
  r->type = e->type;
  r->ms = e->audio_position;
  r->pos = e->text_position;
  r->len = e->length;
  if (e->type == espeakEVENT_PHONEME) memcpy(r->name, e->id.string, sizeof e->id.string);
  return 0;
}

/* Returning 1 tells espeak-ng to stop. */
static int on_synth(short *wav, int n, espeak_EVENT *ev) {
  collect *c = ev ? ev->user_data : NULL;
  if (!c || c->failed) return 1;
  if (wav && n > 0 && push_pcm(c, wav, n)) return 1;
  for (; ev->type != espeakEVENT_LIST_TERMINATED; ev++)
    if (push_event(c, ev)) return 1;
  return 0;
}

/* Under the lock. */
static int run_synth(const char *text, collect *c, char *err, size_t errlen) {
  c->max_samples = (size_t)sample_rate * MAX_AUDIO_S;
  espeak_SetSynthCallback(on_synth);
  /* ENDPAUSE: end with a sentence pause, as the espeak-ng CLI does. */
  espeak_ERROR e = espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0,
                                espeakCHARS_UTF8 | espeakENDPAUSE, NULL, c);
  espeak_Synchronize();
  if (c->failed == MIRA_ETOOBIG)
    return mira_err(err, errlen, MIRA_ETOOBIG, "espeak-ng output is over %d s", MAX_AUDIO_S);
  if (c->failed) return mira_err(err, errlen, c->failed, "out of memory in espeak-ng synthesis");
  if (e != EE_OK) return mira_err(err, errlen, MIRA_EIO, "espeak-ng synthesis failed (code %d)", e);
  return 0;
}

/* ---- timelines ---- */

static int32_t clamp32(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static int is_pause(const char *name) { return name[0] == '_'; }

/* Appends a phoneme starting at `start` (>= the last start). A previous
 * phoneme with the same start would be empty, so it is replaced; runs of
 * pauses ("_:", "_!", "_") become one "_". */
static void add_phoneme(mira_speech *s, const char *name, int32_t start) {
  if (s->nphonemes && s->phonemes[s->nphonemes - 1].start_ms == start) s->nphonemes--;
  if (is_pause(name) && s->nphonemes && is_pause(s->phonemes[s->nphonemes - 1].name)) return;
  mira_phoneme_event *p = &s->phonemes[s->nphonemes++];
  snprintf(p->name, sizeof p->name, "%s", is_pause(name) ? PAUSE : name);
  p->start_ms = start;
}

/* Each phoneme ends where the next starts, the last at the end of audio; a
 * "_" fills any silence before the first, so phonemes cover [0, dur]. */
static int build_phonemes(const collect *c, int32_t dur, mira_speech *s) {
  s->phonemes = calloc(c->nev + 1, sizeof *s->phonemes);
  if (!s->phonemes) return MIRA_ENOMEM;
  add_phoneme(s, PAUSE, 0);
  int32_t t = 0;
  for (size_t i = 0; i < c->nev; i++) {
    if (c->ev[i].type != espeakEVENT_PHONEME) continue;
    t = clamp32(c->ev[i].ms, t, dur);
    add_phoneme(s, c->ev[i].name, t);
  }
  for (size_t i = 0; i < s->nphonemes; i++)
    s->phonemes[i].end_ms = i + 1 < s->nphonemes ? s->phonemes[i + 1].start_ms : dur;
  if (s->nphonemes && s->phonemes[s->nphonemes - 1].start_ms >= dur) s->nphonemes--;
  return 0;
}

/* Byte offset of every character in text, plus one past the end. */
static int32_t *char_offsets(const char *text, size_t *nchars) {
  size_t len = strlen(text), n = 0;
  int32_t *off = malloc((len + 1) * sizeof *off);
  if (!off) return NULL;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)text[i] & 0xC0) != 0x80) off[n++] = (int32_t)i;
  off[n] = (int32_t)len;
  *nchars = n;
  return off;
}

/* espeak-ng sometimes spans only part of a token ("e" of "e-mail", "U" of
 * "U.S.A."): extend over ASCII word characters up to the next word, then
 * drop trailing punctuation. Non-ASCII text is left as espeak-ng gave it. */
static void widen_span(const char *text, mira_word_event *w, int32_t limit) {
  int32_t end = w->text_offset + w->text_len;
  while (end < limit && (isalnum((unsigned char)text[end]) || strchr("-.'_", text[end]))) end++;
  while (end > w->text_offset + 1 && strchr("-.'_", text[end - 1])) end--;
  if (end > w->text_offset + w->text_len) w->text_len = end - w->text_offset;
}

/* Word events give a 1-based character position and a length in characters.
 * espeak-ng splits numbers into several overlapping words ("42" -> "forty",
 * "two"); those stay one word, the text's. Empty words are dropped. */
static void collect_words(const collect *c, const int32_t *off, size_t nchars, int32_t dur,
                          mira_speech *s) {
  int32_t t = 0, next_free = 0;
  for (size_t i = 0; i < c->nev; i++) {
    const raw_ev *e = &c->ev[i];
    if (e->type != espeakEVENT_WORD || e->len <= 0 || e->pos < 1 || (size_t)e->pos > nchars)
      continue;
    size_t last = (size_t)e->pos - 1 + (size_t)e->len;
    int32_t b = off[e->pos - 1], end = off[last < nchars ? last : nchars];
    if (b < next_free) continue; /* continuation of the previous word */
    mira_word_event *w = &s->words[s->nwords++];
    t = clamp32(e->ms, t, dur);
    *w = (mira_word_event){.start_ms = t, .text_offset = b, .text_len = end - b};
    next_free = end;
  }
}

/* A word ends at the end of its last sounding phoneme, or where the next
 * word starts, whichever comes first. */
static void word_ends(mira_speech *s, int32_t dur) {
  size_t j = 0;
  for (size_t i = 0; i < s->nwords; i++) {
    mira_word_event *w = &s->words[i];
    int32_t next = i + 1 < s->nwords ? s->words[i + 1].start_ms : dur, end = -1;
    while (j < s->nphonemes && s->phonemes[j].start_ms < w->start_ms) j++;
    for (size_t k = j; k < s->nphonemes && s->phonemes[k].start_ms < next; k++)
      if (!is_pause(s->phonemes[k].name)) end = s->phonemes[k].end_ms;
    w->end_ms = end < 0 ? next : clamp32(end, w->start_ms, next);
  }
}

static int build_words(const collect *c, const char *text, int32_t dur, mira_speech *s) {
  size_t nchars;
  int32_t *off = char_offsets(text, &nchars);
  s->words = calloc(c->nev + 1, sizeof *s->words);
  if (!off || !s->words) {
    free(off);
    return MIRA_ENOMEM;
  }
  collect_words(c, off, nchars, dur, s);
  for (size_t i = 0; i < s->nwords; i++)
    widen_span(text, &s->words[i],
               i + 1 < s->nwords ? s->words[i + 1].text_offset : off[nchars]);
  word_ends(s, dur);
  free(off);
  return 0;
}

/* Moves the PCM into out and builds its timelines. */
static int build(collect *c, const char *text, mira_speech *out, char *err, size_t errlen) {
  out->sample_rate = sample_rate;
  out->samples = c->n;
  out->pcm = c->pcm;
  c->pcm = NULL;
  int32_t dur = (int32_t)mira_speech_duration_ms(out);
  int rc = build_phonemes(c, dur, out);
  if (!rc) rc = build_words(c, text, dur, out);
  if (rc) {
    mira_speech_free(out);
    return mira_err(err, errlen, rc, "out of memory building the espeak-ng timeline");
  }
  return 0;
}

static int synth(const mira_tts_voice *v, const char *text, mira_speech *out, char *err,
                 size_t errlen) {
  prosody p;
  int rc = get_prosody(v, &p, err, errlen);
  if (!rc) rc = engine_init(err, errlen);
  if (rc) return rc;
  collect c = {0};
  pthread_mutex_lock(&lock);
  rc = select_voice(v->name, err, errlen);
  if (!rc) {
    set_params(&p);
    rc = run_synth(text, &c, err, errlen);
  }
  pthread_mutex_unlock(&lock);
  if (!rc) rc = build(&c, text, out, err, errlen);
  free(c.pcm);
  free(c.ev);
  return rc;
}

const mira_tts_engine mira_tts_espeak = {
    .name = ENGINE,
    .init = engine_init,
    .list_voices = list_voices,
    .synth = synth,
};
