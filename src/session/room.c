/*
 * room.c - a room: peers, the media engine and the mixing timer (see room.h).
 *
 * The timer fires when the engine's next tick is due (20 ms audio and 1/fps video ticks), and
 * at least every 5 ms to poll the peers' reorder buffers, NACKs and keyframe requests; it runs
 * the ticks that are due one by one and sends each tick's packets as soon as it has run, so
 * audio does not wait for a video tick's encode. Engine callbacks route mixed packets to
 * peers, keyframe requests to senders, and speaker changes to everyone.
 * Runs on its loop only (env->loop).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "log.h"
#include "mcu/ptrarray.h"
#include "session/peer.h"
#include "session/room.h"
#include "config.h"
#include "net/loop.h"
#include "session/env.h"

#define ROOM_TICK_MS 5

int64_t room_now(const struct room *r)
{
	return g_get_monotonic_time() - r->t0_us;
}

int64_t room_media_now(const struct room *r)
{
	return room_now(r); /* each participant's playout delay is in its mapping (peer_in.c) */
}

struct peer *room_peer_by_id(const struct room *r, uint32_t id)
{
	for (int i = 0; i < r->npeers; i++)
		if (r->peers[i]->id == id)
			return r->peers[i];
	return NULL;
}

void room_broadcast(struct room *r, const struct peer *except, char *text)
{
	for (int i = 0; text && i < r->npeers; i++)
		if (r->peers[i] != except)
			env_send(r->env, r->peers[i]->conn, strdup(text));
	free(text);
}

/* ---- engine callbacks ---- */

static void on_packet(void *opaque, uint32_t rid, const struct mix_packet *pkt)
{
	struct room *r = opaque;
	if (r->rec && recorder_rid(r->rec) == rid) {
		recorder_push(r->rec, pkt);
		return;
	}
	struct peer *p = room_peer_by_id(r, rid);
	if (p)
		outbox_add(&r->out, p, pkt);
}

static void on_keyframe_request(void *opaque, uint32_t src)
{
	struct peer *p = room_peer_by_id(opaque, src);
	if (p)
		peer_request_keyframe(p);
}

static void on_active_speaker(void *opaque, uint32_t src)
{
	struct room *r = opaque;
	r->active_speaker = src;
	room_broadcast(r, NULL, sig_active_speaker(src));
}

#define ROOM_MAX_LAG_US 500000 /* mixing further behind than this skips ahead */
#define ROOM_CATCHUP_US 100000 /* ... to this far behind (a few ticks to run) */

static gboolean on_tick(gpointer data)
{
	struct room *r = data;
	for (int i = 0; i < r->npeers; i++)
		peer_in_poll(r->peers[i]);
	int64_t target = room_media_now(r);
	int64_t behind = target - mix_engine_now(r->eng);
	if (behind > ROOM_MAX_LAG_US) {
		/* Overloaded: drop the missed ticks rather than block the media thread (ICE, DTLS,
		 * signaling) while catching up; receivers conceal the jump. */
		mix_engine_skip_to(r->eng, target - ROOM_CATCHUP_US);
		r->lag_skips++;
		if (r->lag_skips == 1 || r->lag_skips % 100 == 0)
			LOG_W("room %s: mixing fell %lld ms behind real time; skipped to catch up "
			      "(%llu times)",
			      r->name, (long long)(behind / 1000),
			      (unsigned long long)r->lag_skips);
	}
	/* Tick by tick (the same ticks in the same order as one run_until), each tick's packets
	 * sent over the pool (not with --netsim: its pipes are the loop's). */
	struct mix_pool *pool = r->env->cfg->netsim[0] ? NULL : r->env->pool;
	int rc;
	while ((rc = mix_engine_run_one(r->eng, target)) == 1) {
		outbox_flush(&r->out, pool);
		/* the tick's packets are out */
		mix_engine_latency_sent(r->eng, g_get_monotonic_time());
	}
	if (rc < 0) {
		outbox_flush(&r->out, pool);
		LOG_E("room %s: engine error %d", r->name, rc);
	}
	int64_t next = mix_engine_now(r->eng), poll = room_now(r) + ROOM_TICK_MS * 1000;
	loop_deadline_set(r->env->loop, r->tick_id, r->t0_us + (next < poll ? next : poll));
	return G_SOURCE_CONTINUE;
}

static int engine_cfg(const struct env *env, struct room *r, struct mix_engine_cfg *ec)
{
	const struct mcu_config *c = env->cfg;
	mix_engine_cfg_default(ec);
	ec->width = c->width;
	ec->height = c->height;
	ec->fps = c->fps;
	ec->exclude_self = c->exclude_self;
	ec->video_bitrate = c->video_bitrate;
	ec->audio_bitrate = c->audio_bitrate;
	ec->max_mixed = c->max_mixed;
	ec->opus_fec = true;
	ec->tile_names = c->tile_names;
	ec->latency = true; /* per-stage latency for /api/stats */
	ec->pool = env->pool;
	ec->cb = (struct mix_engine_callbacks){.opaque = r,
	                                       .on_packet = on_packet,
	                                       .on_keyframe_request = on_keyframe_request,
	                                       .on_active_speaker = on_active_speaker};
	return mix_layout_parse(c->layout, &ec->layout);
}

