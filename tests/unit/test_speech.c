/* Unit tests for src/engines/speech: mira_speech_synth over espeak-ng.
 * Run with one argument ("voices", "numbers", "breaks", "errors", "params",
 * "concurrency", "cli", "list", "api", "speed") to run only that group. */
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/error.h"
#include "engines/speech/speech.h"

extern char **environ;

enum {
  TIMING_SLACK_MS = 50, /* last phoneme end vs PCM duration */
  MAX_GAP_MS = 20,      /* phonemes must cover the audio */
  BREAK_SLACK_MS = 30,
  SILENCE = 64,         /* |sample| at or below: near-silence, about -54 dBFS */
  MIN_RMS = 300,        /* int16 speech at default volume is in the thousands */
  DRIFT_MS = 60,        /* espeak-ng's call-to-call timing drift, mostly the last syllable */
  THREADS = 8,
  THREAD_ROUNDS = 3
};

static char err[256];

static mira_tts_voice voice(const char *name, int rate) {
  return (mira_tts_voice){.engine = "espeak-ng", .name = name, .rate = rate, .pitch = -1,
                          .range = -1, .volume = -1};
}

static int say(const char *name, const char *text, mira_speech *s) {
  mira_tts_voice v = voice(name, 0);
  err[0] = 0;
  return mira_speech_synth(&v, text, s, err, sizeof err);
}

static double rms(const mira_speech *s) {
  double sum = 0;
  for (size_t i = 0; i < s->samples; i++) sum += (double)s->pcm[i] * s->pcm[i];
  return s->samples ? sqrt(sum / (double)s->samples) : 0;
}

