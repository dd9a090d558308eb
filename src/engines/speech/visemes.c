/* Phoneme -> viseme table for espeak-ng mnemonics and flite's CMU phones.
 * docs/VISEMES.md explains the choices; keep the two in step. */
#include "engines/speech/visemes.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#define ESPEAK 1u
#define FLITE 2u
#define BOTH (ESPEAK | FLITE)
#define MAX_PHONEME 16 /* longer names are not phonemes of either engine */

typedef struct entry {
  const char *ph;
  mira_viseme v;
  unsigned engines; /* ESPEAK: case-sensitive; FLITE: CMU phones, any case */
} entry;

/* Names are looked up exactly, then without stress/length marks, then with
 * trailing characters dropped one at a time ("r." -> "r", "@2" -> "@").
 * Where the engines disagree on a name ("y": CMU glide, espeak-ng's French
 * /y/) each gets its own row. Diphthongs take their first, more open part. */
static const entry table[] = {
    /* both: shared consonant letters */
    {"p", MIRA_VISEME_PP, BOTH}, {"b", MIRA_VISEME_PP, BOTH}, {"m", MIRA_VISEME_PP, BOTH},
    {"f", MIRA_VISEME_FF, BOTH}, {"v", MIRA_VISEME_FF, BOTH},
    {"t", MIRA_VISEME_DD, BOTH}, {"d", MIRA_VISEME_DD, BOTH},
    {"k", MIRA_VISEME_KK, BOTH}, {"g", MIRA_VISEME_KK, BOTH},
    {"s", MIRA_VISEME_SS, BOTH}, {"z", MIRA_VISEME_SS, BOTH},
    {"n", MIRA_VISEME_NN, BOTH}, {"l", MIRA_VISEME_NN, BOTH},
    {"r", MIRA_VISEME_RR, BOTH}, {"w", MIRA_VISEME_OU, BOTH},
    /* flite / CMU (ARPAbet) */
    {"th", MIRA_VISEME_TH, FLITE}, {"dh", MIRA_VISEME_TH, FLITE},
    {"ng", MIRA_VISEME_KK, FLITE}, {"hh", MIRA_VISEME_KK, FLITE},
    {"ch", MIRA_VISEME_CH, FLITE}, {"jh", MIRA_VISEME_CH, FLITE},
    {"sh", MIRA_VISEME_CH, FLITE}, {"zh", MIRA_VISEME_CH, FLITE},
    {"y", MIRA_VISEME_IH, FLITE}, {"er", MIRA_VISEME_RR, FLITE},
    {"aa", MIRA_VISEME_AA, BOTH}, {"ae", MIRA_VISEME_AA, FLITE},
    {"ah", MIRA_VISEME_AA, FLITE}, {"aw", MIRA_VISEME_AA, FLITE},
    {"ay", MIRA_VISEME_AA, FLITE}, {"ax", MIRA_VISEME_E, FLITE},
    {"eh", MIRA_VISEME_E, FLITE}, {"ey", MIRA_VISEME_E, FLITE},
    {"ih", MIRA_VISEME_IH, FLITE}, {"iy", MIRA_VISEME_IH, FLITE},
    {"ao", MIRA_VISEME_OH, FLITE}, {"ow", MIRA_VISEME_OH, FLITE},
    {"oy", MIRA_VISEME_OH, FLITE}, {"uh", MIRA_VISEME_OU, FLITE},
    {"uw", MIRA_VISEME_OU, FLITE},
    /* espeak-ng consonants (Kirshenbaum-style mnemonics) */
    {"T", MIRA_VISEME_TH, ESPEAK}, {"D", MIRA_VISEME_TH, ESPEAK},
    {"N", MIRA_VISEME_KK, ESPEAK}, {"h", MIRA_VISEME_KK, ESPEAK},
    {"x", MIRA_VISEME_KK, ESPEAK}, {"X", MIRA_VISEME_KK, ESPEAK},
    {"G", MIRA_VISEME_KK, ESPEAK}, {"c", MIRA_VISEME_KK, ESPEAK},
    {"J", MIRA_VISEME_KK, ESPEAK}, {"q", MIRA_VISEME_KK, ESPEAK},
    {"S", MIRA_VISEME_CH, ESPEAK}, {"Z", MIRA_VISEME_CH, ESPEAK},
    {"tS", MIRA_VISEME_CH, ESPEAK}, {"dZ", MIRA_VISEME_CH, ESPEAK},
    {"C", MIRA_VISEME_CH, ESPEAK}, {"ts", MIRA_VISEME_SS, ESPEAK},
    {"dz", MIRA_VISEME_SS, ESPEAK}, {"pf", MIRA_VISEME_PP, ESPEAK},
    {"B", MIRA_VISEME_PP, ESPEAK}, {"n^", MIRA_VISEME_NN, ESPEAK},
    {"l^", MIRA_VISEME_NN, ESPEAK}, {"L", MIRA_VISEME_NN, ESPEAK},
    {"@L", MIRA_VISEME_NN, ESPEAK}, {"R", MIRA_VISEME_RR, ESPEAK},
    {"rr", MIRA_VISEME_RR, ESPEAK}, {"j", MIRA_VISEME_IH, ESPEAK},
    /* espeak-ng vowels */
    {"a", MIRA_VISEME_AA, ESPEAK}, {"A", MIRA_VISEME_AA, ESPEAK},
    {"A:", MIRA_VISEME_AA, ESPEAK}, {"V", MIRA_VISEME_AA, ESPEAK},
    {"&", MIRA_VISEME_AA, ESPEAK}, {"aI", MIRA_VISEME_AA, ESPEAK},
    {"aU", MIRA_VISEME_AA, ESPEAK}, {"A@", MIRA_VISEME_AA, ESPEAK},
    {"e", MIRA_VISEME_E, ESPEAK}, {"E", MIRA_VISEME_E, ESPEAK},
    {"@", MIRA_VISEME_E, ESPEAK}, {"@@", MIRA_VISEME_E, ESPEAK},
    {"eI", MIRA_VISEME_E, ESPEAK}, {"e@", MIRA_VISEME_E, ESPEAK},
    {"3", MIRA_VISEME_RR, ESPEAK}, {"3:", MIRA_VISEME_RR, ESPEAK},
    {"I", MIRA_VISEME_IH, ESPEAK}, {"i", MIRA_VISEME_IH, ESPEAK},
    {"i:", MIRA_VISEME_IH, ESPEAK}, {"I@", MIRA_VISEME_IH, ESPEAK},
    {"i@", MIRA_VISEME_IH, ESPEAK}, {"I#", MIRA_VISEME_IH, ESPEAK},
    {"O", MIRA_VISEME_OH, ESPEAK}, {"O:", MIRA_VISEME_OH, ESPEAK},
    {"o", MIRA_VISEME_OH, ESPEAK}, {"0", MIRA_VISEME_OH, ESPEAK},
    {"Q", MIRA_VISEME_OH, ESPEAK}, {"o@", MIRA_VISEME_OH, ESPEAK},
    {"O@", MIRA_VISEME_OH, ESPEAK}, {"OI", MIRA_VISEME_OH, ESPEAK},
    {"oU", MIRA_VISEME_OH, ESPEAK}, {"Y", MIRA_VISEME_OH, ESPEAK},
    {"W", MIRA_VISEME_OH, ESPEAK}, {"U", MIRA_VISEME_OU, ESPEAK},
    {"u", MIRA_VISEME_OU, ESPEAK}, {"u:", MIRA_VISEME_OU, ESPEAK},
    {"U@", MIRA_VISEME_OU, ESPEAK}, {"y", MIRA_VISEME_OU, ESPEAK},
};

