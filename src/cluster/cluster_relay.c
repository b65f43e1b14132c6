/*
 * cluster_relay.c - signaling relayed between nodes over Redis pub/sub (see cluster.h): what
 * our clients send to a room on another node, what that node sends back, and what happens to
 * relayed connections when a node leaves. Entry points on the threads cluster.h names; the
 * publishing itself and the channel's messages on the cluster's loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "cluster/cluster_int.h"
#include "log.h"
#include "net/loop.h"
#include "session/server.h"
#include "signal/msg.h"
#include "signal/ws.h"

/* ---- publishing (any thread posts, the loop sends) ---- */

/*
 * While Redis is away, relayed messages are held in order (at most CLUSTER_HELD_MAX of them,
 * CLUSTER_HELD_BYTES in all) and published once it is back; one held longer than
 * CLUSTER_HELD_AGE_MS is stale (its client has likely given up) and dropped. A message no node
 * received (its node had not subscribed again yet) is held again. Drops are counted
 * (relay_lost, GET /api/cluster) and logged.
 */
#define CLUSTER_HELD_MAX    1024
#define CLUSTER_HELD_BYTES  (1 << 20)
#define CLUSTER_HELD_AGE_MS 10000

struct pub {
	struct cluster *c;
	char channel[CLUSTER_MAX_ID + 16];
	char *payload;
	int64_t t0; /* when it was first held (monotonic us), 0 if never */
};

static void pub_free(struct pub *p)
{
	free(p->payload);
	free(p);
}

static void lose(struct pub *p, const char *why)
{
	atomic_fetch_add(&p->c->relay_lost, 1);
	LOG_W("cluster: a relayed message to %s is lost: %s", p->channel + 10, why);
	pub_free(p);
}

static void hold(struct pub *p)
{
	struct cluster *c = p->c;
	size_t n = strlen(p->payload);
	if (g_queue_get_length(&c->held) >= CLUSTER_HELD_MAX ||
	    c->held_bytes + n > CLUSTER_HELD_BYTES) {
		lose(p, "too many held while Redis is away");
		return;
	}
	if (!p->t0)
		p->t0 = g_get_monotonic_time();
	c->held_bytes += n;
	g_queue_push_tail(&c->held, p);
}

static void on_published(void *arg, redisReply *r)
{
	struct pub *p = arg;
	if (!r || (r->type == REDIS_REPLY_INTEGER && r->integer == 0))
		hold(p); /* Redis went away, or nobody subscribed (yet): its node is coming back */
	else
		pub_free(p);
}

static void send_pub(struct pub *p)
{
	if (redis_cmd(p->c->redis, on_published, p, "PUBLISH %s %s", p->channel, p->payload) < 0)
		hold(p);
}

/* Whether a message to this channel is held (a new one must wait behind it). */
static bool channel_held(struct cluster *c, const char *channel)
{
	for (GList *l = c->held.head; l; l = l->next)
		if (!strcmp(((struct pub *)l->data)->channel, channel))
			return true;
	return false;
}

static void do_publish(void *arg)
{
	struct pub *p = arg;
	if (!redis_is_up(p->c->redis) || channel_held(p->c, p->channel))
		hold(p);
	else
		send_pub(p);
}

void cluster_flush_held(struct cluster *c, bool drop)
{
	int64_t now = g_get_monotonic_time();
	GQueue q = c->held;
	g_queue_init(&c->held);
	c->held_bytes = 0;
	struct pub *p;
	while ((p = g_queue_pop_head(&q))) {
		if (drop)
			pub_free(p);
		else if (now - p->t0 > CLUSTER_HELD_AGE_MS * 1000LL)
			lose(p, "held too long while Redis was away");
		else
			send_pub(p);
	}
}

/* Publishes {"t": t, "from": us, "conn": conn, "text": text} to node's channel (text may be
 * NULL). Any thread. */
/* Publishes o (taken over, "from" added) to node's channel. Any thread. */
static void publish_obj(struct cluster *c, const char *node, json_t *o)
{
	if (o)
		json_object_set_new(o, "from", json_string(c->id));
	struct pub *p = calloc(1, sizeof(*p));
	char *payload = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!p || !payload) {
		free(p);
		free(payload);
		return;
	}
	p->c = c;
	p->payload = payload;
	snprintf(p->channel, sizeof(p->channel), "mcu:relay:%s", node);
	if (loop_post(c->l, do_publish, p) < 0) {
		free(payload);
		free(p);
	}
}

void cluster_publish(struct cluster *c, const char *node, const char *t, uint64_t conn,
                     const char *text)
{
	json_t *o = json_pack("{s:s,s:I}", "t", t, "conn", (json_int_t)conn);
	if (o && text)
		json_object_set_new(o, "text", json_string(text));
	publish_obj(c, node, o);
}