static int max_abs(const int16_t *p, size_t n) {
  int m = 0;
  for (size_t i = 0; i < n; i++) m = abs(p[i]) > m ? abs(p[i]) : m;
  return m;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Pitch (Hz) of one voiced frame, or 0: the shortest lag whose normalised
 * autocorrelation is near the best, so octave-down lags lose. */
static double frame_f0(const int16_t *x, int len, int min_lag, int max_lag, int rate) {
  static __thread double r[1024];
  double e = 0, best = 0;
  for (int i = 0; i < len; i++) e += (double)x[i] * x[i];
  for (int lag = min_lag; lag <= max_lag; lag++) {
    double c = 0, e2 = 0;
    for (int i = 0; i < len; i++) c += (double)x[i] * x[i + lag], e2 += (double)x[i + lag] * x[i + lag];
    r[lag] = c / sqrt(e * e2 + 1);
    best = r[lag] > best ? r[lag] : best;
  }
  if (best < 0.6) return 0;
  for (int lag = min_lag + 1; lag < max_lag; lag++)
    if (r[lag] >= 0.9 * best && r[lag] >= r[lag - 1] && r[lag] >= r[lag + 1]) return (double)rate / lag;
  return 0;
}

/* Median pitch of the loud 20 ms frames, in Hz (0 if none). */
static double median_f0(const mira_speech *s) {
  enum { MAX_FRAMES = 2048 };
  double f0[MAX_FRAMES];
  int frame = s->sample_rate / 50, min_lag = s->sample_rate / 400, max_lag = s->sample_rate / 60;
  size_t n = 0;
  for (size_t at = 0; at + (size_t)(frame + max_lag) < s->samples && n < MAX_FRAMES; at += (size_t)frame) {
    if (max_abs(s->pcm + at, (size_t)frame) < 3000) continue;
    double f = frame_f0(s->pcm + at, frame, min_lag, max_lag, s->sample_rate);
    if (f > 0) f0[n++] = f;
  }
  qsort(f0, n, sizeof *f0, cmp_double);
  return n ? f0[n / 2] : 0;
}

/* Same phonemes and words, timings within DRIFT_MS. */
static int same_timeline(const mira_speech *a, const mira_speech *b) {
  if (a->nphonemes != b->nphonemes || a->nwords != b->nwords) return 0;
  for (size_t i = 0; i < a->nphonemes; i++)
    if (strcmp(a->phonemes[i].name, b->phonemes[i].name) ||
        abs(a->phonemes[i].start_ms - b->phonemes[i].start_ms) > DRIFT_MS ||
        abs(a->phonemes[i].end_ms - b->phonemes[i].end_ms) > DRIFT_MS)
      return 0;
  for (size_t i = 0; i < a->nwords; i++)
    if (a->words[i].text_offset != b->words[i].text_offset ||
        a->words[i].text_len != b->words[i].text_len ||
        abs(a->words[i].start_ms - b->words[i].start_ms) > DRIFT_MS)
      return 0;
  return 1;
}

static int near(double a, double b, double rel) { return fabs(a - b) <= rel * fabs(b); }

/* espeak-ng is not bit-exact from call to call (espeak.c says why), so
 * "the same speech" is: same timeline, duration within 3%, loudness within
 * 10% and pitch within 6% -- a leaked voice, rate, volume or pitch, or
 * another thread's audio, breaks one of them. */
static int same_speech(const mira_speech *a, const mira_speech *b) {
  return same_timeline(a, b) && near((double)a->samples, (double)b->samples, 0.03) &&
         near(rms(a), rms(b), 0.10) && near(median_f0(a), median_f0(b), 0.06);
}

static size_t sounding_phonemes(const mira_speech *s) {
  size_t n = 0;
  for (size_t i = 0; i < s->nphonemes; i++) n += strcmp(s->phonemes[i].name, "_") != 0;
  return n;
}

/* Phonemes sorted, non-overlapping, inside [0, dur]; returns the largest
 * stretch of audio (ms) that no phoneme covers. */
static int timeline_gap(const mira_speech *s, int *bad) {
  int32_t dur = (int32_t)mira_speech_duration_ms(s), t = 0, gap = 0;
  *bad = 0;
  for (size_t i = 0; i < s->nphonemes; i++) {
    const mira_phoneme_event *p = &s->phonemes[i];
    *bad += p->start_ms < t || p->end_ms < p->start_ms || p->end_ms > dur;
    gap = p->start_ms - t > gap ? p->start_ms - t : gap;
    t = p->end_ms;
  }
  return dur - t > gap ? dur - t : gap;
}

static int words_bad(const mira_speech *s, size_t textlen) {
  int32_t t = 0, dur = (int32_t)mira_speech_duration_ms(s), off = 0;
  int bad = 0;
  for (size_t i = 0; i < s->nwords; i++) {
    const mira_word_event *w = &s->words[i];
    bad += w->start_ms < t || w->end_ms < w->start_ms || w->end_ms > dur;
    bad += w->text_offset < off || w->text_len <= 0 ||
           (size_t)(w->text_offset + w->text_len) > textlen;
    t = w->end_ms;
    off = w->text_offset + w->text_len;
  }
  return bad;
}

/* Checks that word k of s spells token k of `tokens` ("|"-separated). */
static void check_word_texts(const char *id, const mira_speech *s, const char *text,
                             const char *tokens) {
  char got[512] = "";
  for (size_t i = 0; i < s->nwords; i++) {
    size_t n = strlen(got);
    snprintf(got + n, sizeof got - n, "%s%.*s", i ? "|" : "", s->words[i].text_len,
             text + s->words[i].text_offset);
  }
  CHECK_STR(id, got, tokens);
}

/* ---- speech-1: one sentence per language ---- */

typedef struct sample {
  const char *voice, *text, *tokens; /* tokens: the words, "|"-separated */
} sample;

static const sample samples[] = {
    {"en-us", "The quick brown fox jumps over the lazy dog",
     "The|quick|brown|fox|jumps|over|the|lazy|dog"},
    {"en-gb-x-rp", "She sells sea shells by the sea shore",
     "She|sells|sea|shells|by|the|sea|shore"},
    {"fr-fr", "Le petit chat dort sur le canapé rouge", "Le|petit|chat|dort|sur|le|canapé|rouge"},
    {"de", "Der schnelle braune Fuchs springt über den faulen Hund",
     "Der|schnelle|braune|Fuchs|springt|über|den|faulen|Hund"},
    {"es", "El rápido zorro marrón salta sobre el perro perezoso",
     "El|rápido|zorro|marrón|salta|sobre|el|perro|perezoso"},
    {"it", "La volpe veloce salta sopra il cane pigro", "La|volpe|veloce|salta|sopra|il|cane|pigro"},
    {"pt-br", "O rato roeu a roupa do rei de Roma", "O|rato|roeu|a|roupa|do|rei|de|Roma"},
    {"nl", "De snelle bruine vos springt over de luie hond",
     "De|snelle|bruine|vos|springt|over|de|luie|hond"},
    {"pl", "Szybki brązowy lis skacze nad leniwym psem",
     "Szybki|brązowy|lis|skacze|nad|leniwym|psem"},
    {"ru", "Быстрая коричневая лиса прыгает через ленивую собаку",
     "Быстрая|коричневая|лиса|прыгает|через|ленивую|собаку"},
    {"tr", "Hızlı kahverengi tilki tembel köpeğin üstünden atlar",
     "Hızlı|kahverengi|tilki|tembel|köpeğin|üstünden|atlar"},
    {"hi", "मैं आज बाज़ार जा रहा हूँ", "मैं|आज|बाज़ार|जा|रहा|हूँ"},
    {"cmn", "今天天气很好", "今|天|天|气|很|好"}, /* espeak-ng: one word per Han character */
};

static void test_voice(const sample *t) {
  char id[64];
  mira_speech s;
  int rc = say(t->voice, t->text, &s);
#define ID(n) (snprintf(id, sizeof id, "speech-1.%d[%s]", n, t->voice), id)
  CHECK_INT(ID(1), rc, 0);
  if (rc) {
    fprintf(stderr, "  %s: %s\n", t->voice, err);
    return;
  }
  int32_t dur = (int32_t)mira_speech_duration_ms(&s);
  CHECK_INT(ID(2), s.sample_rate, 22050);
  CHECK(ID(3), rms(&s) > MIN_RMS);
  CHECK(ID(4), s.nphonemes > 0 && abs(s.phonemes[s.nphonemes - 1].end_ms - dur) <= TIMING_SLACK_MS);
  int bad, gap = timeline_gap(&s, &bad);
  CHECK_INT(ID(5), bad, 0);
  CHECK(ID(6), gap < MAX_GAP_MS);
  size_t ntok = 1;
  for (const char *p = t->tokens; *p; p++) ntok += *p == '|';
  CHECK_INT(ID(7), s.nwords, ntok);
  CHECK_INT(ID(8), words_bad(&s, strlen(t->text)), 0);
  check_word_texts(ID(9), &s, t->text, t->tokens);
  CHECK(ID(10), sounding_phonemes(&s) >= ntok);
  CHECK(ID(11), s.nphonemes && s.phonemes[0].start_ms == 0 &&
                    s.phonemes[s.nphonemes - 1].end_ms == dur); /* exact ends, gaps aside */
#undef ID
  mira_speech_free(&s);
}

static void test_voices(void) {
  for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) test_voice(&samples[i]);
}

