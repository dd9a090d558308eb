/* Unit tests for src/http/signed.c. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "http/signed.h"

#define SECRET "s3cret"
#define EXP 2000000000 /* 2033-05-18T03:33:20Z */
/* openssl: printf 'PUT\n/upload/cabc\n2000000000' | openssl dgst -sha256 -hmac s3cret */
#define PUT_SIG "08daf11952ca8c165610d2d008ea8f801260a3c9eb7da759facf1ea14689e2ba"

static char err[128];

static int check(const char *method, const char *path, const char *q, int64_t now) {
  err[0] = '\0';
  return mira_signed_check(SECRET, strlen(SECRET), method, path, q, strlen(q), now, err,
                           sizeof err);
}

static void test_make(void) {
  char q[MIRA_SIGNED_QUERY_SIZE];
  CHECK_INT("signed-1.1", mira_signed_make(SECRET, 6, "PUT", "/upload/cabc", EXP, q, sizeof q), 0);
  CHECK_STR("signed-1.2", q, "expires=2000000000&sig=" PUT_SIG);
  CHECK_INT("signed-1.3", mira_signed_make(SECRET, 6, "PUT", "/upload/cabc", EXP, q, 87), MIRA_EINVAL);
  CHECK_INT("signed-1.4", mira_signed_make(SECRET, 6, "PUT", "/upload/cabc", EXP, q, 88), 0);
  CHECK_INT("signed-1.5", mira_signed_make(SECRET, 6, "PUT", "/x", -1, q, sizeof q), MIRA_EINVAL);
  CHECK_INT("signed-1.6", mira_signed_make(SECRET, 6, "PUT\n", "/x", EXP, q, sizeof q), MIRA_EINVAL);
  CHECK_INT("signed-1.7", mira_signed_make(SECRET, 6, "PUT", "/a\nb", EXP, q, sizeof q), MIRA_EINVAL);
  CHECK_INT("signed-1.8", mira_signed_make(SECRET, 6, "PUT", "", EXP, q, sizeof q), MIRA_EINVAL);
  CHECK_INT("signed-1.9", mira_signed_make(SECRET, 6, NULL, "/x", EXP, q, sizeof q), MIRA_EINVAL);
  CHECK_INT("signed-1.10", mira_signed_make(SECRET, 6, "PUT", "/x", INT64_MAX, q, sizeof q),
            MIRA_EINVAL);
}

static void test_round_trip(void) {
  const char *q = "expires=2000000000&sig=" PUT_SIG;
  CHECK_INT("signed-2.1", check("PUT", "/upload/cabc", q, EXP - 1), 0);
  CHECK_STR("signed-2.2", err, "");
  CHECK_INT("signed-2.3", check("PUT", "/upload/cabc", "a=1&" "expires=2000000000&sig=" PUT_SIG
                                "&b=&c", EXP - 1), 0);
  CHECK_INT("signed-2.4", check("PUT", "/upload/cabc", "sig=" PUT_SIG "&x=y&expires=2000000000",
                                EXP - 1), 0);
  char upper[] = "expires=2000000000&sig=" PUT_SIG;
  for (char *c = upper + 23; *c; c++)
    if (*c >= 'a' && *c <= 'f') *c = (char)(*c - 'a' + 'A');
  CHECK_INT("signed-2.5", check("PUT", "/upload/cabc", upper, EXP - 1), 0);
  /* Only query_len bytes count: the "&junk" tail is never read. */
  const char *longer = "expires=2000000000&sig=" PUT_SIG "&junk";
  CHECK_INT("signed-2.6", mira_signed_check(SECRET, 6, "PUT", "/upload/cabc", longer,
                                            strlen(longer) - 5, EXP - 1, NULL, 0), 0);
  CHECK_INT("signed-2.7", mira_signed_check(SECRET, 6, "PUT", "/upload/cabc", longer,
                                            strlen(longer) - 6, EXP - 1, NULL, 0), MIRA_EAUTH);
}

