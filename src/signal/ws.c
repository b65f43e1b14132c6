/*
 * ws.c - the signaling/HTTP front end on libwebsockets 4.1 (see ws.h): WebSocket at /ws (RFC
 * 6455, reassembled text messages with a size cap), static files from www_dir at /, and /api/
 * requests delegated to cb.on_http.
 *
 * Threads: everything except ws_send/ws_close/ws_http_complete/ws_server_stop runs on the thread
 * in ws_server_run (the lws service thread). Those four take s->lock, change a connection's
 * outbound queue or close code (or a deferred request's reply, or the stop flag), put the
 * connection (request) on the pending (ready) list and call lws_cancel_service(); the service
 * thread then gets LWS_CALLBACK_EVENT_WAIT_CANCELLED, asks lws for a writable callback per
 * pending connection (a timer due now per ready request), and writes one message per
 * LWS_CALLBACK_SERVER_WRITEABLE (the reply in LWS_CALLBACK_TIMER). s->lock guards the id table,
 * the queues, close codes, the pending list, the deferred-request list (s->dfrs, s->n_dfrs),
 * their replies and flags, and the ready list; only the service thread inserts or frees
 * connections and deferred requests, so it may read the table without the lock. User callbacks
 * are never called with s->lock held.
 * Ownership: struct conn belongs to its lws connection (created at ESTABLISHED, freed at
 * CLOSED); queued messages belong to the queue until written or dropped. A deferred request
 * (struct dfr) belongs to its HTTP connection's pss (freed when its reply is written or at
 * CLOSED_HTTP / DROP_PROTOCOL); a reply handed to ws_http_complete belongs to it from then on.
 * Limits: at most max_deferred deferred requests (s->n_dfrs; over it: 503, counted in n_busy).
 */
#include "signal/ws.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libwebsockets.h>

#define WS_BUCKETS        256
#define WS_HTTP_MAX_BODY  (64 * 1024)
#define WS_DEFAULT_MSG    65536
#define WS_DEFAULT_QUEUE  256
#define WS_PATH_MAX       256
#define WS_FLOOD_CLOSE_US 2000000 /* an episode over the limit this long closes with 1008 */
#define WS_EPISODE_END_US 1000000 /* ... and it ends after this long without a drop */
#define WS_AUTH_MAX       1024    /* longest Authorization header kept (longer: treated as none) */
#define WS_RX_KEEP        16384   /* rx buffers above this are freed after each message */

#define WS_HTTP_TIMEOUT_MS 10000  /* default http_timeout_ms */
#define WS_MAX_DEFERRED    256    /* default max_deferred */
#define WS_DEFER_CHECK_US  200000 /* a waiting connection is checked for a hang-up this often */

struct out_msg {
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes of padding, then len bytes of text */
};

/* One WebSocket connection. id, wsi, hnext: written only by the service thread. */
struct conn {
	uint64_t id;
	struct lws *wsi;
	struct conn *hnext; /* id table chain */
	/* Under s->lock: */
	struct out_msg **q; /* ring of max_queue entries */
	int qhead, qcount;
	uint64_t dropped;
	int close_code; /* 0 = none requested */
	bool pending;   /* on s->pending */
	struct conn *pnext;
	/* Service thread only: message reassembly. */
	char *rx;
	size_t rx_len, rx_cap;
	bool rx_active;
	bool rx_discard; /* a close is under way: further input is dropped */
	/* Service thread only: the inbound message rate limit (token bucket). */
	double tokens;
	int64_t tokens_at;
	int64_t over_since; /* start of the current episode over the limit, 0 = none */
	int64_t last_drop;  /* an episode ends 1 s after its last drop */
	int episode_drops;
};

/*
 * A deferred /api/ request. Created (service thread) before on_http is called, so that a
 * ws_http_complete racing on_http finds it; owned by its connection's pss once deferred, freed by
 * the service thread when its reply is written or the connection closes. id, wsi: immutable.
 */
struct dfr {
	uint64_t id;
	struct lws *wsi;
	int64_t deadline; /* service thread: now_us() + http_timeout_ms */
	/* Under s->lock: */
	struct dfr *prev, *next; /* s->dfrs, every live entry that was under the cap */
	bool listed;             /* on s->dfrs (false: over max_deferred, never completable) */
	bool done;               /* reply set (by ws_http_complete) or timed out: not completable */
	bool ready;              /* on s->ready, waiting for drain_ready */
	struct dfr *rnext;
	struct ws_http_reply reply; /* owned here once done */
};

/* lws per-session data, shared by the HTTP and WebSocket protocols (zeroed by lws). */
struct pss {
	struct conn *conn; /* WebSocket connections */
	struct dfr *dfr;   /* HTTP: the deferred request this connection waits for */
	/* HTTP /api/ transaction */
	char method[8];
	char path[WS_PATH_MAX];
	char auth[WS_AUTH_MAX];
	char *body;
	size_t body_len;
};

