/*
 * server.c - the registry of rooms and peers, and the hand-off of signaling messages from the
 * signaling thread to the media thread (see server.h).
 *
 * server_on_message / server_on_close run on the signaling thread: they parse and validate
 * (pure), then post a command to the media thread's GMainContext. The dispatch functions run on
 * the media thread and own rooms and peers. In-flight commands are capped.
 * Recordings: recorders are registered here (server_add_recorder) and polled by a 500 ms
 * timer on the media thread, which also reaps the finished ones into the history.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/token.h"
#include "log.h"
#include "mcu/ptrarray.h"
#include "session/peer.h"
#include "session/recorder.h"
#include "session/room.h"
#include "session/server.h"
#include "signal/msg.h"
#include "signal/ws.h"

enum cmd_kind { CMD_MESSAGE, CMD_CLOSE, CMD_INVOKE };

struct cmd {
	struct server *srv;
	enum cmd_kind kind;
	uint64_t conn;
	struct sig_msg msg;
	void (*fn)(struct server *s, void *data); /* CMD_INVOKE */
	void *data;
};

#define REC_TIMER_MS   500
#define REC_LOG_PERIOD 10000000 /* progress of active recordings in the log, every 10 s */

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
	int n = s->npeers;
	ptrarray_remove((void **)s->peers, &s->npeers, p);
	if (s->npeers < n)
		server_peer_stats_add(&s->peers_gone, &p->st);
}

/* ---- recordings (media thread) ---- */

static void remember(struct server *s, const struct rec_status *st)
{
	if (!s->hist && !(s->hist = calloc(SERVER_REC_HISTORY, sizeof(*s->hist))))
		return;
	int i = (s->hist_head + s->nhist) % SERVER_REC_HISTORY;
	s->hist[i] = *st;
	if (s->nhist < SERVER_REC_HISTORY)
		s->nhist++;
	else
		s->hist_head = (s->hist_head + 1) % SERVER_REC_HISTORY;
}

static void log_progress(struct server *s, struct recorder *rec)
{
	struct rec_status st;
	recorder_status(rec, &st);
	LOG_I("recording room %s: %s, %s, %.1f s, %lld bytes, %llu dropped", st.room,
	      rec_state_name(st.state), st.path[0] ? st.path : "-", st.duration_s,
	      (long long)st.bytes, (unsigned long long)st.dropped);
}

/* A reaped recorder must not stay referenced by its room. */
static void detach_from_rooms(struct server *s, const struct recorder *rec)
{
	for (int i = 0; i < s->nrooms; i++)
		if (s->rooms[i]->rec == rec)
			s->rooms[i]->rec = NULL;
}

/*
 * Polls every recorder; reaps those whose writer has finished. True if any exist. Rooms are
 * told first (a failed recording is announced and detached from its room), then finished
 * recorders are freed.
 */
static bool poll_recorders(struct server *s)
{
	int64_t now = g_get_monotonic_time();
	bool log = now - s->rec_log_us >= REC_LOG_PERIOD;
	if (log)
		s->rec_log_us = now;
	for (int i = 0; i < s->nrooms; i++) {
		struct room *r = s->rooms[i];
		if (!r->rec)
			continue;
		room_announce_recording(r);
		if (recorder_stopped(r->rec))
			r->rec = NULL; /* failed: the server reaps it */
	}
	for (int i = 0; i < s->nrecs; i++) {
		struct recorder *rec = s->recs[i];
		recorder_poll(rec, now);
		if (log && !recorder_stopped(rec))
			log_progress(s, rec);
		if (!recorder_done(rec))
			continue;
		struct rec_status st;
		recorder_status(rec, &st);
		remember(s, &st);
		ptrarray_remove((void **)s->recs, &s->nrecs, rec);
		detach_from_rooms(s, rec);
		recorder_free(&rec);
		i--;
	}
	return s->nrecs > 0;
}

