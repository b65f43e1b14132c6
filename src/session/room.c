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
#include <jansson.h>

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

bool room_set_mute(struct room *r, struct peer *p, enum peer_mute_by by, int audio, int video)
{
	bool a0 = peer_audio_muted(p), v0 = peer_video_muted(p);
	if (audio >= 0)
		p->mutes[by].audio = audio;
	if (video >= 0)
		p->mutes[by].video = video;
	bool a1 = peer_audio_muted(p), v1 = peer_video_muted(p);
	if (a0 == a1 && v0 == v1)
		return false;
	mix_engine_set_source_muted(r->eng, p->id, a1, v1);
	LOG_I("room %s: peer %u (%s) audio %s, video %s (by %s)", r->name, p->id, p->name,
	      a1 ? "muted" : "on", v1 ? "muted" : "on",
	      by == PEER_MUTE_SELF ? "itself" : "a moderator");
	const char *who = by == PEER_MUTE_SELF ? "self" : "moderator";
	room_broadcast(r, NULL, sig_muted(p->id, a1, v1, who));
	char id[16];
	snprintf(id, sizeof(id), "%u", p->id);
	r->env->ops->event(r->env->up, "participant-muted", r->name,
	                   json_pack("{s:{s:s,s:s},s:b,s:b,s:s}", "participant", "id", id, "name",
	                             p->name, "audio", a1, "video", v1, "by", who));
	return true;
}

static char *layout_message(const struct room *r)
{
	uint32_t pin = mix_engine_pin(r->eng);
	return sig_layout(r->set.layout, pin == MIX_NO_SOURCE ? SIG_NO_ID : pin);
}

int room_set_layout(struct room *r, int layout, bool set_pin, uint32_t pin)
{
	if (set_pin && pin != SIG_NO_ID && !room_peer_by_id(r, pin))
		return -ENOENT;
	if (layout >= 0) {
		int rc = mix_engine_set_layout(r->eng, (enum mix_layout_kind)layout);
		if (rc < 0)
			return rc;
		snprintf(r->set.layout, sizeof(r->set.layout), "%s",
		         mix_layout_name((enum mix_layout_kind)layout));
	}
	if (set_pin)
		mix_engine_set_pin(r->eng, pin == SIG_NO_ID ? MIX_NO_SOURCE : pin);
	LOG_I("room %s: layout %s, pin %s", r->name, r->set.layout,
	      mix_engine_pin(r->eng) == MIX_NO_SOURCE ? "none" : "set");
	room_broadcast(r, NULL, layout_message(r));
	return 0;
}

static bool same_view(const struct peer *a, int layout, int exclude_self, uint32_t pin)
{
	return a->view.layout == layout && a->view.exclude_self == exclude_self &&
	       a->view.pin == pin;
}

static bool own_view(const struct peer *a)
{
	return !same_view(a, -1, -1, SIG_NO_ID);
}

/* Whether another view of one's own fits: each distinct one costs an encoder, and one that
 * someone else has is shared. */
static bool view_fits(const struct room *r, const struct peer *p, int layout, int exclude_self,
                      uint32_t pin)
{
	const struct peer *seen[ROOM_MAX_VIEWS]; /* one peer for each distinct view */
	int n = 0;
	bool full = false; /* more distinct views than seen holds */
	for (int i = 0; i < r->npeers; i++) {
		const struct peer *a = r->peers[i];
		if (a == p || !own_view(a))
			continue;
		if (same_view(a, layout, exclude_self, pin))
			return true;
		bool known = false;
		for (int j = 0; j < n && !known; j++)
			known = same_view(a, seen[j]->view.layout, seen[j]->view.exclude_self,
			                  seen[j]->view.pin);
		if (known)
			continue;
		if (n == ROOM_MAX_VIEWS)
			full = true;
		else
			seen[n++] = a;
	}
	return !full && n < ROOM_MAX_VIEWS;
}

int room_set_view(struct room *r, struct peer *p, int layout, int exclude_self, uint32_t pin)
{
	if (pin != SIG_NO_ID && !room_peer_by_id(r, pin))
		return -ENOENT;
	if (layout < -1 || layout > MIX_LAYOUT_SPEAKER || exclude_self < -1 || exclude_self > 1)
		return -EINVAL;
	if ((layout >= 0 || exclude_self >= 0 || pin != SIG_NO_ID) &&
	    !view_fits(r, p, layout, exclude_self, pin))
		return -ENOSPC;
	p->view.layout = layout;
	p->view.exclude_self = exclude_self;
	p->view.pin = pin;
	/* without a recipient yet (no offer): it gets the view when it is added (peer.c) */
	int rc = mix_engine_set_recipient_view(r->eng, p->id, layout, exclude_self,
	                                       pin == SIG_NO_ID ? MIX_NO_SOURCE : pin);
	return rc == -ENOENT ? 0 : rc;
}