/* ---- speech-2: the engine expands numbers ---- */

static void test_numbers(void) {
  mira_speech a, b;
  const char *text = "I have 42 apples";
  CHECK_INT("speech-2.1", say("en-us", "I have apples", &a), 0);
  CHECK_INT("speech-2.2", say("en-us", text, &b), 0);
  /* "forty-two" is at least five more phonemes than nothing */
  CHECK("speech-2.3", sounding_phonemes(&b) >= sounding_phonemes(&a) + 5);
  CHECK("speech-2.4", mira_speech_duration_ms(&b) > mira_speech_duration_ms(&a) + 300);
  check_word_texts("speech-2.5", &b, text, "I|have|42|apples"); /* one word, not two */
  mira_speech_free(&a);
  mira_speech_free(&b);
}

/* ---- speech-3: breaks and markup ---- */

/* The run of near-silence around ms in s: its start and length in ms. */
static int32_t silence_around(const mira_speech *s, int32_t ms, int32_t *at_ms) {
  size_t a = (size_t)ms * 22050 / 1000, b = a;
  if (a >= s->samples || abs(s->pcm[a]) > SILENCE) return *at_ms = ms, 0;
  while (a > 0 && abs(s->pcm[a - 1]) <= SILENCE) a--;
  while (b < s->samples && abs(s->pcm[b]) <= SILENCE) b++;
  *at_ms = (int32_t)(a * 1000 / 22050);
  return (int32_t)((b - a) * 1000 / 22050);
}

