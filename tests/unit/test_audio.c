/* Unit tests for src/engines/audio: decoding every common format (against
 * ffprobe), resampling, loudness (against ffmpeg's ebur128 filter and
 * BS.1770's reference tones), normalisation, hostile files, the length
 * limit, and the mouth track.
 *
 * Fixtures are made at start in a temp dir by the real tools: espeak-ng
 * speaks a sentence to WAV, ffmpeg turns it into MP3, M4A (AAC), Ogg
 * Vorbis, Ogg Opus, FLAC and a stereo WAV. The dir is removed at the end.
 * scripts/setup installs both tools, so a missing one is a failure, not a
 * skip.
 */
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
#include "engines/audio/audio.h"

#define SENTENCE                                                                                   \
  "The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore."
#define DURATION_TOL_MS 20.0 /* the bound against ffprobe */
#define LUFS_TOL 0.5         /* against ffmpeg's ebur128 (which prints 0.1 LU) */
#define RESAMPLE_TOL 2       /* samples: swresample rounds the tail */

static char dir[] = "/tmp/mira-audio-XXXXXX";

typedef struct fixture {
  const char *name;
  const char *ffmpeg_args; /* turning speech.wav into this file */
  int rate;                /* the rate it decodes at */
} fixture;

static const fixture formats[] = {
    {"speech.wav", NULL, 22050}, /* espeak-ng's own output */
    {"speech.mp3", "-c:a libmp3lame -b:a 64k", 22050},
    {"speech8k.mp3", "-ar 8000 -c:a libmp3lame", 8000}, /* delay + padding: 184 ms */
    {"speech.m4a", "-c:a aac -b:a 64k", 22050},
    {"vorbis.ogg", "-c:a libvorbis -q:a 4", 22050},
    {"opus.ogg", "-c:a libopus -b:a 48k -ar 48000", 48000}, /* Opus runs at 48 kHz only */
    {"speech.flac", "-c:a flac", 22050},
    {"stereo.wav", "-ac 2 -c:a pcm_s16le", 22050},
};
enum { NFORMATS = sizeof formats / sizeof formats[0] };

/* ---- helpers: paths, shell, ffprobe/ffmpeg readings ------------------- */

static const char *fx(const char *name) {
  static char bufs[4][512];
  static int next;
  char *b = bufs[next++ % 4];
  snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
  return b;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int rc = system(cmd);
  if (rc != 0) fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
  return rc;
}

static double ffprobe_num(const char *entry, const char *path) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "ffprobe -v error -show_entries %s -of csv=p=0 '%s'", entry, path);
  char *out = capture(cmd, NULL);
  double v = NAN;
  if (sscanf(out, "%lf", &v) != 1) v = NAN;
  free(out);
  return v;
}

/* Sum of one side-data field over every packet ffprobe lists. */
static long ffprobe_packet_sum(const char *field, const char *path) {
  char cmd[1024], key[64];
  snprintf(cmd, sizeof cmd, "ffprobe -v error -show_packets '%s'", path);
  snprintf(key, sizeof key, "%s=", field);
  char *out = capture(cmd, NULL);
  long sum = 0;
  for (char *s = strstr(out, key); s; s = strstr(s + 1, key)) sum += strtol(s + strlen(key), 0, 10);
  free(out);
  return sum;
}

/* The reference duration. ffprobe's format duration (for Ogg Opus it
 * includes the 312-sample pre-skip, 6.5 ms, well inside the tolerance),
 * except for MP3: there
 * it counts every MPEG frame, including the encoder delay and padding that
 * the LAME tag marks for removal (which libavcodec removes, as every
 * gapless player does). ffprobe reports those amounts itself, as the first
 * packet's skip_samples and the last one's discard_padding; subtract them. */
static double reference_seconds(const char *name, double *raw) {
  const char *path = fx(name);
  *raw = ffprobe_num("format=duration", path);
  if (!strstr(name, ".mp3")) return *raw;
  double rate = ffprobe_num("stream=sample_rate", path);
  long pad = ffprobe_packet_sum("skip_samples", path) + ffprobe_packet_sum("discard_padding", path);
  return *raw - pad / rate;
}

/* Integrated loudness from ffmpeg's ebur128 summary ("I:  -20.1 LUFS"). */
static double ffmpeg_lufs(const char *path) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "ffmpeg -nostats -hide_banner -i '%s' -af ebur128 -f null - 2>&1",
           path);
  char *out = capture(cmd, NULL), *s = strstr(out, "Summary:");
  double v = NAN;
  if (s && (s = strstr(s, "I:")) && sscanf(s + 2, "%lf", &v) != 1) v = NAN;
  free(out);
  return v;
}

