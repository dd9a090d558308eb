/* bench/speech: intelligibility and speed of Mira's English voices.
 *
 * 1. Intelligibility: every English voice (flite slt, awb, rms, kal16;
 *    espeak-ng en-us and the catalog's espeak-ng English variants) and, as
 *    a candidate third engine, festival's HTS voice cmu_us_slt_arctic_hts
 *    through its CLI (text2wave) synthesise bench/sentences.txt;
 *    PocketSphinx (asr.c) recognises each sentence; word error rate per
 *    voice. Voices are scored in parallel, one decoder per core.
 * 2. Speed, as x real time (seconds of audio per second of wall time), of
 *    mira_speech_synth on the sentences joined into one paragraph: one
 *    thread, then one thread per core (espeak-ng serialises internally, so
 *    its all-core number shows that lock). References in the same run: the
 *    espeak-ng and flite CLIs writing the same paragraph to a WAV (process
 *    start and model load included, as a user of the CLI pays them), and
 *    festival's text2wave.
 * Each timing: one warm-up, then the median of BENCH_RUNS runs.
 *
 * Usage: bench_speech [sentences.txt]  (normally through bench/speech)
 * Environment: BENCH_RUNS=5, BENCH_VERBOSE=1 (print every wrong hypothesis). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "timing.h"

#include "asr.h"
#include "engines/speech/speech.h"

#ifndef MIRA_BUILD_FLAGS
#define MIRA_BUILD_FLAGS "?"
#endif

extern char **environ;

enum {
  DEFAULT_RUNS = 5,
  MAX_SENTENCES = 64,
  MAX_THREADS = 256,
  HYP_LEN = 512,
  MT_REPS = 1 /* paragraphs per thread per all-core run */
};
#define GOAL_ESPEAK_XRT 500.0 /* the issue: one core, espeak-ng */
#define GOAL_FLITE_XRT 100.0  /* the issue: one core, each flite voice */
#define FESTIVAL_HTS "(voice_cmu_us_slt_arctic_hts)" /* festvox-us-slt-hts */

typedef struct pcm_buf {
  int16_t *pcm;
  size_t n;
  int rate;
} pcm_buf;


static int runs = DEFAULT_RUNS, ncores = 1;
static char tmpdir[256];

/* ---- helpers: child processes, WAV files */

/* Runs argv with stdout and stderr to /dev/null; returns the exit status or -1. */
static int spawn_wait(char *const argv[]) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint32_t le32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Reads 16-bit PCM WAV (first channel if several). 0 or -1. */
static int read_wav(const char *path, pcm_buf *out) {
  *out = (pcm_buf){0};
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  rewind(f);
  unsigned char *b = len > 12 ? malloc((size_t)len) : NULL;
  int ok = b && fread(b, 1, (size_t)len, f) == (size_t)len;
  fclose(f);
  if (!ok || memcmp(b, "RIFF", 4) || memcmp(b + 8, "WAVE", 4)) {
    free(b);
    return -1;
  }
  int ch = 0, bits = 0, rate = 0;
  for (size_t o = 12; o + 8 <= (size_t)len;) {
    size_t sz = le32(b + o + 4), body = o + 8;
    if (!memcmp(b + o, "fmt ", 4) && sz >= 16 && body + 16 <= (size_t)len) {
      ch = le16(b + body + 2);
      rate = (int)le32(b + body + 4);
      bits = le16(b + body + 14);
    } else if (!memcmp(b + o, "data", 4) && ch > 0 && bits == 16) {
      if (sz > (size_t)len - body) sz = (size_t)len - body; /* streamed WAVs may leave the size unset */
      out->n = sz / (2 * (size_t)ch);
      out->pcm = malloc((out->n ? out->n : 1) * sizeof *out->pcm);
      for (size_t i = 0; out->pcm && i < out->n; i++) out->pcm[i] = (int16_t)le16(b + body + 2 * ch * i);
      out->rate = rate;
      free(b);
      return out->pcm ? 0 : -1;
    }
    o = body + sz + (sz & 1);
  }
  free(b);
  return -1;
}

static int write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  int ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
  return fclose(f) == 0 && ok ? 0 : -1;
}

/* ---- synthesis through any engine */