struct ws_server {
	struct lws_context *ctx;
	struct lws_protocols protocols[3];
	struct lws_http_mount mounts[5]; /* /api, /healthz, /readyz, /metrics, then www at / */
	lws_retry_bo_t retry;
	struct ws_callbacks cb;
	size_t max_message;
	int max_queue;
	int msg_rate, msg_burst;
	atomic_uint_fast64_t n_conns, n_messages, n_limited, n_closed_rate, n_closed_big;
	atomic_uint_fast64_t n_deferred, n_timeouts, n_busy;
	int http_timeout_ms, max_deferred;
	uint64_t next_req_id; /* service thread only */
	char *www_dir, *bind, *cert, *key;
	int port;
	atomic_bool stop;
	bool destroying; /* service thread: no user callbacks from ws_server_free */
	uint64_t next_id;

	pthread_mutex_t lock;
	struct conn *table[WS_BUCKETS];
	struct conn *pending;
	struct dfr *dfrs;  /* deferred requests, at most max_deferred */
	int n_dfrs;        /* length of dfrs */
	struct dfr *ready; /* completed or timed out, to be written */
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct ws_server *server_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* ---- connection table (insert/remove: service thread, under lock) ---- */

static struct conn *lookup(struct ws_server *s, uint64_t id)
{
	struct conn *c = s->table[id % WS_BUCKETS];
	while (c && c->id != id)
		c = c->hnext;
	return c;
}

static void table_remove(struct ws_server *s, struct conn *c)
{
	struct conn **pp = &s->table[c->id % WS_BUCKETS];
	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	if (!c->pending)
		return;
	for (pp = &s->pending; *pp && *pp != c; pp = &(*pp)->pnext)
		;
	if (*pp)
		*pp = c->pnext;
	c->pending = false;
}

/* Under lock: marks c for service on the next EVENT_WAIT_CANCELLED. */
static void mark_pending(struct ws_server *s, struct conn *c)
{
	if (c->pending)
		return;
	c->pending = true;
	c->pnext = s->pending;
	s->pending = c;
}

static struct conn *conn_new(struct ws_server *s, struct lws *wsi)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->q = calloc((size_t)s->max_queue, sizeof(*c->q));
	if (!c->q) {
		free(c);
		return NULL;
	}
	c->wsi = wsi;
	c->tokens = s->msg_burst;
	c->tokens_at = now_us();
	atomic_fetch_add(&s->n_conns, 1);
	pthread_mutex_lock(&s->lock);
	c->id = ++s->next_id;
	c->hnext = s->table[c->id % WS_BUCKETS];
	s->table[c->id % WS_BUCKETS] = c;
	pthread_mutex_unlock(&s->lock);
	return c;
}

/* Service thread: unlinks c and frees it with everything still queued. */
static void conn_free(struct ws_server *s, struct conn *c)
{
	pthread_mutex_lock(&s->lock);
	table_remove(s, c);
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < c->qcount; i++)
		free(c->q[(c->qhead + i) % s->max_queue]);
	free(c->q);
	free(c->rx);
	free(c);
}

/* ---- WebSocket: receive ---- */

/*
 * Starts a close from the service thread without bailing out of the read: the close frame
 * goes out from SERVER_WRITEABLE (after anything already queued), then lws waits for the
 * peer's close while it reads and we discard, so the peer sees the status rather than a reset.
 */
static int close_soon(struct ws_server *s, struct lws *wsi, struct conn *c, int code)
{
	c->rx_discard = true;
	c->rx_active = false;
	free(c->rx);
	c->rx = NULL;
	c->rx_len = c->rx_cap = 0;
	pthread_mutex_lock(&s->lock);
	c->close_code = code;
	pthread_mutex_unlock(&s->lock);
	lws_callback_on_writable(wsi);
	return 0;
}