static void put32(FILE *f, uint32_t v) {
  unsigned char b[4] = {v & 0xff, v >> 8 & 0xff, v >> 16 & 0xff, v >> 24};
  fwrite(b, 1, 4, f);
}

/* 32-bit float WAV, so ffmpeg measures exactly the samples we hold. */
static int write_float_wav(const char *path, const mira_pcm *p) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  uint32_t data = (uint32_t)(p->n * 4), rate = (uint32_t)p->sample_rate;
  fwrite("RIFF", 1, 4, f);
  put32(f, 36 + data);
  fwrite("WAVEfmt ", 1, 8, f);
  put32(f, 16);
  put32(f, 3 | 1u << 16); /* IEEE float, mono */
  put32(f, rate);
  put32(f, rate * 4);      /* byte rate */
  put32(f, 4 | 32u << 16); /* block align, bits */
  fwrite("data", 1, 4, f);
  put32(f, data);
  int ok = fwrite(p->samples, 4, p->n, f) == p->n;
  return fclose(f) == 0 && ok ? 0 : -1;
}

static double peak_dbfs(const mira_pcm *p) {
  double peak = 0;
  for (size_t i = 0; i < p->n; i++) peak = fmax(peak, fabs(p->samples[i]));
  return 20 * log10(peak);
}

/* In-memory test signals. */
static mira_pcm tone(int rate, double seconds, double hz, double amp) {
  mira_pcm p = {.n = (size_t)(rate * seconds), .sample_rate = rate};
  p.samples = calloc(p.n ? p.n : 1, sizeof(float));
  for (size_t i = 0; i < p.n; i++) p.samples[i] = (float)(amp * sin(2 * M_PI * hz * i / rate));
  return p;
}

static uint32_t lcg_state = 12345; /* fixed seed: the corrupt files never change */
static uint32_t lcg(void) { return lcg_state = lcg_state * 1664525u + 1013904223u; }

static void write_bytes(const char *path, const void *head, size_t headlen, size_t random_len) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(head, 1, headlen, f);
  for (size_t i = 0; i < random_len; i++) fputc((int)(lcg() >> 24), f);
  fclose(f);
}

static void truncate_copy(const char *src, const char *dst, long keep) {
  sh("head -c %ld '%s' > '%s'", keep, src, dst);
}

/* Copies src to dst with len bytes from off replaced by random ones. */
static void garble(const char *src, const char *dst, long off, long len) {
  sh("cp '%s' '%s'", src, dst);
  FILE *f = fopen(dst, "r+b");
  if (!f || fseek(f, off, SEEK_SET) != 0) {
    if (f) fclose(f);
    return;
  }
  for (long i = 0; i < len; i++) fputc((int)(lcg() >> 24), f);
  fclose(f);
}

static long file_size(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fclose(f);
  return n;
}

/* ---- fixtures ---------------------------------------------------------- */

static int make_fixtures(void) {
  if (!mkdtemp(dir)) return -1;
  int rc = sh("espeak-ng -w '%s' '%s'", fx("speech.wav"), SENTENCE);
  for (int i = 1; i < NFORMATS && !rc; i++)
    rc = sh("ffmpeg -v error -y -i '%s' %s '%s'", fx("speech.wav"), formats[i].ffmpeg_args,
            fx(formats[i].name));
  /* No Xing/LAME tag: the length is only a bitrate guess, so the limit
   * must be enforced while decoding. */
  if (!rc)
    rc = sh("ffmpeg -v error -y -i '%s' -c:a libmp3lame -write_xing 0 '%s'", fx("speech.wav"),
            fx("noxing.mp3"));
  /* An image, and a video with no audio track. */
  const char *synthetic[][2] = {
      {"pic.png", "color=c=red:s=8x8 -frames:v 1"},
      {"video.mkv", "testsrc=s=32x32:d=0.5 -c:v mjpeg"},
  };
  for (size_t i = 0; i < 2 && !rc; i++)
    rc = sh("ffmpeg -v error -y -f lavfi -i %s '%s'", synthetic[i][1], fx(synthetic[i][0]));
  const char *vowels[][2] = {{"aa.wav", "[[A:A:A:A:A:]]"}, {"ih.wav", "[[i:i:i:i:i:]]"},
                             {"e.wav", "[[EEEEEE]]"},      {"oh.wav", "[[O:O:O:O:]]"},
                             {"ou.wav", "[[u:u:u:u:u:]]"}, {"ss.wav", "[[ssssss]]"},
                             {"ch.wav", "[[SSSSSS]]"}};
  for (size_t i = 0; i < sizeof vowels / sizeof vowels[0] && !rc; i++)
    rc = sh("espeak-ng -w '%s' '%s'", fx(vowels[i][0]), vowels[i][1]);
  return rc;
}

/* ---- 1, 2: decoding and resampling ------------------------------------ */