/* A pause phoneme covering [from, to] exists. */
static int has_pause(const mira_speech *s, int32_t from, int32_t to) {
  for (size_t i = 0; i < s->nphonemes; i++)
    if (!strcmp(s->phonemes[i].name, "_") && s->phonemes[i].start_ms <= from &&
        s->phonemes[i].end_ms >= to)
      return 1;
  return 0;
}

/* text says "Hello there." and "How are you today?" with breaks adding up to
 * want_ms between them: that much silence, there, as a pause phoneme, and
 * the words still point into text. */
static void check_break(const char *id, const char *text, int want_ms) {
  mira_speech t;
  char sub[32];
  int32_t at, len;
  snprintf(sub, sizeof sub, "%s.1", id);
  CHECK_INT(sub, say("en-us", text, &t), 0);
  if (t.nwords < 3) return;
  len = silence_around(&t, (t.words[1].end_ms + t.words[2].start_ms) / 2, &at);
  snprintf(sub, sizeof sub, "%s.2", id);
  CHECK(sub, abs(len - want_ms) <= BREAK_SLACK_MS);
  if (abs(len - want_ms) > BREAK_SLACK_MS) fprintf(stderr, "  silence %d ms\n", len);
  snprintf(sub, sizeof sub, "%s.3", id);
  check_word_texts(sub, &t, text, "Hello|there|How|are|you|today");
  snprintf(sub, sizeof sub, "%s.4", id);
  CHECK(sub, t.nwords == 6 && t.words[1].end_ms <= at + BREAK_SLACK_MS &&
                 t.words[2].start_ms >= at + len - BREAK_SLACK_MS);
  snprintf(sub, sizeof sub, "%s.5", id);
  CHECK(sub, has_pause(&t, at + BREAK_SLACK_MS, at + len - BREAK_SLACK_MS));
  int bad, g = timeline_gap(&t, &bad);
  snprintf(sub, sizeof sub, "%s.6", id);
  CHECK(sub, bad == 0 && g < MAX_GAP_MS);
  mira_speech_free(&t);
}

static void test_breaks(void) {
  check_break("speech-3.1", "Hello there.<break time=\"700ms\"/>How are you today?", 700);
  check_break("speech-3.2", "Hello there.<break time=\"1.5s\"/>How are you today?", 1500);
  check_break("speech-3.3", "Hello there.<break/>How are you today?", 500);
  check_break("speech-3.4", "Hello there.<BREAK time='250ms' strength=\"x\" />How are you today?", 250);
  check_break("speech-3.5", "Hello there.<break time=\"0.2s\"/><break time=\"100ms\"/> How are you today?", 300);
  check_break("speech-3.16", "Hello there <break time=\"700ms\"/> How are you today?", 700);

  mira_speech s;
  const char *text = "Hello <emphasis level=\"strong\">big</emphasis> world";
  CHECK_INT("speech-3.6", say("en-us", text, &s), 0);
  check_word_texts("speech-3.7", &s, text, "Hello|big|world");
  mira_speech_free(&s);

  CHECK_INT("speech-3.8", say("en-us", "<break time=\"400ms\"/>Hi", &s), 0);
  CHECK("speech-3.9", has_pause(&s, 0, 400));
  CHECK_INT("speech-3.10", max_abs(s.pcm, 400 * 22050 / 1000), 0);
  mira_speech_free(&s);

  CHECK_INT("speech-3.11", say("en-us", "Hi<break time=\"400ms\"/>", &s), 0);
  int32_t dur = (int32_t)mira_speech_duration_ms(&s), at, len = silence_around(&s, dur - 1, &at);
  CHECK("speech-3.12", has_pause(&s, dur - 400, dur));
  CHECK("speech-3.13", abs(len - 400) <= BREAK_SLACK_MS && abs(at + len - dur) <= 1);
  mira_speech_free(&s);

  /* "3 < 5" is text, not a tag: the bracket is dropped, the numbers stay. */
  text = "3 < 5 and 7 > 2";
  CHECK_INT("speech-3.14", say("en-us", text, &s), 0);
  check_word_texts("speech-3.15", &s, text, "3|5|and|7|2");
  mira_speech_free(&s);
}

/* ---- speech-4: errors ---- */