static int rx_append(struct ws_server *s, struct conn *c, const void *in, size_t len)
{
	if (len > s->max_message || c->rx_len > s->max_message - len)
		return -EMSGSIZE;
	size_t need = c->rx_len + len + 1;
	if (need > c->rx_cap) {
		size_t cap = c->rx_cap ? c->rx_cap * 2 : 1024;
		if (cap < need)
			cap = need;
		if (cap > s->max_message + 1)
			cap = s->max_message + 1;
		char *p = realloc(c->rx, cap);
		if (!p)
			return -ENOMEM;
		c->rx = p;
		c->rx_cap = cap;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	c->rx[c->rx_len] = '\0';
	return 0;
}

/* Takes one token from c's bucket; false if the message must be dropped. */
static bool rate_ok(struct ws_server *s, struct conn *c)
{
	if (s->msg_rate <= 0)
		return true;
	int64_t now = now_us();
	c->tokens += (double)(now - c->tokens_at) * s->msg_rate / 1e6;
	if (c->tokens > s->msg_burst)
		c->tokens = s->msg_burst;
	c->tokens_at = now;
	if (c->tokens < 1.0)
		return false;
	c->tokens -= 1.0;
	return true;
}

/* Drops a message over the rate: tells the owner once per episode, closes on a long one. */
static int rate_drop(struct ws_server *s, struct lws *wsi, struct conn *c)
{
	int64_t now = c->tokens_at; /* rate_ok() has just read the clock */
	atomic_fetch_add(&s->n_limited, 1);
	c->last_drop = now;
	c->episode_drops++;
	if (!c->over_since) {
		c->over_since = now;
		if (s->cb.on_rate_limited && !s->destroying)
			s->cb.on_rate_limited(s->cb.opaque, c->id);
	}
	if (c->episode_drops < 4 * s->msg_burst || now - c->over_since < WS_FLOOD_CLOSE_US)
		return 0;
	atomic_fetch_add(&s->n_closed_rate, 1);
	return close_soon(s, wsi, c, LWS_CLOSE_STATUS_POLICY_VIOLATION);
}

static int rx_deliver(struct ws_server *s, struct lws *wsi, struct conn *c)
{
	c->rx_active = false;
	atomic_fetch_add(&s->n_messages, 1);
	if (!rate_ok(s, c)) {
		c->rx_len = 0;
		return rate_drop(s, wsi, c);
	}
	if (c->over_since && c->tokens_at - c->last_drop > WS_EPISODE_END_US) {
		c->over_since = 0;
		c->episode_drops = 0;
	}
	if (s->cb.on_message && !s->destroying)
		s->cb.on_message(s->cb.opaque, c->id, c->rx ? c->rx : "", c->rx_len);
	c->rx_len = 0;
	if (c->rx_cap > WS_RX_KEEP) {
		free(c->rx);
		c->rx = NULL;
		c->rx_cap = 0;
	}
	return 0;
}

static int on_receive(struct ws_server *s, struct lws *wsi, struct conn *c, const void *in,
                      size_t len)
{
	if (!c)
		return -1;
	if (c->rx_discard)
		return 0;
	if (!c->rx_active) {
		c->rx_active = true;
		c->rx_len = 0;
		if (lws_frame_is_binary(wsi))
			return close_soon(s, wsi, c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE);
	}
	int rc = rx_append(s, c, in, len);
	if (rc == -EMSGSIZE) {
		atomic_fetch_add(&s->n_closed_big, 1);
		return close_soon(s, wsi, c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
	}
	if (rc)
		return close_soon(s, wsi, c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
	if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
		return rx_deliver(s, wsi, c);
	return 0;
}

/* ---- WebSocket: send ---- */

/* Service thread, on SERVER_WRITEABLE: writes at most one queued message, then the close. */
static int on_writeable(struct ws_server *s, struct lws *wsi, struct conn *c)
{
	if (!c)
		return 0;
	pthread_mutex_lock(&s->lock);
	struct out_msg *m = NULL;
	if (c->qcount) {
		m = c->q[c->qhead];
		c->qhead = (c->qhead + 1) % s->max_queue;
		c->qcount--;
	}
	bool more = c->qcount > 0;
	int close_code = c->close_code;
	pthread_mutex_unlock(&s->lock);

	if (m) {
		int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
		bool short_write = n < (int)m->len;
		free(m);
		if (short_write)
			return -1;
		if (more || close_code)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (close_code) {
		lws_close_reason(wsi, (enum lws_close_status)close_code, NULL, 0);
		return -1;
	}
	return 0;
}

/* Service thread: asks for writable callbacks for every connection with queued work. */
static void drain_pending(struct ws_server *s)
{
	pthread_mutex_lock(&s->lock);
	struct conn *c = s->pending;
	s->pending = NULL;
	while (c) {
		struct conn *next = c->pnext;
		c->pending = false;
		c->pnext = NULL;
		/* Does not call back into our lock-taking paths (only LOCK_POLL-type reasons). */
		lws_callback_on_writable(c->wsi);
		c = next;
	}
	pthread_mutex_unlock(&s->lock);
}

static struct out_msg *msg_new(const char *text)
{
	size_t len = strlen(text);
	struct out_msg *m = malloc(sizeof(*m) + LWS_PRE + len);
	if (!m)
		return NULL;
	m->len = len;
	memcpy(m->buf + LWS_PRE, text, len);
	return m;
}

int ws_send(struct ws_server *s, uint64_t conn, const char *text)
{
	if (!s || !text)
		return -EINVAL;
	struct out_msg *m = msg_new(text), *old = NULL;
	if (!m)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	struct conn *c = lookup(s, conn);
	if (!c) {
		pthread_mutex_unlock(&s->lock);
		free(m);
		return -ENOENT;
	}
	if (c->qcount == s->max_queue) {
		old = c->q[c->qhead];
		c->qhead = (c->qhead + 1) % s->max_queue;
		c->qcount--;
		c->dropped++;
	}
	c->q[(c->qhead + c->qcount) % s->max_queue] = m;
	c->qcount++;
	mark_pending(s, c);
	pthread_mutex_unlock(&s->lock);
	lws_cancel_service(s->ctx);
	free(old);
	return old ? -ENOBUFS : 0;
}

int ws_close(struct ws_server *s, uint64_t conn, int code)
{
	if (!s)
		return -EINVAL;
	if (code < 1000 || code > 4999 || code == 1005 || code == 1006 || code == 1015)
		code = LWS_CLOSE_STATUS_NORMAL;
	pthread_mutex_lock(&s->lock);
	struct conn *c = lookup(s, conn);
	if (c) {
		c->close_code = code;
		mark_pending(s, c);
	}
	pthread_mutex_unlock(&s->lock);
	if (!c)
		return -ENOENT;
	lws_cancel_service(s->ctx);
	return 0;
}

/* ---- WebSocket: lifecycle ---- */

/* Only upgrades at /ws are accepted (nonzero return rejects the handshake). */
static int filter_ws(struct lws *wsi)
{
	char uri[WS_PATH_MAX];
	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0)
		return 1;
	return strcmp(uri, "/ws") != 0;
}

static int on_established(struct ws_server *s, struct lws *wsi, struct pss *p)
{
	p->conn = conn_new(s, wsi);
	if (!p->conn)
		return -1;
	if (s->cb.on_open && !s->destroying)
		s->cb.on_open(s->cb.opaque, p->conn->id);
	return 0;
}

static void on_closed(struct ws_server *s, struct pss *p)
{
	struct conn *c = p->conn;
	if (!c)
		return;
	p->conn = NULL;
	uint64_t id = c->id;
	conn_free(s, c);
	if (s->cb.on_close && !s->destroying)
		s->cb.on_close(s->cb.opaque, id);
}

/* ---- HTTP /api/ ---- */

/*
 * lws 4.1 keeps calling HTTP_BODY_COMPLETION while a connection sits in its body state, so
 * every reply is written in one go (lws buffers what the socket does not take and flushes it
 * before the next transaction or the close), and the transaction ends in the same callback:
 * HTTP or BODY_COMPLETION for a synchronous reply, TIMER for a deferred one (see below).
 */

static void http_reset(struct pss *p)
{
	free(p->body);
	p->body = NULL;
	p->body_len = 0;
	p->method[0] = '\0';
	p->path[0] = '\0';
	p->auth[0] = '\0';
}

static const char *method_name(int m)
{
	switch (m) {
	case LWSHUMETH_GET:
		return "GET";
	case LWSHUMETH_POST:
		return "POST";
	case LWSHUMETH_DELETE:
		return "DELETE";
	case LWSHUMETH_PUT:
		return "PUT";
	default:
		return NULL;
	}
}

/* Writes status, headers (a Location if location is not "") and body now. 0, or -1 if the
 * connection is broken. */
static int http_write(struct lws *wsi, int status, const char *type, const char *body, size_t len,
                      const char *location)
{
	unsigned char hdr[LWS_PRE + 1536], *start = hdr + LWS_PRE, *pos = start;
	unsigned char *end = hdr + sizeof(hdr) - 1;

	if (lws_add_http_common_headers(wsi, (unsigned)status, type ? type : "application/json",
	                                len, &pos, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	                                 (const unsigned char *)"no-store", 8, &pos, end) ||
	    (location[0] && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_LOCATION,
	                                                 (const unsigned char *)location,
	                                                 (int)strlen(location), &pos, end)) ||
	    lws_finalize_write_http_header(wsi, start, &pos, end))
		return -1;
	unsigned char *buf = malloc(LWS_PRE + len + 1);
	if (!buf)
		return -1;
	if (len)
		memcpy(buf + LWS_PRE, body, len);
	int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
	free(buf);
	return n < 0 ? -1 : 0;
}

/* A complete reply that ends the transaction (keep-alive permitting). */
static int http_reply(struct lws *wsi, struct pss *p, int status, const char *type,
                      const char *body, size_t len, const char *location)
{
	http_reset(p);
	if (http_write(wsi, status, type, body, len, location))
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* An error reply before the request body (if any) was read: the connection closes after it.
 * code is a slug, as every {"error": code} of the API (docs/PROTOCOL.md, HTTP). */
static int http_error(struct lws *wsi, struct pss *p, int status, const char *code)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", code);
	http_reset(p);
	http_write(wsi, status, "application/json", body, (size_t)n, "");
	return -1;
}

/*
 * Streams a file (libwebsockets reads it in chunks as the socket drains), as an attachment.
 * Returns what the HTTP callback should.
 */
static int serve_file(struct lws *wsi, struct pss *p, const char *path, const char *type)
{
	unsigned char hdr[512], *pos = hdr, *end = hdr + sizeof(hdr);
	const char *slash = strrchr(path, '/');
	char disp[320];
	int n =
	    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", slash ? slash + 1 : path);
	http_reset(p);
	if (n < 0 || (size_t)n >= sizeof(disp) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"content-disposition:",
	                                (const unsigned char *)disp, n, &pos, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	                                 (const unsigned char *)"no-store", 8, &pos, end))
		return http_error(wsi, p, 500, "internal-error");
	int rc = lws_serve_http_file(wsi, path, type ? type : "application/octet-stream",
	                             (const char *)hdr, (int)(pos - hdr));
	if (rc < 0)
		return -1;
	return rc > 0 && lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void reply_free(struct ws_http_reply *r)
{
	free(r->body);
	free(r->file);
	r->body = NULL;
	r->file = NULL;
}

/* Writes an on_http or ws_http_complete reply and frees its body and file. */
static int send_reply(struct lws *wsi, struct pss *p, struct ws_http_reply *r)
{
	int rc;
	if (r->file)
		rc = serve_file(wsi, p, r->file, r->content_type);
	else
		rc = http_reply(wsi, p, r->status >= 100 && r->status <= 599 ? r->status : 500,
		                r->content_type, r->body, r->body ? r->body_len : 0, r->location);
	reply_free(r);
	return rc;
}

/* A JSON {"error":msg} reply that keeps the connection (the request was read in full). */
static int http_json_error(struct lws *wsi, struct pss *p, int status, const char *msg)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", msg);
	return http_reply(wsi, p, status, "application/json", body, (size_t)n, "");
}

/* ---- HTTP /api/: deferred replies ---- */

/*
 * Every request gets a struct dfr before on_http runs (so a ws_http_complete racing on_http finds
 * it); it stays listed (completable) only if on_http defers and fewer than max_deferred wait.
 * While it waits, rx on its connection is paused: lws 4.1 would otherwise parse a pipelined
 * request at once and drop the waiting one. A paused h1 connection gets no HTTP_WRITEABLE and lws
 * sees no hang-up on it, so an lws wsi timer (LWS_CALLBACK_TIMER) does the work: every
 * WS_DEFER_CHECK_US it checks the socket for a hang-up (closing the connection, which frees the
 * entry), at the deadline it answers 504, and when ws_http_complete (any thread) has moved a reply
 * in under s->lock and put the entry on s->ready, drain_ready (woken by lws_cancel_service) makes
 * the timer due at once and it writes the reply. Lookups by id walk s->dfrs, at most max_deferred
 * long.
 */

/* Under lock: takes d off s->dfrs and s->ready. */
static void dfr_unlink(struct ws_server *s, struct dfr *d)
{
	if (d->listed) {
		if (d->prev)
			d->prev->next = d->next;
		else
			s->dfrs = d->next;
		if (d->next)
			d->next->prev = d->prev;
		d->listed = false;
		s->n_dfrs--;
	}
	if (d->ready) {
		struct dfr **pp = &s->ready;
		while (*pp != d)
			pp = &(*pp)->rnext;
		*pp = d->rnext;
		d->ready = false;
	}
}

/* Service thread: the entry for a new request, listed if fewer than max_deferred are. */
static struct dfr *dfr_new(struct ws_server *s, struct lws *wsi)
{
	struct dfr *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->id = ++s->next_req_id;
	d->wsi = wsi;
	pthread_mutex_lock(&s->lock);
	if (s->n_dfrs < s->max_deferred) {
		d->listed = true;
		d->next = s->dfrs;
		if (s->dfrs)
			s->dfrs->prev = d;
		s->dfrs = d;
		s->n_dfrs++;
	}
	pthread_mutex_unlock(&s->lock);
	return d;
}

/* Service thread: unlinks d and frees it with any reply it holds. */
static void dfr_free(struct ws_server *s, struct dfr *d)
{
	pthread_mutex_lock(&s->lock);
	dfr_unlink(s, d);
	pthread_mutex_unlock(&s->lock);
	reply_free(&d->reply);
	free(d);
}

/* Service thread: the connection of p closes; its waiting request (if any) goes with it. */
static void dfr_drop(struct ws_server *s, struct pss *p)
{
	if (!p->dfr)
		return;
	dfr_free(s, p->dfr);
	p->dfr = NULL;
}

int ws_http_complete(struct ws_server *s, uint64_t id, struct ws_http_reply *reply)
{
	if (!reply)
		return -EINVAL;
	if (!s) {
		reply_free(reply);
		return -EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	struct dfr *d = s->dfrs;
	while (d && d->id != id)
		d = d->next;
	if (d && d->done)
		d = NULL;
	if (d) {
		d->reply = *reply;
		d->done = true;
		d->ready = true;
		d->rnext = s->ready;
		s->ready = d;
	}
	pthread_mutex_unlock(&s->lock);
	if (!d) {
		reply_free(reply);
		return -ENOENT;
	}
	reply->body = NULL;
	reply->file = NULL;
	lws_cancel_service(s->ctx);
	return 0;
}

/* Service thread, on EVENT_WAIT_CANCELLED: each completed request's timer becomes due now. */
static void drain_ready(struct ws_server *s)
{
	pthread_mutex_lock(&s->lock);
	struct dfr *d = s->ready;
	s->ready = NULL;
	for (; d; d = d->rnext) {
		d->ready = false;
		lws_set_timer_usecs(d->wsi, 1); /* only schedules: no callback from here */
	}
	pthread_mutex_unlock(&s->lock);
}

/* True if the peer has hung up (or shut down its side): lws reads nothing while we wait. */
static bool peer_gone(struct lws *wsi)
{
	struct pollfd pfd = {.fd = lws_get_socket_fd(wsi), .events = POLLRDHUP};
	if (pfd.fd < 0)
		return true;
	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* Service thread: the next check of a waiting connection, at the latest at its deadline. */
static void dfr_schedule(struct lws *wsi, const struct dfr *d)
{
	int64_t left = d->deadline - now_us();
	lws_set_timer_usecs(wsi,
	                    left < WS_DEFER_CHECK_US ? (left > 0 ? left : 1) : WS_DEFER_CHECK_US);
}

/*
 * Service thread, LWS_CALLBACK_TIMER on a waiting connection: due at once when the reply came
 * (drain_ready), else every WS_DEFER_CHECK_US. Writes the reply, or 504 at the deadline; a peer
 * that hung up meanwhile gets the connection closed (and the entry dropped with it).
 */
static int dfr_timer(struct ws_server *s, struct lws *wsi, struct pss *p)
{
	struct dfr *d = p->dfr;
	bool expired = now_us() >= d->deadline;
	pthread_mutex_lock(&s->lock);
	bool done = d->done;
	bool timed_out = !done && expired;
	if (timed_out)
		d->done = true; /* a later ws_http_complete: -ENOENT */
	pthread_mutex_unlock(&s->lock);
	if (!done && !timed_out) {
		if (peer_gone(wsi))
			return -1;
		dfr_schedule(wsi, d);
		return 0;
	}
	/* Done: no other thread touches d->reply any more. */
	struct ws_http_reply r = d->reply;
	d->reply = (struct ws_http_reply){0};
	p->dfr = NULL;
	dfr_free(s, d);
	lws_rx_flow_control(wsi, 1);
	if (timed_out) {
		atomic_fetch_add(&s->n_timeouts, 1);
		return http_json_error(wsi, p, 504, "timeout");
	}
	return send_reply(wsi, p, &r);
}

/* on_http deferred request d: the connection waits for it, or gets 503 over the cap. */
static int http_defer(struct ws_server *s, struct lws *wsi, struct pss *p, struct dfr *d)
{
	if (!d->listed) { /* only the service thread writes listed */
		dfr_free(s, d);
		atomic_fetch_add(&s->n_busy, 1);
		return http_json_error(wsi, p, 503, "server-busy");
	}
	atomic_fetch_add(&s->n_deferred, 1);
	http_reset(p);
	p->dfr = d;
	d->deadline = now_us() + (int64_t)s->http_timeout_ms * 1000;
	dfr_schedule(wsi, d);
	/* Replaces lws's own 10 s timeout (set after "Content-Length: 0") by a safety net past
	 * ours: the connection is closed (and d dropped) should the 504 not go out. */
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, s->http_timeout_ms / 1000 + 5);
	lws_rx_flow_control(wsi, 0); /* no pipelined request before this one's reply */
	return 0;
}

/* Hands the request to cb.on_http and replies, now or (deferred) later. */
static int http_dispatch(struct ws_server *s, struct lws *wsi, struct pss *p)
{
	struct ws_http_reply r = {.status = 404};
	if (!s->cb.on_http)
		return http_error(wsi, p, 404, "not-found");
	struct dfr *d = dfr_new(s, wsi);
	if (!d)
		return http_error(wsi, p, 503, "server-busy");
	struct ws_http_request req = {.id = d->id,
	                              .method = p->method,
	                              .path = p->path,
	                              .body = p->body,
	                              .body_len = p->body_len,
	                              .authorization = p->auth};
	s->cb.on_http(s->cb.opaque, &req, &r);
	if (r.status != WS_HTTP_DEFER) {
		dfr_free(s, d);
		return send_reply(wsi, p, &r);
	}
	reply_free(&r); /* a deferring on_http fills nothing else */
	return http_defer(s, wsi, p, d);
}

/* The paths on_http answers: /api/... and the health probes. */
static bool is_api_path(const char *path)
{
	return !strcmp(path, "/api") || !strncmp(path, "/api/", 5) || !strcmp(path, "/healthz") ||
	       !strcmp(path, "/readyz") || !strcmp(path, "/metrics");
}

/* Announced body length: 0 if none, SIZE_MAX if chunked or unparsable. */
static size_t body_length(struct lws *wsi)
{
	char cl[24] = "";
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING))
		return SIZE_MAX;
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return 0;
	char *e;
	unsigned long long v = strtoull(cl, &e, 10);
	return *e || v > WS_HTTP_MAX_BODY ? SIZE_MAX : (size_t)v;
}

