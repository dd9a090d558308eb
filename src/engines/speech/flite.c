/* flite engine: CMU Flite 2.2 voices linked in (Debian flite1-dev).
 *
 * Voices are compiled into shared libraries (libflite_cmu_us_*), so there
 * are no data files to find: init registers each voice once. slt, awb and
 * rms are clustergen (statistical) voices, kal16 and kal diphone voices; kal
 * is kal16's database at 8 kHz (telephone quality, same timings).
 *
 * Threading: synthesis runs in parallel, with no lock. There is one
 * cst_voice per voice name, shared by all threads and never written after
 * init: prosody goes on each utterance's own feature list, which flite
 * searches before the voice's (utt_init links the voice's in behind it).
 * Writing prosody into the shared voice instead is a data race (feat_set
 * frees the old value while another thread reads it; TSan shows it), and a
 * voice per thread is not on offer: register_cmu_us_slt() hands back the
 * same object on every call. The voice data (clustergen trees, diphone
 * databases, the CMU lexicon) is only read. flite's one other piece of
 * shared state is rand(), which the clustergen vocoder uses for noise; see
 * "per-thread noise" below. tests/unit/test_flite.c (flite-5.x) runs 8
 * threads over all voices under ThreadSanitizer with no reports.
 *
 * Known limit: flite reports internal failures through cst_error(), which
 * exits the process unless cst_errjmp is armed; that is one process-wide
 * jmp_buf, so it can't be armed per thread. Only allocation failure gets
 * there in practice.
 */
#include "core/error.h"
#include "engines/speech/mlsa.h"
#include "engines/speech/speech.h"

#include <flite.h>
#include <cst_cg.h>

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The voice libraries export these, but flite installs no header for them. */
cst_voice *register_cmu_us_slt(const char *voxdir);
cst_voice *register_cmu_us_awb(const char *voxdir);
cst_voice *register_cmu_us_rms(const char *voxdir);
cst_voice *register_cmu_us_kal16(const char *voxdir);
cst_voice *register_cmu_us_kal(const char *voxdir);

#define DEFAULT_RATE 175   /* wpm that flite's duration_stretch 1.0 means */
#define PITCH_OCTAVE_SPAN 75.0 /* pitch steps per octave: 0..100 = -8..+8 semitones */
#define FALLBACK_F0_MEAN 100.0f   /* us_f0_model.c's default */
#define FALLBACK_F0_STDDEV 12.0f  /* ditto */

typedef struct voice_def {
  const char *name, *language, *gender, *description;
  cst_voice *(*reg)(const char *voxdir);
} voice_def;

static const voice_def defs[] = {
    {"slt", "en-US", "female", "CMU US SLT (female)", register_cmu_us_slt},
    {"awb", "en-GB-scotland", "male", "CMU AWB (male, Scottish English)", register_cmu_us_awb},
    {"rms", "en-US", "male", "CMU US RMS (male)", register_cmu_us_rms},
    {"kal16", "en-US", "male", "CMU US KAL 16 kHz diphone (male)", register_cmu_us_kal16},
    {"kal", "en-US", "male", "CMU US KAL 8 kHz diphone (male)", register_cmu_us_kal},
};
#define NVOICES (sizeof defs / sizeof defs[0])

/* A registered voice and the prosody it has when nothing is asked for. */
typedef struct voice {
  cst_voice *vox;
  const cst_cg_db *cg; /* clustergen voices; NULL for diphone ones */
  float f0_mean, f0_stddev, stretch;
} voice;

/* Written once under init_once, read-only afterwards. */
static voice voices[NVOICES];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* Clustergen voices keep their F0 statistics in the cg_db and fall back to
 * them when int_f0_target_* is unset; diphone voices set the features. */
static void read_defaults(voice *v) {
  const cst_val *db = feat_val(v->vox->features, "cg_db");
  float mean = FALLBACK_F0_MEAN, sd = FALLBACK_F0_STDDEV;
  if (db) {
    v->cg = val_cg_db(db);
    mean = v->cg->f0_mean;
    sd = v->cg->f0_stddev;
  }
  v->f0_mean = get_param_float(v->vox->features, "int_f0_target_mean", mean);
  v->f0_stddev = get_param_float(v->vox->features, "int_f0_target_stddev", sd);
  v->stretch = get_param_float(v->vox->features, "duration_stretch", 1.0f);
}

