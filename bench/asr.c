/* PocketSphinx wrapper, resampler and word error rate; see asr.h. */
#include "asr.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
  ZERO_CROSSINGS = 16, /* sinc lobes each side of the resampler's kernel */
  TABLE_STEPS = 512,   /* kernel table entries per zero crossing (linear interpolation between) */
  MAX_LINE = 4096
};
#define CUTOFF 0.95 /* fraction of the lower Nyquist frequency the low-pass keeps */

struct mira_asr {
  ps_decoder_t *ps;
  cmd_ln_t *config;
};

static int fail(char *err, size_t errlen, const char *fmt, const char *arg) {
  if (err && errlen) snprintf(err, errlen, fmt, arg);
  return -1;
}

int mira_asr_open(mira_asr **out, const char *model_dir, char *err, size_t errlen) {
  *out = NULL;
  if (!model_dir) model_dir = MIRA_ASR_MODEL_DIR;
  char hmm[512], lm[512], dict[512];
  snprintf(hmm, sizeof hmm, "%s/en-us", model_dir);
  snprintf(lm, sizeof lm, "%s/en-us.lm.bin", model_dir);
  snprintf(dict, sizeof dict, "%s/cmudict-en-us.dict", model_dir);
  const char *need[] = {hmm, lm, dict};
  for (size_t i = 0; i < 3; i++)
    if (access(need[i], R_OK) != 0)
      return fail(err, errlen, "no %s (install pocketsphinx-en-us)", need[i]);

  err_set_logfp(NULL); /* cmd_ln_init logs the whole configuration before -logfn applies */
  mira_asr *a = calloc(1, sizeof *a);
  if (!a) return fail(err, errlen, "%s", "out of memory");
  a->config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-lm", lm, "-dict", dict, "-logfn", "/dev/null",
                          NULL);
  if (!a->config) {
    free(a);
    return fail(err, errlen, "%s", "PocketSphinx rejected its configuration");
  }
  a->ps = ps_init(a->config);
  if (!a->ps) {
    cmd_ln_free_r(a->config);
    free(a);
    return fail(err, errlen, "PocketSphinx could not load the model in %s", model_dir);
  }
  *out = a;
  return 0;
}

void mira_asr_close(mira_asr *a) {
  if (!a) return;
  ps_free(a->ps);
  cmd_ln_free_r(a->config);
  free(a);
}

int mira_asr_recognize(mira_asr *a, const int16_t *pcm, size_t samples, int sample_rate, char *hyp,
                       size_t hyplen, char *err, size_t errlen) {
  if (hyplen) hyp[0] = 0;
  int16_t *owned = NULL;
  if (sample_rate != MIRA_ASR_SAMPLE_RATE) {
    owned = mira_asr_resample(pcm, samples, sample_rate, MIRA_ASR_SAMPLE_RATE, &samples);
    if (!owned) return fail(err, errlen, "%s", "resampling failed");
    pcm = owned;
  }
  int rc = 0;
  /* A new stream resets the front end's noise estimate, which otherwise
   * carries over from the previous utterance and makes a hypothesis depend
   * on what the decoder heard before (seen with espeak-ng: two hypotheses
   * for the same PCM). */
  ps_start_stream(a->ps);
  if (ps_start_utt(a->ps) < 0) {
    rc = fail(err, errlen, "%s", "ps_start_utt failed");
  } else {
    if (ps_process_raw(a->ps, pcm, samples, FALSE, TRUE) < 0) rc = fail(err, errlen, "%s", "ps_process_raw failed");
    if (ps_end_utt(a->ps) < 0 && rc == 0) rc = fail(err, errlen, "%s", "ps_end_utt failed");
    int32 score;
    const char *h = rc == 0 ? ps_get_hyp(a->ps, &score) : NULL;
    if (h && hyplen) snprintf(hyp, hyplen, "%s", h);
  }
  free(owned);
  return rc;
}

/* ---- resampler */

static double sinc(double x) { return x == 0 ? 1.0 : sin(M_PI * x) / (M_PI * x); }

