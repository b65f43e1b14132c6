/*
 * shard.c - one loop's rooms, peers and recordings (see shard.h): joins and leaves, the
 * messages of joined peers, the services of the env handed to rooms and peers, the 500 ms
 * recorder poll (keyframes, failures, progress in the log, reaping finished recorders into the
 * server's history) and this loop's part of the API snapshots. The webhook events of rooms
 * (started when the first join creates one, ended when it is freed), participants (joined,
 * left) and recordings (started once the writer has created the file, finished or failed when
 * it is reaped, or at shutdown once finished) are sent from here (server_event).
 * Loop thread only, except shard_new and shard_free.
 */
#include <errno.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <jansson.h>

#include "log.h"
#include "mcu/ptrarray.h"
#include "net/loop.h"
#include "session/peer.h"
#include "session/recorder.h"
#include "session/room.h"
#include "session/server.h"
#include "session/shard.h"
#include "signal/msg.h"

#define REC_TIMER_MS   500
#define REC_LOG_PERIOD 10000000 /* progress of active recordings in the log, every 10 s */

/* Defined in api.c: the JSON texts of this loop's rooms and active recordings. */
char *api_rooms_snapshot(struct shard *sh);
char *api_recs_snapshot(struct shard *sh);

struct room *shard_find_room(struct shard *sh, const char *name)
{
	for (int i = 0; i < sh->nrooms_arr; i++)
		if (!strcmp(sh->rooms[i]->name, name))
			return sh->rooms[i];
	return NULL;
}

void shard_update_snapshot(struct shard *sh)
{
	char *rooms = api_rooms_snapshot(sh), *recs = api_recs_snapshot(sh);
	pthread_mutex_lock(&sh->srv->snap_lock);
	free(sh->snap_rooms);
	sh->snap_rooms = rooms;
	free(sh->snap_recs);
	sh->snap_recs = recs;
	pthread_mutex_unlock(&sh->srv->snap_lock);
}

void shard_peer_stats(struct shard *sh, struct peer_stats *sum)
{
	server_peer_stats_add(sum, &sh->peers_gone);
	for (int i = 0; i < sh->nrooms_arr; i++)
		for (int j = 0; j < sh->rooms[i]->npeers; j++)
			server_peer_stats_add(sum, &sh->rooms[i]->peers[j]->st);
}

void shard_latency(struct shard *sh, struct mix_latency *into, int64_t now_us)
{
	mix_latency_merge(into, &sh->lat_gone, now_us);
	for (int i = 0; i < sh->nrooms_arr; i++)
		mix_engine_latency_merge(sh->rooms[i]->eng, into, now_us);
}

/* ---- webhook events ---- */

/* {"participant": {"id", "name"}, "participants": how many are in the room now} */
static json_t *peer_fields(const struct peer *p, const struct room *r)
{
	char id[16];
	snprintf(id, sizeof(id), "%u", p->id);
	return json_pack("{s:{s:s,s:s},s:i}", "participant", "id", id, "name", p->name,
	                 "participants", r->npeers);
}

static json_t *rec_fields(const struct rec_status *st)
{
	const char *slash = strrchr(st->path, '/');
	json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:i,s:f,s:I}", "path", st->path, "file",
	                      slash ? slash + 1 : st->path, "format", st->format, "width",
	                      st->width, "height", st->height, "duration_s", st->duration_s,
	                      "bytes", (json_int_t)st->bytes);
	if (o && st->error[0])
		json_object_set_new(o, "error", json_string(st->error));
	return o;
}

/* recording-started once its file exists; with done (the writer has finished), then
 * recording-finished or recording-failed. */
static void rec_events(struct shard *sh, struct recorder *rec, bool done)
{
	bool opened = recorder_take_opened(rec);
	if (!opened && !done)
		return;
	struct rec_status st;
	recorder_status(rec, &st);
	if (opened)
		server_event(sh->srv, "recording-started", st.room, rec_fields(&st));
	if (done)
		server_event(sh->srv,
		             st.state == REC_FAILED ? "recording-failed" : "recording-finished",
		             st.room, rec_fields(&st));
}

/* ---- leaving ---- */