static int on_http(struct ws_server *s, struct lws *wsi, struct pss *p)
{
	char *uri;
	int ulen;
	http_reset(p);
	dfr_drop(s, p); /* none expected: rx is paused while a request waits */
	const char *method = method_name(lws_http_get_uri_and_method(wsi, &uri, &ulen));
	if (!method)
		return http_error(wsi, p, 405, "method-not-allowed");
	if (ulen < 0 || (size_t)ulen >= sizeof(p->path))
		return http_error(wsi, p, 414, "uri-too-long");
	if (!is_api_path(uri))
		return http_error(wsi, p, 404, "not-found");
	size_t blen = body_length(wsi);
	if (blen == SIZE_MAX)
		return http_error(wsi, p, 413, "body-too-large");
	bool post = !strcmp(method, "POST") || !strcmp(method, "PUT");
	if (!post && blen)
		return http_error(wsi, p, 400, "unexpected-body");
	memcpy(p->path, uri, (size_t)ulen);
	p->path[ulen] = '\0';
	if (lws_hdr_copy(wsi, p->auth, sizeof(p->auth), WSI_TOKEN_HTTP_AUTHORIZATION) <= 0)
		p->auth[0] = '\0';
	snprintf(p->method, sizeof(p->method), "%s", method);
	/* lws 4.1 enters its body state for a body, and for a POST with "Content-Length: 0" */
	bool has_cl = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0;
	if (!post || !(blen > 0 || (has_cl && !strcmp(method, "POST"))))
		return http_dispatch(s, wsi, p); /* no body will follow */
	/* Such a request is answered at HTTP_BODY_COMPLETION: a reply deferred from here would
	 * be cut by the BODY_COMPLETION that follows it. */
	return 0; /* the body follows: HTTP_BODY ... HTTP_BODY_COMPLETION */
}

