/* The timeline as JSON: what `mira speak --timeline` writes and what the
 * animator reads. Consecutive phonemes with the same viseme are merged into
 * one viseme span. */
#include "engines/speech/timeline.h"

#include "engines/speech/visemes.h"

static json_t *phonemes_json(const mira_speech *s, const char *engine) {
  json_t *arr = json_array();
  for (size_t i = 0; i < s->nphonemes; i++) {
    const mira_phoneme_event *p = &s->phonemes[i];
    json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:i}", "phoneme", p->name, "viseme",
                                         mira_viseme_name(mira_viseme_of(engine, p->name)), "start",
                                         (int)p->start_ms, "end", (int)p->end_ms));
  }
  return arr;
}

static json_t *visemes_json(const mira_speech *s, const char *engine) {
  json_t *arr = json_array();
  json_t *last = NULL;
  mira_viseme prev = MIRA_VISEME_COUNT;
  for (size_t i = 0; i < s->nphonemes; i++) {
    const mira_phoneme_event *p = &s->phonemes[i];
    mira_viseme v = mira_viseme_of(engine, p->name);
    if (last && v == prev) {
      json_object_set_new(last, "end", json_integer(p->end_ms));
      continue;
    }
    last = json_pack("{s:s,s:i,s:i}", "viseme", mira_viseme_name(v), "start", (int)p->start_ms, "end",
                     (int)p->end_ms);
    json_array_append_new(arr, last);
    prev = v;
  }
  return arr;
}

static json_t *words_json(const mira_speech *s, const char *text) {
  json_t *arr = json_array();
  for (size_t i = 0; i < s->nwords; i++) {
    const mira_word_event *w = &s->words[i];
    json_array_append_new(arr, json_pack("{s:s%,s:i,s:i}", "text", text + w->text_offset,
                                         (size_t)w->text_len, "start", (int)w->start_ms, "end",
                                         (int)w->end_ms));
  }
  return arr;
}

json_t *mira_speech_timeline_json(const mira_speech *s, const char *engine, const char *text) {
  return json_pack("{s:i,s:I,s:o,s:o,s:o}", "sampleRate", s->sample_rate, "durationMs",
                   (json_int_t)mira_speech_duration_ms(s), "words", words_json(s, text), "phonemes",
                   phonemes_json(s, engine), "visemes", visemes_json(s, engine));
}