/* Stress, length, nasal and palatal (espeak-ng ';') marks: they say little
 * about the mouth shape of the sound they modify. */
static int is_mark(char c) {
  return c && strchr("',%=:~\";", c) != NULL;
}

static int lookup(const char *ph, unsigned engines, mira_viseme *out) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    const entry *e = &table[i];
    if (!(e->engines & engines))
      continue;
    int hit = engines == FLITE ? strcasecmp(e->ph, ph) == 0 : strcmp(e->ph, ph) == 0;
    if (hit) {
      *out = e->v;
      return 1;
    }
  }
  return 0;
}

static int is_pause(const char *ph) {
  return !ph || !*ph || ph[0] == '_' || strcasecmp(ph, "pau") == 0 ||
         strcasecmp(ph, "sil") == 0 || strcmp(ph, "|") == 0 || strcmp(ph, "||") == 0;
}

/* Unknown symbols: vowel-like first letter -> the open vowel, else DD. */
static mira_viseme guess(const char *ph) {
  return ph[0] && strchr("aeiouyAEIOUVY@3&0Q", ph[0]) ? MIRA_VISEME_AA : MIRA_VISEME_DD;
}

static mira_viseme of_engine(const char *ph, unsigned engines) {
  char buf[MAX_PHONEME];
  size_t n = 0;
  mira_viseme v;
  if (lookup(ph, engines, &v))
    return v;
  for (const char *p = ph; *p && n + 1 < sizeof buf; p++)
    if (!is_mark(*p))
      buf[n++] = *p;
  buf[n] = 0;
  if (!n) /* "'" or ":" alone: a mark, not a sound */
    return MIRA_VISEME_SIL;
  for (; n; buf[--n] = 0) /* "ah0" -> "ah", "r." -> "r", "@2" -> "@" */
    if (lookup(buf, engines, &v))
      return v;
  return guess(ph + strspn(ph, "',%=\";"));
}