static char *presentation_message(const struct room *r, const struct peer *p)
{
	return sig_presentation(p ? p->id : SIG_NO_ID, p ? p->screen.src : SIG_NO_ID);
}

/* The webhook's presentation-started / presentation-ended: who, and the screen's source. */
static void presentation_event(struct room *r, const struct peer *p, const char *event)
{
	char id[16], src[16];
	snprintf(id, sizeof(id), "%u", p->id);
	snprintf(src, sizeof(src), "%u", p->screen.src);
	r->env->ops->event(r->env->up, event, r->name,
	                   json_pack("{s:{s:s,s:s},s:s}", "participant", "id", id, "name", p->name,
	                             "source", src));
}

int room_screen_start(struct room *r, struct peer *p)
{
	if (r->presenter != SIG_NO_ID && r->presenter != p->id) {
		env_send_error(r->env, p->conn, "not-allowed",
		               "someone else is presenting: the screen is not shown");
		return 0;
	}
	char name[SIG_MAX_NAME + 16];
	snprintf(name, sizeof(name), "%s (screen)", p->name);
	uint32_t src = r->env->ops->new_id(r->env->up);
	int rc = mix_engine_add_source(r->eng, src, name);
	if (rc == 0 && p->neg.media[p->neg.screen_index].vcodec == SDP_VCODEC_H264)
		rc = mix_engine_set_source_video_codec(r->eng, src, MIX_VCODEC_H264);
	if (rc < 0) {
		mix_engine_remove_source(r->eng, src);
		return rc;
	}
	p->screen.src = src;
	p->screen.on = true;
	r->presenter = p->id;
	r->pin_before = mix_engine_pin(r->eng);
	mix_engine_set_pin(r->eng, src);
	LOG_I("room %s: peer %u (%s) presents its screen (source %u)", r->name, p->id, p->name,
	      src);
	room_broadcast(r, NULL, presentation_message(r, p));
	presentation_event(r, p, "presentation-started");
	return 0;
}

void room_screen_stop(struct room *r, struct peer *p)
{
	if (!p->screen.on)
		return;
	p->screen.on = false;
	/* a moderator's pin set during the presentation stays; else the pin before it returns */
	bool pinned = mix_engine_pin(r->eng) == p->screen.src;
	mix_engine_remove_source(r->eng, p->screen.src);
	if (r->presenter == p->id) {
		r->presenter = SIG_NO_ID;
		if (pinned)
			mix_engine_set_pin(r->eng, r->pin_before);
		room_broadcast(r, NULL, presentation_message(r, NULL));
		presentation_event(r, p, "presentation-ended");
	}
	LOG_I("room %s: peer %u (%s) stopped presenting", r->name, p->id, p->name);
}

int room_mute_all(struct room *r, uint32_t except, int audio, int video)
{
	int n = 0;
	for (int i = 0; i < r->npeers; i++)
		if (r->peers[i]->id != except)
			n += room_set_mute(r, r->peers[i], PEER_MUTE_MODERATOR, audio, video);
	return n;
}