/* True while a POST or PUT body is expected. */
static bool wants_body(const struct pss *p)
{
	return !strcmp(p->method, "POST") || !strcmp(p->method, "PUT");
}

static int on_http_body(struct pss *p, const void *in, size_t len)
{
	if (!wants_body(p))
		return -1;
	if (p->body_len + len > WS_HTTP_MAX_BODY)
		return -1;
	char *b = realloc(p->body, p->body_len + len + 1);
	if (!b)
		return -1;
	if (len)
		memcpy(b + p->body_len, in, len);
	p->body = b;
	p->body_len += len;
	b[p->body_len] = '\0';
	return 0;
}

/* ---- the one lws callback ---- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
	struct pss *p = user;
	struct ws_server *s = wsi ? server_of(wsi) : NULL;
	if (!s)
		return lws_callback_http_dummy(wsi, reason, user, in, len);

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		drain_pending(s);
		drain_ready(s);
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return filter_ws(wsi);
	case LWS_CALLBACK_ESTABLISHED:
		return on_established(s, wsi, p);
	case LWS_CALLBACK_RECEIVE:
		return on_receive(s, wsi, p ? p->conn : NULL, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return on_writeable(s, wsi, p ? p->conn : NULL);
	case LWS_CALLBACK_CLOSED:
		on_closed(s, p);
		return 0;
	case LWS_CALLBACK_HTTP:
		return on_http(s, wsi, p);
	case LWS_CALLBACK_HTTP_BODY:
		return on_http_body(p, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (p && p->dfr)
			return 0; /* lws 4.1 may repeat it while in its body state */
		/* Not ours (e.g. a POST to a static path): close rather than let lws spin. */
		return wants_body(p) ? http_dispatch(s, wsi, p) : -1;
	case LWS_CALLBACK_TIMER:
		return p && p->dfr ? dfr_timer(s, wsi, p) : 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (p) {
			http_reset(p);
			dfr_drop(s, p);
		}
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* ---- server lifecycle ---- */

