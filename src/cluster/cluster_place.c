/*
 * cluster_place.c - where rooms run in a cluster (see cluster.h): a join for a room not running
 * here is placed from its claim (mcu:room:<name>) or on the least loaded live node by an
 * atomic compare-and-set, then joined here or relayed; each beat our rooms' claims are renewed,
 * and a room whose claim another node took is ended here (fencing). Cluster's loop, but
 * cluster_take_join (signaling thread).
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
#include "session/room.h"
#include "session/room_settings.h"
#include "session/server.h"
#include "session/shard.h"
#include "signal/msg.h"

#define CLUSTER_FULL_LOAD 0.9 /* a node whose busiest loop uses this much takes no new rooms */

/* The node for a new room: the fewest participants, then rooms, among those under
 * CLUSTER_FULL_LOAD (all of them if none is); ours on a tie. */
static const char *least_loaded(const struct cluster *c)
{
	const char *best = c->id;
	double best_key = 1e300;
	for (int pass = 0; pass < 2 && best_key == 1e300; pass++) {
		size_t i;
		json_t *n;
		json_array_foreach(c->nodes, i, n)
		{
			if (!pass &&
			    json_number_value(json_object_get(n, "load")) >= CLUSTER_FULL_LOAD)
				continue;
			double key = json_number_value(json_object_get(n, "participants")) * 1e6 +
			             json_number_value(json_object_get(n, "rooms"));
			bool self = !strcmp(cluster_str(n, "id"), c->id);
			if (key < best_key || (key == best_key && self)) {
				best_key = key;
				best = cluster_str(n, "id");
			}
		}
	}
	return best;
}

/* ---- placing a room ---- */

struct join {
	struct cluster *c;
	uint64_t conn;
	char room[SIG_MAX_ROOM + 1];
	char *text;
	size_t len;
	char owner[CLUSTER_MAX_ID + 1]; /* the claim's node, while checking it is alive */
	char *claimv;                   /* the claim's value, as the compare-and-set expects */
};

static void join_free(struct join *j)
{
	free(j->text);
	free(j->claimv);
	free(j);
}

static void refuse(struct join *j)
{
	server_send_error(j->c->s, j->conn, "cluster-unavailable",
	                  "the cluster's Redis is unreachable: no new rooms until it is back");
	join_free(j);
}

static void put_carried(struct shard *sh, void *data)
{
	shard_room_put(sh, data);
}

/* Makes the room here with the settings a PUT gave it on another node (json, from Redis), as
 * that PUT did; false if they do not parse here or the room cannot be registered. */
static bool make_carried(struct join *j, const char *json, size_t len)
{
	struct server *s = j->c->s;
	struct room_settings set;
	struct slot *sl;
	char err[200];
	room_settings_default(&set, s->cfg);
	if (room_settings_parse(&set, s->cfg, json, len, err, sizeof(err)) < 0 ||
	    server_room_put(s, j->room, &set, &sl) < 0)
		return false;
	if (server_invoke(s, sl->sh, put_carried, sl) < 0) {
		if (server_slot_unhold(s, sl))
			server_slot_free(sl);
		return false;
	}
	return true;
}

static void on_settings(void *arg, redisReply *r)
{
	struct join *j = arg;
	if (r && r->type == REDIS_REPLY_STRING) {
		bool ok = make_carried(j, r->str, r->len);
		LOG_I("cluster: room %s %s the settings it was made with", j->room,
		      ok ? "made here with" : "made here without");
	}
	server_join_here(j->c->s, j->conn, j->text, j->len);
	join_free(j);
}

/* Joins here; a room new here first takes the settings a PUT gave it on another node. */
static void join_here(struct join *j)
{
	if (server_room_shard(j->c->s, j->room) ||
	    redis_cmd(j->c->redis, on_settings, j, "GET mcu:settings:%s", j->room) < 0) {
		server_join_here(j->c->s, j->conn, j->text, j->len);
		join_free(j);
	}
}

static void join_relayed(struct join *j, const char *node)
{
	if (relay_out_add(&j->c->relay, j->conn, node) < 0) {
		server_send_error(j->c->s, j->conn, "server-busy", "too many relayed connections");
		join_free(j);
		return;
	}
	LOG_I("cluster: a join for room %s relayed to node %s", j->room, node);
	cluster_publish(j->c, node, "msg", j->conn, j->text);
	join_free(j);
}

/* Goes to the room's node (the claim's node): here or relayed. */
static void go_to(struct join *j, const char *owner)
{
	if (!strcmp(owner, j->c->id))
		join_here(j);
	else
		join_relayed(j, owner);
}

/*
 * Sets KEYS[1] to "ARGV[2]/<epoch>" for ARGV[3] ms if it is ARGV[1] ("" = unset), the epoch a
 * new number from the cluster-wide counter mcu:epoch; the value after. The epoch tells one
 * placement of a room from the next, even on the same node.
 */
