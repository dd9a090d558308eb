/* Unit tests for src/engines/video (the MP4 writer and WebVTT captions) and
 * the thumbnail writers in src/engines/image/rgb.c.
 *
 * The MP4s are checked by the real tools, not by our own reading: ffprobe
 * for codecs, profile, sizes, rates, colour tags and durations, ffmpeg to
 * decode a frame back to RGB (with the BT.709 limited-range matrix the
 * file is tagged with), and the top-level box order read here for
 * faststart. scripts/setup installs ffmpeg, so a missing tool is a failure.
 * Files go to a temp dir, removed at the end.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "testutil.h"
#include "core/error.h"
#include "engines/image/rgb.h"
#include "engines/video/video.h"

#define RATE 48000
#define TONE_SECONDS 2.037 /* 97776 samples: not a multiple of AAC's 1024 */
#define AUDIO_TOL_S 0.020  /* the bound */
#define AUDIO_EXACT_S 0.0005 /* what the edit list gives: padding the tail to 1024 samples is 10.7 ms */
/* Levels, at CRF 18. Right: 1.5; BT.601 matrix 7.1, full range 8.0,
 * R and B swapped 35 (measured), so the 6 would be a close call. */
#define MAE_MAX 3.0

static char dir[] = "/tmp/mira-video-XXXXXX";

static const char *fx(const char *name) {
  static char bufs[4][512];
  static int next;
  char *b = bufs[next++ % 4];
  snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
  return b;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

/* ---- synthetic input ---------------------------------------------------- */

/* Smooth, different gradients per channel, moving with i: a swapped channel
 * or a wrong range shows up as a large error. */
static void gradient(uint8_t *px, int w, int h, int i) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *p = px + ((size_t)y * w + x) * 3;
      p[0] = (uint8_t)(128 + 110 * sin(2 * M_PI * (x + 3 * i) / w));
      p[1] = (uint8_t)(20 + 215 * y / (h - 1));
      p[2] = (uint8_t)(235 - 215 * (x + y) / (w + h - 2));
    }
}

static float *tone(size_t n) {
  float *s = malloc(n * sizeof *s);
  for (size_t i = 0; i < n; i++) s[i] = (float)(0.5 * sin(2 * M_PI * 440 * i / RATE));
  return s;
}

/* Writes `frames` gradient frames; returns the writer's result. */
static int encode(const char *path, const mira_video_params *p, int frames, char *err, size_t errlen) {
  mira_video_writer *w;
  int rc = mira_video_open(path, p, &w, err, errlen);
  if (rc) return rc;
  uint8_t *px = malloc((size_t)p->w * p->h * 3);
  for (int i = 0; i < frames && !rc; i++) {
    gradient(px, p->w, p->h, i);
    rc = mira_video_write_frame(w, px, p->w * 3, err, errlen);
  }
  free(px);
  if (rc) return mira_video_abort(w), rc;
  return mira_video_close(w, err, errlen);
}

/* ---- reading the result back -------------------------------------------- */

static json_t *probe(const char *path) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "ffprobe -v error -show_streams -show_format -of json '%s'", path);
  char *out = capture(cmd, NULL);
  json_t *j = json_loads(out, 0, NULL);
  free(out);
  return j;
}

static json_t *stream_of(json_t *probe, const char *type) {
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(probe, "streams"), i, s) {
    if (!strcmp(json_string_value(json_object_get(s, "codec_type")) ?: "", type)) return s;
  }
  return NULL;
}

static const char *str(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "(missing)";
}

static double num(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_string(v) ? atof(json_string_value(v)) : json_is_number(v) ? json_number_value(v) : NAN;
}

/* The order of the top-level boxes: the index of 'moov' and 'mdat'. */
static void box_order(const char *path, int *moov, int *mdat) {
  *moov = *mdat = -1;
  FILE *f = fopen(path, "rb");
  if (!f) return;
  unsigned char h[16];
  for (int i = 0; fread(h, 1, 8, f) == 8; i++) {
    uint64_t size = (uint64_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3], head = 8;
    if (size == 1) { /* 64-bit size follows */
      if (fread(h + 8, 1, 8, f) != 8) break;
      size = 0, head = 16;
      for (int k = 8; k < 16; k++) size = size << 8 | h[k];
    }
    if (!memcmp(h + 4, "moov", 4)) *moov = i;
    if (!memcmp(h + 4, "mdat", 4)) *mdat = i;
    if (size < head || fseek(f, (long)(size - head), SEEK_CUR)) break;
  }
  fclose(f);
}

