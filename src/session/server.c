/*
 * server.c - the registry of rooms and connections, room placement on the loops, and the
 * hand-off of signaling messages from the signaling thread to the loops (see server.h).
 *
 * server_on_message / server_on_close run on the signaling thread: they parse and validate
 * (pure), check the token, find (or, for a join, place) the room's slot under reg_lock, and
 * post a command to the slot's loop, where session/shard.c runs it. A new room goes to the
 * loop with the least CPU load over the last second (in steps of 5 % of a core, so a burst of
 * new rooms, which no load figure has seen yet, is spread by room count). A join holds a
 * reference on its slot from the moment it is accepted, so the room cannot be freed while the
 * join is in flight. In-flight commands are capped; closes bypass the cap.
 * Webhook events (server_event) go to the server's webhook from whichever thread sees them
 * (the loops, for rooms, participants and recordings); it is created at init when webhook_url
 * is set and freed after the loops have stopped, so their last events (rooms ending at
 * shutdown, recordings finished) still go out, for at most its drain time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "auth/token.h"
#include "cluster/cluster.h"
#include "cluster/relay.h"
#include "log.h"
#include "mix/pool.h"
#include "mcu/ptrarray.h"
#include "net/loop.h"
#include "net/webhook.h"
#include "session/recorder.h"
#include "session/server.h"
#include "session/shard.h"
#include "signal/msg.h"
#include "signal/ws.h"

#define LOAD_STEP 50 /* permille: loads this close count as equal when placing a room */

enum cmd_kind { CMD_JOIN, CMD_MESSAGE, CMD_LEAVE, CMD_INVOKE };

struct cmd {
	struct server *srv;
	struct shard *sh;
	enum cmd_kind kind;
	struct slot *slot;
	uint64_t conn;
	uint32_t peer_id;
	struct sig_msg msg;
	void (*fn)(struct shard *sh, void *data); /* CMD_INVOKE */
	void *data;
};

/* ---- outbound signaling (any thread) ---- */

void server_send(struct server *s, uint64_t conn, char *text)
{
	if (text && relay_is_vconn(conn)) /* a client of another node (cluster/relay.h) */
		cluster_send(s->cluster, conn, text);
	else if (text && s->ws)
		ws_send(s->ws, conn, text);
	free(text);
}

void server_http_done(struct server *s, uint64_t id, struct ws_http_reply *reply)
{
	if (relay_is_vconn(id)) /* a call forwarded by another node (cluster/relay.h) */
		cluster_http_reply(s->cluster, id, reply);
	else
		s->http_done(s->http_done_ctx, id, reply);
}

void server_close(struct server *s, uint64_t conn)
{
	if (relay_is_vconn(conn))
		cluster_close(s->cluster, conn);
	else if (s->ws)
		ws_close(s->ws, conn, 1000);
}

/* clang-format off */
const char *const server_error_codes[SERVER_ERROR_CODES] = {
    "bad-json", "unknown-type", "missing-field", "bad-field", "not-joined", "already-joined",
    "room-full", "server-full", "server-busy", "bad-sdp", "video-codec-unsupported",
    "offer-failed", "too-many-candidates", "ice-failed", "dtls-failed", "not-allowed",
    "no-such-participant", "already-recording", "not-recording", "record-failed",
    "unsupported-format", "rate-limited", "unauthorized", "cluster-unavailable", "node-lost",
    "too-many-views", "other",
};
/* clang-format on */

void server_count_error(struct server *s, const char *code)
{
	int i = 0;
	while (i < SERVER_ERROR_CODES - 1 && strcmp(server_error_codes[i], code ? code : ""))
		i++;
	atomic_fetch_add(&s->ctr.errors_sent, 1);
	atomic_fetch_add(&s->ctr.errors_by_code[i], 1);
}

void server_send_error(struct server *s, uint64_t conn, const char *code, const char *msg)
{
	LOG_D("conn %llu: error %s: %s", (unsigned long long)conn, code, msg);
	server_count_error(s, code);
	server_send(s, conn, sig_error(code, msg));
}