static const char *const CAS_SCRIPT = "local v = redis.call('GET', KEYS[1]) "
                                      "if (v == false and ARGV[1] == '') or v == ARGV[1] then "
                                      "v = ARGV[2] .. '/' .. redis.call('INCR', 'mcu:epoch') "
                                      "redis.call('SET', KEYS[1], v, 'PX', ARGV[3]) end return v";

static void on_claimed(void *arg, redisReply *r)
{
	struct join *j = arg;
	char node[CLUSTER_MAX_ID + 1];
	if (r && r->type == REDIS_REPLY_STRING &&
	    cluster_claim_node(r->str, node, sizeof(node)) == 0)
		go_to(j, node);
	else
		refuse(j);
}

/* Claims the room for the least loaded node if its claim is still `expected`. */
static void claim(struct join *j, const char *expected)
{
	struct cluster *c = j->c;
	const char *target = least_loaded(c);
	LOG_I("cluster: room %s placed on node %s", j->room, target);
	/* %b: an empty `expected` (no claim) is still an argument */
	if (redis_cmd(c->redis, on_claimed, j, "EVAL %s 1 mcu:room:%s %b %s %d", CAS_SCRIPT,
	              j->room, expected, strlen(expected), target, CLUSTER_CLAIM_MS) < 0)
		refuse(j);
}

/*
 * Whether the claim's node is alive: its record was written within the last beat and a half
 * (a live node rewrites it every CLUSTER_BEAT_MS with CLUSTER_TTL_MS to live), so a killed
 * node's rooms move on after about 1.5 s rather than when its record expires.
 */
#define CLUSTER_ALIVE_PTTL_MS (CLUSTER_TTL_MS - CLUSTER_BEAT_MS * 3 / 2)

static void on_owner_ttl(void *arg, redisReply *r)
{
	struct join *j = arg;
	if (!r || r->type != REDIS_REPLY_INTEGER)
		refuse(j);
	else if (r->integer > CLUSTER_ALIVE_PTTL_MS)
		go_to(j, j->owner);
	else /* its node is gone (or going): take the room over */
		claim(j, j->claimv);
}

static void on_owner(void *arg, redisReply *r)
{
	struct join *j = arg;
	bool claimed = r && r->type == REDIS_REPLY_STRING &&
	               cluster_claim_node(r->str, j->owner, sizeof(j->owner)) == 0;
	if (claimed && !strcmp(j->owner, j->c->id)) {
		go_to(j, j->owner);
	} else if (claimed) {
		j->claimv = strdup(r->str);
		if (!j->claimv ||
		    redis_cmd(j->c->redis, on_owner_ttl, j, "PTTL mcu:node:%s", j->owner) < 0)
			refuse(j);
	} else if (r && r->type == REDIS_REPLY_NIL) {
		claim(j, "");
	} else {
		refuse(j);
	}
}

static void join_start(void *arg)
{
	struct join *j = arg;
	if (server_room_shard(j->c->s, j->room)) /* it started here meanwhile */
		join_here(j);
	else if (!redis_is_up(j->c->redis) ||
	         redis_cmd(j->c->redis, on_owner, j, "GET mcu:room:%s", j->room) < 0)
		refuse(j);
}

bool cluster_take_join(struct cluster *c, uint64_t conn, const char *room, const char *text,
                       size_t len)
{
	struct join *j = calloc(1, sizeof(*j));
	char *t = strndup(text, len);
	if (!j || !t) {
		free(j);
		free(t);
		return false;
	}
	*j = (struct join){.c = c, .conn = conn, .text = t, .len = len};
	snprintf(j->room, sizeof(j->room), "%s", room);
	if (loop_post(c->l, join_start, j) < 0) {
		join_free(j);
		return false;
	}
	return true;
}

/* ---- our rooms' claims ---- */

/*
 * Renews our claim KEYS[1] for ARGV[3] ms and returns its value: the one we know (ARGV[2]),
 * or, for a room that just started here (ARGV[2] = ""), any claim of ours (ARGV[1], its node).
 * Unset (Redis came back empty), it is claimed again with a new epoch. Held by another node,
 * or by another placement of the room (another epoch): "" (we fence).
 */
static const char *const RENEW_SCRIPT =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == false then v = ARGV[1] .. '/' .. redis.call('INCR', 'mcu:epoch') "
    "redis.call('SET', KEYS[1], v, 'PX', ARGV[3]) return v end "
    "if v == ARGV[2] or (ARGV[2] == '' and string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. '/') "
    "then redis.call('PEXPIRE', KEYS[1], ARGV[3]) return v end return ''";

struct renewal {
	struct cluster *c;
	char room[SIG_MAX_ROOM + 1];
};