static void init_voices(void) {
  flite_init();
  mira_mlsa_init(); /* our vocoder replaces flite's (mlsa.h); this also links it in */
  for (size_t i = 0; i < NVOICES; i++) {
    voices[i].vox = defs[i].reg(NULL);
    if (voices[i].vox)
      read_defaults(&voices[i]);
  }
}

static int flite_engine_init(char *err, size_t errlen) {
  pthread_once(&init_once, init_voices);
  for (size_t i = 0; i < NVOICES; i++)
    if (voices[i].vox)
      return 0;
  return mira_err(err, errlen, MIRA_ENOTSUP, "no flite voice registered (install flite1-dev)");
}

static int list_voices(mira_tts_voice_cb cb, void *ud, char *err, size_t errlen) {
  int rc = flite_engine_init(err, errlen);
  for (size_t i = 0; rc == 0 && i < NVOICES; i++) {
    if (!voices[i].vox)
      continue;
    mira_tts_voice_info info = {.engine = "flite"};
    snprintf(info.name, sizeof info.name, "%s", defs[i].name);
    snprintf(info.language, sizeof info.language, "%s", defs[i].language);
    snprintf(info.gender, sizeof info.gender, "%s", defs[i].gender);
    snprintf(info.description, sizeof info.description, "%s", defs[i].description);
    rc = cb(ud, &info);
  }
  return rc;
}

static const voice *find_voice(const char *name, char *err, size_t errlen) {
  char installed[128] = "";
  size_t n = 0;
  for (size_t i = 0; i < NVOICES; i++) {
    if (!voices[i].vox)
      continue;
    if (name && strcmp(name, defs[i].name) == 0)
      return &voices[i];
    n += snprintf(installed + n, sizeof installed - n, "%s%s", n ? ", " : "", defs[i].name);
  }
  mira_err(err, errlen, MIRA_EINVAL, "unknown flite voice '%s' (installed: %s)", name ? name : "",
           installed);
  return NULL;
}

/* ---- prosody ---- */

typedef struct prosody {
  float stretch, f0_mean, f0_stddev, gain;
  float f0_factor, range_factor; /* 1 = the voice's own */
} prosody;

static int out_of_range(int x, int lo, int hi, int dflt) {
  return x != dflt && (x < lo || x > hi);
}

static int make_prosody(const mira_tts_voice *mv, const voice *v, prosody *p, char *err,
                        size_t errlen) {
  if (out_of_range(mv->rate, 80, 450, 0))
    return mira_err(err, errlen, MIRA_EINVAL, "rate %d out of range 80..450", mv->rate);
  if (out_of_range(mv->pitch, 0, 100, -1))
    return mira_err(err, errlen, MIRA_EINVAL, "pitch %d out of range 0..100", mv->pitch);
  if (out_of_range(mv->range, 0, 100, -1))
    return mira_err(err, errlen, MIRA_EINVAL, "range %d out of range 0..100", mv->range);
  if (out_of_range(mv->volume, 0, 200, -1))
    return mira_err(err, errlen, MIRA_EINVAL, "volume %d out of range 0..200", mv->volume);
  /* Relative to the voice's own defaults, so 175 wpm / 50 / 50 / 100
   * reproduces the flite CLI exactly (kal16 is slowed to 1.1 by design). */
  int rate = mv->rate ? mv->rate : DEFAULT_RATE;
  int pitch = mv->pitch < 0 ? 50 : mv->pitch, range = mv->range < 0 ? 50 : mv->range;
  p->stretch = v->stretch * (float)DEFAULT_RATE / (float)rate;
  p->f0_factor = (float)exp2((pitch - 50) / PITCH_OCTAVE_SPAN);
  p->range_factor = (float)range / 50.0f;
  p->f0_mean = v->f0_mean * p->f0_factor;
  p->f0_stddev = v->f0_stddev * p->range_factor;
  p->gain = (mv->volume < 0 ? 100 : mv->volume) / 100.0f;
  return 0;
}