/* ---- webhook events (any thread) ---- */

void server_event(struct server *s, const char *event, const char *room, json_t *fields)
{
	if (!s->webhook) {
		json_decref(fields);
		return;
	}
	json_t *o = json_pack("{s:s}", "room", room ? room : "");
	if (o && fields)
		json_object_update_missing(o, fields);
	json_decref(fields);
	if (o)
		webhook_post(s->webhook, event, o); /* a full queue drops it and counts */
}

/* Main thread, at init: the webhook if webhook_url is set. 0 or -errno (logged). */
static int webhook_start(struct server *s)
{
	const struct mcu_config *c = s->cfg;
	if (!c->webhook_url[0])
		return 0;
	const char *key = c->webhook_secret[0] ? c->webhook_secret : c->secret;
	int rc = webhook_new(&s->webhook, c->webhook_url, key, NULL);
	if (rc < 0)
		LOG_E("webhook_url %s: %s", c->webhook_url,
		      rc == -EINVAL ? "not an http:// or https:// URL" : strerror(-rc));
	else if (!key[0])
		LOG_W("webhooks are on but not signed: set webhook_secret (or secret)");
	else
		LOG_I("webhooks are on, signed with %s",
		      c->webhook_secret[0] ? "webhook_secret" : "the secret");
	return rc;
}

/* ---- the registry (reg_lock held by the caller where marked) ---- */

/* Locked. */
static struct slot *find_slot(struct server *s, const char *name)
{
	for (int i = 0; i < s->nslots; i++)
		if (!strcmp(s->slots[i]->name, name))
			return s->slots[i];
	return NULL;
}

/* Locked. */
static struct binding *find_binding(struct server *s, uint64_t conn)
{
	for (int i = 0; i < s->nbinds; i++)
		if (s->binds[i].conn == conn)
			return &s->binds[i];
	return NULL;
}

/* Locked: the loop for a new room (see the comment at the top). */
static struct shard *least_loaded(struct server *s)
{
	struct shard *best = s->shards[0];
	int best_load = 0, best_rooms = 0;
	for (int i = 0; i < s->nshards; i++) {
		struct shard *sh = s->shards[i];
		int load = loop_load_permille(sh->loop) / LOAD_STEP;
		int rooms = 0;
		for (int j = 0; j < s->nslots; j++)
			rooms += s->slots[j]->sh == sh;
		if (i == 0 || load < best_load || (load == best_load && rooms < best_rooms)) {
			best = sh;
			best_load = load;
			best_rooms = rooms;
		}
	}
	return best;
}

/* Locked: the room's slot, created and placed if new. NULL with *code set if refused. */
static struct slot *slot_for_join(struct server *s, const char *name, const char **code)
{
	struct slot *sl = find_slot(s, name);
	if (sl) {
		int max = sl->set ? sl->set->max_participants : s->cfg->max_participants;
		if (sl->refs - sl->held >= max)
			*code = "room-full";
		return *code ? NULL : sl;
	}
	if (s->nslots >= s->cfg->max_rooms) {
		*code = "server-full";
		return NULL;
	}
	if (ptrarray_reserve((void ***)&s->slots, s->nslots, &s->cap_slots) < 0 ||
	    !(sl = calloc(1, sizeof(*sl)))) {
		*code = "server-busy";
		return NULL;
	}
	snprintf(sl->name, sizeof(sl->name), "%s", name);
	sl->sh = least_loaded(s);
	s->slots[s->nslots++] = sl;
	return sl;
}

/* Locked. */
static int bind_conn(struct server *s, uint64_t conn, uint32_t id, struct slot *sl)
{
	if (s->nbinds == s->cap_binds) {
		int cap = s->cap_binds ? s->cap_binds * 2 : 64;
		struct binding *b = realloc(s->binds, sizeof(*b) * (size_t)cap);
		if (!b)
			return -ENOMEM;
		s->binds = b;
		s->cap_binds = cap;
	}
	s->binds[s->nbinds++] = (struct binding){conn, id, sl};
	sl->refs++;
	return 0;
}

