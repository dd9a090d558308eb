/* Engine-independent speech synthesis: validates the text, splits it at
 * SSML-like <break/> tags, has the engine speak each piece, and joins the
 * pieces' PCM and timelines with silence in between. See speech.h.
 *
 * A break sets the pause, as in SSML and espeak-ng's own -m mode: the
 * near-silence an engine ends (or starts) a piece with next to a break is
 * trimmed, so "Hello.<break time="700ms"/>Bye" pauses ~700 ms, not 700 ms
 * plus the engine's sentence pause.
 *
 * No state: thread-safe as far as the engine is. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/grow.h"
#include "engines/speech/speech.h"

#define DEFAULT_BREAK_MS 500      /* SSML's default for a bare <break/> is "medium" */
#define MAX_BREAK_MS 10000        /* per <break/> tag */
#define MAX_BREAKS_TOTAL_MS 300000 /* all breaks together: bounds the silence we allocate */
#define SILENCE_LEVEL 64          /* |sample| at or below: silence, about -54 dBFS */

const mira_tts_engine *mira_tts_engine_find(const char *name) {
  static const mira_tts_engine *const all[] = {&mira_tts_espeak, &mira_tts_flite};
  for (size_t i = 0; name && i < sizeof all / sizeof *all; i++)
    if (!strcmp(all[i]->name, name)) return all[i];
  return NULL;
}

void mira_speech_free(mira_speech *s) {
  if (!s) return;
  free(s->pcm);
  free(s->phonemes);
  free(s->words);
  memset(s, 0, sizeof *s);
}

int64_t mira_speech_duration_ms(const mira_speech *s) {
  if (!s || s->sample_rate <= 0) return 0;
  return (int64_t)s->samples * 1000 / s->sample_rate;
}

/* ---- text checks ---- */

/* Strict UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
 * Returns the character count, or -1 with *bad at the first bad byte. */
static long utf8_count(const unsigned char *s, size_t *bad) {
  long n = 0;
  for (size_t i = 0; s[i]; n++) {
    unsigned c = s[i];
    size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (!len || (len > 1 && (s[i + 1] < lo || s[i + 1] > hi))) goto fail;
    for (size_t k = 2; k < len; k++)
      if ((s[i + k] & 0xC0) != 0x80) goto fail;
    i += len;
    continue;
  fail:
    *bad = i;
    return -1;
  }
  return n;
}

static int check_text(const char *text, char *err, size_t errlen) {
  size_t bad = 0;
  long n = utf8_count((const unsigned char *)text, &bad);
  if (n < 0) return mira_err(err, errlen, MIRA_EINVAL, "text is not valid UTF-8 (byte %zu)", bad);
  if (n > MIRA_SPEECH_MAX_TEXT)
    return mira_err(err, errlen, MIRA_EINVAL, "text is %ld characters; the limit is %d", n,
                    MIRA_SPEECH_MAX_TEXT);
  return 0;
}

/* ---- markup ---- */

typedef struct segment {
  size_t off, len;   /* in markup.clean */
  int32_t pause_ms;  /* silence before it */
  int after_break, before_break;
} segment;

/* The text without tags, one NUL-terminated segment per stretch between
 * breaks; map[i] is the original byte offset of clean[i]. */
typedef struct markup {
  char *clean;
  int32_t *map;
  size_t n;
  segment *seg;
  size_t nseg;
  int32_t tail_ms, total_ms; /* silence after the last segment; all breaks */
  int broke;                  /* a break since the last segment */
} markup;

static void markup_free(markup *m) {
  free(m->clean);
  free(m->map);
  free(m->seg);
}

/* Length of the tag at s ('<' ... '>'), or 0 when this '<' is plain text:
 * like HTML, a tag starts with a letter, '/', '!' or '?'. */
static size_t tag_len(const char *s) {
  if (!isalpha((unsigned char)s[1]) && !strchr("/!?", s[1])) return 0;
  size_t k = 1 + strcspn(s + 1, "<>");
  return s[k] == '>' ? k + 1 : 0;
}

