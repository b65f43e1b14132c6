/*
 * ws.h - the signaling and HTTP front end on libwebsockets: WebSocket at /ws, static files
 * (the demo page) from a directory at /, and a JSON HTTP API under /api/ delegated to a
 * callback.
 *
 * Threads: ws_server_run() runs the libwebsockets event loop on the calling thread; every
 * callback (on_open, on_message, on_close, on_http) is called on that thread. ws_send(),
 * ws_close(), ws_http_complete() and ws_server_stop() are safe from any thread: they queue work
 * and wake the loop with lws_cancel_service(). Connections are named by a 64-bit id that is
 * never reused, so a late send to a closed connection is a harmless no-op.
 * Limits: a WebSocket message over max_message bytes (default 65536) closes the connection with
 * status 1009; each connection's outbound queue holds at most max_queue messages (the oldest
 * is dropped and counted beyond that). With msg_rate set, each connection has a token bucket
 * (msg_rate per second, msg_burst deep): a message beyond it is dropped and counted. An
 * episode over the limit starts with a drop (on_rate_limited is called once per episode) and
 * ends after 1 s without drops; an episode that lasts 2 s with at least 4 x msg_burst drops
 * closes the connection with 1008 (a client still flooding then has unread data at the close,
 * so it may see a TCP reset rather than the close frame; the notice went out 2 s earlier). Only
 * this file includes libwebsockets. Protocol details (lws 4.1): upgrades only at /ws, with no
 * subprotocol or "mcu" (other names are refused by lws); binary messages close with 1003, invalid
 * UTF-8 with 1007; idle connections are pinged after 30 s and dropped after 75 s without traffic.
 * HTTP is 1.1 only (ALPN http/1.1 under TLS). /api/ bodies: POST only, Content-Length at most 64
 * KiB (chunked or larger: 413; a body on GET/DELETE: 400); the path passed to on_http excludes the
 * query.
 * Deferred /api/ replies: on_http may set reply->status = WS_HTTP_DEFER and keep req->id; the
 * HTTP connection then waits (the lws thread goes on serving everyone else) until
 * ws_http_complete() from any thread. At most max_deferred (default 256) wait at once (beyond
 * that: 503 {"error":"server-busy"}); one not completed within http_timeout_ms (default 10000)
 * is answered 504 {"error":"timeout"}; one whose client hangs up (checked every 200 ms) is
 * dropped with its connection. A request pipelined behind a waiting one is read only after the
 * reply is written.
 */
#ifndef MCU_WS_H
#define MCU_WS_H

#include <stddef.h>
#include <stdint.h>

struct ws_server;

/* reply->status from on_http: the reply will come later, through ws_http_complete(). */
#define WS_HTTP_DEFER (-1)

struct ws_http_reply {
	int status; /* e.g. 200, 404; or WS_HTTP_DEFER from on_http (nothing else filled) */
	char *body; /* malloc'd, freed by the server; may be NULL */
	size_t body_len;
	const char *content_type; /* static string, e.g. "application/json" */
	/* Instead of a body: a file to stream from disk (malloc'd path, freed by the server) with
	 * status 200, sent as an attachment named after its last path component. */
	char *file;
	/* With a 3xx status: the Location header ("" none). */
	char location[512];
};

/* An /api/ request: every field valid for the duration of the on_http call. */
struct ws_http_request {
	uint64_t id;        /* unique for the server's life, never reused: for ws_http_complete */
	const char *method; /* "GET", "POST", "DELETE" */
	const char *path;   /* without the query */
	const char *body;   /* may be NULL */
	size_t body_len;
	const char *authorization; /* the Authorization header, "" if none (at most 1023 bytes) */
};

