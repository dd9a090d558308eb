/* Intelligibility of the default English voice: synthesise the reference
 * sentences in bench/sentences.txt, recognise them with PocketSphinx
 * (bench/asr.c) and score the word error rate. bench/speech does the same
 * for every English voice and festival's HTS voice.
 *
 * Cases:
 *   intel-0.x  the scorer itself (normalisation, edit distance, resampler)
 *   intel-1.1  the default English voice (first catalog entry whose language
 *              starts with "en"): WER < MAX_WER_PCT
 *   intel-1.2  the recogniser discriminates: the same audio reversed in time
 *              (same spectrum, no words) scores WER > MIN_GARBLED_WER_PCT
 *   intel-1.3  espeak-ng en-us, the formant voice, is no more intelligible
 *              than the default voice (when the default is not espeak-ng)
 *
 * Decoding runs at about 0.35x real time per core, so intel-1.1 scores all
 * 20 sentences (about 75 s of audio, 25 s of decoding) while the two sanity
 * checks use only the first CONTROL_SENTENCES; bench/speech scores every
 * voice on all of them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asr.h"
#include "check.h"
#include "engines/speech/catalog.h"
#include "engines/speech/speech.h"

enum {
  TEST_SENTENCES = 20,
  CONTROL_SENTENCES = 5,   /* for intel-1.2 and intel-1.3 */
  MAX_WER_PCT = 35,        /* the bar for the default English voice */
  MIN_GARBLED_WER_PCT = 80 /* reversed speech must not be "recognised" */
};

static char err[256];

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

typedef struct score {
  int errors, words;
  int control_errors; /* in the first CONTROL_SENTENCES */
  double audio_s, synth_s, asr_s;
} score;

static void reverse(int16_t *p, size_t n) {
  for (size_t i = 0; i < n / 2; i++) {
    int16_t t = p[i];
    p[i] = p[n - 1 - i];
    p[n - 1 - i] = t;
  }
}

/* Scores one voice over the sentences; prints each hypothesis that differs.
 * Returns 0, or -1 after a failed check. */
static int run_voice(const char *id, mira_asr *asr, const char *engine, const char *voice, char **sent, int n,
                     int garble, score *sc) {
  *sc = (score){0};
  mira_tts_voice v = {.engine = engine, .name = voice, .rate = 0, .pitch = -1, .range = -1, .volume = -1};
  for (int i = 0; i < n; i++) {
    mira_speech sp = {0};
    double t0 = now_s();
    int rc = mira_speech_synth(&v, sent[i], &sp, err, sizeof err);
    if (rc != 0) {
      fprintf(stderr, "%s: %s %s: synth \"%s\" failed: %s\n", id, engine, voice, sent[i], err);
      CHECK(id, rc == 0);
      return -1;
    }
    double t1 = now_s();
    if (garble) reverse(sp.pcm, sp.samples);
    char hyp[1024];
    rc = mira_asr_recognize(asr, sp.pcm, sp.samples, sp.sample_rate, hyp, sizeof hyp, err, sizeof err);
    double t2 = now_s();
    sc->audio_s += (double)sp.samples / sp.sample_rate;
    mira_speech_free(&sp);
    if (rc != 0) {
      fprintf(stderr, "%s: recognise failed: %s\n", id, err);
      CHECK(id, rc == 0);
      return -1;
    }
    int words, e = mira_asr_word_errors(sent[i], hyp, &words);
    sc->errors += e;
    if (i < CONTROL_SENTENCES) sc->control_errors += e;
    sc->words += words;
    sc->synth_s += t1 - t0;
    sc->asr_s += t2 - t1;
    if (e && !garble) printf("  %s %s #%d (%d/%d): ref \"%s\"\n  %*s hyp \"%s\"\n", engine, voice, i + 1, e, words,
                             sent[i], (int)(strlen(engine) + strlen(voice) + 12), "", hyp);
  }
  printf("%s: %s %s%s: WER %.1f%% (%d/%d words), %.1f s audio, synth %.2f s, recognise %.1f s\n", id, engine,
         voice, garble ? " reversed" : "", 100.0 * sc->errors / sc->words, sc->errors, sc->words, sc->audio_s,
         sc->synth_s, sc->asr_s);
  return 0;
}