static int is_break_tag(const char *t, size_t len) {
  return len > 6 && !strncasecmp(t, "<break", 6) && strchr(" \t\r\n/>", t[6]);
}

/* "500ms", "1.5s" -> milliseconds, or -1. */
static long parse_time(const char *v) {
  long ms = 0, frac = 0, scale = 1;
  size_t i = 0, digits = 0;
  for (; isdigit((unsigned char)v[i]) && digits < 9; i++, digits++) ms = ms * 10 + (v[i] - '0');
  if (!digits) return -1;
  if (v[i] == '.') {
    if (!isdigit((unsigned char)v[++i])) return -1;
    for (; isdigit((unsigned char)v[i]); i++)
      if (scale < 1000000) frac = frac * 10 + (v[i] - '0'), scale *= 10;
  }
  if (!strcmp(v + i, "ms")) return ms + (frac * 2 >= scale);
  if (!strcmp(v + i, "s")) return ms * 1000 + (frac * 1000 + scale / 2) / scale;
  return -1;
}

/* The value (after '=' and spaces) of attribute `name` in a tag, or NULL. */
static const char *find_attr(const char *t, const char *name) {
  size_t n = strlen(name);
  for (; *t; t++) {
    if (!isspace((unsigned char)t[0]) || strncasecmp(t + 1, name, n)) continue;
    const char *a = t + 1 + n;
    a += strspn(a, " \t\r\n");
    if (*a == '=') return a + 1 + strspn(a + 1, " \t\r\n");
  }
  return NULL;
}

/* The time="..." attribute of a break tag, in ms; DEFAULT_BREAK_MS without. */
static int break_ms(const char *t, size_t len, int32_t *ms, char *err, size_t errlen) {
  char tag[256], val[64];
  if (len >= sizeof tag) return mira_err(err, errlen, MIRA_EINVAL, "break tag is too long");
  memcpy(tag, t, len);
  tag[len] = 0;
  const char *a = find_attr(tag + 6, "time");
  *ms = DEFAULT_BREAK_MS;
  if (!a) return 0;
  const char *q = (*a == '"' || *a == '\'') ? strchr(a + 1, *a) : NULL;
  if (!q) return mira_err(err, errlen, MIRA_EINVAL, "bad break tag '%s'", tag);
  snprintf(val, sizeof val, "%.*s", (int)(q - a - 1), a + 1);
  long v = parse_time(val);
  if (v < 0)
    return mira_err(err, errlen, MIRA_EINVAL, "bad break time '%s' (want e.g. 500ms or 1.5s)", val);
  if (v > MAX_BREAK_MS)
    return mira_err(err, errlen, MIRA_EINVAL, "break time '%s' is over the %d s limit", val,
                    MAX_BREAK_MS / 1000);
  *ms = (int32_t)v;
  return 0;
}

static int only_space(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!isspace((unsigned char)s[i])) return 0;
  return 1;
}

/* Ends the current segment at a break (at_break) or the end of the text; a
 * segment with nothing to say leaves its pause to the next one. */
static void close_segment(markup *m, size_t *start, int32_t *pause, int at_break) {
  if (only_space(m->clean + *start, m->n - *start)) {
    m->n = *start;
    m->broke |= at_break;
    return;
  }
  m->seg[m->nseg++] = (segment){.off = *start, .len = m->n - *start, .pause_ms = *pause,
                                .after_break = m->broke, .before_break = at_break};
  m->broke = at_break;
  m->map[m->n] = m->map[m->n - 1] + 1;
  m->clean[m->n++] = 0;
  *start = m->n;
  *pause = 0;
}

static int add_break(markup *m, const char *t, size_t len, size_t *start, int32_t *pause,
                     char *err, size_t errlen) {
  int32_t ms;
  int rc = break_ms(t, len, &ms, err, errlen);
  if (rc) return rc;
  m->total_ms += ms;
  if (m->total_ms > MAX_BREAKS_TOTAL_MS)
    return mira_err(err, errlen, MIRA_EINVAL, "breaks add up to over %d s",
                    MAX_BREAKS_TOTAL_MS / 1000);
  close_segment(m, start, pause, 1);
  *pause += ms;
  return 0;
}

