/*
 * sigws.c - WebSocket signaling client on libwebsockets 4.1 (see sigws.h).
 *
 * Threads: the service thread (run()) owns the lws context and every wsi; it creates the
 * context, serves it until stop, and destroys it. Other threads touch a connection only under
 * s->lock (its outbound ring, close request, pending flag) and then call lws_cancel_service();
 * the service thread gets LWS_CALLBACK_EVENT_WAIT_CANCELLED, takes the pending list and, without
 * the lock, connects, asks for a writable callback or closes. Messages are reassembled on the
 * service thread and posted to the GLib context as events (g_main_context_invoke_full), never
 * run with the lock held.
 * Ownership: connections are on s->all from sigws_connect until sigws_free frees them after
 * the thread ended; queued messages belong to the ring until written or dropped.
 */
#include "sigws.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <libwebsockets.h>

struct out_msg {
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes, then the text */
};

struct sigws_conn {
	struct sigws *s;
	struct sigws_conn *next_all;
	struct sigws_callbacks cb;
	void *opaque;
	char host[128], path[256];
	int port;
	/* under s->lock */
	struct out_msg *q[SIGWS_MAX_QUEUE];
	int qhead, qcount;
	uint64_t dropped;
	bool want_connect, want_close, closed, pending;
	struct sigws_conn *pnext;
	/* service thread only */
	struct lws *wsi;
	bool close_delivered;
	char *rx;
	size_t rx_len;
	bool rx_skip; /* a message over SIGWS_MAX_MESSAGE or binary: dropped */
};

struct sigws {
	struct lws_context *ctx;
	struct lws_protocols protocols[2];
	GMainContext *deliver;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	atomic_bool ready; /* the context exists: lws_cancel_service may be called */
	int start_err;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct sigws_conn *all, *pending;
};

/* ---- events to the GLib context ---- */

enum ev_kind { EV_OPEN, EV_MESSAGE, EV_CLOSE };

struct event {
	enum ev_kind kind;
	struct sigws_conn *c;
	size_t len;
	char text[]; /* NUL-terminated */
};

static gboolean run_event(gpointer data)
{
	struct event *e = data;
	struct sigws_conn *c = e->c;
	if (e->kind == EV_OPEN && c->cb.on_open)
		c->cb.on_open(c->opaque);
	else if (e->kind == EV_MESSAGE && c->cb.on_message)
		c->cb.on_message(c->opaque, e->text, e->len);
	else if (e->kind == EV_CLOSE && c->cb.on_close)
		c->cb.on_close(c->opaque, e->text);
	return G_SOURCE_REMOVE;
}

static void post(struct sigws_conn *c, enum ev_kind kind, const char *text, size_t len)
{
	struct event *e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return; /* out of memory: the event is lost, the client times out */
	e->kind = kind;
	e->c = c;
	e->len = len;
	if (len)
		memcpy(e->text, text, len);
	e->text[len] = '\0';
	g_main_context_invoke_full(c->s->deliver, G_PRIORITY_DEFAULT, run_event, e, free);
}

/* Service thread: the connection is over (once). */
static void conn_closed(struct sigws_conn *c, const char *why)
{
	c->wsi = NULL;
	pthread_mutex_lock(&c->s->lock);
	c->closed = true;
	pthread_mutex_unlock(&c->s->lock);
	if (c->close_delivered || atomic_load(&c->s->stop))
		return;
	c->close_delivered = true;
	post(c, EV_CLOSE, why, strlen(why));
}

/* ---- service thread: lws events ---- */

static void rx_append(struct sigws_conn *c, struct lws *wsi, const void *in, size_t len)
{
	if (lws_is_first_fragment(wsi)) {
		c->rx_len = 0;
		c->rx_skip = lws_frame_is_binary(wsi);
	}
	if (!c->rx_skip && c->rx_len + len > SIGWS_MAX_MESSAGE)
		c->rx_skip = true;
	if (!c->rx_skip && !c->rx)
		c->rx = malloc(SIGWS_MAX_MESSAGE + 1);
	if (!c->rx)
		c->rx_skip = true;
	if (!c->rx_skip) {
		memcpy(c->rx + c->rx_len, in, len);
		c->rx_len += len;
	}
	if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
		if (!c->rx_skip)
			post(c, EV_MESSAGE, c->rx, c->rx_len);
		c->rx_len = 0;
		c->rx_skip = false;
	}
}