static void fence_room(struct shard *sh, void *data)
{
	struct room *r = shard_find_room(sh, data);
	if (r)
		shard_room_end(sh, r, "the room moved to another node: join again");
	free(data);
}

/* Our room's claim is not ours any more: the room ends here (its clients reconnect there). */
static void fence(struct cluster *c, const char *room, const char *why)
{
	LOG_W("cluster: room %s: %s: ending it here", room, why);
	json_object_del(c->claims, room);
	struct shard *sh = server_room_shard(c->s, room);
	char *name = strdup(room);
	if (!sh || !name || server_invoke(c->s, sh, fence_room, name) < 0)
		free(name);
}

static void on_renewed(void *arg, redisReply *r)
{
	struct renewal *w = arg;
	if (r && r->type == REDIS_REPLY_STRING && r->len == 0)
		fence(w->c, w->room, "its claim is another node's, or another placement's");
	else if (r && r->type == REDIS_REPLY_STRING)
		json_object_set_new(w->c->claims, w->room, json_string(r->str));
	free(w);
}

/* The names of the rooms running here (n of them; free() the array). */
static char (*our_rooms(struct cluster *c, int *n))[SIG_MAX_ROOM + 1]
{
	int max = c->cfg->max_rooms > 0 ? c->cfg->max_rooms : 64;
	char(*names)[SIG_MAX_ROOM + 1] = calloc((size_t)max, sizeof(*names));
	*n = names ? server_room_names(c->s, names, max) : 0;
	return names;
}

/* Forgets the claims of rooms that ended here, and their carried settings (a fenced room
 * was forgotten when it was fenced: its settings stay for its new node). */
static void prune_claims(struct cluster *c, char (*names)[SIG_MAX_ROOM + 1], int n)
{
	json_t *kept = json_object();
	for (int i = 0; kept && i < n; i++) {
		json_t *v = json_object_get(c->claims, names[i]);
		if (v)
			json_object_set(kept, names[i], v);
	}
	const char *room;
	json_t *v;
	json_object_foreach(c->claims, room, v)
	{
		if (kept && !json_object_get(kept, room))
			redis_cmd(c->redis, cluster_ignore_reply, NULL, "DEL mcu:settings:%s",
			          room);
	}
	if (kept) {
		json_decref(c->claims);
		c->claims = kept;
	}
}

void cluster_renew_claims(struct cluster *c)
{
	int n;
	char(*names)[SIG_MAX_ROOM + 1] = our_rooms(c, &n);
	prune_claims(c, names, n);
	for (int i = 0; i < n; i++) {
		struct renewal *w = calloc(1, sizeof(*w));
		if (!w)
			break;
		w->c = c;
		memcpy(w->room, names[i], sizeof(w->room));
		const char *known = json_string_value(json_object_get(c->claims, names[i]));
		if (!known)
			known = "";
		if (redis_cmd(c->redis, on_renewed, w, "EVAL %s 1 mcu:room:%s %s %b %d",
		              RENEW_SCRIPT, names[i], c->id, known, strlen(known),
		              CLUSTER_CLAIM_MS) < 0)
			free(w);
		redis_cmd(c->redis, cluster_ignore_reply, NULL, "PEXPIRE mcu:settings:%s %d",
		          names[i], CLUSTER_SETTINGS_MS);
	}
	free(names);
}

/* ---- settings a PUT gave a room ---- */

struct settings_put {
	struct cluster *c;
	char room[SIG_MAX_ROOM + 1];
	char *json;
	size_t len;
};

static void store_settings(void *arg)
{
	struct settings_put *p = arg;
	if (redis_cmd(p->c->redis, cluster_ignore_reply, NULL, "SET mcu:settings:%s %b PX %d",
	              p->room, p->json, p->len, CLUSTER_SETTINGS_MS) < 0)
		LOG_W("cluster: Redis down: room %s's settings stay on this node only", p->room);
	free(p->json);
	free(p);
}

void cluster_room_settings(struct cluster *c, const char *room, const char *body, size_t len)
{
	struct settings_put *p = calloc(1, sizeof(*p));
	char *json = malloc(len + 1);
	if (!p || !json) {
		free(p);
		free(json);
		return;
	}
	memcpy(json, body, len);
	json[len] = '\0';
	*p = (struct settings_put){.c = c, .json = json, .len = len};
	snprintf(p->room, sizeof(p->room), "%s", room);
	if (loop_post(c->l, store_settings, p) < 0) {
		free(json);
		free(p);
	}
}

void cluster_fence_all(struct cluster *c, const char *why)
{
	int n;
	char(*names)[SIG_MAX_ROOM + 1] = our_rooms(c, &n);
	for (int i = 0; i < n; i++)
		fence(c, names[i], why);
	free(names);
}
