/*
 * redis.c - an asynchronous Redis connection on an event loop (see redis.h).
 *
 * hiredis does the protocol; the event glue is ours (hiredis' own GLib adapter may touch a
 * context that its write handler has just freed): one GSource with the connection's fd, whose
 * events follow hiredis' add/del read/write hooks, dispatching to redisAsyncHandleWrite and
 * then, if the context is still ours, redisAsyncHandleRead. A timer every REDIS_RETRY_MS
 * reconnects while down and drops a connection whose replies (or whose connect) stalled.
 * Loop thread only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib-unix.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "cluster/redis.h"
#include "log.h"
#include "net/loop.h"

struct redis {
	struct loop *l;
	char host[256];
	int port;
	struct redis_callbacks cb;
	redisAsyncContext *ac; /* NULL while down */
	bool up;               /* connected and answering (its PING), not just connecting */
	bool told_down;        /* on_down was called since the last on_up (or ever) */
	GSource *src;          /* watches ac's fd */
	gpointer tag;
	bool want_read, want_write;
	unsigned timer;
	int pending;          /* commands sent without a reply yet */
	int64_t last_reply;   /* monotonic us of the last reply, or of the connect */
	bool freeing;         /* in redis_free: no reconnect, no callbacks up */
	const char *drop_why; /* why we are dropping the connection (on_timer) */
};

struct fd_source {
	GSource base;
	struct redis *r;
};

struct cmd {
	struct redis *r;
	redis_reply_fn fn;
	void *arg;
};

int redis_parse_url(const char *url, char *host, size_t host_cap, int *port, char *err,
                    size_t errlen)
{
	const char *p = strncmp(url, "redis://", 8) == 0 ? url + 8 : NULL;
	const char *colon = p ? strrchr(p, ':') : NULL;
	if (!p || !colon || colon == p || (size_t)(colon - p) >= host_cap) {
		snprintf(err, errlen, "'%s' is not redis://HOST:PORT", url);
		return -EINVAL;
	}
	char *end;
	long v = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || v < 1 || v > 65535) {
		snprintf(err, errlen, "'%s': the port must be 1..65535", url);
		return -EINVAL;
	}
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	*port = (int)v;
	return 0;
}

/* ---- the fd source ---- */

