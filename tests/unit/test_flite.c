/* Unit tests for src/engines/speech/flite.c and visemes.c.
 * Calls mira_tts_flite.synth directly (no markup layer), and flite itself
 * for reference timings, plus the flite CLI for a sample-count check. */
#include <flite.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/error.h"
#include "engines/speech/speech.h"
#include "engines/speech/visemes.h"

cst_voice *register_cmu_us_slt(const char *voxdir);
cst_voice *register_cmu_us_awb(const char *voxdir);
cst_voice *register_cmu_us_rms(const char *voxdir);
cst_voice *register_cmu_us_kal16(const char *voxdir);
cst_voice *register_cmu_us_kal(const char *voxdir);

#define FOX "The quick brown fox jumps over the lazy dog"
#define SENTENCE "Hello there, this is a short test of the speech engine."
#define NTHREADS 8

typedef struct flite_ref {
  const char *name;
  cst_voice *(*reg)(const char *);
  int diphone; /* diphone waves end mid-way through the final pause */
} flite_ref;

static const flite_ref refs[] = {
    {"slt", register_cmu_us_slt, 0},   {"awb", register_cmu_us_awb, 0},
    {"rms", register_cmu_us_rms, 0},   {"kal16", register_cmu_us_kal16, 1},
    {"kal", register_cmu_us_kal, 1},
};
#define NREFS (sizeof refs / sizeof refs[0])

static mira_tts_voice voice(const char *name) {
  return (mira_tts_voice){.engine = "flite", .name = name, .rate = 0, .pitch = -1, .range = -1,
                          .volume = -1};
}

static void release(mira_speech *s) {
  free(s->pcm);
  free(s->phonemes);
  free(s->words);
  memset(s, 0, sizeof *s);
}

static int synth(const mira_tts_voice *v, const char *text, mira_speech *s) {
  char err[256] = "";
  memset(s, 0, sizeof *s);
  int rc = mira_tts_flite.synth(v, text, s, err, sizeof err);
  if (rc)
    fprintf(stderr, "synth(%s, \"%s\"): %d %s\n", v->name, text, rc, err);
  return rc;
}

static int64_t dur_ms(const mira_speech *s) {
  return s->sample_rate ? (int64_t)s->samples * 1000 / s->sample_rate : 0;
}

static double rms(const mira_speech *s) {
  double acc = 0;
  for (size_t i = 0; i < s->samples; i++)
    acc += (double)s->pcm[i] * s->pcm[i];
  return s->samples ? sqrt(acc / s->samples) : 0;
}

/* ---- 1: init, voices, errors ---- */

typedef struct seen {
  int n, slt_female, awb_gb, all_flite;
  char names[128];
} seen;

static int on_voice(void *ud, const mira_tts_voice_info *v) {
  seen *s = ud;
  s->n++;
  s->all_flite += strcmp(v->engine, "flite") == 0;
  if (!strcmp(v->name, "slt"))
    s->slt_female = !strcmp(v->gender, "female") && !strcmp(v->language, "en-US");
  if (!strcmp(v->name, "awb"))
    s->awb_gb = !strncmp(v->language, "en-GB", 5) && !strcmp(v->gender, "male");
  strcat(s->names, v->name);
  strcat(s->names, " ");
  return 0;
}

static void test_init_and_voices(void) {
  char err[256] = "";
  seen s = {0};
  CHECK_INT("flite-1.1", mira_tts_flite.init(err, sizeof err), 0);
  CHECK_INT("flite-1.2", mira_tts_flite.init(err, sizeof err), 0); /* again: no-op */
  CHECK_STR("flite-1.3", mira_tts_flite.name, "flite");
  CHECK_INT("flite-1.4", mira_tts_flite.list_voices(on_voice, &s, err, sizeof err), 0);
  CHECK_INT("flite-1.5", s.n, 5);
  CHECK_INT("flite-1.6", s.all_flite, s.n);
  CHECK_STR("flite-1.7", s.names, "slt awb rms kal16 kal ");
  CHECK("flite-1.8", s.slt_female);
  CHECK("flite-1.9", s.awb_gb);
}

