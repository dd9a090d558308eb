/* h2o-based HTTP server: N event-loop threads on one SO_REUSEPORT port. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"

#define LOOP_TICK_MS 100        /* how often a loop checks for shutdown */
#define SHUTDOWN_DRAIN_MS 3000  /* in-flight responses get this long */
#define DRAIN_TICK_MS 20
#define LISTEN_BACKLOG 1024

typedef struct loop_thread {
  h2o_context_t ctx; /* first: on_req finds its thread by casting req->conn->ctx */
  h2o_multithread_queue_t *queue;
  h2o_multithread_receiver_t done_receiver; /* completed offload tasks */
  h2o_accept_ctx_t accept;
  struct mira_http *server;
  int index;
  int fd;
  h2o_evloop_t *loop;
  h2o_socket_t *listener;
  void *tdata;
  pthread_t thread;
  char err[256];
  atomic_int ready; /* 1 ok, -1 failed */
} loop_thread;

typedef struct app_handler {
  h2o_handler_t super;
  struct mira_http *server;
} app_handler;

/* One piece of blocking work. `guard` lives in the request's pool: when h2o
 * disposes the request (client gone), the guard's dispose clears task->req.
 * Both that and completion run on the loop thread, so no lock is needed. */
typedef struct offload_task {
  h2o_multithread_message_t msg; /* first: the receiver casts messages back */
  struct offload_task *next;
  loop_thread *loop;
  h2o_req_t *req;
  struct offload_task **guard;
  mira_offload_fn work;
  mira_offload_done_fn done;
  void *arg;
} offload_task;

typedef struct io_thread {
  struct io_pool *pool;
  pthread_t thread;
  void *data;
} io_thread;

typedef struct io_pool {
  mira_http_handlers *h;
  io_thread *threads;
  int n;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  offload_task *head, *tail;
  int stop;
} io_pool;

struct mira_http {
  mira_http_config c;
  io_pool io;
  h2o_globalconf_t config;
  SSL_CTX *ssl;
  loop_thread *threads;
  int nthreads;
  int port;
  int config_ready;
  atomic_int stopping;
};

mira_http_config mira_http_default_config(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  mira_http_config c = {.listen = "127.0.0.1", .port = 8080, .threads = n > 0 ? (int)n : 1,
                        .max_body = 64u << 20, .req_timeout_ms = 120000, .io_threads = 2};
  return c;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  app_handler *h = (app_handler *)self;
  loop_thread *t = (loop_thread *)req->conn->ctx;
  h->server->c.handlers.on_req(t->tdata, req);
  return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err) {
  if (err) return;
  loop_thread *t = listener->data;
  h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
  if (sock) h2o_accept(&t->accept, sock);
}