/* Splits text at breaks and removes other tags and stray angle brackets. */
static int parse_markup(const char *text, markup *m, char *err, size_t errlen) {
  size_t len = strlen(text), start = 0;
  int32_t pause = 0;
  memset(m, 0, sizeof *m);
  /* Each segment adds one NUL; each but the last ends at a break, which
   * took more bytes than that. */
  m->clean = malloc(len + 2);
  m->map = malloc((len + 2) * sizeof *m->map);
  m->seg = malloc((len / 4 + 2) * sizeof *m->seg);
  if (!m->clean || !m->map || !m->seg) return mira_err(err, errlen, MIRA_ENOMEM, "out of memory");
  for (size_t i = 0; i < len;) {
    size_t tl = text[i] == '<' ? tag_len(text + i) : 0;
    if (tl && is_break_tag(text + i, tl)) {
      int rc = add_break(m, text + i, tl, &start, &pause, err, errlen);
      if (rc) return rc;
    } else if (!tl && text[i] != '<' && text[i] != '>') {
      m->map[m->n] = (int32_t)i;
      m->clean[m->n++] = text[i];
      tl = 1;
    }
    i += tl ? tl : 1;
  }
  close_segment(m, &start, &pause, 0);
  m->tail_ms = pause;
  if (!m->nseg) return mira_err(err, errlen, MIRA_EINVAL, "text is empty");
  return 0;
}

/* ---- joining pieces ---- */

typedef struct joiner {
  mira_speech *out;
  size_t pcm_cap, ph_cap, w_cap;
  const char *pause; /* the engine's pause mnemonic */
} joiner;

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  return mira_grow(p, cap, need, size, 256);
}

/* Appends a phoneme, keeping phonemes gap-free (rounding to whole ms between
 * pieces can leave 1 ms) and merging a pause into a pause before it. */
static int push_phoneme(joiner *j, const char *name, int32_t start, int32_t end) {
  mira_speech *o = j->out;
  mira_phoneme_event *last = o->nphonemes ? &o->phonemes[o->nphonemes - 1] : NULL;
  if (end <= start) return 0;
  if (last && !strcmp(name, j->pause) && !strcmp(last->name, j->pause)) {
    last->end_ms = end;
    return 0;
  }
  if (last && last->end_ms < start) last->end_ms = start;
  if (grow((void **)&o->phonemes, &j->ph_cap, o->nphonemes + 1, sizeof *o->phonemes))
    return MIRA_ENOMEM;
  mira_phoneme_event *p = &o->phonemes[o->nphonemes++];
  snprintf(p->name, sizeof p->name, "%s", name);
  p->start_ms = start;
  p->end_ms = end;
  return 0;
}

static int add_silence(joiner *j, int32_t ms) {
  mira_speech *o = j->out;
  size_t n = (size_t)ms * (size_t)o->sample_rate / 1000;
  int32_t start = (int32_t)mira_speech_duration_ms(o);
  if (!n) return 0;
  if (grow((void **)&o->pcm, &j->pcm_cap, o->samples + n, sizeof *o->pcm)) return MIRA_ENOMEM;
  memset(o->pcm + o->samples, 0, n * sizeof *o->pcm);
  o->samples += n;
  return push_phoneme(j, j->pause, start, (int32_t)mira_speech_duration_ms(o));
}

/* Which samples of a piece to keep, and where they go in the output. */
typedef struct cut {
  size_t head, tail;   /* samples trimmed at each end */
  int32_t shift, dur;  /* ms: head trimmed, and what is left */
  int32_t at;          /* ms: where the piece starts in the output */
} cut;