/* Locked. */
static void remove_binding(struct server *s, struct binding *b)
{
	*b = s->binds[--s->nbinds];
}

int server_room_put(struct server *s, const char *name, const struct room_settings *set,
                    struct slot **out)
{
	struct slot *sl = calloc(1, sizeof(*sl));
	struct room_settings *copy = malloc(sizeof(*copy));
	int rc = sl && copy ? 0 : -ENOMEM;
	pthread_mutex_lock(&s->reg_lock);
	if (rc == 0 && find_slot(s, name))
		rc = -EEXIST;
	else if (rc == 0 && s->nslots >= s->cfg->max_rooms)
		rc = -ENOSPC;
	else if (rc == 0)
		rc = ptrarray_reserve((void ***)&s->slots, s->nslots, &s->cap_slots);
	if (rc == 0) {
		*copy = *set;
		snprintf(sl->name, sizeof(sl->name), "%s", name);
		sl->set = copy;
		sl->refs = 1;
		sl->held = true;
		sl->sh = least_loaded(s);
		s->slots[s->nslots++] = sl;
		*out = sl;
	}
	pthread_mutex_unlock(&s->reg_lock);
	if (rc < 0) {
		free(sl);
		free(copy);
	}
	return rc;
}

bool server_slot_unhold(struct server *s, struct slot *sl)
{
	pthread_mutex_lock(&s->reg_lock);
	bool last = false;
	if (sl->held) {
		sl->held = false;
		last = --sl->refs == 0;
		if (last)
			ptrarray_remove((void **)s->slots, &s->nslots, sl);
	}
	pthread_mutex_unlock(&s->reg_lock);
	return last;
}

void server_slot_free(struct slot *sl)
{
	if (sl)
		free(sl->set);
	free(sl);
}

void server_slot_ref(struct server *s, struct slot *sl)
{
	pthread_mutex_lock(&s->reg_lock);
	sl->refs++;
	pthread_mutex_unlock(&s->reg_lock);
}

bool server_slot_release(struct server *s, struct slot *sl)
{
	pthread_mutex_lock(&s->reg_lock);
	bool last = --sl->refs == 0;
	if (last)
		ptrarray_remove((void **)s->slots, &s->nslots, sl);
	pthread_mutex_unlock(&s->reg_lock);
	return last;
}

void server_unbind(struct server *s, uint64_t conn, uint32_t peer_id)
{
	pthread_mutex_lock(&s->reg_lock);
	struct binding *b = find_binding(s, conn);
	if (b && b->peer_id == peer_id)
		remove_binding(s, b);
	pthread_mutex_unlock(&s->reg_lock);
}

struct shard *server_room_shard(struct server *s, const char *name)
{
	pthread_mutex_lock(&s->reg_lock);
	struct slot *sl = find_slot(s, name);
	struct shard *sh = sl ? sl->sh : NULL;
	pthread_mutex_unlock(&s->reg_lock);
	return sh;
}

void server_counts(struct server *s, int *rooms, int *participants)
{
	pthread_mutex_lock(&s->reg_lock);
	*rooms = s->nslots;
	*participants = s->nbinds;
	pthread_mutex_unlock(&s->reg_lock);
}

int server_room_names(struct server *s, char (*names)[SIG_MAX_ROOM + 1], int max)
{
	pthread_mutex_lock(&s->reg_lock);
	int n = s->nslots < max ? s->nslots : max;
	for (int i = 0; i < n; i++)
		memcpy(names[i], s->slots[i]->name, sizeof(names[i]));
	pthread_mutex_unlock(&s->reg_lock);
	return n;
}

