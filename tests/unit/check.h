/* Tiny assertion helpers for unit tests: a failing check prints the case id,
 * the expression and both values, counts the failure, and the test's main
 * returns CHECK_EXIT() so ctest sees it. */
#ifndef MIRA_TEST_CHECK_H
#define MIRA_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_total;

#define CHECK(id, expr)                                                               \
  do {                                                                                \
    check_total++;                                                                    \
    if (!(expr)) {                                                                    \
      check_failures++;                                                               \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, id, #expr);              \
    }                                                                                 \
  } while (0)

#define CHECK_INT(id, got_expr, want_expr)                                            \
  do {                                                                                \
    long long got_ = (long long)(got_expr), want_ = (long long)(want_expr);           \
    check_total++;                                                                    \
    if (got_ != want_) {                                                              \
      check_failures++;                                                               \
      fprintf(stderr, "%s:%d: %s: %s == %s (got %lld, want %lld)\n", __FILE__,        \
              __LINE__, id, #got_expr, #want_expr, got_, want_);                      \
    }                                                                                 \
  } while (0)

#define CHECK_STR(id, got_expr, want_expr)                                            \
  do {                                                                                \
    const char *got_ = (got_expr), *want_ = (want_expr);                              \
    check_total++;                                                                    \
    if (!got_ || !want_ || strcmp(got_, want_) != 0) {                                \
      check_failures++;                                                               \
      fprintf(stderr, "%s:%d: %s: %s == %s (got \"%s\", want \"%s\")\n", __FILE__,    \
              __LINE__, id, #got_expr, #want_expr, got_ ? got_ : "(null)",            \
              want_ ? want_ : "(null)");                                              \
    }                                                                                 \
  } while (0)

#define CHECK_EXIT()                                                                  \
  (printf("%d checks, %d failed\n", check_total, check_failures), check_failures ? 1 : 0)

#endif