static void log_leave(const struct peer *p)
{
	LOG_I("peer %u (%s) left room %s: in audio %llu pkts, video %llu pkts %llu frames; out "
	      "audio %u, video %u pkts; srtp errors %llu, nacks %llu/%llu, plis %llu/%llu, "
	      "retransmits %llu, re-anchors %llu/%llu, rtx in %llu, playout delay %lld/%lld ms",
	      p->id, p->name, p->room ? p->room->name : "-",
	      (unsigned long long)p->in_audio.packets, (unsigned long long)p->in_video.packets,
	      (unsigned long long)p->st.frames_in, p->out_audio.packets, p->out_video.packets,
	      (unsigned long long)p->st.srtp_errors, (unsigned long long)p->st.nacks_sent,
	      (unsigned long long)p->st.nacks_received, (unsigned long long)p->st.plis_sent,
	      (unsigned long long)p->st.plis_received, (unsigned long long)p->st.retransmits,
	      (unsigned long long)p->in_audio.reanchors, (unsigned long long)p->in_video.reanchors,
	      (unsigned long long)p->st.rtx_in,
	      (long long)(playout_target_audio(&p->po, p->room ? room_now(p->room) : 0) / 1000),
	      (long long)(playout_target_video(&p->po) / 1000));
}

/* The slot's last reference has gone: frees its room and the slot. */
static void slot_gone(struct shard *sh, struct slot *sl)
{
	struct room *r = sl->room;
	if (r) {
		LOG_I("room %s closed", r->name);
		server_event(sh->srv, "room-ended", r->name,
		             json_pack("{s:f}", "duration_s", (double)room_now(r) / 1e6));
		ptrarray_remove((void **)sh->rooms, &sh->nrooms_arr, r);
		atomic_store(&sh->nrooms, sh->nrooms_arr);
		atomic_fetch_add(&sh->srv->ctr.rooms_freed, 1);
		mix_engine_latency_merge(r->eng, &sh->lat_gone, mix_mono_us());
		sh->lag_skips_gone += r->lag_skips;
		room_free(&r);
		/* A room's encoders and pictures are large blocks that glibc keeps in its arenas
		 * (one per thread that allocated them): give them back to the system, so a server
		 * whose rooms have ended returns to its idle size. */
		malloc_trim(0);
	}
	server_slot_free(sl);
}

/* Drops one reference of the slot; frees the room with the last. */
static void release(struct shard *sh, struct slot *sl)
{
	if (server_slot_release(sh->srv, sl))
		slot_gone(sh, sl);
}

/* Drops the API's hold of the slot (PUT), if it has it; frees the room if that was the last. */
static void unhold(struct shard *sh, struct slot *sl)
{
	if (server_slot_unhold(sh->srv, sl))
		slot_gone(sh, sl);
}

/*
 * The room of slot sl if it is still on this loop, else NULL. A command routed to a peer's slot
 * holds no reference: when the peer left by another path meanwhile (its DTLS closed while its
 * WebSocket was closing), the slot may be gone. So the pointer is compared with the live rooms'
 * slots before anything is read through it (a new slot at the same address has other peer ids).
 */
static struct room *live_room(const struct shard *sh, const struct slot *sl)
{
	for (int i = 0; i < sh->nrooms_arr; i++)
		if (sh->rooms[i]->slot == sl)
			return sh->rooms[i];
	return NULL;
}

void shard_leave(struct shard *sh, struct slot *sl, uint32_t id)
{
	struct room *r = live_room(sh, sl);
	struct peer *p = r ? room_peer_by_id(r, id) : NULL;
	if (!p)
		return; /* already gone (a close after the session ended, say) */
	log_leave(p);
	server_unbind(sh->srv, p->conn, p->id);
	room_remove_peer(sl->room, p);
	server_event(sh->srv, "participant-left", sl->room->name, peer_fields(p, sl->room));
	server_peer_stats_add(&sh->peers_gone, &p->st);
	peer_free(&p);
	atomic_fetch_sub(&sh->npeers, 1);
	atomic_fetch_add(&sh->srv->ctr.leaves, 1);
	release(sh, sl);
	shard_update_snapshot(sh);
}

/* ---- joining ---- */

/* The first participant has joined: the operator's --record, or the room's "record". Whether
 * a recording was started (everyone has been told). */
static bool first_join(struct shard *sh, struct room *r)
{
	const char *path = server_claim_record(sh->srv, r->name);
	if (!path && (!r->set.record[0] || r->auto_recorded || r->rec))
		return false;
	r->auto_recorded = true;
	struct room_rec_opts o = {.path = path, .format = path ? NULL : r->set.record};
	int rc = room_start_recording(r, &o, NULL, NULL);
	if (rc < 0)
		LOG_E("room %s: cannot record to %s: %s", r->name, path ? path : r->set.record,
		      strerror(-rc));
	return rc == 0;
}

