/* Blob store: the bytes of media (uploads, results) by key, behind a backend
 * interface. fs.c (files under a data directory) is the default; an
 * S3-compatible backend can follow with the same table.
 *
 *   mira_blob *b;
 *   mira_blob_open(&b, "fs", "data/blobs", err, sizeof err);
 *   b->ops->put(b, "cm...", bytes, n, err, sizeof err);   // atomic, durable
 *   b->ops->path(b, "cm...", path, sizeof path);          // for sendfile
 *   mira_blob_close(b);
 *
 * Durability: put() returns only after the bytes and the directory entry are
 * on disk (temp file, fsync, rename, fsync dir), so a crash leaves either the
 * whole blob or none, never half. Temp files of interrupted puts are removed by
 * sweep_tmp() at start-up.
 * Thread-safety: thread-safe (no mutable state after open).
 */
#ifndef MIRA_BLOB_BLOB_H
#define MIRA_BLOB_BLOB_H

#include <stddef.h>
#include <stdint.h>

typedef struct mira_blob mira_blob;

typedef struct mira_blob_ops {
  int version; /* 1 */
  const char *name;
  int (*open)(mira_blob **out, const char *root, char *err, size_t errlen);
  void (*close)(mira_blob *);
  /* Stores len bytes under key (replacing any). Key: [a-z0-9._-], no '/'. */
  int (*put)(mira_blob *, const char *key, const void *data, size_t len, char *err, size_t errlen);
  /* Moves a finished local file (written by the caller, e.g. an engine's
   * output in tmp_dir) under key, durably. The source is gone on success. */
  int (*put_file)(mira_blob *, const char *key, const char *src_path, char *err, size_t errlen);
  /* Reads up to n bytes from the start into buf; *got = bytes read. */
  int (*read_head)(mira_blob *, const char *key, void *buf, size_t n, size_t *got, char *err, size_t errlen);
  int (*size)(mira_blob *, const char *key, int64_t *out, char *err, size_t errlen);
  /* Local filesystem path of the blob (for sendfile/Range). MIRA_ENOTSUP for
   * remote backends. MIRA_ENOENT if missing. */
  int (*path)(mira_blob *, const char *key, char *out, size_t outlen);
  int (*remove)(mira_blob *, const char *key, char *err, size_t errlen);
  /* Directory for temp files on the same filesystem (engines write here). */
  const char *(*tmp_dir)(mira_blob *);
  /* Removes temp files left by interrupted puts; returns how many. */
  int (*sweep_tmp)(mira_blob *);
} mira_blob_ops;

struct mira_blob {
  const mira_blob_ops *ops;
};

extern const mira_blob_ops mira_blob_fs;

int mira_blob_open(mira_blob **out, const char *backend, const char *root, char *err, size_t errlen);
void mira_blob_close(mira_blob *b);

#endif