/* ---- spamf0 voices ----
 * rms predicts F0 with the SPAM accent model (cg_db->spamf0), which replaces
 * the contour after int_f0_target_* were applied, so those features do
 * nothing there. Instead the call gets its own shallow copy of the cg_db
 * whose accent vectors are shifted: the model adds each vector's peak
 * (channel 0) to log F0 and scales its excursion by tilt amplitude
 * (channel 2), so peak + ln(k) multiplies F0 by k and amplitude * r widens
 * or narrows the accents. The copy has freeable == 0, so flite's
 * delete_cg_db() leaves it alone when the utterance goes. */

#define SPAM_PEAK 0     /* channel of a SPAM accent vector: log F0 peak */
#define SPAM_TILTAMP 2  /* channel: tilt amplitude */
#define SPAM_CHANNELS 7 /* cst_spamf0.c reads channels 0, 2 and 6 */

typedef struct spam_copy {
  cst_cg_db db;
  float *vec;
  const float **rows;
} spam_copy;

static int needs_spam_copy(const voice *v, const prosody *p) {
  return v->cg && v->cg->spamf0 && v->cg->num_channels_spamf0_accent >= SPAM_CHANNELS &&
         (p->f0_factor != 1.0f || p->range_factor != 1.0f);
}

static int make_spam_copy(const cst_cg_db *cg, const prosody *p, spam_copy *c) {
  int nf = cg->num_frames_spamf0_accent, nc = cg->num_channels_spamf0_accent;
  c->db = *cg;
  c->db.freeable = 0; /* ours: flite must not free it, or what it points to */
  c->vec = malloc((size_t)nf * nc * sizeof *c->vec);
  c->rows = malloc((size_t)nf * sizeof *c->rows);
  if (!c->vec || !c->rows)
    return MIRA_ENOMEM;
  for (int f = 0; f < nf; f++) {
    float *row = c->vec + (size_t)f * nc;
    memcpy(row, cg->spamf0_accent_vectors[f], nc * sizeof *row);
    row[SPAM_PEAK] += logf(p->f0_factor);
    row[SPAM_TILTAMP] *= p->range_factor;
    c->rows[f] = row;
  }
  c->db.spamf0_accent_vectors = c->rows;
  return 0;
}

static void free_spam_copy(spam_copy *c) {
  free(c->vec);
  free(c->rows);
}

/* ---- per-thread noise ----
 * The clustergen vocoder (cst_mlsa.c) draws its excitation noise from
 * rand(), a process-wide generator: output would differ from call to call,
 * and every sample would take glibc's rand lock, so parallel synthesis would
 * contend on it. We interpose rand(): inside flite synthesis each thread
 * draws from its own generator, restarted per utterance with glibc's initial
 * state (TYPE_3, seed 1), so a text always gives the same PCM -- the same as
 * a fresh `flite` process. Outside synthesis rand() is glibc's own, which is
 * random() (glibc defines rand() that way), so srand() keeps working. */

#define GLIBC_RAND_STATE 128 /* bytes: glibc's default TYPE_3 table */

static __thread int in_synth;
static __thread struct random_data rng;
static __thread int32_t rng_state[GLIBC_RAND_STATE / sizeof(int32_t)];

int rand(void) {
  int32_t r;
  if (!in_synth || random_r(&rng, &r) != 0)
    return (int)random();
  return r;
}

static void noise_begin(void) {
  memset(&rng, 0, sizeof rng); /* initstate_r writes through an old state pointer */
  initstate_r(1, (char *)rng_state, sizeof rng_state, &rng);
  in_synth = 1;
}

/* Like flite_synth_text, but the prosody goes on the utterance, which is
 * per call, rather than on the shared voice. */