static void check_fails(const char *id, const char *name, const char *text, const char *msg) {
  mira_speech s;
  char sub[32];
  memset(&s, 0x5a, sizeof s);
  int rc = say(name, text, &s);
  snprintf(sub, sizeof sub, "%s.1", id);
  CHECK_INT(sub, rc, MIRA_EINVAL);
  snprintf(sub, sizeof sub, "%s.2", id);
  CHECK(sub, s.pcm == NULL && s.samples == 0 && s.phonemes == NULL && s.words == NULL);
  snprintf(sub, sizeof sub, "%s.3", id);
  if (msg) CHECK_STR(sub, err, msg);
}

static char *repeat_pad(const char *head, size_t spaces) {
  size_t n = strlen(head);
  char *s = malloc(n + spaces + 1);
  memcpy(s, head, n);
  memset(s + n, ' ', spaces);
  s[n + spaces] = 0;
  return s;
}

static void test_errors(void) {
  check_fails("speech-4.1", "en-us", "", "text is empty");
  check_fails("speech-4.2", "en-us", "  \n\t ", "text is empty");
  check_fails("speech-4.3", "en-us", "<break time=\"1s\"/> <p></p>", "text is empty");
  char *t = repeat_pad("Hé", 4999); /* 5001 characters */
  check_fails("speech-4.4", "en-us", t, "text is 5001 characters; the limit is 5000");
  free(t);
  mira_speech s;
  t = repeat_pad("Hé", 4998); /* 5000 characters, 5001 bytes */
  CHECK_INT("speech-4.5", say("en-us", t, &s), 0);
  mira_speech_free(&s);
  free(t);
  check_fails("speech-4.6", "en-us", "ok \xff", "text is not valid UTF-8 (byte 3)");
  check_fails("speech-4.7", "en-us", "\xc0\xaf", NULL);         /* overlong '/' */
  check_fails("speech-4.8", "en-us", "abc\xe2\x82", NULL);      /* truncated */
  check_fails("speech-4.9", "en-us", "\xed\xa0\x80", NULL);     /* surrogate */
  check_fails("speech-4.10", "en-us", "\xf4\x90\x80\x80", NULL); /* past U+10FFFF */
  check_fails("speech-4.11", "xx-nope", "Hello", "unknown espeak-ng voice 'xx-nope'");
  check_fails("speech-4.12", "en-us+nope", "Hello", "unknown espeak-ng voice 'en-us+nope'");
  check_fails("speech-4.13", "../../../etc/passwd", "Hello", NULL);
  check_fails("speech-4.14", "en-us", "a<break time=\"abc\"/>b",
              "bad break time 'abc' (want e.g. 500ms or 1.5s)");
  check_fails("speech-4.15", "en-us", "a<break time=\"11s\"/>b",
              "break time '11s' is over the 10 s limit");
  check_fails("speech-4.16", "en-us", "a<break time=\"5 ms\"/>b", NULL);
  check_fails("speech-4.17", "en-us", "a<break time=500ms/>b", NULL);

  mira_tts_voice v = voice("en-us", 500);
  CHECK_INT("speech-4.18", mira_speech_synth(&v, "Hi", &s, err, sizeof err), MIRA_EINVAL);
  CHECK_STR("speech-4.19", err, "rate 500 is outside 80..450");
  v = voice("en-us", 0);
  v.engine = "nope";
  CHECK_INT("speech-4.20", mira_speech_synth(&v, "Hi", &s, err, sizeof err), MIRA_EINVAL);
  CHECK_STR("speech-4.21", err, "unknown speech engine 'nope'");
  v = voice("en-us", 0);
  CHECK_INT("speech-4.22", mira_speech_synth(&v, NULL, &s, err, sizeof err), MIRA_EINVAL);
}

/* ---- speech-5: prosody ---- */

static int synth_v(mira_tts_voice v, const char *text, mira_speech *s) {
  return mira_speech_synth(&v, text, s, err, sizeof err);
}