/* The slot's room, created on this loop by its first join. */
static struct room *room_of(struct shard *sh, struct slot *sl, bool *created)
{
	if (sl->room)
		return sl->room;
	struct room *r = NULL;
	int rc = ptrarray_reserve((void ***)&sh->rooms, sh->nrooms_arr, &sh->cap_rooms);
	if (rc == 0)
		rc = room_new(&r, &sh->env, sl->name, sl->set);
	if (rc < 0) {
		LOG_E("room %s: cannot create it: %s", sl->name, strerror(-rc));
		return NULL;
	}
	r->slot = sl;
	sl->room = r;
	sh->rooms[sh->nrooms_arr++] = r;
	atomic_store(&sh->nrooms, sh->nrooms_arr);
	atomic_fetch_add(&sh->srv->ctr.rooms_created, 1);
	LOG_I("room %s created on loop %d", r->name, loop_index(sh->loop));
	server_event(sh->srv, "room-started", r->name, NULL);
	*created = true;
	return r;
}

void shard_join(struct shard *sh, struct slot *sl, uint64_t conn, uint32_t id,
                const struct sig_msg *m)
{
	bool created = false;
	struct room *r = room_of(sh, sl, &created);
	struct peer *p = NULL;
	if (!r || peer_new(&p, &sh->env, conn, id, m->name) < 0 || room_add_peer(r, p) < 0) {
		peer_free(&p);
		server_send_error(sh->srv, conn, r ? "room-full" : "server-busy",
		                  r ? "the room has reached its participant limit"
		                    : "could not create the room");
		server_unbind(sh->srv, conn, id);
		release(sh, sl);
		return;
	}
	p->admin = m->admin;
	p->prefer_vcodec = m->recv_codec;
	p->layer_control = m->layer_control;
	p->profile = (struct recv_profile){m->recv_max_width, m->recv_max_height, m->recv_max_fps,
	                                   m->recv_max_bitrate};
	atomic_fetch_add(&sh->npeers, 1);
	atomic_fetch_add(&sh->srv->ctr.joins, 1);
	LOG_I("peer %u (%s) joined room %s (%d participants)", id, p->name, r->name, r->npeers);
	server_event(sh->srv, "participant-joined", r->name, peer_fields(p, r));
	bool started = r->npeers == 1 && first_join(sh, r);
	if (r->rec && !started) /* tell the newcomer the room is being recorded */
		server_send(sh->srv, conn, sig_recording(rec_state_name(r->rec_told), "", NULL));
	shard_update_snapshot(sh);
}

