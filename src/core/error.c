#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *mira_strerror(int code) {
  switch (code) {
  case MIRA_OK: return "ok";
  case MIRA_EINVAL: return "invalid argument";
  case MIRA_ENOENT: return "not found";
  case MIRA_EEXIST: return "already exists";
  case MIRA_ECONFLICT: return "conflict";
  case MIRA_EIO: return "i/o error";
  case MIRA_ENOMEM: return "out of memory";
  case MIRA_ENOTSUP: return "not supported";
  case MIRA_EBUSY: return "busy";
  case MIRA_ETOOBIG: return "too big";
  case MIRA_ETYPE: return "unsupported type";
  case MIRA_EAUTH: return "unauthorized";
  case MIRA_ESTATE: return "wrong state";
  case MIRA_EEXPIRED: return "expired";
  default: return "unknown error";
  }
}

int mira_err(char *err, size_t errlen, int code, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}
