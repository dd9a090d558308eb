/* Unit tests for src/http/multipart.c. Run under ASan: the prefix and
 * mutation tests copy each body into an exact-size heap block, so any read
 * past `len` is reported. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "http/multipart.h"

#define B "XyZ"
/* Binary payload holding near-misses: "--XyZ" after NUL, after a bare LF,
 * and after CRLF but followed by "Z" / "-x" (so not a delimiter line). */
#define PAYLOAD "\x89PNG\0--" B "\r\n\n--" B "\r\n\r\n--" B "Z\r\n\r\n--" B "-x\r\nend"

static const char two_fields[] =
    "This is the preamble.\r\n"
    "--" B "\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "Hello, world\r\n"
    "--" B "  \r\n"
    "content-disposition: form-data; name=\"file\"; filename=\"a;b \\\"q\\\".png\"\r\n"
    "Content-Type: image/png\r\n"
    "X-Ignored: yes\r\n"
    "\r\n" PAYLOAD "\r\n"
    "--" B "--\r\n"
    "epilogue";

static int parse(const char *body, size_t len, size_t max, mira_multipart_part *parts,
                 size_t *n, char *err, size_t errlen) {
  *n = 99;
  return mira_multipart_parse(body, len, B, strlen(B), parts, max, n, err, errlen);
}

static int parse_str(const char *body, size_t max, size_t *n, char *err, size_t errlen) {
  mira_multipart_part parts[8];
  return parse(body, strlen(body), max, parts, n, err, errlen);
}

static int boundary(const char *ct, char *out) {
  const char *b = NULL;
  size_t blen = 0;
  int rc = mira_multipart_boundary(ct, strlen(ct), &b, &blen);
  out[0] = '\0';
  if (rc == 0) memcpy(out, b, blen), out[blen] = '\0';
  return rc;
}

static void test_boundary(void) {
  char b[128];
  CHECK_INT("mp-1.1", boundary("multipart/form-data; boundary=abc", b), 0);
  CHECK_STR("mp-1.2", b, "abc");
  CHECK_INT("mp-1.3", boundary("multipart/form-data; boundary=\"a b;c\"", b), 0);
  CHECK_STR("mp-1.4", b, "a b;c");
  CHECK_INT("mp-1.5", boundary("Multipart/Form-Data;charset=utf-8;BOUNDARY="
                               "----WebKitFormBoundary7MA4YWxkTrZu0gW", b), 0);
  CHECK_STR("mp-1.6", b, "----WebKitFormBoundary7MA4YWxkTrZu0gW");
  CHECK_INT("mp-1.7", boundary("multipart/form-data; boundary=abc; charset=utf-8", b), 0);
  CHECK_STR("mp-1.8", b, "abc");
  CHECK_INT("mp-2.1", boundary("multipart/form-data", b), MIRA_EINVAL);
  CHECK_INT("mp-2.2", boundary("multipart/form-data; boundary=", b), MIRA_EINVAL);
  CHECK_INT("mp-2.3", boundary("multipart/form-data; boundary=\"\"", b), MIRA_EINVAL);
  CHECK_INT("mp-2.4", boundary("multipart/mixed; boundary=abc", b), MIRA_EINVAL);
  CHECK_INT("mp-2.5", boundary("application/json", b), MIRA_EINVAL);
  CHECK_INT("mp-2.6", boundary("", b), MIRA_EINVAL);
  CHECK_INT("mp-2.7", boundary("multipart/form-data; boundary=\"abc", b), MIRA_EINVAL);
  CHECK_INT("mp-2.8", boundary("multipart/form-data; boundary=a; boundary=b", b), MIRA_EINVAL);
  CHECK_INT("mp-2.9", boundary("multipart/form-data; boundary=\"a\\\"b\"", b), MIRA_EINVAL);
  CHECK_INT("mp-2.10", boundary("multipart/form-datax; boundary=abc", b), MIRA_EINVAL);
  char long_ct[128] = "multipart/form-data; boundary=";
  memset(long_ct + strlen(long_ct), 'a', 70);
  CHECK_INT("mp-3.1", boundary(long_ct, b), 0);
  CHECK_INT("mp-3.2", strlen(b), 70);
  strcat(long_ct, "a");
  CHECK_INT("mp-3.3", boundary(long_ct, b), MIRA_EINVAL);
  /* Only len bytes are read: the tail "def" is outside the string. */
  const char *ct = "multipart/form-data; boundary=abcdef";
  const char *bp = NULL;
  size_t blen = 0;
  CHECK_INT("mp-3.4", mira_multipart_boundary(ct, strlen(ct) - 3, &bp, &blen), 0);
  CHECK_INT("mp-3.5", blen, 3);
  CHECK_INT("mp-3.6", mira_multipart_boundary(NULL, 0, &bp, &blen), MIRA_EINVAL);
}

