/* Unit tests for src/core: ids, crypto, clock, log, sniff, error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/error.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/sniff.h"

enum { MANY_IDS = 100000 };

static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

static void test_ids_shape(void) {
  char id[MIRA_ID_SIZE];
  mira_id_new(id);
  CHECK_INT("ids-1.1", strlen(id), 25);
  CHECK("ids-1.2", id[0] == 'c');
  CHECK("ids-1.3", mira_id_valid(id));
  CHECK("ids-1.4", strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz") == 25);
  CHECK("ids-1.5", mira_id_valid("cm42ab3ou0008aggajj0jy5e2"));
}

static void test_ids_invalid(void) {
  CHECK("ids-2.1", !mira_id_valid(NULL));
  CHECK("ids-2.2", !mira_id_valid(""));
  CHECK("ids-2.3", !mira_id_valid("cm42ab3ou0008aggajj0jy5e"));   /* 24 */
  CHECK("ids-2.4", !mira_id_valid("cm42ab3ou0008aggajj0jy5e2x")); /* 26 */
  CHECK("ids-2.5", !mira_id_valid("Cm42ab3ou0008aggajj0jy5e2"));
  CHECK("ids-2.6", !mira_id_valid("dm42ab3ou0008aggajj0jy5e2"));
  CHECK("ids-2.7", !mira_id_valid("cm42ab3ou0008aGgajj0jy5e2"));
  CHECK("ids-2.8", !mira_id_valid("cm42ab3ou0008agg-jj0jy5e2"));
  CHECK("ids-2.9", !mira_id_valid("cm42ab3ou0008agg jj0jy5e2"));
}

/* 100k ids: all distinct, valid, and the time prefix never goes backwards. */
static void test_ids_unique(void) {
  char(*ids)[MIRA_ID_SIZE] = malloc(sizeof *ids * MANY_IDS);
  int bad = 0, backwards = 0, dups = 0, same_count = 0;
  for (int i = 0; i < MANY_IDS; i++) {
    mira_id_new(ids[i]);
    bad += !mira_id_valid(ids[i]);
    backwards += i > 0 && strncmp(ids[i - 1], ids[i], 9) > 0;
    same_count += i > 0 && memcmp(ids[i - 1] + 9, ids[i] + 9, 4) == 0;
  }
  qsort(ids, MANY_IDS, sizeof *ids, cmp_id);
  for (int i = 1; i < MANY_IDS; i++) dups += strcmp(ids[i - 1], ids[i]) == 0;
  CHECK_INT("ids-3.1", bad, 0);
  CHECK_INT("ids-3.2", dups, 0);
  CHECK_INT("ids-3.3", backwards, 0);
  CHECK_INT("ids-3.4", same_count, 0); /* chars 9..12: the per-process counter */
  free(ids);
}