typedef struct row {
  double probe_raw, probe_ref, ours, lufs, ff_lufs;
} row;

static void test_format(int i, row *r) {
  char id[64], err[256] = "";
  const fixture *f = &formats[i];
  mira_pcm p;
  int rc = mira_audio_decode(fx(f->name), 0, MIRA_AUDIO_MAX_SECONDS, &p, err, sizeof err);
  snprintf(id, sizeof id, "audio-1.1 %s", f->name);
  CHECK_INT(id, rc, 0);
  if (rc) fprintf(stderr, "  %s\n", err);
  snprintf(id, sizeof id, "audio-1.2 %s", f->name);
  CHECK_INT(id, p.sample_rate, f->rate);
  r->probe_ref = reference_seconds(f->name, &r->probe_raw);
  r->ours = p.sample_rate ? (double)p.n / p.sample_rate : 0;
  snprintf(id, sizeof id, "audio-1.3 %s", f->name);
  CHECK(id, fabs(r->ours - r->probe_ref) * 1000 <= DURATION_TOL_MS);
  snprintf(id, sizeof id, "audio-1.4 %s", f->name);
  CHECK_INT(id, mira_pcm_duration_ms(&p), llround(r->ours * 1000));
  /* M4A: the edit list's end is honoured to the sample (AAC pads its last
   * 1024-sample frame; up to 46 ms at 22.05 kHz if left in). */
  if (strstr(f->name, ".m4a")) {
    double stream = ffprobe_num("stream=duration_ts", fx(f->name));
    CHECK_INT("audio-1.5", (long long)p.n, llround(stream));
  }
  r->lufs = mira_audio_loudness(&p);
  r->ff_lufs = ffmpeg_lufs(fx(f->name));
  snprintf(id, sizeof id, "audio-3.1 %s", f->name);
  CHECK(id, fabs(r->lufs - r->ff_lufs) <= LUFS_TOL);

  /* 2.x: resampling gives in * out / in samples, give or take the tail. */
  for (int k = 0; k < 2; k++) {
    int rate = k ? 48000 : 16000;
    mira_pcm q;
    rc = mira_audio_decode(fx(f->name), rate, MIRA_AUDIO_MAX_SECONDS, &q, err, sizeof err);
    snprintf(id, sizeof id, "audio-2.%d %s", k + 1, f->name);
    CHECK_INT(id, rc, 0);
    CHECK_INT(id, q.sample_rate, rate);
    long want = lround((double)p.n * rate / (p.sample_rate ? p.sample_rate : 1));
    if (labs((long)q.n - want) > RESAMPLE_TOL)
      fprintf(stderr, "  %s: %zu samples at %d, want %ld\n", f->name, q.n, rate, want);
    CHECK(id, labs((long)q.n - want) <= RESAMPLE_TOL);
    mira_pcm_free(&q);
  }
  mira_pcm_free(&p);
}

static void test_formats(void) {
  row rows[NFORMATS];
  for (int i = 0; i < NFORMATS; i++) test_format(i, &rows[i]);
  printf("%-12s %10s %10s %10s %8s | %8s %8s %6s\n", "file", "ffprobe", "reference", "decoded",
         "diff ms", "LUFS", "ebur128", "diff");
  for (int i = 0; i < NFORMATS; i++) {
    row *r = &rows[i];
    printf("%-12s %10.6f %10.6f %10.6f %8.2f | %8.2f %8.1f %6.2f\n", formats[i].name, r->probe_raw,
           r->probe_ref, r->ours, (r->ours - r->probe_ref) * 1000, r->lufs, r->ff_lufs,
           r->lufs - r->ff_lufs);
  }
}

/* ---- 3: loudness against BS.1770's own reference points --------------- */