static void test_two_fields(void) {
  mira_multipart_part p[4];
  size_t n;
  char err[128] = "";
  CHECK_INT("mp-4.1", parse(two_fields, sizeof two_fields - 1, 4, p, &n, err, sizeof err), 0);
  CHECK_STR("mp-4.2", err, "");
  CHECK_INT("mp-4.3", n, 2);
  CHECK("mp-4.4", p[0].name_len == 5 && memcmp(p[0].name, "title", 5) == 0);
  CHECK("mp-4.5", p[0].filename == NULL && p[0].content_type == NULL);
  CHECK("mp-4.6", p[0].len == 12 && memcmp(p[0].data, "Hello, world", 12) == 0);
  CHECK("mp-4.7", p[1].name_len == 4 && memcmp(p[1].name, "file", 4) == 0);
  const char *fname = "a;b \\\"q\\\".png"; /* raw bytes between the quotes */
  CHECK("mp-4.8", p[1].filename_len == strlen(fname) &&
                      memcmp(p[1].filename, fname, strlen(fname)) == 0);
  CHECK("mp-4.9", p[1].content_type_len == 9 && memcmp(p[1].content_type, "image/png", 9) == 0);
  CHECK_INT("mp-4.10", p[1].len, sizeof PAYLOAD - 1);
  CHECK("mp-4.11", memcmp(p[1].data, PAYLOAD, sizeof PAYLOAD - 1) == 0);
  CHECK("mp-4.12", mira_multipart_find(p, n, "file") == &p[1]);
  CHECK("mp-4.13", mira_multipart_find(p, n, "title") == &p[0]);
  CHECK("mp-4.14", mira_multipart_find(p, n, "titl") == NULL);
  CHECK("mp-4.15", mira_multipart_find(p, n, "nope") == NULL);
  CHECK("mp-4.16", mira_multipart_find(NULL, 0, "file") == NULL);
}

static void test_edge_valid(void) {
  mira_multipart_part p[2];
  size_t n;
  /* No part body at all: the blank line's CRLF is the delimiter's. */
  const char *empty = "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n--" B "--";
  CHECK_INT("mp-5.1", parse(empty, strlen(empty), 2, p, &n, NULL, 0), 0);
  CHECK("mp-5.2", n == 1 && p[0].len == 0 && p[0].name_len == 1 && p[0].name[0] == 'a');
  const char *blank = "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--" B "--";
  CHECK_INT("mp-5.3", parse(blank, strlen(blank), 2, p, &n, NULL, 0), 0);
  CHECK("mp-5.4", n == 1 && p[0].len == 0);
  const char *crlf_data = "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n\r\n--" B
                          "--";
  CHECK_INT("mp-5.5", parse(crlf_data, strlen(crlf_data), 2, p, &n, NULL, 0), 0);
  CHECK("mp-5.6", n == 1 && p[0].len == 2 && memcmp(p[0].data, "\r\n", 2) == 0);
  CHECK_INT("mp-5.7", parse_str("--" B "--\r\n", 2, &n, NULL, 0), 0);
  CHECK_INT("mp-5.8", n, 0);
  const char *fn_empty = "--" B "\r\nContent-Disposition: form-data; name=f; filename=\"\"\r\n"
                         "\r\nx\r\n--" B "--";
  CHECK_INT("mp-5.9", parse(fn_empty, strlen(fn_empty), 2, p, &n, NULL, 0), 0);
  CHECK("mp-5.10", n == 1 && p[0].filename != NULL && p[0].filename_len == 0);
}