static void test_params(void) {
  const char *text = "Parameters change how the same words sound.";
  mira_speech fast, slow, def, lo, hi, quiet, loud, f3, n13, again;
  mira_tts_voice v = voice("en-us", 0);
  int rc = synth_v(voice("en-us", 300), text, &fast) | synth_v(voice("en-us", 120), text, &slow) |
           synth_v(v, text, &def);
  CHECK_INT("speech-5.1", rc, 0);
  CHECK("speech-5.2", mira_speech_duration_ms(&fast) < mira_speech_duration_ms(&slow) * 7 / 10);
  CHECK("speech-5.3", mira_speech_duration_ms(&fast) < mira_speech_duration_ms(&def) &&
                          mira_speech_duration_ms(&def) < mira_speech_duration_ms(&slow));
  v.pitch = 20;
  rc = synth_v(v, text, &lo);
  v.pitch = 80;
  rc |= synth_v(v, text, &hi);
  v = voice("en-us", 0);
  v.volume = 50;
  rc |= synth_v(v, text, &quiet);
  v.volume = 150;
  rc |= synth_v(v, text, &loud);
  rc |= synth_v(voice("en-us+f3", 0), text, &f3) | synth_v(voice("en-us+13", 0), text, &n13);
  CHECK_INT("speech-5.4", rc, 0);
  double f_lo = median_f0(&lo), f_def = median_f0(&def), f_hi = median_f0(&hi);
  CHECK("speech-5.5", f_lo * 1.1 < f_def && f_def * 1.1 < f_hi);
  CHECK("speech-5.6", rms(&quiet) * 2 < rms(&loud));
  CHECK("speech-5.7", median_f0(&f3) > f_def * 1.3); /* f3 is a female variant */
  CHECK("speech-5.8", same_speech(&f3, &n13));       /* +13 is espeak-ng's number for f3 */
  /* Nothing leaks from the calls above into a default one. */
  CHECK_INT("speech-5.9", synth_v(voice("en-us", 0), text, &again), 0);
  CHECK("speech-5.10", same_speech(&again, &def));
  mira_speech *all[] = {&fast, &slow, &def, &lo, &hi, &quiet, &loud, &f3, &n13, &again};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) mira_speech_free(all[i]);
}

/* ---- speech-6: threads ---- */

typedef struct job {
  mira_tts_voice v;
  const char *text;
  mira_speech ref;
  int mismatches, failures;
} job;

static void *run_job(void *arg) {
  job *j = arg;
  char e[256];
  for (int r = 0; r < THREAD_ROUNDS; r++) {
    mira_speech s;
    if (mira_speech_synth(&j->v, j->text, &s, e, sizeof e)) j->failures++;
    else j->mismatches += !same_speech(&s, &j->ref);
    mira_speech_free(&s);
  }
  return NULL;
}

static void test_concurrency(void) {
  static const struct { const char *voice, *text; int rate, pitch; } specs[THREADS] = {
      {"en-us", "One thread speaks English here.", 0, -1},
      {"de", "Zwei Fäden sprechen Deutsch.", 200, -1},
      {"fr-fr", "Trois fils parlent français.", 0, 70},
      {"es", "Cuatro hilos hablan español.", 140, -1},
      {"it", "Cinque fili parlano italiano.", 0, 30},
      {"en-us+f3", "Six threads, <break time=\"200ms\"/> one pause.", 250, -1},
      {"ru", "Семь потоков говорят по-русски.", 0, -1},
      {"pl", "Osiem wątków mówi po polsku.", 300, 90},
  };
  job jobs[THREADS];
  pthread_t th[THREADS];
  int rc = 0;
  for (int i = 0; i < THREADS; i++) {
    jobs[i] = (job){.v = voice(specs[i].voice, specs[i].rate), .text = specs[i].text};
    jobs[i].v.pitch = specs[i].pitch;
    rc |= mira_speech_synth(&jobs[i].v, jobs[i].text, &jobs[i].ref, err, sizeof err);
  }
  CHECK_INT("speech-6.1", rc, 0);
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, run_job, &jobs[i]);
  int mismatches = 0, failures = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    mismatches += jobs[i].mismatches;
    failures += jobs[i].failures;
    mira_speech_free(&jobs[i].ref);
  }
  CHECK_INT("speech-6.2", failures, 0);
  CHECK_INT("speech-6.3", mismatches, 0);
}

/* ---- speech-7: against the espeak-ng command line ---- */