static void test_loudness_reference(void) {
  /* BS.1770: a 997 Hz sine at 0 dBFS in one channel reads -3.01 LKFS, so
   * at -6.02 dBFS it is -9.03, at any sample rate (coefficients are
   * derived per rate, not the 48 kHz table). */
  const int rates[] = {8000, 16000, 22050, 44100, 48000, 96000};
  for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
    mira_pcm p = tone(rates[i], 3.0, 997, 0.5);
    double l = mira_audio_loudness(&p);
    if (fabs(l + 9.03) > 0.05) fprintf(stderr, "  997 Hz at %d Hz: %.3f LUFS\n", rates[i], l);
    CHECK("audio-3.2", fabs(l + 9.03) <= 0.05);
    mira_pcm_free(&p);
  }
  /* Gating: EBU Tech 3341 case 3 in one channel. 10 s at -36 dBFS, 60 s
   * at -23, 10 s at -36: the quiet parts are 13 LU down, under the
   * relative gate, so the -23 dBFS part alone sets it: -26.01 LUFS (3341
   * allows +-0.1). Without the relative gate it would read -27.2. */
  int rate = 48000;
  mira_pcm p = tone(rate, 80.0, 1000, 1.0);
  for (size_t i = 0; i < p.n; i++) {
    double t = (double)i / rate;
    p.samples[i] *= (float)pow(10, (t >= 10 && t < 70 ? -23 : -36) / 20.0);
  }
  double l = mira_audio_loudness(&p);
  if (fabs(l + 26.01) > 0.1) fprintf(stderr, "  gated tone: %.3f LUFS\n", l);
  CHECK("audio-3.3", fabs(l + 26.01) <= 0.1);
  /* Absolute gate: 20 s of -80 dBFS around it change nothing. */
  mira_pcm q = tone(rate, 100.0, 1000, pow(10, -80 / 20.0));
  memcpy(q.samples + 10 * rate, p.samples, p.n * sizeof(float));
  CHECK("audio-3.4", fabs(mira_audio_loudness(&q) - l) <= 0.01);
  mira_pcm_free(&q);
  mira_pcm_free(&p);
  /* Silence, and audio shorter than one 400 ms block: -HUGE_VAL. */
  mira_pcm z = tone(rate, 2.0, 1000, 0.0), s = tone(rate, 0.39, 1000, 0.5);
  CHECK("audio-3.5", mira_audio_loudness(&z) == -HUGE_VAL);
  CHECK("audio-3.6", mira_audio_loudness(&s) == -HUGE_VAL);
  CHECK("audio-3.7", mira_audio_loudness(NULL) == -HUGE_VAL);
  mira_pcm_free(&z);
  mira_pcm_free(&s);
}

/* ---- 4: normalisation -------------------------------------------------- */

static void test_normalize(void) {
  /* Reachable target: a quiet tone gains exactly target - loudness. */
  mira_pcm p = tone(48000, 3.0, 440, 0.05);
  double before = mira_audio_loudness(&p);
  double gain = mira_audio_normalize(&p, MIRA_AUDIO_TARGET_LUFS);
  CHECK("audio-4.1", fabs(gain - (MIRA_AUDIO_TARGET_LUFS - before)) < 1e-9);
  CHECK("audio-4.2", fabs(mira_audio_loudness(&p) - MIRA_AUDIO_TARGET_LUFS) <= 0.01);
  CHECK("audio-4.3", write_float_wav(fx("norm_tone.wav"), &p) == 0);
  double ff = ffmpeg_lufs(fx("norm_tone.wav"));
  CHECK("audio-4.3", fabs(ff - MIRA_AUDIO_TARGET_LUFS) <= LUFS_TOL);
  mira_pcm_free(&p);

  /* Speech to -16: espeak-ng's peaks are high for its loudness, so check
   * whichever bound applies, and say which it was. */
  char err[256];
  mira_pcm s;
  CHECK_INT("audio-4.4", mira_audio_decode(fx("speech.wav"), 0, 60, &s, err, sizeof err), 0);
  before = mira_audio_loudness(&s);
  double peak_before = peak_dbfs(&s);
  gain = mira_audio_normalize(&s, MIRA_AUDIO_TARGET_LUFS);
  double after = mira_audio_loudness(&s), peak = peak_dbfs(&s);
  int limited = gain < MIRA_AUDIO_TARGET_LUFS - before - 1e-9;
  printf("normalize speech to %.1f: %.2f LUFS (peak %.2f dBFS) -> gain %+.2f dB -> %.2f LUFS, "
         "peak %.2f dBFS (%s)\n",
         MIRA_AUDIO_TARGET_LUFS, before, peak_before, gain, after, peak,
         limited ? "peak-limited" : "reached target");
  CHECK("audio-4.5", peak <= -1.0 + 1e-4);
  CHECK("audio-4.5", limited ? fabs(peak + 1.0) < 1e-3 && after < MIRA_AUDIO_TARGET_LUFS
                             : fabs(after - MIRA_AUDIO_TARGET_LUFS) <= 0.01);
  CHECK("audio-4.6", write_float_wav(fx("norm_speech.wav"), &s) == 0);
  CHECK("audio-4.6", fabs(ffmpeg_lufs(fx("norm_speech.wav")) - after) <= LUFS_TOL);
  /* An unreachable target: gain stops where the peak hits -1 dBFS. */
  gain = mira_audio_normalize(&s, -5.0);
  CHECK("audio-4.7", fabs(peak_dbfs(&s) + 1.0) < 1e-3);
  CHECK("audio-4.7", mira_audio_loudness(&s) < -5.0 && gain >= 0);
  mira_pcm_free(&s);

  /* Silence is left alone and reports 0 dB. */
  mira_pcm z = tone(16000, 1.0, 440, 0.0);
  z.samples[100] = 1e-6f; /* far under the -70 LUFS gate: still "silence" */
  CHECK("audio-4.8", mira_audio_normalize(&z, -16) == 0.0);
  CHECK("audio-4.8", z.samples[100] == 1e-6f && z.samples[0] == 0.0f);
  CHECK("audio-4.9", mira_audio_normalize(NULL, -16) == 0.0);
  mira_pcm_free(&z);
}