static int bind_socket(const mira_http_config *c, int *port, char *err, size_t errlen) {
  struct sockaddr_in6 a6 = {0};
  struct sockaddr_in a4 = {0};
  int v6 = strchr(c->listen, ':') != NULL;
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
  if (fd < 0) return mira_err(err, errlen, MIRA_EIO, "socket: %s", strerror(errno));
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  struct sockaddr *sa;
  socklen_t len;
  if (v6) {
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((uint16_t)*port);
    if (inet_pton(AF_INET6, c->listen, &a6.sin6_addr) != 1) goto bad_addr;
    sa = (struct sockaddr *)&a6, len = sizeof a6;
  } else {
    a4.sin_family = AF_INET;
    a4.sin_port = htons((uint16_t)*port);
    if (inet_pton(AF_INET, c->listen, &a4.sin_addr) != 1) goto bad_addr;
    sa = (struct sockaddr *)&a4, len = sizeof a4;
  }
  if (bind(fd, sa, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
    int e = errno;
    close(fd);
    return mira_err(err, errlen, MIRA_EIO, "cannot listen on %s:%d: %s", c->listen, *port, strerror(e));
  }
  if (*port == 0 && getsockname(fd, sa, &len) == 0)
    *port = ntohs(v6 ? a6.sin6_port : a4.sin_port);
  return fd;
bad_addr:
  close(fd);
  return mira_err(err, errlen, MIRA_EINVAL, "invalid listen address '%s'", c->listen);
}

/* ---- offload: blocking work on the I/O pool, completion on the loop ---- */

static void guard_dispose(void *p) {
  offload_task **guard = p;
  if (*guard) (*guard)->req = NULL;
}

static void on_offload_done(h2o_multithread_receiver_t *r, h2o_linklist_t *messages) {
  while (!h2o_linklist_is_empty(messages)) {
    offload_task *task = (offload_task *)messages->next;
    h2o_linklist_unlink(&task->msg.link);
    if (task->req) *task->guard = NULL;
    task->done(task->req, task->arg);
    free(task);
  }
}

static void *io_main(void *arg) {
  io_thread *self = arg;
  io_pool *io = self->pool;
  for (;;) {
    pthread_mutex_lock(&io->mu);
    while (!io->head && !io->stop) pthread_cond_wait(&io->cv, &io->mu);
    offload_task *task = io->head;
    if (task) io->head = task->next;
    if (!io->head) io->tail = NULL;
    pthread_mutex_unlock(&io->mu);
    if (!task) return NULL; /* stopping and drained */
    task->work(self->data, task->arg);
    h2o_multithread_send_message(&task->loop->done_receiver, &task->msg);
  }
}

int mira_http_offload(h2o_req_t *req, mira_offload_fn work, mira_offload_done_fn done, void *arg) {
  loop_thread *t = (loop_thread *)req->conn->ctx;
  io_pool *io = &t->server->io;
  offload_task *task = calloc(1, sizeof *task);
  if (!task) return MIRA_ENOMEM;
  task->loop = t, task->req = req, task->work = work, task->done = done, task->arg = arg;
  task->guard = h2o_mem_alloc_shared(&req->pool, sizeof *task->guard, guard_dispose);
  *task->guard = task;
  pthread_mutex_lock(&io->mu);
  if (io->tail) io->tail->next = task;
  else io->head = task;
  io->tail = task;
  pthread_cond_signal(&io->cv);
  pthread_mutex_unlock(&io->mu);
  return 0;
}

static int io_start(io_pool *io, mira_http_handlers *h, int n, char *err, size_t errlen) {
  pthread_mutex_init(&io->mu, NULL);
  pthread_cond_init(&io->cv, NULL);
  io->h = h;
  io->n = n > 0 ? n : 1;
  io->threads = calloc((size_t)io->n, sizeof *io->threads);
  if (!io->threads) return MIRA_ENOMEM;
  for (int i = 0; i < io->n; i++) {
    io->threads[i].pool = io;
    if (h->io_init && !(io->threads[i].data = h->io_init(h->app, i, err, errlen))) {
      io->n = i;
      return MIRA_EIO;
    }
  }
  for (int i = 0; i < io->n; i++) pthread_create(&io->threads[i].thread, NULL, io_main, &io->threads[i]);
  return 0;
}

/* Runs after the loops stopped: queued work still completes (an upload's
 * fsync must not be cut short), its completions are simply not delivered. */
static void io_stop(io_pool *io, int started) {
  pthread_mutex_lock(&io->mu);
  io->stop = 1;
  pthread_cond_broadcast(&io->cv);
  pthread_mutex_unlock(&io->mu);
  for (int i = 0; io->threads && i < io->n; i++) {
    if (started) pthread_join(io->threads[i].thread, NULL);
    if (io->h->io_fini) io->h->io_fini(io->threads[i].data);
  }
  free(io->threads);
  io->threads = NULL;
}

static void drain(loop_thread *t) {
  if (t->listener) {
    h2o_socket_read_stop(t->listener);
    h2o_socket_close(t->listener);
    t->listener = NULL;
  }
  h2o_context_request_shutdown(&t->ctx);
  /* h2o closes idle keep-alive connections on shutdown; busy ones finish
   * their response first. Stop waiting when none is left. */
  for (int waited = 0; waited < SHUTDOWN_DRAIN_MS; waited += DRAIN_TICK_MS) {
    if (h2o_linklist_is_empty(&t->ctx.http1._conns) && h2o_linklist_is_empty(&t->ctx.http2._conns)) break;
    h2o_evloop_run(t->loop, DRAIN_TICK_MS);
  }
}

static void *loop_main(void *arg) {
  loop_thread *t = arg;
  mira_http *s = t->server;
  t->loop = h2o_evloop_create();
  h2o_context_init(&t->ctx, t->loop, &s->config);
  t->queue = h2o_multithread_create_queue(t->loop);
  h2o_multithread_register_receiver(t->queue, &t->done_receiver, on_offload_done);
  t->accept.ctx = &t->ctx;
  t->accept.hosts = s->config.hosts;
  t->accept.ssl_ctx = s->ssl;
  t->tdata = s->c.handlers.thread_init(s->c.handlers.app, t->index, t->err, sizeof t->err);
  if (!t->tdata) {
    atomic_store(&t->ready, -1);
    return NULL;
  }
  t->listener = h2o_evloop_socket_create(t->loop, t->fd, H2O_SOCKET_FLAG_DONT_READ);
  t->listener->data = t;
  h2o_socket_read_start(t->listener, on_accept);
  atomic_store(&t->ready, 1);
  while (!atomic_load(&s->stopping)) h2o_evloop_run(t->loop, LOOP_TICK_MS);
  drain(t);
  s->c.handlers.thread_fini(t->tdata);
  /* No h2o_context_dispose: it asserts that every timer is gone, which h2o
   * 2.2.5 does not guarantee after a shutdown with clients still connected.
   * The process is exiting; tests/lsan.supp names these allocations. */
  /* The queue stays: I/O threads finishing late work may still post to it.
   * The process is exiting, so it is not worth a second shutdown phase. */
  return NULL;
}

static int setup_tls(mira_http *s, char *err, size_t errlen) {
  if (!s->c.tls_cert && !s->c.tls_key) return 0;
  if (!s->c.tls_cert || !s->c.tls_key)
    return mira_err(err, errlen, MIRA_EINVAL, "--tls-cert and --tls-key must be given together");
  s->ssl = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(s->ssl, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(s->ssl, s->c.tls_cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(s->ssl, s->c.tls_key, SSL_FILETYPE_PEM) != 1) {
    char e[200];
    ERR_error_string_n(ERR_get_error(), e, sizeof e);
    return mira_err(err, errlen, MIRA_EINVAL, "cannot load TLS certificate/key: %s", e);
  }
  h2o_ssl_register_alpn_protocols(s->ssl, h2o_http2_alpn_protocols);
  return 0;
}

static void setup_h2o(mira_http *s) {
  h2o_config_init(&s->config);
  s->config_ready = 1;
  s->config.max_request_entity_size = s->c.max_body;
  s->config.http1.req_timeout = s->c.req_timeout_ms;
  s->config.http2.idle_timeout = s->c.req_timeout_ms;
  s->config.handshake_timeout = 10000;
  s->config.server_name = h2o_iovec_init(H2O_STRLIT("mira/" MIRA_VERSION));
  h2o_hostconf_t *host = h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
  app_handler *h = (app_handler *)h2o_create_handler(path, sizeof *h);
  h->super.on_req = on_req;
  h->server = s;
}

static void free_server(mira_http *s) {
  if (s->config_ready) h2o_config_dispose(&s->config);
  for (int i = 0; s->threads && i < s->nthreads; i++)
    if (s->threads[i].fd > 0) close(s->threads[i].fd);
  if (s->ssl) SSL_CTX_free(s->ssl);
  free(s->threads);
  free(s);
}

static int start_threads(mira_http *s, char *err, size_t errlen) {
  for (int i = 0; i < s->nthreads; i++) {
    loop_thread *t = &s->threads[i];
    t->server = s;
    t->index = i;
    int port = s->port;
    t->fd = bind_socket(&s->c, &port, err, errlen);
    if (t->fd < 0) return t->fd;
    s->port = port; /* threads after the first reuse the port the first got */
  }
  if (s->c.handlers.on_bound) s->c.handlers.on_bound(s->c.handlers.app, s->port);
  for (int i = 0; i < s->nthreads; i++) {
    loop_thread *t = &s->threads[i];
    pthread_create(&t->thread, NULL, loop_main, t);
    while (atomic_load(&t->ready) == 0) usleep(1000);
    if (atomic_load(&t->ready) < 0) {
      mira_err(err, errlen, MIRA_EIO, "http thread %d: %s", i, t->err);
      atomic_store(&s->stopping, 1);
      for (int k = 0; k <= i; k++) pthread_join(s->threads[k].thread, NULL);
      return MIRA_EIO;
    }
  }
  return 0;
}

int mira_http_start(mira_http **out, const mira_http_config *c, char *err, size_t errlen) {
  *out = NULL;
  mira_http *s = calloc(1, sizeof *s);
  if (!s) return MIRA_ENOMEM;
  s->c = *c;
  s->port = c->port;
  s->nthreads = c->threads > 0 ? c->threads : 1;
  s->threads = calloc((size_t)s->nthreads, sizeof *s->threads);
  int rc = s->threads ? setup_tls(s, err, errlen) : MIRA_ENOMEM;
  if (rc == 0) {
    setup_h2o(s);
    rc = io_start(&s->io, &s->c.handlers, c->io_threads, err, errlen);
    if (rc) io_stop(&s->io, 0);
  }
  if (rc == 0) {
    rc = start_threads(s, err, errlen);
    if (rc) io_stop(&s->io, 1);
  }
  if (rc) {
    free_server(s);
    return rc;
  }
  MIRA_LOGI("http", "listening on %s://%s:%d with %d threads", s->ssl ? "https" : "http",
            c->listen, s->port, s->nthreads);
  *out = s;
  return 0;
}

int mira_http_port(const mira_http *s) { return s->port; }

void mira_http_stop(mira_http *s) {
  if (!s) return;
  atomic_store(&s->stopping, 1);
  for (int i = 0; i < s->nthreads; i++) pthread_join(s->threads[i].thread, NULL);
  io_stop(&s->io, 1);
  for (int i = 0; i < s->nthreads; i++) s->threads[i].fd = -1; /* closed with the listener */
  free_server(s);
}