int16_t *mira_asr_resample(const int16_t *in, size_t samples, int in_rate, int out_rate, size_t *out_samples) {
  *out_samples = 0;
  if (in_rate <= 0 || out_rate <= 0) return NULL;
  size_t n = (size_t)((double)samples * out_rate / in_rate);
  int16_t *out = malloc((n ? n : 1) * sizeof *out);
  if (!out) return NULL;
  if (in_rate == out_rate) {
    memcpy(out, in, samples * sizeof *in);
    *out_samples = samples;
    return out;
  }
  /* Kernel h(d) = c sinc(c d) w(d / half), d in input samples, where c is
   * the cutoff relative to the input's Nyquist frequency; tabulated over
   * |d| in [0, ZERO_CROSSINGS] zero crossings of sinc(c d). */
  double c = CUTOFF * (out_rate < in_rate ? (double)out_rate / in_rate : 1.0);
  double half = ZERO_CROSSINGS / c; /* kernel half-width in input samples */
  size_t tn = ZERO_CROSSINGS * TABLE_STEPS + 2;
  float *table = malloc(tn * sizeof *table);
  if (!table) {
    free(out);
    return NULL;
  }
  for (size_t i = 0; i < tn; i++) {
    double z = (double)i / TABLE_STEPS; /* zero crossings from the centre */
    double w = z >= ZERO_CROSSINGS ? 0 : 0.42 + 0.5 * cos(M_PI * z / ZERO_CROSSINGS) +
                                             0.08 * cos(2 * M_PI * z / ZERO_CROSSINGS); /* Blackman */
    table[i] = (float)(c * sinc(z) * w);
  }
  double step = (double)in_rate / out_rate;
  for (size_t j = 0; j < n; j++) {
    double t = j * step;
    long lo = (long)ceil(t - half), hi = (long)floor(t + half);
    if (lo < 0) lo = 0;
    if (hi >= (long)samples) hi = (long)samples - 1;
    double acc = 0;
    for (long k = lo; k <= hi; k++) {
      double z = fabs(t - k) * c * TABLE_STEPS;
      size_t i = (size_t)z;
      if (i + 1 >= tn) continue;
      double f = z - i;
      acc += in[k] * (table[i] + f * (table[i + 1] - table[i]));
    }
    long v = lround(acc);
    out[j] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
  }
  free(table);
  *out_samples = n;
  return out;
}

/* ---- scoring */

size_t mira_asr_normalize(const char *text, char *out, size_t outlen) {
  size_t o = 0, words = 0;
  int in_word = 0;
  if (!outlen) return 0;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    int keep = isalnum(*p) || (*p == '\'' && in_word && isalnum(p[1]));
    if (keep) {
      if (!in_word) {
        if (words && o + 1 < outlen) out[o++] = ' ';
        words++;
        in_word = 1;
      }
      if (o + 1 < outlen) out[o++] = (char)tolower(*p);
    } else {
      in_word = 0;
    }
  }
  out[o] = 0;
  return words;
}

/* Splits normalised text in place into at most MIRA_ASR_MAX_WORDS words. */
static int split(char *s, char **w) {
  int n = 0;
  for (char *tok = strtok(s, " "); tok && n < MIRA_ASR_MAX_WORDS; tok = strtok(NULL, " ")) w[n++] = tok;
  return n;
}

int mira_asr_word_errors(const char *ref, const char *hyp, int *ref_words) {
  char rbuf[MAX_LINE], hbuf[MAX_LINE];
  char *r[MIRA_ASR_MAX_WORDS], *h[MIRA_ASR_MAX_WORDS];
  mira_asr_normalize(ref, rbuf, sizeof rbuf);
  mira_asr_normalize(hyp, hbuf, sizeof hbuf);
  int nr = split(rbuf, r), nh = split(hbuf, h);
  *ref_words = nr;
  int prev[MIRA_ASR_MAX_WORDS + 1], cur[MIRA_ASR_MAX_WORDS + 1];
  for (int j = 0; j <= nh; j++) prev[j] = j;
  for (int i = 1; i <= nr; i++) {
    cur[0] = i;
    for (int j = 1; j <= nh; j++) {
      int sub = prev[j - 1] + (strcmp(r[i - 1], h[j - 1]) != 0);
      int del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, cur, (size_t)(nh + 1) * sizeof *prev);
  }
  return prev[nh];
}

/* ---- sentence files */

void mira_asr_free_lines(char **lines, int n) {
  if (!lines) return;
  for (int i = 0; i < n; i++) free(lines[i]);
  free(lines);
}

int mira_asr_read_lines(const char *path, char ***lines, char *err, size_t errlen) {
  *lines = NULL;
  FILE *f = fopen(path, "r");
  if (!f) {
    if (err && errlen) snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  char buf[MAX_LINE];
  char **v = NULL;
  int n = 0, cap = 0;
  while (fgets(buf, sizeof buf, f)) {
    buf[strcspn(buf, "\r\n")] = 0;
    if (!buf[0] || buf[0] == '#') continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 32;
      char **nv = realloc(v, (size_t)cap * sizeof *nv);
      if (!nv) break;
      v = nv;
    }
    if (!(v[n] = strdup(buf))) break;
    n++;
  }
  int bad = ferror(f) || !feof(f);
  fclose(f);
  if (bad) {
    mira_asr_free_lines(v, n);
    return fail(err, errlen, "%s: read error or out of memory", path);
  }
  *lines = v;
  return n;
}