static void test_errors(void) {
  char err[256] = "";
  mira_speech s = {0};
  mira_tts_voice v = voice("xx");
  CHECK_INT("flite-1.10", mira_tts_flite.synth(&v, "hi", &s, err, sizeof err), MIRA_EINVAL);
  CHECK_STR("flite-1.11", err, "unknown flite voice 'xx' (installed: slt, awb, rms, kal16, kal)");
  CHECK("flite-1.12", s.pcm == NULL && s.phonemes == NULL && s.words == NULL);
  v = voice("slt");
  v.rate = 500;
  CHECK_INT("flite-1.13", mira_tts_flite.synth(&v, "hi", &s, err, sizeof err), MIRA_EINVAL);
  CHECK_STR("flite-1.14", err, "rate 500 out of range 80..450");
  v = voice("slt");
  v.pitch = 101;
  CHECK_INT("flite-1.15", mira_tts_flite.synth(&v, "hi", &s, err, sizeof err), MIRA_EINVAL);
  CHECK_STR("flite-1.16", err, "pitch 101 out of range 0..100");
  v = voice("slt");
  v.volume = 201;
  CHECK_INT("flite-1.17", mira_tts_flite.synth(&v, "hi", &s, err, sizeof err), MIRA_EINVAL);
  v = voice("slt");
  CHECK_INT("flite-1.18", mira_tts_flite.synth(&v, "", &s, err, sizeof err), MIRA_EINVAL);
  v.name = NULL;
  CHECK_INT("flite-1.19", mira_tts_flite.synth(&v, "hi", &s, err, sizeof err), MIRA_EINVAL);
}

/* ---- 2: every voice, timeline shape ---- */

/* Phonemes sorted, back to back from 0 to the end of the PCM. */
static int timeline_ok(const mira_speech *s) {
  if (!s->nphonemes || s->phonemes[0].start_ms != 0)
    return 0;
  for (size_t i = 0; i < s->nphonemes; i++) {
    const mira_phoneme_event *e = &s->phonemes[i];
    if (e->end_ms <= e->start_ms || (i && e->start_ms != s->phonemes[i - 1].end_ms))
      return 0;
  }
  return s->phonemes[s->nphonemes - 1].end_ms == dur_ms(s);
}

static int words_ok(const mira_speech *s) {
  for (size_t i = 0; i < s->nwords; i++) {
    const mira_word_event *w = &s->words[i];
    if (w->start_ms < 0 || w->end_ms <= w->start_ms || w->end_ms > dur_ms(s))
      return 0;
    if (i && w->start_ms < s->words[i - 1].end_ms)
      return 0;
  }
  return 1;
}

/* Our events against flite's own Segment relation: same names, same ends
 * (except the last, which we fit to the PCM), and the PCM as long as flite
 * says: the last segment's end, or for diphone voices the middle of the final
 * pause, where the last diphone (pau-pau) ends. */
static void compare_with_flite(const char *id, const flite_ref *r, const mira_speech *s) {
  cst_utterance *u = flite_synth_text(SENTENCE, r->reg(NULL));
  cst_relation *seg = utt_relation(u, "Segment");
  const cst_item *last = relation_tail(seg), *prev = item_prev(last);
  double end = item_feat_float(last, "end");
  if (r->diphone)
    end = (end + item_feat_float(prev, "end")) / 2;
  int64_t want = (int64_t)lround(end * 1000);
  if (llabs(dur_ms(s) - want) > 20)
    fprintf(stderr, "%s: %s duration %lld ms, flite says %lld\n", id, r->name,
            (long long)dur_ms(s), (long long)want);
  CHECK(id, llabs(dur_ms(s) - want) <= 20);
  size_t i = 0, bad = 0;
  for (const cst_item *it = relation_head(seg); it; it = item_next(it), i++) {
    if (i >= s->nphonemes || strcmp(s->phonemes[i].name, item_feat_string(it, "name")))
      bad++;
    else if (item_next(it) && labs(s->phonemes[i].end_ms - lround(item_feat_float(it, "end") * 1000)) > 1)
      bad++;
  }
  CHECK_INT(id, bad, 0);
  CHECK_INT(id, s->nphonemes, i);
  delete_utterance(u);
}