typedef struct voice {
  const char *engine; /* "flite", "espeak-ng" or "festival" (CLI) */
  const char *name;
} voice;

static mira_tts_voice tts(const voice *v) {
  return (mira_tts_voice){.engine = v->engine, .name = v->name, .rate = 0, .pitch = -1, .range = -1, .volume = -1};
}

static int festival_ok;

/* text2wave in a scratch file named after tag; 0 or -1. */
static int festival_synth(const char *text, const char *tag, pcm_buf *out) {
  char txt[320], wav[320];
  snprintf(txt, sizeof txt, "%s/%s.txt", tmpdir, tag);
  snprintf(wav, sizeof wav, "%s/%s.wav", tmpdir, tag);
  if (write_text(txt, text)) return -1;
  char *argv[] = {"text2wave", "-eval", FESTIVAL_HTS, txt, "-o", wav, NULL};
  int rc = spawn_wait(argv) == 0 ? read_wav(wav, out) : -1;
  unlink(txt);
  unlink(wav);
  return rc;
}

static int synth_any(const voice *v, const char *text, const char *tag, pcm_buf *out, char *err, size_t errlen) {
  *out = (pcm_buf){0};
  if (!strcmp(v->engine, "festival")) {
    if (festival_synth(text, tag, out) == 0) return 0;
    snprintf(err, errlen, "text2wave failed");
    return -1;
  }
  mira_tts_voice t = tts(v);
  mira_speech sp;
  if (mira_speech_synth(&t, text, &sp, err, errlen)) return -1;
  out->pcm = sp.pcm; /* take the PCM; mira_speech_free frees the rest */
  out->n = sp.samples;
  out->rate = sp.sample_rate;
  sp.pcm = NULL;
  mira_speech_free(&sp);
  return 0;
}

/* ---- 1. intelligibility */

static const voice wer_voices[] = {
    {"festival", "cmu_us_slt_arctic_hts"}, /* first: the slowest to synthesise */
    {"flite", "slt"},  {"flite", "awb"},     {"flite", "rms"},       {"flite", "kal16"},
    {"espeak-ng", "en-us"}, {"espeak-ng", "en-us+m3"}, {"espeak-ng", "en-gb+f3"},
};
#define NWER (sizeof wer_voices / sizeof wer_voices[0])

typedef struct wer_result {
  int errors, words, perfect, failed;
  double audio_s, decode_s;
  char err[256];
  char hyp[MAX_SENTENCES][HYP_LEN];
  int sent_errors[MAX_SENTENCES];
} wer_result;

static wer_result wer_res[NWER];
static char **sentences;
static int nsent;
static atomic_int next_voice;

static void *wer_worker(void *arg) {
  (void)arg;
  mira_asr *asr = NULL;
  char err[256];
  int open_rc = mira_asr_open(&asr, NULL, err, sizeof err);
  for (int k; (k = atomic_fetch_add(&next_voice, 1)) < (int)NWER;) {
    const voice *v = &wer_voices[k];
    wer_result *r = &wer_res[k];
    if (open_rc) {
      snprintf(r->err, sizeof r->err, "%s", err);
      r->failed = 1;
      continue;
    }
    if (!strcmp(v->engine, "festival") && !festival_ok) {
      snprintf(r->err, sizeof r->err, "not available (apt install festival festvox-us-slt-hts)");
      r->failed = 1;
      continue;
    }
    for (int i = 0; i < nsent && !r->failed; i++) {
      char tag[32];
      snprintf(tag, sizeof tag, "wer-%d-%d", k, i);
      pcm_buf p;
      if (synth_any(v, sentences[i], tag, &p, r->err, sizeof r->err)) {
        r->failed = 1;
        break;
      }
      double t0 = now_s();
      if (mira_asr_recognize(asr, p.pcm, p.n, p.rate, r->hyp[i], HYP_LEN, r->err, sizeof r->err)) r->failed = 1;
      r->decode_s += now_s() - t0;
      r->audio_s += (double)p.n / p.rate;
      free(p.pcm);
      int w;
      r->sent_errors[i] = mira_asr_word_errors(sentences[i], r->hyp[i], &w);
      r->errors += r->sent_errors[i];
      r->words += w;
      r->perfect += r->sent_errors[i] == 0;
    }
  }
  mira_asr_close(asr);
  return NULL;
}

