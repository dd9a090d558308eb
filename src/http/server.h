/* The HTTP server: h2o's library with its own event loop, one loop thread per
 * core, all sharing the listening port through SO_REUSEPORT so the kernel
 * spreads connections. HTTP/1.1 keep-alive; TLS (and HTTP/2 by ALPN) when a
 * certificate and key are given.
 *
 *   mira_http_config c = mira_http_default_config();
 *   c.port = 8080; c.handlers = (mira_http_handlers){init, fini, on_req, app};
 *   mira_http *s;
 *   if (mira_http_start(&s, &c, err, sizeof err)) die(err);
 *   ... wait for SIGTERM ...
 *   mira_http_stop(s);   // stop accepting, finish in-flight responses, join
 *
 * The server knows nothing of routes or the API: every request goes to
 * handlers.on_req with the per-thread data that thread_init returned.
 * on_req runs on the loop thread and must not block for long.
 * Thread-safety: start/stop from one thread (main).
 */
#ifndef MIRA_HTTP_SERVER_H
#define MIRA_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

typedef struct mira_http mira_http;

typedef struct mira_http_handlers {
  /* Per loop thread: returns the data on_req receives, or NULL (err set). */
  void *(*thread_init)(void *app, int index, char *err, size_t errlen);
  void (*thread_fini)(void *tdata);
  /* Must produce a response (h2o_send_inline, h2o_file_send, ...). */
  void (*on_req)(void *tdata, h2o_req_t *req);
  void *app;
  /* Optional: called once the port is bound, before any request (so a
   * configured port 0 can be turned into URLs). */
  void (*on_bound)(void *app, int port);
  /* Optional, per I/O pool thread: data handed to offloaded work. */
  void *(*io_init)(void *app, int index, char *err, size_t errlen);
  void (*io_fini)(void *iodata);
} mira_http_handlers;

typedef struct mira_http_config {
  const char *listen;        /* address, default "127.0.0.1" */
  int port;                  /* default 8080 */
  int threads;               /* loop threads, default: online CPUs */
  size_t max_body;           /* largest request body h2o will buffer */
  uint64_t req_timeout_ms;   /* whole request (h2o 2.2 times headers+body together) and
                                keep-alive idle limit, default 120000 */
  const char *tls_cert, *tls_key; /* PEM files; both or neither */
  int io_threads;            /* blocking-work pool (fsync, big copies), default 2 */
  mira_http_handlers handlers;
} mira_http_config;

mira_http_config mira_http_default_config(void);

/* Binds, starts the loop threads. Returns 0 or MIRA_E* (port in use, bad
 * certificate, ...) with a message; nothing is left running on failure. */
int mira_http_start(mira_http **out, const mira_http_config *c, char *err, size_t errlen);

/* Runs `work(iodata, arg)` on the I/O thread pool (iodata: what io_init
 * returned for that thread), then `done(req, arg)` back on the request's loop
 * thread. If the client went away meanwhile, done gets
 * req == NULL (and must only free arg). work must not touch req: copy what it
 * needs into arg first. Returns 0, or MIRA_ENOMEM (then nothing is called). */
typedef void (*mira_offload_fn)(void *iodata, void *arg);
typedef void (*mira_offload_done_fn)(h2o_req_t *req, void *arg);
int mira_http_offload(h2o_req_t *req, mira_offload_fn work, mira_offload_done_fn done, void *arg);

/* The port actually bound (useful with port 0). */
int mira_http_port(const mira_http *s);

/* Stops accepting, lets in-flight responses finish (bounded), joins the
 * threads and frees s. Accepts NULL. */
void mira_http_stop(mira_http *s);

#endif