static void setup_protocols(struct ws_server *s)
{
	/* Both entries share the callback and session struct: an upgrade with no (or an
	 * unknown) subprotocol lands on protocols[0] and works the same. */
	s->protocols[0] = (struct lws_protocols){
	    .name = "http", .callback = callback, .per_session_data_size = sizeof(struct pss)};
	s->protocols[1] = (struct lws_protocols){
	    .name = "mcu", .callback = callback, .per_session_data_size = sizeof(struct pss)};
}

static void setup_mounts(struct ws_server *s)
{
	static const char *const points[] = {"/api", "/healthz", "/readyz", "/metrics"};
	for (int i = 0; i < 4; i++)
		s->mounts[i] = (struct lws_http_mount){
		    .mountpoint = points[i],
		    .mountpoint_len = (unsigned char)strlen(points[i]),
		    .origin = "http",
		    .origin_protocol = LWSMPRO_CALLBACK,
		    .mount_next = i < 3 || s->www_dir ? &s->mounts[i + 1] : NULL,
		};
	s->mounts[4] = (struct lws_http_mount){
	    .mountpoint = "/",
	    .mountpoint_len = 1,
	    .origin = s->www_dir,
	    .def = "index.html",
	    .origin_protocol = LWSMPRO_FILE,
	};
}