static void test_tampered(void) {
  CHECK_INT("signed-3.1", check("PUT", "/upload/cabc", "expires=2000000000&sig="
            "18daf11952ca8c165610d2d008ea8f801260a3c9eb7da759facf1ea14689e2ba", EXP - 1), MIRA_EAUTH);
  CHECK_STR("signed-3.2", err, "signature is invalid");
  CHECK_INT("signed-3.3", check("PUT", "/upload/cabd", "expires=2000000000&sig=" PUT_SIG, EXP - 1),
            MIRA_EAUTH);
  CHECK_INT("signed-3.4", check("GET", "/upload/cabc", "expires=2000000000&sig=" PUT_SIG, EXP - 1),
            MIRA_EAUTH);
  CHECK_INT("signed-3.5", check("HEAD", "/upload/cabc", "expires=2000000000&sig=" PUT_SIG, EXP - 1),
            MIRA_EAUTH);
  CHECK_INT("signed-3.6", check("PUT", "/upload/cabc", "expires=2000000001&sig=" PUT_SIG, EXP - 1),
            MIRA_EAUTH);
  CHECK_INT("signed-3.7", check("PUT", "/upload/cabc", "expires=2000000000&sig="
            "08daf11952ca8c165610d2d008ea8f801260a3c9eb7da759facf1ea14689e2b", EXP - 1), MIRA_EAUTH);
  CHECK_INT("signed-3.8", check("PUT", "/upload/cabc", "expires=2000000000&sig=" PUT_SIG "0",
                                EXP - 1), MIRA_EAUTH);
  CHECK_INT("signed-3.9", check("PUT", "/upload/cabc", "expires=2000000000&sig=" PUT_SIG
                                "&sig=" PUT_SIG, EXP - 1), MIRA_EAUTH);
  CHECK_INT("signed-3.10", check("PUT", "/upload/cabc", "expires=+2000000000&sig=" PUT_SIG,
                                 EXP - 1), MIRA_EAUTH);
  CHECK_INT("signed-3.11", check("PUT", "/upload/cabc", "expires=99999999999999999999&sig="
                                 PUT_SIG, EXP - 1), MIRA_EAUTH);
  const char *q = "expires=2000000000&sig=" PUT_SIG;
  CHECK_INT("signed-3.12", mira_signed_check("other", 5, "PUT", "/upload/cabc", q, strlen(q),
                                             EXP - 1, NULL, 0), MIRA_EAUTH);
}

static void test_expired(void) {
  const char *q = "expires=2000000000&sig=" PUT_SIG;
  CHECK_INT("signed-4.1", check("PUT", "/upload/cabc", q, EXP), MIRA_EEXPIRED);
  CHECK_STR("signed-4.2", err, "link expired at 2033-05-18T03:33:20.000Z");
  CHECK_INT("signed-4.3", check("PUT", "/upload/cabc", q, EXP + 86400), MIRA_EEXPIRED);
  /* A forged URL is rejected as forged, not as expired. */
  CHECK_INT("signed-4.4", check("PUT", "/upload/cabd", q, EXP + 1), MIRA_EAUTH);
}

static void test_missing(void) {
  CHECK_INT("signed-5.1", check("PUT", "/upload/cabc", "", EXP - 1), MIRA_EAUTH);
  CHECK_STR("signed-5.2", err, "link is not signed (expires and sig required)");
  CHECK_INT("signed-5.3", check("PUT", "/upload/cabc", "expires=2000000000", EXP - 1), MIRA_EAUTH);
  CHECK_INT("signed-5.4", check("PUT", "/upload/cabc", "sig=" PUT_SIG, EXP - 1), MIRA_EAUTH);
  CHECK_INT("signed-5.5", check("PUT", "/upload/cabc", "expires=&sig=", EXP - 1), MIRA_EAUTH);
  CHECK_STR("signed-5.6", err, "signature is invalid");
  CHECK_INT("signed-5.7", check("PUT", "/upload/cabc", "xexpires=2000000000&xsig=" PUT_SIG,
                                EXP - 1), MIRA_EAUTH);
  CHECK_INT("signed-5.8", mira_signed_check(SECRET, 6, "PUT", "/upload/cabc", NULL, 0, EXP - 1,
                                            NULL, 0), MIRA_EAUTH);
}

static void test_head(void) {
  char q[MIRA_SIGNED_QUERY_SIZE];
  mira_signed_make(SECRET, 6, "GET", "/media/x.mp3", EXP, q, sizeof q);
  /* openssl: printf 'GET\n/media/x.mp3\n2000000000' | openssl dgst -sha256 -hmac s3cret */
  CHECK_STR("signed-6.1", q, "expires=2000000000&sig="
            "9321f6383008831ec95370d1885b6900646d1034d4b1fc3040ad04887bef0dd6");
  CHECK_INT("signed-6.2", check("GET", "/media/x.mp3", q, EXP - 1), 0);
  CHECK_INT("signed-6.3", check("HEAD", "/media/x.mp3", q, EXP - 1), 0);
  CHECK_INT("signed-6.4", check("HEAD", "/media/x.mp3", q, EXP), MIRA_EEXPIRED);
  CHECK_INT("signed-6.5", check("PUT", "/media/x.mp3", q, EXP - 1), MIRA_EAUTH);
  mira_signed_make(SECRET, 6, "HEAD", "/media/x.mp3", EXP, q, sizeof q);
  CHECK_INT("signed-6.6", check("HEAD", "/media/x.mp3", q, EXP - 1), 0);
  CHECK_INT("signed-6.7", check("GET", "/media/x.mp3", q, EXP - 1), MIRA_EAUTH);
}

int main(void) {
  test_make();
  test_round_trip();
  test_tampered();
  test_expired();
  test_missing();
  test_head();
  return CHECK_EXIT();
}
