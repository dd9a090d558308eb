#include "http/filesend.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

#define CHUNK (64 * 1024)

typedef struct file_gen {
  h2o_generator_t super;
  int fd;
  uint64_t off, left;
  char *buf;
} file_gen;

static void gen_close(file_gen *g) {
  if (g->fd >= 0) close(g->fd);
  g->fd = -1;
}

static void gen_stop(h2o_generator_t *self, h2o_req_t *req) { gen_close((file_gen *)self); }

static void gen_proceed(h2o_generator_t *self, h2o_req_t *req) {
  file_gen *g = (file_gen *)self;
  size_t want = g->left < CHUNK ? (size_t)g->left : CHUNK;
  ssize_t n;
  while ((n = pread(g->fd, g->buf, want, (off_t)g->off)) < 0 && errno == EINTR) {
  }
  if (n <= 0) { /* the file shrank or the disk failed: abort, never pad */
    gen_close(g);
    h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
    return;
  }
  g->off += (uint64_t)n;
  g->left -= (uint64_t)n;
  h2o_iovec_t v = h2o_iovec_init(g->buf, (size_t)n);
  int final = g->left == 0;
  if (final) gen_close(g);
  h2o_send(req, &v, 1, final ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static int parse_u64(const char *s, const char *end, uint64_t *out) {
  if (s == end) return -1;
  uint64_t v = 0;
  for (; s < end; s++) {
    if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10) return -1;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = v;
  return 0;
}

/* 1: a single satisfiable range in [*from, *from+*len); 0: serve everything;
 * -1: unsatisfiable (416). */
static int parse_range(h2o_iovec_t h, uint64_t size, uint64_t *from, uint64_t *len) {
  const char *s = h.base, *end = h.base + h.len;
  while (end > s && (end[-1] == ' ' || end[-1] == '\t')) end--;
  if (h.len < 6 || memcmp(s, "bytes=", 6) != 0) return 0;
  s += 6;
  if (memchr(s, ',', (size_t)(end - s))) return 0; /* several ranges: whole file */
  const char *dash = memchr(s, '-', (size_t)(end - s));
  if (!dash) return 0;
  uint64_t a, b;
  if (dash == s) { /* suffix: the last N bytes */
    if (parse_u64(dash + 1, end, &b) != 0) return 0;
    if (b == 0 || size == 0) return -1;
    *len = b < size ? b : size;
    *from = size - *len;
    return 1;
  }
  if (parse_u64(s, dash, &a) != 0) return 0;
  if (dash + 1 == end) b = size ? size - 1 : 0;
  else if (parse_u64(dash + 1, end, &b) != 0 || b < a) return 0;
  if (a >= size) return -1;
  if (b >= size) b = size - 1;
  *from = a;
  *len = b - a + 1;
  return 1;
}

static void add_content_range(h2o_req_t *req, uint64_t from, uint64_t len, uint64_t size) {
  char *v = h2o_mem_alloc_pool(&req->pool, 80);
  int n = snprintf(v, 80, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, from, from + len - 1, size);
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_RANGE, NULL, v, (size_t)n);
}

int mira_file_send(h2o_req_t *req, const char *path, h2o_iovec_t mime_type) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0) return MIRA_ENOENT;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return MIRA_EIO;
  }
  uint64_t size = (uint64_t)st.st_size, from = 0, len = size;
  ssize_t ri = h2o_find_header(&req->headers, H2O_TOKEN_RANGE, -1);
  int r = ri >= 0 ? parse_range(req->headers.entries[ri].value, size, &from, &len) : 0;
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCEPT_RANGES, NULL, H2O_STRLIT("bytes"));
  if (r < 0) {
    static const char body[] = "{\"result\":\"error\",\"error\":\"requested range not satisfiable\"}";
    close(fd);
    char *v = h2o_mem_alloc_pool(&req->pool, 40);
    int n = snprintf(v, 40, "bytes */%" PRIu64, size);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_RANGE, NULL, v, (size_t)n);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    req->res.status = 416;
    req->res.reason = "Range Not Satisfiable";
    h2o_send_inline(req, body, sizeof body - 1);
    return 0;
  }
  req->res.status = r ? 206 : 200;
  req->res.reason = r ? "Partial Content" : "OK";
  req->res.content_length = len;
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, mime_type.base, mime_type.len);
  if (r) add_content_range(req, from, len, size);
  file_gen *g = h2o_mem_alloc_pool(&req->pool, sizeof *g);
  *g = (file_gen){.super = {gen_proceed, gen_stop}, .fd = fd, .off = from, .left = len};
  int head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
  h2o_start_response(req, &g->super);
  if (head || len == 0) {
    gen_close(g);
    h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    return 0;
  }
  g->buf = h2o_mem_alloc_pool(&req->pool, CHUNK);
  gen_proceed(&g->super, req);
  return 0;
}