static void test_sha256(void) {
  char hex[MIRA_SHA256_HEX_SIZE];
  mira_sha256_hex("abc", 3, hex);
  CHECK_STR("crypto-1.1", hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  mira_sha256_hex("", 0, hex);
  CHECK_STR("crypto-1.2", hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  uint8_t raw[MIRA_SHA256_LEN];
  mira_sha256("abc", 3, raw);
  CHECK_INT("crypto-1.3", raw[0], 0xba);
  CHECK_INT("crypto-1.4", raw[31], 0xad);
}

/* RFC 4231 test cases 1, 2 and 6 (6: key longer than the block size). */
static void test_hmac(void) {
  char hex[MIRA_SHA256_HEX_SIZE];
  const char *msg2 = "what do ya want for nothing?";
  mira_hmac_sha256_hex("Jefe", 4, msg2, strlen(msg2), hex);
  CHECK_STR("crypto-2.1", hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  uint8_t key[131];
  memset(key, 0x0b, 20);
  mira_hmac_sha256_hex(key, 20, "Hi There", 8, hex);
  CHECK_STR("crypto-2.2", hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  memset(key, 0xaa, sizeof key);
  const char *msg6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  mira_hmac_sha256_hex(key, sizeof key, msg6, strlen(msg6), hex);
  CHECK_STR("crypto-2.3", hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_hex_ct_random(void) {
  char hex[7];
  mira_hex((const uint8_t *)"\x00\xff\x1a", 3, hex);
  CHECK_STR("crypto-3.1", hex, "00ff1a");
  mira_hex(NULL, 0, hex);
  CHECK_STR("crypto-3.2", hex, "");
  CHECK("crypto-4.1", mira_ct_equal("abcdef", "abcdef", 6));
  CHECK("crypto-4.2", !mira_ct_equal("abcdef", "abcdeg", 6));
  CHECK("crypto-4.3", !mira_ct_equal("xbcdef", "abcdef", 6));
  CHECK("crypto-4.4", mira_ct_equal("a", "b", 0));
  uint8_t a[32] = {0}, b[32] = {0};
  CHECK_INT("crypto-5.1", mira_random_bytes(a, sizeof a), 0);
  CHECK_INT("crypto-5.2", mira_random_bytes(b, sizeof b), 0);
  CHECK("crypto-5.3", memcmp(a, b, sizeof a) != 0);
  CHECK_INT("crypto-5.4", mira_random_bytes(a, 0), 0);
}

static void test_clock(void) {
  char s[MIRA_ISO8601_SIZE];
  mira_iso8601(0, s);
  CHECK_STR("clock-1.1", s, "1970-01-01T00:00:00.000Z");
  mira_iso8601(1700000000123, s);
  CHECK_STR("clock-1.2", s, "2023-11-14T22:13:20.123Z");
  mira_iso8601(-1, s);
  CHECK_STR("clock-1.3", s, "1969-12-31T23:59:59.999Z");
  mira_iso8601(2000000000007, s);
  CHECK_STR("clock-1.4", s, "2033-05-18T03:33:20.007Z");
  CHECK("clock-2.1", mira_now_ms() > 1700000000000);
  uint64_t t0 = mira_mono_ns(), t1 = mira_mono_ns();
  CHECK("clock-2.2", t1 >= t0);
}

/* Runs fn with fd 2 pointed at a temp file and returns what it wrote. */
static char *capture_stderr(void (*fn)(void)) {
  static char out[8192];
  FILE *tmp = tmpfile();
  int saved = dup(2);
  dup2(fileno(tmp), 2);
  fn();
  dup2(saved, 2);
  close(saved);
  rewind(tmp);
  size_t n = fread(out, 1, sizeof out - 1, tmp);
  out[n] = '\0';
  fclose(tmp);
  return out;
}

static void log_info_and_debug(void) {
  mira_log_set_level(MIRA_LOG_INFO);
  MIRA_LOGI("http", "GET %s %d", "/api/x", 200);
  MIRA_LOGD("http", "hidden");
  MIRA_LOGE("store", "bad\nline\x1b[31m");
}

static void log_long(void) {
  char big[6000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  MIRA_LOGW("jobs", "%s", big);
}

static void test_log(void) {
  const char *out = capture_stderr(log_info_and_debug);
  const char *second = strchr(out, '\n');
  CHECK("log-1.1", strlen(out) > 24 && out[4] == '-' && out[10] == 'T' && out[23] == 'Z');
  CHECK("log-1.2", strncmp(out + 24, " INFO  http: GET /api/x 200\n", 28) == 0);
  CHECK("log-1.3", strstr(out, "hidden") == NULL);
  CHECK("log-1.4", second && strcmp(second + 25, " ERROR store: bad?line?[31m\n") == 0);
  out = capture_stderr(log_long);
  size_t n = strlen(out);
  CHECK_INT("log-2.1", n, 4095);
  CHECK("log-2.2", n > 4 && strcmp(out + n - 4, "...\n") == 0);
  CHECK("log-2.3", strncmp(out + 24, " WARN  jobs: xxx", 16) == 0);
}

static void test_sniff_types(void) {
  CHECK_STR("sniff-1.1", mira_sniff("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16), "image/png");
  CHECK_STR("sniff-1.2", mira_sniff("\xFF\xD8\xFF\xE0\0\x10JFIF", 10), "image/jpeg");
  CHECK_STR("sniff-1.3", mira_sniff("RIFF\x24\0\0\0WEBPVP8 ", 16), "image/webp");
  CHECK_STR("sniff-1.4", mira_sniff("RIFF\x24\0\0\0WAVEfmt ", 16), "audio/wav");
  CHECK_STR("sniff-1.5", mira_sniff("ID3\x04\0\0\0\0\0\0", 10), "audio/mpeg");
  CHECK_STR("sniff-1.6", mira_sniff("\xFF\xFB\x90\x64", 4), "audio/mpeg"); /* MPEG1 L3 */
  CHECK_STR("sniff-1.7", mira_sniff("\xFF\xF3\x84\x00", 4), "audio/mpeg"); /* MPEG2 L3 */
  CHECK_STR("sniff-1.8", mira_sniff("\0\0\0\x20" "ftypM4A \0\0\0\0", 16), "audio/mp4");
  CHECK_STR("sniff-1.9", mira_sniff("\0\0\0\x18" "ftypisom\0\0\0\0", 16), "audio/mp4");
  CHECK_STR("sniff-1.10", mira_sniff("OggS\0\x02\0\0", 8), "audio/ogg");
  CHECK_STR("sniff-1.11", mira_sniff("fLaC\0\0\0\x22", 8), "audio/flac");
}

static void test_sniff_negative(void) {
  CHECK("sniff-2.1", mira_sniff(NULL, 0) == NULL);
  CHECK("sniff-2.2", mira_sniff("", 0) == NULL);
  CHECK("sniff-2.3", mira_sniff("\x89PNG\r\n\x1a", 7) == NULL);  /* truncated */
  CHECK("sniff-2.4", mira_sniff("RIFF\x24\0\0\0AVI LIST", 16) == NULL);
  CHECK("sniff-2.5", mira_sniff("RIFF\x24\0\0\0WEB", 11) == NULL);
  CHECK("sniff-2.6", mira_sniff("\xFF\xF1\x50\x80", 4) == NULL);  /* AAC ADTS: layer 00 */
  CHECK("sniff-2.7", mira_sniff("\xFF\xFB\xF0\x00", 4) == NULL);  /* bitrate index 15 */
  CHECK("sniff-2.8", mira_sniff("\xFF\xFB\x9C\x00", 4) == NULL);  /* sample rate 11 */
  CHECK("sniff-2.9", mira_sniff("\xFF\xEB\x90\x00", 4) == NULL);  /* version 01 */
  CHECK("sniff-2.10", mira_sniff("\xFF\xFB", 2) == NULL);
  CHECK("sniff-2.11", mira_sniff("\0\0\0\x18" "ftypheic\0\0\0\0", 16) == NULL);
  CHECK("sniff-2.12", mira_sniff("GIF89a\x01\0\x01\0", 10) == NULL);
  CHECK("sniff-2.13", mira_sniff("<html><body>", 12) == NULL);
  CHECK("sniff-2.14", mira_sniff("OggS", 3) == NULL);
}

static void test_sniff_canonical(void) {
  CHECK_STR("sniff-3.1", mira_sniff_canonical("image/png"), "image/png");
  CHECK_STR("sniff-3.2", mira_sniff_canonical("IMAGE/JPG; q=1"), "image/jpeg");
  CHECK_STR("sniff-3.3", mira_sniff_canonical(" audio/x-wav "), "audio/wav");
  CHECK_STR("sniff-3.4", mira_sniff_canonical("audio/wave"), "audio/wav");
  CHECK_STR("sniff-3.5", mira_sniff_canonical("audio/mp3"), "audio/mpeg");
  CHECK_STR("sniff-3.6", mira_sniff_canonical("audio/x-m4a"), "audio/mp4");
  CHECK_STR("sniff-3.7", mira_sniff_canonical("audio/m4a"), "audio/mp4");
  CHECK_STR("sniff-3.8", mira_sniff_canonical("audio/aac"), "audio/mp4");
  CHECK_STR("sniff-3.9", mira_sniff_canonical("audio/x-flac"), "audio/flac");
  CHECK_STR("sniff-3.10", mira_sniff_canonical("application/ogg"), "audio/ogg");
  CHECK_STR("sniff-3.11", mira_sniff_canonical("audio/opus;codecs=opus"), "audio/ogg");
  CHECK_STR("sniff-3.12", mira_sniff_canonical("image/webp"), "image/webp");
  CHECK("sniff-3.13", mira_sniff_canonical(NULL) == NULL);
  CHECK("sniff-3.14", mira_sniff_canonical("") == NULL);
  CHECK("sniff-3.15", mira_sniff_canonical("image/gif") == NULL);
  CHECK("sniff-3.16", mira_sniff_canonical("video/mp4") == NULL);
  CHECK("sniff-3.17", mira_sniff_canonical("image/pngx") == NULL);
  CHECK("sniff-3.18", mira_sniff_canonical("image/pn") == NULL);
  CHECK("sniff-3.19", mira_sniff_canonical("; image/png") == NULL);
}

static void test_sniff_matches(void) {
  CHECK("sniff-4.1", mira_sniff_matches("audio/x-wav", "audio/wav"));
  CHECK("sniff-4.2", mira_sniff_matches("image/jpg", mira_sniff("\xFF\xD8\xFF\xDB", 4)));
  CHECK("sniff-4.3", !mira_sniff_matches("audio/mpeg", "audio/wav"));
  CHECK("sniff-4.4", !mira_sniff_matches("audio/wav", NULL));
  CHECK("sniff-4.5", !mira_sniff_matches(NULL, "audio/wav"));
  CHECK("sniff-4.6", !mira_sniff_matches("image/gif", "image/gif"));
  CHECK("sniff-4.7", mira_sniff_is_image("image/png"));
  CHECK("sniff-4.8", !mira_sniff_is_image("audio/mpeg"));
  CHECK("sniff-4.9", !mira_sniff_is_image(NULL));
}

static void test_error(void) {
  CHECK_STR("error-1.1", mira_strerror(MIRA_OK), "ok");
  CHECK_STR("error-1.2", mira_strerror(MIRA_EINVAL), "invalid argument");
  CHECK_STR("error-1.3", mira_strerror(MIRA_EAUTH), "unauthorized");
  CHECK_STR("error-1.4", mira_strerror(MIRA_EEXPIRED), "expired");
  CHECK_STR("error-1.5", mira_strerror(-999), "unknown error");
  int unnamed = 0;
  for (int c = MIRA_EEXPIRED; c <= MIRA_OK; c++)
    unnamed += strcmp(mira_strerror(c), "unknown error") == 0;
  CHECK_INT("error-1.6", unnamed, 0);
  char err[16];
  CHECK_INT("error-2.1", mira_err(err, sizeof err, MIRA_ENOENT, "no %s here", "video"),
            MIRA_ENOENT);
  CHECK_STR("error-2.2", err, "no video here");
  CHECK_INT("error-2.3", mira_err(NULL, 0, MIRA_EIO, "x"), MIRA_EIO);
  mira_err(err, 4, MIRA_EIO, "truncated");
  CHECK_STR("error-2.4", err, "tru");
}

int main(void) {
  test_ids_shape();
  test_ids_invalid();
  test_ids_unique();
  test_sha256();
  test_hmac();
  test_hex_ct_random();
  test_clock();
  test_log();
  test_sniff_types();
  test_sniff_negative();
  test_sniff_canonical();
  test_sniff_matches();
  test_error();
  return CHECK_EXIT();
}