/* ---- 5: hostile and broken files --------------------------------------- */

/* Decodes name and checks the code, and the message's start (or all of it
 * when exact). The out-param must come back empty. */
static void expect_fail_max(const char *id, const char *name, int max_seconds, int code,
                            const char *msg, int exact) {
  char err[256] = "", cid[96];
  mira_pcm p = {.samples = (float *)1, .n = 7};
  int rc = mira_audio_decode(fx(name), 0, max_seconds, &p, err, sizeof err);
  snprintf(cid, sizeof cid, "%s %s", id, name);
  CHECK_INT(cid, rc, code);
  if (exact)
    CHECK_STR(cid, err, msg);
  else if (strncmp(err, msg, strlen(msg)) != 0)
    CHECK_STR(cid, err, msg);
  CHECK(cid, p.samples == NULL && p.n == 0 && p.sample_rate == 0);
}

static void expect_fail(const char *id, const char *name, int code, const char *msg, int exact) {
  expect_fail_max(id, name, 60, code, msg, exact);
}

static void test_corrupt(void) {
  /* A RIFF/WAVE or ID3/MPEG-sync header over random bytes. */
  write_bytes(fx("rnd_riff.wav"), "RIFF\x24\x10\x00\x00WAVE", 12, 4096);
  write_bytes(fx("rnd_id3.mp3"), "ID3\x03\x00\x00\x00\x00\x00\x0a\0\0\0\0\0\0\0\0\0\0", 20, 4096);
  write_bytes(fx("rnd_sync.mp3"), "\xff\xfb\x90\x64", 4, 4096);
  write_bytes(fx("empty.wav"), "", 0, 0);
  const char *text = "hello, this is a text file and not audio at all\n";
  write_bytes(fx("text.mp3"), text, strlen(text), 0);
  expect_fail("audio-5.1", "rnd_riff.wav", MIRA_EINVAL, "cannot decode rnd_riff.wav: ", 0);
  expect_fail("audio-5.2", "rnd_id3.mp3", MIRA_EINVAL, "cannot decode rnd_id3.mp3: ", 0);
  expect_fail("audio-5.2", "rnd_sync.mp3", MIRA_EINVAL, "cannot decode rnd_sync.mp3: ", 0);
  expect_fail("audio-5.3", "empty.wav", MIRA_EINVAL, "cannot decode empty.wav: ", 0);
  expect_fail("audio-5.4", "text.mp3", MIRA_EINVAL, "cannot decode text.mp3: not an audio format",
              1);
  expect_fail("audio-5.5", "pic.png", MIRA_EINVAL, "cannot decode pic.png: not an audio format", 1);
  expect_fail("audio-5.6", "video.mkv", MIRA_EINVAL, "no audio stream in video.mkv", 1);
  expect_fail("audio-5.7", "missing.wav", MIRA_ENOENT, "cannot open missing.wav: no such file", 1);

  /* Cut to half and to 100 bytes. Formats that state their length fail as
   * truncated (M4A loses its moov atom, which ffmpeg writes last). */
  for (int i = 0; i < NFORMATS; i++) {
    char half[64], tiny[64], want[128];
    snprintf(half, sizeof half, "half-%s", formats[i].name);
    snprintf(tiny, sizeof tiny, "tiny-%s", formats[i].name);
    long size = file_size(fx(formats[i].name));
    truncate_copy(fx(formats[i].name), fx(half), size / 2);
    truncate_copy(fx(formats[i].name), fx(tiny), 100);
    snprintf(want, sizeof want, "cannot decode %s: ", tiny);
    expect_fail("audio-5.9", tiny, MIRA_EINVAL, want, 0);
    if (strstr(half, ".ogg")) continue; /* below */
    snprintf(want, sizeof want, "cannot decode %s: %s", half,
             strstr(half, ".m4a")   ? ""
             : strstr(half, ".wav") ? "truncated ("
                                    : "damaged or truncated (");
    expect_fail("audio-5.8", half, MIRA_EINVAL, want, 0);
  }
  /* Damage inside a file whose index survives (moov first): a little loses
   * packets, so the audio comes up short of the stated length; a lot makes
   * most packets fail to decode. */
  sh("ffmpeg -v error -y -i '%s' -c:a aac -b:a 64k -movflags +faststart '%s'", fx("speech.wav"),
     fx("fast.m4a"));
  long size = file_size(fx("fast.m4a"));
  garble(fx("fast.m4a"), fx("glitch.m4a"), size / 2, size / 10);
  garble(fx("fast.m4a"), fx("wrecked.m4a"), size / 10, size - size / 10 - 200);
  expect_fail("audio-5.11", "glitch.m4a", MIRA_EINVAL,
              "cannot decode glitch.m4a: damaged or truncated (", 0);
  expect_fail("audio-5.12", "wrecked.m4a", MIRA_EINVAL,
              "cannot decode wrecked.m4a: Invalid data found when processing input", 1);

  /* A float WAV holding NaN, Inf and 1e30: decodes, but to finite samples
   * that loudness can still measure. */
  mira_pcm bad = tone(16000, 2.0, 440, 0.5), got;
  bad.samples[100] = NAN;
  bad.samples[200] = INFINITY;
  bad.samples[300] = -1e30f;
  CHECK("audio-5.14", write_float_wav(fx("nan.wav"), &bad) == 0);
  char err[256];
  CHECK_INT("audio-5.14", mira_audio_decode(fx("nan.wav"), 0, 60, &got, err, sizeof err), 0);
  int finite = 1;
  for (size_t i = 0; i < got.n; i++)
    finite &= isfinite(got.samples[i]) && fabsf(got.samples[i]) <= 16;
  CHECK("audio-5.14", finite && got.n == bad.n);
  CHECK("audio-5.14", isfinite(mira_audio_loudness(&got)));
  mira_pcm_free(&got);
  mira_pcm_free(&bad);

  /* Ogg's length is read from its last page, so a cut Ogg file is a
   * shorter file: it decodes to what is there, as ffprobe sees it. */
  const char *oggs[] = {"half-vorbis.ogg", "half-opus.ogg"};
  for (int i = 0; i < 2; i++) {
    mira_pcm p;
    CHECK_INT("audio-5.10", mira_audio_decode(fx(oggs[i]), 0, 60, &p, err, sizeof err), 0);
    double d = p.sample_rate ? (double)p.n / p.sample_rate : 0;
    CHECK("audio-5.10", d > 0.5 && d < 4.0);
    CHECK("audio-5.10", fabs(d - ffprobe_num("format=duration", fx(oggs[i]))) <= 0.02);
    mira_pcm_free(&p);
  }
}