/* Writes one queued message; -1 asks lws to close (after a close request). */
static int on_writeable(struct sigws_conn *c, struct lws *wsi)
{
	pthread_mutex_lock(&c->s->lock);
	struct out_msg *m = NULL;
	if (c->qcount > 0) {
		m = c->q[c->qhead];
		c->qhead = (c->qhead + 1) % SIGWS_MAX_QUEUE;
		c->qcount--;
	}
	bool more = c->qcount > 0, close = c->want_close;
	pthread_mutex_unlock(&c->s->lock);
	if (m) {
		int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
		free(m);
		if (n < 0)
			return -1;
	}
	if (more || (m && close)) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (close) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	}
	return 0;
}

static void do_connect(struct sigws *s, struct sigws_conn *c)
{
	struct lws_client_connect_info i;
	memset(&i, 0, sizeof(i));
	i.context = s->ctx;
	i.address = c->host;
	i.port = c->port;
	i.path = c->path;
	i.host = c->host;
	i.origin = c->host;
	i.protocol = "mcu";
	i.local_protocol_name = "mcu";
	i.pwsi = &c->wsi;
	i.opaque_user_data = c;
	if (!lws_client_connect_via_info(&i))
		conn_closed(c, "connect failed");
}

/* EVENT_WAIT_CANCELLED: serves every connection other threads marked. */
static void service_pending(struct sigws *s)
{
	pthread_mutex_lock(&s->lock);
	struct sigws_conn *list = s->pending;
	s->pending = NULL;
	for (struct sigws_conn *c = list; c; c = c->pnext)
		c->pending = false;
	pthread_mutex_unlock(&s->lock);
	while (list) {
		struct sigws_conn *c = list;
		list = c->pnext;
		pthread_mutex_lock(&s->lock);
		bool connect = c->want_connect, close = c->want_close;
		c->want_connect = false;
		pthread_mutex_unlock(&s->lock);
		if (connect && !close)
			do_connect(s, c);
		else if (connect && close)
			conn_closed(c, "closed before connecting");
		else if (c->wsi)
			lws_callback_on_writable(c->wsi);
	}
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
	struct sigws *s = lws_context_user(lws_get_context(wsi));
	struct sigws_conn *c = lws_get_opaque_user_data(wsi);
	char why[160];

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		service_pending(s);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		post(c, EV_OPEN, NULL, 0);
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		rx_append(c, wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return on_writeable(c, wsi);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		snprintf(why, sizeof(why), "connection error: %s", in ? (const char *)in : "?");
		if (c)
			conn_closed(c, why);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c)
			conn_closed(c, "closed");
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (c && c->wsi == wsi)
			conn_closed(c, "closed");
		break;
	default:
		break;
	}
	return 0;
}

/* ---- the service thread ---- */

static void *run(void *arg)
{
	struct sigws *s = arg;
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = s->protocols;
	info.user = s;
	info.gid = -1;
	info.uid = -1;
	s->ctx = lws_create_context(&info);
	pthread_mutex_lock(&s->lock);
	s->start_err = s->ctx ? 0 : -EIO;
	atomic_store(&s->ready, s->ctx != NULL);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (!s->ctx)
		return NULL;
	while (!atomic_load(&s->stop))
		lws_service(s->ctx, 0);
	lws_context_destroy(s->ctx);
	return NULL;
}

int sigws_new(struct sigws **out, GMainContext *deliver)
{
	struct sigws *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	lws_set_log_level(LLL_ERR, NULL);
	s->deliver = deliver;
	s->protocols[0] = (struct lws_protocols){.name = "mcu", .callback = callback};
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->start_err = 1; /* not yet known */
	if (pthread_create(&s->thread, NULL, run, s) != 0) {
		sigws_free(&s);
		return -EAGAIN;
	}
	s->thread_started = true;
	pthread_mutex_lock(&s->lock);
	while (s->start_err == 1)
		pthread_cond_wait(&s->cond, &s->lock);
	int rc = s->start_err;
	pthread_mutex_unlock(&s->lock);
	if (rc < 0) {
		sigws_free(&s);
		return rc;
	}
	*out = s;
	return 0;
}