static void check_einval(const char *id, const char *body, const char *want_err) {
  size_t n;
  char err[128] = "";
  int rc = parse_str(body, 8, &n, err, sizeof err);
  CHECK_INT(id, rc, MIRA_EINVAL);
  CHECK_INT(id, n, 0);
  if (want_err) CHECK_STR(id, err, want_err);
}

static void test_malformed(void) {
  check_einval("mp-6.1", "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\ndata\r\n",
               "part 0: missing closing boundary");
  check_einval("mp-6.2", "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\ndata\r\n--" B,
               "part 0: missing closing boundary");
  check_einval("mp-6.3", "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\ndata--" B "--",
               "part 0: missing closing boundary");
  check_einval("mp-6.4", "--" B "\r\nContent-Disposition: form-data; name=a\r\n--" B "--\r\n",
               "part 0: header block without blank line");
  check_einval("mp-6.5", "--" B "\r\nContent-Disposition: form-data; name=a",
               "part 0: header block without blank line");
  check_einval("mp-6.6", "--" B "\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nd\r\n--"
               B "--", "part 0: no Content-Disposition form-data name");
  check_einval("mp-6.7", "--" B "\r\nContent-Type: text/plain\r\n\r\nd\r\n--" B "--",
               "part 0: no Content-Disposition form-data name");
  check_einval("mp-6.8", "--" B "\r\nContent-Disposition: attachment; name=a\r\n\r\nd\r\n--" B "--",
               "part 0: Content-Disposition is not form-data");
  check_einval("mp-6.9", "--" B "\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nd\r\n--" B "--",
               "part 0: no Content-Disposition form-data name");
  check_einval("mp-6.10", "no boundary here", "multipart body has no boundary line");
  check_einval("mp-6.11", "", "multipart body has no boundary line");
  check_einval("mp-6.12", "--" B "X\r\n", "multipart body has no boundary line");
  check_einval("mp-6.13", "--" B "\r\nContent-Disposition form-data\r\n\r\nd\r\n--" B "--",
               "part 0: malformed header line");
  check_einval("mp-6.14", "--" B "\r\nContent-Disposition: form-data; name=a\r\n"
               "Content-Disposition: form-data; name=b\r\n\r\nd\r\n--" B "--",
               "part 0: duplicate Content-Disposition");
  check_einval("mp-6.15", "--" B "\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nd\r\n--"
               B "--", "part 0: duplicate name parameter");
  check_einval("mp-6.16", "--" B "\r\nContent-Disposition: form-data; name=\"a\r\n\r\nd\r\n--" B "--",
               "part 0: malformed Content-Disposition");
  check_einval("mp-6.17", "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nd\r\n--" B
               "\r\nContent-Disposition: form-data\r\n\r\nd\r\n--" B "--",
               "part 1: no Content-Disposition form-data name");
  check_einval("mp-6.18", "--" B "\r\nX-Bad: a\nb\r\n\r\nd\r\n--" B "--",
               "part 0: malformed header line");
  check_einval("mp-6.19", "--" B "garbage\r\n", NULL);
  size_t n = 99;
  CHECK_INT("mp-6.20", mira_multipart_parse("x", 1, "", 0, NULL, 0, &n, NULL, 0), MIRA_EINVAL);
  CHECK_INT("mp-6.21", n, 0);
  CHECK_INT("mp-6.22", mira_multipart_parse(NULL, 0, B, 3, NULL, 0, &n, NULL, 0), MIRA_EINVAL);
  /* With ':' in the boundary a delimiter line also parses as a header
   * ("--a: b"); it must still end the header block, not be skipped. */
  const char *colon = "--a:b\r\nContent-Disposition: form-data; name=x\r\n--a:b\r\n"
                      "Content-Type: t\r\n\r\nd\r\n--a:b--";
  mira_multipart_part p[2];
  CHECK_INT("mp-6.23", mira_multipart_parse(colon, strlen(colon), "a:b", 3, p, 2, &n, NULL, 0),
            MIRA_EINVAL);
}