static void bench_wer(int verbose) {
  int nt = ncores < (int)NWER ? ncores : (int)NWER;
  pthread_t th[MAX_THREADS];
  double t0 = now_s();
  for (int i = 0; i < nt; i++) pthread_create(&th[i], NULL, wer_worker, NULL);
  for (int i = 0; i < nt; i++) pthread_join(th[i], NULL);
  printf("\n== Intelligibility: PocketSphinx en-us, %d sentences, %d decoder threads, %.0f s ==\n", nsent, nt,
         now_s() - t0);
  printf("%-38s %7s %9s %8s %8s %10s\n", "voice", "WER", "errors", "perfect", "audio", "decode");
  for (size_t k = 0; k < NWER; k++) {
    const wer_result *r = &wer_res[k];
    char name[64];
    snprintf(name, sizeof name, "%s %s%s", wer_voices[k].engine, wer_voices[k].name,
             !strcmp(wer_voices[k].engine, "festival") ? " (CLI)" : "");
    if (r->failed) {
      printf("%-38s %s\n", name, r->err);
      continue;
    }
    char errs[32], perf[16];
    snprintf(errs, sizeof errs, "%d/%d", r->errors, r->words);
    snprintf(perf, sizeof perf, "%d/%d", r->perfect, nsent);
    printf("%-38s %6.1f%% %9s %8s %7.1fs %6.2fx RT\n", name, 100.0 * r->errors / r->words, errs, perf, r->audio_s,
           r->decode_s / r->audio_s);
  }
  if (!verbose) return;
  for (size_t k = 0; k < NWER; k++) {
    if (wer_res[k].failed || !wer_res[k].errors) continue;
    printf("\n%s %s, wrong hypotheses:\n", wer_voices[k].engine, wer_voices[k].name);
    for (int i = 0; i < nsent; i++)
      if (wer_res[k].sent_errors[i])
        printf("  #%-2d %2d  ref %s\n           hyp %s\n", i + 1, wer_res[k].sent_errors[i], sentences[i],
               wer_res[k].hyp[i]);
  }
}

/* ---- 2. speed */

typedef struct mt_arg {
  const voice *v;
  const char *text;
  pthread_barrier_t *go;
  double audio_s;
  int failed;
} mt_arg;

static void *mt_worker(void *p) {
  mt_arg *a = p;
  mira_tts_voice t = tts(a->v);
  char err[256];
  pthread_barrier_wait(a->go);
  for (int r = 0; r < MT_REPS; r++) {
    mira_speech sp;
    if (mira_speech_synth(&t, a->text, &sp, err, sizeof err)) {
      a->failed = 1;
      break;
    }
    a->audio_s += (double)sp.samples / sp.sample_rate;
    mira_speech_free(&sp);
  }
  return NULL;
}

/* x real time of mira_speech_synth: one thread (median of runs), and
 * ncores threads at once (aggregate audio / wall time, median of runs). */
static int speed_ours(const voice *v, const char *text, double *xrt1, double *xrtn, double *audio_s) {
  mira_tts_voice t = tts(v);
  char err[256];
  mira_speech sp;
  if (mira_speech_synth(&t, text, &sp, err, sizeof err)) { /* warm-up */
    printf("%s %s: %s\n", v->engine, v->name, err);
    return -1;
  }
  *audio_s = (double)sp.samples / sp.sample_rate;
  mira_speech_free(&sp);
  double x[64];
  for (int r = 0; r < runs; r++) {
    double t0 = now_s();
    if (mira_speech_synth(&t, text, &sp, err, sizeof err)) return -1;
    x[r] = *audio_s / (now_s() - t0);
    mira_speech_free(&sp);
  }
  *xrt1 = median(x, runs);

  int nt = ncores > MAX_THREADS ? MAX_THREADS : ncores;
  for (int r = 0; r < runs; r++) {
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)nt + 1);
    pthread_t th[MAX_THREADS];
    mt_arg a[MAX_THREADS];
    for (int i = 0; i < nt; i++) {
      a[i] = (mt_arg){.v = v, .text = text, .go = &go};
      pthread_create(&th[i], NULL, mt_worker, &a[i]);
    }
    pthread_barrier_wait(&go);
    double t0 = now_s(), total = 0;
    int failed = 0;
    for (int i = 0; i < nt; i++) {
      pthread_join(th[i], NULL);
      total += a[i].audio_s;
      failed |= a[i].failed;
    }
    x[r] = total / (now_s() - t0);
    pthread_barrier_destroy(&go);
    if (failed) return -1;
  }
  *xrtn = median(x, runs);
  return 0;
}

