/* WebVTT captions from word events (see video.h for the rules).
 *
 * Words become tokens: the word's span widened to whole UTF-8 characters
 * and to the punctuation touching it in the text (up to whitespace, markup
 * or the next word), so "Hello," keeps its comma and «oui» its quotes.
 * Words whose spans overlap (an engine reading "42" as two words) merge.
 * A token wider than a line is cut into line-sized pieces between
 * characters, its time shared out by characters.
 *
 * Cues are cut greedily: from the first unplaced token, take as many tokens
 * as fit (2 lines, MIRA_CAPTIONS_MAX_MS, up to a pause), then, unless that
 * run reaches the end or a pause, step back to its last sentence end if
 * there is one, else to its last comma if that keeps at least half the
 * text, else keep the whole run. Inside a
 * cue, the line break goes where the longer line is shortest, with a bonus
 * for breaking after punctuation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/grow.h"
#include "engines/video/video.h"

#define LINE MIRA_CAPTIONS_LINE_CHARS
#define SENTENCE_BONUS 10 /* line-break score, in characters of imbalance */
#define COMMA_BONUS 5

enum { BRK_NONE, BRK_COMMA, BRK_SENTENCE };

typedef struct tok {
  int32_t b, e;       /* shown bytes [b, e) of text */
  int chars;          /* code points */
  int32_t start, end; /* ms */
  int space;          /* a space before it, when not first on its line */
  int brk;            /* BRK_*: how good a cue or line end after it is */
  int pause;          /* a pause of MIRA_CAPTIONS_PAUSE_MS or more follows: the cue ends here */
} tok;

typedef struct buf {
  char *p;
  size_t len, cap;
  int oom;
} buf;

static int cont(unsigned char c) { return (c & 0xC0) == 0x80; }

/* Strict UTF-8 (no overlong forms, surrogates or values past U+10FFFF);
 * returns the offset of the first bad byte, or -1. */
static long bad_utf8(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned c = s[i], len = c < 0x80 ? 1 : c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3
                                         : c >= 0xF0 && c < 0xF5 ? 4 : 0;
    if (!len || i + len > n) return (long)i;
    for (unsigned k = 1; k < len; k++)
      if (!cont(s[i + k])) return (long)i;
    if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0) || (c == 0xF0 && s[i + 1] < 0x90) ||
        (c == 0xF4 && s[i + 1] >= 0x90))
      return (long)i;
    i += len;
  }
  return -1;
}

static int stop(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || c == '<' || c == '>'; }

static int count_chars(const char *s, int32_t b, int32_t e) {
  int n = 0;
  for (int32_t i = b; i < e; i++) n += !cont((unsigned char)s[i]);
  return n;
}

/* The code point before byte e (e > 0), and where it starts. */
static unsigned prev_cp(const char *s, int32_t *e) {
  const unsigned char *u = (const unsigned char *)s;
  int32_t i = *e - 1;
  while (i > 0 && cont(u[i])) i--;
  unsigned c = u[i], len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4, cp = len == 1 ? c : c & (0x3F >> (len - 1));
  for (unsigned k = 1; k < len; k++) cp = cp << 6 | (u[i + k] & 0x3F);
  *e = i;
  return cp;
}

/* Closing quotes and brackets, skipped to find a token's last punctuation. */
static int closer(unsigned cp) {
  return cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == '}' || cp == 0x2019 || cp == 0x201D ||
         cp == 0xBB || cp == 0x300D || cp == 0x300F || cp == 0xFF09;
}

static int brk_of(const char *s, int32_t b, int32_t e) {
  unsigned cp = 0;
  while (e > b && closer(cp = prev_cp(s, &e))) cp = 0;
  switch (cp) {
  case '.': case '!': case '?': case ';': case 0x2026: case 0x3002: case 0xFF01: case 0xFF1F: case 0xFF1B:
    return BRK_SENTENCE;
  case ',': case ':': case 0x2013: case 0x2014: case 0x3001: case 0xFF0C: case 0xFF1A:
    return BRK_COMMA;
  default:
    return BRK_NONE;
  }
}