/* ---- /api/ calls about a room on another node ---- */

/* A call waiting for its room's node (the loop). */
struct http_job {
	struct cluster *c;
	uint64_t id;
	char room[SIG_MAX_ROOM + 1];
	json_t *req; /* {method, path, body, auth} */
};

static void http_job_free(struct http_job *j)
{
	json_decref(j->req);
	free(j);
}

/* The call as a request (its strings point into j->req). */
static struct ws_http_request job_request(json_t *o, uint64_t id)
{
	const char *body = cluster_str(o, "body");
	return (struct ws_http_request){.id = id,
	                                .method = cluster_str(o, "method"),
	                                .path = cluster_str(o, "path"),
	                                .body = body[0] ? body : NULL,
	                                .body_len = strlen(body),
	                                .authorization = cluster_str(o, "auth")};
}

/* Handles a call here (it runs nowhere, or here) and completes it unless deferred. */
static void http_here(struct server *s, json_t *o, uint64_t id)
{
	struct ws_http_request req = job_request(o, id);
	struct ws_http_reply reply = {0};
	server_http_here(s, &req, &reply);
	if (reply.status != WS_HTTP_DEFER)
		server_http_done(s, id, &reply);
}

static void on_http_owner(void *arg, redisReply *r)
{
	struct http_job *j = arg;
	struct cluster *c = j->c;
	char node[CLUSTER_MAX_ID + 1];
	if (r && r->type == REDIS_REPLY_STRING &&
	    cluster_claim_node(r->str, node, sizeof(node)) == 0 && strcmp(node, c->id) &&
	    cluster_is_member(c, node)) {
		json_object_set_new(j->req, "t", json_string("http"));
		json_object_set_new(j->req, "conn", json_integer((json_int_t)j->id));
		publish_obj(c, node, json_incref(j->req));
	} else { /* nowhere (a PUT makes it here), or ours */
		http_here(c->s, j->req, j->id);
	}
	http_job_free(j);
}

static void http_start(void *arg)
{
	struct http_job *j = arg;
	if (redis_cmd(j->c->redis, on_http_owner, j, "GET mcu:room:%s", j->room) < 0) {
		struct ws_http_reply reply = {.status = 503, .content_type = "application/json"};
		reply.body = strdup("{\"error\":\"cluster-unavailable\",\"message\":\"the "
		                    "cluster's Redis is unreachable\"}");
		reply.body_len = reply.body ? strlen(reply.body) : 0;
		server_http_done(j->c->s, j->id, &reply);
		http_job_free(j);
	}
}

bool cluster_take_http(struct cluster *c, const struct ws_http_request *req, const char *room)
{
	struct http_job *j = calloc(1, sizeof(*j));
	if (!j)
		return false;
	j->c = c;
	j->id = req->id;
	snprintf(j->room, sizeof(j->room), "%s", room);
	j->req = json_pack("{s:s,s:s,s:s%,s:s}", "method", req->method, "path", req->path, "body",
	                   req->body ? req->body : "", req->body ? req->body_len : 0, "auth",
	                   req->authorization ? req->authorization : "");
	if (!j->req || loop_post(c->l, http_start, j) < 0) {
		http_job_free(j);
		return false;
	}
	return true;
}

void cluster_http_reply(struct cluster *c, uint64_t vreq, struct ws_http_reply *reply)
{
	char node[RELAY_MAX_ID + 1];
	uint64_t far;
	if (c && relay_in_origin(&c->relay, vreq, node, &far) && relay_in_del(&c->relay, vreq)) {
		bool file = reply->file != NULL; /* a download: from its own node only */
		far &= ~RELAY_HTTP_BIT;
		json_t *o = json_pack("{s:s,s:I,s:i,s:s%}", "t", "http-reply", "conn",
		                      (json_int_t)far, "status", file ? 409 : reply->status, "body",
		                      file ? "{\"error\":\"on-another-node\"}"
		                           : (reply->body ? reply->body : ""),
		                      file ? strlen("{\"error\":\"on-another-node\"}")
		                           : (reply->body ? reply->body_len : 0));
		publish_obj(c, node, o);
	}
	free(reply->body);
	free(reply->file);
	reply->body = reply->file = NULL;
}

/* The reply to a call we forwarded: completes it. */
static void http_replied(struct cluster *c, json_t *o, uint64_t id)
{
	const char *body = cluster_str(o, "body");
	int status = (int)json_integer_value(json_object_get(o, "status"));
	struct ws_http_reply reply = {.status = status >= 100 && status <= 599 ? status : 502,
	                              .body = body[0] ? strdup(body) : NULL,
	                              .content_type = "application/json"};
	reply.body_len = reply.body ? strlen(reply.body) : 0;
	server_http_done(c->s, id, &reply);
}