static gboolean rec_tick(gpointer data)
{
	struct server *s = data;
	bool any = poll_recorders(s);
	server_update_snapshot(s);
	if (!any)
		s->rec_timer = 0;
	return any ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

int server_add_recorder(struct server *s, struct recorder *rec)
{
	if (ptrarray_reserve((void ***)&s->recs, s->nrecs, &s->cap_recs) < 0)
		return -ENOMEM;
	s->recs[s->nrecs++] = rec;
	if (!s->rec_timer) {
		GSource *t = g_timeout_source_new(REC_TIMER_MS);
		g_source_set_callback(t, rec_tick, s, NULL);
		s->rec_timer = g_source_attach(t, s->ctx);
		g_source_unref(t);
	}
	server_update_snapshot(s);
	return 0;
}

void server_free_recorders(struct server *s)
{
	for (int i = 0; i < s->nrooms; i++)
		if (s->rooms[i]->rec)
			room_stop_recording(s->rooms[i], NULL, NULL);
	while (s->nrecs > 0) {
		struct recorder *rec = s->recs[--s->nrecs];
		recorder_free(&rec); /* waits for the trailer */
	}
	free(s->recs);
	s->recs = NULL;
	free(s->hist);
	s->hist = NULL;
	s->nhist = 0;
}

void server_room_created(struct server *s, struct room *r)
{
	const struct mcu_config *c = s->cfg;
	for (int i = 0; i < c->nrecord; i++) {
		if (s->record_used[i] || strcmp(c->record[i].room, r->name))
			continue;
		s->record_used[i] = true;
		struct room_rec_opts o = {.path = c->record[i].path};
		int rc = room_start_recording(r, &o, NULL, NULL);
		if (rc < 0)
			LOG_E("room %s: cannot record to %s: %s", r->name, c->record[i].path,
			      strerror(-rc));
		return;
	}
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

static struct room *room_for_join(struct server *s, uint64_t conn, const char *name, bool *created)
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
	*created = true;
	return r;
}

static void on_join(struct server *s, uint64_t conn, const struct sig_msg *m)
{
	if (server_peer_by_conn(s, conn)) {
		server_send_error(s, conn, "already-joined", "this connection has already joined");
		return;
	}
	const char *why = NULL;
	if (s->cfg->secret[0] && token_check(s->cfg->secret, m->token, m->room, TOKEN_PARTICIPANT,
	                                     (int64_t)time(NULL), &why) < 0) {
		s->st.auth_failures++;
		char msg[96];
		snprintf(msg, sizeof(msg), "a valid token for this room is needed (%s)",
		         m->token[0] ? why : "missing");
		server_send_error(s, conn, "unauthorized", msg);
		return;
	}
	bool created = false;
	struct room *r = room_for_join(s, conn, m->room, &created);
	if (!r)
		return;
	if (r->npeers >= s->cfg->max_participants) {
		server_send_error(s, conn, "room-full",
		                  "the room has reached its participant limit");
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
		server_send_error(s, conn, "room-full",
		                  "the room has reached its participant limit");
		return;
	}
	s->st.joins++;
	LOG_I("peer %u (%s) joined room %s (%d participants)", id, p->name, r->name, r->npeers);
	if (created)
		server_room_created(s, r);
	else if (r->rec) /* tell the newcomer the room is being recorded */
		server_send(s, conn, sig_recording(rec_state_name(r->rec_told), "", NULL));
	server_update_snapshot(s);
}

/* {"type":"record"} from a participant, if the configuration allows it. */
static void on_record(struct server *s, struct peer *p, const struct sig_msg *m)
{
	if (!s->cfg->participant_recording) {
		server_send_error(s, p->conn, "not-allowed", "participants may not record here");
		return;
	}
	struct room_rec_opts o = {.format = m->format[0] ? m->format : NULL};
	const char *why = NULL;
	if (m->record_start && o.format && recorder_check_format(o.format, &why) < 0) {
		server_send_error(s, p->conn, "unsupported-format", why ? why : "unsupported format");
		return;
	}
	int rc = m->record_start ? room_start_recording(p->room, &o, NULL, NULL)
	                         : room_stop_recording(p->room, NULL, NULL);
	if (rc == -EBUSY)
		server_send_error(s, p->conn, "already-recording", "the room is being recorded");
	else if (rc == -ENOENT)
		server_send_error(s, p->conn, "not-recording", "the room is not being recorded");
	else if (rc < 0)
		server_send_error(s, p->conn, "record-failed", strerror(-rc));
	else
		LOG_I("peer %u (%s) %s the recording of room %s", p->id, p->name,
		      m->record_start ? "started" : "stopped", p->room->name);
	server_update_snapshot(s);
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
	case SIG_RECORD:
		if (p->room)
			on_record(s, p, m);
		break;
	default:
		break;
	}
}

static gboolean run_cmd(gpointer data)
{
	struct cmd *c = data;
	struct server *s = c->srv;
	if (c->kind == CMD_INVOKE) {
		c->fn(s, c->data);
	} else if (c->kind == CMD_CLOSE) {
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
	/* Above the mixing timer: an overloaded room must not starve the removal. */
	g_source_set_priority(idle, G_PRIORITY_HIGH);
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

int server_invoke(struct server *s, void (*fn)(struct server *s, void *data), void *data)
{
	struct cmd *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->srv = s;
	c->kind = CMD_INVOKE;
	c->fn = fn;
	c->data = data;
	int rc = post(s, c);
	if (rc < 0)
		free(c);
	return rc;
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

void server_on_rate_limited(void *opaque, uint64_t conn)
{
	server_send_error(opaque, conn, "rate-limited",
	                  "too many messages: this one and any more within the limit are dropped");
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