static int check_words(const char *text, size_t len, const mira_word_event *w, size_t n, char *err,
                       size_t errlen) {
  for (size_t i = 0; i < n; i++) {
    if (w[i].text_offset < 0 || w[i].text_len < 0 || (size_t)w[i].text_offset + (size_t)w[i].text_len > len)
      return mira_err(err, errlen, MIRA_EINVAL, "word %zu: span %d+%d is outside the text (%zu bytes)", i,
                      w[i].text_offset, w[i].text_len, len);
    if (w[i].start_ms < 0 || w[i].end_ms < w[i].start_ms || (i && w[i].start_ms < w[i - 1].start_ms))
      return mira_err(err, errlen, MIRA_EINVAL, "word %zu: times %d..%d ms are negative, reversed or unsorted",
                      i, w[i].start_ms, w[i].end_ms);
  }
  long bad = bad_utf8((const unsigned char *)text, len);
  if (bad >= 0) return mira_err(err, errlen, MIRA_EINVAL, "text is not valid UTF-8 (byte %ld)", bad);
  return 0;
}

/* Word spans -> tokens on whole characters, overlapping ones merged. */
static size_t raw_tokens(const char *text, size_t len, const mira_word_event *w, size_t n, tok *t) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    int32_t b = w[i].text_offset, e = b + w[i].text_len;
    if (b == e) continue;
    while (b > 0 && cont((unsigned char)text[b])) b--;
    while ((size_t)e < len && cont((unsigned char)text[e])) e++;
    if (k && b < t[k - 1].e) { /* same text read as several words */
      t[k - 1].e = e > t[k - 1].e ? e : t[k - 1].e;
      t[k - 1].end = w[i].end_ms > t[k - 1].end ? w[i].end_ms : t[k - 1].end;
      continue;
    }
    t[k++] = (tok){.b = b, .e = e, .start = w[i].start_ms, .end = w[i].end_ms};
  }
  return k;
}

/* Widens tokens over touching punctuation and fills chars, space and brk. */
static void widen(const char *text, size_t len, tok *t, size_t k) {
  for (size_t i = 0; i < k; i++) {
    int32_t lo = i ? t[i - 1].e : 0, hi = i + 1 < k ? t[i + 1].b : (int32_t)len;
    while (t[i].b > lo && !stop(text[t[i].b - 1])) t[i].b--;
    while (t[i].e < hi && !stop(text[t[i].e])) t[i].e++;
    t[i].space = i && t[i].b > t[i - 1].e;
    t[i].chars = count_chars(text, t[i].b, t[i].e);
    t[i].brk = brk_of(text, t[i].b, t[i].e);
    if (i && t[i].start - t[i - 1].end >= MIRA_CAPTIONS_PAUSE_MS) t[i - 1].pause = 1;
  }
}

/* Cuts tokens wider than a line into pieces of LINE characters; out has
 * room for k + len / LINE + 1 tokens. */
static size_t cut_long(const char *text, const tok *in, size_t k, tok *out) {
  size_t m = 0;
  for (size_t i = 0; i < k; i++) {
    tok t = in[i];
    int done = 0;
    while (t.chars - done > LINE) {
      int32_t e = t.b;
      for (int c = 0; c <= LINE; e++) c += !cont((unsigned char)text[e]); /* stops on char LINE+1 */
      e--;
      int32_t at = in[i].start + (int32_t)((int64_t)(in[i].end - in[i].start) * (done + LINE) / in[i].chars);
      out[m++] = (tok){.b = t.b, .e = e, .chars = LINE, .start = t.start, .end = at, .space = t.space};
      /* brk and pause stay with the last piece */
      t.b = e, t.start = at, t.space = 0, done += LINE;
    }
    t.chars -= done;
    out[m++] = t;
  }
  return m;
}

/* Characters of tokens i..j on one line. */
static int width(const tok *t, size_t i, size_t j) {
  int w = t[i].chars;
  for (size_t k = i + 1; k <= j; k++) w += t[k].space + t[k].chars;
  return w;
}

/* Whether tokens i..j fit on two lines (greedy is exact: no token is wider
 * than a line). */
static int fits(const tok *t, size_t i, size_t j) {
  size_t k = i;
  while (k < j && width(t, i, k + 1) <= LINE) k++;
  return k == j ? width(t, i, j) <= LINE : width(t, k + 1, j) <= LINE;
}