/* "flite-2.1 (slt)": case ids inside per-voice loops name the voice. */
static const char *vid(char buf[32], const char *id, const char *voice) {
  snprintf(buf, 32, "%s (%s)", id, voice);
  return buf;
}

static void test_every_voice(void) {
  char b[32];
  for (size_t i = 0; i < NREFS; i++) {
    const char *name = refs[i].name;
    mira_tts_voice v = voice(name);
    mira_speech s;
    CHECK_INT(vid(b, "flite-2.1", name), synth(&v, SENTENCE, &s), 0);
    if (!s.nphonemes)
      continue;
    CHECK_INT(vid(b, "flite-2.2", name), s.sample_rate, strcmp(name, "kal") ? 16000 : 8000);
    CHECK(vid(b, "flite-2.3", name), dur_ms(&s) > 2000 && dur_ms(&s) < 6000);
    CHECK(vid(b, "flite-2.4", name), rms(&s) > 500); /* speech, not near-silence */
    CHECK(vid(b, "flite-2.5", name), timeline_ok(&s));
    CHECK_STR(vid(b, "flite-2.6", name), s.phonemes[0].name, "pau");
    CHECK_STR(vid(b, "flite-2.7", name), s.phonemes[s.nphonemes - 1].name, "pau");
    CHECK(vid(b, "flite-2.8", name), words_ok(&s));
    CHECK_INT(vid(b, "flite-2.9", name), s.nwords, 11);
    compare_with_flite(vid(b, "flite-2.10", name), &refs[i], &s);
    release(&s);
  }
}

/* ---- 3: words and text offsets ---- */

static void check_word(const char *id, const char *text, const mira_word_event *w,
                       const char *want) {
  char got[64];
  snprintf(got, sizeof got, "%.*s", (int)w->text_len, text + w->text_offset);
  CHECK_STR(id, got, want);
}

static void test_words(void) {
  static const char *const fox[] = {"The", "quick", "brown", "fox", "jumps",
                                    "over", "the", "lazy", "dog"};
  mira_tts_voice v = voice("slt");
  mira_speech s;
  CHECK_INT("flite-3.1", synth(&v, FOX, &s), 0);
  CHECK_INT("flite-3.2", s.nwords, 9);
  for (size_t i = 0; i < s.nwords && i < 9; i++)
    check_word("flite-3.3", FOX, &s.words[i], fox[i]);
  CHECK_INT("flite-3.4", s.words[6].text_offset, 31); /* the second "the", not the first */
  CHECK("flite-3.5", words_ok(&s));
  release(&s);

  /* "42" is read "forty two": two word events, both pointing at "42". */
  const char *apples = "I have 42 apples";
  CHECK_INT("flite-3.6", synth(&v, apples, &s), 0);
  CHECK_INT("flite-3.7", s.nwords, 5);
  if (s.nwords == 5) {
    check_word("flite-3.8", apples, &s.words[0], "I");
    check_word("flite-3.9", apples, &s.words[2], "42");
    check_word("flite-3.10", apples, &s.words[3], "42");
    check_word("flite-3.11", apples, &s.words[4], "apples");
    CHECK("flite-3.12", s.words[3].start_ms >= s.words[2].end_ms);
  }
  CHECK("flite-3.13", timeline_ok(&s) && words_ok(&s));
  release(&s);

  /* Punctuation and case differences still find the token. */
  const char *punct = "\"Well,\" she said -- DR. Smith's cat!";
  CHECK_INT("flite-3.14", synth(&v, punct, &s), 0);
  CHECK("flite-3.15", s.nwords >= 5);
  if (s.nwords >= 5) {
    check_word("flite-3.16", punct, &s.words[0], "Well");
    check_word("flite-3.17", punct, &s.words[s.nwords - 1], "cat");
  }
  release(&s);
}

/* ---- 4: prosody ---- */

/* F0 in Hz of each loud 40 ms frame, by autocorrelation (60..400 Hz),
 * sorted; returns how many. */
