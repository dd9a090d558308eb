/* Backend selection and the store's backend-independent helpers (store.h). */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Backends compiled in; config names one by its ops->name. */
static const mira_store_ops *const backends[] = {&mira_store_sqlite};

int mira_store_open(mira_store **out, const char *backend, const char *dsn, char *err,
                    size_t errlen) {
  if (!out) return mira_err(err, errlen, MIRA_EINVAL, "store open: out is NULL");
  *out = NULL;
  if (!backend || !*backend) return mira_err(err, errlen, MIRA_EINVAL, "store backend is empty");
  for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
    if (strcmp(backends[i]->name, backend) == 0) return backends[i]->open(out, dsn, err, errlen);
  return mira_err(err, errlen, MIRA_ENOTSUP, "unknown store backend \"%s\" (available: sqlite)",
                  backend);
}

void mira_store_close(mira_store *st) {
  if (st) st->ops->close(st);
}

void mira_job_clear(mira_job *job) {
  if (!job) return;
  free(job->params);
  memset(job, 0, sizeof *job);
}

/* The strings the Miraflow API uses; clients compare them verbatim. */
const char *mira_job_kind_name(mira_job_kind k) {
  static const char *const names[MIRA_JOB_KIND_COUNT] = {
      [MIRA_JOB_VIDEO] = "video",
      [MIRA_JOB_IMAGE_GENERATE] = "image_generate",
      [MIRA_JOB_IMAGE_EDIT] = "image_edit",
      [MIRA_JOB_IMAGE_INPAINT] = "image_inpaint",
  };
  return (int)k >= 0 && k < MIRA_JOB_KIND_COUNT ? names[k] : "unknown";
}

const char *mira_job_status_name(mira_job_status s) {
  static const char *const names[MIRA_JOB_STATUS_COUNT] = {
      [MIRA_JOB_STARTED] = "inference_started",   [MIRA_JOB_WORKING] = "inference_working",
      [MIRA_JOB_COMPLETE] = "inference_complete", [MIRA_JOB_FAILED] = "inference_failed",
      [MIRA_JOB_ERROR] = "inference_error",
  };
  return (int)s >= 0 && s < MIRA_JOB_STATUS_COUNT ? names[s] : "unknown";
}
