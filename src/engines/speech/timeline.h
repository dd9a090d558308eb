/* Speech timeline as JSON:
 *   {"sampleRate":16000,"durationMs":1234,
 *    "words":[{"text":"Hello","start":0,"end":420},...],
 *    "phonemes":[{"phoneme":"hh","viseme":"kk","start":0,"end":60},...],
 *    "visemes":[{"viseme":"kk","start":0,"end":60},...]}   (times in ms)
 * The caller owns the returned object (json_decref). Thread-safe. */
#ifndef MIRA_ENGINES_SPEECH_TIMELINE_H
#define MIRA_ENGINES_SPEECH_TIMELINE_H

#include <jansson.h>

#include "engines/speech/speech.h"

/* text: the text that was synthesised (word offsets point into it). */
json_t *mira_speech_timeline_json(const mira_speech *s, const char *engine, const char *text);

#endif