static void test_too_many(void) {
  const char *three = "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
                      "--" B "\r\nContent-Disposition: form-data; name=b\r\n\r\n2\r\n"
                      "--" B "\r\nContent-Disposition: form-data; name=c\r\n\r\n3\r\n--" B "--";
  size_t n;
  char err[64] = "";
  CHECK_INT("mp-7.1", parse_str(three, 2, &n, err, sizeof err), MIRA_ETOOBIG);
  CHECK_INT("mp-7.2", n, 0);
  CHECK_STR("mp-7.3", err, "more than 2 multipart parts");
  CHECK_INT("mp-7.4", parse_str(three, 3, &n, err, sizeof err), 0);
  CHECK_INT("mp-7.5", n, 3);
  CHECK_INT("mp-7.6", mira_multipart_parse(three, strlen(three), B, 3, NULL, 0, &n, NULL, 0),
            MIRA_ETOOBIG);
}

/* Every prefix of a valid body fails cleanly until the closing "--" is in. */
static void test_prefixes(void) {
  size_t full = sizeof two_fields - 1;
  size_t close_end = full - strlen("\r\nepilogue"); /* just past "--XyZ--" */
  int wrong = 0;
  for (size_t len = 0; len <= full; len++) {
    char *buf = malloc(len ? len : 1);
    memcpy(buf, two_fields, len);
    mira_multipart_part p[4];
    size_t n;
    int rc = parse(buf, len, 4, p, &n, NULL, 0);
    int want = len >= close_end ? 0 : MIRA_EINVAL;
    if (rc != want || n != (rc ? 0u : 2u)) {
      if (!wrong) fprintf(stderr, "prefix %zu: rc %d n %zu\n", len, rc, n);
      wrong++;
    }
    free(buf);
  }
  CHECK_INT("mp-8.1", wrong, 0);
}

static uint32_t rng_state = 12345;
static uint32_t rng(void) { return rng_state = rng_state * 1664525u + 1013904223u; }

/* Random byte flips, cuts and CR/LF/'-' insertions: the parser must return
 * a documented code, and every part it returns must lie inside the body. */
static void test_mutations(void) {
  size_t full = sizeof two_fields - 1;
  int bad = 0, ok = 0;
  static const char alphabet[] = "\r\n-\"; =:" B;
  for (int iter = 0; iter < 20000; iter++) {
    size_t len = full - rng() % 8;
    char *buf = malloc(len);
    memcpy(buf, two_fields, len);
    for (int k = 1 + rng() % 4; k > 0; k--)
      buf[rng() % len] = (rng() & 1) ? (char)rng() : alphabet[rng() % (sizeof alphabet - 1)];
    mira_multipart_part p[4];
    size_t n;
    int rc = parse(buf, len, 4, p, &n, NULL, 0);
    bad += rc != 0 && rc != MIRA_EINVAL && rc != MIRA_ETOOBIG;
    for (size_t i = 0; rc == 0 && i < n; i++)
      bad += p[i].data < buf || p[i].data + p[i].len > buf + len ||
             p[i].name < buf || p[i].name + p[i].name_len > buf + len;
    ok += rc == 0;
    free(buf);
  }
  CHECK_INT("mp-9.1", bad, 0);
  CHECK("mp-9.2", ok > 0); /* the mutations do not all break the framing */
}

int main(void) {
  test_boundary();
  test_two_fields();
  test_edge_valid();
  test_malformed();
  test_too_many();
  test_prefixes();
  test_mutations();
  return CHECK_EXIT();
}