void sigws_free(struct sigws **sp)
{
	struct sigws *s = *sp;
	if (!s)
		return;
	atomic_store(&s->stop, true);
	if (s->thread_started) {
		if (atomic_load(&s->ready))
			lws_cancel_service(s->ctx);
		pthread_join(s->thread, NULL);
	}
	while (s->all) {
		struct sigws_conn *c = s->all;
		s->all = c->next_all;
		for (int i = 0; i < c->qcount; i++)
			free(c->q[(c->qhead + i) % SIGWS_MAX_QUEUE]);
		free(c->rx);
		free(c);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
	*sp = NULL;
}

/* ---- requests from other threads ---- */

/* ws://host[:port]/path */
static int parse_url(const char *url, struct sigws_conn *c)
{
	if (strncmp(url, "ws://", 5))
		return -EINVAL;
	const char *h = url + 5, *slash = strchr(h, '/'), *end = slash ? slash : h + strlen(h);
	const char *colon = memchr(h, ':', (size_t)(end - h));
	size_t hl = (size_t)((colon ? colon : end) - h);
	if (hl == 0 || hl >= sizeof(c->host))
		return -EINVAL;
	memcpy(c->host, h, hl);
	c->host[hl] = '\0';
	c->port = 80;
	if (colon) {
		char *e;
		long p = strtol(colon + 1, &e, 10);
		if (e != end || p < 1 || p > 65535)
			return -EINVAL;
		c->port = (int)p;
	}
	int n = snprintf(c->path, sizeof(c->path), "%s", slash ? slash : "/");
	return n < 0 || (size_t)n >= sizeof(c->path) ? -EINVAL : 0;
}

/* Under s->lock: puts c on the pending list. */
static void mark_pending(struct sigws *s, struct sigws_conn *c)
{
	if (c->pending)
		return;
	c->pending = true;
	c->pnext = s->pending;
	s->pending = c;
}

int sigws_connect(struct sigws *s, const char *url, const struct sigws_callbacks *cb, void *opaque,
                  struct sigws_conn **out)
{
	struct sigws_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (parse_url(url, c) < 0) {
		free(c);
		return -EINVAL;
	}
	c->s = s;
	c->cb = *cb;
	c->opaque = opaque;
	pthread_mutex_lock(&s->lock);
	c->next_all = s->all;
	s->all = c;
	c->want_connect = true;
	mark_pending(s, c);
	pthread_mutex_unlock(&s->lock);
	lws_cancel_service(s->ctx);
	*out = c;
	return 0;
}

int sigws_send(struct sigws_conn *c, const char *text)
{
	size_t len = strlen(text);
	struct out_msg *m = malloc(sizeof(*m) + LWS_PRE + len);
	if (!m)
		return -ENOMEM;
	m->len = len;
	memcpy(m->buf + LWS_PRE, text, len);
	struct sigws *s = c->s;
	pthread_mutex_lock(&s->lock);
	if (c->closed || c->want_close) {
		pthread_mutex_unlock(&s->lock);
		free(m);
		return -ENOTCONN;
	}
	if (c->qcount == SIGWS_MAX_QUEUE) { /* drop the oldest */
		free(c->q[c->qhead]);
		c->qhead = (c->qhead + 1) % SIGWS_MAX_QUEUE;
		c->qcount--;
		c->dropped++;
	}
	c->q[(c->qhead + c->qcount++) % SIGWS_MAX_QUEUE] = m;
	mark_pending(s, c);
	pthread_mutex_unlock(&s->lock);
	lws_cancel_service(s->ctx);
	return 0;
}

void sigws_close(struct sigws_conn *c)
{
	struct sigws *s = c->s;
	pthread_mutex_lock(&s->lock);
	bool wake = !c->closed && !c->want_close;
	c->want_close = true;
	if (wake)
		mark_pending(s, c);
	pthread_mutex_unlock(&s->lock);
	if (wake)
		lws_cancel_service(s->ctx);
}

uint64_t sigws_dropped(struct sigws_conn *c)
{
	pthread_mutex_lock(&c->s->lock);
	uint64_t n = c->dropped;
	pthread_mutex_unlock(&c->s->lock);
	return n;
}
