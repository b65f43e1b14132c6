/*
 * cluster.c - this node in the cluster (see cluster.h): life cycle, the Redis connections and
 * the membership (rooms: cluster_place.c; relayed signaling: cluster_relay.c).
 *
 * Each beat, pipelined on the one connection: SET mcu:node:<id> <record> PX CLUSTER_TTL_MS,
 * SADD mcu:nodes <id>, SMEMBERS mcu:nodes; when the members come back, MGET of their records
 * (one read at a time); a member without a record is gone (SREM). The records read become the
 * snapshot, swapped in under snap_lock. Loop thread, but cluster_json (any thread).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "cluster/cluster_int.h"
#include "config.h"
#include "log.h"
#include "net/loop.h"
#include "session/server.h"
#include "session/shard.h"

/* ---- our record ---- */

/* Video encoders in the rooms' list: one per distinct output rung of each room (recipients on
 * one rung share its encoder). */
static int count_encoders(json_t *rooms)
{
	int n = 0;
	size_t i, k;
	json_t *room, *p;
	json_array_foreach(rooms, i, room)
	{
		json_t *seen = json_object();
		json_array_foreach(json_object_get(room, "participants"), k, p)
		{
			const char *out = cluster_str(p, "output");
			if (seen && out[0] && strcmp(out, "audio") && !json_object_get(seen, out)) {
				json_object_set_new(seen, out, json_true());
				n++;
			}
		}
		json_decref(seen);
	}
	return n;
}

static json_t *our_record(struct cluster *c)
{
	int rooms = 0, parts = 0, max = 0;
	server_counts(c->s, &rooms, &parts);
	json_t *loops = json_array();
	for (int i = 0; i < c->s->nshards; i++) {
		int pm = loop_load_permille(c->s->shards[i]->loop);
		max = pm > max ? pm : max;
		json_array_append_new(loops, json_real(pm / 1000.0));
	}
	char *text = server_rooms_json(c->s);
	json_t *list = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	text = server_recordings_json(c->s, CLUSTER_MAX_RECORDINGS);
	json_t *recs = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return json_pack("{s:s,s:s,s:i,s:i,s:i,s:f,s:o,s:o,s:o}", "id", c->id, "url", c->url,
	                 "rooms", rooms, "participants", parts, "encoders", count_encoders(list),
	                 "load", max / 1000.0, "loops", loops, "room_list",
	                 list ? list : json_array(), "recordings", recs ? recs : json_array());
}

/* ---- reading the membership ---- */

static void set_snapshot(struct cluster *c, json_t *nodes, json_t *rooms, json_t *recs)
{
	pthread_mutex_lock(&c->snap_lock);
	json_decref(c->nodes);
	json_decref(c->rooms);
	json_decref(c->recs);
	c->nodes = nodes;
	c->rooms = rooms;
	c->recs = recs;
	c->up = redis_is_up(c->redis);
	pthread_mutex_unlock(&c->snap_lock);
}

static void clear_snapshot(struct cluster *c)
{
	set_snapshot(c, json_array(), json_array(), json_array());
}

void cluster_ignore_reply(void *arg, redisReply *r)
{
	(void)arg;
	(void)r;
}

/* Moves a record's room_list out of it: into rooms (each with its node), or away (ours). */
static void take_rooms(json_t *rec, const char *id, json_t *rooms)
{
	json_t *list = json_object_get(rec, "room_list"), *room;
	size_t i;
	json_array_foreach(list, i, room)
	{
		if (rooms && json_is_object(room)) {
			json_object_set_new(room, "node", json_string(id));
			json_array_append(rooms, room);
		}
	}
	json_object_del(rec, "room_list");
}

/* Moves a record's recordings out of it: into recs (each with its node, its url made that
 * node's), or away (ours). */
static void take_recordings(json_t *rec, const char *id, json_t *recs)
{
	json_t *list = json_object_get(rec, "recordings"), *f;
	const char *base = cluster_str(rec, "url");
	size_t i;
	json_array_foreach(list, i, f)
	{
		const char *path = cluster_str(f, "url");
		if (!recs || !json_is_object(f) || path[0] != '/')
			continue;
		char url[512];
		snprintf(url, sizeof(url), "%s%s", base, path);
		json_object_set_new(f, "node", json_string(id));
		json_object_set_new(f, "url", json_string(url));
		json_array_append(recs, f);
	}
	json_object_del(rec, "recordings");
}