/* Mean absolute error of frame 0 decoded by ffmpeg against the source. */
static double frame0_mae(const char *path, int w, int h) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "ffmpeg -v error -i '%s' -frames:v 1 -vf scale=in_color_matrix=bt709:in_range=tv:out_range=pc "
           "-f rawvideo -pix_fmt rgb24 -",
           path);
  size_t n;
  char *got = capture(cmd, &n);
  uint8_t *want = malloc((size_t)w * h * 3);
  gradient(want, w, h, 0);
  double sum = 0;
  for (size_t i = 0; n == (size_t)w * h * 3 && i < n; i++) sum += abs((uint8_t)got[i] - want[i]);
  free(got);
  free(want);
  return n == (size_t)w * h * 3 ? sum / n : INFINITY;
}

/* ---- video-1: a 320x240 file with audio, checked by ffprobe/ffmpeg ------ */

static void test_small(void) {
  const char *path = fx("small.mp4");
  size_t ns = (size_t)lround(TONE_SECONDS * RATE);
  float *pcm = tone(ns);
  int frames = (int)lround(TONE_SECONDS * 25); /* 51: 2.04 s */
  mira_video_params p = mira_video_default_params(320, 240);
  p.crf = 18, p.audio = pcm, p.audio_samples = ns, p.audio_rate = RATE;
  char err[256] = "";
  CHECK_INT("video-1.1", encode(path, &p, frames, err, sizeof err), 0);
  if (err[0]) fprintf(stderr, "video-1.1: %s\n", err);
  free(pcm);

  json_t *j = probe(path), *v = stream_of(j, "video"), *a = stream_of(j, "audio");
  CHECK("video-1.2", v && a);
  CHECK_STR("video-1.3", str(v, "codec_name"), "h264");
  CHECK_STR("video-1.4", str(v, "profile"), "High");
  CHECK_STR("video-1.5", str(v, "pix_fmt"), "yuv420p");
  CHECK_STR("video-1.6", str(v, "r_frame_rate"), "25/1");
  CHECK_STR("video-1.7", str(v, "avg_frame_rate"), "25/1");
  CHECK_INT("video-1.8", num(v, "width"), 320);
  CHECK_INT("video-1.9", num(v, "height"), 240);
  CHECK_INT("video-1.10", num(v, "nb_frames"), frames);
  CHECK("video-1.11", fabs(num(v, "duration") - frames / 25.0) < 1e-6);
  CHECK_STR("video-1.12", str(v, "color_range"), "tv");
  CHECK_STR("video-1.13", str(v, "color_space"), "bt709");
  CHECK_STR("video-1.14", str(v, "color_primaries"), "bt709");
  CHECK_STR("video-1.15", str(v, "color_transfer"), "bt709");
  CHECK_STR("video-1.16", str(a, "codec_name"), "aac");
  CHECK_INT("video-1.17", num(a, "channels"), 1);
  CHECK_INT("video-1.18", num(a, "sample_rate"), RATE);
  double ad = num(a, "duration");
  CHECK("video-1.19", fabs(ad - (double)ns / RATE) < AUDIO_TOL_S);
  CHECK("video-1.19 exact", fabs(ad - (double)ns / RATE) < AUDIO_EXACT_S);
  CHECK("video-1.20", num(a, "start_time") == 0 && num(v, "start_time") == 0);
  CHECK_STR("video-1.21", str(json_object_get(j, "format"), "format_name"), "mov,mp4,m4a,3gp,3g2,mj2");
  json_decref(j);

  int moov, mdat;
  box_order(path, &moov, &mdat);
  CHECK("video-1.22 faststart", moov >= 0 && mdat >= 0 && moov < mdat);
  double mae = frame0_mae(path, 320, 240);
  CHECK("video-1.23", mae < MAE_MAX);
  printf("video-1: 320x240 frame 0 MAE %.2f levels, audio %.4f s (PCM %.4f s)\n", mae, ad, (double)ns / RATE);
}

/* ---- video-2: 1280x720, no audio, default settings ----------------------- */