static cst_utterance *run_flite(const voice *v, const char *text, const prosody *p,
                                spam_copy *spam) {
  cst_utterance *u = new_utterance();
  utt_set_input_text(u, text);
  utt_init(u, v->vox);
  feat_set_float(u->features, "duration_stretch", p->stretch);
  feat_set_float(u->features, "int_f0_target_mean", p->f0_mean);
  feat_set_float(u->features, "int_f0_target_stddev", p->f0_stddev);
  if (spam)
    feat_set(u->features, "cg_db", cg_db_val(&spam->db));
  noise_begin();
  cst_utterance *done = utt_synth(u);
  in_synth = 0;
  if (!done)
    delete_utterance(u);
  return done;
}

/* ---- output ---- */

static int copy_pcm(const cst_wave *w, float gain, mira_speech *out) {
  out->sample_rate = w->sample_rate;
  out->samples = (size_t)w->num_samples;
  if (!out->samples)
    return 0;
  out->pcm = malloc(out->samples * sizeof *out->pcm);
  if (!out->pcm)
    return MIRA_ENOMEM;
  for (size_t i = 0; i < out->samples; i++) {
    float s = w->samples[i] * gain;
    out->pcm[i] = (int16_t)(s > 32767.f ? 32767.f : s < -32768.f ? -32768.f : s);
  }
  return 0;
}

static int32_t to_ms(float seconds, int32_t dur_ms) {
  long ms = lroundf(seconds * 1000.0f);
  return (int32_t)(ms < 0 ? 0 : ms > dur_ms ? dur_ms : ms);
}

/* A segment starts where the previous one (in the Segment relation) ends. */
static float seg_start(const cst_item *seg) {
  const cst_item *prev = item_prev(item_as(seg, "Segment"));
  return prev ? item_feat_float(prev, "end") : 0.0f;
}

static size_t relation_len(const cst_utterance *u, const char *rel) {
  size_t n = 0;
  for (const cst_item *it = relation_head(utt_relation(u, rel)); it; it = item_next(it))
    n++;
  return n;
}

/* Segments clipped to [0, dur]; the last one is stretched or cut to end at
 * dur so the timeline covers the whole PCM. Zero-length ones are dropped:
 * they can't be drawn and the neighbours already meet. */
static int make_phonemes(const cst_utterance *u, int32_t dur_ms, mira_speech *out) {
  size_t n = relation_len(u, "Segment");
  if (!n)
    return 0;
  out->phonemes = calloc(n, sizeof *out->phonemes);
  if (!out->phonemes)
    return MIRA_ENOMEM;
  int32_t prev_end = 0;
  for (const cst_item *s = relation_head(utt_relation(u, "Segment")); s; s = item_next(s)) {
    int32_t end = item_next(s) ? to_ms(item_feat_float(s, "end"), dur_ms) : dur_ms;
    if (end <= prev_end)
      continue;
    mira_phoneme_event *e = &out->phonemes[out->nphonemes++];
    snprintf(e->name, sizeof e->name, "%s", item_feat_string(s, "name"));
    e->start_ms = prev_end;
    e->end_ms = prev_end = end;
  }
  return 0;
}

/* Case-insensitive forward search; returns the offset or -1. */
static long find_ci(const char *text, size_t from, const char *needle) {
  size_t n = strlen(needle);
  if (!n)
    return -1;
  for (size_t i = from; text[i]; i++)
    if (strncasecmp(text + i, needle, n) == 0)
      return (long)i;
  return -1;
}

/* The byte span of tok in text, searching from *cursor. flite's token names
 * are the input text minus surrounding punctuation, so they are found
 * verbatim; if one is not (odd normalisation), the next run of non-space
 * bytes stands in so the word still points somewhere sensible. */
static void token_span(const char *text, size_t *cursor, const char *tok, mira_word_event *w) {
  long at = find_ci(text, *cursor, tok);
  size_t len = strlen(tok);
  if (at < 0) {
    at = (long)*cursor;
    while (text[at] && isspace((unsigned char)text[at]))
      at++;
    for (len = 0; text[at + len] && !isspace((unsigned char)text[at + len]); len++) {}
  }
  w->text_offset = (int32_t)at;
  w->text_len = (int32_t)len;
  *cursor = (size_t)at + len;
}

/* First and last segment of a word through SylStructure
 * (word -> syllables -> segments). */
