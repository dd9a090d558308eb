/* Mira error codes.
 *
 * Every fallible call returns 0 or a negative MIRA_E* code and, where it takes
 * one, writes a human-readable message into a caller-owned `char *err,
 * size_t errlen` buffer (curl's CURLOPT_ERRORBUFFER idea). The api layer maps
 * codes to HTTP statuses; mira_strerror() names them for logs.
 *
 * Thread-safety: everything here is thread-safe (no state).
 */
#ifndef MIRA_CORE_ERROR_H
#define MIRA_CORE_ERROR_H

#include <stddef.h>

enum {
  MIRA_OK = 0,
  MIRA_EINVAL = -1,    /* bad input: a request field, a file, a flag */
  MIRA_ENOENT = -2,    /* no such thing (or not visible to this account) */
  MIRA_EEXIST = -3,    /* already there (idempotent replay: same request) */
  MIRA_ECONFLICT = -4, /* already there, but different (idempotency key reuse) */
  MIRA_EIO = -5,       /* disk, database or system call failed */
  MIRA_ENOMEM = -6,
  MIRA_ENOTSUP = -7,   /* feature or engine not available in this build/config */
  MIRA_EBUSY = -8,     /* try again later (database locked, queue full) */
  MIRA_ETOOBIG = -9,   /* over a configured limit */
  MIRA_ETYPE = -10,    /* unsupported media type */
  MIRA_EAUTH = -11,    /* missing or invalid credentials or signature */
  MIRA_ESTATE = -12,   /* not allowed in the object's current state */
  MIRA_EEXPIRED = -13  /* signature or lease expired */
};

/* Short static name of a code ("invalid argument"); never NULL. */
const char *mira_strerror(int code);

/* printf into err (if err && errlen) and return code, so callers can write
 * `return mira_err(err, errlen, MIRA_EINVAL, "field %s", f);` */
int mira_err(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