static size_t f0_frames(const mira_speech *s, double *f0s, size_t max) {
  int frame = s->sample_rate / 25, lo = s->sample_rate / 400, hi = s->sample_rate / 60;
  double loud = rms(s);
  size_t n = 0;
  for (size_t at = 0; at + frame + hi < s->samples && n < max; at += frame / 2) {
    const int16_t *x = s->pcm + at;
    double e = 0, best = 0;
    int lag = 0;
    for (int i = 0; i < frame; i++)
      e += (double)x[i] * x[i];
    if (sqrt(e / frame) < loud)
      continue; /* quiet or unvoiced */
    double c[1024];
    for (int l = lo; l <= hi && l < 1024; l++) {
      c[l] = 0;
      for (int i = 0; i < frame; i++)
        c[l] += (double)x[i] * x[i + l];
      best = c[l] > best ? c[l] : best;
    }
    /* The first peak near the best, not the best: multiples of the period
     * score almost as well and would halve the estimate. */
    for (int l = lo + 1; l < hi && l < 1023 && !lag; l++)
      if (c[l] >= 0.85 * best && c[l] >= c[l - 1] && c[l] >= c[l + 1])
        lag = l;
    if (lag && best > 0.5 * e)
      f0s[n++] = (double)s->sample_rate / lag;
  }
  for (size_t i = 1; i < n; i++) /* insertion sort: n is small */
    for (size_t j = i; j && f0s[j - 1] > f0s[j]; j--) {
      double t = f0s[j];
      f0s[j] = f0s[j - 1], f0s[j - 1] = t;
    }
  return n;
}

static double median_f0(const mira_speech *s) {
  double f0s[4096];
  size_t n = f0_frames(s, f0s, 4096);
  return n ? f0s[n / 2] : 0;
}

/* 90th over 10th percentile F0: how much the intonation moves. */
static double f0_spread(const char *name, int range) {
  double f0s[4096];
  mira_tts_voice v = voice(name);
  mira_speech s;
  v.range = range;
  size_t n = synth(&v, SENTENCE, &s) ? 0 : f0_frames(&s, f0s, 4096);
  release(&s);
  return n > 10 ? f0s[n * 9 / 10] / f0s[n / 10] : 0;
}

static int64_t duration_at_rate(const char *name, int rate) {
  mira_tts_voice v = voice(name);
  mira_speech s;
  v.rate = rate;
  int64_t d = synth(&v, FOX, &s) ? -1 : dur_ms(&s);
  release(&s);
  return d;
}

static double f0_at_pitch(const char *name, int pitch) {
  mira_tts_voice v = voice(name);
  mira_speech s;
  v.pitch = pitch;
  double f0 = synth(&v, FOX, &s) ? 0 : median_f0(&s);
  release(&s);
  return f0;
}

static void test_rate_and_pitch(void) {
  char b[32];
  for (size_t i = 0; i < NREFS; i++) {
    const char *name = refs[i].name;
    int64_t fast = duration_at_rate(name, 300), slow = duration_at_rate(name, 120);
    int64_t normal = duration_at_rate(name, 175);
    CHECK(vid(b, "flite-4.1", name), fast > 0 && fast < normal && normal < slow);
    CHECK(vid(b, "flite-4.2", name), slow > 2 * fast); /* 300/120 = 2.5 */
    double low = f0_at_pitch(name, 10), mid = f0_at_pitch(name, -1), high = f0_at_pitch(name, 90);
    printf("flite-4.3: %s f0 %.0f / %.0f / %.0f Hz at pitch 10 / 50 / 90\n", name, low, mid,
           high);
    CHECK(vid(b, "flite-4.3", name), low > 0 && low < mid * 0.9 && high > mid * 1.1);
  }
  /* Range widens the intonation: the F0-tree voices and the SPAM one (rms). */
  for (size_t i = 0; i < 3; i++) {
    const char *name = refs[i].name;
    double flat = f0_spread(name, 0), wide = f0_spread(name, 100);
    printf("flite-4.4: %s F0 p90/p10 %.2f at range 0, %.2f at 100\n", name, flat, wide);
    CHECK(vid(b, "flite-4.4", name), flat > 0 && wide > flat * 1.1);
  }
  /* The female voice sits above the male ones. */
  CHECK("flite-4.5", f0_at_pitch("slt", -1) > 1.3 * f0_at_pitch("rms", -1));
}