/* x real time of a CLI writing text_file's speech to wav (argv), median of
 * runs after a warm-up; the audio length comes from the WAV it wrote. */
static int speed_cli(char *const argv[], const char *wav, int nruns, double *xrt, double *audio_s, double *wall_s) {
  double x[64], w[64];
  for (int r = -1; r < nruns; r++) {
    double t0 = now_s();
    if (spawn_wait(argv) != 0) return -1;
    double dt = now_s() - t0;
    pcm_buf p;
    if (read_wav(wav, &p)) return -1;
    *audio_s = (double)p.n / p.rate;
    free(p.pcm);
    unlink(wav);
    if (r >= 0) x[r] = *audio_s / dt, w[r] = dt;
  }
  *xrt = median(x, nruns);
  *wall_s = median(w, nruns);
  return 0;
}

static const voice speed_voices[] = {
    {"espeak-ng", "en-us"}, {"flite", "slt"}, {"flite", "awb"}, {"flite", "rms"}, {"flite", "kal16"},
};
#define NSPEED (sizeof speed_voices / sizeof speed_voices[0])

static void bench_speed(const char *paragraph) {
  char txt[320], wav[320];
  snprintf(txt, sizeof txt, "%s/paragraph.txt", tmpdir);
  snprintf(wav, sizeof wav, "%s/cli.wav", tmpdir);
  if (write_text(txt, paragraph)) {
    printf("cannot write %s\n", txt);
    return;
  }
  printf("\n== Speed: x real time on the paragraph (%zu bytes); median of %d runs after a warm-up ==\n",
         strlen(paragraph), runs);
  printf("%-16s %7s %10s %12s %12s %10s %s\n", "voice", "audio", "1 thread", "all cores", "CLI", "ours/CLI",
         "goal (1 thread)");
  for (size_t k = 0; k < NSPEED; k++) {
    const voice *v = &speed_voices[k];
    double x1, xn, audio, cx = 0, caudio = 0, cwall = 0;
    if (speed_ours(v, paragraph, &x1, &xn, &audio)) {
      printf("%s %s: synthesis failed\n", v->engine, v->name);
      continue;
    }
    int is_espeak = !strcmp(v->engine, "espeak-ng");
    char *espeak_argv[] = {"espeak-ng", "-v", (char *)v->name, "-w", wav, "-f", txt, NULL};
    char *flite_argv[] = {"flite", "-voice", (char *)v->name, "-f", txt, "-o", wav, NULL};
    int cli = speed_cli(is_espeak ? espeak_argv : flite_argv, wav, runs, &cx, &caudio, &cwall) == 0;
    double goal = is_espeak ? GOAL_ESPEAK_XRT : GOAL_FLITE_XRT;
    char name[48], cli_s[48], ratio_s[32];
    snprintf(name, sizeof name, "%s %s", v->engine, v->name);
    snprintf(cli_s, sizeof cli_s, cli ? "%.0fx" : "failed", cx);
    snprintf(ratio_s, sizeof ratio_s, cli ? "%.2fx" : "-", x1 / cx);
    printf("%-16s %6.1fs %9.0fx %11.0fx %12s %10s >= %.0fx: %s\n", name, audio, x1, xn, cli_s, ratio_s, goal,
           x1 >= goal ? "met" : "NOT met");
    if (cli && (caudio < audio * 0.8 || caudio > audio * 1.25))
      printf("  note: the CLI wrote %.1f s of audio, ours %.1f s\n", caudio, audio);
  }
  printf("  all cores: %d threads, each synthesising the paragraph %d time%s per run (espeak-ng serialises)\n",
         ncores, MT_REPS, MT_REPS == 1 ? "" : "s");
  printf("  CLI: `espeak-ng -v VOICE -w out.wav -f text.txt` / `flite -voice VOICE -f text.txt -o out.wav`,\n"
         "       process start and data loading included; ours/CLI = ratio of the x real time numbers\n");

  if (!festival_ok) {
    unlink(txt);
    return;
  }
  /* festival: no library binding, so the CLI only; its start-up is timed on one word. */
  char word_txt[320];
  snprintf(word_txt, sizeof word_txt, "%s/word.txt", tmpdir);
  write_text(word_txt, "Hello.");
  char *fp[] = {"text2wave", "-eval", FESTIVAL_HTS, txt, "-o", wav, NULL};
  char *fw[] = {"text2wave", "-eval", FESTIVAL_HTS, word_txt, "-o", wav, NULL};
  int fruns = runs < 3 ? runs : 3; /* a paragraph takes seconds */
  double fx, faudio, fwall, wx, waudio, wwall;
  int frc = speed_cli(fw, wav, runs, &wx, &waudio, &wwall) || speed_cli(fp, wav, fruns, &fx, &faudio, &fwall);
  unlink(txt);
  unlink(word_txt);
  unlink(wav);
  if (frc) {
    printf("festival HTS: text2wave failed\n");
    return;
  }
  printf("festival HTS (text2wave, median of %d): paragraph %.1f s audio in %.2f s = %.1fx real time; start-up "
         "(one word) %.2f s; without start-up %.1fx\n",
         fruns, faudio, fwall, fx, wwall, fwall > wwall ? faudio / (fwall - wwall) : 0);
}