static void scorer_cases(void) {
  char buf[128];
  int w;
  CHECK_INT("intel-0.1", mira_asr_normalize("Don't stop, Mary-Ann!  'Now'", buf, sizeof buf), 5);
  CHECK_STR("intel-0.1", buf, "don't stop mary ann now");
  CHECK_INT("intel-0.2", mira_asr_word_errors("The cat sat.", "the cat sat", &w), 0);
  CHECK_INT("intel-0.2", w, 3);
  CHECK_INT("intel-0.3", mira_asr_word_errors("the cat sat on the mat", "the cat sat the hat", &w), 2);
  CHECK_INT("intel-0.4", mira_asr_word_errors("a b", "x a b y z", &w), 3);
  CHECK_INT("intel-0.5", mira_asr_word_errors("a b c", "", &w), 3);

  /* 22050 Hz -> 16 kHz: length scales, a 1 kHz tone keeps its amplitude and
   * a 10 kHz tone (above the new Nyquist) is filtered out. */
  enum { N = 22050 };
  static int16_t lo[N], hi[N];
  for (int i = 0; i < N; i++) {
    lo[i] = (int16_t)(10000 * sin(2 * M_PI * 1000 * i / 22050.0));
    hi[i] = (int16_t)(10000 * sin(2 * M_PI * 10000 * i / 22050.0));
  }
  size_t n1, n2;
  int16_t *a = mira_asr_resample(lo, N, 22050, 16000, &n1), *b = mira_asr_resample(hi, N, 22050, 16000, &n2);
  CHECK("intel-0.6", a && b);
  CHECK_INT("intel-0.6", n1, 16000);
  int peak_lo = 0, peak_hi = 0;
  for (size_t i = 1000; a && b && i < n1 - 1000; i++) { /* away from the edges */
    peak_lo = abs(a[i]) > peak_lo ? abs(a[i]) : peak_lo;
    peak_hi = abs(b[i]) > peak_hi ? abs(b[i]) : peak_hi;
  }
  CHECK("intel-0.7", peak_lo > 9800 && peak_lo < 10200);
  CHECK("intel-0.8", peak_hi < 100); /* >= 40 dB down */
  if (peak_lo <= 9800 || peak_lo >= 10200 || peak_hi >= 100)
    fprintf(stderr, "intel-0.7/8: 1 kHz peak %d, 10 kHz peak %d\n", peak_lo, peak_hi);
  free(a);
  free(b);
}

int main(void) {
  scorer_cases();

  char **sent;
  int nread = mira_asr_read_lines(MIRA_BENCH_DIR "/sentences.txt", &sent, err, sizeof err);
  CHECK("intel-1.0", nread >= TEST_SENTENCES);
  if (nread < TEST_SENTENCES) {
    fprintf(stderr, "intel-1.0: %s (%d sentences)\n", err, nread);
    mira_asr_free_lines(sent, nread);
    return CHECK_EXIT();
  }
  int n = TEST_SENTENCES;

  const mira_catalog_entry *def = NULL;
  for (const mira_catalog_entry *e = mira_catalog; e->engine && !def; e++)
    if (!strncmp(e->language, "en", 2)) def = e;
  CHECK("intel-1.0", def != NULL);
  if (!def) return CHECK_EXIT();

  mira_asr *asr;
  double t0 = now_s();
  int rc = mira_asr_open(&asr, NULL, err, sizeof err);
  CHECK_INT("intel-1.0", rc, 0);
  if (rc) {
    fprintf(stderr, "intel-1.0: %s\n", err);
    mira_asr_free_lines(sent, nread);
    return CHECK_EXIT();
  }
  printf("default English voice: %s %s (%s); PocketSphinx loaded in %.2f s\n", def->engine, def->voice, def->name,
         now_s() - t0);

  score d, g, es;
  if (run_voice("intel-1.1", asr, def->engine, def->voice, sent, n, 0, &d) == 0) {
    double wer = 100.0 * d.errors / d.words;
    CHECK("intel-1.1", wer < MAX_WER_PCT);
    if (wer >= MAX_WER_PCT) fprintf(stderr, "intel-1.1: WER %.1f%% >= %d%%\n", wer, MAX_WER_PCT);
  }
  if (run_voice("intel-1.2", asr, def->engine, def->voice, sent, CONTROL_SENTENCES, 1, &g) == 0) {
    double wer = 100.0 * g.errors / g.words;
    CHECK("intel-1.2", wer > MIN_GARBLED_WER_PCT);
    if (wer <= MIN_GARBLED_WER_PCT)
      fprintf(stderr, "intel-1.2: reversed speech WER %.1f%% <= %d%%\n", wer, MIN_GARBLED_WER_PCT);
  }
  if (strcmp(def->engine, "espeak-ng") != 0 &&
      run_voice("intel-1.3", asr, "espeak-ng", "en-us", sent, CONTROL_SENTENCES, 0, &es) == 0) {
    CHECK("intel-1.3", es.errors >= d.control_errors); /* same sentences */
    if (es.errors < d.control_errors)
      fprintf(stderr, "intel-1.3: espeak-ng en-us %d errors < %s %s %d on the first %d sentences\n", es.errors,
              def->engine, def->voice, d.control_errors, CONTROL_SENTENCES);
  }
  mira_asr_close(asr);
  mira_asr_free_lines(sent, nread);
  return CHECK_EXIT();
}