static bool is_ipv4_literal(const char *addr)
{
	struct in_addr a;
	return inet_pton(AF_INET, addr, &a) == 1;
}

static void setup_info(struct ws_server *s, struct lws_context_creation_info *info)
{
	memset(info, 0, sizeof(*info));
	info->port = s->port;
	info->iface = s->bind;
	info->protocols = s->protocols;
	info->mounts = s->mounts;
	info->user = s;
	info->gid = -1;
	info->uid = -1;
	info->options = LWS_SERVER_OPTION_VALIDATE_UTF8;
	/* lws 4.1 with IPv6 on binds an IPv4 iface address such as 127.0.0.1 to [::] (every
	 * address): IPv4 literals need IPv6 off to bind where asked. */
	if (s->bind && is_ipv4_literal(s->bind))
		info->options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	/* Slowloris and dead peers (checklist C6). */
	info->timeout_secs = 10;
	info->timeout_secs_ah_idle = 5;
	info->max_http_header_data = 4096;
	info->max_http_header_pool = 1024;
	/* Idle keep-alive HTTP connections: longer than clients keep theirs (browsers ~60 s,
	 * Node 4 s), so a client never reuses a connection the server is closing at that moment. */
	info->keepalive_timeout = 75;
	info->ka_time = 60;
	info->ka_probes = 3;
	info->ka_interval = 10;
	s->retry = (lws_retry_bo_t){.secs_since_valid_ping = 30, .secs_since_valid_hangup = 75};
	info->retry_and_idle_policy = &s->retry;
	info->server_string = "mcu";
	if (s->cert && s->key) {
		info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info->ssl_cert_filepath = s->cert;
		info->ssl_private_key_filepath = s->key;
		info->alpn = "http/1.1";
	}
}