const char *server_claim_record(struct server *s, const char *room)
{
	const struct mcu_config *c = s->cfg;
	const char *path = NULL;
	pthread_mutex_lock(&s->reg_lock);
	for (int i = 0; i < c->nrecord && !path; i++) {
		if (s->record_used[i] || strcmp(c->record[i].room, room))
			continue;
		s->record_used[i] = true;
		path = c->record[i].path;
	}
	pthread_mutex_unlock(&s->reg_lock);
	return path;
}

/* ---- finished recordings (snap_lock) ---- */

void server_remember_recording(struct server *s, const struct rec_status *st)
{
	atomic_fetch_add(
	    st->state == REC_FAILED ? &s->ctr.recordings_failed : &s->ctr.recordings_finished, 1);
	atomic_fetch_add(&s->ctr.recording_bytes_done, (uint64_t)(st->bytes > 0 ? st->bytes : 0));
	pthread_mutex_lock(&s->snap_lock);
	if (!s->hist)
		s->hist = calloc(SERVER_REC_HISTORY, sizeof(*s->hist));
	if (s->hist) {
		int i = (s->hist_head + s->nhist) % SERVER_REC_HISTORY;
		s->hist[i] = *st;
		if (s->nhist < SERVER_REC_HISTORY)
			s->nhist++;
		else
			s->hist_head = (s->hist_head + 1) % SERVER_REC_HISTORY;
	}
	pthread_mutex_unlock(&s->snap_lock);
}

/* ---- commands to the loops ---- */

static void cmd_free(struct cmd *c)
{
	sig_msg_clear(&c->msg);
	free(c);
}

/* On the command's loop. */
static void run_cmd(void *data)
{
	struct cmd *c = data;
	struct server *s = c->srv;
	switch (c->kind) {
	case CMD_JOIN:
		shard_join(c->sh, c->slot, c->conn, c->peer_id, &c->msg);
		break;
	case CMD_MESSAGE:
		shard_message(c->sh, c->slot, c->peer_id, &c->msg);
		break;
	case CMD_LEAVE:
		shard_leave(c->sh, c->slot, c->peer_id);
		break;
	case CMD_INVOKE:
		c->fn(c->sh, c->data);
		break;
	}
	atomic_fetch_sub(&s->inflight, 1);
	cmd_free(c);
}

/* Any thread: posts c to its shard's loop; capped unless `always`. 0 or -EBUSY/-errno. */
static int post(struct cmd *c, bool always)
{
	struct server *s = c->srv;
	if (atomic_fetch_add(&s->inflight, 1) >= SERVER_MAX_INFLIGHT && !always) {
		atomic_fetch_sub(&s->inflight, 1);
		return -EBUSY;
	}
	int rc = loop_post(c->sh->loop, run_cmd, c);
	if (rc < 0)
		atomic_fetch_sub(&s->inflight, 1);
	return rc;
}

int server_invoke(struct server *s, struct shard *sh, void (*fn)(struct shard *sh, void *data),
                  void *data)
{
	struct cmd *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (struct cmd){.srv = s, .sh = sh, .kind = CMD_INVOKE, .fn = fn, .data = data};
	int rc = post(c, false);
	if (rc < 0)
		free(c);
	return rc;
}

/* ---- signaling thread ---- */

static bool token_ok(struct server *s, uint64_t conn, const struct sig_msg *m)
{
	const char *why = NULL;
	if (!s->cfg->secret[0] || token_check(s->cfg->secret, m->token, m->room, TOKEN_PARTICIPANT,
	                                      (int64_t)time(NULL), &why) == 0)
		return true;
	atomic_fetch_add(&s->ctr.auth_failures, 1);
	char msg[96];
	snprintf(msg, sizeof(msg), "a valid token for this room is needed (%s)",
	         m->token[0] ? why : "missing");
	server_send_error(s, conn, "unauthorized", msg);
	return false;
}