static void test_hd(void) {
  const char *path = fx("hd.mp4");
  mira_video_params p = mira_video_default_params(1280, 720);
  p.crf = 18;
  char err[256] = "";
  CHECK_INT("video-2.1", encode(path, &p, 8, err, sizeof err), 0);
  json_t *j = probe(path), *v = stream_of(j, "video");
  CHECK("video-2.2", v && !stream_of(j, "audio"));
  CHECK_STR("video-2.3", str(v, "profile"), "High");
  CHECK_INT("video-2.4", num(v, "width"), 1280);
  CHECK_INT("video-2.5", num(v, "height"), 720);
  CHECK("video-2.6", fabs(num(v, "duration") - 8 / 25.0) < 1e-6);
  json_decref(j);
  double mae = frame0_mae(path, 1280, 720);
  CHECK("video-2.7", mae < MAE_MAX);
  int moov, mdat;
  box_order(path, &moov, &mdat);
  CHECK("video-2.8 faststart", moov >= 0 && moov < mdat);
  printf("video-2: 1280x720 frame 0 MAE %.2f levels\n", mae);
}

/* ---- video-3: bad input: clean errors, no file left ---------------------- */

static void expect_open_error(const char *id, const char *path, const mira_video_params *p, int code,
                              const char *msg) {
  mira_video_writer *w = (mira_video_writer *)1;
  char err[256] = "";
  CHECK_INT(id, mira_video_open(path, p, &w, err, sizeof err), code);
  CHECK(id, w == NULL);
  if (msg) CHECK_STR(id, err, msg);
  CHECK(id, !exists(path));
}

static void test_errors(void) {
  const char *path = fx("bad.mp4");
  float pcm[4] = {0};
  mira_video_params p = mira_video_default_params(321, 240);
  expect_open_error("video-3.1", path, &p, MIRA_EINVAL,
                    "video size 321x240: width and height must be even, 16..1920, and at most 2073600 pixels");
  p = mira_video_default_params(1920, 1920);
  expect_open_error("video-3.2", path, &p, MIRA_EINVAL,
                    "video size 1920x1920: width and height must be even, 16..1920, and at most 2073600 pixels");
  p = mira_video_default_params(320, 240), p.fps = 0;
  expect_open_error("video-3.3", path, &p, MIRA_EINVAL, "fps must be 1..60: got 0");
  p = mira_video_default_params(320, 240), p.crf = 52;
  expect_open_error("video-3.4", path, &p, MIRA_EINVAL, "crf must be 1..51 (0 for 23): got 52");
  p = mira_video_default_params(320, 240), p.preset = "fastest";
  expect_open_error("video-3.5", path, &p, MIRA_EINVAL,
                    "unknown x264 preset \"fastest\" (ultrafast..veryslow, placebo)");
  p = mira_video_default_params(320, 240), p.audio = pcm, p.audio_samples = 4, p.audio_rate = 44000;
  expect_open_error("video-3.6", path, &p, MIRA_EINVAL,
                    "audio_rate 44000 Hz is not an AAC rate (8000..96000, e.g. 48000): resample first");
  p = mira_video_default_params(320, 240), p.audio_samples = 4;
  expect_open_error("video-3.7", path, &p, MIRA_EINVAL, "audio_samples is 4 but audio is NULL");
  p = mira_video_default_params(320, 240);
  expect_open_error("video-3.8", "/nonexistent-mira-dir/x.mp4", &p, MIRA_EIO,
                    "cannot create /nonexistent-mira-dir/x.mp4: No such file or directory");

  /* Opened, then closed with no frames: an error and no file. */
  mira_video_writer *w;
  char err[256] = "";
  int rc = mira_video_open(path, &p, &w, err, sizeof err);
  CHECK_INT("video-3.9", rc, 0);
  if (rc) return;
  CHECK("video-3.9", exists(path));
  CHECK_INT("video-3.10", mira_video_close(w, err, sizeof err), MIRA_EINVAL);
  char want[600];
  snprintf(want, sizeof want, "no frames were written to %s", path);
  CHECK_STR("video-3.10", err, want);
  CHECK("video-3.10", !exists(path));

  /* A bad stride, then abort after some frames: the partial file goes. */
  uint8_t *px = calloc(320 * 240, 3);
  rc = mira_video_open(path, &p, &w, err, sizeof err);
  CHECK_INT("video-3.11", rc, 0);
  if (rc) return free(px);
  CHECK_INT("video-3.11", mira_video_write_frame(w, px, 320 * 3 - 1, err, sizeof err), MIRA_EINVAL);
  CHECK_STR("video-3.11", err, "frame stride 959 is less than width*3 (960)");
  for (int i = 0; i < 30; i++) CHECK_INT("video-3.12", mira_video_write_frame(w, px, 320 * 3, err, sizeof err), 0);
  CHECK_INT("video-3.12", mira_video_frames(w), 30);
  mira_video_abort(w);
  CHECK("video-3.12", !exists(path));
  mira_video_abort(NULL);
  free(px);
}