/* ---- main */

static void print_header(void) {
  char model[128] = "?", line[256];
  FILE *f = fopen("/proc/cpuinfo", "r");
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
      snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
      model[strcspn(model, "\n")] = 0;
      break;
    }
  if (f) fclose(f);
  double load = 0;
  if ((f = fopen("/proc/loadavg", "r"))) {
    if (fscanf(f, "%lf", &load) != 1) load = 0;
    fclose(f);
  }
  printf("bench/speech\n");
  printf("cpu:    %s, %d cores online, load average %.2f before the runs\n", model, ncores, load);
  printf("build:  %s; cc %s\n", MIRA_BUILD_FLAGS, __VERSION__);
  printf("asr:    PocketSphinx 5prealpha, %s (en-us, en-us.lm.bin, cmudict-en-us.dict)\n", MIRA_ASR_MODEL_DIR);
  int words = 0;
  for (int i = 0; i < nsent; i++) {
    char buf[1024];
    words += (int)mira_asr_normalize(sentences[i], buf, sizeof buf);
  }
  printf("input:  %d sentences, %d words; festival HTS %s\n", nsent, words,
         festival_ok ? "available" : "NOT available");
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : MIRA_BENCH_DIR "/sentences.txt";
  const char *e = getenv("BENCH_RUNS");
  if (e && (runs = atoi(e)) < 1) runs = 1;
  if (runs > 63) runs = 63;
  int verbose = getenv("BENCH_VERBOSE") && atoi(getenv("BENCH_VERBOSE"));
  ncores = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (ncores < 1) ncores = 1;

  char err[256];
  nsent = mira_asr_read_lines(path, &sentences, err, sizeof err);
  if (nsent < 1 || nsent > MAX_SENTENCES) {
    fprintf(stderr, "bench_speech: %s\n", nsent < 0 ? err : "need 1 to 64 sentences");
    return 1;
  }
  snprintf(tmpdir, sizeof tmpdir, "%s/mira-bench-speech.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  pcm_buf probe = {0};
  festival_ok = festival_synth("Hello.", "probe", &probe) == 0 && probe.n > 0;
  free(probe.pcm);
  print_header();

  bench_wer(verbose);

  size_t plen = 0;
  for (int i = 0; i < nsent; i++) plen += strlen(sentences[i]) + 1;
  char *paragraph = calloc(1, plen + 1);
  for (int i = 0; paragraph && i < nsent; i++) {
    if (i) strcat(paragraph, " ");
    strcat(paragraph, sentences[i]);
  }
  if (paragraph) bench_speed(paragraph);
  free(paragraph);
  mira_asr_free_lines(sentences, nsent);
  rmdir(tmpdir);
  return 0;
}