static const char *join_error(const char *code)
{
	if (!strcmp(code, "already-joined"))
		return "this connection has already joined";
	if (!strcmp(code, "room-full"))
		return "the room has reached its participant limit";
	if (!strcmp(code, "server-full"))
		return "the server has reached its room limit";
	return "could not create the participant";
}

/* Binds the connection to the room's slot (placing a new room). 0, or an error was sent. */
static int accept_join(struct server *s, struct cmd *c)
{
	const char *code = NULL;
	pthread_mutex_lock(&s->reg_lock);
	struct slot *sl = NULL;
	if (find_binding(s, c->conn))
		code = "already-joined";
	else if ((sl = slot_for_join(s, c->msg.room, &code)) &&
	         bind_conn(s, c->conn, c->peer_id, sl) < 0)
		code = "server-busy";
	if (sl && sl->refs == 0) /* a new slot that could not be bound */
		ptrarray_remove((void **)s->slots, &s->nslots, sl);
	if (code) {
		pthread_mutex_unlock(&s->reg_lock);
		if (sl && sl->refs == 0)
			server_slot_free(sl);
		server_send_error(s, c->conn, code, join_error(code));
		return -EINVAL;
	}
	c->slot = sl;
	c->sh = sl->sh;
	pthread_mutex_unlock(&s->reg_lock);
	return 0;
}

/* Finds the connection's binding for a message: 0, or -ENOENT (not joined). */
static int route(struct server *s, struct cmd *c, bool unbind)
{
	pthread_mutex_lock(&s->reg_lock);
	struct binding *b = find_binding(s, c->conn);
	if (b) {
		c->slot = b->slot;
		c->sh = b->slot->sh;
		c->peer_id = b->peer_id;
		if (unbind) /* the slot's reference goes when the loop has removed the peer */
			remove_binding(s, b);
	}
	pthread_mutex_unlock(&s->reg_lock);
	return b ? 0 : -ENOENT;
}

/* A join that could not be posted: undo the binding. */
static void unjoin(struct server *s, struct cmd *c)
{
	server_unbind(s, c->conn, c->peer_id);
	if (server_slot_release(s, c->slot))
		server_slot_free(c->slot); /* no room yet: the join never reached the loop */
}

static void dispatch(struct server *s, struct cmd *c)
{
	int rc;
	if (c->msg.type == SIG_PING) {
		server_send(s, c->conn, sig_pong());
		cmd_free(c);
		return;
	}
	if (c->msg.type == SIG_JOIN) {
		if (!token_ok(s, c->conn, &c->msg)) {
			cmd_free(c);
			return;
		}
		c->msg.admin =
		    s->cfg->secret[0] && token_check(s->cfg->secret, c->msg.token, c->msg.room,
		                                     TOKEN_ADMIN, (int64_t)time(NULL), NULL) == 0;
		c->kind = CMD_JOIN;
		c->peer_id = atomic_fetch_add(&s->next_id, 1) + 1;
		if (accept_join(s, c) < 0) {
			cmd_free(c);
			return;
		}
	} else {
		c->kind = c->msg.type == SIG_LEAVE ? CMD_LEAVE : CMD_MESSAGE;
		if (route(s, c, c->kind == CMD_LEAVE) < 0) {
			server_send_error(s, c->conn, "not-joined", "send a join message first");
			cmd_free(c);
			return;
		}
	}
	rc = post(c, c->kind == CMD_LEAVE);
	if (rc == 0)
		return;
	if (c->kind == CMD_JOIN)
		unjoin(s, c);
	atomic_fetch_add(&s->ctr.busy_rejects, 1);
	server_send_error(s, c->conn, "server-busy", "too many requests in flight, retry");
	cmd_free(c);
}

/*
 * A message from a connection. In a cluster (cluster/cluster.h), a client of ours whose room
 * runs on another node has its messages relayed there, and a join for a room not running here
 * is placed first (here or elsewhere) unless `here`.
 */
