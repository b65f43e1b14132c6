/*
 * server.c - the registry of rooms and peers, and the hand-off of signaling messages from the
 * signaling thread to the media thread (see server.h).
 *
 * server_on_message / server_on_close run on the signaling thread: they parse and validate
 * (pure), then post a command to the media thread's GMainContext. The dispatch functions run on
 * the media thread and own rooms and peers. In-flight commands are capped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mcu/ptrarray.h"
#include "session/peer.h"
#include "session/room.h"
#include "session/server.h"
#include "signal/msg.h"
#include "signal/ws.h"

enum cmd_kind { CMD_MESSAGE, CMD_CLOSE };

struct cmd {
	struct server *srv;
	enum cmd_kind kind;
	uint64_t conn;
	struct sig_msg msg;
};

/* ---- registry (media thread) ---- */

struct room *server_find_room(struct server *s, const char *name)
{
	for (int i = 0; i < s->nrooms; i++)
		if (!strcmp(s->rooms[i]->name, name))
			return s->rooms[i];
	return NULL;
}

int server_add_room(struct server *s, struct room *r)
{
	if (ptrarray_reserve((void ***)&s->rooms, s->nrooms, &s->cap_rooms) < 0)
		return -ENOMEM;
	s->rooms[s->nrooms++] = r;
	s->st.rooms_created++;
	return 0;
}

void server_remove_room(struct server *s, struct room *r)
{
	ptrarray_remove((void **)s->rooms, &s->nrooms, r);
	s->st.rooms_freed++;
}

struct peer *server_peer_by_conn(struct server *s, uint64_t conn)
{
	for (int i = 0; i < s->npeers; i++)
		if (s->peers[i]->conn == conn)
			return s->peers[i];
	return NULL;
}

int server_add_peer(struct server *s, struct peer *p)
{
	if (ptrarray_reserve((void ***)&s->peers, s->npeers, &s->cap_peers) < 0)
		return -ENOMEM;
	s->peers[s->npeers++] = p;
	return 0;
}

void server_remove_peer(struct server *s, struct peer *p)
{
	ptrarray_remove((void **)s->peers, &s->npeers, p);
}

/* ---- outbound signaling (any thread) ---- */

void server_send(struct server *s, uint64_t conn, char *text)
{
	if (text)
		ws_send(s->ws, conn, text);
	free(text);
}

void server_send_error(struct server *s, uint64_t conn, const char *code, const char *msg)
{
	LOG_D("conn %llu: error %s: %s", (unsigned long long)conn, code, msg);
	s->st.errors_sent++;
	server_send(s, conn, sig_error(code, msg));
}

/* ---- media thread: message handlers ---- */

static void leave(struct server *s, struct peer *p)
{
	LOG_I("peer %u (%s) left room %s: in audio %llu pkts, video %llu pkts %llu frames; out "
	      "audio %u, video %u pkts; srtp errors %llu, nacks %llu/%llu, plis %llu/%llu, "
	      "retransmits %llu, re-anchors %llu/%llu",
	      p->id, p->name, p->room ? p->room->name : "-",
	      (unsigned long long)p->in_audio.packets, (unsigned long long)p->in_video.packets,
	      (unsigned long long)p->st.frames_in, p->out_audio.packets, p->out_video.packets,
	      (unsigned long long)p->st.srtp_errors, (unsigned long long)p->st.nacks_sent,
	      (unsigned long long)p->st.nacks_received, (unsigned long long)p->st.plis_sent,
	      (unsigned long long)p->st.plis_received, (unsigned long long)p->st.retransmits,
	      (unsigned long long)p->in_audio.reanchors, (unsigned long long)p->in_video.reanchors);
	struct room *r = p->room;
	server_remove_peer(s, p);
	if (r) {
		room_remove_peer(r, p);
		if (r->npeers == 0) {
			LOG_I("room %s closed", r->name);
			server_remove_room(s, r);
			room_free(&r);
		}
	}
	peer_free(&p);
	s->st.leaves++;
	server_update_snapshot(s);
}

static struct room *room_for_join(struct server *s, uint64_t conn, const char *name)
{
	struct room *r = server_find_room(s, name);
	if (r)
		return r;
	if (s->nrooms >= s->cfg->max_rooms) {
		server_send_error(s, conn, "server-full", "the server has reached its room limit");
		return NULL;
	}
	if (room_new(&r, s, name) < 0 || server_add_room(s, r) < 0) {
		room_free(&r);
		server_send_error(s, conn, "server-busy", "could not create the room");
		return NULL;
	}
	LOG_I("room %s created", name);
	return r;
}