/* Last token of the cue starting at i. */
static size_t cue_end(const tok *t, size_t n, size_t i) {
  size_t j = i;
  while (!t[j].pause && j + 1 < n && fits(t, i, j + 1) && t[j + 1].end - t[i].start <= MIRA_CAPTIONS_MAX_MS)
    j++;
  if (j + 1 == n || t[j].pause) return j;
  for (size_t k = j + 1; k-- > i;)
    if (t[k].brk == BRK_SENTENCE) return k;
  for (size_t k = j + 1; k-- > i;)
    if (t[k].brk == BRK_COMMA && 2 * width(t, i, k) >= width(t, i, j)) return k;
  return j;
}

/* Last token of the first line of cue i..j (j when one line). */
static size_t line_end(const tok *t, size_t i, size_t j) {
  if (width(t, i, j) <= LINE) return j;
  size_t best = i;
  int best_cost = 1 << 30;
  for (size_t k = i; k < j; k++) {
    int a = width(t, i, k), b = width(t, k + 1, j);
    if (a > LINE || b > LINE) continue;
    int cost = (a > b ? a : b) - (t[k].brk == BRK_SENTENCE ? SENTENCE_BONUS : t[k].brk ? COMMA_BONUS : 0);
    if (cost < best_cost) best_cost = cost, best = k;
  }
  return best;
}

static void put(buf *o, const char *s, size_t n) {
  if (o->oom || mira_grow((void **)&o->p, &o->cap, o->len + n + 1, 1, 1024)) {
    o->oom = 1;
    return;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = 0;
}

static void put_time(buf *o, int32_t ms) {
  char s[32];
  int n = snprintf(s, sizeof s, "%02d:%02d:%02d.%03d", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
  put(o, s, (size_t)n);
}

/* Tokens i..j on one line, escaped; whitespace inside a span becomes a space. */
static void put_line(buf *o, const char *text, const tok *t, size_t i, size_t j) {
  for (size_t k = i; k <= j; k++) {
    if (k > i && t[k].space) put(o, " ", 1);
    for (int32_t c = t[k].b; c < t[k].e; c++) {
      char ch = text[c];
      if (ch == '&') put(o, "&amp;", 5);
      else if (ch == '<') put(o, "&lt;", 4);
      else if (ch == '>') put(o, "&gt;", 4);
      else put(o, stop(ch) ? " " : &ch, 1);
    }
  }
  put(o, "\n", 1);
}

static void put_cue(buf *o, const char *text, const tok *t, size_t n, size_t i, size_t j) {
  int32_t start = t[i].start, end = t[j].end;
  if (j + 1 < n) {
    int32_t next = t[j + 1].start;
    if (next - end < MIRA_CAPTIONS_BRIDGE_MS) end = next; /* also pulls in an overlap */
  }
  if (end <= start) end = j + 1 < n && t[j + 1].start <= start ? start : start + 1;
  put_time(o, start);
  put(o, " --> ", 5);
  put_time(o, end);
  put(o, "\n", 1);
  size_t k = line_end(t, i, j);
  put_line(o, text, t, i, k);
  if (k < j) put_line(o, text, t, k + 1, j);
  put(o, "\n", 1);
}

int mira_captions_vtt(const char *text, const mira_word_event *words, size_t n, char **out, char *err,
                      size_t errlen) {
  *out = NULL;
  size_t len = text ? strlen(text) : 0;
  if (n && !text) return mira_err(err, errlen, MIRA_EINVAL, "word events but no text");
  int rc = check_words(text ? text : "", len, words, n, err, errlen);
  if (rc) return rc;
  tok *raw = malloc((n + 1) * sizeof *raw), *t = malloc((n + len / LINE + 1) * sizeof *t);
  buf o = {0};
  if (raw && t) {
    size_t k = raw_tokens(text, len, words, n, raw);
    widen(text, len, raw, k);
    k = cut_long(text, raw, k, t);
    put(&o, "WEBVTT\n\n", 8);
    for (size_t i = 0; i < k; i++) {
      size_t j = cue_end(t, k, i);
      put_cue(&o, text, t, k, i, j);
      i = j;
    }
  }
  free(raw);
  free(t);
  if (!raw || !t || o.oom) {
    free(o.p);
    return mira_err(err, errlen, MIRA_ENOMEM, "out of memory writing captions");
  }
  *out = o.p;
  return 0;
}