/* Byte-flipped and cut copies of every fixture (fixed seed, so always the
 * same files): each decodes, or fails with EINVAL/ETOOBIG (a flipped
 * length field can claim hours) and a message, and never crashes (run
 * under ASan: never reads out of bounds or leaks). */
static void test_mutants(void) {
  enum { MUTANTS = 6, MAX_FLIPS = 20, HEADER_BYTES = 4096 };
  int ok = 0, failed = 0;
  for (int i = 0; i < NFORMATS; i++) {
    const char *ext = strrchr(formats[i].name, '.');
    char name[64];
    snprintf(name, sizeof name, "mutant%s", ext);
    long size = file_size(fx(formats[i].name));
    for (int m = 0; m < MUTANTS; m++) {
      sh("cp '%s' '%s'", fx(formats[i].name), fx(name));
      FILE *f = fopen(fx(name), "r+b");
      int flips = 1 + (int)(lcg() % MAX_FLIPS);
      long span = m % 2 ? size : (size < HEADER_BYTES ? size : HEADER_BYTES);
      for (int k = 0; f && k < flips; k++) {
        fseek(f, (long)(lcg() % (uint32_t)span), SEEK_SET);
        fputc((int)(lcg() >> 24), f);
      }
      if (f) fclose(f);
      if (m == MUTANTS - 1)
        truncate_copy(fx(formats[i].name), fx(name), (long)(lcg() % (uint32_t)size));
      char err[256] = "";
      mira_pcm p;
      int rc = mira_audio_decode(fx(name), 0, 60, &p, err, sizeof err);
      if (rc == 0) {
        ok++;
        CHECK("audio-5.13", p.n > 0 && p.samples && p.sample_rate == formats[i].rate);
      } else {
        failed++;
        CHECK("audio-5.13", (rc == MIRA_EINVAL || rc == MIRA_ETOOBIG) && err[0] && !p.samples);
        if (rc != MIRA_EINVAL && rc != MIRA_ETOOBIG)
          fprintf(stderr, "  %s mutant %d: %d %s\n", formats[i].name, m, rc, err);
      }
      mira_pcm_free(&p);
    }
  }
  printf("mutants: %d decoded, %d refused\n", ok, failed);
}

/* ---- 6: the length limit and arguments --------------------------------- */