static void on_join(struct server *s, uint64_t conn, const struct sig_msg *m)
{
	if (server_peer_by_conn(s, conn)) {
		server_send_error(s, conn, "already-joined", "this connection has already joined");
		return;
	}
	struct room *r = room_for_join(s, conn, m->room);
	if (!r)
		return;
	if (r->npeers >= s->cfg->max_participants) {
		server_send_error(s, conn, "room-full", "the room has reached its participant limit");
		return;
	}
	struct peer *p = NULL;
	uint32_t id = ++s->next_peer_id;
	if (peer_new(&p, s, conn, id, m->name) < 0 || server_add_peer(s, p) < 0) {
		peer_free(&p);
		server_send_error(s, conn, "server-busy", "could not create the participant");
		return;
	}
	if (room_add_peer(r, p) < 0) {
		server_remove_peer(s, p);
		peer_free(&p);
		server_send_error(s, conn, "room-full", "the room has reached its participant limit");
		return;
	}
	s->st.joins++;
	server_update_snapshot(s);
	LOG_I("peer %u (%s) joined room %s (%d participants)", id, p->name, r->name, r->npeers);
}

static void on_message(struct server *s, uint64_t conn, struct sig_msg *m)
{
	struct peer *p = server_peer_by_conn(s, conn);
	if (m->type == SIG_JOIN) {
		on_join(s, conn, m);
		return;
	}
	if (m->type == SIG_PING) {
		server_send(s, conn, sig_pong());
		return;
	}
	if (!p) {
		server_send_error(s, conn, "not-joined", "send a join message first");
		return;
	}
	switch (m->type) {
	case SIG_OFFER:
		s->st.offers++;
		peer_on_offer(p, m->sdp);
		break;
	case SIG_CANDIDATE:
		peer_on_candidate(p, m->candidate);
		break;
	case SIG_LEAVE:
		leave(s, p);
		break;
	default:
		break;
	}
}

static gboolean run_cmd(gpointer data)
{
	struct cmd *c = data;
	struct server *s = c->srv;
	if (c->kind == CMD_CLOSE) {
		struct peer *p = server_peer_by_conn(s, c->conn);
		if (p)
			leave(s, p);
	} else {
		on_message(s, c->conn, &c->msg);
	}
	sig_msg_clear(&c->msg);
	atomic_fetch_sub(&s->inflight, 1);
	free(c);
	return G_SOURCE_REMOVE;
}

void server_drop_conn(struct server *s, uint64_t conn)
{
	struct cmd *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = s;
	c->kind = CMD_CLOSE;
	c->conn = conn;
	atomic_fetch_add(&s->inflight, 1);
	GSource *idle = g_idle_source_new();
	g_source_set_callback(idle, run_cmd, c, NULL);
	g_source_attach(idle, s->ctx);
	g_source_unref(idle);
}

/* ---- signaling thread ---- */

static int post(struct server *s, struct cmd *c)
{
	if (atomic_fetch_add(&s->inflight, 1) >= SERVER_MAX_INFLIGHT) {
		atomic_fetch_sub(&s->inflight, 1);
		return -EBUSY;
	}
	g_main_context_invoke(s->ctx, run_cmd, c);
	return 0;
}

void server_on_message(void *opaque, uint64_t conn, const char *text, size_t len)
{
	struct server *s = opaque;
	struct cmd *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = s;
	c->kind = CMD_MESSAGE;
	c->conn = conn;
	const char *code = NULL;
	char why[256];
	if (sig_parse(text, len, &c->msg, &code, why, sizeof(why)) < 0) {
		server_send_error(s, conn, code, why);
		sig_msg_clear(&c->msg);
		free(c);
		return;
	}
	if (post(s, c) < 0) {
		s->st.busy_rejects++;
		server_send_error(s, conn, "server-busy", "too many requests in flight, retry");
		sig_msg_clear(&c->msg);
		free(c);
	}
}

void server_on_close(void *opaque, uint64_t conn)
{
	struct server *s = opaque;
	struct cmd *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = s;
	c->kind = CMD_CLOSE;
	c->conn = conn;
	/* A close must not be lost: it bypasses the in-flight cap. */
	atomic_fetch_add(&s->inflight, 1);
	g_main_context_invoke(s->ctx, run_cmd, c);
}
