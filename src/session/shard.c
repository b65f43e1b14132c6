/*
 * shard.c - one loop's rooms, peers and recordings (see shard.h): joins and leaves, the
 * messages of joined peers, the services of the env handed to rooms and peers, the 500 ms
 * recorder poll (keyframes, failures, progress in the log, reaping finished recorders into the
 * server's history) and this loop's part of the API snapshots.
 * Loop thread only, except shard_new and shard_free.
 */
#include <errno.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

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

/* Drops one reference of the slot; frees the room with the last. */
static void release(struct shard *sh, struct slot *sl)
{
	if (!server_slot_release(sh->srv, sl))
		return;
	struct room *r = sl->room;
	if (r) {
		LOG_I("room %s closed", r->name);
		ptrarray_remove((void **)sh->rooms, &sh->nrooms_arr, r);
		atomic_store(&sh->nrooms, sh->nrooms_arr);
		atomic_fetch_add(&sh->srv->ctr.rooms_freed, 1);
		mix_engine_latency_merge(r->eng, &sh->lat_gone, mix_mono_us());
		room_free(&r);
		/* A room's encoders and pictures are large blocks that glibc keeps in its arenas
		 * (one per thread that allocated them): give them back to the system, so a server
		 * whose rooms have ended returns to its idle size. */
		malloc_trim(0);
	}
	free(sl);
}

void shard_leave(struct shard *sh, struct slot *sl, uint32_t id)
{
	struct peer *p = sl->room ? room_peer_by_id(sl->room, id) : NULL;
	if (!p)
		return; /* already gone (a close after the session ended, say) */
	log_leave(p);
	server_unbind(sh->srv, p->conn, p->id);
	room_remove_peer(sl->room, p);
	server_peer_stats_add(&sh->peers_gone, &p->st);
	peer_free(&p);
	atomic_fetch_sub(&sh->npeers, 1);
	atomic_fetch_add(&sh->srv->ctr.leaves, 1);
	release(sh, sl);
	shard_update_snapshot(sh);
}

/* ---- joining ---- */

static void room_created(struct shard *sh, struct room *r)
{
	const char *path = server_claim_record(sh->srv, r->name);
	if (!path)
		return;
	struct room_rec_opts o = {.path = path};
	int rc = room_start_recording(r, &o, NULL, NULL);
	if (rc < 0)
		LOG_E("room %s: cannot record to %s: %s", r->name, path, strerror(-rc));
}

/* The slot's room, created on this loop by its first join. */
static struct room *room_of(struct shard *sh, struct slot *sl, bool *created)
{
	if (sl->room)
		return sl->room;
	struct room *r = NULL;
	if (ptrarray_reserve((void ***)&sh->rooms, sh->nrooms_arr, &sh->cap_rooms) < 0 ||
	    room_new(&r, &sh->env, sl->name) < 0)
		return NULL;
	r->slot = sl;
	sl->room = r;
	sh->rooms[sh->nrooms_arr++] = r;
	atomic_store(&sh->nrooms, sh->nrooms_arr);
	atomic_fetch_add(&sh->srv->ctr.rooms_created, 1);
	LOG_I("room %s created on loop %d", r->name, loop_index(sh->loop));
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
	p->prefer_vcodec = m->recv_codec;
	p->profile = (struct recv_profile){m->recv_max_width, m->recv_max_height, m->recv_max_fps,
	                                   m->recv_max_bitrate};
	atomic_fetch_add(&sh->npeers, 1);
	atomic_fetch_add(&sh->srv->ctr.joins, 1);
	LOG_I("peer %u (%s) joined room %s (%d participants)", id, p->name, r->name, r->npeers);
	if (created)
		room_created(sh, r);
	else if (r->rec) /* tell the newcomer the room is being recorded */
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

void shard_message(struct shard *sh, struct slot *sl, uint32_t id, const struct sig_msg *m)
{
	struct peer *p = sl->room ? room_peer_by_id(sl->room, id) : NULL;
	if (!p)
		return; /* it has left meanwhile */
	switch (m->type) {
	case SIG_OFFER:
		atomic_fetch_add(&sh->srv->ctr.offers, 1);
		peer_on_offer(p, m->sdp);
		break;
	case SIG_CANDIDATE:
		peer_on_candidate(p, m->candidate);
		break;
	case SIG_RECORD:
		on_record(sh, p, m);
		break;
	default:
		break;
	}
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

/* A reaped recorder must not stay referenced by its room. */
static void detach_from_rooms(struct shard *sh, const struct recorder *rec)
{
	for (int i = 0; i < sh->nrooms_arr; i++)
		if (sh->rooms[i]->rec == rec)
			sh->rooms[i]->rec = NULL;
}

/*
 * Polls every recorder; reaps those whose writer has finished. True if any exist. Rooms are
 * told first (a failed recording is announced and detached from its room), then finished
 * recorders are freed.
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
		if (!recorder_done(rec))
			continue;
		struct rec_status st;
		recorder_status(rec, &st);
		server_remember_recording(sh->srv, &st);
		ptrarray_remove((void **)sh->recs, &sh->nrecs, rec);
		detach_from_rooms(sh, rec);
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
	atomic_uint_fast64_t *f[ENV_COUNTERS] = {&k->ice_failed, &k->dtls_failed, &k->errors_sent};
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

static const struct env_ops shard_env_ops = {
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
		for (int left = r->npeers; left > 0; left--)
			shard_leave(sh, sl, r->peers[left - 1]->id);
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
		recorder_free(&rec); /* waits for the writer to finish the file */
	}
	loop_source_remove(sh->loop, &sh->rec_timer);
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