void room_rename(struct room *r, struct peer *p, const char *name)
{
	LOG_I("room %s: peer %u (%s) renamed to %s", r->name, p->id, p->name, name);
	snprintf(p->name, sizeof(p->name), "%s", name);
	mix_engine_set_source_name(r->eng, p->id, p->name);
	room_broadcast(r, NULL, sig_renamed(p->id, p->name));
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
	struct room *r = opaque;
	struct peer *p = room_peer_by_id(r, src);
	if (p) {
		peer_request_keyframe(p);
		return;
	}
	for (int i = 0; i < r->npeers; i++) /* a screen's source */
		if (r->peers[i]->screen.on && r->peers[i]->screen.src == src)
			peer_request_screen_keyframe(r->peers[i]);
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
	r->lag_us = behind;
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

/* The engine of a room with settings set on configuration c (no callbacks, no pool). */
static int engine_cfg_of(const struct mcu_config *c, const struct room_settings *set,
                         struct mix_engine_cfg *ec)
{
	mix_engine_cfg_default(ec);
	ec->width = set->width;
	ec->height = set->height;
	ec->fps = set->fps;
	ec->exclude_self = c->exclude_self;
	ec->video_bitrate = c->video_bitrate;
	ec->audio_bitrate = c->audio_bitrate;
	ec->max_mixed = c->max_mixed;
	ec->opus_fec = true;
	ec->tile_names = c->tile_names;
	ec->tick_lock = c->compose_on_arrival;
	ec->latency = true; /* per-stage latency for /api/stats */
	return mix_layout_parse(set->layout, &ec->layout);
}

static int engine_cfg(const struct env *env, struct room *r, struct mix_engine_cfg *ec)
{
	int rc = engine_cfg_of(env->cfg, &r->set, ec);
	ec->pool = env->pool;
	ec->cb = (struct mix_engine_callbacks){.opaque = r,
	                                       .on_packet = on_packet,
	                                       .on_keyframe_request = on_keyframe_request,
	                                       .on_active_speaker = on_active_speaker};
	return rc;
}

int room_config_check(const struct mcu_config *c)
{
	struct mix_engine_cfg ec;
	struct mix_engine *e = NULL;
	struct room_settings set;
	room_settings_default(&set, c);
	int rc = engine_cfg_of(c, &set, &ec);
	if (rc == 0)
		rc = mix_engine_alloc(&e, &ec);
	mix_engine_free(&e);
	return rc;
}

int room_new(struct room **out, const struct env *env, const char *name,
             const struct room_settings *set)
{
	struct room *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->env = env;
	if (set)
		r->set = *set;
	else
		room_settings_default(&r->set, env->cfg);
	r->t0_us = g_get_monotonic_time();
	r->empty_since_us = r->t0_us;
	r->active_speaker = MIX_NO_SOURCE;
	r->presenter = SIG_NO_ID;
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
	if (mix_engine_pin(r->eng) != MIX_NO_SOURCE || strcmp(r->set.layout, r->env->cfg->layout))
		env_send(r->env, p->conn, layout_message(r));
	const struct peer *pr = r->presenter != SIG_NO_ID ? room_peer_by_id(r, r->presenter) : NULL;
	if (pr) /* who presents */
		env_send(r->env, p->conn, presentation_message(r, pr));
	for (int i = 0; i < r->npeers; i++) { /* who is muted */
		const struct peer *o = r->peers[i];
		bool by_self = o->mutes[PEER_MUTE_SELF].audio || o->mutes[PEER_MUTE_SELF].video;
		if (peer_audio_muted(o) || peer_video_muted(o))
			env_send(r->env, p->conn,
			         sig_muted(o->id, peer_audio_muted(o), peer_video_muted(o),
			                   by_self ? "self" : "moderator"));
	}
	return 0;
}

void room_remove_peer(struct room *r, struct peer *p)
{
	room_screen_stop(r, p);
	mix_engine_remove_recipient(r->eng, p->id);
	mix_engine_remove_source(r->eng, p->id);
	ptrarray_remove((void **)r->peers, &r->npeers, p);
	p->room = NULL;
	if (r->npeers == 0)
		r->empty_since_us = g_get_monotonic_time();
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
	    .width = o->width && o->height ? o->width : r->set.width,
	    .height = o->width && o->height ? o->height : r->set.height,
	    .fps = c->fps,
	    .video_bitrate = o->video_bitrate ? o->video_bitrate : c->video_bitrate,
	    .rid = r->env->ops->new_id(r->env->up),
	    .on_opened = on_opened,
	    .opaque = opaque,
	};
	rc.own_encoder_hint = rc.width != r->set.width || rc.height != r->set.height ||
	                      rc.video_bitrate != c->video_bitrate;
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

/* A "recording" message with st's state to every peer, unless that state was told last. */
static void tell_recording(struct room *r, const struct rec_status *st)
{
	if (st->state == r->rec_told)
		return;
	r->rec_told = st->state;
	const char *slash = strrchr(st->path, '/');
	room_broadcast(r, NULL,
	               sig_recording(rec_state_name(st->state), slash ? slash + 1 : st->path,
	                             st->error[0] ? st->error : NULL));
}

int room_stop_recording(struct room *r, rec_notify_fn on_finished, void *opaque)
{
	if (!r->rec)
		return -ENOENT;
	recorder_stop(r->rec, on_finished, opaque);
	struct rec_status st;
	recorder_status(r->rec, &st);
	if (st.state == REC_FINISHED) /* already: still "stopping" now, "finished" once reaped */
		st.state = REC_STOPPING;
	tell_recording(r, &st);
	r->rec_stopped = r->rec; /* its end is told by room_recording_done */
	r->rec = NULL;
	return 0;
}

void room_announce_recording(struct room *r)
{
	struct rec_status st = {.state = REC_FINISHED};
	if (r->rec)
		recorder_status(r->rec, &st);
	tell_recording(r, &st);
}

void room_recording_done(struct room *r, const struct recorder *rec, const struct rec_status *st)
{
	if (!rec || r->rec_stopped != rec)
		return;
	r->rec_stopped = NULL;
	if (!r->rec) /* else a newer recording is what the peers are told about */
		tell_recording(r, st);
}
