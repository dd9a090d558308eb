/* File-system blob backend: <root>/<k0k1>/<key>, temp files in <root>/tmp. */
#include "blob/blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/error.h"

#define TMP_PREFIX "put-"

typedef struct fs_blob {
  mira_blob base;
  char root[1024];
  char tmp[1100];
} fs_blob;

static int mkdir_p(const char *path) {
  char buf[1200];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return (mkdir(buf, 0755) != 0 && errno != EEXIST) ? -1 : 0;
}

static int key_ok(const char *key) {
  size_t n = strlen(key);
  if (n == 0 || n > 200 || key[0] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* Two-character fan-out directory keeps directories small with many blobs. */
static void blob_dir(const fs_blob *b, const char *key, char *out, size_t n) {
  size_t k = strlen(key);
  snprintf(out, n, "%s/%c%c", b->root, key[k > 2 ? k - 2 : 0], key[k - 1]);
}

static int fs_path(mira_blob *base, const char *key, char *out, size_t outlen) {
  fs_blob *b = (fs_blob *)base;
  if (!key_ok(key)) return MIRA_EINVAL;
  char dir[1200];
  blob_dir(b, key, dir, sizeof dir);
  snprintf(out, outlen, "%s/%s", dir, key);
  return access(out, F_OK) == 0 ? 0 : MIRA_ENOENT;
}

static int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

static int write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Renames a durable temp file into place and makes the rename durable too. */
static int commit_file(fs_blob *b, const char *key, const char *tmp, char *err, size_t errlen) {
  char dir[1200], dst[1400];
  blob_dir(b, key, dir, sizeof dir);
  if (mkdir_p(dir) != 0)
    return mira_err(err, errlen, MIRA_EIO, "cannot create %s: %s", dir, strerror(errno));
  snprintf(dst, sizeof dst, "%s/%s", dir, key);
  if (rename(tmp, dst) != 0)
    return mira_err(err, errlen, MIRA_EIO, "cannot rename into %s: %s", dst, strerror(errno));
  if (fsync_dir(dir) != 0)
    return mira_err(err, errlen, MIRA_EIO, "cannot sync %s: %s", dir, strerror(errno));
  return 0;
}

static int fs_put(mira_blob *base, const char *key, const void *data, size_t len, char *err,
                  size_t errlen) {
  fs_blob *b = (fs_blob *)base;
  if (!key_ok(key)) return mira_err(err, errlen, MIRA_EINVAL, "invalid blob key");
  char tmp[1300];
  uint8_t rnd[8];
  char hex[17];
  mira_random_bytes(rnd, sizeof rnd);
  mira_hex(rnd, sizeof rnd, hex);
  snprintf(tmp, sizeof tmp, "%s/" TMP_PREFIX "%s-%s", b->tmp, key, hex);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return mira_err(err, errlen, MIRA_EIO, "cannot create %s: %s", tmp, strerror(errno));
  int ok = write_all(fd, data, len) == 0 && fsync(fd) == 0;
  int saved = errno;
  close(fd);
  if (!ok) {
    unlink(tmp);
    return mira_err(err, errlen, MIRA_EIO, "cannot write blob: %s", strerror(saved));
  }
  int rc = commit_file(b, key, tmp, err, errlen);
  if (rc) unlink(tmp);
  return rc;
}

static int fs_put_file(mira_blob *base, const char *key, const char *src, char *err,
                       size_t errlen) {
  fs_blob *b = (fs_blob *)base;
  if (!key_ok(key)) return mira_err(err, errlen, MIRA_EINVAL, "invalid blob key");
  int fd = open(src, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return mira_err(err, errlen, MIRA_EIO, "cannot open %s: %s", src, strerror(errno));
  int rc = fsync(fd);
  close(fd);
  if (rc != 0) return mira_err(err, errlen, MIRA_EIO, "cannot sync %s: %s", src, strerror(errno));
  return commit_file(b, key, src, err, errlen);
}

static int fs_read_head(mira_blob *base, const char *key, void *buf, size_t n, size_t *got,
                        char *err, size_t errlen) {
  char path[1400];
  int rc = fs_path(base, key, path, sizeof path);
  if (rc) return mira_err(err, errlen, rc, "blob %s not found", key);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return mira_err(err, errlen, MIRA_EIO, "cannot open blob: %s", strerror(errno));
  size_t total = 0;
  while (total < n) {
    ssize_t r = read(fd, (char *)buf + total, n - total);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    total += (size_t)r;
  }
  close(fd);
  *got = total;
  return 0;
}

static int fs_size(mira_blob *base, const char *key, int64_t *out, char *err, size_t errlen) {
  char path[1400];
  struct stat st;
  int rc = fs_path(base, key, path, sizeof path);
  if (rc || stat(path, &st) != 0) return mira_err(err, errlen, MIRA_ENOENT, "blob %s not found", key);
  *out = st.st_size;
  return 0;
}

static int fs_remove(mira_blob *base, const char *key, char *err, size_t errlen) {
  char path[1400];
  int rc = fs_path(base, key, path, sizeof path);
  if (rc) return rc == MIRA_ENOENT ? 0 : mira_err(err, errlen, rc, "invalid blob key");
  if (unlink(path) != 0 && errno != ENOENT)
    return mira_err(err, errlen, MIRA_EIO, "cannot remove blob: %s", strerror(errno));
  return 0;
}

static const char *fs_tmp_dir(mira_blob *base) { return ((fs_blob *)base)->tmp; }

static int fs_sweep_tmp(mira_blob *base) {
  fs_blob *b = (fs_blob *)base;
  DIR *d = opendir(b->tmp);
  if (!d) return 0;
  int removed = 0;
  struct dirent *e;
  char path[1500];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", b->tmp, e->d_name);
    if (unlink(path) == 0) removed++;
  }
  closedir(d);
  return removed;
}

static int fs_open(mira_blob **out, const char *root, char *err, size_t errlen) {
  *out = NULL;
  fs_blob *b = calloc(1, sizeof *b);
  if (!b) return MIRA_ENOMEM;
  snprintf(b->root, sizeof b->root, "%s", root);
  snprintf(b->tmp, sizeof b->tmp, "%s/tmp", root);
  if (mkdir_p(b->tmp) != 0) {
    free(b);
    return mira_err(err, errlen, MIRA_EIO, "cannot create %s: %s", root, strerror(errno));
  }
  b->base.ops = &mira_blob_fs;
  *out = &b->base;
  return 0;
}

static void fs_close(mira_blob *base) { free(base); }

const mira_blob_ops mira_blob_fs = {
    .version = 1,
    .name = "fs",
    .open = fs_open,
    .close = fs_close,
    .put = fs_put,
    .put_file = fs_put_file,
    .read_head = fs_read_head,
    .size = fs_size,
    .path = fs_path,
    .remove = fs_remove,
    .tmp_dir = fs_tmp_dir,
    .sweep_tmp = fs_sweep_tmp,
};

int mira_blob_open(mira_blob **out, const char *backend, const char *root, char *err,
                   size_t errlen) {
  if (strcmp(backend, mira_blob_fs.name) == 0) return mira_blob_fs.open(out, root, err, errlen);
  *out = NULL;
  return mira_err(err, errlen, MIRA_ENOTSUP, "unknown blob backend '%s' (available: fs)", backend);
}

void mira_blob_close(mira_blob *b) {
  if (b) b->ops->close(b);
}