static char *dup_opt(const char *v, bool *oom)
{
	if (!v)
		return NULL;
	char *d = strdup(v);
	if (!d)
		*oom = true;
	return d;
}

static int copy_cfg(struct ws_server *s, const struct ws_server_cfg *cfg)
{
	bool oom = false;
	s->cb = cfg->cb;
	s->port = cfg->port;
	s->max_message = cfg->max_message ? cfg->max_message : WS_DEFAULT_MSG;
	s->max_queue = cfg->max_queue > 0 ? cfg->max_queue : WS_DEFAULT_QUEUE;
	s->msg_rate = cfg->msg_rate > 0 ? cfg->msg_rate : 0;
	s->msg_burst = cfg->msg_burst > 0 ? cfg->msg_burst : (s->msg_rate > 0 ? s->msg_rate : 1);
	s->http_timeout_ms = cfg->http_timeout_ms > 0 ? cfg->http_timeout_ms : WS_HTTP_TIMEOUT_MS;
	s->max_deferred = cfg->max_deferred > 0 ? cfg->max_deferred : WS_MAX_DEFERRED;
	s->www_dir = dup_opt(cfg->www_dir, &oom);
	s->bind = dup_opt(cfg->bind, &oom);
	s->cert = dup_opt(cfg->tls_cert, &oom);
	s->key = dup_opt(cfg->tls_key, &oom);
	return oom ? -ENOMEM : 0;
}

static void server_release(struct ws_server *s)
{
	free(s->www_dir);
	free(s->bind);
	free(s->cert);
	free(s->key);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/*
 * Tries to bind the address first, so a busy port or a foreign address is reported as an errno
 * (lws only logs it, and leaks a little when its vhost fails). Names that are not numeric addresses
 * (interface names, which lws also accepts) are left to lws. 0 or a negative errno.
 */
static int probe_bind(const char *addr, int port)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
	                         .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai;
	char ports[8];
	snprintf(ports, sizeof(ports), "%d", port);
	if (getaddrinfo(addr, ports, &hints, &ai))
		return 0;
	int rc = 0, one = 1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1))
			rc = -errno;
		close(fd);
	}
	freeaddrinfo(ai);
	return rc;
}

int ws_server_new(struct ws_server **out, const struct ws_server_cfg *cfg, char *err, size_t errlen)
{
	struct lws_context_creation_info info;
	*out = NULL;
	if (!cfg || cfg->port < 0 || cfg->port > 65535 || !cfg->tls_cert != !cfg->tls_key) {
		snprintf(err, errlen, "bad ws server configuration");
		return -EINVAL;
	}
	int rc = probe_bind(cfg->bind, cfg->port);
	if (rc) {
		snprintf(err, errlen, "cannot listen on %s:%d: %s", cfg->bind ? cfg->bind : "*",
		         cfg->port, strerror(-rc));
		return rc;
	}
	struct ws_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->stop, false);
	if (copy_cfg(s, cfg)) {
		server_release(s);
		return -ENOMEM;
	}
	setup_protocols(s);
	setup_mounts(s);
	setup_info(s, &info);
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	s->ctx = lws_create_context(&info);
	struct lws_vhost *vh = s->ctx ? lws_get_vhost_by_name(s->ctx, "default") : NULL;
	int port = vh ? lws_get_vhost_listen_port(vh) : -1;
	if (port <= 0) {
		snprintf(err, errlen, "cannot listen on %s:%d", cfg->bind ? cfg->bind : "*",
		         cfg->port);
		if (s->ctx)
			lws_context_destroy(s->ctx);
		server_release(s);
		return -EIO;
	}
	s->port = port;
	*out = s;
	return 0;
}

int ws_server_run(struct ws_server *s)
{
	while (!atomic_load(&s->stop))
		if (lws_service(s->ctx, 0) < 0)
			return -EIO;
	return 0;
}

void ws_server_stop(struct ws_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, true);
	lws_cancel_service(s->ctx);
}

void ws_server_free(struct ws_server **ps)
{
	struct ws_server *s = ps ? *ps : NULL;
	if (!s)
		return;
	s->destroying = true;
	lws_context_destroy(s->ctx);
	while (s->dfrs) /* none left if lws reported every close */
		dfr_free(s, s->dfrs);
	server_release(s);
	*ps = NULL;
}

void ws_server_stats(const struct ws_server *s, struct ws_stats *out)
{
	out->connections = atomic_load(&s->n_conns);
	out->messages = atomic_load(&s->n_messages);
	out->rate_limited = atomic_load(&s->n_limited);
	out->closed_rate = atomic_load(&s->n_closed_rate);
	out->closed_too_big = atomic_load(&s->n_closed_big);
	out->http_deferred = atomic_load(&s->n_deferred);
	out->http_timeouts = atomic_load(&s->n_timeouts);
	out->http_busy = atomic_load(&s->n_busy);
}

int ws_server_port(const struct ws_server *s)
{
	return s ? s->port : -1;
}