/* ---- captions-1: exact small documents ----------------------------------- */

static char *vtt(const char *text, const mira_word_event *w, size_t n) {
  char *out = NULL, err[256] = "";
  int rc = mira_captions_vtt(text, w, n, &out, err, sizeof err);
  if (rc) fprintf(stderr, "mira_captions_vtt: %s\n", err);
  return out;
}

/* Word events for the space-separated words of text, `step` ms apart,
 * each lasting step - gap ms; pause_after[k] adds ms after word k. */
static size_t words_of(const char *text, int step, int gap, const int *pause_after, mira_word_event *w) {
  size_t n = 0;
  int32_t t = 0;
  for (const char *s = text; *s;) {
    while (*s == ' ') s++;
    if (!*s) break;
    const char *e = s;
    while (*e && *e != ' ') e++;
    w[n] = (mira_word_event){.start_ms = t, .end_ms = t + step - gap, .text_offset = (int32_t)(s - text),
                             .text_len = (int32_t)(e - s)};
    t += step + (pause_after ? pause_after[n] : 0);
    n++, s = e;
  }
  return n;
}

static void test_captions_exact(void) {
  char *out = vtt("", NULL, 0);
  CHECK_STR("captions-1.1", out, "WEBVTT\n\n");
  free(out);

  /* Spans without punctuation (as engines give them), an ampersand, a
   * quoted word, and a 1 s pause that ends the first cue. */
  const char *t2 = "Tom & Jerry said \"hi\". Later, more.";
  mira_word_event w2[] = {{0, 200, 0, 3},      {200, 400, 4, 1},     {400, 800, 6, 5},    {850, 1100, 12, 4},
                          {1150, 1400, 18, 2}, {2400, 2800, 23, 5}, {2850, 3200, 30, 4}};
  out = vtt(t2, w2, 7);
  CHECK_STR("captions-1.2", out,
            "WEBVTT\n\n"
            "00:00:00.000 --> 00:00:01.400\nTom &amp; Jerry said \"hi\".\n\n"
            "00:00:02.400 --> 00:00:03.200\nLater, more.\n\n");
  free(out);

  /* Two balanced lines; the cue ends at the last word's end. */
  const char *t3 = "The quick brown fox jumps over the lazy dog, and then it runs away.";
  mira_word_event w3[32];
  size_t n3 = words_of(t3, 300, 50, NULL, w3);
  out = vtt(t3, w3, n3);
  CHECK_STR("captions-1.3", out,
            "WEBVTT\n\n"
            "00:00:00.000 --> 00:00:04.150\nThe quick brown fox jumps over the\nlazy dog, and then it runs away.\n\n");
  free(out);

  /* Too long for one cue: it ends after the sentence, and the 200 ms gap
   * to the next cue is bridged. Markup is not shown. */
  const char *t4 = "One two three four five six seven eight. Nine ten eleven twelve thirteen fourteen "
                   "<b>fifteen</b> sixteen.";
  mira_word_event w4[32];
  size_t n4 = words_of(t4, 400, 200, NULL, w4);
  w4[14].text_offset += 3, w4[14].text_len = 7; /* "fifteen" inside the tags */
  out = vtt(t4, w4, n4);
  CHECK_STR("captions-1.4", out,
            "WEBVTT\n\n"
            "00:00:00.000 --> 00:00:03.200\nOne two three four five six seven eight.\n\n"
            "00:00:03.200 --> 00:00:06.200\nNine ten eleven twelve thirteen\nfourteen fifteen sixteen.\n\n");
  free(out);
}