static void on_message(struct server *s, uint64_t conn, const char *text, size_t len, bool here)
{
	if (s->cluster && !here && cluster_take_message(s->cluster, conn, text, len))
		return;
	struct cmd *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = s;
	c->conn = conn;
	const char *code = NULL;
	char why[256];
	if (sig_parse(text, len, &c->msg, &code, why, sizeof(why)) < 0) {
		server_send_error(s, conn, code, why);
		cmd_free(c);
		return;
	}
	if (s->cluster && !here && c->msg.type == SIG_JOIN && !relay_is_vconn(conn) &&
	    !server_room_shard(s, c->msg.room) &&
	    (!token_ok(s, conn, &c->msg) || /* checked before placing: no claim for a stranger */
	     cluster_take_join(s->cluster, conn, c->msg.room, text, len))) {
		cmd_free(c);
		return;
	}
	dispatch(s, c);
}

void server_on_message(void *opaque, uint64_t conn, const char *text, size_t len)
{
	on_message(opaque, conn, text, len, false);
}

void server_join_here(struct server *s, uint64_t conn, const char *text, size_t len)
{
	on_message(s, conn, text, len, true);
}

void server_on_rate_limited(void *opaque, uint64_t conn)
{
	server_send_error(opaque, conn, "rate-limited",
	                  "too many messages: this one and any more within the limit are dropped");
}

void server_on_close(void *opaque, uint64_t conn)
{
	struct server *s = opaque;
	if (s->cluster && cluster_take_close(s->cluster, conn))
		return;
	struct cmd *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	*c = (struct cmd){.srv = s, .kind = CMD_LEAVE, .conn = conn};
	/* A close must not be lost: it bypasses the in-flight cap. */
	if (route(s, c, true) < 0 || post(c, true) < 0)
		cmd_free(c);
}

/* ---- life cycle ---- */

static int server_http_complete(void *ctx, uint64_t id, struct ws_http_reply *reply)
{
	return ws_http_complete(ctx, id, reply);
}

int server_init(struct server *s, const struct mcu_config *cfg, struct dtls_cert *cert)
{
	s->cfg = cfg;
	s->cert = cert;
	pthread_mutex_init(&s->reg_lock, NULL);
	pthread_mutex_init(&s->snap_lock, NULL);
	int n = cfg->loops > 0 ? cfg->loops : 1;
	if (n > SERVER_MAX_LOOPS)
		n = SERVER_MAX_LOOPS;
	if (!(s->shards = calloc((size_t)n, sizeof(*s->shards))))
		return -ENOMEM;
	/* One room can use every core: its video tick forks over loops - 1 workers + itself. */
	if (n > 1) {
		int rc = mix_pool_new(&s->pool, n - 1);
		if (rc < 0)
			return rc;
	}
	for (int i = 0; i < n; i++) {
		int rc = shard_new(&s->shards[i], s, i);
		if (rc < 0)
			return rc;
		s->nshards++;
	}
	if (!s->http_done)
		s->http_done = server_http_complete;
	return webhook_start(s);
}

int server_start(struct server *s)
{
	if (!s->http_done_ctx)
		s->http_done_ctx = s->ws;
	for (int i = 0; i < s->nshards; i++) {
		shard_update_snapshot(s->shards[i]);
		int rc = loop_start(s->shards[i]->loop);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void server_fini(struct server *s)
{
	for (int i = 0; i < s->nshards; i++)
		shard_free(&s->shards[i]);
	free(s->shards);
	s->shards = NULL;
	s->nshards = 0;
	mix_pool_free(&s->pool);   /* after the loops: no engine is left */
	webhook_free(&s->webhook); /* after the loops too: their last events go out first */
	for (int i = 0; i < s->nslots; i++)
		free(s->slots[i]);
	free(s->slots);
	free(s->binds);
	free(s->hist);
	s->slots = NULL;
	s->binds = NULL;
	s->hist = NULL;
	pthread_mutex_destroy(&s->reg_lock);
	pthread_mutex_destroy(&s->snap_lock);
}