/* Whether a client's message is a leave. */
static bool is_leave(const char *text, size_t len)
{
	json_t *o = json_loadb(text, len, 0, NULL);
	bool leave = !strcmp(cluster_str(o, "type"), "leave");
	json_decref(o);
	return leave;
}

bool cluster_take_message(struct cluster *c, uint64_t conn, const char *text, size_t len)
{
	char node[RELAY_MAX_ID + 1];
	if (relay_is_vconn(conn) || !relay_out_node(&c->relay, conn, node))
		return false;
	char *t = strndup(text, len);
	if (t)
		cluster_publish(c, node, "msg", conn, t);
	free(t);
	if (is_leave(text, len)) { /* the relay ends with the room: a next join is placed anew */
		relay_out_del(&c->relay, conn);
		cluster_publish(c, node, "close", conn, NULL);
	}
	return true;
}

bool cluster_take_close(struct cluster *c, uint64_t conn)
{
	char node[RELAY_MAX_ID + 1];
	if (relay_is_vconn(conn) || !relay_out_node(&c->relay, conn, node))
		return false;
	relay_out_del(&c->relay, conn);
	cluster_publish(c, node, "close", conn, NULL);
	return true;
}

void cluster_send(struct cluster *c, uint64_t vconn, const char *text)
{
	char node[RELAY_MAX_ID + 1];
	uint64_t far;
	if (c && relay_in_origin(&c->relay, vconn, node, &far))
		cluster_publish(c, node, "reply", far, text);
}

void cluster_close(struct cluster *c, uint64_t vconn)
{
	char node[RELAY_MAX_ID + 1];
	uint64_t far;
	if (c && relay_in_origin(&c->relay, vconn, node, &far) && relay_in_del(&c->relay, vconn))
		cluster_publish(c, node, "end", far, NULL);
}

/* A message on our channel (the loop). */
void cluster_on_relay(void *arg, const char *payload, size_t len)
{
	struct cluster *c = arg;
	json_t *o = json_loadb(payload, len, 0, NULL);
	const char *t = cluster_str(o, "t"), *from = cluster_str(o, "from"),
	           *text = cluster_str(o, "text");
	uint64_t conn = (uint64_t)json_integer_value(json_object_get(o, "conn"));
	char node[RELAY_MAX_ID + 1];
	if (!strcmp(t, "msg")) { /* a client of `from`, for one of our rooms */
		uint64_t v = relay_in_vconn(&c->relay, from, conn, true);
		if (v)
			server_on_message(c->s, v, text, strlen(text));
	} else if (!strcmp(t, "close")) {
		uint64_t v = relay_in_vconn(&c->relay, from, conn, false);
		if (v && relay_in_del(&c->relay, v))
			server_on_close(c->s, v);
	} else if (!strcmp(t, "reply")) { /* to a client of ours */
		if (relay_out_node(&c->relay, conn, node))
			server_send(c->s, conn, strdup(text));
	} else if (!strcmp(t, "end")) {
		if (relay_out_del(&c->relay, conn))
			server_close(c->s, conn);
	} else if (!strcmp(t, "http")) { /* an /api/ call about one of our rooms */
		uint64_t v = relay_in_vconn(&c->relay, from, conn | RELAY_HTTP_BIT, true);
		if (v)
			http_here(c->s, o, v);
	} else if (!strcmp(t, "http-reply")) {
		http_replied(c, o, conn);
	}
	json_decref(o);
}

/* A node left the membership: our clients relayed to it are told and disconnected; its
 * clients' virtual connections here close. */
static void node_gone(struct cluster *c, const char *node)
{
	uint64_t conns[256];
	int n, lost = 0;
	while ((n = relay_out_take_node(&c->relay, node, conns, 256)) > 0)
		for (int i = 0; i < n; i++, lost++) {
			server_send_error(c->s, conns[i], "node-lost",
			                  "the node running your room is gone: join again");
			server_close(c->s, conns[i]);
		}
	while ((n = relay_in_take_node(&c->relay, node, conns, 256)) > 0)
		for (int i = 0; i < n; i++, lost++)
			server_on_close(c->s, conns[i]);
	LOG_W("cluster: node %s left: %d relayed connection%s closed", node, lost,
	      lost == 1 ? "" : "s");
}

void cluster_check_relayed(struct cluster *c)
{
	char nodes[32][RELAY_MAX_ID + 1];
	if (g_get_monotonic_time() - c->up_since < CLUSTER_TTL_MS * 1000LL)
		return; /* Redis just came back: not every node has written its record again */
	int n = relay_nodes(&c->relay, nodes, 32);
	for (int i = 0; i < n; i++)
		if (!cluster_is_member(c, nodes[i]))
			node_gone(c, nodes[i]);
}