/* {"type":"record"} from a participant, if the configuration allows it. */
static void on_record(struct shard *sh, struct peer *p, const struct sig_msg *m)
{
	struct server *s = sh->srv;
	if (!s->cfg->participant_recording) {
		server_send_error(s, p->conn, "not-allowed", "participants may not record here");
		return;
	}
	struct room_rec_opts o = {.format = m->format[0] ? m->format : NULL};
	const char *why = NULL;
	if (m->record_start && o.format && recorder_check_format(o.format, &why) < 0) {
		server_send_error(s, p->conn, "unsupported-format",
		                  why ? why : "unsupported format");
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
	shard_update_snapshot(sh);
}

int shard_kick(struct shard *sh, struct room *r, uint32_t id, const char *reason)
{
	struct peer *p = room_peer_by_id(r, id);
	if (!p)
		return -ENOENT;
	uint64_t conn = p->conn;
	LOG_I("room %s: peer %u (%s) removed: %s", r->name, id, p->name, reason);
	json_t *ev = peer_fields(p, r);
	json_object_set_new(ev, "reason", json_string(reason));
	server_event(sh->srv, "participant-kicked", r->name, ev);
	server_send(sh->srv, conn, sig_removed(reason));
	shard_leave(sh, r->slot, id); /* r is gone if p was the last */
	server_close(sh->srv, conn);
	return 0;
}

/* The participant a message acts on (its "id", or the sender), or NULL with an error sent:
 * acting on someone else needs the admin role. */
/* Whether p has the admin role; if not, it is told that what needs it is not allowed. */
static bool admin_or_refuse(struct shard *sh, const struct peer *p, const char *what)
{
	if (p->admin)
		return true;
	char msg[128];
	snprintf(msg, sizeof(msg), "%s needs a token with the admin role", what);
	server_send_error(sh->srv, p->conn, "not-allowed", msg);
	return false;
}

static struct peer *msg_target(struct shard *sh, struct peer *p, const struct sig_msg *m)
{
	if (m->target == SIG_NO_ID || m->target == p->id)
		return m->target_all ? NULL : p;
	if (!admin_or_refuse(sh, p, "moderating others"))
		return NULL;
	struct peer *t = room_peer_by_id(p->room, m->target);
	if (!t)
		server_send_error(sh->srv, p->conn, "no-such-participant",
		                  "no participant with this id in the room");
	return t;
}

static void on_mute(struct shard *sh, struct peer *p, const struct sig_msg *m)
{
	if (m->target_all) {
		if (admin_or_refuse(sh, p, "moderating others"))
			room_mute_all(p->room, m->except, m->mute_audio, m->mute_video);
		return;
	}
	struct peer *t = msg_target(sh, p, m);
	if (t)
		room_set_mute(p->room, t, t == p ? PEER_MUTE_SELF : PEER_MUTE_MODERATOR,
		              m->mute_audio, m->mute_video);
}

static void on_rename(struct shard *sh, struct peer *p, const struct sig_msg *m)
{
	struct peer *t = msg_target(sh, p, m);
	if (t)
		room_rename(p->room, t, m->name);
}

static void on_kick(struct shard *sh, struct peer *p, const struct sig_msg *m)
{
	struct peer *t = msg_target(sh, p, m);
	if (t == p)
		server_send_error(sh->srv, p->conn, "bad-field",
		                  "to leave, send {\"type\":\"leave\"}");
	else if (t)
		shard_kick(sh, p->room, t->id, m->reason[0] ? m->reason : "removed by a moderator");
}

/* {"type":"view"}: the sender's own view. */
static void on_view(struct shard *sh, struct peer *p, const struct sig_msg *m)
{
	int rc = room_set_view(p->room, p, m->layout, m->exclude_self, m->pin);
	if (rc == -ENOENT)
		server_send_error(sh->srv, p->conn, "no-such-participant",
		                  "pin: no participant with this id in the room");
	else if (rc == -ENOSPC)
		server_send_error(sh->srv, p->conn, "too-many-views",
		                  "the room has as many views of their own as it allows: "
		                  "choose one someone has, or the room's");
}

/* {"type":"layout"}: the room's layout and pin (admin). */
static void on_layout(struct shard *sh, struct peer *p, const struct sig_msg *m)
{
	if (!admin_or_refuse(sh, p, "the room's layout"))
		return;
	if (room_set_layout(p->room, m->layout, m->pin_set, m->pin) == -ENOENT)
		server_send_error(sh->srv, p->conn, "no-such-participant",
		                  "pin: no participant with this id in the room");
}

void shard_message(struct shard *sh, struct slot *sl, uint32_t id, const struct sig_msg *m)
{
	struct room *r = live_room(sh, sl);
	struct peer *p = r ? room_peer_by_id(r, id) : NULL;
	if (!p)
		return; /* it has left meanwhile */
	switch (m->type) {
	case SIG_OFFER:
		atomic_fetch_add(&sh->srv->ctr.offers, 1);
		peer_on_offer(p, m->sdp, m->mid);
		break;
	case SIG_CANDIDATE:
		peer_on_candidate(p, m->candidate, m->mid, m->mline);
		break;
	case SIG_RECORD:
		on_record(sh, p, m);
		break;
	case SIG_MUTE:
		on_mute(sh, p, m);
		shard_update_snapshot(sh);
		break;
	case SIG_RENAME:
		on_rename(sh, p, m);
		shard_update_snapshot(sh);
		break;
	case SIG_KICK:
		on_kick(sh, p, m);
		shard_update_snapshot(sh);
		break;
	case SIG_VIEW:
		on_view(sh, p, m);
		break;
	case SIG_SCREEN:
		peer_screen_stop(p);
		break;
	case SIG_LAYOUT:
		on_layout(sh, p, m);
		break;
	default:
		break;
	}
}

/* ---- rooms made and ended through the API ---- */

#define IDLE_TIMER_MS 1000

int shard_room_end(struct shard *sh, struct room *r, const char *reason)
{
	struct slot *sl = r->slot;
	int n = r->npeers;
	LOG_I("room %s ended (%s): %d participants removed", r->name, reason, n);
	server_slot_ref(sh->srv, sl); /* the room stays until every participant is out */
	while (r->npeers > 0)
		shard_kick(sh, r, r->peers[r->npeers - 1]->id, reason);
	unhold(sh, sl); /* never the last: ours is still there */
	release(sh, sl);
	shard_update_snapshot(sh);
	return n;
}

/* Ends the held rooms that have been empty for their idle timeout. */
static gboolean idle_tick(gpointer data)
{
	struct shard *sh = data;
	int64_t now = g_get_monotonic_time();
	bool any = false;
	for (int i = sh->nrooms_arr - 1; i >= 0; i--) {
		struct room *r = sh->rooms[i];
		struct slot *sl = r->slot;
		if (!sl->held) /* read on the only thread that clears it for this slot */
			continue;
		if (r->npeers == 0 &&
		    now - r->empty_since_us >= r->set.idle_timeout_s * INT64_C(1000000))
			shard_room_end(sh, r, "idle");
		else
			any = true;
	}
	if (!any)
		sh->idle_timer = 0;
	return any ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

struct room *shard_room_put(struct shard *sh, struct slot *sl)
{
	bool created = false;
	struct room *r = room_of(sh, sl, &created);
	if (!r) {
		unhold(sh, sl);
		return NULL;
	}
	if (!sh->idle_timer)
		sh->idle_timer =
		    loop_timer_add(sh->loop, IDLE_TIMER_MS, G_PRIORITY_DEFAULT, idle_tick, sh);
	shard_update_snapshot(sh);
	return r;
}

/* ---- recordings ---- */

static void log_progress(struct recorder *rec)
{
	struct rec_status st;
	recorder_status(rec, &st);
	LOG_I("recording room %s: %s, %s, %.1f s, %lld bytes, %llu dropped", st.room,
	      rec_state_name(st.state), st.path[0] ? st.path : "-", st.duration_s,
	      (long long)st.bytes, (unsigned long long)st.dropped);
}

/* A reaped recorder must not stay referenced by its room; the room that stopped it tells its
 * peers how it ended (finished or failed). */
static void detach_from_rooms(struct shard *sh, const struct recorder *rec,
                              const struct rec_status *st)
{
	for (int i = 0; i < sh->nrooms_arr; i++) {
		if (sh->rooms[i]->rec == rec)
			sh->rooms[i]->rec = NULL;
		room_recording_done(sh->rooms[i], rec, st);
	}
}

/*
 * Polls every recorder; reaps those whose writer has finished. True if any exist. Rooms are
 * told first (a failed recording is announced and detached from its room), then finished
 * recorders are freed, the room that stopped one (if it still exists) telling its peers the end.
 */
static bool poll_recorders(struct shard *sh)
{
	int64_t now = g_get_monotonic_time();
	bool log = now - sh->rec_log_us >= REC_LOG_PERIOD;
	if (log)
		sh->rec_log_us = now;
	for (int i = 0; i < sh->nrooms_arr; i++) {
		struct room *r = sh->rooms[i];
		if (!r->rec)
			continue;
		room_announce_recording(r);
		if (recorder_stopped(r->rec))
			r->rec = NULL; /* failed: reaped below */
	}
	for (int i = 0; i < sh->nrecs; i++) {
		struct recorder *rec = sh->recs[i];
		recorder_poll(rec, now);
		if (log && !recorder_stopped(rec))
			log_progress(rec);
		bool done = recorder_done(rec);
		rec_events(sh, rec, done);
		if (!done)
			continue;
		struct rec_status st;
		recorder_status(rec, &st);
		server_remember_recording(sh->srv, &st);
		ptrarray_remove((void **)sh->recs, &sh->nrecs, rec);
		detach_from_rooms(sh, rec, &st);
		recorder_free(&rec);
		i--;
	}
	return sh->nrecs > 0;
}

static gboolean rec_tick(gpointer data)
{
	struct shard *sh = data;
	bool any = poll_recorders(sh);
	shard_update_snapshot(sh);
	if (!any)
		sh->rec_timer = 0;
	return any ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* ---- the env's services ---- */

static void env_send_fn(void *up, uint64_t conn, char *text)
{
	struct shard *sh = up;
	server_send(sh->srv, conn, text);
}

struct ended {
	struct shard *sh;
	struct slot *slot;
	uint32_t id;
};

/* The ended peer may have left meanwhile (its connection closed): the reference taken when
 * this was posted keeps the slot alive until here. */
static void leave_later(void *data)
{
	struct ended *e = data;
	shard_leave(e->sh, e->slot, e->id);
	release(e->sh, e->slot);
	shard_update_snapshot(e->sh); /* the room may have closed with this last reference */
	free(e);
}

/* The peer is removed from a posted function, never from inside its own callbacks. */
static void env_peer_ended(void *up, struct peer *p)
{
	struct shard *sh = up;
	struct ended *e = malloc(sizeof(*e));
	if (!e || !p->room) {
		free(e);
		return;
	}
	*e = (struct ended){sh, p->room->slot, p->id};
	server_slot_ref(sh->srv, e->slot);
	if (loop_post(sh->loop, leave_later, e) < 0) {
		server_slot_release(sh->srv, e->slot); /* the peer holds another: never the last */
		free(e);
	}
}

static void env_count(void *up, enum env_counter c)
{
	struct server_counters *k = &((struct shard *)up)->srv->ctr;
	atomic_uint_fast64_t *f[ENV_COUNTERS] = {&k->ice_failed, &k->dtls_failed};
	atomic_fetch_add(f[c], 1);
}

static uint32_t env_new_id(void *up)
{
	return atomic_fetch_add(&((struct shard *)up)->srv->next_id, 1) + 1;
}

static int env_add_recorder(void *up, struct recorder *rec)
{
	struct shard *sh = up;
	if (ptrarray_reserve((void ***)&sh->recs, sh->nrecs, &sh->cap_recs) < 0)
		return -ENOMEM;
	sh->recs[sh->nrecs++] = rec;
	if (!sh->rec_timer)
		sh->rec_timer =
		    loop_timer_add(sh->loop, REC_TIMER_MS, G_PRIORITY_DEFAULT, rec_tick, sh);
	shard_update_snapshot(sh);
	return 0;
}

static void env_changed(void *up)
{
	shard_update_snapshot(up);
}

static void env_error_sent(void *up, const char *code)
{
	server_count_error(((struct shard *)up)->srv, code);
}

static void env_event(void *up, const char *event, const char *room, json_t *fields)
{
	server_event(((struct shard *)up)->srv, event, room, fields);
}

static const struct env_ops shard_env_ops = {
    .event = env_event,
    .error_sent = env_error_sent,
    .changed = env_changed,
    .send = env_send_fn,
    .peer_ended = env_peer_ended,
    .count = env_count,
    .new_id = env_new_id,
    .add_recorder = env_add_recorder,
};

/* ---- life cycle ---- */

int shard_new(struct shard **out, struct server *srv, int index)
{
	struct shard *sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	int rc = loop_new(&sh->loop, index);
	if (rc < 0) {
		free(sh);
		return rc;
	}
	sh->srv = srv;
	mix_latency_init(&sh->lat_gone, MIX_LAT_HALF_US, mix_mono_us());
	sh->env = (struct env){.cfg = srv->cfg,
	                       .cert = srv->cert,
	                       .loop = sh->loop,
	                       .pool = srv->pool,
	                       .ops = &shard_env_ops,
	                       .up = sh};
	*out = sh;
	return 0;
}

/* On the loop, its last work: every peer leaves, every recording is finished. */
static void teardown(void *data)
{
	struct shard *sh = data;
	while (sh->nrooms_arr > 0) {
		int before = sh->nrooms_arr;
		struct room *r = sh->rooms[before - 1];
		struct slot *sl = r->slot;
		/* The last leave frees the room and its slot: count, do not look at r after it. */
		bool held = sl->held;
		for (int left = r->npeers; left > 0; left--)
			shard_leave(sh, sl, r->peers[left - 1]->id);
		if (held)
			unhold(sh, sl);
		if (sh->nrooms_arr == before) { /* still referenced (never expected): free anyway */
			sl->room = NULL;
			ptrarray_remove((void **)sh->rooms, &sh->nrooms_arr, r);
			room_free(&r);
		}
	}
	for (int i = 0; i < sh->nrecs; i++)
		recorder_stop(sh->recs[i], NULL, NULL);
	while (sh->nrecs > 0) {
		struct recorder *rec = sh->recs[--sh->nrecs];
		recorder_wait(rec); /* the writer finishes the file */
		rec_events(sh, rec, true);
		recorder_free(&rec);
	}
	loop_source_remove(sh->loop, &sh->rec_timer);
	loop_source_remove(sh->loop, &sh->idle_timer);
}

void shard_free(struct shard **shp)
{
	struct shard *sh = *shp;
	if (!sh)
		return;
	loop_quit(sh->loop, teardown, sh);
	loop_free(&sh->loop);
	free(sh->rooms);
	free(sh->recs);
	free(sh->snap_rooms);
	free(sh->snap_recs);
	free(sh);
	*shp = NULL;
}
