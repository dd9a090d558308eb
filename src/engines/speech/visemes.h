/* Phoneme -> viseme: the 15 Oculus/Meta visemes the animator draws.
 *
 *   mira_viseme v = mira_viseme_of("flite", "ay");   // MIRA_VISEME_AA
 *   const char *n = mira_viseme_name(v);              // "aa"
 *
 * One table covers espeak-ng mnemonics (English and the common IPA-like
 * symbols of other languages) and flite's CMU phones; anything unknown maps
 * to MIRA_VISEME_SIL for pauses and to the nearest open vowel (AA) or
 * consonant class otherwise, never to nothing. docs/VISEMES.md lists the
 * table. Thread-safety: thread-safe, no state.
 */
#ifndef MIRA_ENGINES_SPEECH_VISEMES_H
#define MIRA_ENGINES_SPEECH_VISEMES_H

typedef enum mira_viseme {
  MIRA_VISEME_SIL = 0, /* silence, mouth closed/relaxed */
  MIRA_VISEME_PP,      /* p b m: lips pressed */
  MIRA_VISEME_FF,      /* f v: lower lip to teeth */
  MIRA_VISEME_TH,      /* th dh: tongue between teeth */
  MIRA_VISEME_DD,      /* t d */
  MIRA_VISEME_KK,      /* k g ng */
  MIRA_VISEME_CH,      /* ch jh sh zh */
  MIRA_VISEME_SS,      /* s z */
  MIRA_VISEME_NN,      /* n l */
  MIRA_VISEME_RR,      /* r er */
  MIRA_VISEME_AA,      /* a: open */
  MIRA_VISEME_E,       /* e */
  MIRA_VISEME_IH,      /* i: spread */
  MIRA_VISEME_OH,      /* o: rounded */
  MIRA_VISEME_OU,      /* u w: tight round */
  MIRA_VISEME_COUNT
} mira_viseme;

/* engine: "espeak-ng" or "flite" (NULL: try both tables). */
mira_viseme mira_viseme_of(const char *engine, const char *phoneme);
const char *mira_viseme_name(mira_viseme v);
/* Typical mouth opening 0..1 for a viseme (jaw drop), for simple animators. */
float mira_viseme_openness(mira_viseme v);

#endif