static gboolean fd_dispatch(GSource *s, GSourceFunc fn, gpointer data)
{
	struct redis *r = ((struct fd_source *)s)->r;
	redisAsyncContext *ac = r->ac;
	GIOCondition c = r->tag ? g_source_query_unix_fd(s, r->tag) : 0;
	if (ac && (c & (G_IO_OUT | G_IO_ERR | G_IO_HUP)) && r->want_write)
		redisAsyncHandleWrite(ac);
	if (ac && r->ac == ac && (c & (G_IO_IN | G_IO_ERR | G_IO_HUP)))
		redisAsyncHandleRead(ac);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs fd_funcs = {.dispatch = fd_dispatch};

static void watch(struct redis *r)
{
	if (r->src && r->tag)
		g_source_modify_unix_fd(
		    r->src, r->tag, (r->want_read ? G_IO_IN : 0) | (r->want_write ? G_IO_OUT : 0));
}

static void ev_add_read(void *p)
{
	((struct redis *)p)->want_read = true;
	watch(p);
}

static void ev_del_read(void *p)
{
	((struct redis *)p)->want_read = false;
	watch(p);
}

static void ev_add_write(void *p)
{
	((struct redis *)p)->want_write = true;
	watch(p);
}

static void ev_del_write(void *p)
{
	((struct redis *)p)->want_write = false;
	watch(p);
}

static void drop_source(struct redis *r)
{
	if (!r->src)
		return;
	g_source_destroy(r->src);
	g_source_unref(r->src);
	r->src = NULL;
	r->tag = NULL;
	r->want_read = r->want_write = false;
}

static void ev_cleanup(void *p)
{
	drop_source(p);
}

/* ---- connection state ---- */

static void went_down(struct redis *r, const char *why)
{
	bool was_up = r->up;
	r->ac = NULL;
	r->up = false;
	drop_source(r);
	if (r->freeing || (r->told_down && !was_up))
		return;
	r->told_down = true;
	LOG_W("redis %s:%d: %s", r->host, r->port, why);
	if (r->cb.on_down)
		r->cb.on_down(r->cb.opaque, why);
}

/* The PING after connecting: a Redis that answers (a stopped one's kernel still accepts). */
static void on_ping(redisAsyncContext *ac, void *reply, void *priv)
{
	struct redis *r = priv;
	redisReply *rep = reply;
	if (!rep || r->ac != ac)
		return;
	if (rep->type != REDIS_REPLY_STATUS || strcmp(rep->str, "PONG") != 0) {
		r->drop_why = "PING not answered PONG";
		redisAsyncDisconnect(ac);
		return;
	}
	r->up = true;
	r->told_down = false;
	r->last_reply = g_get_monotonic_time();
	LOG_I("redis %s:%d: connected", r->host, r->port);
	if (r->cb.on_up)
		r->cb.on_up(r->cb.opaque);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct redis *r = ac->data;
	if (status != REDIS_OK) { /* hiredis frees ac after this */
		went_down(r, ac->errstr[0] ? ac->errstr : "could not connect");
		return;
	}
	r->last_reply = g_get_monotonic_time();
	if (redisAsyncCommand(r->ac, on_ping, r, "PING") != REDIS_OK) {
		r->drop_why = "could not send PING";
		redisAsyncDisconnect(r->ac);
	}
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis *r = ac->data;
	went_down(r, r->drop_why          ? r->drop_why
	             : status == REDIS_OK ? "connection closed"
	             : ac->errstr[0]      ? ac->errstr
	                                  : "connection lost");
}

static void connect_now(struct redis *r)
{
	redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
	if (!ac || ac->err) {
		char why[160];
		snprintf(why, sizeof(why), "%s", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		went_down(r, why);
		return;
	}
	ac->data = r;
	r->src = g_source_new(&fd_funcs, sizeof(struct fd_source));
	((struct fd_source *)r->src)->r = r;
	r->tag = g_source_add_unix_fd(r->src, ac->c.fd, 0);
	g_source_attach(r->src, loop_ctx(r->l));
	ac->ev.data = r;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	r->ac = ac;
	r->last_reply = g_get_monotonic_time();
	ev_add_write(r); /* the connect completes when the socket is writable */
}

/* Reconnects while down; drops a connection whose connect or replies stalled. */
static gboolean on_timer(gpointer data)
{
	struct redis *r = data;
	int64_t now = g_get_monotonic_time();
	if (!r->ac) {
		connect_now(r);
	} else if ((!r->up || r->pending > 0) && now - r->last_reply > REDIS_STALL_MS * 1000LL) {
		redisAsyncContext *ac = r->ac;
		r->drop_why = r->up ? "no reply for 2 s: dropped" : "connect timed out";
		redisAsyncFree(
		    ac); /* pending commands get NULL replies; on_disconnect if connected */
		if (r->ac == ac)
			went_down(r, r->drop_why);
		r->drop_why = NULL;
	}
	return G_SOURCE_CONTINUE;
}

int redis_new(struct redis **out, struct loop *l, const char *url, const struct redis_callbacks *cb)
{
	char err[160];
	struct redis *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (redis_parse_url(url, r->host, sizeof(r->host), &r->port, err, sizeof(err)) < 0) {
		LOG_E("cluster: %s", err);
		free(r);
		return -EINVAL;
	}
	r->l = l;
	r->cb = *cb;
	connect_now(r);
	r->timer = loop_timer_add(l, REDIS_RETRY_MS, G_PRIORITY_DEFAULT, on_timer, r);
	*out = r;
	return 0;
}

void redis_free(struct redis **rp)
{
	struct redis *r = *rp;
	if (!r)
		return;
	r->freeing = true;
	loop_source_remove(r->l, &r->timer);
	if (r->ac) {
		redisAsyncContext *ac = r->ac;
		r->ac = NULL;
		redisAsyncFree(ac);
	}
	drop_source(r);
	free(r);
	*rp = NULL;
}

bool redis_is_up(const struct redis *r)
{
	return r && r->up && r->ac;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct cmd *c = priv;
	c->r->pending--;
	if (reply)
		c->r->last_reply = g_get_monotonic_time();
	c->fn(c->arg, reply);
	free(c);
}

struct sub {
	redis_message_fn fn;
	void *arg;
};

/* Every reply of a subscription: ["subscribe", channel, n] first, then ["message", channel,
 * payload] each; NULL when the connection goes (the sub is freed then). */
static void on_sub_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct sub *sb = priv;
	redisReply *r = reply;
	if (!r) {
		free(sb);
		return;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[0]->type == REDIS_REPLY_STRING && !strcmp(r->element[0]->str, "message") &&
	    r->element[2]->type == REDIS_REPLY_STRING)
		sb->fn(sb->arg, r->element[2]->str, r->element[2]->len);
}

int redis_subscribe(struct redis *r, const char *channel, redis_message_fn fn, void *arg)
{
	if (!redis_is_up(r))
		return -ENOTCONN;
	struct sub *sb = malloc(sizeof(*sb));
	if (!sb)
		return -ENOMEM;
	*sb = (struct sub){fn, arg};
	if (redisAsyncCommand(r->ac, on_sub_reply, sb, "SUBSCRIBE %s", channel) != REDIS_OK) {
		free(sb);
		return -ENOTCONN;
	}
	return 0;
}

static struct cmd *new_cmd(struct redis *r, redis_reply_fn fn, void *arg)
{
	if (!redis_is_up(r))
		return NULL;
	struct cmd *c = malloc(sizeof(*c));
	if (c)
		*c = (struct cmd){r, fn, arg};
	return c;
}

static int sent(struct redis *r, struct cmd *c, int rc)
{
	if (rc != REDIS_OK) {
		free(c);
		return -ENOTCONN;
	}
	if (r->pending++ == 0)
		r->last_reply = g_get_monotonic_time(); /* the stall clock starts now */
	return 0;
}

int redis_cmd(struct redis *r, redis_reply_fn fn, void *arg, const char *fmt, ...)
{
	struct cmd *c = new_cmd(r, fn, arg);
	if (!c)
		return redis_is_up(r) ? -ENOMEM : -ENOTCONN;
	va_list ap;
	va_start(ap, fmt);
	int rc = redisvAsyncCommand(r->ac, on_reply, c, fmt, ap);
	va_end(ap);
	return sent(r, c, rc);
}

int redis_cmd_argv(struct redis *r, redis_reply_fn fn, void *arg, int argc, const char **argv,
                   const size_t *argvlen)
{
	struct cmd *c = new_cmd(r, fn, arg);
	if (!c)
		return redis_is_up(r) ? -ENOMEM : -ENOTCONN;
	return sent(r, c, redisAsyncCommandArgv(r->ac, on_reply, c, argc, argv, argvlen));
}