/* ---- captions-2: a long text keeps every rule ---------------------------- */

static int count_cp(const char *s, size_t n) {
  int c = 0;
  for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

static int parse_time(const char *s, int *ms) {
  int h, m, sec, milli;
  if (strlen(s) < 12 || s[2] != ':' || s[5] != ':' || s[8] != '.') return -1;
  if (sscanf(s, "%2d:%2d:%2d.%3d", &h, &m, &sec, &milli) != 4 || m > 59 || sec > 59) return -1;
  *ms = ((h * 60 + m) * 60 + sec) * 1000 + milli;
  return 0;
}

/* Checks the cue rules; appends every cue's words, space-joined, to words. */
static void check_cues(const char *id, const char *doc, char *words, size_t cap) {
  CHECK(id, !strncmp(doc, "WEBVTT\n\n", 8));
  const char *s = doc + 8;
  int prev_end = 0, cues = 0;
  words[0] = 0;
  while (*s) {
    int a, b;
    int ok = !parse_time(s, &a) && !strncmp(s + 12, " --> ", 5) && !parse_time(s + 17, &b) && s[29] == '\n';
    CHECK(id, ok);
    if (!ok) return;
    CHECK(id, a >= prev_end && b > a);
    prev_end = b, cues++;
    s += 30;
    int lines = 0;
    while (*s && *s != '\n') {
      const char *e = strchr(s, '\n');
      if (!e) break;
      CHECK(id, count_cp(s, (size_t)(e - s)) <= MIRA_CAPTIONS_LINE_CHARS);
      if (words[0]) strncat(words, " ", cap - strlen(words) - 1);
      strncat(words, s, (size_t)(e - s) < cap - strlen(words) - 1 ? (size_t)(e - s) : cap - strlen(words) - 1);
      lines++, s = e + 1;
    }
    CHECK(id, lines >= 1 && lines <= 2);
    CHECK(id, *s == '\n');
    if (*s) s++;
  }
  CHECK(id, cues > 0);
}

static void test_captions_long(void) {
  const char *text =
      "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
      "foolishness, it was the epoch of belief, it was the epoch of incredulity. It was the season of "
      "Light; it was the season of Darkness. It was the spring of hope! It was the winter of despair? We "
      "had everything before us, we had nothing before us, we were all going direct to Heaven, we were all "
      "going direct the other way.";
  mira_word_event w[256];
  int pause[256] = {0};
  pause[20] = 900, pause[41] = 150;
  size_t n = words_of(text, 330, 60, pause, w);
  char *out = vtt(text, w, n), words[4096];
  CHECK("captions-2.1", out != NULL);
  if (!out) return;
  check_cues("captions-2.2", out, words, sizeof words);
  CHECK_STR("captions-2.3 no word lost", words, text);
  /* every cue at most 5 s */
  for (const char *s = out + 8; (s = strstr(s, " --> ")); s += 5) {
    int a, b;
    parse_time(s - 12, &a), parse_time(s + 5, &b);
    CHECK("captions-2.4", b - a <= MIRA_CAPTIONS_MAX_MS + MIRA_CAPTIONS_BRIDGE_MS);
  }
  /* the 900 ms pause after word 20 ends a cue there */
  char at[32];
  snprintf(at, sizeof at, "%02d.%03d\n", w[20].end_ms / 1000, w[20].end_ms % 1000);
  CHECK("captions-2.5", strstr(out, at) != NULL);
  free(out);
}

/* ---- captions-3: UTF-8, escaping, errors --------------------------------- */

static void test_captions_utf8(void) {
  /* "Café" spanned as 4 bytes ends inside "é"; "日本" inside its second character. */
  const char *t = "Café 日本 naïve";
  mira_word_event w[] = {{0, 300, 0, 4}, {300, 600, 6, 4}, {600, 900, 13, 6}};
  char *out = vtt(t, w, 3);
  CHECK_STR("captions-3.1", out, "WEBVTT\n\n00:00:00.000 --> 00:00:00.900\nCafé 日本 naïve\n\n");
  free(out);

  /* One 100-character word is cut between characters, not bytes. */
  char big[512] = "";
  for (int i = 0; i < 50; i++) strcat(big, "日本");
  mira_word_event wb = {0, 2000, 0, (int32_t)strlen(big)};
  out = vtt(big, &wb, 1);
  char words[1024];
  check_cues("captions-3.2", out ? out : "", words, sizeof words);
  /* 42 + 42 characters in the first cue, 16 in the second; time shared by characters */
  CHECK("captions-3.3", out && strstr(out, "00:00:00.000 --> 00:00:01.680\n") &&
                            strstr(out, "00:00:01.680 --> 00:00:02.000\n"));
  free(out);

  const char *amp = "a<b & c>d";
  mira_word_event wa[] = {{0, 100, 0, 3}, {100, 200, 4, 1}, {200, 300, 6, 3}};
  out = vtt(amp, wa, 3);
  CHECK_STR("captions-3.4", out, "WEBVTT\n\n00:00:00.000 --> 00:00:00.300\na&lt;b &amp; c&gt;d\n\n");
  free(out);

  char err[256];
  mira_word_event bad = {0, 100, 5, 10};
  out = (char *)1;
  CHECK_INT("captions-3.5", mira_captions_vtt("short", &bad, 1, &out, err, sizeof err), MIRA_EINVAL);
  CHECK_STR("captions-3.5", err, "word 0: span 5+10 is outside the text (5 bytes)");
  CHECK("captions-3.5", out == NULL);
  mira_word_event unsorted[] = {{100, 200, 0, 1}, {50, 60, 2, 1}};
  CHECK_INT("captions-3.6", mira_captions_vtt("a b", unsorted, 2, &out, err, sizeof err), MIRA_EINVAL);
  CHECK_STR("captions-3.6", err, "word 1: times 50..60 ms are negative, reversed or unsorted");
  mira_word_event one = {0, 100, 0, 1};
  CHECK_INT("captions-3.7", mira_captions_vtt("a\xC3(", &one, 1, &out, err, sizeof err), MIRA_EINVAL);
  CHECK_STR("captions-3.7", err, "text is not valid UTF-8 (byte 1)");
}

/* ---- image-1: thumbnails ------------------------------------------------- */

static double image_mae(const mira_rgb *a, const mira_rgb *b) {
  if (a->w != b->w || a->h != b->h) return INFINITY;
  double s = 0;
  size_t n = (size_t)a->w * a->h * 3;
  for (size_t i = 0; i < n; i++) s += abs(a->px[i] - b->px[i]);
  return s / n;
}

static void test_thumbnails(void) {
  mira_rgb im = {malloc(160 * 120 * 3), 160, 120}, back;
  gradient(im.px, im.w, im.h, 0);
  char err[256];
  CHECK_INT("image-1.1", mira_rgb_write_jpeg(fx("t.jpg"), &im, 90, err, sizeof err), 0);
  CHECK_INT("image-1.2", mira_rgb_load(fx("t.jpg"), &back, err, sizeof err), 0);
  double mae = image_mae(&im, &back);
  CHECK("image-1.2", mae < 3.0);
  printf("image-1: JPEG q90 MAE %.2f levels", mae);
  mira_rgb_free(&back);
  CHECK_INT("image-1.3", mira_rgb_write_webp(fx("t.webp"), &im, 90, err, sizeof err), 0);
  CHECK_INT("image-1.4", mira_rgb_load(fx("t.webp"), &back, err, sizeof err), 0);
  mae = image_mae(&im, &back);
  CHECK("image-1.4", mae < 3.0);
  printf(", WebP q90 MAE %.2f levels\n", mae);
  mira_rgb_free(&back);
  CHECK_INT("image-1.5", mira_rgb_write_jpeg(fx("q.jpg"), &im, 0, err, sizeof err), MIRA_EINVAL);
  CHECK_STR("image-1.5", err, "image quality must be 1..100: got 0");
  CHECK("image-1.5", !exists(fx("q.jpg")));
  CHECK_INT("image-1.6", mira_rgb_write_jpeg("/nonexistent-mira-dir/t.jpg", &im, 80, err, sizeof err), MIRA_EIO);
  CHECK_STR("image-1.6", err, "cannot create /nonexistent-mira-dir/t.jpg: No such file or directory");
  free(im.px);
}

int main(void) {
  if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
  test_small();
  test_hd();
  test_errors();
  test_captions_exact();
  test_captions_long();
  test_captions_utf8();
  test_thumbnails();
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
  return CHECK_EXIT();
}