static uint32_t le32(const unsigned char *p) {
  return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The 16-bit mono samples of a WAV file (malloc'd) and its rate, or NULL.
 * Walks the RIFF chunks rather than trusting a 44-byte header. */
static int16_t *wav_read(const char *path, size_t *n, uint32_t *rate) {
  FILE *f = fopen(path, "rb");
  long size = f && !fseek(f, 0, SEEK_END) ? ftell(f) : -1;
  unsigned char *buf = size > 12 ? malloc((size_t)size) : NULL;
  int ok = buf && !fseek(f, 0, SEEK_SET) && fread(buf, 1, (size_t)size, f) == (size_t)size;
  int16_t *pcm = NULL;
  if (f) fclose(f);
  *n = 0;
  *rate = 0;
  if (!ok || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4)) goto done;
  for (size_t at = 12; at + 8 <= (size_t)size;) {
    size_t len = le32(buf + at + 4), left = (size_t)size - at - 8;
    if (!memcmp(buf + at, "fmt ", 4) && len >= 16 && left >= 16) {
      *rate = le32(buf + at + 12);
      int format = buf[at + 8] | buf[at + 9] << 8, channels = buf[at + 10] | buf[at + 11] << 8;
      if (format != 1 || channels != 1 || (buf[at + 22] | buf[at + 23] << 8) != 16) break;
    } else if (!memcmp(buf + at, "data", 4) && *rate) {
      *n = (len < left ? len : left) / 2; /* a streamed header may say 0x7fffffff */
      pcm = malloc(*n * 2 + 1);
      if (pcm) memcpy(pcm, buf + at + 8, *n * 2);
      break;
    }
    at += 8 + len + (len & 1);
  }
done:
  free(buf);
  return pcm;
}

/* Runs `espeak-ng -v voice -w wav text`; returns its exit status or -1. */
static int run_cli(const char *voice_name, const char *text, const char *wav) {
  char *argv[] = {"espeak-ng", "-v", (char *)voice_name, "-w", (char *)wav, (char *)text, NULL};
  pid_t pid;
  int st;
  if (posix_spawnp(&pid, "espeak-ng", NULL, NULL, argv, environ)) return -1;
  if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

/* main runs this group first: on an engine that has synthesised nothing yet,
 * the first text must come out sample for sample as the CLI's. Later ones
 * only match in length (espeak.c: output depends on earlier calls). */
static void test_cli(void) {
  static const sample cases[] = {
      {"en-us", "The quick brown fox jumps over the lazy dog. It was not amused.", NULL},
      {"de", "Der schnelle braune Fuchs springt über den faulen Hund.", NULL},
      {"fr", "Le petit chat dort sur le canapé rouge.", NULL},
  };
  char wav[] = "/tmp/mira-speech-XXXXXX";
  int fd = mkstemp(wav);
  CHECK("speech-7.1", fd >= 0);
  if (fd < 0) return;
  close(fd);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    mira_speech s;
    if (run_cli(cases[i].voice, cases[i].text, wav) != 0) {
      printf("speech-7: espeak-ng CLI not runnable, comparison skipped\n");
      break;
    }
    size_t n;
    uint32_t rate;
    int16_t *pcm = wav_read(wav, &n, &rate);
    long ref = rate ? (long)(n * 1000 / rate) : -1;
    CHECK("speech-7.2", pcm && rate == 22050 && ref > 0);
    CHECK_INT("speech-7.3", say(cases[i].voice, cases[i].text, &s), 0);
    long ours = (long)mira_speech_duration_ms(&s);
    CHECK("speech-7.4", labs(ours - ref) * 20 <= ref); /* within 5% */
    if (labs(ours - ref) * 20 > ref)
      fprintf(stderr, "  %s: ours %ld ms, espeak-ng CLI %ld ms\n", cases[i].voice, ours, ref);
    if (i == 0) CHECK("speech-7.5", pcm && n == s.samples && !memcmp(pcm, s.pcm, n * 2));
    free(pcm);
    mira_speech_free(&s);
  }
  unlink(wav);
}

/* ---- speech-8: voice list ---- */

typedef struct listing {
  int n, bad_synth, stop_after;
  int en_us_ok, fr_ok, rp_ok, pinyin_ok;
} listing;

static int on_voice(void *ud, const mira_tts_voice_info *vi) {
  listing *l = ud;
  l->n++;
  if (l->stop_after) return l->n >= l->stop_after;
  l->en_us_ok |= !strcmp(vi->name, "en-us") && !strcmp(vi->language, "en-US") &&
                 !strcmp(vi->gender, "male") && !strcmp(vi->description, "English (America)") &&
                 !strcmp(vi->engine, "espeak-ng");
  l->fr_ok |= !strcmp(vi->name, "fr") && !strcmp(vi->language, "fr-FR");
  l->rp_ok |= !strcmp(vi->name, "en-gb-x-rp") && !strcmp(vi->language, "en-GB-x-rp");
  l->pinyin_ok |= !strcmp(vi->name, "cmn-latn-pinyin") && !strcmp(vi->language, "cmn-Latn-pinyin");
  /* Every listed name is one synth accepts. */
  mira_speech s;
  char e[256];
  mira_tts_voice v = voice(vi->name, 0);
  int rc = mira_speech_synth(&v, "1 2 3", &s, e, sizeof e);
  if (rc || s.samples == 0) {
    l->bad_synth++;
    fprintf(stderr, "  voice %s: %s\n", vi->name, e);
  }
  mira_speech_free(&s);
  return 0;
}

static void test_list(void) {
  listing l = {0};
  CHECK_INT("speech-8.1", mira_tts_espeak.list_voices(on_voice, &l, err, sizeof err), 0);
  CHECK("speech-8.2", l.n > 50);
  CHECK_INT("speech-8.3", l.bad_synth, 0);
  CHECK("speech-8.4", l.en_us_ok);
  CHECK("speech-8.5", l.fr_ok);
  CHECK("speech-8.6", l.rp_ok);
  CHECK("speech-8.7", l.pinyin_ok);
  listing one = {.stop_after = 1};
  CHECK_INT("speech-8.8", mira_tts_espeak.list_voices(on_voice, &one, err, sizeof err), 1);
  CHECK_INT("speech-8.9", one.n, 1);
}

/* ---- speech-9: small API ---- */

static void test_api(void) {
  CHECK("speech-9.1", mira_tts_engine_find("espeak-ng") == &mira_tts_espeak);
  CHECK("speech-9.2", mira_tts_engine_find("flite") == &mira_tts_flite);
  CHECK("speech-9.3", mira_tts_engine_find("nope") == NULL);
  CHECK("speech-9.4", mira_tts_engine_find(NULL) == NULL);
  mira_speech s = {0};
  mira_speech_free(NULL);
  mira_speech_free(&s);
  CHECK_INT("speech-9.5", mira_speech_duration_ms(&s), 0);
  CHECK_INT("speech-9.6", mira_speech_duration_ms(NULL), 0);
  CHECK_INT("speech-9.7", mira_tts_espeak.init(err, sizeof err), 0);
  CHECK_INT("speech-9.8", mira_tts_espeak.init(err, sizeof err), 0); /* again: no-op */
}

/* ---- speech-10: speed, one paragraph on one core ---- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_speed(void) {
  const char *para =
      "Mira is a self-hosted media server. It keeps your videos, music and photos in one "
      "place, transcodes them for every screen in the house, and can read articles aloud "
      "with a voice of your choosing. Speech is synthesised on the server, so even a small "
      "machine can narrate a long text in a few seconds; the timeline of phonemes and words "
      "that comes with the audio drives subtitles and a simple animated mouth.";
  mira_speech s;
  double t0 = now_s();
  int rc = say("en-us", para, &s);
  double wall = now_s() - t0, audio = (double)mira_speech_duration_ms(&s) / 1000;
  CHECK_INT("speech-10.1", rc, 0);
  CHECK("speech-10.2", audio > wall); /* faster than real time even under sanitizers */
  printf("speech-perf: %zu chars, %.2f s of audio in %.3f s: %.0fx real time\n", strlen(para),
         audio, wall, audio / wall);
  mira_speech_free(&s);
}

int main(int argc, char **argv) {
  static const struct { const char *name; void (*fn)(void); } groups[] = {
      {"cli", test_cli}, /* first: speech-7.5 needs a fresh engine */
      {"api", test_api},       {"voices", test_voices},     {"numbers", test_numbers},
      {"breaks", test_breaks}, {"errors", test_errors},     {"params", test_params},
      {"list", test_list},     {"concurrency", test_concurrency}, {"speed", test_speed},
  };
  for (size_t i = 0; i < sizeof groups / sizeof *groups; i++)
    if (argc < 2 || !strcmp(argv[1], groups[i].name)) groups[i].fn();
  return CHECK_EXIT();
}