static void on_records(void *arg, redisReply *r)
{
	struct cluster *c = arg;
	c->reading = false;
	if (!r || r->type != REDIS_REPLY_ARRAY || (int)r->elements != c->nids)
		return;
	json_t *nodes = json_array(), *rooms = json_array(), *recs = json_array();
	for (int i = 0; i < c->nids; i++) {
		redisReply *e = r->element[i];
		json_t *rec =
		    e->type == REDIS_REPLY_STRING ? json_loadb(e->str, e->len, 0, NULL) : NULL;
		if (!rec) { /* expired: the node is gone */
			if (e->type == REDIS_REPLY_NIL)
				redis_cmd(c->redis, cluster_ignore_reply, NULL, "SREM mcu:nodes %s",
				          c->ids[i]);
			continue;
		}
		bool self = !strcmp(c->ids[i], c->id);
		json_object_set_new(rec, "self", json_boolean(self));
		take_rooms(rec, c->ids[i], self ? NULL : rooms);
		take_recordings(rec, c->ids[i], self ? NULL : recs);
		json_array_append_new(nodes, rec);
	}
	set_snapshot(c, nodes, rooms, recs);
	cluster_check_relayed(c);
}

static void on_members(void *arg, redisReply *r)
{
	struct cluster *c = arg;
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
		c->reading = false;
		return;
	}
	const char *argv[CLUSTER_MAX_NODES + 1];
	size_t len[CLUSTER_MAX_NODES + 1];
	char keys[CLUSTER_MAX_NODES][CLUSTER_MAX_ID + 16];
	argv[0] = "MGET";
	len[0] = 4;
	c->nids = 0;
	for (size_t i = 0; i < r->elements && c->nids < CLUSTER_MAX_NODES; i++) {
		redisReply *e = r->element[i];
		if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len > CLUSTER_MAX_ID)
			continue;
		int k = c->nids++;
		memcpy(c->ids[k], e->str, e->len);
		c->ids[k][e->len] = '\0';
		snprintf(keys[k], sizeof(keys[k]), "mcu:node:%s", c->ids[k]);
		argv[k + 1] = keys[k];
		len[k + 1] = strlen(keys[k]);
	}
	if (c->nids == 0 || redis_cmd_argv(c->redis, on_records, c, c->nids + 1, argv, len) < 0)
		c->reading = false;
}

/* ---- the membership as the loop sees it (only the loop writes c->nodes) ---- */

const char *cluster_str(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

bool cluster_is_member(const struct cluster *c, const char *id)
{
	size_t i;
	json_t *n;
	json_array_foreach(c->nodes, i, n)
	{
		if (!strcmp(cluster_str(n, "id"), id))
			return true;
	}
	return false;
}

int cluster_claim_node(const char *value, char *node, size_t n)
{
	const char *slash = strrchr(value, '/');
	size_t len = slash ? (size_t)(slash - value) : strlen(value);
	if (len >= n)
		return -1;
	memcpy(node, value, len);
	node[len] = '\0';
	return 0;
}

/* ---- the beat ---- */

/*
 * Whether the beat comes so late that our claims may have expired meanwhile (the process was
 * stopped or starved for seconds): another node may have taken our rooms.
 */
static bool stalled(struct cluster *c)
{
	int64_t now = g_get_monotonic_time();
	bool late =
	    c->last_beat && now - c->last_beat > (CLUSTER_CLAIM_MS - CLUSTER_BEAT_MS) * 1000LL;
	c->last_beat = now;
	return late;
}

static void beat(struct cluster *c)
{
	if (stalled(c))
		cluster_fence_all(c, "this node stalled past its rooms' claims");
	if (!redis_is_up(c->redis)) {
		clear_snapshot(c);
		return;
	}
	json_t *rec = our_record(c);
	char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	json_decref(rec);
	if (!text)
		return;
	redis_cmd(c->redis, cluster_ignore_reply, NULL, "SET mcu:node:%s %s PX %d", c->id, text,
	          CLUSTER_TTL_MS);
	free(text);
	redis_cmd(c->redis, cluster_ignore_reply, NULL, "SADD mcu:nodes %s", c->id);
	cluster_renew_claims(c);
	cluster_flush_held(c, false);
	if (!c->reading && redis_cmd(c->redis, on_members, c, "SMEMBERS mcu:nodes") == 0)
		c->reading = true;
}

static gboolean on_timer(gpointer data)
{
	beat(data);
	return G_SOURCE_CONTINUE;
}

static void on_up(void *opaque)
{
	struct cluster *c = opaque;
	c->reading = false;
	c->up_since = g_get_monotonic_time();
	LOG_I("cluster: node %s registered through Redis (%s)", c->id, c->cfg->cluster);
	beat(c); /* at once: the other nodes see us again */
}

static void on_down(void *opaque, const char *why)
{
	struct cluster *c = opaque;
	c->reading = false;
	LOG_W("cluster: Redis unreachable (%s): serving the rooms we have, membership unknown",
	      why);
	clear_snapshot(c);
}

/* ---- life cycle (main thread) ---- */

/* The subscriber connection is up: (again) on our channel. */
static void on_sub_up(void *opaque)
{
	struct cluster *c = opaque;
	if (redis_subscribe(c->sub, c->channel, cluster_on_relay, c) < 0)
		LOG_W("cluster: could not subscribe to %s", c->channel);
}

static void start_on_loop(void *arg)
{
	struct cluster *c = arg;
	struct redis_callbacks cb = {.opaque = c, .on_up = on_up, .on_down = on_down};
	struct redis_callbacks sub = {.opaque = c, .on_up = on_sub_up};
	if (redis_new(&c->redis, c->l, c->cfg->cluster, &cb) < 0 ||
	    redis_new(&c->sub, c->l, c->cfg->cluster, &sub) < 0)
		return;
	c->timer = loop_timer_add(c->l, CLUSTER_BEAT_MS, G_PRIORITY_DEFAULT, on_timer, c);
}

static void stop_on_loop(void *arg)
{
	struct cluster *c = arg;
	loop_source_remove(c->l, &c->timer);
	redis_free(&c->sub);
	redis_free(&c->redis);
	cluster_flush_held(c, true); /* after redis_free: its pending replies may hold some */
}

static void our_url(struct cluster *c)
{
	const struct mcu_config *cfg = c->cfg;
	const char *host = cfg->public_ip[0] ? cfg->public_ip : cfg->bind;
	snprintf(c->url, sizeof(c->url), "%s://%s:%d", cfg->tls_cert[0] ? "https" : "http", host,
	         cfg->port);
}

static void our_id(struct cluster *c)
{
	char host[CLUSTER_MAX_ID - 6] = "mcu";
	if (c->cfg->node_id[0]) {
		snprintf(c->id, sizeof(c->id), "%s", c->cfg->node_id);
		return;
	}
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "mcu");
	host[sizeof(host) - 1] = '\0';
	snprintf(c->id, sizeof(c->id), "%s:%d", host, c->cfg->port);
}