static void test_limits(void) {
  char err[256], want[128];
  for (int i = 0; i < NFORMATS; i++) {
    snprintf(want, sizeof want, "%s is longer than the 2 s limit", formats[i].name);
    expect_fail_max("audio-6.1", formats[i].name, 2, MIRA_ETOOBIG, want, 1);
  }
  /* No stated length: caught while decoding, not from the header. */
  mira_pcm p;
  expect_fail_max("audio-6.2", "noxing.mp3", 2, MIRA_ETOOBIG,
                  "noxing.mp3 is longer than the 2 s limit", 1);
  CHECK_INT("audio-6.3", mira_audio_decode(fx("noxing.mp3"), 0, 6, &p, err, sizeof err), 0);
  CHECK("audio-6.3", p.n > 5 * 22050);
  mira_pcm_free(&p);
  /* Bad arguments. */
  CHECK_INT("audio-6.4", mira_audio_decode(NULL, 0, 60, &p, err, sizeof err), MIRA_EINVAL);
  CHECK_INT("audio-6.4", mira_audio_decode(fx("speech.wav"), 0, 0, &p, err, sizeof err),
            MIRA_EINVAL);
  CHECK_INT("audio-6.4", mira_audio_decode(fx("speech.wav"), -1, 60, &p, err, sizeof err),
            MIRA_EINVAL);
  CHECK_INT("audio-6.4", mira_audio_decode(fx("speech.wav"), 0, 60, NULL, err, sizeof err),
            MIRA_EINVAL);
  mira_pcm_free(NULL);
  CHECK_INT("audio-6.5", mira_pcm_duration_ms(NULL), 0);
}

/* ---- 7: mouth track ------------------------------------------------------ */

static double frame_db(const mira_pcm *p, size_t i, int ms) {
  size_t a = (size_t)((unsigned long long)i * p->sample_rate * ms / 1000);
  size_t b = (size_t)((unsigned long long)(i + 1) * p->sample_rate * ms / 1000);
  if (b > p->n) b = p->n;
  double s = 0;
  for (size_t k = a; k < b; k++) s += (double)p->samples[k] * p->samples[k];
  return b > a && s > 0 ? fmax(10 * log10(s / (b - a)), -90) : -90;
}

static void test_mouth_silence(void) {
  char err[256];
  mira_mouth_track t;
  /* Digital silence, and -70 dBFS hiss under the noise gate. */
  for (int k = 0; k < 2; k++) {
    mira_pcm z = tone(16000, 1.0, 440, 0.0);
    for (size_t i = 0; k && i < z.n; i++)
      z.samples[i] = (float)((lcg() >> 8) / 16777216.0 - 0.5) * 6e-4f;
    CHECK_INT("audio-7.1", mira_audio_mouth_track(&z, 10, &t, err, sizeof err), 0);
    CHECK_INT("audio-7.1", t.frames, 100);
    int nonzero = 0;
    for (size_t i = 0; i < t.frames; i++)
      nonzero += t.open[i] != 0 || t.viseme[i] != MIRA_VISEME_SIL;
    CHECK_INT("audio-7.1", nonzero, 0);
    mira_mouth_track_free(&t);
    mira_pcm_free(&z);
  }
  /* Bad arguments. */
  mira_pcm one = tone(16000, 0.1, 440, 0.5);
  CHECK_INT("audio-7.2", mira_audio_mouth_track(&one, 0, &t, err, sizeof err), MIRA_EINVAL);
  CHECK_INT("audio-7.2", mira_audio_mouth_track(NULL, 10, &t, err, sizeof err), MIRA_EINVAL);
  CHECK_INT("audio-7.2", mira_audio_mouth_track(&one, 10, NULL, err, sizeof err), MIRA_EINVAL);
  mira_mouth_track_free(NULL);
  mira_pcm_free(&one);
}

/* Attack fast, release slower: a 300 ms burst between silences. */
static void test_mouth_envelope(void) {
  char err[256];
  int rate = 16000;
  mira_pcm p = tone(rate, 1.3, 220, 0.0);
  for (size_t i = (size_t)(0.5 * rate); i < (size_t)(0.8 * rate); i++)
    p.samples[i] = (float)(0.5 * sin(2 * M_PI * 220 * i / rate));
  mira_mouth_track t;
  CHECK_INT("audio-7.3", mira_audio_mouth_track(&p, 10, &t, err, sizeof err), 0);
  CHECK("audio-7.3", t.open[49] == 0 && t.viseme[49] == MIRA_VISEME_SIL);   /* before */
  CHECK("audio-7.3", t.open[52] > 0.9f);                                    /* open in 30 ms */
  CHECK("audio-7.4", t.open[82] > 0.3f && t.open[82] < t.open[79]);         /* closing, slower */
  CHECK("audio-7.4", t.open[110] == 0 && t.viseme[110] == MIRA_VISEME_SIL); /* shut by +300 ms */
  mira_mouth_track_free(&t);
  mira_pcm_free(&p);
}