static void test_volume(void) {
  mira_tts_voice v = voice("slt");
  mira_speech full, half, loud;
  CHECK_INT("flite-4.6", synth(&v, FOX, &full), 0);
  v.volume = 50;
  CHECK_INT("flite-4.7", synth(&v, FOX, &half), 0);
  v.volume = 200;
  CHECK_INT("flite-4.8", synth(&v, FOX, &loud), 0);
  CHECK_INT("flite-4.9", half.samples, full.samples);
  size_t off = 0, clipped = 0;
  for (size_t i = 0; i < full.samples && i < half.samples; i++) {
    off += abs(half.pcm[i] - full.pcm[i] / 2) > 1;
    clipped += loud.pcm[i] == 32767 || loud.pcm[i] == -32768;
  }
  CHECK_INT("flite-4.10", off, 0);
  CHECK("flite-4.11", rms(&loud) > 1.5 * rms(&full)); /* louder, clipped not wrapped */
  printf("flite-4.11: volume 200 clips %zu of %zu samples\n", clipped, loud.samples);
  release(&full), release(&half), release(&loud);
}

/* ---- 5: threads ---- */

typedef struct job {
  mira_tts_voice v;
  const char *text;
  mira_speech want;
  int mismatches;
} job;

static int same(const mira_speech *a, const mira_speech *b) {
  return a->samples == b->samples && a->nphonemes == b->nphonemes && a->nwords == b->nwords &&
         !memcmp(a->pcm, b->pcm, a->samples * sizeof *a->pcm) &&
         !memcmp(a->phonemes, b->phonemes, a->nphonemes * sizeof *a->phonemes) &&
         !memcmp(a->words, b->words, a->nwords * sizeof *a->words);
}

static void *run_job(void *arg) {
  job *j = arg;
  for (int round = 0; round < 3; round++) {
    mira_speech s;
    j->mismatches += synth(&j->v, j->text, &s) || !same(&s, &j->want);
    release(&s);
  }
  return NULL;
}

/* flite's vocoder noise comes from our per-thread generator, so the
 * process-wide rand() sequence is left alone by synthesis and srand() still
 * works for everyone else. */
static void test_rand_untouched(void) {
  mira_tts_voice v = voice("slt");
  mira_speech s;
  srand(7);
  int a = rand(), b = rand();
  srand(7);
  CHECK_INT("flite-5.4", synth(&v, "Noise is drawn from rand.", &s), 0);
  CHECK_INT("flite-5.5", rand(), a);
  CHECK_INT("flite-5.6", rand(), b);
  release(&s);
}

/* Each thread has its own voice and prosody, and two share each voice, so
 * both the shared voice objects and flite's globals are exercised. */
static void test_threads(void) {
  static const char *const texts[] = {FOX, SENTENCE, "I have 42 apples.", "One, two, three."};
  job jobs[NTHREADS];
  pthread_t th[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    jobs[i] = (job){.v = voice(refs[i % NREFS].name), .text = texts[i % 4]};
    jobs[i].v.rate = 140 + 20 * i;
    jobs[i].v.pitch = 10 * i;
    jobs[i].v.volume = 60 + 10 * i;
    CHECK_INT("flite-5.1", synth(&jobs[i].v, jobs[i].text, &jobs[i].want), 0);
  }
  for (int i = 0; i < NTHREADS; i++)
    CHECK_INT("flite-5.2", pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
  for (int i = 0; i < NTHREADS; i++) {
    pthread_join(th[i], NULL);
    CHECK_INT("flite-5.3", jobs[i].mismatches, 0);
    release(&jobs[i].want);
  }
}

/* ---- 6: the flite CLI as reference ---- */

/* A 16-bit mono PCM WAV file's samples (little-endian host assumed, as
 * flite writes); returns the count, or -1 if the file is not one. */
static long read_wav(const char *path, int *rate, int16_t **pcm) {
  unsigned char h[12], c[8], fmt[16];
  long n = -1;
  FILE *f = fopen(path, "rb");
  *pcm = NULL;
  if (!f || fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4))
    goto out;
  while (fread(c, 1, 8, f) == 8) {
    uint32_t size = c[4] | c[5] << 8 | c[6] << 16 | (uint32_t)c[7] << 24;
    if (!memcmp(c, "fmt ", 4)) {
      if (size < 16 || fread(fmt, 1, 16, f) != 16 || fmt[2] != 1 || fmt[14] != 16)
        goto out; /* not mono, or not 16-bit */
      *rate = fmt[4] | fmt[5] << 8 | fmt[6] << 16 | fmt[7] << 24;
      fseek(f, (long)size - 16, SEEK_CUR);
    } else if (!memcmp(c, "data", 4)) {
      *pcm = malloc(size ? size : 1);
      if (*pcm && fread(*pcm, 1, size, f) == size)
        n = (long)size / 2;
      break;
    } else {
      fseek(f, (long)size, SEEK_CUR);
    }
  }
out:
  if (f)
    fclose(f);
  return n;
}