int cluster_new(struct cluster **out, struct server *s)
{
	char host[256], err[160];
	int port;
	if (redis_parse_url(s->cfg->cluster, host, sizeof(host), &port, err, sizeof(err)) < 0) {
		LOG_E("cluster: %s", err);
		return -EINVAL;
	}
	struct cluster *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->s = s;
	c->cfg = s->cfg;
	c->nodes = json_array();
	c->rooms = json_array();
	c->recs = json_array();
	c->claims = json_object();
	pthread_mutex_init(&c->snap_lock, NULL);
	our_url(c);
	our_id(c);
	relay_init(&c->relay);
	snprintf(c->channel, sizeof(c->channel), "mcu:relay:%s", c->id);
	int rc = loop_new(&c->l, s->nshards);
	rc = rc ?: loop_start(c->l);
	rc = rc ?: loop_post(c->l, start_on_loop, c);
	if (rc < 0) {
		cluster_free(&c);
		return rc;
	}
	*out = c;
	return 0;
}

void cluster_free(struct cluster **cp)
{
	struct cluster *c = *cp;
	if (!c)
		return;
	if (c->l) {
		loop_quit(c->l, stop_on_loop, c);
		loop_free(&c->l);
	}
	json_decref(c->nodes);
	json_decref(c->rooms);
	json_decref(c->recs);
	json_decref(c->claims);
	relay_fini(&c->relay);
	pthread_mutex_destroy(&c->snap_lock);
	free(c);
	*cp = NULL;
}

const char *cluster_id(const struct cluster *c)
{
	return c->id;
}

json_t *cluster_rooms(struct cluster *c)
{
	pthread_mutex_lock(&c->snap_lock);
	json_t *a = json_deep_copy(c->rooms);
	pthread_mutex_unlock(&c->snap_lock);
	return a ? a : json_array();
}

json_t *cluster_recordings(struct cluster *c)
{
	pthread_mutex_lock(&c->snap_lock);
	json_t *a = json_deep_copy(c->recs);
	pthread_mutex_unlock(&c->snap_lock);
	return a ? a : json_array();
}

json_t *cluster_urls(struct cluster *c)
{
	json_t *a = json_array(), *n;
	size_t i;
	json_array_append_new(a, json_string(c->url));
	pthread_mutex_lock(&c->snap_lock);
	json_array_foreach(c->nodes, i, n)
	{
		if (strcmp(cluster_str(n, "url"), c->url))
			json_array_append_new(a, json_string(cluster_str(n, "url")));
	}
	pthread_mutex_unlock(&c->snap_lock);
	return a;
}

json_t *cluster_json(struct cluster *c)
{
	pthread_mutex_lock(&c->snap_lock);
	json_t *nodes = json_deep_copy(c->nodes);
	bool up = c->up;
	pthread_mutex_unlock(&c->snap_lock);
	return json_pack("{s:s,s:s,s:o,s:I}", "node", c->id, "redis", up ? "up" : "down", "nodes",
	                 nodes ? nodes : json_array(), "relay_lost",
	                 (json_int_t)atomic_load(&c->relay_lost));
}