mira_viseme mira_viseme_of(const char *engine, const char *phoneme) {
  if (is_pause(phoneme))
    return MIRA_VISEME_SIL;
  if (engine && strcmp(engine, "flite") == 0)
    return of_engine(phoneme, FLITE);
  if (engine && strcmp(engine, "espeak-ng") == 0)
    return of_engine(phoneme, ESPEAK);
  /* Unknown engine: espeak-ng's table first (it is the superset), CMU if
   * only that one knows the name ("hh", "ch"). */
  mira_viseme v;
  if (lookup(phoneme, ESPEAK, &v) || lookup(phoneme, FLITE, &v))
    return v;
  return of_engine(phoneme, BOTH);
}

static const char *const names[MIRA_VISEME_COUNT] = {
    "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou",
};

const char *mira_viseme_name(mira_viseme v) {
  return (unsigned)v < MIRA_VISEME_COUNT ? names[v] : "sil";
}

/* Jaw drop, eyeballed from the Oculus reference shapes: closed for
 * silence and bilabials, wide for aa, rounded vowels half-open. */
static const float openness[MIRA_VISEME_COUNT] = {
    [MIRA_VISEME_SIL] = 0.0f, [MIRA_VISEME_PP] = 0.0f, [MIRA_VISEME_FF] = 0.15f,
    [MIRA_VISEME_TH] = 0.25f, [MIRA_VISEME_DD] = 0.3f, [MIRA_VISEME_KK] = 0.35f,
    [MIRA_VISEME_CH] = 0.25f, [MIRA_VISEME_SS] = 0.15f, [MIRA_VISEME_NN] = 0.25f,
    [MIRA_VISEME_RR] = 0.35f, [MIRA_VISEME_AA] = 1.0f, [MIRA_VISEME_E] = 0.6f,
    [MIRA_VISEME_IH] = 0.4f, [MIRA_VISEME_OH] = 0.7f, [MIRA_VISEME_OU] = 0.35f,
};

float mira_viseme_openness(mira_viseme v) {
  return (unsigned)v < MIRA_VISEME_COUNT ? openness[v] : 0.0f;
}
