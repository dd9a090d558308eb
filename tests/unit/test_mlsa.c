/* Unit tests for src/engines/speech/mlsa.c: our clustergen vocoder against
 * flite's own mlsa_resynthesis, on the parameter tracks flite itself makes
 * for slt, awb and rms. Both get the same noise (srandom(1) before each: out
 * of a flite.c synthesis, rand() is glibc's random()). */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engines/speech/mlsa.h"
#include "engines/speech/speech.h"

cst_voice *register_cmu_us_slt(const char *voxdir);
cst_voice *register_cmu_us_awb(const char *voxdir);
cst_voice *register_cmu_us_rms(const char *voxdir);

/* Rounding is the only difference (a 1-LSB flip in a few samples at most),
 * so the bar is far above anything audible. */
#define MIN_SNR_DB 90.0
#define MIN_RMS 100.0 /* speech, not silence */

typedef struct voice_ref {
  const char *name;
  cst_voice *(*reg)(const char *);
} voice_ref;

static const voice_ref voices[] = {
    {"slt", register_cmu_us_slt}, {"awb", register_cmu_us_awb}, {"rms", register_cmu_us_rms}};

static const char *const sentences[] = {
    "The quick brown fox jumps over the lazy dog.",
    "Hello there, this is a short test of the speech engine; is it clear?",
    "On March 3rd, 1997, we paid $42.50 for 17 apples at 4:30 pm.",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The tracks flite's cg_resynth hands the vocoder, from a real utterance. */
typedef struct tracks {
  cst_utterance *utt;
  cst_cg_db *db;
  cst_track *params; /* after mlpg: F0 + mcep */
  const cst_track *str;
} tracks;

static int make_tracks(cst_voice *vox, const char *text, tracks *t) {
  memset(t, 0, sizeof *t);
  t->utt = flite_synth_text(text, vox);
  if (!t->utt)
    return -1;
  t->db = val_cg_db(utt_feat_val(t->utt, "cg_db"));
  const cst_track *raw = val_track(utt_feat_val(t->utt, "param_track"));
  t->str = val_track(utt_feat_val(t->utt, "str_track"));
  t->params = t->db->do_mlpg ? mlpg(raw, t->db) : cst_track_copy(raw);
  return 0;
}

static void free_tracks(tracks *t) {
  delete_track(t->params);
  delete_utterance(t->utt);
}

static cst_wave *vocode(mira_mlsa_fn fn, const tracks *t, const cst_track *str,
                        cst_audio_streaming_info *asi, int speed) {
  srandom(1);
  return fn(t->params, str, t->db, asi, speed);
}

/* Signal-to-noise ratio of got against want, in dB (INFINITY if equal). */
static double snr_db(const cst_wave *want, const cst_wave *got) {
  double sig = 0, err = 0;
  for (int i = 0; i < want->num_samples && i < got->num_samples; i++) {
    double d = (double)got->samples[i] - want->samples[i];
    sig += (double)want->samples[i] * want->samples[i];
    err += d * d;
  }
  return err > 0 ? 10 * log10(sig / err) : INFINITY;
}

static double wave_rms(const cst_wave *w) {
  double acc = 0;
  for (int i = 0; i < w->num_samples; i++)
    acc += (double)w->samples[i] * w->samples[i];
  return w->num_samples ? sqrt(acc / w->num_samples) : 0;
}

static int same_wave(const cst_wave *a, const cst_wave *b) {
  return a && b && a->num_samples == b->num_samples && a->sample_rate == b->sample_rate &&
         memcmp(a->samples, b->samples, (size_t)a->num_samples * sizeof *a->samples) == 0;
}

/* ---- 1: the interposition is in place ---- */

static void test_interposed(void) {
  CHECK_INT("init", mira_mlsa_init(), 0);
  mira_mlsa_fn flite = mira_mlsa_flite();
  CHECK("flite's vocoder found", flite != NULL);
  CHECK("flite's is not ours", flite != mlsa_resynthesis);
  CHECK("process-wide definition is ours",
        dlsym(RTLD_DEFAULT, "mlsa_resynthesis") == (void *)mlsa_resynthesis);

  /* A normal synthesis (flite's cg_resynth calls through its PLT) runs ours. */
  mira_tts_voice v = {.engine = "flite", .name = "rms", .pitch = -1, .range = -1, .volume = -1};
  mira_speech sp = {0};
  char err[256] = "";
  unsigned long before = mira_mlsa_thread_calls();
  CHECK_INT("synth", mira_tts_flite.synth(&v, "Testing one two three.", &sp, err, sizeof err), 0);
  CHECK("our vocoder ran", mira_mlsa_thread_calls() == before + 1);
  CHECK("speech came out", sp.samples > 0);
  free(sp.pcm);
  free(sp.phonemes);
  free(sp.words);
}

/* ---- 2: same output as flite's ---- */

static void compare(const char *voice, int sentence, const tracks *t, int speed, int portable) {
  char id[64];
  snprintf(id, sizeof id, "%s #%d speed %d%s", voice, sentence, speed, portable ? " any" : "");
  unsigned long before = mira_mlsa_thread_calls();
  mira_mlsa_thread_portable(portable);
  cst_wave *ours = vocode(mlsa_resynthesis, t, t->str, NULL, speed);
  mira_mlsa_thread_portable(0);
  cst_wave *ref = vocode(mira_mlsa_flite(), t, t->str, NULL, speed);
  CHECK(id, ours && ref && mira_mlsa_thread_calls() == before + 1);
  if (ours && ref) {
    double snr = snr_db(ref, ours), rms = wave_rms(ours);
    int differ = 0;
    for (int i = 0; i < ref->num_samples && i < ours->num_samples; i++)
      differ += ours->samples[i] != ref->samples[i];
    printf("%-22s %7d samples  SNR vs flite %6.1f dB  (%d differ)  rms %.0f\n", id,
           ours->num_samples, snr, differ, rms);
    CHECK_INT(id, ours->num_samples, ref->num_samples);
    CHECK_INT(id, ours->sample_rate, ref->sample_rate);
    CHECK(id, snr >= MIN_SNR_DB);
    CHECK(id, rms >= MIN_RMS);
  }
  delete_wave(ours);
  delete_wave(ref);
}

static void test_matches_flite(void) {
  for (size_t v = 0; v < COUNT(voices); v++) {
    cst_voice *vox = voices[v].reg(NULL);
    CHECK(voices[v].name, vox != NULL);
    for (size_t s = 0; vox && s < COUNT(sentences); s++) {
      tracks t;
      CHECK(voices[v].name, make_tracks(vox, sentences[s], &t) == 0);
      compare(voices[v].name, (int)s, &t, 0, 0);
      if (s == 0) {
        compare(voices[v].name, (int)s, &t, 0, 1);  /* the build for CPUs without FMA */
        compare(voices[v].name, (int)s, &t, 10, 0); /* mlsa_speed_param drops coefficients */
      }
      free_tracks(&t);
    }
  }
}

/* ---- 3: what we hand to flite's ---- */

static int count_chunk(const cst_wave *w, int start, int size, int last,
                       cst_audio_streaming_info *asi) {
  (void)w, (void)start, (void)size, (void)last;
  ++*(int *)asi->userdata;
  return CST_AUDIO_STREAM_CONT;
}

static void test_fallbacks(void) {
  tracks t;
  CHECK("tracks", make_tracks(register_cmu_us_slt(NULL), sentences[0], &t) == 0);
  unsigned long before = mira_mlsa_thread_calls();

  /* No band strengths: flite's Gaussian-noise path, which we leave to it. */
  cst_wave *ours = vocode(mlsa_resynthesis, &t, NULL, NULL, 0);
  cst_wave *ref = vocode(mira_mlsa_flite(), &t, NULL, NULL, 0);
  CHECK("no str: flite's output", same_wave(ours, ref));
  delete_wave(ours);
  delete_wave(ref);

  /* Streaming: flite's, callbacks and all. */
  int chunks = 0;
  cst_audio_streaming_info *asi = new_audio_streaming_info();
  asi->asc = count_chunk;
  asi->userdata = &chunks;
  ours = vocode(mlsa_resynthesis, &t, t.str, asi, 0);
  int ours_chunks = chunks;
  chunks = 0;
  ref = vocode(mira_mlsa_flite(), &t, t.str, asi, 0);
  CHECK("streaming: flite's output", same_wave(ours, ref));
  CHECK("streaming: callbacks ran", ours_chunks > 1 && ours_chunks == chunks);
  delete_wave(ours);
  delete_wave(ref);
  delete_audio_streaming_info(asi);

  CHECK("neither ran ours", mira_mlsa_thread_calls() == before);
  free_tracks(&t);
}

int main(void) {
  flite_init();
  test_interposed();
  test_matches_flite();
  test_fallbacks();
  return CHECK_EXIT();
}