static int32_t clip(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Word spans come back relative to the segment; map them to the original. */
static int add_words(joiner *j, const mira_speech *p, const markup *m, const segment *sg,
                     const cut *c) {
  mira_speech *o = j->out;
  if (grow((void **)&o->words, &j->w_cap, o->nwords + p->nwords, sizeof *o->words))
    return MIRA_ENOMEM;
  for (size_t i = 0; i < p->nwords; i++) {
    mira_word_event w = p->words[i];
    if (w.text_offset < 0 || w.text_len <= 0 || (size_t)(w.text_offset + w.text_len) > sg->len)
      continue;
    size_t b = sg->off + (size_t)w.text_offset, e = b + (size_t)w.text_len - 1;
    w.text_offset = m->map[b];
    w.text_len = m->map[e] + 1 - m->map[b];
    w.start_ms = c->at + clip(w.start_ms - c->shift, 0, c->dur);
    w.end_ms = c->at + clip(w.end_ms - c->shift, 0, c->dur);
    o->words[o->nwords++] = w;
  }
  return 0;
}

static size_t to_samples(int32_t ms, int rate) { return ms > 0 ? (size_t)ms * (size_t)rate / 1000 : 0; }

/* Near-silent samples at the start of p, inside its leading pause only, so
 * speech is never cut. */
static size_t silent_head(const mira_speech *p, const char *pause) {
  if (!p->nphonemes || strcmp(p->phonemes[0].name, pause)) return 0;
  size_t lim = to_samples(p->phonemes[0].end_ms, p->sample_rate), n = 0;
  while (n < lim && n < p->samples && abs(p->pcm[n]) <= SILENCE_LEVEL) n++;
  return n;
}

static size_t silent_tail(const mira_speech *p, const char *pause, size_t head) {
  const mira_phoneme_event *l = p->nphonemes ? &p->phonemes[p->nphonemes - 1] : NULL;
  if (!l || strcmp(l->name, pause)) return 0;
  size_t from = to_samples(l->start_ms, p->sample_rate), n = 0;
  if (from < head) from = head;
  while (from + n < p->samples && abs(p->pcm[p->samples - 1 - n]) <= SILENCE_LEVEL) n++;
  return n;
}

static int add_piece(joiner *j, const mira_speech *p, const markup *m, const segment *sg) {
  mira_speech *o = j->out;
  cut c = {.at = (int32_t)mira_speech_duration_ms(o)};
  c.head = sg->after_break ? silent_head(p, j->pause) : 0;
  c.tail = sg->before_break ? silent_tail(p, j->pause, c.head) : 0;
  size_t n = p->samples - c.head - c.tail;
  c.shift = (int32_t)((int64_t)c.head * 1000 / p->sample_rate);
  c.dur = (int32_t)((int64_t)n * 1000 / p->sample_rate);
  if (grow((void **)&o->pcm, &j->pcm_cap, o->samples + n, sizeof *o->pcm)) return MIRA_ENOMEM;
  if (n) memcpy(o->pcm + o->samples, p->pcm + c.head, n * sizeof *o->pcm);
  o->samples += n;
  for (size_t i = 0; i < p->nphonemes; i++) {
    const mira_phoneme_event *ph = &p->phonemes[i];
    int32_t s = clip(ph->start_ms - c.shift, 0, c.dur), e = clip(ph->end_ms - c.shift, 0, c.dur);
    if (push_phoneme(j, ph->name, c.at + s, c.at + e)) return MIRA_ENOMEM;
  }
  return add_words(j, p, m, sg, &c);
}

static int speak_segment(const mira_tts_engine *e, const mira_tts_voice *v, const markup *m,
                         const segment *sg, joiner *j, char *err, size_t errlen) {
  mira_speech part = {0};
  int rc = e->synth(v, m->clean + sg->off, &part, err, errlen);
  if (rc) goto done;
  if (!j->out->sample_rate) j->out->sample_rate = part.sample_rate;
  if (part.sample_rate != j->out->sample_rate || part.sample_rate <= 0) {
    rc = mira_err(err, errlen, MIRA_EIO, "%s changed sample rate mid-text", e->name);
    goto done;
  }
  rc = add_silence(j, sg->pause_ms);
  if (!rc) rc = add_piece(j, &part, m, sg);
  if (rc) rc = mira_err(err, errlen, rc, "out of memory joining speech");
done:
  mira_speech_free(&part);
  return rc;
}

/* Long stretches are spoken a few sentences at a time. flite builds one
 * utterance for whatever text it is given, and for a 5000-character script
 * that takes ~300 MB; a sentence-sized piece takes a few MB and sounds the
 * same, since both engines end an utterance at each sentence anyway. */
#define CHUNK_MAX 600 /* bytes */

/* Where the piece starting at `from` should end: after the last sentence end
 * (or failing that, the last space) within CHUNK_MAX bytes. */
static size_t chunk_end(const char *s, size_t from, size_t end) {
  if (end - from <= CHUNK_MAX) return end;
  size_t limit = from + CHUNK_MAX, sentence = 0, space = 0;
  for (size_t i = from + 1; i < limit; i++) {
    if (s[i] != ' ' && s[i] != '\n') continue;
    space = i;
    if (strchr(".!?;:", s[i - 1])) sentence = i;
  }
  if (sentence) return sentence;
  if (space) return space;
  while (limit > from + 1 && ((unsigned char)s[limit] & 0xC0) == 0x80) limit--; /* not inside a character */
  return limit;
}

/* Speaks one segment piece by piece; the pieces join without trimming. */
static int speak_chunked(const mira_tts_engine *e, const mira_tts_voice *v, markup *m, const segment *sg,
                         joiner *j, char *err, size_t errlen) {
  size_t end = sg->off + sg->len;
  int rc = 0;
  for (size_t from = sg->off; !rc && from < end;) {
    size_t to = chunk_end(m->clean, from, end);
    segment piece = {.off = from, .len = to - from, .pause_ms = from == sg->off ? sg->pause_ms : 0,
                     .after_break = from == sg->off && sg->after_break, .before_break = to == end && sg->before_break};
    char saved = m->clean[to];
    m->clean[to] = 0;
    if (!only_space(m->clean + from, to - from) || from == sg->off)
      rc = speak_segment(e, v, m, &piece, j, err, errlen);
    m->clean[to] = saved;
    from = to;
  }
  return rc;
}

/* Makes the last phoneme reach the end of the audio, so phonemes cover it. */
static void close_timeline(mira_speech *o) {
  int32_t dur = (int32_t)mira_speech_duration_ms(o);
  if (o->nphonemes) o->phonemes[o->nphonemes - 1].end_ms = dur;
}

int mira_speech_check(const char *text, char *err, size_t errlen) {
  if (!text) return mira_err(err, errlen, MIRA_EINVAL, "no text");
  int rc = check_text(text, err, errlen);
  if (rc) return rc;
  markup m;
  rc = parse_markup(text, &m, err, errlen);
  markup_free(&m); /* parse_markup leaves m freeable, also on failure */
  return rc;
}

int mira_speech_synth(const mira_tts_voice *v, const char *text, mira_speech *out, char *err,
                      size_t errlen) {
  if (!out) return mira_err(err, errlen, MIRA_EINVAL, "no output");
  memset(out, 0, sizeof *out);
  if (!v || !text) return mira_err(err, errlen, MIRA_EINVAL, "no voice or text");
  const mira_tts_engine *e = mira_tts_engine_find(v->engine);
  if (!e)
    return mira_err(err, errlen, MIRA_EINVAL, "unknown speech engine '%s'",
                    v->engine ? v->engine : "(null)");
  markup m;
  int rc = check_text(text, err, errlen);
  if (rc) return rc;
  rc = parse_markup(text, &m, err, errlen);
  if (!rc) rc = e->init(err, errlen);
  joiner j = {.out = out, .pause = e == &mira_tts_flite ? "pau" : "_"};
  for (size_t i = 0; !rc && i < m.nseg; i++) rc = speak_chunked(e, v, &m, &m.seg[i], &j, err, errlen);
  if (!rc && add_silence(&j, m.tail_ms))
    rc = mira_err(err, errlen, MIRA_ENOMEM, "out of memory joining speech");
  markup_free(&m);
  if (rc) {
    mira_speech_free(out);
    return rc;
  }
  close_timeline(out);
  return 0;
}