int room_new(struct room **out, const struct env *env, const char *name)
{
	struct room *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->env = env;
	r->t0_us = g_get_monotonic_time();
	r->active_speaker = MIX_NO_SOURCE;
	r->rec_told = REC_FINISHED;
	struct mix_engine_cfg ec;
	int rc = engine_cfg(env, r, &ec);
	if (rc == 0)
		rc = mix_engine_alloc(&r->eng, &ec);
	if (rc < 0) {
		free(r);
		return rc;
	}
	r->tick_id = loop_deadline_add(env->loop, ROOM_TICK_MS, G_PRIORITY_DEFAULT, on_tick, r);
	*out = r;
	return 0;
}

void room_free(struct room **rp)
{
	struct room *r = *rp;
	if (!r)
		return;
	if (r->rec) {
		recorder_stop(r->rec, NULL, NULL);
		r->rec = NULL;
	}
	loop_source_remove(r->env->loop, &r->tick_id);
	mix_engine_free(&r->eng);
	outbox_free(&r->out);
	free(r->peers);
	free(r);
	*rp = NULL;
}

static char *joined_message(struct room *r, struct peer *p)
{
	struct sig_participant *others = calloc((size_t)r->npeers + 1, sizeof(*others));
	if (!others)
		return NULL;
	int n = 0;
	for (int i = 0; i < r->npeers; i++)
		if (r->peers[i] != p)
			others[n++] = (struct sig_participant){r->peers[i]->id, r->peers[i]->name};
	char *text = sig_joined(p->id, r->name, others, n);
	free(others);
	return text;
}

int room_add_peer(struct room *r, struct peer *p)
{
	int rc = ptrarray_reserve((void ***)&r->peers, r->npeers, &r->cap_peers);
	if (rc == 0)
		rc = mix_engine_add_source(r->eng, p->id, p->name);
	if (rc < 0)
		return rc;
	r->peers[r->npeers++] = p;
	p->room = r;
	env_send(r->env, p->conn, joined_message(r, p));
	room_broadcast(r, p, sig_participant_joined(p->id, p->name));
	if (r->active_speaker != MIX_NO_SOURCE)
		env_send(r->env, p->conn, sig_active_speaker(r->active_speaker));
	return 0;
}

void room_remove_peer(struct room *r, struct peer *p)
{
	mix_engine_remove_recipient(r->eng, p->id);
	mix_engine_remove_source(r->eng, p->id);
	ptrarray_remove((void **)r->peers, &r->npeers, p);
	p->room = NULL;
	room_broadcast(r, NULL, sig_participant_left(p->id));
}

/* ---- recording ---- */

/* -EINVAL for bad options, -ENOTSUP for a format this FFmpeg cannot encode (logged). */
static int rec_opts_check(const struct room *r, const struct room_rec_opts *o)
{
	const char *why = NULL;
	int rc = recorder_check_format(recorder_format_for(o->format, o->path), &why);
	if (rc < 0) {
		LOG_E("room %s: cannot record: %s", r->name, why);
		return rc;
	}
	if ((o->width || o->height) && (o->width < 16 || o->height < 16 || o->width > 3840 ||
	                                o->height > 2160 || (o->width | o->height) & 1))
		return -EINVAL;
	if (o->video_bitrate && (o->video_bitrate < 30000 || o->video_bitrate > 50000000))
		return -EINVAL;
	return 0;
}

int room_start_recording(struct room *r, const struct room_rec_opts *o, rec_notify_fn on_opened,
                         void *opaque)
{
	const struct mcu_config *c = r->env->cfg;
	if (r->rec)
		return -EBUSY;
	int bad = rec_opts_check(r, o);
	if (bad < 0)
		return bad;
	struct rec_cfg rc = {
	    .room = r->name,
	    .dir = c->recordings_dir,
	    .path = o->path,
	    .format = o->format,
	    .width = o->width && o->height ? o->width : c->width,
	    .height = o->width && o->height ? o->height : c->height,
	    .fps = c->fps,
	    .video_bitrate = o->video_bitrate ? o->video_bitrate : c->video_bitrate,
	    .rid = r->env->ops->new_id(r->env->up),
	    .on_opened = on_opened,
	    .opaque = opaque,
	};
	rc.own_encoder_hint =
	    rc.width != c->width || rc.height != c->height || rc.video_bitrate != c->video_bitrate;
	struct recorder *rec = NULL;
	int err = recorder_start(&rec, r->eng, &rc);
	if (err == 0 && (err = r->env->ops->add_recorder(r->env->up, rec)) < 0)
		recorder_free(&rec);
	if (err < 0)
		return err;
	r->rec = rec;
	room_announce_recording(r);
	return 0;
}

int room_stop_recording(struct room *r, rec_notify_fn on_finished, void *opaque)
{
	if (!r->rec)
		return -ENOENT;
	recorder_stop(r->rec, on_finished, opaque);
	room_announce_recording(r);
	r->rec = NULL;
	return 0;
}

void room_announce_recording(struct room *r)
{
	struct rec_status st = {.state = REC_FINISHED};
	if (r->rec)
		recorder_status(r->rec, &st);
	if (st.state == r->rec_told)
		return;
	r->rec_told = st.state;
	const char *slash = strrchr(st.path, '/');
	room_broadcast(r, NULL,
	               sig_recording(rec_state_name(st.state), slash ? slash + 1 : st.path,
	                             st.error[0] ? st.error : NULL));
}