static void test_mouth_speech(void) {
  char err[256];
  mira_pcm p;
  CHECK_INT("audio-7.5", mira_audio_decode(fx("speech.wav"), 0, 60, &p, err, sizeof err), 0);
  const int frame_ms[] = {10, 33, 40};
  for (int k = 0; k < 3; k++) {
    mira_mouth_track t;
    CHECK_INT("audio-7.5", mira_audio_mouth_track(&p, frame_ms[k], &t, err, sizeof err), 0);
    double want = (double)p.n * 1000 / p.sample_rate / frame_ms[k];
    CHECK("audio-7.5", fabs((double)t.frames - want) <= 1 && t.frame_ms == frame_ms[k]);
    mira_mouth_track_free(&t);
  }
  mira_mouth_track t, t2;
  CHECK_INT("audio-7.6", mira_audio_mouth_track(&p, 10, &t, err, sizeof err), 0);
  double *open = malloc(t.frames * sizeof(double)), *db = malloc(t.frames * sizeof(double));
  int kinds[MIRA_VISEME_COUNT] = {0}, distinct = 0;
  for (size_t i = 0; i < t.frames; i++) {
    open[i] = t.open[i];
    db[i] = frame_db(&p, i, 10);
    distinct += kinds[t.viseme[i]]++ == 0;
  }
  double r = pearson(open, db, t.frames);
  printf("mouth track: %zu frames, opening vs frame RMS dB r = %.3f, %d viseme classes\n", t.frames,
         r, distinct);
  CHECK("audio-7.6", r > 0.7);
  CHECK("audio-7.7", distinct >= 6);
  /* espeak-ng pads with silence: the first frames are SIL and closed. */
  CHECK("audio-7.8", t.open[0] == 0 && t.viseme[0] == MIRA_VISEME_SIL);
  CHECK("audio-7.8", t.open[t.frames - 1] == 0 && t.viseme[t.frames - 1] == MIRA_VISEME_SIL);
  for (size_t i = 0; i < t.frames; i++) CHECK("audio-7.9", t.open[i] >= 0 && t.open[i] <= 1);
  /* Deterministic. */
  CHECK_INT("audio-7.10", mira_audio_mouth_track(&p, 10, &t2, err, sizeof err), 0);
  CHECK("audio-7.10", t2.frames == t.frames && !memcmp(t.open, t2.open, t.frames * sizeof(float)) &&
                          !memcmp(t.viseme, t2.viseme, t.frames * sizeof(mira_viseme)));
  free(open);
  free(db);
  mira_mouth_track_free(&t);
  mira_mouth_track_free(&t2);
  mira_pcm_free(&p);
}

/* Sustained espeak-ng sounds: most voiced frames get the expected class. */
static void test_mouth_visemes(void) {
  const struct {
    const char *file;
    mira_viseme want;
  } cases[] = {{"aa.wav", MIRA_VISEME_AA}, {"ih.wav", MIRA_VISEME_IH}, {"e.wav", MIRA_VISEME_E},
               {"oh.wav", MIRA_VISEME_OH}, {"ou.wav", MIRA_VISEME_OU}, {"ss.wav", MIRA_VISEME_SS},
               {"ch.wav", MIRA_VISEME_CH}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    char err[256], id[64];
    mira_pcm p;
    mira_mouth_track t;
    snprintf(id, sizeof id, "audio-7.11 %s", cases[c].file);
    CHECK_INT(id, mira_audio_decode(fx(cases[c].file), 0, 60, &p, err, sizeof err), 0);
    CHECK_INT(id, mira_audio_mouth_track(&p, 10, &t, err, sizeof err), 0);
    size_t voiced = 0, hit = 0;
    for (size_t i = 0; i < t.frames; i++) {
      voiced += t.viseme[i] != MIRA_VISEME_SIL;
      hit += t.viseme[i] == cases[c].want;
    }
    if (!(hit * 10 >= voiced * 7))
      fprintf(stderr, "  %s: %zu of %zu voiced frames\n", cases[c].file, hit, voiced);
    CHECK(id, voiced > 20 && hit * 10 >= voiced * 7);
    mira_mouth_track_free(&t);
    mira_pcm_free(&p);
  }
}

int main(void) {
  int rc = make_fixtures();
  CHECK_INT("audio-0.1 fixtures (ffmpeg, espeak-ng)", rc, 0);
  if (rc == 0) {
    test_formats();
    test_corrupt();
    test_mutants();
    test_limits();
    test_normalize();
    test_mouth_speech();
    test_mouth_visemes();
  }
  test_loudness_reference();
  test_mouth_silence();
  test_mouth_envelope();
  if (dir[strlen(dir) - 1] != 'X') sh("rm -rf '%s'", dir);
  return CHECK_EXIT();
}