struct ws_callbacks {
	void *opaque;
	void (*on_open)(void *opaque, uint64_t conn);
	/* A complete text message (NUL-terminated; len excludes the NUL). */
	void (*on_message)(void *opaque, uint64_t conn, const char *text, size_t len);
	void (*on_close)(void *opaque, uint64_t conn);
	/* A message was dropped by the rate limit (first drop after an accepted message). */
	void (*on_rate_limited)(void *opaque, uint64_t conn);
	/* An /api/ request. Fill reply, or set reply->status = WS_HTTP_DEFER and answer later
	 * with ws_http_complete(req->id) (which may even run before on_http returns). */
	void (*on_http)(void *opaque, const struct ws_http_request *req,
	                struct ws_http_reply *reply);
};

struct ws_server_cfg {
	const char *bind; /* address, e.g. "127.0.0.1"; NULL = all */
	int port;
	const char *www_dir;            /* static files served at / ; NULL = none */
	const char *tls_cert, *tls_key; /* PEM paths for HTTPS/WSS, both NULL for plain */
	size_t max_message;             /* default 65536 */
	int max_queue;                  /* outbound messages per connection, default 256 */
	int msg_rate, msg_burst; /* inbound messages/s per connection and burst; 0 = no limit */
	int http_timeout_ms;     /* a deferred /api/ reply later than this: 504; default 10000 */
	int max_deferred;        /* deferred /api/ requests waiting at once, default 256 */
	struct ws_callbacks cb;
};

/*
 * Creates the server and binds its port (so errors such as EADDRINUSE surface here). An IPv4
 * bind address listens on that address only; NULL listens on every IPv4 and IPv6 address.
 * Returns 0 or a negative errno (-EADDRINUSE, -EADDRNOTAVAIL, -EINVAL, -ENOMEM, -EIO) with a
 * message in err.
 */
int ws_server_new(struct ws_server **out, const struct ws_server_cfg *cfg, char *err,
                  size_t errlen);
/* Runs the event loop until ws_server_stop() (which may come first). 0, or -EIO. */
int ws_server_run(struct ws_server *s);
void ws_server_stop(struct ws_server *s);
/*
 * After ws_server_run has returned and no other thread calls ws_send/ws_close/ws_http_complete
 * any more: closes every connection WITHOUT calling on_close, frees everything (deferred /api/
 * requests still waiting included), sets *s to NULL.
 */
void ws_server_free(struct ws_server **s);
/* Counters, readable from any thread. */
struct ws_stats {
	uint64_t connections, messages, rate_limited, closed_rate, closed_too_big;
	uint64_t http_deferred; /* /api/ requests deferred by on_http (and accepted) */
	uint64_t http_timeouts; /* ... answered 504 because not completed in time */
	uint64_t http_busy;     /* ... refused with 503 because max_deferred were waiting */
};
void ws_server_stats(const struct ws_server *s, struct ws_stats *out);

/* The port actually bound (useful with port 0). */
int ws_server_port(const struct ws_server *s);

/*
 * Queues a text message to a connection (copied). 0; -ENOENT (gone); -ENOBUFS (queued, but the
 * queue was full so its oldest message was dropped); -ENOMEM.
 */
int ws_send(struct ws_server *s, uint64_t conn, const char *text);
/*
 * Closes a connection with a WebSocket status code (1000 normal, 1008 policy, 1009 too big;
 * codes that may not be sent become 1000) after the messages already queued. on_close follows.
 * 0 or -ENOENT.
 */
int ws_close(struct ws_server *s, uint64_t conn, int code);

/*
 * Answers the deferred /api/ request id; safe from any thread. Takes ownership of reply->body
 * and reply->file in every case (freed here on error; both are NULL on return). The reply is
 * queued and written by the lws thread exactly as a synchronous one (reply->status outside
 * 100..599: 500). 0; -ENOENT (unknown id: already completed, timed out, refused as busy, or its
 * connection closed; the reply is dropped); -EINVAL (s or reply NULL); -ENOMEM is reserved (no
 * allocation today).
 */
int ws_http_complete(struct ws_server *s, uint64_t id, struct ws_http_reply *reply);

#endif