/* The CLI synthesises the same text in a fresh process. Sample counts must
 * agree within 1%; in fact the PCM is identical, since our per-utterance
 * noise generator starts where a fresh process's rand() does. */
static void test_cli_reference(void) {
  if (system("command -v flite >/dev/null 2>&1") != 0) {
    printf("flite-6: skipped, no flite CLI (Debian package flite)\n");
    return;
  }
  char dir[] = "/tmp/mira-flite-XXXXXX", path[64], cmd[512];
  CHECK("flite-6.1", mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/out.wav", dir);
  for (size_t i = 0; i < NREFS; i++) {
    snprintf(cmd, sizeof cmd, "flite -voice %s -t '%s' -o %s", refs[i].name, SENTENCE, path);
    CHECK_INT("flite-6.2", system(cmd), 0);
    int rate = 0;
    int16_t *pcm;
    long cli = read_wav(path, &rate, &pcm);
    mira_tts_voice v = voice(refs[i].name);
    mira_speech s;
    CHECK_INT("flite-6.3", synth(&v, SENTENCE, &s), 0);
    size_t differ = 0;
    for (size_t k = 0; cli > 0 && k < s.samples && k < (size_t)cli; k++)
      differ += pcm[k] != s.pcm[k];
    printf("flite-6.4: %s CLI %ld samples at %d Hz, ours %zu at %d Hz, %zu differ\n",
           refs[i].name, cli, rate, s.samples, s.sample_rate, differ);
    CHECK_INT("flite-6.4", rate, s.sample_rate);
    CHECK("flite-6.5", cli > 0 && labs(cli - (long)s.samples) <= cli / 100);
    CHECK_INT("flite-6.6", differ, 0);
    free(pcm);
    release(&s);
    remove(path);
  }
  rmdir(dir);
}

/* ---- 7: visemes ---- */

typedef struct phone_viseme {
  const char *ph;
  mira_viseme v;
} phone_viseme;

/* Every phone flite's CMU phoneset has, with the viseme VISEMES.md gives. */
static const phone_viseme cmu[] = {
    {"aa", MIRA_VISEME_AA}, {"ae", MIRA_VISEME_AA}, {"ah", MIRA_VISEME_AA},
    {"ao", MIRA_VISEME_OH}, {"aw", MIRA_VISEME_AA}, {"ax", MIRA_VISEME_E},
    {"ay", MIRA_VISEME_AA}, {"b", MIRA_VISEME_PP},  {"ch", MIRA_VISEME_CH},
    {"d", MIRA_VISEME_DD},  {"dh", MIRA_VISEME_TH}, {"eh", MIRA_VISEME_E},
    {"er", MIRA_VISEME_RR}, {"ey", MIRA_VISEME_E},  {"f", MIRA_VISEME_FF},
    {"g", MIRA_VISEME_KK},  {"hh", MIRA_VISEME_KK}, {"ih", MIRA_VISEME_IH},
    {"iy", MIRA_VISEME_IH}, {"jh", MIRA_VISEME_CH}, {"k", MIRA_VISEME_KK},
    {"l", MIRA_VISEME_NN},  {"m", MIRA_VISEME_PP},  {"n", MIRA_VISEME_NN},
    {"ng", MIRA_VISEME_KK}, {"ow", MIRA_VISEME_OH}, {"oy", MIRA_VISEME_OH},
    {"p", MIRA_VISEME_PP},  {"r", MIRA_VISEME_RR},  {"s", MIRA_VISEME_SS},
    {"sh", MIRA_VISEME_CH}, {"t", MIRA_VISEME_DD},  {"th", MIRA_VISEME_TH},
    {"uh", MIRA_VISEME_OU}, {"uw", MIRA_VISEME_OU}, {"v", MIRA_VISEME_FF},
    {"w", MIRA_VISEME_OU},  {"y", MIRA_VISEME_IH},  {"z", MIRA_VISEME_SS},
    {"zh", MIRA_VISEME_CH}, {"pau", MIRA_VISEME_SIL},
};

static void test_visemes(void) {
  for (size_t i = 0; i < sizeof cmu / sizeof cmu[0]; i++) {
    char id[32];
    snprintf(id, sizeof id, "flite-7.1 (%s)", cmu[i].ph);
    CHECK_INT(id, mira_viseme_of("flite", cmu[i].ph), cmu[i].v);
    CHECK_INT(id, mira_viseme_of(NULL, cmu[i].ph) == MIRA_VISEME_SIL, cmu[i].v == MIRA_VISEME_SIL);
  }
  const char *bilabials[] = {"p", "b", "m"};
  for (int i = 0; i < 3; i++) {
    CHECK_INT("flite-7.3", mira_viseme_of("flite", bilabials[i]), MIRA_VISEME_PP);
    CHECK_INT("flite-7.4", mira_viseme_of("espeak-ng", bilabials[i]), MIRA_VISEME_PP);
  }
  CHECK_INT("flite-7.5", mira_viseme_of("flite", "ay"), MIRA_VISEME_AA);
  CHECK_INT("flite-7.6", mira_viseme_of("flite", "dh"), MIRA_VISEME_TH);
  CHECK_INT("flite-7.7", mira_viseme_of("flite", "uw"), MIRA_VISEME_OU);
  CHECK_INT("flite-7.8", mira_viseme_of("flite", "AH0"), MIRA_VISEME_AA); /* stress digit */
  CHECK_INT("flite-7.9", mira_viseme_of("flite", "y"), MIRA_VISEME_IH);   /* glide */
  CHECK_INT("flite-7.10", mira_viseme_of("espeak-ng", "y"), MIRA_VISEME_OU); /* French /y/ */
  CHECK_INT("flite-7.11", mira_viseme_of("espeak-ng", "T"), MIRA_VISEME_TH);
  CHECK_INT("flite-7.12", mira_viseme_of("espeak-ng", "t"), MIRA_VISEME_DD);
  CHECK_INT("flite-7.13", mira_viseme_of("espeak-ng", "tS"), MIRA_VISEME_CH);
  CHECK_INT("flite-7.14", mira_viseme_of("espeak-ng", "N"), MIRA_VISEME_KK);
  CHECK_INT("flite-7.15", mira_viseme_of("espeak-ng", "'aI"), MIRA_VISEME_AA);
  CHECK_INT("flite-7.16", mira_viseme_of("espeak-ng", "u:"), MIRA_VISEME_OU);
  CHECK_INT("flite-7.17", mira_viseme_of("espeak-ng", "3:"), MIRA_VISEME_RR);
  CHECK_INT("flite-7.18", mira_viseme_of("espeak-ng", "0"), MIRA_VISEME_OH); /* not a digit */
  CHECK_INT("flite-7.19", mira_viseme_of("espeak-ng", "02"), MIRA_VISEME_OH);
  CHECK_INT("flite-7.20", mira_viseme_of("espeak-ng", "@2"), MIRA_VISEME_E);
  CHECK_INT("flite-7.21", mira_viseme_of("espeak-ng", "r."), MIRA_VISEME_RR);
  CHECK_INT("flite-7.22", mira_viseme_of("espeak-ng", "E~"), MIRA_VISEME_E); /* French nasal */
  CHECK_INT("flite-7.23", mira_viseme_of("espeak-ng", "@L"), MIRA_VISEME_NN);
  CHECK_INT("flite-7.24", mira_viseme_of("espeak-ng", "_:"), MIRA_VISEME_SIL);
  CHECK_INT("flite-7.25", mira_viseme_of("flite", "pau"), MIRA_VISEME_SIL);
  CHECK_INT("flite-7.26", mira_viseme_of(NULL, "sil"), MIRA_VISEME_SIL);
  CHECK_INT("flite-7.27", mira_viseme_of(NULL, ""), MIRA_VISEME_SIL);
  CHECK_INT("flite-7.28", mira_viseme_of(NULL, NULL), MIRA_VISEME_SIL);
  CHECK_INT("flite-7.29", mira_viseme_of(NULL, "hh"), MIRA_VISEME_KK);
  CHECK_INT("flite-7.30", mira_viseme_of(NULL, "D"), MIRA_VISEME_TH);
  CHECK_INT("flite-7.31", mira_viseme_of("espeak-ng", "\xca\x94"), MIRA_VISEME_DD); /* unknown */
  CHECK_INT("flite-7.32", mira_viseme_of("flite", "ee"), MIRA_VISEME_AA); /* unknown vowel */
  CHECK_INT("flite-7.32", mira_viseme_of("flite", "xx"), MIRA_VISEME_DD); /* unknown consonant */
  /* Mnemonics espeak-ng 1.51 prints for en, de, fr, es and ru text. */
  CHECK_INT("flite-7.33", mira_viseme_of("espeak-ng", "t#"), MIRA_VISEME_DD); /* US flap */
  CHECK_INT("flite-7.33", mira_viseme_of("espeak-ng", "pF"), MIRA_VISEME_PP);
  CHECK_INT("flite-7.33", mira_viseme_of("espeak-ng", "Y:"), MIRA_VISEME_OH);
  CHECK_INT("flite-7.33", mira_viseme_of("espeak-ng", "R2"), MIRA_VISEME_RR);
  CHECK_INT("flite-7.33", mira_viseme_of("espeak-ng", "S;"), MIRA_VISEME_CH);
  CHECK_INT("flite-7.33", mira_viseme_of("espeak-ng", ";"), MIRA_VISEME_SIL);
  CHECK_INT("flite-7.33", mira_viseme_of("espeak-ng", "_|"), MIRA_VISEME_SIL);
  CHECK_INT("flite-7.33", mira_viseme_of("espeak-ng", "n^"), MIRA_VISEME_NN);
  CHECK_STR("flite-7.34", mira_viseme_name(MIRA_VISEME_SIL), "sil");
  CHECK_STR("flite-7.35", mira_viseme_name(MIRA_VISEME_KK), "kk");
  CHECK_STR("flite-7.36", mira_viseme_name(MIRA_VISEME_OU), "ou");
  CHECK_STR("flite-7.37", mira_viseme_name(MIRA_VISEME_COUNT), "sil"); /* out of range */
  CHECK("flite-7.38", mira_viseme_openness(MIRA_VISEME_PP) == 0.0f);
  CHECK("flite-7.38", mira_viseme_openness(MIRA_VISEME_AA) == 1.0f);
  for (int v = 0; v < MIRA_VISEME_COUNT; v++)
    CHECK("flite-7.38", mira_viseme_openness(v) >= 0 && mira_viseme_openness(v) <= 1);
}

/* Every phoneme flite actually produces for a sentence maps to a viseme, and
 * the lips close on every p/b/m. */
static void test_visemes_of_speech(void) {
  mira_tts_voice v = voice("slt");
  mira_speech s;
  CHECK_INT("flite-7.39", synth(&v, "Bob met a happy puppy by the pier.", &s), 0);
  int pp = 0;
  for (size_t i = 0; i < s.nphonemes; i++) {
    mira_viseme m = mira_viseme_of("flite", s.phonemes[i].name);
    CHECK("flite-7.40", m < MIRA_VISEME_COUNT);
    CHECK("flite-7.41", (m == MIRA_VISEME_SIL) == !strcmp(s.phonemes[i].name, "pau"));
    pp += m == MIRA_VISEME_PP;
  }
  CHECK_INT("flite-7.42", pp, 8); /* Bob(2) met(1) happy(1) puppy(2) by(1) pier(1) */
  release(&s);
}

int main(void) {
  test_init_and_voices();
  test_errors();
  test_every_voice();
  test_words();
  test_rate_and_pitch();
  test_volume();
  test_threads();
  test_rand_untouched();
  test_cli_reference();
  test_visemes();
  test_visemes_of_speech();
  return CHECK_EXIT();
}