static int word_segments(const cst_item *word, const cst_item **first, const cst_item **last) {
  const cst_item *w = item_as(word, "SylStructure");
  *first = w ? item_daughter(item_daughter(w)) : NULL;
  *last = w ? item_last_daughter(item_last_daughter(w)) : NULL;
  return *first && *last;
}

static int make_words(const cst_utterance *u, const char *text, int32_t dur_ms, mira_speech *out) {
  size_t n = relation_len(u, "Word"), cursor = 0;
  if (!n)
    return 0;
  out->words = calloc(n, sizeof *out->words);
  if (!out->words)
    return MIRA_ENOMEM;
  const cst_item *prev_tok = NULL;
  mira_word_event span = {0};
  int32_t prev_end = 0;
  for (const cst_item *w = relation_head(utt_relation(u, "Word")); w; w = item_next(w)) {
    const cst_item *tok = item_parent(item_as(w, "Token")), *first, *last;
    if (tok && tok != prev_tok) /* "42" -> "forty" "two": one token, one span */
      token_span(text, &cursor, item_feat_string(tok, "name"), &span);
    prev_tok = tok;
    if (!word_segments(w, &first, &last))
      continue;
    mira_word_event *e = &out->words[out->nwords];
    *e = span;
    e->start_ms = to_ms(seg_start(first), dur_ms);
    e->end_ms = to_ms(item_feat_float(last, "end"), dur_ms);
    if (e->start_ms < prev_end) /* rounding only; keeps the list non-overlapping */
      e->start_ms = prev_end;
    if (e->end_ms <= e->start_ms)
      continue;
    prev_end = e->end_ms;
    out->nwords++;
  }
  return 0;
}

static void release(mira_speech *out) {
  free(out->pcm);
  free(out->phonemes);
  free(out->words);
  memset(out, 0, sizeof *out);
}

static int collect(const cst_utterance *u, const char *text, float gain, mira_speech *out,
                   char *err, size_t errlen) {
  const cst_wave *w = utt_wave((cst_utterance *)u);
  if (!w || w->num_samples <= 0 || w->sample_rate <= 0)
    return 0; /* nothing speakable (e.g. only punctuation): empty speech */
  if (w->num_channels != 1) /* every flite voice is mono */
    return mira_err(err, errlen, MIRA_EIO, "flite returned %d channels", w->num_channels);
  int rc = copy_pcm(w, gain, out);
  int32_t dur_ms = (int32_t)((int64_t)out->samples * 1000 / out->sample_rate);
  if (!rc)
    rc = make_phonemes(u, dur_ms, out);
  if (!rc)
    rc = make_words(u, text, dur_ms, out);
  return rc ? mira_err(err, errlen, rc, "out of memory in flite synthesis") : 0;
}

static int synth(const mira_tts_voice *mv, const char *text, mira_speech *out, char *err,
                 size_t errlen) {
  int rc = flite_engine_init(err, errlen);
  if (rc)
    return rc;
  const voice *v = find_voice(mv->name, err, errlen);
  if (!v)
    return MIRA_EINVAL;
  if (!text || !*text)
    return mira_err(err, errlen, MIRA_EINVAL, "empty text");
  prosody p = {0};
  if ((rc = make_prosody(mv, v, &p, err, errlen)))
    return rc;
  spam_copy spam = {0}, *sp = needs_spam_copy(v, &p) ? &spam : NULL;
  if (sp && make_spam_copy(v->cg, &p, sp)) {
    free_spam_copy(sp);
    return mira_err(err, errlen, MIRA_ENOMEM, "out of memory in flite synthesis");
  }
  cst_utterance *u = run_flite(v, text, &p, sp);
  rc = u ? collect(u, text, p.gain, out, err, errlen)
         : mira_err(err, errlen, MIRA_EIO, "flite failed to synthesise with voice '%s'", mv->name);
  delete_utterance(u);
  free_spam_copy(&spam);
  if (rc)
    release(out);
  return rc;
}

const mira_tts_engine mira_tts_flite = {
    .name = "flite",
    .init = flite_engine_init,
    .list_voices = list_voices,
    .synth = synth,
};
